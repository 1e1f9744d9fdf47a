"""Degenerate data give a ModelError naming the cause or a stated note, never a raw error or rounding noise."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.errors import ModelError
from combotherapy.models._degenerate import empty_visit_notes


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return ct.simulate_trial(n_per_arm=30, seed=2026).data.copy()


def _load(frame: pd.DataFrame) -> ct.Trial:
    return ct.load(frame.reset_index(drop=True))


def test_survival_all_tied_all_events_is_a_model_error(base):
    d = base.assign(recovery_time=10.0, recovered=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModelError, match="every subject has the event at the same time") as err:
            ct.survival(_load(d))
    assert err.value.kind == "degenerate"


def test_survival_single_event_time_is_a_model_error(base):
    # all times tied, some censored: the PH check (residuals against time) raised a raw LinAlgError
    d = base.assign(recovery_time=10.0, recovered=(base["age"] > 50).astype(int))
    with pytest.raises(ModelError, match="events happen at the same time"):
        ct.survival(_load(d))


def test_claims_report_states_the_survival_cause(base):
    d = base.assign(recovery_time=10.0, recovered=1)
    table = ct.claims_report(_load(d)).table
    row = table.loc[table["model"].astype(str).str.contains("surv")].iloc[0]
    assert row["verdict"] == "inconclusive" and "same time" in row["reason"]


def test_ancova_single_arm_subset_is_a_model_error(base):
    d = base.loc[base["arm"].astype(str) == "combined"]
    with pytest.raises(ModelError, match="only the arm 'combined'"):
        ct.ancova(_load(d), "pain", 12)


def test_mmrm_notes_a_visit_without_data(base):
    d = base.copy()
    d.loc[d["visit"] == 8, "pain"] = np.nan
    res = ct.mmrm(_load(d), "pain")
    assert 8.0 not in res.fitted.extra["visits"]
    assert any(n.startswith("week 8: no subject has a value of 'pain'") for n in res.fitted.notes)
    # the full data: no such note
    full = ct.mmrm(_load(base), "pain")
    assert not any("no subject has a value" in n for n in full.fitted.notes)


def test_empty_visit_notes_lists_only_missing_post_baseline_visits():
    assert empty_visit_notes([0, 4, 8, 12], [4, 8, 12], "pain") == []
    (note,) = empty_visit_notes([0, 4, 8, 12, 26], [4, 12], "pain")
    assert note.startswith("weeks 8, 26:")


def test_subgroup_with_one_level_is_noted(base):
    res = ct.subgroups(_load(base.assign(sex="female")), "pain", 12, by=["sex"])
    assert any("'sex': a single level" in n for n in res.fitted.notes)
    assert res.interactions["p"].isna().all()


@pytest.mark.parametrize("change", ["constant", "zero_counts"])
def test_constant_outcomes_are_model_errors(base, change):
    d = base.copy()
    if change == "constant":
        d.loc[d["visit"] > 0, "pain"] = d.loc[d["visit"] > 0, "pain"].where(d["pain"].isna(), 3.0)
        calls = [lambda t: ct.ancova(t, "pain", 12), lambda t: ct.mmrm(t, "pain"),
                 lambda t: ct.combination_test(t, "pain", 12), lambda t: ct.subgroups(t, "pain", 12, by=["sex"])]
    else:
        d["analgesic_days"] = d["analgesic_days"].where(d["analgesic_days"].isna(), 0.0)
        calls = [lambda t: ct.count_model(t, "analgesic_days", 12)]
    trial = _load(d)
    for call in calls:
        with pytest.raises(ModelError):
            call(trial)


@pytest.mark.filterwarnings("error")  # no statsmodels warning leaks (exp overflow of the lazy fitted values)
def test_responder_separation_is_a_model_error(base):
    d = base.copy()
    b0 = d.loc[d["visit"] == 0].set_index("subject")["pain"]
    at = d["visit"] == 12
    start = d.loc[at, "subject"].map(b0)
    d.loc[at, "pain"] = np.where(start > start.median(), 0.0, start)
    with pytest.raises(ModelError, match="separation"):
        ct.responders(_load(d), "pain", 12, threshold=0.3, relative=True)


def test_subgroups_on_a_single_arm_subset_is_a_model_error(base):
    d = base.loc[base["arm"].astype(str) == "combined"]
    with pytest.raises(ModelError, match="only the arm 'combined'"):
        ct.subgroups(_load(d), "pain", 12, by=["sex"], pairs="all")
