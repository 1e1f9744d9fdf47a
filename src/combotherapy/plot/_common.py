"""Helpers shared by the plot families: new figures without pyplot, arm checks, labels."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..analysis_set import change
from ..errors import DataError
from ..trial import Trial


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure that belongs to no pyplot window manager.

    Library figures are created with :class:`matplotlib.figure.Figure` directly, so making
    hundreds of them (``combotherapy reproduce``) leaks nothing and needs no GUI backend.
    In a notebook they display as the value of a cell: pyplot-free figures have no display hook of their own
    until the inline backend is active, so the first figure registers a PNG display for figures in a running
    IPython shell (:func:`_display_in_ipython`; ``%matplotlib inline`` does the same and takes over).
    """
    _display_in_ipython()
    return Figure(figsize=figsize, layout="constrained")


_DISPLAY_REGISTERED = False


def _display_in_ipython() -> None:
    """Show library figures inline in Jupyter without ``%matplotlib inline`` (once per process; a no-op outside
    IPython, and IPython is never imported here: it must already be running)."""
    global _DISPLAY_REGISTERED
    if _DISPLAY_REGISTERED or "IPython" not in sys.modules:
        return
    _DISPLAY_REGISTERED = True
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure

        shell = get_ipython()
        if shell is None:
            return
        png = shell.display_formatter.formatters["image/png"]
        try:
            png.lookup_by_type(Figure)  # an active inline backend already shows figures
        except KeyError:
            png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))
    except Exception:  # display is a convenience: never let it break drawing
        return


def figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig = new_figure(figsize)
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, not {type(ax).__name__}")
    return root_figure(ax), ax


def root_figure(ax: Axes) -> Figure:
    """The top-level figure of ``ax`` (not a subfigure), on matplotlib before and after 3.10."""
    try:
        return ax.get_figure(root=True)
    except TypeError:  # matplotlib < 3.10 has no root argument
        fig = ax.figure
        while getattr(fig, "figure", fig) is not fig:
            fig = fig.figure
        return fig


def check_trial(trial: object) -> Trial:
    if not isinstance(trial, Trial):
        raise DataError(f"expected a ct.Trial (from ct.load or ct.simulate_trial), not {type(trial).__name__}")
    return trial


def check_visit_outcome(trial: Trial, outcome: str, visit: float) -> float:
    inst = trial.instrument(outcome)
    if inst.level != "visit":
        raise DataError(f"outcome '{outcome}' is measured once per subject, not at each visit; "
                        f"choose a visit-level outcome ({', '.join(trial.visit_outcomes)})")
    v = trial.check_visit(visit)
    if v == 0.0:
        raise DataError("visit 0 is the baseline; choose a follow-up visit to measure change from baseline")
    return v


def change_from_baseline(trial: Trial, outcome: str, visit: float, *, relative: bool = False) -> pd.DataFrame:
    """One row per randomised subject: arm, baseline, value at ``visit`` and change (NaN when either is missing).

    With ``relative`` the change is a fraction of baseline (0.3 = 30%, as ``ct.responders(relative=True)``),
    NaN for a baseline of 0; the outcome's scale must have a true zero.
    """
    if relative:
        inst = trial.instrument(outcome)
        if inst.low is None or inst.low < 0:
            raise DataError(f"relative change needs a scale with a true zero; '{outcome}' can be negative "
                            f"(range {inst.range_text()}); use relative=False")
    wide = trial.wide(outcome)
    if 0.0 not in wide.columns or wide[0.0].isna().all():
        raise DataError(f"no subject has a baseline (week 0) value of '{outcome}', so no change from baseline can "
                        f"be computed; these figures need the outcome measured at week 0 and at week {visit:g}")
    base = wide[0.0]
    out = pd.DataFrame({"arm": wide["arm"], "baseline": base.astype(float), "value": wide[visit].astype(float)})
    out["change"] = change(out["value"], out["baseline"], relative=relative)   # the one rule
    return out.reset_index()


def visit_label(visit: float) -> str:
    return f"week {visit:g}"


def legend_handles_order(arms: Sequence[str], handles: dict) -> tuple[list, list]:
    keep = [a for a in arms if a in handles]
    return [handles[a] for a in keep], keep
