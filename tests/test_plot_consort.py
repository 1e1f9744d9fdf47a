"""CONSORT counts checked by hand on a tiny trial; the diagram renders for 2, 3, 4 and declared arms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_plot_common import check_image, make_trial

import combotherapy as ct
from combotherapy.instruments import REGISTRY

NAN = np.nan


def tiny_trial() -> ct.Trial:
    """Visits 0, 4, 8, 12. Patterns of pain (rom recorded wherever a row exists unless NaN given):

    physio   A  all four visits
             B  misses week 4 (row with NaN pain, rom recorded), back at 8 and 12
             C  no rows after week 4 (monotone dropout after 4)
    combined D  baseline only, rows at 4/8/12 all NaN (dropout after baseline)
             E  pain at 0, 4, 12; week-8 row absent (intermittent)
             F  no baseline row, pain at 4, 8; nothing at 12 (dropout after 8)
             G  all four visits
    """
    rows = [
        ("A", "physio", 0, 6.0, 50), ("A", "physio", 4, 5.0, 52), ("A", "physio", 8, 4.0, 55),
        ("A", "physio", 12, 3.0, 58),
        ("B", "physio", 0, 7.0, 40), ("B", "physio", 4, NAN, 41), ("B", "physio", 8, 6.0, 43),
        ("B", "physio", 12, 5.5, 45),
        ("C", "physio", 0, 5.0, 60), ("C", "physio", 4, 4.5, 61),
        ("D", "combined", 0, 8.0, 30), ("D", "combined", 4, NAN, NAN), ("D", "combined", 8, NAN, NAN),
        ("D", "combined", 12, NAN, NAN),
        ("E", "combined", 0, 6.5, 45), ("E", "combined", 4, 5.0, 47), ("E", "combined", 12, 2.5, 55),
        ("F", "combined", 4, 6.0, NAN), ("F", "combined", 8, 5.0, NAN),
        ("G", "combined", 0, 7.0, 50), ("G", "combined", 4, 6.0, 50), ("G", "combined", 8, 5.0, 52),
        ("G", "combined", 12, 4.1, 53),
    ]
    f = pd.DataFrame(rows, columns=["subject", "arm", "visit", "pain", "rom"])
    f["arm"] = pd.Categorical(f["arm"], categories=["physio", "combined"], ordered=True)
    f["visit"] = f["visit"].astype(float)
    f["subject"] = f["subject"].astype("str")
    return ct.Trial(f, {"pain": REGISTRY["pain"], "rom": REGISTRY["rom"]})


def _table(counts, col):
    return counts.visits.pivot(index="arm", columns="visit", values=col).loc[["physio", "combined"]].to_numpy()


def test_counts_by_hand_for_pain():
    c = ct.plot.consort_counts(tiny_trial(), "pain")
    assert c.primary_visit == 12.0 and c.randomised == 7
    #                visit:  0  4  8  12
    assert _table(c, "assessed").tolist() == [[3, 2, 2, 2], [3, 3, 2, 2]]
    # B missed week 4 then returned; E missed week 8 then returned; F had no baseline, returned at 4
    assert _table(c, "missed_returned").tolist() == [[0, 1, 0, 0], [1, 0, 1, 0]]
    # C lost after 4; D lost after 0; F lost after 8 (cumulative)
    assert _table(c, "lost").tolist() == [[0, 0, 1, 1], [0, 1, 1, 2]]
    a = c.arms
    assert a.loc["physio"].to_dict() == {"randomised": 3, "analysed": 2, "lost": 1, "missed_primary": 0,
                                         "intermittent": 1}
    assert a.loc["combined"].to_dict() == {"randomised": 4, "analysed": 2, "lost": 2, "missed_primary": 0,
                                           "intermittent": 2}
    # every subject is in exactly one of assessed / missed-returned / lost at every visit
    tot = c.visits[["assessed", "missed_returned", "lost"]].sum(axis=1)
    assert (tot == c.visits["randomised"]).all()


def test_any_outcome_counts_rom_when_pain_is_missing():
    c = ct.plot.consort_counts(tiny_trial())
    # B's week-4 row has rom, so B is assessed at 4; F has pain at 4 and 8 (rom missing): assessed there
    assert _table(c, "assessed").tolist() == [[3, 3, 2, 2], [3, 3, 2, 2]]
    assert _table(c, "missed_returned").tolist() == [[0, 0, 0, 0], [1, 0, 1, 0]]


def test_primary_visit_before_the_end_counts_those_who_return_later():
    c = ct.plot.consort_counts(tiny_trial(), "pain", visit=8)
    assert c.primary_visit == 8.0
    assert c.arms.loc["combined", "analysed"] == 2      # F and G
    assert c.arms.loc["combined", "missed_primary"] == 1  # E, seen again at 12
    assert c.arms.loc["combined", "lost"] == 1            # D
    assert c.arms.loc["physio", ["analysed", "lost"]].tolist() == [2, 1]


def test_lost_never_decreases_and_matches_simulated_dropout():
    t = make_trial(("control", "physio", "acupuncture", "combined"), n_per_arm=30, dropout=0.4, seed=7)
    c = ct.plot.consort_counts(t, "rom")
    lost = c.visits.pivot(index="arm", columns="visit", values="lost")
    assert (lost.diff(axis=1).iloc[:, 1:] >= 0).all().all()
    # rom is never missing inside follow-up in make_trial, so lost at the end = subjects without a last row
    last_rows = t.data.loc[t.data["visit"] == 12.0].groupby("arm", observed=False).size()
    assert (lost[12.0] == 30 - last_rows).all()


def test_bad_requests_raise_data_errors():
    t = tiny_trial()
    with pytest.raises(ct.DataError, match="visit 10 is not in this trial"):
        ct.plot.consort_counts(t, "pain", visit=10)
    with pytest.raises(ct.DataError, match="not in this trial"):
        ct.plot.consort_counts(t, "odi")
    t2 = ct.Trial(t.data.assign(recovered=1), {**t.instruments, "recovered": REGISTRY["recovered"]})
    with pytest.raises(ct.DataError, match="once per subject"):
        ct.plot.consort(t2, "recovered")
    with pytest.raises(ct.DataError, match="expected a ct.Trial"):
        ct.plot.consort(t.data)


@pytest.mark.parametrize("arms", [("physio", "combined"), ("physio", "acupuncture", "combined"),
                                  ("control", "physio", "acupuncture", "combined"),
                                  ("physio", "combined", "yoga")])
def test_diagram_has_one_column_per_arm(arms):
    t = make_trial(arms, n_per_arm=10, dropout=0.3)
    fig = ct.plot.consort(t, "pain")
    texts = [x.get_text() for x in fig.axes[0].texts]
    assert sorted(x for x in texts if x.startswith("Allocated to")) == sorted(f"Allocated to {a}" for a in arms)
    counts = ct.plot.consort_counts(t, "pain")
    for a in arms:
        assert f"Analysed at week 12: n = {counts.arms.loc[a, 'analysed']}" in texts
    # the drawing widens with the number of arms
    assert fig.get_figwidth() == pytest.approx(0.92 + len(arms) * 2.15 + (len(arms) + 1) * 0.22)


def test_diagram_draws_into_a_given_axes():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 8))
    ax = fig.add_subplot(1, 2, 1)
    assert ct.plot.consort(tiny_trial(), ax=ax) is fig
    assert ax.texts


def test_consort_image(tmp_path):
    check_image(ct.plot.consort(make_trial(n_per_arm=20, seed=3), "pain"), "consort_3arms", tmp_path)


def test_consort_image_four_arms_primary_visit(tmp_path):
    t = make_trial(("control", "physio", "acupuncture", "combined"), n_per_arm=15, seed=4)
    check_image(ct.plot.consort(t, "pain", visit=8), "consort_4arms", tmp_path)


def test_image_check_fails_when_one_count_changes(tmp_path, monkeypatch):
    # one subject's week-12 value removed: 'analysed' drops by one and 'lost' rises by one in one box. The
    # pixels move by less than the RMS tolerance, so the image check must also compare the texts.
    monkeypatch.delenv("COMBOTHERAPY_UPDATE_BASELINES", raising=False)
    t = make_trial(n_per_arm=20, seed=3)
    d = t.data
    s = d.loc[(d["visit"] == 12) & d["pain"].notna(), "subject"].iloc[0]
    changed = ct.Trial(d.loc[~((d["subject"] == s) & (d["visit"] == 12))].reset_index(drop=True), t.instruments,
                       source="test")
    with pytest.raises(AssertionError):
        check_image(ct.plot.consort(changed, "pain"), "consort_3arms", tmp_path)


@pytest.mark.parametrize("arms", [("usual care plus education booklet", "physio"),
                                  ("control", "physio", "acupuncture", "combined")])
def test_every_text_fits_inside_its_box(arms):
    # a long declared arm name ran out of its box and off the figure; it is now wrapped
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.patches import FancyBboxPatch

    t = make_trial(arms, n_per_arm=8, seed=2)
    fig = ct.plot.consort(t, "pain")
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.axes[0]
    boxes = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, FancyBboxPatch)]
    for text in ax.texts:
        bb = text.get_window_extent(renderer)
        cx, cy = (bb.x0 + bb.x1) / 2, (bb.y0 + bb.y1) / 2
        holder = [b for b in boxes if b.x0 <= cx <= b.x1 and b.y0 <= cy <= b.y1]
        assert holder, text.get_text()
        box = min(holder, key=lambda b: b.width)
        assert box.x0 <= bb.x0 and bb.x1 <= box.x1 and box.y0 <= bb.y0 and bb.y1 <= box.y1, text.get_text()
    assert fig.bbox.contains(*boxes[0].p0) and all(b.x1 <= fig.bbox.x1 for b in boxes)
    texts = [x.get_text() for x in ax.texts]
    if arms[0].startswith("usual"):
        assert "Allocated to usual care plus" in texts and "education booklet" in texts
