"""Trial.subject_columns / Trial.subjects by array operations (combotherapy._subject_facts) against pandas'
grouped nunique(dropna=True) <= 1 and first(): the same columns, values and dtypes, whatever the row order."""

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.trial import KEY_COLUMNS, Trial


def _by_pandas(t: Trial) -> tuple[list[str], pd.DataFrame]:
    f = t.data
    cols = [c for c in f.columns if c not in KEY_COLUMNS
            and (c not in t.instruments or t.instruments[c].level == "subject")]
    nun = f.groupby("subject", sort=False, observed=True)[cols].nunique(dropna=True).max()
    keep = [c for c in cols if nun[c] <= 1]
    return keep, f.groupby("subject", sort=False, observed=True)[["arm", *keep]].first().reset_index()


def _crafted(seed: int = 0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    subj = rng.integers(0, 60, n)
    df = pd.DataFrame({"subject": pd.array([f"p{s}" for s in subj], dtype="str"),
                       "arm": pd.Categorical(np.where(subj % 2, "a", "b")), "visit": rng.integers(0, 3, n) * 4.0})
    df["f_const"] = subj * 1.5
    df.loc[rng.random(n) < .3, "f_const"] = np.nan
    df["f_vary"] = rng.random(n)
    df["i_const"] = subj * 2
    df["b_const"] = subj % 3 == 0
    df["o_const"] = pd.Series(np.where(subj % 2, "x", "y"), dtype=object)
    df.loc[rng.random(n) < .5, "o_const"] = None
    df["o_all_missing"] = pd.Series(np.where(subj < 5, None, "z"), dtype=object)
    df["o_vary"] = pd.Series(rng.choice(["a", "b"], n), dtype=object)
    df["o_vary_by_missing"] = pd.Series(np.tile(["a", None, "b", None], n)[:n], dtype=object)
    df["o_pd_na"] = pd.Series([pd.NA] * n, dtype=object)
    df["o_numbers"] = pd.Series(np.where(subj % 2, 1, 1.0), dtype=object)
    df["s_const"] = pd.array(np.where(subj % 4, "u", "v"), dtype="str")
    df.loc[rng.random(n) < .5, "s_const"] = None
    df["c_const"] = pd.Categorical(np.where(subj % 4, "u", "v"))
    df.loc[rng.random(n) < .9, "c_const"] = np.nan
    df["I_const"] = pd.array(subj, dtype="Int64")
    df.loc[rng.random(n) < .9, "I_const"] = pd.NA
    df["d_const"] = pd.to_datetime("2020-01-01") + pd.to_timedelta(subj, "D")   # left to pandas
    return df


@pytest.mark.parametrize("layout", ["shuffled", "sorted", "object ids", "integer ids", "contiguous unsorted",
                                    "one row"])
def test_subject_facts_equal_pandas_groupby(layout):
    df = _crafted()
    ordered = df.sort_values(["subject", "visit"], kind="stable").reset_index(drop=True)
    frame = {"shuffled": df, "sorted": ordered,
             "object ids": ordered.assign(subject=ordered["subject"].astype(object)),
             "integer ids": ordered.assign(subject=ordered["subject"].str[1:].astype(int)),
             "contiguous unsorted": ordered.iloc[::-1].reset_index(drop=True),
             "one row": ordered.iloc[:1]}[layout]
    t = Trial(frame, {})
    keep, table = _by_pandas(t)
    assert t.subject_columns == keep
    pd.testing.assert_frame_equal(t.subjects, table, check_exact=True)
    if layout != "one row":
        assert "f_vary" not in keep and "o_vary" not in keep and "o_vary_by_missing" not in keep
        assert {"f_const", "o_const", "s_const", "c_const", "I_const", "d_const", "o_all_missing"} <= set(keep)


def test_subject_facts_of_simulated_and_loaded_trials():
    t = ct.simulate_trial(n_per_arm=40, seed=3)
    for trial in (t, ct.load(t.data.sample(frac=1, random_state=2))):
        keep, table = _by_pandas(trial)
        assert trial.subject_columns == keep
        pd.testing.assert_frame_equal(trial.subjects, table, check_exact=True)


def test_facts_of_a_few_columns_equal_the_whole_table():
    """A model asks for a few columns (Trial._subject_values): the same as the full table's columns, or None
    when a column varies within a subject; learning them first does not change the full table afterwards."""
    frame = _crafted(seed=1).sample(frac=1, random_state=4).reset_index(drop=True)
    keep, table = _by_pandas(Trial(frame, {}))
    for c in [c for c in frame.columns if c not in KEY_COLUMNS]:
        t = Trial(frame, {})
        got = t._subject_values([c])
        if c in keep:
            pd.testing.assert_frame_equal(got, table[["subject", "arm", c]], check_exact=True)
        else:
            assert got is None
        assert t.subject_columns == keep
        pd.testing.assert_frame_equal(t.subjects, table, check_exact=True)


@pytest.mark.parametrize("shuffle", [False, True])
def test_subject_index_from_the_trial_grouping_equals_factorize(shuffle):
    """subject_index reuses the Trial's grouping when each subject's rows are contiguous: the same codes,
    subjects, first rows and row order as the factorize-based index; otherwise it factorises."""
    from combotherapy.analysis_set import SubjectIndex, subject_index
    frame = ct.simulate_trial(n_per_arm=30, seed=2).data
    if shuffle:
        frame = frame.sample(frac=1, random_state=3).reset_index(drop=True)
    t = Trial(frame, dict(ct.simulate_trial(n_per_arm=2, seed=2).instruments))
    a, b = SubjectIndex(t.data), subject_index(t)
    assert np.array_equal(a.codes, b.codes) and np.array_equal(a.first_row, b.first_row)
    pd.testing.assert_index_equal(a.subjects, b.subjects, exact=True)
    pd.testing.assert_series_equal(a.arm, b.arm)
    for x, y in zip(a._sorted(), b._sorted()):
        assert np.array_equal(x, y)
    pd.testing.assert_series_equal(a.at_visit("pain", 12), b.at_visit("pain", 12))
