"""The pieces every model's analysis set is made of (combotherapy.analysis_set) against the label-based pandas
operations they replace, on a shuffled trial with holes; and the observational design's column order (R's)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.analysis_set import change, covariate_values, exclusions, first_reason
from combotherapy.models._covariates import subject_covariates
from combotherapy.models.counts import _analysis_data


@pytest.fixture(scope="module")
def gappy() -> ct.Trial:
    """Rows shuffled (subjects interleaved), outcome and covariate values missing here and there."""
    trial = ct.simulate_trial(n_per_arm=30, seed=5, dropout=0.3)
    rng = np.random.default_rng(8)
    d = trial.data.iloc[rng.permutation(len(trial.data))].reset_index(drop=True)
    d.loc[rng.random(len(d)) < 0.1, "analgesic_days"] = np.nan
    d.loc[rng.random(len(d)) < 0.05, "age"] = np.nan
    return ct.Trial(d, trial.instruments)


def test_first_reason_is_numpy_select():
    rng = np.random.default_rng(3)
    masks = [rng.random(200) < p for p in (0.1, 0.2, 0.3)]
    whys = ["a", "b", "c"]
    default = np.where(rng.random(200) < 0.1, "cov", "").astype(object)
    expected = np.select(masks, whys, default=default)
    got = first_reason(list(zip(masks, whys)), 200, default)
    assert got.tolist() == expected.tolist()
    assert first_reason([], 3).tolist() == ["", "", ""]


def test_exclusions_split_by_reason():
    frame = pd.DataFrame({"subject": ["s1", "s2", "s3"], "arm": pd.Categorical(["a", "b", "a"]), "y": [1.0, 2, 3]})
    kept, excluded = exclusions(frame, np.array(["", "no y", ""], dtype=object))
    assert kept["subject"].tolist() == ["s1", "s3"] and kept.index.tolist() == [0, 1]
    assert excluded.to_dict("list") == {"subject": ["s2"], "arm": ["b"], "reason": ["no y"]}


def test_covariate_values_are_the_first_value_or_the_week0_value(gappy):
    d = gappy.data
    terms, names, values, notes = covariate_values(gappy, ["age", "C(site)", "pain"])
    assert terms == ["age", "C(site)", "pain"] and names == ["age", "site", "pain"]
    first = d.groupby("subject", sort=False)[["age", "site"]].first()
    week0 = d.loc[d["visit"] == 0].set_index("subject")["pain"].reindex(first.index)
    pd.testing.assert_series_equal(values["age"], first["age"], check_names=False)
    assert values["site"].astype(str).tolist() == first["site"].astype(str).tolist()
    np.testing.assert_array_equal(values["pain"].to_numpy(float), week0.to_numpy(float))
    assert notes == ["Covariate 'pain' varies between visits; its baseline (week 0) value was used."]
    # the secondary models' Covariates are the same values
    pd.testing.assert_frame_equal(subject_covariates(gappy, ["age"]).values, values[["age"]])


def test_count_analysis_set_matches_a_pivot(gappy):
    cov = subject_covariates(gappy, ["age"], reserved=["analgesic_days"])
    frame, excluded = _analysis_data(gappy, "analgesic_days", 12, None, cov)
    d = gappy.data
    wide = d.pivot(index="subject", columns="visit", values="analgesic_days")
    age = d.groupby("subject")["age"].first()
    keep = wide[12.0].notna() & wide[0.0].notna() & age.reindex(wide.index).notna()
    analysed = set(wide.index[keep])
    assert set(frame["subject"]) == analysed
    assert set(excluded["subject"]) == set(wide.index) - analysed
    got = frame.set_index("subject")
    np.testing.assert_array_equal(got["y"].to_numpy(), wide.loc[got.index, 12.0].to_numpy())
    np.testing.assert_array_equal(got["base"].to_numpy(), wide.loc[got.index, 0.0].to_numpy())
    # the first reason that applies names each excluded subject
    why = excluded.set_index("subject")["reason"]
    no_y = wide.index[wide[12.0].isna()]
    assert (why.reindex(no_y) == "no analgesic_days at week 12").all()


def test_change_is_absolute_or_relative_to_a_nonzero_baseline():
    v, b = pd.Series([5.0, 3.0, 2.0]), pd.Series([10.0, 0.0, 4.0])
    assert change(v, b).tolist() == [-5.0, 3.0, -2.0]
    rel = change(v, b, relative=True)
    assert rel[0] == -0.5 and np.isnan(rel[1]) and rel[2] == -0.5


def test_observational_design_lists_columns_in_formula_order_as_r():
    """R's model.matrix(~ age + sex + pain0 + log(pain_duration)) lists the columns in the order written; patsy
    puts factors first, so the design reorders them (the numbers are patsy's)."""
    import patsy

    from combotherapy.observational import simulate_registry
    from combotherapy.observational._data import design_matrix, r_names

    reg = simulate_registry(120, seed=3)
    rhs = "age + sex + pain0 + log(pain_duration) + bs(age, 3)"
    d = design_matrix(rhs, reg)
    assert r_names(d.column_names) == ["(Intercept)", "age", "sexM", "pain0", "log(pain_duration)",
                                       "bs(age, 3)1", "bs(age, 3)2", "bs(age, 3)3"]
    P = patsy.dmatrix(rhs, reg, eval_env=patsy.EvalEnvironment([{"log": np.log}]), return_type="dataframe")
    for j, name in enumerate(d.column_names):
        patsy_name = name.replace("[1]", "[0]").replace("[2]", "[1]").replace("[3]", "[2]") if "bs(" in name \
            else name
        np.testing.assert_array_equal(d.X[:, j], P[patsy_name].to_numpy())
    # the same terms on new rows (a reference grid) give the same columns
    np.testing.assert_allclose(d.get_model_matrix(reg.iloc[:5]), d.X[:5], rtol=0, atol=1e-12)
