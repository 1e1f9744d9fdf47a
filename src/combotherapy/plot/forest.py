"""Forest plot: contrasts with confidence intervals across outcomes, visits or subgroups."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullLocator

from ..errors import DataError
from ..instruments import Instrument, instrument_for, with_units
from ._common import new_figure, root_figure
from .style import style

__all__ = ["forest_data", "forest"]

_NEEDED = ("estimate", "ci_low", "ci_high")
# identifying columns, in the order they appear in a row label
_ID_COLUMNS = ("outcome", "subgroup", "variable", "level", "visit", "contrast", "label")
# result tables a forest can show, in order of preference
_TABLES = ("contrasts", "table")


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
    if "ci_adjust" not in frame.columns and isinstance(getattr(fitted, "ci_adjust", None), str):
        frame["ci_adjust"] = fitted.ci_adjust
    # the result vocabulary: its instrument (for a survival result, the event's) and direction of benefit
    inst = getattr(result, "instrument", None)
    if isinstance(inst, Instrument) and inst.kind == "event":
        # a hazard ratio above 1 means more events in the first arm: good when the event is good
        frame["measure"] = f"hazard ratio, {(inst.label or inst.name).lower()}"
    elif isinstance(inst, Instrument):
        # a declared outcome is not in the registry: its label, units and direction come with the result
        frame["outcome_label"] = inst.label or inst.name
        frame["units"] = inst.units or ""
    if "better" not in frame.columns and getattr(result, "better", None) in ("lower", "higher"):
        frame["better"] = result.better
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
    d = _rows(results_or_frame, better)
    d["label"] = _labels(d)
    return d


def _rows(results_or_frame: object, better: str | Mapping[str, str] | None) -> pd.DataFrame:
    """The rows of :func:`forest_data` before labelling."""
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

    # the arms of each row from the identity columns (first, second); a bare table without them names no arm
    blank = pd.Series("", index=d.index)
    first = d["first"].fillna("").astype(str) if "first" in d.columns else blank
    second = d["second"].fillna("").astype(str) if "second" in d.columns else blank
    known = (d["better"].notna() & (second != "")).to_numpy()
    higher = (d["better"] == "higher").to_numpy()
    d["favours_high"] = np.where(known, np.where(higher, first, second), "")
    d["favours_low"] = np.where(known, np.where(higher, second, first), "")

    return d.reset_index(drop=True)


def _labels(d: pd.DataFrame) -> list[str]:
    """Row labels: the identifying fields that vary between the rows, joined by " · " (a ``label`` column wins)."""
    if "label" in d.columns:
        return d["label"].astype(str).tolist()
    ids = [c for c in _ID_COLUMNS if c in d.columns and c != "label"]
    varying = [c for c in ids if d[c].astype(str).nunique() > 1] or (["contrast"] if "contrast" in ids else ids[:1])
    if not varying:
        return [f"row {i + 1}" for i in range(len(d))]
    parts = pd.DataFrame({c: d[c].map(lambda v: f"week {float(v):g}") if c == "visit" else d[c].astype(str)
                          for c in varying})
    if {"variable", "level"} <= set(varying):
        # the overall row of a subgroup table ("all subjects", level "all") needs no level
        parts.loc[(d["variable"] == "all subjects") & (d["level"].astype(str) == "all"), "level"] = ""
    return [" · ".join(p for p in row if p) for row in parts.itertuples(index=False, name=None)]


def _constant_contrast(d: pd.DataFrame, labels: list[str]) -> str | None:
    """The one contrast of every row when the labels do not name it (e.g. a two-arm MMRM by visit)."""
    if "contrast" not in d.columns or d["contrast"].astype(str).nunique() != 1:
        return None
    contrast = str(d["contrast"].iloc[0])
    return None if any(contrast in lab for lab in labels) else contrast


def _ci_level(d: pd.DataFrame) -> str:
    """The confidence level of the intervals (column ``alpha``, else 95%) and their adjustment (``ci_adjust``)."""
    level = "95%"
    if "alpha" in d.columns and d["alpha"].nunique() == 1:
        level = f"{100 * (1 - float(d['alpha'].iloc[0])):g}%"
    adjust = d["ci_adjust"].dropna().astype(str).unique() if "ci_adjust" in d.columns else []
    if len(adjust) == 1 and adjust[0].lower() not in ("none", ""):
        return f"{level} CI, {adjust[0].capitalize()}"
    return f"{level} CI"


def _fmt(x: float) -> str:
    text = f"{x:.2f}"
    if float(text) == 0:  # -0.004 rounds to "-0.00": no sign on zero
        text = text.lstrip("-")
    return text.replace("-", "\u2212")


def _xlabel(d: pd.DataFrame, ratio: bool, contrast: str | None) -> str:
    """Axis label: the measure, the outcome with its units (from the result or the registry), the contrast."""
    pair = ""
    if contrast:
        pair = " (" + contrast.replace(" - ", " / " if ratio else " \u2212 ") + ")"
    if "measure" in d.columns and d["measure"].notna().any():
        return str(d["measure"].dropna().iloc[0]).capitalize() + pair + (" (log scale)" if ratio else "")
    outcomes = d["outcome"].dropna().astype(str).unique() if "outcome" in d.columns else []
    what, units = None, ""
    if len(outcomes) == 1:
        if "outcome_label" in d.columns and d["outcome_label"].notna().any():
            what = str(d["outcome_label"].dropna().iloc[0])
            units = str(d["units"].dropna().iloc[0]) if "units" in d.columns and d["units"].notna().any() else ""
        else:
            inst = instrument_for(str(outcomes[0]))
            what, units = (inst.label or inst.name, inst.units or "") if inst is not None else (str(outcomes[0]), "")
    if ratio:
        return ("Ratio" + pair + (f", {what}" if what else "")) + " (log scale)"
    return "Difference" + pair + (f" in {with_units(what, units)}" if what else (f" ({units})" if units else ""))


def _constant_visit(d: pd.DataFrame, labels: list[str]) -> str:
    """" at week 12" when every row is at one visit that the row labels do not name (a forest across outcomes)."""
    if "visit" not in d.columns or d["visit"].isna().any() or d["visit"].astype(float).nunique() != 1:
        return ""
    week = f"week {float(d['visit'].iloc[0]):g}"
    return "" if any(week in lab for lab in labels) else f" at {week}"


#: subgroups with fewer subjects than this are marked in a subgroup forest: their estimates are too unstable to read
SMALL_SUBGROUP = 20


def _small_rows(d: pd.DataFrame) -> np.ndarray:
    if "n" not in d.columns or not {"variable", "level"} <= set(d.columns):
        return np.zeros(len(d), dtype=bool)
    n = pd.to_numeric(d["n"], errors="coerce").to_numpy(dtype=float)
    return np.nan_to_num(n, nan=np.inf) < SMALL_SUBGROUP


def _row_header(d: pd.DataFrame) -> str:
    """The heading of the row labels: what the rows are."""
    if {"variable", "level"} <= set(d.columns):
        return "Subgroup"
    if "outcome" in d.columns and d["outcome"].astype(str).nunique() > 1:
        return "Outcome"
    if "visit" in d.columns and d["visit"].astype(str).nunique() > 1:
        return "Visit"
    return "Comparison"


def _interaction_line(d: pd.DataFrame) -> str:
    """Subgroup tables: the arm-by-subgroup interaction test of each variable, the test a subgroup forest needs."""
    if not {"variable", "interaction_p"} <= set(d.columns):
        return ""
    tests = d.dropna(subset=["interaction_p"]).drop_duplicates("variable")
    if tests.empty:
        return ""
    parts = [f"{v} p = {p:.2g}" if p >= 0.001 else f"{v} p < 0.001"
             for v, p in zip(tests["variable"].astype(str), tests["interaction_p"].astype(float))]
    return "\nInteraction of arm and subgroup: " + "; ".join(parts)


def _panels(d: pd.DataFrame, panels: bool | None) -> list[pd.DataFrame]:
    """Rows split into one panel per outcome when their differences are on different scales."""
    several = "outcome" in d.columns and d["outcome"].astype(str).nunique() > 1
    if panels is None:
        # ratios share a log axis whatever the outcome; differences of different instruments do not share units
        panels = several and not bool(d["ratio"].iloc[0])
    if not panels or not several:
        return [d]
    order = list(dict.fromkeys(d["outcome"].astype(str)))
    return [d.loc[d["outcome"].astype(str) == o] for o in order]


def forest(results_or_frame: object, *, better: str | Mapping[str, str] | None = None, xlabel: str | None = None,
           show_values: bool = True, panels: bool | None = None, ax: Axes | None = None) -> Figure:
    """Draw contrasts with their confidence intervals, a line of no effect, and which side favours which arm.

    Parameters
    ----------
    results_or_frame : Result, DataFrame or a sequence of them
        See :func:`forest_data`. For example ``ct.mmrm(trial, "pain")`` (all visits), a list of
        ANCOVA results for several outcomes, or ``ct.subgroups(trial, "pain", 12)``.
    better : {"lower", "higher"} or mapping outcome -> str, optional
        Override the good direction of the outcomes.
    xlabel : str, optional
        Axis label (default: the measure, the outcome with its units, and the contrast when every row
        has the same one).
    show_values : bool
        Print "estimate [ci_low, ci_high]" at the right of each row.
    panels : bool, optional
        One panel (with its own axis, units and favoured sides) per outcome. Default: yes when
        differences of several outcomes are shown, whose units differ; ratio measures share one
        log axis. ``False`` puts every row on one axis.
    ax : matplotlib Axes, optional
        Draw into this axes (one panel only).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        ``ax`` given for rows that need several panels (pass ``panels=False`` to force one axis).

    Notes
    -----
    The line of no effect is at 0 for differences and at 1 for ratio measures (recognised by
    a ``log_estimate`` column), which are drawn on a log axis so that a ratio and its inverse
    are equally far from 1. When every row of a panel favours the same arms on the same side,
    the sides are labelled under the axis; otherwise each row says which side favours which
    arm. The intervals are the result's own (adjusted or not, as the result reports, and the
    header says which); nothing is recomputed.

    Example
    -------
    >>> fig = ct.plot.forest(ct.mmrm(trial, "pain"))  # doctest: +SKIP
    >>> fig = ct.plot.forest([ct.ancova(trial, o, 12) for o in ("pain", "odi", "rom")])  # doctest: +SKIP
    """
    d = _rows(results_or_frame, better)
    groups = _panels(d, panels)
    if ax is not None and len(groups) > 1:
        names = ", ".join(str(g["outcome"].iloc[0]) for g in groups)
        raise DataError(f"the rows are differences on {len(groups)} outcomes with different scales ({names}); "
                        f"they need one panel each: call forest without ax=, draw one outcome per axes, or pass "
                        f"panels=False to force a single axis")
    with style():
        if ax is None:
            heights = [0.32 * len(g) + (1.3 if i == 0 else 1.0) for i, g in enumerate(groups)]
            # per-row favoured sides need a wider right-hand column
            fig = new_figure((8.5 if d["favours_high"].nunique() > 1 else 7.5, sum(heights)))
            axes = fig.subplots(len(groups), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
        else:
            if not isinstance(ax, Axes):
                raise TypeError(f"ax must be a matplotlib Axes, not {type(ax).__name__}")
            fig, axes = root_figure(ax), [ax]
        for i, (a, g) in enumerate(zip(axes, groups)):
            _draw(a, g.reset_index(drop=True), xlabel, show_values, header=i == 0)
    return fig


def _draw(ax: Axes, d: pd.DataFrame, xlabel: str | None, show_values: bool, header: bool = True) -> None:
    """One panel of the forest (the column headers only on the top panel)."""
    labels = _labels(d)
    small = _small_rows(d)
    labels = [f"{lab} \u2020" if sm else lab for lab, sm in zip(labels, small)]
    ratio = bool(d["ratio"].iloc[0])
    null = 1.0 if ratio else 0.0
    n = len(d)
    y = np.arange(n)[::-1].astype(float)
    sides = d[["favours_low", "favours_high"]].drop_duplicates()
    common = len(sides) == 1 and sides.iloc[0, 0] != ""
    per_row = not common and (d["favours_high"] != "").any()
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
    ax.set_ylim(-0.7, n - (0.1 if header else 0.4))
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    # the right-hand columns are tick labels of a twin axis, so the layout engine makes room for them
    right_text = [""] * n
    heading = []
    if "n" in d.columns and pd.to_numeric(d["n"], errors="coerce").notna().all():
        # how many subjects each row rests on (a subgroup of 6 must not look like one of 600)
        right_text = [f"{int(v)}" for v in pd.to_numeric(d["n"])]
        heading.append("n")
    if show_values:
        values = [f"{_fmt(e)} [{_fmt(a)}, {_fmt(b)}]" for e, a, b in zip(est, lo, hi)]
        right_text = [f"{t}   {v}".strip() for t, v in zip(right_text, values)]
        heading.append(f"{'ratio' if ratio else 'estimate'} [{_ci_level(d)}]")
    if per_row:
        right_text = [f"{t}   \u2190 {lo_} | {hi_} \u2192" if hi_ else t
                      for t, lo_, hi_ in zip(right_text, d["favours_low"], d["favours_high"])]
        heading.append("favours: left | right")
    if any(right_text):
        twin = ax.twinx()
        twin.set_ylim(ax.get_ylim())
        if header:
            twin.set_yticks(np.append(y, n - 0.45))
            twin.set_yticklabels(right_text + ["   ".join(heading)], fontsize=8)
            twin.get_yticklabels()[-1].set_fontweight("bold")
        else:
            twin.set_yticks(y)
            twin.set_yticklabels(right_text, fontsize=8)
        twin.tick_params(axis="y", length=0)
        for side in ("left", "right", "top", "bottom"):
            twin.spines[side].set_visible(False)
    if header:
        # the heading of the row labels, level with the value columns' heading
        ax.annotate(_row_header(d), xy=(0, n - 0.45), xycoords=("axes fraction", "data"), xytext=(-4, 0),
                    textcoords="offset points", ha="right", va="center", fontsize=8, fontweight="bold")
    footnote = (f"\n\u2020 fewer than {SMALL_SUBGROUP} subjects: too few for a stable estimate; read with caution"
                if small.any() else "")
    ax.set_xlabel((xlabel if xlabel is not None else _xlabel(d, ratio, _constant_contrast(d, labels))
                   + _constant_visit(d, labels))
                  + _interaction_line(d) + footnote)
    if common:
        # under the tick labels, either side of the line of no effect: inside the axes they ran into the
        # row labels (or the value column) whenever the line was near an edge
        low, high = sides.iloc[0]
        below = -(ax.xaxis.get_tick_padding() + 2.0 + 1.4 * float(ax.xaxis.get_ticklabels()[0].get_fontsize()
                                                                   if ax.xaxis.get_ticklabels() else 8.0))
        ax.annotate(f"\u2190 favours {low}", xy=(null, 0), xycoords=("data", "axes fraction"),
                    xytext=(-4, below), textcoords="offset points", ha="right", va="top", fontsize=8)
        ax.annotate(f"favours {high} \u2192", xy=(null, 0), xycoords=("data", "axes fraction"),
                    xytext=(4, below), textcoords="offset points", ha="left", va="top", fontsize=8)
        ax.xaxis.labelpad = 4.0 + 1.4 * 8.0
