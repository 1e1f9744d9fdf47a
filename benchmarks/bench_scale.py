"""Registry scale: in-memory ANCOVA against its peer, and the out-of-core (DuckDB) MMRM + ANCOVA on a Parquet folder.

Not a test (the default test run never runs it). Two checks:

``python benchmarks/bench_scale.py ancova [--subjects 100000 1000000]``
    ``ct.ancova`` in memory against the pandas merge of the baseline + statsmodels OLS (formula API) on the same
    rows; prints both times and the ratio (target <= 1.5).

``python benchmarks/bench_scale.py ooc [--subjects 1000000] [--folder DIR] [--memory-limit 1GB]``
    Writes a seeded Parquet folder (5 visits per subject, in chunks: the generator never holds the whole data),
    loads it with ``ct.load(folder, backend="duckdb")`` and fits ``ct.mmrm`` and ``ct.ancova`` out-of-core,
    printing times, the data size and the peak resident memory of the process (``ru_maxrss``), which must stay far
    below the data size. ``--check`` also fits the in-memory path on the collected data and prints the largest
    differences (only for sizes that fit in memory).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

VISITS = (0.0, 4.0, 8.0, 12.0, 26.0)
ARMS = ("physio", "acupuncture", "combined")


def chunk(start: int, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` subjects (ids start..start+n-1) x 5 visits in canonical long form, with dropout and covariates."""
    arm = rng.integers(0, 3, n)
    age = np.round(rng.normal(50, 12, n).clip(18, 90))
    sex = np.where(rng.random(n) < 0.55, "female", "male")
    site = np.array(["site1", "site2", "site3", "site4"])[rng.integers(0, 4, n)]
    base = rng.normal(6.0, 1.5, n)
    effect = np.array([0.0, -0.2, -1.0])[arm]
    k = len(VISITS)
    t = np.array(VISITS)
    noise = rng.normal(0, 1.2, (n, k)) + rng.normal(0, 1.0, (n, 1))
    y = base[:, None] - 0.08 * t[None, :] * (1 + 0.5 * (arm[:, None] == 2)) + effect[:, None] * (t > 0) + 0.01 * (
        age[:, None] - 50) + noise
    y[:, 0] = base
    y = np.round(y.clip(0, 10), 1)
    last = np.where(rng.random(n) < 0.15, rng.integers(1, k, n), k)   # monotone dropout after a visit
    observed = np.arange(k)[None, :] < last[:, None]
    rows = np.flatnonzero(observed.ravel())
    subj = np.repeat(np.arange(start, start + n), k)[rows]
    return pd.DataFrame({"subject": pd.Series(subj).map("P{:08d}".format).to_numpy(),
                         "arm": np.array(ARMS)[np.repeat(arm, k)[rows]],
                         "visit": np.tile(t, n)[rows], "pain": y.ravel()[rows],
                         "age": np.repeat(age, k)[rows], "sex": np.repeat(sex, k)[rows],
                         "site": np.repeat(site, k)[rows]})


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_ancova(sizes: list[int]) -> None:
    import statsmodels.formula.api as smf

    import combotherapy as ct
    from combotherapy.instruments import REGISTRY
    print("subjects  rows      ct.ancova  merge+OLS  ratio")
    for n in sizes:
        d = chunk(0, n, np.random.default_rng(1))
        d["arm"] = pd.Categorical(d["arm"], categories=list(ARMS), ordered=True)
        trial = ct.Trial(d, {"pain": REGISTRY["pain"]})
        ct.ancova(trial, "pain", 12, covariates=["age", "site"], missing_baseline="exclude")   # warm (imports)
        t0 = time.perf_counter()
        ct.ancova(trial, "pain", 12, covariates=["age", "site"], missing_baseline="exclude")
        t_ct = time.perf_counter() - t0
        t0 = time.perf_counter()
        base = d.loc[d["visit"] == 0, ["subject", "pain"]].rename(columns={"pain": "baseline"})
        fu = d.loc[d["visit"] == 12, ["subject", "arm", "pain", "age", "site"]]
        m = fu.merge(base, on="subject").dropna()
        smf.ols("pain ~ C(arm) + baseline + age + C(site)", m).fit()
        t_peer = time.perf_counter() - t0
        print(f"{n:<9d} {len(d):<9d} {t_ct:9.2f}  {t_peer:9.2f}  {t_ct / t_peer:5.2f}")


def bench_ooc(n: int, folder: str | None, memory_limit: str, check: bool) -> None:
    import duckdb

    import combotherapy as ct
    where = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="ct_ooc_"))
    where.mkdir(parents=True, exist_ok=True)
    if not any(where.glob("*.parquet")):   # written by a child process, so that its memory is not counted here
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "generate", "--subjects", str(n), "--folder", str(where)],
                       check=True)
        print(f"wrote {n} subjects to {where} in {time.perf_counter() - t0:.1f} s")
    size = sum(f.stat().st_size for f in where.glob("*.parquet"))
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{where}/*.parquet')").fetchall()[0][0]
    known = where / "pandas_bytes.txt"
    in_memory_mb = (int(known.read_text()) if known.exists() else rows * 200) / 2**20
    print(f"data: {rows} rows, {size / 2**20:.0f} MiB of Parquet (~{in_memory_mb:.0f} MiB as a pandas frame)")
    print(f"peak RSS before loading: {peak_rss_mb():.0f} MiB")
    # DuckDB settings (memory limit, threads, spill directory) are the connection's: pass a relation of it
    con = duckdb.connect(config={"memory_limit": memory_limit, "threads": 2})
    t0 = time.perf_counter()
    lazy = ct.load(con.read_parquet(f"{where}/*.parquet"), backend="duckdb")
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    anc = ct.ancova(lazy, "pain", 12, covariates=["age", "site"], missing_baseline="exclude")
    t_anc = time.perf_counter() - t0
    t0 = time.perf_counter()
    mm = ct.mmrm(lazy, "pain", covariates=["age", "sex"])
    t_mm = time.perf_counter() - t0
    print(f"load {t_load:.1f} s, ANCOVA {t_anc:.1f} s, MMRM {t_mm:.1f} s; peak RSS {peak_rss_mb():.0f} MiB")
    print(anc.contrasts[["contrast", "estimate", "se", "df", "p"]].to_string(index=False))
    print(mm.contrasts.query("visit == 26")[["contrast", "estimate", "se", "df", "p"]].to_string(index=False))
    if check:
        trial = lazy.collect()
        a2 = ct.ancova(trial, "pain", 12, covariates=["age", "site"], missing_baseline="exclude")
        m2 = ct.mmrm(trial, "pain", covariates=["age", "sex"])
        for name, x, y in (("ANCOVA", anc, a2), ("MMRM", mm, m2)):
            rel = np.max(np.abs(x.contrasts["estimate"] - y.contrasts["estimate"]) / np.abs(y.contrasts["estimate"]))
            print(f"{name}: largest relative difference of contrast estimates, lazy vs in-memory: {rel:.1e}")


def generate(n: int, where: Path, chunk_size: int = 250_000) -> None:
    rng = np.random.default_rng(2026)
    where.mkdir(parents=True, exist_ok=True)
    in_memory = 0
    for i, start in enumerate(range(0, n, chunk_size)):
        part = chunk(start, min(chunk_size, n - start), rng)
        in_memory += int(part.memory_usage(deep=True).sum())
        part.to_parquet(where / f"part{i:04d}.parquet", index=False)
    (where / "pandas_bytes.txt").write_text(str(in_memory))   # the size of the same rows as a pandas frame


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=("ancova", "ooc", "generate"))
    parser.add_argument("--subjects", type=int, nargs="+")
    parser.add_argument("--folder")
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--check", action="store_true", dest="compare")
    args = parser.parse_args(argv)
    if args.check == "generate":
        generate((args.subjects or [1_000_000])[0], Path(args.folder))
    elif args.check == "ancova":
        bench_ancova(args.subjects or [100_000, 1_000_000])
    else:
        bench_ooc((args.subjects or [1_000_000])[0], args.folder, args.memory_limit, args.compare)


if __name__ == "__main__":
    sys.exit(main())
