"""Weighted negative binomial outcome model against tests/reference/observational_negbin.R (MASS::glm.nb with the
propensity weights as prior weights, polished to a 1e-13 Newton step; sandwich covariances by hand with numDeriv
bread): estimates, theta and covariances (weights known, and stacked with the propensity model) to 1e-6."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
import combotherapy.observational as ob

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "data" / "sample" / "registry.csv"
PS_REG = "age + sex + pain0 + log(pain_duration)"
RTOL = 1e-6


@pytest.fixture(scope="module")
def ref():
    return json.loads((REPO / "tests" / "reference" / "observational_negbin.json").read_text())


@pytest.fixture(scope="module")
def ps_count():
    data = pd.read_csv(REGISTRY)
    data["count"] = data["work_weeks"].round()   # as the R script: round(work_weeks), half to even
    return ob.propensity_score(data, PS_REG)


def test_inputs_are_the_ones_r_read(ref):
    import hashlib
    assert hashlib.md5(REGISTRY.read_bytes()).hexdigest() == ref["meta"]["md5_registry"]
    # ties such as 3.5 are exact in binary: R's round() and numpy's both go to the even number
    assert np.round(np.array([0.5, 1.5, 2.5, 3.5])).tolist() == [0.0, 2.0, 2.0, 4.0]


@pytest.mark.parametrize("estimand", ["ATE", "overlap"])
@pytest.mark.parametrize("se", ["known", "stacked"])
def test_weighted_negbin_matches_glm_nb_and_sandwich(ps_count, ref, estimand, se):
    r = ref[f"registry_negbin_{estimand}"]
    res = ob.weighted_regression(ob.iptw(ps_count, estimand), "count", "pain0 + sex", family="negbin", se=se)
    assert [t.replace("[", "").replace("]", "") for t in res.terms] == r["terms"]
    np.testing.assert_allclose(res.beta, r["coef"], rtol=RTOL)
    np.testing.assert_allclose(res.beta, r["glm_nb_coef"], rtol=RTOL)      # glm.nb's own solution
    assert res.theta == pytest.approx(r["theta"], rel=RTOL)
    assert res.theta == pytest.approx(r["glm_nb_theta"], rel=RTOL)
    V = np.array(r[f"{se}_vcov"])
    np.testing.assert_allclose(res.vcov, V[:-1, :-1], rtol=RTOL)
    assert res.theta_se == pytest.approx(np.sqrt(V[-1, -1]), rel=RTOL)
    # rate ratios from the arm coefficients, and E-values on the rate-ratio (risk-ratio) scale
    con = res.contrasts.set_index(["first", "second"])
    assert con.loc[("physio", "acupuncture"), "estimate"] == pytest.approx(np.exp(-res.beta[1]), rel=1e-12)
    assert con.loc[("combined", "physio"), "estimate"] == pytest.approx(np.exp(res.beta[2]), rel=1e-12)
    ev = ob.evalues(res)
    assert (ev["measure"] == "RR (rate ratio)").all()
    rr = ev["estimate"].to_numpy()
    big = np.where(rr < 1, 1 / rr, rr)
    np.testing.assert_allclose(ev["evalue"], big + np.sqrt(big * (big - 1)), rtol=1e-12)
    assert "negative binomial" in res.fitted.model and "theta" in " ".join(res.notes)


def test_negbin_checks_its_input(ps_count):
    w = ob.iptw(ps_count)
    with pytest.raises(ct.DataError, match="whole numbers"):
        ob.weighted_regression(w, "work_weeks", family="negbin")
    data = ps_count.data.assign(flat=np.ones(len(ps_count.data)))   # variance 0 < mean: no overdispersion
    flat = ob.iptw(ob.propensity_score(data, PS_REG))
    with pytest.raises(ct.ModelError, match="overdispersion"):
        ob.weighted_regression(flat, "flat", family="negbin")
