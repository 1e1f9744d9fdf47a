"""ct.survival against R (survival 3.5-3: survfit, survdiff, coxph, cox.zph; RMST integrated by hand in R).

Reference numbers: tests/reference/survival.R -> survival.json, on the fixture tests/reference/data/
survival_fixture.csv (four unbalanced arms, tied whole-week times, censoring, two subjects without follow-up)
and on the sample trial data/sample/three_arm.csv.
Tolerances (relative): KM, log-rank and RMST estimates/SEs 1e-6; Cox (iterative) 1e-4; p-values 1e-4.
"""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, SAMPLE
from statsmodels.stats.multitest import multipletests

import combotherapy as ct
from combotherapy.arms import arm_order
from combotherapy.instruments import REGISTRY
from combotherapy.models.survival import rmst_by_arm

REF = json.loads((REFERENCE / "survival.json").read_text())
FIXTURE = REFERENCE / "data" / "survival_fixture.csv"
EST, ITER, P = 1e-6, 1e-4, 1e-4


def make_trial(frame: pd.DataFrame) -> ct.Trial:
    """A canonical Trial built directly (no loader validation), so the model's own checks are exercised."""
    frame = frame.copy()
    frame["subject"] = frame["subject"].astype(str)
    frame["arm"] = pd.Categorical(frame["arm"], categories=arm_order(list(pd.unique(frame["arm"]))), ordered=True)
    frame["visit"] = frame["visit"].astype(float)
    frame = frame.sort_values(["subject", "visit"]).reset_index(drop=True)
    return ct.Trial(frame, {c: REGISTRY[c] for c in frame.columns if c in REGISTRY})


@pytest.fixture(scope="module")
def fixture_trial() -> ct.Trial:
    return make_trial(pd.read_csv(FIXTURE))


@pytest.fixture(scope="module")
def sample_trial() -> ct.Trial:
    path = SAMPLE / "three_arm.csv"
    if "sample" not in REF:
        pytest.fail("survival.json has no sample-trial numbers: run Rscript tests/reference/survival.R")
    if hashlib.md5(path.read_bytes()).hexdigest() != REF["sample"]["md5"]:
        pytest.fail("data/sample/three_arm.csv changed since survival.json was made: "
                    "rerun Rscript tests/reference/survival.R")
    return ct.load(path)


@pytest.fixture(params=["fixture", "sample"])
def case(request, fixture_trial, sample_trial):
    trial = fixture_trial if request.param == "fixture" else sample_trial
    return trial, REF[request.param]


def close(actual, expected, rtol):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=0,
                               equal_nan=True)


# --- Kaplan–Meier -----------------------------------------------------------------------------
def test_km_medians_and_cis_match_survfit(case):
    trial, ref = case
    km = ct.survival(trial).by_arm
    exp = pd.DataFrame(ref["km"])
    assert km["arm"].tolist() == ref["arms"]
    assert km["n"].tolist() == exp["n"].astype(int).tolist()
    assert km["events"].tolist() == exp["events"].astype(int).tolist()
    close(km[["median", "ci_low", "ci_high"]], exp[["median", "ci_low", "ci_high"]], EST)


def test_km_step_tables_match_survfit(case):
    trial, ref = case
    curves = ct.survival(trial).km_curves
    exp = pd.DataFrame(ref["km_curves"])
    assert curves["arm"].tolist() == exp["arm"].tolist()
    close(curves[["time", "n_risk", "n_events", "n_censored"]], exp[["time", "n_risk", "n_events", "n_censored"]], 0)
    close(curves["survival"], exp["survival"], EST)
    close(curves["se"], exp["survival"] * exp["se_log"], EST)
    close(curves[["ci_low", "ci_high"]], exp[["ci_low", "ci_high"]], EST)


def test_logrank_matches_survdiff(case):
    trial, ref = case
    lr = ct.survival(trial).logrank.iloc[0]
    close(lr["statistic"], ref["logrank"]["statistic"], EST)
    assert lr["df"] == ref["logrank"]["df"]
    close(lr["p"], ref["logrank"]["p"], P)


# --- Cox ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_hazard_ratios_match_coxph(case, ties):
    trial, ref = case
    hr = ct.survival(trial, ties=ties, adjust="none").contrasts  # R's intervals are unadjusted
    exp = pd.DataFrame(ref[f"cox_{ties}"]["hazard_ratios"])
    assert hr["contrast"].tolist() == exp["contrast"].tolist()
    close(hr[["estimate", "ci_low", "ci_high", "log_estimate", "se", "statistic"]],
          exp[["estimate", "ci_low", "ci_high", "log_estimate", "se", "statistic"]], ITER)
    close(hr["p"], exp["p"], P)
    assert (hr["p_adj"] == hr["p"]).all()


def test_efron_and_breslow_differ_with_ties(fixture_trial):
    efron = ct.survival(fixture_trial, ties="efron").contrasts["log_estimate"]
    breslow = ct.survival(fixture_trial, ties="breslow").contrasts["log_estimate"]
    assert np.max(np.abs(efron - breslow)) > 1e-3  # the fixture has many tied times


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_ph_check_matches_cox_zph(case, ties):
    trial, ref = case
    res = ct.survival(trial, ties=ties)
    exp = pd.DataFrame(ref[f"cox_{ties}"]["zph"])
    assert res.ph_test["term"].tolist()[-1] == "GLOBAL"
    close(res.ph_test["statistic"], exp["chisq"], ITER)
    close(res.ph_test["df"], exp["df"], 0)
    close(res.ph_test["p"], exp["p"], P)
    # a single factor is one term: R's terms = TRUE test equals the global test
    close(res.ph_test["statistic"].iloc[-1], ref[f"cox_{ties}"]["zph_terms"][0]["chisq"], ITER)


def test_scaled_schoenfeld_residuals_match_cox_zph(case):
    trial, ref = case
    res = ct.survival(trial).ph_residuals
    zph = ref["cox_efron"]
    exp = pd.DataFrame(np.array(zph["zph_y"]), columns=res.columns[2:])
    exp.insert(0, "time", zph["zph_time"])
    exp.insert(1, "km_time", zph["zph_x"])
    # R orders tied events by file order, we by arm: compare after sorting within each time
    key = list(res.columns)
    got = res.sort_values(key).reset_index(drop=True)
    want = exp.sort_values(key).reset_index(drop=True)
    close(got["time"], want["time"], 0)
    close(got["km_time"], want["km_time"], EST)
    close(got.iloc[:, 2:], want.iloc[:, 2:], ITER)


# --- RMST ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", [0, 1])
def test_rmst_matches_integrated_km(case, which):
    trial, ref = case
    block = ref["rmst"][which]
    horizon = None if block["is_default"] else block["horizon"]
    res = ct.survival(trial, horizon=horizon, adjust="none")  # R's intervals are unadjusted
    exp = pd.DataFrame(block["per_arm"])
    close(res.rmst["horizon"], exp["horizon"], 0)
    close(res.rmst[["estimate", "se", "ci_low", "ci_high"]], exp[["estimate", "se", "ci_low", "ci_high"]], EST)
    con = pd.DataFrame(block["contrasts"])
    assert res.rmst_contrasts["contrast"].tolist() == con["contrast"].tolist()
    close(res.rmst_contrasts[["estimate", "se", "statistic", "ci_low", "ci_high"]],
          con[["estimate", "se", "statistic", "ci_low", "ci_high"]], EST)
    close(res.rmst_contrasts["p"], con["p"], P)
    close(res.rmst_ratios[["estimate", "log_estimate", "se", "ci_low", "ci_high"]],
          con[["ratio", "log_ratio", "log_ratio_se", "ratio_ci_low", "ratio_ci_high"]], EST)
    close(res.rmst_ratios["p"], con["ratio_p"], P)


def test_rmst_variance_without_censoring_is_the_plug_in_variance_of_the_mean():
    # With no censoring and the horizon at the largest time the KM area is the sample mean, and the
    # Greenwood-type variance reduces to sum((x - mean)^2) / n^2 (the formula lifelines gets wrong does not).
    rng = np.random.default_rng(7)
    rows = []
    for arm, n in (("physio", 15), ("combined", 23)):
        t = np.round(rng.exponential(10, n), 1) + 0.1
        rows.append(pd.DataFrame({"subject": [f"{arm}{i}" for i in range(n)], "arm": arm, "visit": 0.0,
                                  "recovery_time": t, "recovered": 1.0}))
    frame = pd.concat(rows, ignore_index=True)
    tau = frame.groupby("arm")["recovery_time"].max().min()
    res = ct.survival(make_trial(frame))
    assert res.rmst["horizon"].iloc[0] == tau
    for arm, grp in frame.groupby("arm"):
        x = np.minimum(grp["recovery_time"].to_numpy(), tau)
        row = res.rmst.set_index("arm").loc[arm]
        close(row["estimate"], x.mean(), 1e-12)
        if grp["recovery_time"].max() == tau:  # the horizon is this arm's largest time: exact identity
            close(row["se"] ** 2, np.sum((x - x.mean()) ** 2) / x.size ** 2, 1e-10)


def test_rmst_by_arm_flat_curve_has_zero_variance():
    curves = pd.DataFrame({"group": ["a"], "time": [5.0], "n_risk": [4], "n_events": [0], "survival": [1.0]})
    out = rmst_by_arm(curves, 10.0)
    assert out["estimate"].iloc[0] == 10.0 and out["var"].iloc[0] == 0.0


# --- options, record, display -------------------------------------------------------------------
def test_reference_arm_gives_the_same_hazard_ratios(fixture_trial):
    full = ct.survival(fixture_trial).contrasts.set_index("contrast")
    ref = ct.survival(fixture_trial, reference="control").contrasts
    assert ref["contrast"].tolist() == ["combined - control", "physio - control", "acupuncture - control"]
    close(ref["estimate"], full.loc[ref["contrast"], "estimate"], 1e-12)


def test_holm_adjustment_through_the_contrast_engine(fixture_trial):
    res = ct.survival(fixture_trial, adjust="holm")
    for table in (res.contrasts, res.rmst_contrasts):
        close(table["p_adj"], multipletests(table["p"], method="holm")[1], 1e-12)


def test_exclusions_and_record(fixture_trial):
    res = ct.survival(fixture_trial)
    assert len(res.fitted.excluded) == 2
    assert res.fitted.excluded["reason"].str.contains("no follow-up").all()
    assert res.fitted.n_per_arm == {"control": 21, "physio": 35, "acupuncture": 27, "combined": 40}
    assert "Surv(recovery_time, recovered) ~ arm" in res.fitted.formula
    text = res.summary()
    for name in ("contrasts", "rmst_contrasts", "ph_test", "Log-rank test"):
        assert name in text
    assert "<table" in res._repr_html_()


def test_km_curves_are_step_tables_for_plotting(fixture_trial):
    curves = ct.survival(fixture_trial).km_curves
    assert list(curves.columns) == ["arm", "time", "n_risk", "n_events", "n_censored", "survival", "se",
                                    "ci_low", "ci_high"]
    for _, c in curves.groupby("arm", sort=False):
        assert c["time"].is_monotonic_increasing and c["survival"].is_monotonic_decreasing
        # numbers at risk fall by the events and censorings of the previous time
        np.testing.assert_array_equal(c["n_risk"].to_numpy()[1:],
                                      (c["n_risk"] - c["n_events"] - c["n_censored"]).to_numpy()[:-1])


# --- bad input ----------------------------------------------------------------------------------
def _bad(frame_edit):
    frame = pd.read_csv(FIXTURE)
    frame_edit(frame)
    return make_trial(frame)


def test_negative_time_is_a_data_error():
    trial = _bad(lambda f: f.__setitem__("recovery_time", f["recovery_time"].where(f["subject"] != "S010", -2.0)))
    with pytest.raises(ct.DataError, match=r"recovery_time.*negative.*\[subject S010\] \(rows \d+, \d+"):
        ct.survival(trial)


def test_event_flag_must_be_0_or_1():
    trial = _bad(lambda f: f.__setitem__("recovered", f["recovered"].where(f["subject"] != "S011", 2.0)))
    with pytest.raises(ct.DataError, match=r"recovered.*not 0 or 1"):
        ct.survival(trial)


def test_missing_time_with_event_is_a_data_error():
    def edit(f):
        f.loc[f["subject"] == "S012", "recovery_time"] = np.nan
        f.loc[f["subject"] == "S012", "recovered"] = 1.0
    with pytest.raises(ct.DataError, match=r"recovery_time.*missing where 'recovered' is given"):
        ct.survival(_bad(edit))


def test_all_problems_reported_at_once():
    def edit(f):
        f.loc[f["subject"] == "S010", "recovery_time"] = -1.0
        f.loc[f["subject"] == "S011", "recovered"] = 3.0
    with pytest.raises(ct.DataError) as err:
        ct.survival(_bad(edit))
    assert len(err.value.problems) == 2


def test_time_varying_within_subject_is_a_data_error():
    def edit(f):
        f.loc[(f["subject"] == "S013") & (f["visit"] == 12), "recovery_time"] = 99.0
    with pytest.raises(ct.DataError, match=r"different values within a subject"):
        ct.survival(_bad(edit))


def test_horizon_beyond_follow_up_is_refused(fixture_trial):
    with pytest.raises(ct.DataError, match=r"horizon 30 is beyond the follow-up of arm 'control'.*<= 24"):
        ct.survival(fixture_trial, horizon=30)
    with pytest.raises(ct.DataError, match="positive"):
        ct.survival(fixture_trial, horizon=0)


def test_arm_without_events_keeps_curves_logrank_and_rmst():
    """An arm without events is a result, not an error: its KM curve is flat at 1, the log-rank test and RMST use
    it, and only its hazard ratios (MLE at -infinity) are empty; the other hazard ratios are the limit of the full
    Cox fit, i.e. the fit without that arm."""
    def edit(f):
        f.loc[(f["arm"] == "control") & f["recovered"].notna(), "recovered"] = 0.0
    trial = _bad(edit)
    res = ct.survival(trial)
    km = res.by_arm.set_index("arm")
    assert km.loc["control", "events"] == 0 and np.isnan(km.loc["control", "median"])
    assert np.isfinite(res.logrank["statistic"].iloc[0]) and res.logrank["df"].iloc[0] == 3
    hr = res.contrasts.set_index("contrast")
    with_control = [c for c in hr.index if "control" in c]
    assert len(with_control) == 3 and hr.loc[with_control, ["estimate", "se", "p"]].isna().all().all()
    without = ct.survival(ct.Trial(trial.data.loc[trial.data["arm"] != "control"], trial.instruments))
    rest = without.contrasts.set_index("contrast")
    close(hr.loc[rest.index, ["estimate", "se", "p"]], rest[["estimate", "se", "p"]], 1e-10)
    rmst = res.rmst.set_index("arm")
    assert rmst.loc["control", "estimate"] == rmst.loc["control", "horizon"] and rmst.loc["control", "se"] == 0
    assert np.isfinite(res.rmst_contrasts["p"]).all()
    assert any("no events" in n for n in res.notes)


def test_all_subjects_censored():
    def edit(f):
        f.loc[f["recovered"].notna(), "recovered"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = ct.survival(_bad(edit))
    assert res.by_arm["median"].isna().all() and (res.by_arm["events"] == 0).all()
    assert res.logrank[["statistic", "p"]].isna().all().all()
    assert res.contrasts[["estimate", "p"]].isna().all().all() and len(res.contrasts) == 6
    assert (res.rmst["estimate"] == res.rmst["horizon"]).all() and (res.rmst["se"] == 0).all()
    assert (res.rmst_contrasts["estimate"] == 0).all() and res.rmst_contrasts["p"].isna().all()
    assert "not defined" in res.summary()


def test_bad_options(fixture_trial):
    with pytest.raises(ct.DataError, match="ties"):
        ct.survival(fixture_trial, ties="exact")
    with pytest.raises(ct.DataError, match="'days' is not in this trial"):
        ct.survival(fixture_trial, time="days")
    with pytest.raises(ct.DataError, match="yoga"):
        ct.survival(fixture_trial, reference="yoga")


def test_hazard_ratio_tables_follow_the_result_conventions(fixture_trial):
    res = ct.survival(fixture_trial)
    cols = ["first", "second", "contrast", "estimate", "log_estimate", "se", "df", "statistic", "p", "p_adj",
            "ci_low", "ci_high"]
    assert list(res.contrasts.columns) == cols and list(res.rmst_ratios.columns) == cols
    assert np.isinf(res.contrasts["df"]).all()
    # the interface: hazard ratios at another alpha from the fitted model, without refitting
    again = res.compare(alpha=0.01, adjust="holm")
    np.testing.assert_allclose(again["estimate"], res.contrasts["estimate"], rtol=1e-12)
    assert (again["ci_low"] < res.contrasts["ci_low"]).all()


def test_monotone_likelihood_leaves_hazard_ratios_empty_not_absurd():
    """Every combined-arm recovery comes while physio patients are at risk, every physio recovery after the
    combined arm is gone: the Cox MLE is at infinity. statsmodels stops with a hazard ratio of 1e12 and p = 1;
    the result says the HR is not estimable and keeps KM, log-rank and RMST."""
    rows = [{"subject": f"{arm}{i}", "arm": arm, "visit": 0.0, "recovery_time": t, "recovered": 1.0}
            for arm, times in (("physio", np.arange(10, 20.0)), ("combined", np.arange(1, 6.0, 0.5)))
            for i, t in enumerate(times)]
    res = ct.survival(make_trial(pd.DataFrame(rows)))
    assert res.contrasts[["estimate", "p"]].isna().all().all()
    assert any("did not converge" in n for n in res.notes)
    assert res.logrank["p"].iloc[0] < 1e-4 and res.by_arm["median"].notna().all()


# --- covariates and strata (issue 9 item 5): tests/reference/survival_adjusted.R -----------------------------
REF_ADJ = json.loads((REFERENCE / "survival_adjusted.json").read_text())
ADJ_FILES = {"safety_unbalanced.csv": REFERENCE / "data" / "safety_unbalanced.csv",
             "factorial.csv": SAMPLE / "factorial.csv"}


@pytest.fixture(scope="module", params=list(k for k in REF_ADJ if isinstance(REF_ADJ[k], dict) and "logrank" in REF_ADJ[k]))
def adjusted_case(request):
    ref = REF_ADJ[request.param]
    path = ADJ_FILES[ref["file"]]
    assert hashlib.md5(path.read_bytes()).hexdigest() == ref["md5"], f"{path} changed: rerun survival_adjusted.R"
    return ct.load(path), {"covariates": ref["covariates"], "strata": ref["strata"]}, ref


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_adjusted_and_stratified_cox_match_coxph(adjusted_case, ties):
    trial, kwargs, ref = adjusted_case
    res = ct.survival(trial, ties=ties, adjust="none", **kwargs)
    r = ref[f"cox_{ties}"]
    assert res.fitted.n_per_arm == ref["n_per_arm"]
    names = res.coefficients["term"]
    assert sorted(names) == sorted(r["coef_names"])  # numeric covariates precede factors in the package
    coef = res.coefficients.set_index(names)
    close(coef.loc[r["coef_names"], "estimate"], r["coef"], ITER)
    close(coef.loc[r["coef_names"], "se"], r["se"], ITER)
    close(res.fitted.extra["cox_loglik"], r["loglik"][1], EST)
    exp = pd.DataFrame(r["hazard_ratios"])
    hr = res.contrasts
    assert hr["contrast"].tolist() == exp["contrast"].tolist()
    close(hr[["estimate", "ci_low", "ci_high", "log_estimate", "se", "statistic"]],
          exp[["estimate", "ci_low", "ci_high", "log_estimate", "se", "statistic"]], ITER)
    close(hr["p"], exp["p"], P)
    if "zph" in r:
        zph = pd.DataFrame(r["zph"])
        got = res.ph_test.set_index("term")
        close(got.loc[zph["term"], "statistic"], zph["chisq"], ITER)
        close(got.loc[zph["term"], "p"], zph["p"], P)
    else:
        assert res.ph_test["term"].tolist() == ["GLOBAL"]
        assert any("not computed for a stratified" in n for n in res.fitted.notes)


def test_stratified_logrank_matches_survdiff(adjusted_case):
    trial, kwargs, ref = adjusted_case
    lr = ct.survival(trial, **kwargs).logrank.iloc[0]
    close(lr["statistic"], ref["logrank"]["statistic"], EST)
    close(lr["df"], ref["logrank"]["df"], 0)
    close(lr["p"], ref["logrank"]["p"], P)


def test_adjusted_survival_records_the_model(adjusted_case):
    trial, kwargs, ref = adjusted_case
    res = ct.survival(trial, **kwargs)
    for c in ref["covariates"]:
        assert f" + {c}" in res.fitted.formula
    if kwargs["strata"]:
        assert f"strata({kwargs['strata']})" in res.fitted.formula
        assert any("log-rank test is stratified" in n for n in res.fitted.notes)
    if "pain_duration" in ref["covariates"]:
        assert "covariate 'pain_duration' missing" in set(res.fitted.excluded["reason"])
    # the Kaplan–Meier part stays unadjusted: the same as without covariates on the same subjects
    assert res.by_arm["n"].sum() == ref["n_used"]


def test_strata_with_two_columns_and_a_missing_stratum():
    frame = pd.read_csv(REFERENCE / "data" / "safety_unbalanced.csv")
    subj = frame["subject"] == frame["subject"].iloc[0]
    frame.loc[subj, "site"] = np.nan
    trial = ct.load(frame)
    res = ct.survival(trial, strata=["site", "sex"])
    assert "stratum 'site' missing" in set(res.fitted.excluded["reason"])
    assert "strata(site, sex)" in res.fitted.formula


def test_unknown_stratum_column_is_a_data_error(fixture_trial):
    with pytest.raises(ct.DataError, match=r"\['centre'\] are not columns"):
        ct.survival(fixture_trial, strata="centre")


# --- the vectorised estimators against independent computations (issue 15: speed without moving numbers) ----
@pytest.mark.parametrize("ties,strata", [("efron", False), ("breslow", False), ("efron", True), ("breslow", True)])
def test_cox_fit_equals_statsmodels_phreg(ties, strata):
    """cox_fit (risk-set sums by cumulative sums, information as one cross-product) gives statsmodels PHReg's
    estimates, covariance and log partial likelihood, with many tied times."""
    from statsmodels.duration.hazard_regression import PHReg

    from combotherapy.models.survival_estimators import cox_fit
    rng = np.random.default_rng(11)
    n = 600
    X = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 2, n), rng.normal(50, 10, n)])
    t = np.round(rng.exponential(np.exp(-X @ [0.4, -0.3, 0.02])) * 4) / 4   # heavy ties
    e = (rng.random(n) < 0.7).astype(float)
    st = rng.choice(["a", "b", "c"], n) if strata else None
    ref = PHReg(t, X, status=e, ties=ties, strata=st).fit()
    got = cox_fit(t, e, X, ties, st)
    assert got["converged"]
    close(got["params"], ref.params, 1e-10)
    close(got["vcov"], ref.cov_params(), 1e-10)
    close(got["llf"], ref.llf, 1e-12)


def test_cox_fit_monotone_likelihood_does_not_converge():
    from combotherapy.models.survival_estimators import cox_fit
    t = np.arange(1.0, 21.0)
    x = (t <= 10).astype(float)       # every event of group 1 before any of group 0
    e = np.r_[np.ones(10), np.zeros(10)]
    assert not cox_fit(t, e, x[:, None])["converged"]


def test_km_table_equals_a_direct_product_limit_computation():
    from combotherapy.models.survival_estimators import km_table
    rng = np.random.default_rng(5)
    n = 400
    t = np.round(rng.exponential(5, n), 0)
    e = (rng.random(n) < 0.6).astype(float)
    g = rng.choice(["y", "x"], n)
    tab = km_table(t, e, g)
    assert tab["group"].drop_duplicates().tolist() == list(pd.unique(g))  # order of first appearance
    for grp in ("x", "y"):
        part = tab.loc[tab["group"] == grp]
        times = np.unique(t[g == grp])
        n_risk = np.array([np.sum(t[g == grp] >= u) for u in times])
        d = np.array([np.sum((t[g == grp] == u) & (e[g == grp] == 1)) for u in times])
        np.testing.assert_array_equal(part["time"], times)
        np.testing.assert_array_equal(part["n_risk"], n_risk)
        np.testing.assert_array_equal(part["n_events"], d)
        close(part["survival"], np.cumprod(1 - d / n_risk), 1e-14)
        with np.errstate(divide="ignore", invalid="ignore"):
            gw = np.cumsum(np.where(n_risk > d, d / (n_risk * (n_risk - d)), np.inf))
        ok = part["survival"].to_numpy() > 0
        close(part["se_log"].to_numpy()[ok], np.sqrt(gw[ok]), 1e-12)


def test_subject_table_from_the_trial_cache_equals_the_row_level_path():
    """Time and event constant within subjects come from the Trial's cached subject table; the same frame as
    the row-by-row path (used when a column varies and must be reported)."""
    from combotherapy.models.survival import _subject_data
    trial = ct.simulate_trial(n_per_arm=40, seed=3)

    class RowLevel:  # the same data, no subject-level columns known
        data = property(lambda self: trial.data)
        subject_columns: list = []

    a = _subject_data(trial, "recovery_time", "recovered")
    b = _subject_data(RowLevel(), "recovery_time", "recovered")
    for x, y in zip(a, b):
        pd.testing.assert_frame_equal(x, y)
