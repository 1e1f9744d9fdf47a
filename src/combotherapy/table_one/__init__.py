"""Table 1: the baseline characteristics of a trial, by arm.

:func:`table_one` (statistics, :mod:`.stats`) returns a :class:`TableOne` (display text and exports,
:mod:`.format`); option checks and the choice of variables are in :mod:`.select`; small-cell
suppression is :func:`combotherapy.privacy.complementary_suppression`.
"""

from .format import TableOne
from .stats import table_one

__all__ = ["table_one", "TableOne"]
