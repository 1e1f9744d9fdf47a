"""Differential sweep against R on a stress dataset (tests/reference/sweep.R -> sweep.json).

The data (tests/reference/data/sweep_trial.csv, written by sweep_make_data.py): arms of 30/90/45/135 in shuffled
order, monotone and intermittent dropout, a week-4 visit seen in 34 subjects (2 in acupuncture), a 4-level site
factor whose levels appear as west, north, south, east (east: 4 subjects, R's alphabetical reference level, absent at
week 4), income on a scale of 5e4 (missing for 3 subjects; sex for 1), a 0/1 numeric covariate (smoker: emmeans puts
its two values on the reference grid), tied whole-week recovery times, zero-heavy analgesic days (57 % zeros) with an exposure column and
a control arm without a pain responder at week 2.

Tolerances (relative; absolute ``ATOL`` for values near zero):
- closed-form fits (ANCOVA, Poisson, Cox, KM, RMST, logistic responders): 1e-6, p-values 1e-4, as the other
  reference tests; ``mvt`` (Dunnett and pairwise; randomised QMC in R, abseps 1e-3) 1e-3 absolute.
- MMRM: 1e-6 for estimates, SEs and df. Both sides are iterative; R's fit is polished to a largest REML gradient
  below 1e-10 (mmrm's default optimisers stopped 4e-7..5e-6 short in log-likelihood, which moved week-4 LS means
  by ~3e-5), after which the two agree to ~1e-8.
- negative binomial: 1e-5 (glm.nb alternates theta and IRLS to a deviance change of 1e-12; its coefficients sit
  ~6e-7 from the joint maximum). Theta's SE: glm.nb reports theta.ml's information at its second-to-last iterate
  (theta.ml's default eps is 1.2e-4), up to 3e-4 away; the package uses the information at the final theta, which
  is theta.ml re-run to 1e-14 at the final means (``theta_se_final``), and stays within 1e-3 of ``SE.theta``.
Kenward-Roger for the unstructured covariance: the package follows SAS's linear parametrisation, i.e. mmrm's
``vcov = "Kenward-Roger-Linear"``; mmrm's default KR (log-Cholesky, with the second-derivative term) gives
different adjusted SEs (here up to 6 % at the thin visit) with the same df, which is asserted as such.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE

import combotherapy as ct

REF = json.loads((REFERENCE / "sweep.json").read_text())
DATA = REFERENCE / "data" / "sweep_trial.csv"
EST, P, MVT, MMRM, NB, ATOL = 1e-6, 1e-4, 1e-3, 1e-6, 1e-5, 1e-9
COVS = ["age", "sex", "site", "income", "smoker"]


def close(ours, ref, rtol, atol=ATOL, what=""):
    np.testing.assert_allclose(np.asarray(ours, float), np.asarray(ref, float), rtol=rtol, atol=atol, err_msg=what)


@pytest.fixture(scope="module")
def trial():
    assert hashlib.md5(DATA.read_bytes()).hexdigest() == REF["meta"]["md5"], "sweep_trial.csv changed: rerun sweep.R"
    return ct.load(DATA)


def _r_name(term: str) -> str:
    """The package's term name in R's spelling, parts of an interaction sorted (R orders them by the formula)."""
    parts = [p.replace("[", "").replace("]", "").replace("baseline", "base").replace("visit", "visitf")
             for p in term.split(":")]
    return ":".join(sorted(parts))


def _sorted_r(name: str) -> str:
    return ":".join(sorted(name.split(":")))


# --- ANCOVA: lm + emmeans -------------------------------------------------------------------------------------
ANCOVA = {"w12_cov": (12, COVS), "w2_site": (2, ["site"]), "w4_few": (4, []), "w8_income": (8, ["income", "sex"]),
          "w4_all": (4, COVS)}


def _check_pairs(ours: pd.DataFrame, rows, *, p_atol=None, crit_atol=3 * MVT):
    ref = {frozenset(r["contrast"].split(" - ")): r for r in rows}
    assert len(ours) == len(ref)
    for _, row in ours.iterrows():
        r = ref[frozenset((row["first"], row["second"]))]
        sign = 1.0 if r["contrast"] == row["contrast"] else -1.0
        close(row["estimate"], sign * r["estimate"], EST)
        close(row["se"], r["se"], EST)
        close(row["df"], r["df"], EST)
        close(row["statistic"], sign * r["statistic"], EST)
        if p_atol is None:
            close(row["p_adj"], r["p"], P, atol=1e-12)
        else:
            close(row["p_adj"], r["p"], 0, atol=p_atol)
        lo, hi = (r["ci_low"], r["ci_high"]) if sign > 0 else (-r["ci_high"], -r["ci_low"])
        if p_atol is None:
            close([row["ci_low"], row["ci_high"]], [lo, hi], EST)
        else:   # qmvt's critical value is QMC too: the half-width within crit_atol * se
            close([row["ci_low"], row["ci_high"]], [lo, hi], 0, atol=crit_atol * row["se"])


@pytest.mark.parametrize("key", ANCOVA)
@pytest.mark.parametrize("adjust", ["none", "holm", "bonferroni", "sidak", pytest.param("tukey", marks=pytest.mark.slow),
                                    pytest.param("mvt", marks=pytest.mark.slow)])
def test_ancova_pairs_match_emmeans(trial, key, adjust):
    visit, covs = ANCOVA[key]
    res = ct.ancova(trial, "pain", visit, covariates=covs, adjust=adjust, missing_baseline="exclude")
    _check_pairs(res.contrasts, REF["ancova"][key]["contrasts"][adjust], p_atol=MVT if adjust == "mvt" else None)


@pytest.mark.parametrize("key", ANCOVA)
def test_ancova_fit_and_lsmeans_match_lm(trial, key):
    visit, covs = ANCOVA[key]
    ref = REF["ancova"][key]
    res = ct.ancova(trial, "pain", visit, covariates=covs, missing_baseline="exclude")
    assert res.fitted.n_per_arm == ref["n"]
    close(res.fitted.extra["sigma"], ref["sigma"], EST)
    coef = res.coefficients.set_index("term")
    assert sorted(coef.index) == sorted(ref["coefficients"])   # R's names and treatment coding (east = reference)
    close(coef.loc[list(ref["coefficients"]), "estimate"], list(ref["coefficients"].values()), EST, atol=1e-12)
    close(coef.loc[list(ref["coef_se"]), "se"], list(ref["coef_se"].values()), EST)
    ls = pd.DataFrame(ref["lsmeans"]).set_index("arm").loc[res.by_arm["arm"]]
    close(res.by_arm["estimate"], ls["emmean"], EST)
    close(res.by_arm[["se", "ci_low", "ci_high"]], ls[["se", "ci_low", "ci_high"]], EST)


@pytest.mark.slow
@pytest.mark.parametrize("key", ["w12_cov", "w4_few"])
def test_ancova_dunnett_and_holm_vs_control_match_emmeans(trial, key):
    visit, covs = ANCOVA[key]
    ref = REF["ancova"][key]["contrasts"]
    dun = ct.ancova(trial, "pain", visit, covariates=covs, adjust="dunnett", reference="control",
                    missing_baseline="exclude")
    _check_pairs(dun.contrasts, ref["dunnett"], p_atol=MVT)
    holm = ct.ancova(trial, "pain", visit, covariates=covs, adjust="holm", reference="control",
                     missing_baseline="exclude")
    _check_pairs(holm.contrasts, ref["holm_vs_control"])


def test_combination_rule_matches_one_sided_emmeans(trial):
    """emmeans contrast(side = "<"); the package's intervals are one-sided at alpha = 0.025 (R's at 0.05)."""
    from scipy import stats

    ref = pd.DataFrame(REF["ancova"]["w12_cov"]["one_sided"]).set_index("contrast")
    res = ct.combination_test(trial, "pain", 12, covariates=COVS, missing_baseline="exclude")
    ref = ref.loc[res.contrasts["contrast"]]
    close(res.contrasts[["estimate", "se", "df", "statistic"]], ref[["estimate", "se", "df", "statistic"]], EST)
    close(res.contrasts["p"], ref["p"], P)
    close(res.contrasts["ci_high"], ref["estimate"] + stats.t.ppf(0.975, ref["df"]) * ref["se"], EST)
    assert np.isneginf(res.contrasts["ci_low"]).all()


@pytest.mark.parametrize("key,covs", [("w12_cov", COVS), ("w8_none", [])])
def test_synergy_matches_factorial_lm(trial, key, covs):
    ref = REF["synergy"][key]
    res = ct.synergy(trial, "pain", int(key[1:].split("_")[0]), covariates=covs, missing_baseline="exclude")
    eff = res.effects.set_index("effect")
    r, row = ref["interaction"], eff.loc["interaction"]
    close(row[["estimate", "se", "statistic", "ci_low", "ci_high", "df"]],
          [r["estimate"], r["se"], r["statistic"], r["ci_low"], r["ci_high"], r["df"]], EST)
    close(row["p"], r["p"], P)
    for name in ("physio", "acupuncture"):
        m, row = ref[name][0], eff.loc[name]
        close(row[["estimate", "se", "df", "ci_low", "ci_high"]], [m["estimate"], m["se"], m["df"], m["ci_low"],
                                                                     m["ci_high"]], EST)
        close(row["p"], m["p"], P)


def test_effect_sizes_match_metafor_and_emmeans(trial):
    res = ct.ancova(trial, "pain", 12, covariates=COVS, missing_baseline="exclude")
    es = ct.effect_sizes(res).effect_sizes
    ref = {r["contrast"]: r for r in REF["effects"]["w12_cov"]}
    assert set(es["contrast"]) == set(ref)
    g = es[es.measure == "hedges_g_change"].set_index("contrast").loc[list(ref)]
    d = es[es.measure == "adjusted_difference_sd_baseline"].set_index("contrast").loc[list(ref)]
    r = pd.DataFrame(list(ref.values()))
    close(np.c_[g["estimate"], g["se"] ** 2, g["ci_low"], g["ci_high"]],
          r[["g", "var_g", "g_ci_low", "g_ci_high"]], EST)
    close(d[["estimate", "ci_low", "ci_high", "sd"]], r[["d_adj", "d_adj_ci_low", "d_adj_ci_high", "sd_baseline"]],
          EST)


# --- MMRM: R's mmrm (TMB), emmeans -----------------------------------------------------------------------------
MMRM_CASES = {"us_sat": ("unstructured", "satterthwaite", COVS), "us_kr": ("unstructured", "kenward-roger", COVS),
              "cs_sat": ("cs", "satterthwaite", COVS), "ar1h_sat": ("ar1_het", "satterthwaite", COVS),
              "us_nocov": ("unstructured", "satterthwaite", []), "ar1_sat": ("ar1", "satterthwaite", COVS),
              "csh_sat": ("cs_het", "satterthwaite", COVS), "toeph_sat": ("toeplitz_het", "satterthwaite", COVS),
              "toep_sat": ("toeplitz", "satterthwaite", COVS), "us_ml": ("unstructured", "satterthwaite", COVS),
              "us_prop": ("unstructured", "satterthwaite", COVS),
              "terms_equal": ("unstructured", "satterthwaite", ["age*smoker", "C(site)"]),
              "terms_prop": ("unstructured", "satterthwaite", ["age*smoker", "C(site)"])}
MMRM_OPTIONS = {"us_ml": {"method": "ml"}, "us_prop": {"weights": "proportional"},
                "terms_prop": {"weights": "proportional"}}


class _Fits(dict):
    def __init__(self, trial):
        super().__init__()
        self.trial = trial

    def __missing__(self, key):
        c, d, v = MMRM_CASES[key]
        self[key] = ct.mmrm(self.trial, "pain", covariance=c, df=d, covariates=v, adjust="none",
                            **MMRM_OPTIONS.get(key, {}))
        return self[key]


@pytest.fixture(scope="module")
def mmrm_fits(trial):
    return _Fits(trial)


@pytest.mark.parametrize("key", MMRM_CASES)
def test_mmrm_matches_r_mmrm(mmrm_fits, key):
    res, ref = mmrm_fits[key], REF["mmrm"][key]
    assert ref["converged"] and ref["max_abs_gradient"] < 1e-9
    close(res.loglik, ref["loglik"], 1e-10)
    # AIC/BIC: mmrm counts covariance parameters only; so does the package under REML (SAS's convention), while
    # under ML it adds the fixed effects, as SAS PROC MIXED does (its note says so): p more parameters
    p = len(ref["coef_names"]) if MMRM_OPTIONS.get(key, {}).get("method") == "ml" else 0
    assert sum(res.fitted.n_per_arm.values()) == ref["n_subjects"]
    close([res.aic, res.bic], [ref["aic"] + 2 * p, ref["bic"] + p * np.log(ref["n_subjects"])], 1e-10)
    close(res.covariance, ref["varcor"], MMRM)
    coef = res.coefficients.assign(r=res.coefficients["term"].map(_r_name)).set_index("r")
    names = [_sorted_r(n) for n in ref["coef_names"]]
    assert sorted(coef.index) == sorted(names)
    close(coef.loc[names, "estimate"], ref["coef"], MMRM, atol=1e-9)
    if key != "us_kr":   # R's vcov(fit) is the KR-adjusted one there; ours keeps the model-based covariance
        close(coef.loc[names, "se"], ref["se"], MMRM)
    ls = pd.DataFrame(ref["lsmeans"]).set_index(["visit", "arm"])
    ls = ls.loc[list(zip(res.by_arm["visit"], res.by_arm["arm"]))]
    assert len(ls) == len(res.by_arm) == 16
    close(res.by_arm[["estimate", "se", "df", "ci_low", "ci_high"]],
          ls[["emmean", "se", "df", "ci_low", "ci_high"]], MMRM)
    cn = pd.DataFrame(ref["contrasts"]).set_index(["visit", "contrast"])
    cn = cn.loc[list(zip(res.contrasts["visit"], res.contrasts["contrast"]))]
    assert len(cn) == len(res.contrasts) == 24
    close(res.contrasts[["estimate", "se", "df", "statistic", "ci_low", "ci_high"]],
          cn[["estimate", "se", "df", "statistic", "ci_low", "ci_high"]], MMRM, atol=1e-8)
    close(res.contrasts["p"], cn["p"], P)


@pytest.mark.parametrize("adjust", ["holm", "sidak", pytest.param("tukey", marks=pytest.mark.slow),
                                    pytest.param("mvt", marks=pytest.mark.slow)])
def test_mmrm_adjusted_pairs_match_emmeans(trial, adjust):
    """pairs(emmeans(fit, ~ arm | visit), adjust = ...): one family per visit, Satterthwaite df per contrast."""
    res = ct.mmrm(trial, "pain", covariates=COVS, adjust=adjust)
    ref = pd.DataFrame(REF["mmrm"]["us_sat"]["adjusted"][adjust])
    for visit, rows in ref.groupby("visit"):
        # mvt: emmeans calls qmvt with the df rounded to an integer (floor(df + 0.25), .fix.df) and QMC error
        # (abseps 1e-3 on the probability, i.e. ~1e-3 / density on the quantile); in the week-4 family (df 34.25)
        # R's critical value is 1.2e-3 from ours: the half-width is compared to 5e-3 * se
        _check_pairs(res.contrasts[res.contrasts["visit"] == visit], rows.to_dict("records"),
                     p_atol=MVT if adjust == "mvt" else None, crit_atol=5 * MVT)


@pytest.mark.parametrize("key", ["us_sat", "us_kr"])
def test_mmrm_type3_matches_df_md(mmrm_fits, key):
    """F tests of the SAS type III hypotheses (L written out in sweep.R) by mmrm::df_md: Satterthwaite, and
    Kenward-Roger (linear UN, with its F scaling)."""
    ref = pd.DataFrame(REF["mmrm"][key]["type3"]).set_index("term")
    ours = mmrm_fits[key].type3.set_index("term")
    assert sorted(ours.index) == sorted(ref.index)
    ref = ref.loc[ours.index]
    close(ours[["num_df", "den_df", "statistic"]], ref[["num_df", "den_df", "statistic"]], MMRM)
    close(ours["p"], ref["p"], P)


def test_mmrm_kenward_roger_is_mmrm_linear_not_log_cholesky(mmrm_fits):
    """Documented convention (models/mmrm/dfs.py): SAS's linear UN parametrisation. mmrm's default KR adds the
    second-derivative term of its log-Cholesky parametrisation: same df, different adjusted SEs."""
    res = mmrm_fits["us_kr"]
    lin, chol = (pd.DataFrame(REF["mmrm"][k]["contrasts"]) for k in ("us_kr", "us_kr_log_cholesky"))
    close(lin["df"], chol["df"], 1e-10)
    assert np.max(np.abs(lin["se"] / chol["se"] - 1)) > 1e-2
    chol = chol.set_index(["visit", "contrast"]).loc[list(zip(res.contrasts["visit"], res.contrasts["contrast"]))]
    assert np.max(np.abs(res.contrasts["se"].to_numpy() / chol["se"].to_numpy() - 1)) > 1e-2


# --- counts: MASS::glm.nb and glm(poisson) -----------------------------------------------------------------------
COUNTS = {"plain": {}, "adjusted": {"covariates": ["site", "income", "smoker"]},
          "exposure": {"covariates": ["sex", "site"], "exposure": "days_observed"}}


@pytest.mark.parametrize("key", COUNTS)
@pytest.mark.parametrize("family", ["negbin", "poisson"])
def test_counts_match_glm(trial, key, family):
    ref, r = REF["counts"][key], REF["counts"][key][family]
    res = ct.count_model(trial, "analgesic_days", 12, family=family, adjust="none", **COUNTS[key])
    tol = NB if family == "negbin" else EST
    assert res.fitted.n_per_arm == ref["n_per_arm"]
    coef = res.coefficients.set_index(res.coefficients["term"].replace("baseline", "base"))
    assert sorted(coef.index) == sorted(r["coef_names"])
    close(coef.loc[r["coef_names"], "estimate"], r["coef"], tol)
    close(coef.loc[r["coef_names"], "se"], r["se"], tol)
    close(res.fitted.extra["loglik"], r["loglik"], EST)
    rr = pd.DataFrame(r["rate_ratios"])
    assert res.contrasts["contrast"].tolist() == rr["contrast"].tolist()
    cols = ["estimate", "ci_low", "ci_high", "log_estimate", "se", "statistic"]
    close(res.contrasts[cols], rr[cols], tol)
    close(res.contrasts["p"], rr["p"], P)
    rates = pd.DataFrame(r["rates"]).set_index("arm").loc[res.by_arm["arm"]]
    close(res.by_arm[["estimate", "ci_low", "ci_high", "log_estimate", "se"]],
          rates[["estimate", "ci_low", "ci_high", "log_estimate", "se"]], tol)
    if family == "negbin":
        theta = res.dispersion.set_index("quantity").loc["theta (NB size)"]
        close(theta["estimate"], r["theta"], NB)
        close(theta["se"], r["theta_se_final"], NB)   # the information at the final theta
        close(theta["se"], r["theta_se"], 1e-3)       # glm.nb's SE.theta: one theta.ml iterate earlier


def test_reference_arm_with_holm_matches_p_adjust(trial):
    """count_model and survival with reference="physio", adjust="holm": by hand in R, p.adjust(p, "holm")."""
    cm = ct.count_model(trial, "analgesic_days", 12, covariates=["site", "income", "smoker"], reference="physio",
                        adjust="holm")
    sv = ct.survival(trial, covariates=["site", "income"], reference="physio", adjust="holm")
    for res, rows in ((cm, REF["counts"]["adjusted"]["negbin"]["vs_physio"]),
                      (sv, REF["survival"]["adjusted"]["cox"]["efron"]["vs_physio"])):
        r = pd.DataFrame(rows).set_index("contrast").loc[res.contrasts["contrast"]]
        assert (res.contrasts["second"] == "physio").all() and len(r) == 3
        close(res.contrasts[["estimate", "se"]], r[["estimate", "se"]], NB)
        close(res.contrasts[["p", "p_adj"]], r[["p", "p_adj"]], P)


# --- survival: survfit, survdiff, coxph, RMST --------------------------------------------------------------------
@pytest.mark.parametrize("key,covs,strata", [("plain", [], None), ("adjusted", ["site", "income"], None),
                                             ("strata", ["site", "income"], "sex")])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_matches_coxph(trial, key, covs, strata, ties):
    ref = REF["survival"][key]
    r = ref["cox"][ties]
    res = ct.survival(trial, covariates=covs, strata=strata, ties=ties, adjust="none")
    lr = res.logrank.iloc[0]
    close([lr["statistic"], lr["df"]], [ref["logrank"]["statistic"], ref["logrank"]["df"]], EST)
    close(lr["p"], ref["logrank"]["p"], P)
    if strata is None:   # cox.zph(transform = "km", terms = FALSE)
        zph = pd.DataFrame(r["zph"])
        assert res.ph_test["term"].tolist() == zph["term"].tolist()
        close(res.ph_test[["statistic", "df"]], zph[["chisq", "df"]], EST)
        close(res.ph_test["p"], zph["p"], P)
    coef = res.coefficients.set_index("term")
    assert sorted(coef.index) == sorted(r["coef_names"])
    close(coef.loc[r["coef_names"], "estimate"], r["coef"], EST)
    close(coef.loc[r["coef_names"], "se"], r["se"], EST)
    hr = pd.DataFrame(r["hazard_ratios"]).set_index("contrast").loc[res.contrasts["contrast"]]
    cols = ["estimate", "log_estimate", "se", "statistic", "ci_low", "ci_high"]
    close(res.contrasts[cols], hr[cols], EST)
    close(res.contrasts["p"], hr["p"], P)


def test_km_logrank_and_rmst_match_survival(trial):
    ref = REF["survival"]["plain"]
    res = ct.survival(trial)
    km = pd.DataFrame(ref["km"]).set_index("arm").loc[res.by_arm["arm"]]
    assert res.by_arm["n"].tolist() == km["n"].tolist() and res.by_arm["events"].tolist() == km["events"].tolist()
    close(res.by_arm[["median", "ci_low", "ci_high"]], km[["median", "median_low", "median_high"]], EST)
    curve = res.km_curves[res.km_curves["n_events"] > 0].reset_index(drop=True)
    rc = pd.DataFrame(ref["curve"])
    assert curve[["arm", "time"]].astype({"time": float}).equals(rc[["arm", "time"]].astype({"time": float}))
    close(curve[["n_risk", "n_events", "survival", "se", "ci_low", "ci_high"]],
          rc[["n_risk", "n_event", "surv", "se", "ci_low", "ci_high"]], EST)
    for horizon, case in ((None, ref), (10.0, REF["survival"]["horizon"])):   # tau: survRM2's default, and 10
        res = ct.survival(trial, horizon=horizon)
        rm = pd.DataFrame(case["rmst"]).set_index("arm").loc[res.rmst["arm"]]
        assert (res.rmst["horizon"] == case["tau"]).all()
        close(res.rmst[["estimate", "se"]], rm[["rmst", "se"]], EST)
        close(rm["rmst"], rm["check"], 1e-12)


# --- responders: glm(binomial), g-computation; Wilson / Newcombe / Katz with a zero arm -------------------------
RESP = {"w12_rel30": dict(visit=12, threshold=0.3, relative=True, covariates=COVS),
        "w8_abs2": dict(visit=8, threshold=2, covariates=["site"]),
        "w12_abs2_exclude": dict(visit=12, threshold=2, covariates=["site", "smoker"], missing="exclude")}


@pytest.mark.parametrize("key", RESP)
def test_adjusted_responders_match_glm(trial, key):
    ref = REF["responders"][key]
    kw = dict(RESP[key])
    res = ct.responders(trial, "pain", kw.pop("visit"), adjust="none", **kw)
    assert res.fitted.n_per_arm == ref["n_per_arm"]
    assert dict(zip(res.by_arm["arm"], res.by_arm["responders"])) == ref["responders"]
    coef = res.coefficients.set_index("term")
    close(coef.loc[ref["coef_names"], "estimate"], ref["coef"], EST)
    close(coef.loc[ref["coef_names"], "se"], ref["se"], EST)
    std = pd.DataFrame(ref["standardised"]).set_index("arm").loc[res.standardised["arm"]]
    close(res.standardised[["estimate", "se"]], std[["estimate", "se"]], EST)
    # a limit near zero (control: -0.0054 = 0.098 - 1.96 * 0.053) carries the SE's relative error (here 7e-8:
    # income's scale makes vcov ill-conditioned, ~1e11) as an absolute one: compare limits to EST * se
    close(res.standardised[["ci_low", "ci_high"]], std[["ci_low", "ci_high"]], EST,
          atol=EST * float(std["se"].max()))
    c = res.contrasts.set_index(["measure", "contrast"])
    rc = pd.DataFrame(ref["contrasts"]).set_index("contrast")
    odds = c.loc["odds_ratio"].loc[rc.index]
    close(odds[["log_estimate", "se"]], rc[["or_log", "or_se"]], EST)
    close(odds["p"], rc["or_p"], P)
    rd = c.loc["adjusted_risk_difference"].loc[rc.index]
    close(rd[["estimate", "se", "ci_low", "ci_high"]], rc[["rd", "rd_se", "rd_low", "rd_high"]], EST)
    rr = c.loc["adjusted_risk_ratio"].loc[rc.index]
    close(rr[["estimate", "log_estimate", "se", "ci_low", "ci_high"]],
          rc[["rr", "rr_log", "rr_se", "rr_low", "rr_high"]], EST)


def test_arm_without_responders(trial):
    """Unadjusted: Wilson, Newcombe and Katz (0.5 added to a table with a zero) as R; the odds ratio against the
    empty arm is reported as not estimable. With covariates the logistic MLE does not exist (glm only drifts
    towards infinity): a ModelError that says so."""
    ref = REF["responders"]["w2_zero_control"]
    res = ct.responders(trial, "pain", 2, threshold=3, adjust="none")
    arms = pd.DataFrame(ref["arms"]).set_index("arm").loc[res.by_arm["arm"]]
    assert res.by_arm["responders"].tolist() == arms["responders"].tolist() and arms.loc["control", "responders"] == 0
    close(res.by_arm[["proportion", "ci_low", "ci_high"]], arms[["proportion", "ci_low", "ci_high"]], EST)
    c = res.contrasts.set_index(["measure", "contrast"])
    rc = pd.DataFrame(ref["contrasts"]).set_index("contrast")
    rd = c.loc["risk_difference"].loc[rc.index]
    close(rd[["estimate", "ci_low", "ci_high"]], rc[["rd", "rd_low", "rd_high"]], EST, atol=1e-12)
    close(rd["p"], rc["rd_p"], P)
    rr = c.loc["risk_ratio"].loc[rc.index]
    close(rr[["estimate", "se", "ci_low", "ci_high"]], rc[["rr", "rr_se", "rr_low", "rr_high"]], EST)
    odds = c.loc["odds_ratio"]
    assert odds.loc[[i for i in odds.index if i.endswith("control")], "estimate"].isna().all()
    with pytest.raises(ct.ModelError):
        ct.responders(trial, "pain", 2, threshold=3, covariates=["site"])


# --- three arms (control 30, physio 90, combined 135): no acupuncture arm -----------------------------------------
def test_three_arms_match_r():
    ref = REF["three_arms"]
    data = pd.read_csv(DATA)
    trial = ct.load(data[data["arm"] != "acupuncture"])
    anc = ct.ancova(trial, "pain", 12, covariates=COVS, adjust="holm", missing_baseline="exclude")
    _check_pairs(anc.contrasts, ref["ancova"]["contrasts"]["holm"])
    mm = ct.mmrm(trial, "pain", covariates=COVS, adjust="none")
    cn = pd.DataFrame(ref["mmrm"]["contrasts"]).set_index(["visit", "contrast"])
    cn = cn.loc[list(zip(mm.contrasts["visit"], mm.contrasts["contrast"]))]
    assert len(cn) == 12
    close(mm.contrasts[["estimate", "se", "df"]], cn[["estimate", "se", "df"]], MMRM, atol=1e-8)
    cm = ct.count_model(trial, "analgesic_days", 12, covariates=["site", "income", "smoker"], adjust="none")
    rr = pd.DataFrame(ref["counts"]["negbin"]["rate_ratios"]).set_index("contrast").loc[cm.contrasts["contrast"]]
    close(cm.contrasts[["estimate", "se"]], rr[["estimate", "se"]], NB)
    sv = ct.survival(trial, covariates=["site", "income"], adjust="none")
    hr = pd.DataFrame(ref["survival"]["cox"]["efron"]["hazard_ratios"]).set_index("contrast")
    close(sv.contrasts[["estimate", "se"]], hr.loc[sv.contrasts["contrast"], ["estimate", "se"]], EST)
    close(sv.logrank["statistic"].iloc[0], ref["survival"]["logrank"]["statistic"], EST)
    rs = ct.responders(trial, "pain", 12, threshold=0.3, relative=True, covariates=COVS, adjust="none")
    std = pd.DataFrame(ref["responders"]["standardised"]).set_index("arm").loc[rs.standardised["arm"]]
    close(rs.standardised[["estimate", "se"]], std[["estimate", "se"]], EST)


# --- subgroups: lm(value ~ arm * level + baseline) + emmeans, interaction F test ---------------------------------
@pytest.mark.parametrize("key,visit,by,pairs,adjust", [("combination", 12, ["site", "sex", "smoker"], "combination",
                                                        "none"), ("all_holm", 8, ["site", "sex"], "all", "holm")])
def test_subgroups_match_lm(trial, key, visit, by, pairs, adjust):
    ref = REF["subgroups"][key]
    res = ct.subgroups(trial, "pain", visit, by=by, pairs=pairs, adjust=adjust)
    rows = [pd.DataFrame(ref["overall"]).assign(variable="all subjects")]
    rows += [pd.DataFrame(v["contrasts"]).assign(variable=name) for name, v in ref["variables"].items()]
    r = pd.concat(rows).astype({"level": str}).set_index(["variable", "level", "contrast"])
    ours = res.contrasts.astype({"level": str})
    r = r.loc[list(zip(ours["variable"], ours["level"], ours["contrast"]))]
    assert len(r) == len(ours) == sum(len(x) for x in rows)   # the rare site "east" skipped, as in R
    close(ours[["estimate", "se", "df", "statistic", "ci_low", "ci_high"]],
          r[["estimate", "se", "df", "statistic", "ci_low", "ci_high"]], EST)
    close(ours["p_adj"], r["p"], P)
    inter = ours.groupby("variable")["interaction_p"].first()
    for name, v in ref["variables"].items():
        close(inter[name], v["interaction"]["p"], P)


@pytest.mark.slow
def test_large_data_backend_matches_r():
    """The same file through the DuckDB backend (LazyTrial: ANCOVA and MMRM from aggregates) against R."""
    pytest.importorskip("duckdb")
    lazy = ct.load(DATA, backend="duckdb")
    anc = ct.ancova(lazy, "pain", 12, covariates=COVS, missing_baseline="exclude", adjust="none")
    ls = pd.DataFrame(REF["ancova"]["w12_cov"]["lsmeans"]).set_index("arm").loc[anc.by_arm["arm"]]
    close(anc.by_arm[["estimate", "se"]], ls[["emmean", "se"]], EST)
    for key, kw in (("us_sat", {}), ("us_prop", {"weights": "proportional"})):
        mm = ct.mmrm(lazy, "pain", covariates=COVS, adjust="none", **kw)
        ref = pd.DataFrame(REF["mmrm"][key]["lsmeans"]).set_index(["visit", "arm"])
        ref = ref.loc[list(zip(mm.by_arm["visit"], mm.by_arm["arm"]))]
        close(mm.by_arm[["estimate", "se", "df"]], ref[["emmean", "se", "df"]], MMRM)
