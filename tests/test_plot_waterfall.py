"""Waterfall data checked by hand; the plot renders with missing visits and 2-4 arms."""

from __future__ import annotations

import numpy as np
import pytest
from test_plot_common import check_image, make_trial
from test_plot_consort import tiny_trial

import combotherapy as ct


def test_changes_sorted_worst_to_best_for_a_lower_is_better_scale():
    d = ct.plot.waterfall_data(tiny_trial(), "pain", 12)
    # pain at 0 -> 12: A 6 -> 3 (-3), B 7 -> 5.5 (-1.5), E 6.5 -> 2.5 (-4), G 7 -> 4.1 (-2.9)
    assert d["subject"].tolist() == ["B", "G", "A", "E"]
    assert d["change"].tolist() == pytest.approx([-1.5, -2.9, -3.0, -4.0])
    assert d["improvement"].tolist() == pytest.approx([1.5, 2.9, 3.0, 4.0])
    assert d["rank"].tolist() == [1, 2, 3, 4]
    # C and D (lost) and F (no baseline) have no change
    assert d.attrs["excluded"] == {"physio": 1, "combined": 2}


def test_higher_is_better_scale_puts_the_largest_increase_last():
    d = ct.plot.waterfall_data(tiny_trial(), "rom", 8)
    # rom 0 -> 8: A 50 -> 55 (+5), B 40 -> 43 (+3), E missing at 8, G 50 -> 52 (+2); D NaN, F no baseline
    assert d["subject"].tolist() == ["G", "B", "A"]
    assert d["improvement"].tolist() == [2.0, 3.0, 5.0]


def test_relative_change_and_ties_broken_by_arm_then_subject():
    d = ct.plot.waterfall_data(tiny_trial(), "pain", 4, relative=True)
    # 0 -> 4: A 6 -> 5 (-16.67%), C 5 -> 4.5 (-10%), E 6.5 -> 5 (-23.08%), G 7 -> 6 (-14.29%)
    assert d["subject"].tolist() == ["C", "G", "A", "E"]
    assert d["change"].tolist() == pytest.approx([-10.0, -100 / 7, -100 / 6, -300 / 13])
    t = make_trial(n_per_arm=6, seed=2)
    flat = t.data.assign(pain=1.0)
    d = ct.plot.waterfall_data(ct.Trial(flat, t.instruments), "pain", 12)
    codes = d["arm"].cat.codes.to_numpy()
    assert (codes[:-1] <= codes[1:]).all()  # all changes 0: arm order, then subject


def test_relative_change_refused_without_a_true_zero():
    t = tiny_trial()
    eq = ct.Instrument(low=None, high=1, better="higher", units="index", name="eq5d_like")
    t2 = ct.Trial(t.data.assign(eq5d_like=t.data["rom"] / 100 - 0.2), {**t.instruments, "eq5d_like": eq})
    with pytest.raises(ct.DataError, match="true zero"):
        ct.plot.waterfall(t2, "eq5d_like", 12, relative=True)
    with pytest.raises(ct.DataError, match="baseline"):
        ct.plot.waterfall(t, "pain", 0)


@pytest.mark.parametrize("arms", [("physio", "combined"), ("control", "physio", "acupuncture", "combined")])
def test_bars_are_coloured_by_arm(arms):
    t = make_trial(arms, n_per_arm=8, dropout=0.3, intermittent=0.3)
    fig = ct.plot.waterfall(t, "pain", 12)
    ax = fig.axes[0]
    d = ct.plot.waterfall_data(t, "pain", 12)
    colors = ct.plot.arm_colors(t.arms)
    import matplotlib.colors as mc

    bars = ax.patches
    assert len(bars) == len(d)
    assert [mc.to_hex(b.get_facecolor()) for b in bars] == [colors[a].lower() for a in d["arm"]]
    assert ax.get_ylabel().startswith("Change in Pain intensity (NRS, points)\n")   # units merged, not doubled
    # subjects without a change are said to be missing a value, never "without change" (a change of zero)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any("without change" in t for t in legend)
    excluded = d.attrs["excluded"]
    for arm, k in excluded.items():
        if k:
            assert any(t.startswith(f"{arm} (") and t.endswith(f", {k} missing)") for t in legend)
    if sum(excluded.values()):
        assert ax.get_xlabel().endswith(f"not shown: {sum(excluded.values())} missing (no baseline or week 12 value)")


def test_waterfall_image(tmp_path):
    check_image(ct.plot.waterfall(make_trial(n_per_arm=20, seed=3), "pain", 12), "waterfall_pain", tmp_path)


def test_no_usable_change_is_a_data_error_not_an_empty_plot():
    t = make_trial(("control", "physio"), n_per_arm=6, seed=2)
    # no week-0 rows at all (as R mmrm's bcva_data, whose outcome is already a change)
    no_base = ct.Trial(t.data.loc[t.data["visit"] > 0].reset_index(drop=True), t.instruments, source="test")
    for draw in (ct.plot.waterfall, ct.plot.waterfall_data, ct.plot.responder_curve):
        with pytest.raises(ct.DataError, match="baseline \\(week 0\\) value of 'pain'"):
            draw(no_base, "pain", 12)
    # baseline recorded but nobody measured at week 12
    d = t.data.copy()
    d.loc[d["visit"] == 12, "pain"] = np.nan
    with pytest.raises(ct.DataError, match="no subject has both a baseline and a week-12 value of 'pain'"):
        ct.plot.waterfall(ct.Trial(d, t.instruments, source="test"), "pain", 12)
