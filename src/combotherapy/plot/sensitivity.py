"""Sensitivity forest: the claimed contrasts under each missing-data assumption, one row per analysis."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import DataError
from ._common import figure_and_axes
from .style import OKABE_ITO, style

__all__ = ["sensitivity", "sensitivity_data"]

_PALETTE = list(OKABE_ITO.values())


def sensitivity_data(result: object) -> pd.DataFrame:
    """Rows of the figure: a :class:`~combotherapy.missing.SensitivityPanel`'s ``panel`` table with ``y`` (row
    position, top first)."""
    panel = getattr(result, "panel", None)
    if not isinstance(panel, pd.DataFrame):
        raise DataError(f"{type(result).__name__} is not a sensitivity panel; pass ct.missing.sensitivity_panel(...)")
    d = panel[["analysis", "contrast", "estimate", "ci_low", "ci_high", "claim"]].copy()
    analyses = list(dict.fromkeys(d["analysis"]))
    contrasts = list(dict.fromkeys(d["contrast"]))
    # one block per analysis, the contrasts of a block slightly apart
    step = 0.8 / max(len(contrasts), 1)
    d["y"] = [len(analyses) - 1 - analyses.index(a) + (len(contrasts) - 1) / 2 * step - contrasts.index(c) * step
              for a, c in zip(d["analysis"], d["contrast"])]
    return d


def sensitivity(result: object, *, ax: Axes | None = None, figsize: tuple[float, float] = (6.4, 4.2)) -> Figure:
    """Forest of the claimed contrasts (estimate, 95% CI) under complete cases, MMRM and MI (MAR, J2R, CR, CIR),
    with the tipping deltas in the caption.

    Parameters
    ----------
    result : SensitivityPanel
    ax : Axes, optional
    figsize : tuple

    Returns
    -------
    Figure

    Example
    -------
    >>> import combotherapy as ct
    >>> panel = ct.missing.sensitivity_panel(ct.simulate_trial(n_per_arm=30, seed=3), "pain",
    ...                                      reference_arms="physio", m=5)
    >>> fig = ct.plot.sensitivity(panel)
    """
    d = sensitivity_data(result)
    better = getattr(result, "better", None)
    outcome = getattr(getattr(result, "fitted", None), "outcome", "") or ""
    with style():
        fig, ax = figure_and_axes(ax, figsize)
        for i, (label, g) in enumerate(d.groupby("contrast", sort=False)):  # loop over claimed contrasts
            colour = _PALETTE[(i + 1) % len(_PALETTE)]
            ax.errorbar(g["estimate"], g["y"], xerr=[g["estimate"] - g["ci_low"], g["ci_high"] - g["estimate"]],
                        fmt="o", color=colour, label=label, capsize=2, markersize=4)
            hollow = g[~g["claim"].astype(bool)]
            ax.plot(hollow["estimate"], hollow["y"], "o", color="white", markersize=2.5)
        analyses = list(dict.fromkeys(d["analysis"]))
        ax.set_yticks(np.arange(len(analyses))[::-1], analyses)
        ax.axvline(0, color="0.3", linewidth=0.8)
        ax.set_xlabel(f"difference in {outcome} (95% CI)" + (f"; {better} is better" if better else ""))
        tips = getattr(getattr(result, "tipping", None), "tipping", None)
        if isinstance(tips, pd.DataFrame) and len(tips):
            text = "; ".join(f"{r.contrast}: {r.tipping_delta:.3g}" if np.isfinite(r.tipping_delta)
                             else f"{r.contrast}: {'beyond the grid' if r.holds_at_zero else 'no claim at 0'}"
                             for r in tips.itertuples())
            ax.set_title(f"tipping point (MI MAR): {text}", fontsize=8)
        ax.legend(frameon=False, fontsize=8, loc="best")
    return fig
