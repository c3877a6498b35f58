"""``gis-town areas``: farmland area totals per village and status (面积统计)."""

from __future__ import annotations

import argparse
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
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

def register(sub) -> None:
    p = add_command(sub, "areas", "耕地面积统计 farmland area totals (mu, ha), balanced")
    add_town_args(p, out=None)
    p.add_argument("--out", type=Path, default=Path("reports/areas.csv"),
                   help="输出 CSV output CSV (默认 default: reports/areas.csv; an .xlsx and the other tables "
                        "are written beside it, replacing files of an earlier run)")
    p.add_argument("--by", choices=["status", "land_use", "crop"], default="status",
                   help="按状态/地类/作物分组 group villages by status (default), land use or crop")
    p.set_defaults(func=run)


def _tables(res, base: Path) -> list[Path]:
    """Write and print the tables of an areas result beside ``base`` (…_by_project.csv and the rest)."""
    from gis_town.io.write import write_csv

    written = []
    for suffix, table, title in (
        ("_by_project", res.projects, "按项目 by project"),
        ("_by_zone", res.zones, "按规划分区 by planning zone (每类单独合计 one total per kind)"),
        ("_basic_farmland", res.basic_farmland, None),
        ("_survey_check", res.survey_check, None),
    ):
        if table is None:
            continue
        written.append(write_csv(table, base.with_name(base.name + suffix + ".csv")))
        if title:
            print_table(table, title=title)
    if res.survey_check is not None:
        _print_survey_check(res.survey_check)
    return written


def _print_survey_check(table: pd.DataFrame) -> None:
    if len(table):
        print_table(table, title="图斑面积与调查面积不符 / parcels whose area differs from the survey's TBMJ ([areas] tolerances)")
    else:
        echo("图斑面积核对通过 / survey-area check: every parcel within the [areas] tolerances of its TBMJ")


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town areas`` (heavy imports here: the parser stays light)."""
    from gis_town.cli.partitioned import dask_requested, run_areas_partitioned
    from gis_town.io.write import write_csv, write_xlsx
    from gis_town.reports.areas import area_sheets
    from gis_town.runners.areas import run_areas

    cfg = config_from_args(args)  # read once: for the Dask choice and the town
    if dask_requested(args, cfg):  # --scheduler / --workers / [dask]: the partitioned path (gis_town.parallel)
        return run_areas_partitioned(args)
    town = open_town(
        args, layers=["villages", "farmland", "zones", "basic_farmland"], required=("farmland",), config=cfg
    )
    res = run_areas(town, cfg, by=args.by)
    out_csv: Path = args.out
    if out_csv.suffix.lower() != ".csv":
        out_csv = out_csv / "areas.csv"
    if out_csv.exists():
        echo(f"覆盖上次结果 replacing the earlier {out_csv} (另存请用 --out / use --out to keep it)")
    write_csv(res.villages, out_csv)
    print_table(res.villages, title=f"耕地面积 farmland area by village and {args.by} (亩 mu, 公顷 ha)")
    tables = _tables(res, out_csv.with_suffix(""))
    sheets = area_sheets(res)
    xlsx = write_xlsx(sheets, out_csv.with_suffix(".xlsx"), titles={k: f"{town.config.town.name} 耕地面积统计 ({k})" for k in sheets})
    rejects = write_rejects(town, out_csv.parent)
    echo_written([out_csv, xlsx, *tables, rejects], out_csv.parent)
    return 0
