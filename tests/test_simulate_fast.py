"""The simulator's fast path (issue 15): ``simulate_trial`` builds its Trial directly, and the array rewrite of the
draw keeps the random stream. Each rewritten piece is compared with the computation it replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import combotherapy as ct
from combotherapy import simulate as sim
from combotherapy.simulate import effects, generator

DESIGNS = [
    dict(seed=2024),
    dict(arms=("control", "physio", "acupuncture", "combined"), n_per_arm=40, dropout=0.3, seed=77),
    dict(n_per_arm={"physio": 9, "acupuncture": 25, "combined": 4}, visits=(0, 2, 6, 12), dropout=0.2, seed=5),
    dict(arms=("combined", "control"), n_per_arm=6, visits=(0, 26), dropout=0.0, seed=3,
         effects={"pain": {"combined": -4.0}, "recovery_hr": {"combined": 2.0}}),
]


@pytest.mark.parametrize("design", DESIGNS)
def test_simulate_trial_is_what_the_loader_makes_of_the_draw(design):
    fast = ct.simulate_trial(**design)
    loaded = ct.load(sim.simulate_frame(**design))
    pd.testing.assert_frame_equal(fast.data, loaded.data, check_exact=True)
    for c in fast.data.columns:                      # dtypes and the bytes of every number, not only equality
        a, b = fast.data[c].to_numpy(), loaded.data[c].to_numpy()
        assert a.dtype == b.dtype, c
        if a.dtype == float:
            assert np.array_equal(a.view(np.int64), b.view(np.int64)), c
    assert {type(x) for x in fast.data["sex"]} == {type(x) for x in loaded.data["sex"]} == {str}
    assert list(fast.instruments.items()) == list(loaded.instruments.items())
    assert fast.decisions == loaded.decisions == ()
    assert fast.source.startswith("simulate_trial(seed=")


def test_arm_codes_permute_like_the_labels_they_replaced():
    arms, sizes = ["control", "physio", "acupuncture", "combined"], [5, 100, 7, 33]
    for seed in range(10):
        r_old, r_new = np.random.default_rng(seed), np.random.default_rng(seed)
        old = r_old.permutation(np.repeat(np.array(arms, dtype=object), sizes)).astype(str)
        new = np.array(arms)[r_new.permutation(np.repeat(np.arange(4, dtype=np.intp), sizes))]
        assert np.array_equal(old, new)
        assert r_old.bit_generator.state == r_new.bit_generator.state   # the same draws were taken


def test_mean_change_and_per_arm_by_code_are_the_label_versions():
    rng = np.random.default_rng(1)
    arms = ["physio", "control", "combined", "acupuncture"]
    code = rng.integers(0, 4, 500)
    labels = np.array(arms)[code]
    acute = (rng.random(500) < 0.2).astype(float)
    v = np.array([0.0, 4.0, 8.0, 12.0, 26.0])
    for name, oe in sim.DEFAULT_EFFECTS.outcomes.items():
        a = effects._mean_change(oe, labels, acute, v)
        b = generator._mean_change_codes(oe, arms, code, acute, v)
        assert np.array_equal(a.view(np.int64), b.view(np.int64)), name
    rates = {"acupuncture": 0.35, "combined": 0.3}
    by_label = np.zeros(500)
    for a, x in rates.items():
        by_label[labels == a] = x
    assert np.array_equal(generator._per_arm(rates, arms, code, 0.0), by_label)


def test_gamma_quantile_is_scipy_stats_gamma_ppf():
    from scipy import special

    z = np.concatenate([np.random.default_rng(2).standard_normal(20_000), [-40.0, 40.0, 0.0]])  # u = 0, 1 too
    fast = special.gammaincinv(effects.NB_SHAPE, special.ndtr(z)) * (1.0 / effects.NB_SHAPE) + 0.0
    ref = stats.gamma.ppf(special.ndtr(z), a=effects.NB_SHAPE, scale=1.0 / effects.NB_SHAPE)
    assert np.array_equal(fast, ref)
