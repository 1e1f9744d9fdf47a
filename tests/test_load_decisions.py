"""The loader tells what it decided: covariates kept, outcome look-alikes, post-randomisation covariates,
suggestions from names and values, and no identifier-like label or control character echoed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.report import describe_trial


def frame(n: int = 12) -> pd.DataFrame:
    subj = np.repeat([f"S{i:02d}" for i in range(n)], 2)
    return pd.DataFrame({"subject": subj, "arm": np.repeat(np.array(["physio", "combined", "control"])[np.arange(n) % 3], 2),
                         "visit": np.tile([0.0, 12.0], n), "pain": np.tile([6.0, 3.0], n),
                         "age": np.repeat(30.0 + np.arange(n), 2)})


def kinds(trial, kind):
    return [d for d in trial.decisions if d.kind == kind]


def test_unmapped_columns_are_reported_as_covariates_in_trial_and_validate():
    raw = frame().assign(bmi=24.0, smoker="no")
    t = ct.load(raw)
    (cov,) = kinds(t, "covariate")
    assert "kept as covariates" in cov.message and "'bmi'" in cov.message and "'smoker'" in cov.message
    assert "'age'" not in cov.message  # a known covariate of the canonical data is not news
    assert any("kept as covariates" in line for line in describe_trial(t))
    # mapped columns are the user's decision, not the loader's
    t = ct.load(raw.rename(columns={"bmi": "BMI"}), columns={"bmi": "BMI"})
    assert "'bmi'" not in kinds(t, "covariate")[0].message


def test_outcome_look_alikes_get_a_mapping_suggestion():
    n = 12
    raw = frame(n).assign(recovery_weeks=np.repeat(np.arange(n) + 2.5, 2), event=np.repeat(np.arange(n) % 2, 2))
    t = ct.load(raw)
    text = {d.column: d.message for d in kinds(t, "suggestion")}
    assert "columns={'recovery_time': 'recovery_weeks'}" in text["recovery_weeks"]
    assert "columns={'recovered': 'event'}" in text["event"]
    assert "not be shown as a baseline characteristic" in text["event"]
    assert "age" not in text  # ages fit no registered outcome's name
    # a mapped outcome is not suggested again
    t = ct.load(raw, columns={"recovery_time": "recovery_weeks"})
    assert "recovery_weeks" not in {d.column for d in kinds(t, "suggestion")}


def test_post_randomisation_covariates_are_flagged():
    raw = frame().assign(weight=lambda d: 70.0 + d["visit"] / 4 + np.arange(len(d)) % 3,
                         satisfaction=lambda d: np.where(d["visit"] > 0, 4.0, np.nan))
    t = ct.load(raw)
    flagged = {d.column: d.message for d in kinds(t, "post_baseline")}
    assert "changes between visits" in flagged["weight"]
    assert "only after baseline" in flagged["satisfaction"]
    assert "age" not in flagged
    assert any("weight" in n for n in t.notes)


def test_missing_roles_are_suggested_from_values_not_spelling():
    n = 12
    raw = frame(n).rename(columns={"arm": "rx"}).assign(rom=np.linspace(20, 90, 2 * n))
    with pytest.raises(ct.DataError) as err:
        ct.load(raw)
    text = str(err.value)
    assert "'arm': required column missing" in text and "'rx' (3 distinct labels)" in text and "'rom'" not in text
    raw = frame(n).rename(columns={"visit": "t"})
    with pytest.raises(ct.DataError, match=r"did you mean 't' \(2 distinct visit values\)"):
        ct.load(raw)


def test_identifier_like_labels_are_counted_not_echoed():
    raw = frame(6)
    raw.loc[[0, 1], "arm"] = "John Smith"
    raw.loc[[2, 3], "arm"] = "Mary Jones"
    raw.loc[[4, 5], "arm"] = "S123456"
    with pytest.raises(ct.DataError) as err:
        ct.load(raw)
    text = str(err.value)
    # person names in the arm column: the identifier guard refuses the file before the arm labels are checked;
    # either way (the guard, or the loader counting unknown labels) no label is shown
    assert isinstance(err.value, ct.IdentifierError) or (
        "3 unknown arm labels (not shown: they look like identifiers)" in text)
    assert "Smith" not in text and "Jones" not in text and "123456" not in text
    raw = frame(6).astype({"visit": object})
    raw.loc[0, "visit"] = "Peter Miller"
    with pytest.raises(ct.DataError) as err:
        ct.load(raw)
    assert isinstance(err.value, ct.IdentifierError) or "1 unknown visit labels (not shown" in str(err.value)
    assert "Miller" not in str(err.value) and "Peter" not in str(err.value)
    raw = frame(6)
    raw.loc[0, "arm"] = "usual care"
    with pytest.raises(ct.DataError, match=r"unknown arm labels \['usual care'\]"):
        ct.load(raw)


def test_control_characters_in_headers_are_not_printed():
    raw = frame(3).rename(columns={"pain": "pain\x1b[31m"}).assign(**{"odi\x1b]0;x\x07": "abc"})
    raw = raw.rename(columns={"odi\x1b]0;x\x07": "odi"})
    raw["odi"] = "abc"
    with pytest.raises(ct.DataError) as err:
        ct.load(raw, columns={"pain": "pain\x1b[31m", "nope\x1b[2J": "nothing\x1b[2J"})
    text = str(err.value)
    assert "\x1b" not in text and "\x07" not in text and "nothing?[2J" in text
