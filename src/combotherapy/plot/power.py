"""Power curve: simulated power against sample size, with Monte Carlo error bars (from :func:`ct.power`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import DataError
from ._common import figure_and_axes
from .style import OKABE_ITO, style

__all__ = ["power_curve", "power_curve_data"]

_COLOURS = list(OKABE_ITO.values())[1:]  # not black: the target line is grey


def power_curve_data(result: object, kinds: Sequence[str] = ("combination", "one_sided"),
                     truth: str = "design") -> pd.DataFrame:
    """The rows a power curve draws: ``kind, outcome, test, n, n_total, power, mc_se, ci_low, ci_high``."""
    table = getattr(result, "table", None)
    if not isinstance(table, pd.DataFrame) or not {"kind", "power", "mc_se", "n"} <= set(table.columns):
        raise DataError(f"power_curve needs the result of ct.power, not {type(result).__name__}")
    rows = table[table["kind"].isin(list(kinds)) & (table["truth"] == truth)]
    if rows.empty:
        raise DataError(f"the power table has no rows of kinds {list(kinds)} under truth '{truth}'")
    return rows.sort_values(["kind", "outcome", "test", "n"]).reset_index(drop=True)


def power_curve(result: object, *, kinds: Sequence[str] = ("combination", "one_sided"), target: float | None = 0.8,
                total: bool = False, ax: Axes | None = None) -> Figure:
    """Plot simulated power against n, one line per test, with +/- 1.96 Monte Carlo SE error bars.

    Parameters
    ----------
    result : PowerResult
        From :func:`combotherapy.power`.
    kinds : sequence of str
        Rows of the power table to draw (``combination``, ``one_sided``, ``contrast``, ``claim``, ``family``).
    target : float, optional
        Draw a horizontal line at this power.
    total : bool
        x axis = total subjects instead of n per allocation unit.
    ax : Axes, optional

    Returns
    -------
    Figure

    Example
    -------
    >>> import combotherapy as ct
    >>> fig = ct.plot.power_curve(ct.power(n=[20, 40], n_sims=20, seed=1, null=False))
    """
    data = power_curve_data(result, kinds)
    x = "n_total" if total else "n"
    with style():
        fig, ax = figure_and_axes(ax, (6.0, 4.0))
        for i, ((kind, outcome, test), g) in enumerate(data.groupby(["kind", "outcome", "test"], sort=False)):
            err = 1.96 * g["mc_se"].to_numpy()
            ax.errorbar(g[x], g["power"], yerr=err, marker="o", capsize=3, color=_COLOURS[i % len(_COLOURS)],
                        label=f"{outcome}: {test}" + ("" if kind == "combination" else f" ({kind})"))
        if target is not None:
            ax.axhline(target, color="0.5", linestyle="--", linewidth=1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("n, total subjects" if total else "n per allocation unit (per arm when equal)")
        ax.set_ylabel("simulated power")
        ax.legend(frameon=False, fontsize="small")
    return fig
