"""``gis-town risk``: abandoned-farmland risk per parcel, per village, and the leaders' visit lists (撂荒风险)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gis_town.cli.common import (
    add_command,
    add_town_args,
    echo,
    echo_written,
    open_town,
    print_table,
    write_rejects,
    written_since,
)
from gis_town.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.risk import RiskResult


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
    p.add_argument(
        "--visits", type=Path, default=None, metavar="VISITS_CSV",
        help="走访记录 the visit history (visits.csv of gis-town visits; default: config [risk] "
        "visits): each parcel's last visit; parcels visited within [risk] revisit_after_days "
        "are left off the visit list unless their promised date has passed",
    )
    p.add_argument(
        "--as-of", dest="as_of", default=None,
        help="清单日期 the day the list is made YYYY-MM-DD (default: the config's town.data_date, "
        "else today)",
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


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town risk``: the runner's result written and printed (heavy imports here)."""
    from gis_town.runners.risk import run_risk

    town = open_town(
        args, layers=["villages", "farmland", "roads", "settlements"], required=("farmland",)
    )
    result = run_risk(
        town,
        town.config,
        dem=args.dem,
        ndvi=_ndvi_args(args.ndvi) or None,
        visit_size=args.visit_size,
        include_abandoned=args.include_abandoned,
        validate=not args.no_validate,
        visits=args.visits,
        as_of=args.as_of,
    )
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    _write(result, out, args.vector_format, town.config)
    _print(result, town.config.town.name)
    write_rejects(town, out)
    echo_written(written_since(out, t0), out)
    return 0


def _write(result: RiskResult, out: Path, vector_format: str, cfg) -> dict[str, Path]:
    """Write every table of ``result`` to ``out``; return the visit-list files (xlsx, kml, gpx)."""
    import pandas as pd

    from gis_town.io.export import write_visit_list
    from gis_town.io.write import write_csv, write_vector
    from gis_town.reports.risk import risk_csv_columns

    scored = result.scored
    cols = risk_csv_columns(scored)
    layer = scored[[*cols, scored.geometry.name]]
    write_vector(
        layer, out / f"risk.{vector_format}", layer="risk", fmt=vector_format, crs=cfg.town.crs
    )
    write_csv(pd.DataFrame(scored[cols]), out / "risk.csv")
    write_csv(result.factors, out / "risk_factors.csv")
    write_csv(result.villages, out / "risk_villages.csv")
    visits = result.visits
    write_csv(pd.DataFrame(visits.drop(columns=visits.geometry.name)), out / "visit_list.csv")
    paths = write_visit_list(visits, out, town_name=cfg.town.name)
    recent = out / "visited_recently.csv"
    if result.history is not None or len(result.revisited):
        write_csv(result.revisited, recent)
    else:
        recent.unlink(missing_ok=True)  # our own output of an earlier run with a history
    val = result.validation
    if val is not None:
        write_csv(val.table(), out / "risk_validation.csv")
        if len(val.coefficients):
            write_csv(val.coefficients, out / "risk_logit_coefficients.csv")
    return paths


def _print(result: RiskResult, town_name: str) -> None:
    """Print the weights, the notes, the village table and the validation."""
    from gis_town.reports.risk import labelled, weights_text

    echo(f"评分因素与权重 factors and weights: {weights_text(result.weights_used)}")
    for note in result.problems:
        echo(note)
    if result.history is not None or len(result.revisited):
        echo(
            f"走访记录 visit history: {result.history or '(given)'}; {len(result.revisited)} 个地块"
            f"近期已走访，不列入清单 / {len(result.revisited)} parcels visited recently left off the "
            f"list ({result.as_of:%Y-%m-%d}, visited_recently.csv)"
        )
    print_table(
        labelled(result.villages), title=f"{town_name} 各村撂荒风险 / risk per village (亩 mu)"
    )
    val = result.validation
    if val is None:
        return
    table = val.table()
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
