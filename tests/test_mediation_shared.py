"""The claims report's mediation analyses run their simulations from one stream of normals
(ct.models.mediation_shared): every result equals the separate ct.mediation call's to the last bit, on balanced and
unbalanced arms, with dropout, with covariates, and when the analyses cannot share (each then simulates alone)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
import combotherapy.models.mediation as med
import combotherapy.models.mediation_shared as ms
import combotherapy.models.mediation_simulation as sim
from combotherapy.models.mediation import ErrorStream, mediation, simulate_effects

PAIRS = [("combined", "physio"), ("combined", "acupuncture")]


def _same(got, want) -> None:
    assert got.title == want.title
    for name in ("draws", "effects", "paths", "data"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), check_exact=True)
    pd.testing.assert_frame_equal(got.fitted.excluded, want.fitted.excluded, check_exact=True)
    assert got.fitted.notes == want.fitted.notes
    assert got.fitted.n_per_arm == want.fitted.n_per_arm
    assert got.fitted.extra == want.fitted.extra


def _spy(monkeypatch) -> list[tuple[int, list[int]]]:
    """Record each shared run: the stream's length and the numbers each simulation reads."""
    runs: list[tuple[int, list[int]]] = []
    real = ms.simulate_shared

    def spy(sims, source, threads=True):
        runs.append((source.total, [s.n_sims * s.n for s in sims]))
        return real(sims, source, threads)

    monkeypatch.setattr(ms, "simulate_shared", spy)
    return runs


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name in ("mediation-errors", "mediation-shared")]


@pytest.mark.parametrize(("n_per_arm", "dropout", "covariates"), [
    (60, 0.15, ()),                                                          # balanced, dropout
    ({"combined": 90, "physio": 35, "acupuncture": 60}, 0.3, ()),            # unbalanced, more dropout
    ({"combined": 50, "physio": 70, "acupuncture": 40}, 0.2, ("age",)),      # a numeric covariate
    ({"combined": 50, "physio": 70, "acupuncture": 40}, 0.2, ("age", "sex")),  # a factor: no early stream
])
def test_shared_stream_gives_the_separate_calls_results(monkeypatch, n_per_arm, dropout, covariates):
    trial = ct.simulate_trial(n_per_arm=n_per_arm, dropout=dropout, seed=11)
    kws = [dict(treatment=p, mediator_visit=4, covariates=list(covariates), n_sims=150, seed=0) for p in PAIRS]
    want = [mediation(trial, **kw) for kw in kws]
    runs = _spy(monkeypatch)
    got = ms.mediation_shared(trial, kws)
    for g, w in zip(got, want):
        _same(g, w)
    # one stream, as long as the longer simulation's errors (not the sum of both)
    reads = [150 * len(w.data) for w in want]
    assert runs == [(max(reads), reads)]
    assert not _threads()


def test_many_small_blocks_interleave_exactly(monkeypatch):
    """Blocks of a few replicates (many interleavings, the window moving often, threads waiting for each other):
    still the separate results."""
    monkeypatch.setattr(sim, "_BLOCK", 700)
    trial = ct.simulate_trial(n_per_arm={"combined": 80, "physio": 30, "acupuncture": 55}, seed=5)
    kws = [dict(treatment=p, n_sims=120, seed=3) for p in PAIRS + [("physio", "acupuncture")]]
    want = [mediation(trial, **kw) for kw in kws]
    runs = _spy(monkeypatch)
    for g, w in zip(ms.mediation_shared(trial, kws), want):
        _same(g, w)
    assert len(runs) == 1 and len(runs[0][1]) == 3


@pytest.mark.parametrize("threads", [True, False])
def test_simulate_shared_equals_simulate_effects(threads):
    """The window read by simulations of different sizes from one stream (each in its thread, or interleaved in
    one): each equals its own simulate_effects."""
    rng = np.random.default_rng(1)
    mb, ob = np.array([0.2, -1.1, 0.3]), np.array([-0.5, 0.25, -0.4, 0.2])
    mcov, ocov = np.diag([0.02, 0.01, 0.01]), np.diag([0.05, 0.01, 0.002, 0.02])
    designs = []
    for n in (230, 90, 400):
        T, Z = rng.integers(0, 2, n).astype(float), rng.normal(50, 10, n)
        designs.append((np.column_stack([np.ones(n), T, Z]), np.column_stack([np.ones(n), T, rng.normal(size=n), Z])))
    want = [simulate_effects(Xm, mb, mcov, 1.3, Xo, ob, ocov, True, 110, np.random.default_rng(7))
            for Xm, Xo in designs]
    rngs = [np.random.default_rng(7) for _ in designs]
    sims = [med._Replicates(Xm, mb, mcov, 1.3, Xo, ob, ocov, True, 110, r) for (Xm, Xo), r in zip(designs, rngs)]
    got = ms.simulate_shared(sims, ErrorStream(rngs[0], 110 * 400, chunk=1000, pool=5000), threads=threads)
    for g, w in zip(got, want):
        pd.testing.assert_frame_equal(g, w, check_exact=True)
    assert not _threads()


@pytest.mark.parametrize("case", ["seeds", "n_sims", "linear", "one"])
def test_fallback_to_separate_simulations(monkeypatch, case):
    """Analyses that do not read one stream (other seeds or replicate counts, a linear outcome, a single analysis)
    simulate alone, with the separate calls' results."""
    trial = ct.simulate_trial(n_per_arm=50, seed=2)
    kws = [dict(treatment=p, n_sims=120, seed=0) for p in PAIRS]
    if case == "seeds":
        kws[1]["seed"] = 1
    elif case == "n_sims":
        kws[1]["n_sims"] = 130
    elif case == "linear":
        kws = [dict(kw, outcome="pain", outcome_visit=12) for kw in kws]
    else:
        kws = kws[:1]
    want = [mediation(trial, **kw) for kw in kws]
    runs = _spy(monkeypatch)
    for g, w in zip(ms.mediation_shared(trial, kws), want):
        _same(g, w)
    assert runs == []
    assert not _threads()


def test_an_error_is_the_separate_calls_first_error():
    """The second analysis cannot be made (an unknown covariate): the first runs, then that error is raised."""
    trial = ct.simulate_trial(n_per_arm=40, seed=2)
    kws = [dict(treatment=PAIRS[0], n_sims=100), dict(treatment=PAIRS[1], n_sims=100, covariates=["nope"])]
    with pytest.raises(ct.DataError, match="nope"):
        ms.mediation_shared(trial, kws)
    tiny = ct.simulate_trial(n_per_arm=2, seed=1)
    with pytest.raises(ct.ModelError):
        ms.mediation_shared(tiny, [dict(treatment=p, n_sims=100) for p in PAIRS])
    assert not _threads()


def test_claims_report_mediation_equals_separate_calls():
    """The report's mediation claim reads the shared simulations: its numbers are the separate calls'."""
    from combotherapy.claims_models import MEDIATION_SIMS, _mediation
    trial = ct.simulate_trial(n_per_arm={"combined": 70, "physio": 50, "acupuncture": 60}, seed=4)
    claim = pd.Series({"model": "mediation", "visit": 4, "outcome": "sessions_attended", "with": ""})
    out, *_ = _mediation(trial, claim, PAIRS, 0.05)
    for first, second in PAIRS:
        res = mediation(trial, treatment=(first, second), mediator_visit=4.0, n_sims=MEDIATION_SIMS, seed=0)
        row = res.effects.set_index("effect").loc["ACME (average)"]
        c = out[f"{first} - {second}"]
        assert (c.estimate, c.ci_low, c.ci_high, c.se) == (row["estimate"], row["ci_low"], row["ci_high"], row["se"])


@pytest.mark.parametrize("where", ["mediation-shared", "MainThread"])
def test_a_failing_thread_stops_the_others(monkeypatch, where):
    """A simulation failing in its thread (the worker's or the caller's): its error is raised, and no thread is
    left waiting for it."""
    trial = ct.simulate_trial(n_per_arm=40, seed=2)
    kws = [dict(treatment=p, n_sims=100) for p in PAIRS]
    real = med._Replicates.blocks

    def broken(self, errors):
        for k, done in enumerate(real(self, errors)):
            if k == 3 and threading.current_thread().name == where:
                raise FloatingPointError("boom")
            yield done

    monkeypatch.setattr(sim, "_BLOCK", 500)
    monkeypatch.setattr(med._Replicates, "blocks", broken)
    with pytest.raises(FloatingPointError, match="boom"):
        ms.mediation_shared(trial, kws)
    assert not _threads()
