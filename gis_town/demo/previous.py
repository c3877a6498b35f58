"""Last year's survey of the demo town (``demo_town_2022.gpkg``), for ``gis-town compare``.

Built deterministically from the demo town's farmland (this year's survey),
the way last year's survey differs from it:

* every parcel renumbered (ids are assigned anew in each survey year);
* two pairs of neighbouring parcels were one parcel last year (this year: split);
* two parcels were two parcels last year, cut in half (this year: merged);
* some parcels changed status: cultivated last year and abandoned now
  (newly abandoned), abandoned last year and cultivated now (re-cultivated),
  fallow last year and cultivated now;
* a few parcels of last year are no farmland any more (lost: placed in gaps
  where this year's survey has no farmland), and a few of this year's parcels
  were no farmland last year (new);
* one village digitised 0.2 m east (noise the comparison ignores).

The layer ``farmland`` is written in EPSG:4490 with the town's farmland columns.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["build_previous_survey", "write_previous_survey"]

log = logging.getLogger(__name__)

_GK = "EPSG:4544"  # CGCS2000 Gauss-Kruger CM 105E, the demo town's zone
_STATUS_ZH = {"cultivated": "耕种", "abandoned": "撂荒", "fallow": "休耕"}
_STATUS_CODE = {"耕种": "cultivated", "撂荒": "abandoned", "休耕": "fallow"}


def _neighbour_pairs(g: gpd.GeoDataFrame, rng: np.random.Generator, k: int, used: set[int]) -> list[tuple[int, int]]:
    """``k`` pairs of parcels of one village sharing an edge, none in ``used``."""
    geoms = np.asarray(g.geometry.values, dtype=object)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="touches")
    keep = (i < j) & (g["village_id"].to_numpy()[i] == g["village_id"].to_numpy()[j])
    i, j = i[keep], j[keep]
    shared = shapely.length(shapely.intersection(geoms[i], geoms[j]))
    i, j = i[shared > 20], j[shared > 20]
    pairs: list[tuple[int, int]] = []
    for n in rng.permutation(len(i)):
        a, b = int(i[n]), int(j[n])
        if a not in used and b not in used:
            pairs.append((a, b))
            used |= {a, b}
            if len(pairs) == k:
                break
    return pairs


def _halves(poly) -> list:
    """``poly`` cut in two by a line through its centroid across its longer side."""
    minx, miny, maxx, maxy = poly.bounds
    c = poly.centroid
    if maxx - minx >= maxy - miny:
        cut = shapely.box(minx - 1, miny - 1, c.x, maxy + 1)
    else:
        cut = shapely.box(minx - 1, miny - 1, maxx + 1, c.y)
    return [poly.intersection(cut), poly.difference(cut)]


def _gap_copies(g: gpd.GeoDataFrame, rng: np.random.Generator, k: int) -> list:
    """``k`` parcel shapes moved into gaps with no farmland (at least 20 m from any)."""
    geoms = np.asarray(g.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    out = []
    for n in rng.permutation(len(geoms)):
        for dx, dy in ((300, 0), (0, 300), (-300, 0), (0, -300), (500, 500)):
            moved = shapely.affinity.translate(geoms[n], dx, dy)
            if not len(tree.query(moved.buffer(20), predicate="intersects")) and not any(
                moved.buffer(20).intersects(o) for o in out
            ):
                out.append(moved)
                break
        if len(out) == k:
            break
    return out


def build_previous_survey(farmland: gpd.GeoDataFrame, *, seed: int = 2022) -> tuple[gpd.GeoDataFrame, dict]:
    """Last year's farmland from this year's (see the module docstring); returns (layer, report).

    Parameters
    ----------
    farmland : GeoDataFrame
        This year's farmland (``parcel_id``, ``village_id``, ``status``), any CRS.
    seed : int, default 2022
        The same seed gives the same survey.

    Returns
    -------
    (GeoDataFrame, dict)
        Last year's farmland in EPSG:4490, and what was planted (this year's ids).
    """
    rng = np.random.default_rng(seed)
    g = farmland.to_crs(_GK).reset_index(drop=True).copy()
    code = g["status"].astype(str).map(lambda s: _STATUS_CODE.get(s, s))
    used: set[int] = set()
    split = _neighbour_pairs(g, rng, 2, used)  # one parcel last year, two now
    merged = [int(x) for x in rng.permutation(np.setdiff1d(np.arange(len(g)), list(used)))[:2]]
    used |= set(merged)
    free = np.setdiff1d(np.arange(len(g)), list(used))
    pick = rng.permutation(free)
    ab, cu, fa = (pick[code.to_numpy()[pick] == s] for s in ("abandoned", "cultivated", "fallow"))
    newly, reculti, fallow_now = ab[:12], cu[:8], fa[:3]
    new_only = cu[8:12]  # not farmland last year
    status = code.copy()
    status.iloc[newly] = "cultivated"
    status.iloc[reculti] = "abandoned"
    status.iloc[fallow_now] = "cultivated"  # fallow now, cultivated last year: another status change
    rows = g.assign(status=status)
    geoms = list(rows.geometry)
    drop = set(new_only.tolist())
    for a, b in split:
        geoms[a] = shapely.union_all([geoms[a], geoms[b]])
        drop.add(b)
    extra = []
    for m in merged:
        first, second = _halves(geoms[m])
        geoms[m] = first
        extra.append(rows.iloc[[m]].assign(geometry=[second]))
    rows = rows.set_geometry(geoms)
    noisy = rows["village_id"] == sorted(rows["village_id"].unique())[-1]
    rows.loc[noisy, "geometry"] = rows.loc[noisy].geometry.translate(0.2, 0)
    lost_geoms = _gap_copies(g, rng, 3)
    lost = rows.iloc[pick[: len(lost_geoms)]].assign(geometry=lost_geoms, status="cultivated")
    out = pd.concat([rows.drop(index=sorted(drop)), *extra, lost], ignore_index=True)
    out = out.iloc[rng.permutation(len(out))].reset_index(drop=True)  # survey order differs
    n = out.groupby("village_id", sort=False).cumcount() + 1
    out["parcel_id"] = out["village_id"].astype(str) + "-22-" + n.map("{:05d}".format)
    out["status"] = out["status"].map(lambda s: _STATUS_ZH.get(s, s))
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=_GK).to_crs(4490)
    ids = g["parcel_id"].astype(str)
    report = {
        "split_now": [[ids[a], ids[b]] for a, b in split],
        "merged_now": [ids[m] for m in merged],
        "newly_abandoned": ids[newly].tolist(),
        "recultivated": ids[reculti].tolist(),
        "new_now": ids[new_only].tolist(),
        "lost": len(lost_geoms),
        "shifted_village": str(sorted(g["village_id"].unique())[-1]),
    }
    return out, report


def write_previous_survey(town_gpkg: Path, out_path: Path, *, seed: int = 2022) -> Path:
    """Write last year's survey built from ``town_gpkg``'s farmland to ``out_path`` (layer ``farmland``)."""
    import pyogrio

    from gis_town.io.write import atomic_path

    farmland = pyogrio.read_dataframe(town_gpkg, layer="farmland")
    out, report = build_previous_survey(farmland, seed=seed)
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        pyogrio.write_dataframe(out, tmp, layer="farmland", driver="GPKG")
    log.info("上年调查已生成 last year's survey written to %s: %s", out_path, report)
    return out_path
