"""The one analysis-set builder: a ``Trial`` plus outcome, visit, baseline, covariates and a missing-data rule ->
one row per analysed subject, and the excluded subjects with their reasons.

Every model that compares arms starts here, so "who was analysed, and why not the others" has one answer and one
wording; :func:`change` is the one rule for change from baseline (absolute, or relative to a non-zero baseline).

Example
-------
>>> import combotherapy as ct
>>> trial = ct.simulate_trial(n_per_arm=20, seed=3)
>>> s = analysis_set(trial, "pain", 12, covariates=["age", "C(site)"], missing="exclude")
>>> list(s.frame.columns)
['subject', 'arm', 'value', 'baseline', 'age', 'site']
>>> list(s.excluded.columns)
['subject', 'arm', 'reason']
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .arguments import check_choice
from .errors import MAX_ROWS_SHOWN, DataError, ModelError, ProblemCollector
from .inference.grid import formula_variables
from .instruments import Instrument
from .trial import KEY_COLUMNS, Trial

__all__ = ["AnalysisSet", "analysis_set", "arm_present", "change", "check_counts", "covariate_values", "exclusions",
           "list_subjects", "MISSING", "numeric_columns", "SubjectIndex", "subject_frame", "subject_index",
           "subject_level_columns"]

#: the missing-data rule for a subject without a value needed by the model
MISSING = ("error", "exclude")


def list_subjects(ids: Sequence) -> str:
    """Subject codes for a message, each once in order of appearance: the first five (``errors.MAX_ROWS_SHOWN``,
    as a problem lists its rows), then "and N more"."""
    codes = list(dict.fromkeys(str(i) for i in ids))
    more = f" and {len(codes) - MAX_ROWS_SHOWN} more" if len(codes) > MAX_ROWS_SHOWN else ""
    return ", ".join(codes[:MAX_ROWS_SHOWN]) + more


def change(value, baseline, *, relative: bool = False):
    """The one change-from-baseline rule: ``value - baseline``; with ``relative`` a fraction of the baseline
    (0.3 = 30%), NaN where the baseline is 0 (no relative change from nothing)."""
    diff = value - baseline
    if not relative:
        return diff
    base = baseline.where(baseline != 0) if isinstance(baseline, pd.Series) else np.where(baseline != 0, baseline,
                                                                                          np.nan)
    return diff / base


class SubjectIndex:
    """Where each subject's rows are in one trial's long frame: computed once per :class:`Trial` and shared.

    Every model turns the long frame (one row per subject and visit) into one row per subject; with this index
    that is array indexing (``take`` by row position) instead of a grouped or label-based lookup per call.

    Attributes
    ----------
    subjects : Index
        Subject codes in order of first appearance (the order of ``trial.data.drop_duplicates("subject")``).
    codes : ndarray of int
        For every row of ``trial.data``, the position of its subject in ``subjects``.
    first_row : ndarray of int
        The row of each subject's first appearance.
    arm : Series
        Each subject's arm (the categorical of ``trial.data["arm"]``), indexed by subject.

    Notes
    -----
    Built once per trial (a trial never changes: :class:`combotherapy.trial.Trial` is immutable) with one
    ``factorize`` of the subject column and one stable sort of its codes; every lookup afterwards is O(rows)
    numpy. Use :func:`subject_index` to get the shared instance of a trial.

    Example
    -------
    >>> import combotherapy as ct
    >>> from combotherapy.analysis_set import subject_index
    >>> idx = subject_index(ct.simulate_trial(n_per_arm=5, seed=1))
    >>> idx.at_visit("pain", 12).index.name, len(idx.subjects)
    ('subject', 15)
    """

    def __init__(self, data: pd.DataFrame, groups=None):
        self.data = data
        self._order: np.ndarray | None = None
        if groups is not None and groups.order is None and len(groups.code) == len(data):
            # the Trial's grouping (each subject's rows contiguous, subjects in order of first appearance): the
            # same codes, subjects and first rows as factorize gives, and the rows are already in subject order
            self.codes = groups.code
            self.subjects = pd.Index(data["subject"].array.take(groups.starts), name="subject")
            self.first_row = groups.starts
            self._order, self._starts = np.arange(len(data)), groups.starts
        else:
            codes, uniques = pd.factorize(data["subject"], use_na_sentinel=True)
            self.codes = np.asarray(codes, dtype=np.intp)
            self.subjects = pd.Index(uniques, name="subject")
            n_rows = len(self.codes)
            # codes number subjects in order of first appearance: a subject's first row raises the running maximum
            new = np.ones(n_rows, dtype=bool)
            if n_rows:
                running = np.maximum.accumulate(self.codes)
                new[1:] = running[1:] > running[:-1]
            self.first_row = np.flatnonzero(new)
        self.arm = pd.Series(data["arm"].array.take(self.first_row), index=self.subjects, name="arm")
        self.visit = data["visit"].to_numpy(dtype=float)
        self._at: dict[float, np.ndarray] = {}

    @property
    def n(self) -> int:
        return len(self.subjects)

    def _sorted(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows ordered by subject (stable: within a subject in frame order) and where each subject starts."""
        if self._order is None:
            self._order = np.argsort(self.codes, kind="stable")
            self._starts = np.searchsorted(self.codes[self._order], np.arange(self.n))
        return self._order, self._starts

    def rows_at(self, visit: float) -> np.ndarray:
        """Each subject's row at ``visit`` (-1 when the subject has none); DataError when a subject has two."""
        v = float(visit)
        if v not in self._at:
            rows = np.flatnonzero(self.visit == v)
            counts = np.bincount(self.codes[rows], minlength=self.n)
            if (counts > 1).any():
                raise DataError(f"subjects {list_subjects(self.subjects[counts > 1])} have more than one row at week "
                                f"{v:g}; a trial has one row per subject and visit: check the data with ct.load",
                                kind="duplicate rows")
            pos = np.full(self.n, -1, dtype=np.intp)
            pos[self.codes[rows]] = rows
            self._at[v] = pos
        return self._at[v]

    def _column(self, column: str | pd.Series) -> pd.Series:
        return self.data[column] if isinstance(column, str) else column

    def first_row_at(self, visit: float) -> np.ndarray:
        """Each subject's first row at ``visit`` (-1 when none); unlike :meth:`rows_at`, a second row there is
        not an error (as ``drop_duplicates("subject")`` on the visit's rows)."""
        rows = np.flatnonzero(self.visit == float(visit))   # ascending: the smallest row of each subject wins
        first = np.full(self.n, len(self.codes), dtype=np.intp)
        np.minimum.at(first, self.codes[rows], rows)
        first[first == len(self.codes)] = -1
        return first

    def constant(self, column: str) -> bool:
        """Does ``column`` take at most one distinct non-missing value within every subject (a subject-level
        column, the rule of ``Trial.subject_columns``)?"""
        values = self.data[column]
        if values.dtype.kind in "biuf":
            x = values.to_numpy(dtype=float, na_value=np.nan)
        else:  # text, categories, dates: compare their codes (missing -> NaN)
            codes, _ = pd.factorize(values, use_na_sentinel=True)
            x = np.where(codes < 0, np.nan, codes.astype(float))
        return not self.varies(x).any()

    def first_valid(self, column: str | pd.Series) -> np.ndarray:
        """Each subject's first row with a non-missing ``column`` (-1 when every value is missing); ``column`` is
        a column name or a Series with one value per row of ``trial.data``."""
        order, starts = self._sorted()
        n_rows = len(order)
        if not self.n:
            return np.empty(0, dtype=np.intp)
        ok = self._column(column).notna().to_numpy()[order]
        first = np.minimum.reduceat(np.where(ok, np.arange(n_rows), n_rows), starts)
        ends = np.append(starts[1:], n_rows)
        return np.where(first < ends, order[np.minimum(first, n_rows - 1)], -1)

    def take(self, column: str | pd.Series, rows: np.ndarray) -> pd.Series:
        """``column`` at ``rows`` (one per subject, -1 giving a missing value), indexed by subject; the dtype
        follows ``reindex`` (whole numbers become floats when a value is missing)."""
        series = self._column(column)
        if series.dtype == np.dtype("float64") and len(series):   # the same values as reindex, by a numpy take
            values = series.to_numpy()[np.where(rows >= 0, rows, 0)]
            values[rows < 0] = np.nan
            return pd.Series(values, index=self.subjects, name=series.name)
        values = series.reset_index(drop=True).reindex(rows)
        return values.set_axis(self.subjects)

    def at_visit(self, column: str | pd.Series, visit: float) -> pd.Series:
        """Each subject's value of ``column`` at ``visit`` (missing when there is no row)."""
        return self.take(column, self.rows_at(visit))

    def first(self, column: str | pd.Series) -> pd.Series:
        """Each subject's first non-missing value of ``column`` (as ``groupby("subject").first()``)."""
        return self.take(column, self.first_valid(column))

    def varies(self, values: np.ndarray) -> np.ndarray:
        """Per row: does the row's subject take two different non-missing ``values`` (floats, one per row)?"""
        order, starts = self._sorted()
        if not self.n:
            return np.zeros(0, dtype=bool)
        x = np.asarray(values, dtype=float)[order]
        with np.errstate(invalid="ignore"):
            spread = np.fmax.reduceat(x, starts) > np.fmin.reduceat(x, starts)  # NaN (all missing) -> False
        return spread[self.codes]


_INDEXES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def subject_level_columns(trial: Trial, names: Sequence[str]) -> list[str]:
    """The columns among ``names`` that are in ``trial.subject_columns`` (same rule), checked for these columns
    only: a Table 1 or a model needs to know it for a handful of columns, not for every column of the trial."""
    idx = subject_index(trial)
    out = []
    for c in names:
        if c in KEY_COLUMNS or c not in idx.data.columns:
            continue
        inst = trial.instruments.get(c)
        if (inst is None or inst.level == "subject") and idx.constant(c):
            out.append(c)
    return out


def subject_index(trial: Trial) -> SubjectIndex:
    """The :class:`SubjectIndex` of ``trial``, built on first use and kept as long as the trial lives."""
    idx = _INDEXES.get(trial)
    if idx is None:
        # the Trial's cached grouping of its rows by subject (neighbouring identifiers compared, none hashed)
        groups = trial._groups if isinstance(trial, Trial) and not trial._frame.empty else None
        # (the Trial's own frame, read and never written: no per-trial copy of the frame object)
        idx = _INDEXES[trial] = SubjectIndex(trial._frame if isinstance(trial, Trial) else trial.data, groups)
    return idx


# ----------------------------------------------------------------------------------------------
# the pieces every analysis set is made of (one row per subject, checked, with reasons for exclusion)
# ----------------------------------------------------------------------------------------------
def check_trial(trial, what: str = "this analysis") -> None:
    """A ``Trial`` in memory, or a DataError naming the routes for out-of-core data (never a silent subsample)."""
    if type(trial).__name__ == "LazyTrial":
        from .scale.lazy import needs_rows
        needs_rows(trial, what)
    if not isinstance(trial, Trial):
        raise DataError(f"expected a ct.Trial (from ct.load), got {type(trial).__name__}")


def numeric_columns(problems: ProblemCollector, data: pd.DataFrame, columns: Sequence[str]) -> dict[str, pd.Series]:
    """``columns`` of ``data`` as numbers (missing stays missing); a recorded cell that is not a number is a
    problem located by row and subject."""
    out = {}
    for c in columns:
        raw = data[c]
        num = pd.to_numeric(raw, errors="coerce")
        if not pd.api.types.is_numeric_dtype(raw.dtype):  # numbers already: to_numeric made no value missing
            bad = (raw.notna() & num.isna()).to_numpy()
            if bad.any():
                problems.add_for_subjects(data["subject"].array, c, "is not a number", np.flatnonzero(bad))
        out[c] = num
    return out


def check_counts(problems: ProblemCollector, subjects, column: str, values: np.ndarray, rows: np.ndarray) -> None:
    """Whole-number counts >= 0: ``values`` (floats, missing = NaN) at ``rows`` (positions in ``trial.data``,
    whose subject codes are ``subjects``); each kind of bad value is one problem."""
    v = np.asarray(values, dtype=float)
    ok = ~np.isnan(v)
    fin = ok & np.isfinite(v)
    for bad, message in ((ok & ~np.isfinite(v), "is infinite; expected a whole-number count"),
                         (fin & (v < 0), "is negative; counts must be whole numbers >= 0"),
                         (fin & (v != np.round(v)), "is not a whole number; expected a whole-number count (check "
                                                    "for averaged or imputed values)")):
        if bad.any():
            problems.add_for_subjects(subjects, column, message, rows[bad])


def subject_frame(trial: Trial, columns: Sequence[str], *, counts: Sequence[str] = (), what: str = "") -> pd.DataFrame:
    """One row per subject (``subject, arm`` and ``columns``) of subject-level columns, checking the data.

    Raises one :class:`DataError` listing every problem: a column that is missing, not numeric, not constant
    within a subject, or (for ``counts``) negative, infinite or not a whole number. Missing values stay NaN.
    """
    values = subject_arrays(trial, columns, counts=counts, what=what)
    idx = subject_index(trial)
    # first non-missing value per subject (text was refused above: a recorded cell is a number)
    out = pd.DataFrame({"arm": idx.arm.astype(str),
                        **{c: pd.Series(values[c], index=idx.subjects, name=c) for c in columns}})
    return out.reset_index()


def subject_arrays(trial: Trial, columns: Sequence[str], *, counts: Sequence[str] = (), what: str = ""
                   ) -> dict[str, np.ndarray]:
    """:func:`subject_frame`'s values without the frame: per column, each subject's first non-missing value
    (floats, NaN when none) in the order of ``subject_index(trial).subjects``, after the same checks (one
    :class:`DataError` listing every problem)."""
    check_trial(trial, "this analysis")
    data = trial.data
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(f"column(s) {missing} are not in this trial{what}; its columns are {list(data.columns)}. "
                        "Rename the source columns when loading (ct.load(..., columns={...})).")
    problems = ProblemCollector()
    num = {c: v.astype(float) for c, v in numeric_columns(problems, data, columns).items()}
    everywhere = np.arange(len(data))
    for c in counts:
        check_counts(problems, data["subject"].array, c, num[c].to_numpy(), everywhere)
    idx = subject_index(trial)
    grouped = bool(len(idx.codes)) and bool((idx.codes[1:] >= idx.codes[:-1]).all())
    out = {}
    for c in columns:
        x = num[c].to_numpy()
        if grouped:   # each subject's rows contiguous, subjects in order: first valid rows by one pass
            rows = np.flatnonzero(~np.isnan(x))
            code = idx.codes[rows]
            start = np.ones(len(rows), dtype=bool)
            start[1:] = code[1:] != code[:-1]
            value = np.full(idx.n, np.nan)
            value[code[start]] = x[rows[start]]
            # a subject takes two values iff one of its recorded values differs from its first (fmax > fmin)
            differs = x[rows] != value[code]
            varies = np.zeros(idx.n, dtype=bool)
            varies[code[differs]] = True
            varies = varies[idx.codes]
        else:
            varies, value = idx.varies(x), idx.first(num[c]).to_numpy()
        if varies.any():
            problems.add_for_subjects(data["subject"].array, c, "takes different values within a subject; it is a "
                                      "subject-level column (one value per subject, repeated on each row)",
                                      np.flatnonzero(varies))
        out[c] = value
    problems.raise_if_any()
    return out


def covariate_values(trial: Trial, covariates: Sequence[str] | str | None, *, reserved: Sequence[str] = ()
                     ) -> tuple[list[str], list[str], pd.DataFrame, list[str]]:
    """Covariate formula terms -> ``(terms, variables, values, notes)``: the data columns behind the terms, and
    one value per subject of each (index: subject, in order of first appearance).

    A subject-level column gives the subject's value; a column that varies between visits its baseline (week 0)
    value, with a note saying so.

    Raises
    ------
    DataError
        A term that is not valid formula syntax or names something that is not a column, a variable that is part
        of the design (subject, arm, visit, or one of ``reserved``: the outcome and its baseline), or one with
        no value for any subject.
    """
    if isinstance(covariates, str):  # covariates="age" means one term, not 'a', 'g', 'e'
        covariates = [covariates]
    terms = list(dict.fromkeys(covariates or ()))
    names = formula_variables(terms, list(trial.data.columns)) if terms else []
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
            values[c] = idx.at_visit(c, 0.0)
            notes.append(f"Covariate '{c}' varies between visits; its baseline (week 0) value was used.")
    empty = [c for c in names if values[c].isna().all()]
    if empty:  # otherwise every subject would be excluded and the message would blame the arms
        raise DataError(f"covariate(s) {empty} have no value for any subject (at baseline for a covariate that "
                        "varies between visits); drop them from covariates", kind="empty column", column=empty[0])
    return terms, names, values, notes


def first_reason(conditions: Sequence[tuple[np.ndarray, str]], n: int, default=None) -> np.ndarray:
    """Per subject, the first reason whose condition holds, else ``default`` (per subject; "" = analysed)."""
    reason = np.full(n, "", dtype=object) if default is None else np.asarray(default, dtype=object)
    for mask, why in reversed(conditions):
        reason = np.where(np.asarray(mask, dtype=bool), why, reason)
    return reason


def exclusions(frame: pd.DataFrame, reason: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split one row per subject (columns ``subject, arm``) by ``reason`` ("" = analysed): the analysed rows
    (index reset) and the excluded subjects ``subject, arm, reason`` as text, the one form every result keeps."""
    reason = np.asarray(reason, dtype=object)
    out = reason != ""
    rows = np.flatnonzero(out)   # only the excluded subjects' codes and arms are converted to text
    excluded = pd.DataFrame({"subject": frame["subject"].take(rows).to_numpy().astype(str),
                             "arm": frame["arm"].take(rows).to_numpy().astype(str),
                             "reason": reason[rows].astype(str)})
    if not rows.size:   # nothing excluded: the same frame (index reset), without copying every row
        return frame.reset_index(drop=True), excluded
    return frame.loc[~out].reset_index(drop=True), excluded


@dataclass(frozen=True)
class AnalysisSet:
    """Who is analysed, with what.

    Attributes
    ----------
    frame : DataFrame
        One row per analysed subject: ``subject, arm, value`` (the outcome at ``visit``, or the subject-level
        outcome), ``baseline`` (when used), then the columns the covariate terms use.
    excluded : DataFrame
        ``subject, arm, reason``: every randomised subject not in ``frame``.
    arms : list of str
        Canonical names of the arms analysed, in display order.
    instrument : Instrument
    visit : float or None
        The visit (weeks), None for a subject-level outcome.
    covariates : list of str
        The covariate terms as given; ``variables`` the data columns behind them.
    notes : list of str
    """

    frame: pd.DataFrame
    excluded: pd.DataFrame
    arms: list[str]
    instrument: Instrument
    visit: float | None
    covariates: list[str]
    variables: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def n_per_arm(self) -> dict[str, int]:
        fast = _category_counts(self.frame["arm"])   # by category: no text copy of every subject's arm
        if fast is not None:
            return {a: fast.get(a, 0) for a in self.arms}
        n = self.frame["arm"].value_counts()
        n.index = n.index.astype(str)
        n = n.reindex(self.arms, fill_value=0)
        return {a: int(k) for a, k in n.items()}


def analysis_set(trial: Trial, outcome: str, visit: float | None = None, *, baseline: bool = True,
                 covariates: Sequence[str] = (), missing: str = "error", positive: bool = False,
                 min_per_arm: int = 2) -> AnalysisSet:
    """Assemble the analysis set of one outcome (at one visit, or per subject) and record every exclusion.

    Parameters
    ----------
    trial : Trial
    outcome : str
        A registered or declared outcome.
    visit : float, optional
        Follow-up visit (weeks) of a visit-level outcome; omit for a subject-level outcome.
    baseline : bool
        Add the week-0 value of a visit-level outcome as column ``baseline`` (ANCOVA); it must then exist. Pass
        False for a subject-level outcome.
    covariates : sequence of str
        Formula terms (``"age"``, ``"C(site)"``, ``"age*sex"``, ``"ns(age, df=3)"``); their data columns are
        taken per subject (a covariate that varies between visits at its baseline value, with a note).
    missing : {"error", "exclude"}
        A subject with an outcome value but no baseline or covariate value: a DataError listing them, or
        exclusion with the reason recorded.
    positive : bool
        Outcome and baseline must be > 0 (log-scale analyses).
    min_per_arm : int
        Fewest subjects an arm may have; fewer is a ModelError naming the arm.

    Returns
    -------
    AnalysisSet

    Raises
    ------
    DataError
        Unknown outcome, covariate or visit; nothing to analyse; missing values under ``missing="error"``.
    ModelError
        An arm with fewer than ``min_per_arm`` analysed subjects.
    """
    check_trial(trial)   # out-of-core data: say which routes exist, never subsample silently
    missing = check_choice(missing, MISSING, "missing")
    inst = trial.instrument(outcome)
    terms, variables, values, notes = covariate_values(trial, covariates, reserved=[outcome])
    idx = subject_index(trial)
    # the columns of one row per subject (Series indexed by subject), assembled into a frame once at the end
    cols: dict[str, pd.Series] = {"arm": idx.arm}
    v: float | None = None
    if inst.level == "visit":
        v = trial.check_visit(visit)   # a DataError naming the trial's visits (also for visit=None)
        if v == 0.0:
            raise DataError(f"visit 0 is the baseline of '{outcome}'; choose a follow-up visit from "
                            f"{[f'{x:g}' for x in trial.visits if x != 0]}", kind="baseline visit", column=outcome)
        cols["value"] = idx.at_visit(outcome, v)
        if baseline:
            cols["baseline"] = idx.at_visit(outcome, 0.0)
            if cols["baseline"].isna().all():
                raise DataError(
                    f"no subject has a baseline (week 0) value of '{outcome}', and the analysis adjusts for it. If "
                    f"the file has a baseline column, map it with columns={{'{outcome}_baseline': '<column>'}} (it "
                    "becomes the week-0 rows); if the outcome is already a change from baseline, analyse it with "
                    "ct.mmrm, which needs no baseline row.", kind="no baseline", column=outcome,
                    arguments=("columns", "mmrm"))
    elif baseline:
        raise DataError(f"outcome '{outcome}' is measured once per subject; this analysis needs an outcome measured "
                        "at baseline and at follow-up visits", kind="subject-level outcome", column=outcome)
    else:
        cols["value"] = idx.first(outcome)
    where = f" at week {v:g}" if v is not None else ""
    for c in variables:
        cols[c] = values[c]
    gone = {c: _missing(cols[c]) for c in ["value", *(["baseline"] if baseline else []), *variables]}
    if gone["value"].all():
        raise DataError(f"column '{outcome}': every value{where} is missing; nothing to analyse",
                        kind="no outcome", column=outcome)
    # the first reason that applies, as a code into ``whys`` (0: analysed)
    whys = ["", f"no {outcome} value{where}"]
    reason = np.where(gone["value"], 1, 0)
    checks = ([("baseline", f"no baseline {outcome} value")] if baseline else []) + [
        (c, f"covariate '{c}' missing") for c in variables]
    for col, what in checks:
        miss = (reason == 0) & gone[col]
        if miss.any() and missing == "error":
            label = f"baseline '{outcome}' (week 0)" if col == "baseline" else f"covariate '{col}'"
            a_value = f"a week-{v:g} value" if v is not None else "a value"
            raise DataError(f"{int(miss.sum())} subject(s) with {a_value} of '{outcome}' "
                            f"have no {label}: {list_subjects(idx.subjects[miss])}. Complete the data, or pass "
                            "missing_baseline='exclude' to analyse without them (they are then listed as excluded).",
                            kind="missing covariate", column=col if col != "baseline" else outcome)
        whys.append(what)
        reason[miss] = len(whys) - 1
    if positive:
        bad = (reason == 0) & (cols["value"] <= 0).to_numpy()
        if baseline:
            bad |= (reason == 0) & (cols["baseline"] <= 0).to_numpy()
        if bad.any():
            raise DataError(f"column '{outcome}': scale='log' needs positive values, but {int(bad.sum())} subject(s) "
                            f"have a value <= 0 at baseline or{where}: {list_subjects(idx.subjects[bad])}. "
                            "Check the values, or analyse on the original scale (scale='identity').",
                            kind="not positive", column=outcome)
    keep = reason == 0
    out = np.flatnonzero(~keep)
    excluded = pd.DataFrame({"subject": idx.subjects.take(out), "arm": _as_text(idx.arm, out),
                             "reason": np.asarray(whys, dtype=object)[reason[out]]})
    rows = None if keep.all() else np.flatnonzero(keep)   # every subject analysed: the arrays as they are
    # the columns' arrays keep their dtypes (an object column stays object); the frame gets a RangeIndex
    analysed = pd.DataFrame({"subject": _rows_of(idx.subjects, rows),
                             **{c: _rows_of(x, rows) for c, x in cols.items()}})
    arms, counts = _arm_counts(trial, idx.arm, analysed["arm"])
    small = {a: n for a, n in counts.items() if n < min_per_arm}
    if small:
        listed = ", ".join(f"{a} ({n} subject{'s' if n != 1 else ''})" for a, n in small.items())
        raise ModelError(f"arm(s) {listed} have fewer than {min_per_arm} subjects with '{outcome}'{where} (and "
                         f"baseline/covariates); an arm needs at least {min_per_arm} to estimate its mean with an "
                         "error. Choose another visit or drop that arm from the data.", kind="small arm",
                         arm=str(next(iter(small))), column=outcome)
    return AnalysisSet(analysed, excluded, arms, inst, v, terms, variables, notes)


def arm_present(arm: pd.Series, name: str) -> bool:
    """``(arm == name).any()``; for a categorical column of text categories from its codes (no comparison of
    every row)."""
    if isinstance(arm.dtype, pd.CategoricalDtype) and arm.cat.categories.inferred_type == "string":
        cats = arm.cat.categories
        return name in cats and bool((arm.cat.codes.to_numpy() == cats.get_loc(name)).any())
    return bool((arm == name).any())


def _as_text(values: pd.Series, rows: np.ndarray) -> np.ndarray:
    """``values.take(rows).astype(str).to_numpy()``; a categorical column through its few categories."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()[rows]
        if (codes >= 0).all():
            return np.asarray(values.cat.categories.astype(str), dtype=object)[codes]
    return values.take(rows).astype(str).to_numpy()


def _category_counts(values: pd.Series) -> dict[str, int] | None:
    """Subjects per category of a categorical column (by its codes: no text per subject), keyed by the category as
    text; None for a column that is not categorical."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return None
    codes = values.cat.codes.to_numpy()
    counts = np.bincount(codes[codes >= 0], minlength=len(values.cat.categories))
    return {str(c): int(k) for c, k in zip(values.cat.categories, counts)}


def _arm_counts(trial: Trial, randomised: pd.Series, analysed: pd.Series) -> tuple[list[str], dict[str, int]]:
    """The arms with randomised subjects (display order) and the number analysed in each (in that order)."""
    have_fast, n_fast = _category_counts(randomised), _category_counts(analysed)
    if have_fast is not None and n_fast is not None:
        arms = [a for a in trial.arms if have_fast.get(a, 0) > 0]
        return arms, {a: n_fast.get(a, 0) for a in arms}
    have = randomised.astype(str).value_counts() if not isinstance(randomised.dtype, pd.CategoricalDtype) else \
        randomised.value_counts().rename(index=str)
    arms = [a for a in trial.arms if have.get(a, 0) > 0]
    n = analysed.value_counts()
    n.index = n.index.astype(str)
    return arms, {a: int(k) for a, k in n.reindex(arms, fill_value=0).items()}


def _missing(values: pd.Series) -> np.ndarray:
    """``values.isna().to_numpy()``; a float column by numpy alone."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "f":
        return np.isnan(values.to_numpy())
    return values.isna().to_numpy()


def _rows_of(values: pd.Series | pd.Index, rows: np.ndarray | None):
    """The values (a numpy or extension array, dtype kept) at positions ``rows`` (None: all of them), without
    the Series' index (``values.take(rows).reset_index(drop=True)`` builds and then drops a taken index)."""
    arr = values.to_numpy() if isinstance(values.dtype, np.dtype) else values.array
    arr = arr if rows is None else arr.take(rows)
    return pd.Series(arr, dtype=object) if arr.dtype == object else arr   # object stays object (not inferred as str)
