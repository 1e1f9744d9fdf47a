"""The one contrast engine: LS means, contrasts, multiplicity adjustment and confidence intervals.

Every model (ANCOVA, MMRM, ...) fits its own parameters and hands this module three things:

``beta``
    the estimate vector (length ``p``);
``vcov``
    its covariance matrix (``p x p``);
``df``
    a degrees-of-freedom rule: a number (``numpy.inf`` for z tests), or a callable ``df(l) -> float``
    giving the df for one linear combination ``l`` (a length-``p`` vector), e.g. Satterthwaite from an MMRM.

plus a *reference grid*: a DataFrame ``grid`` with one row per LS mean (column ``arm`` and, optionally,
grouping columns such as ``visit``) and the matrix ``L`` (one row per grid row, ``p`` columns) whose row ``i``
gives LS mean ``i`` as ``L[i] @ beta``. The model builds ``L`` the way emmeans does: factor covariates
averaged with equal weights over their levels, numeric covariates at their mean.

API
---
:func:`lsmeans(grid, L, beta, vcov, df, alpha=0.05) <lsmeans>`
    LS means with unadjusted CIs: columns ``[by...], arm, estimate, se, df, ci_low, ci_high``.
:func:`compare(grid, L, beta, vcov, df, reference=None, adjust="holm", alpha=0.05, side="two-sided", by=None) <compare>`
    all pairwise contrasts (labels and order from :func:`combotherapy.arms.contrast_pairs`, e.g.
    ``"combined - physio"``), or each arm against ``reference``; ``pairs=[(first, second), ...]`` picks a subset.
    With ``by=["visit"]`` contrasts are formed, and adjusted, within each level of ``visit`` separately.
:func:`test_linear(C, beta, vcov, df, labels, adjust="none", alpha=0.05, side="two-sided", groups=None) <test_linear>`
    any linear combinations (rows of ``C``), e.g. a factorial interaction; ``groups`` gives each row's family.

Both testing functions return a DataFrame with columns
``[by...], contrast, estimate, se, df, statistic, p, p_adj, ci_low, ci_high``. ``statistic`` is the t ratio
(a z ratio when df is infinite), ``p`` the unadjusted p-value (one-sided when ``side`` is one-sided), ``p_adj``
the adjusted one. ``frame.attrs`` records ``adjust`` (the method used for p-values), ``ci_adjust`` (the method
used for the intervals), ``side``, ``alpha`` and ``notes`` (sentences for the result's summary).

Adjustment methods (within each family: all contrasts, or those in one ``by`` group)
--------------------------------------------------------------------------------------
``none``
    unadjusted p-values and (1 - alpha) intervals.
``bonferroni``, ``holm``, ``sidak``
    p-value adjustments as :func:`stats::p.adjust` (Sidak: ``1 - (1 - p)^m``). Holm has no matching
    confidence interval; as emmeans does, the intervals are then Bonferroni intervals (recorded in
    ``ci_adjust`` and in ``notes``).
``tukey``
    Tukey-Kramer, studentized range with ``k`` = number of arms in the family; simultaneous intervals. Only for
    the full set of pairwise comparisons and two-sided tests; otherwise, as emmeans does, Sidak is used and a
    note says so.
``dunnett``
    each arm against ``reference``: the exact Dunnett adjustment, i.e. single-step multivariate t with the
    contrasts' own correlation (what emmeans gives with ``adjust = "mvt"`` on ``trt.vs.ctrl`` contrasts).
``mvt``
    single-step multivariate t for any family (emmeans ``adjust = "mvt"``): ``p_adj_i = 1 - P(max_j |T_j| <
    |t_i|)`` with ``T ~ t_df(0, R)``, ``R`` the correlation of the contrast estimates; simultaneous intervals
    from the matching quantile. The probabilities come from the spherical-radial decomposition (Genz & Bretz 2009):
    exact along each direction, with a deterministic grid of directions for families of rank <= 3 (up to 4 arms;
    accuracy about 1e-8 for rank 2, 2e-5 for rank 3) and scrambled Sobol directions with a fixed seed beyond
    (about 1e-4), so the output is deterministic. Singular correlations (all pairwise contrasts) are handled exactly. When df
    differs between contrasts (Satterthwaite), each p-value uses its own contrast's df, as emmeans does (emmeans
    truncates df to an integer for this; we do not).

A family with a single contrast is never adjusted (as in emmeans).

One-sided tests: ``side="greater"`` tests H1: estimate > 0 (interval ``[ci_low, inf)``), ``side="less"`` tests
H1: estimate < 0 (interval ``(-inf, ci_high]``).

Example
-------
>>> import numpy as np, pandas as pd
>>> grid = pd.DataFrame({"arm": ["physio", "acupuncture", "combined"]})
>>> beta, vcov = np.array([10.0, -1.0, -3.0]), np.diag([1.0, 2.0, 2.0])
>>> L = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1]], dtype=float)   # treatment coding, physio reference
>>> compare(grid, L, beta, vcov, 40, adjust="none")["contrast"].tolist()
['combined - physio', 'combined - acupuncture', 'physio - acupuncture']

References
----------
Lenth RV. emmeans: Estimated Marginal Means, aka Least-Squares Means. R package version 1.8.4.
Hothorn T, Bretz F, Westfall P. Simultaneous inference in general parametric models. Biom J 2008;50:346-63.
Genz A, Bretz F. Computation of Multivariate Normal and t Probabilities. Springer, 2009.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ..arguments import ADJUST_METHODS, check_adjust, check_alpha, check_side
from ..arms import contrast_label, contrast_pairs
from ..errors import ArgumentError, ModelError

__all__ = ["ADJUST_METHODS", "P_ADJUST_METHODS", "DfRule", "lsmeans", "compare", "test_linear", "contrast_matrix",
           "mvt_seed", "p_adjust", "check_alpha"]

DfRule = float | int | Callable[[np.ndarray], float]


#: seed of the quasi-Monte Carlo directions for mvt/dunnett families of rank > 3: fixed, so results are reproducible
mvt_seed = 20240611
_N_ANGLE = 20_000   # directions on the circle (rank-2 families: 3 arms)
_N_Z = 300          # rank-3 families (4 arms): 300 x 600 grid on the sphere


# --- small pieces ---------------------------------------------------------------------------
def _df_vector(C: np.ndarray, df: DfRule) -> np.ndarray:
    if callable(df):
        return np.array([float(df(row)) for row in C], dtype=float)  # one call per contrast, not per subject
    value = float(df)
    if not (value > 0):
        raise ModelError(f"degrees of freedom must be positive, got {value:g}: the model has no residual df "
                         "(too few subjects for the number of parameters)")
    return np.full(C.shape[0], value)


def _estimate(C: np.ndarray, beta: np.ndarray, vcov: np.ndarray, df: DfRule):
    C = np.atleast_2d(np.asarray(C, dtype=float))
    beta = np.asarray(beta, dtype=float)
    vcov = np.asarray(vcov, dtype=float)
    if C.shape[1] != beta.shape[0] or vcov.shape != (beta.shape[0], beta.shape[0]):
        raise ValueError(f"shapes do not match: L {C.shape}, beta {beta.shape}, vcov {vcov.shape}")
    est = C @ beta
    cov = C @ vcov @ C.T
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return C, est, se, cov, _df_vector(C, df)


# scipy.stats' t and norm tails are these special functions (stats.t.sf(x, df) = stdtr(df, -x), stats.t.isf(q, df) =
# -stdtrit(df, q), stats.norm.sf(x) = ndtr(-x), stats.norm.isf(q) = -ndtri(q): the same numbers, bit for bit, for q in
# (0, 1)); called directly they skip the distribution objects' argument handling, a fixed cost per result table
def _t_sf(x: np.ndarray, df: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.where(np.isinf(df), special.ndtr(-x), special.stdtr(np.where(np.isinf(df), 1.0, df), -x))


def _t_isf(q: float | np.ndarray, df: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=float)
    return np.where(np.isinf(df), -special.ndtri(q), -special.stdtrit(np.where(np.isinf(df), 1.0, df), q))


def _unadjusted_p(t: np.ndarray, df: np.ndarray, side: str) -> np.ndarray:
    if side == "two-sided":
        return np.minimum(2 * _t_sf(np.abs(t), df), 1.0)
    if side == "greater":
        return _t_sf(t, df)
    return _t_sf(-t, df)


def _p_adjust(p: np.ndarray, method: str) -> np.ndarray:
    """stats::p.adjust for bonferroni, holm, sidak (sidak as emmeans: 1 - (1 - p)^m).

    Written out although statsmodels' ``multipletests`` gives the same numbers (tests/test_inference_engine.py
    checks it): ``multipletests`` runs ``gc.collect()`` on every call, which took 1.2 s per family with a large
    heap — 15 times the whole 10,000-subject MMRM fit it was adjusting (benchmarks/bench_mmrm.py).
    """
    m = len(p)
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    if method == "sidak":
        return 1 - (1 - p) ** m
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def _corr(cov: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(cov))
    return cov / np.outer(d, d)


def _directions(r: int) -> np.ndarray:
    """Points on the unit sphere in R^r with equal weights, closed under u -> -u, for spherical-radial integration.

    r = 1, 2, 3 use deterministic midpoint grids; larger r uses scrambled Sobol points with a fixed seed
    (randomised QMC, with antithetic pairs). The first half of the rows are the antipodes of the second half.
    """
    if r == 1:
        return np.array([[-1.0], [1.0]])
    if r == 2:
        theta = (np.arange(_N_ANGLE) + 0.5) * (2 * np.pi / _N_ANGLE)
        return np.column_stack([np.cos(theta), np.sin(theta)])
    if r == 3:
        # Archimedes: z = cos(polar angle) is uniform on [-1, 1] for a uniform point on the sphere
        z = (np.arange(_N_Z) + 0.5) * (2.0 / _N_Z) - 1.0
        theta = (np.arange(2 * _N_Z) + 0.5) * (np.pi / _N_Z)
        zz, tt = np.meshgrid(z, theta, indexing="ij")
        rho = np.sqrt(1 - zz**2)
        return np.column_stack([(rho * np.cos(tt)).ravel(), (rho * np.sin(tt)).ravel(), zz.ravel()])
    sob = stats.qmc.Sobol(r, scramble=True, rng=np.random.default_rng(mvt_seed)).random(2**15)
    g = stats.norm.ppf(np.clip(sob, 1e-12, 1 - 1e-12))
    g = np.vstack([-g, g])  # antithetic pairs
    return g / np.linalg.norm(g, axis=1, keepdims=True)


class _Mvt:
    """P(lower < T < upper) for T ~ multivariate t(df) (normal when df = inf) with correlation ``corr``.

    Spherical-radial method (Genz & Bretz 2009, ch. 4): write T = rho * A u with A A' = corr (A of full column
    rank r, so singular correlations, such as all pairwise contrasts, are handled), u uniform on the unit sphere
    of R^r and rho^2 / r ~ F(r, df). For each direction u the constraints give an interval of rho whose
    probability is exact; the average over the directions is the answer.
    """

    def __init__(self, corr: np.ndarray):
        w, Q = np.linalg.eigh((corr + corr.T) / 2)
        keep = w > 1e-10 * w.max()
        self.r = int(keep.sum())
        self.B = _directions(self.r) @ (Q[:, keep] * np.sqrt(w[keep])).T   # (n_directions, k): A u
        # symmetric box |T_j| < c: the integrand is even in u, so half the directions suffice
        self.inv_max = 1.0 / np.abs(self.B[len(self.B) // 2:]).max(axis=1)

    def _radial_cdf(self, x: np.ndarray, df: float) -> np.ndarray:
        if np.isinf(df):
            return special.chdtr(self.r, np.square(x))
        return special.fdtr(self.r, df, np.square(x) / self.r)

    def prob_symmetric(self, c: float, df: float) -> float:
        """P(max_j |T_j| < c)."""
        return float(self._radial_cdf(abs(c) * self.inv_max, df).mean())

    def prob(self, lower: np.ndarray, upper: np.ndarray, df: float) -> float:
        B = self.B
        with np.errstate(divide="ignore", invalid="ignore"):
            a, b = lower / B, upper / B
        pos, neg = B > 0, B < 0
        zero_ok = (lower < 0) & (upper > 0)
        lo = np.where(pos, a, np.where(neg, b, np.where(zero_ok, -np.inf, np.inf)))
        hi = np.where(pos, b, np.where(neg, a, np.where(zero_ok, np.inf, -np.inf)))
        lo = np.maximum(lo.max(axis=1), 0.0)
        hi = hi.min(axis=1)
        ok = hi > lo
        p = np.zeros(len(B))
        p[ok] = self._radial_cdf(hi[ok], df) - self._radial_cdf(lo[ok], df)
        return float(p.mean())


def _mvt_bounds(x: float, k: int, side: str) -> tuple[np.ndarray, np.ndarray]:
    if side == "two-sided":
        return np.full(k, -abs(x)), np.full(k, abs(x))
    if side == "greater":
        return np.full(k, -np.inf), np.full(k, x)
    return np.full(k, x), np.full(k, np.inf)   # side "less": x is the (negative) statistic


def _mvt_p(t: np.ndarray, df: np.ndarray, mvt: _Mvt, side: str) -> np.ndarray:
    k = len(t)
    if side == "two-sided":
        return np.array([1 - mvt.prob_symmetric(ti, dfi) for ti, dfi in zip(t, df)]).clip(0, 1)
    return np.array([1 - mvt.prob(*_mvt_bounds(ti, k, side), dfi) for ti, dfi in zip(t, df)]).clip(0, 1)


def _mvt_crit(level: float, df: float, mvt: _Mvt, k: int, side: str) -> float:

    def gap(c: float) -> float:
        # one-sided: P(all T_j < c) = level; two-sided: P(all |T_j| < c) = level
        if side == "two-sided":
            return mvt.prob_symmetric(c, df) - level
        return mvt.prob(*_mvt_bounds(c, k, "greater"), df) - level

    lo = float(_t_isf((1 - level) / (2 if side == "two-sided" else 1), np.array([df]))[0])  # unadjusted
    hi = float(_t_isf((1 - level) / (2 * k if side == "two-sided" else k), np.array([df]))[0])  # Bonferroni
    if gap(lo) >= 0:
        return lo
    if gap(hi) <= 0:
        return hi
    return float(optimize.brentq(gap, lo, hi, xtol=1e-8))


def _family_adjust(t: np.ndarray, df: np.ndarray, p: np.ndarray, cov: np.ndarray, method: str, side: str,
                   alpha: float, k_means: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted p-values and critical values for one family."""
    m = len(t)
    level = 1 - alpha
    tails = 2 if side == "two-sided" else 1
    if m == 1 or method == "none":
        return p.copy(), _t_isf(alpha / tails, df)
    if method in ("bonferroni", "holm", "sidak"):
        p_adj = _p_adjust(p, method)
        a = 1 - level ** (1 / m) if method == "sidak" else alpha / m
        return p_adj, _t_isf(a / tails, df)
    if method == "tukey":
        q = np.abs(t) * np.sqrt(2)
        finite_df = np.where(np.isinf(df), 1e6, df)  # studentized_range accepts large df; inf not supported
        p_adj = stats.studentized_range.sf(q, k_means, finite_df)
        crit = stats.studentized_range.ppf(level, k_means, finite_df) / np.sqrt(2)
        # the studentized-range tail underflows to exactly 0 below about 1e-15; an adjusted p-value is never
        # below the unadjusted one, so that is a true (and printable) lower bound
        return np.clip(np.maximum(p_adj, p), 0, 1), np.asarray(crit, dtype=float)
    # mvt and dunnett: single-step multivariate t with the contrasts' correlation
    mvt = _Mvt(_corr(cov))
    p_adj = _mvt_p(t, df, mvt, side)
    if np.all(df == df[0]):
        crit = np.full(m, _mvt_crit(level, df[0], mvt, m, side))
    else:
        crit = np.array([_mvt_crit(level, d, mvt, m, side) for d in df])
    return p_adj, crit


# --- public ---------------------------------------------------------------------------------
#: methods of :func:`p_adjust` (those that need only the p-values)
P_ADJUST_METHODS = ("none", "holm", "bonferroni", "sidak")


def p_adjust(p: Sequence[float] | np.ndarray, method: str = "holm", groups: Sequence | None = None) -> np.ndarray:
    """Adjust a vector of p-values within families, as :func:`stats::p.adjust` (Sidak: ``1 - (1 - p)^m``).

    For results whose tests are not linear contrasts of one model (exact tests, separate models), so the
    p-value-only methods of this engine are the one implementation. NaN p-values are left NaN and do not
    count towards the family size ``m`` (as ``p.adjust`` with ``n = sum(!is.na(p))``). ``groups`` gives each
    p-value's family (default: one family). A family of one is not adjusted.

    Example
    -------
    >>> p_adjust([0.01, 0.04, 0.03], "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    method = str(method).lower()
    if method not in P_ADJUST_METHODS:
        raise ArgumentError(f"adjust={method!r} is not known here; use one of {', '.join(P_ADJUST_METHODS)}",
                            argument="adjust", kind="unknown")
    p = np.asarray(p, dtype=float)
    out = p.copy()
    if method == "none" or p.size == 0:
        return out
    fam = np.zeros(p.size, dtype=int) if groups is None else pd.factorize(pd.Series(list(groups)))[0]
    for g in np.unique(fam):  # loop over families, not subjects
        rows = np.flatnonzero((fam == g) & ~np.isnan(p))
        if len(rows) > 1:
            out[rows] = _p_adjust(p[rows], method)
    return out


def test_linear(C: np.ndarray, beta: np.ndarray, vcov: np.ndarray, df: DfRule, labels: Sequence[str], *,
                adjust: str = "none", alpha: float = 0.05, side: str = "two-sided",
                groups: Sequence | None = None, k_means: Sequence[int] | int | None = None,
                pairwise_families: bool = False, allow_zero_se: bool = False,
                _front: Mapping[str, Any] | None = None, _label: str = "contrast", _p_adj: bool = True,
                _tail: Callable[[np.ndarray], Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """Test linear combinations ``C @ beta`` with multiplicity adjustment within families.

    Parameters
    ----------
    C : array (m, p)
        One linear combination per row.
    beta, vcov, df
        The model's estimates, their covariance and df rule (see the module docstring).
    labels : sequence of str
        One label per row (the ``contrast`` column).
    adjust : str
        One of :data:`ADJUST_METHODS`.
    alpha : float
        1 - confidence level.
    side : {"two-sided", "greater", "less"}
    groups : sequence, optional
        Family of each row (adjustment is done within families); default one family.
    k_means : int or sequence, optional
        Number of means compared in each family (Tukey only).
    pairwise_families : bool
        True when each family is the full set of pairwise comparisons of ``k_means`` means (Tukey is
        valid only then).
    allow_zero_se : bool
        Report a row with zero standard error (statistic and p NaN) instead of raising ModelError (coefficient
        tables).

    Returns
    -------
    DataFrame
        ``contrast, estimate, se, df, statistic, p, p_adj, ci_low, ci_high``; ``attrs`` holds ``adjust``,
        ``ci_adjust``, ``side``, ``alpha``, ``notes``.

    Example
    -------
    A 2 x 2 interaction, (combined - physio) - (acupuncture - control), from four cell means:

    >>> import numpy as np
    >>> C = np.array([[1.0, -1.0, -1.0, 1.0]])     # control, physio, acupuncture, combined
    >>> out = test_linear(C, np.array([6.0, 5.0, 5.2, 4.0]), np.eye(4) * 0.04, 200, ["interaction"])
    >>> round(float(out["estimate"].iloc[0]), 6), round(float(out["se"].iloc[0]), 6)
    (-0.2, 0.4)
    """
    method = _check_adjust(adjust, side)
    alpha = check_alpha(alpha)
    C, est, se, cov, dfs = _estimate(C, beta, vcov, df)
    if len(labels) != C.shape[0]:
        raise ValueError("one label per row of C is needed")
    if np.any(se <= 0) and not allow_zero_se:
        bad = [labels[i] for i in np.flatnonzero(se <= 0)]
        raise ModelError(f"contrast(s) {bad} have zero standard error: they are not estimable from this model")
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, est / np.where(se > 0, se, 1.0), np.nan)
    p = _unadjusted_p(t, dfs, side)
    groups_arr = np.zeros(len(est), dtype=int) if groups is None else pd.factorize(pd.Series(list(groups)))[0]
    n_groups = groups_arr.max() + 1 if len(groups_arr) else 0
    ks = np.full(n_groups, 0) if k_means is None else np.broadcast_to(np.asarray(k_means), (n_groups,))
    notes: list[str] = []
    used = method
    if method == "tukey" and (not pairwise_families or side != "two-sided"):
        used = "sidak"
        why = "one-sided tests" if side != "two-sided" else "contrasts that are not the full set of pairs"
        notes.append(f"Tukey's method is only for the full set of two-sided pairwise comparisons; Sidak was used "
                     f"instead for {why} (as emmeans does).")
    p_adj = np.empty_like(p)
    crit = np.empty_like(p)
    for g in range(n_groups):  # loop over families (visits), not subjects
        rows = np.flatnonzero(groups_arr == g)
        p_adj[rows], crit[rows] = _family_adjust(t[rows], dfs[rows], p[rows], cov[np.ix_(rows, rows)], used, side,
                                                 alpha, int(ks[g]))
    ci_used = "bonferroni" if used == "holm" else used
    if used == "holm":
        notes.append("Holm's method adjusts p-values only; the confidence intervals are Bonferroni-adjusted "
                      "(as emmeans does).")
    if used == "mvt" or used == "dunnett":
        notes.append("Multivariate-t probabilities by spherical-radial integration (deterministic; see "
                     "combotherapy.inference.engine).")
    half = crit * se
    ci_low = np.where(side == "less", -np.inf, est - half)
    ci_high = np.where(side == "greater", np.inf, est + half)
    # (``_front``: key columns placed before ``contrast`` in the same construction, not inserted afterwards;
    # ``_label``, ``_p_adj``: the label column's name and whether p_adj is shown, for a coefficient table)
    out = pd.DataFrame({**(_front or {}), _label: list(labels), "estimate": est, "se": se, "df": dfs,
                        "statistic": t, "p": p, **({"p_adj": p_adj} if _p_adj else {}), "ci_low": ci_low,
                        "ci_high": ci_high, **(_tail(est) if _tail is not None else {})})
    out.attrs.update(adjust=used, ci_adjust=ci_used, side=side, alpha=alpha, notes=notes)
    return out


test_linear.__test__ = False  # a library function whose name starts with "test": not a pytest test


def _check_adjust(adjust: str, side: str) -> str:
    check_side(side)
    return check_adjust(adjust)


def lsmeans(grid: pd.DataFrame, L: np.ndarray, beta: np.ndarray, vcov: np.ndarray, df: DfRule, *,
            alpha: float = 0.05, _tail: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """LS means (estimated marginal means) on the reference grid, with unadjusted (1 - alpha) CIs.

    Parameters
    ----------
    grid : DataFrame
        One row per LS mean (column ``arm``, optionally grouping columns such as ``visit``).
    L : array (k, p)
        Row ``i`` gives LS mean ``i`` as ``L[i] @ beta``.
    beta, vcov, df
        The model's estimates, their covariance and df rule (see the module docstring).
    alpha : float
        1 - confidence level, in (0, 1).

    Returns
    -------
    DataFrame
        The grid's columns followed by ``estimate, se, df, ci_low, ci_high``.

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> grid = pd.DataFrame({"arm": ["physio", "combined"]})
    >>> L = np.array([[1.0, 0.0], [1.0, 1.0]])                    # intercept + treatment dummy
    >>> lsmeans(grid, L, np.array([5.0, -1.0]), np.diag([0.04, 0.08]), 50)[["arm", "estimate"]].to_dict("list")
    {'arm': ['physio', 'combined'], 'estimate': [5.0, 4.0]}
    """
    alpha = check_alpha(alpha)
    L, est, se, _, dfs = _estimate(L, beta, vcov, df)
    half = _t_isf(alpha / 2, dfs) * se
    # one frame: the grid's columns, then the estimates (not five insertions into a copy of the grid)
    columns = {c: grid[c].to_numpy() if not isinstance(grid[c].dtype, pd.api.extensions.ExtensionDtype)
               else grid[c].array for c in grid.columns}
    return pd.DataFrame({**columns, "estimate": est, "se": se, "df": dfs, "ci_low": est - half,
                         "ci_high": est + half, **(_tail or {})})   # (``_tail``: a caller's columns at the end)


def contrast_matrix(grid: pd.DataFrame, L: np.ndarray, *, reference: str | None = None,
                    pairs: Sequence[tuple[str, str]] | None = None, by: Sequence[str] = ()
                    ) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Rows of contrasts between arms of the grid, within each ``by`` group.

    Returns (key frame with the ``by`` columns and ``contrast``, contrast matrix, largest number of arms in a group).
    """
    by = list(by)
    grid = grid.reset_index(drop=True)
    missing = [c for c in ["arm"] + by if c not in grid.columns]
    if missing:
        raise ValueError(f"reference grid lacks column(s) {missing}")
    keys = [()] if not by else list(dict.fromkeys(grid[by].itertuples(index=False, name=None)))
    meta, C, k_max = _contrast_rows(grid, L, reference, pairs, by, keys)
    cols = [*by, "first", "second", "contrast"]
    return pd.DataFrame({c: [m[c] for m in meta] for c in cols}), C, k_max


def _contrast_rows(grid: pd.DataFrame, L: np.ndarray, reference: str | None,
                   pairs: Sequence[tuple[str, str]] | None, by: list[str], keys: Sequence[tuple]
                   ) -> tuple[list[dict], np.ndarray, int]:
    """:func:`contrast_matrix`'s rows: one dict of key values per contrast, the matrix, the largest family (no
    ``by``: ``keys`` is ignored and the grid's rows are one family)."""
    rows: list[np.ndarray] = []
    meta: list[dict] = []
    k_max = 0
    if not by:
        keys = [()]
    for key in keys:
        if not by:   # the whole grid (its rows in order), without a boolean .loc
            sel = np.ones(len(grid), bool)
            arms_here = [str(a) for a in grid["arm"]]
        else:
            sel = (grid[by].apply(tuple, axis=1) == key).to_numpy()
            arms_here = [str(a) for a in grid.loc[sel, "arm"]]
        pos = dict(zip(arms_here, np.flatnonzero(sel)))
        if reference is not None and reference not in pos:
            raise ArgumentError(f"reference arm '{reference}' has no LS mean{_where(by, key)}; arms are {arms_here}",
                                argument="reference", kind="unknown arm", arm=str(reference))
        chosen = list(pairs) if pairs is not None else contrast_pairs(arms_here, reference)
        k_max = max(k_max, len(arms_here))
        for first, second in chosen:
            if first not in pos or second not in pos:
                bad = first if first not in pos else second
                raise ArgumentError(f"cannot compare '{first}' with '{second}'{_where(by, key)}: arms are "
                                    f"{arms_here}", argument="pairs", kind="unknown arm", arm=str(bad))
            rows.append(L[pos[first]] - L[pos[second]])
            meta.append({**dict(zip(by, key)), "first": first, "second": second,
                         "contrast": contrast_label(first, second)})
    return meta, np.vstack(rows), k_max


def _where(by: list[str], key: tuple) -> str:
    return "" if not by else " at " + ", ".join(f"{b} = {v}" for b, v in zip(by, key))


def compare(grid: pd.DataFrame, L: np.ndarray, beta: np.ndarray, vcov: np.ndarray, df: DfRule, *,
            reference: str | None = None, pairs: Sequence[tuple[str, str]] | None = None, adjust: str = "holm",
            alpha: float = 0.05, side: str = "two-sided", by: Sequence[str] = (),
            _tail: Callable[[list[str], list[str], np.ndarray], Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """Contrasts between arms' LS means: all pairs, each arm against ``reference``, or the given ``pairs``.

    Parameters
    ----------
    grid, L
        Reference grid (column ``arm`` and the ``by`` columns) and its LS-mean matrix.
    beta, vcov, df
        The model's estimates, covariance and df rule.
    reference : str, optional
        Compare each arm with this one (Dunnett family) instead of all pairs.
    pairs : list of (first, second), optional
        Explicit contrasts (labelled ``"first - second"``).
    adjust, alpha, side
        See the module docstring.
    by : sequence of str
        Grid columns defining separate families (e.g. ``["visit"]``).

    Returns
    -------
    DataFrame
        ``[by...], contrast, estimate, se, df, statistic, p, p_adj, ci_low, ci_high`` (see :func:`test_linear`).

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> grid = pd.DataFrame({"arm": ["control", "physio", "combined"]})
    >>> L = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1]], dtype=float)
    >>> beta, vcov = np.array([6.0, -1.0, -2.0]), np.diag([0.05, 0.1, 0.1])
    >>> res = compare(grid, L, beta, vcov, 100, reference="control", adjust="dunnett")
    >>> res[["contrast", "estimate"]].to_dict("list")
    {'contrast': ['combined - control', 'physio - control'], 'estimate': [-2.0, -1.0]}
    >>> res.attrs["adjust"]
    'dunnett'
    """
    method = _check_adjust(adjust, side)
    if method == "dunnett" and reference is None:
        raise ArgumentError("adjust='dunnett' compares each arm with a reference arm: pass reference='<arm>', or use "
                            "adjust='tukey' or 'mvt' for all pairwise comparisons", argument="adjust", kind="conflict")
    if method == "dunnett" and pairs is not None:
        raise ArgumentError("adjust='dunnett' applies to each arm against the reference; do not pass pairs=",
                            argument="pairs", kind="conflict")
    full_pairs = reference is None and pairs is None
    if not by:   # one family: the key columns as lists, in front of the table from the start
        meta, C, k_max = _contrast_rows(grid, np.asarray(L, float), reference, pairs, [], ())
        k_means = ((1 + np.sqrt(1 + 8 * np.array([len(meta)]))) / 2).round().astype(int)  # pairs = k(k-1)/2
        front = {c: [m[c] for m in meta] for c in ("first", "second")}
        # (``_tail``: a caller's columns from first, second and the estimates, at the end of the same frame)
        tail = None if _tail is None else (lambda est: _tail(front["first"], front["second"], est))
        return test_linear(C, beta, vcov, df, [m["contrast"] for m in meta], adjust=method, alpha=alpha,
                           side=side, k_means=k_means, pairwise_families=full_pairs, _front=front, _tail=tail)
    keys, C, k_max = contrast_matrix(grid, np.asarray(L, float), reference=reference, pairs=pairs, by=by)
    groups = keys[list(by)].apply(tuple, axis=1).tolist() if by else None
    k = (keys.groupby(list(by), sort=False).size() if by else pd.Series([len(keys)])).to_numpy()
    k_means = ((1 + np.sqrt(1 + 8 * k)) / 2).round().astype(int)  # pairs = k(k-1)/2
    table = test_linear(C, beta, vcov, df, keys["contrast"].tolist(), adjust=method, alpha=alpha, side=side,
                        groups=groups, k_means=k_means, pairwise_families=full_pairs)
    # identity as data: the arms (and the by-columns) beside the display label, so nothing parses labels
    for c in reversed([*by, "first", "second"]):   # the key columns in front (attrs stay with the table)
        table.insert(0, c, keys[c].array)
    if _tail is not None:
        for c, values in _tail(keys["first"].tolist(), keys["second"].tolist(), table["estimate"].to_numpy()).items():
            table[c] = values
    return table
