"""Covariate balance before and after weighting or matching: SMDs for every pair of arms, variance ratios, Table 1.

Definitions (the same before and after, so only the weights change):

- covariates are the variables of the propensity formula; a numeric column is used as is, a text/categorical
  column becomes one 0/1 indicator per level (``"sex: F"``), so every level is checked;
- weighted mean m = sum w x / sum w; weighted variance s^2 = sum w (x - m)^2 / (sum w - sum w^2 / sum w)
  (reliability weights; equal weights give R's ``var``); for a 0/1 covariate s^2 = m (1 - m), as MatchIt and
  cobalt, and no variance ratio is reported (NaN);
- standardised mean difference of arms a, b: (m_a - m_b) / sqrt((s_a^2 + s_b^2) / 2) with the UNWEIGHTED
  variances in the denominator (as cobalt does), so weighting moves the numerator only (``denominator=`` an arm
  uses that arm's SD, as MatchIt's summary for the ATT); binary covariates are standardised too;
- variance ratio s_a^2 / s_b^2 (weighted after);
- a covariate fails when its largest |SMD| over all pairs after adjustment exceeds ``threshold`` (0.1, Austin 2009).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..arms import contrast_label, contrast_pairs
from ..errors import DataError
from ..results import Fitted, Result
from ._data import covariate_names
from .propensity import PropensityResult
from .weights import WeightsResult

__all__ = ["BalanceResult", "balance", "covariate_matrix", "weighted_moments"]

THRESHOLD = 0.1


class BalanceResult(Result):
    """Balance table, weighted Table 1 and the covariates failing the threshold.

    Attributes
    ----------
    balance : DataFrame
        ``covariate, first, second, contrast, smd_before, smd_after, vr_before, vr_after``.
    table_one : DataFrame
        ``covariate, arm, mean_before, sd_before, mean_after, sd_after``.
    failing : list of str
        Covariates whose largest |SMD| after adjustment exceeds ``threshold``.
    threshold : float
    method : str
        What produced the weights (e.g. "IPTW (ATE)", "matching").
    """

    tables = ("balance", "table_one")

    def __init__(self, title, fitted, *, balance, table_one, failing, threshold, method):
        super().__init__(title, fitted, balance=balance, table_one=table_one)
        self.failing = failing
        self.threshold = threshold
        self.method = method

    def headline(self) -> list[str]:
        if not self.failing:
            return [f"Balanced: every |SMD| after {self.method} is at most {self.threshold:g}."]
        return [f"Not balanced after {self.method}: {len(self.failing)} covariate(s) with |SMD| > "
                f"{self.threshold:g}: {', '.join(self.failing)}."]


def covariate_matrix(frame: pd.DataFrame, covariates: str) -> pd.DataFrame:
    """The covariates of a formula as numeric columns (categorical ones as one indicator per level)."""
    _, names = covariate_names(covariates)
    cols = {}
    for name in names:
        x = frame[name]
        if pd.api.types.is_bool_dtype(x):
            cols[name] = x.astype(float)
        elif pd.api.types.is_numeric_dtype(x):
            cols[name] = x.astype(float)
        else:
            levels = x.cat.categories if isinstance(x.dtype, pd.CategoricalDtype) else sorted(x.astype(str).unique())
            for lev in levels:
                cols[f"{name}: {lev}"] = (x.astype(str) == str(lev)).astype(float)
    return pd.DataFrame(cols)


def weighted_moments(X: np.ndarray, w: np.ndarray, onehot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-arm weighted means and (reliability-weighted) variances: K x p arrays."""
    W = onehot * w[:, None]                      # n x K
    sw = W.sum(axis=0)                           # K
    sw2 = np.square(W).sum(axis=0)
    mean = (W.T @ X) / sw[:, None]
    ss = W.T @ np.square(X) - sw[:, None] * np.square(mean)  # sum w (x - m)^2
    var = ss / (sw - sw2 / sw)[:, None]
    return mean, np.maximum(var, 0.0)


def balance(weights: WeightsResult | PropensityResult, *, threshold: float = THRESHOLD,
            covariates: str | None = None, w: np.ndarray | None = None, method: str | None = None,
            denominator: str = "pooled", pairs: list[tuple[str, str]] | None = None) -> BalanceResult:
    """Balance of the confounders across arms before and after weighting.

    Parameters
    ----------
    weights : WeightsResult or PropensityResult
        Weights from :func:`iptw` (or a propensity score alone, with ``w=`` weights such as matching weights,
        or none: then "after" equals "before").
    threshold : float, default 0.1
        Largest acceptable |SMD|.
    covariates : str, optional
        Formula terms whose variables to check (default: those of the propensity model); add variables that
        were not in the model to check them too.
    w : ndarray, optional
        Explicit weights (one per subject of the propensity frame), overriding ``weights``.
    method : str, optional
        Label of the adjustment in the headline.
    denominator : str, default "pooled"
        SD in the SMD's denominator: "pooled" (both arms of the pair, unweighted) or an arm name (that arm's
        unweighted SD, e.g. the treated arm for an ATT, as ``MatchIt``'s summary does).
    pairs : list of (first, second), optional
        Pairs of arms to compare (default: every pair, in the package's contrast order).

    Returns
    -------
    BalanceResult

    References
    ----------
    Austin PC. Balance diagnostics for comparing the distribution of baseline covariates between treatment
    groups in propensity-score matched samples. Stat Med 2009;28:3083-107.

    Example
    -------
    >>> from combotherapy.observational import simulate_registry, propensity_score, iptw, balance
    >>> ps = propensity_score(simulate_registry(400, seed=2), "age + sex + pain0")
    >>> b = balance(iptw(ps))
    >>> sorted(b.balance["contrast"].unique())[:1]
    ['combined - acupuncture']
    """
    if isinstance(weights, WeightsResult):
        ps = weights.ps
        wt = weights.weights if w is None else np.asarray(w, float)
        method = method or f"IPTW ({weights.estimand})"
    elif isinstance(weights, PropensityResult):
        ps = weights
        wt = np.ones(len(ps.data)) if w is None else np.asarray(w, float)
        method = method or ("weighting" if w is not None else "no adjustment")
    else:
        raise DataError(f"expected a WeightsResult (iptw) or PropensityResult, not {type(weights).__name__}")
    if wt.shape != (len(ps.data),) or not np.all(np.isfinite(wt)) or np.any(wt < 0):
        raise DataError(f"weights must be {len(ps.data)} finite non-negative numbers, one per subject")
    if not threshold > 0:
        raise DataError("threshold must be positive (conventionally 0.1)")
    cov_frame = covariate_matrix(ps.data, covariates or ps.covariates)
    X = cov_frame.to_numpy()
    names = list(cov_frame.columns)
    onehot = ps.indicator()
    m0, v0 = weighted_moments(X, np.ones(len(X)), onehot)
    used = wt > 0
    m1, v1 = weighted_moments(X[used], wt[used], onehot[used])
    # a 0/1 covariate's spread is that of a proportion, p(1 - p) (as MatchIt and cobalt); its variance ratio
    # says nothing the means do not, so it is not reported
    binary = np.all((X == 0) | (X == 1), axis=0)
    v0 = np.where(binary, m0 * (1 - m0), v0)
    v1 = np.where(binary, m1 * (1 - m1), v1)
    arms = ps.arms
    if denominator != "pooled" and denominator not in arms:
        raise DataError(f"denominator must be 'pooled' or one of the arms {arms}, not {denominator!r}")
    rows = []
    for first, second in pairs or contrast_pairs(arms):  # pairs of arms, not subjects
        i, j = arms.index(first), arms.index(second)
        sd = np.sqrt((v0[i] + v0[j]) / 2) if denominator == "pooled" else np.sqrt(v0[arms.index(denominator)])
        with np.errstate(divide="ignore", invalid="ignore"):
            rows.append(pd.DataFrame({
                "covariate": names, "first": first, "second": second, "contrast": contrast_label(first, second),
                "smd_before": np.where(sd > 0, (m0[i] - m0[j]) / sd, 0.0),
                "smd_after": np.where(sd > 0, (m1[i] - m1[j]) / sd, 0.0),
                "vr_before": np.where(binary, np.nan, v0[i] / v0[j]),
                "vr_after": np.where(binary, np.nan, v1[i] / v1[j])}))
    table = pd.concat(rows, ignore_index=True)
    worst = table.assign(a=table["smd_after"].abs()).groupby("covariate", sort=False)["a"].max()
    failing = [c for c in names if worst[c] > threshold]
    K = len(arms)
    t1 = pd.DataFrame({"covariate": np.tile(names, K), "arm": np.repeat(arms, len(names)),
                       "mean_before": m0.ravel(), "sd_before": np.sqrt(v0).ravel(),
                       "mean_after": m1.ravel(), "sd_after": np.sqrt(v1).ravel()})
    den = "unweighted pooled SDs of the two arms" if denominator == "pooled" else \
        f"unweighted SD of the {denominator} arm"
    notes = [f"SMD denominators are the {den}; indicator (0/1) covariates are "
             "standardised too (SD sqrt(p(1-p))); variance ratios use reliability-weighted variances and are not "
             "shown for 0/1 covariates."]
    fitted = Fitted(model=f"Covariate balance ({method})", formula=ps.fitted.formula,
                    n_per_arm={a: int(n) for a, n in zip(arms, onehot[used].sum(axis=0))}, notes=notes,
                    extra={"design": ps.design, "threshold": threshold,
                           "adjustment": f"balance check of {method}"})
    return BalanceResult("Covariate balance", fitted, balance=table, table_one=t1, failing=failing,
                         threshold=threshold, method=method)
