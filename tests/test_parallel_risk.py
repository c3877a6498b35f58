"""The abandonment risk per partition (Dask) gives the one-process scores, classes and lists.

The demo town's farmland (5,078 parcels, DEM, two NDVI years, roads,
settlements) is scored by :func:`gis_town.parallel.risk_scored` in 4
partitions on a LocalCluster of 2 worker processes and compared with
``risk_score(parcel_factors(...))`` in one process: every column to the
last bit, the same order, the normalisation table and the attributes; then
the village table and the visit list built from each. A copy with bad rows
(an id repeated in another partition, an unknown status) checks that the
validation problems are the one-process ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask_geopandas")
pytest.importorskip("distributed")

from gis_town import parallel as par
from gis_town.analysis.risk import (
    parcel_factors,
    risk_score,
    village_summary,
    visit_list,
)
from gis_town.config import config_for
from gis_town.io import load_town
from gis_town.parallel.sources import layer_source

SMALL = ["villages", "roads", "settlements"]


@pytest.fixture(scope="module")
def cluster():
    with par.client_for(workers=2) as client:  # worker processes, as --workers 2
        yield client


@pytest.fixture(scope="module")
def demo(demo_town):
    cfg = config_for(demo_town, None)
    town = load_town(demo_town, cfg, layers=["villages", "farmland", "roads", "settlements"])
    return cfg, town


def _one_process(town, cfg, farmland=None):
    factors = parcel_factors(
        town.layer("farmland") if farmland is None else farmland,
        villages=town.layers.get("villages"),
        roads=town.layers.get("roads"),
        settlements=town.layers.get("settlements"),
        dem=cfg.dem_path(),
        ndvi=cfg.ndvi_paths(),
        year=cfg.town.year,
        gk_crs=town.gk_crs,
    )
    return risk_score(factors, cfg.risk)


def _partitioned(data, town, cfg, **kw):
    return par.risk_scored(
        data,
        villages=town.layers.get("villages"),
        roads=town.layers.get("roads"),
        settlements=town.layers.get("settlements"),
        dem=cfg.dem_path(),
        ndvi=cfg.ndvi_paths(),
        year=cfg.town.year,
        gk_crs=town.gk_crs,
        risk=cfg.risk,
        npartitions=4,
        **kw,
    )


def _assert_scored_equal(one, two):
    assert list(one.columns) == list(two.columns)
    pd.testing.assert_frame_equal(
        pd.DataFrame(one.drop(columns=one.geometry.name)),
        pd.DataFrame(two.drop(columns=two.geometry.name)),
        check_exact=True,
    )
    assert one.geometry.equals(two.geometry)
    assert one.crs == two.crs
    assert sorted(one.attrs) == sorted(two.attrs)
    for key, value in one.attrs.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value, two.attrs[key], check_exact=True)
        else:
            assert value == two.attrs[key], key


@pytest.fixture(scope="module")
def scored(demo, demo_town, cluster):
    """The demo town scored in one process, and per partition from its GeoPackage."""
    cfg, town = demo
    path, layer, opts = layer_source(Path(demo_town), cfg, "farmland")
    return _one_process(town, cfg), _partitioned(path, town, cfg, read_options=opts, layer=layer)


def test_risk_per_partition_equals_one_process(demo, scored):
    cfg, town = demo
    one, (two, problems, counts) = scored
    _assert_scored_equal(one, two)
    assert len(problems) == 0
    assert counts == {"layer": "farmland", "read": 5078, "used": 5078, "repaired": 0, "rejected": 0}
    # the lists are built from the scored parcels: the same lists
    pd.testing.assert_frame_equal(
        village_summary(one, town.layers.get("villages")),
        village_summary(two, town.layers.get("villages")),
        check_exact=True,
    )
    size = cfg.risk.visit_list_size
    a = visit_list(one, size=size, villages=town.layers.get("villages"))
    b = visit_list(two, size=size, villages=town.layers.get("villages"))
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.drop(columns="listed_date", errors="ignore")),
        pd.DataFrame(b.drop(columns="listed_date", errors="ignore")),
    )
    assert len(a) > 0


def test_normalisation_uses_the_whole_layer(demo, scored):
    cfg, town = demo
    farmland = town.layer("farmland")
    two = scored[1][0]
    table = two.attrs["normalisation"].set_index("factor")
    # the bounds are the 2 % and 98 % quantiles over every parcel, computed here independently
    area = two["area_mu"].to_numpy()
    lo, hi = np.quantile(area[np.isfinite(area)], [0.02, 0.98])
    assert table.loc["area_mu", "lo"] == lo and table.loc["area_mu", "hi"] == hi
    assert table.loc["area_mu", "parcels_with_value"] == len(farmland)
    # a quarter of the town scored alone normalises differently: the global bounds matter
    quarter = _one_process(town, cfg, farmland.iloc[: len(farmland) // 4])
    own = two["score"].to_numpy()[: len(quarter)]
    assert not np.allclose(quarter["score"].to_numpy(), own)


def test_validation_problems_are_the_one_process_ones(demo, demo_town, tmp_path, cluster):
    from gis_town.io.validate import validate_layer

    cfg, town = demo
    raw = load_town(demo_town, cfg, layers=["farmland"]).layer("farmland").iloc[:1200].copy()
    raw = raw.reset_index(drop=True)
    raw.loc[1100, "parcel_id"] = raw.loc[3, "parcel_id"]  # repeated in another partition
    raw.loc[50, "status"] = "bogus"
    gpkg = tmp_path / "farmland.gpkg"
    raw.to_file(gpkg, layer="farmland", engine="pyogrio")
    used, vprob = validate_layer(raw, "farmland")
    one = _one_process(town, cfg, used)
    two, problems, counts = _partitioned(gpkg, town, cfg, layer="farmland")
    for d in (one, two):  # read from different files
        d.attrs.pop("source", None), d.attrs.pop("source_layer", None)
    _assert_scored_equal(one, two)
    pd.testing.assert_frame_equal(problems, vprob, check_dtype=False)
    assert counts["read"] == 1200 and counts["used"] == len(used) == 1198  # both rejected
    assert counts["rejected"] == len(vprob[vprob["action"] == "rejected"])
    # validated parcels as a frame (validate=False): the frame's own index is kept
    three, none, _ = _partitioned(used, town, cfg, validate=False)
    three.attrs.pop("source", None), three.attrs.pop("source_layer", None)
    _assert_scored_equal(one, three)
    assert len(none) == 0
