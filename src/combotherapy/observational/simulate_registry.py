"""A routine-care registry with confounding by indication and a known true effect.

Patients with worse pain and a longer history are more likely to receive both therapies (``combined``), and the
same characteristics predict worse pain at follow-up. Comparing arms as if randomised therefore makes the combined
arm look worse than it is; adjusting for the measured confounders removes the bias because, by construction,
there is no unmeasured confounding.

Data-generating model (one row per subject):

- ``age`` ~ N(55, 12^2) clipped to [18, 90]; ``sex`` "F" with probability 0.6, else "M";
  ``pain_duration`` (months) = exp(N(2.5, 0.8^2)); ``pain0`` (baseline pain, 0-10) ~ N(6.5, 1.5^2) clipped to [0, 10].
- Treatment (reference ``physio``), multinomial logit with linear predictors
  acupuncture: -0.2 + 0.03 (age - 55) + 0.4 [F] + 0.3 (pain0 - 6.5);
  combined: -0.4 + 0.01 (age - 55) + 0.9 (pain0 - 6.5) + 0.5 (log pain_duration - 2.5).
- Week-12 pain = 2.5 + 0.6 pain0 + 0.02 (age - 55) + 0.6 (log pain_duration - 2.5) + tau_A + N(0, 1.2^2),
  with tau = {physio: 0, acupuncture: -0.3, combined: -1.2}: constant effects, so ATE = ATT = overlap effect.
  Not clipped to the 0-10 range (so the truth is exact): about 1 in 10,000 values falls below 0 and 4 in 1,000 above 10.
- ``recovered`` (binary) ~ Bernoulli(expit(0.5 - 0.5 (pain0 - 6.5) + gamma_A)), gamma = {0, 0.2, 0.6}.
- ``work_weeks``/``returned``: time to return to work, exponential with hazard
  0.08 exp(-0.25 (pain0 - 6.5)) HR_A, HR = {physio 1, acupuncture 1.2, combined 1.5}, censored at 26 weeks
  (drawn after every other column, so adding it left the earlier columns unchanged).

``TRUE_EFFECTS`` holds the true week-12 pain contrasts; the binary truth depends on the covariate distribution and
is returned per sample in ``frame.attrs["truth"]`` (average of each arm's true risk over the simulated subjects).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, softmax

__all__ = ["ARMS", "TAU", "GAMMA", "HR", "TRUE_EFFECTS", "simulate_registry", "write_registry_sample"]

ARMS = ("physio", "acupuncture", "combined")
TAU = {"physio": 0.0, "acupuncture": -0.3, "combined": -1.2}
GAMMA = {"physio": 0.0, "acupuncture": 0.2, "combined": 0.6}
#: true conditional hazard ratios of returning to work (vs physio)
HR = {"physio": 1.0, "acupuncture": 1.2, "combined": 1.5}
#: true contrasts of week-12 pain ("first - second"), the same for every estimand
TRUE_EFFECTS = {("combined", "physio"): -1.2, ("combined", "acupuncture"): -0.9, ("physio", "acupuncture"): 0.3}


def simulate_registry(n: int = 2000, *, seed: int | np.random.Generator = 2026, confounding: float = 1.0
                      ) -> pd.DataFrame:
    """Simulate a routine-care registry of back-pain patients treated with physio, acupuncture or both.

    Parameters
    ----------
    n : int
        Number of subjects.
    seed : int or numpy.random.Generator
    confounding : float
        Multiplies the covariate coefficients of the treatment model (0 = treatment as if randomised).

    Returns
    -------
    DataFrame
        ``subject, arm, age, sex, pain_duration, pain0, pain, recovered, work_weeks, returned`` (one row per
        subject);
        ``attrs["truth"]`` holds the true pain contrasts and the binary outcome's true risks.

    Example
    -------
    >>> reg = simulate_registry(500, seed=3)
    >>> sorted(reg["arm"].astype(str).unique())
    ['acupuncture', 'combined', 'physio']
    """
    if n < 10:
        raise ValueError("n must be at least 10")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    age = np.clip(rng.normal(55, 12, n), 18, 90).round(0)
    female = rng.random(n) < 0.6
    duration = np.exp(rng.normal(2.5, 0.8, n)).round(1)
    pain0 = np.clip(rng.normal(6.5, 1.5, n), 0, 10).round(1)
    ld = np.log(duration) - 2.5
    c = confounding
    eta = np.column_stack([np.zeros(n),
                           -0.2 + c * (0.03 * (age - 55) + 0.4 * female + 0.3 * (pain0 - 6.5)),
                           -0.4 + c * (0.01 * (age - 55) + 0.9 * (pain0 - 6.5) + 0.5 * ld)])
    prob = softmax(eta, axis=1)
    # inverse-CDF draw of the arm from each row's probabilities (vectorised)
    arm_code = (rng.random(n)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
    arm_code = np.minimum(arm_code, len(ARMS) - 1)
    tau = np.array([TAU[a] for a in ARMS])
    mu = 2.5 + 0.6 * pain0 + 0.02 * (age - 55) + 0.6 * ld
    pain = (mu + tau[arm_code] + rng.normal(0, 1.2, n)).round(2)  # not clipped: keeps the truth exact
    gamma = np.array([GAMMA[a] for a in ARMS])
    risk = expit(0.5 - 0.5 * (pain0 - 6.5)[:, None] + gamma[None, :])
    recovered = (rng.random(n) < risk[np.arange(n), arm_code]).astype(int)
    # time to return to work (weeks): exponential, hazard 0.08 exp(-0.25 (pain0 - 6.5) + log HR_A), censored at 26
    hazard = 0.08 * np.exp(-0.25 * (pain0 - 6.5) + np.log(np.array([HR[a] for a in ARMS]))[arm_code])
    t_event = rng.exponential(1.0 / hazard)
    work_weeks = np.minimum(t_event, 26.0).round(2)
    returned = (t_event <= 26.0).astype(int)
    frame = pd.DataFrame({
        "subject": [f"R{i:05d}" for i in range(1, n + 1)],
        "arm": pd.Categorical(np.asarray(ARMS)[arm_code], categories=list(ARMS)),
        "age": age, "sex": np.where(female, "F", "M"), "pain_duration": duration, "pain0": pain0,
        "pain": pain, "recovered": recovered, "work_weeks": work_weeks, "returned": returned})
    frame.attrs["truth"] = {"pain": {f"{a} - {b}": v for (a, b), v in TRUE_EFFECTS.items()},
                            "recovered_risk": {a: float(risk[:, k].mean()) for k, a in enumerate(ARMS)}}
    return frame


#: the shipped sample registry: data/sample/registry.csv
SAMPLE_N, SAMPLE_SEED = 1000, 20261206


def write_registry_sample(folder: str | os.PathLike) -> Path:
    """Write ``registry.csv`` (``SAMPLE_N`` subjects, seed ``SAMPLE_SEED``) into ``folder``, atomically."""
    from ..files import write_text
    frame = simulate_registry(SAMPLE_N, seed=SAMPLE_SEED)
    return write_text(Path(folder) / "registry.csv", frame.to_csv(index=False, lineterminator="\n"))
