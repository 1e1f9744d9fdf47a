"""Responder analysis out of core: :func:`combotherapy.responders` from aggregate queries on DuckDB or Dask.

Every subject is classified inside the engine (responder, non-responder, excluded, and why) by the in-memory
rule, written once in SQL and once in pandas for Dask partitions; what comes back is the count of each status
per arm — the ``A x 2`` table behind the risk differences, risk ratios, NNTs and Wilson intervals — and, for the
odds ratio adjusted for baseline, the per-arm sums of one IRLS iteration at a time (the same iterations as
statsmodels' GLM in the in-memory path). From the counts onward the in-memory code
(:func:`combotherapy.models.responders._contrast_table`, ``_record``) makes the same
:class:`~combotherapy.models.responders.ResponderResult`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from ..analysis_set import change
from ..arguments import DEFAULTS, check_reference
from ..arms import contrast_pairs
from ..errors import DataError, ModelError
from ..inference import Inference
from ..instruments import Instrument
from ..models import responders as _mem
from ..models._covariates import Covariates, arm_design
from ..models.responder_measures import check_separation, contrast_table, pair_log_odds
from ..trial import Trial
from ._aggregates import Sql, check_arms, check_columns, engine_of, lit, qi
from .table_one import default_instruments

__all__ = ["responders"]

_STATUSES = ("excluded: no baseline", "excluded: no value at visit", "non-responder: no value at visit",
             "non-responder: baseline 0 (no relative improvement possible)", "responder", "non-responder")
#: statsmodels' GLM defaults as the in-memory fit uses them (tol=1e-13 on the deviance, maxiter=200)
_TOL, _MAXITER = 1e-13, 200


class _Facts:
    """What the in-memory argument checks read from a ``Trial`` (columns, visits, instruments), from aggregates."""

    def __init__(self, columns: list[str], visits: list[float], instruments: Mapping[str, Instrument],
                 source: str):
        self.columns, self.instruments, self.source = columns, dict(instruments), source
        self._visits = tuple(visits)
        self.outcomes = [c for c in columns if c in self.instruments]
        self.visit_outcomes = [c for c in self.outcomes if self.instruments[c].level == "visit"]

    @property
    def visits(self) -> list[float]:
        return list(self._visits)

    @property
    def _frame(self) -> pd.DataFrame:  # Trial.instrument reads the column names only
        return pd.DataFrame(columns=self.columns)

    instrument = Trial.instrument
    check_visit = Trial.check_visit


def _classify_part(part: pd.DataFrame, outcome: str, v: float, sign: float, threshold: float, relative: bool,
                   missing: str) -> pd.DataFrame:
    """Dask: the classification of every subject of a partition holding all rows of its subjects
    (:func:`combotherapy.models.responders._classify`, vectorised the same way)."""
    g = part.groupby("subject", sort=False, observed=True)
    frame = g["arm"].first().astype("str").to_frame()
    base_rows = part.loc[part["visit"] == 0.0, ["subject", outcome]].drop_duplicates("subject").set_index("subject")
    at = part.loc[part["visit"] == v, ["subject", outcome]]
    frame["n_at_visit"] = at.groupby("subject", sort=False).size().reindex(frame.index, fill_value=0)
    at = at.drop_duplicates("subject").set_index("subject")
    frame["baseline"] = base_rows[outcome].reindex(frame.index).to_numpy(float)
    frame["value"] = at[outcome].reindex(frame.index).to_numpy(float)
    base, value = frame["baseline"], frame["value"]
    no_base = base.isna()
    no_value = value.isna() & ~no_base
    improvement = sign * change(value, base)
    cut = threshold * base if relative else pd.Series(float(threshold), index=frame.index)
    reached = improvement >= cut - _mem.TIE_TOLERANCE * np.maximum(1.0, cut.abs())
    zero_base = (base == 0) & relative
    frame["status"] = np.select([no_base, no_value & (missing == "exclude"), no_value, zero_base, reached],
                                list(_STATUSES[:5]), default=_STATUSES[5])
    frame["negative"] = (base < 0).to_numpy()
    return frame.reset_index(drop=True)


class _Engine:
    """The per-subject classification and its aggregates on DuckDB (SQL) or Dask (per-partition pandas)."""

    def __init__(self, data: Any):
        self.data = data
        self.kind = engine_of(data)
        self.sql = Sql(data) if self.kind == "duckdb" else None
        self.frame: Any = None

    def visits_and_arms(self) -> tuple[list[float], list[str]]:
        if self.kind == "duckdb":
            assert self.sql is not None
            r = self.sql("SELECT list(DISTINCT CAST(visit AS DOUBLE)) AS v, list(DISTINCT CAST(arm AS VARCHAR)) AS a "
                         "FROM {t}").iloc[0]
            return sorted(float(x) for x in r["v"] if x is not None), [str(a) for a in r["a"] if a is not None]
        import dask
        v, a = dask.compute(self.data["visit"].astype(float).unique(), self.data["arm"].astype("str").unique())
        return sorted(float(x) for x in pd.unique(v) if pd.notna(x)), [str(x) for x in a if pd.notna(x)]

    def classify(self, outcome: str, v: float, sign: float, threshold: float, relative: bool, missing: str) -> None:
        if self.kind == "duckdb":
            y = qi(outcome)
            cut = f"({lit(threshold)} * baseline)" if relative else lit(threshold)
            zero = "baseline = 0" if relative else "false"
            assert self.sql is not None
            # one row per subject with its status, built once inside DuckDB (dropped by close())
            self.cte = self.sql.materialise("c",
                f"WITH s AS (SELECT CAST(min(arm) AS VARCHAR) AS arm, "
                f"any_value(CAST({y} AS DOUBLE)) FILTER (WHERE visit = 0) AS baseline, "
                f"any_value(CAST({y} AS DOUBLE)) FILTER (WHERE visit = {lit(v)}) AS value, "
                f"count(*) FILTER (WHERE visit = {lit(v)}) AS n_at_visit FROM {{t}} GROUP BY subject), "
                f"c AS (SELECT *, CASE "
                f"WHEN baseline IS NULL THEN {lit(_STATUSES[0])} "
                + (f"WHEN value IS NULL THEN {lit(_STATUSES[1])} " if missing == "exclude" else "")
                + f"WHEN value IS NULL THEN {lit(_STATUSES[2])} "
                f"WHEN {zero} THEN {lit(_STATUSES[3])} "
                f"WHEN {lit(sign)} * (value - baseline) >= {cut} - {lit(_mem.TIE_TOLERANCE)} * greatest(1.0, "
                f"abs({cut})) THEN {lit(_STATUSES[4])} "
                f"ELSE {lit(_STATUSES[5])} END AS status, baseline < 0 AS negative FROM s) SELECT * FROM c")
        else:
            s = self.data.shuffle(on="subject")
            args = (outcome, v, sign, threshold, relative, missing)
            self.frame = s.map_partitions(_classify_part, *args, meta=_classify_part(s._meta, *args)).persist()

    def close(self) -> None:
        """Drop the temporary subject table (DuckDB)."""
        if self.sql is not None:
            self.sql.close()

    def status_counts(self) -> pd.DataFrame:
        """Per arm and status: subjects, subjects with a value at the visit, negative baselines, duplicates."""
        if self.kind == "duckdb":
            assert self.sql is not None
            return self.sql(self.cte + "SELECT arm, status, count(*) AS n, count(value) AS seen, "
                            "count(*) FILTER (WHERE negative) AS negative, "
                            "count(*) FILTER (WHERE n_at_visit > 1) AS duplicated FROM c GROUP BY arm, status")

        def agg(part: pd.DataFrame) -> pd.DataFrame:
            g = part.assign(seen=part["value"].notna(), duplicated=part["n_at_visit"] > 1) \
                .groupby(["arm", "status"], observed=True, sort=False)
            return g.agg(n=("status", "size"), seen=("seen", "sum"), negative=("negative", "sum"),
                         duplicated=("duplicated", "sum")).reset_index()

        raw = self.frame.map_partitions(agg, meta=agg(self.frame._meta)).compute()
        return raw.groupby(["arm", "status"], sort=False)[["n", "seen", "negative", "duplicated"]].sum().reset_index()

    # --- the logistic model, one IRLS iteration per aggregate query ----------------------------------------------
    def baseline_summary(self, arms: list[str]) -> pd.DataFrame:
        """Per fit arm over the analysed subjects: n, sum, min, max and distinct count of the baseline."""
        if self.kind == "duckdb":
            assert self.sql is not None
            inlist = ", ".join(lit(a) for a in arms)
            return self.sql(self.cte + "SELECT arm, count(*) AS n, sum(baseline) AS s, min(baseline) AS lo, "
                            "max(baseline) AS hi FROM c WHERE status NOT LIKE 'excluded%' "
                            f"AND arm IN ({inlist}) GROUP BY arm").set_index("arm").reindex(arms)

        def agg(part: pd.DataFrame) -> pd.DataFrame:
            p = part.loc[~part["status"].str.startswith("excluded") & part["arm"].isin(arms)]
            return p.groupby("arm", sort=False).agg(n=("baseline", "size"), s=("baseline", "sum"),
                                                    lo=("baseline", "min"), hi=("baseline", "max")).reset_index()

        raw = self.frame.map_partitions(agg, meta=agg(self.frame._meta)).compute()
        return raw.groupby("arm").agg(n=("n", "sum"), s=("s", "sum"), lo=("lo", "min"), hi=("hi", "max")) \
            .reindex(arms)

    def distinct_baselines(self, arms: list[str], limit: int = 3) -> list[float]:
        """Up to ``limit`` distinct baseline values of the analysed subjects of the fit arms (for the grid rule)."""
        if self.kind == "duckdb":
            assert self.sql is not None
            inlist = ", ".join(lit(a) for a in arms)
            r = self.sql(self.cte + "SELECT DISTINCT baseline FROM c WHERE status NOT LIKE 'excluded%' "
                         f"AND arm IN ({inlist}) LIMIT {limit}")
            return sorted(r["baseline"].astype(float).tolist())
        p = self.frame.loc[~self.frame["status"].str.startswith("excluded") & self.frame["arm"].isin(arms)]
        return sorted(pd.unique(p["baseline"].drop_duplicates().head(limit, npartitions=-1)).tolist())

    def irls_sums(self, arms: list[str], beta: np.ndarray | None) -> pd.DataFrame:
        """Per fit arm the sums of one IRLS iteration of the logistic model ``1 + arm + baseline``.

        With ``eta`` the linear predictor at ``beta`` (None: statsmodels' start, ``mu = (y + 0.5) / 2``),
        ``mu = expit(eta)``, ``w = mu (1 - mu)`` and the working response ``z = eta + (y - mu) / w``:
        ``sw = sum w``, ``swb = sum w b``, ``swbb = sum w b^2``, ``swz = sum w z``, ``swzb = sum w z b``, the
        deviance contribution ``dev`` and ``n``.
        """
        k = len(arms)
        if self.kind == "duckdb":
            assert self.sql is not None
            y = f"CAST(status = {lit(_STATUSES[4])} AS DOUBLE)"
            if beta is None:
                mu = f"(({y} + 0.5) / 2)"
                eta = f"ln({mu} / (1 - {mu}))"
            else:
                arm_eff = "CASE arm " + " ".join(f"WHEN {lit(a)} THEN {lit(beta[j] if j else 0.0)}"
                                                 for j, a in enumerate(arms)) + " END"
                eta = f"({lit(beta[0])} + {arm_eff} + {lit(beta[k])} * baseline)"
                mu = f"(1 / (1 + exp(-{eta})))"
            inlist = ", ".join(lit(a) for a in arms)
            q = (self.cte + f", f AS (SELECT arm, baseline AS b, {y} AS y, {eta} AS eta, {mu} AS mu FROM c "
                 f"WHERE status NOT LIKE 'excluded%' AND arm IN ({inlist})), "
                 "g AS (SELECT *, mu * (1 - mu) AS w, eta + (y - mu) / (mu * (1 - mu)) AS z FROM f) "
                 "SELECT arm, count(*) AS n, sum(w) AS sw, sum(w * b) AS swb, sum(w * b * b) AS swbb, "
                 "sum(w * z) AS swz, sum(w * z * b) AS swzb, "
                 "sum(-2 * CASE WHEN y = 1 THEN ln(mu) ELSE ln(1 - mu) END) AS dev FROM g GROUP BY arm")
            return self.sql(q).set_index("arm").reindex(arms)
        b_vec = None if beta is None else np.asarray(beta, float)

        def agg(part: pd.DataFrame) -> pd.DataFrame:
            p = part.loc[~part["status"].str.startswith("excluded") & part["arm"].isin(arms)]
            yv = (p["status"] == _STATUSES[4]).to_numpy(float)
            b = p["baseline"].to_numpy(float)
            if b_vec is None:
                mu = (yv + 0.5) / 2
                eta = np.log(mu / (1 - mu))
            else:
                eff = np.r_[0.0, b_vec[1:k]][pd.Categorical(p["arm"], categories=arms).codes]
                eta = b_vec[0] + eff + b_vec[k] * b
                mu = expit(eta)
            w = mu * (1 - mu)
            z = eta + (yv - mu) / w
            dev = -2 * np.where(yv == 1, np.log(mu), np.log(1 - mu))
            return pd.DataFrame({"arm": p["arm"].to_numpy(), "n": 1, "sw": w, "swb": w * b, "swbb": w * b * b,
                                 "swz": w * z, "swzb": w * z * b, "dev": dev}).groupby("arm", sort=False) \
                .sum().reset_index()

        raw = self.frame.map_partitions(agg, meta=agg(self.frame._meta)).compute()
        return raw.groupby("arm").sum().reindex(arms)


def _normal_equations(sums: pd.DataFrame, k: int) -> tuple[np.ndarray, np.ndarray]:
    """X'WX and X'Wz of the design ``[1, arm dummies (arms 2..k), baseline]`` from the per-arm sums."""
    sw, swb, swbb = (sums[c].to_numpy(float) for c in ("sw", "swb", "swbb"))
    swz, swzb = sums["swz"].to_numpy(float), sums["swzb"].to_numpy(float)
    p = k + 1
    xtx, xtz = np.zeros((p, p)), np.zeros(p)
    xtx[0, 0], xtx[0, k], xtx[k, k] = sw.sum(), swb.sum(), swbb.sum()
    xtx[k, 0] = xtx[0, k]
    xtz[0], xtz[k] = swz.sum(), swzb.sum()
    for j in range(1, k):
        xtx[j, j] = xtx[0, j] = xtx[j, 0] = sw[j]
        xtx[j, k] = xtx[k, j] = swb[j]
        xtz[j] = swz[j]
    return xtx, xtz


def _logistic_from_sums(engine: _Engine, arm_tab: pd.DataFrame) -> Any:
    """The in-memory ``_logistic`` (same rows, notes, errors and Inference) with the fit done by aggregates."""

    def fit(frame: Any, arms: list[str], pairs: list[tuple[str, str]], outcome: str, cov: Covariates
            ) -> tuple[pd.DataFrame, dict]:
        t = arm_tab.set_index("arm")
        degenerate = [a for a in arms if t.loc[a, "responders"] in (0, t.loc[a, "n"])]
        fit_arms = [a for a in arms if a not in degenerate]
        rows = pd.DataFrame({"log_estimate": np.nan, "se": np.nan, "statistic": np.nan, "p": np.nan,
                             "note": ""}, index=range(len(pairs)))
        info: dict[str, Any] = {"formula": f"responder ~ arm + baseline {outcome}", "family": "binomial (logit link)",
                                "arms": fit_arms, "not_estimable": degenerate, "n": 0}
        for i, (a, b) in enumerate(pairs):
            bad = [x for x in (a, b) if x in degenerate]
            if bad:
                which = "; ".join(f"'{x}' has {'no' if t.loc[x, 'responders'] == 0 else 'only'} responders"
                                  for x in bad)
                rows.loc[i, "note"] = (f"not estimable: {which} (the logistic MLE does not exist; "
                                       f"see risk_difference and risk_ratio)")
        if len(fit_arms) < 2:
            return rows, info
        k = len(fit_arms)
        summ = engine.baseline_summary(fit_arms)
        if (summ["lo"] == summ["hi"]).all():  # baseline constant within every arm: a copy of the arm dummies
            raise ModelError(f"the baseline '{outcome}' is the same for every subject analysed, so the logistic "
                             f"model {info['formula']} cannot separate its effect from the intercept; the risk "
                             "difference and risk ratio need no model, but the adjusted odds ratio is not defined")
        # statsmodels GLM IRLS as the in-memory fit runs it: start at mu = (y + 0.5) / 2, weighted least squares
        # on the working response, stop when the deviance changes by at most 1e-13; covariance from the last WLS
        sums = engine.irls_sums(fit_arms, None)
        history = [np.inf, float(sums["dev"].sum())]
        converged = False
        beta = np.zeros(k + 1)
        for _ in range(_MAXITER):
            xtx, xtz = _normal_equations(sums, k)
            beta = np.linalg.lstsq(xtx, xtz, rcond=None)[0]
            last = xtx
            sums = engine.irls_sums(fit_arms, beta)
            history.append(float(sums["dev"].sum()))
            if not np.all(np.isfinite(beta)) or not np.isfinite(history[-1]):
                break
            if np.allclose(history[-2], history[-1], atol=_TOL, rtol=0.0):
                converged = True
                break
        vcov = np.linalg.pinv(last)
        eff = np.r_[0.0, beta[1:k]]
        eta = np.concatenate([beta[0] + eff + beta[k] * summ["lo"].to_numpy(float),
                              beta[0] + eff + beta[k] * summ["hi"].to_numpy(float)])
        mu = expit(eta)
        check_separation(converged, mu, outcome)
        # the design's names and reference grid (the baseline at its mean over the analysed subjects, or its two
        # values when it takes only two: the grid rule) from a small stand-in frame with those values
        n = float(summ["n"].sum())
        distinct = engine.distinct_baselines(fit_arms)
        grid_values = distinct if len(distinct) == 2 else [float(summ["s"].sum() / n)] * 3
        stand_in = pd.DataFrame({"arm": np.repeat(fit_arms, len(grid_values)),
                                 "baseline": np.tile(grid_values, k)})
        design = arm_design(stand_in, fit_arms, cov, ["baseline"])
        pair_log_odds(rows, pairs, fit_arms, beta, vcov)
        info.update(n=int(n), baseline_coef=float(beta[k]), baseline_se=float(np.sqrt(vcov[k, k])),
                    terms=list(design.names), coef=beta.tolist(),
                    inference=Inference(tuple(design.names), beta, vcov, np.inf, "z", design.grid, link="logit"))
        return rows, info

    return fit


def responders(data: Any, arms: Sequence[str], instruments: Mapping[str, Instrument] | None, outcome: str,
               visit: float, *, threshold: float, relative: bool = False,
               missing: Literal["non-responder", "exclude", "error"] = "non-responder", reference: str | None = None,
               alpha: float = DEFAULTS["alpha"], adjust: Literal["none", "bonferroni", "holm"] = DEFAULTS["adjust"],
               covariates: Sequence[str] | str = (), standardise: bool | None = None,
               interval: Literal["delta", "bootstrap"] = "delta", n_boot: int = 2000,
               rng: np.random.Generator | int | None = None, source: str = "out-of-core table") -> Any:
    """Responders per arm and their comparisons, :func:`combotherapy.responders`, on a table that stays in
    DuckDB or Dask.

    Parameters
    ----------
    data : duckdb.DuckDBPyRelation or dask.dataframe.DataFrame
        The canonical long table with the columns of ``Trial.data`` (``subject``, ``arm``, ``visit`` in weeks
        with 0 = baseline, the outcome).
    arms : list of str
        The arms in display order (``Trial.arms``); every arm in the data must be listed.
    instruments : mapping or None
        Outcome column -> :class:`~combotherapy.instruments.Instrument` (``Trial.instruments``); None: the
        registry instrument of every column named like one.
    outcome, visit, threshold, relative, missing, reference, alpha, adjust
        As :func:`combotherapy.responders`.
    covariates, standardise, interval, n_boot, rng
        Only the defaults: adjustment covariates and standardisation (g-computation) need every subject's
        covariate values in one model and are refused (:class:`~combotherapy.errors.DataError`); fit them with
        :func:`combotherapy.responders` on the data in memory or on a documented, seeded subsample.
    source : str
        Where the data came from, for the record (``fitted.extra["source"]``).

    Returns
    -------
    ResponderResult
        As :func:`combotherapy.responders`: ``.by_arm``, ``.contrasts`` (risk difference, risk ratio, odds
        ratio, NNT), ``.fitted``, ``.inference`` (the logistic model). The per-subject tables are left empty —
        ``.subjects`` and ``fitted.excluded`` have their columns and no rows (no subject's data leaves the
        engine); the counts of excluded subjects per arm and reason are in ``.by_arm`` and the notes.

    Raises
    ------
    DataError
        As :func:`combotherapy.responders` (missing baselines, missing values with ``missing="error"``,
        negative baselines with a relative threshold, arms with fewer than 2 subjects), with counts instead
        of subject identifiers; also covariates or standardisation, and arm values not in ``arms``.
    ModelError
        A logistic model that cannot be fitted (constant baseline, separation).

    Notes
    -----
    Each subject's baseline (visit 0) and value at ``visit`` are taken by one ``GROUP BY subject`` (DuckDB) or
    per partition after shuffling the rows by subject (Dask), and classified by the in-memory rule written out:
    ``s (y_visit - y_0) >= c - 1e-9 max(1, |c|)`` with the same floating-point operations, so the counts are
    those of the in-memory path. The risk difference (Newcombe), risk ratio (Katz), NNT (Altman) and Wilson
    intervals are functions of the per-arm counts ``(responders, n)`` and come from the in-memory code.

    The odds ratio adjusted for baseline, ``logit P(resp) = b0 + b_arm + b_base y_0``, is fitted by the
    iteratively reweighted least squares that statsmodels' GLM runs in the in-memory path: the start
    ``mu = (y + 0.5) / 2``, each iteration's weighted least squares from the per-arm sums
    ``sum w, sum w y_0, sum w y_0^2, sum w z, sum w z y_0`` (one aggregate query or one Dask reduction per
    iteration, typically 6-8), stopping when the deviance changes by at most 1e-13, with the covariance from
    the last iteration's weights. The numbers agree with the in-memory path to about 1e-10 relative (the
    stopping rule compares deviances summed in another order; a different last iteration would move the
    standard error in the 8th digit).

    References
    ----------
    Newcombe RG (1998) Stat Med 17:873-890. Katz D et al. (1978) Biometrics 34:469-474.
    Altman DG (1998) BMJ 317:1309-1312. McCullagh P, Nelder JA (1989) Generalized Linear Models, 2nd ed.

    Example
    -------
    >>> import duckdb
    >>> import combotherapy as ct
    >>> from combotherapy.scale.responders import responders
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)
    >>> res = responders(duckdb.from_df(trial.data), trial.arms, trial.instruments, "pain", 12, threshold=2)
    >>> res.by_arm["responders"].tolist() == ct.responders(trial, "pain", 12, threshold=2).by_arm["responders"].tolist()
    True
    """
    if isinstance(covariates, str) or list(covariates) or standardise or interval != "delta" or rng is not None:
        raise DataError("responders out of core: adjustment covariates, standardisation and the bootstrap need every "
                        "subject's values in one model; use ct.responders on the data in memory (or on a "
                        "documented, seeded subsample of subjects)", kind="needs rows")
    engine = _Engine(data)
    columns = check_columns(data, (outcome,), "responders")
    inst_map = default_instruments(columns) if instruments is None else dict(instruments)
    visits, seen_arms = engine.visits_and_arms()
    arm_order = check_arms(arms, seen_arms, "responders")
    facts = _Facts(columns, visits, inst_map, source)
    inst, v, alpha, missing, adjust = _mem._check_arguments(facts, outcome, visit, threshold, relative,  # type: ignore
                                                                missing, alpha, adjust)
    engine.classify(outcome, v, float(inst.sign), float(threshold), bool(relative), missing)
    try:
        counts = engine.status_counts()
        counts["arm"] = counts["arm"].astype(str)
        if counts["duplicated"].sum() > 0:
            raise DataError(f"{int(counts['duplicated'].sum())} subjects have more than one row at week {v:g}; a trial "
                            "has one row per subject and visit: check the data with ct.load")
        by = counts.pivot_table(index="arm", columns="status", values="n", aggfunc="sum", fill_value=0)
        by = by.reindex(index=arm_order, columns=list(_STATUSES), fill_value=0).astype(int)
        no_base = int(by[_STATUSES[0]].sum())
        if no_base and missing != "exclude":
            raise DataError(f"{no_base} subjects have no baseline (visit 0) value of '{outcome}'. Response is a change "
                            f"from baseline; complete the data, or pass missing='exclude' to exclude them "
                            f"(they will be "
                            f"reported)", kind="missing baseline", column=outcome)
        no_value = int(by[_STATUSES[1]].sum() + by[_STATUSES[2]].sum())
        if no_value and missing == "error":
            raise DataError(f"{no_value} subjects have no '{outcome}' value at week {v:g}. Pass "
                            "missing='non-responder' to count them as non-responders, or missing='exclude' to leave "
                            "them out (they will be reported)", kind="missing value", column=outcome)
        if relative and counts["negative"].sum() > 0:
            raise DataError("relative thresholds need positive baselines, but "
                            f"{int(counts['negative'].sum())} subjects "
                            f"have a negative baseline '{outcome}'; use an absolute threshold (relative=False)")
        present = [a for a in arm_order if by.loc[a].sum() > 0]
        by = by.loc[present]
        seen = counts.groupby("arm")["seen"].sum().reindex(present, fill_value=0).astype(int)
        n = by.drop(columns=[_STATUSES[0], _STATUSES[1]]).sum(axis=1).to_numpy(int)
        x = by[_STATUSES[4]].to_numpy(int)
        arm_tab = _mem.arm_table(present, seen, n, x, (by[_STATUSES[2]] + by[_STATUSES[1]]).to_numpy(int),
                                 by[_STATUSES[0]].to_numpy(int), by[_STATUSES[3]].to_numpy(int), outcome=outcome,
                                 v=v, visits=visits, alpha=alpha)

        pairs = contrast_pairs(present, check_reference(reference, present))
        cov = Covariates(pd.DataFrame(), [], [], [])
        contrasts, logit, extra_notes, risks = contrast_table(
            arm_tab, None, pairs, alpha, adjust, outcome, cov, False, "delta", n_boot, None,
            logistic=_logistic_from_sums(engine, arm_tab))
        inference = logit.pop("inference", None)
        no_rows = pd.DataFrame({"subject": pd.Series([], dtype="str"), "arm": pd.Series([], dtype="str"),
                                "baseline": pd.Series([], dtype=float), "value": pd.Series([], dtype=float),
                                "improvement": pd.Series([], dtype=float), "responder": pd.Series([], dtype=float),
                                "status": pd.Series([], dtype="str")})
        fitted = _mem._record(facts, outcome, v, inst, threshold, relative, missing, reference, alpha,  # type: ignore
                              adjust, arm_tab, no_rows, logit, extra_notes, len(pairs))
        # no identifiers leave the engine: the note on subjects without a baseline gives the counts only
        fitted.notes[:] = [re.sub(r"; subjects \)\.$", ").", t) for t in fitted.notes]
        fitted.extra.update(covariates=[], standardise=False, interval="delta", engine=engine.kind)
        title = f"Responders: {inst.label or outcome} at week {v:g}"
        res = _mem.ResponderResult(title, fitted, by_arm=arm_tab, contrasts=contrasts, subjects=no_rows,
                                   standardised=risks)
        res.inference = inference
        res.instrument, res.better = inst, inst.better
        return res
    finally:
        engine.close()
