"""Readers that never guess: every format's failure is a DataError naming the file, and values come through
as written (SAS zeros, decimal commas, missing-value codes, formula cells, extra sheets)."""

from __future__ import annotations

import datetime
import hashlib

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct


def frame(n: int = 30) -> pd.DataFrame:
    """n subjects x 2 visits, with zeros in the visit and the outcome."""
    subj = np.repeat([f"S{i:03d}" for i in range(n)], 2)
    arms = np.repeat(np.array(["physio", "acupuncture", "combined"])[np.arange(n) % 3], 2)
    return pd.DataFrame({"subject": subj, "arm": arms, "visit": np.tile([0.0, 12.0], n),
                         "pain": np.tile([0.0, 3.5], n), "age": np.repeat(40.0 + np.arange(n) % 20, 2)})


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- SAS transport --------------------------------------------------------------------------------------

def test_xport_zeros_read_as_zero(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / "adqs.xpt"
    pyreadstat.write_xport(frame(), str(path), file_format_version=5)
    t = ct.load(path)
    assert t.visits == [0.0, 12.0]
    assert (t.at(0)["pain"] == 0.0).all() and t.baseline("pain").notna().all()


def test_truncated_xport_is_a_data_error(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / "adqs.xpt"
    pyreadstat.write_xport(frame(90), str(path), file_format_version=5)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) // 2 + 7, len(data) - 81):
        short = tmp_path / f"cut{cut}.xpt"
        short.write_bytes(data[:cut])
        with pytest.raises(ct.DataError, match=rf"cut{cut}\.xpt.*truncated"):
            ct.load(short)


# --- SPSS -----------------------------------------------------------------------------------------------

def test_spss_sav_with_value_labels_and_user_missing(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    raw = frame(6).assign(arm=np.repeat([1.0, 2.0, 3.0] * 2, 2))
    raw.loc[3, "pain"] = 99.0
    path = tmp_path / "trial.sav"
    pyreadstat.write_sav(raw, str(path), variable_value_labels={"arm": {1.0: "physio", 2.0: "acupuncture",
                                                                        3.0: "combined"}},
                         missing_ranges={"pain": [99.0]})
    before = digest(path)
    t = ct.load(path)
    assert t.n_subjects == 6 and set(t.arms) == {"physio", "acupuncture", "combined"}
    assert t.data["pain"].isna().sum() == 1 and t.data["pain"].max() == 3.5
    assert digest(path) == before
    cut = tmp_path / "cut.sav"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ct.DataError, match="cut.sav"):
        ct.load(cut)


# --- Excel ----------------------------------------------------------------------------------------------

def test_excel_formula_cells_without_cached_values_are_reported(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["subject", "arm", "visit", "pain"])
    for i, (s, a, v, p) in enumerate(frame(4)[["subject", "arm", "visit", "pain"]].itertuples(index=False)):
        # openpyxl writes formulas without computing them, like most scripts
        sheet.append([s, a, v, f"=1+{p}" if i % 3 == 0 else p])
    path = tmp_path / "formulas.xlsx"
    book.save(path)
    with pytest.raises(ct.DataError, match=r"formulas.xlsx(.|\n)*pain(.|\n)*formula cells without a computed value"):
        ct.load(path)


def test_excel_extra_sheets_are_noted_and_sheet_chooses(tmp_path):
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path) as w:
        frame(3).to_excel(w, sheet_name="data", index=False)
        frame(4).to_excel(w, sheet_name="more", index=False)
    t = ct.load(path)
    assert t.n_subjects == 3
    assert any("'data' of 2" in n and "more" in n and "sheet=" in n for n in t.notes)
    assert ct.load(path, sheet="more").n_subjects == 4 and ct.load(path, sheet=1).n_subjects == 4
    with pytest.raises(ct.DataError, match="no sheet 'nope'"):
        ct.load(path, sheet="nope")


@pytest.mark.parametrize("suffix", [".xlsx", ".dta", ".parquet", ".xpt"])
def test_damaged_binary_files_are_data_errors(tmp_path, suffix):
    path = tmp_path / f"trial{suffix}"
    raw = frame(20)
    if suffix == ".xlsx":
        raw.to_excel(path, index=False)
    elif suffix == ".dta":
        raw.to_stata(path, write_index=False)
    elif suffix == ".parquet":
        raw.to_parquet(path)
    else:
        pyreadstat = pytest.importorskip("pyreadstat")
        pyreadstat.write_xport(raw, str(path), file_format_version=5)
    data = path.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) // 2 + 3])
    with pytest.raises(ct.DataError, match=f"cut{suffix}"):
        ct.load(cut)
    zipped = tmp_path / f"zip{suffix}"
    zipped.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(ct.DataError, match=f"zip{suffix}"):
        ct.load(zipped)


# --- Parquet cell types ---------------------------------------------------------------------------------

def _parquet(tmp_path, **columns) -> object:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    base = {"subject": pa.array(["a", "a", "b", "b"]), "arm": pa.array(["physio", "physio", "control", "control"]),
            "visit": pa.array([0.0, 12.0, 0.0, 12.0]), "pain": pa.array([5.0, 3.0, 6.0, 4.0])}
    base.update(columns)
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(base), path)
    return path


def test_parquet_list_subject_is_an_error_not_zero_subjects(tmp_path):
    pa = pytest.importorskip("pyarrow")
    path = _parquet(tmp_path, subject=pa.array([["a"], ["a"], ["b"], ["b"]]))
    with pytest.raises(ct.DataError, match=r"t.parquet(.|\n)*'subject'.*lists"):
        ct.load(path)


@pytest.mark.parametrize("kind", ["struct_arm", "duration_subject", "bad_utf8"])
def test_parquet_cell_types_are_data_errors(tmp_path, kind):
    pa = pytest.importorskip("pyarrow")
    if kind == "struct_arm":
        path, col, what = _parquet(tmp_path, arm=pa.array([{"x": 1}] * 4)), "arm", "structures"
    elif kind == "duration_subject":
        path, col, what = _parquet(tmp_path, subject=pa.array([datetime.timedelta(days=d) for d in (1, 1, 2, 2)])), \
            "subject", "durations"
    else:
        path, col, what = _parquet(tmp_path, site=pa.array([b"\xff\xfe", b"ok", b"ok", b"ok"], pa.binary())), \
            "site", "UTF-8"
    with pytest.raises(ct.DataError, match=rf"t.parquet(.|\n)*'{col}'.*{what}"):
        ct.load(path)


def test_parquet_binary_utf8_text_is_decoded(tmp_path):
    pa = pytest.importorskip("pyarrow")
    path = _parquet(tmp_path, site=pa.array(["Malmö".encode(), b"Oslo", b"Oslo", b"Oslo"], pa.binary()))
    assert ct.load(path).data["site"].tolist() == ["Malmö", "Oslo", "Oslo", "Oslo"]


# --- text files: separators, decimal commas, missing codes ----------------------------------------------

def test_semicolon_and_decimal_comma_declared_and_detected(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("subject;arm;visit;pain;age\na;physio;0;6,5;67,5\na;physio;12;3;67,5\n"
                    "b;control;0;7;51\nb;control;12;6,25;51\n", encoding="utf-8")
    with pytest.raises(ct.DataError, match="sep=';'"):
        ct.load(path)
    t = ct.load(path, sep=";", decimal=",")
    assert t.data["pain"].tolist() == [6.5, 3.0, 7.0, 6.25] and t.data["age"].tolist() == [67.5, 67.5, 51, 51]
    # detected but not declared: reported, never kept as a text covariate or a non-number
    with pytest.raises(ct.DataError, match=r"(?s)'age': numbers written with a decimal comma.*decimal=','"):
        ct.load(path, sep=";")
    with pytest.raises(ct.DataError, match=r"'pain'.*decimal comma"):
        ct.load(path, sep=";")


def test_declared_missing_codes_per_column(tmp_path):
    raw = frame(4).astype({"pain": object})
    raw.loc[1, "pain"], raw.loc[3, "pain"], raw.loc[0, "age"] = -99, "999", -1
    with pytest.raises(ct.DataError, match="'pain'"):
        ct.load(raw)
    t = ct.load(raw, missing={"pain": [-99, 999], "age": [-1]})
    assert t.data["pain"].isna().sum() == 2 and t.data["age"].isna().sum() == 1
    assert any("'pain': 2 cells" in n for n in t.notes)
    with pytest.raises(ct.DataError, match="'pian'.*no such column"):
        ct.load(raw, missing={"pian": [-99]})
    with pytest.raises(ct.DataError, match="missing= must map"):
        ct.load(raw, missing={"pain": -99})


# --- labels, covariates, reserved names, mappings -------------------------------------------------------

def test_negative_week_labels_are_refused_like_negative_numbers():
    raw = frame(3).astype({"visit": object})
    raw.loc[0, "visit"] = "Week -2"
    with pytest.raises(ct.DataError, match=r"'Week -2' are negative visit times.*\(rows 1;"):
        ct.load(raw)
    raw.loc[0, "visit"] = "Week-0"
    assert ct.load(raw).visits == [0.0, 12.0]


def test_impossible_covariate_values():
    raw = frame(3)
    raw.loc[[0, 1], "age"] = -5
    with pytest.raises(ct.DataError, match=r"'age': impossible values.*\(rows 1, 2"):
        ct.load(raw)


@pytest.mark.parametrize("name", ["_row", "_order", "__row", "index"])
def test_user_columns_never_collide_with_internal_names(tmp_path, name):
    raw = frame(3).assign(**{name: np.arange(6) * 2})
    path = tmp_path / "x.csv"
    raw.to_csv(path, index=False)
    t = ct.load(path)
    assert t.data[name].tolist() == list(np.arange(6) * 2)


def test_two_roles_mapped_to_one_column_and_bad_instrument_bounds():
    with pytest.raises(ct.DataError, match=r"'subject'.*maps one column to 2 names \['subject', 'arm'\]"):
        ct.load(frame(3), columns={"subject": "subject", "arm": "subject"})
    with pytest.raises(ValueError, match="low must be a number"):
        ct.Instrument(low="zero")
    with pytest.raises(ValueError, match="high must be a number"):
        ct.Instrument(high=None or "10")


@pytest.mark.parametrize("mapping", [
    {"outcomes": {"headache": {"low": "zero", "better": "lower"}}},
    {"outcomes": {"headache": {"high": [10]}}},
    {"columns": {"subject": "pid", "arm": "pid"}},
])
def test_mapping_files_with_bad_bounds_or_two_roles_are_data_errors(tmp_path, capsys, mapping):
    import json

    from combotherapy.cli import EXIT_DATA, main

    data = tmp_path / "t.csv"
    frame(3).rename(columns={"subject": "pid"}).assign(headache=1.0).to_csv(data, index=False)
    spec = tmp_path / "map.json"
    spec.write_text(json.dumps(mapping))
    assert main(["validate", str(data), "--mapping", str(spec)]) == EXIT_DATA
    assert "internal error" not in capsys.readouterr().err


def test_xport_version_8_is_read_with_zeros(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / "v8.xpt"
    pyreadstat.write_xport(frame(), str(path), file_format_version=8)
    t = ct.load(path)
    assert t.visits == [0.0, 12.0] and (t.at(0)["pain"] == 0.0).all()
