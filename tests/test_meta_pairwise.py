"""Effect sizes and pairwise meta-analysis against metafor 3.8-1 (tests/reference/meta_pairwise.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy import meta

ROOT = Path(__file__).parents[1]
DS = ROOT / "src/combotherapy/datasets"
REF = json.loads((ROOT / "tests/reference/meta_pairwise.json").read_text())
ITERATIVE = ("SJ", "PM", "EB", "ML", "REML")   # SJ is closed-form but starts from an estimate; 1e-5 is still met


@pytest.fixture(scope="module")
def bcg():
    d = pd.read_csv(DS / "metafor_dat_bcg/dat_bcg.csv")
    es = meta.escalc("RR", d, ai="tpos", bi="tneg", ci="cpos", di="cneg", study="author")
    return es.assign(ablat=d["ablat"], year=d["year"], alloc=d["alloc"])


@pytest.fixture(scope="module")
def lee():
    d = pd.read_csv(DS / "metafor_dat_lee2004/dat_lee2004.csv")
    return meta.escalc("OR", d, ai="ai", n1i="n1i", ci="ci", n2i="n2i", study="study")


def _escalc_cases():
    bcg = pd.read_csv(DS / "metafor_dat_bcg/dat_bcg.csv")
    lee = pd.read_csv(DS / "metafor_dat_lee2004/dat_lee2004.csv")
    cont = pd.DataFrame(REF["cont"])
    out = {}
    for m in ("RR", "OR", "RD"):
        out[f"bcg_{m}"] = meta.escalc(m, bcg, ai="tpos", bi="tneg", ci="cpos", di="cneg")
        out[f"lee_{m}"] = meta.escalc(m, lee, ai="ai", n1i="n1i", ci="ci", n2i="n2i")
    for m in ("MD", "SMD"):
        out[f"cont_{m}"] = meta.escalc(m, cont, m1i="m1", sd1i="sd1", n1i="n1", m2i="m2", sd2i="sd2", n2i="n2")
    out["cont_IRR"] = meta.escalc("IRR", cont, x1i="x1", t1i="t1", x2i="x2", t2i="t2")
    return out


def test_escalc_matches_metafor():
    for name, es in _escalc_cases().items():
        ref = REF["escalc"][name]
        np.testing.assert_allclose(es["yi"], ref["yi"], rtol=0, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(es["vi"], ref["vi"], rtol=0, atol=1e-10, err_msg=name)


def test_escalc_states_continuity_correction():
    es = _escalc_cases()["cont_IRR"]
    assert es["corrected"].tolist() == [False, False, True, False]
    assert "continuity correction 0.5" in es.attrs["notes"][0]


@pytest.mark.parametrize("data", ["bcg_RR", "lee_OR"])
@pytest.mark.parametrize("method", ["FE", "DL", "HE", "SJ", "PM", "EB", "ML", "REML"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_rma_matches_metafor(bcg, lee, data, method, test):
    es = bcg if data == "bcg_RR" else lee
    ref = REF["rma"][f"{data}_{method}_{test}"]
    res = meta.rma(es, method=method, test=test)
    e, h = res.estimates.iloc[0], res.heterogeneity.iloc[0]
    tol_tau = 1e-5 if method in ITERATIVE else 1e-6
    assert h["tau2"] == pytest.approx(ref["tau2"], abs=tol_tau)
    tol = 1e-6
    assert e["estimate"] == pytest.approx(ref["b"], abs=tol)
    assert e["se"] == pytest.approx(ref["se"], abs=tol)
    assert e["statistic"] == pytest.approx(ref["zval"], abs=1e-5)
    assert e["p"] == pytest.approx(ref["pval"], abs=1e-6)
    assert e["ci_low"] == pytest.approx(ref["ci_lb"], abs=tol)
    assert e["ci_high"] == pytest.approx(ref["ci_ub"], abs=tol)
    if method != "FE":   # metafor gives no prediction interval for a common-effect model
        assert e["pi_low"] == pytest.approx(ref["pi_lb"], abs=1e-6)
        assert e["pi_high"] == pytest.approx(ref["pi_ub"], abs=1e-6)
    assert h["Q"] == pytest.approx(ref["QE"], abs=1e-8)
    assert h["Q_p"] == pytest.approx(ref["QEp"], abs=1e-8)
    assert h["I2"] == pytest.approx(ref["I2"], abs=1e-4)
    assert h["H2"] == pytest.approx(ref["H2"], abs=1e-5)


def test_bcg_headline_from_source(bcg):
    # SOURCE.md / Viechtbauer (2010): REML log RR -0.7145 (SE 0.1798), tau^2 0.3132
    res = meta.rma(bcg)
    assert round(float(res.estimates["estimate"].iloc[0]), 4) == -0.7145
    assert round(float(res.heterogeneity["tau2"].iloc[0]), 4) == 0.3132


def test_leave1out_matches_metafor(bcg, lee):
    ref = REF["leave1out_bcg_REML"]
    l1 = meta.leave1out(meta.rma(bcg))
    for col, rcol, tol in (("estimate", "estimate", 1e-6), ("se", "se", 1e-6), ("tau2", "tau2", 1e-5),
                           ("Q", "Q", 1e-8), ("I2", "I2", 1e-4), ("H2", "H2", 1e-4)):
        np.testing.assert_allclose(l1[col], ref[rcol], atol=tol, rtol=0, err_msg=col)
    ref = REF["leave1out_lee_DL_knha"]
    l2 = meta.leave1out(meta.rma(lee, method="DL", test="knha"))
    for col, rcol in (("estimate", "estimate"), ("se", "se"), ("p", "pval"), ("tau2", "tau2")):
        np.testing.assert_allclose(l2[col], ref[rcol], atol=1e-6, rtol=0, err_msg=col)


def test_influence_matches_metafor(bcg):
    ref = REF["influence_bcg_REML"]
    inf = meta.influence(meta.rma(bcg))
    for col, rcol in (("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"), ("cov_r", "cov_r"), ("tau2_del", "tau2_del"),
                      ("Q_del", "QE_del"), ("hat", "hat"), ("weight", "weight"), ("dfbetas_intercept", "dfbetas")):
        np.testing.assert_allclose(inf[col], ref[rcol], atol=1e-5, rtol=0, err_msg=col)


def test_regtest_matches_metafor(bcg, lee):
    for res, key, model in ((meta.rma(bcg), "bcg_rma", "rma"), (meta.rma(bcg), "bcg_lm", "lm"),
                            (meta.rma(lee, method="DL", test="knha"), "lee_knha", "rma")):
        t = meta.regtest(res, model=model).test.iloc[0]
        ref = REF["regtest"][key]
        assert t["statistic"] == pytest.approx(ref["zval"], abs=1e-5), key
        assert t["p"] == pytest.approx(ref["pval"], abs=1e-6), key
        assert t["limit"] == pytest.approx(ref["est"], abs=1e-6), key


@pytest.mark.parametrize("key", ["bcg_REML", "lee_FE", "lee_DL_knha", "lee_FE_R0"])
def test_trimfill_matches_metafor(bcg, lee, key):
    ref = REF["trimfill"][key]
    res = {"bcg_REML": lambda: meta.rma(bcg), "lee_FE": lambda: meta.rma(lee, method="FE"),
           "lee_DL_knha": lambda: meta.rma(lee, method="DL", test="knha"),
           "lee_FE_R0": lambda: meta.rma(lee, method="FE")}[key]()
    tf = meta.trimfill(res, estimator="R0" if key.endswith("R0") else "L0")
    assert tf.k0 == ref["k0"] and tf.side == ref["side"]
    assert float(tf.estimates["estimate"].iloc[0]) == pytest.approx(ref["b"], abs=1e-6)
    assert float(tf.estimates["se"].iloc[0]) == pytest.approx(ref["se"], abs=1e-6)
    assert tf.tau2 == pytest.approx(ref["tau2"], abs=1e-5)
    assert tf.studies["filled"].sum() == ref["k0"]
    np.testing.assert_allclose(tf.studies["yi"], ref["yi"], atol=1e-12)


def test_metareg_matches_metafor(bcg):
    ref = REF["metareg"]["bcg_ablat_year_REML"]
    r = meta.metareg(bcg, ["ablat", "year"])
    np.testing.assert_allclose(r.estimates["estimate"], ref["b"], atol=1e-5)
    np.testing.assert_allclose(r.estimates["se"], ref["se"], atol=1e-5)
    assert r.tau2 == pytest.approx(ref["tau2"], abs=1e-5)
    assert r.moderators["statistic"].iloc[0] == pytest.approx(ref["QM"], abs=1e-5)
    assert r.moderators["R2"].iloc[0] == pytest.approx(ref["R2"], abs=1e-3)
    ref = REF["metareg"]["bcg_alloc_DL_knha"]
    r = meta.metareg(bcg, ["alloc"], method="DL", test="knha")
    np.testing.assert_allclose(r.estimates["estimate"], ref["b"], atol=1e-6)
    np.testing.assert_allclose(r.estimates["se"], ref["se"], atol=1e-6)
    assert r.moderators["statistic"].iloc[0] == pytest.approx(ref["QM"], abs=1e-6)
    assert r.moderators["p"].iloc[0] == pytest.approx(ref["QMp"], abs=1e-6)
    assert (r.moderators["df"].iloc[0], r.moderators["df2"].iloc[0]) == tuple(ref["QMdf"])


def test_bad_rows_name_the_studies():
    d = pd.DataFrame({"study": ["Smith 2001", "Lee 2003", "Ng 2010"], "ai": [5, 12, 3], "n1i": [20, 10, 30],
                      "ci": [4, 6, -1], "n2i": [20, 15, 30]})
    with pytest.raises(ct.DataError) as err:
        meta.escalc("OR", d, ai="ai", n1i="n1i", ci="ci", n2i="n2i", study="study")
    msg = str(err.value)
    assert "events > n" in msg and "Lee 2003" in msg and "negative event count" in msg and "Ng 2010" in msg
    d2 = pd.DataFrame({"study": ["A", "B"], "m1": [1, 2], "s1": [-1.0, 1], "n1": [10, 10], "m2": [0, 0],
                       "s2": [1, 1], "n2": [10, 10]})
    with pytest.raises(ct.DataError, match="negative standard deviation.*A"):
        meta.escalc("MD", d2, m1i="m1", sd1i="s1", n1i="n1", m2i="m2", sd2i="s2", n2i="n2", study="study")


def test_rma_degenerate_inputs(bcg):
    with pytest.raises(ct.DataError, match="positive sampling variance"):
        meta.rma(bcg.assign(vi=np.where(np.arange(len(bcg)) == 2, 0.0, bcg["vi"])))
    with pytest.raises(ct.ModelError):
        meta.rma(bcg.iloc[:1], method="DL")
    # homogeneous studies: tau^2 truncated at zero, random = common
    same = pd.DataFrame({"yi": [0.1, 0.1, 0.1], "vi": [0.1, 0.2, 0.3]})
    assert meta.rma(same).tau2 == 0.0
    assert meta.rma(same).summary().startswith("Meta-analysis")


@pytest.mark.parametrize("name", ["effect_sizes", "pairwise_ma", "metareg"])
def test_docstring_examples_run(name):
    import doctest
    import importlib
    module = importlib.import_module(f"combotherapy.meta.{name}")
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE).failed == 0


def test_metareg_contrast_through_the_shared_engine_matches_metafor_anova(bcg):
    ref = REF["metareg"]["bcg_alloc_contrast"]
    r = meta.metareg(bcg, ["alloc"], method="DL", test="knha")
    c = r.contrast([[0, 1, -1]], ["random - systematic"]).iloc[0]
    assert c["estimate"] == pytest.approx(ref["est"], abs=1e-6)
    assert c["se"] == pytest.approx(ref["se"], abs=1e-6)
    assert c["statistic"] == pytest.approx(ref["zval"], abs=1e-6)
    assert c["p"] == pytest.approx(ref["pval"], abs=1e-6)
    # z-test model: normal reference, two contrasts Holm-adjusted by the same engine as every other result
    rz = meta.metareg(bcg, ["alloc"])
    two = rz.contrast([[0, 1, 0], [0, 0, 1]], ["random", "systematic"], adjust="holm")
    assert np.isinf(two["df"]).all() and (two["p_adj"] >= two["p"]).all()


def test_arm_level_pairwise_agrees_with_escalc_for_two_arm_studies():
    cont = pd.DataFrame(REF["cont"])
    cont["study"] = [f"s{i}" for i in range(len(cont))]
    arms = pd.concat([
        cont.assign(arm="T", mean=cont["m1"], sd=cont["sd1"], n=cont["n1"], x=cont["x1"], t=cont["t1"]),
        cont.assign(arm="C", mean=cont["m2"], sd=cont["sd2"], n=cont["n2"], x=cont["x2"], t=cont["t2"])],
        ignore_index=True).sort_values("study", kind="stable")
    md = meta.pairwise(arms, study="study", treatment="arm", mean="mean", sd="sd", n="n", measure="MD")
    np.testing.assert_allclose(md["TE"], REF["escalc"]["cont_MD"]["yi"], atol=1e-12)
    np.testing.assert_allclose(md["seTE"] ** 2, REF["escalc"]["cont_MD"]["vi"], atol=1e-12)
    irr = meta.pairwise(arms, study="study", treatment="arm", event="x", time="t", measure="IRR")
    # study 3 has a zero count: both conventions add 0.5 to the counts of that study
    np.testing.assert_allclose(irr["TE"], REF["escalc"]["cont_IRR"]["yi"], atol=1e-12)
    np.testing.assert_allclose(irr["seTE"] ** 2, REF["escalc"]["cont_IRR"]["vi"], atol=1e-12)
