"""River segments and network matching: every fix within the tolerance of a segment, with its position along it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gis_town.analysis.patrol.common import _cfg
from gis_town.analysis.patrol.points import _str_col
from gis_town.config import PatrolSection, TownConfig
from gis_town.errors import CRSError, FieldError, LayerError

log = logging.getLogger(__name__)


def prepare_rivers(
    rivers: gpd.GeoDataFrame,
    *,
    config: TownConfig | PatrolSection | None = None,
    gk_crs: str | CRS | None = None,
) -> gpd.GeoDataFrame:
    """River segments in the Gauss-Kruger zone, with their annual target and length.

    Parameters
    ----------
    rivers : GeoDataFrame
        The ``rivers`` layer: ``segment_id``, ``river_name``, ``chief``,
        ``chief_level`` (code: county/town/village/grid), optional
        ``chief_id``, ``village_id``, ``annual_patrol_target``.
    config : TownConfig or PatrolSection, optional
        ``targets`` per chief level, used where the segment has no
        ``annual_patrol_target``.
    gk_crs : str or CRS, optional
        The run's zone; picked from the data when omitted.

    Returns
    -------
    GeoDataFrame
        In ``gk_crs``; columns ``segment_id``, ``river_name``, ``chief``,
        ``chief_id``, ``chief_level``, ``village_id``, ``target`` (patrols a
        year, float: NaN when neither the segment nor the config gives one),
        ``length_m``, geometry.
    """
    cfg = _cfg(config)
    _check_rivers(rivers)
    if gk_crs is None:
        from gis_town.geodesy import pick_gk_crs

        gk_crs = pick_gk_crs(rivers, layer="rivers")
    gk = CRS.from_user_input(gk_crs)
    r = rivers.to_crs(gk) if not CRS.from_user_input(rivers.crs).equals(gk) else rivers
    out = gpd.GeoDataFrame(
        {
            "segment_id": r["segment_id"].astype("string").to_numpy(dtype=object),
            "river_name": _col(r, "river_name"),
            "chief": _str_col(r["chief"]).to_numpy(dtype=object),
            "chief_id": _str_col(r["chief_id"]).to_numpy(dtype=object)
            if "chief_id" in r.columns
            else None,
            "chief_level": _col(r, "chief_level"),
            "village_id": _str_col(r["village_id"]).to_numpy(dtype=object)
            if "village_id" in r.columns
            else None,
        },
        geometry=np.asarray(r.geometry.values, dtype=object),
        crs=gk,
    )
    out["target"] = _targets(out, r, cfg)
    out["length_m"] = shapely.length(np.asarray(out.geometry.values, dtype=object))
    if out["target"].isna().any():
        log.warning(
            "%d 个河段没有巡河任务 / %d segments have no target (no annual_patrol_target and no "
            "[patrol] targets entry for their chief_level)",
            int(out["target"].isna().sum()),
            int(out["target"].isna().sum()),
        )
    return out


def _check_rivers(rivers: gpd.GeoDataFrame) -> None:
    """Segments, a CRS, ``segment_id`` and ``chief``, unique ids; or a clear error."""
    if len(rivers) == 0:
        raise LayerError("河段图层为空 / the rivers layer has no segments", layer="rivers")
    if rivers.crs is None:
        raise CRSError("河段图层没有坐标系 / the rivers layer has no CRS", layer="rivers")
    missing = [c for c in ("segment_id", "chief") if c not in rivers.columns]
    if missing:
        raise FieldError(
            f"缺少字段 / missing field(s) {', '.join(missing)}; the layer has: "
            f"{', '.join(c for c in rivers.columns if c != rivers.geometry.name)}",
            layer="rivers",
            field=", ".join(missing),
        )
    dup = rivers["segment_id"].duplicated()
    if dup.any():
        raise FieldError(
            f"河段编码重复 / duplicate segment_id {rivers['segment_id'][dup].iloc[0]!r}: each segment needs its own id",
            layer="rivers",
            field="segment_id",
            feature_id=rivers["segment_id"][dup].iloc[0],
        )


def _targets(out: gpd.GeoDataFrame, rivers: gpd.GeoDataFrame, cfg: PatrolSection) -> np.ndarray:
    """Each segment's annual target: its ``annual_patrol_target``, else its chief level's."""
    level_target = out["chief_level"].map(
        lambda v: cfg.targets.get(v) if isinstance(v, str) else None
    )
    target = pd.to_numeric(level_target, errors="coerce").astype("float64")
    if "annual_patrol_target" in rivers.columns:
        own = pd.to_numeric(
            pd.Series(rivers["annual_patrol_target"].to_numpy(), index=out.index), errors="coerce"
        )
        target = own.astype("float64").where(own.notna(), target)
    return target.to_numpy()


def _col(df: pd.DataFrame, name: str) -> np.ndarray | None:
    return df[name].astype("object").to_numpy() if name in df.columns else None


@dataclass
class _Network:
    """Pieces (single lines) and edges of the river segments, with a uniform grid over the edges."""

    n_seg: int
    piece_seg: np.ndarray
    piece_len: np.ndarray
    piece_offset: np.ndarray  #: chainage of each piece's start along its segment (m)
    piece_geom: np.ndarray
    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    e_piece: np.ndarray
    e_m0: np.ndarray
    cell: float
    x0: float
    y0: float
    nx: int
    ny: int
    cell_keys: np.ndarray
    cell_ptr: np.ndarray
    cell_edges: np.ndarray
    _tree: shapely.STRtree | None = None

    @property
    def tree(self) -> shapely.STRtree:
        """STRtree over the edges (short two-point lines: fast nearest queries)."""
        if self._tree is None:
            edges = shapely.linestrings(
                np.stack(
                    [np.column_stack([self.ax, self.ay]), np.column_stack([self.bx, self.by])],
                    axis=1,
                )
            )
            self._tree = shapely.STRtree(edges)
        return self._tree


def _network(segments: gpd.GeoDataFrame, tolerance_m: float) -> _Network:
    geoms = np.asarray(segments.geometry.values, dtype=object)
    parts, seg_of = shapely.get_parts(geoms, return_index=True)
    plen = shapely.length(parts)
    keep = np.isfinite(plen) & (plen > 0)
    parts, seg_of, plen = parts[keep], seg_of[keep], plen[keep]
    if len(parts) == 0:
        raise LayerError(
            "河段没有有效的线 / the river segments have no usable lines", layer="rivers"
        )
    # chainage of each piece along its segment: the lengths of the segment's earlier pieces
    cum = np.cumsum(plen)
    first = np.r_[True, seg_of[1:] != seg_of[:-1]]
    start_cum = np.maximum.accumulate(np.where(first, cum - plen, -np.inf))
    poff = cum - plen - start_cum
    cell = float(max(tolerance_m, 1.0))
    dense = shapely.segmentize(parts, max_segment_length=cell)
    xy, pidx = shapely.get_coordinates(dense, return_index=True)
    same = pidx[1:] == pidx[:-1]
    ax, ay = xy[:-1, 0][same], xy[:-1, 1][same]
    bx, by = xy[1:, 0][same], xy[1:, 1][same]
    e_piece = pidx[:-1][same]
    elen = np.hypot(bx - ax, by - ay)
    ecum = np.cumsum(elen)
    efirst = np.r_[True, e_piece[1:] != e_piece[:-1]]
    e_m0 = ecum - elen - np.maximum.accumulate(np.where(efirst, ecum - elen, -np.inf))
    # uniform grid: every edge registered in each cell its bbox (grown by the tolerance) touches
    tol = float(tolerance_m)
    x0 = float(min(ax.min(), bx.min()) - tol - cell)
    y0 = float(min(ay.min(), by.min()) - tol - cell)
    nx = int((max(ax.max(), bx.max()) + tol - x0) // cell) + 2
    ny = int((max(ay.max(), by.max()) + tol - y0) // cell) + 2
    ix0 = ((np.minimum(ax, bx) - tol - x0) // cell).astype("int64")
    ix1 = ((np.maximum(ax, bx) + tol - x0) // cell).astype("int64")
    iy0 = ((np.minimum(ay, by) - tol - y0) // cell).astype("int64")
    iy1 = ((np.maximum(ay, by) + tol - y0) // cell).astype("int64")
    wx, wy = ix1 - ix0 + 1, iy1 - iy0 + 1
    cnt = wx * wy
    e_rep = np.repeat(np.arange(len(ax), dtype="int64"), cnt)
    k = np.arange(int(cnt.sum()), dtype="int64") - np.repeat(np.cumsum(cnt) - cnt, cnt)
    cx = ix0[e_rep] + k // wy[e_rep]
    cy = iy0[e_rep] + k % wy[e_rep]
    # keep a cell only if its centre is within tolerance + half its diagonal of the edge
    # (conservative: every point of the cell within the tolerance of the edge is kept)
    ccx, ccy = x0 + (cx + 0.5) * cell - ax[e_rep], y0 + (cy + 0.5) * cell - ay[e_rep]
    edx, edy = (bx - ax)[e_rep], (by - ay)[e_rep]
    el2 = edx * edx + edy * edy
    tt = np.clip(
        np.divide(ccx * edx + ccy * edy, el2, out=np.zeros_like(el2), where=el2 > 0), 0.0, 1.0
    )
    near = np.hypot(ccx - tt * edx, ccy - tt * edy) <= tol + cell * np.sqrt(0.5) + 1e-6
    cx, cy, e_rep = cx[near], cy[near], e_rep[near]
    ckey = cx * ny + cy
    order = np.argsort(ckey, kind="stable")  # edges stay in id order within a cell
    ckey, e_sorted = ckey[order], e_rep[order]
    starts = np.flatnonzero(np.r_[True, ckey[1:] != ckey[:-1]])
    return _Network(
        n_seg=len(segments),
        piece_seg=seg_of,
        piece_len=plen,
        piece_offset=poff,
        piece_geom=parts,
        ax=ax,
        ay=ay,
        bx=bx,
        by=by,
        e_piece=e_piece,
        e_m0=e_m0,
        cell=cell,
        x0=x0,
        y0=y0,
        nx=nx,
        ny=ny,
        cell_keys=ckey[starts],
        cell_ptr=np.r_[starts, len(ckey)],
        cell_edges=e_sorted,
    )


def _match_arrays(
    x: np.ndarray, y: np.ndarray, net: _Network, tolerance_m: float, max_pairs: int = 65_536
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest position on every piece within the tolerance, for every fix.

    Candidates come from the grid cell of each fix; the exact point-to-edge
    distance decides. Work is done in chunks of about ``max_pairs``
    candidates, so memory stays flat whatever the number of fixes.

    Returns (point, piece, m, distance) sorted by point then piece.
    """
    n = len(x)
    start, cnt = _grid_candidates(x, y, net)
    csum = np.cumsum(cnt)
    # per-edge constants
    dx_e, dy_e = net.bx - net.ax, net.by - net.ay
    l2_e = dx_e * dx_e + dy_e * dy_e
    il2_e = np.divide(1.0, l2_e, out=np.zeros_like(l2_e), where=l2_e > 0)
    edges = (dx_e, dy_e, il2_e, np.sqrt(l2_e))
    out_p, out_pc, out_m, out_d = [], [], [], []
    tol2 = float(tolerance_m) ** 2
    lo = 0
    while lo < n:
        base = csum[lo - 1] if lo else 0
        hi = int(np.searchsorted(csum, base + max_pairs, side="right"))
        hi = min(max(hi, lo + 1), n)
        found = _match_chunk(x, y, lo, hi, start, cnt, net, edges, tol2)
        if found is not None:
            for acc, v in zip((out_p, out_pc, out_m, out_d), found):
                acc.append(v)
        lo = hi
    if not out_p:
        z = np.zeros(0)
        return z.astype("int64"), z.astype("int64"), z, z
    return (
        np.concatenate(out_p),
        np.concatenate(out_pc),
        np.concatenate(out_m),
        np.concatenate(out_d),
    )


def _grid_candidates(x: np.ndarray, y: np.ndarray, net: _Network) -> tuple[np.ndarray, np.ndarray]:
    """Per fix: where its grid cell's edges start in ``net.cell_edges``, and how many there are."""
    ix = np.floor((x - net.x0) / net.cell).astype("int64")
    iy = np.floor((y - net.y0) / net.cell).astype("int64")
    inside = (ix >= 0) & (ix < net.nx) & (iy >= 0) & (iy < net.ny)
    key = np.where(inside, ix * net.ny + iy, -1)
    del ix, iy
    pos = np.searchsorted(net.cell_keys, key)
    pos_c = np.minimum(pos, len(net.cell_keys) - 1)
    found = inside & (net.cell_keys[pos_c] == key)
    start = np.where(found, net.cell_ptr[pos_c], 0)
    cnt = np.where(found, net.cell_ptr[pos_c + 1] - net.cell_ptr[pos_c], 0)
    return start, cnt


def _match_chunk(
    x: np.ndarray,
    y: np.ndarray,
    lo: int,
    hi: int,
    start: np.ndarray,
    cnt: np.ndarray,
    net: _Network,
    edges: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    tol2: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`_match_arrays` for fixes ``lo:hi``: (point, piece, m, distance), None for no match."""
    n = len(x)
    dx_e, dy_e, il2_e, len_e = edges
    c = cnt[lo:hi]
    tot = int(c.sum())
    if not tot:
        return None
    first = np.cumsum(c) - c
    e = net.cell_edges[np.repeat(start[lo:hi] - first, c) + np.arange(tot, dtype=start.dtype)]
    px = np.repeat(x[lo:hi], c)
    py = np.repeat(y[lo:hi], c)
    px -= net.ax[e]
    py -= net.ay[e]
    dx, dy = dx_e[e], dy_e[e]
    t = px * dx
    t += py * dy
    t *= il2_e[e]
    np.clip(t, 0.0, 1.0, out=t)
    dx *= t
    dy *= t
    px -= dx
    py -= dy
    px *= px
    py *= py
    px += py  # squared distance
    ok = np.flatnonzero(px <= tol2)
    if not len(ok):
        return None
    p = np.repeat(np.arange(lo, hi, dtype="int32" if n < 2**31 else "int64"), c)[ok]
    e, t, d2 = e[ok], t[ok], px[ok]
    pc = net.e_piece[e]
    # nearest edge per (point, piece): rows are grouped by point, pieces ascending within
    run = np.r_[True, (p[1:] != p[:-1]) | (pc[1:] != pc[:-1])]
    starts = np.flatnonzero(run)
    rid = np.cumsum(run) - 1
    dmin = np.minimum.reduceat(d2, starts)
    best = np.flatnonzero(d2 == dmin[rid])
    best = best[np.r_[True, rid[best][1:] != rid[best][:-1]]]
    eb, pcb = e[best], pc[best]
    m = np.minimum(net.e_m0[eb] + t[best] * len_e[eb], net.piece_len[pcb])
    return p[best], pcb.astype("int32"), m, np.sqrt(d2[best])


def match_points(
    points: pd.DataFrame,
    segments: gpd.GeoDataFrame,
    *,
    tolerance_m: float | None = None,
    config=None,
    _net: _Network | None = None,
) -> pd.DataFrame:
    """Match every fix to every river segment within the tolerance (linear referencing).

    For each fix and each segment (piece of a multi-part segment) closer than
    ``tolerance_m``, the nearest position on it is found by projecting the fix
    onto the segment's edges (a uniform grid of cell size ``tolerance_m``
    over the edges gives the candidates; exact point-to-edge distance in
    numpy decides).

    Parameters
    ----------
    points : DataFrame
        From :func:`split_trips` (``x_m``, ``y_m`` in the zone of ``segments``).
    segments : GeoDataFrame
        From :func:`prepare_rivers`.
    tolerance_m : float, optional
        Default ``config.patrol.tolerance_m`` (50 m).

    Returns
    -------
    DataFrame
        ``point`` (row position in ``points``), ``segment`` (row position in
        ``segments``), ``segment_id``, ``piece``, ``m`` (metres from the
        segment's start, along it), ``distance_m``; sorted by point and piece.
    """
    tol = tolerance_m if tolerance_m is not None else _cfg(config).tolerance_m
    net = _net or _network(segments, tol)
    p, pc, m, d = _match_arrays(points["x_m"].to_numpy(), points["y_m"].to_numpy(), net, tol)
    seg = net.piece_seg[pc].astype("int32")
    m += net.piece_offset[pc]
    return pd.DataFrame(
        {
            "point": p,
            "segment": seg,
            "segment_id": pd.Categorical.from_codes(
                seg, categories=pd.Index(segments["segment_id"].to_numpy(dtype=object))
            ),
            "piece": pc,
            "m": m,
            "distance_m": d.astype("float32"),
        }
    )
