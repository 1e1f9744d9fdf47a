"""Benchmark of ct.power: 1,000 simulated three-arm trials of 300 subjects (100 per arm), each analysed by ANCOVA
and the combination test, serially and on a two-worker dask LocalCluster (worker processes).

Run from the repository root:  PYTHONPATH=src python3 benchmarks/bench_power.py [--sims 1000]
Prints simulations per second, the speed-up, the cost of one trial's draw and analysis, and checks that both
runs give the same table. Results are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import combotherapy as ct
from combotherapy.power.analyse import analyse
from combotherapy.power.design import draw, make_design


def _warm() -> None:
    import combotherapy.power.runner  # noqa: F401  (a worker's first import costs seconds)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sims", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    design = make_design(n=100, outcomes=["pain"], dropout=0.15)

    rng = np.random.default_rng(1)
    trials = [draw(design, 100, rng) for _ in range(200)]
    t0 = time.perf_counter()
    for d in trials:
        analyse(design, d)
    per_analysis = (time.perf_counter() - t0) / len(trials)
    t0 = time.perf_counter()
    for _ in range(200):
        draw(design, 100, rng)
    per_draw = (time.perf_counter() - t0) / 200
    print(f"one trial: draw {per_draw * 1e3:.2f} ms, ANCOVA + combination analysis {per_analysis * 1e3:.2f} ms")

    t0 = time.perf_counter()
    serial = ct.power(design, n_sims=args.sims, seed=1, null=False, batch=50)
    t_serial = time.perf_counter() - t0
    print(f"serial: {args.sims} simulations in {t_serial:.2f} s = {args.sims / t_serial:.0f} simulations/s")

    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            Client(cl) as client:
        client.run(_warm)  # workers up and the package imported before the clock starts
        t0 = time.perf_counter()
        par = ct.power(design, n_sims=args.sims, seed=1, null=False, batch=50, client=client)
        t_par = time.perf_counter() - t0
    print(f"LocalCluster ({args.workers} worker processes): {t_par:.2f} s = {args.sims / t_par:.0f} simulations/s; "
          f"speed-up {t_serial / t_par:.2f}x")
    assert par.table.equals(serial.table), "the parallel table differs from the serial one"
    print("same table serially and in parallel")
    print(serial.select("combination")[["n", "n_total", "power", "mc_se"]].to_string(index=False))


if __name__ == "__main__":
    main()
