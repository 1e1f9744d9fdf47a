"""The bootstrap methods of combotherapy.missing against R's rbmi (tests/reference/rbmi_bootstrap.R ->
rbmi_bootstrap.json): conditional mean imputation with bootstrap SEs (rbmi's ``method_condmean(type =
"bootstrap")``, B = 500) and bootstrapped ML MI pooled by von Hippel and Bartlett (``method_bmlmi(B = 200, D = 2)``),
on rbmi's antidepressant_data under MAR and J2R (reference: placebo); data handling as test_missing_reference.py.

The two sides draw different random bootstrap samples, so the Monte Carlo quantities are compared within their
Monte Carlo (MC) error; the json also stores rbmi's per-sample estimates, against which our pooling is exact.

Tolerances
- Pooling (deterministic): our ``pool.bootstrap`` on rbmi's own bootstrap estimates gives rbmi's
  ``pool(type = "normal")`` SE, and our ``pool.von_hippel_bartlett`` + ``pool.interval`` on rbmi's own B x D
  estimates give rbmi's pooled estimate, SE and t interval (df at least 3, as rbmi), all to 1e-10.
- Conditional mean, point estimate: the full-data conditional-mean estimate (no randomness): 1e-6 absolute, as for
  the jackknife.
- Conditional mean, bootstrap SE (sd of B replicates): its MC variance on each side is s^2 (kappa - 1) / (4 B)
  (delta method for the sd, kappa the kurtosis of the replicates, estimated from rbmi's 500; kappa = 3 gives the
  normal s / sqrt(2 B)); the two sides are independent, so the difference must be below 4 times the square root
  of the sum of the two variances (4 MC SEs: a false alarm about once in 16,000 comparisons).
- Bootstrapped ML MI: the pooled estimate is the mean of B x D values with MC variance E[MSB] / (B D) (one-way
  ANOVA of the estimates: bootstrap samples x imputations); the pooled variance
  (1 + 1/B)(MSB - MSW)/D + MSW/(B D) has MC variance a^2 2 MSB^2/(B - 1) + c^2 2 MSW^2/(B (D - 1)) with its
  coefficients a, c (normal mean squares), carried to the SE by the delta method (divide by 2 SE). MSB and MSW are
  rbmi's; each side's variance uses its own B; tolerance 4 MC SEs of the difference.
- The default run uses fewer samples on our side (conditional mean B = 100, bootstrapped ML MI B = 60) with the
  tolerance widened accordingly (it is computed from each side's B); the rbmi-sized runs are marked slow.

The percentile interval (``pool(type = "percentile")``): rbmi's replicates pooled by ``pool.bootstrap`` give rbmi's
interval (the plain type-6 percentile interval) to 1e-10 and its p-value to 2e-4 (rbmi inverts the quantile function
with ``uniroot``, whose default tolerance is about 1.2e-4; the package solves it exactly). Before this check the
package gave the basic interval (2 theta - quantiles), which its docstring said was rbmi's.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REFERENCE
from test_missing import antidepressant_trial

import combotherapy as ct
from combotherapy.missing import pool

REF_JSON = REFERENCE / "rbmi_bootstrap.json"
assert REF_JSON.exists(), f"{REF_JSON} is missing: run tests/reference/rbmi_bootstrap.R"
REF = json.loads(REF_JSON.read_text())
WEEK = {"4": 1.0, "5": 2.0, "6": 4.0, "7": 6.0}
STRAT = {"MAR": "MAR", "JR": "J2R"}
N_MC = 4  # Monte Carlo SEs allowed


def _ref(case: str) -> dict[float, dict]:
    """rbmi's pooled rows by our visit (drug - placebo is rbmi's DRUG-PLACEBO)."""
    return {WEEK[row["parameter"].rsplit("_", 1)[1]]: row for row in REF["cases"][case]}


def _reps(case: str) -> dict[float, np.ndarray]:
    return {WEEK[p.rsplit("_", 1)[1]]: np.asarray(v, dtype=float) for p, v in REF["per_imputation"][case].items()}


def _ours(res) -> dict[float, tuple[float, float]]:
    c = res.contrasts
    sel = (c["first"] == "drug") & (c["second"] == "control")
    return {float(v): (e, s) for v, e, s in zip(c["visit"][sel], c["estimate"][sel], c["se"][sel])}


@pytest.fixture(scope="module")
def anti():
    return antidepressant_trial()


def test_bootstrap_reference_data_unchanged():
    import hashlib
    from pathlib import Path
    root = Path(__file__).parents[1]
    for path, md5 in REF["md5"].items():
        assert hashlib.md5((root / path).read_bytes()).hexdigest() == md5, path
    d = REF["diagnostics"]["condmean_bootstrap"]
    assert d["failures"] == 0 and d["fits"] == REF["condmean_bootstrap_samples"] + 1 and d["max_abs_gradient"] < 1e-9
    assert REF["diagnostics"]["bmlmi"]["failures"] == 0


@pytest.mark.parametrize("strategy", ["MAR", "JR"])
def test_pooling_matches_rbmi_on_its_own_samples(strategy):
    """Deterministic: rbmi's replicates pooled by our code give rbmi's pooled numbers."""
    normal = _ref(f"antidepressant_condmean_bootstrap_normal_{strategy}")
    for visit, x in _reps(f"antidepressant_condmean_bootstrap_{strategy}").items():
        assert len(x) == REF["condmean_bootstrap_samples"] + 1
        out = pool.bootstrap(x[:1], x[1:, None], kind="normal")
        assert out["estimate"][0] == normal[visit]["est"]
        assert out["se"][0] == pytest.approx(normal[visit]["se"], abs=1e-10, rel=0)
    percentile = _ref(f"antidepressant_condmean_bootstrap_percentile_{strategy}")
    for visit, x in _reps(f"antidepressant_condmean_bootstrap_{strategy}").items():
        out = pool.bootstrap(x[:1], x[1:, None], kind="percentile")
        r = percentile[visit]
        assert out["ci_low"][0] == pytest.approx(r["lci"], abs=1e-10, rel=0), visit
        assert out["ci_high"][0] == pytest.approx(r["uci"], abs=1e-10, rel=0), visit
        assert out["p"][0] == pytest.approx(r["pval"], abs=2e-4, rel=0), visit
    bml = _ref(f"antidepressant_bmlmi_{strategy}")
    for visit, x in _reps(f"antidepressant_bmlmi_{strategy}").items():
        assert len(x) == REF["bmlmi_B"] * REF["bmlmi_D"]
        out = pool.interval(pool.von_hippel_bartlett(x[:, None], REF["bmlmi_B"], REF["bmlmi_D"]))
        r = bml[visit]
        for ours, theirs in [("estimate", "est"), ("se", "se"), ("ci_low", "lci"), ("ci_high", "uci")]:
            assert out[ours][0] == pytest.approx(r[theirs], abs=1e-10, rel=0), (visit, ours)


def _check_condmean(res, strategy: str, n_boot: int) -> None:
    ref = _ref(f"antidepressant_condmean_bootstrap_normal_{strategy}")
    reps = _reps(f"antidepressant_condmean_bootstrap_{strategy}")
    b_r = REF["condmean_bootstrap_samples"]
    ours = _ours(res)
    assert set(ours) == set(ref)
    for visit, r in ref.items():
        assert ours[visit][0] == pytest.approx(r["est"], abs=1e-6, rel=0), visit
        x = reps[visit][1:]
        kappa = np.mean((x - x.mean()) ** 4) / np.var(x) ** 2
        mc = np.sqrt(r["se"] ** 2 * (kappa - 1) / 4 * (1 / b_r + 1 / n_boot))
        assert abs(ours[visit][1] - r["se"]) < N_MC * mc, (visit, ours[visit][1], r["se"], mc)


def _var_of_se(msb: float, msw: float, b: int, d: int, se: float) -> float:
    """MC variance of the von Hippel-Bartlett SE with b bootstrap samples (normal mean squares, delta method)."""
    a = (1 + 1 / b) / d
    c = 1 / (b * d) - a
    return (a ** 2 * 2 * msb ** 2 / (b - 1) + c ** 2 * 2 * msw ** 2 / (b * (d - 1))) / (4 * se ** 2)


def _check_bmlmi(res, strategy: str, n_boot: int) -> None:
    ref = _ref(f"antidepressant_bmlmi_{strategy}")
    reps = _reps(f"antidepressant_bmlmi_{strategy}")
    b_r, d = REF["bmlmi_B"], REF["bmlmi_D"]
    ours = _ours(res)
    assert set(ours) == set(ref)
    for visit, r in ref.items():
        e = reps[visit].reshape(b_r, d)
        msb = d * e.mean(axis=1).var(ddof=1)
        msw = e.var(axis=1, ddof=1).mean()
        mc_e = np.sqrt(msb / (b_r * d) + msb / (n_boot * d))
        mc_s = np.sqrt(_var_of_se(msb, msw, b_r, d, r["se"]) + _var_of_se(msb, msw, n_boot, d, r["se"]))
        assert abs(ours[visit][0] - r["est"]) < N_MC * mc_e, (visit, ours[visit][0], r["est"], mc_e)
        assert abs(ours[visit][1] - r["se"]) < N_MC * mc_s, (visit, ours[visit][1], r["se"], mc_s)


@pytest.mark.parametrize("strategy", ["MAR", "JR"])
def test_condmean_bootstrap_antidepressant(anti, strategy):
    res = ct.missing.conditional_mean(anti, "hamd", strategy=STRAT[strategy], se="bootstrap", n_boot=100, seed=7)
    _check_condmean(res, strategy, 100)


@pytest.mark.parametrize("strategy", ["MAR", "JR"])
def test_bootstrap_mi_antidepressant(anti, strategy):
    res = ct.missing.bootstrap_mi(anti, "hamd", n_boot=60, per_boot=2, strategy=STRAT[strategy], seed=7)
    _check_bmlmi(res, strategy, 60)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["MAR", "JR"])
def test_condmean_bootstrap_antidepressant_full(anti, strategy):
    b = REF["condmean_bootstrap_samples"]
    res = ct.missing.conditional_mean(anti, "hamd", strategy=STRAT[strategy], se="bootstrap", n_boot=b, seed=11)
    _check_condmean(res, strategy, b)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["MAR", "JR"])
def test_bootstrap_mi_antidepressant_full(anti, strategy):
    b = REF["bmlmi_B"]
    res = ct.missing.bootstrap_mi(anti, "hamd", n_boot=b, per_boot=REF["bmlmi_D"], strategy=STRAT[strategy], seed=11)
    _check_bmlmi(res, strategy, b)


def test_refit_recovers_where_the_warm_damped_fit_fails(anti):
    """Bootstrap sample 154 of seed 7 (found by the check above): the undamped Newton refit and the damped fit from
    the full-data estimate both failed there on the machine that found it (a line-search trial point with a
    numerically singular fixed-effects information); refit now falls back to the moment start and reaches the same
    optimum as a cold fit."""
    from combotherapy.missing.conditional_mean import stratified_bootstrap
    from combotherapy.missing.model import fit_model, prepare, refit
    imp = prepare(anti, "hamd", strategy="MAR")
    full = fit_model(imp, check=True)
    rng = np.random.default_rng(7)
    for _ in range(155):  # loop to the 155th bootstrap sample of this stream
        w = np.bincount(stratified_bootstrap(imp.data.arm_codes, rng), minlength=imp.n).astype(float)
    st = imp.stats(w)
    f = refit(imp, st, full, tol=1e-10)
    cold = fit_model(imp, st)
    np.testing.assert_allclose(f.beta, cold.beta, atol=1e-8)
    np.testing.assert_allclose(f.Sigma, cold.Sigma, atol=1e-8)


def test_percentile_p_follows_rbmi_at_the_edges():
    """rbmi's pval_percentile rules where replicates sit exactly at 0 or all on one side (transcribed by hand)."""
    cols = np.array([[0.0, 1, 2], [0, 0, -1], [0, -1, -2], [1, 2, 3], [-1, -2, -3], [0, 0, 0]]).T
    greater, less = pool._percentile_p(cols)
    np.testing.assert_allclose(greater, [1 / 4, 2 / 4, 3 / 4, 0, 1, 1])
    np.testing.assert_allclose(less, [3 / 4, 1 / 4, 1 / 4, 1, 0, 1])
