"""Trial: immutable after validation, built only through the validated path (or the one fast constructor)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.trial import Trial


def raw() -> pd.DataFrame:
    return pd.DataFrame({"subject": ["a", "a", "b", "b", "c", "c"],
                         "arm": ["physio", "physio", "control", "control", "combined", "combined"],
                         "visit": [0, 12, 0, 12, 0, 12], "pain": [6.0, 3, 7, 6, 8, 2],
                         "age": [40, 40, 51, 51, 63, 63]})


def test_attributes_are_frozen():
    t = ct.load(raw())
    for name, value in (("source", "x"), ("data", raw()), ("instruments", {}), ("notes", [])):
        with pytest.raises(AttributeError, match="immutable"):
            setattr(t, name, value)
    with pytest.raises(AttributeError, match="immutable"):
        del t.source
    with pytest.raises(TypeError):
        t.instruments["odi"] = ct.REGISTRY["odi"]


def test_writing_into_data_never_changes_the_trial():
    t = ct.load(raw())
    d = t.data
    d.loc[0, "pain"] = 99.0
    d["pain"] = 0.0
    del d["age"]
    assert t.data["pain"].tolist() == [6.0, 3, 7, 6, 8, 2] and "age" in t.data.columns
    with pytest.raises(ValueError):
        t.data["pain"].to_numpy()[0] = 5.0  # read-only view of the Trial's array
    t.notes.append("x")
    assert "x" not in t.notes
    subjects = t.subjects  # a copy: writing into it (not through the property: pandas calls that chained) is harmless
    subjects.loc[0, "age"] = 1
    assert t.subjects["age"].tolist() == [40, 51, 63]


def test_public_constructor_validates():
    good = ct.load(raw()).data
    t = Trial(good, {"pain": ct.REGISTRY["pain"]}, source="mine")
    assert t.source == "mine" and t.n_subjects == 3 and t.outcomes == ["pain"]
    with pytest.raises(ct.DataError, match=r"'arm'.*categorical"):
        Trial(good.assign(arm=good["arm"].astype(str)), {"pain": ct.REGISTRY["pain"]})
    with pytest.raises(ct.DataError, match=r"'visit'.*finite weeks"):
        Trial(good.assign(visit=-good["visit"] - 1), {"pain": ct.REGISTRY["pain"]})
    with pytest.raises(ct.DataError, match=r"'subject'.*missing values"):
        Trial(good.assign(subject=None), {"pain": ct.REGISTRY["pain"]})
    with pytest.raises(ct.DataError, match=r"'pain'.*ct.Instrument"):
        Trial(good, {"pain": "0-10"})


def test_constructor_keeps_display_order_of_arms():
    good = ct.load(raw()).data
    order = ["physio", "combined", "control"]
    good["arm"] = pd.Categorical(good["arm"].astype(str), categories=order, ordered=True)
    assert Trial(good, {"pain": ct.REGISTRY["pain"]}).arms == order


def test_with_outcomes_validates_the_new_outcome():
    t = ct.load(raw())
    u = t.with_outcomes(age=ct.Instrument(low=0, high=120, units="years"))
    assert "age" in u.outcomes and "age" not in t.outcomes
    with pytest.raises(ct.DataError, match="'age'"):
        t.with_outcomes(age=ct.Instrument(low=0, high=50))


def test_fast_constructor_and_pickle_roundtrip():
    t = ct.load(raw())
    f = Trial._from_validated(t.data, t.instruments, source="gen", notes=["made here"])
    assert f.source == "gen" and f.notes == ["made here"] and f.arms == t.arms
    for clone in (pickle.loads(pickle.dumps(f)), copy.deepcopy(f)):
        pd.testing.assert_frame_equal(clone.data, f.data)
        assert clone.source == "gen" and clone.notes == ["made here"]


def test_subject_level_facts_are_computed_once(monkeypatch):
    t = ct.load(raw())
    calls = []
    # the facts are computed by trial.subject_facts (array operations; formerly a grouped nunique): once per Trial
    import combotherapy.trial as trial_module
    original = trial_module.subject_facts

    def counting(*a, **k):
        calls.append(1)
        return original(*a, **k)

    monkeypatch.setattr(trial_module, "subject_facts", counting)
    for _ in range(5):
        assert t.subject_columns == ["age"]
        assert list(t.subjects.columns) == ["subject", "arm", "age"]
    assert len(calls) == 1
    assert t.n_subjects == 3 and t.visits == [0.0, 12.0] and t.check_visit(12) == 12.0


def test_simulated_trial_is_immutable():
    t = ct.simulate_trial(n_per_arm=5, seed=1)
    assert t.source.startswith("simulate_trial(seed=1")
    with pytest.raises(AttributeError):
        t.source = "x"
    assert np.isfinite(t.data["pain"]).any()
