"""Write the package's sample trial (ct.simulate_trial(seed=2024), the default of `combotherapy reproduce`) as the
long CSV tests/reference/rbmi_sample_trial.csv read by rbmi_reference.R: one row per subject and follow-up visit
(missing values as NA rows), with the baseline pain beside it."""

from pathlib import Path

import numpy as np

import combotherapy as ct

out = Path(__file__).with_name("rbmi_sample_trial.csv")
d = ct.simulate_trial(seed=2024).data[["subject", "arm", "visit", "pain"]].copy()
d["arm"] = d["arm"].astype(str)
base = d[d["visit"] == 0].set_index("subject")["pain"]
post = d[d["visit"] > 0].copy()
post["pain_baseline"] = post["subject"].map(base)
post = post.sort_values(["subject", "visit"], kind="stable")
assert post.groupby("subject").size().nunique() == 1, "every subject has a row at every visit"
post.to_csv(out, index=False, float_format="%.17g", na_rep="NA")
print(out, len(post), int(np.isnan(post["pain"]).sum()), "missing")
