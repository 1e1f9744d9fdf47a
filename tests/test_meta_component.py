"""Component network meta-analysis against netmeta 3.4-0 netcomb/discomb (tests/reference/meta_network.R)."""

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


@pytest.fixture(scope="module")
def linde_nma():
    arms = pd.read_csv(DS / "netmeta_Linde2016/linde2016.csv")
    arms["label"] = arms["author"] + " " + arms["year"].astype(str)
    pw = meta.pairwise(arms, study="label", treatment="int", event="resp", n="n", measure="OR")
    # response is good: large odds ratios are desirable
    return meta.netmeta(pw, reference="Placebo", small_values="undesirable")


@pytest.fixture(scope="module")
def baker_nma():
    arms = pd.read_csv(DS / "netmeta_Baker2009/baker2009.csv")
    arms["label"] = arms["study"] + " " + arms["year"].astype(str)
    pw = meta.pairwise(arms, study="label", treatment="treatment", event="exac", n="total", measure="OR")
    return meta.netmeta(pw, reference="Placebo")


def check_cnma(res, ref):
    for model in ("common", "random"):
        comp = res.components.query("model == @model").set_index("component")
        rc, rs = pd.Series(ref[f"Comp.{model}"]), pd.Series(ref[f"seComp.{model}"])
        np.testing.assert_allclose(comp.loc[rc.index, "estimate"], rc, atol=TOL, err_msg=model)
        np.testing.assert_allclose(comp.loc[rs.index, "se"], rs, atol=TOL, err_msg=model)
        comb = res.combinations.query("model == @model").set_index("treatment")
        rc, rs = pd.Series(ref[f"Comb.{model}"]), pd.Series(ref[f"seComb.{model}"])
        np.testing.assert_allclose(comb.loc[rc.index, "estimate"], rc, atol=TOL, err_msg=model)
        np.testing.assert_allclose(comb.loc[rs.index, "se"], rs, atol=TOL, err_msg=model)
    a = res.additivity.set_index("model")
    assert a.loc["additive", "Q"] == pytest.approx(ref["Q.additive"], abs=TOL)
    assert a.loc["additive", "df"] == ref["df.Q.additive"]
    if ref.get("Q.diff") is not None:
        assert a.loc["difference", "Q"] == pytest.approx(ref["Q.diff"], abs=TOL)
        assert a.loc["difference", "df"] == ref["df.Q.diff"]
        assert a.loc["difference", "p"] == pytest.approx(ref["pval.Q.diff"], abs=TOL)
    if ref.get("tau") is not None:
        assert np.sqrt(res.tau2) == pytest.approx(ref["tau"], abs=TOL)


def test_linde_additive_cnma_matches_netcomb(linde_nma):
    ref = REF["linde"]
    assert np.sqrt(linde_nma.tau2) == pytest.approx(ref["tau"], abs=TOL)
    assert linde_nma.heterogeneity["Q"].iloc[0] == pytest.approx(ref["Q"], abs=TOL)
    res = meta.netcomb(linde_nma, inactive="Placebo")
    check_cnma(res, REF["linde_cnma"])
    te, se = res.effects("random")
    rte = REF["linde_cnma"]["TE.random"]
    rte = pd.DataFrame(np.array(rte["values"], dtype=float), index=rte["rows"], columns=rte["cols"])
    np.testing.assert_allclose(te.loc[rte.index, rte.columns], rte, atol=TOL)


def test_linde_interaction_matches_netcomb_and_verdict(linde_nma):
    res = meta.netcomb(linde_nma, inactive="Placebo", interactions=[("Face-to-face CBT", "SSRI")])
    check_cnma(res, REF["linde_interaction"])
    syn = meta.cnma_synergy(linde_nma, "Face-to-face CBT", "SSRI", inactive="Placebo")
    inter = REF["linde_interaction"]["Comp.random"]["Face-to-face CBT*SSRI"]
    assert syn.interaction["estimate"] == pytest.approx(inter, abs=TOL)
    assert syn.verdict in ("super-additive", "additive", "sub-additive")
    # larger odds ratios are good here and the interval is above 0 on the log scale
    assert (syn.interaction["ci_low"] > 0) == (syn.verdict == "super-additive")
    assert syn.summary().count("Verdict:") == 1


def test_baker_cnma_matches_netcomb_and_published(baker_nma):
    res = meta.netcomb(baker_nma, inactive="Placebo")
    check_cnma(res, REF["baker_cnma"])
    ps = res.ranking.set_index("treatment")["pscore_random"]
    ref_ps = pd.Series(REF["baker_cnma"]["Pscore.random"])
    np.testing.assert_allclose(ps.loc[ref_ps.index], ref_ps, atol=TOL)
    # Balduzzi et al. (2023), JSS 5.3: Q additive 62.74 (df 48), difference 1.88 (df 2, p 0.3908), tau^2 0.0101
    a = res.additivity.set_index("model")
    assert round(a.loc["additive", "Q"], 2) == 62.74 and a.loc["additive", "df"] == 48
    assert round(a.loc["difference", "Q"], 2) == 1.88 and round(a.loc["difference", "p"], 4) == 0.3908
    assert round(res.tau2, 4) == 0.0101
    h = res.heterogeneity.iloc[0]
    assert (round(h["I2"], 1), round(h["I2_low"], 1), round(h["I2_high"], 1)) == (23.5, 0.0, 46.7)
    assert h["I2_high"] == pytest.approx(100 * REF["baker_cnma"]["upper.I2"], abs=1e-6)
    comb = res.combinations.query("model == 'random'").set_index("treatment")
    assert round(float(np.exp(comb.loc["Budesonide+Formoterol", "estimate"])), 2) == 0.69


def test_discomb_disconnected_example():
    d = pd.read_csv(DS / "netmeta_discomb_example/discomb_example.csv")
    args = dict(TE="mean", seTE="se.mean", treat1="t1", treat2="t2")
    # study 5's three contrasts do not add up: an error by default, naming the study ...
    with pytest.raises(ct.DataError, match="inconsistent arm data.*study 5"):
        meta.discomb(d, **args)
    # ... and analysed as netmeta's discomb does when asked
    res = meta.discomb(d, inconsistent_multiarm="note", **args)
    check_cnma(res, REF["discomb"])
    assert any("study 5" in n for n in res.notes) and any("4 sub-networks" in n for n in res.notes)
    assert np.isnan(res.additivity.set_index("model").loc["difference", "Q"])


def test_discomb_of_connected_network_equals_netcomb(baker_nma):
    a = meta.netcomb(baker_nma, inactive="Placebo")
    b = meta.discomb(baker_nma.data, inactive="Placebo")
    pd.testing.assert_frame_equal(a.components, b.components, atol=1e-10)
    pd.testing.assert_frame_equal(a.additivity, b.additivity, atol=1e-10)


def test_unidentifiable_components_name_the_studies():
    # B and C only ever appear together: their effects cannot be separated
    d = pd.DataFrame({"study": ["s1", "s2", "s3"], "treat1": ["A", "B + C", "A + B + C"],
                      "treat2": ["P", "P", "A"], "TE": [0.3, 0.5, 0.6], "seTE": [0.1, 0.1, 0.1]})
    with pytest.raises(ct.ModelError, match="not identifiable.*B, C.*s2"):
        meta.discomb(d, inactive="P")
    with pytest.raises(ct.ModelError, match="interaction cannot be estimated"):
        meta.component.component_matrix(["A", "B", "P"], inactive="P", interactions=[("A", "B")])


@pytest.mark.parametrize("name", ["component"])
def test_docstring_examples_run(name):
    import doctest
    import importlib
    module = importlib.import_module(f"combotherapy.meta.{name}")
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE).failed == 0


def test_sucra_of_component_model_ranks_treatments(baker_nma):
    res = meta.netcomb(baker_nma, inactive="Placebo")
    r = meta.netrank(res, "SUCRA", nsim=4000, rng=np.random.default_rng(11))
    assert sorted(r["treatment"]) == sorted(res.trts)
    np.testing.assert_allclose(r["sucra"], r["pscore"], atol=0.03)
