"""Weighted (Hajek) means per arm and their contrasts, with standard errors that know the weights were estimated.

The weighted mean of arm a is mu_a = sum_{A_i = a} w_i Y_i / sum_{A_i = a} w_i, i.e. the coefficients of the
weighted regression ``Y ~ 0 + arm``. Two standard errors:

- ``se="known"``: the weights treated as fixed (the robust sandwich of ``survey::svyglm`` on a design with
  ``ids = ~1``, including its n/(n-1) factor);
- ``se="stacked"`` (default): M-estimation stacking the propensity model's score equations with the weighted-mean
  equations, so the uncertainty of the estimated score is propagated (Lunceford & Davidian 2004). For the ATE this
  is usually smaller than the known-weights SE.
- ``se="bootstrap"``: subjects resampled, the propensity model re-fitted and the weights rebuilt every time
  (seeded Generator); percentile-free: the SE is the SD of the replicates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from ..results import Fitted, Result
from ._bootstrap import bootstrap_cov
from ._inference import arm_means_inference, attach
from ._tables import contrast_table, means_table, ratio_table
from .evalues import with_evalues
from .weights import WeightsResult

__all__ = ["WeightedMeansResult", "weighted_means", "stacked_vcov"]

SE_METHODS = ("stacked", "known", "bootstrap")


class WeightedMeansResult(Result):
    """Weighted arm means (``means``), contrasts and, for a 0/1 outcome, risk ratios (``ratios``)."""

    tables = ("by_arm", "contrasts", "ratios", "evalues")

    def __init__(self, title, fitted, *, by_arm, contrasts, ratios, vcov, weights, outcome, se_method):
        tabs = {"by_arm": by_arm, "contrasts": contrasts}
        if ratios is not None:
            tabs["ratios"] = ratios
        super().__init__(title, fitted, **tabs)
        self.vcov = vcov
        self.weights = weights
        self.outcome = outcome
        self.se_method = se_method
        self.design = weights.ps.design


def outcome_vector(frame: pd.DataFrame, outcome: str) -> np.ndarray:
    from ..errors import Problem
    if outcome not in frame.columns:
        raise DataError(f"outcome column '{outcome}' not found; available: {list(frame.columns)}")
    y = frame[outcome]
    if not pd.api.types.is_numeric_dtype(y):
        raise DataError(f"column '{outcome}': the outcome must be numeric (0/1 for a binary outcome)")
    rows = np.flatnonzero(y.isna().to_numpy())
    if rows.size:
        raise DataError(problems=[Problem(outcome, "missing outcome; weighting needs the outcome of every "
                                  "weighted subject (impute, or fit the propensity score on the complete cases)",
                                  tuple(int(r) for r in rows))])
    return y.to_numpy(dtype=float)


def _hajek(w, onehot, y):
    W = onehot * w[:, None]
    return (W.T @ y) / W.sum(axis=0)


def stacked_vcov(weights: WeightsResult, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Covariance of the weighted means from the stacked estimating equations (and the known-weights one)."""
    ps = weights.ps
    X, e, onehot, w = ps.X, ps.probabilities, ps.indicator(), weights.weights
    n, p = X.shape
    K = e.shape[1]
    mu = _hajek(w, onehot, y)
    resid = onehot * w[:, None] * (y[:, None] - mu[None, :])         # psi_mu: n x K
    # propensity score equations of the non-reference arms: x_i (1{A=k} - e_ik)
    g = onehot[:, 1:] - e[:, 1:]
    psi_b = (X[:, :, None] * g[:, None, :]).transpose(0, 2, 1).reshape(n, -1)  # equation-major, as statsmodels
    # A_bb = (1/n) sum x x' e_k (delta_kl - e_l)
    E = e[:, 1:]
    inner = np.einsum("ik,kl->ikl", E, np.eye(K - 1)) - np.einsum("ik,il->ikl", E, E)
    A_bb = np.einsum("ikl,ip,iq->kplq", inner, X, X).reshape((K - 1) * p, (K - 1) * p) / n
    # d log w_i / d beta_l = x_i (C_il - e_il sum_k C_ik)
    C = weights.log_weight_gradient()
    dlw = C[:, 1:] - e[:, 1:] * C.sum(axis=1, keepdims=True)          # n x (K-1)
    dlogw = (X[:, :, None] * dlw[:, None, :]).transpose(0, 2, 1).reshape(n, -1)
    A_mb = -(resid.T @ dlogw) / n                                      # K x (K-1)p
    A_mm = np.diag((onehot * w[:, None]).sum(axis=0) / n)
    q = A_bb.shape[0]
    A = np.zeros((q + K, q + K))
    A[:q, :q], A[q:, :q], A[q:, q:] = A_bb, A_mb, A_mm
    psi = np.hstack([psi_b, resid])
    B = psi.T @ psi / n
    Ainv = np.linalg.inv(A)
    V = Ainv @ B @ Ainv.T / n
    known = np.linalg.inv(A_mm) @ (resid.T @ resid / n) @ np.linalg.inv(A_mm) / n * n / (n - 1)
    return V[q:, q:], known


def weighted_means(weights: WeightsResult, outcome: str, *, se: str = "stacked", alpha: float = 0.05,
                   adjust: str = "none", reference: str | None = None, n_boot: int = 500,
                   seed: int | np.random.Generator | None = None) -> WeightedMeansResult:
    """Propensity-weighted mean outcome per arm and every contrast.

    Parameters
    ----------
    weights : WeightsResult
        From :func:`iptw`. The outcome is read from the propensity score's subject frame.
    outcome : str
        Numeric outcome column (0/1 for binary: then risk ratios are added).
    se : {"stacked", "known", "bootstrap"}
    alpha : float
    adjust : {"none", "holm", "bonferroni"}
        Multiplicity adjustment of the contrasts' p-values (``p_adj``).
    reference : str, optional
        Compare each arm with this one instead of all pairs.
    n_boot : int
        Bootstrap replicates (``se="bootstrap"``).
    seed : int or Generator
        Required for the bootstrap.

    Returns
    -------
    WeightedMeansResult

    Notes
    -----
    With ATE weights the means estimate E[Y(a)]; with ATT weights E[Y(a) | A = target]; with overlap weights
    the means in the overlap population. Stabilising the weights does not change these estimates.

    References
    ----------
    Lunceford JK, Davidian M. Stratification and weighting via the propensity score in estimation of causal
    treatment effects: a comparative study. Stat Med 2004;23:2937-60.

    Example
    -------
    >>> from combotherapy.observational import simulate_registry, propensity_score, iptw, weighted_means
    >>> ps = propensity_score(simulate_registry(500, seed=4), "age + sex + pain0 + log(pain_duration)")
    >>> r = weighted_means(iptw(ps), "pain")
    >>> r.contrasts["contrast"].tolist()
    ['combined - physio', 'combined - acupuncture', 'physio - acupuncture']
    """
    if not isinstance(weights, WeightsResult):
        raise DataError(f"expected a WeightsResult from iptw(), not {type(weights).__name__}")
    if se not in SE_METHODS:
        raise DataError(f"se must be one of {list(SE_METHODS)}, not {se!r}")
    ps = weights.ps
    y = outcome_vector(ps.data, outcome)
    onehot = ps.indicator()
    mu = _hajek(weights.weights, onehot, y)
    if se == "bootstrap":
        vcov = _bootstrap(weights, outcome, n_boot, seed)
    else:
        stacked, known = stacked_vcov(weights, y)
        vcov = stacked if se == "stacked" else known
    arms = ps.arms
    means = means_table(arms, mu, vcov, alpha)
    contrasts = contrast_table(arms, mu, vcov, alpha=alpha, adjust=adjust, reference=reference)
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    ratios = ratio_table(arms, mu, vcov, alpha=alpha, adjust=adjust, reference=reference) if binary else None
    se_text = {"stacked": "stacked estimating equations (propensity model estimated)",
               "known": "robust sandwich with the weights treated as known (as survey::svyglm)",
               "bootstrap": f"nonparametric bootstrap, {n_boot} replicates, propensity model re-fitted"}[se]
    notes = [*weights.notes, f"Standard errors: {se_text}; normal reference (z)."]
    if ps.design == "observational":
        notes.append("Observational data: the contrasts are causal only if the propensity model includes every "
                     "confounder; see the E-values.")
    fitted = Fitted(model=f"Propensity-weighted means ({weights.estimand})", formula=f"{outcome} ~ 0 + arm, "
                    f"weights from {ps.fitted.formula}", outcome=outcome, df_method="z", adjust=adjust,
                    alpha=alpha, n_per_arm=weights.fitted.n_per_arm, excluded=weights.fitted.excluded,
                    notes=notes, extra={"design": ps.design, "estimand": weights.estimand, "se": se,
                                                    "adjustment": weights.adjustment})
    out = WeightedMeansResult(f"Weighted comparison of {outcome} ({weights.estimand})", fitted, by_arm=means,
                              contrasts=contrasts, ratios=ratios, vcov=vcov, weights=weights, outcome=outcome,
                              se_method=se)
    attach(out, arm_means_inference(arms, mu, vcov), outcome)
    return with_evalues(out)


def _bootstrap(weights: WeightsResult, outcome: str, n_boot: int, seed) -> np.ndarray:
    """Covariance of the weighted means over bootstrap resamples of subjects (score re-fitted each time)."""
    y = weights.ps.data[outcome].to_numpy(float)
    K = len(weights.ps.arms)
    return bootstrap_cov(weights, lambda idx, c, w: _hajek(w, (c[:, None] == np.arange(K)[None, :]).astype(float),
                                                           y[idx]), n_boot, seed)

