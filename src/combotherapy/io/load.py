"""``ct.load``: any supported export in, a validated, de-identified :class:`~combotherapy.Trial` out."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

# the module, not its names: validate imports io's submodules (which runs this package's __init__, hence this
# module), so `import combotherapy.validate` first would find it half-initialised
from .. import validate as _validate
from ..errors import DataError, ProblemCollector
from ..instruments import REGISTRY, Instrument, check_declared, instrument_for
from ..trial import KEY_COLUMNS, Decision, Trial, check_design
from ..validate_arrays import column_map, take_values
from .cells import apply_missing_codes, clean_name, decode, stripped_categories
from .decisions import decide, role_suggestions
from .layout import (
    BASELINE_SUFFIX,
    REQUIRED,
    ROW,
    SYNONYMS,
    add_baseline_rows,
    apply_columns,
    close_matches,
    detect_layout,
    parse_visits,
    wide_to_long,
)
from .readers import read_table

__all__ = ["load"]


def load(
    source: str | os.PathLike | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    arms: Mapping | None = None,
    layout: str = "auto",
    outcomes: Mapping[str, Instrument] | None = None,
    visits: Mapping | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    missing: Mapping[str, Sequence] | None = None,
    allow_identifiers: Sequence[str] = (),
    design: str = "randomised",
    backend: str | None = None,
    table: str | None = None,
) -> Trial:
    """Load a trial from a file or DataFrame into the canonical long form.

    Parameters
    ----------
    source : path or DataFrame
        ``.csv``, ``.tsv``, ``.parquet``, ``.xlsx``, ``.dta`` (Stata), ``.sas7bdat`` or ``.xpt`` (SAS),
        or a DataFrame (copied, never modified). Files are only read.
    columns : dict, optional
        Canonical name -> source column, e.g. ``{"subject": "pid", "arm": "group", "visit": "week",
        "pain": "nrs"}``. A per-outcome baseline column maps to ``"<outcome>_baseline"`` (CDISC ADaM's
        ``BASE``: ``{"pain_baseline": "BASE"}``); it becomes visit-0 rows. In a wide file, map outcome
        columns to ``<outcome>_w<week>`` names, e.g. ``{"headache_w0": "pk1", "headache_w52": "pk5"}``.
    arms : dict, optional
        Source arm label -> arm, e.g. ``{1: "acupuncture", 0: "control"}``. Canonical arms are
        ``physio``, ``acupuncture``, ``combined`` and ``control``; any other name given here is declared.
        Without it the labels must already be canonical arm names.
    layout : {"auto", "long", "wide"}
        Long: one row per subject and visit. Wide: one row per subject with ``<outcome>_w<week>`` columns
        (also ``pain_week12``, ``pain_Week 12``), or ``<outcome>_<label>`` columns whose labels ``visits=``
        maps to weeks (``PAIN_VIS1`` ... with ``visits={"VIS1": 4, ...}``).
    outcomes : dict, optional
        Instruments for outcomes that are not in :data:`combotherapy.REGISTRY`, e.g.
        ``{"headache": ct.Instrument(low=0, better="lower", units="points")}``.
    visits : dict, optional
        Visit label -> weeks since randomisation, e.g. ``{"VIS1": 4, "VIS2": 8}``, for the visit column of a
        long file or the column-name suffixes of a wide one. Labels such as
        ``"Week 12"``, ``"W12"``, ``"12 weeks"`` and ``"baseline"`` are understood without it.
    encoding : str, optional
        Text encoding of csv/tsv files (default UTF-8, with or without a byte-order mark).
    sheet : str or int, optional
        Excel sheet, by name or position (default the first; ``Trial.notes`` names the sheets not read).
    sep : str, optional
        Field separator of a text file (default ``,`` for ``.csv``, tab for ``.tsv``/``.txt``), e.g. ``";"``
        for a European CSV. A one-column file whose header holds ``;`` is refused with this hint.
    decimal : {".", ","}, optional
        Decimal mark of a text file. With ``decimal=","`` cells such as ``67,5`` read as 67.5. Without it,
        a column whose numbers are written with a decimal comma is reported, never kept as text.
    missing : dict, optional
        Declared missing-value codes per column (named as after ``columns=``), or ``"*"`` for every column,
        e.g. ``{"pain": [-99, 999], "*": ["."]}``; such cells become missing and ``Trial.notes`` says how
        many. Codes are compared as numbers and as text (``-99``, ``"-99"`` and ``-99.0`` are one code).
    allow_identifiers : sequence of str
        Columns the user has checked and keeps knowingly although the identifier guard flags them (source
        or canonical name). The guard judges columns by their source names: mapping ``{"subject": "mrn"}``
        does not make a record number safe.
    design : {"randomised", "observational"}
        How treatment was assigned. ``"observational"`` (a registry, clinic records, claims) is kept on the Trial
        (``Trial.design``): every result fitted to it names the design, and a comparison of the arms without
        adjustment for confounding carries a warning (see :mod:`combotherapy.observational`).

    backend : {None, "duckdb", "dask"}
        ``"duckdb"``: keep the rows out of memory and return a :class:`~combotherapy.scale.LazyTrial` (a Parquet
        file, a folder or glob of Parquet files, a DuckDB database file or connection with ``table=``, or a DuckDB
        relation). A Dask data frame is always loaded lazily. See the README's "Large data" section.
    table : str, optional
        The table (or view) of a DuckDB database file or connection (``backend="duckdb"``).

    Returns
    -------
    Trial
        (a :class:`~combotherapy.scale.LazyTrial` with ``backend="duckdb"`` or a Dask data frame)

    Raises
    ------
    IdentifierError
        The data carry direct identifiers; the message names the columns and kinds, never values.
    DataError
        Every other problem found, all at once, with columns, row numbers (1 = first data row) and what
        was expected.

    Notes
    -----
    Missing values may be blank, ``NA``, ``N/A``, ``NaN``, ``NULL`` or ``.``, in every format (a workbook's
    ``None`` or ``null`` text is text, its error cells such as ``#N/A`` are their text). Nothing is dropped or
    coerced silently: a value that cannot be used is reported, never turned into a missing value; other codes
    (``-``, ``#N/A``, ``-99``) are reported with the ``missing=`` that would declare them. A named index of a
    DataFrame or Parquet file is read as columns. An
    empty row (every cell missing, such as a spacer line in a spreadsheet) holds no data and is ignored;
    ``Trial.notes`` lists such rows. Row numbers in messages count the file's data rows, empty ones included.

    The loader says what it decided, in ``Trial.decisions`` (structured) and ``Trial.notes`` (sentences, which
    ``combotherapy validate`` prints): columns neither mapped nor registered are kept as covariates; a column
    whose name and values fit a registered outcome (``recovery_weeks`` for ``recovery_time``, a 0/1 ``event``
    for ``recovered``) gets a ``columns=`` suggestion; a covariate that changes after randomisation, or is
    recorded only after baseline, is flagged as not a baseline characteristic. A missing required column is
    suggested from columns whose names and values fit the role. Values are never shown in messages: unknown
    arm or visit labels that look like identifiers are only counted, and control characters are removed
    from headers.

    Readers never guess: SAS transport zeros read as 0 and a truncated ``.xpt`` is refused; formula cells of
    a workbook without computed values are an error; sheets not read are noted; every reader failure
    (damaged or truncated files, nested, duration or undecodable cells) is a ``DataError`` naming the file.

    Example
    -------
    >>> import combotherapy as ct, pandas as pd
    >>> raw = pd.DataFrame({"pid": ["a", "a", "b", "b"], "group": [1, 1, 0, 0],
    ...                     "week": [0, 12, 0, 12], "nrs": [7, 3, 6, 5]})
    >>> trial = ct.load(raw, columns={"subject": "pid", "arm": "group", "visit": "week", "pain": "nrs"},
    ...                 arms={1: "acupuncture", 0: "control"})
    >>> trial.arms, trial.visits
    (['control', 'acupuncture'], [0.0, 12.0])
    >>> ct.load(raw.assign(bmi=[22.0, 22.0, 31.5, 31.5]), columns={"subject": "pid", "arm": "group",
    ...         "visit": "week", "pain": "nrs"}, arms={1: "acupuncture", 0: "control"}).notes
    ["kept as covariates (neither mapped with columns= nor registered outcomes): 'bmi'"]
    """
    _check_arguments(columns, arms, visits, layout, missing)
    design = check_design(design)
    if backend is not None or table is not None or type(source).__module__.split(".")[0] in ("duckdb", "_duckdb", "dask"):
        from ..scale import load_lazy  # out-of-core: rows stay in DuckDB or on Dask (combotherapy.scale)
        if design != "randomised":
            raise DataError("design='observational' is not supported on out-of-core data yet (the weighting and "
                            "E-value analyses need rows): load it lazily, then .collect() or .sample(n, seed=...) "
                            "and .with_design('observational') on the in-memory Trial")
        return load_lazy(source, backend=backend or "duckdb", table=table, columns=columns, arms=arms,  # type: ignore[return-value]
                         layout=layout, outcomes=outcomes, visits=visits, missing=missing,
                         allow_identifiers=allow_identifiers)
    read = read_table(source, encoding=encoding, sheet=sheet, sep=sep, decimal=decimal, coded=True)
    frame, name, notes = read.frame, read.name, list(read.notes)
    declared = check_declared(dict(outcomes) if outcomes else None)
    problems = ProblemCollector()

    width = frame.shape[1]
    header_hint = _header_hint(frame.columns)
    frame = apply_columns(frame, columns, problems)
    # columns read as codes of their text (the fast readers): every step below looks at each distinct text once.
    # Anything unusual (a mapping problem, no visit column, a wide file, baseline columns) turns them back into
    # the text the careful path has always worked on, so that its checks and messages are unchanged.
    positions = read.coded
    if positions and (problems or frame.shape[1] != width or not frame.columns.is_unique):
        parts = [decode(frame.iloc[:, i], read.text_dtypes[i]) if i in read.text_dtypes else frame.iloc[:, i]
                 for i in range(frame.shape[1])]
        frame = pd.concat(parts, axis=1, ignore_index=True).set_axis(frame.columns, axis=1)
        positions = ()
    coded: dict[str, object] = {frame.columns[i]: read.text_dtypes[i] for i in positions}
    frame = _validate.normalise_missing(frame, coded=list(coded))
    frame, coded_notes = apply_missing_codes(frame, missing, problems, coded=coded)
    notes += coded_notes
    _guard_identifiers(frame, columns, allow_identifiers)
    fast = (not problems and layout != "wide" and all(c in frame.columns for c in (*REQUIRED, "visit"))
            and not any(str(c).endswith(BASELINE_SUFFIX) for c in frame.columns))
    if coded and not fast:
        frame, coded = _decoded(frame, coded), {}

    missing_required = [c for c in REQUIRED if c not in frame.columns]
    for c in missing_required:
        problems.add(c, f"required column missing; map it with columns={{'{c}': '<your column>'}}"
                     + role_suggestions(c, frame, SYNONYMS.get(c, ())), arguments=("columns",))
    shape = detect_layout(frame, layout, problems, visits)
    if (missing_required or shape == "unknown") and header_hint:
        problems.add(None, header_hint)
    if missing_required or shape == "unknown" or problems:
        _raise(problems, name)

    frame = frame.reset_index(drop=True)
    frame.insert(0, ROW, range(len(frame)))
    # an empty row (every cell missing, e.g. a spacer line in a spreadsheet) holds no data: it is ignored, and
    # the trial's notes say which rows were ignored, so nothing disappears unannounced
    blank = _blank_rows(frame.drop(columns=ROW))
    if len(frame) == 0:
        raise DataError(f"{name} has no data rows.")
    if blank.all():
        raise DataError(f"{name} has no data: every row is empty.")
    if blank.any():
        rows = frame.loc[blank, ROW].to_numpy() + 1
        shown = ", ".join(str(r) for r in rows[:10]) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
        notes.append(f"{len(rows)} empty row{'s' if len(rows) > 1 else ''} ignored (row{'s' if len(rows) > 1 else ''} "
                     f"{shown}; 1 = first data row)")
        frame = frame.loc[~blank].reset_index(drop=True)
    if shape == "wide":
        frame = wide_to_long(frame, visits, problems)
    frame["visit"] = parse_visits(frame, visits, problems) if shape == "long" else frame["visit"]

    outcome_cols = [c for c in frame.columns if c not in KEY_COLUMNS and c != ROW
                    and instrument_for(c, declared) is not None]
    instruments = {c: instrument_for(c, declared) for c in outcome_cols}
    baseline_cols = {c[: -len(BASELINE_SUFFIX)]: c for c in frame.columns
                     if c.endswith(BASELINE_SUFFIX) and instrument_for(c[: -len(BASELINE_SUFFIX)], declared)}
    for outcome in baseline_cols:
        instruments.setdefault(outcome, instrument_for(outcome, declared))
    known = {k.lower(): k for k in [*REGISTRY, *declared]}
    for c in [c for c in frame.columns if c not in KEY_COLUMNS and c != ROW and c not in instruments
              and instrument_for(c, declared) is None and not c.endswith(BASELINE_SUFFIX)]:
        canon = known.get(c.strip().lower())
        if canon is not None:  # 'PAIN' would otherwise load as a covariate: no range check, no outcome
            problems.add(c, f"not an outcome, but the name is the outcome '{canon}' in other letter case (names are "
                         f"case-sensitive): rename it with columns={{'{canon}': '{c}'}} (in a wide file map each "
                         f"column, e.g. {{'{canon}_w12': '<column>'}}), or declare it with "
                         f"outcomes={{'{c}': ct.Instrument(...)}}", arguments=("columns", "outcomes"))
    for undeclared in [k for k in declared if k not in instruments]:
        problems.add(undeclared, "declared in outcomes= but there is no such column (after columns= mapping)"
                     + close_matches(undeclared, frame.columns), arguments=("outcomes", "columns"))

    if baseline_cols and not problems:
        subject_cols = [c for c in frame.columns if c not in KEY_COLUMNS and c != ROW and c not in baseline_cols.values()
                        and c not in instruments and _constant_within(frame, c)]
        subject_cols = ["arm"] + subject_cols + [c for c, i in instruments.items()
                                                 if i.level == "subject" and c in frame.columns]
        frame = add_baseline_rows(frame, baseline_cols, subject_cols, problems)

    text_codes: frozenset[str] = frozenset()
    if coded:
        frame, text_codes = _typed(frame, coded, keep=KEY_COLUMNS)
    text_cells: dict = {}  # text covariates as codes into their values: the decisions compare codes
    arrow: dict = {}  # the subject ids as Arrow text, when validation converted them (they are not converted twice)
    data = _validate.validate_long(frame, arms=arms, instruments=instruments, problems=problems,
                                   subject_as_codes=True, text_codes=text_codes, text_cells=text_cells,
                                   subject_arrow=arrow)
    _raise(problems, name)

    data, subject_codes, order = _canonical_order(data, list(instruments), arrow.get("ids"))
    if order is not None:
        text_cells = {c: (codes[order], values) for c, (codes, values) in text_cells.items()}
    notes += [f"baseline of '{o}' taken from column '{c}' as visit-0 rows" for o, c in baseline_cols.items()]
    decisions = [Decision("note", None, n) for n in notes] + decide(data, instruments, (columns or {}).keys(),
                                                                   subject_codes, text_cells)
    return Trial._from_validated(data, instruments, source=name, decisions=decisions, design=design)


def _raise(problems: ProblemCollector, name: str) -> None:
    """Raise every problem at once; headers and labels in messages lose control characters (terminal escapes)."""
    problems.problems = [dataclasses.replace(p, column=None if p.column is None else clean_name(p.column),
                                             message=clean_name(p.message)) for p in problems.problems]
    problems.raise_if_any(message=f"cannot load {clean_name(name)}:")


def _header_hint(names: pd.Index) -> str:
    """Why the required columns may not be found although they are there: a header of several rows (a
    DataFrame's MultiIndex columns) or a title row above the header (most names blank: pandas' 'Unnamed: 3')."""
    if isinstance(names, pd.MultiIndex):
        return (f"the column names have {names.nlevels} levels (MultiIndex columns): flatten them before loading, "
                "e.g. frame.columns = ['_'.join(map(str, c)) for c in frame.columns]")
    blank = sum(str(c).startswith("Unnamed: ") for c in names)
    if len(names) > 2 and blank >= len(names) / 2:
        return (f"{blank} of the {len(names)} column names are blank: the first row of the sheet is not the header "
                "(a title or merged cells above it?); delete the rows above the column names and load again")
    return ""


def _check_arguments(columns, arms, visits, layout, missing=None) -> None:
    """The mappings are dicts, and visits= maps labels to weeks; DataError (a ValueError) otherwise."""
    examples = {"columns": "{'subject': 'pid', 'arm': 'group'}", "arms": "{1: 'acupuncture', 0: 'control'}",
                "visits": "{'VIS1': 4, 'VIS2': 8}", "missing": "{'pain': [-99, 999]}"}
    wrong = [f"{what}= must be a dict such as {examples[what]}, not {type(value).__name__}"
             for what, value in (("columns", columns), ("arms", arms), ("visits", visits), ("missing", missing))
             if value is not None and not isinstance(value, Mapping)]
    if isinstance(visits, Mapping):
        bad = {k: v for k, v in visits.items() if not _weeks(v)}
        if bad:
            wrong.append(f"visits= must map each label to weeks since randomisation (a number, 0 or more); "
                         f"these are not: {bad}")
    if isinstance(missing, Mapping):
        bad = [str(k) for k, v in missing.items() if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple, set))]
        if bad:
            wrong.append(f"missing= must map each column to a list of codes, e.g. {{'pain': [-99, 999]}}; "
                         f"these are not lists: {bad}")
    if layout not in ("auto", "long", "wide"):
        wrong.append(f"layout must be 'auto', 'long' or 'wide', not {layout!r}")
    if wrong:
        named = [w.split("=", 1)[0] for w in wrong if "=" in w.split(" ", 1)[0]]  # our own sentences' first words
        raise DataError("; ".join(wrong), arguments=named)


def _weeks(value) -> bool:
    """A visits= value: a finite number of weeks, 0 or more (numeric text such as '4' from a JSON file too)."""
    if isinstance(value, bool) or value is None:
        return False
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite(v) and v >= 0)


def _blank_rows(frame: pd.DataFrame, first: int = 8) -> np.ndarray:
    """Rows whose every cell is missing (``frame.isna().all(axis=1)``): the first columns are looked at one by one,
    and usually one of them (the subject id) rules out every row, so the other cells are never looked at."""
    blank = np.ones(len(frame), dtype=bool)
    for j in range(min(first, frame.shape[1])):
        blank &= frame.iloc[:, j].isna().to_numpy()
        if not blank.any():
            return blank
    if frame.shape[1] > first:
        blank &= frame.iloc[:, first:].isna().all(axis=1).to_numpy()
    return blank


def _constant_within(frame: pd.DataFrame, col: str) -> bool:
    return bool((frame.groupby("subject", dropna=False)[col].nunique(dropna=True) <= 1).all())


def _guard_identifiers(frame: pd.DataFrame, columns: Mapping[str, str] | None, allow: Sequence[str]) -> None:
    """The identifier guard on every column, under the names the source gave them.

    Names matter: ``columns={"subject": "mrn"}`` must not turn a medical record number into an innocent
    'subject'. A column may be allowed under its source or its canonical name.
    """
    from ..privacy import check_identifiers  # the guard runs on every column, before anything is dropped

    source_of = {str(k): str(v) for k, v in (columns or {}).items() if str(v) != str(k)}
    named = frame.set_axis([source_of.get(c, c) if source_of.get(c) not in frame.columns else c
                            for c in frame.columns], axis=1)
    allowed = {str(a) for a in ([allow] if isinstance(allow, str) else allow)}
    allowed |= {source_of[a] for a in list(allowed) if a in source_of}
    # the mapped subject column is named to the guard: structured study ids (101-01-0001) are legitimate there
    subject = source_of.get("subject", "subject")
    check_identifiers(named, allow=tuple(allowed), subject=subject if subject in named.columns else None)


def _canonical_order(data: pd.DataFrame, outcomes: list[str], ids=None) -> tuple[pd.DataFrame, np.ndarray,
                                                                                np.ndarray | None]:
    # subjects in the order the file lists them, visits in time order; positional, so that no helper column
    # can collide with a user's column name. The subject column arrives as codes (numbered in order of first
    # appearance) and leaves as text. Returns the frame, its subject codes and the order of the rows taken (None: as
    # they were). ``ids``: the subject column's categories as an Arrow string array, when validation made one.
    subject = data["subject"].array
    first = np.asarray(subject.codes)
    visit = data["visit"].to_numpy(dtype=float)
    rest = [c for c in data.columns if c not in (*KEY_COLUMNS, *outcomes, ROW)]
    out = data[list(KEY_COLUMNS) + outcomes + rest]
    order = None
    if _sorted(first, visit):  # a file written in this order (the common case): no copy of every column
        out, codes = out.reset_index(drop=True), first
    else:
        order = np.lexsort((visit, first))
        out, codes = out.take(order).reset_index(drop=True), first[order]
    values = ids if ids is not None and len(ids) == len(subject.categories) else \
        pd.Series(np.asarray(subject.categories, dtype=object))
    out["subject"] = _validate.str_column(codes, values, out.index)
    return out, codes, order


def _sorted(first: np.ndarray, visit: np.ndarray) -> bool:
    """Are the rows already in lexsort order (subject code, then visit; a missing visit sorts last, ties in row
    order)? Then the sort would return the rows as they are."""
    if len(first) < 2:
        return True
    a, b = first[:-1], first[1:]
    if (b < a).any():
        return False
    same = b == a
    v0, v1 = visit[:-1][same], visit[1:][same]
    # within a subject, visits must not decrease; NaN (sorted last by lexsort) may only be followed by NaN
    return not ((v1 < v0).any() or (np.isnan(v0) & ~np.isnan(v1)).any())


def _decoded(frame: pd.DataFrame, coded: Mapping[str, object]) -> pd.DataFrame:
    """Columns of codes back to the text (and dtype) the careful path reads."""
    parts = {c: decode(frame[c], coded[c]) if c in coded else frame[c] for c in frame.columns}
    return pd.DataFrame(parts, index=frame.index, copy=False)


def _typed(frame: pd.DataFrame, coded: Mapping[str, object], keep: Sequence[str]) -> tuple[pd.DataFrame,
                                                                                          frozenset[str]]:
    """Columns of codes whose every present text is a number become float columns, parsed once per distinct text
    exactly as the validator parses text (``pd.to_numeric`` of the trimmed text); the others stay codes, returned
    by name, for the validator to check as the text they hold. ``keep`` columns (subject, arm, visit) stay codes:
    their checks work on codes and distinct values."""
    candidates = [c for c in frame.columns if c in coded and c not in keep]
    stripped, bounds = stripped_categories([frame[c] for c in candidates])  # every column's texts trimmed at once
    numbers: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    text = set()
    for j, c in enumerate(candidates):
        cat = frame[c].array
        codes = np.asarray(cat.codes)
        part = stripped.iloc[bounds[j]:bounds[j + 1]].reset_index(drop=True)
        number = pd.to_numeric(part, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if not len(codes) or codes.max() < 0:
            numeric = False  # no value at all: text, as the careful path keeps it
        elif not np.isnan(number).any():
            numeric = True   # every distinct text is a number (so every one that occurs)
        elif np.isnan(number).all():
            numeric = False  # no distinct text is a number, and some is used
        else:
            used = np.bincount(codes[codes >= 0], minlength=len(cat.categories)) > 0
            numeric = not np.isnan(number[used]).any()
        if numeric:
            numbers[c] = (number, codes)
        else:
            text.add(c)
    # each row's number from its code (-1, missing, takes the NaN); long columns two at a time
    floats = dict(zip(numbers, column_map(lambda nc: take_values(*nc), list(numbers.values()), len(frame))))
    parts = {c: pd.Series(floats[c], index=frame.index, copy=False) if c in floats else frame[c]
             for c in frame.columns}
    return pd.DataFrame(parts, index=frame.index, copy=False), frozenset(text)
