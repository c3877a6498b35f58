"""Lists for the villages (汇总与走访清单): per-village totals and the leaders' visit lists."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.analysis.areas import BLANK_LABEL, group_totals, parcel_areas
from gis_town.analysis.visits import FILL_COLUMNS
from gis_town.geodesy import mu_to_m2

__all__ = ["VISIT_COLUMNS", "village_summary", "visit_list"]

#: Columns of the visit list (走访清单), in order: :func:`visit_list` returns them (those the
#: town has) and every writer and map of the list takes its columns from here.
VISIT_COLUMNS: tuple[str, ...] = (
    "village_id",
    "village_name",
    "leader",
    "group",
    "rank",
    "parcel_id",
    "contractor",
    "status",
    "area_mu",
    "score",
    "risk_class",
    "risk_class_zh",
    "top_factor",
    "top_factor_zh",
    "reason",
    "last_visit_date",
    "last_outcome_zh",
    "lon",
    "lat",
    "listed_date",
    *FILL_COLUMNS,
)

# --------------------------------------------------------------------------- summaries


def village_summary(scored: pd.DataFrame, villages: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Per village: parcels and mu by risk class, mean score, observed abandonment, leader.

    The mu are the area totals' (:mod:`gis_town.analysis.areas`): each
    parcel's ``area_m2`` (:func:`~gis_town.analysis.areas.parcel_areas`),
    summed and balanced (强制调平) by :func:`~gis_town.analysis.areas.group_totals`
    at two decimals. ``area_mu`` and ``abandoned_mu`` come from the table of
    ``gis-town areas`` (village x status): a village's abandoned mu is its
    abandoned row there, its area the sum of its rows, and the 合计 row the
    sums of the rows shown. ``high_mu`` and ``medium_mu`` are balanced the
    same way over village x risk class.

    Returns
    -------
    DataFrame
        ``village_id``, ``village_name``, ``leader`` (包村领导, when the
        villages layer has it), ``parcels``, ``area_mu``, ``high_parcels``,
        ``high_mu``, ``medium_parcels``, ``medium_mu``, ``score_mean``,
        ``abandoned_parcels``, ``abandoned_mu``; sorted by ``high_mu``
        (descending); a 合计 (total) row last.
    """
    df = pd.DataFrame(
        scored.drop(columns=scored.geometry.name)
        if isinstance(scored, gpd.GeoDataFrame)
        else scored
    )
    df["area_m2"] = _parcel_m2(scored)
    df["village_id"] = df["village_id"].astype("string")
    cls = df["risk_class"].astype("string")
    df["_high"] = (cls == "high").to_numpy(dtype=bool, na_value=False)
    df["_med"] = (cls == "medium").to_numpy(dtype=bool, na_value=False)
    has_status = "status" in df
    aband = (
        (df["status"].astype("string") == "abandoned").to_numpy(dtype=bool, na_value=False)
        if has_status
        else np.zeros(len(df), bool)
    )
    df["_ab"] = aband
    g = df.groupby("village_id", dropna=False, sort=True)
    out = pd.DataFrame(
        {
            "parcels": g.size(),
            "high_parcels": g["_high"].sum().astype("int64"),
            "medium_parcels": g["_med"].sum().astype("int64"),
            "score_mean": g["score"].mean(),
            "abandoned_parcels": g["_ab"].sum().astype("int64"),
        }
    ).reset_index()
    by_status = _balanced_mu(df, "status" if has_status else None)
    by_class = _balanced_mu(df, "risk_class")
    out["area_mu"] = _mu_of(out, by_status, None)
    out["high_mu"] = _mu_of(out, by_class, "high")
    out["medium_mu"] = _mu_of(out, by_class, "medium")
    out["abandoned_mu"] = _mu_of(out, by_status, "abandoned") if has_status else 0.0
    out = out[["village_id", "parcels", "area_mu", "high_parcels", "high_mu", "medium_parcels",
               "medium_mu", "score_mean", "abandoned_parcels", "abandoned_mu"]]
    if villages is not None and len(villages):
        v = pd.DataFrame({"village_id": villages["village_id"].astype("string").to_numpy()})
        v["village_name"] = (
            villages["name"].astype("string").to_numpy() if "name" in villages else pd.NA
        )
        if "leader" in villages:
            v["leader"] = villages["leader"].astype("string").to_numpy()
        v = v.drop_duplicates("village_id")
        out = v.merge(out, on="village_id", how="right")
    out = out.sort_values(["high_mu", "medium_mu"], ascending=False, kind="stable").reset_index(
        drop=True
    )
    total = {
        "village_id": "合计 total",
        "parcels": int(out["parcels"].sum()),
        "high_parcels": int(out["high_parcels"].sum()),
        "medium_parcels": int(out["medium_parcels"].sum()),
        "score_mean": float(df["score"].mean()),
        "abandoned_parcels": int(out["abandoned_parcels"].sum()),
    }
    for c in ("area_mu", "high_mu", "medium_mu", "abandoned_mu"):
        total[c] = _cents(out[c].sum())  # the sum of the rows shown (balanced: the rounded total)
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def _parcel_m2(scored: pd.DataFrame) -> np.ndarray:
    """Each parcel's area in m²: its ``area_m2`` (from :func:`parcel_factors`), else from
    ``area_mu``, else the geometry's (:func:`~gis_town.analysis.areas.parcel_areas`)."""
    if "area_m2" in scored.columns:
        return pd.to_numeric(scored["area_m2"], errors="coerce").to_numpy(dtype="float64")
    if "area_mu" in scored.columns:
        return mu_to_m2(pd.to_numeric(scored["area_mu"], errors="coerce").to_numpy(dtype="float64"))
    return parcel_areas(gpd.GeoDataFrame(geometry=scored.geometry, crs=scored.crs))[
        "area_m2"
    ].to_numpy(dtype="float64")


def _balanced_mu(df: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """The area totals' table of ``df`` by village (and ``by``): balanced mu, 合计 row dropped."""
    keys = ["village_id", *([by] if by else [])]
    frame = pd.DataFrame({k: df[k].astype("object").where(df[k].notna(), None) for k in keys})
    frame["area_m2"] = df["area_m2"].to_numpy()
    t = group_totals(frame, keys, decimals=2)
    return t.iloc[:-1]


def _mu_of(out: pd.DataFrame, table: pd.DataFrame, value: str | None) -> np.ndarray:
    """Per village of ``out``: the balanced mu of its ``value`` row in ``table`` (None: all its rows)."""
    rows = table if value is None else table[table.iloc[:, 1].astype("object") == value]
    mu = rows.groupby(rows["village_id"].astype("object"))["area_mu"].sum()
    vid = out["village_id"].astype("object").where(out["village_id"].notna(), BLANK_LABEL)
    return np.array([_cents(mu.get(v, 0.0)) for v in vid], dtype="float64")


def _cents(x: float) -> float:
    """A sum of two-decimal values, without float noise (0.1 + 0.2)."""
    return round(float(x), 2)


def visit_list(
    scored: gpd.GeoDataFrame,
    *,
    size: int = 20,
    villages: gpd.GeoDataFrame | None = None,
    min_class: str = "medium",
    include_abandoned: bool = False,
    listed: dt.date | None = None,
    last_visits: pd.DataFrame | None = None,
    skip: set[str] | frozenset[str] = frozenset(),
) -> gpd.GeoDataFrame:
    """The village leader's visit list (包村领导走访清单): the parcels most at risk in each village.

    Per village, the ``size`` highest-scoring parcels of at least
    ``min_class`` that are not abandoned yet (unless ``include_abandoned``);
    then ordered by village, by 社 (``group``) when parcels
    carry one (groups in order of their highest score, as leaders cover
    groups and village cadres households), and by score within the group.

    Parameters
    ----------
    scored : GeoDataFrame
        Output of :func:`risk_score`.
    size : int, default 20
        Parcels per village (``config.risk.visit_list_size``).
    villages : GeoDataFrame, optional
        For the village name and leader (包村领导).
    min_class : {"low", "medium", "high"}, default "medium"
        Lowest risk class listed.
    include_abandoned : bool, default False
        Also list parcels already abandoned (they need bringing back into
        use, but they are known already; the list is for the parcels about
        to be left idle). Their count and mu are in :func:`village_summary`.
    listed : date, optional
        The day the list is made (``listed_date``: visits before it are
        rejected when the filled list comes back); default today.
    last_visits : DataFrame, optional
        :func:`gis_town.analysis.visits.last_visits` of the visit history:
        each listed parcel's last visit date and outcome.
    skip : set of str, optional
        Parcel ids left off the list (visited recently:
        :func:`gis_town.analysis.visits.recently_visited`); the next
        parcels of the village take their places.

    Returns
    -------
    GeoDataFrame
        ``village_id``, ``village_name``, ``leader``, ``group``, ``rank``
        (序号: 1, 2, ... in the order of the village's list), ``parcel_id``, ``contractor``
        (承包户, where known), ``status``, ``area_mu``, ``score``,
        ``risk_class_zh``, ``top_factor_zh``, ``reason``,
        ``last_visit_date`` and ``last_outcome_zh`` (empty: never visited),
        ``lon``, ``lat`` (a point inside the parcel, CGCS2000 ~ WGS84, for
        navigation), ``listed_date``, and the empty columns the cadres fill
        (:data:`~gis_town.analysis.visits.FILL_COLUMNS`); geometry = the
        parcel polygon in EPSG:4490.
    """
    if skip:
        scored = scored[~scored["parcel_id"].astype("string").isin(list(skip)).to_numpy(
            dtype=bool, na_value=False)]
    df = _top_per_village(
        scored, size=size, min_class=min_class, include_abandoned=include_abandoned
    )
    df = _by_group(df)
    # 序号 in the order of the list (by 社, then score), not the score's rank in the village
    df["rank"] = df.groupby("village_id", sort=False).cumcount() + 1
    if "contractor" not in df.columns:
        df["contractor"] = pd.array([pd.NA] * len(df), dtype="string")
    geo = df.geometry.to_crs(4490) if df.crs is not None else df.geometry
    pts = geo.representative_point()
    df["lon"] = pts.x.round(6).to_numpy()
    df["lat"] = pts.y.round(6).to_numpy()
    df = _with_leaders(df, villages)
    df = _with_visit_columns(df, listed, last_visits)
    cols = [c for c in VISIT_COLUMNS if c in df.columns]
    return gpd.GeoDataFrame(
        df[cols].reset_index(drop=True), geometry=geo.to_numpy(), crs="EPSG:4490"
    )


def _top_per_village(
    scored: gpd.GeoDataFrame, *, size: int, min_class: str, include_abandoned: bool
) -> gpd.GeoDataFrame:
    """The ``size`` highest-scoring parcels of each village of at least ``min_class``, with ``rank``."""
    order = {"low": 0, "medium": 1, "high": 2}
    if min_class not in order:
        raise ValueError(f"min_class must be low, medium or high, got {min_class!r}")
    cls = scored["risk_class"].astype("string").map(order).astype("float64").fillna(-1)
    keep = np.array(cls >= order[min_class], dtype=bool)
    if not include_abandoned and "status" in scored.columns:
        keep &= ~(scored["status"].astype("string") == "abandoned").to_numpy(
            dtype=bool, na_value=False
        )
    df = scored.loc[keep].copy()
    df["village_id"] = df["village_id"].astype("string")
    df = df.sort_values(["village_id", "score"], ascending=[True, False], kind="stable")
    df["rank"] = df.groupby("village_id", sort=False).cumcount() + 1
    return df[df["rank"] <= size]


def _by_group(df: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Order by village, then 社 (groups by their highest score), then score; add ``group`` if absent."""
    if "group" in df.columns:
        grp = df["group"].astype("string").fillna("")
        df["_gmax"] = df.groupby([df["village_id"], grp])["score"].transform("max")
        df["_g"] = grp
        return df.sort_values(
            ["village_id", "_gmax", "_g", "score"],
            ascending=[True, False, True, False],
            kind="stable",
        )
    df["group"] = pd.array([pd.NA] * len(df), dtype="string")
    return df


def _with_leaders(df: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Add ``village_name`` (when missing) and ``leader`` (包村领导) from the villages layer."""
    if villages is not None and len(villages):
        v = pd.DataFrame({"village_id": villages["village_id"].astype("string").to_numpy()})
        if "village_name" not in df.columns and "name" in villages:
            v["village_name"] = villages["name"].astype("string").to_numpy()
        if "leader" in villages:
            v["leader"] = villages["leader"].astype("string").to_numpy()
        v = v.drop_duplicates("village_id")
        if len(v.columns) > 1:
            df = df.merge(v, on="village_id", how="left")
    for c in ("village_name", "leader"):
        if c not in df.columns:
            df[c] = pd.array([pd.NA] * len(df), dtype="string")
    return df


def _with_visit_columns(
    df: pd.DataFrame, listed: dt.date | None, last: pd.DataFrame | None
) -> pd.DataFrame:
    """The last visit of each parcel (from the history), the list's date, empty columns to fill."""
    pid = df["parcel_id"].astype("string")
    if last is not None and len(last):
        by_id = pd.DataFrame(last).assign(parcel_id=last["parcel_id"].astype("string"))
        by_id = by_id.drop_duplicates("parcel_id", keep="last").set_index("parcel_id")
        df["last_visit_date"] = pd.to_datetime(pid.map(by_id["last_visit_date"])).to_numpy()
        df["last_outcome_zh"] = pid.map(by_id["last_outcome_zh"]).astype("string").to_numpy()
    else:
        df["last_visit_date"] = pd.NaT
        df["last_outcome_zh"] = pd.array([pd.NA] * len(df), dtype="string")
    df["listed_date"] = pd.Timestamp(listed or dt.date.today())
    for c in FILL_COLUMNS:
        df[c] = ""
    return df
