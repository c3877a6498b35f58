"""Area totals (面积统计): farmland per village and status, in mu and hectares.

Areas are ellipsoidal on CGCS2000 (:func:`gis_town.geodesy.area_m2`), as the
land surveys compute them. Gross area is the parcel (图斑面积); when parcels
carry a terrace-ridge coefficient (田坎系数 ``ridge_coef``) the net area is

    net_area = gross_area * (1 - ridge_coef)

Totals are *balanced* (强制调平): each column is rounded so that the rows add
up exactly to the rounded total (largest-remainder rounding, :func:`balance`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.errors import FieldError
from gis_town.geodesy import area_m2, m2_to_ha, m2_to_mu
from gis_town.schema import code_label

__all__ = [
    "TOTAL_LABEL",
    "area_totals",
    "balance",
    "basic_farmland_sums",
    "basic_farmland_totals",
    "finish_basic_farmland_totals",
    "finish_zone_totals",
    "group_sums",
    "group_totals",
    "parcel_areas",
    "project_parcels",
    "survey_area_check",
    "zone_sums",
    "zone_totals",
]

log = logging.getLogger(__name__)

#: Label of the total row (合计).
TOTAL_LABEL = "合计"


def parcel_areas(farmland: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add ``area_m2``, ``area_mu``, ``area_ha`` (and ``net_*`` with ``ridge_coef``) to each parcel.

    Parameters
    ----------
    farmland : GeoDataFrame
        Parcels in any CRS.

    Returns
    -------
    GeoDataFrame
        A copy with gross areas, and net areas (m², mu, ha) when the layer has
        a ``ridge_coef`` column (a missing coefficient counts as 0).
    """
    out = farmland.copy()
    a = area_m2(out, layer="farmland")
    out["area_m2"] = a
    out["area_mu"] = m2_to_mu(a)
    out["area_ha"] = m2_to_ha(a)
    if "ridge_coef" in out.columns:
        coef = pd.to_numeric(out["ridge_coef"], errors="coerce").fillna(0.0).to_numpy(dtype="float64")
        bad = (coef < 0) | (coef >= 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FieldError(
                f"田坎系数应在 0 到 1 之间 / ridge_coef must be in [0, 1), got {coef[i]}",
                layer="farmland", feature_id=out.iloc[i].get("parcel_id"), field="ridge_coef",
            )
        net = a * (1.0 - coef)
        out["net_area_m2"] = net
        out["net_area_mu"] = m2_to_mu(net)
        out["net_area_ha"] = m2_to_ha(net)
    return out


def survey_area_check(
    parcels: gpd.GeoDataFrame, *, tolerance_pct: float = 0.1, tolerance_m2: float = 1.0
) -> pd.DataFrame:
    """Parcels whose recomputed ellipsoidal area differs from their surveyed area (三调 TBMJ).

    The survey computes TBMJ on the ellipsoid, as :func:`parcel_areas` does,
    so the two agree to a few hundredths of a percent; a larger difference
    means the geometry was edited after the survey (or the TBMJ was typed).
    A parcel is listed when ``|area_m2 - declared_area_m2|`` exceeds both
    ``tolerance_pct`` % of the surveyed area and ``tolerance_m2``.

    Parameters
    ----------
    parcels : GeoDataFrame
        From :func:`parcel_areas`, with ``declared_area_m2`` (TBMJ, m²).
    tolerance_pct : float
        Allowed difference, percent of the surveyed area.
    tolerance_m2 : float
        Allowed difference in m² (whichever is larger applies).

    Returns
    -------
    DataFrame
        ``parcel_id``, ``village_id``, ``declared_area_m2``, ``area_m2``,
        ``diff_m2`` (recomputed minus surveyed), ``diff_pct``, sorted by the
        size of the difference; empty when the layer has no surveyed area.
    """
    cols = ["parcel_id", "village_id", "declared_area_m2", "area_m2", "diff_m2", "diff_pct"]
    if "declared_area_m2" not in parcels.columns:
        return pd.DataFrame(columns=cols)
    declared = pd.to_numeric(parcels["declared_area_m2"], errors="coerce").to_numpy(dtype="float64")
    area = parcels["area_m2"].to_numpy(dtype="float64")
    diff = area - declared
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(declared > 0, diff / declared * 100.0, np.nan)
    limit = np.maximum(np.abs(declared) * tolerance_pct / 100.0, tolerance_m2)
    bad = np.isfinite(declared) & (np.abs(diff) > limit)
    out = pd.DataFrame(
        {
            "parcel_id": parcels["parcel_id"].to_numpy()[bad],
            "village_id": parcels["village_id"].to_numpy()[bad] if "village_id" in parcels else None,
            "declared_area_m2": declared[bad],
            "area_m2": area[bad],
            "diff_m2": diff[bad],
            "diff_pct": pct[bad],
        },
        columns=cols,
    )
    return out.reindex(out["diff_m2"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def balance(values: Sequence[float] | np.ndarray, decimals: int = 2) -> tuple[np.ndarray, float]:
    """Round ``values`` so that they add up exactly to their rounded sum (强制调平).

    Largest-remainder method: round every value down to ``decimals``, then add
    one unit of the last decimal to the values with the largest remainders
    until the sum equals the rounded total.

    Parameters
    ----------
    values : array-like of float
        Non-rounded values (e.g. village areas in mu).
    decimals : int
        Decimals to keep.

    Returns
    -------
    (numpy.ndarray, float)
        The balanced values and the rounded total.
    """
    v = np.asarray(values, dtype="float64")
    if v.size == 0:
        return v, 0.0
    scale = 10.0**decimals
    total_units = int(round(v.sum() * scale))
    scaled = v * scale
    floor = np.floor(scaled)
    rem = scaled - floor
    short = total_units - int(floor.sum())
    units = floor.astype(np.int64)
    if short > 0:
        order = np.argsort(-rem, kind="stable")[:short]
        units[order] += 1
    elif short < 0:  # only for negative values
        order = np.argsort(rem, kind="stable")[: -short]
        units[order] -= 1
    return units / scale, total_units / scale


def project_parcels(parcels: pd.DataFrame) -> pd.DataFrame:
    """The parcels tagged with a project (a non-blank ``project``); none when the layer has no such field."""
    if "project" not in parcels.columns:
        return parcels.iloc[:0]
    return parcels[parcels["project"].astype("string").fillna("").str.strip() != ""]


#: Label of a blank group key.
BLANK_LABEL = "(空 blank)"


def group_sums(parcels: pd.DataFrame, by: Sequence[str], cols: Sequence[str] | None = None) -> pd.DataFrame:
    """Parcels and area sums per group: the additive half of :func:`group_totals`.

    Sums of disjoint sets of parcels (partitions) add up; :func:`group_totals`
    with ``count_column="parcels"`` balances their sum.
    """
    cols = list(cols) if cols is not None else ["area_m2"] + (["net_area_m2"] if "net_area_m2" in parcels.columns else [])
    frame = pd.DataFrame(parcels[list(by) + cols]).copy()
    for col in by:
        frame[col] = frame[col].astype("object").where(frame[col].notna(), BLANK_LABEL)
    frame["parcels"] = 1
    return frame.groupby(list(by), sort=False, dropna=False)[["parcels", *cols]].sum().reset_index()


def group_totals(
    parcels: pd.DataFrame,
    by: Sequence[str],
    *,
    decimals: int = 2,
    total_label: str = TOTAL_LABEL,
    count_column: str | None = None,
) -> pd.DataFrame:
    """Sum parcel areas by the ``by`` columns, balanced, with a 合计 (total) row.

    Parameters
    ----------
    parcels : DataFrame
        Output of :func:`parcel_areas` (needs ``area_m2``; ``net_area_m2`` optional).
    by : sequence of str
        Grouping columns.
    count_column : str, optional
        Rows are pre-aggregated partial sums (e.g. one per partition and group,
        :mod:`gis_town.parallel`) and this column holds their parcel counts.

    Returns
    -------
    DataFrame
        ``by`` columns, ``parcels``, ``area_mu``, ``area_ha`` (and ``net_area_mu``,
        ``net_area_ha``), the last row the total.
    """
    cols = ["area_m2"] + (["net_area_m2"] if "net_area_m2" in parcels.columns else [])
    frame = pd.DataFrame(parcels[list(by) + cols + ([count_column] if count_column else [])]).copy()
    for col in by:
        frame[col] = frame[col].astype("object").where(frame[col].notna(), BLANK_LABEL)
    g = frame.groupby(list(by), sort=True, dropna=False)
    size = g[count_column].sum().astype("int64") if count_column else g.size()
    out = size.rename("parcels").to_frame().join(g[cols].sum()).reset_index()
    result = out[list(by) + ["parcels"]].copy()
    total_row = {c: "" for c in by}
    total_row[by[0]] = total_label
    total_row["parcels"] = int(out["parcels"].sum())
    for col in cols:
        prefix = "net_" if col.startswith("net_") else ""
        mu, mu_total = balance(m2_to_mu(out[col].to_numpy()), decimals)
        ha, ha_total = balance(m2_to_ha(out[col].to_numpy()), decimals)  # balanced at the digits shown
        result[f"{prefix}area_mu"] = mu
        result[f"{prefix}area_ha"] = ha
        total_row[f"{prefix}area_mu"] = mu_total
        total_row[f"{prefix}area_ha"] = ha_total
    return pd.concat([result, pd.DataFrame([total_row])], ignore_index=True)


def area_totals(
    farmland: gpd.GeoDataFrame,
    villages: pd.DataFrame | None = None,
    *,
    by: Sequence[str] = ("status",),
    decimals: int = 2,
    count_column: str | None = None,
) -> pd.DataFrame:
    """Farmland area per village and status (or other fields), balanced, in mu and ha.

    Parameters
    ----------
    farmland : GeoDataFrame
        Validated farmland layer (``status`` as codes).
    villages : DataFrame, optional
        Villages layer, for ``village_name``.
    by : sequence of str
        Fields after ``village_id`` to group by: ``status`` (default), or
        e.g. ``land_use`` or ``crop`` (the plan's wheat ledger 小麦到户台账).
    decimals : int
        Decimals of mu (ha get two more).
    count_column : str, optional
        ``farmland`` holds partial sums (see :func:`group_totals`).

    Returns
    -------
    DataFrame
        ``village_id, village_name, <by>, parcels, area_mu, area_ha`` (plus
        ``net_area_mu, net_area_ha`` with ridge coefficients), then
        ``status_zh`` labels when grouping by status; last row 合计.
    """
    for col in by:
        if col not in farmland.columns:
            raise FieldError(
                f"耕地图层没有此字段 / farmland has no field {col!r} to group by",
                layer="farmland", field=col,
            )
    parcels = farmland if "area_m2" in farmland.columns else parcel_areas(farmland)
    table = group_totals(parcels, ["village_id", *by], decimals=decimals, count_column=count_column)
    names = {}
    if villages is not None and "name" in villages.columns:
        names = dict(zip(villages["village_id"], villages["name"]))
    table.insert(1, "village_name", [str(names.get(v, "")) for v in table["village_id"]])
    if "status" in by:
        table["status_zh"] = [code_label("status", s) if s in ("cultivated", "abandoned", "fallow") else "" for s in table["status"]]
    return table


def zone_totals(farmland: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, *, decimals: int = 2) -> pd.DataFrame:
    """Farmland area inside each planning zone (true intersection), per zone, by kind.

    Zones of different kinds may overlap, so there is one total per kind
    (never summed across kinds). A parcel split between two zones of a kind
    counts in each zone's row and once in the kind's total (its ``note``
    says how many were split).

    Two steps, so that partitions can run the first (:func:`zone_sums`) and
    the results be added up before :func:`finish_zone_totals`.
    """
    return finish_zone_totals(*zone_sums(farmland, zones), zones, decimals=decimals)


def zone_sums(farmland: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The additive part of :func:`zone_totals`: piece sums per zone, distinct parcels per zone kind.

    Returns
    -------
    (by_zone, by_kind)
        ``zone_id``, ``parcels`` (pieces), ``area_m2``; ``kind``, ``parcels``
        (distinct parcels with a piece in a zone of the kind), ``overlaps``
        (1 where zones of the kind overlap each other), ``union_m2`` (the
        farmland inside the union of the kind's zones, where they overlap;
        0 otherwise). Both add up over disjoint sets of parcels.
    """
    from gis_town.analysis.overlay import area_by_zone

    pieces = area_by_zone(farmland, zones, zone_id="zone_id")
    by_zone = group_sums(pieces, ["zone_id"], ["area_m2"])
    kinds = pieces.merge(pd.DataFrame(zones[["zone_id", "kind"]]), on="zone_id", how="left")
    by_kind = kinds.groupby("kind", sort=True)["parcel_row"].nunique().rename("parcels").reset_index()
    union = {kind: _union_m2(farmland, zk) for kind, zk in zones.groupby("kind", sort=True)}
    by_kind["overlaps"] = [int(union.get(k) is not None) for k in by_kind["kind"]]
    by_kind["union_m2"] = [union.get(k) or 0.0 for k in by_kind["kind"]]
    return by_zone, by_kind


def _union_m2(farmland: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> float | None:
    """Farmland area (m²) inside the union of ``zones`` when some of them overlap; None when none do."""
    from gis_town.analysis.overlay import inside_outside

    left, right = zones.sindex.query(zones.geometry, predicate="overlaps")
    if not (left != right).any():
        return None
    io = inside_outside(farmland, zones, parcel_columns=[], zones_layer="zones")
    return float(io["inside_m2"].sum())


def finish_zone_totals(
    by_zone: pd.DataFrame, by_kind: pd.DataFrame, zones: pd.DataFrame, *, decimals: int = 2
) -> pd.DataFrame:
    """The zone table from (summed) :func:`zone_sums`: balanced per kind, one total per kind."""
    if len(by_zone) == 0:
        return pd.DataFrame()
    pieces = by_zone.merge(pd.DataFrame(zones[["zone_id", "kind"]]), on="zone_id", how="left")
    names = dict(zip(zones["zone_id"], zones["name"]))
    distinct = dict(zip(by_kind["kind"], by_kind["parcels"]))
    tables = []
    kinds = by_kind.set_index("kind")
    for kind, part in pieces.groupby("kind", sort=True):
        t = group_totals(part, ["zone_id"], decimals=decimals, count_column="parcels",
                         total_label=f"{TOTAL_LABEL}({code_label('zone_kind', kind)})")
        t.insert(1, "kind", [kind] * len(t))
        t.insert(2, "name", [str(names.get(z, "")) for z in t["zone_id"]])
        t = _count_split_once(t, int(distinct.get(kind, 0)))
        if "overlaps" in kinds.columns and kind in kinds.index and kinds.at[kind, "overlaps"] > 0:
            t = _union_total(t, float(kinds.at[kind, "union_m2"]), decimals)
        tables.append(t)
    return pd.concat(tables, ignore_index=True)


#: The note of a total row whose parts split parcels.
SPLIT_NOTE = "跨分区的地块在各部分各计一次，合计只计一次 / a parcel split between parts counts in each part, once in the total"
#: The note of a total row whose zones overlap each other.
OVERLAP_NOTE = "分区相互重叠，重叠部分合计只计一次 / the zones overlap: their overlap counts once in the total"


def _union_total(table: pd.DataFrame, union_m2: float, decimals: int) -> pd.DataFrame:
    """The total row's area as the farmland inside the union of the zones (overlaps once), noted."""
    table = table.copy()
    last = table.index[-1]
    table.loc[last, "area_mu"] = round(float(m2_to_mu(union_m2)), decimals)
    table.loc[last, "area_ha"] = round(float(m2_to_ha(union_m2)), decimals)
    note = str(table.loc[last, "note"] or "")
    table.loc[last, "note"] = "; ".join(x for x in (note, OVERLAP_NOTE) if x)
    return table


def _count_split_once(table: pd.DataFrame, distinct: int) -> pd.DataFrame:
    """The total row counts each parcel once; a note says so where the parts counted split parcels twice."""
    table = table.copy()
    pieces = int(table["parcels"].iloc[-1])
    table.loc[table.index[-1], "parcels"] = distinct
    table["note"] = ""
    if pieces > distinct:
        table.loc[table.index[-1], "note"] = f"{SPLIT_NOTE} ({pieces - distinct})"
    return table


def basic_farmland_totals(
    farmland: gpd.GeoDataFrame, basic_farmland: gpd.GeoDataFrame, *, decimals: int = 2
) -> pd.DataFrame:
    """Farmland area inside and outside permanent basic farmland (永久基本农田), per village.

    A parcel that crosses the boundary is split by true intersection and
    counted on both rows of its village; the total row counts it once (its
    ``note`` says how many parcels were split). Two steps, as :func:`zone_totals`.
    """
    return finish_basic_farmland_totals(*basic_farmland_sums(farmland, basic_farmland), decimals=decimals)


def basic_farmland_sums(
    farmland: gpd.GeoDataFrame, basic_farmland: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The additive part of :func:`basic_farmland_totals`: sums per village and side, distinct parcels."""
    from gis_town.analysis.overlay import inside_outside

    io = inside_outside(farmland, basic_farmland, parcel_columns=["parcel_id", "village_id"])
    rows = pd.concat([
        io.assign(area_m2=io["inside_m2"], inside="inside 基本农田内"),
        io.assign(area_m2=io["outside_m2"], inside="outside 基本农田外"),
    ])
    rows = rows[rows["area_m2"] > 0]
    distinct = pd.DataFrame({"scope": ["all"], "parcels": [int(rows["parcel_id"].nunique())]})
    return group_sums(rows, ["village_id", "inside"], ["area_m2"]), distinct


def finish_basic_farmland_totals(sums: pd.DataFrame, distinct: pd.DataFrame, *, decimals: int = 2) -> pd.DataFrame:
    """The basic-farmland table from (summed) :func:`basic_farmland_sums`."""
    t = group_totals(sums, ["village_id", "inside"], decimals=decimals, count_column="parcels")
    return _count_split_once(t, int(distinct["parcels"].sum()))
