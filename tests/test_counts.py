"""ct.count_model against R (MASS 7.3-58.2 glm.nb, stats::glm poisson; hand rate ratios and dispersion tests).

Reference numbers: tests/reference/counts.R -> counts.json, on the fixture tests/reference/data/counts_fixture.csv
(three unbalanced arms, dropout, a missing baseline, an exposure column) at weeks 12 and 4 and with exposure, and
on the sample trial data/sample/three_arm.csv.
Tolerances (relative): Poisson estimates/SEs 1e-6; negative binomial (iterative) 1e-4; p-values 1e-4.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, SAMPLE
from statsmodels.stats.multitest import multipletests

import combotherapy as ct
from combotherapy.arms import arm_order
from combotherapy.instruments import REGISTRY

REF = json.loads((REFERENCE / "counts.json").read_text())
FIXTURE = REFERENCE / "data" / "counts_fixture.csv"
EST, ITER, P = 1e-6, 1e-4, 1e-4
CASES = {"fixture": {}, "fixture_week4": {"visit": 4}, "fixture_exposure": {"exposure": "days_observed"},
         "sample": {}}


def make_trial(frame: pd.DataFrame) -> ct.Trial:
    """A canonical Trial built directly (no loader validation), so the model's own checks are exercised."""
    frame = frame.copy()
    frame["subject"] = frame["subject"].astype(str)
    frame["arm"] = pd.Categorical(frame["arm"], categories=arm_order(list(pd.unique(frame["arm"]))), ordered=True)
    frame["visit"] = frame["visit"].astype(float)
    return ct.Trial(frame.sort_values(["subject", "visit"]).reset_index(drop=True),
                    {c: REGISTRY[c] for c in frame.columns if c in REGISTRY})


@pytest.fixture(scope="module")
def fixture_trial() -> ct.Trial:
    return make_trial(pd.read_csv(FIXTURE))


@pytest.fixture(scope="module")
def sample_trial() -> ct.Trial:
    path = SAMPLE / "three_arm.csv"
    if "sample" not in REF:
        pytest.fail("counts.json has no sample-trial numbers: run Rscript tests/reference/counts.R")
    if hashlib.md5(path.read_bytes()).hexdigest() != REF["sample"]["md5"]:
        pytest.fail("data/sample/three_arm.csv changed since counts.json was made: rerun Rscript tests/reference/counts.R")
    return ct.load(path)


@pytest.fixture(params=list(CASES))
def case(request, fixture_trial, sample_trial):
    trial = sample_trial if request.param == "sample" else fixture_trial
    return trial, CASES[request.param], REF[request.param]


def close(actual, expected, rtol):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=0)


@pytest.mark.parametrize("family", ["negbin", "poisson"])
def test_rate_ratios_and_coefficients_match_R(case, family):
    trial, kwargs, ref = case
    res = ct.count_model(trial, family=family, adjust="none", **kwargs)  # R's intervals are unadjusted
    tol = ITER if family == "negbin" else EST
    exp = pd.DataFrame(ref[family]["rate_ratios"])
    assert res.contrasts["contrast"].tolist() == exp["contrast"].tolist()
    close(res.contrasts[["estimate", "ci_low", "ci_high", "log_estimate", "se", "statistic"]],
          exp[["estimate", "ci_low", "ci_high", "log_estimate", "se", "statistic"]], tol)
    close(res.contrasts["p"], exp["p"], P)
    assert res.coefficients["term"].str.replace("baseline", "base").tolist() == ref[family]["coef_names"]
    close(res.coefficients["estimate"], ref[family]["coef"], tol)
    close(res.coefficients["se"], ref[family]["se"], tol)
    close(res.fitted.extra["loglik"], ref[family]["loglik"], EST)
    assert res.fitted.n_per_arm == ref["n_per_arm"]


def test_theta_matches_glm_nb(case):
    trial, kwargs, ref = case
    disp = ct.count_model(trial, **kwargs).dispersion.set_index("quantity")
    close(disp.loc["theta (NB size)", "estimate"], ref["negbin"]["theta"], ITER)
    close(disp.loc["theta (NB size)", "se"], ref["negbin"]["theta_se"], ITER)
    theta, se = ref["negbin"]["theta"], ref["negbin"]["theta_se"]
    close(disp.loc["alpha = 1/theta", ["estimate", "se"]], [1 / theta, se / theta ** 2], ITER)


def test_dispersion_checks_match_R(case):
    trial, kwargs, ref = case
    res = ct.count_model(trial, **kwargs)
    disp = res.dispersion.set_index("quantity")
    po = ref["poisson"]
    close(disp.loc["Pearson chi2/df (Poisson)", "statistic"], po["pearson_chi2"], EST)
    close(disp.loc["Pearson chi2/df (Poisson)", "df"], po["df_resid"], 0)
    close(disp.loc["Cameron-Trivedi alpha (Poisson)", ["estimate", "statistic"]],
          [po["ct_alpha"], po["ct_statistic"]], EST)
    close(disp.loc["Cameron-Trivedi alpha (Poisson)", "p"], po["ct_p"], P)
    close(disp.loc["LR test NB vs Poisson", "statistic"], ref["lr_statistic"], ITER)
    close(disp.loc["LR test NB vs Poisson", "p"], ref["lr_p"], P)
    assert res.recommendation == "negbin"  # the fixtures are overdispersed by construction


def test_rates_are_the_lsmeans_behind_the_ratios(fixture_trial):
    res = ct.count_model(fixture_trial)
    rates = res.by_arm.set_index("arm")["estimate"]
    rr = res.contrasts.set_index("contrast")["estimate"]
    close(rr["combined - physio"], rates["combined"] / rates["physio"], 1e-12)
    assert set(res.by_arm.columns) >= {"arm", "estimate", "ci_low", "ci_high", "log_estimate", "se"}


def test_exclusions_are_recorded(fixture_trial):
    res = ct.count_model(fixture_trial)
    reasons = res.fitted.excluded["reason"].value_counts()
    assert reasons["no analgesic_days at week 12"] == 12
    assert reasons["no baseline analgesic_days"] == 1
    assert "analgesic_days[week 12] ~ arm + baseline" in res.fitted.formula
    assert "Dispersion check recommends: negbin" in res.summary()
    assert "<table" in res._repr_html_()


def test_poisson_counts_are_not_called_overdispersed():
    rng = np.random.default_rng(11)
    n = 150
    arm = np.repeat(["physio", "acupuncture", "combined"], n // 3)
    base = rng.poisson(8, n)
    y = rng.poisson(np.exp(0.5 + 0.1 * base - 0.4 * (arm == "combined")))
    frame = pd.DataFrame({"subject": np.tile([f"P{i:03d}" for i in range(n)], 2), "arm": np.tile(arm, 2),
                          "visit": np.repeat([0.0, 12.0], n), "analgesic_days": np.concatenate([base, y])})
    res = ct.count_model(make_trial(frame), family="poisson")
    assert res.recommendation == "poisson"
    assert "overdispersed" not in " ".join(res.fitted.notes)


def test_poisson_fit_of_overdispersed_counts_warns_in_notes(fixture_trial):
    res = ct.count_model(fixture_trial, family="poisson")
    assert any("use family='negbin'" in note for note in res.fitted.notes)


def test_underdispersed_counts_refuse_negbin():
    n = 60
    arm = np.repeat(["physio", "combined"], n // 2)
    base = np.tile([4, 5, 6], n // 3)
    y = np.tile([5, 5, 6, 4, 5, 5], n // 6)  # far less spread than Poisson
    frame = pd.DataFrame({"subject": np.tile([f"U{i:03d}" for i in range(n)], 2), "arm": np.tile(arm, 2),
                          "visit": np.repeat([0.0, 12.0], n), "analgesic_days": np.concatenate([base, y])})
    with pytest.raises(ct.ModelError, match="family='poisson'"):
        ct.count_model(make_trial(frame))


def test_reference_and_holm(fixture_trial):
    full = ct.count_model(fixture_trial).contrasts.set_index("contrast")
    vs = ct.count_model(fixture_trial, reference="physio").contrasts
    assert vs["contrast"].tolist() == ["combined - physio", "acupuncture - physio"]
    close(vs["estimate"].iloc[0], full.loc["combined - physio", "estimate"], 1e-12)
    holm = ct.count_model(fixture_trial, adjust="holm").contrasts
    close(holm["p_adj"], multipletests(holm["p"], method="holm")[1], 1e-12)


# --- bad input ----------------------------------------------------------------------------------
def _bad(edit):
    frame = pd.read_csv(FIXTURE)
    edit(frame)
    return make_trial(frame)


def test_fractional_counts_are_a_data_error():
    def edit(f):
        f.loc[f["subject"].isin(["C003", "C004"]) & (f["visit"] == 12), "analgesic_days"] = 2.5
    with pytest.raises(ct.DataError, match=r"analgesic_days.*not a whole number.*subjects C003, C004\] \(rows \d+, \d+; 2 in all"):
        ct.count_model(_bad(edit))


def test_negative_counts_are_a_data_error():
    def edit(f):
        f.loc[(f["subject"] == "C005") & (f["visit"] == 0), "analgesic_days"] = -1
    with pytest.raises(ct.DataError, match=r"analgesic_days.*negative"):
        ct.count_model(_bad(edit))


def test_non_positive_exposure_is_a_data_error():
    def edit(f):
        f.loc[(f["subject"] == "C005") & (f["visit"] == 12), "days_observed"] = 0
    with pytest.raises(ct.DataError, match=r"days_observed.*positive"):
        ct.count_model(_bad(edit), exposure="days_observed")


def test_fractional_count_at_an_unused_visit_is_ignored():
    def edit(f):
        f.loc[(f["subject"] == "C005") & (f["visit"] == 4), "analgesic_days"] = 2.5
    ct.count_model(_bad(edit))  # week 4 is not analysed


def test_bad_options(fixture_trial):
    with pytest.raises(ct.ModelError, match="baseline"):
        ct.count_model(fixture_trial, visit=0)
    with pytest.raises(ct.DataError, match="visit 6 is not in this trial"):
        ct.count_model(fixture_trial, visit=6)
    with pytest.raises(ct.DataError, match="family"):
        ct.count_model(fixture_trial, family="zip")
    with pytest.raises(ct.DataError, match="exposure column 'diary'"):
        ct.count_model(fixture_trial, exposure="diary")


def test_all_zero_arm_is_a_model_error():
    def edit(f):
        f.loc[(f["arm"] == "acupuncture") & (f["visit"] == 12) & f["analgesic_days"].notna(), "analgesic_days"] = 0
    with pytest.raises(ct.ModelError, match=r"acupuncture.*only zero counts"):
        ct.count_model(_bad(edit))


def test_rate_ratio_table_follows_the_result_conventions(fixture_trial):
    """Ratio measures: estimate and interval on the ratio scale, log_estimate and se on the log scale, and the
    shared columns (df is infinite: Wald z)."""
    con = ct.count_model(fixture_trial).contrasts
    assert list(con.columns) == ["first", "second", "contrast", "estimate", "log_estimate", "se", "df",
                                 "statistic", "p", "p_adj", "ci_low", "ci_high"]
    assert np.isinf(con["df"]).all()


# --- covariates and exposure (issue 9 item 5): tests/reference/counts_adjusted.R -----------------------------
REF_ADJ = json.loads((REFERENCE / "counts_adjusted.json").read_text())
REPO = REFERENCE.parents[1]


@pytest.fixture(scope="module", params=["unbalanced", "exposure", "factorial", "interaction"])
def adjusted_case(request):
    ref = dict(REF_ADJ[request.param])
    if isinstance(ref["covariates"], str):  # jsonlite unboxes a one-element vector
        ref["covariates"] = [ref["covariates"]]
    path = next(p for p in (REFERENCE / "data" / ref["file"], SAMPLE / ref["file"]) if p.exists())
    assert hashlib.md5(path.read_bytes()).hexdigest() == ref["md5"], f"{path} changed: rerun counts_adjusted.R"
    trial = make_trial(pd.read_csv(path)) if ref["file"] == "counts_fixture.csv" else ct.load(path)
    # the package's formula terms for R's age*sex + site
    kwargs = {"visit": ref["visit"], "covariates": [{"site": "C(site)"}.get(c, c) for c in ref["covariates"]]}
    if ref["exposure"]:
        kwargs["exposure"] = ref["exposure"]
    return trial, kwargs, ref


@pytest.mark.parametrize("family", ["negbin", "poisson"])
def test_adjusted_counts_match_R(adjusted_case, family):
    """glm.nb / glm(poisson) with covariates (factors, a 0/1-coded text column, a missing covariate) and
    offset(log(exposure)); rates against emmeans(offset = 0)."""
    trial, kwargs, ref = adjusted_case
    res = ct.count_model(trial, family=family, adjust="none", **kwargs)  # R's intervals are unadjusted
    tol = ITER if family == "negbin" else EST
    r = ref[family]
    assert res.fitted.n_per_arm == ref["n_per_arm"]
    # R's baseline column is "base"; patsy orders terms differently from R (factors first), so match by name
    names = res.coefficients["term"].replace("baseline", "base")
    assert sorted(names) == sorted(r["coef_names"])
    coef = res.coefficients.set_index(names)
    close(coef.loc[r["coef_names"], "estimate"], r["coef"], tol)
    close(coef.loc[r["coef_names"], "se"], r["se"], tol)
    close(res.fitted.extra["loglik"], r["loglik"], EST)
    exp = pd.DataFrame(r["rate_ratios"])
    assert res.contrasts["contrast"].tolist() == exp["contrast"].tolist()
    close(res.contrasts[["estimate", "ci_low", "ci_high", "log_estimate", "se"]],
          exp[["estimate", "ci_low", "ci_high", "log_estimate", "se"]], tol)
    close(res.contrasts["p"], exp["p"], P)
    rates = pd.DataFrame(r["rates"])
    assert res.by_arm["arm"].tolist() == rates["arm"].tolist()
    close(res.by_arm[["estimate", "ci_low", "ci_high", "log_estimate", "se"]],
          rates[["estimate", "ci_low", "ci_high", "log_estimate", "se"]], tol)
    if family == "negbin":
        disp = res.dispersion.set_index("quantity")
        close(disp.loc["theta (NB size)", ["estimate", "se"]], [r["theta"], r["theta_se"]], ITER)


def test_adjusted_counts_record_covariates_and_exclusions(adjusted_case):
    trial, kwargs, ref = adjusted_case
    res = ct.count_model(trial, **kwargs)
    assert all(f"+ {c}" in res.fitted.formula for c in kwargs["covariates"])
    assert res.fitted.extra["covariates"] == kwargs["covariates"]
    if "pain_duration" in ref["covariates"]:
        assert "covariate 'pain_duration' missing" in set(res.fitted.excluded["reason"])


def test_unknown_or_reserved_covariate_is_a_data_error(fixture_trial):
    with pytest.raises(ct.DataError, match=r"\['height'\] are not columns"):
        ct.count_model(fixture_trial, covariates=["height"])
    with pytest.raises(ct.DataError, match="cannot be covariates"):
        ct.count_model(fixture_trial, covariates=["analgesic_days"])


def test_covariate_given_as_one_string(fixture_trial):
    one = ct.count_model(fixture_trial, covariates="sex")
    assert "sexmale" in one.coefficients["term"].tolist()


def test_arm_without_counts_at_the_visit_is_a_data_error():
    """Audit finding: an arm with no counts at the analysed visit vanished from the tables (n_per_arm listed
    three arms, then reference='control' failed). It is now a DataError naming the arm and why."""
    frame = pd.read_csv(REPO / "tests/reference/data/safety_unbalanced.csv")
    frame.loc[(frame["arm"] == "control") & (frame["visit"] == 12), "analgesic_days"] = np.nan
    trial = ct.load(frame)
    with pytest.raises(ct.DataError, match=r"\['control'\] have no subject analysable.*"
                                           r"'control': 16 no analgesic_days at week 12"):
        ct.count_model(trial, reference="control")


# --- the IRLS written out against statsmodels' GLM (issue 15: speed without moving numbers) ---------------
@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_irls_equals_statsmodels_glm(alpha):
    import statsmodels.api as sm

    from combotherapy.models.counts import _irls
    rng = np.random.default_rng(8)
    n = 800
    X = np.column_stack([np.ones(n), rng.integers(0, 2, n), rng.poisson(6, n)])
    offset = np.log(rng.uniform(20, 28, n))
    mu = np.exp(X @ [-2.0, -0.4, 0.08] + offset)
    y = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu)) if alpha else rng.poisson(mu)
    y = y.astype(float)
    family = sm.families.NegativeBinomial(alpha=alpha) if alpha else sm.families.Poisson()
    ref = sm.GLM(y, X, family=family, offset=offset).fit(tol=1e-12, maxiter=200)
    got = _irls(y, X, offset, alpha=alpha)
    close(got["params"], ref.params, 1e-10)
    close(got["vcov"], ref.cov_params(), 1e-8)
    close(got["llf"], ref.llf, 1e-12)
    close(got["mu"], ref.fittedvalues, 1e-10)
    assert got["df_resid"] == ref.df_resid
