"""Weighted least squares pieces shared by pairwise meta-analysis and meta-regression (no plotting, no I/O)."""

from __future__ import annotations

import numpy as np
from scipy import optimize

from ..errors import ModelError

#: tau^2 estimators: the closed-form ones and those found by iteration (tolerance of the tests differs)
TAU2_METHODS = ("FE", "DL", "SJ", "PM", "EB", "ML", "REML", "HE")


def fit(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients, their covariance and the projection P = W - W X (X'WX)^-1 X'W at ``tau2``."""
    w = 1.0 / (v + tau2)
    xtwx = X.T @ (X * w[:, None])
    try:
        vb = np.linalg.inv(xtwx)
    except np.linalg.LinAlgError as exc:  # pragma: no cover - guarded by rank check upstream
        raise ModelError("the moderators are collinear: drop one of them") from exc
    b = vb @ (X.T @ (w * y))
    wx = X * w[:, None]
    P = np.diag(w) - wx @ vb @ wx.T
    return b, vb, P


def tau2(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str) -> float:
    """Between-study variance by ``method`` (metafor's definitions; truncated at 0)."""
    k, p = X.shape
    if method == "FE":
        return 0.0
    if method == "DL":
        _, _, P = fit(y, v, X, 0.0)
        return max(0.0, float((y @ P @ y - (k - p)) / np.trace(P)))
    if method == "HE":
        _, _, P = fit(y, np.zeros_like(v), X, 1.0)  # ordinary least squares projection
        return max(0.0, float((y @ P @ y - np.trace(P * v[None, :])) / (k - p)))
    if method == "SJ":
        _, _, P0 = fit(y, np.zeros_like(v), X, 1.0)
        res = P0 @ y
        t0 = float(np.var(res))  # var(residuals) * (k-1)/k, as metafor's starting value
        _, _, P = fit(y, v, X, t0)
        return t0 * float(y @ P @ y) / (k - p)
    if method in ("PM", "EB"):
        # PM: generalised Q(tau2) = k - p; the empirical Bayes (Morris) fixed point is the same equation
        def q(t):
            _, _, P = fit(y, v, X, t)
            return float(y @ P @ y) - (k - p)
        return _root(q)
    if method in ("ML", "REML"):
        def score(t):
            b, vb, P = fit(y, v, X, t)
            if method == "REML":
                return float(y @ P @ P @ y - np.trace(P))
            w = 1.0 / (v + t)
            r = y - X @ b
            return float(np.sum(w ** 2 * r ** 2) - np.sum(w))
        return _root(score)
    raise ValueError(f"method must be one of {', '.join(TAU2_METHODS)}, not {method!r}")


def _root(f) -> float:
    """Root of a decreasing estimating equation on [0, inf); 0 when it is already negative at 0."""
    if f(0.0) <= 0:
        return 0.0
    hi = 1.0
    while f(hi) > 0:
        hi *= 4
        if hi > 1e12:
            raise ModelError("the between-study variance did not converge: the estimating equation has no root")
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-14, rtol=1e-14, maxiter=500))
