"""The partitioned (Dask) path gives the single-machine results.

Small data built here: parcels on a 50 m grid in the Gauss-Kruger zone
(EPSG:4544), some of them bad (a duplicate id in another partition, an
unknown status, a null geometry), zones and basic farmland crossing them, a
small DEM. Every partitioned result is compared with the one-process
function on the same data, on a LocalCluster of 2 workers (threads, to keep
the suite fast) and without a cluster; the CLI test runs ``gis-town areas
--workers 2`` (2 worker processes) against the plain run, file by file.
"""

from __future__ import annotations

import argparse

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

pytest.importorskip("dask_geopandas")
pytest.importorskip("distributed")

from gis_town import parallel as par
from gis_town.analysis.areas import (
    area_totals,
    basic_farmland_totals,
    group_totals,
    parcel_areas,
    zone_totals,
)
from gis_town.analysis.overlay import area_by_zone
from gis_town.errors import InputError, LayerError
from gis_town.io.validate import validate_layer

GK = "EPSG:4544"
X0, Y0 = 463_000.0, 3_941_000.0
CELL = 50.0
N = 24  # 24 x 24 = 576 parcels


def _farmland(n: int = N) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    x = X0 + j.ravel() * CELL
    y = Y0 + i.ravel() * CELL
    k = n * n
    gdf = gpd.GeoDataFrame(
        {
            "parcel_id": [f"P{q:05d}" for q in range(k)],
            "village_id": np.where(j.ravel() < n // 2, "V01", "V02"),
            "status": rng.choice(["耕种", "撂荒", "fallow"], k),
            "ridge_coef": rng.choice([0.0, 0.08, 0.12], k),
            "project": np.where(rng.random(k) < 0.1, "高标准农田", None),
        },
        geometry=shapely.box(x, y, x + CELL, y + CELL),
        crs=GK,
    ).to_crs("EPSG:4490")
    return gdf


def _bad(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    bad = gdf.copy()
    k = len(bad)
    bad.loc[k - 3, "parcel_id"] = "P00002"  # duplicate of an id in the first partition
    bad.loc[40, "parcel_id"] = "P00041"  # duplicate within a partition (first at row 41)
    bad.loc[100, "status"] = "bogus"
    bad.loc[k - 10, "status"] = "unknown"
    bad.loc[k - 3, "status"] = "nonsense"  # duplicate id and bad status: the id check wins
    bad.loc[7, bad.geometry.name] = None
    return bad


def _zones() -> gpd.GeoDataFrame:
    span = N * CELL
    geoms = [
        shapely.box(X0 + 110, Y0 + 130, X0 + span * 0.6, Y0 + span * 0.45),  # crosses parcels
        shapely.box(X0 + span * 0.6, Y0 + 130, X0 + span - 20, Y0 + span * 0.45),
        shapely.box(X0 - 10, Y0 - 10, X0 + span * 0.5 + 25, Y0 + span + 10),
    ]
    return gpd.GeoDataFrame(
        {
            "zone_id": ["Z1", "Z2", "Z3"],
            "kind": ["valley", "valley", "basin"],
            "name": ["川一", "川二", "流域"],
        },
        geometry=geoms,
        crs=GK,
    ).to_crs("EPSG:4490")


def _basic() -> gpd.GeoDataFrame:
    span = N * CELL
    return gpd.GeoDataFrame(
        {"zone_id": ["B1", "B2"]},
        geometry=[
            shapely.Point(X0 + span * 0.3, Y0 + span * 0.7).buffer(260),
            shapely.box(X0 + span * 0.7, Y0, X0 + span, Y0 + span * 0.3),
        ],
        crs=GK,
    ).to_crs("EPSG:4490")


@pytest.fixture(scope="module")
def client():
    with par.client_for(workers=2, processes=False) as c:
        yield c


# ----------------------------------------------------------------------------- Hilbert, storage


def test_hilbert_index_order_1_and_curve_is_continuous():
    # order 1: the four quadrants in the canonical U shape
    d = par.hilbert_index(
        np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0, 1.0, 0.0]), bounds=(0, 0, 1, 1), level=1
    )
    assert d.tolist() == [0, 1, 2, 3]
    # order 4: every cell once, and consecutive positions are neighbouring cells
    n = 16
    gx, gy = np.meshgrid(np.arange(n), np.arange(n))
    d = par.hilbert_index(
        gx.ravel().astype(float), gy.ravel().astype(float), bounds=(0, 0, n - 1, n - 1), level=4
    )
    assert sorted(d.tolist()) == list(range(n * n))
    order = np.argsort(d)
    steps = np.abs(np.diff(gx.ravel()[order])) + np.abs(np.diff(gy.ravel()[order]))
    assert (steps == 1).all()


def test_write_and_read_partitioned(tmp_path):
    gdf = _farmland(10)
    path = par.write_partitioned(gdf, tmp_path / "farmland.parquet", npartitions=3, sort=False)
    files = sorted(path.glob("*.parquet"))
    assert [f.name for f in files] == [
        "part.00000.parquet",
        "part.00001.parquet",
        "part.00002.parquet",
    ]
    ddf = par.read_partitioned(path)
    assert ddf.npartitions == 3
    back = ddf.compute().reset_index(drop=True)
    assert back["parcel_id"].tolist() == gdf["parcel_id"].tolist()
    assert shapely.equals_exact(back.geometry.values, gdf.geometry.values, tolerance=0).all()
    # rewriting replaces the folder atomically; sorted: the same rows, spatially ordered
    par.write_partitioned(gdf, path, rows_per_partition=40)
    again = gpd.read_parquet(path)
    assert len(list(path.glob("*.parquet"))) == 3
    assert sorted(again["parcel_id"]) == sorted(gdf["parcel_id"])
    assert par.is_geoparquet(path) and not par.is_geoparquet(tmp_path / "none.parquet")
    with pytest.raises(LayerError):
        par.read_partitioned(tmp_path / "none.parquet")


def test_hilbert_sorted_partitions_are_compact(tmp_path):
    gdf = _farmland(N)
    path = par.write_partitioned(gdf, tmp_path / "f.parquet", npartitions=4)
    ddf = par.read_partitioned(path)
    # each of the 4 partitions covers about a quarter of the square, not a strip of rows
    boxes = ddf.spatial_partitions.to_crs(GK)
    whole = shapely.box(*boxes.total_bounds).area
    assert max(shapely.box(*g.bounds).area for g in boxes) < 0.4 * whole


# ----------------------------------------------------------------------------- analyses


@pytest.mark.parametrize("use_client", [False, True])
def test_area_totals_equal_single_machine(use_client, request):
    if use_client:
        request.getfixturevalue("client")
    farmland = parcel_areas(validate_layer(_farmland(), "farmland")[0])
    villages = pd.DataFrame({"village_id": ["V01", "V02"], "name": ["一村", "二村"]})
    single = area_totals(farmland, villages, by=["status"])
    parted = par.area_totals(
        farmland.drop(columns=["area_m2"]), villages, by=["status"], npartitions=5
    )
    pd.testing.assert_frame_equal(single, parted)
    # and the total is the grid's area: 576 cells of 50 m x 50 m (Gauss-Kruger scale error < 1e-4)
    total_m2 = parted["area_mu"].iloc[-1] * 10000 / 15
    assert total_m2 == pytest.approx(N * N * CELL * CELL, rel=1e-4)
    by_project = par.group_totals(farmland, ["project"], npartitions=3)
    pd.testing.assert_frame_equal(group_totals(farmland, ["project"]), by_project)


def test_zone_and_basic_farmland_totals_and_pieces_equal(client):
    farmland = parcel_areas(validate_layer(_farmland(), "farmland")[0])
    zones, basic = _zones(), _basic()
    pd.testing.assert_frame_equal(
        zone_totals(farmland, zones), par.zone_totals(farmland, zones, npartitions=4)
    )
    pd.testing.assert_frame_equal(
        basic_farmland_totals(farmland, basic),
        par.basic_farmland_totals(farmland, basic, npartitions=4),
    )
    single = area_by_zone(farmland, zones)
    parted = par.area_by_zone(farmland, zones, npartitions=4)
    pd.testing.assert_frame_equal(single, parted, rtol=1e-9)


def test_validation_across_partitions_matches_single_machine(client):
    bad = _bad(_farmland())
    used1, prob1 = validate_layer(bad, "farmland")
    used2, prob2, counts = par.validate_partitioned(bad, "farmland", npartitions=4)
    pd.testing.assert_frame_equal(prob1.reset_index(drop=True), prob2, check_dtype=False)
    assert used2["parcel_id"].tolist() == used1["parcel_id"].tolist()
    assert counts == {
        "layer": "farmland",
        "read": len(bad),
        "used": len(used1),
        "repaired": 0,
        "rejected": len(prob1),
    }
    reasons = dict(zip(prob2["row"], prob2["reason"]))
    assert reasons[len(bad) - 3] == "编号重复 / duplicate id (first at row 2)"
    assert reasons[41] == "编号重复 / duplicate id (first at row 40)"


def test_areas_report_equals_the_single_machine_tables(client):
    bad = _bad(_farmland())
    zones, basic = _zones(), _basic()
    used, prob = validate_layer(bad, "farmland")
    farmland = parcel_areas(used)
    rep = par.areas_report(bad, zones=zones, basic_farmland=basic, by="status", npartitions=4)
    pd.testing.assert_frame_equal(area_totals(farmland, None, by=["status"]), rep.main)
    pd.testing.assert_frame_equal(zone_totals(farmland, zones), rep.by_zone)
    pd.testing.assert_frame_equal(basic_farmland_totals(farmland, basic), rep.basic_farmland)
    proj = farmland[farmland["project"].notna()]
    pd.testing.assert_frame_equal(group_totals(proj, ["project"]), rep.by_project)
    pd.testing.assert_frame_equal(prob.reset_index(drop=True), rep.problems, check_dtype=False)
    assert rep.partitions == 4
    assert rep.counts["read"] == len(bad) and rep.counts["used"] == len(used)


def test_areas_report_from_partitioned_parquet_and_geopackage(tmp_path, client):
    gdf = _farmland()
    pq = par.write_partitioned(gdf, tmp_path / "farmland.parquet", npartitions=3)
    gpkg = tmp_path / "town.gpkg"
    gdf.to_file(gpkg, layer="farmland", engine="pyogrio")
    single = area_totals(parcel_areas(validate_layer(gdf, "farmland")[0]), None, by=["status"])
    from_pq = par.areas_report(pq, by="status")
    from_gpkg = par.areas_report(gpkg, layer="farmland", by="status", npartitions=3)
    pd.testing.assert_frame_equal(single, from_pq.main)
    pd.testing.assert_frame_equal(single, from_gpkg.main)
    assert from_pq.partitions == 3 and from_gpkg.partitions == 3


def test_areas_report_read_options_map_fields(tmp_path):
    gdf = _farmland(8).rename(columns={"parcel_id": "地块编码", "status": "状态"})
    pq = par.write_partitioned(gdf, tmp_path / "f.parquet", npartitions=2, sort=False)
    rep = par.areas_report(pq, read_options={"fields": {"地块编码": "parcel_id", "状态": "status"}})
    expect = area_totals(parcel_areas(validate_layer(_farmland(8), "farmland")[0]), None)
    pd.testing.assert_frame_equal(expect, rep.main)


def test_zonal_stats_per_partition_equal(tmp_path, client):
    import rasterio
    from rasterio.transform import from_origin

    from gis_town.raster import zonal_stats

    n = 64
    cell = 25.0
    values = np.add.outer(np.arange(n), np.arange(n)).astype("float32")  # row + col
    dem = tmp_path / "dem.tif"
    with rasterio.open(
        dem,
        "w",
        driver="GTiff",
        width=n,
        height=n,
        count=1,
        dtype="float32",
        crs=GK,
        transform=from_origin(X0 - 100, Y0 + n * cell - 100, cell, cell),
        nodata=-9999,
    ) as dst:
        dst.write(values, 1)
    farmland = _farmland()
    single = zonal_stats(farmland, dem, stats=("mean", "min", "max"))
    parted = par.zonal_stats(farmland, dem, stats=("mean", "min", "max"), npartitions=4)
    pd.testing.assert_frame_equal(single, parted.loc[single.index], rtol=1e-9)
    pq = par.write_partitioned(farmland, tmp_path / "f.parquet", npartitions=3, sort=False)
    from_pq = par.zonal_stats(pq, dem, stats=("mean",))
    assert from_pq.index.tolist() == list(range(len(farmland)))
    np.testing.assert_allclose(from_pq["mean"].to_numpy(), single["mean"].to_numpy(), rtol=1e-9)


# ----------------------------------------------------------------------------- cluster and CLI


def test_client_for_defaults_and_errors():
    with par.client_for() as c:
        assert c is None
    with pytest.raises(InputError):
        with par.client_for(workers=0):
            pass
    with pytest.raises(InputError, match="Dask"):
        with par.client_for(scheduler="tcp://127.0.0.1:9", timeout="1s"):
            pass


def test_dask_options_fall_back_to_config(tmp_path):
    from gis_town.cli.partitioned import dask_options, dask_requested

    (tmp_path / "town.toml").write_text("[dask]\nworkers = 3\n", encoding="utf-8")
    args = argparse.Namespace(town=tmp_path, config=None, scheduler=None, workers=None)
    assert dask_options(args) == (None, 3) and dask_requested(args)
    args.workers = 2
    assert dask_options(args) == (None, 2)
    (tmp_path / "other").mkdir()
    plain = argparse.Namespace(
        town=tmp_path / "other" / "town.gpkg", config=None, scheduler=None, workers=None
    )
    assert not dask_requested(plain)


def test_cli_areas_with_workers_writes_the_same_files(tmp_path):
    from gis_town.cli import main

    town = tmp_path / "town.gpkg"
    _bad(_farmland()).to_file(town, layer="farmland", engine="pyogrio")
    gpd.GeoDataFrame(
        {"village_id": ["V01", "V02"], "name": ["一村", "二村"]},
        geometry=[
            shapely.box(X0, Y0, X0 + 600, Y0 + 1200),
            shapely.box(X0 + 600, Y0, X0 + 1200, Y0 + 1200),
        ],
        crs=GK,
    ).to_crs("EPSG:4490").to_file(town, layer="villages", engine="pyogrio")
    _zones().to_file(town, layer="zones", engine="pyogrio")
    _basic().to_file(town, layer="basic_farmland", engine="pyogrio")
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["areas", str(town), "--out", str(one)]) == 0
    assert main(["areas", str(town), "--out", str(two), "--workers", "2"]) == 0
    names = sorted(p.name for p in one.glob("*.csv"))
    assert names == [
        "areas.csv",
        "areas_basic_farmland.csv",
        "areas_by_project.csv",
        "areas_by_zone.csv",
        "rejects.csv",
    ]
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    assert (two / "areas.xlsx").exists()
    rejects = pd.read_csv(two / "rejects.csv", encoding="utf-8-sig")
    assert len(rejects) == 5
    assert main(["areas", str(town), "--out", str(tmp_path / "bad"), "--workers", "0"]) == 2


# ----------------------------------------------------------------------------- patrols


def _patrols(demo_town) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The demo town's patrol points with bad rows planted, and its rivers."""
    pts = gpd.read_file(demo_town, layer="patrols")
    rivers = gpd.read_file(demo_town, layer="rivers")
    pts.loc[5, "chief"] = None  # rejected by validation (required field)
    pts.loc[10, pts.geometry.name] = None  # rejected by validation (null geometry)
    pts.loc[20, "time"] = pd.NaT  # rejected by the patrol analysis (no time)
    pts.loc[len(pts) - 5, "point_id"] = pts.loc[3, "point_id"]  # duplicate id, other partition
    return pts, rivers


def _assert_patrols_equal(a, b) -> None:
    for name in ("segments", "periods", "chiefs", "villages", "intervals", "trip_segments"):
        pd.testing.assert_frame_equal(
            getattr(a, name).reset_index(drop=True), getattr(b, name).reset_index(drop=True)
        )
    pd.testing.assert_frame_equal(a.trips, b.trips, check_categorical=False)
    pd.testing.assert_frame_equal(a.problems, b.problems, check_dtype=False)
    assert a.gaps.geometry.geom_equals_exact(b.gaps.geometry, 1e-6).all()
    assert a.summary == b.summary


@pytest.mark.parametrize("how", ["frame", "parquet"])
def test_patrols_per_partition_equal_single_machine(demo_town, tmp_path, client, how):
    from gis_town.analysis.patrol import analyze_patrols

    pts, rivers = _patrols(demo_town)
    # the chiefs in reverse order: the groups' trips do not come in the final order
    by_chief = [g for _, g in pts.groupby(pts["chief_id"].fillna(""), sort=True)][::-1]
    whole = pd.concat(by_chief).reset_index(drop=True)
    used, vprob = validate_layer(whole, "patrols")
    single = analyze_patrols(used, rivers, as_of="2023-10-31")
    assert len(single.problems) == 1  # the fix without a time
    assert whole.loc[single.problems["row"].iloc[0], "time"] is pd.NaT
    if how == "frame":  # 4 slices of a frame: chiefs span slices, grouped
        data = pd.concat(by_chief)
    else:  # one partition per chief's points, as a county stores them
        data = par.write_partitioned(by_chief, tmp_path / "patrols.parquet", sort=False)
    src = par.partitions(data, npartitions=4)
    groups = par._chief_groups(src)
    if how == "frame":  # every slice boundary cuts a chief's points: one group
        assert len(src.parts) == 4 and groups == [[0, 1, 2, 3]]
    else:
        assert len(groups) == len(src.parts) == 18
    res, prob, counts = par.analyze_patrols(data, rivers, as_of="2023-10-31", npartitions=4)
    _assert_patrols_equal(single, res)
    pd.testing.assert_frame_equal(prob, vprob, check_dtype=False)  # the same rows, reasons
    assert counts["read"] == len(pts) and counts["used"] == len(used)
    assert counts["rejected"] == len(vprob)


def test_chief_groups_merge_partitions_sharing_a_chief():
    pts = pd.DataFrame(
        {"chief": ["a", "a", "b", "c", "c", "d", "a"], "chief_id": [None] * 7},
    )
    pts = gpd.GeoDataFrame(pts, geometry=shapely.points(np.zeros((7, 2))), crs=4490)
    dask = pytest.importorskip("dask")
    # slices [0,1] [2] [3,4] [5,6]: a is in the first and last, b, c alone
    src = par.Partitions([dask.delayed(pts.iloc[a:b]) for a, b in ((0, 2), (2, 3), (3, 5), (5, 7))])
    assert par._chief_groups(src) == [[0, 3], [1], [2]]


def test_cli_patrol_with_workers_writes_the_same_files(demo_town, tmp_path):
    from gis_town.cli import main

    pts, rivers = _patrols(demo_town)
    town = tmp_path / "town"
    town.mkdir()
    rivers.to_file(town / "rivers.gpkg", engine="pyogrio")
    gpd.read_file(demo_town, layer="villages").to_file(town / "villages.gpkg", engine="pyogrio")
    by_chief = [g for _, g in pts.groupby(pts["chief_id"].fillna(""), sort=True)]
    par.write_partitioned(by_chief, town / "patrols.parquet", sort=False)
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["patrol", str(town), "--out", str(one), "--as-of", "2023-10-31"]) == 0
    argv = ["patrol", str(town), "--out", str(two), "--as-of", "2023-10-31", "--workers", "2"]
    assert main(argv) == 0
    names = sorted(p.name for p in one.glob("*.csv"))
    assert "patrol_segments.csv" in names and "rejects.csv" in names
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    rejects = pd.read_csv(two / "rejects.csv", encoding="utf-8-sig")
    assert len(rejects) == 4  # blank chief, null geometry, duplicate id, no time
    assert (two / "patrol_report.xlsx").exists() and (two / "patrol_gaps.gpkg").exists()


def test_chief_groups_tell_chiefs_apart_by_id_first():
    # two chiefs named 王伟 with their own ids do not tie their partitions together;
    # a chief without an id is known by name
    pts = gpd.GeoDataFrame(
        {
            "chief": ["王伟", "王伟", " 李强", "李强"],
            "chief_id": ["C1", "C2", None, " "],
        },
        geometry=shapely.points(np.zeros((4, 2))),
        crs=4490,
    )
    dask = pytest.importorskip("dask")
    src = par.Partitions([dask.delayed(pts.iloc[i : i + 1]) for i in range(4)])
    assert par._chief_groups(src) == [[0], [1], [2, 3]]
