"""Write tests/reference/data/mmrm_sim.csv: the simulated trial on which R and Python fit the same MMRMs.

Four unbalanced arms (45/70/60/85 subjects), baseline at week 0 and five post-baseline visits (weeks 2, 4, 8, 12,
26, unequally spaced), an unstructured heteroscedastic within-subject covariance, monotone dropout whose hazard
depends on the last observed value (missing at random, about 25% by week 26) plus 4% intermittent missing values,
a numeric covariate (age) and two factor covariates (sex: text; site: three levels with unequal frequencies). Two
subjects lack the baseline value and one has no post-baseline value, to exercise the exclusion rules.

Run once: ``python tests/reference/mmrm_make_data.py``; the CSV is committed, R and the tests read it.
"""

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent / "data" / "mmrm_sim.csv"


def make(seed: int = 20240611) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arms = np.repeat(["control", "physio", "acupuncture", "combined"], [45, 70, 60, 85])
    n = len(arms)
    weeks = np.array([2.0, 4.0, 8.0, 12.0, 26.0])
    k = len(weeks)
    age = rng.normal(52, 11, n).round(0)
    sex = rng.choice(["F", "M"], n, p=[0.58, 0.42])
    site = rng.choice(["north", "south", "west"], n, p=[0.5, 0.3, 0.2])
    base = rng.normal(6.5, 1.4, n)
    effect = {"control": 0.0, "physio": -0.8, "acupuncture": -0.6, "combined": -1.5}
    slope = np.array([effect[a] for a in arms])
    sd = np.array([1.1, 1.3, 1.5, 1.7, 2.0])
    corr = np.array([[1, .7, .55, .45, .3], [.7, 1, .7, .55, .4], [.55, .7, 1, .7, .5],
                     [.45, .55, .7, 1, .65], [.3, .4, .5, .65, 1]])
    Sigma = corr * np.outer(sd, sd)
    e = rng.multivariate_normal(np.zeros(k), Sigma, n)
    time_shape = np.array([0.35, 0.6, 0.85, 1.0, 1.0])
    y = (6.5 + 0.55 * (base[:, None] - 6.5) - 0.9 * time_shape[None] + slope[:, None] * time_shape[None]
         + 0.02 * (age[:, None] - 52) + 0.3 * (sex[:, None] == "M") + np.where(site == "west", -0.4, 0.0)[:, None] + e)
    # MAR monotone dropout: hazard after each visit rises with the value just observed
    dropped = np.zeros(n, bool)
    obs = np.ones((n, k), bool)
    for j in range(1, k):  # loop over visits (not subjects)
        hazard = 1 / (1 + np.exp(-(-2.6 + 0.35 * (y[:, j - 1] - 6))))
        dropped |= rng.random(n) < hazard
        obs[:, j] = ~dropped
    obs &= rng.random((n, k)) > 0.04
    obs[7] = False  # one subject without any post-baseline value
    y = np.where(obs, y, np.nan).round(2)
    long = pd.DataFrame({"subject": np.repeat([f"S{i + 1:03d}" for i in range(n)], k + 1),
                         "arm": np.repeat(arms, k + 1),
                         "visit": np.tile(np.concatenate([[0.0], weeks]), n),
                         "pain": np.column_stack([base.round(2), y]).ravel(),
                         "age": np.repeat(age, k + 1), "sex": np.repeat(sex, k + 1), "site": np.repeat(site, k + 1)})
    long.loc[(long["subject"].isin(["S011", "S150"])) & (long["visit"] == 0), "pain"] = np.nan
    return long


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    make().to_csv(OUT, index=False, float_format="%.10g")
    print(f"wrote {OUT}")
