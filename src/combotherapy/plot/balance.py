"""Love plot: standardised mean differences of every covariate before and after weighting or matching."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..errors import DataError
from ._common import figure_and_axes
from .style import OKABE_ITO, style

__all__ = ["love_plot_data", "love_plot"]

_PAIR_COLORS = (OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["bluish_green"], OKABE_ITO["orange"],
                OKABE_ITO["reddish_purple"], OKABE_ITO["sky_blue"])


def _table(result: object) -> tuple[pd.DataFrame, float, str]:
    from ..observational.balance import BalanceResult
    from ..observational.matching import MatchResult
    if isinstance(result, MatchResult):
        result = result.balance_result
    if not isinstance(result, BalanceResult):
        raise DataError(f"expected a BalanceResult (combotherapy.observational.balance) or a MatchResult, not "
                        f"{type(result).__name__}")
    return result.balance, result.threshold, result.method


def love_plot_data(result, *, absolute: bool = True) -> pd.DataFrame:
    """Long table: ``covariate, contrast, stage`` ("before"/"after"), ``smd`` (absolute by default).

    Example
    -------
    >>> from combotherapy.observational import balance, iptw, propensity_score, simulate_registry
    >>> b = balance(iptw(propensity_score(simulate_registry(200, seed=1), "age + pain0")))
    >>> love_plot_data(b)["stage"].unique().tolist()
    ['before', 'after']
    """
    table, _, _ = _table(result)
    long = table.melt(id_vars=["covariate", "contrast"], value_vars=["smd_before", "smd_after"],
                      var_name="stage", value_name="smd")
    long["stage"] = long["stage"].str.removeprefix("smd_")
    if absolute:
        long["smd"] = long["smd"].abs()
    return long


def love_plot(result, *, absolute: bool = True, ax: Axes | None = None) -> Figure:
    """Dot plot of the SMD of every covariate before (open) and after (filled) adjustment, one colour per pair.

    Parameters
    ----------
    result : BalanceResult or MatchResult
    absolute : bool
        Plot |SMD| (default) or signed SMDs.
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The dashed line is the balance threshold of the result (0.1 by default): filled dots to its right are the
    covariates that still fail after adjustment.

    Example
    -------
    >>> from combotherapy.observational import balance, iptw, propensity_score, simulate_registry
    >>> fig = love_plot(balance(iptw(propensity_score(simulate_registry(200, seed=1), "age + pain0"))))
    >>> fig.axes[0].get_xlabel()
    'Absolute standardised mean difference'
    """
    d = love_plot_data(result, absolute=absolute)
    _, threshold, method = _table(result)
    covs = list(dict.fromkeys(d["covariate"]))
    pairs = list(dict.fromkeys(d["contrast"]))
    ypos = {c: len(covs) - 1 - i for i, c in enumerate(covs)}
    offs = (np.arange(len(pairs)) - (len(pairs) - 1) / 2) * (0.5 / max(len(pairs), 1))
    with style():
        fig, ax = figure_and_axes(ax, (6.4, 0.35 * len(covs) + 1.6))
        for k, pair in enumerate(pairs):
            col = _PAIR_COLORS[k % len(_PAIR_COLORS)]
            for stage, face in (("before", "none"), ("after", col)):
                s = d[(d["contrast"] == pair) & (d["stage"] == stage)]
                ax.scatter(s["smd"], s["covariate"].map(ypos) + offs[k], s=22, facecolors=face, edgecolors=col,
                           linewidths=1.0, zorder=3)
        for t in ([threshold] if absolute else [-threshold, threshold]):
            ax.axvline(t, color="#000000", linestyle="--", linewidth=0.8)
        ax.axvline(0.0, color="#999999", linewidth=0.6)
        ax.set_yticks(range(len(covs)), labels=covs[::-1])
        ax.set_xlabel("Absolute standardised mean difference" if absolute else "Standardised mean difference")
        handles = [Line2D([], [], marker="o", linestyle="", color=_PAIR_COLORS[k % len(_PAIR_COLORS)], label=p)
                   for k, p in enumerate(pairs)]
        handles += [Line2D([], [], marker="o", linestyle="", markerfacecolor="none", color="#000000",
                           label="before"),
                    Line2D([], [], marker="o", linestyle="", color="#000000", label=f"after {method}"),
                    Line2D([], [], linestyle="--", color="#000000", label=f"threshold {threshold:g}")]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig
