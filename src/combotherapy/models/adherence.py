"""Capacity for physiotherapy: the proportion of planned sessions attended, by arm.

A binomial GLM (logit link) of sessions attended out of sessions planned on arm (optionally the baseline of an
outcome such as pain), odds ratios between arms through the shared contrast engine, model-based adherence per
arm, and the Pearson dispersion; ``scale="pearson"`` gives the quasi-binomial fit (R's ``quasibinomial``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special

from ..analysis_set import exclusions, first_reason, list_subjects, subject_arrays, subject_index
from ..arguments import DEFAULTS, check_adjust, check_alpha, check_reference
from ..errors import DataError, ModelError, ProblemCollector
from ..inference import Inference
from ..results import Fitted, Result, records_design
from ..trial import Trial
from ._covariates import Covariates, arm_design, subject_covariates

__all__ = ["adherence", "AdherenceResult", "DISPERSION_WARN"]

#: Pearson chi-square / df above this with ``scale=None`` adds a note recommending ``scale="pearson"``
DISPERSION_WARN = 1.5
SCALES = (None, "pearson")

ARM_COLUMNS = ["arm", "n", "attended", "planned", "observed", "estimate", "se", "df", "ci_low", "ci_high",
               "logit_estimate", "logit_se"]


class AdherenceResult(Result):
    """Result of :func:`adherence`.

    Attributes
    ----------
    by_arm : DataFrame
        ``arm, n, attended, planned`` (sums), ``observed`` (attended / planned), the model-based adherence
        ``estimate`` with delta-method ``se``, ``df`` and ``ci_low, ci_high`` (back-transformed from the logit
        scale), and ``logit_estimate, logit_se``. With a baseline covariate the estimate is the adherence of a
        subject at the mean baseline.
    contrasts : DataFrame
        Odds ratios ``"first - second"`` (odds of attending a session in the first arm over the second):
        ``estimate, ci_low, ci_high`` (ratio scale), ``log_estimate, se`` (log scale), ``df, statistic, p, p_adj``.
    coefficients : DataFrame
        Logit-scale coefficients (R's treatment coding).
    dispersion : DataFrame
        Pearson chi-square, deviance, residual df, their ratios and the scale used.
    phi : float
        Pearson chi-square / residual df (1 means binomial variation; above 1 overdispersion).
    subjects : DataFrame
        The analysis set.
    """

    tables = ("by_arm", "contrasts", "coefficients", "dispersion")

    def __init__(self, title: str, fitted: Fitted, *, by_arm: pd.DataFrame, contrasts: pd.DataFrame,
                 coefficients: pd.DataFrame, dispersion: pd.DataFrame, phi: float, scale: str | None,
                 subjects: pd.DataFrame):
        super().__init__(title, fitted, by_arm=by_arm, contrasts=contrasts, coefficients=coefficients,
                         dispersion=dispersion)
        self.phi = phi
        self.scale = scale
        self.subjects = subjects

    def headline(self) -> list[str]:
        lines = ["Adherence (sessions attended / planned): " + ", ".join(
            f"{a} {100 * e:.1f}%" for a, e in zip(self.by_arm["arm"], self.by_arm["estimate"])),
            "An odds ratio above 1 means better attendance in the first arm."]
        which = "quasi-binomial (standard errors scaled by it)" if self.scale == "pearson" else "binomial, not used"
        lines.append(f"Dispersion (Pearson chi-square / df): {self.phi:.3g}; {which}.")
        return lines


def session_counts(trial: Trial, attended: str, planned: str
                   ) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, str]]]:
    """The session counts of every subject, as arrays in the order of ``subject_index(trial).subjects``:
    ``attended``, ``planned`` (floats, NaN when not recorded) and the conditions that exclude a subject (mask,
    reason; the first that holds applies), after the checks (counts whole numbers >= 0, constant within a
    subject, attended <= planned: one DataError listing every problem)."""
    values = subject_arrays(trial, [attended, planned], counts=[attended, planned], what=" (sessions)")
    att, pl = values[attended], values[planned]
    over = att > pl   # NaN compares False
    if over.any():
        problems = ProblemCollector()
        rows = np.flatnonzero(over[subject_index(trial).codes])   # every row of those subjects
        problems.add_for_subjects(trial.data["subject"].array, attended, f"is larger than '{planned}'; a subject "
                                  "cannot attend more sessions than were planned (check the two columns)", rows)
        problems.raise_if_any()
    conditions = [(np.isnan(pl), f"no '{planned}' recorded"), (pl == 0, f"0 sessions planned ('{planned}')"),
                  (np.isnan(att), f"no '{attended}' recorded")]
    return att, pl, conditions


def session_frame(trial: Trial, attended: str, planned: str, baseline: str | None = None,
                  cov: Covariates | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The analysis set of session counts: one row per analysed subject (``subject, arm, attended, planned``,
    ``baseline`` when asked, the covariates), and the excluded subjects with their reasons (the arrays behind
    it, :func:`session_counts`, are also used by :func:`combotherapy.models.mediation.mediation` for adherence
    as its outcome)."""
    cov = cov if cov is not None else subject_covariates(trial, ())
    att, pl, conditions = session_counts(trial, attended, planned)
    idx = subject_index(trial)
    frame = pd.DataFrame({"arm": idx.arm.astype(str), "attended": pd.Series(att, index=idx.subjects),
                          "planned": pd.Series(pl, index=idx.subjects)}).reset_index()
    if baseline is not None:
        if trial.instrument(baseline).level != "visit":
            raise DataError(f"adjust_for_baseline='{baseline}' is measured once per subject; give a visit-level "
                            "outcome whose week-0 value is the covariate (e.g. 'pain')")
        frame["baseline"] = subject_index(trial).at_visit(baseline, 0.0).to_numpy(float)  # frame: one row each
        conditions.append((frame["baseline"].isna(), f"no baseline '{baseline}'"))
    default = None
    if cov.names:
        frame = frame.join(cov.values[cov.names], on="subject")
        default = cov.reasons(frame["subject"])
    return exclusions(frame, first_reason(conditions, len(frame), default))


@records_design
def adherence(trial: Trial, *, attended: str = "sessions_attended", planned: str = "sessions_planned",
              reference: str | None = None, alpha: float = DEFAULTS["alpha"], adjust_for_baseline: str | None = None,
              covariates: Sequence[str] | str = (), scale: str | None = None,
              adjust: str = DEFAULTS["adjust"]) -> AdherenceResult:
    """Adherence to the planned sessions by arm: binomial GLM and odds ratios between arms.

    Parameters
    ----------
    trial : Trial
    attended, planned : str
        Subject-level counts of sessions attended and planned (whole numbers, attended <= planned).
    reference : str, optional
        Compare each arm with this arm instead of all pairs.
    alpha : float
        1 - confidence level.
    adjust_for_baseline : str, optional
        A visit-level outcome (e.g. ``"pain"``) whose baseline value enters the model linearly.
    covariates : sequence of str
        Further adjustment covariates as formula terms (``"age"``, ``"C(site)"``, ``"age*sex"``,
        ``"ns(age, df=3)"``; a column that varies between visits enters with its baseline value). Subjects missing one are excluded and listed. Per-arm adherence is
        then the emmeans-style prediction at the reference grid (numeric covariates at their mean, two-valued
        ones averaged over the two values, factor levels equally weighted).
    scale : {None, "pearson"}
        ``None``: binomial variance, z tests. ``"pearson"``: quasi-binomial, standard errors multiplied by
        ``sqrt(phi)`` with ``phi`` = Pearson chi-square / residual df and t tests on the residual df (R's
        ``quasibinomial``).
    adjust : str
        Multiplicity adjustment of the odds-ratio p-values (see :mod:`combotherapy.inference`; default Holm).

    Returns
    -------
    AdherenceResult
        ``.by_arm``, ``.contrasts`` (odds ratios), ``.coefficients``, ``.dispersion``, ``.phi``, ``.fitted``.

    Notes
    -----
    For subject ``i`` in arm ``a(i)`` with ``m_i`` planned and ``y_i`` attended sessions::

        y_i ~ Binomial(m_i, p_i),   logit p_i = mu + tau_a(i) [+ beta * x_i]

    (``x_i`` the baseline of ``adjust_for_baseline``), fitted by maximum likelihood; the quasi-binomial fit has
    ``Var(y_i) = phi m_i p_i (1 - p_i)``. The odds ratio of arms ``a`` and ``b`` is ``exp(tau_a - tau_b)``
    with a Wald interval on the log scale. Per-arm adherence is ``expit`` of the arm's linear predictor at the
    mean baseline (without a covariate: the arm's pooled proportion ``sum y / sum m``), with the interval
    back-transformed from the logit scale and the delta-method SE ``p (1 - p) se_logit`` (as emmeans with
    ``type = "response"``).

    Sessions are assumed independent within a subject given the covariates; subjects differ in their propensity
    in practice, which shows as ``phi > 1``: then use ``scale="pearson"``. Subjects with no or 0 planned
    sessions, or no attended count, are excluded and listed in ``fitted.excluded`` (usual care usually has no
    sessions planned).

    References
    ----------
    McCullagh P, Nelder JA (1989) Generalized Linear Models, 2nd ed., sections 4.5 and 9.2 (quasi-likelihood).
    Williams DA (1982) Extra-binomial variation in logistic linear models. Appl Stat 31:144-148.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)
    >>> res = ct.adherence(trial, adjust_for_baseline="pain", scale="pearson")
    >>> res.fitted.formula
    'cbind(sessions_attended, sessions_planned - sessions_attended) ~ arm + pain[week 0]'
    >>> res.contrasts["contrast"].tolist()           # odds ratios of attending a session
    ['combined - physio', 'combined - acupuncture', 'physio - acupuncture']
    """
    alpha = check_alpha(alpha)
    adjust = check_adjust(adjust)
    if scale not in SCALES:
        raise DataError(f"scale must be None (binomial) or 'pearson' (quasi-binomial), not {scale!r}")
    if type(trial).__name__ == "LazyTrial":   # out-of-core data: name the routes, never subsample
        from ..scale.lazy import needs_rows
        needs_rows(trial, "adherence")
    if not isinstance(trial, Trial):
        raise DataError(f"expected a ct.Trial (from ct.load), got {type(trial).__name__}")
    cov = subject_covariates(trial, covariates, reserved=[attended, planned])
    frame, excluded = session_frame(trial, attended, planned, adjust_for_baseline, cov)
    arms_all = list(trial.arms)
    arms = [a for a in arms_all if (frame["arm"] == a).any()]
    notes: list[str] = []
    absent = [a for a in arms_all if a not in arms]
    if absent:
        notes.append(f"Arm(s) {absent} have no subject with sessions planned and attended recorded (e.g. usual "
                     "care without sessions) and are not analysed.")
    counts = frame.groupby("arm", sort=False).size().reindex(arms)
    small = counts[counts < 2]
    if len(arms) < 2 or len(small):
        raise DataError("adherence is compared between arms with at least 2 analysable subjects each; "
                        f"analysable subjects per arm: {dict(counts.astype(int))}"
                        + (f" (excluded: {len(excluded)})" if len(excluded) else ""))
    reference = check_reference(reference, arms)
    sums = frame.groupby("arm", sort=False)[["attended", "planned"]].sum().reindex(arms)
    extreme = sums.index[(sums["attended"] == 0) | (sums["attended"] == sums["planned"])].tolist()
    if extreme:
        raise ModelError(f"in arm(s) {extreme} every subject attended none or all of the planned sessions, so the "
                         "odds of attending are 0 or infinite there and the odds ratios do not exist; report the "
                         "observed proportions (or drop that arm)")

    design = arm_design(frame, arms, cov, ["baseline"] if adjust_for_baseline else [])
    if np.linalg.matrix_rank(design.X) < design.X.shape[1]:
        raise ModelError("the design (arm" + (" + baseline" if adjust_for_baseline else "") + " + covariates) is "
                         "rank deficient: a covariate is constant, constant within arms or a copy of another "
                         "among the subjects analysed; remove it")
    y = frame["attended"].to_numpy(float)
    m = frame["planned"].to_numpy(float)
    model = sm.GLM(np.column_stack([y, m - y]), design.X, family=sm.families.Binomial())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning from IRLS (perfect prediction, no convergence) is an error here
        try:
            fit = model.fit(tol=1e-12, maxiter=100)
        except Exception as err:  # statsmodels raises warnings or linear-algebra errors for degenerate fits
            raise ModelError(f"the binomial model of '{attended}' out of '{planned}' could not be fitted ({err}); "
                             "check for arms or baseline values that predict attendance perfectly") from err
    if not fit.converged:
        raise ModelError("the binomial GLM did not converge; check the data for extreme baseline values")
    df_resid = float(fit.df_resid)
    if df_resid < 1:
        raise ModelError(f"the model has {design.X.shape[1]} parameters and {len(frame)} subjects: no residual df")
    phi = float(fit.pearson_chi2 / df_resid)
    # quasi-binomial: same estimates, covariance times phi (R's quasibinomial). Scaled here rather than with
    # statsmodels' fit(scale="X2"), whose scale ignores the binomial denominators of a two-column response.
    used_scale = phi if scale == "pearson" else 1.0
    beta, vcov = np.asarray(fit.params), np.asarray(fit.cov_params()) * used_scale
    df = df_resid if scale == "pearson" else np.inf

    inference = Inference(tuple(design.names), beta, vcov, df, "residual" if scale == "pearson" else "z",
                          design.grid, link="logit")
    lsm = inference.emmeans(alpha=alpha, scale="link")
    p = special.expit(lsm["estimate"].to_numpy())
    by_arm = pd.DataFrame({
        "arm": pd.Series(arms, dtype="str"), "n": counts.to_numpy(int),
        "attended": sums["attended"].to_numpy(int), "planned": sums["planned"].to_numpy(int),
        "observed": (sums["attended"] / sums["planned"]).to_numpy(), "estimate": p,
        "se": p * (1 - p) * lsm["se"].to_numpy(), "df": df, "ci_low": special.expit(lsm["ci_low"].to_numpy()),
        "ci_high": special.expit(lsm["ci_high"].to_numpy()), "logit_estimate": lsm["estimate"].to_numpy(),
        "logit_se": lsm["se"].to_numpy()})[ARM_COLUMNS]

    # odds ratios: the interface's ratio layout (first, second, estimate, log_estimate, ...)
    con = inference.compare(reference=reference, adjust=adjust, alpha=alpha)
    attrs = con.attrs
    coef = inference.coefficients(alpha)
    dispersion = pd.DataFrame({
        "quantity": ["pearson_chi2", "deviance", "df_resid", "pearson_chi2/df", "deviance/df", "scale_used"],
        "estimate": [float(fit.pearson_chi2), float(fit.deviance), df_resid, phi, float(fit.deviance) / df_resid,
                     used_scale]})

    if scale is None and phi > DISPERSION_WARN:
        notes.append(f"Overdispersion: Pearson chi-square / df = {phi:.3g} (> {DISPERSION_WARN:g}); the binomial "
                     "standard errors are too small. Refit with scale='pearson' (quasi-binomial).")
    if scale == "pearson":
        notes.append(f"Quasi-binomial: standard errors multiplied by sqrt({phi:.4g}); t tests and intervals on "
                     f"{df_resid:g} residual df, as R's summary.glm for quasibinomial (emmeans 1.8.4 would use z).")
    if adjust_for_baseline:
        notes.append(f"Per-arm adherence is for a subject at the mean baseline {adjust_for_baseline} "
                     f"({design.L[0, design.names.index('baseline')]:.4g}); the observed column is the raw pooled "
                     "proportion.")
    if cov.names:
        notes.append("Per-arm adherence is the prediction at the reference grid. " + design.grid.rule)
    notes += cov.notes
    if len(excluded):
        why = excluded.groupby("reason", sort=False).size()
        notes.append("Excluded: " + "; ".join(f"{k} {r} (subjects {list_subjects(excluded.loc[excluded['reason'] == r, 'subject'])})"
                                              for r, k in why.items()) + ".")
    notes += attrs["notes"]
    rhs = "arm" + (f" + {adjust_for_baseline}[week 0]" if adjust_for_baseline else "") \
        + "".join(f" + {c}" for c in cov.terms)
    fitted = Fitted(
        model="Binomial GLM, logit link" + (" (quasi-binomial: Pearson scale)" if scale == "pearson" else ""),
        formula=f"cbind({attended}, {planned} - {attended}) ~ {rhs}", outcome=attended,
        df_method=f"residual ({df_resid:g}), t tests" if scale == "pearson" else "asymptotic (z tests)",
        adjust=attrs["adjust"], ci_adjust=attrs["ci_adjust"], alpha=alpha,
        n_per_arm={a: int(k) for a, k in counts.items()}, excluded=excluded, notes=notes,
        extra={"phi": phi, "scale": scale, "reference": reference, "baseline": adjust_for_baseline,
               "covariates": list(cov.terms),
               "converged": bool(fit.converged), "source": trial.source})
    subjects = frame[["subject", "arm", "attended", "planned"] + (["baseline"] if adjust_for_baseline else [])
                     + list(cov.names)]
    res = AdherenceResult("Adherence: sessions attended out of planned", fitted, by_arm=by_arm, contrasts=con,
                          coefficients=coef, dispersion=dispersion, phi=phi, scale=scale, subjects=subjects)
    res.inference = inference
    res.instrument = trial.instruments.get(attended)
    res.better = res.instrument.better if res.instrument is not None else "higher"
    return res
