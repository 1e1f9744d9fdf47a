"""The one rule that turns a test into a claim's verdict, shared by ``combination_test`` and the claims report.

A claim is **supported** when its test is significant after the stated multiplicity adjustment (adjusted
p < alpha) with the estimate in the claimed direction; otherwise it is **not supported**. The minimal important
difference (MID) never changes that decision: it is reported beside it, and a supported claim whose estimate is
smaller than the MID reads "supported, below the minimal important difference of 1 point".

Example
-------
>>> decide(0.01, 0.025, effect=0.6, mid=1.0, mid_units="points")
'supported, below the minimal important difference of 1 point'
>>> decide(0.01, 0.025, effect=1.4, mid=1.0)
'supported'
>>> decide(0.2, 0.025, effect=1.4, mid=1.0)
'not supported'
"""

from __future__ import annotations

import math

__all__ = ["SUPPORTED", "NOT_SUPPORTED", "BELOW_MID", "decide", "multiplicity_note", "mid_phrase", "p_text"]

SUPPORTED, NOT_SUPPORTED = "supported", "not supported"
BELOW_MID = "supported, below the minimal important difference"


def p_text(p: float) -> str:
    """``"< 0.001"`` or ``"= 0.045"``: a p-value in a sentence, as journals print it."""
    return "< 0.001" if p < 0.001 else f"= {p:.2g}"


def mid_phrase(mid: float, units: str = "", *, ratio: bool = False) -> str:
    """``"1 point"``, ``"5 points"``, ``"0.8 (ratio)"``: the MID as the verdict prints it."""
    if ratio:
        return f"{mid:g} (ratio)"
    units = (units or "").strip()
    if units == "points" and mid == 1:
        units = "point"
    return f"{mid:g} {units}".strip() if units not in ("%",) else f"{mid:g}%"


def decide(p_adj: float, alpha: float, *, effect: float, mid: float | None = None, mid_effect: float | None = None,
           mid_units: str = "", ratio: bool = False) -> str:
    """The verdict of one claim.

    Parameters
    ----------
    p_adj : float
        The claim's p-value after the stated multiplicity adjustment (the test's own p when none applies).
    alpha : float
        The level the adjusted p-value is compared with (supported when ``p_adj < alpha``).
    effect : float
        The estimate signed so that > 0 is the claimed direction (benefit), on the scale of ``mid_effect``.
    mid : float, optional
        The minimal important difference as the claim states it (for the text; a ratio for ratio measures).
    mid_effect : float, optional
        The MID on the scale of ``effect`` (default ``mid``; for ratios ``abs(log(mid))``).
    mid_units : str
        Units of the MID (``"points"``...).
    ratio : bool
        The MID is a ratio.

    Returns
    -------
    str
        ``"supported"``, ``"supported, below the minimal important difference of <MID>"`` or ``"not supported"``.

    Notes
    -----
    A NaN p-value or effect is not significant. The MID is compared with the point estimate, never with the
    interval: the decision is the test's; the MID only qualifies a supported claim.
    """
    significant = (math.isfinite(p_adj) and p_adj < alpha and math.isfinite(effect) and effect > 0)
    if not significant:
        return NOT_SUPPORTED
    if mid is None or not math.isfinite(mid):
        return SUPPORTED
    threshold = mid_effect if mid_effect is not None else (abs(math.log(mid)) if ratio else mid)
    if effect < threshold:
        return f"{BELOW_MID} of {mid_phrase(mid, mid_units, ratio=ratio)}"
    return SUPPORTED


def multiplicity_note(p: float, p_adj: float, alpha: float, method: str, n_tests: int) -> str | None:
    """The sentence a row carries when the multiplicity adjustment changed its decision (else None)."""
    if math.isfinite(p) and math.isfinite(p_adj) and p < alpha <= p_adj:
        return (f"Significant on its own (p {p_text(p)}) but not after the {method} adjustment across {n_tests} "
                f"claims (adjusted p {p_text(p_adj)}).")
    return None
