"""Table 1 out of core: :func:`combotherapy.table_one` computed by aggregate queries on DuckDB or Dask.

The rows stay in the engine: what comes back is one row per arm (counts, means, SDs, quartiles, extremes),
one row per arm and level of each categorical variable, and the pooled central moments behind the skewness.
From there the in-memory module's code (:class:`combotherapy.table_one.stats._Builder`) makes the same
:class:`~combotherapy.table_one.TableOne`, so both paths give the same table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, ProblemCollector
from ..instruments import Instrument, instrument_for
from ..table_one.format import TableOne
from ..table_one.select import _label, _names, _select, check_options_for_arms
from ..table_one.stats import _Builder, _Var, assemble
from ..trial import KEY_COLUMNS
from ._aggregates import Sql, check_arms, check_columns, engine_of, enum_levels, qi, schema

__all__ = ["table_one"]

_QUANTILES = (0.5, 0.25, 0.75)  # median, q1, q3


# --------------------------------------------------------------------------------------------
# the facts _select reads from a Trial, from aggregates
# --------------------------------------------------------------------------------------------
class _Schema:
    """What :func:`combotherapy.table_one.select._select` and ``_label`` read from a ``Trial``, without rows.

    ``data`` is a one-row stand-in holding the column names and whether visit-0 rows exist.
    """

    def __init__(self, columns: list[str], instruments: Mapping[str, Instrument], subject_columns: list[str],
                 has_baseline: bool):
        self.instruments = dict(instruments)
        self.subject_columns = subject_columns
        self.covariates = [c for c in columns if c not in KEY_COLUMNS and c not in self.instruments]
        self.visit_outcomes = [c for c in columns if c in self.instruments and self.instruments[c].level == "visit"]
        self.data = pd.DataFrame({c: [0.0 if has_baseline else np.nan] if c == "visit" else [None] for c in columns})


def default_instruments(columns: Sequence[str]) -> dict[str, Instrument]:
    """The registry instrument of every column that has one (what ``ct.load`` assigns to registry names)."""
    out = {}
    for c in columns:
        inst = instrument_for(c) if c not in KEY_COLUMNS else None
        if inst is not None:
            out[c] = inst
    return out


def _subject_rows(part: pd.DataFrame, subject_cols: Sequence[str], baseline_cols: Sequence[str]) -> pd.DataFrame:
    """One row per subject of a partition holding all rows of its subjects: subject, arm (text), the
    subject-level columns (first non-missing value) and the visit-0 value of the baseline columns."""
    g = part.groupby("subject", sort=False, observed=True)
    out = g[["arm", *subject_cols]].first()
    out["arm"] = out["arm"].astype("str")
    if baseline_cols:
        base = part.loc[part["visit"] == 0.0, ["subject", *baseline_cols]].drop_duplicates("subject")
        base = base.set_index("subject").reindex(out.index)
        for c in baseline_cols:
            out[c] = base[c]
    return out.reset_index()


class _Engine:
    """The subject-level aggregates of one table, on DuckDB (SQL) or Dask (per-partition reductions)."""

    def __init__(self, data: Any):
        self.data = data
        self.kind = engine_of(data)
        self.sql = Sql(data) if self.kind == "duckdb" else None
        self._shuffled: Any = None

    # --- facts -------------------------------------------------------------------------------
    def facts(self, candidates: list[str]) -> tuple[list[str], bool, list[str]]:
        """(subject-level columns among ``candidates``, whether visit-0 rows exist, the arm values seen)."""
        if self.kind == "duckdb":
            assert self.sql is not None
            # at most one distinct recorded value within every subject: min = max (cheaper than count DISTINCT)
            inner = ", ".join(f"min({qi(c)}) AS {qi(f'lo{i}')}, max({qi(c)}) AS {qi(f'hi{i}')}"
                              for i, c in enumerate(candidates))
            outer = ", ".join(f"coalesce(bool_or({qi(f'lo{i}')} <> {qi(f'hi{i}')}), false) AS {qi(f'c{i}')}"
                              for i in range(len(candidates)))
            subject_level = []
            if candidates:
                row = self.sql(f"SELECT {outer} FROM (SELECT {inner} FROM {{t}} GROUP BY subject)").iloc[0]
                subject_level = [c for i, c in enumerate(candidates) if not bool(row.iloc[i])]
            other = self.sql("SELECT bool_or(visit = 0) AS b, list(DISTINCT CAST(arm AS VARCHAR)) AS arms FROM {t}")
            has = bool(other["b"].iloc[0]) if not pd.isna(other["b"].iloc[0]) else False
            arms = list(other["arms"].iloc[0]) if other["arms"].iloc[0] is not None else []
            return subject_level, has, arms
        import dask

        def nunique(part: pd.DataFrame) -> pd.DataFrame:
            if not candidates:
                return pd.DataFrame({"x": pd.Series([], dtype=float)})
            return part.groupby("subject", sort=False, observed=True)[candidates].nunique(dropna=True).max() \
                .to_frame().T.astype(float)

        s = self.shuffled()
        nun = s.map_partitions(nunique, meta=nunique(s._meta))
        has = (self.data["visit"] == 0.0).any()
        arms = self.data["arm"].astype("str").unique()
        nun_v, has_v, arms_v = dask.compute(nun, has, arms)
        top = nun_v.max() if len(nun_v) else pd.Series(dtype=float)
        subject_level = [c for c in candidates if not (c in top.index and top[c] > 1)]
        return subject_level, bool(has_v), [str(a) for a in arms_v]

    def shuffled(self) -> Any:
        """The Dask frame with every subject's rows in one partition."""
        if self._shuffled is None:
            self._shuffled = self.data.shuffle(on="subject")
        return self._shuffled

    # --- subject-level table -------------------------------------------------------------------
    def prepare(self, subject_cols: list[str], baseline_cols: list[str]) -> None:
        self.subject_cols, self.baseline_cols = subject_cols, baseline_cols
        if self.kind == "duckdb":
            subj = ", ".join(["CAST(min(arm) AS VARCHAR) AS arm",
                              *(f"max({qi(c)}) AS {qi(c)}" for c in subject_cols)])
            base = ", ".join(["subject", *(f"any_value({qi(c)}) AS {qi(c)}" for c in baseline_cols)])
            cols = ", ".join(["s.arm", *(f"s.{qi(c)}" for c in subject_cols), *(f"b.{qi(c)}" for c in baseline_cols)])
            # one row per subject, built once inside DuckDB (a temporary table of the connection, dropped by
            # close()); every later query reads it instead of grouping the long table again
            assert self.sql is not None
            body = (f"WITH s AS (SELECT subject, {subj} FROM {{t}} GROUP BY subject), "
                    f"b AS (SELECT {base} FROM {{t}} WHERE visit = 0 GROUP BY subject) "
                    f"SELECT {cols} FROM s LEFT JOIN b USING (subject)")
            self.one = self.sql.materialise("one", body)
        else:
            s = self.shuffled()
            # one row per subject, kept by the scheduler (the workers' memory on a cluster) for the passes below
            self.one_frame = s.map_partitions(_subject_rows, subject_cols, baseline_cols,
                                              meta=_subject_rows(s._meta, subject_cols, baseline_cols)).persist()

    def close(self) -> None:
        """Drop the temporary subject table (DuckDB)."""
        if self.sql is not None:
            self.sql.close()

    def arm_sizes(self) -> pd.Series:
        if self.kind == "duckdb":
            assert self.sql is not None
            r = self.sql(self.one + "SELECT arm, count(*) AS n FROM one GROUP BY arm")
            return r.set_index("arm")["n"].astype(int)
        return self.one_frame.groupby("arm").size().compute().astype(int)

    # --- numbers -----------------------------------------------------------------------------------
    def numeric_profile(self, names: list[str]) -> dict[str, bool]:
        """Per numeric variable: are its recorded values exactly {0, 1} (a code, shown as n (%))?"""
        if not names:
            return {}
        if self.kind == "duckdb":
            assert self.sql is not None
            sel = ", ".join(f"count(DISTINCT {qi(c)}) AS {qi('d' + str(i))}, min({qi(c)}) AS {qi('lo' + str(i))}, "
                            f"max({qi(c)}) AS {qi('hi' + str(i))}" for i, c in enumerate(names))
            r = self.sql(self.one + f"SELECT {sel} FROM one").iloc[0]
            return {c: bool(r[f"d{i}"] == 2 and r[f"lo{i}"] == 0 and r[f"hi{i}"] == 1) for i, c in enumerate(names)}
        vc = self.numeric_counts(names)
        out = {}
        for c in names:
            vals = vc.loc[(vc["var"] == c) & vc["value"].notna(), "value"].unique()
            out[c] = set(vals.tolist()) == {0.0, 1.0}
        return out

    def numeric_counts(self, names: list[str]) -> pd.DataFrame:
        """Dask: ``var, arm, value, count`` of every numeric variable (NaN value = missing), summed over
        partitions; exact, with as many rows as distinct values per arm."""
        key = tuple(names)
        cache = getattr(self, "_vc", {})
        if key in cache:
            return cache[key]

        def counts(part: pd.DataFrame) -> pd.DataFrame:
            frames = [pd.DataFrame({"var": pd.Series([], dtype="str"), "arm": pd.Series([], dtype="str"),
                                    "value": pd.Series([], dtype=float), "count": pd.Series([], dtype="int64")})]
            for c in names:
                x = part[c].astype(float)
                g = x.groupby([part["arm"], x], dropna=False, observed=True).size()
                frames.append(pd.DataFrame({"var": c, "arm": g.index.get_level_values(0).astype("str"),
                                            "value": g.index.get_level_values(1).to_numpy(float),
                                            "count": g.to_numpy("int64")}))
            return pd.concat(frames, ignore_index=True)

        raw = self.one_frame.map_partitions(counts, meta=counts(self.one_frame._meta)).compute()
        out = raw.groupby(["var", "arm", "value"], dropna=False, sort=True)["count"].sum().reset_index()
        cache[key] = out
        self._vc = cache
        return out

    def continuous_stats(self, names: list[str], arms: list[str]) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
        """Per variable the ``_Builder`` statistics table (arms + overall), and the pooled skewness."""
        groups = [*arms, "overall"]
        cols = ["n", "missing", "mean", "sd", "median", "q1", "q3", "min", "max"]
        if not names:
            return {}, {}
        if self.kind == "duckdb":
            assert self.sql is not None
            parts = []
            for i, c in enumerate(names):
                x = f"CAST({qi(c)} AS DOUBLE)"
                parts.append(f"count({x}) AS {qi(f'n{i}')}, avg({x}) AS {qi(f'mean{i}')}, "
                             f"stddev_samp({x}) AS {qi(f'sd{i}')}, "
                             f"quantile_cont({x}, [{', '.join(map(repr, _QUANTILES))}]) AS {qi(f'q{i}')}, "
                             f"min({x}) AS {qi(f'min{i}')}, max({x}) AS {qi(f'max{i}')}")
            # one variable per query: quantile_cont is holistic (it holds every value of its group) and DuckDB cannot
            # spill it, so all variables at once needed ~13 x the memory (out of memory at 2 x 10^7 subjects, 2 GB)
            pieces = []
            for part in parts:
                q = self.sql(self.one + f"SELECT arm, grouping(arm) AS _all, count(*) AS _size, {part} "
                             "FROM one GROUP BY GROUPING SETS ((arm), ())")
                q["arm"] = np.where(q["_all"] == 1, "overall", q["arm"].astype(object))
                pieces.append(q.set_index("arm").reindex(groups))
            r = pd.concat([pieces[0][["_size"]]] + [p.drop(columns=["_all", "_size"]) for p in pieces], axis=1)
            stats = {}
            for i, c in enumerate(names):
                rows_q = [np.full(3, np.nan) if v is None or (np.isscalar(v) and pd.isna(v))
                          else np.asarray(v, dtype=float) for v in r[f"q{i}"]]
                q = np.vstack(rows_q) if rows_q else np.zeros((0, 3))
                st = pd.DataFrame({"n": r[f"n{i}"], "missing": r["_size"] - r[f"n{i}"], "mean": r[f"mean{i}"],
                                   "sd": r[f"sd{i}"], "median": q[:, 0], "q1": q[:, 1], "q3": q[:, 2],
                                   "min": r[f"min{i}"], "max": r[f"max{i}"]}, index=groups)
                stats[c] = st[cols].astype(float).fillna({"n": 0.0, "missing": 0.0})
            # pooled skewness from central moments (two passes: the mean, then the moments about it)
            mean = ", ".join(f"avg(CAST({qi(c)} AS DOUBLE)) AS {qi(f'm{i}')}" for i, c in enumerate(names))
            mom = ", ".join(f"count({qi(c)}) AS {qi(f'n{i}')}, "
                            f"sum((CAST({qi(c)} AS DOUBLE) - m.{qi(f'm{i}')}) * (CAST({qi(c)} AS DOUBLE) - "
                            f"m.{qi(f'm{i}')})) AS {qi(f's2{i}')}, "
                            f"sum((CAST({qi(c)} AS DOUBLE) - m.{qi(f'm{i}')}) * (CAST({qi(c)} AS DOUBLE) - "
                            f"m.{qi(f'm{i}')}) * (CAST({qi(c)} AS DOUBLE) - m.{qi(f'm{i}')})) AS {qi(f's3{i}')}"
                            for i, c in enumerate(names))
            r2 = self.sql(self.one + f", m AS (SELECT {mean} FROM one) SELECT {mom} FROM one, m").iloc[0]
            skew = {c: _skewness(float(r2[f"n{i}"]), r2[f"s2{i}"], r2[f"s3{i}"]) for i, c in enumerate(names)}
            return stats, skew
        vc = self.numeric_counts(names)
        stats, skew = {}, {}
        for c in names:
            sub = vc.loc[vc["var"] == c]
            rows = []
            for grp in groups:
                part = sub if grp == "overall" else sub.loc[sub["arm"] == grp]
                rows.append(_stats_from_counts(part["value"].to_numpy(float), part["count"].to_numpy(float)))
            stats[c] = pd.DataFrame(rows, index=groups, columns=cols).astype(float)
            v, k = _collapse(sub["value"].to_numpy(float), sub["count"].to_numpy(float))
            n = k.sum()
            m = (v * k).sum() / n if n else np.nan
            skew[c] = _skewness(n, (k * (v - m) ** 2).sum(), (k * (v - m) ** 3).sum())
        return stats, skew

    def categorical_counts(self, names: list[str], arms: list[str], enums: Mapping[str, list[Any]]
                           ) -> dict[str, tuple[list, pd.DataFrame, np.ndarray]]:
        """Per variable what ``_Builder._categorical_counts`` returns: levels, level x arm counts, missing."""
        if not names:
            return {}
        if self.kind == "duckdb":
            assert self.sql is not None
            sets = ", ".join(f"(arm, {qi(c)})" for c in names)
            flags = ", ".join(f"grouping({qi(c)}) AS {qi(f'g{i}')}" for i, c in enumerate(names))
            cols = ", ".join(qi(c) for c in names)
            r = self.sql(self.one + f"SELECT arm, {cols}, {flags}, count(*) AS _n FROM one "
                         f"GROUP BY GROUPING SETS ({sets})")
            long = {c: r.loc[r[f"g{i}"] == 0, ["arm", c, "_n"]].rename(columns={c: "value", "_n": "count"})
                    for i, c in enumerate(names)}
        else:
            def counts(part: pd.DataFrame) -> pd.DataFrame:
                frames = [pd.DataFrame({"var": pd.Series([], dtype="str"), "arm": pd.Series([], dtype="str"),
                                        "value": pd.Series([], dtype=object), "count": pd.Series([], dtype="int64")})]
                for c in names:
                    g = part.groupby([part["arm"], part[c]], dropna=False, observed=True).size()
                    frames.append(pd.DataFrame({"var": c, "arm": g.index.get_level_values(0).astype("str"),
                                                "value": pd.Series(g.index.get_level_values(1), dtype=object),
                                                "count": g.to_numpy("int64")}))
                return pd.concat(frames, ignore_index=True)

            raw = self.one_frame.map_partitions(counts, meta=counts(self.one_frame._meta)).compute()
            long = {}
            for c in names:
                sub = raw.loc[raw["var"] == c]
                long[c] = sub.groupby(["arm", "value"], dropna=False, sort=False)["count"].sum().reset_index()
        out = {}
        for c in names:
            t = long[c]
            miss_mask = t["value"].isna().to_numpy()
            seen = t.loc[~miss_mask]
            if c in enums:
                levels = list(enums[c])
            else:
                uniq = pd.unique(seen["value"])
                try:
                    levels = sorted(uniq)
                except TypeError:  # mixed types: order as text
                    levels = sorted(uniq, key=str)
            tab = seen.pivot_table(index="value", columns="arm", values="count", aggfunc="sum", fill_value=0)
            tab = tab.reindex(index=levels, columns=arms, fill_value=0).astype("int64")
            tab.index.name, tab.columns.name = None, None
            miss = t.loc[miss_mask].groupby("arm")["count"].sum().reindex(arms, fill_value=0).to_numpy(float)
            out[c] = (levels, tab, np.array([*miss, miss.sum()]))
        return out


def _skewness(n: float, s2: float, s3: float) -> float:
    """Adjusted Fisher-Pearson G1 (pandas ``Series.skew``) from n and the central power sums."""
    if n is None or not n >= 3 or s2 is None or pd.isna(s2) or s2 == 0:
        return float("nan")
    m2, m3 = s2 / n, s3 / n
    return float(np.sqrt(n * (n - 1)) / (n - 2) * m3 / m2 ** 1.5)


def _collapse(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Recorded values (sorted, distinct) and their counts from (value, count) pairs (NaN = missing)."""
    ok = ~np.isnan(values)
    u, inv = np.unique(values[ok], return_inverse=True)
    return u, np.bincount(inv, weights=counts[ok], minlength=u.size)


def _stats_from_counts(values: np.ndarray, counts: np.ndarray) -> list[float]:
    """n, missing, mean, sd, median, q1, q3, min, max from a value-count table; quantiles by R's type 7
    (linear interpolation between order statistics), exactly as pandas' ``quantile``."""
    missing = float(counts[np.isnan(values)].sum())
    v, k = _collapse(values, counts)
    n = float(k.sum())
    if n == 0:
        return [0.0, missing] + [np.nan] * 7
    mean = float((v * k).sum() / n)
    sd = float(np.sqrt((k * (v - mean) ** 2).sum() / (n - 1))) if n > 1 else np.nan
    ends = np.cumsum(k)  # order statistics 0..ends[j]-1 equal v[j] (0-based)

    def order_stat(i: np.ndarray) -> np.ndarray:
        return v[np.searchsorted(ends, i, side="right")]

    h = (n - 1) * np.asarray(_QUANTILES)
    lo = np.floor(h)
    a, b = order_stat(lo), order_stat(np.minimum(lo + 1, n - 1))
    q = a + (h - lo) * (b - a)
    return [n, missing, mean, sd, float(q[0]), float(q[1]), float(q[2]), float(v[0]), float(v[-1])]


class _AggBuilder(_Builder):
    """The in-memory Table 1 builder fed with aggregates instead of rows."""

    def __init__(self, cont: Mapping[str, pd.DataFrame], cat: Mapping[str, tuple[list, pd.DataFrame, np.ndarray]],
                 *args: Any):
        super().__init__(None, *args)
        self._cont, self._cat = cont, cat

    def _continuous_stats(self, var: _Var) -> pd.DataFrame:
        return self._cont[var.name]

    def _categorical_counts(self, var: _Var) -> tuple[list, pd.DataFrame, np.ndarray]:
        return self._cat[var.name]


# --------------------------------------------------------------------------------------------
# the function
# --------------------------------------------------------------------------------------------
def table_one(data: Any, arms: Sequence[str], instruments: Mapping[str, Instrument] | None = None,
              covariates: str | Sequence[str] | None = None, *, continuous: Sequence[str] | None = None,
              categorical: Sequence[str] | None = None, nonnormal: Sequence[str] | None = None,
              reference: str | None = None, alpha: float = 0.05, suppress_below: int | None = None,
              skew_threshold: float | None = 1.0, labels: Mapping[str, str] | None = None,
              digits: int | None = None) -> TableOne:
    """Table 1 (baseline by arm) of a table that stays in DuckDB or Dask: :func:`combotherapy.table_one` by
    aggregate queries.

    Parameters
    ----------
    data : duckdb.DuckDBPyRelation or dask.dataframe.DataFrame
        The canonical long table, with the columns of ``Trial.data``: ``subject`` (text), ``arm`` (text),
        ``visit`` (weeks, 0 = baseline), outcome and covariate columns (subject-level columns repeated on every
        row of the subject). E.g. ``duckdb.read_parquet("trial/*.parquet")`` or ``dask.dataframe.read_parquet``.
    arms : list of str
        The arms in display order (``Trial.arms``); every arm in the data must be listed.
    instruments : mapping, optional
        Outcome column -> :class:`~combotherapy.instruments.Instrument` (``Trial.instruments``). Default: the
        registry instrument of every column named like one (``pain``, ``odi``, ``recovery_time``...); the other
        non-key columns are covariates.
    covariates, continuous, categorical, nonnormal, reference, alpha, suppress_below, skew_threshold, labels, \
digits
        As :func:`combotherapy.table_one`.

    Returns
    -------
    TableOne
        The same result as ``ct.table_one(trial, ...)`` on the same data: ``.table``, ``.numbers``, ``.smd``,
        ``.differences``, ``.variables``, ``.n``, ``.notes`` and the exports.

    Raises
    ------
    DataError
        As :func:`combotherapy.table_one`, and for an input that is neither a DuckDB relation nor a Dask
        DataFrame, a missing key column, or arm values not in ``arms``.

    Notes
    -----
    One row per subject is formed inside the engine (subject-level columns: their value; visit-level columns:
    the visit-0 value, missing without a visit-0 row), exactly as ``Trial.subjects`` and the baseline frame of
    the in-memory function. A column is subject-level when no subject has two distinct values of it.

    *DuckDB*: per arm and overall (``GROUPING SETS``) ``count``, ``avg``, ``stddev_samp``, ``min``, ``max`` and
    ``quantile_cont`` at 0.25, 0.5, 0.75 — linear interpolation between order statistics, R's type 7, the rule
    of the in-memory table (pandas ``quantile``); the skewness from the central moments about the pooled mean
    (two passes); categorical counts per arm and level with ``GROUPING SETS``. About six scans of the table;
    only those aggregates come back.

    *Dask*: the rows are shuffled by subject (each subject's rows in one partition), each partition makes its
    subjects' rows and counts each variable's values per arm, and the counts are summed. Every statistic,
    quartiles included, is then exact (no approximate percentiles), computed from the distinct values and
    their counts: what comes back grows with the number of distinct values per arm (small for recorded
    measurements such as ages and scores; as many as subjects for an unrounded continuous variable).

    The statistics after aggregation are the in-memory code (:class:`combotherapy.table_one.stats._Builder`):
    the display rule, SMDs, Welch and Newcombe intervals and small-cell suppression are the same.

    References
    ----------
    Hyndman RJ, Fan Y (1996). Sample quantiles in statistical packages. Am Stat 50:361-365.

    Example
    -------
    >>> import duckdb
    >>> import combotherapy as ct
    >>> from combotherapy.scale.table_one import table_one
    >>> trial = ct.simulate_trial(n_per_arm=40, seed=1)
    >>> rel = duckdb.from_df(trial.data)          # or duckdb.read_parquet("trial.parquet")
    >>> t1 = table_one(rel, trial.arms, trial.instruments, ["age", "sex", "pain"], reference="physio")
    >>> t1.table.equals(ct.table_one(trial, ["age", "sex", "pain"], reference="physio").table)
    True
    """
    engine = _Engine(data)
    columns = check_columns(data, (), "table_one")
    kinds_of = schema(data)
    inst = default_instruments(columns) if instruments is None else {k: v for k, v in instruments.items()
                                                                     if k in columns}
    check_options_for_arms(arms, alpha, suppress_below, skew_threshold, reference, digits)
    candidates = [c for c in columns if c not in KEY_COLUMNS and (c not in inst or inst[c].level == "subject")]
    subject_level, has_baseline, seen = engine.facts(candidates)
    arm_order = check_arms(arms, seen, "table_one")
    shim = _Schema(columns, inst, subject_level, has_baseline)
    names, notes_default = _select(shim, covariates, continuous, categorical, nonnormal)  # type: ignore[arg-type]
    labels = dict(labels or {})
    stray = [k for k in labels if k not in names]
    if stray:
        raise DataError(f"table_one: labels given for {stray}, which are not among the variables described {names}; "
                        "check the spelling or add them to covariates")
    source = {n: "subject" if n in set(subject_level) else "baseline" for n in names}
    engine.prepare([n for n in names if source[n] == "subject"], [n for n in names if source[n] == "baseline"])
    try:
        return _describe(engine, data, names, source, shim, kinds_of, arm_order, notes_default, continuous,
                         categorical, nonnormal, reference, alpha, suppress_below, skew_threshold, labels, digits)
    finally:
        engine.close()


def _describe(engine: _Engine, data: Any, names: list[str], source: dict[str, str], shim: _Schema,
              kinds_of: dict[str, str], arm_order: list[str], notes_default: list[str],
              continuous: Sequence[str] | None, categorical: Sequence[str] | None, nonnormal: Sequence[str] | None,
              reference: str | None, alpha: float, suppress_below: int | None, skew_threshold: float | None,
              labels: dict[str, str], digits: int | None) -> TableOne:
    """Kinds, aggregates and the table, once the subject-level table is prepared."""

    cont_set, cat_set, nonn_set = (set(_names(x, w)) for x, w in ((continuous, "continuous"),
                                                                   (categorical, "categorical"),
                                                                   (nonnormal, "nonnormal")))
    numeric_forced = cont_set | nonn_set
    numeric = {n: kinds_of[n] == "numeric" for n in names}
    found = ProblemCollector()
    for name in names:
        if name in numeric_forced and name not in cat_set and not numeric[name]:
            found.add(name, f"named as continuous/nonnormal but holds {kinds_of[name]} values; name it in "
                            "categorical= or convert it to numbers")
    found.raise_if_any(message="table_one cannot describe these variables:")
    binary_of = engine.numeric_profile([n for n in names if numeric[n] and n not in cat_set
                                        and n not in numeric_forced])
    kinds, binary = {}, []
    for name in names:
        if name in cat_set:
            kinds[name] = "categorical"
        elif binary_of.get(name, False):
            kinds[name] = "categorical"
            binary.append(name)
        else:
            kinds[name] = "continuous" if numeric[name] else "categorical"
    if binary:
        notes_default = list(notes_default) + [
            f"{', '.join(binary)}: numeric 0/1 code{'s' if len(binary) > 1 else ''}, shown as n (%) of each value; "
            f"name {'them' if len(binary) > 1 else 'it'} in continuous= to show "
            f"{'them as numbers' if len(binary) > 1 else 'it as a number'}."]

    counts = engine.arm_sizes()
    arms_present = [a for a in arm_order if counts.get(a, 0) > 0]
    if reference is not None and reference not in arms_present:
        raise DataError(f"reference arm {reference!r} has no subjects in this trial; arms with subjects: "
                        f"{arms_present}")
    ref = reference if reference is not None else arms_present[0]
    n_arm = pd.Series([int(counts[a]) for a in arms_present], index=arms_present, name="n")

    cont_names = [n for n in names if kinds[n] == "continuous"]
    cat_names = [n for n in names if kinds[n] == "categorical"]
    cont, skew = engine.continuous_stats(cont_names, arms_present)
    enums = {n: enum_levels(data, n, engine.sql) for n in cat_names if kinds_of[n] == "enum"}
    cat = engine.categorical_counts(cat_names, arms_present, enums)
    builder = _AggBuilder(cont, cat, arms_present, n_arm, ref, reference, alpha, suppress_below, digits)

    return assemble(builder, names, kinds, source, lambda name: _label(shim, name, labels),  # type: ignore[arg-type]
                    lambda name: skew[name], nonn_set, skew_threshold, ref=ref, arms=arms_present,
                    reference=reference, alpha=alpha, suppress_below=suppress_below, n_arm=n_arm,
                    notes_default=notes_default)

