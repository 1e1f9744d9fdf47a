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

__all__ = ["Plan", "plan", "fit_ancova", "analyse"]


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


def analyse(result, analysis: str = "ancova", *, threshold: float | None = None, relative: bool = False,
            visit: float | None = None, reference: str | None = None, alpha: float = 0.05, adjust: str = "none"):
    """Run an analysis on the imputed data of an imputation result, pooled over the imputations.

    Parameters
    ----------
    result : ImputationResult
        From :func:`combotherapy.missing.approximate_bayes` or :func:`combotherapy.missing.bootstrap_mi`
        (``"ancova"`` also accepts :func:`combotherapy.missing.conditional_mean`).
    analysis : {"ancova", "responders"}
        ``"ancova"``: the ANCOVA at each visit the imputation already pooled (``result`` itself is returned).
        ``"responders"``: responders on the imputed continuous values.
    threshold : float
        Responders: the minimum improvement from baseline, in the instrument's units, or with ``relative=True`` a
        fraction of the baseline value (IMMPACT: 0.3 and 0.5).
    relative : bool
        Read ``threshold`` as a fraction of baseline (subjects with baseline 0 are non-responders).
    visit : float, optional
        Visit of the responder analysis (weeks); default the last.
    reference : str, optional
        Compare each arm with this arm (default: all pairs), as :func:`combotherapy.responders`.
    alpha : float
    adjust : {"none", "holm", "bonferroni", ...}
        Multiplicity adjustment within each measure.

    Returns
    -------
    ImputationResult or ImputedResponders
        Responders: ``by_arm`` (pooled proportions), ``contrasts`` (risk difference and odds ratio),
        ``per_imputation`` (the estimates that were pooled) and the estimand.

    Raises
    ------
    DataError
        ``analysis="responders"`` on a conditional-mean imputation (see Notes), without a threshold, or on an
        imputation model without baseline; an unknown analysis.

    Notes
    -----
    In imputed data set ``l`` subject ``i`` responds when ``s (y_il - y_i0) >= c`` (``s`` = +1 when higher is
    better, -1 when lower is; ``c`` the threshold, or ``threshold * y_i0``), as in :func:`combotherapy.responders`.
    Per data set: the proportions ``p_a``, the risk difference ``p_1 - p_2`` with SE ``sqrt(p_1 q_1/n_1 + p_2
    q_2/n_2)`` and the log odds ratio of the logistic model ``logit P(responder) = b_0 + b_arm + b_y0 y_i0`` (as
    :func:`combotherapy.responders`) with its SE from the inverse information. Rubin's rules:
    ``Q = mean(Q_l)``, ``T = W + (1 + 1/m) B`` with the Barnard-Rubin df (complete-data df infinite, as the
    z-tests of :func:`combotherapy.responders`); bootstrapped ML MI: von Hippel and Bartlett's rule. With no
    missing value every data set is the trial itself and the pooled estimates and SEs are those of
    :func:`combotherapy.responders` (proportions, risk difference, odds ratio); intervals are ``estimate +/- t
    SE`` (not Newcombe's score interval, which has no standard error to pool).

    Conditional mean imputation is refused for responders: responder status is a step function of the value, and
    the status of the conditional mean ``E[y | observed]`` is not the expected status ``P(y past the threshold |
    observed)``; the proportion of responders would be biased (towards the side of the cut where the means lie),
    and the jackknife SE would not account for it. A continuous, linear analysis (ANCOVA) of conditional means is
    valid, which is why ``"ancova"`` accepts them.

    References
    ----------
    Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley, 1987. Barnard J, Rubin DB. Biometrika
    1999;86:948-55. Dworkin RH et al. J Pain 2008;9:105-21 (IMMPACT responder thresholds).

    Example
    -------
    >>> import combotherapy as ct
    >>> res = ct.missing.approximate_bayes(ct.simulate_trial(n_per_arm=30, seed=3), "pain", m=5, seed=1)
    >>> r = ct.missing.analyse(res, "responders", threshold=0.3, relative=True, visit=12)
    >>> sorted(set(r.contrasts["measure"]))
    ['odds_ratio', 'risk_difference']
    """
    from ..errors import DataError

    if analysis == "ancova":
        return result
    if analysis != "responders":
        raise DataError(f"analysis={analysis!r}: choose 'ancova' (the imputation's own analysis) or 'responders'")
    if threshold is None:
        raise DataError("analysis='responders' needs threshold= (an improvement in the instrument's units, or a "
                        "fraction of baseline with relative=True)")
    from .responders import pooled_responders

    return pooled_responders(result, threshold=threshold, relative=relative, visit=visit, reference=reference,
                             alpha=alpha, adjust=adjust)
