"""The simulator's design constants and its true effects (:data:`DEFAULT_EFFECTS`), with the argument checks
and the mean trajectory that the draw (:mod:`.generator`) and the truth tables (:mod:`.truth`) share.

The design is described in full in the package docstring (:mod:`combotherapy.simulate`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
from scipy import special

from ..arms import CANONICAL_ARMS, arm_order
from ..errors import DataError

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


# --------------------------------------------------------------------------------------------------
# The mean trajectory (shared by the draw and the truth)
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
