"""``gis-town monitoring``: 防返贫监测, the households under monitoring (三类户), privacy first.

Without ``--internal`` every output (workbook, CSV, map) holds counts per village only: no
household's name, id or position. With ``--internal`` the visits-due list (names, leaders)
and the households' points are added, and every sheet and the map say 内部资料 注意保密.
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
    print_table,
    written_since,
)


def register(sub) -> None:
    p = add_command(
        sub, "monitoring",
        "防返贫监测 households under monitoring (三类户): counts per village, visits due; names only with --internal",
    )
    add_town_args(p, out="reports/monitoring", vector_format=False, dask=False)
    p.add_argument("--as-of", default=None, help="统计截止日期 as-of date (default: the config's data_date)")
    p.add_argument("--internal", action="store_true",
                   help="内部版 add the visits-due list with names and the households' points (marked internal)")
    p.add_argument("--offline", action="store_true", help="离线地图 map without web tiles")
    p.add_argument("--no-map", action="store_true", help="不生成 monitoring.html skip the map")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town monitoring``: read the ledger, count per village, write (and map) them."""
    from gis_town.analysis.monitoring import monitoring_by_village, visits_due
    from gis_town.io.town import load_town, read_config_layer
    from gis_town.io.write import write_csv, write_xlsx
    from gis_town.maps.thematic.monitoring import INTERNAL_MARK
    from gis_town.reports.monitoring import zh_columns
    from gis_town.runners.progress import progress_as_of

    cfg = config_from_args(args)
    town = load_town(args.town, cfg, layers=["villages"], required=("villages",))
    mon = cfg.monitoring
    hh = read_config_layer(cfg, town.path, path=mon.path, layer=mon.layer, fields=mon.fields, key="monitoring")
    day = progress_as_of(args.as_of, cfg)
    opts = {"as_of": day, "visit_every_days": mon.visit_every_days, "villages": town.layers["villages"],
            "id_field": mon.id_field}
    table = monitoring_by_village(hh, **opts)
    title = f"{cfg.town.name} 防返贫监测 households under monitoring, 截至 as of {day:%Y-%m-%d}"
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    write_csv(table, out / "monitoring_villages.csv")
    sheets = {"各村 villages": zh_columns(table)}
    if args.internal:
        due = visits_due(hh, **opts)
        write_csv(due, out / "monitoring_visits_due_INTERNAL.csv")
        sheets["待走访 visits due"] = zh_columns(due)
    mark = f" — {INTERNAL_MARK}" if args.internal else ""
    write_xlsx(sheets, out / ("monitoring_INTERNAL.xlsx" if args.internal else "monitoring.xlsx"),
               titles={k: f"{title}{mark}" for k in sheets})
    if not args.no_map:
        _map(town, table, hh if args.internal else None, title, out, offline=args.offline)
    print_table(zh_columns(table[["village_id", "village_name", "households", "people", "visits_due"]]),
                title=title)
    if args.internal:
        echo(f"注意 note: {INTERNAL_MARK}: 含户主姓名和位置，不得外传 / names and positions: do not pass on")
    echo_written(written_since(out, t0), out)
    return 0


def _map(town, table, households, title: str, out: Path, *, offline: bool) -> None:
    from gis_town.maps.base import save_map
    from gis_town.maps.thematic.monitoring import monitoring_map

    name = "monitoring_INTERNAL.html" if households is not None else "monitoring.html"
    save_map(monitoring_map(town, table, title=title, households=households, offline=offline), out / name)
