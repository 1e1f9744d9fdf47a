"""Column-name vocabulary of the identifier guard: tokenising headers and the words that announce an identifier.

Names are split into words (snake_case, camelCase, digits) and neighbouring words joined, then matched
against word lists per Safe Harbor category (45 CFR 164.514(b)(2)).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

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

