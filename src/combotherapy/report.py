"""One self-contained HTML report of a trial: tables, figures (inline SVG) and a methods note.

The report calls the library only (no statistics here) and is written in one atomic step. It is viewable
offline: no scripts, style sheets, fonts or images are fetched (the figures are inline SVG with glyphs drawn as
paths). It carries no date, so the same data and library versions give the same bytes. A section that cannot
be computed for the data (an outcome or arm the trial lacks) says why in a sentence instead of stopping the
report.
"""

from __future__ import annotations

import hashlib
import html
import importlib.metadata
import os
import platform
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataError, ModelError
from .files import write_text
from .report_sections import estimand_html, has_baseline, methods_html, post_baseline_visits, sensitivity_html
from .report_tables import result_html
from .results import design_lines
from .trial import Trial

__all__ = ["write_report", "build_report", "Report", "describe_trial"]

#: IMMPACT responder thresholds (fractions of the baseline value): moderate and substantial improvement
RESPONDER_THRESHOLDS = (0.3, 0.5)
#: packages whose versions decide the numbers and the figure bytes
_VERSIONED = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib")
#: the time-to-event pair of the registry (follow-up time, event flag) that the survival section analyses
SURVIVAL_COLUMNS = ("recovery_time", "recovered")
#: the subject-level total of adverse events that the safety section analyses
SAFETY_COLUMN = "adverse_events"
#: subgroup variables of the subgroup section, when the trial has them (ct.subgroups' defaults)
SUBGROUP_VARIABLES = ("pain_duration", "age", "sex", "site")


@dataclass
class Report:
    """A rendered report.

    Attributes
    ----------
    html : str
        The whole document.
    skipped : list of (section, reason)
        Sections (or parts) that could not be computed for these data, and why.
    path : Path or None
        Where it was written (``None`` until written).
    """

    html: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    path: Path | None = None


# --- text -------------------------------------------------------------------------------------------------------

def describe_trial(trial: Trial) -> list[str]:
    """What a trial holds, as sentences: subjects per arm, visits, outcomes, covariates, the loader's notes.

    Counts only; no value of any column is shown.
    """
    subjects = trial.subjects
    per_arm = subjects["arm"].astype(str).value_counts().reindex(trial.arms, fill_value=0)
    lines = [f"Subjects: {trial.n_subjects} ({', '.join(f'{a} {n}' for a, n in per_arm.items())})",
             f"Visits (weeks): {', '.join(f'{v:g}' for v in trial.visits)}"]
    lines[:0] = design_lines({"design": getattr(trial, "design", "randomised")})  # observational data say so first
    if trial.visit_outcomes:
        seen = trial.data[trial.visit_outcomes].notna().any(axis=1).groupby(trial.data["visit"]).sum()
        lines.append("Subjects with any outcome recorded, by visit: "
                     + ", ".join(f"week {v:g} {int(n)}" for v, n in seen.items()))
    for level, title in (("visit", "Outcomes measured at visits"), ("subject", "Outcomes measured once per subject")):
        names = [o for o in trial.outcomes if trial.instruments[o].level == level]
        if not names:
            continue
        lines.append(f"{title}:")
        for o in names:
            inst = trial.instruments[o]
            n_obs = int(trial.data[o].notna().sum()) if level == "visit" else int(subjects[o].notna().sum())
            what = "values" if level == "visit" else "subjects with a value"
            units = f", {inst.units}" if inst.units else ""
            lines.append(f"  {o}: {inst.label or o}{units}; range {inst.range_text()}; {inst.better} is better; "
                         f"{n_obs} {what}")
    if not trial.outcomes:
        lines.append("Outcomes: none recognised. Columns that are not registry instruments must be declared, "
                     'e.g. in a --mapping file: {"outcomes": {"headache": {"low": 0, "better": "lower"}}}.')
    if trial.covariates:
        lines.append(f"Other columns (covariates): {', '.join(trial.covariates)}")
    lines += [f"Note: {n}" for n in trial.notes]
    return lines


def _versions() -> str:
    found = []
    for name in _VERSIONED:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed as a distribution)")
    return f"Python {platform.python_version()}; " + ", ".join(found)


def _e(text: object) -> str:
    return html.escape(str(text))


def _lines(text: str) -> str:
    """Escaped text keeping its line breaks (a DataError lists one problem a line)."""
    return "<br>\n".join(_e(line) for line in text.splitlines())


def _p(text: str) -> str:
    return f"<p>{_e(text)}</p>\n"


def _html_list(lines: Sequence[str]) -> str:
    """Lines as a list; lines indented by two spaces become a sub-list of the line before."""
    out = ["<ul>"]
    nested = False
    for line in lines:
        sub = line.startswith("  ")
        if sub and not nested:
            out[-1] = out[-1].removesuffix("</li>")
            out.append("<ul>")
        elif not sub and nested:
            out.append("</ul></li>")
        nested = sub
        out.append(f"<li>{_e(line.strip())}</li>")
    if nested:
        out.append("</ul></li>")
    return "\n".join(out + ["</ul>"]) + "\n"


# --- figures ----------------------------------------------------------------------------------------------------

# a table cell holding a sentence (a claim, a reason): squeezed into a narrow column it made rows 15 lines tall
_LONG_CELL = re.compile(r"<td>([^<]{40,})</td>")
_XML_HEAD = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_NAMESPACES = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_IDS = re.compile(r'(\bid="|\bhref="#|url\(#)')


def _svg(fig, key: str) -> str:
    """A figure as inline SVG: the plot module's deterministic bytes, without the XML prologue, the metadata
    block and the namespace declarations (HTML5 needs none), with element ids prefixed by ``key`` so that the
    ids of several figures in one page never collide."""
    from .plot import figure_bytes

    text = figure_bytes(fig, "svg").decode("utf-8")
    text = _XML_HEAD.sub("", text, count=1)
    text = _METADATA.sub("", text, count=1)
    head, rest = text.split(">", 1)
    head = _NAMESPACES.sub("", head)
    text = _IDS.sub(lambda m: m.group(1) + key + "-", head + ">" + rest)
    return text.replace("<svg ", f'<svg role="img" aria-labelledby="{key}-caption" ', 1)


def _figure(fig, key: str, caption: str) -> str:
    return (f'<figure id="{key}">\n{_svg(fig, key)}\n<figcaption id="{key}-caption">{_e(caption)}</figcaption>'
            "\n</figure>\n")


def _plot_function(name: str) -> Callable | None:
    """``ct.plot.<name>`` when the plot module provides it (some figures are added over time)."""
    from . import plot

    fn = getattr(plot, name, None)
    if fn is not None and not callable(fn):  # a submodule of the same name: take its function
        fn = getattr(fn, name, None)
    return fn if callable(fn) else None


# --- sections ---------------------------------------------------------------------------------------------------

class _Builder:
    """Collects the sections; a section that fails says why and the report goes on."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self.skipped: list[tuple[str, str]] = []

    def section(self, key: str, title: str, render: Callable[[], str]) -> None:
        self.toc.append((key, title))
        self.parts.append(f'<section id="{key}">\n<h2>{_e(title)}</h2>\n')
        self.parts.append(_LONG_CELL.sub(r'<td class="long">\1</td>', self.attempt(title, render)))
        self.parts.append("</section>\n")

    def attempt(self, what: str, render: Callable[[], str]) -> str:
        try:
            return render()
        except (DataError, ModelError) as e:
            reason = str(e)
            self.skipped.append((what, reason))
            return f'<p class="skipped">Not computed for these data: {_lines(reason)}</p>\n'
        except ImportError as e:
            reason = f"this part of combotherapy is not available in this installation ({e})"
            self.skipped.append((what, reason))
            return f'<p class="skipped">Not computed: {_e(reason)}.</p>\n'
        except Exception as e:  # a bug must not cost the user the rest of the report; it is reported loudly
            reason = f"internal error ({type(e).__name__}: {e}); this is a bug in combotherapy, please report it"
            self.skipped.append((what, reason))
            return f'<p class="skipped">Not computed because of an {_e(reason)}.</p>\n'


def _table_one(trial: Trial) -> str:
    from .table_one import table_one

    return table_one(trial).to_html()


def _consort(trial: Trial, outcome: str, visit: float) -> str:
    from .export import to_html
    from .plot import consort, consort_counts

    use_outcome = outcome if outcome in trial.visit_outcomes else None
    use_visit = visit if visit in trial.visits else None
    counts = consort_counts(trial, use_outcome, use_visit)
    defined = (f"assessed = {outcome} recorded" if use_outcome else "assessed = any visit-level outcome recorded")
    primary = counts.primary_visit
    caption = (f"CONSORT flow diagram from the data ({defined}; analysed = assessed at week {primary:g}). "
               "Eligibility screening is not in the data: the flow starts at randomisation.")
    table = to_html(counts.arms.reset_index(), caption=f"Flow of subjects by arm (primary visit week {primary:g})")
    return _figure(consort(trial, use_outcome, use_visit), "fig-consort", caption) + table


def _primary(trial: Trial, outcome: str, visit: float, covariates: Sequence[str], b: _Builder) -> str:
    from .analysis import primary

    inst = trial.instrument(outcome)
    if inst.level == "visit" and not trial.data.loc[trial.data["visit"] == 0, outcome].notna().any():
        # the library's message lists every subject without a baseline and suggests a Python argument
        raise DataError(f"the trial has no baseline (week 0) value of {outcome}, and the ANCOVA at week {visit:g} "
                        "adjusts for it. The repeated-measures section analyses these data without baseline "
                        "adjustment.")
    result = primary(trial, outcome, visit, "ancova", covariates=covariates)
    out = [result_html(result, estimand=False),
           _p("What this analysis estimates (population, intercurrent events and their strategy): the Estimand "
              "section above.")]
    forest = _plot_function("forest")
    if forest is not None:
        out.append(b.attempt("Forest plot of the primary contrasts", lambda: _figure(
            forest(result.model_result), "fig-forest",
            f"Differences between arms in {trial.instruments[outcome].label or outcome} at week {visit:g} "
            "(ANCOVA, Holm/Bonferroni-adjusted intervals as in the table).")))
    return "\n".join(out)


def _mmrm(trial: Trial, outcome: str, covariates: Sequence[str], b: _Builder) -> str:
    from .models.mmrm import mmrm

    inst = trial.instrument(outcome)
    if inst.level != "visit":
        raise DataError(f"outcome '{outcome}' is measured once per subject; repeated measures need a visit-level "
                        "outcome")
    visits = post_baseline_visits(trial, outcome)
    if len(visits) < 2:
        raise DataError(f"'{outcome}' has {len(visits)} post-baseline visit(s) with data "
                        f"({', '.join(f'week {v:g}' for v in visits) or 'none'}); a model over all visits needs at "
                        "least 2. The ANCOVA above is the analysis of these data.")
    with_baseline = has_baseline(trial, outcome)
    result = mmrm(trial, outcome, covariates=list(covariates), baseline=with_baseline)
    out = [] if with_baseline else [_p(f"The trial has no baseline (week 0) value of {outcome}: the model does not "
                                      "adjust for baseline.")]
    out.append(result_html(result))
    trajectory = _plot_function("trajectory")
    if trajectory is not None:
        out.append(b.attempt("Trajectory plot", lambda: _figure(
            trajectory(result, trial), "fig-trajectory",
            f"{inst.label or outcome}: LS means with 95% confidence intervals by visit and arm (MMRM); week 0 "
            "shows the observed baseline mean of the analysed subjects.")))
    return "\n".join(out)


def _responders(trial: Trial, outcome: str, visit: float, b: _Builder) -> str:
    from .models.responders import responders
    from .plot import responder_curve, waterfall

    inst = trial.instrument(outcome)
    label = inst.label or outcome
    if inst.level != "visit" or inst.better != "lower" or inst.low != 0:
        raise DataError(f"the responder analysis counts subjects improving by at least 30% and 50% of their "
                        f"baseline (IMMPACT), which needs a visit-level scale where 0 is the best value and lower "
                        f"is better; {label} ranges {inst.range_text()} and {inst.better} is better")
    trial.check_visit(visit)
    out = []
    for threshold in RESPONDER_THRESHOLDS:  # a threshold that cannot be analysed says why; the other still shows
        out.append(b.attempt(f"Responders ({threshold:.0%})", lambda threshold=threshold: result_html(
            responders(trial, outcome, visit, threshold=threshold, relative=True))))
    pct = [round(100 * t) for t in RESPONDER_THRESHOLDS]
    # the same denominator as the tables above: every randomised subject, no value at the visit = non-responder
    out.append(b.attempt("Responder curve", lambda: _figure(
        responder_curve(trial, outcome, visit, thresholds=RESPONDER_THRESHOLDS, relative=True,
                        missing="nonresponder"), "fig-responders",
        f"Cumulative proportion of each arm improving by at least each percentage of baseline {label} at week "
        f"{visit:g}; every randomised subject counts, those without a value at that visit as non-responders (as in "
        f"the tables). Dashed lines mark {pct[0]}% and {pct[1]}%.")))
    out.append(b.attempt("Waterfall plot", lambda: _figure(
        waterfall(trial, outcome, visit), "fig-waterfall",
        f"Each subject's change in {label} from baseline to week {visit:g}, sorted, coloured by arm.")))
    return "\n".join(out)


def _claims(trial: Trial, b: _Builder) -> str:
    from . import claims as claims_module

    report = claims_module.claims_report(trial)
    out = [result_html(report)]
    draw = _plot_function("claims")
    if draw is not None:
        out.append(b.attempt("Claims figure", lambda: _figure(
            draw(report), "fig-claims", "Each claim's standardised effect with its interval and verdict.")))
    return "\n".join(out)


def _has_columns(trial: Trial, *columns: str) -> bool:
    return all(c in trial.data.columns for c in columns)


def _survival(trial: Trial, b: _Builder) -> str:
    from .models.survival import survival

    time, event = SURVIVAL_COLUMNS
    result = survival(trial, time, event)
    out = [result_html(result)]
    draw = _plot_function("survival")
    if draw is not None:
        inst = trial.instruments.get(event)
        what = (inst.label or event) if inst is not None else event
        out.append(b.attempt("Kaplan-Meier figure", lambda: _figure(
            draw(result), "fig-km",
            f"Kaplan-Meier curves by arm ({what.lower()}) with pointwise 95% confidence bands and the numbers "
            "at risk; the hazard ratios are those of the Cox model in the table.")))
    return "\n".join(out)


def _count_outcomes(trial: Trial) -> list[str]:
    return [o for o in trial.visit_outcomes if trial.instruments[o].kind == "count"]


def _counts(trial: Trial, visit: float, b: _Builder) -> str:
    from .models.counts import count_model

    out = []
    for outcome in _count_outcomes(trial):  # one model per count outcome; one failing does not cost the others
        out.append(b.attempt(f"Count model of {outcome}", lambda outcome=outcome: result_html(
            count_model(trial, outcome, visit))))
    return "\n".join(out)


def _safety(trial: Trial) -> str:
    from .models.safety import adverse_events

    return result_html(adverse_events(trial))


def _subgroup_variables(trial: Trial) -> list[str]:
    return [v for v in SUBGROUP_VARIABLES if v in trial.covariates]


def _subgroups(trial: Trial, outcome: str, visit: float, b: _Builder) -> str:
    from .models.subgroups import subgroups

    trial.check_visit(visit)
    pairs = "combination" if {"combined", "physio", "acupuncture"} <= set(trial.arms) else "all"
    result = subgroups(trial, outcome, visit, by=_subgroup_variables(trial), pairs=pairs)
    out = [result_html(result)]
    forest = _plot_function("forest")
    if forest is not None:
        out.append(b.attempt("Subgroup forest plot", lambda: _figure(
            forest(result), "fig-subgroups",
            f"Differences between arms in {trial.instruments[outcome].label or outcome} at week {visit:g} within "
            "each subgroup (exploratory; judge heterogeneity by the interaction test in the table).")))
    return "\n".join(out)


_CSS = """
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #bbb; padding-bottom: .2em; margin-top: 2em; }
table.combotherapy { border-collapse: collapse; margin: 1em 0; font-size: .85em; width: auto; max-width: 100%; }
/* every table fits the page: cells wrap (long words too) instead of the table scrolling or being cut in print */
table.combotherapy th, table.combotherapy td { overflow-wrap: anywhere; word-break: break-word; hyphens: auto; }
table.combotherapy caption { text-align: left; font-weight: bold; padding-bottom: .3em; caption-side: top; }
table.combotherapy th, table.combotherapy td { border-bottom: 1px solid #ddd; padding: .2em .6em;
       text-align: left; vertical-align: top; }
table.combotherapy td.long { min-width: 14em; }  /* sentences wrap in a readable column */
table.combotherapy thead th { border-bottom: 2px solid #555; }
figure { margin: 1.5em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { font-size: .9em; color: #333; }
.skipped { background: #fff4e0; border-left: 4px solid #e69f00; padding: .4em .8em; }
.meta { color: #444; font-size: .9em; }
nav ol { columns: 2; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 9pt; }
  table.combotherapy { font-size: 7.5pt; page-break-inside: auto; }
  table.combotherapy tr { page-break-inside: avoid; }
  table.combotherapy thead { display: table-header-group; }  /* headers repeat on every printed page */
  table.combotherapy td.long { min-width: 0; }
  nav { display: none; }
}
"""


def build_report(trial: Trial, *, outcome: str = "pain", visit: float = 12.0, covariates: Sequence[str] = (),
                 data_file: str | os.PathLike | None = None, title: str | None = None,
                 command: str | None = None) -> Report:
    """Render the report of ``trial`` as one HTML document (nothing is written).

    Parameters
    ----------
    trial : Trial
        From :func:`combotherapy.load`.
    outcome : str
        Primary outcome (visit-level).
    visit : float
        Primary visit, weeks.
    covariates : sequence of str
        Further adjustment covariates of the primary analysis and the MMRM.
    data_file : path, optional
        The file the trial was loaded from: its SHA-256 is printed so that a reader can tell which data made
        the report (only the file name is shown, never the folder).
    title : str, optional
        Heading; default ``"combotherapy report: <data name>"``.
    command : str, optional
        The command that made the report, printed in its provenance block (``combotherapy report`` passes its
        own arguments, file names without folders and without ``--out``); default: a Python call.

    Returns
    -------
    Report
        ``.html`` and ``.skipped`` (sections not computed, with the reason).

    Notes
    -----
    Provenance printed at the top: the package version (and those of numpy, pandas, scipy, statsmodels,
    matplotlib), the data file's name and SHA-256, the command, and the random seed (only the claims report's
    Monte Carlo mediation test draws random numbers, with seed 0). A section whose analysis raises
    :class:`ModelError` or :class:`DataError` shows that message in its place; the other sections go on.
    Survival, count, safety and subgroup sections appear when the trial has those columns.

    Raises
    ------
    DataError
        ``trial`` is not a Trial.

    Example
    -------
    >>> import combotherapy as ct
    >>> from combotherapy.report import build_report
    >>> rep = build_report(ct.simulate_trial(n_per_arm=20, seed=1))   # doctest: +SKIP
    >>> "<svg" in rep.html                                            # doctest: +SKIP
    True
    """
    from . import __version__

    if not isinstance(trial, Trial):
        raise DataError(f"expected a ct.Trial (from ct.load), got {type(trial).__name__}")
    visit = float(visit)
    covariates = list(covariates)
    b = _Builder()
    b.section("data", "Data", lambda: _html_list(describe_trial(trial)))
    b.section("table1", "Table 1: baseline characteristics", lambda: _table_one(trial))
    b.section("consort", "CONSORT flow diagram", lambda: _consort(trial, outcome, visit))
    visit_outcome = outcome in trial.visit_outcomes
    if visit_outcome:
        b.section("estimand", f"Estimand: {outcome} at week {visit:g}",
                  lambda: estimand_html(trial, outcome, visit, covariates))
    b.section("primary", f"Primary analysis: {outcome} at week {visit:g}",
              lambda: _primary(trial, outcome, visit, covariates, b))
    b.section("mmrm", f"Repeated measures: {outcome} over all visits", lambda: _mmrm(trial, outcome, covariates, b))
    if visit_outcome and len(post_baseline_visits(trial, outcome)) >= 2:
        b.section("sensitivity", f"Sensitivity to missing data: {outcome} at week {visit:g}",
                  lambda: sensitivity_html(trial, outcome, visit, covariates, b.attempt, _figure))
    b.section("responders", f"Responders: {outcome} at week {visit:g}", lambda: _responders(trial, outcome, visit, b))
    if _has_columns(trial, *SURVIVAL_COLUMNS):
        b.section("survival", "Time to recovery: Kaplan-Meier and hazard ratios", lambda: _survival(trial, b))
    if _count_outcomes(trial):
        b.section("counts", f"Count outcomes: rate ratios at week {visit:g}", lambda: _counts(trial, visit, b))
    if _has_columns(trial, SAFETY_COLUMN):
        b.section("safety", "Safety: adverse events", lambda: _safety(trial))
    if _subgroup_variables(trial) and outcome in trial.visit_outcomes:
        b.section("subgroups", f"Subgroups: {outcome} at week {visit:g} (exploratory)",
                  lambda: _subgroups(trial, outcome, visit, b))
    b.section("claims", "Claims report", lambda: _claims(trial, b))
    b.section("methods", "Methods", lambda: methods_html(outcome, visit, covariates,
                                                         getattr(trial, "design", "randomised")))

    name = trial.source
    heading = title or f"combotherapy report: {name}"
    meta = [f"Data: {name}", *design_lines({"design": getattr(trial, "design", "randomised")})]
    if data_file is not None:
        digest = hashlib.sha256(Path(data_file).read_bytes()).hexdigest()
        meta.append(f"Data file SHA-256: {digest}")
    from .claims import MEDIATION_SIMS
    from .report_sections import SENSITIVITY_IMPUTATIONS, SENSITIVITY_SEED

    meta += [f"Primary outcome: {outcome} at week {visit:g}"
             + (f"; adjusted for {', '.join(covariates)}" if covariates else ""),
             f"Command: {command}" if command else
             "Command: combotherapy.report.build_report(...) (called from Python)",
             f"Random seed: 0 (the claims report's Monte Carlo mediation test, {MEDIATION_SIMS} draws)"
             + (f"; {SENSITIVITY_SEED} (the sensitivity panel's {SENSITIVITY_IMPUTATIONS} imputations)"
                if any(k == "sensitivity" for k, _ in b.toc) else "") + "; no other number in this report uses "
             "random numbers",
             f"Made by combotherapy {__version__} ({_versions()}). No date is recorded, so the same data and "
             "versions give the same bytes."]
    nav = "".join(f'<li><a href="#{k}">{_e(t)}</a></li>' for k, t in b.toc)
    doc = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(heading)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           f"<header>\n<h1>{_e(heading)}</h1>",
           '<div class="meta">' + "<br>\n".join(_e(m) for m in meta) + "</div>\n</header>",
           f"<nav><h2>Contents</h2><ol>{nav}</ol></nav>", "<main>", *b.parts, "</main>", "</body>", "</html>"]
    return Report("\n".join(doc) + "\n", b.skipped)


def write_report(trial: Trial, path: str | os.PathLike, *, outcome: str = "pain", visit: float = 12.0,
                 covariates: Sequence[str] = (), data_file: str | os.PathLike | None = None,
                 title: str | None = None, command: str | None = None) -> Report:
    """Render the report (see :func:`build_report`) and write it atomically to ``path``.

    The whole document is rendered in memory first; the file appears only when it is complete, and an existing
    file is replaced only then (a failure leaves it untouched).

    Returns
    -------
    Report
        With ``.path`` set.

    Example
    -------
    >>> import combotherapy as ct
    >>> from combotherapy.report import write_report
    >>> write_report(ct.load("data/sample/three_arm.csv"), "report.html").path   # doctest: +SKIP
    PosixPath('report.html')
    """
    report = build_report(trial, outcome=outcome, visit=visit, covariates=covariates, data_file=data_file,
                          title=title, command=command)
    report.path = write_text(path, report.html)
    return report
