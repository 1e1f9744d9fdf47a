"""The claims report: verdicts follow the simulator's truth; multiplicity; not-testable claims; extension."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import combotherapy as ct
from combotherapy.claims import claims_report, default_claims
from combotherapy.inference import p_adjust
from combotherapy.models.safety import noninferiority_rd
from combotherapy.simulate import claim_truth, report_truth


@pytest.fixture(scope="module")
def sample() -> ct.Trial:
    from conftest import SAMPLE

    return ct.load(SAMPLE / "three_arm.csv")


@pytest.fixture(scope="module")
def report(sample):
    return claims_report(sample)


def test_every_claim_has_a_row_and_a_verdict(report):
    table = report.table
    assert table["id"].tolist() == default_claims()["id"].tolist()
    allowed = {"supported", "not supported", "inconclusive"}
    assert all(v in allowed or v.startswith(("not testable: ", "supported, below the minimal important difference of "))
               for v in table["verdict"])
    assert table["reason"].str.len().gt(10).all()
    # claim 10 needs a usual-care arm, which the three-arm trial does not have
    assert table.set_index("id").loc["10", "verdict"] == "not testable: no control arm"


def test_iut_p_is_the_larger_one_sided_p(sample, report):
    res = ct.ancova(sample, "pain", 12, adjust="none")
    c = res.contrasts.set_index("contrast")
    # lower pain is better: the one-sided p for benefit is P(T < t)
    p = [stats.t.cdf(c.loc[lab, "statistic"], c.loc[lab, "df"]) for lab in ("combined - physio",
                                                                             "combined - acupuncture")]
    row = report.table.set_index("id").loc["1"]
    assert row["p"] == pytest.approx(max(p), rel=1e-10)
    weaker = ("combined - physio", "combined - acupuncture")[int(np.argmax(p))]
    assert row["contrast"] == weaker and row["estimate"] == pytest.approx(c.loc[weaker, "estimate"], rel=1e-12)


def test_holm_and_fixed_sequence(sample, report):
    testable = report.table.dropna(subset=["p"])
    assert np.allclose(testable["p_adj"], p_adjust(testable["p"].to_numpy(), "holm"))
    fixed = claims_report(sample, multiplicity="fixed-sequence").table.dropna(subset=["p"])
    assert np.allclose(fixed["p_adj"], np.maximum.accumulate(fixed["p"].to_numpy()))
    assert report.fitted.adjust == "holm"


@pytest.fixture(scope="module")
def large_report():
    trial = ct.simulate_trial(arms=("control", "physio", "acupuncture", "combined"), n_per_arm=500, seed=11)
    return claims_report(trial).table.set_index("id")


def test_verdicts_match_the_truth_on_a_large_trial(large_report):
    """Every row of the report, on a large factorial trial: a claim built true is supported, one built null is
    not (claim 7 is two rows, endurance and mood, each null; 5b mediation, 9 safety and 10 chronic pain too)."""
    truth = report_truth().set_index("id")
    assert sorted(truth.index) == sorted(default_claims()["id"])  # every claim has its truth
    assert set(truth["truth"]) == {"true", "null"}
    for claim, row in truth.iterrows():
        verdict = large_report.loc[claim, "verdict"]
        if row["truth"] == "true":
            assert verdict.startswith("supported"), (claim, verdict, large_report.loc[claim, "reason"], row["why"])
        else:
            assert verdict in ("not supported", "inconclusive"), (claim, verdict, row["why"])


def test_report_truth_agrees_with_the_outcome_level_truth():
    by_claim = claim_truth().set_index("claim")["truth"]
    truth = report_truth().set_index("id")["truth"]
    for claim, value in by_claim.items():
        rows = truth[truth.index.str.match(rf"^{claim}[a-z]?$") & (truth.index != "5b")]
        assert (rows == "true").all() == (value == "true"), claim
    # the truth follows the simulator's effects: without needling events acupuncture is safe; without the
    # adherence slope early pain relief carries nothing
    from dataclasses import replace

    from combotherapy.simulate import DEFAULT_EFFECTS

    eff = DEFAULT_EFFECTS.updated({"bruising": {"acupuncture": 0.0, "combined": 0.0},
                                   "needle_pain": {"acupuncture": 0.0, "combined": 0.0}})
    assert report_truth().set_index("id").loc["9", "truth"] == "null"
    assert report_truth(eff).set_index("id").loc["9", "truth"] == "true"
    assert report_truth(safety_margin=0.5).set_index("id").loc["9", "truth"] == "true"
    assert report_truth(replace(DEFAULT_EFFECTS, adherence_slope=0.0)).set_index("id").loc["5b", "truth"] == "null"


def test_missing_outcome_is_not_testable(sample):
    data = sample.data.drop(columns=["crp", "endurance"])
    trial = ct.Trial(data, {k: v for k, v in sample.instruments.items() if k not in ("crp", "endurance")})
    table = claims_report(trial).table.set_index("id")
    assert table.loc["3", "verdict"] == "not testable: no crp data"
    assert table.loc["7a", "verdict"] == "not testable: no endurance data"
    assert table.loc["1", "verdict"].startswith("supported")


def test_factorial_trial_tests_physiotherapy_in_chronic_pain():
    from conftest import SAMPLE

    trial = ct.load(SAMPLE / "factorial.csv")
    row = claims_report(trial).table.set_index("id").loc["10"]
    assert row["contrast"] == "physio - control" and (row["verdict"] == "not supported"
                                                      or row["verdict"].startswith("supported"))
    chronic = trial.data.loc[trial.data["pain_duration"] >= 12]
    res = ct.ancova(ct.Trial(chronic, trial.instruments), "pain", 12, adjust="none")
    est = res.contrasts.set_index("contrast").loc["physio - control", "estimate"]
    assert row["estimate"] == pytest.approx(est, rel=1e-12)


def test_users_extend_the_table(sample):
    extra = pd.DataFrame([{"id": "11", "claim": "Combined therapy reduces disability more than either alone",
                           "outcome": "odi", "model": "ancova", "visit": 12.0, "test": "combination", "mid": 10.0,
                           "subgroup": ""}])
    table = claims_report(sample, pd.concat([default_claims(), extra], ignore_index=True)).table
    assert table["id"].iloc[-1] == "11" and (table["verdict"].iloc[-1] in (
        "inconclusive", "not supported") or table["verdict"].iloc[-1].startswith("supported"))


def test_bad_claims_tables(sample):
    with pytest.raises(ct.DataError, match="lacks the columns"):
        claims_report(sample, default_claims().drop(columns=["mid"]))
    bad = default_claims().head(1).assign(model="magic")
    with pytest.raises(ct.DataError, match="unknown model 'magic'"):
        claims_report(sample, bad)


def test_exports(report, tmp_path):
    md = report.to_markdown()
    assert "Claims report" in md and "supported" in md
    report.save(tmp_path / "claims.html")
    assert "<table" in (tmp_path / "claims.html").read_text()
    assert "Verdicts:" in report.summary()


@pytest.mark.parametrize("n, seed", [(15, 3), (8, 5)])
def test_small_trials_never_crash(n, seed):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table = claims_report(ct.simulate_trial(n_per_arm=n, seed=seed)).table
    assert table["verdict"].notna().all()
    testable = table.dropna(subset=["p"])
    assert np.isfinite(testable[["p", "p_adj", "std_effect"]].to_numpy(float)).all()


def test_safety_claim_uses_any_event_risk_difference(sample, report):
    row = report.table.set_index("id").loc["9"]
    ae = ct.adverse_events(sample).contrasts
    rd = ae.loc[(ae["type"] == "any") & (ae["measure"] == "risk_difference")].set_index("contrast")
    assert row["estimate"] == pytest.approx(rd.loc[row["contrast"], "estimate"], rel=1e-12)
    # the sample's needling events make the excess over physio larger than the 10-point margin
    assert row["verdict"] == "not supported" and row["ci_low"] > 0.10


def test_a_model_that_cannot_be_fitted_makes_its_claim_inconclusive_not_the_report_fail(sample):
    """No painkiller days at all in the combined arm at week 12: rate ratios do not exist (ModelError in
    ct.count_model); the other claims are still tested."""
    data = sample.data.copy()
    data.loc[(data["arm"] == "combined") & (data["visit"] == 12), "analgesic_days"] = 0.0
    table = claims_report(ct.Trial(data, sample.instruments)).table.set_index("id")
    assert table.loc["6", "verdict"] == "inconclusive"
    assert "count model could not be fitted" in table.loc["6", "reason"] and "only zero counts" in \
        table.loc["6", "reason"]
    assert table.loc["1", "verdict"].startswith("supported")


def test_safety_claim_without_any_adverse_event_is_supported():
    """300 patients per arm and no adverse event anywhere: no excess as large as the margin is compatible with the
    data (score test), so acupuncture is shown safe. A Wald test has se 0 here and could not decide."""
    trial = ct.simulate_trial(n_per_arm=300, seed=4)
    data = trial.data.copy()
    data[[c for c in data.columns if c.startswith("ae_")] + ["adverse_events"]] = 0.0
    row = claims_report(ct.Trial(data, trial.instruments)).table.set_index("id").loc["9"]
    assert row["verdict"].startswith("supported") and row["estimate"] == 0
    assert row["p"] == pytest.approx(float(noninferiority_rd(0, 300, 0, 300, 0.10)["p"].iloc[0]), rel=1e-12)


def test_safety_p_is_the_score_test_and_not_supported_follows_the_reported_interval(sample, report):
    row = report.table.set_index("id").loc["9"]
    by_arm = ct.adverse_events(sample).by_arm.set_index("arm")
    p = [float(noninferiority_rd(by_arm.loc[a, "patients"], by_arm.loc[a, "n"], by_arm.loc["physio", "patients"],
                                 by_arm.loc["physio", "n"], 0.10)["p"].iloc[0]) for a in ("acupuncture", "combined")]
    assert row["p"] == pytest.approx(max(p), rel=1e-12)
    small = ct.simulate_trial(n_per_arm=8, seed=5)
    for _, r in claims_report(small).table.query("id == '9'").iterrows():
        # the one rule: not supported exactly when the score test is not significant after Holm
        assert (r["verdict"] == "not supported") == (r["p_adj"] >= 0.05)


def test_overdispersed_adherence_is_tested_with_the_quasi_binomial_fit(sample, report):
    res = ct.adherence(sample, adjust="none", scale="pearson")
    assert res.phi > 1.5  # sessions of one patient are correlated
    row = report.table.set_index("id").loc["5"]
    c = res.contrasts.set_index("contrast").loc[row["contrast"]]
    assert row["p"] == pytest.approx(stats.t.sf(c["statistic"], c["df"]), rel=1e-10)
    assert "quasi-binomial" in row["measure"]


def test_data_errors_of_all_claims_are_reported_together(sample):
    data = sample.data.copy()
    subjects = data["subject"].unique()
    data.loc[data["subject"] == subjects[0], "recovery_time"] = -1.0
    data.loc[data["subject"] == subjects[1], "analgesic_days"] = 2.5
    data.loc[data["subject"] == subjects[2], "adverse_events"] = -1.0
    with pytest.raises(ct.DataError) as err:
        claims_report(ct.Trial(data, sample.instruments))
    columns = {p.column for p in err.value.problems}
    assert {"recovery_time", "analgesic_days", "adverse_events"} <= columns
    with pytest.raises(ct.DataError, match="multiplicity"):
        claims_report(sample, multiplicity="hochberg")


def test_each_claim_says_how_many_subjects_it_analysed(sample, report):
    table = report.table.set_index("id")
    res = ct.ancova(sample, "pain", 12, adjust="none", missing_baseline="exclude")
    assert table.loc["1", "n"] == res.fitted.n and table.loc["1", "n_excluded"] == len(res.fitted.excluded)
    assert table.loc["1", "n_excluded"] > 0  # dropout: subjects without week-12 pain are left out, and counted
    assert pd.isna(table.loc["10", "n"])  # not testable


def test_a_pair_labelled_the_other_way_round_is_flipped_by_its_scale(sample):
    """The adverse-event table labels the pair 'physio - acupuncture'; the safety claim needs 'acupuncture -
    physio': a risk difference changes sign (it was inverted like a ratio, because that table also carries an
    empty log_estimate column)."""
    from combotherapy.claims import _pick

    con = ct.adverse_events(sample).contrasts
    rd = con.loc[(con["type"] == "any") & (con["measure"] == "risk_difference")]
    got = _pick(rd, (("acupuncture", "physio"),), ratio=False).iloc[0]
    want = rd.set_index("contrast").loc["physio - acupuncture"]
    assert got["contrast"] == "acupuncture - physio"
    assert (got["estimate"], got["ci_low"], got["ci_high"]) == (-want["estimate"], -want["ci_high"], -want["ci_low"])
    rr = _pick(con.loc[(con["type"] == "any") & (con["measure"] == "rate_ratio")], (("acupuncture", "physio"),),
               ratio=True).iloc[0]
    want = con.loc[(con["type"] == "any") & (con["measure"] == "rate_ratio")].set_index("contrast").loc[
        "physio - acupuncture"]
    assert rr["estimate"] == pytest.approx(1 / want["estimate"]) and rr["log_estimate"] == -want["log_estimate"]


def test_pain_falls_first_claim_is_the_mediated_effect_on_adherence(sample, report):
    """Claim 5b: the ACME of early pain change on sessions attended, combined against each monotherapy; its p is
    the one-sided Monte Carlo p of the ACME draws of ct.mediation with the same seed."""
    row = report.table.set_index("id").loc["5b"]
    p = []
    for mono in ("physio", "acupuncture"):
        res = ct.mediation(sample, treatment=("combined", mono), mediator_visit=4, n_sims=1000, seed=0)
        acme = res.draws["acme_average"].to_numpy()
        p.append((np.sum(acme <= 0) + 1) / (acme.size + 1))
        if row["contrast"] == f"combined - {mono}":
            eff = res.effects.set_index("effect").loc["ACME (average)"]
            assert (row["estimate"], row["ci_low"], row["ci_high"]) == (eff["estimate"], eff["ci_low"],
                                                                        eff["ci_high"])
            assert row["n"] == res.fitted.n
    assert row["p"] == pytest.approx(max(p), rel=1e-12) and row["model"] == "mediation"


def test_claims_at_a_visit_the_trial_does_not_have_are_not_testable(sample):
    data = sample.data.loc[~sample.data["visit"].isin([4.0, 12.0])]
    table = claims_report(ct.Trial(data, sample.instruments)).table.set_index("id")
    assert table.loc["1", "verdict"] == "not testable: no pain data at week 12"
    assert table.loc["5b", "verdict"] == "not testable: no pain data at week 4"
    assert table.loc["4", "verdict"].startswith("supported")  # recovery does not depend on the visits


def test_counts_without_overdispersion_use_the_poisson_limit(sample):
    """Under-dispersed painkiller days (binomial out of 28): the negative binomial's theta runs to infinity
    (ct.count_model refuses it); the claim uses the Poisson fit, the limit of the negative binomial, rather than
    becoming inconclusive."""
    data = sample.data.copy()
    rng = np.random.default_rng(1)
    p = np.where(data["arm"].astype(str) == "combined", 0.3, 0.5)
    data["analgesic_days"] = np.where(data["analgesic_days"].notna(), rng.binomial(28, p), np.nan)
    trial = ct.Trial(data, sample.instruments)
    with pytest.raises(ct.ModelError, match="family='poisson'"):
        ct.count_model(trial)
    row = claims_report(trial).table.set_index("id").loc["6"]
    pois = ct.count_model(trial, family="poisson").contrasts.set_index("contrast").loc[row["contrast"]]
    assert row["verdict"].startswith("supported") and "Poisson" in row["measure"]
    assert row["estimate"] == pytest.approx(pois["estimate"], rel=1e-12)


def test_a_subgroup_filter_on_a_text_column_is_a_data_error(sample):
    claims = default_claims().assign(subgroup=lambda t: np.where(t["id"] == "1", "sex>=1", t["subgroup"]))
    with pytest.raises(ct.DataError, match="'sex' holds text"):
        claims_report(sample, claims)


def test_one_comparison_that_rules_out_the_mid_makes_the_claim_not_supported():
    """Claim 7b (mood, MID 3 points) on a trial with a small acupuncture arm: the weaker comparison by p is the
    imprecise combined - acupuncture (its interval still reaches the MID), but combined - physio rules a 3-point
    benefit out, and 'better than EACH' cannot hold: not supported, shown with the comparison that decides it."""
    trial = ct.simulate_trial(n_per_arm={"physio": 60, "acupuncture": 15, "combined": 60}, seed=10)
    claims = default_claims().query("id == '7b'")
    row = claims_report(trial, claims).table.iloc[0]
    res = ct.ancova(trial, "phq9", 12, adjust="none", missing_baseline="exclude").contrasts.set_index("contrast")
    upper = -res["ci_low"]  # lower PHQ-9 is better: the benefit-signed upper limit is minus the lower limit
    assert upper["combined - acupuncture"] >= 3 > upper["combined - physio"]
    p = [stats.t.cdf(res.loc[lab, "statistic"], res.loc[lab, "df"]) for lab in upper.index[:2]]
    assert row["p"] == pytest.approx(max(p)) and p[1] > p[0]  # the IUT p is combined - acupuncture's
    assert row["verdict"] == "not supported" and row["contrast"] == "combined - physio"
    assert row["estimate"] == pytest.approx(res.loc["combined - physio", "estimate"], rel=1e-12)
    assert "combined - physio" in row["reason"]


def test_an_arm_missing_from_a_model_or_a_subgroup_does_not_break_the_report(sample):
    # nobody in the acupuncture arm has recovery follow-up: survival leaves the arm out, claim 4 cannot be decided
    data = sample.data.copy()
    data.loc[data["arm"] == "acupuncture", ["recovery_time", "recovered"]] = np.nan
    row = claims_report(ct.Trial(data, sample.instruments)).table.set_index("id").loc["4"]
    assert row["verdict"] == "inconclusive" and "no comparison combined - acupuncture" in row["reason"]
    # a tiny factorial trial without usual-care patients who have had pain for 12 months or more (was a KeyError)
    tiny = ct.simulate_trial(arms=("control", "physio", "acupuncture", "combined"), n_per_arm=4, seed=3)
    chronic = tiny.data.loc[tiny.data["pain_duration"] >= 12].drop_duplicates("subject")
    assert "control" not in set(chronic["arm"].astype(str))
    row = claims_report(tiny).table.set_index("id").loc["10"]
    assert row["verdict"] == "not testable: no control subjects with pain_duration>=12"


def test_the_report_record_lists_subjects_left_out_of_claims(sample, report):
    """The summary said 'Subjects excluded: none' while each claim's model dropped subjects with missing values."""
    ex = report.fitted.excluded
    table = report.table.set_index("id")
    assert len(ex) == ex["subject"].nunique() > 0
    for cid in ("1", "3", "5b"):
        assert ex["claims"].str.split(", ").map(lambda ids, c=cid: c in ids).sum() == table.loc[cid, "n_excluded"]
    assert "Subjects excluded: none" not in report.summary()


def test_fixed_sequence_reason_says_where_the_sequence_stopped():
    from conftest import SAMPLE

    table = claims_report(ct.load(SAMPLE / "factorial.csv"), multiplicity="fixed-sequence").table.set_index("id")
    assert table.loc["3", "p"] >= 0.05 and table.loc["1", "verdict"].startswith("supported")
    row = table.loc["6"]  # tiny own p, but after claim 3 in the sequence
    assert row["p"] < 1e-3 and row["verdict"] == "not supported"
    assert row["reason"].startswith("Not tested: the fixed sequence stopped at claim 3")


def test_with_column_names_the_event_and_the_mediator(sample):
    """The claims table's optional `with` column: another event flag for a survival claim."""
    data = sample.data.assign(relapse_free=1 - sample.data["recovered"])
    trial = ct.Trial(data, {**sample.instruments, "relapse_free": ct.Instrument(low=0, high=1, better="lower",
                                                                                kind="event", level="subject")})
    rows = pd.DataFrame([
        {"id": "r1", "claim": "faster recovery", "outcome": "recovery_time", "model": "survival", "visit": np.nan,
         "test": "combination", "mid": 1.25, "subgroup": "", "with": ""},
        {"id": "r2", "claim": "other event", "outcome": "recovery_time", "model": "survival", "visit": np.nan,
         "test": "combination", "mid": 1.25, "subgroup": "", "with": "relapse_free"},
        {"id": "r3", "claim": "missing event", "outcome": "recovery_time", "model": "survival", "visit": np.nan,
         "test": "combination", "mid": 1.25, "subgroup": "", "with": "no_such_flag"},
    ])
    table = claims_report(trial, rows).table.set_index("id")
    assert table.loc["r1", "measure"] == "hazard ratio (recovered)"
    assert table.loc["r2", "measure"] == "hazard ratio (relapse_free)"
    assert table.loc["r2", "estimate"] != pytest.approx(table.loc["r1", "estimate"])
    assert table.loc["r3", "verdict"] == "not testable: no no_such_flag data"


@pytest.mark.parametrize("seed", [1, 3])
def test_combination_test_and_claims_report_give_the_same_verdict(seed):
    """Issue 11 item 4: the same outcome and settings (one claim, no multiplicity, the same one-sided alpha and
    MID) give the same verdict from ct.combination_test and ct.claims_report; they share combotherapy.verdict."""
    trial = ct.simulate_trial(n_per_arm=40, seed=seed)
    claims = default_claims().query("id == '1'")
    for alpha in (0.025, 0.05):
        row = claims_report(trial, claims, alpha=alpha, multiplicity="none").table.iloc[0]
        res = ct.combination_test(trial, "pain", 12, alpha=alpha, mid=1.0, missing_baseline="exclude")
        assert row["p"] == pytest.approx(res.p, rel=1e-10)
        assert row["verdict"] == res.decision


def test_multiplicity_that_changes_a_verdict_is_said_in_the_row():
    from combotherapy.verdict import decide, multiplicity_note

    assert decide(0.06, 0.05, effect=2.0, mid=1.0) == "not supported"
    assert decide(0.03, 0.05, effect=2.0, mid=1.0) == "supported"
    assert decide(0.01, 0.05, effect=-2.0, mid=1.0) == "not supported"  # significant the wrong way
    assert decide(0.01, 0.05, effect=0.5, mid=1.0, mid_units="points") == \
        "supported, below the minimal important difference of 1 point"
    assert decide(0.01, 0.05, effect=0.2, mid=0.8, ratio=True).endswith("of 0.8 (ratio)")
    assert decide(float("nan"), 0.05, effect=1.0) == "not supported"
    assert multiplicity_note(0.01, 0.03, 0.05, "holm", 3) is None
    assert "not after the holm adjustment across 3 claims (adjusted p = 0.06)" in multiplicity_note(0.02, 0.06, 0.05, "holm", 3)


def test_the_report_row_says_when_holm_turned_a_significant_claim_down(report):
    table = report.table
    changed = table.loc[(table["p"] < 0.05) & (table["p_adj"] >= 0.05)]
    for _, r in changed.iterrows():
        assert r["verdict"] == "not supported" and "not after the holm adjustment" in r["reason"]
    kept = table.loc[table["p_adj"] < 0.05]
    assert kept["verdict"].str.startswith("supported").all()
    assert kept["reason"].str.contains("minimal important difference is").all()
