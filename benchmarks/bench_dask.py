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

4. *abandonment risk*: every factor of every parcel (slope and elevation
   from the DEM per partition window, distances to roads and the village's
   settlement, shape, years idle), the score (normalised by quantiles over
   the whole layer), the village table and the visit list
   (``gis_town.parallel.risk_scored`` then the lists in the driver, vs
   ``load_town`` + ``parcel_factors`` + ``risk_score`` + the lists). The
   scores, classes and village table are compared.
5. *plan progress*: the demonstration belts (every parcel intersected with
   the 30 zones, per zone and per kind) and the high-standard projects
   (``gis_town.parallel.plan_progress`` vs ``plan_progress``); every table
   compared.
6. *acceptance check*: every parcel checked as a plot with the
   ``high_standard`` rules (validity, duplicate ids, overlaps, slivers,
   declared area, slope on the DEM, road access, basic farmland, river
   buffer, attributes) against the county's layers
   (``gis_town.parallel.check_partitioned`` vs ``run_rules`` +
   ``summarize``); the summary and results compared.

Risk, progress and check at ``--size county`` run on 200,000 parcels
(``county x0.2``, :data:`TOPIC_COUNTY_SCALE`: what a 2-core machine checks in a
few minutes each; the area, zonal and patrol rows use the full county).

The wall time of the Dask rows is the computation on a running cluster
(starting a local cluster and importing the modules in its workers, a few seconds,
is given in the note); peak MB is the
whole process tree (driver and workers); the note gives the largest worker.
The scaling 1 -> 2 workers is the ratio of the two Dask rows (the machine
has 2 cores).

Run::

    python benchmarks/bench_dask.py --size town
    python benchmarks/bench_dask.py --size county
    python benchmarks/bench_dask.py --size both --topics-only   # risk, progress, check rows
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

#: Scale of the risk, progress and check rows at ``--size county`` (200,000 parcels).
TOPIC_COUNTY_SCALE = 0.2

#: The as-of date of the progress rows.
AS_OF = "2023-10-31"


def _warm() -> None:
    """Import the analysis modules in a worker (a running cluster has them loaded after its first job)."""
    import gis_town.analysis.areas
    import gis_town.analysis.check
    import gis_town.analysis.overlay
    import gis_town.analysis.progress
    import gis_town.analysis.risk
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


def _digest(*arrays) -> str:
    """A short hash of arrays (exact bytes): equal digests, equal values."""
    import hashlib

    import numpy as np

    h = hashlib.sha1()
    for a in arrays:
        a = np.asarray(a)
        if a.dtype == object:  # the texts, not the addresses of the objects
            a = a.astype("U")
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _risk_outputs(scored, villages, cfg) -> dict:
    from gis_town.analysis.risk import village_summary, visit_list

    table = village_summary(scored, villages)
    visits = visit_list(scored, size=cfg.risk.visit_list_size, villages=villages)
    return {
        "features": len(scored),
        "scores": _digest(scored["score"].to_numpy(), scored["area_mu"].to_numpy()),
        "classes": scored["risk_class"].astype(str).value_counts().to_dict(),
        "villages": table,
        "visits": _digest(visits["parcel_id"].astype(str).to_numpy()),
    }


def risk_single(town_dir: str) -> dict:
    """``gis-town risk`` in one process: load (validated), every factor, score, the lists."""
    from gis_town.analysis.risk import parcel_factors, risk_score
    from gis_town.config import config_for
    from gis_town.io import load_town

    cfg = config_for(town_dir, None)
    town = load_town(
        town_dir,
        cfg,
        layers=["villages", "farmland", "roads", "settlements"],
        required=("farmland",),
    )
    villages = town.layers.get("villages")
    factors = parcel_factors(
        town.layer("farmland"),
        villages=villages,
        roads=town.layers.get("roads"),
        settlements=town.layers.get("settlements"),
        dem=cfg.dem_path(),
        year=cfg.town.year,
        gk_crs=town.gk_crs,
    )
    return _risk_outputs(risk_score(factors, cfg.risk), villages, cfg)


def risk_dask(town_dir: str, workers: int) -> dict:
    """The same with the parcels read, validated, measured and scored in the workers."""
    from gis_town.config import config_for
    from gis_town.io import load_town
    from gis_town.parallel import client_for, risk_scored

    cfg = config_for(town_dir, None)
    small = load_town(town_dir, cfg, layers=["villages", "roads", "settlements"])
    t0 = time.perf_counter()
    with _WorkerPeak() as wp, client_for(workers=workers) as client:
        client.wait_for_workers(workers)
        client.run(_warm)
        t1 = time.perf_counter()
        scored, _, _ = risk_scored(
            str(Path(town_dir) / "farmland.parquet"),
            villages=small.layers.get("villages"),
            roads=small.layers.get("roads"),
            settlements=small.layers.get("settlements"),
            dem=cfg.dem_path(),
            year=cfg.town.year,
            gk_crs=small.gk_crs,
            risk=cfg.risk,
        )
        out = _risk_outputs(scored, small.layers.get("villages"), cfg)
        t2 = time.perf_counter()
    out.update(compute_s=t2 - t1, startup_s=t1 - t0, worker_mb=wp.peak_mb)
    return out


_PROGRESS_LAYERS = ["villages", "farmland", "zones"]


def _progress_outputs(topics) -> dict:
    return {k: topics[k].table for k in ("zones", "high_standard")}


def progress_single(town_dir: str) -> dict:
    """``gis-town progress``'s farmland topics in one process: load (validated), overlay, tables."""
    from gis_town.analysis.progress import plan_progress
    from gis_town.io import load_town

    town = load_town(town_dir, layers=_PROGRESS_LAYERS, required=("farmland",))
    out = _progress_outputs(plan_progress(town, AS_OF))
    out["features"] = len(town.layer("farmland"))
    return out


def progress_dask(town_dir: str, workers: int) -> dict:
    """The same with the farmland read, validated and overlaid in the workers."""
    from gis_town.io import load_town
    from gis_town.parallel import client_for, plan_progress

    small = load_town(town_dir, layers=["villages", "zones"])
    t0 = time.perf_counter()
    with _WorkerPeak() as wp, client_for(workers=workers) as client:
        client.wait_for_workers(workers)
        client.run(_warm)
        t1 = time.perf_counter()
        topics, _, counts = plan_progress(
            small, AS_OF, farmland=str(Path(town_dir) / "farmland.parquet")
        )
        t2 = time.perf_counter()
    out = _progress_outputs(topics)
    out.update(features=counts["used"], compute_s=t2 - t1, startup_s=t1 - t0, worker_mb=wp.peak_mb)
    return out


def _check_inputs(town_dir: str):
    from gis_town.analysis.check import CheckContext, load_rule_set
    from gis_town.config import config_for
    from gis_town.io import load_town
    from gis_town.io.read import read_layer
    from gis_town.runners.check import context_layers

    cfg = config_for(town_dir, None)
    rules = load_rule_set("high_standard", cfg)
    town = load_town(town_dir, cfg, layers=context_layers(rules))
    plots = read_layer(Path(town_dir) / "farmland.gpkg")
    ctx = CheckContext(layers=dict(town.layers), dem=cfg.dem_path(), id_field="parcel_id")
    return plots, rules, ctx


def _check_outputs(results, summary) -> dict:
    import numpy as np

    overlay = results["rule"].isin(["redline", "river_buffer", "basic_farmland"]).to_numpy()
    texts = [results[c].astype(str).to_numpy().astype("U") for c in ("status", "message")]
    return {
        "features": len(summary),
        "summary": _digest(
            *(summary[c].astype(str).to_numpy().astype("U") for c in summary.columns)
        ),
        "results": _digest(*texts, results["value"].to_numpy()[~overlay]),
        "overlay_values": np.asarray(results["value"].to_numpy()[overlay]),
        "failed": int((~summary["passed"]).sum()),
    }


def check_single(town_dir: str) -> dict:
    """``gis-town check`` of every parcel in one process (the plots read, then every rule)."""
    from gis_town.analysis.check import prepare_plots, run_rules, summarize

    plots, rules, ctx = _check_inputs(town_dir)
    p = prepare_plots(plots, id_field=ctx.id_field)
    ctx.gk_crs = p.gk_crs
    res = run_rules(p, rules, context=ctx)
    return _check_outputs(res, summarize(res))


def check_dask(town_dir: str, workers: int) -> dict:
    """The same per partition of plots: per-plot rules in the workers, overlaps over the layer."""
    from gis_town.parallel import check_partitioned, client_for

    plots, rules, ctx = _check_inputs(town_dir)
    t0 = time.perf_counter()
    with _WorkerPeak() as wp, client_for(workers=workers) as client:
        client.wait_for_workers(workers)
        client.run(_warm)
        t1 = time.perf_counter()
        _, res, summary = check_partitioned(plots, rules, context=ctx)
        t2 = time.perf_counter()
    out = _check_outputs(res, summary)
    out.update(compute_s=t2 - t1, startup_s=t1 - t0, worker_mb=wp.peak_mb)
    return out


def _same_check(a: dict, b: dict) -> str:
    import numpy as np

    if a["summary"] != b["summary"] or a["results"] != b["results"]:
        return "DIFFER"
    x, y = a["overlay_values"], b["overlay_values"]
    both = np.isfinite(x) & np.isfinite(y)
    rel = np.abs(x[both] - y[both]) / np.maximum(np.abs(x[both]), 1e-12)
    worst = float(rel.max()) if len(rel) else 0.0
    return f"summary and results EQUAL (zone-crossing areas to {worst:.0e})"


def topic_rows(size: str | float) -> list[Row]:
    """The risk, progress and check rows: one process, 1 and 2 Dask workers."""
    scale = TOPIC_COUNTY_SCALE if size == "county" else size
    c = make_county(scale, parts=["vector", "dem"])
    n = c.counts["farmland"]
    rows: list[Row] = []
    pq, gp = str(c.town_dir("parquet")), str(c.town_dir("gpkg"))
    rs = measure(risk_single, pq, features=n)
    r1 = measure(risk_dask, pq, 1, features=n)
    r2 = measure(risk_dask, pq, 2, features=n)
    keys = ("scores", "classes", "visits")
    same = all(
        all(rs.value[k] == r.value[k] for k in keys)
        and _tables_equal(rs.value["villages"], r.value["villages"])
        for r in (r1, r2)
    )
    note = f"; scores, classes, visit list, village table {'EQUAL' if same else 'DIFFER'}"
    rows += _rows("abandonment risk (factors, DEM, score, lists)", scale, rs, r1, r2, note)
    ps = measure(progress_single, pq, features=n)
    p1 = measure(progress_dask, pq, 1, features=n)
    p2 = measure(progress_dask, pq, 2, features=n)
    same = all(
        _exact(ps.value[k], p.value[k]) for p in (p1, p2) for k in ("zones", "high_standard")
    )
    note = f"; zone and project tables {'EQUAL' if same else 'DIFFER'} to one process"
    rows += _rows("plan progress (zones overlay, projects)", scale, ps, p1, p2, note)
    cs = measure(check_single, gp, features=n)
    c1 = measure(check_dask, gp, 1, features=n)
    c2 = measure(check_dask, gp, 2, features=n)
    note = f"; {cs.value['failed']:,} plots not passed; {_same_check(cs.value, c2.value)}"
    rows += _rows("acceptance check (every parcel, high_standard)", scale, cs, c1, c2, note)
    for m in (rs, r1, r2, ps, p1, p2, cs, c1, c2):
        for k in ("villages", "zones", "high_standard", "overlay_values"):
            m.value.pop(k, None)
    return rows


def _exact(a, b) -> bool:
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    except AssertionError:
        return False
    return True


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


def main(
    size: str = "town", *, zonal: bool = True, patrol: bool = True, topics: bool = True
) -> list[Row]:
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
    if topics:
        rows += topic_rows(size)
    return rows


if __name__ == "__main__":
    if "--topics-only" in sys.argv:  # the risk, progress and check rows alone
        sys.argv.remove("--topics-only")
        raise SystemExit(bench_cli(topic_rows))
    raise SystemExit(bench_cli(main))
