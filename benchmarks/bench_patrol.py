"""Benchmark: river patrol coverage at town and county scale (gis_town.analysis.patrol).

    python benchmarks/bench_patrol.py [--size town|moderate|county] [--baseline-share S]

Sizes (GPS fixes on km of river):

* ``town``: 200,000 fixes on 100 km;
* ``moderate``: 1,000,000 fixes on 200 km (the scale of the domain notes'
  measured 436 s for buffer-and-union);
* ``county``: 10,000,000 fixes on 2,000 km (the issue's target: under a
  minute and under 4 GB on 2 cores, at least 10x faster than buffering and
  unioning the tracks).

Synthetic but realistic data: meandering rivers (a vertex every 20 m) in
segments of about 2 km, one chief per segment, walks of about 30 minutes at
0.7-1.3 m/s with a fix every 10 s and 5 m of GPS noise; 5 % car drive-bys, 3 %
tracks 300 m off any river, 2 % five-minute stops. The fixes are a plain
DataFrame (lon, lat, naive local time, chief), as read from the app's CSV or
Parquet export; the rivers a GeoDataFrame in EPSG:4490.

The analysis runs in a fresh process so that its peak memory (``VmHWM``, the
peak resident set on Linux) is its own: it includes the imports, the input
table and every intermediate.

The baseline is what a planner would write with geopandas: one line per trip,
``buffer(tolerance)``, ``union_all()``, then the river's length inside the
union. It is run on a random share of the trips (``--baseline-share``, default
chosen so it takes well under a minute) and compared per point.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

GK = "EPSG:4544"
X0, Y0 = 500_000.0, 3_940_000.0
SIZES = {
    "town": (200_000, 100.0, 0.10),
    "moderate": (1_000_000, 200.0, 0.02),
    "county": (10_000_000, 2_000.0, 0.002),
}
SEGMENT_M = 2_000.0
VERTEX_M = 20.0
FIX_S = 10.0
FIXES_PER_TRIP = 200


def make_rivers(river_km: float, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Meandering rivers of 20 km (10 segments of 2 km) spread over a county-sized area."""
    n_seg = int(round(river_km * 1000 / SEGMENT_M))
    per_river = 10
    n_riv = int(np.ceil(n_seg / per_river))
    side = int(np.ceil(np.sqrt(n_riv)))
    n_v = int(SEGMENT_M / VERTEX_M)
    geoms, rid, chief, level = [], [], [], []
    levels = np.array(["county", "town", "village", "grid"])
    for r in range(n_riv):
        ox, oy = (r % side) * 4000.0 - side * 2000, (r // side) * 4000.0 - side * 2000
        heading = rng.uniform(0, 2 * np.pi)
        turn = np.cumsum(rng.normal(0, 0.05, per_river * n_v))
        ang = heading + 0.6 * np.sin(turn)
        xy = np.cumsum(np.column_stack([np.cos(ang), np.sin(ang)]) * VERTEX_M, axis=0)
        xy = np.vstack([[0, 0], xy]) + [X0 + ox, Y0 + oy]
        for s in range(per_river):
            if len(geoms) >= n_seg:
                break
            geoms.append(shapely.LineString(xy[s * n_v : (s + 1) * n_v + 1]))
            rid.append(f"R{r:04d}-{s:02d}")
            chief.append(f"河长{len(geoms):05d}")
            level.append(levels[rng.integers(0, 4)])
    return gpd.GeoDataFrame(
        {
            "segment_id": rid,
            "river_name": [f"河{i[1:5]}" for i in rid],
            "chief": chief,
            "chief_level": level,
            "village_id": [f"V{int(i[1:5]) % 50:02d}" for i in rid],
        },
        geometry=geoms,
        crs=GK,
    )


def make_points(
    rivers: gpd.GeoDataFrame, n_points: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Patrol fixes along the rivers (vectorised), as lon/lat/time/chief, and each fix's trip."""
    mean_fixes = 0.98 * FIXES_PER_TRIP + 0.02 * 31
    n_trips = max(1, int(np.ceil(n_points / mean_fixes)))
    n_seg = len(rivers)
    geoms = np.asarray(rivers.geometry.values)
    xy, vidx = shapely.get_coordinates(geoms, return_index=True)
    step = np.r_[0.0, np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))]
    first = np.r_[True, vidx[1:] != vidx[:-1]]
    step[first] = 0
    seg_len = shapely.length(geoms)
    offs = np.r_[0.0, np.cumsum(seg_len + 1.0)[:-1]]
    cd = np.cumsum(step)
    cd -= np.maximum.accumulate(np.where(first, cd, -np.inf))
    g = offs[vidx] + cd

    # trips: mostly the chief's own segment; kind 0 walk, 1 car, 2 off-river, 3 stop
    own = rng.random(n_trips) < 0.9
    other = rng.integers(0, n_seg, n_trips)
    other = np.where(other % 10 == 0, (other + 1) % n_seg, other)  # nobody helps the lazy chiefs
    seg = np.where(own, np.arange(n_trips) % n_seg, other)
    chief_of = np.arange(n_trips) % n_seg
    kind = rng.choice(4, n_trips, p=[0.90, 0.05, 0.03, 0.02])
    speed = np.where(kind == 1, rng.uniform(8, 15, n_trips), rng.uniform(0.7, 1.3, n_trips))
    speed[kind == 3] = 0.0
    # each chief's trips on different days, from January to the end of June
    k_of_chief = np.arange(n_trips) // n_seg
    day = (k_of_chief * 3 + rng.integers(0, 3, n_trips)) % 181
    start = (
        np.datetime64("2023-01-01T07:00", "s")
        + (day * 86400).astype("timedelta64[s]")
        + rng.integers(0, 8 * 3600, n_trips).astype("timedelta64[s]")
    )
    counts = np.where(kind == 3, 31, FIXES_PER_TRIP)  # stops: five minutes standing
    # exactly n_points fixes: drop the trips past it and shorten the last one
    before = np.cumsum(counts) - counts
    keep = before < n_points
    n_trips = int(keep.sum())
    seg, chief_of, kind, speed, start, counts = (
        a[:n_trips] for a in (seg, chief_of, kind, speed, start, counts)
    )
    counts[-1] = n_points - before[n_trips - 1]
    trip = np.repeat(np.arange(n_trips), counts)
    k = np.arange(len(trip)) - np.repeat(np.cumsum(counts) - counts, counts)
    travel = np.repeat(speed, counts) * k * FIX_S
    s0 = rng.uniform(0, 1, n_trips) * np.maximum(seg_len[seg] - speed * FIX_S * counts, 0)
    # one chief in ten only ever walks the first half of their own segment (blind spots)
    lazy = (chief_of % 10 == 0) & (seg == chief_of)
    s0[lazy] = 0.0
    limit = np.where(lazy, 0.5, 1.0) * seg_len[seg]
    m = np.minimum(np.repeat(s0, counts) + travel, np.repeat(limit, counts))
    gv = offs[seg][trip] + m
    i = np.clip(np.searchsorted(g, gv, side="right") - 1, 0, len(g) - 2)
    f = np.clip((gv - g[i]) / np.maximum(g[i + 1] - g[i], 1e-9), 0, 1)
    p = xy[i] + f[:, None] * (xy[i + 1] - xy[i])
    p += rng.normal(0, 5.0, p.shape)
    off = (kind == 2)[trip]
    p[off, 1] += 300.0
    t = np.repeat(start, counts) + (k * FIX_S).astype("timedelta64[s]")
    lon, lat = pyproj.Transformer.from_crs(GK, "EPSG:4326", always_xy=True).transform(
        p[:, 0], p[:, 1]
    )
    chiefs = rivers["chief"].to_numpy(dtype=object)
    df = pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "time": t.astype("datetime64[ns]"),
            "chief": pd.array(chiefs[chief_of][trip], dtype="str"),
        }
    )
    return df, trip


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (MB): VmHWM on Linux (ru_maxrss would include
    the parent's memory at fork time), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    scale = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def _child(data_dir: str, queue) -> None:
    """Run the analysis in a fresh process; report times and peak memory."""
    from gis_town.analysis.patrol import analyze_patrols
    from gis_town.config import TownConfig

    rss0 = _peak_rss_mb()
    t0 = time.perf_counter()
    points = pd.read_parquet(Path(data_dir) / "points.parquet")
    rivers = gpd.read_parquet(Path(data_dir) / "rivers.parquet")
    t_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    c1 = time.process_time()
    res = analyze_patrols(
        points, rivers, config=TownConfig(), as_of="2023-06-30", points_crs="EPSG:4326"
    )
    t_run = time.perf_counter() - t1
    cpu_run = time.process_time() - c1
    queue.put(
        {
            "load_s": t_load,
            "run_s": t_run,
            "cpu_s": cpu_run,
            "points": len(points),
            "peak_rss_mb": _peak_rss_mb(),
            "import_rss_mb": rss0,
            "summary": res.summary,
        }
    )


def baseline(
    points: pd.DataFrame, trip: np.ndarray, rivers: gpd.GeoDataFrame, share: float, tol: float, rng
) -> dict:
    """Buffer-and-union with geopandas on a random share of the trips."""
    n_trips = int(trip.max()) + 1
    pick = np.zeros(n_trips, bool)
    pick[rng.choice(n_trips, max(1, int(round(n_trips * share))), replace=False)] = True
    sel = pick[trip]
    sample = points[sel]
    t0 = time.perf_counter()
    c0 = time.process_time()
    gdf = gpd.GeoDataFrame(
        sample.assign(trip=trip[sel]),
        geometry=gpd.points_from_xy(sample["lon"], sample["lat"]),
        crs="EPSG:4326",
    ).to_crs(GK)
    lines = gdf.groupby("trip")["geometry"].apply(
        lambda s: shapely.LineString(s.tolist()) if len(s) > 1 else s.iloc[0]
    )
    lines = gpd.GeoSeries(lines, crs=GK)
    covered = lines.buffer(tol).union_all()
    cov_len = rivers.to_crs(GK).intersection(covered).length
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {
        "points": int(sel.sum()),
        "trips": int(pick.sum()),
        "seconds": elapsed,
        "cpu_s": cpu,
        "covered_km": float(cov_len.sum() / 1000.0),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=list(SIZES), default="town")
    ap.add_argument("--points", type=int, default=None, help="override the number of GPS fixes")
    ap.add_argument("--river-km", type=float, default=None, help="override the river length (km)")
    ap.add_argument(
        "--baseline-share", type=float, default=None, help="share of trips the baseline runs on"
    )
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--seed", type=int, default=2023)
    args = ap.parse_args(argv)
    n_points, river_km, share = SIZES[args.size]
    n_points = args.points or n_points
    river_km = args.river_km or river_km
    share = args.baseline_share if args.baseline_share is not None else share
    rng = np.random.default_rng(args.seed)

    t0 = time.perf_counter()
    rivers = make_rivers(river_km, rng)
    points, trip = make_points(rivers, n_points, rng)
    t_gen = time.perf_counter() - t0
    print(
        f"generated {len(points):,} fixes on {rivers.length.sum() / 1000:,.0f} km "
        f"({len(rivers):,} segments) in {t_gen:.1f} s",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="bench_patrol_") as tmp:
        points.to_parquet(Path(tmp) / "points.parquet")
        rivers.to_crs("EPSG:4490").to_parquet(Path(tmp) / "rivers.parquet")
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        proc = ctx.Process(target=_child, args=(tmp, q))
        proc.start()
        ours = q.get()
        proc.join()

    s = ours["summary"]
    rate = ours["points"] / ours["run_s"]
    rows = [
        (
            "size",
            f"{args.size}: {ours['points']:,} fixes, {s['river_km']:,.0f} km, {s['segments']:,} segments",
        ),
        (
            "trips",
            f"{s['trips']:,} ({s['valid_trips']:,} valid; invalid by reason {s['invalid_by_reason']})",
        ),
        (
            "covered",
            f"{s['covered_km']:,.1f} km ({100 * s['covered_fraction']:.1f} %), blind spots {s['blind_spots']:,}",
        ),
        ("load (parquet)", f"{ours['load_s']:.2f} s"),
        ("analysis wall time", f"{ours['run_s']:.2f} s (CPU {ours['cpu_s']:.2f} s)"),
        ("throughput", f"{rate:,.0f} fixes/s"),
        (
            "peak memory (process RSS)",
            f"{ours['peak_rss_mb']:,.0f} MB (after imports {ours['import_rss_mb']:,.0f} MB)",
        ),
    ]
    if not args.no_baseline:
        b = baseline(points, trip, rivers, share, 50.0, rng)
        b_rate = b["points"] / b["seconds"]
        rows += [
            (
                "baseline buffer+union",
                f"{b['seconds']:.2f} s (CPU {b['cpu_s']:.2f} s) on {b['points']:,} fixes "
                f"({b['trips']:,} trips, {100 * share:.2g} % of the trips), covered {b['covered_km']:.1f} km",
            ),
            ("baseline throughput", f"{b_rate:,.0f} fixes/s"),
            (
                "speed-up (per fix)",
                f"{rate / b_rate:,.1f}x wall, "
                f"{(ours['points'] / ours['cpu_s']) / (b['points'] / b['cpu_s']):,.1f}x CPU "
                "(the baseline's share is small: buffer+union grows faster than linearly)",
            ),
        ]
    width = max(len(k) for k, _ in rows)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nbench_patrol ({sys.platform}, {mp.cpu_count()} CPUs, load average {load:.1f})")
    for k, v in rows:
        print(f"  {k.ljust(width)}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
