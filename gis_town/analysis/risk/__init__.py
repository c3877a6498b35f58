"""Abandoned-farmland risk (撂荒风险): which parcels are likely to be left idle, and why.

The plan: no abandoned land this year (确保年内不发生弃耕撂荒现象); village
leaders go door to door and to the fields. This package gives them, before the
sowing season, a short list of the parcels most at risk in each village, with
the reason for each.

Steps (each a pure function over GeoDataFrames / DataFrames), one module each:

1. :mod:`~gis_town.analysis.risk.factors` - :func:`parcel_factors`: per
   parcel, every factor of :data:`gis_town.config.RISK_FACTORS` with its unit
   in its name: terrain from the DEM (:func:`terrain_factors`: exact
   fractional zonal statistics of the slope and the elevation), distances in
   metres in the town's Gauss-Kruger zone (:func:`distance_to_nearest_m`,
   :func:`settlement_distance_m`), area and shape (:func:`shape_factors`),
   years idle, NDVI (:func:`ndvi_factors`) and the village's share of
   monitored households (:func:`monitored_share`).
2. :mod:`~gis_town.analysis.risk.score` - :func:`normalise_factors`: each
   factor to 0-1 (1 = riskiest) by a robust min-max over the town's parcels,
   in the direction of risk; :func:`risk_score`: the weighted sum 0-100 with
   the config's weights, risk class (low / medium / high) with the config's
   thresholds, and the factor that contributes most (``top_factor``) with a
   readable reason.
3. :mod:`~gis_town.analysis.risk.validation` - :func:`validate_risk`: when
   parcels carry an observed status, ROC AUC of the score against it, and a
   cross-validated logistic regression, both without the factors derived from
   the status itself.
4. :mod:`~gis_town.analysis.risk.lists` - :func:`village_summary` and
   :func:`visit_list`: per village, high-risk parcels and mu; the leader's
   visit list sorted by score, grouped by 社 (columns :data:`VISIT_COLUMNS`).

Which rasters and options a town's run uses is decided in one place, the
runner :func:`gis_town.runners.risk.run_risk`; report headers are in
:mod:`gis_town.reports.risk`. See ``docs/risk.md`` for the formulas, units and
the validation.
"""

from __future__ import annotations

import importlib
from typing import Any

from gis_town.analysis.risk.factors import (
    FACTORS,
    Factor,
    distance_to_nearest_m,
    monitored_share,
    ndvi_factors,
    parcel_factors,
    settlement_distance_m,
    shape_factors,
    terrain_factors,
    years_idle,
)
from gis_town.analysis.risk.lists import VISIT_COLUMNS, village_summary, visit_list
from gis_town.analysis.risk.score import RISK_CLASS_LABELS, normalise_factors, risk_score
from gis_town.analysis.risk.validation import (
    RiskValidation,
    status_derived_factors,
    validate_risk,
)

__all__ = [
    "COLUMN_LABELS",
    "FACTORS",
    "RISK_CLASS_LABELS",
    "VISIT_COLUMNS",
    "Factor",
    "RiskValidation",
    "distance_to_nearest_m",
    "monitored_share",
    "ndvi_factors",
    "normalise_factors",
    "parcel_factors",
    "risk_score",
    "settlement_distance_m",
    "shape_factors",
    "status_derived_factors",
    "terrain_factors",
    "validate_risk",
    "village_summary",
    "visit_list",
    "years_idle",
]


def __getattr__(name: str) -> Any:
    """``COLUMN_LABELS`` (report headers) lives in :mod:`gis_town.reports.risk`; kept importable here."""
    if name == "COLUMN_LABELS":
        return importlib.import_module("gis_town.reports.risk").COLUMN_LABELS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
