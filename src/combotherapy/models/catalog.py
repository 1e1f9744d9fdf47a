"""The one table of user-facing model names -> public fitting functions, for the analyses, claims and the CLI.

Each entry is ``fn(trial, outcome, visit, **options) -> Result`` (a result with an ``inference``); a model that
analyses every visit (MMRM) ignores nothing: the consumer asks its result for the visit it needs. This is the only
place names are mapped; consumers never inspect result classes. A model added later works in every consumer when
passed as a fitted result, and by name once it has a line here.

Example
-------
>>> sorted(FITS)
['ancova', 'mmrm']
"""

from __future__ import annotations

from collections.abc import Callable

from ..arguments import check_choice
from ..results import Result
from ..trial import Trial


def _ancova(trial: Trial, outcome: str, visit: float, **options) -> Result:
    from .ancova import ancova

    return ancova(trial, outcome, visit, **options)


def _mmrm(trial: Trial, outcome: str, visit: float, **options) -> Result:
    from .mmrm import mmrm  # the MMRM package is heavier: imported when asked for

    res = mmrm(trial, outcome, **options)
    res.emmeans(visit=visit)  # an ArgumentError naming the analysed visits when this visit is not among them
    return res


#: model name -> fn(trial, outcome, visit, **options) -> Result with an inference
FITS: dict[str, Callable[..., Result]] = {"ancova": _ancova, "mmrm": _mmrm}


def fit_model(name: str, trial: Trial, outcome: str, visit: float, **options) -> Result:
    """Fit the model called ``name`` in :data:`FITS`."""
    key = check_choice(name, tuple(FITS), "model")
    return FITS[key](trial, outcome, visit, **options)
