"""Subject-level facts of a canonical long frame with array operations (no pandas groupby).

:class:`combotherapy.trial.Trial` caches two facts per trial: which columns are constant within every subject
(``subject_columns``) and the one-row-per-subject table (``subjects``). They were a grouped ``nunique`` and a
grouped ``first`` over every column; here the rows are grouped once (a canonical frame is sorted by subject, so
the groups are runs of equal identifiers and no identifier is hashed), and each column is then checked and
taken with a few vectorised passes. The results are those of pandas' ``groupby("subject", sort=False)``
(``nunique(dropna=True) <= 1`` and ``first()``): subjects in order of first appearance, the first non-missing
value of each column, the same dtypes. Columns of a kind not handled here go through pandas' groupby.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SubjectGroups", "subject_groups", "subject_facts", "subject_table", "learn", "column_fact",
           "constant_within", "first_values"]


@dataclass(frozen=True)
class SubjectGroups:
    """Rows grouped by subject.

    ``order``: the row positions in grouped order (subjects in order of first appearance, rows in frame order
    within a subject), or None when the frame already is in that order (each subject's rows contiguous);
    ``code``: the subject code (0, 1, ... in order of first appearance) of each row in grouped order;
    ``starts``: the grouped-order position of each subject's first row.
    """

    order: np.ndarray | None
    code: np.ndarray
    starts: np.ndarray

    @property
    def n(self) -> int:
        return int(self.starts.size)

    def grouped(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per row, frame order) in grouped order."""
        return values if self.order is None else values[self.order]


def _arrow(values) -> Any:
    """The pyarrow array behind a pandas Arrow-backed array (string dtype), or None."""
    if isinstance(values, (pd.arrays.ArrowStringArray, pd.arrays.ArrowExtensionArray)):
        try:
            return values.__arrow_array__()
        except Exception:  # noqa: BLE001  (fall back to hashing)
            return None
    return None


def _runs(subject: pd.Series) -> np.ndarray | None:
    """For identifiers in non-decreasing order, a boolean per row after the first: differs from the previous row;
    None when the identifiers are not sorted (or not of a kind compared here: those are factorised)."""
    n = len(subject)
    pa_values = _arrow(subject.array)
    if pa_values is not None:
        import pyarrow.compute as pc

        if pa_values.null_count:
            return None
        prev, nxt = pa_values[:-1], pa_values[1:]
        if pc.any(pc.greater(prev, nxt)).as_py():
            return None
        return np.asarray(pc.not_equal(prev, nxt), dtype=bool).reshape(n - 1)
    if isinstance(subject.dtype, np.dtype) and subject.dtype.kind in "iu":
        arr = subject.to_numpy()
        if (arr[1:] < arr[:-1]).any():
            return None
        return arr[1:] != arr[:-1]
    return None


def subject_groups(subject: pd.Series) -> SubjectGroups:
    """Group the rows of a frame by its ``subject`` column (never missing in a canonical frame).

    Sorted identifiers (the canonical frame's order) are grouped by comparing neighbours; anything else is
    factorised (codes in order of first appearance) and the rows ordered stably by code."""
    if len(subject) == 0:
        return SubjectGroups(None, np.zeros(0, np.intp), np.zeros(0, np.intp))
    change = _runs(subject) if len(subject) >= 2 else None
    if change is not None:
        code = np.concatenate([[0], np.cumsum(change)]).astype(np.intp)
        starts = np.flatnonzero(np.concatenate([[True], change]))
        return SubjectGroups(None, code, starts)
    codes, _ = pd.factorize(subject.array)
    codes = codes.astype(np.intp)
    if (np.diff(codes) >= 0).all():   # contiguous (in order of first appearance) though not sorted
        order = None
        code = codes
    else:
        order = np.argsort(codes, kind="stable")
        code = codes[order]
    starts = np.flatnonzero(np.concatenate([[True], code[1:] != code[:-1]]))
    return SubjectGroups(order, code, starts)


def _keys(column: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(values comparable with ==, missing mask) of a column, or None for a kind left to pandas.

    Floating, integer and boolean numpy columns are compared directly (NaN is missing); categorical columns by
    their codes; object columns and other extension arrays (strings, nullable integers) by their factorised
    codes (pandas' own equality and missing values, which its grouped nunique uses)."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind in "fiub":
            values = column.to_numpy()
            return values, (np.isnan(values) if dtype.kind == "f" else np.zeros(values.size, dtype=bool))
        if dtype.kind != "O":
            return None
    elif isinstance(dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        return codes, codes < 0
    # objects, strings, nullable integers: factorised (pandas' equality and missing values, as nunique uses)
    codes, _ = pd.factorize(column.array, use_na_sentinel=True)
    return codes, codes < 0


def constant_within(groups: SubjectGroups, column: pd.Series,
                    keys: tuple[np.ndarray, np.ndarray] | None = None) -> bool | None:
    """True when the column never takes two distinct non-missing values within a subject (pandas' grouped
    ``nunique(dropna=True) <= 1``); None when the column's kind is left to pandas. ``keys``: ``_keys(column)``
    when already computed."""
    keys = _keys(column) if keys is None else keys
    if keys is None:
        return None
    values, missing = keys
    values, missing = groups.grouped(values), groups.grouped(missing)
    code = groups.code
    if missing.any():
        present = np.flatnonzero(~missing)
        values, code = values[present], code[present]
    if values.size < 2:
        return True
    try:
        differ = np.asarray(values[1:] != values[:-1], dtype=bool)
    except (TypeError, ValueError):   # objects whose == is not elementwise: pandas decides
        return None
    if differ.shape != (values.size - 1,):
        return None
    return not bool((differ & (code[1:] == code[:-1])).any())


def first_values(groups: SubjectGroups, column: pd.Series,
                 keys: tuple[np.ndarray, np.ndarray] | None = None) -> pd.Series | None:
    """The first non-missing value of the column per subject (pandas' grouped ``first()``), subjects in order of
    first appearance; None when the column's kind is left to pandas. ``keys``: ``_keys(column)`` if known."""
    keys = _keys(column) if keys is None else keys
    if keys is None:
        return None
    _, missing = keys
    rows = groups.starts if groups.order is None else groups.order[groups.starts]
    if missing.any():
        missing = groups.grouped(missing)
        present = np.flatnonzero(~missing)
        code = groups.code[present]
        firsts = present[np.concatenate([[True], code[1:] != code[:-1]])] if present.size else present
        at = np.full(groups.n, -1, dtype=np.intp)
        at[groups.code[firsts]] = firsts if groups.order is None else groups.order[firsts]
        rows = at
    dtype = column.dtype
    if isinstance(dtype, np.dtype):
        values = column.to_numpy()
        if (rows >= 0).all():
            out = values[rows]
        elif dtype.kind == "f":
            out = np.where(rows >= 0, values[np.maximum(rows, 0)], np.nan)
        elif dtype.kind == "O":
            out = values[np.maximum(rows, 0)].copy()
            out[rows < 0] = None   # pandas' first() of an object column fills an empty group with None
        else:                       # integer and boolean columns are never missing
            return None
        return pd.Series(out, name=column.name, dtype=dtype)
    return pd.Series(column.array.take(rows, allow_fill=True), name=column.name)


def _object_facts(groups: SubjectGroups, column: pd.Series) -> tuple[bool, pd.Series | None] | None:
    """(constant within subjects, first values or None) of an object column when comparing neighbours decides
    it, which needs no hashing of every value; None when it does not (then the column is factorised).

    Equal neighbours throughout every subject: constant, and each subject's first row holds its value (a missing
    one when all its rows are missing: shown as None, as pandas' first()). Two different non-missing neighbours
    in a subject: not constant. Differences next to missing values are left to the exact path."""
    values = groups.grouped(column.to_numpy())
    if values.size < 2:
        return None
    try:
        differ = np.asarray(values[1:] != values[:-1], dtype=bool)
    except (TypeError, ValueError):
        return None
    if differ.shape != (values.size - 1,):
        return None
    pairs = np.flatnonzero(differ & (groups.code[1:] == groups.code[:-1]))
    if pairs.size:
        if (~pd.isna(values[pairs]) & ~pd.isna(values[pairs + 1])).any():
            return False, None
        return None
    first = values[groups.starts]
    gone = pd.isna(first)
    if gone.any():
        first = first.copy()
        first[gone] = None
    return True, pd.Series(first, name=column.name, dtype=column.dtype)


#: what is known of one column: (constant within every subject, its first value per subject or None)
Fact = tuple[bool, "pd.Series | None"]


def column_fact(groups: SubjectGroups, column: pd.Series) -> Fact | None:
    """Is the column constant within every subject, and (when it is) its first non-missing value per subject;
    None for a kind left to pandas. Each column is read once."""
    if column.dtype == object and (quick := _object_facts(groups, column)) is not None:
        return quick
    keys = _keys(column)
    known = constant_within(groups, column, keys) if keys is not None else None
    if known is None:
        return None
    return known, (first_values(groups, column, keys) if known else None)


def learn(frame: pd.DataFrame, groups: SubjectGroups, columns: list[str], known: dict[str, Fact]) -> None:
    """Add the facts of ``columns`` not yet in ``known`` (pandas' grouped nunique for kinds not handled here)."""
    todo = [c for c in dict.fromkeys(columns) if c not in known]
    left = []
    for c in todo:
        fact = column_fact(groups, frame[c])
        if fact is None:
            left.append(c)
        else:
            known[c] = fact
    if left:
        nun = frame.groupby("subject", sort=False, observed=True)[left].nunique(dropna=True).max()
        known.update({c: (bool(nun[c] <= 1), None) for c in left})


def subject_table(frame: pd.DataFrame, groups: SubjectGroups, columns: tuple[str, ...] | list[str],
                  known: dict[str, Fact]) -> pd.DataFrame:
    """``subject, arm`` and subject-level ``columns`` (facts in ``known``), one row per subject: pandas'
    ``groupby("subject", sort=False, observed=True)[["arm", *columns]].first().reset_index()``."""
    if "arm" not in known:
        known["arm"] = (True, first_values(groups, frame["arm"]))
    rows = groups.starts if groups.order is None else groups.order[groups.starts]
    out: dict[str, pd.Series] = {"subject": pd.Series(frame["subject"].array.take(rows), name="subject")}
    out.update({c: s for c in ("arm", *columns) if (s := known[c][1]) is not None})
    table = pd.DataFrame(out)
    by_pandas = [c for c in ("arm", *columns) if c not in out]
    if by_pandas:   # kinds not handled here: pandas' groupby (the same subjects in the same order)
        first = frame.groupby("subject", sort=False, observed=True)[by_pandas].first().reset_index(drop=True)
        table = pd.concat([table, first], axis=1)[["subject", "arm", *columns]]
    return table


def subject_facts(frame: pd.DataFrame, groups: SubjectGroups, candidates: list[str],
                  known: dict[str, Fact] | None = None) -> tuple[tuple[str, ...], pd.DataFrame]:
    """The candidates that are constant within every subject (grouped ``nunique(dropna=True) <= 1``) and the
    one-row-per-subject table of subject, arm and those columns (grouped ``first()``, ``reset_index()``), as
    pandas' ``groupby("subject", sort=False, observed=True)`` gives them. ``known``: facts already learnt
    (updated in place)."""
    known = {} if known is None else known
    learn(frame, groups, candidates, known)
    columns = tuple(c for c in candidates if known[c][0])
    return columns, subject_table(frame, groups, columns, known)
