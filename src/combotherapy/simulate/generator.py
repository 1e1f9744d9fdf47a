"""The draw: one simulated trial as a canonical long frame (:func:`simulate_frame`) or a loaded
:class:`~combotherapy.trial.Trial` (:func:`simulate_trial`). The design is in the package docstring."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special

from ..arms import arm_order
from ..errors import DataError
from ..instruments import Instrument, instrument_for
from ..trial import KEY_COLUMNS, Trial
from .effects import (
    _DESIGN,
    _WITH_ACUPUNCTURE,
    _WITH_PHYSIO,
    ACUTE_HR,
    ACUTE_MONTHS,
    ADHERENCE_BASE,
    ADHERENCE_REF_FALL,
    ADHERENCE_SD,
    AGE_EFFECT,
    CRP_MISSING,
    DEFAULT_VISITS,
    DROPOUT_SLOPE,
    DURATION_LOGSD,
    DURATION_MEDIAN,
    FEMALE_EFFECT,
    NB_SHAPE,
    RECOVERY_MEDIAN,
    SESSIONS_PLANNED,
    SITE_PROBS,
    SITE_SEVERITY,
    SITES,
    TREATMENT_WEEKS,
    VISIT_OUTCOMES,
    WEIBULL_SHAPE,
    Effects,
    OutcomeEffect,
    _check_args,
    _shape,
    _visit_corr,
    _visit_sd,
)


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
def _draw(arms: list[str], sizes: dict[str, int], v: np.ndarray, eff: Effects, dropout: float,
          rng: np.random.Generator, id_prefix: str = "S") -> dict:
    """Draw one trial. Returns the canonical frame and the latent (unrounded, unclipped, complete) values.

    Arms are carried as integer codes (positions in ``arms``) and text columns are built once per distinct value
    and repeated by index (``take``), so the cost is a few array operations per column whatever the number of
    subjects. The random stream is the one of the string-based draw it replaced: the same draws in the same order
    (a permutation of codes moves them exactly as it moved the labels).
    """
    n = sum(sizes.values())
    nv = v.size
    code = rng.permutation(np.repeat(np.arange(len(arms), dtype=np.intp), [sizes[a] for a in arms]))

    # covariates
    age = np.clip(np.round(rng.normal(50.0, 13.0, n)), 18, 80)
    is_female = rng.random(n) < 0.55
    duration = np.maximum(np.round(np.exp(rng.normal(np.log(DURATION_MEDIAN), DURATION_LOGSD, n)), 1), 0.5)
    acute = (duration < ACUTE_MONTHS).astype(float)
    site_idx = rng.choice(len(SITES), size=n, p=SITE_PROBS)
    female = is_female.astype(float)

    # correlated errors: a common severity factor and one specific factor per outcome, each with the
    # visit correlation R; their mix has correlation R too, with unit variance
    chol = np.linalg.cholesky(_visit_corr(v))
    common = rng.standard_normal((n, nv)) @ chol.T
    severe = common + np.asarray(SITE_SEVERITY)[site_idx][:, None]
    latent: dict[str, np.ndarray] = {}
    for name, d in _DESIGN.items():
        specific = rng.standard_normal((n, nv)) @ chol.T
        w = abs(d["load"])
        z = np.sign(d["load"]) * np.sqrt(w) * severe + np.sqrt(1 - w) * specific
        mean = d["base"] + _mean_change_codes(eff.outcomes[name], arms, code, acute, v)
        mean = mean + (AGE_EFFECT.get(name, 0.0) * (age - 50.0) + FEMALE_EFFECT.get(name, 0.0) * female)[:, None]
        if name == "analgesic_days":
            latent[name] = (mean, z)  # log mean and the copula normal
        else:
            latent[name] = mean + _visit_sd(d, v)[None, :] * z
    del severe, common

    values: dict[str, np.ndarray] = {}
    for name, d in _DESIGN.items():
        if name == "crp":
            x = np.maximum(np.round(np.exp(latent[name]), d["decimals"]), d["lo"])
        elif name == "analgesic_days":
            log_mu, z = latent[name]
            # negative binomial as Poisson with a gamma(k, 1/k) multiplier taken from the correlated normal
            # (a Gaussian copula), so counts are correlated over visits with exact NB marginals; the gamma
            # quantile is scipy.stats.gamma.ppf(u, a=k, scale=1/k) without its argument handling (same numbers)
            g = special.gammaincinv(NB_SHAPE, special.ndtr(z)) * (1.0 / NB_SHAPE) + 0.0
            counts = rng.poisson(np.exp(log_mu) * g).astype(float)
            latent[name] = counts
            x = np.minimum(counts, d["hi"])
        else:
            x = np.clip(np.round(latent[name], d["decimals"]), d["lo"], d["hi"])
        values[name] = x + 0.0  # no negative zeros

    # adherence: early pain fall (latent) drives attendance
    fall = latent["pain"][:, 0] - latent["pain"][:, 1]
    direct = _per_arm(eff.adherence_direct, arms, code, 0.0)
    logit_p = ADHERENCE_BASE + direct + eff.adherence_slope * (fall - ADHERENCE_REF_FALL) \
        + rng.normal(0.0, ADHERENCE_SD, n)
    p_attend = special.expit(logit_p)

    # monotone MAR dropout on the last observed (rounded) pain
    last = np.full(n, nv - 1)  # index of the last observed visit
    if dropout > 0:
        q = 1.0 - (1.0 - dropout) ** (1.0 / (nv - 1))
        in_study = np.ones(n, dtype=bool)
        for j in range(1, nv):  # a loop over visits; each step is vectorised over subjects
            x_all = DROPOUT_SLOPE * (values["pain"][:, j - 1] - 5.0)
            x = x_all[in_study]
            a = optimize.brentq(lambda a, x=x: special.expit(a + x).mean() - q, -30.0, 30.0)
            u = rng.random(n)
            leave = in_study & (u < special.expit(a + x_all))
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

    active = np.isin(np.array(arms), list(_WITH_ACUPUNCTURE) + list(_WITH_PHYSIO))[code]
    available = np.floor(np.minimum(end, TREATMENT_WEEKS) / TREATMENT_WEEKS * SESSIONS_PLANNED).astype(int)
    attended = rng.binomial(np.where(active, available, 0), p_attend).astype(float)
    planned = np.where(active, float(SESSIONS_PLANNED), np.nan)
    attended = np.where(active, attended, np.nan)

    # recovery: Weibull proportional hazards, S(t) = exp(-(t / scale)^k * exp(eta))
    scale = RECOVERY_MEDIAN / np.log(2.0) ** (1.0 / WEIBULL_SHAPE)
    eta = np.log(_per_arm(eff.recovery_hr, arms, code, 1.0)) + np.log(ACUTE_HR) * acute
    t_rec = scale * (rng.exponential(1.0, n) / np.exp(eta)) ** (1.0 / WEIBULL_SHAPE)
    recovered = (t_rec <= end).astype(float)
    rec_time = np.maximum(np.round(np.minimum(t_rec, end), 1), 0.1)

    # adverse events over the (possibly shortened) treatment period
    exposure = np.minimum(end, TREATMENT_WEEKS) / TREATMENT_WEEKS
    ae = {f"ae_{k}": rng.poisson(_per_arm(r, arms, code, 0.0) * exposure).astype(float)
          for k, r in eff.adverse_rates.items()}
    ae_total = np.sum(list(ae.values()), axis=0) if ae else np.zeros(n)

    # text columns: each distinct value converted to pandas' string type once, then repeated by position
    width = len(str(n))
    subject = pd.array(np.char.add(id_prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width)), dtype="str")
    row_subject = np.repeat(np.arange(n), nv)
    order = arm_order(arms)
    to_level = np.array([order.index(a) for a in arms], dtype=np.int8)
    frame = pd.DataFrame({
        "subject": subject.take(row_subject),
        "arm": pd.Categorical.from_codes(np.repeat(to_level[code], nv), categories=pd.Index(order, dtype="str"),
                                         ordered=True),
        "visit": np.tile(v, n),
        "age": np.repeat(age, nv),
        "sex": pd.array(np.array(["male", "female"]), dtype="str").take(np.repeat(is_female.astype(np.intp), nv)),
        "pain_duration": np.repeat(duration, nv),
        "site": pd.array(np.array(SITES), dtype="str").take(np.repeat(site_idx, nv)),
        **{name: values[name].ravel() for name in VISIT_OUTCOMES},
        "sessions_attended": np.repeat(attended, nv),
        "sessions_planned": np.repeat(planned, nv),
        "recovery_time": np.repeat(rec_time, nv),
        "recovered": np.repeat(recovered, nv),
        "adverse_events": np.repeat(ae_total, nv),
        **{k: np.repeat(x, nv) for k, x in ae.items()},
    })
    return {"frame": frame, "latent": latent, "p_attend": p_attend, "fall": fall, "last": last, "end": end,
            "t_recovery": t_rec, "acute": acute, "female": is_female, "site_index": site_idx}


def _per_arm(values: Mapping[str, float], arms: Sequence[str], code: np.ndarray, default: float) -> np.ndarray:
    """``values[arm]`` of every subject (``default`` for arms not in ``values``), by arm code."""
    table = np.array([float(values.get(a, default)) for a in arms], dtype=float)
    return table[code]


def _mean_change_codes(eff: OutcomeEffect, arms: Sequence[str], code: np.ndarray, acute: np.ndarray,
                       v: np.ndarray) -> np.ndarray:
    """:func:`~.effects._mean_change` with arms given as codes into ``arms`` (subjects x visits).

    The same arithmetic: the natural-history term times ``1 + acute`` plus the arm's own term, one addition per
    cell, so the numbers are identical; the arm's term is looked up by code instead of a comparison of labels.
    """
    h_ctrl = eff.log_change("control")
    out = (h_ctrl * _shape(eff.shape.get("control", "gradual"), v))[None, :] * (1.0 + acute[:, None])
    extra = np.stack([(eff.log_change(a) - h_ctrl) * _shape(eff.shape.get(a, "linear"), v) for a in arms])
    out += extra[code]
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
        recovered, adverse_events`` and ``ae_<type>``): the trial :func:`combotherapy.load` makes of
        :func:`simulate_frame`'s frame, built directly (the draw is canonical by construction, so it is not sent
        through the loader's checks: about 10 times faster at 10^5 subjects).

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

    The draw is array operations over subjects (arms as integer codes, text columns built once per distinct value
    and repeated by position); its time grows linearly with the number of subjects (about 1 s of CPU per 10^5
    subjects; a third of it is the negative-binomial copula's gamma quantile).

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
    arms_l, sizes, v, eff = _check_args(arms, n_per_arm, visits, dropout, effects)
    draw = _draw(arms_l, sizes, v, eff, float(dropout), _generator(seed, rng))
    return Trial._from_validated(_trial_data(draw), _instruments(draw["frame"]), decisions=(),
                                 source=f"simulate_trial(seed={seed if rng is None else '<Generator>'})")


def _instruments(frame: pd.DataFrame) -> dict[str, Instrument]:
    """The registered instrument of every outcome column, in column order (what the loader finds)."""
    found = {c: instrument_for(c, {}) for c in frame.columns if c not in KEY_COLUMNS}
    return {c: inst for c, inst in found.items() if inst is not None}


def _trial_data(draw: dict) -> pd.DataFrame:
    """The frame :func:`combotherapy.load` makes of the draw, built directly (the generator made the data itself).

    The loader would find nothing to report: subject ids are unique text, arms canonical, one row per subject and
    visit in subject and visit order, outcomes registered, numeric and in range, subject-level outcomes constant,
    covariates known, constant within a subject and recorded at baseline (so ``decisions`` is empty). What it
    changes is the column order (keys, outcomes, then covariates) and the text covariates, which it keeps as
    Python strings (``object``); ``tests/test_simulate.py`` compares the two frames exactly.
    """
    frame = draw["frame"]
    outcomes = list(_instruments(frame))
    rest = [c for c in frame.columns if c not in (*KEY_COLUMNS, *outcomes)]
    data = frame[list(KEY_COLUMNS) + outcomes + rest]
    nv = len(frame) // len(draw["female"])
    text = {"sex": np.array(["male", "female"], dtype=object)[np.repeat(draw["female"].astype(np.intp), nv)],
            "site": np.array(SITES, dtype=object)[np.repeat(draw["site_index"], nv)]}
    for c, values in text.items():  # an object Series: assigning the bare array would infer pandas' string type
        data[c] = pd.Series(values, index=data.index, dtype=object)
    return data

