"""Unknown arm and visit labels are listed in messages only when nothing about them looks like a person."""

from __future__ import annotations

import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.privacy.labels import label_names_a_person


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return ct.simulate_trial(n_per_arm=10, seed=3).data.copy()


@pytest.mark.parametrize("label", ["Smith", "Garcia", "Maria"])
def test_a_surname_or_given_name_as_arm_label_is_not_echoed(base, label):
    d = base.assign(arm=base["arm"].astype(str))
    d.loc[d["subject"] == d["subject"].iloc[0], "arm"] = label
    with pytest.raises(ct.DataError) as err:
        ct.load(d)
    assert label not in str(err.value) and "not shown" in str(err.value)


@pytest.mark.parametrize("label", ["Garcia visit", "Smith"])
def test_a_name_as_visit_label_is_not_echoed(base, label):
    d = base.assign(visit=base["visit"].map(lambda v: f"{v:g}"))
    first = (d["subject"] == d["subject"].iloc[0]) & (d["visit"] == "4")
    d.loc[first, "visit"] = label
    with pytest.raises(ct.DataError) as err:
        ct.load(d)
    assert label not in str(err.value)


def test_a_plain_unknown_label_is_still_listed(base):
    d = base.assign(arm=base["arm"].astype(str))
    d.loc[d["subject"] == d["subject"].iloc[0], "arm"] = "Group Z"
    with pytest.raises(ct.DataError, match=r"unknown arm labels \['Group Z'\]"):
        ct.load(d)


@pytest.mark.parametrize("label, hidden", [
    ("Smith", True), ("john.smith@example.org", True), ("2024-03-01", True), ("01.03.24", True),
    ("Mar 2024", True), ("06 12 34 56 78", True), ("Usual care", False), ("Week 4", False), ("Group B", False),
    ("Physio", False), ("Sham", False), ("Laser", False), ("T1", False), ("Arm 2", False), ("Week -2", False)])
def test_label_names_a_person(label, hidden):
    assert label_names_a_person(label) is hidden
