"""Forest plot: contrasts with confidence intervals across outcomes, visits or subgroups."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullLocator

from ..errors import DataError
from ..instruments import instrument_for
from ._common import figure_and_axes
from .style import style

__all__ = ["forest_data", "forest"]

_NEEDED = ("estimate", "ci_low", "ci_high")
# identifying columns, in the order they appear in a row label
_ID_COLUMNS = ("outcome", "subgroup", "variable", "level", "visit", "contrast", "label")
# result tables a forest can show, in order of preference
_TABLES = ("contrasts", "hazard_ratios", "table")


def _from_result(result: object) -> pd.DataFrame:
    name = next((t for t in _TABLES if isinstance(getattr(result, t, None), pd.DataFrame)), None)
    if name is None:
        raise DataError(f"{type(result).__name__} has no contrasts table to plot; pass a result of a model "
                        f"(ct.mmrm, ct.ancova, ct.survival, ...) or a DataFrame with columns {list(_NEEDED)}")
    frame = getattr(result, name).copy()
    fitted = getattr(result, "fitted", None)
    outcome = getattr(fitted, "outcome", None)
    if "outcome" not in frame.columns and outcome:
        frame["outcome"] = outcome
    if "visit" not in frame.columns and getattr(fitted, "visit", None) is not None:
        frame["visit"] = fitted.visit
    if "alpha" not in frame.columns and isinstance(getattr(fitted, "alpha", None), float):
        frame["alpha"] = fitted.alpha
    if "better" not in frame.columns:
        better = getattr(result, "better", None)
        if name == "hazard_ratios":
            # a hazard ratio above 1 means more events in the first arm: good when the event is good
            m = re.search(r"Surv\(\s*\w+\s*,\s*(\w+)\s*\)", getattr(fitted, "formula", "") or "")
            inst = instrument_for(m.group(1)) if m else None
            better = inst.better if inst is not None else None
            frame["measure"] = "hazard ratio" + (f", {(inst.label or inst.name).lower()}" if inst is not None else "")
        if better in ("lower", "higher"):
            frame["better"] = better
    return frame


def forest_data(results_or_frame: object, *, better: str | Mapping[str, str] | None = None) -> pd.DataFrame:
    """Rows of a forest plot, one per contrast, with the side that favours each arm.

    Parameters
    ----------
    results_or_frame : Result, DataFrame, or a sequence of them
        Results with a contrasts table (``contrasts``; ``hazard_ratios`` of a survival result;
        ``table`` of a claims report), or frames with columns ``estimate, ci_low, ci_high`` and
        any of ``outcome, subgroup, variable, level, visit, contrast, label`` to name the rows. A
        ``log_estimate`` column marks a ratio measure.
    better : {"lower", "higher"} or mapping outcome -> str, optional
        Good direction of the outcome's scale, overriding a ``better`` column, the result's
        own ``better`` and the instrument registry.

    Returns
    -------
    DataFrame
        The input rows (in order) with ``label`` (the identifying fields that vary between
        rows, joined by " · "), ``ratio`` (bool), ``better`` and ``favours_high`` — the arm
        favoured by estimates above the line of no effect (the first arm of ``"first -
        second"`` when higher is better, else the second), ``favours_low`` the other one
        (empty when the direction or the arms are unknown).

    Notes
    -----
    A contrast ``"A - B"`` is positive (or a ratio above 1) when arm A scores higher on the
    instrument's scale; that favours A when higher is better. For a hazard ratio the scale
    is the hazard of the event, so it favours A when the event is good (e.g. recovery).
    """
    items = list(results_or_frame) if isinstance(results_or_frame, (list, tuple)) else [results_or_frame]
    if not items:
        raise DataError("nothing to plot: the list of results is empty")
    frames = [(x.copy() if isinstance(x, pd.DataFrame) else _from_result(x)) for x in items]
    for i, f in enumerate(frames):
        absent = [c for c in _NEEDED if c not in f.columns]
        if absent:
            where = f" (item {i + 1})" if len(frames) > 1 else ""
            raise DataError(f"the table to plot{where} lacks the columns {absent}; a forest needs {list(_NEEDED)}")
        f["ratio"] = "log_estimate" in f.columns
    d = pd.concat(frames, ignore_index=True)
    if d["ratio"].nunique() > 1:
        raise DataError("the rows mix ratio measures (with a log_estimate column) and differences; they cannot "
                        "share one axis: draw one forest for each")
    if d.empty:
        raise DataError("nothing to plot: the table has no rows")
    bad = ~np.isfinite(d[list(_NEEDED)].to_numpy(dtype=float)).all(axis=1)
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad)[:5])
        raise DataError(f"estimate/ci_low/ci_high must be finite numbers; rows {rows} are not (a model that did not "
                        f"estimate them should report why before plotting)")
    if d["ratio"].iloc[0] and (d[list(_NEEDED)].to_numpy(dtype=float) <= 0).any():
        raise DataError("ratio estimates and limits must be positive")

    # the good direction per row: argument, then column, then the instrument registry
    col = d["better"] if "better" in d.columns else pd.Series(None, index=d.index, dtype=object)
    if "outcome" in d.columns:
        reg = d["outcome"].map(lambda o: getattr(instrument_for(str(o)), "better", None) if pd.notna(o) else None)
        col = col.where(col.notna(), reg)
    if isinstance(better, str):
        col = pd.Series(better, index=d.index)
    elif isinstance(better, Mapping):
        if "outcome" not in d.columns:
            raise DataError("better given per outcome, but the rows have no outcome column; pass better='lower' "
                            "or better='higher'")
        col = d["outcome"].map(better).where(d["outcome"].isin(list(better)), col)
    bad_dir = col.notna() & ~col.isin(["lower", "higher"])
    if bad_dir.any():
        raise DataError(f"better must be 'lower' or 'higher', not {sorted(set(col[bad_dir]))}")
    d["better"] = col.astype(object).where(col.notna(), None)

    pairs = d["contrast"].astype(str).str.split(" - ", n=1, regex=False) if "contrast" in d.columns else None
    first = pairs.str[0] if pairs is not None else pd.Series("", index=d.index)
    second = pairs.str[1].fillna("") if pairs is not None else pd.Series("", index=d.index)
    known = (d["better"].notna() & (second != "")).to_numpy()
    higher = (d["better"] == "higher").to_numpy()
    d["favours_high"] = np.where(known, np.where(higher, first, second), "")
    d["favours_low"] = np.where(known, np.where(higher, second, first), "")

    ids = [c for c in _ID_COLUMNS if c in d.columns and c != "label"]
    varying = [c for c in ids if d[c].astype(str).nunique() > 1] or (["contrast"] if "contrast" in ids else ids[:1])
    if "label" in d.columns:
        d["label"] = d["label"].astype(str)
    elif varying:
        parts = [d[c].map(lambda v: f"week {float(v):g}") if c == "visit" else d[c].astype(str) for c in varying]
        d["label"] = parts[0].str.cat(parts[1:], sep=" · ") if len(parts) > 1 else parts[0]
    else:
        d["label"] = [f"row {i + 1}" for i in range(len(d))]
    return d.reset_index(drop=True)


def _ci_level(d: pd.DataFrame) -> str:
    """The confidence level of the intervals, when the rows say it (column ``alpha``); else 95%."""
    if "alpha" in d.columns and d["alpha"].nunique() == 1:
        return f"{100 * (1 - float(d['alpha'].iloc[0])):g}%"
    return "95%"


def _fmt(x: float) -> str:
    return f"{x:.2f}".replace("-", "\u2212")


def forest(results_or_frame: object, *, better: str | Mapping[str, str] | None = None, xlabel: str | None = None,
           show_values: bool = True, ax: Axes | None = None) -> Figure:
    """Draw contrasts with their confidence intervals, a line of no effect, and which side favours which arm.

    Parameters
    ----------
    results_or_frame : Result, DataFrame or a sequence of them
        See :func:`forest_data`. For example ``ct.mmrm(trial, "pain")`` (all visits), a list of
        ANCOVA results for several outcomes, or a frame of subgroup contrasts.
    better : {"lower", "higher"} or mapping outcome -> str, optional
        Override the good direction of the outcomes.
    xlabel : str, optional
        Axis label (default: from the instrument when all rows share one outcome).
    show_values : bool
        Print "estimate [ci_low, ci_high]" at the right of each row.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The line of no effect is at 0 for differences and at 1 for ratio measures (recognised by
    a ``log_estimate`` column), which are drawn on a log axis so that a ratio and its inverse
    are equally far from 1. When every row favours the same arms on the same side, the sides
    are labelled under the axis; otherwise each row says which side favours which arm. The
    intervals are the result's own (adjusted or not, as the result reports); nothing is
    recomputed.

    Example
    -------
    >>> fig = ct.plot.forest(ct.mmrm(trial, "pain"))  # doctest: +SKIP
    """
    d = forest_data(results_or_frame, better=better)
    ratio = bool(d["ratio"].iloc[0])
    null = 1.0 if ratio else 0.0
    n = len(d)
    y = np.arange(n)[::-1].astype(float)
    sides = d[["favours_low", "favours_high"]].drop_duplicates()
    common = len(sides) == 1 and sides.iloc[0, 0] != ""
    per_row = not common and (d["favours_high"] != "").any()
    with style():
        fig, ax = figure_and_axes(ax, (7.5, 1.3 + 0.32 * n))
        lo, hi, est = (d[c].to_numpy(dtype=float) for c in ("ci_low", "ci_high", "estimate"))
        ax.hlines(y, lo, hi, color="#000000", linewidth=1.2)
        ax.plot(est, y, linestyle="none", marker="s", markersize=5, color="#000000")
        ax.axvline(null, color="#555555", linewidth=0.8, linestyle="--")
        if ratio:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
            ax.xaxis.set_major_formatter(lambda v, _: f"{v:g}")
            ax.xaxis.set_minor_locator(NullLocator())
            left, right = min(lo.min(), null), max(hi.max(), null)
            pad = (right / left) ** 0.08
            ax.set_xlim(left / pad, right * pad)
        else:
            left, right = min(lo.min(), null), max(hi.max(), null)
            pad = 0.08 * ((right - left) or 1.0)
            ax.set_xlim(left - pad, right + pad)
        ax.set_ylim(-0.7, n - 0.1)
        ax.set_yticks(y)
        ax.set_yticklabels(d["label"].tolist())
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        # the right-hand columns are tick labels of a twin axis, so the layout engine makes room for them
        right_text = [""] * n
        header = []
        if show_values:
            right_text = [f"{_fmt(e)} [{_fmt(a)}, {_fmt(b)}]" for e, a, b in zip(est, lo, hi)]
            header.append(f"{'ratio' if ratio else 'estimate'} [{_ci_level(d)} CI]")
        if per_row:
            right_text = [f"{t}   \u2190 {lo_} | {hi_} \u2192" if hi_ else t
                          for t, lo_, hi_ in zip(right_text, d["favours_low"], d["favours_high"])]
            header.append("favours: left | right")
        if any(right_text):
            twin = ax.twinx()
            twin.set_ylim(ax.get_ylim())
            twin.set_yticks(np.append(y, n - 0.45))
            twin.set_yticklabels(right_text + ["   ".join(header)], fontsize=8)
            twin.get_yticklabels()[-1].set_fontweight("bold")
            twin.tick_params(axis="y", length=0)
            for side in ("left", "right", "top", "bottom"):
                twin.spines[side].set_visible(False)
        if xlabel is None:
            outcomes = d["outcome"].dropna().unique() if "outcome" in d.columns else []
            inst = instrument_for(str(outcomes[0])) if len(outcomes) == 1 else None
            if "measure" in d.columns and d["measure"].notna().any():
                xlabel = str(d["measure"].dropna().iloc[0]).capitalize()
            elif inst is not None:
                what = inst.label or inst.name
                xlabel = f"Ratio, {what}" if ratio else f"Difference in {what}" + (f" ({inst.units})" if inst.units
                                                                                   else "")
            else:
                xlabel = "Ratio" if ratio else "Difference"
            xlabel += " (log scale)" if ratio else ""
        ax.set_xlabel(xlabel)
        if common:
            low, high = sides.iloc[0]
            ax.annotate(f"\u2190 favours {low}", xy=(null, 0), xycoords=("data", "axes fraction"),
                        xytext=(-6, 3), textcoords="offset points", ha="right", va="bottom", fontsize=8)
            ax.annotate(f"favours {high} \u2192", xy=(null, 0), xycoords=("data", "axes fraction"),
                        xytext=(6, 3), textcoords="offset points", ha="left", va="bottom", fontsize=8)
    return fig
