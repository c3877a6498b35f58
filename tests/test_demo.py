"""Tests for the demo town generator (gis_town.demo).

A small town (fewer parcels, a tenth of the patrols) is generated once per
module into a temporary folder; a second run checks determinism. Expected
values are computed here independently (areas on the Gauss-Kruger plane,
slopes from the written DEM, the shipped acceptance rule sets), not read
from the generator.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from pyproj import Transformer

from gis_town.demo import generate_demo_town

N_PARCELS = 1500
PATROL_SCALE = 0.15

#: Fields each layer must carry (the brief's required and listed optional ones).
REQUIRED = {
    "villages": [
        "village_id",
        "name",
        "population",
        "households",
        "monitored_households",
        "leader",
        "collective_income_wan",
    ],
    "settlements": ["settlement_id", "village_id", "name"],
    "farmland": [
        "parcel_id",
        "village_id",
        "status",
        "land_use",
        "crop",
        "declared_area_mu",
        "project",
        "last_cultivated_year",
        "film_mulch",
        "group",
        "contractor",
        "ridge_coef",
    ],
    "rivers": [
        "segment_id",
        "river_name",
        "chief",
        "chief_id",
        "chief_level",
        "basin",
        "village_id",
        "annual_patrol_target",
    ],
    "patrols": ["chief", "chief_id", "time"],
    "afforestation": [
        "plot_id",
        "village_id",
        "kind",
        "trees",
        "year",
        "planted_date",
        "declared_area_mu",
    ],
    "afforestation_points": ["plot_id", "village_id", "kind", "trees", "year", "planted_date"],
    "resettlement": [
        "household_id",
        "village_id",
        "head",
        "destination",
        "cohort",
        "agreement_signed",
        "entered",
        "filed",
        "housing_confirmed",
        "contract_signed",
        "moved_in",
        "demolished",
        "self_inspected",
        "reclaimed",
        "funds_paid",
    ],
    "reclamation": ["plot_id", "household_id", "declared_area_mu", "reclaimed_date", "ridge_coef"],
    "acceptance_plots": [
        "plot_id",
        "project",
        "village_id",
        "declared_area_mu",
        "ridge_coef",
        "land_use",
    ],
    "zones": ["zone_id", "kind", "name", "planned_demo_mu"],
    "roads": ["road_id", "name", "road_class", "hardened", "hardened_year"],
    "redline": ["zone_id", "name"],
    "basic_farmland": ["zone_id", "name"],
    "dev_boundary": ["zone_id", "name"],
}


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("demo_a")
    return generate_demo_town(out, seed=2023, n_parcels=N_PARCELS, patrol_scale=PATROL_SCALE)


@pytest.fixture(scope="module")
def report(town) -> dict:
    return json.loads(Path(town["report"]).read_text(encoding="utf-8"))


def _layer(town, name: str) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gpd.read_file(town["town"], layer=name)


def _gk(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs("EPSG:4544")


def test_every_layer_has_its_fields_and_cgcs2000(town):
    names = set(pyogrio.list_layers(town["town"])[:, 0])
    assert set(REQUIRED) <= names
    for name, fields in REQUIRED.items():
        gdf = _layer(town, name)
        assert len(gdf) > 0, name
        missing = [f for f in fields if f not in gdf.columns]
        assert not missing, (name, missing)
        assert gdf.crs.to_epsg() == 4490, name


def test_rasters_grid_and_nodata(town):
    with rasterio.open(town["dem"]) as dem:
        assert dem.crs.to_epsg() == 4544
        assert dem.res == (30.0, 30.0)
        assert dem.dtypes[0] == "float32"
        assert dem.nodata == -9999
        z = dem.read(1)
        grid = (dem.transform, dem.shape)
    # Loess hilly-gully elevations: valley ~1,900 m, ridges ~2,300 m
    assert 1850 < np.percentile(z, 1) < 1950
    assert 2200 < np.percentile(z, 99) < 2500
    for key in ("ndvi_2022", "ndvi_2023"):
        with rasterio.open(town[key]) as nd:
            assert (nd.transform, nd.shape) == grid
            assert nd.dtypes[0] == "float32" and nd.nodata == -9999
            v = nd.read(1)
            assert v.min() >= -1 and v.max() <= 1


def test_dem_covers_every_layer(town):
    with rasterio.open(town["dem"]) as dem:
        b = dem.bounds
    tr = Transformer.from_crs("EPSG:4544", "EPSG:4490", always_xy=True)
    xs, ys = tr.transform([b.left, b.right, b.right, b.left], [b.bottom, b.bottom, b.top, b.top])
    footprint = shapely.Polygon(list(zip(xs, ys, strict=True)))
    for name in REQUIRED:
        bounds = _layer(town, name).total_bounds
        assert footprint.contains(shapely.box(*bounds)), name


def _slope_deg(path: Path) -> tuple[np.ndarray, object]:
    with rasterio.open(path) as dem:
        z = dem.read(1).astype(float)
        transform = dem.transform
    dzdy, dzdx = np.gradient(z, 30.0)
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy))), transform


def test_slopes_are_loess_like(town):
    slope, transform = _slope_deg(town["dem"])
    vil = _gk(_layer(town, "villages"))
    inside = rasterio.features.geometry_mask(vil.geometry, slope.shape, transform, invert=True)
    s = slope[inside]
    assert np.mean(s < 5) > 0.15  # valley floors and flat ridge tops
    assert np.mean((s >= 10) & (s <= 25)) > 0.2  # terraced hillsides
    assert np.mean(s > 25) > 0.03  # steep gully walls
    farm = _gk(_layer(town, "farmland"))
    valley = farm[farm["land_use"] == "水浇地"]
    rows, cols = rasterio.transform.rowcol(
        transform, valley.representative_point().x, valley.representative_point().y
    )
    assert np.median(slope[np.asarray(rows), np.asarray(cols)]) < 5


def test_parcels_tile_without_overlap(town):
    farm = _gk(_layer(town, "farmland"))
    assert farm.is_valid.all()
    assert farm["parcel_id"].is_unique
    total = farm.area.sum()
    union = shapely.union_all(farm.geometry.values).area
    assert abs(total - union) / total < 1e-6
    assert 0.6 * N_PARCELS < len(farm) < 1.5 * N_PARCELS


def test_villages_tile_the_town(town):
    vil = _gk(_layer(town, "villages"))
    assert 12 <= len(vil) <= 15
    assert "将台村" in set(vil["name"])
    assert vil["name"].str.endswith("村").all()
    total = vil.area.sum()
    assert abs(total - shapely.union_all(vil.geometry.values).area) / total < 1e-9
    basins = _gk(_layer(town, "zones"))
    basins = basins[basins["kind"] == "basin"]
    assert len(basins) == 3
    assert abs(basins.area.sum() - total) / total < 1e-6


def test_farmland_attributes_consistent(town):
    farm = _layer(town, "farmland")
    assert set(farm["status"]) <= {"耕种", "撂荒", "休耕"}
    cult = farm["status"] == "耕种"
    assert (farm.loc[cult, "last_cultivated_year"] == 2023).all()
    assert (farm.loc[~cult, "last_cultivated_year"] < 2023).all()
    share = (farm["status"] == "撂荒").mean()
    assert 0.05 < share < 0.16
    assert (farm.loc[farm["land_use"] != "旱地", "ridge_coef"] == 0).all()
    dry = farm.loc[farm["land_use"] == "旱地", "ridge_coef"]
    assert dry.between(0.05, 0.18).all()
    assert farm["declared_area_mu"].isna().sum() >= 1
    projects = farm["project"].dropna().unique()
    assert len(projects) == 3


def test_abandonment_depends_on_slope(town):
    from exactextract import exact_extract

    slope, transform = _slope_deg(town["dem"])
    farm = _gk(_layer(town, "farmland"))
    from exactextract.raster import NumPyRasterSource

    h, w = slope.shape
    src = NumPyRasterSource(
        slope, transform.c, transform.f - 30.0 * h, transform.c + 30.0 * w, transform.f
    )
    mean = exact_extract(src, farm, "mean", output="pandas")["mean"].to_numpy()
    abandoned = farm["status"].to_numpy() == "撂荒"
    cultivated = farm["status"].to_numpy() == "耕种"
    assert mean[abandoned].mean() > mean[cultivated].mean() + 2.0


def _failures(results: pd.DataFrame) -> set[tuple[str, str]]:
    fails = results[results["status"].astype(str) == "fail"]
    return set(zip(fails["plot_id"].astype(str), fails["rule"].astype(str), strict=True))


def test_acceptance_plots_fail_exactly_the_planted_rules(town, report):
    from gis_town.analysis.check import CheckContext, run_rules
    from gis_town.io import load_town

    plots = _layer(town, "acceptance_plots")
    planted = report["acceptance_planted"]
    bow = plots[plots["plot_id"] == planted["invalid_geometry"]]
    assert len(bow) == 1 and not bow.geometry.iloc[0].is_valid
    assert (~plots.is_valid).sum() == 1
    assert plots["plot_id"].duplicated().sum() == 1
    assert plots["declared_area_mu"].isna().sum() == 1
    ctx = CheckContext.from_town(load_town(town["town"]), dem=town["dem"], ndvi=town["ndvi_2023"])
    got = _failures(run_rules(plots, "high_standard", context=ctx))
    first = {k: v.split(" ")[0] for k, v in planted.items()}
    over_nb = planted["overlap"].split("overlaps ")[1].split(" ")[0]
    expected = {
        (first["invalid_geometry"], "geometry_valid"),
        (first["overlap"], "overlap"),
        (over_nb, "overlap"),
        (first["duplicate_id"], "duplicate_id"),
        (first["sliver"], "sliver"),
        (first["declared_area"], "declared_area"),
        (first["steep"], "slope"),
        (first["far_from_road"], "road_access"),
        (first["in_redline"], "redline"),
        (first["near_river"], "river_buffer"),
        (first["outside_basic_farmland"], "basic_farmland"),
        (first["missing_declared_area"], "attributes"),
    }
    assert got == expected


def test_reclamation_plots_fail_exactly_the_planted_rules(town, report):
    from gis_town.analysis.check import CheckContext, run_rules
    from gis_town.io import load_town

    plots = _layer(town, "reclamation")
    planted = report["reclamation_planted"]
    ctx = CheckContext.from_town(load_town(town["town"]), dem=town["dem"], ndvi=town["ndvi_2023"])
    got = _failures(run_rules(plots, "reclamation", context=ctx))
    expected = {
        (planted["away_from_household"], "homestead"),
        (planted["rubble"], "ndvi"),
        (planted["steep"], "slope"),
        (planted["declared_area"], "declared_area"),
        (planted["far_from_road"], "road_access"),
    }
    assert got == expected
    # plots lie on demolished households' homesteads, one per household
    res = _layer(town, "resettlement")
    done = set(res.loc[res["demolished"].notna(), "household_id"])
    assert set(plots["household_id"]) == done


def test_resettlement_dates_follow_the_stages(town, report):
    res = _layer(town, "resettlement")
    assert set(res["cohort"]) == {2022, 2023}
    assert 40 <= (res["cohort"] == 2023).sum() <= 60
    assert set(res["destination"]) == {"进城", "乡镇"}
    d = {
        c: pd.to_datetime(res[c])
        for c in ("housing_confirmed", "moved_in", "demolished", "reclaimed")
    }
    bad = res.loc[d["moved_in"] < d["housing_confirmed"], "household_id"].tolist()
    assert bad == [report["resettlement_out_of_order"]]
    assert (d["reclaimed"].dropna() >= d["demolished"][d["reclaimed"].notna()]).all()


def test_patrols_are_a_year_of_walks_with_token_trips(town):
    pts = _layer(town, "patrols")
    assert 1000 < len(pts) < 150_000
    t = pd.to_datetime(pts["time"])
    assert t.dt.tz is None
    assert t.min() >= pd.Timestamp("2023-01-01") and t.max() < pd.Timestamp("2024-01-01")
    rivers = _layer(town, "rivers")
    assert set(rivers["chief_level"]) == {"county", "town", "village", "grid"}
    assert set(pts["chief_id"]) <= set(rivers["chief_id"])
    # speeds between consecutive fixes of a chief on one day: mostly walking, some driving
    g = _gk(pts).assign(t=t).sort_values(["chief_id", "t"])
    dx = g.geometry.x.diff().to_numpy()
    dy = g.geometry.y.diff().to_numpy()
    dt_s = g["t"].diff().dt.total_seconds().to_numpy()
    same = (
        (g["chief_id"].to_numpy()[1:] == g["chief_id"].to_numpy()[:-1])
        & (dt_s[1:] > 0)
        & (dt_s[1:] < 120)
    )
    kmh = np.hypot(dx[1:], dy[1:])[same] / dt_s[1:][same] * 3.6
    assert 2.5 < np.median(kmh) < 6.0
    assert (kmh > 25).sum() > 0


def test_generation_is_deterministic(town, tmp_path):
    again = generate_demo_town(tmp_path, seed=2023, n_parcels=N_PARCELS, patrol_scale=PATROL_SCALE)
    for name in pyogrio.list_layers(town["town"])[:, 0]:
        a = _layer(town, name)
        b = _layer(again, name)
        pd.testing.assert_frame_equal(
            pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
        )
        assert (a.geometry.to_wkb() == b.geometry.to_wkb()).all(), name
    for key in ("dem", "ndvi_2022", "ndvi_2023", "ndvi_2023-06-28", "report", "visits_filled"):
        assert Path(town[key]).read_bytes() == Path(again[key]).read_bytes(), key


def test_cli_help():
    from gis_town.demo.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0


def test_generate_writes_what_the_demo_reads(town):
    """Last year's survey, the river problems and the filled visit list are written with the town."""
    for key, layer in (("previous", "farmland"), ("problems", "problems"), ("programmes", "toilets"),
                       ("monitoring", "monitoring")):
        assert layer in pyogrio.list_layers(town[key])[:, 0], key
        assert len(_layer({"town": town[key]}, layer)) > 0, key
    assert town["visits_filled"].suffix == ".xlsx" and town["visits_filled"].stat().st_size > 0
