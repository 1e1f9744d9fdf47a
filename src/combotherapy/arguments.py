"""The one argument layer: every inference setting is checked here, with one exception type and one set of defaults.

Models, the inference interface and the analyses call these checks instead of writing their own, so ``alpha=5``
or ``adjust="fdr"`` gets the same sentence (and the same :class:`~combotherapy.errors.ArgumentError`) wherever it
is passed.

Defaults (:data:`DEFAULTS`), the same for the same argument everywhere:

``alpha = 0.05``
    two-sided intervals and tests (95%).
``one_sided_alpha = 0.025``
    a one-sided superiority claim (ICH E9: half the two-sided level), e.g. the combination rule; its one-sided
    interval is then the lower (or upper) end of the two-sided 95% interval, so test and interval agree.
``adjust = "holm"``
    multiplicity adjustment of a family of arm comparisons (valid under any dependence, uniformly more powerful
    than Bonferroni; a family of one contrast is never adjusted).
``side = "two-sided"``.

Example
-------
>>> check_alpha(0.05)
0.05
>>> try:
...     check_adjust("fdr")
... except ArgumentError as err:
...     print(err.argument, err.kind)
adjust unknown
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import ArgumentError

__all__ = ["DEFAULTS", "ADJUST_METHODS", "SIDES", "MISSING_RULES", "ArgumentError", "check_alpha", "check_adjust",
           "check_side", "check_reference", "check_choice", "check_threshold", "check_visit_value"]

#: the one set of defaults
DEFAULTS: dict[str, Any] = {"alpha": 0.05, "one_sided_alpha": 0.025, "adjust": "holm", "side": "two-sided"}

ADJUST_METHODS = ("none", "holm", "bonferroni", "sidak", "tukey", "dunnett", "mvt")
SIDES = ("two-sided", "greater", "less")
#: how a subject without a value is counted (responders, the responder curve, the waterfall): one vocabulary
MISSING_RULES = ("exclude", "non-responder", "error")


def check_alpha(alpha: Any, argument: str = "alpha") -> float:
    """``alpha`` as a float strictly between 0 and 1 (alpha=5 once gave intervals that excluded their estimate)."""
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(alpha, bool) or not 0 < value < 1:
        raise ArgumentError(f"{argument} must be a number between 0 and 1 (0.05 gives 95% intervals), not {alpha!r}",
                            argument=argument, kind="out of range")
    return value


def check_choice(value: Any, allowed: Sequence[str], argument: str, hint: str = "") -> str:
    """``value`` (case-insensitive) if it is one of ``allowed``; otherwise an ArgumentError listing them."""
    text = str(value).lower()
    if text not in allowed:
        raise ArgumentError(f"{argument}={value!r} is not known; use one of {', '.join(allowed)}" + hint,
                            argument=argument, kind="unknown")
    return text


def check_adjust(adjust: Any) -> str:
    """A multiplicity adjustment method of :data:`ADJUST_METHODS`."""
    return check_choice(adjust, ADJUST_METHODS, "adjust")


def check_side(side: Any) -> str:
    """``"two-sided"``, ``"greater"`` (H1: estimate > 0) or ``"less"``."""
    return check_choice(side, SIDES, "side")


def check_reference(reference: str | None, arms: Sequence[str]) -> str | None:
    """``reference`` if it is one of the analysed ``arms`` (canonical names), or None."""
    if reference is None:
        return None
    if str(reference) not in [str(a) for a in arms]:
        raise ArgumentError(f"reference arm '{reference}' is not among the analysed arms {list(arms)}; pass one of "
                            "them", argument="reference", kind="unknown arm", arm=str(reference))
    return str(reference)


def check_visit_value(visit: Any, visits: Sequence[float]) -> float:
    """``visit`` (weeks) if it is one of ``visits``."""
    try:
        v = float(visit)
    except (TypeError, ValueError):
        v = float("nan")
    hit = np.isclose(np.asarray(visits, dtype=float), v)
    if not hit.any():
        raise ArgumentError(f"visit {visit!r} was not analysed; the visits (weeks) are "
                            f"{[f'{x:g}' for x in visits]}", argument="visit", kind="unknown visit")
    return float(np.asarray(visits, dtype=float)[hit][0])


def check_threshold(threshold: Any, instrument, *, relative: bool = False, argument: str = "threshold") -> float:
    """A responder threshold that can be reached on the instrument's scale.

    An absolute threshold larger than the instrument's range (30 points on a 0-10 scale) is an error that
    suggests ``relative=True``; a relative threshold is a percentage in (0, 100].
    """
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        t = float("nan")
    if not np.isfinite(t) or t <= 0:
        raise ArgumentError(f"{argument} must be a positive number, not {threshold!r}", argument=argument,
                            kind="out of range")
    if relative:
        if t > 100:
            raise ArgumentError(f"a relative {argument} is a percentage of the baseline value (0-100), not {t:g}",
                                argument=argument, kind="out of range")
        return t
    low, high = getattr(instrument, "low", None), getattr(instrument, "high", None)
    if low is not None and high is not None and np.isfinite(low) and np.isfinite(high) and t > high - low:
        raise ArgumentError(f"{argument}={t:g} points cannot be reached on '{instrument.name}', whose range is "
                            f"{low:g} to {high:g}; use a threshold within the range, or relative=True for a "
                            "percentage change from baseline", argument=argument, kind="out of range")
    return t
