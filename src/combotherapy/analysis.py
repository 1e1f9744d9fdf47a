"""The primary comparison of arms in one call, and any result as JSON: the thin layer the CLI and report share.

No statistics here: :func:`primary` chooses and calls the library's models (:func:`combotherapy.ancova` or
:func:`combotherapy.mmrm`, then :func:`combotherapy.combination_test` and :func:`combotherapy.synergy` when the
trial has the arms they need) and bundles their results; :func:`to_json` turns any
:class:`~combotherapy.results.Result` into plain JSON-able Python objects.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .arguments import check_alpha, check_choice
from .errors import DataError
from .estimand import for_analysis
from .results import Result, records_design, to_json
from .trial import Trial

__all__ = ["primary", "PrimaryResult", "to_json", "MODELS"]  # to_json: from results (kept here for the CLI)

#: models :func:`primary` can fit (names of :data:`combotherapy.models.catalog.FITS`)
MODELS = ("ancova", "mmrm")

_COMBINATION_ARMS = ("combined", "physio", "acupuncture")
_FACTORIAL_ARMS = ("control", "physio", "acupuncture", "combined")


class PrimaryResult(Result):
    """The primary comparison: the model's LS means and contrasts, with the combination rule and the factorial
    (synergy) analysis when the trial has their arms.

    Attributes
    ----------
    model_result : Result
        The fitted model (:class:`~combotherapy.AncovaResult` or :class:`~combotherapy.MMRMResult`).
    combination : CombinationResult or None
        The combination rule (combined better than each monotherapy), or ``None`` when the trial lacks one of
        the arms ``combined``, ``physio``, ``acupuncture``.
    synergy : SynergyResult or None
        The 2 x 2 factorial analysis, or ``None`` without all four arms (``control`` included).
    skipped : list of str
        Why an analysis was not done (the arms it needs and the arms the trial has).
    by_arm, contrasts : DataFrame
        The model's tables (every visit for an MMRM); ``combination`` and ``synergy`` the tables of those tests.
    verdict : str or None
        The combination rule's verdict.
    estimand : Estimand
        What the primary analysis estimates (ICH E9(R1)), also on ``model_result`` and printed in its summary and
        exports.
    """

    tables = ("by_arm", "contrasts", "combination", "synergy")

    def __init__(self, model: Result, combination: Result | None, synergy: Result | None, skipped: list[str]):
        super().__init__(f"Primary analysis: {model.title}", model.fitted, by_arm=model.by_arm,
                         contrasts=model.contrasts,
                         combination=combination.contrasts if combination is not None else None,
                         synergy=synergy.effects if synergy is not None else None)
        self.model_result = model
        self.estimand = model.estimand
        self.instrument, self.better = model.instrument, model.better
        self.combination_result = combination
        self.synergy_result = synergy
        self.skipped = list(skipped)
        self.verdict = combination.verdict if combination is not None else None

    def parts(self) -> list[Result]:
        """The results bundled here, in display order."""
        return [r for r in (self.model_result, self.combination_result, self.synergy_result) if r is not None]

    def headline(self) -> list[str]:
        return [line for r in self.parts() for line in r.headline()] + self.skipped

    def summary(self, digits: int = 3) -> str:
        text = "\n".join(r.summary(digits) for r in self.parts())
        return text + "".join(f"\n{line}\n" for line in self.skipped)

    def to_markdown(self, digits: int = 3) -> str:
        text = "\n".join(r.to_markdown(digits) for r in self.parts())
        return text + "".join(f"\n{line}\n" for line in self.skipped)

    def to_html(self, digits: int = 3) -> str:
        import html

        text = "\n".join(r.to_html(digits) for r in self.parts())
        return text + "".join(f"<p>{html.escape(line)}</p>\n" for line in self.skipped)


def _arms_missing(trial: Trial, needed: Sequence[str]) -> list[str]:
    present = set(trial.data["arm"].astype(str))
    return [a for a in needed if a not in present]


@records_design
def primary(trial: Trial, outcome: str, visit: float, model: str = "ancova", *,
            covariates: Sequence[str] = (), baseline: bool = True, alpha: float = 0.05, adjust: str | None = None,
            reference: str | None = None, covariance: str | None = None, df: str | None = None,
            events: pd.DataFrame | None = None) -> PrimaryResult:
    """Compare the arms on one outcome: LS means, pairwise contrasts and, when the arms allow, the combination
    rule and the factorial analysis.

    Parameters
    ----------
    trial : Trial
        From :func:`combotherapy.load`.
    outcome : str
        A visit-level outcome (e.g. ``"pain"``).
    visit : float
        The primary follow-up visit (weeks): the visit of the ANCOVA, and the visit at which the combination
        rule and synergy are judged under the MMRM.
    model : {"ancova", "mmrm"}
        ANCOVA of the value at ``visit`` on the baseline value (and ``covariates``), or an MMRM over every
        post-baseline visit (unstructured covariance, Satterthwaite degrees of freedom).
    covariates : sequence of str
        Further adjustment covariates, passed to every model.
    baseline : bool
        MMRM only: adjust for the baseline value (and its interaction with visit). ``False`` for trials without
        a baseline measurement; ANCOVA always adjusts for baseline.
    events : DataFrame, optional
        The trial's intercurrent events (``subject, visit[, event]``; ``visit`` the first visit the event affects)
        for the estimand. Default: derived from monotone dropout, and the estimand says so. The analysis itself
        does not change: values observed after an event are analysed as observed (treatment policy), missing
        ones by the model's rule (complete cases for ANCOVA, MAR for the MMRM: the hypothetical strategy).
    alpha : float
        1 - confidence level of the two-sided intervals; the combination rule's one-sided tests use
        ``alpha / 2`` (0.025 for 95% intervals, ICH E9), so each test rejects exactly when the matching end of the
        two-sided interval excludes no difference.
    adjust, reference : str, optional
        Multiplicity adjustment and reference arm of the model's pairwise contrasts (default: the model's, Holm
        over all pairs); the combination rule and synergy are not affected.
    covariance, df : str, optional
        MMRM only: covariance structure and degrees-of-freedom method (default unstructured, Satterthwaite).

    Returns
    -------
    PrimaryResult
        ``.model_result`` (the fitted model), ``.combination_result``, ``.synergy_result`` (or ``None`` with the reason
        in ``.skipped``), ``.verdict``, ``.estimand`` (see :func:`combotherapy.estimand.for_analysis`) and the
        tables ``by_arm, contrasts, combination, synergy``.

    Raises
    ------
    DataError
        Unknown model, outcome or visit (the message lists what the trial has).
    ModelError
        A model that cannot be fitted (e.g. an arm with fewer than 2 subjects at the visit).

    Notes
    -----
    ANCOVA: ``y_i[visit] = mu + tau_arm(i) + beta y_i[0] + gamma' z_i + e_i``; contrasts of all pairs of arms with
    Holm-adjusted p-values (see :func:`combotherapy.ancova`). MMRM: see :func:`combotherapy.mmrm`. The combination
    rule is the intersection-union (min) test of combined - physio and combined - acupuncture in the instrument's
    good direction (:func:`combotherapy.combination_test`); synergy is the interaction contrast
    (combined - physio) - (acupuncture - control) (:func:`combotherapy.synergy`). Both use the same model as the
    pairwise contrasts.

    References
    ----------
    Laska EM, Meisner MJ. Testing whether an identified treatment is best. Biometrics 1989;45:1139-51.

    Example
    -------
    >>> import combotherapy as ct
    >>> from combotherapy.analysis import primary
    >>> res = primary(ct.simulate_trial(n_per_arm=30, seed=1), "pain", 12)
    >>> list(res.frames())
    ['by_arm', 'contrasts', 'combination']
    """
    from .models.catalog import fit_model
    from .models.combination import combination_test, synergy

    check_choice(model, MODELS, "model")
    alpha = check_alpha(alpha)
    if not isinstance(trial, Trial):
        raise DataError(f"expected a ct.Trial (from ct.load), got {type(trial).__name__}")
    options: dict = {"covariates": list(covariates)}
    if model == "ancova" and not baseline:
        raise DataError("ANCOVA compares arms at a visit adjusting for the baseline value, so it needs baseline; "
                        "without baseline values use model='mmrm' with baseline=False", kind="no baseline",
                        arguments=("model", "baseline"))
    if not baseline:
        options["baseline"] = False
    for name, value in (("adjust", adjust), ("reference", reference), ("covariance", covariance), ("df", df)):
        if value is None:
            continue
        if model == "ancova" and name in ("covariance", "df"):
            from .errors import ArgumentError
            raise ArgumentError(f"{name}= applies to model='mmrm'; the ANCOVA has one residual variance and "
                                "residual degrees of freedom", argument=name, kind="not applicable")
        options[name] = value
    fitted = fit_model(model, trial, outcome, visit, alpha=alpha, **options)
    # what is estimated, printed with the result (ICH E9(R1)); the same tables, nothing refitted
    fitted.estimand = for_analysis(trial, outcome, model, visit=visit, n_per_arm=fitted.fitted.n_per_arm,
                                   events=events, covariates=list(covariates), baseline=baseline)
    skipped = []
    missing = _arms_missing(trial, _COMBINATION_ARMS)
    if missing:
        comb = None
        skipped.append(f"Combination rule not tested: it needs the arms {', '.join(_COMBINATION_ARMS)}; this trial "
                       f"has no {', '.join(missing)} arm (its arms are {', '.join(trial.arms)}).")
    else:
        # the model fitted above; one-sided level alpha / 2, so the test agrees with the two-sided (1 - alpha)
        # intervals of the contrasts (0.025 for 95%, ICH E9)
        comb = combination_test(trial, outcome, visit, model=fitted, alpha=alpha / 2)
    missing = _arms_missing(trial, _FACTORIAL_ARMS)
    if missing:
        syn = None
        skipped.append(f"Synergy (2 x 2 factorial) not analysed: it needs the arms {', '.join(_FACTORIAL_ARMS)}; "
                       f"this trial has no {', '.join(missing)} arm.")
    else:
        syn = synergy(trial, outcome, visit, model=fitted, alpha=alpha)
    return PrimaryResult(fitted, comb, syn, skipped)


