"""Pooling estimates over imputations or resamples (element-wise over any trailing shape).

- :func:`rubin`: Rubin's rules with the Barnard-Rubin small-sample degrees of freedom and the fraction of missing
  information;
- :func:`jackknife`: the point estimate of the full data with the jackknife standard error, normal intervals;
- :func:`bootstrap`: percentile or normal intervals around the full-data point estimate;
- :func:`von_hippel_bartlett`: bootstrapped maximum-likelihood MI (B bootstrap samples x D imputations each).

References
----------
Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley, 1987.
Barnard J, Rubin DB. Small-sample degrees of freedom with multiple imputation. Biometrika 1999;86:948-55.
Efron B, Gong G. A leisurely look at the bootstrap, the jackknife, and cross-validation. Am Stat 1983;37:36-48.
von Hippel PT, Bartlett JW. Maximum likelihood multiple imputation: faster imputations and consistent standard
errors without posterior draws. Stat Sci 2021;36:400-20.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["rubin", "jackknife", "bootstrap", "von_hippel_bartlett", "barnard_rubin_df", "interval"]


def barnard_rubin_df(v_com: np.ndarray | float, var_b: np.ndarray, var_t: np.ndarray, m: int) -> np.ndarray:
    """Barnard-Rubin degrees of freedom; infinite complete-data df gives Rubin's (m - 1) / lambda^2."""
    var_b, var_t = np.asarray(var_b, float), np.asarray(var_t, float)
    v_com = np.broadcast_to(np.asarray(v_com, float), var_b.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = (1 + 1 / m) * var_b / var_t
        v_obs = (v_com + 1) / (v_com + 3) * v_com * (1 - lam)
        v_old = (m - 1) / lam ** 2
        df = np.where(np.isinf(v_com), v_old, v_old * v_obs / (v_old + v_obs))
    df = np.where(lam == 0, np.where(np.isinf(v_com), np.inf, v_obs), df)
    return df


def rubin(est: np.ndarray, se: np.ndarray, v_com: np.ndarray | float) -> dict[str, np.ndarray]:
    """Pool ``m`` analyses (first axis). Returns ``estimate, se, df, fmi, var_within, var_between``.

    The fraction of missing information is ``(r + 2 / (df + 3)) / (r + 1)`` with ``r = (1 + 1/m) B / W`` (Rubin
    1987, 3.1.10), using the Barnard-Rubin df.
    """
    m = est.shape[0]
    q = est.mean(axis=0)
    W = (se ** 2).mean(axis=0)
    B = est.var(axis=0, ddof=1)
    T = W + (1 + 1 / m) * B
    df = barnard_rubin_df(v_com, B, T, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (1 + 1 / m) * B / W
        fmi = np.where(np.isinf(df), r / (r + 1), (r + 2 / (df + 3)) / (r + 1))
    return {"estimate": q, "se": np.sqrt(T), "df": df, "fmi": fmi, "var_within": W, "var_between": B}


def jackknife(full: np.ndarray, leave_one_out: np.ndarray) -> dict[str, np.ndarray]:
    """Full-data estimate with the jackknife SE ``sqrt((n-1)/n sum (theta_(i) - mean)^2)`` (first axis = i)."""
    n = leave_one_out.shape[0]
    dev = leave_one_out - leave_one_out.mean(axis=0)
    se = np.sqrt((n - 1) / n * (dev ** 2).sum(axis=0))
    return {"estimate": full, "se": se, "df": np.full(full.shape, np.inf)}


def bootstrap(full: np.ndarray, boot: np.ndarray, alpha: float = 0.05, kind: str = "percentile"
              ) -> dict[str, np.ndarray]:
    """Bootstrap SE (sd of the replicates) and percentile or normal intervals around the full-data estimate.

    The percentile interval and p-value are rbmi's (``pool(type = "percentile")``): the interval is the
    ``alpha/2`` and ``1 - alpha/2`` quantiles of the bootstrap estimates (Hyndman-Fan type 6, numpy's
    ``"weibull"``), and the two-sided p-value is twice the smaller tail level at which that quantile function
    crosses 0 (rbmi finds it with ``uniroot``, to about 1e-4; here it is solved exactly), capped at 1.
    """
    se = boot.std(axis=0, ddof=1)
    out = {"estimate": full, "se": se, "df": np.full(full.shape, np.inf)}
    if kind == "percentile":
        out["ci_low"], out["ci_high"] = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0, method="weibull")
        greater, less = _percentile_p(boot)
        out["p"] = np.minimum(1.0, 2 * np.minimum(greater, less))
    return out


def _percentile_p(boot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column, rbmi's one-sided percentile p-values (``pval_percentile``): the level q at which the type-6
    quantile of the replicates is 0 (p for 'greater') and 1 - q (p for 'less'). Every replicate above 0: (0, 1);
    every one below: (1, 0); all exactly 0: (1, 1); some exactly 0: the smallest and 1 - the largest of their
    levels rank / (n + 1); otherwise linear interpolation between the order statistics around 0 (type-6 positions
    k / (n + 1))."""
    x = np.sort(np.asarray(boot, dtype=float), axis=0)
    n = x.shape[0]
    below = (x < 0).sum(axis=0)  # k: x_(k) < 0 <= x_(k+1)
    zeros = (x == 0).sum(axis=0)
    k = np.clip(below, 1, n - 1)
    lo = np.take_along_axis(x, (k - 1)[None], axis=0)[0]
    hi = np.take_along_axis(x, k[None], axis=0)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (k + (0 - lo) / (hi - lo)) / (n + 1)
    greater, less = q, 1 - q
    some_zero = zeros > 0
    greater = np.where(some_zero, (below + 1) / (n + 1), greater)
    less = np.where(some_zero, 1 - (below + zeros) / (n + 1), less)
    greater = np.where((below == 0) & ~some_zero, 0.0, greater)
    less = np.where((below == 0) & ~some_zero, 1.0, less)
    greater = np.where(below == n, 1.0, greater)
    less = np.where(below == n, 0.0, less)
    all_zero = zeros == n
    return np.where(all_zero, 1.0, greater), np.where(all_zero, 1.0, less)


def von_hippel_bartlett(est: np.ndarray, n_boot: int, per_boot: int) -> dict[str, np.ndarray]:
    """Pool ``B x D`` analyses (first axis ordered bootstrap-major) by von Hippel and Bartlett's one-way ANOVA."""
    B, D = n_boot, per_boot
    e = est.reshape((B, D) + est.shape[1:])
    point = e.mean(axis=(0, 1))
    rm = e.mean(axis=1)
    msw = ((e - rm[:, None]) ** 2).sum(axis=(0, 1)) / (B * (D - 1))
    msb = D * ((rm - point) ** 2).sum(axis=0) / (B - 1)
    var = (1 + 1 / B) * (msb - msw) / D + msw / (B * D)
    df = var ** 2 / (((B + 1) / (B * D)) ** 2 * msb ** 2 / (B - 1) + msw ** 2 / (B * D ** 2 * (D - 1)))
    return {"estimate": point, "se": np.sqrt(np.clip(var, 0, None)), "df": np.maximum(3.0, df)}


def interval(pooled: dict[str, np.ndarray], alpha: float = 0.05) -> dict[str, np.ndarray]:
    """Add ``statistic, p, ci_low, ci_high`` (t with ``df``, normal where df is infinite), unless present."""
    est, se, df = pooled["estimate"], pooled["se"], pooled["df"]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
    crit = stats.t.isf(alpha / 2, df)
    out = dict(pooled)
    out["statistic"] = t
    out.setdefault("p", 2 * stats.t.sf(np.abs(t), df))
    out.setdefault("ci_low", est - crit * se)
    out.setdefault("ci_high", est + crit * se)
    return out
