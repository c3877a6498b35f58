"""Attribute rules of the acceptance check: the declared area and the attributes' completeness."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from gis_town import settings
from gis_town.analysis.check.plots import (
    FAIL,
    PASS,
    CheckContext,
    _blank,
    _ctx,
    _id_text,
    _Out,
    _plots,
)

__all__ = [
    "check_attributes",
    "check_declared_area",
]

log = logging.getLogger(__name__)


def check_declared_area(
    plots,
    context: CheckContext | None = None,
    *,
    rel_tolerance: float = 0.05,
    abs_tolerance_mu: float = 0.3,
    field: str = "declared_area_mu",
    ridge_field: str = "ridge_coef",
) -> pd.DataFrame:
    """Declared area (mu) against the measured ellipsoidal area.

    The measured area is the *net* area ``gross * (1 - ridge_coef)`` when the
    plot carries a terrace-ridge coefficient (田坎系数), the gross area
    otherwise; the detail says which. Passes when
    ``|measured - declared| <= max(abs_tolerance_mu, rel_tolerance * declared)``.
    ``value`` is the measured area in mu. A blank or non-numeric declared
    area, or a ridge coefficient outside [0, 1), is ``not_checked``.
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    n = len(p)
    o = _Out(n, unit="亩 mu")
    o.unusable(p)
    gdf = p.gdf
    if field not in gdf.columns:
        o.not_checked(p.usable, f"没有申报面积字段 {field}", f"no declared-area field {field}")
        return o.frame()
    declared = pd.to_numeric(gdf[field], errors="coerce").to_numpy(dtype=float)
    if ridge_field in gdf.columns:
        ridge = pd.to_numeric(gdf[ridge_field], errors="coerce").to_numpy(dtype=float)
    else:
        ridge = np.full(n, np.nan)
    has_ridge = np.isfinite(ridge)
    bad_ridge = has_ridge & ((ridge < 0) | (ridge >= 1))
    gross = p.area_m2 * settings.MU_PER_M2
    measured = np.where(
        has_ridge & ~bad_ridge, gross * (1.0 - np.where(has_ridge, ridge, 0.0)), gross
    )
    tol = np.maximum(abs_tolerance_mu, rel_tolerance * np.abs(declared))
    u = p.usable
    no_decl = u & ~(np.isfinite(declared) & (declared > 0))
    o.not_checked(
        no_decl,
        f"申报面积（{field}）为空或无效",
        f"declared area ({field}) blank or not a positive number",
    )
    rb = u & ~no_decl & bad_ridge
    o.not_checked(
        rb,
        [f"田坎系数 {r:g} 不在 0-1 之间" for r in ridge[rb]],
        [f"ridge coefficient {r:g} not in 0..1" for r in ridge[rb]],
    )
    ok = u & ~no_decl & ~bad_ridge
    diff = measured - declared
    fail = ok & (np.abs(diff) > tol)
    o.value[ok] = measured[ok]
    o.limit[ok] = [f"{d:,.2f} ± {t:,.2f}" for d, t in zip(declared[ok], tol[ok])]
    o.status[ok] = np.where(fail[ok], FAIL, PASS)
    o.zh[ok], o.en[ok] = _area_details(np.flatnonzero(ok), measured, declared, gross, ridge)
    return o.frame()


def _area_basis(gross: float, ridge: float) -> tuple[str, str]:
    """Which area was measured: net (with the ridge coefficient) or gross."""
    if np.isfinite(ridge) and ridge == 0:
        return "净面积（田坎系数 0，即毛面积）", "net area (ridge coefficient 0: the gross area)"
    if np.isfinite(ridge):
        return (
            f"净面积（毛面积 {gross:,.2f} 亩 × (1 - 田坎系数 {ridge:g})）",
            f"net area (gross {gross:,.2f} mu x (1 - ridge coef {ridge:g}))",
        )
    return "毛面积（无田坎系数）", "gross area (no ridge coefficient)"


def _area_details(
    rows: np.ndarray,
    measured: np.ndarray,
    declared: np.ndarray,
    gross: np.ndarray,
    ridge: np.ndarray,
) -> tuple[list[str], list[str]]:
    """The detail texts of the checked plots: measured against declared, and the difference."""
    zh, en = [], []
    for i in rows:
        diff = measured[i] - declared[i]
        rel = diff / declared[i]
        bz, be = _area_basis(gross[i], ridge[i])
        zh.append(
            f"{bz} {measured[i]:,.2f} 亩，申报 {declared[i]:,.2f} 亩，差 {diff:+,.2f} 亩（{rel:+.1%}）"
        )
        en.append(
            f"{be} {measured[i]:,.2f} mu, declared {declared[i]:,.2f} mu, difference {diff:+,.2f} mu ({rel:+.1%})"
        )
    return zh, en


class _Problems:
    """Per-plot problem counts and their joined texts (``；`` in Chinese, ``; `` in English)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = np.zeros(n, dtype=int)
        self.zh = np.full(n, "", dtype=object)
        self.en = np.full(n, "", dtype=object)

    def add(self, mask: np.ndarray, mz, me) -> None:
        if not mask.any():
            return
        n = self.n
        self.count[mask] += 1
        mz = np.full(n, mz, dtype=object) if isinstance(mz, str) else np.asarray(mz, dtype=object)
        me = np.full(n, me, dtype=object) if isinstance(me, str) else np.asarray(me, dtype=object)
        sep_z = np.where(self.zh[mask] == "", "", "；")
        sep_e = np.where(self.en[mask] == "", "", "; ")
        self.zh[mask] = self.zh[mask] + sep_z + mz[mask]
        self.en[mask] = self.en[mask] + sep_e + me[mask]


def _required(gdf: pd.DataFrame, fields, probs: _Problems) -> None:
    for f in fields:
        if f not in gdf.columns:
            probs.add(np.ones(probs.n, dtype=bool), f"缺少字段 {f}", f"field {f} missing")
            continue
        probs.add(_blank(gdf[f]), f"{f} 为空", f"{f} is blank")


def _ranges(gdf: pd.DataFrame, ranges: Mapping[str, tuple[float, float]], probs: _Problems) -> None:
    for f, (lo, hi) in ranges.items():
        if f not in gdf.columns:
            continue  # a missing required field is reported above
        raw = gdf[f]
        blank = _blank(raw)
        num = pd.to_numeric(raw.astype("object").where(~blank), errors="coerce").to_numpy(
            dtype=float
        )
        nonnum = ~blank & ~np.isfinite(num)
        shown = raw.astype("object").to_numpy()
        probs.add(
            nonnum,
            [f"{f} 不是数字：{v!s}" for v in shown],
            [f"{f} is not a number: {v!s}" for v in shown],
        )
        out = ~blank & np.isfinite(num) & ((num < lo) | (num > hi))
        rng = f"[{lo:g}, {hi:g}]"
        probs.add(
            out,
            [f"{f} = {v:g} 超出范围 {rng}" for v in num],
            [f"{f} = {v:g} out of range {rng}" for v in num],
        )


def _allowed(gdf: pd.DataFrame, allowed: Mapping[str, list[str]], probs: _Problems) -> None:
    for f, values in allowed.items():
        if f not in gdf.columns:
            continue
        raw = gdf[f]
        blank = _blank(raw)
        txt = _id_text(raw)
        bad = ~blank & ~np.isin(txt, [str(v) for v in values])
        lst = "/".join(map(str, values))
        probs.add(
            bad,
            [f"{f} = {v} 不在允许值 {lst} 中" for v in txt],
            [f"{f} = {v} not one of {lst}" for v in txt],
        )


def check_attributes(
    plots,
    context: CheckContext | None = None,
    *,
    required: list[str] | tuple[str, ...] = (),
    ranges: Mapping[str, tuple[float, float]] | None = None,
    allowed: Mapping[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Attributes complete: required fields present and non-blank, values in range.

    ``ranges`` maps numeric fields to inclusive ``(min, max)``; ``allowed``
    maps fields to their accepted values. Blank values of optional fields
    pass. ``value`` is the number of problems found.
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    n = len(p)
    o = _Out(n, unit="项 problems", limit="0")
    probs = _Problems(n)
    _required(p.gdf, required, probs)
    _ranges(p.gdf, dict(ranges or {}), probs)
    _allowed(p.gdf, dict(allowed or {}), probs)
    count, zh, en = probs.count, probs.zh, probs.en
    o.value[:] = count
    o.status[:] = np.where(count > 0, FAIL, PASS)
    zh[count == 0] = "属性完整"
    en[count == 0] = "attributes complete"
    o.zh[:] = zh
    o.en[:] = en
    return o.frame()
