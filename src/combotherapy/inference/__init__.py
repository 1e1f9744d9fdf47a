"""The shared inference interface: model -> reference grid -> estimated marginal means -> contrasts.

Every fitted result carries an :class:`Inference` (coefficients, their covariance, a degrees-of-freedom rule, the
reference grid and the link); :class:`combotherapy.results.Result` turns it into ``emmeans()``, ``compare()``,
``test()`` and ``coefficients`` for every model alike.

Modules: :mod:`.engine` (LS means, contrasts, multiplicity, the multivariate-t integral), :mod:`.grid` (model
matrices from formula terms and the one reference-grid rule), :mod:`.core` (the :class:`Inference` record).
"""

from .core import Inference
from .engine import ADJUST_METHODS, P_ADJUST_METHODS, DfRule, compare, contrast_matrix, lsmeans, p_adjust, test_linear
from .grid import GRID_RULE, ModelSpec, ReferenceGrid, formula_variables, is_factor, model_matrix, reference_grid

__all__ = ["Inference", "ReferenceGrid", "ModelSpec", "GRID_RULE", "model_matrix", "reference_grid",
           "formula_variables", "is_factor", "lsmeans", "compare", "test_linear", "contrast_matrix", "p_adjust",
           "ADJUST_METHODS", "P_ADJUST_METHODS", "DfRule"]
