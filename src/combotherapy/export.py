"""Tables as Markdown, HTML, LaTeX and CSV text, and writing them to files.

Kept free of optional dependencies (no tabulate, no jinja2): the formats are simple enough.
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path

import pandas as pd

from .files import write_text

__all__ = ["format_value", "to_markdown", "to_html", "to_latex", "to_csv", "export_table"]


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


def to_markdown(df: pd.DataFrame, digits: int = 3, index: bool = False) -> str:
    header, rows = _cells(df, digits, index)
    esc = [[c.replace("|", "\\|") for c in r] for r in [header] + rows]
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
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in s)


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


def to_csv(df: pd.DataFrame, index: bool = False) -> str:
    return df.to_csv(index=index, lineterminator="\n")


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
