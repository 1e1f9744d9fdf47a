"""The claims report's evaluators: one per model name of the claims table (``MODELS``), each turning a trial, a
claim row, the arm pairs and alpha into benefit-signed contrasts on the test scale (:class:`Contrast`).

Every model that implements the inference interface goes through the one evaluator :func:`from_result`; only
the claims whose test is not a contrast of a fitted model (the safety non-inferiority test, the mediation
effect) have their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .analysis_set import subject_index
from .errors import ModelError
from .instruments import REGISTRY
from .results import Fitted, Result
from .trial import Trial

__all__ = ["AT_VISIT", "MEDIATION_SIMS", "MEDIATOR", "MODELS", "NEEDS", "WITH_DEFAULTS", "Contrast", "from_result",
           "pick", "with_column"]

#: the mediator of the "because pain falls first" claim, and the simulation size of its mediation analyses
MEDIATOR = "pain"
MEDIATION_SIMS = 1000


@dataclass
class Contrast:
    """One contrast from a fitted model, on the scale where the test is done (log for ratios)."""

    label: str
    estimate: float        # reported scale (ratio for ratio measures)
    ci_low: float
    ci_high: float
    effect: float          # benefit-signed, on the test scale (log for ratios): > 0 means benefit
    effect_low: float      # benefit-signed (1 - alpha) interval on the test scale
    effect_high: float
    se: float              # on the test scale
    p_one: float           # one-sided p for benefit
    std_effect: float      # benefit-signed standardised effect, for the claims figure
    std_low: float         # its (1 - alpha) interval
    std_high: float
    fitted: Fitted | None = None  # the fit behind this contrast when it differs between contrasts (mediation)


def _from_rows(rows: pd.DataFrame, sign: int, ratio: bool, alpha: float, scale_sd: float) -> dict[str, Contrast]:
    out = {}
    for _, r in rows.iterrows():
        est = float(r["log_estimate"]) if ratio else float(r["estimate"])
        se = float(r["se"])
        df = float(r["df"]) if "df" in r and pd.notna(r.get("df")) else math.inf
        q = stats.t.ppf(1 - alpha / 2, df) if math.isfinite(df) else stats.norm.ppf(1 - alpha / 2)
        eff = sign * est
        lo, hi = eff - q * se, eff + q * se
        if not (math.isfinite(se) and se > 0 and math.isfinite(eff)):  # e.g. no events in either arm
            p_one = math.nan
            lo = hi = math.nan
        else:
            p_one = float(stats.t.sf(eff / se, df) if math.isfinite(df) else stats.norm.sf(eff / se))
        # log ratios are put on Cohen's d scale with Chinn's (2000) factor sqrt(3)/pi
        factor = math.sqrt(3) / math.pi if ratio else 1 / scale_sd
        out[r["contrast"]] = Contrast(r["contrast"], float(r["estimate"]), float(r["ci_low"]), float(r["ci_high"]),
                                       eff, lo, hi, se, p_one, eff * factor, lo * factor, hi * factor)
    return out


def _baseline_sd(trial: Trial, outcome: str) -> float:
    trial.instrument(outcome)
    idx = subject_index(trial)
    base = idx.at_visit(outcome, 0.0)
    seen = base.notna().to_numpy()
    base, arms = base[seen], idx.arm[seen]
    pooled = base.groupby(arms, observed=True).var(ddof=1)
    n = base.groupby(arms, observed=True).size()
    with np.errstate(invalid="ignore", divide="ignore"):  # no baseline values: NaN (no SD to standardise by)
        return float(np.sqrt(((n - 1) * pooled).sum() / (n - 1).sum()))


# --- one evaluator per model: trial, claim row, pairs, alpha -> contrasts, units, measure ---------------------

def from_result(res: Result, trial: Trial, claim: pd.Series, pairs, alpha: float, sign: int | None = None):
    """Any fitted result with an inference: its contrasts of ``pairs`` at the claim's visit, unadjusted, at
    ``alpha`` — the one evaluator for every model that implements the interface (no per-model code). ``sign``:
    the direction of benefit when it is not the result's instrument's (e.g. the hazard of recovery)."""
    inference = res.inference
    if inference is None:   # e.g. a result given to claims_report(results=) that is not one model fit
        raise ModelError(f"the {res.fitted.model or 'given'} result has no inference (coefficients, covariance, "
                         "grid), so its contrasts cannot be taken", kind="no inference")
    grid = inference.grid.frame
    have = set(grid["arm"].astype(str))
    lost = [f"{a} - {b}" for a, b in pairs if a not in have or b not in have]
    if lost:  # e.g. an arm without any usable value: the model left it out, the claim cannot be decided
        raise ModelError(f"the model has no comparison {', '.join(lost)} (an arm without usable data)",
                         kind="no comparison")
    visit = float(claim["visit"]) if "visit" in grid.columns else None
    con = res.compare(pairs=list(pairs), visit=visit, adjust="none", alpha=alpha)
    ratio = "log_estimate" in con.columns
    inst = res.instrument if res.instrument is not None else trial.instrument(claim["outcome"])
    sd = 1.0 if ratio else _baseline_sd(trial, claim["outcome"])
    measure = {"log": "ratio", "logit": "odds ratio"}.get(inference.link, "mean difference")
    sign = inst.sign if sign is None else sign
    return _from_rows(con, sign, ratio, alpha, sd), ("" if ratio else inst.units), measure, res


def _ancova(trial: Trial, claim: pd.Series, pairs, alpha: float, log: bool = False):
    from .models.ancova import ancova

    res = ancova(trial, claim["outcome"], claim["visit"], alpha=alpha, missing_baseline="exclude",
                 scale="log" if log else "identity")
    contrasts, units, _, res = from_result(res, trial, claim, pairs, alpha)
    return contrasts, units, "ratio of geometric means" if log else "mean difference", res


def _ancova_log(trial, claim, pairs, alpha):
    return _ancova(trial, claim, pairs, alpha, log=True)


def _count(trial, claim, pairs, alpha):
    from .models.counts import count_model

    measure = "rate ratio"
    try:
        res = count_model(trial, claim["outcome"], claim["visit"], alpha=alpha)
    except ModelError as err:
        if err.kind != "no overdispersion":   # branch on the error's kind, never on its text
            raise
        # no overdispersion: the negative binomial's theta runs to infinity and its limit is the Poisson fit
        res = count_model(trial, claim["outcome"], claim["visit"], alpha=alpha, family="poisson")
        measure = "rate ratio (Poisson: no overdispersion)"
    contrasts, units, _, res = from_result(res, trial, claim, pairs, alpha)
    return contrasts, units, measure, res


def _survival(trial, claim, pairs, alpha):
    from .models.survival import survival

    event = _second(claim)
    res = survival(trial, claim["outcome"], event, alpha=alpha)
    # the hazard is of the event (e.g. recovery): its instrument's direction says whether a higher hazard is the
    # benefit, whatever the time column's direction
    sign = trial.instruments[event].sign if event in trial.instruments else REGISTRY["recovered"].sign
    contrasts, _, _, res = from_result(res, trial, claim, pairs, alpha, sign=sign)
    return contrasts, "", f"hazard ratio ({event})", res


def _adherence(trial, claim, pairs, alpha):
    from .models.adherence import adherence

    # unadjusted, as for ancova; sessions of one patient are not independent trials, so when the binomial fit is
    # overdispersed (Pearson phi > 1) the quasi-binomial fit is used: the binomial SEs would be too small. phi is
    # the binomial fit's Pearson chi-square / df whichever scale is asked for, so the quasi-binomial fit comes
    # first and the binomial one is fitted only when phi <= 1 (one fit in the usual, overdispersed case)
    planned = _second(claim)
    res = adherence(trial, attended=claim["outcome"], planned=planned, alpha=alpha, adjust="none", scale="pearson")
    measure = "odds ratio (sessions attended; quasi-binomial)"
    if not res.phi > 1:
        res = adherence(trial, attended=claim["outcome"], planned=planned, alpha=alpha, adjust="none")
        measure = "odds ratio (sessions attended)"
    contrasts, _, _, res = from_result(res, trial, claim, pairs, alpha, sign=1)
    return contrasts, "", measure, res


def _safety(trial, claim, pairs, alpha):
    from .models.safety import adverse_events, noninferiority_rd

    res = adverse_events(trial, alpha=alpha)
    con = res.contrasts
    rows = pick(con.loc[(con["measure"] == "risk_difference") & (con["type"] == "any")], pairs,
                 ratio=False)  # any event
    arms = res.by_arm.set_index("arm")
    # standardised like a mean difference of a 0/1 variable: over the SD sqrt(p(1 - p)) of the pooled proportion
    pooled = float(arms["patients"].sum() / arms["n"].sum())
    sd = math.sqrt(pooled * (1 - pooled)) if 0 < pooled < 1 else 1.0
    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    # non-inferiority: Farrington-Manning score test of H0 risk difference >= margin (defined with 0 events too)
    fm = noninferiority_rd(arms.loc[first, "patients"], arms.loc[first, "n"], arms.loc[second, "patients"],
                           arms.loc[second, "n"], float(claim["mid"]))
    out = {}
    for (_, r), (_, f) in zip(rows.iterrows(), fm.iterrows()):
        # fewer patients with events is the benefit: benefit-signed effects are minus the risk difference, and
        # the verdict's interval is the reported (Newcombe) one
        eff, lo, hi = -float(r["estimate"]), -float(r["ci_high"]), -float(r["ci_low"])
        out[r["contrast"]] = Contrast(r["contrast"], float(r["estimate"]), float(r["ci_low"]),
                                       float(r["ci_high"]), eff, lo, hi, float(f["se"]), float(f["p"]),
                                       eff / sd, lo / sd, hi / sd)
    return out, "", "risk difference (patients with AEs)", res


def _mediation(trial, claim, pairs, alpha):
    from .models.mediation_shared import mediation_shared

    # "because pain falls first": the change in pain from baseline to the claim's visit (the first follow-up)
    # mediates the combined arm's effect on adherence; one mediation analysis per pair (two arms each), their
    # simulations (same seed) run from one stream of normals: the results of separate ct.mediation calls
    out = {}
    mediator = _second(claim)
    calls = [dict(treatment=(first, second), mediator=mediator, mediator_visit=float(claim["visit"]),
                  outcome="adherence", attended=claim["outcome"], n_sims=MEDIATION_SIMS, seed=0, alpha=alpha)
             for first, second in pairs]
    for (first, second), res in zip(pairs, mediation_shared(trial, calls)):
        acme = res.draws["acme_average"].to_numpy()
        row = res.effects.set_index("effect").loc["ACME (average)"]
        # one-sided Monte Carlo p for ACME > 0, never 0: (draws <= 0, plus one) / (draws, plus one)
        p_one = float((np.sum(acme <= 0) + 1) / (acme.size + 1))
        attended = res.data["attended"].sum() / res.data["planned"].sum()
        sd = math.sqrt(attended * (1 - attended)) if 0 < attended < 1 else 1.0
        label = f"{first} - {second}"
        out[label] = Contrast(label, float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"]),
                               float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"]), float(row["se"]),
                               p_one, float(row["estimate"]) / sd, float(row["ci_low"]) / sd,
                               float(row["ci_high"]) / sd, res.fitted)
    return out, "", f"ACME via early {mediator} change (proportion of sessions)", None


MODELS: dict[str, Callable] = {"ancova": _ancova, "ancova_log": _ancova_log, "count": _count,
                                "mediation": _mediation,
                                "survival": _survival, "adherence": _adherence, "safety": _safety}
#: the second column a model needs, when the claims table's optional ``with`` column leaves it blank: the event
#: flag of a survival claim, the planned sessions of an adherence claim, the mediator of a mediation claim
WITH_DEFAULTS = {"survival": "recovered", "adherence": "sessions_planned", "mediation": MEDIATOR}
NEEDS = {"mediation": ("sessions_planned",)}
#: models measured at the claim's visit: the claim is not testable when the trial has no data there
AT_VISIT = {"ancova": None, "ancova_log": None, "count": None, "mediation": "with"}


def with_column(claim: pd.Series) -> str | None:
    """The claim's second column: its ``with`` cell, else the model's default (``WITH_DEFAULTS``)."""
    given = str(claim.get("with", "") or "").strip()
    return given or WITH_DEFAULTS.get(claim["model"])


def _second(claim: pd.Series) -> str:
    """:func:`with_column` of a model that has a default, so never missing."""
    return with_column(claim) or WITH_DEFAULTS[claim["model"]]


def pick(table: pd.DataFrame, pairs, *, ratio: bool) -> pd.DataFrame:
    """The rows of ``pairs`` found by the table's ``first``/``second`` columns (never by parsing labels), flipping
    a pair the model gave the other way round: a difference changes sign, a ratio is inverted (``ratio`` says
    which; a table may carry an empty ``log_estimate`` column for its differences, as the adverse-event table
    does)."""
    key = table["first"].astype(str) + "\x00" + table["second"].astype(str)
    out = []
    for a, b in pairs:  # a handful of pairs
        row = table.loc[key == f"{a}\x00{b}"]
        if row.empty:
            row = table.loc[key == f"{b}\x00{a}"].copy()
            if ratio:
                row["log_estimate"] = -row["log_estimate"]
                with np.errstate(divide="ignore"):  # a ratio of 0 flips to infinity, as it should
                    row[["estimate", "ci_low", "ci_high"]] = 1 / row[["estimate", "ci_high", "ci_low"]].to_numpy()
            else:
                row[["estimate", "ci_low", "ci_high"]] = -row[["estimate", "ci_high", "ci_low"]].to_numpy()
            if "statistic" in row.columns:
                row["statistic"] = -row["statistic"]
        if row.empty:  # e.g. an arm without any usable value: the model left it out
            raise ModelError(f"the model has no comparison {a} - {b} (an arm without usable data)",
                             kind="no comparison", arm=b)
        out.append(row.iloc[:1].assign(first=a, second=b, contrast=f"{a} - {b}"))
    return pd.concat(out, ignore_index=True)
