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
from .io.cells import DECIMAL_COMMA
from .io.decisions import shown_labels
from .io.layout import ROW, _key
from .io.readers import MISSING_TOKENS

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


def normalise_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells that spell "missing" (blank, NA, '.', ...) become real missing values, text columns only."""
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
        comma = raw.astype("string").str.fullmatch(DECIMAL_COMMA.pattern).fillna(False).astype(bool)
        hint = ("; some are written with a decimal comma (such as 67,5): declare decimal=','"
                if (comma & bad).any() else "")
        problems.add(col, f"{bad.sum()} non-numeric value{'s' if bad.sum() > 1 else ''}: expected {what}{hint}",
                     _rows(frame, bad), int(bad.sum()))
    return _finite(frame, col, num, problems)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _check_arms(frame: pd.DataFrame, arms: Mapping | None, problems: ProblemCollector) -> pd.Series:
    raw = frame["arm"]
    missing = raw.isna()
    if missing.any():
        problems.add("arm", "missing arm: every subject needs its randomised arm", _rows(frame, missing),
                     int(missing.sum()))
    # labels are few: normalise each distinct label once, then map the column (no per-row Python)
    distinct = pd.unique(raw[~missing].astype(object))
    keys = raw.astype(object).map({v: _key(v) for v in distinct})
    if arms:
        unnamed = [k for k, v in arms.items() if not isinstance(v, str) or not v.strip()]
        if unnamed:
            problems.add("arm", f"arms= maps {unnamed} to no arm name: give each label an arm name such as "
                         "'physio', 'acupuncture', 'combined' or 'control'")
        lookup = {_key(k): str(v).strip() for k, v in arms.items() if k not in unnamed}
        mapped = keys.map(lookup)
        hint = f"arms= maps {sorted(lookup)}"
    else:
        canon = {a: a for a in CANONICAL_ARMS}
        mapped = keys.map({k: canon.get(k.strip().lower()) for k in pd.unique(keys.dropna())})
        hint = (f"expected the canonical arms {list(CANONICAL_ARMS)}; map your labels with "
                f"arms={{'<label>': 'physio', ...}} (other arm names are allowed when declared there)")
    bad = mapped.isna() & ~missing
    if bad.any():
        seen = sorted(keys[bad].unique().tolist())[:10]
        if arms and all(_is_number(k) for k in lookup) and not any(_is_number(s) for s in seen) and \
                "not shown" not in shown_labels(seen, ""):
            # a Stata/SPSS/SAS column with value labels is read as its labels, not its numeric codes
            hint += (f"; the column holds text labels (value labels of a Stata file are applied when it is read), "
                     f"so map those, e.g. arms={{{seen[0]!r}: ...}}")
        problems.add("arm", f"{shown_labels(seen, 'arm labels')}; {hint}", _rows(frame, bad), int(bad.sum()))
    return mapped


def _covariate(frame: pd.DataFrame, col: str, problems: ProblemCollector) -> pd.Series:
    """A column that is neither key nor outcome: numeric when every value is a number, else text.

    Numbers written with a decimal comma ('67,5') in a file not declared ``decimal=","`` are a problem:
    kept as text they would become a factor with one level per value.
    """
    raw = frame[col]
    if pd.api.types.is_bool_dtype(raw.dtype) or isinstance(raw.dtype, pd.CategoricalDtype):
        return raw
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return _finite(frame, col, _real(frame, col, problems), problems)
    text = raw.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce")
    if (num.notna() | raw.isna()).all() and raw.notna().any():
        return _finite(frame, col, num.astype(float), problems)
    comma = text.str.fullmatch(DECIMAL_COMMA.pattern).fillna(False).astype(bool)
    if comma.any() and (num.notna() | comma | raw.isna()).all():
        problems.add(col, "numbers written with a decimal comma (such as 67,5): declare the file's decimal mark "
                     "with decimal=',' (and sep=';' for a semicolon-separated file)", _rows(frame, comma),
                     int(comma.sum()))
    out = text.astype(object)
    return out.where(raw.notna(), np.nan)


def _covariates(frame: pd.DataFrame, cols: list[str], problems: ProblemCollector) -> pd.DataFrame:
    """Every covariate column typed, as one frame in ``cols`` order. Text columns whose cells are all numbers
    are converted in one pass over all their cells and kept as one float block (per-column Series cost
    milliseconds each: minutes for a 10,000-column file)."""
    if not cols:
        return pd.DataFrame(index=frame.index)
    dtypes = frame.dtypes
    text_cols = [c for c in cols if _is_text(dtypes[c])]
    parts: dict[str, pd.Series] = {c: _covariate(frame, c, problems) for c in cols if not _is_text(dtypes[c])}
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
                        else _covariate(frame, c, problems))
    if parts:
        blocks.append(pd.DataFrame(parts, index=frame.index))
    out = pd.concat(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    return out[cols]


def _covariate_ranges(frame: pd.DataFrame, out: pd.DataFrame, problems: ProblemCollector) -> None:
    """Covariates with a known meaning (age, pain duration) outside what is possible are problems."""
    for col, (low, high, what) in COVARIATE_RANGES.items():
        vals = out.get(col)
        if vals is None or not pd.api.types.is_numeric_dtype(vals.dtype) or pd.api.types.is_bool_dtype(vals.dtype):
            continue
        v = vals.astype(float)
        bad = ((v < low) if low is not None else False) | ((v > high) if high is not None else False)
        bad = pd.Series(bad, index=frame.index).fillna(False).astype(bool)
        if bad.any():
            lo = "-inf" if low is None else f"{low:g}"
            hi = "inf" if high is None else f"{high:g}"
            problems.add(col, f"impossible values: expected {what} in [{lo}, {hi}]", _rows(frame, bad),
                         int(bad.sum()))


def validate_long(frame: pd.DataFrame, *, arms: Mapping | None, instruments: Mapping[str, Instrument],
                  problems: ProblemCollector) -> pd.DataFrame:
    """Check and type the canonical columns; problems go to ``problems`` (the caller raises)."""
    # columns are collected in a dict and the frame built once at the end (assigning thousands of columns
    # one at a time is quadratic in their number)
    out: dict[str, object] = {ROW: frame[ROW].to_numpy()}

    # subject: a string id; never missing
    subj = frame["subject"]
    miss = subj.isna()
    if miss.any():
        problems.add("subject", "missing subject id", _rows(frame, miss), int(miss.sum()))
    subject = subject_text(subj).astype("str")
    out["subject"] = subject

    arm = _check_arms(frame, arms, problems)
    out["visit"] = frame["visit"].astype(float)

    # a subject randomised to two arms
    pairs = pd.DataFrame({"s": subject, "a": arm}).dropna()
    n_arms = pairs.groupby("s")["a"].nunique()
    two = n_arms.index[n_arms > 1]
    if len(two):
        rows = frame.loc[subject.isin(two).to_numpy(), ROW]
        problems.add("arm", f"{len(two)} subject{'s appear' if len(two) > 1 else ' appears'} in more than one arm "
                     "(a subject is randomised once)", rows, len(rows))

    # one row per subject and visit
    keys = pd.DataFrame({"subject": subject, "visit": out["visit"]})
    dup = keys.duplicated(keep=False) & keys["subject"].notna() & keys["visit"].notna()
    if dup.any():
        problems.add("visit", "duplicate subject-visit rows: expected one row per subject and visit",
                     _rows(frame, dup), int(dup.sum()))

    # outcomes: numbers in the instrument's range
    for col, inst in instruments.items():
        if col not in frame.columns:
            continue
        vals = _to_numeric(frame, col, f"numbers in {inst.range_text()} {inst.units}".rstrip(), problems)
        lo_bad = pd.Series(False, index=frame.index)
        if inst.low is not None:
            lo_bad = (vals <= inst.low) if inst.low_open else (vals < inst.low)
        hi_bad = (vals > inst.high) if inst.high is not None else pd.Series(False, index=frame.index)
        out_of_range = (lo_bad | hi_bad).fillna(False).astype(bool)
        if out_of_range.any():
            problems.add(col, f"values outside the valid range {inst.range_text()} of {inst.label or col}",
                         _rows(frame, out_of_range), int(out_of_range.sum()))
        if inst.integer:
            frac = (vals.notna() & (vals != np.round(vals))).astype(bool)
            if frac.any():
                problems.add(col, "values that are not whole numbers: expected counts / integer scores",
                             _rows(frame, frac), int(frac.sum()))
        out[col] = vals

    # other columns: covariates
    covariates = _covariates(frame, [c for c in frame.columns if c not in out and c not in ("arm", ROW)], problems)
    _covariate_ranges(frame, covariates, problems)

    # subject-level outcomes are constant within a subject
    for col, inst in instruments.items():
        if inst.level != "subject" or col not in out:
            continue
        varies = pd.Series(out[col]).groupby(subject.to_numpy()).nunique(dropna=True)
        bad_s = varies.index[varies > 1]
        if len(bad_s):
            rows = frame.loc[subject.isin(bad_s).to_numpy(), ROW]
            problems.add(col, f"a subject-level outcome takes different values within {len(bad_s)} "
                         "subject(s): expected one value per subject", rows, len(rows))

    levels = arm_order([a for a in arm.dropna().unique()])
    result = pd.concat([pd.DataFrame(out, index=frame.index), covariates], axis=1)
    result.insert(1, "arm", pd.Categorical(arm, categories=levels, ordered=True))
    return result
