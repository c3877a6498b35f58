"""Thematic maps: each draws a topic's result from its runner (:mod:`gis_town.runners`).

A map never runs an analysis: the CLI (and :func:`make_map`) get the result
from the topic's runner, the same code the topic's command runs, so the map
and the report always agree. Without a result (library use) each builder
calls the runner itself. The layers are :class:`~gis_town.maps.spec.LayerSpec`:

* :func:`patrol_map` - river patrol coverage (河长制巡河): segments by progress
  against the milestone due, covered stretches and blind spots (巡河盲区),
  segments per chief, invalid trips with their reasons (``run_patrol``);
* :func:`risk_map` - abandoned-land risk (撂荒风险): parcels by risk class with
  the top factor and its reason in the popup, the leaders' visit list (``run_risk``);
* :func:`progress_map` - plan progress (计划进度): demonstration belts by share
  of their planned area, high-standard farmland by project, afforestation by
  kind, resettlement households by the stage reached, reclaimed plots and
  roads hardened this year (``run_progress``);
* :func:`check_map` - acceptance check (验收前检查): plots that failed, with
  their failed rules and messages in the popup (``run_check``).

:func:`map_specs` returns the layers, title and subtitle of any kind (the
print map uses it); :func:`make_map` returns the ``folium.Map``.
"""

from __future__ import annotations

from gis_town.errors import InputError
from gis_town.io.town import Town
from gis_town.maps.base import TownMap
from gis_town.maps.layout import layout_specs, town_map
from gis_town.maps.spec import LayerSpec
from gis_town.maps.thematic.check import CHECK_LABELS, CHECK_STYLES, check_map, check_specs
from gis_town.maps.thematic.common import TOTAL_ID, context_specs
from gis_town.maps.thematic.patrol import patrol_map, patrol_specs
from gis_town.maps.thematic.progress import PROGRESS_LABELS, progress_map, progress_specs
from gis_town.maps.thematic.risk import RISK_STYLES, risk_map, risk_specs

__all__ = [
    "CHECK_LABELS",
    "CHECK_STYLES",
    "PROGRESS_LABELS",
    "RISK_STYLES",
    "TOTAL_ID",
    "check_map",
    "check_specs",
    "context_specs",
    "make_map",
    "map_specs",
    "patrol_map",
    "patrol_specs",
    "progress_map",
    "progress_specs",
    "risk_map",
    "risk_specs",
]


def map_specs(
    town: Town, kind: str, *, as_of=None, result=None, **kwargs
) -> tuple[list[LayerSpec], str, str | None]:
    """Layers, title and subtitle of a map of ``kind`` (layout, patrol, risk, progress, check).

    ``result`` is the topic's result from its runner (:mod:`gis_town.runners`);
    the map draws it.
    """
    kind = kind.lower()
    if result is not None:
        kwargs["result"] = result
    if kind == "layout":
        return (
            layout_specs(town),
            f"{town.config.town.name} 一川两线三流域布局图 / layout map",
            None,
        )
    if kind == "patrol":
        return patrol_specs(town, as_of=as_of, **kwargs)
    if kind == "risk":
        return risk_specs(town, **kwargs)
    if kind == "progress":
        return progress_specs(town, as_of=as_of, **kwargs)
    if kind == "check":
        return check_specs(town, **kwargs)
    raise InputError(
        f"未知地图类型 / unknown map kind {kind!r}: layout, patrol, risk, progress or check"
    )


def make_map(
    town: Town, kind: str = "layout", *, as_of=None, analysis: dict | None = None, **kwargs
) -> TownMap:
    """A town map of ``kind`` as a ``folium.Map``.

    Parameters
    ----------
    town : Town
    kind : {"layout", "patrol", "risk", "progress", "check"}
    as_of : date, optional
        For patrol and progress maps.
    analysis : dict, optional
        Extra arguments of the kind's spec builder, above all ``result`` (the
        topic's runner result; computed by the runner when omitted).
    **kwargs
        :func:`gis_town.maps.base.build_map` options (basemap, offline, public ...).
    """
    specs, title, subtitle = map_specs(town, kind, as_of=as_of, **(analysis or {}))
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)
