"""Frequentist contrast-based network meta-analysis (netmeta's graph-theoretical approach).

``netmeta`` takes one row per comparison (the output of :func:`~combotherapy.meta.pairwise`, or reported
contrasts), handles multi-arm studies exactly through netmeta's variance adjustment, and returns treatment effects
against any reference, the league table, P-scores, tau^2, and Cochran's Q split into within-design heterogeneity
and between-design inconsistency. ``netsplit`` separates direct from indirect evidence (back-calculation) and
``netrank`` gives P-scores or simulated SUCRA and rank probabilities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ArgumentError, DataError
from ..results import Result
from . import _graph
from ._fitted import StudyFitted as Fitted
from ._nma_tau import NMA_TAU_METHODS, tau2_likelihood

__all__ = ["netmeta", "NetmetaResult", "netsplit", "netrank", "league_table"]


class NetmetaResult(Result):
    """A network meta-analysis.

    Attributes
    ----------
    estimates : DataFrame
        Each treatment against ``reference`` (``model`` common/random): ``treatment, estimate, se, statistic,
        p, ci_low, ci_high``.
    comparisons : DataFrame
        Every ordered pair ``treat1, treat2`` (treat1 - treat2) for both models.
    heterogeneity : DataFrame
        ``tau2, tau, I2`` (percent) with its Higgins-Thompson interval ``I2_low, I2_high``, ``Q, df, p``.
    decomposition : DataFrame
        Q: total, within designs, between designs (common effects) and between designs under the random-effects
        design-by-treatment interaction model (``tau_within``).
    ranking : DataFrame
        P-scores for both models.
    """

    tables = ("estimates", "heterogeneity", "decomposition", "ranking", "comparisons")

    def __init__(self, title, fitted, *, trts, reference, data, fits, tau2, small_values, level, measure,
                 method_tau="DL", **tables):
        super().__init__(title, fitted, **tables)
        self.trts, self.reference, self.data, self.fits, self.tau2 = trts, reference, data, fits, tau2
        self.small_values, self.level, self.measure, self.method_tau = small_values, level, measure, method_tau

    @property
    def n(self) -> int:
        return len(self.trts)

    def effects(self, model: str = "random") -> tuple[pd.DataFrame, pd.DataFrame]:
        """The n x n matrices of effects (row minus column) and their standard errors."""
        f = self.fits[model]
        th, cov = f["theta"], f["cov"]
        te = th[:, None] - th[None, :]
        var = np.diag(cov)[:, None] + np.diag(cov)[None, :] - 2 * cov
        se = np.sqrt(np.clip(var, 0, None))
        return (pd.DataFrame(te, index=self.trts, columns=self.trts),
                pd.DataFrame(se, index=self.trts, columns=self.trts))

    def headline(self) -> list[str]:
        h = self.heterogeneity.iloc[0]
        d = self.decomposition.set_index("source")
        return [f"{self.n} treatments, {self.data['study'].nunique()} studies, {len(self.data)} comparisons; "
                f"tau2 = {h['tau2']:.4g}, I2 = {h['I2']:.1f}%",
                f"Q within designs {d.loc['within designs', 'Q']:.2f} (df {d.loc['within designs', 'df']:.0f}), "
                f"between designs {d.loc['between designs', 'Q']:.2f} (df {d.loc['between designs', 'df']:.0f}, "
                f"p = {d.loc['between designs', 'p']:.3g})"]


def netmeta(data: pd.DataFrame, *, TE: str = "TE", seTE: str = "seTE", treat1: str = "treat1",
            treat2: str = "treat2", study: str = "study", reference: str | None = None,
            small_values: str = "desirable", level: float = 0.95, measure: str | None = None,
            method_tau: str = "DL") -> NetmetaResult:
    """Contrast-based network meta-analysis, common and random effects (netmeta's ``netmeta``).

    Parameters
    ----------
    data : DataFrame
        One row per comparison; a multi-arm study gives all its k(k-1)/2 comparisons.
    TE, seTE, treat1, treat2, study : str
        Columns: effect treat1 - treat2 (log scale for ratio measures), its standard error, treatments, study.
    reference : str, optional
        Reference treatment of ``estimates`` (default: the first in alphabetical order).
    small_values : {"desirable", "undesirable"}
        Whether small effects are good (for ranking).
    level : float
    measure : str, optional
        Name of the effect measure (taken from ``data.attrs`` when made by ``pairwise``).
    method_tau : {"DL", "REML", "ML"}
        Estimator of tau^2: the generalised DerSimonian-Laird (default), restricted or full maximum likelihood
        (netmeta's ``method.tau``; see Notes).

    Returns
    -------
    NetmetaResult

    Raises
    ------
    DataError
        A disconnected network (the message names each sub-network's treatments and studies: analyse them
        separately or join them through shared components with :func:`~combotherapy.meta.discomb`); a multi-arm
        study with missing or inconsistent comparisons.

    Notes
    -----
    With the edge-vertex incidence matrix B, the multi-arm-adjusted weights W and the Laplacian ``L = B'WB``:
    ``theta = L^+ B'W y``, ``Cov = L^+``; ``Q = (y - B theta)' W (y - B theta)`` with
    ``df = sum_s (arms_s - 1) - (n - 1)``; tau^2 by the generalised DerSimonian-Laird estimator
    ``max(0, (Q - df) / tr((I - H) U W))``. The random-effects model adds tau^2 to each comparison's variance before
    the multi-arm adjustment. Q is split into within-design Q (a model with separate effects per design) and the
    between-design remainder (design-by-treatment inconsistency).

    ``method_tau="REML"`` or ``"ML"`` estimates tau^2 as netmeta does through ``metafor::rma.mv``: each study's
    contrasts against one baseline arm, a common tau^2 with covariance tau^2/2 between contrasts of the same study,
    and within a multi-arm study the baseline arm's variance as covariance when the data come from
    :func:`~combotherapy.meta.pairwise` (columns ``var1, var2``), zero covariance for contrasts only (as netmeta).
    The random-effects model then uses that tau^2; Q, I^2 and the decomposition do not depend on it.

    References
    ----------
    Rücker G. Network meta-analysis, electrical networks and graph theory. Res Synth Methods 2012;3:312-324.
    Krahn U, Binder H, König J. A graphical tool for locating inconsistency in network meta-analyses.
    BMC Med Res Methodol 2013;13:35. Rücker G, Schwarzer G. Ranking treatments in frequentist network
    meta-analysis works without resampling methods. BMC Med Res Methodol 2015;15:58.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"study": ["s1", "s2", "s3", "s3", "s3"], "treat1": ["A", "B", "A", "A", "B"],
    ...                   "treat2": ["B", "C", "B", "C", "C"], "TE": [0.5, 0.3, 0.4, 0.9, 0.5],
    ...                   "seTE": [0.2, 0.2, 0.25, 0.25, 0.25]})
    >>> res = netmeta(d, reference="A")
    >>> res.estimates.query("model == 'common'")["treatment"].tolist()
    ['B', 'C']
    """
    if small_values not in ("desirable", "undesirable"):
        raise ValueError("small_values must be 'desirable' or 'undesirable'")
    d = _graph.prepare(data, TE, seTE, treat1, treat2, study)
    trts = sorted(set(d["treat1"]) | set(d["treat2"]))
    parts = _graph.subnetworks(d, trts)
    if len(parts) > 1:
        raise DataError(disconnected_message(d, parts))
    _graph.check_multiarm(d)
    if reference is None:
        reference = trts[0]
    if reference not in trts:
        raise DataError(f"reference treatment {reference!r} is not in the network (treatments: {', '.join(trts)})")
    if method_tau not in NMA_TAU_METHODS:
        raise ArgumentError(f"method_tau must be one of {', '.join(NMA_TAU_METHODS)}, not {method_tau!r}",
                            argument="method_tau", kind="unknown")
    measure = measure or data.attrs.get("measure", "")
    B = _graph.incidence(d, trts)
    y = d["TE"].to_numpy()
    common, random, tau2, df = _fit_network(d, trts, B, reference, method_tau, measure)
    fits = {"common": common, "random": random}
    Q = common["Q"]
    i2, i2_lo, i2_hi = _graph.i2_interval(Q, df, level)
    het = pd.DataFrame({"tau2": [tau2], "tau": [np.sqrt(tau2)], "I2": [i2], "I2_low": [i2_lo], "I2_high": [i2_hi],
                        "Q": [Q], "df": [df], "p": [stats.chi2.sf(Q, df) if df > 0 else np.nan]})
    res = NetmetaResult(f"Network meta-analysis{f' ({measure})' if measure else ''}",
                        Fitted(model="contrast-based network meta-analysis (graph-theoretical, weighted least squares)",
                               formula="TE ~ treatment differences", df_method="normal (z)", alpha=1 - level,
                               notes=list(d.attrs.get("notes", [])) + [
                                   f"tau2 by {_TAU_LABEL[method_tau]}; reference: {reference}; "
                                   f"small values are {small_values}."],
                               studies=int(d["study"].nunique()), comparisons=len(d)),
                        trts=trts, reference=reference, data=d, fits=fits, tau2=tau2, small_values=small_values,
                        level=level, measure=measure, method_tau=method_tau, estimates=pd.DataFrame(), heterogeneity=het,
                        decomposition=_decomposition(d, B, y, common, df), ranking=pd.DataFrame(),
                        comparisons=pd.DataFrame())
    res.estimates = _versus(res, reference)
    res.comparisons = _all_pairs(res)
    res.ranking = pscores(res)
    return res


_TAU_LABEL = {"DL": "the generalised DerSimonian-Laird estimator", "REML": "restricted maximum likelihood",
              "ML": "maximum likelihood"}


def _fit_network(d: pd.DataFrame, trts: list[str], B: np.ndarray, reference: str, method_tau: str,
                 measure: str) -> tuple[dict, dict, float, int]:
    """Common- and random-effects fits of a connected network, tau^2 and the df of Q."""
    y = d["TE"].to_numpy()
    common = _graph.wls(B, y, _graph.adjusted_variances(d))
    df = _graph.df_total(d, len(trts) - 1)
    if method_tau == "DL":
        tau2 = _graph.tau2_dl(B, common, d, df)
    else:
        tau2 = tau2_likelihood(d, trts, reference, method_tau, measure=measure)
    random = _graph.wls(B, y, _graph.adjusted_variances(d, 0.0 if not np.isfinite(tau2) else tau2))
    return common, random, tau2, df


def disconnected_message(d: pd.DataFrame, parts: list[list[str]]) -> str:
    lines = [f"the network is disconnected: {len(parts)} sub-networks share no treatment, so they cannot be compared."]
    for i, part in enumerate(parts, 1):
        studies = sorted(set(d.loc[d["treat1"].isin(part), "study"]))
        lines.append(f"  - sub-network {i}: treatments {', '.join(part)}; studies {', '.join(studies[:8])}"
                     f"{' and more' if len(studies) > 8 else ''}")
    lines.append("Analyse each sub-network separately, or, if treatments share components, use meta.discomb().")
    return "\n".join(lines)


def _ci(est, se, level):
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    p = 2 * stats.norm.sf(np.abs(stat))
    return stat, p, est - z * se, est + z * se


def _versus(res: NetmetaResult, reference: str) -> pd.DataFrame:
    rows = []
    for model in ("common", "random"):
        te, se = res.effects(model)
        others = [t for t in res.trts if t != reference]
        est, s = te.loc[others, reference].to_numpy(), se.loc[others, reference].to_numpy()
        stat, p, lo, hi = _ci(est, s, res.level)
        rows.append(pd.DataFrame({"model": model, "treatment": others, "reference": reference, "estimate": est,
                                  "se": s, "df": np.inf, "statistic": stat, "p": p, "p_adj": p, "ci_low": lo,
                                  "ci_high": hi}))
    return pd.concat(rows, ignore_index=True)


def _all_pairs(res: NetmetaResult) -> pd.DataFrame:
    rows = []
    n = res.n
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    for model in ("common", "random"):
        te, se = res.effects(model)
        est, s = te.to_numpy()[i, j], se.to_numpy()[i, j]
        stat, p, lo, hi = _ci(est, s, res.level)
        rows.append(pd.DataFrame({"model": model, "treat1": np.array(res.trts)[i], "treat2": np.array(res.trts)[j],
                                  "estimate": est, "se": s, "df": np.inf, "statistic": stat, "p": p, "p_adj": p,
                                  "ci_low": lo, "ci_high": hi}))
    return pd.concat(rows, ignore_index=True)


def pscores(res, models=("common", "random")) -> pd.DataFrame:
    """P-scores (Rücker and Schwarzer 2015): the mean certainty that a treatment is better than each other one."""
    out = pd.DataFrame({"treatment": res.trts})
    for model in models:
        te, se = res.effects(model)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = te.to_numpy() / se.to_numpy()
        prob = stats.norm.cdf(-z if res.small_values == "desirable" else z)
        np.fill_diagonal(prob, 0.0)
        out[f"pscore_{model}"] = prob.sum(axis=1) / (res.n - 1)
    return out


def _designs(d: pd.DataFrame) -> pd.Series:
    arms = pd.concat([d[["study", "treat1"]].set_axis(["study", "t"], axis=1),
                      d[["study", "treat2"]].set_axis(["study", "t"], axis=1)]).drop_duplicates()
    label = arms.sort_values("t").groupby("study")["t"].agg(":".join)
    return d["study"].map(label)


def _decomposition(d, B, y, common, df) -> pd.DataFrame:
    """Design-by-treatment decomposition of Q (Krahn et al. 2013)."""
    design = _designs(d)
    dd = d.assign(treat1=design + "|" + d["treat1"], treat2=design + "|" + d["treat2"])
    dtrts = sorted(set(dd["treat1"]) | set(dd["treat2"]))
    Bd = _graph.incidence(dd, dtrts)
    n_par = sum(len(p) - 1 for p in _graph.subnetworks(dd, dtrts))
    fit_d = _graph.wls(Bd, y, _graph.adjusted_variances(dd))
    q_het, df_het = fit_d["Q"], _graph.df_total(dd, n_par)
    q_inc, df_inc = common["Q"] - q_het, df - df_het
    # random-effects between-design Q: tau^2 estimated within designs (method of moments), then the consistency
    # model compared with the full design-by-treatment interaction model at that tau^2
    tau2_w = _graph.tau2_dl(Bd, fit_d, dd, df_het) if df_het > 0 else 0.0
    tau2_w = 0.0 if not np.isfinite(tau2_w) else tau2_w
    fit_r = _graph.wls(B, y, _graph.adjusted_variances(d, tau2_w))
    fit_rd = _graph.wls(Bd, y, _graph.adjusted_variances(dd, tau2_w))
    q_inc_r = fit_r["Q"] - fit_rd["Q"]

    def p(q, k):
        return stats.chi2.sf(q, k) if k > 0 else np.nan
    return pd.DataFrame({"source": ["total", "within designs", "between designs", "between designs (random)"],
                         "Q": [common["Q"], q_het, q_inc, q_inc_r], "df": [df, df_het, df_inc, df_inc],
                         "p": [p(common["Q"], df), p(q_het, df_het), p(q_inc, df_inc), p(q_inc_r, df_inc)],
                         "tau_within": [np.nan, np.nan, np.nan, np.sqrt(tau2_w)]})


def design_heterogeneity(res: NetmetaResult) -> pd.DataFrame:
    """Within-design Q of each design with more than one study (``design, Q, df, p``)."""
    d = res.data
    design = _designs(d)
    rows = []
    for name, g in d.groupby(design, sort=True):    # one small fit per design
        if g["study"].nunique() < 2:
            continue
        trts = sorted(set(g["treat1"]) | set(g["treat2"]))
        fit = _graph.wls(_graph.incidence(g, trts), g["TE"].to_numpy(), _graph.adjusted_variances(g))
        k = _graph.df_total(g, len(trts) - 1)
        rows.append((name, fit["Q"], k, stats.chi2.sf(fit["Q"], k) if k > 0 else np.nan))
    return pd.DataFrame(rows, columns=["design", "Q", "df", "p"])


def _collate(names) -> np.ndarray:
    """Sort keys of treatment names as R orders them in a UTF-8 locale: case folded, then as written (ties)."""
    return np.array([f"{n.casefold()}\x00{n}" for n in np.asarray(names, dtype=str)], dtype=object)


def netsplit(res: NetmetaResult, model: str = "random", method: str = "back-calculation") -> pd.DataFrame:
    """Direct and indirect evidence for each comparison, and their difference (netmeta ``netsplit``).

    Parameters
    ----------
    res : NetmetaResult
    model : {"random", "common"}
    method : {"back-calculation", "SIDDE"}
        How the indirect estimate is found: back-calculated from the network and direct estimates, or by
        separating indirect from direct design evidence (SIDDE): the network refitted without every study that
        compares the two treatments (see Notes).

    Returns
    -------
    DataFrame
        One row per comparison with both direct and indirect evidence: ``comparison, treat1, treat2, k``
        (studies), ``prop_direct``, ``nma, direct, se_direct, indirect, se_indirect``, and the difference
        direct - indirect as ``estimate, se, statistic, p, ci_low, ci_high``.

    Notes
    -----
    The direct estimate pools the comparison's own studies by inverse variance (variances ``seTE^2 + tau^2``,
    unadjusted, as netmeta); the direct evidence proportion is ``P = Var(nma) / Var(direct)``. Back-calculation:
    the indirect estimate is ``(nma - P direct) / (1 - P)`` with variance ``Var(nma) / (1 - P)``.

    SIDDE (Efthimiou et al. 2019): for each comparison with direct evidence, every study that has both
    treatments is removed whole (all arms of a multi-arm study), and a network meta-analysis of the remaining
    studies, with its own tau^2 by ``res.method_tau``, gives the indirect estimate. As netmeta, there is no
    indirect estimate when the remaining network is disconnected (even if the two treatments stay in one part of
    it) or lacks one of them, or when the comparison has only direct evidence (``|P - 1| < 0.0005``); the
    refitted networks carry contrasts only (no arm variances), so ML/REML tau^2 there uses zero within-study
    covariance, as netmeta's refits do. One network fit per comparison: slower than back-calculation.

    References
    ----------
    König J, Krahn U, Binder H. Visualizing the flow of evidence in network meta-analysis and characterizing
    mixed treatment comparisons. Stat Med 2013;32:5414-5429. Dias S et al. Checking consistency in mixed treatment
    comparison meta-analysis. Stat Med 2010;29:932-944. Efthimiou O, Rücker G, Schwarzer G, Higgins JPT, Egger M,
    Salanti G. A Mantel-Haenszel model for network meta-analysis of rare events. Stat Med 2019;38:2992-3012.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"study": ["s1", "s2", "s3"], "treat1": ["A", "B", "A"], "treat2": ["B", "C", "C"],
    ...                   "TE": [0.5, 0.3, 0.4], "seTE": [0.2, 0.2, 0.25]})
    >>> netsplit(netmeta(d), "common")["comparison"].tolist()
    ['B:C', 'B:A', 'C:A']
    >>> round(float(netsplit(netmeta(d), "common", method="SIDDE")["indirect"].iloc[0]), 6)   # A-C minus A-B
    -0.1
    """
    if model not in ("random", "common"):
        raise ValueError("model must be 'random' or 'common'")
    methods = {"back-calculation": "back-calculation", "sidde": "SIDDE"}
    if str(method).lower() not in methods:
        raise ArgumentError(f"method must be 'back-calculation' or 'SIDDE', not {method!r}", argument="method",
                            kind="unknown")
    method = methods[str(method).lower()]
    d = res.data
    tau2 = res.tau2 if (model == "random" and np.isfinite(res.tau2)) else 0.0
    te, se = res.effects(model)
    # orientation as netmeta: alphabetical order as R sorts in a UTF-8 locale (case folded first: 'rMAO-A' before
    # 'TCA'), except that the reference treatment comes second
    key1 = np.where(d["treat1"] == res.reference, "\uffff", _collate(d["treat1"]))
    key2 = np.where(d["treat2"] == res.reference, "\uffff", _collate(d["treat2"]))
    first = key1 < key2
    a = np.where(first, d["treat1"], d["treat2"])
    b = np.where(first, d["treat2"], d["treat1"])
    sign = np.where(d["treat1"] == a, 1.0, -1.0)
    w = 1.0 / (d["seTE"].to_numpy() ** 2 + tau2)
    g = pd.DataFrame({"a": a, "b": b, "wy": w * sign * d["TE"].to_numpy(), "w": w, "study": d["study"],
                      "ka": np.where(a == res.reference, "\uffff", _collate(a)),
                      "kb": np.where(b == res.reference, "\uffff", _collate(b))})
    direct = g.sort_values(["ka", "kb"]).groupby(["a", "b"], sort=False).agg(wy=("wy", "sum"), w=("w", "sum"), k=("study", "nunique"))
    t1 = direct.index.get_level_values(0).to_numpy()
    t2 = direct.index.get_level_values(1).to_numpy()
    dir_te = (direct["wy"] / direct["w"]).to_numpy()
    dir_var = (1.0 / direct["w"]).to_numpy()
    nma_te = np.array([te.loc[i, j] for i, j in zip(t1, t2)])
    nma_var = np.array([se.loc[i, j] for i, j in zip(t1, t2)]) ** 2
    prop = nma_var / dir_var
    k = direct["k"].to_numpy()
    if method == "SIDDE":
        ind_te, ind_var = _sidde_indirect(res, t1, t2, model)
        keep = np.isfinite(ind_te) & (np.abs(prop - 1) >= 0.0005)
        ind_te, ind_var = ind_te[keep], ind_var[keep]
    else:
        # only direct evidence (P = 1), or P > 1 (possible with multi-arm studies): nothing to split, as netmeta
        keep = prop < 1 - np.sqrt(np.finfo(float).eps)
    prop, dir_te, dir_var, nma_te, nma_var = (x[keep] for x in (prop, dir_te, dir_var, nma_te, nma_var))
    t1, t2, k = t1[keep], t2[keep], k[keep]
    if method == "back-calculation":
        with np.errstate(divide="ignore", invalid="ignore"):
            ind_te = (nma_te - prop * dir_te) / (1 - prop)
            ind_var = nma_var / (1 - prop)
    diff = dir_te - ind_te
    dse = np.sqrt(dir_var + ind_var)
    stat, p, lo, hi = _ci(diff, dse, res.level)
    out = pd.DataFrame({"comparison": [f"{i}:{j}" for i, j in zip(t1, t2)], "treat1": t1, "treat2": t2,
                        "k": k, "prop_direct": prop, "nma": nma_te, "direct": dir_te,
                        "se_direct": np.sqrt(dir_var), "indirect": ind_te, "se_indirect": np.sqrt(ind_var),
                        "estimate": diff, "se": dse, "df": np.inf, "statistic": stat, "p": p, "p_adj": p,
                        "ci_low": lo, "ci_high": hi})
    out.attrs["method"] = method
    return out


def _sidde_indirect(res: NetmetaResult, t1: np.ndarray, t2: np.ndarray, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Indirect estimate t1 - t2 and its variance from the network without the studies comparing t1 and t2
    (NaN where netmeta gives none)."""
    d = res.data
    arms = pd.concat([d[["study", "treat1"]].set_axis(["study", "t"], axis=1),
                      d[["study", "treat2"]].set_axis(["study", "t"], axis=1)]).drop_duplicates()
    member = pd.crosstab(arms["study"], arms["t"]).astype(bool)       # studies x treatments
    est, var = np.full(len(t1), np.nan), np.full(len(t1), np.nan)
    for c, (i, j) in enumerate(zip(t1, t2)):    # one network refit per directly compared pair (few dozen)
        drop = member.index[member[i].to_numpy() & member[j].to_numpy()]
        di = d[~d["study"].isin(drop)].reset_index(drop=True)
        if di.empty:
            continue
        trts = sorted(set(di["treat1"]) | set(di["treat2"]))
        if i not in trts or j not in trts or len(_graph.subnetworks(di, trts)) != 1:
            continue
        di = di.drop(columns=[x for x in ("var1", "var2") if x in di.columns])
        fit = _fit_network(di, trts, _graph.incidence(di, trts), trts[0], res.method_tau, res.measure)
        f = fit[0] if model == "common" else fit[1]
        pi, pj = trts.index(i), trts.index(j)
        est[c] = f["theta"][pi] - f["theta"][pj]
        var[c] = f["cov"][pi, pi] + f["cov"][pj, pj] - 2 * f["cov"][pi, pj]
    return est, var


def netrank(res, method: str = "P-score", model: str = "random", nsim: int = 1000,
            rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Treatment ranking: P-scores, or SUCRA and rank probabilities by simulation.

    Parameters
    ----------
    res : NetmetaResult or NetcombResult
    method : {"P-score", "SUCRA"}
    model : {"random", "common"}
    nsim : int
        Draws from the multivariate normal of the treatment effects (``SUCRA``).
    rng : numpy.random.Generator, optional
        Source of randomness for ``SUCRA`` (default: seeded with 1, so results repeat).

    Returns
    -------
    DataFrame
        ``treatment, pscore`` (sorted, best first); for ``SUCRA`` also ``sucra``, ``mean_rank`` and ``rank_1`` ...
        ``rank_n`` (rankogram probabilities).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"study": ["s1", "s2", "s3"], "treat1": ["A", "B", "A"], "treat2": ["B", "C", "C"],
    ...                   "TE": [0.5, 0.3, 0.4], "seTE": [0.2, 0.2, 0.25]})
    >>> netrank(netmeta(d), model="common")["treatment"].tolist()
    ['C', 'B', 'A']
    """
    ps = pscores(res, (model,)).rename(columns={f"pscore_{model}": "pscore"})
    if method == "P-score":
        return ps.sort_values("pscore", ascending=False, kind="stable").reset_index(drop=True)
    if method != "SUCRA":
        raise ValueError("method must be 'P-score' or 'SUCRA'")
    rng = rng if rng is not None else np.random.default_rng(1)
    f = res.fits[model]
    theta, cov = f["theta"], f["cov"]
    C = getattr(res, "C", None)
    if C is not None:   # a component model: treatment effects are C beta
        Cm = C.to_numpy(dtype=float)
        theta, cov = Cm @ theta, Cm @ cov @ Cm.T
    n = res.n
    draws = rng.multivariate_normal(theta, cov, size=nsim, method="eigh")
    sign = 1.0 if res.small_values == "desirable" else -1.0
    ranks = np.argsort(np.argsort(sign * draws, axis=1, kind="stable"), axis=1) + 1
    probs = np.stack([(ranks == r).mean(axis=0) for r in range(1, n + 1)], axis=1)
    mean_rank = ranks.mean(axis=0)
    ps["sucra"] = (n - mean_rank) / (n - 1)
    ps["mean_rank"] = mean_rank
    for r in range(n):
        ps[f"rank_{r + 1}"] = probs[:, r]
    return ps.sort_values("sucra", ascending=False, kind="stable").reset_index(drop=True)


def league_table(res, model: str = "random", digits: int = 2, backtransform: bool | None = None) -> pd.DataFrame:
    """League table: treatments on the diagonal (ranked by P-score), row-vs-column estimates with CIs below it.

    Parameters
    ----------
    res : NetmetaResult or NetcombResult
    model : {"random", "common"}
    digits : int
    backtransform : bool, optional
        Show ratio measures (OR, RR, IRR) on the ratio scale (default: yes for those measures).

    Returns
    -------
    DataFrame
        n x n table of strings; cell (i, j), i > j: effect of the row treatment vs the column treatment.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"study": ["s1", "s2", "s3"], "treat1": ["A", "B", "A"], "treat2": ["B", "C", "C"],
    ...                   "TE": [0.5, 0.3, 0.4], "seTE": [0.2, 0.2, 0.25]})
    >>> league_table(netmeta(d)).shape
    (3, 3)
    """
    order = netrank(res, model=model)["treatment"].tolist()
    te, se = res.effects(model)
    te, se = te.loc[order, order].to_numpy(), se.loc[order, order].to_numpy()
    z = stats.norm.ppf(0.5 + res.level / 2)
    lo, hi = te - z * se, te + z * se
    ratio = res.measure in ("OR", "RR", "IRR") if backtransform is None else backtransform
    if ratio:
        te, lo, hi = np.exp(te), np.exp(lo), np.exp(hi)
    n = len(order)
    cells = np.full((n, n), "", dtype=object)
    for i in range(n):   # n x n text cells (n treatments, not patients)
        for j in range(n):
            cells[i, j] = order[i] if i == j else (f"{te[i, j]:.{digits}f} ({lo[i, j]:.{digits}f} to "
                                                   f"{hi[i, j]:.{digits}f})" if i > j else "")
    return pd.DataFrame(cells, index=order, columns=order)
