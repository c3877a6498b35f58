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
    open_town,
    print_table,
    write_rejects,
)
from gis_town.schema import FIELD_LABELS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Chinese headers for the xlsx.
_HEADERS = {**FIELD_LABELS, "status": "耕种状态", "status_zh": "状态", "inside": "基本农田内外"}


def register(sub) -> None:
    p = add_command(sub, "areas", "耕地面积统计 farmland area totals (mu, ha), balanced")
    add_town_args(p, out=None)
    p.add_argument("--out", type=Path, default=Path("reports/areas.csv"),
                   help="输出 CSV output CSV (an .xlsx and the other tables are written beside it)")
    p.add_argument("--by", choices=["status", "land_use", "crop"], default="status",
                   help="按状态/地类/作物分组 group villages by status (default), land use or crop")
    p.set_defaults(func=run)


def _zh(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns={c: f"{_HEADERS.get(c, c)} {c}" for c in df.columns})


def _survey_check(farmland, cfg, base: Path, sheets: dict) -> None:
    """The survey-area check (三调图斑面积核对): parcels whose area differs from their TBMJ."""
    from gis_town.analysis.areas import survey_area_check
    from gis_town.io.write import write_csv

    a = cfg.areas
    t = survey_area_check(farmland, tolerance_pct=a.survey_tolerance_pct, tolerance_m2=a.survey_tolerance_m2)
    write_csv(t, base.with_name(base.name + "_survey_check.csv"))
    sheets["面积核对 survey check"] = _zh(t)
    limit = f"{a.survey_tolerance_pct:g}% / {a.survey_tolerance_m2:g} m²"
    if len(t):
        print_table(t, title=f"图斑面积与调查面积不符 / parcels whose area differs from the survey's TBMJ (> {limit})")
    else:
        echo(f"图斑面积核对通过 / survey-area check: every parcel within {limit} of its TBMJ")


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town areas`` (heavy imports here: the parser stays light)."""
    from gis_town.analysis.areas import (
        area_totals,
        basic_farmland_totals,
        group_totals,
        parcel_areas,
        zone_totals,
    )
    from gis_town.cli.partitioned import dask_requested, run_areas_partitioned
    from gis_town.io.write import write_csv, write_xlsx

    cfg = config_from_args(args)  # read once: for the Dask choice and the town
    if dask_requested(args, cfg):  # --scheduler / --workers / [dask]: the partitioned path (gis_town.parallel)
        return run_areas_partitioned(args)
    town = open_town(
        args, layers=["villages", "farmland", "zones", "basic_farmland"], required=("farmland",), config=cfg
    )
    farmland = parcel_areas(town.layer("farmland"))
    villages = town.layers.get("villages")
    out_csv: Path = args.out
    if out_csv.suffix.lower() != ".csv":
        out_csv = out_csv / "areas.csv"
    base = out_csv.with_suffix("")
    sheets: dict[str, pd.DataFrame] = {}

    main = area_totals(farmland, villages, by=[args.by])
    write_csv(main, out_csv)
    sheets["村-状态 villages"] = _zh(main)
    print_table(main, title=f"耕地面积 farmland area by village and {args.by} (亩 mu, 公顷 ha)")

    if "project" in farmland.columns:
        proj = farmland[farmland["project"].notna() & (farmland["project"].astype(str).str.strip() != "")]
        if len(proj):
            t = group_totals(proj, ["project"])
            write_csv(t, base.with_name(base.name + "_by_project.csv"))
            sheets["项目 projects"] = _zh(t)
            print_table(t, title="按项目 by project")
    if town.has("zones"):
        t = zone_totals(farmland, town.layer("zones"))
        write_csv(t, base.with_name(base.name + "_by_zone.csv"))
        sheets["分区 zones"] = _zh(t)
        print_table(t, title="按规划分区 by planning zone (每类单独合计 one total per kind)")
    if town.has("basic_farmland"):
        t = basic_farmland_totals(farmland, town.layer("basic_farmland"))
        write_csv(t, base.with_name(base.name + "_basic_farmland.csv"))
        sheets["基本农田 basic farmland"] = _zh(t)
    if "declared_area_m2" in farmland.columns:  # a surveyed area per parcel (三调 TBMJ)
        _survey_check(farmland, town.config, base, sheets)
    xlsx = write_xlsx(sheets, out_csv.with_suffix(".xlsx"), titles={k: f"{town.config.town.name} 耕地面积统计 ({k})" for k in sheets})
    write_rejects(town, out_csv.parent)
    echo(f"已写出 wrote {out_csv} and {xlsx}")
    return 0
