"""Benchmark (not a test) of the whole pipeline at registry scale (issue 15, item 4): each step of combotherapy
against its named peer, in one run, at 10^4, 10^5 and 10^6 subjects (three arms, 5 visits each, long format).

Data: simulated three-arm trials (``ct.simulate_trial``, visits 0, 4, 8, 12, 26), generated once per size and seed
in chunks of 100,000 subjects with spawned seeds (subjects renumbered across chunks), written as one CSV, one
Parquet file and a folder of Parquet parts, and cached under ``benchmarks/.data/n<size>_seed<seed>/`` (ignored by
git). Generation runs in a subprocess with one BLAS thread (see :func:`generate`); ``--generate N`` only generates. Each (step, size) runs in a fresh subprocess; the loaded trial is handed to the analysis steps as a pickle
made right after ``ct.load`` of the Parquet file.

Steps and peers (peer time includes the same row assembly a pandas user would write, except where noted):

- ``load_csv``: ``ct.load(csv)`` vs ``pd.read_csv(csv, engine="pyarrow")``; target <= 2, peak <= 3 x the frame;
- ``load_parquet``: ``ct.load(parquet)`` vs ``pd.read_parquet``; target <= 4, peak <= 3 x the frame;
- ``ancova``: ``ct.ancova(trial, "pain", 12)`` vs the pandas merge of baseline pain onto the week-12 rows plus
  statsmodels OLS (``pain ~ arm + baseline``, design by ``get_dummies``); target <= 1.5;
- ``count_model``: ``ct.count_model(trial)`` (analgesic days at week 12, negative binomial) vs the same merge plus
  statsmodels ``NegativeBinomial`` (NB2, ML) on the same rows; target <= 1;
- ``survival``: ``ct.survival(trial)`` (KM, log-rank, Cox, PH check, RMST) vs lifelines ``CoxPHFitter`` on arm,
  the fit alone (one row per subject read from the same Parquet file), run in the peers' virtual environment
  (lifelines pins pandas < 3); target <= 1;
- ``mediation``: ``ct.mediation(trial, n_sims=1000)`` vs statsmodels ``Mediation`` (OLS mediator, binomial GLM
  outcome, the same rows, 1000 parametric draws); target <= 0.1;
- ``table_one``: ``ct.table_one(trial)`` vs the ``tableone`` package (same variables, same non-normal ones, SMDs)
  on the baseline rows, the call alone, run in the peers' environment; target <= 1;
- ``claims_report``: ``ct.claims_report(trial)`` vs ``ct.load(csv)`` of the same data (the load_csv step's time);
  target <= 10 at 10^6 subjects (reported at every size);
- ``mmrm``: ``ct.mmrm(trial, "pain")``, growth only;
- growth: every step's time at 10 x the subjects <= 12 x its time.

Timing: each call once, except the load steps, where a call under a second is timed again on both sides (up to 9
calls while they total under a second; the best is kept, the JSON says how many calls): at 10^4 one load takes 15-60
ms and a single call swings by a third with the scheduler. The peak memory is the first call's.

Peak memory: the peak resident set size of the step (``VmHWM`` of the step's process, reset through
``/proc/self/clear_refs`` just before the call) minus the resident size before it.

DuckDB section (``--duckdb-subjects N``): a folder of Parquet parts of N subjects, then, in a subprocess,
``ct.load(folder, backend="duckdb")`` and MMRM + ANCOVA + Table 1 on the lazy trial, with the subprocess's peak
resident memory (target <= 4 GiB at 2 x 10^7 subjects), and the same three analyses on the first 10^6 subjects
both lazily and in memory, compared (estimates, SEs, df to 1e-10 relative, p to 1e-10 absolute). Reports "not
available" when the installed package has no DuckDB backend.

Run from the repository root:
    PYTHONPATH=src python3 benchmarks/bench_pipeline.py --setup-peers          # once: the lifelines/tableone venv
    PYTHONPATH=src python3 benchmarks/bench_pipeline.py [--sizes 10000 100000 1000000] [--steps ...]
    PYTHONPATH=src python3 benchmarks/bench_pipeline.py --quick                # 10^4 only (smoke test)
    PYTHONPATH=src python3 benchmarks/bench_pipeline.py --generate 20000000 --parts-only --jobs 2   # data only
    PYTHONPATH=src python3 benchmarks/bench_pipeline.py --sizes --duckdb-subjects 20000000
Prints the table and writes it as JSON (``--json``, default benchmarks/bench_pipeline.json).
Results are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
VENV = HERE / ".venv-peers"
CHUNK = 100_000                       # subjects per generated chunk (one Parquet part)
ARMS = ("physio", "acupuncture", "combined")
VISITS = (0.0, 4.0, 8.0, 12.0, 26.0)
N_SIMS = 1000                         # mediation draws, both sides
STEPS = ("load_parquet", "load_csv", "ancova", "count_model", "survival", "mediation", "table_one",
         "claims_report", "mmrm")
TARGETS: dict[str, tuple[float | None, str]] = {
    "load_csv": (2.0, "pd.read_csv(engine='pyarrow')"),
    "load_parquet": (4.0, "pd.read_parquet"),
    "ancova": (1.5, "pandas merge + statsmodels OLS"),
    "count_model": (1.0, "pandas merge + statsmodels NegativeBinomial"),
    "survival": (1.0, "lifelines CoxPHFitter (fit alone)"),
    "mediation": (0.1, f"statsmodels Mediation ({N_SIMS} draws)"),
    "table_one": (1.0, "tableone.TableOne (call alone)"),
    "claims_report": (10.0, "ct.load(csv) of the same data"),
    "mmrm": (None, "(itself across sizes)"),
}
GROWTH = 12.0                         # time at 10 x the subjects <= 12 x the time
LOAD_MEMORY = 3.0                     # peak of a load <= 3 x the loaded frame's memory_usage(deep=True)
DUCKDB_MEMORY = 4 * 2**30
TABLE_ONE_VARIABLES = ["age", "sex", "pain_duration", "site", "pain", "odi", "rmdq", "rom", "crp", "analgesic_days",
                       "phq9", "eq5d", "endurance"]
TABLE_ONE_CATEGORICAL = ["sex", "site"]


# ---------------------------------------------------------------------------------------------------- memory
def _status(field: str) -> int:
    """A field of /proc/self/status in bytes (0 where /proc is not available)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak() -> bool:
    """Reset the process's peak resident size (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def measure(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    """Run fn once: (its value, seconds, peak resident bytes during the call above the resident size before)."""
    import gc

    gc.collect()
    _reset_peak()
    before = _status("VmRSS")
    t0 = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - t0
    return value, seconds, max(_status("VmHWM") - before, 0)


#: a load call shorter than this is timed again (both sides alike), up to REPEATS calls in all, and the best kept:
#: a single call of 15-60 ms swings by a third with the scheduler (measured: 52-75 ms for one 10^4 load)
SHORT, REPEATS = 1.0, 9


def timed(out: dict, side: str, fn: Callable[[], Any], repeat: bool = False) -> Any:
    """measure() into out[side + "_seconds"/"_peak"]; a failure of one side, typically running out of memory under
    the worker's address-space cap (``--memory-limit``; pyarrow then raises its own errors, not MemoryError), is
    recorded as out[side + "_error"] and the other side still runs. ``repeat``: a call under ``SHORT`` seconds is
    timed again while the calls total under ``SHORT`` seconds (at most ``REPEATS`` calls); the best time is kept
    (``side + "_calls"`` says how many), the peak memory is the first call's."""
    try:
        value, out[side + "_seconds"], out[side + "_peak"] = measure(fn)
        calls, spent = 1, out[side + "_seconds"]
        while repeat and calls < REPEATS and spent < SHORT:
            value = None
            value, seconds, _ = measure(fn)
            out[side + "_seconds"] = min(out[side + "_seconds"], seconds)
            calls, spent = calls + 1, spent + seconds
        if repeat:
            out[side + "_calls"] = calls
    except Exception as exc:  # noqa: BLE001  (recorded, not hidden: it is printed in the table)
        out[side + "_seconds"] = out[side + "_peak"] = None
        kind = "out of memory (over --memory-limit)" if isinstance(exc, MemoryError) else type(exc).__name__
        out[side + "_error"] = f"{kind}: {str(exc)[:150]}" if str(exc) else kind
        return None
    return value


def limit_memory(gib: float) -> None:
    """Cap this process's address space so that a step that would need more fails alone with MemoryError
    (the machine is shared; an OOM kill could take other work with it)."""
    import resource

    if gib > 0:
        cap = int(gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


# ---------------------------------------------------------------------------------------------------- data
def _chunk_sizes(n: int) -> list[int]:
    return [min(CHUNK, n - start) for start in range(0, n, CHUNK)]


def _simulate_chunk(n: int, offset: int, seed_seq: np.random.SeedSequence) -> pd.DataFrame:
    """n subjects of a three-arm trial (arms as equal as possible), subjects numbered from offset.

    The ids are made once per subject and repeated by position (``take``), not formatted row by row."""
    import combotherapy as ct

    per_arm = {a: n // 3 + (i < n % 3) for i, a in enumerate(ARMS)}
    frame = ct.simulate_trial(arms=ARMS, n_per_arm=per_arm, visits=VISITS, seed=None,
                              rng=np.random.default_rng(seed_seq)).data
    codes, _ = pd.factorize(frame["subject"])
    ids = pd.array(np.char.add("S", np.char.zfill(np.arange(offset + 1, offset + n + 1).astype(str), 9)), dtype="str")
    frame["subject"] = ids.take(codes)
    frame["arm"] = frame["arm"].astype(str)
    return frame


def _arrow_table(frame: pd.DataFrame):
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    schema = pa.schema([pa.field(f.name, pa.string() if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                                 or pa.types.is_dictionary(f.type) else f.type) for f in table.schema])
    return table.cast(schema).replace_schema_metadata(None)


def _write_part(size: int, offset: int, ss: np.random.SeedSequence, path: Path) -> None:
    import pyarrow.parquet as pq

    tmp = path.with_suffix(".tmp")
    pq.write_table(_arrow_table(_simulate_chunk(size, offset, ss)), tmp)
    tmp.replace(path)


def dataset(n: int, seed: int, *, csv: bool = True, verbose: bool = True, jobs: int = 1) -> Path:
    """The cached data of n subjects: parts/part-XXXXX.parquet (one per chunk), data.parquet and data.csv.

    Generated once per (n, seed) with ``np.random.SeedSequence(seed).spawn(chunks)``; a file ``done.json`` marks a
    complete generation (an interrupted one is resumed part by part). ``jobs`` > 1 generates parts in that many
    processes (the parts, and so the data, are the same)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder = DATA / f"n{n}_seed{seed}"
    parts = folder / "parts"
    done = folder / ("done.json" if csv else "done-parts.json")
    if done.exists() or (folder / "done.json").exists():
        return folder
    parts.mkdir(parents=True, exist_ok=True)
    sizes = _chunk_sizes(n)
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    t0 = time.perf_counter()
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()
    todo = [(size, off, ss, parts / f"part-{i:05d}.parquet")
            for i, (size, off, ss) in enumerate(zip(sizes, offsets, seeds, strict=True))
            if not (parts / f"part-{i:05d}.parquet").exists()]
    if jobs > 1 and len(todo) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:
            for k, _ in enumerate(pool.map(_write_part, *zip(*todo, strict=True))):
                if verbose:
                    print(f"  generated part {k + 1} / {len(todo)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    else:
        for size, off, ss, path in todo:
            _write_part(size, off, ss, path)
            if verbose:
                print(f"  generated {off + size:,} / {n:,} subjects ({time.perf_counter() - t0:.0f} s)", flush=True)
    if csv:
        files = sorted(parts.glob("part-*.parquet"))
        schema = pq.read_schema(files[0])
        with pq.ParquetWriter(folder / "data.parquet.tmp", schema) as pw, \
                pacsv.CSVWriter(folder / "data.csv.tmp", schema) as cw:
            for f in files:
                table = pq.read_table(f)
                pw.write_table(table)
                cw.write_table(table)
        (folder / "data.parquet.tmp").replace(folder / "data.parquet")
        (folder / "data.csv.tmp").replace(folder / "data.csv")
    done.write_text(json.dumps({"subjects": n, "seed": seed, "chunk": CHUNK, "rows": n * len(VISITS),
                                "seconds": round(time.perf_counter() - t0, 1), "jobs": jobs,
                                "peak_rss_main": _status("VmHWM"), "load_average": list(os.getloadavg())}))
    return folder


def generate(n: int, seed: int, *, csv: bool = True, jobs: int = 1) -> Path:
    """:func:`dataset` in a subprocess with single-threaded BLAS; the folder of the cached data.

    The simulator's correlated errors are (subjects x 5) @ (5 x 5) matrix products; on a busy machine OpenBLAS's
    threads make them about 10 times slower than one thread, with the same bytes (each output row is computed by
    the same kernel). The variables must be set before numpy is imported, hence the subprocess; it also returns
    the generator's memory to the system before anything is timed."""
    folder = DATA / f"n{n}_seed{seed}"
    if (folder / "done.json").exists() or (not csv and (folder / "done-parts.json").exists()):
        return folder
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--generate-here", str(n), "--seed", str(seed),
           "--jobs", str(jobs)] + ([] if csv else ["--parts-only"])
    subprocess.run(cmd, check=True, env=env)
    return folder


# ---------------------------------------------------------------------------------------------------- peers
def _peer_python() -> Path | None:
    py = VENV / "bin" / "python"
    return py if py.exists() else None


def setup_peers() -> None:
    """Create benchmarks/.venv-peers with lifelines and tableone (they pin pandas < 3, so not in the main env)."""
    if not _peer_python():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(_peer_python()), "-m", "pip", "install", "-q", "lifelines", "tableone", "pyarrow"],
                   check=True)
    out = subprocess.run([str(_peer_python()), "-c", "import lifelines, tableone, pandas; print(lifelines.__version__,"
                          " tableone.__version__, pandas.__version__)"], check=True, capture_output=True, text=True)
    print("peers' environment:", VENV, "lifelines, tableone, pandas =", out.stdout.strip())


# Run by the peers' interpreter: reads the Parquet file, times only the fit/the call, prints JSON.
_PEER_SCRIPT = r"""
import gc, json, sys, time, warnings
import pandas as pd
warnings.simplefilter("ignore")
what, path = sys.argv[1], sys.argv[2]
def status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0
if what == "cox":
    from lifelines import CoxPHFitter
    d = pd.read_parquet(path, columns=["visit", "arm", "recovery_time", "recovered"])
    d = d.loc[d["visit"] == 0].dropna(subset=["recovery_time", "recovered"])
    X = pd.get_dummies(d["arm"], dtype=float)
    X = X[[c for c in ["acupuncture", "combined"] if c in X]]   # physio the reference, as ct.survival
    X["recovery_time"] = d["recovery_time"].to_numpy(); X["recovered"] = d["recovered"].to_numpy()
    fit = lambda: CoxPHFitter().fit(X, duration_col="recovery_time", event_col="recovered")
else:
    from tableone import TableOne
    cols = json.loads(sys.argv[3]); cat = json.loads(sys.argv[4]); nonnormal = json.loads(sys.argv[5])
    d = pd.read_parquet(path, columns=["visit", "arm"] + cols)
    d = d.loc[d["visit"] == 0, ["arm"] + cols].reset_index(drop=True)
    fit = lambda: TableOne(d, columns=cols, categorical=cat, nonnormal=nonnormal, groupby="arm", smd=True,
                           pval=False)
gc.collect()
try:
    open("/proc/self/clear_refs", "w").write("5")
except OSError:
    pass
before = status("VmRSS")
t0 = time.perf_counter()
res = fit()
seconds = time.perf_counter() - t0
out = {"seconds": seconds, "peak": max(status("VmHWM") - before, 0)}
if what == "cox":
    out["coef"] = [float(x) for x in res.params_.to_numpy()]
print(json.dumps(out))
"""


def run_peer(what: str, parquet: Path, *args: str) -> dict:
    py = _peer_python()
    if py is None:
        return {"error": "not available (run with --setup-peers to create benchmarks/.venv-peers)"}
    proc = subprocess.run([str(py), "-c", _PEER_SCRIPT, what, str(parquet), *args], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    if proc.returncode != 0:
        return {"error": "peer failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------------- steps
def _baseline_merge(frame: pd.DataFrame, outcome: str, visit: float) -> pd.DataFrame:
    """The pandas user's analysis set: the visit's rows with the baseline value merged on, complete cases."""
    base = frame.loc[frame["visit"] == 0, ["subject", outcome]].rename(columns={outcome: "baseline"})
    rows = frame.loc[frame["visit"] == visit, ["subject", "arm", outcome]].merge(base, on="subject", how="left")
    return rows.dropna(subset=[outcome, "baseline"])


def _arm_design(rows: pd.DataFrame) -> np.ndarray:
    arm = pd.Categorical(rows["arm"].astype(str), categories=list(ARMS))
    dummies = pd.get_dummies(arm, drop_first=True, dtype=float).to_numpy()
    return np.column_stack([np.ones(len(rows)), dummies, rows["baseline"].to_numpy(float)])


def peer_ancova(frame: pd.DataFrame):
    import statsmodels.api as sm

    rows = _baseline_merge(frame, "pain", 12.0)
    return sm.OLS(rows["pain"].to_numpy(float), _arm_design(rows)).fit()


def peer_count_model(frame: pd.DataFrame):
    import statsmodels.api as sm

    rows = _baseline_merge(frame, "analgesic_days", 12.0)
    return sm.NegativeBinomial(rows["analgesic_days"].to_numpy(float), _arm_design(rows)).fit(disp=0, maxiter=200)


def _mediation_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """combined vs physio: change in pain to week 4 (mediator), sessions attended of planned (outcome)."""
    base = frame.loc[frame["visit"] == 0, ["subject", "arm", "pain", "sessions_attended", "sessions_planned"]]
    base = base.loc[base["arm"].astype(str).isin(["combined", "physio"])]
    at4 = frame.loc[frame["visit"] == 4, ["subject", "pain"]].rename(columns={"pain": "pain4"})
    rows = base.merge(at4, on="subject", how="left")
    rows["M"] = rows["pain4"] - rows["pain"]
    rows = rows.dropna(subset=["M", "pain", "sessions_attended", "sessions_planned"])
    return rows.loc[rows["sessions_planned"] > 0]


def peer_mediation(frame: pd.DataFrame, n_sims: int = N_SIMS):
    import statsmodels.api as sm
    from statsmodels.stats.mediation import Mediation

    rows = _mediation_rows(frame)
    one = np.ones(len(rows))
    T = (rows["arm"].astype(str) == "combined").to_numpy(float)
    M, base = rows["M"].to_numpy(float), rows["pain"].to_numpy(float)
    y, n = rows["sessions_attended"].to_numpy(float), rows["sessions_planned"].to_numpy(float)
    mediator_model = sm.OLS(M, np.column_stack([one, T, base]))
    outcome_model = sm.GLM(np.column_stack([y, n - y]), np.column_stack([one, T, M, base]),
                           family=sm.families.Binomial())
    np.random.seed(0)                 # statsmodels' Mediation draws from the global generator
    return Mediation(outcome_model, mediator_model, exposure=(1, 1), mediator=2).fit(method="parametric",
                                                                                     n_rep=n_sims)


def _nonnormal(trial) -> list[str]:
    """The variables ct.table_one shows as median [Q1, Q3] (so that tableone is asked for the same)."""
    import combotherapy as ct

    v = ct.table_one(trial).variables
    return [str(x) for x in v.loc[v["display"] == "median", "variable"]]


def _load_trial(pickle_path: Path):
    with open(pickle_path, "rb") as fh:
        return pickle.load(fh)


def ct_step(step: str, trial, n_sims: int = N_SIMS):
    """The package's side of an analysis step on a loaded trial."""
    import combotherapy as ct

    calls: dict[str, Callable[[], Any]] = {
        "ancova": lambda: ct.ancova(trial, "pain", 12),
        "count_model": lambda: ct.count_model(trial),
        "survival": lambda: ct.survival(trial),
        "mediation": lambda: ct.mediation(trial, n_sims=n_sims, seed=0),
        "table_one": lambda: ct.table_one(trial),
        "claims_report": lambda: ct.claims_report(trial),
        "mmrm": lambda: ct.mmrm(trial, "pain"),
    }
    return calls[step]()


PEERS_IN_PROCESS: dict[str, Callable[..., Any]] = {"ancova": peer_ancova, "count_model": peer_count_model,
                                                    "mediation": peer_mediation}


def _combined_vs_physio(result) -> float:
    """The combined - physio contrast of a result (log scale for ratio measures)."""
    c = result.contrasts
    row = c.loc[(c["first"] == "combined") & (c["second"] == "physio")].iloc[0]
    return float(row["log_estimate"] if "log_estimate" in c else row["estimate"])


def run_step(step: str, size: int, folder: Path, trial_pickle: Path) -> dict:
    """One (step, size): the package's call and its peer, each timed once (a short load: best of a few) with its peak
    memory."""
    import warnings

    import combotherapy as ct

    warnings.simplefilter("ignore")
    csv, parquet = folder / "data.csv", folder / "data.parquet"
    out: dict[str, Any] = {"step": step, "size": size}
    if step in ("load_csv", "load_parquet"):
        source = csv if step == "load_csv" else parquet
        # imports and first-read set-up (Arrow's CSV or Parquet reader, the identifier guard's patterns, among
        # them the screen it compiles for columns of over 2,000 distinct values) are not what is timed: both sides
        # read a file of the same format and 3,000 subjects first, so every code path has run once
        with tempfile.TemporaryDirectory() as tmp:
            small = ct.simulate_trial(arms=ARMS, n_per_arm=1000, visits=VISITS, seed=1).data
            warm = Path(tmp) / ("small.csv" if step == "load_csv" else "small.parquet")
            if step == "load_csv":
                small.to_csv(warm, index=False)
                pd.read_csv(warm, engine="pyarrow")
            else:
                small.to_parquet(warm, index=False)
                pd.read_parquet(warm)
            ct.load(warm)
        trial = timed(out, "ct", lambda: ct.load(source), repeat=True)
        if trial is not None:
            out["frame_bytes"] = int(trial.data.memory_usage(deep=True).sum())
            out["rows"] = len(trial.data)
            if step == "load_parquet":
                with open(trial_pickle, "wb") as fh:
                    pickle.dump(trial, fh, protocol=5)
        del trial
        peer = (lambda: pd.read_csv(csv, engine="pyarrow")) if step == "load_csv" else (lambda: pd.read_parquet(
            parquet))
        timed(out, "peer", peer, repeat=True)
        return out
    # imports and first-call set-up are not what is timed: both sides run once on a small trial first
    small = ct.simulate_trial(arms=ARMS, n_per_arm=60, visits=VISITS, seed=1)
    ct_step(step, small, n_sims=100)
    if step in PEERS_IN_PROCESS:
        PEERS_IN_PROCESS[step](small.data, *([100] if step == "mediation" else []))
    trial = _load_trial(trial_pickle)
    if step == "table_one":
        out["nonnormal"] = _nonnormal(trial)
        trial = _load_trial(trial_pickle)      # the timed call gets a fresh trial (no facts cached by the above)
    res_ct = timed(out, "ct", lambda: ct_step(step, trial))
    if step in PEERS_IN_PROCESS:
        frame = trial.data
        res_peer = timed(out, "peer", lambda: PEERS_IN_PROCESS[step](frame))
        # the same rows and model: the combined - physio estimates agree
        if step in ("ancova", "count_model") and res_ct is not None and res_peer is not None:
            out["agreement"] = abs(_combined_vs_physio(res_ct) - float(res_peer.params[2]))
    elif step == "survival":
        res = run_peer("cox", parquet)
        out.update({"peer_seconds": res.get("seconds"), "peer_peak": res.get("peak"), "peer_error": res.get("error")})
        if res.get("coef") and res_ct is not None:   # lifelines: acupuncture, combined vs physio (log hazard ratios)
            out["agreement"] = abs(_combined_vs_physio(res_ct) - res["coef"][1])
    elif step == "table_one":
        res = run_peer("tableone", parquet, json.dumps(TABLE_ONE_VARIABLES), json.dumps(TABLE_ONE_CATEGORICAL),
                       json.dumps(out["nonnormal"]))
        out.update({"peer_seconds": res.get("seconds"), "peer_peak": res.get("peak"), "peer_error": res.get("error")})
    return out


def _subprocess_step(step: str, size: int, folder: Path, trial_pickle: Path, memory_limit: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", step, "--worker-size", str(size),
           "--worker-folder", str(folder), "--worker-trial", str(trial_pickle), "--memory-limit", str(memory_limit)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1][:300]
        return {"step": step, "size": size, "error": tail}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------------- judging
def judge(results: list[dict]) -> list[dict]:
    """Add ratio, target and pass/fail to each row; growth rows (10 x the subjects) at the end."""
    by = {(r["step"], r["size"]): r for r in results}
    for r in results:
        target, peer_name = TARGETS[r["step"]]
        r["peer"] = peer_name
        r["target"] = target
        if r["step"] == "claims_report":
            load = by.get(("load_csv", r["size"]), {})
            r["peer_seconds"], r["peer_peak"] = load.get("ct_seconds"), None
        if r.get("ct_seconds") is not None and r.get("peer_seconds"):
            r["ratio"] = r["ct_seconds"] / r["peer_seconds"]
            r["pass"] = bool(r["ratio"] <= target) if target is not None else None
        else:
            r["ratio"], r["pass"] = None, None
        if r["step"].startswith("load") and r.get("frame_bytes"):
            r["memory_ratio"] = r["ct_peak"] / r["frame_bytes"]
            r["memory_pass"] = bool(r["memory_ratio"] <= LOAD_MEMORY)
    growth = []
    for r in results:
        small = by.get((r["step"], r["size"] // 10))
        if r["size"] % 10 == 0 and small and r.get("ct_seconds") and small.get("ct_seconds"):
            g = r["ct_seconds"] / small["ct_seconds"]
            growth.append({"step": r["step"], "from": small["size"], "to": r["size"], "growth": g,
                           "target": GROWTH, "pass": bool(g <= GROWTH)})
    return growth


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "-" if x is None else format(x, spec)


def _mib(x: float | None) -> str:
    return "-" if x is None else f"{x / 2**20:,.0f}"


def table(results: list[dict], growth: list[dict]) -> str:
    lines = ["| step | subjects | combotherapy s | peer s | ratio | target | pass | peak MiB (ct / peer) | peer |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r.get("error"):
            lines.append(f"| {r['step']} | {r['size']:,} | error: {r['error']} | | | | | | |")
            continue
        verdict = {True: "pass", False: "FAIL", None: "-"}[r.get("pass")]
        if r["step"] == "claims_report" and r["size"] < 10**6 and r.get("pass") is not None:
            verdict += " (target at 10^6)"
        peak = f"{_mib(r.get('ct_peak'))} / {_mib(r.get('peer_peak'))}"
        if "memory_ratio" in r:
            peak += (f" (frame {_mib(r['frame_bytes'])}; {r['memory_ratio']:.2f} x, "
                     f"{'pass' if r['memory_pass'] else 'FAIL'} <= {LOAD_MEMORY:g})")
        peer = r["peer"] + (f" [{r['peer_error']}]" if r.get("peer_error") else "")
        if r.get("ct_error"):
            peer += f" [combotherapy: {r['ct_error']}]"
        if r.get("agreement") is not None:
            peer += f"; combined - physio agrees to {r['agreement']:.1e}"
        lines.append(f"| {r['step']} | {r['size']:,} | {_fmt(r.get('ct_seconds'))} | {_fmt(r.get('peer_seconds'))} | "
                     f"{_fmt(r.get('ratio'), '.2f')} | {_fmt(r.get('target'), 'g')} | {verdict} | {peak} | {peer} |")
    if growth:
        lines += ["", "| step | growth | time ratio | target | pass |", "|---|---|---|---|---|"]
        for g in growth:
            lines.append(f"| {g['step']} | {g['from']:,} -> {g['to']:,} | {g['growth']:.2f} | <= {g['target']:g} | "
                         f"{'pass' if g['pass'] else 'FAIL'} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- DuckDB
_DUCKDB_SCRIPT = r"""
import json, sys, time, warnings, inspect
warnings.simplefilter("ignore")
import combotherapy as ct
folder = sys.argv[1]
def status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0
if "backend" not in inspect.signature(ct.load).parameters:
    print(json.dumps({"available": False, "why": "ct.load has no backend= argument"})); sys.exit(0)
try:
    t0 = time.perf_counter()
    lazy = ct.load(folder, backend="duckdb")
except (TypeError, ValueError, NotImplementedError, ImportError) as exc:
    print(json.dumps({"available": False, "why": f"{type(exc).__name__}: {exc}"[:300]})); sys.exit(0)
out = {"available": True, "load_seconds": time.perf_counter() - t0}
for name, call in [("mmrm", lambda: ct.mmrm(lazy, "pain")), ("ancova", lambda: ct.ancova(lazy, "pain", 12)),
                   ("table_one", lambda: ct.table_one(lazy))]:
    t0 = time.perf_counter()
    call()
    out[name + "_seconds"] = time.perf_counter() - t0
out["peak_rss"] = status("VmHWM")
print(json.dumps(out))
"""

_COMPARE_SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
import combotherapy as ct
folder = sys.argv[1]
lazy = ct.load(folder, backend="duckdb")
import glob
frame = pd.concat([pd.read_parquet(f) for f in sorted(glob.glob(folder + "/*.parquet"))], ignore_index=True)
trial = ct.load(frame)
worst = {}
def compare(name, a, b):
    for col in ["estimate", "se", "df"]:
        if col in a and col in b:
            x, y = a[col].to_numpy(float), b[col].to_numpy(float)
            rel = np.abs(x - y) / np.maximum(np.abs(y), 1e-300)
            worst[f"{name}.{col} (relative)"] = float(np.nanmax(rel)) if len(rel) else 0.0
    for col in ["p", "p_adj"]:
        if col in a and col in b:
            diff = np.abs(a[col].to_numpy(float) - b[col].to_numpy(float))
            worst[f"{name}.{col} (absolute)"] = float(np.nanmax(diff))
for name, call in [("mmrm", lambda t: ct.mmrm(t, "pain")), ("ancova", lambda t: ct.ancova(t, "pain", 12))]:
    ra, rb = call(lazy), call(trial)
    compare(name + ".contrasts", ra.contrasts, rb.contrasts)
    compare(name + ".coefficients", ra.coefficients, rb.coefficients)
ta, tb = ct.table_one(lazy).to_frame(), ct.table_one(trial).to_frame()
worst["table_one identical"] = bool(ta.equals(tb))
print(json.dumps(worst))
"""


def duckdb_section(n: int, seed: int, subset: int = 10**6, jobs: int = 1) -> dict:
    """Out-of-core run on a Parquet folder of n subjects, and the lazy/in-memory comparison on a subset."""
    folder = generate(n, seed, csv=False, jobs=jobs) / "parts"
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-c", _DUCKDB_SCRIPT, str(folder)], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        return {"subjects": n, "available": None, "error": (proc.stderr.strip().splitlines() or ["?"])[-1][:300]}
    out = {"subjects": n, "rows": n * len(VISITS), **json.loads(proc.stdout.strip().splitlines()[-1])}
    if not out.get("available"):
        return out
    out["peak_pass"] = bool(out["peak_rss"] <= DUCKDB_MEMORY)
    files = sorted(folder.glob("part-*.parquet"))[: max(1, subset // CHUNK)]
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        for f in files:
            (Path(tmp) / f.name).symlink_to(f)
        proc = subprocess.run([sys.executable, "-c", _COMPARE_SCRIPT, tmp], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        out["compare_error"] = (proc.stderr.strip().splitlines() or ["?"])[-1][:300]
    else:
        worst = json.loads(proc.stdout.strip().splitlines()[-1])
        out["compare_subjects"] = min(n, len(files) * CHUNK)
        out["compare"] = worst
        out["compare_pass"] = all(v <= 1e-10 for k, v in worst.items() if not isinstance(v, bool)) and \
            all(v for v in worst.values() if isinstance(v, bool))
    return out


def duckdb_text(d: dict) -> str:
    if d.get("error"):
        return f"DuckDB path, {d['subjects']:,} subjects: error: {d['error']}"
    if not d.get("available"):
        return f"DuckDB path, {d['subjects']:,} subjects: not available ({d.get('why')})"
    s = (f"DuckDB path, {d['subjects']:,} subjects ({d['rows']:,} rows): load {d['load_seconds']:.2f} s, "
         f"MMRM {d['mmrm_seconds']:.2f} s, ANCOVA {d['ancova_seconds']:.2f} s, Table 1 {d['table_one_seconds']:.2f} s; "
         f"peak RSS {d['peak_rss'] / 2**30:.2f} GiB ({'pass' if d['peak_pass'] else 'FAIL'} <= 4 GiB)")
    if "compare" in d:
        s += (f"\nsame numbers as in memory on {d['compare_subjects']:,} subjects: "
              f"{'pass' if d['compare_pass'] else 'FAIL'} {d['compare']}")
    elif "compare_error" in d:
        s += f"\ncomparison with the in-memory path: error: {d['compare_error']}"
    return s


# ---------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10**4, 10**5, 10**6])
    ap.add_argument("--quick", action="store_true", help="10^4 subjects only (smoke test)")
    ap.add_argument("--steps", nargs="*", default=list(STEPS), choices=STEPS)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--setup-peers", action="store_true", help="create benchmarks/.venv-peers (lifelines, tableone)")
    ap.add_argument("--duckdb-subjects", type=int, default=0, help="run the DuckDB section on this many subjects")
    ap.add_argument("--jobs", type=int, default=1, help="processes generating the data (default 1)")
    ap.add_argument("--generate", type=int, default=0, metavar="N",
                    help="only generate (and cache) the data of N subjects, then stop")
    ap.add_argument("--parts-only", action="store_true",
                    help="with --generate: the Parquet parts only (what the DuckDB section reads), no CSV")
    ap.add_argument("--generate-here", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--memory-limit", type=float, default=16.0,
                    help="address-space cap of each step's process in GiB (0: none); a step over it is reported "
                         "as out of memory")
    ap.add_argument("--json", type=Path, default=HERE / "bench_pipeline.json")
    ap.add_argument("--worker", choices=STEPS, help=argparse.SUPPRESS)
    ap.add_argument("--worker-size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--worker-folder", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--worker-trial", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        limit_memory(args.memory_limit)
        print(json.dumps(run_step(args.worker, args.worker_size, args.worker_folder, args.worker_trial)))
        return
    if args.generate_here:          # the generation subprocess of generate()
        DATA.mkdir(exist_ok=True)
        dataset(args.generate_here, args.seed, csv=not args.parts_only, jobs=args.jobs)
        return
    if args.generate:
        DATA.mkdir(exist_ok=True)
        print(f"data: {generate(args.generate, args.seed, csv=not args.parts_only, jobs=args.jobs)}")
        return
    if args.setup_peers:
        setup_peers()
    sizes = [10**4] if args.quick else sorted(args.sizes)
    steps = [s for s in STEPS if s in args.steps]
    if any(s != "load_parquet" for s in steps) and "load_parquet" not in steps:
        steps.insert(0, "load_parquet")   # it makes the loaded trial the other steps use
    results: list[dict] = []
    DATA.mkdir(exist_ok=True)
    for n in sizes:
        print(f"data: {n:,} subjects x {len(VISITS)} visits, seed {args.seed}", flush=True)
        folder = generate(n, args.seed, jobs=args.jobs)
        with tempfile.TemporaryDirectory(dir=DATA) as tmp:
            pkl = Path(tmp) / "trial.pkl"
            for step in steps:
                if not step.startswith("load") and not pkl.exists():
                    r = {"step": step, "size": n, "error": "no loaded trial (the load_parquet step failed)"}
                else:
                    r = _subprocess_step(step, n, folder, pkl, args.memory_limit)
                results.append(r)
                errors = "; ".join(f"{k}: {r[k]}" for k in ("error", "ct_error", "peer_error") if r.get(k))
                print(f"  {step}: ct {_fmt(r.get('ct_seconds'))} s, peer {_fmt(r.get('peer_seconds'))} s"
                      + (f"  ({errors})" if errors else ""), flush=True)
    growth = judge(results)
    text = table(results, growth) if results else ""
    duck = duckdb_section(args.duckdb_subjects, args.seed, jobs=args.jobs) if args.duckdb_subjects else None
    if text:
        print("\n" + text)
    if duck is not None:
        print("\n" + duckdb_text(duck))
    import combotherapy as ct

    record = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seed": args.seed,
              "combotherapy": getattr(ct, "__version__", "?"), "python": platform.python_version(),
              "pandas": pd.__version__, "cpus": os.cpu_count(), "load_average": list(os.getloadavg()),
              "results": results, "growth": growth, "duckdb": duck, "table": text}
    args.json.write_text(json.dumps(record, indent=1, default=str) + "\n")
    print(f"\nwritten: {args.json}")


if __name__ == "__main__":
    main()
