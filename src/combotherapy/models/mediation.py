"""Does early pain relief carry the combined arm's effect? Causal mediation analysis of two arms.

Mediator: change of an outcome (default pain) from baseline to an early visit. Outcome: adherence to the planned
sessions (binomial GLM on sessions attended out of planned) or a visit-level outcome at a later visit (OLS
adjusted for its baseline). Effects (ACME, ADE, total, proportion mediated) by the quasi-Bayesian simulation of
Imai, Keele and Tingley (2010) (:func:`simulate_effects`, vectorised over replicates, with a fixed seed; written
here rather than through statsmodels' ``Mediation``, whose mediator draws would have to be shared by hooking into the
order of its internal calls).
"""

from __future__ import annotations

import queue
import threading
import warnings
from collections.abc import Generator, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ..analysis_set import change, covariate_values, exclusions, first_reason, list_subjects, subject_index
from ..errors import DataError, ModelError
from ..results import Fitted, Result, records_design
from ..trial import Trial
from ._design import is_factor, ols
from .adherence import session_counts

if TYPE_CHECKING:
    from .mediation_shared import _Reader

__all__ = ["mediation", "MediationResult", "ADHERENCE"]

ADHERENCE = "adherence"
#: numbers per block of replicates x subjects in the simulation (a few blocks are held at once)
_BLOCK = 1 << 16
#: numbers the error stream may generate ahead of the arithmetic (its buffer pool, 128 MiB: about the normals
#: drawn while the analysis set and the model fits are made at 10^5 subjects)
_POOL = 1 << 24
#: numbers per chunk of the error stream
_CHUNK = 1 << 18
EFFECT_ROWS = [("ACME (control)", "acme_control"), ("ACME (treated)", "acme_treated"),
               ("ACME (average)", "acme_average"), ("ADE (control)", "ade_control"),
               ("ADE (treated)", "ade_treated"), ("ADE (average)", "ade_average"), ("Total effect", "total"),
               ("Prop. mediated (control)", "prop_control"), ("Prop. mediated (treated)", "prop_treated"),
               ("Prop. mediated (average)", "prop_average")]
IGNORABILITY = ("Causal reading rests on sequential ignorability (Imai et al. 2010): given the covariates, "
                "treatment is independent of the potential mediators and outcomes (true by randomisation), and the "
                "mediator is independent of the potential outcomes given treatment and covariates (NOT guaranteed "
                "by randomisation: an unmeasured cause of both early pain relief and the outcome biases ACME and "
                "ADE). Check with a sensitivity analysis before reading the ACME causally.")


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


def _early_errors(trial: Trial, covariates: Sequence[str], n_sims: int, seed: int) -> ErrorStream | None:
    """The error stream of a binomial-outcome simulation, started before the analysis set is known: with numeric
    covariates the mediator model has ``2 + z`` coefficients and the outcome model ``3 + z`` (``z`` = the
    mediator's baseline and the covariates), so the errors start after ``n_sims (5 + 2 z)`` normals. Its length,
    ``n_sims`` x the subjects analysed (not known yet), is bounded by ``n_sims`` x the rows of the trial until
    the analysis set gives it (:meth:`ErrorStream.limit`)."""
    covs = list(dict.fromkeys(covariates))
    data = trial.data
    if any(c not in data.columns or is_factor(data[c]) for c in covs):
        return None
    z = 1 + len(covs)
    rng = np.random.default_rng(seed)
    rng.standard_normal(n_sims * (5 + 2 * z))
    return ErrorStream(rng, n_sims * len(data))


def _binomial_fit(counts: np.ndarray, X: np.ndarray):
    """statsmodels' binomial GLM (IRLS, tol 1e-12) of ``counts`` (attended, not attended) on ``X``; a warning
    from IRLS (perfect prediction, no convergence, overflow) or no convergence is a ModelError: the simulation
    would otherwise run on infinite coefficients and report meaningless effects."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            res = sm.GLM(counts, X, family=sm.families.Binomial()).fit(tol=1e-12, maxiter=100)
        except Exception as err:  # perfect prediction or singular design in IRLS
            raise ModelError(f"the binomial outcome model could not be fitted ({err}); with few subjects or "
                             "extreme attendance the mediator or treatment predicts attendance perfectly") from err
    if not res.converged:
        raise ModelError("the binomial outcome model did not converge; check for subjects attending none or all "
                         "sessions in one arm")
    return res


def _pd(cov: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(cov)
        return True
    except np.linalg.LinAlgError:
        return False


class MediationResult(Result):
    """Result of :func:`mediation`.

    Attributes
    ----------
    effects : DataFrame
        ``effect, estimate, se, ci_low, ci_high, p``: ACME, ADE (under control, under treatment, average), total
        effect and proportion mediated. Estimates are means of the simulated draws, ``se`` their SD, intervals
        percentiles, ``p`` twice the smaller tail proportion (as R's ``mediation``; 0 means below ``2 / n_sims``).
        The proportions mediated are ratios with heavy tails: their estimate is the median of the draws, as R's
        ``mediate`` reports them. On the outcome's scale
        (adherence: proportion of planned sessions), treated arm minus comparator arm.
    paths : DataFrame
        The regression coefficients behind it: ``a`` (treatment -> mediator), ``b`` (mediator -> outcome), ``c'``
        (direct) and ``c`` (total, outcome on treatment and covariates); for a linear outcome also ``a*b``
        (product of coefficients, Sobel SE).
    draws : DataFrame
        The simulated ACME, ADE and total effect per replicate.
    """

    tables = ("effects", "paths")
    effects: pd.DataFrame
    paths: pd.DataFrame

    def __init__(self, title: str, fitted: Fitted, *, effects: pd.DataFrame, paths: pd.DataFrame,
                 draws: pd.DataFrame, data: pd.DataFrame):
        super().__init__(title, fitted, effects=effects, paths=paths)
        self.draws = draws
        self.data = data

    def headline(self) -> list[str]:
        e = self.effects.set_index("effect")
        acme, prop = e.loc["ACME (average)"], e.loc["Prop. mediated (average)"]
        x = self.fitted.extra
        return [f"ACME (average) {acme['estimate']:.3g} ({acme['ci_low']:.3g} to {acme['ci_high']:.3g}), p = "
                f"{acme['p']:.3g}; proportion mediated {prop['estimate']:.3g} ({prop['ci_low']:.3g} to "
                f"{prop['ci_high']:.3g}).",
                f"Effects are {x['treated']} minus {x['control']} on the outcome's scale; the mediator is the "
                f"change in {x['mediator']} from baseline to week {x['mediator_visit']:g}.",
                "Sequential ignorability is assumed (see Notes)."]


def _columns(frame: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Covariate columns of the design (factors: treatment coding, sorted levels, first as reference)."""
    cols, names = [], []
    for c in covariates:
        if is_factor(frame[c]):
            v = frame[c].astype(str).to_numpy()
            for lev in sorted(pd.unique(v))[1:]:
                cols.append((v == lev).astype(float))
                names.append(f"{c}{lev}")
        else:
            cols.append(frame[c].to_numpy(float))
            names.append(c)
    return (np.column_stack(cols) if cols else np.empty((len(frame), 0))), names


@records_design
def mediation(trial: Trial, *, treatment: tuple[str, str] = ("combined", "physio"), mediator: str = "pain",
              mediator_visit: float = 4, outcome: str = ADHERENCE, outcome_visit: float = 12,
              covariates: Sequence[str] = (), n_sims: int = 1000, seed: int = 0, alpha: float = 0.05,
              attended: str = "sessions_attended", planned: str = "sessions_planned") -> MediationResult:
    """Causal mediation: is the effect of one arm against another carried by early change in the mediator?

    Parameters
    ----------
    trial : Trial
    treatment : (treated, control)
        The two arms compared; other arms are not used.
    mediator : str
        Visit-level outcome whose change from baseline to ``mediator_visit`` is the mediator (``pain``: a negative
        change is a reduction).
    mediator_visit : float
        Week of the mediator; must be after baseline and before ``outcome_visit``.
    outcome : str
        ``"adherence"`` (sessions ``attended`` out of ``planned``, binomial GLM) or a visit-level outcome measured
        at ``outcome_visit`` (OLS adjusted for its baseline).
    outcome_visit : float
        Week of the outcome; for adherence, the end of the session period (week 12 in the sample trials).
    covariates : sequence of str
        Baseline covariates, in both models (numeric linear, text as factors).
    n_sims : int
        Simulation replicates (R's ``sims``; 1000 is R's default).
    seed : int
        Seed of the ``numpy.random.Generator`` driving the simulation: the same seed gives the same result.
    alpha : float
        1 - level of the percentile intervals.
    attended, planned : str
        Session count columns (adherence outcome only).

    Returns
    -------
    MediationResult
        ``.effects``, ``.paths``, ``.draws``, ``.fitted`` (both model formulas, n, excluded subjects).

    Notes
    -----
    With ``T`` = 1 for the treated arm, ``M`` the change in the mediator and ``X`` the pre-treatment covariates
    (the mediator's baseline, the outcome's baseline for a visit-level outcome, and ``covariates``)::

        mediator model:  M = a0 + a T + g'X + e,         e ~ N(0, s^2)
        outcome model:   Y = c0 + c' T + b M + h'X + u   (OLS), or
                         attended ~ Binomial(planned, p),  logit p = c0 + c' T + b M + h'X

    ACME(t) = E[Y(t, M(1)) - Y(t, M(0))], ADE(t) = E[Y(1, M(t)) - Y(0, M(t))], total = ADE(t) + ACME(1 - t),
    proportion mediated = ACME / total. They are estimated by the quasi-Bayesian simulation of Imai, Keele and
    Tingley (2010), as R's ``mediation::mediate``: in each replicate both models' coefficients are drawn from
    their asymptotic normal distributions, potential mediators are simulated for every subject under T = 0 and
    T = 1 (with one common error draw, as ``mediate`` does), the outcome model predicts the potential outcomes
    (probabilities for adherence), and the effects are averaged over subjects. For a linear outcome the ACME is
    ``a * b`` and the ADE ``c'`` (``.paths``); the simulation reproduces them up to Monte Carlo error.
    The proportion mediated is unstable when the total effect is near 0.

    References
    ----------
    Imai K, Keele L, Tingley D (2010) A general approach to causal mediation analysis. Psychol Methods
    15:309-334. Tingley D, Yamamoto T, Hirose K, Keele L, Imai K (2014) mediation: R package for causal mediation
    analysis. J Stat Softw 59(5). VanderWeele TJ (2015) Explanation in Causal Inference. Oxford University Press.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)
    >>> res = ct.mediation(trial, treatment=("combined", "physio"), mediator_visit=4, n_sims=200, seed=1)
    >>> res.effects["effect"].tolist()[-1]
    'Prop. mediated (average)'
    >>> list(res.effects.columns)
    ['effect', 'estimate', 'se', 'ci_low', 'ci_high', 'p']
    >>> ct.mediation(trial, mediator_visit=12, outcome="pain", outcome_visit=4)
    Traceback (most recent call last):
    ...
    combotherapy.errors.DataError: the mediator 'pain' is measured at week 12, at or after the outcome ...
    """
    steps = mediation_steps(trial, treatment=treatment, mediator=mediator, mediator_visit=mediator_visit,
                             outcome=outcome, outcome_visit=outcome_visit, covariates=covariates, n_sims=n_sims,
                             seed=seed, alpha=alpha, attended=attended, planned=planned)
    prep = next(steps)
    try:
        draws = simulate_effects(*prep.args, np.random.default_rng(prep.seed), prep.errors)
    except BaseException as err:
        steps.throw(err)   # closes the error stream, raises err
        raise
    return finish(steps, draws)


class Prepared(NamedTuple):
    """What :func:`mediation` simulates from, once the analysis set is made and the models are fitted:
    :func:`simulate_effects`'s arguments before ``rng`` (``args``), the seed of its generator and the error
    stream already started (or None)."""

    args: tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray, np.ndarray, np.ndarray, bool, int]
    seed: int
    errors: ErrorStream | None


def finish(steps: Generator[Prepared, pd.DataFrame, MediationResult], draws: pd.DataFrame) -> MediationResult:
    """The result of :func:`mediation_steps` given the simulated draws of its :class:`Prepared`."""
    try:
        steps.send(draws)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the mediation analysis did not finish after its simulation")


def mediation_steps(trial: Trial, *, treatment: tuple[str, str] = ("combined", "physio"), mediator: str = "pain",
                     mediator_visit: float = 4, outcome: str = ADHERENCE, outcome_visit: float = 12,
                     covariates: Sequence[str] = (), n_sims: int = 1000, seed: int = 0, alpha: float = 0.05,
                     attended: str = "sessions_attended", planned: str = "sessions_planned"
                     ) -> Generator[Prepared, pd.DataFrame, MediationResult]:
    """:func:`mediation` in two steps: ``next`` checks the arguments, makes the analysis set and fits the models
    and yields what to simulate (:class:`Prepared`); ``send(draws)`` (:func:`finish`) returns the result. Lets a
    caller run several analyses' simulations together (:func:`.mediation_shared.mediation_shared`)."""
    if type(trial).__name__ == "LazyTrial":   # out-of-core data: name the routes, never subsample
        from ..scale.lazy import needs_rows
        needs_rows(trial, "mediation")
    if not isinstance(trial, Trial):
        raise DataError(f"expected a ct.Trial (from ct.load), got {type(trial).__name__}")
    if not (0 < alpha < 1):
        raise DataError(f"alpha must be between 0 and 1, not {alpha!r}")
    if isinstance(n_sims, bool) or not isinstance(n_sims, int | np.integer) or n_sims < 100:
        raise DataError(f"n_sims must be a whole number >= 100 (1000 is usual), not {n_sims!r}")
    treatment = tuple(treatment)
    if len(treatment) != 2 or treatment[0] == treatment[1] or any(a not in trial.arms for a in treatment):
        raise DataError(f"treatment must be two different arms of this trial (treated, comparator), e.g. "
                        f"('combined', 'physio'); the arms are {trial.arms}, got {treatment}")
    treated, control = treatment
    m_inst = trial.instrument(mediator)
    if m_inst.level != "visit":
        raise DataError(f"mediator '{mediator}' is measured once per subject; the mediator is the change of a "
                        "visit-level outcome from baseline")
    mv = trial.check_visit(mediator_visit)
    adherence = outcome == ADHERENCE
    if adherence:
        ov = float(outcome_visit)
    else:
        o_inst = trial.instrument(outcome)
        if o_inst.level != "visit":
            raise DataError(f"outcome '{outcome}' is measured once per subject; use outcome='adherence' or a "
                            "visit-level outcome")
        ov = trial.check_visit(outcome_visit)
    if mv <= 0:
        raise DataError(f"mediator_visit must be after baseline (the mediator is the change from week 0), not "
                        f"{mediator_visit!r}")
    if mv >= ov:
        raise DataError(f"the mediator '{mediator}' is measured at week {mv:g}, at or after the outcome "
                        f"('{outcome}' at week {ov:g}); a mediator must be measured before the outcome. Choose an "
                        "earlier mediator_visit or a later outcome_visit.")

    # The simulation's normals are the slow part: start drawing them now, in a background thread, from where
    # the generator will be after the coefficient draws (n_sims x the two models' coefficients), so that they
    # overlap the analysis set and the fits. simulate_effects checks that the stream is the one it would draw
    # (and draws its own if not, e.g. when a factor covariate adds design columns).
    errors = _early_errors(trial, covariates, int(n_sims), seed) if adherence else None
    try:
        # one row per subject of the two arms, in order of first appearance (the trial's subject index: row
        # positions, identifiers hashed once)
        idx = subject_index(trial)
        sel = np.flatnonzero(idx.arm.isin(treatment).to_numpy())

        def at_visit(column: str, week: float) -> np.ndarray:
            """The subject's (first) value at the week, NaN when there is none."""
            return idx.take(column, idx.first_row_at(week)).to_numpy(dtype=float, na_value=np.nan)[sel]

        # the columns as arrays over the two arms' subjects (one frame, of the analysed rows, at the end)
        if isinstance(idx.arm.dtype, pd.CategoricalDtype):   # arms as text from the categories, by their codes
            arm = idx.arm.cat.categories.astype(str).take(idx.arm.cat.codes.to_numpy()[sel])
        else:
            arm = pd.Index(idx.arm.take(sel).astype(str))
        frame: dict = {"arm": arm, "T": (arm == treated).astype(float)}
        at = at_visit(mediator, mv)
        frame["m_base"] = at_visit(mediator, 0.0)
        frame["M"] = change(at, frame["m_base"])
        reasons = [(np.isnan(frame["m_base"]), f"no baseline {mediator}"),
                   (np.isnan(at), f"no {mediator} at week {mv:g} (mediator)")]
        session_reason = None
        if adherence:
            # every subject's counts by position in the subject index (no lookup by identifier): the subjects
            # the sessions exclude keep that reason (it comes first), the others need counts
            att, pl, conditions = session_counts(trial, attended, planned)
            frame["attended"], frame["planned"] = att[sel], pl[sel]
            session_reason = first_reason(conditions, idx.n)[sel]
            reasons.append((np.isnan(pl[sel]) & (session_reason == ""), "no session counts"))
            base_cols = ["m_base"]
        else:
            frame["Y"] = at_visit(outcome, ov)
            reasons.append((np.isnan(frame["Y"]), f"no {outcome} at week {ov:g} (outcome)"))
            if outcome != mediator:
                frame["y_base"] = at_visit(outcome, 0.0)
                reasons.append((np.isnan(frame["y_base"]), f"no baseline {outcome}"))
                base_cols = ["m_base", "y_base"]
            else:
                base_cols = ["m_base"]
        covariates = list(dict.fromkeys(covariates))
        unknown = [c for c in covariates if c not in trial.data.columns]
        reserved = [c for c in covariates if c in ("subject", "arm", "visit")]
        if unknown or reserved:
            raise DataError(f"covariate(s) {unknown + reserved} cannot be used; give baseline covariates of this trial "
                            f"({trial.covariates})")
        _, _, cov, notes = covariate_values(trial, covariates)
        for c in covariates:
            frame[c] = cov[c].take(sel).array
            reasons.append((pd.isna(frame[c]), f"covariate '{c}' missing"))
        reason = first_reason(reasons, len(sel))
        if session_reason is not None:
            reason = np.where(session_reason != "", session_reason, reason)
        # the analysed subjects as one frame (index reset); the excluded ones with their reasons, as text
        keep = reason == ""
        out_rows = np.flatnonzero(~keep)
        _, excluded = exclusions(pd.DataFrame({"subject": idx.subjects.take(sel[out_rows]),
                                               "arm": arm.take(out_rows)}), reason[out_rows])
        rows = np.flatnonzero(keep)
        f = pd.DataFrame({"subject": idx.subjects.take(sel[rows]),
                          **{k: (v.take(rows) if isinstance(v, pd.Index) else v[rows]) for k, v in frame.items()}})
        if errors is not None:
            errors.limit(int(n_sims) * len(f))   # the simulation reads this many: the thread stops there
        counts = f["arm"].value_counts().reindex([treated, control], fill_value=0)
        if (counts < 2).any():
            raise DataError(f"too few subjects with mediator and outcome recorded: {dict(counts)}; each arm needs at "
                            "least 2")

        Z, z_names = _columns(f, base_cols + covariates)
        z_names = [{"m_base": f"{mediator}[week 0]", "y_base": f"{outcome}[week 0]"}.get(n, n) for n in z_names]
        T, M = f["T"].to_numpy(), f["M"].to_numpy()
        one = np.ones(len(f))
        Xm = np.column_stack([one, T, Z])
        Xo = np.column_stack([one, T, M, Z])
        m_terms = ["(Intercept)", "treatment"] + z_names
        o_terms = ["(Intercept)", "treatment", "mediator"] + z_names
        m_fit = ols(Xm, M, m_terms, what=" of the mediator")
        if adherence:
            y, n_tr = f["attended"].to_numpy(float), f["planned"].to_numpy(float)
            counts2 = np.column_stack([y, n_tr - y])
            o_res = _binomial_fit(counts2, Xo)
            ob, ocov, odf = np.asarray(o_res.params), np.asarray(o_res.cov_params()), np.inf
            total: list = []   # the total-effect model (no mediator): not needed by the simulation, so it is
            # fitted while the simulation waits for the error stream (same fit, same numbers, whenever it runs)
            if errors is not None:
                errors.idle.append(lambda: total.append(_binomial_fit(counts2, np.delete(Xo, 2, axis=1))))
            else:
                total.append(_binomial_fit(counts2, np.delete(Xo, 2, axis=1)))
        else:
            yv = f["Y"].to_numpy(float)
            o_fit = ols(Xo, yv, o_terms, what=" of the outcome")
            c_fit = ols(np.delete(Xo, 2, axis=1), yv, [t for t in o_terms if t != "mediator"], what=" of the outcome")
            ob, ocov, odf = o_fit.beta, o_fit.vcov, float(o_fit.df_resid)
            cb, ccov = c_fit.beta, c_fit.vcov

        try:
            draws = yield Prepared((Xm, m_fit.beta, m_fit.vcov, m_fit.sigma, Xo, ob, ocov, adherence, int(n_sims)),
                                   seed, errors)
        except GeneratorExit:
            raise
        except BaseException:   # the simulation failed: the total model's fit first (its error first, as before)
            if errors is not None:
                errors.run_idle()
            raise
        if errors is not None:   # the total model's fit, if the simulation had no wait for it
            errors.run_idle()
        if adherence:
            cb, ccov = np.asarray(total[0].params), np.asarray(total[0].cov_params())
    except BaseException:
        if errors is not None:
            errors.close()
        raise
    draws["acme_average"] = (draws["acme_control"] + draws["acme_treated"]) / 2
    draws["ade_average"] = (draws["ade_control"] + draws["ade_treated"]) / 2
    draws["total"] = draws["acme_average"] + draws["ade_average"]
    for k in ("control", "treated", "average"):
        draws[f"prop_{k}"] = draws[f"acme_{k}"] / draws["total"]
    effects = _summarise(draws, alpha)

    a_, a_se, m_df = m_fit.beta[1], np.sqrt(m_fit.vcov[1, 1]), float(m_fit.df_resid)
    paths = [("a: treatment -> mediator", a_, a_se, m_df), ("b: mediator -> outcome", ob[2], np.sqrt(ocov[2, 2]), odf),
             ("c': treatment -> outcome (direct)", ob[1], np.sqrt(ocov[1, 1]), odf),
             ("c: treatment -> outcome (total, without mediator)", cb[1], np.sqrt(ccov[1, 1]),
              odf if adherence else float(len(f) - len(cb)))]
    if not adherence:
        ab = a_ * ob[2]
        paths.append(("a*b: product of coefficients (ACME)", ab, np.sqrt(a_**2 * ocov[2, 2] + ob[2] ** 2 * a_se**2),
                      np.inf))
    pt = pd.DataFrame(paths, columns=["path", "estimate", "se", "df"])
    pt["statistic"] = pt["estimate"] / pt["se"]
    dfs = pt["df"].to_numpy()
    tails = np.where(np.isinf(dfs), stats.norm.sf(np.abs(pt["statistic"])),
                     stats.t.sf(np.abs(pt["statistic"]), np.where(np.isinf(dfs), 1, dfs)))
    pt["p"] = 2 * tails
    crit = np.where(np.isinf(dfs), stats.norm.isf(alpha / 2), stats.t.isf(alpha / 2, np.where(np.isinf(dfs), 1, dfs)))
    pt["ci_low"], pt["ci_high"] = pt["estimate"] - crit * pt["se"], pt["estimate"] + crit * pt["se"]

    covs = " + ".join(["treatment"] + z_names)
    m_formula = f"change in {mediator} (week {mv:g} - week 0) ~ {covs}"
    o_formula = (f"cbind({attended}, {planned} - {attended}) ~ mediator + {covs} (binomial, logit)" if adherence
                 else f"{outcome}[week {ov:g}] ~ mediator + {covs} (OLS)")
    scale = "proportion of planned sessions attended" if adherence else f"{outcome} at week {ov:g}"
    notes += [
        f"Treatment: {treated} (T = 1) against {control} (T = 0); other arms are not used.",
        f"Effects are on the scale of the outcome ({scale}), {treated} minus {control}.",
        f"Quasi-Bayesian simulation (Imai et al. 2010): {n_sims} replicates, "
        f"numpy Generator seed {seed}; potential mediators share one simulated error under T = 0 and T = 1, as in "
        "R's mediation::mediate. Estimates are simulation means (medians for the proportions mediated), intervals "
        "percentiles, p = 2 x the smaller tail proportion (0 means below 2 / n_sims).",
        IGNORABILITY,
    ]
    if adherence:
        notes.append(f"Sessions attended before week {mv:g} precede the mediator; only later sessions can be "
                     "affected by it, so the temporal order is partial.")
    if abs(effects.set_index("effect").loc["Total effect", "estimate"]) < \
            effects.set_index("effect").loc["Total effect", "se"]:
        notes.append("The total effect is small relative to its uncertainty: the proportion mediated is unstable "
                     "and should not be interpreted.")
    if len(excluded):
        why = excluded.groupby("reason", sort=False).size()
        notes.append("Excluded: " + "; ".join(
            f"{k} {r} (subjects {list_subjects(excluded.loc[excluded['reason'] == r, 'subject'])})" for r, k in why.items())
            + ".")
    fitted = Fitted(
        model="Causal mediation analysis (quasi-Bayesian simulation): OLS mediator model, "
              + ("binomial GLM" if adherence else "OLS") + " outcome model",
        formula=f"mediator: {m_formula}; outcome: {o_formula}", outcome=outcome,
        visit=ov if not adherence else None, alpha=alpha, n_per_arm={a: int(k) for a, k in counts.items()},
        excluded=excluded.reset_index(drop=True), notes=notes,
        extra={"treated": treated, "control": control, "mediator": mediator, "mediator_visit": mv,
               "outcome_visit": ov, "n_sims": int(n_sims), "seed": seed, "covariates": covariates,
               "mediator_sigma": m_fit.sigma})
    title = (f"Mediation: does the change in {mediator} by week {mv:g} carry the effect of {treated} vs {control} "
             f"on {'adherence' if adherence else f'{outcome} at week {ov:g}'}?")
    keep_cols = ["subject", "arm", "T", "M"] + [c for c in ("attended", "planned", "Y") if c in f.columns]
    return MediationResult(title, fitted, effects=effects, paths=pt, draws=draws, data=f[keep_cols])


def _summarise(draws: pd.DataFrame, alpha: float) -> pd.DataFrame:
    rows = []
    for label, col in EFFECT_ROWS:
        x = draws[col].to_numpy()
        lo, hi = np.percentile(x, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        p = 2 * min((x > 0).sum(), (x < 0).sum()) / len(x)
        # proportions mediated are ratios with heavy tails: their point estimate is the median, as in mediate
        point = float(np.median(x)) if col.startswith("prop") else float(x.mean())
        rows.append({"effect": label, "estimate": point, "se": float(x.std(ddof=1)), "ci_low": lo,
                     "ci_high": hi, "p": p})
    return pd.DataFrame(rows)
