"""Several mediation analyses' simulations from one stream of normals (the claims report's mediation claim).

Two :func:`~combotherapy.models.mediation.mediation` calls with the same seed and the same numbers of
coefficients draw the same coefficient normals' count first, so their simulation errors are read from the same
stream of the generator: replicate r of an analysis of ``n`` subjects reads positions ``[r n, (r + 1) n)`` after
the coefficients. Generating the normals is the simulation's floor (about 15 ns each), so the stream is generated
once (in :class:`~combotherapy.models.mediation_simulation.ErrorStream`'s background thread), up to the longest analysis,
and every simulation reads it through a window that keeps only the positions still to be read: each simulation's
arithmetic runs in its own thread (numpy releases the GIL), a simulation more than a few blocks ahead waiting for
the one behind (the window stays within 4 blocks), or, with ``threads=False``, their blocks interleaved in the
calling thread, the one furthest behind next. The results are those of separate calls, number for number.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..results import records_design
from ..trial import Trial
from .mediation import MediationResult, Prepared, finish, mediation_steps
from .mediation_simulation import ErrorStream, _Replicates, simulate_effects

__all__ = ["mediation_shared", "simulate_shared"]


class _Window:
    """Positions ``[lo, hi)`` of one stream of normals, kept while a reader may still read them. Readers may run in
    threads: a reader more than ``cap`` numbers ahead of the one furthest behind waits for it (the one behind
    never waits, its block being smaller than ``cap``), so the window stays within ``cap``."""

    def __init__(self, source: ErrorStream, readers: int, cap: int):
        self.source, self.cap = source, cap
        self.buf = np.empty(0)
        self.lo = self.hi = 0
        self.cursors: dict[int, int] = {i: 0 for i in range(readers)}
        self.cond = threading.Condition()
        self.failed = False

    def take(self, reader: int, out: np.ndarray) -> np.ndarray:
        with self.cond:
            p = self.cursors[reader]
            need = p + out.size
            while need - min(self.cursors.values()) > self.cap and not self.failed:
                self.cond.wait()
            if self.failed:
                raise RuntimeError("another simulation reading the shared stream failed")
            if need > self.hi:
                self._extend(need)
            out.reshape(-1)[:] = self.buf[p - self.lo:need - self.lo]
            self.cursors[reader] = need
            self.cond.notify_all()
        return out

    def _extend(self, need: int) -> None:
        low = min(self.cursors.values())           # nothing before it is read again
        keep = self.hi - low
        if need - low > self.buf.size:
            buf = np.empty(max(need - low, min(2 * self.buf.size, self.cap)))
            buf[:keep] = self.buf[low - self.lo:self.hi - self.lo]
            self.buf = buf
        elif low > self.lo and keep:
            self.buf[:keep] = self.buf[low - self.lo:self.hi - self.lo].copy()
        self.lo = low
        self.source.take(self.buf[keep:need - low])
        self.hi = need

    def done(self, reader: int, failed: bool = False) -> None:
        with self.cond:
            del self.cursors[reader]
            self.failed = self.failed or failed
            self.cond.notify_all()


class _Reader:
    """One simulation's view of a :class:`_Window`: ``take`` as :meth:`ErrorStream.take`."""

    def __init__(self, window: _Window, index: int):
        self.window, self.index = window, index

    def take(self, out: np.ndarray, borrow: bool = False) -> np.ndarray:
        # always a copy into ``out``: the window's numbers are read by every simulation, so none is lent out
        # (``borrow`` is ErrorStream.take's keyword, which the block loop passes)
        return self.window.take(self.index, out)


def simulate_shared(sims: Sequence[_Replicates], source: ErrorStream, threads: bool = True) -> list[pd.DataFrame]:
    """Run binomial-outcome simulations whose errors all start at ``source``'s first number (each reads its own
    ``n_sims x n`` numbers from there) from one stream. ``threads``: each simulation's arithmetic in its own thread
    (numpy releases the GIL; the window holds at most a few blocks: a thread ahead waits); else their blocks are
    interleaved in this thread, the one furthest behind next."""
    window = _Window(source, len(sims), cap=4 * max(s.rows * s.n for s in sims))
    try:
        if threads and len(sims) > 1:
            errors: list[BaseException] = []

            def run(i: int) -> None:
                try:
                    for _ in sims[i].blocks(_Reader(window, i)):
                        pass
                except BaseException as err:   # raised in the calling thread
                    errors.append(err)
                    window.done(i, failed=True)
                else:
                    window.done(i)

            workers = [threading.Thread(target=run, args=(i,), name="mediation-shared", daemon=True)
                       for i in range(1, len(sims))]
            for w in workers:
                w.start()
            run(0)
            for w in workers:
                w.join()
            if errors:
                raise errors[0]
        else:
            runs = {i: s.blocks(_Reader(window, i)) for i, s in enumerate(sims)}
            pos = dict.fromkeys(runs, 0)
            while runs:
                i = min(runs, key=pos.__getitem__)
                try:
                    pos[i] = next(runs[i])
                except StopIteration:
                    del runs[i]
                    window.done(i)
    finally:
        source.close()
    return [s.frame() for s in sims]


def _alone(step: Generator[Prepared, pd.DataFrame, MediationResult], prep: Prepared) -> MediationResult:
    """The rest of one analysis as :func:`mediation` runs it."""
    try:
        draws = simulate_effects(*prep.args, np.random.default_rng(prep.seed), prep.errors)
    except BaseException as err:
        step.throw(err)
        raise
    return finish(step, draws)


@records_design
def _recorded(trial: Trial, result: MediationResult) -> MediationResult:
    return result


def mediation_shared(trial: Trial, calls: Sequence[dict[str, Any]]) -> list[MediationResult]:
    """``[ct.mediation(trial, **kw) for kw in calls]``, the same results number for number, with the
    simulations of binomial-outcome analyses sharing one seed, ``n_sims`` and coefficient count run from one
    stream of normals (:func:`simulate_shared`). Otherwise (another seed, a linear outcome, factor covariates
    changing the coefficient count...) each analysis simulates alone. An error is the one the separate calls
    would raise first (the analyses before it are completed first, so that their errors come first)."""
    steps: list[Generator[Prepared, pd.DataFrame, MediationResult]] = []
    preps: list[Prepared] = []
    try:
        for kw in calls:
            steps.append(mediation_steps(trial, **kw))
            preps.append(next(steps[-1]))
    except BaseException:
        for step, prep in zip(steps, preps):   # the earlier analyses' own errors come first
            _alone(step, prep)
        raise
    sims: list[_Replicates] = []
    rngs: list[np.random.Generator] = []
    try:
        shareable = len(preps) > 1 and all(p.args[7] for p in preps) and \
            len({(p.seed, p.args[8]) for p in preps}) == 1
        if shareable:
            for prep in preps:
                rngs.append(np.random.default_rng(prep.seed))
                sims.append(_Replicates(*prep.args, rngs[-1]))
            shareable = all(r.bit_generator.state == rngs[0].bit_generator.state for r in rngs)
    except BaseException as err:   # a degenerate outcome model: the separate calls stop at the same analysis
        failed = steps[len(sims)]
        for step in steps:
            if step is not failed:
                step.close()
        failed.throw(err)
        raise
    if not shareable:
        return [_recorded(trial, _alone(step, prep)) for step, prep in zip(steps, preps)]
    total = max(s.n_sims * s.n for s in sims)
    source = None
    for prep in preps:    # an early stream already running that holds the longest simulation's errors
        if source is None and prep.errors is not None and prep.errors.continues(rngs[0], total):
            source = prep.errors
        elif prep.errors is not None:
            prep.errors.close()
    try:
        draws = simulate_shared(sims, source or ErrorStream(rngs[0], total))
    except BaseException:
        for step in steps:
            step.close()
        raise
    return [_recorded(trial, finish(step, d)) for step, d in zip(steps, draws)]
