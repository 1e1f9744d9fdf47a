"""Time to event out of core: Kaplan–Meier, log-rank and RMST of :func:`combotherapy.survival` from the counts of
events and censorings per arm and distinct time, on DuckDB or Dask.

``GROUP BY arm, time`` (after one row per subject) is all the Kaplan–Meier curves, their medians, the log-rank
test and the restricted mean survival times need; the table that comes back has one row per arm and distinct
time. From the counts onward the in-memory code (:func:`combotherapy.models.survival_estimators.km_from_counts`,
``km_median``, ``rmst_by_arm`` and the RMST contrasts) makes the same tables of a
:class:`~combotherapy.models.survival.SurvivalResult`. The Cox model and its proportional-hazards check need the
rows and are left empty, with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..arguments import DEFAULTS, check_adjust, check_alpha, check_choice, check_reference
from ..arms import contrast_pairs
from ..errors import DataError, ModelError
from ..instruments import Instrument
from ..models import survival as _mem
from ..models.survival_estimators import km_from_counts, km_median, logrank_from_counts
from ..results import Fitted
from ._aggregates import Sql, check_arms, check_columns, engine_of, qi, schema
from .table_one import default_instruments

# logrank_from_counts lives with the in-memory estimators (one copy: ct.survival runs its arithmetic on
# km_table's counts); re-exported here, where the out-of-core path introduced it
__all__ = ["survival", "logrank_from_counts"]


# --------------------------------------------------------------------------------------------
# the engines
# --------------------------------------------------------------------------------------------
_PROBLEMS = {
    "inf": ("time", "is infinite; expected a finite time (censor at the last follow-up instead)"),
    "neg": ("time", "is negative; times must be >= 0 (time since randomisation)"),
    "bad_event": ("event", "is not 0 or 1; expected 1 = event observed, 0 = censored"),
    "time_missing": ("time", "is missing where '{event}' is given; give the time of the event or of the last "
                             "follow-up (censoring), or leave both empty to exclude the subject"),
    "event_missing": ("event", "is missing where '{time}' is given; expected 1 (event at that time) or 0 "
                               "(censored)"),
}


def _subject_part(part: pd.DataFrame, time: str, event: str, strata: Sequence[str] = ()) -> pd.DataFrame:
    """Dask: per partition holding all rows of its subjects, one row per subject: arm, time, event (first
    non-missing), distinct counts, per-subject counts of the row problems, and per strata column ``i`` its first
    value ``sm<i>``, whether it varies ``sv<i>`` and its visit-0 value ``sb<i>``."""
    t = part[time].astype(float)
    e = part[event].astype(float)
    frame = pd.DataFrame({"subject": part["subject"], "arm": part["arm"].astype("str"), "t": t, "e": e,
                          "inf": np.isinf(t), "neg": t < 0, "bad_event": e.notna() & ~e.isin((0.0, 1.0)),
                          "time_missing": t.isna() & e.notna(), "event_missing": t.notna() & e.isna()})
    for i, c in enumerate(strata):
        frame[f"st{i}"] = part[c].astype(object)
        frame[f"sb{i}"] = part[c].astype(object).where(part["visit"] == 0.0)
    g = frame.groupby("subject", sort=False)
    more = {}
    for i in range(len(strata)):
        more.update({f"sm{i}": (f"st{i}", "first"), f"sv{i}": (f"st{i}", "nunique"), f"sb{i}": (f"sb{i}", "first")})
    out = g.agg(arm=("arm", "first"), t=("t", "first"), e=("e", "first"), nt=("t", "nunique"), ne=("e", "nunique"),
                **{k: (k, "sum") for k in _PROBLEMS}, **more)
    for i in range(len(strata)):
        out[f"sv{i}"] = out[f"sv{i}"] > 1
    return out.reset_index(drop=True)


def _stratum_label(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    """The stratum of each row: its strata values joined as text (the in-memory label)."""
    out = pd.Series("", index=frame.index, dtype=object)
    for j, c in enumerate(cols):
        out = out + ("" if j == 0 else ", ") + frame[c].astype(object).astype(str)
    return out


class _Engine:
    def __init__(self, data: Any):
        self.data = data
        self.kind = engine_of(data)
        self.sql = Sql(data) if self.kind == "duckdb" else None

    def counts(self, time: str, event: str, strata: Sequence[str] = ()
               ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
        """(per [stratum,] arm and time: events and subjects; per arm: subjects without follow-up (``n``) and
        without a stratum value (``n_stratum``); problem counts)."""
        k = len(strata)
        if self.kind == "duckdb":
            assert self.sql is not None
            t, e = f"CAST({qi(time)} AS DOUBLE)", f"CAST({qi(event)} AS DOUBLE)"
            st = "".join(f", {qi(c)} AS st{i}" for i, c in enumerate(strata))
            cte = f"WITH r AS (SELECT subject, visit, CAST(arm AS VARCHAR) AS arm, {t} AS t, {e} AS e{st} FROM {{t}}) "
            prob = self.sql(cte + "SELECT count(*) FILTER (WHERE isinf(t)) AS inf, "
                            "count(*) FILTER (WHERE t < 0) AS neg, "
                            "count(*) FILTER (WHERE e IS NOT NULL AND e NOT IN (0, 1)) AS bad_event, "
                            "count(*) FILTER (WHERE t IS NULL AND e IS NOT NULL) AS time_missing, "
                            "count(*) FILTER (WHERE t IS NOT NULL AND e IS NULL) AS event_missing FROM r").iloc[0]
            problems = {k: int(prob[k]) for k in _PROBLEMS}
            # one row per subject, built once inside DuckDB (dropped by close())
            more = "".join(f", max(st{i}) AS sm{i}, min(st{i}) <> max(st{i}) AS sv{i}, "
                           f"any_value(st{i}) FILTER (WHERE visit = 0) AS sb{i}" for i in range(k))
            cte = self.sql.materialise("s", cte + "SELECT CAST(min(arm) AS VARCHAR) AS arm, any_value(t) AS t, "
                                       "any_value(e) AS e, min(t) <> max(t) AS nt, min(e) <> max(e) AS ne"
                                       f"{more} FROM r GROUP BY subject")
            vary = self.sql(cte + "SELECT count(*) FILTER (WHERE nt) AS vt, count(*) FILTER (WHERE ne) AS ve "
                            "FROM s").iloc[0]
            problems.update(vary_time=int(vary["vt"]), vary_event=int(vary["ve"]))
            if any(problems.values()):
                return pd.DataFrame(), pd.DataFrame(), problems
            # a strata column constant within subjects gives its value, else the baseline (visit-0) value
            if k:
                varies = self.sql(cte + "SELECT " + ", ".join(f"coalesce(bool_or(sv{i}), false) AS v{i}"
                                                              for i in range(k)) + " FROM s").iloc[0]
            keys = [f"sb{i}" if k and bool(varies[f"v{i}"]) else f"sm{i}" for i in range(k)]
            sel = "".join(f"{c} AS k{i}, " for i, c in enumerate(keys))
            has = "".join(f" AND {c} IS NOT NULL" for c in keys)
            lacks = " OR ".join(f"{c} IS NULL" for c in keys) or "false"
            tab = self.sql(cte + f"SELECT {sel}arm, t AS time, sum(e) AS n_events, count(*) AS n_all FROM s "
                           f"WHERE t IS NOT NULL{has} GROUP BY ALL")
            none = self.sql(cte + "SELECT arm, count(*) FILTER (WHERE t IS NULL AND e IS NULL) AS n, "
                            f"count(*) FILTER (WHERE t IS NOT NULL AND ({lacks})) AS n_stratum FROM s GROUP BY arm")
            return tab, none, problems
        s = self.data.shuffle(on="subject")
        strata = list(strata)
        subj = s.map_partitions(_subject_part, time, event, strata, meta=_subject_part(s._meta, time, event, strata))
        keys = [f"sm{i}" for i in range(k)]
        if k:
            subj = subj.persist()
            varies = subj[[f"sv{i}" for i in range(k)]].any().compute()
            keys = [f"sb{i}" if bool(varies[f"sv{i}"]) else f"sm{i}" for i in range(k)]

        def agg(part: pd.DataFrame) -> pd.DataFrame:
            part = part.assign(**{f"k{i}": part[c] for i, c in enumerate(keys)})
            kcols = [f"k{i}" for i in range(k)]
            full = part[kcols].notna().all(axis=1) if k else pd.Series(True, index=part.index)
            has = part["t"].notna()
            sel = part.loc[has & full].assign(stratum=_stratum_label(part.loc[has & full], kcols) if k else "")
            tab = sel.groupby(["stratum", "arm", "t"], sort=False).agg(n_events=("e", "sum"), n_all=("e", "size"))
            tab = tab.reset_index().rename(columns={"t": "time"}).assign(kind="time")
            lack = part.loc[has & ~full].groupby("arm", sort=False).size().rename("n_all").reset_index()
            none = part.loc[~has & part["e"].isna()].groupby("arm", sort=False).size().rename("n_all").reset_index()
            probs = pd.DataFrame({"arm": list(_PROBLEMS) + ["vary_time", "vary_event"],
                                  "n_all": [int(part[k].sum()) for k in _PROBLEMS]
                                  + [int((part["nt"] > 1).sum()), int((part["ne"] > 1).sum())]})
            return pd.concat([tab, none.assign(kind="none", time=np.nan, n_events=0.0, stratum=""),
                              lack.assign(kind="lack", time=np.nan, n_events=0.0, stratum=""),
                              probs.assign(kind="problem", time=np.nan, n_events=0.0, stratum="")],
                             ignore_index=True)[["kind", "stratum", "arm", "time", "n_events", "n_all"]]

        meta = agg(_subject_part(s._meta, time, event, strata))
        raw = subj.map_partitions(agg, meta=meta).compute()
        problems = raw.loc[raw["kind"] == "problem"].groupby("arm")["n_all"].sum().astype(int).to_dict()
        tab = raw.loc[raw["kind"] == "time"].groupby(["stratum", "arm", "time"], sort=False)[
            ["n_events", "n_all"]].sum().reset_index()
        if not k:
            tab = tab.drop(columns="stratum")
        none = pd.concat([raw.loc[raw["kind"] == "none"].groupby("arm")["n_all"].sum().rename("n"),
                          raw.loc[raw["kind"] == "lack"].groupby("arm")["n_all"].sum().rename("n_stratum")],
                         axis=1).fillna(0).rename_axis("arm").reset_index()
        return tab, none, problems


# --------------------------------------------------------------------------------------------
# the function
# --------------------------------------------------------------------------------------------
def survival(data: Any, arms: Sequence[str], instruments: dict[str, Instrument] | None = None,
             time: str = "recovery_time", event: str = "recovered", *, covariates: Sequence[str] | str = (),
             strata: Sequence[str] | str | None = None, ties: str = "efron", horizon: float | None = None,
             alpha: float = DEFAULTS["alpha"], reference: str | None = None, adjust: str = DEFAULTS["adjust"]) -> Any:
    """Kaplan–Meier curves and medians, the log-rank test and the RMST of :func:`combotherapy.survival`, on a
    table that stays in DuckDB or Dask.

    Parameters
    ----------
    data : duckdb.DuckDBPyRelation or dask.dataframe.DataFrame
        The canonical long table with the columns of ``Trial.data``; ``time`` and ``event`` are subject-level
        columns (the same value on every row of a subject).
    arms : list of str
        The arms in display order (``Trial.arms``); every arm in the data must be listed.
    instruments : mapping, optional
        Column -> :class:`~combotherapy.instruments.Instrument` (``Trial.instruments``; default the registry's):
        the event's instrument says whether the event is desirable.
    time, event, ties, horizon, alpha, reference, adjust
        As :func:`combotherapy.survival` (``ties`` concerns the Cox model only and is recorded).
    covariates
        Only the default: the adjusted Cox model needs the rows (use :func:`combotherapy.survival` in memory or on
        a documented, seeded subsample); :class:`~combotherapy.errors.DataError` otherwise.
    strata : str or list of str, optional
        Column(s) whose combinations of values are strata: the log-rank test is stratified (R ``survdiff(... +
        strata())``), as in memory; subjects without a value are excluded from every table. A column that varies
        between visits enters with its visit-0 value.

    Returns
    -------
    SurvivalResult
        ``.by_arm`` (Kaplan–Meier medians and their CIs), ``.logrank``, ``.rmst``, ``.rmst_contrasts``,
        ``.rmst_ratios``, ``.km_curves`` as in memory. The Cox model needs every subject's risk set: ``.contrasts``
        (hazard ratios) has its rows with empty estimates, ``.coefficients`` and ``.ph_residuals`` are empty,
        ``.ph_test`` holds only an empty ``GLOBAL`` row, ``.inference`` is None, and a note says so.
        ``fitted.excluded`` has its columns and no rows: no identifier leaves the engine; the subjects without
        follow-up are counted per arm in the notes.

    Raises
    ------
    DataError
        The row checks of :func:`combotherapy.survival` (infinite or negative times, an event flag other than
        0/1, a time without an event flag or the reverse, values varying within a subject), as counts of rows
        and subjects; a non-numeric time or event column; a horizon beyond the follow-up; covariates or strata.
    ModelError
        Fewer than two arms with follow-up.

    Notes
    -----
    One row per subject (``GROUP BY subject``; for Dask per partition after shuffling the rows by subject), then
    per arm and distinct time the events ``d`` and the subjects ``n_all`` with that time: the table the
    in-memory Kaplan–Meier builds after its own ``GROUP BY``. The number at risk is the reverse cumulative sum
    of ``n_all`` within the arm, ``S(t) = prod (1 - d_j / n_j)``, Greenwood's variance, the log-transformed
    band, the median and its CI (R ``survfit``), and the RMST with its variance (:func:`rmst_by_arm`) are the
    in-memory code on those counts. The log-rank test is :func:`logrank_from_counts` (statsmodels'
    ``survdiff`` arithmetic on the same counts; with strata, counts per stratum, arm and time). What comes back
    has one row per [stratum,] arm and distinct time.

    References
    ----------
    Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-81. Brookmeyer R, Crowley J. Biometrics 1982;38:29-41.
    Royston P, Parmar MKB. BMC Med Res Methodol 2013;13:152 (RMST).

    Example
    -------
    >>> import duckdb
    >>> import combotherapy as ct
    >>> from combotherapy.scale.survival import survival
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)
    >>> res = survival(duckdb.from_df(trial.data), trial.arms, trial.instruments, horizon=20)
    >>> mem = ct.survival(trial, horizon=20)
    >>> bool(abs(res.logrank["statistic"].iloc[0] - mem.logrank["statistic"].iloc[0]) < 1e-9)
    True
    >>> res.rmst["estimate"].round(6).tolist() == mem.rmst["estimate"].round(6).tolist()
    True
    """
    ties = check_choice(ties, _mem.TIES, "ties", " (efron: R's default; breslow: SAS's default)")
    alpha = check_alpha(alpha)
    adjust = check_adjust(adjust)
    if isinstance(covariates, str) or list(covariates):
        raise DataError("survival out of core: covariates enter the Cox model, which needs the rows; use "
                        "ct.survival on the data in memory (or on a documented, seeded subsample of subjects)",
                        kind="needs rows")
    strata_cols = [strata] if isinstance(strata, str) else list(dict.fromkeys(strata or ()))
    engine = _Engine(data)
    columns = check_columns(data, (time, event, *strata_cols), "survival")
    taken = [c for c in strata_cols if c in ("subject", "arm", "visit", time, event)]
    if taken:
        raise DataError(f"{taken} cannot be strata: subject, arm and visit are part of the design, and the time "
                        "and event columns are the outcome", kind="reserved column", column=taken[0])
    kinds = schema(data)
    bad = [c for c in (time, event) if kinds[c] not in ("numeric", "bool")]
    if bad:
        raise DataError(f"column(s) {bad} are not numbers; expected a numeric time and a 0/1 event flag",
                        kind="not a number", column=bad[0])
    inst_map = default_instruments(columns) if instruments is None else dict(instruments)
    try:
        tab, none, problems = engine.counts(time, event, strata_cols)
    finally:
        if engine.sql is not None:
            engine.sql.close()
    if any(problems.values()):
        lines = [f"column '{ {'time': time, 'event': event}[col] }': {problems[k]} row(s) "
                 + msg.format(time=time, event=event) for k, (col, msg) in _PROBLEMS.items() if problems.get(k)]
        for k, col in (("vary_time", time), ("vary_event", event)):
            if problems.get(k):
                lines.append(f"column '{col}': {problems[k]} subject(s) with different values on different rows; it "
                             "is a subject-level column and must be the same on every row of the subject")
        raise DataError("survival: the time-to-event columns have problems:\n  - " + "\n  - ".join(lines),
                        kind="invalid value", column=time if problems.get("inf") or problems.get("neg") else event)
    seen = list(tab["arm"].astype(str).unique()) + list(none["arm"].astype(str).unique())
    arm_order = check_arms(arms, seen, "survival")
    tab["arm"] = tab["arm"].astype(str)
    kcols = [f"k{i}" for i in range(len(strata_cols))]
    if kcols and "stratum" not in tab.columns:  # DuckDB: the strata values; their label as in memory
        tab["stratum"] = _stratum_label(tab, kcols) if len(tab) else pd.Series([], dtype=str)
    strata_tab = tab.drop(columns=[c for c in kcols if c in tab.columns]) if strata_cols else None
    if strata_cols:
        tab = tab.groupby(["arm", "time"], sort=False)[["n_events", "n_all"]].sum().reset_index()
    present = [a for a in arm_order if (tab["arm"] == a).any()]
    if len(present) < 2:
        raise ModelError(f"need at least two arms with follow-up in '{time}'; found {present}")
    reference = check_reference(reference, present)
    tab = tab.assign(group=pd.Categorical(tab["arm"], categories=present, ordered=False))
    tab = tab.sort_values(["group", "time"], kind="stable").reset_index(drop=True)
    tab["n_events"] = tab["n_events"].astype(float)
    tab["n_all"] = tab["n_all"].astype("int64")
    n_arm = tab.groupby("group", observed=False)["n_all"].sum()
    events = tab.groupby("group", observed=False)["n_events"].sum()
    notes = []
    dropped = [arm for arm in arm_order if arm not in present]
    if dropped:
        notes.append(f"arm(s) {dropped} have no subject with follow-up and are left out")
    no_events = [arm for arm in present if events[arm] == 0]
    cox_arms = [arm for arm in present if events[arm] > 0]
    if no_events:
        notes.append(f"arm(s) {no_events} have no events in '{event}': their hazard ratios are not estimable "
                     "(0 or infinite) and are left empty; the Cox model is fitted to the arms with events "
                     f"{cox_arms or '(none)'}. Kaplan–Meier, log-rank and RMST use every arm.")

    curves = km_from_counts(tab[["group", "time", "n_events", "n_all"]], alpha)
    km = pd.DataFrame([(arm, int(n_arm[arm]), int(events[arm]), *km_median(curves[curves["group"] == arm]))
                       for arm in present], columns=["arm", "n", "events", "median", "ci_low", "ci_high"])
    if events.sum() > 0:
        lr_counts = strata_tab if strata_tab is not None else tab
        chisq, p_lr = logrank_from_counts(lr_counts.assign(group=lr_counts["arm"]), present)
    else:
        chisq, p_lr = np.nan, np.nan
        notes.append(f"no events in '{event}' in any arm: the log-rank test is not defined")
    logrank = pd.DataFrame({"statistic": [float(chisq)], "df": [len(present) - 1], "p": [float(p_lr)]})

    pairs = contrast_pairs(present, reference)
    hr = _mem._by_pairs(_mem._empty_contrasts(ratio=True), pairs)
    coefficients = _mem._empty_table(["term"], ("estimate", "se", "df", "statistic", "p", "ci_low", "ci_high"))
    ph_test = pd.DataFrame({"term": ["GLOBAL"], "statistic": [np.nan], "df": [0], "p": [np.nan]})
    ph_residuals = pd.DataFrame({"time": pd.Series([], dtype=float), "km_time": pd.Series([], dtype=float)})
    notes.append("the Cox model (hazard ratios) and its PH check need every subject's row and are not computed "
                 "out of core: fit ct.survival on the data in memory or on a documented, seeded subsample")

    largest = tab.groupby("group", observed=False)["time"].max()
    tau, rmst, rmst_contrasts, rmst_ratios, rmst_notes = _mem.rmst_tables(curves, largest, present, horizon, time,
                                                                          reference, adjust, alpha)
    notes += rmst_notes
    for col, what in (("n", "without follow-up (time and event missing)"),
                      ("n_stratum", f"without a value of the strata ({', '.join(strata_cols)})")):
        if len(none) and col in none.columns and none[col].sum() > 0:
            per = none.assign(arm=none["arm"].astype(str)).groupby("arm")[col].sum()
            notes.append(f"subjects {what}, excluded: " + ", ".join(f"{a} {int(k)}" for a, k in per.items() if k)
                         + ".")
    if strata_cols:
        notes.append(f"the log-rank test is stratified by {', '.join(strata_cols)}; Kaplan–Meier curves, medians "
                     "and RMST are unadjusted")

    better = inst_map.get(event)
    notes += _mem.event_notes(better, event, tau, horizon)
    excluded = pd.DataFrame({"subject": pd.Series([], dtype="str"), "arm": pd.Series([], dtype="str"),
                             "reason": pd.Series([], dtype="str")})
    visits = _visits(engine)
    fitted = Fitted(
        model=f"Kaplan–Meier and log-rank from counts per arm and time (out of core, {engine.kind}); no Cox model",
        formula=f"Surv({time}, {event}) ~ arm" + (f" + strata({', '.join(strata_cols)})" if strata_cols else ""),
        outcome=time, df_method="Wald z (asymptotic)", adjust=adjust,
        alpha=alpha, ci_adjust=None, n_per_arm={arm: int(n_arm[arm]) for arm in present}, excluded=excluded,
        notes=notes,
        extra={"ties": ties, "horizon": tau, "events": {arm: int(events[arm]) for arm in present},
               "cox_loglik": np.nan, "reference_arm_of_coding": cox_arms[0] if cox_arms else None,
               "cox_arms": cox_arms, "covariates": [], "strata": strata_cols, "time": time, "event": event,
               "visits": visits, "engine": engine.kind},
    )
    res = _mem.SurvivalResult(f"Time to event: {time}", fitted, by_arm=km, logrank=logrank, contrasts=hr,
                              coefficients=coefficients, ph_test=ph_test, rmst=rmst, rmst_contrasts=rmst_contrasts,
                              rmst_ratios=rmst_ratios,
                              km_curves=curves.rename(columns={"group": "arm"}).drop(columns="se_log"),
                              ph_residuals=ph_residuals)
    res.inference = None
    res.instrument = better  # type: ignore[assignment]
    res.better = better.better if better is not None else None
    return res


def _visits(engine: _Engine) -> list[float]:
    """The follow-up visits (weeks > 0), read by the Kaplan–Meier figure."""
    if engine.kind == "duckdb":
        assert engine.sql is not None
        r = engine.sql("SELECT list(DISTINCT CAST(visit AS DOUBLE)) AS v FROM {t}").iloc[0]["v"]
        vals = [float(x) for x in r if x is not None]
    else:
        vals = [float(x) for x in engine.data["visit"].astype(float).unique().compute() if pd.notna(x)]
    return sorted(x for x in vals if x > 0)
