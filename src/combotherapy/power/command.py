"""The ``combotherapy power`` command's action (its arguments are declared in :mod:`combotherapy.cli_extra`; the
statistics live in :mod:`combotherapy.power`)."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from ..files import command_output
    from . import run_design_file

    with command_output(args.out, inputs=(args.design,), force=args.force) as out:
        res = run_design_file(args.design, out, n_sims=args.sims, seed=args.seed, workers=args.workers,
                              folder=args.resume, progress=args.progress or None)
    print(res.summary())
    print(f"written: {args.out}")
    return 0
