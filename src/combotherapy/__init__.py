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
Missing data (ct.missing)
    conditional_mean, approximate_bayes, bootstrap_mi, tipping_point, sensitivity_panel, Estimand
Errors
    DataError, IdentifierError, ModelError, ArgumentError (bad arguments; fields argument, kind, arm)
"""

# ct.datasets: the public datasets that ship with the package; ct.plot: figures (imports no pyplot, leaves
# rcParams alone); ct.observational: propensity scores, weights, matching, AIPW, E-values; ct.meta: evidence across
# trials (meta-analysis, network meta-analysis, component NMA); ct.missing: estimands, imputation, tipping point
from . import datasets, meta, missing, observational, plot
from .claims import ClaimsReport, claims_report
from .errors import ArgumentError, DataError, IdentifierError, ModelError
from .instruments import REGISTRY, Instrument
from .io import load
from .models.adherence import AdherenceResult, adherence
from .models.ancova import AncovaResult, ancova
from .models.combination import CombinationResult, SynergyResult, combination_test, synergy
from .models.counts import CountResult, count_model
from .models.effect_sizes import EffectSizes, effect_sizes
from .models.mediation import MediationResult, mediation
from .models.mmrm import MMRMResult, mmrm
from .models.responders import ResponderResult, responders
from .models.safety import AdverseEventResult, adverse_events
from .models.subgroups import SubgroupResult, subgroups
from .models.survival import SurvivalResult, survival
from .power import PowerResult, power, sample_size  # ct.power: the function (its package is combotherapy.power)
from .privacy import check_identifiers, deidentify, find_identifiers
from .simulate import simulate_trial
from .table_one import TableOne, table_one
from .trial import Trial

__version__ = "0.1.0"

__all__ = [
    "ArgumentError", "DataError", "IdentifierError", "ModelError",
    "Instrument", "REGISTRY", "Trial",
    "load",
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
