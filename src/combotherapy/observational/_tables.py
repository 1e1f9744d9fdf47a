"""Per-arm mean and contrast tables from an estimate vector and its covariance (normal reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ..arms import contrast_label, contrast_pairs
from ..errors import DataError

ADJUST = ("none", "holm", "bonferroni")


def means_table(arms: list[str], est: np.ndarray, vcov: np.ndarray, alpha: float) -> pd.DataFrame:
    se = np.sqrt(np.diag(vcov))
    q = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame({"arm": arms, "estimate": est, "se": se, "df": np.inf, "statistic": est / se,
                         "p": 2 * stats.norm.sf(np.abs(est / se)), "ci_low": est - q * se, "ci_high": est + q * se})


def _pairs(arms, reference):
    return contrast_pairs(arms, reference)


def contrast_table(arms: list[str], est: np.ndarray, vcov: np.ndarray, *, alpha: float, adjust: str,
                   reference: str | None = None) -> pd.DataFrame:
    """Differences ``first - second`` for every pair (or each arm vs ``reference``), z tests."""
    if adjust not in ADJUST:
        raise DataError(f"adjust must be one of {list(ADJUST)}, not {adjust!r}")
    pairs = _pairs(arms, reference)
    L = np.zeros((len(pairs), len(arms)))
    for r, (a, b) in enumerate(pairs):  # rows of the contrast matrix, one per pair of arms
        L[r, arms.index(a)], L[r, arms.index(b)] = 1.0, -1.0
    return pair_contrasts(pairs, L, est, vcov, alpha=alpha, adjust=adjust)


def pair_contrasts(pairs: list[tuple[str, str]], L: np.ndarray, est: np.ndarray, vcov: np.ndarray, *, alpha: float,
                   adjust: str) -> pd.DataFrame:
    """The contrasts ``L @ est`` (one row of ``L`` per pair of arms) with Wald z tests, adjusted p-values and
    intervals: the one contrast table of the observational estimators."""
    d = L @ est
    se = np.sqrt(np.einsum("ij,jk,ik->i", L, vcov, L))
    z = d / se
    p = 2 * stats.norm.sf(np.abs(z))
    p_adj = p if adjust == "none" else multipletests(p, method=adjust)[1]
    q = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame({"contrast": [contrast_label(a, b) for a, b in pairs], "first": [a for a, _ in pairs],
                         "second": [b for _, b in pairs], "estimate": d, "se": se, "df": np.inf, "statistic": z,
                         "p": p, "p_adj": p_adj, "ci_low": d - q * se, "ci_high": d + q * se})


def check_weighted_call(weights, se: str, adjust: str):
    """The arguments every weighted outcome model checks: a WeightsResult (from ``iptw()``), the SE method and
    the adjustment; returns the weights' propensity-score result."""
    from .weights import WeightsResult

    if not isinstance(weights, WeightsResult):
        raise DataError(f"expected a WeightsResult from iptw(), not {type(weights).__name__}")
    if se not in ("stacked", "known", "bootstrap"):
        raise DataError(f"se must be 'stacked', 'known' or 'bootstrap', not {se!r}")
    if adjust not in ADJUST:
        raise DataError(f"adjust must be one of {list(ADJUST)}, not {adjust!r}")
    return weights.ps


def ratio_table(arms: list[str], est: np.ndarray, vcov: np.ndarray, *, alpha: float, adjust: str,
                reference: str | None = None) -> pd.DataFrame:
    """Ratios ``first / second`` of positive means (risk ratios for a 0/1 outcome), delta method on the log."""
    if np.any(est <= 0):
        raise DataError("ratios need positive means in every arm (a binary outcome with events in each arm)")
    J = np.diag(1.0 / est)
    t = contrast_table(arms, np.log(est), J @ vcov @ J, alpha=alpha, adjust=adjust, reference=reference)
    t = t.rename(columns={"estimate": "log_estimate"})
    t["estimate"] = np.exp(t["log_estimate"])
    t["ci_low"], t["ci_high"] = np.exp(t["ci_low"]), np.exp(t["ci_high"])
    cols = ["contrast", "first", "second", "estimate", "log_estimate", "se", "df", "statistic", "p", "p_adj",
            "ci_low", "ci_high"]
    out = t[cols].copy()
    out["contrast"] = [f"{a} / {b}" for a, b in zip(out["first"], out["second"])]
    return out
