"""The change map (两期耕地变化图): every piece of two surveys by change class.

The pieces of :func:`gis_town.runners.compare.run_compare` are drawn by their
change class (:data:`~gis_town.analysis.compare.CHANGE_CLASSES`), over the
NEW town's villages and roads; the farmland lost (耕地减少, 非农化/非粮化
candidates) and the parcels newly abandoned (新增撂荒, the leaders' visit
list) are drawn again on top with a bold outline, so they stand out at any
zoom. The same layers make the web page (:func:`compare_map`) and the print
map (:func:`print_compare_map`, A4/A3 PNG or PDF).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from gis_town.io.town import Town
from gis_town.maps.base import TownMap
from gis_town.maps.layout import town_data_date, town_map, with_village_names
from gis_town.maps.spec import LayerSpec, Style
from gis_town.maps.thematic.common import context_specs
from gis_town.reports.compare import (
    CHANGE_CLASSES,
    CHANGE_LABELS,
    COLUMN_LABELS,
    GEOMETRY_LABELS,
    STATUS_LABELS,
)

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.compare import CompareResult

__all__ = [
    "CHANGE_STYLES",
    "HIGHLIGHT_STYLES",
    "PIECE_FIELDS",
    "compare_map",
    "compare_specs",
    "print_compare_map",
]

log = logging.getLogger(__name__)

#: Fill of each change class: the unchanged land pale, the changes strong.
CHANGE_STYLES: dict[str, Style] = {
    "unchanged": Style(color="#7fbc41", fill="#d9f0a3", weight=0.3, fill_opacity=0.55),
    "newly_abandoned": Style(color="#b2182b", fill="#f46d43", weight=0.6, fill_opacity=0.85),
    "recultivated": Style(color="#006837", fill="#1a9850", weight=0.5, fill_opacity=0.8),
    "still_abandoned": Style(color="#4d4d4d", fill="#878787", weight=0.5, fill_opacity=0.75),
    "other_status_change": Style(color="#2166ac", fill="#92c5de", weight=0.5, fill_opacity=0.75),
    "lost": Style(color="#67001f", fill="#c51b7d", weight=0.8, fill_opacity=0.85),
    "new": Style(color="#08519c", fill="#4292c6", weight=0.5, fill_opacity=0.8),
}

#: The two classes drawn again on top: a bold outline without fill.
HIGHLIGHT_STYLES: dict[str, Style] = {
    "lost": Style(color="#49006a", weight=2.6, opacity=0.95, fill=None),
    "newly_abandoned": Style(color="#d7301f", weight=2.6, opacity=0.95, fill=None, dash="5 3"),
}

#: Popup fields of a piece, in order.
PIECE_FIELDS: tuple[str, ...] = (
    "change_zh",
    "village_name",
    "old_parcel_id",
    "new_parcel_id",
    "old_status_zh",
    "new_status_zh",
    "geometry_change_zh",
    "area_mu",
    "old_area_mu",
    "new_area_mu",
    "new_land_class_name",
)

_CLASS_LEGEND = {c: f"{CHANGE_LABELS[c]} {c}" for c in CHANGE_CLASSES}


def _status_zh(s: pd.Series) -> pd.Series:
    return s.astype("string").map(lambda v: STATUS_LABELS.get(v, v), na_action="ignore")


def _map_pieces(result: CompareResult, town: Town) -> gpd.GeoDataFrame:
    """The pieces with the Chinese words and village names the popups show."""
    p = with_village_names(result.pieces, town)
    p = p.copy()
    p["change_zh"] = p["change"].map(_CLASS_LEGEND).astype("string")
    p["geometry_change_zh"] = p["geometry_change"].map(GEOMETRY_LABELS).astype("string")
    p["old_status_zh"] = _status_zh(p["old_status"])
    p["new_status_zh"] = _status_zh(p["new_status"])
    for c in ("area_mu", "old_area_mu", "new_area_mu"):
        p[c] = p[c].astype("float64").round(2)
    return p


def compare_specs(town: Town, result: CompareResult) -> tuple[list[LayerSpec], str, str]:
    """Layers, title and subtitle of the change map.

    Parameters
    ----------
    town : Town
        The NEW survey's town (villages and roads as the background).
    result : CompareResult
        :func:`gis_town.runners.compare.run_compare`, drawn as it is.

    Returns
    -------
    specs, title, subtitle
    """
    labels = {**COLUMN_LABELS, "change_zh": "变化类型", "village_name": "村名"}
    pieces = _map_pieces(result, town)
    specs = context_specs(town, roads=True)
    specs.append(
        LayerSpec(
            "耕地变化 change by class",
            pieces,
            fields=list(PIECE_FIELDS),
            tooltip=["change_zh", "old_parcel_id", "new_parcel_id", "area_mu"],
            labels=labels,
            category="change",
            styles=CHANGE_STYLES,
            class_labels=_CLASS_LEGEND,
            style=CHANGE_STYLES["other_status_change"],
            coverage=False,
        )
    )
    for cls, name in (("lost", "耕地减少 lost farmland"), ("newly_abandoned", "新增撂荒 newly abandoned")):
        part = pieces[(pieces["change"] == cls).to_numpy()]
        if len(part):
            specs.append(
                LayerSpec(
                    f"{name} ({len(part)})",
                    part,
                    fields=list(PIECE_FIELDS),
                    tooltip=["change_zh", "old_parcel_id", "new_parcel_id", "area_mu"],
                    labels=labels,
                    style=HIGHLIGHT_STYLES[cls],
                )
            )
    area = result.villages.iloc[-1]  # the balanced total row, as the tables show it
    title = f"{town.config.town.name} 两期耕地变化图 / farmland change between two surveys"
    subtitle = (
        f"新增撂荒 newly abandoned {area['newly_abandoned_mu']:,.2f} 亩, "
        f"已复耕 recultivated {area['recultivated_mu']:,.2f} 亩, "
        f"耕地减少 lost {area['lost_mu']:,.2f} 亩, 新增耕地 new {area['new_mu']:,.2f} 亩"
    )
    return specs, title, subtitle


def compare_map(town: Town, result: CompareResult, **kwargs) -> TownMap:
    """The change map as a ``folium.Map``; ``kwargs`` go to ``build_map`` (offline, html_path ...)."""
    specs, title, subtitle = compare_specs(town, result)
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)


def print_compare_map(
    town: Town, result: CompareResult, path: str | Path, *, paper: str = "A4", dpi: int = 300,
    public: bool = False,
) -> Path:
    """The print version of the change map (PNG or PDF by ``path``'s suffix)."""
    from gis_town.maps.printmap import print_map, town_map_number

    specs, title, subtitle = compare_specs(town, result)
    cfg = town.config
    dem = cfg.dem_path()
    return print_map(
        specs,
        path,
        title=title,
        subtitle=subtitle,
        data_date=town_data_date(town),
        paper=paper,
        dpi=dpi,
        crs=town.gk_crs,
        dem=dem if dem is not None and Path(dem).is_file() else None,
        public=public,
        town_name=cfg.town.name,
        producer=cfg.map.producer,
        map_number=town_map_number(cfg.town.name, "compare", town_data_date(town)),
    )
