"""Behaviour of combotherapy.observational: bias removal on a simulated registry with known truth, double
robustness, and the stated handling of missing covariates, perfect prediction, poor overlap and extreme weights.
Numbers against R are in test_observational_reference.py."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
import combotherapy.observational as ob
from combotherapy.observational.simulate_registry import SAMPLE_N, SAMPLE_SEED

PS = "age + sex + pain0 + log(pain_duration)"


@pytest.fixture(scope="module")
def big():
    return ob.simulate_registry(20_000, seed=11)


@pytest.fixture(scope="module")
def small():
    return ob.simulate_registry(400, seed=7)


def _covers(table: pd.DataFrame) -> np.ndarray:
    truth = np.array([ob.TRUE_EFFECTS[(a, b)] for a, b in zip(table["first"], table["second"])])
    return (table["ci_low"].to_numpy() <= truth) & (truth <= table["ci_high"].to_numpy())


def test_weighting_and_aipw_remove_the_confounding_bias(big):
    ps = ob.propensity_score(big, PS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ob.ConfoundingWarning)
        raw = ob.unadjusted(big, "pain").contrasts
    # confounding by indication: the naive comparison misses the truth by far more than its CI
    assert not _covers(raw)[:2].any()
    assert raw["estimate"].iloc[0] > ob.TRUE_EFFECTS[("combined", "physio")] + 0.5
    for result in (ob.weighted_means(ob.iptw(ps, "ATE"), "pain"), ob.weighted_means(ob.iptw(ps, "overlap"), "pain"),
                   ob.weighted_means(ob.iptw(ps, "ATT", target="combined"), "pain"), ob.aipw(ps, "pain")):
        assert _covers(result.contrasts).all(), result.title


def test_aipw_is_doubly_robust_when_the_propensity_model_is_wrong(big):
    # propensity model omits the main confounder; the per-arm outcome models include it
    wrong = ob.propensity_score(big, "age + sex")
    ipw = ob.weighted_means(ob.iptw(wrong), "pain").contrasts
    dr = ob.aipw(wrong, "pain", outcome_covariates=PS).contrasts
    assert not _covers(ipw)[0]
    assert _covers(dr).all()


def test_matching_reduces_imbalance_and_bias(big):
    two = big[big["arm"] != "acupuncture"].reset_index(drop=True)
    ps = ob.propensity_score(two, PS)
    # strong confounding: the usual 0.2 SD caliper leaves pain0 imbalanced (and the headline says so) ...
    wide = ob.match(ps, treated="combined", caliper=0.2)
    assert wide.balance["smd_before"].abs().max() > 0.5
    assert "pain0" in wide.balance_result.failing and wide.headline()[0].startswith("Not balanced")
    # ... a tighter caliper balances every covariate and recovers the truth
    m = ob.match(ps, treated="combined", caliper=0.05, outcome="pain")
    assert not m.balance_result.failing and m.headline()[0].startswith("Balanced")
    assert _covers(m.effect).all()
    assert m.counts["matched"].iloc[0] == m.counts["matched"].iloc[1]  # 1:1 without replacement


def test_balance_threshold_lists_failing_covariates(small):
    ps = ob.propensity_score(small, PS)
    before = ob.balance(ps)
    assert "pain0" in before.failing and before.headline()[0].startswith("Not balanced")
    after = ob.balance(ob.iptw(ps, "overlap"))
    assert after.balance["smd_after"].abs().max() < before.balance["smd_before"].abs().max() / 3
    assert set(after.table_one["arm"]) == {"physio", "acupuncture", "combined"}
    # two arms: overlap weights balance the means of the logistic model's terms exactly (Li, Morgan & Zaslavsky 2018)
    two = small[small["arm"] != "acupuncture"].reset_index(drop=True)
    exact = ob.balance(ob.iptw(ob.propensity_score(two, "age + sex + pain0"), "overlap")).balance
    np.testing.assert_allclose(exact["smd_after"], 0.0, atol=1e-10)


def test_weights_definitions(small):
    ps = ob.propensity_score(small, PS)
    e, a = ps.probabilities, ps.received
    ea = e[np.arange(len(a)), a]
    np.testing.assert_allclose(ob.iptw(ps).weights, 1 / ea)
    att = ob.iptw(ps, "ATT", target="acupuncture")
    np.testing.assert_allclose(att.weights[a == 1], 1.0)
    # stabilising rescales each arm by a constant: weighted means and contrasts unchanged
    plain = ob.weighted_means(ob.iptw(ps), "pain")
    stab = ob.weighted_means(ob.iptw(ps, stabilize=True), "pain")
    pd.testing.assert_frame_equal(plain.contrasts, stab.contrasts, rtol=1e-10)
    assert ob.effective_sample_size(np.ones(10)) == 10.0


def test_two_arm_overlap_weights_are_one_minus_score():
    reg = ob.simulate_registry(300, seed=3)
    ps = ob.propensity_score(reg[reg["arm"] != "acupuncture"], PS)
    ea = ps.probabilities[np.arange(len(ps.received)), ps.received]
    np.testing.assert_allclose(ob.iptw(ps, "overlap").weights, 1 - ea)


def test_trimming_and_truncation_are_counted_and_listed(small):
    ps = ob.propensity_score(small, PS)
    t = ob.iptw(ps, trim=0.05)
    n_trim = int((ps.probabilities.min(axis=1) < 0.05).sum())
    assert n_trim > 0 and int(t.table["n_trimmed"].sum()) == n_trim == len(t.fitted.excluded)
    assert (t.weights[t.trimmed] == 0).all()
    assert set(t.fitted.excluded["subject"]) <= set(small["subject"])
    assert any("Trimming" in n for n in t.notes)
    r = ob.weighted_means(t, "pain")
    assert len(r.fitted.excluded) == n_trim and sum(r.fitted.n_per_arm.values()) == len(small) - n_trim
    tr = ob.iptw(ps, truncate=0.95)
    assert int(tr.table["n_truncated"].sum()) == int(tr.truncated.sum()) > 0
    assert tr.weights.max() == pytest.approx(np.quantile(ob.iptw(ps).weights, 0.95))


def test_extreme_weights_are_reported_not_hidden():
    rng = np.random.default_rng(5)
    n = 300
    x = rng.normal(size=n)
    arm = np.where(rng.random(n) < 1 / (1 + np.exp(-4 * x)), "combined", "physio")
    d = pd.DataFrame({"arm": arm, "x": x, "y": x + rng.normal(size=n)})
    w = ob.iptw(ob.propensity_score(d, "x"))
    assert any("Extreme weights" in n for n in w.notes)
    assert (w.table["ess"] < w.table["n"] * 0.6).any()


def test_missing_covariate_is_an_error_with_rows(small):
    d = small.copy()
    d.loc[[3, 10], "age"] = np.nan
    d.loc[5, "pain"] = np.nan
    with pytest.raises(ct.DataError) as err:
        ob.propensity_score(d, PS, outcome="pain")
    msg = str(err.value)
    assert "column 'age'" in msg and "rows 4, 11" in msg and "column 'pain'" in msg and "row" in msg
    assert "R0000" not in msg  # never echoes identifiers
    ps = ob.propensity_score(d.dropna(subset=["age"]), PS)  # the user's explicit choice works
    with pytest.raises(ct.DataError, match="missing outcome"):
        ob.weighted_means(ob.iptw(ps), "pain")


def test_perfect_prediction_is_a_model_error():
    d = pd.DataFrame({"arm": ["physio"] * 20 + ["combined"] * 20, "x": np.r_[np.arange(20), np.arange(20) + 100.0]})
    with pytest.raises(ct.ModelError, match="perfectly predicted"):
        ob.propensity_score(d, "x")


def test_no_overlap_after_trimming_is_an_error():
    rng = np.random.default_rng(2)
    x = np.r_[rng.normal(-1.5, 0.5, 60), rng.normal(0, 0.5, 60)]
    d = pd.DataFrame({"arm": ["physio"] * 60 + ["combined"] * 60, "x": x})
    ps = ob.propensity_score(d, "x")
    assert ps.overlap["outside_common"].sum() > 0
    with pytest.raises(ct.ModelError, match="do not overlap"):
        ob.iptw(ps, trim=0.49)


def test_argument_errors(small):
    ps = ob.propensity_score(small, PS)
    with pytest.raises(ct.DataError, match="target"):
        ob.iptw(ps, "ATT")
    with pytest.raises(ct.DataError, match="ATE weights only"):
        ob.iptw(ps, "overlap", stabilize=True)
    with pytest.raises(ct.DataError, match="estimand"):
        ob.iptw(ps, "ATC")
    with pytest.raises(ct.DataError, match="two arms"):
        ob.match(ps)
    with pytest.raises(ct.DataError, match="rare"):
        ob.evalue(2.0, measure="OR")
    with pytest.raises(ct.DataError, match="design"):
        ob.propensity_score(small, PS, design="quasi")
    with pytest.raises(ct.DataError, match="seed"):
        ob.weighted_means(ob.iptw(ps), "pain", se="bootstrap")
    with pytest.raises(ct.DataError, match="at least two arms"):
        ob.propensity_score(small[small["arm"] == "physio"], PS)


def test_bootstrap_se_agrees_with_stacked_sandwich(small):
    ps = ob.propensity_score(small, PS)
    w = ob.iptw(ps)
    st = ob.weighted_means(w, "pain")
    bs = ob.weighted_means(w, "pain", se="bootstrap", n_boot=100, seed=1)
    np.testing.assert_allclose(bs.contrasts["estimate"], st.contrasts["estimate"])
    np.testing.assert_allclose(bs.contrasts["se"], st.contrasts["se"], rtol=0.25)
    again = ob.weighted_means(w, "pain", se="bootstrap", n_boot=100, seed=1)
    pd.testing.assert_frame_equal(bs.contrasts, again.contrasts)


def test_design_flag_and_warning(small):
    marked = ob.mark_observational(small, source="registry")
    with pytest.warns(ob.ConfoundingWarning):
        r = ob.unadjusted(marked, "pain")
    assert r.headline()[0].startswith("WARNING") and "WARNING" in r.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rnd = ob.unadjusted(small, "pain", design="randomised")
    assert rnd.headline() == []
    ps = ob.propensity_score(marked, PS, design="randomised")  # the wrapper wins: data declared observational
    assert ps.design == "observational" == ob.design_of(ps) == ps.fitted.extra["design"]
    a = ob.aipw(ps, "pain")
    assert ob.design_of(a) == "observational" and any("Observational" in n for n in a.notes)


def test_trial_input_with_dropout_is_explicit():
    trial = ct.simulate_trial()
    ps = ob.propensity_score(trial, "age + sex + pain_duration", visit=12, design="randomised")
    assert ps.design == "randomised" and len(ps.data) == len(trial.subjects)
    with pytest.raises(ct.DataError, match="missing outcome"):
        ob.weighted_means(ob.iptw(ps), "pain")


def test_results_export_and_summaries(small):
    ps = ob.propensity_score(small, PS)
    for res in (ps, ob.iptw(ps), ob.balance(ob.iptw(ps)), ob.weighted_means(ob.iptw(ps), "recovered"),
                ob.aipw(ps, "pain")):
        text = res.summary()
        assert res.title in text and res.to_markdown().startswith("## ")
        for name, frame in res.frames().items():
            assert len(frame), name
    c = ob.aipw(ps, "pain").contrasts
    assert list(c.columns) == ["contrast", "first", "second", "estimate", "se", "df", "statistic", "p", "p_adj",
                               "ci_low", "ci_high"]
    holm = ob.aipw(ps, "pain", adjust="holm").contrasts
    assert (holm["p_adj"] >= holm["p"]).all()
    vs = ob.aipw(ps, "pain", reference="physio").contrasts
    assert vs["second"].eq("physio").all() and len(vs) == 2


def test_sample_registry_file_is_reproducible(tmp_path):
    from pathlib import Path

    from combotherapy.observational.simulate_registry import write_registry_sample
    shipped = Path(__file__).resolve().parents[1] / "data" / "sample" / "registry.csv"
    if np.__version__ != "2.4.6":
        pytest.skip("random streams are only promised for the numpy that wrote the file")
    assert write_registry_sample(tmp_path).read_bytes() == shipped.read_bytes()
    frame = pd.read_csv(shipped)
    assert len(frame) == SAMPLE_N and SAMPLE_SEED == 20261206


def test_weighted_analyses_implement_the_shared_inference_interface():
    trial = ct.simulate_trial(seed=3)
    complete = trial.at(12).dropna(subset=["pain"])  # the user's explicit complete-case choice
    ps = ob.propensity_score(complete, "age + sex + pain_duration", design="randomised")
    w = ob.iptw(ps)
    reg = ob.weighted_regression(w, "pain", "age + sex + pain_duration")
    for res in (ob.weighted_means(w, "pain"), ob.aipw(ps, "pain"), reg):
        assert res.inference is not None and res.better == "lower"
        em = res.emmeans()
        assert em["arm"].tolist() == ps.arms
        # contrasts through the interface equal the module's own table (no adjustment)
        cmp = res.compare(adjust="none").set_index("contrast")
        own = res.contrasts.set_index("contrast")
        np.testing.assert_allclose(cmp.loc[own.index, "estimate"], own["estimate"], rtol=1e-12)
        np.testing.assert_allclose(cmp.loc[own.index, "se"], own["se"], rtol=1e-12)
        combo = ct.combination_test(trial, "pain", 12, model=res)
        assert combo.contrasts["first"].eq("combined").all() and combo.p == combo.contrasts["p"].max()
    # emmeans rule: numeric covariates at their mean, a two-level factor (sex) averaged over its levels
    L = reg.inference.grid.L
    cols = list(reg.terms)
    assert L[0, cols.index("age")] == pytest.approx(complete["age"].mean())
    assert L[0, cols.index("sexmale")] == pytest.approx(0.5)
    np.testing.assert_allclose(reg.by_arm["estimate"], L @ reg.beta)


def test_evalues_beside_every_kind_of_contrast(small):
    ps = ob.propensity_score(small, PS)
    w = ob.iptw(ps)
    logit = ob.weighted_regression(w, "recovered", "pain0")
    ev = ob.evalues(logit)
    # recovery is common (about 60%): the square-root conversion of the odds ratio
    assert ev["measure"].str.contains("common").all()
    np.testing.assert_allclose(ev["rr"], np.sqrt(logit.contrasts["estimate"]), rtol=1e-12)
    rare = ob.evalues(logit, rare=True)
    np.testing.assert_allclose(rare["rr"], logit.contrasts["estimate"], rtol=1e-12)
    lin = ob.evalues(ob.weighted_regression(w, "pain", "pain0"))
    assert (lin["evalue"] >= 1).all() and (lin["evalue_ci"] <= lin["evalue"]).all()
    two = small[small["arm"] != "acupuncture"].reset_index(drop=True)
    m = ob.match(ob.propensity_score(two, PS), caliper=0.2, outcome="pain")
    assert len(ob.evalues(m)) == 1
    with pytest.raises(ct.DataError):
        ob.evalues(ps)


def test_weighted_regression_bootstrap_agrees_with_stacked(small):
    w = ob.iptw(ob.propensity_score(small, PS))
    st = ob.weighted_regression(w, "pain", "pain0")
    bs = ob.weighted_regression(w, "pain", "pain0", se="bootstrap", n_boot=100, seed=4)
    np.testing.assert_allclose(bs.beta, st.beta)
    np.testing.assert_allclose(bs.contrasts["se"], st.contrasts["se"], rtol=0.3)
    with pytest.raises(ct.DataError, match="seed"):
        ob.weighted_regression(w, "pain", se="bootstrap")


def test_weighted_cox_bootstrap_interface_and_missing_times(small):
    w = ob.iptw(ob.propensity_score(small, PS))
    stacked = ob.weighted_cox(w, "work_weeks", "returned")
    boot = ob.weighted_cox(w, "work_weeks", "returned", se="bootstrap", n_boot=60, seed=2)
    np.testing.assert_allclose(boot.beta, stacked.beta)
    np.testing.assert_allclose(np.sqrt(np.diag(boot.vcov)), np.sqrt(np.diag(stacked.vcov)), rtol=0.4)
    hr = stacked.compare(adjust="none").set_index("contrast")
    assert hr.loc["combined - physio", "estimate"] > 1  # returning to work sooner with both therapies
    d = small.copy()
    d.loc[[2, 9], "work_weeks"] = np.nan
    w2 = ob.iptw(ob.propensity_score(d, PS))
    with pytest.raises(ct.DataError, match="rows 3, 10"):
        ob.weighted_cox(w2, "work_weeks", "returned")


def test_trial_baseline_outcome_as_confounder():
    trial = ct.simulate_trial(seed=5)
    ps = ob.propensity_score(trial, "age + pain_baseline", visit=12, design="randomised")
    base = trial.baseline("pain")
    np.testing.assert_allclose(ps.data["pain_baseline"], ps.data["subject"].map(base).to_numpy(float))


def _observational_results(small):
    ps = ob.propensity_score(small, PS)
    w = ob.iptw(ps)
    two = small[small["arm"] != "acupuncture"].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ob.ConfoundingWarning)
        raw = ob.unadjusted(small, "pain")
    return {"propensity": ps, "weights": w, "balance": ob.balance(w), "weighted_means": ob.weighted_means(w, "pain"),
            "weighted_means_binary": ob.weighted_means(w, "recovered"), "aipw": ob.aipw(ps, "pain"),
            "regression": ob.weighted_regression(w, "pain", "pain0 + sex"),
            "logistic": ob.weighted_regression(w, "recovered", "pain0"),
            "cox": ob.weighted_cox(w, "work_weeks", "returned"), "unadjusted": raw,
            "match": ob.match(ob.propensity_score(two, PS), caliper=0.2, outcome="pain")}


def test_every_observational_result_speaks_the_vocabulary(small, tmp_path):
    import json

    from combotherapy.results import Fitted, Result
    for name, res in _observational_results(small).items():
        assert isinstance(res, Result) and isinstance(res.fitted, Fitted), name
        assert list(res.excluded.columns)[:3] == ["subject", "arm", "reason"], name
        assert res.better in (None, "lower", "higher")
        old = [n for n in ("lsmeans", "rates", "arms", "km", "coef", "hazard_ratios", "model", "means")
               if isinstance(getattr(res, n, None), pd.DataFrame) or n in type(res).tables]
        assert not old, (name, old)
        frames = res.frames()
        assert frames, name
        if "contrasts" in frames:
            assert {"first", "second", "contrast", "estimate", "ci_low", "ci_high"} <= set(res.contrasts.columns)
        if res.inference is not None:
            emm = res.emmeans(alpha=0.1)
            con = res.compare(adjust="bonferroni")
            assert set(con["first"]) | set(con["second"]) <= set(emm["arm"]), name
        assert res.fitted.extra["design"] == "observational", name
        doc = json.loads(json.dumps(res.to_json(), allow_nan=False))
        assert set(doc["tables"]) == set(frames), name
        assert res.save(tmp_path / f"{name}.md").exists() and res.to_csv(tmp_path / f"{name}.csv").exists()


def test_evalues_are_shown_beside_observational_contrasts(small):
    ps = ob.propensity_score(small, PS)
    a = ob.aipw(ps, "pain")
    assert "evalues" in a.frames() and "E-values" in a.summary()
    pd.testing.assert_frame_equal(a.evalues[["evalue", "evalue_ci"]], ob.evalues(a)[["evalue", "evalue_ci"]])
    cox = ob.weighted_cox(ob.iptw(ps), "work_weeks", "returned")
    assert cox.evalues["measure"].str.startswith("HR (common").all()  # about 90% return to work
    rnd = ob.aipw(ob.propensity_score(small, PS, design="randomised"), "pain")
    assert "evalues" not in rnd.frames()
