"""``LazyTrial``: the face of a :class:`~combotherapy.Trial` over rows that stay in DuckDB or on a Dask cluster."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, ModelError
from ..instruments import Instrument
from ..trial import KEY_COLUMNS, Decision, Trial, instrument_among, visit_among

__all__ = ["LazyTrial", "load_lazy", "from_dask", "needs_rows", "BACKENDS"]

BACKENDS = ("duckdb", "dask")


class LazyTrial:
    """A validated trial whose rows are not in Python memory: a DuckDB relation or a Dask data frame.

    Built by :func:`combotherapy.load` with ``backend="duckdb"`` (or a DuckDB relation/connection) or from a Dask
    data frame. It has the face of a :class:`~combotherapy.Trial` (``arms``, ``visits``, ``outcomes``,
    ``visit_outcomes``, ``covariates``, ``subject_columns``, ``instruments``, ``n_subjects``, ``notes``,
    ``decisions``, ``source``, :meth:`instrument`, :meth:`check_visit`); :func:`combotherapy.ancova` and
    :func:`combotherapy.mmrm` fit it from sufficient statistics computed by the engine; :func:`combotherapy.table_one`,
    :func:`combotherapy.responders` and :func:`combotherapy.survival` (Kaplan-Meier, log-rank, RMST) run as
    aggregate queries (:mod:`combotherapy.scale.table_one`, ``.responders``, ``.survival``).

    Attributes
    ----------
    backend : {"duckdb", "dask"}
    relation : duckdb.DuckDBPyRelation
        (DuckDB) the canonical long relation: ``subject`` (VARCHAR), ``arm`` (VARCHAR, canonical arm names, order
        in :attr:`arms`), ``visit`` (DOUBLE weeks, 0 = baseline), then outcomes (DOUBLE) and covariates. Lazy: every
        query over it scans the source again.
    frame : dask.dataframe.DataFrame
        (Dask) the same columns as a Dask data frame.
    n_rows : int
        Rows of the canonical relation.

    Notes
    -----
    Validation ran on the whole data as aggregates (null counts, distinct arm and visit labels, outcome ranges and
    non-numeric cells, duplicate subject-visit pairs, subjects in two arms) and on a bounded, seeded sample of
    subjects through the in-memory loader (``ct.load``: mappings, cell types, covariates kept, the identifier guard
    on values); ``notes`` say how large the sample was. Models that need individual rows (Cox, GLMs, mediation,
    ...) refuse a LazyTrial and name the two routes: :meth:`sample` or :meth:`collect`.

    Example
    -------
    >>> import combotherapy as ct
    >>> ct.simulate_trial(n_per_arm=30, seed=1).data.to_parquet("visits.parquet")
    >>> lazy = ct.load("visits.parquet", backend="duckdb")
    >>> lazy.arms, lazy.n_subjects, lazy.relation.columns[:3]
    (['physio', 'acupuncture', 'combined'], 90, ['subject', 'arm', 'visit'])
    >>> ct.ancova(lazy, "pain", 12, missing_baseline="exclude").contrasts["contrast"].tolist()
    ['combined - physio', 'combined - acupuncture', 'physio - acupuncture']
    >>> ct.responders(lazy, "pain", 12, threshold=2).by_arm["n"].tolist()
    [30, 30, 30]
    >>> ct.mediation(lazy)
    Traceback (most recent call last):
    ...
    combotherapy.errors.ModelError: mediation needs individual rows, ...
    >>> lazy.sample(20, seed=1).n_subjects
    20
    """

    backend: str
    instruments: Mapping[str, Instrument]
    columns: tuple[str, ...]
    n_subjects: int
    n_rows: int
    source: str
    decisions: tuple[Decision, ...]
    _data: Any
    _connection: Any
    _arms: tuple[str, ...]
    _visits: tuple[float, ...]
    _subject_columns: tuple[str, ...]

    def __init__(self, *, backend: str, data: Any, arms: Sequence[str], visits: Sequence[float],
                 instruments: Mapping[str, Instrument], columns: Sequence[str], subject_columns: Sequence[str],
                 n_subjects: int, n_rows: int, source: str, decisions: Sequence[Decision] = (),
                 connection: Any = None):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}")
        put = object.__setattr__
        put(self, "backend", backend)
        put(self, "_data", data)
        put(self, "_connection", connection)   # keeps the DuckDB connection of the relation alive
        put(self, "_arms", tuple(str(a) for a in arms))
        put(self, "_visits", tuple(sorted(float(v) for v in visits)))
        put(self, "instruments", MappingProxyType(dict(instruments)))
        put(self, "columns", tuple(columns))
        put(self, "_subject_columns", tuple(subject_columns))
        put(self, "n_subjects", int(n_subjects))
        put(self, "n_rows", int(n_rows))
        put(self, "source", str(source))
        put(self, "decisions", tuple(decisions))

    def __setattr__(self, name, value):
        raise AttributeError(f"a LazyTrial is immutable: cannot set {name!r}")

    # --- the canonical data ------------------------------------------------------------
    @property
    def relation(self):
        """The canonical long relation (DuckDB backend)."""
        if self.backend != "duckdb":
            raise AttributeError("this LazyTrial is on Dask: use .frame (a dask.dataframe.DataFrame)")
        return self._data

    @property
    def frame(self):
        """The canonical long data frame (Dask backend)."""
        if self.backend != "dask":
            raise AttributeError("this LazyTrial is on DuckDB: use .relation (a duckdb.DuckDBPyRelation)")
        return self._data

    @property
    def engine_data(self):
        """The canonical long data on whichever engine holds it: :attr:`relation` (DuckDB) or :attr:`frame` (Dask).

        The aggregate analyses of :mod:`combotherapy.scale` (Table 1, responders, Kaplan-Meier/log-rank/RMST)
        take it, so ``ct.table_one``, ``ct.responders`` and ``ct.survival`` run on a LazyTrial directly."""
        return self._data

    # --- row views: not on a lazy trial (a clear error naming the routes, never a silent subsample) ---------
    @property
    def data(self):
        """Not available: the rows are not in memory (ModelError naming :meth:`collect` and :meth:`sample`)."""
        needs_rows(self, "this analysis")

    @property
    def subjects(self):
        needs_rows(self, "a per-subject table")

    def at(self, visit: float):
        needs_rows(self, "rows at one visit")

    def baseline(self, outcome: str):
        needs_rows(self, "per-subject baseline values")

    def wide(self, outcome: str):
        needs_rows(self, "a subject x visit table")

    # --- the Trial face ----------------------------------------------------------------
    @property
    def arms(self) -> list[str]:
        """Arms in display order."""
        return list(self._arms)

    @property
    def visits(self) -> list[float]:
        """Sorted visit times in weeks, 0 = baseline."""
        return list(self._visits)

    @property
    def outcomes(self) -> list[str]:
        return [c for c in self.columns if c in self.instruments]

    @property
    def visit_outcomes(self) -> list[str]:
        return [c for c in self.outcomes if self.instruments[c].level == "visit"]

    @property
    def covariates(self) -> list[str]:
        return [c for c in self.columns if c not in KEY_COLUMNS and c not in self.instruments]

    @property
    def subject_columns(self) -> list[str]:
        """Columns constant within every subject (computed once, as an aggregate, when the trial was loaded)."""
        return list(self._subject_columns)

    @property
    def notes(self) -> list[str]:
        return [d.message for d in self.decisions]

    def instrument(self, outcome: str) -> Instrument:
        """The instrument of an outcome column; DataError when the trial has no such outcome."""
        return instrument_among(outcome, self.columns, self.instruments, self.outcomes)

    def check_visit(self, visit: float) -> float:
        """``visit`` as a float if the trial has it, else a DataError listing the trial's visits."""
        return visit_among(visit, self._visits)

    # --- into memory -------------------------------------------------------------------
    def sample(self, n: int, *, seed: int) -> Trial:
        """An in-memory :class:`~combotherapy.Trial` of ``n`` subjects drawn by a seeded hash of the subject code.

        All rows of each drawn subject are kept; the same ``seed`` draws the same subjects. The trial's notes say
        that it is a subsample (of how many subjects, with which seed), so results fitted on it say so too.

        Parameters
        ----------
        n : int
            Subjects to draw (all of them when the trial has fewer).
        seed : int
            The seed of the draw (required: a subsample is never drawn silently or unseeded).

        Returns
        -------
        Trial
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise DataError(f"sample(n, seed=...) needs a whole number of subjects n >= 1, not {n!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise DataError(f"sample(n, seed=...) needs an integer seed, not {seed!r}")
        from . import backends
        frame = backends.sample_rows(self, int(n), int(seed))
        k = frame["subject"].nunique()
        note = (f"SUBSAMPLE: {k} of {self.n_subjects} subjects drawn by a seeded hash of the subject code "
                f"(LazyTrial.sample(n={int(n)}, seed={int(seed)})); results describe this subsample, not the whole "
                "data")
        return self._to_trial(frame, extra=[note])

    def collect(self) -> Trial:
        """The whole trial as an in-memory :class:`~combotherapy.Trial` (when it fits in memory)."""
        from . import backends
        return self._to_trial(backends.collect_rows(self), extra=[])

    def _to_trial(self, frame: pd.DataFrame, extra: list[str]) -> Trial:
        frame = frame[list(self.columns)]
        frame["arm"] = pd.Categorical(frame["arm"], categories=list(self._arms), ordered=True)
        frame["subject"] = frame["subject"].astype(str)
        order = np.lexsort((frame["visit"].to_numpy(float), frame["subject"].to_numpy()))
        frame = frame.iloc[order].reset_index(drop=True)
        decisions = [*self.decisions, *(Decision("note", None, e) for e in extra)]
        return Trial._from_validated(frame, dict(self.instruments), source=self.source, decisions=decisions)

    def __repr__(self) -> str:
        visits = ", ".join(f"{v:g}" for v in self.visits)
        return (f"<LazyTrial ({self.backend}) from {self.source}: {self.n_subjects} subjects, {self.n_rows} rows; "
                f"arms {', '.join(self.arms)}; visits (weeks) {visits}; outcomes {', '.join(self.outcomes)}>")


def needs_rows(trial: Any, what: str) -> None:
    """Refuse a :class:`LazyTrial` in an analysis that needs individual rows, naming the documented routes."""
    if isinstance(trial, LazyTrial):
        raise ModelError(
            f"{what} needs individual rows, and this trial is lazy ({trial.backend}, {trial.n_subjects} subjects, "
            f"rows not in memory); nothing was subsampled. Fit it on an in-memory trial: trial.collect() when the "
            f"data fit in memory, or trial.sample(n, seed=...) for a seeded subsample of subjects (its notes say "
            f"so). ct.ancova, ct.mmrm, ct.table_one, ct.responders and ct.survival (Kaplan-Meier, log-rank, RMST; "
            f"not the Cox model) run on a LazyTrial directly.", kind="needs rows")


def load_lazy(source: Any, *, backend: str | None = "duckdb", table: str | None = None,
              columns: Mapping[str, str] | None = None, arms: Mapping | None = None, layout: str = "auto",
              outcomes: Mapping[str, Instrument] | None = None, visits: Mapping | None = None,
              missing: Mapping[str, Sequence] | None = None, allow_identifiers: Sequence[str] = (),
              sample_subjects: int = 2000, seed: int = 0) -> LazyTrial:
    """The lazy loader behind ``ct.load(..., backend="duckdb")`` and ``ct.load(dask_dataframe)``.

    See :func:`combotherapy.load` for the shared arguments; ``sample_subjects`` and ``seed`` bound the sample the
    in-memory checks (cell types, the identifier guard on values) run on.
    """
    from . import backends
    if _is_dask(source) or backend == "dask":
        return backends.load_dask(source, columns=columns, arms=arms, layout=layout, outcomes=outcomes,
                                  visits=visits, missing=missing, allow_identifiers=allow_identifiers,
                                  sample_subjects=sample_subjects, seed=seed)
    if backend != "duckdb":
        raise DataError(f"backend must be one of {list(BACKENDS)} (or None for an in-memory Trial), not {backend!r}")
    if not isinstance(source, (str, os.PathLike)) and not backends.is_duckdb(source):
        raise DataError(f"backend='duckdb' reads a Parquet file, a folder or glob of Parquet files, a DuckDB "
                        f"database file (with table=), a duckdb connection (with table=) or relation, not "
                        f"{type(source).__name__}")
    return backends.load_duckdb(source, table=table, columns=columns, arms=arms, layout=layout, outcomes=outcomes,
                                visits=visits, missing=missing, allow_identifiers=allow_identifiers,
                                sample_subjects=sample_subjects, seed=seed)


def from_dask(frame: Any, **options: Any) -> LazyTrial:
    """A :class:`LazyTrial` over a ``dask.dataframe.DataFrame`` (long layout); options as :func:`combotherapy.load`.

    Example
    -------
    >>> import combotherapy as ct, dask.dataframe as dd                             # doctest: +SKIP
    >>> lazy = ct.from_dask(dd.read_parquet("visits/"), columns={"subject": "pid"})  # doctest: +SKIP
    """
    return load_lazy(frame, backend="dask", **options)


def _is_dask(source: Any) -> bool:
    return type(source).__module__.split(".")[0] in ("dask", "dask_expr")
