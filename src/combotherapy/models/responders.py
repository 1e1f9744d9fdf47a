"""Responder analysis: who improved by a clinically important amount, and how the arms compare.

A subject responds when the outcome at the chosen visit has improved from baseline, in the
instrument's good direction, by at least a threshold: absolute units (IMMPACT: 2 points on a
0-10 NRS) or a fraction of the baseline (30 % "moderately important", 50 % "substantial").
The arms are compared with the risk difference (Newcombe), risk ratio (Katz), odds ratio from
a logistic regression adjusted for baseline, and the number needed to treat (Altman).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..analysis_set import change, list_subjects, subject_index
from ..arguments import DEFAULTS, check_alpha, check_choice, check_reference
from ..arguments import MISSING_RULES as ARG_MISSING_RULES
from ..arms import contrast_pairs
from ..errors import ArgumentError, DataError
from ..instruments import Instrument
from ..results import Fitted, Result, records_design
from ..trial import Trial
from ._covariates import subject_covariates
from .proportions import wilson_ci
from .responder_measures import INTERVALS, MEASURES, contrast_table

__all__ = ["responders", "ResponderResult", "MEASURES"]

#: the shared missing-data vocabulary (combotherapy.arguments.MISSING_RULES): no value at the visit counts as a
#: non-responder, excludes the subject, or is an error
MISSING_RULES = ARG_MISSING_RULES
ADJUST_METHODS = ("none", "bonferroni", "holm")
#: improvements this close (relative) to the threshold count as reaching it: decimal data such as
#: 10 -> 7 against 30 % would otherwise fail by rounding (0.3 * 10 = 3.0000000000000004 > 3)
TIE_TOLERANCE = 1e-9
ARM_COLUMNS = ["arm", "n", "responders", "proportion", "ci_low", "ci_high", "missing_at_visit", "no_baseline",
               "zero_baseline"]


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------
class ResponderResult(Result):
    """Result of :func:`responders`.

    Attributes
    ----------
    by_arm : DataFrame
        One row per arm: ``arm, n, responders, proportion, ci_low, ci_high`` (Wilson), and the
        subjects behind the counts: ``missing_at_visit`` (no value at the visit: counted as
        non-responders inside ``n`` with ``missing="non-responder"``, excluded from ``n`` with
        ``missing="exclude"``), ``no_baseline`` (excluded) and ``zero_baseline`` (relative
        thresholds only: counted as non-responders).
    contrasts : DataFrame
        Long form, one row per pair and ``measure`` (``risk_difference, risk_ratio, odds_ratio,
        nnt``) with ``estimate, se, df, statistic, p, p_adj, ci_low, ci_high, log_estimate, note``.
    standardised : DataFrame or None
        With standardisation: the covariate-adjusted risk per arm, ``arm, estimate, se, ci_low, ci_high``
        (the average predicted risk of the analysed subjects had all been given that arm).
    subjects : DataFrame
        Per subject: ``subject, arm, baseline, value, improvement, responder`` (NaN when excluded)
        and ``status`` (why the subject counts as it does). Not part of the exported tables.
    fitted : Fitted
        What was computed; ``fitted.extra`` holds ``threshold``, ``relative``, ``missing``,
        ``definition``, ``reference``, the logistic model (``logistic``) and ``methods``.
    """

    tables = ("by_arm", "contrasts", "standardised")

    def __init__(self, title: str, fitted: Fitted, *, by_arm: pd.DataFrame, contrasts: pd.DataFrame,
                 subjects: pd.DataFrame, standardised: pd.DataFrame | None = None):
        super().__init__(title, fitted, by_arm=by_arm, contrasts=contrasts)
        self.standardised = standardised
        self.subjects = subjects

    def headline(self) -> list[str]:
        return [f"Responder: {self.fitted.extra['definition']}.",
                "A positive risk difference (risk or odds ratio above 1, positive NNT) means more responders "
                "in the first arm of the contrast, which is better."]

    @property
    def threshold(self) -> float:
        return self.fitted.extra["threshold"]

    @property
    def relative(self) -> bool:
        return self.fitted.extra["relative"]

    @property
    def missing(self) -> str:
        return self.fitted.extra["missing"]


# ----------------------------------------------------------------------------------------------
# checks and classification
# ----------------------------------------------------------------------------------------------
def _check_arguments(trial: Trial, outcome: str, visit: float, threshold: float, relative: bool, missing: str,
                     alpha: float, adjust: str) -> tuple[Instrument, float]:
    # the isinstance(trial, Trial) check is in responders(): the out-of-core path passes the same facts
    alpha, missing = check_alpha(alpha), check_choice(missing, MISSING_RULES, "missing")
    adjust = check_choice(adjust, ADJUST_METHODS, "adjust", " (a responder analysis adjusts each measure's "
                          "p-values over the pairs)")
    inst = trial.instrument(outcome)
    if inst.level != "visit" or inst.kind == "event":
        raise DataError(f"outcome '{outcome}' is measured once per subject ({inst.kind}); a responder analysis "
                        f"needs an outcome measured at baseline and follow-up visits, such as "
                        f"{trial.visit_outcomes}")
    v = trial.check_visit(visit)
    if v == 0:
        later = [f"{x:g}" for x in trial.visits if x > 0]
        raise DataError(f"visit 0 is the baseline; choose a follow-up visit (weeks): {later}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)) \
            or not np.isfinite(threshold) or threshold <= 0:
        raise ArgumentError(f"threshold must be a positive number (an improvement in {inst.units or 'units'}, or "
                            f"a fraction of baseline with relative=True), not {threshold!r}", argument="threshold",
                            kind="out of range")
    span = None if inst.low is None or inst.high is None else inst.high - inst.low
    if not relative and span is not None and threshold > span:
        raise ArgumentError(f"threshold {threshold:g} is larger than the whole range of '{outcome}' ({inst.low:g} "
                            f"to {inst.high:g}{' ' + inst.units if inst.units else ''}): nobody can improve that "
                            "much, so every arm would have 0 responders. For a relative improvement (e.g. 30% of "
                            f"baseline) pass threshold={threshold / 100:g}, relative=True; otherwise give the "
                            f"improvement in {inst.units or 'the instrument’s units'}", argument="threshold",
                            kind="out of range")
    if relative and inst.better == "lower" and threshold > 1:
        raise ArgumentError(f"relative threshold {threshold:g} asks for a reduction of more than 100% of baseline, "
                            f"which is impossible for '{outcome}'; give a fraction such as 0.3 or 0.5",
                            argument="threshold", kind="out of range")
    return inst, v, alpha, missing, adjust


def _classify(trial: Trial, outcome: str, v: float, inst: Instrument, threshold: float, relative: bool,
              missing: str) -> pd.DataFrame:
    idx = subject_index(trial)  # row positions per subject, shared with the other models of this trial
    at_v = idx.rows_at(v)       # a DataError naming the subjects with two rows at the visit
    base = idx.at_visit(outcome, 0.0)
    value = idx.take(outcome, at_v)
    frame = pd.DataFrame({"subject": idx.subjects.to_numpy(), "arm": idx.arm.to_numpy(),
                          "baseline": base.to_numpy(dtype=float), "value": value.to_numpy(dtype=float)})
    frame["arm"] = pd.Categorical(frame["arm"], categories=trial.arms, ordered=True)

    no_base = frame["baseline"].isna()
    if no_base.any() and missing != "exclude":
        raise DataError(f"{int(no_base.sum())} subjects have no baseline (visit 0) value of '{outcome}': "
                        f"{list_subjects(frame.loc[no_base, 'subject'])}. Response is a change from baseline; complete the "
                        f"data, or pass missing='exclude' to exclude them (they will be reported)",
                        kind="missing baseline", column=outcome)
    no_value = frame["value"].isna() & ~no_base
    if no_value.any() and missing == "error":
        raise DataError(f"{int(no_value.sum())} subjects have no '{outcome}' value at week {v:g}: "
                        f"{list_subjects(frame.loc[no_value, 'subject'])}. Pass missing='non-responder' to count them as "
                        "non-responders, or missing='exclude' to leave them out (they will be reported)",
                        kind="missing value", column=outcome)
    if relative:
        neg = frame["baseline"] < 0
        if neg.any():
            raise DataError(f"relative thresholds need positive baselines, but {int(neg.sum())} subjects have a "
                            f"negative baseline '{outcome}' ({list_subjects(frame.loc[neg, 'subject'])}); use an absolute "
                            f"threshold (relative=False)")

    improvement = inst.sign * change(frame["value"], frame["baseline"])
    cut = threshold * frame["baseline"] if relative else pd.Series(float(threshold), index=frame.index)
    reached = improvement >= cut - TIE_TOLERANCE * np.maximum(1.0, cut.abs())
    zero_base = (frame["baseline"] == 0) & relative

    status = np.select(
        [no_base, no_value & (missing == "exclude"), no_value, zero_base, reached],
        ["excluded: no baseline", "excluded: no value at visit", "non-responder: no value at visit",
         "non-responder: baseline 0 (no relative improvement possible)", "responder"],
        default="non-responder")
    frame["improvement"] = improvement
    frame["responder"] = np.where(pd.Series(status).str.startswith("excluded").to_numpy(), np.nan,
                                  (status == "responder").astype(float))
    frame["status"] = pd.Series(status, dtype="str")
    return frame


# ----------------------------------------------------------------------------------------------
# public function
# ----------------------------------------------------------------------------------------------
@records_design
def responders(trial: Trial, outcome: str, visit: float, *, threshold: float, relative: bool = False,
               missing: Literal["non-responder", "exclude", "error"] = "non-responder", reference: str | None = None,
               alpha: float = DEFAULTS["alpha"], adjust: Literal["none", "bonferroni", "holm"] = DEFAULTS["adjust"],
               covariates: Sequence[str] | str = (), standardise: bool | None = None,
               interval: Literal["delta", "bootstrap"] = "delta", n_boot: int = 2000,
               rng: np.random.Generator | int | None = None) -> ResponderResult:
    """Responders by improvement from baseline, per arm and compared between arms.

    Parameters
    ----------
    trial : Trial
        The trial (from :func:`combotherapy.load`).
    outcome : str
        An outcome measured at baseline and follow-up (e.g. ``"pain"``).
    visit : float
        Follow-up visit (weeks) at which response is judged.
    threshold : float
        Minimum improvement: in the instrument's units, or with ``relative=True`` a fraction of
        the baseline value (IMMPACT: 0.3 moderately, 0.5 substantially important).
    relative : bool
        Read ``threshold`` as a fraction of baseline. Subjects with baseline 0 cannot improve by a
        fraction of it: they count as non-responders and are reported. Negative baselines raise
        :class:`DataError`.
    missing : {"non-responder", "exclude", "error"}
        Subjects without a value at ``visit``: counted as non-responders (the usual conservative
        rule; reported per arm), or excluded (complete cases; reported per arm). Subjects without a
        baseline raise :class:`DataError` unless ``missing="exclude"``, which excludes them; ``"error"`` refuses
        any missing value. The same vocabulary and default as the responder curve.
    reference : str, optional
        Compare each arm against this one instead of all pairs.
    alpha : float
        1 - confidence level.
    adjust : {"none", "bonferroni", "holm"}
        Multiplicity adjustment over the pairs, within each measure (``p_adj``). Bonferroni also
        widens the contrast intervals (each at ``alpha / m``); Holm adjusts p-values only (it has no
        matching simultaneous intervals) and the intervals stay unadjusted.
    covariates : sequence of str
        Adjustment covariates of the logistic model besides the baseline (numeric linearly, text columns as
        factors; a column that varies between visits enters with its baseline value). Subjects missing one are
        excluded from every measure (one analysis set) and listed.
    standardise : bool, optional
        Add the covariate-adjusted (standardised, g-computation) risk difference and risk ratio
        (``adjusted_risk_difference``, ``adjusted_risk_ratio``) and the ``standardised`` per-arm risks.
        Default: when covariates are given.
    interval : {"delta", "bootstrap"}
        Standard errors and intervals of the standardised measures: delta method (covariates held at their
        observed values), or a bootstrap of subjects within arms with percentile intervals.
    n_boot : int
        Bootstrap samples (``interval="bootstrap"``).
    rng : numpy.random.Generator or int
        Randomness of the bootstrap (a Generator, or a seed); required with ``interval="bootstrap"``.

    Returns
    -------
    ResponderResult
        ``.by_arm`` (n, responders, proportion, Wilson CI per arm), ``.contrasts`` (long form: one row
        per pair and measure), ``.subjects`` (each subject's classification), ``.fitted``,
        ``.summary()``.

    Notes
    -----
    With ``s = +1`` when higher values are better and ``-1`` when lower are better, subject ``i``
    responds when ``s (y_i,visit - y_i,0) >= c`` with ``c = threshold`` (absolute) or
    ``c = threshold * y_i,0`` (relative); improvements within a relative ``1e-9`` of ``c`` count
    (so that decimal data such as 10 -> 7 reach 30 %). For each pair (first, second):

    - risk difference ``p1 - p2``: Newcombe's hybrid score interval (method 10), ``se`` the
      unpooled Wald SE, ``statistic``/``p`` the pooled score test (= ``prop.test(correct=FALSE)``);
    - risk ratio ``p1 / p2``: Katz log interval, Wald test on the log scale; 0.5 is added to each
      cell only for tables with a zero count (``note`` says so);
    - odds ratio: ``logit P(resp_i) = b0 + b_arm(i) + b_base y_i,0`` fitted by maximum likelihood
      to all analysed subjects (all arms together), ``log OR = b_first - b_second``, Wald interval;
      arms where nobody or everybody responded make the MLE not exist: their odds ratios are NaN
      (with a note) and the model is fitted to the other arms; separation by baseline raises
      :class:`ModelError`;
    - adjusted (standardised) risk difference and ratio: from the same logistic model, every analysed
      subject is predicted under each arm and the predictions averaged, :math:`\\hat P_a = n^{-1}\\sum_i
      \\mathrm{expit}(x_i(a)^T\\hat\\beta)`; ``P_first - P_second`` and ``P_first / P_second`` (log scale)
      with delta-method or bootstrap intervals (see :mod:`combotherapy.models.standardisation`);
    - NNT ``= 1 / RD`` with limits ``1 / RD_high`` and ``1 / RD_low``; when the RD interval
      includes 0 the NNT interval passes through infinity (Altman 1998) and ``note`` says e.g.
      ``"NNTB 8.0 (NNTH 30.2 to ∞ to NNTB 3.9)"``.

    A positive risk difference (ratio above 1) means more responders in the first arm, which is
    better for every instrument since response is defined in its good direction.

    References
    ----------
    Dworkin RH et al. (2008) Interpreting the clinical importance of treatment outcomes in chronic
    pain clinical trials: IMMPACT recommendations. J Pain 9:105-121.
    Newcombe RG (1998) Stat Med 17:873-890. Katz D et al. (1978) Biometrics 34:469-474.
    Altman DG (1998) BMJ 317:1309-1312.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)
    >>> res = ct.responders(trial, "pain", 12, threshold=0.3, relative=True)   # IMMPACT: 30% less pain
    >>> res.by_arm["n"].tolist()
    [60, 60, 60]
    >>> res.contrasts["measure"].unique().tolist()
    ['risk_difference', 'risk_ratio', 'odds_ratio', 'nnt']
    """
    if type(trial).__name__ == "LazyTrial":   # out-of-core: responder counts by aggregate queries
        lazy: Any = trial
        from ..scale.lazy import needs_rows
        from ..scale.responders import responders as responders_of_engine
        if covariates not in ((), [], "", None) or standardise or interval == "bootstrap":
            needs_rows(trial, "ct.responders with covariates, standardisation or the bootstrap")
        return responders_of_engine(lazy.engine_data, lazy.arms, lazy.instruments, outcome, visit,
                                    threshold=threshold, relative=relative, missing=missing, reference=reference,
                                    alpha=alpha, adjust=adjust, covariates=covariates, standardise=standardise,
                                    interval=interval, n_boot=n_boot, rng=rng, source=lazy.source)
    if not isinstance(trial, Trial):
        raise DataError(f"trial must be a ct.Trial (from ct.load), not {type(trial).__name__}")
    inst, v, alpha, missing, adjust = _check_arguments(trial, outcome, visit, threshold, relative, missing, alpha,
                                                       adjust)
    cov = subject_covariates(trial, covariates, reserved=[outcome])
    standardise = bool(cov.names) if standardise is None else bool(standardise)
    if interval not in INTERVALS:
        raise DataError(f"interval must be one of {INTERVALS}, not {interval!r}")
    if interval == "bootstrap":
        if rng is None:
            raise DataError("interval='bootstrap' needs rng= (a numpy Generator or an integer seed) so the result "
                            "can be reproduced")
        if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 100:
            raise DataError(f"n_boot must be a whole number of at least 100 bootstrap samples, not {n_boot!r}")
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    frame = _classify(trial, outcome, v, inst, threshold, relative, missing)
    if cov.names:
        frame = frame.join(cov.values[cov.names], on="subject")
        why = cov.reasons(frame["subject"])
        lack = (why != "") & ~frame["status"].str.startswith("excluded").to_numpy()
        frame.loc[lack, "status"] = "excluded: " + why[lack].astype(str)
        frame.loc[lack, "responder"] = np.nan
    arms = [a for a in trial.arms if (frame["arm"] == a).any()]
    # counting missing values as non-responders needs observed ones to count against: an arm (or a trial)
    # without values at the visit would otherwise give confident comparisons of imputed zeros
    seen = frame["value"].notna().groupby(frame["arm"], observed=False).sum().reindex(arms).astype(int)
    analysed = frame.loc[frame["responder"].notna()].copy()
    status_count = pd.crosstab(frame["arm"], frame["status"]).reindex(index=arms, fill_value=0)

    def count(s: str) -> np.ndarray:
        return (status_count[s].to_numpy(int) if s in status_count.columns else np.zeros(len(arms), int))

    n = analysed.groupby("arm", observed=False)["responder"].count().reindex(arms).to_numpy(int)
    x = analysed.groupby("arm", observed=False)["responder"].sum().reindex(arms).to_numpy(float).astype(int)
    arm_tab = arm_table(arms, seen, n, x, count("non-responder: no value at visit") + count(
        "excluded: no value at visit"), count("excluded: no baseline"),
        count("non-responder: baseline 0 (no relative improvement possible)"), outcome=outcome, v=v,
        visits=trial.visits, alpha=alpha)

    pairs = contrast_pairs(arms, check_reference(reference, arms))
    contrasts, logit, extra_notes, risks = contrast_table(arm_tab, analysed, pairs, alpha, adjust, outcome, cov,
                                                           standardise, interval, n_boot, rng)
    inference = logit.pop("inference", None)  # the logistic model (odds ratios), on the arms where it exists

    extra_notes += cov.notes
    if standardise:
        extra_notes.append(f"Adjusted risk difference and ratio: standardised (g-computation) from the logistic "
                           f"model {logit['formula']}, averaging each subject's predicted risk under each arm; "
                           + ("delta-method intervals (covariates held at their observed values)"
                              if interval == "delta" else f"bootstrap within arms ({n_boot} samples), percentile "
                              "intervals") + ".")
    fitted = _record(trial, outcome, v, inst, threshold, relative, missing, reference, alpha, adjust, arm_tab,
                     frame, logit, extra_notes, len(pairs))
    fitted.extra.update(covariates=list(cov.names), standardise=standardise, interval=interval)
    subjects = frame[["subject", "arm", "baseline", "value", "improvement", "responder", "status"]]
    title = f"Responders: {inst.label or outcome} at week {v:g}"
    res = ResponderResult(title, fitted, by_arm=arm_tab, contrasts=contrasts,
                          subjects=subjects.reset_index(drop=True), standardised=risks)
    res.inference = inference
    res.instrument, res.better = inst, inst.better
    return res


def arm_table(arms: list[str], seen: pd.Series, n: np.ndarray, x: np.ndarray, missing_at_visit: np.ndarray,
              no_baseline: np.ndarray, zero_baseline: np.ndarray, *, outcome: str, v: float, visits: Sequence[float],
              alpha: float) -> pd.DataFrame:
    """The per-arm table (``ARM_COLUMNS``: Wilson interval per arm and the subjects behind the counts) from the
    counts per arm, after the checks every responder analysis makes (in memory or out of core): values observed
    at the visit (``seen``), at least 2 per arm, and at least two arms."""
    if seen.sum() == 0:
        raise DataError(f"column '{outcome}': every value at week {v:g} is missing; nothing to analyse at this "
                        f"visit (choose another visit: {[f'{w:g}' for w in visits if w > 0]})")
    few = [f"'{a}' ({k})" for a, k in seen.items() if k < 2]
    if few:
        raise DataError(f"arms with fewer than 2 subjects with a '{outcome}' value at week {v:g}: {', '.join(few)}; "
                        "a comparison needs at least 2 observed per arm (choose another visit or check the data)")
    small = [f"'{a}' ({k})" for a, k in zip(arms, n) if k < 2]
    if small:
        raise DataError(f"arms with fewer than 2 subjects analysable at week {v:g}: {', '.join(small)}; a "
                        f"comparison needs at least 2 per arm (choose another visit or check the data)")
    if len(arms) < 2:
        raise DataError(f"the trial has only one arm ({arms}); responders are compared between arms")
    lo, hi = wilson_ci(x, n, alpha)
    return pd.DataFrame({
        "arm": pd.Series(arms, dtype="str"), "n": n, "responders": x, "proportion": x / n, "ci_low": lo,
        "ci_high": hi, "missing_at_visit": np.asarray(missing_at_visit, dtype=int),
        "no_baseline": np.asarray(no_baseline, dtype=int), "zero_baseline": np.asarray(zero_baseline, dtype=int),
    })[ARM_COLUMNS]


def _per_arm(tab: pd.DataFrame, col: str) -> str:
    return ", ".join(f"{a} {k}" for a, k in zip(tab["arm"], tab[col]) if k)


def _record(trial: Trial, outcome: str, v: float, inst: Instrument, threshold: float, relative: bool, missing: str,
            reference: str | None, alpha: float, adjust: str, arm_tab: pd.DataFrame, frame: pd.DataFrame,
            logit: dict, extra_notes: list[str], m: int) -> Fitted:
    direction = "a decrease" if inst.better == "lower" else "an increase"
    label = inst.label or outcome
    size = f"{100 * threshold:g}% of the baseline value" if relative else f"{threshold:g} {inst.units}".rstrip()
    definition = (f"improvement in {label} ({direction}; {inst.better} is better) of at least {size} "
                  f"from baseline to week {v:g}")
    notes = []
    miss = _per_arm(arm_tab, "missing_at_visit")
    if miss:
        notes.append(f"No value at week {v:g}: " + ("counted as non-responders" if missing == "non-responder"
                                                     else "excluded (complete cases)") + f" ({miss}).")
    nob = _per_arm(arm_tab, "no_baseline")
    if nob:
        ids = list_subjects(frame.loc[frame["status"] == "excluded: no baseline", "subject"])
        notes.append(f"No baseline value: excluded ({nob}; subjects {ids}).")
    zb = _per_arm(arm_tab, "zero_baseline")
    if zb:
        notes.append(f"Baseline 0: no relative improvement is possible; counted as non-responders ({zb}).")
    notes += extra_notes
    methods = {
        "risk_difference": "Newcombe hybrid score interval (method 10); p from the pooled score test "
                           "(= prop.test without continuity correction); se is the unpooled Wald SE",
        "risk_ratio": "Katz log interval and Wald test on the log scale",
        "odds_ratio": f"logistic regression {logit['formula']} (maximum likelihood), Wald interval on the log scale",
        "nnt": "1 / risk difference, limits from the risk-difference interval (Altman 1998); positive = NNTB for "
               "the first arm, negative = NNTH; an interval through infinity has ci_low > ci_high",
        "arms": "Wilson score interval per arm (unadjusted)",
    }
    notes += [f"{k}: {t}." for k, t in methods.items()]
    if adjust == "bonferroni":
        ci_adjust = f"bonferroni (each at {100 * (1 - alpha / m):.4g}%)"
    elif adjust == "holm":
        ci_adjust = "none (Holm adjusts p-values only; it has no matching intervals)"
    else:
        ci_adjust = "none"
    excluded = (frame.loc[frame["status"].str.startswith("excluded"), ["subject", "arm", "status"]]
                .rename(columns={"status": "reason"}).reset_index(drop=True))
    excluded["arm"] = excluded["arm"].astype("str")
    return Fitted(
        model="Responder analysis (binary response: improvement from baseline of at least the threshold)",
        formula=f"logit P(responder) ~ arm + baseline {outcome} (odds ratio); risk difference, risk ratio and NNT "
                f"from the 2x2 tables",
        outcome=outcome, visit=v, adjust=adjust, ci_adjust=ci_adjust, alpha=alpha,
        n_per_arm={str(a): int(k) for a, k in zip(arm_tab["arm"], arm_tab["n"])},
        excluded=excluded, notes=notes,
        extra={"threshold": float(threshold), "relative": bool(relative), "missing": missing,
               "definition": definition, "better": inst.better, "reference": reference, "logistic": logit,
               "methods": methods, "source": trial.source},
    )
