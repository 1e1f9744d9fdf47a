"""The CONSORT flow diagram, computed from the data.

:func:`consort_counts` counts (pure pandas, testable); :func:`consort` draws the boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.textpath import TextToPath

from ..errors import DataError
from ..trial import Trial
from ._common import check_trial, figure_and_axes, visit_label
from .style import arm_colors, style

__all__ = ["ConsortCounts", "consort_counts", "consort"]


@dataclass(frozen=True)
class ConsortCounts:
    """Participant flow per arm.

    Attributes
    ----------
    visits : DataFrame
        One row per arm and visit: ``arm, visit, randomised, assessed, missed_returned, lost``.
        ``assessed`` subjects were observed at the visit; of the others, ``missed_returned``
        were observed at a later visit (intermittent missing) and ``lost`` were never observed
        at this or any later visit (monotone dropout, cumulative).
    arms : DataFrame
        One row per arm (index ``arm``): ``randomised``, ``analysed`` (observed at the primary
        visit), ``lost`` (lost to follow-up before or at the primary visit), ``missed_primary``
        (missed the primary visit but observed later) and ``intermittent`` (subjects with at
        least one missed visit followed by an observed one).
    outcome : str or None
        Outcome defining "observed" (None: any visit-level outcome).
    primary_visit : float
        The visit the analysed count refers to.
    """

    visits: pd.DataFrame
    arms: pd.DataFrame
    outcome: str | None
    primary_visit: float

    @property
    def randomised(self) -> int:
        return int(self.arms["randomised"].sum())


def _observed(trial: Trial, outcome: str | None) -> pd.DataFrame:
    """Subject × visit table of booleans: was the subject assessed at the visit."""
    data = trial.data
    if outcome is not None:
        inst = trial.instrument(outcome)
        if inst.level != "visit":
            raise DataError(f"outcome '{outcome}' is measured once per subject; the CONSORT flow needs a "
                            f"visit-level outcome ({', '.join(trial.visit_outcomes)}) or outcome=None")
        seen = data[outcome].notna()
    elif trial.visit_outcomes:
        seen = data[trial.visit_outcomes].notna().any(axis=1)
    else:
        # no visit-level outcome: a row at a visit is the only record of attendance
        seen = pd.Series(True, index=data.index)
    frame = pd.DataFrame({"subject": data["subject"], "visit": data["visit"].astype(float), "seen": seen})
    tab = frame.pivot_table(index="subject", columns="visit", values="seen", aggfunc="max", fill_value=False)
    subjects = pd.Index(data["subject"].unique(), name="subject")
    return tab.reindex(index=subjects, columns=trial.visits, fill_value=False).astype(bool)


def consort_counts(trial: Trial, outcome: str | None = None, visit: float | None = None) -> ConsortCounts:
    """Count randomised, assessed, missing and analysed subjects per arm and visit.

    Parameters
    ----------
    trial : Trial
    outcome : str, optional
        A subject counts as assessed at a visit when this outcome is recorded there.
        Default: when any visit-level outcome is recorded.
    visit : float, optional
        Primary visit (weeks) for the "analysed" count; default the last visit.

    Returns
    -------
    ConsortCounts

    Notes
    -----
    With ``last`` the latest visit at which a subject was observed, a subject not observed
    at visit ``v`` is *lost* at ``v`` when ``last < v`` (monotone dropout: nothing later was
    recorded) and *missed, returned* when ``last > v`` (intermittent missingness). Lost
    counts are therefore cumulative and never decrease over visits. Analysed means observed
    at the primary visit (the complete-case population of an analysis at that visit; a
    likelihood-based repeated-measures model may use more subjects).

    References
    ----------
    Schulz KF, Altman DG, Moher D, for the CONSORT Group. CONSORT 2010 Statement.
    BMJ 2010;340:c332.

    Example
    -------
    >>> counts = consort_counts(trial, "pain", visit=12)  # doctest: +SKIP
    >>> counts.arms[["randomised", "analysed", "lost"]]  # doctest: +SKIP
    """
    trial = check_trial(trial)
    primary = float(trial.visits[-1]) if visit is None else trial.check_visit(visit)
    seen = _observed(trial, outcome)
    visits = np.asarray(seen.columns, dtype=float)
    arm = trial.data.drop_duplicates("subject").set_index("subject")["arm"].reindex(seen.index)

    obs = seen.to_numpy()
    # latest observed visit per subject; -inf for a subject never observed
    last = np.where(obs, visits[None, :], -np.inf).max(axis=1)
    missing = ~obs
    lost = missing & (last[:, None] < visits[None, :])
    returned = missing & (last[:, None] > visits[None, :])

    def per_arm(mat: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(mat.astype(int), index=seen.index, columns=visits).groupby(
            arm, observed=False).sum()

    n = arm.value_counts().reindex(trial.arms).fillna(0).astype(int)
    long = pd.concat({"assessed": per_arm(obs).stack(), "missed_returned": per_arm(returned).stack(),
                      "lost": per_arm(lost).stack()}, axis=1).reset_index()
    long.columns = ["arm", "visit", "assessed", "missed_returned", "lost"]
    long.insert(2, "randomised", long["arm"].map(n).astype(int))
    long["arm"] = pd.Categorical(long["arm"], categories=trial.arms, ordered=True)
    long = long.sort_values(["arm", "visit"], kind="stable").reset_index(drop=True)

    j = int(np.flatnonzero(visits == primary)[0])
    by = pd.DataFrame({
        "analysed": obs[:, j], "lost": lost[:, j], "missed_primary": returned[:, j],
        "intermittent": returned.any(axis=1),
    }).astype(int).groupby(arm.to_numpy(), observed=False).sum().reindex(trial.arms).fillna(0).astype(int)
    by.insert(0, "randomised", n)
    by.index.name = "arm"
    return ConsortCounts(visits=long, arms=by, outcome=outcome, primary_visit=primary)


# --- drawing ---------------------------------------------------------------------------------
_TEXT_TO_PATH = TextToPath()
_COL_W = 2.15    # box width per arm (inches)
_GAP = 0.22      # horizontal gap between arm columns
_SIDE = 0.92     # width of the stage-label column on the left
_LINE = 0.155    # height of one 8-pt text line (inches)
_PAD = 0.09      # vertical padding inside a box
_VGAP = 0.24     # vertical gap between boxes (room for the arrow)


@lru_cache(maxsize=4096)
def _text_width(text: str, bold: bool) -> float:
    """Width in inches of ``text`` at 8 pt in the house font (from the font's metrics, no renderer)."""
    prop = FontProperties(family="DejaVu Sans", size=8, weight="bold" if bold else "normal")
    width, _, _ = _TEXT_TO_PATH.get_text_width_height_descent(text, prop, ismath=False)
    return width / 72.0


def _wrap(lines: list[str], width: float, weight_first: bool) -> list[str]:
    """Lines broken at spaces so that each fits ``width`` inches (a long declared arm name overflowed its box)."""
    out = []
    for i, line in enumerate(lines):
        bold = weight_first and i == 0
        if _text_width(line, bold) <= width:  # the usual case: one measurement
            out.append((line, bold))
            continue
        words, current = line.split(" "), ""
        for w in words:
            trial_line = f"{current} {w}" if current else w
            if current and _text_width(trial_line, bold) > width:
                out.append((current, bold))
                current = w
            else:
                current = trial_line
        out.append((current, bold))
    return out


def _box(ax: Axes, cx: float, top: float, lines: list[tuple[str, bool]], *, width: float, n_lines: int,
         edge: str = "#000000", lw: float = 0.8, face: str = "white") -> float:
    """Draw a box ``n_lines`` high whose top edge is at ``top`` (lines: text, bold); return its bottom edge."""
    h = n_lines * _LINE + 2 * _PAD
    ax.add_patch(FancyBboxPatch((cx - width / 2, top - h), width, h, boxstyle="round,pad=0,rounding_size=0.05",
                                facecolor=face, edgecolor=edge, linewidth=lw))
    y = top - _PAD - _LINE / 2 - (n_lines - len(lines)) * _LINE / 2  # centred in a box taller than its text
    for i, (line, bold) in enumerate(lines):
        ax.text(cx, y - i * _LINE, line, ha="center", va="center", fontsize=8,
                fontweight="bold" if bold else "normal")
    return top - h


def _arrow(ax: Axes, x0: float, y0: float, x1: float, y1: float, head: bool = True) -> None:
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>" if head else "-", mutation_scale=8,
                                 shrinkA=0, shrinkB=0, linewidth=0.8, color="#000000"))


def _stage(ax: Axes, top: float, bottom: float, text: str) -> None:
    ax.add_patch(FancyBboxPatch((0.08, bottom), _SIDE - 0.1, top - bottom, boxstyle="round,pad=0,rounding_size=0.04",
                                facecolor="#D6EAF5", edgecolor="#56B4E9", linewidth=0.8))
    ax.text(0.08 + (_SIDE - 0.1) / 2, (top + bottom) / 2, text, ha="center", va="center", fontsize=8,
            fontweight="bold")


def consort(trial: Trial, outcome: str | None = None, visit: float | None = None, *,
            ax: Axes | None = None) -> Figure:
    """Draw the CONSORT flow diagram of a trial from its data.

    Parameters
    ----------
    trial : Trial
    outcome : str, optional
        Outcome that defines "assessed" (default: any visit-level outcome recorded).
    visit : float, optional
        Primary visit for the "analysed" boxes (default: the last visit).
    ax : matplotlib Axes, optional
        Draw into this axes (its aspect is left to the caller); by default a new figure sized
        to the number of arms and visits.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Counts come from :func:`consort_counts`: randomised per arm, then at each visit the
    number assessed, the number who missed it but returned later, and the cumulative number
    lost to follow-up, then the number analysed at the primary visit. Eligibility screening
    is not in the data, so the diagram starts at randomisation.

    References
    ----------
    Schulz KF, Altman DG, Moher D, for the CONSORT Group. CONSORT 2010 Statement.
    BMJ 2010;340:c332.

    Example
    -------
    >>> fig = ct.plot.consort(trial, "pain", visit=12)  # doctest: +SKIP
    >>> ct.plot.save(fig, "figures/consort.svg")  # doctest: +SKIP
    """
    counts = consort_counts(trial, outcome, visit)
    arms = list(counts.arms.index)
    colors = arm_colors(arms)
    inner = _COL_W - 0.12  # text width inside a box

    top_lines = _wrap(["Randomised", f"n = {counts.randomised}"], inner, True)
    alloc = [_wrap([f"Allocated to {a}", f"n = {row['randomised']}"], inner, True)
             for a, row in counts.arms.iterrows()]
    visit_rows = []
    for v, block in counts.visits.groupby("visit", sort=True):
        name = "Baseline" if v == 0 else visit_label(v).capitalize()
        visit_rows.append([_wrap([f"{name}: assessed n = {int(r['assessed'])}",
                                  f"missed, returned later n = {int(r['missed_returned'])}",
                                  f"lost to follow-up n = {int(r['lost'])}"], inner, False)
                           for _, r in block.set_index("arm").loc[arms].iterrows()])
    what = counts.outcome or "any outcome"
    final = [_wrap([f"Analysed at {visit_label(counts.primary_visit)}: n = {int(r['analysed'])}",
                    f"({what} recorded)",
                    f"not analysed n = {int(r['lost'] + r['missed_primary'])}",
                    f"(lost {int(r['lost'])}; missed, returned later {int(r['missed_primary'])})"], inner, True)
             for _, r in counts.arms.iterrows()]
    # every box of a row has the height of the row's longest text, so the arrows line up
    n_alloc = max(len(x) for x in alloc)
    n_visit = [max(len(x) for x in row) for row in visit_rows]
    n_final = max(len(x) for x in final)

    def height_of(n: int) -> float:
        return n * _LINE + 2 * _PAD

    width = _SIDE + len(arms) * _COL_W + (len(arms) + 1) * _GAP
    centers = _SIDE + _GAP + _COL_W / 2 + np.arange(len(arms)) * (_COL_W + _GAP)
    height = (0.15 + height_of(len(top_lines)) + 0.42 + height_of(n_alloc)
              + sum(height_of(n) + _VGAP for n in n_visit) + _VGAP + height_of(n_final) + 0.15)

    with style():
        own = ax is None
        fig, ax = figure_and_axes(ax, (width, height))
        if own:
            # our own figure: the drawing fills it edge to edge, one data unit = one inch
            fig.set_layout_engine("none")
            ax.set_position((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(0, width)
        ax.set_ylim(0, height)
        ax.set_axis_off()

        top = height - 0.15
        mid = float(centers.mean())
        bottom = _box(ax, mid, top, top_lines, width=_COL_W, n_lines=len(top_lines))
        # elbow connector: down, across all arms, down into each allocation box
        y_bar = bottom - 0.21
        _arrow(ax, mid, bottom, mid, y_bar, head=False)
        _arrow(ax, float(centers[0]), y_bar, float(centers[-1]), y_bar, head=False)
        row_top = bottom - 0.42
        for cx in centers:
            _arrow(ax, float(cx), y_bar, float(cx), row_top)
        for cx, a, lines in zip(centers, arms, alloc):
            _box(ax, float(cx), row_top, lines, width=_COL_W, n_lines=n_alloc, edge=colors[a], lw=1.6)
        alloc_bottom = row_top - height_of(n_alloc)
        _stage(ax, row_top, alloc_bottom, "Allocation")

        y = alloc_bottom
        follow_top = y - _VGAP
        for row, n in zip(visit_rows, n_visit):
            box_top = y - _VGAP
            for cx, lines in zip(centers, row):
                _arrow(ax, float(cx), y, float(cx), box_top)
                _box(ax, float(cx), box_top, lines, width=_COL_W, n_lines=n)
            y = box_top - height_of(n)
        _stage(ax, follow_top, y, "Follow-up")

        box_top = y - _VGAP
        for cx, a, lines in zip(centers, arms, final):
            _arrow(ax, float(cx), y, float(cx), box_top)
            _box(ax, float(cx), box_top, lines, width=_COL_W, n_lines=n_final, edge=colors[a], lw=1.6)
        _stage(ax, box_top, box_top - height_of(n_final), "Analysis")
    return fig
