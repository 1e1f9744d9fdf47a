"""Kaplan–Meier curves with confidence bands and a numbers-at-risk table, from a survival result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..errors import DataError
from ..instruments import instrument_for
from ._common import new_figure, root_figure
from .style import arm_colors, style

__all__ = ["KMPlotData", "survival_data", "survival"]

_KM_COLUMNS = ("arm", "time", "n_risk", "n_events", "n_censored", "survival", "ci_low", "ci_high")


@dataclass(frozen=True)
class KMPlotData:
    """The data behind :func:`survival`.

    Attributes
    ----------
    curves : DataFrame
        ``arm, time, estimate, ci_low, ci_high, n_censored``: each arm's step function from
        time 0 (estimate 1, or 0 when cumulative), right-continuous.
    at_risk : DataFrame
        ``arm, time, n_risk``: subjects still at risk (time ≥ t) at each tick time.
    cumulative : bool
        Whether ``estimate`` is 1 - S(t) (proportion with the event) rather than S(t).
    time_name, event_name : str or None
        Columns of the trial the result was fitted on (from its formula).
    """

    curves: pd.DataFrame
    at_risk: pd.DataFrame
    cumulative: bool
    time_name: str | None
    event_name: str | None


def _km_of(result: object) -> tuple[pd.DataFrame, str | None, str | None]:
    table = result if isinstance(result, pd.DataFrame) else getattr(result, "km_curves", None)
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"expected a survival result with a 'km_curves' table (from ct.survival), not "
                        f"{type(result).__name__}")
    absent = [c for c in _KM_COLUMNS if c not in table.columns]
    if absent:
        raise DataError(f"the Kaplan–Meier table lacks the columns {absent}; it needs {list(_KM_COLUMNS)}")
    if table.empty:
        raise DataError("the Kaplan–Meier table is empty: nothing to plot")
    extra = getattr(getattr(result, "fitted", None), "extra", None) or {}
    # the result names its columns (fitted.extra); nothing is parsed back from the formula text
    return table, extra.get("time"), extra.get("event")


def _visits(result: object) -> list[float]:
    """The trial's follow-up visits (weeks) recorded by ``ct.survival``: the natural ticks of the time axis."""
    extra = getattr(getattr(result, "fitted", None), "extra", None) or {}
    return [float(v) for v in extra.get("visits", []) if np.isfinite(v) and v > 0]


def survival_data(result: object, *, cumulative: bool | None = None,
                  times: Sequence[float] | None = None) -> KMPlotData:
    """Curves and numbers at risk of :func:`survival`, from the result's stored step tables.

    Parameters
    ----------
    result : SurvivalResult or DataFrame
        From :func:`combotherapy.survival` (its ``km_curves``), or that table.
    cumulative : bool, optional
        Plot 1 - S(t), the proportion with the event. Default: yes when the event is a good one
        (its instrument says higher is better, e.g. recovery), else S(t).
    times : sequence of float, optional
        Times of the numbers-at-risk table (default: 0 and the trial's scheduled visits recorded by
        :func:`combotherapy.survival`, else round ticks from 0 to the last time).

    Returns
    -------
    KMPlotData

    Notes
    -----
    Nothing is re-estimated: the survival estimates and pointwise confidence limits are the
    result's. The number at risk at time t is the number of the arm's subjects whose follow-up
    time is at least t, i.e. ``n_risk`` of the arm's first row with ``time >= t`` (0 after the
    last time).
    """
    table, time_name, event_name = _km_of(result)
    inst = instrument_for(event_name) if event_name else None
    if cumulative is None:
        cumulative = inst is not None and inst.better == "higher"
    arms = list(dict.fromkeys(table["arm"].astype(str)))
    km = table.assign(arm=table["arm"].astype(str)).sort_values(["arm", "time"], kind="stable")
    start = pd.DataFrame({"arm": arms, "time": 0.0, "survival": 1.0, "ci_low": 1.0, "ci_high": 1.0,
                          "n_censored": 0})
    km0 = km.loc[km["time"] > 0, ["arm", "time", "survival", "ci_low", "ci_high", "n_censored"]]
    cur = pd.concat([start, km0], ignore_index=True)
    cur["_a"] = cur["arm"].map({a: i for i, a in enumerate(arms)})
    cur = cur.sort_values(["_a", "time"], kind="stable").drop(columns="_a").reset_index(drop=True)
    s, lo, hi = (cur[c].astype(float) for c in ("survival", "ci_low", "ci_high"))
    curves = pd.DataFrame({"arm": cur["arm"], "time": cur["time"].astype(float),
                           "estimate": 1 - s if cumulative else s,
                           "ci_low": 1 - hi if cumulative else lo, "ci_high": 1 - lo if cumulative else hi,
                           "n_censored": cur["n_censored"].astype(int)})
    tmax = float(km["time"].max())
    visits = [v for v in _visits(result) if v <= tmax * 1.001]
    if times is None and len(visits) >= 2:
        # ticks and numbers at risk at the scheduled visits; follow-up that runs past the last visit continues at
        # the last visit interval, so the axis is labelled to its end
        t = [0.0, *visits]
        step = t[-1] - t[-2]
        while t[-1] + step <= tmax * 1.001:
            t.append(t[-1] + step)
        t = np.asarray(t, dtype=float)
    elif times is None:
        ticks = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(0.0, tmax)
        t = np.asarray([x for x in ticks if 0 <= x <= tmax + 1e-12], dtype=float)
    else:
        t = np.sort(np.asarray(list(times), dtype=float))
        if not np.isfinite(t).all() or (t < 0).any():
            raise DataError("times for the numbers at risk must be finite and not negative")
    rows = []
    for a in arms:  # loop over arms (a handful), vectorised over times
        g = km.loc[km["arm"] == a]
        tt, nr = g["time"].to_numpy(float), g["n_risk"].to_numpy(int)
        idx = np.searchsorted(tt, t, side="left")
        rows.append(pd.DataFrame({"arm": a, "time": t,
                                  "n_risk": np.where(idx < len(tt), nr[np.minimum(idx, len(tt) - 1)], 0)}))
    at_risk = pd.concat(rows, ignore_index=True)
    return KMPlotData(curves=curves, at_risk=at_risk, cumulative=bool(cumulative), time_name=time_name,
                      event_name=event_name)


def survival(result: object, *, cumulative: bool | None = None, ci: bool = True, risk_table: bool = True,
             times: Sequence[float] | None = None, ax: Axes | None = None) -> Figure:
    """Draw Kaplan–Meier curves with confidence bands and the numbers at risk under the axis.

    Parameters
    ----------
    result : SurvivalResult
        From :func:`combotherapy.survival`.
    cumulative : bool, optional
        Plot 1 - S(t) (default when the event is good, e.g. recovery) or S(t).
    ci : bool
        Shade the pointwise confidence band stored in the result.
    risk_table : bool
        Add the numbers-at-risk table under the axis.
    times : sequence of float, optional
        Times of the numbers-at-risk table and of the axis ticks (default: 0 and the trial's visits).
    ax : matplotlib Axes, optional
        Draw the curves here; the table then goes into an inset just below it (leave room).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Steps are right-continuous; censored times are marked with a vertical tick. Nothing is
    re-estimated (see :func:`survival_data`).

    References
    ----------
    Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. JASA
    1958;53:457-81. Morris TP et al. Proposals on Kaplan–Meier plots in medical research and a
    survey of stakeholder views: KMunicate. BMJ Open 2019;9:e030215.

    Example
    -------
    >>> fig = ct.plot.survival(ct.survival(trial))  # doctest: +SKIP
    """
    k = survival_data(result, cumulative=cumulative, times=times)
    table, _, _ = _km_of(result)
    arms = list(dict.fromkeys(k.curves["arm"]))
    colors = arm_colors(arms)
    with style():
        if ax is None:
            fig = new_figure((6.0, 3.9 + (0.22 * len(arms) + 0.3 if risk_table else 0)))
            if risk_table:
                gs = fig.add_gridspec(2, 1, height_ratios=[3.6, 0.22 * len(arms) + 0.35])
                ax = fig.add_subplot(gs[0])
                tab = fig.add_subplot(gs[1], sharex=ax)
            else:
                ax = fig.add_subplot()
        else:
            fig = root_figure(ax)
            if risk_table:
                tab = ax.inset_axes((0.0, -0.22 - 0.07 * len(arms), 1.0, 0.07 * len(arms)), sharex=ax)
        handles = []
        km_n = table.assign(arm=table["arm"].astype(str)).groupby("arm", sort=False)
        n_tot = km_n["n_risk"].first()
        n_ev = km_n["n_events"].sum()
        for a in arms:
            g = k.curves.loc[k.curves["arm"] == a]
            x, yv = g["time"].to_numpy(), g["estimate"].to_numpy()
            ax.step(x, yv, where="post", color=colors[a], linewidth=1.5)
            if ci and len(x) > 1:
                # explicit steps: the band of row i covers [t_i, t_i+1), so a limit that is undefined at the
                # last time (S = 0 there) does not erase the band before it, as step="post" would
                xs = np.column_stack([x[:-1], x[1:]]).ravel()
                lo_, hi_ = (np.repeat(g[c].to_numpy(dtype=float)[:-1], 2) for c in ("ci_low", "ci_high"))
                # a light fill plus thin edges: where two arms' bands overlap each stays readable (two strong
                # fills mixed into one muddy colour)
                ax.fill_between(xs, lo_, hi_, color=colors[a], alpha=0.08, linewidth=0)
                for edge in (lo_, hi_):
                    ax.plot(xs, edge, color=colors[a], linewidth=0.5, alpha=0.55)
            cens = g["n_censored"].to_numpy() > 0
            ax.plot(x[cens], yv[cens], linestyle="none", marker="|", markersize=5, color=colors[a])
            handles.append(Line2D([], [], color=colors[a], label=f"{a} (n = {int(n_tot[a])}, "
                                                                   f"events = {int(n_ev[a])})"))
        ax.set_ylim(0.0, 1.02)
        tmax = float(k.curves["time"].max())
        ax.set_xlim(-0.01 * tmax, tmax * 1.03)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ev = instrument_for(k.event_name) if k.event_name else None
        tm = instrument_for(k.time_name) if k.time_name else None
        what = (ev.label or ev.name).lower() if ev is not None else "event"
        ax.set_ylabel(f"Cumulative proportion\n({what})" if k.cumulative else f"Proportion without event\n({what})")
        xlab = tm.axis_label() if tm is not None else "Time"
        handles.append(Line2D([], [], color="#777777", marker="|", linestyle="none", label="censored"))
        # above the axes: inside, it would hide a curve or a band whichever corner it took
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2, borderaxespad=0.0)
        if risk_table:
            t = np.unique(k.at_risk["time"].to_numpy())
            ax.set_xticks(t)
            ax.set_xticklabels([f"{v:g}" for v in t])
            ax.set_xlabel(xlab)
            tab.set_ylim(len(arms) - 0.5, -0.5)
            for i, a in enumerate(arms):
                r = k.at_risk.loc[k.at_risk["arm"] == a]
                for tt, nr in zip(r["time"], r["n_risk"]):
                    tab.text(tt, i, f"{int(nr)}", ha="center", va="center", fontsize=8, color=colors[a])
            tab.set_yticks(range(len(arms)))
            tab.set_yticklabels(arms, fontsize=8)
            for lab, a in zip(tab.get_yticklabels(), arms):
                lab.set_color(colors[a])
            tab.tick_params(axis="both", length=0)
            tab.tick_params(axis="y", pad=14)  # room for the numbers centred on time 0
            tab.tick_params(axis="x", labelbottom=False)
            for side in ("left", "right", "top", "bottom"):
                tab.spines[side].set_visible(False)
            tab.set_title("Number at risk", loc="left", fontsize=8, fontweight="bold")
        else:
            ax.set_xlabel(xlab)
    return fig
