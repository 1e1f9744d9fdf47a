"""Figures of the evidence across trials: forest and funnel plots of a meta-analysis, the network graph, the
league table and the ranking of a network meta-analysis.

Every function takes a fitted result of :mod:`combotherapy.meta` (never refits), draws in the house style and
returns a Figure; save it with :func:`combotherapy.plot.save` for byte-identical files. Ratio measures (OR, RR,
IRR) are drawn on a log axis with the ratio labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from scipy import stats

from ..errors import DataError
from ._common import figure_and_axes
from .style import OKABE_ITO, style

__all__ = ["forest", "forest_data", "funnel", "netgraph", "netgraph_data", "league", "ranking"]

_RATIO = ("OR", "RR", "IRR")
_MEASURE_LABEL = {"OR": "Odds ratio", "RR": "Risk ratio", "IRR": "Rate ratio", "RD": "Risk difference",
                  "MD": "Mean difference", "SMD": "Standardised mean difference (Hedges' g)", "GEN": "Effect"}


def _check(result: object, attrs: tuple[str, ...], what: str) -> None:
    if not all(hasattr(result, a) for a in attrs):
        raise DataError(f"expected {what}, not {type(result).__name__}")


def forest_data(result) -> pd.DataFrame:
    """Rows of the meta-analysis forest plot: studies, then the pooled effect and the prediction interval.

    Returns
    -------
    DataFrame
        ``label, kind ("study", "pooled", "prediction"), estimate, ci_low, ci_high, weight`` on the analysis scale
        (log for ratio measures).
    """
    _check(result, ("studies", "estimates", "heterogeneity"), "a meta-analysis result (ct.meta.rma)")
    s = result.studies
    e = result.estimates.iloc[0]
    rows = pd.DataFrame({"label": s["study"].astype(str), "kind": "study", "estimate": s["yi"],
                         "ci_low": s["ci_low"], "ci_high": s["ci_high"], "weight": s["weight"]})
    pooled = pd.DataFrame({"label": ["Pooled (" + ("common effect" if result.method == "FE" else "random effects") + ")"],
                           "kind": ["pooled"], "estimate": [e["estimate"]], "ci_low": [e["ci_low"]],
                           "ci_high": [e["ci_high"]], "weight": [100.0]})
    out = [rows, pooled]
    if "pi_low" in result.estimates and result.method != "FE":
        out.append(pd.DataFrame({"label": ["Prediction interval"], "kind": ["prediction"], "estimate": [e["estimate"]],
                                 "ci_low": [e["pi_low"]], "ci_high": [e["pi_high"]], "weight": [np.nan]}))
    return pd.concat(out, ignore_index=True)


def _scale(measure: str):
    ratio = measure in _RATIO
    return ratio, (np.exp if ratio else (lambda x: x))


def forest(result, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Forest plot of a meta-analysis: each study with its weight, the pooled diamond and the prediction interval.

    Parameters
    ----------
    result : RMAResult
        From :func:`combotherapy.meta.rma`.
    ax : Axes, optional
    title : str, optional

    Returns
    -------
    Figure

    Examples
    --------
    >>> import pandas as pd, combotherapy as ct
    >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.3, -0.2], "vi": [0.33, 0.19, 0.41, 0.05]})
    >>> fig = ct.plot.meta.forest(ct.meta.rma(d, method="DL"))
    """
    d = forest_data(result)
    ratio, tr = _scale(result.measure)
    n = len(d)
    with style():
        fig, ax = figure_and_axes(ax, (7.0, 1.2 + 0.28 * n))
        y = np.arange(n)[::-1].astype(float)
        st = d["kind"] == "study"
        w = d.loc[st, "weight"].to_numpy()
        ax.hlines(y[st], tr(d.loc[st, "ci_low"]), tr(d.loc[st, "ci_high"]), color=OKABE_ITO["black"], lw=1)
        ax.scatter(tr(d.loc[st, "estimate"]), y[st], marker="s", s=15 + 180 * w / w.max(), color=OKABE_ITO["blue"],
                   zorder=3)
        pooled = d.index[d["kind"] == "pooled"][0]
        yp = y[pooled]
        r = d.loc[pooled]
        ax.add_patch(Polygon([(tr(r["ci_low"]), yp), (tr(r["estimate"]), yp + 0.35), (tr(r["ci_high"]), yp),
                              (tr(r["estimate"]), yp - 0.35)], closed=True, color=OKABE_ITO["bluish_green"], zorder=3))
        if (d["kind"] == "prediction").any():
            i = d.index[d["kind"] == "prediction"][0]
            ax.hlines(y[i], tr(d.loc[i, "ci_low"]), tr(d.loc[i, "ci_high"]), color=OKABE_ITO["vermillion"], lw=2.5)
        ax.axvline(1.0 if ratio else 0.0, color="0.5", lw=0.8, ls="--")
        ax.axvline(tr(r["estimate"]), color=OKABE_ITO["bluish_green"], lw=0.6, ls=":")
        if ratio:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(FixedLocator([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_locator(NullLocator())
        ax.set_yticks(y, d["label"])
        ax.set_ylim(-0.8, n - 0.2)
        for yi, (_, row) in zip(y, d.iterrows()):   # one text per row of the figure
            text = f"{tr(row['estimate']):.2f} [{tr(row['ci_low']):.2f}, {tr(row['ci_high']):.2f}]"
            if row["kind"] == "study":
                text += f"  {row['weight']:.1f}%"
            ax.annotate(text, (1.01, yi), xycoords=("axes fraction", "data"), va="center", fontsize=7)
        h = result.heterogeneity.iloc[0]
        ax.set_xlabel(f"{_MEASURE_LABEL.get(result.measure, 'Effect')}  (tau\u00b2 = {h['tau2']:.3g}, "
                      f"I\u00b2 = {h['I2']:.0f}%)")
        ax.set_title(title or "Meta-analysis: studies (weight), pooled effect and prediction interval", loc="left")
    return fig


def funnel(result, *, contours: tuple[float, ...] = (0.90, 0.95, 0.99), ax: Axes | None = None) -> Figure:
    """Contour-enhanced funnel plot: effect against its standard error, shaded where a study would be significant.

    Parameters
    ----------
    result : RMAResult
    contours : tuple of float
        Two-sided confidence levels of the shaded significance contours around the null (Peters et al. 2008).
    ax : Axes, optional

    Returns
    -------
    Figure

    References
    ----------
    Peters JL et al. Contour-enhanced meta-analysis funnel plots help distinguish publication bias from other
    causes of asymmetry. J Clin Epidemiol 2008;61:991-996.

    Examples
    --------
    >>> import pandas as pd, combotherapy as ct
    >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.3, -0.2], "vi": [0.33, 0.19, 0.41, 0.05]})
    >>> fig = ct.plot.meta.funnel(ct.meta.rma(d, method="DL"))
    """
    _check(result, ("studies", "estimates"), "a meta-analysis result (ct.meta.rma)")
    s = result.studies
    sei, yi = s["sei"].to_numpy(), s["yi"].to_numpy()
    b = float(result.estimates["estimate"].iloc[0])
    top = float(sei.max()) * 1.1
    se_grid = np.linspace(0, top, 100)
    shades = ("0.92", "0.82", "0.70", "0.6")
    with style():
        fig, ax = figure_and_axes(ax, (5.0, 4.0))
        span = max(np.abs(yi).max(), abs(b)) + stats.norm.ppf(0.5 + max(contours) / 2) * top
        ax.fill_betweenx(se_grid, -span, span, color="white")
        levels = sorted(contours, reverse=True)
        for k, (level, shade) in enumerate(zip(levels, shades[::-1][-len(levels):])):
            z = stats.norm.ppf(0.5 + level / 2)
            inner = levels[k + 1] if k + 1 < len(levels) else None
            label = (f"{1 - level:.2g} < p < {1 - inner:.2g}" if inner is not None else f"p > {1 - level:.2g}")
            ax.fill_betweenx(se_grid, -z * se_grid, z * se_grid, color=shade, lw=0, label=label)
        z = stats.norm.ppf(0.975)
        ax.plot(b - z * se_grid, se_grid, color=OKABE_ITO["black"], lw=0.8, ls="--")
        ax.plot(b + z * se_grid, se_grid, color=OKABE_ITO["black"], lw=0.8, ls="--")
        ax.axvline(b, color=OKABE_ITO["black"], lw=0.8)
        filled = s["filled"].to_numpy(dtype=bool) if "filled" in s else np.zeros(len(s), dtype=bool)
        ax.scatter(yi[~filled], sei[~filled], color=OKABE_ITO["blue"], zorder=3, s=18, label="study")
        if filled.any():
            ax.scatter(yi[filled], sei[filled], facecolor="white", edgecolor=OKABE_ITO["vermillion"], zorder=3, s=18,
                       label="filled (trim-and-fill)")
        ax.set_ylim(top, 0)
        ax.set_xlim(-span, span)
        ax.set_ylabel("Standard error")
        unit = _MEASURE_LABEL.get(result.measure, "Effect")
        ax.set_xlabel(f"log {unit.lower()}" if result.measure in _RATIO else unit)
        ax.legend(loc="lower right", fontsize=7)
        ax.set_title("Contour-enhanced funnel plot", loc="left")
    return fig


def netgraph_data(result) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes (``treatment, patients, x, y``) on a circle and edges (``treat1, treat2, studies``)."""
    _check(result, ("data", "trts"), "a network meta-analysis result (ct.meta.netmeta)")
    d = result.data
    a = np.minimum(d["treat1"], d["treat2"])
    b = np.maximum(d["treat1"], d["treat2"])
    edges = (pd.DataFrame({"treat1": a, "treat2": b, "study": d["study"]}).groupby(["treat1", "treat2"])["study"]
             .nunique().rename("studies").reset_index())
    trts = list(result.trts)
    if {"n1", "n2"} <= set(d.columns):
        arms = pd.concat([d[["study", "treat1", "n1"]].set_axis(["study", "t", "n"], axis=1),
                          d[["study", "treat2", "n2"]].set_axis(["study", "t", "n"], axis=1)]).drop_duplicates(["study", "t"])
        patients = arms.groupby("t")["n"].sum().reindex(trts).to_numpy()
    else:
        patients = np.full(len(trts), np.nan)
    angle = np.pi / 2 - 2 * np.pi * np.arange(len(trts)) / len(trts)
    nodes = pd.DataFrame({"treatment": trts, "patients": patients, "x": np.cos(angle), "y": np.sin(angle)})
    return nodes, edges


def netgraph(result, *, ax: Axes | None = None) -> Figure:
    """Network graph: node area proportional to patients, edge width to the number of studies.

    Examples
    --------
    >>> import pandas as pd, combotherapy as ct
    >>> d = pd.DataFrame({"study": ["s1", "s2", "s3"], "treat1": ["A", "B", "A"], "treat2": ["B", "C", "C"],
    ...                   "TE": [0.5, 0.3, 0.4], "seTE": [0.2, 0.2, 0.25]})
    >>> fig = ct.plot.meta.netgraph(ct.meta.netmeta(d))
    """
    nodes, edges = netgraph_data(result)
    pos = nodes.set_index("treatment")[["x", "y"]]
    with style():
        fig, ax = figure_and_axes(ax, (5.5, 5.5))
        wmax = edges["studies"].max()
        for _, e in edges.iterrows():   # one line per compared pair
            p, q = pos.loc[e["treat1"]], pos.loc[e["treat2"]]
            ax.plot([p["x"], q["x"]], [p["y"], q["y"]], color=OKABE_ITO["blue"], lw=0.8 + 5 * e["studies"] / wmax,
                    alpha=0.7, solid_capstyle="round", zorder=1)
        pts = nodes["patients"].to_numpy(dtype=float)
        size = 60 + 600 * pts / np.nanmax(pts) if np.isfinite(pts).any() else np.full(len(nodes), 200.0)
        ax.scatter(nodes["x"], nodes["y"], s=size, color=OKABE_ITO["orange"], edgecolor="white", zorder=2)
        for _, nd in nodes.iterrows():
            ax.annotate(nd["treatment"], (nd["x"] * 1.18, nd["y"] * 1.12), ha="center", va="center", fontsize=8)
        ax.set_xlim(-1.5, 1.5)
        ax.set_ylim(-1.35, 1.35)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title("Network of comparisons (node: patients; edge: studies)", loc="left")
    return fig


def league(result, *, model: str = "random", digits: int = 2, ax: Axes | None = None) -> Figure:
    """League table as a figure: row vs column effects with confidence intervals; significant cells shaded.

    Examples
    --------
    >>> import pandas as pd, combotherapy as ct
    >>> d = pd.DataFrame({"study": ["s1", "s2", "s3"], "treat1": ["A", "B", "A"], "treat2": ["B", "C", "C"],
    ...                   "TE": [0.5, 0.3, 0.4], "seTE": [0.2, 0.2, 0.25]})
    >>> fig = ct.plot.meta.league(ct.meta.netmeta(d))
    """
    from ..meta.network import league_table  # a table computed from the fitted result; no refit

    table = league_table(result, model=model, digits=digits)
    order = list(table.index)
    te, se = result.effects(model)
    z = stats.norm.ppf(0.5 + result.level / 2)
    sig = (np.abs(te.loc[order, order].to_numpy()) > z * se.loc[order, order].to_numpy())
    n = len(order)
    with style():
        fig, ax = figure_and_axes(ax, (1.0 + 1.25 * n, 0.6 + 0.45 * n))
        for i in range(n):   # n x n cells of treatments
            for j in range(n):
                color = ("#dfe8f5" if i == j else ("#f6e3c6" if sig[i, j] and i > j else "white"))
                ax.add_patch(Polygon([(j, n - i), (j + 1, n - i), (j + 1, n - i - 1), (j, n - i - 1)], closed=True,
                                     facecolor=color, edgecolor="0.8", lw=0.5))
                ax.text(j + 0.5, n - i - 0.5, table.iat[i, j], ha="center", va="center",
                        fontsize=7 if i != j else 7.5, fontweight="bold" if i == j else "normal", wrap=True)
        ax.set_xlim(0, n)
        ax.set_ylim(0, n)
        ax.axis("off")
        ax.set_title(f"League table ({model} effects; row vs column; shaded: CI excludes no effect)", loc="left")
    return fig


def ranking(result, *, model: str = "random", sucra: pd.DataFrame | None = None, ax: Axes | None = None) -> Figure:
    """P-score bar chart, or a rankogram when a SUCRA table from ``ct.meta.netrank(..., "SUCRA")`` is given.

    Examples
    --------
    >>> import pandas as pd, combotherapy as ct
    >>> d = pd.DataFrame({"study": ["s1", "s2", "s3"], "treat1": ["A", "B", "A"], "treat2": ["B", "C", "C"],
    ...                   "TE": [0.5, 0.3, 0.4], "seTE": [0.2, 0.2, 0.25]})
    >>> fig = ct.plot.meta.ranking(ct.meta.netmeta(d))
    """
    _check(result, ("ranking",), "a network or component NMA result")
    with style():
        if sucra is None:
            ps = result.ranking[["treatment", f"pscore_{model}"]].sort_values(f"pscore_{model}")
            fig, ax = figure_and_axes(ax, (5.0, 0.8 + 0.3 * len(ps)))
            ax.barh(ps["treatment"], ps[f"pscore_{model}"], color=OKABE_ITO["bluish_green"])
            ax.set_xlim(0, 1)
            ax.set_xlabel(f"P-score ({model} effects; 1 = certainly best)")
            ax.set_title("Ranking of treatments", loc="left")
            return fig
        cols = [c for c in sucra.columns if c.startswith("rank_")]
        if not cols:
            raise DataError("the SUCRA table has no rank_ columns: make it with ct.meta.netrank(res, 'SUCRA')")
        fig, ax = figure_and_axes(ax, (6.0, 4.0))
        ranks = np.arange(1, len(cols) + 1)
        colors = list(OKABE_ITO.values())
        for i, (_, row) in enumerate(sucra.iterrows()):   # one line per treatment
            ax.plot(ranks, row[cols].to_numpy(dtype=float), marker="o", ms=3, color=colors[i % len(colors)],
                    ls="-" if i < len(colors) else "--", label=f"{row['treatment']} (SUCRA {row['sucra']:.2f})")
        ax.set_xticks(ranks)
        ax.set_xlabel("Rank (1 = best)")
        ax.set_ylabel("Probability")
        ax.legend(fontsize=6.5, ncol=2)
        ax.set_title("Rankogram", loc="left")
    return fig
