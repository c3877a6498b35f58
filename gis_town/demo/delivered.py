"""The demo town "as delivered": the same town in the shapes a town office receives.

:func:`write_delivered_town` takes the generated demo GeoPackage and writes
the same data the way it reaches a planner, into one folder:

* ``三调.gdb``: a third-land-survey File Geodatabase in CGCS2000 3-degree
  Gauss-Kruger with the zone prefix (EPSG:4523, x = 35,5xx,xxx m) and Z
  values: ``DLTB`` (the farmland parcels with their survey fields, plus
  homestead 0702 and woodland 0301 parcels that are not farmland), ``CJDCQ``
  (villages, 19-digit 坐落单位代码) and ``XZQ`` (the town);
* ``河长制/河段.shp``: river segments as a GBK Shapefile with no ``.cpg``;
* ``巡河轨迹/``: one KML (``gx:Track``), KMZ or GPX file per patrol trip, in
  sub-folders by half-year, the chief named in the file or only in the file
  name, one trip exported twice and one broken file;
* ``台账/搬迁户台账.xlsx``: the resettlement households as a clerk's workbook
  (a merged title row, Chinese headers, 度分秒 coordinates, dates in four
  spellings);
* ``dem/``: the DEM as four tiles; ``ndvi/``: each year's NDVI as red and
  near-infrared bands (Sentinel-2 style, scale 0.0001, offset -0.1);
* ``town.yaml``: the config that ties them together (the demo's targets and rules).

Totals computed from it agree with the GeoPackage town (the tests check).
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["cut_dem_tiles", "village_code", "write_delivered_town", "write_ledger", "write_trip_gpx", "write_trip_kml"]

log = logging.getLogger(__name__)

SURVEY_CRS = "EPSG:4523"  # CGCS2000 3-degree GK zone 35 (CM 105E), easting with the zone prefix
_LAND_CODES = {"水田": "0101", "水浇地": "0102", "旱地": "0103"}
_KML_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2" '
    'xmlns:gx="http://www.google.com/kml/ext/2.2" xmlns:atom="http://www.w3.org/2005/Atom"><Document>'
)


def village_code(village_id: str) -> str:
    """A 19-digit 坐落单位代码 for a demo village id (``V05`` -> ``6211021020050000000``)."""
    return f"621102102{int(str(village_id).lstrip('V') or 0):03d}0000000"


# --------------------------------------------------------------------------- tracks


def write_trip_kml(
    path: Path, trip: pd.DataFrame, *, utc: bool = False, chief_in_file: bool = True
) -> Path:
    """One patrol trip as a KML ``gx:Track`` (fixes in recorded order).

    ``trip`` has point geometry (lon/lat), ``time`` (naive Beijing time),
    ``chief`` and ``chief_id``. Times are written with ``+08:00``, or in UTC
    with ``Z``. With ``chief_in_file=False`` only the file name names the chief.
    """
    t = pd.to_datetime(trip["time"])
    if utc:
        whens = [(x - pd.Timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ") for x in t]
    else:
        whens = [x.strftime("%Y-%m-%dT%H:%M:%S+08:00") for x in t]
    data = f'<Data name="河长编号"><value>{escape(str(trip["chief_id"].iloc[0]))}</value></Data>'
    if chief_in_file:
        data += f'<Data name="河长"><value>{escape(str(trip["chief"].iloc[0]))}</value></Data>'
    body = "".join(f"<when>{w}</when>" for w in whens)
    body += "".join(f"<gx:coord>{x!r} {y!r} 2000</gx:coord>" for x, y in zip(trip.geometry.x, trip.geometry.y))
    pm = f"<Placemark><name>巡河</name><ExtendedData>{data}</ExtendedData><gx:Track>{body}</gx:Track></Placemark>"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_KML_HEAD + pm + "</Document></kml>", encoding="utf-8")
    return path


def write_trip_gpx(path: Path, trip: pd.DataFrame) -> Path:
    """One patrol trip as a GPX track (UTC times, the chief as the author)."""
    t = pd.to_datetime(trip["time"]) - pd.Timedelta(hours=8)
    pts = "".join(
        f'<trkpt lat="{y!r}" lon="{x!r}"><time>{w:%Y-%m-%dT%H:%M:%SZ}</time></trkpt>'
        for x, y, w in zip(trip.geometry.x, trip.geometry.y, t)
    )
    chief = escape(str(trip["chief"].iloc[0]))
    gpx = (
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="gis_town demo" '
        f'xmlns="http://www.topografix.com/GPX/1/1"><metadata><author><name>{chief}</name></author>'
        f"</metadata><trk><name>巡河</name><trkseg>{pts}</trkseg></trk></gpx>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(gpx, encoding="utf-8")
    return path


def demo_trips(patrols: gpd.GeoDataFrame, *, gap_min: float = 30.0) -> list[pd.DataFrame]:
    """Patrol points cut into trips (a new trip after ``gap_min`` minutes without a fix), in recorded order."""
    pts = patrols.assign(time=pd.to_datetime(patrols["time"])).sort_values(["chief_id", "time", "point_id"])
    gap = pts.groupby("chief_id")["time"].diff() > pd.Timedelta(minutes=gap_min)
    first = pts["chief_id"] != pts["chief_id"].shift()
    pts["trip"] = (gap | first).cumsum()
    return [t.sort_values("point_id").drop(columns="trip") for _, t in pts.groupby("trip", sort=True)]


def _write_tracks(patrols: gpd.GeoDataFrame, folder: Path) -> dict:
    trips = demo_trips(patrols)
    files = []
    for i, trip in enumerate(trips):
        start = pd.to_datetime(trip["time"]).min()
        sub = folder / ("2023上半年" if start.month <= 6 else "2023下半年")
        stem = f"{trip['chief'].iloc[0]}_{start:%Y%m%d%H%M}"
        if i % 7 == 3:
            files.append(write_trip_gpx(sub / f"{stem}.gpx", trip))
        else:
            files.append(write_trip_kml(sub / f"{stem}.kml", trip, utc=i % 2 == 1, chief_in_file=i % 3 != 0))
    # the same trip exported twice (as KMZ), and a file cut short in the copy
    dup = trips[5]
    dup_kml = write_trip_kml(folder / "tmp_dup.kml", dup)
    dup_kmz = folder / f"{dup['chief'].iloc[0]}_重复导出.kmz"
    with zipfile.ZipFile(dup_kmz, "w") as z:
        z.write(dup_kml, "doc.kml")
    dup_kml.unlink()
    broken = folder / "2023下半年" / "未知_损坏.kml"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text(files[0].read_text(encoding="utf-8")[:300], encoding="utf-8")
    return {"trips": len(trips), "duplicate": dup_kmz.name, "broken": broken.name}


# --------------------------------------------------------------------------- ledger


def _dms(v: float) -> str:
    d = int(v)
    m = int((v - d) * 60)
    return f"{d}°{m}′{(v - d - m / 60) * 3600:.6f}″"


def _spell(i: int, value) -> object:
    """A date as a clerk might type it: an Excel date, 2023年6月30日, 2023.6.30 or 2023/06/30, in turn."""
    if value is None or pd.isna(value):
        return None
    d = pd.Timestamp(value)
    return [d.to_pydatetime(), f"{d.year}年{d.month}月{d.day}日", f"{d.year}.{d.month}.{d.day}", f"{d:%Y/%m/%d}"][i % 4]


def write_ledger(path: Path, households: gpd.GeoDataFrame, *, title: str = "避险搬迁户台账") -> Path:
    """Households as a clerk's workbook: a merged title row, Chinese headers, 度分秒 for every other row."""
    from openpyxl import Workbook

    from gis_town.schema import FIELD_LABELS, LAYERS

    schema = LAYERS["resettlement"]
    stages = [f for f in schema.optional if schema.types.get(f) == "date"]
    fields = [f for f in ("household_id", "village_id", "head", "destination", "cohort", *stages) if f in households]
    wb = Workbook()
    ws = wb.active
    ws.title = "搬迁户台账"
    headers = [FIELD_LABELS[f] for f in fields] + ["经度", "纬度", "备注"]
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.append(headers)
    for i, (_, r) in enumerate(households.iterrows()):
        row = [_spell(i, r[f]) if f in stages else (None if pd.isna(r[f]) else r[f]) for f in fields]
        x, y = r.geometry.x, r.geometry.y
        ws.append([*row, _dms(x) if i % 2 else x, _dms(y) if i % 2 else y, ""])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# --------------------------------------------------------------------------- survey database


def _geodesic_m2(geoms: gpd.GeoSeries) -> np.ndarray:
    from pyproj import Geod

    geod = Geod(a=6378137.0, rf=298.257222101)
    return np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in geoms.to_crs("EPSG:4490")])


def _with_z(gdf: gpd.GeoDataFrame, z: float = 2000.0) -> gpd.GeoDataFrame:
    import shapely

    geoms = shapely.force_3d(gdf.geometry.to_numpy(), z)
    return gdf.set_geometry(gpd.GeoSeries(geoms, crs=gdf.crs, index=gdf.index))


def _dltb(town: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    farm = town["farmland"].to_crs(SURVEY_CRS)
    names = dict(zip(town["villages"]["village_id"], town["villages"]["name"]))
    tbmj = _geodesic_m2(farm.geometry)
    coef = pd.to_numeric(farm["ridge_coef"], errors="coerce").fillna(0.0).to_numpy()
    land = farm["land_use"].map(_LAND_CODES).fillna("0103")
    dltb = gpd.GeoDataFrame(
        {
            "BSM": farm["parcel_id"].astype(str).to_numpy(),
            "TBBH": [f"{i + 1:04d}" for i in range(len(farm))],
            "DLBM": land.to_numpy(),
            "DLMC": farm["land_use"].to_numpy(),
            "QSDWDM": farm["village_id"].map(village_code).to_numpy(),
            "ZLDWDM": farm["village_id"].map(village_code).to_numpy(),
            "ZLDWMC": farm["village_id"].map(names).to_numpy(),
            "TBMJ": np.round(tbmj, 2),
            "KCXS": coef,
            "KCMJ": np.round(tbmj * coef, 2),
            "TBDLMJ": np.round(tbmj * (1 - coef), 2),
        },
        geometry=farm.geometry.to_numpy(),
        crs=SURVEY_CRS,
    )
    edited = dltb.index[:2]  # two parcels whose geometry was edited after the survey
    dltb.loc[edited, "TBMJ"] = np.round(dltb.loc[edited, "TBMJ"] * 1.03, 2)
    homes = town["settlements"].to_crs(SURVEY_CRS)
    other = gpd.GeoDataFrame(
        {
            "BSM": [f"H{s}" for s in homes["settlement_id"]],
            "TBBH": [f"H{i + 1:03d}" for i in range(len(homes))],
            "DLBM": "0702",
            "DLMC": "农村宅基地",
            "QSDWDM": homes["village_id"].map(village_code).to_numpy(),
            "ZLDWDM": homes["village_id"].map(village_code).to_numpy(),
            "ZLDWMC": homes["village_id"].map(names).to_numpy(),
            "KCXS": 0.0,
        },
        geometry=homes.geometry.buffer(40.0, 8).to_numpy(),
        crs=SURVEY_CRS,
    )
    other["TBMJ"] = np.round(_geodesic_m2(other.geometry), 2)
    other["KCMJ"] = 0.0
    other["TBDLMJ"] = other["TBMJ"]
    return pd.concat([dltb, other[dltb.columns]], ignore_index=True)


def _write_gdb(town: dict[str, gpd.GeoDataFrame], gdb: Path) -> None:
    import shutil

    import pyogrio
    import shapely

    if gdb.exists():
        shutil.rmtree(gdb)
    villages = town["villages"].to_crs(SURVEY_CRS)
    cjdcq = gpd.GeoDataFrame(
        {"BSM": [f"C{i + 1:03d}" for i in range(len(villages))],
         "ZLDWDM": villages["village_id"].map(village_code).to_numpy(),
         "ZLDWMC": villages["name"].to_numpy()},
        geometry=villages.geometry.to_numpy(), crs=SURVEY_CRS,
    )
    xzq = gpd.GeoDataFrame(
        {"XZQDM": ["621102102"], "XZQMC": ["关川镇（示范）"]},
        geometry=[shapely.union_all(villages.geometry.to_numpy())], crs=SURVEY_CRS,
    )
    for name, gdf in (("DLTB", _dltb(town)), ("CJDCQ", cjdcq), ("XZQ", xzq)):
        pyogrio.write_dataframe(_with_z(gdf), gdb, layer=name, driver="OpenFileGDB", append=gdb.exists())


# --------------------------------------------------------------------------- rasters


def cut_dem_tiles(dem: Path, folder: Path) -> list[Path]:
    """The DEM cut into four tiles (NW, NE, SW, SE), as 1-degree tiles arrive."""
    import rasterio
    from rasterio.windows import Window

    folder.mkdir(parents=True, exist_ok=True)
    tiles = []
    with rasterio.open(dem) as ds:
        h, w = ds.height // 2, ds.width // 2
        for r in (0, 1):
            for c in (0, 1):
                win = Window(c * w, r * h, w if c == 0 else ds.width - w, h if r == 0 else ds.height - h)
                prof = ds.profile | {"width": int(win.width), "height": int(win.height),
                                     "transform": ds.window_transform(win)}
                path = folder / f"dem_{'NS'[r]}{'WE'[c]}.tif"
                with rasterio.open(path, "w", **prof) as out:
                    out.write(ds.read(1, window=win), 1)
                tiles.append(path)
    return tiles


def _ndvi_bands(ndvi: Path, folder: Path, year: int) -> tuple[Path, Path]:
    """Red and NIR uint16 bands (scale 0.0001, offset -0.1, 0 = nodata) whose NDVI is ``ndvi``."""
    import rasterio

    folder.mkdir(parents=True, exist_ok=True)
    with rasterio.open(ndvi) as ds:
        v = ds.read(1, masked=True).astype("float64")
        prof = ds.profile | {"dtype": "uint16", "nodata": 0}
    v = np.clip(v, -0.95, 0.95)
    red = np.full(v.shape, 0.08)
    nir = red * (1 + v) / (1 - v)
    out = []
    for name, refl in (("B04", red), ("B08", nir)):
        dn = np.round((refl + 0.1) / 0.0001)
        arr = np.where(np.ma.getmaskarray(v), 0, np.clip(dn, 1, 65535)).astype("uint16")
        path = folder / f"S2_{year}_{name}.tif"
        with rasterio.open(path, "w", **prof) as dst:
            dst.write(arr, 1)
        out.append(path)
    return out[0], out[1]


#: The river segments' Shapefile columns (Chinese, at most 10 bytes in GBK) -> schema fields.
RIVER_FIELDS: dict[str, str] = {
    "河段编码": "segment_id", "河流名称": "river_name", "河长": "chief", "河长编号": "chief_id",
    "河长级别": "chief_level", "流域": "basin", "村代码": "village_id", "年巡河任务": "annual_patrol_target",
}


def _write_rivers(rivers: gpd.GeoDataFrame, path: Path) -> Path:
    """River segments as a GBK Shapefile with Chinese columns and values, no ``.cpg`` (GK CM 105E)."""
    import pyogrio

    from gis_town.schema import CODE_VALUES

    levels = {code: spellings[0] for code, spellings in CODE_VALUES["chief_level"].items()}
    out = rivers.assign(chief_level=rivers["chief_level"].map(levels).fillna(rivers["chief_level"]))
    out = out.rename(columns={v: k for k, v in RIVER_FIELDS.items()}).to_crs("EPSG:4544")
    path.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(out, path, encoding="gbk")
    path.with_suffix(".cpg").unlink(missing_ok=True)  # as Chinese GIS software writes it
    return path


# --------------------------------------------------------------------------- the whole folder


def _write_config(out: Path, demo_config: Path, tiles: list[Path], bands: dict[int, tuple[Path, Path]]) -> Path:
    """``town.yaml``: the demo config's targets and rules, with the delivered files as its layers and rasters."""
    import tomllib
    import yaml

    def rel(p: Path) -> str:
        return p.relative_to(out).as_posix()

    data = tomllib.loads(demo_config.read_text(encoding="utf-8")) if demo_config.is_file() else {}
    data["town_file"] = "三调.gdb"
    data["town"] = {**data.get("town", {}), "name": "关川镇（示范·原始数据）", "name_en": "Guanchuan demo town, as delivered"}
    data["layers"] = {
        "rivers": {"path": "河长制/河段.shp", "fields": dict(RIVER_FIELDS)},
        "resettlement": {"path": "台账/搬迁户台账.xlsx"},
    }
    def beside_demo(p: str) -> str:  # a file beside the demo town, from the delivered folder
        return os.path.relpath(demo_config.parent / p, out).replace(os.sep, "/")

    sections = [*data.get("programmes", {}).values(), data.get("monitoring", {}), data.get("high_standard", {})]
    for section in sections:
        if section.get("path"):  # the demo's ledgers and sections, beside the demo town
            section["path"] = beside_demo(section["path"])
    scenes = data.get("rasters", {}).get("ndvi_scenes", {})
    data["rasters"] = {
        "dem": [rel(t) for t in tiles],
        "ndvi": {y: {"red": rel(r), "nir": rel(n), "scale": 0.0001, "offset": -0.1} for y, (r, n) in bands.items()},
        "ndvi_scenes": {day: beside_demo(p) for day, p in scenes.items()},
    }
    head = "# 示范镇（按收到的样子）/ the demo town as a town office receives it: see gis_town.demo.delivered\n"
    path = out / "town.yaml"
    path.write_text(head + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def write_delivered_town(gpkg: str | Path, out_dir: str | Path) -> dict[str, object]:
    """Write the demo town of ``gpkg`` (and its rasters beside it) in the shapes of a real delivery.

    Returns
    -------
    dict
        Paths (``gdb``, ``rivers``, ``tracks``, ``ledger``, ``config``) and
        what was planted (``trips``, ``duplicate``, ``broken``).
    """

    gpkg, out = Path(gpkg), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = ("villages", "farmland", "settlements", "rivers", "patrols", "resettlement")
    town = {n: gpd.read_file(gpkg, layer=n) for n in names}
    _write_gdb(town, out / "三调.gdb")
    rivers = _write_rivers(town["rivers"], out / "河长制" / "河段.shp")
    planted = _write_tracks(town["patrols"], out / "巡河轨迹")
    ledger = write_ledger(out / "台账" / "搬迁户台账.xlsx", town["resettlement"])
    tiles = cut_dem_tiles(gpkg.parent / "dem.tif", out / "dem")
    bands = {y: _ndvi_bands(gpkg.parent / f"ndvi_{y}.tif", out / "ndvi", y) for y in (2022, 2023)}
    config = _write_config(out, gpkg.parent / "town.toml", tiles, bands)
    log.info("原始数据形态的示范镇 / the demo town as delivered written to %s", out)
    return {"gdb": out / "三调.gdb", "rivers": rivers, "tracks": out / "巡河轨迹", "ledger": ledger,
            "config": config, **planted}
