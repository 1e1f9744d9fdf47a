"""Readers: a path or a DataFrame in, a raw DataFrame of cells out.

Text formats are read as text (no type guessing by pandas), so that the validator can say
exactly which cells are not numbers; binary formats keep their types. Files are only read,
never written. Every failure of a reader, whatever the library raised, becomes a
:class:`~combotherapy.DataError` that names the file and the problem.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, ProblemCollector
from .arrow_text import coded_frame
from .cells import check_cells, clean_name, read_decimal_commas, shown_name

__all__ = ["read_source", "read_table", "Source", "MISSING_TOKENS", "SUFFIXES"]

#: cell texts that mean "missing" in exports from R, SAS, Stata, Excel and hand-made sheets
MISSING_TOKENS = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", ".", "NULL"})

SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".xlsx", ".xlsm", ".dta", ".sas7bdat", ".xpt", ".sav",
            ".zsav")

#: pandas' XPORT reader turns the IBM float zero into 2**-260 (5.397605e-79); no real measurement is that
_XPORT_ZERO = 5.397605346934028e-79
_XPORT_OBS = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"
_XPORT_NAMESTR = b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!"


@dataclass
class Source:
    """What a reader produced: the cells, a short name for messages, and notes on what it decided."""

    frame: pd.DataFrame
    name: str
    notes: list[str] = field(default_factory=list)
    #: positions of the columns read as codes of their text (``coded=True``): each is a pandas Categorical whose
    #: categories are the cells' text as written (CSV) or as stored (Parquet strings), and whose dtype the
    #: careful path would have seen is in ``text_dtypes``
    coded: tuple[int, ...] = ()
    text_dtypes: dict[int, object] = field(default_factory=dict)


def _read_text(path: Path, sep: str, encoding: str | None) -> pd.DataFrame:
    enc = encoding or "utf-8-sig"  # utf-8-sig also strips a UTF-8 byte-order mark
    try:
        # blank lines are kept (as empty rows, ignored later with a note) so that row numbers in messages
        # are the file's data rows: pandas would otherwise skip them and shift every later row number
        # object cells (one 2-D block) rather than pandas 3 arrow strings (one block per column): a 10,000-column
        # file then costs one pass over its cells, not 10,000 per-column calls in every later step
        return pd.read_csv(path, sep=sep, dtype=object, keep_default_na=False, encoding=enc,
                           skipinitialspace=False, on_bad_lines="error", skip_blank_lines=False)
    except UnicodeDecodeError as e:
        raise DataError(
            f"cannot read {path.name}: the file is not valid {enc} text (byte {e.start}). "
            "Save it as UTF-8, or pass encoding= (for example encoding='latin-1' or 'cp1252').",
            arguments=("encoding",)) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name} is empty: it has no header and no rows.") from None
    except pd.errors.ParserError as e:
        raise DataError(f"cannot parse {path.name} as delimited text: {_short(e)}") from None
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}; use a Python codec name such as 'utf-8' or 'latin-1'") from None


#: the fast readers are used on tall files: at least this many rows per column
_TALL = 10

_UTF8 = {None, "utf-8", "utf8", "utf-8-sig", "utf_8", "utf_8_sig", "UTF-8", "UTF8", "UTF-8-SIG"}


def _read_text_coded(path: Path, sep: str, encoding: str | None) -> pd.DataFrame | None:
    """The fast reader of a text file: every column as the codes of its distinct texts (Arrow's CSV reader).

    The cells are exactly the text the careful reader (:func:`_read_text`) gets: no type inference, no missing
    values (empty cells are empty text), blank lines kept as empty rows. Returns None whenever the file is not
    plainly rectangular UTF-8 text with unique, non-empty headers (ragged rows, a whitespace-only line, a bad
    byte, a header pandas would rename...): the careful reader then reads it and reports what it finds.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if encoding not in _UTF8:
        return None
    try:
        names, rows = _header_names(path, sep)
        if not names or len(set(names)) < len(names) or any(not n for n in names) or rows < _TALL * len(names):
            return None  # a wide file (few rows, many columns) gains nothing from codes: read as text
        text = pa.dictionary(pa.int32(), pa.string())
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=sep, ignore_empty_lines=False,
                                             newlines_in_values=_holds(path, b'"')),
            convert_options=pacsv.ConvertOptions(column_types={n: text for n in names}, strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False, null_values=[]))
    except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError, csv.Error):
        return None
    if table.num_rows == 0 or table.column_names != names:
        return None
    return coded_frame(table)


def _header_names(path: Path, sep: str) -> tuple[list[str] | None, float]:
    """The header row's names, as Python's csv module reads the first record (None if it cannot), and a rough
    count of the rows (the file's size over the length of its first lines)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        head = fh.read(1 << 20)
    rows = csv.reader(io.StringIO(head), delimiter=sep)
    first = next(rows, None)
    if first is None or ("\n" not in head and "\r" not in head and len(head) == 1 << 20):
        return None, 0.0
    lines = head.count("\n") or 1
    return first, path.stat().st_size / max(len(head.encode("utf-8")) / lines, 1.0)


def _holds(path: Path, needle: bytes) -> bool:
    """Does the file hold these bytes anywhere (a quote: values may then hold line breaks)?"""
    import mmap

    with open(path, "rb") as fh:
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return mm.find(needle) >= 0


def _read_parquet_coded(path: Path) -> tuple[pd.DataFrame, tuple[int, ...], dict[int, object]] | None:
    """Parquet with its string columns read as codes of their distinct values (other columns as pandas reads them).

    Returns None when the file has no plain string column, or anything unusual (then it is read as before).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError):
        return None
    meta = schema.pandas_metadata or {}
    index = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    strings = [f.name for f in schema if f.name not in index
               and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]
    if not strings or len(set(schema.names)) < len(schema.names):
        return None
    try:
        if pq.read_metadata(path).num_rows < _TALL * len(schema.names):
            return None
    except (pa.ArrowException, OSError):
        return None
    others = [n for n in schema.names if n not in set(strings)]
    if index or not others:
        frame = pd.read_parquet(path, read_dictionary=strings)
    else:
        # the other columns as pandas reads them; the text columns straight from Arrow as codes (pandas' own
        # conversion would hash every column's merged dictionary again to check it)
        rest, text = _parquet_parts(path, others, strings)
        if not isinstance(rest.index, pd.RangeIndex) or len(rest) != text.num_rows:
            frame = pd.read_parquet(path, read_dictionary=strings)
        else:
            coded_text = coded_frame(text)
            frame = pd.DataFrame({n: coded_text[n] if n in coded_text.columns else rest[n] for n in schema.names},
                                 index=rest.index, copy=False)
    coded = tuple(i for i, c in enumerate(frame.columns) if c in set(strings)
                  and isinstance(frame.dtypes.iloc[i], pd.CategoricalDtype))
    return frame, coded, {i: pd.StringDtype(na_value=np.nan) for i in coded}


def _parquet_parts(path: Path, others: list[str], strings: list[str]):
    """The file's other columns as ``pd.read_parquet(path, columns=others)`` gives them, and its text columns as an
    Arrow table of dictionaries: one read of the file, converted by the function pandas' reader calls (when this
    pandas has it; else two reads)."""
    import pyarrow.parquet as pq

    try:
        from pandas.io._util import arrow_table_to_pandas  # what pd.read_parquet converts with (pandas >= 2.2)
    except ImportError:  # pragma: no cover - another pandas: its reader, then Arrow for the text
        return pd.read_parquet(path, columns=others), pq.read_table(path, columns=strings, read_dictionary=strings)
    # read_parquet's own arguments: pandas' metadata (index, column types) restores the frame as it was written
    table = pq.read_table(path, read_dictionary=strings, use_pandas_metadata=True)
    return arrow_table_to_pandas(table.select(others)), table.select(strings)


def _header_cells(path: Path, suffix: str, sep: str, encoding: str | None, sheet) -> list[str] | None:
    """The header row as written: pandas renames a repeated name 'pain' to 'pain.1', which would hide it."""
    if suffix in (".xlsx", ".xlsm"):
        head = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, header=None, nrows=1, dtype=object)
    else:
        head = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False,
                           encoding=encoding or "utf-8-sig")
    return None if head.empty else ["" if pd.isna(c) else str(c) for c in head.iloc[0]]


def _maybe_mangled(columns) -> bool:
    """True when a name looks like pandas' rename of a repeat ('pain.1' next to 'pain'): only then is the
    header read again (reading a large workbook twice is slow)."""
    names = {str(c) for c in columns}
    return any(c.rpartition(".")[0] in names for c in names if c.rpartition(".")[2].isdigit())


def _restore_repeated_names(frame: pd.DataFrame, header: list[str] | None) -> pd.DataFrame:
    names = [h.lstrip("\ufeff").strip() for h in header or []]
    if len(names) == frame.shape[1] and len(set(n for n in names if n)) < len([n for n in names if n]):
        frame = frame.copy()
        # repeated names come back as written, so that validation reports them; blank ones keep pandas' name
        frame.columns = [n if n else c for n, c in zip(names, frame.columns)]
    return frame


def _short(error: BaseException) -> str:
    """A library's message, one line, control characters removed and length bounded (it may quote cells)."""
    text = clean_name(" ".join(str(error).split()))
    return text[:200] + ("..." if len(text) > 200 else "")


# --- Excel -------------------------------------------------------------------------------------------------

#: what a spreadsheet shows in a cell whose formula failed; openpyxl gives them as this text
_EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                           "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"})


def _read_excel(path: Path, sheet) -> tuple[pd.DataFrame, list[str]]:
    """One sheet of a workbook, with a note naming the sheets not read, and formula cells that carry no
    computed value reported (a workbook written by a script holds formulas that no spreadsheet has computed:
    read naively they would be missing values)."""
    import openpyxl

    notes: list[str] = []
    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        names = book.sheetnames
        if sheet is None:
            chosen = names[0]
        elif isinstance(sheet, int) and not isinstance(sheet, bool):
            if not 0 <= sheet < len(names):
                raise DataError(f"{path.name} has {len(names)} sheet(s); sheet={sheet} is not one of them "
                                f"(0 = the first)")
            chosen = names[sheet]
        elif sheet in names:
            chosen = sheet
        else:
            # sheet names are printed before the identifier guard runs: one named after a patient is withheld
            raise DataError(f"{path.name} has no sheet {clean_name(sheet)!r}; its sheets are "
                            f"{[shown_name(n, i, 'sheet') for i, n in enumerate(names)]}")
        if sheet is None and len(names) > 1:
            others = [shown_name(n, i + 1, "sheet") for i, n in enumerate(names[1:])]
            notes.append(f"{path.name}: read the first sheet '{shown_name(chosen, 0, 'sheet')}' of {len(names)}; not read: "
                         f"{others} (choose another with sheet=)")
        cells = list(book[chosen].iter_rows(values_only=True))
        formulas = [[isinstance(v, str) and v.startswith("=") for v in row] for row in cells]
        errors = [(i, j, v) for i, row in enumerate(cells[1:]) for j, v in enumerate(row)
                  if isinstance(v, str) and v in _EXCEL_ERRORS]
    finally:
        book.close()
    # only blank cells are missing here, as in a CSV: pandas' default list would also read the text 'None', 'null',
    # '#N/A', '<NA>', '-nan' ... as missing without a word (the validator's MISSING_TOKENS decide, for every format)
    frame = pd.read_excel(path, sheet_name=chosen, dtype=object, keep_default_na=False, na_values=[""])
    if errors:
        # error cells (#DIV/0!, #N/A, #VALUE! ...) are read by pandas as missing: they are put back as the text a CSV
        # export of the sheet holds, so that they are reported (or declared with missing=), never lost silently
        frame = frame.copy()
        for i, j, v in errors:  # a loop over error cells only (few), not over the sheet
            if i < frame.shape[0] and j < frame.shape[1] and pd.isna(frame.iat[i, j]):
                frame.iat[i, j] = v
    if formulas and len(formulas) > 1:
        width = max(len(r) for r in formulas)
        grid = np.array([r + [False] * (width - len(r)) for r in formulas[1:]], dtype=bool)
        grid = grid[: frame.shape[0], : frame.shape[1]]
        lost = grid & frame.isna().to_numpy()[: grid.shape[0], : grid.shape[1]]
        if lost.any():
            problems = ProblemCollector()
            for j in np.flatnonzero(lost.any(axis=0)):
                rows = np.flatnonzero(lost[:, j])
                problems.add(shown_name(frame.columns[j], int(j)), "formula cells without a computed value (the workbook was "
                             "written by a program that does not calculate formulas): open and save it in a "
                             "spreadsheet program, or export the values", rows, len(rows))
            problems.raise_if_any(message=f"cannot read {path.name}:")
    return frame, notes


# --- Stata ----------------------------------------------------------------------------------------------

def _read_stata(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """A Stata file with its value labels applied (arm 1/2 read as 'Physio'/'Acupuncture'), except in columns where
    the labels name only some of the values present: those are scale anchors (pain 0 'no pain' ... 10 'worst pain'),
    and applying them would turn the labelled cells of a number column into text (reported as non-numeric). Such
    columns keep their numbers, with a note."""
    frame = pd.read_stata(path, convert_categoricals=True)
    # anchors: most distinct values carry no label (pandas keeps those as numbers among the labels). A column with
    # more labels than unlabelled values (arms 1 'Physio', 2 'Acupuncture' and a stray 3) keeps its labels, so that
    # the stray value is the one reported
    partial = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)
               and _unlabelled_majority(frame[c].cat.categories)]
    if not partial:
        return frame, []
    numbers = pd.read_stata(path, convert_categoricals=False, columns=partial)
    frame = frame.copy()
    for c in partial:
        frame[c] = numbers[c].to_numpy()
    shown = ", ".join(f"'{shown_name(c, list(frame.columns).index(c))}'" for c in partial)
    return frame, [f"{path.name}: value labels of {shown} name only some values (scale anchors): read as numbers"]


def _unlabelled_majority(categories) -> bool:
    numbers = sum(not isinstance(v, str) for v in categories)  # a loop over a column's few categories
    return numbers > len(categories) - numbers


# --- SAS transport -----------------------------------------------------------------------------------------

def _xport_truncated(path: Path) -> str | None:
    """Why a SAS XPORT (v5) file is cut short, or None when its length fits its records.

    The file is a sequence of 80-byte records; observations of a fixed length follow the OBS header and the
    last record is padded with blanks. A file whose length is not a multiple of 80, or that ends inside an
    observation, was truncated. (A cut that falls exactly between observations on a record boundary cannot be
    seen: XPORT v5 stores no observation count.)
    """
    data = path.read_bytes()
    if len(data) % 80:
        return f"its length ({len(data)} bytes) is not a whole number of 80-byte records"
    at = data.find(_XPORT_NAMESTR)
    obs = data.find(_XPORT_OBS)
    if at < 0 or obs < 0:
        return "it has no observation header"
    try:
        nvars = int(data[at + 54: at + 58])
        member = data.rfind(b"HEADER RECORD*******DSCPTR  HEADER RECORD!!!!!!!", 0, at)
        size = int(data[member + 74: member + 78]) if member >= 0 else 140
    except ValueError:
        return "its variable header cannot be read"
    start = at + 80
    lengths = [int.from_bytes(data[start + i * size + 4: start + i * size + 6], "big") for i in range(nvars)]
    width = sum(lengths)
    body = data[obs + 80:]
    if width <= 0:
        return "its variables have no length"
    tail = body[len(body) // width * width:]
    if tail.strip(b" "):
        return f"it ends inside an observation ({len(tail)} of {width} bytes)"
    return None


def _read_xport(path: Path, encoding: str | None) -> pd.DataFrame:
    with open(path, "rb") as fh:
        head = fh.read(80)
    if b"LIBV8" in head:  # version 8 transport (long names): pandas cannot read it, pyreadstat can
        try:
            import pyreadstat
        except ImportError:
            raise DataError(f"{path.name} is a SAS transport file of version 8; reading it needs the package "
                            "pyreadstat (pip install 'combotherapy[spss]'), or export it as version 5") from None
        return pyreadstat.read_xport(str(path), encoding=encoding)[0]
    why = _xport_truncated(path)
    if why:
        raise DataError(f"cannot read {path.name}: the SAS transport file is truncated or damaged ({why}); "
                        "export it again")
    frame = pd.read_sas(path, format="xport", encoding=encoding or "utf-8")
    num = frame.select_dtypes("number")
    zero = np.abs(num.to_numpy(dtype=float)) == _XPORT_ZERO
    if zero.any():  # the known zero bug of pandas' XPORT reader, corrected
        frame[num.columns] = num.mask(zero, 0.0)
    return frame


def _read_spss(path: Path) -> pd.DataFrame:
    try:
        import pyreadstat
    except ImportError:
        raise DataError(f"reading {path.name} (SPSS) needs the package pyreadstat: "
                        "pip install 'combotherapy[spss]'") from None
    # value labels applied, as for Stata files; SPSS user-missing codes read as missing (the file declares them)
    frame, _ = pyreadstat.read_sav(str(path), apply_value_formats=True, user_missing=False)
    return frame


# --- one entry point ---------------------------------------------------------------------------------------

def read_source(source: str | os.PathLike | pd.DataFrame, *, encoding: str | None = None,
                sheet: str | int | None = None, sep: str | None = None,
                decimal: str | None = None) -> tuple[pd.DataFrame, str]:
    """Read ``source`` into a DataFrame; return it with a short name for messages.

    A DataFrame is copied (the caller's frame is never modified). See :func:`read_table` for the notes
    a reader makes on what it decided.
    """
    src = read_table(source, encoding=encoding, sheet=sheet, sep=sep, decimal=decimal)
    return src.frame, src.name


def read_table(source: str | os.PathLike | pd.DataFrame, *, encoding: str | None = None,
               sheet: str | int | None = None, sep: str | None = None, decimal: str | None = None,
               coded: bool = False) -> Source:
    """Read ``source``; the result carries notes (sheets not read, ...). Every failure is a DataError.

    With ``coded=True`` (the loader's fast path) text files and the string columns of Parquet files come back as
    pandas Categoricals of their cells' text, listed in ``Source.coded``; their values are exactly the text the
    default reader gives (``Source.text_dtypes`` says which dtype that is), only stored once per distinct value.
    """
    if decimal not in (None, ".", ","):
        raise DataError(f"decimal must be '.' or ',', not {decimal!r}")
    if sep is not None and (not isinstance(sep, str) or len(sep) != 1):
        raise DataError(f"sep must be one character such as ',', ';' or a tab, not {sep!r}")
    positions: tuple[int, ...] = ()
    dtypes: dict[int, object] = {}
    if isinstance(source, pd.DataFrame):
        frame, name, notes = source.copy(), "DataFrame", []
    else:
        frame, name, notes, positions, dtypes = _read_path(source, encoding, sheet, sep, coded)
    frame, index_notes = _index_as_columns(frame, name)
    notes = [*notes, *index_notes]
    problems = ProblemCollector()
    frame = check_cells(frame, problems, skip=positions)
    problems.raise_if_any(message=f"cannot read {name}:")
    if decimal == ",":
        frame = read_decimal_commas(frame, coded=positions)
    return Source(frame, name, notes, positions, dtypes)


def _index_as_columns(frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[str]]:
    """Named index levels (``df.set_index(["subject", "visit"])``, or a Parquet file written from such a frame) are
    data: they become columns, after the others (the positions of the readers' coded columns stay), with a note.
    Without this they were dropped without a word, and the loader reported 'subject' missing. Unnamed levels are
    row labels and are left out, as before."""
    # a level named like a column (set_index("subject", drop=False)) is a copy of it; levels named alike are
    # ambiguous: both are left out, as every index was before
    counts = pd.Series([str(n) for n in frame.index.names]).value_counts()
    # a named RangeIndex (df.rename_axis("row")) holds only row positions: not data either
    keep = [i for i, n in enumerate(frame.index.names) if n is not None and n not in frame.columns
            and counts[str(n)] == 1 and not isinstance(frame.index, pd.RangeIndex)]
    if not keep:
        return frame, []
    names = [frame.index.names[i] for i in keep]
    levels = [frame.index.get_level_values(i) for i in keep]
    parts = {n: pd.Series(v, name=n, copy=False).set_axis(range(len(frame))) for n, v in zip(names, levels)}
    out = pd.concat([frame.set_axis(range(len(frame)), axis=0), pd.DataFrame(parts, index=range(len(frame)))],
                    axis=1)
    # notes are made before the identifier guard runs: a header that is itself an identifier is withheld
    shown = ", ".join(f"'{shown_name(n, frame.shape[1] + k)}'" for k, n in enumerate(names))
    return out, [f"{name}: the index level{'s' if len(names) > 1 else ''} {shown} read as column"
                 f"{'s' if len(names) > 1 else ''} (a named index holds data)"]


def _read_path(source, encoding, sheet, sep, coded=False) -> tuple[pd.DataFrame, str, list[str], tuple[int, ...],
                                                                  dict[int, object]]:
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(f"source must be a file path or a pandas DataFrame, not {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise DataError(f"file not found: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder; give the path of a data file ({', '.join(SUFFIXES)})")
    if path.stat().st_size == 0:
        raise DataError(f"{path.name} is empty (0 bytes).")
    suffix = path.suffix.lower()
    text_sep = sep or ("," if suffix == ".csv" else "\t")
    notes: list[str] = []
    positions: tuple[int, ...] = ()
    dtypes: dict[int, object] = {}
    try:
        fast = _read_text_coded(path, text_sep, encoding) if coded and suffix in (".csv", ".tsv", ".txt") else None
        typed = _read_parquet_coded(path) if coded and suffix in (".parquet", ".pq") else None
        if fast is not None:
            frame = fast
            positions = tuple(range(frame.shape[1]))
            dtypes = {i: np.dtype(object) for i in positions}
        elif typed is not None:
            frame, positions, dtypes = typed
        elif suffix in (".csv", ".tsv", ".txt"):
            frame = _read_text(path, text_sep, encoding)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".xlsx", ".xlsm"):
            frame, notes = _read_excel(path, sheet)
        elif suffix == ".dta":
            frame, notes = _read_stata(path)
        elif suffix == ".sas7bdat":
            frame = pd.read_sas(path, format="sas7bdat", encoding=encoding or "utf-8")
        elif suffix == ".xpt":
            frame = _read_xport(path, encoding)
        elif suffix in (".sav", ".zsav"):
            frame = _read_spss(path)
        else:
            raise DataError(f"unknown file type {suffix!r} for {path.name}; supported: {', '.join(SUFFIXES)}")
    except DataError:
        raise
    except UnicodeDecodeError as e:
        raise DataError(f"cannot read {path.name}: text is not valid {encoding or 'utf-8'} (byte {e.start}); "
                        "pass encoding=", arguments=("encoding",)) from None
    except zipfile.BadZipFile:
        raise DataError(f"cannot read {path.name}: it is not a valid {suffix[1:]} workbook (the zip container is "
                        "damaged or truncated); save it again from the spreadsheet program") from None
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - any reader failure is a problem with the file, told as one
        raise DataError(f"cannot read {path.name} as {suffix[1:]} (truncated or damaged?): "
                        f"{type(e).__name__}: {_short(e)}") from None
    if suffix in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm") and fast is None and _maybe_mangled(frame.columns):
        frame = _restore_repeated_names(frame, _header_cells(path, suffix, text_sep, encoding, sheet))
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise DataError(f"{path.name} has no data rows" + ("" if frame.shape[1] else " and no columns") + ".")
    if suffix in (".csv", ".txt") and sep is None and frame.shape[1] == 1 and ";" in str(frame.columns[0]):
        raise DataError(f"{path.name} has one column whose header holds ';': the file looks separated by "
                        "semicolons (a European CSV); pass sep=';' (and decimal=',' if numbers are written 67,5)")
    return frame, path.name, notes, positions, dtypes
