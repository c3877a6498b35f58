"""The 防返贫监测 map: households under monitoring counted per village; positions only when internal."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.io.town import Town
from gis_town.maps.base import TownMap
from gis_town.maps.colors import ordered
from gis_town.maps.layout import town_map
from gis_town.maps.spec import LayerSpec, Style, graduated_classes
from gis_town.reports.monitoring import MONITORING_HEADERS, count_columns

__all__ = ["INTERNAL_MARK", "monitoring_map"]

#: What every internal output says on every page and sheet.
INTERNAL_MARK = "内部资料 注意保密 INTERNAL: personal data"


def _village_spec(town: Town, by_village: pd.DataFrame) -> LayerSpec:
    v = town.layers["villages"][["village_id", "name", town.layers["villages"].geometry.name]]
    g = gpd.GeoDataFrame(v.merge(by_village.drop(columns="village_name"), on="village_id", how="left"),
                         geometry=v.geometry.name, crs=v.crs)
    g["households"] = g["households"].fillna(0)
    cls, styles, labels = graduated_classes(g["households"].astype(float), [-np.inf, 0.5, 5, 10, 20, np.inf],
                                            ordered(5), unit=" 户")
    g["household_class"] = cls
    fields = ["village_id", "name", *count_columns(by_village)]
    return LayerSpec("监测户数 households under monitoring (per village)", g, fields=fields,
                     tooltip=["name", "households", "visits_due"], labels=MONITORING_HEADERS,
                     category="household_class", styles=styles, class_labels=labels, label_field="name")


def monitoring_map(town: Town, by_village: pd.DataFrame, *, title: str,
                   households: gpd.GeoDataFrame | None = None, **kwargs) -> TownMap:
    """Counts per village (graduated); with ``households`` (``--internal`` only) their points and names.

    Without ``households`` the page holds no household's position, name or id: only the
    village counts of :func:`gis_town.analysis.monitoring.monitoring_by_village`.
    """
    specs = [_village_spec(town, by_village)]
    if households is not None and len(households) and isinstance(households, gpd.GeoDataFrame):
        fields = [c for c in ("household_id", "head", "category", "risk_reasons", "last_visit") if c in households]
        specs.append(LayerSpec("监测户 households (内部 internal)", households, fields=fields,
                               tooltip=fields[:2], labels=MONITORING_HEADERS,
                               style=Style(color="#7a0177", fill="#f768a1", radius=5, fill_opacity=0.9, weight=1)))
        title = f"{title} — {INTERNAL_MARK}"
    return town_map(town, specs, title, **kwargs)
