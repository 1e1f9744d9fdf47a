"""A quick verdict on the columns ``ct.load`` hands the identifier guard, without a pass over their cells.

:func:`~combotherapy.privacy.scan._scan_column` reads a column cell by cell only to count cells and name rows once
something is found. Most columns of a registry file carry nothing, and that can be told from what is at hand:

- a column of numbers (numpy integers, floats or booleans) from its smallest and largest values: every rule that
  reads numbers needs a number beyond a threshold (a ZIP code above 999, an age above 90, a date or a long identifier
  of 10,000, 19,000,101 or 10^8 and more), so a column whose range stays below them cannot fire any;
- a Categorical of text (the fast readers' codes of distinct texts) from its categories alone: every rule and value
  pattern flags a column when *some* distinct value matches, so when no category matches, no cell does. The
  categories may hold values no cell uses; where a rule weighs values against each other (a column of given names
  alone, ages written as text beside numbers, structured study ids), the verdict waits for the values in use.

:func:`quick_column` gives the findings of a column when it can say for certain that the column carries nothing
beyond what its header and name say (the findings are then exactly those of ``_scan_column``), and None otherwise:
the column then goes through ``_scan_column``, which finds, counts and locates what is there.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa

from ..io.arrow_text import arrow_of
from .headers import (
    _AGE,
    _AGE_UNITS,
    _COMPANIONS,
    _RESIDENCE,
    _YOB,
    _ZIP,
    ACCOUNT,
    AGE,
    AGE_TOP,
    FULL_DATE,
    IP,
    MONTH_DATE,
    NAME,
    NATIONAL_ID,
    PHONE,
    RECORD,
    SSN,
    _grams,
    _is_date_name,
    _is_dob,
    _is_time_name,
    _tokens,
    roles,
)
from .names import _gate, candidates, gate_mask
from .patterns import (
    DIGITS_PHONE,
    DIGITS_RECORD,
    DIGITS_SSN,
    NUMBER,
    OTHER_DIGITS,
    PREFILTER,
    VALUE_PATTERNS,
    contains,
)
from .rules import age_findings, date_findings, long_number_findings, zip_findings
from .scan import (
    _distinct_view,
    _Finding,
    _in,
    _may_fire,
    _name_findings,
    _pseudonyms,
    _quiet_by_name,
    _study_ids,
    _value_masks,
)

__all__ = ["quick_column", "quiet_categoricals", "header_only"]

_STUDY_KINDS = {PHONE, SSN, IP, RECORD, NATIONAL_ID, ACCOUNT}  # as _scan_column skips in study-id columns


def quick_column(pos: int, name: object, s: pd.Series, kind: str, subject: set) -> list[_Finding] | None:
    """The findings of ``_scan_column(pos, name, s, kind, subject)`` when they come from the header and name alone
    and that can be told without a pass over the cells; None when the column needs the full scan."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _quick_text(pos, name, s, kind, subject)
    if isinstance(dtype, np.dtype) and dtype.kind in "iufb":
        return _quick_numbers(pos, name, s, kind, subject)
    return None


def _header(pos: int, name: object, s: pd.Series, kind: str, subject: set,
            present: Callable[[], int]) -> tuple[list[_Finding], list[str], set[str], str]:
    """``_name_findings`` with the count of non-missing cells taken only when a finding needs it."""
    out, tokens, role, label = _name_findings(pos, name, 0, kind, subject)
    if out:
        out = _name_findings(pos, name, present(), kind, subject)[0]
    return out, tokens, role, label


def header_only(pos: int, name: object, s: pd.Series, kind: str, subject: set) -> list[_Finding]:
    """The findings of a column's header and name, its non-missing cells counted only when there is one."""
    return _header(pos, name, s, kind, subject, lambda: int(s.notna().sum()))[0]


def _rules(role: set) -> list:
    """The name-and-value rules ``_scan_column`` runs on a column with these roles, in its order."""
    rules = [zip_findings] + ([] if "publication" in role else [date_findings, age_findings])
    if not role & {"subject", "code"}:
        rules.append(long_number_findings)
    return rules


def _quick_numbers(pos: int, name: object, s: pd.Series, kind: str, subject: set) -> list[_Finding] | None:
    values = s.to_numpy()
    out, tokens, role, label = _header(pos, name, s, kind, subject, lambda: int(s.notna().sum()))
    if not len(values):
        return None
    grams = _grams(tokens)
    if _is_dob(tokens):
        return None  # a date of birth is flagged whatever its values: the full scan counts them
    if values.dtype.kind == "b":
        return out  # no number is read from booleans: no rule can fire (a date of birth is handled above)
    # the largest number (NaN: every cell missing); the smallest only for the names whose rules look at it
    hi = float(np.fmax.reduce(values)) if values.dtype.kind == "f" else float(values.max())
    if np.isnan(hi):
        return out  # no number: no rule can fire
    if np.isposinf(hi):
        return None  # the rules compare the largest finite number: the full scan finds it
    zipped = bool(set(tokens) & _ZIP or grams & _ZIP)
    resident = bool(grams & _RESIDENCE and set(tokens) <= _RESIDENCE | _COMPANIONS)
    lo = hi
    if zipped or resident or grams & _YOB or _is_date_name(tokens):
        lo = float(np.fmin.reduce(values)) if values.dtype.kind == "f" else float(values.min())
        if np.isneginf(lo):
            return None
    top = max(abs(lo), abs(hi))
    for rule in _rules(role):
        if rule is zip_findings:
            fire = top > 999 if zipped else resident and hi >= 10000 and lo <= 99999
        elif rule is date_findings:
            fire = top >= 10000 if _is_date_name(tokens) else (
                hi >= 19000101 or (_is_time_name(tokens) and hi >= 9.46e8))
        elif rule is age_findings:
            if grams & _YOB:
                fire = hi > 1800 and lo < pd.Timestamp.now().year - AGE_TOP
            elif set(tokens) & _AGE or grams & _AGE:
                fire = hi > AGE_TOP * next((_AGE_UNITS[t] for t in tokens if t in _AGE_UNITS), 1.0)
            else:
                fire = False
        else:
            fire = hi >= 1e8
        if fire:
            return None
    return out


def _string_categories(categories: pd.Index) -> bool:
    if arrow_of(categories) is not None:
        return True  # read by Arrow as text: every value is a string
    return (pd.api.types.is_string_dtype(categories.dtype) or categories.dtype == object) and \
        pd.api.types.infer_dtype(categories, skipna=False) == "string"


def _quick_text(pos: int, name: object, s: pd.Series, kind: str, subject: set) -> list[_Finding] | None:
    categories = s.dtype.categories
    if not len(categories) or not _string_categories(categories):
        return None
    codes = np.asarray(s.array.codes)
    out, tokens, role, label = _header(pos, name, s, kind, subject, lambda: int(np.count_nonzero(codes >= 0)))
    known = arrow_of(categories)
    u = pd.Series(pd.array(known.cast(pa.string()), dtype="str") if known is not None else
                  categories.array if categories.dtype == "str" else np.asarray(categories, dtype=object), dtype="str")
    superset = True
    if _study_role(role):
        # whether digit groups are study ids depends on the share of distinct leading digits among the used values
        u, superset = _used(u, codes), False
    if not len(u):
        return None
    skip = {f.kind for f in out} | ({FULL_DATE} if any(f.kind == MONTH_DATE for f in out) else set())
    if _in(name, subject) or tokens in (["subject"], ["subjid"], ["usubjid"]):
        skip.add(RECORD)
    if role & {"subject", "code"} and ("code" in role or _study_ids(u)):
        skip |= _STUDY_KINDS
    if "version" in role:
        skip |= {IP, FULL_DATE, MONTH_DATE}
    if "publication" in role:
        skip |= {NAME, FULL_DATE, MONTH_DATE, AGE}
    total = None
    if len(u) > _SCREEN and _quiet_by_name(name):
        # many values (ids): one pass of every test a value must pass to count (a number, a pattern's tell-tale
        # characters, a person-name gate) keeps the few that can; the name rules still weigh them against all values
        whole = u
        keep = np.array(contains(u, _screen(tuple(k for k in VALUE_PATTERNS if k not in skip), False)), dtype=bool)
        if NAME not in skip and not keep.all():  # the screen's person-name gate, on the values the rest left out
            keep[~keep] = gate_mask(u[~keep], small=0)
        u = u[keep]
        total = _word_count(whole, u)
    plain = contains(u, NUMBER)
    distinct = _distinct_view(u, u, u, plain)
    if superset and _age_named(tokens) and distinct[3].isna().any() and distinct[3].notna().any():
        # ages are read from "95 years" only when no value is a number: which values are used decides
        u, superset = _used(u, codes), False
        plain = contains(u, NUMBER)
        distinct = _distinct_view(u, u, u, plain)
        if not len(u):
            return None
    for rule in _rules(role):
        if rule is long_number_findings and out:
            continue
        if _may_fire(rule, tokens, *distinct):
            return None
    masks = _value_masks(u, plain, skip, superset=superset, n_words=total)
    if masks is None or any(bool(m.to_numpy(dtype=bool).any()) for m in masks.values()):
        return None  # something may be there: the full scan finds, counts and locates it
    return out


#: above this many distinct values, a text column whose name announces no dated, aged or located value is screened
_SCREEN = 2000


@lru_cache(maxsize=64)
def _screen(kinds: tuple[str, ...], names: bool) -> str:
    """One pattern every value must match to take part in the value rules: a plain number (digit-run rules, number
    rules), a wanted pattern's tell-tale characters, or (``names``) the person-name gate."""
    # digits outside ASCII ("０２０ ７９４６ ０９５８") are read as ASCII digits by the value rules: such values stay in
    return "|".join([f"(?:{NUMBER})", OTHER_DIGITS] + [f"(?:{PREFILTER[k]})" for k in kinds]
                    + ([f"(?:{_gate()})"] if names else []))


def _word_count(whole: pd.Series, kept: pd.Series) -> Callable[[], int]:
    """The number of values the person-name rules weigh (neither plain numbers nor deidentify's pseudonyms) among all
    values ``whole``, counted when asked; values screened out are not plain numbers."""
    def count() -> int:
        return int(len(whole) - contains(kept, NUMBER).sum() - (_pseudonyms(whole) & ~contains(whole, NUMBER)).sum())
    return count


def _study_role(role: set) -> bool:
    """A subject-id column whose values' structure decides whether digit groups are study ids (not a code column)."""
    return "subject" in role and "code" not in role


def _age_named(tokens: list[str]) -> bool:
    grams = _grams(tokens)
    return bool(set(tokens) & _AGE or grams & _AGE) and not grams & _YOB


def _used(u: pd.Series, codes: np.ndarray) -> pd.Series:
    """The categories some cell uses, in category order (one pass over the codes)."""
    seen = np.zeros(len(u) + 1, dtype=bool)
    seen[codes] = True  # a missing cell's code -1 marks the spare last slot
    return u[seen[:-1]].reset_index(drop=True)


def quiet_categoricals(frame: pd.DataFrame, kind: str, subject: set) -> list[int]:
    """Positions of the Categorical columns of text that carry nothing beyond what their header and name say, told
    from the categories of all such columns at once (one pass of each pattern over them all).

    A column qualifies when its name announces no ZIP code, residence, year of birth or date (a time or an age is
    fine) nor subject ids (whose study-id test weighs the used values); no category is a number of 19,000,101 or
    more (a YYYYMMDD date, epoch seconds or a long identifier); no category matches a value pattern of any kind
    (phone, SSN and record-number digit runs included) or the person-name gate; and, for an age, every category is
    a number, none above the Safe Harbor limit in the column's unit. Every one of these tests holds for any subset
    of the categories, so it holds for the categories the cells use: the rules and patterns that ``_scan_column``
    runs on such a column find nothing.
    """
    dtypes = frame.dtypes.to_numpy()
    cols, limits = [], []
    for i, d in enumerate(dtypes):
        if not (isinstance(d, pd.CategoricalDtype) and len(d.categories)):
            continue
        name = frame.columns[i]
        tokens = _tokens(name)
        grams = _grams(tokens)
        role = roles(tokens, kind) | ({"subject"} if _in(name, subject) else set())
        if _study_role(role) or set(tokens) & _ZIP or grams & (_ZIP | _RESIDENCE | _YOB) or _is_dob(tokens) \
                or _is_date_name(tokens) or not _string_categories(d.categories):
            continue
        cols.append(i)
        # an age: every category a number, none above 90 in the column's unit (months, weeks, days)
        limits.append(AGE_TOP * next((_AGE_UNITS[t] for t in tokens if t in _AGE_UNITS), 1.0)
                      if set(tokens) & _AGE or grams & _AGE else np.inf)
    if not cols:
        return []
    parts = [_arrow_text(dtypes[i].categories) for i in cols]
    sizes = np.array([len(p) for p in parts])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    union = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(parts, type=pa.large_string())), dtype="str")
    union = union.reset_index(drop=True)
    plain = contains(union, NUMBER).to_numpy(dtype=bool)
    x = np.full(len(union), np.nan)
    hit = np.zeros(len(union), dtype=bool)
    if plain.any():
        x[plain] = pd.to_numeric(union[plain], errors="coerce").to_numpy(dtype=float)
        # the digit-run patterns (phones, SSNs, record numbers as bare digits) need seven characters and more
        long = union[plain & (union.str.len().to_numpy() >= 7)]
        for pattern in (DIGITS_PHONE, DIGITS_SSN, DIGITS_RECORD):
            m = contains(long, pattern)
            hit[m.index[m.to_numpy(dtype=bool)].to_numpy()] = True
    words = union[~plain]
    if len(words):
        masks = _value_masks(words, pd.Series(False, index=words.index), set(), superset=True)
        if masks is None:  # given names alone, or very many name candidates: those columns take the full scan
            masks = {NAME: pd.Series(True, index=candidates(words).index)}
            masks.update(_value_masks(words, pd.Series(False, index=words.index), {NAME}, superset=True) or {})
        for m in masks.values():
            hit[m.index[m.to_numpy(dtype=bool)].to_numpy()] = True
    high = np.where(np.isfinite(x), x, -np.inf)
    bad = np.add.reduceat(hit | (high >= 19000101), starts) > 0
    aged = np.array(limits) < np.inf
    if aged.any():  # ages: a category that is not a number, or a number above the limit
        bad |= aged & ((np.add.reduceat(~plain, starts) > 0) | (np.maximum.reduceat(high, starts) > np.array(limits)))
    return [c for c, b in zip(cols, bad) if not b]


def _arrow_text(categories: pd.Index) -> pa.Array:
    """The categories as one Arrow array of large strings."""
    known = arrow_of(categories)
    if known is not None:
        return known.cast(pa.large_string())
    if categories.dtype == "str":
        arr = pa.array(categories.array)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        return arr.cast(pa.large_string())
    return pa.array(np.asarray(categories, dtype=object), type=pa.large_string())
