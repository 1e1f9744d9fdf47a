"""Figures of the observational module: overlap histograms and the love plot (data checked, figures drawn)."""

from __future__ import annotations

import numpy as np
import pytest

import combotherapy as ct
from combotherapy.observational import balance, iptw, match, propensity_score, simulate_registry
from combotherapy.plot.balance import love_plot, love_plot_data
from combotherapy.plot.propensity import overlap, overlap_data

PS = "age + sex + pain0 + log(pain_duration)"


@pytest.fixture(scope="module")
def ps():
    return propensity_score(simulate_registry(300, seed=8), PS)


def test_overlap_data_holds_every_score(ps):
    d = overlap_data(ps)
    assert len(d) == 3 * 300
    for k, arm in enumerate(ps.arms):
        np.testing.assert_allclose(d.loc[d["score"] == arm, "value"], ps.probabilities[:, k])
    fig = overlap(ps)
    assert len(fig.axes) == 3 and fig.axes[0].get_xlabel() == "P(physio | covariates)"
    assert ct.plot.figure_bytes(fig, "png") == ct.plot.figure_bytes(overlap(ps), "png")


def test_two_arm_overlap_draws_one_panel():
    reg = simulate_registry(200, seed=2)
    ps2 = propensity_score(reg[reg["arm"] != "acupuncture"], "age + pain0")
    assert set(overlap_data(ps2)["score"]) == {"combined"}
    assert len(overlap(ps2).axes) == 1


def test_love_plot_data_and_figure(ps):
    b = balance(iptw(ps))
    d = love_plot_data(b)
    assert len(d) == 2 * len(b.balance) and (d["smd"] >= 0).all()
    signed = love_plot_data(b, absolute=False)
    assert (signed["smd"] < 0).any()
    fig = love_plot(b)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][-1] == b.balance["covariate"].iloc[0]
    two = simulate_registry(300, seed=8)
    m = match(propensity_score(two[two["arm"] != "acupuncture"], PS), caliper=0.1)
    assert love_plot_data(m)["contrast"].unique().tolist() == ["combined - physio"]
    love_plot(m)


def test_wrong_inputs_are_data_errors(ps):
    with pytest.raises(ct.DataError):
        overlap(balance(ps))
    with pytest.raises(ct.DataError):
        love_plot(ps)
