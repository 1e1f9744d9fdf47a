"""Table 1, input: option checks, the variables to describe and the one-row-per-subject baseline frame."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..analysis_set import subject_index, subject_level_columns
from ..errors import DataError, ProblemCollector
from ..trial import KEY_COLUMNS, Trial

#: display labels of the canonical covariates (instruments carry their own label and units)
COVARIATE_LABELS = {"age": "Age (years)", "sex": "Sex", "pain_duration": "Pain duration (months)", "site": "Site"}


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def _names(arg: str | Iterable[str] | None, what: str) -> list[str]:
    if arg is None:
        return []
    if isinstance(arg, str):
        return [arg]
    try:
        out = list(arg)
    except TypeError:
        raise DataError(f"{what} must be a column name or a list of column names, "
                        f"not {type(arg).__name__}") from None
    bad = [x for x in out if not isinstance(x, str)]
    if bad:
        raise DataError(f"{what} must hold column names (strings); got {bad[:5]}")
    return list(dict.fromkeys(out))


def _check_options(trial, alpha, suppress_below, skew_threshold, reference, digits) -> None:
    if not isinstance(trial, Trial):
        raise DataError(f"table_one needs a ct.Trial (from ct.load or ct.simulate_trial), not "
                        f"{type(trial).__name__}")
    check_options_for_arms(trial.arms, alpha, suppress_below, skew_threshold, reference, digits)


def check_options_for_arms(arms: Sequence[str], alpha, suppress_below, skew_threshold, reference, digits) -> None:
    """The option checks of :func:`combotherapy.table_one` against an arm list (the out-of-core path shares it)."""
    arms = list(arms)
    problems = []
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        problems.append(f"alpha must be a number between 0 and 1 (0.05 gives 95% intervals), not {alpha!r}")
    if suppress_below is not None and not (isinstance(suppress_below, int | np.integer) and
                                           not isinstance(suppress_below, bool) and suppress_below >= 2):
        problems.append(f"suppress_below must be None or a whole number >= 2 (e.g. 11), not {suppress_below!r}")
    if skew_threshold is not None and not (isinstance(skew_threshold, int | float) and skew_threshold > 0):
        problems.append(f"skew_threshold must be None or a positive number, not {skew_threshold!r}")
    if digits is not None and not (isinstance(digits, int) and 0 <= digits <= 6):
        problems.append(f"digits must be None (automatic) or a whole number 0-6, not {digits!r}")
    if reference is not None and reference not in arms:
        problems.append(f"reference arm {reference!r} is not an arm of this trial; its arms are {arms}")
    if problems:
        raise DataError("table_one: " + "; ".join(problems))


def _unknown(name: str, available: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(available), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    return f"not a column of this trial; {hint}columns available: {list(available)}"


def _select(trial: Trial, covariates, continuous, categorical, nonnormal) -> tuple[list[str], list[str]]:
    """The variables to describe, in order, and notes about defaults."""
    notes: list[str] = []
    if isinstance(trial, Trial):
        idx = subject_index(trial)
        available = [c for c in idx.data.columns if c not in KEY_COLUMNS]
        has_baseline = bool((idx.visit == 0).any())
    else:  # the out-of-core path's row-less stand-in (combotherapy.scale.table_one._Schema): facts from aggregates
        available = [c for c in trial.data.columns if c not in KEY_COLUMNS]
        has_baseline = bool((trial.data["visit"] == 0).any())
    if covariates is None:
        # subject-level outcomes (recovery, adverse events, sessions) happen after randomisation
        chosen = list(trial.covariates)
        if has_baseline:
            chosen += list(trial.visit_outcomes)
        elif trial.visit_outcomes:
            notes.append("The trial has no visit-0 rows, so no baseline outcomes are shown.")
    else:
        chosen = _names(covariates, "covariates")
    found = ProblemCollector()
    # subject-level (constant within every subject) matters only without baseline rows
    if has_baseline:
        subject_level: set[str] = set()
    elif isinstance(trial, Trial):
        subject_level = set(subject_level_columns(trial, [c for c in chosen if c in available]))
    else:
        subject_level = set(trial.subject_columns)
    for name in chosen:
        if name in KEY_COLUMNS:
            found.add(name, f"'{name}' is a key column (subject, arm, visit), not a baseline characteristic")
        elif name not in available:
            found.add(name, _unknown(name, available))
        elif name not in subject_level and not has_baseline:
            found.add(name, "varies by visit, and the trial has no visit-0 (baseline) rows to take it from")
    cont, cat, nonn = (_names(x, w) for x, w in ((continuous, "continuous"), (categorical, "categorical"),
                                                 (nonnormal, "nonnormal")))
    for what, names in (("continuous", cont), ("categorical", cat), ("nonnormal", nonn)):
        for name in names:
            if name not in chosen:
                found.add(name, f"named in {what}= but not among the variables described "
                                f"{chosen}" + ("" if name in available else "; " + _unknown(name, available)))
    for name in sorted(set(cat) & (set(cont) | set(nonn))):
        found.add(name, "named as categorical and as continuous/nonnormal; name it in one only")
    found.raise_if_any(message="table_one cannot describe these variables:")
    if not chosen:
        raise DataError("table_one: there is nothing to describe: the trial has no covariates and no baseline "
                        "outcomes; name variables with covariates=[...]")
    return chosen, notes


def _baseline_frame(trial: Trial, names: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """One row per randomised subject: subject, arm and each variable (visit-0 value if visit-level)."""
    idx = subject_index(trial)  # row positions per subject: every column is taken by position
    subject_level = set(subject_level_columns(trial, names))
    frame = idx.arm.reset_index()
    source = {n: "subject" if n in subject_level else "baseline" for n in names}
    at_zero = idx.first_row_at(0.0) if "baseline" in source.values() else None  # first visit-0 row
    for n in names:  # keep the dtype: declared categories (and their order) matter
        values = idx.first(n) if source[n] == "subject" else idx.take(n, at_zero)
        frame[n] = values.set_axis(frame.index)
    return frame, source


def _label(trial: Trial, name: str, labels: Mapping[str, str]) -> str:
    if name in labels:
        return labels[name]
    inst = trial.instruments.get(name)
    if inst is not None:
        text = inst.label or name
        # "EQ-5D index (index)" says nothing more than "EQ-5D index"
        return text if not inst.units or inst.units.lower() in text.lower() else f"{text} ({inst.units})"
    return COVARIATE_LABELS.get(name, name)


