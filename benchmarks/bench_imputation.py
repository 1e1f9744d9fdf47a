"""Benchmark (not a test): approximate Bayesian MI with 200 imputations, ct.missing against a plain loop of refits.

For each imputation, approximate Bayesian MI refits the imputation MMRM to a bootstrap sample. ct.missing does it
from the sufficient statistics: the bootstrap sample is a vector of subject multiplicities, the per-pattern
cross-products are re-weighted (no data frame is built) and Newton starts from the full-data estimate (two or three
steps). The plain loop does what a user would write: build the bootstrap sample's trial (duplicated subjects
renamed), fit the MMRM to it from scratch (design, pattern statistics, moment start, Newton), then impute and
analyse exactly as ct.missing does. Both run in the same process on the same data, MAR, unstructured covariance.

Run:  python benchmarks/bench_imputation.py [--plain-10k 20]
On 10,000 subjects the plain loop is timed over ``--plain-10k`` imputations and scaled to 200 (its cost per
imputation is constant); on the sample trial it runs all 200.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import combotherapy as ct
from combotherapy.missing.analyse import fit_ancova, plan
from combotherapy.missing.conditional_mean import stratified_bootstrap
from combotherapy.missing.impute import impute
from combotherapy.missing.model import fit_model, prepare
from combotherapy.missing.pool import rubin
from combotherapy.trial import Trial


def bootstrap_trial(trial: Trial, subjects: pd.Index, sample: np.ndarray) -> Trial:
    """The trial of the bootstrap sample ``sample`` (positions in ``subjects``), every copy a new subject."""
    d = trial.data
    code = pd.Index(subjects).get_indexer(d["subject"])
    order = np.argsort(code, kind="stable")
    starts = np.searchsorted(code[order], np.arange(len(subjects)))
    counts = np.bincount(code[code >= 0], minlength=len(subjects))
    lens = counts[sample]
    pos = np.repeat(starts[sample] - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + np.arange(lens.sum())
    rows = d.iloc[order[pos]].copy()
    rows["subject"] = np.repeat([f"b{i}" for i in range(len(sample))], lens)
    return Trial(rows.reset_index(drop=True), trial.instruments)


def plain_loop(trial: Trial, n_imp: int, seed: int) -> tuple[float, np.ndarray]:
    """Seconds per imputation of the plain loop, and the pooled estimates of its imputations."""
    rng = np.random.default_rng(seed)
    imp = prepare(trial, "pain")
    pl = plan(imp)
    Y = np.empty((n_imp, imp.n, imp.k))
    t = time.perf_counter()
    for j in range(n_imp):  # loop over imputations: a cold refit on a rebuilt trial each
        sample = stratified_bootstrap(imp.data.arm_codes, rng)
        boot = prepare(bootstrap_trial(trial, imp.data.subjects, sample), "pain")
        f = fit_model(boot, check=True)
        Y[j] = impute(imp, f.beta, f.Sigma, draws=1, rng=rng)[0]
    est, se, df = fit_ancova(imp.data.features, Y, pl.L)
    took = time.perf_counter() - t
    return took / n_imp, rubin(est, se, df[0])["estimate"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--plain-10k", type=int, default=20, help="imputations timed in the plain loop at 10,000")
    args = ap.parse_args()
    cases = [("sample trial (360 subjects)", ct.simulate_trial(seed=2024), 200),
             ("10,000 subjects", ct.simulate_trial(n_per_arm={"physio": 3334, "acupuncture": 3333,
                                                               "combined": 3333}, seed=11), args.plain_10k)]
    print("| data | ct.missing, 200 imputations | plain loop, per imputation | plain loop, 200 imputations "
          "| ratio |")
    print("|---|---|---|---|---|")
    for name, trial, n_plain in cases:  # loop over the two data sets
        t = time.perf_counter()
        res = ct.missing.approximate_bayes(trial, "pain", m=200, seed=1)
        ours = time.perf_counter() - t
        per, est = plain_loop(trial, n_plain, seed=1)
        plain200 = per * 200
        scaled = "" if n_plain == 200 else f" (timed over {n_plain}, x {200 / n_plain:g})"
        print(f"| {name} | {ours:.2f} s | {per:.3f} s | {plain200:.1f} s{scaled} | {plain200 / ours:.1f} |")
        last = res.contrast_at().set_index("contrast")["estimate"]
        # same seed, same order of draws: with all 200 imputations the two pooled estimates must agree
        print(f"|  | pooled combined - physio at the last visit: {last.iloc[0]:.4f} | plain loop "
              f"{est[0, -1]:.4f} (same random numbers; {n_plain} imputations) | | |")


if __name__ == "__main__":
    main()
