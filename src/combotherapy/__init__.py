"""combotherapy: do physiotherapy and acupuncture together treat back pain better than either alone?

The public API in one screen (``import combotherapy as ct``):

Data
    load, Trial, Instrument, REGISTRY, simulate_trial, deidentify, check_identifiers, table_one;
    datasets (the public datasets: list, path, load)
Comparing arms
    ancova, mmrm, combination_test, synergy, effect_sizes; every model result: .emmeans(), .compare(), .test()
    (combotherapy.inference; arguments checked by combotherapy.arguments, analysis sets by combotherapy.analysis_set)
Secondary outcomes, safety, who benefits
    adverse_events, adherence, mediation, subgroups
Beyond one trial
    meta (meta-analysis, network and component NMA), observational (propensity scores, weights, AIPW, E-values),
    missing (estimands, multiple and reference-based imputation, tipping point), power and sample_size (simulation)
Errors
    DataError, IdentifierError, ModelError, ArgumentError (bad arguments; fields argument, kind, arm)
"""

# Names are imported when first used (PEP 562), so `combotherapy --help` and `import combotherapy.cli` do not pay
# for pandas, scipy, statsmodels and matplotlib. ct.datasets: the public datasets that ship with the package;
# ct.plot: figures (imports no pyplot, leaves rcParams alone); ct.observational: propensity scores, weights,
# matching, AIPW, E-values; ct.meta: evidence across trials; ct.missing: estimands, imputation, tipping point.
import importlib as _importlib
import sys as _sys
import types as _types
from typing import TYPE_CHECKING as _TYPE_CHECKING

#: public name -> the module that defines it (a module name alone for the subpackages)
_LAZY = {
    "datasets": ".datasets", "observational": ".observational", "plot": ".plot", "meta": ".meta",
    "missing": ".missing",
    "power": ".power", "sample_size": ".power", "PowerResult": ".power",   # ct.power is the function
    "ClaimsReport": ".claims", "claims_report": ".claims",
    "ArgumentError": ".errors", "DataError": ".errors", "IdentifierError": ".errors", "ModelError": ".errors",
    "ConfoundingWarning": ".results",
    "REGISTRY": ".instruments", "Instrument": ".instruments",
    "load": ".io",
    "LazyTrial": ".scale", "from_dask": ".scale",
    "AdherenceResult": ".models.adherence", "adherence": ".models.adherence",
    "AncovaResult": ".models.ancova", "ancova": ".models.ancova",
    "CombinationResult": ".models.combination", "SynergyResult": ".models.combination",
    "combination_test": ".models.combination", "synergy": ".models.combination",
    "CountResult": ".models.counts", "count_model": ".models.counts",
    "EffectSizes": ".models.effect_sizes", "effect_sizes": ".models.effect_sizes",
    "MediationResult": ".models.mediation", "mediation": ".models.mediation",
    "MMRMResult": ".models.mmrm", "mmrm": ".models.mmrm",
    "ResponderResult": ".models.responders", "responders": ".models.responders",
    "AdverseEventResult": ".models.safety", "adverse_events": ".models.safety",
    "SubgroupResult": ".models.subgroups", "subgroups": ".models.subgroups",
    "SurvivalResult": ".models.survival", "survival": ".models.survival",
    "check_identifiers": ".privacy", "deidentify": ".privacy", "find_identifiers": ".privacy",
    "simulate_trial": ".simulate",
    "TableOne": ".table_one", "table_one": ".table_one",
    "Trial": ".trial",
}


_SUBPACKAGES = ("datasets", "observational", "plot", "meta", "missing")


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'combotherapy' has no attribute {name!r}")
    module = _importlib.import_module(_LAZY[name], __name__)
    value = module if name in _SUBPACKAGES else getattr(module, name)
    globals()[name] = value  # later look-ups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(_types.ModuleType):
    """Importing a submodule binds it on the package (``combotherapy.table_one``); where a public function has
    the module's name, the function stays the package's attribute (as with the former eager imports)."""

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, _types.ModuleType) and name in _LAZY and name not in _SUBPACKAGES:
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


if _TYPE_CHECKING:  # type checkers and IDEs see the eager imports
    from . import datasets, meta, missing, observational, plot  # noqa: F401
    from .claims import ClaimsReport, claims_report  # noqa: F401
    from .errors import ArgumentError, DataError, IdentifierError, ModelError  # noqa: F401
    from .instruments import REGISTRY, Instrument  # noqa: F401
    from .io import load  # noqa: F401
    from .models.adherence import AdherenceResult, adherence  # noqa: F401
    from .models.ancova import AncovaResult, ancova  # noqa: F401
    from .models.combination import CombinationResult, SynergyResult, combination_test, synergy  # noqa: F401
    from .models.counts import CountResult, count_model  # noqa: F401
    from .models.effect_sizes import EffectSizes, effect_sizes  # noqa: F401
    from .models.mediation import MediationResult, mediation  # noqa: F401
    from .models.mmrm import MMRMResult, mmrm  # noqa: F401
    from .models.responders import ResponderResult, responders  # noqa: F401
    from .models.safety import AdverseEventResult, adverse_events  # noqa: F401
    from .models.subgroups import SubgroupResult, subgroups  # noqa: F401
    from .models.survival import SurvivalResult, survival  # noqa: F401
    from .power import PowerResult, power, sample_size  # noqa: F401
    from .privacy import check_identifiers, deidentify, find_identifiers  # noqa: F401
    from .scale import LazyTrial, from_dask  # noqa: F401
    from .simulate import simulate_trial  # noqa: F401
    from .table_one import TableOne, table_one  # noqa: F401
    from .trial import Trial  # noqa: F401

__version__ = "0.1.0"

__all__ = [
    "ArgumentError", "DataError", "IdentifierError", "ModelError",
    "Instrument", "REGISTRY", "Trial",
    "load", "LazyTrial", "from_dask",
    "deidentify", "check_identifiers", "find_identifiers",
    "survival", "SurvivalResult", "count_model", "CountResult",
    "responders", "ResponderResult",
    "mmrm", "MMRMResult",
    "ancova", "AncovaResult", "combination_test", "CombinationResult", "synergy", "SynergyResult",
    "effect_sizes", "EffectSizes",
    "simulate_trial",
    "power", "sample_size", "PowerResult",
    "table_one", "TableOne",
    "plot", "datasets", "observational", "meta", "missing",
    "claims_report", "ClaimsReport",
    "adverse_events", "AdverseEventResult", "adherence", "AdherenceResult", "mediation", "MediationResult",
    "subgroups", "SubgroupResult",
]
