"""Tests of gis_town.analysis.risk and the ``risk`` command.

Expected values are independent of the code: hand-made geometry in
Gauss-Kruger metres with known distances, planes of known slope, squares and
rectangles of known shape index, scores computed by hand.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

from gis_town.analysis.risk import (
    FACTORS,
    distance_to_nearest_m,
    monitored_share,
    ndvi_factors,
    normalise_factors,
    parcel_factors,
    risk_score,
    settlement_distance_m,
    shape_factors,
    status_derived_factors,
    terrain_factors,
    validate_risk,
    village_summary,
    visit_list,
    years_idle,
)
from gis_town.config import RISK_FACTORS, RiskSection, parse_config
from gis_town.errors import ConfigError, RasterError
from gis_town.raster import as_raster, write_raster

GK = "EPSG:4544"
GEO = "EPSG:4490"
X0, Y0 = 463_740.0, 3_941_220.0
M2_PER_MU = 10000.0 / 15.0


def _gk(geoms, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=GK)


def _geo(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(GEO)


# --------------------------------------------------------------------------- distances and shape


def test_road_distance_against_hand_made_geometry():
    road = _gk([shapely.LineString([(X0, Y0 - 1000), (X0, Y0 + 1000)])], road_id=["R1"])
    parcels = _gk(
        [
            shapely.box(X0 + 100, Y0, X0 + 150, Y0 + 40),  # 100 m east of the road
            shapely.box(X0 - 260, Y0, X0 - 237.5, Y0 + 40),  # 237.5 m west
            shapely.box(X0 - 10, Y0, X0 + 10, Y0 + 40),  # crossed by the road: 0
            shapely.box(
                X0 + 300, Y0 + 1300, X0 + 340, Y0 + 1340
            ),  # beyond the road's end: hypot(300, 300)
        ],
        parcel_id=["a", "b", "c", "d"],
    )
    d = distance_to_nearest_m(_geo(parcels), _geo(road), gk_crs=GK)
    assert d == pytest.approx([100.0, 237.5, 0.0, math.hypot(300, 300)], abs=0.01)
    # nearest of several roads
    road2 = _gk(
        [
            shapely.LineString([(X0, Y0 - 1000), (X0, Y0 + 1000)]),
            shapely.LineString([(X0 + 120, Y0 + 100), (X0 + 500, Y0 + 100)]),
        ],
        road_id=["R1", "R2"],
    )
    d2 = distance_to_nearest_m(parcels, road2, gk_crs=GK)
    assert d2[0] == pytest.approx(60.0)  # parcel top at Y0+40, road R2 at Y0+100


def test_distance_with_no_targets_is_nan():
    parcels = _gk([shapely.box(X0, Y0, X0 + 10, Y0 + 10)], parcel_id=["a"])
    d = distance_to_nearest_m(parcels, _gk([], road_id=[]), gk_crs=GK)
    assert np.isnan(d).all()


def test_settlement_distance_own_village_first():
    settlements = _gk(
        [shapely.Point(X0, Y0), shapely.Point(X0 + 1000, Y0)],
        settlement_id=["S1", "S2"],
        village_id=["V1", "V2"],
    )
    parcels = _gk(
        [
            shapely.box(X0 + 700, Y0 - 10, X0 + 720, Y0 + 10),  # village V1, but nearer S2
            shapely.box(X0 + 700, Y0 - 10, X0 + 720, Y0 + 10),  # village V2
            shapely.box(X0 + 700, Y0 - 10, X0 + 720, Y0 + 10),
        ],  # village V3: no settlement -> nearest
        parcel_id=["a", "b", "c"],
        village_id=["V1", "V2", "V3"],
    )
    d = settlement_distance_m(_geo(parcels), settlements=_geo(settlements), gk_crs=GK)
    assert d == pytest.approx([700.0, 280.0, 280.0], abs=0.01)


def test_settlement_distance_many_villages_and_settlements():
    # village V1 has 6 settlements on a line y = Y0 (x = X0 + 0, 100, ..., 500; the spatial
    # index path), V2 one at X0 + 5000; parcels of both villages interleaved in the input
    xs = X0 + 100.0 * np.arange(6)
    settlements = _gk(
        [shapely.Point(x, Y0) for x in xs] + [shapely.Point(X0 + 5000, Y0)],
        village_id=["V1"] * 6 + ["V2"],
    )
    cx = [X0 + 250, X0 + 5000, X0 + 1000, X0 + 4000, X0 + 100]
    dy = [300.0, 50.0, 0.0, 0.0, 20.0]
    vids = ["V1", "V2", "V1", "V2", "V1"]
    parcels = _gk(
        [shapely.box(x - 5, Y0 + y, x + 5, Y0 + y + 10) for x, y in zip(cx, dy)],
        village_id=vids,
    )
    d = settlement_distance_m(parcels, settlements=settlements, gk_crs=GK)
    expected = [
        np.hypot(45.0, 300.0),  # box x 245-255, 300 m up: 45 m across to X0 + 200 / 300
        50.0,
        500.0 - 5.0,  # V1's last settlement at X0 + 500, not V2's nearer one
        1000.0 - 5.0,  # V2's settlement, not V1's at X0 + 500
        20.0,  # right above V1's settlement at X0 + 100
    ]
    assert d == pytest.approx(expected, abs=0.01)


def test_settlement_distance_falls_back_to_village_point():
    villages = _gk(
        [shapely.box(X0 - 500, Y0 - 500, X0 + 500, Y0 + 500)], village_id=["V1"], name=["一村"]
    )
    parcels = _gk(
        [shapely.box(X0 + 1000, Y0 - 10, X0 + 1020, Y0 + 10)], parcel_id=["a"], village_id=["V1"]
    )
    d = settlement_distance_m(parcels, villages=villages, gk_crs=GK)
    rep = villages.geometry.representative_point().iloc[0]
    assert d[0] == pytest.approx(X0 + 1000 - rep.x, abs=0.01)


def test_shape_index_and_area():
    side = math.sqrt(M2_PER_MU)  # one mu
    parcels = _geo(
        _gk(
            [
                shapely.box(X0, Y0, X0 + side, Y0 + side),
                shapely.box(X0, Y0, X0 + 4 * 20, Y0 + 20),  # 4:1 rectangle
                shapely.Point(X0, Y0).buffer(30, quad_segs=256),  # circle
            ],
            parcel_id=["sq", "rect", "circle"],
        )
    )
    s = shape_factors(parcels, gk_crs=GK)
    assert s["area_mu"].iloc[0] == pytest.approx(1.0, rel=2e-4)  # ellipsoidal vs GK plane
    assert s["shape_index"].iloc[0] == pytest.approx(
        4 / (2 * math.sqrt(math.pi)), rel=1e-3
    )  # 1.128
    assert s["shape_index"].iloc[1] == pytest.approx(
        10 / (4 * math.sqrt(math.pi)), rel=1e-3
    )  # 1.410
    assert s["shape_index"].iloc[2] == pytest.approx(1.0, abs=1e-3)
    assert s["perimeter_m"].iloc[1] == pytest.approx(200.0, rel=1e-4)


def test_years_idle_and_monitored_share():
    parcels = pd.DataFrame(
        {
            "parcel_id": ["a", "b", "c", "d"],
            "village_id": ["V1", "V1", "V2", "V9"],
            "status": ["cultivated", "abandoned", "abandoned", "cultivated"],
            "last_cultivated_year": [2023, 2019, None, None],
        }
    )
    assert years_idle(parcels, 2023).tolist()[:2] == [0.0, 4.0]
    assert np.isnan(years_idle(parcels, 2023)[2]) and years_idle(parcels, 2023)[3] == 0.0
    villages = pd.DataFrame(
        {"village_id": ["V1", "V2"], "households": [200, 0], "monitored_households": [30, 5]}
    )
    m = monitored_share(parcels, villages)
    assert m[0] == pytest.approx(0.15) and np.isnan(m[2]) and np.isnan(m[3])


# --------------------------------------------------------------------------- terrain


def _plane_dem(slope_deg: float, *, n: int = 40, cell: float = 30.0, x0=X0 - 600, y0=Y0 + 600):
    g = math.tan(math.radians(slope_deg))
    xs = x0 + (np.arange(n) + 0.5) * cell
    z = np.tile(2000.0 + g * (xs - x0), (n, 1))  # rises to the east
    return as_raster(z, transform=Affine(cell, 0, x0, 0, -cell, y0), crs=GK, name="DEM")


def test_terrain_factors_on_known_plane(tmp_path):
    dem = _plane_dem(20.0)
    side = math.sqrt(M2_PER_MU)
    parcels = _geo(
        _gk(
            [
                shapely.box(X0, Y0, X0 + side, Y0 + side),  # 1 mu, smaller than a cell
                shapely.box(X0 - 300, Y0 - 300, X0 - 240, Y0 - 240),  # aligned with cells (2 x 2)
            ],
            parcel_id=["small", "aligned"],
        )
    )
    t = terrain_factors(parcels, dem)
    assert t["slope_mean_deg"].tolist() == pytest.approx([20.0, 20.0], abs=0.5)
    assert t["slope_gt15_share"].tolist() == pytest.approx([1.0, 1.0])
    assert t["slope_gt25_share"].tolist() == pytest.approx([0.0, 0.0])
    # aligned parcel: cells with centres at x0 + 315 and + 345 m east of the DEM's west edge
    g = math.tan(math.radians(20.0))
    assert t["elevation_m"].iloc[1] == pytest.approx(2000.0 + g * 330.0, abs=0.05)
    assert (t["dem_flag"] == "ok").all()
    # same from a file in lon/lat (a geographic DEM)
    geo_dem = write_raster(_plane_dem(20.0), tmp_path / "dem.tif")
    t2 = terrain_factors(parcels, geo_dem)
    assert t2["slope_mean_deg"].tolist() == pytest.approx([20.0, 20.0], abs=0.5)


def test_terrain_from_geographic_dem():
    # a lon/lat DEM: plane rising 0.3 m per metre northwards (16.7 deg)
    from pyproj import Transformer

    d = 0.0003
    lon0, lat0 = 104.58, 35.615
    n = 80
    tr = Transformer.from_crs(GEO, GK, always_xy=True)
    lons = lon0 + (np.arange(n) + 0.5) * d
    lats = lat0 - (np.arange(n) + 0.5) * d
    lon, lat = np.meshgrid(lons, lats)
    _, y = tr.transform(lon, lat)
    z = 2000.0 + 0.3 * (y - Y0)
    dem = as_raster(z, transform=Affine(d, 0, lon0, 0, -d, lat0), crs=GEO, name="DEM")
    parcels = _geo(_gk([shapely.box(X0, Y0, X0 + 20, Y0 + 20)], parcel_id=["a"]))
    t = terrain_factors(parcels, dem)
    assert t["slope_mean_deg"].iloc[0] == pytest.approx(math.degrees(math.atan(0.3)), abs=0.5)
    assert t["slope_gt15_share"].iloc[0] == pytest.approx(1.0)


def test_dem_not_overlapping_parcels_raises(tmp_path):
    dem = _plane_dem(10.0)
    far = _geo(_gk([shapely.box(X0 + 50_000, Y0, X0 + 50_030, Y0 + 30)], parcel_id=["far"]))
    with pytest.raises(RasterError, match="does not overlap"):
        terrain_factors(far, dem)
    path = write_raster(dem, tmp_path / "dem.tif")
    with pytest.raises(RasterError, match="does not overlap"):
        terrain_factors(far, path)


def test_dem_nodata_hole_flags_parcels_and_score_says_so():
    dem = _plane_dem(10.0)
    dem.array[18:22, 18:22] = np.nan  # a 120 m hole around (X0, Y0)
    parcels = _geo(
        _gk(
            [
                shapely.box(X0 - 20, Y0 - 20, X0 + 20, Y0 + 20),  # inside the hole
                shapely.box(X0 + 40, Y0 - 20, X0 + 80, Y0 + 20),  # half on the hole
                shapely.box(X0 + 200, Y0, X0 + 240, Y0 + 40),  # clear
            ],
            parcel_id=["hole", "half", "clear"],
            village_id=["V1"] * 3,
            status=["cultivated"] * 3,
        )
    )
    f = parcel_factors(parcels, dem=dem, year=2023, gk_crs=GK)
    assert f["dem_flag"].tolist() == ["nodata", "partial", "ok"]
    assert np.isnan(f["slope_mean_deg"].iloc[0]) and f["dem_note"].iloc[0]
    assert f["slope_mean_deg"].iloc[1] == pytest.approx(10.0, abs=0.01)
    s = risk_score(f, {"elevation_m": 1.0, "area_mu": 1.0})  # elevation varies, slope does not
    assert s["score"].notna().all()  # never a silent NaN score
    assert s["missing_factors"].tolist() == ["elevation_m", "", ""]
    assert "elevation_m" in s["score_note"].iloc[0] and s["score_note"].iloc[2] == ""


def test_raster_in_another_crs_is_reprojected(tmp_path):
    dem = _plane_dem(15.0)
    from gis_town.raster import reproject_raster

    geo_dem = reproject_raster(dem, GEO)
    parcels = _geo(_gk([shapely.box(X0 - 100, Y0 - 100, X0 - 40, Y0 - 40)], parcel_id=["a"]))
    a = terrain_factors(parcels, dem)
    b = terrain_factors(parcels, geo_dem)
    assert b["slope_mean_deg"].iloc[0] == pytest.approx(a["slope_mean_deg"].iloc[0], abs=0.5)
    assert b["elevation_m"].iloc[0] == pytest.approx(a["elevation_m"].iloc[0], abs=2.0)


def test_ndvi_factors_change(tmp_path):
    tr = Affine(30, 0, X0 - 300, 0, -30, Y0 + 300)
    n22 = as_raster(np.full((20, 20), 0.6), transform=tr, crs=GK)
    n23 = as_raster(np.full((20, 20), 0.45), transform=tr, crs=GK)
    parcels = _geo(_gk([shapely.box(X0, Y0, X0 + 10, Y0 + 10)], parcel_id=["a"]))
    out = ndvi_factors(
        parcels, {2022: n22, 2023: write_raster(n23, tmp_path / "n23.tif")}, year=2023
    )
    assert out["ndvi_mean"].iloc[0] == pytest.approx(0.45, abs=1e-6)
    assert out["ndvi_change"].iloc[0] == pytest.approx(-0.15, abs=1e-6)
    assert out.attrs["ndvi_years"] == (2022, 2023)


# --------------------------------------------------------------------------- score


def test_normalise_robust_min_max_and_direction():
    f = pd.DataFrame({"slope_mean_deg": [0.0, 5.0, 10.0, np.nan], "area_mu": [1.0, 2.0, 3.0, 4.0]})
    n, table = normalise_factors(f, ["slope_mean_deg", "area_mu"], clip_quantile=0.0)
    assert n["slope_mean_deg"].tolist()[:3] == [0.0, 0.5, 1.0] and np.isnan(
        n["slope_mean_deg"].iloc[3]
    )
    # area: smaller is riskier
    assert n["area_mu"].tolist() == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0])
    assert table.set_index("factor").loc["area_mu", "direction"] == -1
    const = pd.DataFrame({"shape_index": [1.2, 1.2]})
    n2, t2 = normalise_factors(const, ["shape_index"])
    assert "shape_index" not in n2 and "not informative" in t2["note"].iloc[0]


def test_score_by_hand_and_top_factor():
    f = pd.DataFrame(
        {
            "parcel_id": ["a", "b", "c"],
            "village_id": ["V1"] * 3,
            "slope_mean_deg": [0.0, 10.0, 20.0],  # -> 0, 0.5, 1
            "road_distance_m": [400.0, 0.0, 200.0],  # -> 1, 0, 0.5
        }
    )
    s = risk_score(
        f,
        RiskSection(weights={"slope_mean_deg": 3.0, "road_distance_m": 1.0}, medium=40, high=60),
        clip_quantile=0.0,
    )
    # a: (3*0 + 1*1)/4 = 25; b: (3*0.5 + 0)/4 = 37.5; c: (3*1 + 1*0.5)/4 = 87.5
    assert s["score"].tolist() == pytest.approx([25.0, 37.5, 87.5])
    assert s["risk_class"].tolist() == ["low", "low", "high"]
    assert s["top_factor"].tolist() == ["road_distance_m", "slope_mean_deg", "slope_mean_deg"]
    assert s["reason"].iloc[2].startswith("平均坡度 20.0°")
    assert s.attrs["weights_used"] == {"slope_mean_deg": 0.75, "road_distance_m": 0.25}


def test_unknown_weight_factor_is_a_config_error():
    f = pd.DataFrame({"slope_mean_deg": [1.0, 2.0]})
    with pytest.raises(ConfigError, match="unknown risk factors"):
        risk_score(f, {"slope_mean_deg": 1.0, "soil_ph": 0.5})
    with pytest.raises(ConfigError, match="unknown"):
        parse_config({"risk": {"weights": {"soil_ph": 1.0}}})
    with pytest.raises(ConfigError, match=">= 0"):
        risk_score(f, {"slope_mean_deg": -1.0})


def test_no_weighted_factor_available():
    f = pd.DataFrame({"area_mu": [1.0, 2.0]})
    with pytest.raises(ConfigError, match="none of the weighted"):
        risk_score(f, {"slope_mean_deg": 1.0})


def test_every_config_factor_has_metadata():
    assert set(RISK_FACTORS) <= set(FACTORS)


# --------------------------------------------------------------------------- validation


def _synthetic_status(n: int = 600, seed: int = 3) -> pd.DataFrame:
    """Abandonment driven by slope and road distance with noise; years_idle leaks the status."""
    rng = np.random.default_rng(seed)
    slope = rng.uniform(0, 30, n)
    road = rng.uniform(0, 1500, n)
    area = rng.uniform(0.5, 10, n)
    logit = -4.0 + 0.15 * slope + 0.002 * road + rng.normal(0, 1.0, n)
    abandoned = logit > 0
    years = np.where(abandoned, rng.integers(1, 6, n), 0).astype(float)
    return pd.DataFrame(
        {
            "parcel_id": [f"p{i}" for i in range(n)],
            "village_id": "V1",
            "status": np.where(abandoned, "abandoned", "cultivated"),
            "slope_mean_deg": slope,
            "road_distance_m": road,
            "area_mu": area,
            "years_idle": years,
        }
    )


def test_validation_leaves_out_status_derived_factors():
    df = _synthetic_status()
    weights = {"slope_mean_deg": 0.4, "road_distance_m": 0.3, "years_idle": 0.3}
    scored = risk_score(df, weights)
    v = validate_risk(scored, weights, status_year=2023)
    assert v.parcels == len(df) and 0 < v.abandoned < len(df)
    assert "years_idle" in v.left_out and "years_idle" not in v.factors_used
    assert v.auc_config > 0.97  # years_idle gives the answer away
    assert 0.75 < v.auc_fair < v.auc_config  # the honest figure
    assert 0.75 < v.auc_logit_cv <= 1.0 and v.folds == 5
    coef = v.coefficients.set_index("factor")["coefficient_per_sd"]
    assert coef["slope_mean_deg"] > 0 and coef["road_distance_m"] > 0
    assert abs(coef["area_mu"]) < coef["slope_mean_deg"]  # area does not drive this abandonment
    assert list(v.table().columns) == ["metric", "value"]


def test_validation_without_signal_is_near_half():
    df = _synthetic_status()
    rng = np.random.default_rng(9)
    df["status"] = np.where(rng.random(len(df)) < 0.3, "abandoned", "cultivated")
    v = validate_risk(risk_score(df, {"slope_mean_deg": 1.0}), {"slope_mean_deg": 1.0})
    assert abs(v.auc_fair - 0.5) < 0.1 and abs(v.auc_logit_cv - 0.5) < 0.12


def test_validation_needs_both_classes_and_skips_fallow():
    df = _synthetic_status(40)
    df["status"] = "cultivated"
    df.loc[:4, "status"] = "fallow"
    v = validate_risk(risk_score(df, {"slope_mean_deg": 1.0}), {"slope_mean_deg": 1.0})
    assert v.parcels == 35 and np.isnan(v.auc_fair) and "both" in v.note


def test_status_derived_ndvi_same_year():
    df = pd.DataFrame({"ndvi_mean": [0.1]})
    df.attrs["ndvi_years"] = (2022, 2023)
    assert status_derived_factors(df, status_year=2023) == [
        "years_idle",
        "ndvi_mean",
        "ndvi_change",
    ]
    assert status_derived_factors(df, status_year=2024) == ["years_idle"]


# --------------------------------------------------------------------------- summaries


def _scored_town() -> gpd.GeoDataFrame:
    geoms = [shapely.box(X0 + 50 * i, Y0, X0 + 50 * i + 40, Y0 + 40) for i in range(8)]
    f = _geo(
        _gk(
            geoms,
            parcel_id=[f"p{i}" for i in range(8)],
            village_id=["V1", "V1", "V1", "V1", "V2", "V2", "V2", "V2"],
            group=["一社", "二社", "一社", "二社", "三社", "三社", None, None],
            contractor=["张", "李", "王", "赵", "刘", "陈", "杨", "黄"],
            status=[
                "cultivated",
                "abandoned",
                "cultivated",
                "cultivated",
                "cultivated",
                "abandoned",
                "cultivated",
                "fallow",
            ],
            area_mu=[1.0, 2.0, 3.0, 4.0, 1.0, 1.0, 1.0, 1.0],
            score=[90.0, 70.0, 50.0, 20.0, 65.0, 45.0, 80.0, 10.0],
        )
    )
    f["risk_class"] = pd.cut(
        f["score"], [-1, 40, 60, 101], labels=["low", "medium", "high"], right=False
    ).astype("string")
    f["risk_class_zh"] = f["risk_class"].map({"low": "低", "medium": "中", "high": "高"})
    f["top_factor_zh"] = "平均坡度"
    f["reason"] = "平均坡度 20.0°"
    return f


def test_village_summary_counts_and_total():
    villages = pd.DataFrame(
        {"village_id": ["V1", "V2"], "name": ["一村", "二村"], "leader": ["甲", "乙"]}
    )
    s = village_summary(_scored_town(), villages)
    v1 = s.set_index("village_id").loc["V1"]
    assert v1["high_parcels"] == 2 and v1["high_mu"] == pytest.approx(3.0)  # p0 (90), p1 (70)
    assert v1["medium_parcels"] == 1 and v1["medium_mu"] == pytest.approx(3.0)
    assert v1["abandoned_mu"] == pytest.approx(2.0) and v1["leader"] == "甲"
    total = s.iloc[-1]
    assert (
        total["village_id"] == "合计 total" and total["parcels"] == 8 and total["high_parcels"] == 4
    )


def test_visit_list_sorted_grouped_and_limited():
    villages = gpd.GeoDataFrame(
        {"village_id": ["V1", "V2"], "name": ["一村", "二村"], "leader": ["甲", "乙"]},
        geometry=[shapely.box(0, 0, 1, 1)] * 2,
        crs=GEO,
    )
    # default: parcels not abandoned yet, medium or high
    v = visit_list(_scored_town(), size=2, villages=villages)
    v1 = v[v["village_id"] == "V1"]
    assert v1["parcel_id"].tolist() == ["p0", "p2"] and v1["rank"].tolist() == [1, 2]
    assert v1["leader"].iloc[0] == "甲" and v1["contractor"].tolist() == ["张", "王"]
    v2 = v[v["village_id"] == "V2"]
    assert v2["parcel_id"].tolist() == ["p6", "p4"]  # 80 (no group) and 65 (三社); p5 is abandoned
    assert "abandoned" not in set(v["status"])
    assert v["lon"].between(104, 106).all() and v["lat"].between(35, 36).all()
    # with abandoned parcels, top two of V1 by score are p0 (90, 一社) and p1 (70, 二社, abandoned)
    w = visit_list(_scored_town(), size=2, villages=villages, include_abandoned=True)
    assert w.loc[w["village_id"] == "V1", "parcel_id"].tolist() == ["p0", "p1"]
    everything = visit_list(_scored_town(), size=10, include_abandoned=True)
    v1 = everything[everything["village_id"] == "V1"]
    # 一社 (best 90) first: p0, p2; then 二社 (best 70): p1; p3 is low risk
    assert v1["parcel_id"].tolist() == ["p0", "p2", "p1"]
    assert v1["rank"].tolist() == [1, 2, 3]  # 序号 in the order of the list (issue 21)
    with pytest.raises(ValueError):
        visit_list(_scored_town(), min_class="urgent")


# --------------------------------------------------------------------------- end to end


def _write_town(tmp_path):
    """A two-village town with roads, settlements, a DEM and two NDVI rasters; returns the gpkg path."""
    rng = np.random.default_rng(5)
    villages = _gk(
        [
            shapely.box(X0 - 600, Y0 - 600, X0, Y0 + 600),
            shapely.box(X0, Y0 - 600, X0 + 600, Y0 + 600),
        ],
        village_id=["V1", "V2"],
        name=["一村", "<b>二村</b>"],
        leader=["甲", "乙"],
        households=[200, 150],
        monitored_households=[20, 30],
    )
    settlements = _gk(
        [shapely.Point(X0 - 300, Y0), shapely.Point(X0 + 300, Y0)],
        settlement_id=["S1", "S2"],
        village_id=["V1", "V2"],
    )
    roads = _gk([shapely.LineString([(X0 - 600, Y0 - 500), (X0 + 600, Y0 - 500)])], road_id=["R1"])
    geoms, pid, vid, status, last, grp, who = [], [], [], [], [], [], []
    for i in range(60):
        x = X0 - 580 + (i % 10) * 115
        y = Y0 - 450 + (i // 10) * 170
        w, h = rng.uniform(20, 60), rng.uniform(15, 40)
        geoms.append(shapely.box(x, y, x + w, y + h))
        pid.append(f"P{i:03d}")
        vid.append("V1" if x + w / 2 < X0 else "V2")
        ab = (y - Y0) / 600 + rng.normal(0, 0.4) > 0.3  # far from the road (south) -> cultivated
        status.append("撂荒" if ab else "耕种")
        last.append(2020 if ab else 2023)
        grp.append(f"{1 + i % 3}社")
        who.append(f"户{i}")
    farmland = _gk(
        geoms,
        parcel_id=pid,
        village_id=vid,
        status=status,
        last_cultivated_year=last,
        group=grp,
        contractor=who,
    )
    gpkg = tmp_path / "town.gpkg"
    for name, gdf in [
        ("villages", villages),
        ("settlements", settlements),
        ("roads", roads),
        ("farmland", farmland),
    ]:
        gdf.to_crs(GEO).to_file(gpkg, layer=name, driver="GPKG")
    n = 50
    x0, y0 = X0 - 750, Y0 + 750
    xs = x0 + (np.arange(n) + 0.5) * 30
    ys = y0 - (np.arange(n) + 0.5) * 30
    xx, yy = np.meshgrid(xs, ys)
    z = 1950.0 + 0.25 * (yy - (Y0 - 600)) + 20 * np.sin(xx / 200.0)
    write_raster(
        as_raster(z, transform=Affine(30, 0, x0, 0, -30, y0), crs=GK), tmp_path / "dem.tif"
    )
    for year, base in ((2022, 0.55), (2023, 0.5)):
        nd = base - 0.2 * (yy > Y0) + rng.normal(0, 0.02, z.shape)
        write_raster(
            as_raster(nd, transform=Affine(30, 0, x0, 0, -30, y0), crs=GK),
            tmp_path / f"ndvi_{year}.tif",
        )
    return gpkg


def test_cli_risk_end_to_end(tmp_path):
    from gis_town.cli import main

    gpkg = _write_town(tmp_path)
    out = tmp_path / "out"
    code = main(
        [
            "risk",
            str(gpkg),
            "--dem",
            str(tmp_path / "dem.tif"),
            "--ndvi",
            f"2022={tmp_path / 'ndvi_2022.tif'}",
            "--ndvi",
            f"2023={tmp_path / 'ndvi_2023.tif'}",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    for name in (
        "risk.gpkg",
        "risk.csv",
        "risk_villages.csv",
        "risk_factors.csv",
        "risk_validation.csv",
        "visit_list.xlsx",
        "visit_list.kml",
        "visit_list.gpx",
        "visit_list.csv",
    ):
        assert (out / name).is_file(), name
    risk = pd.read_csv(out / "risk.csv", encoding="utf-8-sig")
    assert len(risk) == 60
    for col in (
        "parcel_id",
        "village_id",
        "score",
        "risk_class",
        "top_factor",
        "slope_mean_deg",
        "slope_gt25_share",
        "road_distance_m",
        "settlement_distance_m",
        "area_mu",
        "shape_index",
        "years_idle",
        "ndvi_mean",
        "ndvi_change",
        "monitored_share",
        "elevation_m",
    ):
        assert col in risk.columns, col
    assert risk["score"].between(0, 100).all()
    assert set(risk["risk_class"]) <= {"low", "medium", "high"}
    g = gpd.read_file(out / "risk.gpkg", layer="risk")
    assert len(g) == 60 and g.crs.to_epsg() == 4490
    val = pd.read_csv(out / "risk_validation.csv", encoding="utf-8-sig")
    assert val["metric"].str.contains("AUC").any()
    kml = (out / "visit_list.kml").read_text(encoding="utf-8")
    assert "<b>" not in kml and "&lt;b&gt;" in kml  # village name escaped
    import gpxpy

    gpx = gpxpy.parse((out / "visit_list.gpx").read_text(encoding="utf-8"))
    assert len(gpx.waypoints) == len(pd.read_csv(out / "visit_list.csv", encoding="utf-8-sig"))


def test_cli_risk_bad_inputs(tmp_path, capsys):
    from gis_town.cli import main

    gpkg = _write_town(tmp_path)
    far = as_raster(np.ones((5, 5)), transform=Affine(30, 0, X0 + 90_000, 0, -30, Y0), crs=GK)
    write_raster(far, tmp_path / "far.tif")
    assert (
        main(["risk", str(gpkg), "--dem", str(tmp_path / "far.tif"), "--out", str(tmp_path / "o1")])
        == 2
    )
    assert "does not overlap" in capsys.readouterr().err
    assert (
        main(
            [
                "risk",
                str(gpkg),
                "--dem",
                str(tmp_path / "missing.tif"),
                "--out",
                str(tmp_path / "o2"),
            ]
        )
        == 2
    )
    assert main(["risk", str(gpkg), "--ndvi", "ndvi.tif", "--out", str(tmp_path / "o3")]) == 2
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[risk.weights]\nslope_mean_deg = 1.0\nsoil_ph = 0.5\n", encoding="utf-8")
    assert main(["risk", str(gpkg), "--config", str(cfg), "--out", str(tmp_path / "o4")]) == 2
    assert "soil_ph" in capsys.readouterr().err


def test_cli_risk_demo_town(tmp_path, demo_town):
    from gis_town.cli import main

    out = tmp_path / "demo"
    assert main(["risk", str(demo_town), "--out", str(out)]) == 0
    risk = pd.read_csv(out / "risk.csv", encoding="utf-8-sig")
    assert risk["score"].notna().all()
    with rasterio.open(demo_town.parent / "dem.tif") as ds:
        assert ds.crs is not None
