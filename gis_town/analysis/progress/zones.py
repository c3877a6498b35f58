"""Demonstration belts (一川两线三流域): farmland inside each zone against its ``planned_demo_mu``."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.analysis.overlay import area_by_zone, inside_outside
from gis_town.analysis.progress.fields import _bools, _codes, _numbers, _require
from gis_town.analysis.progress.status import (
    STATUS_LABELS,
    TOTAL_ID,
    TopicProgress,
    _annual_status,
    _due,
    _fmt_date,
    _share_pct,
    _summary,
    parse_as_of,
)
from gis_town.config import TownConfig
from gis_town.geodesy import m2_to_mu
from gis_town.io.validate import normalize_codes
from gis_town.schema import CODE_VALUES, code_label

__all__ = ["zone_progress"]

#: Columns of the table.
_COLUMNS = [
    "kind",
    "kind_label",
    "zone_id",
    "name",
    "parcels",
    "area_mu",
    "cultivated_mu",
    "abandoned_mu",
    "fallow_mu",
    "film_mu",
    "planned_demo_mu",
    "share_pct",
    "status",
    "note",
]
_NO_FILM = "耕地无 film_mulch 字段: 按全部耕地计 / no film_mulch field: all farmland counted"


def zone_progress(
    farmland: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    config: TownConfig,
    as_of: str | dt.date | pd.Timestamp,
) -> TopicProgress:
    """Demonstration belts (一川两线三流域): farmland inside each zone against ``planned_demo_mu``.

    Parcels crossing a zone boundary are split by true intersection
    (:func:`gis_town.analysis.overlay.area_by_zone`). The belt's built area
    is the film-mulched farmland (全膜双垄沟播, ``film_mulch``) inside the zone;
    without a ``film_mulch`` field, all farmland inside (marked in ``note``).
    Totals are per zone and per kind (one 合计 row per kind, a union so
    overlapping zones of one kind never count twice), never across kinds.

    Returns
    -------
    TopicProgress
        ``table``: ``kind``, ``kind_label``, ``zone_id``, ``name``,
        ``parcels``, ``area_mu`` (all statuses), ``cultivated_mu``,
        ``abandoned_mu``, ``fallow_mu``, ``film_mu``, ``planned_demo_mu``,
        ``share_pct`` (film / planned), ``status``, ``note``.

    Raises
    ------
    FieldError
        Missing fields, an unknown zone kind, a non-numeric ``planned_demo_mu``.
    """
    as_of = parse_as_of(as_of)
    due = _due(config, "targets.annual_due", config.targets.annual_due)
    z, fl, has_film = _zone_inputs(farmland, zones)
    film_note = "" if has_film else _NO_FILM
    pieces = area_by_zone(
        fl,
        z,
        parcel_columns=["parcel_id", "status", "film_mulch"],
        zone_columns=["zone_id", "kind", "name", "planned_demo_mu"],
    )
    rows: list[dict] = []
    for kind in [k for k in CODE_VALUES["zone_kind"] if (z["kind"] == k).any()]:
        zk = z[(z["kind"] == kind).to_numpy()]
        parts = _zone_rows(zk, pieces, kind, film_note, due, as_of)
        rows += [*parts, _noted_total(_kind_total(fl, zk, kind, film_note, due, as_of), parts)]
    table = pd.DataFrame(rows, columns=_COLUMNS)
    table["status_label"] = table["status"].map(STATUS_LABELS)
    return TopicProgress(
        "zones",
        "一川两线三流域 示范片带 demonstration belts",
        table,
        _summary(_zone_summary(rows, due)),
    )


def _zone_inputs(
    farmland: gpd.GeoDataFrame, zones: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, bool]:
    """Zones with parsed kind and planned mu; parcels with status and film mulch (True without the field)."""
    _require(zones, ("zone_id", "kind"), "zones")
    _require(farmland, ("parcel_id",), "farmland")
    z = zones.copy()
    z["kind"] = _codes(zones, "kind", "zone_kind", "zones", "zone_id").to_numpy()
    z["planned_demo_mu"] = _numbers(zones, "planned_demo_mu", "zones", "zone_id").to_numpy()
    if "name" not in z.columns:
        z["name"] = ""
    fl = farmland.copy()
    has_film = "film_mulch" in fl.columns
    fl["film_mulch"] = (
        _bools(farmland, "film_mulch").fillna(False).to_numpy(dtype=bool) if has_film else True
    )
    fl["status"] = (
        normalize_codes(farmland["status"], "status")[0].to_numpy()
        if "status" in farmland.columns
        else None
    )
    return z, fl, has_film


def _row(
    kind: str,
    zid: str,
    name: str,
    part_area: np.ndarray,
    part_status: np.ndarray,
    part_film: np.ndarray,
    n_parcels: int,
    planned: float,
    note: str,
    due: pd.Timestamp,
    as_of: pd.Timestamp,
) -> dict:
    """The row of a zone (or a kind's total) from the areas (m²) of its parcel pieces."""
    film_mu = float(m2_to_mu(np.sum(part_area[part_film])))
    return {
        "kind": kind,
        "kind_label": code_label("zone_kind", kind),
        "zone_id": zid,
        "name": name,
        "parcels": int(n_parcels),
        "area_mu": float(m2_to_mu(part_area.sum())),
        "cultivated_mu": float(m2_to_mu(part_area[part_status == "cultivated"].sum())),
        "abandoned_mu": float(m2_to_mu(part_area[part_status == "abandoned"].sum())),
        "fallow_mu": float(m2_to_mu(part_area[part_status == "fallow"].sum())),
        "film_mu": film_mu,
        "planned_demo_mu": planned,
        "share_pct": _share_pct(film_mu, planned),
        "status": _annual_status(film_mu, planned, due, as_of),
        "note": note,
    }


def _zone_rows(
    zk: gpd.GeoDataFrame,
    pieces: pd.DataFrame,
    kind: str,
    film_note: str,
    due: pd.Timestamp,
    as_of: pd.Timestamp,
) -> list[dict]:
    """One row per zone of ``kind`` (by zone id)."""
    rows = []
    for zr in zk.sort_values("zone_id").itertuples():
        p = pieces[pieces["zone_id"] == zr.zone_id]
        planned = float(zr.planned_demo_mu)
        note = "; ".join(
            x
            for x in (
                film_note,
                "" if np.isfinite(planned) else "分区无计划示范面积 planned_demo_mu blank",
            )
            if x
        )
        rows.append(
            _row(
                kind,
                zr.zone_id,
                zr.name,
                p["area_m2"].to_numpy(),
                p["status"].to_numpy(),
                p["film_mulch"].to_numpy(dtype=bool),
                p["parcel_row"].nunique(),
                planned,
                note,
                due,
                as_of,
            )
        )
    return rows


def _kind_total(
    fl: gpd.GeoDataFrame,
    zk: gpd.GeoDataFrame,
    kind: str,
    film_note: str,
    due: pd.Timestamp,
    as_of: pd.Timestamp,
) -> dict:
    """The 合计 row of a kind: the union of its zones, so overlapping zones never count twice."""
    io = inside_outside(fl, zk, parcel_columns=["status", "film_mulch"], zones_layer="zones")
    io = io[io["inside_m2"] > 0]
    planned = float(zk["planned_demo_mu"].sum(min_count=1))
    if zk["planned_demo_mu"].isna().any():
        planned = np.nan
    return _row(
        kind,
        TOTAL_ID,
        f"合计({code_label('zone_kind', kind)})",
        io["inside_m2"].to_numpy(),
        io["status"].to_numpy(),
        io["film_mulch"].to_numpy(dtype=bool),
        len(io),
        planned,
        "; ".join(x for x in (film_note, "本类分区合计(不跨类相加) total of this kind only") if x),
        due,
        as_of,
    )


def _noted_total(total: dict, parts: list[dict]) -> dict:
    """The kind's total with a note where its parts count split parcels in each part or overlap."""
    from gis_town.analysis.areas import OVERLAP_NOTE, SPLIT_NOTE

    split = sum(r["parcels"] for r in parts) - total["parcels"]
    overlap = sum(r["area_mu"] for r in parts) - total["area_mu"] > 1e-6 * max(total["area_mu"], 1.0)
    notes = [total["note"], f"{SPLIT_NOTE} ({split})" if split > 0 else "", OVERLAP_NOTE if overlap else ""]
    return {**total, "note": "; ".join(x for x in notes if x)}


def _zone_summary(rows: list[dict], due: pd.Timestamp) -> list[dict]:
    """Summary rows: one per zone (not the totals)."""
    summary = [
        {
            "topic": "示范片带 demonstration belts",
            "item": f"{r['kind_label']} {r['name']}",
            "unit": "亩 mu (覆膜 film)",
            "done": r["film_mu"],
            "target": r["planned_demo_mu"],
            "share_pct": r["share_pct"],
            "due_date": _fmt_date(due),
            "status": r["status"],
            "note": r["note"],
        }
        for r in rows
        if r["zone_id"] != TOTAL_ID
    ]
    return summary
