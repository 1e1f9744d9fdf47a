"""Tables as Word (.docx) and Excel (.xlsx) files, where most clinical co-authors read them.

Optional: Word output needs ``python-docx`` (``pip install "combotherapy[office]"``); Excel output uses openpyxl,
which the package already needs to read workbooks. Both writers take one or more named DataFrames, so a result's
tables, Table 1 and the claims table are written the same way.

Numbers are formatted exactly as in the Markdown export (:func:`combotherapy.export.format_value`) in Word; in Excel
they stay numbers (full precision, with a display format), so a co-author can compute with them. Text cells that a
spreadsheet would run as a formula (leading ``= + - @``, tab or carriage return) are neutralised with a leading
single quote, as OWASP recommends against spreadsheet formula injection. Files are written whole or
not at all (a temporary file renamed over the target, see :mod:`combotherapy.files`).

Example
-------
>>> import pandas as pd, tempfile, pathlib
>>> tables = {"contrasts": pd.DataFrame({"contrast": ["combined - physio"], "estimate": [-1.234567]})}
>>> out = pathlib.Path(tempfile.mkdtemp()) / "result.xlsx"
>>> _ = to_xlsx(tables, out, title="ANCOVA of pain at week 12")
>>> import openpyxl
>>> openpyxl.load_workbook(out)["contrasts"]["B4"].value
-1.234567
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .export import format_value
from .files import write_bytes

__all__ = ["to_docx", "to_xlsx", "neutralise_cell", "OFFICE_SUFFIXES"]

#: file suffixes the Office writers handle
OFFICE_SUFFIXES = (".docx", ".xlsx")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def neutralise_cell(value: object) -> object:
    """A text cell a spreadsheet would evaluate (``=cmd|...``, ``+1``, ``@SUM``) prefixed with ``'``; others as is.

    Only text is touched: the number ``-1.5`` stays a number, the text ``"-1.5"`` becomes ``"'-1.5"`` (a spreadsheet
    shows it as text either way).
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _tables(tables: pd.DataFrame | Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    if isinstance(tables, pd.DataFrame):
        return {"table": tables}
    out = {str(k): v for k, v in tables.items()}
    bad = [k for k, v in out.items() if not isinstance(v, pd.DataFrame)]
    if bad:
        raise DataError(f"to_docx/to_xlsx take DataFrames; {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not")
    if not out:
        raise DataError("nothing to write: no tables were given")
    return out


def _sheet_names(names: Sequence[str]) -> list[str]:
    """Excel sheet names: at most 31 characters, none of ``[]:*?/\\``, unique (case-insensitive)."""
    used: set[str] = set()
    out = []
    for name in names:
        base = _SHEET_BAD.sub("_", name).strip("'")[:31] or "table"
        candidate, k = base, 2
        while candidate.lower() in used:
            suffix = f" ({k})"
            candidate, k = base[: 31 - len(suffix)] + suffix, k + 1
        used.add(candidate.lower())
        out.append(candidate)
    return out


def _excel_value(v: object) -> object:
    """A cell for openpyxl: numbers as numbers (inf and NaN as text/blank, which Excel cannot store), text neutralised."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    return neutralise_cell(str(v))


def to_xlsx(tables: pd.DataFrame | Mapping[str, pd.DataFrame], path: str | os.PathLike, *, title: str | None = None,
            notes: Sequence[str] = (), digits: int = 3, index: bool = False) -> Path:
    """Write tables to an Excel workbook, one sheet per table.

    Parameters
    ----------
    tables : DataFrame or mapping of name to DataFrame
        The tables; the names become sheet names (shortened to Excel's 31 characters, made unique).
    path : str or path-like
        The ``.xlsx`` file to write (atomically).
    title : str, optional
        A first row on every sheet naming the analysis.
    notes : sequence of str
        Sentences written under each table.
    digits : int
        Significant digits of the display format (the stored numbers keep full precision).
    index : bool
        Write the frames' index as leading columns.

    Returns
    -------
    pathlib.Path
        The file written.

    Notes
    -----
    Stored numbers are exact (a co-author can recompute from them); only their display is rounded. Text cells that
    a spreadsheet would evaluate as a formula are prefixed with ``'``. Infinite bounds (one-sided intervals) are
    written as the text ``inf``/``-inf``; missing values as empty cells.

    References
    ----------
    OWASP. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> p = to_xlsx(pd.DataFrame({"arm": ["physio"], "n": [30]}), pathlib.Path(tempfile.mkdtemp()) / "t.xlsx")
    >>> p.suffix
    '.xlsx'
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    frames = _tables(tables)
    wb = Workbook()
    wb.remove(wb.active)
    number_format = "0." + "0" * max(digits - 1, 0) if digits > 1 else "0"
    for sheet, frame in zip(_sheet_names(list(frames)), frames.values()):
        ws = wb.create_sheet(sheet)
        data = frame.reset_index() if index else frame
        row = 1
        if title:
            ws.cell(row=row, column=1, value=neutralise_cell(title)).font = Font(bold=True)
            row += 2
        for j, col in enumerate(data.columns, start=1):
            ws.cell(row=row, column=j, value=neutralise_cell(str(col))).font = Font(bold=True)
        for values in data.itertuples(index=False, name=None):
            row += 1
            for j, v in enumerate(values, start=1):
                cell = ws.cell(row=row, column=j, value=_excel_value(v))
                if isinstance(cell.value, float) and not float(cell.value).is_integer():
                    cell.number_format = number_format if abs(cell.value) >= 1e-3 else "0.00E+00"
        for k, note in enumerate(notes):
            row += 2 if k == 0 else 1
            ws.cell(row=row, column=1, value=neutralise_cell(str(note)))
    buffer = io.BytesIO()
    wb.save(buffer)
    return write_bytes(path, buffer.getvalue())


def to_docx(tables: pd.DataFrame | Mapping[str, pd.DataFrame], path: str | os.PathLike, *, title: str | None = None,
            notes: Sequence[str] = (), digits: int = 3, index: bool = False) -> Path:
    """Write tables to a Word document: a heading, one captioned table per frame, then the notes.

    Parameters
    ----------
    tables : DataFrame or mapping of name to DataFrame
        The tables; each name becomes the table's caption.
    path : str or path-like
        The ``.docx`` file to write (atomically).
    title : str, optional
        The document's heading.
    notes : sequence of str
        Sentences written after the tables.
    digits : int
        Significant digits, formatted as the Markdown export does.
    index : bool
        Write the frames' index as leading columns.

    Returns
    -------
    pathlib.Path
        The file written.

    Notes
    -----
    Needs the optional dependency python-docx (``pip install "combotherapy[office]"``); without it a
    :class:`~combotherapy.DataError` says how to install it. Cells hold the same text as the Markdown export, so a
    Word Table 1 and a Markdown Table 1 show the same numbers.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> p = to_docx({"Table 1": pd.DataFrame({"arm": ["physio"], "n": [30]})},
    ...             pathlib.Path(tempfile.mkdtemp()) / "t.docx", title="Baseline")
    >>> import docx
    >>> docx.Document(p).tables[0].cell(1, 1).text
    '30'
    """
    try:
        import docx
    except ImportError as exc:  # an optional extra
        raise DataError('Word output needs python-docx: pip install "combotherapy[office]"') from exc

    frames = _tables(tables)
    document = docx.Document()
    if title:
        document.add_heading(title, level=1)
    for name, frame in frames.items():
        data = frame.reset_index() if index else frame
        document.add_paragraph(name, style="Caption")
        table = document.add_table(rows=1 + len(data), cols=max(len(data.columns), 1))
        table.style = "Table Grid"
        for j, col in enumerate(data.columns):
            cell = table.cell(0, j)
            cell.text = str(col)
            for run in cell.paragraphs[0].runs:
                run.bold = True
        # row.cells once per row: table.cell(i, j) re-walks the whole grid each call (minutes for Table 1)
        for row, values in zip(table.rows[1:], data.itertuples(index=False, name=None)):
            for cell, v in zip(row.cells, values):
                cell.text = format_value(v, digits)
    for note in notes:
        document.add_paragraph(str(note))
    buffer = io.BytesIO()
    document.save(buffer)
    return write_bytes(path, buffer.getvalue())
