"""AIPW for the ATT of a chosen arm and for the overlap estimand, against tests/reference/observational_aipw.R.

The R script writes each estimator out arm by arm from its definition (the Python module uses one vectorised
base-weight/augmentation-weight form); estimates, influence-function covariances, contrasts and risk ratios agree to
1e-6 relative (R's multinom is pushed to reltol 1e-16; everything downstream is closed form).
"""

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
LALONDE = REPO / "src" / "combotherapy" / "datasets" / "matchit_lalonde" / "lalonde.csv"
PS_REG = "age + sex + pain0 + log(pain_duration)"
PS_LAL = "age + educ + race + married + nodegree + re74 + re75"
RTOL = 1e-6


@pytest.fixture(scope="module")
def ref():
    return json.loads((REPO / "tests" / "reference" / "observational_aipw.json").read_text())


@pytest.fixture(scope="module")
def ps_reg():
    return ob.propensity_score(pd.read_csv(REGISTRY), PS_REG)


@pytest.fixture(scope="module")
def ps_lal():
    return ob.propensity_score(pd.read_csv(LALONDE), PS_LAL, treatment="treat")


def _pick(table: pd.DataFrame, pairs, columns):
    """Rows of a contrast table in the R script's pair order (a pair may appear reversed: sign or inverse)."""
    rows = []
    for first, second in pairs:
        hit = table[(table["first"] == first) & (table["second"] == second)]
        assert len(hit) == 1, (first, second)
        rows.append(hit[columns].to_numpy(float)[0])
    return np.array(rows)


@pytest.mark.parametrize("key, estimand, target, outcome", [
    ("registry_ATT_combined_pain", "ATT", "combined", "pain"),
    ("registry_ATT_physio_pain", "ATT", "physio", "pain"),
    ("registry_overlap_pain", "overlap", None, "pain"),
    ("registry_ATT_combined_recovered", "ATT", "combined", "recovered"),
    ("registry_ATT_physio_recovered", "ATT", "physio", "recovered"),
    ("registry_overlap_recovered", "overlap", None, "recovered"),
])
def test_aipw_att_and_overlap_match_r(ps_reg, ref, key, estimand, target, outcome):
    r = ref[key]
    a = ob.aipw(ps_reg, outcome, estimand=estimand, target=target)
    np.testing.assert_allclose(a.by_arm["estimate"], r["means"], rtol=RTOL)
    np.testing.assert_allclose(a.vcov, r["vcov"], rtol=RTOL, atol=1e-12)
    pairs = ref["meta"]["pairs_registry"]
    # the module's own pair order: compare by (first, second), flipping the R pair when the table has it reversed
    got = {(f, s): (e, se) for f, s, e, se in a.contrasts[["first", "second", "estimate", "se"]].itertuples(index=False)}
    for (f, s), (est, se) in zip(pairs, r["contrasts"]):
        e_py, se_py = got[(f, s)] if (f, s) in got else (-got[(s, f)][0], got[(s, f)][1])
        np.testing.assert_allclose([e_py, se_py], [est, se], rtol=RTOL)
    if "ratios" in r:
        got = {(f, s): (e, se) for f, s, e, se in a.ratios[["first", "second", "estimate", "se"]].itertuples(
            index=False)}
        for (f, s), (est, lse) in zip(pairs, r["ratios"]):
            e_py, se_py = got[(f, s)] if (f, s) in got else (1 / got[(s, f)][0], got[(s, f)][1])
            np.testing.assert_allclose([e_py, se_py], [est, lse], rtol=RTOL)
    assert a.fitted.extra["estimand"] == estimand and "AIPW" in a.fitted.extra["adjustment"]


def test_aipw_att_lalonde_matches_r(ps_lal, ref):
    for key, estimand in (("lalonde_ATT_re78", "ATT"), ("lalonde_overlap_re78", "overlap")):
        r = ref[key]
        a = ob.aipw(ps_lal, "re78", estimand=estimand)
        np.testing.assert_allclose(a.by_arm["estimate"], r["means"], rtol=RTOL)
        np.testing.assert_allclose(a.vcov, r["vcov"], rtol=RTOL)
        row = a.contrasts.iloc[0]
        sign = 1.0 if (row["first"], row["second"]) == ("0", "1") else -1.0
        np.testing.assert_allclose([sign * row["estimate"], row["se"]], r["contrasts"][0], rtol=RTOL)


def test_att_mean_of_target_arm_is_its_observed_mean(ps_reg):
    a = ob.aipw(ps_reg, "pain", estimand="ATT", target="combined")
    y = ps_reg.data["pain"].to_numpy(float)[ps_reg.received == ps_reg.arms.index("combined")]
    assert a.by_arm.set_index("arm").loc["combined", "estimate"] == pytest.approx(y.mean(), rel=1e-12)
    assert "ATT of combined" in a.summary() and "Estimand: ATT" in a.summary()


def test_att_and_overlap_recover_the_truth_on_a_large_registry():
    # constant effects: ATE = ATT = overlap effect; the unadjusted contrast is biased
    reg = ob.simulate_registry(20000, seed=11)
    ps = ob.propensity_score(reg, PS_REG)
    for estimand, target in (("ATT", "combined"), ("overlap", None), ("ATT", "physio")):
        a = ob.aipw(ps, "pain", estimand=estimand, target=target)
        for (first, second), truth in ob.TRUE_EFFECTS.items():
            row = a.contrasts[(a.contrasts["first"] == first) & (a.contrasts["second"] == second)]
            if row.empty:
                row = a.contrasts[(a.contrasts["first"] == second) & (a.contrasts["second"] == first)]
                truth = -truth
            assert float(row["ci_low"].iloc[0]) < truth < float(row["ci_high"].iloc[0]), (estimand, first, second)


def test_estimand_arguments_are_checked(ps_reg):
    with pytest.raises(ct.DataError, match="target"):
        ob.aipw(ps_reg, "pain", estimand="ATT")
    with pytest.raises(ct.DataError, match="ATT only"):
        ob.aipw(ps_reg, "pain", estimand="overlap", target="combined")
    with pytest.raises(ct.DataError, match="estimand"):
        ob.aipw(ps_reg, "pain", estimand="ATC")
