"""Standardised (g-computation) risks from a logistic model: covariate-adjusted risk differences and risk ratios.

The logistic model ``logit P(y = 1) = x' beta`` is fitted once; every analysed subject is then predicted as if
randomised to each arm in turn, and the predictions are averaged: the marginal risk of arm ``a`` in the analysed
population,

.. math:: \\hat P_a = \\frac1n \\sum_i \\operatorname{expit}(x_i(a)^T \\hat\\beta).

Differences and ratios of these risks are the adjusted effects a reader expects from a trial (the odds ratio of a
logistic model is conditional on the covariates and not collapsible). Their standard errors come from the delta
method with the model's covariance of :math:`\\hat\\beta`, the covariates held at their observed values
(:math:`\\partial \\hat P_a / \\partial\\beta = \\frac1n\\sum_i p_i(a)(1 - p_i(a))\\, x_i(a)`), as
``marginaleffects::avg_comparisons`` computes them; or from a seeded bootstrap of subjects within arms
(percentile intervals), which also carries the sampling variation of the covariates.

References
----------
Ge M, Durham LK, Meyer RD, Xie W, Thomas N. Covariate-adjusted difference in proportions from clinical trials
using logistic regression and weighted risk differences. Drug Inf J 2011;45:481-93.
FDA. Adjusting for covariates in randomized clinical trials for drugs and biological products (2023).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

__all__ = ["counterfactual_designs", "standardised_risks", "standardised_contrasts", "bootstrap_risks"]


def counterfactual_designs(X: np.ndarray, n_arms: int, arm_columns: slice) -> np.ndarray:
    """``(n_arms, n, p)``: the design with every subject set to each arm (treatment-coded dummies in
    ``arm_columns``, the first arm the reference); the model must have no arm-by-covariate terms."""
    Xa = np.broadcast_to(X, (n_arms,) + X.shape).copy()
    Xa[:, :, arm_columns] = np.eye(n_arms)[:, None, 1:]
    return Xa


def standardised_risks(Xa: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Marginal risks per arm and their Jacobian with respect to ``beta``: ``(P (k,), J (k, p))``."""
    p = special.expit(Xa @ beta)                                   # (k, n)
    P = p.mean(axis=1)
    J = np.einsum("kn,knp->kp", p * (1 - p), Xa) / Xa.shape[1]
    return P, J


def standardised_contrasts(P: np.ndarray, J: np.ndarray, vcov: np.ndarray, first: np.ndarray,
                           second: np.ndarray, alpha: float) -> dict[str, pd.DataFrame]:
    """Risk differences ``P[first] - P[second]`` and risk ratios (on the log scale) with delta-method SEs,
    Wald z tests and intervals; ``first``/``second`` index the arms."""
    z = stats.norm.isf(alpha / 2)
    out = {}
    grad_rd = J[first] - J[second]
    grad_lrr = J[first] / P[first, None] - J[second] / P[second, None]
    for name, est, grad in (("difference", P[first] - P[second], grad_rd),
                            ("log_ratio", np.log(P[first]) - np.log(P[second]), grad_lrr)):
        se = np.sqrt(np.einsum("ip,pq,iq->i", grad, vcov, grad))
        stat = est / se
        out[name] = pd.DataFrame({"estimate": est, "se": se, "statistic": stat,
                                  "p": 2 * stats.norm.sf(np.abs(stat)), "ci_low": est - z * se,
                                  "ci_high": est + z * se})
    return out


def _batched_logistic(X: np.ndarray, y: np.ndarray, beta0: np.ndarray, max_iter: int = 50, tol: float = 1e-10
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Newton-Raphson (= IRLS) for many logistic fits at once: ``X (B, n, p)``, ``y (B, n)``; returns the
    estimates ``(B, p)`` and whether each fit converged to an interior MLE (no separation)."""
    B, _, p = X.shape
    beta = np.broadcast_to(beta0, (B, p)).copy()
    done = np.zeros(B, bool)
    for _ in range(max_iter):
        mu = special.expit(np.einsum("bnp,bp->bn", X, beta))
        w = mu * (1 - mu)
        info = np.einsum("bnp,bn,bnq->bpq", X, w, X)
        score = np.einsum("bnp,bn->bp", X, y - mu)
        with np.errstate(all="ignore"):
            try:
                step = np.linalg.solve(info, score[..., None])[..., 0]
            except np.linalg.LinAlgError:  # a singular sample (e.g. a factor level not drawn): solve one by one
                step = np.stack([np.linalg.lstsq(i, s_, rcond=None)[0] for i, s_ in zip(info, score)])
        step = np.where(done[:, None] | ~np.isfinite(step), 0.0, step)
        beta += step
        done |= np.max(np.abs(step), axis=1) <= tol * (1 + np.max(np.abs(beta), axis=1))
        if done.all():
            break
    mu = special.expit(np.einsum("bnp,bp->bn", X, beta))
    ok = done & np.all((mu > 1e-8) & (mu < 1 - 1e-8), axis=1) & np.all(np.isfinite(beta), axis=1)
    return beta, ok


def bootstrap_risks(X: np.ndarray, y: np.ndarray, arm_index: np.ndarray, n_arms: int, arm_columns: slice,
                    beta: np.ndarray, n_boot: int, rng: np.random.Generator, chunk: int = 200
                    ) -> tuple[np.ndarray, int]:
    """Standardised risks in ``n_boot`` bootstrap samples drawn within arms (``(n_ok, k)``) and the number of
    samples where the logistic MLE did not exist (separation, non-convergence), which are left out.

    The samples are fitted together (a batched Newton iteration, the same estimates as one GLM fit per sample),
    ``chunk`` at a time to bound memory.
    """
    order = np.argsort(arm_index, kind="stable")
    sizes = np.bincount(arm_index, minlength=n_arms)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # positions within each arm for all samples at once: (n_boot, n)
    u = rng.random((n_boot, len(y)))
    idx = order[np.floor(u * np.repeat(sizes, sizes)).astype(int) + np.repeat(starts, sizes)]
    risks, failed = [], 0
    for lo in range(0, n_boot, chunk):  # chunks of samples, vectorised within
        rows = idx[lo:lo + chunk]
        Xb, yb = X[rows], y[rows]
        b, ok = _batched_logistic(Xb, yb, beta)
        failed += int((~ok).sum())
        Xa = np.broadcast_to(Xb[ok][:, None], (ok.sum(), n_arms) + Xb.shape[1:]).copy()
        Xa[..., arm_columns] = np.eye(n_arms)[None, :, None, 1:]
        risks.append(special.expit(np.einsum("bknp,bp->bkn", Xa, b[ok])).mean(axis=2))
    return np.concatenate(risks).reshape(-1, n_arms), failed
