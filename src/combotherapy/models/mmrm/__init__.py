"""Mixed model for repeated measures (MMRM): ``ct.mmrm``.

Modules: ``covariance`` (structures and their derivatives), ``design`` (design and pattern sufficient
statistics), ``reml`` (REML/ML objective, analytic gradient and Hessian, optimiser), ``dfs`` (Satterthwaite,
Kenward-Roger, residual), ``api`` (``mmrm`` and ``MMRMResult``).
"""

from .api import MMRMResult, fit, mmrm

__all__ = ["mmrm", "fit", "MMRMResult"]
