"""Responders on imputed continuous values (``ct.missing.analyse(..., analysis="responders")``): the pooling
identity on complete data, Rubin's rules against a hand computation from ``ct.responders`` on each imputed trial,
and the refusal of conditional-mean imputations."""

from __future__ import annotations

import numpy as np
import pytest

import combotherapy as ct


@pytest.fixture(scope="module")
def complete():
    return ct.simulate_trial(n_per_arm=40, seed=5, dropout=0.0)


@pytest.fixture(scope="module")
def incomplete():
    return ct.simulate_trial(n_per_arm=40, seed=7, dropout=0.3)


def test_no_missing_value_gives_the_plain_responder_numbers(complete):
    assert not complete.data["pain"].isna().any()
    res = ct.missing.approximate_bayes(complete, "pain", m=3, seed=1)
    pooled = ct.missing.analyse(res, "responders", threshold=0.3, relative=True, visit=12)
    plain = ct.responders(complete, "pain", 12, threshold=0.3, relative=True, adjust="none")
    rd = plain.contrasts[plain.contrasts["measure"] == "risk_difference"].reset_index(drop=True)
    got = pooled.contrasts[pooled.contrasts["measure"] == "risk_difference"].reset_index(drop=True)
    assert list(got["contrast"]) == list(rd["contrast"])
    np.testing.assert_allclose(got["estimate"], rd["estimate"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["se"], rd["se"], rtol=1e-12)
    np.testing.assert_allclose(pooled.by_arm["estimate"], plain.by_arm["proportion"], rtol=0, atol=1e-12)
    assert np.allclose(got["fmi"], 0, atol=1e-12)       # every imputed data set is the trial itself
    # the odds ratio of the logistic model responder ~ arm + baseline (statsmodels' GLM inside ct.responders)
    orr = plain.contrasts[plain.contrasts["measure"] == "odds_ratio"].reset_index(drop=True)
    got = pooled.contrasts[pooled.contrasts["measure"] == "odds_ratio"].reset_index(drop=True)
    np.testing.assert_allclose(got["log_estimate"], orr["log_estimate"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got["se"], orr["se"], rtol=1e-8)


def test_rubins_rules_by_hand_from_each_imputed_trial(incomplete):
    m = 5
    res = ct.missing.approximate_bayes(incomplete, "pain", m=m, seed=11)
    pooled = ct.missing.analyse(res, "responders", threshold=2.0, visit=12, alpha=0.05)
    # per imputation: ct.responders on the imputed trial (every subject has a value), risk difference and its SE
    est, se, lors = [], [], []
    for i in range(m):  # a handful of imputations
        r = ct.responders(res.imputed_trial(i), "pain", 12, threshold=2.0, adjust="none")
        c = r.contrasts[r.contrasts["measure"] == "risk_difference"]
        est.append(c["estimate"].to_numpy())
        se.append(c["se"].to_numpy())
        lors.append(r.contrasts.loc[r.contrasts["measure"] == "odds_ratio", "log_estimate"].to_numpy())
    est, se = np.array(est), np.array(se)
    q = est.mean(axis=0)
    W = (se ** 2).mean(axis=0)
    B = est.var(axis=0, ddof=1)
    T = W + (1 + 1 / m) * B
    lam = (1 + 1 / m) * B / T
    df = (m - 1) / lam ** 2            # Barnard-Rubin with infinite complete-data df = Rubin's (1987) df
    crit = __import__("scipy.stats", fromlist=["t"]).t.isf(0.025, df)
    got = pooled.contrasts[pooled.contrasts["measure"] == "risk_difference"]
    np.testing.assert_allclose(got["estimate"], q, rtol=1e-12)
    np.testing.assert_allclose(got["se"], np.sqrt(T), rtol=1e-12)
    np.testing.assert_allclose(got["df"], df, rtol=1e-10)
    np.testing.assert_allclose(got["ci_low"], q - crit * np.sqrt(T), rtol=1e-10)
    # the baseline-adjusted log odds ratio of each imputed trial (ct.responders' logistic model), pooled
    lor = np.array(lors)
    orr = pooled.contrasts[pooled.contrasts["measure"] == "odds_ratio"]
    np.testing.assert_allclose(orr["log_estimate"], lor.mean(axis=0), rtol=1e-8)
    per = pooled.per_imputation
    np.testing.assert_allclose(per.loc[per["measure"] == "risk_difference", "estimate"], est.ravel(), rtol=1e-12)
    assert "responder at week 12" in pooled.estimand.variable and "Estimand" in pooled.summary()


def test_bootstrapped_ml_mi_pools_with_von_hippel_bartlett(incomplete):
    res = ct.missing.bootstrap_mi(incomplete, "pain", n_boot=4, per_boot=2, seed=3)
    pooled = ct.missing.analyse(res, "responders", threshold=2.0)
    per = pooled.per_imputation
    rd = per[per["measure"] == "risk_difference"]
    k = rd["first"].nunique() + 1
    est = rd["estimate"].to_numpy().reshape(8, -1)
    from combotherapy.missing.pool import von_hippel_bartlett
    expected = von_hippel_bartlett(est, 4, 2)
    got = pooled.contrasts[pooled.contrasts["measure"] == "risk_difference"]
    np.testing.assert_allclose(got["estimate"], expected["estimate"], rtol=1e-12)
    np.testing.assert_allclose(got["se"], expected["se"], rtol=1e-12)
    assert k >= 2


def test_conditional_mean_is_refused_with_the_reason():
    res = ct.missing.conditional_mean(ct.simulate_trial(n_per_arm=8, seed=5), "pain")
    with pytest.raises(ct.DataError, match="step function"):
        ct.missing.analyse(res, "responders", threshold=2.0)
    assert ct.missing.analyse(res, "ancova") is res
    with pytest.raises(ct.DataError, match="threshold="):
        ct.missing.analyse(res, "responders")
    with pytest.raises(ct.DataError, match="choose 'ancova'"):
        ct.missing.analyse(res, "logrank")
