"""Two surveys of the same town compared parcel by parcel (两期耕地调查对比).

Parcels of the OLD and the NEW survey are matched by geometry overlap in the
Gauss-Kruger zone, never by id (ids are renumbered between survey years).
Every overlapping piece of an old and a new parcel is one row; the parts of
an old parcel that no new parcel covers are ``lost`` rows, the parts of a new
parcel that no old parcel covered are ``new`` rows. Overlaps and left-over
parts below the sliver threshold (digitising noise) are ignored, and counted.

All of it is vectorised: candidate pairs from one :class:`shapely.STRtree`
query with ``predicate="intersects"``, the pieces from one
:func:`shapely.intersection` call over the pair arrays, and the left-over
parts by rounds of :func:`shapely.difference` (round *k* takes the *k*-th
neighbour of every parcel at once), so there is no Python loop per pair.
Areas are ellipsoidal on CGCS2000 (:func:`gis_town.geodesy.area_m2`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from gis_town import settings
from gis_town.geodesy import m2_to_mu, project_to_gk

__all__ = [
    "CHANGE_CLASSES",
    "GEOMETRY_CHANGES",
    "CompareTables",
    "PairPieces",
    "area_center",
    "assemble",
    "change_class",
    "compare_surveys",
    "lost_land_class",
    "match_pairs",
    "newly_abandoned",
    "parcel_m2",
    "remainders",
    "village_change_summary",
]

log = logging.getLogger(__name__)

#: Change classes of a piece, in report order.
CHANGE_CLASSES: tuple[str, ...] = (
    "unchanged",
    "newly_abandoned",
    "recultivated",
    "still_abandoned",
    "other_status_change",
    "lost",
    "new",
)
#: How a parcel's geometry changed between the surveys.
GEOMETRY_CHANGES: tuple[str, ...] = ("same", "split", "merged", "reshaped")

#: Overlaps and left-overs below this many m² are numerical crumbs (coordinates rounded in
#: reprojection), not digitising slivers: ignored too, but not counted as slivers.
CRUMB_M2 = 0.01

_POLY_TYPES = (3, 6)  # shapely type ids of Polygon and MultiPolygon


@dataclass
class CompareTables:
    """The pieces of a survey comparison and what was ignored.

    Attributes
    ----------
    pieces : GeoDataFrame
        One row per piece (columns: ``docs/compare.md``), geometry in the
        Gauss-Kruger zone of the run.
    slivers : int
        Overlaps and left-over parts ignored as digitising noise.
    sliver_m2 : float
        Their ellipsoidal area, m².
    old_m2, new_m2 : float
        Ellipsoidal area of the OLD and of the NEW farmland, m².
    notes : list of str
        What the reader should know.
    """

    pieces: gpd.GeoDataFrame
    slivers: int = 0
    sliver_m2: float = 0.0
    old_m2: float = 0.0
    new_m2: float = 0.0
    notes: list[str] = field(default_factory=list)


def change_class(old_status: pd.Series, new_status: pd.Series) -> np.ndarray:
    """The change class of pieces from the old and the new status codes.

    ``cultivated`` or ``fallow`` -> ``abandoned`` is ``newly_abandoned``,
    ``abandoned`` -> ``cultivated`` ``recultivated``, ``abandoned`` both years
    ``still_abandoned``, the same other status both years (cultivated, or
    fallow) ``unchanged``, any other pair ``other_status_change``; no old
    status (missing) is ``new``, no new status ``lost``.
    """
    o = old_status.astype("string").fillna("").to_numpy(dtype=object)
    n = new_status.astype("string").fillna("").to_numpy(dtype=object)
    out = np.full(len(o), "other_status_change", dtype=object)
    out[(o == n) & (o != "abandoned")] = "unchanged"
    out[np.isin(o, ["cultivated", "fallow"]) & (n == "abandoned")] = "newly_abandoned"
    out[(o == "abandoned") & (n == "cultivated")] = "recultivated"
    out[(o == "abandoned") & (n == "abandoned")] = "still_abandoned"
    out[o == ""] = "new"
    out[n == ""] = "lost"
    return out


def _is_sliver(piece_m2: np.ndarray, ref_m2: np.ndarray, share: float, min_m2: float) -> np.ndarray:
    """True for pieces below ``share`` of ``ref_m2``, or below ``min_m2`` unless most of ``ref_m2``; crumbs always."""
    return (
        (piece_m2 < share * ref_m2)
        | ((piece_m2 < min_m2) & (piece_m2 < 0.5 * ref_m2))
        | (piece_m2 < CRUMB_M2)
    )


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Only the polygon parts of each geometry (an overlap can hold lines and points where edges touch)."""
    out = geoms.copy()
    mixed = shapely.get_type_id(out) == 7  # GeometryCollection
    if mixed.any():
        parts, idx = shapely.get_parts(out[mixed], return_index=True)
        keep = np.isin(shapely.get_type_id(parts), _POLY_TYPES)
        polys, idx = parts[keep], idx[keep]
        polys, pidx = shapely.get_parts(polys, return_index=True)  # MultiPolygon -> Polygons
        idx = idx[pidx]
        fixed = np.full(int(mixed.sum()), shapely.Polygon(), dtype=object)
        if len(polys):
            grouped = shapely.multipolygons(polys, indices=idx)
            fixed[np.unique(idx)] = grouped
        out[mixed] = fixed
    return out


def _overlapping_pairs(og: np.ndarray, ng: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (old, new) of parcels whose interiors may overlap: STRtree intersects, minus touching.

    Sorted by old, then new index: the order every later step (and the Dask
    path, :mod:`gis_town.parallel.compare`) relies on.
    """
    i, j = shapely.STRtree(ng).query(og, predicate="intersects")
    shapely.prepare(og)
    keep = ~shapely.touches(og[i], ng[j])  # neighbours sharing an edge (most candidate pairs)
    i, j = i[keep], j[keep]
    order = np.lexsort((j, i))
    return i[order], j[order]


def remainders(
    base: np.ndarray, others: np.ndarray, i: np.ndarray, j: np.ndarray, equal: np.ndarray
) -> np.ndarray:
    """``base[k]`` minus every ``others[j]`` paired with it, in rounds of one neighbour per parcel.

    ``i`` indexes ``base``, ``j`` ``others``; the neighbours of a parcel are
    taken off in the order of the pairs (by ``i``, stable). ``equal`` marks
    pairs of identical geometries: their base has no remainder at all.
    """
    rem = base.copy()
    gone = np.zeros(len(base), dtype=bool)
    gone[i[equal]] = True
    rem[gone] = shapely.Polygon()
    sel = ~gone[i]
    i, j = i[sel], j[sel]
    if not len(i):
        return _polygonal(rem)
    order = np.argsort(i, kind="stable")
    i, j = i[order], j[order]
    start = np.r_[0, np.flatnonzero(np.diff(i)) + 1]
    rank = np.arange(len(i)) - np.repeat(start, np.diff(np.r_[start, len(i)]))
    for r in range(int(rank.max()) + 1):
        sel = rank == r
        rem[i[sel]] = shapely.difference(rem[i[sel]], others[j[sel]])
    return _polygonal(rem)


def area_center(gdf: gpd.GeoDataFrame) -> tuple[float, float]:
    """Lon/lat (degrees) of the centre of ``gdf``'s extent: the one centre every area of a run uses."""
    minx, miny, maxx, maxy = gdf.to_crs(4490).total_bounds
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        return 105.0, 35.0
    return (minx + maxx) / 2.0, (miny + maxy) / 2.0


def parcel_m2(geoms: np.ndarray, crs: CRS, center: tuple[float, float]) -> np.ndarray:
    """Ellipsoidal area (m²) of each geometry, 0 for empty or missing ones.

    Planar area in the CGCS2000 Lambert azimuthal equal-area projection at
    ``center`` (equal-area: planar area there is ellipsoidal area; agrees with
    :func:`gis_town.geodesy.area_m2` to ~1e-9 for parcels). One centre for
    the whole run, so that a geometry's area does not depend on which other
    geometries it is computed with (the Dask path gives the same digits).
    """
    out = np.zeros(len(geoms))
    full = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not full.any():
        return out
    laea = CRS.from_proj4(
        f"+proj=laea +lat_0={center[1]:.6f} +lon_0={center[0]:.6f} +x_0=0 +y_0=0 "
        f"+a={settings.CGCS2000_A} +rf={settings.CGCS2000_RF} +units=m +no_defs"
    )
    tr = Transformer.from_crs(crs, laea, always_xy=True)

    def _project(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    out[full] = np.nan_to_num(shapely.area(shapely.transform(geoms[full], _project)))
    return out


def _ids(gdf: gpd.GeoDataFrame, col: str) -> pd.Series:
    if col in gdf.columns:
        return gdf[col].astype("string").reset_index(drop=True)
    return pd.Series(pd.array([pd.NA] * len(gdf), dtype="string"))


def _geometry_change(
    n_new_of_old: np.ndarray, n_old_of_new: np.ndarray, piece_m2: np.ndarray,
    old_m2: np.ndarray, new_m2: np.ndarray, share: float,
) -> np.ndarray:
    out = np.full(len(piece_m2), "reshaped", dtype=object)
    one_one = (n_new_of_old == 1) & (n_old_of_new == 1)
    out[one_one & (piece_m2 >= (1 - share) * np.maximum(old_m2, new_m2))] = "same"
    out[(n_new_of_old > 1) & (n_old_of_new == 1)] = "split"
    out[(n_old_of_new > 1) & (n_new_of_old == 1)] = "merged"
    return out


@dataclass
class PairPieces:
    """The overlaps of old and new parcels (one entry per candidate pair, sorted by old, new).

    ``i`` / ``j`` index the old / new parcels, ``geoms`` the overlap,
    ``m2`` its ellipsoidal area, ``sliver`` below the sliver threshold,
    ``real`` more than a shared edge, ``equal`` identical parcels.
    """

    i: np.ndarray
    j: np.ndarray
    geoms: np.ndarray
    m2: np.ndarray
    sliver: np.ndarray
    real: np.ndarray
    equal: np.ndarray


def match_pairs(
    og: np.ndarray, ng: np.ndarray, old_m2: np.ndarray, new_m2: np.ndarray, crs: CRS,
    center: tuple[float, float], share: float, min_m2: float,
) -> PairPieces:
    """Every overlap of an old and a new parcel: pairs from one STRtree query, pieces in one call."""
    i, j = _overlapping_pairs(og, ng)
    equal = shapely.equals_exact(og[i], ng[j])  # unchanged parcels: no overlay needed
    inter = og[i].copy()
    inter[~equal] = _polygonal(shapely.intersection(og[i[~equal]], ng[j[~equal]]))
    piece_m2 = parcel_m2(inter, crs, center)
    sliver = _is_sliver(piece_m2, np.minimum(old_m2[i], new_m2[j]), share, min_m2)
    return PairPieces(i, j, inter, piece_m2, sliver, piece_m2 > 0, equal)


def compare_surveys(
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    *,
    gk_crs: CRS | str | None = None,
    sliver_share: float = 0.05,
    sliver_min_m2: float = 10.0,
) -> CompareTables:
    """Match the parcels of two surveys by overlap and classify every piece.

    Parameters
    ----------
    old, new : GeoDataFrame
        Farmland of the two surveys (``parcel_id``, ``village_id``,
        ``status`` codes), any CRS; cleaned where read.
    gk_crs : CRS or str, optional
        The Gauss-Kruger zone of the run (picked from ``old`` when omitted).
    sliver_share : float, default 0.05
        An overlap below this share of the smaller of its two parcels (a
        left-over part: of its parcel) is a sliver and ignored ...
    sliver_min_m2 : float, default 10
        ... and so is one below this many m², unless it is most of the smaller parcel.

    Returns
    -------
    CompareTables
        ``pieces`` has ``old_parcel_id``, ``new_parcel_id`` (NA where none),
        ``village_id``, ``old_status``, ``new_status``, ``change``,
        ``geometry_change``, ``area_m2``, ``area_mu``, ``old_area_mu``, ``new_area_mu``;
        rows: the overlaps (by old, then new parcel), the old parcels' and
        then the new parcels' left-over parts.
    """
    o = project_to_gk(old, crs=gk_crs, layer="old farmland").reset_index(drop=True)
    n = project_to_gk(new, crs=o.crs, layer="new farmland").reset_index(drop=True)
    center = area_center(o if len(o) else n)
    og, ng = np.asarray(o.geometry.values, dtype=object), np.asarray(n.geometry.values, dtype=object)
    old_m2, new_m2 = parcel_m2(og, o.crs, center), parcel_m2(ng, o.crs, center)
    pairs = match_pairs(og, ng, old_m2, new_m2, o.crs, center, sliver_share, sliver_min_m2)
    real = pairs.real  # a sliver overlap is no left-over either
    old_rest = remainders(og, ng, pairs.i[real], pairs.j[real], pairs.equal[real])
    new_rest = remainders(ng, og, pairs.j[real], pairs.i[real], pairs.equal[real])
    return assemble(o, n, old_m2, new_m2, pairs, old_rest, new_rest, center,
                    sliver_share=sliver_share, sliver_min_m2=sliver_min_m2)


def assemble(
    o: gpd.GeoDataFrame, n: gpd.GeoDataFrame, old_m2: np.ndarray, new_m2: np.ndarray,
    pairs: PairPieces, old_rest: np.ndarray, new_rest: np.ndarray, center: tuple[float, float],
    *, sliver_share: float, sliver_min_m2: float,
) -> CompareTables:
    """The pieces table from the overlaps and the left-over parts (both surveys in the zone ``o.crs``)."""
    sliver, piece_m2 = pairs.sliver, pairs.m2
    n_slivers, sliver_m2 = int((sliver & (piece_m2 >= CRUMB_M2)).sum()), float(piece_m2[sliver].sum())
    ki, kj, kg, km2 = pairs.i[~sliver], pairs.j[~sliver], pairs.geoms[~sliver], piece_m2[~sliver]
    n_new_of_old = np.bincount(ki, minlength=len(o))
    n_old_of_new = np.bincount(kj, minlength=len(n))
    o_ids, n_ids = _ids(o, "parcel_id"), _ids(n, "parcel_id")
    o_vil, n_vil = _ids(o, "village_id"), _ids(n, "village_id")
    o_st, n_st = _ids(o, "status"), _ids(n, "status")
    both = pd.DataFrame({
        "old_parcel_id": o_ids.iloc[ki].to_numpy(), "new_parcel_id": n_ids.iloc[kj].to_numpy(),
        "village_id": pd.Series(n_vil.iloc[kj].to_numpy(), dtype="string")
        .fillna(pd.Series(o_vil.iloc[ki].to_numpy(), dtype="string")),
        "old_status": o_st.iloc[ki].to_numpy(), "new_status": n_st.iloc[kj].to_numpy(),
        "geometry_change": _geometry_change(n_new_of_old[ki], n_old_of_new[kj], km2,
                                            old_m2[ki], new_m2[kj], sliver_share),
        "area_m2": km2, "old_area_m2": old_m2[ki], "new_area_m2": new_m2[kj],
    })
    tables, geoms = [both], [kg]
    for rest, base_m2, counts, ids, vil, st, side in (
        (old_rest, old_m2, n_new_of_old, o_ids, o_vil, o_st, "old"),
        (new_rest, new_m2, n_old_of_new, n_ids, n_vil, n_st, "new"),
    ):
        r_m2 = parcel_m2(rest, o.crs, center)
        noise = _is_sliver(r_m2, base_m2, sliver_share, sliver_min_m2) | (r_m2 <= 0)
        n_slivers += int((noise & (r_m2 >= CRUMB_M2)).sum())
        sliver_m2 += float(r_m2[noise].sum())
        k = np.flatnonzero(~noise)
        empty = pd.array([pd.NA] * len(k), dtype="string")
        other = "new" if side == "old" else "old"
        tables.append(pd.DataFrame({
            f"{side}_parcel_id": ids.iloc[k].to_numpy(), f"{other}_parcel_id": empty,
            "village_id": vil.iloc[k].to_numpy(),
            f"{side}_status": st.iloc[k].to_numpy(), f"{other}_status": empty,
            "geometry_change": np.where(counts[k] == 0, "same", "reshaped").astype(object),
            "area_m2": r_m2[k], f"{side}_area_m2": base_m2[k], f"{other}_area_m2": np.nan,
        }))
        geoms.append(rest[k])
    df = pd.concat(tables, ignore_index=True)
    for c in ("old_parcel_id", "new_parcel_id", "village_id", "old_status", "new_status"):
        df[c] = df[c].astype("string")
    df = df[["old_parcel_id", "new_parcel_id", "village_id", "old_status", "new_status",
             "geometry_change", "area_m2", "old_area_m2", "new_area_m2"]]
    df.insert(5, "change", change_class(df["old_status"], df["new_status"]))
    df["area_mu"] = m2_to_mu(df["area_m2"])
    df["old_area_mu"] = m2_to_mu(df.pop("old_area_m2"))
    df["new_area_mu"] = m2_to_mu(df.pop("new_area_m2"))
    pieces = gpd.GeoDataFrame(df, geometry=np.concatenate(geoms), crs=o.crs)
    notes = []
    if n_slivers:
        notes.append(
            f"忽略 {n_slivers} 处细碎重叠/边角 ({m2_to_mu(sliver_m2):.2f} 亩) / {n_slivers} slivers ignored "
            f"({m2_to_mu(sliver_m2):.2f} mu): below {sliver_share:.0%} of the parcel or {sliver_min_m2:g} m²"
        )
    log.info("对比 compared %d old x %d new parcels: %d pieces", len(o), len(n), len(pieces))
    return CompareTables(
        pieces=pieces, slivers=n_slivers, sliver_m2=sliver_m2,
        old_m2=float(np.nansum(old_m2)), new_m2=float(np.nansum(new_m2)), notes=notes,
    )


def _balanced_units(scaled: np.ndarray, target: int) -> np.ndarray:
    """Whole units of ``scaled`` adding up to ``target`` (largest remainder, stable)."""
    floor = np.floor(scaled)
    units = floor.astype(np.int64)
    short = target - int(units.sum())
    rem = scaled - floor
    if short > 0:
        units[np.argsort(-rem, kind="stable")[:short]] += 1
    elif short < 0:
        units[np.argsort(rem, kind="stable")[:-short]] -= 1
    return units


def village_change_summary(
    pieces: pd.DataFrame, villages: pd.DataFrame | None = None, *, decimals: int = 2
) -> pd.DataFrame:
    """Area (mu) per village and change class, balanced (强制调平): a ``total_mu`` column and a total row last.

    The class totals are rounded to ``decimals`` by the largest remainder so
    that they add up exactly to the rounded total area of the pieces
    (:func:`gis_town.analysis.areas.balance`), then the villages' cells of
    each class the same way to the class total; the row totals
    (``total_mu``) and the total row are sums of the rounded cells, so every
    row and every column adds up to the figures shown.

    Parameters
    ----------
    pieces : DataFrame
        ``CompareTables.pieces``.
    villages : DataFrame, optional
        With ``village_id`` and ``name`` for the village name.
    decimals : int, default 2
        Decimals of a mu shown.

    Returns
    -------
    DataFrame
        ``village_id``, ``village_name``, one ``<class>_mu`` column per
        change class, ``total_mu``, ``pieces``; the last row (village_id
        ``合计 total``) is the column sums, and ``total_mu`` the row sums.
    """
    from gis_town.analysis.areas import balance

    vid = pieces["village_id"].astype("string").fillna("")
    table = (
        pd.DataFrame({"village_id": vid, "change": pieces["change"], "area_mu": pieces["area_mu"]})
        .pivot_table(index="village_id", columns="change", values="area_mu", aggfunc="sum", fill_value=0.0)
        .reindex(columns=list(CHANGE_CLASSES), fill_value=0.0)
    )
    scale = 10**decimals
    values = table.to_numpy(dtype="float64")
    units = np.zeros(values.shape, dtype=np.int64)
    if values.size:
        class_totals, _ = balance(values.sum(axis=0), decimals)
        for k, target in enumerate(np.rint(class_totals * scale).astype(np.int64)):
            units[:, k] = _balanced_units(values[:, k] * scale, int(target))
    out = pd.DataFrame(units / scale, index=table.index, columns=[f"{c}_mu" for c in CHANGE_CLASSES])
    out["total_mu"] = units.sum(axis=1) / scale
    out["pieces"] = vid.value_counts().reindex(out.index).fillna(0).astype("int64")
    out = out.reset_index()
    names = {}
    if villages is not None and "name" in villages.columns:
        names = dict(zip(villages["village_id"].astype("string"), villages["name"].astype("string")))
    out.insert(1, "village_name", out["village_id"].map(names).astype("string"))
    total = {f"{c}_mu": units[:, k].sum() / scale for k, c in enumerate(CHANGE_CLASSES)}
    total_row = {"village_id": "合计 total", "village_name": "", **total,
                 "total_mu": units.sum() / scale, "pieces": int(out["pieces"].sum())}
    out = pd.concat([out, pd.DataFrame([total_row])], ignore_index=True)
    out["pieces"] = out["pieces"].astype("int64")
    return out


def lost_land_class(
    pieces: gpd.GeoDataFrame, land: gpd.GeoDataFrame, *, code: str = "DLBM", name: str = "DLMC"
) -> gpd.GeoDataFrame:
    """Name the NEW survey's land class where farmland was lost (三调: 非农化/非粮化 to what).

    Parameters
    ----------
    pieces : GeoDataFrame
        ``CompareTables.pieces``.
    land : GeoDataFrame
        The NEW survey's other land (e.g. 三调 ``DLTB`` parcels not of class
        01 耕地) with a class code and name, any CRS.
    code, name : str
        Its columns of the class code (地类编码) and name (地类名称).

    Returns
    -------
    GeoDataFrame
        ``pieces`` with ``new_land_class`` and ``new_land_class_name``: for
        each ``lost`` piece the class covering most of it (empty where no
        land parcel covers it), empty on every other row.
    """
    out = pieces.copy()
    out["new_land_class"] = pd.array([pd.NA] * len(out), dtype="string")
    out["new_land_class_name"] = pd.array([pd.NA] * len(out), dtype="string")
    lost = np.flatnonzero((out["change"] == "lost").to_numpy())
    if not len(lost) or not len(land):
        return out
    lg = np.asarray(land.to_crs(out.crs).geometry.values, dtype=object)
    pg = np.asarray(out.geometry.values, dtype=object)[lost]
    i, j = shapely.STRtree(lg).query(pg, predicate="intersects")
    if not len(i):
        return out
    m2 = shapely.area(_polygonal(shapely.intersection(pg[i], lg[j])))  # planar: only to pick the largest
    order = np.lexsort((-m2, i))
    first = order[np.r_[True, np.diff(i[order]) != 0]]
    first = first[m2[first] > 0]
    rows = lost[i[first]]
    codes = land[code].astype("string").to_numpy() if code in land.columns else np.full(len(land), pd.NA)
    names = land[name].astype("string").to_numpy() if name in land.columns else np.full(len(land), pd.NA)
    out.loc[out.index[rows], "new_land_class"] = codes[j[first]]
    out.loc[out.index[rows], "new_land_class_name"] = names[j[first]]
    return out


_STATUS_WORDS = {"cultivated": "耕种 cultivated", "fallow": "休耕 fallow", "abandoned": "撂荒 abandoned"}


def _reasons(hit: pd.DataFrame) -> pd.Series:
    """Per new parcel: which old parcels it was, in which status, and the mu newly abandoned."""
    if not len(hit):
        return pd.Series([], dtype="string")
    words = hit["old_status"].astype("string").map(lambda s: _STATUS_WORDS.get(s, s), na_action="ignore")
    text = (
        "上期 old " + hit["old_parcel_id"].astype("string").fillna("?") + " "
        + words.fillna("?").astype("string") + " " + hit["area_mu"].round(2).map("{:.2f}".format) + " 亩"
    )
    per = text.groupby(hit["new_parcel_id"].to_numpy(), sort=False).agg("; ".join)
    return "本期撂荒 abandoned now; " + per


def newly_abandoned(
    pieces: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame | None = None,
    *,
    listed: dt.date | None = None,
) -> gpd.GeoDataFrame:
    """The new parcels with a newly abandoned piece, for the leaders' visits (走访清单 order).

    Parameters
    ----------
    pieces : GeoDataFrame
        ``CompareTables.pieces``.
    new : GeoDataFrame
        The NEW farmland, as compared.
    villages : GeoDataFrame, optional
        ``village_id``, ``name``, ``leader``.
    listed : date, optional
        The day the list is made (``listed_date``); default today.

    Returns
    -------
    GeoDataFrame
        ``village_id``, ``village_name``, ``leader``, ``group``, ``rank``
        (序号 per village: by 社, then newly abandoned area, largest first),
        ``parcel_id`` (the NEW id), ``contractor``, ``status``, ``area_mu``
        (the newly abandoned area of the parcel, mu), ``reason`` (the old
        parcels and their status), ``old_parcel_id`` (the old ids, joined
        with ``;``), ``lon``, ``lat`` (a point inside the parcel),
        ``listed_date``; geometry the new parcel in EPSG:4490.
    """
    hit = pieces[(pieces["change"] == "newly_abandoned").to_numpy()]
    per = hit.groupby("new_parcel_id", sort=False).agg(
        area_mu=("area_mu", "sum"),
        old_parcel_id=("old_parcel_id", lambda s: ";".join(dict.fromkeys(s.dropna().astype(str)))),
    )
    per["reason"] = _reasons(hit).reindex(per.index)
    nn = new.copy()
    nn["parcel_id"] = nn["parcel_id"].astype("string")
    keep = [c for c in ("parcel_id", "village_id", "group", "contractor", "status") if c in nn.columns]
    df = nn[[*keep, nn.geometry.name]].merge(per, left_on="parcel_id", right_index=True)
    df = gpd.GeoDataFrame(df, geometry=nn.geometry.name, crs=new.crs).to_crs(4490)
    df["village_id"] = df["village_id"].astype("string")
    sort = ["village_id", *(["group"] if "group" in df.columns else []), "area_mu"]
    df = df.sort_values(sort, ascending=[True] * (len(sort) - 1) + [False], kind="stable")
    df["rank"] = df.groupby("village_id", sort=False).cumcount() + 1
    for c in ("group", "contractor"):
        if c not in df.columns:
            df[c] = pd.array([pd.NA] * len(df), dtype="string")
    names, leaders = {}, {}
    if villages is not None:
        vid = villages["village_id"].astype("string")
        if "name" in villages.columns:
            names = dict(zip(vid, villages["name"].astype("string")))
        if "leader" in villages.columns:
            leaders = dict(zip(vid, villages["leader"].astype("string")))
    df["village_name"] = df["village_id"].map(names).astype("string")
    df["leader"] = df["village_id"].map(leaders).astype("string")
    df["area_mu"] = df["area_mu"].astype("float64").round(4)
    pts = df.geometry.representative_point()
    df["lon"], df["lat"] = pts.x.round(6).to_numpy(), pts.y.round(6).to_numpy()
    df["listed_date"] = pd.Timestamp(listed or dt.date.today())
    cols = ["village_id", "village_name", "leader", "group", "rank", "parcel_id", "contractor",
            "status", "area_mu", "reason", "old_parcel_id", "lon", "lat", "listed_date"]
    return gpd.GeoDataFrame(df[cols].reset_index(drop=True), geometry=df.geometry.to_numpy(), crs="EPSG:4490")
