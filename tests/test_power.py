"""ct.power: the fast path against ct.ancova / combination_test, closed-form power, type I error,
reproducibility over workers, resumable runs, the sample-size search and its errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from scipy import stats

import combotherapy as ct
from combotherapy.power import analyse as pa
from combotherapy.power import runner
from combotherapy.power.design import draw, make_design

COVS = ["age", "sex", "site", "pain_duration"]
#: 2,000 simulations in CI. The slow check of the closed forms with 10,000 simulations (and 4 Dask workers):
#: PYTHONPATH=src python3 -m pytest -m slow tests/test_power.py   (COMBOTHERAPY_POWER_SIMS=10000 also runs the
#: CI checks, type I error included, at 10,000)
SIMS = int(os.environ.get("COMBOTHERAPY_POWER_SIMS", "2000"))


# --- the fast path is ct.ancova / ct.combination_test -------------------------------------------------
@pytest.mark.parametrize("outcome", ["pain", "rom"])
def test_array_ancova_matches_ancova_and_combination_test(outcome):
    d = make_design(n=30, allocation="1:1:2", covariates=COVS, outcomes=[outcome], dropout=0.3)
    x = draw(d, 30, np.random.default_rng(11))
    trial = pa.to_trial(d, x)
    fast = pa.ancova_arrays(d, x, outcome)
    res = ct.ancova(trial, outcome, 12, covariates=COVS, missing_baseline="exclude")
    assert res.fitted.n_per_arm["combined"] < 60  # dropout removed some: complete cases as ct.ancova
    np.testing.assert_allclose(fast, res.contrasts[["estimate", "statistic", "df"]].to_numpy(float),
                               rtol=0, atol=1e-10)
    np.testing.assert_allclose(pa.interface_arrays(d, x, outcome), fast, rtol=0, atol=1e-10)
    comb = ct.combination_test(trial, outcome, 12, covariates=COVS, missing_baseline="exclude")
    sims = _one_row(d, fast)
    dec_p = {m: stats.t.sf(trial.instrument(outcome).sign * sims[f"{outcome}:combined-{m}:t"].iloc[0],
                           sims[f"{outcome}:combined-{m}:df"].iloc[0]) for m in ("physio", "acupuncture")}
    np.testing.assert_allclose(comb.contrasts["p"].to_numpy(), [dec_p["physio"], dec_p["acupuncture"]],
                               rtol=1e-10, atol=1e-14)
    verdict = pa.decisions(d, sims)[("combination", outcome, "combined beats both")][0]
    assert verdict == comb.superior


def _one_row(design, fast):
    import pandas as pd

    return pd.DataFrame([fast.ravel()], columns=pa.columns(design))


def _holm_reference(p):
    # Holm (1979) written out: step down over the sorted p-values, monotone, capped at 1
    order = np.argsort(p)
    adj = np.empty_like(p)
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, (len(p) - i) * p[j])
        adj[j] = min(running, 1.0)
    return adj


def test_holm_vectorised_matches_the_definition():
    from combotherapy.inference import p_adjust

    p = np.random.default_rng(3).random((50, 4)) ** 3
    ref = np.array([_holm_reference(r) for r in p])
    np.testing.assert_allclose(ref[0], p_adjust(p[0], "holm"), rtol=1e-12)  # the package's one p_adjust
    np.testing.assert_allclose(pa.holm(p), ref, rtol=1e-12)


# --- closed form ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pilot():
    """t statistics of a very large trial (200,000 per arm): ncp(n) = t_pilot * sqrt(n / 200,000)."""
    d = make_design(n=200_000, dropout=0.0)
    return d, pa.ancova_arrays(d, draw(d, 200_000, np.random.default_rng(99)), "pain")


def _within(sim, exact, se, k=3.0):
    assert abs(sim - exact) <= k * se, f"simulated {sim:.4f} vs closed form {exact:.4f} (MC SE {se:.4f})"


def _two_arm(pilot, n, sims):
    _, pt = pilot
    ncp = pt[0, 1] * np.sqrt(n / 200_000)  # combined - physio
    df = 2 * n - 3
    c = stats.t.ppf(0.975, df)
    exact = stats.nct.sf(c, df, ncp) + stats.nct.cdf(-c, df, ncp)
    res = ct.power(arms=("physio", "combined"), n=n, dropout=0.0, n_sims=sims, seed=7, null=False)
    row = res.select("contrast").iloc[0]
    from statsmodels.stats.power import TTestIndPower

    sm = TTestIndPower().power(effect_size=abs(ncp) / np.sqrt(n / 2), nobs1=n, alpha=0.05)
    assert abs(sm - exact) < 0.005  # statsmodels' t-test power (df 2n - 2) agrees with the nct (df 2n - 3)
    return row, exact


def _iut(pilot, n, sims):
    _, pt = pilot
    good = -pt[:2, 1] * np.sqrt(n / 200_000)  # pain: lower is better
    df = 3 * n - 4
    c = stats.t.ppf(0.975, df)
    # the two contrasts share the combined arm: correlation 1/2 with equal arms
    exact = stats.multivariate_normal(mean=[0, 0], cov=[[1, 0.5], [0.5, 1]]).cdf(good - c)
    res = ct.power(n=n, dropout=0.0, n_sims=sims, seed=8, null=False)
    return res.select("combination").iloc[0], exact


def test_two_arm_power_matches_noncentral_t_and_statsmodels(pilot):
    row, exact = _two_arm(pilot, 25, SIMS)
    _within(row["power"], exact, row["mc_se"])


def test_iut_power_matches_bivariate_normal(pilot):
    row, exact = _iut(pilot, 20, SIMS)
    _within(row["power"], exact, row["mc_se"])


@pytest.mark.slow
def test_closed_form_10000(pilot):
    for row, exact in (_two_arm(pilot, 25, 10_000), _iut(pilot, 20, 10_000)):
        _within(row["power"], exact, row["mc_se"])


def test_type_one_error_under_the_null():
    d = make_design(n=40, outcomes=["pain", "odi"], dropout=0.15)
    res = ct.power(d.null(), n_sims=SIMS, seed=5, null=False)
    t = res.table
    single = t[t["kind"] == "contrast"]
    for _, r in single.iterrows():  # each two-sided test: within 3 MC SE of alpha
        _within(r["power"], 0.05, np.sqrt(0.05 * 0.95 / SIMS))
    for _, r in t[t["kind"] == "one_sided"].iterrows():
        _within(r["power"], 0.025, np.sqrt(0.025 * 0.975 / SIMS))
    bound = 0.025 + 3 * np.sqrt(0.025 * 0.975 / SIMS)
    iut = t[t["kind"] == "combination"]["power"]
    fam = t[(t["kind"] == "family") & (t["test"] == "any claim")]["power"]
    assert (iut <= bound).all() and (fam <= bound).all(), (iut.tolist(), fam.tolist())
    # the IUT is conservative under the global null (both components must reject)
    assert (iut < 0.025).all()


def test_null_rows_and_table_columns():
    res = ct.power(n=[20, 30], n_sims=20, seed=1, batch=7)
    assert set(res.table["truth"]) == {"design", "null"}
    assert list(res.table.columns) == ["truth", "n", "n_total", "kind", "outcome", "test", "power", "mc_se",
                                       "ci_low", "ci_high", "sims"]
    assert (res.table["sims"] == 20).all()
    assert len(res.sims) == 80 and res.sims["sim"].max() == 19


# --- reproducibility, resume ------------------------------------------------------------------------
def test_same_table_with_one_and_two_workers():
    pytest.importorskip("dask.distributed")
    a = ct.power(n=20, n_sims=30, seed=4, batch=7, null=False)
    b = ct.power(n=20, n_sims=30, seed=4, batch=7, null=False, workers=2)
    assert a.table.equals(b.table) and a.sims.equals(b.sims)


@pytest.mark.slow
def test_same_table_with_four_workers():
    pytest.importorskip("dask.distributed")
    a = ct.power(n=20, n_sims=40, seed=4, batch=5)
    b = ct.power(n=20, n_sims=40, seed=4, batch=5, workers=4)
    assert a.table.equals(b.table)


def test_batches_do_not_change_the_draws():
    a = ct.power(n=20, n_sims=12, seed=4, batch=12, null=False)
    b = ct.power(n=20, n_sims=12, seed=4, batch=5, null=False)
    assert np.array_equal(a.sims.iloc[:, 3:].to_numpy(), b.sims.iloc[:, 3:].to_numpy())


def test_resume_reads_finished_batches(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    full = ct.power(n=20, n_sims=30, seed=2, batch=10, null=False, folder=folder)
    files = sorted(folder.glob("batch_*.csv"))
    assert len(files) == 3
    files[1].unlink()  # as if interrupted before this batch was written
    calls = []
    real = runner.run_batch
    monkeypatch.setattr(runner, "run_batch", lambda *a: calls.append(a[3:5]) or real(*a))
    again = ct.power(n=20, n_sims=30, seed=2, batch=10, null=False, folder=folder)
    assert calls == [(10, 20)]
    np.testing.assert_allclose(again.sims.iloc[:, 3:].to_numpy(), full.sims.iloc[:, 3:].to_numpy(), rtol=1e-15)
    assert again.table.drop(columns=["power", "mc_se", "ci_low", "ci_high"]).equals(
        full.table.drop(columns=["power", "mc_se", "ci_low", "ci_high"]))
    with pytest.raises(ct.DataError) as e:
        ct.power(n=20, n_sims=30, seed=3, batch=10, null=False, folder=folder)
    assert e.value.kind == "other run"


# --- sample size and errors --------------------------------------------------------------------------
def test_sample_size_brackets_the_target():
    ss = ct.sample_size(target=0.7, n_sims=100, n_min=8, n_max=200, seed=6, dropout=0.0)
    t = ss.table.set_index("n")["power"]
    assert ss.power >= 0.7 and t[ss.n] >= 0.7
    assert ss.n == 8 or t[ss.n - 1] < 0.7  # the n below fails: the smallest reaching the target
    assert ss.sizes == {"physio": ss.n, "acupuncture": ss.n, "combined": ss.n}
    assert "Smallest n" in ss.summary()


def test_unequal_allocation_sizes():
    d = make_design(n=50, allocation={"physio": 1, "acupuncture": 1, "combined": 2})
    assert d.sizes(50) == {"physio": 50, "acupuncture": 50, "combined": 100}
    res = ct.power(d, n_sims=5, seed=1, null=False)
    assert res.table["n_total"].iloc[0] == 200


def test_unreachable_target_names_largest_n():
    with pytest.raises(ct.ModelError) as e:
        ct.sample_size(target=0.9, n_sims=20, n_min=5, n_max=12, seed=1,
                       effects={"pain": {"physio": -2.0, "acupuncture": -2.0, "combined": -2.0}})
    assert e.value.kind == "unreachable" and "largest n tried is 12" in str(e.value)


def test_arm_of_size_zero():
    with pytest.raises(ct.DataError) as e:
        make_design(n=30, allocation="1:1:0")
    assert e.value.kind == "empty arm" and e.value.arm == "combined"


def test_effects_for_an_arm_not_in_the_design():
    with pytest.raises(ct.DataError) as e:
        make_design(effects={"pain": {"control": -1.0}})
    assert e.value.kind == "unknown arm" and e.value.arm == "control"


def test_other_bad_designs():
    with pytest.raises(ct.DataError):
        make_design(outcomes=["crp"])
    with pytest.raises(ct.DataError):
        make_design(visit=5)
    with pytest.raises(ct.DataError):
        ct.power(n=20, n_sims=0)


def test_effects_from_a_pilot_trial():
    from combotherapy.power import effects_from_pilot

    pilot = ct.simulate_trial(n_per_arm=40, seed=12)
    eff = effects_from_pilot(pilot, ["pain", "rom"])
    res = ct.ancova(pilot, "pain", 12, missing_baseline="exclude")
    con = res.contrasts.set_index("contrast")["estimate"]
    assert eff["pain"]["combined"] - eff["pain"]["physio"] == pytest.approx(con["combined - physio"], abs=1e-10)
    d = make_design(n=20, effects=eff, outcomes=["pain", "rom"])
    assert d.effects.outcomes["rom"].change["combined"] == pytest.approx(eff["rom"]["combined"])
    with pytest.raises(ct.DataError):
        effects_from_pilot(pilot, "pain", arms=["control", "physio"])


def test_interface_path_mmrm_runs():
    res = ct.power(n=15, n_sims=2, seed=1, null=False, model="mmrm", dropout=0.0)
    assert res.select("combination")["sims"].iloc[0] == 2


# --- outputs -----------------------------------------------------------------------------------------
def test_power_curve_figure():
    res = ct.power(n=[10, 20], n_sims=10, seed=1)
    fig = ct.plot.power_curve(res, target=0.8)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("n") and len(ax.lines) >= 2


def test_cli_power(tmp_path):
    from combotherapy.cli import main

    design = tmp_path / "design.json"
    design.write_text(json.dumps({"n": [10, 20], "outcomes": ["pain"], "allocation": "1:1:2"}))
    out = tmp_path / "power.csv"
    assert main(["power", "--design", str(design), "--out", str(out), "--sims", "8", "--seed", "3"]) == 0
    import pandas as pd

    t = pd.read_csv(out)
    assert set(t["n"]) == {10, 20} and (t["sims"] == 8).all()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"n": 10, "effects": {"pain": {"control": -1}}}))
    assert main(["power", "--design", str(bad), "--out", str(tmp_path / "x.csv"), "--sims", "2"]) == 1
