"""ct.adverse_events against R (fisher.test, poisson.test, hand Wilson/Newcombe) and on bad input.

Reference: tests/reference/safety.R -> safety.json. Tolerances: estimates, intervals and SEs 1e-6 relative (all
closed form or exact quantiles), p-values 1e-4 relative.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, REPO

import combotherapy as ct
from combotherapy.models.safety import adverse_events, noninferiority_rd, rate_ratio_exact

RTOL = 1e-6
P_RTOL = 1e-4
REF = json.loads((REFERENCE / "safety.json").read_text())
DATASETS = {"three_arm": "data/sample/three_arm.csv", "factorial": "data/sample/factorial.csv",
            "unbalanced": "tests/reference/data/safety_unbalanced.csv"}
_SPECIAL = {"Inf": np.inf, "-Inf": -np.inf, "NA": np.nan, "NaN": np.nan}


def frame(records: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(records)
    return out.map(lambda v: _SPECIAL.get(v, v) if isinstance(v, str) else v)


def close(actual, expected, rtol=RTOL, atol=0.0) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=atol)


@pytest.fixture(scope="module", params=list(DATASETS))
def case(request):
    name = request.param
    path = REPO / DATASETS[name]
    ref = REF["datasets"][name]
    assert hashlib.md5(path.read_bytes()).hexdigest() == ref["md5"], (
        f"{path} changed since tests/reference/safety.R was run: rerun it")
    return adverse_events(ct.load(path)), ref


def test_by_arm_matches_r(case):
    res, ref = case
    exp = frame(ref["by_arm"]).set_index("arm")
    got = res.by_arm.set_index("arm").loc[exp.index]
    assert got["n"].tolist() == exp["n"].tolist()
    assert got["patients"].tolist() == exp["patients"].tolist()
    assert got["events"].tolist() == exp["events"].tolist()
    for col in ["proportion", "ci_low", "ci_high", "patient_weeks", "rate", "rate_ci_low", "rate_ci_high"]:
        close(got[col], exp[col])


def test_by_type_matches_r(case):
    res, ref = case
    exp = frame(ref["by_type"]).set_index(["type", "arm"])
    got = res.by_type.set_index(["type", "arm"]).loc[exp.index]
    assert got["patients"].tolist() == exp["patients"].tolist()
    for col in ["proportion", "ci_low", "ci_high", "events", "patient_weeks", "rate", "rate_ci_low", "rate_ci_high"]:
        close(got[col], exp[col], atol=1e-15)


def test_contrasts_match_r(case):
    res, ref = case
    exp = frame(ref["contrasts"]).set_index(["type", "contrast", "measure"])
    got = res.contrasts.set_index(["type", "contrast", "measure"])
    assert sorted(got.index) == sorted(exp.index)
    got = got.loc[exp.index]
    for col in ["estimate", "ci_low", "ci_high"]:
        close(got[col], exp[col], atol=1e-15)
    # the Wald SE of a log ratio with a zero count is infinite in R's formula; the package reports NaN
    finite_se = np.isfinite(exp["se"].astype(float))
    close(got.loc[finite_se, "se"], exp.loc[finite_se, "se"])
    assert got.loc[~finite_se, "se"].isna().all()
    close(got["p"], exp["p"], rtol=P_RTOL, atol=1e-15)
    rr = got.xs("rate_ratio", level="measure")
    finite = np.isfinite(rr["estimate"]) & (rr["estimate"] > 0)
    close(rr.loc[finite, "log_estimate"], np.log(rr.loc[finite, "estimate"]))
    assert rr.loc[~finite, "log_estimate"].isna().all()


def test_holm_adjustment_matches_p_adjust(case):
    res, ref = case
    exp = frame(ref["contrasts"]).set_index(["type", "contrast", "measure"])
    holm = adverse_events(ct.load(REPO / ref["file"]), adjust="holm").contrasts
    got = holm.set_index(["type", "contrast", "measure"]).loc[exp.index]
    close(got["p_adj"], exp["p_holm"], rtol=P_RTOL, atol=1e-15)
    # unadjusted by default
    close(res.contrasts["p_adj"], res.contrasts["p"])


def test_contrast_labels_and_layout(case):
    res, _ = case
    con = res.contrasts
    assert list(con.columns[:5]) == ["type", "contrast", "first", "second", "measure"]
    assert {"estimate", "se", "df", "statistic", "p", "p_adj", "ci_low", "ci_high", "log_estimate"} <= set(con)
    assert con["type"].iloc[0] == "any"
    assert (con["contrast"] == con["first"] + " - " + con["second"]).all()
    assert con.loc[con["type"] == "any", "contrast"].iloc[0] == "combined - physio"


def test_unbalanced_excludes_subject_without_count():
    path = REPO / DATASETS["unbalanced"]
    res = adverse_events(ct.load(path))
    assert res.fitted.excluded["reason"].tolist() == ["no 'adverse_events' count"]
    assert res.fitted.excluded["arm"].tolist() == ["acupuncture"]
    assert res.fitted.n_per_arm["acupuncture"] == 22
    assert REF["datasets"]["unbalanced"]["excluded"] == 1
    text = res.summary()
    assert "Subjects excluded: 1" in text and "Patients with at least one adverse event" in text
    assert "<table" in res._repr_html_()


def test_zero_event_conventions_match_poisson_test():
    ref = frame([REF["zero_second"]]).iloc[0]
    got = rate_ratio_exact(np.array([5.0]), np.array([100.0]), np.array([0.0]), np.array([120.0])).iloc[0]
    assert np.isinf(got["estimate"]) and np.isinf(got["ci_high"])
    close(got["ci_low"], ref["ci_low"])
    close(got["p"], ref["p"], rtol=P_RTOL)
    both = rate_ratio_exact(np.array([0.0]), np.array([10.0]), np.array([0.0]), np.array([12.0])).iloc[0]
    assert both.isna().all()


def test_zero_events_are_flagged_in_notes():
    res = adverse_events(ct.load(REPO / DATASETS["three_arm"]), types=["bruising"])
    row = res.contrasts.query("type == 'bruising' and measure == 'rate_ratio' and contrast == 'combined - physio'")
    assert "second arm" in row["note"].iloc[0] and np.isinf(row["estimate"].iloc[0])
    row = res.contrasts.query("type == 'bruising' and measure == 'rate_ratio' and contrast == 'physio - acupuncture'")
    assert "first arm" in row["note"].iloc[0] and row["estimate"].iloc[0] == 0


# ------------------------------------------------------------------------------------------------
# options
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trial():
    return ct.load(REPO / DATASETS["unbalanced"])


def rebuild(trial, data: pd.DataFrame):
    return ct.Trial(data.reset_index(drop=True), trial.instruments, source="test")


def test_types_by_name_or_column(trial):
    a = adverse_events(trial, types=["bruising", "ae_dizziness"])
    assert a.by_type["type"].unique().tolist() == ["bruising", "dizziness"]
    assert a.contrasts["type"].unique().tolist() == ["any", "bruising", "dizziness"]
    with pytest.raises(ct.DataError, match=r"ae_rash.*not in this trial.*bruising"):
        adverse_events(trial, types=["rash"])


def test_reference_arm(trial):
    res = adverse_events(trial, reference="control")
    labels = res.contrasts.loc[res.contrasts["type"] == "any", "contrast"].unique().tolist()
    assert labels == ["combined - control", "physio - control", "acupuncture - control"]
    with pytest.raises(ct.DataError, match="reference arm 'sham'"):
        adverse_events(trial, reference="sham")


def test_followup_column_and_fixed_weeks(trial):
    subj = trial.data.drop_duplicates("subject")["subject"]
    weeks = pd.Series(np.linspace(2.0, 14.0, len(subj)), index=subj.to_numpy())
    data = trial.data.assign(followup_weeks=weeks.reindex(trial.data["subject"]).to_numpy())
    res = adverse_events(rebuild(trial, data))
    ok = res.subjects
    expected = ok.groupby("arm", sort=False)["followup_weeks"].sum()
    close(res.by_arm.set_index("arm")["patient_weeks"], expected.reindex(res.by_arm["arm"]))
    close(ok["followup_weeks"], weeks.reindex(ok["subject"]))
    assert any("followup_weeks" in n for n in res.notes)
    fixed = adverse_events(trial, followup=12)
    close(fixed.by_arm["patient_weeks"], 12.0 * fixed.by_arm["n"])
    close(fixed.by_arm["rate"], fixed.by_arm["events"] / (12.0 * fixed.by_arm["n"]))
    with pytest.raises(ct.DataError, match="followup"):
        adverse_events(trial, followup=-1)


def test_negative_followup_is_rejected(trial):
    data = trial.data.assign(followup_weeks=np.where(trial.data["subject"] == trial.data["subject"].iloc[0], -2.0,
                                                     10.0))
    with pytest.raises(ct.DataError, match=r"followup_weeks.*missing or negative"):
        adverse_events(rebuild(trial, data))


def test_total_from_types_when_column_absent(trial):
    data = trial.data.drop(columns=["adverse_events"])
    res = adverse_events(rebuild(trial, data))
    full = adverse_events(trial)
    close(res.by_arm["events"], full.by_arm["events"])
    assert any("sum of" in n for n in res.notes)


def test_no_adverse_event_columns(trial):
    cols = [c for c in trial.data.columns if c.startswith("ae_")] + ["adverse_events"]
    with pytest.raises(ct.DataError, match="adverse_events.*not in this trial"):
        adverse_events(rebuild(trial, trial.data.drop(columns=cols)))


def test_counts_not_whole_numbers(trial):
    data = trial.data.copy()
    first = data["subject"].unique()[:2]
    data.loc[data["subject"].isin(first), "ae_bruising"] = 0.5
    with pytest.raises(ct.DataError, match=rf"ae_bruising.*not a whole number.*subjects {first[0]}, {first[1]}\]"):
        adverse_events(rebuild(trial, data))


def test_negative_and_text_counts(trial):
    data = trial.data.copy()
    data["adverse_events"] = data["adverse_events"].astype(object)
    s = data["subject"].unique()
    data.loc[data["subject"] == s[0], "adverse_events"] = -1
    data.loc[data["subject"] == s[1], "adverse_events"] = "two"
    with pytest.raises(ct.DataError) as err:
        adverse_events(rebuild(trial, data))
    msg = str(err.value)
    assert "negative" in msg and "not a number" in msg and s[0] in msg and s[1] in msg


def test_total_below_sum_of_types(trial):
    data = trial.data.copy()
    s = data["subject"].unique()[4]
    data.loc[data["subject"] == s, "ae_dizziness"] = data.loc[data["subject"] == s, "adverse_events"] + 1
    with pytest.raises(ct.DataError, match=rf"adverse_events.*smaller than the sum.*{s}"):
        adverse_events(rebuild(trial, data))


def test_count_varying_within_subject(trial):
    data = trial.data.copy()
    s = data["subject"].unique()[6]
    rows = np.flatnonzero(data["subject"] == s)
    data.loc[rows[-1], "adverse_events"] = data.loc[rows[-1], "adverse_events"] + 3
    with pytest.raises(ct.DataError, match=rf"adverse_events.*different values within a subject.*{s}"):
        adverse_events(rebuild(trial, data))


def test_bad_arguments(trial):
    with pytest.raises(ct.DataError, match="alpha"):
        adverse_events(trial, alpha=1.5)
    with pytest.raises(ct.DataError, match="adjust"):
        adverse_events(trial, adjust="tukey")
    with pytest.raises(ct.DataError, match="ct.Trial"):
        adverse_events(trial.data)


def test_alpha_changes_interval_width(trial):
    narrow = adverse_events(trial, alpha=0.2).by_arm
    wide = adverse_events(trial).by_arm
    assert ((narrow["ci_high"] - narrow["ci_low"]) < (wide["ci_high"] - wide["ci_low"])).all()
    close(narrow["proportion"], wide["proportion"])


# ------------------------------------------------------------------------------------------------
# non-inferiority of the risk difference (the claims report's safety test)
# ------------------------------------------------------------------------------------------------
NI = json.loads((REFERENCE / "noninferiority.json").read_text())


def test_noninferiority_matches_restricted_mle_found_numerically_in_r():
    """Farrington-Manning: the closed-form cubic root against R's numerical restricted maximum (optimize)."""
    cases = pd.DataFrame(NI["cases"])
    got = pd.concat([noninferiority_rd(c.x1, c.n1, c.x2, c.n2, c.margin) for c in cases.itertuples()],
                    ignore_index=True)
    close(got["estimate"], cases["estimate"], atol=1e-15)
    close(got[["se", "statistic"]], cases[["se", "statistic"]])
    close(got["p"], cases["p"], rtol=P_RTOL)


def test_noninferiority_counts_come_from_the_sample_files():
    for c in (c for c in NI["cases"] if "file" in c):
        res = adverse_events(ct.load(REPO / c["file"])).by_arm.set_index("arm")
        assert [res.loc[c["first"], "patients"], res.loc[c["first"], "n"], res.loc[c["second"], "patients"],
                res.loc[c["second"], "n"]] == [c["x1"], c["n1"], c["x2"], c["n2"]]


def test_noninferiority_with_no_events_is_shown_in_a_large_trial_and_bad_margin():
    # a Wald test has se = 0 here and cannot decide; the score test's null SE is positive
    out = noninferiority_rd([0, 0], [300, 10], [0, 0], [300, 10], 0.05)
    assert out["p"].iloc[0] < 1e-3 and out["p"].iloc[1] > 0.05
    with pytest.raises(ct.DataError, match="margin"):
        noninferiority_rd(1, 10, 1, 10, 5)


# --- covariate-adjusted rate ratios (issue 9 item 5): tests/reference/safety_adjusted.R --------------------------
REF_ADJ = json.loads((REPO / "tests/reference/safety_adjusted.json").read_text())
ADJ_FILES = {"safety_unbalanced.csv": REPO / "tests/reference/data/safety_unbalanced.csv",
             "factorial.csv": REPO / "data/sample/factorial.csv"}


@pytest.mark.parametrize("case", list(REF_ADJ["cases"]))
def test_adjusted_rate_ratios_match_r(case):
    ref = REF_ADJ["cases"][case]
    path = ADJ_FILES[ref["file"]]
    assert hashlib.md5(path.read_bytes()).hexdigest() == ref["md5"], f"{path} changed: rerun safety_adjusted.R"
    res = adverse_events(ct.load(path), covariates=ref["covariates"], family=ref["family"])
    got = res.contrasts.loc[res.contrasts["measure"] == "adjusted_rate_ratio"]
    exp = pd.DataFrame(ref["rate_ratios"])
    assert got["contrast"].tolist() == exp["contrast"].tolist()
    assert (got["type"] == "any").all()
    tol = 1e-4 if ref["family"] == "negbin" else 1e-6
    close(got[["estimate", "log_estimate", "se", "ci_low", "ci_high"]].to_numpy(),
          exp[["estimate", "log_estimate", "se", "ci_low", "ci_high"]].to_numpy(), rtol=tol)
    close(got["p"].to_numpy(), exp["p"].to_numpy(), rtol=1e-4)
    assert res.fitted.extra["covariates"] == ref["covariates"]


def test_adjusted_negbin_without_overdispersion_falls_back_to_poisson_and_says_so():
    res = adverse_events(ct.load(ADJ_FILES["safety_unbalanced.csv"]), covariates=["age", "sex", "pain_duration"])
    assert any("Poisson regression" in n and "runs to infinity" in n for n in res.fitted.notes)
    assert any("leave out 13 subject(s) with 0 weeks of follow-up" in n for n in res.fitted.notes)


def test_without_covariates_no_adjusted_rows():
    res = adverse_events(ct.load(ADJ_FILES["factorial.csv"]))
    assert "adjusted_rate_ratio" not in set(res.contrasts["measure"])


def test_adjusted_model_is_the_results_inference():
    res = adverse_events(ct.load(ADJ_FILES["factorial.csv"]), covariates=["age", "C(site)"], family="poisson")
    rows = res.contrasts.loc[res.contrasts["measure"] == "adjusted_rate_ratio"].set_index(["first", "second"])
    via = res.compare(adjust="none").set_index(["first", "second"])
    np.testing.assert_allclose(via.loc[rows.index, "estimate"], rows["estimate"], rtol=1e-12)
    assert res.better == "lower" and adverse_events(ct.load(ADJ_FILES["factorial.csv"])).inference is None
