"""Validation of the risk score against the observed status (ROC AUC, cross-validated logit)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gis_town.analysis.risk.factors import FACTORS
from gis_town.analysis.risk.score import risk_score, weights_from
from gis_town.config import RISK_FACTORS, RiskSection
from gis_town.errors import ConfigError

__all__ = ["RiskValidation", "status_derived_factors", "validate_risk"]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- validation


@dataclass
class RiskValidation:
    """How well the score separates abandoned from cultivated parcels.

    Attributes
    ----------
    parcels, abandoned : int
        Parcels with an observed status of abandoned or cultivated, and of those abandoned.
    auc_config : float
        ROC AUC of the config's score (all its factors, including those derived
        from the status: inflated, shown for reference).
    auc_fair : float
        ROC AUC of the score recomputed without the status-derived factors.
    auc_logit_cv, auc_logit_cv_std : float
        Mean and spread of the cross-validated ROC AUC of a logistic regression
        on the same factors (what the data support, against the planners' weights).
    folds : int
        Cross-validation folds.
    factors_used, left_out : list of str
    coefficients : DataFrame
        Per factor: the regression's coefficient on the standardised factor
        (per standard deviation; positive = more risk) beside the config's weight.
    note : str
        Why something could not be computed, when it could not.
    """

    parcels: int = 0
    abandoned: int = 0
    auc_config: float = np.nan
    auc_fair: float = np.nan
    auc_logit_cv: float = np.nan
    auc_logit_cv_std: float = np.nan
    folds: int = 0
    factors_used: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame)
    note: str = ""

    def table(self) -> pd.DataFrame:
        """The figures as a two-column table (指标 metric, 值 value) for reports."""
        rows = [
            ("观测地块数 parcels with observed status", self.parcels),
            ("其中撂荒 of which abandoned", self.abandoned),
            (
                "配置评分 AUC (含状态派生因素, 偏高) config score AUC (incl. status-derived factors)",
                self.auc_config,
            ),
            ("评分 AUC (不含状态派生因素) score AUC without status-derived factors", self.auc_fair),
            (f"逻辑回归 {self.folds} 折交叉验证 AUC logistic regression CV AUC", self.auc_logit_cv),
            ("交叉验证 AUC 标准差 CV AUC std", self.auc_logit_cv_std),
            ("验证所用因素 factors used", ", ".join(self.factors_used)),
            ("剔除的状态派生因素 left out (derived from status)", ", ".join(self.left_out)),
            ("说明 note", self.note),
        ]
        return pd.DataFrame(rows, columns=["metric", "value"]).astype({"value": "object"})


def status_derived_factors(scored: pd.DataFrame, *, status_year: int | None = None) -> list[str]:
    """Factors derived from the observed status, which validation must leave out.

    ``years_idle`` always (it is the status counted in years); ``ndvi_mean``
    and ``ndvi_change`` when the current NDVI is of the status year or later
    (an abandoned field is bare in that year's image: the NDVI then measures
    the status, not a cause).
    """
    out = ["years_idle"]
    years = scored.attrs.get("ndvi_years")
    year = status_year if status_year is not None else scored.attrs.get("year")
    if years is None or year is None or years[1] >= year:
        out += ["ndvi_mean", "ndvi_change"]
    return out


def validate_risk(
    scored: pd.DataFrame,
    risk: RiskSection | Mapping[str, float] | None = None,
    *,
    status_year: int | None = None,
    folds: int = 5,
    seed: int = 0,
    clip_quantile: float = 0.02,
) -> RiskValidation:
    """ROC AUC of the score against the observed status, and a cross-validated logistic regression.

    Only parcels whose ``status`` is ``abandoned`` (1) or ``cultivated`` (0)
    count; ``fallow`` (轮作休耕, deliberate) and unknown are left out. Both
    the score and the regression leave out the factors derived from the
    status (:func:`status_derived_factors`); the config's own score AUC is
    reported beside them for reference.

    The regression: factors standardised (missing values imputed with the
    median), ``LogisticRegression(class_weight="balanced")``, stratified
    ``folds``-fold cross-validation (shuffled with ``seed``), ROC AUC per fold.
    Its coefficients (fitted on all parcels, per standard deviation) show
    which factors the data support, beside the config's weights.
    """
    from sklearn.metrics import roc_auc_score

    res = RiskValidation(folds=folds)
    if "status" not in scored.columns:
        res.note = "地块没有耕种状态 / parcels carry no status: nothing to validate against"
        return res
    status = scored["status"].astype("string")
    mask = status.isin(["abandoned", "cultivated"]).to_numpy(dtype=bool, na_value=False)
    y = (status[mask] == "abandoned").to_numpy(dtype=int)
    res.parcels, res.abandoned = int(mask.sum()), int(y.sum())
    if res.abandoned == 0 or res.abandoned == res.parcels:
        res.note = "需要撂荒和在耕两类地块 / need both abandoned and cultivated parcels"
        return res
    section = risk if isinstance(risk, RiskSection) else RiskSection()
    weights = weights_from(risk if risk is not None else section)
    if "score" in scored.columns:
        s = scored["score"].to_numpy(dtype="float64")[mask]
        ok = np.isfinite(s)
        res.auc_config = float(roc_auc_score(y[ok], s[ok]))
    left_out = [
        f for f in status_derived_factors(scored, status_year=status_year) if f in scored.columns
    ]
    res.left_out = left_out
    _fair_auc(res, scored, weights, mask, y, clip_quantile=clip_quantile)
    available = [f for f in RISK_FACTORS if f in scored.columns and f not in left_out]
    _logit_cv(res, scored, available, weights, mask, y, folds=folds, seed=seed)
    return res


def _fair_auc(
    res: RiskValidation,
    scored: pd.DataFrame,
    weights: Mapping[str, float],
    mask: np.ndarray,
    y: np.ndarray,
    *,
    clip_quantile: float,
) -> None:
    """``res.auc_fair``: ROC AUC of the score recomputed without the status-derived factors."""
    from sklearn.metrics import roc_auc_score

    fair_w = {f: w for f, w in weights.items() if f not in res.left_out and f in scored.columns}
    if not fair_w or not sum(fair_w.values()) > 0:
        return
    try:
        fair = risk_score(scored[[*fair_w]], fair_w, medium=0, high=0, clip_quantile=clip_quantile)
        s = fair["score"].to_numpy(dtype="float64")[mask]
        ok = np.isfinite(s)
        res.auc_fair = float(roc_auc_score(y[ok], s[ok]))
    except ConfigError as exc:
        res.note = str(exc)


def _logit_cv(
    res: RiskValidation,
    scored: pd.DataFrame,
    available: list[str],
    weights: Mapping[str, float],
    mask: np.ndarray,
    y: np.ndarray,
    *,
    folds: int,
    seed: int,
) -> None:
    """Cross-validated ROC AUC and coefficients of a logistic regression on the informative factors."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = (
        scored.loc[mask, available]
        .apply(pd.to_numeric, errors="coerce")
        .to_numpy(dtype="float64", na_value=np.nan)
    )
    informative = [
        j for j in range(X.shape[1]) if np.isfinite(X[:, j]).any() and np.nanstd(X[:, j]) > 0
    ]
    X = X[:, informative]
    res.factors_used = [available[j] for j in informative]
    k = min(folds, int(y.sum()), int(len(y) - y.sum()))
    if not res.factors_used or k < 2:
        res.note = (res.note + " " if res.note else "") + (
            "样本太少，无法交叉验证 / too few parcels of one class for cross-validation"
        )
        return
    res.folds = k
    model = make_pipeline(
        SimpleImputer(strategy="median"),
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=1000),
    )
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    aucs = cross_val_score(model, X, y, cv=cv, scoring="roc_auc")
    res.auc_logit_cv, res.auc_logit_cv_std = float(np.mean(aucs)), float(np.std(aucs))
    model.fit(X, y)
    coef = model[-1].coef_[0]
    res.coefficients = pd.DataFrame(
        {
            "factor": res.factors_used,
            "label": [FACTORS[f].label for f in res.factors_used],
            "coefficient_per_sd": coef,
            "config_weight": [weights.get(f, 0.0) for f in res.factors_used],
            "direction_expected": [FACTORS[f].direction for f in res.factors_used],
        }
    )
