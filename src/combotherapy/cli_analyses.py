"""The analysis commands of the ``combotherapy`` command line: one table row per public analysis function.

Each row names the function (imported only when its command runs, so ``combotherapy --help`` imports neither
pandas nor scipy), its positional arguments and the shared options it takes. Options left out on the command line
are not passed at all, so the library's defaults (``combotherapy.arguments.DEFAULTS``) apply.

JSON output is strict (RFC 8259: no ``NaN``/``Infinity`` tokens): an infinite number — e.g. the open end of a
one-sided confidence interval — is written as the string ``"inf"`` or ``"-inf"``, and a missing value as
``null``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ANALYSES", "SHARED", "add_analysis_commands", "strict_json", "emit", "emit_to", "render", "FORMATS",
           "command_outputs", "write_figure", "format_of", "output_format"]

#: output formats; with --out the suffix decides unless --format is given
FORMATS = ("text", "json", "md", "html", "tex", "csv", "docx", "xlsx")
_SUFFIX = {".json": "json", ".md": "md", ".html": "html", ".htm": "html", ".tex": "tex", ".csv": "csv",
           ".docx": "docx", ".xlsx": "xlsx", ".txt": "text"}

#: the shared options every analysis command may take (each command lists the ones its function accepts)
SHARED = ("covariates", "adjust", "reference", "covariance", "df", "alpha")


@dataclass(frozen=True)
class Analysis:
    module: str                      # under combotherapy
    function: str
    help: str
    positional: tuple[str, ...] = ()  # args attributes passed after the trial, in order
    options: tuple[str, ...] = ()     # shared options the function accepts (keyword name = option name)
    rename: dict[str, str] = field(default_factory=dict)  # option -> the function's keyword when it differs
    extra: tuple[str, ...] = ()       # command-specific options (see _EXTRA)
    lazy: bool = False                # runs on a LazyTrial too: the command takes --backend duckdb
    figure: str | None = None         # combotherapy.plot function drawing the result (--out FILE.png/.svg/.pdf)


ANALYSES: dict[str, Analysis] = {
    "ancova": Analysis("models.ancova", "ancova", "ANCOVA of an outcome at one visit on its baseline value",
                       ("outcome", "visit"), ("covariates", "adjust", "reference", "alpha"), lazy=True,
                       figure="forest"),
    "mmrm": Analysis("models.mmrm", "mmrm", "mixed model for repeated measures over all visits",
                     ("outcome",), ("covariates", "adjust", "reference", "covariance", "df", "alpha"), lazy=True,
                     figure="trajectory"),
    "responders": Analysis("models.responders", "responders", "responder analysis (improvement by a threshold)",
                           ("outcome", "visit"), ("covariates", "adjust", "reference", "alpha"),
                           extra=("threshold", "relative"), lazy=True),
    "survival": Analysis("models.survival", "survival", "time to recovery: Kaplan-Meier, log-rank and Cox model",
                         ("time", "event"), ("covariates", "adjust", "reference", "alpha"), lazy=True,
                         figure="survival"),
    "counts": Analysis("models.counts", "count_model", "count outcome (e.g. painkiller days): negative binomial",
                       ("outcome", "visit"), ("covariates", "adjust", "reference", "alpha"), figure="forest"),
    "adherence": Analysis("models.adherence", "adherence", "sessions attended of those planned, by arm",
                          (), ("covariates", "adjust", "reference", "alpha")),
    "safety": Analysis("models.safety", "adverse_events", "adverse events by arm", (),
                       ("covariates", "adjust", "reference", "alpha")),
    "subgroups": Analysis("models.subgroups", "subgroups", "treatment effects within subgroups",
                          ("outcome", "visit"), ("adjust", "alpha"), figure="forest"),
    "mediation": Analysis("models.mediation", "mediation", "does early pain relief carry the effect on adherence?",
                          (), ("covariates", "alpha"), extra=("seed",)),
    "claims": Analysis("claims", "claims_report", "test every claim about combined therapy and give verdicts",
                       (), ("adjust", "alpha"), rename={"adjust": "multiplicity"}, figure="claims"),
    "combination": Analysis("models.combination", "combination_test",
                            "is the combined arm better than each monotherapy? (intersection-union test)",
                            ("outcome", "visit"), ("covariates", "alpha"), extra=("model", "mid")),
    "effect-sizes": Analysis("cli_analyses", "ancova_effect_sizes",
                             "standardised effect sizes of the ANCOVA contrasts (Hedges' g of the change; difference / baseline SD)",
                             ("outcome", "visit"), ("covariates", "adjust", "reference", "alpha")),
    "synergy": Analysis("models.combination", "synergy", "2 x 2 factorial: more than the sum of its parts?",
                        ("outcome", "visit"), ("covariates", "alpha"), extra=("model",)),
}


def ancova_effect_sizes(trial, outcome: str, visit: float, *, alpha: float | None = None, **options: Any):
    """``ct.effect_sizes(ct.ancova(trial, outcome, visit, **options), alpha=alpha)``: the effect-sizes command."""
    from .models.ancova import ancova
    from .models.effect_sizes import effect_sizes

    if alpha is not None:
        options["alpha"] = alpha
    fit = ancova(trial, outcome, visit, **options)
    return effect_sizes(fit, alpha=alpha)


def _covariates(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1, e.g. 0.05")
    return value


def _add_shared(p: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    g = p.add_argument_group("analysis options (left out: the library's defaults)")
    if "covariates" in names:
        g.add_argument("--covariates", type=_covariates, action="extend", metavar="A,B",
                       help="adjust for these columns, comma-separated (repeatable), e.g. --covariates age,site")
    if "adjust" in names:
        g.add_argument("--adjust", metavar="METHOD",
                       help="multiplicity adjustment, e.g. holm, bonferroni, none (claims: holm, fixed-sequence, "
                            "none)")
    if "reference" in names:
        g.add_argument("--reference", metavar="ARM", help="compare every arm with this one")
    if "covariance" in names:
        g.add_argument("--covariance", metavar="STRUCTURE", help="covariance structure, e.g. unstructured, cs, ar1, "
                       "toeplitz")
    if "df" in names:
        g.add_argument("--df", metavar="METHOD", help="denominator degrees of freedom: satterthwaite, "
                       "kenward-roger, residual")
    if "alpha" in names:
        g.add_argument("--alpha", type=_alpha, help="significance level (default: the library's)")


def add_output_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--out", type=Path, help="write to this file; the suffix picks the format (.json, .md, .html, "
                   ".tex, .csv, .docx, .xlsx; .png, .svg or .pdf for the command's figure where it draws one)")
    g.add_argument("--format", choices=FORMATS, help="output format (default: text on screen, or the --out "
                   "suffix's). JSON is strict: infinite numbers are the strings \"inf\"/\"-inf\", missing ones null")
    g.add_argument("--force", action="store_true", help="replace an existing --out file combotherapy did not write")


def _add_extra(p: argparse.ArgumentParser, spec: Analysis) -> None:
    if "outcome" in spec.positional:
        default = "analgesic_days" if spec.function == "count_model" else "pain"
        p.add_argument("--outcome", default=default, help=f"a visit-level outcome (default {default})")
    if "visit" in spec.positional:
        p.add_argument("--visit", type=float, default=12.0, help="weeks since randomisation (default 12)")
    if "time" in spec.positional:
        p.add_argument("--time", default="recovery_time", help="time column (default recovery_time)")
        p.add_argument("--event", default="recovered", help="event flag column (default recovered)")
    if "threshold" in spec.extra:
        p.add_argument("--threshold", type=float, required=True, help="improvement that makes a responder")
        p.add_argument("--relative", action="store_true", help="threshold is a proportion of baseline")
    if "model" in spec.extra:
        p.add_argument("--model", choices=("ancova", "mmrm"), default=None, help="the model (default ancova)")
    if "mid" in spec.extra:
        p.add_argument("--mid", type=float, default=None, help="minimal important difference, reported beside "
                       "the verdict")
    if "seed" in spec.extra:
        p.add_argument("--seed", type=int, default=None, help="random seed of the simulations")


def add_analysis_commands(sub, run, add_mapping_options, epilog: str) -> None:
    """One sub-command per row of :data:`ANALYSES` (``run(args)`` executes it)."""
    for name, spec in ANALYSES.items():
        p = sub.add_parser(name, help=spec.help, epilog=epilog, description=spec.help[0].upper() + spec.help[1:]
                           + f" (combotherapy.{spec.function}).")
        p.add_argument("data", type=Path, help="data file")
        _add_extra(p, spec)
        _add_shared(p, spec.options)
        add_output_options(p)
        if spec.lazy:
            from .cli import add_backend_option
            add_backend_option(p)
        add_mapping_options(p)
        p.set_defaults(func=run)


def wants_figure(args: argparse.Namespace) -> bool:
    """--out names a figure file (and no --format says otherwise)."""
    out = getattr(args, "out", None)
    return out is not None and not getattr(args, "format", None) and Path(out).suffix.lower() in FIGURE_SUFFIXES


def draw(args: argparse.Namespace, result):
    """The command's figure of ``result`` (ANALYSES[...].figure), or a ValueError naming the commands that draw."""
    spec = ANALYSES.get(args.command)
    if spec is None or spec.figure is None:
        drawing = ", ".join(name for name, s in ANALYSES.items() if s.figure)
        raise ValueError(f"{args.command} draws no figure; --out {args.out} needs a table format (.json, .md, "
                         f".html, .tex, .csv, .docx, .xlsx). Commands with a figure: {drawing}")
    from . import plot

    return getattr(plot, spec.figure)(result)


def call(args: argparse.Namespace, trial):
    """Run the command's function on ``trial`` with the options given."""
    spec = ANALYSES[args.command]
    fn = getattr(importlib.import_module(f"combotherapy.{spec.module}"), spec.function)
    kwargs = {spec.rename.get(k, k): getattr(args, k) for k in (*spec.options, *spec.extra)
              if getattr(args, k, None) not in (None, False)}
    if args.command == "mmrm" and "df" in kwargs:
        kwargs["df"] = kwargs["df"].lower()
    return fn(trial, *(getattr(args, a) for a in spec.positional), **kwargs)


# --- output ------------------------------------------------------------------------------------------------

def _strict(value):
    """A JSON value without NaN/Infinity tokens: infinities as "inf"/"-inf", NaN as null (documented above)."""
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def strict_json(result) -> str:
    """The result as strict JSON text (``allow_nan=False`` holds); infinite bounds are the string "inf"/"-inf"
    (the library's :func:`combotherapy.results.to_json` rule, so the CLI and the API write the same JSON)."""
    from .results import to_json

    return json.dumps(_strict(to_json(result)), indent=2, allow_nan=False, default=str)


def format_of(path, given: str | None = None, *, option: str = "--out") -> str:
    """The output format: ``given`` (--format) or the suffix of ``path``."""
    if given:
        return given
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIX:
        raise ValueError(f"cannot tell the format of {option} {path} from its suffix {suffix!r}: use one of "
                         f"{', '.join(sorted(_SUFFIX))}" + (" or give --format" if option == "--out" else ""))
    return _SUFFIX[suffix]


def output_format(args: argparse.Namespace) -> str:
    if getattr(args, "format", None):
        return args.format
    if getattr(args, "out", None) is not None:
        return format_of(args.out)
    return "text"


#: suffixes of figure outputs (combotherapy.plot.save.FORMATS, spelled here so the check needs no matplotlib)
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


@contextmanager
def command_outputs(args: argparse.Namespace, paths: dict, figures: tuple[str, ...] = ()):
    """Check every output file of a command before anything is computed (never an input; another existing file
    only with --force), and record each written one as the package's (:func:`combotherapy.files.command_output`).

    Each file is written whole (through a temporary file renamed into place), and nothing is written before the
    computation has finished, so a failed command leaves no output at all.
    """
    from contextlib import ExitStack

    from .files import command_output

    given = [p for p in paths.values() if p is not None]
    if len({Path(p).resolve() for p in given}) < len(given):
        raise ValueError("two outputs name the same file: give each its own")
    for key, path in paths.items():  # every format is known before anything is computed or written
        if path is None:
            continue
        option = "--" + key.replace("_", "-")
        if key in figures:
            if Path(path).suffix.lower() not in FIGURE_SUFFIXES:
                raise ValueError(f"{option} {path}: a figure is written as {', '.join(FIGURE_SUFFIXES)}")
        else:
            format_of(path, getattr(args, "format", None) if key == "out" else None, option=option)
    inputs = (getattr(args, "data", None), getattr(args, "mapping", None))
    with ExitStack() as stack:
        for path in given:
            stack.enter_context(command_output(path, inputs=inputs, force=getattr(args, "force", False)))
        yield


def write_figure(fig, path) -> None:
    """Write a figure (deterministic bytes; .png, .svg or .pdf by the suffix)."""
    from .plot.save import FORMATS, save

    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"a figure is written as {', '.join('.' + f for f in FORMATS)}, not {path}")
    save(fig, path)  # the package's figures are not registered with pyplot: nothing to close
    print(f"written: {path}")


def emit_to(result, path, provenance: dict | None = None, fmt: str | None = None, *, option: str = "--out") -> None:
    """Write ``result`` to ``path`` in ``fmt`` (default: by the suffix), with a provenance sidecar."""
    from .files import write_text

    fmt = format_of(path, fmt, option=option)
    if fmt in ("docx", "xlsx"):
        from . import office

        notes = list(result.fitted.lines()) + [f"{k}: {v}" for k, v in (provenance or {}).items()]
        getattr(office, f"to_{fmt}")(result.frames(), path, title=result.title, notes=notes)
    else:
        text = render(result, fmt)
        write_text(path, text if text.endswith("\n") else text + "\n")
    if provenance is not None:  # CSV/Office files cannot carry it in their data: a sidecar beside them
        text = json.dumps(_strict(provenance), indent=2, allow_nan=False) + "\n"
        write_text(Path(str(path) + ".provenance.json"), text)
    print(f"written: {path}")


def render(result, fmt: str) -> str:
    """``result`` as text in a text format (text, json, md, html, tex, csv)."""
    if fmt == "json":
        return strict_json(result)
    if fmt == "csv":
        return result.to_frame().to_csv(index=False)
    return {"text": result.summary, "md": result.to_markdown, "html": result.to_html, "tex": result.to_latex}[fmt]()


def emit(result, args: argparse.Namespace, provenance: dict | None = None) -> None:
    """Print or write ``result`` in the format asked for (writes atomically through the files module)."""
    fmt = output_format(args)
    out = getattr(args, "out", None)
    if out is None:
        if fmt in ("docx", "xlsx"):
            raise ValueError(f"--format {fmt} needs --out FILE.{fmt}")
        text = render(result, fmt)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    emit_to(result, out, provenance, fmt)
