"""Estimands of the imputation analyses (:func:`estimand`).

The :class:`~combotherapy.estimand.Estimand` description, the strategies and the intercurrent-event checks live in
:mod:`combotherapy.estimand` (low in the import order, so that the models can attach an estimand to their results
without importing this subpackage); they are re-exported here.
"""

from __future__ import annotations

import pandas as pd

from ..estimand import STRATEGIES, Estimand, describe, event_arrays, events_from_dropout, normalise_strategy

_REEXPORTED = (describe,)  # used by the other modules of ct.missing through this module

__all__ = ["STRATEGIES", "Estimand", "estimand", "normalise_strategy", "events_from_dropout", "event_arrays"]


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
