"""``gis-town visits``: the filled visit lists back from the villages (走访结果回收, 撂荒地整治).

Reads the visit lists ``gis-town risk`` wrote, as the village cadres filled
them in (one workbook, several, or folders of them: one per village), checks
every filled row and writes into ``--out``:

* ``visits.csv``: the accepted visits, the history ``risk`` and ``progress``
  read (``--visits FILE`` or ``[risk] visits`` in the config);
* ``listed.csv``: every parcel on the lists read;
* ``visits_villages.csv`` and ``visits.xlsx``: the follow-up per village and
  leader (listed, visited, re-cultivated, promised, overdue...), the visits,
  the rejected rows;
* ``rejects.csv``, only when a row was rejected: file, sheet, the row number
  as Excel shows it, parcel id, and the reason (Chinese and English).

Exit code 0 when every filled row was accepted, 1 when some were rejected
(the others are kept), 2 when a workbook is missing, unreadable or not a visit list.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gis_town.cli.common import (
    add_command,
    echo,
    echo_written,
    print_table,
    write_rejects,
    written_since,
)

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.visits import VisitsResult

__all__ = ["register", "run"]

#: Rejected rows printed (all of them are in rejects.csv).
_SHOWN = 30


def register(sub) -> None:
    p = add_command(
        sub,
        "visits",
        "走访结果回收 read the filled visit lists back: checked visits, rejects, follow-up per village",
        description=(
            "读入村干部填写的走访清单 (gis-town risk 写出的 visit_list.xlsx，可多个文件或文件夹，每村一个)，"
            "逐行检查 (地块编码、走访日期、走访结果、计划复耕日期)，写出 visits.csv (走访记录) 与 rejects.csv "
            "(未通过的行、行号与原因) / read the visit lists as the cadres filled them (files or folders), "
            "check each row, write the accepted visits (visits.csv: the history risk and progress read "
            "with --visits or [risk] visits) and the rejected rows with their Excel row and reason. "
            "Exit 1 when rows were rejected."
        ),
    )
    p.add_argument(
        "filled", nargs="+", type=Path, metavar="FILLED",
        help="填好的走访清单 filled visit_list.xlsx files, or folders of them",
    )
    p.add_argument(
        "--town", type=Path, required=True,
        help="乡镇数据 the town (GeoPackage or folder): the parcel ids the rows must name",
    )
    p.add_argument(
        "--config", type=Path, default=None,
        help="配置文件 town config (TOML/YAML); default: town.toml beside the town",
    )
    p.add_argument(
        "--out", type=Path, default=Path("reports/visits"),
        help="输出目录 output folder (default: reports/visits)",
    )
    p.add_argument(
        "--as-of", dest="as_of", default=None,
        help="今天 today YYYY-MM-DD: visits after it are rejected as in the future (default: today)",
    )
    p.add_argument(
        "--history", type=Path, default=None, metavar="VISITS_CSV",
        help="以前的走访记录 an earlier visits.csv: its visits are kept in the new history",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town visits``: read, check, write, print; 1 when rows were rejected."""
    from gis_town.cli.common import open_town
    from gis_town.io.visits import read_visit_history
    from gis_town.reports.visits import write_visits
    from gis_town.runners.visits import run_visits

    town = open_town(args, layers=["villages", "farmland"], required=("farmland",))
    history = read_visit_history(args.history) if args.history is not None else None
    result = run_visits(town, town.config, paths=args.filled, as_of=args.as_of, history=history)
    out: Path = args.out
    t0 = time.time()
    write_visits(result, out)
    rejects = result.rejects
    write_rejects(town, out, extra=rejects if len(rejects) else None)
    _print(result, town.config.town.name)
    echo_written(written_since(out, t0), out)
    return 1 if len(rejects) else 0


def _print(result: VisitsResult, town_name: str) -> None:
    """The count of rows, the rejected rows and the follow-up table."""
    from gis_town.reports.visits import REMEDIATION_CONSOLE_HEADERS

    echo(
        f"读入 {len(result.files)} 个文件，填写 {result.filled} 行：通过 {len(result.accepted)}，"
        f"未通过 {len(result.rejects)}，重复 {result.duplicates} / {len(result.files)} files, "
        f"{result.filled} filled rows: {len(result.accepted)} accepted, {len(result.rejects)} "
        f"rejected, {result.duplicates} duplicates"
    )
    if not result.filled:
        echo("走访清单中没有填写的行 / no row of the lists is filled in (走访日期, 走访结果 ...)")
    rej = result.rejects
    if len(rej):
        echo("未通过检查的行 rejected rows (rejects.csv), 改正后重新运行 / fix them and run again:")
        for _, r in rej.head(_SHOWN).iterrows():
            echo(f"{r['source']} {r['sheet']} 第{r['row']}行 row {r['row']} {r['feature_id']}: {r['reason']}")
        if len(rej) > _SHOWN:
            echo(f"  ... 另有 {len(rej) - _SHOWN} 行 / {len(rej) - _SHOWN} more in rejects.csv")
    print_table(
        result.villages.rename(columns=REMEDIATION_CONSOLE_HEADERS),
        title=f"{town_name} 撂荒地整治 visit follow-up, 截至 as of {result.as_of:%Y-%m-%d}",
    )
