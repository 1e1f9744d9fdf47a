"""The ``deidentify`` command: a semi-identified export -> a file that passes the identifier guard.

Declared without importing the privacy code, so ``combotherapy --help`` stays fast. The secret key of the subject
pseudonyms is never an option value (command lines end up in shell histories and process lists): it is read from an
environment variable or a key file.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

#: the environment variable the key is read from by default
KEY_ENV = "COMBOTHERAPY_KEY"

_FORMATS = {".csv": "csv", ".parquet": "parquet"}


def add_deidentify(sub, epilog: str) -> None:
    """Add the ``deidentify`` command to the ``combotherapy`` parser (called from :mod:`combotherapy.cli`)."""
    d = sub.add_parser("deidentify", help="make a de-identified copy of an export (keyed pseudonyms, days since "
                       "randomisation, ZIP3, ages top-coded)", epilog=epilog,
                       description="Read a raw export (the identifier guard is not applied to it), drop direct "
                                   "identifiers and free text, replace subject ids by keyed HMAC-SHA256 pseudonyms, "
                                   "turn calendar dates into days since randomisation, keep 3-digit ZIP prefixes and "
                                   "top-code ages at 90 (ct.deidentify; HIPAA Safe Harbor), and write the copy to "
                                   "--out (.csv or .parquet), whole or not at all. What was done is printed per "
                                   "column, never a value. The input file is never modified. The pseudonym key is "
                                   f"read from ${KEY_ENV} (or --key-env NAME, or --key-file FILE), never from the "
                                   "command line.")
    d.add_argument("data", type=Path, help="raw export (.csv, .tsv, .parquet, .xlsx, .dta, .sas7bdat, .xpt)")
    d.add_argument("--out", type=Path, required=True, help="the de-identified copy (.csv or .parquet)")
    d.add_argument("--force", action="store_true", help="replace an existing --out file combotherapy did not write")
    d.add_argument("--key-env", default=KEY_ENV, metavar="NAME",
                   help=f"environment variable holding the pseudonym key (default {KEY_ENV})")
    d.add_argument("--key-file", type=Path, help="file holding the pseudonym key (its first line)")
    d.add_argument("--subject", default="subject", help="column of subject ids (default subject); 'none' if there is "
                   "no such column")
    d.add_argument("--randomisation-date", metavar="COLUMN", help="column of each subject's randomisation date "
                   "(needed when the file has calendar dates)")
    for name, what in (("drop", "a further column to drop"), ("date", "a further calendar-date column"),
                       ("zip", "a further ZIP-code column"), ("age", "a further age column"),
                       ("keep", "a flagged column you checked and keep as it is")):
        d.add_argument(f"--{name}", action="append", default=[], metavar="COLUMN", help=f"{what} (repeatable)")
    d.add_argument("--keep-free-text", action="store_true",
                   help="keep free-text columns in which no identifier was found (default: drop them)")
    d.set_defaults(func=_run_deidentify)


def read_key(args: argparse.Namespace) -> str:
    """The pseudonym key from --key-file or the environment; a clear error naming where it was looked for."""
    from .errors import DataError

    if args.key_file is not None:
        try:
            lines = args.key_file.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise DataError(f"cannot read the key file {args.key_file}: {e.strerror or e}", kind="unreadable",
                            arguments=("key_file",)) from None
        key = lines[0].strip() if lines else ""
        if not key:
            raise DataError(f"the key file {args.key_file} is empty: its first line must hold the key",
                            arguments=("key_file",))
        return key
    key = os.environ.get(args.key_env, "")
    if not key:
        raise DataError(f"no pseudonym key: set the environment variable {args.key_env} (or give --key-file FILE) "
                        "to a secret of at least 16 random characters, and keep it apart from the data",
                        arguments=("key_env", "key_file"))
    return key


def _run_deidentify(args: argparse.Namespace) -> int:
    import io

    from .errors import DataError
    from .files import command_output, write_bytes, write_text
    from .io.readers import read_table
    from .privacy import deidentify

    fmt = _FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        raise DataError(f"--out {args.out} must end in .csv or .parquet (the de-identified copy)",
                        arguments=("out",))
    key = read_key(args)
    with command_output(args.out, inputs=(args.data,), force=args.force) as out:
        frame = read_table(args.data).frame
        clean = deidentify(frame, key=key, subject=None if args.subject.lower() == "none" else args.subject,
                           drop=args.drop or None, dates=args.date or None,
                           randomisation_date=args.randomisation_date, zip_columns=args.zip or None,
                           age_columns=args.age or None, keep=args.keep, drop_free_text=not args.keep_free_text)
        log = clean.attrs.get("deidentify_log", [])
        clean.attrs = {}
        if fmt == "csv":
            write_text(out, clean.to_csv(index=False, lineterminator="\n"))
        else:
            buffer = io.BytesIO()
            _numbers_as_numbers(clean).to_parquet(buffer, index=False)
            write_bytes(out, buffer.getvalue())
    for entry in log:
        print(f"{entry['column']}: {entry['action']}")
    print(f"written: {args.out} ({len(clean)} rows, {clean.shape[1]} columns; it passes the identifier guard)")
    return 0


def _numbers_as_numbers(frame):
    """Text columns whose every cell is a number, as numbers (a text file is read as text; Parquet keeps types).
    A column with a leading zero ('021', a ZIP prefix; '007', a code) stays text: the zero is part of the value."""
    import pandas as pd

    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)):
            continue
        text = col.astype("string").str.strip()
        present = text.notna() & (text != "")
        if not present.any() or text[present].str.match(r"^[+-]?0\d").any():
            continue
        numbers = pd.to_numeric(text.where(present), errors="coerce")
        if numbers[present].notna().all():
            out[name] = numbers
    return out
