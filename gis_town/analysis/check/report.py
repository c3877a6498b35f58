"""The acceptance-check report: workbook sheets for officials and an offline HTML page.

Pure functions: they build tables and text; the CLI writes them with
:mod:`gis_town.io.write`. The HTML report needs no network (no scripts, no
fonts, no tiles): the map of the failing plots is an inline SVG drawn from
the plots' Gauss-Kruger coordinates. Every value from the data (ids, names,
messages) is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town import settings
from gis_town.analysis.check.engine import STATUS_LABELS, rule_counts, take_rows
from gis_town.analysis.check.rules import PASS, Plots
from gis_town.analysis.check.rulesets import RuleSet

__all__ = [
    "COLUMN_LABELS",
    "SIGN_OFF_LINES",
    "failing_map_svg",
    "render_html",
    "workbook_sheets",
]

log = logging.getLogger(__name__)

#: Chinese + English headers of the report tables.
COLUMN_LABELS: dict[str, str] = {
    "row": "行号 row",
    "plot_id": "地块编号 plot id",
    "rule": "规则 rule",
    "kind": "检查类型 kind",
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
    "rules_failed": "不通过规则 rules failed",
    "rules_not_checked": "未检查规则 rules not checked",
    "warnings": "提醒规则 warnings",
    "messages": "问题说明 messages",
    "message_zh": "规则说明",
    "message_en": "rule",
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
    from gis_town.analysis.check.rules import repair_geometry
    from gis_town.geodesy import project_to_gk

    geom = plots.gk.copy()
    todo = np.flatnonzero(~plots.usable & ~shapely.is_missing(plots.geom))
    if len(todo):
        fixed = repair_geometry(plots.geom[todo])
        ok = ~shapely.is_missing(fixed)
        if ok.any():
            gs = gpd.GeoSeries(fixed[ok], crs=plots.crs)
            geom[todo[ok]] = np.asarray(project_to_gk(gs, crs=plots.gk_crs).values, dtype=object)
    have = ~shapely.is_missing(geom)
    failed = np.asarray(failed, dtype=bool) & have
    fail_idx = np.flatnonzero(failed)[:max_plots]
    ok_idx = np.flatnonzero(have & ~failed)
    if len(ok_idx) > max_plots:
        ok_idx = np.array([], dtype=int)
    shown = np.concatenate([ok_idx, fail_idx]).astype(int)
    if len(shown) == 0:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40"><text x="10" y="25">无可绘制的地块 / no plot to draw</text></svg>'
    minx, miny, maxx, maxy = shapely.total_bounds(geom[shown])
    span = max(maxx - minx, maxy - miny, 50.0)
    pad = span * 0.05
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    w, h = maxx - minx, maxy - miny
    scale = width_px / w
    height_px = max(int(h * scale), 100)
    tol = 0.5 / scale  # half a pixel

    def tx(x: float) -> float:
        return (x - minx) * scale

    def ty(y: float) -> float:
        return (maxy - y) * scale

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width_px} {height_px}" '
        f'width="100%" style="max-width:{width_px}px;background:#fbfbf7;border:1px solid #ccc" '
        'role="img" aria-label="不通过地块分布图 map of failing plots">'
    ]
    styles = {
        "basic_farmland": 'fill="#dff0d0" stroke="none"',
        "redline": 'fill="#f6c9c9" fill-opacity="0.7" stroke="#c0392b" stroke-width="1" stroke-dasharray="4 2"',
        "rivers": 'fill="none" stroke="#4a90d9" stroke-width="2"',
        "roads": 'fill="none" stroke="#8a6d3b" stroke-width="1.2"',
    }
    box = shapely.box(minx, miny, maxx, maxy)
    for name in ("basic_farmland", "redline", "rivers", "roads"):
        gdf = (context or {}).get(name)
        if gdf is None or len(gdf) == 0:
            continue
        g = np.asarray(gdf.geometry.values, dtype=object)
        g = g[~shapely.is_missing(g)]
        g = g[shapely.intersects(g, box)]
        if len(g) == 0:
            continue
        g = shapely.simplify(shapely.clip_by_rect(g, minx, miny, maxx, maxy), tol)
        d = " ".join(x for x in (_path_d(x, tx, ty) for x in g) if x)
        if d:
            parts.append(f'<path d="{d}" {styles[name]}/>')
    simp = shapely.simplify(geom[shown], tol, preserve_topology=True)
    ok_set = len(ok_idx)
    d_ok = " ".join(x for x in (_path_d(g, tx, ty) for g in simp[:ok_set]) if x)
    if d_ok:
        parts.append(
            f'<path d="{d_ok}" fill="#ffffff" fill-opacity="0.6" stroke="#777" stroke-width="0.6"/>'
        )
    for k, i in enumerate(fail_idx):
        d = _path_d(simp[ok_set + k], tx, ty)
        if not d:
            continue
        tip = html.escape(str(labels[i]) if labels is not None else str(plots.ids[i]))
        parts.append(
            f'<path d="{d}" fill="#e74c3c" fill-opacity="0.75" stroke="#922" stroke-width="1"><title>{tip}</title></path>'
        )
    if (
        0 < len(fail_idx) <= max_labels
    ):  # ids printed beside the failing plots (tooltips do not print)
        pts = shapely.point_on_surface(simp[ok_set:])
        xy = shapely.get_coordinates(pts)
        parts.append(
            '<g font-size="11" font-family="sans-serif" fill="#600" stroke="#fff" stroke-width="3" '
            'paint-order="stroke">'
        )
        for k, i in enumerate(fail_idx):
            if k < len(xy):
                parts.append(
                    f'<text x="{tx(xy[k, 0]) + 6:.1f}" y="{ty(xy[k, 1]) - 4:.1f}">'
                    f"{html.escape(str(plots.ids[i]))}</text>"
                )
        parts.append("</g>")
    # scale bar
    bar_m = _nice(w / 5)
    bar_px = bar_m * scale
    y0 = height_px - 14
    parts.append(
        f'<g font-size="12" font-family="sans-serif"><rect x="10" y="{y0 - 4}" width="{bar_px:.1f}" height="4" fill="#333"/>'
        f'<text x="{12 + bar_px:.1f}" y="{y0}">{bar_m:g} m</text>'
        f'<text x="10" y="16">↑ 北 N</text></g>'
    )
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
    ov = _overview(summary)
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
    parts.append(
        '<div class="cards">'
        f'<div class="card"><b>{ov["plots"]:,}</b>地块 plots</div>'
        f'<div class="card ok"><b>{ov["passed"]:,}</b>通过 passed</div>'
        f'<div class="card bad"><b>{ov["failed"]:,}</b>不通过 failed</div>'
        f'<div class="card inc"><b>{ov["incomplete"]:,}</b>待补充 incomplete</div>'
        "</div>"
        '<p class="meta">“待补充”：有规则因缺少资料未能检查（缺资料不算通过）/ incomplete: a rule could not run '
        "(missing data is never a pass).</p>"
    )
    if map_svg:
        parts.append("<h2>不通过地块分布图 / map of plots that did not pass</h2>")
        parts.append(
            '<div class="legend">'
            '<span><i class="sw" style="background:#e74c3c"></i>不通过 failed / incomplete</span>'
            '<span><i class="sw" style="background:#fff"></i>通过 passed</span>'
            '<span><i class="sw" style="background:#dff0d0"></i>永久基本农田 basic farmland</span>'
            '<span><i class="sw" style="background:#f6c9c9"></i>生态保护红线 red line</span>'
            '<span><i class="sw" style="background:#4a90d9"></i>河流 rivers</span>'
            '<span><i class="sw" style="background:#8a6d3b"></i>道路 roads</span></div>'
        )
        parts.append(map_svg)
    parts.append("<h2>规则汇总 / rules</h2>")
    rc = [
        "fail" if f else ("nc" if c else "") for f, c in zip(counts["fail"], counts["not_checked"])
    ]
    parts.append(_table(_labelled(counts.drop(columns=["kind"])), rc))
    bad = np.flatnonzero(~summary["passed"].to_numpy(dtype=bool))
    parts.append(f"<h2>未通过的地块 / plots that did not pass ({len(bad):,})</h2>")
    if len(bad):
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
    else:
        parts.append("<p>全部地块通过 / every plot passed.</p>")
    det = np.flatnonzero((results["status"] != PASS).to_numpy(dtype=bool))
    parts.append(f"<h2>不通过与未检查明细 / failed and not-checked results ({len(det):,})</h2>")
    if len(det):
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
    parts.append("<h2>规则集 / rule set</h2>")
    parts.append(
        f"<p>{esc(rule_set.name)}: {esc(rule_set.description_zh)} / {esc(rule_set.description_en)} ({esc(rule_set.source)})</p>"
    )
    parts.append(_table(_labelled(rule_set.to_frame())))
    parts.append('<div class="sign">' + "<br>".join(esc(x) for x in SIGN_OFF_LINES) + "</div>")
    parts.append(
        f'<p class="meta">gis-town check, {esc(dt.datetime.now().strftime("%Y-%m-%d %H:%M"))}</p>'
    )
    parts.append("</body></html>")
    return "\n".join(parts)
