"""The ``observational`` command: propensity scores, weighting, matching and AIPW from the command line.

Declaring the command imports nothing heavy (``combotherapy --help`` stays fast); its action imports
:mod:`combotherapy.observational` when it runs. No statistics here: the command chooses the library calls and
writes their results.

The data may be a trial file (one row per subject and visit, read by ``ct.load`` with ``design="observational"``
unless ``--design randomised``) or a subject-level file without a visit column (a registry export such as
``data/sample/registry.csv``), read as it is after the ``--column``/``--arm`` mappings and the identifier guard.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_observational", "METHODS", "ESTIMANDS"]

#: --method: the library call that compares the arms (unadjusted: raw means, with the confounding warning)
METHODS = ("iptw", "aipw", "match", "unadjusted")
#: --estimand (the library's "ATE", "ATT", "overlap"; the ATC is the ATT of the reference arm)
ESTIMANDS = ("ate", "att", "atc", "overlap")


def _terms(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def add_observational(sub, epilog: str, add_output_options, add_mapping_options, alpha_type) -> None:
    """Add the ``observational`` command to the ``combotherapy`` parser (called from :mod:`combotherapy.cli`)."""
    o = sub.add_parser(
        "observational", help="compare arms of non-randomised data: propensity weighting, matching, AIPW",
        epilog=epilog,
        description="Fit the propensity score of the treatment received on --covariates, then compare the arms by "
                    "inverse probability weighting (iptw: weighted means, a weighted regression with "
                    "--outcome-covariates, or a weighted Cox model with --time/--event), doubly robust AIPW, or 1:1 "
                    "nearest-neighbour matching (two arms). Prints the comparison with E-values and the covariate "
                    "balance before and after adjustment; --balance and --love-plot write them to files. "
                    "(combotherapy.observational)")
    o.add_argument("data", type=Path, help="data file: a trial (with a visit column) or one row per subject")
    o.add_argument("--covariates", type=_terms, action="extend", required=True, metavar="TERMS",
                   help="confounders of the propensity model: comma-separated columns or formula terms, e.g. "
                        "--covariates 'age,sex,pain0,log(pain_duration)' (repeatable)")
    o.add_argument("--method", choices=METHODS, default="iptw", help="iptw (default), aipw, match (two arms) or "
                   "unadjusted (raw comparison, for contrast)")
    o.add_argument("--estimand", choices=ESTIMANDS, default="ate",
                   help="target population: ate (everyone, default), att (those who received --target), atc (those "
                        "who received the reference arm: --reference, or the first arm) or overlap (overlap weights)")
    o.add_argument("--target", metavar="ARM", help="the ATT's arm (default with two arms: the second; matching: the "
                   "arm whose subjects are matched)")
    o.add_argument("--outcome", help="outcome column to compare (numeric; 0/1 for a binary outcome)")
    o.add_argument("--outcome-covariates", type=_terms, action="extend", metavar="TERMS",
                   help="iptw: a weighted regression of the outcome on arm and these terms; aipw: the outcome model's "
                        "terms (default: the propensity model's)")
    o.add_argument("--time", help="iptw: time-to-event column for a weighted Cox model (with --event)")
    o.add_argument("--event", help="iptw: 0/1 event column of the weighted Cox model (1 = event)")
    o.add_argument("--treatment", default="arm", help="column of the treatment received (default arm)")
    o.add_argument("--arms", type=_terms, metavar="A,B", help="analyse only these arms (e.g. two arms for "
                   "matching: --arms physio,combined)")
    o.add_argument("--visit", type=float, default=None,
                   help="trial files: the visit (weeks) whose rows are analysed (default: the last visit when an "
                        "outcome is compared, else baseline)")
    g = o.add_argument_group("weights and matching")
    g.add_argument("--trim", type=float, help="iptw: exclude subjects whose smallest score is below this (aipw: "
                   "only the weights of its balance check)")
    g.add_argument("--truncate", type=float, help="iptw: cap weights at this quantile, e.g. 0.99")
    g.add_argument("--stabilize", action="store_true", help="iptw, ate: stabilised weights")
    g.add_argument("--se", choices=("stacked", "known", "bootstrap"), default=None,
                   help="iptw: standard errors (default stacked: account for the estimated score)")
    g.add_argument("--seed", type=int, default=None, help="iptw with --se bootstrap: random seed")
    g.add_argument("--caliper", type=float, default=None, help="match: caliper in SDs of the logit score "
                   "(default 0.2)")
    g.add_argument("--no-caliper", action="store_true", help="match: no caliper")
    g.add_argument("--replace", action="store_true", help="match: with replacement")
    g.add_argument("--threshold", type=float, default=None, help="largest acceptable |SMD| (default 0.1)")
    a = o.add_argument_group("analysis options (left out: the library's defaults)")
    a.add_argument("--adjust", metavar="METHOD", help="multiplicity adjustment of the contrasts, e.g. holm")
    a.add_argument("--reference", metavar="ARM", help="compare every arm with this one (and the atc's arm)")
    a.add_argument("--alpha", type=alpha_type, help="significance level (default 0.05)")
    add_output_options(o)
    f = o.add_argument_group("balance outputs (written with --out, all or none)")
    f.add_argument("--balance", type=Path, metavar="FILE", help="write the balance table (SMD before/after); the "
                   "suffix picks the format (.csv, .json, .md, .html, .tex, .docx, .xlsx)")
    f.add_argument("--love-plot", type=Path, metavar="FILE", help="write the love plot (.png, .svg or .pdf)")
    add_mapping_options(o)
    o.set_defaults(func=_run)


def _frame(args: argparse.Namespace):
    """A trial file through ct.load (design observational unless --design says otherwise); a subject-level file
    (no visit column after --column) as a frame, after the arm mapping and the identifier guard."""
    from .cli import _load, _read_mapping
    from .io.layout import wide_columns
    from .io.readers import read_table

    spec = _read_mapping(args.mapping) if args.mapping else {}
    columns = {**spec.get("columns", {}), **dict(args.column or ())}
    source = read_table(args.data, encoding=args.encoding)
    named = {str(src): str(canon) for canon, src in columns.items()}
    frame = source.frame.rename(columns=named)
    visits = {**spec.get("visits", {}), **dict(args.visit_label or ())}
    if "visit" in frame.columns or wide_columns(frame.columns, visits or None) or args.layout in ("long", "wide"):
        return _load(args, design="observational")
    from .observational import mark_observational
    from .privacy import check_identifiers

    check_identifiers(source.frame, allow=tuple(args.allow_identifier or ()),
                      subject=next((s for s, c in named.items() if c == "subject"), "subject")
                      if "subject" in frame.columns else None)
    arms = {**spec.get("arms", {}), **dict(args.arm or ())}
    if arms and args.treatment in frame.columns:
        frame[args.treatment] = frame[args.treatment].astype(str).map(lambda v: arms.get(v, v))
    frame = frame.apply(lambda c: _numeric(c))
    return frame if args.design == "randomised" else mark_observational(frame, source=Path(args.data).name)


def _numeric(column):
    """A text column whose every value is a number (or one of the loader's missing tokens), as numbers; other
    columns unchanged."""
    import pandas as pd

    from .io.readers import MISSING_TOKENS

    if pd.api.types.is_numeric_dtype(column):
        return column
    text = column.astype("string").str.strip()
    text = text.mask(text.isin(MISSING_TOKENS))
    as_number = pd.to_numeric(text, errors="coerce")
    return as_number if (as_number.notna() == text.notna()).all() and text.notna().any() else text.astype(object)


def _only_arms(data, arms: list[str], treatment: str):
    """``data`` restricted to the subjects of ``arms`` (a frame by its treatment column; a Trial by its arms)."""
    from .errors import DataError
    from .observational import ObservationalData, mark_observational
    from .trial import Trial

    wrapped = isinstance(data, ObservationalData)
    inner = data.data if wrapped else data
    is_trial = isinstance(inner, Trial)
    table = inner.data if is_trial else inner
    column = "arm" if is_trial else treatment
    if column not in table.columns:
        raise DataError(f"--arms: there is no treatment column '{column}' (see --treatment)", kind="option",
                        column=column)
    present = set(table[column].astype(str).unique())
    unknown = [a for a in arms if a not in present]
    if unknown or len(arms) < 2:
        raise DataError(f"--arms needs two or more of the arms in the data ({sorted(present)}); "
                        + (f"not there: {', '.join(unknown)}" if unknown else "give at least two"),
                        kind="unknown arm", arm=unknown[0] if unknown else None)
    rows = table[table[column].astype(str).isin(arms)].reset_index(drop=True)
    if is_trial:
        rows["arm"] = rows["arm"].cat.remove_unused_categories()
        rows = Trial(rows, inner.instruments, source=inner.source, notes=inner.notes, design=inner.design)
    return mark_observational(rows, source=data.source) if wrapped else rows


def _estimand(args: argparse.Namespace, arms: list[str]) -> tuple[str, str | None]:
    """The library's estimand and target arm for --estimand/--target (the ATC: the ATT of the reference arm)."""
    if args.estimand == "atc":
        return "ATT", args.reference or arms[0]
    if args.estimand == "att":
        return "ATT", args.target
    return {"ate": "ATE", "overlap": "overlap"}[args.estimand], None


def _given(args: argparse.Namespace, **names: str) -> dict:
    """Keyword arguments for the options given (option attribute -> the function's keyword)."""
    return {kw: getattr(args, attr) for kw, attr in names.items() if getattr(args, attr, None) not in (None, False)}


def compute(args: argparse.Namespace, data):
    """(comparison result, balance result or None) of the command's options on ``data``."""
    from . import observational as obs
    from .errors import DataError

    if args.method != "iptw" and (args.time or args.event):
        raise DataError("--time/--event (a weighted Cox model) go with --method iptw", kind="option",
                        arguments=("method",))
    if bool(args.time) != bool(args.event):
        raise DataError("a weighted Cox model needs both --time and --event", kind="option")
    if args.method == "unadjusted":
        if not args.outcome:
            raise DataError("--method unadjusted compares an outcome: give --outcome", kind="option")
        return obs.unadjusted(data, args.outcome, treatment=args.treatment, visit=args.visit,
                              **_given(args, alpha="alpha", adjust="adjust")), None
    terms = " + ".join(args.covariates)
    carried = args.outcome if args.outcome else None
    ps = obs.propensity_score(data, terms, treatment=args.treatment, outcome=carried, visit=args.visit,
                              **_given(args, alpha="alpha"))
    estimand, target = _estimand(args, ps.arms)
    threshold = _given(args, threshold="threshold")
    if args.method == "match":
        if args.estimand in ("ate", "overlap"):
            raise DataError(f"matching estimates the effect in the matched arm's population (att or atc), not the "
                            f"{args.estimand}; use --method iptw or aipw for it", kind="option",
                            arguments=("estimand",))
        treated = target if target is not None else None
        if args.estimand == "att" and treated is None:
            treated = ps.arms[-1]
        caliper = None if args.no_caliper else (0.2 if args.caliper is None else args.caliper)
        result = obs.match(ps, treated=treated, caliper=caliper, replace=args.replace, outcome=carried,
                           **_given(args, alpha="alpha"), **threshold)
        return result, result.balance_result
    weights = obs.iptw(ps, estimand, target=target, stabilize=args.stabilize, **_given(args, trim="trim",
                                                                                          truncate="truncate"))
    bal = obs.balance(weights, **threshold)
    if args.method == "aipw":
        if not args.outcome:
            raise DataError("--method aipw estimates an outcome's effect: give --outcome", kind="option")
        options = _given(args, alpha="alpha", adjust="adjust", reference="reference")
        if args.outcome_covariates:
            options["outcome_covariates"] = " + ".join(args.outcome_covariates)
        return obs.aipw(ps, args.outcome, estimand=estimand, target=target, **options), bal
    inference = _given(args, alpha="alpha", adjust="adjust", se="se", seed="seed")
    if args.time:
        return obs.weighted_cox(weights, args.time, args.event, **inference), bal
    if not args.outcome:
        return weights, bal
    if args.outcome_covariates:
        return obs.weighted_regression(weights, args.outcome, " + ".join(args.outcome_covariates), **inference), bal
    return obs.weighted_means(weights, args.outcome, **inference, **_given(args, reference="reference")), bal


def _run(args: argparse.Namespace) -> int:
    from .cli import _provenance
    from .cli_analyses import command_outputs, emit, emit_to, output_format, write_figure

    paths = {"out": args.out, "balance": args.balance, "love_plot": args.love_plot}
    with command_outputs(args, paths, figures=("love_plot",)):  # every output checked before anything is computed
        data = _frame(args)
        if args.arms:
            data = _only_arms(data, args.arms, args.treatment)
        result, bal = compute(args, data)
        figure = None
        if args.love_plot is not None:
            if bal is None:
                from .errors import DataError
                raise DataError("--method unadjusted has no balance to plot", kind="option")
            from .plot.balance import love_plot
            figure = love_plot(bal)
        provenance = _provenance(args) if any(p is not None for p in paths.values()) else None
        emit(result, args, provenance if args.out is not None else None)
        if args.out is None and output_format(args) == "text" and bal is not None and args.method != "match":
            print(bal.summary())  # on screen the balance follows the comparison (matching shows it already)
        if args.balance is not None:
            emit_to(bal, args.balance, provenance)
        if figure is not None:
            write_figure(figure, args.love_plot)
    return 0
