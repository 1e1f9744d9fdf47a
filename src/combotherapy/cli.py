"""The ``combotherapy`` command line: thin wrappers around the library (no statistics here).

Every command prints a readable message and exits non-zero on bad data (exit 1) or bad usage
(exit 2), never with a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from .errors import DataError, ModelError

__all__ = ["main"]

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

_EPILOG = ("exit status: 0 success; 1 the data cannot be used as given or a model cannot be fitted (the message says "
           "why); 2 bad usage; 3 an internal error (a bug: set COMBOTHERAPY_TRACEBACK=1 to see the traceback)")


# --- mapping options shared by every command that reads data ----------------------------------------------

def _pair(text: str) -> tuple[str, str]:
    """argparse type of KEY=VALUE options: a malformed one is a usage error (exit 2)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"{text!r} must look like KEY=VALUE")
    return key.strip(), value.strip()


def _weeks_pair(text: str) -> tuple[str, float]:
    key, value = _pair(text)
    try:
        return key, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the weeks after '=' must be a number") from None


_MAPPING_KEYS = ("columns", "arms", "visits", "outcomes", "layout")


def _add_mapping_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("mapping (how the file's columns and labels map to combotherapy's)")
    g.add_argument("--mapping", type=Path, metavar="JSON",
                   help="JSON file with any of: columns, arms, visits, outcomes, layout; e.g. "
                        '{"columns": {"subject": "id", "headache_w0": "pk1"}, "arms": {"1": "acupuncture"}, '
                        '"outcomes": {"headache": {"low": 0, "better": "lower", "units": "points"}}}. '
                        "Options given on the command line override it.")
    g.add_argument("--column", action="append", type=_pair, metavar="CANONICAL=SOURCE",
                   help="column mapping, e.g. --column subject=pid --column pain=nrs; wide files map "
                        "<outcome>_w<week>, e.g. --column headache_w52=pk5 (repeatable)")
    g.add_argument("--arm", action="append", type=_pair, metavar="LABEL=ARM",
                   help="arm label mapping, e.g. --arm 1=acupuncture --arm 0=control (repeatable)")
    g.add_argument("--visit-label", action="append", type=_weeks_pair, metavar="LABEL=WEEKS",
                   help="visit label mapping, e.g. --visit-label VIS1=4 (repeatable)")
    g.add_argument("--layout", choices=["auto", "long", "wide"], default=None,
                   help="long: one row per subject and visit; wide: one row per subject (default: auto)")
    g.add_argument("--encoding", default=None, help="text encoding of csv/tsv files (default UTF-8)")
    g.add_argument("--allow-identifier", action="append", metavar="COLUMN",
                   help="keep a column the identifier guard flags, after checking it yourself (repeatable)")
    g.add_argument("--design", choices=("randomised", "observational"), default=None,
                   help="how treatment was assigned (ct.load's design=): observational data (a registry, clinic "
                        "records) make every result name the design and warn on unadjusted comparisons "
                        "(default randomised; the observational command: observational)")


def add_backend_option(p: argparse.ArgumentParser) -> None:
    """``--backend duckdb``: keep the rows out of memory (commands whose analysis runs on a LazyTrial)."""
    p.add_argument("--backend", choices=("duckdb",), default=None,
                   help="duckdb: read a Parquet/CSV file, a folder or glob of Parquet files, or a DuckDB database "
                        "(with --table) out of memory, as ct.load(backend='duckdb') (default: in memory)")
    p.add_argument("--table", default=None, help="the table of a DuckDB database file (--backend duckdb)")


def _read_mapping(path: Path) -> dict:
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read the mapping file {path}: {e}") from None
    except json.JSONDecodeError as e:
        raise DataError(f"the mapping file {path} is not valid JSON: {e}") from None
    if not isinstance(spec, dict):
        raise DataError(f"the mapping file {path} must hold a JSON object with any of the keys "
                        f"{', '.join(_MAPPING_KEYS)}")
    unknown = [k for k in spec if k not in _MAPPING_KEYS]
    if unknown:
        raise DataError(f"the mapping file {path} has unknown key(s) {unknown}; the keys are "
                        f"{', '.join(_MAPPING_KEYS)}")
    for key in ("columns", "arms", "visits", "outcomes"):
        if not isinstance(spec.get(key, {}), dict):
            raise DataError(f"'{key}' in the mapping file {path} must be a JSON object (name: value pairs)")
    return spec


def _instruments(outcomes: dict, path: Path | None) -> dict:
    from .instruments import Instrument

    out = {}
    for name, fields in outcomes.items():
        if not isinstance(fields, dict):
            raise DataError(f"outcome '{name}' in the mapping file {path} must be a JSON object of instrument "
                            'fields, e.g. {"low": 0, "better": "lower", "units": "points"}')
        try:
            out[name] = Instrument(**fields)
        except (TypeError, ValueError) as e:
            raise DataError(f"outcome '{name}' in the mapping file {path}: {e}. Instrument fields are low, high, "
                            "better, units, label, kind, level, integer, low_open, description") from None
    return out


def _load(args: argparse.Namespace, design: str = "randomised"):
    """ct.load with the command's mapping and loading options (``design``: the command's default design)."""
    from .io import load

    spec = _read_mapping(args.mapping) if args.mapping else {}
    columns = {**spec.get("columns", {}), **dict(args.column or ())}
    arms = {**spec.get("arms", {}), **dict(args.arm or ())}
    visits = {**spec.get("visits", {}), **dict(args.visit_label or ())}
    outcomes = _instruments(spec.get("outcomes", {}), args.mapping)
    lazy = {"backend": args.backend, "table": getattr(args, "table", None)} if getattr(args, "backend", None) else {}
    return load(args.data, columns=columns or None, arms=arms or None, visits=visits or None,
                layout=args.layout or spec.get("layout", "auto"), outcomes=outcomes or None,
                encoding=args.encoding, allow_identifiers=tuple(args.allow_identifier or ()),
                design=getattr(args, "design", None) or design, **lazy)


# --- commands -----------------------------------------------------------------------------------------------

def _cmd_validate(args: argparse.Namespace) -> int:
    from .report import describe_trial

    trial = _load(args)
    print(f"OK: {args.data} passed every check and the identifier guard.")
    for line in describe_trial(trial):
        print(line)
    if args.allow_identifier:
        print("Kept although the identifier guard flags them (--allow-identifier, your responsibility): "
              + ", ".join(args.allow_identifier))
    return EXIT_OK


def _output(args: argparse.Namespace):
    """``--out`` through files.command_output: never an input file; another existing file only with --force."""
    from contextlib import nullcontext

    from .files import command_output

    if args.out is None:
        return nullcontext()
    return command_output(args.out, inputs=(getattr(args, "data", None), getattr(args, "mapping", None)),
                          force=args.force)


def _provenance(args: argparse.Namespace) -> dict:
    """What produced an output: package version, command, input file and its sha256, seed and options."""
    from .files import _sha256

    data = getattr(args, "data", None)
    skip = {"func", "command", "data", "out", "force", "format"}
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in sorted(vars(args).items())
               if k not in skip and v not in (None, False, [], ())}
    return {"package": f"combotherapy {_version()}", "command": args.command,
            "input": str(data) if data is not None else None,
            "input_sha256": _sha256(Path(data)) if data is not None and Path(data).is_file() else None,
            "seed": getattr(args, "seed", None), "options": options}


def _provenance_json(args: argparse.Namespace) -> str:
    """The provenance sidecar's text: strict JSON (no NaN/Infinity tokens)."""
    from .cli_analyses import _strict

    return json.dumps(_strict(_provenance(args)), indent=2, allow_nan=False) + "\n"


def _cmd_table1(args: argparse.Namespace) -> int:
    from .cli_analyses import emit, output_format
    from .table_one import table_one

    with _output(args):
        trial = _load(args)
        table = table_one(trial)
        fmt = output_format(args) if args.out else "text"
        print(table.summary())
        if args.out:
            if fmt in ("docx", "xlsx", "json"):
                emit(table, args, _provenance(args))
            else:
                table.save(args.out)
                from .files import write_text
                write_text(Path(str(args.out) + ".provenance.json"), _provenance_json(args))
                print(f"written: {args.out}")
    return EXIT_OK


def _cmd_analysis(args: argparse.Namespace) -> int:
    """Every command of cli_analyses.ANALYSES: load, call the library function, print or write the result."""
    from .cli_analyses import ANALYSES, call, command_outputs, draw, emit, wants_figure, write_figure
    from .files import write_text

    figure = wants_figure(args)
    if figure and ANALYSES[args.command].figure is None:
        draw(args, None)  # says which commands draw, before anything is loaded
    with command_outputs(args, {"out": args.out}, figures=("out",) if figure else ()):
        trial = _load(args)
        result = call(args, trial)
        if figure:
            fig = draw(args, result)
            write_figure(fig, args.out)
            write_text(Path(str(args.out) + ".provenance.json"), _provenance_json(args))
        else:
            emit(result, args, _provenance(args) if args.out is not None else None)
    return EXIT_OK


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .files import write_text
    from .simulate import _csv_text, simulate_frame

    arms = tuple(a.strip() for a in args.arms.split(",") if a.strip())
    with _output(args):
        frame = simulate_frame(arms=arms, n_per_arm=args.n, visits=args.visits, dropout=args.dropout, seed=args.seed)
        # the sample data's own CSV writer: whole numbers without decimals, missing values blank
        write_text(args.out, _csv_text(frame))
    print(f"written: {args.out} ({frame['subject'].nunique()} subjects, {len(frame)} rows; arms "
          f"{', '.join(arms)}; seed {args.seed})")
    return EXIT_OK


def _cmd_analyze(args: argparse.Namespace) -> int:
    from . import analysis
    from .cli_analyses import command_outputs, emit

    if args.json and (args.format or args.out):
        raise ValueError("--json prints JSON (infinite bounds as null); with --format or --out use --format json "
                         "(strict JSON: infinite bounds as \"inf\"/\"-inf\")")
    with command_outputs(args, {"out": args.out}):
        trial = _load(args)
        options = {k: getattr(args, k) for k in ("alpha", "adjust", "reference", "covariance", "df")
                   if getattr(args, k, None) is not None}
        result = analysis.primary(trial, args.outcome, args.visit, model=args.model,
                                  covariates=args.covariate or (), baseline=not args.no_baseline, **options)
        if args.json:  # kept as it was (null for infinite bounds); --format json is the strict form
            print(json.dumps(analysis.to_json(result), indent=2, allow_nan=False))
        elif args.out is None and not args.format:
            print(result.summary())
        else:
            emit(result, args, _provenance(args) if args.out is not None else None)
    return EXIT_OK


def _report_command(args: argparse.Namespace) -> str:
    """The report command as provenance: file names without folders, and without --out (where it was written
    does not change what it says, and the same data must give the same bytes wherever it is written)."""
    import shlex

    words = ["combotherapy", "report", Path(args.data).name, "--outcome", args.outcome, "--visit", f"{args.visit:g}"]
    for c in args.covariate or ():
        words += ["--covariate", c]
    if getattr(args, "mapping", None) is not None:
        words += ["--mapping", Path(args.mapping).name]
    for option, pairs in (("--column", "column"), ("--arm", "arm"), ("--visit-label", "visit_label")):
        for pair in getattr(args, pairs, None) or ():
            k, v = pair
            words += [option, f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"]
    for option, dest in (("--layout", "layout"), ("--encoding", "encoding")):
        if getattr(args, dest, None):
            words += [option, str(getattr(args, dest))]
    for c in getattr(args, "allow_identifier", None) or ():
        words += ["--allow-identifier", c]
    return shlex.join(words)


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    with _output(args):
        trial = _load(args)
        report = write_report(trial, args.out, outcome=args.outcome, visit=args.visit,
                              covariates=args.covariate or (), data_file=args.data, command=_report_command(args))
    for section, why in report.skipped:
        print(f"note: {section}: {why}", file=sys.stderr)
    print(f"written: {report.path}")
    return EXIT_OK


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .reproduce import NotebookError, check, reproduce

    try:
        if args.check:
            return check(quiet=args.quiet, root=args.notebooks)
        manifest = reproduce(args.out, quiet=args.quiet, root=args.notebooks, force=args.force)
    except NotebookError as e:
        print(f"combotherapy reproduce: {e}", file=sys.stderr)
        return 1
    print(f"written: {manifest.parent} (manifest {manifest.name})")
    return EXIT_OK


def _visits(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be comma-separated weeks, e.g. 0,4,8,12,26") from None


def _proportion(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a proportion in [0, 1)")
    return value


def _covariates(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _version() -> str:
    from . import __version__

    return __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="combotherapy", epilog=_EPILOG, description=(
        "Outcomes research on combined rehabilitation therapies: do physiotherapy and acupuncture together "
        "beat either alone? Every command reads de-identified data only. Run 'combotherapy COMMAND --help' "
        "for a command's options."))
    p.add_argument("--version", action="version", version=f"combotherapy {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("reproduce", help="regenerate every figure and table from the bundled data", epilog=_EPILOG,
                       description="Execute every notebook on the bundled data and write figures, tables and "
                                   "MANIFEST.sha256; with --check, compare with the committed results.")
    r.add_argument("--out", type=Path, default=None,
                   help="output folder (default: results/ of the repository whose notebooks run)")
    r.add_argument("--check", action="store_true", help="regenerate into a temporary folder and compare with the "
                   "committed manifest; exit 1 on drift")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--notebooks", type=Path, metavar="FOLDER", default=None,
                   help="run the notebooks of this repository folder (holding notebooks/ and data/sample/) instead "
                        "of those of the repository combotherapy was installed from")
    r.add_argument("--force", action="store_true", help="write into a non-empty --out folder that holds no "
                   "manifest of an earlier run")
    r.set_defaults(func=_cmd_reproduce)

    v = sub.add_parser("validate", help="check a data file and run the identifier guard", epilog=_EPILOG,
                       description="Run the loader's checks and the identifier guard and say what was loaded "
                                   "(subjects per arm, visits, outcomes). On problems, list every one (identifier "
                                   "columns by name and kind, never their values) and exit 1.")
    v.add_argument("data", type=Path, help="data file (.csv, .tsv, .parquet, .xlsx, .dta, .sas7bdat, .xpt)")
    _add_mapping_options(v)
    v.set_defaults(func=_cmd_validate)

    t = sub.add_parser("table1", help="print the baseline table by arm", epilog=_EPILOG,
                       description="Print Table 1 (baseline characteristics by arm).")
    t.add_argument("data", type=Path, help="data file")
    t.add_argument("--out", type=Path, help="also write it (.md, .html, .tex, .csv, .json, .docx or .xlsx; a "
                   "provenance sidecar <out>.provenance.json records version, input sha256 and options)")
    t.add_argument("--format", choices=("md", "html", "tex", "csv", "json", "docx", "xlsx"),
                   help="format of --out (default: its suffix)")
    t.add_argument("--force", action="store_true", help="replace an existing --out file combotherapy did not write")
    add_backend_option(t)
    _add_mapping_options(t)
    t.set_defaults(func=_cmd_table1)

    a = sub.add_parser("analyze", help="the primary comparison of arms", epilog=_EPILOG,
                       description="Compare arms on one outcome: ANCOVA at one visit on the baseline value, or an "
                                   "MMRM over all visits; LS means, pairwise contrasts (Holm) and, when the trial "
                                   "has the arms, the combination rule (combined better than each monotherapy) and "
                                   "the 2 x 2 factorial synergy analysis at that visit.")
    a.add_argument("data", type=Path, help="data file")
    a.add_argument("--outcome", default="pain", help="a visit-level outcome (default pain)")
    a.add_argument("--visit", type=float, default=12.0, help="weeks since randomisation (default 12)")
    a.add_argument("--model", choices=_PRIMARY_MODELS, default="ancova",
                   help="ancova (value at the visit on baseline) or mmrm (all visits); default ancova")
    a.add_argument("--covariates", dest="covariate", type=_covariates, action="extend", metavar="A,B",
                   help="adjust for these columns too, comma-separated (repeatable), e.g. --covariates age,site")
    a.add_argument("--covariate", action="append", metavar="COLUMN",
                   help="one column to adjust for (repeatable; the same as --covariates)")
    a.add_argument("--no-baseline", action="store_true",
                   help="mmrm only: do not adjust for the baseline value (for data without baseline measurements)")
    a.add_argument("--json", action="store_true", help="print JSON instead of a table (infinite bounds as null; "
                   "--format json writes them as \"inf\"/\"-inf\")")
    from .cli_analyses import _add_shared, add_output_options
    _add_shared(a, ("adjust", "reference", "covariance", "df", "alpha"))
    add_output_options(a)
    _add_mapping_options(a)
    a.set_defaults(func=_cmd_analyze)

    s = sub.add_parser("simulate", help="write a simulated sample trial (long CSV)", epilog=_EPILOG,
                       description="Simulate a trial with known true effects (see ct.simulate_trial) and write it "
                                   "as a long CSV that every other command reads.")
    s.add_argument("--out", type=Path, required=True, help="CSV file to write")
    s.add_argument("--force", action="store_true", help="replace an existing --out file combotherapy did not write")
    s.add_argument("--n", type=int, default=120, help="subjects per arm (default 120)")
    s.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    s.add_argument("--arms", default="physio,acupuncture,combined",
                   help="comma-separated arms among control, physio, acupuncture, combined "
                        "(default physio,acupuncture,combined)")
    s.add_argument("--visits", type=_visits, default=(0, 4, 8, 12, 26),
                   help="comma-separated visit weeks starting at 0 (default 0,4,8,12,26)")
    s.add_argument("--dropout", type=_proportion, default=0.15,
                   help="expected proportion lost by the last visit (default 0.15)")
    s.set_defaults(func=_cmd_simulate)

    from .cli_analyses import add_analysis_commands

    add_analysis_commands(sub, _cmd_analysis, _add_mapping_options, _EPILOG)

    h = sub.add_parser("report", help="a self-contained HTML report", epilog=_EPILOG,
                       description="Write one HTML file, viewable offline (figures inline as SVG, no external "
                                   "resources), with Table 1, the CONSORT diagram, the primary analysis (ANCOVA and "
                                   "combination rule; MMRM over all visits), responders, time to recovery "
                                   "(Kaplan-Meier, hazard ratios), count outcomes (rate ratios), adverse events and "
                                   "subgroups when the trial has them, the claims report and a methods note, with "
                                   "its provenance (version, data SHA-256, command, seed). A section that cannot be "
                                   "computed for these data says why. The same data and versions give the same "
                                   "bytes.")
    h.add_argument("data", type=Path, help="data file")
    h.add_argument("--out", type=Path, required=True, help="HTML file to write")
    h.add_argument("--force", action="store_true", help="replace an existing --out file combotherapy did not write")
    h.add_argument("--outcome", default="pain", help="primary outcome (default pain)")
    h.add_argument("--visit", type=float, default=12.0, help="primary visit, weeks (default 12)")
    h.add_argument("--covariates", dest="covariate", type=_covariates, action="extend", metavar="A,B",
                   help="adjust the primary analysis for these columns too, comma-separated (repeatable)")
    h.add_argument("--covariate", action="append", metavar="COLUMN",
                   help="one column to adjust for (repeatable; the same as --covariates)")
    _add_mapping_options(h)
    h.set_defaults(func=_cmd_report)

    from .cli_analyses import _alpha, add_output_options
    from .cli_extra import add_meta, add_power, add_sample_size  # declared without importing their statistics
    from .cli_missing import add_sensitivity
    from .cli_observational import add_observational
    from .cli_privacy import add_deidentify

    add_observational(sub, _EPILOG, add_output_options, _add_mapping_options, _alpha)
    add_sensitivity(sub, _EPILOG, add_output_options, _add_mapping_options, _alpha)

    add_deidentify(sub, _EPILOG)
    add_meta(sub, _EPILOG)
    add_power(sub, _EPILOG)
    add_sample_size(sub, _EPILOG)
    return p


#: the library's errors name the Python arguments that would fix them (``err.arguments``, a field: no message text is
#: read); on the command line each has an option
_CLI_EQUIVALENTS = {
    "columns": "columns= is --column CANONICAL=SOURCE (or \"columns\" in --mapping)",
    "arms": "arms= is --arm LABEL=ARM",
    "visits": "visits= is --visit-label LABEL=WEEKS",
    "outcomes": "outcomes= is \"outcomes\" in a --mapping JSON file, e.g. "
                '{"outcomes": {"score": {"low": 0, "better": "lower", "units": "points"}}}',
    "encoding": "encoding= is --encoding",
    "allow_identifiers": "allow_identifiers= is --allow-identifier COLUMN",
    "baseline": "baseline=False is --no-baseline",
    "covariates": "covariates= is --covariates A,B",
    "covariance": "covariance= is --covariance STRUCTURE",
    "mmrm": "ct.mmrm is --model mmrm (with --no-baseline for data without week-0 values)",
    "reference_arms": "reference_arms= is --reference-arms ARM (every arm) or --reference-arms ARM=REFERENCE "
                      "(repeatable)",
    "method": "method= is --method",
    "estimand": "estimand= is --estimand",
}
#: several arguments named together read as one option phrase
_CLI_TOGETHER = {("model", "baseline"): "model='mmrm' with baseline=False is --model mmrm --no-baseline"}


#: an ArgumentError's ``argument`` field -> this command's option (fields, not message text, for these errors)
_CLI_OPTIONS = {"covariates": "covariates= is --covariates A,B", "visit": "visit= is --visit WEEKS",
                "model": "model= is --model", "baseline": "baseline=False is --no-baseline",
                "reference": "reference= is --reference ARM", "adjust": "adjust= is --adjust METHOD",
                "alpha": "alpha= is --alpha", "covariance": "covariance= is --covariance STRUCTURE",
                "df": "df= is --df METHOD", "threshold": "threshold= is --threshold (--relative for a percentage)",
                "design": "design= is --design"}


#: the primary analysis's models, spelled here so that --help imports no statistics (a test checks that this
#: equals combotherapy.analysis.MODELS)
_PRIMARY_MODELS = ("ancova", "mmrm")


def analysis_models() -> tuple[str, ...]:
    """The model names of the primary analysis (one table: combotherapy.analysis.MODELS)."""
    from .analysis import MODELS

    return MODELS


def _cli_hint(error: Exception) -> str:
    """A line translating the Python arguments an error names in its fields into this command's options."""
    argument = getattr(error, "argument", None)
    if argument in _CLI_OPTIONS:
        return "On the command line: " + _CLI_OPTIONS[argument] + "."
    named = list(getattr(error, "arguments", ()) or ())
    found = []
    for together, text in _CLI_TOGETHER.items():
        if all(a in named for a in together):
            found.append(text)
            named = [a for a in named if a not in together]
    found += [_CLI_EQUIVALENTS[a] for a in named if a in _CLI_EQUIVALENTS]
    return ("On the command line: " + "; ".join(found) + ".") if found else ""


def _os_error(e: OSError) -> str:
    # writes go through a temporary file renamed into place: name the target, not the temporary file
    target = e.filename2 if e.filename2 is not None else e.filename
    if isinstance(e, IsADirectoryError):
        return f"cannot write {target}: it is a folder; give the path of a file"
    return f"{e.strerror or e}: {target}" if target is not None else str(e)


def _warning_line(command: str):
    """``warnings.showwarning`` for the command line: ``combotherapy COMMAND: warning: ...`` without source lines."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"combotherapy {command}: warning: {message}", file=sys.stderr)
    return show


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 bad data or model, 2 bad usage, 3 internal error)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on bad usage and 0 after --help
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    try:
        with warnings.catch_warnings():  # the library's warnings (e.g. ConfoundingWarning) as one line each
            warnings.showwarning = _warning_line(args.command)
            return int(args.func(args) or EXIT_OK)
    except (DataError, ModelError, ValueError) as e:  # ValueError: a bad value passed through to the library
        hint = _cli_hint(e)
        print(f"combotherapy {args.command}: {e}" + (f"\n{hint}" if hint else ""), file=sys.stderr)
        return EXIT_DATA
    except BrokenPipeError:  # output piped into a command that stopped reading (e.g. head): not an error to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except OSError as e:  # a file that cannot be written (permissions, full disk, a folder in the way)
        print(f"combotherapy {args.command}: {_os_error(e)}", file=sys.stderr)
        return EXIT_DATA
    except KeyboardInterrupt:
        print(f"combotherapy {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if os.environ.get("COMBOTHERAPY_TRACEBACK"):
            raise
        print(f"combotherapy {args.command}: internal error ({type(e).__name__}: {e}). This is a bug in "
              "combotherapy; please report it with the command you ran (COMBOTHERAPY_TRACEBACK=1 shows the "
              "traceback).", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
