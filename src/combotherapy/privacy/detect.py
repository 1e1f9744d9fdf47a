"""The identifier guard (HIPAA Safe Harbor): find and refuse direct identifiers.

:func:`find_identifiers` looks for the direct identifiers of the HIPAA Safe Harbor list
(45 CFR 164.514(b)(2)) in two ways: by column name (tokenised, so ``ship_date`` is a date but
``relationship`` is not an IP address) and by the values of text columns, whatever they are
called (an innocent ``notes`` column holding e-mail addresses is caught). It reports columns,
kinds and counts, never a value. :func:`check_identifiers` turns the findings into a
:class:`~combotherapy.errors.IdentifierError`; ``ct.load`` calls it on every frame it reads.
:func:`deidentify` turns a semi-identified export into one that passes the guard.

Value patterns are written for RE2 (no look-arounds) so that pandas runs them in Arrow's
vectorised regex engine for the default ``str`` dtype: one pass of one combined pattern per
column, then the individual patterns only on the cells that matched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, IdentifierError, Problem
from .headers import (
    _AGE,
    _AGE_UNITS,
    _ZIP,
    AGE,
    AGE_TOP,
    FULL_DATE,
    MONTH_DATE,
    ZIP,
    _grams,
    _is_date_name,
    _is_dob,
    _name_kinds,
    _numeric_dates,
    _tokens,
)
from .patterns import _DIGITS, _MONTH_YEAR, _NUMBER, _PREFILTER, _VALUE_PATTERNS, PHONE, _phone_cells

__all__ = ["find_identifiers", "check_identifiers"]


# --- findings ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Finding:
    position: int        # column position in the frame (names may repeat)
    column: object
    kind: str
    found_by: str        # "column name" or "values"
    n_cells: int
    reason: str          # why, in words, never a value
    rule: str            # internal: what deidentify does with it (drop, date, dob, zip, age)
    rows: tuple[int, ...] = ()


def _as_text(s: pd.Series) -> pd.Series | None:
    """A text view of a column (Arrow-backed ``str``) or None when the column holds no text."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(s.dtype.categories.dtype)
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return None
    if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):
        return None
    s = s.dropna()
    # mixed object columns: every value is looked at as its text (dates and numbers included)
    return s if s.dtype == "str" else s.astype("str")


def _all_iso_dates(s: pd.Series) -> bool:
    """True when the column holds no text, or every non-missing value is an ISO 8601 date (read as text:
    pandas would read bare numbers as epochs)."""
    text = _as_text(s)
    return text is None or bool(pd.to_datetime(text, format="ISO8601", errors="coerce").notna().sum()
                                == s.notna().sum())


def _first_rows(mask: pd.Series) -> tuple[int, ...]:
    """Row positions of the first few True cells of a mask indexed by row position."""
    return tuple(int(i) for i in mask.index[mask.to_numpy(dtype=bool)][:5])


def _numbers(s: pd.Series, text: pd.Series | None) -> pd.Series:
    """The column as floats (text parsed, other non-numbers missing)."""
    if text is not None:
        return pd.to_numeric(text, errors="coerce").astype(float)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_complex_dtype(s.dtype):
        return s.astype(float)
    return pd.Series(np.nan, index=s.index)


def _scan_column(pos: int, name: object, s: pd.Series) -> list[_Finding]:
    """Every finding in one column: its name, then name-and-value rules, then text values."""
    tokens = _tokens(name)
    present = int(s.notna().sum())
    out = [_Finding(pos, name, kind, "column name", present, f"the column name says {kind}", "drop")
           for kind in _name_kinds(name)]
    s = s.reset_index(drop=True)  # masks are indexed by row position, so reported rows are positions
    text = _as_text(s)
    for rule in (_date_findings, _zip_findings, _age_findings):
        out.extend(_Finding(pos, name, *f) for f in rule(tokens, s, text, present))
    if text is not None and len(text):
        skip = {f.kind for f in out} | ({FULL_DATE} if any(f.kind == MONTH_DATE for f in out) else set())
        out.extend(_Finding(pos, name, kind, "values", n, f"cells match the {kind} pattern",
                            "date" if kind == FULL_DATE else "drop", rows)
                   for kind, n, rows in _value_hits(text, skip))
    return out


def _date_findings(tokens: list[str], s: pd.Series, text: pd.Series | None, present: int) -> list[tuple]:
    """Dates: by name when the values carry more than the year, by dtype whatever the name."""
    if not present:
        return []
    dob = _is_dob(tokens)
    named = dob or _is_date_name(tokens)
    rule = "dob" if dob else "date"
    typed = isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(s.dtype)
    if isinstance(s.dtype, pd.PeriodDtype):
        typed = s.dtype.freq.freqstr[0] not in "YAQ"  # yearly or quarterly periods carry no month or day
    if typed:
        why = "the date of birth" if dob else "a date-time column"
        return [(FULL_DATE, "column name" if named else "values", present, f"{why} with calendar dates", rule)]
    if not named:
        return []
    if text is not None:
        full = text.str.contains(_VALUE_PATTERNS[FULL_DATE])
        if full.any():
            return [(FULL_DATE, "column name", int(full.sum()), "a date column holding full dates", rule,
                     _first_rows(full))]
        month = text.str.contains(_MONTH_YEAR)
        if month.any():
            return [(MONTH_DATE, "column name", int(month.sum()), "a date column holding months and years", rule,
                     _first_rows(month))]
    large = _numeric_dates(_numbers(s, text))
    if large.any():
        return [(FULL_DATE, "column name", int(large.sum()),
                 "a date column holding large numbers (YYYYMMDD, serial or epoch dates?)", rule, _first_rows(large))]
    if dob:  # whatever its values look like, a date of birth is not let through unexamined
        return [(FULL_DATE, "column name", present, "the date of birth", rule)]
    return []


def _zip_findings(tokens: list[str], s: pd.Series, text: pd.Series | None, present: int) -> list[tuple]:
    """ZIP and postal codes identify beyond 3 characters."""
    if not (set(tokens) & _ZIP or _grams(tokens) & _ZIP):
        return []
    if text is not None:
        long = text.str.replace(r"[^0-9A-Za-z]", "", regex=True).str.len() > 3
    else:
        long = _numbers(s, None).abs() > 999  # 02134 stored as a number is 2134: four digits still identify
    if not long.any():
        return []
    return [(ZIP, "column name", int(long.sum()), "ZIP or postal codes longer than 3 characters", "zip",
             _first_rows(long))]


def _age_findings(tokens: list[str], s: pd.Series, text: pd.Series | None, present: int) -> list[tuple]:
    """Ages above 90 (90 itself is the Safe Harbor category "90 or older"), in the column's units."""
    if not set(tokens) & _AGE:
        return []
    scale = next((_AGE_UNITS[t] for t in tokens if t in _AGE_UNITS), 1.0)
    num = _numbers(s, text)
    old = np.isfinite(num) & (num > AGE_TOP * scale)
    if not old.any():
        return []
    return [(AGE, "column name", int(old.sum()), f"ages above {AGE_TOP - 1} not top-coded at {AGE_TOP}", "age",
             _first_rows(old))]


def _value_hits(text: pd.Series, skip: set[str]) -> list[tuple[str, int, tuple[int, ...]]]:
    """(kind, cells, first rows) for each value pattern found in a text column indexed by row position.

    Patterns run once per distinct value, and only on values that are not plain numbers and pass
    a cheap test for the pattern's tell-tale character.
    """
    codes, uniques = pd.factorize(text)
    u = pd.Series(uniques, dtype="str")
    u = u[~u.str.contains(_NUMBER)]  # (str.fullmatch is not run by Arrow: anchors instead)
    digits = u[u.str.contains(_DIGITS)]
    hits = []
    for kind, pattern in _VALUE_PATTERNS.items():
        if kind in skip or u.empty:
            continue
        pre = _PREFILTER[kind]
        cand = digits if not pre else u[u.str.contains(pre, regex=pre not in ("@", "-"))]
        if cand.empty:
            continue
        m = _phone_cells(cand) if kind == PHONE else cand.str.contains(pattern)
        matched = cand.index[m.to_numpy(dtype=bool)].to_numpy()
        if matched.size:
            cells = np.isin(codes, matched)
            hits.append((kind, int(cells.sum()), tuple(int(r) for r in text.index[cells][:5])))
    return hits


def _scan(frame: pd.DataFrame) -> list[_Finding]:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    found: list[_Finding] = []
    for pos in range(frame.shape[1]):
        found.extend(_scan_column(pos, frame.columns[pos], frame.iloc[:, pos]))
    # an identifying index (names, record numbers, dates as the row labels) counts too
    if not isinstance(frame.index, pd.RangeIndex):
        for level in range(frame.index.nlevels):
            values = frame.index.get_level_values(level)
            label = f"index level '{values.name}'" if values.name is not None else f"index level {level}"
            found.extend(_Finding(-1 - level, label, f.kind, f.found_by, f.n_cells, f.reason, "index", f.rows)
                         for f in _scan_column(-1 - level, values.name if values.name is not None else "",
                                               pd.Series(values)))
    return found


def find_identifiers(frame: pd.DataFrame) -> pd.DataFrame:
    """Find columns that carry direct identifiers (HIPAA Safe Harbor), without showing any value.

    Parameters
    ----------
    frame : DataFrame
        Any table, as read from an export. Not modified.

    Returns
    -------
    DataFrame
        One row per flagged column and kind of identifier (a free-text column holding e-mail
        addresses and phone numbers gives two rows), with columns ``column``, ``kind``,
        ``found_by`` (``"column name"`` or ``"values"``), ``n_cells`` (cells that identify: for a
        column flagged by name alone, its non-missing cells) and ``reason``. Empty when nothing is
        found. Values never appear.

    Notes
    -----
    Column names are split into words (``visitDate`` -> ``visit``, ``date``; ``zip_code`` ->
    ``zip``, ``code``) and neighbouring words joined (``first_name`` -> ``firstname``), then
    matched against word lists for each Safe Harbor category: names, street address and
    geographic subdivisions smaller than a state, e-mail, phone, fax, social security, medical
    record, health-plan, account and licence numbers, vehicle and device identifiers, URL, IP
    address, biometric identifiers and photographs. Whole-word matching keeps ``relationship``,
    ``diagnosis``, ``site``, ``subject`` and ``id`` out (study ids are pseudonyms).

    Some names need their values: a date-named column (``*_date``, ``dob``, CDISC ``*DTC``) is
    flagged when it holds full dates or months with years (a year alone is allowed), a ZIP
    column when codes are longer than 3 characters, an age column when ages exceed 90 (90 is read
    as the category "90 or older"; ``age_months`` and the like are scaled). Date-time columns are
    flagged whatever their name.

    Text columns are searched for e-mail addresses, phone numbers (international ``+`` numbers,
    North-American ``(555) 123-4567`` and national ``020 7946 0958`` forms; plain decimals and
    digit runs are not phones), US social security numbers ``NNN-NN-NNNN``, IPv4 and IPv6
    addresses, URLs and full dates (``2024-03-12``, ``12/03/2024``, ``12.03.2024``,
    ``12 March 2024``, ``12MAR2024``, ``March 12, 2024``). Personal names inside free text cannot
    be recognised by pattern: free-text columns deserve a human look before sharing.

    References
    ----------
    45 CFR 164.514(b)(2). U.S. Department of Health and Human Services (2012). Guidance Regarding
    Methods for De-identification of Protected Health Information in Accordance with the HIPAA
    Privacy Rule.

    Example
    -------
    >>> import pandas as pd, combotherapy as ct
    >>> raw = pd.DataFrame({"subject": ["a", "b"], "notes": ["call 555-123-4567", "fine"], "pain": [3, 4]})
    >>> ct.find_identifiers(raw)[["column", "kind", "found_by", "n_cells"]]
      column          kind found_by  n_cells
    0  notes  phone number   values        1
    """
    rows = [{"column": f.column, "kind": f.kind, "found_by": f.found_by, "n_cells": f.n_cells, "reason": f.reason}
            for f in _scan(frame)]
    return pd.DataFrame(rows, columns=["column", "kind", "found_by", "n_cells", "reason"]).astype(
        {"n_cells": "int64"})


def check_identifiers(frame: pd.DataFrame, *, allow: Iterable[object] = ()) -> None:
    """Refuse a table that carries direct identifiers.

    Parameters
    ----------
    frame : DataFrame
        The table to check (not modified).
    allow : iterable of column names
        Columns the user has checked and keeps knowingly (e.g. ``zip3`` holding 3-digit codes
        stored with a wrong width); they are not searched.

    Raises
    ------
    IdentifierError
        Naming every flagged column and the kind of identifier, with the number of cells and
        the first row numbers, never a value; and saying how to fix it.

    Notes
    -----
    See :func:`find_identifiers` for what is looked for.

    Example
    -------
    >>> import pandas as pd, combotherapy as ct
    >>> ct.check_identifiers(pd.DataFrame({"subject": ["a"], "pain": [3]}))  # passes silently
    """
    allowed = set(allow) if not isinstance(allow, str) else {allow}
    found = [f for f in _scan(frame) if f.column not in allowed]
    if not found:
        return
    cols = list(dict.fromkeys(str(f.column) for f in found))
    problems = [Problem(str(f.column), f"{f.kind}, found by {f.found_by}" + _detail(f), f.rows, f.n_cells)
                for f in found]
    head = (f"the data carry direct identifiers (HIPAA Safe Harbor) in {len(cols)} column"
            f"{'s' if len(cols) != 1 else ''}: {', '.join(repr(c) for c in cols)}. No value is shown.\n"
            "To fix: drop these columns, or run ct.deidentify(frame, key=...) to drop, hash, shift and truncate "
            "them; a column you have checked and know to be safe can be kept with allow=[<column>]"
            " (allow_identifiers= in ct.load).")
    raise IdentifierError(head, problems)


def _detail(f: _Finding) -> str:
    generic = f.reason.startswith(("the column name says", "cells match"))  # the kind already says it
    return "" if generic else f": {f.reason}"

