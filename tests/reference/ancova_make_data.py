"""Write tests/reference/data/ancova_fixture.csv: the second ANCOVA reference dataset.

Four arms with unequal sizes (control 23, physio 31, acupuncture 17, combined 36), dropout before week 12
(about 20 %, more in control), two subjects without a baseline pain value, a 3-level site factor, sex, age,
and a positive skewed marker (crp) for the log-scale analysis. Values are rounded so the CSV is exact.
Run once; the CSV is committed and read by tests/reference/ancova.R and tests/test_ancova.py.
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20240607)
sizes = {"control": 23, "physio": 31, "acupuncture": 17, "combined": 36}
arm = np.repeat(list(sizes), list(sizes.values()))
n = len(arm)
subject = np.array([f"R{i:03d}" for i in range(1, n + 1)])
age = np.round(rng.normal(52, 12, n)).clip(20, 80)
sex = rng.choice(["female", "male"], n, p=[0.6, 0.4])
site = rng.choice(["north", "south", "west"], n, p=[0.5, 0.3, 0.2])
site_eff = pd.Series({"north": 0.0, "south": 0.6, "west": -0.4})[site].to_numpy()
effect = pd.Series({"control": 0.0, "physio": -1.1, "acupuncture": -0.9, "combined": -2.4})[arm].to_numpy()
base = np.round(rng.normal(6.5, 1.3, n) + site_eff, 1).clip(0, 10)
w6 = np.round(base - 0.6 + 0.5 * effect + rng.normal(0, 1.2, n), 1).clip(0, 10)
w12 = np.round(0.6 * base + 1.8 + effect + 0.02 * (age - 52) + site_eff + rng.normal(0, 1.4, n), 1).clip(0, 10)
crp0 = np.round(np.exp(rng.normal(1.0, 0.7, n)), 2)
crp12 = np.round(np.exp(0.2 + 0.6 * np.log(crp0) - 0.05 * (arm == "combined") + rng.normal(0, 0.5, n)), 2)
# dropout before week 12: more likely with high pain at week 6 and in control
p_drop = 1 / (1 + np.exp(-(-2.2 + 0.35 * (w6 - 6) + 0.6 * (arm == "control"))))
drop = rng.random(n) < p_drop
w12[drop] = np.nan
crp12[drop] = np.nan
base[np.flatnonzero(~drop)[[4, 40]]] = np.nan   # two completers without a baseline pain value (excluded on request)
rows = []
for visit, pain, crp in ((0, base, crp0), (6, w6, np.full(n, np.nan)), (12, w12, crp12)):
    rows.append(pd.DataFrame({"subject": subject, "arm": arm, "visit": visit, "age": age, "sex": sex, "site": site,
                              "pain": pain, "crp": crp}))
out = pd.concat(rows).sort_values(["subject", "visit"], kind="stable")
path = Path(__file__).parent / "data" / "ancova_fixture.csv"
out.to_csv(path, index=False, lineterminator="\n")
print(path, len(out), "rows;", int(drop.sum()), "dropouts")
