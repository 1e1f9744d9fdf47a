"""Estimands (ICH E9(R1)) and intercurrent events: what is estimated, and what happens after an event.

An intercurrent event (ICE) is recorded per subject as the first visit it affects and the strategy for the values
from that visit on. The strategies are those of reference-based imputation (Carpenter, Roger & Kenward 2013;
rbmi): ``MAR`` (hypothetical: as if the subject had stayed on its arm), ``J2R`` (jump to reference), ``CR`` (copy
reference), ``CIR`` (copy increments in reference) and ``LMCF`` (last mean carried forward). ``"hypothetical"`` and
``"treatment policy"`` are accepted as names of MAR (under treatment policy the values observed after the event are
used, which is what MAR does with them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError, ProblemCollector

__all__ = ["STRATEGIES", "Estimand", "normalise_strategy", "events_from_dropout", "event_arrays", "describe",
           "for_analysis"]

#: strategy codes (index into this tuple is the code used in arrays)
STRATEGIES = ("MAR", "J2R", "CR", "CIR", "LMCF")
_ALIASES = {"mar": "MAR", "hypothetical": "MAR", "treatment policy": "MAR", "treatment_policy": "MAR",
            "j2r": "J2R", "jr": "J2R", "jump to reference": "J2R", "cr": "CR", "copy reference": "CR",
            "cir": "CIR", "copy increments in reference": "CIR", "lmcf": "LMCF",
            "last mean carried forward": "LMCF"}
_DESCRIBE = {"MAR": "hypothetical: values after the event as if the subject had stayed on its arm (missing at "
                    "random given the observed values)",
             "J2R": "jump to reference: after the event the subject's mean is that of its reference arm",
             "CR": "copy reference: the subject's whole profile follows the reference arm's means",
             "CIR": "copy increments in reference: after the event the mean changes as the reference arm's does",
             "LMCF": "last mean carried forward: after the event the mean stays at the last visit before it"}


def normalise_strategy(name: str, where: str = "strategy") -> str:
    """Canonical strategy name; DataError listing the choices when the name is not known."""
    key = str(name).strip().lower()
    if key not in _ALIASES:
        raise DataError(f"{where}: unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)} (or "
                        "'hypothetical' / 'treatment policy', which are MAR)")
    return _ALIASES[key]


@dataclass
class Estimand:
    """The five attributes of an estimand (ICH E9(R1)), printable.

    Attributes
    ----------
    population, treatment, variable, summary : str
        Who, which treatments compared, which variable at which visit, the population-level summary.
    events : DataFrame
        ``event, strategy, subjects, description``: one row per kind of intercurrent event and strategy.
    notes : list of str
        How the events were obtained (e.g. derived from dropout).
    """

    population: str
    treatment: str
    variable: str
    summary: str
    events: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["event", "strategy", "subjects", "description"]))
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = ["Estimand (ICH E9(R1))", f"  population: {self.population}", f"  treatment: {self.treatment}",
               f"  variable: {self.variable}", "  intercurrent events:"]
        if self.events.empty:
            out.append("    none")
        for r in self.events.itertuples(index=False):  # loop over kinds of event (a handful)
            out.append(f"    {r.event} ({r.subjects} subjects): {r.strategy} - {r.description}")
        out.append(f"  population-level summary: {self.summary}")
        out += [f"  note: {n}" for n in self.notes]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_frame(self) -> pd.DataFrame:
        """The estimand as an ``attribute, value`` table (for reports)."""
        rows = [("population", self.population), ("treatment", self.treatment), ("variable", self.variable)]
        rows += [("intercurrent event", f"{r.event} ({r.subjects} subjects): {r.strategy}")
                 for r in self.events.itertuples(index=False)]
        rows.append(("population-level summary", self.summary))
        return pd.DataFrame(rows, columns=["attribute", "value"])


def events_from_dropout(subjects: pd.Index, Y: np.ndarray, visits: list[float], strategy: str) -> pd.DataFrame:
    """One event per subject whose values stop before the last visit: at the first visit of the trailing missing
    run, with ``strategy``. Intermittent gaps (a missing visit followed by an observed one) are not events: they
    stay MAR. Returns ``subject, visit, strategy, event``."""
    observed = ~np.isnan(Y)
    k = Y.shape[1]
    # index of the last observed visit (-1 when none): the event starts at the next one
    last = np.where(observed.any(axis=1), k - 1 - np.argmax(observed[:, ::-1], axis=1), -1)
    first = last + 1
    has = first < k
    return pd.DataFrame({"subject": np.asarray(subjects)[has], "visit": np.asarray(visits, float)[first[has]],
                         "strategy": strategy, "event": "dropout (derived from monotone missing data)"})


def event_arrays(events: pd.DataFrame, subjects: pd.Index, visits: list[float], default_strategy: str | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per analysed subject: index of the first visit the event affects (``k`` when none) and the strategy code.

    ``events`` has columns ``subject``, ``visit`` (weeks: the first visit the event affects) and optionally
    ``strategy``; ``default_strategy`` (when given) overrides the column. Every problem is collected into one
    DataError: unknown columns, subjects not analysed, visits after the last visit or not a visit, two events for
    one subject, unknown strategies.
    """
    k = len(visits)
    problems = ProblemCollector()
    missing_cols = [c for c in ("subject", "visit") if c not in events.columns]
    if missing_cols:
        raise DataError(f"intercurrent events need columns 'subject' and 'visit' (the first visit the event "
                        f"affects); missing {missing_cols}; columns given: {list(events.columns)}")
    if default_strategy is None and "strategy" not in events.columns:
        raise DataError("intercurrent events need a 'strategy' column, or pass strategy= for all of them")
    ev = events.reset_index(drop=True)
    sid = ev["subject"].astype(str)
    pos = pd.Index(subjects.astype(str)).get_indexer(sid)
    # row numbers of the events table as the user sees them (1-based), never the identifier values
    if (pos < 0).any():
        problems.add("subject", "intercurrent event for a subject that is not in the analysed data",
                     np.flatnonzero(pos < 0))
    dup = sid.duplicated(keep=False).to_numpy()
    if dup.any():
        problems.add("subject", "more than one intercurrent event for the same subject; give each subject its "
                     "first event only", np.flatnonzero(dup))
    v = pd.to_numeric(ev["visit"], errors="coerce").to_numpy(float)
    vis = np.asarray(visits, float)
    late = v > vis[-1] + 1e-9
    if late.any():
        problems.add("visit", f"intercurrent event after the last visit (week {vis[-1]:g}); it affects no "
                     "analysed value: drop the row or give the first visit it affects", np.flatnonzero(late))
    idx = np.searchsorted(vis + 1e-9, v)
    bad = ~late & (np.isnan(v) | ~np.isclose(vis[np.clip(idx, 0, k - 1)], v))
    if bad.any():
        problems.add("visit", f"event visit is not one of the analysed visits (weeks {', '.join(f'{x:g}' for x in vis)})",
                     np.flatnonzero(bad))
    if default_strategy is not None:
        codes = np.full(len(ev), STRATEGIES.index(normalise_strategy(default_strategy)))
    else:
        names = ev["strategy"].astype(str).str.strip().str.lower()
        known = names.map(_ALIASES)
        unknown = known.isna().to_numpy()
        if unknown.any():
            problems.add("strategy", f"unknown strategy; choose one of {', '.join(STRATEGIES)} (or "
                         "'hypothetical' / 'treatment policy', which are MAR)", np.flatnonzero(unknown))
        codes = np.array([STRATEGIES.index(s) if isinstance(s, str) else 0 for s in known])
    problems.raise_if_any()
    ice = np.full(len(subjects), k, dtype=np.int64)
    strat = np.zeros(len(subjects), dtype=np.int64)
    ice[pos] = idx
    strat[pos] = codes
    return ice, strat


def describe(strategy: str) -> str:
    return _DESCRIBE[strategy]


# --- the estimand of a primary analysis (ANCOVA on complete cases, MMRM under MAR) ---------------------------------

#: what each primary model does with the values missing after dropout: (strategy, description)
_PRIMARY_STRATEGY = {
    "ancova": ("hypothetical (complete cases)",
               "subjects without a value at the visit are left out; the estimate is that of a trial in which nobody "
               "dropped out when dropping out depends only on arm, baseline and the covariates"),
    "mmrm": ("hypothetical (MAR)",
             "values after dropout as if the subject had stayed on its arm, given its observed values (likelihood "
             "under missing at random; nothing imputed)"),
}


def for_analysis(trial, outcome: str, model: str, *, visit: float | None = None, n_per_arm: dict | None = None,
                 events: pd.DataFrame | None = None, covariates=(), baseline: bool = True) -> Estimand:
    """The estimand of an ANCOVA (complete cases at ``visit``) or an MMRM (all visits, MAR) of ``outcome``.

    Parameters
    ----------
    trial : Trial
        The analysed trial (its long frame is read; nothing is fitted).
    outcome : str
        A visit-level outcome.
    model : {"ancova", "mmrm"}
        The primary model: the strategy for dropout is hypothetical, estimated from complete cases (ANCOVA) or by
        likelihood under missing at random (MMRM).
    visit : float, optional
        The visit of the comparison (ANCOVA: required; MMRM: the visit at which claims are judged, if any).
    n_per_arm : dict, optional
        Subjects analysed per arm (the result's ``fitted.n_per_arm``), printed in the population.
    events : DataFrame, optional
        The trial's own intercurrent events: ``subject, visit`` (the first visit the event affects) and optionally
        ``event`` (its name, e.g. ``"stopped treatment"``). Values observed after an event are analysed as observed
        (treatment policy); missing ones as the model's dropout strategy. Default: events derived from monotone
        dropout (a subject whose values stop before the last visit has an event at the first missing visit;
        intermittent gaps are not events), and the estimand says so.
    covariates : sequence of str
        Adjustment covariates (named in the variable).
    baseline : bool
        The model adjusts for the baseline value (MMRM without baseline: ``False``).

    Returns
    -------
    Estimand

    Notes
    -----
    The five attributes of ICH E9(R1): population (the randomised subjects the model analyses), treatment (the arms
    as randomised), variable (the outcome at the visit, or at each visit), intercurrent events with their strategy,
    and the population-level summary (difference in adjusted means between arms).

    References
    ----------
    ICH E9(R1) addendum on estimands and sensitivity analysis in clinical trials, 2019.

    Example
    -------
    >>> import combotherapy as ct
    >>> from combotherapy.estimand import for_analysis
    >>> e = for_analysis(ct.simulate_trial(n_per_arm=30, seed=3), "pain", "ancova", visit=12)
    >>> e.events["strategy"].iloc[0]
    'hypothetical (complete cases)'
    """
    if model not in _PRIMARY_STRATEGY:
        raise DataError(f"an estimand is derived for the primary models 'ancova' and 'mmrm', not {model!r}")
    if model == "ancova" and visit is None:
        raise DataError("the estimand of an ANCOVA needs the visit of the comparison")
    week = float(visit) if visit is not None else float("nan")
    inst = trial.instrument(outcome)
    wide = trial.wide(outcome)
    arms = [str(a) for a in trial.arms if (wide["arm"] == a).any()]
    visits = [float(c) for c in wide.columns[1:] if float(c) > 0]
    Y = wide[visits].to_numpy(float)
    n_rand = len(wide)
    strategy, how = _PRIMARY_STRATEGY[model]
    last = visits[-1] if visits else None
    upto = week if model == "ancova" else last
    cols = ["event", "strategy", "subjects", "description"]
    notes: list[str] = []
    if events is None:
        derived = events_from_dropout(wide.index, Y, visits, "MAR")
        n_drop = int((derived["visit"].to_numpy(float) <= (upto if upto is not None else np.inf) + 1e-9).sum())
        rows = [("dropout (derived from monotone missing data)", strategy, n_drop, how)]
        if model == "ancova" and visits:
            j = int(np.argmin(np.abs(np.asarray(visits) - week)))
            later = ~np.isnan(Y[:, j + 1:]).all(axis=1) if j + 1 < len(visits) else np.zeros(len(Y), bool)
            gap = int((np.isnan(Y[:, j]) & later).sum())
            if gap:
                rows.append((f"missed week {week:g} but seen later (intermittent)", strategy, gap,
                             "not an intercurrent event: left out of this visit's comparison as a missing value"))
        notes.append("intercurrent events derived from monotone dropout (none were given): a subject whose values "
                     "stop before the last visit has an event at the first missing visit; intermittent gaps are not "
                     "events")
    else:
        ice, _ = event_arrays(events.drop(columns=[c for c in ("strategy",) if c in events.columns]),
                              pd.Index(wide.index.astype(str)), visits, "MAR")
        names = (events["event"].astype(str).to_numpy() if "event" in events.columns
                 else np.full(len(events), "intercurrent event"))
        pos = pd.Index(wide.index.astype(str)).get_indexer(events["subject"].astype(str))
        affects = ice[pos] < (np.searchsorted(np.asarray(visits) + 1e-9, upto) + 1 if upto is not None else 1)
        after = ~np.isnan(Y[pos])
        seen_after = (after & (np.arange(len(visits))[None, :] >= ice[pos][:, None])).any(axis=1)
        frame = pd.DataFrame({"event": names[affects], "seen": seen_after[affects]})
        rows = []
        for (name, seen), g in frame.groupby(["event", "seen"], sort=False):  # loop over kinds of event (a few)
            rows.append((str(name), "treatment policy" if seen else strategy, len(g),
                         "values observed after the event are analysed as observed" if seen else
                         f"no value after the event: {how}"))
        notes.append(f"intercurrent events as given ({len(events)} subjects)")
    ev = pd.DataFrame(rows, columns=cols)
    n_an = sum(n_per_arm.values()) if n_per_arm else None
    analysed = f"; {n_an} analysed" if n_an is not None else ""
    if model == "ancova":
        population = (f"randomised subjects with a baseline value of {outcome}, analysed when they have a value at "
                      f"week {week:g} ({n_rand} randomised{analysed})")
        variable = f"{outcome} at week {week:g}"
        summary = (f"difference in adjusted means between arms at week {week:g} (ANCOVA LS means at the "
                   "mean baseline)")
    else:
        population = (f"randomised subjects with {'a baseline value and ' if baseline else ''}at least one later "
                      f"value of {outcome} "
                      f"({n_rand} randomised{analysed})")
        variable = f"{outcome} at each visit (weeks {', '.join(f'{v:g}' for v in visits)})"
        summary = "difference in LS means between arms at each visit (MMRM)" + (
            f"; the claims are judged at week {week:g}" if visit is not None else "")
    adj = ", ".join((["baseline"] if baseline else []) + list(covariates))
    variable += (f", adjusted for {adj}" if adj else "") + f"; {inst.better} is better"
    return Estimand(population=population, treatment=f"{' vs '.join(arms)}, as randomised", variable=variable,
                    summary=summary, events=ev, notes=notes)
