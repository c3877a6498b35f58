"""The acceptance check per partition of plots (Dask) gives the one-process results.

Hand-made plots (50 m squares on a grid in the Gauss-Kruger zone, 4
partitions of 25) with an overlapping copy and a repeated id *in another
partition*, a blank id, a bow-tie and a geometry the reader set aside: the
overlap and duplicate-id rules must find each pair once, across partitions,
with the rows of the whole layer. Then the demo town's acceptance plots with
every context layer, the DEM and NDVI; and ``gis-town check --workers 2``
against the plain command, file by file. The cluster: 2 worker processes.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

pytest.importorskip("dask_geopandas")
pytest.importorskip("distributed")

from gis_town import parallel as par
from gis_town.analysis.check import (
    CheckContext,
    load_rule_set,
    prepare_plots,
    run_rules,
    summarize,
)

GK = "EPSG:4544"
X0, Y0, CELL = 463_000.0, 3_941_000.0, 50.0


def _plots() -> gpd.GeoDataFrame:
    i, j = np.divmod(np.arange(100), 10)
    x, y = X0 + j * CELL, Y0 + i * CELL
    geoms = shapely.box(x, y, x + CELL, y + CELL)
    ids = np.array([f"P{k:03d}" for k in range(100)], dtype=object)
    geoms[80] = shapely.box(X0 + 10 * 0 + 10, Y0 + 50, X0 + 60, Y0 + 100)  # plot 10 moved 10 m east
    ids[90] = ids[5]  # the id of a plot in the first partition
    ids[60] = None
    geoms[30] = shapely.Polygon(
        [(X0, Y0 + 150), (X0 + 50, Y0 + 200), (X0 + 50, Y0 + 150), (X0, Y0 + 200)]
    )
    geoms[45] = None
    gdf = gpd.GeoDataFrame(
        {"plot_id": ids, "project": "2023年高标准农田项目", "declared_area_mu": 3.75},
        geometry=geoms,
        crs=GK,
    )
    gdf.attrs["geometry_fixes"] = pd.DataFrame(
        {"index": [45], "action": ["rejected"], "reason": ["坐标无效 / invalid coordinates"]}
    )
    return gdf


def _one_process(plots, rules, ctx):
    p = prepare_plots(plots, id_field=ctx.id_field)
    c = CheckContext(
        layers=ctx.layers, dem=ctx.dem, ndvi=ctx.ndvi, gk_crs=p.gk_crs, id_field=ctx.id_field
    )
    res = run_rules(p, rules, context=c)
    return p, res, summarize(res)


def _assert_same(one, two):
    p1, r1, s1 = one
    p2, r2, s2 = two
    pd.testing.assert_frame_equal(s1, s2, check_exact=True)
    assert r1.attrs == r2.attrs
    pd.testing.assert_frame_equal(r1, r2, check_exact=True)  # values to the last bit
    for name in ("ids", "id_missing", "usable", "why_unusable_zh", "why_unusable_en"):
        assert (getattr(p1, name) == getattr(p2, name)).all(), name
    np.testing.assert_array_equal(p1.area_m2, p2.area_m2)
    assert shapely.equals_exact(p1.gk[p1.usable], p2.gk[p2.usable], 0).all()
    assert p1.gk_crs == p2.gk_crs


def _row(results, plot_row, rule):
    r = results[(results["row"] == plot_row) & (results["rule"] == rule)]
    assert len(r) == 1
    return r.iloc[0]


def test_cli_check_with_workers_writes_the_same_files(demo_town, tmp_path):
    from gis_town.cli import main

    plots = f"{demo_town}:acceptance_plots"
    one, two = tmp_path / "one", tmp_path / "two"
    code = main(["-q", "check", plots, "--out", str(one)])
    assert main(["-q", "check", plots, "--out", str(two), "--workers", "2"]) == code
    for name in ("check_summary.csv", "check_results.csv"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    results = pd.read_csv(two / "check_results.csv", encoding="utf-8-sig")
    # plots inside and crossing the context zones: their areas too are the one-process ones
    inside = results[results["rule"].isin(["redline", "river_buffer", "basic_farmland"])]
    assert (inside["value"] > 0).any()
    fa = gpd.read_file(one / "failed_plots.gpkg", engine="pyogrio")
    fb = gpd.read_file(two / "failed_plots.gpkg", engine="pyogrio")
    assert len(fa) > 0
    pd.testing.assert_frame_equal(pd.DataFrame(fa), pd.DataFrame(fb))


@pytest.fixture(scope="module")
def cluster():
    with par.client_for(workers=2) as client:  # worker processes, as --workers 2
        yield client


def test_overlaps_and_ids_across_partitions(cluster):
    plots = _plots()
    rules = load_rule_set("high_standard")
    ctx = CheckContext()
    one = _one_process(plots, rules, ctx)
    two = par.check_partitioned(plots, rules, context=ctx, npartitions=4)
    _assert_same(one, two)
    res = two[1]
    # plot 80 (fourth partition) lies 10 m east of plot 10 (first): 40 x 50 m on plot 10, 10 x 50 m on 11
    ov = _row(res, 80, "overlap")
    assert ov["status"] == "fail"
    assert ov["value"] == pytest.approx(2500.0, rel=2e-3)  # ellipsoidal vs Gauss-Kruger planar
    assert "P010" in ov["message"] and "P011" in ov["message"]
    assert _row(res, 10, "overlap")["value"] == pytest.approx(2000.0, rel=2e-3)
    assert _row(res, 11, "overlap")["value"] == pytest.approx(500.0, rel=2e-3)
    assert _row(res, 12, "overlap")["status"] == "pass"  # only touches its neighbours
    # the id of plot 5 again at row 90: both fail, naming the rows of the whole layer
    for r in (5, 90):
        dup = _row(res, r, "duplicate_id")
        assert dup["status"] == "fail" and dup["value"] == 2
        assert "5, 90" in dup["message"]
    assert _row(res, 60, "duplicate_id")["plot_id"] == "#60"  # blank id: its row in the layer
    assert _row(res, 30, "geometry_valid")["status"] == "fail"  # the bow-tie
    assert "读入时剔除" in _row(res, 45, "geometry_valid")["message"]  # the reader's reason


def test_demo_acceptance_plots_with_context_and_rasters(demo_town, cluster):
    from gis_town.config import config_for
    from gis_town.io.read import read_layer
    from gis_town.io.town import load_town
    from gis_town.runners.check import context_layers

    cfg = config_for(demo_town, None)
    rules = load_rule_set("high_standard", cfg)
    town = load_town(demo_town, cfg, layers=context_layers(rules))
    plots = read_layer(demo_town, "acceptance_plots")
    dem, ndvi = cfg.dem_path(), cfg.ndvi_paths()[max(cfg.rasters.ndvi)]
    ctx = CheckContext(layers=dict(town.layers), dem=dem, ndvi=ndvi)
    one = _one_process(plots, rules, ctx)
    two = par.check_partitioned(plots, rules, context=ctx, npartitions=4)
    _assert_same(one, two)
    statuses = set(two[1]["status"].astype(str))
    assert {"pass", "fail"} <= statuses  # the context and raster rules ran
