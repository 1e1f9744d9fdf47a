"""Counts at one visit (e.g. days with painkillers in the last 28 days): negative binomial or Poisson
regression on arm and the baseline count, rate ratios between arms, and a dispersion check.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from ..analysis_set import arm_present, check_counts, exclusions, first_reason, numeric_columns, subject_index
from ..arguments import DEFAULTS, check_adjust, check_alpha, check_choice, check_reference
from ..errors import DataError, ModelError, ProblemCollector
from ..inference import Inference
from ..results import Fitted, Result, records_design
from ..trial import Trial
from ._covariates import Covariates, arm_design, subject_covariates

__all__ = ["count_model", "CountResult", "fit_negbin"]

FAMILIES = ("negbin", "poisson")
_TOL = 1e-12
_MAX_ITER = 200
#: theta above this is "no overdispersion": the NB likelihood is flat towards the Poisson boundary
_THETA_MAX = 1e6
_EPS = np.finfo(float).eps


class CountResult(Result):
    """Result of :func:`count_model`.

    Attributes
    ----------
    contrasts : DataFrame
        Rate ratios (first arm's rate over the second's): ``first, second, contrast, estimate, log_estimate, se,
        df, statistic, p, p_adj, ci_low, ci_high`` (``estimate`` and limits on the ratio scale, ``log_estimate``
        and ``se`` on the log scale, Wald z).
    by_arm : DataFrame
        Model-based mean count per arm at the reference grid (per unit of exposure when ``exposure`` is given):
        ``arm, estimate, log_estimate, se, df, ci_low, ci_high``.
    coefficients : DataFrame
        Coefficients on the log scale (R names): ``term, estimate, se, df, statistic, p, ci_low, ci_high``.
    inference : Inference
        Coefficients, covariance, z tests, the arm reference grid and the log link, for ``emmeans``,
        ``compare`` and ``test`` at any alpha or adjustment.
    dispersion : DataFrame
        ``quantity, estimate, se, statistic, df, p``: theta (NB size) and alpha = 1/theta with SEs (negbin);
        Pearson chi-square / df and the Cameron–Trivedi test of the Poisson fit; the likelihood-ratio test of
        negative binomial against Poisson.
    recommendation : str
        ``"negbin"`` when the Cameron–Trivedi test finds overdispersion at level ``alpha``, else ``"poisson"``.
    """

    tables = ("contrasts", "by_arm", "coefficients", "dispersion")

    def __init__(self, title: str, fitted: Fitted, *, recommendation: str, **tables: pd.DataFrame):
        super().__init__(title, fitted, **tables)
        self.recommendation = recommendation

    def headline(self) -> list[str]:
        return [f"Dispersion check recommends: {self.recommendation}"]


# --- input ---------------------------------------------------------------------------------------
def _analysis_data(trial: Trial, outcome: str, visit: float, exposure: str | None, cov: Covariates
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The analysis set (complete cases): one row per subject with ``subject, arm, y, base, exposure`` and the
    covariates; the excluded and why."""
    trial.instrument(outcome)
    v = trial.check_visit(visit)
    if v == 0:
        raise ModelError("visit 0 is the baseline; choose a post-baseline visit (the model adjusts for baseline)")
    if exposure is not None and exposure not in trial.data.columns:
        raise DataError(f"exposure column '{exposure}' is not in this trial; its columns are "
                        f"{list(trial.data.columns)}")
    data = trial.data
    problems = ProblemCollector()
    ids = data["subject"].array  # indexed only at the rows of a problem
    num = numeric_columns(problems, data, [outcome] + ([exposure] if exposure else []))
    used = data["visit"].isin([0.0, v]).to_numpy()
    check_counts(problems, ids, outcome, num[outcome].to_numpy(float)[used], np.flatnonzero(used))
    if exposure:
        at = (data["visit"] == v).to_numpy()
        e = num[exposure].to_numpy(float)
        bad = at & ~np.isnan(e) & ~(np.isfinite(e) & (e > 0))
        if bad.any():
            problems.add_for_subjects(ids, exposure, f"is not a positive number at week {v:g}; exposure (time "
                                      "observed) must be > 0", np.flatnonzero(bad))
    problems.raise_if_any()

    # one row per subject in order of first appearance (the trial's subject index): the count at the visit and
    # at baseline from each subject's first row there
    idx = subject_index(trial)
    at_v, at_0 = idx.first_row_at(v), idx.first_row_at(0.0)
    y_all = num[outcome].astype(float)
    frame = pd.DataFrame({"subject": idx.subjects.array, "arm": idx.arm.array,
                          "y": idx.take(y_all, at_v).to_numpy(), "base": idx.take(y_all, at_0).to_numpy(),
                          "exposure": idx.take(num[exposure].astype(float), at_v).to_numpy() if exposure else 1.0})
    default = None
    if cov.names:
        frame = frame.join(cov.values[cov.names], on="subject")
        default = cov.reasons(frame["subject"])
    reason = first_reason([(frame["y"].isna(), f"no {outcome} at week {v:g}"),
                           (frame["base"].isna(), f"no baseline {outcome}"),
                           (frame["exposure"].isna(), f"no {exposure} at week {v:g}")], len(frame), default)
    return exclusions(frame, reason)


# --- fitting -------------------------------------------------------------------------------------
def _distinct(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct counts, how often each occurs (float) and each subject's position among them."""
    uy, inv, ny = np.unique(y, return_inverse=True, return_counts=True)
    return uy, ny.astype(float), inv


def _theta_ml(y: np.ndarray, mu: np.ndarray, theta: float,
              distinct: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> tuple[float, float]:
    """Newton steps for the NB size theta at fixed means (MASS::theta.ml); returns (theta, observed info).

    The digamma and trigamma terms depend on the counts only: they are evaluated once per distinct count and
    weighted by how often it occurs (counts take few values; the sums are the same up to rounding).
    ``distinct``: :func:`_distinct` of ``y`` when the caller has it (the same counts, found once)."""
    uy, ny, _ = _distinct(y) if distinct is None else distinct
    n = float(y.size)

    def score_info(theta: float) -> tuple[float, float]:
        mt = mu + theta
        score = (ny @ special.digamma(theta + uy) - n * special.digamma(theta) + n * (np.log(theta) + 1)
                 - np.sum(np.log(mt) + (y + theta) / mt))
        info = (-(ny @ special.polygamma(1, theta + uy)) + n * (special.polygamma(1, theta) - 1 / theta)
                + np.sum(2 / mt - (y + theta) / mt ** 2))
        return float(score), float(info)

    for _ in range(_MAX_ITER):
        score, info = score_info(theta)
        step = score / info
        theta_new = theta + step
        if theta_new <= 0:  # keep the search inside the parameter space
            theta_new = theta / 2
        if abs(theta_new - theta) <= _TOL * max(1.0, theta) or theta_new > _THETA_MAX:
            theta = theta_new
            break
        theta = theta_new
    return float(theta), score_info(theta)[1]


def _deviance(y: np.ndarray, mu: np.ndarray, alpha: float) -> float:
    """Poisson (alpha = 0) or NB2 deviance, as statsmodels' families (y / mu clipped at machine epsilon)."""
    # the same elementwise operations in the same order, into one or two buffers (at a million subjects each
    # fresh temporary is a fresh mapping of memory, and the deviance is evaluated at every IRLS step)
    ylog = np.divide(y, mu)
    np.maximum(ylog, _EPS, out=ylog)                    # np.clip(y / mu, eps, inf) on finite and inf values
    np.log(ylog, out=ylog)
    np.multiply(y, ylog, out=ylog)
    if alpha == 0:
        rest = np.subtract(y, mu)
        np.subtract(ylog, rest, out=ylog)
        return float(2 * np.sum(ylog))
    ya = y + 1 / alpha
    rest = np.add(mu, 1 / alpha)
    np.divide(ya, rest, out=rest)
    np.log(rest, out=rest)
    np.multiply(ya, rest, out=rest)
    np.subtract(ylog, rest, out=ylog)
    return float(2 * np.sum(ylog))


def _loglik(y: np.ndarray, mu: np.ndarray, alpha: float,
            distinct: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> float:
    """Poisson or NB2 log-likelihood. With ``distinct`` (:func:`_distinct` of ``y``) the log-gamma terms are
    evaluated once per distinct count and looked up per subject: the same values, so the same sum."""
    def gammaln_at(shift: float) -> np.ndarray:
        if distinct is None:
            return special.gammaln(y + shift)
        uy, _, inv = distinct
        return special.gammaln(uy + shift)[inv]

    if alpha == 0:
        return float(np.sum(y * np.log(mu) - mu - gammaln_at(1.0)))
    return float(np.sum(y * np.log(alpha * mu) - (y + 1 / alpha) * np.log(1 + alpha * mu)
                        + gammaln_at(1 / alpha) - special.gammaln(1 / alpha) - gammaln_at(1.0)))


def _irls(y: np.ndarray, X: np.ndarray, offset: np.ndarray, alpha: float = 0.0,
          start: np.ndarray | None = None, *, rank: int | None = None,
          distinct: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> dict:
    """Poisson (``alpha = 0``) or negative binomial (NB2, ``var = mu + alpha mu^2``, alpha known) regression
    with log link by iteratively reweighted least squares: statsmodels ``GLM(...).fit(tol=1e-12)``'s iteration
    (its start, working response and weights; stop when the deviance changes by at most 1e-12, or by no more
    than its rounding), each weighted least-squares step solved from the p x p cross-products instead of an
    SVD of the n x p matrix. The covariance is the inverse of X'WX at the last step's weights, as statsmodels'.

    ``rank`` (of ``X``) and ``distinct`` (:func:`_distinct` of ``y``), when the caller has them, are not computed
    again (the negative binomial fit calls this several times on the same rows).

    Returns ``params, vcov, mu, llf, df_resid, iterations``.
    """
    if start is None:
        mu = (y + y.mean()) / 2
        eta = np.log(mu)
    else:
        eta = X @ start + offset
        mu = np.exp(eta)
    dev = _deviance(y, mu, alpha)
    beta, iterations = start, 0
    # each step's arrays are written into buffers made once (the same operations in the same order: the same
    # numbers; at a million subjects a fresh temporary per operation costs more than the arithmetic)
    # (Xw in X's memory order, as X * w[:, None] has it: the cross-products then sum in the same order)
    w, z, Xw = np.empty(y.size), np.empty(y.size), np.empty_like(X, dtype=float)
    while iterations < _MAX_ITER:
        iterations += 1
        np.multiply(alpha, mu, out=w)                   # w = mu / (1 + alpha mu): 1 / (g'(mu)^2 V(mu)), log link
        np.add(1, w, out=w)
        np.divide(mu, w, out=w)
        np.subtract(y, mu, out=z)                       # z = eta + (y - mu) / mu - offset: the working response
        np.divide(z, mu, out=z)
        np.add(eta, z, out=z)
        np.subtract(z, offset, out=z)
        np.multiply(X, w[:, None], out=Xw)
        xtwx = X.T @ Xw
        beta = np.linalg.solve(xtwx, Xw.T @ z)
        eta = X @ beta
        eta += offset
        mu = np.exp(eta)
        dev_new = _deviance(y, mu, alpha)
        done = abs(dev_new - dev) <= max(_TOL, 8 * np.finfo(float).eps * abs(dev_new))
        dev = dev_new
        if done:
            break
    rank = np.linalg.matrix_rank(X) if rank is None else rank
    return {"params": beta, "vcov": np.linalg.inv(xtwx), "mu": mu, "llf": _loglik(y, mu, alpha, distinct),
            "df_resid": float(len(y) - rank), "iterations": iterations, "rank": int(rank)}


def fit_negbin(y: np.ndarray, X: np.ndarray, offset: np.ndarray) -> dict:
    """Negative binomial (NB2) regression by maximum likelihood, as ``MASS::glm.nb``.

    Alternates IRLS for the coefficients at fixed theta and Newton steps for theta at fixed means until the
    log-likelihood and theta settle (relative change below 1e-12).

    Returns
    -------
    dict
        ``params, vcov`` (covariance with theta fixed, from the expected information, as ``summary(glm.nb)``),
        ``theta, theta_se`` (from the observed information of theta), ``llf``, ``mu``, ``iterations``.
    """
    y, X, offset = np.asarray(y, float), np.asarray(X, float), np.asarray(offset, float)
    return _fit_negbin(y, X, offset, _irls(y, X, offset))


def _fit_negbin(y: np.ndarray, X: np.ndarray, offset: np.ndarray, pois: dict) -> dict:
    mu = pois["mu"]
    theta = len(y) / np.sum((y / mu - 1) ** 2)  # MASS's moment start
    params, llf_old = pois["params"], -np.inf
    distinct = _distinct(y)   # the counts' distinct values, once for every theta step and log-likelihood
    rank = pois.get("rank")
    for it in range(1, _MAX_ITER + 1):
        theta, _ = _theta_ml(y, mu, theta, distinct)
        if not np.isfinite(theta) or theta > _THETA_MAX:
            raise ModelError("no overdispersion: the negative binomial size theta runs to infinity (the counts "
                             "look Poisson); use family='poisson'", kind="no overdispersion")
        fit = _irls(y, X, offset, alpha=1 / theta, start=params, rank=rank, distinct=distinct)
        params, mu, llf = fit["params"], fit["mu"], fit["llf"]
        if abs(llf - llf_old) <= _TOL * abs(llf) and it > 1:
            break
        llf_old = llf
    else:
        raise ModelError(f"the negative binomial fit did not converge in {_MAX_ITER} iterations")
    theta, info = _theta_ml(y, mu, theta, distinct)
    return {"params": np.asarray(params), "vcov": fit["vcov"], "theta": theta,
            "theta_se": 1 / np.sqrt(info), "llf": float(llf), "mu": np.asarray(mu), "iterations": it}


def _dispersion_checks(y: np.ndarray, pois: dict) -> dict:
    """Pearson chi-square / df and the Cameron–Trivedi regression test on a Poisson fit."""
    mu = pois["mu"]
    pearson = float(np.sum((y - mu) ** 2 / mu))
    df_resid = pois["df_resid"]
    aux = ((y - mu) ** 2 - y) / mu
    # OLS through the origin of aux on mu: slope estimates alpha in var = mu + alpha mu^2
    slope = np.sum(aux * mu) / np.sum(mu ** 2)
    resid = aux - slope * mu
    se = np.sqrt(np.sum(resid ** 2) / (len(y) - 1) / np.sum(mu ** 2))
    return {"pearson": pearson, "df_resid": df_resid, "ct_alpha": float(slope), "ct_se": float(se),
            "ct_statistic": float(slope / se), "ct_p": float(stats.norm.sf(slope / se))}


# --- the analysis --------------------------------------------------------------------------------
@records_design
def count_model(trial: Trial, outcome: str = "analgesic_days", visit: float = 12, *, family: str = "negbin",
                exposure: str | None = None, covariates: Sequence[str] | str = (),
                adjust: str = DEFAULTS["adjust"], alpha: float = DEFAULTS["alpha"],
                reference: str | None = None) -> CountResult:
    """Rate ratios between arms for a count outcome at one visit, adjusted for the baseline count and covariates.

    Parameters
    ----------
    trial : Trial
    outcome : str
        Count outcome measured at visits (whole numbers >= 0), e.g. ``analgesic_days``.
    visit : float
        Visit analysed (weeks); the baseline (visit 0) count is the covariate.
    family : {"negbin", "poisson"}
        Negative binomial (NB2, dispersion by maximum likelihood as ``MASS::glm.nb``) or Poisson.
    exposure : str, optional
        Column with the time observed at the visit (e.g. diary days); enters as ``offset(log(exposure))`` so
        that rates are per unit of exposure.
    covariates : sequence of str
        Further adjustment covariates as formula terms: ``"age"``, ``"C(site)"``, ``"age*sex"``,
        ``"ns(age, df=3)"``. Numeric columns enter linearly, text columns as factors (treatment coding, levels
        sorted as R's ``factor()``); a column that varies between visits enters with its baseline value.
        Subjects missing a covariate are excluded and listed.
    adjust : str
        Multiplicity adjustment of the rate-ratio contrasts (see :mod:`combotherapy.inference`; default Holm).
    alpha : float
        1 - confidence level.
    reference : str, optional
        Compare each arm with this arm only; default all pairs.

    Returns
    -------
    CountResult
        ``.contrasts`` (rate ratios), ``.by_arm`` (rates), ``.coefficients``, ``.dispersion``,
        ``.recommendation``, ``.inference``.

    Raises
    ------
    DataError
        Counts that are negative or not whole numbers, a non-positive exposure (message names column and rows),
        an unknown covariate, an arm of the trial without any subject analysable at the visit.
    ModelError
        Visit 0, an arm whose counts are all zero, a rank-deficient design, a negative binomial fit without
        overdispersion (theta -> infinity: use Poisson), non-convergence.

    Notes
    -----
    For subject i with count :math:`y_i` at the visit and baseline count :math:`b_i`,

    .. math:: \\log E[y_i] = \\beta_0 + \\beta_{\\text{arm}(i)} + \\gamma b_i + z_i^T\\delta
              \\; [+ \\log \\text{exposure}_i]

    with :math:`y_i` Poisson or negative binomial with :math:`\\mathrm{var} = \\mu + \\mu^2/\\theta`.
    (:math:`z_i` the covariates). Complete cases only (count at the visit, baseline and covariates present):
    valid if dropout depends on arm, baseline and covariates only. The per-arm rates (``by_arm``) are the
    emmeans-style predictions at the reference grid (:data:`combotherapy.inference.GRID_RULE`), per unit of
    exposure. The rate ratio of arm a to arm b is :math:`\\exp(\\beta_a - \\beta_b)` with Wald z CI and
    test; for the negative binomial the coefficients' covariance treats theta as known (as ``summary(glm.nb)``).
    Dispersion: Pearson :math:`\\chi^2/\\mathrm{df}` of the Poisson fit, the Cameron–Trivedi test (OLS of
    :math:`((y-\\hat\\mu)^2 - y)/\\hat\\mu` on :math:`\\hat\\mu` without intercept, one-sided z test of the
    slope :math:`\\alpha > 0`), and the likelihood-ratio test of NB against Poisson with the boundary p-value
    :math:`\\tfrac12 P(\\chi^2_1 > LR)`. The recommendation follows the Cameron–Trivedi test.

    References
    ----------
    Venables WN, Ripley BD. Modern Applied Statistics with S, 4th ed. Springer, 2002 (glm.nb).
    Cameron AC, Trivedi PK. Regression-based tests for overdispersion in the Poisson model. J Econometrics
    1990;46:347-64. Self SG, Liang KY. J Am Stat Assoc 1987;82:605-10.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)
    >>> res = ct.count_model(trial, "analgesic_days", visit=12)
    >>> res.recommendation                       # the dispersion check: the counts are overdispersed
    'negbin'
    >>> res.contrasts["contrast"].tolist()
    ['combined - physio', 'combined - acupuncture', 'physio - acupuncture']
    >>> list(res.contrasts.columns[:6])          # rate ratios, plus the log scale
    ['first', 'second', 'contrast', 'estimate', 'log_estimate', 'se']
    >>> res.compare(reference="physio", alpha=0.01)["contrast"].tolist()   # more inference, no refit
    ['combined - physio', 'acupuncture - physio']
    """
    family = check_choice(family, FAMILIES, "family")
    alpha = check_alpha(alpha)
    adjust = check_adjust(adjust)
    cov = subject_covariates(trial, covariates, reserved=[outcome] + ([exposure] if exposure else []))
    frame, excluded = _analysis_data(trial, outcome, visit, exposure, cov)
    present = [a for a in trial.arms if arm_present(trial.data["arm"], a)]
    arms = [a for a in present if arm_present(frame["arm"], a)]
    lost = [a for a in present if a not in arms]
    if lost:
        # an arm must never vanish from the tables silently (ancova and responders refuse too)
        why = "; ".join(f"'{a}': " + ", ".join(f"{k} {r}" for r, k in excluded.loc[excluded["arm"] == a, "reason"]
                                                      .value_counts(sort=False).items()) for a in lost)
        raise DataError(f"arm(s) {lost} have no subject analysable (a count of '{outcome}' at week {visit:g} and "
                        f"at baseline{', and every covariate' if cov.names else ''}), so they cannot be compared "
                        f"({why}). Choose a visit with data in every arm, or drop the arm from the trial first.")
    if len(arms) < 2:
        raise ModelError(f"need at least two arms with '{outcome}' at week {visit:g} and at baseline; found {arms}")
    reference = check_reference(reference, arms)
    zero = frame.groupby("arm", observed=True)["y"].sum().reindex(arms)
    if (zero == 0).any():
        raise ModelError(f"arm(s) {list(zero.index[zero == 0])} have only zero counts of '{outcome}' at week "
                         f"{visit:g}: their rate is 0 and rate ratios are not estimable")
    design = arm_design(frame.rename(columns={"base": "baseline"}), arms, cov, ["baseline"])
    X = design.X
    rank = int(np.linalg.matrix_rank(X))   # once: the fits below reuse it
    if rank < X.shape[1]:
        raise ModelError("the design (arm + baseline count" + (" + covariates" if cov.names else "") + ") is rank "
                         "deficient, e.g. the baseline count is the same for every subject or a covariate is "
                         "constant or a copy of another; the model cannot be fitted")
    y = frame["y"].to_numpy(float)
    offset = np.log(frame["exposure"].to_numpy(float))

    pois = _irls(y, X, offset, rank=rank)
    checks = _dispersion_checks(y, pois)
    recommendation = "negbin" if checks["ct_p"] < alpha else "poisson"
    disp_rows = []
    if family == "negbin":
        nb = _fit_negbin(y, X, offset, pois)
        beta, vcov, llf = nb["params"], nb["vcov"], nb["llf"]
        th, th_se = nb["theta"], nb["theta_se"]
        disp_rows += [("theta (NB size)", th, th_se, np.nan, np.nan, np.nan),
                      ("alpha = 1/theta", 1 / th, th_se / th ** 2, np.nan, np.nan, np.nan)]
        lr = max(0.0, 2 * (llf - pois["llf"]))
        lr_row = ("LR test NB vs Poisson", np.nan, np.nan, lr, 1.0, 0.5 * stats.chi2.sf(lr, 1))
    else:
        beta, vcov, llf = pois["params"], pois["vcov"], pois["llf"]
        lr_row = None
    disp_rows += [
        ("Pearson chi2/df (Poisson)", checks["pearson"] / checks["df_resid"], np.nan, checks["pearson"],
         checks["df_resid"], stats.chi2.sf(checks["pearson"], checks["df_resid"])),
        ("Cameron-Trivedi alpha (Poisson)", checks["ct_alpha"], checks["ct_se"], checks["ct_statistic"], np.nan,
         checks["ct_p"]),
    ] + ([lr_row] if lr_row else [])
    dispersion = pd.DataFrame(disp_rows, columns=["quantity", "estimate", "se", "statistic", "df", "p"])

    inference = Inference(tuple(design.names), np.asarray(beta, float), np.asarray(vcov, float), np.inf, "z",
                          design.grid, link="log")
    contrasts = inference.compare(reference=reference, adjust=adjust, alpha=alpha)
    by_arm = inference.emmeans(alpha=alpha)

    n_arm = frame.groupby("arm", observed=True).size().reindex(arms)
    notes = [f"rate ratio 'first - second' = first arm's rate / second arm's rate; "
             f"{'lower' if trial.instrument(outcome).better == 'lower' else 'higher'} counts are better",
             "complete cases: subjects with the count at the visit and at baseline"
             + (" and every covariate" if cov.names else "")] + cov.notes
    notes.append("by_arm: rates at the reference grid (the mean baseline count; " + design.grid.rule[0].lower()
                 + design.grid.rule[1:] + ")" + (" per unit of exposure" if exposure else ""))
    if family == "poisson" and recommendation == "negbin":
        notes.append("the counts are overdispersed (Cameron-Trivedi test): Poisson standard errors are too small; "
                     "use family='negbin'")
    if family == "negbin":
        notes.append("coefficient covariance with theta held fixed, as summary(MASS::glm.nb)")
    offset_text = f" + offset(log({exposure}))" if exposure else ""
    fitted = Fitted(
        model="negative binomial (NB2) regression, log link" if family == "negbin" else "Poisson regression, log link",
        formula=f"{outcome}[week {visit:g}] ~ arm + baseline"
                + "".join(f" + {c}" for c in cov.terms) + offset_text, outcome=outcome,
        visit=float(visit), df_method="Wald z (asymptotic)", adjust=adjust, alpha=alpha,
        ci_adjust=contrasts.attrs.get("ci_adjust"), n_per_arm={arm: int(n_arm[arm]) for arm in arms},
        excluded=excluded, notes=notes, extra={"family": family, "loglik": llf, "exposure": exposure,
                                               "covariates": list(cov.terms)},
    )
    res = CountResult(f"Count model: {outcome} at week {visit:g}", fitted, recommendation=recommendation,
                      contrasts=contrasts, by_arm=by_arm, dispersion=dispersion)
    res.inference = inference
    res.coefficients = inference.coefficients(alpha)
    res.instrument = trial.instrument(outcome)
    res.better = res.instrument.better
    return res

