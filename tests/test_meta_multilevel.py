"""Multilevel / multivariate meta-analysis against metafor 3.8-1 rma.mv (tests/reference/meta_multilevel.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy import meta

ROOT = Path(__file__).parents[1]
DS = ROOT / "src/combotherapy/datasets"
REF = json.loads((ROOT / "tests/reference/meta_multilevel.json").read_text())


def _read(name):
    return pd.read_csv(DS / f"metafor_dat_{name}/dat_{name}.csv")


@pytest.fixture(scope="module")
def kon():
    d = _read("konstantopoulos2011")
    return d.assign(year_c=d["year"] - 1990)   # the reference's I(year - 1990)


@pytest.fixture(scope="module")
def ass():
    return _read("assink2016")


@pytest.fixture(scope="module")
def ber():
    return _read("berkey1998")


def vcalc(d, rho):
    """metafor's vcalc(vi, cluster=study, obs=esid, rho=rho): rho sqrt(vi vj) within a study (written out)."""
    same = d["study"].to_numpy()[:, None] == d["study"].to_numpy()[None, :]
    s = np.sqrt(d["vi"].to_numpy())
    V = np.where(same, rho * np.outer(s, s), 0.0)
    np.fill_diagonal(V, d["vi"].to_numpy())
    return V


def berkey_blocks(d):
    """The 2 x 2 sampling covariance of each trial's two outcomes, in row order (metafor's bldiag)."""
    return [d.loc[d["trial"] == t, ["v1i", "v2i"]].to_numpy() for t in d["trial"].unique()]


def _cases(kon, ass, ber):
    out = {}
    for m in ("REML", "ML"):
        out[f"kon_{m}"] = lambda m=m: meta.rma_mv(kon, random=["district", "school"], method=m)
        out[f"kon_year_{m}"] = lambda m=m: meta.rma_mv(kon, random="~ 1 | district/school", mods=["year_c"], method=m)
        out[f"ass_{m}"] = lambda m=m: meta.rma_mv(ass, random=["study", "esid"], method=m)
        out[f"ass_deltype_{m}"] = lambda m=m: meta.rma_mv(ass, random=["study", "esid"], mods=["deltype"], method=m)
    out["kon_year_REML_t"] = lambda: meta.rma_mv(kon, random=["district", "school"], mods=["year_c"], test="t")
    out["kon_year_REML_t_contain"] = lambda: meta.rma_mv(kon, random=["district", "school"], mods=["year_c"],
                                                         test="t", dfs="contain")
    out["ass_deltype_REML_t_contain"] = lambda: meta.rma_mv(ass, random=["study", "esid"], mods=["deltype"],
                                                            test="t", dfs="contain")
    V = vcalc(ass, REF["assink_V_rho"])
    out["ass_V_REML"] = lambda: meta.rma_mv(ass, V=V, random=["study", "esid"])
    out["ass_V_deltype_ML"] = lambda: meta.rma_mv(ass, V=V, random=["study", "esid"], mods=["deltype"], method="ML")
    for m in ("REML", "ML"):
        out[f"ber_{m}"] = lambda m=m: meta.rma_mv(ber, V=berkey_blocks(ber), random=["trial"], mods=["outcome"],
                                                  intercept=False, method=m)
    toy = pd.DataFrame(REF["toy"])
    for m in ("REML", "ML"):
        out[f"toy_{m}"] = lambda m=m: meta.rma_mv(toy, random=["district", "school"], method=m)
        out[f"toy2_{m}"] = lambda m=m: meta.rma_mv(toy, yi="yi2", random=["district", "school"], method=m)
    return out


CASES = list(REF["fits"])


@pytest.mark.parametrize("case", CASES)
def test_rma_mv_matches_metafor(case, kon, ass, ber):
    ref = REF["fits"][case]
    res = _cases(kon, ass, ber)[case]()
    e = res.estimates
    for col, key in (("estimate", "b"), ("se", "se"), ("statistic", "zval"), ("ci_low", "ci_lb"),
                     ("ci_high", "ci_ub")):
        np.testing.assert_allclose(e[col], np.atleast_1d(ref[key]), rtol=0, atol=1e-6, err_msg=f"{case} {col}")
    np.testing.assert_allclose(e["p"], np.atleast_1d(ref["pval"]), rtol=1e-5, atol=1e-9, err_msg=case)
    if ref["ddf"] is not None:
        np.testing.assert_array_equal(e["df"], np.atleast_1d(ref["ddf"]))
    vc = res.variance_components
    np.testing.assert_allclose(vc["sigma2"], np.atleast_1d(ref["sigma2"]), rtol=0, atol=1e-5, err_msg=case)
    assert vc["levels"].tolist() == list(np.atleast_1d(ref["nlevels"]))
    h = res.heterogeneity.iloc[0]
    np.testing.assert_allclose(h["Q"], ref["QE"], rtol=1e-10, err_msg=case)
    np.testing.assert_allclose(h["Q_p"], ref["QEp"], rtol=1e-6, atol=1e-300, err_msg=case)
    f = res.fit.iloc[0]
    for col, key in (("logLik", "ll"), ("deviance", "dev"), ("AIC", "AIC"), ("BIC", "BIC"), ("AICc", "AICc")):
        np.testing.assert_allclose(f[col], ref[key], rtol=0, atol=1e-6, err_msg=f"{case} {col}")
    np.testing.assert_allclose([res.ll_ml, res.ll_reml], [ref["ll_ML"], ref["ll_REML"]], rtol=0, atol=1e-6)
    np.testing.assert_allclose(h["I2"], ref["I2"], rtol=0, atol=1e-5, err_msg=case)
    np.testing.assert_allclose(res.studies["weight"], ref["weights"], rtol=0, atol=1e-6, err_msg=case)
    if ref["pi"] is not None:
        np.testing.assert_allclose(e[["pi_low", "pi_high"]].iloc[0], ref["pi"], rtol=0, atol=1e-6, err_msg=case)
    else:
        assert "pi_low" not in e
    if len(res.moderators):
        mod = res.moderators.iloc[0]
        np.testing.assert_allclose(mod["statistic"], ref["QM"], rtol=1e-6, err_msg=case)
        np.testing.assert_allclose(mod["p"], ref["QMp"], rtol=1e-5, atol=1e-12, err_msg=case)
        assert mod["df"] == ref["QMdf"][0]


@pytest.mark.parametrize("case", list(REF["lrt"]))
def test_likelihood_ratio_test_matches_metafor_anova(case, kon, ass):
    ref = REF["lrt"][case]
    if case.startswith("kon"):
        full = meta.rma_mv(kon, random=["district", "school"])
        j = 0 if case.endswith("district") else 1
    else:
        full = meta.rma_mv(ass, random=["study", "esid"], method="ML")
        j = 1
    out = full.test_component(j)
    red = out.iloc[1]
    np.testing.assert_allclose(red["LRT"], ref["LRT"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(red["p"], ref["pval"], rtol=1e-5)
    np.testing.assert_allclose(out["logLik"], [ref["ll_full"], ref["ll_reduced"]], rtol=0, atol=1e-6)
    np.testing.assert_allclose(out["AIC"], [ref["AIC_full"], ref["AIC_reduced"]], rtol=0, atol=1e-6)
    assert out["parameters"].tolist() == [ref["df_full"], ref["df_reduced"]]


def test_one_level_is_the_random_effects_model(kon):
    """With one level holding every row and independent errors, rma.mv is rma.uni (REML and ML)."""
    for m in ("REML", "ML"):
        mv = meta.rma_mv(kon, random=["study"], mods=["year_c"], method=m)
        uni = meta.rma(kon, mods=["year_c"], method=m)
        np.testing.assert_allclose(mv.b, uni.b, rtol=0, atol=1e-8)
        np.testing.assert_allclose(mv.estimates["se"], uni.estimates["se"], rtol=0, atol=1e-8)
        np.testing.assert_allclose(mv.sigma2[0], uni.tau2, rtol=0, atol=1e-8)
        np.testing.assert_allclose(mv.heterogeneity["Q"].iloc[0], uni.heterogeneity["Q"].iloc[0], rtol=1e-10)


def test_block_list_equals_full_matrix_and_row_order_does_not_matter(ber):
    blocks = berkey_blocks(ber)
    full = np.zeros((10, 10))
    for i, b in enumerate(blocks):
        full[2 * i:2 * i + 2, 2 * i:2 * i + 2] = b
    a = meta.rma_mv(ber, V=blocks, random=["trial"], mods=["outcome"], intercept=False)
    b = meta.rma_mv(ber, V=full, random=["trial"], mods=["outcome"], intercept=False)
    perm = np.random.default_rng(1).permutation(10)
    c = meta.rma_mv(ber.iloc[perm], V=full[np.ix_(perm, perm)], random=["trial"], mods=["outcome"], intercept=False)
    for r in (b, c):
        np.testing.assert_allclose(r.b, a.b, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.sigma2, a.sigma2, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.loglik, a.loglik, rtol=0, atol=1e-10)


def test_contrast_and_test_use_the_shared_engine(ass):
    res = meta.rma_mv(ass, random=["study", "esid"], mods=["deltype"], test="t", dfs="contain")
    out = res.test([[0, 1, -1]], "overt - covert")
    # independent computation of the same contrast; df: the smallest of the two coefficients' (metafor's rule)
    L = np.array([0, 1, -1.0])
    est, se = L @ res.b, np.sqrt(L @ res.vb @ L)
    row = out.iloc[0]
    assert list(out.columns[:4]) == ["contrast", "estimate", "se", "df"]
    np.testing.assert_allclose([row["estimate"], row["se"], row["df"]], [est, se, 97.0], rtol=1e-12)
    from scipy import stats
    np.testing.assert_allclose(row["p"], 2 * stats.t.sf(abs(est / se), 97), rtol=1e-10)
    assert res.coefficients is res.estimates
    assert "moderators" in res.tables and "moderators" not in meta.rma_mv(ass, random=["study", "esid"]).tables
    assert res.to_json()["tables"]["variance_components"][0]["component"] == "study"


def test_bad_input_is_named(kon):
    bad = kon.copy()
    bad.loc[[3, 7], "school"] = np.nan
    with pytest.raises(ct.DataError) as e:
        meta.rma_mv(bad, random=["district", "school"])
    assert e.value.problems[0].column == "school" and e.value.problems[0].rows == (3, 7)
    bad = kon.assign(vi=kon["vi"].where(kon.index != 5, 0.0))
    with pytest.raises(ct.DataError, match="positive sampling variance") as e:
        meta.rma_mv(bad, random=["district", "school"], study="study")
    assert e.value.problems[0].rows == (5,) and "[study 6]" in str(e.value)


def test_non_positive_definite_V_names_the_studies(ber):
    blocks = berkey_blocks(ber)
    blocks[2] = np.array([[0.0021, 0.01], [0.01, 0.0014]])   # trial 3: covariance larger than the variances allow
    with pytest.raises(ct.DataError, match="not positive definite") as e:
        meta.rma_mv(ber, V=blocks, random=["trial"], mods=["outcome"], intercept=False, study="author")
    assert e.value.problems[0].rows == (4, 5) and "study Knowles et al." in str(e.value)
    with pytest.raises(ct.DataError, match="10 x 10"):
        meta.rma_mv(ber, V=np.eye(9), random=["trial"])


def test_more_components_than_levels_is_a_model_error(kon):
    with pytest.raises(ct.ModelError, match="cannot be told apart") as e:
        meta.rma_mv(kon, random=["study", "school"])          # one school per study: two names for one level
    assert e.value.kind == "not identifiable"
    with pytest.raises(ct.ModelError, match="single group"):
        meta.rma_mv(kon.assign(one=1), random=["one", "study"])
    small = kon.iloc[2:6]
    with pytest.raises(ct.ModelError, match="4 effect sizes cannot estimate"):
        meta.rma_mv(small, random=["district", "school"], mods=["year_c"])


def test_forest_plot_draws_the_multilevel_model(kon):
    res = meta.rma_mv(kon, random=["district", "school"], study="study")
    d = ct.plot.meta.forest_data(res)
    assert d["kind"].tolist() == ["study"] * 56 + ["pooled", "prediction"]
    np.testing.assert_allclose(d["weight"].iloc[:56].sum(), 100)
    fig = ct.plot.meta.forest(res)
    assert len(fig.axes) == 1


def test_docstring_examples_run():
    import doctest
    import importlib
    module = importlib.import_module("combotherapy.meta.multilevel")
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE).failed == 0


def test_arguments_and_nesting_checks(kon):
    with pytest.raises(ct.ArgumentError):
        meta.rma_mv(kon, random=["district", "school"], method="DL")
    with pytest.raises(ct.ModelError, match="one value per variance component"):
        meta.rma_mv(kon, random=["district", "school"], sigma2=[None])
    full = meta.rma_mv(kon, random=["district", "school"], mods=["year_c"])
    with pytest.raises(ct.ModelError, match="method='ML'"):
        meta.lrt(full, meta.rma_mv(kon, random=["district", "school"], sigma2=[0, None]))
    # a fixed component stays where it was put, and the fit is the one-level model
    fixed = meta.rma_mv(kon, random=["district", "school"], sigma2=[0, None])
    one = meta.rma_mv(kon, random=["study"])
    assert fixed.variance_components["fixed"].tolist() == [True, False] and fixed.sigma2[0] == 0
    np.testing.assert_allclose([fixed.b[0], fixed.sigma2[1], fixed.loglik], [one.b[0], one.sigma2[0], one.loglik],
                               rtol=0, atol=1e-9)
