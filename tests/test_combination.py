"""ct.combination_test and ct.synergy against R (tests/reference/ancova.R -> ancova.json; lm + emmeans).

Tolerances: estimates and SEs 1e-6 relative, p-values 1e-4 relative.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct

REF = json.loads((Path(__file__).parent / "reference" / "ancova.json").read_text())
ROOT = Path(__file__).parents[1]
FIXTURE = Path(__file__).parent / "reference" / "data" / "ancova_fixture.csv"
EST, PVAL = 1e-6, 1e-4


@pytest.fixture(scope="module")
def fixture_trial():
    return ct.load(FIXTURE)


@pytest.fixture(scope="module")
def factorial():
    return ct.load(ROOT / "data" / "sample" / "factorial.csv")


@pytest.fixture(scope="module")
def three_arm():
    return ct.load(ROOT / "data" / "sample" / "three_arm.csv")


@pytest.mark.parametrize("key,trial_name,covariates", [
    ("fixture_pain", "fixture_trial", ["age", "sex", "site"]),
    ("three_arm_pain", "three_arm", ["age", "sex", "site", "pain_duration"]),
    ("factorial_pain", "factorial", ["age", "sex", "site"]),
])
def test_combination_test_matches_one_sided_emmeans(request, key, trial_name, covariates):
    trial = request.getfixturevalue(trial_name)
    # the R fixture's one-sided intervals are at alpha = 0.05 (the default is now 0.025: see the test below)
    res = ct.combination_test(trial, "pain", 12, covariates=covariates, missing_baseline="exclude", alpha=0.05)
    ref = {r["contrast"]: r for r in REF[key]["one_sided"]}
    assert res.contrasts["contrast"].tolist() == ["combined - physio", "combined - acupuncture"]
    for _, row in res.contrasts.iterrows():
        r = ref[row["contrast"]]
        np.testing.assert_allclose([row["estimate"], row["se"], row["statistic"], row["ci_high"]],
                                   [r["estimate"], r["se"], r["statistic"], r["ci_high"]], rtol=EST)
        np.testing.assert_allclose(row["p"], r["p"], rtol=PVAL)
        assert np.isinf(row["ci_low"]) and row["p_adj"] == row["p"]
    # IUT: p = max one-sided p, statistic = min of the t's in the good direction (lower pain is better)
    assert res.p == pytest.approx(max(r["p"] for r in ref.values()), rel=PVAL)
    assert res.statistic == pytest.approx(min(-r["statistic"] for r in ref.values()), rel=EST)
    assert res.superior == (res.p <= 0.05)
    assert ("better than each monotherapy" in res.verdict) == res.superior


def test_combination_verdict_when_one_monotherapy_is_not_beaten(fixture_trial):
    # shrink the combined arm's benefit over acupuncture: move combined week-12 values up by 1.2 points
    data = fixture_trial.data.copy()
    sel = (data.arm == "combined") & (data.visit == 12)
    data.loc[sel, "pain"] = data.loc[sel, "pain"] + 1.2
    res = ct.combination_test(ct.Trial(data, fixture_trial.instruments), "pain", 12, missing_baseline="exclude")
    p = dict(zip(res.contrasts["contrast"], res.contrasts["p"]))
    assert not res.superior and res.p == max(p.values())
    weak = [s for s, v in zip(res.contrasts["second"], res.contrasts["p"]) if v > res.alpha]
    assert weak and all(w in res.verdict for w in weak) and "not shown" in res.verdict


def test_combination_higher_is_better_uses_upper_tail(fixture_trial):
    # the same data declared "higher is better": the one-sided p-values flip to the other tail
    inst = {**fixture_trial.instruments, "pain": ct.Instrument(low=0, high=10, better="higher", name="pain")}
    up = ct.combination_test(ct.Trial(fixture_trial.data, inst), "pain", 12, missing_baseline="exclude")
    down = ct.combination_test(fixture_trial, "pain", 12, missing_baseline="exclude")
    np.testing.assert_allclose(up.contrasts["p"], 1 - down.contrasts["p"], rtol=1e-9)
    assert np.all(np.isinf(up.contrasts["ci_high"]))
    assert not up.superior


def test_combination_with_mmrm_uses_its_contrasts(three_arm):
    res = ct.combination_test(three_arm, "pain", 12, model="mmrm")
    fit = ct.mmrm(three_arm, "pain")
    two = fit.compare(visit=12, adjust="none").set_index("contrast")
    for _, row in res.contrasts.iterrows():
        r = two.loc[row["contrast"]]
        np.testing.assert_allclose([row["estimate"], row["se"], row["df"]], [r["estimate"], r["se"], r["df"]],
                                   rtol=1e-10)
        expected = r["p"] / 2 if r["estimate"] < 0 else 1 - r["p"] / 2   # lower pain is better: side "less"
        np.testing.assert_allclose(row["p"], expected, rtol=1e-8)
    assert "MMRM" in res.fitted.model


def test_combination_bad_input(fixture_trial, factorial):
    data = fixture_trial.data.loc[fixture_trial.data.arm != "acupuncture"].copy()
    data["arm"] = data["arm"].cat.remove_unused_categories()
    with pytest.raises(ct.DataError, match="no acupuncture arm"):
        ct.combination_test(ct.Trial(data, fixture_trial.instruments), "pain", 12, missing_baseline="exclude")
    with pytest.raises(ct.ArgumentError, match="model='gee' is not known"):
        ct.combination_test(factorial, "pain", 12, model="gee")
    with pytest.raises(ct.ArgumentError, match="adjust"):
        ct.combination_test(factorial, "pain", 12, adjust="holm")


# --- synergy -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("key,trial_name,covariates", [("fixture_synergy", "fixture_trial", []),
                                                       ("factorial_synergy", "factorial", []),
                                                       ("factorial_synergy_cov", "factorial", ["age", "site"])])
def test_synergy_matches_factorial_lm(request, key, trial_name, covariates):
    trial = request.getfixturevalue(trial_name)
    res = ct.synergy(trial, "pain", 12, covariates=covariates, missing_baseline="exclude")
    ref = REF[key]
    eff = res.effects.set_index("effect")
    assert eff.index.tolist() == ["physio", "acupuncture", "interaction"]
    r = ref["interaction"]
    row = eff.loc["interaction"]
    np.testing.assert_allclose([row["estimate"], row["se"], row["statistic"], row["ci_low"], row["ci_high"], row["df"]],
                               [r["estimate"], r["se"], r["statistic"], r["ci_low"], r["ci_high"], r["df"]], rtol=EST)
    np.testing.assert_allclose(row["p"], r["p"], rtol=PVAL)
    for name in ("physio", "acupuncture"):
        m = ref[name][0]
        row = eff.loc[name]
        np.testing.assert_allclose([row["estimate"], row["se"], row["ci_low"], row["ci_high"]],
                                   [m["estimate"], m["se"], m["ci_low"], m["ci_high"]], rtol=EST)
        np.testing.assert_allclose(row["p"], m["p"], rtol=PVAL)
    lo, hi = eff.loc["interaction", ["ci_low", "ci_high"]]
    expected = "super-additive" if hi < 0 else "sub-additive" if lo > 0 else "additive"   # lower pain is better
    assert res.verdict == expected and res.verdict in res.summary()


def test_synergy_verdict_follows_the_interval(fixture_trial):
    # add a large extra benefit to the combined arm only: the interaction becomes clearly beneficial
    data = fixture_trial.data.copy()
    sel = (data.arm == "combined") & (data.visit == 12)
    data.loc[sel, "pain"] = data.loc[sel, "pain"] - 3.0
    res = ct.synergy(ct.Trial(data, fixture_trial.instruments), "pain", 12, missing_baseline="exclude")
    assert res.verdict == "super-additive" and res.interaction["ci_high"] < 0
    data.loc[sel, "pain"] = data.loc[sel, "pain"] + 6.0
    res = ct.synergy(ct.Trial(data, fixture_trial.instruments), "pain", 12, missing_baseline="exclude")
    assert res.verdict == "sub-additive" and res.interaction["ci_low"] > 0
    assert "averaged over the two levels" in res.summary()


def test_synergy_needs_a_control_arm(three_arm):
    with pytest.raises(ct.DataError, match="no control arm"):
        ct.synergy(three_arm, "pain", 12)


def test_synergy_log_scale_reports_ratios(fixture_trial):
    res = ct.synergy(fixture_trial, "crp", 12, scale="log")
    eff = res.effects.set_index("effect")
    np.testing.assert_allclose(eff["estimate"], np.exp(eff["log_estimate"]))
    assert res.verdict in {"super-additive", "additive", "sub-additive"}


def test_a_fitted_result_is_used_as_it_is():
    """combination_test / synergy on an already fitted ANCOVA or MMRM give the same numbers as fitting by name."""
    trial = ct.simulate_trial(arms=("control", "physio", "acupuncture", "combined"), n_per_arm=40, seed=2)
    for fitted, name in ((ct.ancova(trial, "pain", 12), "ancova"), (ct.mmrm(trial, "pain"), "mmrm")):
        visit_before = fitted.fitted.visit
        pd.testing.assert_frame_equal(ct.combination_test(trial, "pain", 12, model=fitted).contrasts,
                                      ct.combination_test(trial, "pain", 12, model=name).contrasts)
        pd.testing.assert_frame_equal(ct.synergy(trial, "pain", 12, model=fitted).effects,
                                      ct.synergy(trial, "pain", 12, model=name).effects)
        assert fitted.fitted.visit == visit_before  # the caller's result is not modified
    with pytest.raises(ct.DataError, match="week 12, not week 8"):
        ct.combination_test(trial, "pain", 8, model=ct.ancova(trial, "pain", 12))
    with pytest.raises(ct.DataError, match="is for 'pain', not 'odi'"):
        ct.combination_test(trial, "odi", 12, model=ct.ancova(trial, "pain", 12))
    with pytest.raises(ct.ArgumentError, match="cannot change it"):
        ct.combination_test(trial, "pain", 12, model=ct.ancova(trial, "pain", 12), covariates=["age"])
