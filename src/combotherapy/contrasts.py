"""Moved to :mod:`combotherapy.inference` (the engine is :mod:`combotherapy.inference.engine`).

Kept only so models not yet rewired to the inference interface still import; new code imports
``combotherapy.inference``. To be removed once every model uses the interface (see CHANGELOG.md).
"""

from .inference.engine import *  # noqa: F403
from .inference.engine import (
    __all__,  # noqa: F401
    _unadjusted_p,  # noqa: F401  (used by models not yet rewired)
)
