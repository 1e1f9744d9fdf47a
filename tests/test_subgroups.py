"""ct.subgroups against R (lm + emmeans by level + anova) and on bad input.

Reference: tests/reference/subgroups.R -> subgroups.json. Tolerances: estimates, SEs and intervals 1e-6
relative (least squares, closed form), p-values 1e-4 relative.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, REPO

import combotherapy as ct
from combotherapy.models.subgroups import COLUMNS, EXPLORATORY_NOTE, OVERALL, subgroups

RTOL = 1e-6
P_RTOL = 1e-4
REF = json.loads((REFERENCE / "subgroups.json").read_text())
CASES = {
    "three_arm": dict(),
    "three_arm_holm_all": dict(pairs="all", adjust="holm"),
    "factorial_all_age50": dict(pairs="all", cuts={"age": [50]}),
    "unbalanced": dict(),
}


def close(actual, expected, rtol=RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol)


def as_list(x) -> list:
    return x if isinstance(x, list) else [x]


@pytest.fixture(scope="module")
def results():
    out = {}
    for name, kw in CASES.items():
        ref = REF["cases"][name]
        path = REPO / ref["file"]
        assert hashlib.md5(path.read_bytes()).hexdigest() == ref["md5"], (
            f"{path} changed since tests/reference/subgroups.R was run: rerun it")
        out[name] = (subgroups(ct.load(path), "pain", 12, **kw), ref)
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_contrasts_within_levels_match_r(results, case):
    res, ref = results[case]
    tab = res.contrasts
    for var, exp in ref["variables"].items():
        e = pd.DataFrame(exp["contrasts"])
        g = tab.loc[tab["variable"] == var].reset_index(drop=True)
        assert g["level"].tolist() == e["level"].tolist()
        assert g["contrast"].tolist() == e["contrast"].tolist()
        assert g["n"].tolist() == e["n"].tolist()
        for col in ["estimate", "se", "df", "statistic", "ci_low", "ci_high"]:
            close(g[col], e[col])
        adjusted = ref["adjust"] != "none"
        close(g["p_adj" if adjusted else "p"], e["p"], rtol=P_RTOL)
        inter = exp["interaction"]
        close(g["interaction_p"], np.full(len(g), inter["p"]), rtol=P_RTOL)
        row = res.interactions.set_index("variable").loc[var]
        close(row["statistic"], inter["statistic"])
        assert (row["df_num"], row["df"], row["n"], row["levels"]) == (
            inter["df_num"], inter["df"], inter["n"], inter["levels"])


@pytest.mark.parametrize("case", list(CASES))
def test_overall_rows_match_r(results, case):
    res, ref = results[case]
    g = res.contrasts.loc[res.contrasts["variable"] == OVERALL].reset_index(drop=True)
    e = pd.DataFrame(ref["overall"])
    assert g["contrast"].tolist() == e["contrast"].tolist()
    for col in ["estimate", "se", "df", "ci_low", "ci_high"]:
        close(g[col], e[col])
    close(g["p_adj" if ref["adjust"] != "none" else "p"], e["p"], rtol=P_RTOL)
    assert g["interaction_p"].isna().all()


@pytest.mark.parametrize("case", list(CASES))
def test_skipped_levels_and_counts_match_r(results, case):
    res, ref = results[case]
    for var, exp in ref["variables"].items():
        assert sorted(res.skipped.loc[res.skipped["variable"] == var, "level"]) == sorted(as_list(ref["skipped"][var]))
        e = pd.DataFrame(exp["counts"]).rename(columns={"Var1": "level", "Var2": "arm"})
        got = res.counts.loc[res.counts["variable"] == var].set_index(["level", "arm"])["n"]
        fitted = e.loc[~e["level"].isin(as_list(ref["skipped"][var]))]
        assert got.loc[list(zip(fitted["level"], fitted["arm"]))].tolist() == fitted["n"].tolist()


def test_layout_and_exploratory_warning(results):
    res, _ = results["three_arm"]
    assert list(res.contrasts.columns) == COLUMNS
    assert res.note == EXPLORATORY_NOTE
    text = res.summary()
    assert "WARNING: Subgroup findings are exploratory" in text.split("contrasts\n")[0]
    assert EXPLORATORY_NOTE in res.notes
    assert res.contrasts["contrast"].unique().tolist() == ["combined - physio", "combined - acupuncture"]
    levels = res.contrasts.loc[res.contrasts["variable"] == "pain_duration", "level"].unique().tolist()
    assert levels == ["acute (< 3 months)", "chronic (>= 3 months)"]
    assert res.contrasts.loc[res.contrasts["variable"] == "age", "level"].unique().tolist() == [
        "< 40", "40 to < 60", ">= 60"]
    assert res.better == "lower" and "<table" in res._repr_html_()


def test_unbalanced_reports_sparse_levels(results):
    res, _ = results["unbalanced"]
    sk = res.skipped.set_index(["variable", "level"])
    assert sk.loc[("site", "site5"), "n_physio"] == 1 and sk.loc[("site", "site5"), "n_control"] == 0
    assert "fewer than 2 subjects" in sk.loc[("site", "site5"), "reason"]
    assert any("site5" in n and "not fitted" in n for n in res.notes)
    assert "site5" not in res.contrasts["level"].tolist()
    # the subject without pain duration is left out of that model only
    assert any("'pain_duration': 1 subject(s) without a value" in n for n in res.notes)
    n_pd = res.interactions.set_index("variable").loc["pain_duration", "n"]
    n_sex = res.interactions.set_index("variable").loc["sex", "n"]
    assert n_pd == n_sex - 1


@pytest.fixture(scope="module")
def trial():
    return ct.load(REPO / "data" / "sample" / "three_arm.csv")


def test_user_cuts_and_single_variable(trial):
    res = subgroups(trial, "pain", 12, by="age", cuts={"age": [50]})
    assert res.contrasts.loc[res.contrasts["variable"] == "age", "level"].unique().tolist() == ["< 50", ">= 50"]
    assert res.interactions["df_num"].tolist() == [2]
    with pytest.raises(ct.DataError, match=r"cuts\['age'\] must be increasing"):
        subgroups(trial, "pain", 12, by=["age"], cuts={"age": [60, 40]})


def test_explicit_pairs(trial):
    res = subgroups(trial, "pain", 12, by=["sex"], pairs=[("physio", "acupuncture")])
    assert res.contrasts["contrast"].unique().tolist() == ["physio - acupuncture"]
    with pytest.raises(ct.DataError, match="pairs"):
        subgroups(trial, "pain", 12, by=["sex"], pairs=[("physio", "control")])
    with pytest.raises(ct.DataError, match="pairs must be"):
        subgroups(trial, "pain", 12, by=["sex"], pairs="every")


def test_combination_needs_combined_arm(trial):
    data = trial.data.loc[trial.data["arm"] != "combined"].copy()
    data["arm"] = data["arm"].cat.remove_unused_categories()
    t = ct.Trial(data.reset_index(drop=True), trial.instruments)
    with pytest.raises(ct.DataError, match="combined arm"):
        subgroups(t, "pain", 12, by=["sex"])
    assert subgroups(t, "pain", 12, by=["sex"], pairs="all").contrasts["contrast"].unique().tolist() == [
        "physio - acupuncture"]


def test_bad_variables(trial):
    with pytest.raises(ct.DataError, match=r"\['bmi'\] cannot be used"):
        subgroups(trial, "pain", 12, by=["bmi"])
    with pytest.raises(ct.DataError, match=r"'eq5d' is continuous.*cuts="):
        subgroups(trial, "pain", 12, by=["eq5d"])
    with pytest.raises(ct.DataError, match="visit 7"):
        subgroups(trial, "pain", 7)
    with pytest.raises(ct.DataError, match="not in this trial"):
        subgroups(trial, "grip", 12)
    with pytest.raises(ct.DataError, match="alpha"):
        subgroups(trial, "pain", 12, alpha=5)


def test_numeric_with_few_values_is_categorical(trial):
    subj = trial.data["subject"].unique()
    flag = pd.Series(np.arange(len(subj)) % 2, index=subj).astype(float)
    data = trial.data.assign(smoker=flag.reindex(trial.data["subject"]).to_numpy())
    res = subgroups(ct.Trial(data, trial.instruments), "pain", 12, by=["smoker"])
    assert res.contrasts.loc[res.contrasts["variable"] == "smoker", "level"].unique().tolist() == ["0", "1"]


def test_visit_varying_variable_uses_baseline(trial):
    # a covariate recorded at every visit: the baseline value defines the subgroups (and a note says so)
    data = trial.data.copy()
    base = data["pain"].where(data["visit"] == 0).groupby(data["subject"]).transform("first")
    data["severe"] = np.where(base >= 7, "severe", "moderate")
    data.loc[data["visit"] > 0, "severe"] = "changed later"
    res = subgroups(ct.Trial(data, trial.instruments), "pain", 12, by=["severe"])
    assert set(res.contrasts.loc[res.contrasts["variable"] == "severe", "level"]) == {"moderate", "severe"}
    assert any("baseline (week 0) value defines" in n for n in res.notes)


def test_cut_points_that_would_be_ignored_are_refused():
    trial = ct.simulate_trial(n_per_arm=30, seed=1)
    with pytest.raises(ct.DataError, match=r"cut points are given for \['age'\], which are not subgroup variables"):
        ct.subgroups(trial, "pain", 12, by=["sex"], cuts={"age": [50]})
    with pytest.raises(ct.DataError, match=r"\['sex'\], which are not numeric"):
        ct.subgroups(trial, "pain", 12, by=["sex"], cuts={"sex": [1]})
