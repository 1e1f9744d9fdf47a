"""The per-trial subject index (analysis sets, Table 1, safety and the claims report build on it) against the
label-based pandas operations it replaces: same values, same order, same dtypes, on shuffled and gappy frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.analysis_set import analysis_set, subject_index, subject_level_columns
from combotherapy.claims import _claims_per_subject
from combotherapy.models.safety import subject_frame
from combotherapy.table_one.stats import _level_counts


@pytest.fixture(scope="module")
def gappy() -> ct.Trial:
    """Rows shuffled (subjects interleaved), values missing here and there, a text covariate with holes."""
    trial = ct.simulate_trial(n_per_arm=40, seed=11, dropout=0.3)
    base = trial.data
    rng = np.random.default_rng(4)
    d = base.iloc[rng.permutation(len(base))].reset_index(drop=True)
    d.loc[rng.random(len(d)) < 0.1, "pain"] = np.nan
    d.loc[rng.random(len(d)) < 0.1, "age"] = np.nan  # subject-level: some rows of a subject lose it
    d["note"] = np.where(rng.random(len(d)) < 0.5, None, d["sex"].astype(object))
    return ct.Trial(d, trial.instruments)


def test_subjects_arms_and_codes_follow_first_appearance(gappy):
    d = gappy.data
    idx = subject_index(gappy)
    first = d.drop_duplicates("subject").set_index("subject")["arm"]
    pd.testing.assert_index_equal(idx.subjects, first.index)
    pd.testing.assert_series_equal(idx.arm, first)
    assert (idx.subjects[idx.codes] == d["subject"].to_numpy()).all()
    assert subject_index(gappy) is idx  # built once per trial


@pytest.mark.parametrize("column", ["pain", "age", "sex", "note", "arm"])
def test_first_is_groupby_first(gappy, column):
    d = gappy.data
    expected = d.groupby("subject", sort=False, observed=True)[column].first()
    got = subject_index(gappy).first(column)
    pd.testing.assert_series_equal(got, expected, check_names=False)


@pytest.mark.parametrize("visit", [0.0, 12.0])
def test_at_visit_is_the_reindexed_visit_rows(gappy, visit):
    d = gappy.data
    idx = subject_index(gappy)
    expected = d.loc[d["visit"] == visit].set_index("subject")["pain"].reindex(idx.subjects)
    pd.testing.assert_series_equal(idx.at_visit("pain", visit), expected)
    rows = d.loc[d["visit"] == visit].drop_duplicates("subject").set_index("subject")["age"].reindex(idx.subjects)
    pd.testing.assert_series_equal(idx.take("age", idx.first_row_at(visit)), rows)


def test_two_rows_at_a_visit_is_a_data_error(gappy):
    d = gappy.data
    twice = pd.concat([d, d.loc[d["visit"] == 12].iloc[:1]], ignore_index=True)
    trial = ct.Trial(twice, gappy.instruments)
    with pytest.raises(ct.DataError, match="more than one row at week 12"):
        subject_index(trial).rows_at(12)


def test_varies_and_subject_level_columns_match_grouped_nunique(gappy):
    d = gappy.data.copy()
    d.loc[d.index[d["subject"] == d["subject"].iloc[0]][:1], "age"] = 999.0  # one subject's age changes
    trial = ct.Trial(d, gappy.instruments)
    idx = subject_index(trial)
    nunique = d.groupby("subject", sort=False)["age"].transform("nunique").to_numpy()
    np.testing.assert_array_equal(idx.varies(d["age"].to_numpy(float)), nunique > 1)
    names = ["age", "sex", "note", "pain", "site", "sessions_planned"]
    assert set(subject_level_columns(trial, names)) == set(trial.subject_columns) & set(names)
    assert set(subject_level_columns(gappy, names)) == set(gappy.subject_columns) & set(names)
    assert "age" not in subject_level_columns(trial, names) and "age" in subject_level_columns(gappy, names)


def test_analysis_set_unchanged_on_a_shuffled_frame(gappy):
    s = analysis_set(gappy, "pain", 12, covariates=["age", "C(sex)"], missing="exclude")
    d = gappy.data
    first = d.drop_duplicates("subject").set_index("subject")
    value = d.loc[d["visit"] == 12].set_index("subject")["pain"].reindex(first.index)
    base = d.loc[d["visit"] == 0].set_index("subject")["pain"].reindex(first.index)
    age = d.groupby("subject", sort=False)["age"].first().reindex(first.index)
    keep = value.notna() & base.notna() & age.notna()
    assert list(s.frame["subject"]) == list(first.index[keep])
    np.testing.assert_array_equal(s.frame["value"].to_numpy(), value[keep].to_numpy())
    assert set(s.excluded["subject"]) == set(first.index[~keep])
    assert s.n_per_arm == {a: int(k) for a, k in first.loc[keep, "arm"].astype(str).value_counts()
                           .reindex(gappy.arms, fill_value=0).items()}


def test_subject_frame_matches_grouped_first(gappy):
    out = subject_frame(gappy, ["sessions_planned", "adverse_events"], counts=["sessions_planned"])
    d = gappy.data
    expected = d.groupby("subject", sort=False)[["sessions_planned", "adverse_events"]].first()
    np.testing.assert_array_equal(out["subject"].to_numpy(), expected.index.to_numpy())
    np.testing.assert_array_equal(out[["sessions_planned", "adverse_events"]].to_numpy(), expected.to_numpy())


def test_level_counts_is_a_crosstab():
    rng = np.random.default_rng(2)
    level = rng.integers(-1, 3, 500)  # -1: missing
    arm = rng.integers(0, 4, 500)
    tab, missing = _level_counts(level, arm, ["a", "b", "c"], ["w", "x", "y", "z"])
    ok = level >= 0
    expected = pd.crosstab(level[ok], arm[ok]).to_numpy()
    np.testing.assert_array_equal(tab.to_numpy(), expected)
    np.testing.assert_array_equal(missing, np.bincount(arm[~ok], minlength=4))


def test_claims_per_subject_is_a_grouped_join():
    rng = np.random.default_rng(0)
    for _ in range(20):
        parts, labels = [], []
        for _k in range(rng.integers(1, 5)):
            ids = rng.choice([f"S{i}" for i in range(30)], rng.integers(0, 20), replace=False)
            parts.append(pd.DataFrame({"subject": ids, "arm": [f"a{int(s[1:]) % 3}" for s in ids]}).astype(str))
            labels.append(str(rng.choice(["1", "5b", "7a"])))
        long = pd.concat([p.assign(claim=lab) for p, lab in zip(parts, labels)], ignore_index=True)
        expected = long.groupby(["subject", "arm"], sort=False)["claim"].agg(", ".join).rename("claims")
        pd.testing.assert_frame_equal(_claims_per_subject(parts, labels), expected.reset_index())


def test_docstring_examples_of_the_analysis_set_module_run():
    import doctest

    import combotherapy.analysis_set as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
