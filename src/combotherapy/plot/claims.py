"""The claims figure: every claim's standardised effect, its interval and its verdict, in one panel."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..errors import DataError
from ._common import figure_and_axes
from .style import style

__all__ = ["claims_data", "claims"]

_NEEDED = ("id", "outcome", "contrast", "measure", "estimate", "ci_low", "ci_high", "verdict", "std_effect")
# verdicts are told apart by shape and fill, not colour: the colours belong to the arms
_MARK = {"supported": dict(marker="o", markerfacecolor="#000000"),
         "supported, below the MID": dict(marker="o", markerfacecolor="#999999"),
         "not supported": dict(marker="X", markerfacecolor="#000000"),
         "inconclusive": dict(marker="o", markerfacecolor="white")}
_MID = dict(marker="|", markersize=11, markeredgewidth=2.0, color="#c0392b")


def _mark(verdict: str) -> dict:
    key = "supported, below the MID" if verdict.startswith("supported, below") else verdict
    return _MARK.get(key, dict(marker="D", markerfacecolor="#999999"))


def claims_data(report: object) -> pd.DataFrame:
    """Rows of the claims figure.

    Parameters
    ----------
    report : ClaimsReport or DataFrame
        From :func:`combotherapy.claims.claims_report` (its ``table``), or that table.

    Returns
    -------
    DataFrame
        ``id, claim, outcome, contrast, verdict, std_effect, std_low, std_high, std_mid, testable``
        (``std_mid``: the claim's minimal important difference on the same scale, NaN when the report has
        none).
        ``std_effect`` is the report's benefit-signed standardised effect (positive = the claim's
        direction of benefit). Its interval is the report's ``std_ci_low``/``std_ci_high`` when
        present; otherwise the report's interval mapped by the same factor the report used for
        the estimate (see Notes).

    Notes
    -----
    The report defines ``std_effect = f * estimate`` for differences and ``f * log(estimate)``
    for ratio measures (``measure`` containing "ratio"), with ``f`` the benefit sign over the
    pooled baseline SD (or sqrt(3)/pi for log ratios, Chinn 2000). The same ``f`` maps the
    interval limits, so ``f = std_effect / estimate`` (or ``/ log(estimate)``) recovers it;
    when the estimate is exactly 0 (or 1 for ratios) ``f`` is undefined and no interval is
    drawn. No statistic is re-estimated.
    """
    table = getattr(report, "table", report)
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"expected a claims report (ct.claims_report) or its table, not {type(report).__name__}")
    absent = [c for c in _NEEDED if c not in table.columns]
    if absent:
        raise DataError(f"the claims table lacks the columns {absent}; it needs {list(_NEEDED)}")
    if table.empty:
        raise DataError("the claims table has no rows: nothing to plot")
    t = table.reset_index(drop=True)
    est, lo, hi, std = (pd.to_numeric(t[c], errors="coerce").to_numpy(dtype=float)
                        for c in ("estimate", "ci_low", "ci_high", "std_effect"))
    if {"std_ci_low", "std_ci_high"} <= set(t.columns):
        a = pd.to_numeric(t["std_ci_low"], errors="coerce").to_numpy(dtype=float)
        b = pd.to_numeric(t["std_ci_high"], errors="coerce").to_numpy(dtype=float)
    else:
        ratio = t["measure"].astype(str).str.contains("ratio", case=False).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(ratio, np.log(est), est)
            f = np.where(scale != 0, std / scale, np.nan)
            a = f * np.where(ratio, np.log(lo), lo)
            b = f * np.where(ratio, np.log(hi), hi)
    testable = np.isfinite(std)
    return pd.DataFrame({
        "id": t["id"].astype(str), "claim": t["claim"].astype(str) if "claim" in t else "",
        "outcome": t["outcome"].astype(str), "contrast": t["contrast"].fillna("").astype(str),
        "verdict": t["verdict"].astype(str), "std_effect": std,
        "std_low": np.fmin(a, b), "std_high": np.fmax(a, b),
        "std_mid": (pd.to_numeric(t["std_mid"], errors="coerce").to_numpy(dtype=float) if "std_mid" in t
                    else np.full(len(t), np.nan)),
        "testable": testable,
    })


def claims(report: object, *, labels: str = "short", ax: Axes | None = None) -> Figure:
    """One panel summarising every claim: standardised effect, interval and verdict.

    Parameters
    ----------
    report : ClaimsReport or DataFrame
        From :func:`combotherapy.claims.claims_report`.
    labels : {"short", "claim"}
        Row labels: ``"short"`` (id, outcome and deciding contrast) or the claim's sentence,
        wrapped.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Effects are signed so that right of 0 is the claimed benefit, whatever the instrument's
    direction, which puts claims measured on different scales on one axis. The verdict (from
    the report: the adjusted test in the claimed direction) is shown by the marker — filled
    circle supported, grey circle supported below the minimal important difference (MID),
    cross not supported, open circle inconclusive — and written at the right; each claim's
    MID is drawn as a red tick on the same standardised scale, so a reader sees why a
    significant effect can still be below it; claims that could not be tested are
    listed with the reason. See :func:`claims_data` for the intervals.

    Example
    -------
    >>> fig = ct.plot.claims(ct.claims_report(trial))  # doctest: +SKIP
    """
    if labels not in ("short", "claim"):
        raise DataError(f"labels must be 'short' or 'claim', not {labels!r}")
    d = claims_data(report)
    if not d["testable"].any():
        reasons = ", ".join(dict.fromkeys(d["verdict"]))
        raise DataError(f"none of the {len(d)} claims could be tested on these data ({reasons}): there is no "
                        "effect to draw")
    n = len(d)
    y = np.arange(n)[::-1].astype(float)
    if labels == "short":
        names = [f"{i}. {o}" + (f" ({c})" if c else "") for i, o, c in zip(d["id"], d["outcome"], d["contrast"])]
    else:
        names = [textwrap.fill(f"{i}. {c}", 48) for i, c in zip(d["id"], d["claim"])]
    with style():
        fig, ax = figure_and_axes(ax, (7.5 if labels == "short" else 9.0, 1.3 + (0.34 if labels == "short" else 0.5) * n))
        ok = d["testable"].to_numpy()
        for yi, row in zip(y[ok], d.loc[ok].itertuples()):
            if np.isfinite(row.std_low) and np.isfinite(row.std_high):
                ax.hlines(yi, row.std_low, row.std_high, color="#000000", linewidth=1.2)
            if np.isfinite(row.std_mid):  # the MID the verdict is read against (issue 11: drawn, not implied)
                ax.plot([row.std_mid], [yi], linestyle="none", **_MID)
            style_ = _mark(row.verdict)
            ax.plot([row.std_effect], [yi], linestyle="none", markersize=6.5, markeredgecolor="#000000",
                    markeredgewidth=1.0, **style_)
        ax.axvline(0.0, color="#555555", linewidth=0.8, linestyle="--")
        vals = np.concatenate([d.loc[ok, c].to_numpy(dtype=float)
                               for c in ("std_effect", "std_low", "std_high", "std_mid")]
                              + [np.zeros(1)])
        vals = vals[np.isfinite(vals)]
        pad = 0.08 * ((vals.max() - vals.min()) or 1.0)
        ax.set_xlim(vals.min() - pad, vals.max() + pad)
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_yticks(y)
        ax.set_yticklabels(names)
        for lab, testable in zip(ax.get_yticklabels(), ok):
            if not testable:
                lab.set_color("#777777")
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        twin = ax.twinx()
        twin.set_ylim(ax.get_ylim())
        twin.set_yticks(y)
        twin.set_yticklabels([v.replace("minimal important difference", "MID") for v in d["verdict"]], fontsize=8)
        twin.tick_params(axis="y", length=0)
        for side in ("left", "right", "top", "bottom"):
            twin.spines[side].set_visible(False)
        ax.set_xlabel("Standardised effect in the claimed direction (right of 0 = benefit)")
        key = [Line2D([], [], linestyle="none", markersize=6.5, markeredgecolor="#000000", label=v, **m)
               for v, m in _MARK.items()]
        key.append(Line2D([], [], linestyle="none", label="minimal important difference", **_MID))
        ax.legend(handles=key, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=3, borderaxespad=0.0,
                  fontsize=8)
    return fig
