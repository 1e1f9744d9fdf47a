"""The identifier guard (HIPAA Safe Harbor) and :func:`deidentify`.

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

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DataError, IdentifierError, Problem

__all__ = ["find_identifiers", "check_identifiers", "deidentify", "RESTRICTED_ZIP3"]

#: 3-digit ZIP prefixes whose areas held 20,000 people or fewer (2000 Census); Safe Harbor
#: requires them to be reported as "000" (HHS, Guidance Regarding Methods for De-identification, 2012).
RESTRICTED_ZIP3 = frozenset({"036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830",
                             "831", "878", "879", "884", "890", "893"})

#: Safe Harbor keeps ages up to 89; older ages form one category "90 or older", coded 90
AGE_TOP = 90
MIN_KEY_BYTES = 16
HASH_CHARS = 12

FULL_DATE = "full date"
MONTH_DATE = "date more precise than the year"
ZIP = "ZIP code (more than 3 digits)"
AGE = "age over 89"
EMAIL, PHONE, SSN, IP, URL = "email address", "phone number", "US social security number", "IP address", "URL"

# --- column names -----------------------------------------------------------------------------
# Words (after tokenising and joining neighbouring tokens) that identify a column by themselves.
_NAME_WORDS: dict[str, frozenset[str]] = {
    "name": frozenset({"surname", "surnames", "forename", "forenames", "firstname", "lastname", "fullname",
                       "givenname", "familyname", "middlename", "maidenname", "fname", "lname", "initials",
                       "nickname", "patientname", "participantname", "subjectname", "nextofkin", "employer",
                       "employername"}),
    "address": frozenset({"address", "addresses", "addr", "street", "streetaddress", "addressline",
                          "housenumber", "houseno"}),
    "geographic subdivision smaller than a state": frozenset({
        "city", "town", "county", "precinct", "village", "suburb", "neighbourhood", "neighborhood", "borough",
        "municipality", "latitude", "longitude", "geolocation", "geocode", "gps"}),
    EMAIL: frozenset({"email", "emails", "emailaddress", "emailaddr"}),
    PHONE: frozenset({"phone", "phones", "telephone", "tel", "telno", "phoneno", "phonenumber", "mobile",
                      "mobileno", "mobilephone", "cellphone", "cellno", "cellnumber", "pager"}),
    "fax": frozenset({"fax", "faxno", "faxnumber", "facsimile"}),
    SSN: frozenset({"ssn", "socialsecurity", "socialsecurityno", "socialsecuritynumber", "socsec"}),
    "medical record number": frozenset({"mrn", "medicalrecord", "medicalrecordno", "medicalrecordnumber", "medrec",
                                        "hospitalnumber", "hospitalno", "hospno", "chartno", "chartnumber",
                                        "caseno", "casenumber"}),
    "health-plan number": frozenset({"healthplanid", "healthplanno", "healthplannumber", "memberid", "memberno",
                                     "membernumber", "beneficiaryid", "beneficiarynumber", "policyno",
                                     "policynumber", "nhsno", "nhsnumber", "nhsid", "insuranceid", "insuranceno",
                                     "insurancenumber", "medicareid", "medicarenumber", "medicaidid",
                                     "medicaidnumber"}),
    "account number": frozenset({"account", "accounts", "acct", "accountno", "accountnumber", "bankaccount",
                                 "iban"}),
    "licence number": frozenset({"licence", "license", "licences", "licenses", "licenceno", "licenseno",
                                 "licencenumber", "licensenumber", "certificateno", "certificatenumber",
                                 "passport", "passportno", "passportnumber", "nationalid", "nino"}),
    "vehicle identifier": frozenset({"vin", "licenceplate", "licenseplate", "numberplate", "plateno"}),
    "device serial": frozenset({"serialno", "serialnum", "serialid", "serialnumber", "deviceid", "deviceno", "devicenumber",
                                "deviceserial", "udi", "imei", "macaddress"}),
    URL: frozenset({"url", "urls", "uri", "website", "webpage", "homepage", "weblink", "webaddress"}),
    IP: frozenset({"ip", "ipaddress", "ipaddr", "ipv4", "ipv6"}),
    "biometric identifier or photograph": frozenset({"photo", "photograph", "fingerprint", "voiceprint",
                                                     "faceimage", "retinascan"}),
}
# Long, distinctive words also recognised at the end of a run-together token ("homephone").
_AFFIX_WORDS: dict[str, tuple[str, ...]] = {
    "name": ("surname", "forename", "firstname", "lastname", "fullname"),
    "address": ("address",),
    EMAIL: ("email",),
    PHONE: ("phone",),
    SSN: ("socialsecurity",),
    "medical record number": ("medicalrecord",),
    "licence number": ("licence", "license", "passport"),
}
# "name" identifies a person only alone or beside one of these words ("site_name", "drug_name" do not)
_PERSON = frozenset({"first", "last", "full", "given", "family", "middle", "maiden", "patient", "participant",
                     "subject", "pt", "person", "contact", "kin", "mother", "father", "guardian", "parent",
                     "spouse", "partner", "relative", "emergency", "legal", "preferred", "nick", "sur", "fore",
                     "christian", "birth", "proxy", "caregiver", "carer"})
_DOB = frozenset({"dob", "dateofbirth", "birthdate", "birthday", "birthdt", "brthdtc", "brthdt", "datebirth",
                  "birthdatetime"})
_DATE_TOKENS = frozenset({"date", "dates", "dt", "datetime", "timestamp", "dttm", "dtm", "dtc"})
# English words ending in "date" that are not dates ("candidate", "update")
_NOT_DATES = frozenset({"candidate", "candidates", "update", "updated", "validate", "validated", "invalidate",
                        "mandate", "mandated", "accommodate", "consolidate", "liquidate", "intimidate", "sedate",
                        "elucidate", "dilapidate"})
_ZIP = frozenset({"zip", "zipcode", "zipcodes", "postcode", "postcodes", "postalcode", "postal", "plz", "zip5",
                  "zipcd"})
_AGE = frozenset({"age", "ages"})
_AGE_UNITS = {"months": 12.0, "month": 12.0, "mo": 12.0, "mos": 12.0, "weeks": 52.1775, "week": 52.1775,
              "wk": 52.1775, "wks": 52.1775, "days": 365.25, "day": 365.25, "d": 365.25}


def _tokens(name: object) -> list[str]:
    """Split a column name into lower-case words: snake_case, camelCase, spaces, dots, digits."""
    s = str(name)
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", s)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)
    s = re.sub(r"([A-Za-z])([0-9])|([0-9])([A-Za-z])", lambda m: " ".join(g for g in m.groups() if g), s)
    return [t for t in re.split(r"[^A-Za-z0-9]+", s.lower()) if t]


def _grams(tokens: list[str]) -> set[str]:
    """Tokens, neighbouring tokens joined (``first_name`` -> ``firstname``) and the whole name run together."""
    out = set(tokens)
    for n in (2, 3):
        out.update("".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    out.add("".join(tokens))
    return out


def _name_kinds(name: object) -> list[str]:
    """Kinds of identifier a column name announces on its own (dates, ZIP and age need their values)."""
    tokens = _tokens(name)
    grams = _grams(tokens)
    kinds = [k for k, words in _NAME_WORDS.items() if grams & words]
    for kind, words in _AFFIX_WORDS.items():
        if kind not in kinds and any(t != w and t.endswith(w) for t in tokens for w in words):
            kinds.append(kind)
    if tokens == ["serial"] and "device serial" not in kinds:  # "serial_crp" is a series of measurements
        kinds.append("device serial")
    if "name" not in kinds and {"name", "names"} & set(tokens) and (len(tokens) == 1 or _PERSON & set(tokens)):
        kinds.append("name")
    # "ip_address", "email_address", "mac_address": the address is not a street address
    if "address" in kinds and {EMAIL, IP, URL, "device serial"} & set(kinds):
        kinds.remove("address")
    return kinds


def _is_dob(tokens: list[str]) -> bool:
    return bool(_grams(tokens) & _DOB)


def _numeric_dates(x: pd.Series) -> pd.Series:
    """Numbers in a date-named column that can encode a calendar date.

    YYYYMMDD, serial dates (Excel and SAS days, about 20,000-50,000) and epoch seconds are all
    10,000 or more; plain years and study days or weeks are smaller and say nothing more than the year.
    """
    return (np.isfinite(x) & (x.abs() >= 10000)).fillna(False).astype(bool)


def _is_date_name(tokens: list[str]) -> bool:
    return any(t in _DATE_TOKENS or (t.endswith(("date", "dtc", "dtm")) and t not in _NOT_DATES) for t in tokens)


# --- values -----------------------------------------------------------------------------------
_MON = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_D31 = r"(?:0?[1-9]|[12][0-9]|3[01])"
_M12 = r"(?:0?[1-9]|1[0-2])"
_ND = r"(?:^|[^0-9])"   # not preceded by a digit (RE2 has no look-behind)
_NDE = r"(?:\Z|[^0-9])"  # not followed by a digit
_OCT = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_H = r"[0-9a-f]{1,4}"
_VALUE_PATTERNS: dict[str, str] = {
    EMAIL: r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    PHONE: (r"(?:^|[^0-9.])(?:"
            r"\+[0-9][0-9 ().-]{6,22}[0-9]"                                                 # +44 20 7946 0958
            r"|\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}"                                # (555) 123-4567
            r"|0[0-9]{2,4}[ -][0-9]{3,4}[ -]?[0-9]{3,4}"                                  # 020 7946 0958
            r")" + _NDE),
    SSN: _ND + r"[0-9]{3}-[0-9]{2}-[0-9]{4}" + _NDE,
    IP: (r"(?i)(?:(?:^|[^0-9.])(?:" + _OCT + r"\.){3}" + _OCT + r"(?:\Z|[^0-9.]|\.\Z|\.[^0-9])"
         r"|(?:^|[^0-9a-z:])(?:(?:" + _H + r":){7}" + _H
         + r"|(?:" + _H + r":){1,6}(?::" + _H + r"){1,6}|::" + _H + r"(?::" + _H + r"){0,5})(?:\Z|[^0-9a-z:]))"),
    URL: r"(?i)(?:https?|ftp)://[^ \t\n]+|(?:^|[^a-z0-9])www\.[a-z0-9-]+\.[a-z]{2,}",
    FULL_DATE: (r"(?i)" + _ND + r"[12][0-9]{3}[-/.]" + _M12 + r"[-/.]" + _D31 + _NDE        # 2024-03-12
                + r"|" + _ND + _D31 + r"[/-]" + _D31 + r"[/-](?:[0-9]{4}|[0-9]{2})" + _NDE  # 12/03/2024
                + r"|" + _ND + _D31 + r"\." + _M12 + r"\.[0-9]{4}" + _NDE                   # 12.03.2024
                + r"|" + _ND + _D31 + r"(?:st|nd|rd|th)?[ -]?(?:of )?" + _MON + r"[ ,-]*[0-9]{4}" + _NDE
                + r"|(?:^|[^a-z])" + _MON + r" +" + _D31 + r"(?:st|nd|rd|th)?,? +[0-9]{4}" + _NDE),  # March 12, 2024
}
# month and year without a day: an identifier element too, looked for only in date-named columns
_MONTH_YEAR = (r"(?i)" + _ND + r"[12][0-9]{3}[-/]" + _M12 + _NDE + r"|" + _ND + _M12 + r"[-/][12][0-9]{3}" + _NDE
               + r"|(?:^|[^a-z])" + _MON + r"[ ,-]*[12][0-9]{3}" + _NDE)
_PHONE_LOCAL = (r"(?:^|[^0-9.])(?:\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}|0[0-9]{2,4}[ -][0-9]{3,4}[ -]?[0-9]{3,4})"
                + _NDE)
_PHONE_PLUS = re.compile(r"\+\d[\d ().-]{6,22}\d")


def _phone_cells(text: pd.Series) -> pd.Series:
    """Cells holding a phone number: national forms by pattern, ``+`` forms with 8 to 15 digits (E.164)."""
    local = text.str.contains(_PHONE_LOCAL)
    rest = text[~local]
    plus = rest[rest.str.contains("+", regex=False)]
    ok = plus.str.findall(_PHONE_PLUS).map(lambda ms: any(8 <= sum(ch.isdigit() for ch in m) <= 15 for m in ms))
    return local | ok.reindex(text.index, fill_value=False).astype(bool)


# cheap tests that rule cells out before the patterns run (one alternation of all patterns is slow in RE2)
_NUMBER = r"^[ \t]*-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?[ \t]*\Z"  # no "+": "+4915112345678" is a phone
# every phone, SSN, IP and date pattern needs digits around a separator, a "+" or a month name
_DIGITS = r"(?i)[0-9][-/.: ()]{1,3}[0-9a-f]|\+[0-9]|[0-9a-f]::|::[0-9a-f]|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
_PREFILTER = {EMAIL: "@", URL: r"(?i)://|www\.", PHONE: "", SSN: "-", IP: "", FULL_DATE: ""}


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


# --- deidentify -------------------------------------------------------------------------------
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
               age_columns: Sequence[str] | None = None, keep: Sequence[str] = ()) -> pd.DataFrame:
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
        Flagged columns the user has checked and keeps as they are.

    Returns
    -------
    DataFrame
        A new frame. ``result.attrs["deidentify_log"]`` lists, per column, what was done (counts,
        never values).

    Notes
    -----
    - Direct identifiers (names, contact details, record numbers, free text holding them, ...)
      are dropped.
    - Subject ids become ``"S" + HMAC-SHA256(key, id)`` truncated to 12 hex characters
      (48 bits; a collision among distinct ids is checked for and refused).
    - A calendar date ``d`` of subject ``i`` becomes ``(d - r_i)`` in whole days, with ``r_i``
      the subject's randomisation date; column ``visit_date`` becomes ``visit_day`` and other
      columns gain ``_day``. Text dates must be ISO 8601 (other orders are ambiguous).
    - A date of birth becomes the age in completed years at randomisation, top-coded at 90,
      in column ``age_at_randomisation`` (or ``<column>_age`` if that exists).
    - ZIP codes keep their first 3 digits; the 17 prefixes of areas with 20,000 people or fewer
      (:data:`RESTRICTED_ZIP3`) become ``"000"``.
    - Ages above 90 become 90, the category "90 or older".

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
    if not isinstance(key, (str, bytes)):
        raise DataError(f"key must be a secret text (str or bytes, at least 16 bytes) that you keep apart from the "
                        f"data, not {type(key).__name__}")
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    if len(key_bytes) < MIN_KEY_BYTES:
        raise DataError(f"the hashing key must have at least {MIN_KEY_BYTES} bytes (got {len(key_bytes)}); "
                        "use a long random secret and keep it apart from the data")
    named = [c for c in [subject, randomisation_date, *(drop or ()), *(dates or ()), *(zip_columns or ()),
                         *(age_columns or ()), *keep] if c is not None]
    missing = [c for c in named if c not in frame.columns]
    if missing:
        raise DataError(f"deidentify: no column(s) {missing} in the frame; its columns are {list(frame.columns)}")
    if frame.columns.duplicated().any():
        raise DataError(f"deidentify: duplicated column names {list(frame.columns[frame.columns.duplicated()])}; "
                        "rename them first")
    found = [f for f in _scan(frame) if f.column not in set(keep)]
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

    def note(column: object, action: str) -> None:
        log.append({"column": str(column), "action": action})

    # date columns: named or typed as dates, or text columns whose every value is an ISO date
    date_cols = list(dict.fromkeys([*(dates or ()), *(f.column for f in found if f.rule == "date" and (
        f.found_by == "column name" or _all_iso_dates(frame[f.column])))]))
    dob_cols = list(dict.fromkeys(f.column for f in found if f.rule == "dob"))
    zip_cols = list(dict.fromkeys([*(zip_columns or ()), *(f.column for f in found if f.rule == "zip")]))
    age_cols = list(dict.fromkeys([*(age_columns or ()), *(f.column for f in found if f.rule == "age")]))
    # columns the user drops are not converted first
    dropped = set(drop or ())
    date_cols, dob_cols, zip_cols, age_cols = ([c for c in cols if c not in dropped and c != randomisation_date]
                                               for cols in (date_cols, dob_cols, zip_cols, age_cols))
    handled = {subject, randomisation_date, *date_cols, *dob_cols, *zip_cols, *age_cols}

    if subject is not None:
        out[subject] = _hash_ids(frame[subject], key_bytes, subject)
        note(subject, f"replaced ids by keyed hashes (HMAC-SHA256, {HASH_CHARS} hex characters)")

    if date_cols or dob_cols:
        if randomisation_date is None:
            raise DataError(f"deidentify: columns {[str(c) for c in date_cols + dob_cols]} hold calendar dates; "
                            "name the randomisation-date column with randomisation_date=... to turn them into days "
                            "since randomisation, or drop them with drop=[...]")
        rand = _parse_dates(frame[randomisation_date], randomisation_date)
        if subject is not None:
            per = rand.groupby(frame[subject].astype(str), sort=False)
            if (per.nunique() > 1).any():
                raise DataError(f"column '{randomisation_date}': {int((per.nunique() > 1).sum())} subject(s) have "
                                "more than one randomisation date; it must be constant within a subject")
            rand = per.transform("first")  # rows without it take their subject's date
        for c in date_cols:
            d = _parse_dates(frame[c], str(c))
            new = re.sub(r"(?i)[_ .]?(?:date|dt|dtc|dttm|datetime)$", "", str(c)) + "_day"
            if new in out.columns and new != c:
                raise DataError(f"deidentify: column '{c}' would become '{new}', which already exists; rename one")
            days = (d - rand).dt.days.astype("Int64")
            out.insert(out.columns.get_loc(c), new, days)
            out = out.drop(columns=c)
            month = " (month precision: the first of the month was used)" if MONTH_DATE in kinds.get(c, ()) else ""
            note(c, f"converted to days since randomisation in '{new}' ({int(days.isna().sum())} missing){month}")
        for c in dob_cols:
            b = _parse_dates(frame[c], str(c))
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
        out[c], n_small = _zip3(frame[c], str(c))
        note(c, f"truncated to 3-digit ZIP; {n_small} in areas of 20,000 people or fewer set to 000")
    for c in age_cols:
        scale = next((_AGE_UNITS[t] for t in _tokens(c) if t in _AGE_UNITS), 1.0)
        num = pd.to_numeric(frame[c], errors="coerce")
        bad = frame[c].notna() & num.isna()
        if bad.any():
            raise DataError(None, [Problem(str(c), "ages that are not numbers; fix or drop the column",
                                           _first_rows(bad), int(bad.sum()))])
        top = num > AGE_TOP * scale
        out[c] = num.where(~top, AGE_TOP * scale)
        if pd.api.types.is_integer_dtype(frame[c].dtype):
            out[c] = out[c].astype(frame[c].dtype)
        note(c, f"top-coded at {AGE_TOP} years ('90 or older'): {int(top.sum())} cells")

    to_drop = [c for c in dict.fromkeys([*(drop or ()), *(f.column for f in found)])
               if c not in handled and c in out.columns]
    for c in to_drop:
        why = ", ".join(kinds.get(c, ["asked for with drop="]))
        note(c, f"dropped ({why})")
    out = out.drop(columns=to_drop)
    out.index = original_index
    out.attrs = {**attrs, "deidentify_log": log}
    check_identifiers(out, allow=keep)  # the promise: what comes out passes the guard
    return out
