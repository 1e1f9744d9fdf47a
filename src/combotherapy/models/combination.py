"""Is the combination better than each monotherapy, and is it more than the sum of its parts?

:func:`combination_test` is the regulators' combination rule (intersection-union / min test of Laska and
Meisner); :func:`synergy` is the 2 x 2 factorial analysis (needs a usual-care control arm).

Both are consumers of the inference interface only: they take any fitted result that has an ``inference``
(``ct.ancova``, ``ct.mmrm``, or a model added later) or a model name from :data:`combotherapy.models.catalog.FITS`,
and ask it ``result.test({arm: weight}, label, visit=..., alpha=..., side=...)`` — so the alpha and side asked
here are the ones the intervals are computed at, whatever the fit was called with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..arguments import DEFAULTS, check_alpha
from ..errors import ArgumentError, DataError
from ..results import Fitted, Result, records_design
from ..trial import Trial
from ..verdict import NOT_SUPPORTED, SUPPORTED, decide, mid_phrase
from .catalog import fit_model

__all__ = ["combination_test", "synergy", "CombinationResult", "SynergyResult"]

MONOTHERAPIES = ("physio", "acupuncture")


def _source(trial: Trial, outcome: str, visit: float, model: str | Result, needed: tuple[str, ...], purpose: str,
            options: dict) -> Result:
    """The fitted result the contrasts come from: fitted here from a model name, or the caller's own fit."""
    clash = [k for k in ("adjust", "reference", "alpha") if k in options]
    if clash:
        raise ArgumentError(f"{purpose} sets {', '.join(clash)} itself (its contrasts are fixed and need no "
                            "multiplicity adjustment); remove that argument", argument=clash[0], kind="conflict")
    lazy = type(trial).__name__ == "LazyTrial"   # out-of-core: ancova and mmrm fit it from sufficient statistics
    if not isinstance(trial, Trial) and not lazy:
        raise DataError(f"expected a ct.Trial (from ct.load), got {type(trial).__name__}")
    # distinct arms, not a text copy of every row
    present = set(trial.arms) if lazy else {str(a) for a in trial.data["arm"].unique()}
    missing = [a for a in needed if a not in present]
    if missing:
        raise DataError(f"{purpose} needs the arms {list(needed)}; this trial has no {', '.join(missing)} arm "
                        f"(its arms are {trial.arms}). Name the arms with ct.load(..., arms={{...}}) if they are "
                        "labelled differently.", kind="missing arm", arm=missing[0])
    if isinstance(model, str):
        return fit_model(model, trial, outcome, visit, **options)
    if options:
        raise ArgumentError(f"model= is an already fitted result; options {sorted(options)} cannot change it",
                            argument="model", kind="conflict")
    if not isinstance(model, Result) or model.inference is None:
        raise ArgumentError(f"model must be a model name or a fitted result with an inference interface (e.g. "
                            f"ct.ancova, ct.mmrm), not {type(model).__name__}", argument="model", kind="unknown")
    if model.fitted.outcome != outcome:
        raise DataError(f"the fitted result is for '{model.fitted.outcome}', not '{outcome}'", kind="other outcome",
                        column=outcome)
    if model.fitted.visit is not None and float(model.fitted.visit) != float(visit):
        raise DataError(f"the fitted result is at week {model.fitted.visit:g}, not week {float(visit):g}",
                        kind="other visit")
    return model


def _at_visit(res: Result, visit: float) -> float | None:
    """The visit to pass to ``test``: only when the result's grid has visits."""
    return float(visit) if "visit" in res.inference.grid.frame.columns else None


def _record(res: Result, trial: Trial, outcome: str) -> tuple[Fitted, object]:
    inst = res.instrument if res.instrument is not None else trial.instrument(outcome)
    return res.fitted, inst


# --- the combination rule -------------------------------------------------------------------------
class CombinationResult(Result):
    """Result of :func:`combination_test`.

    Attributes
    ----------
    contrasts : DataFrame
        The two one-sided contrasts ``combined - physio`` and ``combined - acupuncture`` (one-sided p and
        one-sided (1 - alpha) interval in the instrument's good direction; ``p_adj`` = ``p``: an
        intersection-union test needs no multiplicity adjustment).
    statistic : float
        The min test statistic: the smaller of the two t statistics, signed so that positive favours the
        combination.
    p : float
        The intersection-union p-value: the larger of the two one-sided p-values.
    superior : bool
        ``p <= alpha``.
    verdict : str
    """

    tables = ("contrasts",)

    def __init__(self, title: str, fitted: Fitted, *, contrasts: pd.DataFrame, statistic: float, p: float,
                 alpha: float, verdict: str):
        super().__init__(title, fitted, contrasts=contrasts)
        self.statistic, self.p, self.alpha = float(statistic), float(p), alpha
        self.superior = bool(p < alpha)  # the one rule (combotherapy.verdict.decide): p < alpha
        self.verdict = verdict

    def headline(self) -> list[str]:
        return [f"Min statistic {self.statistic:.3f}; intersection-union p = {self.p:.4g}", self.verdict]


@records_design
def combination_test(trial: Trial, outcome: str, visit: float, *, model: str | Result = "ancova",
                     alpha: float = DEFAULTS["one_sided_alpha"], mid: float | None = None,
                     **options) -> CombinationResult:
    """The combination rule: is the combined arm better than **each** monotherapy?

    Parameters
    ----------
    trial : Trial
        Must have the arms ``combined``, ``physio`` and ``acupuncture``.
    outcome : str
    visit : float
        Follow-up visit (weeks).
    model : str or fitted result
        A model name of :data:`combotherapy.models.catalog.FITS` (``"ancova"``: ANCOVA at the visit; ``"mmrm"``:
        the MMRM's contrasts at the visit), or any fitted result with an ``inference`` for the same outcome (used
        as it is; its contrasts are recomputed at this ``alpha``).
    alpha : float
        One-sided significance level of each component test (and of the IUT). Default 0.025, the one-sided
        level of a superiority claim (ICH E9): the same decision as a two-sided 95% interval, whose matching end
        is the one-sided 97.5% interval reported.
    mid : float, optional
        The minimal important difference (a ratio for ratio measures): reported beside the verdict, which is
        decided by :func:`combotherapy.verdict.decide` — the one rule the claims report uses too.
    **options
        Passed to the model (``covariates=``, ``missing_baseline=``, ``scale=`` for ANCOVA; ``covariance=``,
        ``df=`` ... for MMRM).

    Returns
    -------
    CombinationResult
        ``.contrasts``, ``.statistic`` (min t), ``.p`` (max one-sided p), ``.superior``, ``.verdict``, and
        ``.decision`` (``"supported"``, ``"supported, below the minimal important difference of ..."`` or
        ``"not supported"``: the claims report's verdict for the same outcome and settings).

    Notes
    -----
    With delta_P = mu_combined - mu_physio and delta_A = mu_combined - mu_acupuncture, written in the instrument's
    good direction (sign s = +1 when higher is better, -1 when lower is better), the hypotheses are::

        H0: s*delta_P <= 0  or  s*delta_A <= 0      versus      H1: s*delta_P > 0  and  s*delta_A > 0

    H0 is a union, so it is rejected at level alpha only when both one-sided tests reject at level alpha
    (intersection-union principle): the p-value is max(p_P, p_A) and the test statistic min(s*t_P, s*t_A) (the
    min test of Laska & Meisner). No multiplicity adjustment is needed, and none is applied.

    References
    ----------
    Laska EM, Meisner MJ. Testing whether an identified treatment is best. Biometrics 1989;45:1139-51.
    Berger RL. Multiparameter hypothesis testing and acceptance sampling. Technometrics 1982;24:295-300.
    FDA. Codevelopment of two or more new investigational drugs for use in combination (2013); 21 CFR 300.50.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)
    >>> res = ct.combination_test(trial, "pain", 12, covariates=["age", "site"])
    >>> res.contrasts["contrast"].tolist()
    ['combined - physio', 'combined - acupuncture']
    >>> bool(res.p == res.contrasts["p"].max())     # the IUT p-value is the larger one-sided p
    True
    >>> res.verdict.startswith("The combination is better than each monotherapy")
    True
    """
    alpha = check_alpha(alpha)
    res = _source(trial, outcome, visit, model, ("combined",) + MONOTHERAPIES, "The combination test", options)
    fitted, inst = _record(res, trial, outcome)
    side = "greater" if inst.better == "higher" else "less"
    table = res.test([{"combined": 1.0, mono: -1.0} for mono in MONOTHERAPIES],
                     [f"combined - {mono}" for mono in MONOTHERAPIES], visit=_at_visit(res, visit), adjust="none",
                     alpha=alpha, side=side)
    table.insert(0, "second", list(MONOTHERAPIES))
    table.insert(0, "first", "combined")
    table["p_adj"] = table["p"]
    good = inst.sign * table["statistic"].to_numpy()
    stat, p = float(good.min()), float(table["p"].max())
    label = inst.label or outcome
    v = float(visit)
    ratio = "log_estimate" in table.columns
    effect = float((inst.sign * table["log_estimate" if ratio else "estimate"]).min())
    decision = decide(p, alpha, effect=effect, mid=mid, mid_units=inst.units, ratio=ratio)
    if decision != NOT_SUPPORTED:
        verdict = (f"The combination is better than each monotherapy on {label} at week {v:g} "
                   f"(intersection-union p = {p:.3g} < {alpha:g}; {inst.better} is better)."
                   + (f" The smaller difference is below the minimal important difference of "
                      f"{mid_phrase(mid, inst.units, ratio=ratio)}." if decision != SUPPORTED else ""))
    else:
        weak = [m for m, pm in zip(MONOTHERAPIES, table["p"]) if pm > alpha]
        verdict = (f"The combination is not shown to be better than both monotherapies on {label} at week {v:g} "
                   f"(intersection-union p = {p:.3g} > {alpha:g}); not shown better than {' or '.join(weak)}.")
    notes = [n for n in fitted.notes if not n.startswith(("Multivariate-t", "LS means", "Holm"))]
    notes += [f"One-sided tests in the good direction ({inst.better} {label} is better) at level {alpha:g}; "
              "the combination is claimed superior only if both reject (intersection-union test), so no "
              "multiplicity adjustment is applied and p_adj equals p.",
              f"Intervals are one-sided {100 * (1 - alpha):g}% intervals, consistent with the tests: an interval "
              "excludes no difference exactly when its test rejects"
              + (" (with alpha = 0.025, the matching end of the two-sided 95% interval; ICH E9)." if alpha == 0.025
                 else ".")]
    record = Fitted(model=f"{fitted.model}; intersection-union min test", formula=fitted.formula, outcome=outcome,
                    visit=v, covariance=fitted.covariance, df_method=fitted.df_method, adjust="none (IUT)",
                    alpha=alpha, n_per_arm=fitted.n_per_arm, excluded=fitted.excluded, notes=notes,
                    extra={"model": model if isinstance(model, str) else type(model).__name__, "side": side})
    out = CombinationResult(f"Combination rule: {label} at week {v:g}", record, contrasts=table, statistic=stat,
                            p=p, alpha=alpha, verdict=verdict)
    out.instrument, out.better, out.side, out.decision = inst, inst.better, side, decision
    return out


# --- synergy --------------------------------------------------------------------------------------
class SynergyResult(Result):
    """Result of :func:`synergy`.

    Attributes
    ----------
    effects : DataFrame
        Rows ``physio``, ``acupuncture`` (main effects) and ``interaction``: ``effect, estimate, se, df,
        statistic, p, ci_low, ci_high``.
    interaction : Series
        The interaction row.
    verdict : {"super-additive", "additive", "sub-additive"}
    explanation : str
    """

    tables = ("effects",)

    def __init__(self, title: str, fitted: Fitted, *, effects: pd.DataFrame, verdict: str, explanation: str):
        super().__init__(title, fitted, effects=effects)
        self.interaction = effects.set_index("effect").loc["interaction"]
        self.verdict = verdict
        self.explanation = explanation

    def headline(self) -> list[str]:
        return [f"Verdict: {self.verdict}. {self.explanation}"]


_FACTORIAL = {
    "physio": {"physio": 0.5, "combined": 0.5, "control": -0.5, "acupuncture": -0.5},
    "acupuncture": {"acupuncture": 0.5, "combined": 0.5, "control": -0.5, "physio": -0.5},
    "interaction": {"combined": 1.0, "physio": -1.0, "acupuncture": -1.0, "control": 1.0},
}


@records_design
def synergy(trial: Trial, outcome: str, visit: float, *, alpha: float = DEFAULTS["alpha"],
            model: str | Result = "ancova", **options) -> SynergyResult:
    """2 x 2 factorial analysis: main effects of physiotherapy and acupuncture and their interaction.

    Parameters
    ----------
    trial : Trial
        Must have the four arms ``control`` (usual care), ``physio``, ``acupuncture`` and ``combined``.
    outcome : str
    visit : float
        Follow-up visit (weeks).
    alpha : float
        1 - confidence level of the two-sided intervals.
    model : str or fitted result
        ``"ancova"`` (default: value at the visit on arm + baseline), another name of
        :data:`combotherapy.models.catalog.FITS`, or any fitted result with an ``inference`` for the same trial and
        outcome (its contrasts are recomputed at this ``alpha``).
    **options
        Passed to the model (e.g. ``covariates=``, ``missing_baseline=``).

    Returns
    -------
    SynergyResult
        ``.effects`` (physio, acupuncture, interaction), ``.verdict``, ``.explanation``.

    Notes
    -----
    The four arms are the cells of a 2 x 2 factorial (physiotherapy no/yes x acupuncture no/yes). With the
    ANCOVA model ``y = mu_arm + beta * baseline + e`` (equivalently ``y ~ P * A + baseline``):

    - main effect of physiotherapy = ((physio - control) + (combined - acupuncture)) / 2: the effect of adding
      physiotherapy, averaged over the two levels of acupuncture (with and without), as a factorial analysis
      defines it; likewise for acupuncture;
    - interaction = (combined - physio) - (acupuncture - control): how much more (or less) acupuncture adds
      on top of physiotherapy than on its own; 0 means the effects add up.

    The verdict is decided by the (1 - alpha) confidence interval of the interaction, in the instrument's good
    direction: entirely on the beneficial side -> super-additive, entirely on the harmful side -> sub-additive,
    including 0 -> additive (the data are consistent with additivity; the interval says how large a departure
    cannot be ruled out). Main effects are interpretable as average effects only; under a non-zero interaction
    the effect of each therapy depends on the other.

    References
    ----------
    Montgomery AA, Peters TJ, Little P. Design, analysis and presentation of factorial randomised controlled
    trials. BMC Med Res Methodol 2003;3:26. McAlister FA et al. Analysis and reporting of factorial trials.
    JAMA 2003;289:2545-53.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(arms=("control", "physio", "acupuncture", "combined"), n_per_arm=60, seed=1)
    >>> res = ct.synergy(trial, "pain", 12)               # or ct.load("data/sample/factorial.csv")
    >>> res.effects["effect"].tolist()
    ['physio', 'acupuncture', 'interaction']
    >>> res.verdict in ("super-additive", "additive", "sub-additive")
    True
    """
    alpha = check_alpha(alpha)
    res = _source(trial, outcome, visit, model, ("control", "physio", "acupuncture", "combined"),
                  "The synergy (2 x 2 factorial) analysis", options)
    fitted, inst = _record(res, trial, outcome)
    effects = res.test(list(_FACTORIAL.values()), list(_FACTORIAL), visit=_at_visit(res, visit), adjust="none",
                       alpha=alpha, side="two-sided")
    effects = effects.rename(columns={"contrast": "effect"}).drop(columns="p_adj")
    ratio = "log_estimate" in effects.columns
    label = inst.label or outcome
    inter = effects.iloc[2]
    lo, hi = (np.log(inter["ci_low"]), np.log(inter["ci_high"])) if ratio else (inter["ci_low"], inter["ci_high"])
    good_lo, good_hi = sorted((inst.sign * lo, inst.sign * hi))
    unit = "ratio" if ratio else "difference"
    ci = f"{100 * (1 - alpha):g}% CI {inter['ci_low']:.3g} to {inter['ci_high']:.3g}"
    if good_lo > 0:
        verdict = "super-additive"
        why = (f"The combination does better than the sum of the two therapies' effects: the interaction "
               f"{unit} {inter['estimate']:.3g} ({ci}) lies entirely on the side where {inst.better} {label} is better.")
    elif good_hi < 0:
        verdict = "sub-additive"
        why = (f"The combination does worse than the sum of the two therapies' effects: the interaction "
               f"{unit} {inter['estimate']:.3g} ({ci}) lies entirely on the harmful side.")
    else:
        verdict = "additive"
        why = (f"The interaction {unit} {inter['estimate']:.3g} ({ci}) includes "
               f"{'1' if ratio else '0'}: the data are consistent with additive effects; departures within "
               "the interval cannot be ruled out.")
    v = float(visit)
    notes = [n for n in fitted.notes if not n.startswith(("Multivariate-t", "LS means", "Holm"))]
    notes += ["Main effect of a therapy = its effect averaged over the two levels of the other therapy "
              "(e.g. physio: ((physio - control) + (combined - acupuncture)) / 2), as a factorial analysis defines "
              "it. Interaction = (combined - physio) - (acupuncture - control).",
              f"Two-sided {100 * (1 - alpha):g}% intervals, unadjusted. The verdict follows the interval of the "
              "interaction, not its point estimate."]
    record = Fitted(model=f"{fitted.model}; 2 x 2 factorial contrasts", formula=fitted.formula, outcome=outcome,
                    visit=v, covariance=fitted.covariance, df_method=fitted.df_method, adjust="none", alpha=alpha,
                    n_per_arm=fitted.n_per_arm, excluded=fitted.excluded, notes=notes,
                    extra={"model": model if isinstance(model, str) else type(model).__name__})
    out = SynergyResult(f"Synergy (2 x 2 factorial): {label} at week {v:g}", record, effects=effects,
                        verdict=verdict, explanation=why)
    out.instrument, out.better = inst, inst.better
    return out
