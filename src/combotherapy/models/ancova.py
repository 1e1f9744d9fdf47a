"""ANCOVA at one visit: value ~ arm + baseline + covariates, fitted by ordinary least squares.

The analysis the CONSORT/EMA guidance recommends for a continuous outcome measured at baseline and at a fixed
follow-up visit. LS means and contrasts come from the shared contrast engine (:mod:`combotherapy.inference`),
so they match R's ``emmeans`` on ``lm``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..analysis_set import AnalysisSet, analysis_set
from ..arguments import DEFAULTS, check_alpha, check_choice, check_reference
from ..inference import GRID_RULE, Inference, ModelSpec, model_matrix, reference_grid
from ..instruments import Instrument
from ..results import Fitted, Result, records_design
from ..trial import Trial
from ._degenerate import require_two_arms
from ._design import OlsFit, ols

__all__ = ["ancova", "AncovaResult", "fit_linear"]


def fit_linear(aset: AnalysisSet, log: bool = False, extra: Sequence[str] = ()) -> tuple[ModelSpec, OlsFit, Inference]:
    """OLS of ``value ~ arm + baseline + covariate terms (+ extra terms)`` on an analysis set, with its Inference.

    ``log`` analyses log(value) on log(baseline). The reference grid follows :data:`GRID_RULE`.
    """
    f = aset.frame
    y = np.log(f["value"].to_numpy(float)) if log else f["value"].to_numpy(float)
    cols = f.assign(baseline=np.log(f["baseline"].to_numpy(float))) if log else f   # (no copy on the identity scale)
    spec = model_matrix(cols, aset.arms, ["baseline"], [*aset.covariates, *extra])
    fit = ols(spec.X, y, spec.terms, what=f" for '{aset.instrument.name}'")
    grid = reference_grid(spec, cols)
    inf = Inference(tuple(spec.names), fit.beta, fit.vcov, float(fit.df_resid), "residual", grid,
                    link="log" if log else "identity")
    return spec, fit, inf


class AncovaResult(Result):
    """Result of :func:`ancova`.

    Attributes
    ----------
    by_arm : DataFrame
        ``arm, estimate, se, df, ci_low, ci_high, n`` (the LS means, i.e. EMMs; log scale: geometric means
        ``estimate, ci_low, ci_high`` and ``log_estimate, se`` on the log scale).
    contrasts : DataFrame
        ``first, second, contrast, estimate, se, df, statistic, p, p_adj, ci_low, ci_high, favours`` (log scale:
        ratios of geometric means plus ``log_estimate``).
    coefficients : DataFrame
        The regression coefficients (R's ``lm`` names and treatment coding).
    instrument, better
        The outcome's instrument and its good direction; ``positive_is_better`` says whether a positive contrast
        favours the first arm.
    data : DataFrame
        The analysis set (subject, arm, value, baseline, covariate columns).
    inference : Inference
        Estimates, covariance, residual df and the reference grid: :meth:`emmeans`, :meth:`compare`,
        :meth:`test` at any alpha or adjustment.
    """

    tables = ("by_arm", "contrasts", "coefficients")
    estimand_model = "ancova"  # the primary-analysis estimand: Result.with_estimand

    def __init__(self, title: str, fitted: Fitted, *, by_arm: pd.DataFrame, contrasts: pd.DataFrame,
                 coefficients: pd.DataFrame, instrument: Instrument, scale: str, data: pd.DataFrame,
                 inference: Inference):
        super().__init__(title, fitted, by_arm=by_arm, contrasts=contrasts, coefficients=coefficients)
        self.instrument = instrument
        self.outcome = instrument.name
        self.visit = fitted.visit
        self.better = instrument.better
        self.positive_is_better = instrument.better == "higher"
        self.scale = scale
        self.data = data
        self.inference = inference

    def headline(self) -> list[str]:
        if self.scale == "log":
            what = "ratio above 1" if self.positive_is_better else "ratio below 1"
        else:
            what = "positive estimate" if self.positive_is_better else "negative estimate"
        return [f"{self.better.capitalize()} {self.instrument.label or self.outcome} is better: a {what} "
                "favours the first arm of a contrast."]


def favours(contrasts: pd.DataFrame, inst: Instrument) -> pd.Series:
    """The arm a contrast favours (``first``, ``second`` or ``"neither"``), from the identity columns and the
    instrument's good direction (link-scale estimate for ratios)."""
    est = contrasts["log_estimate"] if "log_estimate" in contrasts.columns else contrasts["estimate"]
    signed = est.to_numpy(float) * inst.sign
    return pd.Series(np.where(signed > 0, contrasts["first"], np.where(signed < 0, contrasts["second"], "neither")),
                     index=contrasts.index)


def _favoured(first: list[str], second: list[str], link_estimate: np.ndarray, inst: Instrument) -> np.ndarray:
    """:func:`favours` from the columns' values (the link-scale estimates) before the table is built."""
    signed = np.asarray(link_estimate, dtype=float) * inst.sign
    return np.where(signed > 0, np.asarray(first, dtype=object),
                    np.where(signed < 0, np.asarray(second, dtype=object), "neither"))


@records_design
def ancova(trial: Trial, outcome: str, visit: float, *, covariates: Sequence[str] = (),
           adjust: str = DEFAULTS["adjust"], reference: str | None = None, alpha: float = DEFAULTS["alpha"],
           scale: str = "identity",
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
        Further adjustment covariates as formula terms (patsy): ``"age"`` (numeric columns enter linearly),
        ``"site"`` or ``"C(site)"`` (text/categorical columns are factors, treatment coding, first level in sorted
        order as reference), ``"age*sex"`` (main effects and interaction), ``"ns(age, df=3)"`` (natural spline).
    adjust : {"holm", "none", "bonferroni", "sidak", "tukey", "dunnett", "mvt"}
        Multiplicity adjustment over the contrasts (see :mod:`combotherapy.inference.engine`; Holm's intervals are
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
        ``.by_arm`` (LS means), ``.contrasts``, ``.coefficients``, ``.fitted`` (formula, n per arm, excluded
        subjects), ``.inference`` (for :meth:`~combotherapy.results.Result.compare`, ``test``, ``emmeans``).

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
    >>> list(res.contrasts.columns[:11])
    ['first', 'second', 'contrast', 'estimate', 'se', 'df', 'statistic', 'p', 'p_adj', 'ci_low', 'ci_high']
    >>> res.compare(reference="physio", adjust="dunnett", alpha=0.01)["contrast"].tolist()   # any alpha, later
    ['combined - physio', 'acupuncture - physio']
    """
    scale = check_choice(scale, ("identity", "log"), "scale")
    alpha = check_alpha(alpha)
    log = scale == "log"
    if _is_lazy(trial):   # out-of-core: the same model from cross-products computed by the engine
        from ._ancova_lazy import ancova_lazy
        return ancova_lazy(trial, outcome, visit, covariates=covariates, adjust=adjust, reference=reference,
                           alpha=alpha, scale=scale, missing_baseline=missing_baseline)
    aset = analysis_set(trial, outcome, visit, covariates=covariates, missing=missing_baseline, positive=log)
    require_two_arms(aset.arms, outcome, aset.visit, "ANCOVA")  # a single-arm subset: no contrast to make
    reference = check_reference(reference, aset.arms)
    spec, fit, inf = fit_linear(aset, log=log)
    return report(inf, outcome=outcome, instrument=aset.instrument, visit=aset.visit, n_per_arm=aset.n_per_arm,
                  excluded=aset.excluded, notes=list(aset.notes), covariates=list(aset.covariates),
                  df_resid=fit.df_resid, sigma=fit.sigma, scale=scale, adjust=adjust, reference=reference,
                  alpha=alpha, data=aset.frame)


def _is_lazy(trial) -> bool:
    return type(trial).__name__ == "LazyTrial" and type(trial).__module__.startswith("combotherapy.scale")


def report(inf: Inference, *, outcome: str, instrument: Instrument, visit: float, n_per_arm: dict[str, int],
           excluded: pd.DataFrame, notes: list[str], covariates: list[str], df_resid: int, sigma: float, scale: str,
           adjust: str, reference: str | None, alpha: float, data) -> AncovaResult:
    """The ANCOVA result from a fitted :class:`Inference`: the one step shared by the in-memory and the lazy fits."""
    log = scale == "log"
    inst, v = instrument, visit
    # each LS mean's number of subjects (as pd.Series(n_per_arm).reindex(arms): NaN, as float, for an arm without)
    # and the arm each contrast favours: the tables' last columns, built with them (no column inserted later)
    n = np.array([n_per_arm.get(a, np.nan) for a in inf.grid.frame["arm"]])
    lsm = inf.emmeans(alpha=alpha, _tail={"n": n})
    con = inf.compare(reference=reference, adjust=adjust, alpha=alpha,
                      _tail=lambda first, second, est: {"favours": _favoured(first, second, est, inst)})
    attrs = con.attrs
    coef = inf.coefficients(alpha)

    y = f"log({outcome})" if log else outcome
    rhs = " + ".join(["arm", f"{y}[week 0]"] + covariates)
    notes = list(notes)
    notes.append("LS means (EMMs) are the model's predictions on the reference grid, not raw arm means. " + GRID_RULE)
    if log:
        notes.append("Analysed on the log scale: LS means are geometric means and contrasts are ratios of geometric "
                     "means (estimate, ci_low, ci_high); log_estimate and se are on the log scale.")
    notes += attrs["notes"]
    fitted = Fitted(
        model="ANCOVA (ordinary least squares)" + (", log scale" if log else ""),
        formula=f"{y}[week {v:g}] ~ {rhs}", outcome=outcome, visit=v, covariance="independent, homoscedastic",
        df_method=f"residual ({df_resid})", adjust=attrs["adjust"], ci_adjust=attrs["ci_adjust"], alpha=alpha,
        n_per_arm=n_per_arm, excluded=excluded, notes=notes,
        extra={"sigma": sigma, "reference": reference, "scale": scale, "covariates": list(covariates)})
    label = inst.label or outcome
    title = f"ANCOVA: {label} at week {v:g}" + (" (log scale, ratios of geometric means)" if log else "")
    return AncovaResult(title, fitted, by_arm=lsm, contrasts=con, coefficients=coef, instrument=inst, scale=scale,
                        data=data, inference=inf)
