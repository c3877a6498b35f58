"""River patrol coverage (河长制巡河): who patrolled which stretch, how often, and where nobody went.

The plan asks every river chief to patrol "the whole area, whole segments, no
blind spots" (全区域、整河段、无死角) and sets cumulative targets (70 % of the
year's patrols by June 30, 100 % by September 30). This module turns patrol
GPS points into checked trips, matches them to river segments by linear
referencing, and reports per segment, chief and village. See
``docs/patrol.md`` for the method and every output column.

Pipeline (each step a pure function over DataFrames / GeoDataFrames):

1. :func:`prepare_points` - points (or line tracks) to one row per GPS fix in
   the Gauss-Kruger zone, times in Asia/Shanghai;
2. :func:`split_trips` - trips by ``trip_id``, else by a time gap;
3. :func:`prepare_rivers` - segments in the zone with their annual target;
4. :func:`match_points` - every fix within the tolerance of a segment, with
   its position along it (metres from the segment's start), found with a
   uniform grid over the river's edges and exact point-to-edge projection
   (numpy, no per-point Python);
5. :func:`validate_trips` - too fast, too short, too far, out of order;
6. :func:`covered_intervals` - consecutive fixes on the same segment cover
   the stretch between them; stretches merged per trip and segment;
7. :func:`trip_coverage` - covered share of each segment per trip, and
   whether the trip counts as a patrol of it;
8. :func:`segment_table`, :func:`blind_spots`, :func:`chief_table`,
   :func:`village_table` - per period, with the milestone schedule
   (:func:`milestone_share`) and the red/black list (:func:`rank_red_black`).

:func:`analyze_patrols` runs them all, in two stages: :func:`patrol_trips`
(steps 1-6, everything that touches the points) and :func:`patrol_report`
(steps 7-8, from the trips alone); the partitioned path
(:func:`gis_town.parallel.analyze_patrols`) runs the first per group of chiefs
and joins the pieces with :func:`combine_trips`. No buffer-and-union of
tracks anywhere: the work is linear in the number of points.

Modules: :mod:`~gis_town.analysis.patrol.points` (points and trips),
:mod:`~gis_town.analysis.patrol.network` (rivers and network matching),
:mod:`~gis_town.analysis.patrol.validation`,
:mod:`~gis_town.analysis.patrol.coverage` (covered stretches, blind spots),
:mod:`~gis_town.analysis.patrol.schedule` (milestones and the tables),
:mod:`~gis_town.analysis.patrol.pipeline` (the two stages and their results) and
:mod:`~gis_town.analysis.patrol.problems` (river problems to closure, 清四乱 and
回头看: :func:`with_problems` adds them to a result).
Every name is importable from here. The column labels (Chinese report
headers) are in :mod:`gis_town.reports.patrol`.
"""

from __future__ import annotations

from gis_town.analysis.patrol.common import REASONS
from gis_town.analysis.patrol.coverage import (
    blind_spots,
    covered_intervals,
    merge_intervals,
    trip_coverage,
)
from gis_town.analysis.patrol.network import match_points, prepare_rivers
from gis_town.analysis.patrol.pipeline import (
    PatrolResult,
    PatrolTrips,
    analyze_patrols,
    combine_trips,
    patrol_report,
    patrol_trips,
    prepare_run,
)
from gis_town.analysis.patrol.points import prepare_points, split_trips
from gis_town.analysis.patrol.problems import (
    PROBLEM_STATES,
    PatrolProblemsResult,
    RiverProblems,
    analyze_problems,
    prepare_problems,
    problem_counts,
    problem_states,
    rank_with_problems,
    revisit_table,
    with_problems,
)
from gis_town.analysis.patrol.schedule import (
    chief_table,
    milestone_share,
    quarter_periods,
    rank_red_black,
    segment_table,
    village_table,
)
from gis_town.analysis.patrol.validation import validate_trips

__all__ = [
    "PROBLEM_STATES",
    "PatrolProblemsResult",
    "PatrolResult",
    "PatrolTrips",
    "REASONS",
    "RiverProblems",
    "analyze_patrols",
    "analyze_problems",
    "blind_spots",
    "chief_table",
    "combine_trips",
    "covered_intervals",
    "match_points",
    "merge_intervals",
    "milestone_share",
    "patrol_report",
    "patrol_trips",
    "prepare_points",
    "prepare_problems",
    "prepare_rivers",
    "prepare_run",
    "problem_counts",
    "problem_states",
    "quarter_periods",
    "rank_red_black",
    "rank_with_problems",
    "revisit_table",
    "segment_table",
    "split_trips",
    "trip_coverage",
    "validate_trips",
    "village_table",
    "with_problems",
]
