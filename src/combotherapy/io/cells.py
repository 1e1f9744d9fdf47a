"""What a cell may hold: one scalar per cell, text that is text, numbers that are numbers.

Readers of binary formats (Parquet, Stata, SAS, SPSS) and DataFrames handed in by a caller can carry
cells that no trial column can hold: lists, structs, durations, undecodable bytes. They are found here,
column by column (never cell by cell in Python), and reported as problems naming the column, so that
nothing reaches the validator as an exception from deep inside pandas.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ProblemCollector
from .arrow_text import arrow_of

__all__ = ["check_cells", "apply_missing_codes", "read_decimal_commas", "DECIMAL_COMMA", "clean_name", "recode",
           "decode", "stripped_categories", "text_hints", "code_hint"]

#: a number written with a decimal comma: 67,5 or -0,25 (no thousands separators)
DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: a number with thousands separators: 1,234 or 12,500.5 (with decimal=',' such a cell reads as 1.234)
_THOUSANDS = re.compile(r"^\s*[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?\s*$")
#: how exports spell "missing" beyond the tokens read as missing (MISSING_TOKENS): Excel errors, dashes, words.
#: Compared in lower case; a cell so spelt is still reported (never read as missing unless declared with missing=),
#: the message only says how to declare it. Shown in messages: they are fixed spellings, never a person's data.
_MISSING_LIKE = frozenset({"-", "--", "---", "?", "??", "*", "#n/a", "#na", "#n/a n/a", "<na>", "none", "null", "nil",
                           "missing", "miss", "nr", "nd", "na.", "n.a.", "n.a", "n/d", "unknown", "unk", "nk", "not done",
                           "not known", "-nan", "#div/0!", "#value!", "#num!", "#ref!", "#name?", "#null!", ".a", ".b",
                           ".c", ".d", ".m", ".n", ".u", ".z"})
#: numbers that exports use as missing-value codes (SPSS/SAS/Stata habits) when they fall outside a valid range
_CODES = frozenset({-9.0, -99.0, -999.0, -9999.0, -88.0, -888.0, -77.0, -777.0, -1.0, 99.0, 999.0, 9999.0, 88.0,
                    888.0, 77.0, 777.0, 98.0, 998.0, 97.0})
_CONTAINERS = (list, tuple, dict, set, frozenset, np.ndarray)
_UNSUPPORTED_KINDS = {"timedelta": "durations", "timedelta64": "durations", "period": "periods",
                      "interval": "intervals", "time": "times of day"}


def clean_name(name) -> str:
    """A column name as it may be printed: control characters (terminal escapes, NUL) replaced by '?'."""
    return _CONTROL.sub("?", str(name))


def shown_name(name, position: int, what: str = "column") -> str:
    """A column or sheet name as a reader's message may print it, before the identifier guard has run: withheld when
    the name itself holds an identifier (an e-mail address, a phone number, a person's name used as a header or a
    sheet name), control characters replaced."""
    from ..privacy.scan import _header_findings  # here, not at the top: the privacy package imports io modules

    if _header_findings(name):
        return f"{what} {position + 1} ({'header' if what == 'column' else 'name'} withheld)"
    return clean_name(name)


def text_hints(column: str, texts) -> str:
    """What to say about cells that are not numbers, from their distinct texts (trimmed; only fixed spellings are
    ever shown): a decimal comma or a thousands separator, and spellings of "missing" with the missing= that would
    declare them. '' when nothing is recognised."""
    texts = [str(t) for t in texts]
    hints = []
    comma = [t for t in texts if DECIMAL_COMMA.match(t)]
    thousands = [t for t in texts if _THOUSANDS.match(t)]
    if thousands:
        # '1,234' is a decimal comma in a European file and a thousands separator in an English one: both readings
        # are offered, so that a user is never told to declare decimal=',' that would read 1,234 as 1.234
        hints.append("some hold a comma that is a decimal comma (such as 67,5: declare decimal=',') or a thousands "
                     "separator (such as 1,234: remove the separators in the export)")
    elif comma:
        hints.append("some are written with a decimal comma (such as 67,5): declare decimal=','")
    like = sorted({t for t in texts if t.lower() in _MISSING_LIKE})
    if like:
        hints.append(f"some are written {like[:6]}: if these mean missing, declare them with "
                     f"missing={{{clean_name(column)!r}: {like[:6]!r}}}")
    return "; " + "; ".join(hints) if hints else ""


def code_hint(column: str, values: np.ndarray) -> str:
    """Out-of-range values that are usual missing-value codes (-99, 999, ...): how to declare them. ''
    otherwise. Only those fixed codes are shown."""
    found = sorted({float(v) for v in np.unique(values[np.isfinite(values)]) if float(v) in _CODES})
    if not found:
        return ""
    shown = [int(v) for v in found]
    return (f"; {shown} look like missing-value codes: if they are, declare them with "
            f"missing={{{clean_name(column)!r}: {shown!r}}}")


def _decode_bytes(col: pd.Series) -> tuple[pd.Series, bool]:
    """Bytes cells as UTF-8 text; False when some cell is not valid UTF-8 (never replaced silently)."""
    obj = col.astype(object)
    is_bytes = obj.map(type).isin((bytes, bytearray))
    try:
        decoded = obj[is_bytes].map(lambda b: bytes(b).decode("utf-8"))
    except UnicodeDecodeError:
        return col, False
    out = obj.copy()
    out[is_bytes] = decoded
    return out, True


def recode(cat: pd.Categorical, values) -> pd.Categorical:
    """``cat`` with each category replaced by the matching entry of ``values`` (missing allowed); categories that
    become equal are merged. One pass over the distinct values and one over the codes."""
    new, uniques = pd.factorize(pd.Series(np.asarray(values, dtype=object), dtype=object))
    mapping = np.append(new.astype(np.int32), np.int32(-1))  # code -1 (missing) stays -1
    return pd.Categorical.from_codes(mapping[np.asarray(cat.codes)], categories=pd.Index(uniques, dtype=object),
                                     validate=False)


def stripped_categories(columns: list[pd.Series]) -> tuple[pd.Series, np.ndarray]:
    """The categories of several columns of codes, trimmed as ``Series.astype("string").str.strip()`` trims them, in
    one pass: a ``string`` Series of every column's categories after each other, and the offsets (column ``j``'s
    are ``out.iloc[bounds[j]:bounds[j + 1]]``). String methods are elementwise, so this is exactly the per-column
    result, without a pandas call per column (milliseconds each)."""
    bounds = np.cumsum([0] + [len(c.array.categories) for c in columns])
    known = [arrow_of(c.array.categories) for c in columns]
    if columns and all(a is not None for a in known) and pd.StringDtype().storage == "pyarrow":
        # the readers' Arrow text: the same "string" Series (Arrow-backed) without converting Python strings again
        import pyarrow as pa

        values = pa.chunked_array([a.cast(pa.string()) for a in known], type=pa.string())
        return pd.Series(pd.array(values, dtype="string")).str.strip(), bounds
    arrays = [np.asarray(c.array.categories, dtype=object) for c in columns]
    values = np.concatenate(arrays) if arrays else np.empty(0, dtype=object)
    return pd.Series(values, dtype=object).astype("string").str.strip(), bounds


def decode(col: pd.Series, dtype=object) -> pd.Series:
    """A column of codes (a Categorical of text) back to its cells' text, with the reader's dtype."""
    cat = col.array
    values = np.asarray(cat.categories, dtype=object)
    codes = np.asarray(cat.codes)
    out = np.append(values, np.nan).astype(object)[codes] if len(codes) else np.empty(0, dtype=object)
    series = pd.Series(out, index=col.index, name=col.name, dtype=object)
    return series if dtype == np.dtype(object) else series.astype(dtype)


def check_cells(frame: pd.DataFrame, problems: ProblemCollector, skip=()) -> pd.DataFrame:
    """Report cells that cannot be trial data; bytes become text. Returns the (possibly decoded) frame.

    Problems name the column and what it holds, never a value: the column may hold identifiers. Columns at the
    positions ``skip`` hold text by construction (the fast reader's codes) and are not looked at.
    """
    decoded: dict[str, pd.Series] = {}
    dtypes = frame.dtypes.to_numpy()
    skip = set(skip)
    objects = [i for i, d in enumerate(dtypes) if pd.api.types.is_object_dtype(d)]
    # the kind of every object column from one 2-D array: per-column pandas access costs milliseconds
    block = frame.iloc[:, objects].to_numpy(dtype=object) if objects else None
    kinds = {i: pd.api.types.infer_dtype(block[:, j], skipna=True) for j, i in enumerate(objects)}
    for i, c in enumerate(frame.columns):  # a loop over columns; each check is vectorised over its cells
        if i in skip:
            continue
        if kinds.get(i) in ("string", "empty", "integer", "floating", "boolean", "mixed-integer-float"):
            continue  # plain text or numbers: nothing to check
        if i not in kinds and (pd.api.types.is_string_dtype(dtypes[i]) or pd.api.types.is_numeric_dtype(dtypes[i])):
            continue
        col = frame.iloc[:, i]
        name = shown_name(c, i)  # read problems are raised before the guard: a header holding an identifier is withheld
        if pd.api.types.is_timedelta64_dtype(col.dtype) or isinstance(col.dtype, (pd.PeriodDtype,
                                                                                   pd.IntervalDtype)):
            problems.add(name, f"holds {'durations' if pd.api.types.is_timedelta64_dtype(col.dtype) else 'periods or intervals'}"
                         f" ({col.dtype}): expected numbers or text; convert it (e.g. durations to weeks) before loading")
            continue
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        elif col.dtype != object:
            continue
        kind = kinds.get(i) or pd.api.types.infer_dtype(col, skipna=True)
        if kind in _UNSUPPORTED_KINDS:
            problems.add(name, f"holds {_UNSUPPORTED_KINDS[kind]}: expected numbers or text; convert it before loading")
            continue
        if kind == "bytes" or kind.startswith("mixed") or kind == "unknown-array":
            types = col.map(type)
            nested = types.map(lambda t: issubclass(t, _CONTAINERS)).to_numpy(dtype=bool)
            if nested.any():
                problems.add(name, "holds lists, arrays or structures (nested values): expected one number or "
                             "text per cell; flatten the column before loading", np.flatnonzero(nested),
                             int(nested.sum()))
                continue
            if types.isin((bytes, bytearray)).any():
                text, ok = _decode_bytes(col)
                if not ok:
                    problems.add(name, "holds bytes that are not valid UTF-8 text: re-export the file with text "
                                 "columns in UTF-8")
                    continue
                decoded[c] = text
    return _replace(frame, decoded) if decoded else frame


def _replace(frame: pd.DataFrame, columns: Mapping) -> pd.DataFrame:
    """``frame`` with some columns replaced, built in one step (column-by-column assignment is quadratic
    in the number of columns)."""
    if not len(frame.columns):
        return frame
    parts = [columns[c] if c in columns else frame.iloc[:, i] for i, c in enumerate(frame.columns)]
    out = pd.concat(parts, axis=1, ignore_index=True)
    out.columns = frame.columns
    return out


def _code_text(code) -> str:
    """Codes compare as text with 99, 99.0 and '99' the same code."""
    s = str(code).strip()
    try:
        f = float(s)
    except ValueError:
        return s
    return str(int(f)) if np.isfinite(f) and f.is_integer() else repr(f)


def apply_missing_codes(frame: pd.DataFrame, missing: Mapping[str, Sequence] | None,
                        problems: ProblemCollector, coded=()) -> tuple[pd.DataFrame, list[str]]:
    """Cells holding a declared missing-value code become missing; notes say how many, per column.

    ``missing`` maps a column (as named after ``columns=`` mapping, or ``"*"`` for every column) to its
    codes, e.g. ``{"pain": [-99, 999], "*": ["."]}``. Numbers and their text compare equal (-99, '-99',
    -99.0). A column that is not in the data is a problem, so that a typo does not leave codes in as values.
    """
    if not missing:
        return frame, []
    notes: list[str] = []
    changed: dict[str, pd.Series] = {}
    every = missing.get("*", ())
    for key in missing:
        if key != "*" and key not in frame.columns:
            problems.add(clean_name(key), "named in missing= but there is no such column (after columns= mapping)")
    for c in frame.columns:
        codes = list(missing.get(c, ())) + list(every)
        if not codes:
            continue
        col = frame[c]
        wanted = {_code_text(code) for code in codes}
        numeric = np.array([float(t) for t in wanted if _is_float(t)], dtype=float)
        if c in coded:  # codes of text: each distinct text is compared once
            cats = pd.Series(np.asarray(col.array.categories, dtype=object), dtype=object)
            text = cats.astype("string").str.strip()
            on = text.isin(wanted).fillna(False).to_numpy(dtype=bool)
            if len(numeric):
                on = on | np.isin(pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan), numeric)
            codes = np.asarray(col.array.codes)
            hit = np.append(on, False)[codes]
            if hit.any():
                changed[c] = pd.Series(recode(col.array, cats.mask(pd.Series(on))), index=col.index, name=c)
                notes.append(f"column '{clean_name(c)}': {int(hit.sum())} cell{'s' if hit.sum() > 1 else ''} holding "
                             "a declared missing-value code read as missing (missing=)")
            continue
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            hit = np.isin(col.to_numpy(dtype=float, na_value=np.nan), numeric)
        else:
            text = col.astype("string").str.strip()
            hit = text.isin(wanted).fillna(False).to_numpy(dtype=bool)
            if len(numeric):
                hit = hit | np.isin(pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan), numeric)
        if hit.any():
            changed[c] = col.mask(pd.Series(hit, index=col.index))
            notes.append(f"column '{clean_name(c)}': {int(hit.sum())} cell{'s' if hit.sum() > 1 else ''} holding a "
                         "declared missing-value code read as missing (missing=)")
    if changed:
        frame = _replace(frame, changed)
    return frame, notes


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_decimal_commas(frame: pd.DataFrame, coded=()) -> pd.DataFrame:
    """Cells that are numbers written with a decimal comma ('67,5') get a decimal point ('67.5').

    Only for files declared ``decimal=","``; other text is left as written (the validator then reports
    the cells that are not numbers).
    """
    changed = {}
    for i, c in enumerate(frame.columns):
        col = frame.iloc[:, i]
        if i in coded:  # the distinct texts, once each
            cats = pd.Series(np.asarray(col.array.categories, dtype=object), dtype=object)
            text = cats.astype("string").str.strip()
            comma = text.str.fullmatch(DECIMAL_COMMA.pattern).fillna(False).astype(bool)
            if comma.any():
                fixed = cats.where(~comma, text.str.replace(",", ".", regex=False).astype(object))
                changed[c] = pd.Series(recode(col.array, fixed), index=col.index, name=c)
            continue
        if col.dtype != object and not pd.api.types.is_string_dtype(col.dtype):
            continue
        text = col.astype("string").str.strip()
        comma = text.str.fullmatch(DECIMAL_COMMA.pattern).fillna(False).astype(bool)
        if comma.any():
            changed[c] = col.where(~comma, text.str.replace(",", ".", regex=False))
    return _replace(frame, changed) if changed else frame
