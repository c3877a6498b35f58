"""The acceptance-check rules (验收前检查规则): one small pure function per rule kind.

Every rule function takes the plots (a GeoDataFrame, or :class:`Plots`
prepared once by :func:`prepare_plots`), a :class:`CheckContext` (context
layers, DEM, NDVI, the Gauss-Kruger zone) and its limits as keyword
arguments, and returns a :data:`RULE_COLUMNS` DataFrame with one row per plot
in input order:

``status``
    ``pass``, ``fail`` or ``not_checked`` (the rule could not run for that
    plot: no DEM given, a layer missing, no usable geometry...). Missing data
    is never a pass.
``value``, ``unit``
    The measured value (mean slope in degrees, distance in metres, ...).
``limit``
    The limit, as text (``"<= 15°"``).
``detail_zh``, ``detail_en``
    What was measured (for a pass or a fail), or why the rule could not run.

Geometry-dependent rules measure the plot's own geometry when it is a valid
polygon; a plot with an invalid, empty or non-polygon geometry is
``not_checked`` by them ("fix the geometry first": the validity rule says
why), so no measurement is made on a geometry nobody drew.

Areas are ellipsoidal on CGCS2000 (:func:`gis_town.geodesy.area_m2`); widths,
distances and buffers are in the run's Gauss-Kruger zone. Slope and NDVI come
from :mod:`gis_town.raster` (exact, coverage-weighted zonal statistics).

The rules live by concern in :mod:`~gis_town.analysis.check.geometry_rules`,
:mod:`~gis_town.analysis.check.attribute_rules`,
:mod:`~gis_town.analysis.check.context_rules` and
:mod:`~gis_town.analysis.check.raster_rules`; the plots and the context in
:mod:`~gis_town.analysis.check.plots`. This module holds the registry
:data:`RULE_FUNCTIONS` and re-exports every rule under its old name.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from gis_town.analysis.check.attribute_rules import check_attributes, check_declared_area
from gis_town.analysis.check.context_rules import (
    check_basic_farmland,
    check_homestead,
    check_redline,
    check_river_buffer,
    check_road_access,
)
from gis_town.analysis.check.geometry_rules import (
    check_duplicate_id,
    check_geometry_valid,
    check_overlap,
    check_sliver,
)
from gis_town.analysis.check.plots import (
    FAIL,
    GEOS_REASONS_ZH,
    NOT_CHECKED,
    PASS,
    RULE_COLUMNS,
    CheckContext,
    Plots,
    prepare_plots,
    repair_geometry,
)
from gis_town.analysis.check.raster_rules import check_ndvi, check_slope

__all__ = [
    "FAIL",
    "NOT_CHECKED",
    "PASS",
    "GEOS_REASONS_ZH",
    "RULE_COLUMNS",
    "RULE_FUNCTIONS",
    "CheckContext",
    "Plots",
    "check_attributes",
    "check_basic_farmland",
    "check_declared_area",
    "check_duplicate_id",
    "check_geometry_valid",
    "check_homestead",
    "check_ndvi",
    "check_overlap",
    "check_redline",
    "check_river_buffer",
    "check_road_access",
    "check_slope",
    "check_sliver",
    "prepare_plots",
    "repair_geometry",
]

#: Rule kind -> function (the kinds of :data:`gis_town.analysis.check.rulesets.RULE_KINDS`).
RULE_FUNCTIONS: dict[str, Callable[..., pd.DataFrame]] = {
    "geometry_valid": check_geometry_valid,
    "duplicate_id": check_duplicate_id,
    "overlap": check_overlap,
    "sliver": check_sliver,
    "declared_area": check_declared_area,
    "slope": check_slope,
    "road_access": check_road_access,
    "redline": check_redline,
    "river_buffer": check_river_buffer,
    "homestead": check_homestead,
    "ndvi": check_ndvi,
    "basic_farmland": check_basic_farmland,
    "attributes": check_attributes,
}
