"""Benchmark: the partitioned (Dask) path on 1 and 2 workers, against one process.

Data: the synthetic county's partitioned GeoParquet (:mod:`county`:
``farmland.parquet/`` in Hilbert-sorted partitions of 50,000 parcels).

Workloads, each run three ways:

- **one process**: the single-machine path (what ``gis-town areas`` does
  without ``--workers``): read everything, validate, compute.
- **Dask, 1 worker** and **Dask, 2 workers**: :mod:`gis_town.parallel` on a
  ``LocalCluster`` of worker processes (1 thread each). Each worker reads its
  own partitions; the driver gets partial sums only.

1. *area report*: validated farmland, ellipsoidal areas, balanced totals by
   village and status, by zone (true intersection with the 30 zones) and
   inside/outside basic farmland (``gis_town.parallel.areas_report`` vs
   ``load_town`` + ``area_totals`` + ``zone_totals`` + ``basic_farmland_totals``).
   The results are compared: the note says whether the tables are equal.
2. *zonal statistics*: mean/min/max elevation of every parcel on the DEM
   (``gis_town.parallel.zonal_stats``: each partition reads only its window
   of the 10,000 x 10,000 DEM).
3. *patrol coverage*: the 10 million patrol points (``patrols.parquet/``,
   20 partitions written by chief) validated, split into trips and matched
   to the 2,000 km of river in the workers
   (``gis_town.parallel.analyze_patrols``), the tables built in the driver,
   vs ``load_town`` + ``analyze_patrols`` (what ``gis-town patrol`` does
   without ``--workers``). The segment tables and summaries are compared.

The wall time of the Dask rows is the computation on a running cluster
(starting a local cluster and importing the modules in its workers, a few seconds,
is given in the note); peak MB is the
whole process tree (driver and workers); the note gives the largest worker.
The scaling 1 -> 2 workers is the ratio of the two Dask rows (the machine
has 2 cores).

Run::

    python benchmarks/bench_dask.py --size town
    python benchmarks/bench_dask.py --size county
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Measurement, Row, bench_cli, compare, measure
from county import make_county

SMALL_LAYERS = ["villages", "zones", "basic_farmland"]


def _warm() -> None:
    """Import the analysis modules in a worker (a running cluster has them loaded after its first job)."""
    import gis_town.analysis.areas
    import gis_town.analysis.overlay
    import gis_town.io.validate
    import gis_town.parallel
    import gis_town.raster  # noqa: F401


class _WorkerPeak:
    """Peak RSS (MB) of the largest child process (a Dask worker), sampled in a thread."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        me = psutil.Process(os.getpid())
        while not self._stop.is_set():
            for ch in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    self.peak_mb = max(self.peak_mb, ch.memory_info().rss / 2**20)
            self._stop.wait(0.1)

    def __enter__(self) -> _WorkerPeak:
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def _tables_equal(a, b) -> bool:
    import pandas as pd

    if a is None or b is None:
        return a is None and b is None
    try:
        pd.testing.assert_frame_equal(
            a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, rtol=1e-9
        )
    except AssertionError:
        return False
    return True


def report_single(town_dir: str) -> dict:
    """The single-machine path: load (validated), areas, totals by village/status, zone, basic farmland."""
    from gis_town.analysis.areas import (
        area_totals,
        basic_farmland_totals,
        parcel_areas,
        zone_totals,
    )
    from gis_town.io import load_town

    town = load_town(
        town_dir, layers=["villages", "farmland", "zones", "basic_farmland"], required=("farmland",)
    )
    farmland = parcel_areas(town.layer("farmland"))
    return {
        "features": len(farmland),
        "main": area_totals(farmland, town.layers.get("villages"), by=["status"]),
        "zones": zone_totals(farmland, town.layer("zones")),
        "basic": basic_farmland_totals(farmland, town.layer("basic_farmland")),
    }


def report_dask(town_dir: str, workers: int) -> dict:
    """The partitioned path on a local cluster of ``workers`` processes."""
    from gis_town.io import load_town
    from gis_town.parallel import areas_report, client_for

    small = load_town(town_dir, layers=SMALL_LAYERS)
    t0 = time.perf_counter()
    with _WorkerPeak() as wp, client_for(workers=workers) as client:
        client.wait_for_workers(workers)
        client.run(_warm)
        t1 = time.perf_counter()
        rep = areas_report(
            str(Path(town_dir) / "farmland.parquet"),
            villages=small.layers.get("villages"),
            zones=small.layer("zones"),
            basic_farmland=small.layer("basic_farmland"),
            by="status",
        )
        t2 = time.perf_counter()
    return {
        "features": rep.counts["read"],
        "compute_s": t2 - t1,
        "startup_s": t1 - t0,
        "worker_mb": wp.peak_mb,
        "partitions": rep.partitions,
        "main": rep.main,
        "zones": rep.by_zone,
        "basic": rep.basic_farmland,
    }


def zonal_single(parquet: str, dem: str) -> dict:
    import geopandas as gpd

    from gis_town.raster import zonal_stats

    farmland = gpd.read_parquet(parquet, columns=["parcel_id", "geometry"])
    z = zonal_stats(farmland, dem, stats=("mean", "min", "max"), prefix="elev_")
    return {"features": len(z), "mean": float(z["elev_mean"].mean())}


def zonal_dask(parquet: str, dem: str, workers: int) -> dict:
    from gis_town.parallel import client_for, read_partitioned, zonal_stats

    t0 = time.perf_counter()
    with _WorkerPeak() as wp, client_for(workers=workers) as client:
        client.wait_for_workers(workers)
        client.run(_warm)
        t1 = time.perf_counter()
        z = zonal_stats(
            read_partitioned(parquet, columns=["parcel_id", "geometry"]),
            dem,
            stats=("mean", "min", "max"),
            prefix="elev_",
        )
        t2 = time.perf_counter()
    return {
        "features": len(z),
        "mean": float(z["elev_mean"].mean()),
        "compute_s": t2 - t1,
        "startup_s": t1 - t0,
        "worker_mb": wp.peak_mb,
    }


def patrol_single(town_dir: str) -> dict:
    """The one-process path of ``gis-town patrol``: load the town (validated), analyse."""
    from gis_town.analysis.patrol import analyze_patrols
    from gis_town.io import load_town

    town = load_town(town_dir, layers=["rivers", "villages", "patrols"], required=("patrols",))
    res = analyze_patrols(
        town.layer("patrols"), town.layer("rivers"), config=town.config, gk_crs=town.gk_crs
    )
    return {"features": res.summary["points"], "segments": res.segments, "summary": res.summary}


def patrol_dask(town_dir: str, workers: int) -> dict:
    """``gis-town patrol --workers N``: the points read, validated and matched in the workers."""
    from gis_town.io import load_town
    from gis_town.parallel import analyze_patrols, client_for

    small = load_town(town_dir, layers=["rivers", "villages"])
    t0 = time.perf_counter()
    with _WorkerPeak() as wp, client_for(workers=workers) as client:
        client.wait_for_workers(workers)
        client.run(_warm)
        t1 = time.perf_counter()
        res, _, _ = analyze_patrols(
            str(Path(town_dir) / "patrols.parquet"),
            small.layer("rivers"),
            config=small.config,
            gk_crs=small.gk_crs,
        )
        t2 = time.perf_counter()
    return {
        "features": res.summary["points"],
        "segments": res.segments,
        "summary": res.summary,
        "compute_s": t2 - t1,
        "startup_s": t1 - t0,
        "worker_mb": wp.peak_mb,
    }


def _compute_only(m: Measurement) -> Measurement:
    return Measurement(
        wall_s=m.value["compute_s"], peak_rss_mb=m.peak_rss_mb, features=m.features, value=m.value
    )


def _rows(
    workload: str, size: str, single: Measurement, d1: Measurement, d2: Measurement, extra: str
) -> list[Row]:
    d1c, d2c = _compute_only(d1), _compute_only(d2)
    scaling = d1c.wall_s / d2c.wall_s
    rows = compare(
        workload,
        size,
        d2c,
        single,
        ours_name="Dask, 2 workers",
        baseline_name="one process (no Dask)",
        note=f"1->2 workers: {scaling:.2f}x; worker peak {d2.value['worker_mb']:,.0f} MB; "
        f"cluster start {d2.value['startup_s']:.1f} s{extra}",
    )
    rows[1:1] = compare(
        workload,
        size,
        d1c,
        single,
        ours_name="Dask, 1 worker",
        note=f"worker peak {d1.value['worker_mb']:,.0f} MB",
    )[:1]
    return rows


def main(size: str = "town", *, zonal: bool = True, patrol: bool = True) -> list[Row]:
    """Run the workloads at ``size`` on one process, 1 and 2 Dask workers; return the rows."""
    parts = ["vector"] + (["dem"] if zonal else []) + (["patrols"] if patrol else [])
    c = make_county(size, parts=parts)
    n = c.counts["farmland"]
    town_dir = str(c.town_dir("parquet"))
    single = measure(report_single, town_dir, features=n)
    d1 = measure(report_dask, town_dir, 1, features=n)
    d2 = measure(report_dask, town_dir, 2, features=n)
    equal = all(
        _tables_equal(single.value[k], d.value[k])
        for d in (d1, d2)
        for k in ("main", "zones", "basic")
    )
    rows = _rows(
        "area report (validated, zones, basic farmland)",
        size,
        single,
        d1,
        d2,
        f"; {d2.value['partitions']} partitions; tables {'EQUAL' if equal else 'DIFFER'} to one process",
    )
    if zonal:
        pq, dem = str(c.parquet("farmland")), str(c.dem)
        zs = measure(zonal_single, pq, dem, features=n)
        z1 = measure(zonal_dask, pq, dem, 1, features=n)
        z2 = measure(zonal_dask, pq, dem, 2, features=n)
        same = abs(zs.value["mean"] - z2.value["mean"]) <= 1e-9 * abs(zs.value["mean"])
        rows += _rows(
            "zonal stats per partition (DEM)",
            size,
            zs,
            z1,
            z2,
            f"; mean elevation {'equal' if same else 'DIFFERS'}",
        )
    if patrol:
        n_pts = c.counts["patrols"]
        ps = measure(patrol_single, town_dir, features=n_pts)
        p1 = measure(patrol_dask, town_dir, 1, features=n_pts)
        p2 = measure(patrol_dask, town_dir, 2, features=n_pts)
        same = all(
            _tables_equal(ps.value["segments"], p.value["segments"])
            and ps.value["summary"] == p.value["summary"]
            for p in (p1, p2)
        )
        rows += _rows(
            "patrol coverage (validated, per chief group)",
            size,
            ps,
            p1,
            p2,
            f"; segment tables and summary {'EQUAL' if same else 'DIFFER'} to one process",
        )
        for m in (ps, p1, p2):
            m.value.pop("segments", None)
            m.value.pop("summary", None)
    for m in (d1, d2):
        for k in ("main", "zones", "basic"):
            m.value.pop(k, None)
    return rows


if __name__ == "__main__":
    raise SystemExit(bench_cli(main))
