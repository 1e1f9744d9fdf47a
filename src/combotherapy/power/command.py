"""The ``combotherapy power`` command (registered by :mod:`combotherapy.cli`; the statistics live in
:mod:`combotherapy.power`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub, epilog: str) -> None:
    """Add the ``power`` sub-command to the CLI's sub-parsers."""
    w = sub.add_parser("power", help="simulated power of a planned trial (design JSON -> CSV table)", epilog=epilog,
                       description="Simulate trials from a design (a JSON object with the arguments of "
                                   "combotherapy.power.make_design: arms, n (a number or a list), allocation "
                                   "('1:1:2'), visits, visit, outcomes, effects {outcome: {arm: week-12 change}}, "
                                   "dropout, covariates, model, alpha, one_sided_alpha), analyse each, and write "
                                   "the power table (n, power, mc_se per contrast, combination verdict and claim; "
                                   "type I error under the null) as CSV.")
    w.add_argument("--design", type=Path, required=True, help="design JSON file")
    w.add_argument("--out", type=Path, required=True, help="CSV file to write")
    w.add_argument("--force", action="store_true", help="replace an existing --out file combotherapy did not write")
    w.add_argument("--sims", type=int, default=1000, help="simulations per design point (default 1000)")
    w.add_argument("--seed", type=int, default=2026, help="root seed (default 2026)")
    w.add_argument("--workers", type=int, default=None, help="Dask LocalCluster workers (default: serial)")
    w.add_argument("--resume", type=Path, default=None, metavar="FOLDER",
                   help="results folder: finished batches are written there and skipped when run again")
    w.add_argument("--progress", action="store_true", help="show a progress bar")
    w.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..files import command_output
    from . import run_design_file

    with command_output(args.out, inputs=(args.design,), force=args.force) as out:
        res = run_design_file(args.design, out, n_sims=args.sims, seed=args.seed, workers=args.workers,
                              folder=args.resume, progress=args.progress or None)
    print(res.summary())
    print(f"written: {args.out}")
    return 0
