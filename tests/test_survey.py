"""三调 File Geodatabases as towns, with no config: DLTB 01xx as farmland, per ZLDWDM village, TBMJ check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import Polygon

from gis_town.cli import main
from gis_town.io import load_town

pyogrio = pytest.importorskip("pyogrio")
if "w" not in pyogrio.list_drivers().get("OpenFileGDB", ""):
    pytest.skip("GDAL without the OpenFileGDB writer", allow_module_level=True)

import geopandas as gpd  # noqa: E402

GEOD = Geod(a=6378137.0, rf=298.257222101)  # CGCS2000
TO_GEO = Transformer.from_crs("EPSG:4523", "EPSG:4490", always_xy=True)
X0, Y0 = 35_460_000.0, 3_940_000.0  # zone 35 with its prefix, near 104.6E 35.6N
V1, V2 = "6211021020010000000", "6211021020020000000"


def _rect(x, y, w, h) -> Polygon:
    return Polygon([(x, y), (x + w, y), (x + w, y + h), (x, y + h)])


def _geodesic_m2(poly: Polygon) -> float:
    """Independent reference: the GK polygon, densified to 1 m, as a geodesic polygon on CGCS2000."""
    dense = shapely.segmentize(poly, 1.0)
    lon, lat = TO_GEO.transform(*np.asarray(dense.exterior.coords).T)
    return abs(GEOD.polygon_area_perimeter(lon, lat)[0])


def write_survey_gdb(path, *, with_dltb: bool = True):
    parcels = [  # (BSM, DLBM, DLMC, village, polygon, KCXS)
        ("P1", "0103", "旱地", V1, _rect(X0, Y0, 200, 150), 0.05),
        ("P2", "0102", "水浇地", V1, _rect(X0 + 300, Y0, 120, 80), 0.0),
        ("P3", "0101", "水田", V2, _rect(X0, Y0 + 400, 90, 90), 0.1),
        ("P4", "0103", "旱地", V2, _rect(X0 + 200, Y0 + 400, 250, 60), 0.08),
        ("H1", "0702", "农村宅基地", V1, _rect(X0 + 500, Y0, 50, 50), 0.0),
        ("W1", "0301", "乔木林地", V2, _rect(X0 + 600, Y0 + 400, 300, 300), 0.0),
    ]
    tbmj = [_geodesic_m2(p[4]) for p in parcels]
    tbmj[3] *= 1.04  # P4's geometry was edited after the survey
    dltb = gpd.GeoDataFrame(
        {
            "BSM": [p[0] for p in parcels], "TBBH": [str(i) for i in range(len(parcels))],
            "DLBM": [p[1] for p in parcels], "DLMC": [p[2] for p in parcels],
            "QSDWDM": [p[3] for p in parcels], "ZLDWDM": [p[3] for p in parcels],
            "ZLDWMC": ["甲村" if p[3] == V1 else "乙村" for p in parcels],
            "TBMJ": np.round(tbmj, 2), "KCXS": [p[5] for p in parcels],
            "TBDLMJ": np.round([t * (1 - p[5]) for t, p in zip(tbmj, parcels)], 2),
        },
        geometry=shapely.force_3d([p[4] for p in parcels], 2100.0), crs="EPSG:4523",
    )
    cjdcq = gpd.GeoDataFrame(
        {"ZLDWDM": [V1, V2], "ZLDWMC": ["甲村", "乙村"]},
        geometry=shapely.force_3d([_rect(X0 - 10, Y0 - 10, 700, 300), _rect(X0 - 10, Y0 + 390, 1000, 400)], 2100.0),
        crs="EPSG:4523",
    )
    layers = ([("DLTB", dltb)] if with_dltb else []) + [("CJDCQ", cjdcq)]
    for name, gdf in layers:
        pyogrio.write_dataframe(gdf, path, layer=name, driver="OpenFileGDB", append=path.exists())
    return {p[0]: p[4] for p in parcels}


def test_load_town_reads_a_survey_gdb_with_no_config(tmp_path):
    gdb = tmp_path / "三调.gdb"
    polys = write_survey_gdb(gdb)
    town = load_town(gdb)
    farm = town.layer("farmland")
    assert sorted(farm["parcel_id"]) == ["P1", "P2", "P3", "P4"]  # 01xx only
    assert set(farm["land_use"]) == {"旱地", "水浇地", "水田"}
    assert (farm["status"] == "cultivated").all()
    assert set(town.layer("villages")["village_id"]) == {V1, V2}
    assert town.config.town.name == "三调"
    assert not shapely.has_z(farm.geometry.to_numpy()).any()
    assert set(polys) >= set(farm["parcel_id"])


def test_gis_town_areas_on_a_survey_gdb(tmp_path, capsys):
    gdb = tmp_path / "三调.gdb"
    polys = write_survey_gdb(gdb)
    before = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in gdb.iterdir())
    out = tmp_path / "out" / "areas.csv"
    assert main(["-q", "areas", str(gdb), "--out", str(out)]) == 0
    assert sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in gdb.iterdir()) == before
    t = pd.read_csv(out, dtype={"village_id": str})
    per_village = t[t["village_id"].isin([V1, V2])].groupby("village_id")["area_mu"].sum()
    want = {V1: (_geodesic_m2(polys["P1"]) + _geodesic_m2(polys["P2"])) * 15 / 10000,
            V2: (_geodesic_m2(polys["P3"]) + _geodesic_m2(polys["P4"])) * 15 / 10000}
    for v, mu in want.items():
        assert per_village[v] == pytest.approx(mu, rel=2e-4, abs=0.006)  # 0.02 %, shown to 2 decimals
    # net area after the ridge deduction (KCXS)
    net = t[t["village_id"] == V2]["net_area_mu"].sum()
    assert net == pytest.approx((_geodesic_m2(polys["P3"]) * 0.9 + _geodesic_m2(polys["P4"]) * 0.92) * 0.0015, abs=0.01)
    check = pd.read_csv(out.with_name("areas_survey_check.csv"))
    assert list(check["parcel_id"]) == ["P4"]
    assert check["diff_pct"].iloc[0] == pytest.approx((1 / 1.04 - 1) * 100, abs=0.01)


def test_info_names_the_town_layer_of_each(tmp_path, capsys):
    gdb = tmp_path / "三调.gdb"
    write_survey_gdb(gdb)
    assert main(["info", str(gdb), "--rows", "1"]) == 0
    text = capsys.readouterr().out
    assert "DLTB → farmland" in text and "CJDCQ → villages" in text
    assert "read as town layer: farmland" in text


def test_gdb_without_dltb_is_a_clear_error(tmp_path, capsys):
    gdb = tmp_path / "缺图斑.gdb"
    write_survey_gdb(gdb, with_dltb=False)
    assert main(["areas", str(gdb), "--out", str(tmp_path / "a.csv")]) == 2
    err = capsys.readouterr().err
    assert "farmland" in err and "CJDCQ" in err and "Traceback" not in err
