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

from .headers import (
    ACCOUNT,
    ADDRESS,
    AGE,
    EMAIL,
    FULL_DATE,
    GEO,
    IP,
    MONTH_DATE,
    NATIONAL_ID,
    PHONE,
    RECORD,
    SSN,
    URL,
    ZIP,
)

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
# month names with a two-digit year ("5-mar-24"): only the names and their abbreviations ("4 junior 12" is no date)
_MON2 = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
         r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
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

_U = r"[^\x00-\x7f]"  # any letter outside ASCII: internationalised addresses ("maría@correo.es", "用户@例子.广告")
_AT_OBF = r"(?:[\[({] ?(?:at|AT|At) ?[\])}])"     # "[at]", "(at)"
_DOT_OBF = r"(?:[\[({] ?(?:dot|DOT|Dot) ?[\])}])"  # "[dot]", "(dot)"

VALUE_PATTERNS: dict[str, str] = {
    EMAIL: (r"(?:[A-Za-z0-9._%+'-]|" + _U + r")+ ?[@＠] ?(?:[A-Za-z0-9-]|" + _U + r")+(?:\.(?:[A-Za-z0-9-]|" + _U
            + r")+)*\.(?:[A-Za-z]{2,}|" + _U + r"{2,})"
            # obfuscated: "jdoe [at] example [dot] org", "jdoe(at)example.org", "jdoe at example dot org"
            + r"|[A-Za-z0-9._%+-]+ ?" + _AT_OBF + r" ?[A-Za-z0-9-]+(?:(?:\.| ?" + _DOT_OBF + r" ?)[A-Za-z0-9-]+)*"
            r"(?:\.| ?" + _DOT_OBF + r" ?)[A-Za-z]{2,}"
            + r"|(?i:[a-z0-9._%+-]+ at [a-z0-9-]+(?: dot [a-z0-9-]+)* dot [a-z]{2,})"),
    # national forms; international "+" and "00" forms are counted digit by digit in phone_cells
    PHONE: (r"(?:^|[^0-9.])(?:"
            r"\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}"                     # (555) 123-4567, 555.123.4567
            r"|0[0-9]{2,4}[ -][0-9]{3,4}[ -]?[0-9]{3,4}"                      # 020 7946 0958, 0161 496 0752
            r"|0[1-9](?:[ .-][0-9]{2}){4}"                                    # 06 12 34 56 78 (France)
            r"|0[0-9]{1,4}-[0-9]{1,4}-[0-9]{4}"                               # 03-1234-5678 (Japan)
            r"|0[1-9][0-9]{1,4} ?/ ?[0-9]{3,8}"                               # 030/1234567 (Germany)
            r"|0[1-9][0-9]{8,9}"                                             # 07700900123, 0612345678
            r"|\((?:0[1-9][0-9]{0,3}|[1-9][0-9]{1,3})\) ?[0-9]{3,5}[ -]?[0-9]{4}"  # (11) 91234-5678, (02) 9374 4000
            r"|[1-9][0-9] 9[0-9]{4}-[0-9]{4}"                                 # 11 91234-5678 (Brazil)
            r"|[6-9][0-9]{2} [0-9]{2} [0-9]{2} [0-9]{2}"                      # 612 34 56 78 (Spain)
            r"|0[1-9]-[0-9]{8}|0[1-9][0-9]-[0-9]{7}|0[1-9][0-9]{2}-[0-9]{6}"  # 06-12345678, 020-1234567 (NL)
            r"|1[3-9][0-9][ -][0-9]{4}[ -][0-9]{4}"                           # 138 0013 8000 (China)
            r"|\([0-9]{3,5}\) ?[0-9]{2,3}[ -][0-9]{2}[ -][0-9]{2}"            # 8 (495) 123-45-67 (Russia)
            r"|[0-9]{3} [0-9]{3}-[0-9]{2}-[0-9]{2}"                           # 495 123-45-67
            r"|0?[6-9][0-9]{4} [0-9]{5}"                                      # 098765 43210 (India)
            r"|(?i:phone|tel|mobile|fax|handy|mob|telefon|telephone|tlf|t[ée]l[ée]phone|t[ée]l|cell ?phone)"
            r"\.?[:#]? ?\+?[0-9]{9,12}"                                       # phone 4155552671
            r")" + _NDE),
    SSN: (_ND + r"[0-9]{3}-[0-9]{2}-[0-9]{4}" + _NDE
          + r"|" + _ND + r"[0-9]{3} [0-9]{2} [0-9]{4}" + _NDE
          + r"|(?:^|[^A-Za-z0-9*#])[*Xx#]{3}[- ]?[*Xx#]{2}[- ]?[0-9]{4}" + _NDE                # ***-**-6789
          + r"|(?i:ssn|social security)[^0-9]{0,12}[0-9]{9}" + _NDE),
    IP: (r"(?i)(?:(?:^|[^0-9.])(?:" + _OCT + r"\.){3}" + _OCT + r"(?:\Z|[^0-9.]|\.\Z|\.[^0-9])"
         r"|(?:^|[^0-9a-z:])(?:(?:" + _H + r":){7}" + _H
         + r"|(?:" + _H + r":){1,6}(?::" + _H + r"){1,6}|::" + _H + r"(?::" + _H + r"){0,5})(?:\Z|[^0-9a-z:]))"),
    URL: (r"(?i)(?:https?|ftp)://[^ \t\n]+|(?:^|[^a-z0-9])www\.[a-z0-9-]+\.[a-z]{2,}"
          # a domain with a path and no scheme: "linkedin.com/in/jsmith", "facebook.com/jane.doe"
          r"|(?:^|[^a-z0-9@./])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|info|io|me|co|de|fr|uk|es|it|nl"
          r"|ca|au|br|jp|cn|in|ru|ch|at|be|se|no|dk|fi|pl|pt|ie|nz|us)/[^ \t\n]*[a-z0-9]"),
    FULL_DATE: (r"(?i)" + _ND + r"[12][0-9]{3}[-/.]" + _M12 + r"[-/.]" + _D31 + _NDE        # 2024-03-12
                + r"|" + _ND + _D31 + r"[/-]" + _D31 + r"[/-](?:[0-9]{4}|[0-9]{2})" + _NDE  # 12/03/2024, 3/12/24
                + r"|" + _ND + _D31 + r"\." + _M12 + r"\.[0-9]{4}" + _NDE                   # 12.03.2024
                + r"|" + _ND + r"[0-3][0-9]\.[01][0-9]\.[0-9]{2}(?:\Z|[^0-9.])"              # 01.03.24
                + r"|" + _ND + _D31 + r"(?:st|nd|rd|th)?[ -]?(?:of )?" + _MON + r"[ ,-]*[0-9]{4}" + _NDE
                + r"|(?:^|[^a-z])" + _MON + r" +" + _D31 + r"(?:st|nd|rd|th)?,? +[0-9]{4}" + _NDE  # March 12, 2024
                + r"|" + _ND + _D31 + r"(?:\.|er|º|°)? ?(?:de )?" + _LOC_MON + r"(?: de)?,? [12][0-9]{3}" + _NDE
                + r"|(?:^|[^a-z])" + _LOC_MON + r" " + _D31 + r",? [12][0-9]{3}" + _NDE
                + r"|" + _ND + _D31 + r"[ -]?" + _MON2 + r"[ -]?[0-9]{2}" + _NDE                 # 5-mar-24, 05MAR24
                + r"|[12][0-9]{3} ?[年년] ?[0-9]{1,2} ?[月월] ?[0-9]{1,2} ?[日일]"),               # 2024年3月5日
    MONTH_DATE: (r"(?i)(?:^|[^a-z])(?:" + _MON + r"|" + _LOC_MON_MY + r")(?: de)?[ ,-]*'?[12][0-9]{3}" + _NDE
                 + r"|[12][0-9]{3} ?[年년] ?[0-9]{1,2} ?[月월]"),
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
              r" ?[0-9]{1,4}[a-z]?" + _NDE
              + r"|(?i:(?:^|[^a-z])(?:p\.? ?o\.? ?box|post ?office box|postfach|apartado(?: de correos)?"
              r"|bo[iî]te postale|casilla) ?(?:n[º°o]\.? ?)?[0-9]{1,6})" + _NDE),
    RECORD: (r"(?i)(?:mrn|med\.? ?rec(?:ord)?|medical record|hosp(?:ital)?\.? ?(?:no|num|number|#)"
             r"|record ?(?:no|num|number|#)|rec\.? ?no|chart ?(?:no|num|number|#)|patient ?(?:no|num|number|#)"
             r"|pat\.? ?no|nhs ?(?:no|num|number)?|case ?(?:no|num|number|#)"
             # German, French, Spanish, Italian, Portuguese: Fallnummer, N° dossier, historia clínica, NHC...
             r"|fall ?(?:nr|nummer|no)|(?:kranken)?akten ?(?:nr|nummer)|patienten ?(?:nr|nummer|id)|pat\.? ?nr"
             r"|n[°ºo]\.? ?(?:de )?dossier|num[ée]ro (?:de )?dossier|dossier m[ée]dical|historia cl[ií]nica|nhc"
             r"|n[°ºo]\.? ?historia|cartella clinica)\.?[ :#=-]*[a-z]{0,3}[0-9]{4,}"
             # the bare words with five digits and more ("dossier 2024" is a year)
             r"|(?i:(?:^|[^a-z])(?:dossier|historia|cartella|prontu[aá]rio|ipp)[ :#=-]*[a-z]{0,3}[0-9]{5,})"),
    NATIONAL_ID: (r"(?:^|[^A-Za-z0-9])[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D](?:\Z|[^A-Za-z0-9])"  # UK NI number
                  + r"|" + _ND + r"[12] [0-9]{2} [0-9]{2} (?:[0-9]{2}|2[AB]) [0-9]{3} [0-9]{3}(?: [0-9]{2})?" + _NDE
                  + r"|" + _ND + r"[0-9]{2} [0-9]{3} [0-9]{3} [0-9]{3}" + _NDE                 # German tax id
                  + r"|(?:^|[^0-9./])[0-9]{4}\.[0-9]{2}\.[0-9]{3}(?:\Z|[^0-9.])"             # Dutch BSN
                  + r"|" + _ND + r"[2-6][0-9]{3} [0-9]{5} [0-9]" + _NDE                      # Australian Medicare
                  + r"|" + _ND + r"[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}" + _NDE              # Brazilian CPF
                  + r"|" + _ND + r"[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])-[1-8][0-9]{6}" + _NDE  # KR
                  + r"|" + _ND + r"(?:19|20)?[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[-+][0-9]{4}"
                  + _NDE                                                                       # Swedish
                  + r"|(?:^|[^A-Za-z0-9])(?:[0-9]{8}-?|[XYZ]-?[0-9]{7}-?)[A-HJ-NP-TV-Z](?:\Z|[^A-Za-z0-9])"  # ES
                  + r"|(?:^|[^A-Za-z0-9])[A-Z]{6}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]"
                  r"(?:\Z|[^A-Za-z0-9])"                                                       # codice fiscale
                  + r"|(?:^|[^A-Za-z0-9])[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]-?[AC-HJKMNP-RT-Y]"
                  r"[AC-HJKMNP-RT-Y0-9][0-9]-?[AC-HJKMNP-RT-Y]{2}[0-9]{2}(?:\Z|[^A-Za-z0-9])"),  # US Medicare MBI
    ACCOUNT: (r"(?:^|[^A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?(?:\Z|[^A-Za-z0-9])"  # IBAN
              + r"|(?:^|[^A-Za-z0-9])[A-Z]{2}[0-9]{2}[A-Z0-9]{4}[0-9]{7}[A-Z0-9]{0,19}(?:\Z|[^A-Za-z0-9])"
              + r"|" + _ND + r"(?:[2-6][0-9]{3}(?:[ -]?[0-9]{4}){3}|3[47][0-9]{2}[ -]?[0-9]{6}[ -]?[0-9]{5})"
              + _NDE),                                                                       # card numbers
    # latitude, longitude: five decimals and more (4 decimals read as an interval "1.2345, 2.3456"), or marked
    GEO: (r"(?:^|[^0-9.])-?(?:[1-8][0-9]?|9|90)\.[0-9]{5,}[ ]?[,;/ ][ ]?-?(?:1[0-7][0-9]|180|[0-9]{1,2})"
          r"\.[0-9]{5,}(?:\Z|[^0-9.])"                                                     # 52.520008, 13.404954
          r"|(?:^|[^0-9.])(?:[1-8][0-9]?|9|90)\.[0-9]{2,} ?° ?[NSns]?[ ]?[,;/ ][ ]?(?:1[0-7][0-9]|180|[0-9]{1,2})"
          r"\.[0-9]{2,} ?° ?[EWOewo]?(?:\Z|[^0-9.])"                                        # 40.7128° N, 74.0060° W
          r"|[0-9]{1,3} ?° ?[0-9]{1,2} ?['′] ?(?:[0-9]{1,2}(?:\.[0-9]+)? ?[\"″] ?)?[NSEWnsew]"),  # 51°30'26"N
}

# month and year in numbers (2024-03, 03/2024): an identifier element, looked for only in date-named columns
MONTH_YEAR_NUMERIC = (r"(?i)" + _ND + r"[12][0-9]{3}[-/]" + _M12 + _NDE + r"|" + _ND + _M12 + r"[-/][12][0-9]{3}"
                      + _NDE + r"|(?:^|[^a-z])" + _MON + r"[ ,-]*[12][0-9]{3}" + _NDE)
# a software version before a dotted quad ("v1.10.2.3", "version 1.10.2.3") is not an IP address
VERSION = r"(?i)(?:v|ver|version|release|build|rev|fw|sw)\.?[ :]?[0-9]+(?:\.[0-9]+)+"
# TNM cancer stages ("T2N0M0", "pT1aN0M0") read as Canadian postcodes; they are masked before the ZIP pattern runs
TNM = r"(?:^|[^A-Za-z0-9])[cpyr]?T[0-4xX](?:is|[a-d])?N[0-3xX][a-c]?M[01xX]"
# the Safe Harbor category "90 or older" written out is not an age over 89: masked before the age pattern runs
AGE_TOPCODED = (r"(?i)(?:[≥>]=? ?90|90 ?(?:\+|or (?:older|over|more|above)|and (?:older|over|above)"
                r"|(?:years?|yrs?) (?:or|and) (?:older|over|above)|\+ ?(?:years?|yrs?)))")
# bare digit strings (read as text): phones with a trunk 0, SSNs, zero-padded record numbers
DIGITS_PHONE = r"^[ \t]*0[1-9][0-9]{8,9}[ \t]*\Z"
DIGITS_SSN = r"^[ \t]*[0-9]{9}[ \t]*\Z"
DIGITS_RECORD = r"^[ \t]*0[0-9]{6,}[ \t]*\Z"
DIGITS_CARD = r"^[ \t]*[2-6][0-9]{15}[ \t]*\Z"  # a 16-digit payment card number written as text
_INTL = re.compile(r"(?:\+|(?<![0-9])00)[1-9][0-9 ()/.-]{6,22}[0-9]")

# cheap tests that rule values out before the patterns run (one alternation of all patterns is slow in RE2)
NUMBER = r"^[ \t]*-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?[ \t]*\Z"  # no "+": "+4915112345678" is a phone
_SEVEN = r"[0-9*#Xx](?:[^0-9]{0,3}[0-9]){6}"     # seven digits with short gaps: phones, SSNs, record numbers
_MONTHS = (r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|f[ée]v|mai|juin|juil|ao[uû]t|d[ée]c|j[äa]n|m[äa]r|maer"
           r"|okt|dez|ene|abr|ago|dic|gen|mag|giu|lug|set|ott|fev|out|mei|avr|maa)")
_SIX = r"[0-9](?:[^0-9A-Za-z]?[0-9]){5}"  # six digits with single separators: national id numbers
PREFILTER = {EMAIL: r"@|＠|[\[({] ?(?:at|AT|At) ?[\])}]|(?i: dot )",
             URL: r"(?i)://|www\.|\.[a-z]{2,4}/", PHONE: _SEVEN, SSN: _SEVEN + r"|[*Xx#]{2}", IP: r"[0-9a-fA-F][.:][0-9a-fA-F:]",
             FULL_DATE: r"[0-9][-/.][0-9]|[年년]|" + _MONTHS, MONTH_DATE: _MONTHS + r"|[年년]",
             AGE: r"(?:9|1[0-2])[0-9](?:\.[0-9])? ?-?[A-Za-zå]|(?i:age|edad|alter|idade)",
             ZIP: r"[A-Z]{2},? [0-9]{5}|[0-9][A-Z]{2}|[A-Z][0-9][A-Z]|[0-9]{5} [A-ZÄÖÜ]",
             ADDRESS: (r"[0-9][A-Za-z]?,? [A-Za-z]|(?i:stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|damm|straat|laan"
                       r"|gracht|plein|calle|c/|avenida|avda|paseo|plaza|carrer|via|viale|piazza|corso|rua|travessa"
                       r"|box|postfach|apartado|postale|casilla)"),
             RECORD: r"(?i)mrn|rec|hosp|chart|pat|nhs|case|fall|akte|dossier|ipp|historia|nhc|cartella|prontu",
             NATIONAL_ID: _SIX + r"|[A-Z]{6}[0-9LMNP-V]{2}|[1-9][A-Z][A-Z0-9][0-9]-?[A-Z]",
             ACCOUNT: r"[A-Z]{2}[0-9]{2}[ A-Z0-9][A-Z0-9]{3}|[0-9]{4}[ -]?[0-9]{4}",
             GEO: r"[0-9]\.[0-9]{4}|°"}


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


#: digits outside ASCII (full-width, Arabic-Indic, Extended Arabic-Indic, Devanagari): a value holding them may be a
#: phone or an id number once read as ASCII (literal characters: the same class in RE2 and Python's re)
OTHER_DIGITS = "[０-９٠-٩۰-۹०-९]"
_DIGIT_BLOCKS = (0xFF10, 0x0660, 0x06F0, 0x0966)


def ascii_forms(words: pd.Series) -> pd.Series:
    """The values as the patterns read them: compatibility forms folded (NFKC: full-width digits and letters, no-break
    and narrow spaces), Unicode hyphens and dashes as "-", zero-width characters removed, other scripts' digits as
    ASCII digits. Values that are all ASCII are returned as they are (one pass finds the others); the index is kept.

    Exports from spreadsheets in French or Asian locales write "06 12 34 56 78" with no-break spaces and dates with
    non-breaking hyphens: read as they are, no pattern matches them.
    """
    if words.empty:
        return words
    odd = contains(words, r"[^\x00-\x7f]").to_numpy(dtype=bool)
    if not odd.any():
        return words
    arr = pa.array(words[odd].array, type=pa.large_string())
    arr = pc.utf8_normalize(arr, "NFKC")
    arr = pc.replace_substring_regex(arr, "[\u2010-\u2015\u2212\ufe58\ufe63]", "-")
    arr = pc.replace_substring_regex(arr, "[\u200b-\u200d\u2060\ufeff\u00ad]", "")
    if pc.any(pc.match_substring_regex(arr, OTHER_DIGITS)).as_py():
        for block in _DIGIT_BLOCKS[1:]:  # NFKC has folded the full-width ones
            for d in range(10):
                arr = pc.replace_substring(arr, chr(block + d), str(d))
    out = words.copy()
    out[odd] = pd.Series(pd.array(arr.cast(pa.string()), dtype="str"), index=words.index[odd])
    return out


def phone_cells(text: pd.Series) -> pd.Series:
    """Values holding a phone number: national forms by pattern; ``+`` and ``00`` forms with 8 to 15 digits (E.164)."""
    local = contains(text, VALUE_PATTERNS[PHONE])
    rest = text[~local]
    plus = rest[contains(rest, r"\+|(?:^|[^0-9])00[1-9]")]
    ok = plus.str.findall(_INTL).map(
        lambda ms: any(8 <= sum(ch.isdigit() for ch in m.lstrip("0+")) + 0 <= 15 for m in ms))
    return local | ok.reindex(text.index, fill_value=False).astype(bool)
