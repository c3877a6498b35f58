"""The risk score (撂荒风险评分): factors normalised to 0-1, weighted, classed, explained.

``score = 100 * sum_f(w_f * n_f) / sum_f(w_f)`` over the weighted factors a
parcel has (``docs/risk.md``); classes from the config's thresholds; the
factor that contributes most, with a readable reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from gis_town.analysis.risk.factors import FACTOR_EN, FACTORS
from gis_town.config import RISK_FACTORS, RiskSection
from gis_town.errors import ConfigError

__all__ = ["RISK_CLASS_LABELS", "normalise_factors", "risk_score", "weights_from"]

log = logging.getLogger(__name__)

#: Risk classes: code -> Chinese label.
RISK_CLASS_LABELS: dict[str, str] = {"low": "低", "medium": "中", "high": "高"}

# --------------------------------------------------------------------------- score


def normalise_factors(
    factors: pd.DataFrame,
    names: Sequence[str] | None = None,
    *,
    clip_quantile: float = 0.02,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scale each factor to 0-1, where 1 is the riskiest, by a robust min-max over the parcels.

    For a factor ``x`` with direction ``d`` (+1: more is riskier, -1: less is):
    ``lo, hi`` = the ``clip_quantile`` and ``1 - clip_quantile`` quantiles of
    ``x`` over the parcels that have it (the min and max when those are
    equal); ``n = clip((x - lo) / (hi - lo), 0, 1)``, and ``1 - n`` when
    ``d = -1``. Quantiles instead of min/max keep one extreme parcel from
    squeezing all others together. A factor with one value everywhere carries
    no information and gets no normalised column (it is reported).

    Returns
    -------
    normalised : DataFrame
        One 0-1 column per informative factor (same names), NaN where missing.
    table : DataFrame
        Per factor: ``factor``, ``label``, ``unit``, ``direction``, ``lo``,
        ``hi``, ``parcels_with_value``, ``note``: how each was normalised.
    """
    names = [n for n in (names or RISK_FACTORS) if n in factors.columns]
    norm = pd.DataFrame(index=factors.index)
    rows = []
    for name in names:
        f = FACTORS[name]
        x = pd.to_numeric(factors[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isfinite(x)
        note = ""
        lo = hi = np.nan
        if ok.sum() == 0:
            note = "无数据 no values"
        else:
            lo, hi = np.quantile(x[ok], [clip_quantile, 1.0 - clip_quantile])
            if not hi > lo:
                lo, hi = float(x[ok].min()), float(x[ok].max())
            if not hi > lo:
                note = "全部相同 same value everywhere: not informative, left out"
            else:
                n = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
                norm[name] = 1.0 - n if f.direction < 0 else n
        rows.append(
            {
                "factor": name,
                "label": f.label,
                "unit": f.unit,
                "direction": f.direction,
                "lo": lo,
                "hi": hi,
                "parcels_with_value": int(ok.sum()),
                "note": note,
            }
        )
    return norm, pd.DataFrame(rows)


def weights_from(weights: Mapping[str, float] | RiskSection) -> dict[str, float]:
    w = dict(weights.weights if isinstance(weights, RiskSection) else weights)
    unknown = sorted(set(w) - set(RISK_FACTORS))
    if unknown:
        raise ConfigError(
            f"未知的风险因素 / unknown risk factors in [risk.weights]: {unknown}; known: {', '.join(RISK_FACTORS)}"
        )
    bad = {
        k: v
        for k, v in w.items()
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0)
    }
    if bad:
        raise ConfigError(f"风险权重须为非负数 / risk weights must be numbers >= 0, got {bad}")
    if not sum(w.values()) > 0:
        raise ConfigError("至少一个风险权重须大于 0 / at least one risk weight must be > 0")
    return {k: float(v) for k, v in w.items() if v > 0}


def risk_score(
    factors: pd.DataFrame,
    risk: RiskSection | Mapping[str, float] | None = None,
    *,
    medium: float | None = None,
    high: float | None = None,
    clip_quantile: float = 0.02,
) -> pd.DataFrame:
    """Weighted risk score 0-100, risk class and the factor that contributes most.

    ``score = 100 * sum_f(w_f * n_f) / sum_f(w_f)`` over the weighted factors
    ``f`` the parcel has a value for (``n_f`` from :func:`normalise_factors`).
    A parcel missing a factor (outside the DEM, no village record) is scored
    on the others, and ``missing_factors`` / ``score_note`` say which:
    never a silent NaN. Classes: ``high`` when ``score >= high``, ``medium``
    when ``>= medium``, else ``low``.

    Parameters
    ----------
    factors : DataFrame or GeoDataFrame
        Output of :func:`parcel_factors`.
    risk : RiskSection or mapping factor -> weight, optional
        The config's ``[risk]`` section (weights and thresholds), or weights
        alone; defaults to ``RiskSection()``.
    medium, high : float, optional
        Class thresholds overriding the section's.

    Returns
    -------
    DataFrame or GeoDataFrame
        ``factors`` plus ``score``, ``risk_class`` (low/medium/high),
        ``risk_class_zh``, ``top_factor``, ``top_factor_zh``, ``reason``
        (e.g. "平均坡度 23.4° / mean slope"), ``missing_factors`` and
        ``score_note``; ``attrs["normalisation"]`` is the table of
        :func:`normalise_factors` with each factor's weight and share.

    Raises
    ------
    ConfigError
        Unknown factors or negative weights.
    """
    section = risk if isinstance(risk, RiskSection) else RiskSection()
    weights = weights_from(risk if risk is not None else section)
    med = section.medium if medium is None else medium
    hi_t = section.high if high is None else high
    if med > hi_t:
        raise ConfigError(
            f"风险阈值 medium ({med}) 不应大于 high ({hi_t}) / medium must not exceed high"
        )
    norm, table = normalise_factors(factors, list(weights), clip_quantile=clip_quantile)
    used = _usable(weights, norm)
    w = np.array([weights[f] for f in used])
    n = norm[used].to_numpy(dtype="float64")
    have = np.isfinite(n)
    contrib = np.where(have, n * w, 0.0)
    wsum = (have * w).sum(axis=1)
    out = factors.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(wsum > 0, 100.0 * contrib.sum(axis=1) / wsum, np.nan)
    out["score"] = score
    _add_classes(out, score, medium=med, high=hi_t)
    top_idx = np.argmax(np.where(have, n * w, -1.0), axis=1)
    top = np.array(used, dtype=object)[top_idx]
    top = np.where(have.any(axis=1), top, None)
    out["top_factor"] = pd.array(top, dtype="string")
    out["top_factor_zh"] = pd.array([FACTORS[t].label if t else None for t in top], dtype="string")
    out["reason"] = pd.array(_reasons(factors, top), dtype="string")
    _add_missing_notes(out, used, have, score)
    share = {f: weights[f] / w.sum() for f in used}
    out.attrs["normalisation"] = _weighted_table(table, weights, share)
    out.attrs["weights_used"] = share
    out.attrs["thresholds"] = {"medium": med, "high": hi_t}
    return out


def _usable(weights: Mapping[str, float], norm: pd.DataFrame) -> list[str]:
    """The weighted factors with a normalised column; warn of the others, raise when none is left."""
    used = [f for f in weights if f in norm.columns]
    unavailable = [f for f in weights if f not in norm.columns]
    if unavailable:
        log.warning(
            "这些加权因素无法计算，未计入评分 / weighted factors not available, left out of the score: %s",
            ", ".join(unavailable),
        )
    if not used:
        raise ConfigError(
            "没有可用的加权风险因素 / none of the weighted risk factors could be computed "
            f"(weighted: {', '.join(weights)}); give a DEM, roads or NDVI, or weight other factors"
        )
    return used


def _add_classes(out: pd.DataFrame, score: np.ndarray, *, medium: float, high: float) -> None:
    """``risk_class`` (high >= ``high``, medium >= ``medium``, else low; unknown: no score) and its label."""
    cls = np.where(score >= high, "high", np.where(score >= medium, "medium", "low"))
    cls = np.where(np.isnan(score), "unknown", cls)
    out["risk_class"] = pd.array(cls, dtype="string")
    out["risk_class_zh"] = pd.array([RISK_CLASS_LABELS.get(c, "未知") for c in cls], dtype="string")


def _add_missing_notes(
    out: pd.DataFrame, used: Sequence[str], have: np.ndarray, score: np.ndarray
) -> None:
    """``missing_factors`` and ``score_note`` of the parcels scored without some factors."""
    missing_text = np.full(len(out), "", dtype=object)
    notes = np.full(len(out), "", dtype=object)
    for i in np.flatnonzero(~have.all(axis=1)):  # only parcels missing a factor: no loop over all
        m = [used[j] for j in np.flatnonzero(~have[i])]
        missing_text[i] = "; ".join(m)
        if np.isnan(score[i]):
            notes[i] = "无任何可用因素，无法评分 / no factor available: not scored"
        else:
            labels = "、".join(FACTORS[x].label for x in m)
            notes[i] = (
                f"缺少 {labels}，按其余因素评分 / missing {', '.join(m)}: scored on the others"
            )
    out["missing_factors"] = pd.array(missing_text, dtype="string")
    out["score_note"] = pd.array(notes, dtype="string")


def _weighted_table(
    table: pd.DataFrame, weights: Mapping[str, float], share: Mapping[str, float]
) -> pd.DataFrame:
    """The normalisation table with each factor's weight and share, and a row per factor not computed."""
    table["weight"] = table["factor"].map(weights).astype("float64")
    table["weight_share"] = table["factor"].map(share).astype("float64")
    for f in weights:
        if f not in share and f not in set(table["factor"]):
            table.loc[len(table)] = {
                "factor": f,
                "label": FACTORS[f].label,
                "unit": FACTORS[f].unit,
                "direction": FACTORS[f].direction,
                "lo": np.nan,
                "hi": np.nan,
                "parcels_with_value": 0,
                "note": "未计算 not computed (no input)",
                "weight": weights[f],
                "weight_share": np.nan,
            }
    return table


def _reasons(factors: pd.DataFrame, top: np.ndarray) -> list[str | None]:
    """ "<factor label> <value><unit> / <English>" of each parcel's top factor (None: no factor)."""
    top = np.asarray(top, dtype=object)
    out = np.full(len(top), None, dtype=object)
    for t in pd.unique(top[pd.notna(top)]):
        rows = np.flatnonzero(top == t)
        f = FACTORS[t]
        texts = []
        for v in factors[t].to_numpy()[rows]:  # one column at a time: a county has 1M parcels
            try:
                val = f.fmt.format(float(v)) + f.unit
            except (TypeError, ValueError):
                val = str(v)
            texts.append(f"{f.label} {val} / {FACTOR_EN[t]}")
        out[rows] = texts
    return out.tolist()
