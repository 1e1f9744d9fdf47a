"""Who benefits: treatment contrasts within subgroups and the treatment-by-subgroup interaction.

One ANCOVA per subgroup variable, ``value ~ arm * subgroup + baseline`` (ordinary least squares), with the arm
contrasts formed within each level by the shared contrast engine (``by=["level"]``) and the interaction tested
by an F test. Continuous variables are cut at documented points. Subgroup findings are exploratory: the result
says so in its summary and in ``.note``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..analysis_set import analysis_set, subject_index, subject_level_columns
from ..arms import contrast_pairs
from ..errors import DataError
from ..inference import engine
from ..instruments import Instrument
from ..results import Fitted, Result, records_design
from ..trial import Trial
from ._degenerate import require_two_arms, single_level_notes
from ._design import ols
from .ancova import fit_linear

__all__ = ["subgroups", "SubgroupResult", "DEFAULT_CUTS", "EXPLORATORY_NOTE"]

#: documented cut points (lower bounds of the upper groups) and labels for continuous subgroup variables
DEFAULT_CUTS: dict[str, tuple[list[float], list[str] | None]] = {
    # acute vs chronic low back pain: under 3 months vs 3 months or more (months since onset)
    "pain_duration": ([3.0], ["acute (< 3 months)", "chronic (>= 3 months)"]),
    # age in years: under 40, 40 to 59, 60 or over
    "age": ([40.0, 60.0], None),
}
#: numeric variables with at most this many distinct values and no cuts are treated as categories
MAX_CATEGORIES = 5
PAIRS = ("combination", "all")
OVERALL = "all subjects"
EXPLORATORY_NOTE = ("Subgroup findings are exploratory: the trial was not powered for them, many comparisons are "
                    "made, and an effect in one subgroup but not another is not evidence of a difference between "
                    "subgroups; judge heterogeneity by the interaction test, and confirm any finding in a new trial.")
COLUMNS = ["variable", "level", "first", "second", "contrast", "n", "estimate", "se", "df", "statistic", "p", "p_adj",
           "ci_low", "ci_high", "interaction_p"]


def _cut_labels(cuts: Sequence[float]) -> list[str]:
    c = [f"{x:g}" for x in cuts]
    return [f"< {c[0]}"] + [f"{a} to < {b}" for a, b in zip(c[:-1], c[1:])] + [f">= {c[-1]}"]


@dataclass
class _Grouping:
    values: pd.Series       # level label per subject (NaN when missing), indexed by subject
    levels: list[str]
    how: str                # sentence for the notes


def _grouping(trial: Trial, var: str, cuts: Mapping[str, Sequence[float]]) -> _Grouping:
    data = trial.data
    if subject_level_columns(trial, [var]):
        raw = subject_index(trial).first(var)  # first non-missing value per subject
        how = ""
    else:
        raw = data.loc[data["visit"] == 0.0].set_index("subject")[var]
        how = f"'{var}' varies between visits; its baseline (week 0) value defines the subgroups. "
    numeric = pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)
    if numeric and (var in cuts or var in DEFAULT_CUTS):
        user = var in cuts
        points = list(cuts[var]) if user else DEFAULT_CUTS[var][0]
        if not points or not all(np.isfinite(points)) or np.any(np.diff(points) <= 0):
            raise DataError(f"cuts['{var}'] must be increasing finite numbers, e.g. cuts={{'{var}': [50]}}; "
                            f"got {points}")
        labels = (DEFAULT_CUTS[var][1] if not user else None) or _cut_labels(points)
        codes = np.searchsorted(np.asarray(points, float), raw.to_numpy(float), side="right")
        values = pd.Series(np.asarray(labels, dtype=object)[np.minimum(codes, len(labels) - 1)], index=raw.index)
        values[raw.isna()] = np.nan
        src = "given" if user else "default"
        return _Grouping(values, labels, how + f"'{var}' cut at {', '.join(f'{p:g}' for p in points)} ({src} cut "
                                              f"points; a value equal to a cut point goes to the upper group).")
    if numeric:
        distinct = np.unique(raw.dropna().to_numpy(float))
        if len(distinct) > MAX_CATEGORIES:
            raise DataError(f"subgroup variable '{var}' is continuous ({len(distinct)} distinct values): give cut "
                            f"points, e.g. cuts={{'{var}': [{np.median(distinct):g}]}}")
        values = _labels(raw, lambda v: f"{v:g}")
        return _Grouping(values, [f"{v:g}" for v in distinct], how + f"'{var}' has {len(distinct)} distinct values, "
                                                                     "each a subgroup.")
    values = _labels(raw.astype(object), str)
    return _Grouping(values, sorted(values.dropna().unique()), how)


def _labels(raw: pd.Series, label) -> pd.Series:
    """``label(value)`` per subject (NaN where missing), computed once per distinct value, not per subject."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    texts = np.array([label(u) for u in uniques] + [np.nan], dtype=object)  # code -1 (missing) -> the last
    return pd.Series(texts[codes], index=raw.index, name=raw.name, dtype=object)


def _pairs(arms: list[str], pairs) -> list[tuple[str, str]]:
    if isinstance(pairs, str):
        if pairs not in PAIRS:
            raise DataError(f"pairs must be 'combination', 'all' or a list of (first, second) arms, not {pairs!r}")
        if pairs == "all":
            return contrast_pairs(arms)
        mono = [a for a in ("physio", "acupuncture") if a in arms]
        if "combined" not in arms or not mono:
            raise DataError(f"pairs='combination' compares the combined arm with each monotherapy, but the arms are "
                            f"{arms}; use pairs='all' or give the pairs")
        return [("combined", m) for m in mono]
    out = [tuple(p) for p in pairs]
    bad = [p for p in out if len(p) != 2 or p[0] not in arms or p[1] not in arms or p[0] == p[1]]
    if bad or not out:
        raise DataError(f"pairs {bad or out} are not pairs of two different arms of this trial ({arms})")
    return out


def _design(frame: pd.DataFrame, arms: list[str], levels: list[str]):
    """X for ``value ~ arm * level + baseline`` (R's column order) and the arm x level reference grid."""
    n = len(frame)
    arm = pd.Categorical(frame["arm"], categories=arms).codes  # by code: no text comparison per subject
    a = (arm[:, None] == np.arange(1, len(arms))[None, :]).astype(float)
    g = (frame["level"].to_numpy()[:, None] == np.array(levels[1:], dtype=object)[None, :]).astype(float)
    inter = (a[:, :, None] * g[:, None, :]).reshape(n, -1)  # arm-major, as R's arm:level columns
    base = frame["baseline"].to_numpy(float)
    X = np.column_stack([np.ones(n), a, g, base, inter])
    names = (["(Intercept)"] + [f"arm{x}" for x in arms[1:]] + [f"level{x}" for x in levels[1:]] + ["baseline"]
             + [f"arm{x}:level{y}" for x in arms[1:] for y in levels[1:]])
    terms = ["(Intercept)"] + ["arm"] * len(arms[1:]) + ["level"] * len(levels[1:]) + ["baseline"] + \
        ["arm:level"] * (len(arms[1:]) * len(levels[1:]))
    ga = np.repeat(np.arange(len(arms)), len(levels))   # grid: levels within arms ...
    gl = np.tile(np.arange(len(levels)), len(arms))
    order = np.lexsort((ga, gl))                        # ... reordered to arms within levels
    ga, gl = ga[order], gl[order]
    A = (ga[:, None] == np.arange(1, len(arms))[None, :]).astype(float)
    G = (gl[:, None] == np.arange(1, len(levels))[None, :]).astype(float)
    L = np.column_stack([np.ones(len(ga)), A, G, np.full(len(ga), base.mean()),
                         (A[:, :, None] * G[:, None, :]).reshape(len(ga), -1)])
    grid = pd.DataFrame({"level": np.asarray(levels, dtype=object)[gl], "arm": np.asarray(arms)[ga]})
    return X, names, terms, grid, L


class SubgroupResult(Result):
    """Result of :func:`subgroups`.

    Attributes
    ----------
    contrasts : DataFrame
        The forest-plot table: ``variable, level, contrast, n`` (subjects of the two arms in the level),
        ``estimate, se, df, statistic, p, p_adj, ci_low, ci_high`` and ``interaction_p`` (the variable's
        treatment-by-subgroup F test). The first rows (``variable = "all subjects"``) are the overall ANCOVA.
    interactions : DataFrame
        One row per variable: ``variable, levels, n, statistic`` (F), ``df_num, df, p``.
    skipped : DataFrame
        Levels not fitted and why (``variable, level, reason`` and subjects per arm).
    counts : DataFrame
        Subjects per variable, level and arm.
    note : str
        The warning that subgroup findings are exploratory.
    """

    tables = ("contrasts", "interactions", "skipped")

    def __init__(self, title: str, fitted: Fitted, *, contrasts: pd.DataFrame, interactions: pd.DataFrame,
                 skipped: pd.DataFrame, counts: pd.DataFrame, instrument: Instrument):
        super().__init__(title, fitted, contrasts=contrasts, interactions=interactions, skipped=skipped)
        self.counts = counts
        self.instrument = instrument
        self.outcome = instrument.name
        self.better = instrument.better
        self.note = EXPLORATORY_NOTE

    def headline(self) -> list[str]:
        sign = "positive" if self.better == "higher" else "negative"
        return [f"WARNING: {EXPLORATORY_NOTE}",
                f"{self.better.capitalize()} {self.instrument.label or self.outcome} is better: a {sign} estimate "
                "favours the first arm of a contrast."]


@records_design
def subgroups(trial: Trial, outcome: str, visit: float,
              by: Sequence[str] = ("pain_duration", "age", "sex", "site"), *,
              cuts: Mapping[str, Sequence[float]] | None = None,
              pairs: str | Sequence[tuple[str, str]] = "combination", alpha: float = 0.05, adjust: str = "none",
              missing_baseline: str = "error") -> SubgroupResult:
    """Treatment contrasts within subgroups and treatment-by-subgroup interaction tests.

    Parameters
    ----------
    trial : Trial
    outcome : str
        A visit-level outcome (e.g. ``"pain"``).
    visit : float
        Follow-up visit in weeks.
    by : sequence of str
        Subgroup variables (baseline covariates), one model each. Text/categorical variables: one subgroup per
        value. Continuous variables are cut (see ``cuts``).
    cuts : mapping, optional
        Cut points per continuous variable, e.g. ``{"age": [50]}``: subgroups ``< 50`` and ``>= 50``. Defaults
        (:data:`DEFAULT_CUTS`): ``pain_duration`` (months) at 3, acute (< 3) vs chronic (>= 3); ``age`` (years) at
        40 and 60 (< 40, 40 to < 60, >= 60).
    pairs : {"combination", "all"} or list of (first, second)
        ``"combination"``: the combined arm against each monotherapy (the combination rule); ``"all"``: every pair.
    alpha : float
        1 - confidence level.
    adjust : str
        Multiplicity adjustment within each subgroup level (see :mod:`combotherapy.inference.engine`); default none:
        the analysis is exploratory.
    missing_baseline : {"error", "exclude"}
        Subjects with a follow-up value but no baseline (as :func:`combotherapy.ancova`).

    Returns
    -------
    SubgroupResult
        ``.contrasts`` (forest-plot table), ``.interactions``, ``.skipped``, ``.counts``, ``.note``.

    Notes
    -----
    For variable ``G`` with levels ``g``, subject ``i`` in arm ``a(i)`` and level ``g(i)`` with baseline ``x_i``::

        y_i = mu + tau_a(i) + gamma_g(i) + (tau gamma)_a(i),g(i) + beta x_i + e_i,   e_i ~ N(0, sigma^2)

    (treatment coding). Within level ``g`` the contrast of arms ``a`` and ``b`` is the difference of their LS
    means at the mean baseline, ``tau_a - tau_b + (tau gamma)_ag - (tau gamma)_bg`` (emmeans ``by = level``),
    with the model's residual df. The interaction test is the F test of all ``(tau gamma)`` = 0 (the same as
    ``anova(lm(y ~ arm + G + x), lm(y ~ arm * G + x))``). One slope for the baseline is shared by all levels.
    Subjects without a value of ``G`` are left out of that variable's model; levels in which any arm has fewer
    than 2 subjects are not fitted and are listed in ``.skipped``. The rows ``"all subjects"`` are the overall
    ANCOVA ``y ~ arm + x``.

    References
    ----------
    Wang R, Lagakos SW, Ware JH, Hunter DJ, Drazen JM (2007) Statistics in medicine — reporting of subgroup
    analyses in clinical trials. N Engl J Med 357:2189-2194. Sun X, Briel M, Walter SD, Guyatt GH (2010) Is a
    subgroup effect believable? BMJ 340:c117. Brookes ST et al. (2004) Subgroup analyses in randomized trials:
    risks of subgroup-specific analyses. J Clin Epidemiol 57:229-236.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)
    >>> res = ct.subgroups(trial, "pain", 12, by=["pain_duration", "sex"])
    >>> res.contrasts.query("variable == 'pain_duration'")["level"].unique().tolist()
    ['acute (< 3 months)', 'chronic (>= 3 months)']
    >>> res.interactions["variable"].tolist()       # one interaction test per variable
    ['pain_duration', 'sex']
    >>> res.note.startswith("Subgroup findings are exploratory")
    True
    """
    if not 0 < alpha < 1:
        raise DataError(f"alpha must be between 0 and 1 (e.g. 0.05 for 95% intervals), not {alpha!r}")
    prep = analysis_set(trial, outcome, visit, missing=missing_baseline)
    arms, inst, v = prep.arms, prep.instrument, prep.visit
    require_two_arms(arms, outcome, v, "subgroup analysis")  # a single-arm subset: no contrast to make
    chosen = _pairs(arms, pairs)
    cuts = dict(cuts or {})
    if isinstance(by, str):
        by = [by]
    by = list(dict.fromkeys(by))
    unknown = [c for c in list(by) + list(cuts) if c not in trial.data.columns]
    reserved = [c for c in by if c in ("subject", "arm", "visit", outcome)]
    if unknown or reserved or not by:
        raise DataError(f"subgroup variable(s) {unknown + reserved or by} cannot be used: give baseline covariates "
                        f"of this trial ({trial.covariates})")
    unused = [c for c in cuts if c not in by]
    text = [c for c in cuts if c in by and not (pd.api.types.is_numeric_dtype(trial.data[c])
                                                  and not pd.api.types.is_bool_dtype(trial.data[c]))]
    if unused or text:
        msg = []
        if unused:
            msg.append(f"cut points are given for {unused}, which are not subgroup variables (by={by}); add them to "
                       "by or drop the cuts")
        if text:
            msg.append(f"cut points are given for {text}, which are not numeric: their values are the subgroups; "
                       "drop the cuts")
        raise DataError("; ".join(msg))
    notes = list(prep.notes)

    overall = fit_linear(prep)[2].compare(pairs=chosen, adjust=adjust, alpha=alpha)
    rows = [overall.assign(variable=OVERALL, level="all", interaction_p=np.nan,
                           n=_pair_n(prep.frame.assign(level="all"), chosen, ["all"] * len(chosen)))]
    inter_rows, skipped_rows, count_rows = [], [], []
    for var in by:  # one model per subgroup variable (a handful)
        grp = _grouping(trial, var, cuts)
        f = prep.frame.assign(level=grp.values.reindex(prep.frame["subject"]).to_numpy())
        if grp.how:
            notes.append(grp.how)
        miss = f["level"].isna()
        if miss.any():
            notes.append(f"'{var}': {int(miss.sum())} subject(s) without a value are left out of its model.")
        f = f.loc[~miss]
        tab = pd.crosstab(pd.Categorical(f["level"], grp.levels), pd.Categorical(f["arm"], arms),
                          dropna=False)
        tab.index, tab.columns = list(grp.levels), list(arms)
        count_rows.append(tab.rename_axis(index="level", columns="arm").stack().rename("n").reset_index()
                          .assign(variable=var))
        small = tab.index[(tab < 2).any(axis=1)].tolist()
        for lev in small:
            few = ", ".join(f"{a} {int(tab.loc[lev, a])}" for a in arms if tab.loc[lev, a] < 2)
            skipped_rows.append({"variable": var, "level": lev, "reason": f"fewer than 2 subjects in an arm ({few})",
                                 **{f"n_{a}": int(tab.loc[lev, a]) for a in arms}})
        levels = [lev for lev in grp.levels if lev not in small]
        notes += single_level_notes(var, levels)  # one level: no subgroups to compare
        if small:
            notes.append(f"'{var}': level(s) {small} not fitted (an arm has fewer than 2 subjects there); see "
                         ".skipped.")
        if not levels:
            continue
        f = f.loc[f["level"].isin(levels)].reset_index(drop=True)
        X, names, terms, grid, L = _design(f, arms, levels)
        fit = ols(X, f["value"].to_numpy(float), terms, what=f" for subgroups of '{var}'")
        con = engine.compare(grid, L, fit.beta, fit.vcov, fit.df_resid, pairs=chosen, by=["level"], adjust=adjust,
                             alpha=alpha)
        notes += [n for n in con.attrs["notes"] if n not in notes]
        sel = np.flatnonzero(np.array(terms) == "arm:level")
        if len(sel):
            b, V = fit.beta[sel], fit.vcov[np.ix_(sel, sel)]
            F = float(b @ np.linalg.solve(V, b)) / len(sel)
            p_int = float(stats.f.sf(F, len(sel), fit.df_resid))
        else:
            F, p_int = np.nan, np.nan
        inter_rows.append({"variable": var, "levels": len(levels), "n": len(f), "statistic": F,
                           "df_num": len(sel), "df": float(fit.df_resid), "p": p_int})
        rows.append(con.assign(variable=var, interaction_p=p_int,
                               n=_pair_n(f, chosen, con["level"].tolist())))

    table = pd.concat(rows, ignore_index=True)
    table["level"] = table["level"].astype(str)
    table = table[COLUMNS]
    interactions = pd.DataFrame(inter_rows, columns=["variable", "levels", "n", "statistic", "df_num", "df", "p"])
    skipped = pd.DataFrame(skipped_rows, columns=["variable", "level", "reason"] + [f"n_{a}" for a in arms])
    counts = (pd.concat(count_rows, ignore_index=True)[["variable", "level", "arm", "n"]] if count_rows
              else pd.DataFrame(columns=["variable", "level", "arm", "n"]))
    notes.append("Contrasts within each level are differences of LS means from value ~ arm * subgroup + baseline "
                 "(one model per variable, residual df); interaction_p is the F test of the arm-by-subgroup terms.")
    notes.append(EXPLORATORY_NOTE)
    fitted = Fitted(
        model="ANCOVA with a treatment-by-subgroup interaction (ordinary least squares), one model per variable",
        formula=f"{outcome}[week {v:g}] ~ arm * subgroup + {outcome}[week 0]", outcome=outcome, visit=v,
        covariance="independent, homoscedastic", df_method="residual", adjust=str(overall.attrs.get("adjust", adjust)), alpha=alpha,
        n_per_arm=prep.n_per_arm,
        excluded=prep.excluded, notes=notes,
        extra={"by": by, "cuts": {k: list(x) for k, x in cuts.items()}, "pairs": chosen,
               "default_cuts": {k: list(x[0]) for k, x in DEFAULT_CUTS.items()}})
    title = f"Subgroups (exploratory): {inst.label or outcome} at week {v:g}"
    return SubgroupResult(title, fitted, contrasts=table, interactions=interactions, skipped=skipped, counts=counts,
                          instrument=inst)


def _pair_n(frame: pd.DataFrame, pairs: list[tuple[str, str]], levels: list[str]) -> np.ndarray:
    """Subjects of the two arms of each contrast row within its level (rows: levels x pairs, in compare order)."""
    arm = frame["arm"]
    arms = [str(a) for a in (arm.cat.categories if isinstance(arm.dtype, pd.CategoricalDtype) else pd.unique(arm))]
    lev_codes, lev_names = pd.factorize(frame["level"])
    arm_codes = pd.Categorical(arm, categories=arms).codes  # by code: no text copy of every subject's arm
    ok = (lev_codes >= 0) & (arm_codes >= 0)
    cells = np.bincount(lev_codes[ok] * len(arms) + arm_codes[ok], minlength=len(lev_names) * len(arms))
    counts = pd.Series(cells, index=pd.MultiIndex.from_product([list(lev_names), arms]))
    k = len(pairs)
    return np.array([int(counts.get((lev, pairs[i % k][0]), 0) + counts.get((lev, pairs[i % k][1]), 0))
                     for i, lev in enumerate(levels)])
