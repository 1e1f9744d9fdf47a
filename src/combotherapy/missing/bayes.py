"""Multiple imputation with the MMRM: approximate Bayesian MI pooled with Rubin's rules, and bootstrapped
maximum-likelihood MI pooled with von Hippel and Bartlett's rule (rbmi's ``method_approxbayes`` and
``method_bmlmi``).

Approximate Bayes: for each of ``m`` imputations the imputation model is refitted to a bootstrap sample (drawn
within arms), which stands in for a draw of its parameters from their posterior; the missing values of the trial's
own subjects are then drawn from their conditional distribution under the strategy. Bootstrapped ML MI: ``B``
bootstrap samples, each imputed ``D`` times with that sample's estimate, and each imputed bootstrap sample analysed.
Refits start from the full-data estimate (see :func:`.model.refit`); draws use one seeded Generator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from ..results import records_design
from ..trial import Trial
from .analyse import plan
from .conditional_mean import stratified_bootstrap
from .impute import impute, strategy_means
from .model import fit_model, prepare, refit
from .result import ImputationResult, Run, finish

__all__ = ["approximate_bayes", "bootstrap_mi"]


def _draw_rows(imp, beta, Sigma, rows, D, rng):
    """D draws of the missing values of the subjects ``rows`` (a bootstrap sample: repeated subjects drawn
    independently). Returns (D, len(rows), k)."""
    from .impute import _draw_given_means
    m = strategy_means(imp, beta)[rows]
    return _draw_given_means(imp.Y[rows], m, Sigma, D, rng)


@records_design
def approximate_bayes(trial: Trial, outcome: str, *, m: int = 200, strategy: str | None = None,
                      events: pd.DataFrame | None = None, reference_arms: str | Mapping[str, str] | None = None,
                      covariates: Sequence[str] = (), baseline: bool = True, covariance: str = "unstructured",
                      seed: int | None = None, rng: np.random.Generator | None = None, reference: str | None = None,
                      adjust: str = "none", alpha: float = 0.05) -> ImputationResult:
    """Approximate Bayesian multiple imputation (bootstrap draws of the MMRM parameters), Rubin's rules.

    Parameters
    ----------
    trial, outcome, strategy, events, reference_arms, covariates, baseline, covariance, reference, adjust, alpha
        As :func:`combotherapy.missing.conditional_mean`.
    m : int
        Number of imputations (default 200).
    seed, rng
        Random numbers (bootstrap samples and draws); ``rng`` wins.

    Returns
    -------
    ImputationResult
        Pooled contrasts with the Barnard-Rubin df and the fraction of missing information (``fmi``).

    Notes
    -----
    For imputation ``l``: fit the MMRM (REML) to a bootstrap sample drawn within arms, giving ``(beta_l, Sigma_l)``;
    draw each subject's missing values from ``N(m_m + S_mo S_oo^-1 (y_o - m_o), S_mm - S_mo S_oo^-1 S_om)`` with
    the strategy's mean profile ``m``; analyse by ANCOVA at each visit. Pool with Rubin's rules:
    ``T = W + (1 + 1/m) B``, Barnard-Rubin df with complete-data df ``n - q`` of the ANCOVA, and
    ``fmi = (r + 2/(df + 3)) / (r + 1)``, ``r = (1 + 1/m) B / W``.

    References
    ----------
    Little RJA, Rubin DB. Statistical Analysis with Missing Data, 3rd ed. Wiley, 2019 (approximate Bayesian
    bootstrap). Barnard J, Rubin DB. Biometrika 1999;86:948-55. Carpenter JR, Roger JH, Kenward MG. J Biopharm Stat
    2013;23:1352-71.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=30, seed=3)
    >>> res = ct.missing.approximate_bayes(trial, "pain", m=5, seed=1)
    >>> "fmi" in res.contrasts.columns
    True
    """
    if m < 2:
        raise DataError(f"m={m}: multiple imputation needs at least 2 imputations")
    rng = rng if rng is not None else np.random.default_rng(seed)
    imp = prepare(trial, outcome, covariates=covariates, baseline=baseline, covariance=covariance, events=events,
                  strategy=strategy, reference_arms=reference_arms)
    full = fit_model(imp, check=True)
    Y = np.empty((m, imp.n, imp.k))
    for j in range(m):  # loop over imputations: one refit each
        w = np.bincount(stratified_bootstrap(imp.data.arm_codes, rng), minlength=imp.n).astype(float)
        f = refit(imp, imp.stats(w), full)
        Y[j] = impute(imp, f.beta, f.Sigma, draws=1, rng=rng)[0]
    run = Run(imp=imp, plan=plan(imp, reference), pooling="rubin", imputed=Y, alpha=alpha)
    return finish(run, trial, outcome, method="approximate Bayesian MI", strategy=strategy or "MAR",
                  events_given=events is not None, adjust=adjust,
                  extra={"df_method": "Barnard-Rubin", "imputations": m})


@records_design
def bootstrap_mi(trial: Trial, outcome: str, *, n_boot: int = 100, per_boot: int = 2, strategy: str | None = None,
                 events: pd.DataFrame | None = None, reference_arms: str | Mapping[str, str] | None = None,
                 covariates: Sequence[str] = (), baseline: bool = True, covariance: str = "unstructured",
                 seed: int | None = None, rng: np.random.Generator | None = None, reference: str | None = None,
                 adjust: str = "none", alpha: float = 0.05) -> ImputationResult:
    """Bootstrapped maximum-likelihood multiple imputation pooled with von Hippel and Bartlett's rule.

    Parameters
    ----------
    n_boot, per_boot : int
        ``B`` bootstrap samples and ``D >= 2`` imputations of each.
    trial, outcome, strategy, events, reference_arms, covariates, baseline, covariance, seed, rng, reference,
    adjust, alpha
        As :func:`approximate_bayes`.

    Returns
    -------
    ImputationResult

    Notes
    -----
    Each bootstrap sample (within arms) is fitted by REML and imputed ``D`` times from the conditional
    distribution with its own estimate; the ``B x D`` ANCOVA estimates are pooled by a one-way random effects
    ANOVA: ``var = (1 + 1/B) (MSB - MSW) / D + MSW / (B D)`` with its Satterthwaite df (at least 3).

    References
    ----------
    von Hippel PT, Bartlett JW. Maximum likelihood multiple imputation: faster imputations and consistent standard
    errors without posterior draws. Stat Sci 2021;36:400-20.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=30, seed=3)
    >>> res = ct.missing.bootstrap_mi(trial, "pain", n_boot=5, per_boot=2, seed=1)
    >>> len(res.contrasts) > 0
    True
    """
    if n_boot < 2 or per_boot < 2:
        raise DataError(f"n_boot={n_boot}, per_boot={per_boot}: von Hippel and Bartlett's pooling needs at least "
                        "2 bootstrap samples and 2 imputations of each")
    rng = rng if rng is not None else np.random.default_rng(seed)
    imp = prepare(trial, outcome, covariates=covariates, baseline=baseline, covariance=covariance, events=events,
                  strategy=strategy, reference_arms=reference_arms)
    full = fit_model(imp, check=True)
    rows = np.empty((n_boot, imp.n), dtype=np.int64)
    Y = np.empty((n_boot * per_boot, imp.n, imp.k))
    for b in range(n_boot):  # loop over bootstrap samples: one refit each
        r = stratified_bootstrap(imp.data.arm_codes, rng)
        rows[b] = r
        f = refit(imp, imp.stats(np.bincount(r, minlength=imp.n).astype(float)), full)
        Y[b * per_boot:(b + 1) * per_boot] = _draw_rows(imp, f.beta, f.Sigma, r, per_boot, rng)
    run = Run(imp=imp, plan=plan(imp, reference), pooling="bmlmi", imputed=Y, rows=rows, per_boot=per_boot,
              alpha=alpha)
    return finish(run, trial, outcome, method="bootstrapped ML MI", strategy=strategy or "MAR",
                  events_given=events is not None, adjust=adjust,
                  extra={"df_method": "von Hippel-Bartlett", "bootstrap_samples": n_boot,
                         "imputations_per_sample": per_boot})
