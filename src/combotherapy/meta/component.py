"""Additive component network meta-analysis (netmeta's ``netcomb`` and ``discomb``) and the cross-trial synergy
verdict.

A treatment such as ``"physio + acupuncture"`` is a set of components; the additive model says its effect is the
sum of its components' effects (``theta = C beta``). Comparing the additive model's Q with the standard NMA's Q
tests additivity; an interaction column for one pair of components estimates how far their combination departs
from the sum — the "synergy" of the two therapies across trials.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import linalg, stats

from ..errors import DataError, ModelError
from ..results import Result
from . import _graph
from ._fitted import StudyFitted as Fitted
from .network import NetmetaResult, pscores

__all__ = ["netcomb", "discomb", "NetcombResult", "cnma_synergy", "CNMASynergyResult", "component_matrix"]


def component_matrix(trts: Sequence[str], sep: str = "+", inactive: str | None = None,
                     interactions: Sequence[tuple[str, str]] = ()) -> pd.DataFrame:
    """The treatments x components matrix C (1 when the treatment contains the component).

    Parameters
    ----------
    trts : sequence of str
        Treatment labels; components are separated by ``sep`` (spaces around it are ignored).
    sep : str
    inactive : str, optional
        A component with no effect (placebo, usual care): its column is dropped, so it is the zero of the scale.
    interactions : sequence of (str, str)
        Pairs of components whose product column is added (named ``"a*b"``).

    Returns
    -------
    DataFrame
        Rows: treatments; columns: components (sorted), then interactions.

    Examples
    --------
    >>> component_matrix(["A + B", "A", "Placebo"], inactive="Placebo").to_numpy().tolist()
    [[1, 1], [1, 0], [0, 0]]
    """
    parts = {t: [c.strip() for c in str(t).split(sep)] for t in trts}
    comps = sorted({c for cs in parts.values() for c in cs})
    if inactive is not None:
        if inactive not in comps:
            raise DataError(f"inactive component {inactive!r} is not among the components ({', '.join(comps)})")
        comps = [c for c in comps if c != inactive]
    C = pd.DataFrame([[int(c in parts[t]) for c in comps] for t in trts], index=list(trts), columns=comps)
    for a, b in interactions:
        for c in (a, b):
            if c not in comps:
                raise DataError(f"interaction component {c!r} is not among the components ({', '.join(comps)})")
        C[f"{a}*{b}"] = C[a] * C[b]
        if not C[f"{a}*{b}"].any():
            raise ModelError(f"no treatment combines {a} and {b}: their interaction cannot be estimated")
    return C


class NetcombResult(Result):
    """An additive (or interaction) component network meta-analysis.

    Attributes
    ----------
    components : DataFrame
        Component (and interaction) effects, common and random: ``model, component, estimate, se, ...``.
    combinations : DataFrame
        Each treatment's effect as the sum of its components (vs the inactive component / nothing).
    heterogeneity : DataFrame
        ``tau2, tau, I2`` of the additive model.
    additivity : DataFrame
        Q of the additive and the standard model and their difference (the test of additivity).
    ranking : DataFrame
        P-scores of the treatments under the component model.
    """

    tables = ("components", "combinations", "additivity", "heterogeneity", "ranking")

    def __init__(self, title, fitted, *, trts, C, fits, tau2, small_values, level, measure, data, **tables):
        super().__init__(title, fitted, **tables)
        self.trts, self.C, self.fits, self.tau2 = trts, C, fits, tau2
        self.small_values, self.level, self.measure, self.data = small_values, level, measure, data

    @property
    def n(self) -> int:
        return len(self.trts)

    def effects(self, model: str = "random") -> tuple[pd.DataFrame, pd.DataFrame]:
        """n x n matrices of treatment effects (row minus column) implied by the component model, and SEs."""
        f = self.fits[model]
        Cm = self.C.to_numpy(dtype=float)
        theta = Cm @ f["theta"]
        cov = Cm @ f["cov"] @ Cm.T
        te = theta[:, None] - theta[None, :]
        var = np.diag(cov)[:, None] + np.diag(cov)[None, :] - 2 * cov
        return (pd.DataFrame(te, index=self.trts, columns=self.trts),
                pd.DataFrame(np.sqrt(np.clip(var, 0, None)), index=self.trts, columns=self.trts))

    def headline(self) -> list[str]:
        a = self.additivity.set_index("model")
        if np.isfinite(a.loc["difference", "Q"]):
            return [f"Test of additivity: Q difference {a.loc['difference', 'Q']:.2f} "
                    f"(df {a.loc['difference', 'df']:.0f}), p = {a.loc['difference', 'p']:.4g}"]
        return ["Disconnected network: no standard NMA, so no test of additivity."]


def _identifiable(X: np.ndarray, comps: list[str], d: pd.DataFrame, C: pd.DataFrame) -> None:
    ns = linalg.null_space(X)
    if ns.size == 0:
        return
    bad = [c for c, row in zip(comps, ns) if np.any(np.abs(row) > 1e-8)]
    trts = [t for t in C.index if C.loc[t, bad].any()]
    studies = sorted(set(d.loc[d["treat1"].isin(trts) | d["treat2"].isin(trts), "study"]))
    raise ModelError(f"the component model is not identifiable: the effects of {', '.join(bad)} cannot be "
                     f"separated by the comparisons made (studies {', '.join(studies[:10])}"
                     f"{' and more' if len(studies) > 10 else ''}). Merge those components, declare one inactive, "
                     "or add studies that compare them.")


def _fit(d: pd.DataFrame, C: pd.DataFrame, q_standard: float, df_standard: float, level: float,
         small_values: str, measure: str, name: str, extra_notes: list[str]) -> NetcombResult:
    trts = list(C.index)
    B = _graph.incidence(d, trts)
    X = B @ C.to_numpy(dtype=float)
    comps = list(C.columns)
    _identifiable(X, comps, d, C)
    y = d["TE"].to_numpy()
    rank = np.linalg.matrix_rank(X)
    n_arms = int(d.drop_duplicates("study")["narms"].sum())
    df_add = n_arms - d["study"].nunique() - rank
    common = _graph.wls(X, y, _graph.adjusted_variances(d))
    tau2 = _graph.tau2_dl(B, common, d, df_add) if df_add > 0 else float("nan")
    random = _graph.wls(X, y, _graph.adjusted_variances(d, 0.0 if not np.isfinite(tau2) else tau2))
    fits = {"common": common, "random": random}
    z = stats.norm.ppf(0.5 + level / 2)
    comp_rows, comb_rows = [], []
    Cm = C.to_numpy(dtype=float)
    for model, f in fits.items():
        for rows, est, var, labels, key in ((comp_rows, f["theta"], np.diag(f["cov"]), comps, "component"),
                                            (comb_rows, Cm @ f["theta"], np.diag(Cm @ f["cov"] @ Cm.T), trts,
                                             "treatment")):
            se = np.sqrt(np.clip(var, 0, None))
            with np.errstate(divide="ignore", invalid="ignore"):
                stat = est / se
            p = 2 * stats.norm.sf(np.abs(stat))
            rows.append(pd.DataFrame({"model": model, key: labels, "estimate": est, "se": se, "df": np.inf,
                                      "statistic": stat, "p": p, "p_adj": p, "ci_low": est - z * se,
                                      "ci_high": est + z * se}))
    q_add = common["Q"]
    q_diff = q_add - q_standard
    if np.isfinite(q_diff) and abs(q_diff) < np.finfo(float).eps ** 0.75:
        q_diff = 0.0
    df_diff = df_add - df_standard

    def pv(q, k):
        return stats.chi2.sf(q, k) if (np.isfinite(q) and k > 0) else np.nan
    additivity = pd.DataFrame({"model": ["additive", "standard", "difference"], "Q": [q_add, q_standard, q_diff],
                               "df": [float(df_add), float(df_standard), float(df_diff)],
                               "p": [pv(q_add, df_add), pv(q_standard, df_standard), pv(q_diff, df_diff)]})
    i2, i2_lo, i2_hi = _graph.i2_interval(q_add, df_add, level)
    het = pd.DataFrame({"tau2": [tau2], "tau": [np.sqrt(tau2)], "I2": [i2], "I2_low": [i2_lo], "I2_high": [i2_hi]})
    fitted = Fitted(model=f"{name}: treatment effect = sum of component effects (weighted least squares)",
                    formula="TE ~ B C beta", df_method="normal (z)", alpha=1 - level,
                    notes=list(d.attrs.get("notes", [])) + extra_notes + [
                        "tau2 by the generalised DerSimonian-Laird estimator of the component model."],
                    studies=int(d["study"].nunique()), comparisons=len(d))
    res = NetcombResult(f"{name}{f' ({measure})' if measure else ''}", fitted, trts=trts, C=C, fits=fits, tau2=tau2,
                        small_values=small_values, level=level, measure=measure, data=d,
                        components=pd.concat(comp_rows, ignore_index=True),
                        combinations=pd.concat(comb_rows, ignore_index=True), additivity=additivity,
                        heterogeneity=het, ranking=pd.DataFrame())
    res.ranking = pscores(res)
    return res


def netcomb(nma: NetmetaResult, inactive: str | None = None, sep: str = "+",
            interactions: Sequence[tuple[str, str]] = (), C: pd.DataFrame | None = None) -> NetcombResult:
    """Additive component network meta-analysis of a connected network (netmeta ``netcomb``).

    Parameters
    ----------
    nma : NetmetaResult
        The standard network meta-analysis (its comparisons and Q are reused).
    inactive : str, optional
        The inactive component (placebo, usual care).
    sep : str
        Separator of components in treatment labels (``"physio + acupuncture"``).
    interactions : sequence of (str, str)
        Pairs of components given an interaction term.
    C : DataFrame, optional
        A component matrix of your own (rows: every treatment), instead of the one built from the labels.

    Returns
    -------
    NetcombResult

    Notes
    -----
    With X = B C: ``beta = (X'WX)^+ X'W y``, ``Cov(beta) = (X'WX)^+``; treatment effects ``C beta``.
    ``Q_additive`` has ``df = sum_s(arms_s - 1) - rank(X)``; the test of additivity is ``Q_additive - Q_standard``
    on ``n - 1 - rank(X)`` df.

    References
    ----------
    Rücker G, Petropoulou M, Schwarzer G. Network meta-analysis of multicomponent interventions.
    Biometrical Journal 2020;62:808-821.

    Examples
    --------
    >>> import pandas as pd
    >>> from combotherapy.meta import netmeta
    >>> d = pd.DataFrame({"study": list("abcde"), "treat1": ["A", "B", "A + B", "A + B", "A"],
    ...                   "treat2": ["P", "P", "P", "A", "B"], "TE": [0.5, 0.3, 0.9, 0.35, 0.2],
    ...                   "seTE": [0.1] * 5})
    >>> res = netcomb(netmeta(d), inactive="P")
    >>> res.components.query("model == 'common'")["component"].tolist()
    ['A', 'B']
    """
    Cm = component_matrix(nma.trts, sep, inactive, interactions) if C is None else C.loc[nma.trts]
    q = nma.heterogeneity.iloc[0]
    return _fit(nma.data, Cm, float(q["Q"]), float(q["df"]), nma.level, nma.small_values, nma.measure,
                "Component network meta-analysis" + (" with interaction" if interactions else " (additive)"), [])


def discomb(data: pd.DataFrame, *, TE: str = "TE", seTE: str = "seTE", treat1: str = "treat1",
            treat2: str = "treat2", study: str = "study", inactive: str | None = None, sep: str = "+",
            interactions: Sequence[tuple[str, str]] = (), small_values: str = "desirable", level: float = 0.95,
            measure: str | None = None, inconsistent_multiarm: str = "error") -> NetcombResult:
    """Additive component NMA of a possibly disconnected network (netmeta ``discomb``).

    Parameters
    ----------
    data : DataFrame
        One row per comparison (as :func:`~combotherapy.meta.netmeta`).
    TE, seTE, treat1, treat2, study, inactive, sep, interactions, small_values, level, measure
        As in :func:`~combotherapy.meta.netmeta` and :func:`netcomb`.
    inconsistent_multiarm : {"error", "note"}
        A multi-arm study whose contrasts do not add up raises (default); ``"note"`` analyses it as given, as
        netmeta's ``discomb`` does, with a note naming it.

    Returns
    -------
    NetcombResult
        When the treatment network is connected the standard NMA's Q gives the test of additivity; otherwise the
        additivity row ``difference`` is missing.

    Raises
    ------
    ModelError
        If the components cannot be separated by the comparisons made (names the components and studies).

    References
    ----------
    Rücker G, Petropoulou M, Schwarzer G. Network meta-analysis of multicomponent interventions.
    Biometrical Journal 2020;62:808-821.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"study": ["s1", "s2", "s3"], "treat1": ["A + B", "A + C", "B"],
    ...                   "treat2": ["C", "B", "A"], "TE": [1.0, 0.6, -0.2], "seTE": [0.1] * 3})
    >>> discomb(d).components.query("model == 'common'")["component"].tolist()
    ['A', 'B', 'C']
    """
    d = _graph.prepare(data, TE, seTE, treat1, treat2, study)
    _graph.check_multiarm(d, "note" if inconsistent_multiarm == "note" else "error")
    trts = sorted(set(d["treat1"]) | set(d["treat2"]))
    parts = _graph.subnetworks(d, trts)
    Cm = component_matrix(trts, sep, inactive, interactions)
    notes = []
    if len(parts) == 1:
        B = _graph.incidence(d, trts)
        std = _graph.wls(B, d["TE"].to_numpy(), _graph.adjusted_variances(d))
        q_std, df_std = std["Q"], _graph.df_total(d, len(trts) - 1)
    else:
        q_std, df_std = np.nan, np.nan
        notes.append(f"the treatment network has {len(parts)} sub-networks; the shared components connect them.")
    return _fit(d, Cm, q_std, df_std, level, small_values, measure or data.attrs.get("measure", ""),
                "Component network meta-analysis (disconnected network)" if len(parts) > 1 else
                "Component network meta-analysis (additive)", notes)


class CNMASynergyResult(Result):
    """The cross-trial synergy of two components: their interaction in a component NMA, with a verdict."""

    tables = ("effects", "additivity")

    def __init__(self, title, fitted, *, verdict: str, explanation: str, model: NetcombResult, **tables):
        super().__init__(title, fitted, **tables)
        self.verdict, self.explanation, self.model = verdict, explanation, model
        self.interaction = self.effects.set_index("effect").loc["interaction"]

    def headline(self) -> list[str]:
        return [f"Verdict: {self.verdict}. {self.explanation}"]


def cnma_synergy(nma: NetmetaResult | pd.DataFrame, first: str, second: str, *, inactive: str | None = None,
                 sep: str = "+", model: str = "random", **discomb_args) -> CNMASynergyResult:
    """Is the combination of two components more than the sum of its parts, across the trials?

    Parameters
    ----------
    nma : NetmetaResult or DataFrame
        A connected network meta-analysis, or comparison rows for :func:`discomb` (``**discomb_args``).
    first, second : str
        The two components (e.g. ``"physio"`` and ``"acupuncture"``).
    inactive : str, optional
    model : {"random", "common"}

    Returns
    -------
    CNMASynergyResult
        ``effects``: each component alone and the interaction (the combination minus the sum of the two);
        ``additivity``: Q tests of the additive model; ``.verdict`` in ``{"super-additive", "additive",
        "sub-additive"}`` read as for the factorial trial (:func:`combotherapy.synergy`).

    Notes
    -----
    The interaction model is the additive CNMA with one more column, ``C[first] * C[second]``: its coefficient
    is ``theta(first + second) - theta(first) - theta(second)``. The verdict follows its confidence interval in
    the good direction (``small_values`` of the NMA): entirely beneficial -> super-additive, entirely harmful ->
    sub-additive, including 0 -> additive.

    Examples
    --------
    >>> import pandas as pd
    >>> from combotherapy.meta import netmeta
    >>> d = pd.DataFrame({"study": list("abcdef"), "treat1": ["A", "B", "A + B", "A + B", "A", "A + B"],
    ...                   "treat2": ["P", "P", "P", "A", "B", "B"], "TE": [0.5, 0.3, 0.9, 0.35, 0.2, 0.6],
    ...                   "seTE": [0.1] * 6})
    >>> cnma_synergy(netmeta(d, small_values="undesirable"), "A", "B", inactive="P").verdict
    'additive'
    """
    if isinstance(nma, NetmetaResult):
        res = netcomb(nma, inactive=inactive, sep=sep, interactions=[(first, second)])
        small_values = nma.small_values
    else:
        res = discomb(nma, inactive=inactive, sep=sep, interactions=[(first, second)], **discomb_args)
        small_values = res.small_values
    comp = res.components.query("model == @model").set_index("component")
    inter_name = f"{first}*{second}"
    eff = comp.loc[[first, second, inter_name]].reset_index().rename(columns={"component": "effect"})
    eff["effect"] = [first, second, "interaction"]
    eff = eff.drop(columns="model")
    i = eff.iloc[2]
    sign = -1.0 if small_values == "desirable" else 1.0
    good_lo, good_hi = sorted((sign * i["ci_low"], sign * i["ci_high"]))
    ratio = res.measure in ("OR", "RR", "IRR")
    show = (lambda x: f"{np.exp(x):.3g}") if ratio else (lambda x: f"{x:.3g}")
    unit = "ratio" if ratio else "difference"
    ci = f"{100 * res.level:g}% CI {show(i['ci_low'])} to {show(i['ci_high'])}"
    better = "smaller" if small_values == "desirable" else "larger"
    if good_lo > 0:
        verdict = "super-additive"
        why = (f"Across the trials the combination of {first} and {second} does better than the sum of their "
               f"effects: the interaction {unit} {show(i['estimate'])} ({ci}) lies entirely on the side where "
               f"{better} effects are better.")
    elif good_hi < 0:
        verdict = "sub-additive"
        why = (f"Across the trials the combination of {first} and {second} does worse than the sum of their "
               f"effects: the interaction {unit} {show(i['estimate'])} ({ci}) lies entirely on the harmful side.")
    else:
        verdict = "additive"
        why = (f"The interaction {unit} {show(i['estimate'])} ({ci}) includes {'1' if ratio else '0'}: the trials "
               "are consistent with additive effects; departures within the interval cannot be ruled out.")
    fitted = Fitted(model=f"component NMA with a {first} x {second} interaction ({model} effects)",
                    alpha=1 - res.level, notes=res.notes + [
                        "Interaction = effect of the combination minus the sum of the two components' effects; "
                        + ("ratio measures are shown on the ratio scale (1 = additive on the log scale)." if ratio
                           else "0 = additive.")],
                    studies=res.fitted.studies, comparisons=res.fitted.comparisons)
    return CNMASynergyResult(f"Synergy of {first} and {second} across trials", fitted, verdict=verdict,
                             explanation=why, model=res, effects=eff, additivity=res.additivity)
