"""Time to an event (recovery): Kaplan–Meier, log-rank, Cox hazard ratios, PH check and restricted mean.

One call, :func:`survival`, gives everything a report on time to recovery needs; the Kaplan–Meier step
tables are kept on the result (``.km_curves``) so that plots draw curves and numbers at risk without refitting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.survfunc import survdiff

from ..analysis_set import arm_present, exclusions, first_reason, numeric_columns, subject_index
from ..arguments import DEFAULTS, check_adjust, check_alpha, check_choice, check_reference
from ..arms import contrast_label, contrast_pairs
from ..errors import DataError, ModelError, ProblemCollector
from ..inference import Inference, engine
from ..results import Fitted, Result, records_design
from ..trial import Trial
from ._covariates import Covariates, Design, arm_design, subject_covariates
from ._degenerate import check_event_times
from .survival_estimators import (
    _km_sorted,
    _logrank_chisq,
    _logrank_parts,
    cox_fit,
    cox_zph,
    km_median,
    km_table,
    rmst_by_arm,
)

__all__ = ["survival", "SurvivalResult", "km_table", "km_median", "rmst_by_arm", "cox_zph"]

TIES = ("efron", "breslow")


class SurvivalResult(Result):
    """Result of :func:`survival`.

    Attributes
    ----------
    by_arm : DataFrame
        Kaplan–Meier per arm: ``arm, n, events, median, ci_low, ci_high`` (median time to the event and its CI; NaN when
        the curve, or the CI band, never reaches 0.5).
    logrank : DataFrame
        One row: ``statistic, df, p`` (log-rank chi-square test of equal survival in all arms).
    contrasts : DataFrame
        Cox hazard ratios of the first arm to the second: ``first, second, contrast, estimate, log_estimate, se,
        df, statistic, p, p_adj, ci_low, ci_high`` (``estimate`` and limits on the ratio scale, ``log_estimate``
        and ``se`` on the log scale, Wald z); NaN for pairs that are not estimable.
    coefficients : DataFrame
        The Cox model's coefficients (log hazard ratios against the first arm, and the covariates'; R names):
        ``term, estimate, se, df, statistic, p, ci_low, ci_high`` (Wald z), empty when the model was not fitted.
    inference : Inference or None
        The Cox model for ``compare``/``test`` at any alpha or adjustment (log link: hazard ratios); its grid's
        cells are log relative hazards against the grid mean. None when the model was not fitted.
    ph_test : DataFrame
        Proportional-hazards check: ``term, statistic, df, p`` per coefficient and ``GLOBAL``.
    rmst : DataFrame
        Per arm: ``arm, horizon, estimate, se, ci_low, ci_high`` (restricted mean event-free time).
    rmst_contrasts : DataFrame
        Differences in RMST between arms: ``first, second, contrast, estimate, se, df, statistic, p, p_adj,
        ci_low, ci_high``.
    rmst_ratios : DataFrame
        Ratios of RMST: the same with ``log_estimate`` after ``estimate`` (ratio scale estimate and limits).
    km_curves : DataFrame
        The Kaplan–Meier step functions: ``arm, time, n_risk, n_events, n_censored, survival, se, ci_low,
        ci_high`` at every distinct time of each arm (``se`` is the Greenwood standard error of the survival).
        The curve is 1 before an arm's first time; the number at risk at time t is ``n_risk`` of the arm's first
        row with ``time >= t`` (0 when there is none).
    ph_residuals : DataFrame
        Scaled Schoenfeld residuals, one row per event: ``time``, ``km_time`` (1 - KM(t-), the x axis of R's
        ``plot(cox.zph(fit))``) and one column per coefficient (``arm: <arm>``), as ``cox.zph(fit)$y``.
    """

    tables = ("by_arm", "logrank", "contrasts", "coefficients", "ph_test", "rmst", "rmst_contrasts", "rmst_ratios")

    def __init__(self, title: str, fitted: Fitted, *, km_curves: pd.DataFrame, ph_residuals: pd.DataFrame,
                 **tables: pd.DataFrame):
        super().__init__(title, fitted, **tables)
        self.km_curves = km_curves
        self.ph_residuals = ph_residuals

    def headline(self) -> list[str]:
        lr = self.logrank.iloc[0]
        if not np.isfinite(lr["statistic"]):
            return ["Log-rank test: not defined (no events in any arm)"]
        return [f"Log-rank test: chi-square {lr['statistic']:.3f} on {int(lr['df'])} df, p = {lr['p']:.4g}"]


# --- input ---------------------------------------------------------------------------------------
def _subject_data(trial: Trial, time: str, event: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The analysis set: one row per subject with ``subject, arm, time, event``; the subjects excluded and why.

    Every problem is collected and raised together as one DataError naming column and rows (positions in
    ``trial.data``, 1-based in the message).
    """
    data = trial.data
    problems = ProblemCollector()
    ids = data["subject"].array  # indexed only at the rows of a problem (no conversion of every identifier)
    for col in (time, event):
        if col not in data.columns:
            raise DataError(f"column '{col}' is not in this trial; its columns are {list(data.columns)}. "
                            f"Pass the name of the {'time' if col == time else 'event flag'} column.")
    num = numeric_columns(problems, data, [time, event])
    tv, ev = num[time].to_numpy(float), num[event].to_numpy(float)
    no_t, no_e = np.isnan(tv), np.isnan(ev)
    for col, bad, message in (
            (time, np.isinf(tv), "is infinite; expected a finite time (censor at the last follow-up instead)"),
            (time, tv < 0, "is negative; times must be >= 0 (time since randomisation)"),
            (event, ~no_e & ~np.isin(ev, (0.0, 1.0)), "is not 0 or 1; expected 1 = event observed, 0 = censored"),
            (time, no_t & ~no_e, f"is missing where '{event}' is given; give the time of the event or of the last "
                                 "follow-up (censoring), or leave both empty to exclude the subject"),
            (event, ~no_t & no_e, f"is missing where '{time}' is given; expected 1 (event at that time) or 0 "
                                  "(censored)")):
        if bad.any():
            problems.add_for_subjects(ids, col, message, np.flatnonzero(bad))
    # both columns constant within every subject (the Trial learns that once per column): the Trial's
    # one-row-per-subject values (first non-missing value, subjects in order of first appearance)
    subj = _subject_values(trial, [time, event]) if not problems else None
    if subj is not None:
        subj = subj.set_axis(["subject", "arm", "time", "event"], axis=1)
        subj["time"] = pd.to_numeric(subj["time"], errors="coerce").astype(float)
        subj["event"] = pd.to_numeric(subj["event"], errors="coerce").astype(float)
    else:
        # subject-level columns repeat on every row of a subject: two different values is a data error
        idx = subject_index(trial)
        for name, v in ((time, tv), (event, ev)):
            varying = idx.varies(v)
            if varying.any():
                problems.add_for_subjects(ids, name, "takes different values within a subject; it is a subject-level "
                                          "column and must be the same on every row of the subject",
                                          np.flatnonzero(varying))
        problems.raise_if_any()
        subj = pd.DataFrame({"subject": idx.subjects.to_numpy(), "arm": idx.arm.array,
                             "time": idx.first(pd.Series(tv)).to_numpy(), "event": idx.first(pd.Series(ev)).to_numpy()})
    none = subj["time"].isna() & subj["event"].isna()
    return exclusions(subj, first_reason([(none, "no follow-up recorded (time and event missing)")], len(subj)))


def _subject_values(trial, columns: list[str]) -> pd.DataFrame | None:
    """``subject, arm`` and ``columns`` one row per subject when every column is subject-level, else None
    (a Trial learns only these columns' facts; anything else with ``subject_columns`` and ``subjects`` works)."""
    if isinstance(trial, Trial):
        return trial._subject_values(columns)
    if set(columns) <= set(trial.subject_columns):
        return trial.subjects[["subject", "arm", *columns]]
    return None


def _with_covariates(subj: pd.DataFrame, excluded: pd.DataFrame, cov: Covariates, strat: Covariates | None
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Covariate columns and one ``stratum`` label per subject; subjects missing either are excluded."""
    if not cov.names and strat is None:  # nothing to join (a join would hash every identifier)
        return subj, excluded
    subj = subj.join(cov.values[cov.names], on="subject")
    reason = cov.reasons(subj["subject"])
    if strat is not None:
        sv = strat.values.reindex(subj["subject"].to_numpy())
        reason = np.where(reason == "", strat.reasons(subj["subject"], "stratum"), reason)
        # the combination of the strata columns' levels is the stratum (R: strata(a, b))
        subj["stratum"] = sv.astype(object).fillna("").astype(str).agg(", ".join, axis=1).to_numpy()
    if (reason == "").all():
        return subj, excluded
    subj, more = exclusions(subj, reason)
    return subj, pd.concat([excluded, more], ignore_index=True)


# --- the analysis --------------------------------------------------------------------------------
@records_design
def survival(trial: Trial, time: str = "recovery_time", event: str = "recovered", *,
             covariates: Sequence[str] | str = (), strata: Sequence[str] | str | None = None, ties: str = "efron",
             horizon: float | None = None, alpha: float = DEFAULTS["alpha"], reference: str | None = None,
             adjust: str = DEFAULTS["adjust"]) -> SurvivalResult:
    """Time to an event by arm: Kaplan–Meier, log-rank, Cox hazard ratios (adjusted, stratified), PH check, RMST.

    Parameters
    ----------
    trial : Trial
    time : str
        Subject-level column with the time from randomisation to the event or to censoring (weeks).
    event : str
        Subject-level column: 1 = event observed at ``time``, 0 = censored at ``time``.
    covariates : sequence of str
        Adjustment covariates of the Cox model as formula terms (``"age"``, ``"C(site)"``, ``"age*sex"``,
        ``"ns(age, df=3)"``; a column that varies between visits enters with its baseline value). Subjects missing
        one are excluded and listed.
    strata : str or sequence of str, optional
        Column(s) whose levels (combinations of levels) get their own baseline hazard, as ``strata()`` in R's
        ``coxph``; the log-rank test is then stratified by them (R ``survdiff(... + strata())``).
    ties : {"efron", "breslow"}
        Handling of tied event times in the Cox model: ``"efron"`` (R ``coxph``'s default) or ``"breslow"``
        (SAS PROC PHREG's default).
    horizon : float, optional
        Horizon :math:`\\tau` of the restricted mean survival time. Default: the smallest of the arms' largest
        follow-up times (survRM2's default); a larger horizon is refused because some arm's curve is not
        estimated up to it.
    alpha : float
        1 - confidence level of every interval.
    reference : str, optional
        Compare each arm with this arm only; default all pairs (labels from
        :func:`combotherapy.arms.contrast_pairs`).
    adjust : str
        Multiplicity adjustment of the hazard-ratio and RMST contrasts (see :mod:`combotherapy.inference`);
        default Holm (``combotherapy.arguments.DEFAULTS``).

    Returns
    -------
    SurvivalResult
        ``.by_arm`` (Kaplan–Meier medians), ``.logrank``, ``.contrasts`` (hazard ratios), ``.coefficients``,
        ``.ph_test``, ``.rmst``, ``.rmst_contrasts``, ``.rmst_ratios``, ``.km_curves``, ``.ph_residuals``,
        ``.inference``.

    Raises
    ------
    DataError
        Negative or non-numeric times, an event flag other than 0/1, a time without an event flag or the
        reverse, values that vary within a subject, a horizon beyond the follow-up.
    ModelError
        Fewer than two arms with follow-up.

    Notes
    -----
    Subjects with neither time nor event are excluded (listed in ``fitted.excluded``). An arm without events
    keeps its Kaplan–Meier curve, log-rank contribution and RMST; its hazard ratios are not estimable (the Cox
    MLE of its coefficient is at -infinity) and are left empty, the Cox model being fitted to the arms with
    events — the limit of the full fit for their coefficients. Without any event only the curves and the RMST
    (the horizon, variance 0) remain. A Cox fit that does not converge (monotone likelihood) leaves the hazard
    ratios and PH check empty, with a note. Per arm the Kaplan–Meier
    estimate with Greenwood's variance and a log-transformed pointwise CI (R ``survfit``'s default
    ``conf.type = "log"``); the median's CI is where that band crosses 0.5. The log-rank test compares all arms
    (chi-square on k - 1 df). The Cox model is

    .. math:: h_i(t) = h_0(t) \\exp(\\textstyle\\sum_a \\beta_a [\\text{arm}_i = a])

    with the first arm as reference; the hazard ratio of arm a to arm b is :math:`\\exp(\\beta_a - \\beta_b)`
    with Wald CI and test from the model-based covariance. A hazard ratio above 1 means the event comes sooner
    in the first arm of the contrast. The PH check is the score test of R ``cox.zph`` (``transform = "km"``,
    one row per coefficient and a global test); a small p suggests the hazard ratio changes over time, and the
    RMST difference is then the better summary. RMST: see :func:`rmst_by_arm`; contrasts are differences with
    :math:`\\mathrm{se} = \\sqrt{v_1 + v_2}` and ratios with delta-method log-scale se (as survRM2), z tests.

    References
    ----------
    Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-81. Brookmeyer R, Crowley J. Biometrics 1982;38:29-41.
    Efron B. J Am Stat Assoc 1977;72:557-65. Grambsch PM, Therneau TM. Biometrika 1994;81:515-26.
    Royston P, Parmar MKB. BMC Med Res Methodol 2013;13:152 (RMST). Uno H et al. survRM2 (R package).

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)
    >>> res = ct.survival(trial, "recovery_time", "recovered", ties="breslow", horizon=20)
    >>> list(res.by_arm.columns)
    ['arm', 'n', 'events', 'median', 'ci_low', 'ci_high']
    >>> res.contrasts["contrast"].tolist()
    ['combined - physio', 'combined - acupuncture', 'physio - acupuncture']
    >>> res.rmst["horizon"].tolist()
    [20.0, 20.0, 20.0]
    >>> res.ph_test["term"].tolist()
    ['armacupuncture', 'armcombined', 'GLOBAL']
    """
    if type(trial).__name__ == "LazyTrial":   # out-of-core: KM, log-rank and RMST from counts per arm and time
        lazy: Any = trial
        from ..scale.lazy import needs_rows
        from ..scale.survival import survival as survival_of_engine
        if covariates not in ((), [], "", None):
            needs_rows(trial, "ct.survival with covariates (the adjusted Cox model)")
        return survival_of_engine(lazy.engine_data, lazy.arms, dict(lazy.instruments), time, event,
                                  covariates=covariates, strata=strata, ties=ties, horizon=horizon, alpha=alpha,
                                  reference=reference, adjust=adjust)
    ties = check_choice(ties, TIES, "ties", " (efron: R's default; breslow: SAS's default)")
    alpha = check_alpha(alpha)
    adjust = check_adjust(adjust)
    if covariates is None or (not isinstance(covariates, str) and len(covariates) == 0):
        cov = Covariates(pd.DataFrame(), [], [], [])  # nothing to check or take per subject
    else:
        cov = subject_covariates(trial, covariates, reserved=[time, event])
    strat = subject_covariates(trial, strata, reserved=[time, event]) if strata is not None else None
    subj, excluded = _subject_data(trial, time, event)
    subj, excluded = _with_covariates(subj, excluded, cov, strat)
    arms = [a for a in trial.arms if arm_present(subj["arm"], a)]
    if len(arms) < 2:
        raise ModelError(f"need at least two arms with follow-up in '{time}'; found {arms}")
    reference = check_reference(reference, arms)
    # recoded by category, not by row (no text per subject); an arm outside `arms` would be missing, as before
    cat = pd.Categorical(subj["arm"])
    recode = np.append(pd.Index(arms).get_indexer(pd.Index(cat.categories).astype(str)), -1)
    subj["arm"] = pd.Categorical.from_codes(recode[cat.codes], categories=arms, ordered=True)
    # by arm, then time (stable: subjects in order within ties), as sort_values(["arm", "time"], kind="stable")
    arm_code = subj["arm"].cat.codes.to_numpy().astype(np.intp)
    by = np.lexsort((subj["time"].to_numpy(float), arm_code))
    subj = subj.take(by).reset_index(drop=True)
    arm_code = arm_code[by]
    t, e = subj["time"].to_numpy(float), subj["event"].to_numpy(float)
    check_event_times(t, e, time, event)  # all events at one time: nothing to order (was a raw LinAlgError)
    # per arm (codes 0..k-1, every arm present): events, subjects and the largest time, by arrays on the codes
    # (the grouped sum, size and max of the subjects: sums of 0/1 flags and maxima are exact in any order)
    k_arms = len(arms)
    events = pd.Series(np.bincount(arm_code, weights=e, minlength=k_arms), index=arms)
    n_arm = pd.Series(np.bincount(arm_code, minlength=k_arms), index=arms)
    largest_time = np.full(k_arms, -np.inf)
    np.maximum.at(largest_time, arm_code, t)
    notes = []
    dropped = [arm for arm in trial.arms if arm not in arms]
    if dropped:
        notes.append(f"arm(s) {dropped} have no subject with follow-up and are left out")
    # an arm without events still has a Kaplan–Meier curve and an RMST; only its hazard ratios are not estimable
    # (the Cox MLE of its coefficient is -infinity, and the other coefficients converge to the fit without it)
    cox_arms = [arm for arm in arms if events[arm] > 0]
    no_events = [arm for arm in arms if events[arm] == 0]
    if no_events:
        notes.append(f"arm(s) {no_events} have no events in '{event}': their hazard ratios are not estimable "
                     "(0 or infinite) and are left empty; the Cox model is fitted to the arms with events "
                     f"{cox_arms or '(none)'}. Kaplan–Meier, log-rank and RMST use every arm.")

    # Kaplan–Meier
    # km_table(t, e, a, alpha) without its sort: the subjects are in arm-code and time order, each arm present
    curves = _km_sorted(arm_code, t, e, np.asarray(arms, dtype=object).astype(str), alpha)
    km = pd.DataFrame([(arm, int(n_arm[arm]), int(events[arm]), *km_median(curves[curves["group"] == arm]))
                       for arm in arms], columns=["arm", "n", "events", "median", "ci_low", "ci_high"])

    # log-rank (statsmodels survdiff; rho = 0), stratified when strata are given; undefined without any event
    stratum = subj["stratum"].to_numpy() if strat is not None else None
    if events.sum() > 0 and stratum is None:
        # statsmodels survdiff's arithmetic on km_table's counts per (arm, distinct time): no second pass over
        # the subjects (the counts are what survdiff bins them into)
        gr = np.unique(np.asarray(arms, dtype=object).astype(str))
        code = pd.Categorical(curves["group"], categories=gr).codes
        n_ev = curves["n_events"].to_numpy(float)
        o, v = _logrank_parts(code, curves["time"].to_numpy(float), n_ev + curves["n_censored"].to_numpy(float),
                              n_ev, gr.size)
        chisq, p_lr = _logrank_chisq(o, v, gr.size)
    elif events.sum() > 0:
        chisq, p_lr = survdiff(t, e, np.asarray(arms, dtype=object)[arm_code], strata=stratum)
    else:
        chisq, p_lr = np.nan, np.nan
        notes.append(f"no events in '{event}' in any arm: the log-rank test is not defined")
    logrank = pd.DataFrame({"statistic": [float(chisq)], "df": [len(arms) - 1], "p": [float(p_lr)]})

    # Cox model on the arms with events, first of them as reference; all contrasts from the coefficient vector
    pairs = contrast_pairs(arms, reference)
    fit = inference = None
    w_c = None   # frequency weights of the Cox rows (arm only: one row per arm, distinct time and event status)
    if len(cox_arms) >= 2:
        if cov.terms or stratum is not None:
            on = np.isin(arm_code, [arms.index(arm) for arm in cox_arms])  # np.isin(a, cox_arms) on the codes
            t_c, e_c = t[on], e[on]
        if cov.terms:
            design = arm_design(subj.loc[on].reset_index(drop=True), cox_arms, cov, intercept=False)
        else:
            # arm only: a subject's row of the design depends on its arm alone, so the design (and its grid) is
            # built on one row per arm and taken by arm code (no formula pass over every subject)
            per_arm = arm_design(pd.DataFrame({"arm": cox_arms}), cox_arms, cov, intercept=False)
            if stratum is None:
                # and subjects with the same arm, time and event status are interchangeable: the model is fitted
                # to one row per (arm, distinct time, status), weighted by its number of subjects (the Kaplan-Meier
                # table's counts), rows in time order and, within a time, in arm order (the subjects' order)
                t_c, e_c, w_c, code = _cox_cells(curves, arms, cox_arms)
            else:
                code = pd.Index(cox_arms).get_indexer(subj["arm"].cat.categories)[
                    subj["arm"].cat.codes.to_numpy()[on]]
            design = Design(per_arm.X[code], per_arm.names, per_arm.grid, per_arm.formula)
        X = design.X
        if np.linalg.matrix_rank(X) < X.shape[1]:
            raise ModelError("the Cox design (arm + covariates) is rank deficient: a covariate is constant, "
                             "constant within arms or a copy of another among the subjects analysed; remove it",
                             kind="singular")
        cox = cox_fit(t_c, e_c, X, ties, stratum[on] if stratum is not None else None, weights=w_c)
        beta, vcov, converged = cox["params"], cox["vcov"], cox["converged"]
        if not (converged and np.all(np.isfinite(beta)) and np.all(np.isfinite(vcov))):
            # monotone likelihood: a coefficient runs to +-infinity (e.g. every event of one arm comes while the
            # other arm is still at risk and none of its events while the first is): no finite hazard ratio
            notes.append("the Cox model did not converge (monotone likelihood: some hazard ratio is 0 or infinite, "
                         "e.g. all events of one arm come before any event of another); hazard ratios and the PH "
                         "check are left empty. Kaplan–Meier, log-rank and RMST are unaffected.")
            fit = None
        else:
            fit = cox
    if fit is not None:
        # the grid's cells are log relative hazards against the grid mean; their differences the log hazard ratios
        inference = Inference(tuple(design.names), beta, vcov, np.inf, "z", design.grid, link="log")
        terms = list(design.names)
        ref_c = reference if reference in cox_arms else None
        hr = inference.compare(reference=ref_c, adjust=adjust, alpha=alpha)
        keep = [(f, g) in set(pairs) for f, g in zip(hr["first"], hr["second"])]
        hr = _by_pairs(hr.loc[keep], pairs)
        cox_loglik = float(cox["llf"])
        coefficients = inference.coefficients(alpha)
    else:
        coefficients = _empty_table(["term"], ("estimate", "se", "df", "statistic", "p", "ci_low", "ci_high"))
        t_c = e_c = X = beta = None
        hr = _by_pairs(_empty_contrasts(ratio=True), pairs)
        cox_loglik = np.nan

    # proportional hazards (cox.zph, km transform); the stratified version is not implemented
    if beta is not None and strat is not None:
        notes.append("PH check: not computed for a stratified Cox model (R: cox.zph(fit) on the stratified fit)")
        terms = []
        chisq_j, chisq_g, ev_time, scaled, km_x = (np.array([]), np.array([np.nan]), np.array([]),
                                                    np.empty((0, 0)), np.array([]))
    elif beta is not None:
        terms = terms
        chisq_j, chisq_g, _, ev_time, scaled, km_x = cox_zph(t_c, e_c, X, beta, ties, order=fit["order"],
                                                              weights=w_c)
    else:
        terms = []
        chisq_j, chisq_g, ev_time, scaled, km_x = (np.array([]), np.array([np.nan]), np.array([]),
                                                    np.empty((0, 0)), np.array([]))
    ph_test = pd.DataFrame({"term": terms + ["GLOBAL"], "statistic": np.concatenate([chisq_j, chisq_g]),
                            "df": [1] * len(terms) + [len(terms)]})
    ph_test["p"] = stats.chi2.sf(ph_test["statistic"], ph_test["df"]) if terms else np.nan
    ph_residuals = pd.concat([pd.DataFrame({"time": ev_time, "km_time": km_x}),
                              pd.DataFrame(scaled, columns=terms)], axis=1)

    # restricted mean survival time
    largest = pd.Series(largest_time, index=pd.Index(arms, name="arm"))
    tau, rmst, rmst_contrasts, rmst_ratios, rmst_notes = rmst_tables(curves, largest, arms, horizon, time,
                                                                     reference, adjust, alpha)
    notes += rmst_notes + event_notes(trial.instruments.get(event), event, tau, horizon) + [
        "PH check: score test of R cox.zph (transform 'km'); a small p means the hazard ratio changes over time",
    ] + cov.notes
    if cov.names or strat is not None:
        notes.append("hazard ratios are adjusted" + (f" for {', '.join(cov.names)}" if cov.names else "")
                     + (f" and stratified by {', '.join(strat.names)}" if strat is not None else "")
                     + "; Kaplan–Meier curves, medians and RMST are unadjusted"
                     + ("; the log-rank test is stratified" if strat is not None else ""))
    fitted = Fitted(
        model=f"Kaplan–Meier, log-rank and Cox proportional hazards (ties: {ties})",
        formula=f"Surv({time}, {event}) ~ arm" + "".join(f" + {c}" for c in cov.terms)
                + (f" + strata({', '.join(strat.names)})" if strat is not None else ""), outcome=time,
        df_method="Wald z (asymptotic)", adjust=adjust,
        alpha=alpha,
        ci_adjust=hr.attrs.get("ci_adjust"),
        n_per_arm={arm: int(n_arm[arm]) for arm in arms}, excluded=excluded, notes=notes,
        extra={"ties": ties, "horizon": tau, "events": {arm: int(events[arm]) for arm in arms},
               "cox_loglik": cox_loglik, "reference_arm_of_coding": cox_arms[0] if cox_arms else None,
               "cox_arms": cox_arms, "covariates": list(cov.terms),
               "strata": list(strat.names) if strat is not None else [],
               # read by the Kaplan-Meier figure: the columns (not parsed back from the formula) and the schedule
               "time": time, "event": event, "visits": [float(v) for v in trial.visits if v > 0]},
    )
    res = SurvivalResult(f"Time to event: {time}", fitted, by_arm=km, logrank=logrank, contrasts=hr,
                          coefficients=coefficients, ph_test=ph_test, rmst=rmst, rmst_contrasts=rmst_contrasts, rmst_ratios=rmst_ratios,
                          km_curves=curves.rename(columns={"group": "arm"}).drop(columns="se_log"),
                          ph_residuals=ph_residuals)
    res.inference = inference
    res.instrument = trial.instruments.get(event)  # the hazard is of the event: its direction says what is better
    res.better = res.instrument.better if res.instrument is not None else None
    return res


def _cox_cells(curves: pd.DataFrame, arms: list[str], cox_arms: list[str]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The Cox model's rows for a design on arm alone: one per (arm, distinct time, event status) with subjects,
    from the Kaplan-Meier table (``curves``: per arm and distinct time, ``n_events`` and ``n_censored``), arms
    restricted to ``cox_arms``; sorted by time, then arm (in ``arms`` order), events before censorings.

    Returns time, event (1/0), weight (subjects) and each row's position in ``cox_arms``."""
    g = pd.Index(arms).get_indexer(curves["group"].to_numpy(object))
    pos = pd.Index(cox_arms).get_indexer(np.asarray(arms, dtype=object))[g]
    keep = pos >= 0
    tt = curves["time"].to_numpy(float)[keep]
    counts = (curves["n_events"].to_numpy()[keep], curves["n_censored"].to_numpy()[keep])
    time = np.concatenate([tt, tt])
    event = np.repeat([1.0, 0.0], tt.size)
    weight = np.concatenate(counts).astype(float)
    code = np.concatenate([pos[keep], pos[keep]])
    arm_rank = np.concatenate([g[keep], g[keep]])
    order = np.lexsort((1 - event, arm_rank, time))
    order = order[weight[order] > 0]
    return time[order], event[order], weight[order], code[order]


def rmst_tables(curves: pd.DataFrame, largest: pd.Series, arms: list[str], horizon: float | None, time: str,
                reference: str | None, adjust: str, alpha: float
                ) -> tuple[float, pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """Restricted mean survival time per arm up to the horizon (default: the smallest of the arms' largest
    times, ``largest``), its differences and ratios between arms, and notes; shared by the in-memory and the
    out-of-core analysis.

    Returns
    -------
    tau, rmst, rmst_contrasts, rmst_ratios, notes
    """
    tau_max = float(largest.min())
    tau = tau_max if horizon is None else float(horizon)
    if not tau > 0:
        raise DataError(f"horizon must be a positive time, not {horizon!r}")
    if tau > tau_max:
        raise DataError(f"horizon {tau:g} is beyond the follow-up of arm '{largest.idxmin()}' (its largest time "
                        f"in '{time}' is {tau_max:g}): the area under its curve is not estimable up to {tau:g}. "
                        f"Use a horizon <= {tau_max:g}.")
    grid = pd.DataFrame({"arm": arms})
    r = rmst_by_arm(curves, tau)
    z = stats.norm.isf(alpha / 2)
    se = np.sqrt(r["var"].to_numpy())
    rmst = pd.DataFrame({"arm": r["arm"], "horizon": tau, "estimate": r["estimate"], "se": se,
                         "ci_low": r["estimate"] - z * se, "ci_high": r["estimate"] + z * se})
    m, v = r["estimate"].to_numpy(), r["var"].to_numpy()
    contrasts = _rmst_compare(grid, m, v, reference, adjust, alpha)
    ratios = _as_ratio(_rmst_compare(grid, np.log(m), v / m ** 2, reference, adjust, alpha))
    notes = []
    if (v == 0).any():
        notes.append(f"arm(s) {[arm for arm, x in zip(arms, v) if x == 0]} have no events up to the horizon: "
                     "their RMST is the horizon with variance 0; a contrast between two such arms is exactly known "
                     "(se 0) and has no test")
    return tau, rmst, contrasts, ratios, notes


def event_notes(better, event: str, tau: float, horizon: float | None) -> list[str]:
    """What a hazard ratio means for this event (``better``: its Instrument, if any), the median's interval
    and the RMST horizon."""
    meaning = ("sooner in the first arm of the contrast" + (" (better: the event is desirable)"
               if better is not None and better.better == "higher" else ""))
    return [f"hazard ratio > 1: the event ('{event}') comes {meaning}",
            "median CI: where the log-transformed pointwise band crosses 0.5 (R survfit's default conf.type = "
            "'log')",
            f"RMST horizon {tau:g}" + (" (default: the smallest of the arms' largest follow-up times)"
                                       if horizon is None else "")]


def _empty_table(text: list[str], numbers: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({**{c: pd.Series([], dtype="str") for c in text},
                         **{c: pd.Series([], dtype=float) for c in numbers}})


def _empty_contrasts(ratio: bool = False) -> pd.DataFrame:
    """A contrast table without rows (nothing estimable), with the interface's columns and dtypes."""
    numbers = ("estimate",) + (("log_estimate",) if ratio else ()) + ("se", "df", "statistic", "p", "p_adj",
                                                                      "ci_low", "ci_high")
    out = _empty_table(["first", "second", "contrast"], numbers)
    out.attrs = {"ci_adjust": None}
    return out


def _by_pairs(table: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """One row per pair (first, second) in ``pairs`` order; pairs not in ``table`` get empty (NaN) estimates."""
    attrs = table.attrs
    # each pair's row by position (a dict over a handful of rows, not a MultiIndex reindex); -1: no row (NaN)
    row = {pq: i for i, pq in enumerate(zip(table["first"], table["second"]))}
    at = [row.get(pq, -1) for pq in pairs]
    if at == list(range(len(table))):   # every pair, in this order already: the table as it is, labels set
        out = table.reset_index(drop=True)
        out["contrast"] = [contrast_label(f, g) for f, g in pairs]
        out.attrs = attrs
        return out
    out = table.drop(columns=["first", "second"]).reset_index(drop=True).reindex(at).reset_index(drop=True)
    out.insert(0, "second", pd.Series([g for _, g in pairs], dtype=table["second"].dtype))
    out.insert(0, "first", pd.Series([f for f, _ in pairs], dtype=table["first"].dtype))
    out["contrast"] = [contrast_label(f, g) for f, g in pairs]
    out.attrs = attrs
    return out


def _rmst_compare(grid: pd.DataFrame, m: np.ndarray, v: np.ndarray, reference: str | None, adjust: str,
                  alpha: float) -> pd.DataFrame:
    """RMST contrasts (independent arms: covariance diag(v)); pairs whose variance is 0 (no events in either arm
    before the horizon) are exact differences without a test, so they are left out of the engine and its
    multiplicity family and reported with se 0."""
    arms = grid["arm"].tolist()
    pairs = contrast_pairs(arms, reference)
    var = dict(zip(arms, v))
    testable = [pq for pq in pairs if var[pq[0]] + var[pq[1]] > 0]
    if testable:
        out = engine.compare(grid, np.eye(len(arms)), m, np.diag(v), np.inf, pairs=testable, adjust=adjust,
                             alpha=alpha)
    else:
        out = _empty_contrasts()
    out = _by_pairs(out, pairs)
    mean = dict(zip(arms, m))
    exact = out["se"].isna().to_numpy()
    if exact.any():
        out.loc[exact, "estimate"] = [mean[x] - mean[y] for (x, y), e in zip(pairs, exact) if e]
        out.loc[exact, "se"] = 0.0
        out.loc[exact, ["ci_low", "ci_high"]] = out.loc[exact, ["estimate", "estimate"]].to_numpy()
    return out


def _as_ratio(log_table: pd.DataFrame) -> pd.DataFrame:
    """A contrast table on the log scale -> ratio measure (the interface's layout): estimate and limits on the
    ratio scale, ``log_estimate`` after ``estimate``, ``se`` on the log scale."""
    out = log_table.copy()
    out.insert(out.columns.get_loc("estimate") + 1, "log_estimate", out["estimate"])
    for col in ("estimate", "ci_low", "ci_high"):
        out[col] = np.exp(out[col])
    out.attrs = log_table.attrs
    return out
