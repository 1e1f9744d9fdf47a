"""Shared plumbing of the aggregate analyses (:mod:`.table_one`, :mod:`.responders`, :mod:`.survival`).

Each analysis takes the canonical long table (the columns of ``Trial.data``) as a DuckDB relation or a Dask
DataFrame, asks the engine for aggregates only (counts, sums, quantiles, one row per arm, level or distinct
time) and hands those to the in-memory module's statistics. This module holds what the three share: which
engine, quoting, running one SQL statement on a relation, the column schema, and the subject-level facts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..trial import KEY_COLUMNS

__all__ = ["engine_of", "qi", "lit", "Sql", "schema", "check_arms"]


def engine_of(data: Any) -> str:
    """``"duckdb"`` for a ``duckdb.DuckDBPyRelation``, ``"dask"`` for a ``dask.dataframe.DataFrame``."""
    mod = type(data).__module__
    if mod.startswith("duckdb") or mod.startswith("_duckdb"):
        if hasattr(data, "query") and hasattr(data, "columns"):
            return "duckdb"
    if mod.startswith("dask"):
        import dask.dataframe as dd
        if isinstance(data, dd.DataFrame):
            return "dask"
    raise DataError(f"the out-of-core analyses take a duckdb.DuckDBPyRelation (duckdb.read_parquet(...), "
                    f"con.table(...)) or a dask.dataframe.DataFrame with the columns of Trial.data, not "
                    f"{type(data).__name__}; for a pandas frame or a ct.Trial use the in-memory function")


def qi(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(value: float | str | None) -> str:
    """A SQL literal that reads back as exactly the same double (``repr`` round-trips) or text."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    v = float(value)
    if not np.isfinite(v):
        return "NULL"
    return f"CAST({v!r} AS DOUBLE)"


class Sql:
    """Runs SQL statements against one DuckDB relation under a view name private to this analysis."""

    def __init__(self, rel: Any):
        self.rel = rel
        self.view = "ct_" + uuid.uuid4().hex
        self.tables: list[str] = []

    def materialise(self, name: str, body: str) -> str:
        """``WITH <name> AS (...) `` over a temporary table holding the result of ``body`` (built once inside
        DuckDB, dropped by :meth:`close`), or over ``body`` itself where no temporary table can be created."""
        table = f"{self.view}_{name}"
        try:
            self(f"CREATE TEMP TABLE {qi(table)} AS {body}", fetch=False)
        except Exception:  # e.g. a read-only connection: the subquery runs in every query instead
            return f"WITH {name} AS ({body}) "
        self.tables.append(table)
        return f"WITH {name} AS (SELECT * FROM {qi(table)}) "

    def close(self) -> None:
        """Drop the temporary tables of this analysis."""
        while self.tables:
            self(f"DROP TABLE IF EXISTS {qi(self.tables.pop())}", fetch=False)

    def __call__(self, text: str, fetch: bool = True) -> pd.DataFrame:
        """Run ``text`` (``{t}`` stands for the relation) and return its (aggregate) result as pandas
        (``fetch=False``: a statement without a result, such as CREATE TEMP TABLE)."""
        out = self.rel.query(self.view, text.replace("{t}", qi(self.view)))
        return out.df() if fetch and out is not None else pd.DataFrame()


def schema(data: Any) -> dict[str, str]:
    """Column -> ``"numeric"``, ``"bool"``, ``"text"`` or ``"enum"`` (declared categories)."""
    out: dict[str, str] = {}
    if engine_of(data) == "duckdb":
        for name, typ in zip(data.columns, data.types):
            t = str(typ).upper()
            if t.startswith("ENUM"):
                out[name] = "enum"
            elif t == "BOOLEAN":
                out[name] = "bool"
            elif any(t.startswith(k) for k in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                                                "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL",
                                                "REAL")):
                out[name] = "numeric"
            else:
                out[name] = "text"
        return out
    for name, dtype in data.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            out[name] = "enum"
        elif pd.api.types.is_bool_dtype(dtype):
            out[name] = "bool"
        elif pd.api.types.is_numeric_dtype(dtype):
            out[name] = "numeric"
        else:
            out[name] = "text"
    return out


def enum_levels(data: Any, column: str, run: Sql | None) -> list[Any]:
    """The declared categories of an ENUM (DuckDB) or categorical (Dask, known categories) column, in order."""
    if engine_of(data) == "duckdb":
        assert run is not None
        typ = dict(zip(data.columns, data.types))[column]
        return run(f"SELECT unnest(enum_range(NULL::{typ})) AS level")["level"].tolist()
    cat = data[column].dtype
    if not getattr(cat, "known", True) or cat.categories is None:  # unknown categories: read them (small)
        return list(data[column].cat.as_known().cat.categories)
    return list(cat.categories)


def check_columns(data: Any, needed: Sequence[str], what: str) -> list[str]:
    """The columns; a DataError naming every required column that is absent."""
    cols = [str(c) for c in data.columns]
    absent = [c for c in dict.fromkeys([*KEY_COLUMNS, *needed]) if c not in cols]
    if absent:
        raise DataError(f"{what}: the table has no column(s) {absent}; it needs the columns of Trial.data "
                        f"(subject, arm, visit, outcomes, covariates); its columns are {cols}",
                        kind="missing column", column=absent[0])
    return cols


def check_arms(arms: Sequence[str], seen: Sequence[str], what: str) -> list[str]:
    """The arm order as a list of text; every arm value in the data must be in it (a DataError otherwise)."""
    if isinstance(arms, str) or not all(isinstance(a, str) for a in arms) or len(set(arms)) != len(arms):
        raise DataError(f"{what}: arms must be a list of distinct arm names (the display order), not {arms!r}")
    stray = sorted({str(a) for a in seen if a is not None and not (isinstance(a, float) and np.isnan(a))}
                   - set(arms))
    if stray:
        raise DataError(f"{what}: the data hold arm(s) {stray} that are not in arms={list(arms)}; pass every arm "
                        "in display order", kind="unknown arm", arm=stray[0])
    return list(arms)
