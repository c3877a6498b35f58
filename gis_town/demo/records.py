"""Activity records of the demo town: river segments and patrols, afforestation, resettlement.

All geometry in EPSG:4544 metres; times are naive local (Asia/Shanghai) times.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, Polygon

from gis_town.demo import landscape as L
from gis_town.demo.names import NameMaker
from gis_town.demo.world import Frame

log = logging.getLogger(__name__)

YEAR = 2023
#: Default annual patrols per chief level (the town config's ``patrol.targets``).
PATROL_TARGETS = {"county": 4, "town": 12, "village": 24, "grid": 52}

# --------------------------------------------------------------------------- rivers


def river_segments(
    frame: Frame, vids: list[str], rng: np.random.Generator, names: NameMaker
) -> pd.DataFrame:
    """Cut the rivers at village boundaries into segments of about 1.1-2.2 km and give each a chief.

    Chiefs: one county chief (区级河长) on two main-stem segments, four town
    chiefs (镇级) on the rest of the main stem and the tributaries' lower
    segments, the village secretary (村级) on the other tributary segments and
    gullies of the village, and grid patrollers (网格员) on some gullies.
    """
    rows = []
    basins = ["石峡河流域", "柳家河流域", "大营河流域"]
    for ri, r in enumerate(frame.rivers):
        line = shapely.intersection(r.line, frame.outline)
        parts = [p for p in shapely.get_parts(shapely.line_merge(line)) if p.length > 1000.0]
        for part in parts:
            # break at village boundaries, then merge pieces shorter than 1.5 km
            cuts = [0.0, part.length]
            for v in frame.villages:
                inter = shapely.intersection(part, v.boundary)
                for q in shapely.get_parts(inter):
                    if q.geom_type == "Point":
                        cuts.append(float(part.project(q)))
            cuts = np.unique(np.round(cuts, 3))
            pieces = [[cuts[i], cuts[i + 1]] for i in range(len(cuts) - 1)]
            merged: list[list[float]] = []
            for a, b in pieces:
                if merged and (b - a < 1200.0 or merged[-1][1] - merged[-1][0] < 1200.0):
                    merged[-1][1] = b
                else:
                    merged.append([a, b])
            final: list[tuple[float, float]] = []
            for a, b in merged:
                k = int(np.ceil((b - a) / 2200.0))
                edges = np.linspace(a, b, k + 1)
                final.extend(zip(edges[:-1], edges[1:], strict=True))
            for a, b in final:
                seg = shapely.ops.substring(part, a, b)
                mid = seg.interpolate(0.5, normalized=True)
                vi = int(np.argmax([v.contains(mid) for v in frame.villages]))
                rows.append(
                    {
                        "river": ri,
                        "kind": r.kind,
                        "basin_i": r.basin,
                        "line": seg,
                        "village": vi,
                        "s0": a,
                    }
                )
    df = pd.DataFrame(rows)
    # basin of a main-stem segment: the basin of its village (set by the caller's zone assignment)
    df["river_name"] = [frame.rivers[i].name for i in df["river"]]
    df = df.sort_values(["river", "s0"]).reset_index(drop=True)
    df["segment_id"] = [f"HD{i + 1:02d}" for i in range(len(df))]
    df["village_id"] = [vids[v] for v in df["village"]]
    df["basin"] = [basins[b] if b >= 0 else "关川河干流" for b in df["basin_i"]]
    # chiefs
    county = names.person()
    town_chiefs = names.people(4)
    secretaries = {v: names.person() for v in sorted(df["village"].unique())}
    grids = names.people(6)
    chief, chief_id, level = [], [], []
    main_idx = np.flatnonzero(df["kind"].to_numpy() == "main")
    central = main_idx[np.argsort(np.abs(np.arange(main_idx.size) - (main_idx.size - 1) / 2))[:2]]
    g_i = 0
    t_i = 0
    for i, row in df.iterrows():
        if i in central:
            chief.append(county)
            chief_id.append("HZ-C01")
            level.append("county")
        elif row["kind"] == "main" or (row["kind"] == "tributary" and row["s0"] == 0.0):
            k = t_i % 4
            t_i += 1
            chief.append(town_chiefs[k])
            chief_id.append(f"HZ-T{k + 1:02d}")
            level.append("town")
        elif row["kind"] == "gully" and rng.random() < 0.45:
            k = g_i % len(grids)
            g_i += 1
            chief.append(grids[k])
            chief_id.append(f"HZ-G{k + 1:02d}")
            level.append("grid")
        else:
            v = int(row["village"])
            chief.append(secretaries[v])
            chief_id.append(f"HZ-V{v + 1:02d}")
            level.append("village")
    df["chief"] = chief
    df["chief_id"] = chief_id
    df["chief_level"] = level
    # explicit targets on some segments (the others take the level default)
    target = pd.array([pd.NA] * len(df), dtype="Int64")
    for i in range(len(df)):
        if (
            df.loc[i, "chief_level"] == "town"
            and df.loc[i, "kind"] == "main"
            and rng.random() < 0.4
        ):
            target[i] = 24
        elif (
            df.loc[i, "chief_level"] == "village"
            and df.loc[i, "kind"] == "gully"
            and rng.random() < 0.3
        ):
            target[i] = 12
    df["annual_patrol_target"] = target
    return df


# --------------------------------------------------------------------------- patrols


def _offset_path(line: LineString, offset_m: float) -> np.ndarray:
    """Vertices every 10 m along ``line`` moved sideways by ``offset_m`` (a bank path)."""
    n = max(int(line.length / 10.0), 2)
    d = np.linspace(0.0, line.length, n)
    p = shapely.get_coordinates(shapely.line_interpolate_point(line, d))
    t = np.gradient(p, axis=0)
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)
    return p + np.column_stack([-t[:, 1], t[:, 0]]) * offset_m


def _walk(
    path: np.ndarray,
    s_from: float,
    s_to: float,
    speed_ms: float,
    start: dt.datetime,
    rng: np.random.Generator,
    noise_m: float,
    dt_range=(20.0, 60.0),
) -> tuple[np.ndarray, list[dt.datetime]]:
    """Positions and times of a walk along ``path`` between two along-path positions."""
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
    dist = abs(s_to - s_from)
    total_s = dist / speed_ms
    steps = rng.uniform(*dt_range, size=int(total_s / dt_range[0]) + 2)
    t = np.concatenate([[0.0], np.cumsum(steps)])
    t = t[t <= total_s]
    s = s_from + np.sign(s_to - s_from) * t * speed_ms * rng.uniform(
        0.9, 1.1, t.size
    ).cumsum() / np.arange(1, t.size + 1)
    s = np.clip(s, min(s_from, s_to), max(s_from, s_to))
    x = np.interp(s, cum, path[:, 0]) + rng.normal(0, noise_m / np.sqrt(2), s.size)
    y = np.interp(s, cum, path[:, 1]) + rng.normal(0, noise_m / np.sqrt(2), s.size)
    times = [start + dt.timedelta(seconds=float(round(v))) for v in t]
    return np.column_stack([x, y]), times


def _patrol_days(n: int, profile: str, rng: np.random.Generator, target: int) -> list[dt.date]:
    """Dates of ``n`` patrols in 2023 following a chief's profile.

    diligent: 80% of the target by June 30 and all of it by September 30;
    on_track: about 72% by June 30, 100% by September 30; lazy: spread over
    the year (well under 70% by June 30).
    """
    jan1 = dt.date(YEAR, 1, 3)
    jun30 = dt.date(YEAR, 6, 30)
    sep30 = dt.date(YEAR, 9, 30)
    dec = dt.date(YEAR, 12, 28)

    def spread(k: int, a: dt.date, b: dt.date) -> list[dt.date]:
        if k <= 0:
            return []
        span = (b - a).days
        base = np.linspace(0, span, k, endpoint=False) + rng.uniform(0, span / k, k)
        return [a + dt.timedelta(days=int(v)) for v in base]

    if profile == "diligent":
        h1 = int(np.ceil(0.8 * target))
        q3 = max(target - h1, 0) + 1
        rest = max(n - h1 - q3, 0)
        return (
            spread(min(h1, n), jan1, jun30)
            + spread(min(q3, max(n - h1, 0)), jun30 + dt.timedelta(days=1), sep30)
            + spread(rest, sep30 + dt.timedelta(days=1), dec)
        )
    if profile == "on_track":
        h1 = int(np.ceil(0.72 * target))
        q3 = max(target - h1, 0)
        rest = max(n - h1 - q3, 0)
        return (
            spread(min(h1, n), jan1, jun30)
            + spread(min(q3, max(n - h1, 0)), jun30 + dt.timedelta(days=1), sep30)
            + spread(rest, sep30 + dt.timedelta(days=1), dec)
        )
    return spread(n, jan1, dec)


def patrol_points(
    frame: Frame, seg: pd.DataFrame, rng: np.random.Generator, *, scale: float = 1.0
) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """A year of patrol GPS points for every chief, with planted problems.

    Returns the records (chief, chief_id, time), their coordinates (EPSG:4544)
    and a description of the chiefs' profiles and the planted problems.
    """
    chiefs = seg.groupby("chief_id", sort=True).first()[["chief", "chief_level"]]
    ids = list(chiefs.index)
    prof = {}
    for cid in ids:
        u = rng.random()
        prof[cid] = (
            "diligent" if u < 0.3 else "on_track" if u < 0.65 else "lazy" if u < 0.9 else "token"
        )
    # make sure every profile is present
    for cid, p in zip(ids[:4], ["diligent", "lazy", "token", "on_track"], strict=False):
        prof[cid] = p
    prof["HZ-C01"] = "diligent"
    xs: list[np.ndarray] = []
    rec_chief, rec_id, rec_time = [], [], []
    trip_start: list[tuple[str, dt.datetime, int]] = []
    rec_trip: list[int] = []
    planted: dict[str, list] = {
        "drive_by": [],
        "stop": [],
        "crossing": [],
        "out_of_order": [],
        "gap": [],
        "split": [],
    }

    busy: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    gap = dt.timedelta(minutes=45)

    def emit(cid: str, xy: np.ndarray, times: list[dt.datetime], kind: str | None = None) -> None:
        """Record a trip; move it a day on while it would run into another trip of the chief."""
        lo, hi = min(times), max(times)
        shift = dt.timedelta(0)
        step = dt.timedelta(days=1) if hi.date() < dt.date(YEAR, 12, 20) else dt.timedelta(days=-1)
        while any(lo + shift < b + gap and a < hi + shift + gap for a, b in busy.get(cid, [])):
            shift += step
        times = [t + shift for t in times]
        busy.setdefault(cid, []).append((lo + shift, hi + shift))
        trip_no = len(trip_start)
        trip_start.append((cid, lo + shift, trip_no))
        xs.append(xy)
        rec_chief.extend([chiefs.loc[cid, "chief"]] * len(times))
        rec_id.extend([cid] * len(times))
        rec_time.extend(times)
        rec_trip.extend([trip_no] * len(times))
        if kind is not None:
            planted[kind].append((cid, times[0].isoformat()))

    out_of_order_done = False
    for _, row in seg.iterrows():
        cid = row["chief_id"]
        level = row["chief_level"]
        target = (
            int(row["annual_patrol_target"])
            if pd.notna(row["annual_patrol_target"])
            else PATROL_TARGETS[level]
        )
        p = prof[cid]
        factor = {
            "diligent": rng.uniform(1.05, 1.3),
            "on_track": rng.uniform(1.0, 1.08),
            "lazy": rng.uniform(0.5, 0.75),
            "token": rng.uniform(0.45, 0.6),
        }[p]
        n_valid = max(1, int(round(target * factor * scale)))
        days = _patrol_days(n_valid, "lazy" if p == "token" else p, rng, int(round(target * scale)))
        line: LineString = row["line"]
        for day in days:
            side = rng.choice([-1.0, 1.0])
            path = _offset_path(line, side * rng.uniform(8.0, 25.0))
            length = line.length
            f0 = rng.uniform(0.0, 0.1)
            f1 = rng.uniform(0.9, 1.0)
            a, b = (f0 * length, f1 * length) if rng.random() < 0.5 else (f1 * length, f0 * length)
            start = dt.datetime.combine(day, dt.time(8, 0)) + dt.timedelta(
                minutes=int(rng.integers(0, 8 * 60))
            )
            xy, times = _walk(
                path, a, b, rng.uniform(3.0, 4.5) / 3.6, start, rng, rng.uniform(5.0, 10.0)
            )
            kind = None
            if len(times) > 20 and rng.random() < 0.05:
                # the GPS lost its fix for a few minutes
                k0 = int(rng.integers(5, len(times) - 12))
                k1 = k0 + int(rng.integers(4, 10))
                keep = np.r_[0:k0, k1 : len(times)]
                kind = "gap"
                xy, times = xy[keep], [times[i] for i in keep]
            emit(cid, xy, times, kind)
        if p == "token":
            # token patrols to pad the app's count: drive-bys and short stops
            n_tok = max(1, int(round(target * scale * rng.uniform(0.4, 0.6))))
            for day in _patrol_days(n_tok, "lazy", rng, n_tok):
                start = dt.datetime.combine(day, dt.time(9, 0)) + dt.timedelta(
                    minutes=int(rng.integers(0, 7 * 60))
                )
                path = _offset_path(line, rng.choice([-1.0, 1.0]) * rng.uniform(15.0, 35.0))
                if rng.random() < 0.5:
                    xy, times = _walk(
                        path, 0.0, line.length * rng.uniform(0.7, 1.0), 40.0 / 3.6, start, rng, 8.0
                    )
                    kind = "drive_by"
                else:
                    s_at = rng.uniform(0.2, 0.8) * line.length
                    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
                    c = np.array(
                        [np.interp(s_at, cum, path[:, 0]), np.interp(s_at, cum, path[:, 1])]
                    )
                    t = np.cumsum(rng.uniform(20, 60, 20))
                    t = np.concatenate([[0.0], t[t <= 300]])
                    xy = c + rng.normal(0, 5.0, (t.size, 2))
                    times = [start + dt.timedelta(seconds=float(round(v))) for v in t]
                    kind = "stop"
                if len(times) >= 2:
                    emit(cid, xy, times, kind)
        if rng.random() < 0.12:
            # a track that crosses the river without following it
            mid = line.interpolate(rng.uniform(0.2, 0.8), normalized=True)
            nxt = line.interpolate(min(line.project(mid) + 10.0, line.length))
            t = np.array([nxt.x - mid.x, nxt.y - mid.y])
            t /= max(np.linalg.norm(t), 1e-9)
            nrm = np.array([-t[1], t[0]])
            path = np.vstack(
                [np.array([mid.x, mid.y]) - nrm * 180.0, np.array([mid.x, mid.y]) + nrm * 180.0]
            )
            day = dt.date(YEAR, int(rng.integers(3, 11)), int(rng.integers(1, 28)))
            start = dt.datetime.combine(day, dt.time(10, int(rng.integers(0, 59))))
            xy, times = _walk(path, 0.0, 360.0, 4.0 / 3.6, start, rng, 6.0)
            emit(cid, xy, times, "crossing")
        if not out_of_order_done and p == "on_track" and line.length > 2000:
            # one trip whose timestamps are out of order (a block reversed)
            day = dt.date(YEAR, 5, 16)
            start = dt.datetime.combine(day, dt.time(9, 12))
            path = _offset_path(line, 12.0)
            xy, times = _walk(
                path, 0.05 * line.length, 0.95 * line.length, 4.0 / 3.6, start, rng, 6.0
            )
            k0 = len(times) // 3
            times = times[:k0] + times[k0 : k0 + 8][::-1] + times[k0 + 8 :]
            emit(cid, xy, times, "out_of_order")
            out_of_order_done = True
    # one walk split by a 40-minute pause (two trips by the 30-minute rule)
    row = seg.iloc[int(np.argmax(seg["line"].map(lambda g: g.length)))]
    path = _offset_path(row["line"], 15.0)
    start = dt.datetime(YEAR, 8, 9, 8, 40)
    xy, times = _walk(path, 0.0, 0.95 * row["line"].length, 3.6 / 3.6, start, rng, 6.0)
    half = len(times) // 2
    times = times[:half] + [t + dt.timedelta(minutes=40) for t in times[half:]]
    emit(row["chief_id"], xy, times, "split")

    df = pd.DataFrame({"chief": rec_chief, "chief_id": rec_id, "time": pd.to_datetime(rec_time)})
    coords = np.vstack(xs)
    # rows as the app exports them: by chief, trip by trip, each trip in recorded order
    starts = {k: (c, t) for c, t, k in trip_start}
    key = pd.DataFrame(
        {"c": rec_id, "t": [starts[k][1] for k in rec_trip], "i": np.arange(len(df))}
    )
    order = key.sort_values(["c", "t", "i"], kind="stable").index.to_numpy()
    df = df.iloc[order].reset_index(drop=True)
    coords = coords[order]
    return df, coords, {"profiles": prof, "planted": planted}


# --------------------------------------------------------------------------- afforestation


def afforestation(
    frame: Frame, parcels: np.ndarray, vil_of, rng: np.random.Generator
) -> tuple[list[dict], list[dict], dict]:
    """Hillside (面山绿化) and economic-forest (经济林) plots and four-sides (四旁植树) sites.

    Plots are outside the farmland; hillside plots on slopes facing the two
    main roads, economic forest on gentle slopes near settlements. A few
    plots' declared areas differ from the measured ones by more than 5%.
    """
    t = frame.terrain
    g = t.grid
    xs, ys = g.centers()
    inside = shapely.contains_xy(frame.outline.buffer(-100.0), xs, ys)
    busy = shapely.union_all(
        [frame.cultivable]
        + [r.line.buffer(10.0) for r in frame.roads]
        + [r.line.buffer(30.0) for r in frame.rivers]
        + [
            Point(p).buffer(r + 30)
            for p, r in zip(frame.settlements.xy, frame.settlements.radius_m, strict=True)
        ]
    )
    shapely.prepare(busy)
    main_roads = shapely.union_all(
        [r.line for r in frame.roads if r.road_class in ("县道", "乡道")]
    )
    road_d = shapely.distance(
        main_roads, shapely.points(xs[::3, ::3].ravel(), ys[::3, ::3].ravel())
    ).reshape(xs[::3, ::3].shape)
    road_d = np.kron(road_d, np.ones((3, 3)))[: g.nrows, : g.ncols]
    cand_h = inside & (t.slope_deg > 15) & (t.slope_deg < 35) & (road_d < 1500) & (road_d > 150)
    s = frame.settlements
    setl_d = np.min(np.hypot(xs[..., None] - s.xy[:, 0], ys[..., None] - s.xy[:, 1]), axis=-1)
    cand_e = inside & (t.slope_deg > 4) & (t.slope_deg < 14) & (setl_d < 900) & (setl_d > 200)
    plots: list[dict] = []
    taken: list[Polygon] = []

    def make_plots(cand: np.ndarray, kind: str, n: int, r_range: tuple[float, float]) -> None:
        idx = np.flatnonzero(cand.ravel())
        rng.shuffle(idx)
        made = 0
        for c in idx:
            if made >= n:
                break
            cx, cy = xs.ravel()[c], ys.ravel()[c]
            if busy.contains(Point(cx, cy)):
                continue
            r = rng.uniform(*r_range)
            blob = Point(cx, cy).buffer(r, 16)
            # an irregular outline: scale the radius by a smooth angular noise
            coords = np.asarray(blob.exterior.coords)[:-1]
            ang = np.arctan2(coords[:, 1] - cy, coords[:, 0] - cx)
            k = (
                1
                + 0.25 * np.sin(2 * ang + rng.uniform(0, 6.3))
                + 0.12 * np.sin(3 * ang + rng.uniform(0, 6.3))
            )
            poly = Polygon(
                np.column_stack([cx + (coords[:, 0] - cx) * k, cy + (coords[:, 1] - cy) * k])
            )
            poly = shapely.difference(poly, busy)
            if taken:
                poly = shapely.difference(poly, shapely.union_all(taken))
            poly = shapely.intersection(poly, frame.outline)
            parts = [p for p in shapely.get_parts(poly) if p.geom_type == "Polygon"]
            if not parts:
                continue
            poly = max(parts, key=lambda p: p.area)
            if poly.area < 0.55 * np.pi * r * r:
                continue
            taken.append(poly.buffer(5.0))
            plots.append({"kind": kind, "geom": poly})
            made += 1

    make_plots(cand_h, "面山绿化", 16, (90.0, 200.0))
    make_plots(cand_e, "经济林", 12, (55.0, 110.0))
    for p in plots:
        p["village"] = int(vil_of(np.array([[p["geom"].centroid.x, p["geom"].centroid.y]]))[0])
    # four-sides sites: beside village roads and around settlements
    sites: list[dict] = []
    vroads = [r for r in frame.roads if r.road_class in ("村道", "县道", "乡道")]
    for _ in range(140):
        if rng.random() < 0.6:
            r = vroads[int(rng.integers(0, len(vroads)))]
            p = r.line.interpolate(rng.uniform(0.05, 0.95), normalized=True)
            q = r.line.interpolate(min(r.line.project(p) + 5.0, r.line.length))
            tt = np.array([q.x - p.x, q.y - p.y])
            tt /= max(np.linalg.norm(tt), 1e-9)
            xy = np.array([p.x, p.y]) + np.array([-tt[1], tt[0]]) * rng.choice(
                [-1, 1]
            ) * rng.uniform(6, 12)
        else:
            k = int(rng.integers(0, len(s.xy)))
            a = rng.uniform(0, 2 * np.pi)
            xy = s.xy[k] + (s.radius_m[k] + rng.uniform(0, 40)) * np.array([np.cos(a), np.sin(a)])
        if not frame.outline.contains(Point(xy)):
            continue
        sites.append({"xy": xy, "village": int(vil_of(xy[None, :])[0])})
    return plots, sites, {}


# --------------------------------------------------------------------------- resettlement


def _d(s: str | None) -> dt.date | None:
    return None if s is None else dt.date.fromisoformat(s)


def resettlement(
    frame: Frame,
    vids: list[str],
    rng: np.random.Generator,
    names: NameMaker,
    *,
    n_2023: int = 48,
    n_2022: int = 15,
) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """Households relocated from geological-hazard sites (地质灾害避险搬迁).

    Old houses sit on hill slopes (12-22 degrees) 150-800 m from a settlement.
    Stage dates follow the plan's milestones with most households on time,
    some behind, and one planted out-of-order record (moved in before the
    housing was confirmed). Data as of 2023-12-31.
    """
    t = frame.terrain
    g = t.grid
    xs, ys = g.centers()
    s = frame.settlements
    inside = np.zeros(g.shape, dtype=bool)
    for v in frame.villages:
        inside |= shapely.contains_xy(v.buffer(-100.0), xs, ys)
    from scipy import ndimage

    slope3 = ndimage.uniform_filter(t.slope_deg, 3)
    setl_d = np.min(np.hypot(xs[..., None] - s.xy[:, 0], ys[..., None] - s.xy[:, 1]), axis=-1)
    far_from_setl = (
        setl_d
        - s.radius_m[
            np.argmin(np.hypot(xs[..., None] - s.xy[:, 0], ys[..., None] - s.xy[:, 1]), axis=-1)
        ]
    )
    cult = frame.cultivable
    red = frame.extra["red_cells"]
    steep_share = ndimage.uniform_filter((t.slope_deg > 23.0).astype(float), 3)
    ok_site = ~red & (t.river_dist_m > 60.0)
    cxy = np.column_stack([xs.ravel(), ys.ravel()])
    # the remote household (> 1 km from any road): the gentle site farthest from
    # the main and village roads; field roads near it were never built
    main_cells = (
        L.rasterize([r.line for r in frame.roads if r.road_class != "产业路"], g, all_touched=True)
        > 0
    )
    main_d = ndimage.distance_transform_edt(~main_cells) * g.cell_m
    site = inside & ok_site & (slope3 > 8) & (slope3 < 18) & (steep_share < 0.05)
    site &= ~shapely.contains_xy(frame.cultivable, xs, ys)
    far_xy = None
    if (site & (main_d > 1300.0)).any():
        cells = np.flatnonzero((site & (main_d > 1300.0)).ravel())
        far_xy = cxy[cells[int(np.argmax(main_d.ravel()[cells]))]]
        frame.roads = [
            r
            for r in frame.roads
            if r.road_class != "产业路" or r.line.distance(Point(far_xy)) > 1150.0
        ]
        road_cells = L.rasterize([r.line for r in frame.roads], g, all_touched=True) > 0
        frame.extra["road_dist_m"] = ndimage.distance_transform_edt(~road_cells) * g.cell_m
    road_d = frame.extra["road_dist_m"]
    cand = (
        inside
        & ok_site
        & (slope3 > 12)
        & (slope3 < 20)
        & (steep_share < 0.05)
        & (far_from_setl > 60)
        & (setl_d < 800)
        & (road_d < 200.0)
    )
    idx = np.flatnonzero(cand.ravel())
    rng.shuffle(idx)
    chosen: list[int] = []
    for c in idx:
        if len(chosen) >= n_2023 + n_2022:
            break
        if chosen and np.min(np.hypot(*(cxy[chosen] - cxy[c]).T)) < 120:
            continue
        if cult.contains(Point(cxy[c])):
            continue
        chosen.append(int(c))
    xy = cxy[chosen] + rng.uniform(-10, 10, (len(chosen), 2))
    steep_cells = np.flatnonzero(
        (
            inside & ok_site & (slope3 > 30) & (slope3 < 40) & (setl_d < 900) & (road_d < 200.0)
        ).ravel()
    )
    specials = {}
    if far_xy is not None:
        xy[0] = far_xy
        specials["far"] = 0
    if steep_cells.size:
        xy[1] = cxy[steep_cells[int(rng.integers(0, steep_cells.size))]]
        specials["steep"] = 1
    vil = np.array([int(np.argmax([v.contains(Point(p)) for v in frame.villages])) for p in xy])
    n = len(xy)
    cohort = np.where(np.arange(n) < n_2023, 2023, 2022)
    dest = np.where(rng.random(n) < 0.62, "进城", "乡镇")

    def day(a: str, b: str) -> dt.date:
        da, db = dt.date.fromisoformat(a), dt.date.fromisoformat(b)
        return da + dt.timedelta(days=int(rng.integers(0, (db - da).days + 1)))

    cols = [
        "agreement_signed",
        "entered",
        "filed",
        "housing_confirmed",
        "contract_signed",
        "moved_in",
        "demolished",
        "reclaimed",
        "self_inspected",
        "funds_paid",
    ]
    recs = []
    asof = dt.date(YEAR, 12, 31)
    late = rng.random(n)
    for i in range(n):
        r: dict[str, dt.date | None] = {}
        if cohort[i] == 2022:
            r["agreement_signed"] = day("2022-02-10", "2022-03-25")
            r["entered"] = r["agreement_signed"] + dt.timedelta(days=int(rng.integers(1, 10)))
            r["filed"] = r["entered"] + dt.timedelta(days=int(rng.integers(1, 15)))
            r["housing_confirmed"] = day("2022-03-01", "2022-06-10")
            r["contract_signed"] = r["housing_confirmed"] + dt.timedelta(
                days=int(rng.integers(2, 20))
            )
            r["moved_in"] = r["contract_signed"] + dt.timedelta(days=int(rng.integers(20, 80)))
            r["demolished"] = r["moved_in"] + dt.timedelta(days=int(rng.integers(15, 60)))
            r["reclaimed"] = day("2023-03-01", "2023-04-20")
            r["self_inspected"] = r["reclaimed"] + dt.timedelta(days=int(rng.integers(5, 25)))
            r["funds_paid"] = r["self_inspected"] + dt.timedelta(days=int(rng.integers(10, 40)))
        else:
            behind = late[i] > 0.85  # about 15% behind the plan
            r["agreement_signed"] = day("2023-01-06", "2023-03-18")
            r["entered"] = r["agreement_signed"] + dt.timedelta(days=int(rng.integers(1, 8)))
            r["filed"] = r["entered"] + dt.timedelta(days=int(rng.integers(1, 10)))
            if late[i] < 0.8:
                r["housing_confirmed"] = day("2023-02-15", "2023-03-30")
            elif not behind:
                r["housing_confirmed"] = day("2023-04-02", "2023-06-20")
            else:
                r["housing_confirmed"] = day("2023-05-20", "2023-08-15")
            r["contract_signed"] = r["housing_confirmed"] + dt.timedelta(
                days=int(rng.integers(1, 10))
            )
            r["moved_in"] = r["contract_signed"] + dt.timedelta(
                days=int(rng.integers(20, 75) if not behind else rng.integers(60, 150))
            )
            r["demolished"] = r["moved_in"] + dt.timedelta(
                days=int(rng.integers(10, 90) if not behind else rng.integers(60, 150))
            )
            r["reclaimed"] = r["demolished"] + dt.timedelta(days=int(rng.integers(10, 25)))
            if r["reclaimed"] > dt.date(YEAR, 12, 28):
                # demolition slipped past the winter freeze: not done this year (behind)
                r["demolished"] = r["reclaimed"] = None
            if r["reclaimed"] is None:
                r["self_inspected"] = r["funds_paid"] = None
            else:
                r["self_inspected"] = r["reclaimed"] + dt.timedelta(days=int(rng.integers(5, 20)))
                r["funds_paid"] = r["self_inspected"] + dt.timedelta(days=int(rng.integers(10, 40)))
        for k in cols:
            if r[k] is not None and r[k] > asof:
                r[k] = None
        # a stage not done blanks the later ones
        for a, b in zip(cols[5:], cols[6:], strict=False):
            if r[a] is None:
                r[b] = None
        recs.append(r)
    # the planted households (far, steep) finished on time, so their plots exist
    for k in specials.values():
        if recs[k]["demolished"] is None:
            recs[k]["moved_in"] = dt.date(YEAR, 6, 20)
            recs[k]["demolished"] = dt.date(YEAR, 8, 2)
            recs[k]["reclaimed"] = dt.date(YEAR, 8, 30)
            recs[k]["self_inspected"] = dt.date(YEAR, 9, 12)
            recs[k]["funds_paid"] = dt.date(YEAR, 10, 20)
    # the planted out-of-order record: moved in before the housing was confirmed
    k = next(
        i
        for i in range(n)
        if cohort[i] == 2023 and recs[i]["moved_in"] is not None and i not in specials.values()
    )
    recs[k]["moved_in"] = recs[k]["housing_confirmed"] - dt.timedelta(days=12)
    specials["out_of_order"] = k
    df = pd.DataFrame(recs)[cols]
    for c in cols:
        df[c] = [None if v is None else v.isoformat() for v in df[c]]
    hid = [f"BQ{cohort[i]}-{i + 1 if cohort[i] == 2023 else i - n_2023 + 1:03d}" for i in range(n)]
    df.insert(0, "household_id", hid)
    df.insert(1, "village_id", [vids[v] for v in vil])
    df.insert(2, "head", names.people(n))
    df.insert(3, "destination", dest)
    df.insert(4, "cohort", cohort.astype("int64"))
    return df, xy, specials


def homestead(xy: np.ndarray, rng: np.random.Generator, area_mu: float) -> Polygon:
    """An old homestead plot (宅基地) of ``area_mu`` around a point: a rotated rectangle."""
    area = area_mu * 10000.0 / 15.0
    ratio = rng.uniform(1.0, 1.8)
    w = np.sqrt(area / ratio)
    return L.rotated_rect(
        xy[0] + rng.uniform(-6, 6), xy[1] + rng.uniform(-6, 6), w * ratio, w, rng.uniform(0, np.pi)
    )
