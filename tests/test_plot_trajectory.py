"""Trajectory points checked by hand; plots from real MMRM fits and from bare LS-means tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_plot_common import check_image, make_trial
from test_plot_consort import tiny_trial

import combotherapy as ct
from combotherapy.results import Fitted, Result


def fake_result(lsmeans: pd.DataFrame, outcome: str = "pain", excluded=()) -> Result:
    ex = pd.DataFrame({"subject": list(excluded), "arm": "x", "reason": "test"})
    return Result("fake MMRM", Fitted(model="test", outcome=outcome, excluded=ex), by_arm=lsmeans)


def lsmeans_frame(arms=("physio", "combined"), visits=(4.0, 8.0, 12.0)) -> pd.DataFrame:
    grid = pd.MultiIndex.from_product([visits, arms], names=["visit", "arm"]).to_frame(index=False)
    est = 6.0 - 0.1 * grid["visit"] - 0.8 * (grid["arm"] == "combined") * grid["visit"] / 12
    return grid.assign(estimate=est, se=0.3, df=30.0, ci_low=est - 0.6, ci_high=est + 0.6)


def test_lsmeans_pass_through_unchanged():
    ls = lsmeans_frame()
    d = ct.plot.trajectory_data(fake_result(ls))
    assert set(d["kind"]) == {"lsmean"}
    merged = d.merge(ls, on=["arm", "visit"])
    assert np.allclose(merged["estimate_x"], merged["estimate_y"])
    assert np.allclose(merged["lower"], merged["ci_low"]) and np.allclose(merged["upper"], merged["ci_high"])


def test_baseline_is_the_observed_mean_of_the_analysed_subjects():
    d = ct.plot.trajectory_data(fake_result(lsmeans_frame(), excluded=["D"]), tiny_trial())
    b = d.loc[d["kind"] == "baseline"].set_index("arm")
    # physio baseline pain A 6, B 7, C 5: mean 6, SD 1, SE 1/sqrt(3)
    assert b.loc["physio", "estimate"] == pytest.approx(6.0)
    assert b.loc["physio", "upper"] - b.loc["physio", "estimate"] == pytest.approx(1 / np.sqrt(3))
    # combined: D excluded by the model, F has no baseline -> E 6.5, G 7: mean 6.75, SE 0.25
    assert b.loc["combined", "estimate"] == pytest.approx(6.75)
    assert b.loc["combined", "estimate"] - b.loc["combined", "lower"] == pytest.approx(0.25)
    assert b.loc["combined", "n"] == 2 and (b["visit"] == 0).all()
    assert list(d["kind"].drop_duplicates()) == ["baseline", "lsmean"]


def test_raw_means_by_hand():
    d = ct.plot.trajectory_data(fake_result(lsmeans_frame()), tiny_trial(), raw=True)
    obs = d.loc[d["kind"] == "observed"].set_index(["arm", "visit"])
    # week 12: physio A 3, B 5.5 -> 4.25 ± 1.25 ; combined E 2.5, G 4.1 -> 3.3 ± 0.8
    assert obs.loc[("physio", 12.0), ["estimate", "lower", "upper"]].tolist() == pytest.approx([4.25, 3.0, 5.5])
    assert obs.loc[("combined", 12.0), ["estimate", "lower", "upper"]].tolist() == pytest.approx([3.3, 2.5, 4.1])
    assert obs.loc[("combined", 8.0), "n"] == 2  # F and G; E has no week-8 row, D is missing


def test_bad_inputs():
    with pytest.raises(ct.DataError, match="lacks the columns"):
        ct.plot.trajectory(lsmeans_frame().drop(columns="ci_low"))
    with pytest.raises(ct.DataError, match="needs the trial"):
        ct.plot.trajectory(fake_result(lsmeans_frame()), raw=True)
    with pytest.raises(ct.DataError, match="by_arm"):
        ct.plot.trajectory(tiny_trial())
    with pytest.raises(ct.DataError, match="pass outcome"):
        ct.plot.trajectory(lsmeans_frame(), tiny_trial())


@pytest.mark.parametrize("arms", [("physio", "combined"), ("control", "physio", "acupuncture", "combined")])
def test_real_mmrm_fit_plots_one_series_per_arm(arms):
    t = make_trial(arms, n_per_arm=15, seed=9, dropout=0.3, intermittent=0.2)
    fit = ct.mmrm(t, "pain")
    fig = ct.plot.trajectory(fit, t, raw=True)
    ax = fig.axes[0]
    assert [h.get_text() for h in ax.get_legend().get_texts()] == list(arms)
    assert "(lower is better)" in ax.get_ylabel()
    d = ct.plot.trajectory_data(fit, t)
    ls = d.loc[d["kind"] == "lsmean"].merge(fit.by_arm.assign(arm=fit.by_arm["arm"].astype(str)),
                                            on=["arm", "visit"])
    assert np.allclose(ls["estimate_x"], ls["estimate_y"])
    assert [float(x) for x in ax.get_xticks()] == [0.0, 4.0, 8.0, 12.0]


def test_trajectory_image(tmp_path):
    t = make_trial(n_per_arm=20, seed=3)
    ls = lsmeans_frame(("physio", "acupuncture", "combined"))
    check_image(ct.plot.trajectory(fake_result(ls), t, raw=True), "trajectory_pain", tmp_path)


def test_declared_outcome_labels_the_axis_without_the_trial_and_the_key_gives_the_level():
    t = make_trial(("control", "acupuncture"), n_per_arm=12, seed=4)
    inst = ct.Instrument(low=0, better="lower", units="points", label="Headache score", name="headache")
    t2 = ct.Trial(t.data.rename(columns={"pain": "headache"}), {"headache": inst, "rom": t.instruments["rom"]},
                  source="test")
    fit = ct.mmrm(t2, "headache", alpha=0.1)
    ax = ct.plot.trajectory(fit).axes[0]
    assert ax.get_ylabel() == "Headache score (points)\n(lower is better)"
    assert ax.get_legend().get_title().get_text() == "filled: LS mean (90% CI)"
