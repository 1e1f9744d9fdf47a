"""De-identification: turn a semi-identified export into one that passes the identifier guard."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, Problem
from .detect import check_identifiers
from .headers import _AGE_UNITS, AGE_TOP, HASH_CHARS, MIN_KEY_BYTES, MONTH_DATE, RESTRICTED_ZIP3, _tokens, roles
from .patterns import contains
from .scan import _all_iso_dates, _as_text, _first_rows, _scan, printable, safe_label

#: words of a column name that announce free text (with multi-word values)
_FREE_TEXT_WORDS = frozenset({"note", "notes", "comment", "comments", "text", "remark", "remarks", "narrative",
                              "description", "memo", "freetext", "free", "observation", "observations",
                              "observaciones", "bemerkungen", "bemerkung", "commentaire", "commentaires", "details",
                              "detail", "history", "story", "message", "messages", "summary", "specify", "other"})


def _check_key(key: object) -> bytes:
    """The key as bytes, refused when short or guessable (one repeated character, whitespace, few symbols)."""
    if not isinstance(key, (str, bytes)):
        raise DataError(f"key must be a secret text (str or bytes, at least {MIN_KEY_BYTES} bytes) that you keep "
                        f"apart from the data, not {type(key).__name__}")
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    if len(key_bytes) < MIN_KEY_BYTES:
        raise DataError(f"the hashing key must have at least {MIN_KEY_BYTES} bytes (got {len(key_bytes)}); "
                        "use a long random secret and keep it apart from the data")
    counts = np.bincount(np.frombuffer(key_bytes, dtype=np.uint8), minlength=256)
    p = counts[counts > 0] / len(key_bytes)
    bits = float(-(p * np.log2(p)).sum() * len(key_bytes))  # Shannon estimate of the key's information
    if not key_bytes.strip() or (counts > 0).sum() < 8 or bits < 48:
        raise DataError("the hashing key is too weak (whitespace, one repeated character or too few distinct "
                        f"characters, about {bits:.0f} bits); use a long random secret, e.g. secrets.token_hex(32), "
                        "and keep it apart from the data")
    return key_bytes


def free_text_columns(frame: pd.DataFrame) -> list[object]:
    """Text columns holding free text: many-worded values under a note-like name, or mostly long values.

    Free text can name people in ways no pattern foresees, so :func:`deidentify` drops it by default.
    """
    out = []
    for pos in range(frame.shape[1]):
        name, text = frame.columns[pos], _as_text(frame.iloc[:, pos])
        if text is None or not len(text) or roles(_tokens(name)) & {"subject", "code"}:
            continue
        u = pd.Series(pd.unique(text), dtype="str")
        multi = contains(u, r"[^ ]+ [^ ]+ [^ ]")      # three words or more
        long = contains(u, r"(?:[^ ]+ ){5}[^ ]") | (u.str.len() >= 60)
        named = bool(set(_tokens(name)) & _FREE_TEXT_WORDS)
        if (named and multi.any()) or (len(u) >= 3 and long.mean() >= 0.25):
            out.append(name)
    return out


__all__ = ["deidentify"]


def _hash_ids(values: pd.Series, key: bytes, column: str) -> pd.Series:
    if values.isna().any():
        rows = np.flatnonzero(values.isna().to_numpy())
        raise DataError(None, [Problem(column, "subject id missing; every row needs one before hashing",
                                       tuple(int(r) for r in rows[:5]), int(rows.size))])
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(values.dtype.categories.dtype)
    if pd.api.types.is_float_dtype(values.dtype) and (values == np.floor(values)).all():
        values = values.astype("int64")  # ids are compared as text: 101.0 read from a spreadsheet is 101
    codes, uniques = pd.factorize(values.astype(str))
    # hashing is per distinct id (not per row); HMAC has no vectorised form
    digests = np.array(["S" + hmac.new(key, str(u).encode("utf-8"), hashlib.sha256).hexdigest()[:HASH_CHARS]
                        for u in uniques], dtype=object)
    if len(set(digests)) != len(digests):
        raise DataError(f"column '{column}': two subject ids hash to the same {HASH_CHARS}-character code; "
                        "use another key")
    return pd.Series(digests[codes], index=values.index, dtype="str")


def _parse_dates(s: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.tz_localize(None) if isinstance(s.dtype, pd.DatetimeTZDtype) else s
        return out.dt.normalize()
    if isinstance(s.dtype, pd.PeriodDtype):
        return s.dt.to_timestamp().dt.normalize()
    text = _as_text(s.reset_index(drop=True))
    if text is None:
        raise DataError(None, [Problem(column, "numbers in a date column (YYYYMMDD or serial dates?); convert it "
                                       "with pd.to_datetime(..., format=...) first, or drop it with drop=[...]",
                                       (), int(s.notna().sum()))])
    parsed = pd.to_datetime(s, format="ISO8601", errors="coerce")
    bad = s.notna() & parsed.isna()
    if bad.any():
        # day/month order is ambiguous outside ISO 8601: the user states the format, nothing is guessed
        raise DataError(None, [Problem(column, "dates not in ISO 8601 form (YYYY-MM-DD); parse the column "
                                       "with pd.to_datetime(frame[col], format=...) and call deidentify again, "
                                       "or drop it with drop=[...]", _first_rows(bad), int(bad.sum()))])
    return parsed.dt.normalize()


def _zip3(s: pd.Series, column: str) -> tuple[pd.Series, int]:
    if pd.api.types.is_numeric_dtype(s.dtype):
        # numbers are read as 5-digit codes that lost their leading zeros (2134 is 02134)
        num = pd.to_numeric(s, errors="coerce")
        ok = num.isna() | ((num >= 0) & (num <= 99999) & (num == np.floor(num)))
        text = num.where(ok).astype("Int64").astype("str").str.zfill(5)
    else:
        text = s.astype("str").str.replace(r"[ \t]", "", regex=True)
        ok = text.isna() | text.str.fullmatch(r"[0-9]{3,5}(?:-?[0-9]{4})?").fillna(False)
        # 4-digit codes lost their leading zero in a spreadsheet; 3-digit codes are already truncated
        five = text.str.extract(r"^([0-9]{3,5})", expand=False)
        text = five.where(five.str.len() != 4, "0" + five)
    if not ok.all():
        bad = ~ok
        raise DataError(None, [Problem(column, "not a US ZIP code (5 or 9 digits); drop the column with drop=[...] "
                                       "or truncate it yourself", _first_rows(bad), int(bad.sum()))])
    three = text.str[:3]
    small = three.isin(RESTRICTED_ZIP3)
    return three.where(~small, "000").astype("str"), int(small.sum())


def deidentify(frame: pd.DataFrame, *, key: str | bytes, subject: str | None = "subject",
               drop: Sequence[str] | None = None, dates: Sequence[str] | None = None,
               randomisation_date: str | None = None, zip_columns: Sequence[str] | None = None,
               age_columns: Sequence[str] | None = None, keep: Sequence[str] = (),
               drop_free_text: bool = True) -> pd.DataFrame:
    """Turn a semi-identified export into one that passes :func:`check_identifiers`.

    Parameters
    ----------
    frame : DataFrame
        The export; never modified.
    key : str or bytes
        Secret key for the subject-id hashes (at least 16 bytes). Keep it apart from the data:
        with it the same ids give the same codes in every run, so later exports can be linked;
        without it the codes cannot be reversed.
    subject : str or None
        Column of subject ids, replaced by keyed hashes (``None``: no subject column).
    drop : sequence of str, optional
        More columns to drop, besides those :func:`find_identifiers` flags.
    dates : sequence of str, optional
        More calendar-date columns to convert (flagged ones are converted anyway).
    randomisation_date : str, optional
        Column with each subject's randomisation date; required when there are dates to convert.
        It is dropped after use.
    zip_columns, age_columns : sequence of str, optional
        More ZIP and age columns (flagged ones are handled anyway).
    keep : sequence of str
        Flagged columns (or free-text columns) the user has checked and keeps as they are.
    drop_free_text : bool
        Drop free-text columns (:func:`free_text_columns`) even when no identifier was found in them
        (default), because free text can name people in ways no pattern foresees.

    Returns
    -------
    DataFrame
        A new frame. ``result.attrs["deidentify_log"]`` lists, per column, what was done (counts,
        never values).

    Notes
    -----
    - Direct identifiers (names, contact details, record numbers, ...) and free-text columns are
      dropped.
    - Subject ids become ``"S" + HMAC-SHA256(key, id)`` truncated to 12 hex characters
      (48 bits; a collision among distinct ids is checked for and refused). A subject column whose
      name is itself an identifier (``mrn``) is renamed ``subject``. The key must have at least 16
      bytes and look random: one repeated character, whitespace, fewer than 8 distinct characters
      or under about 48 bits (Shannon estimate) are refused.
    - A calendar date ``d`` of subject ``i`` becomes ``(d - r_i)`` in whole days, with ``r_i``
      the subject's randomisation date; column ``visit_date`` becomes ``visit_day`` and other
      columns gain ``_day``. Text dates must be ISO 8601 (other orders are ambiguous).
    - A date of birth becomes the age in completed years at randomisation, top-coded at 90,
      in column ``age_at_randomisation`` (or ``<column>_age`` if that exists).
    - ZIP codes keep their first 3 digits; the 17 prefixes of areas with 20,000 people or fewer
      (:data:`RESTRICTED_ZIP3`) become ``"000"``.
    - Ages above 90 become 90, the category "90 or older"; years of birth implying an age over
      89 become the current year minus 90.
    - The output always passes :func:`check_identifiers` (checked before it is returned).

    References
    ----------
    45 CFR 164.514(b)(2); HHS (2012), Guidance Regarding Methods for De-identification of
    Protected Health Information, section 2.

    Example
    -------
    >>> import pandas as pd, combotherapy as ct
    >>> raw = pd.DataFrame({"subject": ["MRN1", "MRN2"], "email": ["a@x.org", "b@y.org"], "age": [45, 93]})
    >>> safe = ct.deidentify(raw, key="a long secret kept elsewhere")
    >>> list(safe.columns), safe["age"].tolist()
    (['subject', 'age'], [45, 90])
    """
    key_bytes = _check_key(key)
    named = [c for c in [subject, randomisation_date, *(drop or ()), *(dates or ()), *(zip_columns or ()),
                         *(age_columns or ()), *keep] if c is not None]
    missing = [c for c in named if c not in frame.columns]
    if missing:
        raise DataError(f"deidentify: no column(s) {[safe_label(c, -1) for c in missing]} in the frame; its columns "
                        f"are {[safe_label(c, i) for i, c in enumerate(frame.columns)]}")
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()]
        raise DataError(f"deidentify: duplicated column names {[safe_label(c, -1) for c in dup]}; rename them first")
    found = [f for f in _scan(frame, subject=subject) if f.column not in set(keep)]
    if any(f.rule == "index" for f in found):
        raise DataError("deidentify: the row index carries identifiers; call frame.reset_index() first "
                        "so that it is handled as a column")
    # work on row positions (reported rows, safe alignment); the caller's index is put back at the end
    original_index, attrs, frame = frame.index, dict(frame.attrs), frame.reset_index(drop=True)

    out = frame.copy()
    log: list[dict[str, object]] = []
    kinds: dict[object, list[str]] = {}
    for f in found:
        kinds.setdefault(f.column, []).append(f.kind)

    labels = {f.column: f.label for f in found}

    def note(column: object, action: str) -> None:
        log.append({"column": labels.get(column, safe_label(column, -1)), "action": action})

    # date columns: named or typed as dates, or text columns whose every value is an ISO date
    date_cols = list(dict.fromkeys([*(dates or ()), *(f.column for f in found if f.rule == "date" and (
        f.found_by == "column name" or _all_iso_dates(frame[f.column])))]))
    dob_cols = list(dict.fromkeys(f.column for f in found if f.rule == "dob"))
    zip_cols = list(dict.fromkeys([*(zip_columns or ()), *(f.column for f in found if f.rule == "zip")]))
    age_cols = list(dict.fromkeys([*(age_columns or ()), *(f.column for f in found if f.rule == "age")]))
    yob_cols = list(dict.fromkeys(f.column for f in found if f.rule == "yob"))
    # columns the user drops are not converted first
    dropped = set(drop or ())
    date_cols, dob_cols, zip_cols, age_cols = ([c for c in cols if c not in dropped and c != randomisation_date]
                                               for cols in (date_cols, dob_cols, zip_cols, age_cols))
    yob_cols = [c for c in yob_cols if c not in dropped]
    handled = {subject, randomisation_date, *date_cols, *dob_cols, *zip_cols, *age_cols, *yob_cols}

    if subject is not None:
        out[subject] = _hash_ids(frame[subject], key_bytes, safe_label(subject, -1))
        note(subject, f"replaced ids by keyed hashes (HMAC-SHA256, {HASH_CHARS} hex characters)")

    if date_cols or dob_cols:
        if randomisation_date is None:
            raise DataError(f"deidentify: columns {[safe_label(c, -1) for c in date_cols + dob_cols]} hold calendar dates; "
                            "name the randomisation-date column with randomisation_date=... to turn them into days "
                            "since randomisation, or drop them with drop=[...]")
        rand = _parse_dates(frame[randomisation_date], randomisation_date)
        if subject is not None:
            per = rand.groupby(frame[subject].astype(str), sort=False)
            if (per.nunique() > 1).any():
                raise DataError(f"column '{safe_label(randomisation_date, -1)}': {int((per.nunique() > 1).sum())} subject(s) have "
                                "more than one randomisation date; it must be constant within a subject")
            rand = per.transform("first")  # rows without it take their subject's date
        for c in date_cols:
            d = _parse_dates(frame[c], safe_label(c, -1))
            new = re.sub(r"(?i)[_ .]?(?:date|dt|dtc|dttm|datetime)$", "", str(c)) + "_day"
            if new in out.columns and new != c:
                raise DataError(f"deidentify: column '{safe_label(c, -1)}' would become '{printable(new)}', which already exists; rename one")
            days = (d - rand).dt.days.astype("Int64")
            out.insert(out.columns.get_loc(c), new, days)
            out = out.drop(columns=c)
            month = " (month precision: the first of the month was used)" if MONTH_DATE in kinds.get(c, ()) else ""
            note(c, f"converted to days since randomisation in '{new}' ({int(days.isna().sum())} missing){month}")
        for c in dob_cols:
            b = _parse_dates(frame[c], safe_label(c, -1))
            before = (rand.dt.month < b.dt.month) | ((rand.dt.month == b.dt.month) & (rand.dt.day < b.dt.day))
            age = (rand.dt.year - b.dt.year - before.astype(int)).astype("Int64")
            n_top = int((age > AGE_TOP).sum())
            age = age.clip(upper=AGE_TOP)
            new = "age_at_randomisation" if "age_at_randomisation" not in out.columns else f"{c}_age"
            out.insert(out.columns.get_loc(c), new, age)
            out = out.drop(columns=c)
            note(c, f"date of birth converted to completed years at randomisation in '{new}', "
                    f"{n_top} top-coded at {AGE_TOP}")
    if randomisation_date is not None:
        out = out.drop(columns=randomisation_date)
        note(randomisation_date, "randomisation date dropped after use")

    for c in zip_cols:
        out[c], n_small = _zip3(frame[c], safe_label(c, -1))
        note(c, f"truncated to 3-digit ZIP; {n_small} in areas of 20,000 people or fewer set to 000")
    for c in age_cols:
        scale = next((_AGE_UNITS[t] for t in _tokens(c) if t in _AGE_UNITS), 1.0)
        num = pd.to_numeric(frame[c], errors="coerce")
        bad = frame[c].notna() & num.isna()
        if bad.any():
            raise DataError(None, [Problem(safe_label(c, -1), "ages that are not numbers; fix or drop the column",
                                           _first_rows(bad), int(bad.sum()))])
        top = num > AGE_TOP * scale
        out[c] = num.where(~top, AGE_TOP * scale)
        if pd.api.types.is_integer_dtype(frame[c].dtype):
            out[c] = out[c].astype(frame[c].dtype)
        note(c, f"top-coded at {AGE_TOP} years ('90 or older'): {int(top.sum())} cells")

    for c in yob_cols:
        # Safe Harbor: a year of birth implying an age over 89 joins the category "90 or older"
        oldest = pd.Timestamp.now().year - AGE_TOP
        num = pd.to_numeric(frame[c], errors="coerce")
        old = num < oldest
        out[c] = num.where(~old, oldest)
        note(c, f"years of birth before {oldest} set to {oldest} ('90 or older'): {int(old.sum())} cells")

    if drop_free_text:
        for c in free_text_columns(frame):
            if c not in handled and c not in set(keep):
                kinds.setdefault(c, []).append("free text (may name people; keep=[...] keeps it)")
    to_drop = [c for c in dict.fromkeys([*(drop or ()), *(f.column for f in found), *kinds])
               if c not in handled and c in out.columns]
    for c in to_drop:
        why = ", ".join(dict.fromkeys(kinds.get(c, ["asked for with drop="])))
        note(c, f"dropped ({why})")
    out = out.drop(columns=to_drop)
    if subject is not None and any(f.column == subject and f.found_by == "column name" for f in found):
        # the hashes are pseudonyms, not record numbers: a header such as 'mrn' would misname them
        new = next(n for n in ("subject", "subject_id", "pseudonym") if n not in out.columns)
        out = out.rename(columns={subject: new})
        note(subject, f"renamed to '{new}': the column now holds pseudonyms, not what its name says")
        subject = new
    out.index = original_index
    out.attrs = {**attrs, "deidentify_log": log}
    check_identifiers(out, allow=keep, subject=subject)  # the promise: what comes out passes the guard
    return out

