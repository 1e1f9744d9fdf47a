"""Write corpus.json: labelled columns for measuring the identifier guard as a classifier.

Run from the repository root: ``python tests/privacy_corpus/make_corpus.py``. The output is deterministic
(a seeded numpy Generator draws the values); ``tests/test_privacy_corpus.py`` checks that the committed
corpus.json is what this script writes, then computes recall and the false-positive rate.

Each entry: ``header``, ``values`` (a list; ``null`` is missing), ``dtype`` (``str``, ``int`` or ``float``),
``label`` (``identifier`` or ``legitimate``), ``kind`` (what the column holds, in words), ``group`` (the family
of formats it belongs to) and ``context`` (``{}``, ``{"kind": "study"}`` for published study-level data, or
``{"subject": true}`` when the column is the mapped subject column). Names, numbers and addresses are made
up; phone numbers use ranges reserved for fiction where they exist (555, 07700 900xxx, 020 7946 0xxx).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("corpus.json")
rng = np.random.default_rng(20261206)

# given names and surnames by locale (some of them outside the package's lexicon on purpose)
PEOPLE = {
    "en": (["John", "Mary", "Robert", "Linda", "Michael", "Susan", "Oliver", "Amelia"],
           ["Smith", "Johnson", "Walker", "Hughes", "Evans", "Patterson", "Fairbanks", "Whitlock"]),
    "es": (["Alejandro", "Lucia", "Javier", "Carmen", "Santiago", "Ximena"], ["Garcia", "Fernandez", "Lopez",
                                                                              "Iglesias", "Villanueva"]),
    "fr": (["Pierre", "Nathalie", "Julien", "Camille", "Guillaume", "Sandrine"], ["Dubois", "Lefebvre", "Moreau",
                                                                                 "Chevalier", "Lacroix"]),
    "de": (["Klaus", "Ursula", "Jonas", "Heike", "Florian", "Birgit"], ["Muller", "Schneider", "Hoffmann",
                                                                       "Zimmermann", "Brandt"]),
    "it": (["Giuseppe", "Francesca", "Lorenzo", "Chiara", "Matteo"], ["Rossi", "Esposito", "Colombo",
                                                                     "Bernardi", "Pellegrini"]),
    "pt": (["Joao", "Fernanda", "Thiago", "Leticia", "Rodrigo"], ["Silva", "Oliveira", "Carvalho", "Azevedo"]),
    "nl": (["Pieter", "Sanne", "Daan", "Femke", "Willem"], ["Jansen", "Bakker", "Visser", "Meijer"]),
    "nordic": (["Lars", "Ingrid", "Magnus", "Astrid", "Ola"], ["Hansen", "Johansson", "Nordmann", "Lindqvist"]),
    "pl": (["Krzysztof", "Katarzyna", "Tomasz", "Agnieszka"], ["Nowak", "Kowalski", "Wisniewski", "Zielinski"]),
    "ru": (["Sergei", "Olga", "Dmitri", "Tatiana"], ["Ivanov", "Smirnova", "Kuznetsov", "Volkova"]),
    "tr": (["Mehmet", "Ayse", "Emre", "Zeynep"], ["Yilmaz", "Kaya", "Demir", "Ozturk"]),
    "ar": (["Mohammed", "Fatima", "Omar", "Layla"], ["Haddad", "Mansour", "Khalil", "Nasser"]),
    "in": (["Rahul", "Priya", "Arjun", "Ananya"], ["Sharma", "Patel", "Iyer", "Banerjee"]),
    "cn": (["Wei", "Jing", "Xiaoming", "Yuxuan"], ["Wang", "Zhang", "Chen", "Huang"]),
    "jp": (["Hiroshi", "Yoko", "Haruto", "Sakura"], ["Sato", "Suzuki", "Takahashi", "Yamamoto"]),
    "kr": (["Minjun", "Seoyeon", "Jiho", "Jiwoo"], ["Kim", "Park", "Choi", "Jung"]),
    "vi": (["Minh", "Linh", "Tuan", "Trang"], ["Nguyen", "Tran", "Pham", "Hoang"]),
    "af": (["Kwame", "Ngozi", "Chinedu", "Wanjiru"], ["Mensah", "Okafor", "Kamau", "Boateng"]),
}
LOCALES = list(PEOPLE)

entries: list[dict] = []


def add(header, values, label, kind, group, dtype="str", context=None):
    entries.append({"header": header, "values": [None if v is None else v for v in values], "dtype": dtype,
                    "label": label, "kind": kind, "group": group, "context": context or {}})


def pick(seq, n):
    return [seq[i] for i in rng.integers(0, len(seq), n)]


def person(locale, fmt, i):
    first, last = PEOPLE[locale]
    f, g, s_ = first[i % len(first)], first[(i + 1) % len(first)], last[i % len(last)]
    return {"first last": f"{f} {s_}", "last, first": f"{s_.upper()}, {f}", "first m. last": f"{f} {g[0]}. {s_}",
            "first last n": f"{f} {s_} {i}", "i. last": f"{f[0]}. {s_}", "LAST FIRST": f"{s_.upper()} {f.upper()}",
            "first middle last": f"{f} {g} {s_}"}[fmt]


# --- identifiers ------------------------------------------------------------------------------
NAME_HEADERS = ["patient", "PATNAME", "participant_text", "who", "contact_person", "col_7", "nombre_paciente",
                "Name des Patienten", "pt", "respondent", "caregiver", "therapist", "referred_by", "informant",
                "accompanied_by", "guardian_text"]
FORMATS = ["first last", "last, first", "first m. last", "first last n", "i. last", "LAST FIRST",
           "first middle last"]
for i in range(42):
    loc, fmt = LOCALES[i % len(LOCALES)], FORMATS[i % len(FORMATS)]
    add(NAME_HEADERS[i % len(NAME_HEADERS)], [person(loc, fmt, i + k) for k in range(6)] + [None],
        "identifier", f"person name ({fmt}, {loc})", "names in values")

TEMPLATES = ["{F}'s husband {G} called", "Spoke with {F} about her back", "Dr {L} reviewed the scan",
             "Mrs {L} reports less pain", "Seen with daughter {F} today", "{F} {L} came with her son",
             "Pt says {F} will drive her next time", "Herr {L} klagt über weniger Schmerzen",
             "Mme {L} signale moins de douleur", "La Sra. {L} refiere dolor lumbar", "Call from {F} (sister)",
             "Message left for {F} {L}"]
NOTE_HEADERS = ["notes", "comment", "comments", "free_text", "remarks", "observaciones", "bemerkungen", "ae_text",
                "narrative", "visit_note", "therapist_notes", "memo"]
FILLER = ["no change", "improving", "mild soreness after session", "pain 4/10 at rest", "missed visit, rebooked"]
for i in range(24):
    loc = LOCALES[(i * 5) % len(LOCALES)]
    first, last = PEOPLE[loc]
    t = TEMPLATES[i % len(TEMPLATES)].format(F=first[i % len(first)], G=first[(i + 1) % len(first)],
                                             L=last[i % len(last)])
    add(NOTE_HEADERS[i % len(NOTE_HEADERS)], pick(FILLER, 5) + [t, None], "identifier",
        f"person name inside free text ({loc})", "names in free text")

# record numbers: header cues and value structure
for h in ["patient_number", "record_no", "RecNo", "MRN", "hosp_no", "chart_number", "case_no", "PATNO",
          "pat_num", "medical_record", "hospital_id", "NHC"]:
    add(h, [int(v) for v in rng.integers(100000, 9999999, 6)], "identifier", "record number", "record numbers",
        "int")
for text in ["MRN: 00123456", "mrn 1234567 transferred", "Hospital No. 4455667", "NHS no 9434765919",
             "record #: 7788990", "chart no 55123"]:
    add("notes", pick(FILLER, 5) + [text], "identifier", "record number in text", "record numbers")
add("ref", ["MRN00123456", "MRN00123457", "MRN00987654"], "identifier", "prefixed record numbers",
    "record numbers")
add("pid", ["00123456", "00234567", "00987654", "00456789"], "identifier", "zero-padded record numbers",
    "record numbers")
add("patient", ["0012345678", "0023456789", "0098765432"], "identifier", "zero-padded record numbers",
    "record numbers")

# dates as numbers
for h in ["RANDDT", "RFSTDT", "TRTSDT", "AESTDT", "LSTVSTDT"]:
    add(h, [int(v) for v in rng.integers(22000, 23800, 6)], "identifier", "SAS numeric date", "numeric dates",
        "int")
add("BRTHDT", [int(v) for v in rng.integers(-9000, 3000, 6)], "identifier", "SAS date of birth",
    "numeric dates", "int")
for h in ["visit_date", "DateOfVisit", "fecha_visita", "datum_besuch", "excel_date"]:
    add(h, [float(v) for v in rng.integers(43000, 46000, 6)], "identifier", "Excel serial date", "numeric dates",
        "float")
for h in ["screening", "consent", "consent_dt", "surgery"]:
    add(h, [int(f"20{y:02d}{m:02d}{d:02d}") for y, m, d in zip(rng.integers(18, 25, 6), rng.integers(1, 13, 6),
                                                                rng.integers(1, 29, 6))],
        "identifier", "YYYYMMDD number", "numeric dates", "int")
for h in ["timestamp", "created_at", "ts", "recorded_time"]:
    add(h, [int(v) for v in rng.integers(1_600_000_000, 1_750_000_000, 6)], "identifier", "epoch seconds",
        "numeric dates", "int")
add("event_time", [int(v) for v in rng.integers(1_600_000_000_000, 1_750_000_000_000, 6)], "identifier",
    "epoch milliseconds", "numeric dates", "int")

# dates as text in other conventions
DATE_TEXTS = ["01.03.24", "1er mars 2024", "15 janvier 2024", "3. März 2024", "12 de marzo de 2024",
              "12 marzo 2024", "5 de maio de 2024", "12 maart 2024", "Mar 2024", "März 2024", "mars 2024",
              "March 2024", "2024/03/01", "01-03-2024", "2024-03-01 10:00", "12MAR2024", "Tuesday, 5 March 2024",
              "seen 14.02.23 by GP", "febrero 2023", "Dezember 2023"]
DATE_HEADERS = ["seen", "when", "note", "fecha", "datum", "visit_when", "last_contact", "onset", "info"]
for i, d in enumerate(DATE_TEXTS):
    add(DATE_HEADERS[i % len(DATE_HEADERS)], pick(["", "n/a", "see chart"], 3) + [d], "identifier",
        "date in text", "text dates")

# ages over 89 under other names, in text, and years of birth
for h in ["years_old", "ageyears", "edad", "Alter", "age_yrs", "idade", "AgeAtConsent", "AGE_Y"]:
    add(h, [45, 92, 67, 71, 95, 58], "identifier", "age over 89", "ages", "int")
for text in ["95 years", "92 yrs", "91 y/o", "93 ans", "94 Jahre", "96 años", "aged 97", "age: 98"]:
    add("details", ["45 years", "60 years", text], "identifier", "age over 89 in text", "ages")
for h in ["yob", "birth_year", "year_of_birth", "YOB"]:
    add(h, [1930, 1955, 1961, 1948], "identifier", "year of birth implying age over 89", "ages", "int")

# phones: national formats, international forms, numbers stored as integers
PHONES = ["06 12 34 56 78", "01 23 45 67 89", "03-1234-5678", "07700900123", "07700 900123", "020 7946 0958",
          "030/1234567", "+44 20 7946 0958", "0044 20 7946 0958", "+44/20 7946 0958", "+33 6 12 34 56 78",
          "+49 30 1234567", "+81 3-1234-5678", "(555) 123-4567", "555.123.4567", "+1-555-123-4567",
          "0612345678", "089 / 123456", "call 06 12 34 56 78 after 5", "tel: +34 912 345 678"]
PHONE_HEADERS = ["contact", "emergency", "telefono", "telefon", "contacto", "reach", "col3", "notes", "kin_info"]
for i, p in enumerate(PHONES):
    add(PHONE_HEADERS[i % len(PHONE_HEADERS)], pick(["", "none", "ask at desk"], 3) + [p], "identifier",
        "phone number", "phones")
for h, vals in [("contact", [7700900123, 7700900456, 7700900789]), ("ref_number", [5551234567, 5559876543]),
                ("col9", [33612345678, 33698765432]), ("caller", [2079460958, 1614960752])]:
    add(h, vals, "identifier", "phone stored as integer", "phones", "int")

# social security numbers in every rendering
SSNS = ["123-45-6789", "123 45 6789", "***-**-6789", "XXX-XX-6789", "SSN: 123456789", "ssn 219 09 9999"]
for i, v in enumerate(SSNS):
    add(["id_number", "ident", "tax", "ss", "notes", "x1"][i], pick(["", "n/a"], 2) + [v], "identifier", "SSN",
        "SSNs")
add("ident_no", ["123456789", "987654321", "219099999"], "identifier", "SSN as 9 digits", "SSNs")
add("x2", [123456789, 987654321, 219099999], "identifier", "SSN as integer", "SSNs", "int")

# ZIP codes outside a zip column, postcodes, street addresses
add("residence", [90210, 2134, 10001, 60614], "identifier", "ZIP under a residence name", "postcodes", "int")
add("residence", ["90210", "02134", "10001"], "identifier", "ZIP under a residence name", "postcodes")
add("home", [90210, 30301, 98101], "identifier", "ZIP under a residence name", "postcodes", "int")
add("wohnort", ["10115", "80331", "20095"], "identifier", "German postcode under a residence name", "postcodes")
for i, v in enumerate(["Boston, MA 02134", "Springfield, IL 62704", "Austin TX 78701", "SW1A 1AA", "M1 1AE",
                       "EC1A 1BB", "B33 8TH", "K1A 0B1", "10115 Berlin", "75008 Paris", "lives near LS6 2AA"]):
    add(["location", "where", "area", "from", "notes", "lives"][i % 6], ["", "unknown", v], "identifier",
        "postcode in text", "postcodes")
for i, v in enumerate(["221B Baker Street", "12 rue de la Paix", "Hauptstraße 5", "123 Main St.", "Calle Mayor 10",
                       "Via Roma 5", "Keizersgracht 123", "45 Oak Avenue", "Flat 2, 10 Downing Street",
                       "Rua Augusta 24"]):
    add(["lives", "where", "domicile_text", "notes", "home_text"][i % 5], ["", v], "identifier",
        "street address", "addresses")

# e-mail, URL, IP in values
for h, v in [("contact", "jsmith@gmail.com"), ("info", "maria.garcia@correo.es"), ("notes", "mail j.doe@nhs.net"),
             ("link", "https://facebook.com/jsmith"), ("page", "www.example-family.org"),
             ("client", "192.168.1.20"), ("host", "10.0.0.17"), ("note", "logged in from 2001:db8::8a2e:370:7334")]:
    add(h, ["", v], "identifier", "e-mail, URL or IP address", "contact details")

# identifiers in the header itself
for h in ["jsmith@gmail.com", "555-123-4567", "John Smith", "MRN 00123456", "https://example.org/p/123",
          "maria.garcia@correo.es ", "+44 20 7946 0958", "Ana Silva", "Pierre Dubois", "SSN 123-45-6789"]:
    add(h, [3.0, 4.5, 6.0], "identifier", "identifier in the header", "headers", "float")

# identifiers by column name alone (values say nothing)
for h in ["first_name", "surname", "email", "phone", "fax", "ssn", "passport_no", "nhs_number", "ip_address",
          "device_id", "vin", "website", "home_address", "city", "county", "gps", "photo", "PatName", "RecNo",
          "telefono", "apellidos", "Vorname", "mobile", "tel", "e_mail"]:
    add(h, ["x", "y", "z"], "identifier", "identifier named by the header", "column names")

# --- legitimate look-alikes --------------------------------------------------------------------
LEGIT = "legitimate"
for h, vals, dt in [("ip_adherence", [0.8, 0.95, 1.0], "float"), ("ip_dose", [100, 200, 150], "int"),
                    ("mobile_app_use", [0, 3, 12], "int"), ("tel_consult", [0, 1, 2], "int"),
                    ("photo_therapy", ["yes", "no", "yes"], "str"), ("gps_seen", [0, 1, 1], "int"),
                    ("city_size", ["large", "small", "medium"], "str"), ("city_size", [8336817, 250000, 45000], "int"),
                    ("mobile_minutes", [12.5, 30.0, 0.0], "float"), ("photo_score", [3, 4, 5], "int"),
                    ("ip_batch_count", [2, 3, 1], "int"), ("gps_km_walked", [1.2, 3.4, 0.8], "float")]:
    add(h, vals, LEGIT, "measurement whose name shares a word with an identifier", "name look-alikes", dt)
ids = [f"{s}-{c:02d}-{n:04d}" for s in (101, 102, 103) for c in (1,) for n in range(1, 6)]
add("subject", ids, LEGIT, "structured study ids", "study ids", context={"subject": True})
add("SUBJID", ids, LEGIT, "structured study ids", "study ids")
add("USUBJID", [f"CT-{i}" for i in ids], LEGIT, "structured study ids", "study ids")
add("participant_id", [f"P{n:03d}" for n in range(1, 9)], LEGIT, "study ids", "study ids")
add("subject", [str(n) for n in range(1001, 1009)], LEGIT, "study ids", "study ids")
add("PATIENT", ["1503", "1507", "1509", "1511"], LEGIT, "study ids", "study ids")
add("patient_id", ["A-001", "A-002", "B-001"], LEGIT, "study ids", "study ids")
add("id", list(range(100, 110)), LEGIT, "study ids", "study ids", "int")
add("study_code", ["001-234-5678", "001-234-5679", "002-234-5678"], LEGIT, "study code shaped like a phone",
    "codes and versions")
add("kit_number", ["001-234-5678", "001-234-5690"], LEGIT, "kit code", "codes and versions")
add("lot_no", ["123-45-6789", "123-45-6790"], LEGIT, "lot code", "codes and versions")
add("protocol_no", ["2019-004321-12", "CT-2020-01"], LEGIT, "protocol code", "codes and versions")
add("software_version", ["1.10.2.3", "1.10.2.4", "2.0.0.1"], LEGIT, "version string", "codes and versions")
add("app_version", ["v2.3.1.0", "v2.3.2.0"], LEGIT, "version string", "codes and versions")
add("device_fw", ["1.2.3.4", "1.2.3.5"], LEGIT, "firmware version", "codes and versions")
add("notes", ["updated to version 1.10.2.3", "no change"], LEGIT, "version in text", "codes and versions")

# ordinary outcome and covariate columns
n = 8
OUTCOMES = [
    ("pain", [round(float(v), 1) for v in rng.uniform(0, 10, n)], "float"),
    ("odi", [int(v) for v in rng.integers(0, 100, n)], "int"),
    ("rmdq", [int(v) for v in rng.integers(0, 24, n)], "int"),
    ("rom", [round(float(v), 1) for v in rng.uniform(20, 90, n)], "float"),
    ("crp", [round(float(v), 2) for v in rng.uniform(0.1, 50, n)], "float"),
    ("phq9", [int(v) for v in rng.integers(0, 27, n)], "int"),
    ("eq5d", [round(float(v), 3) for v in rng.uniform(-0.5, 1, n)], "float"),
    ("visit", [0, 4, 8, 12, 26, 0, 4, 8], "int"), ("week", ["Week 0", "Week 4", "Week 12", "Week 26"], "str"),
    ("AVISIT", ["VIS1", "VIS2", "VIS3", "VIS4"], "str"), ("VISITN", [1, 2, 3, 4], "int"),
    ("sessions_attended", [int(v) for v in rng.integers(0, 13, n)], "int"), ("sessions_planned", [12] * n, "int"),
    ("recovery_time", [round(float(v), 1) for v in rng.uniform(1, 52, n)], "float"),
    ("recovered", [0, 1, 1, 0, 1, 0, 1, 1], "int"), ("adverse_events", [0, 0, 1, 2, 0, 0, 1, 0], "int"),
    ("ae_nausea", [0, 0, 1, 0, 0, 0, 1, 0], "int"),
    ("age", [int(v) for v in rng.integers(18, 90, n)], "int"), ("age", ["45", "67", "89", "23"], "str"),
    ("age_group", ["18-39", "40-64", "65-89", "90+"], "str"), ("sex", ["F", "M", "F", "M"], "str"),
    ("gender", ["female", "male", "female"], "str"), ("site", ["site1", "site2", "site3"], "str"),
    ("site", ["S01", "S02", "S03"], "str"), ("centre", ["001", "002", "003"], "str"),
    ("arm", ["physio", "acupuncture", "combined", "control"], "str"),
    ("RACE", ["White", "Black or African American", "Asian", "American Indian or Alaska Native"], "str"),
    ("ethnicity", ["Hispanic or Latino", "Not Hispanic or Latino"], "str"),
    ("pain_duration", [int(v) for v in rng.integers(3, 120, n)], "int"),
    ("employment", ["employed", "retired", "unemployed"], "str"), ("smoking", ["never", "former", "current"], "str"),
    ("bmi", [round(float(v), 1) for v in rng.uniform(18, 40, n)], "float"),
    ("height_cm", [int(v) for v in rng.integers(150, 200, n)], "int"),
    ("weight_kg", [round(float(v), 1) for v in rng.uniform(45, 120, n)], "float"),
    ("steps", [int(v) for v in rng.integers(2000, 25000, n)], "int"),
    ("cost_eur", [12500, 8300, 45210, 23000], "int"), ("income", [55000, 72000, 31000], "int"),
    ("hospital_days", [0, 2, 5, 1], "int"), ("therapist_id", ["T01", "T02", "T03"], "str"),
    ("acupuncturist", [12, 14, 3], "int"), ("practice_id", [35, 36, 40], "int"),
    ("year", [2019, 2020, 2021, 2024], "int"), ("diagnosis_year", [2015, 2018, 2022], "int"),
    ("yob", [1955, 1960, 1972, 1990], "int"), ("study_day", [0, 14, 28, 84], "int"),
    ("visit_day", [-3, 0, 28, 90], "int"), ("time_to_recovery_weeks", [4, 8, 12], "int"),
    ("platelets_per_l", [250000000000, 310000000000, 180000000000], "int"),
    ("cells_per_l", [1500000000, 2300000000, 900000000], "int"),
    ("pain_0_10", ["0-10", "4/10", "7/10"], "str"), ("session_time", ["12:30", "09:15", "16:45"], "str"),
    ("duration", ["00:45:00", "01:00:00"], "str"), ("dose", ["ibuprofen 400 mg", "paracetamol 1 g"], "str"),
    ("device", ["TENS unit 2", "heat pack"], "str"), ("needles", [8, 10, 12], "int"),
    ("region", ["north", "south", "east", "west"], "str"), ("country", ["UK", "Germany", "Spain"], "str"),
    ("state", ["CA", "NY", "TX"], "str"), ("insurance", ["public", "private"], "str"),
    ("residence_type", ["urban", "rural"], "str"), ("relationship", ["married", "single", "widowed"], "str"),
    ("education", ["secondary", "university"], "str"), ("migraine", [0, 1, 1], "int"),
    ("chronicity", [35, 8, 12], "int"), ("BCVA_BL", [103.3, 87.1, 95.0], "float"), ("FEV1", [39.9, 41.2], "float"),
    ("HAMATOTL", [21, 19, 17], "int"), ("POOLINV", ["006", "007", "008"], "str"),
    ("BASVAL", [32, 28, 30], "int"), ("CHANGE", [-11, -5, 2], "int"), ("weight_change", [-1.5, 0.3], "float"),
    ("satisfaction", ["very satisfied", "satisfied", "neutral"], "str"), ("completer", ["yes", "no"], "str"),
    ("dropout_reason", ["moved away", "lost to follow-up", "adverse event", "withdrew consent"], "str"),
    ("concomitant", ["physiotherapy at home", "none", "massage"], "str"),
    ("adherence_pct", [80.0, 95.5, 100.0], "float"), ("visit_label", ["Baseline", "Week 4", "Week 12"], "str"),
    ("score_band", ["10-12", "13-15", "16-18"], "str"), ("zip3", ["021", "556", "902"], "str"),
    ("randomisation_block", [4, 6, 4], "int"), ("stratum", ["site1:F", "site1:M"], "str"),
]
for h, vals, dt in OUTCOMES:
    add(h, vals, LEGIT, "outcome or covariate", "outcomes and covariates", dt)

# free text and categories without people in them
for i, v in enumerate(["mild headache after session", "bruising at needle site", "Bell's palsy flare noted",
                       "Baker's cyst on the left knee", "history of Parkinson disease", "Achilles tendon pain",
                       "Pain improved in the lower back", "Will call back next week", "May improve with exercise",
                       "Alexander technique lessons", "McKenzie method exercises", "Pilates class twice weekly",
                       "Thomas test positive on the right", "Patrick test negative", "Grace period for visit 3",
                       "Crohn disease in remission", "Down syndrome excluded", "Raynaud phenomenon",
                       "Hodgkin lymphoma in 2010", "Cushing syndrome ruled out", "Osgood-Schlatter as a child",
                       "Lachman test normal", "Oswestry questionnaire completed", "Berg Balance Scale 52",
                       "Timed Up and Go 9 s", "Visual Analogue Scale used", "St John's wort stopped",
                       "Saint Louis encephalitis vaccine", "Victoria Hospital referral", "Morning stiffness 30 min"]):
    add(["ae_text", "notes", "comment", "history", "therapy_text", "remarks"][i % 6], FILLER[:3] + [v], LEGIT,
        "clinical text without people", "clinical free text")

# study-level published data: authors and study labels are publication metadata
STUDY = {"kind": "study"}
add("author", ["Smith", "Garcia Lopez", "Vickers", "Linde"], LEGIT, "author surname", "study-level", context=STUDY)
add("author", ["John Smith", "Maria Garcia", "Andrew Vickers"], LEGIT, "author full name", "study-level",
    context=STUDY)
add("authors", ["Reid et al.", "Smith and Jones", "Ferguson & Simes"], LEGIT, "author list", "study-level",
    context=STUDY)
add("study", ["Smith 2004", "Linde 2016", "Vickers 2004"], LEGIT, "study label", "study-level", context=STUDY)
add("studlab", ["DeFronzo1995", "Lewin2007", "Willms1999"], LEGIT, "study label", "study-level", context=STUDY)
add("year", [1995, 2004, 2016], LEGIT, "publication year", "study-level", "int", context=STUDY)
add("published", ["March 2004", "12 June 2016"], LEGIT, "publication date", "study-level", context=STUDY)
add("treatment", ["Metformin", "Placebo", "Acupuncture"], LEGIT, "treatment", "study-level", context=STUDY)
add("first_author", ["Wei Zhang", "Hiroshi Sato"], LEGIT, "author full name", "study-level", context=STUDY)
add("investigator", ["Dr Patel", "Prof Schmidt"], LEGIT, "investigator", "study-level", context=STUDY)



def text() -> str:
    """The corpus as the JSON text written to corpus.json."""
    return json.dumps(entries, ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    OUT.write_text(text(), encoding="utf-8")
    counts = {lab: sum(e["label"] == lab for e in entries) for lab in ("identifier", "legitimate")}
    print(f"wrote {OUT.name}: {len(entries)} columns, {counts}")
