"""``gis-town patrol``: river patrol coverage (河长制巡河覆盖), blind spots and the red/black list.

Usage::

    gis-town patrol TOWN.gpkg [--tracks FILE_OR_FOLDER] [--problems FILE] [--as-of YYYY-MM-DD] --out DIR

Writes into ``DIR``: ``patrol_segments.csv`` (per segment, year to date),
``patrol_periods.csv`` (per segment and quarter), ``patrol_chiefs.csv``,
``patrol_villages.csv``, ``patrol_trips.csv``, ``patrol_invalid_trips.csv``,
``patrol_gaps.gpkg`` (blind spots, layer ``patrol_gaps``),
``patrol_report.xlsx`` (the same tables with Chinese headers, behind-schedule
rows in red) and ``rejects.csv``; with river problems (清四乱, the town's
``problems`` layer) also ``patrol_problems.csv``, ``patrol_problems.gpkg``
(layer ``patrol_problems``), ``patrol_revisits.csv`` (回头看) and their sheets. Every output is computed before the first is
written, and each is written atomically.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"日期应为 YYYY-MM-DD / expected a date YYYY-MM-DD, got {text!r}"
        ) from None


def register(sub) -> None:
    p = add_command(
        sub,
        "patrol",
        "巡河覆盖 river patrol coverage: patrols per segment, blind spots, red/black list (红黑榜)",
    )
    add_town_args(p, out="reports")
    p.add_argument(
        "--tracks",
        type=Path,
        default=None,
        help="巡河轨迹文件或文件夹 (CSV 经度,纬度,时间,河长; GPX; KML/KMZ), 代替 patrols 图层 / a track "
        "file or a folder of them (CSV lon, lat, time, chief; GPX; KML/KMZ; searched recursively; a trip "
        "exported twice counts once), instead of the town's patrols layer",
    )
    p.add_argument(
        "--problems",
        type=Path,
        default=None,
        help="河湖问题(清四乱)文件 (GeoPackage, KML/KMZ 事件导出, xlsx 台账 with 经度/纬度), 代替 [layers.problems] "
        "/ a river problems file (GeoPackage, KML/KMZ from the patrol app, xlsx ledger with lon/lat) instead "
        "of the town's [layers.problems]",
    )
    p.add_argument(
        "--as-of",
        type=_date,
        default=None,
        dest="as_of",
        help="统计截止日期 report date YYYY-MM-DD (default: [town] data_date, else the last patrol's day)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town patrol``: the runner computes, this writes and prints."""
    from gis_town.runners.patrol import PATROL_LAYERS, dask_choice, run_patrol

    cfg = config_from_args(args)  # read once: for the Dask choice and the town
    scheduler, workers = getattr(args, "scheduler", None), getattr(args, "workers", None)
    cluster = dask_choice(cfg, workers=workers, scheduler=scheduler)
    partitioned = args.tracks is None and cluster is not None
    # --tracks or Dask: the points are not the loaded patrols layer
    own_points = args.tracks is not None or partitioned
    layers = [n for n in PATROL_LAYERS if n != "patrols" or not own_points]
    required = ("rivers",) if own_points else ("rivers", "patrols")
    town = open_town(args, layers=layers, required=required, config=cfg)
    if partitioned:
        where = cluster[0] or f"本机 local, {cluster[1]} workers"
        echo(f"Dask 分区计算 partitioned run on {where}: {_patrols_path(town)}")
    res = run_patrol(
        town,
        town.config,
        as_of=args.as_of,
        tracks=args.tracks,
        scheduler=scheduler,
        workers=workers,
        problems=args.problems,
    )
    return _write(args, town, res, res.problems if len(res.problems) else None)


def _patrols_path(town) -> Path:
    """The file the partitioned run reads the patrol points from."""
    from gis_town.parallel import layer_source

    return layer_source(Path(town.path), town.config, "patrols")[0]


def _write(args: argparse.Namespace, town, res, problems: pd.DataFrame | None) -> int:
    """Write every output (each atomically) and print the summary."""

    from gis_town.io.write import write_csv, write_vector, write_xlsx
    from gis_town.reports.patrol import patrol_sheets

    cfg = town.config
    # everything is computed: now write (each file atomically)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    seg = res.segments
    trips = res.trips.drop(columns=["trip", "chief_key"])
    invalid = res.invalid_trips.drop(columns=["trip", "chief_key"])
    fmt = args.vector_format
    title = f"{cfg.town.name} 巡河覆盖 river patrol coverage, 截至 as of {res.as_of.isoformat()}"
    sheets = patrol_sheets(res)
    behind = ~seg["on_track"].fillna(True).astype(bool).reset_index(drop=True)
    write_csv(seg, out / "patrol_segments.csv")
    write_csv(res.periods, out / "patrol_periods.csv")
    write_csv(res.chiefs, out / "patrol_chiefs.csv")
    write_csv(res.villages, out / "patrol_villages.csv")
    write_csv(trips, out / "patrol_trips.csv")
    write_csv(invalid, out / "patrol_invalid_trips.csv")
    write_vector(res.gaps, out / f"patrol_gaps.{fmt}", layer="patrol_gaps", fmt=fmt, crs=cfg.town.crs)
    write_xlsx(sheets, out / "patrol_report.xlsx", highlight={"河段 segments": behind},
               titles={k: f"{title} - {k}" for k in sheets})
    _write_problems(res, out, fmt, cfg)
    write_rejects(town, out, extra=problems)
    _print_summary(title, res, cfg)
    echo_written(written_since(out, t0), out)
    return 0


def _write_problems(res, out: Path, fmt: str, cfg) -> list[Path]:
    """The river problems' files (none when the run has no problems)."""
    found = getattr(res, "river_problems", None)
    if found is None:
        return []
    from gis_town.io.write import write_csv, write_vector
    from gis_town.reports.patrol import problem_table, revisit_frame

    table = problem_table(found)
    geo = found.table[["problem_id", found.table.geometry.name]].merge(
        table.drop(columns=["lon", "lat"]), on="problem_id"
    )
    return [
        write_csv(table, out / "patrol_problems.csv"),
        write_vector(geo, out / f"patrol_problems.{fmt}", layer="patrol_problems", fmt=fmt, crs=cfg.town.crs),
        write_csv(revisit_frame(found), out / "patrol_revisits.csv"),
    ]


def _problem_lines(res, cfg) -> None:
    """The river problems: counts, the chiefs with problems, the 回头看 sheet."""
    from gis_town.reports.patrol import pct, problem_view, revisit_view

    found = getattr(res, "river_problems", None)
    if found is None:
        return
    s = found.summary
    pc = cfg.patrol
    echo(
        f"河湖问题(清四乱) river problems {s['problems']}: 未整改 open {s['problems_open']} "
        f"(逾期 overdue > {pc.problem_overdue_days} 天 days: {s['problems_overdue']}), "
        f"已整改 closed {s['problems_closed']}, 整改率 rectification rate {pct(s['rectification_rate'])}; "
        f"远离河段 far from a segment (> {pc.problem_snap_m:g} m) {s['problems_far_from_river']}"
    )
    unchecked = s.get("revisits_not_checked", 0)
    echo(
        f"回头看 revisits: 本期整改 closed in the period {s['closed_in_period']}, 整改后有巡河经过 patrolled "
        f"after {s['revisited']}, 未经过 not {s['not_revisited']} (within {pc.tolerance_m:g} m)"
        + (f"; 未核查 not checked {unchecked} (分区计算不保留轨迹点 a partitioned run keeps no track points)"
           if unchecked else "")
    )
    view = problem_view(res.chiefs)
    if len(view):
        print_table(view, title="河湖问题 river problems (责任河长 responsible chief)")
    if len(found.revisits):
        print_table(revisit_view(found.revisits), title="回头看 revisits (本期整改的问题 problems closed in the period)")


def _print_summary(title: str, res, cfg) -> None:
    """The run's summary lines, the segments' table and the red/black list."""
    from gis_town.reports.patrol import pct, red_black_view, segment_view

    s = res.summary
    echo("")
    echo(title)
    echo(
        f"应完成全年任务 due by now: {pct(s['due_share'])} "
        f"(时间进度 milestone schedule {', '.join(f'{d} {pct(v)}' for d, v in cfg.patrol.milestones)})"
    )
    echo(
        f"轨迹点 points {s['points']:,} (剔除 rejected {s['rejected_points']:,}); 巡河 trips {s['trips']:,}: "
        f"有效 valid {s['valid_trips']:,}, 无效 invalid {s['invalid_trips']:,}"
    )
    for line in _reason_lines(s):
        echo(line)
    echo(
        f"河段 segments {s['segments']}, {s['river_km']:.1f} km; 已巡 covered {s['covered_km']:.1f} km "
        f"({pct(s['covered_fraction'])}); 盲区 blind spots {s['blind_spots']} ({s['blind_spot_km']:.1f} km)"
    )
    echo(f"进度正常 on track {s['segments_on_track']}, 滞后 behind {s['segments_behind']}")
    print_table(
        segment_view(res.segments), title="河段 segments (年初至今 year to date)", max_rows=30
    )
    _problem_lines(res, cfg)
    ranked = red_black_view(res.chiefs)
    if len(ranked):
        print_table(ranked, title="红黑榜 red/black list (河长 chiefs)")
        echo(_rule_text(res, cfg))


def _rule_text(res, cfg) -> str:
    """The ranking rule as printed under the red/black list (with the problems' weight when they count)."""
    rest = (
        "再覆盖率 高者先, 再无效比例 低者先, 均按所示整数百分比比较, 相同者同名次 / "
    )
    if "rank_score" in res.chiefs.columns:
        w = cfg.patrol.problem_rate_weight
        return (
            f"排名规则 ranking rule: 排名分 = {1 - w:g} × 进度(实际比例, 不封顶) + {w:g} × 整改率(无问题计 100%) "
            f"高者先, {rest}score = {1 - w:g} × progress (true share, not capped) + {w:g} × rectification "
            "rate (100% without problems) high first, then coverage high first, then invalid share low "
            "first, each in whole percent as shown; equal rows share a rank (docs/patrol.md)"
        )
    return (
        f"排名规则 ranking rule: 进度(实际比例, 不封顶) 高者先, {rest}progress (true share, not capped) "
        "high first, then coverage high first, then invalid share low first, each in whole percent as "
        "shown; equal rows share a rank (docs/patrol.md)"
    )


def _reason_lines(s: dict) -> list[str]:
    """The invalid trips by reason: trips with each reason (they overlap), with it alone, with several."""
    from gis_town.analysis.patrol.common import reason_label

    by = {k: v for k, v in s.get("invalid_by_reason", {}).items() if v}
    if not by:
        return []
    only = s.get("invalid_only_reason", {})
    several = s.get("invalid_several_reasons", 0)
    lines = [
        f"  无效原因 invalid reasons (一趟可有多个原因, 各数为含此原因的趟数, 合计可多于 {s['invalid_trips']:,} "
        f"/ a trip may have several reasons; each count is the trips with this reason):"
    ]
    for k, v in by.items():
        lines.append(
            f"    {reason_label(k)}: 含此原因 trips with this reason {v:,} 趟, "
            f"仅此原因 this reason only {only.get(k, 0):,}"
        )
    lines.append(
        f"    多个原因 several reasons: {several:,} 趟 trips "
        f"(仅一个原因 {sum(only.values()):,} + 多个原因 {several:,} = 无效 invalid {s['invalid_trips']:,})"
    )
    return lines
