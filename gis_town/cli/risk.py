"""``gis-town risk``: abandoned-farmland risk per parcel, per village, and the leaders' visit lists (撂荒风险)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from gis_town.cli.common import (
    add_command,
    add_town_args,
    echo,
    open_town,
    print_table,
    write_rejects,
)
from gis_town.errors import InputError
from gis_town.schema import FIELD_LABELS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Leading columns of risk.csv, then every factor, then flags and notes.
_FRONT = [
    "parcel_id",
    "village_id",
    "village_name",
    "group",
    "contractor",
    "status",
    "area_mu",
    "score",
    "risk_class",
    "risk_class_zh",
    "top_factor",
    "top_factor_zh",
    "reason",
]
_BACK = [
    "perimeter_m",
    "dem_flag",
    "dem_note",
    "ndvi_flag",
    "ndvi_note",
    "missing_factors",
    "score_note",
]


def register(sub) -> None:
    p = add_command(
        sub,
        "risk",
        "撂荒风险 abandoned-farmland risk: per-parcel score, village summary, visit lists",
        description=(
            "每个地块的撂荒风险分(0-100)、主要因素、各村高风险地块与包村领导走访清单 (xlsx/KML/GPX) / "
            "risk score 0-100 per parcel with its main factor, high-risk parcels per village, and the "
            "leaders' visit lists. Rasters default to the town config's [rasters]."
        ),
    )
    add_town_args(p, out="reports/risk")
    p.add_argument(
        "--dem", type=Path, default=None, help="高程 DEM GeoTIFF (default: config [rasters] dem)"
    )
    p.add_argument(
        "--ndvi",
        action="append",
        default=None,
        metavar="YEAR=FILE",
        help="NDVI 栅格，可重复 NDVI raster of a year, repeatable (default: config [rasters.ndvi])",
    )
    p.add_argument(
        "--visit-size",
        type=int,
        default=None,
        help="每村走访地块数 parcels per village on the visit list (default: config risk.visit_list_size)",
    )
    p.add_argument(
        "--include-abandoned",
        action="store_true",
        help="走访清单也列出已撂荒地块 also list parcels already abandoned on the visit list",
    )
    p.add_argument(
        "--no-validate", action="store_true", help="不做 AUC 验证 skip the AUC validation"
    )
    p.set_defaults(func=run)


def _ndvi_args(values: list[str] | None) -> dict[int, Path]:
    out: dict[int, Path] = {}
    for v in values or []:
        year, sep, path = v.partition("=")
        if not sep or not year.strip().isdigit() or not path.strip():
            raise InputError(
                f"--ndvi 参数格式应为 年份=文件 / --ndvi expects YEAR=FILE (e.g. 2023=ndvi_2023.tif), got {v!r}"
            )
        out[int(year)] = Path(path.strip())
    return out


def _csv_columns(df: pd.DataFrame) -> list[str]:
    from gis_town.config import RISK_FACTORS

    factors = [f for f in RISK_FACTORS if f in df.columns]
    cols = [c for c in _FRONT if c in df.columns] + [f for f in factors if f not in _FRONT]
    cols += [c for c in _BACK if c in df.columns]
    return cols


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town risk`` (heavy imports here: the parser stays light)."""
    import pandas as pd

    from gis_town.analysis.risk import (
        COLUMN_LABELS,
        FACTORS,
        parcel_factors,
        risk_score,
        validate_risk,
        village_summary,
        visit_list,
    )
    from gis_town.io.export import write_visit_list
    from gis_town.io.write import write_csv, write_vector

    town = open_town(
        args, layers=["villages", "farmland", "roads", "settlements"], required=("farmland",)
    )
    cfg = town.config
    dem = args.dem if args.dem is not None else cfg.dem_path()
    ndvi = _ndvi_args(args.ndvi) if args.ndvi else cfg.ndvi_paths()
    if dem is None:
        echo(
            "注意: 未提供 DEM，坡度和海拔因素缺失 / note: no DEM given: slope and elevation factors are missing"
        )
    villages = town.layers.get("villages")
    factors = parcel_factors(
        town.layer("farmland"),
        villages=villages,
        roads=town.layers.get("roads"),
        settlements=town.layers.get("settlements"),
        dem=dem,
        ndvi=ndvi or None,
        year=cfg.town.year,
        gk_crs=town.gk_crs,
    )
    scored = risk_score(factors, cfg.risk)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    cols = _csv_columns(scored)
    layer = scored[[*cols, scored.geometry.name]]
    write_vector(
        layer,
        out / f"risk.{args.vector_format}",
        layer="risk",
        fmt=args.vector_format,
        crs=cfg.town.crs,
    )
    write_csv(pd.DataFrame(scored[cols]), out / "risk.csv")
    norm = scored.attrs["normalisation"]
    write_csv(norm, out / "risk_factors.csv")

    summary = village_summary(scored, villages)
    write_csv(summary, out / "risk_villages.csv")
    size = args.visit_size or cfg.risk.visit_list_size
    visits = visit_list(
        scored, size=size, villages=villages, include_abandoned=args.include_abandoned
    )
    write_csv(pd.DataFrame(visits.drop(columns=visits.geometry.name)), out / "visit_list.csv")
    paths = write_visit_list(visits, out, town_name=cfg.town.name)

    used = ", ".join(
        f"{FACTORS[f].label} {f} {w:.0%}" for f, w in scored.attrs["weights_used"].items()
    )
    echo(f"评分因素与权重 factors and weights: {used}")
    missing = int((scored["missing_factors"].str.len() > 0).sum())
    if missing:
        echo(
            f"有 {missing} 个地块缺少部分因素，按其余因素评分 (见 score_note) / {missing} parcels miss some "
            "factors and were scored on the others (see score_note)"
        )
    labels = {**FIELD_LABELS, **COLUMN_LABELS}
    show = summary.rename(
        columns={c: f"{labels[c]} {c}" if c in labels else c for c in summary.columns}
    )
    print_table(show, title=f"{cfg.town.name} 各村撂荒风险 / risk per village (亩 mu)")

    if not args.no_validate and "status" in scored.columns:
        val = validate_risk(scored, cfg.risk, status_year=cfg.town.year)
        table = val.table()
        write_csv(table, out / "risk_validation.csv")
        if len(val.coefficients):
            write_csv(val.coefficients, out / "risk_logit_coefficients.csv")
        numeric = table["value"].map(lambda v: isinstance(v, (int, float)))
        print_table(table[numeric], title="评分验证 / validation against observed status (ROC AUC)")
        for _, row in table[~numeric].iterrows():
            if str(row["value"]):
                echo(f"{row['metric']}: {row['value']}")
        if len(val.coefficients):
            print_table(
                val.coefficients,
                title="逻辑回归系数 (每标准差) / logistic regression coefficients per SD",
            )
    write_rejects(town, out)
    echo(
        f"已写出 wrote {out / 'risk.csv'}, {out / ('risk.' + args.vector_format)}, {out / 'risk_villages.csv'}, "
        f"{paths['xlsx']}, {paths['kml']}, {paths['gpx']}"
    )
    return 0
