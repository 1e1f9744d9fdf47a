"""MMRM: derivatives, sufficient statistics against dense algebra, the API's tables, and every bad-input error.

Reference comparisons (SAS, nlme/emmeans, pbkrtest) are in test_mmrm_sas.py and test_mmrm_reference.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DATASETS, REFERENCE

import combotherapy as ct
from combotherapy import export
from combotherapy.arms import arm_order
from combotherapy.instruments import Instrument
from combotherapy.models.mmrm import covariance as cov
from combotherapy.models.mmrm import design, dfs
from combotherapy.models.mmrm import reml as fitmod
from combotherapy.trial import Trial

SIM_CSV = REFERENCE / "data" / "mmrm_sim.csv"
FEV_CSV = DATASETS / "mmrm_fev_data" / "fev_data.csv"


# --- trials used across the MMRM tests ----------------------------------------------------------------------------
def sim_trial(frame: pd.DataFrame | None = None) -> Trial:
    """The simulated fixture trial (tests/reference/mmrm_make_data.py) as a canonical Trial."""
    d = pd.read_csv(SIM_CSV) if frame is None else frame
    arms = arm_order(list(d["arm"].unique()))
    f = pd.DataFrame({"subject": d["subject"].astype(str),
                      "arm": pd.Categorical(d["arm"], categories=arms, ordered=True),
                      "visit": d["visit"].astype(float), "pain": d["pain"].astype(float),
                      "age": d["age"].astype(float), "sex": d["sex"].astype(str), "site": d["site"].astype(str)})
    return Trial(f, {"pain": Instrument(better="lower", name="pain")})


def fev_trial() -> Trial:
    """mmrm's fev_data with SAS/mmrm reference levels (PBO, Asian, Male, visit 1); baseline rows absent."""
    if not FEV_CSV.exists():
        pytest.fail(f"fev_data not found at {FEV_CSV}")
    d = pd.read_csv(FEV_CSV)
    f = pd.DataFrame({"subject": d["USUBJID"].astype(str),
                      "arm": pd.Categorical(d["ARMCD"], categories=["PBO", "TRT"], ordered=True),
                      "visit": d["VISITN"].astype(float), "fev1": d["FEV1"],
                      "race": pd.Categorical(d["RACE"], categories=["Asian", "Black or African American", "White"]),
                      "sex": pd.Categorical(d["SEX"], categories=["Male", "Female"])})
    return Trial(f, {"fev1": Instrument(better="higher", name="fev1")})


def core(trial: Trial, outcome: str, covariates=(), baseline=True, structure="unstructured", reml=True):
    """Numerical core without the API: (data, stats, structure, fit)."""
    data = design.build(trial, outcome, covariates, baseline)
    k = len(data.visits)
    M = design.design_maps(k, data.features.shape[1], data.cols)
    st = design.pattern_stats(data.features, data.Y, M)
    s = cov.make_structure(structure, k)
    return data, st, s, fitmod.fit_covariance(st, s, s.start(fitmod.moment_start(st)), reml)


@pytest.fixture(scope="module")
def sim():
    return sim_trial()


# --- covariance structures ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", cov.STRUCTURES)
def test_structure_derivatives_match_finite_differences(name):
    k = 5
    s = cov.make_structure(name, k)
    rng = np.random.default_rng(3)
    theta = rng.normal(scale=0.5, size=s.n_par)
    phi = s.phi(theta)
    assert np.all(np.linalg.eigvalsh(s.sigma(phi)) > 0)
    h = 1e-6
    eye = np.eye(len(phi))
    fd1 = np.stack([(s.sigma(phi + h * e) - s.sigma(phi - h * e)) / (2 * h) for e in eye])
    np.testing.assert_allclose(s.d1(phi), fd1, atol=1e-7)
    d2 = s.d2(phi)
    fd2 = np.stack([(s.d1(phi + h * e) - s.d1(phi - h * e)) / (2 * h) for e in eye])
    if d2 is None:
        assert s.linear
        np.testing.assert_allclose(fd2, 0, atol=1e-6)
    else:
        np.testing.assert_allclose(d2, fd2, atol=1e-6)
    J = s.jacobian(theta)
    fdJ = np.column_stack([(s.phi(theta + h * e) - s.phi(theta - h * e)) / (2 * h) for e in np.eye(len(theta))])
    np.testing.assert_allclose(J, fdJ, atol=1e-7)


def test_partial_autocorrelations_round_trip():
    pacf = np.array([0.6, -0.3, 0.2, 0.1])
    acf = cov._pacf_to_acf(pacf)
    np.testing.assert_allclose(cov._acf_to_pacf(acf), pacf, atol=1e-12)
    R = np.concatenate([[1.0], acf])[cov._lags(5)]
    assert np.linalg.eigvalsh(R).min() > 0


def test_unknown_structure_name():
    with pytest.raises(ValueError, match="unknown covariance"):
        cov.make_structure("banded", 3)


# --- sufficient statistics against dense matrices ----------------------------------------------------------------
def dense_reml(data, st, Sigma, reml=True):
    """-2 log L from the dense block-diagonal V, X and y of the same data (no pattern statistics)."""
    n, k = data.Y.shape
    keep = ~np.isnan(data.Y).ravel()
    X = np.einsum("apq,iq->iap", st.M, data.features).reshape(n * k, -1)[keep]
    y = data.Y.ravel()[keep]
    V = np.kron(np.eye(n), Sigma)[np.ix_(keep, keep)]
    Vi = np.linalg.inv(V)
    H = X.T @ Vi @ X
    beta = np.linalg.solve(H, X.T @ Vi @ y)
    r = y - X @ beta
    f = np.linalg.slogdet(V)[1] + r @ Vi @ r
    N, p = len(y), X.shape[1]
    f += (np.linalg.slogdet(H)[1] + (N - p) * np.log(2 * np.pi)) if reml else N * np.log(2 * np.pi)
    return f, beta, np.linalg.inv(H)


@pytest.mark.parametrize("reml", [True, False])
def test_pattern_statistics_reproduce_dense_likelihood(sim, reml):
    small = pd.read_csv(SIM_CSV)
    small = small[small["subject"].isin(small["subject"].unique()[::4])]
    data, st, s, _ = core(sim_trial(small), "pain", ["age", "sex", "site"], structure="ar1_het")
    Sigma = s.sigma(s.phi(np.random.default_rng(1).normal(scale=0.3, size=s.n_par)))
    state = fitmod.evaluate(st, Sigma, reml)
    f, beta, C = dense_reml(data, st, Sigma, reml)
    assert state.f == pytest.approx(f, rel=1e-11)
    np.testing.assert_allclose(state.beta, beta, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(state.C, C, rtol=1e-9, atol=1e-12)
    assert len(st.n) < len(data.subjects)  # the fit saw patterns, not subjects


@pytest.mark.parametrize("structure", ["unstructured", "ar1_het", "toeplitz", "cs"])
@pytest.mark.parametrize("reml", [True, False])
def test_analytic_gradient_and_hessian_match_finite_differences(sim, structure, reml):
    data, st, s, F = core(sim, "pain", ["age", "sex", "site"], structure=structure, reml=reml)
    phi = F.phi + 0.02 * np.abs(F.phi) + 0.01   # away from the optimum, where the gradient is not zero

    def f_of(ph):
        return fitmod.evaluate(st, s.sigma(ph), reml).f

    def g_of(ph):
        return fitmod.grad_phi(fitmod.evaluate(st, s.sigma(ph), reml), s.d1(ph))

    state = fitmod.evaluate(st, s.sigma(phi), reml)
    g = fitmod.grad_phi(state, s.d1(phi))
    H, _ = fitmod.hessian(st, state, s.d1(phi), s.d2(phi), reml)
    h = 1e-5 * np.maximum(np.abs(phi), 0.1)
    eye = np.eye(len(phi))
    fd_g = np.array([(f_of(phi + hi * e) - f_of(phi - hi * e)) / (2 * hi) for hi, e in zip(h, eye)])
    fd_H = np.column_stack([(g_of(phi + hi * e) - g_of(phi - hi * e)) / (2 * hi) for hi, e in zip(h, eye)])
    np.testing.assert_allclose(g, fd_g, rtol=1e-5, atol=1e-5 * np.abs(g).max())
    np.testing.assert_allclose(H, fd_H, rtol=1e-5, atol=1e-6 * np.abs(H).max())


def test_satterthwaite_gradient_matches_finite_differences(sim):
    data, st, s, F = core(sim, "pain", ["age", "sex", "site"])
    sat = dfs.Satterthwaite(F.state.C, F.P, 2 * np.linalg.inv(F.hess_phi))
    L = np.random.default_rng(0).normal(size=(2, st.p))
    h = 1e-6
    fd = np.column_stack([
        (np.einsum("rp,pq,rq->r", L, fitmod.evaluate(st, s.sigma(F.phi + h * e), True).C, L)
         - np.einsum("rp,pq,rq->r", L, fitmod.evaluate(st, s.sigma(F.phi - h * e), True).C, L)) / (2 * h)
        for e in np.eye(len(F.phi))])
    np.testing.assert_allclose(sat.grad(L), fd, rtol=1e-6, atol=1e-9)


def test_kenward_roger_single_contrast_df_is_satterthwaite(sim):
    # with Theta built on the unadjusted covariance (KR 1997, pbkrtest, SAS), one contrast has lambda = 1 and
    # df = 2 / A1, the Satterthwaite df; the adjusted covariance is no smaller than the model-based one
    data, st, s, F = core(sim, "pain", ["age", "sex", "site"])
    A = 2 * np.linalg.inv(F.hess_phi)
    sat = dfs.Satterthwaite(F.state.C, F.P, A)
    kr = dfs.KenwardRoger(st, F.state, s.d1(F.phi), None, F.P, A)
    vec = np.zeros(st.p)
    vec[1] = 1
    assert kr.df(vec) == pytest.approx(sat.df(vec), rel=1e-12)
    assert kr.vcov[1, 1] > F.state.C[1, 1]
    _, ndf, ddf = kr.f_test(vec, F.state.beta)
    assert ndf == 1 and ddf == pytest.approx(sat.df(vec), rel=1e-12)


def test_fit_invariant_to_row_order_and_subject_labels(sim):
    a = ct.mmrm(sim, "pain", covariates=["age", "sex", "site"])
    shuffled = sim.data.sample(frac=1.0, random_state=5).reset_index(drop=True)
    shuffled["subject"] = "X" + shuffled["subject"]
    b = ct.mmrm(Trial(shuffled, sim.instruments), "pain", covariates=["age", "sex", "site"])
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)
    np.testing.assert_allclose(a.coefficients["estimate"], b.coefficients["estimate"], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(a.contrasts["df"], b.contrasts["df"], rtol=1e-7)


# --- the API's result --------------------------------------------------------------------------------------------
def test_result_tables_and_record(sim):
    r = ct.mmrm(sim, "pain", covariates=["age", "sex", "site"], adjust="holm")
    arms = ["control", "physio", "acupuncture", "combined"]
    visits = [2.0, 4.0, 8.0, 12.0, 26.0]
    assert list(r.by_arm.columns[:2]) == ["visit", "arm"]
    assert len(r.by_arm) == len(arms) * len(visits)
    assert list(r.contrasts.columns) == ["visit", "first", "second", "contrast", "estimate", "se", "df", "statistic",
                                         "p", "p_adj", "ci_low", "ci_high"]
    assert len(r.contrasts) == 6 * len(visits)
    assert set(r.contrasts["contrast"]) >= {"combined - physio", "combined - acupuncture", "physio - control"}
    assert (r.contrasts["p_adj"] >= r.contrasts["p"] - 1e-15).all()
    # holm within a visit: the smallest p of each visit is multiplied by the number of pairs
    for _, g in r.contrasts.groupby("visit"):
        assert g["p_adj"].min() == pytest.approx(min(1.0, 6 * g["p"].min()), rel=1e-10)
    assert list(r.coefficients.columns) == ["term", "estimate", "se", "df", "statistic", "p", "ci_low", "ci_high"]
    assert r.coefficients["term"].iloc[0] == "(Intercept)"
    assert {"arm[combined]:visit[26]", "baseline:visit[4]", "site[south]", "sex[M]", "age"} <= set(r.coefficients["term"])
    assert list(r.type3["term"]) == ["arm", "visit", "arm:visit", "baseline", "baseline:visit", "age", "sex", "site"]
    assert list(r.type3["num_df"]) == [3, 4, 12, 1, 4, 1, 1, 2]
    assert list(r.covariance.index) == visits and list(r.covariance.columns) == visits
    np.testing.assert_allclose(r.covariance.to_numpy(), r.covariance.to_numpy().T)
    np.testing.assert_allclose(np.diag(r.correlation), 1.0)
    assert r.aic == pytest.approx(-2 * r.loglik + 2 * 15)
    assert r.bic == pytest.approx(-2 * r.loglik + 15 * np.log(r.fitted.n))
    assert r.convergence["converged"] and r.convergence["newton_decrement"] < 1e-12
    # the record: three subjects excluded, each with its reason
    ex = r.fitted.excluded.set_index("subject")["reason"]
    assert ex["S011"] == "missing baseline pain" and ex["S150"] == "missing baseline pain"
    assert ex["S008"] == "no post-baseline value of pain"
    assert r.fitted.n == 260 - 3
    # S008 and S011 are control subjects, S150 an acupuncture subject (45/70/60/85 randomised)
    assert r.fitted.n_per_arm == {"control": 43, "physio": 70, "acupuncture": 59, "combined": 85}
    text = r.summary()
    assert "MMRM (REML)" in text and "unstructured" in text and "covariance (visits in weeks)" in text
    assert "<table" in r._repr_html_()
    assert len(r.covariance_parameters) == 15


def test_compare_at_a_visit_and_linear_combinations(sim):
    r = ct.mmrm(sim, "pain", covariates=["age", "sex", "site"])
    at = r.compare(visit=26, adjust="none")
    assert len(at) == 6 and (at["visit"] == 26).all()
    one = r.test({"combined": 1, "control": -1}, "combined - control", visit=26)
    row = at.set_index("contrast").loc["combined - control"]
    for c in ("estimate", "se", "df", "p"):
        assert one[c].iloc[0] == pytest.approx(row[c], rel=1e-10)
    inter = r.test({"combined": 1, "physio": -1, "acupuncture": -1, "control": 1}, "interaction", visit=26)
    ls = r.by_arm[r.by_arm["visit"] == 26].set_index("arm")["estimate"]
    assert inter["estimate"].iloc[0] == pytest.approx(ls["combined"] - ls["physio"] - ls["acupuncture"]
                                                      + ls["control"], rel=1e-10)
    with pytest.raises(ct.ArgumentError, match="visit 3 was not analysed") as err:
        r.compare(visit=3)
    assert err.value.argument == "visit"
    with pytest.raises(ct.ArgumentError, match="not in the model") as err:
        r.test({"yoga": 1}, visit=26)
    assert err.value.arm == "yoga"
    with pytest.raises(ct.ArgumentError, match="pass visit="):
        r.test({"combined": 1, "control": -1})


def test_lsmean_weights_equal_versus_proportional(sim):
    eq = ct.mmrm(sim, "pain", covariates=["site"], weights="equal")
    pr = ct.mmrm(sim, "pain", covariates=["site"], weights="proportional")
    assert not np.allclose(eq.by_arm["estimate"], pr.by_arm["estimate"])
    # differences between arms do not depend on how covariate levels are weighted (no arm-by-covariate term)
    np.testing.assert_allclose(eq.contrasts["estimate"], pr.contrasts["estimate"], rtol=1e-10)
    no_factor = [ct.mmrm(sim, "pain", covariates=["age"], weights=w).by_arm["estimate"] for w in ("equal",
                                                                                                  "proportional")]
    np.testing.assert_allclose(*no_factor, rtol=1e-12)


def test_ml_and_kenward_roger_and_residual_df(sim):
    reml = ct.mmrm(sim, "pain", covariates=["age"])
    ml = ct.mmrm(sim, "pain", covariates=["age"], method="ml")
    p = len(ml.coefficients)
    assert ml.aic == pytest.approx(-2 * ml.loglik + 2 * (15 + p))
    np.testing.assert_allclose(np.diag(ml.covariance) < np.diag(reml.covariance), True)  # ML shrinks variances
    kr = ct.mmrm(sim, "pain", covariates=["age"], df="kenward-roger")
    assert (kr.contrasts["se"].to_numpy() > reml.contrasts["se"].to_numpy()).all()
    res = ct.mmrm(sim, "pain", covariates=["age"], df="residual")
    n_obs = res.fitted.extra["n_observations"]
    assert (res.contrasts["df"] == n_obs - p).all()
    np.testing.assert_allclose(res.contrasts["se"], reml.contrasts["se"], rtol=1e-12)


@pytest.mark.parametrize("structure", cov.STRUCTURES)
def test_every_structure_fits_and_nests_within_unstructured(sim, structure):
    r = ct.mmrm(sim, "pain", covariance=structure)
    un = ct.mmrm(sim, "pain")
    assert r.convergence["converged"]
    assert r.loglik <= un.loglik + 1e-8     # every structure is a special case of UN
    if structure.endswith("_het") or structure == "unstructured":
        assert len(set(np.round(np.diag(r.covariance), 8))) == 5
    else:
        assert np.ptp(np.diag(r.covariance)) < 1e-8


def test_one_post_baseline_visit(sim):
    d = sim.data[sim.data["visit"].isin([0.0, 12.0])]
    r = ct.mmrm(Trial(d.reset_index(drop=True), sim.instruments), "pain", covariance="ar1")
    assert list(r.covariance.index) == [12.0]
    assert any("one post-baseline visit" in n for n in r.notes)


def test_sample_trial_if_present():
    sample = REFERENCE.parent.parent / "data" / "sample"
    files = sorted(sample.glob("*.csv")) if sample.is_dir() else []
    if not files or not hasattr(ct, "load"):
        pytest.skip("no sample trial yet")
    trial = ct.load(files[0])
    outcome = next((o for o in trial.visit_outcomes if o == "pain"), None)
    if outcome is None:
        pytest.skip("sample trial has no pain outcome")
    r = ct.mmrm(trial, outcome, covariates=[c for c in ("age", "sex") if c in trial.data.columns])
    assert r.convergence["converged"] and len(r.contrasts) > 0


# --- bad input --------------------------------------------------------------------------------------------------------
def test_duplicated_visit_rows(sim):
    d = pd.concat([sim.data, sim.data.iloc[[3]]], ignore_index=True)
    with pytest.raises(ct.DataError, match=r"column 'visit'.*more than once.*rows 4, \d+"):
        ct.mmrm(Trial(d, sim.instruments), "pain")


def test_duplicated_visit_next_to_the_original_and_unsorted_visits(sim):
    # the design pass skips the duplicate count when rows are sorted by subject and visit: a repeated row right
    # after its original, or visits out of order within a subject, must still be checked
    d = pd.concat([sim.data.iloc[:4], sim.data.iloc[[3]], sim.data.iloc[4:]], ignore_index=True)
    with pytest.raises(ct.DataError, match=r"more than once.*rows 4, 5"):
        ct.mmrm(Trial(d, sim.instruments), "pain")
    d = pd.concat([sim.data.iloc[:4], sim.data.iloc[[1]], sim.data.iloc[4:]], ignore_index=True)
    with pytest.raises(ct.DataError, match=r"more than once.*rows 2, 5"):
        ct.mmrm(Trial(d, sim.instruments), "pain")
    rev = sim.data.iloc[::-1].reset_index(drop=True)       # contiguous subjects, decreasing visits
    assert ct.mmrm(Trial(rev, sim.instruments), "pain").loglik == pytest.approx(ct.mmrm(sim, "pain").loglik,
                                                                                 rel=1e-12)


def test_arm_without_observations_at_a_visit(sim):
    d = sim.data.copy()
    d.loc[(d["arm"] == "physio") & (d["visit"] == 8.0), "pain"] = np.nan
    with pytest.raises(ct.DataError, match="no observation for arm 'physio' at visit 8"):
        ct.mmrm(Trial(d, sim.instruments), "pain")


def test_too_few_subjects_or_observations(sim):
    d = sim.data[sim.data["visit"] <= 4.0]
    complete = d.groupby("subject")["pain"].count() == 3
    pick = [complete[complete].index[d.drop_duplicates("subject").set_index("subject")["arm"]
                                       .reindex(complete[complete].index) == arm][0] for arm in ("control", "combined")]
    t = Trial(d[d["subject"].isin(pick)].reset_index(drop=True), sim.instruments)
    with pytest.raises(ct.DataError, match=r"too few subjects \(2\) for an unstructured covariance over 2 visits"):
        ct.mmrm(t, "pain", baseline=False)
    with pytest.raises(ct.DataError, match=r"too few observations of 'pain' \(4\) for 4 fixed effects"):
        ct.mmrm(t, "pain", baseline=False, covariance="cs")


def test_visits_never_observed_together(sim):
    d = sim.data.copy()
    odd = d["subject"].str[-1].isin(list("13579"))
    d.loc[odd & (d["visit"] == 2.0), "pain"] = np.nan
    d.loc[~odd & (d["visit"] == 4.0), "pain"] = np.nan
    with pytest.raises(ct.ModelError, match="both visits 2 and 4.*'toeplitz'"):
        ct.mmrm(Trial(d, sim.instruments), "pain")
    # a structured covariance does not need the pair
    assert ct.mmrm(Trial(d, sim.instruments), "pain", covariance="ar1").convergence["converged"]


def test_zero_variance_start_is_refused(sim):
    d = sim.data.copy()
    d.loc[d["visit"] == 26.0, "pain"] = 5.0
    with pytest.raises(ct.ModelError, match="zero residual variance"):
        ct.mmrm(Trial(d, sim.instruments), "pain", baseline=False)


def test_non_convergence_raises_and_suggests_simpler_covariance(sim):
    data, st, s, _ = core(sim, "pain")
    with pytest.raises(ct.ModelError, match="did not converge.*simpler covariance"):
        fitmod.fit_covariance(st, s, s.start(fitmod.moment_start(st)), True, tol=-1.0, max_newton=2)


def test_options_and_columns_are_checked(sim):
    with pytest.raises(ct.ArgumentError, match="covariance='banded'"):
        ct.mmrm(sim, "pain", covariance="banded")
    with pytest.raises(ct.ArgumentError, match="df='containment'"):
        ct.mmrm(sim, "pain", df="containment")
    with pytest.raises(ct.ArgumentError, match="method='mle'"):
        ct.mmrm(sim, "pain", method="mle")
    with pytest.raises(ct.ArgumentError, match="weights='cells'"):
        ct.mmrm(sim, "pain", weights="cells")
    with pytest.raises(ct.ArgumentError, match="Kenward-Roger.*REML"):
        ct.mmrm(sim, "pain", df="kenward-roger", method="ml")
    with pytest.raises(ct.ArgumentError, match="adjust='fdr'"):
        ct.mmrm(sim, "pain", adjust="fdr")
    with pytest.raises(ct.DataError, match="covariate 'bmi' is not a column"):
        ct.mmrm(sim, "pain", covariates=["bmi"])
    with pytest.raises(ct.DataError, match="part of the model"):
        ct.mmrm(sim, "pain", covariates=["arm"])
    with pytest.raises(ct.DataError, match="outcome 'odi' is not in this trial"):
        ct.mmrm(sim, "odi")


def test_single_arm_is_refused(sim):
    d = sim.data[sim.data["arm"] == "combined"].reset_index(drop=True)
    with pytest.raises(ct.DataError, match="compares arms"):
        ct.mmrm(Trial(d, sim.instruments), "pain")


def test_constant_covariate_is_left_out_with_a_note(sim):
    d = sim.data.assign(centre="one")
    r = ct.mmrm(Trial(d, sim.instruments), "pain", covariates=["centre"])
    assert any("centre" in n and "single value" in n for n in r.notes)
    assert not any(t.startswith("centre") for t in r.coefficients["term"])


def test_subject_level_outcome_is_refused(sim):
    d = sim.data.assign(recovery_time=10.0)
    inst = {**sim.instruments, "recovery_time": Instrument(better="lower", name="recovery_time", level="subject")}
    with pytest.raises(ct.DataError, match="'recovery_time' is measured once per subject.*visit-level"):
        ct.mmrm(Trial(d, inst), "recovery_time")


def test_covariates_given_as_one_string(sim):
    a = ct.mmrm(sim, "pain", covariates="age")
    b = ct.mmrm(sim, "pain", covariates=["age"])
    assert a.loglik == b.loglik and "age" in set(a.coefficients["term"])


def test_no_baseline_rows_says_how_to_map_one_or_drop_it(sim):
    d = sim.data[sim.data["visit"] > 0].reset_index(drop=True)
    with pytest.raises(ct.DataError, match=r"no subject has a baseline \(week 0\) value of 'pain'.*"
                                           r"columns=\{'pain_baseline'.*baseline=False"):
        ct.mmrm(Trial(d, sim.instruments), "pain")
    without = ct.mmrm(Trial(d, sim.instruments), "pain", baseline=False)
    assert without.loglik == pytest.approx(ct.mmrm(sim, "pain", baseline=False).loglik, rel=1e-12)


def test_every_subject_excluded_names_the_reasons(sim):
    d = sim.data.assign(bmi=np.nan)
    with pytest.raises(ct.DataError, match=r"every subject was excluded: 257 missing bmi"):
        ct.mmrm(Trial(d, sim.instruments), "pain", covariates=["bmi"])


def test_time_varying_covariate_enters_at_its_baseline_value(sim):
    # a covariate that changes between visits cannot enter a subject-level design row: its week-0 value is used
    # (as ct.ancova does) and a note says so; it used to be the subject's first non-missing row, silently
    d = sim.data.copy()
    rng = np.random.default_rng(4)
    d["weight"] = 70 + rng.normal(size=len(d))
    base = d.loc[d["visit"] == 0].set_index("subject")["weight"]
    fixed = d.assign(weight=d["subject"].map(base))
    d = d.sample(frac=1.0, random_state=1).reset_index(drop=True)   # a subject's first row is not its baseline
    r = ct.mmrm(Trial(d, sim.instruments), "pain", covariates=["weight"])
    ref = ct.mmrm(Trial(fixed, sim.instruments), "pain", covariates=["weight"])
    assert r.loglik == pytest.approx(ref.loglik, rel=1e-12)
    assert any("'weight' varies between visits" in n and "baseline (week 0) value" in n for n in r.notes)
    # a subject without a week-0 value of the covariate is excluded, with the reason
    d.loc[(d["subject"] == "S001") & (d["visit"] == 0), "weight"] = np.nan
    r = ct.mmrm(Trial(d, sim.instruments), "pain", covariates=["weight"])
    assert r.fitted.excluded.set_index("subject").loc["S001", "reason"] == "missing weight at baseline (week 0)"


def test_constant_numeric_covariate_is_left_out_like_a_constant_factor(sim):
    r = ct.mmrm(Trial(sim.data.assign(dose=2.5), sim.instruments), "pain", covariates=["dose", "age"])
    assert any("dose" in n and "single value" in n for n in r.notes)
    assert "dose" not in set(r.coefficients["term"])
    assert r.loglik == pytest.approx(ct.mmrm(sim, "pain", covariates=["age"]).loglik, rel=1e-12)


def test_collinear_covariates_are_named(sim):
    d = sim.data.assign(age_months=sim.data["age"] * 12)
    with pytest.raises(ct.DataError, match=r"covariate 'age_months' is a linear combination of the terms before it"
                                           r".*drop 'age_months'"):
        ct.mmrm(Trial(d, sim.instruments), "pain", covariates=["age", "age_months"])
    # a factor whose levels coincide with another factor's
    d = sim.data.assign(region=sim.data["site"].map({"north": "N", "south": "S", "east": "E", "west": "W"}))
    with pytest.raises(ct.DataError, match="covariate 'region'"):
        ct.mmrm(Trial(d, sim.instruments), "pain", covariates=["site", "region"])


def test_constant_baseline_is_named(sim):
    d = sim.data.copy()
    d.loc[d["visit"] == 0, "pain"] = 5.0
    with pytest.raises(ct.DataError, match=r"baseline value of 'pain' .*baseline=False"):
        ct.mmrm(Trial(d, sim.instruments), "pain")


@pytest.mark.parametrize("structure, suggested, not_suggested", [
    ("unstructured", "'toeplitz_het', 'toeplitz', 'ar1' or 'cs'", None),
    ("toeplitz_het", "'toeplitz', 'ar1_het' or 'cs_het'", "'unstructured'"),
    ("ar1_het", "'ar1'", "'toeplitz"),
    ("ar1", "'cs'", "'toeplitz"),
])
def test_non_convergence_suggests_only_simpler_structures(sim, structure, suggested, not_suggested):
    # an AR(1) fit that fails was told to try 'toeplitz' (more parameters) before
    data, st, s, _ = core(sim, "pain", structure=structure)
    with pytest.raises(ct.ModelError) as err:
        fitmod.fit_covariance(st, s, s.start(fitmod.moment_start(st)), True, tol=-1.0, max_newton=2)
    assert f"covariance={suggested}" in str(err.value)
    if not_suggested:
        assert not_suggested not in str(err.value)


def test_non_convergence_of_compound_symmetry_says_it_is_the_simplest(sim):
    data, st, s, _ = core(sim, "pain", structure="cs")
    with pytest.raises(ct.ModelError, match="compound symmetry is the simplest structure offered"):
        fitmod.fit_covariance(st, s, s.start(fitmod.moment_start(st)), True, tol=-1.0, max_newton=2)


def test_baseline_mean_of_the_ls_means_is_recorded(sim):
    # plots draw the week-0 point at the baseline the LS means are evaluated at: the mean over the analysed
    # post-baseline observations (as emmeans and SAS), i.e. each subject's baseline weighted by its observations
    r = ct.mmrm(sim, "pain", covariates=["age"])
    d = sim.data
    base = d.loc[d["visit"] == 0].set_index("subject")["pain"]
    post = d[(d["visit"] > 0) & d["pain"].notna() & d["subject"].map(base).notna()]
    assert r.fitted.extra["baseline_mean"] == pytest.approx(post["subject"].map(base).mean(), rel=1e-12)
    # the reference arm's LS mean at the first visit is the prediction at that baseline (and age at its mean)
    coef = r.coefficients.set_index("term")["estimate"]
    age = post["subject"].map(d.drop_duplicates("subject").set_index("subject")["age"]).mean()
    first = r.by_arm.iloc[0]
    assert (first["arm"], first["visit"]) == ("control", 2.0)
    assert first["estimate"] == pytest.approx(coef["(Intercept)"] + coef["baseline"] * r.fitted.extra["baseline_mean"]
                                              + coef["age"] * age, rel=1e-10)
    assert ct.mmrm(sim, "pain", baseline=False).fitted.extra["baseline_mean"] is None


def test_ar1_note_names_unequal_spacing_only_when_visits_are_unequally_spaced(sim):
    r = ct.mmrm(sim, "pain", covariance="ar1")
    note = [n for n in r.notes if "equally spaced" in n]
    assert len(note) == 1 and "2, 4, 8, 12, 26" in note[0] and "unequally spaced" in note[0]
    even = sim.data[sim.data["visit"].isin([0.0, 4.0, 8.0, 12.0])].reset_index(drop=True)
    r = ct.mmrm(Trial(even, sim.instruments), "pain", covariance="toeplitz_het")
    assert not any("spaced" in n for n in r.notes)
    assert not any("spaced" in n for n in ct.mmrm(sim, "pain", covariance="cs").notes)


def test_exports_carry_the_covariance_matrix(sim, tmp_path):
    r = ct.mmrm(sim, "pain", covariance="cs")
    value = export.format_value(r.covariance.iloc[0, 1], 3)      # e.g. "1.32": only the covariance has it
    assert value not in ct.mmrm(sim, "pain", covariance="cs").to_markdown().split("### covariance")[0]
    for text in (r.to_markdown(), r.to_html(), r._repr_html_()):
        assert "covariance (visits in weeks)" in text and value in text
    assert f"{r.covariance.iloc[0, 1]:.3f}" in r.summary()
    assert value in r.save(tmp_path / "fit.md").read_text()


def test_an_arm_whose_subjects_are_all_excluded_is_named(sim):
    d = sim.data.copy()
    d.loc[(d["arm"] == "physio") & (d["visit"] == 0), "pain"] = np.nan
    r = ct.mmrm(Trial(d, sim.instruments), "pain")
    assert "physio" not in r.fitted.n_per_arm and not r.contrasts["contrast"].str.contains("physio").any()
    assert any("arm 'physio' has no analysed subject" in n and "70 missing baseline pain" in n for n in r.notes)


def test_too_few_observations_is_said_before_blaming_a_term(sim):
    # one complete subject per arm, two visits: 8 observations for 10 fixed effects; the rank check blamed the
    # baseline ("does not vary") instead of saying there are too few observations
    d = sim.data[sim.data["visit"] <= 4.0]
    complete = d.groupby("subject")["pain"].count() == 3
    first = d[d["subject"].isin(complete[complete].index)].drop_duplicates("subject").groupby("arm", observed=True)
    t = Trial(d[d["subject"].isin(first["subject"].first())].reset_index(drop=True), sim.instruments)
    with pytest.raises(ct.DataError, match=r"too few observations of 'pain' \(8\) for 10 fixed effects"):
        ct.mmrm(t, "pain", covariance="cs")
