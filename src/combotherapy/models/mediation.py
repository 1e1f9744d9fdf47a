"""Does early pain relief carry the combined arm's effect? Causal mediation analysis of two arms.

Mediator: change of an outcome (default pain) from baseline to an early visit. Outcome: adherence to the planned
sessions (binomial GLM on sessions attended out of planned) or a visit-level outcome at a later visit (OLS
adjusted for its baseline). Effects (ACME, ADE, total, proportion mediated) by the quasi-Bayesian simulation of
Imai, Keele and Tingley (2010) (:func:`simulate_effects`, vectorised over replicates, with a fixed seed; written
here rather than through statsmodels' ``Mediation``, whose mediator draws would have to be shared by hooking into the
order of its internal calls).
"""

from __future__ import annotations

import warnings
from collections.abc import Generator, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ..analysis_set import change, covariate_values, exclusions, first_reason, list_subjects, subject_index
from ..errors import DataError, ModelError
from ..results import Fitted, Result, records_design
from ..trial import Trial
from ._design import is_factor, ols
from .adherence import session_counts
from .mediation_simulation import ErrorStream, _Replicates, simulate_effects  # noqa: F401  (re-exported)

__all__ = ["mediation", "MediationResult", "ADHERENCE"]

ADHERENCE = "adherence"
EFFECT_ROWS = [("ACME (control)", "acme_control"), ("ACME (treated)", "acme_treated"),
               ("ACME (average)", "acme_average"), ("ADE (control)", "ade_control"),
               ("ADE (treated)", "ade_treated"), ("ADE (average)", "ade_average"), ("Total effect", "total"),
               ("Prop. mediated (control)", "prop_control"), ("Prop. mediated (treated)", "prop_treated"),
               ("Prop. mediated (average)", "prop_average")]
IGNORABILITY = ("Causal reading rests on sequential ignorability (Imai et al. 2010): given the covariates, "
                "treatment is independent of the potential mediators and outcomes (true by randomisation), and the "
                "mediator is independent of the potential outcomes given treatment and covariates (NOT guaranteed "
                "by randomisation: an unmeasured cause of both early pain relief and the outcome biases ACME and "
                "ADE). Check with a sensitivity analysis before reading the ACME causally.")


def _early_errors(trial: Trial, covariates: Sequence[str], n_sims: int, seed: int) -> ErrorStream | None:
    """The error stream of a binomial-outcome simulation, started before the analysis set is known: with numeric
    covariates the mediator model has ``2 + z`` coefficients and the outcome model ``3 + z`` (``z`` = the
    mediator's baseline and the covariates), so the errors start after ``n_sims (5 + 2 z)`` normals. Its length,
    ``n_sims`` x the subjects analysed (not known yet), is bounded by ``n_sims`` x the rows of the trial until
    the analysis set gives it (:meth:`ErrorStream.limit`)."""
    covs = list(dict.fromkeys(covariates))
    data = trial.data
    if any(c not in data.columns or is_factor(data[c]) for c in covs):
        return None
    z = 1 + len(covs)
    rng = np.random.default_rng(seed)
    rng.standard_normal(n_sims * (5 + 2 * z))
    return ErrorStream(rng, n_sims * len(data))


def _binomial_fit(counts: np.ndarray, X: np.ndarray):
    """statsmodels' binomial GLM (IRLS, tol 1e-12) of ``counts`` (attended, not attended) on ``X``; a warning
    from IRLS (perfect prediction, no convergence, overflow) or no convergence is a ModelError: the simulation
    would otherwise run on infinite coefficients and report meaningless effects."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            res = sm.GLM(counts, X, family=sm.families.Binomial()).fit(tol=1e-12, maxiter=100)
        except Exception as err:  # perfect prediction or singular design in IRLS
            raise ModelError(f"the binomial outcome model could not be fitted ({err}); with few subjects or "
                             "extreme attendance the mediator or treatment predicts attendance perfectly") from err
    if not res.converged:
        raise ModelError("the binomial outcome model did not converge; check for subjects attending none or all "
                         "sessions in one arm")
    return res


class MediationResult(Result):
    """Result of :func:`mediation`.

    Attributes
    ----------
    effects : DataFrame
        ``effect, estimate, se, ci_low, ci_high, p``: ACME, ADE (under control, under treatment, average), total
        effect and proportion mediated. Estimates are means of the simulated draws, ``se`` their SD, intervals
        percentiles, ``p`` twice the smaller tail proportion (as R's ``mediation``; 0 means below ``2 / n_sims``).
        The proportions mediated are ratios with heavy tails: their estimate is the median of the draws, as R's
        ``mediate`` reports them. On the outcome's scale
        (adherence: proportion of planned sessions), treated arm minus comparator arm.
    paths : DataFrame
        The regression coefficients behind it: ``a`` (treatment -> mediator), ``b`` (mediator -> outcome), ``c'``
        (direct) and ``c`` (total, outcome on treatment and covariates); for a linear outcome also ``a*b``
        (product of coefficients, Sobel SE).
    draws : DataFrame
        The simulated ACME, ADE and total effect per replicate.
    """

    tables = ("effects", "paths")
    effects: pd.DataFrame
    paths: pd.DataFrame

    def __init__(self, title: str, fitted: Fitted, *, effects: pd.DataFrame, paths: pd.DataFrame,
                 draws: pd.DataFrame, data: pd.DataFrame):
        super().__init__(title, fitted, effects=effects, paths=paths)
        self.draws = draws
        self.data = data

    def headline(self) -> list[str]:
        e = self.effects.set_index("effect")
        acme, prop = e.loc["ACME (average)"], e.loc["Prop. mediated (average)"]
        x = self.fitted.extra
        return [f"ACME (average) {acme['estimate']:.3g} ({acme['ci_low']:.3g} to {acme['ci_high']:.3g}), p = "
                f"{acme['p']:.3g}; proportion mediated {prop['estimate']:.3g} ({prop['ci_low']:.3g} to "
                f"{prop['ci_high']:.3g}).",
                f"Effects are {x['treated']} minus {x['control']} on the outcome's scale; the mediator is the "
                f"change in {x['mediator']} from baseline to week {x['mediator_visit']:g}.",
                "Sequential ignorability is assumed (see Notes)."]


def _columns(frame: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Covariate columns of the design (factors: treatment coding, sorted levels, first as reference)."""
    cols, names = [], []
    for c in covariates:
        if is_factor(frame[c]):
            v = frame[c].astype(str).to_numpy()
            for lev in sorted(pd.unique(v))[1:]:
                cols.append((v == lev).astype(float))
                names.append(f"{c}{lev}")
        else:
            cols.append(frame[c].to_numpy(float))
            names.append(c)
    return (np.column_stack(cols) if cols else np.empty((len(frame), 0))), names


@records_design
def mediation(trial: Trial, *, treatment: tuple[str, str] = ("combined", "physio"), mediator: str = "pain",
              mediator_visit: float = 4, outcome: str = ADHERENCE, outcome_visit: float = 12,
              covariates: Sequence[str] = (), n_sims: int = 1000, seed: int = 0, alpha: float = 0.05,
              attended: str = "sessions_attended", planned: str = "sessions_planned") -> MediationResult:
    """Causal mediation: is the effect of one arm against another carried by early change in the mediator?

    Parameters
    ----------
    trial : Trial
    treatment : (treated, control)
        The two arms compared; other arms are not used.
    mediator : str
        Visit-level outcome whose change from baseline to ``mediator_visit`` is the mediator (``pain``: a negative
        change is a reduction).
    mediator_visit : float
        Week of the mediator; must be after baseline and before ``outcome_visit``.
    outcome : str
        ``"adherence"`` (sessions ``attended`` out of ``planned``, binomial GLM) or a visit-level outcome measured
        at ``outcome_visit`` (OLS adjusted for its baseline).
    outcome_visit : float
        Week of the outcome; for adherence, the end of the session period (week 12 in the sample trials).
    covariates : sequence of str
        Baseline covariates, in both models (numeric linear, text as factors).
    n_sims : int
        Simulation replicates (R's ``sims``; 1000 is R's default).
    seed : int
        Seed of the ``numpy.random.Generator`` driving the simulation: the same seed gives the same result.
    alpha : float
        1 - level of the percentile intervals.
    attended, planned : str
        Session count columns (adherence outcome only).

    Returns
    -------
    MediationResult
        ``.effects``, ``.paths``, ``.draws``, ``.fitted`` (both model formulas, n, excluded subjects).

    Notes
    -----
    With ``T`` = 1 for the treated arm, ``M`` the change in the mediator and ``X`` the pre-treatment covariates
    (the mediator's baseline, the outcome's baseline for a visit-level outcome, and ``covariates``)::

        mediator model:  M = a0 + a T + g'X + e,         e ~ N(0, s^2)
        outcome model:   Y = c0 + c' T + b M + h'X + u   (OLS), or
                         attended ~ Binomial(planned, p),  logit p = c0 + c' T + b M + h'X

    ACME(t) = E[Y(t, M(1)) - Y(t, M(0))], ADE(t) = E[Y(1, M(t)) - Y(0, M(t))], total = ADE(t) + ACME(1 - t),
    proportion mediated = ACME / total. They are estimated by the quasi-Bayesian simulation of Imai, Keele and
    Tingley (2010), as R's ``mediation::mediate``: in each replicate both models' coefficients are drawn from
    their asymptotic normal distributions, potential mediators are simulated for every subject under T = 0 and
    T = 1 (with one common error draw, as ``mediate`` does), the outcome model predicts the potential outcomes
    (probabilities for adherence), and the effects are averaged over subjects. For a linear outcome the ACME is
    ``a * b`` and the ADE ``c'`` (``.paths``); the simulation reproduces them up to Monte Carlo error.
    The proportion mediated is unstable when the total effect is near 0.

    References
    ----------
    Imai K, Keele L, Tingley D (2010) A general approach to causal mediation analysis. Psychol Methods
    15:309-334. Tingley D, Yamamoto T, Hirose K, Keele L, Imai K (2014) mediation: R package for causal mediation
    analysis. J Stat Softw 59(5). VanderWeele TJ (2015) Explanation in Causal Inference. Oxford University Press.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)
    >>> res = ct.mediation(trial, treatment=("combined", "physio"), mediator_visit=4, n_sims=200, seed=1)
    >>> res.effects["effect"].tolist()[-1]
    'Prop. mediated (average)'
    >>> list(res.effects.columns)
    ['effect', 'estimate', 'se', 'ci_low', 'ci_high', 'p']
    >>> ct.mediation(trial, mediator_visit=12, outcome="pain", outcome_visit=4)
    Traceback (most recent call last):
    ...
    combotherapy.errors.DataError: the mediator 'pain' is measured at week 12, at or after the outcome ...
    """
    steps = mediation_steps(trial, treatment=treatment, mediator=mediator, mediator_visit=mediator_visit,
                             outcome=outcome, outcome_visit=outcome_visit, covariates=covariates, n_sims=n_sims,
                             seed=seed, alpha=alpha, attended=attended, planned=planned)
    prep = next(steps)
    try:
        draws = simulate_effects(*prep.args, np.random.default_rng(prep.seed), prep.errors)
    except BaseException as err:
        steps.throw(err)   # closes the error stream, raises err
        raise
    return finish(steps, draws)


class Prepared(NamedTuple):
    """What :func:`mediation` simulates from, once the analysis set is made and the models are fitted:
    :func:`simulate_effects`'s arguments before ``rng`` (``args``), the seed of its generator and the error
    stream already started (or None)."""

    args: tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray, np.ndarray, np.ndarray, bool, int]
    seed: int
    errors: ErrorStream | None


def finish(steps: Generator[Prepared, pd.DataFrame, MediationResult], draws: pd.DataFrame) -> MediationResult:
    """The result of :func:`mediation_steps` given the simulated draws of its :class:`Prepared`."""
    try:
        steps.send(draws)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the mediation analysis did not finish after its simulation")


def mediation_steps(trial: Trial, *, treatment: tuple[str, str] = ("combined", "physio"), mediator: str = "pain",
                     mediator_visit: float = 4, outcome: str = ADHERENCE, outcome_visit: float = 12,
                     covariates: Sequence[str] = (), n_sims: int = 1000, seed: int = 0, alpha: float = 0.05,
                     attended: str = "sessions_attended", planned: str = "sessions_planned"
                     ) -> Generator[Prepared, pd.DataFrame, MediationResult]:
    """:func:`mediation` in two steps: ``next`` checks the arguments, makes the analysis set and fits the models
    and yields what to simulate (:class:`Prepared`); ``send(draws)`` (:func:`finish`) returns the result. Lets a
    caller run several analyses' simulations together (:func:`.mediation_shared.mediation_shared`)."""
    if type(trial).__name__ == "LazyTrial":   # out-of-core data: name the routes, never subsample
        from ..scale.lazy import needs_rows
        needs_rows(trial, "mediation")
    if not isinstance(trial, Trial):
        raise DataError(f"expected a ct.Trial (from ct.load), got {type(trial).__name__}")
    if not (0 < alpha < 1):
        raise DataError(f"alpha must be between 0 and 1, not {alpha!r}")
    if isinstance(n_sims, bool) or not isinstance(n_sims, int | np.integer) or n_sims < 100:
        raise DataError(f"n_sims must be a whole number >= 100 (1000 is usual), not {n_sims!r}")
    treatment = tuple(treatment)
    if len(treatment) != 2 or treatment[0] == treatment[1] or any(a not in trial.arms for a in treatment):
        raise DataError(f"treatment must be two different arms of this trial (treated, comparator), e.g. "
                        f"('combined', 'physio'); the arms are {trial.arms}, got {treatment}")
    treated, control = treatment
    m_inst = trial.instrument(mediator)
    if m_inst.level != "visit":
        raise DataError(f"mediator '{mediator}' is measured once per subject; the mediator is the change of a "
                        "visit-level outcome from baseline")
    mv = trial.check_visit(mediator_visit)
    adherence = outcome == ADHERENCE
    if adherence:
        ov = float(outcome_visit)
    else:
        o_inst = trial.instrument(outcome)
        if o_inst.level != "visit":
            raise DataError(f"outcome '{outcome}' is measured once per subject; use outcome='adherence' or a "
                            "visit-level outcome")
        ov = trial.check_visit(outcome_visit)
    if mv <= 0:
        raise DataError(f"mediator_visit must be after baseline (the mediator is the change from week 0), not "
                        f"{mediator_visit!r}")
    if mv >= ov:
        raise DataError(f"the mediator '{mediator}' is measured at week {mv:g}, at or after the outcome "
                        f"('{outcome}' at week {ov:g}); a mediator must be measured before the outcome. Choose an "
                        "earlier mediator_visit or a later outcome_visit.")

    # The simulation's normals are the slow part: start drawing them now, in a background thread, from where
    # the generator will be after the coefficient draws (n_sims x the two models' coefficients), so that they
    # overlap the analysis set and the fits. simulate_effects checks that the stream is the one it would draw
    # (and draws its own if not, e.g. when a factor covariate adds design columns).
    errors = _early_errors(trial, covariates, int(n_sims), seed) if adherence else None
    try:
        # one row per subject of the two arms, in order of first appearance (the trial's subject index: row
        # positions, identifiers hashed once)
        idx = subject_index(trial)
        sel = np.flatnonzero(idx.arm.isin(treatment).to_numpy())

        def at_visit(column: str, week: float) -> np.ndarray:
            """The subject's (first) value at the week, NaN when there is none."""
            return idx.take(column, idx.first_row_at(week)).to_numpy(dtype=float, na_value=np.nan)[sel]

        # the columns as arrays over the two arms' subjects (one frame, of the analysed rows, at the end)
        if isinstance(idx.arm.dtype, pd.CategoricalDtype):   # arms as text from the categories, by their codes
            arm = idx.arm.cat.categories.astype(str).take(idx.arm.cat.codes.to_numpy()[sel])
        else:
            arm = pd.Index(idx.arm.take(sel).astype(str))
        frame: dict = {"arm": arm, "T": (arm == treated).astype(float)}
        at = at_visit(mediator, mv)
        frame["m_base"] = at_visit(mediator, 0.0)
        frame["M"] = change(at, frame["m_base"])
        reasons = [(np.isnan(frame["m_base"]), f"no baseline {mediator}"),
                   (np.isnan(at), f"no {mediator} at week {mv:g} (mediator)")]
        session_reason = None
        if adherence:
            # every subject's counts by position in the subject index (no lookup by identifier): the subjects
            # the sessions exclude keep that reason (it comes first), the others need counts
            att, pl, conditions = session_counts(trial, attended, planned)
            frame["attended"], frame["planned"] = att[sel], pl[sel]
            session_reason = first_reason(conditions, idx.n)[sel]
            reasons.append((np.isnan(pl[sel]) & (session_reason == ""), "no session counts"))
            base_cols = ["m_base"]
        else:
            frame["Y"] = at_visit(outcome, ov)
            reasons.append((np.isnan(frame["Y"]), f"no {outcome} at week {ov:g} (outcome)"))
            if outcome != mediator:
                frame["y_base"] = at_visit(outcome, 0.0)
                reasons.append((np.isnan(frame["y_base"]), f"no baseline {outcome}"))
                base_cols = ["m_base", "y_base"]
            else:
                base_cols = ["m_base"]
        covariates = list(dict.fromkeys(covariates))
        unknown = [c for c in covariates if c not in trial.data.columns]
        reserved = [c for c in covariates if c in ("subject", "arm", "visit")]
        if unknown or reserved:
            raise DataError(f"covariate(s) {unknown + reserved} cannot be used; give baseline covariates of this trial "
                            f"({trial.covariates})")
        _, _, cov, notes = covariate_values(trial, covariates)
        for c in covariates:
            frame[c] = cov[c].take(sel).array
            reasons.append((pd.isna(frame[c]), f"covariate '{c}' missing"))
        reason = first_reason(reasons, len(sel))
        if session_reason is not None:
            reason = np.where(session_reason != "", session_reason, reason)
        # the analysed subjects as one frame (index reset); the excluded ones with their reasons, as text
        keep = reason == ""
        out_rows = np.flatnonzero(~keep)
        _, excluded = exclusions(pd.DataFrame({"subject": idx.subjects.take(sel[out_rows]),
                                               "arm": arm.take(out_rows)}), reason[out_rows])
        rows = np.flatnonzero(keep)
        f = pd.DataFrame({"subject": idx.subjects.take(sel[rows]),
                          **{k: (v.take(rows) if isinstance(v, pd.Index) else v[rows]) for k, v in frame.items()}})
        if errors is not None:
            errors.limit(int(n_sims) * len(f))   # the simulation reads this many: the thread stops there
        counts = f["arm"].value_counts().reindex([treated, control], fill_value=0)
        if (counts < 2).any():
            raise DataError(f"too few subjects with mediator and outcome recorded: {dict(counts)}; each arm needs at "
                            "least 2")

        Z, z_names = _columns(f, base_cols + covariates)
        z_names = [{"m_base": f"{mediator}[week 0]", "y_base": f"{outcome}[week 0]"}.get(n, n) for n in z_names]
        T, M = f["T"].to_numpy(), f["M"].to_numpy()
        one = np.ones(len(f))
        Xm = np.column_stack([one, T, Z])
        Xo = np.column_stack([one, T, M, Z])
        m_terms = ["(Intercept)", "treatment"] + z_names
        o_terms = ["(Intercept)", "treatment", "mediator"] + z_names
        m_fit = ols(Xm, M, m_terms, what=" of the mediator")
        if adherence:
            y, n_tr = f["attended"].to_numpy(float), f["planned"].to_numpy(float)
            counts2 = np.column_stack([y, n_tr - y])
            o_res = _binomial_fit(counts2, Xo)
            ob, ocov, odf = np.asarray(o_res.params), np.asarray(o_res.cov_params()), np.inf
            total: list = []   # the total-effect model (no mediator): not needed by the simulation, so it is
            # fitted while the simulation waits for the error stream (same fit, same numbers, whenever it runs)
            if errors is not None:
                errors.idle.append(lambda: total.append(_binomial_fit(counts2, np.delete(Xo, 2, axis=1))))
            else:
                total.append(_binomial_fit(counts2, np.delete(Xo, 2, axis=1)))
        else:
            yv = f["Y"].to_numpy(float)
            o_fit = ols(Xo, yv, o_terms, what=" of the outcome")
            c_fit = ols(np.delete(Xo, 2, axis=1), yv, [t for t in o_terms if t != "mediator"], what=" of the outcome")
            ob, ocov, odf = o_fit.beta, o_fit.vcov, float(o_fit.df_resid)
            cb, ccov = c_fit.beta, c_fit.vcov

        try:
            draws = yield Prepared((Xm, m_fit.beta, m_fit.vcov, m_fit.sigma, Xo, ob, ocov, adherence, int(n_sims)),
                                   seed, errors)
        except GeneratorExit:
            raise
        except BaseException:   # the simulation failed: the total model's fit first (its error first, as before)
            if errors is not None:
                errors.run_idle()
            raise
        if errors is not None:   # the total model's fit, if the simulation had no wait for it
            errors.run_idle()
        if adherence:
            cb, ccov = np.asarray(total[0].params), np.asarray(total[0].cov_params())
    except BaseException:
        if errors is not None:
            errors.close()
        raise
    draws["acme_average"] = (draws["acme_control"] + draws["acme_treated"]) / 2
    draws["ade_average"] = (draws["ade_control"] + draws["ade_treated"]) / 2
    draws["total"] = draws["acme_average"] + draws["ade_average"]
    for k in ("control", "treated", "average"):
        draws[f"prop_{k}"] = draws[f"acme_{k}"] / draws["total"]
    effects = _summarise(draws, alpha)

    a_, a_se, m_df = m_fit.beta[1], np.sqrt(m_fit.vcov[1, 1]), float(m_fit.df_resid)
    paths = [("a: treatment -> mediator", a_, a_se, m_df), ("b: mediator -> outcome", ob[2], np.sqrt(ocov[2, 2]), odf),
             ("c': treatment -> outcome (direct)", ob[1], np.sqrt(ocov[1, 1]), odf),
             ("c: treatment -> outcome (total, without mediator)", cb[1], np.sqrt(ccov[1, 1]),
              odf if adherence else float(len(f) - len(cb)))]
    if not adherence:
        ab = a_ * ob[2]
        paths.append(("a*b: product of coefficients (ACME)", ab, np.sqrt(a_**2 * ocov[2, 2] + ob[2] ** 2 * a_se**2),
                      np.inf))
    pt = pd.DataFrame(paths, columns=["path", "estimate", "se", "df"])
    pt["statistic"] = pt["estimate"] / pt["se"]
    dfs = pt["df"].to_numpy()
    tails = np.where(np.isinf(dfs), stats.norm.sf(np.abs(pt["statistic"])),
                     stats.t.sf(np.abs(pt["statistic"]), np.where(np.isinf(dfs), 1, dfs)))
    pt["p"] = 2 * tails
    crit = np.where(np.isinf(dfs), stats.norm.isf(alpha / 2), stats.t.isf(alpha / 2, np.where(np.isinf(dfs), 1, dfs)))
    pt["ci_low"], pt["ci_high"] = pt["estimate"] - crit * pt["se"], pt["estimate"] + crit * pt["se"]

    covs = " + ".join(["treatment"] + z_names)
    m_formula = f"change in {mediator} (week {mv:g} - week 0) ~ {covs}"
    o_formula = (f"cbind({attended}, {planned} - {attended}) ~ mediator + {covs} (binomial, logit)" if adherence
                 else f"{outcome}[week {ov:g}] ~ mediator + {covs} (OLS)")
    scale = "proportion of planned sessions attended" if adherence else f"{outcome} at week {ov:g}"
    notes += [
        f"Treatment: {treated} (T = 1) against {control} (T = 0); other arms are not used.",
        f"Effects are on the scale of the outcome ({scale}), {treated} minus {control}.",
        f"Quasi-Bayesian simulation (Imai et al. 2010): {n_sims} replicates, "
        f"numpy Generator seed {seed}; potential mediators share one simulated error under T = 0 and T = 1, as in "
        "R's mediation::mediate. Estimates are simulation means (medians for the proportions mediated), intervals "
        "percentiles, p = 2 x the smaller tail proportion (0 means below 2 / n_sims).",
        IGNORABILITY,
    ]
    if adherence:
        notes.append(f"Sessions attended before week {mv:g} precede the mediator; only later sessions can be "
                     "affected by it, so the temporal order is partial.")
    if abs(effects.set_index("effect").loc["Total effect", "estimate"]) < \
            effects.set_index("effect").loc["Total effect", "se"]:
        notes.append("The total effect is small relative to its uncertainty: the proportion mediated is unstable "
                     "and should not be interpreted.")
    if len(excluded):
        why = excluded.groupby("reason", sort=False).size()
        notes.append("Excluded: " + "; ".join(
            f"{k} {r} (subjects {list_subjects(excluded.loc[excluded['reason'] == r, 'subject'])})" for r, k in why.items())
            + ".")
    fitted = Fitted(
        model="Causal mediation analysis (quasi-Bayesian simulation): OLS mediator model, "
              + ("binomial GLM" if adherence else "OLS") + " outcome model",
        formula=f"mediator: {m_formula}; outcome: {o_formula}", outcome=outcome,
        visit=ov if not adherence else None, alpha=alpha, n_per_arm={a: int(k) for a, k in counts.items()},
        excluded=excluded.reset_index(drop=True), notes=notes,
        extra={"treated": treated, "control": control, "mediator": mediator, "mediator_visit": mv,
               "outcome_visit": ov, "n_sims": int(n_sims), "seed": seed, "covariates": covariates,
               "mediator_sigma": m_fit.sigma})
    title = (f"Mediation: does the change in {mediator} by week {mv:g} carry the effect of {treated} vs {control} "
             f"on {'adherence' if adherence else f'{outcome} at week {ov:g}'}?")
    keep_cols = ["subject", "arm", "T", "M"] + [c for c in ("attended", "planned", "Y") if c in f.columns]
    return MediationResult(title, fitted, effects=effects, paths=pt, draws=draws, data=f[keep_cols])


def _summarise(draws: pd.DataFrame, alpha: float) -> pd.DataFrame:
    rows = []
    for label, col in EFFECT_ROWS:
        x = draws[col].to_numpy()
        lo, hi = np.percentile(x, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        p = 2 * min((x > 0).sum(), (x < 0).sum()) / len(x)
        # proportions mediated are ratios with heavy tails: their point estimate is the median, as in mediate
        point = float(np.median(x)) if col.startswith("prop") else float(x.mean())
        rows.append({"effect": label, "estimate": point, "se": float(x.std(ddof=1)), "ci_low": lo,
                     "ci_high": hi, "p": p})
    return pd.DataFrame(rows)
