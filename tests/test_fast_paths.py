"""Fast paths of the model set-up against the general code they stand in for: the same numbers, bit for bit
where the arithmetic is the same, to floating-point noise where only the order of a sum changes."""

import numpy as np
import pandas as pd
import patsy
import pytest

import combotherapy as ct
from combotherapy.inference import grid as g
from combotherapy.models.survival_estimators import cox_fit, cox_zph


def _patsy_grid(spec, frame, arm_col="arm"):
    """reference_grid's general path: every combination of grid values through patsy's design."""
    data = g._coded(frame, spec.variables, arm_col, spec.arms, code_arm=False)
    others = [v for v in dict.fromkeys(spec.variables) if v != arm_col]
    values = [g._levels(data[v])[0] for v in others]
    combos = pd.MultiIndex.from_product([spec.arms, *values], names=[arm_col, *others]).to_frame(index=False)
    for v in others:
        if isinstance(data[v].dtype, pd.CategoricalDtype):
            combos[v] = pd.Categorical(combos[v], categories=data[v].cat.categories)
    combos[arm_col] = pd.Categorical(combos[arm_col], categories=spec.arms)
    (Xg,) = patsy.build_design_matrices([spec.design_info], combos, return_type="matrix")
    Xg = np.asarray(Xg, dtype=float)
    codes = combos[arm_col].cat.codes.to_numpy()
    counts = np.bincount(codes, minlength=len(spec.arms)).astype(float)
    return (np.eye(len(spec.arms))[codes].T @ Xg) / counts[:, None]


@pytest.mark.parametrize("fixed, covariates", [(["baseline"], []), (["baseline"], ["age"]), (["baseline"], ["sex01"]),
                                               ([], []), (["baseline"], ["sex01", "flag", "age"]),
                                               (["baseline"], ["C(flag)"]), (["baseline"], ["np.log(age)"]),
                                               (["baseline", "age"], [])])
def test_plain_reference_grid_equals_patsy(fixed, covariates):
    rng = np.random.default_rng(1)
    n = 200
    f = pd.DataFrame({"arm": rng.choice(["a", "b", "c"], n), "baseline": rng.normal(size=n),
                      "age": rng.integers(20, 80, n), "sex01": rng.integers(0, 2, n).astype(float),
                      "flag": rng.integers(0, 2, n)})
    spec = g.model_matrix(f, ["a", "b", "c"], fixed, covariates)
    grid = g.reference_grid(spec, f)
    assert np.array_equal(grid.L, _patsy_grid(spec, f))
    assert grid.frame["arm"].tolist() == ["a", "b", "c"]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_weighted_cox_equals_the_fit_on_subjects(ties):
    """One row per (arm, time, status) weighted by its subjects: the same fit and PH check as the subjects."""
    rng = np.random.default_rng(5)
    n = 600
    arm = rng.integers(0, 3, n)
    time = np.round(rng.exponential(10 / (1 + 0.3 * arm)), 0) + 1   # heavy ties
    event = (rng.random(n) < 0.7).astype(float)
    X = np.eye(3)[arm][:, 1:]
    by = np.lexsort((arm, time))
    full = cox_fit(time[by], event[by], X[by], ties)
    key = pd.DataFrame({"t": time, "a": arm, "e": event}).value_counts().reset_index()
    key = key.sort_values(["t", "a", "e"], ascending=[True, True, False], kind="stable")
    t, a, e, w = key["t"].to_numpy(float), key["a"].to_numpy(), key["e"].to_numpy(float), key["count"].to_numpy(float)
    cells = cox_fit(t, e, np.eye(3)[a][:, 1:], ties, weights=w)
    np.testing.assert_allclose(cells["params"], full["params"], rtol=1e-10)
    np.testing.assert_allclose(cells["vcov"], full["vcov"], rtol=1e-10)
    np.testing.assert_allclose(cells["llf"], full["llf"], rtol=1e-12)
    z_full = cox_zph(time[by], event[by], X[by], full["params"], ties, order=full["order"])
    z_cells = cox_zph(t, e, np.eye(3)[a][:, 1:], cells["params"], ties, order=cells["order"], weights=w)
    for x, y in zip(z_cells, z_full):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12)


def test_survival_result_equals_the_fit_on_subjects():
    """ct.survival fits the arm-only Cox model to weighted cells; with a covariate that is constant (so the
    design is the arm's alone but goes through the row-level path) the numbers agree."""
    trial = ct.simulate_trial(n_per_arm=150, seed=11)
    res = ct.survival(trial)
    by_arm = {a: i for i, a in enumerate(trial.arms)}
    subj = trial.subjects
    arm = subj["arm"].astype(str).map(by_arm).to_numpy()
    order = np.lexsort((subj["recovery_time"].to_numpy(), arm))
    time, event = subj["recovery_time"].to_numpy(float)[order], subj["recovered"].to_numpy(float)[order]
    X = np.eye(len(trial.arms))[arm[order]][:, 1:]
    full = cox_fit(time, event, X, "efron")
    coef = res.coefficients.set_index("term")
    np.testing.assert_allclose(coef["estimate"].to_numpy(), full["params"], rtol=1e-10)
    np.testing.assert_allclose(coef["se"].to_numpy(), np.sqrt(np.diag(full["vcov"])), rtol=1e-10)
    zph = cox_zph(time, event, X, full["params"], "efron", order=full["order"])
    np.testing.assert_allclose(res.ph_test["statistic"].to_numpy(), np.concatenate([zph[0], zph[1]]), rtol=1e-9)
    np.testing.assert_allclose(res.ph_residuals.iloc[:, 2:].to_numpy(), zph[4], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.ph_residuals["time"].to_numpy(), zph[3], rtol=0)
