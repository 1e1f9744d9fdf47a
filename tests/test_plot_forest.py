"""Forest rows: favoured sides per instrument, ratio detection, labels; images for differences and ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_plot_common import check_image, make_trial

import combotherapy as ct


def diff_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "outcome": ["pain", "pain", "rom", "rom"],
        "visit": [12.0] * 4,
        "first": ["combined"] * 4, "second": ["physio", "acupuncture"] * 2,   # arm identity as data
        "contrast": ["combined - physio", "combined - acupuncture"] * 2,
        "estimate": [-1.1, -1.4, 6.0, 2.0], "ci_low": [-1.8, -2.1, 1.5, -2.5], "ci_high": [-0.4, -0.7, 10.5, 6.5],
    })


def ratio_frame() -> pd.DataFrame:
    est = np.array([0.8, 0.7, 1.1])
    return pd.DataFrame({"outcome": "crp", "first": ["combined", "combined", "physio"],
                         "second": ["physio", "acupuncture", "acupuncture"],
                         "contrast": ["combined - physio", "combined - acupuncture", "physio - acupuncture"],
                         "estimate": est, "ci_low": est / 1.3, "ci_high": est * 1.3, "log_estimate": np.log(est),
                         "se": 0.13})


def test_favoured_side_follows_each_instrument():
    d = ct.plot.forest_data(diff_frame())
    # pain: lower is better, so estimates left of 0 (negative) favour combined
    assert d.loc[0, ["favours_low", "favours_high"]].tolist() == ["combined", "physio"]
    # rom: higher is better, so estimates right of 0 favour combined
    assert d.loc[2, ["favours_low", "favours_high"]].tolist() == ["physio", "combined"]
    assert d["better"].tolist() == ["lower", "lower", "higher", "higher"]
    # the visit is the same in every row, so it is left out of the labels
    assert d["label"].tolist() == ["pain · combined - physio", "pain · combined - acupuncture",
                                   "rom · combined - physio", "rom · combined - acupuncture"]
    assert not d["ratio"].any()


def test_better_can_be_overridden_globally_or_per_outcome():
    d = ct.plot.forest_data(diff_frame(), better={"rom": "lower"})
    assert d.loc[2, "favours_low"] == "combined" and d.loc[0, "favours_low"] == "combined"
    d = ct.plot.forest_data(diff_frame(), better="higher")
    assert (d["favours_high"] == "combined").all()
    unknown = diff_frame().assign(outcome="my_scale")
    assert (ct.plot.forest_data(unknown)["favours_high"] == "").all()
    with pytest.raises(ct.DataError, match="'lower' or 'higher'"):
        ct.plot.forest_data(diff_frame(), better="up")


def test_hazard_ratio_favours_the_arm_with_more_good_events():
    t = make_trial(("physio", "combined"), n_per_arm=30, seed=2)
    rng = np.random.default_rng(0)
    subj = t.data["subject"].unique()
    times = pd.Series(rng.exponential(10, subj.size).round(1) + 0.1, index=subj)
    data = t.data.assign(recovery_time=t.data["subject"].map(times), recovered=1)
    inst = ct.REGISTRY
    t2 = ct.Trial(data, {**t.instruments, "recovery_time": inst["recovery_time"], "recovered": inst["recovered"]})
    d = ct.plot.forest_data(ct.survival(t2))
    assert d["ratio"].all()
    assert d.loc[0, "contrast"] == "combined - physio"
    assert d.loc[0, ["favours_low", "favours_high"]].tolist() == ["physio", "combined"]


def test_ratio_measures_get_a_log_axis_and_a_line_at_one():
    fig = ct.plot.forest(ratio_frame())
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    nulls = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert nulls == [1.0]
    fig = ct.plot.forest(diff_frame().iloc[:2])
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"
    assert [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"] == [0.0]
    # every row is at week 12 and no label says so: the axis does
    assert ax.get_xlabel() == "Difference in Pain intensity (NRS, points) at week 12"


def test_common_sides_are_labelled_once_mixed_sides_per_row():
    one = ct.plot.forest(diff_frame().iloc[[0]])
    texts = [t.get_text() for t in one.axes[0].texts]
    assert texts == ["Comparison", "\u2190 favours combined", "favours physio \u2192"]   # the row labels' header
    mixed = ct.plot.forest(diff_frame().iloc[:2].assign(contrast=["combined - physio", "physio - combined"],
                                                     first=["combined", "physio"], second=["physio", "combined"]))
    right = [t.get_text() for t in mixed.axes[1].get_yticklabels()]
    assert right[0].endswith("\u2190 combined | physio \u2192") and right[1].endswith("\u2190 physio | combined \u2192")
    assert right[-1].startswith("estimate [95% CI]")


def test_differences_on_several_outcomes_get_one_panel_each_with_their_units():
    # pain (points, lower better) and rom (degrees, higher better) on one axis would compare unlike units
    fig = ct.plot.forest(diff_frame())
    panels = [ax for ax in fig.axes if ax.get_xlabel()]
    assert [ax.get_xlabel() for ax in panels] == ["Difference in Pain intensity (NRS, points) at week 12",
                                                 "Difference in Lumbar flexion range of motion (degrees) at week 12"]
    # within a panel the outcome is constant, so the rows are named by contrast; sides are the panel's own
    assert [t.get_text() for t in panels[0].get_yticklabels()] == ["combined - physio", "combined - acupuncture"]
    # each row says its sides (the second arm differs between rows): combined on the left for pain, where lower
    # is better, and on the right for rom
    right = [t.get_text() for ax in fig.axes if not ax.get_xlabel() for t in ax.get_yticklabels()]
    assert [r.split("   ", 1)[1] for r in right if not r.startswith("estimate")] == [
        "\u2190 combined | physio \u2192", "\u2190 combined | acupuncture \u2192",
        "\u2190 physio | combined \u2192", "\u2190 acupuncture | combined \u2192"]
    # the column header is drawn once, on the top panel
    headers = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels() if t.get_text().startswith("estimate")]
    assert len(headers) == 1
    one = ct.plot.forest(diff_frame(), panels=False)
    assert len([ax for ax in one.axes if ax.get_xlabel()]) == 1 and one.axes[0].get_xlabel() == "Difference at week 12"
    from matplotlib.figure import Figure
    with pytest.raises(ct.DataError, match="one panel each"):
        ct.plot.forest(diff_frame(), ax=Figure().add_subplot())
    # ratios share one log axis whatever the outcome
    r = pd.concat([ratio_frame(), ratio_frame().assign(outcome="analgesic_days")])
    assert len([ax for ax in ct.plot.forest(r).axes if ax.get_xlabel()]) == 1


def test_declared_outcome_of_a_result_labels_sides_units_and_the_contrast():
    # an outcome declared by the user is not in the registry: the result carries its instrument
    t = make_trial(("control", "acupuncture"), n_per_arm=15, seed=4)
    data = t.data.rename(columns={"pain": "headache"})
    inst = ct.Instrument(low=0, better="lower", units="points", label="Headache score", name="headache")
    t2 = ct.Trial(data, {"headache": inst, "rom": t.instruments["rom"]}, source="test")
    for fit in (ct.mmrm(t2, "headache"), ct.ancova(t2, "headache", 12)):
        d = ct.plot.forest_data(fit)
        assert (d["better"] == "lower").all()
        assert (d["favours_low"] == "acupuncture").all() and (d["favours_high"] == "control").all()
        ax = ct.plot.forest(fit).axes[0]
        assert [x.get_text() for x in ax.texts][-2:] == ["\u2190 favours acupuncture", "favours control \u2192"]
    # MMRM rows are named by visit; the one contrast goes on the axis: which arm is subtracted from which
    ax = ct.plot.forest(ct.mmrm(t2, "headache")).axes[0]
    assert [x.get_text() for x in ax.get_yticklabels()] == ["week 4", "week 8", "week 12"]
    assert ax.get_xlabel() == "Difference (acupuncture \u2212 control) in Headache score (points)"
    # one row: named by its contrast, so the axis need not repeat it
    ax = ct.plot.forest(ct.ancova(t2, "headache", 12)).axes[0]
    assert [x.get_text() for x in ax.get_yticklabels()] == ["acupuncture - control"]
    assert ax.get_xlabel() == "Difference in Headache score (points) at week 12"


def test_interval_header_says_how_the_intervals_were_adjusted():
    t = make_trial(n_per_arm=15, seed=4)
    fig = ct.plot.forest(ct.ancova(t, "pain", 12))  # Holm p-values, Bonferroni intervals (as emmeans)
    header = [x.get_text() for x in fig.axes[1].get_yticklabels()][-1]
    assert header.startswith("estimate [95% CI, Bonferroni]")
    fig = ct.plot.forest(ct.ancova(t, "pain", 12, adjust="none"))
    assert [x.get_text() for x in fig.axes[1].get_yticklabels()][-1].startswith("estimate [95% CI]")


def test_values_round_to_zero_without_a_sign():
    frame = pd.DataFrame({"contrast": ["a - b"], "estimate": [-1.0], "ci_low": [-2.0], "ci_high": [-0.004]})
    right = [x.get_text() for x in ct.plot.forest(frame).axes[1].get_yticklabels()]
    assert right[0] == "\u22121.00 [\u22122.00, 0.00]"


def test_real_results_and_lists_of_them():
    t = make_trial(("control", "physio", "acupuncture", "combined"), n_per_arm=12, seed=6)
    fits = [ct.mmrm(t, "pain"), ct.mmrm(t, "rom")]
    d = ct.plot.forest_data(fits)
    assert len(d) == sum(len(f.contrasts) for f in fits)
    assert d["label"].iloc[0].startswith("pain · week 4 · ")
    # drawn in one panel per outcome, whose rows need not repeat the outcome
    assert ct.plot.forest(fits).axes[0].get_yticklabels()[0].get_text() == d["label"].iloc[0].removeprefix("pain · ")


def test_bad_tables():
    with pytest.raises(ct.DataError, match="lacks the columns"):
        ct.plot.forest(diff_frame().drop(columns="ci_high"))
    with pytest.raises(ct.DataError, match="mix ratio measures"):
        ct.plot.forest([diff_frame(), ratio_frame()])
    with pytest.raises(ct.DataError, match="rows 2"):
        ct.plot.forest(diff_frame().assign(ci_low=[0.0, np.nan, 0.0, 0.0]))
    with pytest.raises(ct.DataError, match="positive"):
        ct.plot.forest(ratio_frame().assign(ci_low=[0.0, 0.5, 0.5]))
    with pytest.raises(ct.DataError, match="no contrasts table"):
        ct.plot.forest(make_trial())
    with pytest.raises(ct.DataError, match="empty"):
        ct.plot.forest([])


def test_forest_image(tmp_path):
    check_image(ct.plot.forest(diff_frame()), "forest_outcomes", tmp_path)


def test_forest_ratio_image(tmp_path):
    check_image(ct.plot.forest(ratio_frame().assign(measure="ratio of geometric means")), "forest_ratio", tmp_path)


def test_subgroup_rows_are_named_by_variable_and_level():
    sub = pd.DataFrame({"variable": ["all subjects", "sex", "sex"], "level": ["all", "female", "male"],
                        "first": "combined", "second": "physio", "contrast": "combined - physio", "outcome": "pain",
                        "estimate": [-1.6, -1.7, -1.5], "ci_low": [-2.2, -2.5, -2.4], "ci_high": [-1.0, -0.9, -0.6]})
    d = ct.plot.forest_data(sub)
    assert d["label"].tolist() == ["all subjects", "sex · female", "sex · male"]
    texts = [t.get_text() for t in ct.plot.forest(sub).axes[0].texts]
    assert texts == ["Subgroup", "\u2190 favours combined", "favours physio \u2192"]


def test_subgroup_forest_shows_n_and_marks_small_subgroups():
    sub = pd.DataFrame({"variable": ["all subjects", "age", "age"], "level": ["all", "< 65", ">= 65"],
                        "first": "combined", "second": "physio", "contrast": "combined - physio", "outcome": "pain",
                        "visit": 12.0, "n": [90, 84, 6],
                        "estimate": [-1.6, -1.7, -0.5], "ci_low": [-2.2, -2.5, -4.4], "ci_high": [-1.0, -0.9, 3.4]})
    fig = ct.plot.forest(sub)
    ax, twin = fig.axes[0], fig.axes[1]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["all subjects", "age \u00b7 < 65", "age \u00b7 >= 65 \u2020"]        # the 6-subject row is marked
    right = [t.get_text() for t in twin.get_yticklabels()]
    assert right[0].startswith("90   ") and right[2].startswith("6   ")               # n per row
    assert right[-1].startswith("n   estimate [95% CI]")                               # column headers
    assert "\u2020 fewer than 20 subjects" in ax.get_xlabel()
    assert ax.get_xlabel().startswith("Difference (combined \u2212 physio) in Pain intensity (NRS, points) at week 12")


def test_subgroup_forest_gives_each_variables_interaction_test():
    t = make_trial(("physio", "acupuncture", "combined"), n_per_arm=25, seed=12)
    frame = t.data.assign(sex=np.where(t.data["subject"].str[-1].astype(int) % 2 == 0, "female", "male"))
    t2 = ct.Trial(frame, t.instruments, source="test")
    sub = ct.subgroups(t2, "pain", 12, by=["sex"])
    p = float(sub.interactions.set_index("variable").loc["sex", "p"])
    xlabel = ct.plot.forest(sub).axes[0].get_xlabel()
    small = (sub.contrasts["n"] < 20).any()
    assert xlabel == ("Difference in Pain intensity (NRS, points) at week 12\n"
                      f"Interaction of arm and subgroup: sex p = {p:.2g}"
                      + ("\n\u2020 fewer than 20 subjects: too few for a stable estimate; read with caution"
                         if small else ""))
