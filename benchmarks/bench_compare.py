"""Benchmark: two surveys compared, gis_town.analysis.compare vs geopandas.overlay(how="union").

Synthetic surveys in the Gauss-Kruger zone (EPSG:4544): last year's parcels
are jittered quadrilaterals tiling a square (about 60 m across, like
``bench_overlay.py``); this year's are the same land surveyed again, ids
renumbered: 3% of the parcels split in two, 1% of neighbouring pairs merged,
1% lost and 1% new parcels in gaps, 5% with another status, and a band of
10% of the rows digitised 0.2 m east (slivers against their neighbours).

Ours: :func:`gis_town.analysis.compare.compare_surveys` (one process) and
:func:`gis_town.parallel.compare.compare_surveys` on a local Dask cluster of
2 worker processes. The baseline is what a planner writes::

    pieces = geopandas.overlay(old, new, how="union", keep_geom_type=True)
    pieces["area_m2"] = area_m2(pieces)          # the same ellipsoidal area on both sides
    pieces["change"] = ...                       # from the two status columns, lost / new where one is missing
    pieces.groupby("change")["area_m2"].sum()

(the baseline keeps the slivers, ours drops them: the class totals agree to
the sliver area, shown in the note).

Usage::

    python benchmarks/bench_compare.py [--size town|county|both|0.2]

``town`` is 5,000 x 5,000 parcels, ``county`` 1,000,000 x 1,000,000. The
baseline runs at most :data:`BASELINE_MAX` parcels; above that it runs at
``BASELINE_MAX`` and its time is extrapolated in proportion to the parcels
(said in the row's note). Sized for 2 cores and 24 GiB.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import Measurement, Row, bench_cli, compare, measure, scale_of

GK = "EPSG:4544"
X0, Y0 = 440_000.0, 3_900_000.0
CELL_M = 60.0
COUNTY = 1_000_000
#: The baseline runs on at most this many parcels per survey (then extrapolated).
BASELINE_MAX = 200_000
#: Parcels above which the Dask row is left out (the one-process row is the county figure).
DASK_MAX = 1_000_000
STATUS = np.array(["cultivated", "abandoned", "fallow"])


# --------------------------------------------------------------------------- data


def _quads(n: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """About ``n`` jittered quadrilaterals tiling a square (shared corners: no gaps, no overlaps)."""
    side = int(np.ceil(np.sqrt(n)))
    cx, cy = np.meshgrid(X0 + CELL_M * np.arange(side + 1), Y0 + CELL_M * np.arange(side + 1))
    jit = 0.3 * CELL_M
    cx = cx + rng.uniform(-jit, jit, cx.shape)
    cy = cy + rng.uniform(-jit, jit, cy.shape)
    i, j = np.meshgrid(np.arange(side), np.arange(side))
    i, j = i.ravel()[:n], j.ravel()[:n]
    ring = np.stack([
        np.stack([cx[j, i], cy[j, i]], -1), np.stack([cx[j, i + 1], cy[j, i + 1]], -1),
        np.stack([cx[j + 1, i + 1], cy[j + 1, i + 1]], -1), np.stack([cx[j + 1, i], cy[j + 1, i]], -1),
        np.stack([cx[j, i], cy[j, i]], -1),
    ], axis=1)
    return shapely.polygons(ring), side


def make_surveys(n: int, seed: int = 16) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Last year's and this year's survey of ``n`` parcels (see the module docstring)."""
    rng = np.random.default_rng(seed)
    geoms, side = _quads(n, rng)
    status = STATUS[rng.choice(3, n, p=[0.75, 0.2, 0.05])]
    old = gpd.GeoDataFrame(
        {"parcel_id": np.char.add("L", np.arange(n).astype(str)),
         "village_id": np.char.add("V", (np.arange(n) // 5000).astype(str)), "status": status},
        geometry=geoms, crs=GK,
    )
    roll = rng.random(n)
    row = np.arange(n) // side
    new_status = np.where(rng.random(n) < 0.05, STATUS[rng.choice(3, n)], status)
    g = geoms.copy()
    band = (row % 10) == 3  # 10% of the rows digitised 0.2 m east
    g[band] = shapely.transform(g[band], lambda xy: xy + np.array([0.2, 0.0]))
    keep = roll >= 0.01  # 1% lost
    split = (roll >= 0.01) & (roll < 0.04)  # 3% split
    col = np.arange(n) % side
    merge = (roll >= 0.04) & (roll < 0.05) & (col < side - 1) & ~band  # 1% merged with the right neighbour
    merge &= np.r_[roll[1:] >= 0.05, False]  # ... which is a plain parcel
    absorbed = np.r_[False, merge[:-1]]
    parts, ids, sts = [], [], []
    k = np.flatnonzero(keep & ~split & ~merge & ~absorbed)
    parts.append(g[k]), ids.append(k.astype(str)), sts.append(new_status[k])
    k = np.flatnonzero(split)
    b = shapely.bounds(g[k])
    cut = shapely.box(b[:, 0] - 1, b[:, 1] - 1, (b[:, 0] + b[:, 2]) / 2, b[:, 3] + 1)
    for half, tag in ((shapely.intersection(g[k], cut), "a"), (shapely.difference(g[k], cut), "b")):
        parts.append(half), ids.append(np.char.add(k.astype(str), tag)), sts.append(new_status[k])
    k = np.flatnonzero(merge)
    parts.append(shapely.union(g[k], g[k + 1])), ids.append(np.char.add(k.astype(str), "m"))
    sts.append(new_status[k])
    n_new = int((~keep).sum())  # as many new parcels, in a strip west of the land
    q = np.arange(n_new)
    x, y = X0 - 100.0 - 60.0 * (q % 50), Y0 + 60.0 * (q // 50)
    new_geoms = shapely.box(x, y, x + 40, y + 40)
    parts.append(new_geoms), ids.append(np.char.add("x", q.astype(str)))
    sts.append(np.full(n_new, "cultivated"))
    ng = np.concatenate(parts)
    order = rng.permutation(len(ng))  # renumbered, in another order
    nid = np.concatenate(ids)[order]
    new = gpd.GeoDataFrame(
        {"parcel_id": np.char.add("N", nid.astype(str)),
         "village_id": np.char.add("V", (order // 5000).astype(str)),
         "status": np.concatenate(sts)[order]},
        geometry=ng[order], crs=GK,
    )
    return old, new


# --------------------------------------------------------------------------- workloads


def _class_totals_m2(pieces) -> dict[str, float]:
    return {str(k): float(v) for k, v in pieces.groupby("change")["area_m2"].sum().items()}


def ours(n: int) -> dict:
    from gis_town.analysis.compare import compare_surveys

    old, new = make_surveys(n)
    t0 = time.perf_counter()
    t = compare_surveys(old, new, gk_crs=GK)
    return {"features": n, "pieces": len(t.pieces), "slivers": t.slivers,
            "classes": _class_totals_m2(t.pieces), "run_s": time.perf_counter() - t0}


def ours_dask(n: int, workers: int = 2) -> dict:
    from gis_town.parallel import client_for
    from gis_town.parallel.compare import compare_surveys

    old, new = make_surveys(n)
    with client_for(workers=workers):
        t0 = time.perf_counter()
        t = compare_surveys(old, new, gk_crs=GK)
        run_s = time.perf_counter() - t0
    return {"features": n, "pieces": len(t.pieces), "classes": _class_totals_m2(t.pieces), "run_s": run_s}


def baseline(n: int) -> dict:
    from gis_town.analysis.compare import change_class
    from gis_town.geodesy import area_m2

    old, new = make_surveys(n)
    t0 = time.perf_counter()
    pieces = gpd.overlay(old, new, how="union", keep_geom_type=True)
    pieces["area_m2"] = area_m2(pieces)
    pieces["change"] = change_class(pieces["status_1"], pieces["status_2"])
    totals = _class_totals_m2(pieces)
    return {"features": n, "pieces": len(pieces), "classes": totals, "run_s": time.perf_counter() - t0}


def _run_only(m: Measurement) -> Measurement:
    """The measurement without the time spent making the data (timed inside the workload)."""
    return Measurement(wall_s=float(m.value["run_s"]), peak_rss_mb=m.peak_rss_mb, features=m.features,
                       value=m.value)


def _agreement(a: dict, b: dict) -> str:
    """Largest difference of a class total between the two sides, in % of the total area."""
    total = sum(b.values()) or 1.0
    diff = max(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))
    return f"class totals agree to {100 * diff / total:.3f}% of the area (slivers)"


def main(size: str = "town") -> list[Row]:
    """Run ours (one process; Dask, 2 workers), the baseline (measured or extrapolated) at ``size``."""
    n = int(round(scale_of(size) * COUNTY))
    one = measure(ours, n, features=n)
    one_t = _run_only(one)
    nb = min(n, BASELINE_MAX)
    base = measure(baseline, nb, features=nb)
    base_t = _run_only(base)
    note_b = f"geopandas.overlay union, {base.value['pieces']:,} pieces"
    if nb < n:
        small = measure(ours, nb, features=nb)
        base_t = Measurement(wall_s=base_t.wall_s * n / nb, peak_rss_mb=float("nan"), features=n)
        note_b = (f"EXTRAPOLATED x{n / nb:g} from {nb:,} x {nb:,} parcels measured: {base.value['run_s']:.1f} s "
                  f"(gis_town there {small.value['run_s']:.1f} s: ratio {base.value['run_s'] / small.value['run_s']:.1f}x)")
        agree = _agreement(small.value["classes"], base.value["classes"])
    else:
        agree = _agreement(one.value["classes"], base.value["classes"])
    rows = compare(
        f"compare {n:,} x {n:,} parcels",
        size,
        one_t,
        base_t,
        ours_name="gis_town compare_surveys",
        baseline_name="geopandas.overlay",
        note=f"{one.value['pieces']:,} pieces, {one.value['slivers']:,} slivers; {agree}",
        baseline_note=note_b,
    )
    if n <= DASK_MAX:
        d = measure(ours_dask, n, features=n)
        same = d.value["classes"] == one.value["classes"]
        rows[1:1] = compare(
            f"compare {n:,} x {n:,} parcels",
            size,
            _run_only(d),
            base_t,
            ours_name="gis_town Dask, 2 workers",
            note="identical to one process" if same else "DIFFERS from one process",
        )[:1]
    return rows


if __name__ == "__main__":
    raise SystemExit(bench_cli(main))
