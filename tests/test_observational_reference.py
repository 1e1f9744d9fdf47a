"""combotherapy.observational against R: tests/reference/observational_weights.R and observational_matching.R.

Tolerances: estimates and SEs 1e-6 relative (R's multinom is iterative but pushed to reltol 1e-16; everything
downstream is closed-form or Newton to 1e-12). The stacked sandwich is compared with R's numerical Jacobian
(numDeriv, Richardson), also to 1e-6.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import combotherapy.observational as ob

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "data" / "sample" / "registry.csv"
LALONDE = REPO / "src" / "combotherapy" / "datasets" / "matchit_lalonde" / "lalonde.csv"
PS_REG = "age + sex + pain0 + log(pain_duration)"
PS_LAL = "age + educ + race + married + nodegree + re74 + re75"
RTOL = 1e-6


@pytest.fixture(scope="module")
def ref():
    return json.loads((REPO / "tests" / "reference" / "observational_weights.json").read_text())


@pytest.fixture(scope="module")
def mref():
    return json.loads((REPO / "tests" / "reference" / "observational_matching.json").read_text())


@pytest.fixture(scope="module")
def ps_reg():
    return ob.propensity_score(pd.read_csv(REGISTRY), PS_REG)


@pytest.fixture(scope="module")
def ps_lal():
    return ob.propensity_score(pd.read_csv(LALONDE), PS_LAL, treatment="treat")


def test_inputs_are_the_ones_r_read(ref, mref):
    assert hashlib.md5(REGISTRY.read_bytes()).hexdigest() == ref["meta"]["md5_registry"]
    assert hashlib.md5(LALONDE.read_bytes()).hexdigest() == ref["meta"]["md5_lalonde"] == mref["meta"]["md5_lalonde"]


def test_multinomial_ps_matches_nnet_multinom(ps_reg, ref):
    r = ref["registry_ps"]
    np.testing.assert_allclose(ps_reg.coefficients["estimate"], r["coef"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ps_reg.coefficients["se"], r["se"], rtol=1e-6)
    np.testing.assert_allclose(ps_reg.probabilities[:10], r["P_head"], rtol=1e-6)
    np.testing.assert_allclose(ps_reg.probabilities.mean(axis=0), r["P_colmeans"], rtol=1e-6)


def test_logistic_ps_matches_glm(ps_lal, ref):
    r = ref["lalonde_ps"]
    np.testing.assert_allclose(ps_lal.coefficients["estimate"], r["coef"], rtol=1e-6)
    np.testing.assert_allclose(ps_lal.coefficients["se"], r["se"], rtol=1e-6)
    np.testing.assert_allclose(ps_lal.probabilities[:10, 1], r["P_head"], rtol=1e-6)


def _balance_close(table: pd.DataFrame, r_rows: list[dict]):
    rb = pd.DataFrame(r_rows)
    assert table["covariate"].tolist() == rb["covariate"].tolist()
    assert table["first"].tolist() == rb["first"].tolist()
    for col in ("smd_before", "smd_after", "vr_before", "vr_after"):
        np.testing.assert_allclose(table[col].to_numpy(float), rb[col].to_numpy(float), rtol=RTOL, atol=1e-9,
                                   equal_nan=True, err_msg=col)


@pytest.mark.parametrize("estimand,target", [("ATE", None), ("ATT", "combined"), ("overlap", None)])
def test_weights_balance_and_weighted_means(ps_reg, ref, estimand, target):
    r = ref[f"registry_{estimand}"]
    w = ob.iptw(ps_reg, estimand, target=target)
    np.testing.assert_allclose(w.weights[:10], r["weights_head"], rtol=RTOL)
    np.testing.assert_allclose(w.table["sum_weights"], r["weights_sum"], rtol=RTOL)
    np.testing.assert_allclose(w.table["ess"], r["ess"], rtol=RTOL)
    _balance_close(ob.balance(w).balance, r["balance"])
    stacked = ob.weighted_means(w, "pain")
    np.testing.assert_allclose(stacked.by_arm["estimate"], r["means"], rtol=RTOL)
    np.testing.assert_allclose(stacked.vcov, r["stacked_vcov"], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(stacked.contrasts["se"], np.array(r["stacked_contrasts"])[:, 1], rtol=RTOL)
    known = ob.weighted_means(w, "pain", se="known")
    np.testing.assert_allclose(known.by_arm["estimate"], r["svy_means"], rtol=RTOL)
    np.testing.assert_allclose(known.vcov, r["svy_vcov"], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(known.contrasts["se"], np.array(r["svy_contrasts"])[:, 1], rtol=RTOL)


def test_stabilised_and_truncated_weights(ps_reg, ref):
    s = ob.iptw(ps_reg, "ATE", stabilize=True)
    np.testing.assert_allclose(s.weights[:10], ref["registry_ATE_stabilized"]["weights_head"], rtol=RTOL)
    np.testing.assert_allclose(s.table["ess"], ref["registry_ATE_stabilized"]["ess"], rtol=RTOL)
    t = ob.iptw(ps_reg, "ATE", truncate=0.99)
    r = ref["registry_ATE_truncated"]
    assert int(t.table["n_truncated"].sum()) == r["n_truncated"] == int(t.truncated.sum())
    np.testing.assert_allclose(t.weights.max(), r["cap"], rtol=RTOL)
    np.testing.assert_allclose(t.table["ess"], r["ess"], rtol=RTOL)


def test_aipw_continuous_and_evalues(ps_reg, ref):
    r = ref["registry_aipw_pain"]
    a = ob.aipw(ps_reg, "pain")
    np.testing.assert_allclose(a.by_arm["estimate"], r["means"], rtol=RTOL)
    np.testing.assert_allclose(a.vcov, r["vcov"], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(a.contrasts[["estimate", "se"]].to_numpy(), r["contrasts"], rtol=RTOL)
    np.testing.assert_allclose(a.sd_outcome, r["sd_outcome"], rtol=1e-12)
    e = ob.evalues(a)
    np.testing.assert_allclose(e["evalue"], r["evalue"], rtol=RTOL)
    np.testing.assert_allclose(e["evalue_ci"], r["evalue_ci"], rtol=RTOL)


def test_aipw_binary_risk_ratios_and_evalues(ps_reg, ref):
    r = ref["registry_aipw_recovered"]
    a = ob.aipw(ps_reg, "recovered")
    np.testing.assert_allclose(a.by_arm["estimate"], r["means"], rtol=RTOL)
    np.testing.assert_allclose(a.vcov, r["vcov"], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(a.ratios["estimate"], r["rr"], rtol=RTOL)
    np.testing.assert_allclose(a.ratios["se"], r["log_se"], rtol=RTOL)
    e = ob.evalues(a)
    np.testing.assert_allclose(e["evalue"], r["evalue"], rtol=RTOL)
    np.testing.assert_allclose(e["evalue_ci"], r["evalue_ci"], rtol=RTOL)


def test_evalue_formulas(ref):
    r = ref["evalues"]
    # VanderWeele & Ding 2017, Ann Intern Med: RR 3.9 (1.8 to 8.7) -> E-value 7.26, for the CI 3.0 (published)
    ex = ob.evalue(3.9, 1.8, 8.7)
    np.testing.assert_allclose(ex[["evalue", "evalue_ci"]].to_numpy()[0], r["rr_example"], rtol=1e-12)
    assert round(float(ex["evalue"].iloc[0]), 2) == 7.26 and round(float(ex["evalue_ci"].iloc[0]), 1) == 3.0
    o = ob.evalue(2.0, 1.5, 2.6, measure="OR", rare=False)
    np.testing.assert_allclose(o[["evalue", "evalue_ci"]].to_numpy()[0], r["or_common"], rtol=1e-12)
    h = ob.evalue(0.6, 0.45, 0.8, measure="HR", rare=False)
    np.testing.assert_allclose(h[["evalue", "evalue_ci"]].to_numpy()[0], r["hr_common"], rtol=1e-12)
    rare = ob.evalue(2.0, 1.5, 2.6, measure="OR", rare=True)
    np.testing.assert_allclose(rare["evalue"], ob.evalue(2.0)["evalue"])


def test_lalonde_att_weights(ps_lal, ref):
    r = ref["lalonde_ATT"]
    w = ob.iptw(ps_lal, "ATT")
    assert w.target == "1"
    np.testing.assert_allclose(w.table["sum_weights"], r["weights_sum"], rtol=RTOL)
    np.testing.assert_allclose(w.table["ess"], r["ess"], rtol=RTOL)
    _balance_close(ob.balance(w, pairs=[("1", "0")]).balance, r["balance"])
    m = ob.weighted_means(w, "re78")
    np.testing.assert_allclose(m.by_arm["estimate"], r["means"], rtol=RTOL)
    np.testing.assert_allclose(m.vcov, r["stacked_vcov"], rtol=RTOL)
    k = ob.weighted_means(w, "re78", se="known")
    np.testing.assert_allclose(k.vcov, r["svy_vcov"], rtol=RTOL, atol=1e-6)


@pytest.mark.parametrize("replace", [False, True])
def test_matching_matches_matchit(ps_lal, mref, replace):
    r = mref["with_replacement" if replace else "without_replacement"]
    m = ob.match(ps_lal, caliper=0.2, replace=replace, outcome="re78")
    np.testing.assert_allclose(m.caliper_width, r["caliper"], rtol=RTOL)
    assert dict(zip(m.pairs["treated_row"], m.pairs["control_row"])) == dict(zip(r["pairs_treated"],
                                                                                  r["pairs_control"]))
    np.testing.assert_allclose(m.weights, r["weights"], rtol=1e-12, atol=1e-12)
    assert m.counts.set_index("arm").loc[["0", "1"], "matched"].tolist() == r["n_matched"]
    np.testing.assert_allclose(m.effect["estimate"].iloc[0], r["att"], rtol=RTOL)
    np.testing.assert_allclose(m.effect["se"].iloc[0], r["att_se"], rtol=RTOL)
    assert m.balance["covariate"].tolist() == ["age", "educ", "race: black", "race: hispan", "race: white",
                                               "married", "nodegree", "re74", "re75"]
    np.testing.assert_allclose(m.balance["smd_before"], r["smd_before"][1:], rtol=RTOL)
    np.testing.assert_allclose(m.balance["smd_after"], r["smd_after"][1:], rtol=RTOL, atol=1e-12)
    vr = np.array([np.nan if v == "NA" else v for v in r["vr_after"][1:]], float)
    np.testing.assert_allclose(m.balance["vr_after"], vr, rtol=RTOL, equal_nan=True)


@pytest.mark.parametrize("key,outcome,covariates,rtol_svy", [
    ("registry_wreg_linear", "pain", "pain0 + age + sex + log(pain_duration)", RTOL),
    # svyglm's logistic vcov uses the IRLS working weights of its last iteration (glm epsilon 1e-8): 1e-4
    ("registry_wreg_logistic", "recovered", "pain0 + sex", 1e-4),
    ("registry_wreg_poisson", "count", "pain0 + sex", 1e-4)])
def test_weighted_regression_matches_svyglm_and_stacked_sandwich(ps_reg, ref, key, outcome, covariates, rtol_svy):
    r = ref[key]
    if outcome == "count":  # week-12 pain rounded to whole points, as the R script does
        data = ps_reg.data.assign(count=np.maximum(np.round(ps_reg.data["pain"]), 0))
        ps = ob.propensity_score(data, PS_REG)
        w = ob.iptw(ps)
        family = "poisson"
    else:
        w = ob.iptw(ps_reg)
        family = "auto"
    known = ob.weighted_regression(w, outcome, covariates, se="known", family=family)
    assert [t.replace("[", "").replace("]", "") for t in known.terms] == r["terms"]
    np.testing.assert_allclose(known.beta, r["coef"], rtol=RTOL, atol=1e-8)
    np.testing.assert_allclose(known.vcov, r["svy_vcov"], rtol=rtol_svy, atol=1e-10)
    stacked = ob.weighted_regression(w, outcome, covariates, family=family)
    np.testing.assert_allclose(stacked.beta, r["stacked_coef"], rtol=RTOL, atol=1e-8)
    np.testing.assert_allclose(stacked.vcov, r["stacked_vcov"], rtol=RTOL, atol=1e-12)
    if outcome == "recovered":
        c = stacked.contrasts.set_index("contrast")
        np.testing.assert_allclose(c.loc["combined - physio", "estimate"], np.exp(stacked.beta[2]), rtol=1e-12)


@pytest.mark.parametrize("estimand", ["ATE", "overlap"])
def test_weighted_cox_matches_coxph_robust(ps_reg, ref, estimand):
    r = ref[f"registry_cox_{estimand}"]
    res = ob.weighted_cox(ob.iptw(ps_reg, estimand), "work_weeks", "returned", se="known")
    np.testing.assert_allclose(res.beta, r["coef"], rtol=RTOL)
    np.testing.assert_allclose(res.vcov, r["vcov"], rtol=RTOL)
    stacked = ob.weighted_cox(ob.iptw(ps_reg, estimand), "work_weeks", "returned")
    np.testing.assert_allclose(stacked.vcov, r["stacked_vcov"], rtol=1e-5)  # both use numerical derivatives
    hr = res.compare(adjust="none").set_index("contrast")
    np.testing.assert_allclose(hr.loc["combined - physio", "estimate"], np.exp(r["coef"][1]), rtol=RTOL)
