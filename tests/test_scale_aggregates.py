"""The out-of-core aggregate analyses (combotherapy.scale: table_one, responders, survival) against the in-memory
functions on the same data: DuckDB (a relation from the frame, and a Parquet file), Dask with the default scheduler
(subjects split across partitions) and Dask on a two-worker LocalCluster. Numbers to 1e-10 relative, counts
exactly, display tables equal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct

duckdb = pytest.importorskip("duckdb")
dd = pytest.importorskip("dask.dataframe")

from combotherapy.errors import DataError  # noqa: E402
from combotherapy.scale.responders import responders as ooc_responders  # noqa: E402
from combotherapy.scale.survival import logrank_from_counts  # noqa: E402
from combotherapy.scale.survival import survival as ooc_survival  # noqa: E402
from combotherapy.scale.table_one import table_one as ooc_table_one  # noqa: E402

RTOL = 1e-10


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trial() -> ct.Trial:
    """Unbalanced arms, 30% dropout, a text factor (site, sex)."""
    return ct.simulate_trial(n_per_arm={"physio": 40, "acupuncture": 55, "combined": 30}, seed=3, dropout=0.3)


@pytest.fixture(scope="module")
def messy() -> ct.Trial:
    """Missing baselines (no visit-0 row), a declared category never used, a 0/1 code and a boolean with gaps,
    missing factor values, baselines of 0, subjects without follow-up, an arm without subjects."""
    base = ct.simulate_trial(n_per_arm={"physio": 35, "acupuncture": 25, "combined": 45}, seed=11, dropout=0.25)
    data = base.data.copy()
    rng = np.random.default_rng(5)
    subjects = data["subject"].unique()
    pick = rng.choice(subjects, size=30, replace=False)
    no_base, no_sex, zero, no_fu = pick[:6], pick[6:12], pick[12:18], pick[18:24]
    data = data.loc[~(data["subject"].isin(no_base) & (data["visit"] == 0))].reset_index(drop=True)
    data.loc[data["subject"].isin(no_sex), "sex"] = None
    data.loc[data["subject"].isin(zero) & (data["visit"] == 0), "pain"] = 0.0
    data.loc[data["subject"].isin(no_fu), ["recovery_time", "recovered"]] = np.nan
    code = pd.Series(rng.integers(0, 2, len(subjects)).astype(float), index=subjects)
    code.iloc[:7] = np.nan
    data["smoker"] = data["subject"].map(code)
    data["migraine"] = data["subject"].map(pd.Series(rng.integers(0, 2, len(subjects)).astype(bool), index=subjects))
    data["site"] = pd.Categorical(data["site"], categories=["site1", "site2", "site3", "site4", "site9"])
    data["arm"] = pd.Categorical(data["arm"].astype(str), categories=["control", "physio", "acupuncture", "combined"])
    return ct.Trial(data, base.instruments)


def engines(trial: ct.Trial, tmp_path=None) -> dict:
    out = {"duckdb": duckdb.from_df(trial.data), "dask": dd.from_pandas(trial.data, npartitions=3)}
    if tmp_path is not None:
        path = tmp_path / "trial.parquet"
        trial.data.to_parquet(path)
        out["parquet"] = duckdb.read_parquet(str(path))
    return out


def test_dask_partitions_split_subjects(trial):
    """The Dask input really has subjects whose rows lie in two partitions (what the shuffle must handle)."""
    ddf = dd.from_pandas(trial.data.sample(frac=1, random_state=1), npartitions=3)
    parts = [set(ddf.get_partition(i).compute()["subject"]) for i in range(3)]
    assert parts[0] & parts[1] or parts[1] & parts[2]


# --------------------------------------------------------------------------------------------
# comparisons
# --------------------------------------------------------------------------------------------
def same_numbers(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for col in want.columns:
        a, b = want[col], got[col]
        if pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a):
            np.testing.assert_allclose(b.to_numpy(float), a.to_numpy(float), rtol=RTOL, atol=0, equal_nan=True,
                                       err_msg=col)
        else:
            assert b.astype(str).tolist() == a.astype(str).tolist(), col


def same_table_one(got, want) -> None:
    pd.testing.assert_frame_equal(got.table, want.table)
    same_numbers(got.numbers, want.numbers)
    same_numbers(got.smd, want.smd)
    same_numbers(got.differences, want.differences)
    same_numbers(got.variables, want.variables)
    pd.testing.assert_series_equal(got.n, want.n)
    assert got.notes == want.notes


T1_OPTIONS = [
    {},
    {"covariates": ["age", "sex", "site", "pain", "crp"], "reference": "physio", "alpha": 0.1},
    {"suppress_below": 11, "nonnormal": ["crp"], "digits": 2},
]


def test_table_one_duckdb_and_parquet(trial, tmp_path):
    options = T1_OPTIONS[1]
    want = ct.table_one(trial, **options)
    for name, rel in engines(trial, tmp_path).items():
        if name != "dask":
            same_table_one(ooc_table_one(rel, trial.arms, trial.instruments, **options), want)


@pytest.mark.slow
@pytest.mark.parametrize("options", T1_OPTIONS)
def test_table_one_options(trial, tmp_path, options):
    want = ct.table_one(trial, **options)
    for rel in engines(trial, tmp_path).values():
        same_table_one(ooc_table_one(rel, trial.arms, trial.instruments, **options), want)


def test_table_one_dask(trial):
    options = T1_OPTIONS[1]
    want = ct.table_one(trial, **options)
    same_table_one(ooc_table_one(engines(trial)["dask"], trial.arms, trial.instruments, **options), want)


def test_table_one_messy(messy):
    options = {"covariates": ["age", "sex", "site", "smoker", "migraine", "pain", "odi"], "reference": "combined",
               "suppress_below": 5}
    want = ct.table_one(messy, **options)
    assert (want.numbers["statistic"] == "missing").any() and "site9" in set(want.numbers["level"].dropna())
    for rel in engines(messy).values():
        same_table_one(ooc_table_one(rel, messy.arms, messy.instruments, **options), want)


def test_table_one_quantiles_match_type7():
    """quantile_cont (DuckDB) and the Dask value counts give R's type 7 quartiles, ties and odd sizes included."""
    rng = np.random.default_rng(2)
    n = 23
    frame = pd.DataFrame({"subject": [f"S{i:03d}" for i in range(n)], "arm": np.where(np.arange(n) < 9, "a", "b"),
                          "visit": 0.0, "score": np.round(rng.gamma(1.5, 3.0, n), 1)})
    frame.loc[[2, 3], "score"] = frame.loc[4, "score"]  # ties
    frame["arm"] = pd.Categorical(frame["arm"], categories=["a", "b"])
    tr = ct.Trial(frame, {})
    want = ct.table_one(tr, ["score"], nonnormal=["score"]).numbers
    for rel in engines(tr).values():
        same_numbers(ooc_table_one(rel, ["a", "b"], {}, ["score"], nonnormal=["score"]).numbers, want)
    q = want.set_index(["arm", "statistic"])["value"]
    x = frame.loc[frame["arm"] == "b", "score"].to_numpy()
    assert q[("b", "q1")] == pytest.approx(np.quantile(x, 0.25, method="linear"), rel=1e-12)


R_OPTIONS = [
    {"outcome": "pain", "visit": 12, "threshold": 2.0},
    {"outcome": "pain", "visit": 26, "threshold": 0.3, "relative": True, "missing": "exclude",
     "reference": "physio", "adjust": "bonferroni"},
    {"outcome": "odi", "visit": 8, "threshold": 10, "adjust": "none", "alpha": 0.1},
]


def same_responders(got, want) -> None:
    same_numbers(got.by_arm, want.by_arm)
    assert got.by_arm[["n", "responders"]].to_numpy().tolist() == want.by_arm[["n", "responders"]].to_numpy().tolist()
    same_numbers(got.contrasts, want.contrasts)
    assert got.fitted.notes == want.fitted.notes
    assert got.fitted.n_per_arm == want.fitted.n_per_arm
    for key in ("formula", "arms", "not_estimable", "n", "terms"):
        assert got.fitted.extra["logistic"][key] == want.fitted.extra["logistic"][key]
    np.testing.assert_allclose(got.fitted.extra["logistic"]["coef"], want.fitted.extra["logistic"]["coef"], rtol=RTOL)
    same_numbers(got.inference.emmeans(), want.inference.emmeans())


def test_responders_duckdb(trial):
    for options in (R_OPTIONS[2],):
        want = ct.responders(trial, **options)
        same_responders(ooc_responders(duckdb.from_df(trial.data), trial.arms, trial.instruments, **options), want)


@pytest.mark.slow
@pytest.mark.parametrize("options", R_OPTIONS)
def test_responders_options(trial, tmp_path, options):
    want = ct.responders(trial, **options)
    for rel in engines(trial, tmp_path).values():
        same_responders(ooc_responders(rel, trial.arms, trial.instruments, **options), want)


def test_responders_dask(trial):
    options = R_OPTIONS[1]
    want = ct.responders(trial, **options)
    same_responders(ooc_responders(engines(trial)["dask"], trial.arms, trial.instruments, **options), want)


def test_responders_messy(messy):
    """Baselines of 0 with a relative threshold, missing baselines excluded, an empty arm."""
    options = {"outcome": "pain", "visit": 12, "threshold": 0.5, "relative": True, "missing": "exclude"}
    want = ct.responders(messy, **options)
    assert want.by_arm["zero_baseline"].sum() > 0 and want.by_arm["no_baseline"].sum() > 0
    for rel in engines(messy).values():
        got = ooc_responders(rel, messy.arms, messy.instruments, **options)
        same_numbers(got.by_arm, want.by_arm)
        same_numbers(got.contrasts, want.contrasts)
    with pytest.raises(DataError, match="6 subjects have no baseline") as err:
        ooc_responders(duckdb.from_df(messy.data), messy.arms, messy.instruments, "pain", 12, threshold=2)
    assert "S0" not in str(err.value)  # counts, never identifiers


S_OPTIONS = [{}, {"horizon": 15, "reference": "physio", "adjust": "bonferroni", "alpha": 0.1}]
S_TABLES = ("by_arm", "logrank", "rmst", "rmst_contrasts", "rmst_ratios", "km_curves")


def same_survival(got, want) -> None:
    for name in S_TABLES:
        same_numbers(getattr(got, name), getattr(want, name))
    assert got.fitted.n_per_arm == want.fitted.n_per_arm
    assert got.fitted.extra["events"] == want.fitted.extra["events"]
    assert got.contrasts[["first", "second", "contrast"]].equals(want.contrasts[["first", "second", "contrast"]])
    assert got.contrasts["estimate"].isna().all() and got.inference is None


def test_survival_duckdb(trial):
    want = ct.survival(trial, **S_OPTIONS[1])
    same_survival(ooc_survival(duckdb.from_df(trial.data), trial.arms, trial.instruments, **S_OPTIONS[1]), want)


@pytest.mark.slow
@pytest.mark.parametrize("options", S_OPTIONS)
def test_survival_options(trial, tmp_path, options):
    want = ct.survival(trial, **options)
    for rel in engines(trial, tmp_path).values():
        same_survival(ooc_survival(rel, trial.arms, trial.instruments, **options), want)


def test_survival_messy(messy):
    """Subjects without follow-up, an arm without subjects; DuckDB and Dask."""
    want = ct.survival(messy)
    for rel in engines(messy).values():
        got = ooc_survival(rel, messy.arms, messy.instruments)
        same_survival(got, want)
        assert any("without follow-up" in t and "excluded" in t for t in got.notes)


def test_survival_stratified_logrank(messy):
    """strata=: the stratified log-rank test; subjects without a stratum value (sex missing) excluded from every
    table; a visit-varying column (pain) stratifies by its baseline value."""
    for strata in (["sex", "site"], "pain"):
        want = ct.survival(messy, strata=strata)
        for rel in engines(messy).values():
            got = ooc_survival(rel, messy.arms, messy.instruments, strata=strata)
            same_survival(got, want)
    assert any("without a value of the strata (sex, site), excluded" in t
               for t in ooc_survival(duckdb.from_df(messy.data), messy.arms, messy.instruments,
                                     strata=["sex", "site"]).notes)


def test_logrank_from_counts_equals_survdiff():
    """Against statsmodels' survdiff on the rows, with ties and four groups."""
    from statsmodels.duration.survfunc import survdiff

    rng = np.random.default_rng(8)
    n = 300
    t = np.round(rng.exponential(5, n), 0) + 1
    e = (rng.random(n) < 0.7).astype(float)
    g = rng.choice(["d", "a", "c", "b"], n)
    frame = pd.DataFrame({"group": g, "time": t, "event": e})
    counts = frame.groupby(["group", "time"]).agg(n_events=("event", "sum"), n_all=("event", "size")).reset_index()
    chisq, p = logrank_from_counts(counts, ["d", "a", "c", "b"])
    want = survdiff(t, e, g)
    assert chisq == pytest.approx(want[0], rel=RTOL) and p == pytest.approx(want[1], rel=RTOL)
    stratum = np.where(rng.random(n) < 0.4, "x", "y")
    frame["stratum"] = stratum
    counts = frame.groupby(["stratum", "group", "time"]).agg(n_events=("event", "sum"),
                                                             n_all=("event", "size")).reset_index()
    chisq, p = logrank_from_counts(counts, ["d", "a", "c", "b"])
    want = survdiff(t, e, g, strata=stratum)
    assert chisq == pytest.approx(want[0], rel=RTOL) and p == pytest.approx(want[1], rel=RTOL)


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
def test_refusals_and_checks(trial):
    rel = duckdb.from_df(trial.data)
    with pytest.raises(DataError, match="need every"):
        ooc_responders(rel, trial.arms, trial.instruments, "pain", 12, threshold=2, covariates=["age"])
    with pytest.raises(DataError, match="needs the rows"):
        ooc_survival(rel, trial.arms, trial.instruments, covariates=["age"])
    with pytest.raises(DataError, match="not in arms"):
        ooc_table_one(rel, ["physio", "combined"], trial.instruments)
    with pytest.raises(DataError, match="DuckDBPyRelation"):
        ooc_table_one(trial.data, trial.arms, trial.instruments)
    with pytest.raises(DataError, match="visit 5 is not in this trial"):
        ooc_responders(rel, trial.arms, trial.instruments, "pain", 5, threshold=2)
    bad = trial.data.copy()
    bad.loc[bad.index[:3], "recovery_time"] = -1.0
    with pytest.raises(DataError, match="negative"):
        ooc_survival(duckdb.from_df(bad), trial.arms, trial.instruments)
    vary = trial.data.copy()
    first = vary.index[vary["subject"] == vary["subject"].iloc[0]]
    vary.loc[first[1:], "recovered"] = 1.0 - vary.loc[first[0], "recovered"]
    for rel in (duckdb.from_df(vary), dd.from_pandas(vary, npartitions=2)):
        with pytest.raises(DataError, match="1 subject\\(s\\) with different values"):
            ooc_survival(rel, trial.arms, trial.instruments)


# --------------------------------------------------------------------------------------------
# Dask on a cluster
# --------------------------------------------------------------------------------------------
def on_cluster(trial: ct.Trial, processes: bool, everything: bool = True) -> None:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                                  processes=processes) as cluster, distributed.Client(cluster):
        ddf = dd.from_pandas(trial.data, npartitions=4)
        same_table_one(ooc_table_one(ddf, trial.arms, trial.instruments, **T1_OPTIONS[1]),
                       ct.table_one(trial, **T1_OPTIONS[1]))
        if not everything:
            return
        same_responders(ooc_responders(ddf, trial.arms, trial.instruments, **R_OPTIONS[0]),
                        ct.responders(trial, **R_OPTIONS[0]))
        same_survival(ooc_survival(ddf, trial.arms, trial.instruments), ct.survival(trial))


def test_dask_local_cluster(trial):
    """The distributed scheduler and its shuffle, two workers (threads: quick to start); Table 1 only (all three
    analyses on worker processes: the slow test below)."""
    on_cluster(trial, processes=False, everything=False)


@pytest.mark.slow
def test_dask_local_cluster_processes(trial):
    """Two worker processes (the per-partition functions and their arguments travel by pickle); all three."""
    on_cluster(trial, processes=True)
