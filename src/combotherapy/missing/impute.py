"""Imputation given the imputation model's parameters: the strategy's mean profile for each subject, then the
conditional mean (or a draw from the conditional distribution) of its missing values given its observed ones.

For subject ``i`` with own-arm means ``mu_i`` and reference-arm means ``r_i`` (the same covariates, the arm
switched to its imputation reference), and ``t_i`` the first visit its intercurrent event affects, the mean profile
``m_i`` is (Carpenter, Roger & Kenward 2013; as rbmi, one covariance for all arms):

    MAR   m = mu
    J2R   m_j = mu_j before t, r_j from t on
    CR    m = r at every visit
    CIR   m_j = mu_j before t, mu_{t-1} + (r_j - r_{t-1}) from t on (r when t is the first visit)
    LMCF  m_j = mu_j before t, mu_{t-1} from t on

and the missing values ``y_m`` given the observed ``y_o`` are normal with mean
``m_m + Sigma_mo Sigma_oo^{-1} (y_o - m_o)`` and covariance ``Sigma_mm - Sigma_mo Sigma_oo^{-1} Sigma_om``. The
computation loops over missingness patterns only; within a pattern it is one matrix product for all its subjects.
"""

from __future__ import annotations

import numpy as np

from .estimand import STRATEGIES
from .model import ImputationData

__all__ = ["strategy_means", "impute"]

_J2R, _CR, _CIR, _LMCF = (STRATEGIES.index(s) for s in ("J2R", "CR", "CIR", "LMCF"))


def strategy_means(imp: ImputationData, beta: np.ndarray) -> np.ndarray:
    """(n, k) mean profile of each subject under its strategy."""
    gamma = np.einsum("apq,p->aq", imp.M, beta)          # fitted value at visit a is s' gamma[a]
    mu = imp.data.features @ gamma.T
    ref = imp.ref_features @ gamma.T
    k = imp.k
    s, t = imp.strategy[:, None], imp.ice[:, None]
    post = np.arange(k)[None, :] >= t
    last = np.clip(imp.ice - 1, 0, k - 1)
    rows = np.arange(imp.n)
    mu_last = mu[rows, last][:, None]
    ref_last = ref[rows, last][:, None]
    at_start = t == 0
    m = mu.copy()
    m = np.where(post & (s == _J2R), ref, m)
    m = np.where((s == _CR) & (t < k), ref, m)
    m = np.where(post & (s == _CIR), np.where(at_start, ref, mu_last + ref - ref_last), m)
    m = np.where(post & (s == _LMCF), mu_last, m)
    return m


def _patterns_of(Y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(rows, observed visit indices, missing visit indices) of each missingness pattern with a missing value."""
    obs = ~np.isnan(Y)
    k = Y.shape[1]
    code = obs.astype(np.int64) @ (np.int64(1) << np.arange(k, dtype=np.int64))
    uniq, inv = np.unique(code, return_inverse=True)
    inv = inv.ravel()
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(len(uniq) + 1))
    out = []
    for j, c in enumerate(uniq):  # loop over missingness patterns
        mask = ((c >> np.arange(k)) & 1).astype(bool)
        if mask.all():
            continue
        out.append((order[bounds[j]:bounds[j + 1]], np.flatnonzero(mask), np.flatnonzero(~mask)))
    return out


def _complete(Y: np.ndarray, m: np.ndarray, Sigma: np.ndarray, draws: int, rng: np.random.Generator | None,
              patterns: list | None = None) -> np.ndarray:
    """(max(draws, 1), n, k): Y with missing values replaced by conditional means (draws=0) or draws."""
    D = max(draws, 1)
    out = np.repeat(Y[None], D, axis=0)
    for idx, o, mi in (patterns if patterns is not None else _patterns_of(Y)):  # loop over missingness patterns
        Soo = Sigma[np.ix_(o, o)]
        Smo = Sigma[np.ix_(mi, o)]
        B = np.linalg.solve(Soo, Smo.T).T if len(o) else np.zeros((len(mi), 0))
        resid = Y[np.ix_(idx, o)] - m[np.ix_(idx, o)]
        cm = m[np.ix_(idx, mi)] + resid @ B.T
        if draws:
            C = Sigma[np.ix_(mi, mi)] - B @ Smo.T
            L = np.linalg.cholesky((C + C.T) / 2)
            z = rng.standard_normal((D, len(idx), len(mi)))
            out[np.ix_(np.arange(D), idx, mi)] = cm[None] + z @ L.T
        else:
            out[np.ix_(np.arange(D), idx, mi)] = cm[None]
    return out


def _draw_given_means(Y: np.ndarray, m: np.ndarray, Sigma: np.ndarray, D: int, rng: np.random.Generator
                      ) -> np.ndarray:
    """D draws for the rows of ``Y`` (a bootstrap sample's subjects, repeated ones drawn independently)."""
    return _complete(Y, m, Sigma, D, rng)


def impute(imp: ImputationData, beta: np.ndarray, Sigma: np.ndarray, *, draws: int = 0,
           rng: np.random.Generator | None = None) -> np.ndarray:
    """Imputed outcome: the conditional mean (``draws=0``, returns (n, k)) or ``draws`` random draws from the
    conditional distribution (returns (draws, n, k)); observed values are kept as they are."""
    pats = getattr(imp, "_impute_patterns", None)
    if pats is None:
        pats = imp._impute_patterns = _patterns_of(imp.Y)
    out = _complete(imp.Y, strategy_means(imp, beta), Sigma, draws, rng, pats)
    return out if draws else out[0]
