"""Simulated randomised trials with known truth: the sample data generator.

:func:`simulate_trial` draws a trial of physiotherapy, acupuncture, their combination and (optionally)
usual care, with every registry instrument, correlated repeated measures, baseline covariates and
missing-at-random dropout. The true effects are data (:data:`DEFAULT_EFFECTS`, tabulated as
:data:`TRUTH`), so tests and the claims report can check that analyses recover them.
:func:`write_sample_data` writes the committed files of ``data/sample/`` from documented seeds.

The design, in one place (every number below is a module constant or a field of :class:`Effects`):

* Subjects are allocated to arms in the sizes asked (permuted, so ids do not reveal the arm);
  covariates: age (years, normal 50 +/- 13 clipped to 18-80), sex (55 % female), pain duration
  (months since onset, log-normal, median 9, about a fifth acute, i.e. < 3 months), site (4 sites).
* Each visit-level outcome is ``mean(arm, visit, covariates) + sd(visit) * e`` where ``e`` has, over
  visits, the correlation ``c + (1 - c) exp(-|t_i - t_j| / tau)`` (``c = 0.3``, ``tau = 10`` weeks) and
  visit-specific SDs (an unstructured covariance in all but name). Outcomes share a common
  "severity" factor, so pain, disability and quality of life move together.
* The mean change from baseline in arm ``a`` at week ``t`` is
  ``h_control * s_control(t) * (1 + acute) + (h_a - h_control) * s_a(t)`` where ``h`` is the change at
  week 12 of :class:`OutcomeEffect` and ``s`` the trajectory shape (1 at week 12): acute patients
  improve twice as much by natural history, treatment effects are the same in acute and chronic pain.
  Ratio outcomes (CRP, analgesic days) use the same formula on the log scale.
* Values are then rounded and clipped to the instrument's range (``_DESIGN``); CRP is log-normal,
  analgesic days are negative binomial (Poisson with a gamma multiplier) clipped at 28.
* Adherence: the combined arm's pain falls first (shape ``"early"``); the log-odds of attending each
  planned session rises by ``adherence_slope`` per point of pain fallen from baseline to the first
  follow-up visit, so early pain relief mediates the combined arm's better attendance.
* Recovery time: Weibull proportional hazards (shape 1.3) with the hazard ratios of
  ``Effects.recovery_hr`` (and 1.5 for acute pain), censored at dropout or at the last visit.
* Adverse events: Poisson counts per type over the treatment period (the first 12 weeks, shortened by
  dropout); needling events only in arms with acupuncture; none is serious.
* Dropout is monotone and missing at random: between visits ``j - 1`` and ``j`` a subject still in the
  study leaves with probability ``expit(a_j + 0.35 (pain_{j-1} - 5))`` where ``pain_{j-1}`` is the last
  observed pain; ``a_j`` is solved on the draw so that the expected proportion lost by the last visit is
  ``dropout`` (equal expected hazard per interval).
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .arms import CANONICAL_ARMS, arm_order, contrast_label, contrast_pairs
from .errors import DataError
from .files import write_text
from .instruments import REGISTRY, instrument_for
from .trial import Trial

__all__ = [
    "OutcomeEffect", "Effects", "DEFAULT_EFFECTS", "TRUTH", "PRIMARY_WEEK", "DEFAULT_VISITS",
    "SAMPLE_SEEDS", "SAMPLE_DESIGNS", "simulate_trial", "simulate_frame", "truth_table", "claim_truth",
    "report_truth",
    "write_sample_data",
    "sample_datapackage",
]

#: the primary visit at which effects are defined (weeks)
PRIMARY_WEEK = 12.0
DEFAULT_VISITS = (0, 4, 8, 12, 26)
#: sessions planned in every active arm (one a week for 12 weeks; in the combined arm each session
#: delivers both physiotherapy and acupuncture); usual care has no planned sessions (missing)
SESSIONS_PLANNED = 12
#: the treatment period in weeks (sessions and adverse events happen in it)
TREATMENT_WEEKS = 12.0
#: arms with each treatment component
_WITH_ACUPUNCTURE = ("acupuncture", "combined")
_WITH_PHYSIO = ("physio", "combined")

SHAPES = ("early", "gradual", "linear")


def _shape(name: str, t: np.ndarray) -> np.ndarray:
    """Fraction of the week-12 effect reached at week ``t`` (0 at baseline, 1 at week 12).

    ``early``: exponential approach with a 2-week time constant (most of it by week 4);
    ``gradual``: exponential with 6 weeks (natural history); ``linear``: linear to week 12, then flat.
    """
    t = np.asarray(t, dtype=float)
    if name == "linear":
        return np.minimum(t / PRIMARY_WEEK, 1.0)
    tau = {"early": 2.0, "gradual": 6.0}[name]
    return -np.expm1(-t / tau) / -np.expm1(-PRIMARY_WEEK / tau)


# --------------------------------------------------------------------------------------------------
# True effects
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutcomeEffect:
    """True mean trajectory of one visit-level outcome in each arm.

    Parameters
    ----------
    change : mapping arm -> float
        Mean change from baseline at week 12 in each arm (``scale="difference"``), or the ratio of the
        week-12 mean to the baseline mean (``scale="ratio"``). ``control`` is usual care, i.e. natural
        history; an arm's effect versus another is the difference (ratio) of their changes.
    shape : mapping arm -> str
        Trajectory shape per arm: ``"early"``, ``"gradual"`` or ``"linear"`` (see ``_shape``).
    scale : {"difference", "ratio"}
        Ratio outcomes (CRP, analgesic days) are simulated on the log scale.
    """

    change: Mapping[str, float]
    shape: Mapping[str, str] = field(default_factory=dict)
    scale: str = "difference"

    def log_change(self, arm: str) -> float:
        h = float(self.change[arm])
        return float(np.log(h)) if self.scale == "ratio" else h


@dataclass(frozen=True)
class Effects:
    """Every true effect of the simulator.

    Parameters
    ----------
    outcomes : mapping outcome -> OutcomeEffect
        Visit-level outcomes.
    recovery_hr : mapping arm -> float
        Hazard ratio of recovery versus usual care (``control`` = 1).
    adherence_slope : float
        Log-odds of attending a session per point of pain fallen from baseline to the first follow-up.
    adherence_direct : mapping arm -> float
        Log-odds of attendance beyond the path through early pain relief (0: fully mediated).
    adverse_rates : mapping type -> mapping arm -> float
        Expected events per subject over the full 12-week treatment period.
    """

    outcomes: Mapping[str, OutcomeEffect]
    recovery_hr: Mapping[str, float]
    adherence_slope: float = 0.55
    adherence_direct: Mapping[str, float] = field(default_factory=dict)
    adverse_rates: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @property
    def arms(self) -> list[str]:
        """Arms every effect is defined for."""
        sets = [set(o.change) for o in self.outcomes.values()] + [set(self.recovery_hr)]
        common = set.intersection(*sets)
        return arm_order(sorted(common))

    def updated(self, overrides: Mapping[str, Mapping[str, float]]) -> Effects:
        """A copy with some arm values replaced: ``{"pain": {"combined": -4.0}, "recovery_hr": {...}}``."""
        outcomes = dict(self.outcomes)
        kw: dict = {}
        for name, values in overrides.items():
            if isinstance(values, OutcomeEffect):
                outcomes[name] = values
                continue
            if not isinstance(values, Mapping):
                raise DataError(f"effects['{name}'] must be a mapping arm -> value, not {type(values).__name__}")
            if name in outcomes:
                outcomes[name] = replace(outcomes[name], change={**outcomes[name].change, **values})
            elif name in ("recovery_hr", "adherence_direct"):
                kw[name] = {**getattr(self, name), **values}
            elif name in self.adverse_rates:
                kw.setdefault("adverse_rates", dict(self.adverse_rates))[name] = {**self.adverse_rates[name], **values}
            else:
                known = sorted(outcomes) + ["recovery_hr", "adherence_direct"] + sorted(self.adverse_rates)
                raise DataError(f"effects: unknown entry '{name}'; known entries are {known}")
        return replace(self, outcomes=outcomes, **kw)


def _effect(change: dict, shape: dict | None = None, scale: str = "difference") -> OutcomeEffect:
    base = {"control": "gradual", "physio": "linear", "acupuncture": "linear", "combined": "linear"}
    return OutcomeEffect(MappingProxyType(change), MappingProxyType({**base, **(shape or {})}), scale)


# pain and what follows it fall early in the combined arm
_EARLY = {"combined": "early"}

#: The default truth. Changes at week 12 (control = natural history). Versus usual care the effects are
#: additive (combined = physio + acupuncture) for pain, disability, range of motion, analgesic days
#: (on the log scale), EQ-5D and recovery (log hazard); they are not for the null claims: CRP
#: (nothing works), endurance (physiotherapy only: acupuncture adds nothing) and PHQ-9 (every active arm
#: helps equally; the combination adds nothing: sub-additive).
DEFAULT_EFFECTS = Effects(
    outcomes=MappingProxyType({
        "pain": _effect({"control": -1.0, "physio": -2.3, "acupuncture": -2.2, "combined": -3.5}, _EARLY),
        "odi": _effect({"control": -5.0, "physio": -11.0, "acupuncture": -10.0, "combined": -16.0}, _EARLY),
        "rmdq": _effect({"control": -1.5, "physio": -3.5, "acupuncture": -3.2, "combined": -5.2}, _EARLY),
        "rom": _effect({"control": 2.0, "physio": 8.0, "acupuncture": 7.5, "combined": 13.5}),
        "crp": _effect({"control": 0.95, "physio": 0.95, "acupuncture": 0.95, "combined": 0.95}, scale="ratio"),
        "analgesic_days": _effect({"control": 0.8, "physio": 0.8 * 0.62, "acupuncture": 0.8 * 0.6,
                                   "combined": 0.8 * 0.62 * 0.6}, _EARLY, scale="ratio"),
        "phq9": _effect({"control": -1.0, "physio": -2.5, "acupuncture": -2.5, "combined": -2.5}),
        "eq5d": _effect({"control": 0.04, "physio": 0.145, "acupuncture": 0.14, "combined": 0.245}),
        "endurance": _effect({"control": 3.0, "physio": 21.0, "acupuncture": 3.0, "combined": 21.0}),
    }),
    recovery_hr=MappingProxyType({"control": 1.0, "physio": 2.1, "acupuncture": 2.0, "combined": 2.1 * 2.0}),
    adherence_slope=0.55,
    adherence_direct=MappingProxyType({"control": 0.0, "physio": 0.0, "acupuncture": 0.0, "combined": 0.0}),
    adverse_rates=MappingProxyType({
        "bruising": MappingProxyType({"control": 0.0, "physio": 0.0, "acupuncture": 0.35, "combined": 0.35}),
        "needle_pain": MappingProxyType({"control": 0.0, "physio": 0.0, "acupuncture": 0.30, "combined": 0.30}),
        "dizziness": MappingProxyType({"control": 0.02, "physio": 0.02, "acupuncture": 0.08, "combined": 0.08}),
        "muscle_soreness": MappingProxyType({"control": 0.05, "physio": 0.45, "acupuncture": 0.05,
                                             "combined": 0.45}),
    }),
)

#: claims of issue 5 (number, plain words) and the outcomes that test them
CLAIMS = {
    1: ("better pain relief", ("pain",)),
    2: ("more range of motion", ("rom",)),
    3: ("less inflammation", ("crp",)),
    4: ("faster recovery", ("recovery_time",)),
    5: ("more capacity to do the physiotherapy", ("sessions_attended",)),
    6: ("less dependence on painkillers", ("analgesic_days",)),
    7: ("more endurance and a better mood", ("endurance", "phq9")),
    8: ("better quality of life", ("eq5d",)),
}

# --------------------------------------------------------------------------------------------------
# Design constants (not effects): baseline means, SDs, loadings on the common factor, rounding, limits
# --------------------------------------------------------------------------------------------------
# base: baseline mean (log of the median for CRP, log of the mean for analgesic days);
# sd0/sd1: SD at baseline / from week 12 on (linear in between); load: loading on the common severity
# factor (sign: + when a worse state raises the value); decimals: rounding; lo/hi: clipping limits.
_DESIGN = MappingProxyType({
    "pain": dict(base=6.5, sd0=1.3, sd1=2.0, load=0.6, decimals=1, lo=0.0, hi=10.0),
    "odi": dict(base=36.0, sd0=12.0, sd1=15.0, load=0.6, decimals=0, lo=0.0, hi=100.0),
    "rmdq": dict(base=11.0, sd0=4.5, sd1=5.5, load=0.6, decimals=0, lo=0.0, hi=24.0),
    "rom": dict(base=42.0, sd0=9.0, sd1=10.0, load=-0.3, decimals=0, lo=0.0, hi=180.0),
    "crp": dict(base=float(np.log(2.5)), sd0=0.8, sd1=0.8, load=0.1, decimals=2, lo=0.01, hi=None),
    "analgesic_days": dict(base=float(np.log(13.0)), sd0=1.0, sd1=1.0, load=0.5, decimals=0, lo=0.0, hi=28.0),
    "phq9": dict(base=9.0, sd0=5.0, sd1=5.5, load=0.3, decimals=0, lo=0.0, hi=27.0),
    "eq5d": dict(base=0.56, sd0=0.16, sd1=0.18, load=-0.5, decimals=3, lo=-0.594, hi=1.0),
    "endurance": dict(base=65.0, sd0=30.0, sd1=35.0, load=-0.2, decimals=0, lo=0.0, hi=240.0),
})
VISIT_OUTCOMES = tuple(_DESIGN)
#: negative binomial shape of analgesic days (variance mu + mu^2 / k)
NB_SHAPE = 2.5
#: correlation over visits: c + (1 - c) exp(-|dt| / tau)
CORR_FLOOR, CORR_TAU = 0.3, 10.0
#: covariate effects on the mean: per year of age above 50, for women, per site (in SD units of severity)
AGE_EFFECT = MappingProxyType({"rom": -0.3, "endurance": -0.6, "eq5d": -0.002, "crp": 0.01})
FEMALE_EFFECT = MappingProxyType({"rom": 2.0, "endurance": 10.0})
SITES = ("site1", "site2", "site3", "site4")
SITE_PROBS = (0.3, 0.25, 0.25, 0.2)
SITE_SEVERITY = (0.0, 0.25, -0.2, 0.1)
#: pain duration: log-normal, median 9 months; acute = under 3 months
DURATION_MEDIAN, DURATION_LOGSD, ACUTE_MONTHS = 9.0, 1.3, 3.0
#: adherence: log-odds of attending at the reference early pain fall, its subject SD
ADHERENCE_BASE, ADHERENCE_REF_FALL, ADHERENCE_SD = float(special.logit(0.72)), 1.0, 0.7
#: recovery: Weibull shape, median weeks in usual care (chronic pain), hazard ratio for acute pain
WEIBULL_SHAPE, RECOVERY_MEDIAN, ACUTE_HR = 1.3, 30.0, 1.5
#: dropout: log-odds per point of last observed pain above 5
DROPOUT_SLOPE = 0.35
#: CRP samples lost at random (missing completely at random, each visit)
CRP_MISSING = 0.03

_SUBJECT_COLUMNS = ("sessions_attended", "sessions_planned", "recovery_time", "recovered", "adverse_events")


# --------------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------------
def _check_args(arms, n_per_arm, visits, dropout, effects) -> tuple[list[str], dict[str, int], np.ndarray, Effects]:
    if effects is None:
        eff = DEFAULT_EFFECTS
    elif isinstance(effects, Effects):
        eff = effects
    elif isinstance(effects, Mapping):
        eff = DEFAULT_EFFECTS.updated(effects)
    else:
        raise DataError(f"effects must be a ct.simulate.Effects or a mapping, not {type(effects).__name__}")
    if isinstance(arms, str) or not isinstance(arms, Sequence) or len(arms) == 0:
        raise DataError(f"arms must be a non-empty sequence of arm names such as {list(CANONICAL_ARMS)}")
    arms = [str(a) for a in arms]
    dup = sorted({a for a in arms if arms.count(a) > 1})
    if dup:
        raise DataError(f"arms: {dup} given more than once")
    unknown = [a for a in arms if a not in eff.arms]
    if unknown:
        raise DataError(f"arms: unknown arm(s) {unknown}; the simulator knows {eff.arms} "
                        "(give true effects for other arms through effects=)")
    if isinstance(n_per_arm, Mapping):
        missing = [a for a in arms if a not in n_per_arm]
        extra = [a for a in n_per_arm if a not in arms]
        if missing or extra:
            raise DataError(f"n_per_arm: sizes must be given for exactly the arms {arms}; "
                            f"missing {missing}, not in arms {extra}")
        sizes = {a: n_per_arm[a] for a in arms}
    else:
        sizes = {a: n_per_arm for a in arms}
    bad = {a: n for a, n in sizes.items() if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2}
    if bad:
        raise DataError(f"n_per_arm: each arm needs a whole number of at least 2 subjects; got {bad}")
    try:
        v = np.asarray(visits, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"visits must be numbers (weeks since randomisation), not {visits!r}") from None
    if v.ndim != 1 or v.size < 2 or not np.all(np.isfinite(v)):
        raise DataError("visits must be at least two finite numbers of weeks, baseline 0 first")
    if np.any(v < 0) or np.any(np.diff(v) <= 0) or v[0] != 0:
        raise DataError(f"visits must start at 0 (baseline) and increase strictly; got {v.tolist()}")
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
        raise DataError(f"dropout must be a proportion in [0, 1), not {dropout!r}")
    return arms, {a: int(n) for a, n in sizes.items()}, v, eff


def _generator(seed, rng) -> np.random.Generator:
    if rng is not None:
        if seed is not None:
            raise DataError("give either seed= or rng=, not both")
        if not isinstance(rng, np.random.Generator):
            raise DataError(f"rng must be a numpy.random.Generator, not {type(rng).__name__}")
        return rng
    if seed is None:
        raise DataError("simulate_trial needs seed= (an integer) or rng= (a numpy Generator) to be reproducible")
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------------
# The draw
# --------------------------------------------------------------------------------------------------
def _visit_corr(v: np.ndarray) -> np.ndarray:
    dt = np.abs(v[:, None] - v[None, :])
    return CORR_FLOOR + (1 - CORR_FLOOR) * np.exp(-dt / CORR_TAU)


def _visit_sd(d: Mapping, v: np.ndarray) -> np.ndarray:
    return d["sd0"] + (d["sd1"] - d["sd0"]) * np.minimum(v / PRIMARY_WEEK, 1.0)


def _mean_change(eff: OutcomeEffect, arm: np.ndarray, acute: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Mean change from baseline (log scale for ratios), subjects x visits."""
    h_ctrl = eff.log_change("control")
    out = (h_ctrl * _shape(eff.shape.get("control", "gradual"), v))[None, :] * (1.0 + acute[:, None])
    for a in np.unique(arm):
        rows = arm == a
        extra = (eff.log_change(a) - h_ctrl) * _shape(eff.shape.get(a, "linear"), v)
        out[rows] += extra[None, :]
    return out


def _draw(arms: list[str], sizes: dict[str, int], v: np.ndarray, eff: Effects, dropout: float,
          rng: np.random.Generator, id_prefix: str = "S") -> dict:
    """Draw one trial. Returns the canonical frame and the latent (unrounded, unclipped, complete) values."""
    n = sum(sizes.values())
    nv = v.size
    arm = rng.permutation(np.repeat(np.array(arms, dtype=object), [sizes[a] for a in arms])).astype(str)

    # covariates
    age = np.clip(np.round(rng.normal(50.0, 13.0, n)), 18, 80)
    sex = np.where(rng.random(n) < 0.55, "female", "male")
    duration = np.maximum(np.round(np.exp(rng.normal(np.log(DURATION_MEDIAN), DURATION_LOGSD, n)), 1), 0.5)
    acute = (duration < ACUTE_MONTHS).astype(float)
    site_idx = rng.choice(len(SITES), size=n, p=SITE_PROBS)
    site = np.array(SITES)[site_idx]
    female = (sex == "female").astype(float)

    # correlated errors: a common severity factor and one specific factor per outcome, each with the
    # visit correlation R; their mix has correlation R too, with unit variance
    chol = np.linalg.cholesky(_visit_corr(v))
    common = rng.standard_normal((n, nv)) @ chol.T
    latent: dict[str, np.ndarray] = {}
    for name, d in _DESIGN.items():
        specific = rng.standard_normal((n, nv)) @ chol.T
        w = abs(d["load"])
        z = np.sign(d["load"]) * np.sqrt(w) * (common + np.asarray(SITE_SEVERITY)[site_idx][:, None]) \
            + np.sqrt(1 - w) * specific
        mean = d["base"] + _mean_change(eff.outcomes[name], arm, acute, v)
        mean = mean + (AGE_EFFECT.get(name, 0.0) * (age - 50.0) + FEMALE_EFFECT.get(name, 0.0) * female)[:, None]
        if name == "analgesic_days":
            latent[name] = (mean, z)  # log mean and the copula normal
        else:
            latent[name] = mean + _visit_sd(d, v)[None, :] * z

    values: dict[str, np.ndarray] = {}
    for name, d in _DESIGN.items():
        if name == "crp":
            x = np.maximum(np.round(np.exp(latent[name]), d["decimals"]), d["lo"])
        elif name == "analgesic_days":
            log_mu, z = latent[name]
            # negative binomial as Poisson with a gamma(k, 1/k) multiplier taken from the correlated normal
            # (a Gaussian copula), so counts are correlated over visits with exact NB marginals
            g = stats.gamma.ppf(special.ndtr(z), a=NB_SHAPE, scale=1.0 / NB_SHAPE)
            counts = rng.poisson(np.exp(log_mu) * g).astype(float)
            latent[name] = counts
            x = np.minimum(counts, d["hi"])
        else:
            x = np.clip(np.round(latent[name], d["decimals"]), d["lo"], d["hi"])
        values[name] = x + 0.0  # no negative zeros

    # adherence: early pain fall (latent) drives attendance
    fall = latent["pain"][:, 0] - latent["pain"][:, 1]
    direct = _per_arm(eff.adherence_direct, arm, 0.0)
    logit_p = ADHERENCE_BASE + direct + eff.adherence_slope * (fall - ADHERENCE_REF_FALL) \
        + rng.normal(0.0, ADHERENCE_SD, n)
    p_attend = special.expit(logit_p)

    # monotone MAR dropout on the last observed (rounded) pain
    last = np.full(n, nv - 1)  # index of the last observed visit
    if dropout > 0:
        q = 1.0 - (1.0 - dropout) ** (1.0 / (nv - 1))
        in_study = np.ones(n, dtype=bool)
        for j in range(1, nv):
            x = DROPOUT_SLOPE * (values["pain"][in_study, j - 1] - 5.0)
            a = optimize.brentq(lambda a, x=x: special.expit(a + x).mean() - q, -30.0, 30.0)
            u = rng.random(n)
            leave = in_study & (u < special.expit(a + DROPOUT_SLOPE * (values["pain"][:, j - 1] - 5.0)))
            last[leave] = j - 1
            in_study &= ~leave
    dropped = last < nv - 1
    # dropout happens at a uniform time between the last visit attended and the next one
    nxt = v[np.minimum(last + 1, nv - 1)]
    end = np.where(dropped, v[last] + rng.random(n) * (nxt - v[last]), v[-1])
    observed = np.arange(nv)[None, :] <= last[:, None]
    for name in VISIT_OUTCOMES:
        values[name] = np.where(observed, values[name], np.nan)
    lost = rng.random((n, nv)) < CRP_MISSING
    values["crp"] = np.where(lost, np.nan, values["crp"])

    active = np.isin(arm, list(_WITH_ACUPUNCTURE) + list(_WITH_PHYSIO))
    available = np.floor(np.minimum(end, TREATMENT_WEEKS) / TREATMENT_WEEKS * SESSIONS_PLANNED).astype(int)
    attended = rng.binomial(np.where(active, available, 0), p_attend).astype(float)
    planned = np.where(active, float(SESSIONS_PLANNED), np.nan)
    attended = np.where(active, attended, np.nan)

    # recovery: Weibull proportional hazards, S(t) = exp(-(t / scale)^k * exp(eta))
    scale = RECOVERY_MEDIAN / np.log(2.0) ** (1.0 / WEIBULL_SHAPE)
    eta = np.log(_per_arm(eff.recovery_hr, arm, 1.0)) + np.log(ACUTE_HR) * acute
    t_rec = scale * (rng.exponential(1.0, n) / np.exp(eta)) ** (1.0 / WEIBULL_SHAPE)
    recovered = (t_rec <= end).astype(float)
    rec_time = np.maximum(np.round(np.minimum(t_rec, end), 1), 0.1)

    # adverse events over the (possibly shortened) treatment period
    exposure = np.minimum(end, TREATMENT_WEEKS) / TREATMENT_WEEKS
    ae = {f"ae_{k}": rng.poisson(_per_arm(r, arm, 0.0) * exposure).astype(float) for k, r in eff.adverse_rates.items()}
    ae_total = np.sum(list(ae.values()), axis=0) if ae else np.zeros(n)

    width = len(str(n))
    subject = np.char.add(id_prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width))
    frame = pd.DataFrame({
        "subject": np.repeat(subject, nv),
        "arm": np.repeat(arm, nv),
        "visit": np.tile(v, n),
        "age": np.repeat(age, nv),
        "sex": np.repeat(sex, nv),
        "pain_duration": np.repeat(duration, nv),
        "site": np.repeat(site, nv),
        **{name: values[name].ravel() for name in VISIT_OUTCOMES},
        "sessions_attended": np.repeat(attended, nv),
        "sessions_planned": np.repeat(planned, nv),
        "recovery_time": np.repeat(rec_time, nv),
        "recovered": np.repeat(recovered, nv),
        "adverse_events": np.repeat(ae_total, nv),
        **{k: np.repeat(x, nv) for k, x in ae.items()},
    })
    frame["arm"] = pd.Categorical(frame["arm"], categories=arm_order(arms), ordered=True)
    return {"frame": frame, "latent": latent, "p_attend": p_attend, "fall": fall, "last": last, "end": end,
            "t_recovery": t_rec, "acute": acute}


def _per_arm(values: Mapping[str, float], arm: np.ndarray, default: float) -> np.ndarray:
    out = np.full(arm.shape, default, dtype=float)
    for a, x in values.items():
        out[arm == a] = x
    return out


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------
def simulate_frame(
    *,
    arms: Sequence[str] = ("physio", "acupuncture", "combined"),
    n_per_arm: int | Mapping[str, int] = 120,
    visits: Sequence[float] = DEFAULT_VISITS,
    effects: Effects | Mapping | None = None,
    dropout: float = 0.15,
    seed: int | None = 2024,
    rng: np.random.Generator | None = None,
    id_prefix: str = "S",
) -> pd.DataFrame:
    """Simulate a trial as a canonical long DataFrame (see :func:`simulate_trial` for the arguments).

    ``id_prefix`` starts every subject id (``"S001"``...). With ``rng`` given, pass ``seed=None``.
    """
    arms, sizes, v, eff = _check_args(arms, n_per_arm, visits, dropout, effects)
    return _draw(arms, sizes, v, eff, float(dropout), _generator(seed, rng), id_prefix)["frame"]


def simulate_trial(
    *,
    arms: Sequence[str] = ("physio", "acupuncture", "combined"),
    n_per_arm: int | Mapping[str, int] = 120,
    visits: Sequence[float] = DEFAULT_VISITS,
    effects: Effects | Mapping | None = None,
    dropout: float = 0.15,
    seed: int | None = 2024,
    rng: np.random.Generator | None = None,
) -> Trial:
    """Simulate a randomised trial of physiotherapy, acupuncture, both, and usual care, with known truth.

    Parameters
    ----------
    arms : sequence of str
        Arms among ``control`` (usual care), ``physio``, ``acupuncture``, ``combined``.
    n_per_arm : int or mapping arm -> int
        Subjects per arm (at least 2); a mapping gives unbalanced arms.
    visits : sequence of float
        Visit weeks; must start at 0 (baseline) and increase. Effects are defined at week 12.
    effects : Effects or mapping, optional
        The truth; default :data:`DEFAULT_EFFECTS`. A mapping replaces single values, e.g.
        ``{"pain": {"combined": -4.0}, "recovery_hr": {"combined": 2.0}}``.
    dropout : float
        Expected proportion of subjects lost by the last visit (monotone, missing at random).
    seed : int, optional
        Seed of ``numpy.random.default_rng``; ignored when ``rng`` is given (then pass ``seed=None``).
    rng : numpy.random.Generator, optional
        A generator to draw from instead of a seed.

    Returns
    -------
    Trial
        Canonical long data (``subject, arm, visit``, covariates ``age, sex, pain_duration, site``, the
        visit-level outcomes, then subject-level ``sessions_attended, sessions_planned, recovery_time,
        recovered, adverse_events`` and ``ae_<type>``), loaded through :func:`combotherapy.load`.

    Raises
    ------
    DataError
        Unknown arm, fewer than 2 subjects in an arm, visits without baseline 0, dropout outside [0, 1).

    Notes
    -----
    For subject ``i`` in arm ``a`` with visit-level outcome ``y`` at week ``t``:

    .. math::

        y_{it} = \\mu_0 + x_i^\\top\\beta + h_c s_c(t)(1 + \\mathrm{acute}_i) + (h_a - h_c) s_a(t)
                 + \\sigma(t)\\,\\varepsilon_{it},\\quad
        \\operatorname{corr}(\\varepsilon_{it}, \\varepsilon_{iu}) = 0.3 + 0.7 e^{-|t-u|/10}

    then rounded and clipped to the instrument's range (log scale for CRP; analgesic days are
    negative binomial with mean :math:`\\exp(\\cdot)`). Arm effects versus each other at week 12 are
    :math:`h_a - h_b` on the latent scale; clipping at the range limits attenuates observed
    differences slightly. Sessions attended are binomial out of 12 with logit
    :math:`\\mathrm{logit}(0.72) + \\gamma_a + 0.55(\\Delta_i - 1) + u_i`, where :math:`\\Delta_i` is
    the fall in pain from baseline to the first follow-up visit. Recovery is Weibull (shape 1.3) with
    proportional hazards. Dropout is monotone, missing at random given the last observed pain.
    The full design is in the module docstring and ``data/sample/README.md``.

    References
    ----------
    Morris TP, White IR, Crowther MJ. Using simulation studies to evaluate statistical methods.
    Stat Med 2019;38:2074-2102.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm={"physio": 80, "acupuncture": 80, "combined": 100}, seed=1)
    >>> trial.n_subjects
    260
    """
    frame = simulate_frame(arms=arms, n_per_arm=n_per_arm, visits=visits, effects=effects, dropout=dropout,
                           seed=seed, rng=rng)
    trial = _to_trial(frame)
    # a Trial is immutable: the validated trial is relabelled through the documented fast constructor
    return Trial._from_validated(trial.data, trial.instruments, decisions=trial.decisions,
                                 source=f"simulate_trial(seed={seed if rng is None else '<Generator>'})")


def _to_trial(frame: pd.DataFrame) -> Trial:
    # the loader validates the draw like any other data; while parts of it (the identifier guard) are
    # still being written, fall back to building the canonical Trial directly
    try:
        from .io import load

        return load(frame)
    except ImportError:
        pass
    data = frame.assign(subject=frame["subject"].astype(str), visit=frame["visit"].astype(float))
    instruments = {c: instrument_for(c) for c in data.columns if instrument_for(c) is not None}
    return Trial(data, instruments, source="simulate_trial")


# --------------------------------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------------------------------
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

# --------------------------------------------------------------------------------------------------
# The committed sample files
# --------------------------------------------------------------------------------------------------
#: seeds of the committed files
SAMPLE_SEEDS = MappingProxyType({"three_arm": 20240301, "factorial": 20240302})
#: designs of the committed files (arguments of simulate_frame)
SAMPLE_DESIGNS = MappingProxyType({
    "three_arm": dict(arms=("physio", "acupuncture", "combined"), n_per_arm=120, dropout=0.15, id_prefix="T"),
    "factorial": dict(arms=("control", "physio", "acupuncture", "combined"), n_per_arm=100, dropout=0.15,
                      id_prefix="F"),
})
SAMPLE_TITLES = {
    "three_arm": "Three-arm trial: physiotherapy, acupuncture, combined (simulated)",
    "factorial": "2x2 factorial trial: usual care, physiotherapy, acupuncture, combined (simulated)",
}
_INTEGER_COLUMNS = ("age", "rmdq", "analgesic_days", "phq9", "sessions_attended", "sessions_planned", "recovered",
                    "adverse_events")


def _is_integer_column(c: str) -> bool:
    """Columns written as whole numbers (counts, flags, and outcomes the simulator rounds to units)."""
    return c in _INTEGER_COLUMNS or c.startswith("ae_") or (c in _DESIGN and _DESIGN[c]["decimals"] == 0)


def _csv_text(frame: pd.DataFrame) -> str:
    """Deterministic CSV: integers without decimals, floats already rounded (shortest repr), NA blank."""
    out = frame.copy()
    out["arm"] = out["arm"].astype(str)
    ints = [c for c in out.columns if _is_integer_column(c)
            or (c == "visit" and bool(np.all(np.mod(out[c], 1) == 0)))]
    for c in ints:
        out[c] = out[c].astype("Int64")
    return out.to_csv(index=False, lineterminator="\n", na_rep="")


_FIELD_TEXT = {
    "subject": ("string", "Subject identifier (simulated)", None),
    "arm": ("string", "Randomised arm", None),
    "visit": ("number", "Visit, weeks since randomisation (0 = baseline)", "weeks"),
    "age": ("integer", "Age at randomisation", "years"),
    "sex": ("string", "Sex", None),
    "pain_duration": ("number", "Time since onset of the current episode of back pain (< 3 = acute)", "months"),
    "site": ("string", "Recruiting site", None),
}


#: what a column means in the simulated files, beyond the registry's description
_SIM_NOTES = {
    "pain": "missing after dropout (monotone, missing at random given the last observed pain).",
    "crp": "log-normal; about 3 % of samples lost at random.",
    "analgesic_days": "negative binomial (shape 2.5) clipped at 28.",
    "sessions_attended": "treatment sessions attended in the first 12 weeks: physiotherapy, acupuncture, or both "
                         "at one visit in the combined arm; blank in usual care (no sessions).",
    "sessions_planned": "12 weekly treatment sessions in every active arm; blank in usual care.",
    "recovery_time": "censored at dropout or at week 26.",
    "adverse_events": "sum of the ae_<type> columns; none serious.",
    "ae_": "count over the 12-week treatment period (shortened by dropout); not serious.",
}


def _schema(frame: pd.DataFrame) -> dict:
    fields = []
    for c in frame.columns:
        cons: dict = {}
        if c in _FIELD_TEXT:
            typ, desc, unit = _FIELD_TEXT[c]
            if c in ("subject", "arm", "visit"):
                cons["required"] = True
            if c == "age":
                cons.update(minimum=18, maximum=80)
            if c == "visit":
                cons["minimum"] = 0
            if c == "pain_duration":
                cons["minimum"] = 0
        else:
            inst = instrument_for(c)
            typ = "integer" if (inst.integer or _is_integer_column(c)) else "number"
            desc = f"{inst.label}: {inst.description}"
            unit = inst.units
            if c in _DESIGN and not inst.integer:
                dec = _DESIGN[c]["decimals"]
                desc += " (recorded as whole numbers)" if dec == 0 else f" (recorded to {dec} decimal{'s' * (dec > 1)})"
            note = _SIM_NOTES.get("ae_" if c.startswith("ae_") else c)
            if note:
                desc += f". Simulation: {note}"
            lo, hi = inst.low, inst.high
            if c in _DESIGN:  # the simulator's own limits where tighter than the registry's
                d = _DESIGN[c]
                lo = d["lo"] if lo is None else max(lo, d["lo"])
                hi = d["hi"] if hi is None else (hi if d["hi"] is None else min(hi, d["hi"]))
            if lo is not None:
                cons["minimum"] = int(lo) if typ == "integer" else lo
            if hi is not None:
                cons["maximum"] = int(hi) if typ == "integer" else hi
        if c in ("arm", "sex", "site"):
            cons["enum"] = [str(x) for x in (frame[c].cat.categories if c == "arm" else sorted(frame[c].unique()))]
        f = {"name": c, "type": typ, "description": desc}
        if unit:
            f["unit"] = unit
        if cons:
            f["constraints"] = cons
        fields.append(f)
    return {"fields": fields, "primaryKey": ["subject", "visit"], "missingValues": [""]}


def _versions() -> dict:
    return {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__}


def sample_datapackage(frames: Mapping[str, pd.DataFrame], texts: Mapping[str, str],
                       versions: Mapping[str, str] | None = None) -> dict:
    """The Frictionless Data Package descriptor of the sample files (``versions``: of the writing software)."""
    import hashlib

    resources = []
    for name, frame in frames.items():
        design = SAMPLE_DESIGNS[name]
        data = texts[name].encode("utf-8")
        resources.append({
            "name": name.replace("_", "-"),
            "path": f"{name}.csv",
            "profile": "tabular-data-resource",
            "title": SAMPLE_TITLES[name],
            "description": (f"Simulated by combotherapy.simulate.simulate_frame(arms={list(design['arms'])}, "
                            f"n_per_arm={design['n_per_arm']}, dropout={design['dropout']}, "
                            f"seed={SAMPLE_SEEDS[name]}). Long layout: one row per subject and visit; "
                            "subject-level columns repeat on every row of the subject."),
            "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "bytes": len(data), "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
            "schema": _schema(frame),
        })
    return {
        "name": "combotherapy-sample",
        "title": "combotherapy sample trials (simulated, with known truth)",
        "description": "Simulated randomised trials of physiotherapy, acupuncture and both for low back pain. "
                       "Not real patients. True effects: README.md.",
        "licenses": [{"name": "CC0-1.0", "title": "CC0 1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/"}],
        "profile": "tabular-data-package",
        "resources": resources,
        "x-combotherapy": {"generator": "combotherapy.simulate.write_sample_data", "seeds": dict(SAMPLE_SEEDS),
                           "versions": dict(versions or _versions())},
    }


def _truth_markdown(arms: Sequence[str]) -> str:
    tab = truth_table(arms)
    lines = ["| claim | outcome | measure | contrast | true value | direction | truth |", "|---|---|---|---|---|---|---|"]
    for r in tab.itertuples(index=False):
        lines.append(f"| {r.claim or ''} | {r.outcome} | {r.measure} | {r.contrast} | {r.value:.4g} | {r.direction} "
                     f"| {r.truth} |")
    return "\n".join(lines)


def _effects_markdown() -> str:
    arms = list(CANONICAL_ARMS)
    lines = ["| outcome | scale | " + " | ".join(arms) + " | shapes |", "|---|---|" + "---|" * len(arms) + "---|"]
    for name, oe in DEFAULT_EFFECTS.outcomes.items():
        vals = " | ".join(f"{oe.change[a]:.4g}" for a in arms)
        shapes = ", ".join(f"{a}: {oe.shape[a]}" for a in arms)
        lines.append(f"| {name} | {'ratio to baseline' if oe.scale == 'ratio' else 'change'} | {vals} | {shapes} |")
    lines.append("| recovery (hazard ratio vs control) | ratio | "
                 + " | ".join(f"{DEFAULT_EFFECTS.recovery_hr[a]:.4g}" for a in arms) + " | Weibull, shape 1.3 |")
    for k, r in DEFAULT_EFFECTS.adverse_rates.items():
        lines.append(f"| ae_{k} (events per subject, 12 weeks) | rate | " + " | ".join(f"{r[a]:.3g}" for a in arms)
                     + " | Poisson |")
    return "\n".join(lines)


def _claims_sentence() -> str:
    ct_ = claim_truth()
    held = ", ".join(str(c) for c in ct_.loc[ct_["truth"] == "true", "claim"])
    not_held = ", ".join(str(c) for c in ct_.loc[ct_["truth"] == "null", "claim"])
    return f"claims {held} hold; {not_held} do not"


def _readme(frames: Mapping[str, pd.DataFrame], versions: Mapping[str, str] | None = None) -> str:
    v = dict(versions or _versions())
    parts = [
        "# Sample data (simulated, with known truth)",
        "",
        "Two simulated randomised trials for low back pain, written by `combotherapy.simulate.write_sample_data`. "
        "They are not real patients. Regenerate them with",
        "",
        "```bash",
        "python -c \"import combotherapy.simulate as s; s.write_sample_data('data/sample')\"",
        "```",
        "",
        f"Written with Python {v['python']}, numpy {v['numpy']} and pandas {v['pandas']}. numpy does not promise the "
        "same random streams across versions, so another numpy may write different (equally valid) numbers; "
        "`tests/test_simulate.py` checks the bytes only under the recorded numpy version.",
        "",
        "| file | design | subjects | seed |",
        "|---|---|---|---|",
    ]
    for name, frame in frames.items():
        d = SAMPLE_DESIGNS[name]
        parts.append(f"| `{name}.csv` | {SAMPLE_TITLES[name]}; {d['n_per_arm']} per arm, visits 0, 4, 8, 12, 26 weeks, "
                     f"{d['dropout']:.0%} expected dropout | {frame['subject'].nunique()} | {SAMPLE_SEEDS[name]} |")
    parts += [
        "",
        "`datapackage.json` is the data dictionary (a Frictionless Data Package with a Table Schema per file: "
        "types, units, ranges, the allowed arms, sexes and sites, primary key `subject, visit`).",
        "",
        "## Layout",
        "",
        "Long: one row per subject and visit, canonical column names. Visit-level outcomes are blank after "
        "a subject drops out (rows are kept); subject-level columns (covariates, `sessions_*`, `recovery_time`, "
        "`recovered`, `adverse_events`, `ae_<type>`) repeat on every row of the subject. About 3 % of CRP "
        "samples are missing at random (lost samples). Usual care has no planned sessions: `sessions_planned` "
        "and `sessions_attended` are blank in the `control` arm. In the other arms 12 weekly sessions are "
        "planned (physiotherapy, acupuncture, or both in one visit in the combined arm).",
        "",
        "## Design",
        "",
        "* Covariates: age (normal 50 +/- 13, 18-80), sex (55 % female), pain duration (log-normal, median 9 "
        "months; about 20 % acute, under 3 months), site (4 sites; sites shift severity).",
        "* Repeated measures: mean trajectory + visit-specific SD x a correlated error, correlation "
        "0.3 + 0.7 exp(-|t - u| / 10 weeks) between visits; outcomes share a common severity factor. Values are "
        "rounded and clipped to the instrument's range. CRP is log-normal; analgesic days are negative binomial "
        "(shape 2.5) clipped at 28.",
        "* Natural history (usual care) improves everyone; acute patients improve twice as much. Treatment effects "
        "are the same in acute and chronic pain (physiotherapy helps after years of pain).",
        "* Pain, disability and analgesic use fall early in the combined arm (most of the effect by week 4). "
        f"Attendance rises with the fall in pain by week 4 ({DEFAULT_EFFECTS.adherence_slope:g} log-odds per point), "
        "so the combined arm's better "
        "adherence is mediated by early pain relief (no direct effect).",
        "* Recovery: Weibull proportional hazards, censored at dropout or week 26.",
        "* Dropout: monotone, missing at random given the last observed pain (0.35 log-odds per point).",
        "* Adverse events: Poisson counts over the 12-week treatment period; needling events (bruising, "
        "needle pain, more dizziness) only with acupuncture, muscle soreness with physiotherapy; none serious.",
        "",
        "## True effects",
        "",
        "Change from baseline at week 12 by arm (control = usual care, i.e. natural history; for ratio outcomes "
        "the ratio of the week-12 mean to baseline). Versus usual care the combination is additive (log scale for "
        "ratios and hazards) except for the null claims: CRP (no arm changes it), endurance (physiotherapy only) "
        "and PHQ-9 (all active arms equal: sub-additive).",
        "",
        _effects_markdown(),
        "",
        "The true contrasts (latent scale; clipping at range limits attenuates observed differences slightly; "
        "the adherence difference is without dropout). `truth` marks the claims of the claims report: `true` = "
        "combined is better than that monotherapy, `null` = it is not; a claim holds when every row of it is "
        f"`true` (`combotherapy.simulate.claim_truth()`: {_claims_sentence()}). "
        "`direction` says whether the first arm of the contrast is better on the instrument's own scale.",
        "",
        _truth_markdown(CANONICAL_ARMS),
        "",
    ]
    return "\n".join(parts)


def sample_files(versions: Mapping[str, str] | None = None) -> dict[str, str]:
    """The text of every file of ``data/sample/`` as the simulator writes it (file name -> text).

    ``versions`` (``{"python": ..., "numpy": ..., "pandas": ...}``) replaces the running versions in the
    README and data package, so a test can compare everything but the recorded versions.
    """
    frames = {name: simulate_frame(seed=SAMPLE_SEEDS[name], **SAMPLE_DESIGNS[name]) for name in SAMPLE_DESIGNS}
    texts = {name: _csv_text(f) for name, f in frames.items()}
    files = {f"{name}.csv": t for name, t in texts.items()}
    files["datapackage.json"] = json.dumps(sample_datapackage(frames, texts, versions), indent=2) + "\n"
    files["README.md"] = _readme(frames, versions)
    return files


def write_sample_data(folder: str | Path) -> list[Path]:
    """Write the sample trials, their data package and README into ``folder`` (atomically, file by file).

    Example
    -------
    >>> from combotherapy.simulate import write_sample_data
    >>> write_sample_data("data/sample")  # doctest: +SKIP
    """
    folder = Path(folder)
    return [write_text(folder / name, text) for name, text in sample_files().items()]
