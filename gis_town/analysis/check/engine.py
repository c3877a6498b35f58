"""The acceptance-check engine: run a rule set over plots, summarise per plot and per rule."""

from __future__ import annotations

import logging
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import union_categoricals

from gis_town import settings
from gis_town.analysis.check.rules import (
    FAIL,
    NOT_CHECKED,
    PASS,
    RULE_COLUMNS,
    RULE_FUNCTIONS,
    CheckContext,
    Plots,
    prepare_plots,
)
from gis_town.analysis.check.rulesets import Rule, RuleSet, load_rule_set
from gis_town.memory import release_memory

__all__ = [
    "RESULT_COLUMNS",
    "STATUS_LABELS",
    "SUMMARY_COLUMNS",
    "rule_counts",
    "run_rules",
    "summarize",
    "take_rows",
]

log = logging.getLogger(__name__)

#: Columns of the results table (one row per plot and rule).
RESULT_COLUMNS: tuple[str, ...] = (
    "row",
    "plot_id",
    "rule",
    "kind",
    "severity",
    "status",
    "value",
    "unit",
    "limit",
    "message",
    "reason",
)

#: Columns of the per-plot summary.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "row",
    "plot_id",
    "passed",
    "result",
    "n_failed",
    "n_not_checked",
    "n_warnings",
    "rules_failed",
    "rules_not_checked",
    "warnings",
    "messages",
)

#: Status -> Chinese / English label.
STATUS_LABELS: dict[str, str] = {
    PASS: "通过 pass",
    FAIL: "不通过 fail",
    NOT_CHECKED: "未检查 not checked",
}


def run_rules(
    plots: gpd.GeoDataFrame | Plots,
    rule_set: RuleSet | str,
    *,
    context: CheckContext | None = None,
) -> pd.DataFrame:
    """Run every rule of a rule set over every plot.

    Parameters
    ----------
    plots : GeoDataFrame
        The plots as read: invalid geometries are checked, not dropped.
        Not modified.
    rule_set : RuleSet or str
        A rule set (:func:`~gis_town.analysis.check.rulesets.load_rule_set`)
        or the name of a shipped one (``"high_standard"``, ``"reclamation"``).
    context : CheckContext, optional
        Context layers, DEM, NDVI, Gauss-Kruger zone and id field. Without
        it, rules that need context are ``not_checked``.

    Returns
    -------
    DataFrame
        :data:`RESULT_COLUMNS`, one row per plot and rule, ordered by plot
        (input row) then rule (rule-set order): ``row`` (0-based input row:
        tells duplicate ids apart), ``plot_id``, ``rule`` (id), ``kind``,
        ``severity``, ``status`` (``pass`` / ``fail`` / ``not_checked``),
        ``value`` (float) with ``unit``, ``limit`` (text), ``message``
        (Chinese / English: the rule's message and what was measured) and
        ``reason`` (why a rule could not run; empty otherwise). ``rule``,
        ``kind``, ``severity``, ``status``, ``unit`` and ``limit`` are
        categoricals, the other texts Arrow-backed ``string``: a county's
        13 million results take about 2 GB.
    """
    ctx = context if context is not None else CheckContext()
    rs = load_rule_set(rule_set) if not isinstance(rule_set, RuleSet) else rule_set
    t0 = time.perf_counter()
    p = prepare_plots(plots, id_field=ctx.id_field, gk_crs=ctx.gk_crs)
    log.info(
        "准备 %d 个地块 / prepared %d plots in %.2f s", len(p), len(p), time.perf_counter() - t0
    )
    # A county checks 1,000,000 plots x 13 rules: each rule's texts become
    # Arrow strings (per block of plots) as soon as the rule has run, the
    # repeated ones categories; the blocks are then put in plot-major order
    # one at a time, so the transient copies stay one block's size.
    acc = _Columns(len(p), max(int(settings.CHECK_BLOCK_PLOTS), 1))
    for rule in rs.rules:
        _run_rule(rule, p, ctx, acc)
        release_memory()  # the rule's Python strings: a county's are hundreds of MB
    res = acc.frame(p, len(rs.rules))
    res.attrs["rule_set"] = rs.name
    return res[list(RESULT_COLUMNS)]


class _Columns:
    """The results' columns, rule after rule: categoricals, values, texts per block of plots."""

    def __init__(self, n: int, step: int) -> None:
        self.n = n
        self.step = step
        self.blocks = range(0, n, step)
        self.cols: dict[str, list] = {c: [] for c in _CATEGORY_COLUMNS}
        self.text: list[dict[str, list[pa.Array]]] = [
            {"message": [], "reason": []} for _ in self.blocks
        ]
        self.values: list[np.ndarray] = []

    def frame(self, p: Plots, n_rules: int) -> pd.DataFrame:
        """The results in plot-major order (plot i, rule k at row i * n_rules + k)."""
        n = self.n
        order = _order(n, n_rules)
        data: dict[str, object] = {
            "row": np.repeat(np.arange(n, dtype="int64"), n_rules),
            "plot_id": _arrow_strings(pa.array(p.ids, type=pa.large_string()).take(order % n)),
        }
        for c in _CATEGORY_COLUMNS:
            cat = union_categoricals(self.cols.pop(c)) if n_rules else pd.Categorical([])
            data[c] = pd.Series(cat.take(order))
        for c in ("message", "reason"):
            data[c] = _arrow_strings(
                pa.chunked_array(
                    [_plot_major(self.text[b].pop(c), n_rules) for b in range(len(self.text))],
                    type=pa.large_string(),
                )
            )
        data["value"] = np.concatenate(self.values)[order] if self.values else np.empty(0)
        return pd.DataFrame(data)


def _run_rule(rule: Rule, p: Plots, ctx: CheckContext, acc: _Columns) -> None:
    """Run one rule over every plot and add its output to ``acc``."""
    n = len(p)
    t1 = time.perf_counter()
    fn = RULE_FUNCTIONS[rule.kind]
    out = fn(p, ctx, **rule.limits_dict())
    if list(out.columns) != list(RULE_COLUMNS) or len(out) != n:  # pragma: no cover - a bug
        raise RuntimeError(f"rule {rule.id} returned a malformed table")
    status = out["status"].to_numpy(dtype=object)
    f = status == FAIL
    pz = status == PASS
    nc = status == NOT_CHECKED
    zh, en = out["detail_zh"].to_numpy(dtype=object), out["detail_en"].to_numpy(dtype=object)
    for b, lo in enumerate(acc.blocks):
        hi = lo + acc.step
        msg, reason = _messages(rule, f[lo:hi], nc[lo:hi], zh[lo:hi], en[lo:hi])
        acc.text[b]["message"].append(msg)
        acc.text[b]["reason"].append(reason)
    for c, v in (
        ("rule", [rule.id] * n),
        ("kind", [rule.kind] * n),
        ("severity", [rule.severity] * n),
        ("status", status),
        ("unit", out["unit"].to_numpy(dtype=object)),
        ("limit", out["limit"].to_numpy(dtype=object)),
    ):
        acc.cols[c].append(pd.Categorical(v))
    acc.values.append(out["value"].to_numpy(dtype=float))
    log.info(
        "规则 rule %s: %d 通过 pass, %d 不通过 fail, %d 未检查 not checked (%.2f s)",
        rule.id,
        int(pz.sum()),
        int(f.sum()),
        int(nc.sum()),
        time.perf_counter() - t1,
    )


#: Columns of few distinct values, kept as categories (1 byte a row, not a string).
_CATEGORY_COLUMNS: tuple[str, ...] = ("rule", "kind", "severity", "status", "unit", "limit")


def _plot_major(per_rule: list[pa.Array], n_rules: int) -> pa.Array:
    """One block's column, rule after rule, reordered plot after plot (then rule)."""
    m = len(per_rule[0]) if per_rule else 0
    block = pa.concat_arrays(per_rule) if per_rule else pa.array([], pa.large_string())
    per_rule.clear()  # the rule-major copies go as soon as the block is reordered
    return block.take(_order(m, n_rules))


def _order(n: int, n_rules: int) -> np.ndarray:
    """Positions in a rule-major table (rule k's n rows, then rule k+1's) of plot i, rule k."""
    return (np.arange(n_rules, dtype="int64")[None, :] * n + np.arange(n)[:, None]).ravel()


def _messages(
    rule: Rule, fail: np.ndarray, not_checked: np.ndarray, zh: np.ndarray, en: np.ndarray
) -> tuple[pa.Array, pa.Array]:
    """The ``message`` and ``reason`` columns of one rule, joined in Arrow.

    ``message`` = "<rule's message or 合格/未检查>：<detail_zh> / <message_en or
    ok/not checked>: <detail_en>"; ``reason`` = "<detail_zh> / <detail_en>"
    where the rule could not run, else empty.
    """
    which = np.where(fail, 0, np.where(not_checked, 2, 1))
    head = pa.array([f"{rule.message_zh}：", "合格：", "未检查："], pa.large_string())
    mid = pa.array([f" / {rule.message_en}: ", " / ok: ", " / not checked: "], pa.large_string())
    zh_a = pa.array(zh, type=pa.large_string())
    en_a = pa.array(en, type=pa.large_string())
    sep = pa.scalar("", pa.large_string())
    msg = pc.binary_join_element_wise(head.take(which), zh_a, mid.take(which), en_a, sep)
    reason = pc.if_else(
        not_checked,
        pc.binary_join_element_wise(zh_a, en_a, pa.scalar(" / ", pa.large_string())),
        sep,
    )
    return msg, reason


def _arrow_strings(a: pa.Array | pa.ChunkedArray) -> pd.Series:
    """An Arrow string array as a pandas ``string`` Series, without copying."""
    if isinstance(a, pa.Array):
        a = pa.chunked_array([a])
    return pd.Series(pd.arrays.ArrowStringArray(a), copy=False)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Per plot: passed, rules failed, rules not checked, warnings.

    A plot *passes* when no rule of severity ``error`` failed and none could
    not run (missing data is never a pass). Failed ``warning`` rules are
    listed in ``warnings`` but do not block acceptance.

    Parameters
    ----------
    results : DataFrame
        From :func:`run_rules`.

    Returns
    -------
    DataFrame
        :data:`SUMMARY_COLUMNS`, one row per plot (input order): ``passed``
        (bool), ``result`` (通过 pass / 不通过 fail / 待补充 incomplete),
        counts, the rule ids as ``;``-separated text and the failure messages.
    """
    if len(results) == 0:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    r = results
    # compare in Arrow, and turn into Python strings only the rows that did not pass
    is_pass = _is(r["status"], PASS)
    is_fail = _is(r["status"], FAIL)
    err = _is(r["severity"], "error")
    fail_e = is_fail & err
    nc_e = ~is_pass & ~is_fail & err
    warn = ~is_pass & ~err
    rows = r["row"].to_numpy()
    if np.all(rows[1:] >= rows[:-1]):  # as run_rules orders them: no sort needed
        first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    else:
        first = np.unique(rows, return_index=True)[1]
    plots = take_rows(r[["row", "plot_id"]], first)
    prow = plots["row"].to_numpy()
    nrow = int(rows.max()) + 1
    n_fail = np.bincount(rows[fail_e], minlength=nrow)[prow]
    n_nc = np.bincount(rows[nc_e], minlength=nrow)[prow]
    n_warn = np.bincount(rows[warn], minlength=nrow)[prow]
    # the rows that did not pass, in row order, turned into text a block of plots at a time
    todo = np.flatnonzero(~is_pass)
    todo = todo[np.argsort(rows[todo], kind="stable")]
    todo_rows = rows[todo]
    texts_of = r[["row", "rule", "message", "reason"]]
    texts: dict[str, list[pa.Array]] = {c: [] for c in _SUMMARY_TEXTS}
    step = max(int(settings.CHECK_BLOCK_PLOTS), 1)
    for lo in range(0, len(prow), step):
        block = prow[lo : lo + step]
        i0 = np.searchsorted(todo_rows, block[0], side="left")
        i1 = np.searchsorted(todo_rows, block[-1], side="right")
        k = todo[i0:i1]
        for c, v in _plot_texts(take_rows(texts_of, k), is_fail[k], err[k], block).items():
            texts[c].append(pa.array(v, type=pa.large_string()))
        release_memory()
    out = plots.copy()
    out["passed"] = (n_fail == 0) & (n_nc == 0)
    out["result"] = np.where(
        n_fail > 0, "不通过 fail", np.where(n_nc > 0, "待补充 incomplete", "通过 pass")
    )
    out["n_failed"] = n_fail.astype("int64")
    out["n_not_checked"] = n_nc.astype("int64")
    out["n_warnings"] = n_warn.astype("int64")
    for c in _SUMMARY_TEXTS:
        out[c] = _arrow_strings(pa.chunked_array(texts.pop(c), type=pa.large_string()))
    for c in ("plot_id", "result"):
        out[c] = out[c].astype("string")
    return out[list(SUMMARY_COLUMNS)]


_SUMMARY_TEXTS = ("rules_failed", "rules_not_checked", "warnings", "messages")


def _plot_texts(
    r: pd.DataFrame, fail: np.ndarray, err: np.ndarray, plot_rows: np.ndarray
) -> dict[str, list[str]]:
    """The summary's text columns for ``plot_rows`` from their result rows that did not pass.

    ``r`` holds those rows (in row order), ``fail`` tells failed from not
    checked, ``err`` severity ``error`` from ``warning``.
    """
    failed_l: dict[int, list[str]] = {}
    nc_l: dict[int, list[str]] = {}
    warn_l: dict[int, list[str]] = {}
    msg_l: dict[int, list[str]] = {}
    nc_reason: dict[int, dict[str, list[str]]] = {}
    rows = r["row"].to_numpy()
    rule = r["rule"].to_numpy(dtype=object)
    message = r["message"].to_numpy(dtype=object)
    reason = r["reason"].to_numpy(dtype=object)
    for k in range(len(r)):
        i = int(rows[k])
        if fail[k]:
            (failed_l if err[k] else warn_l).setdefault(i, []).append(rule[k])
            msg_l.setdefault(i, []).append(message[k])
        else:  # not checked: rules sharing a reason (e.g. an invalid geometry) are listed once
            (nc_l if err[k] else warn_l).setdefault(i, []).append(rule[k])
            nc_reason.setdefault(i, {}).setdefault(str(reason[k]), []).append(rule[k])
    for i, groups in nc_reason.items():
        msg_l.setdefault(i, []).extend(
            f"未检查 not checked ({', '.join(rs)}): {why}" for why, rs in groups.items()
        )
    return {
        "rules_failed": ["; ".join(failed_l.get(i, ())) for i in plot_rows],
        "rules_not_checked": ["; ".join(nc_l.get(i, ())) for i in plot_rows],
        "warnings": ["; ".join(warn_l.get(i, ())) for i in plot_rows],
        "messages": [" | ".join(msg_l.get(i, ())) for i in plot_rows],
    }


def take_rows(df: pd.DataFrame, idx: np.ndarray) -> pd.DataFrame:
    """``df.iloc[idx]`` (index reset), slicing first to the rows' range.

    The results' texts are Arrow arrays in many chunks; a take over the whole
    column would first join every chunk into one copy (a county's messages:
    1.4 GB). A slice is free, and a take on it joins only the chunks in range.
    """
    idx = np.asarray(idx, dtype="int64")
    if len(idx) == 0:
        return df.iloc[:0].reset_index(drop=True)
    lo, hi = int(idx.min()), int(idx.max()) + 1
    return df.iloc[lo:hi].iloc[idx - lo].reset_index(drop=True)


def _is(col: pd.Series, value: str) -> np.ndarray:
    """``col == value`` as a bool array (missing: False), computed without Python strings."""
    return (col == value).fillna(False).to_numpy(dtype=bool)


def rule_counts(results: pd.DataFrame, rule_set: RuleSet | None = None) -> pd.DataFrame:
    """Per rule: how many plots passed, failed, were not checked (rule-set order).

    Returns
    -------
    DataFrame
        ``rule``, ``kind``, ``severity``, ``message_zh``, ``message_en``,
        ``limit`` (the rule's limits, or the most common limit text without
        a rule set), ``pass``, ``fail``, ``not_checked``,
        ``failed_plots`` (up to 20 ids).
    """
    # one factorisation of the rule column, then the rows of each rule by position:
    # no per-rule copy of the table (a county's results have 13 million rows)
    codes, rule_ids = pd.factorize(results["rule"], sort=False)
    by_rule = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[by_rule], np.arange(len(rule_ids) + 1))
    status = results["status"]
    is_pass, is_fail = _is(status, PASS), _is(status, FAIL)
    is_nc = _is(status, NOT_CHECKED)
    rows = []
    for k, rid in enumerate(rule_ids):
        idx = by_rule[bounds[k] : bounds[k + 1]]
        rid = str(rid)
        failed_idx = idx[is_fail[idx]]
        failed = results["plot_id"].iloc[failed_idx[:20]].astype(str).tolist()
        rule = None
        if rule_set is not None:
            try:
                rule = rule_set.rule(rid)
            except KeyError:
                rule = None
        first = int(idx[0])
        if rule is not None:
            limit = rule.limits_text()
        else:
            lim = results["limit"].iloc[idx].astype(str)
            limit = lim.mode().iloc[0] if len(lim) else ""
        rows.append(
            {
                "rule": rid,
                "kind": str(results["kind"].iloc[first]),
                "severity": str(results["severity"].iloc[first]),
                "message_zh": rule.message_zh if rule else "",
                "message_en": rule.message_en if rule else "",
                "limit": limit,
                "pass": int(is_pass[idx].sum()),
                "fail": int(len(failed_idx)),
                "not_checked": int(is_nc[idx].sum()),
                "failed_plots": ", ".join(failed)
                + (f" ... (+{len(failed_idx) - 20})" if len(failed_idx) > 20 else ""),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "rule",
            "kind",
            "severity",
            "message_zh",
            "message_en",
            "limit",
            "pass",
            "fail",
            "not_checked",
            "failed_plots",
        ],
    )
