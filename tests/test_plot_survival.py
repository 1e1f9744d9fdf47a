"""Kaplan–Meier plot data from the stored step tables (numbers at risk by hand); image baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_plot_common import check_image, make_trial

import combotherapy as ct
from combotherapy.results import Fitted, Result


def km_table() -> pd.DataFrame:
    # physio: 4 subjects, times 2 (event), 3 (censored), 5 (event), 7 (event)
    # combined: 3 subjects, times 1 (event), 4 (event), 6 (censored)
    return pd.DataFrame({
        "arm": ["physio"] * 4 + ["combined"] * 3,
        "time": [2.0, 3.0, 5.0, 7.0, 1.0, 4.0, 6.0],
        "n_risk": [4, 3, 2, 1, 3, 2, 1],
        "n_events": [1, 0, 1, 1, 1, 1, 0],
        "n_censored": [0, 1, 0, 0, 0, 0, 1],
        "survival": [0.75, 0.75, 0.375, 0.0, 2 / 3, 1 / 3, 1 / 3],
        "se": 0.1,
        "ci_low": [0.5, 0.5, 0.1, 0.0, 0.3, 0.1, 0.1],
        "ci_high": [0.95, 0.95, 0.7, 0.0, 0.9, 0.7, 0.7],
    })


def km_result(event="recovered") -> Result:
    r = Result("KM", Fitted(model="KM", formula=f"Surv(recovery_time, {event}) ~ arm", outcome="recovery_time",
                            extra={"time": "recovery_time", "event": event}))
    r.km_curves = km_table()
    return r


def test_numbers_at_risk_by_hand():
    k = ct.plot.survival_data(km_result(), times=[0, 1.5, 3, 6.5, 8])
    n = k.at_risk.pivot(index="arm", columns="time", values="n_risk")
    # at risk at t: follow-up time >= t
    assert n.loc["physio"].tolist() == [4, 4, 3, 1, 0]
    assert n.loc["combined"].tolist() == [3, 2, 2, 0, 0]


def test_curves_start_at_time_zero_and_flip_when_cumulative():
    k = ct.plot.survival_data(km_result())
    assert k.cumulative  # recovery is a good event: show the proportion recovered
    phys = k.curves.loc[k.curves["arm"] == "physio"]
    assert phys["time"].tolist() == [0.0, 2.0, 3.0, 5.0, 7.0]
    assert phys["estimate"].tolist() == pytest.approx([0.0, 0.25, 0.25, 0.625, 1.0])
    assert phys["ci_low"].tolist() == pytest.approx([0.0, 0.05, 0.05, 0.3, 1.0])
    s = ct.plot.survival_data(km_result(), cumulative=False)
    assert s.curves.loc[s.curves["arm"] == "combined", "estimate"].tolist() == pytest.approx([1, 2 / 3, 1 / 3, 1 / 3])
    # an adverse event (lower is better) is shown as the proportion still free of it
    assert not ct.plot.survival_data(km_result("adverse_events")).cumulative
    # without a recorded visit schedule the table times are round ticks from 0 to the last time
    assert ct.plot.survival_data(km_result()).at_risk["time"].unique().tolist() == [0, 2, 4, 6]
    # with one (ct.survival records the trial's visits) the ticks and numbers at risk are at the visits
    r = km_result()
    r.fitted.extra["visits"] = [3.0, 5.0, 12.0]        # a visit after the last time is not an axis tick ...
    assert ct.plot.survival_data(r).at_risk["time"].unique().tolist() == [0, 3, 5, 7]   # ... the last interval goes on


def test_bad_inputs():
    with pytest.raises(ct.DataError, match="km_curves"):
        ct.plot.survival(make_trial())
    with pytest.raises(ct.DataError, match="lacks the columns"):
        ct.plot.survival(km_table().drop(columns="n_risk"))
    with pytest.raises(ct.DataError, match="not negative"):
        ct.plot.survival(km_result(), times=[-1, 2])


def survival_trial(arms, seed=0) -> ct.Trial:
    t = make_trial(arms, n_per_arm=25, seed=seed)
    rng = np.random.default_rng(seed)
    subj = t.subjects
    rate = subj["arm"].map({"control": 0.05, "physio": 0.08, "acupuncture": 0.07, "combined": 0.14}).to_numpy()
    time = rng.exponential(1 / rate).round(1) + 0.1
    recovered = (time < 26).astype(int)
    time = np.minimum(time, 26.0)
    add = pd.DataFrame({"subject": subj["subject"], "recovery_time": time, "recovered": recovered})
    data = t.data.merge(add, on="subject", how="left")
    r = ct.REGISTRY
    return ct.Trial(data, {**t.instruments, "recovery_time": r["recovery_time"], "recovered": r["recovered"]})


@pytest.mark.parametrize("arms", [("physio", "combined"), ("control", "physio", "acupuncture", "combined")])
def test_real_survival_result_renders_curves_and_table(arms):
    res = ct.survival(survival_trial(arms))
    fig = ct.plot.survival(res)
    main, table = fig.axes
    assert [t.get_text() for t in table.get_yticklabels()] == list(arms)
    k = ct.plot.survival_data(res)
    assert sorted(int(t.get_text()) for t in table.texts) == sorted(k.at_risk["n_risk"].tolist())
    assert k.at_risk.loc[k.at_risk["time"] == 0, "n_risk"].tolist() == [25] * len(arms)


def test_into_a_given_axes_with_the_table_as_an_inset():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot()
    assert ct.plot.survival(km_result(), ax=ax) is fig
    assert len(ax.child_axes) == 1
    bare = ct.plot.survival(km_result(), risk_table=False, ci=False)
    assert len(bare.axes) == 1 and len(bare.axes[0].collections) == 0


def test_survival_image(tmp_path):
    res = ct.survival(survival_trial(("control", "physio", "acupuncture", "combined"), seed=4))
    check_image(ct.plot.survival(res), "survival_recovery", tmp_path)


def test_band_reaches_the_last_time_when_its_limit_there_is_undefined():
    # R's survfit (and ct.survival) give no interval where S = 0; the band before it must still be drawn
    km = km_table()
    km.loc[3, ["ci_low", "ci_high"]] = np.nan
    fig = ct.plot.survival(km, risk_table=False)
    phys = fig.axes[0].collections[0]
    xs = np.concatenate([p.vertices[:, 0] for p in phys.get_paths()])
    assert xs.max() == pytest.approx(7.0)
