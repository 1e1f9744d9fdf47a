"""Loading a :class:`LazyTrial` on DuckDB or Dask: the in-memory loader on a seeded sample of subjects, the same
mappings turned into SQL (or Dask column operations), and whole-data checks as aggregates."""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..arms import arm_order
from ..errors import DataError, ProblemCollector
from ..io.layout import ROW, apply_columns, parse_visits
from ..io.readers import MISSING_TOKENS
from ..trial import KEY_COLUMNS, Decision
from ..validate import _check_arms
from .lazy import LazyTrial

__all__ = ["load_duckdb", "load_dask", "is_duckdb", "sample_rows", "collect_rows", "quote", "literal"]

_DUCKDB_FILES = (".duckdb", ".db", ".ddb")

#: Settings of the DuckDB connections the package opens itself (a path given to ``ct.load(..., backend="duckdb")``).
#: DuckDB's own default memory limit is 80% of the machine's RAM, which its buffer pool fills on a large GROUP BY
#: (16.6 GiB on the 10^8-row benchmark); out-of-core means bounded memory, so the package caps the engine and lets
#: it spill to a temporary folder. ``COMBOTHERAPY_DUCKDB_MEMORY`` changes the cap; for other settings pass your own
#: connection or relation (its settings are used as they are).
DUCKDB_MEMORY_LIMIT = os.environ.get("COMBOTHERAPY_DUCKDB_MEMORY", "2GB")


def _connect(path: str = ":memory:", read_only: bool = False) -> Any:
    import tempfile

    import duckdb
    spill = os.path.join(tempfile.gettempdir(), "combotherapy-duckdb")
    return duckdb.connect(path, read_only=read_only,
                          config={"memory_limit": DUCKDB_MEMORY_LIMIT, "temp_directory": spill})


def quote(name: str) -> str:
    """A SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A SQL literal for a label or a code (numbers as numbers, everything else as text)."""
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


def is_duckdb(obj: Any) -> bool:
    # duckdb's relations live in duckdb._relation, its connections in the compiled _duckdb module (duckdb 1.x-2.x)
    return type(obj).__module__.split(".")[0] in ("duckdb", "_duckdb")


# --- opening a source ------------------------------------------------------------------------------------------
def _open(source: Any, table: str | None) -> tuple[Any, Any, str]:
    """(raw relation, connection or None, display name)."""
    import duckdb
    if isinstance(source, duckdb.DuckDBPyRelation):
        if table is not None:
            raise DataError("table= names a table of a DuckDB database or connection; a relation is already a table")
        return source, None, "DuckDB relation"
    if isinstance(source, duckdb.DuckDBPyConnection):
        if not table:
            raise DataError("a DuckDB connection needs table= naming the table (or view) to load")
        return _table(source, table), source, f"DuckDB table {table}"
    path = os.fspath(source)
    name = Path(path).name or path
    if path.lower().endswith(_DUCKDB_FILES):
        if not os.path.exists(path):
            raise DataError(f"{name}: no such DuckDB database file")
        if not table:
            raise DataError(f"{name} is a DuckDB database: name the table with table='<table>'")
        con = _connect(path, read_only=True)
        return _table(con, table), con, f"{name}::{table}"
    con = _connect()
    if os.path.isdir(path):
        files = sorted(_glob.glob(os.path.join(path, "**", "*.parquet"), recursive=True))
        if not files:
            raise DataError(f"{name}: the folder holds no .parquet files")
        pattern = os.path.join(path, "**", "*.parquet")
    else:
        pattern = path
        if not _glob.glob(path):
            raise DataError(f"{name}: no such file (or no file matches the pattern)")
    lower = path.lower()
    try:
        if lower.endswith((".csv", ".tsv", ".txt")):
            rel = con.read_csv(pattern)
        elif os.path.isdir(path) or lower.endswith(".parquet") or any(ch in path for ch in "*?["):
            rel = con.read_parquet(pattern, union_by_name=True)
        else:
            raise DataError(f"{name}: backend='duckdb' reads Parquet files (a file, a folder or a glob), CSV files and "
                            "DuckDB database files (.duckdb/.db with table=); for other formats load in memory "
                            "(backend=None)")
    except duckdb.Error as err:
        raise DataError(f"{name} could not be read by DuckDB: {str(err).splitlines()[0]}") from None
    return rel, con, name


def _table(con: Any, table: str) -> Any:
    import duckdb
    try:
        return con.table(table)
    except duckdb.Error:
        raise DataError(f"the DuckDB database has no table or view named {table!r}") from None


# --- the shared part: mapping, the sample, what the canonical columns are ---------------------------------------
def _mapping(source_columns: Sequence[str], columns: Mapping[str, str] | None) -> dict[str, str]:
    """source column -> canonical name, with the loader's own checks of columns= (one DataError listing all)."""
    problems = ProblemCollector()
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in source_columns})
    renamed = apply_columns(empty, columns, problems)
    problems.raise_if_any(message="cannot load:")
    return dict(zip([str(c).lstrip("\ufeff").strip() for c in source_columns], renamed.columns))


def _sample_trial(sample: pd.DataFrame, n_sampled: int, options: dict) -> Any:
    """The in-memory loader on the sample (every check with its own messages); a DataError says it is a sample."""
    from ..io.load import load
    try:
        return load(sample, **options)
    except DataError as err:
        prefix = (f"in a seeded sample of {n_sampled} subjects ({len(sample)} rows) checked in memory (row numbers "
                  "count the sample's rows, not the file's): ")
        err.args = (prefix + str(err),) + err.args[1:]
        raise


#: distinct values of a column given to the whole-file guard at once (bounds the Python objects it makes: a
#: registry's subject column holds 10^7-10^8 distinct ids; DuckDB hands them over as compact Arrow text)
_GUARD_BATCH = 1_000_000

#: DuckDB's numeric column types (a type name before any "(precision, scale)")
NUMERIC_SQL = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                         "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL"})


def _guard_whole_file(rel: Any, types: dict[str, str], columns, allow_identifiers) -> None:
    """The identifier guard on the whole file, out of core: every distinct text of every text column, and the smallest
    and largest number of every numeric column (the number rules test thresholds). The seeded sample alone would miss
    an identifier written in one row of many (found by the adversarial sweep of the guard).

    The distinct texts come from DuckDB as Arrow arrays and are guarded in batches of :data:`_GUARD_BATCH` values
    per column (the first batch of every column together, then the further batches of the long columns), so that
    memory stays bounded at 10^8 rows; the first batch with a finding raises."""
    nums = [c for c, kind in types.items() if kind.split("(")[0] in NUMERIC_SQL]
    extremes: dict[str, pd.Series] = {}
    if nums:
        cells = ", ".join(f"min(CASE WHEN isfinite(CAST({quote(c)} AS DOUBLE)) THEN {quote(c)} END), "
                          f"max(CASE WHEN isfinite(CAST({quote(c)} AS DOUBLE)) THEN {quote(c)} END)" for c in nums)
        got = rel.query("src", f"SELECT {cells} FROM src").fetchall()[0]
        extremes = {c: pd.Series([v for v in got[2 * i: 2 * i + 2] if v is not None], dtype=float)
                    for i, c in enumerate(nums)}
    # ENUM columns (a DuckDB table's categoricals) as their text; the Arrow columns stay chunked (one contiguous
    # string array would overflow its 32-bit offsets past 2 GB of text)
    text = {c: rel.query("src", f"SELECT DISTINCT CAST({quote(c)} AS VARCHAR) AS v FROM src WHERE {quote(c)} IS NOT "
                                "NULL").to_arrow_table().column("v")
            for c, kind in types.items() if kind == "VARCHAR" or kind.startswith("ENUM")}
    _guard_batches(text, extremes, columns, allow_identifiers)


def _guard_batches(text: dict, extremes: dict[str, pd.Series], columns, allow_identifiers) -> None:
    """The guard on the distinct texts (``text``: Arrow arrays or numpy arrays per column) in batches of
    :data:`_GUARD_BATCH` values per column: the first batch of every column with the numeric extremes, then the further
    batches of the long columns. Python objects are made for one batch at a time."""
    longest = max([len(v) for v in text.values()], default=0)
    for start in range(0, max(longest, 1), _GUARD_BATCH):
        parts = {c: pd.Series(v.slice(start, _GUARD_BATCH).to_pylist() if hasattr(v, "to_pylist")
                              else v[start:start + _GUARD_BATCH], dtype=object)
                 for c, v in text.items() if start < len(v) or start == 0}
        if start == 0:
            parts.update(extremes)
        _guard_parts(parts, set(text), columns, allow_identifiers)


def _guard_dask(frame: Any, columns, allow_identifiers) -> None:
    """:func:`_guard_whole_file` for a Dask frame: distinct texts and numeric extremes computed in one pass."""
    import dask

    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)]
    nums = [c for c in frame.columns if c not in text and pd.api.types.is_numeric_dtype(frame[c].dtype)
            and not pd.api.types.is_bool_dtype(frame[c].dtype)]
    found = dask.compute(*[frame[c].dropna().unique() for c in text],
                         *[frame[c].astype(float).replace([np.inf, -np.inf], np.nan).min() for c in nums],
                         *[frame[c].astype(float).replace([np.inf, -np.inf], np.nan).max() for c in nums])
    k = len(nums)
    extremes = {c: pd.Series([v for v in (lo, hi) if pd.notna(v)], dtype=float)
                for c, lo, hi in zip(nums, found[len(text): len(text) + k], found[len(text) + k:])}
    # the distinct texts arrive on the client (numpy arrays of Python strings); the guard takes them in batches
    _guard_batches({c: np.asarray(v, dtype=object) for c, v in zip(text, found[: len(text)])}, extremes, columns,
                   allow_identifiers)


def _guard_parts(parts: dict, text: set, columns, allow_identifiers) -> None:
    """The loader's guard on columns of distinct values (``text``: those holding text), under the source names."""
    from ..errors import IdentifierError
    from ..io.load import _guard_identifiers

    if not parts:
        return
    frame = pd.concat([v.reset_index(drop=True).rename(k) for k, v in parts.items()], axis=1)
    frame = frame.astype({k: object for k in parts if k in text})
    try:
        _guard_identifiers(frame, columns, allow_identifiers)
    except IdentifierError as err:
        err.add_note("found among the distinct values of the whole file (out of core): the cell counts and row "
                     "numbers above count distinct values, not the file's rows")
        raise


def _lazy_unsupported(trial: Any, mapping: dict[str, str]) -> None:
    canonical = set(mapping.values())
    if "visit" not in canonical:
        raise DataError("a lazy trial needs the long layout (one row per subject and visit, with a visit column); "
                        "map the visit column with columns={'visit': '<column>'}, or reshape the wide file first",
                        kind="layout")
    base = [c for c in canonical if c.endswith("_baseline")]
    if base:
        raise DataError(f"baseline columns {base} are not supported on a lazy trial: give the baseline as visit-0 "
                        "rows", kind="layout", column=base[0])


def _labels_problems(problems: ProblemCollector, counts: dict[str, int]) -> ProblemCollector:
    """Problems found on the distinct labels, without the label table's row numbers (counted on the data)."""
    out = ProblemCollector()
    for p in problems.problems:
        out.add(p.column, p.message, (), counts.get(str(p.column)) or None)
    return out


def _arm_lookup(distinct: pd.Series, arms: Mapping | None, problems: ProblemCollector) -> dict:
    """Canonical arm of every distinct source label (None: unknown), by the in-memory loader's own rule."""
    labels = distinct.dropna().reset_index(drop=True)
    frame = pd.DataFrame({ROW: np.arange(len(labels)), "arm": labels})
    local = ProblemCollector()
    codes, names = _check_arms(frame, arms, local)   # codes into names, -1: missing or not an arm
    for p in _labels_problems(local, {}).problems:
        problems.add(p.column, p.message)
    return {lab: (None if c < 0 else str(names[c])) for lab, c in zip(labels.tolist(), codes.tolist())}


def _visit_lookup(distinct: pd.Series, visits: Mapping | None, problems: ProblemCollector) -> dict:
    labels = distinct.dropna().reset_index(drop=True)
    frame = pd.DataFrame({ROW: np.arange(len(labels)), "visit": labels})
    local = ProblemCollector()
    weeks = parse_visits(frame, visits, local)
    for p in local.problems:
        problems.add(p.column, p.message)
    return {lab: float(w) for lab, w in zip(labels.tolist(), weeks.tolist()) if np.isfinite(w)}


# --- DuckDB -----------------------------------------------------------------------------------------------------
def _text_clean(expr: str) -> str:
    tokens = ", ".join(literal(t) for t in sorted(MISSING_TOKENS))
    return f"CASE WHEN trim(CAST({expr} AS VARCHAR)) IN ({tokens}) THEN NULL ELSE {expr} END"


def load_duckdb(source: Any, *, table: str | None, columns, arms, layout, outcomes, visits, missing,
                allow_identifiers, sample_subjects: int, seed: int) -> LazyTrial:
    rel, con, name = _open(source, table)
    types = dict(zip(rel.columns, [str(t) for t in rel.types]))
    mapping = _mapping(rel.columns, columns)
    source_of = {v: k for k, v in mapping.items()}
    options = dict(columns=columns, arms=arms, layout=layout, outcomes=outcomes, visits=visits, missing=missing,
                   allow_identifiers=allow_identifiers)
    subj = source_of.get("subject")
    if subj is None:  # the loader names what is missing and suggests columns
        _sample_trial(rel.limit(1000).df(), 0, options)
        raise DataError(f"cannot load {name}: no subject column; map it with columns={{'subject': '<your column>'}}")
    q = quote(subj)
    pick = (f"SELECT * FROM src WHERE {q} IN (SELECT s FROM (SELECT DISTINCT {q} AS s FROM src WHERE {q} IS NOT NULL) "
            f"ORDER BY hash(s, {int(seed)}), s LIMIT {int(sample_subjects)})")
    sample = rel.query("src", pick).df()
    n_sampled = int(sample[subj].nunique()) if len(sample) else 0
    trial = _sample_trial(sample, n_sampled, options)
    _guard_whole_file(rel, types, columns, allow_identifiers)
    _lazy_unsupported(trial, mapping)

    def raw(canonical: str) -> str:
        col = source_of[canonical]
        expr = quote(col)
        if types[col] == "VARCHAR":
            expr = _text_clean(expr)
        codes = [*(missing or {}).get(canonical, ()), *(missing or {}).get("*", ())] if missing else []
        if codes:
            numeric = types[col] not in ("VARCHAR", "BOOLEAN")
            keep = [c for c in codes if not numeric or _is_number(c)]
            if keep:
                lits = ", ".join(literal(float(c)) if numeric else literal(str(c)) for c in keep)
                expr = f"CASE WHEN {expr} IN ({lits}) THEN NULL ELSE {expr} END"
        return expr

    problems = ProblemCollector()
    arm_map = _arm_lookup(rel.query("src", f"SELECT DISTINCT {raw('arm')} AS a FROM src").df()["a"], arms, problems)
    numeric_visit = types[source_of["visit"]] not in ("VARCHAR",)
    if numeric_visit:
        visit_expr = f"CAST({raw('visit')} AS DOUBLE)"
    else:
        vis_map = _visit_lookup(rel.query("src", f"SELECT DISTINCT {raw('visit')} AS v FROM src").df()["v"], visits,
                                problems)
        cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in vis_map.items())
        visit_expr = f"CAST(CASE {raw('visit')} {cases} ELSE NULL END AS DOUBLE)" if cases else "CAST(NULL AS DOUBLE)"
    cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in arm_map.items() if v is not None)
    arm_expr = f"CASE {raw('arm')} {cases} ELSE NULL END" if cases else "CAST(NULL AS VARCHAR)"
    outcome_cols = [c for c in trial.outcomes]
    covariates = [c for c in trial.covariates]
    out_expr = {c: f"TRY_CAST({raw(c)} AS DOUBLE)" for c in outcome_cols}
    select = [f"CAST({raw('subject')} AS VARCHAR) AS subject", f"{arm_expr} AS arm", f"{visit_expr} AS visit"]
    select += [f"{out_expr[c]} AS {quote(c)}" for c in outcome_cols]
    select += [f"CAST({raw(c)} AS VARCHAR) AS {quote(c)}" if types[source_of[c]].startswith("ENUM")
               else f"{raw(c)} AS {quote(c)}" for c in covariates]   # a categorical column is text
    all_null = " AND ".join(f"{quote(c)} IS NULL" for c in rel.columns)
    canon = rel.query("src", f"SELECT {', '.join(select)} FROM src WHERE NOT ({all_null})")

    # whole-data checks, as aggregates over the source (one scan)
    aggs = ["count(*)", f"count(*) FILTER (WHERE {all_null})", f"count(*) FILTER (WHERE {raw('subject')} IS NULL)",
            f"count(*) FILTER (WHERE {raw('arm')} IS NULL)",
            f"count(*) FILTER (WHERE {raw('arm')} IS NOT NULL AND ({arm_expr}) IS NULL)",
            f"count(*) FILTER (WHERE {raw('visit')} IS NULL)",
            f"count(*) FILTER (WHERE {raw('visit')} IS NOT NULL AND (({visit_expr}) IS NULL OR ({visit_expr}) < 0 "
            f"OR isinf({visit_expr})))"]
    for c in outcome_cols:
        inst = trial.instruments[c]
        v = out_expr[c]
        aggs.append(f"count(*) FILTER (WHERE {raw(c)} IS NOT NULL AND {v} IS NULL)")
        bad = [f"isinf({v})", f"isnan({v})"]
        if inst.low is not None:
            bad.append(f"{v} {'<=' if inst.low_open else '<'} {literal(float(inst.low))}")
        if inst.high is not None:
            bad.append(f"{v} > {literal(float(inst.high))}")
        aggs.append(f"count(*) FILTER (WHERE {' OR '.join(bad)})")
        aggs.append(f"count(*) FILTER (WHERE {v} <> round({v}))" if inst.integer else "0")
    got = rel.query("src", f"SELECT {', '.join(aggs)} FROM src").fetchall()[0]
    n_rows, n_blank, no_subject, no_arm, bad_arm, no_visit, bad_visit = (int(x) for x in got[:7])
    for col, n, what in (("subject", no_subject, "missing subject id"),
                         ("arm", no_arm, "missing arm: every subject needs its randomised arm"),
                         ("visit", no_visit, "missing visit: every row needs a visit (weeks since randomisation, "
                                             "0 = baseline)"),
                         ("visit", bad_visit, "visit labels that are not weeks since randomisation (0 or more)"),
                         ("arm", bad_arm, "rows whose arm label is not an arm (see the labels listed)")):
        if n:
            problems.add(col, what, (), n)
    for j, c in enumerate(outcome_cols):
        inst = trial.instruments[c]
        text, outside, frac = (int(x) for x in got[7 + 3 * j: 10 + 3 * j])
        if text:
            problems.add(c, f"non-numeric values: expected numbers in {inst.range_text()} {inst.units}".rstrip(),
                         (), text)
        if outside:
            problems.add(c, f"values outside the valid range {inst.range_text()} of {inst.label or c}", (), outside)
        if frac:
            problems.add(c, "values that are not whole numbers: expected counts / integer scores", (), frac)
    _raise(problems, name)

    # per subject: duplicated visits, two arms, columns constant within subjects
    level = [c for c in covariates] + [c for c in outcome_cols if trial.instruments[c].level == "subject"]
    # "more than one distinct value" as min <> max: no per-group hash table, unlike count(DISTINCT ...)
    # duplicated subject-visit rows: rows minus distinct (subject, visit) pairs, by a plain GROUP BY that DuckDB can
    # spill to disk (a count(DISTINCT ...) per subject keeps a hash set per group in memory and cannot)
    per = ["count(*) AS rows", "min(arm) <> max(arm) AS two_arms"]
    per += [f"CAST(min({quote(c)}) <> max({quote(c)}) AS INTEGER) AS {quote('n_' + c)}" for c in level]
    tops = ["count(*)", "sum(rows)", "count(*) FILTER (WHERE two_arms)"] + [f"max({quote('n_' + c)})" for c in level]
    got = canon.query("t", f"SELECT {', '.join(tops)} FROM (SELECT {', '.join(per)} FROM t GROUP BY subject)"
                      ).fetchall()[0]
    pairs = canon.query("t", "SELECT count(*) FROM (SELECT subject, visit FROM t GROUP BY subject, visit)").fetchall()
    n_subjects, dups, two_arms = int(got[0]), int(got[1] or 0) - int(pairs[0][0]), int(got[2])
    varying = {c: int(v or 0) > 0 for c, v in zip(level, got[3:])}
    if dups:
        problems.add("visit", "duplicate subject-visit rows: expected one row per subject and visit", (), dups)
    if two_arms:
        problems.add("arm", f"{two_arms} subject{'s appear' if two_arms > 1 else ' appears'} in more than one arm "
                     "(a subject is randomised once)")
    for c in outcome_cols:
        if trial.instruments[c].level == "subject" and varying.get(c):
            problems.add(c, "a subject-level outcome takes different values within subjects: expected one value "
                         "per subject")
    _raise(problems, name)
    present = [r[0] for r in canon.query("t", "SELECT DISTINCT arm FROM t").fetchall()]
    arm_list = arm_order(present)
    visit_list = [float(r[0]) for r in canon.query("t", "SELECT DISTINCT visit FROM t ORDER BY 1").fetchall()]
    subject_cols = [c for c in [*outcome_cols, *covariates] if c in varying and not varying[c]]
    notes = _notes(trial, n_sampled, n_subjects, seed, n_blank)
    return LazyTrial(backend="duckdb", data=canon, arms=arm_list, visits=visit_list,
                     instruments=dict(trial.instruments), columns=[*KEY_COLUMNS, *outcome_cols, *covariates],
                     subject_columns=subject_cols, n_subjects=n_subjects, n_rows=n_rows - n_blank, source=name,
                     decisions=notes, connection=con)


def _notes(trial: Any, n_sampled: int, n_subjects: int, seed: int, n_blank: int) -> list[Decision]:
    keep = [d for d in trial.decisions if not (d.kind == "note" and "empty row" in d.message)]
    out = [Decision("note", None, f"lazy trial: arms, visits, outcome ranges and types, duplicates and subject-level "
                    f"columns checked on all {n_subjects} subjects as aggregates, and the identifier guard on every "
                    f"distinct text and each numeric column's extremes; every other check of the in-memory loader "
                    f"(cell types, covariate ranges...) on a seeded sample of {n_sampled} subjects (seed {seed})")]
    if n_blank:
        out.append(Decision("note", None, f"{n_blank} empty row{'s' if n_blank > 1 else ''} ignored"))
    return [*keep, *out]


def _raise(problems: ProblemCollector, name: str) -> None:
    problems.raise_if_any(message=f"cannot load {name}:")


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


# --- Dask -------------------------------------------------------------------------------------------------------
def load_dask(frame: Any, *, columns, arms, layout, outcomes, visits, missing, allow_identifiers,
              sample_subjects: int, seed: int) -> LazyTrial:
    import dask
    import dask.dataframe as dd
    if not isinstance(frame, dd.DataFrame):
        raise DataError(f"backend='dask' needs a dask.dataframe.DataFrame, not {type(frame).__name__}")
    if missing:
        raise DataError("missing= codes are not supported on a Dask trial: replace the codes with missing values "
                        "in the Dask frame first (frame.replace(...))", kind="argument")
    mapping = _mapping(list(frame.columns), columns)
    source_of = {v: k for k, v in mapping.items()}
    options = dict(columns=columns, arms=arms, layout=layout, outcomes=outcomes, visits=visits,
                   allow_identifiers=allow_identifiers)
    name = "Dask DataFrame"
    subj = source_of.get("subject")
    if subj is None:
        _sample_trial(frame.head(1000, npartitions=-1), 0, options)
        raise DataError(f"cannot load {name}: no subject column; map it with columns={{'subject': '<your column>'}}")
    hashed = frame[subj].map_partitions(_subject_hash, seed, meta=(subj, "uint64"))
    cut = hashed.drop_duplicates().nsmallest(int(sample_subjects)).max().compute()
    sample = frame[hashed <= cut].compute()
    n_sampled = int(sample[subj].nunique())
    trial = _sample_trial(sample.reset_index(drop=True), n_sampled, options)
    _guard_dask(frame, columns, allow_identifiers)
    _lazy_unsupported(trial, mapping)
    problems = ProblemCollector()

    def text_na(s):
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            return s.mask(s.astype("string").str.strip().isin(list(MISSING_TOKENS)))
        return s

    ren = frame.rename(columns=mapping)[[*KEY_COLUMNS, *trial.outcomes, *trial.covariates]]
    ren = ren.map_partitions(lambda d: d.apply(text_na), meta=ren._meta)
    arm_labels, visit_labels = dask.compute(ren["arm"].drop_duplicates(), ren["visit"].drop_duplicates())
    arm_map = _arm_lookup(arm_labels, arms, problems)
    if pd.api.types.is_numeric_dtype(visit_labels.dtype):
        vis_map = None
    else:
        vis_map = _visit_lookup(visit_labels, visits, problems)
    outcome_cols, covariates = list(trial.outcomes), list(trial.covariates)

    def canonical(d: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame({"subject": d["subject"].astype(str).where(d["subject"].notna()),
                            "arm": d["arm"].map(arm_map).astype(object),
                            "visit": (d["visit"].astype(float) if vis_map is None
                                      else d["visit"].map(vis_map).astype(float))}, index=d.index)
        for c in outcome_cols:
            out[c] = pd.to_numeric(d[c], errors="coerce").astype(float)
        for c in covariates:
            out[c] = d[c]
        return out

    meta = canonical(ren._meta)
    canon = ren.map_partitions(canonical, meta=meta)
    level = covariates + [c for c in outcome_cols if trial.instruments[c].level == "subject"]
    instruments = {c: trial.instruments[c] for c in outcome_cols}

    def checks(d: pd.DataFrame) -> dict:
        """Every whole-data check on one partition (subjects whole: the frame is shuffled on subject)."""
        cd = canonical(d)
        out: dict[str, Any] = {"rows": len(d), "no_subject": int(cd["subject"].isna().sum()), "no_arm": int(d["arm"].isna().sum()),
               "bad_arm": int((cd["arm"].isna() & d["arm"].notna()).sum()), "no_visit": int(d["visit"].isna().sum()),
               "bad_visit": int(((cd["visit"].isna() | (cd["visit"] < 0) | np.isinf(cd["visit"]))
                                 & d["visit"].notna()).sum())}
        for c, inst in instruments.items():
            v = cd[c]
            out[f"text:{c}"] = int((v.isna() & d[c].notna()).sum())
            bad = np.isinf(v)
            if inst.low is not None:
                bad = bad | ((v <= inst.low) if inst.low_open else (v < inst.low))
            if inst.high is not None:
                bad = bad | (v > inst.high)
            out[f"range:{c}"] = int(bad.sum())
            out[f"frac:{c}"] = int((v.notna() & (v != v.round())).sum()) if inst.integer else 0
        g = cd.groupby("subject", sort=False)
        out["dup"] = int(cd.duplicated(["subject", "visit"]).sum())
        out["two_arms"] = int((g["arm"].nunique() > 1).sum())
        for c in level:
            out[f"level:{c}"] = int(g[c].nunique().max()) if len(cd) else 0
        out["n_subjects"] = int(cd["subject"].nunique())
        out["arms"] = set(cd["arm"].dropna())
        out["visits"] = set(cd["visit"].dropna().tolist())
        return out

    shuffled = ren.shuffle(on="subject")
    parts = list(dask.compute(*[dask.delayed(checks)(p) for p in shuffled.to_delayed()]))
    got = {key: (max(p[key] for p in parts) if key.startswith("level:") else sum(p[key] for p in parts))
           for key in parts[0] if key not in ("arms", "visits")}
    for col, key, what in (("subject", "no_subject", "missing subject id"),
                           ("arm", "no_arm", "missing arm: every subject needs its randomised arm"),
                           ("visit", "no_visit", "missing visit: every row needs a visit"),
                           ("visit", "bad_visit", "visit labels that are not weeks since randomisation (0 or more)"),
                           ("arm", "bad_arm", "rows whose arm label is not an arm (see the labels listed)")):
        if got[key]:
            problems.add(col, what, (), got[key])
    for c, inst in instruments.items():
        if got[f"text:{c}"]:
            problems.add(c, f"non-numeric values: expected numbers in {inst.range_text()}", (), got[f"text:{c}"])
        if got[f"range:{c}"]:
            problems.add(c, f"values outside the valid range {inst.range_text()} of {inst.label or c}", (),
                         got[f"range:{c}"])
        if got[f"frac:{c}"]:
            problems.add(c, "values that are not whole numbers: expected counts / integer scores", (), got[f"frac:{c}"])
    if got["dup"]:
        problems.add("visit", "duplicate subject-visit rows: expected one row per subject and visit", (), got["dup"])
    if got["two_arms"]:
        problems.add("arm", f"{got['two_arms']} subject(s) appear in more than one arm (a subject is randomised once)")
    varying = {c: got[f"level:{c}"] > 1 for c in level}
    for c in outcome_cols:
        if trial.instruments[c].level == "subject" and varying.get(c):
            problems.add(c, "a subject-level outcome takes different values within subjects: expected one value "
                         "per subject")
    _raise(problems, name)
    arm_present = set().union(*(p["arms"] for p in parts))
    visit_present = set().union(*(p["visits"] for p in parts))
    n_subjects = got["n_subjects"]
    return LazyTrial(backend="dask", data=canon, arms=arm_order(list(arm_present)), visits=sorted(visit_present),
                     instruments=dict(trial.instruments), columns=[*KEY_COLUMNS, *outcome_cols, *covariates],
                     subject_columns=[c for c in [*outcome_cols, *covariates] if c in varying and not varying[c]],
                     n_subjects=n_subjects, n_rows=got["rows"], source=name,
                     decisions=_notes(trial, n_sampled, n_subjects, seed, 0))


def _subject_hash(s: pd.Series, seed: int) -> pd.Series:
    key = f"{int(seed) % 10**16:016d}"
    return pd.util.hash_pandas_object(s.astype(str), index=False, hash_key=key)


# --- into memory ------------------------------------------------------------------------------------------------
def sample_rows(lazy: LazyTrial, n: int, seed: int) -> pd.DataFrame:
    """Every row of ``n`` subjects drawn by a seeded hash of the subject code."""
    if lazy.backend == "duckdb":
        sql = (f"SELECT * FROM t WHERE subject IN (SELECT s FROM (SELECT DISTINCT subject AS s FROM t) "
               f"ORDER BY hash(s, {int(seed)}), s LIMIT {int(n)})")
        return lazy.relation.query("t", sql).df()
    frame = lazy.frame
    hashed = frame["subject"].map_partitions(_subject_hash, seed, meta=("subject", "uint64"))
    cut = hashed.drop_duplicates().nsmallest(int(n)).max()
    return frame[hashed <= cut].compute()


def collect_rows(lazy: LazyTrial) -> pd.DataFrame:
    if lazy.backend == "duckdb":
        return lazy.relation.df()
    return lazy.frame.compute()

