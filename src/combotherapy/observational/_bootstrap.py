"""The one bootstrap of the weighted analyses: resample subjects, refit the propensity score, recompute the weights,
then the statistic — so the bootstrap SEs carry the uncertainty of the estimated score, as the stacked equations do.

The resample loop runs over replicates (each replicate is vectorised); a replicate in which an arm has fewer than two
subjects, a design loses rank or a fit fails is counted and skipped, and more than 10% of them is an error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import DataError, ModelError


def bootstrap_cov(weights, statistic: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray], n_boot: int, seed,
                  *, design: np.ndarray | None = None, instead: str = "stacked", min_boot: int = 50) -> np.ndarray:
    """Covariance of ``statistic(idx, arm_codes, w)`` over ``n_boot`` resamples of subjects.

    ``weights`` is a WeightsResult (its propensity model, estimand, target, stabilisation, trimming and truncation are
    re-applied in every replicate); ``design`` is an outcome design matrix that must keep full rank in a replicate;
    ``instead`` names the SE method the error message suggests when too many replicates fail.
    """
    from .propensity import fit_scores
    from .weights import raw_weights
    if seed is None:
        raise DataError("the bootstrap needs seed= (an int or numpy Generator) so the result can be reproduced")
    if n_boot < min_boot:
        raise DataError(f"n_boot must be at least {min_boot}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    ps = weights.ps
    Xp, codes = ps.X, ps.received
    n, K = len(codes), len(ps.arms)
    target = None if weights.target is None else ps.arms.index(weights.target)
    extra = weights.fitted.extra
    reps, failed = [], 0
    for _ in range(n_boot):  # loop over replicates; each replicate is vectorised
        idx = rng.integers(0, n, n)
        c = codes[idx]
        if (np.bincount(c, minlength=K).min() < 2 or np.linalg.matrix_rank(Xp[idx]) < Xp.shape[1]
                or (design is not None and np.linalg.matrix_rank(design[idx]) < design.shape[1])):
            failed += 1
            continue
        try:
            _, e = fit_scores(Xp[idx], c, K)
            w, *_ = raw_weights(e, c, weights.estimand, target, weights.stabilized, extra.get("trim"),
                                extra.get("truncate"))
            reps.append(statistic(idx, c, w))
        except (ModelError, np.linalg.LinAlgError):
            failed += 1
    if failed > n_boot // 10:
        raise ModelError(f"{failed} of {n_boot} bootstrap replicates could not be fitted (an arm too small, a "
                         f"factor level absent, or separation); use se='{instead}'")
    return np.atleast_2d(np.cov(np.asarray(reps), rowvar=False))
