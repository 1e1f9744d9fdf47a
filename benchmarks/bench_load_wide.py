"""Benchmark (not a test): ct.load on wide files, 60 subjects x 1,000 / 4,000 / 10,000 columns.

Data: a CSV with subject, arm, pain at weeks 0 and 12 (a wide file) and N numeric covariate columns x0..x{N-1}
(60 rows; 10,000 columns is about 12 MB of text). Times the whole ct.load call (read, mapping, missing tokens,
layout, identifier guard, validation, Trial), best of ``--repeat`` runs, and the same call with the identifier
guard replaced by a no-op, so that the loader's own cost and the guard's can be told apart.

Run:  python benchmarks/bench_load_wide.py [--columns 1000 4000 10000] [--repeat 1]
Prints seconds per size and the time per million cells; loading is linear in the number of cells when the
per-cell time stays flat as the column count grows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

import combotherapy as ct

ROWS = 60


def write_wide(path: Path, n_columns: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    cols = {"subject": [f"S{i:03d}" for i in range(ROWS)],
            "arm": rng.choice(["physio", "acupuncture", "combined", "control"], ROWS),
            "pain_w0": rng.uniform(0, 10, ROWS).round(1), "pain_w12": rng.uniform(0, 10, ROWS).round(1)}
    cols.update({f"x{j}": rng.normal(size=ROWS).round(3) for j in range(n_columns)})
    pd.DataFrame(cols).to_csv(path, index=False)


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, nargs="+", default=[1000, 4000, 10000])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"{'columns':>8} {'cells':>9} {'load s':>8} {'us/cell':>8} {'no guard s':>11} {'us/cell':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.columns:
            path = Path(tmp) / f"wide{n}.csv"
            write_wide(path, n)
            cells = ROWS * (n + 4)
            full = best_of(args.repeat, lambda p=path: ct.load(p))
            with mock.patch("combotherapy.privacy.check_identifiers", lambda *a, **k: None):
                bare = best_of(args.repeat, lambda p=path: ct.load(p))
            print(f"{n:>8} {cells:>9} {full:>8.2f} {full / cells * 1e6:>8.1f} {bare:>11.2f} {bare / cells * 1e6:>8.1f}")


if __name__ == "__main__":
    main()
