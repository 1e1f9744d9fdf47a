"""Column-name vocabulary of the identifier guard: tokenising headers and the words that announce an identifier.

Names are split into words (snake_case, camelCase, digits) and neighbouring words joined, then matched
against word lists per Safe Harbor category (45 CFR 164.514(b)(2)).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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
NAME, ADDRESS, RECORD = "name", "address", "medical record number"
EMAIL, PHONE, SSN, IP, URL = "email address", "phone number", "US social security number", "IP address", "URL"
# kinds also announced by column names (below), found in values too since the adversarial sweep of 2026-12
NATIONAL_ID, ACCOUNT = "national identification number", "account number"
GEO = "geographic subdivision smaller than a state"

# --- column names -----------------------------------------------------------------------------
# Words (after tokenising and joining neighbouring tokens) that identify a column by themselves.
_NAME_WORDS: dict[str, frozenset[str]] = {
    "name": frozenset({"surname", "surnames", "forename", "forenames", "firstname", "lastname", "fullname",
                       "givenname", "familyname", "middlename", "maidenname", "fname", "lname", "initials",
                       "nickname", "patientname", "participantname", "subjectname", "nextofkin", "employer",
                       "employername", "patname", "ptname", "pname", "fullnames", "nom", "prenom", "nombre",
                       "apellido", "apellidos", "vorname", "nachname", "nome", "cognome", "voornaam", "achternaam",
                       "imie", "nazwisko", "familienname", "nomdefamille", "nombrecompleto", "nomcomplet", "vollername",
                       "nomeecognome", "nomecompleto", "apellidopaterno", "apellidomaterno", "patientenname"}),
    "address": frozenset({"address", "addresses", "addr", "street", "streetaddress", "addressline",
                          "housenumber", "houseno", "adresse", "direccion", "indirizzo", "endereco",
                          "strasse", "calle", "domicilio", "anschrift", "wohnadresse", "postanschrift",
                          "rue", "morada", "adres", "straat", "pobox", "postfach"}),
    "geographic subdivision smaller than a state": frozenset({
        "city", "town", "county", "precinct", "village", "suburb", "neighbourhood", "neighborhood", "borough",
        "municipality", "latitude", "longitude", "geolocation", "geocode", "gps", "ville", "ciudad",
        "stadt", "wohnort", "citta", "cidade", "localidad", "gemeinde", "lat", "lon", "lng", "coordinates", "coords",
        "geo", "geocoordinates", "gpscoordinates", "latlon", "latlng", "latlong"}),
    EMAIL: frozenset({"email", "emails", "emailaddress", "emailaddr", "mail", "emailadresse", "courriel", "correo",
                       "correoelectronico", "adressemail", "adresseemail", "mailadresse", "posta", "postaelettronica"}),
    PHONE: frozenset({"phone", "phones", "telephone", "tel", "telno", "phoneno", "phonenumber", "mobile",
                      "mobileno", "mobilephone", "cellphone", "cellno", "cellnumber", "pager", "telefono", "telefon",
                      "telefone", "celular", "movil", "cellulare", "handy", "portable", "contactno", "contactnumber", "telefonnummer",
                      "handynummer", "mobilnummer", "mobilfunknummer", "rufnummer", "numerotelephone", "telephonenumber",
                      "numerodetelephone", "numerotelefono", "numerodetelefono", "telefoonnummer", "mobiel",
                      "telefonnr", "telnr", "tlf", "telefono1", "gsm"}),
    "fax": frozenset({"fax", "faxno", "faxnumber", "facsimile"}),
    SSN: frozenset({"ssn", "socialsecurity", "socialsecurityno", "socialsecuritynumber", "socsec", "ssnno",
                    "nir", "bsn", "pesel", "personnummer", "dni", "cpf", "curp", "nationalinsurance",
                    "nationalinsuranceno", "taxid", "steuerid", "codicefiscale", "ninumber", "nino", "sin", "nie", "nif", "nss",
                    "socialinsurancenumber", "sozialversicherungsnummer", "rentenversicherungsnummer",
                    "versichertennummer", "krankenversichertennummer", "steueridentifikationsnummer",
                    "securitesociale", "numerosecuritesociale", "insee", "burgerservicenummer", "rrn",
                    "personalnumber", "identitynumber", "idcard", "personalausweis", "ahv",
                    "ahvnummer", "cnp", "egn", "hetu", "cpr", "kennitala", "amka", "tfn", "aadhaar", "aadhar",
                    "nric", "hkid", "mynumber", "ird", "ppsn"}),
    "medical record number": frozenset({"mrn", "medicalrecord", "medicalrecordno", "medicalrecordnumber", "medrec",
                                        "hospitalnumber", "hospitalno", "hospno", "chartno", "chartnumber",
                                        "caseno", "casenumber", "recno", "recnum", "recordno", "recordnumber", "recordnum",
                                        "medicalrecordid", "patientnumber", "patientno", "patientnum", "patno",
                                        "patnum", "ptno", "ptnum", "ptnumber", "hospitalid", "hospid", "chartid",
                                        "ehrid", "emrid", "nhi", "nhc", "fileno", "filenumber", "casenum",
                                        "historiaclinica", "krankenaktennummer",
                                        "patientennummer", "patientennr", "fallnummer", "fallnr", "aktennummer",
                                        "numerodossier", "dossier", "dossiermedical", "nodossier", "ipp",
                                        "numerohistoria", "nhistoria", "cartellaclinica", "prontuario",
                                        "dossiernummer", "patientnummer"}),
    "health-plan number": frozenset({"healthplanid", "healthplanno", "healthplannumber", "memberid", "memberno",
                                     "membernumber", "beneficiaryid", "beneficiarynumber", "policyno",
                                     "policynumber", "nhsno", "nhsnumber", "nhsid", "insuranceid", "insuranceno",
                                     "insurancenumber", "medicareid", "medicarenumber", "medicaidid",
                                     "medicaidnumber"}),
    "account number": frozenset({"account", "accounts", "acct", "accountno", "accountnumber", "bankaccount",
                                 "iban", "kontonummer", "konto", "bic", "swift", "creditcard", "cardnumber", "cardno",
                                 "ccnumber", "ccno", "pan", "routingnumber", "sortcode", "rib", "compte",
                                 "numerodecompte", "cuenta", "numerocuenta", "kreditkarte", "kreditkartennummer"}),
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
# Words that announce an identifier only alone or beside identifier-ish words: "ip_adherence" (investigational
# product), "mobile_app_use", "tel_consult", "photo_therapy", "gps_seen" and "city_size" are measurements.
_WEAK = frozenset({"ip", "mobile", "tel", "photo", "photograph", "gps", "city", "town", "county", "village", "suburb",
                   "borough", "municipality", "precinct", "neighbourhood", "neighborhood", "pager", "handy",
                   "portable", "lat", "lon", "lng", "account", "accounts", "nom", "nome", "nombre", "movil",
                   # everyday words in other languages or other senses: alone or beside identifier words only
                   "sin", "nie", "nif", "nss", "pan", "geo", "coords", "mail", "konto", "cuenta", "compte", "dossier",
                   "rue", "ipp", "bic", "swift", "gsm", "rib", "posta", "rrn", "cnp", "ird", "ahv", "cpr",
                   "tlf"})
_COMPANIONS = frozenset({
    "no", "nr", "num", "number", "numbers", "id", "code", "address", "addr", "name", "home", "work", "contact",
    "patient", "pt", "subject", "participant", "primary", "secondary", "alt", "alternate", "main", "current",
    "of", "residence", "birth", "v4", "v6", "phone", "cell", "personal", "private", "emergency", "kin", "mother",
    "father", "spouse", "file", "image", "url", "latitude", "longitude", "coord", "coords", "coordinates",
    "location", "position", "raw", "text", "txt", "str", "value", "val", "country", "state", "1", "2", "3",
    "pat", "person", "family", "full", "first", "last", "given", "de", "del", "la", "le", "and", "or", "fixed",
    "bank", "user", "owner", "holder", "login", "source", "client", "dest", "remote", "host"})
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
# words saying that a phone, e-mail, address or URL column measures the use of that channel, not the contact itself
_CHANNEL_USE = frozenset({"consult", "consults", "consultation", "consultations", "reminder", "reminders", "call",
                          "calls", "type", "types", "count", "counts", "used", "use", "usage", "sent", "opened",
                          "session", "sessions", "support", "coaching", "followup", "visit", "visits", "yn", "flag",
                          "verified", "available", "provided", "changed", "minutes", "min", "duration", "n"})
_CHANNELS = frozenset({EMAIL, PHONE, "fax", "address", URL})
# "name" identifies a person only alone or beside one of these words ("site_name", "drug_name" do not)
_PERSON = frozenset({"first", "last", "full", "given", "family", "middle", "maiden", "patient", "participant",
                     "subject", "pt", "person", "contact", "kin", "mother", "father", "guardian", "parent",
                     "spouse", "partner", "relative", "emergency", "legal", "preferred", "nick", "sur", "fore",
                     "christian", "birth", "proxy", "caregiver", "carer"})
_DOB = frozenset({"dob", "dateofbirth", "birthdate", "birthday", "birthdt", "brthdtc", "brthdt", "datebirth",
                  "birthdatetime", "geburtsdatum", "gebdatum", "gebdat", "geburtstag", "geboortedatum", "datedenaissance",
                  "datenaissance", "ddn", "fechadenacimiento", "fechanacimiento", "fechanac", "datadinascita",
                  "datanascita", "datadenascimento", "datanascimento", "datanasc", "fodelsedato", "fodelsedatum",
                  "syntymaaika", "datanarodzin", "naissance", "nacimiento", "nascimento", "nascita"})
_DATE_TOKENS = frozenset({"date", "dates", "dt", "datetime", "timestamp", "dttm", "dtm", "dtc", "datum", "fecha",
                          "fechas", "dat"})
# the month or day of a birth date on its own column: a date element more precise than the year, whatever the values
_DOB_PARTS = frozenset({"birthmonth", "monthofbirth", "birthmo", "dobmonth", "dobmo", "dobday", "birthdayofmonth",
                        "dayofbirth", "birthdom", "geburtsmonat", "geburtstagmonat", "moisdenaissance",
                        "moisnaissance", "jourdenaissance", "mesdenacimiento", "mesnacimiento", "diadenacimiento",
                        "diadenascimento", "mesdenascimento", "mesedinascita", "giornodinascita", "geboortemaand",
                        "geboortedag"})
# tokens that make large numbers in a column epoch seconds rather than counts
_TIME_TOKENS = frozenset({"time", "timestamp", "ts", "epoch", "unix", "created", "modified", "updated", "at", "when",
                          "datetime", "stamp", "timestamps", "logged", "recorded"})
# English words ending in "date" that are not dates ("candidate", "update")
_NOT_DATES = frozenset({"candidate", "candidates", "update", "updated", "validate", "validated", "invalidate",
                        "mandate", "mandated", "accommodate", "consolidate", "liquidate", "intimidate", "sedate",
                        "elucidate", "dilapidate"})
_ZIP = frozenset({"zip", "zipcode", "zipcodes", "postcode", "postcodes", "postalcode", "postal", "plz", "zip5",
                  "zipcd", "zip4", "zipplus4", "cep", "pincode", "postleitzahl", "codepostal", "codigopostal",
                  "postnummer", "postnr", "postinumero", "kodpocztowy", "eircode"})
_AGE = frozenset({"age", "ages", "ageyears", "ageyrs", "ageyr", "agey", "yearsold", "yrsold", "yearold", "edad",
                  "alter", "idade", "leeftijd", "wiek", "vozrast", "ageatconsent", "ageatentry", "ageatbaseline",
                  "ageatrandomisation", "ageatrandomization", "anos", "annees", "jahre"})
# year of birth: Safe Harbor allows the year unless it implies an age over 89
_YOB = frozenset({"yob", "yearofbirth", "birthyear", "birthyr", "yrofbirth", "birthyears", "geburtsjahr",
                  "anneedenaissance", "anodenacimiento", "annodinascita", "anonacimiento", "brthyr"})
# headers whose 5-digit values are postal codes
_RESIDENCE = frozenset({"residence", "residency", "home", "domicile", "domicilio", "wohnort", "postalarea",
                        "location", "area", "district", "locality", "cp", "codepostal", "codigopostal", "cap",
                        "postleitzahl", "postnummer", "postnr", "homearea", "hometown"})
# headers of study-assigned pseudonyms: structured study ids (101-01-0001) are legitimate there
_SUBJECT = frozenset({"subject", "subjects", "subj", "subjid", "usubjid", "subjectid", "subjectno", "subjectnumber",
                      "participantid", "participant", "ptid", "studyid", "screeningno", "screeningnumber", "scrno",
                      "randno", "randomisationno", "randomizationno", "randomisationnumber", "randomizationnumber",
                      "id", "ids", "studysubjectid", "pseudonym", "pseudoid", "studyno", "patient", "patientid",
                      "usubj"})
_SUBJECT_QUALIFIERS = frozenset({"no", "nr", "num", "number", "code", "study", "patient", "pt", "pat", "screening",
                                 "rand", "randomisation", "randomization", "trial", "unique", "u", "id"})
# headers of study codes and software versions: digit groups there are codes, not phones, SSNs or IP addresses
_CODE = frozenset({"code", "codes", "studycode", "protocol", "protocolno", "protocolnumber", "kit", "kitno",
                   "kitnumber", "lot", "lotno", "lotnumber", "batch", "batchno", "batchnumber", "form", "crf",
                   "randcode", "sitecode", "trialcode", "trialno", "version", "versions", "ver", "release", "build",
                   "firmware", "software", "swversion", "appversion", "fw", "sw", "drugcode", "itemcode",
                   "productcode", "catalogue", "catalog", "sku", "eudract", "nct", "isrctn", "registration",
                   # clinical terminologies: SNOMED CT concept ids (6-18 digits), MedDRA (8), LOINC, RxNorm, NDC, ICD
                   "snomed", "snomedct", "sctid", "conceptid", "meddra", "meddracode", "loinc", "rxnorm", "rxcui", "ndc",
                   "icd", "icd9", "icd10", "icd11", "atc", "cpt", "opcs", "pzn", "gtin", "ean"})
_VERSION = frozenset({"version", "versions", "ver", "release", "build", "firmware", "software", "swversion",
                      "appversion", "fw", "sw"})
# publication metadata of study-level files (meta-analysis inputs): authors and study labels are not patients
_PUBLICATION = frozenset({"author", "authors", "firstauthor", "study", "studies", "studlab", "studylabel", "studyname",
                          "trial", "trials", "reference", "ref", "citation", "publication", "journal", "source",
                          "year", "pubyear", "publicationyear", "label", "name", "names", "investigator",
                          "investigators", "group", "author1", "authoryear", "published", "publicationdate",
                          "pubdate", "doi", "pmid"})


def roles(tokens: list[str], kind: str = "trial") -> set[str]:
    """What a header says about its column: ``subject`` ids, study ``code``, software ``version``, ``publication``."""
    grams = _grams(tokens)
    out = set()
    if (grams & (_SUBJECT - {"id", "ids"}) or tokens in (["id"], ["ids"])) and set(tokens) <= _SUBJECT | _SUBJECT_QUALIFIERS:
        out.add("subject")
    if grams & _CODE:
        out.add("code")
    if grams & _VERSION:
        out.add("version")
    if kind == "study" and grams & _PUBLICATION:
        out.add("publication")
    return out
_AGE_UNITS = {"months": 12.0, "month": 12.0, "mo": 12.0, "mos": 12.0, "weeks": 52.1775, "week": 52.1775,
              "wk": 52.1775, "wks": 52.1775, "days": 365.25, "day": 365.25, "d": 365.25}


def _tokens(name: object) -> list[str]:
    """Split a column name into lower-case words: snake_case, camelCase, spaces, dots, digits."""
    return list(_split(str(name)))


@lru_cache(maxsize=65536)
def _split(s: str) -> tuple[str, ...]:
    if not s.isascii():
        # accented headers ("prénom", "âge", "Straße", "téléphone") would otherwise split at the accent into
        # fragments ("pr", "nom") that no word list holds: fold them to ASCII first
        s = unicodedata.normalize("NFKD", s.replace("ß", "ss").replace("ẞ", "SS")).encode("ascii", "ignore").decode()
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", s)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)
    s = re.sub(r"([A-Za-z])([0-9])|([0-9])([A-Za-z])", lambda m: " ".join(g for g in m.groups() if g), s)
    return tuple(t for t in re.split(r"[^A-Za-z0-9]+", s.lower()) if t)


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
    kinds = []
    for k, words in _NAME_WORDS.items():
        hit = grams & words
        if hit and (hit - _WEAK or all(t in _COMPANIONS or t in hit for t in tokens)):
            kinds.append(k)
    for kind, affixes in _AFFIX_WORDS.items():
        if kind not in kinds and any(t != w and t.endswith(w) for t in tokens for w in affixes):
            kinds.append(kind)
    if tokens == ["serial"] and "device serial" not in kinds:  # "serial_crp" is a series of measurements
        kinds.append("device serial")
    if "name" not in kinds and {"name", "names"} & set(tokens) and (len(tokens) == 1 or _PERSON & set(tokens)):
        kinds.append("name")
    # "ip_address", "email_address", "mac_address": the address is not a street address
    if "address" in kinds and {EMAIL, IP, URL, "device serial"} & set(kinds):
        kinds.remove("address")
    if grams & _DOB_PARTS and not grams & _DOB:
        kinds.append(MONTH_DATE)  # "birth_month", "Geburtsmonat": the month (or day) of birth, whatever the values
    if set(tokens) & _CHANNEL_USE:
        # "phone_consult", "email_reminder", "address_type", "phone_calls_n": how a channel was used, a measurement
        # (the values are still searched: a phone number in such a column is found by its value)
        kinds = [k for k in kinds if k not in _CHANNELS]
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
    # CDISC/SAS numeric dates end in DT (RANDDT, RFSTDT, TRTSDT): short run-together tokens only
    return any(t in _DATE_TOKENS or (t.endswith(("date", "dtc", "dtm")) and t not in _NOT_DATES)
               or (t.endswith("dt") and 4 <= len(t) <= 8) or t.startswith(("fecha", "datum"))
               or t.endswith("datum") for t in tokens)  # German and Dutch compounds: Aufnahmedatum, opnamedatum


def _is_time_name(tokens: list[str]) -> bool:
    return _is_date_name(tokens) or bool(set(tokens) & _TIME_TOKENS)

