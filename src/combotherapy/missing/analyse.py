"""Analysis of imputed data: ANCOVA at each visit, for many imputed data sets in one pass.

The model at visit ``j`` is the package's ANCOVA (``ct.ancova``): ``y_ij = mu + tau_arm(i) + b y_i0 + x_i' g + e_i``
with the imputation model's subject-level covariates. All subjects are analysed (nothing is dropped: every missing
value has been imputed). As the design is the same for every visit and every imputation, the least-squares fits of
R imputations x k visits are one solve with R k right-hand sides; subject weights (bootstrap multiplicities, or a
zero for the subject a jackknife leaves out) give the fit of the resampled data set exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..arms import contrast_label, contrast_pairs
from .model import ImputationData

__all__ = ["Plan", "plan", "fit_ancova"]


@dataclass
class Plan:
    """Rows ``L`` (r, q) on the ANCOVA coefficients: the contrasts, then the arm LS means."""

    L: np.ndarray
    table: pd.DataFrame      # kind ('contrast' / 'lsmean'), contrast, first, second, arm


def plan(imp: ImputationData, reference: str | None = None) -> Plan:
    """Contrasts between arms (all pairs, or each arm vs ``reference``) and LS means (covariates at their mean
    over the analysed subjects, factor levels weighted by frequency)."""
    d = imp.data
    q = d.features.shape[1]
    arms = d.arms

    def arm_row(a: str) -> np.ndarray:
        e = np.zeros(q)
        j = arms.index(a)
        if j > 0:
            e[d.arm_features[j - 1]] = 1.0
        return e

    pairs = contrast_pairs(arms, reference)
    rows = [arm_row(a) - arm_row(b) for a, b in pairs]
    xbar = d.features.mean(axis=0)
    xbar[d.arm_features] = 0.0
    rows += [xbar + arm_row(a) for a in arms]
    table = pd.DataFrame({"kind": ["contrast"] * len(pairs) + ["lsmean"] * len(arms),
                          "contrast": [contrast_label(a, b) for a, b in pairs] + [""] * len(arms),
                          "first": [a for a, _ in pairs] + [None] * len(arms),
                          "second": [b for _, b in pairs] + [None] * len(arms),
                          "arm": [None] * len(pairs) + list(arms)})
    return Plan(L=np.vstack(rows), table=table)


def fit_ancova(X: np.ndarray, Y: np.ndarray, L: np.ndarray, w: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares of every visit of every imputed data set.

    Parameters
    ----------
    X : (n, q) design (intercept, arm dummies, baseline, covariates).
    Y : (R, n, k) imputed outcomes.
    L : (r, q) rows to estimate.
    w : (n,) or (R, n) subject weights (default 1).

    Returns
    -------
    est, se : (R, r, k); df : (R,) residual degrees of freedom (sum of weights minus q).
    """
    R, n, k = Y.shape
    q = X.shape[1]
    if w is None:
        G = X.T @ X
        Ginv = np.linalg.inv(G)
        XtY = np.einsum("nq,rnk->rqk", X, Y)
        B = np.einsum("pq,rqk->rpk", Ginv, XtY)
        resid = Y - np.einsum("nq,rqk->rnk", X, B)
        ss = np.einsum("rnk,rnk->rk", resid, resid)
        df = np.full(R, float(n - q))
        var_l = np.einsum("iq,qp,ip->i", L, Ginv, L)[None, :].repeat(R, axis=0)
    else:
        W = np.broadcast_to(w, (R, n))
        G = np.einsum("nq,rn,np->rqp", X, W, X)
        Ginv = np.linalg.inv(G)
        XtY = np.einsum("nq,rn,rnk->rqk", X, W, Y)
        B = np.einsum("rpq,rqk->rpk", Ginv, XtY)
        resid = Y - np.einsum("nq,rqk->rnk", X, B)
        ss = np.einsum("rn,rnk,rnk->rk", W, resid, resid)
        df = W.sum(axis=1) - q
        var_l = np.einsum("iq,rqp,ip->ri", L, Ginv, L)
    s2 = ss / df[:, None]
    est = np.einsum("iq,rqk->rik", L, B)
    se = np.sqrt(var_l[:, :, None] * s2[:, None, :])
    return est, se, df
