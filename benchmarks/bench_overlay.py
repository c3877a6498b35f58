"""Benchmark: farmland area per zone, gis_town.analysis.overlay.area_by_zone vs geopandas.overlay.

Synthetic data in the town schema, stored as CGCS2000 lon/lat (EPSG:4490) near
104.6E 35.6N: parcels are jittered quadrilaterals that tile the land (about
60 m across, 1-10 mu); zones are 25 basins that tile the area, their
boundaries bent and densified to a vertex every 25 m or less (as zones
digitised along gullies and ridges: hundreds to thousands of vertices),
plus 5 corridor bands 1 km wide along wiggly roads that overlap the basins:
30 zones, two kinds.

Both sides produce the ellipsoidal area (m²) of every (parcel, zone) piece
and the totals per zone; the baseline is what a planner writes::

    pieces = geopandas.overlay(parcels, zones, how="intersection")
    pieces["area_m2"] = area_m2(pieces)          # same ellipsoidal area on both sides
    pieces.groupby("zone_id")["area_m2"].sum()

Usage::

    python benchmarks/bench_overlay.py [--size town|county|N] [--skip-baseline] [--seed 5]

``town`` is 5,000 parcels, ``county`` 1,000,000 parcels x 30 zones. Prints wall
time, peak resident memory of each step, throughput and the ratio, and checks
that both sides give the same zone totals.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gis_town.analysis.overlay import area_by_zone, totals_by_zone
from gis_town.geodesy import area_m2

GK = "EPSG:4544"
X0, Y0 = 440_000.0, 3_900_000.0
CELL_M = 60.0
#: size -> (parcels, basins, corridors): a town has "one valley, two lines, three basins"; a county 30 zones
SIZES = {"town": (5_000, 4, 2), "county": (1_000_000, 25, 5)}


# --------------------------------------------------------------------------- data


def make_parcels(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """About ``n`` jittered quadrilaterals tiling a square (shared corners: no gaps, no overlaps)."""
    side = int(np.ceil(np.sqrt(n)))
    xs = X0 + CELL_M * np.arange(side + 1)
    ys = Y0 + CELL_M * np.arange(side + 1)
    cx, cy = np.meshgrid(xs, ys)
    jit = 0.3 * CELL_M
    cx = cx + rng.uniform(-jit, jit, cx.shape)
    cy = cy + rng.uniform(-jit, jit, cy.shape)
    i, j = np.meshgrid(np.arange(side), np.arange(side))
    i, j = i.ravel()[:n], j.ravel()[:n]
    ring = np.stack(
        [
            np.stack([cx[j, i], cy[j, i]], -1),
            np.stack([cx[j, i + 1], cy[j, i + 1]], -1),
            np.stack([cx[j + 1, i + 1], cy[j + 1, i + 1]], -1),
            np.stack([cx[j + 1, i], cy[j + 1, i]], -1),
            np.stack([cx[j, i], cy[j, i]], -1),
        ],
        axis=1,
    )
    geoms = shapely.polygons(ring)
    return gpd.GeoDataFrame(
        {
            "parcel_id": np.char.add("P", np.arange(n).astype(str)),
            "film_mulch": rng.random(n) < 0.4,
        },
        geometry=geoms,
        crs=GK,
    )


def _displace(
    geoms: np.ndarray, rng: np.random.Generator, amp_m: float = 150.0, wave_m: float = 2000.0
) -> np.ndarray:
    """Bend boundaries with one smooth displacement field (same point -> same shift: tilings stay tilings).

    ``2 pi amp / wave < 1`` keeps the map one-to-one, so valid polygons stay valid.
    """
    ph = rng.uniform(0, 2 * np.pi, 4)
    k = 2 * np.pi / wave_m

    def shift(xy: np.ndarray) -> np.ndarray:
        x, y = xy[:, 0] - X0, xy[:, 1] - Y0
        dx = amp_m * 0.5 * (np.sin(k * y + ph[0]) + np.sin(0.37 * k * (x + y) + ph[1]))
        dy = amp_m * 0.5 * (np.sin(k * x + ph[2]) + np.sin(0.41 * k * (x - y) + ph[3]))
        return np.column_stack([xy[:, 0] + dx, xy[:, 1] + dy])

    return shapely.transform(shapely.segmentize(geoms, 25.0), shift)


def make_zones(
    extent_m: float, rng: np.random.Generator, n_basins: int = 25, n_corridors: int = 5
) -> gpd.GeoDataFrame:
    """Basins tiling the area (Voronoi cells with bent, densified boundaries) plus corridor bands across them."""
    margin = 0.05 * extent_m + 500.0
    frame = shapely.box(X0 - margin, Y0 - margin, X0 + extent_m + margin, Y0 + extent_m + margin)
    seeds = shapely.points(
        X0 + rng.uniform(0, extent_m, n_basins), Y0 + rng.uniform(0, extent_m, n_basins)
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame))
    basins = _displace(shapely.intersection(cells, frame), rng)
    geoms = list(basins)
    kinds = ["basin"] * len(basins)
    for _k in range(n_corridors):
        t = np.linspace(0, 1, 200)
        a, b = rng.uniform(0, extent_m, 2), rng.uniform(0, extent_m, 2)
        wig = 0.05 * extent_m * np.sin(2 * np.pi * (3 * t + rng.uniform()))
        line = np.column_stack(
            [X0 + a[0] + (b[0] - a[0]) * t + wig, Y0 + a[1] + (b[1] - a[1]) * t - wig]
        )
        geoms.append(shapely.buffer(shapely.linestrings(line), 500.0))
        kinds.append("corridor")
    return gpd.GeoDataFrame(
        {
            "zone_id": [f"Z{k:02d}" for k in range(len(geoms))],
            "kind": kinds,
            "name": [f"分区{k}" for k in range(len(geoms))],
        },
        geometry=geoms,
        crs=GK,
    )


# --------------------------------------------------------------------------- measuring


@contextlib.contextmanager
def measure(label: str, results: list[dict], n: int):
    """Wall time and peak resident memory (Linux: VmHWM reset via clear_refs) of a block."""
    gc.collect()
    reset = False
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    t0, c0 = time.perf_counter(), time.process_time()
    yield
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak_mb = np.nan
    if reset:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak_mb = int(line.split()[1]) / 1024.0
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    results.append(
        {
            "step": label,
            "cpu_s": cpu,
            "wall_s": wall,
            "peak_rss_mb": peak_mb,
            "parcels_per_s": n / wall if wall > 0 else np.nan,
        }
    )


def ours(parcels: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    pieces = area_by_zone(
        parcels, zones, parcel_columns=["parcel_id"], zone_columns=["zone_id", "kind"]
    )
    return totals_by_zone(pieces, "zone_id").set_index("zone_id")["area_m2"], pieces


def baseline(parcels: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    pieces = gpd.overlay(
        parcels[["parcel_id", "geometry"]],
        zones[["zone_id", "kind", "geometry"]],
        how="intersection",
    )
    pieces["area_m2"] = area_m2(pieces)
    return pieces.groupby("zone_id")["area_m2"].sum(), pieces


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--size",
        default="town",
        help="town (5,000 parcels x 6 zones), county (1,000,000 x 30) or a number of parcels (x 30)",
    )
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument(
        "--skip-baseline",
        action="store_true",
        help="only time gis_town (e.g. when the baseline does not fit)",
    )
    args = ap.parse_args(argv)
    n, n_basins, n_corridors = SIZES.get(args.size) or (int(args.size), 25, 5)
    rng = np.random.default_rng(args.seed)

    t0 = time.perf_counter()
    parcels_gk = make_parcels(n, rng)
    extent = CELL_M * np.ceil(np.sqrt(n))
    zones_gk = make_zones(extent, rng, n_basins, n_corridors)
    parcels = parcels_gk.to_crs("EPSG:4490")
    zones = zones_gk.to_crs("EPSG:4490")
    del parcels_gk, zones_gk
    nverts = shapely.get_num_coordinates(np.asarray(zones.geometry.values))
    print(
        f"数据 data: {len(parcels):,} parcels, {len(zones)} zones ({int((zones.kind == 'basin').sum())} basins tiling, "
        f"{int((zones.kind == 'corridor').sum())} corridors overlapping), zone vertices {int(nverts.min())}-{int(nverts.max())}, "
        f"extent {extent / 1000:.1f} km, built in {time.perf_counter() - t0:.1f} s"
    )
    print(
        f"versions: GEOS {shapely.geos_version_string}, PROJ {pyproj.proj_version_str}, shapely {shapely.__version__}, "
        f"geopandas {gpd.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )

    # small sizes: best of 3 (shared machine); large sizes: one run each
    repeats = 3 if n <= 200_000 else 1
    runs: list[dict] = []
    for _ in range(repeats):
        with measure("gis_town area_by_zone + totals", runs, n):
            tot_ours, pieces = ours(parcels, zones)
        whole_share = float(pieces["whole"].mean())
        n_pieces = len(pieces)
        del pieces
    tot_base = None
    if not args.skip_baseline:
        for _ in range(repeats):
            with measure("geopandas.overlay + area + groupby", runs, n):
                tot_base, bpieces = baseline(parcels, zones)
            n_bpieces = int((bpieces["area_m2"] > 0).sum())
            del bpieces

    table = (
        pd.DataFrame(runs)
        .groupby("step", sort=False)
        .agg(
            wall_s=("wall_s", "min"),
            cpu_s=("cpu_s", "min"),
            peak_rss_mb=("peak_rss_mb", "max"),
            parcels_per_s=("parcels_per_s", "max"),
        )
    )
    table = table.reset_index()
    print(f"\n{repeats} run(s) each, best wall time")
    print()
    print(table.drop(columns="cpu_s").to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    print("cpu seconds: " + ", ".join(f"{r.step} {r.cpu_s:,.2f}" for r in table.itertuples()))
    print(f"\npieces: {n_pieces:,}; whole (no intersection needed): {whole_share:.1%}")
    if tot_base is not None:
        ratio = table["wall_s"].iloc[1] / table["wall_s"].iloc[0]
        both = pd.concat([tot_ours.rename("ours"), tot_base.rename("gpd")], axis=1).fillna(0.0)
        rel = float((both["ours"] - both["gpd"]).abs().max() / both["gpd"].max())
        print(f"baseline pieces with area > 0: {n_bpieces:,}")
        print(f"zone totals agree: max |diff| / largest total = {rel:.2e}")
        cpu_ratio = table["cpu_s"].iloc[1] / table["cpu_s"].iloc[0]
        print(
            f"RATIO geopandas.overlay / gis_town = {ratio:.1f}x wall, {cpu_ratio:.1f}x CPU (issue-8 target: >= 3x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
