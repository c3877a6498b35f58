"""``gis-town patrol``: river patrol coverage (河长制巡河覆盖), blind spots and the red/black list.

Usage::

    gis-town patrol TOWN.gpkg [--tracks FILE_OR_FOLDER] [--as-of YYYY-MM-DD] --out DIR

Writes into ``DIR``: ``patrol_segments.csv`` (per segment, year to date),
``patrol_periods.csv`` (per segment and quarter), ``patrol_chiefs.csv``,
``patrol_villages.csv``, ``patrol_trips.csv``, ``patrol_invalid_trips.csv``,
``patrol_gaps.gpkg`` (blind spots, layer ``patrol_gaps``),
``patrol_report.xlsx`` (the same tables with Chinese headers, behind-schedule
rows in red) and ``rejects.csv``. Every output is computed before the first is
written, and each is written atomically.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from gis_town.cli.common import (
    add_command,
    add_town_args,
    config_from_args,
    echo,
    open_town,
    print_table,
    write_rejects,
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
        "--as-of",
        type=_date,
        default=None,
        dest="as_of",
        help="统计截止日期 report date YYYY-MM-DD (default: [town] data_date, else the last patrol's day)",
    )
    p.set_defaults(func=run)


def _zh(df: pd.DataFrame) -> pd.DataFrame:
    """Chinese + English headers; zoned times as local wall-clock times (Excel has no time zones)."""
    import pandas as pd

    from gis_town.analysis.patrol import COLUMN_LABELS

    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].dt.tz_localize(None)
    return out.rename(
        columns={c: f"{COLUMN_LABELS[c]} {c}" if c in COLUMN_LABELS else c for c in out.columns}
    )


def _pct(v: float) -> str:
    return "" if v is None or v != v else f"{100 * v:.0f}%"


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town patrol`` (heavy imports in the steps: the parser stays light)."""
    from gis_town.cli.partitioned import dask_requested, patrol_partitioned

    cfg = config_from_args(args)  # read once: for the Dask choice and the town
    if args.tracks is None and dask_requested(args, cfg):
        # --scheduler / --workers / [dask]: the points are read and matched in the workers
        town, res = patrol_partitioned(args)
        return _write(args, town, res, res.problems if len(res.problems) else None)
    town, res, problems = _one_process(args, cfg)
    return _write(args, town, res, problems)


def _one_process(args: argparse.Namespace, config=None):
    """The town and the patrol analysis in this process (also for ``--tracks``)."""
    import pandas as pd

    from gis_town.analysis.patrol import analyze_patrols
    from gis_town.io.tracks import load_tracks

    layers = ["rivers", "villages"] + ([] if args.tracks else ["patrols"])
    required = ("rivers",) if args.tracks else ("rivers", "patrols")
    town = open_town(args, layers=layers, required=required, config=config)
    cfg = town.config
    extra = pd.DataFrame()
    if args.tracks is not None:
        points, extra, counts = load_tracks(args.tracks, cfg)
        counts = pd.DataFrame([counts])
        town.counts = (
            pd.concat([town.counts, counts], ignore_index=True) if len(town.counts) else counts
        )
    else:
        points = town.layer("patrols")

    res = analyze_patrols(
        points,
        town.layer("rivers"),
        config=cfg,
        as_of=args.as_of,
        villages=town.layers.get("villages"),
        gk_crs=town.gk_crs,
    )
    problems = (
        pd.concat([p for p in (extra, res.problems) if len(p)], ignore_index=True)
        if (len(extra) or len(res.problems))
        else None
    )
    return town, res, problems


def _write(args: argparse.Namespace, town, res, problems: pd.DataFrame | None) -> int:
    """Write every output (each atomically) and print the summary."""
    import pandas as pd

    from gis_town.analysis.patrol import REASONS
    from gis_town.io.write import write_csv, write_vector, write_xlsx

    cfg = town.config
    # everything is computed: now write (each file atomically)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    seg = res.segments
    trips = res.trips.drop(columns=["trip", "chief_key"])
    invalid = res.invalid_trips.drop(columns=["trip", "chief_key"])
    fmt = args.vector_format
    title = f"{cfg.town.name} 巡河覆盖 river patrol coverage, 截至 as of {res.as_of.isoformat()}"
    sheets = {
        "河段 segments": _zh(seg),
        "河长 chiefs": _zh(res.chiefs),
        "村 villages": _zh(res.villages),
        "无效轨迹 invalid trips": _zh(invalid),
        "分季度 quarters": _zh(res.periods),
    }
    behind = ~seg["on_track"].fillna(True).astype(bool).reset_index(drop=True)
    written = [
        write_csv(seg, out / "patrol_segments.csv"),
        write_csv(res.periods, out / "patrol_periods.csv"),
        write_csv(res.chiefs, out / "patrol_chiefs.csv"),
        write_csv(res.villages, out / "patrol_villages.csv"),
        write_csv(trips, out / "patrol_trips.csv"),
        write_csv(invalid, out / "patrol_invalid_trips.csv"),
        write_vector(
            res.gaps, out / f"patrol_gaps.{fmt}", layer="patrol_gaps", fmt=fmt, crs=cfg.town.crs
        ),
        write_xlsx(
            sheets,
            out / "patrol_report.xlsx",
            highlight={"河段 segments": behind},
            titles={k: f"{title} - {k}" for k in sheets},
        ),
    ]
    write_rejects(town, out, extra=problems)

    s = res.summary
    echo("")
    echo(title)
    echo(
        f"应完成全年任务 due by now: {_pct(s['due_share'])} "
        f"(时间进度 milestone schedule {', '.join(f'{d} {_pct(v)}' for d, v in cfg.patrol.milestones)})"
    )
    reasons = ", ".join(
        f"{REASONS[k].split(' / ')[1]} {v}" for k, v in s["invalid_by_reason"].items() if v
    )
    echo(
        f"轨迹点 points {s['points']:,} (剔除 rejected {s['rejected_points']:,}); 巡河 trips {s['trips']:,}: "
        f"有效 valid {s['valid_trips']:,}, 无效 invalid {s['invalid_trips']:,}"
        + (f" ({reasons})" if reasons else "")
    )
    echo(
        f"河段 segments {s['segments']}, {s['river_km']:.1f} km; 已巡 covered {s['covered_km']:.1f} km "
        f"({_pct(s['covered_fraction'])}); 盲区 blind spots {s['blind_spots']} ({s['blind_spot_km']:.1f} km)"
    )
    echo(f"进度正常 on track {s['segments_on_track']}, 滞后 behind {s['segments_behind']}")
    view = seg[
        [
            "segment_id",
            "river_name",
            "chief",
            "patrols_ytd",
            "target",
            "progress",
            "covered_fraction",
            "on_track",
        ]
    ].copy()
    view["progress"] = view["progress"].map(_pct)
    view["covered_fraction"] = view["covered_fraction"].map(_pct)
    view["on_track"] = view["on_track"].map(
        lambda v: "" if v is pd.NA else ("是 yes" if v else "否 NO")
    )
    print_table(
        view.rename(
            columns={
                "segment_id": "河段 segment",
                "river_name": "河流 river",
                "chief": "河长 chief",
                "patrols_ytd": "巡河 patrols",
                "target": "任务 target",
                "progress": "进度 progress",
                "covered_fraction": "覆盖 covered",
                "on_track": "正常 on track",
            }
        ),
        title="河段 segments (年初至今 year to date)",
        max_rows=30,
    )
    ranked = res.chiefs[res.chiefs["list"] != ""]
    if len(ranked):
        rv = ranked[
            [
                "list_label",
                "rank",
                "chief",
                "chief_level",
                "patrols",
                "target",
                "progress",
                "invalid_trips",
            ]
        ].copy()
        rv["progress"] = rv["progress"].map(_pct)
        print_table(
            rv.rename(
                columns={
                    "list_label": "榜 list",
                    "rank": "名次 rank",
                    "chief": "河长 chief",
                    "chief_level": "级别 level",
                    "patrols": "巡河 patrols",
                    "target": "任务 target",
                    "progress": "进度 progress",
                    "invalid_trips": "无效 invalid",
                }
            ),
            title="红黑榜 red/black list (河长 chiefs)",
        )
    echo(f"已写出 wrote {len(written)} files to {out} ({', '.join(p.name for p in written)})")
    return 0
