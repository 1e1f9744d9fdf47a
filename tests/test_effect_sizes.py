"""ct.effect_sizes against R (metafor::escalc SMD and emmeans; tests/reference/ancova.R -> ancova.json)."""

import json
from pathlib import Path

import numpy as np
import pytest

import combotherapy as ct
from combotherapy.models.effect_sizes import hedges_g

REF = json.loads((Path(__file__).parent / "reference" / "ancova.json").read_text())
ROOT = Path(__file__).parents[1]
EST = 1e-6


@pytest.mark.parametrize("key,path,covariates,reference", [
    ("fixture_effects", Path(__file__).parent / "reference" / "data" / "ancova_fixture.csv", ["age", "sex", "site"],
     None),
    ("three_arm_effects", ROOT / "data" / "sample" / "three_arm.csv", [], None),
])
def test_effect_sizes_match_metafor_and_emmeans(key, path, covariates, reference):
    res = ct.ancova(ct.load(path), "pain", 12, covariates=covariates, missing_baseline="exclude")
    es = ct.effect_sizes(res).effect_sizes
    ref = {r["contrast"]: r for r in REF[key]}
    assert set(es["contrast"]) == set(ref)
    g = es[es.measure == "hedges_g_change"].set_index("contrast")
    d = es[es.measure == "adjusted_difference_sd_baseline"].set_index("contrast")
    for label, r in ref.items():
        np.testing.assert_allclose([g.loc[label, "estimate"], g.loc[label, "se"] ** 2, g.loc[label, "ci_low"],
                                    g.loc[label, "ci_high"]], [r["g"], r["var_g"], r["g_ci_low"], r["g_ci_high"]],
                                   rtol=EST)
        np.testing.assert_allclose([d.loc[label, "estimate"], d.loc[label, "ci_low"], d.loc[label, "ci_high"],
                                    d.loc[label, "sd"]],
                                   [r["d_adj"], r["d_adj_ci_low"], r["d_adj_ci_high"], r["sd_baseline"]], rtol=EST)


def test_hedges_g_small_sample_correction():
    # J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)) is close to 1 - 3 / (4m - 1)
    out = hedges_g(1.0, 2.0, 10, 0.0, 2.0, 12)
    m = 20
    assert out["estimate"].iloc[0] == pytest.approx(0.5 * (1 - 3 / (4 * m - 1)), rel=1e-3)
    assert out["sd"].iloc[0] == pytest.approx(2.0)
    big = hedges_g(1.0, 2.0, 5000, 0.0, 2.0, 5000)
    assert big["estimate"].iloc[0] == pytest.approx(0.5, rel=1e-3)


def test_effect_sizes_refuse_log_scale_and_other_results():
    trial = ct.load(Path(__file__).parent / "reference" / "data" / "ancova_fixture.csv")
    with pytest.raises(ct.ModelError, match="ratio of geometric means"):
        ct.effect_sizes(ct.ancova(trial, "crp", 12, scale="log"))
    with pytest.raises(ct.ModelError, match="needs a fitted one-visit model"):
        ct.effect_sizes(ct.combination_test(trial, "pain", 12, missing_baseline="exclude"))


def test_effect_sizes_result_renders():
    trial = ct.load(Path(__file__).parent / "reference" / "data" / "ancova_fixture.csv")
    es = ct.effect_sizes(ct.ancova(trial, "pain", 12, missing_baseline="exclude", reference="control"))
    assert set(es.effect_sizes["contrast"]) == {"combined - control", "physio - control", "acupuncture - control"}
    text = es.summary()
    assert "Hedges' g" in text and "hedges_g_change" in text
