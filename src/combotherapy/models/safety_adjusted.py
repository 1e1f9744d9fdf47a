"""Covariate-adjusted incidence rate ratios of adverse events: a count regression per subject with the follow-up
as exposure, the rows that :func:`combotherapy.adverse_events` adds with ``covariates=``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ..arms import contrast_label
from ..errors import ModelError
from ..inference import Inference
from ._covariates import Covariates, arm_design
from .counts import fit_negbin

__all__ = ["adjusted_rate_ratios"]


def adjusted_rate_ratios(analysed: pd.DataFrame, total: str, arms: list[str], pairs: list[tuple[str, str]],
                         cov: Covariates, family: str, alpha: float) -> tuple[pd.DataFrame, list[str], Inference]:
    """Rows ``type="any", measure="adjusted_rate_ratio"`` per pair, notes on who was left out, and the model's
    :class:`~combotherapy.inference.Inference` (log link: rates per week on the grid, rate ratios).

    ``analysed`` has one row per subject with ``arm``, the event count ``total`` and ``followup`` (weeks).
    """
    frame = analysed.join(cov.values[cov.names], on="subject")
    reason = cov.reasons(frame["subject"])
    reason = np.where(frame["followup"].to_numpy(float) > 0, reason, "0 weeks of follow-up")
    keep = reason == ""
    notes = []
    if not keep.all():
        why = pd.Series(reason[~keep]).value_counts(sort=False)
        notes.append("Adjusted rate ratios leave out " + "; ".join(f"{k} subject(s) with {r}" for r, k in why.items())
                     + ".")
    frame = frame.loc[keep].reset_index(drop=True)
    frame["arm"] = frame["arm"].astype(str)
    lost = [a for a in arms if not (frame["arm"] == a).any()]
    if lost:
        raise ModelError(f"arm(s) {lost} have no subject with follow-up > 0 and every covariate, so the adjusted "
                         "rate ratios cannot include them; drop covariates=, or check the follow-up")
    design = arm_design(frame, arms, cov)
    if np.linalg.matrix_rank(design.X) < design.X.shape[1]:
        raise ModelError("the adjusted adverse-event model (arm + covariates) is rank deficient: a covariate is "
                         "constant, constant within arms or a copy of another; remove it")
    y = frame[total].to_numpy(float)
    offset = np.log(frame["followup"].to_numpy(float))
    zero = frame.groupby("arm")[total].sum().reindex(arms)
    if (zero == 0).any():
        raise ModelError(f"arm(s) {list(zero.index[zero == 0])} have no adverse events: their adjusted rate is 0 "
                         "and the rate ratios are not estimable (the exact rate ratios are reported)")
    used = family
    if family == "negbin":
        try:
            nb = fit_negbin(y, design.X, offset)
            beta, vcov = nb["params"], nb["vcov"]
            notes.append(f"Adjusted rate ratios: negative binomial regression (theta {nb['theta']:.4g}, as "
                         "MASS::glm.nb) of events on arm + " + " + ".join(cov.terms)
                         + " with offset(log(follow-up weeks)); Wald intervals.")
        except ModelError:  # theta -> infinity: the counts are Poisson; say so and use that model
            used = "poisson"
    if used == "poisson":
        fit = sm.GLM(y, design.X, family=sm.families.Poisson(), offset=offset).fit(tol=1e-12, maxiter=200)
        beta, vcov = np.asarray(fit.params), np.asarray(fit.cov_params())
        notes.append("Adjusted rate ratios: Poisson regression of events on arm + " + " + ".join(cov.terms)
                     + " with offset(log(follow-up weeks)); Wald intervals"
                     + (" (no overdispersion: the negative binomial size runs to infinity)." if family == "negbin"
                        else "."))
    inference = Inference(tuple(design.names), np.asarray(beta, float), np.asarray(vcov, float), np.inf, "z",
                          design.grid, link="log")
    C = np.array([design.L[arms.index(a)] - design.L[arms.index(b)] for a, b in pairs])
    est = C @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", C, vcov, C))
    z = stats.norm.isf(alpha / 2)
    rows = pd.DataFrame({"type": "any", "contrast": [contrast_label(a, b) for a, b in pairs],
                         "first": [a for a, _ in pairs], "second": [b for _, b in pairs],
                         "measure": "adjusted_rate_ratio", "estimate": np.exp(est), "se": se, "df": np.inf,
                         "statistic": est / se, "p": 2 * stats.norm.sf(np.abs(est / se)),
                         "ci_low": np.exp(est - z * se), "ci_high": np.exp(est + z * se), "log_estimate": est,
                         "note": ""})
    return rows, notes, inference
