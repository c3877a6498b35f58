"""A tiny but complete town (every layer, a DEM and an NDVI raster) for the bad-input suite.

Built in Gauss-Kruger metres (EPSG:4544, CM 105E) around x = 460 km, y = 3,940 km
(about 104.56E 35.6N) and stored in EPSG:4490, like data from Chinese GIS software.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, box

X0, Y0 = 460_000.0, 3_940_000.0
CRS_GK = "EPSG:4544"


def _gdf(data: dict, geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(data, geometry=geoms, crs=CRS_GK).to_crs("EPSG:4490")


def layers() -> dict[str, gpd.GeoDataFrame]:
    """Every schema layer, small and valid."""
    out: dict[str, gpd.GeoDataFrame] = {}
    out["villages"] = _gdf(
        {"village_id": ["V1", "V2"], "name": ["将台村", "关川村"], "population": [800, 600], "households": [200, 150],
         "monitored_households": [10, 30], "leader": ["王书记", "李镇长"], "collective_income_wan": [12.0, 8.5]},
        [box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
    )
    out["settlements"] = _gdf({"settlement_id": ["S1", "S2"], "village_id": ["V1", "V2"], "name": ["将台", "关川"]},
                              [Point(X0 + 500, Y0 + 900), Point(X0 + 1500, Y0 + 900)])
    parcels, ids, vids = [], [], []
    for k in range(8):
        x = X0 + 50 + (k % 4) * 220 + (1000 if k >= 4 else 0) * 0
        y = Y0 + 100 + (k // 4) * 300
        parcels.append(box(x, y, x + 200, y + 200))
        ids.append(f"P{k + 1}")
        vids.append("V1")
    for k in range(4):
        x = X0 + 1050 + k * 220
        parcels.append(box(x, Y0 + 100, x + 200, Y0 + 300))
        ids.append(f"P{k + 9}")
        vids.append("V2")
    n = len(parcels)
    out["farmland"] = _gdf(
        {"parcel_id": ids, "village_id": vids,
         "status": ["耕种", "撂荒", "耕种", "休耕", "耕种", "耕种", "撂荒", "耕种", "耕种", "耕种", "撂荒", "耕种"],
         "land_use": ["旱地"] * n, "crop": ["马铃薯", "小麦"] * (n // 2), "declared_area_mu": [60.0] * n,
         "project": ["2023年将台村高标准农田项目"] * 4 + [""] * (n - 4), "last_cultivated_year": [2023, 2020] * (n // 2),
         "film_mulch": [True, False] * (n // 2), "group": ["一社", "二社"] * (n // 2), "contractor": [f"户{i}" for i in range(n)],
         "ridge_coef": [0.1] * n},
        parcels,
    )
    out["rivers"] = _gdf(
        {"segment_id": ["R1", "R2"], "river_name": ["关川河", "关川河"], "chief": ["张河长", "赵河长"], "chief_id": ["C1", "C2"],
         "chief_level": ["town", "village"], "village_id": ["V1", "V2"], "basin": ["关川河", "关川河"], "annual_patrol_target": [12, 24]},
        [LineString([(X0, Y0 + 20), (X0 + 1000, Y0 + 20)]), LineString([(X0 + 1000, Y0 + 20), (X0 + 2000, Y0 + 20)])],
    )
    times = pd.date_range("2023-03-01 08:00", periods=40, freq="45s")
    xs = np.linspace(X0 + 10, X0 + 900, 40)
    out["patrols"] = _gdf({"chief": ["张河长"] * 40, "chief_id": ["C1"] * 40, "time": times.astype(str)},
                          [Point(x, Y0 + 25) for x in xs])
    out["afforestation"] = _gdf(
        {"plot_id": ["A1", "A2"], "village_id": ["V1", "V2"], "kind": ["面山绿化", "经济林"], "trees": [0, 300], "year": [2023, 2023],
         "planted_date": ["2023-04-01", "2023-04-10"], "declared_area_mu": [15.0, 7.5]},
        [box(X0 + 100, Y0 + 700, X0 + 200, Y0 + 800), box(X0 + 1100, Y0 + 700, X0 + 1200, Y0 + 750)],
    )
    out["resettlement"] = _gdf(
        {"household_id": ["H1", "H2"], "village_id": ["V1", "V2"], "head": ["陈一", "刘二"], "destination": ["进城", "乡镇"],
         "cohort": [2023, 2023], "agreement_signed": ["2023-02-01", "2023-03-01"], "housing_confirmed": ["2023-03-15", ""],
         "moved_in": ["2023-06-01", ""], "demolished": ["2023-07-01", ""], "reclaimed": ["", ""]},
        [Point(X0 + 300, Y0 + 850), Point(X0 + 1300, Y0 + 850)],
    )
    out["reclamation"] = _gdf({"plot_id": ["RC1"], "household_id": ["H1"], "declared_area_mu": [1.5]},
                              [box(X0 + 280, Y0 + 830, X0 + 320, Y0 + 855)])
    out["zones"] = _gdf(
        {"zone_id": ["Z1", "Z2", "Z3"], "kind": ["valley", "corridor", "basin"], "name": ["川区", "沿线", "流域"],
         "planned_demo_mu": [100.0, 50.0, 300.0]},
        [box(X0, Y0, X0 + 2000, Y0 + 400), box(X0, Y0 + 300, X0 + 2000, Y0 + 600), box(X0, Y0, X0 + 2000, Y0 + 1000)],
    )
    out["roads"] = _gdf({"road_id": ["D1"], "name": ["关川线"], "road_class": ["乡道"], "hardened": [True], "hardened_year": [2023]},
                        [LineString([(X0, Y0 + 320), (X0 + 2000, Y0 + 320)])])
    out["redline"] = _gdf({"zone_id": ["E1"], "name": ["水源地"]}, [box(X0 + 1800, Y0 + 800, X0 + 2000, Y0 + 1000)])
    out["basic_farmland"] = _gdf({"zone_id": ["B1"], "name": ["基本农田"]}, [box(X0, Y0 + 50, X0 + 2000, Y0 + 700)])
    out["dev_boundary"] = _gdf({"zone_id": ["K1"], "name": ["集镇"]}, [box(X0 + 900, Y0 + 850, X0 + 1100, Y0 + 1000)])
    return out


def write_raster(path: Path, values: np.ndarray, *, cell: float = 30.0, crs: str = CRS_GK, x0: float = X0 - 300, y0: float = Y0 + 1300) -> Path:
    """Write a float32 GeoTIFF with its top-left corner at (x0, y0)."""
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1, dtype="float32",
                       crs=crs, transform=from_origin(x0, y0, cell, cell), nodata=-9999.0) as dst:
        dst.write(values.astype("float32"), 1)
    return path


def make_town(folder: Path, *, overrides: dict[str, gpd.GeoDataFrame] | None = None, config: str | None = None) -> Path:
    """Write the tiny town (GeoPackage, DEM, NDVI, town.toml) into ``folder``; return the GeoPackage path."""
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = folder / "town.gpkg"
    data = layers()
    data.update(overrides or {})
    for name, gdf in data.items():
        if gdf is not None:
            gdf.to_file(gpkg, layer=name, engine="pyogrio")
    rows, cols = 90, 100
    yy, xx = np.mgrid[0:rows, 0:cols]
    write_raster(folder / "dem.tif", 1900 + 3.0 * yy + 0.5 * xx)  # a tilted plane rising to the south
    write_raster(folder / "ndvi.tif", 0.2 + 0.4 * (xx / cols))
    (folder / "town.toml").write_text(
        config if config is not None else
        '[town]\nname = "测试镇"\nyear = 2023\n[rasters]\ndem = "dem.tif"\nndvi = { 2023 = "ndvi.tif" }\n',
        encoding="utf-8",
    )
    return gpkg


def read_rejects(out_dir):
    """``out_dir/rejects.csv`` as strings; an empty table when the run rejected nothing (no file is written then)."""
    from pathlib import Path

    import pandas as pd

    path = Path(out_dir) / "rejects.csv"
    if not path.exists():
        return pd.DataFrame(columns=["layer", "feature_id", "row", "field", "action", "reason"], dtype=str)
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str)
