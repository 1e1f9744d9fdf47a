"""Responder-curve numbers checked by hand; the plot renders with thresholds, missing data and 2-4 arms."""

from __future__ import annotations

import numpy as np
import pytest
from test_plot_common import check_image, make_trial
from test_plot_consort import tiny_trial

import combotherapy as ct


def test_curve_by_hand():
    r = ct.plot.responder_curve_data(tiny_trial(), "pain", 12, thresholds=[2, 3, 4.5])
    # improvements at 12: physio A 3, B 1.5 ; combined E 4, G 2.9
    levels = [1.5, 2.9, 3.0, 4.0]
    phys = r.curve.loc[r.curve["arm"] == "physio"]
    comb = r.curve.loc[r.curve["arm"] == "combined"]
    assert phys["improvement"].tolist() == pytest.approx(levels)
    assert phys["proportion"].tolist() == pytest.approx([1.0, 0.5, 0.5, 0.0])
    assert comb["proportion"].tolist() == pytest.approx([1.0, 1.0, 0.5, 0.5])
    at = r.at_thresholds.set_index(["arm", "threshold"])
    assert at.loc[("physio", 2.0), "responders"] == 1 and at.loc[("combined", 2.0), "responders"] == 2
    assert at.loc[("physio", 3.0), "proportion"] == 0.5 and at.loc[("combined", 3.0), "proportion"] == 0.5
    assert at.loc[("combined", 4.5), "proportion"] == 0.0
    assert r.n.to_dict() == {"physio": 2, "combined": 2}


def test_nonresponder_imputation_uses_every_randomised_subject():
    r = ct.plot.responder_curve_data(tiny_trial(), "pain", 12, thresholds=[0, 2], missing="nonresponder")
    assert r.n.to_dict() == {"physio": 3, "combined": 4}
    at = r.at_thresholds.set_index(["arm", "threshold"])["proportion"]
    assert at[("physio", 0.0)] == pytest.approx(2 / 3) and at[("combined", 2.0)] == pytest.approx(2 / 4)


def test_threshold_reached_exactly_counts_despite_float_rounding():
    t = tiny_trial()
    data = t.data.copy()
    # 8.2 - 6.2 is 1.9999999999999991 in binary floating point
    data.loc[(data["subject"] == "A") & (data["visit"] == 0), "pain"] = 8.2
    data.loc[(data["subject"] == "A") & (data["visit"] == 12), "pain"] = 6.2
    assert 8.2 - 6.2 < 2
    r = ct.plot.responder_curve_data(ct.Trial(data, t.instruments), "pain", 12, thresholds=[2])
    assert r.at_thresholds.set_index("arm").loc["physio", "responders"] == 1


def test_relative_improvement_is_a_fraction_of_baseline_as_in_ct_responders():
    t = tiny_trial()
    r = ct.plot.responder_curve_data(t, "pain", 12, relative=True, thresholds=[0.3, 0.5])
    # A 3/6 = 50%, B 1.5/7 = 21.4%, E 4/6.5 = 61.5%, G 2.9/7 = 41.4%
    at = r.at_thresholds.set_index(["arm", "threshold"])["responders"]
    assert at.to_dict() == {("physio", 0.3): 1, ("physio", 0.5): 1, ("combined", 0.3): 2, ("combined", 0.5): 1}
    # the same thresholds mean the same thing in the model: the curve passes through its proportions
    big = make_trial(n_per_arm=40, seed=9)
    r_big = ct.plot.responder_curve_data(big, "pain", 12, relative=True, thresholds=[0.3, 0.5])
    for thr in (0.3, 0.5):
        fit = ct.responders(big, "pain", 12, threshold=thr, relative=True, missing="exclude")
        model = fit.by_arm.set_index("arm")["proportion"]
        curve = r_big.at_thresholds.loc[r_big.at_thresholds["threshold"] == thr].set_index("arm")["proportion"]
        assert curve.astype(float).to_dict() == pytest.approx(model.reindex(curve.index).astype(float).to_dict())
    # percentages by mistake: a 30-fold reduction of a lower-is-better score is impossible, so say what is meant
    with pytest.raises(ct.DataError, match="fractions of the baseline value"):
        ct.plot.responder_curve(t, "pain", 12, relative=True, thresholds=[30, 50])
    fig = ct.plot.responder_curve(t, "pain", 12, relative=True, thresholds=[0.3, 0.5])
    assert [x.get_text() for x in fig.axes[0].texts] == ["30%", "50%"]


def test_curve_matches_the_empirical_survivor_function_on_a_larger_trial():
    t = make_trial(("control", "physio", "acupuncture", "combined"), n_per_arm=40, seed=11)
    r = ct.plot.responder_curve_data(t, "rom", 12)
    w = ct.plot.waterfall_data(t, "rom", 12)
    for arm, g in r.curve.groupby("arm", observed=True):
        imp = np.sort(w.loc[w["arm"] == arm, "improvement"].to_numpy())
        expect = [(imp >= x).mean() for x in g["improvement"]]
        assert g["proportion"].to_numpy() == pytest.approx(expect)
        assert np.all(np.diff(g["proportion"].to_numpy()) <= 0)


def test_bad_arguments():
    t = tiny_trial()
    with pytest.raises(ct.DataError, match="missing must be"):
        ct.plot.responder_curve_data(t, "pain", 12, missing="worst")
    with pytest.raises(ct.DataError, match="finite"):
        ct.plot.responder_curve(t, "pain", 12, thresholds=[np.nan])
    with pytest.raises(ct.DataError, match="visit 5 is not in this trial"):
        ct.plot.responder_curve(t, "pain", 5)


@pytest.mark.parametrize("arms", [("physio", "combined"), ("physio", "acupuncture", "combined"),
                                  ("control", "physio", "acupuncture", "combined")])
def test_one_curve_per_arm_with_threshold_lines(arms):
    t = make_trial(arms, n_per_arm=10, dropout=0.3, intermittent=0.3, seed=5)
    fig = ct.plot.responder_curve(t, "pain", 12, thresholds=[1, 2])
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [lab.split(" ")[0] for lab in labels] == list(arms)
    xs = sorted(line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--")
    assert xs == [1, 2]


def test_responder_curve_image(tmp_path):
    check_image(ct.plot.responder_curve(make_trial(n_per_arm=20, seed=3), "pain", 12, thresholds=[1, 2]),
                "responder_curve_pain", tmp_path)


def test_responder_curve_relative_image(tmp_path):
    t = make_trial(("control", "physio", "acupuncture", "combined"), n_per_arm=20, seed=8)
    check_image(ct.plot.responder_curve(t, "pain", 12, thresholds=[0.3, 0.5], relative=True, missing="nonresponder"),
                "responder_curve_pain_relative", tmp_path)
