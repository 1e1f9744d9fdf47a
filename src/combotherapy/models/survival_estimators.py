"""The estimators behind :func:`combotherapy.survival` that need no trial: Kaplan–Meier step tables, the median
and its interval, the restricted mean survival time, and the proportional-hazards score test (``cox.zph``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["km_table", "km_from_counts", "km_median", "rmst_by_arm", "logrank_from_counts", "cox_zph"]

#: survival's tolerance for "the curve is at 0.5" in the median rule (sqrt of machine epsilon)
_TOL = np.sqrt(np.finfo(float).eps)


# --- Kaplan–Meier --------------------------------------------------------------------------------
def km_table(time: np.ndarray, event: np.ndarray, group: np.ndarray, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan–Meier step tables for every group at once (vectorised).

    Parameters
    ----------
    time, event, group : array
        Follow-up time, event flag (1/0), group label per subject.
    alpha : float
        1 - confidence level of the pointwise bands.

    Returns
    -------
    DataFrame
        ``group, time, n_risk, n_events, n_censored, survival, se_log, se, ci_low, ci_high`` at every distinct
        time (event or censoring) of each group, sorted by group (in order of first appearance) and time.

    Notes
    -----
    :math:`S(t) = \\prod_{t_j \\le t} (1 - d_j / n_j)`; Greenwood's variance of :math:`\\log S`,
    :math:`\\sum_{t_j \\le t} d_j / (n_j (n_j - d_j))`; pointwise band on the log scale,
    :math:`S \\exp(\\pm z\\,\\mathrm{se}_{\\log})` capped at 1 — R ``survfit``'s default ``conf.type = "log"``.
    Where the curve has dropped to 0 the band is undefined (NaN), as in R.
    """
    time, event = np.asarray(time, float), np.asarray(event, float)
    gcode, labels = pd.factorize(np.asarray(group), sort=False)  # groups in order of first appearance
    order = np.lexsort((time, gcode))
    return _km_sorted(gcode[order], time[order], event[order], np.asarray(labels, dtype=object).astype(str), alpha)


def _km_sorted(g: np.ndarray, t: np.ndarray, e: np.ndarray, labels: np.ndarray, alpha: float) -> pd.DataFrame:
    """:func:`km_table` on subjects already sorted by group code and time (stable), ``labels`` the codes' names:
    :func:`combotherapy.survival` has its subjects in that order and does not sort them again."""
    # one row per distinct (group, time): where either changes along the sorted subjects
    start = np.flatnonzero(np.r_[True, (g[1:] != g[:-1]) | (t[1:] != t[:-1])]) if t.size else np.array([], int)
    g_row, t_row = g[start], t[start]
    n_all = np.diff(np.r_[start, t.size])
    n_events = np.add.reduceat(e, start).astype(int) if t.size else np.array([], int)
    return _km_from_arrays(g_row, labels, t_row, n_all, n_events, alpha)


def km_from_counts(g: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """:func:`km_table` from the counts per group and distinct time: ``group`` (categorical, the groups' order),
    ``time``, ``n_events``, ``n_all`` (events and subjects with that time), sorted by group and time.

    What :func:`km_table` computes after its sort by group and time; the out-of-core path
    (:mod:`combotherapy.scale.survival`) gets the same counts from an aggregate query.
    """
    group = g["group"].astype("category") if not isinstance(g["group"].dtype, pd.CategoricalDtype) else g["group"]
    labels = np.asarray(group.cat.categories, dtype=object).astype(str)
    return _km_from_arrays(group.cat.codes.to_numpy(), labels, g["time"].to_numpy(float),
                           g["n_all"].to_numpy().astype(int), g["n_events"].to_numpy().astype(int), alpha)


def _km_from_arrays(g_row: np.ndarray, labels: np.ndarray, t_row: np.ndarray, n_all: np.ndarray,
                    n_events: np.ndarray, alpha: float) -> pd.DataFrame:
    """The step table from one row per (group code, distinct time), sorted by group and time."""
    n = np.empty(g_row.size)
    survival = np.empty(g_row.size)
    d = n_events.astype(float)
    bounds = np.flatnonzero(np.r_[True, g_row[1:] != g_row[:-1], True]) if g_row.size else np.array([0])
    for lo, hi in zip(bounds[:-1], bounds[1:]):  # one pass per group (a handful), vectorised within
        # at risk at t: subjects whose time is >= t = reverse cumulative count within the group
        n[lo:hi] = np.cumsum(n_all[lo:hi][::-1])[::-1]
        survival[lo:hi] = np.cumprod(1 - d[lo:hi] / n[lo:hi])
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(n > d, d / (n * (n - d)), np.inf)
    # Greenwood's sum by pandas' grouped cumsum (compensated summation, as before) on integer group codes
    var_log = pd.Series(term).groupby(g_row).cumsum().to_numpy()
    s = survival
    se_log = np.where(s > 0, np.sqrt(var_log), np.nan)
    z = stats.norm.isf(alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ci_low = np.where(s > 0, s * np.exp(-z * se_log), np.nan)
        ci_high = np.where(s > 0, np.minimum(1.0, s * np.exp(z * se_log)), np.nan)
    return pd.DataFrame({"group": labels[g_row], "time": t_row,
                         "n_risk": n.astype(n_all.dtype), "n_events": n_events, "n_censored": n_all - n_events,
                         "survival": s, "se_log": se_log, "se": s * se_log, "ci_low": ci_low, "ci_high": ci_high})


def _first_below_half(y: np.ndarray, x: np.ndarray) -> float:
    """R survival's median rule (``survmean``): first x where y <= 0.5; when y is exactly 0.5 there,
    the midpoint between that x and the next x where y drops below 0.5."""
    keep = ~np.isnan(y) & (y < 0.5 + _TOL)
    if not keep.any():
        return np.nan
    x, y = x[keep], y[keep]
    lower = np.flatnonzero(y < y[0])
    if abs(y[0] - 0.5) < _TOL and lower.size:
        return float((x[0] + x[lower[0]]) / 2)
    return float(x[0])


def km_median(curve: pd.DataFrame) -> tuple[float, float, float]:
    """Median and its CI from one group's KM table: where the curve, its lower and its upper band reach 0.5.

    The CI is the set of times at which the pointwise (log-transformed) band contains 0.5 (Brookmeyer and
    Crowley's construction with the log transform), exactly as R ``summary(survfit(...))$table`` reports it.
    """
    x = curve["time"].to_numpy(float)
    return (_first_below_half(curve["survival"].to_numpy(float), x),
            _first_below_half(curve["ci_low"].to_numpy(float), x),
            _first_below_half(curve["ci_high"].to_numpy(float), x))


def rmst_by_arm(curves: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """Restricted mean survival time (area under each KM curve on [0, horizon]) and its variance.

    Notes
    -----
    With event times :math:`t_j \\le \\tau`, :math:`\\hat\\mu(\\tau) = \\int_0^\\tau \\hat S(t)\\,dt` and
    :math:`\\widehat{\\mathrm{var}} = \\sum_{t_j \\le \\tau} A_j^2\\, d_j / (n_j (n_j - d_j))` with
    :math:`A_j = \\int_{t_j}^{\\tau} \\hat S(t)\\,dt` (Klein & Moeschberger 2003, sec. 4.5), the variance of
    survRM2's ``rmst2`` and of R ``print(survfit, rmean = tau)``. Terms with :math:`n_j = d_j` are 0 (there
    :math:`A_j = 0`). This is the sampling variance of the estimated area. lifelines'
    ``restricted_mean_survival_time(..., return_variance=True)`` instead returns
    :math:`2\\int_0^\\tau t \\hat S(t)\\,dt - \\hat\\mu^2`, the variance of the restricted time
    :math:`\\min(T, \\tau)` itself, which does not shrink with the sample size and must not be used for CIs.
    """
    # the table's columns once as arrays; each arm's rows up to the horizon by position (no frame per arm)
    codes, groups = pd.factorize(curves["group"].to_numpy(object), sort=False)   # arms in order of appearance
    within = curves["time"].to_numpy(float) <= horizon
    times, surv = curves["time"].to_numpy(float), curves["survival"].to_numpy(float)
    n_risk, n_ev = curves["n_risk"].to_numpy(float), curves["n_events"].to_numpy(float)
    rows = []
    for i, grp in enumerate(groups):  # one pass per arm (a handful), vectorised within
        at = np.flatnonzero(within & (codes == i))
        t = np.concatenate([[0.0], times[at], [horizon]])
        s = np.concatenate([[1.0], surv[at]])  # S on [t_k, t_{k+1})
        areas = np.diff(t) * s
        after = np.cumsum(areas[::-1])[::-1][1:]  # area from each t_j to the horizon
        n, d = n_risk[at], n_ev[at]
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(n > d, d / (n * (n - d)), 0.0)
        rows.append({"arm": grp, "horizon": float(horizon), "estimate": float(areas.sum()),
                     "var": float(np.sum(after ** 2 * h))})
    return pd.DataFrame(rows)


# --- log-rank test ---------------------------------------------------------------------------------
def logrank_from_counts(counts: pd.DataFrame, groups: Sequence[str]) -> tuple[float, float]:
    """The k-sample log-rank chi-square and p from the events and subjects per group and distinct time.

    Parameters
    ----------
    counts : DataFrame
        ``group, time, n_events, n_all``: per group and distinct time the events and the subjects (events and
        censorings) with that time; with a ``stratum`` column, per stratum too, and the test is stratified
        (the sums of ``O - E`` and of the covariances over the strata, as ``survdiff(strata=)``).
    groups : sequence of str
        The groups compared (k of them; the test has k - 1 df).

    Returns
    -------
    (chisq, p)

    Notes
    -----
    The arithmetic of statsmodels' ``survdiff`` on the same numbers: at each distinct time
    the number at risk per group (reverse cumulative count), ``O - E`` of groups 2..k (groups sorted, the first
    the reference) and the hypergeometric covariance ``r_g (delta_gh - r_h) d (N - d) / (N - 1)``, summed over the
    times with more than one subject at risk; ``chisq = (O - E)' V^-1 (O - E)`` on k - 1 df. :func:`km_table`'s
    rows are these counts (``n_all = n_events + n_censored``): :func:`combotherapy.survival` tests on them, and
    the out-of-core path (:mod:`combotherapy.scale.survival`) on the counts of an aggregate query.

    Example
    -------
    >>> import pandas as pd
    >>> from combotherapy.scale.survival import logrank_from_counts
    >>> c = pd.DataFrame({"group": ["a", "a", "b", "b"], "time": [1.0, 2.0, 1.0, 3.0],
    ...                   "n_events": [1, 1, 0, 1], "n_all": [1, 1, 1, 1]})
    >>> logrank_from_counts(c, ["a", "b"])[0]     # statsmodels survdiff on the four rows: 2.0
    2.0
    """
    gr = np.unique(np.asarray(list(groups), dtype=object).astype(str))

    def parts(c: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        code = pd.Categorical(c["group"].astype(str), categories=list(gr)).codes
        return _logrank_parts(code, c["time"].to_numpy(float), c["n_all"].to_numpy(float),
                              c["n_events"].to_numpy(float), len(gr))

    if "stratum" in counts.columns:  # stratified: the sums of every stratum (as survdiff(strata=))
        labels = counts["stratum"].astype(str)
        ps = [parts(counts.loc[labels == st]) for st in np.unique(labels)]
        o, v = np.sum([p[0] for p in ps], axis=0), np.sum([p[1] for p in ps], axis=0)
    else:
        o, v = parts(counts)
    return _logrank_chisq(o, v, len(gr))


def _logrank_chisq(o: np.ndarray, v: np.ndarray, k: int) -> tuple[float, float]:
    chisq = float(o.dot(np.linalg.solve(v, o)))
    return chisq, float(1 - stats.chi2.cdf(chisq, k - 1))


def _logrank_parts(code: np.ndarray, time: np.ndarray, n_all: np.ndarray, d: np.ndarray, k: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """O - E of groups 2..k and their covariance within one stratum (statsmodels' ``_survdiff``), from one row
    per (group, distinct time): ``code`` the group's position among the k sorted groups."""
    utimes, rt = np.unique(time, return_inverse=True)
    ml = len(utimes)
    nrisk, obsv = [], []
    for j in range(k):
        mk = code == j
        n = np.bincount(rt[mk], weights=n_all[mk], minlength=ml)
        obsv.append(np.bincount(rt[mk], weights=d[mk], minlength=ml))
        nrisk.append(np.cumsum(n[::-1])[::-1])
    obs = sum(obsv)
    nrisk_tot = sum(nrisk)
    ix = np.flatnonzero(nrisk_tot > 1)
    dfs = k - 1
    r = np.vstack(nrisk) / np.clip(nrisk_tot, 1e-10, np.inf)[None, :]
    var_denom = np.clip(nrisk_tot - 1, 1e-10, np.inf)
    oe_rows, var_rows = [], []
    for g in range(1, dfs + 1):
        oe = obsv[g] - r[g] * obs
        var = r[1:, :].T * (np.eye(1, dfs, g - 1).ravel() - r[g, :, None]) \
            * (obs * (nrisk_tot - obs) / var_denom)[:, None]
        oe_rows.append(oe[ix].sum())
        var_rows.append(var[ix].sum(axis=0))
    return np.hstack(oe_rows), np.vstack(var_rows)


# --- proportional hazards check ------------------------------------------------------------------
def cox_zph(time: np.ndarray, event: np.ndarray, X: np.ndarray, beta: np.ndarray, ties: str,
            order: np.ndarray | None = None, weights: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Score test of proportional hazards (R ``cox.zph(fit, transform = "km")``, survival >= 3.0).

    The Cox model is extended by :math:`X\\,g(t)` with :math:`g(t) = 1 - \\hat S(t-)` (pooled KM, left-continuous)
    centred at its mean over the events; the score test of the added coefficients at
    :math:`(\\hat\\beta, 0)` uses the full :math:`2p \\times 2p` information (Efron or Breslow as the fit).
    ``order``, optional, is the stable sort of the subjects by time when the caller has it (:func:`cox_fit`'s
    ``order`` on the same rows): the check then does not sort again. ``weights``, optional: frequency weights
    as in :func:`cox_fit` (rows standing for identical subjects); the per-event outputs then repeat each event
    row as many times as its weight.

    Returns
    -------
    chisq (per coefficient), chisq_global, g-times of the events, event times (sorted),
    scaled Schoenfeld residuals (events x p), and the ``km`` x-values of the events.
    """
    n, p = X.shape
    w = None if weights is None else np.asarray(weights, float)
    # centring: invariant statistics, better numerics (as survival's C code)
    X = X - (X.mean(axis=0) if w is None else (w @ X) / w.sum())
    r = np.exp(X @ beta)
    # one stable sort by time serves the distinct times, the pooled KM and the residuals' order (event times
    # in time order, ties in subject order)
    if order is None:
        order = np.argsort(time, kind="stable")
    ts = time[order]
    new = np.r_[True, ts[1:] != ts[:-1]] if n else np.zeros(0, bool)
    inv = np.empty(n, dtype=np.intp)
    inv[order] = np.cumsum(new) - 1  # index of each subject's distinct time (np.unique's inverse)
    m = int(new.sum())
    dead = event == 1
    # pooled KM, left-continuous, at each subject's time: 1 - S(t-) (km_table's arithmetic on one group: at
    # risk = reverse cumulative count, S = cumulative product of 1 - d/n); S(t-) = S at the previous distinct time
    n_all = np.bincount(inv, minlength=m) if w is None else np.bincount(inv, w, minlength=m)
    d_all = np.bincount(inv, dead.astype(float) if w is None else w * dead, minlength=m).astype(int).astype(float)
    ks = np.cumprod(1 - d_all / np.cumsum(n_all[::-1])[::-1])
    ttimes = 1 - np.concatenate([[1.0], ks])[inv]
    gtime = ttimes - (ttimes[dead].mean() if w is None else (w[dead] @ ttimes[dead]) / w[dead].sum())

    # risk-set sums at each distinct event time, by reverse cumulative sums over time-sorted subjects
    def by_time(v: np.ndarray) -> np.ndarray:
        """Sums of v over the subjects at each distinct time (bincount per column: no Python loop over rows)."""
        flat = v.reshape(v.shape[0], -1)
        if w is not None:
            flat = flat * w[:, None]
        out = np.column_stack([np.bincount(inv, flat[:, j], m) for j in range(flat.shape[1])])
        return out.reshape((m,) + v.shape[1:])

    upper = [(j, k) for j in range(p) for k in range(j, p)]

    def by_time_xx(wt: np.ndarray) -> np.ndarray:
        """by_time(wt * x x') without the subjects x p x p array: the upper triangle's products (the same
        product wt * (x_j x_k) per subject), mirrored."""
        out = np.empty((m, p, p))
        if w is not None:
            wt = wt * w
        for j, k in upper:  # a handful of coefficients
            out[:, j, k] = out[:, k, j] = np.bincount(inv, wt * (X[:, j] * X[:, k]), m)
        return out
    s0_all, s1_all, s2_all = by_time(r), by_time(r[:, None] * X), by_time_xx(r)
    S0 = np.cumsum(s0_all[::-1], axis=0)[::-1]
    S1 = np.cumsum(s1_all[::-1], axis=0)[::-1]
    S2 = np.cumsum(s2_all[::-1], axis=0)[::-1]
    dw = dead.astype(float)
    D = by_time(dw).astype(int)
    D0, D1, D2 = by_time(dw * r), by_time((dw * r)[:, None] * X), by_time_xx(dw * r)
    Xd = by_time(dw[:, None] * X)
    g_t = by_time(dw * gtime) / np.maximum(D, 1)  # g at each event time (same for all tied events)

    ev = np.flatnonzero(D > 0)
    dk = D[ev]
    # Efron: the k-th of d tied events sees the tied deaths' risk scaled by (1 - k/d); Breslow: k/d = 0
    rep = np.repeat(ev, dk)
    k = np.arange(rep.size) - np.repeat(np.cumsum(dk) - dk, dk)
    f = k / D[rep] if ties == "efron" else np.zeros(rep.size)
    # per event, one contiguous row per coefficient (pair): the same elementwise arithmetic as on events x p
    # (x p) arrays, and each sum over the events by cumsum, the sequential sum of .sum(axis=0) on those arrays
    def event_sum(v: np.ndarray) -> float:
        return float(np.cumsum(v)[-1]) if v.size else 0.0

    s0 = S0[rep] - f * D0[rep]
    meanT = np.empty((p, rep.size))
    for j in range(p):
        meanT[j] = (S1[:, j][rep] - f * D1[:, j][rep]) / s0
    gk = g_t[rep]
    gk2 = gk ** 2
    imat = np.zeros((2 * p, 2 * p))
    for j, k_ in upper:  # V is symmetric: the upper triangle, mirrored
        v_jk = (S2[:, j, k_][rep] - f * D2[:, j, k_][rep]) / s0 - meanT[j] * meanT[k_]
        imat[j, k_] = imat[k_, j] = event_sum(v_jk)
        imat[j, p + k_] = imat[p + k_, j] = imat[k_, p + j] = imat[p + j, k_] = event_sum(gk * v_jk)
        imat[p + j, p + k_] = imat[p + k_, p + j] = event_sum(gk2 * v_jk)
    u = (g_t[ev, None] * Xd[ev]).sum(axis=0) - np.array([event_sum(gk * meanT[j]) for j in range(p)])

    full = np.concatenate([np.zeros(p), u])
    chisq = np.array([full[np.r_[0:p, p + j]] @ np.linalg.solve(imat[np.ix_(np.r_[0:p, p + j], np.r_[0:p, p + j])],
                                                                 full[np.r_[0:p, p + j]]) for j in range(p)])
    global_ = float(full @ np.linalg.solve(imat, full))

    # scaled Schoenfeld residuals: x_i minus the (Efron-averaged) risk-set mean, times (I/d)^-1, plus beta
    mean_per_time = np.column_stack([np.bincount(rep, meanT[j], m) for j in range(p)]) if p else np.zeros((m, 0))
    mean_per_time[ev] /= dk[:, None]
    order = order[dead[order]]
    n_dead = dead.sum()
    if w is not None:   # each event row once per subject it stands for
        order = np.repeat(order, np.rint(w[order]).astype(np.intp))
        n_dead = order.size
    schoen = X[order] - mean_per_time[inv[order]]
    scaled = schoen @ np.linalg.inv(imat[:p, :p] / n_dead) + beta
    return chisq, np.array([global_]), gtime[order], time[order], scaled, ttimes[order]


# --- Cox proportional hazards ----------------------------------------------------------------------
def _cox_risk_sets(time: np.ndarray, event: np.ndarray, strata: np.ndarray | None, ties: str,
                   weights: np.ndarray | None = None) -> list[dict]:
    """Per stratum, what does not depend on the coefficients: the subjects, their distinct-time index, the
    event expansion (one entry per event, its distinct time and its Efron fraction k/d). With ``weights``
    (whole numbers) each row stands for that many subjects with the same time, event and covariates."""
    if strata is None:
        groups = [np.arange(time.size)]
    else:
        codes = pd.factorize(pd.Series(strata), sort=True)[0]
        order = np.argsort(codes, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
    out = []
    for rows in groups:  # one pass per stratum (a handful), vectorised within
        rows = rows[np.argsort(time[rows], kind="stable")]  # by time: the gathers below read memory in order
        ts = time[rows]
        new = np.r_[True, ts[1:] != ts[:-1]] if ts.size else np.zeros(0, bool)
        inv = np.cumsum(new) - 1        # index of the distinct time (sorted already: no second sort)
        ut = ts[new]
        dead = event[rows] == 1
        w = None if weights is None else weights[rows]
        d = np.bincount(inv[dead], minlength=ut.size) if w is None else \
            np.rint(np.bincount(inv[dead], w[dead], minlength=ut.size)).astype(np.intp)
        ev = np.flatnonzero(d > 0)
        dk = d[ev]
        rep = np.repeat(ev, dk)
        k = np.arange(rep.size) - np.repeat(np.cumsum(dk) - dk, dk)
        f = k / d[rep] if ties == "efron" else np.zeros(rep.size)
        out.append({"rows": rows, "inv": inv, "dead": dead, "m": ut.size, "rep": rep, "f": f,
                    "tied": bool(np.any(f > 0)), "w": w})
    return out


def _cox_eval(X: np.ndarray, beta: np.ndarray, sets: list[dict]) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood (Efron or Breslow, as the fractions in ``sets``), its gradient and the observed
    information, with risk-set sums by reverse cumulative sums over distinct times.

    For the expanded events k (the j-th of d tied events at a time sees the tied deaths' risk scaled by
    1 - j/d), :math:`s_{0k} = S_0 - f_k D_0`, :math:`s_{1k} = S_1 - f_k D_1`; the information's
    :math:`\\sum_k s_{2k}/s_{0k}` is written as one weighted cross-product :math:`X^T \\mathrm{diag}(w) X` with
    :math:`w_i = r_i \\sum_{t_k \\le t_i} 1/s_{0k} - \\delta_i r_i \\sum_{k \\text{ at } t_i} f_k / s_{0k}`,
    so no array of subjects x p x p is formed. With frequency weights (``sets[i]["w"]``, rows standing for
    several identical subjects) every sum over subjects is weighted; the expansion over events is unchanged.
    """
    p = X.shape[1]
    loglik, grad, info = 0.0, np.zeros(p), np.zeros((p, p))
    for s in sets:
        Xs, XT, Xd_sum = s["X"], s["XT"], s["Xd_sum"]
        inv, dead, m, rep, f, tied, wt = s["inv"], s["dead"], s["m"], s["rep"], s["f"], s["tied"], s["w"]
        eta = Xs @ beta
        r = np.exp(eta)
        if wt is not None:   # r below is what each row contributes to the risk sets: its weight times exp(eta)
            r = wt * r
        S0 = np.cumsum(np.bincount(inv, r, m)[::-1])[::-1]
        # per coefficient on contiguous columns (XT = Xs.T, copied once): the same products and sums
        S1T = np.empty((p, m))
        for j in range(p):  # a handful of coefficients
            S1T[j] = np.cumsum(np.bincount(inv, r * XT[j], m)[::-1])[::-1]
        meanT = np.empty((p, rep.size))  # the events' risk-set means, one contiguous row per coefficient
        if tied:  # Efron's correction for tied events (f = k/d > 0 somewhere)
            rd = np.where(dead, r, 0.0)
            D0 = np.bincount(inv, rd, m)
            s0k = S0[rep] - f * D0[rep]
            for j in range(p):
                meanT[j] = (S1T[j][rep] - f * np.bincount(inv, rd * XT[j], m)[rep]) / s0k
        else:  # no tied events, or Breslow: f = 0 and the terms above are exactly S0, S1
            s0k = S0[rep]
            for j in range(p):
                meanT[j] = S1T[j][rep] / s0k
        loglik += float((eta[dead].sum() if wt is None else (wt * eta)[dead].sum()) - np.log(s0k).sum())
        # the events' sum in event order (cumsum: the sequential sum of mean.sum(axis=0) on events x p)
        grad += Xd_sum - (np.cumsum(meanT, axis=1)[:, -1] if rep.size else np.zeros(p))
        c = np.cumsum(np.bincount(rep, 1 / s0k, m))
        w = r * c[inv]
        if tied:
            w -= rd * np.bincount(rep, f / s0k, m)[inv]
        info += (Xs * w[:, None]).T @ Xs - meanT @ meanT.T
    return loglik, grad, info


def cox_fit(time: np.ndarray, event: np.ndarray, X: np.ndarray, ties: str = "efron",
            strata: np.ndarray | None = None, *, tol: float = 1e-8, maxiter: int = 100,
            weights: np.ndarray | None = None) -> dict:
    """Cox proportional hazards by Newton–Raphson on the partial likelihood (Efron or Breslow ties, strata).

    The iteration is statsmodels ``PHReg(...).fit()``'s: Newton steps from 0 on the likelihood divided by the
    number of subjects, with 1e-10 added to the diagonal of that scaled information, until no coefficient
    moves by more than ``tol`` (not converged after ``maxiter`` steps: monotone likelihood); the covariance is
    the inverse observed information at the estimate. The columns of ``X`` are centred first (the partial
    likelihood does not change; ``exp`` stays in range).

    ``weights``, optional: frequency weights (whole numbers), each row standing for that many subjects with the
    same time, event and covariates (e.g. one row per arm, distinct time and event status for a model on arm
    alone): the same fit as on the subjects themselves, up to the order of the floating-point sums. The number of
    subjects is then the sum of the weights, and ``order`` sorts the rows.

    Returns
    -------
    dict
        ``params``, ``vcov``, ``llf`` (log partial likelihood, as R ``coxph``'s ``loglik[2]``), ``converged``,
        ``iterations``, ``order`` (without strata: the stable sort of the subjects by time, for :func:`cox_zph`;
        None with strata).
    """
    time, event = np.asarray(time, float), np.asarray(event, float)
    X = np.asarray(X, float)
    n, p = X.shape
    if weights is None:
        Xc = X - X.mean(axis=0)
    else:
        weights = np.asarray(weights, float)
        n = float(weights.sum())
        Xc = X - (weights @ X) / n   # the subjects' mean
    sets = _cox_risk_sets(time, event, strata, ties, weights)
    for s in sets:
        s["X"] = Xc[s["rows"]]  # each stratum's rows once, in time order
        s["XT"] = np.ascontiguousarray(s["X"].T)  # and per coefficient, contiguous
        # the events' covariate sum (does not depend on beta)
        s["Xd_sum"] = s["X"][s["dead"]].sum(axis=0) if s["w"] is None else (s["w"][s["dead"]] @ s["X"][s["dead"]])
    beta = np.zeros(p)
    old = beta + np.inf
    it = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while it < maxiter and np.any(np.abs(beta - old) > tol):
            _, grad, info = _cox_eval(Xc, beta, sets)
            H = info / n
            H[np.diag_indices(p)] += 1e-10
            old = beta
            try:
                beta = old + np.linalg.solve(H, grad / n)
            except np.linalg.LinAlgError:
                beta = np.full(p, np.nan)
                break
            it += 1
        llf, _, info = _cox_eval(Xc, beta, sets)
        try:
            vcov = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            vcov = np.full((p, p), np.nan)
    return {"params": beta, "vcov": vcov, "llf": llf, "converged": it < maxiter and bool(np.all(np.isfinite(beta))),
            "iterations": it, "order": sets[0]["rows"] if strata is None else None}
