"""Network meta-analysis against netmeta 3.4-0 (tests/reference/meta_network.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy import meta

ROOT = Path(__file__).parents[1]
DS = ROOT / "src/combotherapy/datasets"
REF = json.loads((ROOT / "tests/reference/meta_network.json").read_text())
TOL = 1e-6


def rmat(m):
    return pd.DataFrame(np.array(m["values"], dtype=float), index=m["rows"], columns=m["cols"])


def smoking_arms():
    w = pd.read_csv(DS / "netmeta_smokingcessation/smokingcessation.csv", keep_default_na=False, na_values=[""])
    w["study"] = np.arange(1, len(w) + 1).astype(str)   # netmeta labels the studies by row number
    long = pd.wide_to_long(w, ["event", "n", "treat"], i="study", j="arm").reset_index()
    long = long[long["treat"].notna() & (long["treat"] != "")].sort_values(["study", "arm"], key=lambda s: s.astype(int))
    return long


@pytest.fixture(scope="module")
def senn():
    d = pd.read_csv(DS / "netmeta_Senn2013/senn2013.csv")
    return meta.netmeta(d, study="studlab", reference="plac")


@pytest.fixture(scope="module")
def smoke():
    pw = meta.pairwise(smoking_arms(), study="study", treatment="treat", event="event", n="n", measure="OR")
    return pw, meta.netmeta(pw, reference="A", small_values="undesirable")


def check_nma(res, ref, models=("common", "random")):
    for model in models:
        te, se = res.effects(model)
        rte, rse = rmat(ref[f"TE.{model}"]), rmat(ref[f"seTE.{model}"])
        np.testing.assert_allclose(te.loc[rte.index, rte.columns], rte, atol=TOL, rtol=0)
        np.testing.assert_allclose(se.loc[rse.index, rse.columns], rse, atol=TOL, rtol=0)
    h = res.heterogeneity.iloc[0]
    assert h["tau2"] == pytest.approx(ref["tau2"], abs=TOL)
    assert h["Q"] == pytest.approx(ref["Q"], abs=TOL)
    assert h["df"] == ref["df.Q"]
    for col, rcol in (("I2", "I2"), ("I2_low", "lower.I2"), ("I2_high", "upper.I2")):
        assert h[col] == pytest.approx(100 * ref[rcol], abs=1e-6), col


def test_senn_matches_netmeta(senn):
    ref = REF["senn"]
    check_nma(senn, ref)
    d = senn.decomposition.set_index("source")
    np.testing.assert_allclose(d.loc[["total", "within designs", "between designs"], "Q"], ref["Q.decomp"]["Q"], atol=TOL)
    assert d.loc[["total", "within designs", "between designs"], "df"].tolist() == ref["Q.decomp"]["df"]
    assert d.loc["between designs (random)", "Q"] == pytest.approx(ref["Q.inc.random"]["Q"], abs=TOL)
    assert d.loc["between designs (random)", "tau_within"] == pytest.approx(ref["Q.inc.random"]["tau.within"], abs=TOL)
    for model in ("common", "random"):
        ps = senn.ranking.set_index("treatment")[f"pscore_{model}"]
        ref_ps = pd.Series(ref[f"Pscore.{model}"])
        np.testing.assert_allclose(ps.loc[ref_ps.index], ref_ps, atol=TOL)
    # the within-design Q per design sums to the within-designs total
    dh = meta.network.design_heterogeneity(senn)
    assert dh["Q"].sum() == pytest.approx(d.loc["within designs", "Q"], abs=1e-9)
    # netmeta also lists single-study designs (Q = 0)
    np.testing.assert_allclose(sorted(dh["Q"]), sorted(q for q in ref["Q.het.design"]["Q"] if q > 0), atol=TOL)


@pytest.mark.parametrize("model", ["common", "random"])
def test_senn_netsplit_matches_netmeta(senn, model):
    ref = pd.DataFrame(REF["senn"]["netsplit"])
    ref = ref[ref[f"p.{model}"].notna()].set_index("comparison")
    ns = meta.netsplit(senn, model).set_index("comparison")
    assert sorted(ns.index) == sorted(ref.index)
    ns = ns.loc[ref.index]
    for col, rcol in (("direct", f"direct.{model}"), ("se_direct", f"se.direct.{model}"),
                      ("indirect", f"indirect.{model}"), ("se_indirect", f"se.indirect.{model}"),
                      ("estimate", f"diff.{model}"), ("statistic", f"z.{model}"), ("p", f"p.{model}"),
                      ("prop_direct", f"prop.{model}")):
        np.testing.assert_allclose(ns[col], ref[rcol].astype(float), atol=TOL, err_msg=col)


def test_smoking_pairwise_and_nma_match_netmeta(smoke):
    pw, res = smoke
    ref = pd.DataFrame(REF["smoke_pairwise"]).assign(studlab=lambda f: f["studlab"].astype(str))
    got = pw.merge(ref, left_on=["study", "treat1", "treat2"], right_on=["studlab", "treat1", "treat2"])
    assert len(got) == len(ref) == len(pw) == 28
    np.testing.assert_allclose(got["TE_x"], got["TE_y"], atol=1e-12)
    np.testing.assert_allclose(got["seTE_x"], got["seTE_y"], atol=1e-12)
    assert any("continuity correction" in n for n in pw.attrs["notes"])
    check_nma(res, REF["smoke"])
    ps = res.ranking.set_index("treatment")["pscore_random"]
    # undesirable small values (quitting is good): netmeta's reference used "desirable", so P-scores mirror
    np.testing.assert_allclose(ps.loc[list(REF["smoke"]["Pscore.random"])], 1 - pd.Series(REF["smoke"]["Pscore.random"]),
                               atol=TOL)


def test_baker_drops_inestimable_study_and_matches_published():
    baker = pd.read_csv(DS / "netmeta_Baker2009/baker2009.csv")
    baker["label"] = baker["study"] + " " + baker["year"].astype(str)
    pw = meta.pairwise(baker, study="label", treatment="treatment", event="exac", n="total", measure="OR")
    assert "DalNegro 2003 2008" not in set(pw["study"])
    assert any("dropped" in n and "DalNegro" in n for n in pw.attrs["notes"])
    res = meta.netmeta(pw, reference="Placebo")
    check_nma(res, REF["baker"], models=("random",))
    # Balduzzi et al. (2023), JSS section 5.3: k = 38, tau^2 = 0.0111, Q within 43.20 (df 34), between 17.66 (df 12)
    assert pw["study"].nunique() == 38
    assert round(res.tau2, 4) == 0.0111
    h = res.heterogeneity.iloc[0]
    assert (round(h["I2"], 1), round(h["I2_low"], 1), round(h["I2_high"], 1)) == (24.4, 0.0, 47.7)
    d = res.decomposition.set_index("source")
    assert round(d.loc["within designs", "Q"], 2) == 43.20 and d.loc["within designs", "df"] == 34
    assert round(d.loc["between designs", "Q"], 2) == 17.66 and d.loc["between designs", "df"] == 12
    est = res.estimates.query("model == 'random'").set_index("treatment")
    assert round(float(np.exp(est.loc["Tiotropium", "estimate"])), 2) == 0.69
    ps = res.ranking.set_index("treatment")["pscore_random"]
    assert round(ps["Tiotropium"], 4) == pytest.approx(0.8719, abs=2e-4)


def test_disconnected_network_names_subnetworks():
    d = pd.read_csv(DS / "netmeta_discomb_example/discomb_example.csv")
    with pytest.raises(ct.DataError) as err:
        meta.netmeta(d, TE="mean", seTE="se.mean", treat1="t1", treat2="t2", study="study")
    msg = str(err.value)
    assert "disconnected" in msg and "sub-network 1" in msg and "sub-network 4" in msg and "discomb" in msg


def test_inconsistent_multiarm_and_incomplete_study_raise():
    d = pd.DataFrame({"study": ["s1", "s2", "s2", "s2"], "treat1": ["A", "A", "A", "B"], "treat2": ["B", "B", "C", "C"],
                      "TE": [0.5, 0.4, 0.9, 0.2], "seTE": [0.2, 0.2, 0.2, 0.2]})
    with pytest.raises(ct.DataError, match="inconsistent arm data.*s2"):
        meta.netmeta(d)
    with pytest.raises(ct.DataError, match="every pairwise comparison.*s2"):
        meta.netmeta(d.iloc[:3])
    arms = pd.DataFrame({"s": ["a", "a", "b"], "t": ["A", "B", "A"], "e": [1, 2, 3], "n": [10, 10, 10]})
    with pytest.raises(ct.DataError, match="single arm.*b"):
        meta.pairwise(arms, study="s", treatment="t", event="e", n="n", measure="OR")


def test_league_table_and_sucra(senn):
    lt = meta.league_table(senn, digits=2)
    assert lt.shape == (10, 10)
    assert lt.iloc[0, 0] == "rosi" and lt.iloc[0, 1] == ""
    r1 = meta.netrank(senn, "SUCRA", nsim=2000, rng=np.random.default_rng(7))
    r2 = meta.netrank(senn, "SUCRA", nsim=2000, rng=np.random.default_rng(7))
    pd.testing.assert_frame_equal(r1, r2)
    rank_cols = [c for c in r1 if c.startswith("rank_")]
    np.testing.assert_allclose(r1[rank_cols].sum(axis=1), 1.0)
    # SUCRA approximates the P-score (Rücker and Schwarzer 2015)
    np.testing.assert_allclose(r1["sucra"], r1["pscore"], atol=0.03)


def test_two_arm_only_network_equals_pairwise_rma():
    d = pd.DataFrame({"study": list("abcd"), "treat1": ["A"] * 4, "treat2": ["B"] * 4, "TE": [0.1, 0.5, 0.3, 0.9],
                      "seTE": [0.2, 0.3, 0.25, 0.4]})
    res = meta.netmeta(d, reference="B")
    pooled = meta.rma(d.rename(columns={"TE": "yi"}).assign(vi=d["seTE"] ** 2), method="DL")
    est = res.estimates.query("model == 'random'").iloc[0]
    assert est["estimate"] == pytest.approx(pooled.estimates["estimate"].iloc[0], abs=1e-10)
    assert est["se"] == pytest.approx(pooled.estimates["se"].iloc[0], abs=1e-10)


@pytest.mark.parametrize("name", ["network"])
def test_docstring_examples_run(name):
    import doctest
    import importlib
    module = importlib.import_module(f"combotherapy.meta.{name}")
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE).failed == 0


@pytest.mark.parametrize("measure", ["MD", "SMD"])
def test_pairwise_continuous_arms_match_meta(measure):
    arms = pd.read_csv(DS / "netmeta_Senn2013/senn2013_arms.csv")
    pw = meta.pairwise(arms, study="study", treatment="treatment", mean="mean", sd="sd", n="n", measure=measure)
    ref = pd.DataFrame(REF[f"senn_arms_{measure}"])
    got = pw.merge(ref, left_on=["study", "treat1", "treat2"], right_on=["studlab", "treat1", "treat2"])
    assert len(got) == len(ref) == len(pw) == 28
    np.testing.assert_allclose(got["TE_x"], got["TE_y"], atol=1e-12)
    np.testing.assert_allclose(got["seTE_x"], got["seTE_y"], atol=1e-12)


@pytest.mark.parametrize("measure", ["RR", "RD"])
def test_pairwise_binary_arms_match_meta(measure):
    pw = meta.pairwise(smoking_arms(), study="study", treatment="treat", event="event", n="n", measure=measure)
    ref = pd.DataFrame(REF[f"smoke_pairwise_{measure}"])
    got = pw.merge(ref, left_on=["study", "treat1", "treat2"], right_on=["studlab", "treat1", "treat2"])
    assert len(got) == len(ref) == 28
    np.testing.assert_allclose(got["TE_x"], got["TE_y"], atol=1e-12)
    np.testing.assert_allclose(got["seTE_x"], got["seTE_y"], atol=1e-12)


def test_messy_export_whitespace_text_numbers_and_missing_se():
    d = pd.DataFrame({"study": ["s1", "s2", "s3", "s4"], "treat1": [" A", "B ", "A", "A"],
                      "treat2": ["B", " C", "C ", "B"], "TE": ["0.5", "0.3", "0.4", "0.45"],
                      "seTE": ["0.2", "0.2", "0.25", ""]})
    res = meta.netmeta(d)
    assert res.trts == ["A", "B", "C"]
    assert any("left out" in n and "s4" in n for n in res.notes)      # dropped with a note, as netmeta
    assert res.data["study"].tolist() == ["s1", "s2", "s3"]
    arms = pd.DataFrame({"s": ["a", "a", "b", "b"], "t": ["A", "B", "A", "B"], "e": ["3", "x", "4", "5"],
                         "n": [20, 20, 20, 20]})
    with pytest.raises(ct.DataError, match="'e': is missing or not a number"):
        meta.pairwise(arms, study="s", treatment="t", event="e", n="n", measure="OR")


def test_homogeneous_network_has_zero_tau_and_equal_models():
    # consistent effects A-B = 0.2, B-C = 0.3, A-C = 0.5 with unbalanced precision
    d = pd.DataFrame({"study": ["s1", "s2", "s3", "s4"], "treat1": ["A", "B", "A", "A"], "treat2": ["B", "C", "C", "B"],
                      "TE": [0.2, 0.3, 0.5, 0.2], "seTE": [0.05, 0.3, 0.2, 0.4]})
    res = meta.netmeta(d, reference="A")
    assert res.tau2 == 0.0
    c = res.estimates.query("model == 'common'")["estimate"].to_numpy()
    r = res.estimates.query("model == 'random'")["estimate"].to_numpy()
    np.testing.assert_allclose(c, r)
    np.testing.assert_allclose(c, [-0.2, -0.5], atol=1e-12)   # B - A and C - A
