"""The missing-data commands: ``sensitivity`` (the sensitivity panel), ``impute`` (one imputation analysis) and
``tipping-point`` (delta adjustment of an imputation analysis).

Declaring them imports nothing heavy (``combotherapy --help`` stays fast); their actions import
:mod:`combotherapy.missing` when they run. No statistics here: the commands choose the library calls
(:func:`combotherapy.missing.sensitivity_panel`, :func:`~combotherapy.missing.approximate_bayes`,
:func:`~combotherapy.missing.conditional_mean`, :func:`~combotherapy.missing.bootstrap_mi`,
:func:`~combotherapy.missing.tipping_point`) and write their results.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_sensitivity", "STRATEGIES", "IMPUTATION_METHODS"]

#: combotherapy.missing.STRATEGIES (a literal so the parser needs no import; a test keeps them equal)
STRATEGIES = ("MAR", "J2R", "CR", "CIR", "LMCF")
#: --method of impute and tipping-point -> the library function (the panel takes the first two)
IMPUTATION_METHODS = {"approximate-bayes": "approximate_bayes", "conditional-mean": "conditional_mean",
                      "bootstrap-mi": "bootstrap_mi"}


def _terms(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _weeks(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be comma-separated numbers, e.g. 0,0.5,1,1.5") from None


def _strategy(text: str) -> str:
    up = text.strip().upper()
    if up not in STRATEGIES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a strategy; use one of {', '.join(STRATEGIES)}")
    return up


def reference_arms(items: list[str] | None):
    """--reference-arms values as the library's ``reference_arms``: one ARM for every arm, or ARM=REFERENCE pairs."""
    from .errors import DataError

    if not items:
        return None
    pairs = [i for i in items if "=" in i]
    if not pairs:
        if len(items) > 1:
            raise DataError("--reference-arms takes one ARM (the reference of every arm) or ARM=REFERENCE pairs; "
                            f"got {len(items)} bare arm names", kind="option", arguments=("reference_arms",))
        return items[0]
    if len(pairs) != len(items):
        raise DataError("--reference-arms: give one ARM for every arm, or only ARM=REFERENCE pairs, not both",
                        kind="option", arguments=("reference_arms",))
    return {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in pairs)}


def _common(p: argparse.ArgumentParser, add_output_options, alpha_type, *, panel: bool, visit: bool = True) -> None:
    p.add_argument("data", type=Path, help="data file (a trial: one row per subject and visit, or wide)")
    p.add_argument("--outcome", default="pain", help="a visit-level outcome (default pain)")
    if visit:
        p.add_argument("--visit", type=float, default=None, help="visit of the claims (weeks; default the last)")
    g = p.add_argument_group("imputation")
    g.add_argument("--reference-arms", action="append", metavar="ARM | ARM=REFERENCE",
                   help="imputation reference for J2R, CR and CIR: one arm for every arm (--reference-arms physio) "
                        "or per arm (--reference-arms combined=physio --reference-arms acupuncture=physio); default "
                        "control when the trial has it. Not the contrast reference (--reference)")
    methods = ("approximate-bayes", "conditional-mean") if panel else tuple(IMPUTATION_METHODS)
    g.add_argument("--method", choices=methods, default="approximate-bayes",
                   help="imputation: approximate-bayes (multiple imputation, Rubin's rules; default), "
                        "conditional-mean (deterministic, jackknife SEs)"
                        + ("" if panel else ", bootstrap-mi (von Hippel-Bartlett)"))
    g.add_argument("--m", type=int, default=None, help="imputations of approximate-bayes (default: the library's: "
                   + ("100 in the panel)" if panel else "200)"))
    g.add_argument("--seed", type=int, default=None, help="random seed of the imputations (default: the library's"
                   + (", fixed 2024)" if panel else "; give one for a reproducible result)"))
    a = p.add_argument_group("analysis options (left out: the library's defaults)")
    a.add_argument("--covariates", type=_terms, action="extend", metavar="A,B",
                   help="subject-level covariates of the imputation and analysis models (repeatable)")
    if not panel:
        a.add_argument("--covariance", metavar="STRUCTURE", help="covariance of the imputation MMRM (default "
                       "unstructured)")
        a.add_argument("--reference", metavar="ARM", help="contrast reference: compare every arm with this one")
        a.add_argument("--adjust", metavar="METHOD", help="multiplicity adjustment within each visit (default none)")
    a.add_argument("--alpha", type=alpha_type, help="significance level (default 0.05)")
    add_output_options(p)


def add_sensitivity(sub, epilog: str, add_output_options, add_mapping_options, alpha_type) -> None:
    """Add ``sensitivity``, ``impute`` and ``tipping-point`` to the ``combotherapy`` parser."""
    s = sub.add_parser("sensitivity", help="the primary contrasts under different missing-data assumptions",
                       epilog=epilog,
                       description="The sensitivity panel (combotherapy.missing.sensitivity_panel): complete cases, "
                                   "MMRM (MAR), multiple imputation under MAR, J2R, CR and CIR, and the tipping "
                                   "point of the MAR imputation, with the combination verdict under each.")
    _common(s, add_output_options, alpha_type, panel=True)
    s.add_argument("--deltas", type=_weeks, default=None, metavar="D1,D2,...",
                   help="tipping-point grid in the outcome's units (default: the library's)")
    s.add_argument("--figure", type=Path, metavar="FILE", help="also write the panel's forest figure (.png, .svg, "
                   ".pdf)")
    add_mapping_options(s)
    s.set_defaults(func=_run_panel)

    i = sub.add_parser("impute", help="an analysis after imputation under MAR or a reference-based strategy",
                       epilog=epilog,
                       description="Impute the missing values of an outcome under a strategy for intercurrent "
                                   "events (MAR, J2R, CR, CIR, LMCF; events derived from monotone dropout) and "
                                   "analyse by ANCOVA at each visit (combotherapy.missing).")
    _common(i, add_output_options, alpha_type, panel=False, visit=False)
    i.add_argument("--strategy", type=_strategy, default=None, help="MAR (default), J2R, CR, CIR or LMCF")
    add_mapping_options(i)
    i.set_defaults(func=_run_impute)

    t = sub.add_parser("tipping-point", help="how far the imputed values must shift before a claim is lost",
                       epilog=epilog,
                       description="Impute (as the impute command), then re-analyse with the imputed values of one "
                                   "arm shifted towards worse by each delta of a grid, and report where each "
                                   "claimed contrast tips (combotherapy.missing.tipping_point).")
    _common(t, add_output_options, alpha_type, panel=False)
    t.add_argument("--strategy", type=_strategy, default=None, help="strategy of the imputation (default MAR)")
    t.add_argument("--deltas", type=_weeks, default=None, metavar="D1,D2,...",
                   help="shifts in the outcome's units (default: the library's grid)")
    t.add_argument("--shift-arm", metavar="ARM", help="the arm whose imputed values are shifted (default combined)")
    t.add_argument("--figure", type=Path, metavar="FILE", help="also write the tipping-point figure (.png, .svg, "
                   ".pdf)")
    add_mapping_options(t)
    t.set_defaults(func=_run_tipping)


def _given(args: argparse.Namespace, **names: str) -> dict:
    return {kw: getattr(args, attr) for kw, attr in names.items() if getattr(args, attr, None) not in (None, False)}


def imputation(args: argparse.Namespace, trial):
    """The imputation analysis of ``impute`` and ``tipping-point``."""
    from . import missing

    fn = getattr(missing, IMPUTATION_METHODS[args.method])
    kwargs = _given(args, strategy="strategy", covariates="covariates", covariance="covariance",
                    reference="reference", adjust="adjust", alpha="alpha", seed="seed")
    refs = reference_arms(args.reference_arms)
    if refs is not None:
        kwargs["reference_arms"] = refs
    if args.m is not None:
        if args.method != "approximate-bayes":
            from .errors import DataError
            raise DataError("--m is the number of imputations of --method approximate-bayes", kind="option",
                            arguments=("method",))
        kwargs["m"] = args.m
    return fn(trial, args.outcome, **kwargs)


def panel(args: argparse.Namespace, trial):
    """The sensitivity panel of the ``sensitivity`` command."""
    from .missing import sensitivity_panel

    kwargs = _given(args, visit="visit", covariates="covariates", m="m", seed="seed", deltas="deltas",
                    alpha="alpha")
    refs = reference_arms(args.reference_arms)
    if refs is not None:
        kwargs["reference_arms"] = refs
    return sensitivity_panel(trial, args.outcome, method=args.method.replace("-", "_"), **kwargs)


def tipping(args: argparse.Namespace, trial):
    from .missing import tipping_point

    return tipping_point(imputation(args, trial), args.deltas, **_given(args, arm="shift_arm", visit="visit",
                                                                        alpha="alpha"))


def _run(args: argparse.Namespace, compute, figure_of=None) -> int:
    from .cli import _load, _provenance
    from .cli_analyses import command_outputs, emit, write_figure

    figure_path = getattr(args, "figure", None)
    with command_outputs(args, {"out": args.out, "figure": figure_path}, figures=("figure",)):
        trial = _load(args)
        result = compute(args, trial)
        fig = figure_of(result) if figure_path is not None and figure_of is not None else None
        emit(result, args, _provenance(args) if args.out is not None else None)
        if fig is not None:
            write_figure(fig, figure_path)
    return 0


def _panel_figure(result):
    from .plot import sensitivity

    return sensitivity(result)


def _tipping_figure(result):
    from .plot import tipping_point

    return tipping_point(result)


def _run_panel(args: argparse.Namespace) -> int:
    return _run(args, panel, _panel_figure)


def _run_impute(args: argparse.Namespace) -> int:
    return _run(args, imputation)


def _run_tipping(args: argparse.Namespace) -> int:
    return _run(args, tipping, _tipping_figure)
