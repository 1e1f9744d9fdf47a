"""Running the simulations: seeds, batches, workers (serial or Dask), progress and resumable results.

Simulation ``i`` draws from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(i,)))`` — the ``i``-th
child that ``SeedSequence(seed).spawn`` gives — whatever the batch, the worker or the order batches finish, so a
run's table is the same with any number of workers. The same ``i`` is used at every ``n`` and under the null
(common random numbers), which makes the power curve smooth in ``n`` and the sample-size search stable.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..files import write_text
from .analyse import columns, simulate
from .design import Design

Task = tuple[str, int, int, int]  # truth, n, first simulation, last simulation + 1


def run_batch(design: Design, truth: str, n: int, start: int, stop: int, seed: int) -> pd.DataFrame:
    """Simulate and analyse simulations ``start .. stop - 1`` of one design point; one row each."""
    d = design.null() if truth == "null" else design
    rows = np.empty((stop - start, len(columns(design))))
    for i in range(start, stop):  # one simulated trial each (the trial itself is vectorised)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
        rows[i - start] = simulate(d, n, rng)
    frame = pd.DataFrame(rows, columns=columns(design))
    frame.insert(0, "sim", np.arange(start, stop))
    frame.insert(0, "n", n)
    frame.insert(0, "truth", truth)
    return frame


def tasks(design: Design, n_sims: int, batch: int, truths: Iterable[str]) -> list[Task]:
    return [(t, int(n), s, min(s + batch, n_sims)) for t in truths for n in design.n for s in range(0, n_sims, batch)]


def _batch_path(folder: Path, task: Task) -> Path:
    truth, n, start, stop = task
    return folder / f"batch_{truth}_n{n}_{start:07d}_{stop:07d}.csv"


def _open_folder(folder: Path, design: Design, seed: int) -> None:
    """Create the results folder or check that it holds a run of the same design and seed."""
    record = {"design": json.loads(design.key()), "seed": seed}
    path = folder / "power_run.json"
    if path.is_file():
        old = json.loads(path.read_text())
        if old != record:
            raise DataError(f"the results folder {folder} holds a run of another design or seed; use a new folder "
                            "to start this run, or the same design and seed to resume that one", kind="other run")
        return
    if folder.is_dir() and any(folder.iterdir()):
        raise DataError(f"the results folder {folder} is not empty and holds no power_run.json; choose an empty "
                        "or new folder", kind="other run")
    write_text(path, json.dumps(record, indent=1, sort_keys=True))


def _progress(total: int, show: bool | None):
    """A tqdm bar when tqdm is installed, else a one-line counter on stderr; None when not shown."""
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return None
    try:
        from tqdm.auto import tqdm

        return tqdm(total=total, unit="sim", desc="power")
    except ImportError:
        class _Simple:
            def __init__(self) -> None:
                self.done = 0

            def update(self, k: int) -> None:
                self.done += k
                print(f"\rpower: {self.done}/{total} simulations", end="", file=sys.stderr, flush=True)

            def close(self) -> None:
                print(file=sys.stderr)

        return _Simple()


def _client(client: Any, workers: int | None):
    """(client, owned): the Dask client to use, or (None, False) for a serial run."""
    if client is None and (workers is None or workers <= 1):
        return None, False
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise DataError("parallel runs need Dask: pip install 'combotherapy[power]' (dask[distributed]); or run "
                        "serially with workers=None", kind="missing dependency") from None
    if client is None:
        cluster = LocalCluster(n_workers=int(workers or 1), threads_per_worker=1, processes=False,
                               dashboard_address=None)
        return Client(cluster), True
    if isinstance(client, str):
        return Client(client), True
    return client, False


def run(design: Design, *, n_sims: int, seed: int, truths: Iterable[str] = ("design", "null"), batch: int = 100,
        workers: int | None = None, client: Any = None, folder: str | Path | None = None,
        progress: bool | None = None) -> pd.DataFrame:
    """Run every batch (reading finished ones back from ``folder``); one row per simulation, sorted."""
    todo = tasks(design, n_sims, batch, truths)
    done: list[pd.DataFrame] = []
    path = Path(folder) if folder is not None else None
    if path is not None:
        _open_folder(path, design, seed)
        for t in list(todo):
            f = _batch_path(path, t)
            if f.is_file():
                done.append(pd.read_csv(f))
                todo.remove(t)
    bar = _progress(sum(t[3] - t[2] for t in todo), progress)

    def finished(task: Task, frame: pd.DataFrame) -> None:
        if path is not None:
            buf = io.StringIO()
            frame.to_csv(buf, index=False, float_format="%.17g")
            write_text(_batch_path(path, task), buf.getvalue())  # whole batch, atomically
        done.append(frame)
        if bar is not None:
            bar.update(task[3] - task[2])

    dask_client, owned = _client(client, workers)
    try:
        if dask_client is None:
            for t in todo:
                finished(t, run_batch(design, *t, seed))
        else:
            from dask.distributed import as_completed

            futures = {dask_client.submit(run_batch, design, *t, seed, pure=False): t for t in todo}
            for fut in as_completed(list(futures)):
                finished(futures[fut], fut.result())
    finally:
        if bar is not None:
            bar.close()
        if owned:
            cluster = getattr(dask_client, "cluster", None)
            dask_client.close()
            if cluster is not None:
                cluster.close()
    if not done:
        raise DataError("no simulations to run: n_sims must be at least 1")
    sims = pd.concat(done, ignore_index=True)
    return sims.sort_values(["truth", "n", "sim"], kind="stable").reset_index(drop=True)
