"""Value patterns of the identifier guard (RE2-compatible, so pandas runs them in Arrow's engine)."""

from __future__ import annotations

import re

import pandas as pd

from .headers import EMAIL, FULL_DATE, IP, PHONE, SSN, URL

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

