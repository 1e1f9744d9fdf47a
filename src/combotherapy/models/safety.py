"""Safety: adverse events per arm and between arms.

Per arm: patients with at least one event (Wilson interval), total events, patient-weeks of follow-up and
events per patient-week (exact Poisson interval); the same by event type (columns ``ae_<type>``). Between arms:
the risk difference of patients with an event (Newcombe hybrid score interval, Fisher's exact test) and the
incidence rate ratio (exact conditional binomial interval and test, as R's ``poisson.test``).

The one-row-per-subject frame and its checks (numbers, whole-number counts, constant within a subject) come
from :func:`combotherapy.analysis_set.subject_frame`, as in :mod:`combotherapy.models.adherence`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..analysis_set import subject_frame
from ..arms import contrast_label, contrast_pairs
from ..errors import DataError, ProblemCollector
from ..inference import P_ADJUST_METHODS, p_adjust
from ..instruments import AE_PREFIX
from ..results import Fitted, Result, records_design
from ..trial import Trial
from ._covariates import subject_covariates
from .proportions import newcombe_diff_ci, wilson_ci

__all__ = ["adverse_events", "AdverseEventResult", "poisson_exact_ci", "rate_ratio_exact", "subject_frame",
           "noninferiority_rd"]

TOTAL = "adverse_events"
FOLLOWUP_COLUMN = "followup_weeks"
ANY = "any"

ARM_COLUMNS = ["arm", "n", "patients", "proportion", "ci_low", "ci_high", "events", "patient_weeks", "rate",
               "rate_ci_low", "rate_ci_high"]
CONTRAST_COLUMNS = ["type", "contrast", "first", "second", "measure", "estimate", "se", "df", "statistic", "p",
                    "p_adj", "ci_low", "ci_high", "log_estimate", "note"]


# ----------------------------------------------------------------------------------------------
# subject-level helpers (the checked one-row-per-subject frame is the analysis set's subject_frame)
# ----------------------------------------------------------------------------------------------
def last_visit_with_data(trial: Trial) -> pd.Series:
    """Per subject, the last visit (weeks) with any non-missing visit-level outcome; NaN when there is none."""
    data = trial.data
    cols = trial.visit_outcomes
    seen = data[cols].notna().any(axis=1) if cols else pd.Series(False, index=data.index)
    return data["visit"].where(seen).groupby(data["subject"], sort=False).max()


# ----------------------------------------------------------------------------------------------
# exact Poisson pieces (vectorised)
# ----------------------------------------------------------------------------------------------
def poisson_exact_ci(x: np.ndarray, t: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson rate ``x / t``, as R's ``poisson.test(x, t)$conf.int``.

    ``low = qgamma(alpha/2, x) / t`` (0 when ``x = 0``), ``high = qgamma(1 - alpha/2, x + 1) / t``; NaN where
    ``t <= 0``.
    """
    x, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(t, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(x > 0, stats.gamma.ppf(alpha / 2, np.where(x > 0, x, 1.0)), 0.0) / t
        high = stats.gamma.ppf(1 - alpha / 2, x + 1) / t
    bad = ~(t > 0)
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def rate_ratio_exact(x1: np.ndarray, t1: np.ndarray, x2: np.ndarray, t2: np.ndarray, alpha: float = 0.05
                     ) -> pd.DataFrame:
    """Incidence rate ratio ``(x1/t1) / (x2/t2)`` with the exact conditional interval and test.

    Given ``x1 + x2 = m`` events, ``x1 ~ Binomial(m, pi)`` with ``pi = t1 RR / (t1 RR + t2)``. The Clopper-Pearson
    limits of ``pi`` map to ``RR = pi / (1 - pi) * t2 / t1``; the p-value is the two-sided binomial test of
    ``pi = t1 / (t1 + t2)`` (R's ``binom.test``, the method of ``poisson.test`` for two samples). Not estimable
    (NaN) when ``m = 0``.

    Returns
    -------
    DataFrame
        ``estimate, ci_low, ci_high, log_estimate, se`` (Wald SE of the log ratio, ``sqrt(1/x1 + 1/x2)``), ``p``.
    """
    x1, t1, x2, t2 = np.broadcast_arrays(*(np.asarray(a, float) for a in (x1, t1, x2, t2)))
    m = x1 + x2
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (x1 / t1) / (x2 / t2)
        pi_lo = np.where(x1 > 0, stats.beta.ppf(alpha / 2, np.where(x1 > 0, x1, 1), m - x1 + 1), 0.0)
        pi_hi = np.where(x2 > 0, stats.beta.ppf(1 - alpha / 2, x1 + 1, np.where(x2 > 0, x2, 1)), 1.0)
        lo = pi_lo / (1 - pi_lo) * t2 / t1
        hi = np.where(pi_hi < 1, pi_hi / (1 - pi_hi) * t2 / t1, np.inf)
        se = np.sqrt(1 / x1 + 1 / x2)
        log_est = np.log(est)
    # one binomial test per contrast (a handful), not per subject
    p = np.array([stats.binomtest(int(a), int(a + b), float(s / (s + u))).pvalue if a + b > 0 else np.nan
                  for a, b, s, u in zip(x1.ravel(), x2.ravel(), t1.ravel(), t2.ravel())])
    none = m == 0
    out = pd.DataFrame({"estimate": est, "ci_low": lo, "ci_high": hi, "log_estimate": log_est, "se": se, "p": p})
    out.loc[none, :] = np.nan
    # a zero count: no finite log ratio and no Wald SE on the log scale
    out.loc[~np.isfinite(out["se"]), ["se", "log_estimate"]] = np.nan
    return out


def noninferiority_rd(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray, margin: float
                      ) -> pd.DataFrame:
    """Farrington–Manning score test that a risk difference ``p1 - p2`` is below a margin (non-inferiority).

    Parameters
    ----------
    x1, n1, x2, n2 : array_like
        Patients with an event and patients in the first (tested) and second (comparator) group.
    margin : float
        The largest acceptable excess ``delta`` of ``p1`` over ``p2`` (a proportion, > 0).

    Returns
    -------
    DataFrame
        ``estimate`` (``p1 - p2``), ``se`` (score SE under the null), ``statistic`` (z) and ``p`` (one-sided).

    Notes
    -----
    H0: :math:`p_1 - p_2 \\ge \\delta` against H1: :math:`p_1 - p_2 < \\delta`;
    :math:`z = (\\hat p_1 - \\hat p_2 - \\delta) / \\sqrt{\\tilde p_1 \\tilde q_1 / n_1 + \\tilde p_2 \\tilde q_2 / n_2}`
    with :math:`(\\tilde p_1, \\tilde p_2)` the maximum-likelihood estimates under :math:`p_1 - p_2 = \\delta`
    (closed form: the root of a cubic, Farrington and Manning 1990), and :math:`p = \\Phi(z)`. Unlike a Wald test
    the SE is positive with zero events in both groups, so a large trial without events shows non-inferiority.

    References
    ----------
    Farrington CP, Manning G. Test statistics and sample size formulae for comparative binomial trials with null
    hypothesis of non-zero risk difference or non-unity relative risk. Stat Med 1990;9:1447-54.
    Miettinen O, Nurminen M. Comparative analysis of two rates. Stat Med 1985;4:213-26.

    Example
    -------
    >>> out = noninferiority_rd(0, 300, 0, 300, margin=0.05)
    >>> round(float(out["statistic"].iloc[0]), 3), bool(out["p"].iloc[0] < 1e-3)
    (-3.974, True)
    """
    x1, n1, x2, n2 = (np.atleast_1d(np.asarray(v, float)) for v in (x1, n1, x2, n2))
    if not 0 < margin < 1:
        raise DataError(f"the non-inferiority margin must be a proportion between 0 and 1, not {margin!r}")
    p1, p2, d = x1 / n1, x2 / n2, float(margin)
    # Farrington & Manning (1990), eq. (4)-(5): p1~ is the root of a x^3 + b x^2 + c x + d0 in [d, 1]
    theta = n2 / n1
    a = 1 + theta
    b = -(1 + theta + p1 + theta * p2 + d * (theta + 2))
    c = d ** 2 + d * (2 * p1 + theta + 1) + p1 + theta * p2
    d0 = -p1 * d * (1 + d)
    v = b ** 3 / (27 * a ** 3) - b * c / (6 * a ** 2) + d0 / (2 * a)
    u = np.sign(v) * np.sqrt(np.maximum(b ** 2 / (9 * a ** 2) - c / (3 * a), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (np.pi + np.arccos(np.clip(np.where(u != 0, v / u ** 3, 0.0), -1.0, 1.0))) / 3
    t1 = np.clip(2 * u * np.cos(w) - b / (3 * a), d, 1.0)
    t2 = t1 - d
    se = np.sqrt(t1 * (1 - t1) / n1 + t2 * (1 - t2) / n2)
    z = (p1 - p2 - d) / se
    return pd.DataFrame({"estimate": p1 - p2, "se": se, "statistic": z, "p": stats.norm.cdf(z)})


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------
class AdverseEventResult(Result):
    """Result of :func:`adverse_events`.

    Attributes
    ----------
    by_arm : DataFrame
        Any adverse event, per arm: ``arm, n, patients`` (with >= 1 event), ``proportion, ci_low, ci_high``
        (Wilson), ``events, patient_weeks, rate`` (events per patient-week), ``rate_ci_low, rate_ci_high`` (exact
        Poisson).
    by_type : DataFrame
        The same per event type (``type`` first).
    contrasts : DataFrame
        Long form, one row per type (``"any"`` first), pair and measure: ``risk_difference`` (patients with >= 1
        event; Newcombe interval, Fisher's exact p, unpooled Wald ``se``) and ``rate_ratio`` (events per
        patient-week; exact conditional interval and p, ratio scale plus ``log_estimate`` and Wald ``se``).
    subjects : DataFrame
        The analysis data: one row per subject with counts and follow-up weeks.
    """

    tables = ("by_arm", "by_type", "contrasts")
    by_arm: pd.DataFrame
    by_type: pd.DataFrame
    contrasts: pd.DataFrame

    def __init__(self, title: str, fitted: Fitted, *, by_arm: pd.DataFrame, by_type: pd.DataFrame,
                 contrasts: pd.DataFrame, subjects: pd.DataFrame):
        super().__init__(title, fitted, by_arm=by_arm, by_type=by_type, contrasts=contrasts)
        self.subjects = subjects

    def headline(self) -> list[str]:
        t = self.by_arm
        return ["Patients with at least one adverse event: " + ", ".join(
            f"{a} {int(k)}/{int(n)} ({100 * p:.1f}%)" for a, k, n, p in zip(t["arm"], t["patients"], t["n"],
                                                                           t["proportion"]))]


def _arm_table(frame: pd.DataFrame, col: str, arms: list[str], alpha: float) -> pd.DataFrame:
    ok = frame.loc[frame[col].notna()]
    g = ok.groupby("arm", sort=False)
    n = g.size().reindex(arms, fill_value=0).to_numpy(int)
    patients = g[col].apply(lambda s: int((s > 0).sum())).reindex(arms, fill_value=0).to_numpy(int)
    events = g[col].sum().reindex(arms, fill_value=0).to_numpy(float)
    weeks = g["followup"].sum().reindex(arms, fill_value=0).to_numpy(float)
    lo, hi = wilson_ci(patients, n, alpha)
    r_lo, r_hi = poisson_exact_ci(events, weeks, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        prop = np.where(n > 0, patients / n, np.nan)
        rate = np.where(weeks > 0, events / weeks, np.nan)
    return pd.DataFrame({"arm": pd.Series(arms, dtype="str"), "n": n, "patients": patients, "proportion": prop,
                         "ci_low": lo, "ci_high": hi, "events": events.astype(int), "patient_weeks": weeks,
                         "rate": rate, "rate_ci_low": r_lo, "rate_ci_high": r_hi})[ARM_COLUMNS]


def _contrasts(tab: pd.DataFrame, type_: str, pairs: list[tuple[str, str]], alpha: float) -> pd.DataFrame:
    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    row = {str(a): i for i, a in enumerate(tab["arm"])}  # the arms' rows, looked up once (a handful of arms)
    i1, i2 = [row[a] for a in first], [row[b] for b in second]

    def col(name: str) -> np.ndarray:
        return tab[name].to_numpy(float)

    x1, n1, x2, n2 = col("patients")[i1], col("n")[i1], col("patients")[i2], col("n")[i2]
    base = pd.DataFrame({"type": type_, "contrast": [contrast_label(a, b) for a, b in pairs], "first": first,
                         "second": second})
    rd = newcombe_diff_ci(x1, n1, x2, n2, alpha)
    # Fisher's exact test, one 2x2 table per pair (a handful of calls)
    fisher = [stats.fisher_exact([[a, m - a], [b, k - b]]).pvalue for a, m, b, k in zip(x1, n1, x2, n2)]
    rd_rows = base.assign(measure="risk_difference", estimate=rd.estimate, se=rd.se, p=fisher, ci_low=rd.ci_low,
                          ci_high=rd.ci_high, log_estimate=np.nan, note="")
    e1, w1, e2, w2 = col("events")[i1], col("patient_weeks")[i1], col("events")[i2], col("patient_weeks")[i2]
    rr = rate_ratio_exact(e1, w1, e2, w2, alpha)
    note = np.select([e1 + e2 == 0, e2 == 0, e1 == 0],
                     ["not estimable: no events in either arm",
                      "no events in the second arm: ratio and upper limit infinite",
                      "no events in the first arm: ratio and lower limit 0"], default="")
    rr_rows = base.assign(measure="rate_ratio", estimate=rr["estimate"].to_numpy(), se=rr["se"].to_numpy(),
                          p=rr["p"].to_numpy(), ci_low=rr["ci_low"].to_numpy(), ci_high=rr["ci_high"].to_numpy(),
                          log_estimate=rr["log_estimate"].to_numpy(), note=note)
    out = pd.concat([rd_rows, rr_rows], ignore_index=True)
    order = np.argsort(np.tile(np.arange(len(pairs)), 2), kind="stable")  # by pair, then measure
    return out.iloc[order].reset_index(drop=True)


def _type_columns(trial: Trial, types: Sequence[str] | None) -> list[str]:
    present = [c for c in trial.data.columns if c.startswith(AE_PREFIX) and len(c) > len(AE_PREFIX)]
    if types is None:
        return present
    if isinstance(types, str):
        types = [types]
    cols = [t if t.startswith(AE_PREFIX) else AE_PREFIX + t for t in types]
    unknown = [c for c in cols if c not in trial.data.columns]
    if unknown:
        raise DataError(f"adverse-event type column(s) {unknown} are not in this trial; its event types are "
                        f"{[c[len(AE_PREFIX):] for c in present] or 'none'} (columns named "
                        f"'{AE_PREFIX}<type>' with per-subject counts)")
    return list(dict.fromkeys(cols))


def _followup(trial: Trial, followup: str | float | None) -> tuple[pd.Series, str]:
    """Weeks of follow-up per subject and a sentence saying where they come from."""
    if followup is None and FOLLOWUP_COLUMN in trial.data.columns:
        followup = FOLLOWUP_COLUMN
    if followup is None:
        weeks = last_visit_with_data(trial).fillna(0.0)
        return weeks, ("Follow-up: weeks from randomisation to the subject's last visit with any outcome value "
                       "(visit-level outcomes); a subject seen only at baseline contributes 0 patient-weeks but "
                       "their events count. Dropout between visits is not credited, so rates may be slightly "
                       "overstated; pass followup=<column> with the exact time at risk if it is known.")
    if isinstance(followup, str):
        f = subject_frame(trial, [followup], what=" (follow-up weeks)").set_index("subject")[followup]
        bad = ~(f >= 0)
        if bad.any():
            rows = np.flatnonzero(trial.data["subject"].isin(f.index[bad]).to_numpy())
            problems = ProblemCollector()
            problems.add_for_subjects(trial.data["subject"].array, followup, "is missing or negative; follow-up "
                                      "must be weeks >= 0 for every subject", rows)
            problems.raise_if_any()
        return f.astype(float), f"Follow-up: weeks at risk from column '{followup}'."
    value = float(followup)
    if not (np.isfinite(value) and value > 0):
        raise DataError(f"followup={followup!r}: give a column name or a positive number of weeks")
    subjects = pd.Index(trial.data["subject"].unique(), name="subject")
    return (pd.Series(value, index=subjects),
            f"Follow-up: {value:g} weeks for every subject (as given: followup={value:g}).")


@records_design
def adverse_events(trial: Trial, *, types: Sequence[str] | None = None, alpha: float = 0.05,
                   reference: str | None = None, adjust: str = "none",
                   followup: str | float | None = None, covariates: Sequence[str] | str = (),
                   family: str = "negbin") -> AdverseEventResult:
    """Adverse events per arm, by type, and compared between arms.

    Parameters
    ----------
    trial : Trial
        Needs the subject-level count ``adverse_events`` (total per subject) and, for the by-type tables,
        columns ``ae_<type>`` with per-type counts. Without ``adverse_events`` the total is the sum of the type
        columns (a note says so).
    types : sequence of str, optional
        Event types to tabulate (``"bruising"`` or ``"ae_bruising"``); default all ``ae_<type>`` columns.
    alpha : float
        1 - confidence level.
    reference : str, optional
        Compare each arm with this arm instead of all pairs.
    adjust : {"none", "holm", "bonferroni", "sidak"}
        Adjustment of ``p_adj`` over the pairs, within each event type and measure. Safety comparisons are
        usually reported unadjusted (the default): adjustment would hide signals.
    followup : str or float, optional
        Time at risk per subject: a column of weeks (default ``followup_weeks`` when present), a number of
        weeks for everyone, or (default otherwise) the subject's last visit with any outcome value.
    covariates : sequence of str
        Adds covariate-adjusted incidence rate ratios of all adverse events (measure ``adjusted_rate_ratio``,
        type ``"any"``): a count regression of each subject's events on arm and the covariates with
        ``offset(log(follow-up weeks))``. Subjects with 0 weeks or a missing covariate are left out of that
        model only (the notes say how many).
    family : {"negbin", "poisson"}
        The adjusted model: negative binomial (as ``MASS::glm.nb``; subjects differ in their propensity) or
        Poisson.

    Returns
    -------
    AdverseEventResult
        ``.by_arm``, ``.by_type``, ``.contrasts``, ``.subjects``, ``.fitted``, ``.summary()``.

    Notes
    -----
    For arm ``a`` with ``n_a`` subjects, ``x_a`` of them with at least one event, ``E_a`` events and ``T_a``
    patient-weeks:

    - proportion ``x_a / n_a`` with the Wilson score interval;
    - rate ``E_a / T_a`` with the exact interval ``[qgamma(alpha/2, E) / T, qgamma(1 - alpha/2, E + 1) / T]``
      (Garwood 1936; ``poisson.test``);
    - risk difference ``x_1/n_1 - x_2/n_2`` with Newcombe's hybrid score interval (method 10); the p-value is
      Fisher's exact test (two-sided, summing tables no more likely than the observed, as ``fisher.test``);
    - adjusted rate ratio (with ``covariates``): ``log E[E_i] = log T_i + b_arm(i) + z_i' d`` for subject
      ``i`` with ``E_i`` events in ``T_i`` weeks, negative binomial or Poisson; ``exp(b_1 - b_2)`` with a Wald
      interval (see :func:`combotherapy.count_model`);
    - rate ratio ``(E_1/T_1) / (E_2/T_2)``: conditional on ``E_1 + E_2``, ``E_1`` is binomial with
      ``pi = T_1 RR / (T_1 RR + T_2)``; Clopper-Pearson limits of ``pi`` give exact limits of RR and the binomial
      test of ``pi = T_1 / (T_1 + T_2)`` gives the p-value (``poisson.test(c(E1, E2), c(T1, T2))``).

    Events are assumed to follow a Poisson process with a constant rate per arm; repeated events within a subject
    make the rate interval too narrow when subjects differ in their propensity (the proportion of patients with
    an event does not depend on that assumption). A positive risk difference / ratio above 1 means more events
    in the first arm, which is worse.

    References
    ----------
    Newcombe RG (1998) Interval estimation for the difference between independent proportions. Stat Med
    17:873-890. Garwood F (1936) Fiducial limits for the Poisson distribution. Biometrika 28:437-442.
    Ioannidis JPA et al. (2004) Better reporting of harms in randomized trials: CONSORT extension. Ann Intern Med
    141:781-788.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)
    >>> res = ct.adverse_events(trial)
    >>> res.by_arm[["arm", "n", "patients"]].values.tolist()
    [['physio', 60, 24], ['acupuncture', 60, 26], ['combined', 60, 39]]
    >>> res.contrasts.query("type == 'any' and contrast == 'combined - physio'")["measure"].tolist()
    ['risk_difference', 'rate_ratio']
    >>> sorted(res.by_type["type"].unique())
    ['bruising', 'dizziness', 'muscle_soreness', 'needle_pain']
    """
    if not 0 < alpha < 1:
        raise DataError(f"alpha must be between 0 and 1 (e.g. 0.05 for 95% intervals), not {alpha!r}")
    if str(adjust).lower() not in P_ADJUST_METHODS:
        raise DataError(f"adjust={adjust!r} is not known; use one of {', '.join(P_ADJUST_METHODS)}")
    if type(trial).__name__ == "LazyTrial":   # out-of-core data: name the routes, never subsample
        from ..scale.lazy import needs_rows
        needs_rows(trial, "this safety analysis")
    if not isinstance(trial, Trial):
        raise DataError(f"expected a ct.Trial (from ct.load), got {type(trial).__name__}")
    cov = subject_covariates(trial, covariates, reserved=[TOTAL]) if covariates else None
    if family not in ("negbin", "poisson"):
        raise DataError(f"family must be 'negbin' or 'poisson', not {family!r}")
    type_cols = _type_columns(trial, types)
    has_total = TOTAL in trial.data.columns
    if not has_total and not type_cols:
        raise DataError(f"column '{TOTAL}' (adverse events per subject) is not in this trial and there are no "
                        f"'{AE_PREFIX}<type>' columns; its columns are {list(trial.data.columns)}")
    all_types = [c for c in trial.data.columns if c.startswith(AE_PREFIX) and len(c) > len(AE_PREFIX)]
    cols = ([TOTAL] if has_total else []) + list(dict.fromkeys(type_cols + all_types))
    frame = subject_frame(trial, cols, counts=cols, what=" (adverse events)")
    notes: list[str] = []
    if has_total and all_types:
        over = frame[all_types].sum(axis=1, min_count=1) > frame[TOTAL]
        if over.any():
            problems = ProblemCollector()
            rows = np.flatnonzero(trial.data["subject"].isin(frame.loc[over, "subject"]).to_numpy())
            problems.add_for_subjects(trial.data["subject"].array, TOTAL, f"is smaller than the sum of the type "
                                      f"counts {all_types}; the total must count every event", rows)
            problems.raise_if_any()
    if not has_total:
        frame[TOTAL] = frame[type_cols].sum(axis=1, min_count=len(type_cols))
        notes.append(f"No '{TOTAL}' column: the total per subject is the sum of {type_cols}.")
    weeks, followup_note = _followup(trial, followup)
    frame["followup"] = weeks.reindex(frame["subject"]).to_numpy(float)
    notes.append(followup_note)

    arms_all = list(trial.arms)
    miss = frame[TOTAL].isna()
    excluded = pd.DataFrame({"subject": frame.loc[miss, "subject"].astype(str),
                             "arm": frame.loc[miss, "arm"].astype(str),
                             "reason": f"no '{TOTAL}' count"}).reset_index(drop=True)
    analysed = frame.loc[~miss]
    arms = [a for a in arms_all if (analysed["arm"] == a).any()]
    empty = [a for a in arms_all if a not in arms]
    if empty:
        notes.append(f"Arm(s) {empty} have no subject with an adverse-event count and are not tabulated.")
    if len(arms) < 2:
        raise DataError(f"adverse events are compared between arms, but only {arms} has subjects with a "
                        f"'{TOTAL}' count")
    try:
        pairs = contrast_pairs(arms, reference)
    except ValueError:
        raise DataError(f"reference arm {reference!r} is not one of the analysed arms {arms}") from None
    zero_fu = analysed["followup"] <= 0
    if zero_fu.any():
        per = analysed.loc[zero_fu].groupby("arm", sort=False).size().reindex(arms).dropna().astype(int)
        notes.append("Subjects with 0 weeks of follow-up (their events count, their time is 0): "
                     + ", ".join(f"{a} {k}" for a, k in per.items()) + ".")

    by_arm = _arm_table(analysed, TOTAL, arms, alpha)
    tables = [_contrasts(by_arm, ANY, pairs, alpha)]
    type_tabs = []
    for c in type_cols:  # one table per event type (a handful), vectorised over subjects
        tab = _arm_table(analysed, c, arms, alpha)
        type_tabs.append(tab.assign(type=c[len(AE_PREFIX):]))
        tables.append(_contrasts(tab, c[len(AE_PREFIX):], pairs, alpha))
        n_miss = int(analysed[c].isna().sum())
        if n_miss:
            notes.append(f"'{c}': {n_miss} subject(s) without a count are left out of that type's rows.")
    by_type = (pd.concat(type_tabs, ignore_index=True)[["type"] + ARM_COLUMNS] if type_tabs
               else pd.DataFrame(columns=["type"] + ARM_COLUMNS))
    con = pd.concat(tables, ignore_index=True)
    con["df"] = np.nan          # exact tests: no degrees of freedom
    con["statistic"] = np.nan   # exact tests: the p-value is not from a test statistic
    if cov is not None:
        from .safety_adjusted import adjusted_rate_ratios  # counts and adherence import this module's helpers

        adj, adj_notes, inference = adjusted_rate_ratios(analysed, TOTAL, arms, pairs, cov, family, alpha)
        con = pd.concat([con, adj], ignore_index=True)
        notes += adj_notes
    con["p_adj"] = p_adjust(con["p"].to_numpy(float), adjust, groups=list(zip(con["type"], con["measure"])))
    con["note"] = con["note"].astype("str")
    con = con[CONTRAST_COLUMNS]

    notes += [
        "Patients with >= 1 event: Wilson score interval per arm; risk difference with Newcombe's hybrid score "
        "interval (method 10) and Fisher's exact test (two-sided); se is the unpooled Wald SE.",
        "Events per patient-week: exact Poisson (Garwood) interval per arm; rate ratio with the exact conditional "
        "(binomial) interval and test, as R's poisson.test; se is the Wald SE of the log ratio, sqrt(1/E1 + 1/E2), "
        "for meta-analysis only.",
        "A positive risk difference or a ratio above 1 means more adverse events in the first arm (worse).",
    ]
    if adjust != "none":
        notes.append(f"p_adj: {adjust} over the pairs within each event type and measure; intervals unadjusted.")
    fitted = Fitted(
        model="Adverse events: proportions with >= 1 event (binomial) and event rates per patient-week (Poisson)",
        formula="patients with >= 1 event / n per arm; events / patient-weeks per arm",
        outcome=TOTAL, adjust=adjust, alpha=alpha,
        n_per_arm={a: int(k) for a, k in zip(by_arm["arm"], by_arm["n"])}, excluded=excluded, notes=notes,
        extra={"types": [c[len(AE_PREFIX):] for c in type_cols], "reference": reference, "followup": followup,
               "covariates": list(cov.terms) if cov is not None else [], "family": family if cov else None,
               "source": trial.source})
    subjects = analysed[["subject", "arm", TOTAL, *type_cols, "followup"]].rename(
        columns={"followup": "followup_weeks"}).reset_index(drop=True)
    res = AdverseEventResult("Adverse events", fitted, by_arm=by_arm, by_type=by_type, contrasts=con,
                             subjects=subjects)
    # with covariates the adjusted count model is the one model behind the result (rate ratios via compare())
    res.inference = inference if cov is not None else None
    res.instrument = trial.instruments.get(TOTAL)
    res.better = res.instrument.better if res.instrument is not None else "lower"
    return res
