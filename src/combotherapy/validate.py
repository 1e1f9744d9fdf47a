"""One validation pass over a long frame: every problem is collected, then raised together.

Input: the long frame built by :mod:`combotherapy.io.layout` (canonical column names, a float
``visit`` column, ``_row`` = source row). Output: typed canonical columns. Nothing is dropped
or coerced silently: a cell that cannot be used is a problem, reported with its rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .arms import CANONICAL_ARMS, arm_order
from .errors import ProblemCollector
from .instruments import COVARIATE_RANGES, Instrument
from .io.arrow_text import arrow_of
from .io.cells import DECIMAL_COMMA, code_hint, stripped_categories, text_hints
from .io.decisions import shown_labels
from .io.layout import ROW, _key
from .io.readers import MISSING_TOKENS
from .validate_arrays import BySubject, bounds, column_map, outside, summary, take_values

__all__ = ["normalise_missing", "validate_long"]


def _is_text(dtype) -> bool:
    return pd.api.types.is_object_dtype(dtype) or (pd.api.types.is_string_dtype(dtype)
                                                   and not isinstance(dtype, pd.CategoricalDtype))


def _text_block(frame: pd.DataFrame, positions: list[int]) -> tuple[pd.Series, tuple[int, int]]:
    """The cells of some columns as one stripped text Series (column after column), and the block's shape.

    String operations run once over every cell instead of once per column: per-column pandas calls cost
    milliseconds each, which made a 10,000-column file take minutes.
    """
    block = frame.iloc[:, positions].to_numpy(dtype=object)
    flat = pd.Series(block.ravel(order="F"), dtype=object)
    return flat.astype("string").str.strip(), block.shape


def normalise_missing(frame: pd.DataFrame, coded=()) -> pd.DataFrame:
    """Cells that spell "missing" (blank, NA, '.', ...) become real missing values, text columns only.

    Columns named in ``coded`` hold codes of text (a Categorical of the cells' text): their distinct texts are
    looked at once each.
    """
    if coded:
        fixed = {}
        # the distinct texts of every coded column, trimmed and compared in one pass (a pandas call per column
        # costs milliseconds: most of the time on a file of a few thousand rows)
        text, bounds = stripped_categories([frame[c] for c in coded])
        missing = text.isin(MISSING_TOKENS).fillna(False).to_numpy(dtype=bool) | text.isna().to_numpy()
        for j, c in enumerate(coded):
            miss = missing[bounds[j]:bounds[j + 1]]
            if miss.any():
                fixed[c] = _drop_categories(frame[c].array, miss)
        others = [c for c in frame.columns if c not in coded]
        text_others = any(_is_text(d) for c, d in frame.dtypes.items() if c not in coded)
        if not fixed and not text_others:
            return frame.copy(deep=False)  # nothing spells missing: the frame as it is (not rebuilt column by column)
        rest = normalise_missing(frame[others]) if text_others else frame[others]
        parts = {c: fixed[c] if c in fixed else (rest[c] if c in rest.columns else frame[c]) for c in frame.columns}
        return pd.DataFrame(parts, index=frame.index, copy=False)
    dtypes = frame.dtypes.to_numpy()
    text_pos = [i for i, d in enumerate(dtypes) if _is_text(d)]
    if not text_pos:
        return frame.copy()
    text, shape = _text_block(frame, text_pos)
    miss = (text.isin(MISSING_TOKENS).fillna(False).to_numpy(dtype=bool) | text.isna().to_numpy())
    miss = miss.reshape(shape, order="F")
    changed = [j for j in np.flatnonzero(miss.any(axis=0))]
    if not changed:
        return frame.copy()
    # only the columns that hold a missing token are rebuilt, in one block (per-column assignment is slow)
    positions = [text_pos[j] for j in changed]
    block = np.array(frame.iloc[:, positions].to_numpy(dtype=object), dtype=object, copy=True)
    block[miss[:, changed]] = np.nan
    fixed = pd.DataFrame(block, index=frame.index, columns=range(len(positions)))
    keep = [i for i in range(frame.shape[1]) if i not in set(positions)]
    out = pd.concat([frame.iloc[:, keep].set_axis(keep, axis=1), fixed.set_axis(positions, axis=1)], axis=1)
    out = out[list(range(frame.shape[1]))]
    out.columns = frame.columns
    return out


def _drop_categories(cat: pd.Categorical, drop: np.ndarray) -> pd.Categorical:
    """``cat`` with the categories flagged in ``drop`` made missing: what :func:`~combotherapy.io.cells.recode` gives
    for those categories replaced by a missing value (the others are distinct, so they keep their order and are
    renumbered), without hashing them again."""
    keep = ~drop
    codes = np.asarray(cat.codes)
    mapping = np.where(keep, np.cumsum(keep) - 1, -1).astype(codes.dtype)  # fewer categories: the codes' type holds them
    categories = pd.Index(np.asarray(cat.categories, dtype=object)[keep], dtype=object)
    return pd.Categorical.from_codes(take_values(mapping, codes, missing=-1), categories=categories, validate=False)


def _number_text(values: pd.Series) -> pd.Series:
    """Numbers as id text: whole numbers without a decimal part (101.0 -> '101'), others as written by repr."""
    f = values.astype(float)
    whole = f.notna() & np.isfinite(f) & (f == np.floor(f)) & (f.abs() < 2.0**53)
    out = f.astype(object).where(f.notna())
    out[whole] = f[whole].astype("int64").astype(str)
    out[f.notna() & ~whole] = f[f.notna() & ~whole].astype(str)
    return out


def subject_text(raw: pd.Series) -> pd.Series:
    """Subject ids as text, exactly as the source wrote them (trimmed); missing stays missing.

    Text is never re-read as a number, so '001' and '1' stay two subjects. Ids stored as numbers
    (a numeric column, or number cells of a spreadsheet column) read as whole numbers when they are
    whole (101.0, a float column's way of holding 101, reads '101').
    """
    if isinstance(raw.dtype, pd.CategoricalDtype):
        raw = raw.astype(object)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype(object).where(raw.notna()).astype("string").astype(object)
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return _number_text(raw)
    kind = pd.api.types.infer_dtype(raw, skipna=True)
    if kind == "bytes":  # old SAS/Stata exports may hold ids as bytes
        raw, kind = raw.str.decode("utf-8", errors="replace"), "string"
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return _number_text(pd.to_numeric(raw.astype(object), errors="coerce"))
    if kind in ("string", "empty"):
        out = raw.astype("string").str.strip().astype(object)
    else:  # a spreadsheet column holding both text and numbers
        obj = raw.astype(object)
        text = obj.str.strip()
        numbers = _number_text(pd.to_numeric(obj.where(text.isna() & obj.notna()), errors="coerce"))
        out = text.where(text.notna(), numbers)
    return out.where(out.notna(), np.nan)


def _in_first_appearance_order(codes: np.ndarray, k: int) -> bool:
    """Do the codes (-1 = missing) use each of ``k`` categories, each first seen after the one before it (as Arrow
    builds its dictionaries)? Then ``pd.factorize`` would number the categories as the codes already do."""
    present = codes[codes >= 0] if len(codes) and codes.min() < 0 else codes
    if not len(present) or present[0] != 0:
        return False
    high = np.maximum.accumulate(present)
    return bool(high[-1] == k - 1 and (present[1:] <= high[:-1] + 1).all())


def _distinct(raw: pd.Series) -> tuple[np.ndarray, pd.Series]:
    codes, uniques, _ = _distinct_as_is(raw)
    return codes, uniques


def _distinct_as_is(raw: pd.Series) -> tuple[np.ndarray, pd.Series, bool]:
    """Codes (-1 = missing) and the distinct values as an object Series, in order of first appearance: checks that
    are a function of the value run once per distinct value and are mapped back through the codes.

    A Categorical whose codes already number its categories in order of first appearance (the fast readers'
    columns) is taken as it is: that is exactly what ``pd.factorize`` returns, without hashing every row (then the
    third value returned is True: the codes and values are the Categorical's own)."""
    if isinstance(raw.dtype, pd.CategoricalDtype):
        codes = np.asarray(raw.array.codes)
        categories = raw.array.categories
        if _in_first_appearance_order(codes, len(categories)):
            return codes.astype(np.intp), pd.Series(np.asarray(categories, dtype=object), dtype=object), True
    codes, uniques = pd.factorize(raw)
    return np.asarray(codes), pd.Series(np.asarray(uniques, dtype=object), dtype=object), False


def _plain_text(values: pd.Series, known=None):
    """Are these distinct values all text that trimming leaves as it is (then :func:`subject_text` returns them
    unchanged, and, being distinct, they stay distinct)? Checked in Arrow, without a Python call per value.
    Returns their Arrow string array when they are, else None. ``known``: the same values as an Arrow string array
    (the reader's), used instead of converting them again."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if known is not None and len(known) == len(values) and not known.null_count:
        arr = known.cast(pa.string())
    else:
        if not len(values) or pd.api.types.infer_dtype(values, skipna=False) != "string":
            return None
        try:
            arr = pa.array(values.to_numpy(dtype=object), type=pa.string())
        except (pa.ArrowException, TypeError, ValueError):
            return None
    if not len(arr):
        return None
    trimmed = pc.utf8_trim_whitespace(arr)  # pandas' str.strip of Arrow-backed text
    return arr if bool(pc.all(pc.equal(pc.utf8_length(arr), pc.utf8_length(trimmed))).as_py()) else None


def subject_codes(raw: pd.Series, arrow: dict | None = None) -> tuple[np.ndarray, pd.Series]:
    """Subject ids as codes of their text (:func:`subject_text` applied to each distinct id once): codes number the
    subjects in order of first appearance (-1 = missing), and the Series holds their ids. ``arrow``, a dict,
    receives under ``"ids"`` the ids as an Arrow string array when they were converted to one on the way (then
    :func:`str_column` need not convert them again), and under ``"categorical"`` the column's own Categorical when
    its codes and categories are exactly the codes and ids returned (it need not be built again)."""
    codes, uniques, as_is = _distinct_as_is(raw)
    known = arrow_of(raw.array.categories) if as_is else None  # the reader's Arrow text of these very values
    plain = _plain_text(uniques, known) if isinstance(raw.dtype, pd.CategoricalDtype) else None
    if plain is not None:
        if arrow is not None:
            arrow["ids"] = plain
            if as_is:
                arrow["categorical"] = raw.array
        return codes, uniques  # ids already as subject_text writes them, each once: nothing to map
    if not isinstance(raw.dtype, pd.CategoricalDtype) and raw.dtype != object:
        uniques = pd.Series(uniques.tolist(), dtype=raw.dtype)  # the column's own type: subject_text branches on it
    text = subject_text(uniques)
    again, ids = pd.factorize(text.astype(object))  # ids equal once trimmed ('a ' and 'a') are one subject
    mapping = np.append(np.asarray(again), -1)
    return mapping[codes], pd.Series(np.asarray(ids, dtype=object), dtype=object)


def _rows(frame: pd.DataFrame, mask) -> pd.Series:
    return frame.loc[np.asarray(mask, dtype=bool), ROW]


def _real(frame: pd.DataFrame, col: str, problems: ProblemCollector) -> pd.Series | None:
    """A numeric column as floats; complex numbers are a problem (casting would drop the imaginary part)."""
    raw = frame[col]
    if pd.api.types.is_complex_dtype(raw.dtype):
        problems.add(col, "complex numbers: expected real numbers", _rows(frame, raw.notna()), int(raw.notna().sum()))
        return pd.Series(np.nan, index=frame.index)
    return raw.astype(float) if pd.api.types.is_numeric_dtype(raw.dtype) else None


def _finite(frame: pd.DataFrame, col: str, values: pd.Series, problems: ProblemCollector) -> pd.Series:
    """Infinite values ('inf', 1e400) are a problem, whatever the instrument's range."""
    inf = np.isinf(values.to_numpy(dtype=float))
    if inf.any():
        problems.add(col, "infinite values: expected finite numbers", _rows(frame, inf), int(inf.sum()))
        return values.mask(inf)  # reported above; masked so that a range check does not report them again
    return values


def _to_numeric(frame: pd.DataFrame, col: str, what: str, problems: ProblemCollector) -> pd.Series:
    raw = frame[col]
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype(float)
    real = _real(frame, col, problems)
    if real is not None:
        return _finite(frame, col, real, problems)
    num = pd.to_numeric(raw.astype("string").str.strip(), errors="coerce").astype(float)
    bad = num.isna() & raw.notna()
    if bad.any():
        # what the cells that are not numbers look like (a decimal comma, a thousands separator, a spelling of
        # "missing" such as '#N/A' or '-'), from their distinct texts: the message says how to declare them
        hint = text_hints(col, pd.unique(raw[bad].astype("string").str.strip().dropna().to_numpy(dtype=object)))
        problems.add(col, f"{bad.sum()} non-numeric value{'s' if bad.sum() > 1 else ''}: expected {what}{hint}",
                     _rows(frame, bad), int(bad.sum()))
    return _finite(frame, col, num, problems)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _check_arms(frame: pd.DataFrame, arms: Mapping | None, problems: ProblemCollector) -> tuple[np.ndarray, list]:
    """Arm of each row: codes into the list of arm names returned (-1 = missing or not an arm)."""
    raw = frame["arm"]
    codes, distinct = _distinct(raw)
    missing = codes < 0
    if missing.any():
        problems.add("arm", "missing arm: every subject needs its randomised arm", _rows(frame, missing),
                     int(missing.sum()))
    # labels are few: each distinct label is normalised and mapped once (in Python: a pandas call per step costs more
    # than the handful of labels), then the codes carry it to the rows
    keys = [_key(v) for v in distinct.tolist()]
    if arms:
        unnamed = [k for k, v in arms.items() if not isinstance(v, str) or not v.strip()]
        if unnamed:
            problems.add("arm", f"arms= maps {unnamed} to no arm name: give each label an arm name such as "
                         "'physio', 'acupuncture', 'combined' or 'control'", arguments=("arms",))
        lookup = {_key(k): str(v).strip() for k, v in arms.items() if k not in unnamed}
        mapped = [lookup.get(k) for k in keys]
        hint = f"arms= maps {sorted(lookup)}"
    else:
        canon = {a: a for a in CANONICAL_ARMS}
        mapped = [canon.get(k.strip().lower()) for k in keys]
        hint = (f"expected the canonical arms {list(CANONICAL_ARMS)}; map your labels with "
                f"arms={{'<label>': 'physio', ...}} (other arm names are allowed when declared there)")
    names = list(dict.fromkeys(m for m in mapped if m is not None))  # in order of first appearance
    position = {a: i for i, a in enumerate(names)}
    arm_of = np.array([position[m] if m is not None else -1 for m in mapped] + [-1], dtype=np.int64)
    arm_codes = arm_of[codes]
    bad_u = np.array([m is None for m in mapped], dtype=bool)
    bad = np.append(bad_u, False)[codes]
    if bad.any():
        seen = sorted({k for k, b in zip(keys, bad_u) if b})[:10]
        if arms and all(_is_number(k) for k in lookup) and not any(_is_number(s) for s in seen) and \
                "not shown" not in shown_labels(seen, ""):
            # a Stata/SPSS/SAS column with value labels is read as its labels, not its numeric codes
            hint += (f"; the column holds text labels (value labels of a Stata file are applied when it is read), "
                     f"so map those, e.g. arms={{{seen[0]!r}: ...}}")
        problems.add("arm", f"{shown_labels(seen, 'arm labels')}; {hint}", _rows(frame, bad), int(bad.sum()),
                     arguments=("arms",))
    return arm_codes, names


def _covariate(frame: pd.DataFrame, col: str, problems: ProblemCollector, text: bool = False,
               cells: dict | None = None) -> pd.Series:
    """A column that is neither key nor outcome: numeric when every value is a number, else text.

    Numbers written with a decimal comma ('67,5') in a file not declared ``decimal=","`` are a problem:
    kept as text they would become a factor with one level per value. Text is looked at once per distinct
    value. ``text=True``: the column is a Categorical of text cells (the fast reader's codes), checked as text.
    A column kept as text is ``values[codes]``; with ``cells`` given, ``cells[col] = (codes, values)``.
    """
    raw = frame[col]
    if not text and (pd.api.types.is_bool_dtype(raw.dtype) or isinstance(raw.dtype, pd.CategoricalDtype)):
        return raw
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return _finite(frame, col, _real(frame, col, problems), problems)
    codes, distinct = _distinct(raw)
    if not text and raw.dtype != object and len(distinct):
        distinct = pd.Series(distinct.tolist(), dtype=raw.dtype)  # the column's own type (str, ...)
    stripped = distinct.astype("string").str.strip()
    num = pd.to_numeric(stripped, errors="coerce")
    if len(distinct) and num.notna().all():
        return _finite(frame, col, pd.Series(take_values(num.to_numpy(dtype=float, na_value=np.nan), codes),
                                             index=frame.index, copy=False), problems)
    # a decimal comma is reported when every value that is not a number is written with one (a number is never
    # written so); the pattern runs only when some such value holds a comma at all
    other_u = num.isna().to_numpy()
    rest = stripped[other_u]
    if len(rest) and rest.str.contains(",", regex=False).fillna(False).any() and \
            rest.str.fullmatch(DECIMAL_COMMA.pattern).fillna(False).astype(bool).all():
        comma = np.append(other_u, False)[codes]
        thousands = text_hints(col, rest.dropna().tolist()) if rest.str.fullmatch(r"\s*[+-]?\d{1,3},\d{3}\s*").any() \
            else ""  # 1,234: perhaps a thousands separator, which decimal=',' would read as 1.234
        problems.add(col, "numbers written with a decimal comma (such as 67,5): declare the file's decimal mark "
                     "with decimal=',' (and sep=';' for a semicolon-separated file)" + thousands, _rows(frame, comma),
                     int(comma.sum()))
    values = np.append(stripped.astype(object).to_numpy(), np.nan).astype(object)
    if cells is not None:
        cells[col] = (codes, values)
    # a new array: no copy of it (pandas 3 copies an array handed to Series unless told not to)
    return pd.Series(values[codes] if len(codes) else np.empty(0, dtype=object), index=frame.index, dtype=object,
                     copy=False)


#: frames of at most this many columns are built without copying their columns into one block
_FEW = 60

#: above this many rows text covariates are typed column by column over their distinct values; below it, all
#: text cells of a wide file at once (per-column calls cost milliseconds each: minutes for 10,000 columns)
_TALL = 5000


def _covariates(frame: pd.DataFrame, cols: list[str], problems: ProblemCollector,
                text_codes: frozenset = frozenset(), cells: dict | None = None) -> pd.DataFrame:
    """Every covariate column typed, as one frame in ``cols`` order. Text columns whose cells are all numbers
    are converted in one pass over all their cells and kept as one float block (per-column Series cost
    milliseconds each: minutes for a 10,000-column file)."""
    if not cols:
        return pd.DataFrame(index=frame.index)
    dtypes = frame.dtypes
    text_cols = [c for c in cols if _is_text(dtypes[c]) or c in text_codes]
    is_text = set(text_cols)
    parts: dict[str, pd.Series] = {c: _covariate(frame, c, problems) for c in cols if c not in is_text}
    if len(frame) > _TALL:  # many rows: column by column, each over its distinct values
        parts.update({c: _covariate(frame, c, problems, text=c in text_codes, cells=cells) for c in text_cols})
        text_cols = []
    blocks = []
    if text_cols:
        position = {c: i for i, c in enumerate(frame.columns)}
        text, shape = _text_block(frame, [position[c] for c in text_cols])
        num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan).reshape(shape, order="F")
        filled = text.notna().to_numpy().reshape(shape, order="F")
        numeric = ((~np.isnan(num) | ~filled).all(axis=0)) & filled.any(axis=0)
        infinite = np.isinf(num).any(axis=0)
        plain = numeric & ~infinite  # every filled cell a finite number: the common case, no per-column work
        if plain.any():
            blocks.append(pd.DataFrame(num[:, plain], index=frame.index,
                                       columns=[c for c, p in zip(text_cols, plain) if p]))
        for j in np.flatnonzero(~plain):
            c = text_cols[j]
            parts[c] = (_finite(frame, c, pd.Series(num[:, j], index=frame.index), problems) if numeric[j]
                        else _covariate(frame, c, problems, text=c in text_codes))
    if parts:
        blocks.append(pd.DataFrame(parts, index=frame.index, copy=len(parts) > _FEW))
    out = pd.concat(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    return out[cols]


def _covariate_ranges(frame: pd.DataFrame, out: pd.DataFrame, problems: ProblemCollector) -> None:
    """Covariates with a known meaning (age, pain duration) outside what is possible are problems."""
    for col, (low, high, what) in COVARIATE_RANGES.items():
        vals = out.get(col)
        if vals is None or not pd.api.types.is_numeric_dtype(vals.dtype) or pd.api.types.is_bool_dtype(vals.dtype):
            continue
        if not outside(*bounds(vals.to_numpy(dtype=float, na_value=np.nan)), low, high):
            continue  # every value possible: no row to name
        v = vals.astype(float)
        bad = ((v < low) if low is not None else False) | ((v > high) if high is not None else False)
        bad = pd.Series(bad, index=frame.index).fillna(False).astype(bool)
        if bad.any():
            lo = "-inf" if low is None else f"{low:g}"
            hi = "inf" if high is None else f"{high:g}"
            problems.add(col, f"impossible values: expected {what} in [{lo}, {hi}]", _rows(frame, bad),
                         int(bad.sum()))


def _in_codes(codes: np.ndarray, chosen: np.ndarray, n: int) -> np.ndarray:
    """Rows whose code (-1 = missing) is one of ``chosen`` (codes in 0..n-1)."""
    flag = np.zeros(n + 1, dtype=bool)
    flag[chosen] = True
    return flag[codes]


def _duplicate_visits(s_codes: np.ndarray, visit: np.ndarray) -> np.ndarray:
    """Rows whose subject and visit (both present) another row has too."""
    v_codes = np.asarray(pd.factorize(visit)[0])
    known = (s_codes >= 0) & (v_codes >= 0)
    key = s_codes.astype(np.int64) * (int(v_codes.max()) + 2 if len(v_codes) else 1) + v_codes
    if len(key) and known.any() and int(key[known].max()) <= 4 * len(key):
        # keys are few enough to count directly (no hashing): a key seen twice is a duplicate
        counts = np.bincount(key[known], minlength=int(key[known].max()) + 1)
        dup = known & (counts[np.where(known, key, 0)] > 1)
    else:
        dup = pd.Series(np.where(known, key, -1 - np.arange(len(key)))).duplicated(keep=False).to_numpy() & known
    return dup


def str_column(codes: np.ndarray, values, index=None) -> pd.Series:
    """A ``str`` column from codes (-1 = missing) into distinct texts (a Series, or an Arrow string array), built by
    Arrow without a Python object per row."""
    import pyarrow as pa

    dictionary = values if isinstance(values, pa.Array) else pa.array(values.to_numpy(dtype=object), type=pa.string())
    taken = dictionary.take(pa.array(codes, mask=codes < 0)) if len(codes) else pa.array([], type=pa.string())
    return pd.Series(pd.array(taken, dtype="str"), index=index)


def validate_long(frame: pd.DataFrame, *, arms: Mapping | None, instruments: Mapping[str, Instrument],
                  problems: ProblemCollector, subject_as_codes: bool = False,
                  text_codes: frozenset = frozenset(), text_cells: dict | None = None,
                  subject_arrow: dict | None = None) -> pd.DataFrame:
    """Check and type the canonical columns; problems go to ``problems`` (the caller raises).

    Checks that are a function of one value (subject ids, arm labels) run once per distinct value; checks
    across rows (one arm per subject, one row per subject and visit, subject-level outcomes) run on integer
    codes. With ``subject_as_codes`` the subject column comes back as a Categorical (the loader sorts by it, then
    makes it text); otherwise as ``str``. ``text_codes`` names columns held as Categoricals of text cells (the
    fast reader's codes): they are checked as the text they hold. ``text_cells``, a dict, receives for each text
    covariate of a tall frame ``(codes, values)`` with the column equal to ``values[codes]`` (the loader's decisions
    then compare codes, not a Python object per cell). ``subject_arrow``, a dict, may receive the subject ids (the
    categories of the subject column) as an Arrow string array under ``"ids"`` (see :func:`subject_codes`).
    """
    # columns are collected in a dict and the frame built once at the end (assigning thousands of columns
    # one at a time is quadratic in their number)
    out: dict[str, object] = {ROW: frame[ROW].to_numpy()}

    # subject: a string id; never missing
    subj = frame["subject"]
    s_codes, ids = subject_codes(subj, subject_arrow if subject_as_codes else None)
    miss = s_codes < 0
    if miss.any():
        problems.add("subject", "missing subject id", _rows(frame, miss), int(miss.sum()))
    n_subjects = len(ids)
    same = (subject_arrow or {}).get("categorical") if subject_as_codes else None
    if same is not None and not same.ordered:  # the column as read: its codes and categories are these already
        out["subject"] = same
    else:
        out["subject"] = (pd.Categorical.from_codes(s_codes, categories=pd.Index(ids, dtype=object), validate=False)
                          if subject_as_codes else str_column(s_codes, ids, frame.index))

    arm_codes, arm_names = _check_arms(frame, arms, problems)
    visit_col = frame["visit"].astype(float)
    out["visit"] = visit_col
    visit = visit_col.to_numpy()

    # a subject randomised to two arms
    by_subject = BySubject(s_codes)
    two = by_subject.varying_codes(arm_codes)
    if len(two):
        rows = frame.loc[_in_codes(s_codes, two, n_subjects), ROW]
        problems.add("arm", f"{len(two)} subject{'s appear' if len(two) > 1 else ' appears'} in more than one arm "
                     "(a subject is randomised once)", rows, len(rows))

    # one row per subject and visit (a file sorted by subject and time has none twice: told without counting pairs)
    dup = np.zeros(0, dtype=bool)
    if not by_subject.increasing_within(visit):
        dup = _duplicate_visits(s_codes, visit)
    if dup.any():
        problems.add("visit", "duplicate subject-visit rows: expected one row per subject and visit",
                     _rows(frame, dup), int(dup.sum()))


    # outcomes: numbers in the instrument's range. Float columns (Parquet, the fast reader's typed columns) are
    # summarised first (smallest, largest, any fraction), long ones two at a time
    floats = {c: frame[c].to_numpy() for c in instruments if c in frame.columns
              and frame[c].dtype == np.dtype(np.float64)}
    summaries = dict(zip(floats, column_map(lambda c: summary(floats[c], instruments[c].integer), list(floats),
                                            len(frame))))
    for col, inst in instruments.items():
        if col not in frame.columns:
            continue
        v = floats.get(col)
        lo, hi, fraction = summaries[col] if v is not None else (np.nan, np.nan, False)
        if v is not None and lo != -np.inf and hi != np.inf:
            vals = v  # finite numbers: the column as it is
        else:
            vals = _to_numeric(frame, col, f"numbers in {inst.range_text()} {inst.units}".rstrip(), problems)
            # plain float arrays (NaN = missing, never out of range nor fractional): no pandas Series per comparison
            v = vals.to_numpy(dtype=float, na_value=np.nan)
            lo, hi, fraction = summary(v, inst.integer)
        # the smallest and largest values decide the range check; rows are looked at only when one fails it
        if outside(lo, hi, inst.low, inst.high, inst.low_open):
            with np.errstate(invalid="ignore"):
                out_of_range = np.zeros(len(v), dtype=bool)
                if inst.low is not None:
                    out_of_range |= (v <= inst.low) if inst.low_open else (v < inst.low)
                if inst.high is not None:
                    out_of_range |= v > inst.high
            problems.add(col, f"values outside the valid range {inst.range_text()} of {inst.label or col}"
                         + code_hint(col, v[out_of_range]), _rows(frame, out_of_range), int(out_of_range.sum()))
        if inst.integer and fraction:
            with np.errstate(invalid="ignore"):
                # v != round(v) for numbers that are present: |v - rint(v)| > 0 is False for NaN (and for inf, whose
                # difference is NaN, as inf == round(inf))
                frac = np.abs(v - np.rint(v)) > 0
            problems.add(col, "values that are not whole numbers: expected counts / integer scores",
                         _rows(frame, frac), int(frac.sum()))
        out[col] = vals

    # other columns: covariates
    covariates = _covariates(frame, [c for c in frame.columns if c not in out and c not in ("arm", ROW)], problems,
                             frozenset(text_codes), text_cells)
    _covariate_ranges(frame, covariates, problems)

    # subject-level outcomes are constant within a subject (long columns checked two at a time)
    level = [c for c, inst in instruments.items() if inst.level == "subject" and c in out]
    varying = dict(zip(level, column_map(lambda c: by_subject.varying(np.asarray(out[c], dtype=float)), level,
                                         len(frame))))
    for col in level:
        bad_s = varying[col]
        if len(bad_s):
            rows = frame.loc[_in_codes(s_codes, bad_s, n_subjects), ROW]
            problems.add(col, f"a subject-level outcome takes different values within {len(bad_s)} "
                         "subject(s): expected one value per subject", rows, len(rows))

    levels = arm_order(list(arm_names))
    position = {a: i for i, a in enumerate(levels)}
    recoded = np.append(np.array([position[a] for a in arm_names], dtype=np.int64), -1)[arm_codes]
    # a frame of a few dozen columns keeps one block per column (no copy of every cell into one 2-D block); a wide
    # one is consolidated, as pandas warns about (and slows down on) frames of more than 100 blocks
    result = pd.concat([pd.DataFrame(out, index=frame.index, copy=len(out) + covariates.shape[1] > _FEW),
                        covariates], axis=1)
    result.insert(1, "arm", pd.Categorical.from_codes(recoded, categories=levels, ordered=True, validate=False))
    return result
