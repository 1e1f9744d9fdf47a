"""Make the deterministic fixtures ``survival_fixture.csv`` and ``counts_fixture.csv``.

Run once (``python tests/reference/data/survival_make_fixtures.py``); the CSVs are committed and the R
scripts in ``tests/reference/`` read them. Long layout (subject, arm, visit, ...), subject-level columns
repeated on every row of the subject, as ``combotherapy.Trial`` holds them.

survival_fixture.csv
    four unbalanced arms (control 22, physio 35, acupuncture 28, combined 40); recovery times in whole weeks
    (many tied times), censoring by dropout and at the end of follow-up, which differs by arm (so the default
    RMST horizon is not the largest time); two subjects with neither time nor event (excluded by the model).
counts_fixture.csv
    three unbalanced arms (physio 38, acupuncture 30, combined 45); analgesic days in the last 28 days at
    weeks 0, 4, 12 from overdispersed (negative binomial) counts capped at 28; dropout (missing week 12),
    one missing baseline, and ``days_observed`` (diary days at the visit, for the exposure option).
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def survival_fixture(rng: np.random.Generator) -> pd.DataFrame:
    sizes = {"control": 22, "physio": 35, "acupuncture": 28, "combined": 40}
    rate = {"control": 0.03, "physio": 0.06, "acupuncture": 0.05, "combined": 0.10}  # recoveries per week
    end = {"control": 24, "physio": 26, "acupuncture": 26, "combined": 30}  # end of follow-up (weeks)
    arm = np.repeat(list(sizes), list(sizes.values()))
    n = arm.size
    t_event = rng.weibull(1.3, n) / np.vectorize(rate.get)(arm)
    t_drop = rng.uniform(2, 60, n)
    t_end = np.vectorize(end.get)(arm).astype(float)
    t = np.minimum.reduce([t_event, t_drop, t_end])
    time = np.ceil(t)  # whole weeks: ties
    event = (t_event <= np.minimum(t_drop, t_end)).astype(float)
    time = np.minimum(time, t_end)
    time[[5, 60]] = np.nan  # no follow-up recorded at all
    event[[5, 60]] = np.nan
    subj = pd.DataFrame({"subject": [f"S{i + 1:03d}" for i in range(n)], "arm": arm,
                         "recovery_time": time, "recovered": event,
                         "age": rng.integers(25, 75, n), "sex": rng.choice(["female", "male"], n)})
    subj = subj.sample(frac=1.0, random_state=1).reset_index(drop=True)  # arms interleaved in file order
    visits = pd.DataFrame({"visit": [0.0, 12.0]})
    out = subj.merge(visits, how="cross")
    out["pain"] = np.round(rng.uniform(2, 9, len(out)), 1)
    return out[["subject", "arm", "visit", "pain", "recovery_time", "recovered", "age", "sex"]]


def counts_fixture(rng: np.random.Generator) -> pd.DataFrame:
    sizes = {"physio": 38, "acupuncture": 30, "combined": 45}
    effect = {"physio": 0.0, "acupuncture": -0.15, "combined": -0.55}  # log rate ratio at week 12
    arm = np.repeat(list(sizes), list(sizes.values()))
    n = arm.size
    theta = 2.5
    mu0 = rng.gamma(4.0, 3.0, n)  # subject's baseline rate
    base = np.minimum(rng.negative_binomial(theta, theta / (theta + mu0)), 28)
    rows = []
    for visit, frac in [(0.0, 1.0), (4.0, 0.8), (12.0, 0.65)]:
        shift = np.vectorize(effect.get)(arm) * (visit / 12.0)
        mu = np.exp(np.log(1.0 + base) * 0.8 + 0.3 + shift) * frac if visit else mu0
        y = base if visit == 0 else np.minimum(rng.negative_binomial(theta, theta / (theta + mu)), 28)
        days = np.full(n, 28) if visit == 0 else rng.integers(14, 29, n)
        rows.append(pd.DataFrame({"subject": [f"C{i + 1:03d}" for i in range(n)], "arm": arm, "visit": visit,
                                  "analgesic_days": y.astype(float), "days_observed": days.astype(float)}))
    out = pd.concat(rows, ignore_index=True)
    drop = rng.choice(n, 12, replace=False)  # dropout: no week-12 count
    out.loc[(out["visit"] == 12.0) & out["subject"].isin([f"C{i + 1:03d}" for i in drop]),
            ["analgesic_days", "days_observed"]] = np.nan
    out.loc[(out["visit"] == 0.0) & (out["subject"] == "C007"), "analgesic_days"] = np.nan  # missing baseline
    out["sex"] = np.tile(rng.choice(["female", "male"], n), 3)
    return out.sort_values(["subject", "visit"]).reset_index(drop=True)


if __name__ == "__main__":
    survival_fixture(np.random.default_rng(20240501)).to_csv(HERE / "survival_fixture.csv", index=False)
    counts_fixture(np.random.default_rng(20240502)).to_csv(HERE / "counts_fixture.csv", index=False)
