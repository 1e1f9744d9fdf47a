"""Waterfall plot: every subject's change from baseline, sorted, coloured by arm."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..errors import DataError
from ..instruments import with_units
from ..trial import Trial
from ._common import change_from_baseline, check_trial, check_visit_outcome, figure_and_axes, visit_label
from .style import arm_colors, style

__all__ = ["waterfall_data", "waterfall"]


def waterfall_data(trial: Trial, outcome: str, visit: float, *, relative: bool = False) -> pd.DataFrame:
    """Each subject's change from baseline at ``visit``, ordered worst to best.

    Parameters
    ----------
    trial : Trial
    outcome : str
        A visit-level outcome.
    visit : float
        Follow-up visit in weeks.
    relative : bool
        Percent change from baseline, ``100 (y_v - y_0) / y_0``, instead of the change in the
        instrument's units. Subjects with baseline 0 are then excluded.

    Returns
    -------
    DataFrame
        One row per subject with both values: ``subject, arm, baseline, value, change,
        improvement, rank``; ``improvement`` is the change signed so that positive is better
        (``-change`` when lower scores are better). Sorted by ``improvement`` ascending (ties:
        arm order, then subject) and ``rank`` runs 1..n in that order, so the best responders
        are on the right. ``attrs["excluded"]`` holds, per arm, the number of randomised
        subjects without a usable change.

    Example
    -------
    >>> waterfall_data(trial, "pain", 12).head()  # doctest: +SKIP
    """
    trial = check_trial(trial)
    v = check_visit_outcome(trial, outcome, visit)
    d = change_from_baseline(trial, outcome, v, relative=relative)
    if relative:
        d["change"] = 100.0 * d["change"]  # percent
    usable = d["change"].notna()
    if not usable.any():
        raise DataError(f"no subject has both a baseline and a week-{v:g} value of '{outcome}'"
                        + (" (baseline 0 leaves the relative change undefined)" if relative else "")
                        + ": nothing to draw")
    excluded = d.loc[~usable].groupby("arm", observed=False).size().reindex(trial.arms).fillna(0).astype(int)
    d = d.loc[usable].copy()
    d["improvement"] = trial.instrument(outcome).sign * d["change"]
    d["_arm_pos"] = d["arm"].cat.codes
    d = d.sort_values(["improvement", "_arm_pos", "subject"], kind="stable").drop(columns="_arm_pos")
    d["rank"] = np.arange(1, len(d) + 1)
    d = d.reset_index(drop=True)
    d.attrs["excluded"] = excluded.to_dict()
    return d


def waterfall(trial: Trial, outcome: str, visit: float, *, relative: bool = False,
              ax: Axes | None = None) -> Figure:
    """Draw each subject's change from baseline as a bar, sorted, coloured by arm.

    Parameters
    ----------
    trial : Trial
    outcome : str
        A visit-level outcome (e.g. ``"pain"``).
    visit : float
        Follow-up visit in weeks.
    relative : bool
        Percent change from baseline instead of change in units.
    ax : matplotlib Axes, optional
        Draw into this axes; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Bars show :math:`y_{i,v} - y_{i,0}` (or its percentage of :math:`y_{i,0}`) on the
    instrument's own scale, ordered from the worst to the best change in the instrument's
    good direction; an arrow beside the axis says which way is improvement. Subjects
    missing the baseline or the visit are left out and counted in the legend. This is a
    description of individual changes, not a comparison of arms: it includes regression to
    the mean and natural recovery.

    Example
    -------
    >>> fig = ct.plot.waterfall(trial, "pain", 12)  # doctest: +SKIP
    """
    d = waterfall_data(trial, outcome, visit, relative=relative)
    inst = trial.instrument(outcome)
    colors = arm_colors(trial.arms)
    n = len(d)
    with style():
        fig, ax = figure_and_axes(ax, (7.2, 3.6))
        if n:
            ax.bar(d["rank"].to_numpy(), d["change"].to_numpy(), width=1.0 if n > 60 else 0.85,
                   color=d["arm"].map(colors).astype(str).tolist(), linewidth=0)
        ax.axhline(0.0, color="#000000", linewidth=0.8)
        ax.set_xlim(0.25, max(n, 1) + 0.75)
        ax.set_xticks([])
        ax.set_xlabel(f"Subjects, ordered from worst to best change (n = {n})")
        unit = "%" if relative else inst.units
        what = inst.label or inst.name
        kind = "Percent change" if relative else "Change"
        ax.set_ylabel(f"{kind} in {with_units(what, unit)}\nfrom baseline to {visit_label(float(visit))}")
        counts = d.groupby("arm", observed=False).size()
        excl = d.attrs["excluded"]
        # subjects without a change are missing a value (or, for a relative change, have baseline 0): say so,
        # never call them "without change", which reads as a change of zero
        n_missing = int(sum(excl.values()))
        if n_missing:
            why = (f"no baseline or {visit_label(float(visit))} value, or baseline 0" if relative
                   else f"no baseline or {visit_label(float(visit))} value")
            ax.set_xlabel(f"{ax.get_xlabel()}\nnot shown: {n_missing} missing ({why})")
        handles = [Patch(color=colors[a], label=f"{a} (n = {int(counts.get(a, 0))}"
                         + (f", {excl[a]} missing)" if excl.get(a) else ")")) for a in trial.arms]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.08, 1.0))
        # which way is better: an arrow inside the plot on the right, pointing along the good direction
        up = inst.better == "higher"
        ax.annotate("", xy=(1.02, 0.85 if up else 0.15), xytext=(1.02, 0.5), xycoords="axes fraction",
                    arrowprops={"arrowstyle": "-|>", "color": "#000000", "linewidth": 0.8}, annotation_clip=False)
        ax.text(1.04, 0.5, "improvement", rotation=90, ha="left", va="bottom" if up else "top",
                transform=ax.transAxes, fontsize=8)
    return fig
