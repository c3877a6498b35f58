"""Benchmark: exact zonal statistics (gis_town.raster.zonal_stats) vs rasterstats.

County scale (the issue's target): 200,000 farmland parcels (0.3-15 mu, rotated
rectangles, Gauss-Kruger metres) on a 10,000 x 10,000 cell 30 m raster
(a 300 km square, float32). Statistics: mean, min, max, count and the shares
above 15 and 25 (the risk analysis' slope factors).

The baseline is what a planner would write: ``rasterstats.zonal_stats`` on the
same GeoTIFF (cell-centre rule, no fractional coverage) for mean/min/max/count.
It takes milliseconds per parcel, so by default it runs on a random sample
(``--baseline-sample``, 5,000 parcels) and its time is scaled to the full set;
the table says so. The sample also counts the parcels rasterstats leaves
without a value (no cell centre inside: the small ones) against ours.

Run::

    python benchmarks/bench_zonal.py                 # county: 200k parcels, 10k x 10k raster
    python benchmarks/bench_zonal.py --size town     # 20k parcels, 2k x 2k raster (quick)

Memory: the peak resident set size of the process (``resource``), which
includes the raster read into memory (400 MB at county scale) and the
compiled engine's allocations (``tracemalloc`` would miss those and slows
Python allocations several-fold, so it is not used).
"""

from __future__ import annotations

import argparse
import gc
import math
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gis_town.raster import open_raster, zonal_stats

SIZES = {"town": (20_000, 2_000), "county": (200_000, 10_000)}
CELL_M = 30.0
X0, Y0 = 350_000.0, 4_100_000.0  # EPSG:4544 (CGCS2000 GK CM 105E)
CRS = "EPSG:4544"
M2_PER_MU = 10000.0 / 15.0


def make_raster(path: Path, n: int, seed: int = 0) -> None:
    """A smooth terrain-like field (0-45, like slope degrees) plus noise, float32, tiled GeoTIFF."""
    rng = np.random.default_rng(seed)
    transform = Affine(CELL_M, 0, X0, 0, -CELL_M, Y0)
    profile = {
        "driver": "GTiff",
        "width": n,
        "height": n,
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": transform,
        "nodata": -9999.0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
    }
    cols = np.arange(n, dtype=np.float32)
    with rasterio.open(path, "w", **profile) as dst:
        step = 1024
        for r0 in range(0, n, step):
            r1 = min(r0 + step, n)
            rows = np.arange(r0, r1, dtype=np.float32)[:, None]
            block = (
                22.0
                + 12.0 * np.sin(cols[None, :] / 37.0) * np.cos(rows / 53.0)
                + 6.0 * np.sin((cols[None, :] + rows) / 11.0)
                + rng.normal(0, 2.0, (r1 - r0, n)).astype(np.float32)
            ).astype(np.float32)
            dst.write(block, 1, window=rasterio.windows.Window(0, r0, n, r1 - r0))


def make_parcels(count: int, n_cells: int, seed: int = 1) -> gpd.GeoDataFrame:
    """Rotated rectangles of 0.3-15 mu (log-uniform), aspect 1-4, anywhere on the raster."""
    rng = np.random.default_rng(seed)
    extent = n_cells * CELL_M
    area = M2_PER_MU * np.exp(rng.uniform(math.log(0.3), math.log(15.0), count))
    aspect = rng.uniform(1.0, 4.0, count)
    w = np.sqrt(area / aspect)
    h = w * aspect
    theta = rng.uniform(0, math.pi, count)
    cx = X0 + rng.uniform(200, extent - 200, count)
    cy = Y0 - rng.uniform(200, extent - 200, count)
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    lx = corners[None, :, 0] * w[:, None]
    ly = corners[None, :, 1] * h[:, None]
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    xs = cx[:, None] + lx * c - ly * s
    ys = cy[:, None] + lx * s + ly * c
    geoms = shapely.polygons(np.stack([xs, ys], axis=-1))
    return gpd.GeoDataFrame(
        {"parcel_id": np.arange(count), "area_mu": area / M2_PER_MU}, geometry=geoms, crs=CRS
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", choices=sorted(SIZES), default="county")
    ap.add_argument(
        "--baseline-sample",
        type=int,
        default=5_000,
        help="parcels run through rasterstats (0: all)",
    )
    ap.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="folder for the generated GeoTIFF (temp by default)",
    )
    args = ap.parse_args(argv)
    n_parcels, n_cells = SIZES[args.size]

    tmp = tempfile.TemporaryDirectory(prefix="bench_zonal_")
    work = args.workdir or Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    tif = work / f"raster_{n_cells}.tif"
    t = time.perf_counter()
    if not tif.exists():
        make_raster(tif, n_cells)
    parcels = make_parcels(n_parcels, n_cells)
    print(
        f"data: {n_parcels:,} parcels, {n_cells:,} x {n_cells:,} raster ({n_cells**2 / 1e6:.0f} M cells, "
        f"{CELL_M:.0f} m), generated in {time.perf_counter() - t:.1f} s"
    )
    print(
        f"parcels: median {parcels.area_mu.median():.2f} mu, "
        f"{(parcels.area_mu < 1.35).mean():.0%} smaller than one 30 m cell (900 m² = 1.35 mu)"
    )

    # ---- ours: read + exact zonal statistics with two threshold shares
    gc.collect()
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    raster = open_raster(tif, name="raster")
    t_read = time.perf_counter() - t0
    t1 = time.perf_counter()
    ours = zonal_stats(parcels, raster, stats=("mean", "min", "max", "count"), thresholds=(15, 25))
    t_ours = time.perf_counter() - t1
    rss_ours = peak_rss_mb()
    ours_missing = int(ours["mean"].isna().sum())

    # ---- baseline: rasterstats on a sample, same file, mean/min/max/count
    from rasterstats import zonal_stats as rs_zonal_stats

    k = n_parcels if args.baseline_sample in (0, None) else min(args.baseline_sample, n_parcels)
    sample = np.sort(np.random.default_rng(7).choice(n_parcels, size=k, replace=False))
    sub = parcels.iloc[sample]
    t2 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rs = rs_zonal_stats(
            list(sub.geometry.values), str(tif), stats=["mean", "min", "max", "count"]
        )
    t_rs_sample = time.perf_counter() - t2
    rs_df = pd.DataFrame(rs)
    rs_missing = int(rs_df["mean"].isna().sum())
    ours_sample = ours.iloc[sample]
    ours_sample_missing = int(ours_sample["mean"].isna().sum())
    t_rs_full = t_rs_sample * n_parcels / k
    both = rs_df["mean"].notna().to_numpy() & ours_sample["mean"].notna().to_numpy()
    diff = np.abs(rs_df["mean"].to_numpy(dtype=float)[both] - ours_sample["mean"].to_numpy()[both])

    scaled = "" if k == n_parcels else f" (scaled from a sample of {k:,})"
    rows = [
        ("read raster (ours)", t_read, n_parcels / max(t_read, 1e-9), ""),
        ("exact zonal (ours)", t_ours, n_parcels / t_ours, "mean/min/max/count + 2 shares"),
        ("ours total", t_read + t_ours, n_parcels / (t_read + t_ours), ""),
        (
            f"rasterstats{scaled}",
            t_rs_full,
            n_parcels / t_rs_full,
            "mean/min/max/count, cell centres",
        ),
    ]
    print()
    print(f"{'step':34s} {'wall s':>9s} {'parcels/s':>12s}  note")
    for name, sec, thr, note in rows:
        print(f"{name:34s} {sec:9.2f} {thr:12,.0f}  {note}")
    print()
    print(
        f"speed-up vs rasterstats (ours total incl. reading): {t_rs_full / (t_read + t_ours):.1f}x"
    )
    print(f"speed-up vs rasterstats (zonal step only):           {t_rs_full / t_ours:.1f}x")
    print(
        f"peak memory: process RSS {rss_ours:,.0f} MB after our step ({rss_before:,.0f} MB before it, with the "
        f"parcels; raster {raster.array.nbytes / 2**20:,.0f} MB in memory)"
    )
    print(
        f"parcels with no value, sample of {k:,}: rasterstats {rs_missing:,} ({rs_missing / k:.1%}), "
        f"ours {ours_sample_missing:,}; ours on all {n_parcels:,}: {ours_missing:,}"
    )
    print(
        f"mean difference where both have a value: median {np.median(diff):.3f}, "
        f"95th pct {np.percentile(diff, 95):.3f} (cell-centre vs fractional coverage)"
    )
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
