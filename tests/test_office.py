"""Word and Excel exports: same numbers as the Markdown export, injection-safe text, atomic writes."""

import math

import numpy as np
import pandas as pd
import pytest

from combotherapy import DataError, export, office

docx = pytest.importorskip("docx", reason="python-docx is in the test extra")
openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture
def tables():
    contrasts = pd.DataFrame({
        "contrast": ["combined - physio", "combined - acupuncture", "=HYPERLINK(\"http://x\")"],
        "estimate": [-1.2345678, 0.000123456, 12.5],
        "se": [0.31, 0.29, np.nan],
        "df": [87.0, 87.0, np.inf],
        "p": [1.2e-5, 0.04, 1.0],
        "n": np.array([30, 29, 31], dtype=np.int64),
        "significant": [True, False, False],
    })
    lsmeans = pd.DataFrame({"arm": ["physio", "combined"], "estimate": [4.0, 2.8]})
    return {"contrasts": contrasts, "lsmeans": lsmeans}


def _docx_cells(table):
    return [[c.text for c in row.cells] for row in table.rows]


def test_docx_holds_the_markdown_numbers(tables, tmp_path):
    path = office.to_docx(tables, tmp_path / "r.docx", title="ANCOVA", notes=["Holm-adjusted."])
    doc = docx.Document(path)
    assert doc.paragraphs[0].text == "ANCOVA"
    assert len(doc.tables) == 2
    for table, frame in zip(doc.tables, tables.values()):
        cells = _docx_cells(table)
        md = export.to_markdown(frame).splitlines()
        md_rows = [[c.strip().replace("\\|", "|") for c in line.strip("|").split(" | ")] for line in md[2:]]
        assert cells[0] == list(frame.columns)
        assert [[c.strip() for c in r] for r in cells[1:]] == md_rows
    assert "Holm-adjusted." in [p.text for p in doc.paragraphs]


def test_xlsx_keeps_numbers_exact_and_neutralises_formulas(tables, tmp_path):
    path = office.to_xlsx(tables, tmp_path / "r.xlsx", title="ANCOVA", notes=["n = 90"])
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["contrasts", "lsmeans"]
    ws = wb["contrasts"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "ANCOVA"
    assert list(rows[2][:7]) == ["contrast", "estimate", "se", "df", "p", "n", "significant"]
    assert rows[3][1] == -1.2345678                      # exact, only the display is rounded
    assert rows[5][0] == "'=HYPERLINK(\"http://x\")"     # text that would run as a formula
    assert rows[5][2] is None and rows[5][3] == "inf"    # NaN blank, inf as text (Excel has no inf)
    assert rows[3][5] == 30 and rows[3][6] is True
    assert any(r[0] == "n = 90" for r in rows)
    assert ws.cell(row=4, column=2).number_format == "0.00"


def test_neutralise_only_touches_text():
    assert office.neutralise_cell(-1.5) == -1.5
    assert office.neutralise_cell("-1.5") == "'-1.5"
    for bad in ("=cmd|' /C calc'!A0", "+1", "@SUM(A1)", "\tx", "\rx"):
        assert office.neutralise_cell(bad).startswith("'")
    assert office.neutralise_cell("physio") == "physio"


def test_sheet_names_are_valid_and_unique(tmp_path):
    frame = pd.DataFrame({"x": [1.0]})
    long = "a very long table name that Excel would refuse: too long"
    path = office.to_xlsx({long: frame, long + "!": frame, "a/b": frame}, tmp_path / "t.xlsx")
    names = openpyxl.load_workbook(path).sheetnames
    assert all(len(n) <= 31 for n in names) and len(set(n.lower() for n in names)) == 3
    assert "a_b" in names


def test_a_single_frame_and_bad_input(tmp_path):
    path = office.to_docx(pd.DataFrame({"x": [math.pi]}), tmp_path / "one.docx")
    assert docx.Document(path).tables[0].cell(1, 0).text == "3.14"
    with pytest.raises(DataError, match="DataFrames"):
        office.to_xlsx({"t": [1, 2]}, tmp_path / "bad.xlsx")
    with pytest.raises(DataError, match="no tables"):
        office.to_docx({}, tmp_path / "none.docx")
    assert not (tmp_path / "bad.xlsx").exists() and not (tmp_path / "none.docx").exists()


def test_a_failed_write_leaves_the_old_file(tables, tmp_path, monkeypatch):
    target = tmp_path / "r.xlsx"
    target.write_bytes(b"old")

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(openpyxl.Workbook, "save", boom)
    with pytest.raises(RuntimeError):
        office.to_xlsx(tables, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]


def test_docstring_examples(tmp_path, monkeypatch):
    import doctest
    monkeypatch.chdir(tmp_path)
    assert doctest.testmod(office, optionflags=doctest.ELLIPSIS).failed == 0
