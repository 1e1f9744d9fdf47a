"""Sections of the HTML report about missing data (the estimand of the primary analyses, the sensitivity panel) and
the methods note.

Thin like :mod:`combotherapy.report`: no statistics here. The estimand comes from
:func:`combotherapy.estimand.for_analysis` (the one the primary result prints), the panel from
:func:`combotherapy.missing.sensitivity_panel` with a fixed seed and few imputations (the report stays quick and
byte-for-byte reproducible), the figure from :func:`combotherapy.plot.sensitivity`.

Example
-------
>>> import combotherapy as ct
>>> from combotherapy.report_sections import estimand_html
>>> "Intercurrent events" in estimand_html(ct.simulate_trial(n_per_arm=20, seed=1), "pain", 12)
True
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from .errors import DataError
from .report_tables import journal_html
from .trial import Trial

__all__ = ["SENSITIVITY_IMPUTATIONS", "SENSITIVITY_SEED", "estimand_html", "sensitivity_html", "reference_arms",
           "post_baseline_visits", "has_baseline", "methods_html"]

#: imputations and seed of the report's sensitivity panel (approximate Bayesian MI): few, so the report stays quick;
#: the notebook (08) uses more
SENSITIVITY_IMPUTATIONS = 20
SENSITIVITY_SEED = 2024


def _e(text: object) -> str:
    return html.escape(str(text))


def post_baseline_visits(trial: Trial, outcome: str) -> list[float]:
    """Post-baseline visits at which ``outcome`` has a value."""
    data = trial.data
    seen = data.loc[data[outcome].notna() & (data["visit"] > 0), "visit"]
    return sorted(float(v) for v in seen.unique())


def has_baseline(trial: Trial, outcome: str) -> bool:
    data = trial.data
    return bool(data.loc[data["visit"] == 0, outcome].notna().any())


def reference_arms(trial: Trial) -> dict[str, str] | None:
    """The imputation reference of each arm for J2R, CR and CIR: the control arm when the trial has one (the
    package's default, ``None``); otherwise a combined-arm dropout follows the first monotherapy (physio, else
    acupuncture) and the other arms are their own reference, as in notebook 08."""
    arms = [str(a) for a in trial.arms]
    if "control" in arms:
        return None
    mono = [a for a in ("physio", "acupuncture") if a in arms]
    if "combined" not in arms or not mono:
        raise DataError(f"the reference-based scenarios need an imputation reference arm: a 'control' arm, or a "
                        f"'combined' arm and a monotherapy; this trial's arms are {', '.join(arms)}. Run "
                        "ct.missing.sensitivity_panel(..., reference_arms=...) naming the reference of each arm")
    return {a: (mono[0] if a == "combined" else a) for a in arms}


def _estimand_frame(estimands: dict) -> pd.DataFrame:
    """attribute x analysis table of several estimands (each column one analysis)."""
    rows = ["Population", "Treatment", "Variable", "Intercurrent events", "Population-level summary"]
    out = pd.DataFrame({"Attribute": rows})
    for name, e in estimands.items():  # two analyses at most
        events = "; ".join(f"{r.event} ({r.subjects} subjects): {r.strategy} - {r.description}"
                           for r in e.events.itertuples(index=False)) or "none"
        out[name] = [e.population, e.treatment, e.variable, events, e.summary]
    return out


def estimand_html(trial: Trial, outcome: str, visit: float, covariates: Sequence[str] = ()) -> str:
    """The estimand of the primary ANCOVA (and of the repeated-measures MMRM when the outcome has two or more
    post-baseline visits): one journal table, one column per analysis, with how the events were obtained."""
    from .estimand import for_analysis

    if outcome not in trial.visit_outcomes:
        raise DataError(f"outcome '{outcome}' is not a visit-level outcome of this trial")
    estimands = {f"Primary (ANCOVA, week {visit:g})": for_analysis(trial, outcome, "ancova", visit=visit,
                                                                   covariates=list(covariates))}
    if len(post_baseline_visits(trial, outcome)) >= 2:
        estimands["Repeated measures (MMRM)"] = for_analysis(
            trial, outcome, "mmrm", visit=visit, covariates=list(covariates), baseline=has_baseline(trial, outcome))
    notes = list(dict.fromkeys(n for e in estimands.values() for n in e.notes))
    out = [journal_html(_estimand_frame(estimands), caption="Estimand (ICH E9(R1))")]
    out += [f"<p>{_e(n[0].upper() + n[1:])}.</p>" for n in notes]
    out.append("<p>Both analyses take the hypothetical strategy for dropout: the effect had nobody dropped out, "
               "assuming that dropping out depends only on what was observed. The next section asks what the "
               "answer would be under other assumptions.</p>")
    return "\n".join(out) + "\n"


def _yes_no(flags: pd.Series) -> pd.Series:
    return flags.map(lambda v: "yes" if bool(v) else "no")


def sensitivity_html(trial: Trial, outcome: str, visit: float, covariates: Sequence[str],
                     attempt: Callable[[str, Callable[[], str]], str], figure: Callable[..., str]) -> str:
    """The sensitivity panel (complete cases, MMRM, MI under MAR, J2R, CR, CIR, tipping point): the combination
    verdict under each assumption, the claimed contrasts, and the forest figure.

    ``attempt(what, render)`` and ``figure(fig, key, caption)`` are the report's (a failing figure says why)."""
    from .missing import sensitivity_panel
    from .plot import sensitivity

    if not has_baseline(trial, outcome):
        raise DataError(f"the trial has no baseline (week 0) value of {outcome}; the panel's analyses adjust for it")
    visits = post_baseline_visits(trial, outcome)
    if len(visits) < 2:
        raise DataError(f"'{outcome}' has {len(visits)} post-baseline visit(s) with data; the imputation model (an "
                        "MMRM) needs at least 2")
    refs = reference_arms(trial)
    panel: Any = sensitivity_panel(trial, outcome, visit=visit, reference_arms=refs, covariates=list(covariates),
                              m=SENSITIVITY_IMPUTATIONS, seed=SENSITIVITY_SEED)
    ref_text = ", ".join(f"{a} -> {r}" for a, r in panel.results["MI J2R"].run.imp.references.items())
    out = [f"<p>The claims (combined better than each monotherapy at week {visit:g}) under each assumption about "
           f"the missing values. Multiple imputation: approximate Bayesian, {SENSITIVITY_IMPUTATIONS} imputations "
           f"with seed {SENSITIVITY_SEED} (the same numbers on every run), ANCOVA at the visit, Rubin's rules. "
           f"Imputation reference of each arm for J2R, CR and CIR: {_e(ref_text)}.</p>"]
    verdict = panel.verdict.rename(columns={"analysis": "Analysis", "assumption": "Assumption about the missing values",
                                            "combination": "Combination verdict"})
    out.append(journal_html(verdict, caption="Combination verdict under each assumption"))
    tab = panel.panel[["analysis", "contrast", "estimate", "se", "p", "ci_low", "ci_high"]].rename(
        columns={"analysis": "Analysis"})
    tab["Claim holds"] = _yes_no(panel.panel["claim"])
    out.append(journal_html(tab, caption=f"Claimed contrasts at week {visit:g} (unadjusted: each claim is one test "
                                         "of the intersection-union rule)", alpha=panel.fitted.alpha))
    out.append(attempt("Sensitivity forest plot", lambda: figure(
        sensitivity(panel), "fig-sensitivity",
        f"Claimed contrasts in {trial.instrument(outcome).label or outcome} at week {visit:g} (estimate and 95% CI) "
        "under complete cases, MMRM and multiple imputation under MAR, J2R, CR and CIR.")))
    return "\n".join(out) + "\n"


def methods_html(outcome: str, visit: float, covariates: Sequence[str], design: str = "randomised") -> str:
    """The report's methods note: one item per section (``design``: the trial's ``"randomised"`` or
    ``"observational"``, which decides what Table 1 and the comparisons can claim)."""
    adj = f" and {', '.join(covariates)}" if covariates else ""
    items = [
        f"Primary analysis: analysis of covariance (ANCOVA) of {outcome} at week {visit:g} on arm and the baseline "
        f"value{adj}, fitted by ordinary least squares to the subjects with a value at that visit; LS means at "
        "the mean baseline; all pairwise contrasts with Holm-adjusted p-values and Bonferroni-adjusted intervals "
        "(as R's emmeans).",
        "Combination rule (when the trial has the combined arm and both monotherapies): one-sided tests of combined "
        "- physio and combined - acupuncture in the instrument's good direction; the combination is better than "
        "each monotherapy only if both reject (intersection-union min test, Laska and Meisner 1989), so no "
        "multiplicity adjustment is applied. With a usual-care arm as well, the 2 x 2 factorial interaction "
        "(combined - physio) - (acupuncture - control) tells whether the effects add up.",
        "Repeated measures (at least two post-baseline visits): mixed model for repeated measures with arm, visit, "
        "arm-by-visit, baseline and baseline-by-visit, an unstructured within-subject covariance, REML and "
        "Satterthwaite degrees of freedom; valid when dropout is missing at random.",
        "Responders: subjects improving by at least 30% and 50% of baseline (IMMPACT); subjects without a value at "
        "the visit count as non-responders; risk differences with Newcombe's hybrid score interval.",
        "Claims report: each claim of the package's claims table tested on its own outcome and model; Holm across "
        "the testable claims; a claim is supported when its Holm-adjusted test is significant with the estimate in "
        "the claimed direction, otherwise not supported (the same rule as the combination test); the minimal "
        "important difference is reported beside it, and a supported claim whose estimate is below it says so; "
        "inconclusive when the model could not be fitted (the reason is given).",
        "Time to recovery (when the trial records it): Kaplan-Meier curves, log-rank test, Cox hazard ratios (Efron "
        "ties) with the proportional-hazards check, and restricted mean survival time.",
        "Count outcomes (when the trial has them): negative binomial rate ratios at the primary visit, adjusted for "
        "the baseline count. Adverse events: subjects with at least one event and event rates per arm, with "
        "Newcombe and exact Poisson intervals.",
        "Estimand (ICH E9(R1)): population, treatment, variable, intercurrent events and the population-level "
        "summary of the primary analyses; without recorded intercurrent events, a subject whose values stop before "
        "the last visit has a dropout event at the first missing visit, handled by the hypothetical strategy "
        "(complete cases in the ANCOVA, missing at random in the MMRM).",
        "Sensitivity to missing data (at least two post-baseline visits): the claims under complete cases, the "
        "MMRM, and approximate Bayesian multiple imputation (an MMRM imputation model, ANCOVA at the visit, Rubin's "
        "rules with Barnard-Rubin degrees of freedom) under MAR, jump to reference, copy reference and copy "
        "increments in reference (Carpenter, Roger and Kenward 2013), and the tipping point: the shift of the "
        "combined arm's imputed values that removes each claim.",
        "Subgroups (exploratory): the primary ANCOVA with an arm-by-subgroup interaction, one model per variable.",
        ("Table 1 describes the randomised subjects at baseline; no tests of baseline balance." if design != "observational"
         else "Table 1 describes the subjects at baseline by treatment received. The data are observational: nobody "
         "was randomised, so the arms may differ in measured and unmeasured confounders, and the comparisons above "
         "are associations unless confounding is addressed (propensity weighting or matching; E-values)."),
        "Figures are drawn from the results shown (never refitted) with one colour per arm (Okabe-Ito) and embedded "
        "as SVG; the report fetches nothing and carries no date, so the same data and versions give the same bytes.",
    ]
    return "<ul>\n" + "".join(f"<li>{_e(i)}</li>\n" for i in items) + "</ul>\n"
