"""Small, vectorised building blocks for binary outcomes: intervals and effect measures for proportions.

Every function takes counts (scalars or arrays that broadcast against each other) and returns
numpy arrays (numpy scalars for scalar input), so the responder analysis, the adverse-event
tables and Table 1 share one implementation. Nothing here knows about trials or arms.

Conventions: ``x`` successes out of ``n``; ``1`` is the first group, ``2`` the second, and
differences and ratios are "first vs second" (``p1 - p2``, ``p1 / p2``). A group with ``n = 0``
gives NaN rather than an error: callers decide whether that is a problem.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

__all__ = [
    "Interval", "Difference", "Ratio", "NNT",
    "z_value", "wilson_ci", "newcombe_diff_ci", "score_test_diff", "risk_ratio_katz", "nnt_altman",
]


class Interval(NamedTuple):
    low: np.ndarray
    high: np.ndarray


class Difference(NamedTuple):
    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    se: np.ndarray


class Ratio(NamedTuple):
    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    log_estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p: np.ndarray
    corrected: np.ndarray


class NNT(NamedTuple):
    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    note: np.ndarray


def _out(a: np.ndarray) -> np.ndarray:
    # 0-d arrays become numpy scalars so scalar input gives scalar output
    return a[()] if a.ndim == 0 else a


def _counts(*arrays: ArrayLike) -> list[np.ndarray]:
    out = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))
    x_n = list(zip(out[0::2], out[1::2]))
    for x, n in x_n:
        bad = (x < 0) | (x > n) | (n < 0) | ~np.isfinite(x) | ~np.isfinite(n)
        if np.any(bad):
            raise ValueError("counts must satisfy 0 <= x <= n with finite x and n")
    return out


def z_value(alpha: float) -> float:
    """Two-sided standard normal quantile ``z_{1 - alpha/2}``; ``alpha`` must be in (0, 1)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (e.g. 0.05), not {alpha!r}")
    return float(stats.norm.ppf(1 - alpha / 2))


def wilson_ci(x: ArrayLike, n: ArrayLike, alpha: float = 0.05) -> Interval:
    """Wilson score interval for a binomial proportion ``x / n``.

    Parameters
    ----------
    x, n : array_like
        Successes and trials (broadcast against each other).
    alpha : float
        1 - confidence level.

    Returns
    -------
    Interval
        ``(low, high)``, NaN where ``n == 0``.

    Notes
    -----
    The interval is the set of ``p`` not rejected by the score test, i.e. the roots of
    ``(p̂ - p)^2 = z^2 p (1 - p) / n``:

    .. math:: \\frac{x + z^2/2 \\pm z \\sqrt{x (n - x) / n + z^2 / 4}}{n + z^2}

    It equals R's ``prop.test(x, n, correct = FALSE)$conf.int``. Method 3 of Newcombe (1998a).

    References
    ----------
    Wilson EB (1927) JASA 22:209-212. Newcombe RG (1998a) Two-sided confidence intervals for the
    single proportion: comparison of seven methods. Stat Med 17:857-872.

    Example
    -------
    >>> lo, hi = wilson_ci(56, 70)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.6918, 0.877)
    """
    x, n = _counts(x, n)
    z_value(alpha)  # checks alpha
    # statsmodels' Wilson interval equals the score-interval formula above to 1e-16 (checked in the tests);
    # n = 0 is given as NaN without statsmodels' division warnings
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = (np.asarray(v, float) for v in proportion_confint(x, np.where(n > 0, n, np.nan), alpha=alpha,
                                                                       method="wilson"))
    # x = 0 and x = n give exactly 0 and 1 algebraically; remove rounding residue
    low = np.where((x == 0) & (n > 0), 0.0, low)
    high = np.where((x == n) & (n > 0), 1.0, high)
    return Interval(_out(low), _out(high))


def newcombe_diff_ci(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike, alpha: float = 0.05) -> Difference:
    """Risk difference ``p1 - p2`` with Newcombe's hybrid score interval (method 10).

    Parameters
    ----------
    x1, n1, x2, n2 : array_like
        Successes and trials in the first and second group.
    alpha : float
        1 - confidence level.

    Returns
    -------
    Difference
        ``estimate`` (``p1 - p2``), ``ci_low``, ``ci_high`` and ``se``, the unpooled Wald standard
        error ``sqrt(p1 q1 / n1 + p2 q2 / n2)`` (reported for meta-analysis; the interval does
        not use it).

    Notes
    -----
    With Wilson limits ``(l_i, u_i)`` for each proportion (:func:`wilson_ci`):

    .. math::
        L = \\hat p_1 - \\hat p_2 - \\sqrt{(\\hat p_1 - l_1)^2 + (u_2 - \\hat p_2)^2}, \\quad
        U = \\hat p_1 - \\hat p_2 + \\sqrt{(u_1 - \\hat p_1)^2 + (\\hat p_2 - l_2)^2}

    The interval stays within [-1, 1] and behaves well with zero cells.

    References
    ----------
    Newcombe RG (1998b) Interval estimation for the difference between independent
    proportions: comparison of eleven methods. Stat Med 17:873-890 (method 10).

    Example
    -------
    >>> d = newcombe_diff_ci(56, 70, 48, 80)
    >>> round(float(d.ci_low), 4), round(float(d.ci_high), 4)
    (0.0524, 0.3339)
    """
    x1, n1, x2, n2 = _counts(x1, n1, x2, n2)
    z_value(alpha)  # checks alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        # statsmodels' "newcomb" method is Newcombe's method 10 (equal to the formula above to 1e-16)
        low, high = (np.asarray(v, float) for v in confint_proportions_2indep(
            x1, np.where(n1 > 0, n1, np.nan), x2, np.where(n2 > 0, n2, np.nan), method="newcomb", compare="diff",
            alpha=alpha))
        p1 = np.where(n1 > 0, x1 / n1, np.nan)
        p2 = np.where(n2 > 0, x2 / n2, np.nan)
        d = p1 - p2
        se = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return Difference(_out(d), _out(low), _out(high), _out(se))


def score_test_diff(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Score (pooled) z-test of ``p1 = p2``; the signed square root of Pearson's chi-square.

    Returns
    -------
    (z, p)
        ``z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with the pooled ``p``, and the two-sided
        p-value, which equals R's ``prop.test(c(x1, x2), c(n1, n2), correct = FALSE)$p.value``.
        NaN when every subject (or none) is a success: the test is then undefined.

    Notes
    -----
    Newcombe's interval is also built from score statistics, so the two usually agree on
    whether the difference is significant at ``alpha`` (not always exactly: they are different
    inversions).

    Example
    -------
    >>> z, p = score_test_diff(56, 70, 48, 80)
    >>> round(float(z), 3)
    2.65
    """
    x1, n1, x2, n2 = _counts(x1, n1, x2, n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        se0 = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = np.where(se0 > 0, (x1 / n1 - x2 / n2) / se0, np.nan)
    p = 2 * stats.norm.sf(np.abs(z))
    return _out(z), _out(p)


def risk_ratio_katz(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike, alpha: float = 0.05,
                    correction: float = 0.5) -> Ratio:
    """Risk ratio ``p1 / p2`` with the Katz log interval; continuity correction only for zero cells.

    Parameters
    ----------
    x1, n1, x2, n2 : array_like
        Successes and trials in the first and second group.
    alpha : float
        1 - confidence level.
    correction : float
        Added to every cell of a 2x2 table that has a zero success count (``x + c`` out of
        ``n + 2c``); tables without a zero are left alone. ``corrected`` flags the tables changed.

    Returns
    -------
    Ratio
        ``estimate, ci_low, ci_high`` on the ratio scale, ``log_estimate`` and ``se`` on the log
        scale, Wald ``statistic = log_estimate / se`` and its two-sided ``p``, ``corrected``.
        NaN when both groups have no successes (nothing to compare) or a group is empty.

    Notes
    -----
    .. math::
        \\log \\widehat{RR} = \\log\\frac{x_1/n_1}{x_2/n_2}, \\quad
        se = \\sqrt{\\frac{1}{x_1} - \\frac{1}{n_1} + \\frac{1}{x_2} - \\frac{1}{n_2}}, \\quad
        CI = \\exp(\\log \\widehat{RR} \\pm z\\, se)

    References
    ----------
    Katz D, Baptista J, Azen SP, Pike MC (1978) Obtaining confidence intervals for the risk ratio
    in cohort studies. Biometrics 34:469-474. Fagerland MW, Lydersen S, Laake P (2015)
    Recommended confidence intervals for two independent binomial proportions. Stat Methods Med
    Res 24:224-254.

    Example
    -------
    >>> r = risk_ratio_katz(56, 70, 48, 80)
    >>> round(float(r.estimate), 4)
    1.3333
    """
    x1, n1, x2, n2 = _counts(x1, n1, x2, n2)
    z = z_value(alpha)
    both_zero = (x1 == 0) & (x2 == 0)
    empty = (n1 == 0) | (n2 == 0)
    corrected = ((x1 == 0) | (x2 == 0)) & ~both_zero & ~empty
    c = np.where(corrected, correction, 0.0)
    a1, m1, a2, m2 = x1 + c, n1 + 2 * c, x2 + c, n2 + 2 * c
    with np.errstate(divide="ignore", invalid="ignore"):
        log_rr = np.log(a1 / m1) - np.log(a2 / m2)
        # 1/x - 1/n can be a tiny negative number by rounding when x = n
        se = np.sqrt(np.maximum(1 / a1 - 1 / m1 + 1 / a2 - 1 / m2, 0.0))
        stat = np.where(se > 0, log_rr / se, np.nan)
    bad = both_zero | empty
    log_rr, se, stat = (np.where(bad, np.nan, v) for v in (log_rr, se, stat))
    p = 2 * stats.norm.sf(np.abs(stat))
    return Ratio(_out(np.exp(log_rr)), _out(np.exp(log_rr - z * se)), _out(np.exp(log_rr + z * se)),
                 _out(log_rr), _out(se), _out(stat), _out(p), _out(corrected))


def _fmt(v: float) -> str:
    return "∞" if np.isinf(v) else f"{v:.1f}"


def nnt_altman(rd: ArrayLike, rd_low: ArrayLike, rd_high: ArrayLike) -> NNT:
    """Number needed to treat ``1 / RD`` with its interval, by Altman's (1998) convention.

    Parameters
    ----------
    rd, rd_low, rd_high : array_like
        Risk difference (first minus second group, where a success is a good outcome such as
        response) and its confidence limits.

    Returns
    -------
    NNT
        ``estimate = 1 / rd``: positive is the number needed to treat with the first rather
        than the second for one more success (NNTB), negative minus the number for one more
        failure (NNTH). ``ci_low = 1 / rd_high`` and ``ci_high = 1 / rd_low``. When the RD
        interval excludes 0 these are ordered (``ci_low < ci_high``, same sign). When it
        includes 0 the NNT interval is not a finite interval but passes through infinity:
        ``ci_low`` (positive, the NNTB limit) is then above ``ci_high`` (negative, the NNTH
        limit) and the set is ``[ci_low, ∞) ∪ (-∞, ci_high]``. ``note`` spells it out, e.g.
        ``"NNTB 12.3 (NNTB 4.2 to ∞ to NNTH 25.0)"``, magnitudes rounded to 0.1.

    Notes
    -----
    Inverting the limits of the RD interval gives the NNT limits because ``1/x`` is monotone on
    each side of 0. A risk difference of exactly 0 gives an infinite NNT.

    References
    ----------
    Altman DG (1998) Confidence intervals for the number needed to treat. BMJ 317:1309-1312.

    Example
    -------
    >>> r = nnt_altman(0.1, -0.05, 0.25)
    >>> str(r.note)
    'NNTB 10.0 (NNTH 20.0 to ∞ to NNTB 4.0)'
    """
    rd, lo, hi = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (rd, rd_low, rd_high)))
    with np.errstate(divide="ignore", invalid="ignore"):
        est, ci_low, ci_high = 1 / rd, 1 / hi, 1 / lo
    # 1/±0 must map to +∞ (a limit of 0 reached from the benefit side) consistently
    est, ci_low, ci_high = (np.where(v == -np.inf, np.inf, v) for v in (est, ci_low, ci_high))

    def label(v: float) -> str:
        if np.isnan(v):
            return ""
        if np.isinf(v):
            return "∞"
        return f"NNTB {_fmt(v)}" if v > 0 else f"NNTH {_fmt(-v)}"

    notes = []
    for e, l_, h_, lo_, hi_ in zip(est.ravel(), ci_low.ravel(), ci_high.ravel(), lo.ravel(), hi.ravel()):
        if np.isnan(e) or np.isnan(lo_) or np.isnan(hi_):
            notes.append("")
        elif lo_ < 0 < hi_:
            # the RD interval includes 0: write it from the harm side to the benefit side
            notes.append(f"{label(e)} (NNTH {_fmt(-h_)} to ∞ to NNTB {_fmt(l_)})")
        elif lo_ >= 0:
            notes.append(f"{label(e)} (NNTB {_fmt(l_)} to {_fmt(h_)})")
        else:
            notes.append(f"{label(e)} (NNTH {_fmt(-h_)} to {_fmt(-l_)})")
    note = np.array(notes, dtype=object).reshape(est.shape)
    return NNT(_out(est), _out(ci_low), _out(ci_high), _out(note))
