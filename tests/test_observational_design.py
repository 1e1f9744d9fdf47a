"""Declaring data observational: Trial.design, ct.load(design=), results, the claims report and the HTML report."""

from __future__ import annotations

import copy
import math
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import combotherapy as ct
import combotherapy.observational as ob
from combotherapy.results import UNADJUSTED_WARNING, ConfoundingWarning

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "data" / "sample" / "registry.csv"
PS = "age + sex + pain0 + log(pain_duration)"


@pytest.fixture(scope="module")
def trials():
    rnd = ct.simulate_trial(n_per_arm=40, seed=3)
    return rnd, rnd.with_design("observational")


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfoundingWarning)
        return fn(*args, **kwargs)


def test_trial_design_is_kept_through_load_subsets_and_pickling(tmp_path, trials):
    rnd, obs = trials
    assert rnd.design == "randomised" and obs.design == "observational" and "observational" in repr(obs)
    assert "observational" not in repr(rnd)
    for again in (pickle.loads(pickle.dumps(obs)), copy.deepcopy(obs), obs.with_outcomes(),
                  ct.Trial(obs.data, obs.instruments, design=obs.design)):
        assert again.design == "observational"
    assert obs.with_design("randomized").design == "randomised"   # the American spelling is understood
    from combotherapy.claims import subset_trial
    assert subset_trial(obs, "age>=50").design == "observational"
    path = tmp_path / "t.csv"
    obs.data.to_csv(path, index=False)
    assert ct.load(path, design="observational").design == "observational"
    assert ct.load(path).design == "randomised"
    with pytest.raises(ct.DataError, match="design"):
        ct.load(path, design="quasi-experimental")
    with pytest.raises(ct.DataError, match="design"):
        rnd.with_design("cohort")
    with pytest.raises(AttributeError):
        obs.design = "randomised"


@pytest.mark.parametrize("fit", [
    lambda t: ct.ancova(t, "pain", 12),
    lambda t: ct.mmrm(t, "pain"),
    lambda t: ct.count_model(t, "analgesic_days", 12),
    lambda t: ct.responders(t, "pain", 12, threshold=0.3, relative=True),
    lambda t: ct.survival(t),
    lambda t: ct.combination_test(t, "pain", 12),
], ids=["ancova", "mmrm", "counts", "responders", "survival", "combination"])
def test_trial_models_name_the_design_and_warn_when_unadjusted(trials, fit):
    rnd, obs = trials
    with pytest.warns(ConfoundingWarning, match="UNADJUSTED"):
        res = fit(obs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfoundingWarning)   # a randomised trial: no warning, nothing added
        base = fit(rnd)
    assert res.design == "observational" and res.fitted.extra["design"] == "observational"
    assert base.design == "randomised" and "design" not in base.fitted.extra
    text = res.summary()
    assert "Design: observational (treatment not randomised); NO adjustment for confounding" in text
    assert UNADJUSTED_WARNING in res.notes and "WARNING" in res.to_markdown() and "UNADJUSTED" in res.to_html()
    assert "Design:" not in base.summary() and UNADJUSTED_WARNING not in base.notes
    # the flag changes words, never numbers
    for name, frame in base.frames().items():
        pd.testing.assert_frame_equal(frame, res.frames()[name])
    assert res.to_json()["fitted"]["extra"]["design"] == "observational"
    assert "evalues" in res.frames() and "evalues" not in base.frames() and "E-values" in text


def _e(rr):
    rr = np.where(rr < 1, 1 / rr, rr)
    return rr + np.sqrt(rr * (rr - 1))


def test_evalues_beside_trial_model_contrasts(trials):
    rnd, obs = trials
    anc = _quiet(ct.ancova, obs, "pain", 12)
    base = rnd.data[rnd.data["visit"] == 0].groupby("arm", observed=True)["pain"]
    n, var = base.size(), base.var(ddof=1)
    sd = np.sqrt(((n - 1) * var).sum() / (n - 1).sum())
    d, s = anc.contrasts["estimate"].to_numpy() / sd, anc.contrasts["se"].to_numpy() / sd
    rr, lo, hi = np.exp(0.91 * d), np.exp(0.91 * d - 1.78 * s), np.exp(0.91 * d + 1.78 * s)
    np.testing.assert_allclose(anc.evalues["evalue"], _e(rr), rtol=1e-12)
    near = np.where(rr >= 1, lo, hi)
    crosses = np.where(rr >= 1, lo <= 1, hi >= 1)
    np.testing.assert_allclose(anc.evalues["evalue_ci"], np.where(crosses, 1.0, _e(near)), rtol=1e-12)
    counts = _quiet(ct.count_model, obs, "analgesic_days", 12)
    np.testing.assert_allclose(counts.evalues["evalue"], _e(counts.contrasts["estimate"].to_numpy()), rtol=1e-12)
    assert (counts.evalues["evalue_measure"] == "RR").all()
    surv = _quiet(ct.survival, obs)
    assert (surv.evalues["evalue_measure"] == "HR (common event)").all()
    h = surv.contrasts["estimate"].to_numpy()
    np.testing.assert_allclose(surv.evalues["evalue"],
                               _e((1 - 0.5 ** np.sqrt(h)) / (1 - 0.5 ** np.sqrt(1 / h))), rtol=1e-12)


def test_observational_results_name_the_adjustment():
    reg = ob.simulate_registry(600, seed=5)
    ps = ob.propensity_score(reg, PS)
    w = ob.iptw(ps, "ATT", target="combined", trim=0.03, truncate=0.99)
    wm = ob.weighted_means(w, "pain")
    adj = wm.fitted.extra["adjustment"]
    assert adj.startswith("inverse probability of treatment weighting, ATT weights of combined")
    assert f"trimmed at a score of 0.03 ({int(w.trimmed.sum())} subject(s) excluded)" in adj
    assert f"({int(w.truncated.sum())} weight(s) capped)" in adj
    assert f"Design: observational (treatment not randomised); adjustment for confounding: {adj}" in wm.summary()
    dr = ob.aipw(ps, "pain", estimand="overlap")
    assert "doubly robust (AIPW), estimand overlap" in dr.summary() and UNADJUSTED_WARNING not in dr.notes
    with pytest.warns(ConfoundingWarning):
        naive = ob.unadjusted(reg, "pain")
    assert "NO adjustment for confounding" in naive.summary()
    rnd = ob.weighted_means(ob.iptw(ob.propensity_score(reg, PS, design="randomised")), "pain")
    assert "Adjustment for confounding: inverse probability" in rnd.summary() and "Design:" not in rnd.summary()


def test_observational_trial_wins_over_the_design_argument():
    t = ct.load(REGISTRY, columns={"pain_w12": "pain"}, design="observational",
                outcomes={"pain": ct.Instrument(better="lower", units="points")})
    ps = ob.propensity_score(t, PS, design="randomised")
    assert ps.design == "observational"


def test_registry_through_ct_load_gives_the_same_analysis_as_the_raw_frame():
    t = ct.load(REGISTRY, columns={"pain_w12": "pain"}, design="observational",
                outcomes={"pain": ct.Instrument(better="lower", units="points")})
    raw = pd.read_csv(REGISTRY)
    via_load, via_frame = ob.propensity_score(t, PS), ob.propensity_score(raw, PS)
    np.testing.assert_allclose(via_load.probabilities, via_frame.probabilities, rtol=1e-12)
    pd.testing.assert_frame_equal(ob.aipw(via_load, "pain").contrasts, ob.aipw(via_frame, "pain").contrasts)
    with pytest.raises(ct.DataError, match="valid range"):   # without the declared instrument: out-of-range pain
        ct.load(REGISTRY, columns={"pain_w12": "pain"}, design="observational")


def test_claims_report_on_observational_data(trials):
    rnd, obs = trials
    rep = _quiet(ct.claims_report, obs)
    base = ct.claims_report(rnd)
    tab, btab = rep.table, base.table
    assert "Design: observational (treatment not randomised)" in rep.summary()
    assert UNADJUSTED_WARNING in rep.notes and "E-values" in rep.notes[-1]
    assert list(tab.columns[tab.columns.get_loc("ci_high") + 1:][:3]) == ["evalue", "evalue_ci", "evalue_measure"]
    assert "evalue" not in btab.columns
    pd.testing.assert_series_equal(tab["verdict"], btab["verdict"])        # verdicts unchanged; reasons warn
    tested = tab["evalue"].notna()
    assert tested.sum() >= 8
    assert tab.loc[tested, "reason"].str.startswith("Observational data, arms not randomised").all()
    assert (tab.loc[tested, "reason"].str.split(": ", n=1).str[1] == btab.loc[tested, "reason"]).all()
    # independent E-values (VanderWeele & Ding 2017) written out here
    e = lambda rr: (lambda r: r + math.sqrt(r * (r - 1)))(rr if rr >= 1 else 1 / rr)  # noqa: E731
    z = stats.norm.ppf(0.975)
    for _, row in tab[tested].iterrows():
        if row["measure"].startswith("rate ratio"):
            rr, lo, hi = row["estimate"], row["ci_low"], row["ci_high"]
        elif row["measure"].startswith("hazard ratio"):
            conv = lambda h: (1 - 0.5 ** math.sqrt(h)) / (1 - 0.5 ** math.sqrt(1 / h))  # noqa: E731
            rr, lo, hi = conv(row["estimate"]), conv(row["ci_low"]), conv(row["ci_high"])
        elif row["measure"].startswith("odds ratio"):
            rr, lo, hi = (math.sqrt(row[c]) for c in ("estimate", "ci_low", "ci_high"))
        else:
            d, se = row["std_effect"], (row["std_ci_high"] - row["std_ci_low"]) / (2 * z)
            rr, lo, hi = math.exp(0.91 * d), math.exp(0.91 * d - 1.78 * se), math.exp(0.91 * d + 1.78 * se)
        near = lo if rr >= 1 else hi
        e_ci = 1.0 if (rr >= 1 and lo <= 1) or (rr < 1 and hi >= 1) else e(near)
        assert row["evalue"] == pytest.approx(e(rr), rel=1e-12), row["id"]
        assert row["evalue_ci"] == pytest.approx(e_ci, rel=1e-12), row["id"]


@pytest.mark.slow  # two whole reports (about 30 s under load)
def test_html_report_names_the_design_and_shows_evalues(trials):
    from combotherapy.report import build_report
    rnd, obs = trials
    html = _quiet(build_report, obs).html
    assert html.count("Design: observational (treatment not randomised)") >= 3   # header, data section, results
    assert "UNADJUSTED comparison" in html and "evalue_ci" in html and "Observational data, arms not" in html
    plain = build_report(rnd).html
    assert "Design: observational" not in plain and "evalue" not in plain


def test_claims_report_decided_by_a_weighted_analysis_names_the_adjustment():
    t = ct.load(REGISTRY, columns={"pain_w12": "pain"}, design="observational",
                outcomes={"pain": ct.Instrument(better="lower", units="points")})
    ps = ob.propensity_score(t, PS)
    wr = ob.weighted_regression(ob.iptw(ps), "pain", "pain0 + age + sex + log(pain_duration)")
    rep = ct.claims_report(t, results={"1": wr})
    row = rep.table.set_index("id").loc["1"]
    assert row["reason"].startswith("Observational data, arms not randomised; adjusted by inverse probability of "
                                    "treatment weighting, ATE weights")
    own = wr.evalues.set_index("contrast").loc[row["contrast"]]
    assert row["evalue"] == own["evalue"] and row["evalue_ci"] == own["evalue_ci"]
    assert "adjustment for confounding: claim by claim" in rep.summary()
    assert UNADJUSTED_WARNING not in rep.notes
