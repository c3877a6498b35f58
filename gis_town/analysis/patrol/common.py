"""Shared by the patrol modules: the invalid-trip reasons, the list labels, the config lookup, chief keys and periods."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town import settings
from gis_town.config import PatrolSection, TownConfig

LOCAL_TZ = settings.LOCAL_TZ


_LINES = ("LineString", "MultiLineString")


#: Invalid-trip reasons: code -> Chinese / English text.
REASONS: dict[str, str] = {
    "too_fast": "速度过快(非步行) / too fast for walking",
    "too_short": "时间或距离过短 / too short",
    "too_far": "远离河道 / too far from any river",
    "out_of_order": "时间戳顺序错乱 / timestamps out of order",
    "no_end_time": "轨迹线缺少结束时间 / line track without end time",
}


def reason_label(code: str) -> str:
    """A reason in Chinese with English beside it, e.g. ``速度过快(非步行) too fast for walking``."""
    zh, _, en = REASONS.get(code, code).partition(" / ")
    return f"{zh} {en}".strip()


#: Output labels of the red / black list.
LIST_LABELS = {"red": "红榜", "black": "黑榜", "": ""}


def _cfg(config: TownConfig | PatrolSection | None) -> PatrolSection:
    if config is None:
        return PatrolSection()
    if isinstance(config, TownConfig):
        return config.patrol
    return config


def _period_mask(dates: pd.Series | np.ndarray, start: dt.date, end: dt.date) -> np.ndarray:
    d = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates)))
    return np.asarray((d >= pd.Timestamp(start)) & (d <= pd.Timestamp(end)))


def _segment_chief_keys(segments: gpd.GeoDataFrame) -> np.ndarray:
    name = "name:" + segments["chief"].astype("string").fillna("")
    cid = segments["chief_id"].astype("string")
    return ("id:" + cid).where(cid.notna(), name).to_numpy(dtype=object)


def _roster_lookup(segments: gpd.GeoDataFrame) -> dict[str, str]:
    """Map a trip's chief key to the segment roster's key: by id when both have one, else by name."""
    keys = _segment_chief_keys(segments)
    names = segments["chief"].astype("object").to_numpy()
    lookup: dict[str, str] = {}
    name_keys: dict[str, set] = {}
    for k, nm in zip(keys, names):
        lookup[k] = k
        if isinstance(nm, str):
            name_keys.setdefault(nm, set()).add(k)
    for nm, ks in name_keys.items():
        if len(ks) == 1:
            lookup.setdefault(f"name:{nm}", next(iter(ks)))
    return lookup


def _map_trip_keys(trips: pd.DataFrame, segments: gpd.GeoDataFrame) -> np.ndarray:
    lookup = _roster_lookup(segments)
    key = trips["chief_key"].astype("object").reset_index(drop=True)
    by_name = (
        ("name:" + trips["chief"].astype("string").fillna(""))
        .astype("object")
        .reset_index(drop=True)
    )
    out = key.map(lookup)
    out = out.where(out.notna(), by_name.map(lookup))
    return out.where(out.notna(), key).to_numpy(dtype=object)
