"""Proportion building blocks: Wilson, Newcombe, score test, Katz risk ratio, Altman NNT.

References: Newcombe (1998) Stat Med 17:873-890, Table II (method 10), printed to 4 decimals; the
R hand formulas in tests/reference/responders.R (full precision); scipy/statsmodels as independent
implementations of Wilson and the Pearson chi-square.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REFERENCE
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from combotherapy.models.proportions import (
    newcombe_diff_ci,
    nnt_altman,
    risk_ratio_katz,
    score_test_diff,
    wilson_ci,
    z_value,
)

REF = json.loads((REFERENCE / "responders.json").read_text())

# Newcombe (1998b), Table II, method 10 (hybrid score, no continuity correction): (x1, n1, x2, n2, low, high).
# Rows (a) and (b) were confirmed against an independent published test suite (m-Py/propint, which checks
# these two rows against the paper); the others are read from the same table.
NEWCOMBE_TABLE_II = [
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (0, 10, 0, 10, -0.2775, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000),
    (10, 10, 0, 10, 0.6075, 1.0000),
]


@pytest.mark.parametrize("x1,n1,x2,n2,low,high", NEWCOMBE_TABLE_II)
def test_newcombe_reproduces_published_table(x1, n1, x2, n2, low, high):
    d = newcombe_diff_ci(x1, n1, x2, n2)
    # the paper prints 4 decimals: agree to within rounding
    assert abs(float(d.ci_low) - low) <= 5e-5
    assert abs(float(d.ci_high) - high) <= 5e-5
    assert float(d.estimate) == pytest.approx(x1 / n1 - x2 / n2, abs=1e-15)


def test_newcombe_matches_r_hand_formula_vectorised():
    t = REF["newcombe_table2"]
    d = newcombe_diff_ci(t["x1"], t["n1"], t["x2"], t["n2"])
    np.testing.assert_allclose(d.ci_low, t["low"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(d.ci_high, t["high"], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("x,n", [(0, 10), (1, 29), (56, 70), (10, 10), (17, 37), (3, 4)])
def test_wilson_matches_scipy_and_statsmodels(x, n):
    lo, hi = wilson_ci(x, n, alpha=0.1)
    s = stats.binomtest(x, n).proportion_ci(confidence_level=0.9, method="wilson")
    sm_lo, sm_hi = proportion_confint(x, n, alpha=0.1, method="wilson")
    assert float(lo) == pytest.approx(s.low, rel=1e-10, abs=1e-14)
    assert float(hi) == pytest.approx(s.high, rel=1e-10)
    assert float(lo) == pytest.approx(sm_lo, rel=1e-10, abs=1e-14)
    assert float(hi) == pytest.approx(sm_hi, rel=1e-10)


def test_wilson_boundaries_and_shapes():
    lo, hi = wilson_ci(np.array([0, 5, 5, 0]), np.array([5, 5, 10, 0]))
    assert lo.shape == (4,)
    assert lo[0] == 0.0 and hi[1] == 1.0          # exact ends at x = 0 and x = n
    assert np.isnan(lo[3]) and np.isnan(hi[3])    # empty group: NaN, not an error
    assert 0 < lo[2] < 0.5 < hi[2] < 1
    # scalar in, scalar out; broadcasting a scalar n against an array of x
    assert np.ndim(wilson_ci(3, 10).low) == 0
    assert wilson_ci([1, 2, 3], 10).low.shape == (3,)


@pytest.mark.parametrize("x,n", [(-1, 5), (6, 5), (1, np.nan)])
def test_invalid_counts_raise(x, n):
    with pytest.raises(ValueError, match="0 <= x <= n"):
        wilson_ci(x, n)


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5])
def test_alpha_must_be_a_probability(alpha):
    with pytest.raises(ValueError, match="alpha"):
        z_value(alpha)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 200), st.integers(1, 200), st.data())
def test_newcombe_properties(n1, n2, data):
    x1 = data.draw(st.integers(0, n1))
    x2 = data.draw(st.integers(0, n2))
    d = newcombe_diff_ci(x1, n1, x2, n2)
    # contains the estimate, stays in [-1, 1]
    assert -1 - 1e-12 <= d.ci_low <= d.estimate + 1e-12
    assert d.estimate - 1e-12 <= d.ci_high <= 1 + 1e-12
    # swapping the groups mirrors the interval
    s = newcombe_diff_ci(x2, n2, x1, n1)
    assert float(s.ci_low) == pytest.approx(-float(d.ci_high), abs=1e-12)
    assert float(s.ci_high) == pytest.approx(-float(d.ci_low), abs=1e-12)
    # a wider confidence level gives a wider interval
    w = newcombe_diff_ci(x1, n1, x2, n2, alpha=0.01)
    assert w.ci_low <= d.ci_low + 1e-12 and w.ci_high >= d.ci_high - 1e-12


@pytest.mark.parametrize("x1,n1,x2,n2", [(56, 70, 48, 80), (3, 14, 9, 23), (0, 10, 4, 12)])
def test_score_test_is_pearson_chi_square(x1, n1, x2, n2):
    z, p = score_test_diff(x1, n1, x2, n2)
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    chi2, p_ref, _, _ = stats.chi2_contingency(table, correction=False)
    assert float(z) ** 2 == pytest.approx(chi2, rel=1e-10)
    assert float(p) == pytest.approx(p_ref, rel=1e-10)
    assert np.sign(z) == np.sign(x1 / n1 - x2 / n2)


def test_score_test_undefined_when_everyone_or_no_one_responds():
    z, p = score_test_diff([0, 5], [5, 5], [0, 7], [8, 7])
    assert np.isnan(z).all() and np.isnan(p).all()


def test_risk_ratio_katz_by_formula():
    r = risk_ratio_katz(56, 70, 48, 80, alpha=0.05)
    log_rr = np.log((56 / 70) / (48 / 80))
    se = np.sqrt(1 / 56 - 1 / 70 + 1 / 48 - 1 / 80)
    z = stats.norm.ppf(0.975)
    assert float(r.log_estimate) == pytest.approx(log_rr, rel=1e-12)
    assert float(r.se) == pytest.approx(se, rel=1e-12)
    assert float(r.ci_low) == pytest.approx(np.exp(log_rr - z * se), rel=1e-12)
    assert float(r.ci_high) == pytest.approx(np.exp(log_rr + z * se), rel=1e-12)
    assert float(r.p) == pytest.approx(2 * stats.norm.sf(log_rr / se), rel=1e-12)
    assert not r.corrected


def test_risk_ratio_corrects_only_tables_with_a_zero():
    r = risk_ratio_katz([0, 3, 0, 4], [10, 10, 10, 10], [3, 0, 0, 4], [12, 12, 12, 10])
    np.testing.assert_array_equal(r.corrected, [True, True, False, False])
    # corrected: (0 + .5)/(10 + 1) over (3 + .5)/(12 + 1)
    assert r.estimate[0] == pytest.approx((0.5 / 11) / (3.5 / 13), rel=1e-12)
    assert r.se[0] == pytest.approx(np.sqrt(1 / 0.5 - 1 / 11 + 1 / 3.5 - 1 / 13), rel=1e-12)
    assert np.isnan(r.estimate[2]) and np.isnan(r.p[2])   # no successes anywhere: nothing to compare
    assert r.estimate[3] == 1.0
    # everyone responds in both groups: RR 1 with a degenerate interval and no test
    full = risk_ratio_katz(10, 10, 12, 12)
    assert float(full.estimate) == 1.0 and float(full.se) == 0.0 and np.isnan(full.p)


def test_nnt_altman_conventions():
    r = nnt_altman([0.2, -0.2, 0.1, -0.1, 0.0], [0.1, -0.3, -0.05, -0.25, -0.1], [0.3, -0.1, 0.25, 0.04, 0.1])
    np.testing.assert_allclose(r.estimate[:4], [5, -5, 10, -10])
    assert np.isinf(r.estimate[4])
    # RD interval excludes 0: an ordinary interval (NNTB 3.3 to 10)
    assert r.ci_low[0] == pytest.approx(1 / 0.3) and r.ci_high[0] == pytest.approx(10)
    assert r.note[0] == "NNTB 5.0 (NNTB 3.3 to 10.0)"
    assert r.ci_low[1] == pytest.approx(-10) and r.ci_high[1] == pytest.approx(-1 / 0.3)
    assert r.note[1] == "NNTH 5.0 (NNTH 3.3 to 10.0)"
    # RD interval includes 0: the NNT interval passes through infinity, ci_low (NNTB) > ci_high (NNTH)
    assert r.ci_low[2] == pytest.approx(4) and r.ci_high[2] == pytest.approx(-20)
    assert r.note[2] == "NNTB 10.0 (NNTH 20.0 to ∞ to NNTB 4.0)"
    assert r.note[3] == "NNTH 10.0 (NNTH 4.0 to ∞ to NNTB 25.0)"
    assert r.note[4] == "∞ (NNTH 10.0 to ∞ to NNTB 10.0)"
