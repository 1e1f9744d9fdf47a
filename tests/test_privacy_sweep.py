"""An adversarial sweep of the identifier guard of ``ct.load``: identifiers in many formats and locales, under
neutral and telling headers, through every reader, on the careful and the coded (fast) path, hidden in one row of
a thousand; and legitimate de-identified trial data that must load.

Every refusal must be a :class:`ct.IdentifierError` (a ``ct.DataError``) naming the column and the kind, and no
value, nor a fragment of one, may appear in the message, the exception's arguments or notes, warnings or logs.

Rules chosen where a format is ambiguous (each is asserted below, in :func:`test_ambiguous_formats_follow_the_rules`):

- a bare run of digits in a text column that mostly holds words is judged only by the digit-run rules (a trunk
  ``0`` and 10-11 digits: a phone; 9 digits: an SSN; zero-padded 7+ digits: a record number; 16 digits from 2-6:
  a payment card); a column that is (90% and more) such numbers is judged by the long-number rule (9-15 digits,
  not round). "9876543210" among words may be a lab or device value and is not refused on its own;
- a 5-digit number is a ZIP code only under a ZIP-, postcode- or residence-like header (a lab value otherwise);
  letters-and-digit postcodes (UK, Canadian) and "10115 Berlin", "Boston, MA 02134" are found by value;
- latitude and longitude pairs need five decimals or degree signs ("1.2345, 2.3456" reads as an interval);
- names in non-Latin scripts (王伟, Иван Петров) are found by a name-like header only, not by value (no lexicon);
- an 8-digit number followed by a Spanish DNI check letter ("12345678Z") is a national id whatever the column.
"""

from __future__ import annotations

import io
import logging
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.privacy import scan

# (value, word that the kind must contain). Each value sits under a neutral header among harmless cells.
IDENTIFIERS = [
    # phone numbers: E.164, North American with parentheses, dots, dashes and extensions, and national forms
    ("+14155552671", "phone"), ("+1 (415) 555-2671", "phone"), ("(415) 555-2671", "phone"),
    ("415.555.2671", "phone"), ("415-555-2671 ext. 204", "phone"), ("1-800-555-0199", "phone"),
    ("+44 (0)20 7946 0958", "phone"), ("020 7946 0958", "phone"), ("07700 900123", "phone"),
    ("0044 7700 900123", "phone"), ("+49 (0)30 1234567", "phone"), ("030/1234567", "phone"),
    ("0151 12345678", "phone"), ("+33 6 12 34 56 78", "phone"), ("06.12.34.56.78", "phone"),
    ("+91 98765 43210", "phone"), ("098765 43210", "phone"), ("+55 11 91234-5678", "phone"),
    ("(11) 91234-5678", "phone"), ("11 91234-5678", "phone"), ("+81 3-1234-5678", "phone"),
    ("090-1234-5678", "phone"), ("(02) 9374 4000", "phone"), ("0412 345 678", "phone"), ("612 34 56 78", "phone"),
    ("06-12345678", "phone"), ("138 0013 8000", "phone"), ("8 (495) 123-45-67", "phone"),
    ("phone 4155552671", "phone"), ("Tel. 030 1234567", "phone"),
    # e-mail addresses
    ("JOHN.SMITH@EXAMPLE.COM", "email"), ("j.smith+trial@mail.example.co.uk", "email"),
    ("maría.garcía@correo.es", "email"), ("müller@beispiel.de", "email"), ("用户@例子.广告", "email"),
    ("<jdoe@example.org>", "email"), ("jdoe at example dot org", "email"), ("jdoe [at] example [dot] org", "email"),
    ("jdoe(at)example.org", "email"), ("jdoe＠example.org", "email"), ("jdoe @ example.org", "email"),
    # full dates: ISO, US, European, written in several languages, compact, date-times, CJK
    ("2024-03-05", "date"), ("2024/03/05", "date"), ("3/5/2024", "date"), ("3/5/24", "date"), ("05.03.2024", "date"),
    ("05-03-2024", "date"), ("5 March 2024", "date"), ("March 5, 2024", "date"), ("Mar. 5, 2024", "date"),
    ("05MAR2024", "date"), ("5-mar-24", "date"), ("05 Mar 24", "date"), ("5. März 2024", "date"),
    ("05. Maerz 2024", "date"), ("5 mars 2024", "date"), ("5 de marzo de 2024", "date"), ("5 maart 2024", "date"),
    ("5 de março de 2024", "date"), ("2024-03-05T14:30:00+01:00", "date"), ("Tue, 05 Mar 2024 14:30:00 GMT", "date"),
    ("2024年3月5日", "date"), ("31-DEC-1984", "date"), ("3. Januar 1950", "date"),
    # postcodes with letters, or with a town or state
    ("SW1A 1AA", "ZIP"), ("M1 1AE", "ZIP"), ("K1A 0B1", "ZIP"), ("Boston, MA 02134", "ZIP"), ("10115 Berlin", "ZIP"),
    ("75008 Paris", "ZIP"),
    # national identification numbers
    ("123-45-6789", "social security"), ("123 45 6789", "social security"),
    ("AB 12 34 56 C", "national identification"), ("QQ123456C", "national identification"),
    ("1 84 12 75 123 456 78", "national identification"), ("12 345 678 901", "national identification"),
    ("1234.56.789", "national identification"), ("2123 45670 1", "national identification"),
    ("1EG4-TE5-MK73", "national identification"), ("12345678Z", "national identification"),
    ("X1234567L", "national identification"), ("RSSMRA85T10A562S", "national identification"),
    ("123.456.789-09", "national identification"), ("850101-1234567", "national identification"),
    ("19850101-1234", "national identification"),
    # medical record numbers
    ("MRN 00123456", "record"), ("MRN#7654321", "record"), ("Patient No. 123456", "record"),
    ("Krankenaktennummer 12345678", "record"), ("Fallnummer 987654", "record"), ("N° dossier 123456", "record"),
    ("historia clínica 654321", "record"),
    # person names
    ("John Smith", "name"), ("SMITH, JOHN", "name"), ("Dr. Emily Carter", "name"), ("J. Smith", "name"),
    ("María José García López", "name"), ("Hans-Peter Müller", "name"), ("Jean-Pierre Lefèvre", "name"),
    ("Mary-Jane O'Neil", "name"), ("Mohammed Al-Rashid", "name"), ("Wang Wei", "name"), ("Priya Sharma", "name"),
    ("Oluwaseun Adeyemi", "name"), ("MÜLLER, HANS", "name"),
    # street addresses and post boxes
    ("221B Baker Street", "address"), ("Hauptstraße 12", "address"), ("12 rue de la Paix", "address"),
    ("C/ Alcalá 45", "address"), ("Keizersgracht 123", "address"), ("PO Box 1234", "address"),
    ("P.O. Box 567", "address"), ("Postfach 1234", "address"),
    # network, web, money, place
    ("192.168.1.10", "IP"), ("2001:db8::1", "IP"), ("https://facebook.com/john.smith", "URL"),
    ("linkedin.com/in/jsmith", "URL"), ("www.johnsmith.com", "URL"),
    ("DE89 3704 0044 0532 0130 00", "account"), ("DE89370400440532013000", "account"),
    ("GB29 NWBK 6016 1331 9268 19", "account"), ("4111 1111 1111 1111", "account"),
    ("4111-1111-1111-1111", "account"), ("3782 822463 10005", "account"), ("4111111111111111", "account"),
    ("52.520008, 13.404954", "geographic"), ("40.7128° N, 74.0060° W", "geographic"),
    ("51°30'26\"N 0°7'39\"W", "geographic"),
    # the same written with characters outside ASCII, as spreadsheets in other locales export them
    ("+44\u00a020\u00a07946\u00a00958", "phone"), ("06\u202f12\u202f34\u202f56\u202f78", "phone"),
    ("０２０ ７９４６ ０９５８", "phone"), ("０１２３４５６７８９", "phone"), ("415–555–2671", "phone"),
    ("٠٦١٢٣٤٥٦٧٨", "phone"), ("123\u201145\u20116789", "social security"), ("１２３-４５-６７８９", "social security"),
    ("2024\u201103\u201105", "date"), ("5\u00a0March\u00a02024", "date"), ("SW1A\u00a01AA", "ZIP"),
    ("ｊａｎｅ＠ｅｘａｍｐｌｅ．ｏｒｇ", "email"),
]

# telling headers in several languages over values that say nothing on their own
HEADERS = [
    ("Name", "name"), ("Nachname", "name"), ("Vorname", "name"), ("nom", "name"), ("prénom", "name"),
    ("nombre_completo", "name"), ("Patient Name", "name"), ("Nom de famille", "name"),
    ("Telefon", "phone"), ("Telefonnummer", "phone"), ("Handynummer", "phone"), ("téléphone", "phone"),
    ("Tel.", "phone"), ("celular", "phone"), ("Phone #", "phone"),
    ("E-Mail", "email"), ("courriel", "email"), ("correo_electronico", "email"), ("Mail", "email"),
    ("MRN", "record"), ("Patientennummer", "record"), ("Fallnummer", "record"), ("numero_dossier", "record"),
    ("NHC", "record"),
    ("SSN", "social security"), ("NI number", "social security"), ("Sozialversicherungsnummer", "social security"),
    ("numero_securite_sociale", "social security"), ("BSN", "social security"), ("SIN", "social security"),
    ("Adresse", "address"), ("Anschrift", "address"), ("Straße", "address"), ("domicilio", "address"),
    ("IBAN", "account"), ("Kontonummer", "account"), ("credit_card", "account"),
    ("coordinates", "geographic"), ("Wohnort", "geographic"),
]

# headers whose values decide: (header, values, kind word)
NAMED_VALUES = [
    ("DOB", ["1984-12-31", "1950-01-03"], "date"), ("Geburtsdatum", ["1984", "1950"], "date"),
    ("geboortedatum", [30000.0, 31000.0], "date"), ("Aufnahmedatum", [45000, 45100], "date"),
    ("date_de_naissance", ["1984", "1950"], "date"), ("fecha_nacimiento", ["1984", "1950"], "date"),
    ("data_di_nascita", ["1984", "1950"], "date"),
    ("ZIP", ["02134", "90210"], "ZIP"), ("zip4", ["02134-1234", "90210-0001"], "ZIP"),
    ("PLZ", ["10115", "80331"], "ZIP"), ("code_postal", ["75008", "69001"], "ZIP"), ("CEP", ["01310-100", "20040-002"], "ZIP"),
    ("CAP", ["00184", "20121"], "ZIP"), ("postcode", ["sw1a1aa", "m11ae"], "ZIP"), ("pincode", ["110001", "400001"], "ZIP"),
    ("postnummer", ["0150", "5003"], "ZIP"),
    ("age", [95, 40], "age"), ("âge", [95, 40], "age"), ("Alter", [95, 40], "age"),
    # the month or day of birth in a column of its own is a date element more precise than the year
    ("birth_month", [3, 11], "date"), ("Geburtsmonat", [3, 11], "date"), ("month_of_birth", ["March", "May"], "date"),
    ("day_of_birth", [5, 21], "date"),
]

# legitimate de-identified trial data: must not be refused
LEGITIMATE = {
    "site": ["site2", "site10", "Site 3", "SITE-04", "center_03"],
    "site_city": ["Berlin", "Paris", "Boston"],
    "arm_label": ["Physio + Acupuncture", "Control (usual care)", "combined", "Arm A"],
    "instrument": ["Oswestry Disability Index", "Roland Morris", "Fugl-Meyer", "Berg Balance Scale", "Barthel Index",
                   "Parkinson Disease", "Alexander technique", "Patrick test", "Tommy John surgery"],
    "comment": ["Patient reported less pain", "Will call back", "May improve", "BP 120/80", "ratio 3/4",
                "ICD-10 M54.5", "v1.10.2.3", "seen at clinic. Follow up", "CI 1.2345, 2.3456", "4 junior 12",
                "dossier 2024", "cells 150000000 per kg", "DOI 10.1016/j.pain.2020.01.001", "pT1aN0M0",
                "aged 90 or older", "36.6 °C", "knee flexion 90°", "range 1000-2000 steps", "(n=12) 1000-2000"],
    "visit_label": ["Week 12", "W12", "baseline", "visit 3", "Month 6"],
    "enrol_year": ["2024", "2023"], "visit_date": ["2024", "2023"], "year_of_visit": [2024, 2023],
    "zip3": ["021", "902", "100"], "zip": ["021", "902", "000"],
    "age": [45, 67, 90, 89], "age_group": ["18-39", "40-64", "65-89", "90+"],
    "time_of_day": ["08:30", "12:30:45"], "drug": ["Aspirin 100 mg", "Metformin 850 mg"],
    "snomed": ["22298006", "386661006", "73211009"], "meddra_code": [10019211, 10033371],
    "icd10": ["M54.5", "G43.909"], "atc": ["N02BE01", "M01AE01"], "nct": ["NCT01234567", "NCT04567890"],
    "platelets": [250000, 310000, 180000], "steps": [12000, 8000, 15001], "study_day": [1, 15, 29, 365],
    "arm_zh": ["对照组", "针灸组"], "language": ["English", "Español", "中文"],
    "phone_consult": ["yes", "no"], "email_reminder": ["yes", "no"], "address_type": ["urban", "rural"],
    "phone_calls_n": [0, 3, 5], "tel_consult": [1, 2], "mobile_app_use": [0, 1], "ip_adherence": [0.9, 0.8],
    "drug_name": ["Ibuprofen", "Naproxen"], "site_name": ["St Mary's Hospital", "Royal London"],
    "sin_dolor": [1, 0], "mail_survey": [1, 0], "geo_region": ["North", "South"], "rib_fracture": [0, 1],
    "lat_pulldown_kg": [30, 45], "cpr_performed": [0, 1], "birth_year": [1950, 1980], "birth_weight_g": [3000, 3500],
    "months_since_birth": [3, 4],
    "subject": ["101-01-0001", "101-01-0002", "101-02-0003", "102-01-0004"],
}

_MESSAGE_WORDS = {"phone", "date", "name", "record", "number", "email", "address", "account", "march", "berlin",
                  "paris", "boston", "dossier", "patient"}


def _fragments(value: str, digits: int = 4) -> list[str]:
    """The value and the recognisable pieces of it that must never be shown."""
    pieces = re.findall(r"[0-9]{" + str(digits) + r",}|[^\W\d_]{4,}", value)
    return [value] + [p for p in pieces if p.lower() not in _MESSAGE_WORDS]


def _leaks(value: str, text: str, digits: int = 4) -> list[str]:
    """Fragments of ``value`` found in ``text``: digit runs anywhere, words as whole words ("mail" of an address is
    not the word "email" of the message)."""
    return [f for f in _fragments(value, digits)
            if (f in text if not f.isalpha() else re.search(r"(?<![^\W\d_])" + re.escape(f) + r"(?![^\W\d_])", text))]


def _everything(err: BaseException, log: str = "", caught: list | None = None) -> str:
    return "\n".join([str(err), repr(err.args), *getattr(err, "__notes__", []), log,
                      *(str(w.message) for w in caught or [])])


def _refused(frame: pd.DataFrame, value: str, word: str, quick: bool, column: str = "col_a") -> None:
    old = scan._QUICK
    scan._QUICK = quick
    try:
        with pytest.raises(ct.IdentifierError) as info:
            ct.check_identifiers(frame)
    finally:
        scan._QUICK = old
    err = info.value
    assert isinstance(err, ct.DataError)
    assert any(word.lower() in k.lower() for k in err.kinds), (value, err.kinds)
    assert column in err.columns or any("header withheld" in c for c in err.columns)
    text = _everything(err)
    leaked = _leaks(value, text)
    assert not leaked, leaked


def _as_coded(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as the fast readers give them (Categoricals of text)."""
    return frame.apply(lambda s: s.astype("str").astype("category") if s.dtype == object else s)


@pytest.mark.parametrize("quick", [False, True], ids=["careful", "coded"])
@pytest.mark.parametrize("value,word", IDENTIFIERS, ids=[v for v, _ in IDENTIFIERS])
def test_identifier_values_are_refused_without_being_shown(value, word, quick):
    frame = pd.DataFrame({"pain": [3, 4, 5, 6, 2], "col_a": pd.Series([value, "ok", "none", "site2", "3"], dtype=object)})
    _refused(_as_coded(frame) if quick else frame, value, word, quick)


@pytest.mark.parametrize("header,word", HEADERS, ids=[h for h, _ in HEADERS])
def test_telling_headers_are_refused(header, word):
    frame = pd.DataFrame({header: pd.Series(["x1", "y2"], dtype=object), "pain": [3, 4]})
    with pytest.raises(ct.IdentifierError) as info:
        ct.check_identifiers(frame)
    assert header in info.value.columns
    assert any(word.lower() in k.lower() for k in info.value.kinds), info.value.kinds


@pytest.mark.parametrize("header,values,word", NAMED_VALUES, ids=[h for h, _, _ in NAMED_VALUES])
def test_headers_whose_values_decide(header, values, word):
    frame = pd.DataFrame({header: pd.Series(values, dtype=object if isinstance(values[0], str) else None)})
    with pytest.raises(ct.IdentifierError) as info:
        ct.check_identifiers(frame)
    assert any(word.lower() in k.lower() for k in info.value.kinds), info.value.kinds
    text = _everything(info.value)
    assert not [str(v) for v in values if len(str(v)) >= 4 and str(v) in text]


@pytest.mark.parametrize("quick", [False, True], ids=["careful", "coded"])
@pytest.mark.parametrize("column", list(LEGITIMATE))
def test_legitimate_columns_are_not_refused(column, quick):
    values = LEGITIMATE[column]
    frame = pd.DataFrame({column: pd.Series(values, dtype=object if isinstance(values[0], str) else None)})
    old = scan._QUICK
    scan._QUICK = quick
    try:
        found = ct.find_identifiers(_as_coded(frame) if quick else frame)
    finally:
        scan._QUICK = old
    assert found.empty, found[["kind", "reason"]].to_dict("records")


def test_ambiguous_formats_follow_the_rules():
    def kinds(col, values):
        return set(ct.find_identifiers(pd.DataFrame({col: pd.Series(values, dtype=object)}))["kind"])

    # a bare 10-digit number among words: not refused; a column of them: the long-number rule refuses it
    assert not kinds("col_a", ["9876543210", "ok", "none", "fine"])
    assert kinds("col_a", ["9876543210", "9434765919", "2123456701"]) == {"phone number"}
    assert kinds("col_a", ["184127512345678", "290051305500142"]) == {"medical record number"}
    # a 5-digit number is a ZIP code only under a postcode-like header
    assert not kinds("col_a", ["02134", "90210", "10115"])
    assert kinds("plz", ["02134", "90210"]) == {"ZIP code (more than 3 digits)"}
    # coordinates: 4 decimals without degree signs read as an interval; 5 decimals as a place
    assert not kinds("col_a", ["40.7128, -74.0060"])
    assert kinds("col_a", ["40.71277, -74.00597"]) == {"geographic subdivision smaller than a state"}
    # non-Latin names: by header only
    assert not kinds("col_a", ["王伟", "Иван Петров"])
    assert "name" in kinds("Nachname", ["王伟", "Иван Петров"])
    # an 8-digit number with a DNI check letter is a national id
    assert kinds("col_a", ["12345678Z"]) == {"national identification number"}


def test_header_that_is_an_identifier_is_withheld():
    frame = pd.DataFrame({"jane.doe@example.org": [1, 2], "+44 20 7946 0958": [1, 2], "John Smith": [3, 4],
                          "pain": [1, 2]})
    with pytest.raises(ct.IdentifierError) as info:
        ct.check_identifiers(frame)
    text = _everything(info.value)
    for fragment in ("jane", "example", "7946", "0958", "John", "Smith"):
        assert fragment not in text
    assert len(info.value.columns) == 3 and all("header withheld" in c for c in info.value.columns)


# ------------------------------------------------------------------------------------------------ through ct.load
def _trial(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"subject": np.repeat([f"S{i:04d}" for i in range((n + 1) // 2)], 2)[:n],
                         "arm": np.where(np.arange(n) % 4 < 2, "physio", "control"),
                         "visit": np.tile([0, 12], n)[:n], "pain": rng.integers(0, 11, n)})


def _write(frame: pd.DataFrame, path, reader: str) -> dict:
    if reader == "csv":
        frame.to_csv(path, index=False)
    elif reader == "csv;":
        frame.to_csv(path, index=False, sep=";")
        return {"sep": ";"}
    elif reader == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif reader == "csv-bom-crlf":
        frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    elif reader == "parquet":
        frame.to_parquet(path, index=False)
    elif reader == "xlsx":
        frame.to_excel(path, index=False)
    elif reader == "dta":
        frame.to_stata(path, write_index=False, version=118)
    return {}


_SUFFIX = {"csv": ".csv", "csv;": ".csv", "tsv": ".tsv", "csv-bom-crlf": ".csv", "parquet": ".parquet",
           "xlsx": ".xlsx", "dta": ".dta"}


def _load_refused(path, kw: dict, column: str, word: str, secret: str, digits: int = 4) -> None:
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings(record=True) as caught, pytest.raises(ct.IdentifierError) as info:
            warnings.simplefilter("always")
            ct.load(path, **kw)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    err = info.value
    assert column in err.columns and any(word.lower() in k.lower() for k in err.kinds), (err.columns, err.kinds)
    text = _everything(err, logs.getvalue(), caught)
    assert not _leaks(secret, text, digits)


# one identifier of each broad kind, under a neutral header (and the ZIP under its header)
THROUGH_LOAD = [("col_a", "+44 20 7946 0958", "phone"), ("col_a", "jane.doe+x@mail.example.com", "email"),
                ("col_a", "05.03.2024", "date"), ("col_a", "Hans-Peter Müller", "name"),
                ("col_a", "AB 12 34 56 C", "national identification"), ("col_a", "DE89 3704 0044 0532 0130 00", "account"),
                ("col_a", "MRN 00123456", "record"), ("zip", "02134", "ZIP")]
_SAME_READER = pytest.mark.slow  # ";" and tab files take the reader of "," files: the default run keeps one of them
READERS = ["csv", pytest.param("csv;", marks=_SAME_READER), pytest.param("tsv", marks=_SAME_READER), "csv-bom-crlf",
           "parquet", "xlsx", "dta"]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("column,secret,word", THROUGH_LOAD, ids=[s.split()[0] for _, s, _ in THROUGH_LOAD])
def test_small_files_every_reader(tmp_path, reader, column, secret, word):
    frame = _trial(40)
    frame[column] = np.where(np.arange(40) % 2 == 0, secret, "fine")
    path = tmp_path / f"f{_SUFFIX[reader]}"
    _load_refused(path, _write(frame, path, reader), column, word, secret)


@pytest.mark.parametrize("reader", ["csv", pytest.param("csv;", marks=_SAME_READER),
                                    pytest.param("tsv", marks=_SAME_READER), "csv-bom-crlf", "parquet"])
@pytest.mark.parametrize("column,secret,word", THROUGH_LOAD, ids=[s.split()[0] for _, s, _ in THROUGH_LOAD])
def test_one_row_in_a_thousand_on_the_coded_path(tmp_path, reader, column, secret, word):
    n = 2400
    frame = _trial(n)
    cells = np.full(n, "", dtype=object)
    cells[1234] = secret  # one cell of 2,400; the rest blank
    frame[column] = cells
    path = tmp_path / f"f{_SUFFIX[reader]}"
    # row numbers and counts of a large file may hold four digits: only five-digit fragments are looked for
    _load_refused(path, _write(frame, path, reader), column, word, secret, digits=5)


@pytest.mark.slow
@pytest.mark.parametrize("reader", ["xlsx", "dta"])
@pytest.mark.parametrize("column,secret,word", THROUGH_LOAD, ids=[s.split()[0] for _, s, _ in THROUGH_LOAD])
def test_one_row_in_a_thousand_slow_readers(tmp_path, reader, column, secret, word):
    n = 2400
    frame = _trial(n)
    cells = np.full(n, "", dtype=object)
    cells[1234] = secret
    frame[column] = cells
    path = tmp_path / f"f{_SUFFIX[reader]}"
    _load_refused(path, _write(frame, path, reader), column, word, secret, digits=5)


@pytest.mark.parametrize("n", [40, 2400])
@pytest.mark.parametrize("typed", ["timestamp", "timestamp_tz", "date32", "yyyymmdd_int"])
def test_typed_dates_under_a_neutral_name(tmp_path, n, typed):
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = _trial(n)
    days = pd.Timestamp("1950-01-01") + pd.to_timedelta(np.arange(n) * 37 % 20000, unit="D")
    frame["col_a"] = {"timestamp": days, "timestamp_tz": days.tz_localize("Europe/Berlin"), "date32": days,
                      "yyyymmdd_int": days.strftime("%Y%m%d").astype(int)}[typed]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if typed == "date32":
        table = table.set_column(table.schema.get_field_index("col_a"), "col_a", pa.array(days.date, type=pa.date32()))
    path = tmp_path / "f.parquet"
    pq.write_table(table, path)
    _load_refused(path, {}, "col_a", "date", "1950-01-01", digits=5)


@pytest.mark.parametrize("reader", ["dta", "xlsx", "csv"])
def test_typed_dates_in_stata_excel_and_serials(tmp_path, reader):
    frame = _trial(40)
    days = pd.Timestamp("1950-01-01") + pd.to_timedelta(np.arange(40) * 37, unit="D")
    frame["col_a"] = days                                               # Stata %tc / Excel date cells
    frame["Geburtsdatum"] = (days - pd.Timestamp("1899-12-30")).days.astype(float)  # Excel serial dates
    path = tmp_path / f"f{_SUFFIX[reader]}"
    _write(frame, path, reader)
    with pytest.raises(ct.IdentifierError) as info:
        ct.load(path)
    assert {"col_a", "Geburtsdatum"} <= set(info.value.columns)
    assert "1950" not in _everything(info.value)


def test_wide_file_with_one_identifier_column(tmp_path):
    n = 30
    frame = pd.DataFrame({"subject": [f"S{i:03d}" for i in range(n)], "arm": ["physio", "control"] * (n // 2)})
    rng = np.random.default_rng(3)
    for week in range(0, 53, 1):
        frame[f"pain_w{week}"] = rng.integers(0, 11, n)
    frame["kontakt"] = ["+49 151 12345678" if i == 17 else "" for i in range(n)]
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    _load_refused(path, {"layout": "wide"}, "kontakt", "phone", "+49 151 12345678")


def test_legitimate_trial_file_loads(tmp_path):
    n = 2400
    frame = _trial(n)
    frame["site"] = np.where(np.arange(n) % 3 == 0, "site2", "site10")
    frame["age"] = np.arange(n) % 70 + 20
    frame["zip3"] = np.where(np.arange(n) % 2 == 0, "021", "902")
    frame["enrol_year"] = 2024
    frame["snomed"] = np.where(np.arange(n) % 2 == 0, "386661006", "22298006")
    frame["phone_consult"] = np.where(np.arange(n) % 2 == 0, "yes", "no")
    for reader in ("csv", "parquet"):
        path = tmp_path / f"ok{_SUFFIX[reader]}"
        _write(frame, path, reader)
        trial = ct.load(path)
        assert trial.visits == [0.0, 12.0]


# ------------------------------------------------------------------- messages raised before the guard has run
def test_read_problem_withholds_a_header_that_is_an_identifier(tmp_path):
    # a column of durations is refused by the reader, before the guard: its header must not be printed either
    path = tmp_path / "durations.parquet"
    pd.DataFrame({"jane.doe@example.org": pd.to_timedelta([1, 2], unit="D"), "pain": [1, 2]}).to_parquet(path)
    with pytest.raises(ct.DataError) as info:
        ct.load(path)
    text = _everything(info.value)
    assert "column 1 (header withheld)" in text and "jane" not in text and "example" not in text


def test_sheet_names_that_are_identifiers_are_withheld(tmp_path):
    path = tmp_path / "sheets.xlsx"
    trial = _trial(8)
    with pd.ExcelWriter(path) as writer:
        trial.to_excel(writer, sheet_name="trial", index=False)
        trial.to_excel(writer, sheet_name="John Smith", index=False)
        trial.to_excel(writer, sheet_name="jdoe@example.org", index=False)
    notes = " ".join(ct.load(path).notes)
    assert "sheet 2 (name withheld)" in notes and "Smith" not in notes and "jdoe" not in notes
    with pytest.raises(ct.DataError) as info:
        ct.load(path, sheet="other")
    text = _everything(info.value)
    assert "'trial'" in text and "Smith" not in text and "jdoe" not in text


def test_deidentify_clears_the_new_kinds():
    frame = pd.DataFrame({"subject": ["a", "b", "c"], "pain": [3, 4, 5],
                          "col_a": ["DE89 3704 0044 0532 0130 00", "ok", "fine"], "col_b": ["AB 12 34 56 C", "x", "y"],
                          "col_c": ["52.520008, 13.404954", "x", "y"], "col_d": ["０２０ ７９４６ ０９５８", "x", "y"]})
    with pytest.raises(ct.IdentifierError) as info:
        ct.check_identifiers(frame)
    assert set(info.value.columns) == {"col_a", "col_b", "col_c", "col_d"}
    clean = ct.deidentify(frame, key=b"0123456789abcdef0123")
    ct.check_identifiers(clean)  # passes
    assert not {"col_a", "col_b", "col_c", "col_d"} & set(clean.columns)


def test_out_of_core_load_checks_the_whole_file(tmp_path):
    # the lazy loader checks a seeded sample of 2,000 subjects in memory; an identifier in one row of 20,000 (and an
    # age over 89 in one other row) must still be refused: the guard also sees every distinct text and each numeric
    # column's extremes
    pytest.importorskip("duckdb")
    n = 20000
    frame = _trial(n)
    notes = np.full(n, "fine", dtype=object)
    notes[17777] = "call +44 20 7946 0958"
    frame["col_a"] = notes
    frame["age"] = 40
    frame.loc[15555, "age"] = 97
    path = tmp_path / "lazy.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(ct.IdentifierError) as info:
        ct.load(path, backend="duckdb")
    assert set(info.value.columns) == {"col_a", "age"}
    assert not _leaks("+44 20 7946 0958", _everything(info.value), 5)
    dd = pytest.importorskip("dask.dataframe")
    with pytest.raises(ct.IdentifierError) as info:
        ct.load(dd.from_pandas(frame, npartitions=4))
    assert set(info.value.columns) == {"col_a", "age"}
    frame["col_a"], frame["age"] = "fine", 40
    frame.to_parquet(path, index=False)
    assert ct.load(path, backend="duckdb").n_subjects == n // 2
    assert ct.load(dd.from_pandas(frame, npartitions=4)).n_subjects == n // 2


def test_out_of_core_guard_reads_distinct_values_in_batches(tmp_path, monkeypatch):
    # at 10^8 rows the subject column alone holds 10^7-10^8 distinct ids: the whole-file guard takes them in batches
    # (DuckDB's Arrow text sliced), so an identifier far down a long column is found, and a clean file still loads
    pytest.importorskip("duckdb")
    from combotherapy.scale import backends

    monkeypatch.setattr(backends, "_GUARD_BATCH", 50)
    batches = []
    guard = backends._guard_parts
    monkeypatch.setattr(backends, "_guard_parts", lambda parts, *a: (batches.append(parts), guard(parts, *a)))
    n = 2000
    frame = _trial(n)
    notes = np.array([f"note {i // 2}" for i in range(n)], dtype=object)   # 1,000 distinct texts: 20 batches
    notes[1999] = "mail jane.doe@example.org"
    frame["col_a"] = notes
    path = tmp_path / "lazy.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(ct.IdentifierError) as info:
        ct.load(path, backend="duckdb")
    assert set(info.value.columns) == {"col_a"}
    assert not _leaks("jane.doe@example.org", _everything(info.value), 5)
    frame.loc[1999, "col_a"] = "note 999"
    frame.to_parquet(path, index=False)
    batches.clear()
    assert ct.load(path, backend="duckdb").n_subjects == n // 2
    # 1,000 distinct subjects and notes in 20 batches of 50, each value once; the other text columns in the first
    assert len(batches) == 20 and all(len(b["col_a"]) == 50 for b in batches)
    assert sum(len(b["subject"]) for b in batches) == 1000 and set(batches[0]) >= {"subject", "arm", "col_a"}
    assert len(set().union(*(set(b["col_a"]) for b in batches))) == 1000


def test_out_of_core_guard_on_a_duckdb_connection_table_with_an_enum_column():
    # ct.load(con, table=...) (README's large-data section): a connection is a duckdb object (its class lives in the
    # compiled _duckdb module), and a table's ENUM column (DuckDB's categoricals) is guarded as its text
    duckdb = pytest.importorskip("duckdb")
    n = 20000
    frame = _trial(n)
    clinic = np.full(n, "north", dtype=object)
    clinic[17777] = "jane.doe@example.org"
    frame["clinic"] = clinic
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TYPE clinic_t AS ENUM (SELECT DISTINCT clinic FROM frame)")
    con.execute("CREATE TABLE visits AS SELECT subject, arm, visit, pain, CAST(clinic AS clinic_t) AS clinic "
                "FROM frame")
    assert "ENUM" in dict((r[0], r[1]) for r in con.execute("DESCRIBE visits").fetchall())["clinic"]
    with pytest.raises(ct.IdentifierError) as info:
        ct.load(con, table="visits")
    assert info.value.columns == ("clinic",)
    assert not _leaks("jane.doe@example.org", _everything(info.value), 5)
    con.execute("UPDATE visits SET clinic = 'north'")
    assert ct.load(con, table="visits").n_subjects == n // 2
