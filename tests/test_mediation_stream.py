"""The vectorised simulation of ct.mediation: the error stream drawn in a background thread is the generator's own
stream, started early or late the result is the same to the last bit, and the arithmetic (one exp serving the four
potential outcomes) equals mediate's definition written out directly."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
import combotherapy.models.mediation as med
from combotherapy.models.mediation import ErrorStream, mediation, simulate_effects


def _stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mediation-errors"]


@pytest.mark.parametrize(("chunk", "pool", "pieces"), [(1000, 2000, [7, 993, 1000, 2500, 500]),
                                                       (1 << 16, 1 << 20, [5000])])
def test_stream_is_the_generators_own_however_split(chunk, pool, pieces):
    """Chunks of any size, a small pool (the thread waits for the consumer), requests across chunk
    boundaries: exactly the numbers of one standard_normal call, and the generator's state moves as far."""
    total = sum(pieces)
    expected = np.random.default_rng(4).standard_normal(total)
    stream = ErrorStream(np.random.default_rng(4), total, chunk=chunk, pool=pool)
    got = np.concatenate([stream.take(np.empty(k)) for k in pieces])
    stream.close()
    np.testing.assert_array_equal(got, expected)
    assert not _stream_threads()


def test_borrowed_blocks_and_idle_work():
    """Blocks borrowed from the chunks (the copy saved) and blocks across chunk boundaries (copied) give the
    generator's numbers in order; idle work runs once each, in order, whether in a wait or at the end."""
    pieces, total = [300, 700, 250, 999, 1], 2250
    expected = np.random.default_rng(6).standard_normal(total)
    stream, ran = ErrorStream(np.random.default_rng(6), total, chunk=1000, pool=3000), []
    stream.idle.extend([lambda: ran.append(1), lambda: ran.append(2)])
    got = np.concatenate([stream.take(np.empty(k), borrow=True).copy() for k in pieces])
    stream.close()
    stream.run_idle()
    np.testing.assert_array_equal(got, expected)
    assert ran == [1, 2] and not stream.idle


def _design(n: int, seed: int = 2) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    T = rng.integers(0, 2, n).astype(float)
    Z = np.column_stack([rng.normal(50, 10, n), rng.integers(0, 2, n)])
    Xm = np.column_stack([np.ones(n), T, Z])
    Xo = np.column_stack([np.ones(n), T, rng.normal(size=n), Z])
    return Xm, Xo


def test_binomial_draws_equal_mediate_written_out():
    """mediate's definition, four potential outcomes each through its own logistic mean, against the package's
    one exp per number (u / (u + E)); covariates far from 0 (age ~ 50) exercise the centring."""
    n, sims, sigma = 400, 120, 1.7
    Xm, Xo = _design(n)
    mb, ob = np.array([0.2, -1.1, 0.01, 0.3]), np.array([-2.0, 0.25, -0.4, 0.03, -0.2])
    mcov, ocov = np.diag([0.02, 0.01, 1e-5, 0.01]), np.diag([0.05, 0.01, 0.002, 1e-5, 0.02])
    got = simulate_effects(Xm, mb, mcov, sigma, Xo, ob, ocov, True, sims, np.random.default_rng(5))
    g = np.random.default_rng(5)
    Bo = g.multivariate_normal(ob, ocov, size=sims, method="cholesky")
    Bm = g.multivariate_normal(mb, mcov, size=sims, method="cholesky")
    e = sigma * g.standard_normal((sims, n))
    y = {}
    for tm in (0, 1):
        m = Bm[:, [0]] + tm * Bm[:, [1]] + Bm[:, 2:] @ Xm[:, 2:].T + e
        for te in (0, 1):
            lp = Bo[:, [0]] + te * Bo[:, [1]] + Bo[:, [2]] * m + Bo[:, 3:] @ Xo[:, 3:].T
            y[tm, te] = (1 / (1 + np.exp(-lp))).mean(axis=1)
    for col, (a, b) in {"acme_control": ((1, 0), (0, 0)), "acme_treated": ((1, 1), (0, 1)),
                        "ade_control": ((0, 1), (0, 0)), "ade_treated": ((1, 1), (1, 0))}.items():
        np.testing.assert_allclose(got[col], y[a] - y[b], rtol=1e-10, atol=1e-14)


def test_linear_outcome_needs_no_errors():
    """For a linear outcome the shared error cancels: every replicate's ACME is b * a and ADE c', exactly."""
    n, sims = 300, 150
    Xm, Xo = _design(n)
    mb, ob = np.array([0.2, -1.1, 0.01, 0.3]), np.array([1.0, 0.25, 0.7, 0.03, -0.2])
    mcov, ocov = np.diag([0.02, 0.01, 1e-5, 0.01]), np.diag([0.05, 0.01, 0.002, 1e-5, 0.02])
    got = simulate_effects(Xm, mb, mcov, 2.0, Xo, ob, ocov, False, sims, np.random.default_rng(5))
    g = np.random.default_rng(5)
    Bo = g.multivariate_normal(ob, ocov, size=sims, method="cholesky")
    Bm = g.multivariate_normal(mb, mcov, size=sims, method="cholesky")
    np.testing.assert_array_equal(got["acme_control"], Bo[:, 2] * Bm[:, 1])
    np.testing.assert_array_equal(got["acme_treated"], Bo[:, 2] * Bm[:, 1])
    np.testing.assert_array_equal(got["ade_treated"], Bo[:, 1])


def test_a_stream_that_does_not_continue_the_generator_is_replaced():
    """A stream started from the wrong place (or too short) is not used: the draws equal those without one."""
    n, sims = 200, 100
    Xm, Xo = _design(n)
    mb, ob = np.array([0.2, -1.1, 0.01, 0.3]), np.array([-2.0, 0.25, -0.4, 0.03, -0.2])
    mcov, ocov = np.diag([0.02, 0.01, 1e-5, 0.01]), np.diag([0.05, 0.01, 0.002, 1e-5, 0.02])
    plain = simulate_effects(Xm, mb, mcov, 1.0, Xo, ob, ocov, True, sims, np.random.default_rng(8))
    for wrong in (ErrorStream(np.random.default_rng(8), n * sims),            # not advanced past the coefficients
                  ErrorStream(np.random.default_rng(9), n * sims)):           # another seed
        got = simulate_effects(Xm, mb, mcov, 1.0, Xo, ob, ocov, True, sims, np.random.default_rng(8), wrong)
        pd.testing.assert_frame_equal(got, plain, check_exact=True)
    assert not _stream_threads()


@pytest.mark.parametrize("covariates", [(), ("age",), ("age", "sex")])
def test_stream_started_before_the_fits_gives_the_same_result(monkeypatch, covariates):
    """ct.mediation starts the errors before the analysis set and the fits; the result is bit-for-bit the one
    of a stream started by the simulation itself (a factor covariate, 'sex', falls back to that)."""
    trial = ct.simulate_trial(n_per_arm=80, seed=3)
    started = []
    start = med._early_errors
    monkeypatch.setattr(med, "_early_errors", lambda *a, **k: started.append(start(*a, **k)) or started[-1])
    early = mediation(trial, covariates=list(covariates), n_sims=200, seed=4)
    if "sex" in covariates:
        assert started == [None]
    else:   # the early stream was used: the simulation set its length to the subjects analysed
        assert started[0].total == 200 * len(early.data) <= 200 * 160
    monkeypatch.setattr(med, "_early_errors", lambda *a, **k: None)
    late = mediation(trial, covariates=list(covariates), n_sims=200, seed=4)
    pd.testing.assert_frame_equal(early.draws, late.draws, check_exact=True)
    pd.testing.assert_frame_equal(early.effects, late.effects, check_exact=True)
    assert not _stream_threads()


def test_failed_fit_stops_the_stream():
    """The stream is running when the outcome model fails to fit: the error is raised and the thread ends."""
    tiny = ct.simulate_trial(n_per_arm=2, seed=1)
    with pytest.raises(ct.ModelError):
        mediation(tiny, n_sims=200)
    assert not _stream_threads()
