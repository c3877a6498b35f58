"""The acceptance-check report (验收前检查报告): labels, workbook sheets, the offline HTML page.

Moved out of :mod:`gis_town.analysis.check` (an analysis does not draw):
Chinese labels of the result columns (the CLI's tables, the map's popups),
the sheets of ``check_report.xlsx``, the failed and repaired plots' layers,
and the HTML report with its SVG map. Pure functions over a
:class:`~gis_town.runners.check.CheckResult` or its tables: they build tables
and text; the CLI writes them with :mod:`gis_town.io.write`. The HTML report needs no network (no scripts, no
fonts, no tiles): the map of the failing plots is an inline SVG drawn from
the plots' Gauss-Kruger coordinates. Every value from the data (ids, names,
messages) is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town import settings
from gis_town.analysis.check import (
    PASS,
    STATUS_LABELS,
    Plots,
    RuleSet,
    repair_geometry,
    rule_counts,
    take_rows,
)
from gis_town.geodesy import project_to_gk

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.check import CheckResult

__all__ = [
    "COLUMN_LABELS",
    "FAILED_PLOTS_LABELS",
    "MAP_LABELS",
    "RULE_TABLE_LABELS",
    "SIGN_OFF_LINES",
    "failed_plots_layer",
    "failing_map_svg",
    "render_html",
    "repaired_plots_layer",
    "report_map_svg",
    "report_meta",
    "report_title",
    "result_plots_layer",
    "workbook_sheets",
]

log = logging.getLogger(__name__)

#: Chinese + English headers of the report tables.
COLUMN_LABELS: dict[str, str] = {
    "row": "行号 row (1 = 第一个要素 first feature)",
    "plot_id": "地块编号 plot id",
    "rule": "规则代码 rule",
    "kind": "检查类型代码 kind",
    "severity": "级别 severity",
    "status": "结果 status",
    "value": "实测值 value",
    "unit": "单位 unit",
    "limit": "限值 limit",
    "message": "说明 message",
    "reason": "未检查原因 reason",
    "passed": "通过 passed",
    "result": "结论 result",
    "n_failed": "不通过项 failed",
    "n_not_checked": "未检查项 not checked",
    "n_warnings": "提醒项 warnings",
    "rules_failed": "不通过规则代码 rules failed",
    "rules_not_checked": "未检查规则代码 rules not checked",
    "warnings": "提醒规则代码 warnings",
    "messages": "问题说明 messages",
    "message_zh": "规则说明 description",
    "message_en": "英文说明 description_en",
    "pass": "通过 pass",
    "fail": "不通过 fail",
    "not_checked": "未检查 not checked",
    "failed_plots": "不通过地块 failed plots",
}

#: Sign-off lines printed under the summary (检查人 / 审核人 / 日期).
SIGN_OFF_LINES: tuple[str, ...] = (
    "检查人 checked by: ____________________",
    "审核人 reviewed by: ____________________",
    "日期 date: ____________________",
)

_SEVERITY = {"error": "必须 error", "warning": "提醒 warning"}

#: Headers of the rule table ``gis-town check`` prints.
RULE_TABLE_LABELS: dict[str, str] = {
    "rule": "规则 rule",
    "message_zh": "说明",
    "pass": "通过 pass",
    "fail": "不通过 fail",
    "not_checked": "未检查 n/c",
}

#: Headers of the table of plots that did not pass ``gis-town check`` prints.
FAILED_PLOTS_LABELS: dict[str, str] = {
    "plot_id": "地块 plot",
    "result": "结论 result",
    "rules_failed": "不通过 failed",
    "rules_not_checked": "未检查 not checked",
}

#: Popup labels of the acceptance-check map's plots.
MAP_LABELS: dict[str, str] = {
    "result": "检查结果",
    "rules_failed": "不通过的规则",
    "rules_not_checked": "未检查的规则",
    "warnings": "提醒",
    "messages": "问题说明",
    "n_failed": "不通过条数",
    "rule_set": "规则集",
}

#: The per-plot summary columns the map's plots carry.
_MAP_COLUMNS: tuple[str, ...] = (
    "result",
    "rules_failed",
    "rules_not_checked",
    "warnings",
    "messages",
    "n_failed",
)

#: At most this many failing plots are labelled on the report's map (a town's).
MAX_MAP_LABELS = 60


def _relabel(col: pd.Series, labels: Mapping[str, str]) -> pd.Series:
    """Codes to their labels (通过 pass ...): on the categories only when categorical."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = [labels.get(str(c), str(c)) for c in col.cat.categories]
        if len(set(cats)) == len(cats):
            return col.cat.rename_categories(cats)
    return col.astype(str).map(lambda s: labels.get(s, s))


def _labelled(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns={c: COLUMN_LABELS.get(c, c) for c in df.columns})


def _overview(summary: pd.DataFrame) -> dict[str, int]:
    n = len(summary)
    passed = int(summary["passed"].sum()) if n else 0
    failed = int((summary["n_failed"] > 0).sum()) if n else 0
    return {"plots": n, "passed": passed, "failed": failed, "incomplete": n - passed - failed}


def workbook_sheets(
    results: pd.DataFrame,
    summary: pd.DataFrame,
    rule_set: RuleSet,
    *,
    title: str,
    meta: Mapping[str, str] | None = None,
    counts: pd.DataFrame | None = None,
) -> dict[str, dict]:
    """The sheets of ``check_report.xlsx`` for :func:`gis_town.io.write.write_xlsx`.

    The first sheet is the summary for officials (one row per rule with its
    counts, then the sign-off lines 检查人 / 审核人 / 日期), then the per-plot
    summary (plots that did not pass highlighted), then every result.

    ``counts`` is :func:`~gis_town.analysis.check.rule_counts` of the
    results, when the caller has it already (computed here otherwise).

    Returns
    -------
    dict
        ``sheets``, ``titles``, ``highlight`` and ``footer_lines``: keyword
        arguments of :func:`~gis_town.io.write.write_xlsx` (with ``sheets`` first).
    """
    ov = _overview(summary)
    counts = (rule_counts(results, rule_set) if counts is None else counts).copy()
    counts["severity"] = counts["severity"].map(lambda s: _SEVERITY.get(s, s))
    s1 = "汇总 summary"
    s2 = "地块 plots"
    s3 = "明细 details"
    sum_tab = summary.copy()
    sum_tab["passed"] = np.where(sum_tab["passed"], "是 yes", "否 no")
    # every result of a town; of a county (millions of rows) the first of those that did
    # not pass (every result is in check_results.csv; the plots sheet has every plot)
    every = len(results) <= settings.CHECK_DETAIL_ROWS
    keep = np.arange(len(results)) if every else np.flatnonzero(results["status"] != "pass")
    n_keep = len(keep)
    keep = keep[: settings.CHECK_DETAIL_ROWS]
    det = take_rows(results, keep)
    for tab in (det, sum_tab):  # a clerk counts features from 1, as GIS software shows them
        if "row" in tab.columns:
            tab["row"] = tab["row"].astype("int64") + 1
    for col, labels in (("status", STATUS_LABELS), ("severity", _SEVERITY)):
        det[col] = _relabel(det[col], labels)
    meta_lines = [f"{k}: {v}" for k, v in (meta or {}).items()]
    footer = [
        f"地块 {ov['plots']} 个：通过 {ov['passed']}，不通过 {ov['failed']}，待补充资料 {ov['incomplete']} / "
        f"{ov['plots']} plots: {ov['passed']} passed, {ov['failed']} failed, {ov['incomplete']} incomplete "
        "(a rule could not run: missing data is never a pass)",
        *meta_lines,
        "",
        *SIGN_OFF_LINES,
    ]
    return {
        "sheets": {
            s1: _labelled(counts.drop(columns=["kind"])),
            s2: _labelled(sum_tab),
            s3: _labelled(det),
        },
        "titles": {
            s1: title,
            s2: f"{title}：逐地块结论 per plot",
            s3: f"{title}：逐项明细 every rule, every plot"
            if every
            else f"{title}：未通过的明细 {len(keep):,} / {n_keep:,}（全部见 check_results.csv）/ "
            f"the results that did not pass: {len(keep):,} of {n_keep:,} (every result: "
            "check_results.csv)",
        },
        "highlight": {
            s1: (counts["fail"] + counts["not_checked"]) > 0,
            s2: ~summary["passed"].astype(bool),
            s3: (det["status"] != STATUS_LABELS[PASS]).to_numpy(dtype=bool),
        },
        "footer_lines": {s1: footer},
    }


# --------------------------------------------------------------------------- map


def _path_d(geom, tx, ty) -> str:
    """SVG path data of a (Multi)Polygon or (Multi)LineString."""
    out = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            rings = [part.exterior, *part.interiors]
            for ring in rings:
                xy = np.asarray(ring.coords)
                if len(xy) < 3:
                    continue
                pts = " L".join(f"{tx(x):.1f} {ty(y):.1f}" for x, y in xy[:-1])
                out.append(f"M{pts}Z")
        elif part.geom_type in ("LineString", "LinearRing"):
            xy = np.asarray(part.coords)
            if len(xy) < 2:
                continue
            out.append("M" + " L".join(f"{tx(x):.1f} {ty(y):.1f}" for x, y in xy))
    return " ".join(out)


_NO_PLOT_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40"><text x="10" y="25">'
    "无可绘制的地块 / no plot to draw</text></svg>"
)

_CONTEXT_STYLES: dict[str, str] = {
    "basic_farmland": 'fill="#dff0d0" stroke="none"',
    "redline": 'fill="#f6c9c9" fill-opacity="0.7" stroke="#c0392b" stroke-width="1" stroke-dasharray="4 2"',
    "rivers": 'fill="none" stroke="#4a90d9" stroke-width="2"',
    "roads": 'fill="none" stroke="#8a6d3b" stroke-width="1.2"',
}


class _Frame:
    """The drawing's window: Gauss-Kruger metres to SVG pixels."""

    def __init__(self, bounds: Sequence[float], width_px: int) -> None:
        minx, miny, maxx, maxy = bounds
        span = max(maxx - minx, maxy - miny, 50.0)
        pad = span * 0.05
        self.minx, self.miny, self.maxx, self.maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
        self.w, self.h = self.maxx - self.minx, self.maxy - self.miny
        self.width_px = width_px
        self.scale = width_px / self.w
        self.height_px = max(int(self.h * self.scale), 100)
        self.tol = 0.5 / self.scale  # half a pixel

    def tx(self, x: float) -> float:
        return (x - self.minx) * self.scale

    def ty(self, y: float) -> float:
        return (self.maxy - y) * self.scale


def _drawable_geometry(plots: Plots) -> np.ndarray:
    """Gauss-Kruger geometry of every plot: usable ones as prepared, others repaired (None if not)."""
    geom = plots.gk.copy()
    todo = np.flatnonzero(~plots.usable & ~shapely.is_missing(plots.geom))
    if len(todo):
        fixed = repair_geometry(plots.geom[todo])
        ok = ~shapely.is_missing(fixed)
        if ok.any():
            gs = gpd.GeoSeries(fixed[ok], crs=plots.crs)
            geom[todo[ok]] = np.asarray(project_to_gk(gs, crs=plots.gk_crs).values, dtype=object)
    return geom


def _svg_context(frame: _Frame, context: Mapping[str, gpd.GeoDataFrame] | None) -> list[str]:
    """Basic farmland, red line, rivers and roads under the plots, clipped to the window."""
    parts = []
    box = shapely.box(frame.minx, frame.miny, frame.maxx, frame.maxy)
    for name in ("basic_farmland", "redline", "rivers", "roads"):
        gdf = (context or {}).get(name)
        if gdf is None or len(gdf) == 0:
            continue
        g = np.asarray(gdf.geometry.values, dtype=object)
        g = g[~shapely.is_missing(g)]
        g = g[shapely.intersects(g, box)]
        if len(g) == 0:
            continue
        g = shapely.clip_by_rect(g, frame.minx, frame.miny, frame.maxx, frame.maxy)
        g = shapely.simplify(g, frame.tol)
        d = " ".join(x for x in (_path_d(x, frame.tx, frame.ty) for x in g) if x)
        if d:
            parts.append(f'<path d="{d}" {_CONTEXT_STYLES[name]}/>')
    return parts


def _svg_plots(
    frame: _Frame,
    simp: np.ndarray,
    n_ok: int,
    fail_idx: np.ndarray,
    tips: Sequence[str],
) -> list[str]:
    """The passing plots as one path, then each failing plot with its tooltip."""
    parts = []
    d_ok = " ".join(x for x in (_path_d(g, frame.tx, frame.ty) for g in simp[:n_ok]) if x)
    if d_ok:
        parts.append(
            f'<path d="{d_ok}" fill="#ffffff" fill-opacity="0.6" stroke="#777" stroke-width="0.6"/>'
        )
    for k, i in enumerate(fail_idx):
        d = _path_d(simp[n_ok + k], frame.tx, frame.ty)
        if not d:
            continue
        tip = html.escape(str(tips[i]))
        parts.append(
            f'<path d="{d}" fill="#e74c3c" fill-opacity="0.75" stroke="#922" stroke-width="1"><title>{tip}</title></path>'
        )
    return parts


def _svg_ids(
    frame: _Frame, failing: np.ndarray, fail_idx: np.ndarray, ids: np.ndarray
) -> list[str]:
    """Ids printed beside the failing plots (tooltips do not print)."""
    pts = shapely.point_on_surface(failing)
    xy = shapely.get_coordinates(pts)
    parts = [
        '<g font-size="11" font-family="sans-serif" fill="#600" stroke="#fff" stroke-width="3" '
        'paint-order="stroke">'
    ]
    for k, i in enumerate(fail_idx):
        if k < len(xy):
            parts.append(
                f'<text x="{frame.tx(xy[k, 0]) + 6:.1f}" y="{frame.ty(xy[k, 1]) - 4:.1f}">'
                f"{html.escape(str(ids[i]))}</text>"
            )
    parts.append("</g>")
    return parts


def _svg_scale_bar(frame: _Frame) -> str:
    bar_m = _nice(frame.w / 5)
    bar_px = bar_m * frame.scale
    y0 = frame.height_px - 14
    return (
        f'<g font-size="12" font-family="sans-serif"><rect x="10" y="{y0 - 4}" width="{bar_px:.1f}" height="4" fill="#333"/>'
        f'<text x="{12 + bar_px:.1f}" y="{y0}">{bar_m:g} m</text>'
        f'<text x="10" y="16">↑ 北 N</text></g>'
    )


def failing_map_svg(
    plots: Plots,
    failed: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    context: Mapping[str, gpd.GeoDataFrame] | None = None,
    width_px: int = 900,
    max_plots: int = 4000,
    max_labels: int = 60,
) -> str:
    """A static map of the plots (failing ones in red) as inline SVG, no network needed.

    Parameters
    ----------
    plots : Plots
        Prepared plots (their Gauss-Kruger geometry is drawn; plots without
        a usable geometry are drawn from their repaired input).
    failed : array of bool
        Plots that did not pass (drawn red, with a tooltip).
    labels : sequence of str, optional
        Tooltip text per plot (escaped here).
    context : mapping of layer name -> GeoDataFrame in the same Gauss-Kruger zone, optional
        ``basic_farmland``, ``redline``, ``rivers``, ``roads`` drawn underneath.
    width_px : int
        Width of the drawing.
    max_plots : int
        Passing plots beyond this many are not drawn (a county run); failing
        plots always are, up to ``max_plots`` too.
    max_labels : int
        Failing plots are labelled with their id when there are at most this many.

    Returns
    -------
    str
        An ``<svg>`` element.
    """
    geom = _drawable_geometry(plots)
    have = ~shapely.is_missing(geom)
    failed = np.asarray(failed, dtype=bool) & have
    fail_idx = np.flatnonzero(failed)[:max_plots]
    ok_idx = np.flatnonzero(have & ~failed)
    if len(ok_idx) > max_plots:
        ok_idx = np.array([], dtype=int)
    shown = np.concatenate([ok_idx, fail_idx]).astype(int)
    if len(shown) == 0:
        return _NO_PLOT_SVG
    frame = _Frame(shapely.total_bounds(geom[shown]), width_px)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width_px} {frame.height_px}" '
        f'width="100%" style="max-width:{width_px}px;background:#fbfbf7;border:1px solid #ccc" '
        'role="img" aria-label="不通过地块分布图 map of failing plots">'
    ]
    parts += _svg_context(frame, context)
    simp = shapely.simplify(geom[shown], frame.tol, preserve_topology=True)
    tips = labels if labels is not None else plots.ids
    parts += _svg_plots(frame, simp, len(ok_idx), fail_idx, tips)
    if 0 < len(fail_idx) <= max_labels:
        parts += _svg_ids(frame, simp[len(ok_idx) :], fail_idx, plots.ids)
    parts.append(_svg_scale_bar(frame))
    parts.append("</svg>")
    return "".join(parts)


def _nice(x: float) -> float:
    if x <= 0:
        return 1.0
    e = 10 ** np.floor(np.log10(x))
    for m in (1, 2, 5, 10):
        if m * e >= x:
            return float(m * e)
    return float(10 * e)


# --------------------------------------------------------------------------- HTML


_CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top}
th{background:#ddebf7;text-align:left}tr.fail td{background:#fde2dc}tr.nc td{background:#fff4d6}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #ccc;border-radius:6px;padding:10px 16px;min-width:120px}
.card b{font-size:22px;display:block}.ok b{color:#2e7d32}.bad b{color:#c62828}.inc b{color:#b26a00}
.meta{color:#555;font-size:13px}.sign{margin-top:32px;line-height:2.2}.legend span{display:inline-block;margin-right:14px;font-size:12px}
.sw{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle;border:1px solid #999}
@media print{body{margin:0}}
"""


def _td(v: object) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "<td></td>"
    if isinstance(v, (float, np.floating)):
        return f'<td style="text-align:right">{html.escape(f"{v:,.2f}")}</td>'
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return f'<td style="text-align:right">{int(v):,}</td>'
    return f"<td>{html.escape(str(v))}</td>"


def _table(df: pd.DataFrame, row_class: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for k, row in enumerate(df.itertuples(index=False, name=None)):
        cls = f' class="{row_class[k]}"' if row_class is not None and row_class[k] else ""
        body.append(f"<tr{cls}>" + "".join(_td(v) for v in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _html_overview(ov: Mapping[str, int]) -> str:
    return (
        '<div class="cards">'
        f'<div class="card"><b>{ov["plots"]:,}</b>地块 plots</div>'
        f'<div class="card ok"><b>{ov["passed"]:,}</b>通过 passed</div>'
        f'<div class="card bad"><b>{ov["failed"]:,}</b>不通过 failed</div>'
        f'<div class="card inc"><b>{ov["incomplete"]:,}</b>待补充 incomplete</div>'
        "</div>"
        '<p class="meta">“待补充”：有规则因缺少资料未能检查（缺资料不算通过）/ incomplete: a rule could not run '
        "(missing data is never a pass).</p>"
    )


def _html_map(map_svg: str) -> list[str]:
    return [
        "<h2>不通过地块分布图 / map of plots that did not pass</h2>",
        '<div class="legend">'
        '<span><i class="sw" style="background:#e74c3c"></i>不通过 failed / incomplete</span>'
        '<span><i class="sw" style="background:#fff"></i>通过 passed</span>'
        '<span><i class="sw" style="background:#dff0d0"></i>永久基本农田 basic farmland</span>'
        '<span><i class="sw" style="background:#f6c9c9"></i>生态保护红线 red line</span>'
        '<span><i class="sw" style="background:#4a90d9"></i>河流 rivers</span>'
        '<span><i class="sw" style="background:#8a6d3b"></i>道路 roads</span></div>',
        map_svg,
    ]


def _html_failing_plots(summary: pd.DataFrame, max_rows: int) -> list[str]:
    bad = np.flatnonzero(~summary["passed"].to_numpy(dtype=bool))
    parts = [f"<h2>未通过的地块 / plots that did not pass ({len(bad):,})</h2>"]
    if not len(bad):
        return [*parts, "<p>全部地块通过 / every plot passed.</p>"]
    shown = take_rows(
        summary[["plot_id", "result", "rules_failed", "rules_not_checked", "messages"]],
        bad[:max_rows],
    )
    cls = ["fail" if r.startswith("不通过") else "nc" for r in shown["result"].astype(str)]
    parts.append(_table(_labelled(shown), cls))
    if len(bad) > max_rows:
        parts.append(
            f"<p>仅显示前 {max_rows} 个，全部见 check_summary.csv / first {max_rows} shown; all in check_summary.csv</p>"
        )
    return parts


def _html_details(results: pd.DataFrame, max_rows: int) -> list[str]:
    det = np.flatnonzero((results["status"] != PASS).to_numpy(dtype=bool))
    parts = [f"<h2>不通过与未检查明细 / failed and not-checked results ({len(det):,})</h2>"]
    if not len(det):
        return parts
    shown = take_rows(
        results[["plot_id", "rule", "severity", "status", "value", "unit", "limit", "message"]],
        det[:max_rows],
    )
    st = shown["status"].astype(str).to_numpy()
    shown["status"] = _relabel(shown["status"], STATUS_LABELS)
    parts.append(_table(_labelled(shown), ["fail" if s == "fail" else "nc" for s in st]))
    if len(det) > max_rows:
        parts.append(
            f"<p>仅显示前 {max_rows} 行，全部见 check_results.csv / first {max_rows} rows shown; all in check_results.csv</p>"
        )
    return parts


def _html_rule_set(rule_set: RuleSet) -> list[str]:
    esc = html.escape
    return [
        "<h2>规则集 / rule set</h2>",
        f"<p>{esc(rule_set.name)}: {esc(rule_set.description_zh)} / {esc(rule_set.description_en)} ({esc(rule_set.source)})</p>",
        _table(_labelled(rule_set.to_frame())),
        '<div class="sign">' + "<br>".join(esc(x) for x in SIGN_OFF_LINES) + "</div>",
    ]


def render_html(
    results: pd.DataFrame,
    summary: pd.DataFrame,
    rule_set: RuleSet,
    *,
    title: str,
    meta: Mapping[str, str] | None = None,
    map_svg: str | None = None,
    max_rows: int = 2000,
    counts: pd.DataFrame | None = None,
) -> str:
    """The self-contained HTML report (no network): overview, map, rules, failing plots, sign-off.

    Parameters
    ----------
    results, summary : DataFrame
        From :func:`~gis_town.analysis.check.run_rules` and :func:`~gis_town.analysis.check.summarize`.
    rule_set : RuleSet
    title : str
        Page title (escaped).
    meta : mapping, optional
        Lines shown under the title (source file, rule set, date...), escaped.
    map_svg : str, optional
        From :func:`failing_map_svg` (generated here from numbers and escaped text).
    max_rows : int
        Rows of the failing-plot and detail tables shown (the CSV has all).
    counts : DataFrame, optional
        :func:`~gis_town.analysis.check.rule_counts` of the results, if already computed.
    """
    esc = html.escape
    counts = (rule_counts(results, rule_set) if counts is None else counts).copy()
    counts["severity"] = counts["severity"].map(lambda s: _SEVERITY.get(s, s))
    parts = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    if meta:
        parts.append(
            '<div class="meta">'
            + "<br>".join(f"{esc(str(k))}: {esc(str(v))}" for k, v in meta.items())
            + "</div>"
        )
    parts.append(_html_overview(_overview(summary)))
    if map_svg:
        parts += _html_map(map_svg)
    parts.append("<h2>规则汇总 / rules</h2>")
    rc = [
        "fail" if f else ("nc" if c else "") for f, c in zip(counts["fail"], counts["not_checked"])
    ]
    parts.append(_table(_labelled(counts.drop(columns=["kind"])), rc))
    parts += _html_failing_plots(summary, max_rows)
    parts += _html_details(results, max_rows)
    parts += _html_rule_set(rule_set)
    parts.append(
        f'<p class="meta">gis-town check, {esc(dt.datetime.now().strftime("%Y-%m-%d %H:%M"))}</p>'
    )
    parts.append("</body></html>")
    return "\n".join(parts)


# --------------------------------------------------------------------------- from a CheckResult


def report_title(town_name: str, rule_set: RuleSet) -> str:
    """``<town> <rule set's description>`` in Chinese and English (the report's title)."""
    zh = rule_set.description_zh or rule_set.name
    en = rule_set.description_en or rule_set.name
    return f"{town_name} {zh} / {en}"


def report_meta(result: CheckResult, plots_label: str) -> dict[str, str]:
    """The lines under the report's title: plots, rule set, rasters, when checked."""
    rs = result.rule_set
    return {
        "地块 plots": plots_label,
        "规则集 rule set": f"{rs.name} ({rs.source})",
        "DEM": str(result.dem) if result.dem else "未提供 not given",
        "NDVI": str(result.ndvi) if result.ndvi else "未提供 not given",
        "检查时间 checked at": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }


def report_map_svg(result: CheckResult) -> str:
    """The report's SVG map: failing plots labelled with their rules over the context layers."""
    summary = result.summary
    failed = result.failed_mask
    labels = None
    if failed.sum() <= MAX_MAP_LABELS:
        labels = [
            f"{pid}: {rf or nc}"
            for pid, rf, nc in zip(
                summary["plot_id"].astype(str),
                summary["rules_failed"].astype(str),
                summary["rules_not_checked"].astype(str),
            )
        ]
    ctx, gk_crs = result.context, result.plots.gk_crs
    ctx_gk = {
        n: ctx.layer_gk(n, gk_crs)
        for n in ("basic_farmland", "redline", "rivers", "roads")
        if ctx.layer(n) is not None
    }
    return failing_map_svg(result.plots, failed, labels=labels, context=ctx_gk)


def failed_plots_layer(result: CheckResult) -> gpd.GeoDataFrame:
    """The plots that did not pass, as given, with ``check_result``, the rules and messages."""
    prepared, mask = result.plots, result.failed_mask
    failed = prepared.gdf.loc[mask].copy()
    sm = result.summary.loc[mask]
    failed["check_result"] = sm["result"].to_numpy()
    failed["rules_failed"] = sm["rules_failed"].to_numpy()
    failed["rules_not_checked"] = sm["rules_not_checked"].to_numpy()
    failed["messages"] = sm["messages"].to_numpy()
    return gpd.GeoDataFrame(failed, geometry=prepared.gdf.geometry.name, crs=prepared.crs)


def repaired_plots_layer(result: CheckResult) -> tuple[gpd.GeoDataFrame, int]:
    """Every plot with invalid geometries repaired (``make_valid``), and how many were.

    ``geometry_repaired`` marks the repaired plots, ``geos_reason`` says why
    they were invalid.
    """
    prepared = result.plots
    geom = prepared.geom
    present = ~(shapely.is_missing(geom) | shapely.is_empty(geom))
    invalid = np.zeros(len(geom), dtype=bool)
    invalid[present] = ~shapely.is_valid(geom[present])
    reasons = np.full(len(geom), "", dtype=object)
    reasons[invalid] = shapely.is_valid_reason(geom[invalid])
    rep = prepared.gdf.copy()
    rep = rep.set_geometry(gpd.GeoSeries(repair_geometry(geom), crs=prepared.crs))
    rep["geometry_repaired"] = invalid
    rep["geos_reason"] = reasons
    return rep, int(invalid.sum())


def result_plots_layer(result: CheckResult) -> gpd.GeoDataFrame:
    """The plots that have a geometry, with their result, rules and messages (the map's layer).

    Columns: the plots' own, :data:`_MAP_COLUMNS` of the summary and
    ``rule_set`` (its name); labels in :data:`MAP_LABELS`.
    """
    gdf = result.plots.gdf
    out = gdf.copy()
    geom = out.geometry.name
    for c in _MAP_COLUMNS:
        out[c] = result.summary[c].to_numpy()
    out["rule_set"] = f"{result.rule_set.name}"
    present = ~(out.geometry.isna() | out.geometry.is_empty)
    return gpd.GeoDataFrame(out.loc[present.to_numpy()], geometry=geom, crs=gdf.crs)
