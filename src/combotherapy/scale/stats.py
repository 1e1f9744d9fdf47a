"""Sufficient statistics of a :class:`LazyTrial`, computed by the engine (DuckDB SQL or Dask partitions).

One per-subject table (arm, the outcome at the visits asked, covariates at the subject level or at baseline, and
the first reason a subject is not analysed), then aggregates over it: counts by arm and reason, the summaries the
reference grid needs, distinct factor levels, the cross-products of a linear model's columns and the per-pattern
cross-products of the MMRM. Only these small arrays reach Python; the rows never do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .backends import NUMERIC_SQL, literal, quote
from .lazy import LazyTrial

__all__ = ["Feature", "subject_table"]


@dataclass(frozen=True)
class Feature:
    """A subject-level design column: ``one`` (1), ``arm`` (arm == value), ``num`` (column - center, optionally
    of its log), ``level`` (column == value)."""

    kind: str
    column: str | None = None
    value: Any = None
    center: float = 0.0
    log: bool = False


def subject_table(lazy: LazyTrial, outcome: str, visits: Sequence[float], covariates: Sequence[str],
                  reasons: Sequence[Sequence[str]]) -> Any:
    """The per-subject table: ``arm``, ``y0`` (baseline), ``y1..yk`` (the outcome at ``visits``), ``c0..`` (the
    covariates: subject-level ones as they are, others at week 0) and ``reason`` (0 = analysed; r = the first group
    of ``reasons`` whose columns are all missing)."""
    if lazy.backend == "duckdb":
        return _DuckSubjects(lazy, outcome, visits, covariates, reasons)
    return _DaskSubjects(lazy, outcome, visits, covariates, reasons)


def _names(visits: Sequence[float], covariates: Sequence[str]) -> tuple[list[str], list[str]]:
    return [f"y{j + 1}" for j in range(len(visits))], [f"c{j}" for j in range(len(covariates))]


class _DuckSubjects:
    def __init__(self, lazy: LazyTrial, outcome: str, visits, covariates, reasons):
        ys, cs = _names(visits, covariates)
        y = quote(outcome)
        level = set(lazy.subject_columns)
        sel = ["any_value(arm) AS arm", f"max({y}) FILTER (WHERE visit = 0) AS y0"]
        sel += [f"max({y}) FILTER (WHERE visit = {literal(float(v))}) AS {n}" for n, v in zip(ys, visits)]
        sel += [f"max({quote(c)}) AS {n}" if c in level else f"max({quote(c)}) FILTER (WHERE visit = 0) AS {n}"
                for n, c in zip(cs, covariates)]
        cases = " ".join(f"WHEN {' AND '.join(f'{c} IS NULL' for c in group)} THEN {r + 1}"
                         for r, group in enumerate(reasons))
        self.rel = lazy.relation.query(
            "t", f"SELECT *, CASE {cases} ELSE 0 END AS reason FROM (SELECT subject, {', '.join(sel)} FROM t "
                 "GROUP BY subject)")
        self.types = dict(zip(self.rel.columns, [str(t) for t in self.rel.types]))
        cols = ["y0", *ys, *cs]
        # one query: non-missing counts of every column, and subjects by arm and reason (one row per group)
        # (and the levels of every text column among analysed subjects)
        text = [c for c in cs if not self.numeric(c)]
        lists = "".join(f", list(DISTINCT {c}) FILTER (WHERE reason = 0)" for c in text)
        rows = self._q(f"SELECT arm, reason, count(*), {', '.join(f'count({c})' for c in cols)}{lists} FROM s "
                       "GROUP BY ALL")
        self._groups = pd.DataFrame([r[:3] for r in rows], columns=["arm", "reason", "n"])
        self._nonnull = {c: sum(int(r[3 + j]) for r in rows) for j, c in enumerate(cols)}
        at = 3 + len(cols)
        self._levels = {c: list(dict.fromkeys(v for r in rows for v in (r[at + j] or ()) if v is not None))
                        for j, c in enumerate(text)}

    def _q(self, sql: str) -> list[tuple]:
        return self.rel.query("s", sql).fetchall()

    def reason_counts(self) -> pd.DataFrame:
        g = self._groups
        return g[g["reason"] > 0].sort_values(["reason", "arm"]).reset_index(drop=True)

    def arm_counts(self) -> dict[str, int]:
        g = self._groups
        return {str(a): int(n) for a, n in g[g["reason"] == 0].groupby("arm")["n"].sum().items()}

    def count_reason(self, codes: Sequence[int]) -> int:
        return int(self._groups.loc[self._groups["reason"].isin(list(codes)), "n"].sum())

    def ids_reason(self, codes: Sequence[int], limit: int = 11) -> list[str]:
        where = f"reason IN ({', '.join(str(int(c)) for c in codes)})"
        return [r[0] for r in self._q(f"SELECT subject FROM s WHERE {where} ORDER BY subject LIMIT {limit}")]

    def nonpositive(self, cols: Sequence[str], limit: int = 11) -> tuple[int, list[str]]:
        where = "reason = 0 AND (" + " OR ".join(f"{c} <= 0" for c in cols) + ")"
        n = int(self._q(f"SELECT count(*) FROM s WHERE {where}")[0][0])
        ids = [r[0] for r in self._q(f"SELECT subject FROM s WHERE {where} ORDER BY subject LIMIT {limit}")]
        return n, ids

    def all_null(self, col: str) -> bool:
        return self._nonnull[col] == 0

    def numeric(self, col: str) -> bool:
        t = self.types[col].split("(")[0]
        return t in NUMERIC_SQL

    def summaries(self, cols: Sequence[str], logs: Sequence[bool], weight: Sequence[str] = ()) -> dict:
        """Per column among analysed subjects: mean (weighted by the number of non-missing ``weight`` columns if
        given), min, max, and whether it takes exactly two distinct values."""
        w = " + ".join(f"CAST({c} IS NOT NULL AS DOUBLE)" for c in weight) if weight else "1.0"
        xs = [f"ln({c})" if lg else f"CAST({c} AS DOUBLE)" for c, lg in zip(cols, logs)]
        aggs = [f"fsum({x} * ({w})) / fsum({w}), min({x}), max({x}), count(DISTINCT {x})" for x in xs]
        got = self._q(f"SELECT {', '.join(aggs)} FROM s WHERE reason = 0")[0]
        return {c: (float(got[4 * j]), float(got[4 * j + 1]), float(got[4 * j + 2]), int(got[4 * j + 3]) == 2)
                for j, c in enumerate(cols)}

    def levels(self, col: str) -> list:
        if col in self._levels:
            return self._levels[col]
        return [r[0] for r in self._q(f"SELECT DISTINCT {col} FROM s WHERE reason = 0 AND {col} IS NOT NULL")]

    def _expr(self, f: Feature) -> str:
        if f.kind == "one":
            return "1.0"
        if f.kind == "arm":
            return f"CAST(arm = {literal(f.value)} AS DOUBLE)"
        if f.kind == "level":
            return f"CAST({f.column} = {literal(f.value)} AS DOUBLE)"
        x = f"ln({f.column})" if f.log else f"CAST({f.column} AS DOUBLE)"
        return f"({x} - {literal(float(f.center))})"

    def crossproducts(self, features: Sequence[Feature], y: Feature) -> tuple[np.ndarray, float, float, float]:
        """Z'Z of Z = [features, y] over analysed subjects (Kahan sums), n, min and max of y."""
        z = [self._expr(f) for f in [*features, y]]
        m = len(z)
        pairs = [(i, j) for i in range(m) for j in range(i, m)]
        sums = ", ".join(f"fsum({z[i]} * {z[j]})" for i, j in pairs)
        yx = self._expr(y)
        got = self._q(f"SELECT count(*), min({yx}), max({yx}), {sums} FROM s WHERE reason = 0")[0]
        ZZ = np.empty((m, m))
        for (i, j), v in zip(pairs, got[3:]):
            ZZ[i, j] = ZZ[j, i] = float(v)
        return ZZ, float(got[0]), float(got[1]), float(got[2])

    def pattern_crossproducts(self, features: Sequence[Feature], ycols: Sequence[str]
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per missingness pattern of ``ycols``: the mask, the count and Z'Z of Z = [features, y with 0 where
        missing] over analysed subjects."""
        z = [self._expr(f) for f in features] + [f"coalesce({c}, 0.0)" for c in ycols]
        m, k = len(z), len(ycols)
        code = " + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE {1 << a} END)" for a, c in enumerate(ycols))
        pairs = [(i, j) for i in range(m) for j in range(i, m)]
        sums = ", ".join(f"fsum({z[i]} * {z[j]})" for i, j in pairs)
        rows = self._q(f"SELECT {code} AS pattern, count(*), {sums} FROM s WHERE reason = 0 GROUP BY pattern "
                       "ORDER BY pattern")
        P = len(rows)
        ZZ = np.empty((P, m, m))
        codes = np.array([int(r[0]) for r in rows], dtype=np.int64)
        for p, r in enumerate(rows):   # loop over missingness patterns
            for (i, j), v in zip(pairs, r[2:]):   # loop over the cross-product entries
                ZZ[p, i, j] = ZZ[p, j, i] = float(v)
        mask = (codes[:, None] >> np.arange(k)[None, :]) & 1 == 1
        return mask, np.array([float(r[1]) for r in rows]), ZZ


class _DaskSubjects:
    def __init__(self, lazy: LazyTrial, outcome: str, visits, covariates, reasons):
        ys, cs = _names(visits, covariates)
        level = set(lazy.subject_columns)
        frame = lazy.frame
        vis = [float(v) for v in visits]
        covs = list(covariates)

        def widen(d: pd.DataFrame) -> pd.DataFrame:
            out = pd.DataFrame({"subject": d["subject"], "arm": d["arm"]}, index=d.index)
            y = d[outcome].astype(float)
            out["y0"] = y.where(d["visit"] == 0.0)
            for n, v in zip(ys, vis):
                out[n] = y.where(d["visit"] == v)
            for n, c in zip(cs, covs):
                out[n] = d[c] if c in level else d[c].where(d["visit"] == 0.0)
            return out

        wide = frame.map_partitions(widen, meta=widen(frame._meta))
        agg = {c: "first" for c in wide.columns if c != "subject"}
        per = wide.groupby("subject").agg(agg, split_out=max(1, frame.npartitions)).reset_index()
        groups = [list(g) for g in reasons]

        def reason(d: pd.DataFrame) -> pd.DataFrame:
            r = np.zeros(len(d), dtype=np.int64)
            for k, g in enumerate(groups):
                hit = (r == 0) & d[g].isna().all(axis=1).to_numpy()
                r[hit] = k + 1
            return d.assign(reason=r)

        # one shuffle on subject, kept on the workers (persisted there, never gathered) for the aggregates below
        self.frame = per.map_partitions(reason, meta=reason(per._meta)).persist()
        cols = ["y0", *ys, *cs]

        def profile(d: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
            return d.groupby(["arm", "reason"]).size(), d[cols].notna().sum()

        parts = self._parts(profile)
        groups = pd.concat([p[0] for p in parts]).groupby(level=[0, 1]).sum() if parts else pd.Series(dtype=int)
        self._groups = groups.rename("n").reset_index() if len(groups) else pd.DataFrame(columns=["arm", "reason", "n"])
        self._nonnull = {c: int(sum(p[1][c] for p in parts)) for c in cols}

    def _parts(self, fn) -> list:
        import dask
        return list(dask.compute(*[dask.delayed(fn)(p) for p in self.frame.to_delayed()]))

    def _analysed(self, d: pd.DataFrame) -> pd.DataFrame:
        return d[d["reason"].to_numpy() == 0]

    def reason_counts(self) -> pd.DataFrame:
        g = self._groups
        return g[g["reason"] > 0].sort_values(["reason", "arm"]).reset_index(drop=True)[["arm", "reason", "n"]]

    def count_reason(self, codes: Sequence[int]) -> int:
        return int(self._groups.loc[self._groups["reason"].isin(list(codes)), "n"].sum())

    def ids_reason(self, codes: Sequence[int], limit: int = 11) -> list[str]:
        parts = self._parts(lambda d: sorted(d.loc[np.isin(d["reason"].to_numpy(), list(codes)),
                                                   "subject"].astype(str))[:limit])
        return sorted(x for p in parts for x in p)[:limit]

    def nonpositive(self, cols: Sequence[str], limit: int = 11) -> tuple[int, list[str]]:
        def part(d):
            d = self._analysed(d)
            bad = (d[list(cols)].to_numpy(float) <= 0).any(axis=1)
            return int(bad.sum()), sorted(d.loc[bad, "subject"].astype(str))[:limit]

        parts = self._parts(part)
        return sum(p[0] for p in parts), sorted(x for p in parts for x in p[1])[:limit]

    def all_null(self, col: str) -> bool:
        return self._nonnull[col] == 0

    def numeric(self, col: str) -> bool:
        s = self.frame._meta[col]
        return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)

    def summaries(self, cols: Sequence[str], logs: Sequence[bool], weight: Sequence[str] = ()) -> dict:
        def part(d):
            d = self._analysed(d)
            w = d[list(weight)].notna().sum(axis=1).to_numpy(float) if weight else np.ones(len(d))
            res = []
            for c, lg in zip(cols, logs):
                x = d[c].to_numpy(float)
                x = np.log(x) if lg else x
                res.append((float(w @ x), float(w.sum()), x.min() if len(x) else np.inf,
                            x.max() if len(x) else -np.inf, np.unique(x)[:3] if len(x) else np.array([])))
            return res

        parts = self._parts(part)
        out = {}
        for j, c in enumerate(cols):
            sx = sum(p[j][0] for p in parts)
            sw = sum(p[j][1] for p in parts)
            lo = min(p[j][2] for p in parts)
            hi = max(p[j][3] for p in parts)
            distinct = np.unique(np.concatenate([p[j][4] for p in parts]))
            out[c] = (sx / sw, float(lo), float(hi), len(distinct) == 2)
        return out

    def levels(self, col: str) -> list:
        parts = self._parts(lambda d: list(pd.unique(self._analysed(d)[col].dropna())))
        return list(dict.fromkeys(v for p in parts for v in p))

    def arm_counts(self) -> dict[str, int]:
        g = self._groups
        return {str(a): int(n) for a, n in g[g["reason"] == 0].groupby("arm")["n"].sum().items()}

    @staticmethod
    def _column(d: pd.DataFrame, f: Feature) -> np.ndarray:
        if f.kind == "one":
            return np.ones(len(d))
        if f.kind == "arm":
            return (d["arm"].to_numpy(object) == f.value).astype(float)
        if f.kind == "level":
            return (d[f.column].to_numpy(object) == f.value).astype(float)
        x = d[f.column].to_numpy(float)
        return (np.log(x) if f.log else x) - float(f.center)

    def crossproducts(self, features: Sequence[Feature], y: Feature) -> tuple[np.ndarray, float, float, float]:
        def part(d):
            d = self._analysed(d)
            Z = np.column_stack([self._column(d, f) for f in [*features, y]])
            yv = Z[:, -1]
            return Z.T @ Z, len(d), (yv.min() if len(d) else np.inf), (yv.max() if len(d) else -np.inf)

        parts = self._parts(part)
        return (sum(p[0] for p in parts), float(sum(p[1] for p in parts)), float(min(p[2] for p in parts)),
                float(max(p[3] for p in parts)))

    def pattern_crossproducts(self, features: Sequence[Feature], ycols: Sequence[str]
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = len(ycols)

        def part(d):
            d = self._analysed(d)
            Y = d[list(ycols)].to_numpy(float)
            obs = ~np.isnan(Y)
            code = obs.astype(np.int64) @ (np.int64(1) << np.arange(k, dtype=np.int64))
            Z = np.column_stack([self._column(d, f) for f in features] + [np.where(obs, Y, 0.0)])
            uniq, inv = np.unique(code, return_inverse=True)
            inv = inv.ravel()
            order = np.argsort(inv, kind="stable")
            bounds = np.searchsorted(inv[order], np.arange(len(uniq) + 1))
            ZZ = np.empty((len(uniq), Z.shape[1], Z.shape[1]))
            for j in range(len(uniq)):  # loop over missingness patterns
                Zj = Z[order[bounds[j]:bounds[j + 1]]]
                ZZ[j] = Zj.T @ Zj
            return uniq, np.diff(bounds).astype(float), ZZ

        parts = self._parts(part)
        codes = np.unique(np.concatenate([p[0] for p in parts])) if parts else np.array([], dtype=np.int64)
        m = len(features) + k
        ZZ = np.zeros((len(codes), m, m))
        n = np.zeros(len(codes))
        for uniq, cnt, zz in parts:   # loop over partitions
            pos = np.searchsorted(codes, uniq)
            ZZ[pos] += zz
            n[pos] += cnt
        mask = (codes[:, None] >> np.arange(k)[None, :]) & 1 == 1
        return mask, n, ZZ
