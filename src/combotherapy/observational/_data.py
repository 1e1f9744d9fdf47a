"""The subject-level analysis frame shared by the observational modules.

Every estimator here works on one row per subject: the treatment actually received, the covariates that may
confound it and (for outcome analyses) one outcome. A :class:`~combotherapy.Trial` is reduced to that frame at a
chosen visit; a DataFrame is used as given. Missing values are never dropped silently: the problem is raised with
the column names and row numbers so the user decides (complete-case subset, imputation, missing-indicator term).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

from ..arms import arm_order
from ..errors import DataError, Problem
from ..inference.grid import formula_names
from ..trial import Trial

__all__ = ["DESIGNS", "FormulaDesign", "check_design", "covariate_names", "design_matrix", "r_names",
           "subject_frame"]

#: functions the observational formulas may call besides patsy's own (C, bs, cr, cc, center, standardize, I, Q)
_ENV = {"np": np, "log": np.log, "exp": np.exp, "sqrt": np.sqrt, "log2": np.log2, "log10": np.log10}


@dataclass
class FormulaDesign:
    """A model matrix built by the package's one formula library (patsy), with its columns in formula order:
    terms sorted by degree, main effects in the order written, as R's ``model.matrix`` lists them (patsy puts
    factor terms first). A spline's columns are numbered from 1 (``bs(x, 3)[1]``), as R numbers them."""

    X: np.ndarray
    column_names: list[str]
    info: patsy.DesignInfo
    order: np.ndarray

    def get_model_matrix(self, data: pd.DataFrame) -> np.ndarray:
        """The same terms (same factor levels, spline knots) evaluated on new rows, e.g. a reference grid."""
        (X,) = patsy.build_design_matrices([self.info], data, NA_action="raise", return_type="matrix")
        return np.asarray(X, dtype=float)[:, self.order]


def design_matrix(rhs: str, frame: pd.DataFrame) -> FormulaDesign:
    """The design of the right-hand side ``rhs`` on ``frame`` (missing values raise, never dropped)."""
    X = patsy.dmatrix(rhs, frame, eval_env=patsy.EvalEnvironment([_ENV]), NA_action="raise",
                      return_type="dataframe")
    info = X.design_info
    written = patsy.ModelDesc.from_formula(rhs).rhs_termlist   # the terms in the order written
    rank = {t: (len(t.factors), i) for i, t in enumerate(written)}
    terms = sorted(info.term_slices, key=lambda t: rank.get(t, (len(t.factors), len(written))))
    order, names = [], []
    for term in terms:
        sl = info.term_slices[term]
        numbered = len(term.factors) == 1 and sl.stop - sl.start > 1 and \
            info.factor_infos[term.factors[0]].type == "numerical"
        for j in range(sl.start, sl.stop):
            order.append(j)
            name = info.column_names[j]
            names.append(re.sub(r"\[(\d+)\]$", lambda m: f"[{int(m.group(1)) + 1}]", name) if numbered else name)
    idx = np.asarray(order, dtype=np.intp)
    return FormulaDesign(X.to_numpy(float)[:, idx], names, info, idx)

#: the designs a result can name; "observational" switches on the confounding warnings
DESIGNS = ("observational", "randomised")


def r_names(names) -> list[str]:
    """Formula-library column names in R's style, as the rest of the package reports coefficients:
    ``Intercept`` -> ``(Intercept)``, ``sex[T.M]`` / ``sex[M]`` -> ``sexM``, ``C(site)[T.b]`` -> ``C(site)b``."""
    return ["(Intercept)" if n == "Intercept" else re.sub(r"\[(?:T\.)?([^\]]*)\]", r"\1", n) for n in names]


def check_design(design: str) -> str:
    if design not in DESIGNS:
        raise DataError(f"design must be one of {list(DESIGNS)}, not {design!r}")
    return design


def covariate_names(covariates: str | Sequence[str]) -> tuple[str, list[str]]:
    """The right-hand side of the propensity formula and the data columns it needs (in formula order)."""
    if isinstance(covariates, str):
        rhs = covariates.split("~", 1)[-1].strip()
    else:
        covariates = list(covariates)
        if not covariates:
            raise DataError("no covariates given: a propensity score needs at least one confounder")
        rhs = " + ".join(covariates)
    if not rhs:
        raise DataError("no covariates given: a propensity score needs at least one confounder")
    try:
        needed = set(formula_names(rhs))
    except patsy.PatsyError as err:
        raise DataError(f"the covariate formula '{rhs}' is not valid formula syntax ({err.message})",
                        kind="formula") from None
    # keep the order in which the names appear in the formula, so tables are stable and readable
    order = sorted(needed, key=lambda v: (rhs.find(v) if rhs.find(v) >= 0 else len(rhs), v))
    return rhs, order


def subject_frame(data: pd.DataFrame | Trial, *, treatment: str, columns: Sequence[str],
                  outcome: str | None = None, visit: float | None = None) -> tuple[pd.DataFrame, list[str]]:
    """One row per subject with the treatment, the needed covariates and the outcome; and the arms in order.

    Parameters
    ----------
    data : DataFrame or Trial
        A DataFrame with one row per subject, or a Trial (reduced to its rows at ``visit``; subject-level
        covariates repeat on every row, so any visit carries them; ``<outcome>_baseline`` in the formula takes
        the visit-0 value of a visit-level outcome, e.g. ``pain_baseline``).
    treatment : str
        Column holding the treatment received.
    columns : sequence of str
        Covariate columns needed by the formula.
    outcome : str, optional
    visit : float, optional
        With a Trial: the visit whose rows are analysed (default: the last visit when an outcome is asked,
        else the baseline).

    Raises
    ------
    DataError
        Missing columns, missing values (every column with its row numbers), fewer than two arms, or an arm
        with fewer than two subjects.
    """
    if isinstance(data, Trial):
        if visit is None:
            visit = data.visits[-1] if outcome is not None else data.visits[0]
        frame = data.at(visit).reset_index(drop=True)
        # baseline values of visit-level outcomes are confounders too: offer them as <outcome>_baseline
        wanted_base = [c for c in columns if c.endswith("_baseline") and c[:-9] in data.visit_outcomes
                       and c not in frame.columns]
        for c in wanted_base:
            frame[c] = frame["subject"].map(data.baseline(c[:-9]))
    elif isinstance(data, pd.DataFrame):
        frame = data.reset_index(drop=True)
    else:
        raise DataError(f"expected a DataFrame (one row per subject) or a ct.Trial, not {type(data).__name__}")
    wanted = [treatment, *columns] + ([outcome] if outcome is not None else [])
    absent = [c for c in dict.fromkeys(wanted) if c not in frame.columns]
    if absent:
        raise DataError(f"column(s) {absent} not found; available: {list(frame.columns)}")
    problems = []
    for col in dict.fromkeys(wanted):
        rows = np.flatnonzero(frame[col].isna().to_numpy())
        if rows.size:
            problems.append(Problem(col, "missing values; propensity methods need every covariate, the "
                                         "treatment and the outcome for every subject. Choose a complete-case "
                                         "subset or impute before weighting (no row is dropped silently)",
                                    tuple(int(r) for r in rows)))
    if outcome is not None and outcome in frame.columns and not pd.api.types.is_numeric_dtype(frame[outcome]):
        problems.append(Problem(outcome, "the outcome must be numeric (a 0/1 column for a binary outcome)"))
    if problems:
        raise DataError(problems=problems)
    arm = frame[treatment]
    if isinstance(arm.dtype, pd.CategoricalDtype):
        present = set(arm.astype(str))
        arms = [str(a) for a in arm.cat.categories if str(a) in present]
    else:
        arms = arm_order(sorted(arm.astype(str).unique()))
    frame = frame.assign(**{treatment: pd.Categorical(arm.astype(str), categories=arms)})
    counts = frame[treatment].value_counts()
    small = [a for a in arms if counts[a] < 2]
    if len(arms) < 2 or small:
        raise DataError(f"column '{treatment}': propensity methods need at least two arms with two or more "
                        f"subjects each; found arms {arms} with counts {counts.reindex(arms).tolist()}")
    return frame, arms
