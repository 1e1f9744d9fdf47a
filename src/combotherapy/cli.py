"""The ``combotherapy`` command line: thin wrappers around the library (no statistics here).

Every command prints a readable message and exits non-zero on bad data (exit 1) or bad usage
(exit 2), never with a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import DataError, ModelError

__all__ = ["main"]


# --- mapping options shared by every command that reads data ----------------------------------------------

def _pairs(items: Sequence[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        if "=" not in item:
            raise DataError(f"{what} {item!r} must look like KEY=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _add_mapping_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("mapping (how the file's columns and labels map to combotherapy's)")
    g.add_argument("--mapping", type=Path, help="JSON file with any of: columns, arms, visits, outcomes, layout")
    g.add_argument("--column", action="append", metavar="CANONICAL=SOURCE",
                   help="column mapping, e.g. --column subject=pid --column pain=nrs (repeatable)")
    g.add_argument("--arm", action="append", metavar="LABEL=ARM",
                   help="arm label mapping, e.g. --arm 1=acupuncture --arm 0=control (repeatable)")
    g.add_argument("--visit-label", action="append", metavar="LABEL=WEEKS",
                   help="visit label mapping, e.g. --visit-label VIS1=4 (repeatable)")
    g.add_argument("--layout", choices=["auto", "long", "wide"], default=None)
    g.add_argument("--encoding", default=None, help="text encoding of csv/tsv files (default UTF-8)")
    g.add_argument("--allow-identifier", action="append", metavar="COLUMN",
                   help="keep a column the identifier guard flags, after checking it yourself (repeatable)")


def _load(args: argparse.Namespace):
    from .instruments import Instrument
    from .io import load

    spec: dict = {}
    if args.mapping:
        try:
            spec = json.loads(Path(args.mapping).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise DataError(f"cannot read the mapping file {args.mapping}: {e}") from None
    columns = {**spec.get("columns", {}), **_pairs(args.column, "--column")}
    arms = {**spec.get("arms", {}), **_pairs(args.arm, "--arm")}
    visits = {**spec.get("visits", {}), **{k: float(v) for k, v in _pairs(args.visit_label, "--visit-label").items()}}
    outcomes = {name: Instrument(**fields) for name, fields in spec.get("outcomes", {}).items()}
    return load(args.data, columns=columns or None, arms=arms or None, visits=visits or None,
                layout=args.layout or spec.get("layout", "auto"), outcomes=outcomes or None,
                encoding=args.encoding, allow_identifiers=tuple(args.allow_identifier or ()))


# --- commands -----------------------------------------------------------------------------------------------

def _cmd_validate(args: argparse.Namespace) -> int:
    trial = _load(args)
    print(f"OK: {args.data} passed every check and the identifier guard.")
    print(repr(trial))
    for note in trial.notes:
        print(f"  note: {note}")
    return 0


def _cmd_table1(args: argparse.Namespace) -> int:
    from .table_one import table_one

    trial = _load(args)
    table = table_one(trial)
    print(table.to_markdown())
    if args.out:
        table.save(args.out)
        print(f"written: {args.out}")
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .files import write_text
    from .simulate import simulate_frame

    arms = tuple(a.strip() for a in args.arms.split(","))
    frame = simulate_frame(arms=arms, n_per_arm=args.n, seed=args.seed)
    write_text(args.out, frame.to_csv(index=False, lineterminator="\n"))
    print(f"written: {args.out} ({frame['subject'].nunique()} subjects, {len(frame)} rows, seed {args.seed})")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from . import analysis

    trial = _load(args)
    result = analysis.primary(trial, args.outcome, args.visit, model=args.model)
    if args.json:
        print(json.dumps(analysis.to_json(result), indent=2, allow_nan=False))
    else:
        print(result.summary())
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    trial = _load(args)
    path = write_report(trial, args.out, outcome=args.outcome, visit=args.visit)
    print(f"written: {path}")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .reproduce import check, reproduce

    if args.check:
        return check(quiet=args.quiet)
    reproduce(args.out, quiet=args.quiet)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="combotherapy", description=(
        "Outcomes research on combined rehabilitation therapies: do physiotherapy and acupuncture together "
        "beat either alone? Every command reads de-identified data only."))
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("reproduce", help="regenerate every figure and table from the bundled data",
                       description="Execute every notebook on the bundled data and write figures, tables and "
                                   "MANIFEST.sha256; with --check, compare with the committed results.")
    r.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")
    r.add_argument("--check", action="store_true", help="regenerate into a temporary folder and compare with the "
                   "committed manifest; exit 1 on drift")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=_cmd_reproduce)

    v = sub.add_parser("validate", help="check a data file and run the identifier guard",
                       description="Run the loader's checks and the identifier guard; exit 1 on problems.")
    v.add_argument("data", type=Path)
    _add_mapping_options(v)
    v.set_defaults(func=_cmd_validate)

    t = sub.add_parser("table1", help="print the baseline table by arm")
    t.add_argument("data", type=Path)
    t.add_argument("--out", type=Path, help="also write it (.md, .html, .tex or .csv)")
    _add_mapping_options(t)
    t.set_defaults(func=_cmd_table1)

    a = sub.add_parser("analyze", help="the primary comparison of arms",
                       description="Compare arms on one outcome at one visit (ANCOVA) or over all visits (MMRM).")
    a.add_argument("data", type=Path)
    a.add_argument("--outcome", default="pain")
    a.add_argument("--visit", type=float, default=12.0, help="weeks since randomisation (default 12)")
    a.add_argument("--model", choices=["ancova", "mmrm"], default="ancova")
    a.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_mapping_options(a)
    a.set_defaults(func=_cmd_analyze)

    s = sub.add_parser("simulate", help="write a simulated sample trial (long CSV)")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--n", type=int, default=120, help="subjects per arm (default 120)")
    s.add_argument("--seed", type=int, default=2026)
    s.add_argument("--arms", default="physio,acupuncture,combined", help="comma-separated arms")
    s.set_defaults(func=_cmd_simulate)

    h = sub.add_parser("report", help="a self-contained HTML report")
    h.add_argument("data", type=Path)
    h.add_argument("--out", type=Path, required=True)
    h.add_argument("--outcome", default="pain")
    h.add_argument("--visit", type=float, default=12.0)
    _add_mapping_options(h)
    h.set_defaults(func=_cmd_report)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (DataError, ModelError) as e:
        print(f"combotherapy {args.command}: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print(f"combotherapy {args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
