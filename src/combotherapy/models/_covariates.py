"""Covariates for the secondary models (counts, survival, responders, adherence, safety): one value per subject,
the subjects without one, and the design with the emmeans-style reference grid.

Covariates are formula terms (``"age"``, ``"C(site)"``, ``"age*sex"``, ``"ns(age, df=3)"``); the design and the
grid come from the one builder, :func:`combotherapy.inference.model_matrix` and
:func:`combotherapy.inference.reference_grid` (patsy), so these models follow the same reference-grid rule as
ANCOVA and MMRM (:data:`combotherapy.inference.GRID_RULE`). A column that varies between visits enters with its
baseline (week 0) value, a subject-level column with the subject's value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis_set import covariate_values, first_reason
from ..inference import ReferenceGrid, model_matrix, reference_grid
from ..trial import Trial

__all__ = ["Covariates", "Design", "subject_covariates", "arm_design"]


@dataclass
class Covariates:
    """Covariate values per subject (index: subject), the formula terms and the columns behind them."""

    values: pd.DataFrame       # one column per variable, index subject
    names: list[str]           # the variables (data columns) the terms use
    terms: list[str]           # the formula terms as given
    notes: list[str]

    def reasons(self, subjects: pd.Series, what: str = "covariate") -> np.ndarray:
        """Exclusion reason per subject ("" when every covariate is present), in the order of ``subjects``."""
        v = self.values.reindex(subjects.to_numpy())
        return first_reason([(v[c].isna().to_numpy(), f"{what} '{c}' missing") for c in self.names], len(subjects))


def subject_covariates(trial: Trial, covariates: Sequence[str] | str | None, *,
                       reserved: Sequence[str] = ()) -> Covariates:
    """Check covariate terms and take one value per subject of each variable (baseline value for visit-level
    columns), by the analysis-set rule (:func:`combotherapy.analysis_set.covariate_values`).

    Raises
    ------
    DataError
        A term that is not valid formula syntax or names something that is not a column, a variable that is part
        of the design (subject, arm, visit or the analysed outcome), or one with no value for any subject.
    """
    terms, names, values, notes = covariate_values(trial, covariates, reserved=reserved)
    return Covariates(values, names, terms, notes)


@dataclass
class Design:
    """A model matrix with R-style column names and the arm reference grid (rows of ``grid.L`` on ``X``'s
    columns)."""

    X: np.ndarray
    names: list[str]
    grid: ReferenceGrid
    formula: str

    @property
    def L(self) -> np.ndarray:
        return self.grid.L


def arm_design(frame: pd.DataFrame, arms: Sequence[str], cov: Covariates, fixed: Sequence[str] = (),
               *, intercept: bool = True) -> Design:
    """Design ``1 + arm + fixed + covariate terms`` on ``frame`` (which holds the covariate columns) and its grid.

    With ``intercept=False`` (Cox models) the intercept column and its grid entry are dropped: the grid's values
    are then log relative hazards against the grid mean, and their differences the log hazard ratios.
    """
    if not isinstance(frame["arm"].dtype, pd.CategoricalDtype):   # a categorical arm is recoded by its categories
        frame = frame.assign(arm=frame["arm"].astype(str))
    spec = model_matrix(frame, list(arms), list(fixed), cov.terms)
    grid = reference_grid(spec, frame)
    X, names, L = spec.X, list(spec.names), grid.L
    if not intercept:
        X, names, L = X[:, 1:], names[1:], L[:, 1:]
        grid = ReferenceGrid(grid.frame, L, grid.rule)
    return Design(X, names, grid, spec.formula)
