"""The primary comparison of arms in one call, and any result as JSON: the thin layer the CLI and report share.

No statistics here: :func:`primary` chooses and calls the library's models (:func:`combotherapy.ancova` or
:func:`combotherapy.mmrm`, then :func:`combotherapy.combination_test` and :func:`combotherapy.synergy` when the
trial has the arms they need) and bundles their results; :func:`to_json` turns any
:class:`~combotherapy.results.Result` into plain JSON-able Python objects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError
from .results import Fitted, Result
from .trial import Trial

__all__ = ["primary", "PrimaryResult", "to_json", "MODELS"]

#: models :func:`primary` can fit
MODELS = ("ancova", "mmrm")

_COMBINATION_ARMS = ("combined", "physio", "acupuncture")
_FACTORIAL_ARMS = ("control", "physio", "acupuncture", "combined")


class PrimaryResult(Result):
    """The primary comparison: the model's LS means and contrasts, with the combination rule and the factorial
    (synergy) analysis when the trial has their arms.

    Attributes
    ----------
    model : Result
        The fitted model (:class:`~combotherapy.AncovaResult` or :class:`~combotherapy.MMRMResult`).
    combination : CombinationResult or None
        The combination rule (combined better than each monotherapy), or ``None`` when the trial lacks one of
        the arms ``combined``, ``physio``, ``acupuncture``.
    synergy : SynergyResult or None
        The 2 x 2 factorial analysis, or ``None`` without all four arms (``control`` included).
    skipped : list of str
        Why an analysis was not done (the arms it needs and the arms the trial has).
    lsmeans, contrasts : DataFrame
        The model's tables (every visit for an MMRM); ``combination`` and ``synergy`` the tables of those tests.
    verdict : str or None
        The combination rule's verdict.
    """

    tables = ("lsmeans", "contrasts", "combination", "synergy")

    def __init__(self, model: Result, combination: Result | None, synergy: Result | None, skipped: list[str]):
        super().__init__(f"Primary analysis: {model.title}", model.fitted, lsmeans=model.lsmeans,
                         contrasts=model.contrasts,
                         combination=combination.contrasts if combination is not None else None,
                         synergy=synergy.effects if synergy is not None else None)
        self.model = model
        self.combination_result = combination
        self.synergy_result = synergy
        self.skipped = list(skipped)
        self.verdict = combination.verdict if combination is not None else None

    def parts(self) -> list[Result]:
        """The results bundled here, in display order."""
        return [r for r in (self.model, self.combination_result, self.synergy_result) if r is not None]

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


def primary(trial: Trial, outcome: str, visit: float, model: str = "ancova", *,
            covariates: Sequence[str] = (), baseline: bool = True, alpha: float = 0.05) -> PrimaryResult:
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
    alpha : float
        1 - confidence level; one-sided level of each component test of the combination rule.

    Returns
    -------
    PrimaryResult
        ``.model`` (the fitted model), ``.combination_result``, ``.synergy_result`` (or ``None`` with the reason
        in ``.skipped``), ``.verdict`` and the tables ``lsmeans, contrasts, combination, synergy``.

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
    ['lsmeans', 'contrasts', 'combination']
    """
    from .models.ancova import ancova
    from .models.combination import combination_test, synergy
    from .models.mmrm import mmrm

    if model not in MODELS:
        raise DataError(f"model {model!r} is not known; use one of {list(MODELS)}")
    if not isinstance(trial, Trial):
        raise DataError(f"expected a ct.Trial (from ct.load), got {type(trial).__name__}")
    options: dict = {"covariates": list(covariates)}
    if model == "ancova" and not baseline:
        raise DataError("ANCOVA compares arms at a visit adjusting for the baseline value, so it needs baseline; "
                        "without baseline values use model='mmrm' with baseline=False")
    if not baseline:
        options["baseline"] = False
    if model == "ancova":
        fitted = ancova(trial, outcome, visit, alpha=alpha, **options)
    else:
        fitted = mmrm(trial, outcome, alpha=alpha, **options)
        fitted.contrast_at(visit)  # a DataError naming the analysed visits when this one was not
    skipped = []
    missing = _arms_missing(trial, _COMBINATION_ARMS)
    if missing:
        comb = None
        skipped.append(f"Combination rule not tested: it needs the arms {', '.join(_COMBINATION_ARMS)}; this trial "
                       f"has no {', '.join(missing)} arm (its arms are {', '.join(trial.arms)}).")
    else:
        comb = combination_test(trial, outcome, visit, model=fitted, alpha=alpha)  # the model fitted above
    missing = _arms_missing(trial, _FACTORIAL_ARMS)
    if missing:
        syn = None
        skipped.append(f"Synergy (2 x 2 factorial) not analysed: it needs the arms {', '.join(_FACTORIAL_ARMS)}; "
                       f"this trial has no {', '.join(missing)} arm.")
    else:
        syn = synergy(trial, outcome, visit, model=fitted, alpha=alpha)
    return PrimaryResult(fitted, comb, syn, skipped)


# --- JSON -------------------------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """A value as a JSON-able Python object; NaN, infinities and missing values become None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, str):
        return value
    if isinstance(value, pd.DataFrame):
        return _records(value)
    if isinstance(value, pd.Series):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, Fitted):
        return _fitted(value)
    if isinstance(value, Result):
        return to_json(value)
    # anything else (a fitted model object, an Instrument, ...) is described, not serialised
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [str(c) for c in frame.columns]
    return [dict(zip(columns, (_plain(v) for v in row))) for row in frame.itertuples(index=False, name=None)]


def _fitted(f: Fitted) -> dict[str, Any]:
    return {"model": f.model, "formula": f.formula or None, "outcome": f.outcome, "visit": _plain(f.visit),
            "covariance": f.covariance, "df_method": f.df_method, "adjust": f.adjust, "ci_adjust": f.ci_adjust,
            "alpha": _plain(f.alpha), "n": f.n, "n_per_arm": _plain(f.n_per_arm), "excluded": _records(f.excluded),
            "notes": list(f.notes), "extra": _plain(f.extra)}


def to_json(result: Result) -> dict[str, Any]:
    """Any result as a JSON-able dict: title, what was fitted, headline, every table, and the verdict if any.

    Parameters
    ----------
    result : Result
        Any result of the library (``ct.ancova``, ``ct.mmrm``, ``ct.combination_test``, :func:`primary`, ...).

    Returns
    -------
    dict
        ``{"type", "title", "fitted", "headline", "tables": {name: [row, ...]}}`` plus ``"verdict"`` when the
        result has one and, for :class:`PrimaryResult`, ``"parts"`` (each bundled result in the same form) and
        ``"skipped"``. Numbers are Python floats/ints; NaN and infinities are ``None`` (JSON ``null``), so
        ``json.dumps(..., allow_nan=False)`` succeeds.

    Example
    -------
    >>> import json, combotherapy as ct
    >>> from combotherapy.analysis import to_json
    >>> res = ct.ancova(ct.simulate_trial(n_per_arm=20, seed=1), "pain", 12)
    >>> sorted(json.loads(json.dumps(to_json(res), allow_nan=False))["tables"])
    ['coefficients', 'contrasts', 'lsmeans']
    """
    if not isinstance(result, Result):
        raise DataError(f"to_json needs a combotherapy result, not {type(result).__name__}")
    out: dict[str, Any] = {"type": type(result).__name__, "title": result.title, "fitted": _fitted(result.fitted),
                           "headline": list(result.headline()),
                           "tables": {name: _records(frame) for name, frame in result.frames().items()}}
    verdict = getattr(result, "verdict", None)
    if verdict is not None:
        out["verdict"] = _plain(verdict)
    if isinstance(result, PrimaryResult):
        out["parts"] = [to_json(r) for r in result.parts()]
        out["skipped"] = list(result.skipped)
    return out
