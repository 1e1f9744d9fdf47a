"""Overlap of the propensity score: the distribution of each arm's score among the subjects of every arm."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import DataError
from ._common import new_figure
from .style import arm_colors, style

__all__ = ["overlap_data", "overlap"]


def _check(ps: object):
    from ..observational.propensity import PropensityResult
    if not isinstance(ps, PropensityResult):
        raise DataError(f"expected a PropensityResult (combotherapy.observational.propensity_score), not "
                        f"{type(ps).__name__}")
    return ps


def overlap_data(ps) -> pd.DataFrame:
    """Long table of the scores: ``subject_row, arm`` (received), ``score`` (whose probability), ``value``.

    With two arms only the second arm's score is kept (the other is its complement).

    Example
    -------
    >>> from combotherapy.observational import propensity_score, simulate_registry
    >>> d = overlap_data(propensity_score(simulate_registry(200, seed=1), "age + pain0"))
    >>> sorted(d["score"].unique())
    ['acupuncture', 'combined', 'physio']
    """
    ps = _check(ps)
    arms = ps.arms
    shown = arms[1:] if len(arms) == 2 else arms
    n = len(ps.received)
    cols = [arms.index(a) for a in shown]
    return pd.DataFrame({
        "subject_row": np.tile(np.arange(1, n + 1), len(shown)),
        "arm": pd.Categorical(np.tile(np.asarray(arms)[ps.received], len(shown)), categories=arms),
        "score": np.repeat(shown, n),
        "value": ps.probabilities[:, cols].ravel(order="F")})


def overlap(ps, *, bins: int = 25, ax: Axes | None = None) -> Figure:
    """Histograms of the propensity score by arm received, one panel per arm's score.

    Parameters
    ----------
    ps : PropensityResult
        From :func:`combotherapy.observational.propensity_score` (nothing is refitted).
    bins : int
        Bins on [0, 1].
    ax : Axes, optional
        Only with two arms (one panel).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Each panel shows P(arm k | covariates) for the subjects of every arm as step histograms scaled to density,
    and shades the common support (the range every arm covers). Little overlap means some subjects had
    practically no chance of some treatment: their comparison rests on extrapolation and their weights are
    extreme; restrict the population, trim, or use overlap weights.

    Example
    -------
    >>> from combotherapy.observational import propensity_score, simulate_registry
    >>> fig = overlap(propensity_score(simulate_registry(200, seed=1), "age + pain0"))
    >>> len(fig.axes)
    3
    """
    d = overlap_data(ps)
    scores = list(dict.fromkeys(d["score"]))
    colors = arm_colors(ps.arms)
    if ax is not None and len(scores) > 1:
        raise DataError("with three or more arms the overlap figure has one panel per arm; leave ax=None")
    edges = np.linspace(0.0, 1.0, bins + 1)
    with style():
        if ax is None:
            fig = new_figure((3.0 * len(scores) + 1.2, 2.8))
            axes = fig.subplots(1, len(scores), sharey=False, squeeze=False)[0]
        else:
            fig, axes = ax.get_figure(), [ax]
        for panel, score in zip(axes, scores):
            sub = d[d["score"] == score]
            lo = max(sub.loc[sub["arm"] == a, "value"].min() for a in ps.arms)
            hi = min(sub.loc[sub["arm"] == a, "value"].max() for a in ps.arms)
            if lo < hi:
                panel.axvspan(lo, hi, color="#EEEEEE", zorder=0, label="common support")
            for arm in ps.arms:
                vals = sub.loc[sub["arm"] == arm, "value"].to_numpy()
                dens, _ = np.histogram(vals, bins=edges, density=True)
                panel.stairs(dens, edges, color=colors[arm], linewidth=1.4, label=f"{arm} (n = {vals.size})")
            panel.set_xlim(0, 1)
            panel.set_xlabel(f"P({score} | covariates)")
            panel.set_ylabel("Density")
        axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), title="Arm received")
        fig.suptitle("Propensity score overlap", fontsize=10)
    return fig
