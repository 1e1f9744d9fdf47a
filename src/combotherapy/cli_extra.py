"""Arguments of the ``meta`` and ``power`` commands, declared here so that building the parser (and
``combotherapy --help``) imports nothing heavy; their actions import :mod:`combotherapy.plot.meta_report` and
:mod:`combotherapy.power` only when the command runs."""

from __future__ import annotations

import argparse
from pathlib import Path

#: the effect measures of ``combotherapy.meta.MEASURES`` (a literal so the parser needs no import; a test keeps them equal)
META_MEASURES = ("GEN", "IRR", "MD", "OR", "RD", "RR", "SMD")


def add_meta(sub, epilog: str) -> None:
    """Add the ``meta`` command to the ``combotherapy`` parser (called from :mod:`combotherapy.cli`)."""
    m = sub.add_parser("meta", help="meta-analysis / network meta-analysis of a study-level file", epilog=epilog,
                       description="Read a study-level file (one row per arm, per contrast, or per study with "
                                   "numbered arm columns) and write the pairwise or network meta-analysis, the "
                                   "component NMA when treatments are combinations ('A + B'), and their figures. "
                                   "Author and study columns are publication metadata: no identifier guard.")
    m.add_argument("data", type=Path, help="study-level file (.csv, .tsv, .parquet, .xlsx, .dta, .sas7bdat)")
    m.add_argument("--out", type=Path, required=True, help="output folder")
    m.add_argument("--measure", choices=META_MEASURES, help="effect measure for arm data (default OR for "
                   "events, MD for means)")
    m.add_argument("--column", action="append", type=_pair, metavar="NAME=SOURCE",
                   help="use SOURCE as study, treatment, event, n, mean, sd, time (repeatable)")
    m.add_argument("--reference", help="reference treatment")
    m.add_argument("--inactive", help="inactive component of a component NMA (placebo, usual care)")
    m.add_argument("--synergy", nargs=2, metavar=("A", "B"), help="components whose interaction gives the verdict")
    m.add_argument("--larger-is-better", action="store_true", help="larger effects are good (e.g. response)")
    m.add_argument("--method", default="REML", help="tau^2 method of a pairwise meta-analysis (default REML)")
    m.set_defaults(func=_run_meta)


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=SOURCE, got {text!r}")
    return key.strip(), value.strip()


def _run_meta(args: argparse.Namespace) -> int:
    from .plot.meta_report import _cmd_meta

    return _cmd_meta(args)


def add_power(sub, epilog: str) -> None:
    """Add the ``power`` sub-command to the CLI's sub-parsers."""
    w = sub.add_parser("power", help="simulated power of a planned trial (design JSON -> CSV table)", epilog=epilog,
                       description="Simulate trials from a design (a JSON object with the arguments of "
                                   "combotherapy.power.make_design: arms, n (a number or a list), allocation "
                                   "('1:1:2'), visits, visit, outcomes, effects {outcome: {arm: week-12 change}}, "
                                   "dropout, covariates, model, alpha, one_sided_alpha; survival {hr, median, shape, "
                                   "follow_up, dropout} and count {rate_ratio, mean, dispersion, dropout} outcomes; "
                                   "analysis 'claims' with claims (a claims CSV or a list of rows) and multiplicity "
                                   "for the full claims report), analyse each, and write the power table (n, power, "
                                   "mc_se per contrast, combination verdict and claim; type I error under the null) "
                                   "as CSV.")
    w.add_argument("--design", type=Path, required=True, help="design JSON file")
    w.add_argument("--out", type=Path, required=True, help="CSV file to write")
    w.add_argument("--force", action="store_true", help="replace an existing --out file combotherapy did not write")
    w.add_argument("--sims", type=int, default=1000, help="simulations per design point (default 1000)")
    w.add_argument("--seed", type=int, default=2026, help="root seed (default 2026)")
    w.add_argument("--workers", type=int, default=None, help="Dask LocalCluster workers (default: serial)")
    w.add_argument("--resume", type=Path, default=None, metavar="FOLDER",
                   help="results folder: finished batches are written there and skipped when run again")
    w.add_argument("--progress", action="store_true", help="show a progress bar")
    w.set_defaults(func=_run_power)


def _run_power(args: argparse.Namespace) -> int:
    from .power.command import run

    return run(args)


def add_sample_size(sub, epilog: str) -> None:
    """Add the ``sample-size`` sub-command (ct.sample_size) to the CLI's sub-parsers."""
    z = sub.add_parser("sample-size", help="smallest n whose simulated power reaches a target (design JSON)",
                       epilog=epilog,
                       description="Search for the smallest n per allocation unit whose simulated power reaches "
                                   "--target (doubling, then bisection, with the same simulations at every n: "
                                   "combotherapy.sample_size), from a design JSON as the power command's. Prints "
                                   "n and the arm sizes; writes every n tried as CSV.")
    z.add_argument("--design", type=Path, required=True, help="design JSON file (as the power command's)")
    z.add_argument("--out", type=Path, required=True, help="CSV file of every n tried")
    z.add_argument("--force", action="store_true", help="replace an existing --out file combotherapy did not write")
    z.add_argument("--target", type=float, default=0.8, help="target power (default 0.8)")
    z.add_argument("--kind", default="combination", help="row of the power table to reach the target (default "
                   "combination: the combination verdict)")
    z.add_argument("--outcome", default=None, help="outcome of that row (default the first)")
    z.add_argument("--test", default=None, help="test of that row (default the first)")
    z.add_argument("--n-min", type=int, default=10, help="smallest n tried (default 10)")
    z.add_argument("--n-max", type=int, default=2000, help="largest n tried (default 2000)")
    z.add_argument("--sims", type=int, default=1000, help="simulations per n (default 1000)")
    z.add_argument("--seed", type=int, default=2026, help="root seed (default 2026)")
    z.add_argument("--workers", type=int, default=None, help="Dask LocalCluster workers (default: serial)")
    z.add_argument("--progress", action="store_true", help="show a progress bar")
    z.set_defaults(func=_run_sample_size)


def _run_sample_size(args: argparse.Namespace) -> int:
    from .power.command import run_sample_size

    return run_sample_size(args)
