"""``gis-town progress``: plan progress as of a date (计划进度), workbook and CSVs.

Writes into ``--out``:

* ``progress.xlsx``: a summary sheet and one sheet per topic (Chinese
  headers with the English field beside, widths and number formats set,
  rows behind schedule or missing a target highlighted);
* the same tables as CSV: ``summary.csv``, ``afforestation.csv``,
  ``afforestation_plots.csv``, ``resettlement.csv``,
  ``resettlement_households.csv``, ``reclamation.csv``, ``high_standard.csv``,
  ``zones.csv``, ``roads.csv``, ``collective.csv``;
* ``progress.gpkg`` with layers ``progress_zones`` and ``progress_households``
  (or two shapefiles with ``--format shp``) for a map: zone polygons with their belt
  progress, household points with overdue / pending stages and date issues;
* ``remediation.csv`` and the workbook's 撂荒地整治 sheet, with a visit history
  (``--visits`` or ``[risk] visits``: the ``visits.csv`` of ``gis-town visits``);
* ``rejects.csv`` (features set aside while reading, with reasons).

Prints the summary. Exit code 0, or 2 on bad input (an unparseable date,
an unknown kind, a config milestone with an unknown stage...).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gis_town.cli.common import (
    add_command,
    add_town_args,
    config_from_args,
    echo,
    echo_written,
    open_town,
    print_table,
    write_rejects,
    written_since,
)

__all__ = ["register", "run"]


def register(sub) -> None:
    p = add_command(
        sub,
        "progress",
        "计划进度 plan progress as of a date (afforestation, resettlement, high-standard farmland, belts, roads, collective economy)",
    )
    add_town_args(p, out="reports/progress")
    p.add_argument(
        "--as-of",
        dest="as_of",
        default=None,
        help="统计日期 as-of date YYYY-MM-DD (default: the config's town.data_date, else today)",
    )
    p.add_argument(
        "--visits", type=Path, default=None, metavar="VISITS_CSV",
        help="走访记录 the visit history (visits.csv of gis-town visits; default: config [risk] "
        "visits): adds the 撂荒地整治 sheet (listed, visited, re-cultivated, promised, overdue)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town progress``: the runner computes, the reports write, this prints."""
    from gis_town.reports.progress import (
        HEADERS,
        SUMMARY_HEADERS,
        resettlement_totals,
        write_progress,
    )
    from gis_town.runners.progress import progress_layers, run_progress

    cfg = config_from_args(args)
    town = open_town(args, layers=progress_layers(cfg), config=cfg)
    result = run_progress(town, town.config, as_of=args.as_of, visits=args.visits)
    out_dir: Path = args.out
    t0 = time.time()
    xlsx = write_progress(town, result, out_dir, fmt=args.vector_format)
    write_rejects(town, out_dir)
    shown = result.summary[list(SUMMARY_HEADERS)]
    print_table(
        shown.rename(columns=SUMMARY_HEADERS),
        title=f"计划进度汇总 plan progress summary, 截至 as of {result.as_of:%Y-%m-%d}",
        max_rows=200,
    )
    rs = result.topics.get("resettlement")
    if rs is not None and len(rs.table):
        print_table(
            resettlement_totals(rs.table),
            title="搬迁进度合计 resettlement totals: 完成户数 / 全部户数 done of all",
            max_rows=200,
        )
    if result.remediation is not None:
        from gis_town.reports.visits import REMEDIATION_CONSOLE_HEADERS

        print_table(
            result.remediation.rename(columns=REMEDIATION_CONSOLE_HEADERS),
            title=f"撂荒地整治 visit follow-up ({result.history}): 地块数 parcels",
        )
    if result.behind:
        n = result.behind
        echo(f"{n} 项滞后 / {n} items behind schedule: 见 see {xlsx}")
    hh = result.households
    if hh is not None:
        late = hh[hh["behind"] | (hh["order_issue"] != "")]
        if len(late):
            echo(
                f"滞后或日期异常的搬迁户 households behind schedule or with dates out of order: {len(late)}"
            )
            print_table(
                late[
                    ["household_id", "head", "village_name", "overdue", "pending", "order_issue"]
                ].rename(columns=lambda c: f"{HEADERS.get(c, c)} {c}"),
                max_rows=30,
            )
    echo_written(written_since(out_dir, t0), out_dir)
    return 0
