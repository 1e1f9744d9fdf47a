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

from ..errors import DataError, ProblemCollector

__all__ = ["STRATEGIES", "Estimand", "estimand", "normalise_strategy", "events_from_dropout", "event_arrays"]

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


def estimand(trial, outcome: str, *, events: pd.DataFrame | None = None, strategy: str | None = None,
             reference_arms=None, covariates=(), baseline: bool = True) -> Estimand:
    """The estimand of an analysis of ``outcome`` with these intercurrent events and strategies, without fitting
    anything (to attach to a primary result, a report or a notebook).

    Parameters
    ----------
    trial : Trial
    outcome : str
    events : DataFrame, optional
        ``subject, visit[, strategy]``; default derived from monotone dropout (and the estimand says so).
    strategy : str, optional
        Strategy for every event (default MAR, i.e. hypothetical).
    reference_arms : str or dict, optional
        Imputation references (reference-based strategies).
    covariates : sequence of str
    baseline : bool

    Returns
    -------
    Estimand

    Example
    -------
    >>> import combotherapy as ct
    >>> e = ct.missing.estimand(ct.simulate_trial(n_per_arm=30, seed=3), "pain")
    >>> e.lines()[0]
    'Estimand (ICH E9(R1))'
    """
    from .model import prepare
    from .result import estimand_of
    imp = prepare(trial, outcome, covariates=covariates, baseline=baseline, events=events, strategy=strategy,
                  reference_arms=reference_arms)
    return estimand_of(imp, trial, outcome, events is not None)
