"""Acceptance check (gis_town.analysis.check, gis-town check).

A small hand-made world in Gauss-Kruger CM 105E (EPSG:4544), about 40 km
west of the central meridian near 35.6N: 40 m x 40 m plots in a row along a
road, a DEM that is a 5-degree plane with a 20-degree band, an NDVI raster
with one rubble patch, a red-line box, a short river and a basic-farmland
box. Each planted plot fails exactly one rule; the expected values (areas,
distances, slopes) follow from the construction, not from the code.
"""

from __future__ import annotations

import hashlib
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, Polygon, box

from gis_town import settings
from gis_town.analysis.check import (
    RESULT_COLUMNS,
    RULE_FUNCTIONS,
    RULE_KINDS,
    CheckContext,
    check_attributes,
    check_basic_farmland,
    check_declared_area,
    check_duplicate_id,
    check_geometry_valid,
    check_homestead,
    check_ndvi,
    check_overlap,
    check_redline,
    check_river_buffer,
    check_road_access,
    check_sliver,
    check_slope,
    load_rule_set,
    parse_rule_set,
    prepare_plots,
    repair_geometry,
    run_rules,
    summarize,
)
from gis_town.cli import main
from gis_town.config import TownConfig, parse_config
from gis_town.errors import ConfigError, CRSError, FieldError
from gis_town.geodesy import geodesic_area_m2

GK = "EPSG:4544"
X0, Y0 = 460_000.0, 3_940_000.0
ROAD_Y = -20.0  # the road runs 20 m south of the plots' southern edge
STEEP = (1000.0, 1300.0)  # x range of the 20-degree band
RUBBLE = (3000.0, 3090.0)  # x range of the rubble patch (NDVI 0.05), cell-aligned


def sq(x: float, y: float, w: float = 40.0, h: float = 40.0) -> Polygon:
    return box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def to_geo(geoms, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=GK).to_crs(settings.CGCS2000)


def gk_area_to_mu(poly: Polygon) -> float:
    """Independent ellipsoidal area (pyproj.Geod) of a GK polygon, in mu."""
    return float(geodesic_area_m2(gpd.GeoSeries([poly], crs=GK))[0]) * settings.MU_PER_M2


# --------------------------------------------------------------------------- the hand-made world


def _write_tif(
    path: Path, arr: np.ndarray, x_left: float, y_top: float, cell: float = 30.0
) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=arr.shape[1],
        height=arr.shape[0],
        count=1,
        dtype="float32",
        crs=GK,
        transform=from_origin(x_left, y_top, cell, cell),
        nodata=-9999.0,
    ) as dst:
        dst.write(arr.astype("float32"), 1)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("check_world")
    # DEM: elevation rises eastwards, 5 degrees except 20 degrees on STEEP
    left, top, cell = X0 - 600.0, Y0 + 900.0, 30.0
    nx, ny = 160, 50
    xc = left + (np.arange(nx) + 0.5) * cell - X0
    t5, t20 = math.tan(math.radians(5)), math.tan(math.radians(20))
    z = np.where(
        xc < STEEP[0],
        xc * t5,
        np.where(
            xc < STEEP[1],
            STEEP[0] * t5 + (xc - STEEP[0]) * t20,
            STEEP[0] * t5 + (STEEP[1] - STEEP[0]) * t20 + (xc - STEEP[1]) * t5,
        ),
    )
    dem = _write_tif(d / "dem.tif", np.tile(2000.0 + z, (ny, 1)), left, top)
    ndvi = np.full((ny, nx), 0.55)
    cols = (xc > RUBBLE[0]) & (xc < RUBBLE[1])
    ndvi[:, cols] = 0.05
    ndvi_path = _write_tif(d / "ndvi.tif", ndvi, left, top)
    layers = {
        "roads": to_geo(
            [LineString([(X0 - 500, Y0 + ROAD_Y), (X0 + 3500, Y0 + ROAD_Y)])],
            road_id=["R1"],
            hardened=[True],
        ),
        "rivers": to_geo(
            [LineString([(X0 + 2380, Y0 + 60), (X0 + 2460, Y0 + 60)])],
            segment_id=["S1"],
            river_name=["关川河"],
            chief=["张三"],
            chief_level=["村级"],
        ),
        "redline": to_geo([sq(1980, -10, 200, 200)], zone_id=["RL1"]),
        "basic_farmland": to_geo(
            [sq(-100, -10, 2700, 520), sq(2900, -10, 300, 100)], zone_id=["BF1", "BF2"]
        ),
        "resettlement": to_geo(
            [Point(X0 + 3020, Y0 + 20), Point(X0 + 3120, Y0 + 120)],
            household_id=["H1", "H2"],
            village_id=["V1", "V1"],
            destination=["进城", "乡镇"],
        ),
    }
    return {"dir": d, "dem": dem, "ndvi": ndvi_path, "layers": layers}


def _bowtie(x: float) -> Polygon:
    return Polygon([(X0 + x, Y0), (X0 + x + 40, Y0 + 40), (X0 + x + 40, Y0), (X0 + x, Y0 + 40)])


#: plot id -> (geometry, the one rule it fails in the high_standard set or None)
HS_PLOTS: list[tuple[str, Polygon, str | None, dict]] = [
    ("ok", sq(0, 0), None, {}),
    ("bowtie", _bowtie(100), "geometry_valid", {}),
    ("ovl_a", sq(200, 0), "overlap", {}),
    ("ovl_b", sq(230, 0), "overlap", {}),
    ("dup", sq(300, 0), "duplicate_id", {}),
    ("dup", sq(400, 0), "duplicate_id", {}),
    ("sliver", sq(500, 0, 2, 100), "sliver", {}),
    ("area", sq(600, 0), "declared_area", {"ridge_coef": 0.15, "gross": True}),
    ("net_ok", sq(700, 0), None, {"ridge_coef": 0.15}),
    ("attr", sq(800, 0), "attributes", {"project": None}),
    ("steep", sq(1100, 0), "slope", {}),
    ("far", sq(900, 400), "road_access", {}),
    ("redline", sq(2000, 0), "redline", {}),
    ("river", sq(2400, 0), "river_buffer", {}),
    ("outside_bf", sq(2700, 0), "basic_farmland", {}),
]


def hs_plots(which: list[str] | None = None) -> gpd.GeoDataFrame:
    rows = []
    for pid, g, _fails, extra in HS_PLOTS:
        if which is not None and pid not in which:
            continue
        ridge = extra.get("ridge_coef", np.nan)
        gross = gk_area_to_mu(shapely.make_valid(g)) if g.is_valid else 2.4
        declared = gross if (extra.get("gross") or np.isnan(ridge)) else gross * (1 - ridge)
        rows.append(
            {
                "plot_id": pid,
                "project": extra.get("project", "2023年将台村高标准农田项目"),
                "declared_area_mu": round(declared, 3),
                "ridge_coef": ridge,
                "geometry": g,
            }
        )
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=GK)
    return gdf.to_crs(settings.CGCS2000)


def ctx_for(world: dict, **kw) -> CheckContext:
    return CheckContext(layers=world["layers"], dem=world["dem"], ndvi=world["ndvi"], **kw)


# --------------------------------------------------------------------------- every rule, one plot each


def test_high_standard_each_planted_plot_fails_only_its_rule(world):
    plots = hs_plots()
    res = run_rules(plots, "high_standard", context=ctx_for(world))
    assert list(res.columns) == list(RESULT_COLUMNS)
    n_rules = len(load_rule_set("high_standard").rules)
    assert len(res) == len(plots) * n_rules
    failed = {k: set(v) for k, v in res[res["status"] == "fail"].groupby("row")["rule"]}
    not_checked = res[res["status"] == "not_checked"]
    for row, (pid, _g, expect, _extra) in enumerate(HS_PLOTS):
        got = failed.get(row, set())
        assert got == ({expect} if expect else set()), (pid, got)
    # only the invalid plot has rules that could not run (its geometry rules)
    assert set(not_checked["plot_id"]) == {"bowtie"}
    summary = summarize(res)
    assert summary.loc[summary["plot_id"] == "ok", "passed"].item()
    assert summary.loc[summary["plot_id"] == "net_ok", "passed"].item()
    assert int(summary["passed"].sum()) == 2
    assert summary.loc[summary["plot_id"] == "steep", "rules_failed"].item() == "slope"


def test_reclamation_each_planted_plot_fails_only_its_rule(world):
    plots = [
        ("r_ok", "H2", sq(3100, 100)),  # H2's point (3120, 120) inside, NDVI 0.55
        ("r_far", "H1", sq(3150, 0)),  # H1's point is (3020, 20): 130 m west of the plot
        ("r_rubble", "H1", sq(3030, 0, 30, 40)),  # on the rubble patch, H1's point 10 m west
    ]
    gdf = to_geo(
        [p[2] for p in plots],
        plot_id=[p[0] for p in plots],
        household_id=[p[1] for p in plots],
        declared_area_mu=[gk_area_to_mu(p[2]) for p in plots],
    )
    ctx = ctx_for(world)
    res = run_rules(gdf, "reclamation", context=ctx)
    failed = {k: set(v) for k, v in res[res["status"] == "fail"].groupby("plot_id")["rule"]}
    assert failed.get("r_ok", set()) == set()
    assert failed["r_far"] == {"homestead"}
    assert failed["r_rubble"] == {"ndvi"}
    assert (res["status"] != "not_checked").all()
    hom = res[(res["rule"] == "homestead") & (res["plot_id"] == "r_far")]["value"].item()
    assert hom == pytest.approx(130.0, abs=0.01)  # from x 3020 to the plot's edge at 3150
    hom_rubble = res[(res["rule"] == "homestead") & (res["plot_id"] == "r_rubble")]["value"].item()
    assert hom_rubble == pytest.approx(10.0, abs=0.01)


# --------------------------------------------------------------------------- rules one by one, with values


def test_geometry_valid_reasons_and_empty():
    geoms = [
        sq(0, 0),
        _bowtie(100),
        Polygon(),
        Point(X0, Y0),
        None,
        Polygon(
            [(X0, Y0), (X0 + 10, Y0), (X0 + 10, Y0 + 10), (X0, Y0 + 10)],
            [[(X0 + 20, Y0 + 20), (X0 + 30, Y0 + 20), (X0 + 30, Y0 + 30)]],
        ),
    ]
    gdf = gpd.GeoDataFrame({"plot_id": list("abcdef")}, geometry=geoms, crs=GK)
    out = check_geometry_valid(gdf)
    assert list(out["status"]) == ["pass", "fail", "fail", "fail", "fail", "fail"]
    assert "Self-intersection" in out["detail_en"][1] and "自相交" in out["detail_zh"][1]
    assert "make_valid can repair" in out["detail_en"][1]
    assert "empty" in out["detail_en"][2] and "empty" in out["detail_en"][4]
    assert "Point" in out["detail_en"][3]
    assert "Hole lies outside shell" in out["detail_en"][5]


def test_repair_geometry_keeps_area_and_never_touches_input():
    bow = _bowtie(0)
    arr = np.array([bow, sq(100, 0)], dtype=object)
    fixed = repair_geometry(arr)
    assert arr[0].equals(bow) and not arr[0].is_valid  # input untouched
    assert fixed[0].is_valid and fixed[0].area == pytest.approx(
        800.0
    )  # two 20 m-high triangles of 40 m base
    assert fixed[1] is arr[1]


def test_duplicate_ids_and_blank_ids():
    gdf = gpd.GeoDataFrame(
        {"plot_id": ["a", "b", "a", None, " "]}, geometry=[sq(i * 100, 0) for i in range(5)], crs=GK
    )
    out = check_duplicate_id(gdf, CheckContext(gk_crs=GK))
    assert list(out["status"]) == ["fail", "pass", "fail", "fail", "fail"]
    assert out["value"][0] == 2 and "rows 0, 2" in out["detail_en"][0]
    assert "missing id" in out["detail_en"][3]


def test_overlap_area_uses_index_and_ignores_shared_edges(monkeypatch):
    # a overlaps b by 10 m x 40 m; c shares an edge with b only; d is far
    gdf = to_geo([sq(0, 0), sq(30, 0), sq(70, 0), sq(500, 0)], plot_id=list("abcd"))
    calls = {"n": 0}
    real = shapely.intersection

    def counting(a, b, *args, **kw):
        calls["n"] += np.size(a)
        return real(a, b, *args, **kw)

    monkeypatch.setattr(shapely, "intersection", counting)
    out = check_overlap(gdf, tolerance_m2=1.0)
    expected = float(geodesic_area_m2(gpd.GeoSeries([sq(30, 0, 10, 40)], crs=GK))[0])
    assert list(out["status"]) == ["fail", "fail", "pass", "pass"]
    assert out["value"][0] == pytest.approx(expected, rel=1e-6)
    assert out["value"][2] == 0.0
    assert "b (" in out["detail_en"][0]
    assert calls["n"] == 1  # one intersection: the touching pair b-c is never intersected
    assert list(check_overlap(gdf, tolerance_m2=500.0)["status"]) == ["pass"] * 4


def test_sliver_area_width_and_thinness():
    strip = sq(0, 0, 2, 100)  # 200 m², 2 m wide
    tiny = sq(100, 0, 8, 8)  # 64 m²
    long_ok = sq(200, 0, 10, 200)  # 10 m wide terrace strip
    gdf = to_geo([strip, tiny, long_ok], plot_id=["strip", "tiny", "long"])
    out = check_sliver(gdf, min_area_m2=100.0, min_width_m=3.0, min_thinness=0.0)
    assert list(out["status"]) == ["fail", "fail", "pass"]
    assert out["value"][0] == pytest.approx(2 * 200 / 204, rel=1e-3)  # mean width 2A/P
    assert "nowhere 3 m wide" in out["detail_en"][0]
    assert "area" in out["detail_en"][1]
    thin = 4 * math.pi * 2000 / 420**2  # 0.142 for the 10 m x 200 m strip
    assert (
        check_sliver(gdf, min_area_m2=0, min_width_m=0, min_thinness=thin + 0.01)["status"][2]
        == "fail"
    )
    assert (
        check_sliver(gdf, min_area_m2=0, min_width_m=0, min_thinness=thin - 0.01)["status"][2]
        == "pass"
    )


def test_declared_area_net_and_gross_and_tolerances():
    g = sq(0, 0, 100, 100)  # ~15 mu
    gross = gk_area_to_mu(g)
    net = gross * (1 - 0.1)
    gdf = to_geo(
        [g] * 5,
        plot_id=list("abcde"),
        declared_area_mu=[net, gross, gross * 1.04, gross, None],
        ridge_coef=[0.1, 0.1, np.nan, 1.5, np.nan],
    )
    out = check_declared_area(gdf, rel_tolerance=0.05, abs_tolerance_mu=0.3)
    assert list(out["status"]) == ["pass", "fail", "pass", "not_checked", "not_checked"]
    assert out["value"][0] == pytest.approx(net, rel=1e-6)
    assert out["value"][2] == pytest.approx(gross, rel=1e-6)
    assert "net area" in out["detail_en"][0] and "净面积" in out["detail_zh"][0]
    assert "gross area" in out["detail_en"][2] and "毛面积" in out["detail_zh"][2]
    assert "ridge" in out["detail_en"][3] and "blank" in out["detail_en"][4]
    # the absolute tolerance governs small plots: 0.3 mu on a 1 mu plot is 30 %
    small = sq(0, 0, 20, 20 * 10000 / 15 / 400)  # 1 mu
    s_gross = gk_area_to_mu(small)
    sm = to_geo(
        [small, small], plot_id=["s1", "s2"], declared_area_mu=[s_gross + 0.29, s_gross + 0.31]
    )
    assert list(check_declared_area(sm, abs_tolerance_mu=0.3, rel_tolerance=0.05)["status"]) == [
        "pass",
        "fail",
    ]


def test_road_access_distance_in_metres(world):
    gdf = to_geo([sq(0, 0), sq(0, 400), sq(0, -40)], plot_id=["near", "far", "on"])
    out = check_road_access(gdf, ctx_for(world), max_distance_m=300.0)
    assert list(out["status"]) == ["pass", "fail", "pass"]
    assert out["value"][0] == pytest.approx(20.0, abs=0.01)
    assert out["value"][1] == pytest.approx(420.0, abs=0.01)
    assert out["value"][2] == 0.0
    hard = check_road_access(gdf, ctx_for(world), max_distance_m=300.0, hardened_only=True)
    assert list(hard["status"]) == ["pass", "fail", "pass"]
    none = check_road_access(gdf, CheckContext(), max_distance_m=300.0)
    assert set(none["status"]) == {"not_checked"} and "no road layer" in none["detail_en"][0]


def test_redline_river_buffer_basic_farmland_areas(world):
    inside = sq(2000, 0)
    half_bf = sq(2580, 0)  # basic farmland box ends at x = 2600: 20 of 40 m inside
    gdf = to_geo([inside, sq(2400, 0), half_bf, sq(0, 0)], plot_id=["red", "river", "half", "ok"])
    ctx = ctx_for(world)
    a_plot = float(geodesic_area_m2(gpd.GeoSeries([inside], crs=GK))[0])
    red = check_redline(gdf, ctx, tolerance_m2=1.0)
    assert list(red["status"]) == ["fail", "pass", "pass", "pass"]
    assert red["value"][0] == pytest.approx(a_plot, rel=1e-6)
    riv = check_river_buffer(gdf, ctx, buffer_m=30.0, tolerance_m2=1.0)
    strip = float(
        geodesic_area_m2(gpd.GeoSeries([sq(2400, 30, 40, 10)], crs=GK))[0]
    )  # y 30..40 under the buffer
    assert list(riv["status"]) == ["pass", "fail", "pass", "pass"]
    assert riv["value"][1] == pytest.approx(strip, rel=1e-3)
    wide = check_river_buffer(
        gdf, ctx, buffer_m=10.0, tolerance_m2=1.0
    )  # buffer reaches y = 50 only
    assert wide["status"][1] == "pass"
    bf = check_basic_farmland(gdf, ctx, min_share=0.9)
    assert bf["value"][2] == pytest.approx(50.0, abs=0.01)
    assert bf["value"][3] == pytest.approx(100.0, abs=1e-6)
    assert list(bf["status"]) == ["pass", "pass", "fail", "pass"]
    assert check_basic_farmland(gdf, ctx, min_share=0.4)["status"][2] == "pass"


def test_slope_from_dem_mean_and_share(world):
    gdf = to_geo(
        [sq(0, 0), sq(1100, 0), sq(960, 0, 80, 40), sq(9000, 0)],
        plot_id=["flat", "steep", "edge", "off"],
    )
    out = check_slope(gdf, ctx_for(world), limit_deg=15.0, max_share_above=0.1)
    assert out["value"][0] == pytest.approx(5.0, abs=0.05)
    assert out["value"][1] == pytest.approx(20.0, abs=0.05)
    assert list(out["status"][:2]) == ["pass", "fail"]
    # the edge plot straddles the break at x = 1000: part steeper than 15 degrees
    assert out["status"][2] == "fail" and 5.0 < out["value"][2] < 20.0
    assert out["status"][3] == "not_checked"  # off the DEM: never a pass
    legal = check_slope(gdf, ctx_for(world), limit_deg=25.0, max_share_above=0.1)
    assert list(legal["status"][:3]) == ["pass", "pass", "pass"]
    nodem = check_slope(gdf, CheckContext(), limit_deg=15.0)
    assert set(nodem["status"]) == {"not_checked"} and "no DEM" in nodem["detail_en"][0]


def test_slope_context_reused_for_a_second_batch_elsewhere(world):
    ctx = ctx_for(world)
    first = check_slope(to_geo([sq(0, 0)], plot_id=["a"]), ctx, limit_deg=15.0)
    second = check_slope(
        to_geo([sq(1100, 0), sq(3100, 100)], plot_id=["b", "c"]), ctx, limit_deg=15.0
    )
    assert first["value"][0] == pytest.approx(5.0, abs=0.05)
    assert list(second["status"]) == ["fail", "pass"]  # not not_checked: the DEM window grows
    assert second["value"][1] == pytest.approx(5.0, abs=0.05)


def test_ndvi_rubble_stands_out(world):
    gdf = to_geo([sq(3030, 0, 30, 40), sq(0, 0)], plot_id=["rubble", "green"])
    out = check_ndvi(gdf, ctx_for(world), min_mean=0.15, bare_below=0.1, max_bare_share=0.5)
    assert list(out["status"]) == ["fail", "pass"]
    assert out["value"][0] == pytest.approx(0.05, abs=1e-6)
    assert out["value"][1] == pytest.approx(0.55, abs=1e-6)
    assert "100% bare" in out["detail_en"][0]
    assert set(check_ndvi(gdf, CheckContext())["status"]) == {"not_checked"}


def test_homestead_unknown_and_blank_household(world):
    gdf = to_geo(
        [sq(3000, 0), sq(3000, 0), sq(3000, 0)],
        plot_id=list("abc"),
        household_id=["H1", "H9", None],
    )
    out = check_homestead(gdf, ctx_for(world), tolerance_m=20.0)
    assert list(out["status"]) == ["pass", "fail", "not_checked"]
    assert out["value"][0] == 0.0
    assert "H9" in out["detail_en"][1]


def test_attributes_required_ranges_allowed():
    gdf = to_geo(
        [sq(i * 100, 0) for i in range(5)],
        plot_id=list("abcde"),
        declared_area_mu=[2.4, -1.0, "abc", None, 2.4],
        land_use=["旱地", "旱地", "旱地", "旱地", "林地"],
    )
    out = check_attributes(
        gdf,
        required=["plot_id", "declared_area_mu", "project"],
        ranges={"declared_area_mu": (0.01, 100.0)},
        allowed={"land_use": ["旱地", "水浇地"]},
    )
    # every plot lacks the `project` field
    assert list(out["value"]) == [1, 2, 2, 2, 2]
    assert "out of range" in out["detail_en"][1] and "not a number: abc" in out["detail_en"][2]
    assert (
        "declared_area_mu is blank" in out["detail_en"][3] and "not one of" in out["detail_en"][4]
    )
    ok = check_attributes(
        gdf.iloc[:1], required=["plot_id"], ranges={"declared_area_mu": (0.01, 100.0)}
    )
    assert ok["status"][0] == "pass" and ok["value"][0] == 0


def test_rule_functions_cover_every_kind():
    assert set(RULE_FUNCTIONS) == set(RULE_KINDS)


def test_plots_need_crs_and_id_field():
    gdf = gpd.GeoDataFrame({"plot_id": ["a"]}, geometry=[sq(0, 0)])
    with pytest.raises(CRSError):
        prepare_plots(gdf)
    with pytest.raises(FieldError, match="id-field"):
        prepare_plots(gdf.set_crs(GK), id_field="parcel_id")


def test_summary_passed_requires_every_error_rule(world):
    plots = hs_plots(["ok", "steep"])
    res = run_rules(plots, "high_standard", context=CheckContext(layers=world["layers"]))  # no DEM
    s = summarize(res)
    assert not s["passed"].any()  # slope could not run: missing data is never a pass
    assert set(s["result"]) == {"待补充 incomplete"}
    assert (s["rules_not_checked"] == "slope").all()
    # a warning rule that fails does not block acceptance
    rs = load_rule_set(
        "high_standard",
        parse_config(
            {"check": {"rule_sets": {"high_standard": [{"id": "slope", "severity": "warning"}]}}}
        ),
    )
    s2 = summarize(run_rules(plots, rs, context=ctx_for(world)))
    assert s2["passed"].all()
    assert s2.loc[s2["plot_id"] == "steep", "warnings"].item() == "slope"


# --------------------------------------------------------------------------- the GEOS validity suite


def _xml_cases(path: Path) -> list[tuple[str, str, bool]]:
    root = ET.parse(path).getroot()
    out = []
    for case in root.iter("case"):
        a = case.find("a")
        op = case.find("test/op")
        if a is None or op is None or op.get("name") != "isValid":
            continue
        out.append(
            (
                case.findtext("desc", "").strip(),
                " ".join(a.text.split()),
                op.text.strip().lower() == "true",
            )
        )
    return out


def test_geos_validity_suite_invalid_cases_all_caught(realdata):
    folder = realdata / "geos-xmltester"
    cases = []
    for name in ("TestIsValid.xml", "TestValid.xml", "TestValid2.xml"):
        cases += [(name, *c) for c in _xml_cases(folder / name)]
    assert len(cases) > 800
    geoms = shapely.from_wkt([c[2] for c in cases], on_invalid="ignore")
    expected_valid = np.array([c[3] for c in cases])
    gdf = gpd.GeoDataFrame(
        {"plot_id": [f"{c[0]}#{i}" for i, c in enumerate(cases)]}, geometry=geoms, crs=GK
    )
    out = check_geometry_valid(gdf, CheckContext(gk_crs=GK))
    status = out["status"].to_numpy()
    invalid = ~expected_valid
    assert (
        invalid.sum() >= 56
    )  # TestIsValid.xml: 3 valid polygons; TestValid*.xml: 56 invalid cases
    missed = [cases[i][1] for i in np.flatnonzero(invalid & (status != "fail"))]
    assert not missed, missed
    # the valid, non-empty polygons pass (other valid geometries are not plots: they fail as such)
    tid = shapely.get_type_id(geoms)
    poly_ok = expected_valid & np.isin(tid, (3, 6)) & ~shapely.is_empty(geoms)
    assert poly_ok.sum() > 50
    assert (status[poly_ok] == "pass").all()
    assert (status[expected_valid & ~poly_ok] == "fail").all()


# --------------------------------------------------------------------------- rule sets


def test_shipped_rule_sets_load():
    hs = load_rule_set("high_standard")
    rc = load_rule_set("reclamation")
    assert hs.rule("slope").limits.limit_deg < rc.rule("slope").limits.limit_deg == 25.0
    assert {"homestead", "ndvi"} <= set(rc.ids) and "basic_farmland" in hs.ids
    for rs in (hs, rc):
        for r in rs.rules:
            assert r.message_zh and r.message_en and r.severity in ("error", "warning")


def test_config_overrides_merge_rule_by_rule():
    cfg = TownConfig.model_validate(
        {
            "check": {
                "rule_sets": {
                    "high_standard": [
                        {"id": "slope", "limits": {"limit_deg": 12.0}},
                        {"id": "sliver", "enabled": False},
                        {
                            "id": "ridge",
                            "kind": "attributes",
                            "message_zh": "缺田坎系数",
                            "message_en": "no ridge coef",
                            "limits": {"required": ["ridge_coef"]},
                        },
                    ]
                }
            }
        }
    )
    rs = load_rule_set("high_standard", cfg)
    assert rs.rule("slope").limits.limit_deg == 12.0
    assert rs.rule("slope").limits.max_share_above == 0.1  # kept from the shipped set
    assert "sliver" not in rs.ids and rs.ids[-1] == "ridge"
    assert "+ town config" in rs.source


@pytest.mark.parametrize(
    ("rules", "match"),
    [
        (
            [{"id": "x", "kind": "slopes", "message_zh": "a", "message_en": "b"}],
            "unknown rule kind 'slopes'",
        ),
        (
            [{"id": "x", "kind": "slope", "message_zh": "a", "message_en": "b", "limit": {}}],
            "unknown key",
        ),
        (
            [
                {
                    "id": "x",
                    "kind": "slope",
                    "message_zh": "a",
                    "message_en": "b",
                    "limits": {"max_deg": 3},
                }
            ],
            "max_deg.*unknown key",
        ),
        (
            [
                {
                    "id": "x",
                    "kind": "slope",
                    "message_zh": "a",
                    "message_en": "b",
                    "limits": {"limit_deg": "steep"},
                }
            ],
            "limit_deg",
        ),
        (
            [
                {
                    "id": "x",
                    "kind": "slope",
                    "message_zh": "a",
                    "message_en": "b",
                    "severity": "fatal",
                }
            ],
            "severity",
        ),
        ([{"id": "x", "kind": "slope", "message_en": "b"}], "message_zh.*missing"),
        (
            [{"id": "x", "kind": "slope", "message_zh": "a", "message_en": "b"}] * 2,
            "duplicate rule id",
        ),
        ([], "no enabled rules"),
        (["slope"], "must be a table"),
        ({"rules": [], "owner": "me"}, "unknown top-level"),
        (
            [
                {
                    "id": "x",
                    "kind": "attributes",
                    "message_zh": "a",
                    "message_en": "b",
                    "limits": {"ranges": {"declared_area_mu": [5, 1]}},
                }
            ],
            "min 5.0 > max 1.0",
        ),
    ],
)
def test_rule_validation_errors(rules, match):
    with pytest.raises(ConfigError, match=match):
        parse_rule_set(rules, name="t", source="test.toml")


def test_rule_file_and_unknown_set(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(
        'name = "mine"\n[[rules]]\nid = "slope"\nkind = "slope"\nmessage_zh = "陡"\nmessage_en = "steep"\n'
        "limits = { limit_deg = 6.0 }\n",
        encoding="utf-8",
    )
    rs = load_rule_set(f)
    assert rs.name == "mine" and rs.rule("slope").limits.limit_deg == 6.0
    with pytest.raises(ConfigError, match="unknown rule set"):
        load_rule_set("high_standards")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rules]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="syntax"):
        load_rule_set(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_rule_set(tmp_path / "nope.toml")


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def town_file(world, tmp_path) -> Path:
    path = tmp_path / "town.gpkg"
    hs_plots().to_file(path, layer="acceptance_plots")
    for name, gdf in world["layers"].items():
        gdf.to_file(path, layer=name)
    return path


def test_cli_end_to_end(world, town_file, tmp_path, capsys):
    digest = hashlib.sha256(town_file.read_bytes()).hexdigest()
    out = tmp_path / "out"
    code = main(
        [
            "check",
            f"{town_file}:acceptance_plots",
            "--dem",
            str(world["dem"]),
            "--ndvi",
            str(world["ndvi"]),
            "--rules",
            "high_standard",
            "--out",
            str(out),
            "--write-repaired",
        ]
    )
    assert code == 1
    res = pd.read_csv(out / "check_results.csv", encoding="utf-8-sig")
    n_rules = len(load_rule_set("high_standard").rules)
    assert len(res) == len(HS_PLOTS) * n_rules
    assert set(res["status"]) == {"pass", "fail", "not_checked"}
    summ = pd.read_csv(out / "check_summary.csv", encoding="utf-8-sig")
    assert sorted(summ.loc[summ["passed"], "plot_id"]) == ["net_ok", "ok"]
    failed = gpd.read_file(out / "failed_plots.gpkg")
    assert len(failed) == len(HS_PLOTS) - 2 and "rules_failed" in failed.columns
    assert failed.crs.to_epsg() == 4490
    rep = gpd.read_file(out / "repaired_plots.gpkg")
    assert rep.geometry.is_valid.all() and int(rep["geometry_repaired"].sum()) == 1
    wb = openpyxl.load_workbook(out / "check_report.xlsx")
    assert wb.sheetnames[0].startswith("汇总")
    cells = [str(c.value) for row in wb.worksheets[0].iter_rows() for c in row if c.value]
    for word in ("检查人", "审核人", "日期"):
        assert any(word in c for c in cells)
    page = (out / "check_report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "steep" in page
    assert hashlib.sha256(town_file.read_bytes()).hexdigest() == digest  # the input is untouched
    printed = capsys.readouterr().out
    assert "不通过" in printed and "steep" in printed


def test_cli_all_pass_exit_0_and_html_escapes(world, tmp_path):
    evil = "<script>alert(1)</script>"
    g = sq(0, 0)
    plots = to_geo(
        [g, sq(100, 0)],
        plot_id=[evil, "ok2"],
        project=["p&q", "p"],
        declared_area_mu=[gk_area_to_mu(g)] * 2,
    )
    path = tmp_path / "plots.gpkg"
    plots.to_file(path, layer="plots")
    town = tmp_path / "ctx.gpkg"
    for name, gdf in world["layers"].items():
        gdf.to_file(town, layer=name)
    out = tmp_path / "out"
    assert (
        main(
            ["check", str(path), "--town", str(town), "--dem", str(world["dem"]), "--out", str(out)]
        )
        == 0
    )
    page = (out / "check_report.html").read_text(encoding="utf-8")
    assert evil not in page
    assert len(gpd.read_file(out / "failed_plots.gpkg")) == 0


def test_workbook_lists_every_result_of_a_town_and_the_failures_of_a_county(monkeypatch):
    from gis_town import settings
    from gis_town.reports.check import workbook_sheets

    plots = to_geo([sq(0, 0, 2, 100), sq(100, 0), sq(300, 0)], plot_id=["s", "a", "b"])
    rs = load_rule_set("high_standard")
    res = run_rules(plots, rs, context=CheckContext())
    summ = summarize(res)
    town = workbook_sheets(res, summ, rs, title="t")
    assert len(town["sheets"]["明细 details"]) == len(res)
    monkeypatch.setattr(settings, "CHECK_DETAIL_ROWS", len(res) - 1)  # "a county"
    county = workbook_sheets(res, summ, rs, title="t")
    det = county["sheets"]["明细 details"]
    not_passed = int((res["status"] != "pass").sum())
    assert 0 < not_passed < len(res) and len(det) == not_passed
    assert "通过 pass" not in set(det.iloc[:, list(res.columns).index("status")].astype(str))
    assert county["highlight"]["明细 details"].all()
    assert "check_results.csv" in county["titles"]["明细 details"]


def test_report_html_escapes_every_value():
    from gis_town.reports.check import failing_map_svg, render_html

    evil = "<img src=x onerror=alert(1)>"
    plots = to_geo([sq(0, 0, 2, 100), sq(100, 0)], plot_id=[evil, "ok"], project=[evil, "p"])
    rs = load_rule_set("high_standard")
    ctx = CheckContext()
    prepared = prepare_plots(plots)
    res = run_rules(prepared, rs, context=ctx)
    summ = summarize(res)
    svg = failing_map_svg(prepared, ~summ["passed"].to_numpy(), labels=[f"{evil}: sliver"] * 2)
    page = render_html(res, summ, rs, title=f"{evil} 报告", meta={"src": evil}, map_svg=svg)
    assert "<img" not in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 4  # title, meta, tables, map tooltip
    assert "<title>&lt;img" in svg


def test_cli_bad_input_exit_2(world, town_file, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["check", str(tmp_path / "nope.gpkg"), "--out", str(out)]) == 2
    assert main(["check", str(town_file), "--out", str(out)]) == 2  # several layers, none named
    assert "several layers" in capsys.readouterr().err
    bad_rules = tmp_path / "bad.toml"
    bad_rules.write_text(
        '[[rules]]\nid = "a"\nkind = "nonsense"\nmessage_zh = "x"\nmessage_en = "y"\n',
        encoding="utf-8",
    )
    assert (
        main(
            ["check", f"{town_file}:acceptance_plots", "--rules", str(bad_rules), "--out", str(out)]
        )
        == 2
    )
    assert "unknown rule kind" in capsys.readouterr().err
    nocrs = tmp_path / "nocrs.geojson"
    nocrs.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"plot_id":"a"},'
        '"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}',
        encoding="utf-8",
    )
    assert main(["check", str(nocrs), "--out", str(out)]) == 2
    assert (
        main(
            [
                "check",
                f"{town_file}:acceptance_plots",
                "--dem",
                str(tmp_path / "no.tif"),
                "--out",
                str(out),
            ]
        )
        == 2
    )


def test_cli_demo_town(demo_town, tmp_path):
    """The demo's acceptance plots and reclaimed plots: each planted plot fails exactly one rule."""
    layers = demo_town.parent
    rasters = ["--dem", str(layers / "dem.tif"), "--ndvi", str(layers / "ndvi_2023.tif")]
    expected = {
        "acceptance_plots": {
            "geometry_valid",
            "overlap",
            "duplicate_id",
            "sliver",
            "declared_area",
            "slope",
            "road_access",
            "redline",
            "river_buffer",
            "basic_farmland",
            "attributes",
        },
        "reclamation": {"homestead", "ndvi", "slope", "declared_area", "road_access"},
    }
    for layer, rules in expected.items():
        out = tmp_path / layer
        assert main(["check", f"{demo_town}:{layer}", *rasters, "--out", str(out)]) == 1
        summ = pd.read_csv(out / "check_summary.csv", encoding="utf-8-sig", keep_default_na=False)
        res = pd.read_csv(out / "check_results.csv", encoding="utf-8-sig")
        assert set(res.loc[res["status"] == "fail", "rule"]) == rules
        failed = summ[summ["rules_failed"] != ""]
        assert (failed["n_failed"] == 1).all(), failed[["plot_id", "rules_failed"]]
        assert summ["passed"].astype(str).eq("True").sum() > 0.8 * len(summ)
        assert (out / "check_report.html").exists() and (out / "failed_plots.gpkg").exists()
