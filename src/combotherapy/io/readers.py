"""Readers: a path or a DataFrame in, a raw DataFrame of cells out.

Text formats are read as text (no type guessing by pandas), so that the validator can say
exactly which cells are not numbers; binary formats keep their types. Files are only read,
never written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import DataError

__all__ = ["read_source", "MISSING_TOKENS", "SUFFIXES"]

#: cell texts that mean "missing" in exports from R, SAS, Stata, Excel and hand-made sheets
MISSING_TOKENS = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", ".", "NULL"})

SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".xlsx", ".xlsm", ".dta", ".sas7bdat", ".xpt")


def _read_text(path: Path, sep: str, encoding: str | None) -> pd.DataFrame:
    enc = encoding or "utf-8-sig"  # utf-8-sig also strips a UTF-8 byte-order mark
    try:
        # blank lines are kept (as empty rows, ignored later with a note) so that row numbers in messages
        # are the file's data rows: pandas would otherwise skip them and shift every later row number
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding=enc,
                           skipinitialspace=False, on_bad_lines="error", skip_blank_lines=False)
    except UnicodeDecodeError as e:
        raise DataError(
            f"cannot read {path.name}: the file is not valid {enc} text (byte {e.start}). "
            "Save it as UTF-8, or pass encoding= (for example encoding='latin-1' or 'cp1252')."
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name} is empty: it has no header and no rows.") from None
    except pd.errors.ParserError as e:
        raise DataError(f"cannot parse {path.name} as delimited text: {e}") from None
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}; use a Python codec name such as 'utf-8' or 'latin-1'") from None


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


def read_source(source: str | os.PathLike | pd.DataFrame, *, encoding: str | None = None,
                sheet: str | int | None = None) -> tuple[pd.DataFrame, str]:
    """Read ``source`` into a DataFrame; return it with a short name for messages.

    A DataFrame is copied (the caller's frame is never modified).
    """
    if isinstance(source, pd.DataFrame):
        return source.copy(), "DataFrame"
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
    try:
        if suffix == ".csv":
            frame = _read_text(path, ",", encoding)
        elif suffix in (".tsv", ".txt"):
            frame = _read_text(path, "\t", encoding)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object)
        elif suffix == ".dta":
            frame = pd.read_stata(path, convert_categoricals=True)
        elif suffix == ".sas7bdat":
            frame = pd.read_sas(path, format="sas7bdat", encoding=encoding or "utf-8")
        elif suffix == ".xpt":
            frame = pd.read_sas(path, format="xport", encoding=encoding or "utf-8")
        else:
            raise DataError(f"unknown file type {suffix!r} for {path.name}; supported: {', '.join(SUFFIXES)}")
    except DataError:
        raise
    except UnicodeDecodeError as e:
        raise DataError(f"cannot read {path.name}: text is not valid {encoding or 'utf-8'} (byte {e.start}); "
                        "pass encoding=") from None
    except (ValueError, OSError, KeyError, ImportError) as e:
        raise DataError(f"cannot read {path.name} as {suffix[1:]}: {e}") from None
    if suffix in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm") and _maybe_mangled(frame.columns):
        sep = "," if suffix == ".csv" else "\t"
        frame = _restore_repeated_names(frame, _header_cells(path, suffix, sep, encoding, sheet))
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise DataError(f"{path.name} has no data rows" + ("" if frame.shape[1] else " and no columns") + ".")
    return frame, path.name
