"""The truth behind a simulation: true contrasts between arms (:func:`truth_table`, :data:`TRUTH`), which
claims hold (:func:`claim_truth`) and the truth of every row of the claims report (:func:`report_truth`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from ..arms import CANONICAL_ARMS, arm_order, contrast_label, contrast_pairs
from ..instruments import REGISTRY
from .effects import (
    _DESIGN,
    ACUTE_MONTHS,
    ADHERENCE_BASE,
    ADHERENCE_REF_FALL,
    ADHERENCE_SD,
    CLAIMS,
    DEFAULT_VISITS,
    DURATION_LOGSD,
    DURATION_MEDIAN,
    PRIMARY_WEEK,
    VISIT_OUTCOMES,
    Effects,
    _check_args,
    _mean_change,
    _visit_corr,
    _visit_sd,
)


def _adherence_mean(eff: Effects, arm: str, v: Sequence[float] = DEFAULT_VISITS) -> float:
    """Expected proportion of planned sessions attended in ``arm`` (no dropout), by Gauss-Hermite.

    The linear predictor is normal within acute and chronic subjects: the early pain fall has mean
    ``-(mean change at the first follow-up)`` and variance ``sd0^2 + sd1^2 - 2 r sd0 sd1``.
    """
    v = np.asarray(v, dtype=float)[:2]
    d = _DESIGN["pain"]
    sd = _visit_sd(d, v)
    r = _visit_corr(v)[0, 1]
    var_fall = sd[0] ** 2 + sd[1] ** 2 - 2 * r * sd[0] * sd[1]
    p_acute = stats.norm.cdf((np.log(ACUTE_MONTHS - 0.05) - np.log(DURATION_MEDIAN)) / DURATION_LOGSD)
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()
    total = 0.0
    for acute, w in ((1.0, p_acute), (0.0, 1 - p_acute)):
        change = _mean_change(eff.outcomes["pain"], np.array([arm]), np.array([acute]), v)[0, 1]
        mean = ADHERENCE_BASE + eff.adherence_direct.get(arm, 0.0) + eff.adherence_slope * (-change - ADHERENCE_REF_FALL)
        sd_lp = np.sqrt(eff.adherence_slope ** 2 * var_fall + ADHERENCE_SD ** 2)
        total += w * float(np.sum(weights * special.expit(mean + sd_lp * nodes)))
    return total


def truth_table(arms: Sequence[str] = CANONICAL_ARMS, effects: Effects | Mapping | None = None,
                visits: Sequence[float] = DEFAULT_VISITS) -> pd.DataFrame:
    """The true contrasts between arms, one row per claim outcome and pair of arms.

    Columns: ``claim`` (number of the claim in issue 5, 0 for outcomes that test no claim), ``claim_text``,
    ``outcome``, ``measure``, ``visit``, ``contrast`` (``"first - second"``), ``value`` (on the measure's
    scale: difference, ratio of geometric means, rate ratio, hazard ratio, difference in the proportion of
    sessions attended), ``null_value``, ``direction`` (``"better"``, ``"worse"``, ``"none"`` for the first
    arm) and ``truth`` for combined-vs-monotherapy rows (``"true"``: the combined arm is better;
    ``"null"``: it is not), empty otherwise. ``visits`` matter only for adherence (the early pain fall is
    measured at the first follow-up visit).
    """
    arms_l, _, v, eff = _check_args(list(arms), 2, visits, 0.0, effects)
    claim_of = {o: c for c, (_, outs) in CLAIMS.items() for o in outs}
    measures = {"crp": "ratio of geometric means", "analgesic_days": "rate ratio"}
    rows = []
    pairs = contrast_pairs(arm_order(arms_l))
    for outcome in list(VISIT_OUTCOMES) + ["recovery_time", "sessions_attended"]:
        inst = REGISTRY[outcome]
        for first, second in pairs:
            if outcome == "recovery_time":
                value, null, measure, sign = eff.recovery_hr[first] / eff.recovery_hr[second], 1.0, "hazard ratio", 1
            elif outcome == "sessions_attended":
                if "control" in (first, second):
                    continue  # usual care has no sessions
                value = _adherence_mean(eff, first, v) - _adherence_mean(eff, second, v)
                null, measure, sign = 0.0, "difference in proportion of sessions attended", 1
            else:
                oe = eff.outcomes[outcome]
                diff = oe.log_change(first) - oe.log_change(second)
                ratio = oe.scale == "ratio"
                value, null = (float(np.exp(diff)), 1.0) if ratio else (diff, 0.0)
                measure = measures.get(outcome, "mean difference")
                sign = inst.sign
            gap = (np.log(value) if null == 1.0 else value) * sign
            direction = "none" if abs(gap) < 1e-9 else ("better" if gap > 0 else "worse")
            combo = first == "combined" and second in ("physio", "acupuncture")
            claim = claim_of.get(outcome, 0)
            rows.append({
                "claim": claim, "claim_text": CLAIMS[claim][0] if claim else "", "outcome": outcome,
                "measure": measure, "visit": PRIMARY_WEEK if outcome in VISIT_OUTCOMES else np.nan,
                "contrast": contrast_label(first, second), "value": round(float(value), 12), "null_value": null,
                "direction": direction,
                "truth": ("true" if direction == "better" else "null") if combo and claim else "",
            })
    return pd.DataFrame(rows)


def claim_truth(effects: Effects | Mapping | None = None) -> pd.DataFrame:
    """One row per claim of issue 5: is the combined arm truly better than each monotherapy?

    A claim is ``"true"`` when the combined arm is better than physiotherapy alone and acupuncture alone on
    every outcome that tests it, ``"null"`` otherwise. Columns ``claim, claim_text, outcomes, truth``.
    """
    tab = truth_table(("physio", "acupuncture", "combined"), effects)
    tab = tab[tab["truth"] != ""]
    out = tab.groupby("claim", sort=True).agg(
        claim_text=("claim_text", "first"),
        outcomes=("outcome", lambda o: ", ".join(dict.fromkeys(o))),
        truth=("truth", lambda t: "true" if (t == "true").all() else "null"),
    )
    return out.reset_index()


#: claims-table ids (``data/claims.csv``) of the outcomes that test the combination claims
_REPORT_IDS = {"pain": "1", "rom": "2", "crp": "3", "recovery_time": "4", "sessions_attended": "5",
               "analgesic_days": "6", "endurance": "7a", "phq9": "7b", "eq5d": "8"}


def report_truth(effects: Effects | Mapping | None = None, *, visits: Sequence[float] = DEFAULT_VISITS,
                 safety_margin: float = 0.10) -> pd.DataFrame:
    """The truth behind every row of the claims report (``ct.claims_report``), one row per claim id.

    Parameters
    ----------
    effects : Effects or mapping, optional
        The simulator's truth (default :data:`DEFAULT_EFFECTS`; a mapping overrides single values).
    visits : sequence of float
        Visit weeks; the first follow-up is when early pain relief is measured (claims 5 and 5b).
    safety_margin : float
        The non-inferiority margin of the safety claim (risk difference of patients with an adverse event; the
        ``mid`` of claim 9 in ``data/claims.csv``).

    Returns
    -------
    DataFrame
        Columns ``id, truth`` (``"true"``: the claim holds in the simulation, so a large trial should support it;
        ``"null"``: it does not) and ``why`` (the true values behind it), in the order of the claims table.

    Notes
    -----
    Rows:

    * ``1`` - ``8`` (``7a`` endurance, ``7b`` mood): the combined arm is better than each monotherapy on the
      outcome (:func:`truth_table`);
    * ``5b`` (pain falls first): attendance rises with the early fall in pain (``adherence_slope > 0``) and the
      combined arm's mean fall in pain by the first follow-up exceeds each monotherapy's, in acute and chronic
      patients;
    * ``9`` (acupuncture is safe): the probability of at least one adverse event over the 12 treatment weeks,
      ``1 - exp(-sum of the type rates)``, exceeds physiotherapy's by less than ``safety_margin`` in the
      acupuncture and the combined arm;
    * ``10`` (physiotherapy helps after years of pain): lower week-12 pain with physiotherapy than with usual
      care in chronic patients (pain for 3 months or more, which includes the 12 months of the claim).

    Example
    -------
    >>> truth = report_truth().set_index("id")["truth"]
    >>> truth[["1", "3", "5b", "7a", "9", "10"]].tolist()
    ['true', 'null', 'true', 'null', 'null', 'true']
    """
    arms = ("control", "physio", "acupuncture", "combined")
    _, _, v, eff = _check_args(list(arms), 2, visits, 0.0, effects)
    tab = truth_table(("physio", "acupuncture", "combined"), eff, visits)
    tab = tab[tab["truth"] != ""]
    rows = []
    for outcome, grp in tab.groupby("outcome", sort=False):
        ok = bool((grp["truth"] == "true").all())
        rows.append({"id": _REPORT_IDS[outcome], "truth": "true" if ok else "null",
                     "why": "; ".join(f"{c}: {val:.4g} ({d})" for c, val, d in zip(grp["contrast"], grp["value"],
                                                                                   grp["direction"]))})
    # 5b: the early fall in pain carries the adherence effect
    fall = {a: -_mean_change(eff.outcomes["pain"], np.array([a, a]), np.array([0.0, 1.0]), v[:2])[:, 1]
            for a in ("physio", "acupuncture", "combined")}
    more = all((fall["combined"] > fall[m]).all() for m in ("physio", "acupuncture"))
    rows.append({"id": "5b", "truth": "true" if more and eff.adherence_slope > 0 else "null",
                 "why": f"adherence slope {eff.adherence_slope:g}; mean pain fall by week {v[1]:g} (chronic, acute): "
                        + ", ".join(f"{a} {x[0]:.3g}, {x[1]:.3g}" for a, x in fall.items())})
    # 9: no excess of patients with adverse events as large as the margin
    risk = {a: 1 - np.exp(-sum(r.get(a, 0.0) for r in eff.adverse_rates.values())) for a in arms}
    excess = {a: risk[a] - risk["physio"] for a in ("acupuncture", "combined")}
    rows.append({"id": "9", "truth": "true" if max(excess.values()) < safety_margin else "null",
                 "why": ", ".join(f"{a} - physio: {x:.3g}" for a, x in excess.items())
                        + f" (margin {safety_margin:g})"})
    # 10: physiotherapy against usual care in chronic pain
    gain = eff.outcomes["pain"].log_change("physio") - eff.outcomes["pain"].log_change("control")
    rows.append({"id": "10", "truth": "true" if gain * REGISTRY["pain"].sign > 0 else "null",
                 "why": f"physio - control at week 12 in chronic pain: {gain:.3g}"})
    order = {k: i for i, k in enumerate(["1", "2", "3", "4", "5", "5b", "6", "7a", "7b", "8", "9", "10"])}
    return pd.DataFrame(rows).sort_values("id", key=lambda x: x.map(order)).reset_index(drop=True)


#: the default truth for every pair of the four canonical arms
TRUTH = truth_table()
