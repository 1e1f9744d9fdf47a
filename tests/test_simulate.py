"""The simulator: reproducible, recovers its own truth, respects the instruments, and wrote the sample files."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import SAMPLE
from statsmodels.duration.hazard_regression import PHReg

import combotherapy as ct
import combotherapy.simulate as sim
from combotherapy.instruments import instrument_for

ALL_ARMS = ("control", "physio", "acupuncture", "combined")
N_LARGE = 20_000
#: sampling error allowed between a large draw and the truth
Z = 4.0


def _wk(frame: pd.DataFrame, week: float) -> pd.DataFrame:
    return frame.loc[frame["visit"] == week].set_index("subject")


def _subjects(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop_duplicates("subject").set_index("subject")


@pytest.fixture(scope="module")
def large():
    """20,000 per arm, all four arms, no dropout: the complete data and its latent values."""
    arms, sizes, v, eff = sim._check_args(ALL_ARMS, N_LARGE, sim.DEFAULT_VISITS, 0.0, None)
    return sim._draw(arms, sizes, v, eff, 0.0, np.random.default_rng(20240))


@pytest.fixture(scope="module")
def with_dropout():
    return sim.simulate_frame(arms=ALL_ARMS, n_per_arm=5000, dropout=0.3, seed=77)


def _truth(outcome: str, contrast: str) -> float:
    row = sim.TRUTH[(sim.TRUTH["outcome"] == outcome) & (sim.TRUTH["contrast"] == contrast)]
    assert len(row) == 1
    return float(row["value"].iloc[0])


# --------------------------------------------------------------------------------------------------
# Reproducibility and the public function
# --------------------------------------------------------------------------------------------------
def test_same_seed_same_data_and_rng_equals_seed():
    a = sim.simulate_frame(seed=11)
    b = sim.simulate_frame(seed=11)
    pd.testing.assert_frame_equal(a, b)
    c = sim.simulate_frame(seed=None, rng=np.random.default_rng(11))
    pd.testing.assert_frame_equal(a, c)
    d = sim.simulate_frame(seed=12)
    assert not a["pain"].equals(d["pain"])


def test_simulate_trial_returns_canonical_trial():
    trial = ct.simulate_trial(seed=3)
    assert isinstance(trial, ct.Trial)
    data = trial.data
    assert data["subject"].map(type).eq(str).all()
    assert isinstance(data["arm"].dtype, pd.CategoricalDtype) and data["arm"].cat.ordered
    assert list(data["arm"].cat.categories) == ["physio", "acupuncture", "combined"]
    assert data["visit"].dtype == np.float64
    assert trial.visits == [0.0, 4.0, 8.0, 12.0, 26.0]
    assert trial.n_subjects == 360
    assert trial.source == "simulate_trial(seed=3)"
    for col in ("pain", "odi", "rmdq", "rom", "crp", "analgesic_days", "phq9", "eq5d", "endurance",
                "sessions_attended", "sessions_planned", "recovery_time", "recovered", "adverse_events",
                "ae_bruising", "ae_needle_pain", "ae_dizziness", "ae_muscle_soreness"):
        assert col in trial.outcomes, col
    assert set(trial.covariates) >= {"age", "sex", "pain_duration", "site"}
    # subject-level columns are constant within each subject
    subject_cols = ["age", "sex", "pain_duration", "site", "sessions_attended", "sessions_planned",
                    "recovery_time", "recovered", "adverse_events", "ae_bruising"]
    assert (data.groupby("subject")[subject_cols].nunique(dropna=False) == 1).all().all()


def test_simulate_trial_needs_a_seed_or_generator():
    with pytest.raises(ct.DataError, match="seed"):
        sim.simulate_frame(seed=None)
    with pytest.raises(ct.DataError, match="not both"):
        sim.simulate_frame(seed=1, rng=np.random.default_rng(1))


def test_unbalanced_arms_and_custom_visits():
    sizes = {"physio": 7, "acupuncture": 40, "combined": 2}
    f = sim.simulate_frame(n_per_arm=sizes, visits=(0, 2, 6, 12), dropout=0.2, seed=5)
    counts = _subjects(f)["arm"].value_counts()
    assert {a: int(counts[a]) for a in sizes} == sizes
    assert sorted(f["visit"].unique()) == [0.0, 2.0, 6.0, 12.0]
    assert len(f) == 49 * 4
    assert f.groupby("subject").size().eq(4).all()


def test_factorial_arms_and_usual_care_has_no_sessions():
    f = sim.simulate_frame(arms=("combined", "control", "acupuncture", "physio"), n_per_arm=30, seed=8)
    assert list(f["arm"].cat.categories) == list(ALL_ARMS)  # display order, whatever order given
    s = _subjects(f)
    ctrl = s["arm"] == "control"
    assert s.loc[ctrl, ["sessions_attended", "sessions_planned"]].isna().all().all()
    assert s.loc[~ctrl, "sessions_planned"].eq(sim.SESSIONS_PLANNED).all()
    assert (s.loc[~ctrl, "sessions_attended"] <= s.loc[~ctrl, "sessions_planned"]).all()


@pytest.mark.parametrize("kwargs, message", [
    (dict(arms=("physio", "yoga")), r"unknown arm\(s\) \['yoga'\]"),
    (dict(arms=()), "non-empty"),
    (dict(arms="physio"), "non-empty sequence"),
    (dict(arms=("physio", "physio")), "more than once"),
    (dict(n_per_arm=1), "at least 2"),
    (dict(n_per_arm=2.5), "whole number"),
    (dict(n_per_arm={"physio": 10, "acupuncture": 10}), r"missing \['combined'\]"),
    (dict(visits=(4, 8, 12)), "start at 0"),
    (dict(visits=(0, 8, 4)), "increase strictly"),
    (dict(visits=(0,)), "at least two"),
    (dict(visits=("a", "b")), "must be numbers"),
    (dict(dropout=1.0), r"\[0, 1\)"),
    (dict(dropout=-0.1), r"\[0, 1\)"),
    (dict(effects={"headache": {"combined": 1.0}}), "unknown entry 'headache'"),
    (dict(effects=3), "effects must be"),
])
def test_bad_arguments_raise_data_error(kwargs, message):
    with pytest.raises(ct.DataError, match=message):
        ct.simulate_trial(**kwargs)


def test_effect_overrides_change_the_truth_and_the_draw():
    eff = {"pain": {"combined": -6.0}, "recovery_hr": {"combined": 1.0}}
    tab = sim.truth_table(("physio", "combined"), eff)
    assert tab.loc[(tab["outcome"] == "pain"), "value"].iloc[0] == pytest.approx(-6.0 + 2.3)
    assert tab.loc[(tab["outcome"] == "recovery_time"), "value"].iloc[0] == pytest.approx(1.0 / 2.1)
    base = _wk(sim.simulate_frame(arms=("physio", "combined"), n_per_arm=2000, dropout=0.0, seed=2), 12)
    more = _wk(sim.simulate_frame(arms=("physio", "combined"), n_per_arm=2000, dropout=0.0, seed=2, effects=eff), 12)
    diff = (more.groupby("arm", observed=True)["pain"].mean() - base.groupby("arm", observed=True)["pain"].mean())
    assert diff["physio"] == 0.0  # same stream, only the combined arm's mean moves
    assert diff["combined"] < -1.5  # -2.5 on the latent scale, less after clipping at 0


# --------------------------------------------------------------------------------------------------
# The truth table
# --------------------------------------------------------------------------------------------------
def test_truth_table_has_true_and_null_claims():
    combo = sim.TRUTH[sim.TRUTH["truth"] != ""]
    by_claim = combo.groupby("claim")["truth"].agg(lambda t: "true" if (t == "true").all() else "null")
    assert by_claim.to_dict() == {1: "true", 2: "true", 3: "null", 4: "true", 5: "true", 6: "true", 7: "null",
                                  8: "true"}
    # both monotherapies help versus usual care on every outcome a true claim rests on
    for outcome in ("pain", "rom", "analgesic_days", "eq5d", "recovery_time"):
        for arm in ("physio", "acupuncture"):
            assert sim.TRUTH.set_index(["outcome", "contrast"]).loc[(outcome, f"{arm} - control"), "direction"] \
                == "better"
    assert sim.claim_truth().set_index("claim")["truth"].to_dict() == by_claim.to_dict()


def test_adherence_truth_depends_on_the_first_follow_up_and_effects_instances_work():
    """Measured at week 1 the combined arm's pain has fallen less, so its adherence edge is smaller."""
    t4 = sim.truth_table(("physio", "combined"))
    t1 = sim.truth_table(("physio", "combined"), visits=(0, 1, 12))
    pick = lambda t: t.loc[t["outcome"] == "sessions_attended", "value"].iloc[0]  # noqa: E731
    assert 0 < pick(t1) < pick(t4)
    eff = sim.DEFAULT_EFFECTS.updated({"adherence_direct": {"combined": 0.5}})
    assert pick(sim.truth_table(("physio", "combined"), eff)) > pick(t4)
    f = sim.simulate_frame(arms=("physio", "combined"), n_per_arm=3000, dropout=0.0, seed=9, effects=eff)
    s = _subjects(f)
    prop = (s["sessions_attended"] / 12).groupby(s["arm"], observed=True).mean()
    se = np.sqrt(2 * 0.25 / 3000)
    assert abs(prop["combined"] - prop["physio"] - pick(sim.truth_table(("physio", "combined"), eff))) < Z * se


def test_additive_factorial_truth():
    """Combined vs control is the sum of the two monotherapies' effects (log scale for ratios) where built so."""
    t = sim.TRUTH.set_index(["outcome", "contrast"])["value"]
    for outcome in ("pain", "odi", "rmdq", "rom", "eq5d"):
        assert t[(outcome, "combined - control")] == pytest.approx(
            t[(outcome, "physio - control")] + t[(outcome, "acupuncture - control")])
    for outcome in ("analgesic_days", "recovery_time"):
        assert t[(outcome, "combined - control")] == pytest.approx(
            t[(outcome, "physio - control")] * t[(outcome, "acupuncture - control")])


# --------------------------------------------------------------------------------------------------
# The simulator recovers its own truth on a large draw
# --------------------------------------------------------------------------------------------------
CONTRASTS = [("combined", "physio"), ("combined", "acupuncture"), ("physio", "control"),
             ("acupuncture", "control"), ("combined", "control")]


@pytest.mark.parametrize("outcome", ["pain", "odi", "rmdq", "rom", "phq9", "eq5d", "endurance", "crp"])
def test_latent_week12_differences_match_truth(large, outcome):
    frame, latent = large["frame"], large["latent"][outcome]
    j = sim.DEFAULT_VISITS.index(12)
    arm = frame.drop_duplicates("subject")["arm"].to_numpy()
    for first, second in CONTRASTS:
        x, y = latent[arm == first, j], latent[arm == second, j]
        est = x.mean() - y.mean()
        se = np.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        true = _truth(outcome, f"{first} - {second}")
        true = np.log(true) if outcome == "crp" else true
        assert abs(est - true) < Z * se, (outcome, first, second, est, true, se)


@pytest.mark.parametrize("outcome", ["pain", "rom", "eq5d", "endurance", "phq9"])
def test_observed_week12_differences_close_to_truth(large, outcome):
    """Rounding and clipping attenuate observed differences a little: within 4 SE plus 12 % of the truth."""
    w = _wk(large["frame"], 12)
    g = w.groupby("arm", observed=True)[outcome]
    m, v, n = g.mean(), g.var(), g.count()
    for first, second in CONTRASTS:
        est = m[first] - m[second]
        se = np.sqrt(v[first] / n[first] + v[second] / n[second])
        true = _truth(outcome, f"{first} - {second}")
        assert abs(est - true) < Z * se + 0.12 * abs(true), (outcome, first, second, est, true)
        if true != 0:
            assert np.sign(est) == np.sign(true)


def test_analgesic_rate_ratios_match_truth(large):
    counts = large["latent"]["analgesic_days"][:, sim.DEFAULT_VISITS.index(12)]  # before clipping at 28
    arm = large["frame"].drop_duplicates("subject")["arm"].to_numpy()
    for first, second in CONTRASTS:
        x, y = counts[arm == first], counts[arm == second]
        est = np.log(x.mean() / y.mean())
        se = np.sqrt(x.var(ddof=1) / (x.size * x.mean() ** 2) + y.var(ddof=1) / (y.size * y.mean() ** 2))
        assert abs(est - np.log(_truth("analgesic_days", f"{first} - {second}"))) < Z * se
    # overdispersed: variance well above the mean (negative binomial, shape 2.5)
    base = large["latent"]["analgesic_days"][:, 0]
    assert base.var() > 3 * base.mean()


def test_recovery_hazard_ratios_match_truth(large):
    s = _subjects(large["frame"]).iloc[:20_000]  # a fifth of the draw keeps the Cox fit quick
    acute = large["acute"][:20_000]
    arms = ["physio", "acupuncture", "combined"]
    x = np.column_stack([(s["arm"] == a).to_numpy(float) for a in arms] + [acute])
    fit = PHReg(s["recovery_time"].to_numpy(), x, status=s["recovered"].to_numpy(), ties="efron").fit()
    for k, a in enumerate(arms):
        assert abs(fit.params[k] - np.log(_truth("recovery_time", f"{a} - control"))) < Z * fit.bse[k], a
    assert abs(fit.params[3] - np.log(sim.ACUTE_HR)) < Z * fit.bse[3]
    # censored at the last visit only (no dropout here)
    assert s.loc[s["recovered"] == 0, "recovery_time"].eq(26.0).all()


def test_adherence_matches_truth_and_is_mediated_by_early_pain(large):
    s = _subjects(large["frame"])
    prop = (s["sessions_attended"] / s["sessions_planned"]).groupby(s["arm"], observed=True)
    m, v, n = prop.mean(), prop.var(), prop.count()
    for first, second in [("combined", "physio"), ("combined", "acupuncture"), ("physio", "acupuncture")]:
        se = np.sqrt(v[first] / n[first] + v[second] / n[second])
        assert abs(m[first] - m[second] - _truth("sessions_attended", f"{first} - {second}")) < Z * se
    # given the early pain fall the arms do not differ (no direct effect): logit of attendance on the fall
    active = (s["arm"] != "control").to_numpy()
    fall = large["fall"][active]
    d = pd.DataFrame({"att": s["sessions_attended"].to_numpy()[active], "fall": fall,
                      "combined": (s["arm"] == "combined").to_numpy()[active].astype(float)})
    fit = sm.GLM(np.column_stack([d["att"], 12 - d["att"]]), sm.add_constant(d[["fall", "combined"]]),
                 family=sm.families.Binomial()).fit()
    # subject heterogeneity (SD 0.7 on the logit) shrinks the marginal slope towards 0: 0.55 becomes ~0.5
    assert 0.4 < fit.params["fall"] < 0.56
    assert abs(fit.params["combined"]) < 0.05


def test_adverse_events(large):
    s = _subjects(large["frame"])
    ae_cols = [c for c in s.columns if c.startswith("ae_")]
    assert (s[ae_cols].sum(axis=1) == s["adverse_events"]).all()
    means = s.groupby("arm", observed=True)[ae_cols].mean()
    for col in ae_cols:
        rates = sim.DEFAULT_EFFECTS.adverse_rates[col[3:]]
        for arm in ALL_ARMS:
            true = rates[arm]
            if true == 0:
                assert means.loc[arm, col] == 0, (arm, col)
            else:
                assert abs(means.loc[arm, col] - true) < Z * np.sqrt(true / N_LARGE), (arm, col)


# --------------------------------------------------------------------------------------------------
# Ranges, integers, dropout
# --------------------------------------------------------------------------------------------------
def test_values_respect_instruments(with_dropout):
    f = with_dropout
    for col in f.columns:
        inst = instrument_for(col)
        if inst is None:
            continue
        x = f[col].dropna()
        assert len(x) > 0, col
        if inst.low is not None:
            assert (x > inst.low).all() if inst.low_open else (x >= inst.low).all(), col
        if inst.high is not None:
            assert (x <= inst.high).all(), col
        if inst.integer or col in ("odi", "rom", "endurance"):
            assert (x == np.round(x)).all(), col
    assert (f["crp"].dropna() > 0).all()
    assert f["eq5d"].max() <= 1 and f["eq5d"].min() >= -0.594
    assert set(f["recovered"].unique()) == {0.0, 1.0}
    s = _subjects(f)
    assert s["age"].between(18, 80).all() and set(s["sex"]) == {"female", "male"}
    assert set(s["site"]) == set(sim.SITES)
    acute = (s["pain_duration"] < 3).mean()
    assert 0.12 < acute < 0.3 and s["pain_duration"].max() > 60  # a mix of acute and (long) chronic pain


def test_dropout_is_monotone_missing_at_random_and_calibrated(with_dropout):
    f = with_dropout
    pain = f.pivot(index="subject", columns="visit", values="pain")
    observed = pain.notna().to_numpy()
    assert observed[:, 0].all()  # everyone has a baseline
    # monotone: once missing, missing at every later visit
    assert (np.diff(observed.astype(int), axis=1) <= 0).all()
    # every visit-level outcome is missing exactly when pain is (CRP has extra lost samples)
    for col in ("odi", "rmdq", "rom", "analgesic_days", "phq9", "eq5d", "endurance"):
        other = f.pivot(index="subject", columns="visit", values=col).notna().to_numpy()
        assert (other == observed).all(), col
    crp = f.pivot(index="subject", columns="visit", values="crp").notna().to_numpy()
    assert not (crp & ~observed).any()
    lost = (~crp & observed).sum() / observed.sum()
    assert abs(lost - sim.CRP_MISSING) < Z * np.sqrt(sim.CRP_MISSING * 0.97 / observed.sum())
    # the expected proportion lost by the last visit is the dropout asked for
    n = len(pain)
    gone = 1 - observed[:, -1].mean()
    assert abs(gone - 0.3) < Z * np.sqrt(0.3 * 0.7 / n)
    # MAR: leaving before week 4 depends on baseline pain with the designed slope
    fit = sm.Logit((~observed[:, 1]).astype(float), sm.add_constant(pain[0.0].to_numpy())).fit(disp=0)
    assert abs(fit.params[1] - sim.DROPOUT_SLOPE) < Z * fit.bse[1]
    # dropouts are censored for recovery no later than their next visit, and attend fewer sessions
    s = _subjects(f)
    last_seen = pain.notna().iloc[:, ::-1].idxmax(axis=1).reindex(s.index)
    drop = last_seen < 26
    censored = drop & (s["recovered"] == 0)
    nxt = last_seen.map(dict(zip(sim.DEFAULT_VISITS[:-1], sim.DEFAULT_VISITS[1:], strict=True)))
    t = s.loc[censored, "recovery_time"]
    assert ((t >= last_seen[censored]) & (t <= nxt[censored])).all()
    assert (s.loc[~drop & (s["recovered"] == 0), "recovery_time"] == 26).all()
    active = s["arm"] != "control"
    assert s.loc[drop & active, "sessions_attended"].mean() < s.loc[~drop & active, "sessions_attended"].mean()


def test_no_dropout_means_complete_data():
    f = sim.simulate_frame(n_per_arm=50, dropout=0.0, seed=4)
    assert f.drop(columns=["crp", "sessions_attended", "sessions_planned"]).notna().all().all()


def test_combined_pain_falls_first(large):
    w = large["frame"].pivot_table(index="arm", columns="visit", values="pain", observed=True)
    early = w[0.0] - w[4.0]
    assert early["combined"] > early["physio"] + 1.0 and early["combined"] > early["acupuncture"] + 1.0


# --------------------------------------------------------------------------------------------------
# The committed sample files
# --------------------------------------------------------------------------------------------------
def _package() -> dict:
    return json.loads((SAMPLE / "datapackage.json").read_text(encoding="utf-8"))


def test_committed_files_are_what_the_simulator_writes():
    versions = _package()["x-combotherapy"]["versions"]
    recorded = versions["numpy"]
    if recorded != np.__version__:
        pytest.skip(f"numpy version differs: the sample files were written with numpy {recorded}, this is numpy "
                    f"{np.__version__}. numpy does not promise identical random streams across versions, so the "
                    "simulator may write different bytes; regenerate with write_sample_data to compare.")
    other_pandas = "" if versions["pandas"] == pd.__version__ else (
        f" (the files were written with pandas {versions['pandas']}, this is pandas {pd.__version__}: "
        "a change in its CSV writer could explain it)")
    # the README and data package record the writing versions: compare them with the recorded ones
    for name, text in sim.sample_files(versions).items():
        committed = (SAMPLE / name).read_bytes()
        assert committed == text.encode("utf-8"), (
            f"data/sample/{name} is not what combotherapy.simulate.write_sample_data writes for the documented "
            f"seeds{other_pandas}; if the simulator changed on purpose, regenerate it (see data/sample/README.md) "
            "and the R references computed on it")


def test_write_sample_data_writes_the_listed_files(tmp_path):
    paths = sim.write_sample_data(tmp_path)
    assert sorted(p.name for p in paths) == ["README.md", "datapackage.json", "factorial.csv", "three_arm.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_datapackage_describes_the_files():
    pkg = _package()
    assert [r["path"] for r in pkg["resources"]] == ["three_arm.csv", "factorial.csv"]
    for res in pkg["resources"]:
        raw = (SAMPLE / res["path"]).read_bytes()
        assert res["hash"] == "sha256:" + hashlib.sha256(raw).hexdigest()
        assert res["bytes"] == len(raw)
        frame = pd.read_csv(SAMPLE / res["path"], keep_default_na=False, na_values=[""])
        fields = res["schema"]["fields"]
        assert [f["name"] for f in fields] == list(frame.columns)
        assert res["schema"]["primaryKey"] == ["subject", "visit"]
        assert not frame.duplicated(["subject", "visit"]).any()
        for f in fields:
            x = frame[f["name"]].dropna()
            cons = f.get("constraints", {})
            if "enum" in cons:
                assert set(x.astype(str)) <= set(cons["enum"]), f["name"]
            if "minimum" in cons:
                assert (x >= cons["minimum"]).all(), f["name"]
            if "maximum" in cons:
                assert (x <= cons["maximum"]).all(), f["name"]
            if f["type"] == "integer":
                assert (x == np.round(x)).all(), f["name"]
            assert f["description"], f["name"]
    three, fact = (pd.read_csv(SAMPLE / n) for n in ("three_arm.csv", "factorial.csv"))
    assert three["subject"].nunique() >= 300 and set(three["arm"]) == {"physio", "acupuncture", "combined"}
    assert set(fact["arm"]) == set(ALL_ARMS)


def test_readme_states_seeds_versions_and_truth():
    text = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for seed in sim.SAMPLE_SEEDS.values():
        assert str(seed) in text
    assert f"numpy {_package()['x-combotherapy']['versions']['numpy']}" in text
    assert "| 1 | pain | mean difference | combined - physio | -1.2 | better | true |" in text


def test_sample_files_load():
    try:
        import combotherapy.privacy  # noqa: F401  (ct.load needs the identifier guard)
    except ImportError:
        pytest.skip("combotherapy.privacy (the identifier guard) is not written yet, so ct.load cannot run")
    for name, n in (("three_arm.csv", 360), ("factorial.csv", 400)):
        trial = ct.load(SAMPLE / name)
        assert trial.n_subjects == n


def test_simulator_package_keeps_one_concern_per_short_module():
    import importlib
    from pathlib import Path

    folder = Path(sim.__file__).parent
    sizes = {f.name: len(f.read_text().splitlines()) for f in folder.glob("*.py")}
    assert set(sizes) == {"__init__.py", "effects.py", "generator.py", "truth.py", "publish.py"}
    assert max(sizes.values()) < 600, sizes
    # the public names stay importable from combotherapy.simulate
    for name in sim.__all__:
        assert getattr(sim, name) is not None
    assert sim.simulate_trial is importlib.import_module("combotherapy").simulate_trial
    assert sim.TRUTH.equals(sim.truth_table())
