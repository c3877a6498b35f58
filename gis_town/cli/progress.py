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
* ``rejects.csv`` (features set aside while reading, with reasons).

Prints the summary. Exit code 0, or 2 on bad input (an unparseable date,
an unknown kind, a config milestone with an unknown stage...).
"""

from __future__ import annotations

import argparse
import datetime as dt
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
from gis_town.schema import FIELD_LABELS
from gis_town.settings import LOCAL_TZ

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["register", "run"]

#: Layers the command reads.
LAYERS = [
    "villages",
    "farmland",
    "afforestation",
    "afforestation_points",
    "resettlement",
    "reclamation",
    "zones",
    "roads",
]

#: Labels that differ from the schema's (the schema's ``status`` is the farmland status).
_HEADERS = {
    **FIELD_LABELS,
    "status": "进度代码",
    "village_name": "村名",
    "name": "名称",
    "kind": "类型",
    "done": "完成",
    "households": "户数",
    "parcels": "地块数",
    "area_mu": "面积(亩)",
    "declared_area_mu": "申报面积(亩)",
}

#: (topic key, table key) -> (file stem, sheet name)
_OUTPUTS = [
    ("afforestation", None, "afforestation", "造林 afforestation"),
    ("afforestation", "afforestation_plots", "afforestation_plots", "造林地块 plots"),
    ("resettlement", None, "resettlement", "搬迁 resettlement"),
    ("resettlement", "resettlement_households", "resettlement_households", "搬迁户 households"),
    ("resettlement", "reclamation", "reclamation", "复垦 reclamation"),
    ("high_standard", None, "high_standard", "高标准农田 high-standard"),
    ("zones", None, "zones", "示范片带 zones"),
    ("roads", None, "roads", "道路 roads"),
    ("collective", None, "collective", "集体经济 collective"),
]


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
    p.set_defaults(func=run)


def _for_output(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as YYYY-MM-DD text, booleans as 是/否, geometry dropped."""
    import pandas as pd

    out = pd.DataFrame(df.drop(columns="geometry", errors="ignore")).copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.dt.strftime("%Y-%m-%d").astype("object").where(s.notna(), "")
        elif pd.api.types.is_bool_dtype(s):
            out[col] = (
                s.astype("boolean").map({True: "是", False: "否"}).astype("object").fillna("")
            )
    return out


def _zh(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns={c: f"{_HEADERS[c]} {c}" if c in _HEADERS else c for c in df.columns})


def _write_map_layers(town, results, out_dir: Path, fmt: str) -> None:
    """Zones with their belt progress and households with their schedule, for a GIS map."""
    from gis_town.io.write import safe_output_path, write_vector

    crs = town.config.town.crs

    def target(layer: str) -> Path:
        return safe_output_path(out_dir, "progress.gpkg" if fmt == "gpkg" else f"{layer}.shp")

    zones = results.get("zones")
    if zones is not None and len(zones.table) and town.has("zones"):
        z = town.layer("zones")[["zone_id", "geometry"]]
        tab = zones.table[zones.table["zone_id"] != "合计"].drop(columns=["note"])
        g = z.merge(tab, on="zone_id", how="inner")
        write_vector(g, target("progress_zones"), layer="progress_zones", fmt=fmt, crs=crs)
    res = results.get("resettlement")
    if res is not None and "resettlement_households" in res.details and town.has("resettlement"):
        hh = _for_output(res.details["resettlement_households"])
        pts = town.layer("resettlement")[["household_id", "geometry"]]
        g = pts.merge(hh, on="household_id", how="inner")
        write_vector(
            g, target("progress_households"), layer="progress_households", fmt=fmt, crs=crs
        )


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town progress`` (heavy imports here: the parser stays light)."""
    import pandas as pd

    from gis_town.analysis.progress import (
        needs_attention,
        parse_as_of,
        plan_progress,
        summary_table,
    )
    from gis_town.io.write import safe_output_path, write_csv, write_xlsx

    town = open_town(args, layers=LAYERS)
    cfg = town.config
    if args.as_of is not None:
        as_of = parse_as_of(args.as_of)
    elif cfg.town.data_date is not None:
        as_of = parse_as_of(cfg.town.data_date)
    else:
        as_of = parse_as_of(pd.Timestamp.now(tz=LOCAL_TZ).date())
    results = plan_progress(town, as_of)
    summary = summary_table(results)
    if len(town.problems):
        rejected = town.problems[town.problems["action"] == "rejected"]
        for layer, n in rejected.groupby("layer").size().items():
            if layer in LAYERS:
                summary.loc[len(summary)] = {
                    "topic": "数据问题 data problems",
                    "item": f"{layer}: 剔除要素 rejected features",
                    "unit": "个 features",
                    "done": float(n),
                    "target": float("nan"),
                    "share_pct": float("nan"),
                    "due_date": "",
                    "status": "no_data",
                    "status_label": "未计入 not counted",
                    "note": "见 rejects.csv (原因 reasons) / fix the data and rerun",
                }
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    sheets: dict[str, pd.DataFrame] = {"汇总 summary": _zh(_for_output(summary))}
    highlight: dict[str, pd.Series] = {
        "汇总 summary": needs_attention(summary).reset_index(drop=True)
    }
    write_csv(_for_output(summary), safe_output_path(out_dir, "summary.csv"))
    for topic, key, stem, sheet in _OUTPUTS:
        res = results.get(topic)
        if res is None:
            continue
        table = res.table if key is None else res.details.get(key)
        if table is None:
            continue
        frame = _for_output(table)
        write_csv(frame, safe_output_path(out_dir, f"{stem}.csv"))
        sheets[sheet] = _zh(frame)
        highlight[sheet] = needs_attention(table).reset_index(drop=True)
    title = f"{cfg.town.name} {cfg.town.year}年计划进度 plan progress, 截至 as of {as_of:%Y-%m-%d}"
    xlsx = write_xlsx(
        sheets,
        safe_output_path(out_dir, "progress.xlsx"),
        highlight=highlight,
        titles={k: f"{title} — {k}" for k in sheets},
        footer_lines={
            "汇总 summary": [
                "红色行: 滞后、目标缺失或数据缺失 / red rows: behind schedule, missing target or data",
                f"生成日期 generated {dt.date.today():%Y-%m-%d}",
                "填表人:            审核人:            日期:",
            ]
        },
    )
    _write_map_layers(town, results, out_dir, args.vector_format)
    write_rejects(town, out_dir)
    shown = summary[
        ["topic", "item", "unit", "done", "target", "share_pct", "due_date", "status_label", "note"]
    ]
    print_table(
        shown.rename(
            columns={
                "topic": "工作 topic",
                "item": "项目 item",
                "unit": "单位 unit",
                "done": "完成 done",
                "target": "目标 target",
                "share_pct": "完成率% share",
                "due_date": "截止 due",
                "status_label": "进度 status",
                "note": "备注 note",
            }
        ),
        title=f"计划进度汇总 plan progress summary, 截至 as of {as_of:%Y-%m-%d}",
        max_rows=200,
    )
    n_behind = int((summary["status"] == "behind").sum())
    if n_behind:
        echo(f"{n_behind} 项滞后 / {n_behind} items behind schedule: 见 see {xlsx}")
    if "resettlement" in results and "resettlement_households" in results["resettlement"].details:
        hh = results["resettlement"].details["resettlement_households"]
        late = hh[hh["behind"] | (hh["order_issue"] != "")]
        if len(late):
            echo(
                f"滞后或日期异常的搬迁户 households behind schedule or with dates out of order: {len(late)}"
            )
            print_table(
                late[
                    ["household_id", "head", "village_name", "overdue", "pending", "order_issue"]
                ].rename(columns=lambda c: f"{_HEADERS.get(c, c)} {c}"),
                max_rows=30,
            )
    echo(f"已写出 wrote {xlsx} 及 CSV 表 and CSV tables in {out_dir}")
    return 0
