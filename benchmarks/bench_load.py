"""Benchmark (not a test): ``ct.load`` of a long CSV and Parquet file against pandas reading the same file.

Data: ``ct.simulate_trial`` (three arms, 5 visits, 25 columns) at N subjects, written once as CSV and Parquet
(seeded). Larger sizes repeat the 10,000-subject trial with renumbered subjects (simulating 10^6 subjects goes
through ``ct.load`` itself). Each timing runs in a fresh subprocess, so that one step's caches and memory do not
help or hurt the next; peak memory is the subprocess's peak resident set above its resident set after imports,
divided by the memory of the loaded frame (``trial.data.memory_usage(deep=True)``).

Run:  python benchmarks/bench_load.py [--subjects 10000 100000 1000000]
Prints, per size: seconds of ``pd.read_csv(engine="pyarrow")``, ``ct.load(csv)``, ``pd.read_parquet`` and
``ct.load(parquet)``, their ratios (targets: CSV <= 2, Parquet <= 4), peak memory / frame (target <= 3), and the
growth from one size to the next (target: 10x the subjects in <= 12x the time).

Quick comparison on a shared machine:  python benchmarks/bench_load.py --interleaved 5 [--cpu] [--data FOLDER ...]
Times the four calls and ``ct.load`` with the identifier guard replaced by a no-op, in one process, interleaved,
best of 5 (warm: imports and first-use costs are not counted), and prints the ratios to pandas with and without
the guard, so that the loader's own cost and the guard's can be told apart. ``--data`` names folders holding
``data.csv`` and ``data.parquet`` (such as bench_pipeline's cached data) instead of writing new files. ``--cpu``
times CPU seconds of the process (all threads) instead of wall-clock seconds: steadier when others share the machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

_CHILD = r"""
import json, sys, time
import pandas as pd, pyarrow  # noqa: F401
import combotherapy as ct
ct.load  # the lazy import happens before the baseline
what, path = sys.argv[1], sys.argv[2]
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
try:  # reset the peak resident set (Linux): the peak of the step alone is measured
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
except OSError:
    pass
base = status("VmRSS:")
t = time.perf_counter()
if what == "read_csv":
    frame = pd.read_csv(path, engine="pyarrow")
elif what == "read_parquet":
    frame = pd.read_parquet(path)
else:
    frame = ct.load(path).data
seconds = time.perf_counter() - t
peak = status("VmHWM:")
print(json.dumps({"seconds": seconds, "peak_kib": peak - base,
                  "frame_kib": frame.memory_usage(deep=True).sum() / 1024}))
"""


def write_data(folder: Path, subjects: int, seed: int = 15) -> tuple[Path, Path]:
    import combotherapy as ct

    unit = min(subjects, 10_000)
    data = ct.simulate_trial(n_per_arm=unit // 3 + 1, seed=seed).data
    data = data[data["subject"].isin(pd.unique(data["subject"])[:unit])]
    copies = subjects // unit
    if copies > 1:
        width = len(str(subjects))
        parts = []
        codes = pd.factorize(data["subject"])[0]
        for k in range(copies):
            part = data.copy()
            part["subject"] = [f"S{c:0{width}d}" for c in codes + k * unit]
            parts.append(part)
        data = pd.concat(parts, ignore_index=True)
    data = data.assign(arm=data["arm"].astype(str))
    csv, parquet = folder / f"trial{subjects}.csv", folder / f"trial{subjects}.parquet"
    data.to_csv(csv, index=False)
    data.to_parquet(parquet, index=False)
    return csv, parquet


def run(what: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, what, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def interleaved(csv: Path, parquet: Path, repeat: int, cpu: bool = False) -> dict[str, float]:
    """Best-of-``repeat`` seconds of each call, the calls interleaved in this process (warm); ``cpu``: CPU seconds of
    the process (all its threads: Arrow's readers use several), which other work on a shared machine disturbs less
    than wall-clock seconds."""
    import time
    import warnings
    from unittest import mock

    import combotherapy as ct

    warnings.simplefilter("ignore")

    def unguarded(path: Path):
        with mock.patch("combotherapy.privacy.check_identifiers", lambda *a, **k: None):
            return ct.load(path)

    calls = {"read_csv": lambda: pd.read_csv(csv, engine="pyarrow"), "load_csv": lambda: ct.load(csv),
             "load_csv_unguarded": lambda: unguarded(csv), "read_parquet": lambda: pd.read_parquet(parquet),
             "load_parquet": lambda: ct.load(parquet), "load_parquet_unguarded": lambda: unguarded(parquet)}
    for call in calls.values():
        call()  # imports and first-use costs
    best = dict.fromkeys(calls, float("inf"))
    clock = time.process_time if cpu else time.perf_counter
    for _ in range(repeat):
        for name, call in calls.items():
            t = clock()
            call()
            best[name] = min(best[name], clock() - t)
    return best


def main_interleaved(args) -> None:
    print(f"{'data':>24} {'read_csv':>9} {'load csv':>9} {'ratio':>6} {'no guard':>9} {'ratio':>6} "
          f"{'read_pq':>8} {'load pq':>8} {'ratio':>6} {'no guard':>9} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        sources = ([(Path(d).name, Path(d) / "data.csv", Path(d) / "data.parquet") for d in args.data] if args.data
                   else [(f"{n} subjects", *write_data(Path(tmp), n)) for n in args.subjects])
        for label, csv, parquet in sources:
            b = interleaved(csv, parquet, args.interleaved, cpu=args.cpu)
            print(f"{label:>24} {b['read_csv']:>9.3f} {b['load_csv']:>9.3f} {b['load_csv'] / b['read_csv']:>6.2f} "
                  f"{b['load_csv_unguarded']:>9.3f} {b['load_csv_unguarded'] / b['read_csv']:>6.2f} "
                  f"{b['read_parquet']:>8.3f} {b['load_parquet']:>8.3f} {b['load_parquet'] / b['read_parquet']:>6.2f} "
                  f"{b['load_parquet_unguarded']:>9.3f} {b['load_parquet_unguarded'] / b['read_parquet']:>6.2f}",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--interleaved", type=int, default=0, metavar="N",
                        help="in one process, interleaved, best of N, with and without the identifier guard")
    parser.add_argument("--cpu", action="store_true",
                        help="with --interleaved: CPU seconds of the process instead of wall-clock seconds")
    parser.add_argument("--data", nargs="+", default=[], metavar="FOLDER",
                        help="with --interleaved: folders holding data.csv and data.parquet (instead of new files)")
    args = parser.parse_args()
    if args.interleaved:
        main_interleaved(args)
        return
    print(f"{'subjects':>9} {'rows':>9} {'read_csv':>9} {'load csv':>9} {'ratio':>6} {'mem':>5} "
          f"{'read_pq':>8} {'load pq':>8} {'ratio':>6} {'mem':>5}")
    previous = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.subjects:
            csv, parquet = write_data(Path(tmp), n)
            r = {w: run(w, p) for w, p in (("read_csv", csv), ("load_csv", csv), ("read_parquet", parquet),
                                           ("load_parquet", parquet))}
            rows = 5 * n
            print(f"{n:>9} {rows:>9} {r['read_csv']['seconds']:>9.2f} {r['load_csv']['seconds']:>9.2f} "
                  f"{r['load_csv']['seconds'] / r['read_csv']['seconds']:>6.2f} "
                  f"{r['load_csv']['peak_kib'] / r['load_csv']['frame_kib']:>5.2f} "
                  f"{r['read_parquet']['seconds']:>8.2f} {r['load_parquet']['seconds']:>8.2f} "
                  f"{r['load_parquet']['seconds'] / r['read_parquet']['seconds']:>6.2f} "
                  f"{r['load_parquet']['peak_kib'] / r['load_parquet']['frame_kib']:>5.2f}", flush=True)
            if previous is not None:
                growth = {k: r[k]["seconds"] / previous[1][k]["seconds"] for k in r}
                print(f"{'':>9} growth x{n / previous[0]:g} subjects: "
                      + ", ".join(f"{k} x{v:.1f}" for k, v in growth.items()), flush=True)
            previous = (n, r)
            for p in (csv, parquet):
                p.unlink()


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
