"""Delta adjustment and tipping-point analysis.

A shift ``delta`` is added to the imputed values of the chosen arm(s) from each subject's intercurrent event on
(values missing at or after the event; as rbmi's ``delta_template``), and the analysis is re-run over a grid of
deltas. The imputation itself is not repeated: the fitted parameters, bootstrap samples and random draws of the
imputation result are kept (:class:`.result.Run`), so every delta sees the same random numbers and ``delta = 0``
reproduces the undelta'd analysis exactly. The tipping point of a claimed contrast is the smallest shift (in the
direction that makes the shifted arm worse) at which its claim is lost: the interval no longer excludes zero on the
side of benefit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from ..results import Fitted, Result, records_design
from .result import ImputationResult

__all__ = ["tipping_point", "TippingPointResult", "claimed_pairs"]


def claimed_pairs(arms: Sequence[str]) -> list[tuple[str, str]]:
    """The article's claims: combined vs each monotherapy present (else the first arm against the others)."""
    mono = [a for a in ("physio", "acupuncture") if a in arms]
    if "combined" in arms and mono:
        return [("combined", m) for m in mono]
    return [(arms[-1], a) for a in arms[:-1]]


class TippingPointResult(Result):
    """Delta grid and tipping points.

    Attributes
    ----------
    grid : DataFrame
        ``delta, visit, contrast, first, second, estimate, se, df, statistic, p, p_adj, ci_low, ci_high, claim``
        (``claim``: the first arm is significantly better at level alpha).
    tipping : DataFrame
        ``contrast, first, second, visit, tipping_delta`` (first grid delta at which the claim is lost; NaN when it
        holds over the whole grid, or never held), ``tipping_interpolated`` (where the p-value crosses alpha,
        linear interpolation of log p between grid points), ``holds_at_zero``.
    """

    tables = ("tipping", "grid")

    def __init__(self, title: str, fitted: Fitted, *, arm: dict, better: str, **tables: pd.DataFrame):
        super().__init__(title, fitted, **tables)
        self.arm, self.better = arm, better


@records_design
def tipping_point(result: ImputationResult, deltas: Sequence[float] | None = None, *, arm: str | dict | None = None,
                  visit: float | None = None, pairs: Sequence[tuple[str, str]] | None = None,
                  alpha: float | None = None) -> TippingPointResult:
    """Delta-adjusted analyses over a grid, and where each claimed contrast tips.

    Parameters
    ----------
    result : ImputationResult
        Any imputation analysis (``conditional_mean``, ``approximate_bayes``, ``bootstrap_mi``); it is re-analysed,
        not re-imputed.
    deltas : sequence of float, optional
        Shifts in the outcome's units, in the direction that makes the shifted arm worse (added to values where
        higher is worse, subtracted where higher is better). Default: 41 points from 0 to 1.5 times the shift that would remove the
        largest effect at the visit (effect / share of the arm's values imputed).
    arm : str or dict, optional
        Arm(s) whose imputed values are shifted: default ``combined`` (else the first arm of the first claimed
        pair). A dict ``{arm: weight}`` shifts several arms by ``weight x delta``.
    visit : float, optional
        Visit (weeks) of the claim; default the last.
    pairs : sequence of (first, second), optional
        Contrasts to follow; default the claims (combined vs each monotherapy).
    alpha : float, optional
        Significance level; default the result's.

    Returns
    -------
    TippingPointResult

    Notes
    -----
    The shifted imputed values are ``y* = y_imp + s delta`` with ``s = +1`` when lower values are better, ``-1``
    otherwise, on the values missing at or after the intercurrent event (MAR events included). For conditional
    mean imputation the jackknife is re-run on the shifted values of every resample.

    References
    ----------
    Ratitch B, O'Kelly M, Tosiello R. Missing data in clinical trials: from clinical assumptions to statistical
    analysis using pattern mixture models. Pharm Stat 2013;12:337-47.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=30, seed=3)
    >>> mi = ct.missing.approximate_bayes(trial, "pain", m=5, seed=1)
    >>> tp = ct.missing.tipping_point(mi, [0, 1, 2])
    >>> list(tp.tipping.columns[:3])
    ['contrast', 'first', 'second']
    """
    run = result.run
    arms = run.imp.data.arms
    alpha = result.fitted.alpha if alpha is None else float(alpha)
    pairs = list(pairs) if pairs is not None else claimed_pairs(arms)
    bad = [p for p in pairs if p[0] not in arms or p[1] not in arms]
    if bad:
        raise DataError(f"pairs {bad} name arms not in the analysis ({arms})")
    if arm is None:
        arm = "combined" if "combined" in arms else pairs[0][0]
    weights = {arm: 1.0} if isinstance(arm, str) else {a: float(w) for a, w in dict(arm).items()}
    unknown = [a for a in weights if a not in arms]
    if unknown:
        raise DataError(f"arm {unknown} is not in the analysis; its arms are {arms}")
    vis = run.imp.data.visits
    v = vis[-1] if visit is None else float(visit)
    if not np.isclose(vis, v).any():
        raise DataError(f"visit {v:g} was not analysed; the visits (weeks) are {[f'{x:g}' for x in vis]}")
    sign = 1.0 if result.better == "lower" else -1.0
    if deltas is None:
        # up to 1.5 times the shift that would bring the largest claimed effect to zero: the effect moves by about
        # (share of the shifted arm's values imputed at the visit) x delta
        a = int(np.flatnonzero(np.isclose(vis, v))[0])
        codes = [arms.index(x) for x in weights]
        share = float(np.isnan(run.imp.Y[np.isin(run.imp.data.arm_codes, codes), a]).mean())
        con0 = result.contrasts[np.isclose(result.contrasts["visit"], v)]
        top = float(np.abs(con0["estimate"]).max()) if len(con0) else 1.0
        deltas = np.linspace(0, 1.5 * top / max(share, 0.02), 41)
    deltas = np.asarray(sorted(set(float(d) for d in deltas)), float)
    frames = []
    for d in deltas:  # loop over grid points: each re-analyses the stored imputations
        con, _ = run.tables({a: sign * w * d for a, w in weights.items()})
        con = con[np.isclose(con["visit"], v)]
        keep = pd.Series(list(zip(con["first"], con["second"]))).isin(pairs).to_numpy()
        flipped = pd.Series(list(zip(con["second"], con["first"]))).isin(pairs).to_numpy()
        sel = con[keep | flipped].copy()
        swap = flipped[keep | flipped]
        for c in ("estimate", "statistic", "ci_low", "ci_high"):  # report as first - second of the claim
            sel[c] = np.where(swap, -sel[c], sel[c])
        lo, hi = sel["ci_low"].to_numpy(), sel["ci_high"].to_numpy()
        sel["ci_low"], sel["ci_high"] = np.where(swap, hi, lo), np.where(swap, lo, hi)
        sel[["first", "second"]] = np.where(swap[:, None], sel[["second", "first"]].to_numpy(),
                                           sel[["first", "second"]].to_numpy())
        sel["contrast"] = sel["first"] + " - " + sel["second"]
        sel.insert(0, "delta", d)
        frames.append(sel)
    grid = pd.concat(frames, ignore_index=True).drop(columns=[c for c in ("fmi",) if c in frames[0]])
    better_side = grid["ci_high"] < 0 if result.better == "lower" else grid["ci_low"] > 0
    grid["claim"] = better_side.to_numpy() & (grid["p"].to_numpy() < alpha)
    rows = []
    for (first, second), g in grid.groupby(["first", "second"], sort=False):  # loop over claimed contrasts
        claim, dl, p = g["claim"].to_numpy(), g["delta"].to_numpy(), g["p"].to_numpy()
        lost = np.flatnonzero(~claim)
        tip = float(dl[lost[0]]) if claim[0] and len(lost) else np.nan
        interp = np.nan
        if np.isfinite(tip):
            j = lost[0]
            lp = np.log(np.clip(p[j - 1:j + 1], 1e-300, None))
            la = np.log(alpha)
            interp = float(dl[j - 1] + (la - lp[0]) / (lp[1] - lp[0]) * (dl[j] - dl[j - 1])) if lp[1] != lp[0] \
                else tip
        rows.append({"contrast": f"{first} - {second}", "first": first, "second": second, "visit": v,
                     "tipping_delta": tip, "tipping_interpolated": interp, "holds_at_zero": bool(claim[0])})
    tipping = pd.DataFrame(rows)
    notes = [f"delta shifts the imputed values of {', '.join(weights)} from the intercurrent event on, towards "
             f"worse ({'higher' if sign > 0 else 'lower'} {result.outcome}); the imputations are not redrawn",
             f"claim = the first arm is better with p < {alpha:g}; tipping_delta = first grid value at which "
             "the claim is lost"]
    fitted = Fitted(model=f"tipping point after {result.method} ({result.strategy})", outcome=result.outcome,
                    visit=v, alpha=alpha, n_per_arm=result.fitted.n_per_arm, notes=notes,
                    extra={"deltas": deltas.tolist(), "arm": weights})
    return TippingPointResult(f"Tipping point of {result.outcome} (week {v:g})", fitted, arm=weights,
                              better=result.better, tipping=tipping, grid=grid)
