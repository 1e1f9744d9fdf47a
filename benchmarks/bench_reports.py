"""Benchmark (not a test): the consumers of a loaded trial — ct.table_one and ct.claims_report — at registry size.

Issue 15's targets for them, as ratios measured in one run:

- ``ct.table_one`` <= 1 x the ``tableone`` package (PyPI ``tableone``, benchmark-only: install it in a throwaway
  virtual environment, never as a dependency) describing the same baseline frame (one row per subject: the
  covariates and the visit-0 value of every visit-level outcome, by arm, with SMDs);
- ``ct.claims_report`` on 10^6 subjects <= 10 x ``ct.load`` of the same data (a CSV of the simulated trial); as
  ``ct.load`` itself is being made faster (its target: <= 2 x ``pd.read_csv(engine="pyarrow")``), the claims
  report is also given as a multiple of 2 x that read, the load time it is meant to be compared with;
- every step grows at most linearly: time at 10^6 <= 12 x time at 10^5.

Data: ``ct.simulate_trial`` with the four arms (control, physio, acupuncture, combined: every claim of the
default claims table is testable), ``n / 4`` subjects per arm, 5 visits each, seed 1; written once as CSV per size
into ``--cache`` (reused by later runs) and read back with ``ct.load``. The claims report is timed as a whole and
by model (each model function of ``combotherapy.claims._MODELS`` wrapped in a timer for this run only).

Run:  python benchmarks/bench_reports.py [--sizes 10000 100000 1000000] [--cache DIR] [--no-claims]
(with ``tableone`` importable, e.g. ``python -m venv --system-site-packages benchmarks/.venv-peers && benchmarks/.venv-peers/bin/pip install
tableone`` and run with ``benchmarks/.venv-peers/bin/python``; without it the tableone ratio is skipped).
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

import combotherapy as ct
from combotherapy import claims as claims_module

ARMS = ("control", "physio", "acupuncture", "combined")


def data_file(n: int, cache: Path) -> Path:
    """The CSV of the simulated trial with ``n`` subjects (simulated once, then reused)."""
    path = cache / f"trial_{n}.csv"
    if not path.exists():
        t = time.perf_counter()
        trial = ct.simulate_trial(arms=ARMS, n_per_arm=n // len(ARMS), seed=1)
        trial.data.to_csv(path, index=False)
        print(f"  simulated and wrote {n:,} subjects in {time.perf_counter() - t:.1f} s -> {path}")
    return path


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def tableone_time(trial) -> float | None:
    """The ``tableone`` package on the baseline frame ct.table_one describes (None when not installed)."""
    try:
        from tableone import TableOne
    except ImportError:
        return None
    data = trial.data
    base = data.loc[data["visit"] == 0].drop(columns=["visit"])
    columns = list(trial.covariates) + list(trial.visit_outcomes)
    categorical = [c for c in columns if not pd.api.types.is_numeric_dtype(base[c])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, seconds = timed(TableOne, base, columns=columns, categorical=categorical, groupby="arm", smd=True,
                           pval=False)
    return seconds


def claims_by_model(trial) -> tuple[float, dict[str, float]]:
    """ct.claims_report's time, and the time spent in each model's evaluator."""
    spent: dict[str, float] = {}
    original = dict(claims_module._MODELS)

    def wrap(name, fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t
        return inner

    claims_module._MODELS.update({k: wrap(k, f) for k, f in original.items()})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, total = timed(ct.claims_report, trial)
    finally:
        claims_module._MODELS.update(original)
    spent["(outside the models)"] = total - sum(spent.values())
    return total, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "combotherapy-bench-reports")
    parser.add_argument("--no-claims", action="store_true", help="time ct.load and ct.table_one only")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    # warm up: imports and first-call costs are not part of any size's time
    small = ct.simulate_trial(arms=ARMS, n_per_arm=30, seed=2)
    ct.table_one(small)
    if not args.no_claims:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ct.claims_report(small)
    rows = {}
    for n in args.sizes:
        print(f"{n:,} subjects ({5 * n:,} rows)")
        path = data_file(n, args.cache)
        _, t_csv = timed(pd.read_csv, path, engine="pyarrow")
        trial, t_load = timed(ct.load, path)
        row = {"read_csv (pyarrow)": t_csv, "load": t_load}
        _, row["table_one"] = timed(ct.table_one, trial)
        peer = tableone_time(trial)
        row["tableone (package)"] = peer if peer is not None else float("nan")
        print(f"  ct.load {t_load:.2f} s; ct.table_one {row['table_one']:.2f} s; tableone "
              + (f"{peer:.2f} s; ratio {row['table_one'] / peer:.2f} (target <= 1)" if peer else "not installed"))
        if not args.no_claims:
            total, spent = claims_by_model(trial)
            row["claims_report"] = total
            print(f"  ct.claims_report {total:.2f} s = {total / t_load:.2f} x ct.load (target <= 10 at 10^6); "
                  f"{total / (2 * t_csv):.2f} x a ct.load at its own target (2 x pd.read_csv pyarrow, {t_csv:.2f} s)")
            for name, s in sorted(spent.items(), key=lambda kv: -kv[1]):
                print(f"    {name:<22} {s:7.2f} s  {100 * s / total:5.1f}%")
            row.update({f"claims: {k}": v for k, v in spent.items()})
        rows[n] = row
    table = pd.DataFrame(rows)
    print("\nseconds by size:")
    print(table.round(2).to_string())
    sizes = sorted(rows)
    for small_n, big_n in zip(sizes, sizes[1:]):
        growth = table[big_n] / table[small_n]
        print(f"\ngrowth {big_n:,} / {small_n:,} subjects (x{big_n / small_n:g} data; target <= 1.2 x that):")
        print(growth.round(2).to_string())


if __name__ == "__main__":
    main()
