"""The contrast engine (combotherapy.inference.engine): internal identities here; agreement with emmeans in tests/test_ancova.py (R fixtures)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import combotherapy as ct
from combotherapy.inference.engine import compare, lsmeans
from combotherapy.inference.engine import test_linear as linear

ARMS4 = ["control", "physio", "acupuncture", "combined"]


def _grid(k):
    return pd.DataFrame({"arm": ARMS4[-k:] if k == 3 else ARMS4[:k]})


@pytest.mark.parametrize("k", [3, 4])
@pytest.mark.parametrize("df", [25.0, np.inf])
def test_mvt_equals_tukey_for_balanced_independent_means(k, df):
    # with equal variances and independent means the pairwise t's have exactly Tukey's joint law
    grid, L, beta, V = _grid(k), np.eye(k), np.array([0.0, 1.3, 2.1, 4.4][:k]), np.eye(k) * 0.8
    tk = compare(grid, L, beta, V, df, adjust="tukey")
    mv = compare(grid, L, beta, V, df, adjust="mvt")
    tol = 1e-7 if k == 3 else 3e-5   # rank-3 families use a 300 x 600 grid of directions
    np.testing.assert_allclose(mv["p_adj"], tk["p_adj"], atol=tol)
    np.testing.assert_allclose(mv["ci_low"], tk["ci_low"], atol=10 * tol)


def test_pairwise_labels_and_columns():
    grid, L = _grid(3), np.eye(3)
    out = compare(grid, L, np.array([1.0, 2.0, 3.5]), np.eye(3), 30, adjust="none")
    assert out["contrast"].tolist() == ["combined - physio", "combined - acupuncture", "physio - acupuncture"]
    assert list(out.columns) == ["first", "second", "contrast", "estimate", "se", "df", "statistic", "p", "p_adj",
                                 "ci_low", "ci_high"]
    assert out["first"].tolist() == ["combined", "combined", "physio"]
    np.testing.assert_allclose(out["estimate"], [2.5, 1.5, -1.0])
    np.testing.assert_allclose(out["se"], np.sqrt(2))
    np.testing.assert_allclose(out["p"], 2 * stats.t.sf(np.abs(out["estimate"]) / np.sqrt(2), 30))
    np.testing.assert_allclose(out["p_adj"], out["p"])


def test_holm_bonferroni_sidak_match_their_formulas():
    grid, L = _grid(4), np.eye(4)
    beta, V = np.array([0.0, 2.0, 2.5, 5.0]), np.diag([1.0, 1.5, 1.2, 0.9])
    none = compare(grid, L, beta, V, 40, adjust="none")
    p = none["p"].to_numpy()
    bonf = compare(grid, L, beta, V, 40, adjust="bonferroni")
    np.testing.assert_allclose(bonf["p_adj"], np.minimum(6 * p, 1))
    holm = compare(grid, L, beta, V, 40, adjust="holm")
    order = np.argsort(p)
    expected = np.empty(6)
    expected[order] = np.minimum(np.maximum.accumulate((6 - np.arange(6)) * p[order]), 1)
    np.testing.assert_allclose(holm["p_adj"], expected)
    # Holm has no interval of its own: Bonferroni intervals, as emmeans
    assert holm.attrs["ci_adjust"] == "bonferroni" and holm.attrs["adjust"] == "holm"
    np.testing.assert_allclose(holm["ci_low"], bonf["ci_low"])
    half = stats.t.isf(0.05 / 6 / 2, 40) * bonf["se"]
    np.testing.assert_allclose(bonf["ci_high"] - bonf["estimate"], half)
    sidak = compare(grid, L, beta, V, 40, adjust="sidak")
    np.testing.assert_allclose(sidak["p_adj"], 1 - (1 - p) ** 6)


def test_by_groups_adjust_within_each_group():
    grid = pd.DataFrame({"arm": ARMS4 * 2, "visit": [4.0] * 4 + [12.0] * 4})
    beta = np.array([0, 1, 2, 3, 0, 0.5, 1, 4.0])
    by = compare(grid, np.eye(8), beta, np.eye(8), 30, adjust="holm", by=["visit"])
    assert by["visit"].tolist() == [4.0] * 6 + [12.0] * 6
    week12 = compare(grid.iloc[4:], np.eye(8)[4:], beta, np.eye(8), 30, adjust="holm")
    np.testing.assert_allclose(by["p_adj"].to_numpy()[6:], week12["p_adj"])


def test_dunnett_is_single_step_mvt_against_reference():
    grid, L = _grid(4), np.eye(4)
    beta, V = np.array([0.0, 2.0, 2.5, 5.0]), np.diag([1.0, 1.5, 1.2, 0.9])
    dun = compare(grid, L, beta, V, 40, adjust="dunnett", reference="control")
    mvt = compare(grid, L, beta, V, 40, adjust="mvt", reference="control")
    assert dun["contrast"].tolist() == ["combined - control", "physio - control", "acupuncture - control"]
    np.testing.assert_allclose(dun["p_adj"], mvt["p_adj"])
    # Dunnett lies between the unadjusted and Bonferroni p-values
    assert np.all(dun["p_adj"] >= dun["p"]) and np.all(dun["p_adj"] <= np.minimum(3 * dun["p"], 1) + 1e-12)
    with pytest.raises(ct.ArgumentError, match="reference"):
        compare(grid, L, beta, V, 40, adjust="dunnett")


def test_one_sided_and_single_contrast():
    C = np.array([[0.0, -1.0, 0.0, 1.0], [0.0, 0.0, -1.0, 1.0]])
    beta, V = np.array([0.0, 2.0, 2.5, 5.0]), np.eye(4)
    g = linear(C, beta, V, 20, ["a", "b"], side="greater", adjust="none")
    np.testing.assert_allclose(g["p"], stats.t.sf(g["statistic"], 20))
    assert np.all(np.isinf(g["ci_high"]))
    np.testing.assert_allclose(g["ci_low"], g["estimate"] - stats.t.isf(0.05, 20) * g["se"])
    less = linear(C, beta, V, 20, ["a", "b"], side="less", adjust="mvt")
    assert np.all(np.isinf(less["ci_low"])) and np.all(less["p_adj"] > 0.9)
    one = linear(C[:1], beta, V, 20, ["a"], adjust="bonferroni")
    np.testing.assert_allclose(one["p_adj"], one["p"])   # a family of one is never adjusted


def test_tukey_outside_full_pairwise_falls_back_to_sidak():
    grid, L = _grid(4), np.eye(4)
    out = compare(grid, L, np.arange(4.0), np.eye(4), 30, adjust="tukey", reference="control")
    assert out.attrs["adjust"] == "sidak" and "Sidak" in out.attrs["notes"][0]


def test_callable_df_and_lsmeans():
    grid, L = _grid(3), np.eye(3)
    lm = lsmeans(grid, L, np.array([1.0, 2.0, 3.0]), np.eye(3) * 4, lambda row: 10.0 + row @ np.arange(3))
    np.testing.assert_allclose(lm["df"], [10, 11, 12])
    np.testing.assert_allclose(lm["ci_high"] - lm["estimate"], stats.t.isf(0.025, [10, 11, 12]) * 2)


def test_bad_input():
    grid, L = _grid(3), np.eye(3)
    with pytest.raises(ct.ArgumentError, match="adjust"):
        compare(grid, L, np.zeros(3), np.eye(3), 10, adjust="scheffe")
    with pytest.raises(ct.ArgumentError, match="reference arm 'control'"):
        compare(grid, L, np.zeros(3), np.eye(3), 10, reference="control")
    with pytest.raises(ct.ModelError, match="degrees of freedom"):
        compare(grid, L, np.zeros(3), np.eye(3), 0)
    with pytest.raises(ct.ModelError, match="zero standard error"):
        compare(grid, L, np.zeros(3), np.diag([1.0, 1.0, 0.0]) * 0, 10)


@pytest.mark.parametrize("alpha", [5, 0, 1, -0.1, float("nan"), "0.05x", True])
def test_alpha_outside_zero_one_is_refused(alpha):
    # alpha = 5 gave intervals that excluded their own estimate
    grid, L = _grid(3), np.eye(3)
    with pytest.raises(ct.DataError, match="alpha must be a number between 0 and 1"):
        compare(grid, L, np.zeros(3), np.eye(3), 10, alpha=alpha)
    with pytest.raises(ct.DataError, match="alpha must be a number between 0 and 1"):
        lsmeans(grid, L, np.zeros(3), np.eye(3), 10, alpha=alpha)


def test_tukey_p_values_far_in_the_tail_are_not_printed_as_zero():
    """Audit: the studentized-range tail underflowed to exactly 0 below ~1e-15; an adjusted p is never below the
    unadjusted one, which is a positive, true bound."""
    grid, L = _grid(3), np.eye(3)
    out = compare(grid, L, np.array([0.0, 10.0, 20.0]), np.eye(3) * 0.1, 200, adjust="tukey")
    assert (out["p_adj"] > 0).all()
    assert (out["p_adj"] >= out["p"]).all()


def test_p_adjust_matches_statsmodels_multipletests():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.2, 0.5])
    for method in ("holm", "bonferroni", "sidak"):
        np.testing.assert_allclose(ct.inference.p_adjust(p, method), multipletests(p, method=method)[1])
