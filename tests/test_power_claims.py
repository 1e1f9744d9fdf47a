"""ct.power(analysis="claims"): the claims report's verdicts on each simulated trial; survival and count outcomes in
designs against closed forms (Schoenfeld; the negative binomial Wald test at the known truth); the allocation search;
PowerResult in the result vocabulary."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import combotherapy as ct
from combotherapy.claims import VERDICTS, default_claims
from combotherapy.inference import p_adjust
from combotherapy.power import claims_path as cp
from combotherapy.power.design import make_design

FOUR = ("control", "physio", "acupuncture", "combined")
#: simulations of the closed-form checks: 2,000 in the slow run (COMBOTHERAPY_POWER_SIMS changes it)
SLOW_SIMS = int(os.environ.get("COMBOTHERAPY_POWER_SIMS", "2000"))


def _report_verdicts(design, n: int, i: int, seed: int) -> pd.DataFrame:
    """ct.claims_report on the i-th simulated trial, drawn by ct.simulate_trial from the same spawned seed."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
    trial = ct.simulate_trial(arms=design.arms, n_per_arm=design.sizes(n), visits=design.visits,
                              effects=design.effects, dropout=design.dropout, seed=None, rng=rng)
    claims = pd.DataFrame([dict(c) for c in design.claims])
    return ct.claims_report(trial, claims, alpha=design.alpha, multiplicity=design.multiplicity).table


def _same(report: str, code: int) -> bool:
    mine = {0: VERDICTS[0], 1: VERDICTS[1], 2: VERDICTS[2], 3: "inconclusive"}
    if code == 4:
        return report.startswith("not testable")
    return report.startswith(mine[code]) if code == 1 else report == mine[code]


@pytest.mark.parametrize("arms, n, multiplicity, drop_mediation, sims", [
    (("physio", "acupuncture", "combined"), 30, "holm", False, 1),
    (FOUR, 50, "holm", True, 2),
    (FOUR, 40, "fixed-sequence", True, 2),
])
def test_power_path_verdicts_equal_the_claims_report(arms, n, multiplicity, drop_mediation, sims):
    claims = default_claims()
    if drop_mediation:
        claims = claims[claims["model"] != "mediation"]
    design = make_design(arms=arms, n=n, analysis="claims", claims=claims, multiplicity=multiplicity,
                         effects={"pain": {"combined": -3.2}}, dropout=0.2)
    res = ct.power(design, n_sims=sims, seed=7, null=False)
    codes = cp.verdict_codes(res.sims, design.claims, design.alpha, multiplicity)
    seen = set()
    for i in range(sims):
        table = _report_verdicts(design, n, i, 7)
        assert list(table["id"].astype(str)) == [c["id"] for c in design.claims]
        for j, (_, row) in enumerate(table.iterrows()):
            assert _same(row["verdict"], int(codes[i, j])), (i, row["id"], row["verdict"], codes[i, j])
            seen.add(int(codes[i, j]))
            p = res.sims[f"claim:{row['id']}:p"].iloc[i]
            if codes[i, j] <= 2:  # the same one-sided (intersection-union) p-value, to rounding
                assert p == pytest.approx(row["p"], rel=1e-7, abs=1e-14)
    assert len(seen - {4}) >= 2  # different verdicts occur (not testable: claim 10 without a control arm)


def test_claims_power_table_counts_the_verdicts():
    claims = default_claims()
    claims = claims[claims["model"].isin(["ancova", "count", "safety"])]
    res = ct.power(analysis="claims", claims=claims, n=[60], n_sims=10, seed=3, null=True)
    codes = cp.verdict_codes(res.sims[(res.sims["truth"] == "design") & (res.sims["n"] == 60)], res.design.claims,
                             0.05, "holm")
    got = res.table.set_index(["truth", "n", "kind", "outcome", "test"])["power"]
    for j, c in enumerate(res.design.claims):
        if np.all(codes[:, j] == 4):
            assert ("design", 60, "claim_verdict", c["id"], "supported") not in got.index
            continue
        assert got["design", 60, "claim_verdict", c["id"], "supported"] == pytest.approx(np.mean(codes[:, j] <= 1))
    tested = ~np.all(codes == 4, axis=0)
    assert got["design", 60, "claims_family", "all", "all claims supported"] == \
        pytest.approx(np.mean(np.all(codes[:, tested] <= 1, axis=1)))
    assert set(res.table["truth"]) == {"design", "null"}


def test_multiplicity_across_claims_with_untestable_cells():
    rng = np.random.default_rng(4)
    p = rng.random((40, 6)) ** 3
    p[rng.random(p.shape) < 0.3] = np.nan  # not testable or inconclusive: out of the family
    holm = cp.adjust(p, "holm", 0.05)
    for row, adj in zip(p, holm):
        ok = np.isfinite(row)
        if ok.any():
            np.testing.assert_allclose(adj[ok], p_adjust(row[ok], "holm"), rtol=1e-12)
        assert np.all(np.isnan(adj[~ok]))
    fs = cp.adjust(p, "fixed-sequence", 0.05)
    for row, adj in zip(p, fs):  # running maximum until the first p >= alpha; later claims are not tested
        run, stopped = -np.inf, False
        for x, a in zip(row, adj):
            if not np.isfinite(x):
                assert np.isnan(a)
                continue
            run = max(run, x)
            assert a == (np.inf if stopped else run)
            stopped = stopped or x >= 0.05


def test_claims_design_errors():
    with pytest.raises(ct.DataError, match="unknown model"):
        make_design(analysis="claims", claims=pd.DataFrame([{**default_claims().iloc[0], "model": "x"}]))
    with pytest.raises(ct.ArgumentError):
        make_design(analysis="claim")


# --- survival and count outcomes: closed forms --------------------------------------------------------------------
SURV = {"hr": {"combined": 1.5}, "median": 20.0, "shape": 1.0, "follow_up": 26.0, "dropout": 0.1}
COUNT = {"rate_ratio": {"combined": 0.75}, "mean": 4.0, "dispersion": 1.2, "dropout": 0.1}


def schoenfeld(n: int, alpha: float = 0.05) -> float:
    """Schoenfeld (1981): power of the log-rank / Cox test of a hazard ratio with 1:1 allocation from the expected
    number of events d: Phi(|log HR| sqrt(d / 4) - z). Exponential times (rate log 2 / median x HR), exponential
    loss to follow-up and administrative censoring at T: P(event) = l / (l + m) (1 - exp(-(l + m) T))."""
    lam = np.log(2) / SURV["median"] * np.array([1.0, SURV["hr"]["combined"]])
    mu = -np.log(1 - SURV["dropout"]) / SURV["follow_up"]
    d = n * float(np.sum(lam / (lam + mu) * (1 - np.exp(-(lam + mu) * SURV["follow_up"]))))
    return float(stats.norm.cdf(np.log(SURV["hr"]["combined"]) * np.sqrt(d / 4) - stats.norm.ppf(1 - alpha / 2)))


def nb_wald(n: int, alpha: float = 0.05) -> float:
    """The Wald test of a negative binomial rate ratio at the known truth: Var(log mean_a) = (1/mu_a + 1/theta) / n_a
    with n_a the subjects observed (dropout missing completely at random)."""
    m = COUNT["mean"] * np.array([1.0, COUNT["rate_ratio"]["combined"]])
    v = float(np.sum((1 / m + 1 / COUNT["dispersion"]) / (n * (1 - COUNT["dropout"]))))
    e, z = abs(np.log(COUNT["rate_ratio"]["combined"])) / np.sqrt(v), stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.cdf(e - z) + stats.norm.cdf(-e - z))


def _check_closed_forms(n_sims: int, n: int = 70, test: str = "cox") -> None:
    res = ct.power(outcomes=[], arms=["physio", "combined"], survival={**SURV, "test": test}, count=COUNT, n=[n],
                   n_sims=n_sims, seed=5)
    t = res.table[res.table["kind"] == "contrast"].set_index(["truth", "outcome"])
    for outcome, expected in (("recovery_time", schoenfeld(n)), ("analgesic_days", nb_wald(n))):
        row = t.loc[("design", outcome)]
        assert abs(row["power"] - expected) < 3 * row["mc_se"], (outcome, row["power"], expected)
        null = t.loc[("null", outcome)]  # type I error of the two-sided test at alpha
        assert abs(null["power"] - 0.05) < 3 * np.sqrt(0.05 * 0.95 / n_sims), (outcome, null["power"])


def test_survival_and_count_power_match_closed_forms_ci():
    _check_closed_forms(200)


@pytest.mark.slow
@pytest.mark.parametrize("test", ["cox", "logrank"])
def test_survival_and_count_power_match_closed_forms_2000(test):
    _check_closed_forms(SLOW_SIMS, test=test)


def test_logrank_statistic_is_the_survival_models():
    """Each pair's log-rank z squared is ct.survival's log-rank chi-square on a Trial of the pair's two arms, and
    its sign is the Cox log hazard ratio's."""
    from combotherapy.power import analyse as pa
    from combotherapy.power.design import draw
    from combotherapy.trial import Trial

    d = make_design(outcomes=[], arms=["physio", "acupuncture", "combined"], survival={**SURV, "test": "logrank"},
                    n=40)
    x = draw(d, 40, np.random.default_rng(8))
    got = pa.survival_arrays(d, x)
    time, event = x["survival"]
    for (a, b), (est, z, _) in zip(pa.pairs(d), got):
        keep = np.isin(x["arm"], [d.arms.index(a), d.arms.index(b)])
        frame = pd.DataFrame({"subject": [f"S{i:03d}" for i in range(int(keep.sum()))],
                              "arm": pd.Categorical(np.asarray(d.arms)[x["arm"][keep]], categories=[a, b]),
                              "visit": 12.0, "recovery_time": time[keep], "recovered": event[keep]})
        trial = Trial(frame, {"recovery_time": ct.instruments.REGISTRY["recovery_time"],
                              "recovered": ct.instruments.REGISTRY["recovered"]}, source="test")
        lr = ct.survival(trial, "recovery_time", "recovered").logrank.iloc[0]
        assert z ** 2 == pytest.approx(lr["statistic"], rel=1e-10)
        assert np.sign(z) == np.sign(est)


def test_survival_and_count_contrasts_are_the_package_models():
    """The array path's Cox contrasts equal ct.survival's through the inference interface on a Trial holding the
    same simulated subjects; its negative binomial contrasts equal the closed form of the arm-only NB2 fit (the
    means' MLE is each arm's sample mean; theta maximises the profile likelihood, found here by scipy; the Wald
    variance of a log mean is (1/mu + 1/theta) / n)."""
    from combotherapy.power import analyse as pa
    from combotherapy.power.design import draw
    from combotherapy.trial import Trial

    d = make_design(outcomes=[], arms=["physio", "acupuncture", "combined"], survival=SURV, count=COUNT, n=40)
    x = draw(d, 40, np.random.default_rng(2))
    m = x["arm"].size
    time, event = x["survival"]
    frame = pd.DataFrame({"subject": [f"S{i:03d}" for i in range(m)],
                          "arm": pd.Categorical(np.asarray(d.arms)[x["arm"]], categories=list(d.arms)),
                          "visit": 12.0, "recovery_time": time, "recovered": event})
    trial = Trial(frame, {"recovery_time": ct.instruments.REGISTRY["recovery_time"],
                          "recovered": ct.instruments.REGISTRY["recovered"]}, source="test")
    cox = ct.survival(trial, "recovery_time", "recovered").compare(pairs=pa.pairs(d), adjust="none")
    np.testing.assert_allclose(pa.survival_arrays(d, x)[:, :2], cox[["log_estimate", "statistic"]].to_numpy(float),
                               rtol=1e-8, atol=1e-10)
    y = x["count"]
    ok = ~np.isnan(y)
    y, arm = y[ok], x["arm"][ok]
    means = np.bincount(arm, weights=y) / np.bincount(arm)
    mu = means[arm]

    def nll(log_theta: float) -> float:
        th = np.exp(log_theta)
        return -float(np.sum(special.gammaln(y + th) - special.gammaln(th) + th * np.log(th / (th + mu))
                             + y * np.log(mu / (th + mu))))

    from scipy import optimize, special

    theta = float(np.exp(optimize.minimize_scalar(nll, bounds=(-5, 5), method="bounded",
                                                  options={"xatol": 1e-10}).x))
    var = (1 / means + 1 / theta) / np.bincount(arm)
    got = pa.count_arrays(d, x)
    for (a, b), (est, z, df) in zip(pa.pairs(d), got):
        i, j = d.arms.index(a), d.arms.index(b)
        assert est == pytest.approx(np.log(means[i] / means[j]), rel=1e-8)
        assert z == pytest.approx(est / np.sqrt(var[i] + var[j]), rel=1e-5)
        assert df == np.inf


# --- allocation search --------------------------------------------------------------------------------------------
def test_allocation_search_returns_the_smallest_total():
    kw = {"target": 0.6, "n_sims": 40, "n_min": 16, "n_max": 256, "seed": 4, "dropout": 0.0}
    ss = ct.sample_size(allocations={"combined": [1 / 3, 0.5]}, **kw)
    assert list(ss.allocations["allocation"]) == ["1:1:1", "0.75:0.75:1.5"]
    reached = ss.allocations[ss.allocations["reached"]]
    assert ss.n_total == reached["n_total"].min()
    # the same search at the chosen allocation alone gives the same n (common random numbers)
    alone = ct.sample_size(allocation=":".join(f"{r:g}" for r in ss.allocation), **kw)
    assert (alone.n, alone.power) == (ss.n, ss.power)
    assert "Allocation searched over 2 ratios" in ss.summary() and "MC SE" in ss.summary()


def test_allocation_search_errors():
    with pytest.raises(ct.ModelError, match="largest n tried is 12") as err:
        ct.sample_size(target=0.99, n_sims=20, n_min=5, n_max=12, seed=1, allocations=["1:1:1", "1:1:2"])
    assert err.value.kind == "unreachable" and "48 patients" in str(err.value)
    with pytest.raises(ct.DataError, match="size zero"):
        ct.sample_size(target=0.5, n_sims=10, allocations=["1:0:1"])
    with pytest.raises(ct.DataError) as err:
        ct.sample_size(target=0.5, n_sims=10, allocations={"control": [0.5]})
    assert err.value.kind == "unknown arm"
    from combotherapy.power.search import share_allocations

    assert share_allocations(["physio", "acupuncture", "combined"], "combined", [1 / 3]) == [(1.0, 1.0, 1.0)]


# --- the CLI and the result vocabulary ----------------------------------------------------------------------------
def test_cli_power_reads_the_new_design_fields(tmp_path):
    import json

    from combotherapy.cli import main

    claims = default_claims()
    claims[claims["model"].isin(["ancova", "survival"])].to_csv(tmp_path / "claims.csv", index=False)
    design = tmp_path / "design.json"
    design.write_text(json.dumps({"n": 30, "analysis": "claims", "claims": "claims.csv",
                                  "multiplicity": "fixed-sequence"}))
    out = tmp_path / "power.csv"
    assert main(["power", "--design", str(design), "--out", str(out), "--sims", "4", "--seed", "3"]) == 0
    table = pd.read_csv(out, dtype={"outcome": str})
    assert {"claim_verdict", "claims_family"} <= set(table["kind"]) and "4" in set(table["outcome"])
    events = tmp_path / "events.json"
    events.write_text(json.dumps({"arms": ["physio", "combined"], "n": [40], "outcomes": [], "survival": SURV,
                                  "count": COUNT}))
    assert main(["power", "--design", str(events), "--out", str(tmp_path / "e.csv"), "--sims", "6"]) == 0
    assert set(pd.read_csv(tmp_path / "e.csv")["outcome"]) == {"recovery_time", "analgesic_days"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"survival": {"hr": {"yoga": 2.0}}}))
    assert main(["power", "--design", str(bad), "--out", str(tmp_path / "x.csv"), "--sims", "2"]) == 1


def test_power_result_speaks_the_vocabulary(tmp_path):
    res = ct.power(n=[20, 30], n_sims=10, seed=1, allocation="1:1:2")
    from combotherapy.results import Result

    assert isinstance(res, Result)
    by_arm = res.by_arm.set_index(["n", "arm"])["size"]
    assert by_arm[30, "combined"] == 60 and by_arm[20, "physio"] == 20
    con = res.contrasts
    rows = res.select("contrast")
    np.testing.assert_allclose(con.loc[con["truth"] == "design", "estimate"], rows["power"])
    sims = res.sims[(res.sims["truth"] == "design") & (res.sims["n"] == 20)]
    first = con[(con["truth"] == "design") & (con["n"] == 20)].iloc[0]
    assert first["mean_effect"] == pytest.approx(sims[f"pain:{first['first']}-{first['second']}:est"].mean())
    assert res.to_csv(tmp_path / "t.csv", table="table").read_text().startswith("truth,n,n_total,kind")
    assert res.design.n == (20, 30) and res.seed == 1


@pytest.mark.slow
def test_claims_family_error_rate_under_the_global_null():
    """Under the global null (every arm the same, subject-level outcomes too) the claims without the safety claim
    (non-inferiority, true under the null) and the mediation claim are supported together in at most alpha + 3 MC
    SEs of the trials (Holm across claims; each combination claim an intersection-union test, conservative)."""
    claims = default_claims()
    claims = claims[~claims["model"].isin(["safety", "mediation"])]
    sims = SLOW_SIMS // 2
    res = ct.power(analysis="claims", claims=claims, arms=FOUR, n=[40], n_sims=sims, seed=9)
    row = res.select("claims_family", truth="null").set_index("test").loc["any claim supported"]
    assert row["power"] <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / sims), row["power"]
