"""The identifier guard and deidentify(): what is caught, what is not, and that no value leaks."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import combotherapy as ct
from combotherapy.privacy import RESTRICTED_ZIP3

KEY = "a long secret kept apart from the data"
REPO = Path(__file__).resolve().parents[1]


def kinds_of(frame: pd.DataFrame) -> dict[str, set[str]]:
    found = ct.find_identifiers(frame)
    return {c: set(found.loc[found["column"] == c, "kind"]) for c in found["column"].unique()}


# --- by column name -------------------------------------------------------------------------
@pytest.mark.parametrize(("column", "kind"), [
    ("name", "name"), ("first_name", "name"), ("firstName", "name"), ("LastName", "name"), ("Surname", "name"),
    ("patient name", "name"), ("full.name", "name"), ("pt_initials", "name"), ("given_name", "name"),
    ("home_address", "address"), ("homeAddress", "address"), ("street", "address"), ("Address Line 1", "address"),
    ("city", "geographic subdivision smaller than a state"), ("County", "geographic subdivision smaller than a state"),
    ("email", "email address"), ("E-Mail", "email address"), ("e_mail", "email address"),
    ("patientEmail", "email address"), ("EMAIL_ADDRESS", "email address"),
    ("phone", "phone number"), ("PhoneNumber", "phone number"), ("tel", "phone number"), ("mobile", "phone number"),
    ("home_phone", "phone number"), ("cell_phone", "phone number"),
    ("fax", "fax"), ("fax_no", "fax"),
    ("ssn", "US social security number"), ("SSN", "US social security number"),
    ("social_security_number", "US social security number"),
    ("mrn", "medical record number"), ("MRN", "medical record number"),
    ("medical_record_number", "medical record number"), ("hospital_number", "medical record number"),
    ("nhs_number", "health-plan number"), ("insurance_id", "health-plan number"), ("member_id", "health-plan number"),
    ("health_plan_id", "health-plan number"), ("policy_number", "health-plan number"),
    ("account", "account number"), ("account_no", "account number"), ("bank_account", "account number"),
    ("licence", "licence number"), ("driver_license", "licence number"), ("licence_number", "licence number"),
    ("passport_no", "licence number"),
    ("serial", "device serial"), ("serial_number", "device serial"), ("device_id", "device serial"),
    ("DeviceID", "device serial"), ("imei", "device serial"),
    ("url", "URL"), ("website", "URL"), ("homepage", "URL"),
    ("ip", "IP address"), ("ip_address", "IP address"), ("IPAddress", "IP address"), ("ipv6", "IP address"),
    ("photo", "biometric identifier or photograph"), ("vin", "vehicle identifier"), ("next_of_kin", "name"),
    ("contact_name", "name"), ("employer", "name"),
])
def test_flagged_by_column_name(column, kind):
    frame = pd.DataFrame({"subject": ["a", "b"], column: ["x", "y"]})
    found = ct.find_identifiers(frame)
    row = found.loc[found["column"] == column]
    assert kind in set(row["kind"]), (column, found)
    assert set(row.loc[row["kind"] == kind, "found_by"]) == {"column name"}


@pytest.mark.parametrize("column", [
    "subject", "id", "arm", "visit", "pain", "odi", "age", "sex", "site", "pain_duration", "crp", "relationship",
    "diagnosis", "site_name", "drug_name", "instrument_name", "USUBJID", "practice_id", "acupuncturist",
    "serial_crp", "mobility", "ethnicity", "hip_flexion", "ipsilateral", "tipping", "update_flag", "candidate",
    "stage", "dosage", "average", "visit_day", "study_day", "AVISIT", "VISITN", "ARMCD", "RACE", "FEV1_BL",
    "year", "time", "recovery_time", "insurance", "medicaid", "residence_type", "region", "state", "country",
])
def test_not_flagged_by_column_name(column):
    # harmless values: the name alone must not trip the guard
    frame = pd.DataFrame({column: ["a", "b", "c"]})
    assert ct.find_identifiers(frame).empty, column


def test_date_named_columns_need_dates_more_precise_than_the_year():
    frame = pd.DataFrame({
        "visit_date": ["2024-03-12", "2024-04-09"],   # full dates
        "randomisationDate": ["12/03/2024", None],    # full dates, other order
        "ship_date": ["2024-03", "2024-04"],         # month and year: a date element too
        "consent_year_date": [2019, 2020],            # years only: allowed
        "RFSTDTC": ["2024-03-12T10:00", "2024-03-13T09:30"],  # CDISC date-time
        "visit_dt": [20240312, 20240409],             # YYYYMMDD numbers
        "excel_date": [45363.0, 45391.5],              # spreadsheet serial dates
        "study_day_date": [0, 84],                     # small numbers say nothing beyond the year
        "relationship": ["spouse", "none"],
        "candidate": ["2024-03", "x"],                # not a date name; a month-year value alone is not flagged
    })
    k = kinds_of(frame)
    assert k["visit_date"] == {"full date"}
    assert k["randomisationDate"] == {"full date"}
    assert k["ship_date"] == {"date more precise than the year"}
    assert k["RFSTDTC"] == {"full date"}
    assert k["visit_dt"] == {"full date"} and k["excel_date"] == {"full date"}
    assert "consent_year_date" not in k and "study_day_date" not in k and "relationship" not in k and "candidate" not in k


def test_datetime_columns_are_dates_whatever_their_name():
    frame = pd.DataFrame({
        "when": pd.to_datetime(["2024-03-12", "2024-04-09"]),
        "tz": pd.to_datetime(["2024-03-12", "2024-04-09"]).tz_localize("Europe/London"),
        "month": pd.period_range("2024-03", periods=2, freq="M"),
        "year": pd.period_range("2024", periods=2, freq="Y"),
        "gap": pd.to_timedelta([3, 4], unit="D"),      # a duration identifies nobody
        "empty": pd.Series([pd.NaT, pd.NaT]),
    })
    k = kinds_of(frame)
    assert k == {"when": {"full date"}, "tz": {"full date"}, "month": {"full date"}}
    found = ct.find_identifiers(frame)
    assert set(found.loc[found["column"] == "when", "found_by"]) == {"values"}


def test_dob_flagged_by_name():
    k = kinds_of(pd.DataFrame({"dob": ["1950-06-20"], "DateOfBirth": ["1950-06-20"], "birth_date": ["x"]}))
    assert k == {"dob": {"full date"}, "DateOfBirth": {"full date"}, "birth_date": {"full date"}}


def test_zip_codes_flagged_beyond_three_digits():
    frame = pd.DataFrame({"zip": ["02134", "55601"], "zip3": ["021", "556"], "ZipCode": [2134, 55601],
                          "zip_3": [21, 556], "postcode": ["SW1A 1AA", None]})
    k = kinds_of(frame)
    zip_kind = "ZIP code (more than 3 digits)"
    assert k == {"zip": {zip_kind}, "ZipCode": {zip_kind}, "postcode": {zip_kind}}


def test_ages_over_89():
    frame = pd.DataFrame({"age": [45, 89, 90, 91, 104], "age_text": ["45", "92", "NA", "x", None],
                          "age_months": [600, 1070, 1080, 700, 20], "age_group": ["80-89", "90+", "70-79", None, None],
                          "stage": [95, 96, 97, 98, 99], "pain_age": [1, 2, 3, 4, 5]})
    found = ct.find_identifiers(frame)
    assert set(found["column"]) == {"age", "age_text"}
    assert found.set_index("column").loc["age", "n_cells"] == 2      # 91 and 104; 90 is "90 or older"
    assert found.set_index("column").loc["age_text", "n_cells"] == 1
    assert ct.find_identifiers(pd.DataFrame({"age_months": [1100.0]}))["kind"].tolist() == ["age over 89"]


# --- by values ------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "kind"), [
    ("contact: jane.doe@example.org please", "email address"),
    ("J.Smith+trial@nhs.net", "email address"),
    ("call +44 20 7946 0958 after 5", "phone number"),
    ("+1 (555) 123-4567", "phone number"),
    ("+33 6 12 34 56 78", "phone number"),
    ("+4915112345678", "phone number"),
    ("(555) 123-4567", "phone number"),
    ("555-123-4567", "phone number"),
    ("tel 555.123.4567", "phone number"),
    ("020 7946 0958", "phone number"),
    ("mobile 07700 900123", "phone number"),
    ("SSN 123-45-6789.", "US social security number"),
    ("logged in from 192.168.1.20", "IP address"),
    ("ip 10.0.0.1.", "IP address"),
    ("2001:db8:85a3::8a2e:370:7334", "IP address"),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "IP address"),
    ("see https://example.org/patient?id=3", "URL"),
    ("www.example.com", "URL"),
    ("seen on 2024-03-12", "full date"),
    ("2024-03-12T10:15:00", "full date"),
    ("12/03/2024", "full date"),
    ("3/12/24", "full date"),
    ("12.03.2024", "full date"),
    ("12 March 2024", "full date"),
    ("12th of March 2024", "full date"),
    ("12MAR2024", "full date"),
    ("12-Mar-2024", "full date"),
    ("March 12, 2024", "full date"),
])
def test_flagged_by_values_whatever_the_column_is_called(value, kind):
    frame = pd.DataFrame({"notes": ["no problems", value, None, "pain 4/10"]})
    found = ct.find_identifiers(frame)
    row = found.loc[found["kind"] == kind]
    assert len(row) == 1, (value, found)
    assert row.iloc[0]["column"] == "notes" and row.iloc[0]["found_by"] == "values" and row.iloc[0]["n_cells"] == 1


@pytest.mark.parametrize("value", [
    "12.5", "3.14159265358979", "12345", "-0.62645381074233242", "1e-05", "1000000", "0-10", "4/10", "pain 7 8 9",
    "Week 12", "VIS1", "12:30", "12:30:45", "+10 20 30", "+1.5", "1,234,567", "dose 100 mg", "2024", "v1.2.3",
    "site3", "S001", "PT12", "female", "Mar", "may improve", "score 10-12", "Version 3.11",
    "00:1a:2b:3c:4d:5e", "ratio 1:2", "Note:: see",
])
def test_harmless_values_not_flagged(value):
    assert ct.find_identifiers(pd.DataFrame({"notes": [value, "ok"]})).empty, value


def test_free_text_with_emails_and_phones_is_caught():
    notes = ["improving", "patient asked to be called on 555-201-3344", "email her: ann.lee@mail.com",
             "no change", "ann.lee@mail.com or +44 7700 900123", None]
    frame = pd.DataFrame({"subject": list("abcdef"), "comment_text": notes, "pain": [3, 4, 5, 6, 7, 8]})
    found = ct.find_identifiers(frame).set_index("kind")
    assert set(found["column"]) == {"comment_text"}
    assert found.loc["email address", "n_cells"] == 2
    assert found.loc["phone number", "n_cells"] == 2
    with pytest.raises(ct.IdentifierError, match="comment_text"):
        ct.check_identifiers(frame)


def test_object_and_categorical_columns_are_searched():
    frame = pd.DataFrame({"o": pd.Series([1, "a@b.org", 2.5], dtype=object),
                          "c": pd.Categorical(["x", "555-123-4567", "x"]),
                          "b": pd.Series([b"raw", None, None], dtype=object)})
    assert kinds_of(frame) == {"o": {"email address"}, "c": {"phone number"}}
    assert ct.find_identifiers(frame).set_index("column").loc["c", "n_cells"] == 1


def test_index_is_searched():
    frame = pd.DataFrame({"pain": [3, 4]}, index=pd.Index(["a@b.org", "c@d.org"], name="who"))
    found = ct.find_identifiers(frame)
    assert found["column"].tolist() == ["index level 'who'"] and found["kind"].tolist() == ["email address"]
    with pytest.raises(ct.DataError, match="reset_index"):
        ct.deidentify(frame, key=KEY, subject=None)


# --- no false positives on real and canonical data ------------------------------------------
def test_no_false_positives_on_a_canonical_trial():
    data = ct.simulate_trial(seed=7).data
    assert ct.find_identifiers(data).empty
    ct.check_identifiers(data)
    # and the same frame as an all-text export, as the loader reads CSV files
    ct.check_identifiers(data.astype(str))


def test_no_false_positives_on_the_bundled_sample_data():
    files = sorted((REPO / "data" / "sample").glob("*.csv"))
    if not files:
        pytest.skip("no sample data written yet")
    for path in files:
        for frame in (pd.read_csv(path), pd.read_csv(path, dtype=str, keep_default_na=False)):
            assert ct.find_identifiers(frame).empty, path.name


def test_load_runs_the_guard():
    raw = ct.simulate_trial(seed=3, n_per_arm=5).data.assign(contact="a")
    raw.loc[3, "contact"] = "reach me at someone@example.org"
    with pytest.raises(ct.IdentifierError, match="'contact'") as info:
        ct.load(raw)
    assert "someone@example.org" not in str(info.value)
    assert ct.load(raw, allow_identifiers=["contact"]).n_subjects == 15


def test_no_false_positives_on_the_public_datasets():
    files = sorted((REPO / "src/combotherapy/datasets").glob("*/*.csv"))
    assert files, "no public dataset found"
    for path in files:
        # meta-analysis inputs are study-level published data: authors and study labels are publication metadata
        kind = "study" if path.parent.name.startswith(("metafor_", "netmeta_")) else "trial"
        for frame in (pd.read_csv(path, encoding="utf-8-sig"),
                      pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)):
            found = ct.find_identifiers(frame, kind=kind)
            assert found.empty, (path.name, found.to_dict("records"))


def test_study_level_files_carry_authors_as_publication_metadata():
    studies = pd.DataFrame({"author": ["John Smith", "Maria Garcia Lopez"], "study": ["Smith 2004", "Garcia 2010"],
                            "year": [2004, 2010], "published": ["12 March 2004", "Mar 2010"],
                            "contact": ["j.smith@uni.edu", None], "events": [3, 5], "n": [40, 41]})
    trial = ct.find_identifiers(studies)
    assert {"author", "published", "contact"} <= set(trial["column"])
    study = ct.find_identifiers(studies, kind="study")
    # author, study and year are metadata; a publication date is not a patient's date; an e-mail is still caught
    assert set(study["column"]) == {"contact"}
    with pytest.raises(ct.DataError, match="kind must be"):
        ct.find_identifiers(studies, kind="meta")


# --- the error message ----------------------------------------------------------------------
def semi_identified() -> pd.DataFrame:
    """A small export with most kinds of direct identifier, two visits per subject."""
    return pd.DataFrame({
        "subject": ["MRN-88213", "MRN-88213", "MRN-90417", "MRN-90417", "MRN-77120", "MRN-77120"],
        "patient_name": ["Ada Lovelace", "Ada Lovelace", "Alan Turing", "Alan Turing", "Grace Hopper",
                         "Grace Hopper"],
        "email": ["ada@analytical.org", "ada@analytical.org", "alan@bletchley.uk", "alan@bletchley.uk",
                  "grace@cobol.mil", "grace@cobol.mil"],
        "arm": ["physio", "physio", "combined", "combined", "acupuncture", "acupuncture"],
        "visit": [0, 12, 0, 12, 0, 12],
        "pain": [7.0, 4.0, 8.0, 2.0, 6.0, 5.0],
        "notes": ["call 0161 496 0752", None, "prefers alan.t@mail.com", "fine", "SSN 219-09-9999", None],
        "visit_date": ["2024-01-15", "2024-04-08", "2024-02-01", "2024-04-25", "2024-02-20", "2024-05-14"],
        "rand_date": ["2024-01-15", None, "2024-02-01", "2024-02-01", "2024-02-20", "2024-02-20"],
        "dob": ["1950-06-20", "1950-06-20", "1930-01-16", "1930-01-16", "1934-02-20", "1934-02-20"],
        "zip": ["02134", "02134", "55601", "55601", "90210-1234", "90210-1234"],
        "age": [73, 73, 94, 94, 90, 90],
        "ip_address": ["192.168.0.17", None, "10.1.2.3", None, "172.16.5.4", None],
        "site": ["site1", "site1", "site2", "site2", "site1", "site1"],
    })


IDENTIFYING = ["MRN-88213", "MRN-90417", "MRN-77120", "Ada Lovelace", "Alan Turing", "Grace Hopper",
               "ada@analytical.org", "alan@bletchley.uk", "grace@cobol.mil", "0161 496 0752", "alan.t@mail.com",
               "219-09-9999", "2024-01-15", "2024-04-08", "2024-02-01", "2024-04-25", "2024-02-20", "2024-05-14",
               "1950-06-20", "1930-01-16", "1934-02-20", "02134", "55601", "90210", "1234", "192.168.0.17",
               "10.1.2.3", "172.16.5.4", "94"]


def test_error_names_columns_and_kinds_never_values():
    frame = semi_identified()
    with pytest.raises(ct.IdentifierError) as info:
        ct.check_identifiers(frame)
    err = info.value
    assert isinstance(err, ct.DataError) and isinstance(err, ValueError)
    text = str(err)
    for col in ["patient_name", "email", "notes", "visit_date", "rand_date", "dob", "zip", "age", "ip_address"]:
        assert f"'{col}'" in text
    for kind in ["name", "email address", "phone number", "US social security number", "full date",
                 "ZIP code (more than 3 digits)", "age over 89", "IP address"]:
        assert kind in text
    for value in IDENTIFYING:
        if value not in ("1234", "94"):  # short numbers may occur as counts; the values proper are checked
            assert value not in text, value
    for value in [str(v) for v in frame.to_numpy().ravel()]:
        if len(value) > 4 and value not in ("physio", "combined", "acupuncture", "site1", "site2"):
            assert value not in text, value
    assert "ct.deidentify" in text and "allow=" in text
    assert {p.column for p in err.problems} >= {"email", "notes", "zip"}
    assert "site" not in {p.column for p in err.problems} and "subject" not in {p.column for p in err.problems}


def test_allow_keeps_checked_columns():
    frame = pd.DataFrame({"subject": ["a", "b"], "zip3": ["0213", "556"], "pain": [1, 2]})
    with pytest.raises(ct.IdentifierError, match="zip3"):
        ct.check_identifiers(frame)
    ct.check_identifiers(frame, allow=["zip3"])
    ct.check_identifiers(frame, allow="zip3")
    with pytest.raises(ct.IdentifierError):
        ct.check_identifiers(frame, allow=["pain"])


# --- deidentify -----------------------------------------------------------------------------
def test_deidentify_leaves_no_identifying_value():
    frame = semi_identified()
    before = frame.copy(deep=True)
    out = ct.deidentify(frame, key=KEY, randomisation_date="rand_date")
    pd.testing.assert_frame_equal(frame, before)  # input untouched
    assert frame.attrs == {}
    ct.check_identifiers(out)
    text = out.to_string() + out.to_csv() + repr(out.attrs)
    for value in IDENTIFYING[:-2]:
        assert value not in text, value
    assert set(out.columns) == {"subject", "arm", "visit", "pain", "visit_day", "age_at_randomisation", "zip",
                                "age", "site"}
    assert 94 not in out["age"].tolist()


def test_deidentify_log_names_columns_without_values():
    out = ct.deidentify(semi_identified(), key=KEY, randomisation_date="rand_date")
    log = pd.DataFrame(out.attrs["deidentify_log"])
    assert set(log["column"]) == {"subject", "patient_name", "email", "notes", "visit_date", "rand_date", "dob",
                                  "zip", "age", "ip_address"}
    actions = dict(zip(log["column"], log["action"]))
    assert actions["email"].startswith("dropped")
    assert "2 in areas" in actions["zip"] and "top-coded" in actions["age"]
    for value in IDENTIFYING[:-2]:
        assert value not in repr(out.attrs)


def test_keyed_hashes_stable_and_key_dependent():
    frame = semi_identified()
    a = ct.deidentify(frame, key=KEY, randomisation_date="rand_date")["subject"]
    b = ct.deidentify(frame, key=KEY.encode(), randomisation_date="rand_date")["subject"]
    c = ct.deidentify(frame, key=KEY + "!", randomisation_date="rand_date")["subject"]
    pd.testing.assert_series_equal(a, b)
    assert set(a).isdisjoint(set(c))
    assert a.nunique() == 3 and (a.str.len() == 13).all() and a.str.fullmatch("S[0-9a-f]{12}").all()
    # rows of one subject keep one code, and the code is HMAC-SHA256 of the id under the key
    expected = "S" + hmac.new(KEY.encode(), b"MRN-88213", hashlib.sha256).hexdigest()[:12]
    assert a.iloc[0] == a.iloc[1] == expected
    # numeric ids: 101 and 101.0 are one subject
    num = ct.deidentify(pd.DataFrame({"subject": [101.0, 101.0, 102.0]}), key=KEY)["subject"]
    ints = ct.deidentify(pd.DataFrame({"subject": [101, 101, 102]}), key=KEY)["subject"]
    pd.testing.assert_series_equal(num, ints)


@pytest.mark.parametrize("key", ["", "short", b"0123456789abcde"])
def test_short_keys_refused(key):
    with pytest.raises(ct.DataError, match="at least 16 bytes"):
        ct.deidentify(pd.DataFrame({"subject": ["a"]}), key=key)


def test_missing_subject_ids_refused():
    with pytest.raises(ct.DataError, match="subject id missing"):
        ct.deidentify(pd.DataFrame({"subject": ["a", None]}), key=KEY)


def test_zip_truncation_and_small_areas():
    frame = pd.DataFrame({"subject": list("abcdef"),
                          "zip": ["02134", "55601", "90210-1234", "036", None, "2134"],
                          "zipcode": [2134, 55601, 90210, 3601, 89301, 10001]})
    out = ct.deidentify(frame, key=KEY)
    assert out["zip"].tolist()[:4] == ["021", "000", "902", "000"] and pd.isna(out["zip"].iloc[4])
    assert out["zip"].iloc[5] == "021"  # a 4-digit code lost its leading zero in a spreadsheet
    assert out["zipcode"].tolist() == ["021", "000", "902", "000", "000", "100"]
    assert len(RESTRICTED_ZIP3) == 17 and {"036", "059", "063", "102", "203", "556", "692", "790", "821", "823",
                                           "830", "831", "878", "879", "884", "890", "893"} == RESTRICTED_ZIP3
    with pytest.raises(ct.DataError, match="not a US ZIP code"):
        ct.deidentify(pd.DataFrame({"subject": ["a"], "postcode": ["SW1A 1AA"]}), key=KEY)


def test_age_top_coding():
    frame = pd.DataFrame({"subject": list("abcdef"), "age": [45, 89, 90, 91, 104, 120],
                          "age_months": [600.0, 1079.0, 1081.0, np.nan, 20.0, 1500.0]})
    out = ct.deidentify(frame, key=KEY, age_columns=["age_months"])
    assert out["age"].tolist() == [45, 89, 90, 90, 90, 90] and out["age"].dtype == frame["age"].dtype
    assert out["age_months"].tolist()[:3] == [600.0, 1079.0, 1080.0] and out["age_months"].iloc[5] == 1080.0
    with pytest.raises(ct.DataError, match="not numbers"):
        ct.deidentify(pd.DataFrame({"subject": ["a", "b"], "age": ["93", "old"]}), key=KEY)


def test_dates_become_days_since_randomisation():
    out = ct.deidentify(semi_identified(), key=KEY, randomisation_date="rand_date")
    # subject 1: randomised 2024-01-15; 2024-04-08 is 16 (rest of Jan) + 29 (Feb 2024) + 31 + 8 = 84 days later
    assert out["visit_day"].tolist() == [0, 84, 0, 84, 0, 84]
    # completed years at randomisation: 73; 93 -> 90; exactly 90 on the day
    assert out["age_at_randomisation"].tolist() == [73, 73, 90, 90, 90, 90]
    assert "rand_date" not in out.columns and "dob" not in out.columns


def test_datetime_and_text_date_columns():
    frame = pd.DataFrame({"subject": ["a", "a", "b"],
                          "randomised_on": pd.to_datetime(["2024-02-27", "2024-02-27", "2023-12-31"]),
                          "seen": pd.to_datetime(["2024-03-01 14:30", "2024-02-27 08:00", "2024-01-01 00:01"]),
                          "when": ["2024-03-12", "2024-02-28", None]})
    out = ct.deidentify(frame, key=KEY, randomisation_date="randomised_on")
    assert out["seen_day"].tolist() == [3, 0, 1]      # 2024 is a leap year: Feb 27 -> Mar 1 is 3 days
    assert out["when_day"].tolist()[:2] == [14, 1] and pd.isna(out["when_day"].iloc[2])
    ct.check_identifiers(out)


def test_month_year_dates_are_converted_and_said_so():
    frame = pd.DataFrame({"subject": ["a", "b"], "onset_date": ["2023-11", "2024-01"],
                          "rand_date": ["2024-01-15", "2024-01-20"]})
    out = ct.deidentify(frame, key=KEY, randomisation_date="rand_date")
    assert out["onset_day"].tolist() == [-75, -19]  # from the 1st: Nov 1 -> Jan 15 is 30 + 31 + 14 days
    assert "month precision" in dict((d["column"], d["action"]) for d in out.attrs["deidentify_log"])["onset_date"]


def test_date_problems_are_data_errors():
    base = pd.DataFrame({"subject": ["a", "b"], "visit_date": ["2024-03-12", "2024-03-13"],
                         "rand_date": ["2024-03-01", "2024-03-02"]})
    with pytest.raises(ct.DataError, match="randomisation_date="):
        ct.deidentify(base.drop(columns="rand_date"), key=KEY)
    with pytest.raises(ct.DataError, match="ISO 8601") as info:
        ct.deidentify(base.assign(visit_date=["12/03/2024", "13/03/2024"]), key=KEY, randomisation_date="rand_date")
    assert "12/03/2024" not in str(info.value)
    with pytest.raises(ct.DataError, match="more than one randomisation date"):
        ct.deidentify(base.assign(subject=["a", "a"]), key=KEY, randomisation_date="rand_date")
    with pytest.raises(ct.DataError, match="no column"):
        ct.deidentify(base, key=KEY, randomisation_date="randomisation")
    # a date-named column the user wants gone can simply be dropped
    out = ct.deidentify(base.drop(columns="rand_date"), key=KEY, drop=["visit_date"])
    assert list(out.columns) == ["subject"]


def test_index_preserved_and_rows_reported_by_position():
    frame = pd.DataFrame({"subject": ["a", "b", "c"], "age": ["93", "old", "40"]}, index=[7, 7, 3])
    with pytest.raises(ct.DataError, match=r"rows 2;"):  # rows are 1-based positions, whatever the index
        ct.deidentify(frame, key=KEY)
    out = ct.deidentify(frame.assign(age=[93, 50, 40]), key=KEY)
    assert out.index.tolist() == [7, 7, 3] and out["age"].tolist() == [90, 50, 40]


def test_keep_and_drop():
    frame = pd.DataFrame({"subject": ["a", "b"], "clinic_city": ["Leeds", "York"], "x": [1, 2], "pain": [3, 4]})
    out = ct.deidentify(frame, key=KEY, keep=["clinic_city"], drop=["x"])
    assert list(out.columns) == ["subject", "clinic_city", "pain"]
    assert out["clinic_city"].tolist() == ["Leeds", "York"]


# --- scale and robustness -------------------------------------------------------------------
def test_fast_on_a_million_rows():
    n = 1_000_000
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "subject": pd.Series(np.char.add("S", np.arange(n).astype(str)), dtype="str"),
        "arm": pd.Series(rng.choice(["physio", "acupuncture", "combined"], n), dtype="str"),
        "visit": rng.choice([0.0, 4.0, 8.0, 12.0, 26.0], n), "pain": rng.normal(5, 2, n),
        "age": rng.integers(18, 90, n), "site": pd.Series(rng.choice(["site1", "site2"], n), dtype="str"),
        "notes": pd.Series(np.char.add("pain improving, week ", np.arange(n).astype(str)), dtype="str"),
    })
    frame.loc[n - 1, "notes"] = "call 555-123-4567"
    start = time.perf_counter()
    found = ct.find_identifiers(frame)
    elapsed = time.perf_counter() - start
    assert found[["column", "kind", "n_cells"]].values.tolist() == [["notes", "phone number", 1]]
    assert elapsed < 30, f"{elapsed:.1f} s"  # about 2 s on a 2-core machine


names = st.one_of(st.integers(-3, 3), st.sampled_from(["subject", "email", "notes", "zip", "age", "visit_date", "dob", "ip", "name",
                                   "x", "age_months", "postcode", "rand_date"]), st.text(max_size=12))
LEAKY = ["a@b.org", "555-123-4567", "2024-03-12", "02134", "10.0.0.1", "12MAR2024", "+44 20 7946 0958"]
cells = st.one_of(st.none(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                  st.text(max_size=30), st.sampled_from([*LEAKY, "93", "::1"]))
column = st.one_of(
    st.lists(cells, min_size=3, max_size=3).map(lambda v: pd.Series(v, dtype=object)),
    st.lists(st.text(max_size=20), min_size=3, max_size=3).map(lambda v: pd.Series(v, dtype="str")),
    st.lists(st.floats(allow_nan=True), min_size=3, max_size=3).map(lambda v: pd.Series(v, dtype=float)),
    st.lists(st.integers(0, 10**9), min_size=3, max_size=3).map(lambda v: pd.Series(v, dtype="int64")),
    st.lists(st.datetimes(), min_size=3, max_size=3).map(lambda v: pd.Series(pd.to_datetime(v))),
    st.lists(st.sampled_from(["x", "y", "a@b.org"]), min_size=3, max_size=3).map(
        lambda v: pd.Series(pd.Categorical(v))),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(names, column), max_size=5))
def test_guard_never_fails_otherwise(cols):
    frame = pd.DataFrame({i: s for i, (_, s) in enumerate(cols)})
    frame.columns = [n for n, _ in cols] if cols else frame.columns
    found = ct.find_identifiers(frame)
    assert list(found.columns) == ["column", "kind", "found_by", "n_cells", "reason"]
    try:
        ct.check_identifiers(frame)
    except ct.IdentifierError as err:
        assert not found.empty
        for value in LEAKY:
            if not any(value in str(c) for c in frame.columns):
                assert value not in str(err), value
    else:
        assert found.empty
    # deidentify either refuses with a DataError or returns a frame that passes the guard
    try:
        out = ct.deidentify(frame, key=KEY, subject=None)
    except ct.DataError:
        return
    ct.check_identifiers(out)


def test_deidentify_without_a_key_is_a_data_error():
    # key=None raised TypeError
    with pytest.raises(ct.DataError, match="key must be a secret text"):
        ct.deidentify(pd.DataFrame({"subject": ["a"], "age": [40]}), key=None)


def test_mapping_an_identifier_to_a_canonical_name_does_not_hide_it():
    # columns={"subject": "mrn"} renamed the record number to 'subject' before the guard looked at names
    raw = pd.DataFrame({"mrn": ["10023", "10023", "20931", "20931"], "arm": ["physio"] * 2 + ["combined"] * 2,
                        "visit": [0, 12, 0, 12], "pain": [5, 3, 4, 2]})
    with pytest.raises(ct.IdentifierError, match="'mrn'") as err:
        ct.load(raw, columns={"subject": "mrn"})
    assert "10023" not in str(err.value)
    named = raw.rename(columns={"mrn": "patient_name"}).assign(patient_name=["Ann Lee"] * 2 + ["Bo Chan"] * 2)
    with pytest.raises(ct.IdentifierError, match="'patient_name'"):
        ct.load(named, columns={"subject": "patient_name"})
    # a user who has checked the column may keep it, under either name
    assert ct.load(raw, columns={"subject": "mrn"}, allow_identifiers=["mrn"]).n_subjects == 2
    assert ct.load(raw, columns={"subject": "mrn"}, allow_identifiers=["subject"]).n_subjects == 2


# --- issue 10: identifiers that got through ------------------------------------------------------
@pytest.mark.parametrize(("column", "values", "kind"), [
    ("patient", ["John Smith 0", "Mary Jones 1", "Ahmed Khan 2"], "name"),
    ("PATNAME", ["x", "y"], "name"),
    ("notes", ["no change", "Mary's husband Bob called"], "name"),
    ("patient_number", [1001, 1002], "medical record number"),
    ("record_no", [1001, 1002], "medical record number"),
    ("RecNo", [1001, 1002], "medical record number"),
    ("notes", ["fine", "MRN: 00123456"], "medical record number"),
    ("RANDDT", [23436, 23467], "full date"),
    ("RFSTDT", [23436.0, 23467.0], "full date"),
    ("visit_date", [45352.0, 45383.0], "full date"),
    ("consent", [20240301, 20240315], "full date"),
    ("timestamp", [1709251200, 1709856000], "full date"),
    ("seen", ["01.03.24", "n/a"], "full date"),
    ("seen", ["1er mars 2024", "n/a"], "full date"),
    ("seen", ["3. März 2024", "n/a"], "full date"),
    ("seen", ["Mar 2024", "n/a"], "date more precise than the year"),
    ("years_old", [45, 95], "age over 89"),
    ("ageyears", [45, 95], "age over 89"),
    ("edad", [45, 95], "age over 89"),
    ("details", ["45 years", "95 years"], "age over 89"),
    ("yob", [1930, 1960], "age over 89"),
    ("contact", ["06 12 34 56 78", "-"], "phone number"),
    ("contact", ["03-1234-5678", "-"], "phone number"),
    ("contact", ["07700900123", "-"], "phone number"),
    ("contact", ["030/1234567", "-"], "phone number"),
    ("contact", ["+44/20 7946 0958", "-"], "phone number"),
    ("contact", ["0044 20 7946 0958", "-"], "phone number"),
    ("contact", [7700900123, 7700900456], "phone number"),
    ("ident", ["123 45 6789", "-"], "US social security number"),
    ("ident", ["123456789", "987654321"], "US social security number"),
    ("ident", ["***-**-6789", "-"], "US social security number"),
    ("ident", [123456789, 987654321], "US social security number"),
    ("residence", [90210, 10001], "ZIP code (more than 3 digits)"),
    ("where", ["Boston, MA 02134", "-"], "ZIP code (more than 3 digits)"),
    ("where", ["SW1A 1AA", "-"], "ZIP code (more than 3 digits)"),
    ("where", ["221B Baker Street", "-"], "address"),
])
def test_identifiers_that_got_through_are_caught(column, values, kind):
    found = ct.find_identifiers(pd.DataFrame({column: values}))
    assert kind in set(found["kind"]), found.to_dict("records")


def test_identifier_in_a_header_is_caught_and_withheld():
    frame = pd.DataFrame({"subject": ["a", "b"], "jsmith@gmail.com": [3, 4]})
    with pytest.raises(ct.IdentifierError) as info:
        ct.check_identifiers(frame)
    assert "jsmith" not in str(info.value) and "column 2 (header withheld)" in str(info.value)
    assert [(f.column, f.position, f.kind, f.found_by) for f in info.value.findings] == [
        ("column 2 (header withheld)", 1, "email address", "column header")]
    assert "jsmith" not in ct.find_identifiers(frame).to_string()
    out = ct.deidentify(frame, key=KEY)
    assert list(out.columns) == ["subject"] and "jsmith" not in repr(out.attrs)


def test_control_characters_in_headers_are_never_printed():
    frame = pd.DataFrame({"email\x1b[31m\x07": ["a@b.org"], "pain": [3]})
    with pytest.raises(ct.IdentifierError) as info:
        ct.check_identifiers(frame)
    text = str(info.value)
    assert "\x1b" not in text and "\x07" not in text and "'email'" in text
    assert info.value.columns == ("email",) and set(info.value.kinds) == {"email address"}


@pytest.mark.parametrize(("column", "values"), [
    ("ip_adherence", [0.8, 1.0]), ("ip_dose", [100, 200]), ("mobile_app_use", [0, 3]), ("tel_consult", [1, 2]),
    ("photo_therapy", ["yes", "no"]), ("gps_seen", [0, 1]), ("city_size", ["large", "small"]),
    ("study_code", ["001-234-5678", "001-234-5679"]), ("software_version", ["1.10.2.3", "1.10.2.4"]),
    ("SUBJID", ["101-01-0001", "101-01-0002", "102-01-0001"]),
])
def test_false_positives_of_the_first_guard_are_gone(column, values):
    assert ct.find_identifiers(pd.DataFrame({column: values})).empty


def test_study_ids_in_the_mapped_subject_column_are_legitimate():
    ids = ["101-01-0001", "101-01-0002", "102-01-0001", "102-01-0002"]
    frame = pd.DataFrame({"ref_x": ids})
    assert not ct.find_identifiers(frame).empty                 # looks like SSNs anywhere else
    assert ct.find_identifiers(frame, subject="ref_x").empty     # the mapped subject column
    ssns = pd.DataFrame({"subject": ["123-45-6789", "987-65-4321", "219-09-9999"]})
    assert not ct.find_identifiers(ssns, subject="subject").empty    # no shared site prefix: real SSNs


def test_deidentify_drops_names_and_free_text_by_default():
    frame = pd.DataFrame({"subject": ["a", "b", "c"], "patient": ["John Smith 0", "Ann Lee 1", "Bo Chan 2"],
                          "notes": ["felt better after the third session", "no change since last week at all",
                                    "pain worse when sitting for long periods"],
                          "pain": [3, 4, 5]})
    out = ct.deidentify(frame, key=KEY)
    assert list(out.columns) == ["subject", "pain"]
    actions = dict((d["column"], d["action"]) for d in out.attrs["deidentify_log"])
    assert "free text" in actions["notes"] and "name" in actions["patient"]
    kept = ct.deidentify(frame, key=KEY, keep=["notes"])
    assert "notes" in kept.columns
    ct.check_identifiers(ct.deidentify(frame, key=KEY, drop_free_text=False))


@pytest.mark.parametrize("key", [" " * 16, "\t" * 20, "a" * 32, "ab" * 16, b"\x00" * 32, "1234123412341234"])
def test_weak_keys_refused(key):
    with pytest.raises(ct.DataError, match="too weak"):
        ct.deidentify(pd.DataFrame({"subject": ["a"]}), key=key)


def test_deidentify_output_passes_the_guard_with_a_record_number_subject():
    frame = pd.DataFrame({"mrn": ["00123456", "00123456", "00987654"], "pain": [3, 2, 5], "yob": [1930, 1930, 1970]})
    out = ct.deidentify(frame, key=KEY, subject="mrn")
    assert list(out.columns) == ["subject", "pain", "yob"] and out["subject"].str.fullmatch("S[0-9a-f]{12}").all()
    ct.check_identifiers(out)
    assert out["yob"].min() == pd.Timestamp.now().year - 90
    # many subjects: no hash is ever taken for a phone number, SSN or date
    many = pd.DataFrame({"mrn": [f"{i:08d}" for i in range(5000)], "pain": 1})
    ct.check_identifiers(ct.deidentify(many, key=KEY, subject="mrn"))


def test_scan_of_300000_rows_and_20_columns_is_fast():
    rng = np.random.default_rng(11)
    n_subjects, visits = 60_000, np.array([0.0, 4.0, 8.0, 12.0, 26.0])
    n = n_subjects * len(visits)
    text = {"subject": np.repeat(np.char.add("S", np.arange(n_subjects).astype(str)), len(visits)),
            "arm": rng.choice(["physio", "acupuncture", "combined", "control"], n), "sex": rng.choice(["F", "M"], n),
            "site": rng.choice(["site1", "site2", "site3"], n), "therapist": rng.choice(["T01", "T02", "T03"], n),
            "notes": np.char.add("pain improving, week ", rng.integers(0, 200, n).astype(str)),
            "visit_label": np.tile(["Baseline", "Week 4", "Week 8", "Week 12", "Week 26"], n_subjects)}
    numbers = {"visit": np.tile(visits, n_subjects), "pain": rng.normal(5, 2, n), "odi": rng.integers(0, 100, n),
               "rmdq": rng.integers(0, 24, n), "rom": rng.normal(60, 10, n), "crp": rng.gamma(2, 2, n),
               "phq9": rng.integers(0, 27, n), "eq5d": rng.uniform(-0.5, 1, n),
               "age": np.repeat(rng.integers(18, 90, n_subjects), len(visits)), "pain_duration": rng.integers(3, 120, n),
               "sessions_attended": rng.integers(0, 13, n), "recovered": rng.integers(0, 2, n),
               "adverse_events": rng.poisson(0.3, n)}
    frame = pd.DataFrame({**{k: pd.Series(v, dtype="str") for k, v in text.items()}, **numbers})
    assert frame.shape == (300_000, 20)
    ct.find_identifiers(frame.head(10))  # warm-up (name lexicon, compiled patterns)
    start = time.perf_counter()
    found = ct.find_identifiers(frame)
    elapsed = time.perf_counter() - start
    assert found.empty
    assert elapsed < 10, f"{elapsed:.1f} s"  # about 0.6 s on a shared 2-core machine


def test_deidentified_output_passes_the_guard_whatever_the_subject_column_is_called():
    # the pseudonyms' hex digits once read as a phone number (a 400-patient export with its id column 'PATID')
    raw = pd.DataFrame({"PATID": [f"P{i:05d}" for i in range(2000)], "MRN": [f"MRN{4000000 + 7 * i:08d}"
                        for i in range(2000)], "pain": np.arange(2000) % 11})
    safe = ct.deidentify(raw, key="a long demonstration key, kept secret in real use", subject="PATID",
                         drop=["MRN"])
    assert ct.find_identifiers(safe).empty
