"""Tipping-point figure: each claimed contrast's estimate and confidence interval against the shift delta."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import DataError
from ._common import figure_and_axes
from .style import OKABE_ITO, style

__all__ = ["tipping_point", "tipping_point_data"]

_PALETTE = list(OKABE_ITO.values())


def tipping_point_data(result: object) -> pd.DataFrame:
    """The grid of a :class:`~combotherapy.missing.TippingPointResult` (``delta, contrast, estimate, ci_low,
    ci_high, claim``) with ``tipping_delta`` of the contrast beside each row."""
    grid, tips = getattr(result, "grid", None), getattr(result, "tipping", None)
    if not isinstance(grid, pd.DataFrame) or not isinstance(tips, pd.DataFrame):
        raise DataError(f"{type(result).__name__} is not a tipping-point result; pass "
                        "ct.missing.tipping_point(...) (or a sensitivity panel's .tipping)")
    out = grid[["delta", "contrast", "first", "second", "estimate", "ci_low", "ci_high", "p", "claim"]].copy()
    return out.merge(tips[["contrast", "tipping_delta"]], on="contrast", how="left")


def tipping_point(result: object, *, ax: Axes | None = None, figsize: tuple[float, float] = (6.4, 4.0)) -> Figure:
    """Estimate and confidence band of each claimed contrast over the delta grid, with the tipping point marked.

    Parameters
    ----------
    result : TippingPointResult or SensitivityPanel
        ``ct.missing.tipping_point(...)``; a panel's ``.tipping`` is used when a panel is passed.
    ax : Axes, optional
    figsize : tuple

    Returns
    -------
    Figure

    Example
    -------
    >>> import combotherapy as ct
    >>> mi = ct.missing.approximate_bayes(ct.simulate_trial(n_per_arm=30, seed=3), "pain", m=5, seed=1)
    >>> fig = ct.plot.tipping_point(ct.missing.tipping_point(mi, [0, 2, 4]))
    """
    if hasattr(result, "tipping") and not isinstance(result.tipping, pd.DataFrame):
        result = result.tipping
    d = tipping_point_data(result)
    better = getattr(result, "better", None)
    outcome = getattr(getattr(result, "fitted", None), "outcome", "") or ""
    arm = ", ".join(getattr(result, "arm", {}) or [])
    with style():
        fig, ax = figure_and_axes(ax, figsize)
        for i, (label, g) in enumerate(d.groupby("contrast", sort=False)):  # loop over claimed contrasts
            colour = _PALETTE[(i + 1) % len(_PALETTE)]
            ax.fill_between(g["delta"], g["ci_low"], g["ci_high"], color=colour, alpha=0.2, linewidth=0)
            ax.plot(g["delta"], g["estimate"], color=colour, label=label)
            tip = g["tipping_delta"].iloc[0]
            if np.isfinite(tip):
                ax.axvline(tip, color=colour, linestyle="--", linewidth=1)
                ax.annotate(f"tips at {tip:.3g}", (tip, ax.get_ylim()[1]), color=colour, fontsize=8,
                            ha="left", va="top", xytext=(3, -3 - 12 * i), textcoords="offset points")
        ax.axhline(0, color="0.3", linewidth=0.8)
        worse = {"lower": "higher", "higher": "lower"}.get(better, "worse")
        ax.set_xlabel(f"delta: shift of {arm or 'the'} imputed values towards worse ({worse} {outcome})")
        ax.set_ylabel(f"difference in {outcome} (95% CI)" if outcome else "difference (95% CI)")
        if better in ("lower", "higher"):
            ax.set_title(f"Tipping point ({better} {outcome} is better)", fontsize=10)
        ax.legend(frameon=False, fontsize=8)
    return fig
