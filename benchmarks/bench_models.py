"""Benchmark (not a test): ct.count_model, ct.survival and ct.mediation against their named peers (issue 15).

Peers, fitted on the same rows (one row per subject of the analysis set), timing the peer's fit only:

- ``ct.count_model(trial)`` (negative binomial on analgesic days at week 12, arm + baseline count, with the Poisson
  fit, dispersion checks, rate ratios and LS means) against statsmodels' discrete ``NegativeBinomial`` (NB2,
  Newton) on the same design;
- ``ct.survival(trial)`` (Kaplan–Meier, log-rank, Cox with Efron ties, cox.zph, RMST) against lifelines'
  ``CoxPHFitter().fit`` alone. lifelines pins pandas < 3, so it runs in a second virtual environment given by
  ``--lifelines-python`` (e.g. ``python3 -m venv benchmarks/.venv-peers && benchmarks/.venv-peers/bin/pip install
  lifelines``) as a subprocess that times only the fit; without it the survival peer is skipped;
- ``ct.mediation(trial)`` (adherence outcome, binomial GLM; mediator: change in pain to week 4) against
  statsmodels' ``Mediation(...).fit(n_rep=n_sims)`` with the same models and the same number of draws. statsmodels
  keeps every draw's per-subject effects (4 x n_sims x n floats), so at 10^6 subjects both run with ``--sims-large``
  draws (default 100) instead of 1000.

Data: ``ct.simulate_trial(n_per_arm=n // 3, seed=1)`` (three arms, 5 visits), generated once per size and cached as
Parquet in ``--cache`` (the simulator itself is slow at 10^6 subjects).

Run:  python benchmarks/bench_models.py [--sizes 10000 100000 1000000] [--lifelines-python PATH] [--repeat 2]
Prints the time of each ct call (best of ``--repeat``), its peer's, their ratio and the 10^6 / 10^5 growth.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

import combotherapy as ct
from combotherapy.trial import Trial

LIFELINES_SCRIPT = """
import sys, time, pandas as pd
from lifelines import CoxPHFitter
df = pd.read_csv(sys.argv[1])
best = float("inf")
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    CoxPHFitter().fit(df, duration_col="time", event_col="event")
    best = min(best, time.perf_counter() - t0)
print(best)
"""


def load_trial(n: int, cache: Path) -> Trial:
    path = cache / f"trial_{n}.parquet"
    inst = cache / f"trial_{n}.instruments.pkl"
    if not (path.exists() and inst.exists()):
        trial = ct.simulate_trial(n_per_arm=n // 3, seed=1)
        trial.data.to_parquet(path)
        inst.write_bytes(pickle.dumps(dict(trial.instruments)))
    # the frame is the package simulator's own canonical output: the fast constructor applies
    return Trial._from_validated(pd.read_parquet(path), pickle.loads(inst.read_bytes()))


def best_of(fn, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def subject_frame(trial: Trial) -> pd.DataFrame:
    """One row per subject: arm, analgesic days at weeks 0 and 12, pain at weeks 0 and 4, sessions, recovery."""
    d = trial.data
    wide = {v: d.loc[d["visit"] == v].set_index("subject") for v in (0.0, 4.0, 12.0)}
    subj = trial.subjects.set_index("subject")
    return pd.DataFrame({"arm": subj["arm"].astype(str), "y": wide[12.0]["analgesic_days"],
                         "base": wide[0.0]["analgesic_days"], "pain0": wide[0.0]["pain"],
                         "pain4": wide[4.0]["pain"], "attended": subj["sessions_attended"],
                         "planned": subj["sessions_planned"], "time": subj["recovery_time"],
                         "event": subj["recovered"]}, index=subj.index)


def peer_negbin(f: pd.DataFrame, arms: list[str]) -> callable:
    g = f.dropna(subset=["y", "base"])
    X = np.column_stack([np.ones(len(g))] + [(g["arm"] == a).to_numpy(float) for a in arms[1:]]
                        + [g["base"].to_numpy(float)])
    y = g["y"].to_numpy(float)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sm.NegativeBinomial(y, X).fit(disp=0, maxiter=200)
    return fit


def peer_mediation(f: pd.DataFrame, n_sims: int) -> callable:
    from statsmodels.stats.mediation import Mediation
    g = f.loc[f["arm"].isin(["combined", "physio"])].dropna(subset=["pain0", "pain4", "attended", "planned"])
    T = (g["arm"] == "combined").to_numpy(float)
    M = (g["pain4"] - g["pain0"]).to_numpy(float)
    one = np.ones(len(g))
    Xm = np.column_stack([one, T, g["pain0"].to_numpy(float)])
    Xo = np.column_stack([one, T, M, g["pain0"].to_numpy(float)])
    yb = np.column_stack([g["attended"].to_numpy(float), (g["planned"] - g["attended"]).to_numpy(float)])

    def fit():
        out = sm.GLM(yb, Xo, family=sm.families.Binomial())
        med = sm.OLS(M, Xm)
        Mediation(out, med, exposure=(1, 1), mediator=2).fit(n_rep=n_sims, rng=0)
    return fit


def peer_lifelines(f: pd.DataFrame, python: str | None, repeat: int) -> float:
    if not python:
        return np.nan
    g = f.dropna(subset=["time", "event"])
    X = pd.DataFrame({"time": g["time"].to_numpy(float), "event": g["event"].to_numpy(float)})
    for a in ("acupuncture", "combined"):
        X[f"arm_{a}"] = (g["arm"] == a).to_numpy(float)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "surv.csv"
        X.to_csv(path, index=False)
        out = subprocess.run([python, "-c", LIFELINES_SCRIPT, str(path), str(repeat)], capture_output=True,
                             text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "combotherapy-bench")
    ap.add_argument("--lifelines-python", default=None)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--sims", type=int, default=1000)
    ap.add_argument("--sims-large", type=int, default=100, help="draws at >= 10^6 subjects (both sides)")
    ap.add_argument("--only", nargs="+", default=["count", "survival", "mediation"])
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    # warm-up: imports and first-call costs are not what is compared
    small = ct.simulate_trial(n_per_arm=100, seed=1)
    ct.count_model(small), ct.survival(small), ct.mediation(small, n_sims=100)
    fs = subject_frame(small)
    peer_negbin(fs, small.arms)(), peer_mediation(fs, 100)()
    rows = []
    for n in args.sizes:
        trial = load_trial(n, args.cache)
        _ = trial.subject_columns  # computed once per Trial (cached), as in every analysis after the first
        f = subject_frame(trial)
        sims = args.sims if n < 1_000_000 else args.sims_large
        if "count" in args.only:
            t_ct = best_of(partial(ct.count_model, trial), args.repeat)
            t_peer = best_of(peer_negbin(f, trial.arms), args.repeat)
            rows.append(("count_model", "statsmodels NegativeBinomial", n, t_ct, t_peer))
        if "survival" in args.only:
            t_ct = best_of(partial(ct.survival, trial), args.repeat)
            t_peer = peer_lifelines(f, args.lifelines_python, args.repeat)
            rows.append(("survival", "lifelines CoxPHFitter.fit", n, t_ct, t_peer))
        if "mediation" in args.only:
            t_ct = best_of(partial(ct.mediation, trial, n_sims=sims), 1)
            t_peer = best_of(peer_mediation(f, sims), 1)
            rows.append((f"mediation ({sims} draws)", f"statsmodels Mediation ({sims} draws)", n, t_ct, t_peer))
        for r in rows[-len(args.only):]:
            print(f"{r[0]:<26} n={r[2]:>9,}  ct {r[3]:8.3f} s   peer {r[4]:8.3f} s   ratio {r[3] / r[4]:6.3f}   "
                  f"({r[1]})", flush=True)
    table = pd.DataFrame(rows, columns=["step", "peer", "n", "ct_s", "peer_s"])
    table["ratio"] = table["ct_s"] / table["peer_s"]
    print(table.to_string(index=False))
    growth = table.pivot_table(index="step", columns="n", values="ct_s")
    if {100_000, 1_000_000} <= set(growth.columns):
        print("growth 10^6 / 10^5:", json.dumps((growth[1_000_000] / growth[100_000]).round(2).to_dict()))
    print("python", sys.version.split()[0])


if __name__ == "__main__":
    main()
