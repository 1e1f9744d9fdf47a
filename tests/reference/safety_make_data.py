"""Write tests/reference/data/safety_unbalanced.csv: the second reference dataset of the safety, adherence,
mediation and subgroup analyses (one file shared by the four).

Run from the repository root:  python tests/reference/safety_make_data.py

A four-arm trial drawn from the package's simulator with unbalanced arms (physio 37, acupuncture 23, combined 51,
control 16) and heavy dropout (35 %), then edited so the awkward cases occur:

- sessions planned vary between subjects (8 to 12; attended never above planned); usual care has none planned
  (missing, as the simulator writes it) and one physio subject has neither count recorded;
- one acupuncture subject has no adverse-event count (missing);
- a fifth site with one physio and one combined subject only (a subgroup level too small to fit);
- two subjects without pain duration (subgroup variable missing).

The file is committed; the R scripts and the tests read it. The draw depends on numpy's generator, so rerunning
this on another numpy may give different numbers: then rerun the R scripts too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from combotherapy.simulate import simulate_frame

OUT = Path(__file__).resolve().parent / "data" / "safety_unbalanced.csv"


def main() -> None:
    frame = simulate_frame(arms=("control", "physio", "acupuncture", "combined"),
                           n_per_arm={"physio": 37, "acupuncture": 23, "combined": 51, "control": 16},
                           dropout=0.35, seed=20250605)
    rng = np.random.default_rng(5)
    subjects = frame.drop_duplicates("subject")[["subject", "arm"]].reset_index(drop=True)
    active = subjects["arm"] != "control"
    planned = np.where(active, rng.integers(8, 13, len(subjects)).astype(float), np.nan)
    sub = subjects.assign(planned=planned).set_index("subject")
    frame["sessions_planned"] = sub["planned"].reindex(frame["subject"]).to_numpy()
    frame["sessions_attended"] = np.fmin(frame["sessions_attended"], frame["sessions_planned"])

    physio = subjects.loc[subjects["arm"] == "physio", "subject"].tolist()
    acu = subjects.loc[subjects["arm"] == "acupuncture", "subject"].tolist()
    comb = subjects.loc[subjects["arm"] == "combined", "subject"].tolist()
    no_sessions = frame["subject"] == physio[3]
    frame.loc[no_sessions, ["sessions_attended", "sessions_planned"]] = np.nan
    no_ae = frame["subject"] == acu[2]
    ae_cols = [c for c in frame.columns if c.startswith("ae_")] + ["adverse_events"]
    frame.loc[no_ae, ae_cols] = np.nan
    frame.loc[frame["subject"].isin([physio[0], comb[0]]), "site"] = "site5"
    frame.loc[frame["subject"].isin([physio[5], comb[7]]), "pain_duration"] = np.nan
    frame["arm"] = frame["arm"].astype(str)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT, index=False, float_format="%.10g", lineterminator="\n")
    print(f"wrote {OUT} ({frame['subject'].nunique()} subjects, {len(frame)} rows)")


if __name__ == "__main__":
    main()
