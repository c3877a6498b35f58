"""The acceptance-check engine: run a rule set over plots, summarise per plot and per rule."""

from __future__ import annotations

import logging
import time

import geopandas as gpd
import numpy as np
import pandas as pd

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
from gis_town.analysis.check.rulesets import RuleSet, load_rule_set

__all__ = [
    "RESULT_COLUMNS",
    "STATUS_LABELS",
    "SUMMARY_COLUMNS",
    "rule_counts",
    "run_rules",
    "summarize",
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
        ``reason`` (why a rule could not run; empty otherwise).
    """
    ctx = context if context is not None else CheckContext()
    rs = load_rule_set(rule_set) if not isinstance(rule_set, RuleSet) else rule_set
    t0 = time.perf_counter()
    p = prepare_plots(plots, id_field=ctx.id_field, gk_crs=ctx.gk_crs)
    log.info(
        "准备 %d 个地块 / prepared %d plots in %.2f s", len(p), len(p), time.perf_counter() - t0
    )
    n = len(p)
    parts = []
    for k, rule in enumerate(rs.rules):
        t1 = time.perf_counter()
        fn = RULE_FUNCTIONS[rule.kind]
        out = fn(p, ctx, **rule.limits_dict())
        if list(out.columns) != list(RULE_COLUMNS) or len(out) != n:  # pragma: no cover - a bug
            raise RuntimeError(f"rule {rule.id} returned a malformed table")
        status = out["status"].to_numpy(dtype=object)
        zh = out["detail_zh"].to_numpy(dtype=object)
        en = out["detail_en"].to_numpy(dtype=object)
        msg = np.empty(n, dtype=object)
        f = status == FAIL
        pz = status == PASS
        nc = status == NOT_CHECKED
        msg[f] = [f"{rule.message_zh}：{a} / {rule.message_en}: {b}" for a, b in zip(zh[f], en[f])]
        msg[pz] = [f"合格：{a} / ok: {b}" for a, b in zip(zh[pz], en[pz])]
        msg[nc] = [f"未检查：{a} / not checked: {b}" for a, b in zip(zh[nc], en[nc])]
        reason = np.full(n, "", dtype=object)
        reason[nc] = [f"{a} / {b}" for a, b in zip(zh[nc], en[nc])]
        parts.append(
            pd.DataFrame(
                {
                    "row": np.arange(n, dtype="int64"),
                    "plot_id": p.ids,
                    "rule": rule.id,
                    "kind": rule.kind,
                    "severity": rule.severity,
                    "status": status,
                    "value": out["value"].to_numpy(dtype=float),
                    "unit": out["unit"].to_numpy(dtype=object),
                    "limit": out["limit"].to_numpy(dtype=object),
                    "message": msg,
                    "reason": reason,
                    "_order": k,
                }
            )
        )
        log.info(
            "规则 rule %s: %d 通过 pass, %d 不通过 fail, %d 未检查 not checked (%.2f s)",
            rule.id,
            int(pz.sum()),
            int(f.sum()),
            int(nc.sum()),
            time.perf_counter() - t1,
        )
    res = pd.concat(parts, ignore_index=True)
    res = (
        res.sort_values(["row", "_order"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    for c in (
        "plot_id",
        "rule",
        "kind",
        "severity",
        "status",
        "unit",
        "limit",
        "message",
        "reason",
    ):
        res[c] = res[c].astype("string")
    res.attrs["rule_set"] = rs.name
    return res[list(RESULT_COLUMNS)]


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
    status = r["status"].astype("object").to_numpy()
    sev = r["severity"].astype("object").to_numpy()
    err = sev == "error"
    fail_e = (status == FAIL) & err
    nc_e = (status == NOT_CHECKED) & err
    warn = (status != PASS) & ~err
    rows = r["row"].to_numpy()
    first = np.unique(rows, return_index=True)[1]
    plots = r.iloc[first][["row", "plot_id"]].reset_index(drop=True)
    prow = plots["row"].to_numpy()
    nrow = int(rows.max()) + 1
    n_fail = np.bincount(rows[fail_e], minlength=nrow)[prow]
    n_nc = np.bincount(rows[nc_e], minlength=nrow)[prow]
    n_warn = np.bincount(rows[warn], minlength=nrow)[prow]
    # one pass over the rows that did not pass (few, usually), in row order
    failed_l: dict[int, list[str]] = {}
    nc_l: dict[int, list[str]] = {}
    warn_l: dict[int, list[str]] = {}
    msg_l: dict[int, list[str]] = {}
    nc_reason: dict[int, dict[str, list[str]]] = {}
    todo = np.flatnonzero(status != PASS)
    todo = todo[np.argsort(rows[todo], kind="stable")]
    rule = r["rule"].astype("object").to_numpy()
    message = r["message"].astype("object").to_numpy()
    reason = r["reason"].astype("object").to_numpy()
    for k in todo:
        i = int(rows[k])
        if status[k] == FAIL:
            (failed_l if err[k] else warn_l).setdefault(i, []).append(rule[k])
            msg_l.setdefault(i, []).append(message[k])
        else:  # not checked: rules sharing a reason (e.g. an invalid geometry) are listed once
            if err[k]:
                nc_l.setdefault(i, []).append(rule[k])
            else:
                warn_l.setdefault(i, []).append(rule[k])
            nc_reason.setdefault(i, {}).setdefault(str(reason[k]), []).append(rule[k])
    for i, groups in nc_reason.items():
        msg_l.setdefault(i, []).extend(
            f"未检查 not checked ({', '.join(rs)}): {why}" for why, rs in groups.items()
        )
    out = plots.copy()
    out["passed"] = (n_fail == 0) & (n_nc == 0)
    out["result"] = np.where(
        n_fail > 0, "不通过 fail", np.where(n_nc > 0, "待补充 incomplete", "通过 pass")
    )
    out["n_failed"] = n_fail.astype("int64")
    out["n_not_checked"] = n_nc.astype("int64")
    out["n_warnings"] = n_warn.astype("int64")
    out["rules_failed"] = ["; ".join(failed_l.get(i, ())) for i in prow]
    out["rules_not_checked"] = ["; ".join(nc_l.get(i, ())) for i in prow]
    out["warnings"] = ["; ".join(warn_l.get(i, ())) for i in prow]
    out["messages"] = [" | ".join(msg_l.get(i, ())) for i in prow]
    for c in ("plot_id", "result", "rules_failed", "rules_not_checked", "warnings", "messages"):
        out[c] = out[c].astype("string")
    return out[list(SUMMARY_COLUMNS)]


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
    order = list(dict.fromkeys(results["rule"].astype(str)))
    rows = []
    for rid in order:
        sub = results[results["rule"] == rid]
        st = sub["status"].astype(str)
        failed = sub.loc[st == FAIL, "plot_id"].astype(str).tolist()
        rule = None
        if rule_set is not None:
            try:
                rule = rule_set.rule(rid)
            except KeyError:
                rule = None
        lim = sub["limit"].astype(str)
        rows.append(
            {
                "rule": rid,
                "kind": str(sub["kind"].iloc[0]),
                "severity": str(sub["severity"].iloc[0]),
                "message_zh": rule.message_zh if rule else "",
                "message_en": rule.message_en if rule else "",
                "limit": (
                    rule.limits_text()
                    if rule is not None
                    else (lim.mode().iloc[0] if len(lim) else "")
                ),
                "pass": int((st == PASS).sum()),
                "fail": int((st == FAIL).sum()),
                "not_checked": int((st == NOT_CHECKED).sum()),
                "failed_plots": ", ".join(failed[:20])
                + (f" ... (+{len(failed) - 20})" if len(failed) > 20 else ""),
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
