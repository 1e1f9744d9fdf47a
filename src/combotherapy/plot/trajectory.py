"""Trajectories: model-based means (LS means ± CI) by visit and arm, with the baseline at week 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..errors import DataError
from ..instruments import Instrument, instrument_for
from ..trial import Trial
from ._common import check_trial, figure_and_axes
from .style import arm_colors, arm_markers, style

__all__ = ["trajectory_data", "trajectory"]

_LSMEAN_COLUMNS = ("arm", "visit", "estimate", "ci_low", "ci_high")


def _lsmeans_of(result: object) -> tuple[pd.DataFrame, str | None, pd.Index]:
    """The LS-means table, the outcome name and the excluded subjects of a result (or a bare table)."""
    if isinstance(result, pd.DataFrame):
        table, outcome, excluded = result, None, pd.Index([])
    else:
        table = getattr(result, "by_arm", None)
        if not isinstance(table, pd.DataFrame):
            raise DataError(f"expected a result with a 'by_arm' table of LS means (e.g. from ct.mmrm), not "
                            f"{type(result).__name__}")
        fitted = getattr(result, "fitted", None)
        outcome = getattr(fitted, "outcome", None)
        ex = getattr(fitted, "excluded", None)
        excluded = pd.Index(ex["subject"]) if isinstance(ex, pd.DataFrame) and "subject" in ex else pd.Index([])
    absent = [c for c in _LSMEAN_COLUMNS if c not in table.columns]
    if absent:
        raise DataError(f"the LS-means table lacks the columns {absent}; it needs {list(_LSMEAN_COLUMNS)}")
    if table.empty:
        raise DataError("the LS-means table is empty: nothing to plot")
    return table, outcome, excluded


def _observed_means(trial: Trial, outcome: str, subjects: pd.Index | None, visits: list[float] | None) -> pd.DataFrame:
    """Observed mean ± SE per arm and visit (subjects restricted to ``subjects`` when given)."""
    d = trial.data[["subject", "arm", "visit", outcome]].dropna(subset=[outcome])
    if subjects is not None:
        d = d.loc[d["subject"].isin(subjects)]
    if visits is not None:
        d = d.loc[d["visit"].isin(visits)]
    g = d.groupby(["arm", "visit"], observed=True)[outcome]
    out = g.agg(["mean", "std", "count"]).reset_index()
    se = out["std"] / np.sqrt(out["count"])
    return pd.DataFrame({"arm": out["arm"].astype(str), "visit": out["visit"].astype(float), "estimate": out["mean"],
                         "lower": out["mean"] - se, "upper": out["mean"] + se, "n": out["count"].astype(int)})


def trajectory_data(result: object, trial: Trial | None = None, *, raw: bool = False,
                    outcome: str | None = None) -> pd.DataFrame:
    """The points of :func:`trajectory`.

    Parameters
    ----------
    result : MMRMResult or DataFrame
        A result with a ``by_arm`` table of LS means (columns ``arm, visit, estimate, ci_low, ci_high``),
        or such a table itself.
    trial : Trial, optional
        The analysed trial; gives the baseline (week 0) and the observed means.
    raw : bool
        Add observed means ± SE at every visit (needs ``trial``).
    outcome : str, optional
        Outcome column (default: ``result.fitted.outcome``).

    Returns
    -------
    DataFrame
        ``kind, arm, visit, estimate, lower, upper, n``: ``kind`` is ``"lsmean"`` (lower/upper =
        CI from the result), ``"baseline"`` (observed week-0 mean ± SE of the analysed subjects,
        when the result has no week-0 LS means) or ``"observed"`` (mean ± SE; ``raw=True``).
        ``n`` is the number of observations behind an observed mean (NaN for LS means).
    """
    table, fitted_outcome, excluded = _lsmeans_of(result)
    outcome = outcome or fitted_outcome
    ls = pd.DataFrame({"kind": "lsmean", "arm": table["arm"].astype(str), "visit": table["visit"].astype(float),
                       "estimate": table["estimate"].astype(float), "lower": table["ci_low"].astype(float),
                       "upper": table["ci_high"].astype(float), "n": np.nan})
    parts = [ls]
    if trial is not None or raw:
        if trial is None:
            raise DataError("raw=True needs the trial: trajectory(result, trial, raw=True)")
        trial = check_trial(trial)
        if outcome is None:
            raise DataError("cannot tell which outcome to summarise from the trial; pass outcome='...'")
        trial.instrument(outcome)
        analysed = trial.data["subject"].drop_duplicates()
        analysed = pd.Index(analysed[~analysed.isin(excluded)])
        if not (ls["visit"] == 0).any() and 0.0 in trial.visits:
            parts.append(_observed_means(trial, outcome, analysed, [0.0]).assign(kind="baseline"))
        if raw:
            parts.append(_observed_means(trial, outcome, None, None).assign(kind="observed"))
    out = pd.concat(parts, ignore_index=True)[["kind", "arm", "visit", "estimate", "lower", "upper", "n"]]
    order = list(dict.fromkeys((trial.arms if trial is not None else []) + list(ls["arm"])))
    rank = out["arm"].map({a: i for i, a in enumerate(order)})
    kind = out["kind"].map({"baseline": 0, "lsmean": 1, "observed": 2})
    out = out.assign(_k=kind, _a=rank).sort_values(["_k", "_a", "visit"], kind="stable")
    return out.drop(columns=["_k", "_a"]).reset_index(drop=True)


def _instrument(result: object, trial: Trial | None, outcome: str | None) -> Instrument | None:
    if outcome is None:
        return None
    if trial is not None and outcome in trial.data.columns:
        return trial.instrument(outcome)
    own = getattr(result, "instrument", None)  # a declared outcome is not in the registry; its result knows it
    if isinstance(own, Instrument) and (own.name or outcome) == outcome:
        return own
    return instrument_for(outcome)


def _ci_text(result: object) -> str:
    alpha = getattr(getattr(result, "fitted", None), "alpha", None)
    return f"{100 * (1 - alpha):g}% CI" if isinstance(alpha, float) and 0 < alpha < 1 else "CI"


def trajectory(result: object, trial: Trial | None = None, *, raw: bool = False, outcome: str | None = None,
               ax: Axes | None = None) -> Figure:
    """Plot LS means ± CI by visit and arm, the baseline at week 0.

    Parameters
    ----------
    result : MMRMResult or DataFrame
        From :func:`combotherapy.mmrm` (its ``by_arm``), or a table with columns ``arm, visit,
        estimate, ci_low, ci_high``.
    trial : Trial, optional
        The analysed trial. With it the observed baseline mean ± SE of the analysed subjects is
        drawn at week 0 and joined to the first follow-up LS mean.
    raw : bool
        Also draw the observed means ± SE at each visit (open markers, dotted lines).
    outcome : str, optional
        Outcome name when ``result`` is a bare table.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Nothing is refitted: the LS means and their confidence intervals are the result's. Arms
    are shifted sideways by a small fraction of the time axis so that intervals do not hide
    each other. Observed means describe the subjects still measured at each visit and are
    biased under dropout related to the outcome; the LS means of the MMRM are valid under
    missing at random.

    Example
    -------
    >>> fit = ct.mmrm(trial, "pain")  # doctest: +SKIP
    >>> fig = ct.plot.trajectory(fit, trial, raw=True)  # doctest: +SKIP
    """
    pts = trajectory_data(result, trial, raw=raw, outcome=outcome)
    _, fitted_outcome, _ = _lsmeans_of(result)
    inst = _instrument(result, trial, outcome or fitted_outcome)
    arms = list(dict.fromkeys((trial.arms if trial is not None else []) + list(pts["arm"].unique())))
    arms = [a for a in arms if a in set(pts["arm"])]
    colors, markers = arm_colors(arms), arm_markers(arms)
    visits = sorted(set(pts["visit"]))
    span = (max(visits) - min(visits)) or 1.0
    shift = {a: 0.012 * span * (i - (len(arms) - 1) / 2) for i, a in enumerate(arms)}
    with style():
        fig, ax = figure_and_axes(ax, (6.0, 4.0))
        for a in arms:
            own = pts.loc[pts["arm"] == a]
            main = own.loc[own["kind"].isin(["baseline", "lsmean"])].sort_values("visit")
            x = main["visit"].to_numpy() + shift[a]
            y = main["estimate"].to_numpy()
            err = np.vstack([y - main["lower"].to_numpy(), main["upper"].to_numpy() - y])
            ax.errorbar(x, y, yerr=err, color=colors[a], marker=markers[a], capsize=2.5, linewidth=1.5,
                        elinewidth=1.0, label=a)
            obs = own.loc[own["kind"] == "observed"].sort_values("visit")
            if len(obs):
                # observed means sit in their own group just right of the LS means
                xo = obs["visit"].to_numpy() + shift[a] + 0.045 * span
                yo = obs["estimate"].to_numpy()
                erro = np.vstack([yo - obs["lower"].to_numpy(), obs["upper"].to_numpy() - yo])
                ax.errorbar(xo, yo, yerr=erro, color=colors[a], marker=markers[a], markerfacecolor="white",
                            linestyle=":", linewidth=1.0, elinewidth=0.8, capsize=1.5)
        ax.set_xticks(visits)
        ax.set_xticklabels([f"{v:g}" for v in visits])
        ax.set_xlabel("Weeks since randomisation")
        if inst is not None:
            ax.set_ylabel(f"{inst.axis_label()}\n({inst.better} is better)")
        handles = [Line2D([], [], color=colors[a], marker=markers[a], label=a) for a in arms]
        kinds = set(pts["kind"])
        key = [f"filled: LS mean ({_ci_text(result)})" if "lsmean" in kinds else ""]
        if "baseline" in kinds:
            key.append("week 0: observed mean ± SE")
        if "observed" in kinds:
            key.append("open, dotted: observed mean ± SE")
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="\n".join(k for k in key if k),
                  title_fontsize=7, alignment="left")
    return fig
