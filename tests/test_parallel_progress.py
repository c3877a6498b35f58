"""Plan progress with the farmland per partition (Dask) gives the one-process topics.

The demo town (5,078 parcels, 6 demonstration-belt zones of three kinds,
three high-standard projects): its farmland read from the GeoPackage in 4
partitions on a LocalCluster of 2 worker processes, overlaid with the zones
in the workers; every topic's table, summary and details compared with
:func:`gis_town.analysis.progress.plan_progress` in one process, exactly
(areas included: each batch is measured at its one-process centre).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

pytest.importorskip("dask_geopandas")
pytest.importorskip("distributed")

from gis_town import parallel as par
from gis_town.analysis.progress import plan_progress
from gis_town.config import config_for
from gis_town.io import load_town
from gis_town.parallel.sources import layer_source
from gis_town.runners.progress import LAYERS

AS_OF = "2023-10-31"


@pytest.fixture(scope="module")
def cluster():
    with par.client_for(workers=2) as client:  # worker processes, as --workers 2
        yield client


@pytest.fixture(scope="module")
def demo(demo_town):
    cfg = config_for(demo_town, None)
    return cfg, load_town(demo_town, cfg, layers=LAYERS)


def _assert_topics_equal(one: dict, two: dict) -> None:
    assert list(one) == list(two)
    for key, a in one.items():
        b = two[key]
        assert (a.topic, a.label) == (b.topic, b.label)
        pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
        pd.testing.assert_frame_equal(a.summary, b.summary, check_exact=True)
        assert list(a.details) == list(b.details)
        for name, table in a.details.items():
            pd.testing.assert_frame_equal(table, b.details[name], check_exact=True)


def test_progress_per_partition_equals_one_process(demo, demo_town, cluster):
    cfg, town = demo
    one = plan_progress(town, AS_OF, config=cfg)
    small = load_town(demo_town, cfg, layers=[n for n in LAYERS if n != "farmland"])
    path, layer, opts = layer_source(Path(demo_town), cfg, "farmland")
    two, problems, counts = par.plan_progress(
        small, AS_OF, config=cfg, farmland=path, layer=layer, read_options=opts, npartitions=4
    )
    _assert_topics_equal(one, two)
    assert len(problems) == 0 and counts["read"] == counts["used"] == 5078
    # independently: the parcels inside each kind's zones (true intersection, Gauss-Kruger)
    farmland = town.layer("farmland").to_crs("EPSG:4544")
    zones = town.layer("zones").to_crs("EPSG:4544")
    table = two["zones"].table
    for kind, zk in zones.groupby("kind"):
        inter = shapely.intersection(
            farmland.geometry.values, shapely.union_all(zk.geometry.values)
        )
        n = int((shapely.area(inter) > 0).sum())
        total = table[(table["kind"] == kind) & (table["zone_id"] == "合计")]
        assert total["parcels"].iloc[0] == n, kind
    hs = two["high_standard"].table
    assert set(cfg.targets.high_standard) <= set(hs["project"])


def test_progress_from_a_frame_of_validated_parcels(demo, demo_town, cluster):
    cfg, town = demo
    farmland = town.layer("farmland")
    part = farmland.iloc[: len(farmland) // 3]
    one_town = load_town(demo_town, cfg, layers=LAYERS)
    one_town.layers["farmland"] = part
    one = plan_progress(one_town, AS_OF, config=cfg)
    small = load_town(demo_town, cfg, layers=[n for n in LAYERS if n != "farmland"])
    two, problems, counts = par.plan_progress(
        small, AS_OF, config=cfg, farmland=part, validate=False, npartitions=3
    )
    _assert_topics_equal(one, two)
    assert counts["used"] == len(part) and len(problems) == 0
    assert np.isfinite(two["zones"].table["area_mu"]).all()
