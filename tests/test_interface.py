"""The shared inference interface and result vocabulary (combotherapy.results.Result + combotherapy.inference).

1. A small model of our own that registers NOTHING works in combination_test, synergy and claims_report, because
   they consume the interface only.
2. Every result class passes the same vocabulary and export checks.
3. The argument layer: one exception type with fields, one set of defaults.
"""

import json

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.analysis import primary
from combotherapy.analysis_set import analysis_set
from combotherapy.arguments import DEFAULTS, check_threshold
from combotherapy.claims import default_claims
from combotherapy.inference import Inference, ReferenceGrid
from combotherapy.results import Fitted, Result

FOUR = ("control", "physio", "acupuncture", "combined")


@pytest.fixture(scope="module")
def trial():
    return ct.simulate_trial(arms=FOUR, n_per_arm=40, seed=11)


class CellMeans(Result):
    """A toy model: the arms' raw means at one visit, pooled-variance OLS, no covariates."""

    tables = ("by_arm", "contrasts")


def cell_means(trial, outcome: str, visit: float) -> CellMeans:
    aset = analysis_set(trial, outcome, visit, baseline=False)
    arms = aset.arms
    X = (aset.frame["arm"].astype(str).to_numpy()[:, None] == np.array(arms)[None, :]).astype(float)
    y = aset.frame["value"].to_numpy(float)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    df = len(y) - len(arms)
    sigma2 = float(((y - X @ beta) ** 2).sum() / df)
    inf = Inference(tuple(f"arm{a}" for a in arms), beta, sigma2 * np.linalg.inv(X.T @ X), float(df), "residual",
                    ReferenceGrid(pd.DataFrame({"arm": arms}), np.eye(len(arms))))
    res = CellMeans("Cell means", Fitted(model="cell means (toy)", outcome=outcome, visit=float(visit),
                                         n_per_arm=aset.n_per_arm, excluded=aset.excluded),
                    by_arm=inf.emmeans(), contrasts=inf.compare())
    res.inference, res.instrument, res.better = inf, aset.instrument, aset.instrument.better
    return res


def test_an_unregistered_model_plugs_into_every_consumer(trial):
    toy = cell_means(trial, "pain", 12)
    raw = analysis_set(trial, "pain", 12, baseline=False).frame.groupby("arm", observed=True)["value"]
    means, n = raw.mean(), raw.size()
    comb = ct.combination_test(trial, "pain", 12, model=toy)
    for _, row in comb.contrasts.iterrows():
        assert row["estimate"] == pytest.approx(means[row["first"]] - means[row["second"]], rel=1e-10)
        se = np.sqrt(toy.inference.vcov[0, 0] * n.iloc[0]) * np.sqrt(1 / n[row["first"]] + 1 / n[row["second"]])
        assert row["se"] == pytest.approx(se, rel=1e-10)
    assert "cell means (toy)" in comb.fitted.model
    syn = ct.synergy(trial, "pain", 12, model=toy, alpha=0.1)
    inter = syn.effects.set_index("effect").loc["interaction"]
    expected = means["combined"] - means["physio"] - means["acupuncture"] + means["control"]
    assert inter["estimate"] == pytest.approx(expected, rel=1e-10)
    claims = pd.DataFrame([{"id": "T1", "claim": "combined beats each", "outcome": "pain", "model": "toy",
                            "visit": 12.0, "test": "combination", "mid": 1.0, "subgroup": ""}])
    report = ct.claims_report(trial, claims, results={"T1": toy})
    row = report.table.iloc[0]
    deciding = comb.contrasts.set_index("contrast").loc[row["contrast"]]
    assert row["estimate"] == pytest.approx(deciding["estimate"], rel=1e-10)
    assert row["verdict"] in ct.claims.VERDICTS or row["verdict"].startswith(ct.claims.VERDICTS[1])
    with pytest.raises(ct.ArgumentError) as err:
        ct.claims_report(trial, claims, results={"T1": comb})    # a combination test is not a model fit
    assert err.value.argument == "results"


def test_inference_settings_are_arguments_not_frozen_into_the_fit(trial):
    fit = ct.ancova(trial, "pain", 12, alpha=0.05)
    narrow, wide = fit.compare(alpha=0.2, adjust="none"), fit.compare(alpha=0.01, adjust="none")
    assert (wide["ci_high"] - wide["ci_low"] > narrow["ci_high"] - narrow["ci_low"]).all()
    np.testing.assert_allclose(wide["estimate"], narrow["estimate"])
    refit = ct.ancova(trial, "pain", 12, alpha=0.01, adjust="none")
    np.testing.assert_allclose(wide["ci_low"], refit.contrasts["ci_low"], rtol=1e-12)


def frames_of(res) -> set[str]:
    return set(type(res).tables)


def _results(trial):
    anc = ct.ancova(trial, "pain", 12, covariates=["age", "C(site)"])
    mm = ct.mmrm(trial, "pain", covariance="cs")
    out = {
        "ancova": anc,
        "ancova_log": ct.ancova(trial, "crp", 12, scale="log", missing_baseline="exclude"),
        "mmrm": mm,
        "combination": ct.combination_test(trial, "pain", 12, model=anc),
        "synergy": ct.synergy(trial, "pain", 12, model=mm),
        "effect_sizes": ct.effect_sizes(anc),
        "subgroups": ct.subgroups(trial, "pain", 12, by=["sex"]),
        "primary": primary(trial, "pain", 12),
        "toy": cell_means(trial, "pain", 12),
        # engineer E's models (branch adjusted)
        "count": ct.count_model(trial, "analgesic_days", 12),
        "survival": ct.survival(trial, "recovery_time", "recovered"),
        "adherence": ct.adherence(trial),
        "responders": ct.responders(trial, "pain", 12, threshold=2),
        "adverse_events": ct.adverse_events(trial),
        "mediation": ct.mediation(trial, n_sims=100),
        "power": ct.power(n=[20, 30], n_sims=10, seed=1),
        "power_claims": ct.power(analysis="claims", claims=default_claims().iloc[:3], n=[20], n_sims=4,
                                 seed=1),
    }
    return out


@pytest.fixture(scope="module")
def results(trial):
    return _results(trial)


@pytest.mark.parametrize("name", ["ancova", "ancova_log", "mmrm", "combination", "synergy", "effect_sizes",
                                  "subgroups", "primary", "toy", "count", "survival", "adherence",
                                  "responders",
                                  "adverse_events", "mediation", "power", "power_claims"])
def test_every_result_speaks_the_vocabulary(results, name, tmp_path):
    res = results[name]
    assert isinstance(res, Result) and isinstance(res.title, str) and isinstance(res.fitted, Fitted)
    assert list(res.excluded.columns)[:3] == ["subject", "arm", "reason"]
    for attr in ("instrument", "better", "inference", "coefficients"):
        assert hasattr(res, attr)
    assert res.better in (None, "lower", "higher")
    old = [n for n in ("lsmeans", "rates", "arms", "km", "coef", "hazard_ratios", "model")
           if isinstance(getattr(res, n, None), pd.DataFrame | Result) or n in frames_of(res)]
    assert not old, f"old names {old}: the per-arm table is by_arm, the coefficients are coefficients"
    frames = res.frames()
    assert frames and all(isinstance(f, pd.DataFrame) for f in frames.values())
    if "contrasts" in frames:
        assert {"first", "second", "contrast", "estimate", "ci_low", "ci_high"} <= set(res.contrasts.columns)
    if res.inference is not None:
        emm = res.emmeans(alpha=0.1)
        assert {"arm", "estimate", "se", "df", "ci_low", "ci_high"} <= set(emm.columns)
        con = res.compare(adjust="bonferroni")
        assert {"first", "second", "contrast", "p_adj"} <= set(con.columns)
        assert set(con["first"]) | set(con["second"]) <= set(emm["arm"])
        assert {"term", "estimate", "se", "p"} <= set(res.coefficients.columns)
    else:
        with pytest.raises(ct.ModelError) as err:
            res.compare()
        assert err.value.kind == "no inference"
    assert repr(res).startswith("<") and isinstance(res.summary(), str)
    assert isinstance(res.to_markdown(), str) and isinstance(res.to_html(), str)
    doc = json.loads(json.dumps(res.to_json(), allow_nan=False))
    assert set(doc["tables"]) == set(frames)
    assert res.to_csv(tmp_path / "r.csv").exists() and res.save(tmp_path / "r.md").exists()


def test_arguments_one_exception_with_fields(trial):
    fit = ct.ancova(trial, "pain", 12)
    cases = [(lambda: fit.compare(alpha=5), "alpha", "out of range"),
             (lambda: fit.compare(adjust="fdr"), "adjust", "unknown"),
             (lambda: fit.compare(side="up"), "side", "unknown"),
             (lambda: ct.ancova(trial, "pain", 12, reference="yoga"), "reference", "unknown arm"),
             (lambda: ct.mmrm(trial, "pain", covariance="banded"), "covariance", "unknown")]
    for call, argument, kind in cases:
        with pytest.raises(ct.ArgumentError) as err:
            call()
        assert (err.value.argument, err.value.kind) == (argument, kind)
        assert isinstance(err.value, ct.DataError)
    assert DEFAULTS == {"alpha": 0.05, "one_sided_alpha": 0.025, "adjust": "holm", "side": "two-sided"}


def test_threshold_is_checked_against_the_instruments_range(trial):
    with pytest.raises(ct.ArgumentError, match="relative=True") as err:
        check_threshold(30, trial.instrument("pain"))
    assert err.value.kind == "out of range"
    assert check_threshold(2, trial.instrument("pain")) == 2.0
    assert check_threshold(30, trial.instrument("pain"), relative=True) == 30.0
