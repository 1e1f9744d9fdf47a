"""ct.responders: classification, per-arm counts, the four effect measures, and bad input.

Numbers are checked against tests/reference/responders.json, made by tests/reference/responders.R
(hand formulas for Wilson/Newcombe/Katz, glm(binomial) + emmeans for the baseline-adjusted odds
ratio). Tolerances: estimates, SEs and limits 1e-6 relative; p-values 1e-4 relative.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, REPO

import combotherapy as ct
from combotherapy.arms import arm_order
from combotherapy.instruments import REGISTRY, Instrument
from combotherapy.models.responders import MEASURES, ResponderResult, responders
from combotherapy.results import Result

REF = json.loads((REFERENCE / "responders.json").read_text())
CASES = REF["cases"]
RTOL, PTOL = 1e-6, 1e-4
UNBALANCED = REFERENCE / "data" / "responders_unbalanced.csv"
#: responders.R names the missing-data rules as the package did before the shared vocabulary
R_MISSING = {"complete": "exclude", "nonresponder": "non-responder"}


def make_trial(frame: pd.DataFrame, outcomes=("pain", "rom"), instruments=None) -> ct.Trial:
    """A Trial built directly from a canonical long frame (the loader is tested elsewhere)."""
    d = frame.copy()
    d["subject"] = d["subject"].astype("str")
    d["arm"] = pd.Categorical(d["arm"].astype("str"), categories=arm_order(list(d["arm"].unique())), ordered=True)
    d["visit"] = d["visit"].astype(float)
    inst = instruments or {o: REGISTRY[o] for o in outcomes}
    return ct.Trial(d.sort_values(["subject", "visit"]).reset_index(drop=True), inst)


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"subject": "str"})


@pytest.fixture(scope="module")
def unbalanced() -> pd.DataFrame:
    return read(UNBALANCED)


@pytest.fixture(scope="module")
def trial(unbalanced) -> ct.Trial:
    return make_trial(unbalanced)


def case_trial(args: dict) -> ct.Trial:
    path = REPO / args["path"]
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    assert digest == args["md5"], (f"{args['path']} changed since tests/reference/responders.json was made; "
                                   f"rerun: Rscript tests/reference/responders.R")
    d = read(path)
    if args.get("drop_baseline_rows"):
        d = d.loc[~(d["subject"].isin(args["drop_baseline_rows"]) & (d["visit"] == 0))]
    if args.get("blank_baseline"):
        d.loc[d["subject"].isin(args["blank_baseline"]) & (d["visit"] == 0), args["outcome"]] = np.nan
    return make_trial(d, outcomes=("pain", "rom"))


def run_case(args: dict) -> ResponderResult:
    return responders(case_trial(args), args["outcome"], args["visit"], threshold=args["threshold"],
                      relative=args["relative"], missing=R_MISSING[args["missing"]], reference=args.get("reference"),
                      alpha=args["alpha"], adjust=args["adjust"])


def col(ref: dict, name: str) -> np.ndarray:
    """A numeric column of the R fixture; jsonlite writes NA, NaN, Inf and -Inf as strings."""
    special = {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf, None: np.nan}
    return np.array([special[v] if v is None or isinstance(v, str) else v for v in ref[name]], dtype=float)


# --------------------------------------------------------------------------------------------
# against R
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_arms_match_r(name):
    ref = CASES[name]
    res = run_case(ref["args"])
    arms = res.by_arm
    assert list(arms["arm"]) == ref["arms"]["arm"]
    np.testing.assert_array_equal(arms["n"], ref["arms"]["n"])
    np.testing.assert_array_equal(arms["responders"], ref["arms"]["responders"])
    for c in ("proportion", "ci_low", "ci_high"):
        np.testing.assert_allclose(arms[c], col(ref["arms"], c), rtol=RTOL, atol=1e-12, err_msg=c)


@pytest.mark.parametrize("name", list(CASES))
def test_contrasts_match_r(name):
    ref = CASES[name]
    res = run_case(ref["args"])
    r = pd.DataFrame({k: v for k, v in ref["contrasts"].items()})
    got = res.contrasts.set_index(["contrast", "measure"]).loc[list(zip(r["contrast"], r["measure"]))]
    assert len(res.contrasts) == len(r)   # nothing more, nothing less
    for c in ("estimate", "se", "statistic", "ci_low", "ci_high", "log_estimate"):
        expected = col(ref["contrasts"], c)
        np.testing.assert_allclose(got[c].to_numpy(float), expected, rtol=RTOL, atol=1e-12, err_msg=c)
    for c in ("p", "p_adj"):
        np.testing.assert_allclose(got[c].to_numpy(float), col(ref["contrasts"], c), rtol=PTOL, atol=1e-14,
                                   err_msg=c)
    corrected = np.array(ref["contrasts"]["corrected"], dtype=bool)
    assert list(got["note"].str.contains("0.5 added").to_numpy()) == list(corrected)
    assert sorted(res.fitted.extra["logistic"]["arms"]) == sorted(ref["logistic_arms"])


def test_reference_covers_the_required_situations():
    args = [c["args"] for c in CASES.values()]
    assert any(a["missing"] == "complete" for a in args) and any(a["missing"] == "nonresponder" for a in args)
    assert any(a.get("reference") for a in args) and {a["adjust"] for a in args} >= {"none", "holm", "bonferroni"}
    assert any(any(c["contrasts"]["corrected"]) for c in CASES.values())
    assert any(a.get("drop_baseline_rows") for a in args)


# --------------------------------------------------------------------------------------------
# classification
# --------------------------------------------------------------------------------------------
def test_exact_relative_ties_are_responders(trial):
    # U003 and U030: pain 10 -> 7 (exactly 30 %); U090: 10 -> 5 (exactly 50 %). In floating point
    # 0.3 * 10 = 3.0000000000000004 > 3, so without the tie rule they would be non-responders.
    res = responders(trial, "pain", 12, threshold=0.3, relative=True)
    s = res.subjects.set_index("subject")
    assert s.loc[["U003", "U030", "U090"], "baseline"].tolist() == [10, 10, 10]
    assert s.loc[["U003", "U030"], "value"].tolist() == [7, 7]
    assert (s.loc[["U003", "U030", "U090"], "responder"] == 1).all()
    half = responders(trial, "pain", 12, threshold=0.5, relative=True).subjects.set_index("subject")
    assert half.loc["U090", "responder"] == 1 and half.loc["U003", "responder"] == 0


def test_counts_follow_the_missing_rule(trial, unbalanced):
    wk12 = unbalanced.loc[unbalanced["visit"] == 12]
    missing = wk12.loc[wk12["pain"].isna()].groupby("arm").size()
    total = unbalanced.drop_duplicates("subject").groupby("arm").size()
    nr = responders(trial, "pain", 12, threshold=2).by_arm.set_index("arm")
    cc = responders(trial, "pain", 12, threshold=2, missing="exclude").by_arm.set_index("arm")
    for arm in total.index:
        m = int(missing.get(arm, 0))
        assert nr.loc[arm, "missing_at_visit"] == m == cc.loc[arm, "missing_at_visit"]
        assert nr.loc[arm, "n"] == total[arm]          # missing counted as non-responders
        assert cc.loc[arm, "n"] == total[arm] - m      # missing dropped
        assert nr.loc[arm, "responders"] == cc.loc[arm, "responders"]
    res = responders(trial, "pain", 12, threshold=2)
    assert any("counted as non-responders" in n for n in res.notes)
    assert res.fitted.excluded.empty
    cc_res = responders(trial, "pain", 12, threshold=2, missing="exclude")
    assert len(cc_res.fitted.excluded) == int(missing.sum())
    assert set(cc_res.fitted.excluded["reason"]) == {"excluded: no value at visit"}


def test_absent_rows_count_like_blank_values(unbalanced, trial):
    # a follow-up row that is missing altogether is the same as a row with a blank value
    blank = (unbalanced["visit"] == 12) & unbalanced["pain"].isna()
    t = make_trial(unbalanced.loc[~blank])
    for missing in ("non-responder", "exclude"):
        a = responders(trial, "pain", 12, threshold=2, missing=missing)
        b = responders(t, "pain", 12, threshold=2, missing=missing)
        pd.testing.assert_frame_equal(a.by_arm, b.by_arm)
        pd.testing.assert_frame_equal(a.contrasts, b.contrasts)


def test_subject_table_agrees_with_arm_counts(trial):
    res = responders(trial, "rom", 12, threshold=10)
    by_arm = res.subjects.groupby("arm", observed=True)["responder"].agg(["sum", "count"])
    arms = res.by_arm.set_index("arm")
    np.testing.assert_array_equal(by_arm.loc[arms.index, "sum"], arms["responders"])
    np.testing.assert_array_equal(by_arm.loc[arms.index, "count"], arms["n"])
    assert res.fitted.n_per_arm == dict(zip(res.by_arm["arm"], res.by_arm["n"]))


def test_zero_baseline_cannot_be_relative_responder(trial):
    res = responders(trial, "pain", 12, threshold=0.3, relative=True)
    s = res.subjects.set_index("subject")
    assert s.loc["U070", "baseline"] == 0 and s.loc["U070", "responder"] == 0
    assert s.loc["U070", "status"].startswith("non-responder: baseline 0")
    assert res.by_arm.set_index("arm").loc["acupuncture", "zero_baseline"] == 1
    assert any("Baseline 0" in n for n in res.notes)
    # an absolute threshold has no such problem
    assert responders(trial, "pain", 12, threshold=2).by_arm["zero_baseline"].sum() == 0


def test_direction_follows_the_instrument(unbalanced):
    # ROM (higher is better) and its negation declared "lower is better" must classify identically
    neg = unbalanced.assign(rom_neg=-unbalanced["rom"])
    inst = {"rom": REGISTRY["rom"], "rom_neg": Instrument(better="lower", units="degrees", label="negated ROM")}
    t = make_trial(neg, instruments=inst)
    a = responders(t, "rom", 12, threshold=10)
    b = responders(t, "rom_neg", 12, threshold=10)
    pd.testing.assert_frame_equal(a.by_arm, b.by_arm)
    np.testing.assert_allclose(a.contrasts["estimate"], b.contrasts["estimate"], rtol=1e-6)
    # and a lower-is-better reading of ROM gives different responders
    flipped = t.with_outcomes(rom=replace(REGISTRY["rom"], better="lower"))
    assert responders(flipped, "rom", 12, threshold=10).by_arm["responders"].sum() < a.by_arm["responders"].sum()


def test_missing_baseline_is_an_error_unless_complete(unbalanced):
    d = unbalanced.loc[~(unbalanced["subject"].isin(["U005", "U041"]) & (unbalanced["visit"] == 0))].copy()
    d.loc[(d["subject"] == "U066") & (d["visit"] == 0), "pain"] = np.nan
    t = make_trial(d)
    with pytest.raises(ct.DataError, match=r"3 subjects have no baseline.*U005, U041, U066.*missing='exclude'"):
        responders(t, "pain", 12, threshold=2)
    res = responders(t, "pain", 12, threshold=2, missing="exclude")
    ex = res.fitted.excluded
    assert set(ex.loc[ex["reason"] == "excluded: no baseline", "subject"]) == {"U005", "U041", "U066"}
    assert res.by_arm["no_baseline"].sum() == 3
    assert any("No baseline value: excluded" in n and "U005" in n for n in res.notes)


# --------------------------------------------------------------------------------------------
# contrasts: structure, zero cells, adjustment
# --------------------------------------------------------------------------------------------
def test_contrast_table_shape_and_labels(trial):
    res = responders(trial, "pain", 12, threshold=2)
    labels = ["combined - physio", "combined - acupuncture", "combined - control", "physio - acupuncture",
              "physio - control", "acupuncture - control"]
    assert list(dict.fromkeys(res.contrasts["contrast"])) == labels
    assert res.contrasts.groupby("contrast", sort=False)["measure"].apply(tuple).tolist() == [MEASURES] * 6
    for c in ("estimate", "se", "df", "statistic", "p", "p_adj", "ci_low", "ci_high", "log_estimate", "note"):
        assert c in res.contrasts.columns
    ratio = res.contrasts["measure"].isin(["risk_ratio", "odds_ratio"])
    np.testing.assert_allclose(np.log(res.contrasts.loc[ratio, "estimate"]),
                               res.contrasts.loc[ratio, "log_estimate"], rtol=1e-12)
    ref = responders(trial, "pain", 12, threshold=2, reference="control")
    assert list(dict.fromkeys(ref.contrasts["contrast"])) == ["combined - control", "physio - control",
                                                              "acupuncture - control"]


def test_nnt_is_inverse_risk_difference(trial):
    res = responders(trial, "pain", 12, threshold=0.3, relative=True)
    c = res.contrasts.set_index(["contrast", "measure"])
    for pair in dict.fromkeys(res.contrasts["contrast"]):
        rd, nnt = c.loc[(pair, "risk_difference")], c.loc[(pair, "nnt")]
        assert nnt["estimate"] == pytest.approx(1 / rd["estimate"])
        assert nnt["ci_low"] == pytest.approx(1 / rd["ci_high"]) and nnt["ci_high"] == pytest.approx(1 / rd["ci_low"])
        through_infinity = rd["ci_low"] < 0 < rd["ci_high"]
        assert ("∞" in nnt["note"]) == through_infinity
        assert (nnt["ci_low"] > nnt["ci_high"]) == through_infinity


def test_zero_cells(trial):
    res = responders(trial, "pain", 12, threshold=6, missing="exclude")
    arms = res.by_arm.set_index("arm")
    assert arms.loc["control", "responders"] == 0 and arms.loc["acupuncture", "responders"] == 0
    c = res.contrasts.set_index(["contrast", "measure"])
    # one zero: corrected risk ratio, said so
    assert "0.5 added" in c.loc[("combined - control", "risk_ratio"), "note"]
    assert np.isfinite(c.loc[("combined - control", "risk_ratio"), "estimate"])
    # two zeros: no ratio at all
    rr = c.loc[("acupuncture - control", "risk_ratio")]
    assert np.isnan(rr["estimate"]) and "no responders in either arm" in rr["note"]
    # the risk difference is always defined
    assert c.loc[("acupuncture - control", "risk_difference"), "estimate"] == 0
    # odds ratios involving an arm without responders are not estimable; the others are
    odds = c.xs("odds_ratio", level="measure")
    assert odds.loc["acupuncture - control", "note"].startswith("not estimable")
    assert np.isnan(odds.loc["combined - control", "estimate"])
    assert np.isfinite(odds.loc["combined - physio", "estimate"])
    assert res.fitted.extra["logistic"]["not_estimable"] == ["control", "acupuncture"]
    assert any("Odds ratio: not estimable" in n for n in res.notes)


def test_perfect_separation_by_baseline_is_a_model_error():
    # within each arm, only subjects with high baseline respond: baseline separates the outcome
    rows = []
    for i, arm in enumerate(["physio"] * 6 + ["combined"] * 6):
        base = 3.0 + (i % 6)
        post = base - (3 if base >= 6 else 0)
        rows += [(f"S{i:02d}", arm, 0.0, base), (f"S{i:02d}", arm, 8.0, post)]
    d = pd.DataFrame(rows, columns=["subject", "arm", "visit", "pain"])
    t = make_trial(d, outcomes=["pain"])
    with pytest.raises(ct.ModelError, match="separation.*Firth"):
        responders(t, "pain", 8, threshold=2)


def test_constant_baseline_is_a_model_error(unbalanced):
    d = unbalanced.copy()
    d.loc[d["visit"] == 0, "pain"] = 7.0
    with pytest.raises(ct.ModelError, match="same for every subject"):
        responders(make_trial(d), "pain", 12, threshold=2)


def test_adjustment(trial):
    none = responders(trial, "pain", 12, threshold=2, adjust="none").contrasts
    bonf = responders(trial, "pain", 12, threshold=2, adjust="bonferroni").contrasts
    holm = responders(trial, "pain", 12, threshold=2, adjust="holm").contrasts
    np.testing.assert_allclose(none["p"], none["p_adj"], equal_nan=True)
    rd = none["measure"] == "risk_difference"
    np.testing.assert_allclose(bonf.loc[rd, "p_adj"], np.minimum(1, 6 * none.loc[rd, "p"]))
    assert (holm.loc[rd, "p_adj"] <= bonf.loc[rd, "p_adj"] + 1e-15).all()
    assert (holm.loc[rd, "p_adj"] >= none.loc[rd, "p"] - 1e-15).all()
    # Bonferroni widens the intervals; Holm leaves them alone (and says so)
    assert (bonf.loc[rd, "ci_low"] < none.loc[rd, "ci_low"]).all()
    pd.testing.assert_series_equal(holm["ci_low"], none["ci_low"])
    assert "Holm adjusts p-values only" in responders(trial, "pain", 12, threshold=2, adjust="holm").fitted.ci_adjust


# --------------------------------------------------------------------------------------------
# record, text, html
# --------------------------------------------------------------------------------------------
def test_record_summary_and_html(trial):
    res = responders(trial, "pain", 12, threshold=0.3, relative=True)
    assert isinstance(res, Result)
    assert (res.threshold, res.relative, res.missing) == (0.3, True, "non-responder")
    assert res.fitted.outcome == "pain" and res.fitted.visit == 12
    text = res.summary()
    assert "at least 30% of the baseline value" in text and "lower is better" in text
    assert "counted as non-responders" in text and "Newcombe" in text
    assert "combined - physio" in text
    html = res._repr_html_()
    assert "<table" in html and "combined - physio" in html
    assert res.to_frame()["table"].unique().tolist() == ["by_arm", "contrasts"]


def test_public_name():
    assert ct.responders is responders


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    ({"outcome": "odi"}, "not in this trial"),
    ({"outcome": "age"}, "not an outcome"),
    ({"visit": 0}, "baseline; choose a follow-up"),
    ({"visit": 5}, "visit 5 is not in this trial"),
    ({"threshold": 0}, "positive number"),
    ({"threshold": -2}, "positive number"),
    ({"threshold": float("nan")}, "positive number"),
    ({"threshold": "2"}, "positive number"),
    ({"threshold": 1.5, "relative": True}, "more than 100%"),
    ({"missing": "impute"}, "missing='impute' is not known"),
    ({"adjust": "tukey"}, "adjust='tukey' is not known"),
    ({"alpha": 1.2}, "alpha"),
    ({"reference": "sham"}, "reference arm 'sham'"),
])
def test_bad_arguments(trial, kwargs, match):
    args = {"outcome": "pain", "visit": 12, "threshold": 2, **kwargs}
    with pytest.raises(ct.DataError, match=match):
        responders(trial, args.pop("outcome"), args.pop("visit"), **args)


def test_subject_level_outcome_rejected(unbalanced):
    d = unbalanced.assign(recovery_time=5.0)
    t = make_trial(d, instruments={"pain": REGISTRY["pain"], "recovery_time": REGISTRY["recovery_time"]})
    with pytest.raises(ct.DataError, match="once per subject"):
        responders(t, "recovery_time", 12, threshold=1)


def test_negative_baseline_with_relative_threshold(unbalanced):
    d = unbalanced.assign(eq5d=np.where(unbalanced["subject"] == "U010", -0.1, 0.5) + unbalanced["visit"] / 100)
    t = make_trial(d, instruments={"eq5d": REGISTRY["eq5d"]})
    with pytest.raises(ct.DataError, match="negative baseline.*U010.*relative=False"):
        responders(t, "eq5d", 12, threshold=0.3, relative=True)
    assert responders(t, "eq5d", 12, threshold=0.1).by_arm["n"].sum() == 126


def test_arm_with_too_few_subjects(unbalanced):
    keep = unbalanced["arm"] != "control"
    d = pd.concat([unbalanced.loc[keep], unbalanced.loc[unbalanced["subject"] == "U001"]])
    t = make_trial(d)
    with pytest.raises(ct.DataError, match="fewer than 2 subjects.*'control' \\(1\\)"):
        responders(t, "pain", 12, threshold=2)


def test_duplicate_rows_at_visit(unbalanced):
    d = pd.concat([unbalanced, unbalanced.loc[(unbalanced["subject"] == "U007") & (unbalanced["visit"] == 12)]])
    with pytest.raises(ct.DataError, match="U007 have more than one row at week 12"):
        responders(make_trial(d), "pain", 12, threshold=2)


def test_all_values_missing_at_the_visit_is_an_error(unbalanced):
    # with missing='nonresponder' every subject used to count as a non-responder: all-zero arms, no error
    d = unbalanced.copy()
    d.loc[d["visit"] == 12, "pain"] = np.nan
    for rule in ("non-responder", "exclude"):
        with pytest.raises(ct.DataError, match="column 'pain': every value at week 12 is missing"):
            responders(make_trial(d), "pain", 12, threshold=2, missing=rule)


def test_arm_with_fewer_than_2_observed_values_is_an_error_even_when_missing_counts_as_failure(unbalanced):
    d = unbalanced.copy()
    control = d.loc[d["arm"] == "control", "subject"].unique()[1:]
    d.loc[d["subject"].isin(control) & (d["visit"] == 12), "pain"] = np.nan
    with pytest.raises(ct.DataError, match=r"fewer than 2 subjects with a 'pain' value at week 12: 'control' \(1\)"):
        responders(make_trial(d), "pain", 12, threshold=2)


# --- covariates: adjusted odds ratio, standardised risk difference and ratio (tests/reference/responders_adjusted.R)
REF_ADJ = json.loads((REFERENCE / "responders_adjusted.json").read_text())
ADJ_FILES = {"safety_unbalanced.csv": REFERENCE / "data" / "safety_unbalanced.csv",
             "factorial.csv": REPO / "data" / "sample" / "factorial.csv"}


@pytest.fixture(scope="module", params=["unbalanced", "factorial", "factorial_odi"])
def adjusted(request):
    ref = REF_ADJ[request.param]
    path = ADJ_FILES[ref["file"]]
    assert hashlib.md5(path.read_bytes()).hexdigest() == ref["md5"], f"{path} changed: rerun responders_adjusted.R"
    res = responders(ct.load(path), ref["outcome"], ref["visit"], threshold=ref["threshold"],
                     relative=ref["relative"], covariates=ref["covariates"])
    return res, ref


def test_adjusted_measures_match_R(adjusted):
    res, ref = adjusted
    assert res.fitted.n_per_arm == ref["n_per_arm"]
    assert dict(zip(res.by_arm["arm"], res.by_arm["responders"])) == ref["responders"]
    exp = pd.DataFrame(ref["contrasts"]).set_index("contrast")
    con = res.contrasts.set_index(["measure", "contrast"])
    rd = con.loc["adjusted_risk_difference"].loc[exp.index]
    np.testing.assert_allclose(rd[["estimate", "se", "ci_low", "ci_high"]],
                               exp[["rd", "rd_se", "rd_low", "rd_high"]], rtol=RTOL, atol=1e-9)  # limits near 0
    np.testing.assert_allclose(rd["p"], exp["rd_p"], rtol=PTOL)
    rr = con.loc["adjusted_risk_ratio"].loc[exp.index]
    np.testing.assert_allclose(rr[["estimate", "log_estimate", "se", "ci_low", "ci_high"]],
                               exp[["rr", "rr_log", "rr_se", "rr_low", "rr_high"]], rtol=RTOL)
    np.testing.assert_allclose(rr["p"], exp["rr_p"], rtol=PTOL)
    orr = con.loc["odds_ratio"].loc[exp.index]
    np.testing.assert_allclose(orr[["log_estimate", "se"]], exp[["or_log", "or_se"]], rtol=RTOL)
    np.testing.assert_allclose(orr["p"], exp["or_p"], rtol=PTOL)
    std = pd.DataFrame(ref["standardised"])
    assert res.standardised["arm"].tolist() == std["arm"].tolist()
    np.testing.assert_allclose(res.standardised[["estimate", "se", "ci_low", "ci_high"]],
                               std[["estimate", "se", "ci_low", "ci_high"]], rtol=RTOL)


def test_adjusted_record_and_exclusions(adjusted):
    res, ref = adjusted
    assert res.fitted.extra["covariates"] == ref["covariates"]
    assert all(f"+ {c}" in res.fitted.extra["logistic"]["formula"] for c in ref["covariates"])
    if "pain_duration" in ref["covariates"]:
        assert "excluded: covariate 'pain_duration' missing" in set(res.fitted.excluded["reason"])
    assert "standardised" in res.frames() and "g-computation" in res.summary()


def test_without_covariates_the_tables_are_unchanged():
    path = ADJ_FILES["factorial.csv"]
    plain = responders(ct.load(path), "pain", 12, threshold=2)
    assert plain.standardised is None and "standardised" not in plain.frames()
    assert plain.contrasts["measure"].unique().tolist() == list(MEASURES)
    std = responders(ct.load(path), "pain", 12, threshold=2, standardise=True)
    assert std.contrasts["measure"].unique().tolist()[-2:] == ["adjusted_risk_difference", "adjusted_risk_ratio"]
    same = plain.contrasts.set_index(["contrast", "measure"])
    again = std.contrasts.set_index(["contrast", "measure"]).loc[same.index]
    pd.testing.assert_frame_equal(same, again)


def test_bootstrap_is_seeded_and_close_to_the_delta_method():
    trial = ct.load(ADJ_FILES["factorial.csv"])
    kw = dict(threshold=2, covariates=["age", "sex"], interval="bootstrap", n_boot=300)
    a = responders(trial, "pain", 12, rng=7, **kw)
    b = responders(trial, "pain", 12, rng=np.random.default_rng(7), **kw)
    pd.testing.assert_frame_equal(a.contrasts, b.contrasts)
    delta = responders(trial, "pain", 12, threshold=2, covariates=["age", "sex"])
    sel = a.contrasts["measure"] == "adjusted_risk_difference"
    np.testing.assert_allclose(a.contrasts.loc[sel, "estimate"], delta.contrasts.loc[sel, "estimate"], rtol=1e-12)
    # the bootstrap SE estimates the same sampling variation as the delta method (300 samples: within 25%)
    np.testing.assert_allclose(a.contrasts.loc[sel, "se"], delta.contrasts.loc[sel, "se"], rtol=0.25)
    with pytest.raises(ct.DataError, match="rng="):
        responders(trial, "pain", 12, threshold=2, interval="bootstrap")


def test_threshold_beyond_the_instrument_range_suggests_relative():
    """Issue 9: a 30-point threshold on a 0-10 scale silently gave 0 responders in every arm."""
    trial = ct.load(ADJ_FILES["factorial.csv"])
    with pytest.raises(ct.DataError, match=r"threshold 30 is larger than the whole range of 'pain' \(0 to 10.*"
                                           r"threshold=0.3, relative=True"):
        responders(trial, "pain", 12, threshold=30)


def test_batched_bootstrap_fits_equal_one_glm_per_sample():
    """The bootstrap fits all samples in one Newton iteration; each equals statsmodels' GLM on that sample."""
    import statsmodels.api as sm

    from combotherapy.models.standardisation import _batched_logistic
    rng = np.random.default_rng(3)
    n = 120
    X = np.column_stack([np.ones(n), rng.integers(0, 2, n), rng.normal(50, 10, n)])
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2 + 0.8 * X[:, 1] + 0.04 * X[:, 2])))).astype(float)
    idx = rng.integers(0, n, (5, n))
    beta, ok = _batched_logistic(X[idx], y[idx], np.zeros(3))
    assert ok.all()
    for b, rows in zip(beta, idx):
        ref = sm.GLM(y[rows], X[rows], family=sm.families.Binomial()).fit(tol=1e-12).params
        np.testing.assert_allclose(b, ref, rtol=1e-8)
    # a separated sample is flagged, not returned as an estimate
    Xs = np.column_stack([np.ones(20), np.r_[np.zeros(10), np.ones(10)]])
    ys = np.r_[np.zeros(10), np.ones(10)]
    assert not _batched_logistic(Xs[None], ys[None], np.zeros(2))[1][0]


def test_interface_gives_the_logistic_odds_ratios_at_any_alpha(trial):
    res = responders(trial, "pain", 12, threshold=2, adjust="none", covariates=["age"])
    orr = res.contrasts.loc[res.contrasts["measure"] == "odds_ratio"].set_index(["first", "second"])
    via = res.compare(adjust="none").set_index(["first", "second"])
    np.testing.assert_allclose(via.loc[orr.index, "estimate"], orr["estimate"], rtol=1e-12)
    np.testing.assert_allclose(via.loc[orr.index, "ci_low"], orr["ci_low"], rtol=1e-12)
    wider = res.compare(adjust="none", alpha=0.01).set_index(["first", "second"])
    assert (wider.loc[orr.index, "ci_low"] < orr["ci_low"]).all()
    assert res.inference.link == "logit" and res.better == "lower" and res.instrument.name in ("pain", "")


def test_missing_error_refuses_missing_values(trial):
    with pytest.raises(ct.DataError, match="no 'pain' value at week 12") as err:
        responders(trial, "pain", 12, threshold=2, missing="error")
    assert err.value.kind == "missing value" and err.value.column == "pain"
