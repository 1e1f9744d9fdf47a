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


def run_sample_size(args: argparse.Namespace) -> int:
    """The ``combotherapy sample-size`` command: the smallest n reaching --target power (ct.sample_size)."""
    from ..files import command_output, write_text
    from . import read_design_file, sample_size

    with command_output(args.out, inputs=(args.design,), force=args.force) as out:
        options = {k: getattr(args, k) for k in ("outcome", "test") if getattr(args, k) is not None}
        res = sample_size(read_design_file(args.design), target=args.target, kind=args.kind, n_min=args.n_min,
                          n_max=args.n_max, n_sims=args.sims, seed=args.seed, workers=args.workers,
                          progress=args.progress or None, **options)
        write_text(out, res.table.to_csv(index=False))
    print(res.summary())
    print(f"written: {args.out} (every n tried)")
    return 0
