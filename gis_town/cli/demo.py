"""``gis-town demo``: the main job on the demo town: every layer, every analysis, every map."""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

from gis_town.cli.common import add_command, echo, print_table

REPO_LAYERS = Path("layers")


def register(sub) -> None:
    p = add_command(sub, "demo", "示范镇全流程 run every analysis and map on the demo town")
    p.add_argument("--town", type=Path, default=REPO_LAYERS / "demo_town.gpkg", help="乡镇数据 town GeoPackage")
    p.add_argument("--reports", type=Path, default=Path("reports"), help="报表目录 reports folder")
    p.add_argument("--maps", type=Path, default=Path("maps"), help="地图目录 maps folder")
    p.add_argument("--as-of", default=None, help="统计截止日期 as-of date (default: the config's data_date)")
    p.add_argument("--offline", action="store_true", help="离线地图 offline maps (no network needed to open them)")
    p.add_argument("--no-delivered", dest="delivered", action="store_false",
                   help="不运行原始数据形态的示范镇 skip the demo town as delivered (三调 .gdb, KML trips, "
                        "xlsx ledger, DEM tiles; written beside the town as delivered/)")
    p.set_defaults(func=run)


def _steps(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    town = str(args.town)
    rep = args.reports
    as_of = ["--as-of", args.as_of] if args.as_of else []
    layers = args.town.parent
    visits = ["--visits", str(rep / "visits" / "visits.csv")]
    offline = ["--offline"] if args.offline else []
    steps: list[tuple[str, list[str]]] = [
        ("info", ["info", town, "--rows", "2"]),
        ("areas", ["areas", town, "--out", str(rep / "areas.csv")]),
        ("patrol", ["patrol", town, *as_of, "--out", str(rep / "patrol")]),
        ("visits", ["visits", str(layers / "visits_filled.xlsx"), "--town", town, *_visits_as_of(args),
                    "--out", str(rep / "visits")]),
        ("risk", ["risk", town, *visits, "--out", str(rep / "risk")]),
        ("progress", ["progress", town, *as_of, *visits, "--out", str(rep / "progress")]),
        ("upload", ["upload", town, *as_of, "--out", str(rep / "upload")]),
        ("compare", ["compare", str(layers / "demo_town_2022.gpkg"), town, "--old-date", "2022-12-31",
                     *offline, "--out", str(rep / "compare")]),
        ("check", ["check", f"{town}:acceptance_plots", "--town", town, "--rules", "high_standard",
                   "--out", str(rep / "check_high_standard")]),
        ("check", ["check", f"{town}:reclamation", "--town", town, "--rules", "reclamation",
                   "--out", str(rep / "check_reclamation")]),
        ("siting", ["siting", town, "--for", "greenhouse", "--out", str(rep / "siting_greenhouse")]),
        ("monitoring", ["monitoring", town, *as_of, *offline, "--out", str(rep / "monitoring")]),
    ]
    for kind in ("layout", "patrol", "risk", "progress", "check"):
        steps.append(("map", ["map", town, "--kind", kind, *offline, "--out", str(args.maps / f"{kind}.html")]))
    steps.append(("map", ["map", town, "--kind", "layout", "--out", str(args.maps / "layout.pdf")]))
    if getattr(args, "delivered", False):
        steps += _delivered_steps(args)
    return steps


def _visits_as_of(args: argparse.Namespace) -> list[str]:
    """``--as-of`` for the visits step: the demo's date, else the town's data_date (as risk and
    progress take it), so promises are overdue as of the same day in every report."""
    from gis_town.config import config_for

    day = args.as_of or (config_for(args.town).town.data_date if args.town.exists() else None)
    return ["--as-of", str(day)] if day else []


def _delivered_dir(args: argparse.Namespace) -> Path:
    return args.town.parent / "delivered"


def _delivered_steps(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """The same analyses on the town as delivered: 三调 .gdb, a folder of KML/GPX trips, an xlsx ledger."""
    d = _delivered_dir(args)
    gdb, rep = str(d / "三调.gdb"), args.reports / "delivered"
    as_of = ["--as-of", args.as_of] if args.as_of else []
    return [
        ("info", ["info", gdb, "--rows", "1"]),
        ("areas", ["areas", gdb, "--out", str(rep / "areas.csv")]),
        ("patrol", ["patrol", gdb, "--tracks", str(d / "巡河轨迹"), *as_of, "--out", str(rep / "patrol")]),
        ("risk", ["risk", gdb, "--out", str(rep / "risk")]),
        ("progress", ["progress", gdb, *as_of, "--out", str(rep / "progress")]),
        ("upload", ["upload", gdb, *as_of, "--out", str(rep / "upload")]),
        ("map", ["map", gdb, "--kind", "layout", "--out", str(args.maps / "delivered_layout.html")]),
    ]


def _ensure_delivered(args: argparse.Namespace) -> None:
    """Write the town as delivered beside the demo town when it is missing or older."""
    d = _delivered_dir(args)
    cfg = d / "town.yaml"
    if cfg.exists() and cfg.stat().st_mtime >= args.town.stat().st_mtime:
        return
    from gis_town.demo.delivered import write_delivered_town

    echo(f"正在生成原始数据形态的示范镇 / writing the demo town as delivered under {d}")
    write_delivered_town(args.town, d)


def _verbosity(args: argparse.Namespace) -> list[str]:
    """The demo's own ``-v`` / ``-q`` for every step (each step is a ``main`` call of its own)."""
    return ["-v"] * getattr(args, "verbose", 0) + ["-q"] * getattr(args, "quiet", 0)


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town demo``: every step in turn, then the table of their results."""
    import pandas as pd

    from gis_town.cli import main

    if not args.town.exists():
        echo(f"示范镇数据不存在，正在生成 / demo town missing: generating it under {args.town.parent}")
        rc = main([*_verbosity(args), "generate", "--out", str(args.town.parent)])
        if rc:
            return rc
    if args.delivered:
        _ensure_delivered(args)
    rows = []
    worst = 0
    for command, argv in _steps(args):
        label = f"{command} → {Path(argv[argv.index('--out') + 1]).name}" if "--out" in argv else command
        if str(_delivered_dir(args)) in " ".join(argv):
            label = f"{label} (原始数据 as delivered)"
        if importlib.util.find_spec(f"gis_town.cli.{command}") is None:
            rows.append({"步骤 step": label, "结果 result": "未实现 not available", "秒 s": 0.0})
            continue
        echo(f"\n>>> gis-town {' '.join(argv)}")
        t0 = time.perf_counter()
        rc = main([*_verbosity(args), *argv])
        dt = time.perf_counter() - t0
        # exit 1 = plots failed their checks: an expected result in the demo, not a failure
        result = {0: "成功 ok", 1: "完成，有未通过项 done, some checks failed"}.get(rc, f"失败 failed (exit {rc})")
        rows.append({"步骤 step": label, "结果 result": result, "秒 s": round(dt, 1)})
        if rc not in (0, 1):
            worst = max(worst, rc)
    echo("")
    print_table(pd.DataFrame(rows), title="示范镇全流程 demo run")
    echo(f"报表 reports: {args.reports}/   地图 maps: {args.maps}/")
    return worst
