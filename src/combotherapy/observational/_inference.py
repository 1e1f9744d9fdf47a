"""Hand the observational estimators to the shared inference interface (``combotherapy.inference``).

Per-arm mean estimators (weighted means, AIPW, unadjusted) become ``Y ~ 0 + arm`` with the identity as reference
grid; a weighted regression becomes its coefficients with an emmeans-style grid (:data:`GRID_RULE`) built from
the same formula terms. Standard errors are z-based (``df = inf``), as M-estimation gives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..inference import GRID_RULE, Inference, ReferenceGrid
from ..instruments import instrument_for


def arm_means_inference(arms: list[str], mu: np.ndarray, vcov: np.ndarray) -> Inference:
    grid = ReferenceGrid(pd.DataFrame({"arm": arms}), np.eye(len(arms)),
                         "one estimate per arm (no covariates in the grid: the means are already marginal)")
    return Inference(tuple(f"arm{a}" for a in arms), np.asarray(mu, float), np.asarray(vcov, float), np.inf, "z",
                     grid)


def regression_grid(arms: list[str], frame: pd.DataFrame | None = None, spec=None, variables=(), keep=()
                    ) -> np.ndarray:
    """L (K x p) for the design ``1 + arm dummies + covariate terms`` by the package's grid rule (GRID_RULE).

    Numeric variables with two values enter at both values (equal weights), other numeric ones at their mean
    over the analysed subjects, factor levels equally weighted; the covariate terms (``spec``, a
    :class:`~combotherapy.observational._data.FormulaDesign`, columns ``keep``) are evaluated at every
    combination and averaged. The model has no
    arm-by-covariate terms, so every arm shares that covariate row.
    """
    K = len(arms)
    L = np.hstack([np.ones((K, 1)), np.eye(K)[:, 1:]])
    if spec is None:
        return L
    values = {}
    for v in variables:
        x = frame[v]
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            u = np.unique(x.to_numpy(float))
            values[v] = list(u) if u.size == 2 else [float(x.mean())]
        else:
            levels = x.cat.categories if isinstance(x.dtype, pd.CategoricalDtype) else sorted(x.unique())
            values[v] = list(levels)
    combos = pd.MultiIndex.from_product(list(values.values()), names=list(values)).to_frame(index=False)
    for v in variables:
        if v in combos and not pd.api.types.is_numeric_dtype(combos[v]):
            combos[v] = pd.Categorical(combos[v], categories=values[v])
    Z = np.asarray(spec.get_model_matrix(combos), dtype=float)[:, list(keep)]
    return np.hstack([L, np.tile(Z.mean(axis=0), (K, 1))])


def attach(result, inference: Inference, outcome: str) -> None:
    """Set the interface attributes every result carries: inference, instrument, better."""
    result.inference = inference
    inst = instrument_for(outcome)
    result.instrument = inst
    result.better = inst.better if inst is not None else None


__all__ = ["GRID_RULE", "arm_means_inference", "attach", "regression_grid"]
