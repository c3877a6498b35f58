"""Site selection (选址): a hand-made candidate set ranked in the order its factors imply."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from pyproj import CRS
from shapely.geometry import LineString, box

from gis_town.analysis.siting import exclusions, rank_per_village, siting_factors, siting_score
from gis_town.config import SitingPurpose, SitingSection, TownConfig
from gis_town.errors import ConfigError
from gis_town.raster import RasterData

GK = CRS.from_epsg(4543)  # CGCS2000 / 3-degree Gauss-Kruger CM 105E
X0, Y0 = 500_000.0, 3_940_000.0
CELL = 10.0
BAND = 300.0  # each candidate sits in its own 300 m wide band of the DEM with one slope

# id, village, band, (x offset, y offset, width, height) in metres, slope (deg), status
CANDIDATES = [
    ("A", "V1", 0, (100, 100, 100, 100), 2.0, "cultivated"),
    ("B", "V1", 1, (50, 100, 200, 50), 5.0, "cultivated"),
    ("C", "V1", 2, (100, 500, 100, 100), 2.0, "cultivated"),
    ("D", "V2", 3, (100, 100, 100, 100), 12.0, "cultivated"),  # too steep
    ("E", "V2", 4, (100, 100, 100, 100), 1.0, "cultivated"),  # in basic farmland
    ("F", "V2", 5, (100, 100, 100, 100), 1.0, "abandoned"),
    ("G", "V2", 6, (100, 300, 100, 100), 3.0, "cultivated"),
]

PURPOSE = SitingPurpose(
    weights={"slope_mean_deg": 0.4, "road_distance_m": 0.3, "water_distance_m": 0.2, "area_mu": 0.1},
    ideal={"slope_mean_deg": 0.0, "road_distance_m": 0.0, "water_distance_m": 0.0, "area_mu": 20.0},
    limit={"slope_mean_deg": 10.0, "road_distance_m": 1000.0, "water_distance_m": 2000.0, "area_mu": 0.0},
    max_slope_deg=8.0,
    exclude_layers=["basic_farmland"],
    exclude_status=["abandoned"],
)


def _rect(band: int, dx: float, dy: float, w: float, h: float):
    x = X0 + band * BAND + dx
    return box(x, Y0 + dy, x + w, Y0 + dy + h)


@pytest.fixture(scope="module")
def inputs():
    cand = gpd.GeoDataFrame(
        {
            "parcel_id": [c[0] for c in CANDIDATES],
            "village_id": [c[1] for c in CANDIDATES],
            "status": [c[5] for c in CANDIDATES],
        },
        geometry=[_rect(c[2], *c[3]) for c in CANDIDATES],
        crs=GK,
    )
    # DEM: in band i, z = tan(slope_i) * (y - Y0): a plane rising north with the candidate's slope
    ncols = int(len(CANDIDATES) * BAND / CELL)
    nrows = int(1000 / CELL)
    ys = Y0 + 1000 - (np.arange(nrows) + 0.5) * CELL
    z = np.zeros((nrows, ncols))
    for i, c in enumerate(CANDIDATES):
        cols = slice(int(i * BAND / CELL), int((i + 1) * BAND / CELL))
        z[:, cols] = (math.tan(math.radians(c[4])) * (ys - Y0))[:, None]
    dem = RasterData(z, Affine(CELL, 0, X0, 0, -CELL, Y0 + 1000), GK, name="DEM")
    # road along the southern edge (y = Y0), river along the northern one (y = Y0 + 1000)
    line = LineString([(X0 - 100, Y0), (X0 + len(CANDIDATES) * BAND + 100, Y0)])
    roads = gpd.GeoDataFrame({"road_id": ["R1"]}, geometry=[line], crs=GK)
    river = gpd.GeoDataFrame(
        {"segment_id": ["S1"]}, geometry=[LineString([(x, y + 1000) for x, y in line.coords])], crs=GK
    )
    basic = gpd.GeoDataFrame({"zone_id": ["B1"]}, geometry=[_rect(4, 50, 50, 200, 200)], crs=GK)
    return cand, dem, roads, river, basic


def _expected(slope: float, road: float, water: float, area_mu: float) -> float:
    """The score from the formula: 100 * sum(w * clip((x - limit) / (ideal - limit))) / sum(w)."""
    def s(x, ideal, limit):
        return min(1.0, max(0.0, (x - limit) / (ideal - limit)))

    return 100 * (
        0.4 * s(slope, 0, 10) + 0.3 * s(road, 0, 1000) + 0.2 * s(water, 0, 2000) + 0.1 * s(area_mu, 20, 0)
    )


@pytest.fixture(scope="module")
def result(inputs):
    cand, dem, roads, river, basic = inputs
    f = siting_factors(cand, dem=dem, roads=roads, water={"rivers": river}, gk_crs=GK)
    scored = siting_score(f, PURPOSE)
    ex = exclusions(scored, PURPOSE, zones={"basic_farmland": basic})
    for col in ex.columns:
        scored[col] = ex[col].to_numpy()
    scored["rank"] = rank_per_village(scored, id_column="parcel_id").array
    return scored.set_index("parcel_id")


def test_factors_are_the_known_values(result):
    for pid, _v, _b, (_dx, dy, w, h), slope, _s in CANDIDATES:
        row = result.loc[pid]
        assert row["slope_mean_deg"] == pytest.approx(slope, abs=0.05)
        assert row["road_distance_m"] == pytest.approx(dy, abs=1e-6)
        assert row["water_distance_m"] == pytest.approx(1000 - dy - h, abs=1e-6)
        # 1 ha squares and rectangles: 15 mu (ellipsoidal area within 0.2% of the GK area here)
        assert row["area_mu"] == pytest.approx(w * h * 15 / 10000, rel=2e-3)


def test_scores_follow_the_formula_and_contributions_add_up(result):
    for pid, *_ in CANDIDATES:
        row = result.loc[pid]
        exp = _expected(row["slope_mean_deg"], row["road_distance_m"], row["water_distance_m"], row["area_mu"])
        assert row["score"] == pytest.approx(exp, abs=1e-9)
        points = sum(row[f"points_{f}"] for f in PURPOSE.weights)
        assert points == pytest.approx(row["score"], abs=1e-9)


def test_ranking_per_village_in_the_order_the_factors_imply(result):
    # V1: A (2 deg, 100 m to the road, 800 m to the river, 15 mu): .4*.8 + .3*.9 + .2*.6 + .1*.75 = 78.5
    # C (2 deg, but 500 m from the road, 400 m from the river): .32 + .3*.5 + .2*.8 + .075 = 70.5
    # B (5 deg, 100 m from the road, 850 m from the river): .4*.5 + .27 + .2*.575 + .075 = 66.0
    assert result.loc["A", "score"] == pytest.approx(78.5, abs=0.3)
    assert result.loc["C", "score"] == pytest.approx(70.5, abs=0.3)
    assert result.loc["B", "score"] == pytest.approx(66.0, abs=0.5)
    assert [result.loc[p, "rank"] for p in "ACB"] == [1, 2, 3]
    # V2: only G is left (D too steep, E in basic farmland, F abandoned)
    assert result.loc["G", "rank"] == 1
    for p in "DEF":
        assert pd.isna(result.loc[p, "rank"])
    # E scores best of all on its factors, and is still excluded
    assert result.loc["E", "score"] > result.loc["A", "score"]


def test_exclusions_say_why(result):
    assert list(result.index[result["excluded"]]) == ["D", "E", "F"]
    assert result.loc["D", "exclusion_codes"] == "slope"
    assert "坡度超过 8°" in result.loc["D", "exclusion"]
    assert result.loc["E", "exclusion_codes"] == "basic_farmland"
    assert "永久基本农田" in result.loc["E", "exclusion"] and "100%" in result.loc["E", "exclusion"]
    assert result.loc["F", "exclusion_codes"] == "status:abandoned"
    assert result.loc["A", "exclusion"] == ""


def test_reason_lists_every_factor_largest_first(result):
    reason = result.loc["A", "reason"]
    parts = reason.split("；")
    assert len(parts) == 4
    assert parts[0].startswith("平均坡度 2.0°")  # 32 points, the largest
    assert parts[0].endswith("+32.0")
    assert "距道路 100m +27.0" in reason
    assert result.loc["A", "best_factor"] == "slope_mean_deg"
    # C loses most on its road distance: 0.3 * 0.5 of the weight (15 points)
    assert result.loc["C", "worst_factor"] == "road_distance_m"


def test_missing_factor_is_scored_on_the_others(inputs):
    cand, _dem, roads, _river, _basic = inputs
    f = siting_factors(cand, roads=roads, gk_crs=GK)  # no DEM, no water
    s = siting_score(f, PURPOSE)
    assert set(s.attrs["weights_used"]) == {"road_distance_m", "area_mu"}
    a = s.set_index("parcel_id").loc["A"]
    assert a["score"] == pytest.approx(100 * (0.3 * 0.9 + 0.1 * 0.75) / 0.4, abs=0.3)


def test_config_merges_purpose_defaults_and_rejects_bad_factors():
    sec = SitingSection(greenhouse={"max_slope_deg": 5, "limit": {"area_mu": 0.5}})
    assert sec.greenhouse.max_slope_deg == 5
    assert sec.greenhouse.limit["area_mu"] == 0.5
    assert sec.greenhouse.limit["slope_mean_deg"] == TownConfig().siting.greenhouse.limit["slope_mean_deg"]
    assert "basic_farmland" in sec.greenhouse.exclude_layers
    assert "basic_farmland" not in sec.water_lift.exclude_layers
    with pytest.raises(ValueError):
        SitingSection(demo_belt={"weights": {"elevation_m": 1.0}})
    with pytest.raises(ConfigError):
        sec.purpose("orchard")


LAYERS = Path(__file__).resolve().parents[1] / "layers"


@pytest.mark.skipif(not (LAYERS / "demo_town.gpkg").exists(), reason="demo town not present")
def test_demo_town_end_to_end(tmp_path):
    from gis_town.cli import main

    out = tmp_path / "siting"
    rc = main(["siting", str(LAYERS / "demo_town.gpkg"), "--for", "demo_belt", "--out", str(out)])
    assert rc == 0
    for name in ("siting_ranked.csv", "siting_excluded.csv", "siting_villages.csv", "siting.xlsx", "siting.html"):
        assert (out / name).is_file(), name
    ranked = pd.read_csv(out / "siting_ranked.csv")
    excluded = pd.read_csv(out / "siting_excluded.csv")
    farmland = gpd.read_file(LAYERS / "demo_town.gpkg", layer="farmland", columns=["parcel_id"])
    # every candidate is either scored in the list of suitable ones or excluded with its reason
    villages = pd.read_csv(out / "siting_villages.csv")
    assert int(villages["candidates"].iloc[-1]) == len(farmland)
    assert int(villages["excluded"].iloc[-1]) == len(excluded)
    assert excluded["exclusion"].notna().all()
    assert len(ranked)
    # ranks within a village follow the score
    for _, g in ranked.groupby("village_id"):
        assert g.sort_values("rank")["score"].is_monotonic_decreasing
    html = (out / "siting.html").read_text(encoding="utf-8")
    assert "候选地块" in html
