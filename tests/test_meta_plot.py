"""Figures of ct.plot.meta: they read fitted results (never refit), are deterministic and check their input."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import combotherapy as ct
from combotherapy import meta
from combotherapy.plot import figure_bytes
from combotherapy.plot import meta as pm

DS = Path(__file__).parents[1] / "src/combotherapy/datasets"


@pytest.fixture(scope="module")
def bcg():
    d = pd.read_csv(DS / "metafor_dat_bcg/dat_bcg.csv")
    return meta.rma(meta.escalc("RR", d, ai="tpos", bi="tneg", ci="cpos", di="cneg", study="author"))


@pytest.fixture(scope="module")
def baker():
    arms = pd.read_csv(DS / "netmeta_Baker2009/baker2009.csv")
    pw = meta.pairwise(arms, study="study", treatment="treatment", event="exac", n="total", measure="OR")
    return meta.netmeta(pw, reference="Placebo")


def test_forest_data_rows_and_weights(bcg):
    d = pm.forest_data(bcg)
    assert d["kind"].tolist() == ["study"] * 13 + ["pooled", "prediction"]
    assert d.loc[d["kind"] == "study", "weight"].sum() == pytest.approx(100)
    assert d.loc[13, "estimate"] == pytest.approx(float(bcg.estimates["estimate"].iloc[0]))
    assert d.loc[14, "ci_low"] == pytest.approx(float(bcg.estimates["pi_low"].iloc[0]))


def test_common_effect_forest_has_no_prediction_interval(bcg):
    fe = meta.rma(pd.DataFrame({"study": bcg.labels, "yi": bcg.y, "vi": bcg.v}), method="FE")
    assert "prediction" not in set(pm.forest_data(fe)["kind"])


def test_network_graph_data(baker):
    nodes, edges = pm.netgraph_data(baker)
    assert len(nodes) == 8 and nodes["patients"].notna().all()
    # patients: every arm counted once (DalNegro dropped: its comparisons are not estimable)
    arms = pd.read_csv(DS / "netmeta_Baker2009/baker2009.csv")
    assert nodes["patients"].sum() == arms.loc[arms["study"] != "DalNegro 2003", "total"].sum()
    # edge widths: studies per pair; Salmeterol vs Placebo is the best-studied comparison of this network
    d = baker.data
    pairs = d.assign(a=np.minimum(d["treat1"], d["treat2"]), b=np.maximum(d["treat1"], d["treat2"]))
    expected = pairs.groupby(["a", "b"])["study"].nunique()
    assert edges.set_index(["treat1", "treat2"])["studies"].to_dict() == expected.to_dict()
    assert edges.loc[edges["studies"].idxmax(), ["treat1", "treat2"]].tolist() == ["Placebo", "Salmeterol"]


@pytest.mark.parametrize("draw", [
    lambda r, n: pm.forest(r), lambda r, n: pm.funnel(meta.trimfill(r)), lambda r, n: pm.netgraph(n),
    lambda r, n: pm.league(n), lambda r, n: pm.ranking(n),
    lambda r, n: pm.ranking(n, sucra=meta.netrank(n, "SUCRA", nsim=500, rng=np.random.default_rng(3)))])
def test_figures_draw_and_are_deterministic(bcg, baker, draw):
    fig = draw(bcg, baker)
    assert isinstance(fig, Figure)
    assert figure_bytes(fig, "svg") == figure_bytes(draw(bcg, baker), "svg")


def test_wrong_input_is_a_clear_error(baker, bcg):
    with pytest.raises(ct.DataError, match="meta-analysis result"):
        pm.forest(baker)
    with pytest.raises(ct.DataError, match="network meta-analysis result"):
        pm.netgraph(bcg)
    with pytest.raises(ct.DataError, match="rank_"):
        pm.ranking(baker, sucra=pd.DataFrame({"treatment": ["a"], "sucra": [0.5]}))


def test_models_do_not_import_plotting():
    import ast
    for path in (Path(__file__).parents[1] / "src/combotherapy/meta").glob("*.py"):
        tree = ast.parse(path.read_text())
        mods = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        mods += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not any("plot" in m or "matplotlib" in m for m in mods), path.name


def test_docstring_examples_run():
    import doctest
    assert doctest.testmod(pm, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE).failed == 0
