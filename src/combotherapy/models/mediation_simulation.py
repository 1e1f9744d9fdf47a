"""The quasi-Bayesian simulation behind :func:`combotherapy.mediation` (Imai, Keele and Tingley 2010): the
replicates' arithmetic (:func:`simulate_effects`, :class:`_Replicates`, vectorised over blocks of replicates) and
the stream of normal errors drawn in a background thread from the same ``numpy.random.Generator`` stream
(:class:`ErrorStream`). Kept apart from the analysis (``mediation.py``: analysis set, model fits, tables) so that
each file says one thing; ``mediation_shared.py`` runs several simulations from one stream.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ModelError

if TYPE_CHECKING:
    from .mediation_shared import _Reader

__all__ = ["ErrorStream", "simulate_effects"]

#: numbers per block of replicates x subjects in the simulation (a few blocks are held at once)
_BLOCK = 1 << 16
#: numbers the error stream may generate ahead of the arithmetic (its buffer pool, 128 MiB: about the normals
#: drawn while the analysis set and the model fits are made at 10^5 subjects)
_POOL = 1 << 24
#: numbers per chunk of the error stream
_CHUNK = 1 << 18


def simulate_effects(Xm: np.ndarray, mb: np.ndarray, mcov: np.ndarray, sigma: float, Xo: np.ndarray,
                     ob: np.ndarray, ocov: np.ndarray, binomial: bool, n_sims: int,
                     rng: np.random.Generator, errors: ErrorStream | None = None) -> pd.DataFrame:
    """The quasi-Bayesian simulation of Imai, Keele and Tingley (2010), as R's ``mediation::mediate``.

    In each replicate r: mediator-model coefficients ``~ N(mb, mcov)``, outcome-model coefficients
    ``~ N(ob, ocov)``; potential mediators ``M_i(t) = x_i(t)' beta_m + e_ri`` for t = 0, 1 with ONE error vector
    ``e_r ~ N(0, sigma^2 I)`` shared by both (as mediate; independent errors would add spurious variance
    ``b^2 2 sigma^2 / n`` to a linear ACME); then the outcome model's mean at (treatment t', mediator M(t)).
    ACME(t) = mean_i [Y(t, M(1)) - Y(t, M(0))], ADE(t) = mean_i [Y(1, M(t)) - Y(0, M(t))]. The draws come from
    ``rng`` in this fixed order — outcome coefficients, mediator coefficients, errors, each for all replicates at
    once — so the result depends on nothing but the seed (not on the order of another library's calls).

    ``Xm`` = [1, T, Z] (mediator model), ``Xo`` = [1, T, M, Z] (outcome model). ``errors``: the error stream
    already started (:class:`ErrorStream`, from a generator positioned where ``rng`` is after the coefficient
    draws; checked, and replaced by a stream from ``rng`` when it is not).

    Notes
    -----
    The arithmetic is exact algebra on mediate's definition, arranged to touch each (replicate, subject) number
    a few times; the draws agree with the direct computation to rounding (about 1e-15). A linear outcome's mean
    is linear in the error, which cancels from every ACME and ADE: ACME(t) = ``b a`` and ADE(t) = ``c'`` draw
    by draw, and the errors are not drawn. For the binomial outcome the four linear predictors of a replicate
    differ by the replicate's constants only: ``-lp(tm, te) = A' + G e_i + sum_j B_j (z_ij - mean z_j) - te c'
    - tm b a`` (``G = -b sigma``, ``B_j = -(h_j + b g_j)``, the covariates centred so that no term is far from
    0), so one ``exp`` per number serves all four: ``Y(tm, te) = u / (u + E_i)`` with ``E_i`` the exp of the
    subject's terms and ``u = exp(te c' + tm b a - A')``. The normals are generated in a background thread
    (:class:`ErrorStream`; numpy releases the GIL, the stream is consumed in order) while this thread works.
    """
    try:
        sim = _Replicates(Xm, mb, mcov, sigma, Xo, ob, ocov, binomial, n_sims, rng)
        if not binomial:
            return sim.frame()
        if errors is None or not errors.continues(rng, n_sims * sim.n):
            if errors is not None:
                errors.close()
            errors = ErrorStream(rng, n_sims * sim.n)
        for _ in sim.blocks(errors):
            pass
    finally:
        if errors is not None:
            errors.close()
    return sim.frame()


class _Replicates:
    """One simulation of :func:`simulate_effects`: the coefficient draws (from ``rng``, at construction), the
    replicates' constants, and the block loop over the errors (:meth:`blocks`, a generator, so that simulations
    reading one stream of normals can be interleaved: :func:`simulate_shared`)."""

    def __init__(self, Xm: np.ndarray, mb: np.ndarray, mcov: np.ndarray, sigma: float, Xo: np.ndarray,
                 ob: np.ndarray, ocov: np.ndarray, binomial: bool, n_sims: int, rng: np.random.Generator):
        Bo = rng.multivariate_normal(ob, ocov, size=n_sims, method="cholesky" if _pd(ocov) else "svd")
        Bm = rng.multivariate_normal(mb, mcov, size=n_sims, method="cholesky" if _pd(mcov) else "svd")
        self.Bo, self.Bm, self.binomial, self.n_sims, self.n = Bo, Bm, binomial, n_sims, Xm.shape[0]
        if not binomial:
            return
        n = self.n
        # -lp(tm, te) = A + sum_j B_j x_j + G z - te c' - tm b a for replicate r (the row) and subject i; with the
        # covariates centred the replicate's constant is A' = A + sum_j B_j mean(x_j), and
        # Y(tm, te) = 1 / (1 + exp(A' - te c' - tm b a) E) = u / (u + E),  E = exp(G z + sum_j B_j (x_j - mean))
        b = Bo[:, 2]
        pairs = [(-(Bo[:, 3 + j] + b * Bm[:, 2 + j]), Xo[:, 3 + j]) for j in range(Xo.shape[1] - 3)] \
            if np.array_equal(Xo[:, 3:], Xm[:, 2:]) else \
            [(-Bo[:, j], Xo[:, j]) for j in range(3, Xo.shape[1])] + [(-b * Bm[:, j], Xm[:, j])
                                                                      for j in range(2, Xm.shape[1])]
        A = -(Bo[:, 0] + b * Bm[:, 0]) + sum((coef * x.mean() for coef, x in pairs), np.zeros(n_sims))
        self.terms = [(coef, x - x.mean()) for coef, x in pairs]
        self.G = -b * sigma
        with np.errstate(over="ignore", under="ignore"):
            self.u = {(0, 0): np.exp(-A), (0, 1): np.exp(Bo[:, 1] - A), (1, 0): np.exp(b * Bm[:, 1] - A),
                      (1, 1): np.exp(Bo[:, 1] + b * Bm[:, 1] - A)}
        if not all(np.isfinite(uk).all() and (uk > 0).all() for uk in self.u.values()):
            raise ModelError("the simulated outcome model's linear predictor at the covariates' means is beyond "
                             "+-700 (probabilities of exactly 0 or 1); the binomial outcome model is degenerate")
        self.sums = {key: np.empty(n_sims) for key in self.u}
        self.rows = max(1, _BLOCK // max(n, 1))

    def blocks(self, errors: ErrorStream | _Reader) -> Iterator[int]:
        """Run the replicates block by block, reading the errors from ``errors`` (``take``); yield after each
        block the count of normals read so far."""
        n, n_sims, rows, G, u, sums = self.n, self.n_sims, self.rows, self.G, self.u, self.sums
        work, t = np.empty((rows, n)), np.empty((rows, n))
        for start in range(0, n_sims, rows):
            stop = min(start + rows, n_sims)
            z, tk = errors.take(work[:stop - start], borrow=True), t[:stop - start]
            np.multiply(z, G[start:stop, None], out=z)
            for coef, x in self.terms:
                np.multiply(x, coef[start:stop, None], out=tk)
                np.add(z, tk, out=z)
            np.exp(z, out=z)                       # E, the same for the four (tm, te)
            for key, uk in u.items():
                np.add(z, uk[start:stop, None], out=tk)
                np.divide(1, tk, out=tk)
                sums[key][start:stop] = tk.sum(axis=1)
            yield stop * n

    def frame(self) -> pd.DataFrame:
        """The draws (after :meth:`blocks` has run, for a binomial outcome)."""
        if not self.binomial:
            acme, ade = self.Bo[:, 2] * self.Bm[:, 1], self.Bo[:, 1]
            return pd.DataFrame({"acme_control": acme, "acme_treated": acme.copy(), "ade_control": ade,
                                 "ade_treated": ade.copy()})
        pred = {key: self.u[key] * (s / self.n) for key, s in self.sums.items()}
        return pd.DataFrame({"acme_control": pred[1, 0] - pred[0, 0], "acme_treated": pred[1, 1] - pred[0, 1],
                             "ade_control": pred[0, 1] - pred[0, 0], "ade_treated": pred[1, 1] - pred[1, 0]})


class ErrorStream:
    """The simulation's standard normals: ``total`` numbers of ``rng``'s stream, in order, generated in a
    background thread into a bounded pool of chunks while the caller works (on the model fits, on earlier
    replicates).

    Generation is the slow part of the simulation (about 15 ns a normal); numpy releases the GIL while it fills
    a buffer, so it overlaps the caller's work. A Generator's normals do not depend on how the request is split,
    so :meth:`take` gives the same numbers as one ``rng.standard_normal(total)``. The stream does not need the
    block shape, only where it starts (``state``) and how many numbers it holds, so it can start before the
    analysis set is known; :meth:`continues` checks that it is the stream the simulation would draw.
    """

    def __init__(self, rng: np.random.Generator, total: int, chunk: int | None = None, pool: int | None = None):
        self.total = int(total)
        self.state = rng.bit_generator.state
        self._rng = rng
        self._chunk = max(1, chunk or _CHUNK)
        self._max = max(3, (pool or _POOL) // self._chunk)   # chunks in the pool (generated ahead at most)
        self._made = 0
        self._full: queue.Queue = queue.Queue()
        self._free: queue.Queue = queue.Queue()
        self._current = np.empty(0)
        self._offset = 0
        self._stop = threading.Event()
        #: work the consumer does while it waits for the generator (run in order, at most one per wait; the
        #: rest by :meth:`run_idle` at the end): a fit whose result the simulation does not need
        self.idle: list = []
        self._thread = threading.Thread(target=self._run, name="mediation-errors", daemon=True)
        self._thread.start()

    def limit(self, total: int) -> bool:
        """Stop after ``total`` numbers (the thread reads it before each chunk); False if the stream is shorter."""
        if int(total) > self.total:
            return False
        self.total = int(total)
        return True

    def continues(self, rng: np.random.Generator, total: int) -> bool:
        """Whether this stream holds the ``total`` numbers ``rng`` would draw next; if so, it stops there."""
        return rng.bit_generator.state == self.state and self.limit(total)

    def _buffer(self) -> np.ndarray | None:
        while not self._stop.is_set():
            try:
                return self._free.get_nowait()
            except queue.Empty:
                pass
            if self._made < self._max:
                self._made += 1
                return np.empty(self._chunk)
            try:
                return self._free.get(timeout=0.05)
            except queue.Empty:
                continue
        return None

    def _run(self) -> None:
        try:
            start = 0
            while start < self.total:
                buf = self._buffer()
                if buf is None:
                    return
                k = min(self._chunk, self.total - start)
                if k <= 0:   # the total was lowered meanwhile
                    return
                self._rng.standard_normal(out=buf[:k])
                self._full.put((buf, k))
                start += k
        except BaseException as err:  # handed to the consumer, raised there
            self._full.put(err)

    def take(self, out: np.ndarray, borrow: bool = False) -> np.ndarray:
        """Fill ``out`` (C-contiguous) with the stream's next ``out.size`` numbers; with ``borrow``, when they
        lie in one chunk, return them as a view of the chunk instead (shaped as ``out``, writable, valid until the
        next call: the chunk then goes back to the pool), saving the copy."""
        if borrow:
            if self._offset == len(self._current):
                self._next_chunk()
            if len(self._current) - self._offset >= out.size:
                view = self._current[self._offset:self._offset + out.size].reshape(out.shape)
                self._offset += out.size
                return view
        flat, pos = out.reshape(-1), 0
        while pos < flat.size:
            if self._offset == len(self._current):
                self._next_chunk()
            m = min(flat.size - pos, len(self._current) - self._offset)
            flat[pos:pos + m] = self._current[self._offset:self._offset + m]
            pos += m
            self._offset += m
        return out

    def _next_chunk(self) -> None:
        if self._current.base is not None:   # the consumer is done with it: back to the pool
            self._free.put(self._current.base)
        if self.idle and self._full.empty():   # the generator is behind: use the wait
            self.idle.pop(0)()
        item = self._full.get()
        if isinstance(item, BaseException):
            raise item
        self._current, self._offset = item[0][:item[1]], 0

    def close(self) -> None:
        """Stop generating (the caller is done, or failed) and wait for the thread."""
        self._stop.set()
        self._thread.join()

    def run_idle(self) -> None:
        """Run the idle work not yet done (in order)."""
        while self.idle:
            self.idle.pop(0)()


def _pd(cov: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(cov)
        return True
    except np.linalg.LinAlgError:
        return False
