"""``ct.mmrm``: the mixed model for repeated measures, and its result."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ... import export
from ...arguments import ADJUST_METHODS, DEFAULTS, check_alpha, check_choice, check_reference
from ...errors import ArgumentError, DataError, ModelError
from ...inference import GRID_RULE, Inference, ReferenceGrid
from ...results import Fitted, Result, records_design
from .._degenerate import empty_visit_notes
from .covariance import STRUCTURES, make_structure
from .design import MMRMData, build, dependent_columns, design_maps, pattern_stats
from .dfs import KenwardRoger, Residual, Satterthwaite
from .reml import Fit, PatternStats, fit_covariance, moment_start

__all__ = ["mmrm", "fit", "MMRMResult"]

DF_METHODS = ("satterthwaite", "kenward-roger", "residual")
_DF_LABEL = {"satterthwaite": "Satterthwaite (exact gradient, observed information)",
             "kenward-roger": "Kenward-Roger (adjusted covariance of the fixed effects, observed information)",
             "residual": "residual (observations minus fixed effects)"}


class MMRMResult(Result):
    """A fitted MMRM.

    Attributes
    ----------
    coefficients : DataFrame
        ``term, estimate, se, df, statistic, p, ci_low, ci_high`` (unadjusted).
    by_arm : DataFrame
        LS means (EMMs): ``visit, arm, estimate, se, df, ci_low, ci_high``.
    contrasts : DataFrame
        ``visit, first, second, contrast, estimate, se, df, statistic, p, p_adj, ci_low, ci_high``; ``adjust``
        within each visit.
    inference : Inference
        Estimates, covariance (Kenward-Roger: adjusted), the df rule and the visit x arm grid, for
        :meth:`emmeans`, :meth:`compare` and :meth:`test` at any alpha, adjustment or side.
    type3 : DataFrame
        ``term, num_df, den_df, statistic, p``: F tests of each term (SAS type III hypotheses).
    covariance, correlation : DataFrame
        Estimated within-subject covariance / correlation, visit x visit (weeks).
    covariance_parameters : DataFrame
        ``parameter, estimate, se`` in the natural (SAS) parametrisation.
    loglik, aic, bic : float
        REML (or ML) log-likelihood; AIC and BIC count the covariance parameters only under REML (as SAS and R's
        mmrm), covariance plus fixed-effect parameters under ML; BIC uses the number of subjects analysed.
    convergence : dict
        ``converged``, ``newton_steps``, ``iterations`` (L-BFGS-B fallback, usually 0), ``newton_decrement``,
        ``max_scaled_gradient`` (largest gradient component divided by the number of observations), ``evaluations``.
    """

    tables = ("coefficients", "by_arm", "contrasts", "type3")
    estimand_model = "mmrm"  # the primary-analysis estimand: Result.with_estimand

    def __init__(self, title: str, fitted: Fitted, *, model: _Model, **tables: pd.DataFrame):
        super().__init__(title, fitted, **tables)
        self._model = model
        self.loglik = model.loglik
        self.aic, self.bic = model.aic, model.bic
        self.convergence = model.convergence
        vis = pd.Index(model.data.visits, name="visit")
        Sigma = model.fit.state.Sigma
        d = np.sqrt(np.diag(Sigma))
        self.covariance = pd.DataFrame(Sigma, index=vis, columns=vis)
        self.correlation = pd.DataFrame(Sigma / np.outer(d, d), index=vis, columns=vis)
        self.covariance_parameters = model.parameter_table()

    def headline(self) -> list[str]:
        c = self.convergence
        kind = "REML" if self._model.reml else "ML"
        return [f"{kind} log-likelihood {self.loglik:.4f}; AIC {self.aic:.2f}; BIC {self.bic:.2f} "
                f"({self._model.n_aic} parameters counted)",
                f"Converged: {c['newton_steps']} Newton steps ({c['iterations']} quasi-Newton iterations), "
                f"Newton decrement {c['newton_decrement']:.1e}"]

    def _covariance_table(self) -> pd.DataFrame:
        labels = [f"{v:g}" for v in self.covariance.index]
        return pd.DataFrame(self.covariance.to_numpy(), index=pd.Index(labels, name="visit"), columns=labels)

    def summary(self, digits: int = 3) -> str:
        text = super().summary(digits)
        cov = self._covariance_table().round(digits).to_string()
        return text + "\ncovariance (visits in weeks)\n----------------------------\n" + cov + "\n"

    def to_markdown(self, digits: int = 3) -> str:
        table = export.to_markdown(self._covariance_table(), digits=digits, index=True).rstrip("\n")
        return super().to_markdown(digits) + "\n### covariance (visits in weeks)\n\n" + table + "\n"

    def to_html(self, digits: int = 3) -> str:
        text = super().to_html(digits)
        table = export.to_html(self._covariance_table(), digits=digits, index=True,
                               caption="covariance (visits in weeks)")
        return text[: text.rindex("</div>")] + table + "\n</div>\n"

class _Model:
    """Fitted numbers shared by the result's tables."""

    def __init__(self, data: MMRMData, st: PatternStats, fit: Fit, structure, reml: bool, df: str, weights: str,
                 alpha: float):
        self.data, self.st, self.fit, self.structure = data, st, fit, structure
        self.reml, self.alpha = reml, alpha
        self.beta = fit.state.beta
        self.A = 2 * np.linalg.inv(fit.hess_phi)      # asymptotic covariance of phi_hat (observed information)
        D = structure.d1(fit.phi)
        self.sat = Satterthwaite(fit.state.C, fit.P, self.A)
        if df == "satterthwaite":
            self.rule = self.sat
        elif df == "kenward-roger":
            self.rule = KenwardRoger(st, fit.state, D, structure.d2(fit.phi), fit.P, self.A)
        else:
            self.rule = Residual(fit.state.C, st.n_obs - st.p)
        self.vcov = self.rule.vcov
        self.df_rule = self.rule.df
        m = structure.n_par
        self.n_aic = m if reml else m + st.p
        self.loglik = -fit.state.f / 2
        self.aic = -2 * self.loglik + 2 * self.n_aic
        self.bic = -2 * self.loglik + self.n_aic * np.log(data.n_subjects)
        self.convergence = {"converged": True, "iterations": fit.iterations, "newton_steps": fit.newton_steps,
                            "newton_decrement": fit.decrement, "max_scaled_gradient": fit.grad_norm,
                            "evaluations": fit.evaluations}
        self.sbar = self._reference_features(weights)

    def _reference_features(self, weights: str) -> np.ndarray:
        """Subject-level features of the reference grid by the one grid rule (:data:`GRID_RULE`): numeric
        covariates at their mean over the analysed observations (emmeans on the long data), except two-valued
        ones, which are averaged over their two values with equal weights (emmeans' ``cov.keep = "2"``; covariates
        enter additively here, so that average is the midpoint); factor levels weighted equally (or by their
        frequency among the observations). With proportional weights the two values of a two-valued covariate
        are weighted by their frequency too, as emmeans weights every variable kept on the grid: its mean."""
        d = self.data
        s = np.zeros(len(d.feature_names))
        s[0] = 1.0
        if d.baseline_feature is not None:
            s[d.baseline_feature] = d.obs_mean(d.baseline_feature)
        for f in d.numeric.values():
            # emmeans(weights = "proportional") weights the grid's two values by their frequency among the
            # observations, i.e. the covariate's mean (checked against R's mmrm + emmeans in test_reference_sweep)
            mid = d.two_valued_mid(f) if weights == "equal" else None
            s[f] = mid if mid is not None else d.obs_mean(f)
        for levels, idx in d.factors.values():
            for f in idx:
                s[f] = 1.0 / len(levels) if weights == "equal" else d.obs_mean(f)
        # formula terms: built from the grid values (GRID_RULE), or, with proportional weights, averaged over the
        # observed combinations (emmeans; these were averaged with equal weights before, whatever weights said)
        ref = d.formula_ref if weights == "equal" else d.formula_ref_proportional
        for f, value in ref.items():
            s[f] = value
        return s

    def lsmean_row(self, arm: int, visit: int) -> np.ndarray:
        s = self.sbar.copy()
        arm_cols = self.data.arm_features
        s[arm_cols] = 0.0
        if arm > 0:
            s[arm_cols[arm - 1]] = 1.0
        return self.st.M[visit] @ s

    def grid(self) -> tuple[pd.DataFrame, np.ndarray]:
        d = self.data
        keys, rows = [], []
        for a in range(len(d.visits)):  # loop over visits and arms
            for j, arm in enumerate(d.arms):
                keys.append({"visit": d.visits[a], "arm": arm})
                rows.append(self.lsmean_row(j, a))
        return pd.DataFrame(keys), np.vstack(rows)

    def inference(self, df: str) -> Inference:
        grid, L = self.grid()
        method = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger", "residual": "residual"}[df]
        return Inference(tuple(self.data.cols.names), self.beta, self.vcov, self.df_rule, method,
                         ReferenceGrid(grid, L))

    def type3_matrices(self) -> dict[str, np.ndarray]:
        """SAS type III hypotheses for the treatment-coded design (see ``mmrm`` Notes)."""
        cols = self.data.cols
        terms = np.array(cols.terms)
        p, k = len(terms), len(self.data.visits)
        e = np.eye(p)
        out: dict[str, list[np.ndarray]] = {}

        def pick(term, feat=None, visit=None):
            sel = terms == term
            if feat is not None:
                sel &= cols.feat == feat
            if visit is not None:
                sel &= cols.visit == visit
            return np.flatnonzero(sel)

        for j in pick("arm"):
            f = cols.feat[j]
            out.setdefault("arm", []).append(e[j] + e[pick("arm:visit", feat=f)].sum(axis=0) / k)
        n_arms = len(self.data.arms)
        for j in pick("visit"):
            v = cols.visit[j]
            out.setdefault("visit", []).append(e[j] + e[pick("arm:visit", visit=v)].sum(axis=0) / n_arms)
        for j in pick("baseline"):
            out.setdefault("baseline", []).append(e[j] + e[pick("baseline:visit")].sum(axis=0) / k)
        for term in dict.fromkeys(terms):
            if term in ("(Intercept)", "arm", "visit", "baseline"):
                continue
            out.setdefault(term, []).extend(e[pick(term)])
        order = ["arm", "visit", "arm:visit", "baseline", "baseline:visit"]
        names = [t for t in order if t in out] + [t for t in out if t not in order]
        return {t: np.vstack(out[t]) for t in names}

    def type3_table(self) -> pd.DataFrame:
        rows = []
        for term, L in self.type3_matrices().items():
            F, ndf, ddf = self.rule.f_test(L, self.beta)
            rows.append({"term": term, "num_df": ndf, "den_df": ddf, "statistic": F,
                         "p": float(stats.f.sf(F, ndf, ddf))})
        return pd.DataFrame(rows)

    def parameter_table(self) -> pd.DataFrame:
        visits = [f"{v:g}" for v in self.data.visits]
        return pd.DataFrame({"parameter": self.structure.names(visits), "estimate": self.fit.phi,
                             "se": np.sqrt(np.clip(np.diag(self.A), 0, None))})


def _check_options(covariance: str, df: str, method: str, weights: str, adjust: str) -> None:
    check_choice(covariance, tuple(STRUCTURES), "covariance")
    check_choice(df, DF_METHODS, "df")
    check_choice(method, ("reml", "ml"), "method")
    check_choice(weights, ("equal", "proportional"), "weights", " (equal, the default, as SAS and emmeans)")
    check_choice(adjust, ADJUST_METHODS, "adjust")
    if df == "kenward-roger" and method == "ml":
        raise ArgumentError("Kenward-Roger degrees of freedom are defined for REML fits; use method='reml' or "
                            "df='satterthwaite'", argument="df", kind="conflict")


def _check_identifiable(data: MMRMData, st: PatternStats, covariance: str, n_par: int) -> None:
    n_sub, k = data.n_subjects, len(data.visits)
    if covariance == "unstructured" and k > 1:
        if n_sub <= k:
            raise DataError(f"too few subjects ({n_sub}) for an unstructured covariance over {k} visits "
                            f"({n_par} parameters): it needs more subjects than visits; use covariance='cs', "
                            "'ar1' or 'toeplitz'")
        together = np.einsum("n,na,nb->ab", st.n, st.mask.astype(float), st.mask.astype(float))
        never = np.argwhere(np.triu(together == 0))
        if len(never):
            pairs = ", ".join(f"{data.visits[a]:g} and {data.visits[b]:g}" for a, b in never[:5])
            raise ModelError(f"no subject has '{data.outcome}' at both visits {pairs}, so their covariance cannot "
                             "be estimated with covariance='unstructured'; use 'toeplitz', 'ar1' or 'cs'")
    if st.n_obs - st.p <= n_par:
        raise DataError(f"too few observations of '{data.outcome}' ({st.n_obs}) for {st.p} fixed effects and "
                        f"{n_par} covariance parameters; use fewer covariates or a simpler covariance "
                        "(covariance='cs' or 'ar1')", kind="too few observations", column=data.outcome,
                        arguments=("covariates", "covariance"))
    dependent = dependent_columns(st)   # after the count: with fewer observations than effects every term is suspect
    if dependent:
        message, arguments = _rank_message(data, dependent)
        raise DataError(message, kind="rank deficient", column=data.outcome, arguments=arguments)


def _rank_message(data: MMRMData, dependent: list[int]) -> tuple[str, tuple[str, ...]]:
    """Name what makes the fixed-effects design rank deficient and what to do about it (and the arguments that
    would)."""
    terms = list(dict.fromkeys(data.cols.terms[j] for j in dependent))
    covs = [t for t in terms if t in data.numeric or t in data.factors
            or t not in ("(Intercept)", "arm", "visit", "arm:visit", "baseline", "baseline:visit")]
    if covs:
        names = ", ".join(f"'{c}'" for c in covs)
        return (f"covariate {names} is a linear combination of the terms before it (the intercept, arm, visit, "
                f"baseline or the covariates listed earlier) among the analysed subjects, so its effect is not "
                f"identified; drop {names} from covariates=", ("covariates",))
    if "baseline" in terms or "baseline:visit" in terms:
        return (f"the baseline value of '{data.outcome}' does not vary among the subjects analysed (at some visit), "
                "so its slope is not identified; use baseline=False", ("baseline",))
    names = [data.cols.names[j] for j in dependent][:5]
    return (f"the fixed-effects design is rank deficient: {names} cannot be estimated from these data; check that "
            "every arm has observations at every visit", ())


@records_design
def mmrm(trial, outcome: str, *, covariance: str = "unstructured", covariates: Sequence[str] = (),
         baseline: bool = True, df: str = "satterthwaite", adjust: str = DEFAULTS["adjust"], method: str = "reml",
         weights: str = "equal", reference: str | None = None, alpha: float = DEFAULTS["alpha"]) -> MMRMResult:
    """Mixed model for repeated measures: post-baseline values by arm and visit.

    Parameters
    ----------
    trial : Trial
        The trial (``ct.load``); baseline values are the visit-0 rows.
    outcome : str
        A visit-level outcome of the trial.
    covariance : str
        Within-subject covariance: ``"unstructured"`` (default), ``"cs"``, ``"ar1"``, ``"toeplitz"``,
        ``"cs_het"``, ``"ar1_het"``, ``"toeplitz_het"``. AR(1) and Toeplitz forms treat the visits as equally
        spaced (their position 1..k, as SAS ``REPEATED visit``).
    covariates : sequence of str
        Subject-level covariates (one name may be given as a string); numeric columns enter linearly, other columns
        (text, categorical, boolean) as factors (treatment coding, first level = reference: the category order of
        a categorical column, else sorted). A covariate that varies between visits within subjects enters at its
        week-0 value (with a note); one that takes a single value among the analysed subjects is left out (with a
        note); one that is a linear combination of the terms before it is a DataError naming it. Subjects missing
        a covariate are excluded and listed in ``fitted.excluded`` with the reason.
    baseline : bool
        Include the baseline value and its interaction with visit (default). ``False`` drops both.
    df : {"satterthwaite", "kenward-roger", "residual"}
        Degrees of freedom (and, for Kenward-Roger, the adjusted covariance of the fixed effects).
    adjust : str
        Multiplicity adjustment across the pairs of arms within each visit (see ``combotherapy.inference.engine``).
    method : {"reml", "ml"}
    weights : {"equal", "proportional"}
        LS means average factor covariates over their levels with equal weights (SAS, emmeans) or with the
        levels' frequencies among the analysed observations (then a two-valued numeric covariate, which the
        equal-weights grid averages over its two values, is at its mean, as emmeans' ``weights="proportional"``).
    reference : str, optional
        Compare each arm with this arm instead of all pairs.
    alpha : float
        1 - confidence level.

    Returns
    -------
    MMRMResult
        ``fitted.extra`` records ``convergence``, ``n_observations``, ``n_patterns``, ``visits`` and
        ``baseline_mean`` (the baseline value the LS means are evaluated at; None with ``baseline=False``).

    Notes
    -----
    For subject ``i`` in arm ``g(i)`` with post-baseline visits ``j = 1..k`` (missing at random),

        y_ij = mu + alpha_g(i) + tau_j + (alpha tau)_g(i)j + (b + b_j) y_i0 + x_i' gamma + e_ij,
        e_i ~ N(0, Sigma),

    with treatment coding (first arm, first visit, first factor level as references), ``y_i0`` the baseline value
    (``baseline=True``) and ``Sigma`` the chosen structure. Every subject with at least one post-baseline value
    (and, when used, a baseline value and the covariates) contributes all its observed visits. Parameters are
    estimated by REML (or ML); beta by generalised least squares. The REML log-likelihood is the one SAS PROC
    MIXED, R's mmrm and ``nlme::gls`` report (nlme 3.1-162 agrees to 1e-11: it has no extra ``log|X'X|`` term);
    through ``log|X'V^-1X|`` it depends on the coding of the fixed effects.

    The data enter the fit only as per-missingness-pattern sums of cross-products, computed in one vectorised
    pass; the REML gradient and Hessian are analytic; Newton's method (damped, from the moment estimate of Sigma
    from OLS residuals; L-BFGS-B as a fallback if it stalls) stops when the Newton decrement ``g'H^-1g`` is below
    1e-12. Non-convergence, or a Hessian that is not positive definite at the end, raises :class:`ModelError`
    suggesting a simpler covariance; nothing is switched silently.

    LS means: the model's prediction for each arm and visit with numeric covariates and the baseline at their
    mean over the analysed observations (a two-valued numeric covariate, e.g. sex coded 0/1, averaged over its two
    values with equal weights, as emmeans and :func:`combotherapy.ancova`) and factor covariates averaged over
    their levels. Type 3 tests use SAS's
    type III hypotheses: arm = arm effect averaged over visits; visit = visit effect averaged over arms;
    baseline = slope averaged over visits; for the visit main effect the baseline-by-visit terms are excluded
    (evaluated at baseline 0), as in SAS. AIC and BIC count covariance parameters only (REML, as SAS and mmrm)
    and use the number of subjects analysed in BIC (as mmrm; SAS counts every subject read).

    References
    ----------
    Mallinckrodt CH, et al. Recommendations for the primary analysis of continuous endpoints in longitudinal
    clinical trials. Drug Inf J 2008;42:303-19.
    Kenward MG, Roger JH. Biometrics 1997;53:983-97.
    Sabanes Bove D, et al. mmrm: Mixed Models for Repeated Measures. R package.

    Example
    -------
    >>> fit = ct.mmrm(trial, "pain", covariates=["age", "sex"])          # doctest: +SKIP
    >>> fit.contrasts[fit.contrasts["visit"] == 12]                          # doctest: +SKIP
    """
    _check_options(covariance, df, method, weights, adjust)
    alpha = check_alpha(alpha)
    if type(trial).__name__ == "LazyTrial":   # out-of-core: the pattern statistics come from the engine
        from .lazy import build_lazy
        data, st = build_lazy(trial, outcome, covariates, baseline)
    else:
        data = build(trial, outcome, covariates, baseline)
        M = design_maps(len(data.visits), data.features.shape[1], data.cols)
        st = pattern_stats(data.features, data.Y, M)
    k = len(data.visits)
    structure = make_structure(covariance, k)
    _check_identifiable(data, st, covariance, structure.n_par)
    reml = method == "reml"
    S0 = moment_start(st)
    fit_ = fit_covariance(st, structure, structure.start(S0), reml)
    model = _Model(data, st, fit_, structure, reml, df, weights, alpha)

    inf = model.inference(df)
    reference = check_reference(reference, data.arms)
    ls = inf.emmeans(alpha=alpha)
    con = inf.compare(reference=reference, adjust=adjust, alpha=alpha)
    inst = trial.instrument(outcome)
    notes = list(data.notes) + empty_visit_notes(trial.visits, data.visits, outcome)  # a visit with no data
    if k == 1:
        notes.append("one post-baseline visit: the covariance is a single variance whatever structure was asked")
    gaps = np.diff(data.visits)
    if covariance in ("ar1", "toeplitz", "ar1_het", "toeplitz_het") and k > 2 and np.ptp(gaps) > 1e-9 * gaps.max():
        notes.append(f"the visits (weeks {', '.join(f'{v:g}' for v in data.visits)}) are unequally spaced, but "
                     f"{structure.label} correlations are by visit position: lag 1 is any two consecutive visits, "
                     "whatever the time between them (as SAS REPEATED / TYPE=AR(1), TOEP); compare the fit (AIC) with "
                     "covariance='unstructured', whose correlations are free")
    two = ("averaged over its two values with equal weights" if weights == "equal"
           else "weighted by the frequency of its two values, i.e. at its mean")
    notes.append(f"LS means: baseline and numeric covariates at their mean over the analysed observations (a "
                 f"two-valued numeric covariate {two}); factor covariates "
                 f"weighted {'equally over levels' if weights == 'equal' else 'by level frequency'}. " + GRID_RULE)
    notes.append(f"AIC/BIC count {'covariance parameters only (SAS/mmrm REML convention)' if reml else 'covariance and fixed-effect parameters (ML)'}; BIC uses {data.n_subjects} subjects")
    notes.append(f"positive contrasts mean the first arm scores higher on {outcome}; {inst.better} is better")
    terms = ["arm * visit"] + ([f"{outcome}_baseline * visit"] if baseline else []) + list(covariates)
    counts = data.arm_counts
    fitted = Fitted(model=f"MMRM ({'REML' if reml else 'ML'})", formula=f"{outcome} ~ " + " + ".join(terms),
                    outcome=outcome, covariance=structure.label, df_method=_DF_LABEL[df], adjust=adjust,
                    ci_adjust=con.attrs.get("ci_adjust"), alpha=alpha,
                    n_per_arm={a: int(c) for a, c in zip(data.arms, counts)}, excluded=data.excluded,
                    notes=notes + list(con.attrs.get("notes", [])),
                    extra={"convergence": model.convergence, "n_observations": st.n_obs,
                           # the baseline at which the LS means are evaluated (plots draw week 0 there)
                           "baseline_mean": (None if data.baseline_feature is None
                                             else float(model.sbar[data.baseline_feature])),
                           "n_patterns": len(st.n), "visits": data.visits})
    res = MMRMResult(f"MMRM of {outcome}", fitted, model=model, coefficients=inf.coefficients(alpha), by_arm=ls,
                     contrasts=con, type3=model.type3_table())
    res.inference = inf
    # as AncovaResult: plots label axes and favoured sides from the trial's (possibly declared) instrument
    res.instrument, res.outcome, res.better = inst, outcome, inst.better
    return res


def fit(trial, outcome: str, **options) -> MMRMResult:
    """Alias of :func:`mmrm` for callers that dispatch on a model name (``combination_test(model="mmrm")``)."""
    return mmrm(trial, outcome, **options)
