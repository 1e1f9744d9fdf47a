"""Write tests/reference/data/sweep_trial.csv: the differential sweep's dataset (tests/reference/sweep.R).

Stresses that the other reference datasets do not combine: strongly unbalanced arms (control 30, physio 90,
acupuncture 45, combined 135, rows shuffled so the arms do not appear in canonical order), monotone dropout (more in
control) and intermittent missed visits, a visit (week 4) observed in few subjects only, a 4-level site factor whose
levels appear in non-alphabetical order with a rare level ("east", 4 subjects; R's alphabetical reference level),
a numeric covariate on a large scale (income, ~5e4;
missing for 3 subjects, sex for 1), a 0/1 numeric covariate (smoker), tied whole-week recovery times, a zero-heavy count outcome
with an exposure column, and a control arm with no pain responder (>= 3 points) at week 2.
Run once; the CSV is committed.
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261206)
sizes = {"control": 30, "physio": 90, "acupuncture": 45, "combined": 135}
arm = rng.permutation(np.repeat(list(sizes), list(sizes.values())))
n = len(arm)
subject = np.array([f"Q{i:03d}" for i in range(1, n + 1)])
age = np.round(rng.normal(50, 11, n)).clip(19, 85)
sex = rng.choice(["female", "male"], n, p=[0.55, 0.45])
site = rng.choice(["west", "north", "south"], n, p=[0.45, 0.37, 0.18])
site[0] = "west"                                      # first level seen is "west", not the alphabetical first
site[rng.choice(np.arange(1, n), 4, replace=False)] = "east"   # the rare level
income = np.round(rng.normal(52000, 15000, n), 0).clip(8000, None)
smoker = (rng.random(n) < 0.2).astype(float)        # a two-valued numeric covariate (emmeans: a factor on the grid)
site_eff = pd.Series({"west": 0.0, "north": 0.5, "south": -0.4, "east": 0.9})[site].to_numpy()
effect = pd.Series({"control": 0.0, "physio": -1.0, "acupuncture": -0.7, "combined": -2.2})[arm].to_numpy()

visits = np.array([0, 2, 4, 8, 12])
base = np.round(rng.normal(6.4, 1.3, n) + 0.3 * site_eff, 1).clip(0.5, 10)
u = rng.normal(0, 0.9, n)                             # subject effect -> correlated visits
pain = np.empty((n, len(visits)))
pain[:, 0] = base
for j, v in enumerate(visits[1:], start=1):
    mean = 0.55 * base + 2.6 + effect * v / 12 + site_eff + 2e-5 * (income - 52000) + 0.015 * (age - 50)
    pain[:, j] = np.round(mean + u + rng.normal(0, 0.8 + 0.05 * v, n), 1).clip(0, 10)
ctrl = arm == "control"
pain[ctrl, 1] = np.maximum(pain[ctrl, 1], np.round(base[ctrl] - 2.5, 1))   # no control responder at week 2
# week 4 observed in a few subjects only (a sub-study visit)
full = pain.copy()
pain[rng.random(n) > 0.12, 2] = np.nan
# monotone dropout after weeks 2 and 8, more in control and with high pain
for j in (1, 3):
    p = 1 / (1 + np.exp(-(-2.6 + 0.3 * (np.nan_to_num(pain[:, j], nan=6) - 5) + 0.9 * ctrl)))
    gone = rng.random(n) < p
    pain[gone, j + 1:] = np.nan
# intermittent missed visits (weeks 2 and 8)
for j in (1, 3):
    pain[rng.random(n) < 0.08, j] = np.nan

# two control subjects still followed at week 8 also measured at week 4 (so every arm has the visit, thinly)
two = np.flatnonzero(ctrl & ~np.isnan(pain[:, 3]))[:2]
pain[two, 2] = full[two, 2]

# zero-heavy analgesic days (last 28) with an exposure (days of diary kept)
a0 = np.minimum(rng.negative_binomial(1.2, 1.2 / (1.2 + 7.0), n), 28)
mu12 = np.exp(0.2 + 0.06 * a0 + 0.8 * effect / 2.2 - 0.3 * (site == "north"))
zero = rng.random(n) < 0.45
a12 = np.where(zero, 0, np.minimum(rng.negative_binomial(0.9, 0.9 / (0.9 + mu12)), 28)).astype(float)
days12 = rng.integers(14, 29, n).astype(float)
a12[np.isnan(pain[:, 4])] = np.nan
days12[np.isnan(a12)] = np.nan
analgesic = np.full((n, len(visits)), np.nan)
analgesic[:, 0], analgesic[:, 4] = a0, a12
days = np.full((n, len(visits)), np.nan)
days[:, 0], days[:, 4] = 28.0, days12

# tied whole-week recovery times, censoring
rate = 0.05 * np.exp(0.5 * -effect - 0.3 * site_eff)
t = rng.exponential(1 / rate)
cens = rng.uniform(6, 30, n)
recovery_time = np.ceil(np.minimum(t, cens)).clip(1, 26)
recovered = ((t <= cens) & (np.ceil(t) <= 26)).astype(int)

# covariates missing for a few subjects (excluded by every analysis that uses them)
income[rng.choice(n, 3, replace=False)] = np.nan
sex = sex.astype(object)
sex[rng.choice(n, 1)] = None
rows = [pd.DataFrame({"subject": subject, "arm": arm, "visit": v, "age": age, "sex": sex, "site": site,
                      "income": income, "smoker": smoker, "pain": pain[:, j], "analgesic_days": analgesic[:, j],
                      "days_observed": days[:, j], "recovery_time": recovery_time, "recovered": recovered})
        for j, v in enumerate(visits)]
out = pd.concat(rows)
out = out[out["visit"].isin([0, 12]) | out["pain"].notna()]     # no row for a visit with nothing measured
out = out.sort_values(["subject", "visit"], kind="stable")
path = Path(__file__).parent / "data" / "sweep_trial.csv"
out.to_csv(path, index=False, lineterminator="\n")
print(path, len(out), "rows")
