"""ct.load: formats, layouts, mappings, messy exports, and every bad-input case in one DataError."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import combotherapy as ct


def long_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "subject": ["s1", "s1", "s2", "s2", "s3", "s3"],
        "arm": ["physio", "physio", "acupuncture", "acupuncture", "combined", "combined"],
        "visit": [0, 12, 0, 12, 0, 12],
        "pain": [7, 4, 6.5, 5, 8, 2],
        "age": [40, 40, 51, 51, 63, 63],
        "sex": ["female", "female", "male", "male", "female", "female"],
    })


def test_long_dataframe_canonical():
    t = ct.load(long_frame())
    assert t.arms == ["physio", "acupuncture", "combined"]
    assert t.visits == [0.0, 12.0]
    assert t.outcomes == ["pain"]
    d = t.data
    assert list(d.columns[:4]) == ["subject", "arm", "visit", "pain"]
    assert pd.api.types.is_string_dtype(d["subject"]) and isinstance(d["arm"].dtype, pd.CategoricalDtype)
    assert d["arm"].cat.ordered and d["visit"].dtype == float
    assert t.baseline("pain").tolist() == [7, 6.5, 8]
    assert t.at(12)["pain"].tolist() == [4, 5, 2]
    assert t.wide("pain").loc["s2", 12.0] == 5
    assert list(t.subjects.columns) == ["subject", "arm", "age", "sex"]


def test_dataframe_source_not_modified():
    raw = long_frame()
    before = raw.copy()
    ct.load(raw.rename(columns={"subject": "pid"}), columns={"subject": "pid"})
    pd.testing.assert_frame_equal(raw, before)


def test_mapping_numeric_arms_visit_labels_and_adam_baseline(tmp_path):
    raw = pd.DataFrame({
        "USUBJID": ["P1"] * 2 + ["P2"] * 2,
        "TRT01PN": [1, 1, 0, 0],
        "AVISIT": ["VIS1", "VIS2", "VIS1", "VIS2"],
        "AVAL": [3.0, 2.0, 5.0, np.nan],
        "BASE": [6.0, 6.0, 7.0, 7.0],
    })
    t = ct.load(raw, columns={"subject": "USUBJID", "arm": "TRT01PN", "visit": "AVISIT", "pain": "AVAL",
                              "pain_baseline": "BASE"},
                arms={1: "acupuncture", 0: "control"}, visits={"VIS1": 4, "VIS2": 12})
    assert t.arms == ["control", "acupuncture"]
    assert t.visits == [0.0, 4.0, 12.0]
    assert t.baseline("pain").to_dict() == {"P1": 6.0, "P2": 7.0}
    assert np.isnan(t.wide("pain").loc["P2", 12.0])
    assert "BASE" not in t.data.columns and "pain_baseline" not in t.data.columns
    assert any("baseline" in n for n in t.notes)


def test_week_labels_understood_without_mapping():
    raw = long_frame().assign(visit=["Baseline", "Week 12"] * 3)
    assert ct.load(raw).visits == [0.0, 12.0]


def test_csv_with_bom_and_missing_codes(tmp_path):
    path = tmp_path / "trial.csv"
    text = ("subject,arm,visit,pain,odi\n"
            "s1,physio,0,7,40\ns1,physio,12,,NA\n"
            "s2,combined,0,6,.\ns2,combined,12,NA,30\n")
    path.write_bytes("\ufeff".encode() + text.encode())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    t = ct.load(path)
    assert t.data["pain"].isna().sum() == 2 and t.data["odi"].isna().sum() == 2
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # input never modified


@pytest.mark.parametrize("suffix", [".tsv", ".parquet", ".xlsx", ".dta"])
def test_binary_and_other_text_formats(tmp_path, suffix):
    raw = long_frame()
    path = tmp_path / f"trial{suffix}"
    if suffix == ".tsv":
        raw.to_csv(path, sep="\t", index=False)
    elif suffix == ".parquet":
        raw.to_parquet(path)
    elif suffix == ".xlsx":
        raw.to_excel(path, index=False)
    else:
        raw.to_stata(path, write_index=False)
    t = ct.load(path)
    assert t.n_subjects == 3 and t.data["pain"].tolist() == [7, 4, 6.5, 5, 8, 2]


def test_sas_transport_file(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / "adqs.xpt"
    raw = long_frame().rename(columns=str.upper)
    pyreadstat.write_xport(raw, str(path), file_format_version=5)
    t = ct.load(path, columns={"subject": "SUBJECT", "arm": "ARM", "visit": "VISIT", "pain": "PAIN"})
    assert t.data["pain"].tolist() == [7, 4, 6.5, 5, 8, 2]


def test_wide_layout_detected():
    raw = pd.DataFrame({"subject": ["a", "b"], "arm": ["physio", "combined"], "pain_w0": [7, 8],
                        "pain_w12": [5, np.nan], "odi_w0": [40, 50], "odi_w12": [30, 20], "age": [30, 40]})
    t = ct.load(raw)
    assert t.visits == [0.0, 12.0] and t.outcomes == ["pain", "odi"]
    assert t.wide("odi").loc["b", 12.0] == 20 and np.isnan(t.wide("pain").loc["b", 12.0])
    assert t.subjects["age"].tolist() == [30, 40]


def test_declared_instrument_and_other_arm_names():
    raw = long_frame().rename(columns={"pain": "headache"}).assign(arm=["a", "a", "b", "b", "b", "b"])
    t = ct.load(raw, arms={"a": "laser", "b": "control"},
                outcomes={"headache": ct.Instrument(low=0, high=None, better="lower", units="points")})
    assert t.arms == ["control", "laser"] and t.instrument("headache").better == "lower"


# --- every bad input, reported together ------------------------------------------------------------------

def test_all_problems_in_one_error():
    raw = long_frame()
    raw.loc[1, "arm"] = "physiotherapy"            # unknown label
    raw.loc[3, "pain"] = 14                        # out of range
    raw.loc[5, "visit"] = -2                       # negative visit
    raw = pd.concat([raw, raw.iloc[[0]]])          # duplicate subject-visit
    with pytest.raises(ct.DataError) as err:
        ct.load(raw)
    msg = str(err.value)
    assert "unknown arm labels ['physiotherapy']" in msg
    assert "valid range [0, 10]" in msg and "rows 4" in msg
    assert "negative visit" in msg and "rows 6" in msg
    assert "duplicate subject-visit" in msg
    assert len(err.value.problems) >= 4


def test_subject_in_two_arms():
    raw = long_frame()
    raw.loc[1, "arm"] = "combined"
    with pytest.raises(ct.DataError, match="more than one arm"):
        ct.load(raw)


def test_non_numeric_values_and_visits_listed_with_rows():
    raw = long_frame().astype({"pain": object, "visit": object})
    raw.loc[2, "pain"] = "severe"
    raw.loc[4, "visit"] = "month three"
    with pytest.raises(ct.DataError) as err:
        ct.load(raw)
    msg = str(err.value)
    assert "non-numeric value" in msg and "rows 3" in msg
    assert "['month three'] are not weeks" in msg and "rows 5" in msg


def test_missing_required_columns_suggest_close_matches():
    raw = long_frame().rename(columns={"subject": "subjct", "arm": "Arm"})
    with pytest.raises(ct.DataError) as err:
        ct.load(raw)
    assert "'subject': required column missing" in str(err.value) and "'subjct'" in str(err.value)
    assert "'Arm'" in str(err.value)


def test_mapping_to_absent_column():
    with pytest.raises(ct.DataError, match="no such column"):
        ct.load(long_frame(), columns={"pain": "nrs"})


def test_unknown_arm_lists_mapping():
    with pytest.raises(ct.DataError, match=r"arms= maps \['0', '1'\]"):
        ct.load(long_frame().assign(arm=[0, 0, 1, 1, 2, 2]), arms={0: "physio", 1: "combined"})


def test_integer_instrument_rejects_fractions():
    raw = long_frame().assign(rmdq=[3, 4.5, 6, 7, 8, 9])
    with pytest.raises(ct.DataError, match="not whole numbers"):
        ct.load(raw)


def test_empty_and_unreadable_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ct.DataError, match="empty"):
        ct.load(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("subject,arm,visit,pain\n")
    with pytest.raises(ct.DataError, match="no data rows"):
        ct.load(header_only)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("subject,arm,visit,pain,site\ns1,physio,0,5,Malmö\n".encode("latin-1"))
    with pytest.raises(ct.DataError, match="not valid utf-8"):
        ct.load(latin)
    assert ct.load(latin, encoding="latin-1").data["site"].iloc[0] == "Malmö"
    with pytest.raises(ct.DataError, match="file not found"):
        ct.load(tmp_path / "nope.csv")
    with pytest.raises(ct.DataError, match="unknown file type"):
        (tmp_path / "x.json").write_text("{}")
        ct.load(tmp_path / "x.json")


def test_subject_level_outcome_must_be_constant():
    raw = long_frame().assign(recovery_time=[5, 6, 7, 7, 8, 8], recovered=[1, 1, 0, 0, 1, 1])
    with pytest.raises(ct.DataError, match="different values within 1 subject"):
        ct.load(raw)


def test_cannot_tell_layout():
    with pytest.raises(ct.DataError, match="cannot tell the layout"):
        ct.load(long_frame().drop(columns="visit"))


# --- the public trials load with a mapping (documented in README) ------------------------------------------

def test_public_trials_load(datasets):
    vickers = ct.load(datasets / "vickers_acupuncture_headache" / "acupuncture.csv",
                      columns={"subject": "id", "arm": "group", "headache_w0": "pk1", "headache_w13": "pk2",
                               "headache_w52": "pk5"},
                      arms={1: "acupuncture", 0: "control"},
                      outcomes={"headache": ct.Instrument(low=0, better="lower", units="points")})
    assert vickers.n_subjects == 401 and vickers.visits == [0.0, 13.0, 52.0]
    assert vickers.at(52)["headache"].notna().sum() == 301
    fev = ct.load(datasets / "mmrm_fev_data" / "fev_data.csv",
                  columns={"subject": "USUBJID", "arm": "ARMCD", "visit": "AVISIT", "fev1": "FEV1",
                           "fev1_baseline": "FEV1_BL"},
                  arms={"PBO": "control", "TRT": "treatment"}, visits={f"VIS{i}": i for i in range(1, 5)},
                  outcomes={"fev1": ct.Instrument(low=0, better="higher", units="%")})
    assert fev.n_subjects == 200 and fev.data.loc[fev.data["visit"] > 0, "fev1"].notna().sum() == 537
    neck = ct.load(datasets / "ordinalcont_neck_pain_laser" / "neck_pain.csv",
                   columns={"subject": "id", "arm": "laser", "visit": "time"}, arms={1: "laser", 2: "control"},
                   visits={1: 0, 2: 7, 3: 12}, outcomes={"vas": ct.Instrument(low=0, high=1, better="lower")})
    assert neck.n_subjects == 90 and len(neck.at(7)) == 84
    bcva = ct.load(datasets / "mmrm_bcva_data" / "bcva_data.csv",
                   columns={"subject": "USUBJID", "arm": "ARMCD", "visit": "VISITN", "bcva_change": "BCVA_CHG"},
                   arms={"CTL": "control", "TRT": "treatment"},
                   outcomes={"bcva_change": ct.Instrument(better="higher", units="letters")})
    assert bcva.n_subjects == 1000 and len(bcva.data) == 8605


# --- property: malformed input raises DataError and nothing else ---------------------------------------------

cells = st.one_of(st.none(), st.integers(-5, 40), st.floats(allow_nan=True, allow_infinity=True),
                  st.sampled_from(["", "NA", ".", "physio", "combined", "x", "Week 4", "-1", "1e3", " "]),
                  st.text(max_size=4))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cols=st.lists(st.sampled_from(["subject", "arm", "visit", "pain", "odi", "age", "recovered", "pain_w0",
                                   "pain_w12", "notes", "recovery_time"]), min_size=0, max_size=6, unique=True),
    n=st.integers(0, 6),
    data=st.data(),
)
def test_load_raises_only_data_error(cols, n, data):
    frame = pd.DataFrame({c: data.draw(st.lists(cells, min_size=n, max_size=n)) for c in cols})
    try:
        ct.load(frame)
    except ct.DataError:
        pass


def test_subject_ids_keep_their_text(tmp_path):
    # '001' and '1' are two subjects; a text id is never re-read as a number ('1e1' is not 10)
    path = tmp_path / "ids.csv"
    path.write_text("subject,arm,visit,pain\n001,physio,0,5\n001,physio,12,3\n1,combined,0,4\n1,combined,12,2\n"
                    "1e1,physio,0,4\n1e1,physio,12,2\n")
    t = ct.load(path)
    assert t.subjects["subject"].tolist() == ["001", "1", "1e1"]
    # ids stored as numbers read as whole numbers; a spreadsheet column may mix numbers and text
    frame = long_frame().assign(subject=[101.0, 101.0, 102.0, 102.0, 7.5, 7.5])
    assert ct.load(frame).subjects["subject"].tolist() == ["101", "102", "7.5"]
    mixed = long_frame().assign(subject=pd.Series([5, 5, " B7 ", " B7 ", 6.0, 6.0], dtype=object))
    assert ct.load(mixed).subjects["subject"].tolist() == ["5", "B7", "6"]


def test_empty_rows_are_ignored_with_a_note_and_row_numbers_stay_the_files(tmp_path):
    # a blank line and a line of empty cells: both ignored (listed in notes); later rows keep their numbers
    path = tmp_path / "gaps.csv"
    path.write_text("subject,arm,visit,pain\ns1,physio,0,5\n\ns1,physio,12,3\ns2,combined,0,44\n,,,\n"
                    "s2,combined,12,3\n")
    with pytest.raises(ct.DataError, match=r"column 'pain'.*\(rows 4; 1 in all\)"):
        ct.load(path)
    path.write_text(path.read_text().replace(",44", ",4"))
    t = ct.load(path)
    assert t.n_subjects == 2 and len(t.data) == 4
    assert t.notes == ["2 empty rows ignored (rows 2, 5; 1 = first data row)"]
    # a spreadsheet with a blank spacer row loads
    frame = long_frame()
    sheet = pd.concat([frame.iloc[:2], pd.DataFrame([[None] * frame.shape[1]], columns=frame.columns),
                       frame.iloc[2:]], ignore_index=True)
    xlsx = tmp_path / "blank_row.xlsx"
    sheet.to_excel(xlsx, index=False)
    t = ct.load(xlsx)
    assert t.n_subjects == 3 and t.notes == ["1 empty row ignored (row 3; 1 = first data row)"]
    # a file whose rows are all empty has no data
    path.write_text("subject,arm,visit,pain\n,,,\n,,,\n")
    with pytest.raises(ct.DataError, match="every row is empty"):
        ct.load(path)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_repeated_column_names_are_an_error(tmp_path, suffix):
    # pandas reads a repeated 'pain' as 'pain' and 'pain.1'; the second must not become a silent covariate
    path = tmp_path / f"dup{suffix}"
    frame = pd.DataFrame([["s1", "physio", 0, 5, 6], ["s1", "physio", 12, 3, 4]],
                         columns=["subject", "arm", "visit", "pain", "pain"])
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_excel(path, index=False)
    with pytest.raises(ct.DataError, match="column 'pain': the header names 2 columns 'pain'"):
        ct.load(path)
    with pytest.raises(ct.DataError, match="column 'pain': the header names 2 columns 'pain'"):
        ct.load(frame)


def _wide_frame(names):
    return pd.DataFrame({"subject": ["s1", "s2"], "arm": ["physio", "combined"],
                         names[0]: [7.0, 6.0], names[1]: [5.0, 3.0], names[2]: [4.0, 2.0]})


def test_wide_file_with_visit_labels():
    # labels mapped by visits= (the outcome part may itself contain '_')
    t = ct.load(_wide_frame(["pain_BL", "pain_VIS1", "pain_VIS2"]), visits={"BL": 0, "VIS1": 4, "VIS2": 12})
    assert t.visits == [0.0, 4.0, 12.0] and t.outcomes == ["pain"]
    assert t.wide("pain").loc["s2", [0.0, 4.0, 12.0]].tolist() == [6.0, 3.0, 2.0]
    t = ct.load(_wide_frame(["analgesic_days_V0", "analgesic_days_V1", "analgesic_days_V2"]),
                visits={"V0": 0, "V1": 4, "V2": 8})
    assert t.outcomes == ["analgesic_days"] and t.visits == [0.0, 4.0, 8.0]
    # week labels are understood without visits=
    t = ct.load(_wide_frame(["pain_Week 0", "pain_week_4", "pain_wk12"]))
    assert t.visits == [0.0, 4.0, 12.0]
    # two columns for the same outcome and week are a problem, not a silent choice
    with pytest.raises(ct.DataError, match=r"columns \['pain_w4', 'pain_week4'\] all hold 'pain' at week 4"):
        ct.load(_wide_frame(["pain_w0", "pain_w4", "pain_week4"]))


def test_outcome_name_in_other_case_is_not_a_silent_covariate():
    # 'PAIN' with out-of-range values used to load as a covariate: no outcome and no range check
    frame = long_frame().rename(columns={"pain": "PAIN"}).assign(PAIN=[70, 40, 65, 50, 80, 20])
    with pytest.raises(ct.DataError, match=r"column 'PAIN': not an outcome, but the name is the outcome 'pain'"):
        ct.load(frame)
    with pytest.raises(ct.DataError, match=r"values outside the valid range"):
        ct.load(frame, columns={"pain": "PAIN"})
    wide = _wide_frame(["PAIN_BL", "PAIN_VIS1", "PAIN_VIS2"])
    with pytest.raises(ct.DataError, match="column 'PAIN'"):
        ct.load(wide, visits={"BL": 0, "VIS1": 4, "VIS2": 12})
    declared = ct.load(frame, outcomes={"PAIN": ct.Instrument(low=0, high=100, better="lower")})
    assert declared.outcomes == ["PAIN"]


def test_problem_lines_read_naturally():
    frame = long_frame()
    frame.loc[3, "pain"] = 11
    frame.loc[2:3, "arm"] = ["acupuncture", "physio"]
    with pytest.raises(ct.DataError) as err:
        ct.load(frame)
    text = str(err.value)
    assert "values outside the valid range [0, 10] of Pain intensity (NRS) (rows 4; 1 in all)" in text
    assert "1 subject appears in more than one arm" in text and "(rows 3, 4; 2 in all)" in text


def test_missing_required_columns_suggest_usual_export_names():
    frame = pd.DataFrame({"USUBJID": ["a"], "TRT01P": ["physio"], "AVISIT": [0], "pain": [5]})
    with pytest.raises(ct.DataError) as err:
        ct.load(frame)
    text = str(err.value)
    assert "column 'subject': required column missing" in text and "did you mean 'USUBJID'?" in text
    assert "did you mean 'TRT01P'?" in text and "did you mean 'AVISIT'?" in text


def test_stata_value_labels_mapped_by_code_get_a_hint(tmp_path):
    frame = long_frame().assign(arm=[1, 1, 2, 2, 3, 3])
    path = tmp_path / "labelled.dta"
    frame.to_stata(path, write_index=False, value_labels={"arm": {1: "Physio", 2: "Acupuncture", 3: "Combined"}})
    labels = {"Physio": "physio", "Acupuncture": "acupuncture", "Combined": "combined"}
    assert ct.load(path, arms=labels).arms == ["physio", "acupuncture", "combined"]
    with pytest.raises(ct.DataError, match=r"holds text labels \(value labels of a Stata file.*arms=\{'Acupuncture'"):
        ct.load(path, arms={1: "physio", 2: "acupuncture", 3: "combined"})


def test_infinite_complex_and_unnamed_arm_values_are_problems():
    frame = long_frame()
    frame["endurance"] = [60.0, np.inf, 50.0, 55.0, 40.0, 45.0]      # unbounded instrument: inf passed
    frame["visit"] = ["0", "1e400", "0", "12", "0", "12"]            # overflows to inf: passed as a visit
    frame["weight"] = [70.0, 70.0, -np.inf, -np.inf, 80.0, 80.0]
    with pytest.raises(ct.DataError) as err:
        ct.load(frame)
    text = str(err.value)
    assert "column 'endurance': infinite values: expected finite numbers (rows 2; 1 in all)" in text
    assert "column 'visit': infinite visit times" in text
    assert "column 'weight': infinite values" in text
    with pytest.raises(ct.DataError, match="column 'pain': complex numbers: expected real numbers"):
        ct.load(long_frame().assign(pain=[1 + 2j, 3, 4, 2, 1, 1]))
    with pytest.raises(ct.DataError, match=r"arms= maps \['acupuncture'\] to no arm name"):
        ct.load(long_frame(), arms={"physio": "physio", "acupuncture": None, "combined": "combined"})
    with pytest.raises(ct.DataError, match="DataFrame has no data rows"):
        ct.load(long_frame().iloc[:0])
    as_bytes = long_frame().assign(subject=lambda f: f["subject"].str.encode("utf-8"))
    assert ct.load(as_bytes).subjects["subject"].tolist() == ["s1", "s2", "s3"]


@pytest.mark.parametrize("kwargs, match", [
    ({"visits": {"0": 0, "12": "twelve"}}, r"visits= must map each label to weeks.*\{'12': 'twelve'\}"),
    ({"visits": {"0": 0, "12": None}}, r"visits= must map each label to weeks"),
    ({"visits": ["0", "12"]}, r"visits= must be a dict such as"),
    ({"arms": ["physio"]}, r"arms= must be a dict such as \{1: 'acupuncture', 0: 'control'\}, not list"),
    ({"columns": "subject"}, r"columns= must be a dict such as"),
    ({"layout": "tall"}, r"layout must be 'auto', 'long' or 'wide', not 'tall'"),
])
def test_malformed_arguments_are_data_errors(kwargs, match):
    # these raised AttributeError / TypeError / ValueError from deep inside the loader
    with pytest.raises(ct.DataError, match=match):
        ct.load(long_frame(), **kwargs)


def test_visits_values_may_be_numeric_text():
    frame = long_frame().assign(visit=["BL", "W12"] * 3)
    assert ct.load(frame, visits={"BL": "0", "W12": "12"}).visits == [0.0, 12.0]
