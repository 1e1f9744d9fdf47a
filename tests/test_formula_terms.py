"""Formula-term covariates and the one reference-grid rule, against R (tests/reference/formula_terms.R -> .json).

ANCOVA with ``age*sex + C(site)``, a natural spline ``ns(age, df=3)`` and a two-valued numeric covariate in an
interaction (``age*female``) against ``lm`` + ``emmeans``; the MMRM's LS means with a 0/1 numeric covariate against
``nlme::gls`` + ``emmeans`` (cov.keep = "2": the covariate averaged over its two values, not at its mean).

Tolerances: LS means, contrasts, SEs and sigma 1e-8 relative (closed-form OLS); MMRM LS means and SEs 5e-5 relative (gls stops short of the REML maximum), log-likelihood 1e-8
relative.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.arms import arm_order
from combotherapy.inference import formula_variables, model_matrix, reference_grid

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "formula_terms.json").read_text())
FIXTURE = HERE / "reference" / "data" / "ancova_fixture.csv"
SIM_CSV = HERE / "reference" / "data" / "mmrm_sim.csv"
CASES = {"A": ["age*sex", "C(site)"], "B": ["ns(age, df=3)", "sex"], "C": ["age*female"]}


@pytest.fixture(scope="module")
def fixture_trial():
    t = ct.load(FIXTURE)
    data = t.data.assign(female=(t.data["sex"].astype(str) == "female").astype(float))
    # R analyses complete cases on age, sex and site in every case: the same subjects here
    return ct.Trial(data, t.instruments)


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows).rename(columns={"emmean": "estimate", "visitf": "visit"})


@pytest.mark.parametrize("case", sorted(CASES))
def test_ancova_formula_terms_match_lm_emmeans(fixture_trial, case):
    ref = REF["ancova"][case]
    res = ct.ancova(fixture_trial, "pain", 12, covariates=CASES[case], missing_baseline="exclude", adjust="none")
    assert res.fitted.n == ref["n"]
    assert res.fitted.extra["sigma"] == pytest.approx(ref["sigma"], rel=1e-8)
    r_ls = _frame(ref["lsmeans"]).set_index("arm").loc[res.by_arm["arm"]]
    np.testing.assert_allclose(res.by_arm["estimate"], r_ls["estimate"], rtol=1e-8)
    np.testing.assert_allclose(res.by_arm["se"], r_ls["se"], rtol=1e-8)
    r_con = _frame(ref["contrasts"])
    # emmeans labels pairs in level order ("control - physio"); ours are (first, second) as data: match on arms
    r_con[["a", "b"]] = r_con["contrast"].str.split(" - ", expand=True)
    for _, row in res.contrasts.iterrows():
        hit = r_con[(r_con.a == row["first"]) & (r_con.b == row["second"])]
        sign = 1.0
        if hit.empty:
            hit, sign = r_con[(r_con.a == row["second"]) & (r_con.b == row["first"])], -1.0
        assert row["estimate"] == pytest.approx(sign * hit["estimate"].iloc[0], rel=1e-8)
        assert row["se"] == pytest.approx(hit["se"].iloc[0], rel=1e-8)
        assert row["p"] == pytest.approx(hit["p"].iloc[0], rel=1e-6)
    if case != "B":   # the spline is another basis; the rest are R's coefficients by name
        ours = dict(zip(res.coefficients["term"], res.coefficients["estimate"]))
        for term, value in ref["coefficients"].items():
            name = term.replace("factor(site)", "site")
            assert ours[name] == pytest.approx(value, rel=1e-7, abs=1e-10), term


def test_two_valued_covariate_in_an_interaction_is_a_factor_in_the_grid(fixture_trial):
    """emmeans' grid: female at 0 and 1 (equal weights), age:female built from grid values — not female at its
    mean, which the R fixture shows differs."""
    res = ct.ancova(fixture_trial, "pain", 12, covariates=["age*female"], missing_baseline="exclude")
    L = res.inference.grid.L
    col = {t: j for j, t in enumerate(res.inference.terms)}
    age_mean = res.data["age"].mean()
    np.testing.assert_allclose(L[:, col["female"]], 0.5)
    np.testing.assert_allclose(L[:, col["age:female"]], 0.5 * age_mean)
    assert res.data["female"].mean() != pytest.approx(0.5, abs=1e-3)


def test_mmrm_two_valued_covariate_follows_the_grid_rule(tmp_path):
    d = pd.read_csv(SIM_CSV)
    f = pd.DataFrame({"subject": d["subject"].astype(str),
                      "arm": pd.Categorical(d["arm"], categories=arm_order(list(d["arm"].unique())), ordered=True),
                      "visit": d["visit"].astype(float), "pain": d["pain"].astype(float),
                      "age": d["age"].astype(float), "female": (d["sex"] == "F").astype(float)})
    trial = ct.Trial(f, {"pain": ct.Instrument(better="lower", name="pain")})
    res = ct.mmrm(trial, "pain", covariates=["age", "female"], covariance="cs", adjust="none")
    ref = REF["mmrm"]
    assert res.loglik == pytest.approx(ref["loglik"], rel=1e-8)
    r = _frame(ref["lsmeans"]).assign(visit=lambda x: x["visit"].astype(float))
    m = res.by_arm.merge(r, on=["visit", "arm"], suffixes=("", "_r"))
    assert len(m) == len(res.by_arm) == len(r)
    # gls stops short of the REML maximum by ~1e-5 (see mmrm_gls.R, which polishes its fits by restarts); the
    # grid rules differ by ~1e-2, so 5e-5 separates them clearly. SEs 2e-4 (test_mmrm_reference.py: 1e-4)
    np.testing.assert_allclose(m["estimate"], m["estimate_r"], rtol=5e-5)
    np.testing.assert_allclose(m["se"], m["se_r"], rtol=2e-4)
    # the old rule (female at its mean) is what R gives with cov.reduce = mean: the two really differ
    at_mean = _frame(ref["lsmeans_at_mean"]).assign(visit=lambda x: x["visit"].astype(float))
    m2 = res.by_arm.merge(at_mean, on=["visit", "arm"], suffixes=("", "_mean"))
    assert np.abs(m2["estimate"] - m2["estimate_mean"]).max() > 1e-3
    assert "two-valued" in " ".join(res.notes)


def test_formula_variables_and_errors():
    cols = ["age", "sex", "site", "pain"]
    assert formula_variables(["age*sex", "C(site)", "ns(age, df=3)", "np.log(pain)"], cols) == \
        ["age", "sex", "site", "pain"]
    with pytest.raises(ct.DataError, match=r"\['bmi'\]") as err:
        formula_variables(["age*bmi"], cols)
    assert err.value.column == "bmi"
    with pytest.raises(ct.DataError, match="not valid formula syntax"):
        formula_variables(["age*("], cols)


def test_grid_averages_over_factor_levels_with_equal_weights():
    f = pd.DataFrame({"arm": ["a", "b"] * 6, "baseline": np.arange(12.0), "site": list("xxxxyyyyzzzz")[::-1]})
    spec = model_matrix(f, ["a", "b"], ["baseline"], ["site"])
    grid = reference_grid(spec, f)
    col = {n: j for j, n in enumerate(spec.names)}
    np.testing.assert_allclose(grid.L[:, col["sitey"]], 1 / 3)
    np.testing.assert_allclose(grid.L[:, col["baseline"]], f["baseline"].mean())
    assert "equal weights" in grid.rule
