"""ct.mediation against hand formulas and a hand-written version of R's mediation::mediate simulation.

Reference: tests/reference/mediation.R -> mediation.json (R's `mediation` package is not installed; the script
writes its algorithm out). Tolerances: regression paths 1e-6 relative (OLS) and 1e-4 (binomial GLM), their
p-values 1e-4; simulated effects within Monte Carlo error: 4 standard errors of the difference between this
package's draws (n_sims = 5000) and R's (100,000 to 400,000), using the draws' SD (x 3 for the 2.5 / 97.5 %
quantiles, whose standard error is about 2.7 SD / sqrt(n) for a normal).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, REPO

import combotherapy as ct
from combotherapy.models.mediation import EFFECT_ROWS, IGNORABILITY, mediation, simulate_effects

REF = json.loads((REFERENCE / "mediation.json").read_text())
N_SIMS = 5000
CASES = {
    "three_arm_pain": dict(outcome="pain"),
    "unbalanced_odi_cov": dict(outcome="odi", treatment=("combined", "acupuncture"), covariates=["age", "sex"]),
    "three_arm_adherence": dict(),
    "unbalanced_adherence_age": dict(covariates=["age"]),
}
LABEL = dict(EFFECT_ROWS)


def close(actual, expected, rtol) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol)


@pytest.fixture(scope="module")
def trials():
    out = {}
    for rel in {c["file"] for c in REF["cases"].values()}:
        path = REPO / rel
        digest = {c["md5"] for c in REF["cases"].values() if c["file"] == rel}
        assert {hashlib.md5(path.read_bytes()).hexdigest()} == digest, (
            f"{path} changed since tests/reference/mediation.R was run: rerun it")
        out[rel] = ct.load(path)
    return out


@pytest.fixture(scope="module")
def results(trials):
    return {name: (mediation(trials[REF["cases"][name]["file"]], n_sims=N_SIMS, seed=1, **kw), REF["cases"][name])
            for name, kw in CASES.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_paths_match_r(results, case):
    res, ref = results[case]
    rtol = 1e-4 if "adherence" in case else 1e-6
    p = res.paths.set_index("path")
    keys = {"a": "a: treatment -> mediator", "b": "b: mediator -> outcome",
            "c_prime": "c': treatment -> outcome (direct)", "c": "c: treatment -> outcome (total, without mediator)"}
    for k, row in keys.items():
        close(p.loc[row, "estimate"], ref["paths"][k]["estimate"], rtol)
        close(p.loc[row, "se"], ref["paths"][k]["se"], rtol)
        close(p.loc[row, "p"], ref["paths"][k]["p"], 1e-4)
    if "ab" in ref["paths"]:
        row = "a*b: product of coefficients (ACME)"
        close(p.loc[row, "estimate"], ref["paths"]["ab"]["estimate"], 1e-6)
        close(p.loc[row, "se"], ref["paths"]["ab"]["se"], 1e-6)
        # OLS identity with the same covariates in every model: total = direct + a * b
        close(p.loc[keys["c"], "estimate"], p.loc[keys["c_prime"], "estimate"] + p.loc[row, "estimate"], 1e-9)
    treated, control = ref["treatment"]
    assert res.fitted.n_per_arm == {treated: ref["n_treated"], control: ref["n_control"]}
    close(res.fitted.extra["mediator_sigma"], ref["sigma"], 1e-6)


@pytest.mark.parametrize("case", list(CASES))
def test_simulated_effects_within_monte_carlo_error(results, case):
    res, ref = results[case]
    e = res.effects.set_index("effect")
    mc = np.sqrt(1 / N_SIMS + 1 / ref["sims"])
    for key, label in LABEL.items():
        r = ref["effects"][label]
        got = e.loc[key]
        tol = 4 * r["sd"] * mc
        point_tol = tol * (1.6 if label.startswith("prop") else 1.0)  # a median: SE about 1.25 SD / sqrt(n)
        assert abs(got["estimate"] - r["estimate"]) < point_tol, (key, got["estimate"], r["estimate"])
        assert abs(got["ci_low"] - r["ci_low"]) < 3 * tol, (key, "ci_low", got["ci_low"], r["ci_low"])
        assert abs(got["ci_high"] - r["ci_high"]) < 3 * tol, (key, "ci_high", got["ci_high"], r["ci_high"])
        p_tol = 4 * 2 * np.sqrt(max(r["p"], 1 / N_SIMS) * (1 - r["p"]) / N_SIMS) + 2 / N_SIMS
        assert abs(got["p"] - r["p"]) < p_tol, (key, "p", got["p"], r["p"])
        if not label.startswith("prop"):
            assert abs(got["se"] / r["sd"] - 1) < 4 * np.sqrt(1 / (2 * N_SIMS)) + 4 * np.sqrt(1 / (2 * ref["sims"]))


def test_linear_case_recovers_product_of_coefficients(results):
    res, ref = results["three_arm_pain"]
    e = res.effects.set_index("effect")
    draws_sd = e.loc["ACME (average)", "se"]
    ab = ref["paths"]["ab"]["estimate"]
    assert abs(e.loc["ACME (average)", "estimate"] - ab) < 4 * draws_sd / np.sqrt(N_SIMS)
    cp = ref["paths"]["c_prime"]["estimate"]
    assert abs(e.loc["ADE (average)", "estimate"] - cp) < 4 * e.loc["ADE (average)", "se"] / np.sqrt(N_SIMS)
    # no treatment-mediator interaction in a linear outcome model: the effects do not depend on t, draw by draw
    d = res.draws
    # (to rounding: draws near zero differ by ~1e-14 absolute)
    np.testing.assert_allclose(d["acme_control"], d["acme_treated"], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(d["ade_control"], d["ade_treated"], rtol=1e-12, atol=1e-13)


def test_common_errors_as_in_r_not_independent_draws(results):
    """Independent errors for M(0) and M(1) would inflate the ACME's spread (by b^2 * 2 sigma^2 / n in variance);
    the package shares the error as mediate does and matches R's spread.

    The mechanism is checked exactly: with no parameter uncertainty and a linear outcome, the shared error cancels
    and every replicate's ACME is a * b, however large the error SD."""
    res, ref = results["three_arm_pain"]
    r_sd = ref["effects"]["acme_average"]["sd"]
    tol = 4 * np.sqrt(1 / (2 * N_SIMS))
    assert abs(res.effects.set_index("effect").loc["ACME (average)", "se"] / r_sd - 1) < tol
    f = res.data
    n = len(f)
    Xm = np.column_stack([np.ones(n), f["T"], np.arange(n, dtype=float)])
    Xo = np.column_stack([np.ones(n), f["T"], f["M"], np.arange(n, dtype=float)])
    mb, ob = np.array([0.5, -1.2, 0.01]), np.array([1.0, 0.3, 0.7, -0.02])
    draws = simulate_effects(Xm, mb, np.zeros((3, 3)), 5.0, Xo, ob, np.zeros((4, 4)), False, 200,
                             np.random.default_rng(3))
    np.testing.assert_allclose(draws["acme_control"], -1.2 * 0.7, rtol=1e-12)
    np.testing.assert_allclose(draws["ade_treated"], 0.3, rtol=1e-12)


def test_same_seed_same_result_and_seed_matters(trials):
    t = trials["data/sample/three_arm.csv"]
    a = mediation(t, outcome="pain", n_sims=300, seed=7)
    b = mediation(t, outcome="pain", n_sims=300, seed=7)
    c = mediation(t, outcome="pain", n_sims=300, seed=8)
    pd.testing.assert_frame_equal(a.effects, b.effects)
    assert not np.allclose(a.effects["estimate"], c.effects["estimate"])
    pd.testing.assert_frame_equal(a.paths, c.paths)  # the regressions do not depend on the seed


def test_summary_states_assumption_and_exclusions(results):
    res, _ = results["three_arm_adherence"]
    text = res.summary()
    assert IGNORABILITY in res.notes and "Sequential ignorability is assumed" in text
    assert "combined minus physio" in text
    ex = res.fitted.excluded
    assert set(ex["reason"]) == {"no pain at week 4 (mediator)"}
    assert len(ex) == 240 - res.fitted.n
    assert list(res.effects.columns) == ["effect", "estimate", "se", "ci_low", "ci_high", "p"]
    assert "<table" in res._repr_html_()


def test_adherence_exclusions_in_unbalanced_data(results):
    res, ref = results["unbalanced_adherence_age"]
    ex = res.fitted.excluded
    assert "no 'sessions_planned' recorded" in set(ex["reason"])  # the physio subject without session counts
    assert res.fitted.n == ref["n"]


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trial(trials):
    return trials["data/sample/three_arm.csv"]


def test_mediator_at_or_after_outcome(trial):
    with pytest.raises(ct.DataError, match=r"mediator 'pain' is measured at week 12, at or after the outcome "
                                           r"\('pain' at week 12\)"):
        mediation(trial, outcome="pain", mediator_visit=12, outcome_visit=12)
    with pytest.raises(ct.DataError, match=r"week 26, at or after the outcome \('adherence' at week 12\)"):
        mediation(trial, mediator_visit=26)
    with pytest.raises(ct.DataError, match="after baseline"):
        mediation(trial, mediator_visit=0)


def test_missing_columns_and_arms(trial):
    with pytest.raises(ct.DataError, match="'grip' is not in this trial"):
        mediation(trial, mediator="grip")
    with pytest.raises(ct.DataError, match=r"\['bmi'\] cannot be used"):
        mediation(trial, covariates=["bmi"])
    with pytest.raises(ct.DataError, match="two different arms"):
        mediation(trial, treatment=("combined", "control"))
    with pytest.raises(ct.DataError, match=r"\['visits_done'\] are not in this trial"):
        mediation(trial, attended="visits_done")
    with pytest.raises(ct.DataError, match="once per subject"):
        mediation(trial, outcome="recovery_time")
    with pytest.raises(ct.DataError, match="n_sims"):
        mediation(trial, n_sims=10)


def test_session_counts_not_whole_numbers(trial):
    data = trial.data.copy()
    s = data.loc[data["arm"] == "combined", "subject"].iloc[0]
    data.loc[data["subject"] == s, "sessions_attended"] = 6.5
    with pytest.raises(ct.DataError, match=rf"sessions_attended.*not a whole number.*{s}"):
        mediation(ct.Trial(data, trial.instruments), n_sims=100)


def test_perfect_prediction_in_the_outcome_model_is_a_model_error():
    """Two subjects per arm: the binomial outcome model separates perfectly; the simulation used to run on
    coefficients of 1e7 and report effects with intervals from -1 to 1."""
    tiny = ct.simulate_trial(n_per_arm=2, seed=1)
    with pytest.raises(ct.ModelError, match="binomial outcome model could not be fitted"):
        mediation(tiny, n_sims=200)


def test_simulation_in_blocks_is_the_same_as_in_one_step(monkeypatch):
    """The replicates are simulated in blocks to bound memory; the errors are drawn block by block from the same
    stream, so the draws do not depend on the block size, and they equal the whole (n_sims x n) computation
    written out directly (to rounding)."""
    import combotherapy.models.mediation_simulation as med
    rng = np.random.default_rng(2)
    n = 300
    T = rng.integers(0, 2, n).astype(float)
    Xm = np.column_stack([np.ones(n), T, rng.normal(size=n)])
    Xo = np.column_stack([np.ones(n), T, rng.normal(size=n), Xm[:, 2]])
    mb, ob = np.array([0.1, -1.0, 0.3]), np.array([0.5, 0.2, -0.3, 0.1])
    mcov, ocov = np.diag([0.01, 0.02, 0.01]), np.diag([0.02, 0.01, 0.01, 0.03])
    for binomial in (True, False):
        whole = simulate_effects(Xm, mb, mcov, 1.3, Xo, ob, ocov, binomial, 150, np.random.default_rng(9))
        monkeypatch.setattr(med, "_BLOCK", 7 * n)   # 7 replicates per block, the last one partial
        blocks = simulate_effects(Xm, mb, mcov, 1.3, Xo, ob, ocov, binomial, 150, np.random.default_rng(9))
        monkeypatch.undo()
        pd.testing.assert_frame_equal(whole, blocks, check_exact=True)
        # the same quantities in one step over all replicates (the draw order: outcome, mediator, errors)
        g = np.random.default_rng(9)
        Bo = g.multivariate_normal(ob, ocov, size=150, method="cholesky")
        Bm = g.multivariate_normal(mb, mcov, size=150, method="cholesky")
        E = 1.3 * g.standard_normal((150, n))
        mean = (lambda lp: 1 / (1 + np.exp(-lp))) if binomial else (lambda lp: lp)
        pred = {(tm, te): mean(Bo[:, [0]] + te * Bo[:, [1]] + (Bm[:, [0]] + tm * Bm[:, [1]] + np.outer(Bm[:, 2], Xm[:, 2])
                                                               + E) * Bo[:, [2]] + np.outer(Bo[:, 3], Xo[:, 3])).mean(axis=1)
                for tm in (0, 1) for te in (0, 1)}
        np.testing.assert_allclose(whole["acme_control"], pred[1, 0] - pred[0, 0], rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(whole["ade_treated"], pred[1, 1] - pred[1, 0], rtol=1e-9, atol=1e-13)
