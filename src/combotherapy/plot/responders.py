"""The cumulative distribution of improvement by arm (the responder curve the FDA asks for)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import DataError
from ..instruments import with_units
from ..trial import Trial
from ._common import change_from_baseline, check_trial, check_visit_outcome, figure_and_axes, visit_label
from .style import arm_colors, style

__all__ = ["ResponderCurve", "responder_curve_data", "responder_curve"]


@dataclass(frozen=True)
class ResponderCurve:
    """The data behind :func:`responder_curve`.

    Attributes
    ----------
    curve : DataFrame
        ``arm, improvement, proportion``: for each arm and each distinct observed improvement
        ``x`` (over all arms), the proportion of the arm's denominator improving by at least
        ``x``. Between two listed ``x`` the curve takes the value of the larger one (it is
        left-continuous and non-increasing).
    at_thresholds : DataFrame
        ``arm, threshold, n, responders, proportion`` at each chosen threshold.
    n : Series
        Denominator per arm.
    """

    curve: pd.DataFrame
    at_thresholds: pd.DataFrame
    n: pd.Series
    relative: bool
    missing: str


def _improvement(trial: Trial, outcome: str, visit: float, relative: bool) -> pd.DataFrame:
    v = check_visit_outcome(trial, outcome, visit)
    # relative: a fraction of baseline, as ct.responders(relative=True): 0.3 is a 30% improvement
    d = change_from_baseline(trial, outcome, v, relative=relative)
    d["improvement"] = trial.instrument(outcome).sign * d["change"]
    return d


def responder_curve_data(trial: Trial, outcome: str, visit: float, *, thresholds: Sequence[float] | None = None,
                         relative: bool = False,
                         missing: Literal["exclude", "nonresponder"] = "exclude") -> ResponderCurve:
    """Proportion of each arm improving by at least ``x``, for every ``x``.

    Parameters
    ----------
    trial : Trial
    outcome : str
        A visit-level outcome.
    visit : float
        Follow-up visit (weeks).
    thresholds : sequence of float, optional
        Responder definitions to tabulate: improvements in the instrument's units or, when
        ``relative``, fractions of the baseline value (0.3 for 30%), as in
        :func:`combotherapy.responders`.
    relative : bool
        Improvement as a fraction of baseline.
    missing : {"exclude", "nonresponder"}
        ``exclude``: the denominator is the subjects with baseline and visit observed.
        ``nonresponder``: every randomised subject counts, and one without a usable change
        never reaches any level (the curve then starts below 1).

    Returns
    -------
    ResponderCurve

    Notes
    -----
    With improvement :math:`I_i = s (y_{i,v} - y_{i,0})`, where :math:`s = -1` when lower
    scores are better and :math:`+1` otherwise (relative: divided by :math:`y_{i,0}`, a
    fraction), the curve of arm :math:`a` is
    :math:`F_a(x) = \\#\\{i \\in a: I_i \\ge x\\} / n_a`, the complement of the empirical
    distribution function (compared with a relative tolerance of 1e-9 so that decimal data
    reaching a threshold exactly count as responders). It shows every responder definition at once, so no single
    threshold has to be chosen in advance.

    References
    ----------
    U.S. FDA. Patient-Reported Outcome Measures: Use in Medical Product Development to
    Support Labeling Claims. Guidance for Industry, 2009 (section on cumulative distribution
    of responses).

    Example
    -------
    >>> r = responder_curve_data(trial, "pain", 12, thresholds=[2])  # doctest: +SKIP
    >>> r.at_thresholds  # doctest: +SKIP
    """
    trial = check_trial(trial)
    if missing not in ("exclude", "nonresponder"):
        raise DataError(f"missing must be 'exclude' or 'nonresponder', not {missing!r}")
    thr = np.asarray([] if thresholds is None else list(thresholds), dtype=float)
    if thr.size and not np.isfinite(thr).all():
        raise DataError("thresholds must be finite numbers")
    if relative and trial.instrument(outcome).better == "lower" and (thr > 1).any():
        raise DataError(f"relative thresholds are fractions of the baseline value (0.3 for 30%), as in "
                        f"ct.responders; {', '.join(f'{t:g}' for t in thr[thr > 1])} would ask for a reduction of "
                        f"more than 100% of baseline, which is impossible for '{outcome}'")
    d = _improvement(trial, outcome, visit, relative)
    if missing == "exclude":
        d = d.loc[d["improvement"].notna()]
    arms = trial.arms
    n = d.groupby("arm", observed=False).size().reindex(arms).fillna(0).astype(int)
    imp = d["improvement"].to_numpy(dtype=float)
    codes = d["arm"].cat.codes.to_numpy()
    levels = np.unique(imp[np.isfinite(imp)])
    if levels.size == 0:
        raise DataError(f"no subject has both a baseline and a week-{float(visit):g} value of '{outcome}'")

    def at_least(x: np.ndarray) -> np.ndarray:
        # count per arm (rows) of improvements >= each x (columns); NaN compares False: a non-responder.
        # The tolerance keeps 8.2 - 6.2 = 1.9999999999999991 a responder at threshold 2.
        tol = 1e-9 * np.maximum(1.0, np.abs(x))
        hit = (imp[:, None] >= (x - tol)[None, :]).astype(int)
        return np.stack([hit[codes == k].sum(axis=0) for k in range(len(arms))])

    denom = np.where(n.to_numpy() > 0, n.to_numpy(), np.nan)[:, None]
    counts = at_least(levels)
    curve = pd.DataFrame({
        "arm": pd.Categorical(np.repeat(arms, levels.size), categories=arms, ordered=True),
        "improvement": np.tile(levels, len(arms)),
        "proportion": (counts / denom).ravel(),
    })
    tc = at_least(thr)
    at = pd.DataFrame({
        "arm": pd.Categorical(np.repeat(arms, thr.size), categories=arms, ordered=True),
        "threshold": np.tile(thr, len(arms)),
        "n": np.repeat(n.to_numpy(), thr.size),
        "responders": tc.ravel(),
        "proportion": (tc / denom).ravel(),
    })
    return ResponderCurve(curve=curve, at_thresholds=at, n=n, relative=relative, missing=missing)


def responder_curve(trial: Trial, outcome: str, visit: float, *, thresholds: Sequence[float] | None = None,
                    relative: bool = False, missing: Literal["exclude", "nonresponder"] = "exclude",
                    ax: Axes | None = None) -> Figure:
    """Draw the cumulative proportion of each arm reaching every level of improvement.

    Parameters
    ----------
    trial : Trial
    outcome : str
        A visit-level outcome.
    visit : float
        Follow-up visit (weeks).
    thresholds : sequence of float, optional
        Responder thresholds to mark with vertical lines: units of the instrument or, when
        ``relative``, fractions of baseline as in :func:`combotherapy.responders`; e.g.
        ``[0.3, 0.5]`` with ``relative=True`` for the IMMPACT moderate and substantial pain
        improvements (drawn and labelled as 30% and 50%).
    relative : bool
        Improvement as a fraction of baseline (the axis is labelled in percent).
    missing : {"exclude", "nonresponder"}
        How subjects without a usable change enter the denominator
        (see :func:`responder_curve_data`).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Step curves of :math:`F_a(x) = \\#\\{i \\in a: I_i \\ge x\\} / n_a` against :math:`x`
    (see :func:`responder_curve_data`); the curves start at the proportion with a usable
    change (1 with ``missing="exclude"``) left of the worst change and fall to 0 right of the
    best. A curve lying above another means more subjects of that arm reach every level.
    The legend gives each arm's proportion at each threshold. Nothing is modelled.

    References
    ----------
    U.S. FDA. Patient-Reported Outcome Measures: Use in Medical Product Development to
    Support Labeling Claims. Guidance for Industry, 2009.
    Dworkin RH et al. Interpreting the clinical importance of treatment outcomes in chronic
    pain clinical trials: IMMPACT recommendations. J Pain 2008;9:105-121.

    Example
    -------
    >>> fig = ct.plot.responder_curve(trial, "pain", 12, thresholds=[0.3, 0.5], relative=True)  # doctest: +SKIP
    """
    r = responder_curve_data(trial, outcome, visit, thresholds=thresholds, relative=relative, missing=missing)
    inst = trial.instrument(outcome)
    colors = arm_colors(trial.arms)
    lo, hi = float(r.curve["improvement"].min()), float(r.curve["improvement"].max())
    thr = r.at_thresholds["threshold"].unique()
    lo, hi = min([lo, *thr]), max([hi, *thr])
    span = (hi - lo) or 1.0
    left, right = lo - 0.05 * span, hi + 0.05 * span

    def show(t: float) -> str:
        return f"{100 * t:g}%" if relative else f"{t:g}"
    with style():
        fig, ax = figure_and_axes(ax, (7.2, 3.8))
        start = r.n.astype(float)
        for a, g in r.curve.groupby("arm", observed=False, sort=True):
            if r.n[a] == 0:
                continue
            # before the worst change every subject with a usable change counts; after the best, none
            usable = float(g["proportion"].iloc[0])
            start[a] = usable
            x = np.concatenate([[left], g["improvement"].to_numpy(), [right]])
            y = np.concatenate([[usable], g["proportion"].to_numpy(), [0.0]])
            text = f"{a} (n = {r.n[a]})"
            at = r.at_thresholds.loc[r.at_thresholds["arm"] == a]
            if len(at):
                text += ": " + ", ".join(f"{p:.0%}" for p in at["proportion"])
            ax.plot(x, y, drawstyle="steps-pre", color=colors[a], label=text)
        for t in thr:
            ax.axvline(t, color="#555555", linewidth=0.8, linestyle="--")
            ax.text(t, 1.02, show(t), ha="center", va="bottom", fontsize=7, transform=ax.get_xaxis_transform())
        ax.axvline(0.0, color="#000000", linewidth=0.6, linestyle=":")
        ax.set_xlim(left, right)
        if relative:
            ax.xaxis.set_major_formatter(lambda x, _: f"{100 * x:g}".replace("-", "\u2212"))
        ax.set_ylim(0.0, 1.0)
        ax.yaxis.set_major_formatter(lambda y, _: f"{y:.0%}")
        what = inst.label or inst.name
        unit = "% of baseline" if relative else inst.units
        ax.set_xlabel(f"Improvement in {with_units(what, unit)} at {visit_label(float(visit))}"
                      + f"\n({'decrease' if inst.better == 'lower' else 'increase'} from baseline; "
                      "right = better)")
        ax.set_ylabel("Subjects improving by at least x")
        title = "proportion at " + ", ".join(show(t) for t in thr) if len(thr) else None
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), title=title, title_fontsize=8,
                  alignment="left")
    return fig
