"""Registry-size data: a :class:`LazyTrial` whose rows stay in DuckDB (out-of-core) or on a Dask cluster.

``ct.load(path, backend="duckdb")`` (a Parquet file, a folder of Parquet files, a glob, a DuckDB database file with
``table=``, a DuckDB connection with ``table=`` or a ``duckdb`` relation) and ``ct.load(dask_dataframe)`` return a
:class:`LazyTrial`: the face of a :class:`~combotherapy.Trial` (arms, visits, outcomes, covariates, instruments,
subject_columns, n_subjects, notes) over a canonical long relation that is never brought into Python memory.
``ct.ancova`` and ``ct.mmrm`` accept it and fit from sufficient statistics computed by the engine; ``ct.table_one``,
``ct.responders`` and ``ct.survival`` (Kaplan-Meier, log-rank, RMST) run as aggregate queries (modules
``table_one``, ``responders``, ``survival`` here); models that need rows (Cox, GLMs, mediation) refuse it and name the routes: ``lazy.sample(n, seed=...)`` (a seeded subject subsample, said so in its notes)
or ``lazy.collect()``.

For other aggregate analyses the canonical data are ``LazyTrial.relation`` (a ``duckdb.DuckDBPyRelation``) or
``LazyTrial.frame`` (a ``dask.dataframe.DataFrame``) with columns ``subject`` (text), ``arm`` (text; the order is
``LazyTrial.arms``), ``visit`` (float weeks, 0 = baseline), then the outcome and covariate columns. Aggregate analyses
plug in there with ``LazyTrial.arms``, ``.visits``, ``.instruments`` (the outcomes' ranges and directions) and
``.subject_columns`` (columns constant within subjects); ``LazyTrial.backend`` says which of the two it is.

Modules: ``lazy`` (:class:`LazyTrial`, the loaders' entry point, :func:`needs_rows`), ``backends`` (opening DuckDB
sources and Dask frames, mappings, whole-data checks, sampling), ``stats`` (the per-subject table and its aggregates:
cross-products and per-pattern cross-products for ``ct.ancova`` and ``ct.mmrm``), ``table_one``, ``responders``,
``survival`` (aggregate analyses over the canonical relation or Dask frame; ``_aggregates`` holds what they share).
"""

from .lazy import LazyTrial, from_dask, load_lazy, needs_rows

__all__ = ["LazyTrial", "from_dask", "load_lazy", "needs_rows"]
