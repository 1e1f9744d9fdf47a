"""Between-study variance of a network by maximum likelihood or REML (netmeta's ``method.tau = "ML"/"REML"``).

netmeta fits these through ``metafor::rma.mv``: each study contributes its contrasts against one baseline arm (the
network's reference treatment when the study has it, otherwise its last treatment in alphabetical order), with a
compound-symmetric random effect (variance tau^2, covariance tau^2 / 2 between contrasts of the same study: the
consistency model with one common tau^2). The within-study covariance of two contrasts sharing the baseline arm is
that arm's variance when arm-level data are known (``var1``/``var2`` from :func:`~combotherapy.meta.pairwise`;
``1/n`` for SMD, as netmeta's ``calcV``) and zero otherwise (contrasts only), as netmeta does. The estimate solves
the score equation of the (restricted) likelihood in tau^2 exactly instead of running a general optimiser.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _wls

#: tau^2 estimators of network meta-analysis
NMA_TAU_METHODS = ("DL", "REML", "ML")


def _baseline_contrasts(d: pd.DataFrame, trts: list[str], reference: str, arm_cov: bool, measure: str):
    """y, X, V (within-study covariance) and K (random-effects structure) of the contrasts against each study's
    baseline arm."""
    t1, t2 = d["treat1"].to_numpy(dtype=object), d["treat2"].to_numpy(dtype=object)
    study = d["study"].to_numpy(dtype=object)
    arms = pd.DataFrame({"study": np.concatenate([study, study]), "t": np.concatenate([t1, t2])}).drop_duplicates()
    has_ref = arms["t"].eq(reference).groupby(arms["study"]).transform("any").to_numpy()
    last = arms.groupby("study")["t"].transform("max").to_numpy()
    base = pd.Series(np.where(has_ref, reference, last), index=arms["study"].to_numpy()).groupby(level=0).first()
    b = base.loc[study].to_numpy(dtype=object)
    keep = (t1 == b) | (t2 == b)
    flip = (t1 == b)[keep]                      # rows with the baseline first are turned round
    y = d["TE"].to_numpy()[keep] * np.where(flip, -1.0, 1.0)
    other = np.where(flip, t2[keep], t1[keep])
    s = study[keep]
    order = np.argsort(s, kind="stable")
    y, other, s, bk = y[order], other[order], s[order], b[keep][order]
    se = d["seTE"].to_numpy()[keep][order]
    pos = {t: i for i, t in enumerate(trts)}
    m = len(y)
    X = np.zeros((m, len(trts)))
    X[np.arange(m), [pos[t] for t in other]] = 1.0
    X[np.arange(m), [pos[t] for t in bk]] -= 1.0
    X = X[:, [i for i, t in enumerate(trts) if t != reference]]   # effects against the reference
    same = (s[:, None] == s[None, :])
    K = np.where(same, 0.5, 0.0)
    np.fill_diagonal(K, 1.0)
    cov = np.zeros(m)
    if arm_cov and {"var1", "var2"} <= set(d.columns):
        if measure == "SMD" and {"n1", "n2"} <= set(d.columns):
            a1, a2 = 1.0 / d["n1"].to_numpy(), 1.0 / d["n2"].to_numpy()
        else:
            a1, a2 = d["var1"].to_numpy(), d["var2"].to_numpy()
        cov = np.where(flip, a1[keep], a2[keep])[order]     # the baseline arm's variance
    V = np.where(same, cov[:, None], 0.0)
    np.fill_diagonal(V, se ** 2)
    return y, X, V, K


def tau2_likelihood(d: pd.DataFrame, trts: list[str], reference: str, method: str, *, arm_cov: bool = True,
                    measure: str = "") -> float:
    """tau^2 of the network by ``"ML"`` or ``"REML"`` (NaN when only one contrast is left, as netmeta)."""
    y, X, V, K = _baseline_contrasts(d, trts, reference, arm_cov, measure)
    if len(y) < 2:
        return float("nan")

    def score(t: float) -> float:
        Si = np.linalg.inv(V + t * K)
        SiX = Si @ X
        P = Si - SiX @ np.linalg.solve(X.T @ SiX, SiX.T)
        if method == "REML":
            Py = P @ y
            return float(Py @ K @ Py - np.sum(P * K))
        r = P @ y                                  # = Sigma^-1 (y - X beta_hat)
        return float(r @ K @ r - np.sum(Si * K))
    if method not in ("ML", "REML"):
        raise ValueError(f"method must be 'ML' or 'REML', not {method!r}")
    return _wls._root(score)
