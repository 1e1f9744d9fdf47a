"""Covariates for the secondary models (counts, survival, responders, adherence): one value per subject, the
subjects without one, and the design columns with the emmeans-style reference grid.

A covariate that varies between visits enters with its baseline (week 0) value, a subject-level column with the
subject's value. The design columns and grid come from :func:`combotherapy.models._design.build_design`, so
these models follow the same reference-grid rule as ANCOVA (numeric covariates at their mean over the analysed
subjects, two-valued numeric covariates averaged over the two values, factor levels equally weighted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from ..trial import Trial
from ._design import build_design, is_factor

__all__ = ["Covariates", "subject_covariates", "arm_design"]


@dataclass
class Covariates:
    """Covariate values per subject (index: subject) and how each enters the model."""

    values: pd.DataFrame       # one column per covariate, index subject
    names: list[str]
    notes: list[str]

    def reasons(self, subjects: pd.Series, what: str = "covariate") -> np.ndarray:
        """Exclusion reason per subject ("" when every covariate is present), in the order of ``subjects``."""
        v = self.values.reindex(subjects.to_numpy())
        reason = np.full(len(subjects), "", dtype=object)
        for c in self.names[::-1]:  # the first missing covariate names the reason
            reason = np.where(v[c].isna().to_numpy(), f"{what} '{c}' missing", reason)
        return reason

    def split(self, analysed: pd.DataFrame) -> tuple[list[str], list[str]]:
        """(numeric, factor) covariates, judged on the analysed rows as R's model.frame would."""
        factors = [c for c in self.names if is_factor(analysed[c])]
        return [c for c in self.names if c not in factors], factors


def subject_covariates(trial: Trial, covariates: Sequence[str] | str | None, *,
                       reserved: Sequence[str] = ()) -> Covariates:
    """Check covariate names and take one value per subject (baseline value for visit-level columns).

    Raises
    ------
    DataError
        A covariate that is not a column of the trial, is part of the design (subject, arm, visit or the
        analysed outcome), or has no value for any subject.
    """
    if isinstance(covariates, str):  # covariates="age" means one covariate, not 'a', 'g', 'e'
        covariates = [covariates]
    names = list(dict.fromkeys(covariates or ()))
    data = trial.data
    unknown = [c for c in names if c not in data.columns]
    taken = [c for c in names if c in ("subject", "arm", "visit", *reserved)]
    msg = []
    if unknown:
        msg.append(f"covariate(s) {unknown} are not columns of this trial (its covariates are {trial.covariates})")
    if taken:
        msg.append(f"{taken} cannot be covariates: subject, arm and visit are part of the design, and the outcome "
                   "(and its baseline) enter the model already")
    if msg:
        raise DataError("; ".join(msg))
    subjects = pd.unique(data["subject"])
    values = pd.DataFrame(index=pd.Index(subjects, name="subject"))
    notes = []
    subject_level = set(trial.subject_columns)
    for c in names:
        if c in subject_level:
            values[c] = data.groupby("subject", sort=False)[c].first().reindex(values.index)
        else:
            values[c] = data.loc[data["visit"] == 0.0].drop_duplicates("subject").set_index("subject")[c] \
                .reindex(values.index)
            notes.append(f"Covariate '{c}' varies between visits; its baseline (week 0) value was used.")
    empty = [c for c in names if values[c].isna().all()]
    if empty:
        raise DataError(f"covariate(s) {empty} have no value for any subject (at baseline for a covariate that "
                        "varies between visits); drop them from covariates")
    return Covariates(values, names, notes)


def arm_design(frame: pd.DataFrame, arms: Sequence[str], cov: Covariates, numeric_first: Sequence[str] = (),
               *, intercept: bool = True):
    """Design ``[1] + arm + numeric_first + covariates`` on ``frame`` (which holds the covariate columns).

    Returns the :class:`~combotherapy.models._design.Design`; with ``intercept=False`` (Cox models) the
    intercept column and its grid entry are dropped.
    """
    numeric, factors = cov.split(frame)
    design = build_design(frame, arms, list(numeric_first) + numeric, factors)
    if not intercept:
        design.X, design.L = design.X[:, 1:], design.L[:, 1:]
        design.names, design.terms = design.names[1:], design.terms[1:]
    return design
