"""Propensity-weighted Cox regression: hazard ratios between arms in the weighted population.

Weighted partial likelihood with Breslow's handling of ties,

    l(g) = sum_i w_i d_i [x_i' g - log S0(t_i)],   S0(t) = sum_{j: t_j >= t} w_j exp(x_j' g),

maximised by Newton's method. Standard errors:

- ``se="stacked"`` (default): the propensity model's score equations stacked with the Cox score, represented
  by its Lin-Wei residuals w_i r_i (M-estimation), so the estimated score's uncertainty is carried;
- ``se="known"``: the robust (Lin-Wei) sandwich with the weights treated as known, as
  ``survival::coxph(..., weights = w, robust = TRUE, ties = "breslow")``: V = D'D with
  D_i = w_i r_i' I^-1, r_i the score residual of subject i;
- ``se="bootstrap"``: subjects resampled, the propensity model, the weights and the Cox model re-fitted in every
  replicate (accounts for the estimated propensity score).

The result carries an :class:`~combotherapy.inference.Inference` (log link, no intercept): ``compare()`` gives
hazard ratios, as for :func:`combotherapy.survival`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, ModelError, Problem
from ..inference import Inference, ReferenceGrid
from ..instruments import instrument_for
from ..results import Fitted, Result
from ._bootstrap import bootstrap_cov
from ._tables import check_weighted_call, contrast_table
from .evalues import with_evalues
from .weights import WeightsResult

__all__ = ["WeightedCoxResult", "weighted_cox"]


class WeightedCoxResult(Result):
    """Hazard ratios between arms from a propensity-weighted Cox model.

    Attributes
    ----------
    contrasts : DataFrame
        Hazard ratios for every pair of arms (``estimate`` = HR, ``log_estimate``, ``se`` on the log scale).
    coefficients : DataFrame
        Log hazard ratios vs the first arm.
    """

    tables = ("contrasts", "evalues", "coefficients")

    def __init__(self, title, fitted, *, contrasts, coefficients, beta, vcov, weights, time, event):
        super().__init__(title, fitted, contrasts=contrasts, coefficients=coefficients)
        self.beta, self.vcov = beta, vcov
        self.weights = weights
        self.time, self.event = time, event
        self.design = weights.ps.design


def _risk_sums(order_desc, t, X, w, g):
    """Per subject (in original order): S0, S1 over the risk set {j: t_j >= t_i} (ties share the set)."""
    r = w * np.exp(X @ g)
    ts = t[order_desc]
    c0 = np.cumsum(r[order_desc])
    c1 = np.cumsum((r[:, None] * X)[order_desc], axis=0)
    # the risk set of a tied time includes every tie: take the cumulative sum at the last of its tied block
    last = np.searchsorted(-ts, -ts, side="right") - 1
    S0 = np.empty_like(c0)
    S1 = np.empty_like(c1)
    S0[order_desc], S1[order_desc] = c0[last], c1[last]
    return r, S0, S1


def _fit(t, d, X, w):
    n, p = X.shape
    order = np.argsort(-t, kind="stable")
    g = np.zeros(p)
    for _ in range(50):  # Newton iterations (each fully vectorised)
        r, S0, S1 = _risk_sums(order, t, X, w, g)
        xbar = S1 / S0[:, None]
        U = ((w * d)[:, None] * (X - xbar)).sum(axis=0)
        # information: sum_events w_i (S2/S0 - xbar xbar'), S2 via the same risk-set sums of r x x'
        rxx = r[:, None, None] * X[:, :, None] * X[:, None, :]
        ts = t[order]
        c2 = np.cumsum(rxx[order], axis=0)[np.searchsorted(-ts, -ts, side="right") - 1]
        S2 = np.empty_like(c2)
        S2[order] = c2
        info = np.einsum("i,ijk->jk", w * d, S2 / S0[:, None, None] - xbar[:, :, None] * xbar[:, None, :])
        step = np.linalg.solve(info, U)
        g = g + step
        if np.max(np.abs(step)) < 1e-10:
            return g, info, r, S0, xbar, order
    raise ModelError("the weighted Cox model did not converge (an arm without events?)")


def _robust(t, d, X, w, g, info, r, S0, xbar, order):
    """Lin-Wei robust covariance with weights known (coxph robust = TRUE, Breslow)."""
    # events in increasing time; A(t) = sum_{events k: t_k <= t} w_k / S0_k, B(t) = same with xbar_k
    ev = d == 1
    inc = np.argsort(t, kind="stable")
    a_k = np.where(ev, w / S0, 0.0)[inc]
    b_k = (np.where(ev, w / S0, 0.0)[:, None] * xbar)[inc]
    ts = t[inc]
    upto = np.searchsorted(ts, ts, side="right") - 1   # events with t_k <= t_i, ties included
    A = np.cumsum(a_k)[upto]
    B = np.cumsum(b_k, axis=0)[upto]
    Ai, Bi = np.empty_like(A), np.empty_like(B)
    Ai[inc], Bi[inc] = A, B
    eg = np.exp(X @ g)
    resid = d[:, None] * (X - xbar) - eg[:, None] * (X * Ai[:, None] - Bi)
    D = (w[:, None] * resid) @ np.linalg.inv(info)
    return D.T @ D, w[:, None] * resid


def _score(t, d, X, w, g):
    """Weighted Cox score U(g) = sum_i w_i d_i (x_i - S1/S0) at fixed g."""
    _, S0, S1 = _risk_sums(np.argsort(-t, kind="stable"), t, X, w, g)
    return ((w * d)[:, None] * (X - S1 / S0[:, None])).sum(axis=0)


def _stacked(weights, t, d, X, g, info, psi_g):
    """Covariance of g from the propensity score equations stacked with the Cox score (Lin-Wei residuals as its
    i.i.d. representation); the derivative of the Cox score with respect to the propensity coefficients is taken
    by central differences (the weights are smooth in them)."""
    from scipy.special import softmax

    from .weights import raw_weights
    ps = weights.ps
    Xp, e, a = ps.X, ps.probabilities, ps.received
    n, p = Xp.shape
    K = e.shape[1]
    b0 = ps.coefficients["estimate"].to_numpy()   # equation by equation, as statsmodels and R order them
    target = None if weights.target is None else ps.arms.index(weights.target)
    extra = weights.fitted.extra

    def score_at(b):
        eta = np.column_stack([np.zeros(n), Xp @ b.reshape(K - 1, p).T])
        w, *_ = raw_weights(softmax(eta, axis=1), a, weights.estimand, target, weights.stabilized,
                            extra.get("trim"), extra.get("truncate"))
        return _score(t, d, X, w, g)

    dU = np.empty((X.shape[1], b0.size))
    for j in range(b0.size):  # one column per propensity coefficient (a handful), not per subject
        h = 1e-6 * max(1.0, abs(b0[j]))
        up, down = b0.copy(), b0.copy()
        up[j] += h
        down[j] -= h
        dU[:, j] = (score_at(up) - score_at(down)) / (2 * h)
    onehot = ps.indicator()
    gsc = onehot[:, 1:] - e[:, 1:]
    psi_b = (Xp[:, :, None] * gsc[:, None, :]).transpose(0, 2, 1).reshape(n, -1)
    E = e[:, 1:]
    inner = np.einsum("ik,kl->ikl", E, np.eye(K - 1)) - np.einsum("ik,il->ikl", E, E)
    A_bb = np.einsum("ikl,ip,iq->kplq", inner, Xp, Xp).reshape((K - 1) * p, -1) / n
    qb, q = A_bb.shape[0], X.shape[1]
    A = np.zeros((qb + q, qb + q))
    A[:qb, :qb], A[qb:, :qb], A[qb:, qb:] = A_bb, -dU / n, info / n
    psi = np.hstack([psi_b, psi_g])
    Ainv = np.linalg.inv(A)
    return (Ainv @ (psi.T @ psi / n) @ Ainv.T / n)[qb:, qb:]


def weighted_cox(weights: WeightsResult, time: str, event: str, *, se: str = "stacked", alpha: float = 0.05,
                 adjust: str = "none", n_boot: int = 200, seed: int | np.random.Generator | None = None
                 ) -> WeightedCoxResult:
    """Propensity-weighted Cox model of time to an event on arm (a marginal structural Cox model).

    Parameters
    ----------
    weights : WeightsResult
        From :func:`iptw`; time and event are read from the propensity score's subject frame.
    time, event : str
        Follow-up time and the 0/1 event indicator (1 = event, 0 = censored).
    se : {"stacked", "known", "bootstrap"}
    alpha, adjust
        Interval level; p-value adjustment of the contrasts ("none", "holm", "bonferroni").
    n_boot, seed
        Bootstrap replicates and the seed (required for the bootstrap).

    Returns
    -------
    WeightedCoxResult

    References
    ----------
    Cole SR, Hernan MA. Adjusted survival curves with inverse probability weights. Comput Methods Programs Biomed
    2004;75:45-9. Lin DY, Wei LJ. The robust inference for the Cox proportional hazards model. JASA 1989;84:1074-8.

    Example
    -------
    >>> from combotherapy.observational import iptw, propensity_score, simulate_registry, weighted_cox
    >>> ps = propensity_score(simulate_registry(400, seed=2), "age + sex + pain0 + log(pain_duration)")
    >>> weighted_cox(iptw(ps), "work_weeks", "returned").contrasts["contrast"].tolist()[0]
    'combined / physio'
    """
    ps = check_weighted_call(weights, se, adjust)
    frame = ps.data
    problems = []
    for col in (time, event):
        if col not in frame.columns:
            raise DataError(f"column '{col}' not found; available: {list(frame.columns)}")
        rows = np.flatnonzero(frame[col].isna().to_numpy())
        if rows.size:
            problems.append(Problem(col, "missing values (no subject is dropped silently)", tuple(int(i) for i in rows)))
    if problems:
        raise DataError(problems=problems)
    t = frame[time].to_numpy(float)
    d = frame[event].to_numpy(float)
    if not np.isin(d, (0.0, 1.0)).all() or np.any(t < 0):
        raise DataError(f"'{event}' must be 0/1 and '{time}' non-negative")
    arms = ps.arms
    X = ps.indicator()[:, 1:]
    used = weights.weights > 0
    g, info, r, S0, xbar, order = _fit(t[used], d[used], X[used], weights.weights[used])
    if se == "bootstrap":
        V = _bootstrap(weights, t, d, X, n_boot, seed)
    else:
        V, psi_used = _robust(t[used], d[used], X[used], weights.weights[used], g, info, r, S0, xbar, order)
        if se == "stacked":
            psi_g = np.zeros((len(t), X.shape[1]))
            psi_g[used] = psi_used
            V = _stacked(weights, t, d, X, g, info, psi_g)
    # per-arm log relative hazards vs the first arm: (0, g) with covariance padded; contrasts are differences
    mu = np.r_[0.0, g]
    Vm = np.zeros((len(arms), len(arms)))
    Vm[1:, 1:] = V
    contrasts = contrast_table(arms, mu, Vm, alpha=alpha, adjust=adjust)
    contrasts.insert(4, "log_estimate", contrasts["estimate"])
    contrasts["estimate"] = np.exp(contrasts["log_estimate"])
    contrasts["ci_low"], contrasts["ci_high"] = np.exp(contrasts["ci_low"]), np.exp(contrasts["ci_high"])
    contrasts["contrast"] = [f"{a} / {b}" for a, b in zip(contrasts["first"], contrasts["second"])]
    sd = np.sqrt(np.diag(V))
    q = stats.norm.ppf(1 - alpha / 2)
    coef = pd.DataFrame({"term": [f"arm{a}" for a in arms[1:]], "estimate": g, "se": sd, "df": np.inf,
                         "statistic": g / sd, "p": 2 * stats.norm.sf(np.abs(g / sd)), "ci_low": g - q * sd,
                         "ci_high": g + q * sd})
    notes = [*weights.notes, "Cox model with Breslow ties, weighted partial likelihood; hazard ratios are "
             "marginal (population-averaged in the weighted population).",
             "Standard errors: " + {"known": "robust (Lin-Wei) sandwich with the weights treated as known, as "
                                             "coxph(robust = TRUE).",
                                    "stacked": "stacked estimating equations (propensity model estimated; Lin-Wei "
                                               "residuals for the Cox score).",
                                    "bootstrap": f"bootstrap, {n_boot} replicates, propensity model re-fitted."}[se]]
    fitted = Fitted(model=f"Propensity-weighted Cox regression ({weights.estimand} weights)",
                    formula=f"Surv({time}, {event}) ~ arm", df_method="z", adjust=adjust, alpha=alpha,
                    n_per_arm=weights.fitted.n_per_arm, excluded=weights.fitted.excluded, notes=notes,
                    extra={"design": ps.design, "estimand": weights.estimand, "se": se,
                           "adjustment": weights.adjustment})
    out = WeightedCoxResult(f"Weighted Cox model of {time}", fitted, contrasts=contrasts, coefficients=coef,
                            beta=g, vcov=V, weights=weights, time=time, event=event)
    grid = ReferenceGrid(pd.DataFrame({"arm": arms}), np.eye(len(arms))[:, 1:],
                         "log relative hazard of each arm vs the first (no intercept in a Cox model)")
    out.inference = Inference(tuple(f"arm{a}" for a in arms[1:]), g, V, np.inf, "z", grid, link="log")
    inst = instrument_for(event)
    out.instrument, out.better = inst, (inst.better if inst is not None else None)
    return with_evalues(out)


def _bootstrap(weights, t, d, X, n_boot, seed):
    def statistic(idx, c, w):
        keep = w > 0
        return _fit(t[idx][keep], d[idx][keep], X[idx][keep], w[keep])[0]

    return bootstrap_cov(weights, statistic, n_boot, seed, instead="known", min_boot=1)

