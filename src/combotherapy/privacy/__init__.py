"""Privacy: the identifier guard, de-identification and small-cell disclosure control.

- :mod:`.detect` — :func:`find_identifiers` / :func:`check_identifiers`: direct identifiers (HIPAA Safe
  Harbor) found by column name, by values and in the column headers themselves; never echoes a value.
- :mod:`.deidentify` — :func:`deidentify`: drop, hash, shift and truncate so that the output passes the guard.
- :mod:`.disclosure` — :func:`complementary_suppression`: which small counts of a published table to withhold.
"""

from .deidentify import deidentify
from .detect import check_identifiers, find_identifiers
from .disclosure import complementary_suppression
from .headers import RESTRICTED_ZIP3

__all__ = ["find_identifiers", "check_identifiers", "deidentify", "complementary_suppression", "RESTRICTED_ZIP3"]
