"""The identifier guard (HIPAA Safe Harbor): find and refuse direct identifiers, never showing a value.

:func:`find_identifiers` looks for the direct identifiers of the HIPAA Safe Harbor list
(45 CFR 164.514(b)(2)) in three places: the column headers themselves (an e-mail address or a person's
name used as a header), the column names (tokenised, so ``ship_date`` is a date but ``relationship`` is
not an IP address), and the values, whatever the column is called. It reports columns, kinds and counts,
never a value. :func:`check_identifiers` turns the findings into an
:class:`~combotherapy.errors.IdentifierError` whose ``findings`` code can branch on; ``ct.load`` calls it
on every frame it reads.

Values are scanned per distinct value, not per row, with patterns written for RE2 so that pandas runs them
in Arrow's vectorised engine; the word-level person-name rules see at most
:data:`~combotherapy.privacy.names.MAX_VALUES` distinct values of a column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from ..errors import IdentifierError, Problem
from .scan import _CONTROL, KINDS_OF_FILE, _Finding, _scan, printable

__all__ = ["find_identifiers", "check_identifiers", "IdentifierFinding", "KINDS_OF_FILE"]


@dataclass(frozen=True)
class IdentifierFinding:
    """One flagged column and kind, as carried by ``IdentifierError.findings`` (never a value).

    Attributes
    ----------
    column : str
        The column's header, printable (control characters removed); ``"column 3 (header withheld)"``
        when the header itself holds an identifier.
    position : int
        0-based position of the column in the frame (negative: a level of the row index).
    kind : str
        What was found (``"name"``, ``"phone number"``, ``"full date"``, ...).
    found_by : str
        ``"column name"``, ``"values"`` or ``"column header"``.
    n_cells : int
        Cells that identify.
    """

    column: str
    position: int
    kind: str
    found_by: str
    n_cells: int


def find_identifiers(frame: pd.DataFrame, *, kind: str = "trial",
                     subject: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Find columns that carry direct identifiers (HIPAA Safe Harbor), without showing any value.

    Parameters
    ----------
    frame : DataFrame
        Any table, as read from an export. Not modified.
    kind : {"trial", "study"}
        ``"trial"``: patient-level data (the default). ``"study"``: study-level published data such as
        meta-analysis inputs, whose ``author``, ``study``, ``studlab``, ``trial``, ``year`` (and similar)
        columns are publication metadata: they are not searched for names, dates or ages.
    subject : str or list of str, optional
        The column(s) holding the study's subject ids (the mapped subject column). Structured study ids
        such as ``101-01-0001`` are legitimate there; columns named like ``subject``, ``SUBJID``,
        ``USUBJID``, ``participant_id`` are treated so without being named.

    Returns
    -------
    DataFrame
        One row per flagged column and kind of identifier (a free-text column holding e-mail
        addresses and phone numbers gives two rows), with columns ``column``, ``kind``,
        ``found_by`` (``"column name"``, ``"values"`` or ``"column header"``), ``n_cells`` (cells that
        identify: for a column flagged by name alone, its non-missing cells) and ``reason``. ``column`` is
        the column's label, except that a header holding an identifier itself is shown as
        ``"column N (header withheld)"`` and control characters are removed. Empty when nothing is found.
        Values never appear.

    Notes
    -----
    *Headers.* A header holding an e-mail address, phone number, SSN, URL, IP address, record number or a
    person's name (given name and surname from the name lexicon) is flagged and never printed.

    *Column names* are split into words (``visitDate`` -> ``visit``, ``date``) and neighbouring words joined
    (``first_name`` -> ``firstname``), then matched against word lists for each Safe Harbor category, in
    several languages (``PATNAME``, ``nombre``, ``telefono``, ``RecNo``, ``patient_number``). Words that name
    measurements as often as identifiers (``ip``, ``mobile``, ``tel``, ``photo``, ``gps``, ``city``) count
    only alone or beside identifier words: ``ip_adherence``, ``mobile_app_use``, ``tel_consult``,
    ``photo_therapy``, ``gps_seen`` and ``city_size`` are not flagged.

    *Names and values together.* A date-named column (``*_date``, ``dob``, CDISC ``*DTC`` and ``*DT``,
    ``fecha``, ``datum``) is flagged when it holds full dates, months with years (a year alone is allowed) or
    numbers of 10,000 or more (SAS, Excel and epoch dates, YYYYMMDD); numbers that all read as YYYYMMDD
    are dates whatever the name; epoch seconds under a time-like name. A ZIP column when codes are longer
    than 3 characters; a residence-like column (``residence``, ``home``, ``wohnort``) holding 5-digit codes.
    An age column (``age``, ``years_old``, ``ageyears``, ``edad``, ``Alter``) when ages exceed 90 (90 is the
    category "90 or older"; ``age_months`` is scaled); a year of birth (``yob``) implying an age over 89.
    Whole numbers of 9 to 15 digits that are not round (phones, SSNs and record numbers stored as numbers).

    *Values*, whatever the column is called: e-mail addresses; phone numbers (``+`` and ``00``
    international forms with 8 to 15 digits, North-American, and national forms such as
    ``06 12 34 56 78``, ``03-1234-5678``, ``07700900123``, ``030/1234567``); SSNs (``123-45-6789``,
    ``123 45 6789``, ``123456789``, ``***-**-6789``); IPv4 (not after ``v``/``version``) and IPv6
    addresses; URLs; full dates in ISO, US, European (``01.03.24``) and written forms in English, French,
    German, Spanish, Italian, Portuguese and Dutch; month and year (``Mar 2024``, ``März 2024``); ages over
    89 written with a unit (``95 years``, ``92 ans``); ZIP codes with a city and state, UK and Canadian
    postcodes, European postcodes before a town; street addresses and post boxes; record numbers (``MRN: 00123456``,
    ``Fallnummer 987654``, zero-padded digit runs); national id numbers (UK NI, NIR, Steuer-ID, BSN, Medicare, MBI,
    DNI/NIE, codice fiscale, CPF, RRN, personnummer); account numbers (IBAN, payment cards); coordinates (five
    decimals, or degree signs); and person names (:mod:`combotherapy.privacy.names`: a lexicon of common given
    names and surnames across locales, plus a shape rule; names inside free text and after titles).

    Values holding characters outside ASCII are read as ASCII first (no-break spaces, full-width and Arabic-Indic
    digits, Unicode dashes). A bare digit string among words is judged by the digit-run rules only; a 5-digit number
    is a ZIP code only under a postcode- or residence-like name.

    *Context.* In subject-id columns, structured study ids whose leading digits repeat (sites) are not
    phones or SSNs; in study-code and version columns (``study_code``, ``protocol_no``, ``kit``,
    ``software_version``) digit groups are codes and dotted numbers are versions.

    References
    ----------
    45 CFR 164.514(b)(2). U.S. Department of Health and Human Services (2012). Guidance Regarding
    Methods for De-identification of Protected Health Information in Accordance with the HIPAA
    Privacy Rule.

    Example
    -------
    >>> import pandas as pd, combotherapy as ct
    >>> raw = pd.DataFrame({"subject": ["a", "b"], "notes": ["call 555-123-4567", "fine"], "pain": [3, 4]})
    >>> ct.find_identifiers(raw)[["column", "kind", "found_by", "n_cells"]]
      column          kind found_by  n_cells
    0  notes  phone number   values        1
    """
    rows = [{"column": f.column if f.label == printable(f.column) and not _CONTROL.search(str(f.column))
             else f.label, "kind": f.kind, "found_by": f.found_by, "n_cells": f.n_cells, "reason": f.reason}
            for f in _scan(frame, kind, subject)]
    return pd.DataFrame(rows, columns=["column", "kind", "found_by", "n_cells", "reason"]).astype(
        {"n_cells": "int64"})


def check_identifiers(frame: pd.DataFrame, *, allow: Iterable[object] = (), kind: str = "trial",
                      subject: str | Iterable[str] | None = None) -> None:
    """Refuse a table that carries direct identifiers.

    Parameters
    ----------
    frame : DataFrame
        The table to check (not modified).
    allow : iterable of column names
        Columns the user has checked and keeps knowingly (e.g. ``zip3`` holding 3-digit codes
        stored with a wrong width); they are not searched.
    kind : {"trial", "study"}
        See :func:`find_identifiers`: ``"study"`` for published study-level data (meta-analysis inputs).
    subject : str or list of str, optional
        The subject-id column(s); see :func:`find_identifiers`.

    Raises
    ------
    IdentifierError
        Naming every flagged column and the kind of identifier, with the number of cells and
        the first row numbers, never a value; and saying how to fix it. Its ``findings`` attribute is a
        tuple of :class:`IdentifierFinding` (``column, position, kind, found_by, n_cells``);
        ``columns`` and ``kinds`` list the flagged columns and kinds.

    Notes
    -----
    See :func:`find_identifiers` for what is looked for.

    Example
    -------
    >>> import pandas as pd, combotherapy as ct
    >>> ct.check_identifiers(pd.DataFrame({"subject": ["a"], "pain": [3]}))  # passes silently
    >>> try:
    ...     ct.check_identifiers(pd.DataFrame({"contact": ["+44 20 7946 0958"]}))
    ... except ct.IdentifierError as err:
    ...     print([(f.column, f.kind) for f in err.findings])
    [('contact', 'phone number')]
    """
    allowed = set(allow) if not isinstance(allow, str) else {allow}
    found = [f for f in _scan(frame, kind, subject) if f.column not in allowed]
    if not found:
        return
    cols = list(dict.fromkeys(f.label for f in found))
    problems = [Problem(f.label, f"{f.kind}, found by {f.found_by}" + _detail(f), f.rows, f.n_cells)
                for f in found]
    head = (f"the data carry direct identifiers (HIPAA Safe Harbor) in {len(cols)} column"
            f"{'s' if len(cols) != 1 else ''}: {', '.join(repr(c) for c in cols)}. No value is shown.\n"
            "To fix: drop these columns, or run ct.deidentify(frame, key=...) to drop, hash, shift and truncate "
            "them; a column you have checked and know to be safe can be kept with allow=[<column>]"
            " (allow_identifiers= in ct.load).")
    err = IdentifierError(head, problems, arguments=("allow_identifiers",))
    # fields for programs: which column, which kind (never a value), without parsing the message
    err.__dict__.update(findings=tuple(IdentifierFinding(f.label, f.position, f.kind, f.found_by, f.n_cells)
                                       for f in found),
                        columns=tuple(cols), kinds=tuple(dict.fromkeys(f.kind for f in found)))
    raise err


def _detail(f: _Finding) -> str:
    generic = f.reason.startswith(("the column name says", "cells match"))  # the kind already says it
    return "" if generic else f": {f.reason}"
