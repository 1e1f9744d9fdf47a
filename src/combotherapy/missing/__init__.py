"""Missing data: estimands, intercurrent events, conditional mean and multiple imputation (MAR and reference-based),
delta adjustment, tipping point and the sensitivity panel.

``import combotherapy as ct``: ``ct.missing.conditional_mean``, ``ct.missing.approximate_bayes``,
``ct.missing.bootstrap_mi``, ``ct.missing.tipping_point``, ``ct.missing.sensitivity_panel``, ``ct.missing.Estimand``,
``ct.missing.analyse`` (e.g. responders on imputed values).
"""

from .analyse import analyse
from .bayes import approximate_bayes, bootstrap_mi
from .conditional_mean import conditional_mean
from .delta import TippingPointResult, tipping_point
from .estimand import STRATEGIES, Estimand, estimand
from .responders import ImputedResponders
from .result import ImputationResult
from .sensitivity import SensitivityPanel, sensitivity_panel

__all__ = ["conditional_mean", "approximate_bayes", "bootstrap_mi", "tipping_point", "TippingPointResult",
           "sensitivity_panel", "SensitivityPanel", "Estimand", "estimand", "STRATEGIES", "ImputationResult",
           "analyse", "ImputedResponders"]
