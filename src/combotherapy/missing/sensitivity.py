"""The sensitivity panel of the primary outcome: the same contrasts under different assumptions about the missing
values, side by side, and the combination verdict (combined better than each monotherapy) under each.

Rows: complete cases (ANCOVA at the visit), MMRM (MAR), multiple imputation under MAR, J2R, CR and CIR, and the
tipping point of the MAR imputation (the shift of the combined arm's imputed values that removes each claim).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..arms import contrast_label, contrast_pairs
from ..models.ancova import ancova
from ..models.mmrm import mmrm
from ..results import Fitted, Result, records_design
from ..trial import Trial
from .bayes import approximate_bayes
from .conditional_mean import conditional_mean
from .delta import claimed_pairs, tipping_point

__all__ = ["sensitivity_panel", "SensitivityPanel"]

_ASSUMPTION = {"complete cases": "missing completely at random (only subjects seen at the visit)",
               "MMRM": "missing at random (likelihood, no imputation)",
               "MI MAR": "missing at random", "MI J2R": "after dropout, the reference arm's mean (jump to reference)",
               "MI CR": "the reference arm's profile throughout (copy reference)",
               "MI CIR": "after dropout, the reference arm's changes (copy increments in reference)"}
_COLS = ["analysis", "assumption", "visit", "contrast", "first", "second", "estimate", "se", "df", "statistic", "p",
         "p_adj", "ci_low", "ci_high", "claim"]


class SensitivityPanel(Result):
    """The panel.

    Attributes
    ----------
    panel : DataFrame
        ``analysis, assumption, visit, contrast, first, second, estimate, se, df, statistic, p, p_adj, ci_low,
        ci_high, claim`` for each claimed contrast under each analysis.
    verdict : DataFrame
        ``analysis, assumption, combination``: the combination claim (every claim holds) under each analysis, and
        the tipping deltas of the MAR imputation.
    tipping : TippingPointResult
    results : dict
        The underlying results by analysis name.
    """

    tables = ("verdict", "panel")

    def __init__(self, title: str, fitted: Fitted, *, results: dict, tipping, better: str, **tables: pd.DataFrame):
        super().__init__(title, fitted, **tables)
        self.results, self.tipping, self.better = results, tipping, better


def _rows(frame: pd.DataFrame, name: str, pairs: list, arms: list, visit: float, better: str,
          alpha: float) -> pd.DataFrame:
    """Claimed contrasts of one analysis, as ``first - second`` of the claim."""
    lookup = {contrast_label(a, b): (a, b) for a, b in contrast_pairs(arms)}
    f = frame.copy()
    if "first" not in f.columns:
        f["first"] = [lookup.get(c, (None, None))[0] for c in f["contrast"]]
        f["second"] = [lookup.get(c, (None, None))[1] for c in f["contrast"]]
    if "visit" in f.columns:
        f = f[np.isclose(f["visit"].to_numpy(float), visit)]
    out = []
    for a, b in pairs:  # loop over the claims (two)
        hit = f[(f["first"] == a) & (f["second"] == b)]
        sign = 1.0
        if hit.empty:
            hit, sign = f[(f["first"] == b) & (f["second"] == a)], -1.0
        if hit.empty:
            continue
        r = hit.iloc[0]
        lo, hi = (r["ci_low"], r["ci_high"]) if sign > 0 else (-r["ci_high"], -r["ci_low"])
        est = sign * r["estimate"]
        claim = bool((hi < 0 if better == "lower" else lo > 0) and r["p"] < alpha)
        out.append({"analysis": name, "assumption": _ASSUMPTION[name], "visit": visit,
                    "contrast": contrast_label(a, b), "first": a, "second": b, "estimate": est, "se": r["se"],
                    "df": r["df"], "statistic": sign * r["statistic"], "p": r["p"], "p_adj": r["p_adj"],
                    "ci_low": lo, "ci_high": hi, "claim": claim})
    return pd.DataFrame(out, columns=_COLS)


@records_design
def sensitivity_panel(trial: Trial, outcome: str, *, visit: float | None = None,
                      reference_arms: str | Mapping[str, str] | None = None, covariates: Sequence[str] = (),
                      method: str = "approximate_bayes", m: int = 100, seed: int | None = 2024,
                      deltas: Sequence[float] | None = None, alpha: float = 0.05) -> SensitivityPanel:
    """Complete case, MMRM (MAR), MI under MAR, J2R, CR and CIR, and the tipping point, side by side.

    Parameters
    ----------
    trial : Trial
    outcome : str
        The primary outcome (visit level).
    visit : float, optional
        Visit of the claims (weeks); default the last.
    reference_arms : str or dict, optional
        Imputation reference of each arm for J2R, CR, CIR (default ``control`` when present; a trial without a
        control arm must name it, e.g. ``{"combined": "physio", "acupuncture": "physio", "physio": "acupuncture"}``).
    covariates : sequence of str
        Subject-level covariates of every model.
    method : {"approximate_bayes", "conditional_mean"}
        Imputation method of the MI rows (conditional mean: jackknife SEs, deterministic).
    m : int
        Imputations (approximate Bayes).
    seed : int, optional
        Seed of the imputations (default fixed, so the panel is reproducible).
    deltas : sequence of float, optional
        Tipping-point grid (see :func:`combotherapy.missing.tipping_point`).
    alpha : float

    Returns
    -------
    SensitivityPanel

    Notes
    -----
    The claims are the article's: combined better than each monotherapy at the visit (two-sided tests at level
    ``alpha``, unadjusted: the combination verdict needs both, an intersection-union test). Every analysis
    uses the same baseline adjustment; complete cases are the subjects with a value at the visit.

    References
    ----------
    ICH E9(R1) addendum on estimands and sensitivity analysis in clinical trials, 2019.
    Carpenter JR, Roger JH, Kenward MG. J Biopharm Stat 2013;23:1352-71.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=30, seed=3)
    >>> p = ct.missing.sensitivity_panel(trial, "pain", reference_arms="physio", m=5)
    >>> list(p.verdict.columns)
    ['analysis', 'assumption', 'combination']
    """
    if method not in ("approximate_bayes", "conditional_mean"):
        from ..errors import DataError
        raise DataError(f"method={method!r}: choose 'approximate_bayes' or 'conditional_mean'")
    arms = [a for a in trial.arms if (trial.data["arm"] == a).any()]
    pairs = claimed_pairs(arms)
    v = float(visit) if visit is not None else max(x for x in trial.visits if x > 0)
    better = trial.instrument(outcome).better
    results: dict = {}
    results["complete cases"] = ancova(trial, outcome, v, covariates=covariates, adjust="none", alpha=alpha,
                                       missing_baseline="exclude")
    results["MMRM"] = mmrm(trial, outcome, covariates=covariates, adjust="none", alpha=alpha)  # as every row: unadjusted

    def imp(strategy):
        if method == "conditional_mean":
            return conditional_mean(trial, outcome, strategy=strategy, reference_arms=reference_arms,
                                    covariates=covariates, alpha=alpha)
        return approximate_bayes(trial, outcome, m=m, strategy=strategy, reference_arms=reference_arms,
                                 covariates=covariates, seed=seed, alpha=alpha)

    for s in ("MAR", "J2R", "CR", "CIR"):  # loop over the four imputation scenarios
        results[f"MI {s}"] = imp(s)
    frames = []
    for name, res in results.items():  # loop over analyses
        frames.append(_rows(res.contrasts, name, pairs, arms, v, better, alpha))
    panel = pd.concat(frames, ignore_index=True)
    tp = tipping_point(results["MI MAR"], deltas, visit=v, pairs=pairs, alpha=alpha)
    verdict = panel.groupby("analysis", sort=False).agg(assumption=("assumption", "first"),
                                                        combination=("claim", "all")).reset_index()
    verdict["combination"] = np.where(verdict["combination"], "combined better than each monotherapy",
                                      "not shown")
    tips = "; ".join(f"{r.contrast}: {r.tipping_delta:.3g}" if np.isfinite(r.tipping_delta) else
                     f"{r.contrast}: {'beyond the grid' if r.holds_at_zero else 'no claim at 0'}"
                     for r in tp.tipping.itertuples())
    verdict = pd.concat([verdict, pd.DataFrame([{
        "analysis": "tipping point (MI MAR)",
        "assumption": f"combined arm's imputed values shifted towards worse by delta ({outcome} units)",
        "combination": f"claims lost at delta = {tips}"}])], ignore_index=True)
    notes = [f"claims at week {v:g}: " + ", ".join(contrast_label(a, b) for a, b in pairs) + f" ({better} "
             f"{outcome} is better); claim = significant at {alpha:g} in favour of the first arm",
             f"imputation: {method.replace('_', ' ')}" + (f" with {m} imputations (seed {seed})"
                                                         if method == "approximate_bayes" else " (jackknife)")]
    mi = results["MI J2R"]
    notes.append("imputation references: " + ", ".join(f"{a} -> {r}" for a, r in mi.run.imp.references.items()))
    fitted = Fitted(model="sensitivity panel", outcome=outcome, visit=v, alpha=alpha,
                    n_per_arm=results["MI MAR"].fitted.n_per_arm, notes=notes,
                    extra={"method": method, "pairs": pairs})
    return SensitivityPanel(f"Sensitivity of {outcome} to the missing values (week {v:g})", fitted,
                            results=results, tipping=tp, better=better, verdict=verdict, panel=panel)
