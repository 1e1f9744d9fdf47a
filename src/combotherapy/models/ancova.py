"""ANCOVA at one visit: value ~ arm + baseline + covariates, fitted by ordinary least squares.

The analysis the CONSORT/EMA guidance recommends for a continuous outcome measured at baseline and at a fixed
follow-up visit. LS means and contrasts come from the shared contrast engine (:mod:`combotherapy.contrasts`),
so they match R's ``emmeans`` on ``lm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import contrasts as engine
from ..errors import DataError, ModelError
from ..instruments import Instrument
from ..results import Fitted, Result
from ..trial import Trial
from ._design import Design, OlsFit, build_design, is_factor, ols

__all__ = ["ancova", "AncovaResult"]

_MAX_LISTED = 10


def _list_subjects(ids: Sequence[str]) -> str:
    ids = list(ids)
    more = f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else ""
    return ", ".join(ids[:_MAX_LISTED]) + more


@dataclass
class Prepared:
    """The analysis set of one visit: one row per analysed subject."""

    frame: pd.DataFrame          # subject, arm, value, baseline, covariates (original scale)
    excluded: pd.DataFrame       # subject, arm, reason
    arms: list[str]
    instrument: Instrument
    visit: float
    numeric: list[str]
    factors: list[str]
    notes: list[str]


def prepare(trial: Trial, outcome: str, visit: float, covariates: Sequence[str] = (), *,
            missing_baseline: str = "error", positive: bool = False) -> Prepared:
    """Assemble value at ``visit``, baseline and covariates per subject; decide and record exclusions.

    Raises DataError for every problem with the data (named columns, listed subjects).
    """
    if not isinstance(trial, Trial):
        raise DataError(f"expected a ct.Trial (from ct.load), got {type(trial).__name__}")
    inst = trial.instrument(outcome)
    if inst.level != "visit":
        raise DataError(f"outcome '{outcome}' is measured once per subject; ANCOVA needs an outcome measured at "
                        "baseline and at follow-up visits")
    v = trial.check_visit(visit)
    if v == 0.0:
        raise DataError(f"visit 0 is the baseline of '{outcome}'; choose a follow-up visit from "
                        f"{[f'{x:g}' for x in trial.visits if x != 0]}")
    if missing_baseline not in ("error", "exclude"):
        raise DataError(f"missing_baseline must be 'error' or 'exclude', not {missing_baseline!r}")
    if isinstance(covariates, str):  # covariates="age" means one covariate, not 'a', 'g', 'e'
        covariates = [covariates]
    covariates = list(dict.fromkeys(covariates or ()))
    unknown = [c for c in covariates if c not in trial.data.columns]
    reserved = [c for c in covariates if c in ("subject", "arm", "visit", outcome)]
    if unknown or reserved:
        msg = []
        if unknown:
            msg.append(f"covariate(s) {unknown} are not columns of this trial (its covariates are "
                       f"{trial.covariates})")
        if reserved:
            msg.append(f"{reserved} cannot be covariates: subject, arm and visit are part of the design and the "
                       f"baseline of '{outcome}' is always included")
        raise DataError("; ".join(msg))
    data = trial.data
    subjects = data.drop_duplicates("subject")[["subject", "arm"]].set_index("subject")
    frame = subjects.copy()
    frame["value"] = data.loc[data["visit"] == v].set_index("subject")[outcome].reindex(frame.index)
    frame["baseline"] = trial.baseline(outcome).reindex(frame.index)
    notes: list[str] = []
    subject_level = set(trial.subject_columns)
    for c in covariates:
        if c in subject_level:
            frame[c] = data.groupby("subject", sort=False)[c].first().reindex(frame.index)
        else:
            frame[c] = data.loc[data["visit"] == 0.0].set_index("subject")[c].reindex(frame.index)
            notes.append(f"Covariate '{c}' varies between visits; its baseline (week 0) value was used.")
    if frame["baseline"].isna().all():  # not a few missing baselines: the trial has none to adjust for
        raise DataError(f"no subject has a baseline (week 0) value of '{outcome}', and ANCOVA adjusts for it. If "
                        f"the file has a baseline column, map it with columns={{'{outcome}_baseline': '<column>'}} "
                        "(it becomes the week-0 rows); if the outcome is already a change from baseline, analyse "
                        "it with ct.mmrm, which needs no baseline row.")
    empty = [c for c in covariates if frame[c].isna().all()]
    if empty:  # otherwise every subject would be excluded and the message would blame the arms
        raise DataError(f"covariate(s) {empty} have no value for any subject (at baseline for a covariate that "
                        "varies between visits); drop them from covariates")
    if frame["value"].isna().all():
        raise DataError(f"column '{outcome}': every value at week {v:g} is missing; nothing to analyse at this "
                        "visit")
    reasons = pd.Series("", index=frame.index)
    reasons[frame["value"].isna()] = f"no {outcome} value at week {v:g}"
    has_y = reasons == ""
    for col, what in [("baseline", f"no baseline {outcome} value")] + [(c, f"covariate '{c}' missing")
                                                                      for c in covariates]:
        miss = has_y & (reasons == "") & frame[col].isna()
        if miss.any() and missing_baseline == "error":
            label = f"baseline '{outcome}' (week 0)" if col == "baseline" else f"covariate '{col}'"
            raise DataError(f"{int(miss.sum())} subject(s) with a week-{v:g} value of '{outcome}' have no {label}: "
                            f"{_list_subjects(frame.index[miss])}. Complete the data, or pass "
                            "missing_baseline='exclude' to analyse without them (they are then listed as excluded).")
        reasons[miss] = what
    if positive:
        bad = (reasons == "") & ((frame["value"] <= 0) | (frame["baseline"] <= 0))
        if bad.any():
            raise DataError(f"column '{outcome}': scale='log' needs positive values, but {int(bad.sum())} subject(s) "
                            f"have a value <= 0 at baseline or week {v:g}: {_list_subjects(frame.index[bad])}. "
                            "Check the values, or analyse on the original scale (scale='identity').")
    keep = reasons == ""
    excluded = pd.DataFrame({"subject": frame.index[~keep], "arm": frame["arm"][~keep].astype(str).to_numpy(),
                             "reason": reasons[~keep].to_numpy()})
    analysed = frame.loc[keep].reset_index()
    arms = [a for a in trial.arms if a in set(subjects["arm"].astype(str))]
    counts = analysed["arm"].astype(str).value_counts().reindex(arms, fill_value=0)
    small = counts[counts < 2]
    if len(small):
        listed = ", ".join(f"{a} ({n} subject{'s' if n != 1 else ''})" for a, n in small.items())
        raise ModelError(f"arm(s) {listed} "
                         f"have fewer than 2 subjects with '{outcome}' at week {v:g} (and baseline/covariates); an "
                         "arm needs at least 2 to estimate its mean with an error. Choose another visit or drop "
                         "that arm from the data.")
    factors = [c for c in covariates if is_factor(analysed[c])]
    numeric = [c for c in covariates if c not in factors]
    return Prepared(analysed, excluded, arms, inst, v, numeric, factors, notes)


@dataclass
class LinearModel:
    """A fitted linear model with its arm reference grid: everything the contrast engine needs."""

    design: Design
    fit: OlsFit

    @property
    def df(self) -> int:
        return self.fit.df_resid

    def lsmeans(self, alpha: float) -> pd.DataFrame:
        return engine.lsmeans(self.design.grid, self.design.L, self.fit.beta, self.fit.vcov, self.df, alpha=alpha)

    def compare(self, **kw) -> pd.DataFrame:
        return engine.compare(self.design.grid, self.design.L, self.fit.beta, self.fit.vcov, self.df, **kw)

    def linear(self, C: np.ndarray, labels: Sequence[str], **kw) -> pd.DataFrame:
        """Tests of linear combinations of the LS means (rows of C weight the arms in design order)."""
        return engine.test_linear(np.asarray(C) @ self.design.L, self.fit.beta, self.fit.vcov, self.df, labels, **kw)


def fit_linear(prep: Prepared, log: bool = False) -> LinearModel:
    f = prep.frame
    y = np.log(f["value"].to_numpy(float)) if log else f["value"].to_numpy(float)
    cols = f.assign(baseline=np.log(f["baseline"].to_numpy(float)) if log else f["baseline"])
    design = build_design(cols, prep.arms, ["baseline"] + prep.numeric, prep.factors)
    return LinearModel(design, ols(design.X, y, design.terms, what=f" for '{prep.instrument.name}'"))


class AncovaResult(Result):
    """Result of :func:`ancova`.

    Attributes
    ----------
    lsmeans : DataFrame
        ``arm, estimate, se, df, ci_low, ci_high, n`` (log scale: geometric means ``estimate, ci_low, ci_high``
        and ``log_estimate, se`` on the log scale).
    contrasts : DataFrame
        ``contrast, estimate, se, df, statistic, p, p_adj, ci_low, ci_high, favours`` (log scale: ratios of
        geometric means plus ``log_estimate``).
    coefficients : DataFrame
        The regression coefficients (R's ``lm`` names and treatment coding).
    better : {"lower", "higher"}
        The instrument's good direction; ``positive_is_better`` says whether a positive contrast favours the first arm.
    data : DataFrame
        The analysis set (subject, arm, value, baseline, covariates).
    model : LinearModel
        Design, estimates and covariance, for further contrasts.
    """

    tables = ("lsmeans", "contrasts", "coefficients")

    def __init__(self, title: str, fitted: Fitted, *, lsmeans: pd.DataFrame, contrasts: pd.DataFrame,
                 coefficients: pd.DataFrame, instrument: Instrument, scale: str, data: pd.DataFrame,
                 model: LinearModel):
        super().__init__(title, fitted, lsmeans=lsmeans, contrasts=contrasts, coefficients=coefficients)
        self.instrument = instrument
        self.outcome = instrument.name
        self.visit = fitted.visit
        self.better = instrument.better
        self.positive_is_better = instrument.better == "higher"
        self.scale = scale
        self.data = data
        self.model = model

    def headline(self) -> list[str]:
        if self.scale == "log":
            what = "ratio above 1" if self.positive_is_better else "ratio below 1"
        else:
            what = "positive estimate" if self.positive_is_better else "negative estimate"
        return [f"{self.better.capitalize()} {self.instrument.label or self.outcome} is better: a {what} "
                "favours the first arm of a contrast."]


def _favours(contrasts: pd.DataFrame, inst: Instrument, log: bool) -> pd.Series:
    first = contrasts["contrast"].str.split(" - ").str[0]
    second = contrasts["contrast"].str.split(" - ").str[1]
    signed = (contrasts["log_estimate"] if log else contrasts["estimate"]) * inst.sign
    return pd.Series(np.where(signed > 0, first, np.where(signed < 0, second, "neither")), index=contrasts.index)


def _to_ratio(table: pd.DataFrame, est_cols: Sequence[str]) -> pd.DataFrame:
    out = table.copy()
    out.insert(out.columns.get_loc("estimate"), "log_estimate", out["estimate"])
    for c in est_cols:
        out[c] = np.exp(out[c])
    return out


def ancova(trial: Trial, outcome: str, visit: float, *, covariates: Sequence[str] = (), adjust: str = "holm",
           reference: str | None = None, alpha: float = 0.05, scale: str = "identity",
           missing_baseline: str = "error") -> AncovaResult:
    """Compare arms at one visit by analysis of covariance on the baseline value.

    Parameters
    ----------
    trial : Trial
    outcome : str
        A visit-level outcome (e.g. ``"pain"``).
    visit : float
        Follow-up visit in weeks (not 0).
    covariates : sequence of str
        Further adjustment covariates. Numeric columns enter linearly; text/categorical columns as factors
        (treatment coding, first level in sorted order as reference).
    adjust : {"holm", "none", "bonferroni", "sidak", "tukey", "dunnett", "mvt"}
        Multiplicity adjustment over the contrasts (see :mod:`combotherapy.contrasts`; Holm's intervals are
        Bonferroni intervals, as in emmeans). ``dunnett`` needs ``reference``.
    reference : str, optional
        Compare each arm with this arm instead of all pairs.
    alpha : float
        1 - confidence level.
    scale : {"identity", "log"}
        ``"log"``: analyse log(value) on log(baseline) and report ratios of geometric means (for skewed positive
        markers such as CRP). Values must be positive.
    missing_baseline : {"error", "exclude"}
        Subjects with a follow-up value but no baseline (or a missing covariate): a DataError listing them, or
        exclude them and report them in ``fitted.excluded``.

    Returns
    -------
    AncovaResult
        ``.lsmeans``, ``.contrasts``, ``.coefficients``, ``.fitted`` (formula, n per arm, excluded subjects).

    Notes
    -----
    Model, for subject i in arm a(i) with baseline x_i and covariates z_i (complete cases at the visit)::

        y_i = mu + tau_a(i) + beta * x_i + gamma' z_i + e_i,   e_i ~ N(0, sigma^2)  (independent)

    with tau_reference = 0 (treatment coding). LS means are the model's predictions for each arm at the mean
    baseline and mean numeric covariates, averaging factor covariates over their levels with equal weights (as
    emmeans); contrasts are differences of LS means with residual degrees of freedom n - p. With
    ``scale="log"`` the model is fitted to log(y) with log(x) as covariate; exp(LS mean) is a geometric mean and
    exp(contrast) a ratio of geometric means.

    References
    ----------
    Vickers AJ, Altman DG. Analysing controlled trials with baseline and follow up measurements. BMJ
    2001;323:1123-4. EMA. Guideline on adjustment for baseline covariates in clinical trials (2015).
    Searle SR, Speed FM, Milliken GA. Population marginal means in the linear model. Am Stat 1980;34:216-21.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)     # or ct.load("data/sample/three_arm.csv")
    >>> res = ct.ancova(trial, "pain", 12, covariates=["age", "site"])
    >>> res.fitted.formula
    'pain[week 12] ~ arm + pain[week 0] + age + site'
    >>> res.contrasts["contrast"].tolist()
    ['combined - physio', 'combined - acupuncture', 'physio - acupuncture']
    >>> list(res.contrasts.columns[1:9])
    ['estimate', 'se', 'df', 'statistic', 'p', 'p_adj', 'ci_low', 'ci_high']
    """
    if scale not in ("identity", "log"):
        raise DataError(f"scale must be 'identity' or 'log', not {scale!r}")
    log = scale == "log"
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or ())
    prep = prepare(trial, outcome, visit, covariates, missing_baseline=missing_baseline, positive=log)
    if reference is not None and reference not in prep.arms:
        raise DataError(f"reference arm '{reference}' is not in this trial; its arms are {prep.arms}")
    model = fit_linear(prep, log=log)
    inst, v = prep.instrument, prep.visit
    n = prep.frame["arm"].astype(str).value_counts().reindex(prep.arms).astype(int)

    lsm = model.lsmeans(alpha)
    lsm["n"] = n.to_numpy()
    con = model.compare(reference=reference, adjust=adjust, alpha=alpha)
    attrs = con.attrs
    if log:
        lsm = _to_ratio(lsm, ["estimate", "ci_low", "ci_high"])
        lsm = lsm[["arm", "estimate", "ci_low", "ci_high", "log_estimate", "se", "df", "n"]]
        con = _to_ratio(con, ["estimate", "ci_low", "ci_high"])
        con = con[["contrast", "estimate", "ci_low", "ci_high", "log_estimate", "se", "df", "statistic", "p",
                   "p_adj"]]
    con["favours"] = _favours(con, inst, log)
    coef = pd.DataFrame({"term": model.design.names, "estimate": model.fit.beta,
                         "se": np.sqrt(np.diag(model.fit.vcov)), "df": float(model.df)})
    coef["statistic"] = coef["estimate"] / coef["se"]
    coef["p"] = engine._unadjusted_p(coef["statistic"].to_numpy(), np.full(len(coef), float(model.df)), "two-sided")

    y = f"log({outcome})" if log else outcome
    rhs = " + ".join(["arm", f"{y}[week 0]"] + prep.numeric + prep.factors)
    notes = list(prep.notes)
    notes.append("LS means are predictions at the mean baseline" + (" and mean numeric covariates" if prep.numeric
                 else "") + (", averaging factor covariates over their levels with equal weights" if prep.factors
                             else "") + "; they are not raw arm means.")
    binary = [c for c in prep.numeric if prep.frame[c].nunique() <= 2]
    if binary:
        notes.append(f"Numeric covariate(s) {', '.join(binary)} take only two values; as in emmeans (cov.keep = '2') "
                     "the LS means average over those two values with equal weights rather than using the mean.")
    if log:
        notes.append("Analysed on the log scale: LS means are geometric means and contrasts are ratios of geometric "
                     "means (estimate, ci_low, ci_high); log_estimate and se are on the log scale.")
    notes += attrs["notes"]
    fitted = Fitted(
        model="ANCOVA (ordinary least squares)" + (", log scale" if log else ""),
        formula=f"{y}[week {v:g}] ~ {rhs}", outcome=outcome, visit=v, covariance="independent, homoscedastic",
        df_method=f"residual ({model.df})", adjust=attrs["adjust"], ci_adjust=attrs["ci_adjust"], alpha=alpha,
        n_per_arm={a: int(k) for a, k in n.items()}, excluded=prep.excluded, notes=notes,
        extra={"sigma": model.fit.sigma, "reference": reference, "scale": scale,
               "covariates": list(covariates)})
    label = inst.label or outcome
    title = f"ANCOVA: {label} at week {v:g}" + (" (log scale, ratios of geometric means)" if log else "")
    return AncovaResult(title, fitted, lsmeans=lsm, contrasts=con, coefficients=coef, instrument=inst, scale=scale,
                        data=prep.frame, model=model)
