"""Rules of the identifier guard that read a column's name and its values together.

Each rule takes the header's words, the column (indexed by row position), its text view (or None) and the
number of non-missing cells, and returns finding tuples ``(kind, found_by, n_cells, reason, rule, rows)``.
Reasons never hold a value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .headers import (
    _AGE,
    _AGE_UNITS,
    _COMPANIONS,
    _RESIDENCE,
    _YOB,
    _ZIP,
    AGE,
    AGE_TOP,
    FULL_DATE,
    MONTH_DATE,
    PHONE,
    RECORD,
    SSN,
    ZIP,
    _grams,
    _is_date_name,
    _is_dob,
    _is_time_name,
)
from .patterns import MONTH_YEAR_NUMERIC, VALUE_PATTERNS, contains


def first_rows(mask: pd.Series) -> tuple[int, ...]:
    """Row positions of the first few True cells of a mask indexed by row position."""
    return tuple(int(i) for i in mask.index[mask.to_numpy(dtype=bool)][:5])


def numbers(s: pd.Series, text: pd.Series | None, codes: np.ndarray | None = None,
            uniques: pd.Series | None = None, plain: pd.Series | None = None) -> pd.Series:
    """The column as floats (text parsed, other non-numbers missing).

    Text is parsed once per distinct value (``codes`` and ``uniques`` from ``pd.factorize(text)``, ``plain``
    marking the distinct values that look like numbers).
    """
    if text is not None:
        if codes is None or uniques is None or plain is None:
            return pd.to_numeric(text, errors="coerce").astype(float)
        parsed = np.full(len(uniques), np.nan)
        if plain.any():
            parsed[plain.to_numpy(dtype=bool)] = pd.to_numeric(uniques[plain], errors="coerce").to_numpy(dtype=float)
        return pd.Series(parsed[codes] if len(codes) else np.empty(0), index=text.index, dtype=float)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_complex_dtype(s.dtype) \
            and not pd.api.types.is_bool_dtype(s.dtype):
        return s.astype(float)
    return pd.Series(np.nan, index=s.index)


def _numeric_dates(x: pd.Series) -> pd.Series:
    """Numbers in a date-named column that can encode a calendar date.

    YYYYMMDD, serial dates (Excel and SAS days, about 20,000-50,000) and epoch seconds are all
    10,000 or more; plain years and study days or weeks are smaller and say nothing more than the year.
    """
    return (np.isfinite(x) & (x.abs() >= 10000)).fillna(False).astype(bool)


def _yyyymmdd(x: pd.Series) -> pd.Series:
    """Whole numbers that read as calendar dates YYYYMMDD (1900-2100)."""
    month, day = (x // 100) % 100, x % 100
    return ((x >= 19000101) & (x <= 21001231) & (x == np.floor(x)) & month.between(1, 12)
            & day.between(1, 31)).fillna(False).astype(bool)


def date_findings(tokens: list[str], s: pd.Series, text: pd.Series | None, present: int,
                x: pd.Series) -> list[tuple]:
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
        return [(FULL_DATE, "column name" if named else "values", present, f"{why} with calendar dates", rule, ())]
    if not named:
        # numbers that only a calendar explains: YYYYMMDD everywhere, or epoch seconds under a time-like name
        lo, hi = (x.min(), x.max()) if x.notna().any() else (np.nan, np.nan)
        # cheap range test first: most numeric columns cannot hold YYYYMMDD numbers at all
        if hi >= 19000101 and lo <= 21001231 and _yyyymmdd(x[np.isfinite(x)]).mean() >= 0.9:
            hits = _yyyymmdd(x)
            return [(FULL_DATE, "values", int(hits.sum()), "numbers that read as YYYYMMDD dates", "drop",
                     first_rows(hits))]
        if _is_time_name(tokens):
            epoch = (x.between(9.46e8, 2.2e9) | x.between(9.46e11, 2.2e12)).fillna(False).astype(bool)
            if epoch.any():
                return [(FULL_DATE, "column name", int(epoch.sum()), "a time column holding epoch seconds",
                         "drop", first_rows(epoch))]
        return []
    if text is not None:
        full = contains(text, VALUE_PATTERNS[FULL_DATE])
        if full.any():
            return [(FULL_DATE, "column name", int(full.sum()), "a date column holding full dates", rule,
                     first_rows(full))]
        month = contains(text, MONTH_YEAR_NUMERIC) | contains(text, VALUE_PATTERNS[MONTH_DATE])
        if month.any():
            return [(MONTH_DATE, "column name", int(month.sum()), "a date column holding months and years", rule,
                     first_rows(month))]
    large = _numeric_dates(x)
    if large.any():
        return [(FULL_DATE, "column name", int(large.sum()),
                 "a date column holding large numbers (YYYYMMDD, SAS, serial or epoch dates?)", rule,
                 first_rows(large))]
    if dob:  # whatever its values look like, a date of birth is not let through unexamined
        return [(FULL_DATE, "column name", present, "the date of birth", rule, ())]
    return []


def zip_findings(tokens: list[str], s: pd.Series, text: pd.Series | None, present: int,
                x: pd.Series) -> list[tuple]:
    """ZIP and postal codes identify beyond 3 characters; 5-digit codes under a residence-like name too."""
    grams = _grams(tokens)
    if set(tokens) & _ZIP or grams & _ZIP:
        if text is not None:
            long = text.str.replace(r"[^0-9A-Za-z]", "", regex=True).str.len() > 3
        else:
            long = x.abs() > 999  # 02134 stored as a number is 2134: four digits still identify
        if not long.any():
            return []
        return [(ZIP, "column name", int(long.sum()), "ZIP or postal codes longer than 3 characters", "zip",
                 first_rows(long))]
    if grams & _RESIDENCE and set(tokens) <= _RESIDENCE | _COMPANIONS:
        if text is not None:
            five = contains(text, r"^[ \t]*[0-9]{5}(?:-[0-9]{4})?[ \t]*\Z").fillna(False).astype(bool)
        else:
            five = (x.between(10000, 99999) & (x == np.floor(x))).fillna(False).astype(bool)
        if five.any():
            return [(ZIP, "column name", int(five.sum()), "5-digit postal codes under a place-of-residence name",
                     "zip" if text is None or five.sum() == text.notna().sum() else "drop", first_rows(five))]
    return []


def age_findings(tokens: list[str], s: pd.Series, text: pd.Series | None, present: int,
                x: pd.Series) -> list[tuple]:
    """Ages above 90 (90 itself is the Safe Harbor category "90 or older"), in the column's units; years of birth
    that imply an age above 89."""
    grams = _grams(tokens)
    if grams & _YOB:
        limit = pd.Timestamp.now().year - AGE_TOP  # the year 90 years ago stands for "90 or older"
        old = (np.isfinite(x) & (x > 1800) & (x < limit)).fillna(False).astype(bool)
        if old.any():
            return [(AGE, "column name", int(old.sum()), f"years of birth implying an age above {AGE_TOP - 1}",
                     "yob", first_rows(old))]
        return []
    if not (set(tokens) & _AGE or grams & _AGE):
        return []
    scale = next((_AGE_UNITS[t] for t in tokens if t in _AGE_UNITS), 1.0)
    rule = "age"
    if text is not None and x.isna().all():
        # "95 years", "92 ans": a number before a unit word
        x = pd.to_numeric(text.str.extract(r"^[ \t]*([0-9]+(?:\.[0-9]+)?)", expand=False), errors="coerce")
        rule = "drop"  # "95 years" is not a number deidentify could top-code
    old = (np.isfinite(x) & (x > AGE_TOP * scale)).fillna(False).astype(bool)
    if not old.any():
        return []
    return [(AGE, "column name", int(old.sum()), f"ages above {AGE_TOP - 1} not top-coded at {AGE_TOP}", rule,
             first_rows(old))]


def long_number_findings(tokens: list[str], s: pd.Series, text: pd.Series | None, present: int,
                x: pd.Series) -> list[tuple]:
    """Phone numbers, SSNs and record numbers stored as numbers: whole numbers of 9 to 15 digits.

    Measurements that large are round (1.5e9 cells/L); identifiers are not, so a column whose large values
    mostly end in 0000 is left alone.
    """
    if text is not None and x.notna().sum() < 0.9 * present:
        return []
    big = (np.isfinite(x) & (x >= 1e8) & (x < 1e15) & (x == np.floor(x))).fillna(False).astype(bool)
    if not big.any():
        return []
    values = pd.unique(x[big])
    if np.mean(np.mod(values, 10000) == 0) > 0.5:
        return []
    digits = np.floor(np.log10(values)) + 1
    if np.mean(digits == 9) >= 0.5:
        kind, what = SSN, "9-digit numbers (social security numbers stored as numbers?)"
    elif np.mean((digits >= 10) & (digits <= 11)) >= 0.5:
        kind, what = PHONE, "10- or 11-digit numbers (phone numbers stored as numbers?)"
    else:
        kind, what = RECORD, "long whole numbers (record or account numbers?)"
    return [(kind, "values", int(big.sum()), what, "drop", first_rows(big))]
