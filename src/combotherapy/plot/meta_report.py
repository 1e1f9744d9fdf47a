"""The ``combotherapy meta`` command and the function behind it: read a study-level file, run the analyses that
fit it, and write tables and figures (no statistics here: everything comes from :mod:`combotherapy.meta`).

Arm-level or wide files are turned into contrasts (``meta.pairwise``); a network with more than two treatments
gets a network meta-analysis (tables: estimates, league table, node-splitting, ranking; figures: network graph,
league table, P-scores) and, when treatments are combinations (``"A + B"``), a component NMA; a comparison of two
treatments gets a pairwise meta-analysis (forest and funnel plots, Egger test, trim-and-fill, leave-one-out).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

from .. import meta
from ..errors import DataError
from ..files import write_text
from . import meta as figs
from .save import save

__all__ = ["meta_report"]


def meta_report(source: str | os.PathLike | pd.DataFrame, out: str | os.PathLike, *, measure: str | None = None,
                columns: dict[str, str] | None = None, reference: str | None = None, inactive: str | None = None,
                synergy: tuple[str, str] | None = None, small_values: str = "desirable", method: str = "REML",
                sep: str = "+", formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Analyse a study-level file and write its tables (Markdown, CSV) and figures into ``out``.

    Parameters
    ----------
    source : path or DataFrame
        One row per arm (columns ``study, treatment`` and ``event, n`` or ``mean, sd, n``), per contrast
        (``study, treat1, treat2, TE, seTE``) or per study with numbered arm columns (``treat1, event1, n1, ...``).
    out : path
        Output folder (created).
    measure : str, optional
        ``OR, RR, RD, MD, SMD, IRR`` for arm data (default OR for events, MD for means).
    columns : dict, optional
        Renaming ``{"study": "author", ...}`` (see :func:`combotherapy.meta.read_studies`).
    reference, inactive, synergy, small_values, method, sep
        Reference treatment, inactive component, the pair of components whose interaction gives the synergy
        verdict, whether small effects are good, tau^2 method of the pairwise meta-analysis, component separator.

    Returns
    -------
    list of Path
        The files written.
    """
    data = meta.read_studies(source, columns=columns)
    layout = data.attrs["layout"]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def table(result, name):
        written.append(result.save(out / f"{name}.md"))
        written.append(result.to_csv(out / f"{name}.csv"))

    def figure(fig, name):
        written.extend(save(fig, out / name, formats=list(formats)))

    if layout == "contrasts":
        pw = data.rename(columns={"yi": "TE", "sei": "seTE"})
        pw.attrs["measure"] = measure or ""
    else:
        arms = meta.arms_from_wide(data, "study" if "study" in data.columns else None) if layout == "wide" else data
        for c in ("study", "treatment" if layout == "arms" else "treat"):
            if c not in arms.columns:
                raise DataError(f"the arm-level file needs a column {c!r} (rename with --column {c}=SOURCE)")
        treat = "treatment" if layout == "arms" else "treat"
        if measure is None:
            measure = "OR" if "event" in arms.columns else "MD"
        pw = meta.pairwise(arms, study="study", treatment=treat, measure=measure,
                           event="event" if "event" in arms.columns else None, n="n" if "n" in arms.columns else None,
                           mean="mean" if "mean" in arms.columns else None, sd="sd" if "sd" in arms.columns else None,
                           time="time" if "time" in arms.columns else None)
    written.append(write_text(out / "contrasts.csv", pw.to_csv(index=False)))
    trts = sorted(set(pw["treat1"]) | set(pw["treat2"]))
    if len(trts) == 2:
        es = pd.DataFrame({"study": pw["study"], "yi": pw["TE"], "vi": pw["seTE"] ** 2})
        es.attrs = dict(pw.attrs)
        res = meta.rma(es, method=method)
        table(res, "meta_analysis")
        table(meta.regtest(res), "egger_test")
        tf = meta.trimfill(res)
        table(tf, "trim_and_fill")
        written.append(write_text(out / "leave_one_out.csv", meta.leave1out(res).to_csv(index=False)))
        figure(figs.forest(res), "forest")
        figure(figs.funnel(tf), "funnel")
        return written
    nma = meta.netmeta(pw, reference=reference, small_values=small_values)
    table(nma, "network_meta_analysis")
    written.append(write_text(out / "league_table.csv", meta.league_table(nma).to_csv()))
    written.append(write_text(out / "netsplit.csv", meta.netsplit(nma).to_csv(index=False)))
    figure(figs.netgraph(nma), "network_graph")
    figure(figs.league(nma), "league_table")
    figure(figs.ranking(nma), "ranking")
    if any(sep in t for t in trts):
        table(meta.netcomb(nma, inactive=inactive, sep=sep), "component_nma")
        if synergy:
            table(meta.cnma_synergy(nma, synergy[0], synergy[1], inactive=inactive, sep=sep), "synergy")
    return written


def _cmd_meta(args: argparse.Namespace) -> int:
    columns = dict(args.column or [])
    written = meta_report(args.data, args.out, measure=args.measure, columns=columns or None,
                          reference=args.reference, inactive=args.inactive,
                          synergy=tuple(args.synergy) if args.synergy else None,
                          small_values="undesirable" if args.larger_is_better else "desirable", method=args.method)
    for path in written:
        print(f"written: {path}")
    return 0


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=SOURCE, got {text!r}")
    return key.strip(), value.strip()
