"""Canonical arm names, their display order and the order of pairwise contrasts.

Contrasts are labelled ``"first - second"``; the first arm is the more "active" one, so
``combined - physio``, ``combined - acupuncture``, ``physio - acupuncture``, ``physio - control``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["CANONICAL_ARMS", "arm_order", "contrast_pairs", "contrast_label"]

#: canonical arms, in the order they are shown (control first: the natural reference)
CANONICAL_ARMS = ("control", "physio", "acupuncture", "combined")

# priority for the first position of a contrast label: combined, physio, acupuncture, other arms, control
_PRIORITY = {"combined": 0, "physio": 1, "acupuncture": 2, "control": 99}


def arm_order(arms: Sequence[str]) -> list[str]:
    """Display order: canonical arms in CANONICAL_ARMS order, then declared arms as given."""
    canon = [a for a in CANONICAL_ARMS if a in arms]
    extra = [a for a in arms if a not in CANONICAL_ARMS]
    return canon + list(dict.fromkeys(extra))


def _priority(arm: str, arms: Sequence[str]) -> tuple[int, int]:
    return (_PRIORITY.get(arm, 50), list(arms).index(arm))


def contrast_pairs(arms: Sequence[str], reference: str | None = None) -> list[tuple[str, str]]:
    """Pairs (first, second) to compare: all pairs, or each arm against ``reference``.

    >>> contrast_pairs(["physio", "acupuncture", "combined"])
    [('combined', 'physio'), ('combined', 'acupuncture'), ('physio', 'acupuncture')]
    """
    arms = list(arms)
    if reference is not None:
        if reference not in arms:
            raise ValueError(f"reference arm {reference!r} is not one of {arms}")
        return [(a, reference) for a in sorted(arms, key=lambda a: _priority(a, arms)) if a != reference]
    ranked = sorted(arms, key=lambda a: _priority(a, arms))
    return [(ranked[i], ranked[j]) for i in range(len(ranked)) for j in range(i + 1, len(ranked))]


def contrast_label(first: str, second: str) -> str:
    return f"{first} - {second}"
