"""Table 1: numbers against hand computation and R (tests/reference/table_one.R), display, suppression, exports.

Tolerances: R reference numbers are printed with 15 significant digits, so they are compared with
``rel=1e-12`` (means, SDs, quartiles, SMDs, Newcombe limits) and ``rel=1e-10`` for Welch t limits and df
(which go through a t quantile). Hand-computed values use exact arithmetic written in the test.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import combotherapy as ct
from combotherapy.arms import arm_order
from combotherapy.instruments import REGISTRY
from combotherapy.privacy.disclosure import complementary_suppression as _suppress

REF = json.loads((REFERENCE / "table_one.json").read_text())
EXP = REF["expected"]


# ------------------------------------------------------------------------------------------------
# building trials directly (subject str, arm ordered categorical, visit float, baseline = visit 0)
# ------------------------------------------------------------------------------------------------
def make_trial(subjects: pd.DataFrame, visit_values: dict[str, dict[float, list]] | None = None,
               instruments: dict | None = None) -> ct.Trial:
    """A Trial from one row per subject (subject-level columns) plus visit-level columns per visit."""
    visit_values = visit_values or {}
    visits = sorted({v for per in visit_values.values() for v in per}) or [0.0]
    frames = []
    for v in visits:
        f = subjects.copy()
        f["visit"] = float(v)
        for col, per in visit_values.items():
            f[col] = per.get(v, [np.nan] * len(f))
        frames.append(f)
    data = pd.concat(frames, ignore_index=True)
    data["subject"] = data["subject"].astype(str)
    arms = arm_order(list(dict.fromkeys(subjects["arm"])))
    data["arm"] = pd.Categorical(data["arm"], categories=arms, ordered=True)
    data = data.sort_values(["subject", "visit"], kind="stable").reset_index(drop=True)
    cols = ["subject", "arm", "visit"] + [c for c in data.columns if c not in ("subject", "arm", "visit")]
    inst = {c: REGISTRY[c] for c in visit_values if c in REGISTRY}
    inst.update(instruments or {})
    return ct.Trial(data[cols], inst)


@pytest.fixture(scope="module")
def ref_trial() -> ct.Trial:
    """The R reference data: four unbalanced arms; crp and pain are visit-level (visit 0 + a decoy visit 12)."""
    d = pd.DataFrame(REF["data"])
    subj = d[["subject", "arm", "age", "sex", "site", "score"]].copy()
    subj["sex"] = subj["sex"].astype("str")
    subj["site"] = pd.Categorical(subj["site"], categories=REF["site_levels"])
    subj["score"] = subj["score"].astype(float)
    # week 12 values differ, so using them instead of the baseline would fail every comparison
    visits = {"crp": {0.0: d["crp"].to_numpy(float), 12.0: d["crp"].to_numpy(float) * 2 + 1},
              "pain": {0.0: d["pain"].to_numpy(float), 12.0: np.zeros(len(d))}}
    return make_trial(subj, visits)


ALL_VARS = ["age", "crp", "pain", "sex", "site", "score"]


def num(t1, variable, arm, statistic, level=None):
    n = t1.numbers
    sel = (n["variable"] == variable) & (n["arm"] == arm) & (n["statistic"] == statistic)
    sel &= n["level"].isna() if level is None else (n["level"] == level)
    assert sel.sum() == 1, (variable, arm, statistic, level)
    return float(n.loc[sel, "value"].iloc[0])


# ------------------------------------------------------------------------------------------------
# against R
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ref_tables(ref_trial):
    arms = REF["arms"]
    return {r: ct.table_one(ref_trial, ALL_VARS, categorical=["score"], reference=r) for r in arms}


def test_continuous_statistics_match_r(ref_tables):
    t1 = ref_tables["control"]
    for var in ("age", "crp", "pain"):
        for grp, expected in EXP["continuous"][var]["groups"].items():
            for stat, value in expected.items():
                assert num(t1, var, grp, stat) == pytest.approx(value, rel=1e-12), (var, grp, stat)
        assert num(t1, var, "overall", "skewness") == pytest.approx(EXP["continuous"][var]["skewness"], rel=1e-12)


def test_categorical_counts_and_percent_match_r(ref_tables):
    t1 = ref_tables["control"]
    for var, per_group in EXP["categorical"].items():
        for grp, e in per_group.items():
            assert num(t1, var, grp, "missing") == e["missing"]
            total = sum(e["counts"].values())
            assert num(t1, var, grp, "n") == total
            for level, count in e["counts"].items():
                assert num(t1, var, grp, "count", level) == count
                assert num(t1, var, grp, "percent", level) == pytest.approx(100 * count / total, rel=1e-12)


def test_smd_all_pairs_match_r_including_multilevel(ref_tables):
    smd = ref_tables["control"].smd
    assert len(smd) == 6 * len(ALL_VARS)  # 4 arms: 6 pairs
    for _, row in smd.iterrows():
        expected = EXP["pairs"][row["contrast"]]["smd"][row["variable"]]
        assert row["smd"] == pytest.approx(expected, rel=1e-12), (row["variable"], row["contrast"])


def test_smd_max_is_largest_pair(ref_tables):
    t1 = ref_tables["control"]
    for var in ALL_VARS:
        largest = max(EXP["pairs"][f"{a} - {b}"]["smd"][var] for a in REF["arms"] for b in REF["arms"] if a != b)
        sel = (t1.numbers["variable"] == var) & (t1.numbers["statistic"] == "smd_max")
        assert float(t1.numbers.loc[sel, "value"].iloc[0]) == pytest.approx(largest, rel=1e-12)
        row = t1.table.loc[t1.table["Characteristic"].str.startswith(t1.variables.set_index("variable").loc[var, "label"])]
        assert row["SMD (max)"].iloc[0] == f"{largest:.3f}"


def test_welch_differences_match_r_every_reference(ref_tables):
    for r, t1 in ref_tables.items():
        diffs = t1.differences[t1.differences["method"] == "Welch t"]
        assert set(diffs["contrast"]) == {f"{a} - {r}" for a in REF["arms"] if a != r}
        for _, row in diffs.iterrows():
            e = EXP["pairs"][row["contrast"]]["welch"][row["variable"]]
            assert row["estimate"] == pytest.approx(e["estimate"], rel=1e-12)
            assert row["se"] == pytest.approx(e["se"], rel=1e-12)
            assert row["df"] == pytest.approx(e["df"], rel=1e-10)
            assert row["ci_low"] == pytest.approx(e["ci_low"], rel=1e-10)
            assert row["ci_high"] == pytest.approx(e["ci_high"], rel=1e-10)


def test_newcombe_differences_match_r_every_reference(ref_tables):
    for r, t1 in ref_tables.items():
        diffs = t1.differences[t1.differences["method"] == "Newcombe hybrid score"]
        assert len(diffs) == 3 * (2 + 4 + 4)  # 3 other arms x (sex 2 + site 4 + score 4 levels)
        assert set(diffs["contrast"]) == {f"{a} - {r}" for a in REF["arms"] if a != r}
        for _, row in diffs.iterrows():
            e = EXP["pairs"][row["contrast"]]["newcombe"][row["variable"]][row["level"]]
            assert row["estimate"] == pytest.approx(e["estimate"], rel=1e-12, abs=1e-15)
            assert row["ci_low"] == pytest.approx(e["ci_low"], rel=1e-12)
            assert row["ci_high"] == pytest.approx(e["ci_high"], rel=1e-12)


def test_alpha_changes_both_interval_kinds(ref_trial):
    t1 = ct.table_one(ref_trial, ["age", "sex"], reference="physio", alpha=0.10)
    w = t1.differences.query("variable == 'age' and contrast == 'combined - physio'").iloc[0]
    e = EXP["pairs"]["combined - physio"]["welch"]["age"]
    assert (w["ci_low"], w["ci_high"]) == (pytest.approx(e["ci_low_90"], rel=1e-10),
                                           pytest.approx(e["ci_high_90"], rel=1e-10))
    nc = t1.differences.query("variable == 'sex' and contrast == 'control - physio' and level == 'male'").iloc[0]
    e = EXP["pairs"]["control - physio"]["newcombe"]["sex"]["male"]
    assert (nc["ci_low"], nc["ci_high"]) == (pytest.approx(e["ci_low_90"], rel=1e-12),
                                             pytest.approx(e["ci_high_90"], rel=1e-12))
    assert "control - physio (90% CI)" in t1.table.columns


def test_welch_agrees_with_scipy(ref_trial):
    t1 = ct.table_one(ref_trial, ["age"], reference="control")
    d = pd.DataFrame(REF["data"])
    x = d.loc[d["arm"] == "acupuncture", "age"].dropna()
    y = d.loc[d["arm"] == "control", "age"].dropna()
    ci = stats.ttest_ind(x, y, equal_var=False).confidence_interval()
    row = t1.differences.query("contrast == 'acupuncture - control'").iloc[0]
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(ci.low, rel=1e-10), pytest.approx(ci.high, rel=1e-10))


# ------------------------------------------------------------------------------------------------
# hand-computed values on a tiny frame
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def tiny() -> ct.Trial:
    subj = pd.DataFrame({
        "subject": [f"p{i}" for i in range(4)] + [f"a{i}" for i in range(5)],
        "arm": ["physio"] * 4 + ["acupuncture"] * 5,
        "age": [1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 6.0, 8.0, 10.0],
        "sex": ["female", "female", "male", None, "female", "male", "male", "male", "female"],
    })
    return make_trial(subj, {"pain": {0.0: [5, 6, 7, np.nan, 1, 2, 3, 4, 5], 4.0: [0] * 9}})


def test_hand_mean_sd_median_quartiles(tiny):
    t1 = ct.table_one(tiny, ["age"], nonnormal=["age"])
    # physio 1,2,3,4: mean 2.5, SD sqrt(5/3); type 7 quartiles: 1 + 0.75 = 1.75, 3 + 0.25 = 3.25
    assert num(t1, "age", "physio", "mean") == 2.5
    assert num(t1, "age", "physio", "sd") == pytest.approx(math.sqrt(5 / 3), rel=1e-14)
    assert num(t1, "age", "physio", "median") == 2.5
    assert num(t1, "age", "physio", "q1") == 1.75
    assert num(t1, "age", "physio", "q3") == 3.25
    # acupuncture 2,4,6,8,10: mean 6, SD sqrt(10), quartiles 4 and 8 (positions 2 and 4 of 5)
    assert num(t1, "age", "acupuncture", "sd") == pytest.approx(math.sqrt(10), rel=1e-14)
    assert (num(t1, "age", "acupuncture", "q1"), num(t1, "age", "acupuncture", "q3")) == (4.0, 8.0)
    # overall 1,2,2,3,4,4,6,8,10: Q1 at position 1 + 8 * 0.25 = 3 -> 2; Q3 at position 7 -> 6
    assert (num(t1, "age", "overall", "q1"), num(t1, "age", "overall", "q3")) == (2.0, 6.0)
    row = t1.table.iloc[0]
    assert row["Characteristic"] == "Age (years), median [Q1, Q3]"
    assert row["acupuncture (n=5)"] == "6.0 [4.0, 8.0]"
    assert row["physio (n=4)"] == "2.5 [1.8, 3.2]"  # 1.75 and 3.25 rounded half-to-even by Python's format
    # SMD: |6 - 2.5| / sqrt((5/3 + 10) / 2)
    assert float(t1.smd["smd"].iloc[0]) == pytest.approx(3.5 / math.sqrt((5 / 3 + 10) / 2), rel=1e-14)
    assert row["SMD"] == f"{3.5 / math.sqrt((5 / 3 + 10) / 2):.3f}"


def test_hand_binary_percentages_smd_and_missing(tiny):
    t1 = ct.table_one(tiny, ["sex"])
    # physio: 2 female, 1 male, 1 missing -> 66.7% / 33.3% of 3 recorded; acupuncture 2 female, 3 male
    tab = t1.table.set_index("Level")
    assert tab.loc["female", "physio (n=4)"] == "2 (66.7)"
    assert tab.loc["male", "acupuncture (n=5)"] == "3 (60.0)"
    assert tab.loc["missing", "physio (n=4)"] == "1 (25.0)"
    assert tab.loc["missing", "acupuncture (n=5)"] == "0 (0.0)"
    assert tab.loc["missing", "Overall (n=9)"] == "1 (11.1)"
    p1, p2 = 1 / 3, 3 / 5  # male
    expected = abs(p1 - p2) / math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    assert float(t1.smd["smd"].iloc[0]) == pytest.approx(expected, rel=1e-12)


def test_baseline_is_visit_zero_and_missing_counted(tiny):
    t1 = ct.table_one(tiny)  # default: covariates then baseline outcomes
    assert list(t1.variables["variable"]) == ["age", "sex", "pain"]
    assert t1.variables.set_index("variable").loc["pain", "source"] == "baseline"
    assert num(t1, "pain", "physio", "mean") == 6.0  # 5, 6, 7 at visit 0; week 4 is all zeros
    assert num(t1, "pain", "physio", "missing") == 1
    assert num(t1, "pain", "acupuncture", "missing") == 0
    pain_rows = t1.table.index[t1.table["Characteristic"].str.startswith("Pain")]
    assert t1.table.loc[pain_rows[0] + 1, "Level"] == "missing"
    # age has no missing value: no missing row follows it
    assert t1.table.loc[1, "Characteristic"].startswith("Sex")


def test_subject_without_baseline_row_counts_as_missing(tiny):
    data = tiny.data[~((tiny.data["subject"] == "a0") & (tiny.data["visit"] == 0))].reset_index(drop=True)
    t1 = ct.table_one(ct.Trial(data, tiny.instruments), ["pain"])
    assert num(t1, "pain", "acupuncture", "missing") == 1
    assert num(t1, "pain", "acupuncture", "n") == 4
    assert t1.n["acupuncture"] == 5


def test_newcombe_published_example():
    """Newcombe (1998) Stat Med 17:873, Table II example (a): 56/70 vs 48/80, method 10: 0.0524 to 0.3339."""
    subj = pd.DataFrame({"subject": [f"s{i}" for i in range(150)],
                         "arm": ["combined"] * 70 + ["physio"] * 80,
                         "responder": ["yes"] * 56 + ["no"] * 14 + ["yes"] * 48 + ["no"] * 32})
    t1 = ct.table_one(make_trial(subj), reference="physio")
    row = t1.differences.query("level == 'yes'").iloc[0]
    assert row["estimate"] == pytest.approx(56 / 70 - 48 / 80, rel=1e-12)
    assert round(row["ci_low"], 4) == 0.0524 and round(row["ci_high"], 4) == 0.3339
    assert t1.table.set_index("Level").loc["yes", "combined - physio (95% CI)"] == "20.0 (5.2, 33.4)"


# ------------------------------------------------------------------------------------------------
# choice of summary, types
# ------------------------------------------------------------------------------------------------
def test_skewness_chooses_median(ref_trial):
    t1 = ct.table_one(ref_trial, ["age", "crp"])
    v = t1.variables.set_index("variable")
    assert abs(v.loc["crp", "skewness"]) > 1 and v.loc["crp", "display"] == "median"
    assert abs(v.loc["age", "skewness"]) < 1 and v.loc["age", "display"] == "mean"
    assert t1.table["Characteristic"].str.contains("median").sum() == 1
    # threshold off: only nonnormal decides; a huge threshold keeps the mean
    assert (ct.table_one(ref_trial, ["crp"], skew_threshold=None).variables["display"] == "mean").all()
    assert (ct.table_one(ref_trial, ["crp"], skew_threshold=50).variables["display"] == "mean").all()
    assert (ct.table_one(ref_trial, ["age"], nonnormal=["age"]).variables["display"] == "median").all()


def test_numeric_named_categorical_and_empty_declared_level(ref_trial):
    t1 = ct.table_one(ref_trial, ["score", "site"], categorical=["score"])
    levels = t1.table["Level"].tolist()
    assert ["1", "2", "3", "4"] == [x for x in levels if x in {"1", "2", "3", "4"}]
    d_row = t1.table.loc[t1.table["Level"] == "D"].iloc[0]
    assert d_row["control (n=14)"] == "0 (0.0)"
    # a numeric column not named categorical is continuous
    assert ct.table_one(ref_trial, ["score"]).variables["kind"].iloc[0] == "continuous"


def test_bool_column_is_categorical():
    subj = pd.DataFrame({"subject": list("abcdef"), "arm": ["physio"] * 3 + ["combined"] * 3,
                         "smoker": [True, False, True, False, False, True]})
    t1 = ct.table_one(make_trial(subj))
    assert t1.variables["kind"].iloc[0] == "categorical"
    assert set(t1.table["Level"]) >= {"True", "False"}


def test_labels_from_instruments_and_overrides():
    subj = pd.DataFrame({"subject": list("abcd"), "arm": ["physio", "physio", "combined", "combined"],
                         "site": ["x", "y", "x", "y"]})
    trial = make_trial(subj, {"eq5d": {0.0: [0.5, 0.6, 0.7, 0.8]}, "odi": {0.0: [30, 40, 50, 60]}})
    chars = ct.table_one(trial, labels={"site": "Recruiting centre"}).table["Characteristic"]
    assert "Recruiting centre, n (%)" in set(chars)
    assert "EQ-5D index, mean (SD)" in set(chars)  # units "index" already in the label
    assert "Oswestry Disability Index (%), mean (SD)" in set(chars)


def test_default_leaves_out_subject_level_outcomes():
    subj = pd.DataFrame({"subject": list("abcd"), "arm": ["physio", "physio", "combined", "combined"],
                         "age": [40.0, 50, 60, 70], "recovery_time": [3.0, 4, 5, 6]})
    trial = make_trial(subj, {"pain": {0.0: [5, 6, 7, 8], 12.0: [1, 2, 3, 4]}},
                       instruments={"recovery_time": REGISTRY["recovery_time"]})
    assert list(ct.table_one(trial).variables["variable"]) == ["age", "pain"]
    assert list(ct.table_one(trial, ["recovery_time"]).variables["source"]) == ["subject"]


# ------------------------------------------------------------------------------------------------
# arms: 2, 3, 4
# ------------------------------------------------------------------------------------------------
def _subset(trial: ct.Trial, arms: list[str]) -> ct.Trial:
    data = trial.data[trial.data["arm"].isin(arms)].copy()
    data["arm"] = pd.Categorical(data["arm"].astype(str), categories=arm_order(arms), ordered=True)
    return ct.Trial(data.reset_index(drop=True), trial.instruments)


@pytest.mark.parametrize("arms", [["physio", "combined"], ["physio", "acupuncture", "combined"],
                                  ["control", "physio", "acupuncture", "combined"]])
def test_columns_for_two_three_four_arms(ref_trial, arms):
    trial = _subset(ref_trial, arms)
    t1 = ct.table_one(trial, ["age", "sex"], reference=arms[0])
    n = {a: int(x) for a, x in zip(REF["arms"], [14, 19, 23, 27])}
    arm_cols = [f"{a} (n={n[a]})" for a in arm_order(arms)]
    others = [a for a in arm_order(arms) if a != arms[0]]
    if len(arms) == 2:
        smd_cols = ["SMD"]
    else:
        smd_cols = [f"SMD {a} vs {arms[0]}" for a in ct_pairs(arms, arms[0])] + ["SMD (max)"]
    assert list(t1.table.columns[:2 + len(arms) + 1]) == ["Characteristic", "Level", *arm_cols,
                                                           f"Overall (n={sum(n[a] for a in arms)})"]
    assert [c for c in t1.table.columns if c.startswith("SMD")] == smd_cols
    assert len([c for c in t1.table.columns if c.endswith("(95% CI)")]) == len(others)
    assert len(t1.smd) == 2 * len(arms) * (len(arms) - 1) // 2
    # SMDs against the reference shown in the table equal R's
    age = t1.table.iloc[0]
    for a in others:
        col = "SMD" if len(arms) == 2 else f"SMD {a} vs {arms[0]}"
        assert age[col] == f"{EXP['pairs'][f'{a} - {arms[0]}']['smd']['age']:.3f}"


def ct_pairs(arms, ref):
    from combotherapy.arms import contrast_pairs
    return [a for a, _ in contrast_pairs(arms, ref)]


def test_smd_reference_defaults_to_first_arm(ref_trial):
    t1 = ct.table_one(_subset(ref_trial, ["physio", "acupuncture", "combined"]), ["age"])
    assert [c for c in t1.table.columns if c.startswith("SMD")] == [
        "SMD combined vs physio", "SMD acupuncture vs physio", "SMD (max)"]
    assert t1.differences.empty and not any(c.endswith("CI)") for c in t1.table.columns)


# ------------------------------------------------------------------------------------------------
# suppression
# ------------------------------------------------------------------------------------------------
def _equations_ok(code: np.ndarray, columns: bool) -> bool:
    rows_ok = all(np.count_nonzero(r) != 1 for r in code)
    cols_ok = all(np.count_nonzero(c) != 1 for c in code.T) if columns else True
    return rows_ok and cols_ok


def test_suppress_primary_and_complementary_in_row():
    # one row: arms 5, 30, 40 and overall 75 -> 5 primary, 30 complementary (next smallest)
    code = _suppress(np.array([[5.0, 30, 40, 75]]), 11, columns_constrained=False)
    assert code.tolist() == [[1, 2, 0, 0]]
    # two small cells already protect each other; zeros are not suppressed
    assert _suppress(np.array([[5.0, 3, 0, 8]]), 11, False).tolist() == [[1, 1, 0, 1]]


def test_suppress_columns_too():
    grid = np.array([[5.0, 40, 45], [50, 20, 70]])  # levels x (arm1, arm2, overall); columns sum to arm n
    code = _suppress(grid, 11, columns_constrained=True)
    assert code[0, 0] == 1
    assert _equations_ok(code, columns=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 40), min_size=2, max_size=4), min_size=2, max_size=5).filter(
    lambda g: len({len(r) for r in g}) == 1), st.integers(2, 15))
def test_suppress_property(cells, k):
    # at least two rows (levels): with one level the only count equals the published arm size
    arms = np.array(cells, dtype=float)
    grid = np.column_stack([arms, arms.sum(axis=1)])
    code = _suppress(grid, k, columns_constrained=True)
    assert np.all(code[(grid >= 1) & (grid < k)] == 1)  # every small count suppressed
    assert _equations_ok(code, columns=True)  # nothing recoverable by one subtraction


SMALL_VISIBLE = re.compile(r"^([1-9]|10)( \(|$)")


def test_table_suppression_end_to_end(ref_trial):
    t1 = ct.table_one(ref_trial, ALL_VARS, categorical=["score"], reference="control", suppress_below=11)
    arm_cols = [c for c in t1.table.columns if "(n=" in c]
    counts = t1.table[t1.table["Level"] != ""][arm_cols]
    assert not counts.map(lambda c: bool(SMALL_VISIBLE.match(c))).any().any()
    assert (counts == "<11").any().any() and (counts == "*").any().any()
    # each variable's count grid obeys the equations: read codes back from the display
    for var in ("sex", "site", "score"):
        sub = t1.numbers[(t1.numbers["variable"] == var) & t1.numbers["statistic"].isin(["count", "missing"])]
        sub = sub[(sub["statistic"] == "count") | (sub["value"].groupby(sub["arm"]).transform("sum") > 0)]
        code = (sub.assign(c=sub["suppression"].map({"primary": 1, "complementary": 2}).fillna(0))
                .pivot_table(index=["statistic", "level"], columns="arm", values="c", dropna=False, aggfunc="first"))
        assert _equations_ok(code.fillna(0).to_numpy(), columns=True), var
    # raw numbers stay available and are flagged
    assert t1.numbers["suppression"].isin(["primary", "complementary"]).any()
    # SMDs and differences of arms with a suppressed cell are withheld
    site = t1.table.index[t1.table["Characteristic"].str.startswith("Site")][0]
    assert t1.table.loc[site, "SMD (max)"] == "*"
    assert "<11" in t1.to_markdown() and "complementary" not in t1.to_markdown()


def test_missing_suppressed_hides_percentages():
    # 30 per arm; physio has 2 missing: showing 10 (35.7) would reveal a denominator of 28
    subj = pd.DataFrame({"subject": [f"s{i}" for i in range(60)], "arm": ["physio"] * 30 + ["combined"] * 30,
                         "sex": (["female"] * 12 + ["male"] * 16 + [None] * 2) + (["female"] * 15 + ["male"] * 15),
                         "age": [np.nan] + list(np.arange(29.0)) + list(np.arange(30.0) + 5)})
    t1 = ct.table_one(make_trial(subj), ["sex", "age"], suppress_below=11, reference="physio")
    tab = t1.table[t1.table["Characteristic"] != "Age (years), mean (SD)"].iloc[:4].set_index("Level")
    assert tab.loc["missing", "physio (n=30)"] == "<11"
    assert tab.loc["female", "physio (n=30)"] in {"12", "*"}
    assert "(" not in tab.loc["male", "physio (n=30)"]
    assert tab.loc["female", "combined (n=30)"] == "15 (50.0)"
    assert tab.loc["female", "combined - physio (95% CI)"] == "*"
    assert t1.table.iloc[0]["SMD"] == "*"
    # a continuous variable keeps its SMD and difference: rounded means/SDs do not reveal the missing count
    age = t1.table.index[t1.table["Characteristic"] == "Age (years), mean (SD)"][0]
    assert t1.table.loc[age + 1, "physio (n=30)"] == "<11" and t1.table.loc[age + 1, "Overall (n=60)"] == "<11"
    assert t1.table.loc[age + 1, "combined (n=30)"] == "0 (0.0)"
    assert t1.table.loc[age, "combined - physio (95% CI)"].startswith("5.5 (")  # 19.5 - 14
    assert t1.table.loc[age, "SMD"] not in {"", "*"}


def test_no_suppression_by_default(tiny):
    t1 = ct.table_one(tiny, ["sex"])
    assert not t1.table.apply(lambda c: c.str.contains("<")).any().any()
    assert t1.numbers["suppression"].isna().all()


# ------------------------------------------------------------------------------------------------
# exports
# ------------------------------------------------------------------------------------------------
def test_exports_contain_the_numbers(ref_trial, tmp_path):
    t1 = ct.table_one(ref_trial, ["age", "sex", "crp"], reference="physio")
    cells = [c for c in t1.table.iloc[:, 2:].to_numpy().ravel() if c]
    assert cells
    md, html, tex = t1.to_markdown(), t1.to_html(), t1.to_latex()
    for c in cells:
        assert c in md and c in html, c
        assert c.replace("%", r"\%") in tex, c
    assert "<table" in html and r"\begin{tabular}" in tex and sum(line.startswith("|---") for line in md.splitlines()) == 1
    assert t1._repr_html_() == html
    assert "Welch" in t1.summary() and t1.table.iloc[0, 2] in t1.summary()
    for suffix in (".md", ".html", ".tex", ".csv"):
        path = t1.save(tmp_path / f"t1{suffix}")
        assert t1.table.iloc[0, 2] in path.read_text()
    with pytest.raises(ValueError, match=r"\.docx"):  # the same exception as every Result
        t1.save(tmp_path / "t1.docx")


def test_csv_round_trips(ref_trial, tmp_path):
    t1 = ct.table_one(ref_trial, ALL_VARS, categorical=["score"], reference="control", suppress_below=11)
    path = t1.to_csv(tmp_path / "t1.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(back, t1.table, check_dtype=False)
    assert isinstance(path, Path) and path == tmp_path / "t1.csv"  # a Path, as every Result.to_csv


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------
def test_unknown_covariate_names_it_with_close_matches(ref_trial):
    with pytest.raises(ct.DataError) as err:
        ct.table_one(ref_trial, ["agee", "sexx", "age", "zzz"])
    msg = str(err.value)
    assert "'agee'" in msg and "did you mean 'age'" in msg
    assert "'sexx'" in msg and "'sex'" in msg
    assert "'zzz'" in msg and "3 problems" in msg


@pytest.mark.parametrize("kwargs, pattern", [
    ({"reference": "surgery"}, r"reference arm 'surgery'.*arms are"),
    ({"alpha": 1.5}, "alpha must be"),
    ({"suppress_below": 1}, "suppress_below must be"),
    ({"suppress_below": 10.5}, "suppress_below must be"),
    ({"skew_threshold": -1}, "skew_threshold"),
    ({"categorical": ["age"], "continuous": ["age"]}, "'age'.*in one only"),
    ({"continuous": ["sex"]}, r"column 'sex'.*holds"),
    ({"nonnormal": ["site"]}, r"column 'site'.*categorical="),
    ({"categorical": ["nope"]}, "'nope'.*not among"),
    ({"labels": {"agee": "Age"}}, r"labels given for \['agee'\]"),
])
def test_bad_options_raise_data_error(ref_trial, kwargs, pattern):
    with pytest.raises(ct.DataError, match=pattern):
        ct.table_one(ref_trial, ["age", "sex", "site"], **kwargs)


def test_key_columns_and_non_trial(ref_trial):
    with pytest.raises(ct.DataError, match="key column"):
        ct.table_one(ref_trial, ["arm"])
    with pytest.raises(ct.DataError, match="needs a ct.Trial"):
        ct.table_one(ref_trial.data)
    with pytest.raises(ct.DataError, match="column names"):
        ct.table_one(ref_trial, [1, 2])


def test_visit_level_variable_without_baseline_rows(tiny):
    data = tiny.data[tiny.data["visit"] != 0].reset_index(drop=True)
    trial = ct.Trial(data, tiny.instruments)
    with pytest.raises(ct.DataError, match="'pain'.*no visit-0"):
        ct.table_one(trial, ["pain"])
    t1 = ct.table_one(trial)  # default: baseline outcomes left out, and said so
    assert list(t1.variables["variable"]) == ["age", "sex"]
    assert any("no visit-0" in n for n in t1.notes)


# ------------------------------------------------------------------------------------------------
# robustness: random small trials (unbalanced arms, arms with every value missing, constant columns)
# ------------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(st.data())
def test_random_trials_never_crash_and_never_show_small_counts(data):
    arms = data.draw(st.sampled_from([["physio", "combined"], ["physio", "acupuncture", "combined"],
                                      ["control", "physio", "acupuncture", "combined"]]))
    sizes = [data.draw(st.integers(1, 25)) for _ in arms]
    n = sum(sizes)
    arm = np.repeat(arms, sizes)
    x = np.array(data.draw(st.lists(st.one_of(st.none(), st.floats(-50, 50)), min_size=n, max_size=n)), dtype=float)
    g = data.draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n))
    subj = pd.DataFrame({"subject": [f"s{i}" for i in range(n)], "arm": arm, "x": x, "g": pd.Series(g, dtype="str")})
    k = data.draw(st.sampled_from([None, 5, 11]))
    ref = data.draw(st.sampled_from([None, *arms]))
    t1 = ct.table_one(make_trial(subj), reference=ref, suppress_below=k)
    assert len(t1.table) >= 2 and t1.table.map(lambda c: isinstance(c, str)).all().all()
    if k is not None:
        counts = t1.table[t1.table["Level"] != ""][[c for c in t1.table.columns if "(n=" in c]]
        small = re.compile(rf"^({'|'.join(str(i) for i in range(1, k))})( \(|$)")
        assert not counts.map(lambda c: bool(small.match(c))).any().any()


def test_single_arm_and_input_untouched(tiny):
    before = tiny.data.copy()
    ct.table_one(tiny, reference="physio", suppress_below=11)
    pd.testing.assert_frame_equal(tiny.data, before)
    one = _subset(tiny, ["physio"])
    t1 = ct.table_one(one, ["age", "sex"])
    assert not any(c.startswith("SMD") for c in t1.table.columns) and t1.smd.empty


def test_numeric_zero_one_code_is_shown_as_counts(tiny):
    # sex coded 1/0 (as in the Vickers trial) was shown as "median [Q1, Q3]" = "1.0 [1.0, 1.0]"
    data = tiny.data.assign(female=(tiny.data["sex"] == "female").astype(float).where(tiny.data["sex"].notna()))
    trial = ct.Trial(data, tiny.instruments)
    t1 = ct.table_one(trial, ["female", "age"])
    assert t1.variables.set_index("variable")["kind"].to_dict() == {"female": "categorical", "age": "continuous"}
    tab = t1.table.set_index("Level")
    assert tab.loc["1", "physio (n=4)"] == "2 (66.7)" and tab.loc["0", "acupuncture (n=5)"] == "3 (60.0)"
    assert any("female: numeric 0/1 code, shown as n (%)" in n for n in t1.notes)
    # named in continuous=, it stays a number
    kept = ct.table_one(trial, ["female"], continuous=["female"])
    assert kept.variables["kind"].tolist() == ["continuous"]
