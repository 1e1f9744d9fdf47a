"""SIDDE node-splitting and ML/REML tau^2 in network meta-analysis against netmeta 3.4-0
(tests/reference/meta_network_sidde.R), plus independent checks."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy import meta

ROOT = Path(__file__).parents[1]
DS = ROOT / "src/combotherapy/datasets"
REF = json.loads((ROOT / "tests/reference/meta_network_sidde.json").read_text())
TOL = 1e-6


def rmat(m):
    return pd.DataFrame(np.array(m["values"], dtype=float), index=m["rows"], columns=m["cols"])


def senn_data():
    return pd.read_csv(DS / "netmeta_Senn2013/senn2013.csv")


def smoke_pairwise():
    w = pd.read_csv(DS / "netmeta_smokingcessation/smokingcessation.csv", keep_default_na=False, na_values=[""])
    w["study"] = np.arange(1, len(w) + 1).astype(str)   # netmeta labels the studies by row number
    long = pd.wide_to_long(w, ["event", "n", "treat"], i="study", j="arm").reset_index()
    long = long[long["treat"].notna() & (long["treat"] != "")].sort_values(["study", "arm"], key=lambda s: s.astype(int))
    return meta.pairwise(long, study="study", treatment="treat", event="event", n="n", measure="OR")


def linde_pairwise():
    arms = pd.read_csv(DS / "netmeta_Linde2016/linde2016.csv")
    arms["label"] = arms["author"] + " " + arms["year"].astype(str)
    return meta.pairwise(arms, study="label", treatment="int", event="resp", n="n", measure="OR")


def fit(name, method_tau="DL"):
    if name == "senn":
        return meta.netmeta(senn_data(), study="studlab", reference="plac", method_tau=method_tau)
    if name == "smoke":
        return meta.netmeta(smoke_pairwise(), reference="A", method_tau=method_tau)
    return meta.netmeta(linde_pairwise(), reference="Placebo", method_tau=method_tau)


def check_split(res, ref, model):
    ref = pd.DataFrame(ref)
    ref = ref[ref[f"p.{model}"].notna()].set_index("comparison")
    ns = meta.netsplit(res, model, method="SIDDE").set_index("comparison")
    assert len(ref) > 0
    assert sorted(ns.index) == sorted(ref.index)
    ns = ns.loc[ref.index]
    assert ns["k"].tolist() == ref["k"].tolist()
    for col, rcol in (("nma", model), ("direct", f"direct.{model}"), ("se_direct", f"se.direct.{model}"),
                      ("indirect", f"indirect.{model}"), ("se_indirect", f"se.indirect.{model}"),
                      ("estimate", f"diff.{model}"), ("se", f"se.diff.{model}"), ("statistic", f"z.{model}"),
                      ("p", f"p.{model}")):
        np.testing.assert_allclose(ns[col], ref[rcol].astype(float), atol=TOL, rtol=0, err_msg=col)


@pytest.mark.parametrize("model", ["common", "random"])
@pytest.mark.parametrize("name", ["senn", "smoke"])
def test_sidde_matches_netmeta(name, model):
    assert REF[name]["sidde"]["method"] == "SIDDE"
    check_split(fit(name), REF[name]["sidde"], model)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["common", "random"])
def test_sidde_linde_matches_netmeta(model):
    assert "sidde" in REF["linde"], "the fixture was made with COMBOTHERAPY_SIDDE_LINDE=0 (see meta_network_sidde.R)"
    check_split(fit("linde"), REF["linde"]["sidde"], model)


@pytest.mark.parametrize("model", ["common", "random"])
@pytest.mark.parametrize("name", ["senn", "smoke"])
def test_sidde_with_reml_matches_netmeta(name, model):
    check_split(fit(name, "REML"), REF[name]["sidde_REML"], model)


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("name", ["senn", "smoke", "linde"])
def test_likelihood_tau2_matches_netmeta(name, method):
    ref = REF[name][method]
    assert ref["method.tau"] == method
    res = fit(name, method)
    assert res.method_tau == method
    # netmeta's rma.mv stops at nlminb's default tolerance (smoking REML: 4.8e-7 from the exact root; others <3e-9)
    assert res.tau2 == pytest.approx(ref["tau2"], abs=TOL)
    te, se = res.effects("random")
    rte, rse = rmat(ref["TE.random"]), rmat(ref["seTE.random"])
    np.testing.assert_allclose(te.loc[rte.index, rte.columns], rte, atol=TOL, rtol=0)
    np.testing.assert_allclose(se.loc[rse.index, rse.columns], rse, atol=TOL, rtol=0)
    # the common-effects model and Q do not depend on tau^2
    np.testing.assert_allclose(res.effects("common")[0].loc[rte.index, rte.columns], rmat(ref["TE.common"]), atol=TOL)
    assert res.heterogeneity["Q"].iloc[0] == pytest.approx(ref["Q"], abs=TOL)
    assert res.heterogeneity["tau2"].iloc[0] == res.tau2
    assert any(("maximum likelihood" in n) for n in res.fitted.notes)


def test_sidde_equals_a_refit_without_the_comparisons_studies():
    """Independent check: SIDDE's indirect metf:plac is the NMA of the studies without metf and plac together."""
    d = senn_data()
    res = meta.netmeta(d, study="studlab", reference="plac")
    ns = meta.netsplit(res, "random", method="SIDDE").set_index("comparison")
    arms = pd.concat([d[["studlab", "treat1"]].set_axis(["s", "t"], axis=1),
                      d[["studlab", "treat2"]].set_axis(["s", "t"], axis=1)])
    both = arms.groupby("s")["t"].agg(lambda t: {"metf", "plac"} <= set(t))
    rest = d[~d["studlab"].isin(both.index[both])]
    assert rest["studlab"].nunique() < d["studlab"].nunique() - 3     # several studies left out, one multi-arm
    sub = meta.netmeta(rest, study="studlab", reference="plac")
    row = sub.estimates.query("model == 'random' and treatment == 'metf'").iloc[0]
    assert ns.loc["metf:plac", "indirect"] == pytest.approx(row["estimate"], abs=1e-12)
    assert ns.loc["metf:plac", "se_indirect"] == pytest.approx(row["se"], abs=1e-12)
    # direct evidence is the same as back-calculation's; only the indirect part differs
    bc = meta.netsplit(res, "random").set_index("comparison")
    assert ns.loc["metf:plac", "direct"] == pytest.approx(bc.loc["metf:plac", "direct"], abs=1e-12)
    assert ns.loc["metf:plac", "indirect"] != pytest.approx(bc.loc["metf:plac", "indirect"], abs=1e-3)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_likelihood_tau2_of_a_two_treatment_network_is_the_pairwise_one(method):
    """Independent check: with two treatments and two-arm studies the network model is rma's random-effects model."""
    d = senn_data().query("treat1 in ['rosi', 'plac'] and treat2 in ['rosi', 'plac']")
    assert len(d) >= 6
    res = meta.netmeta(d, study="studlab", method_tau=method)
    yi = np.where(d["treat1"] == "rosi", d["TE"], -d["TE"])     # rosi - plac in every study
    pw = meta.rma(d.assign(yi=yi, vi=d["seTE"] ** 2), yi="yi", vi="vi", study="studlab", method=method)
    assert res.tau2 == pytest.approx(pw.tau2, abs=1e-9)


def test_bad_options_are_refused():
    res = fit("senn")
    with pytest.raises(ct.DataError, match="SIDDE"):
        meta.netsplit(res, method="node")
    with pytest.raises(ct.DataError, match="method_tau"):
        meta.netmeta(senn_data(), study="studlab", method_tau="PM")
