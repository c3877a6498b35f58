"""Every layer of a town as its own file: KML/KMZ for phone map apps, or GeoPackage/Shapefile.

Field staff carry the town's layers in 奥维互动地图 or 两步路 on their phones.
:func:`export_layers` writes each layer in turn, through
:func:`gis_town.io.write.write_vector`. In KML/KMZ, coded values are shown in
Chinese (耕种, 乡镇级, 面山绿化: the schema's words) and every attribute is
under its Chinese label. Each layer has a colour of its own
(:func:`gis_town.maps.colors.qualitative`). GPS fixes (``patrols``, tens of
thousands of points) are left out unless asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd

from gis_town.errors import InputError
from gis_town.schema import CODE_VALUES, LAYERS, code_label

__all__ = ["EXPORT_FORMATS", "SKIPPED_BY_DEFAULT", "export_layers"]

log = logging.getLogger(__name__)

#: Formats of :func:`export_layers`.
EXPORT_FORMATS: tuple[str, ...] = ("kml", "kmz", "gpkg", "shp")
#: Layers left out unless named: the patrol GPS fixes (a trip is hundreds of points).
SKIPPED_BY_DEFAULT: frozenset[str] = frozenset({"patrols"})


def _kml_colour(hex_colour: str) -> str:
    """``#rrggbb`` as a KML colour (``aabbggrr``, opaque)."""
    h = hex_colour.lstrip("#")
    return f"ff{h[4:6]}{h[2:4]}{h[0:2]}"


def _in_words(gdf: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """The layer with its coded fields in the schema's Chinese words (for people, not machines)."""
    schema = LAYERS.get(name)
    if schema is None:
        return gdf
    out = gdf.copy()
    for col, kind in schema.types.items():
        if kind in CODE_VALUES and col in out.columns:
            out[col] = out[col].map(lambda v, k=kind: code_label(k, v) if isinstance(v, str) else v)
    return out


def export_layers(
    layers: dict[str, gpd.GeoDataFrame],
    out_dir: str | Path,
    *,
    fmt: str = "kml",
    names: Sequence[str] | None = None,
    crs: str | None = None,
) -> list[Path]:
    """Write each layer to ``out_dir`` as ``<layer>.<fmt>`` (atomically); the files written.

    Parameters
    ----------
    layers : dict of str -> GeoDataFrame
        The town's layers (``Town.layers``).
    out_dir : path
        Output folder (created).
    fmt : {"kml", "kmz", "gpkg", "shp"}
        KML/KMZ in lon/lat with Chinese words and labels; GeoPackage in one file
        ``town.gpkg`` (a layer each); Shapefile in GBK, as for the analyses.
    names : sequence of str, optional
        The layers to write (default: every layer but :data:`SKIPPED_BY_DEFAULT`).
    crs : str, optional
        Output CRS of GeoPackage and Shapefile (KML is always lon/lat).

    Raises
    ------
    InputError
        An unknown format, or a layer in ``names`` the town does not have.
    """
    from gis_town.io.write import write_vector
    from gis_town.maps.colors import qualitative

    if fmt not in EXPORT_FORMATS:
        raise InputError(f"未知的输出格式 / unknown format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    if names is None:
        names = [n for n in layers if n not in SKIPPED_BY_DEFAULT]
    missing = [n for n in names if n not in layers]
    if missing:
        raise InputError(
            f"乡镇数据中没有这些图层 / the town has no layer {', '.join(missing)}; "
            f"it has: {', '.join(layers) or '(none)'} (--layers takes their names)"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    colours = qualitative(len(names))
    written: list[Path] = []
    for name, colour in zip(names, colours):
        gdf = layers[name]
        if fmt in ("kml", "kmz"):
            from gis_town.io.kml_write import write_kml_layer

            label = LAYERS[name].label if name in LAYERS else name
            path = write_kml_layer(_in_words(gdf, name), out_dir / f"{name}.{fmt}",
                                   layer=f"{label} {name}", color=_kml_colour(colour))
        elif fmt == "gpkg":
            path = write_vector(gdf, out_dir / "town.gpkg", layer=name, fmt="gpkg", crs=crs)
        else:
            path = write_vector(gdf, out_dir / f"{name}.shp", fmt="shp", crs=crs)
        log.info("导出 exported %s: %d features -> %s", name, len(gdf), path)
        written.append(Path(path))
    return list(dict.fromkeys(written))
