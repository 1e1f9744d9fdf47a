"""Value patterns of the identifier guard.

Every pattern is written for RE2 (no look-arounds) so that pandas runs it in Arrow's vectorised engine on
the default ``str`` dtype. Patterns run once per *distinct* value of a column, and only on values that pass a
cheap test for the pattern's tell-tale characters (:data:`PREFILTER`).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .headers import ADDRESS, AGE, EMAIL, FULL_DATE, IP, MONTH_DATE, PHONE, RECORD, SSN, URL, ZIP

_MON = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
# French, German, Spanish, Italian, Portuguese and Dutch month names and abbreviations (ASCII and accented)
_LOC_MON = (r"(?:janv|f[ée]v|mars|avr|mai|juin|juil|ao[uû]t|sept|oct|nov|d[ée]c|j[äa]n|m[äa]rz|maerz|apr|jun|jul"
            r"|aug|okt|dez|ene|abr|ago|dic|gen|mag|giu|lug|set|ott|fev|maio|mar[çc]o|out|maa?rt|mei)"
            r"(?:[a-zà-ÿ]*)\.?")
# month-year alone (no day): short words that are also common words ("set", "out", "gen", "mag") left out
_LOC_MON_MY = (r"(?:janvier|f[ée]vrier|mars|avril|juin|juillet|ao[uû]t|septembre|octobre|novembre|d[ée]cembre"
               r"|januar|februar|m[äa]rz|maerz|juni|juli|oktober|dezember|enero|febrero|marzo|abril|mayo|junio|julio"
               r"|agosto|septiembre|setiembre|octubre|noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno"
               r"|luglio|settembre|ottobre|dicembre|janeiro|fevereiro|mar[çc]o|maio|junho|julho|setembro|outubro"
               r"|novembro|dezembro|januari|februari|maart|mei|augustus)\.?")
_D31 = r"(?:0?[1-9]|[12][0-9]|3[01])"
_M12 = r"(?:0?[1-9]|1[0-2])"
_ND = r"(?:^|[^0-9])"   # not preceded by a digit (RE2 has no look-behind)
_NDE = r"(?:\Z|[^0-9])"  # not followed by a digit
_OCT = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_H = r"[0-9a-f]{1,4}"
_US_STATES = (r"(?:A[LKZR]|C[AOT]|D[EC]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|RI|S[CD]|T[NX]"
              r"|UT|V[AT]|W[AIVY])")
_STREET_EN = (r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Boulevard|Blvd|Court|Ct|Place|Pl|Way|Close|Crescent"
              r"|Terrace|Square|Sq|Parkway|Pkwy|Highway|Hwy|Gardens|Grove|Mews)")

VALUE_PATTERNS: dict[str, str] = {
    EMAIL: r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    # national forms; international "+" and "00" forms are counted digit by digit in phone_cells
    PHONE: (r"(?:^|[^0-9.])(?:"
            r"\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}"                     # (555) 123-4567, 555.123.4567
            r"|0[0-9]{2,4}[ -][0-9]{3,4}[ -]?[0-9]{3,4}"                      # 020 7946 0958, 0161 496 0752
            r"|0[1-9](?:[ .-][0-9]{2}){4}"                                    # 06 12 34 56 78 (France)
            r"|0[0-9]{1,4}-[0-9]{1,4}-[0-9]{4}"                               # 03-1234-5678 (Japan)
            r"|0[1-9][0-9]{1,4} ?/ ?[0-9]{3,8}"                               # 030/1234567 (Germany)
            r"|0[1-9][0-9]{8,9}"                                             # 07700900123, 0612345678
            r")" + _NDE),
    SSN: (_ND + r"[0-9]{3}-[0-9]{2}-[0-9]{4}" + _NDE
          + r"|" + _ND + r"[0-9]{3} [0-9]{2} [0-9]{4}" + _NDE
          + r"|(?:^|[^A-Za-z0-9*#])[*Xx#]{3}[- ]?[*Xx#]{2}[- ]?[0-9]{4}" + _NDE                # ***-**-6789
          + r"|(?i:ssn|social security)[^0-9]{0,12}[0-9]{9}" + _NDE),
    IP: (r"(?i)(?:(?:^|[^0-9.])(?:" + _OCT + r"\.){3}" + _OCT + r"(?:\Z|[^0-9.]|\.\Z|\.[^0-9])"
         r"|(?:^|[^0-9a-z:])(?:(?:" + _H + r":){7}" + _H
         + r"|(?:" + _H + r":){1,6}(?::" + _H + r"){1,6}|::" + _H + r"(?::" + _H + r"){0,5})(?:\Z|[^0-9a-z:]))"),
    URL: r"(?i)(?:https?|ftp)://[^ \t\n]+|(?:^|[^a-z0-9])www\.[a-z0-9-]+\.[a-z]{2,}",
    FULL_DATE: (r"(?i)" + _ND + r"[12][0-9]{3}[-/.]" + _M12 + r"[-/.]" + _D31 + _NDE        # 2024-03-12
                + r"|" + _ND + _D31 + r"[/-]" + _D31 + r"[/-](?:[0-9]{4}|[0-9]{2})" + _NDE  # 12/03/2024, 3/12/24
                + r"|" + _ND + _D31 + r"\." + _M12 + r"\.[0-9]{4}" + _NDE                   # 12.03.2024
                + r"|" + _ND + r"[0-3][0-9]\.[01][0-9]\.[0-9]{2}(?:\Z|[^0-9.])"              # 01.03.24
                + r"|" + _ND + _D31 + r"(?:st|nd|rd|th)?[ -]?(?:of )?" + _MON + r"[ ,-]*[0-9]{4}" + _NDE
                + r"|(?:^|[^a-z])" + _MON + r" +" + _D31 + r"(?:st|nd|rd|th)?,? +[0-9]{4}" + _NDE  # March 12, 2024
                + r"|" + _ND + _D31 + r"(?:\.|er|º|°)? ?(?:de )?" + _LOC_MON + r"(?: de)?,? [12][0-9]{3}" + _NDE
                + r"|(?:^|[^a-z])" + _LOC_MON + r" " + _D31 + r",? [12][0-9]{3}" + _NDE),
    MONTH_DATE: (r"(?i)(?:^|[^a-z])(?:" + _MON + r"|" + _LOC_MON_MY + r")(?: de)?[ ,-]*'?[12][0-9]{3}" + _NDE),
    AGE: (r"(?i)(?:^|[^0-9.])(?:9[0-9]|1[0-2][0-9])(?:\.[0-9])? ?-?(?:years?|yrs?|y/o|yo|y\.o\.|ans|años|anos"
          r"|jahre|jahren|jaar|anni|lat|år)(?:\Z|[^a-z])"
          r"|(?:aged?|âgée?|agee?|edad|alter|idade)[: ]+(?:9[0-9]|1[0-2][0-9])" + _NDE),
    ZIP: (r"[A-Z][a-z]+(?: [A-Z][a-z]+)*,? " + _US_STATES + r",? [0-9]{5}(?:-[0-9]{4})?" + _NDE  # Boston, MA 02134
          + r"|(?:^|[^A-Za-z0-9])[A-PR-UWYZ][A-HK-Y]?[0-9][A-Z0-9]? ?[0-9][ABD-HJLNP-UW-Z]{2}(?:\Z|[^A-Za-z0-9])"  # UK
          + r"|(?:^|[^A-Za-z0-9])[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9](?:\Z|[^A-Za-z0-9])"                     # Canada
          + r"|" + _ND + r"(?:[A-Z]-)?[0-9]{5} [A-ZÄÖÜ][a-zäöüéèß]{2,}"),                                     # 10115 Berlin
    ADDRESS: (r"(?:^|[^0-9])[0-9]{1,5}[A-Za-z]?,? (?:[A-Z][a-z]+\.? ){1,3}" + _STREET_EN + r"\.?(?:\Z|[^A-Za-z])"
              + r"|(?i:(?:^|[^0-9])[0-9]{1,4}[a-z]?,? (?:rue|avenue|boulevard|bd|chemin|allée|allee|impasse|place"
              r"|route) (?:d[eu']s? ?|de la |la |le )?[a-zà-ÿ]+)"
              + r"|(?i:(?:calle|c/|avenida|avda\.?|paseo|plaza|carrer|via|viale|piazza|corso|rua|travessa)"
              r" (?:de |del |della |do |da |dos |das |di )?[a-zà-ÿ]+(?: [a-zà-ÿ]+)?,? (?:n[º°o]\.? ?)?[0-9]{1,4})"
              + _NDE
              + r"|[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|str\.|weg|gasse|platz|allee|damm|straat|laan|gracht|plein)"
              r" ?[0-9]{1,4}[a-z]?" + _NDE),
    RECORD: (r"(?i)(?:mrn|med\.? ?rec(?:ord)?|medical record|hosp(?:ital)?\.? ?(?:no|num|number|#)"
             r"|record ?(?:no|num|number|#)|rec\.? ?no|chart ?(?:no|num|number|#)|patient ?(?:no|num|number|#)"
             r"|pat\.? ?no|nhs ?(?:no|num|number)?|case ?(?:no|num|number|#))\.?[ :#=-]*[a-z]{0,3}[0-9]{4,}"),
}

# month and year in numbers (2024-03, 03/2024): an identifier element, looked for only in date-named columns
MONTH_YEAR_NUMERIC = (r"(?i)" + _ND + r"[12][0-9]{3}[-/]" + _M12 + _NDE + r"|" + _ND + _M12 + r"[-/][12][0-9]{3}"
                      + _NDE + r"|(?:^|[^a-z])" + _MON + r"[ ,-]*[12][0-9]{3}" + _NDE)
# a software version before a dotted quad ("v1.10.2.3", "version 1.10.2.3") is not an IP address
VERSION = r"(?i)(?:v|ver|version|release|build|rev|fw|sw)\.?[ :]?[0-9]+(?:\.[0-9]+)+"
# bare digit strings (read as text): phones with a trunk 0, SSNs, zero-padded record numbers
DIGITS_PHONE = r"^[ \t]*0[1-9][0-9]{8,9}[ \t]*\Z"
DIGITS_SSN = r"^[ \t]*[0-9]{9}[ \t]*\Z"
DIGITS_RECORD = r"^[ \t]*0[0-9]{6,}[ \t]*\Z"
_INTL = re.compile(r"(?:\+|(?<![0-9])00)[1-9][0-9 ()/.-]{6,22}[0-9]")

# cheap tests that rule values out before the patterns run (one alternation of all patterns is slow in RE2)
NUMBER = r"^[ \t]*-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?[ \t]*\Z"  # no "+": "+4915112345678" is a phone
_SEVEN = r"[0-9*#Xx](?:[^0-9]{0,3}[0-9]){6}"     # seven digits with short gaps: phones, SSNs, record numbers
_MONTHS = (r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|f[ée]v|mai|juin|juil|ao[uû]t|d[ée]c|j[äa]n|m[äa]r"
           r"|okt|dez|ene|abr|ago|dic|gen|mag|giu|lug|set|ott|fev|out|mei|avr|maa)")
PREFILTER = {EMAIL: "@", URL: r"(?i)://|www\.", PHONE: _SEVEN, SSN: _SEVEN + r"|[*Xx#]{2}", IP: r"[0-9a-fA-F][.:][0-9a-fA-F:]",
             FULL_DATE: r"[0-9][-/.][0-9]|" + _MONTHS, MONTH_DATE: _MONTHS,
             AGE: r"(?:9|1[0-2])[0-9](?:\.[0-9])? ?-?[A-Za-zå]|(?i:age|edad|alter|idade)",
             ZIP: r"[A-Z]{2},? [0-9]{5}|[0-9][A-Z]{2}|[A-Z][0-9][A-Z]|[0-9]{5} [A-ZÄÖÜ]",
             ADDRESS: (r"[0-9][A-Za-z]?,? [A-Za-z]|(?i:stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|damm|straat|laan"
                       r"|gracht|plein|calle|c/|avenida|avda|paseo|plaza|carrer|via|viale|piazza|corso|rua|travessa)"),
             RECORD: r"(?i)mrn|rec|hosp|chart|pat|nhs|case"}


_SMALL = 64


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def contains(text: pd.Series, pattern: str, small: int = _SMALL) -> pd.Series:
    """Boolean mask: the pattern occurs in the value (missing values: False).

    Runs Arrow's RE2 engine directly: pandas would re-parse the pattern with Python's parser on every call,
    which costs more than the search itself on the few distinct values of most columns. Up to ``small`` values go
    through Python's cached compiled pattern instead (``small=0``: always RE2, for a search that splits a larger one
    and must keep its engine).
    """
    if not len(text):
        return pd.Series(False, index=text.index, dtype=bool)
    if isinstance(text.dtype, pd.CategoricalDtype):  # text held as codes: each distinct value is searched once
        found = contains(pd.Series(np.asarray(text.cat.categories, dtype=object), dtype="str"), pattern, small)
        return pd.Series(np.append(found.to_numpy(dtype=bool), False)[text.cat.codes.to_numpy()], index=text.index)
    if len(text) <= small:
        # a handful of distinct values: Python's cached compiled pattern beats a call into Arrow (which compiles)
        search = _compiled(pattern).search
        return pd.Series([bool(search(v)) for v in text.to_numpy(dtype=object, na_value="")], index=text.index,
                         dtype=bool)
    try:
        # patterns are written with Python's \Z (end of text); RE2 spells it \z
        found = pc.match_substring_regex(pa.array(text.array, type=pa.large_string()), pattern.replace(r"\Z", r"\z"))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return text.astype(object).str.contains(pattern, regex=True).fillna(False).astype(bool)
    return pd.Series(np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool), index=text.index)


def phone_cells(text: pd.Series) -> pd.Series:
    """Values holding a phone number: national forms by pattern; ``+`` and ``00`` forms with 8 to 15 digits (E.164)."""
    local = contains(text, VALUE_PATTERNS[PHONE])
    rest = text[~local]
    plus = rest[contains(rest, r"\+|(?:^|[^0-9])00[1-9]")]
    ok = plus.str.findall(_INTL).map(
        lambda ms: any(8 <= sum(ch.isdigit() for ch in m.lstrip("0+")) + 0 <= 15 for m in ms))
    return local | ok.reindex(text.index, fill_value=False).astype(bool)
