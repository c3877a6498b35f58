"""The boundary-point coordinate file (界址点坐标文件) of land projects' uploads.

Land consolidation and farmland projects go into the supervision systems (上图入库) as
polygons and, in most provinces, as a text file of boundary points in the format of the
land ministry's exchange files (``[属性描述]`` / ``[地块坐标]``, 格式版本号 1.01). One plot:

.. code-block:: text

    5,0.6667,DK001,张家岔村高标准农田,面,,高标准农田,0103,@
    J1,1,3942345.123,35512345.678
    ...
    J1,1,3942345.123,35512345.678

The plot line: number of point lines, area in hectares, plot id, name, ``面`` (polygon),
map sheet (empty), use, land class code, ``@``. The point lines: point name (J1, J2... over
the plot, the closing point repeating the first of its ring), ring number (1, 2... over the
plot's polygons and their holes), X (northing) and Y (easting, with the zone number in front),
in metres on the CGCS2000 3-degree Gauss-Kruger zone of the plots (:func:`gis_town.geodesy.gk_crs`
with ``zone_prefix``). Outer rings are written clockwise, holes counter-clockwise. The file is GBK
with CRLF line ends, as the systems' Windows clients read it, and is written atomically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from gis_town.geodesy import area_m2, gk_crs, gk_zone_for_lon, m2_to_ha, to_geographic
from gis_town.io.write import atomic_path

__all__ = ["write_boundary_txt"]


def _text(v: object) -> str:
    """A field as text that cannot break the line: commas become full-width, line ends spaces."""
    return str(v).replace(",", "，").replace("\r", " ").replace("\n", " ")


def _centre_lon(gdf: gpd.GeoDataFrame) -> float:
    """The longitude of the plots' centre (105E, zone 35, for no plots)."""
    if not len(gdf):
        return 105.0
    minx, _, maxx, _ = to_geographic(gdf.geometry).total_bounds
    return float((minx + maxx) / 2)


def _rings(poly: shapely.Polygon) -> Iterator[np.ndarray]:
    """The polygon's rings as (n, 2) arrays: the outer one clockwise, holes counter-clockwise."""
    oriented = shapely.orient_polygons(poly, exterior_cw=True)
    yield np.asarray(oriented.exterior.coords)[:, :2]
    for hole in oriented.interiors:
        yield np.asarray(hole.coords)[:, :2]


def _plot_lines(geom, *, fmt: str) -> list[str]:
    """The point lines of one plot (closed rings, numbered over the plot)."""
    lines: list[str] = []
    point = 0
    for ring_no, ring in enumerate((r for part in shapely.get_parts(geom) for r in _rings(part)), 1):
        first = point + 1
        for k, (x, y) in enumerate(ring):
            if k == len(ring) - 1:  # the closing vertex repeats the ring's first point
                lines.append(f"J{first},{ring_no},{y:{fmt}},{x:{fmt}}")
            else:
                point += 1
                lines.append(f"J{point},{ring_no},{y:{fmt}},{x:{fmt}}")
    return lines


def write_boundary_txt(
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    id_field: str,
    name_field: str,
    class_field: str,
    use: str = "高标准农田",
    producer: str = "",
    date: dt.date | None = None,
    decimals: int = 3,
) -> Path:
    """Write the plots' boundary points as a 界址点坐标文件 (module docstring), atomically.

    Parameters
    ----------
    gdf : GeoDataFrame
        Valid polygons with a CRS.
    path : path
        The ``.txt`` to write.
    id_field, name_field, class_field : str
        The columns of the plot id, name and land class code.
    use : str
        The plots' use (地块用途).
    producer : str
        数据产生单位 (the town's name).
    date : date, optional
        数据产生日期; default today.
    decimals : int
        Decimals of the coordinates in metres (精度 10**-decimals).

    Returns
    -------
    Path
    """
    lon = _centre_lon(gdf)
    head = [
        "[属性描述]", "格式版本号=1.01版本", f"数据产生单位={_text(producer)}",
        f"数据产生日期={(date or dt.date.today()):%Y-%m-%d}", "坐标系=2000国家大地坐标系", "几度分带=3",
        "投影类型=高斯克吕格", "计量单位=米", f"带号={gk_zone_for_lon(lon)}", f"精度={10 ** -decimals:g}",
        "转换参数=,,,,,,", "[地块坐标]",
    ]
    body: list[str] = []
    if len(gdf):
        ha = m2_to_ha(area_m2(gdf, layer="upload"))
        prefixed = gdf.geometry.to_crs(gk_crs(lon, zone_prefix=True)).to_numpy()
        fields = zip(gdf[id_field].to_numpy(), gdf[name_field].to_numpy(), gdf[class_field].to_numpy(),
                     strict=True)
        for geom, a, (pid, name, cls) in zip(prefixed, ha, fields, strict=True):
            points = _plot_lines(geom, fmt=f".{decimals}f")
            body.append(f"{len(points)},{a:.4f},{_text(pid)},{_text(name)},面,,{_text(use)},{_text(cls)},@")
            body.extend(points)
    path = Path(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(("\r\n".join(head + body) + "\r\n").encode("gbk", errors="replace"))
    return path
