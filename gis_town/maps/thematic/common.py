"""Pieces every thematic map uses: the as-of date, the context layers."""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

from gis_town.io.town import Town
from gis_town.maps.spec import LayerSpec, Style

log = logging.getLogger(__name__)


#: Id of total rows in the analyses' tables (合计).
TOTAL_ID = "合计"


def as_of_date(town: Town, as_of) -> dt.date:
    if as_of is not None:
        return pd.Timestamp(as_of).date()
    if town.config.town.data_date is not None:
        return town.config.town.data_date
    return dt.date.today()


def context_specs(town: Town, *, rivers: bool = False, roads: bool = False) -> list[LayerSpec]:
    """Background layers of a thematic map: village outlines with names (and rivers, roads)."""
    specs: list[LayerSpec] = []
    if town.has("villages"):
        specs.append(
            LayerSpec(
                "行政村 villages",
                town.layers["villages"],
                fields=["village_id", "name", "leader"],
                tooltip=["name"],
                style=Style(color="#495057", weight=1.6, fill="#ffffff", fill_opacity=0.0),
                label_field="name",
                schema_layer="villages",
                coverage=True,
                legend=True,
            )
        )
    if rivers and town.has("rivers"):
        specs.append(
            LayerSpec(
                "河流 rivers",
                town.layers["rivers"],
                fields=["segment_id", "river_name"],
                tooltip=["river_name"],
                style=Style(color="#74a9cf", weight=1.5),
                schema_layer="rivers",
            )
        )
    if roads and town.has("roads"):
        specs.append(
            LayerSpec(
                "道路 roads",
                town.layers["roads"],
                fields=["road_id", "name", "road_class"],
                tooltip=["name"],
                style=Style(color="#adb5bd", weight=1.2),
                schema_layer="roads",
                show=False,
            )
        )
    return specs


# =========================================================================== patrol
