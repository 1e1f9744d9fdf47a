"""The design of a planned trial (:class:`Design`) and the draw of one simulated trial from it.

The draw uses the simulator's model and constants (:mod:`combotherapy.simulate.effects`: baseline means, SDs,
loadings on the common severity factor, the visit correlation, covariate effects, the true mean trajectories,
rounding and clipping, monotone missing-at-random dropout on the last observed pain) but only for the
visit-level outcomes an analysis needs, as arrays: no DataFrame, no loader. That is the fast path that lets a
simulated trial cost about a millisecond instead of the tens of milliseconds of a full ``simulate_trial``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import optimize, special

from ..arms import arm_order
from ..errors import DataError
from ..simulate.effects import (
    _DESIGN,
    ACUTE_MONTHS,
    AGE_EFFECT,
    DEFAULT_EFFECTS,
    DEFAULT_VISITS,
    DROPOUT_SLOPE,
    DURATION_LOGSD,
    DURATION_MEDIAN,
    FEMALE_EFFECT,
    SITE_PROBS,
    SITE_SEVERITY,
    SITES,
    Effects,
    OutcomeEffect,
    _check_args,
    _mean_change,
    _visit_corr,
    _visit_sd,
)

#: visit-level outcomes on the difference scale (analysed by ANCOVA on the raw values)
POWER_OUTCOMES = tuple(k for k, e in DEFAULT_EFFECTS.outcomes.items() if e.scale == "difference")
#: covariates a design may adjust for (the simulator's baseline covariates)
POWER_COVARIATES = ("age", "sex", "site", "pain_duration")


@dataclass(frozen=True)
class Design:
    """A planned trial and its analysis.

    Parameters
    ----------
    arms : tuple of str
        Arms (canonical names), e.g. ``("physio", "acupuncture", "combined")``.
    n : tuple of int
        The grid of sizes: subjects per unit of allocation (per arm when the allocation is equal).
    allocation : tuple of float
        Allocation ratio per arm, aligned with ``arms`` (``(1, 1, 2)``: twice as many in the last arm).
        An arm gets ``round(n * ratio)`` subjects.
    visits : tuple of float
        Visit weeks, baseline 0 first.
    visit : float
        The analysed follow-up visit.
    outcomes : tuple of str
        Outcomes analysed; each is one claim of the claims family.
    effects : Effects
        The truth (the simulator's :class:`~combotherapy.simulate.Effects`).
    dropout : float
        Expected proportion lost by the last visit (monotone, missing at random on the last observed pain).
    covariates : tuple of str
        Adjustment covariates of the ANCOVA among ``age, sex, site, pain_duration``.
    model : str
        ``"ancova"`` (the fast array path) or another model name of :data:`combotherapy.models.catalog.FITS`
        (analysed through the shared inference interface on a Trial built from the draw; slower).
    alpha : float
        Two-sided level of the arm contrasts.
    one_sided_alpha : float
        One-sided level of the combination rule and of the claims family (Holm over outcomes).
    analysis : {"contrasts", "claims"}
        ``"contrasts"``: the outcomes' arm contrasts, the combination rule and Holm over the outcomes;
        ``"claims"``: the full claims report (:func:`combotherapy.claims_report`: every claim's model, the
        ``multiplicity`` rule, the verdict rule with the MID) on each simulated trial, at level ``alpha``.
    claims : tuple of dict
        The claims table's rows (``analysis="claims"``; default the package's table).
    multiplicity : {"holm", "fixed-sequence", "none"}
        The claims report's adjustment across claims.
    survival : dict, optional
        A time-to-event outcome (``recovery_time``; the hazard is of recovery, higher is better): ``hr`` (arm ->
        hazard ratio against the baseline hazard, default 1), ``median`` (weeks, baseline hazard), ``shape``
        (Weibull shape, 1 = exponential), ``follow_up`` (weeks: administrative censoring), ``dropout``
        (proportion lost to follow-up by then, exponential censoring), ``test`` (``"cox"``: the Wald test of Cox
        regression on arm; ``"logrank"``: the log-rank test of each pair of arms; the estimate is the Cox log
        hazard ratio either way).
    count : dict, optional
        A count outcome (``analgesic_days`` at the visit; lower is better): ``mean`` (of an arm with rate ratio
        1), ``rate_ratio`` (arm -> rate ratio, default 1), ``dispersion`` (negative binomial size theta:
        variance mu + mu^2 / theta; None: Poisson), ``dropout`` (proportion missing, completely at random).
        Analysed by negative binomial regression on arm (Poisson when theta runs to infinity).
    """

    arms: tuple[str, ...] = ("physio", "acupuncture", "combined")
    n: tuple[int, ...] = (100,)
    allocation: tuple[float, ...] = (1.0, 1.0, 1.0)
    visits: tuple[float, ...] = tuple(float(v) for v in DEFAULT_VISITS)
    visit: float = 12.0
    outcomes: tuple[str, ...] = ("pain",)
    effects: Effects = field(default=DEFAULT_EFFECTS, compare=False)
    dropout: float = 0.15
    covariates: tuple[str, ...] = ()
    model: str = "ancova"
    alpha: float = 0.05
    one_sided_alpha: float = 0.025
    #: the user's effect overrides as given (kept for the JSON form of the design)
    overrides: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    analysis: str = "contrasts"
    claims: tuple[Mapping[str, Any], ...] = ()
    multiplicity: str = "holm"
    survival: Mapping[str, Any] | None = None
    count: Mapping[str, Any] | None = None

    def all_outcomes(self) -> tuple[str, ...]:
        """The outcomes of the contrasts analysis: the visit-level ones, then the survival and count outcomes."""
        return (*self.outcomes, *(("recovery_time",) if self.survival else ()),
                *(("analgesic_days",) if self.count else ()))

    def sizes(self, n: int) -> dict[str, int]:
        """Subjects per arm at grid size ``n``."""
        return {a: int(round(n * r)) for a, r in zip(self.arms, self.allocation)}

    def null(self) -> Design:
        """The same design under the global null: every arm has the mean of the arms' changes (and one shape)."""
        outcomes: dict[str, OutcomeEffect] = dict(self.effects.outcomes)
        for name in self.outcomes:
            e = outcomes[name]
            mean = float(np.mean([e.change[a] for a in self.arms]))
            change = {**e.change, **{a: mean for a in self.arms}}
            shape = {**e.shape, **{a: "linear" for a in self.arms}}
            outcomes[name] = replace(e, change=change, shape=shape)
        eff = replace(self.effects, outcomes=outcomes)
        if self.analysis == "claims":  # every claim's truth: subject-level effects the same in every arm too
            for name in self.effects.outcomes:
                e = outcomes[name]
                mean = float(np.mean([e.change[a] for a in self.arms]))
                outcomes[name] = replace(e, change={**e.change, **{a: mean for a in self.arms}},
                                         shape={**e.shape, **{a: "linear" for a in self.arms}})
            hr = float(np.exp(np.mean([np.log(self.effects.recovery_hr.get(a, 1.0)) for a in self.arms])))
            direct = float(np.mean([self.effects.adherence_direct.get(a, 0.0) for a in self.arms]))
            rates = {k: {**r, **{a: float(np.mean([r.get(b, 0.0) for b in self.arms])) for a in self.arms}}
                     for k, r in self.effects.adverse_rates.items()}
            eff = replace(eff, outcomes=outcomes, recovery_hr={**self.effects.recovery_hr, **{a: hr for a in self.arms}},
                          adherence_direct={**self.effects.adherence_direct, **{a: direct for a in self.arms}},
                          adverse_rates=rates)

        def same(ratios: Mapping[str, float]) -> dict[str, float]:  # every arm at the arms' geometric mean
            g = float(np.exp(np.mean(np.log([ratios[a] for a in self.arms]))))
            return {a: g for a in self.arms}

        surv = None if self.survival is None else {**self.survival, "hr": same(self.survival["hr"])}
        count = None if self.count is None else {**self.count, "rate_ratio": same(self.count["rate_ratio"])}
        return replace(self, effects=eff, survival=surv, count=count)

    def to_json(self) -> dict[str, Any]:
        """The design as plain JSON (what ``make_design(**d)`` reads back)."""
        return {"arms": list(self.arms), "n": list(self.n), "allocation": list(self.allocation),
                "visits": list(self.visits), "visit": self.visit, "outcomes": list(self.outcomes),
                "effects": {k: dict(v) for k, v in self.overrides.items()}, "dropout": self.dropout,
                "covariates": list(self.covariates), "model": self.model, "alpha": self.alpha,
                "one_sided_alpha": self.one_sided_alpha,
                **({"analysis": "claims", "claims": [dict(c) for c in self.claims], "multiplicity": self.multiplicity}
                   if self.analysis == "claims" else {}),
                **({"survival": _json_spec(self.survival)} if self.survival else {}),
                **({"count": _json_spec(self.count)} if self.count else {})}

    def key(self) -> str:
        """A canonical text of the design (a resumed run must have the same)."""
        return json.dumps(self.to_json(), sort_keys=True)


def _json_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in spec.items()}


SURVIVAL_KEYS = {"hr": None, "median": 30.0, "shape": 1.0, "follow_up": 52.0, "dropout": 0.0, "test": "cox"}
COUNT_KEYS = {"rate_ratio": None, "mean": 13.0, "dispersion": 1.5, "dropout": 0.0}


def _spec(spec: Any, what: str, defaults: dict[str, Any], ratio_key: str, arms: Sequence[str]) -> dict[str, Any] | None:
    """Check a survival or count outcome's parameters; every problem in one ``DataError``."""
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise DataError(f"{what} must be a mapping of its parameters {sorted(defaults)}", kind="bad design")
    unknown = sorted(set(spec) - set(defaults))
    problems = [f"unknown entries {unknown} (known: {sorted(defaults)})"] if unknown else []
    out = {k: spec.get(k, v) for k, v in defaults.items()}
    ratios = dict(out[ratio_key] or {})
    extra = [a for a in ratios if a not in arms]
    if extra:
        raise DataError(f"{what} gives a {ratio_key} for the arm '{extra[0]}', which is not in the design's arms "
                        f"{list(arms)}; add the arm to arms= or remove it", kind="unknown arm", arm=extra[0])
    try:
        out[ratio_key] = {a: float(ratios.get(a, 1.0)) for a in arms}
    except (TypeError, ValueError):
        problems.append(f"{ratio_key} values must be numbers")
        out[ratio_key] = {}
    if any(not (np.isfinite(r) and r > 0) for r in out[ratio_key].values()):
        problems.append(f"{ratio_key} values must be positive numbers")
    if out.get("test", "cox") not in ("cox", "logrank"):
        problems.append(f"test = {out['test']!r} must be 'cox' (Wald test of the Cox model) or 'logrank'")
    for k, v in out.items():
        if k in (ratio_key, "test") or (k == "dispersion" and v is None):
            continue
        ok = isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v)
        ok = ok and (0 <= v < 1 if k == "dropout" else v > 0)
        if not ok:
            problems.append(f"{k} = {v!r} must be {'in [0, 1)' if k == 'dropout' else 'a positive number'}")
        else:
            out[k] = float(v)
    if problems:
        raise DataError(f"the {what} outcome's parameters: " + "; ".join(problems), kind="bad design")
    return out


def _allocation(allocation: Any, arms: Sequence[str]) -> tuple[float, ...]:
    if allocation is None:
        return tuple(1.0 for _ in arms)
    if isinstance(allocation, str):
        parts = allocation.split(":")
        try:
            allocation = [float(p) for p in parts]
        except ValueError:
            raise DataError(f"allocation '{allocation}' must be ratios such as '2:1:1'") from None
    if isinstance(allocation, Mapping):
        extra = [a for a in allocation if a not in arms]
        missing = [a for a in arms if a not in allocation]
        if extra or missing:
            raise DataError(f"allocation must give a ratio for exactly the arms {list(arms)}; missing {missing}, "
                            f"not in the design {extra}", kind="unknown arm", arm=(extra or missing)[0])
        allocation = [allocation[a] for a in arms]
    ratios = [float(r) for r in allocation]
    if len(ratios) != len(arms):
        raise DataError(f"allocation has {len(ratios)} ratios for {len(arms)} arms {list(arms)}")
    if any(not np.isfinite(r) or r < 0 for r in ratios):
        raise DataError(f"allocation ratios must be non-negative numbers; got {ratios}")
    return tuple(ratios)


def make_design(*, arms: Sequence[str] = ("physio", "acupuncture", "combined"), n: int | Sequence[int] = 100,
                allocation: Any = None, visits: Sequence[float] = DEFAULT_VISITS, visit: float = 12.0,
                outcomes: str | Sequence[str] = ("pain",), effects: Effects | Mapping | None = None,
                dropout: float = 0.15, covariates: Sequence[str] = (), model: str = "ancova",
                alpha: float = 0.05, one_sided_alpha: float = 0.025, analysis: str = "contrasts",
                claims: Any = None, multiplicity: str = "holm", survival: Mapping[str, Any] | None = None,
                count: Mapping[str, Any] | None = None) -> Design:
    """Check the arguments of a design and build it (see :class:`Design`); every problem is a ``DataError``."""
    from ..arguments import check_alpha, check_choice
    from ..models.catalog import FITS
    from .claims_path import claims_table

    arms = [str(a) for a in arms] if not isinstance(arms, str) else [arms]
    arms = arm_order(arms)
    ns = [n] if isinstance(n, int | np.integer) else list(n)
    if not ns or any(isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1 for k in ns):
        raise DataError(f"n must be a positive whole number or a list of them; got {ns}")
    alloc = _allocation(allocation, arms)
    overrides: dict[str, dict[str, float]] = {}
    if isinstance(effects, Mapping):
        bad = {(o, a) for o, m in effects.items() if isinstance(m, Mapping) for a in m if a not in arms}
        if bad:
            o, a = sorted(bad)[0]
            raise DataError(f"effects give a value for the arm '{a}' ({o}), which is not in the design's arms "
                            f"{arms}; add the arm to arms= or remove its effect", kind="unknown arm", arm=a)
        overrides = {o: {a: float(x) for a, x in m.items()} for o, m in effects.items()}
    outs = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    unknown = [o for o in outs if o not in POWER_OUTCOMES]
    surv = _spec(survival, "survival", SURVIVAL_KEYS, "hr", arms)
    cnt = _spec(count, "count", COUNT_KEYS, "rate_ratio", arms)
    analysis = check_choice(analysis, ("contrasts", "claims"), "analysis")
    multiplicity = check_choice(multiplicity, ("holm", "fixed-sequence", "none"), "multiplicity")
    table = claims_table(claims) if analysis == "claims" else ()
    if unknown or not (outs or surv or cnt):
        raise DataError(f"outcomes {unknown}: power is simulated for the visit-level outcomes {list(POWER_OUTCOMES)}",
                        kind="unknown outcome")
    bad_cov = [c for c in covariates if c not in POWER_COVARIATES]
    if bad_cov:
        raise DataError(f"covariates {bad_cov}: a design can adjust for {list(POWER_COVARIATES)}", kind="unknown")
    if model not in FITS:
        raise DataError(f"model '{model}' is not one of {sorted(FITS)}", kind="unknown model")
    arms_l, _, v, eff = _check_args(arms, 2, visits, dropout, effects)
    if float(visit) not in set(v.tolist()) or float(visit) == 0.0:
        raise DataError(f"visit {visit} is not a follow-up visit of the design ({v.tolist()})", kind="other visit")
    design = Design(arms=tuple(arms_l), n=tuple(int(k) for k in ns), allocation=alloc,
                    visits=tuple(float(x) for x in v), visit=float(visit), outcomes=tuple(outs), effects=_plain(eff),
                    dropout=float(dropout), covariates=tuple(covariates), model=model, alpha=check_alpha(alpha),
                    one_sided_alpha=check_alpha(one_sided_alpha), overrides=overrides, analysis=analysis,
                    claims=table, multiplicity=multiplicity, survival=surv, count=cnt)
    for k in design.n:
        check_sizes(design, k)
    return design


def _plain(eff: Effects) -> Effects:
    """The effects with plain dicts instead of read-only mapping proxies, so a design pickles (Dask workers in
    other processes or on other machines receive it)."""
    outcomes = {k: OutcomeEffect(dict(e.change), dict(e.shape), e.scale) for k, e in eff.outcomes.items()}
    return Effects(outcomes=outcomes, recovery_hr=dict(eff.recovery_hr), adherence_slope=eff.adherence_slope,
                   adherence_direct=dict(eff.adherence_direct),
                   adverse_rates={k: dict(v) for k, v in eff.adverse_rates.items()})


def check_sizes(design: Design, n: int) -> dict[str, int]:
    """Arm sizes at ``n``; an arm with fewer than 2 subjects (e.g. size zero) is a ``DataError``."""
    sizes = design.sizes(n)
    small = {a: s for a, s in sizes.items() if s < 2}
    if small:
        arm = next(iter(small))
        raise DataError(f"at n = {n} the arm(s) {small} would have fewer than 2 subjects (allocation "
                        f"{dict(zip(design.arms, design.allocation))}); every arm needs at least 2 subjects to be "
                        "analysed: raise n or the arm's ratio, or remove the arm", kind="empty arm", arm=arm)
    return sizes


def _intercept(x: np.ndarray, q: float) -> float:
    """The ``a`` with ``mean(expit(a + x)) = q`` (the simulator solves it with brentq; Newton's method from the
    logit of ``q`` reaches the same root to rounding in a few steps and is ten times cheaper)."""
    a = float(special.logit(q) - np.mean(x))
    for _ in range(50):
        p = special.expit(a + x)
        step = (float(p.mean()) - q) / max(float(np.mean(p * (1 - p))), 1e-300)
        a -= step
        if abs(step) < 1e-13:
            return a
    return float(optimize.brentq(lambda a: special.expit(a + x).mean() - q, -30.0, 30.0))


def draw(design: Design, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """Draw one trial as arrays: ``arm`` (index into ``design.arms``), covariates, and for each outcome
    the (subjects x visits) values with NaN after dropout. Same model as :func:`combotherapy.simulate_trial`."""
    sizes = design.sizes(n)
    k = len(design.arms)
    arm = rng.permutation(np.repeat(np.arange(k), [sizes[a] for a in design.arms]))
    m = arm.size
    v = np.asarray(design.visits)
    nv = v.size
    age = np.clip(np.round(rng.normal(50.0, 13.0, m)), 18, 80)
    female = (rng.random(m) < 0.55).astype(float)
    duration = np.maximum(np.round(np.exp(rng.normal(np.log(DURATION_MEDIAN), DURATION_LOGSD, m)), 1), 0.5)
    acute = (duration < ACUTE_MONTHS).astype(float)
    site = rng.choice(len(SITES), size=m, p=SITE_PROBS)
    chol = np.linalg.cholesky(_visit_corr(v))
    common = rng.standard_normal((m, nv)) @ chol.T + np.asarray(SITE_SEVERITY)[site][:, None]
    names = np.asarray(design.arms)[arm]
    needed = [o for o in _DESIGN if o in design.outcomes or (o == "pain" and design.dropout > 0)]
    values: dict[str, np.ndarray] = {}
    for name in needed:
        d: Any = _DESIGN[name]
        w = abs(d["load"])
        z = np.sign(d["load"]) * np.sqrt(w) * common + np.sqrt(1 - w) * (rng.standard_normal((m, nv)) @ chol.T)
        mean = d["base"] + _mean_change(design.effects.outcomes[name], names, acute, v)
        mean += (AGE_EFFECT.get(name, 0.0) * (age - 50.0) + FEMALE_EFFECT.get(name, 0.0) * female)[:, None]
        x = np.clip(np.round(mean + _visit_sd(d, v)[None, :] * z, d["decimals"]), d["lo"], d["hi"])
        values[name] = np.asarray(x, dtype=float) + 0.0  # no negative zeros
    if design.dropout > 0:
        # the simulator's rule: equal expected hazard per interval, logit slope on the last observed pain
        q = 1.0 - (1.0 - design.dropout) ** (1.0 / (nv - 1))
        last = np.full(m, nv - 1)
        in_study = np.ones(m, dtype=bool)
        pain = values["pain"]
        for j in range(1, nv):  # a loop over visits, not subjects
            x = DROPOUT_SLOPE * (pain[in_study, j - 1] - 5.0)
            a = _intercept(x, q)
            leave = in_study & (rng.random(m) < special.expit(a + DROPOUT_SLOPE * (pain[:, j - 1] - 5.0)))
            last[leave] = j - 1
            in_study &= ~leave
        observed = np.arange(nv)[None, :] <= last[:, None]
        values = {o: np.where(observed, x, np.nan) for o, x in values.items()}
    out = {"arm": arm, "age": age, "female": female, "duration": duration, "site": site, "values": values}
    if design.survival is not None:  # drawn after the visit-level outcomes: their streams do not move
        out["survival"] = draw_survival(design.survival, design.arms, arm, rng)
    if design.count is not None:
        out["count"] = draw_count(design.count, design.arms, arm, rng)
    return out


def draw_survival(spec: Mapping[str, Any], arms: Sequence[str], arm: np.ndarray, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(time, event) per subject: Weibull proportional hazards, ``S(t) = exp(-(t / scale)^shape * hr)`` with the
    baseline median ``spec["median"]``, censored by exponential loss to follow-up (``dropout`` of subjects lost
    by ``follow_up`` when nobody recovered) and at ``follow_up`` (administrative)."""
    k = float(spec["shape"])
    scale = spec["median"] / np.log(2.0) ** (1.0 / k)
    hr = np.array([spec["hr"][a] for a in arms])[arm]
    t = scale * (rng.exponential(1.0, arm.size) / hr) ** (1.0 / k)
    end = np.full(arm.size, spec["follow_up"])
    if spec["dropout"] > 0:
        rate = -np.log(1.0 - spec["dropout"]) / spec["follow_up"]
        end = np.minimum(end, rng.exponential(1.0 / rate, arm.size))
    return np.minimum(t, end), (t <= end).astype(float)


def draw_count(spec: Mapping[str, Any], arms: Sequence[str], arm: np.ndarray, rng: np.random.Generator
               ) -> np.ndarray:
    """Counts per subject: negative binomial (Poisson with a gamma(theta, 1/theta) multiplier) of mean
    ``mean * rate_ratio[arm]``, Poisson without ``dispersion``; ``dropout`` of them missing completely at random."""
    mu = spec["mean"] * np.array([spec["rate_ratio"][a] for a in arms])[arm]
    theta = spec["dispersion"]
    if theta is not None:
        mu = mu * rng.gamma(theta, 1.0 / theta, arm.size)
    y = rng.poisson(mu).astype(float)
    if spec["dropout"] > 0:
        y[rng.random(arm.size) < spec["dropout"]] = np.nan
    return y


def effects_from_pilot(pilot: Any, outcomes: str | Sequence[str] = ("pain",), visit: float = 12.0, *,
                       arms: Sequence[str] | None = None, covariates: Sequence[str] = ()) -> dict[str, dict[str, float]]:
    """True effects for a design, estimated from a pilot :class:`~combotherapy.trial.Trial`.

    Each outcome is analysed by :func:`combotherapy.ancova` at ``visit`` (through the inference interface:
    ``res.emmeans()``); the arms' week-12 changes become the simulator's default change of the first arm plus the
    pilot's LS-mean differences from that arm, so the simulated contrasts between arms are the pilot's estimated
    contrasts (variability, covariates and dropout stay the simulator's). Pass the result as ``effects=`` of
    :func:`make_design` or :func:`combotherapy.power`.

    Example
    -------
    >>> import combotherapy as ct
    >>> from combotherapy.power import effects_from_pilot
    >>> eff = effects_from_pilot(ct.simulate_trial(n_per_arm=30, seed=2), "pain")
    >>> sorted(eff["pain"])
    ['acupuncture', 'combined', 'physio']
    """
    from ..models.ancova import ancova

    outs = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    chosen = list(arms) if arms is not None else list(pilot.arms)
    missing = [a for a in chosen if a not in pilot.arms]
    if missing:
        raise DataError(f"the pilot trial has no arm {missing[0]} (its arms are {pilot.arms})", kind="missing arm",
                        arm=missing[0])
    out: dict[str, dict[str, float]] = {}
    for o in outs:
        res = ancova(pilot, o, visit, covariates=covariates, missing_baseline="exclude")
        emm = res.emmeans().set_index("arm")["estimate"]
        ref = chosen[0]
        base = float(DEFAULT_EFFECTS.outcomes[o].change[ref]) if o in DEFAULT_EFFECTS.outcomes else 0.0
        out[o] = {a: base + float(emm[a] - emm[ref]) for a in chosen}
    return out
