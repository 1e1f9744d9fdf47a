"""Generalised propensity scores: the probability of each treatment given the confounders.

For two arms a logistic regression (statsmodels ``Logit``), for three or more a multinomial logistic regression
(statsmodels ``MNLogit``, the first arm as reference, as ``nnet::multinom``). Covariates are formula terms
(``"age + C(site) + bs(pain_duration, 3)"``) built with the package's formula library (patsy, as every model).

Handling of hard cases (never silent):

- a covariate, the treatment or the outcome missing for some subject -> :class:`~combotherapy.DataError` listing
  the columns and row numbers;
- perfect prediction of treatment (separation: fitted probabilities of 0 or 1, or the fit does not converge) ->
  :class:`~combotherapy.ModelError` naming how many subjects are affected;
- poor overlap is not an error at this stage: the ``overlap`` table reports, per arm, the range of every arm's
  score and how many subjects fall outside the common support; the weights report the extreme weights it causes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ..errors import DataError, ModelError
from ..results import Fitted, Result
from ..trial import Trial
from ._data import covariate_names, design_matrix, r_names, subject_frame
from .design import ObservationalData, unwrap

__all__ = ["PropensityResult", "propensity_score"]

#: a fitted probability this close to 0 or 1 is treated as perfect prediction
SEPARATION_TOL = 1e-8


class PropensityResult(Result):
    """Fitted generalised propensity score.

    Attributes
    ----------
    scores : DataFrame
        n x K probabilities, one column per arm (``ps_<arm>``), rows in the order of ``data``.
    coefficients : DataFrame
        ``equation, term, estimate, se, statistic, p, ci_low, ci_high`` (one equation per non-reference arm).
    overlap : DataFrame
        For each arm received and each arm's score: min, quartiles, max; and ``outside_common`` (subjects whose
        score lies outside the range shared by all arms).
    data : DataFrame
        The subject frame used (one row per subject).
    arms, treatment, covariates, design : the fit's settings.
    X : ndarray
        Design matrix (intercept first). ``columns`` names its columns.
    vcov : ndarray
        Covariance of the stacked coefficients (equation by equation), from the observed information.
    """

    tables = ("coefficients", "overlap")

    def __init__(self, title, fitted, *, scores, coefficients, overlap, data, arms, treatment, covariates,
                 design, X, columns, vcov):
        super().__init__(title, fitted, coefficients=coefficients, overlap=overlap)
        self.scores = scores
        self.data = data
        self.arms = arms
        self.treatment = treatment
        self.covariates = covariates
        self.design = design
        self.X = X
        self.columns = columns
        self.vcov = vcov

    @property
    def probabilities(self) -> np.ndarray:
        """n x K array of the scores (columns in ``arms`` order)."""
        return self.scores.to_numpy()

    @property
    def received(self) -> np.ndarray:
        """Integer code (index into ``arms``) of the arm each subject received."""
        return self.data[self.treatment].cat.codes.to_numpy()

    def indicator(self) -> np.ndarray:
        """n x K 0/1 matrix of the arm received."""
        return (self.received[:, None] == np.arange(len(self.arms))[None, :]).astype(float)

    def score_of_received(self) -> np.ndarray:
        return self.probabilities[np.arange(len(self.received)), self.received]


def propensity_score(data: pd.DataFrame | Trial | ObservationalData, covariates: str | Sequence[str], *, treatment: str = "arm",
                     outcome: str | None = None, visit: float | None = None, design: str = "observational",
                     alpha: float = 0.05) -> PropensityResult:
    """Fit the (generalised) propensity score of the treatment received.

    Parameters
    ----------
    data : DataFrame, Trial or ObservationalData
        One row per subject (or a Trial, reduced to one row per subject at ``visit``); data wrapped by
        :func:`mark_observational` set ``design="observational"``.
    covariates : str or sequence of str
        Right-hand side of the model as formula terms (``"age + sex + C(site)"``) or a list of column names.
    treatment : str, default "arm"
        Column with the treatment received (two or more arms).
    outcome : str, optional
        An outcome to carry along (checked for missing values now), for :func:`aipw` and :func:`weighted_means`.
    visit : float, optional
        With a Trial: the visit whose rows are used.
    design : {"observational", "randomised"}, default "observational"
        Recorded on the result (``fitted.extra["design"]``); with "observational" the notes say that adjustment is for measured confounders
        only.
    alpha : float
        For the coefficient intervals.

    Returns
    -------
    PropensityResult

    Notes
    -----
    Two arms: :math:`\\operatorname{logit} P(A=1\\mid x) = x^\\top\\beta`. K arms (reference arm 1):
    :math:`P(A=k\\mid x) = \\exp(x^\\top\\beta_k) / \\sum_j \\exp(x^\\top\\beta_j)`, :math:`\\beta_1 = 0`
    (maximum likelihood, Newton; identical to ``glm(family=binomial)`` and ``nnet::multinom``).

    References
    ----------
    Imbens GW. The role of the propensity score in estimating dose-response functions. Biometrika 2000;87:706-10.
    McCaffrey DF et al. A tutorial on propensity score estimation for multiple treatments. Stat Med 2013;32:3388-414.

    Example
    -------
    >>> from combotherapy.observational import simulate_registry, propensity_score
    >>> reg = simulate_registry(300, seed=1)
    >>> ps = propensity_score(reg, "age + pain0 + pain_duration + sex")
    >>> ps.scores.shape
    (300, 3)
    """
    data, design = unwrap(data, design)
    rhs, needed = covariate_names(covariates)
    frame, arms = subject_frame(data, treatment=treatment, columns=needed, outcome=outcome, visit=visit)
    try:
        mm = design_matrix(rhs, frame)
    except Exception as exc:  # the formula library raises several types for bad terms
        raise DataError(f"the covariate formula '{rhs}' could not be built: {exc}") from None
    X = mm.X
    columns = r_names(mm.column_names)
    if "(Intercept)" not in columns:
        raise DataError("the propensity model needs an intercept; remove '- 1' or '+ 0' from the formula")
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        raise ModelError(f"the covariate design is rank deficient (rank {rank} of {X.shape[1]} columns "
                         f"{columns}): remove collinear terms")
    codes = frame[treatment].cat.codes.to_numpy()
    K = len(arms)
    fit, probs = fit_scores(X, codes, K)
    params = np.asarray(fit.params).reshape(X.shape[1], -1)  # p x (K-1)
    cov = np.asarray(fit.cov_params())
    se = np.sqrt(np.diag(cov)).reshape(params.shape, order="F")
    from scipy import stats
    z = params / se
    q = stats.norm.ppf(1 - alpha / 2)
    coef = pd.DataFrame({
        "equation": np.repeat([f"{a} vs {arms[0]}" for a in arms[1:]], X.shape[1]),
        "term": columns * (K - 1),
        "estimate": params.ravel(order="F"), "se": se.ravel(order="F"), "statistic": z.ravel(order="F"),
        "p": 2 * stats.norm.sf(np.abs(z.ravel(order="F"))),
        "ci_low": (params - q * se).ravel(order="F"), "ci_high": (params + q * se).ravel(order="F"),
    })
    scores = pd.DataFrame(probs, columns=[f"ps_{a}" for a in arms])
    overlap = overlap_table(probs, codes, arms)
    n_out = int(outside_common_support(probs, codes).sum())
    notes = [f"Design: {design}. Reference arm of the propensity model: {arms[0]}."]
    if design == "observational":
        notes.append("Arms were not randomised: propensity methods adjust for the measured confounders in the "
                     "formula only; see E-values for sensitivity to unmeasured confounding.")
    if n_out:
        notes.append(f"Overlap: {n_out} subject(s) have a score outside the range shared by all arms "
                     "(see the overlap table); consider trimming or overlap weights.")
    fitted = Fitted(model="Propensity score: " + ("logistic regression" if K == 2
                                                  else "multinomial logistic regression"),
                    formula=f"{treatment} ~ {rhs}", alpha=alpha,
                    n_per_arm={a: int(n) for a, n in zip(arms, np.bincount(codes, minlength=K))},
                    notes=notes, extra={"design": design, "adjustment": "propensity score model (for weighting, "
                                        "matching or AIPW; no outcome compared here)", "loglik": float(fit.llf), "iterations":
                                        int(fit.mle_retvals.get("iterations", -1))})
    return PropensityResult("Propensity score", fitted, scores=scores, coefficients=coef, overlap=overlap,
                            data=frame, arms=arms, treatment=treatment, covariates=rhs, design=design, X=X,
                            columns=columns, vcov=cov)


def overlap_table(probs: np.ndarray, codes: np.ndarray, arms: list[str]) -> pd.DataFrame:
    """Distribution of each arm's score within each arm received, and counts outside the common support.

    The common support of arm k's score is [max over arms of the minimum, min over arms of the maximum]
    (the range every arm covers).
    """
    K = len(arms)
    rows = []
    for k in range(K):  # loops over arms (K <= a handful), not subjects
        p = probs[:, k]
        lo = max(p[codes == j].min() for j in range(K))
        hi = min(p[codes == j].max() for j in range(K))
        for j in range(K):
            pj = p[codes == j]
            q = np.quantile(pj, [0.0, 0.25, 0.5, 0.75, 1.0])
            rows.append({"score": f"ps_{arms[k]}", "arm": arms[j], "n": int(pj.size), "min": q[0], "q1": q[1],
                         "median": q[2], "q3": q[3], "max": q[4], "common_low": lo, "common_high": hi,
                         "outside_common": int(((pj < lo) | (pj > hi)).sum())})
    return pd.DataFrame(rows)


def outside_common_support(probs: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Boolean per subject: some arm's score lies outside the range that every arm's subjects cover."""
    K = probs.shape[1]
    onehot = codes[:, None] == np.arange(K)[None, :]
    lo = np.max([np.min(np.where(onehot[:, [j]], probs, np.inf), axis=0) for j in range(K)], axis=0)
    hi = np.min([np.max(np.where(onehot[:, [j]], probs, -np.inf), axis=0) for j in range(K)], axis=0)
    return ((probs < lo) | (probs > hi)).any(axis=1)


def fit_scores(X: np.ndarray, codes: np.ndarray, K: int):
    """Fit the (multinomial) logistic model; return the statsmodels fit and the n x K probabilities.

    Raises ModelError on separation (a probability within SEPARATION_TOL of 0 or 1) or non-convergence.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation and convergence are checked explicitly below
        try:
            if K == 2:
                fit = sm.Logit(codes.astype(float), X).fit(method="newton", maxiter=100, tol=1e-12, disp=False)
            else:
                fit = sm.MNLogit(codes, X).fit(method="newton", maxiter=100, tol=1e-12, disp=False)
        except (np.linalg.LinAlgError, ValueError, OverflowError) as exc:
            raise ModelError(f"the propensity model could not be fitted ({exc}); treatment is probably perfectly "
                             "predicted by the covariates: remove or coarsen the offending covariate") from None
    probs = np.asarray(fit.predict(X), dtype=float)
    if K == 2:
        probs = np.column_stack([1.0 - probs, probs])
    extreme = (probs < SEPARATION_TOL) | (probs > 1 - SEPARATION_TOL)
    converged = bool(fit.mle_retvals.get("converged", True))
    if extreme.any() or not converged or not np.all(np.isfinite(fit.params)):
        rows = np.flatnonzero(extreme.any(axis=1))
        raise ModelError(
            "treatment is (almost) perfectly predicted by the covariates: "
            f"{rows.size} subject(s) have a fitted probability within {SEPARATION_TOL:g} of 0 or 1"
            f"{'' if converged else ' and the fit did not converge'} (rows {', '.join(str(r + 1) for r in rows[:5])}"
            f"{' ...' if rows.size > 5 else ''}). There is no overlap for them: restrict the population to "
            "subjects who could have received every arm, or remove the covariate that determines treatment.")
    return fit, probs
