"""The claims report: verdicts follow the simulator's truth; multiplicity; not-testable claims; extension."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import combotherapy as ct
from combotherapy.claims import claims_report, default_claims
from combotherapy.contrasts import p_adjust
from combotherapy.simulate import claim_truth


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
    assert all(v in allowed or v.startswith("not testable: ") for v in table["verdict"])
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


def test_verdicts_match_the_truth_on_a_large_trial():
    trial = ct.simulate_trial(n_per_arm=500, seed=11)
    table = claims_report(trial).table.set_index("id")
    truth = claim_truth().set_index("claim")["truth"]
    for claim, value in truth.items():
        rows = table.loc[table.index.str.match(rf"^{claim}[a-z]?$")]
        assert len(rows), claim
        if value == "true":
            assert (rows["verdict"] == "supported").all(), (claim, rows["verdict"].tolist())
        else:  # a claim built null must not be supported
            assert (rows["verdict"] != "supported").any(), (claim, rows["verdict"].tolist())
            assert not (rows["verdict"] == "supported").all()


def test_missing_outcome_is_not_testable(sample):
    data = sample.data.drop(columns=["crp", "endurance"])
    trial = ct.Trial(data, {k: v for k, v in sample.instruments.items() if k not in ("crp", "endurance")})
    table = claims_report(trial).table.set_index("id")
    assert table.loc["3", "verdict"] == "not testable: no crp data"
    assert table.loc["7a", "verdict"] == "not testable: no endurance data"
    assert table.loc["1", "verdict"] == "supported"


def test_factorial_trial_tests_physiotherapy_in_chronic_pain():
    from conftest import SAMPLE

    trial = ct.load(SAMPLE / "factorial.csv")
    row = claims_report(trial).table.set_index("id").loc["10"]
    assert row["contrast"] == "physio - control" and row["verdict"] in ("supported", "inconclusive")
    chronic = trial.data.loc[trial.data["pain_duration"] >= 12]
    res = ct.ancova(ct.Trial(chronic, trial.instruments), "pain", 12, adjust="none")
    est = res.contrasts.set_index("contrast").loc["physio - control", "estimate"]
    assert row["estimate"] == pytest.approx(est, rel=1e-12)


def test_users_extend_the_table(sample):
    extra = pd.DataFrame([{"id": "11", "claim": "Combined therapy reduces disability more than either alone",
                           "outcome": "odi", "model": "ancova", "visit": 12.0, "test": "combination", "mid": 10.0,
                           "subgroup": ""}])
    table = claims_report(sample, pd.concat([default_claims(), extra], ignore_index=True)).table
    assert table["id"].iloc[-1] == "11" and table["verdict"].iloc[-1] in ("supported", "inconclusive",
                                                                            "not supported")


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
