"""Acceptance check of farmland plots (验收前检查): every rule, every plot.

Before a high-standard farmland project (高标准农田) or a batch of reclaimed
plots (拆旧复垦) goes to acceptance, the town checks every plot against a rule
set and fixes what fails.

- :mod:`~gis_town.analysis.check.rules`: one small pure function per rule
  kind (geometry validity, overlaps, duplicate ids, slivers, declared area,
  slope, road access, red line, river buffer, homestead, NDVI, basic
  farmland, attributes).
- :mod:`~gis_town.analysis.check.rulesets`: the rule sets (shipped
  ``high_standard`` and ``reclamation``, town overrides, rule files) and
  their validation.
- :mod:`~gis_town.analysis.check.engine`: :func:`run_rules` and
  :func:`summarize`.

The officials' workbook, the HTML report and its map are in
:mod:`gis_town.reports.check` (an analysis does not draw); the runner
:func:`gis_town.runners.check.run_check` decides the rule set, the rasters and
the context layers for the CLI, the map and the notebooks.

Examples
--------
>>> from gis_town.analysis.check import CheckContext, run_rules, summarize
>>> ctx = CheckContext.from_town(town)                        # doctest: +SKIP
>>> results = run_rules(plots, "high_standard", context=ctx)  # doctest: +SKIP
>>> summarize(results).query("not passed")                    # doctest: +SKIP
"""

from gis_town.analysis.check.engine import (
    RESULT_COLUMNS,
    STATUS_LABELS,
    SUMMARY_COLUMNS,
    rule_counts,
    run_rules,
    summarize,
    take_rows,
)
from gis_town.analysis.check.rules import (
    FAIL,
    NOT_CHECKED,
    PASS,
    RULE_COLUMNS,
    RULE_FUNCTIONS,
    CheckContext,
    Plots,
    check_attributes,
    check_basic_farmland,
    check_declared_area,
    check_duplicate_id,
    check_geometry_valid,
    check_homestead,
    check_ndvi,
    check_overlap,
    check_redline,
    check_river_buffer,
    check_road_access,
    check_sliver,
    check_slope,
    prepare_plots,
    repair_geometry,
)
from gis_town.analysis.check.rulesets import (
    RULE_KINDS,
    SHIPPED_RULE_SETS,
    Rule,
    RuleSet,
    load_rule_set,
    parse_rule_set,
)

__all__ = [
    "FAIL",
    "NOT_CHECKED",
    "PASS",
    "RESULT_COLUMNS",
    "RULE_COLUMNS",
    "RULE_FUNCTIONS",
    "RULE_KINDS",
    "SHIPPED_RULE_SETS",
    "STATUS_LABELS",
    "SUMMARY_COLUMNS",
    "CheckContext",
    "Plots",
    "Rule",
    "RuleSet",
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
    "load_rule_set",
    "parse_rule_set",
    "prepare_plots",
    "repair_geometry",
    "rule_counts",
    "run_rules",
    "summarize",
    "take_rows",
]
