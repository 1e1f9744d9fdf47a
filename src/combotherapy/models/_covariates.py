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

from ..analysis_set import subject_index
from ..errors import DataError
from ..inference import ReferenceGrid, formula_variables, model_matrix, reference_grid
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
        reason = np.full(len(subjects), "", dtype=object)
        for c in self.names[::-1]:  # the first missing covariate names the reason
            reason = np.where(v[c].isna().to_numpy(), f"{what} '{c}' missing", reason)
        return reason


def subject_covariates(trial: Trial, covariates: Sequence[str] | str | None, *,
                       reserved: Sequence[str] = ()) -> Covariates:
    """Check covariate terms and take one value per subject of each variable (baseline value for visit-level
    columns).

    Raises
    ------
    DataError
        A term that is not valid formula syntax or names something that is not a column, a variable that is part
        of the design (subject, arm, visit or the analysed outcome), or one with no value for any subject.
    """
    if isinstance(covariates, str):  # covariates="age" means one term, not 'a', 'g', 'e'
        covariates = [covariates]
    terms = list(dict.fromkeys(covariates or ()))
    data = trial.data
    names = formula_variables(terms, data.columns) if terms else []
    taken = [c for c in names if c in ("subject", "arm", "visit", *reserved)]
    if taken:
        raise DataError(f"{taken} cannot be covariates: subject, arm and visit are part of the design, and the "
                        "outcome (and its baseline) enter the model already", kind="reserved column",
                        column=taken[0])
    idx = subject_index(trial)  # row positions per subject, shared by every model of this trial
    values = pd.DataFrame(index=idx.subjects)
    notes = []
    subject_level = set(trial.subject_columns) if names else set()
    for c in names:
        if c in subject_level:
            values[c] = idx.first(c)
        else:
            values[c] = idx.take(c, idx.first_row_at(0.0))  # first week-0 row
            notes.append(f"Covariate '{c}' varies between visits; its baseline (week 0) value was used.")
    empty = [c for c in names if values[c].isna().all()]
    if empty:
        raise DataError(f"covariate(s) {empty} have no value for any subject (at baseline for a covariate that "
                        "varies between visits); drop them from covariates", kind="empty column", column=empty[0])
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
    frame = frame.assign(arm=frame["arm"].astype(str))
    spec = model_matrix(frame, list(arms), list(fixed), cov.terms)
    grid = reference_grid(spec, frame)
    X, names, L = spec.X, list(spec.names), grid.L
    if not intercept:
        X, names, L = X[:, 1:], names[1:], L[:, 1:]
        grid = ReferenceGrid(grid.frame, L, grid.rule)
    return Design(X, names, grid, spec.formula)
