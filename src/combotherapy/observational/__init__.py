"""Routine-care (observational) data: comparing arms when nobody was randomised.

The workflow, for two or more arms::

    ps = propensity_score(data, "age + sex + pain0 + log(pain_duration)")   # generalised propensity score
    w = iptw(ps, "ATE")                      # or "ATT" (target=arm) / "overlap"; trim=, truncate=
    balance(w)                               # SMDs for every pair of arms, before/after, threshold 0.1
    weighted_means(w, "pain")                # weighted arm means + contrasts (SEs account for the estimated PS)
    weighted_regression(w, "pain", "pain0")  # weighted ANCOVA / logistic / Poisson / negative binomial
    weighted_cox(w, "work_weeks", "returned")  # hazard ratios, robust SEs
    aipw(ps, "pain")                         # doubly robust (estimand="ATT", target=arm / "overlap")
    evalues(aipw(ps, "pain"))                # sensitivity to unmeasured confounding
    match(two_arm_ps, caliper=0.2)           # two arms only (see matching's notes: why weighting for three)

Hard cases, never silent: a covariate, treatment, outcome or time missing for some subject -> DataError listing
columns and rows (choose a complete-case subset or impute first); perfect prediction of treatment (a fitted
probability within 1e-8 of 0 or 1, or no convergence) -> ModelError; poor overlap -> the overlap table and figure,
and trimming/truncation with counts (an arm emptied by trimming -> ModelError); extreme weights -> a note naming
the arms where one subject carries > 10% of the weight, and the effective sample size per arm.

Timings (one core, 100,000 subjects, three arms): propensity score 1.3 s, weights + weighted means with the
stacked sandwich 0.6 s, AIPW 0.3 s, balance 0.2 s, weighted Cox 0.9 s; matching 20,000 subjects 1 s.

Data are declared observational on load, ``ct.load(path, design="observational")``, or on a Trial,
``trial.with_design("observational")`` (a DataFrame with :func:`mark_observational`). Every result then names the
design and the adjustment used; a trial model (ANCOVA, MMRM, counts, responders, survival, the combination rule) or
:func:`unadjusted` compares non-randomised arms without adjustment and carries a warning; the claims report and the
HTML report show E-values beside each claim. :func:`simulate_registry` makes a registry with
confounding by indication and a known truth (``TRUE_EFFECTS``).
"""

from .balance import BalanceResult, balance
from .design import (
    ConfoundingWarning,
    ObservationalData,
    UnadjustedResult,
    design_of,
    mark_observational,
    unadjusted,
)
from .doubly_robust import AIPWResult, aipw
from .evalues import evalue, evalues
from .ipw import WeightedMeansResult, weighted_means
from .matching import MatchResult, match
from .outcome_models import WeightedRegressionResult, weighted_regression
from .propensity import PropensityResult, propensity_score
from .simulate_registry import TRUE_EFFECTS, simulate_registry
from .weighted_cox import WeightedCoxResult, weighted_cox
from .weights import WeightsResult, effective_sample_size, iptw

__all__ = [
    "propensity_score", "PropensityResult", "iptw", "WeightsResult", "effective_sample_size",
    "balance", "BalanceResult", "weighted_means", "WeightedMeansResult", "aipw", "AIPWResult",
    "match", "MatchResult", "evalue", "evalues", "weighted_regression", "WeightedRegressionResult",
    "weighted_cox", "WeightedCoxResult",
    "mark_observational", "ObservationalData", "design_of", "unadjusted", "UnadjustedResult", "ConfoundingWarning",
    "simulate_registry", "TRUE_EFFECTS",
]
