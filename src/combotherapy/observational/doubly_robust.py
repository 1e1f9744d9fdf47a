"""Augmented inverse probability weighting (AIPW): doubly robust mean outcome per arm and every contrast.

For each arm a, an outcome model m_a(x) = E[Y | A = a, x] is fitted in that arm (linear regression, or logistic
regression for a 0/1 outcome) and predicted for everyone; with the generalised propensity score e_a(x),

    psi_a = (1/n) sum_i [ m_a(X_i) + 1{A_i = a} (Y_i - m_a(X_i)) / e_a(X_i) ],

which is consistent when either the propensity model or the outcome model is right. Standard errors come from the
influence function phi_ia = m_a(X_i) + 1{A_i = a}(Y_i - m_a(X_i))/e_a(X_i) - psi_a:
Cov(psi_a, psi_b) = sum_i phi_ia phi_ib / n^2 (nuisance estimation ignored, which is valid when both models are
right and conservative-to-correct otherwise in large samples). That is the ATE (whole population).

The ATT of a chosen arm t and the overlap (generalised) estimand use the same form with a base weight b_i and an
augmentation weight g_ia:

    psi_a = sum_i [ b_i m_a(X_i) + 1{A_i = a} g_ia (Y_i - m_a(X_i)) ] / sum_i b_i,
    phi_ia = n / sum_j b_j [ b_i (m_a(X_i) - psi_a) + 1{A_i = a} g_ia (Y_i - m_a(X_i)) ],

- ATE: b_i = 1, g_ia = 1 / e_a(X_i) (the estimator above);
- ATT of arm t: b_i = 1{A_i = t}, g_ia = e_t(X_i) / e_a(X_i) (the efficient influence function of
  E[Y(a) | A = t], Hahn 1998), so psi_t is the observed mean of arm t;
- overlap: b_i = h_i = 1 / sum_k 1/e_k(X_i), g_ia = h_i / e_a(X_i) (the augmented overlap-weighting estimator of
  Li & Li 2019 and Mao, Li & Greene 2019, in Horvitz-Thompson form); the tilting h_i is treated as fixed, i.e.
  inference is for the overlap population of the observed covariates.
"""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm

from ..errors import DataError, ModelError
from ..results import Fitted, Result
from ._data import covariate_names, design_matrix
from ._inference import arm_means_inference, attach
from ._tables import contrast_table, means_table, ratio_table
from .evalues import with_evalues
from .ipw import outcome_vector
from .propensity import PropensityResult

__all__ = ["AIPWResult", "aipw"]


class AIPWResult(Result):
    """Doubly robust per-arm means (``means``), contrasts and (0/1 outcome) risk ratios (``ratios``).

    Attributes
    ----------
    influence : ndarray
        n x K influence-function values (for combining with other estimators).
    vcov : ndarray
        K x K covariance of the per-arm means.
    """

    tables = ("by_arm", "contrasts", "ratios", "evalues")

    def __init__(self, title, fitted, *, by_arm, contrasts, ratios, vcov, influence, outcome, ps, sd_outcome):
        tabs = {"by_arm": by_arm, "contrasts": contrasts}
        if ratios is not None:
            tabs["ratios"] = ratios
        super().__init__(title, fitted, **tabs)
        self.vcov = vcov
        self.influence = influence
        self.outcome = outcome
        self.ps = ps
        self.design = ps.design
        #: pooled within-arm SD of the outcome (for the SMD conversion of E-values)
        self.sd_outcome = sd_outcome


def aipw(ps: PropensityResult, outcome: str, *, outcome_covariates: str | None = None, family: str = "auto",
         alpha: float = 0.05, adjust: str = "none", reference: str | None = None, estimand: str = "ATE",
         target: str | None = None) -> AIPWResult:
    """Doubly robust (AIPW) estimate of every arm's mean outcome and of every contrast (ATE, ATT or overlap).

    Parameters
    ----------
    ps : PropensityResult
        Fitted propensity score; the outcome is read from its subject frame.
    outcome : str
        Numeric outcome (0/1 for binary).
    outcome_covariates : str, optional
        Formula terms of the outcome model (default: those of the propensity model).
    family : {"auto", "gaussian", "binomial"}
        Outcome model; "auto" picks binomial for a 0/1 outcome.
    alpha, adjust, reference
        Interval level, multiplicity adjustment of contrast p-values ("none", "holm", "bonferroni") and an
        optional reference arm.
    estimand : {"ATE", "ATT", "overlap"}
        Target population: everyone (ATE), the subjects who received arm ``target`` (ATT), or the overlap
        population (tilting h = 1 / sum_k 1/e_k, Li & Li 2019); see the module docstring for the estimators.
    target : str, optional
        The ATT's arm (required for the ATT with three or more arms; with two arms the second, as in
        :func:`iptw`).

    Returns
    -------
    AIPWResult

    References
    ----------
    Robins JM, Rotnitzky A, Zhao LP. Estimation of regression coefficients when some regressors are not always
    observed. JASA 1994;89:846-66. Glynn AN, Quinn KM. An introduction to the augmented inverse propensity
    weighted estimator. Political Analysis 2010;18:36-56. Hahn J. On the role of the propensity score in efficient
    semiparametric estimation of average treatment effects. Econometrica 1998;66:315-31. Li F, Li F. Propensity
    score weighting for causal inference with multiple treatments. Ann Appl Stat 2019;13:2389-415. Mao H, Li L,
    Greene T. Propensity score weighting analysis and treatment effect discovery. Stat Methods Med Res
    2019;28:2439-54.

    Example
    -------
    >>> from combotherapy.observational import simulate_registry, propensity_score, aipw
    >>> ps = propensity_score(simulate_registry(500, seed=4), "age + sex + pain0 + log(pain_duration)")
    >>> r = aipw(ps, "pain")
    >>> r.by_arm["arm"].tolist()
    ['physio', 'acupuncture', 'combined']
    """
    if not isinstance(ps, PropensityResult):
        raise DataError(f"expected a PropensityResult from propensity_score(), not {type(ps).__name__}")
    target = _check_estimand(ps.arms, estimand, target)
    y = outcome_vector(ps.data, outcome)
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    if family == "auto":
        family = "binomial" if binary else "gaussian"
    if family not in ("gaussian", "binomial"):
        raise DataError(f"family must be 'auto', 'gaussian' or 'binomial', not {family!r}")
    if family == "binomial" and not binary:
        raise DataError(f"column '{outcome}': family='binomial' needs a 0/1 outcome")
    rhs = ps.covariates if outcome_covariates is None else covariate_names(outcome_covariates)[0]
    if outcome_covariates is not None:
        _, needed = covariate_names(outcome_covariates)
        absent = [c for c in needed if c not in ps.data.columns]
        if absent:
            raise DataError(f"outcome-model covariate(s) {absent} not in the data")
    try:
        Z = design_matrix(rhs, ps.data).X
    except Exception as exc:
        raise DataError(f"the outcome-model formula '{rhs}' could not be built (missing values are not "
                        f"dropped): {exc}") from None
    onehot = ps.indicator().astype(bool)
    e = ps.probabilities
    K = len(ps.arms)
    m = np.empty((len(y), K))
    for k, arm in enumerate(ps.arms):  # one outcome model per arm (K is small)
        Zk, yk = Z[onehot[:, k]], y[onehot[:, k]]
        if np.linalg.matrix_rank(Zk) < Z.shape[1]:
            raise ModelError(f"the outcome model cannot be fitted in arm '{arm}' ({Zk.shape[0]} subjects, design "
                             f"rank deficient): use fewer outcome covariates")
        if family == "gaussian":
            beta = np.linalg.lstsq(Zk, yk, rcond=None)[0]
            m[:, k] = Z @ beta
        else:
            if yk.min() == yk.max():
                raise ModelError(f"arm '{arm}': every subject has outcome {int(yk[0])}, the outcome model has no "
                                 "events to fit (perfect prediction); report the raw proportions instead")
            fit = sm.GLM(yk, Zk, family=sm.families.Binomial()).fit(tol=1e-12)
            m[:, k] = fit.predict(Z)
    n = len(y)
    if estimand == "ATE":  # the original ATE arithmetic (b = 1, g = 1/e), kept operation for operation
        g = 1 / e
        aug = m + onehot * (y[:, None] - m) / e
        psi = aug.mean(axis=0)
        phi = aug - psi
    else:
        if estimand == "ATT":
            b = onehot[:, ps.arms.index(target)].astype(float)
            g = e[:, [ps.arms.index(target)]] / e
        else:
            b = 1.0 / (1.0 / e).sum(axis=1)
            g = b[:, None] / e
        resid = onehot * g * (y[:, None] - m)
        psi = (b[:, None] * m + resid).sum(axis=0) / b.sum()
        phi = n / b.sum() * (b[:, None] * (m - psi) + resid)
    vcov = phi.T @ phi / n**2
    arms = ps.arms
    means = means_table(arms, psi, vcov, alpha)
    contrasts = contrast_table(arms, psi, vcov, alpha=alpha, adjust=adjust, reference=reference)
    ratios = ratio_table(arms, psi, vcov, alpha=alpha, adjust=adjust, reference=reference) if binary else None
    resid_var = sum(np.var(y[onehot[:, k]], ddof=1) * (onehot[:, k].sum() - 1) for k in range(K)) / (n - K)
    population = {"ATE": "ATE", "ATT": f"ATT (the population of the subjects who received {target})",
                  "overlap": "overlap population (tilting 1 / sum_k 1/e_k; h treated as fixed)"}[estimand]
    notes = ["Doubly robust (AIPW): consistent if either the propensity model or the per-arm outcome models are "
             f"correct; influence-function standard errors, normal reference (z). Estimand: {population}."]
    if ps.design == "observational":
        notes.append("Observational data: no adjustment for unmeasured confounders; see the E-values.")
    big = g[onehot].max()
    if big > 50:
        notes.append(f"Extreme inverse-probability factor up to {big:.0f}: the estimate leans on few subjects; "
                     "check overlap.")
    fitted = Fitted(model=f"Augmented IPW ({'logistic' if family == 'binomial' else 'linear'} outcome models "
                    "per arm)", formula=f"{outcome} ~ {rhs} (per arm); {ps.fitted.formula}", outcome=outcome,
                    df_method="z", adjust=adjust, alpha=alpha, n_per_arm=ps.fitted.n_per_arm, notes=notes,
                    extra={"design": ps.design, "family": family, "estimand": estimand, "target": target,
                           "adjustment": f"doubly robust (AIPW), estimand {estimand}"
                                         + (f" of {target}" if target else "")
                                         + "; propensity score: " + ps.fitted.model.split(": ", 1)[-1]})
    title = f"Doubly robust comparison of {outcome}" + ("" if estimand == "ATE" else
                                                          f" ({estimand}{' of ' + target if target else ''})")
    out = AIPWResult(title, fitted, by_arm=means, contrasts=contrasts,
                     ratios=ratios, vcov=vcov, influence=phi, outcome=outcome, ps=ps,
                     sd_outcome=float(np.sqrt(resid_var)))
    attach(out, arm_means_inference(arms, psi, vcov), outcome)
    return with_evalues(out)



def _check_estimand(arms: list[str], estimand: str, target: str | None) -> str | None:
    """The ATT's target arm (the second of two by default), or None; DataError for unknown settings."""
    if estimand not in ("ATE", "ATT", "overlap"):
        raise DataError(f"estimand must be one of ['ATE', 'ATT', 'overlap'], not {estimand!r}")
    if estimand != "ATT":
        if target is not None:
            raise DataError(f"target= applies to the ATT only; the {estimand} has no target arm")
        return None
    if target is None and len(arms) == 2:
        target = arms[1]
    if target not in arms:
        raise DataError(f"the ATT needs target= one of the arms {arms}, not {target!r}")
    return target
