"""The identifier scan behind :func:`~combotherapy.privacy.detect.find_identifiers`: every column's header, name
and values checked against the HIPAA Safe Harbor kinds, one finding per column and kind (never a value).

Values are scanned per distinct value, not per row, with patterns written for RE2 so that pandas runs them in
Arrow's vectorised engine; the word-level person-name rules see at most
:data:`~combotherapy.privacy.names.MAX_VALUES` distinct values of a column. :func:`printable` and
:func:`safe_label` are the one way a header is printed.

Columns as ``ct.load`` hands them over (Categoricals of text, numpy numbers) are first judged by
:mod:`~combotherapy.privacy.fast` from their categories or their value range, without a pass over the cells; a column
it cannot clear for certain goes through :func:`_scan_column`, so the findings are the same either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from ..errors import DataError
from .headers import (
    _AGE,
    _COMPANIONS,
    _RESIDENCE,
    _YOB,
    _ZIP,
    ACCOUNT,
    AGE,
    EMAIL,
    FULL_DATE,
    IP,
    MONTH_DATE,
    NAME,
    NATIONAL_ID,
    PHONE,
    RECORD,
    SSN,
    URL,
    ZIP,
    _grams,
    _is_date_name,
    _is_dob,
    _is_time_name,
    _name_kinds,
    _tokens,
    roles,
)
from .names import MAX_VALUES, candidates, given_name_only, is_name_header, name_values, names_in_text
from .patterns import (
    _INTL,
    _SMALL,
    AGE_TOPCODED,
    DIGITS_CARD,
    DIGITS_PHONE,
    DIGITS_RECORD,
    DIGITS_SSN,
    NUMBER,
    PREFILTER,
    TNM,
    VALUE_PATTERNS,
    VERSION,
    _compiled,
    ascii_forms,
    contains,
    phone_cells,
)
from .rules import age_findings, date_findings, first_rows, long_number_findings, numbers, zip_findings

__all__ = ["KINDS_OF_FILE", "PSEUDONYM", "printable", "safe_label"]

#: ``kind=`` of :func:`find_identifiers`: patient-level trial data, or study-level published data
KINDS_OF_FILE = ("trial", "study")
_HEADER_KINDS = (EMAIL, PHONE, SSN, URL, IP, RECORD, NATIONAL_ID, ACCOUNT)
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class _Finding:
    position: int        # column position in the frame (names may repeat)
    column: object       # the real label (allow=, deidentify); never printed as such
    kind: str
    found_by: str        # "column name", "values" or "column header"
    n_cells: int
    reason: str          # why, in words, never a value
    rule: str            # internal: what deidentify does with it (drop, date, dob, zip, age, yob, index)
    rows: tuple[int, ...] = ()
    label: str = ""      # printable header


#: the pseudonyms ``deidentify`` writes: "S" + the first 12 hex characters of a keyed HMAC-SHA256
PSEUDONYM = r"^S[0-9a-f]{12}\Z"

def _finding(pos: int, name: object, f: tuple, label: str) -> _Finding:
    """A finding from a rule's tuple ``(kind, found_by, n_cells, reason, rule, rows)``."""
    kind, found_by, n_cells, reason, rule, rows = f
    return _Finding(pos, name, kind, found_by, n_cells, reason, rule, tuple(rows), label)


def printable(name: object, limit: int = 80) -> str:
    """A header safe to print: terminal escape sequences and control characters removed, length bounded."""
    text = _CONTROL.sub("", str(name))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def safe_label(name: object, position: int) -> str:
    """A header as it may be printed: withheld when it holds an identifier, control characters removed."""
    if _header_findings(name):
        return f"column {position + 1} (header withheld)" if position >= 0 else "a column (header withheld)"
    return printable(name)


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


def _first_appearance_order(codes: np.ndarray, k: int) -> bool:
    """Do the codes (none missing) use every one of ``k`` categories, each first seen after the one before it?
    True exactly when no code exceeds the largest code before it by more than one, starting at 0 and ending
    at k - 1."""
    if not len(codes) or codes[0] != 0:
        return False
    high = np.maximum.accumulate(codes)
    return bool(high[-1] == k - 1 and (codes[1:] <= high[:-1] + 1).all())


def _coded_text(s: pd.Series) -> tuple[pd.Series, np.ndarray, pd.Series] | None:
    """For a Categorical of text: the text view (the column's present cells, indexed by row position), the codes
    of its cells and its distinct values in order of first appearance, exactly what ``pd.factorize`` of
    :func:`_as_text` gives, without building a text cell per row. None for other columns."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return None
    categories = s.dtype.categories
    if not (pd.api.types.is_string_dtype(categories.dtype) or categories.dtype == object) or \
            pd.api.types.infer_dtype(categories, skipna=False) not in ("string", "empty"):
        return None
    cat_codes = np.asarray(s.array.codes)
    complete = not len(cat_codes) or cat_codes.min() >= 0
    present = None if complete else cat_codes >= 0
    codes_present = cat_codes if complete else cat_codes[present]
    k = len(categories)
    if _first_appearance_order(codes_present, k):
        # the categories are already every value in order of first appearance (Arrow's dictionaries are built so)
        order = np.arange(k)
        codes = codes_present.astype(np.int64)
    else:
        # first row of each category (assigning in reverse leaves the first), categories ranked by it
        first = np.full(k, len(codes_present), dtype=np.int64)
        first[codes_present[::-1]] = np.arange(len(codes_present) - 1, -1, -1)
        used = np.flatnonzero(first < len(codes_present))
        order = used[np.argsort(first[used], kind="stable")]
        rank = np.full(k, -1, dtype=np.int64)
        rank[order] = np.arange(len(order))
        codes = rank[codes_present]
    u = pd.Series(np.asarray(categories, dtype=object)[order], dtype="str")
    text = s if complete else s[present]  # still codes: string methods and patterns run on the categories
    return text, codes, u


def _distinct_view(s: pd.Series, text: pd.Series | None, u: pd.Series | None,
                   plain: pd.Series | None) -> tuple[pd.Series, pd.Series | None, int, pd.Series]:
    """The column's distinct non-missing values as a column of their own (same dtype; text as its distinct texts),
    with their count and their numbers: the name-and-value rules run on it first, since a rule that finds
    nothing in the distinct values finds nothing in the cells (see :func:`_may_fire`)."""
    if text is not None and u is not None and plain is not None:
        x = numbers(u, u, np.arange(len(u)), u, plain)
        return u, u, len(u), x
    present = s.dropna()
    values = pd.Series(pd.unique(present), dtype=s.dtype) if len(present) else present.reset_index(drop=True)
    return values, None, len(values), numbers(values, None)


def _gate(rule, tokens: list[str], s: pd.Series, highs: dict | None = None) -> bool:
    """A cheap necessary condition for a rule to fire on a column without text: the rule's name test, or for the
    rules that read numbers whatever the name, a largest number big enough to be a date or a long identifier.
    ``highs`` (a dict per column) keeps that largest number for the column's next rules."""
    grams = _grams(tokens)
    if rule is zip_findings:
        return bool(set(tokens) & _ZIP or grams & _ZIP or (grams & _RESIDENCE and set(tokens) <= _RESIDENCE | _COMPANIONS))
    if rule is age_findings:
        return bool(grams & _YOB or set(tokens) & _AGE or grams & _AGE)
    typed = isinstance(s.dtype, (pd.DatetimeTZDtype, pd.PeriodDtype)) or pd.api.types.is_datetime64_any_dtype(s.dtype)
    if rule is date_findings and (typed or _is_dob(tokens) or _is_date_name(tokens)):
        return True
    if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype) \
            or pd.api.types.is_complex_dtype(s.dtype):
        return False  # numbers() reads no number from such a column: the number rules cannot fire
    high = None if highs is None else highs.get("high")
    if high is None:
        values = s.to_numpy(dtype=float, na_value=np.nan)
        finite = values[np.isfinite(values)]
        high = finite.max() if finite.size else -np.inf
        if highs is not None:
            highs["high"] = high
    return bool(high >= 1e8) if rule is long_number_findings else bool(high >= 19000101 or (
        _is_time_name(tokens) and high >= 9.46e8))


def _may_fire(rule, tokens: list[str], s: pd.Series, text: pd.Series | None, present: int, x: pd.Series) -> bool:
    """Whether ``rule`` can find something in a column whose distinct values are ``s`` (a necessary condition).

    Rules that flag a column when some cell matches find something in the cells exactly when they find it in
    the distinct values. Two rules also weigh how many cells match; for them the test is that some distinct value
    could match at all: a number that reads as YYYYMMDD or as epoch seconds (unnamed dates), a long whole number.
    """
    if rule is long_number_findings:
        return bool((np.isfinite(x) & (x >= 1e8) & (x < 1e15) & (x == np.floor(x))).any())
    if rule is date_findings and present and not (_is_dob(tokens) or _is_date_name(tokens)) \
            and not (isinstance(s.dtype, (pd.DatetimeTZDtype, pd.PeriodDtype))
                     or pd.api.types.is_datetime64_any_dtype(s.dtype)):
        finite = x[np.isfinite(x)]
        epoch = _is_time_name(tokens) and bool((finite.between(9.46e8, 2.2e9) | finite.between(9.46e11, 2.2e12)).any())
        month, day = (finite // 100) % 100, finite % 100
        yyyymmdd = ((finite >= 19000101) & (finite <= 21001231) & (finite == np.floor(finite)) & month.between(1, 12)
                    & day.between(1, 31)).any()
        return bool(epoch or yyyymmdd)
    return bool(rule(tokens, s, text, present, x))


def _all_iso_dates(s: pd.Series) -> bool:
    """True when the column holds no text, or every non-missing value is an ISO 8601 date (read as text:
    pandas would read bare numbers as epochs)."""
    text = _as_text(s)
    return text is None or bool(pd.to_datetime(text, format="ISO8601", errors="coerce").notna().sum()
                                == s.notna().sum())


_first_rows = first_rows  # deidentify's name for it


def _header_findings(name: object) -> list[str]:
    """Kinds of identifier held by the header text itself (an e-mail address used as a column name)."""
    return list(_header_kinds(str(name)))


def _phone_in(value: str) -> bool:
    """:func:`~combotherapy.privacy.patterns.phone_cells` of one value (the same Python patterns, without a Series:
    headers are scanned one at a time)."""
    if _compiled(VALUE_PATTERNS[PHONE]).search(value):
        return True
    if not _compiled(r"\+|(?:^|[^0-9])00[1-9]").search(value):
        return False
    return any(8 <= sum(ch.isdigit() for ch in m.lstrip("0+")) + 0 <= 15 for m in _INTL.findall(value))


@lru_cache(maxsize=65536)
def _header_kinds(name: str) -> tuple[str, ...]:
    kinds = [k for k in _HEADER_KINDS if k != PHONE and re.search(VALUE_PATTERNS[k], str(name))]
    if _phone_in(str(name)):
        kinds.append(PHONE)
    if is_name_header(str(name)):
        kinds.append(NAME)
    return tuple(kinds)


def _in(name: object, names: set) -> bool:
    try:
        return name in names
    except TypeError:  # an unhashable label
        return False


@lru_cache(maxsize=64)
def _any_prefilter(kinds: tuple[str, ...]) -> str:
    # a pattern's leading (?i) becomes a scoped (?i:...) group: the same search in RE2, and valid in Python's re
    # (which refuses a flag after the start), so that a few values can take this pass through Python's patterns too
    return "|".join(f"(?i:{PREFILTER[k][4:]})" if PREFILTER[k].startswith("(?i)") else f"(?:{PREFILTER[k]})"
                    for k in kinds)


def _study_ids(u: pd.Series) -> bool:
    """Structured study ids (``101-01-0001``): digit groups sharing their leading digits (site, country).

    Real phone numbers and SSNs have (nearly) as many leading-digit prefixes as values; study ids share a few.
    """
    if len(u) and bool(contains(u.iloc[:1], PSEUDONYM).iloc[0]) and _pseudonyms(u).all():
        return True  # pseudonyms written by deidentify
    # the first three digits of each value holding at least three (its digits run together, cut to three)
    lead = _leading_digits(u)
    if len(lead) <= 1:
        return True
    if pd.api.types.is_integer_dtype(lead.dtype):  # three digits as a number below 1000
        distinct = int(np.count_nonzero(np.bincount(lead.to_numpy(), minlength=1000)))
    else:
        distinct = lead.nunique()
    return distinct <= max(1.0, 0.75 * len(lead))


def _leading_digits(u: pd.Series) -> pd.Series:
    """The first three digits of each value that holds at least three digits (other values left out).

    Read from the UTF-8 bytes of all values at once: ASCII digits are single bytes that no other character's
    encoding contains, so the digits of value i are the digit bytes between its offsets.
    """
    import pyarrow as pa

    if len(u) <= _SMALL:
        digits = u.str.replace(r"[^0-9]", "", regex=True)
        return digits[digits.str.len() >= 3].str[:3]
    arr = pa.array(u.array, type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.fill_null("")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None else np.empty(0, np.uint8)
    is_digit = (data >= 48) & (data <= 57)
    fixed = _fixed_digits(offsets, data, is_digit)
    if fixed is not None:  # every value as long as the first, with its digits in the same places (ids of one format)
        lead = fixed
        return pd.Series(lead, index=u.index) if len(lead) else pd.Series(lead, index=u.index[:0])
    where = np.flatnonzero(is_digit)
    before = np.concatenate([[0], np.cumsum(is_digit, dtype=np.int64)])
    first, last = before[offsets[:-1]], before[offsets[1:]]  # digits before each value's start and end
    found = (last - first) >= 3
    at = first[found]
    lead = (data[where[at]].astype(np.int64) - 48) * 100 + (data[where[at + 1]] - 48) * 10 + (data[where[at + 2]] - 48)
    return pd.Series(lead, index=u.index[found])


def _fixed_digits(offsets: np.ndarray, data: np.ndarray, is_digit: np.ndarray) -> np.ndarray | None:
    """The leading three digits of every value when all values have the same byte length and their digits stand at
    the same places (None otherwise, and when they have fewer than three digits)."""
    n = len(offsets) - 1
    width = int(offsets[1] - offsets[0]) if n else 0
    if not n or not width or offsets[-1] - offsets[0] != n * width or not (np.diff(offsets) == width).all():
        return None
    start = int(offsets[0])
    grid = is_digit[start: start + n * width].reshape(n, width)
    places = np.flatnonzero(grid[0])
    if len(places) < 3 or not (grid == grid[0]).all():
        return None
    block = data[start: start + n * width].reshape(n, width)
    a, b, c = places[:3]
    return (block[:, a].astype(np.int64) - 48) * 100 + (block[:, b] - 48) * 10 + (block[:, c] - 48)


def _pseudonyms(u: pd.Series) -> pd.Series:
    """Mask over distinct values: written by deidentify (13 characters, so only those are matched)."""
    if len(u) <= _SMALL:
        return contains(u, PSEUDONYM)
    out = np.zeros(len(u), dtype=bool)
    long13 = (u.str.len() == 13).fillna(False).to_numpy(dtype=bool)
    if long13.any():
        out[long13] = contains(u[long13], PSEUDONYM).to_numpy(dtype=bool)
    return pd.Series(out, index=u.index)


def _value_hits(text: pd.Series, codes: np.ndarray, u: pd.Series, plain: pd.Series, skip: set[str]) -> list[tuple]:
    """(kind, found_by, cells, reason, rule, rows) for each kind of identifier in a text column's values.

    Patterns run once per distinct value (``u``, with ``codes`` mapping cells to them), and only on values
    that pass a cheap test for the pattern's tell-tale characters.
    """
    masks = _value_masks(u, plain, skip)
    hits = []
    for kind, m in (masks or {}).items():
        matched = m.index[m.to_numpy(dtype=bool)].to_numpy()
        if not matched.size:
            continue
        cells = np.isin(codes, matched)
        rows = tuple(int(r) for r in text.index[cells][:5])
        reason = {NAME: "person names in the values", RECORD: "record numbers in the values",
                  AGE: f"ages above {89} written in the values"}.get(kind, f"cells match the {kind} pattern")
        hits.append((kind, "values", int(cells.sum()), reason, "date" if kind == FULL_DATE else "drop", rows))
    return hits


def _value_masks(u: pd.Series, plain: pd.Series, skip: set[str], superset: bool = False,
                 n_words: Callable[[], int] | None = None) -> dict[str, pd.Series] | None:
    """Masks over the distinct values ``u``, one per kind of identifier that some value may carry.

    ``superset=True``: ``u`` may hold values that no cell has (a Categorical's unused categories); the masks are then
    only good for saying that nothing matches, and None says that the answer could depend on which values are used
    (the person-name rules weigh values against each other: a column of given names alone, more candidates than
    :data:`~combotherapy.privacy.names.MAX_VALUES`). ``n_words``: when ``u`` holds only the values that can match
    anything (a screened column), the number of the column's values that the share of given names is taken over.
    """
    # deidentify's own pseudonyms ("S" + 12 hex characters) are never identifiers, whatever the column is called:
    # their hex digits could otherwise read as a phone number or a record number
    words = u[~plain & ~_pseudonyms(u)]
    masks: dict[str, pd.Series] = {}
    # the patterns read ASCII: no-break spaces, Unicode dashes, full-width or Arabic-Indic digits are folded first
    # (only values holding a character outside ASCII are touched); a value that becomes a bare number ("０１２３...")
    # goes through the digit-run rules below
    read = ascii_forms(words)
    folded = read[contains(read, NUMBER).to_numpy(dtype=bool)] if read is not words else read.iloc[:0]
    wanted = [k for k in VALUE_PATTERNS if k not in skip]
    # one pass of every wanted prefilter at once keeps the values any of them can pass; each prefilter then runs on
    # those few (a value a prefilter passes passes the alternation too, so the candidates are the same; on a few
    # values both run through Python's cached patterns, and most columns' words pass none: no per-kind search)
    some = read[contains(read, _any_prefilter(tuple(wanted)))] if len(words) and wanted else read
    for kind, pattern in VALUE_PATTERNS.items():
        if kind in skip or words.empty or some.empty:
            continue
        cand = some[contains(some, PREFILTER[kind])]
        if kind == IP:
            cand = cand.str.replace(VERSION, " ", regex=True)
        elif kind in _MASKED and len(cand):
            # not identifiers although shaped like them: TNM stages ("T2N0M0" is a Canadian postcode's shape),
            # the Safe Harbor category "90 or older" ("aged 90+", ">= 90 years")
            cand = cand.str.replace(_MASKED[kind], " ", regex=True)
        if cand.empty:
            continue
        masks[kind] = phone_cells(cand) if kind == PHONE else contains(cand, pattern)
    digit_rules = ((PHONE, DIGITS_PHONE), (SSN, DIGITS_SSN), (RECORD, DIGITS_RECORD), (ACCOUNT, DIGITS_CARD))
    digit_values = pd.concat([u[plain], folded]) if len(folded) else u[plain]
    for kind, pattern in digit_rules:
        if kind not in skip and len(digit_values):
            m = contains(digit_values, pattern)
            masks[kind] = m if kind not in masks else pd.concat([masks[kind], m])
    named = candidates(words) if NAME not in skip and not words.empty else words.iloc[:0]
    if len(named):
        if superset and len(named) > MAX_VALUES:
            return None  # evenly spaced candidates of the used values are not those of all values
        longer = contains(named, r"[^ ]+ [^ ]+ [^ ]")
        m = name_values(named) | names_in_text(named[longer]).reindex(named.index, fill_value=False)
        single = given_name_only(named).reindex(words.index, fill_value=False)
        if superset and single.any():
            return None  # a share of the used values decides
        if single.sum() >= 3 and (single.mean() if n_words is None else single.sum() / n_words()) >= 0.5:
            m = m.reindex(words.index, fill_value=False) | single  # a column of given names alone
        masks[NAME] = m
    return masks


_MASKED = {ZIP: TNM, AGE: AGE_TOPCODED}

#: whether _scan tries privacy.fast.quick_column first (tests compare both ways)
_QUICK = True

#: above this many columns, columns of plain numbers written as text are recognised in one pass over all cells
_MANY = 50


def _plain_number_columns(frame: pd.DataFrame) -> dict[int, int]:
    """Text columns (position -> non-missing cells) whose distinct values are all plain, finite numbers below
    10^7 (no digit run a phone, SSN or record-number pattern matches): found with one pass of each pattern over
    the distinct values of all such columns together, as a wide file of measurements written as text has.

    For such a column, whose name announces no ZIP code, age, year of birth, date or time (:func:`_quiet_by_name`),
    no value rule and no name-and-value rule can fire (values: no word to match, no digit pattern matched; numbers:
    none large enough for a date or a long identifier), so its findings are those of its header and name alone.
    """
    dtypes = frame.dtypes.to_numpy()
    text = [i for i, d in enumerate(dtypes) if pd.api.types.is_object_dtype(d) or (pd.api.types.is_string_dtype(d)
                                                               and not isinstance(d, pd.CategoricalDtype))]
    if not text:
        return {}
    block = frame.iloc[:, text].to_numpy(dtype=object)
    filled = pd.DataFrame(block).notna().to_numpy()
    present = filled.sum(axis=0)
    cols = np.broadcast_to(np.arange(len(text)), block.shape)[filled]
    values = pd.Series(block[filled], dtype=object).astype("str")  # as _as_text reads each cell
    codes, distinct = pd.factorize(values)
    u = pd.Series(distinct, dtype="str")
    plain = contains(u, NUMBER).to_numpy(dtype=bool)
    x = np.full(len(u), np.nan)
    if plain.any():
        x[plain] = pd.to_numeric(u[plain], errors="coerce").to_numpy(dtype=float)
    fine = plain & np.isfinite(x) & (np.abs(x) < 1e7)
    if fine.any():
        digits = np.zeros(len(u), dtype=bool)
        for pattern in (DIGITS_PHONE, DIGITS_SSN, DIGITS_RECORD):
            digits[fine] |= contains(u[fine], pattern).to_numpy(dtype=bool)
        fine &= ~digits
    bad = np.zeros(len(text), dtype=bool)
    np.logical_or.at(bad, cols, ~fine[codes]) if len(codes) else None
    return {text[j]: int(present[j]) for j in range(len(text)) if present[j] and not bad[j]}


def _quiet_by_name(name: object) -> bool:
    """The name announces none of the identifiers that the name-and-value rules look for in numbers."""
    tokens = _tokens(name)
    grams = _grams(tokens)
    return not (set(tokens) & _ZIP or grams & _ZIP or grams & _RESIDENCE or grams & _YOB or set(tokens) & _AGE
                or grams & _AGE or _is_dob(tokens) or _is_time_name(tokens))


def _name_findings(pos: int, name: object, present: int, kind: str, subject: set) -> tuple[list[_Finding], list[str],
                                                                                           set[str], str]:
    """Findings from a column's header text and its name (no value looked at); with its tokens, roles and label."""
    tokens = _tokens(name)
    role = roles(tokens, kind) | ({"subject"} if _in(name, subject) else set())
    in_header = _header_findings(name)
    label = f"column {pos + 1} (header withheld)" if in_header else printable(name)
    out = [_Finding(pos, name, k, "column header", present, f"the column header itself holds {k}", "drop", (),
                    label) for k in in_header]
    if "publication" not in role:
        out += [_Finding(pos, name, k, "column name", present, f"the column name says {k}", "drop", (), label)
                for k in _name_kinds(name)]
    return out, tokens, role, label


def _scan_column(pos: int, name: object, s: pd.Series, kind: str, subject: set) -> list[_Finding]:
    """Every finding in one column: its header, its name, name-and-value rules, then values."""
    present = int(s.notna().sum())
    out, tokens, role, label = _name_findings(pos, name, present, kind, subject)
    s = s.reset_index(drop=True)  # masks are indexed by row position, so reported rows are positions
    coded = _coded_text(s)
    codes = u = plain = None
    if coded is not None:  # text held as codes (a Categorical of text): its distinct values are at hand
        text, codes, u = coded
        plain = contains(u, NUMBER)
    else:
        text = _as_text(s)
    if text is not None and coded is None:
        # every value rule works on the distinct values; cells are counted through the codes
        codes, uniques = pd.factorize(text)
        u = pd.Series(uniques, dtype="str")
        plain = contains(u, NUMBER)
    rules = [zip_findings] + ([] if "publication" in role else [date_findings, age_findings])
    if not role & {"subject", "code"}:
        rules.append(long_number_findings)
    distinct = None
    x = None
    highs: dict = {}
    for rule in rules:
        if rule is long_number_findings and out:
            continue
        if text is None and not _gate(rule, tokens, s, highs):
            continue  # by its name and its largest number the column cannot fire this rule
        if distinct is None:
            distinct = _distinct_view(s, text, u, plain)
        if not _may_fire(rule, tokens, *distinct):
            continue  # the rule finds nothing in the distinct values, so nothing in the cells
        if x is None:
            x = numbers(s, text, codes, u, plain)
        out.extend(_finding(pos, name, f, label) for f in rule(tokens, s, text, present, x))
    if text is not None and len(text):
        skip = {f.kind for f in out} | ({FULL_DATE} if any(f.kind == MONTH_DATE for f in out) else set())
        if _in(name, subject) or tokens in (["subject"], ["subjid"], ["usubjid"]):
            skip.add(RECORD)  # the subject column is pseudonymised (hashed) by deidentify, not dropped
        if role & {"subject", "code"} and ("code" in role or _study_ids(u)):
            skip |= {PHONE, SSN, IP, RECORD, NATIONAL_ID, ACCOUNT}  # digit groups there are study ids
        if "version" in role:
            skip |= {IP, FULL_DATE, MONTH_DATE}
        if "publication" in role:
            skip |= {NAME, FULL_DATE, MONTH_DATE, AGE}
        assert codes is not None and u is not None and plain is not None
        out.extend(_finding(pos, name, f, label) for f in _value_hits(text, codes, u, plain, skip))
    return out


def _scan(frame: pd.DataFrame, kind: str = "trial", subject: str | Iterable[object] | None = None) -> list[_Finding]:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if kind not in KINDS_OF_FILE:
        raise DataError(f"kind must be 'trial' (patient-level data) or 'study' (published study-level data), "
                        f"not {printable(kind)!r}")
    subjects = set() if subject is None else ({subject} if isinstance(subject, str) else set(subject))
    from .fast import (  # verdicts from the values at hand, when they are certain
        header_only,
        quick_column,
        quiet_categoricals,
    )

    found: list[_Finding] = []
    quiet = _plain_number_columns(frame) if frame.shape[1] > _MANY else {}
    coded = set(quiet_categoricals(frame, kind, subjects)) if _QUICK else set()
    for pos in range(frame.shape[1]):
        name = frame.columns[pos]
        if pos in quiet and _quiet_by_name(name):
            found.extend(_name_findings(pos, name, quiet[pos], kind, subjects)[0])
            continue
        if pos in coded:
            found.extend(header_only(pos, name, frame.iloc[:, pos], kind, subjects))
            continue
        column = frame.iloc[:, pos]
        quick = quick_column(pos, name, column, kind, subjects) if _QUICK else None
        found.extend(_scan_column(pos, name, column, kind, subjects) if quick is None else quick)
    # an identifying index (names, record numbers, dates as the row labels) counts too
    if not isinstance(frame.index, pd.RangeIndex):
        for level in range(frame.index.nlevels):
            values = frame.index.get_level_values(level)
            label = (f"index level '{printable(values.name)}'" if values.name is not None
                     else f"index level {level}")
            found.extend(_Finding(-1 - level, label, f.kind, f.found_by, f.n_cells, f.reason, "index", f.rows, label)
                         for f in _scan_column(-1 - level, values.name if values.name is not None else "",
                                               pd.Series(values), kind, subjects))
    return found
