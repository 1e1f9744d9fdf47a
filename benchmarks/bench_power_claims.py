"""Benchmark of ct.power(analysis="claims"): the cost of one simulated trial's claims, against ct.claims_report.

Three-arm trials of 300 subjects (100 per arm), the package's claims table. Run from the repository root:
    PYTHONPATH=src python3 benchmarks/bench_power_claims.py [--trials 30]
Prints milliseconds per simulated trial: the draw, the power path's claims (without and with the mediation claim,
which goes through the claims report's own evaluator) and the full ct.claims_report on the same trial.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import combotherapy as ct
from combotherapy.power import claims_path as cp
from combotherapy.power.design import make_design
from combotherapy.simulate.generator import _draw


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=30)
    args = ap.parse_args()
    design = make_design(n=100, analysis="claims")
    no_med = tuple(c for c in design.claims if c["model"] != "mediation")
    rng = np.random.default_rng(1)
    v = np.asarray(design.visits)

    def draw() -> dict:
        return _draw(list(design.arms), design.sizes(100), v, design.effects, design.dropout, rng)

    t0 = time.perf_counter()
    draws = [draw() for _ in range(args.trials)]
    per_draw = (time.perf_counter() - t0) / args.trials
    timings = {}
    for label, claims in (("claims without mediation", no_med), ("every claim (mediation included)", design.claims)):
        t0 = time.perf_counter()
        for d in draws:
            cp.evaluate(d, claims, design.arms, design.visits, design.alpha)
        timings[label] = (time.perf_counter() - t0) / args.trials
    k = max(3, args.trials // 10)
    t0 = time.perf_counter()
    for d in draws[:k]:
        ct.claims_report(cp.to_trial(d))
    timings["ct.claims_report (Trial built directly, every claim)"] = (time.perf_counter() - t0) / k
    print(f"one trial of 300 subjects: draw {per_draw * 1e3:.1f} ms")
    for label, t in timings.items():
        print(f"  {label}: {t * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
