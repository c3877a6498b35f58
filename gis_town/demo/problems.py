"""River problems of the demo town (``river_problems.gpkg``), for the patrol run's 清四乱 and 回头看.

Built deterministically from the demo town's rivers and patrol tracks, so that
the 2023 patrol run (as of 2023-12-31) shows every state:

* closed and looked at again: placed about 10 m from a fix of a valid trip,
  rectified a few days before that trip (回头看 passed);
* closed and not looked at again: placed where no valid trip came within
  100 m after the (late-year) rectified date;
* open and overdue (reported June to October, never rectified), open and
  recent (reported in December), closed late (after more than 30 days);
* a few without a segment id (put on the nearest segment) and one illegal
  building 260 m from the river (flagged: beyond ``problem_snap_m``).

The layer ``problems`` is written in EPSG:4490 with Chinese kinds (乱堆, 垃圾 ...),
as a town office keeps them. :func:`write_river_problems` builds it.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["build_river_problems", "write_river_problems"]

log = logging.getLogger(__name__)

_GK = "EPSG:4544"  # CGCS2000 Gauss-Kruger CM 105E, the demo town's zone
_AS_OF = dt.date(2023, 12, 31)

#: (kind, typical note) of the problems a patrol finds on the Guanchuan rivers.
_KINDS: list[tuple[str, str]] = [
    ("垃圾", "河道内生活垃圾堆积"),
    ("垃圾", "桥下漂浮物、塑料袋"),
    ("乱堆", "岸坡堆放建筑垃圾"),
    ("乱堆", "河滩堆放秸秆、柴草"),
    ("乱占", "河道内种植农作物"),
    ("乱占", "养殖圈舍占用河滩"),
    ("乱建", "河道管理范围内新建彩钢房"),
    ("乱采", "河床非法取土采砂"),
    ("排污", "养殖场污水直排入河"),
    ("其他", "护岸损毁"),
]


def _offset(x: float, y: float, rng: np.random.Generator, dist: float) -> tuple[float, float]:
    a = rng.uniform(0, 2 * np.pi)
    return x + dist * np.cos(a), y + dist * np.sin(a)


def _dates(rng: np.random.Generator, rectified: dt.date, lo: int, hi: int) -> tuple[dt.date, dt.date]:
    return rectified - dt.timedelta(days=int(rng.integers(lo, hi + 1))), rectified


def _revisited(rng, fixes: pd.DataFrame, k: int) -> list[dict]:
    """Problems ~10 m from a valid fix by the river, rectified 2-15 days before that trip."""
    near = fixes[(fixes["river_m"] < 15) & (fixes["day"] >= pd.Timestamp("2023-04-15"))]
    trips = near.drop_duplicates("trip")
    out = []
    for _, f in trips.iloc[rng.permutation(len(trips))[:k]].iterrows():
        x, y = _offset(f["x_m"], f["y_m"], rng, 10.0)
        rect = f["day"].date() - dt.timedelta(days=int(rng.integers(2, 16)))
        out.append({"x": x, "y": y, "dates": _dates(rng, rect, 4, 25), "case": "revisited"})
    return out


def _not_revisited(rng, segs: gpd.GeoDataFrame, fixes: pd.DataFrame, k: int) -> list[dict]:
    """Problems 20 m off a segment where no valid trip came within 100 m after a late rectified date."""
    out: list[dict] = []
    late = fixes[fixes["day"] >= pd.Timestamp("2023-11-01")]
    tree = shapely.STRtree(shapely.points(late[["x_m", "y_m"]].to_numpy()))
    geoms = np.asarray(segs.geometry.values, dtype=object)
    for _ in range(400):
        i = int(rng.integers(len(geoms)))
        p = shapely.line_interpolate_point(geoms[i], rng.uniform(0.1, 0.9), normalized=True)
        x, y = _offset(p.x, p.y, rng, 20.0)
        rect = dt.date(2023, 11, 1) + dt.timedelta(days=int(rng.integers(0, 40)))
        hit = tree.query(shapely.Point(x, y), predicate="dwithin", distance=100.0)
        if any(late["day"].iloc[j].date() > rect for j in hit):
            continue
        out.append({"x": x, "y": y, "dates": _dates(rng, rect, 5, 20), "case": "not_revisited"})
        if len(out) == k:
            break
    return out


def _on_river(rng, segs: gpd.GeoDataFrame, k: int, case: str, dates) -> list[dict]:
    geoms = np.asarray(segs.geometry.values, dtype=object)
    out = []
    for _ in range(k):
        i = int(rng.integers(len(geoms)))
        p = shapely.line_interpolate_point(geoms[i], rng.uniform(0.05, 0.95), normalized=True)
        x, y = _offset(p.x, p.y, rng, float(rng.uniform(5, 35)))
        out.append({"x": x, "y": y, "dates": dates(rng), "case": case})
    return out


def _overdue(rng) -> tuple[dt.date, None]:
    return dt.date(2023, 6, 1) + dt.timedelta(days=int(rng.integers(0, 140))), None


def _recent(rng) -> tuple[dt.date, None]:
    return dt.date(2023, 12, 5) + dt.timedelta(days=int(rng.integers(0, 16))), None


def _closed_late(rng) -> tuple[dt.date, dt.date]:
    rep = dt.date(2023, 3, 10) + dt.timedelta(days=int(rng.integers(0, 120)))
    return rep, rep + dt.timedelta(days=int(rng.integers(35, 70)))


def _valid_fixes(town_gpkg: Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The demo's segments (Gauss-Kruger) and the fixes of its valid trips, with distance to the river (m)."""
    import pyogrio

    from gis_town.analysis.patrol import analyze_patrols, prepare_rivers
    from gis_town.config import TownConfig

    rivers = pyogrio.read_dataframe(town_gpkg, layer="rivers")
    patrols = pyogrio.read_dataframe(town_gpkg, layer="patrols")
    res = analyze_patrols(patrols, rivers, config=TownConfig(), as_of=_AS_OF, gk_crs=_GK, keep_points=True)
    segs = prepare_rivers(rivers, gk_crs=_GK)
    valid = res.trips.loc[res.trips["valid"].to_numpy(dtype=bool), "trip"]
    pts = res.points[res.points["trip"].isin(valid)].copy()
    pts["day"] = pd.DatetimeIndex(pts["time"]).tz_convert("Asia/Shanghai").tz_localize(None).normalize()
    river = shapely.union_all(np.asarray(segs.geometry.values, dtype=object))
    pts["river_m"] = shapely.distance(shapely.points(pts[["x_m", "y_m"]].to_numpy()), river)
    return segs, pts.reset_index(drop=True)


def _far_point(rng: np.random.Generator, geoms: np.ndarray) -> tuple[float, float]:
    """A point 230-350 m from every segment (beyond problem_snap_m, 200 m)."""
    river = shapely.union_all(geoms)
    for _ in range(1000):
        p = shapely.line_interpolate_point(geoms[int(rng.integers(len(geoms)))], rng.uniform(0.2, 0.8), normalized=True)
        x, y = _offset(p.x, p.y, rng, 280.0)
        if 230.0 <= shapely.distance(shapely.Point(x, y), river) <= 350.0:
            return x, y
    raise RuntimeError("no point 230-350 m from the rivers")  # pragma: no cover


def build_river_problems(town_gpkg: str | Path, *, seed: int = 2023) -> gpd.GeoDataFrame:
    """The demo town's river problems (about 25), in EPSG:4490, from its rivers and valid trips."""
    rng = np.random.default_rng(seed)
    segs, fixes = _valid_fixes(Path(town_gpkg))
    cases = (
        _revisited(rng, fixes, 8)
        + _not_revisited(rng, segs, fixes, 4)
        + _on_river(rng, segs, 6, "overdue", _overdue)
        + _on_river(rng, segs, 3, "recent", _recent)
        + _on_river(rng, segs, 3, "closed_late", _closed_late)
    )
    geoms = np.asarray(segs.geometry.values, dtype=object)
    far_x, far_y = _far_point(rng, geoms)
    cases.append({"x": far_x, "y": far_y, "dates": (dt.date(2023, 8, 14), None), "case": "far",
                  "kind": ("乱建", "距河道较远的违建房屋，待核实是否在管理范围内")})
    pts = shapely.points([(c["x"], c["y"]) for c in cases])
    seg_i = shapely.STRtree(geoms).query_nearest(pts, all_matches=False)[1]
    rows = []
    kinds = [_KINDS[i % len(_KINDS)] for i in rng.permutation(len(cases))]  # every kind, 2-3 times
    for n, (c, si) in enumerate(zip(cases, seg_i), start=1):
        kind, note = c.get("kind") or kinds[n - 1]
        seg = segs.iloc[int(si)]
        given = c["case"] != "far" and rng.uniform() > 0.15
        reporter = seg["chief"] if rng.uniform() > 0.25 else "网格员" + str(seg["segment_id"])[-2:]
        rep, rect = c["dates"]
        rows.append({
            "problem_id": f"WT2023-{n:03d}",
            "kind": kind,
            "segment_id": seg["segment_id"] if given else None,
            "reported_date": pd.Timestamp(rep),
            "reported_by": reporter,
            "rectified_date": pd.Timestamp(rect) if rect is not None else pd.NaT,
            "photo": f"照片/WT2023-{n:03d}.jpg",
            "note": note,
        })
    order = np.argsort([r["reported_date"] for r in rows], kind="stable")
    out = gpd.GeoDataFrame([rows[i] for i in order], geometry=[pts[i] for i in order], crs=_GK)
    out["problem_id"] = [f"WT2023-{n:03d}" for n in range(1, len(out) + 1)]
    out["photo"] = [f"照片/{pid}.jpg" for pid in out["problem_id"]]
    return out.to_crs("EPSG:4490")


def write_river_problems(town_gpkg: str | Path, out_path: str | Path, *, seed: int = 2023) -> Path:
    """Write the demo town's river problems built from ``town_gpkg`` to ``out_path`` (layer ``problems``)."""
    from gis_town.io.write import write_gpkg_layers

    out = build_river_problems(town_gpkg, seed=seed)
    out_path = write_gpkg_layers({"problems": out}, out_path)
    log.info("河湖问题已生成 river problems written to %s: %d problems", out_path, len(out))
    return out_path
