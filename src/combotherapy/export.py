"""Tables as Markdown, HTML, LaTeX and CSV text, and writing them to files.

Kept free of optional dependencies (no tabulate, no jinja2): the formats are simple enough.

Cells can carry text from the user's file (labels, arm names, column names), so every format escapes them for
where they go: Markdown cells cannot leave their table (no line breaks, no raw HTML, no links), and CSV text cells
cannot become spreadsheet formulas (:func:`spreadsheet_safe`; an Excel writer uses the same function).
"""

from __future__ import annotations

import html
import math
import os
import re
from pathlib import Path

import pandas as pd

from .files import write_text

__all__ = ["format_value", "to_markdown", "to_html", "to_latex", "to_csv", "export_table", "spreadsheet_safe",
           "spreadsheet_cell", "markdown_cell"]


def format_value(v: object, digits: int = 3) -> str:
    """A cell as text: numbers to ``digits`` significant digits, missing as empty."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if float(v).is_integer() and abs(v) < 1e6:
            return f"{v:.0f}"
        if abs(v) < 1e-3 or abs(v) >= 1e6:
            return f"{v:.{digits}g}"
        # ``digits`` significant digits, but never fewer than one decimal for numbers >= 1
        decimals = max(digits - len(str(int(abs(v)))), 1) if abs(v) >= 1 else digits
        text = f"{v:.{decimals}f}" if abs(v) >= 1 else f"{v:.{digits}g}"
        return text
    return str(v)


def _cells(df: pd.DataFrame, digits: int, index: bool) -> tuple[list[str], list[list[str]]]:
    frame = df.reset_index() if index else df
    header = [str(c) for c in frame.columns]
    rows = [[format_value(v, digits) for v in row] for row in frame.itertuples(index=False, name=None)]
    return header, rows


# line breaks of every kind (a cell is one line of the table) and other control characters
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
# what CommonMark would read as raw HTML (a tag, comment, declaration, processing instruction) or an entity;
# "< 3 months" and ">= 60" stay readable
_HTML_START = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=[A-Za-z#])")


def markdown_cell(text: str) -> str:
    """One table cell as inert Markdown text.

    Line breaks become spaces and control characters go, so a cell cannot leave its row (no headings, lists or
    link definitions on a line of its own); ``\\`` and ``|`` are escaped so the cell cannot split; the start of raw
    HTML (``<`` before a letter, ``/``, ``!`` or ``?``) and of entities becomes ``&lt;`` / ``&amp;``; ``](`` becomes
    ``]\\(`` so no inline link or image (``javascript:`` or any other) can form. Text such as ``arm[combined]``,
    ``< 40`` or ``>= 60`` is unchanged.

    Example
    -------
    >>> markdown_cell("a\\n# b <script>x</script> [go](javascript:x) | c")
    'a # b &lt;script>x&lt;/script> [go]\\\\(javascript:x) \\\\| c'
    """
    text = _CONTROL.sub("", _LINE_BREAKS.sub(" ", str(text)))
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("](", "]\\(")
    return _HTML_START.sub("&lt;", _ENTITY.sub("&amp;", text))


def to_markdown(df: pd.DataFrame, digits: int = 3, index: bool = False) -> str:
    """A GitHub-flavoured Markdown table; every cell (and header) passes through :func:`markdown_cell`."""
    header, rows = _cells(df, digits, index)
    esc = [[markdown_cell(c) for c in r] for r in [header] + rows]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in esc[1:]]
    return "\n".join(lines) + "\n"


def to_html(df: pd.DataFrame, digits: int = 3, index: bool = False, caption: str | None = None) -> str:
    header, rows = _cells(df, digits, index)
    out = ['<table class="combotherapy">']
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead>")
    out.append("<tbody>")
    out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows]
    out.append("</tbody></table>")
    return "\n".join(out) + "\n"


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def _latex_escape(s: str) -> str:
    # a line break inside a cell would end the row's paragraph (a blank line is an error in a tabular)
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in _CONTROL.sub("", _LINE_BREAKS.sub(" ", s)))


def to_latex(df: pd.DataFrame, digits: int = 3, index: bool = False, caption: str | None = None) -> str:
    header, rows = _cells(df, digits, index)
    out = [r"\begin{table}[ht]", r"\centering"]
    if caption:
        out.append(r"\caption{" + _latex_escape(caption) + "}")
    out += [r"\begin{tabular}{" + "l" * len(header) + "}", r"\hline",
            " & ".join(_latex_escape(h) for h in header) + r" \\", r"\hline"]
    out += [" & ".join(_latex_escape(c) for c in r) + r" \\" for r in rows]
    out += [r"\hline", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


# characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"); tab and line breaks as well,
# since some spreadsheets strip them and then see the character after
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# text that is a number, possibly with a bracketed list of numbers after it ("-1.5", "-0.2 (-0.5 to 0.1)", "+3%"):
# a spreadsheet reads such a cell as a number or as text, never as a formula that runs something
_NUMBER_TEXT = re.compile(r"[+-]?(\d[\d,]*\.?\d*|\.\d+)(e[+-]?\d+)?%?"
                          r"(\s*[(\[][\d\s.,%+\-;:]*(to|-|\u2013)?[\d\s.,%+\-;:]*[)\]])?", re.IGNORECASE)


def spreadsheet_cell(value: object) -> object:
    """A value as it is safe to hand to a spreadsheet: text starting like a formula gets a leading ``'``.

    Numbers (and missing values) pass unchanged, so ``-1.5`` stays a number; text starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a line break is prefixed with an apostrophe (shown as text, never evaluated),
    except text that is itself a number such as ``"-1.5"`` or ``"-0.2 (-0.5 to 0.1)"``. Carriage returns in
    text become line feeds: CSV writers quote a field with a line feed but not one with a lone carriage return,
    which readers then take for the end of the row.

    Example
    -------
    >>> [spreadsheet_cell(v) for v in ["=HYPERLINK(x)", "@SUM(A1)", "-1.5", -1.5, "-2+3+cmd|' /C calc'!A0", "ok"]]
    ["'=HYPERLINK(x)", "'@SUM(A1)", '-1.5', -1.5, "'-2+3+cmd|' /C calc'!A0", 'ok']
    """
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if not value.startswith(_FORMULA_START):
        return value
    if value[0] in "+-" and _NUMBER_TEXT.fullmatch(value):
        return value
    return "'" + value


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells, column names and index labels pass through :func:`spreadsheet_cell`.

    Numeric columns are not touched (vectorised: only object/string columns are mapped).
    """
    out = df.copy()
    for i in range(out.shape[1]):  # by position: column names may repeat
        values = out.iloc[:, i]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
                or pd.api.types.is_datetime64_any_dtype(values)):
            as_object = values.astype(object)
            out.isetitem(i, as_object.map(spreadsheet_cell, na_action="ignore"))
    out.columns = [spreadsheet_cell(c) if isinstance(c, str) else c for c in out.columns]
    if not isinstance(out.index, pd.RangeIndex):
        out.index = out.index.map(lambda v: spreadsheet_cell(v) if isinstance(v, str) else v)
    return out


def to_csv(df: pd.DataFrame, index: bool = False) -> str:
    """CSV text (``\\n`` line ends) with formula-like text cells neutralised (:func:`spreadsheet_safe`)."""
    return spreadsheet_safe(df).to_csv(index=index, lineterminator="\n")


_WRITERS = {".md": to_markdown, ".html": to_html, ".htm": to_html, ".tex": to_latex}


def export_table(df: pd.DataFrame, path: str | os.PathLike, digits: int = 3, index: bool = False) -> Path:
    """Write ``df`` to ``path``; the format follows the suffix (.md, .html, .tex, .csv). Atomic."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = to_csv(df, index=index)
    elif suffix in _WRITERS:
        text = _WRITERS[suffix](df, digits=digits, index=index)
    else:
        raise ValueError(f"unknown table format {suffix!r}: use .md, .html, .tex or .csv")
    return write_text(path, text)
