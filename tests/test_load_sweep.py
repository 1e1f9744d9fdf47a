"""An adversarial sweep of ``ct.load`` with messy real-world exports.

Each case is built from one clean trial, written the way spreadsheets, statistics packages and careless hands
write it. Every case runs at two sizes: 4 subjects (12 rows: the careful reader) and 700 subjects (2,100 rows: the
coded fast readers of CSV and Parquet); both must give the same data or the same problems. After each load the
input file's bytes are unchanged. A case that loads must equal the clean trial as a careful reading gives it; a
case that fails raises ``ct.DataError`` (nothing else), naming the column, the rows (1 = first data row) and
what was expected or how to declare it.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.cli import main

SIZES = [4, 700]
ARMS = ["physio", "acupuncture", "combined", "control"]


def clean(n: int) -> pd.DataFrame:
    """n subjects (arms in turn) x visits 0, 4, 12; pain with one decimal, odi whole numbers, baseline covariates."""
    rng = np.random.default_rng(n)
    k = 3 * n
    return pd.DataFrame({
        "subject": np.repeat([f"S{i:04d}" for i in range(n)], 3),
        "arm": np.repeat([ARMS[i % 4] for i in range(n)], 3),
        "visit": np.tile([0, 4, 12], n),
        "pain": np.round(rng.uniform(0, 10, k), 1),
        "odi": rng.integers(0, 100, k),
        "age": np.repeat(40 + np.arange(n) % 30, 3),
        "sex": np.repeat([["male", "female"][i % 2] for i in range(n)], 3),
    })


def load_file(path, **kwargs):
    """ct.load that checks the file was only read."""
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        return ct.load(path, **kwargs)
    finally:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the input file was modified"


def expected(frame: pd.DataFrame) -> pd.DataFrame:
    return ct.load(frame).data


def error(path, **kwargs) -> str:
    with pytest.raises(ct.DataError) as info:
        load_file(path, **kwargs)
    assert type(info.value) is ct.DataError
    return str(info.value)


# --- CSV exports that are fine but unusual: they load, and equal the clean trial ------------------------------

def _with(frame, column, row, value):
    out = frame.astype({column: object})
    out.loc[row, column] = value
    return out


def _text(frame, nl="\n") -> str:
    return frame.to_csv(index=False, lineterminator=nl)


LOADS = {
    # name: (file bytes or text from the clean frame, load arguments, frame a careful reading gives)
    "numbers quoted as text": (lambda d: _text(d.assign(pain=d.pain.map(lambda x: f'"{x}"'))).replace('"""', '"'),
                               {}, lambda d: d),
    "missing NA": (lambda d: _text(_with(d, "pain", 5, "NA")), {}, lambda d: _with(d, "pain", 5, np.nan)),
    "missing dot": (lambda d: _text(_with(d, "pain", 5, ".")), {}, lambda d: _with(d, "pain", 5, np.nan)),
    "missing n/a": (lambda d: _text(_with(d, "pain", 5, "n/a")), {}, lambda d: _with(d, "pain", 5, np.nan)),
    "missing padded NA": (lambda d: _text(_with(d, "pain", 5, " NA ")), {}, lambda d: _with(d, "pain", 5, np.nan)),
    "missing blank": (lambda d: _text(_with(d, "pain", 5, "")), {}, lambda d: _with(d, "pain", 5, np.nan)),
    "declared codes": (lambda d: _text(_with(_with(d, "pain", 5, "-99"), "odi", 2, "#N/A")),
                       {"missing": {"pain": [-99], "odi": ["#N/A"]}},
                       lambda d: _with(_with(d, "pain", 5, np.nan), "odi", 2, np.nan)),
    "semicolons and decimal commas": (lambda d: _text(d).replace(",", ";").replace(".", ","),
                                      {"sep": ";", "decimal": ","}, lambda d: d),
    "padded values and ids": (lambda d: _text(d.assign(pain=d.pain.map(lambda x: f" {x} "),
                                                       subject=" " + d.subject)), {}, lambda d: d),
    "arm labels in other case and padded": (lambda d: _text(d.assign(arm=d.arm.map(
        {"physio": "Physio", "acupuncture": " ACUPUNCTURE", "combined": "combined ", "control": "Control"}))),
        {}, lambda d: d),
    "non-breaking spaces": (lambda d: _text(d.assign(arm=d.arm + "\xa0", pain=d.pain.map(lambda x: f"{x}\xa0"))),
                            {}, lambda d: d),
    "BOM and CRLF": (lambda d: b"\xef\xbb\xbf" + _text(d, "\r\n").encode(), {}, lambda d: d),
    "Latin-1 declared": (lambda d: _text(d.assign(sex=d.sex.replace({"male": "m\xe4nnlich"}))).encode("latin-1"),
                         {"encoding": "latin-1"}, lambda d: d.assign(sex=d.sex.replace({"male": "m\xe4nnlich"}))),
    "no final newline": (lambda d: _text(d).rstrip("\n"), {}, lambda d: d),
    "visit labels": (lambda d: _text(d.assign(visit=d.visit.map({0: "baseline", 4: "Week 4", 12: "W12"}))),
                     {}, lambda d: d),
    "visit labels with the unit after": (lambda d: _text(d.assign(visit=d.visit.map(
        {0: "Screening", 4: "4 weeks", 12: "12wk"}))), {}, lambda d: d),
    "visit labels mapped": (lambda d: _text(d.assign(visit=d.visit.map({0: "V1", 4: "V2", 12: "V3"}))),
                            {"visits": {"V1": 0, "V2": 4, "V3": 12}}, lambda d: d),
    "arms coded and mapped": (lambda d: _text(d.assign(arm=d.arm.map(dict(zip(ARMS, ["01", "02", "03", "00"]))))),
                              {"arms": {1: "physio", 2: "acupuncture", 3: "combined", 0: "control"}}, lambda d: d),
    "dropout: rows absent": (lambda d: _text(d.drop(index=[5, 8])), {}, lambda d: d.drop(index=[5, 8])),
    "dropout: rows present but empty": (lambda d: _text(_with(_with(d, "pain", [5, 8], ""), "odi", [5, 8], "")), {},
                                        lambda d: _with(_with(d, "pain", [5, 8], np.nan), "odi", [5, 8], np.nan)),
    "unbalanced arms": (lambda d: _text(d[~((d.arm == "control") & (d.index % 2 == 0))]), {},
                        lambda d: d[~((d.arm == "control") & (d.index % 2 == 0))]),
}


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("case", list(LOADS))
def test_unusual_csv_loads_as_a_careful_reading(tmp_path, case, n):
    write, kwargs, reading = LOADS[case]
    d = clean(n)
    content = write(d)
    path = tmp_path / "export.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    trial = load_file(path, **kwargs)
    pd.testing.assert_frame_equal(trial.data, expected(reading(d).reset_index(drop=True)))


@pytest.mark.parametrize("n", SIZES)
def test_blank_rows_are_named_in_the_notes_and_nothing_else_is_dropped(tmp_path, n):
    d = clean(n)
    lines = _text(d).splitlines()
    lines.insert(4, "")                               # a blank line after data row 3
    lines.insert(7, ",,,,,,")                         # a row of empty cells
    lines += [",,,,,,", "  "]                         # trailing empty rows of a spreadsheet export
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(lines) + "\n")
    trial = load_file(path)
    pd.testing.assert_frame_equal(trial.data, expected(d))
    rows = f"{3 * n + 3}, {3 * n + 4}"
    assert any(f"4 empty rows ignored (rows 4, 7, {rows}; 1 = first data row)" in note for note in trial.notes)


# --- CSV exports with problems: one DataError, every problem with its rows --------------------------------------

FAILS = {
    # name: (file text from the clean frame, load arguments, patterns the message must hold)
    "dash as missing": (lambda d: _text(_with(d, "pain", 5, "-")), {},
                        [r"'pain': 1 non-numeric value: expected numbers in \[0, 10\]",
                         r"declare them with missing=\{'pain': \['-'\]\} \(rows 6; 1 in all\)"]),
    "Excel #N/A as text": (lambda d: _text(_with(d, "pain", 5, "#N/A")), {},
                           [r"missing=\{'pain': \['#N/A'\]\} \(rows 6;"]),
    "-99 code": (lambda d: _text(_with(d, "pain", 5, "-99")), {},
                 [r"'pain': values outside the valid range \[0, 10\].*\[-99\] look like missing-value codes: "
                  r"if they are, declare them with missing=\{'pain': \[-99\]\} \(rows 6;"]),
    "999 code": (lambda d: _text(_with(d, "odi", 2, "999")), {}, [r"'odi'.*missing=\{'odi': \[999\]\} \(rows 3;"]),
    "thousands separator": (lambda d: _text(_with(d, "odi", 3, "1,234")), {},
                            [r"'odi': 1 non-numeric value.*thousands separator \(such as 1,234.*\(rows 4;"]),
    "decimal commas undeclared": (lambda d: _text(d).replace(",", ";").replace(".", ","), {"sep": ";"},
                                  [r"'pain': \d+ non-numeric values.*declare decimal=','"]),
    "percent signs": (lambda d: _text(d.assign(odi=d.odi.astype(str) + "%")), {},
                      [r"'odi': \d+ non-numeric values: expected numbers in \[0, 100\]"]),
    "repeated header": (lambda d: _text(d.assign(pain2=d.pain)).replace("pain2", "pain", 1), {},
                        [r"the header names 2 columns 'pain'"]),
    "subject-visit twice": (lambda d: _text(pd.concat([d, d.iloc[[4]]])), {},
                            [r"duplicate subject-visit rows.*\(rows 5, "]),
    "subject in two arms": (lambda d: _text(_with(d, "arm", 1, "control" if d.arm[1] != "control" else "physio")),
                            {}, [r"1 subject appears in more than one arm.*\(rows 1, 2, 3; 3 in all\)"]),
    "out of range": (lambda d: _text(_with(_with(d, "pain", 2, 11), "odi", 7, -3)), {},
                     [r"'pain': values outside the valid range \[0, 10\].*\(rows 3; 1 in all\)",
                      r"'odi': values outside the valid range \[0, 100\].*\(rows 8; 1 in all\)"]),
    "negative count": (lambda d: _text(d.assign(analgesic_days=np.where(d.index == 3, -2, 3))), {},
                       [r"'analgesic_days': values outside the valid range \[0, 28\].*\(rows 4; 1 in all\)"]),
    "fractional sessions": (lambda d: _text(d.assign(sessions_attended=np.where(d.subject == "S0001", 2.5, 4.0))),
                            {}, [r"'sessions_attended': values that are not whole numbers.*\(rows 4, 5, 6; 3 in all\)"]),
    "visit labels not mapped": (lambda d: _text(d.assign(visit=d.visit.map({0: "V1", 4: "V2", 12: "V3"}))), {},
                                [r"unknown visit labels \['V1', 'V2', 'V3'\].*visits=\{label: week\}"]),
    "four problems at once": (lambda d: _text(_with(_with(_with(_with(d, "pain", 2, "abc"), "pain", 4, 12),
                                                          "arm", 6, "placebo"), "visit", 7, "x")), {},
                              [r"4 problems found", r"'visit': unknown visit labels \['x'\].*\(rows 8; 1 in all\)",
                               r"unknown arm labels \['placebo'\].*\(rows 7; 1 in all\)",
                               r"'pain': 1 non-numeric value.*\(rows 3; 1 in all\)",
                               r"'pain': values outside the valid range.*\(rows 5; 1 in all\)"]),
    "title row above the header": (lambda d: "Trial export 2024,,,,,,\n" + _text(d), {},
                                   [r"required column missing",
                                    r"6 of the 7 column names are blank: the first row of the sheet is not the header"]),
    "Latin-1 undeclared": (lambda d: _text(d.assign(sex="m\xe4nnlich")).encode("latin-1"), {},
                           [r"not valid utf-8-sig text.*encoding='latin-1'"]),
}


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("case", list(FAILS))
def test_bad_csv_raises_one_data_error_with_rows(tmp_path, case, n):
    write, kwargs, patterns = FAILS[case]
    content = write(clean(n))
    path = tmp_path / "export.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    message = error(path, **kwargs)
    for pattern in patterns:
        assert re.search(pattern, message, re.S), (pattern, message)


@pytest.mark.parametrize("case", ["dash as missing", "four problems at once", "fractional sessions"])
def test_small_and_large_files_report_the_same_problems(tmp_path, case):
    """The careful reader (12 rows) and the coded one (2,100 rows) find the same problems at the same rows."""
    write, kwargs, _ = FAILS[case]
    messages = []
    for n in SIZES:
        path = tmp_path / f"{n}.csv"
        path.write_text(write(clean(n)))
        messages.append(error(path, **kwargs).replace(f"{n}.csv", "X.csv"))
    assert re.sub(r"and \d+ more; \d+ in all", "", messages[0]) == re.sub(r"and \d+ more; \d+ in all", "",
                                                                         messages[1])


# --- Excel -------------------------------------------------------------------------------------------------

def _sheet(path, frame, title=None):
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=frame.shape[1])
    sheet.append(list(frame.columns))
    for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False):
        sheet.append(list(row))
    book.save(path)
    return path


def test_excel_text_that_pandas_calls_missing_is_read_as_written(tmp_path):
    """'None' is an arm label here, and 'null' a word: pandas' default would read both as missing without a word."""
    d = clean(4).assign(arm=lambda f: f.arm.replace({"control": "None"}), note="null")
    arms = {"None": "control", **{a: a for a in ARMS[:3]}}
    trial = load_file(_sheet(tmp_path / "none.xlsx", d), arms=arms)
    assert trial.arms == ["control", "physio", "acupuncture", "combined"]
    assert (trial.data["note"] == "null").all()
    d.to_csv(tmp_path / "none.csv", index=False)
    pd.testing.assert_frame_equal(trial.data, load_file(tmp_path / "none.csv", arms=arms).data)


def test_excel_error_cells_are_reported_not_lost(tmp_path):
    d = clean(4).astype({"pain": object})
    d.loc[1, "pain"], d.loc[6, "pain"] = "#DIV/0!", "#N/A"   # openpyxl writes these as error cells
    path = _sheet(tmp_path / "errors.xlsx", d)
    message = error(path)
    assert re.search(r"'pain': 2 non-numeric values.*missing=\{'pain': \['#DIV/0!', '#N/A'\]\} \(rows 2, 7;", message)
    trial = load_file(path, missing={"pain": ["#DIV/0!", "#N/A"]})
    assert trial.data["pain"].isna().sum() == 2
    assert any("2 cells holding a declared missing-value code" in n for n in trial.notes)


def test_excel_trailing_cells_title_row_and_numbers_as_text(tmp_path):
    d = clean(4)
    book = _sheet(tmp_path / "messy.xlsx", d.astype({"pain": str}))   # numbers stored as text
    wb = openpyxl.load_workbook(book)
    wb.active.cell(row=40, column=12).number_format = "0.00"         # a formatted empty cell far below and right
    wb.save(book)
    pd.testing.assert_frame_equal(load_file(book).data, expected(d))
    message = error(_sheet(tmp_path / "titled.xlsx", d, title="Trial XYZ, all visits"))
    assert "the first row of the sheet is not the header" in message


# --- statistics packages, Parquet, DataFrames ---------------------------------------------------------------

@pytest.mark.parametrize("n", SIZES)
def test_stata_scale_anchors_keep_the_numbers_and_arm_labels_apply(tmp_path, n):
    d = clean(n).assign(pain=lambda f: f.pain.round().astype(int))
    path = tmp_path / "anchors.dta"
    d.assign(arm=d.arm.map({a: i for i, a in enumerate(ARMS)})).to_stata(
        path, write_index=False, value_labels={"pain": {0: "no pain", 10: "worst pain"},
                                               "arm": dict(enumerate(ARMS))})
    trial = load_file(path)
    pd.testing.assert_frame_equal(trial.data, expected(d.astype({"pain": "int32"})))
    assert any("value labels of 'pain' name only some values (scale anchors): read as numbers" in n
               for n in trial.notes)


@pytest.mark.parametrize("n", SIZES)
def test_parquet_nullable_categorical_and_float32_columns(tmp_path, n):
    d = clean(n)
    typed = d.astype({"odi": "Int64", "arm": "category", "sex": "string", "subject": "string"})
    typed["pain"] = typed["pain"].astype("float32")
    typed.loc[2, "odi"] = pd.NA
    path = tmp_path / "typed.parquet"
    typed.to_parquet(path)
    want = expected(_with(d.assign(pain=d.pain.astype("float32").astype(float)), "odi", 2, np.nan))
    pd.testing.assert_frame_equal(load_file(path).data, want)


@pytest.mark.parametrize("n", SIZES)
def test_a_named_index_is_data_not_dropped(tmp_path, n):
    d = clean(n)
    for source in (d.set_index(["subject", "visit"]), d.set_index("subject")):
        before = source.copy()
        trial = ct.load(source)
        pd.testing.assert_frame_equal(source, before)      # the caller's frame is untouched
        pd.testing.assert_frame_equal(trial.data, expected(d))
        assert any("read as column" in note for note in trial.notes)
    path = tmp_path / "indexed.parquet"
    d.set_index("subject").to_parquet(path)
    pd.testing.assert_frame_equal(load_file(path).data, expected(d))
    # an unnamed index (row labels of a filtered frame) and a copy of a column are not data: ignored as before
    assert ct.load(d.set_axis(d.index * 10 + 7)).notes == []
    assert ct.load(d.set_index("subject", drop=False)).notes == []


def test_multiindex_columns_get_a_hint():
    d = clean(4)
    d.columns = pd.MultiIndex.from_tuples([("trial", c) for c in d.columns])
    with pytest.raises(ct.DataError, match=r"the column names have 2 levels \(MultiIndex columns\): flatten them"):
        ct.load(d)


def test_numbers_kept_as_text_because_of_a_few_cells_is_told(tmp_path):
    d = clean(4).astype({"age": object})
    d.loc[[0, 1, 2], "age"] = "-"
    d.to_csv(tmp_path / "bmi.csv", index=False)
    trial = load_file(tmp_path / "bmi.csv")
    assert trial.data["age"].dtype == object            # as before: a text covariate, never a silent coercion
    told = [n for n in trial.notes if "covariate 'age' is kept as text" in n]
    assert told and "3 of its 12 filled cells are not numbers" in told[0] and "missing={'age': ['-']}" in told[0]
    fixed = load_file(tmp_path / "bmi.csv", missing={"age": ["-"]})
    assert fixed.data["age"].dtype == float and not any("kept as text" in n for n in fixed.notes)
    assert not any("kept as text" in n for n in ct.load(clean(4)).notes)   # a text covariate (sex) is not told


# --- wide files -------------------------------------------------------------------------------------------

def _wide(d, name):
    w = d.pivot(index=["subject", "arm", "age", "sex"], columns="visit", values="pain").reset_index()
    w.columns = [name(c) if isinstance(c, (int, np.integer)) else c for c in w.columns]
    return w.assign(subject=pd.Categorical(w.subject, categories=d.subject.unique())).sort_values("subject") \
        .astype({"subject": str})


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("spelling, kwargs", [
    (lambda v: f"pain_w{v}", {}), (lambda v: f"pain_week{v}", {}), (lambda v: f"pain_Week {v}", {}),
    (lambda v: "pain_baseline" if v == 0 else f"pain_w{v}", {}), (lambda v: "pain_bl" if v == 0 else f"pain_w{v}", {}),
    (lambda v: f"pain_V{[0, 4, 12].index(v) + 1}", {"visits": {"V1": 0, "V2": 4, "V3": 12}}),
], ids=["w", "week", "Week space", "baseline column", "bl", "V mapped"])
def test_wide_spellings_load_as_the_long_file(tmp_path, n, spelling, kwargs):
    d = clean(n)[["subject", "arm", "visit", "pain", "age", "sex"]]
    path = tmp_path / "wide.csv"
    w = _wide(d, spelling)
    w.loc[1, w.columns[-1]] = np.nan                   # a dropout: the last visit's cell empty
    w.to_csv(path, index=False)
    want = _with(d, "pain", 5, np.nan)
    got = load_file(path, **kwargs).data
    pd.testing.assert_frame_equal(got, expected(want)[got.columns])


@pytest.mark.parametrize("spelling", [lambda v: f"pain.{v}", lambda v: f"painV{[0, 4, 12].index(v) + 1}"],
                         ids=["dot", "V joined"])
def test_wide_spellings_not_understood_say_how_to_map(tmp_path, spelling):
    path = tmp_path / "wide.csv"
    _wide(clean(4)[["subject", "arm", "visit", "pain", "age", "sex"]], spelling).to_csv(path, index=False)
    assert re.search(r"look like one outcome at several visits: map each to <outcome>_w<week>", error(path))


# --- outputs on failure -----------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["analyze"], ["table1"], ["report"]])
def test_a_command_whose_input_fails_writes_nothing(tmp_path, capsys, command):
    bad = tmp_path / "bad.csv"
    bad.write_text(_text(_with(clean(4), "pain", 1, "abc")))
    before = bad.read_bytes()
    out = tmp_path / ("out.html" if command == ["report"] else "out.csv")
    assert main([*command, str(bad), "--out", str(out)]) != 0
    assert "rows 2" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"] and bad.read_bytes() == before


def test_mapping_may_name_a_header_as_written_with_its_spaces(tmp_path):
    d = clean(4)
    path = tmp_path / "padded.csv"
    d.rename(columns={"pain": "Pain ", "subject": " ID"}).to_csv(path, index=False)
    trial = load_file(path, columns={"pain": "Pain ", "subject": " ID"})
    pd.testing.assert_frame_equal(trial.data, expected(d))


def test_a_wide_file_row_is_named_once_in_a_message(tmp_path):
    """A wide row is one long row per visit; a problem names the file's row once and counts file rows."""
    w = _wide(clean(4)[["subject", "arm", "visit", "pain", "age", "sex"]], lambda v: f"pain_w{v}")
    path = tmp_path / "twice.csv"
    pd.concat([w, w.iloc[[1]]]).to_csv(path, index=False)
    assert "duplicate subject-visit rows: expected one row per subject and visit (rows 2, 5; 2 in all)" in error(path)


def test_stata_labels_with_one_stray_code_keep_the_labels(tmp_path):
    """More labels than unlabelled values: the labels apply and only the stray code's row is reported."""
    d = clean(4).assign(arm=lambda f: f.arm.map({a: i for i, a in enumerate(ARMS)}))
    d.loc[4, "arm"] = 7
    path = tmp_path / "stray.dta"
    d.to_stata(path, write_index=False, value_labels={"arm": {0: "P", 1: "A", 2: "B", 3: "UC"}})
    message = error(path, arms={"P": "physio", "A": "acupuncture", "B": "combined", "UC": "control"})
    assert "unknown arm labels ['7']" in message and "(rows 5; 1 in all)" in message
