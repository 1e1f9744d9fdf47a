"""The out-of-core path (combotherapy.scale): a LazyTrial on DuckDB and on Dask gives the in-memory numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.errors import DataError, IdentifierError, ModelError

duckdb = pytest.importorskip("duckdb")

TABLES = ("coefficients", "by_arm", "contrasts")


def _messy() -> tuple[ct.Trial, pd.DataFrame]:
    """Unbalanced arms, dropout, a missing baseline and a missing covariate, a factor (site) and a numeric (age)."""
    trial = ct.simulate_trial(n_per_arm={"physio": 45, "acupuncture": 30, "combined": 38}, seed=11)
    d = trial.data
    d["arm"] = d["arm"].astype(str)
    subjects = d["subject"].unique()
    d = d[~((d["subject"] == subjects[3]) & (d["visit"] == 0))]          # no baseline row
    d.loc[d["subject"] == subjects[7], "age"] = np.nan                    # covariate missing
    d = d.reset_index(drop=True)
    return ct.load(d), d


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    trial, frame = _messy()
    folder = tmp_path_factory.mktemp("visits")
    for i, part in enumerate(np.array_split(np.arange(len(frame)), 3)):   # a folder of three Parquet files
        frame.iloc[part].to_parquet(folder / f"part{i}.parquet")
    return trial, frame, folder


@pytest.fixture(scope="module")
def lazy(data):
    return ct.load(data[2], backend="duckdb")


def _same(a, b, tables=TABLES):
    for name in tables:
        x, y = getattr(a, name), getattr(b, name)
        assert len(x) == len(y)
        for col in ("estimate", "se", "df", "den_df", "statistic"):
            if col in x.columns:
                np.testing.assert_allclose(y[col].to_numpy(float), x[col].to_numpy(float), rtol=1e-10, atol=0,
                                           err_msg=f"{name}.{col}")
        if "p" in x.columns:
            np.testing.assert_allclose(y["p"].to_numpy(float), x["p"].to_numpy(float), rtol=0, atol=1e-10)


def test_lazy_face_matches_trial(data, lazy):
    trial = data[0]
    assert isinstance(lazy, ct.LazyTrial) and lazy.backend == "duckdb"
    assert lazy.arms == trial.arms and lazy.visits == trial.visits
    assert lazy.outcomes == trial.outcomes and lazy.covariates == trial.covariates
    assert lazy.subject_columns == trial.subject_columns
    assert lazy.n_subjects == trial.n_subjects and lazy.n_rows == len(trial.data)
    assert set(lazy.relation.columns) == set(trial.data.columns)
    collected = lazy.collect()
    pd.testing.assert_frame_equal(collected.data[trial.data.columns].drop(columns="arm"),
                                  trial.data.sort_values(["subject", "visit"]).reset_index(drop=True).drop(columns="arm"),
                                  check_dtype=False)


@pytest.mark.parametrize("covariates", [["age"], ["C(site)", "sex", "pain_duration"]])
def test_ancova_duckdb_equals_memory(data, lazy, covariates):
    trial = data[0]
    mem = ct.ancova(trial, "pain", 12, covariates=covariates, missing_baseline="exclude")
    out = ct.ancova(lazy, "pain", 12, covariates=covariates, missing_baseline="exclude")
    _same(mem, out)
    assert out.fitted.n_per_arm == mem.fitted.n_per_arm
    counted = out.fitted.excluded.groupby("reason")["n"].sum().to_dict()
    assert counted == mem.fitted.excluded.groupby("reason").size().to_dict()
    with pytest.raises(ModelError, match="not in memory"):
        out.data.head()


def test_ancova_log_scale_and_errors(data, lazy):
    trial = data[0]
    _same(ct.ancova(trial, "crp", 12, scale="log", missing_baseline="exclude"),
          ct.ancova(lazy, "crp", 12, scale="log", missing_baseline="exclude"))
    with pytest.raises(DataError) as mem:
        ct.ancova(trial, "pain", 12, covariates=["age"])
    with pytest.raises(DataError) as out:
        ct.ancova(lazy, "pain", 12, covariates=["age"])
    assert str(out.value).split(":")[0] == str(mem.value).split(":")[0]   # same count and wording
    with pytest.raises(ModelError, match="needs rows"):
        ct.ancova(lazy, "pain", 12, covariates=["ns(age, df=3)"])


@pytest.mark.parametrize("options", [{"covariates": ["age", "site"]},
                                     {"covariates": ["sex", "pain_duration"], "covariance": "toeplitz",
                                      "df": "kenward-roger"}])
def test_mmrm_duckdb_equals_memory(data, lazy, options):
    mem = ct.mmrm(data[0], "pain", **options)
    out = ct.mmrm(lazy, "pain", **options)
    _same(mem, out, TABLES + ("type3",))
    assert out.fitted.n_per_arm == mem.fitted.n_per_arm
    assert abs(out.loglik - mem.loglik) <= 1e-10 * abs(mem.loglik)
    np.testing.assert_allclose(out.covariance.to_numpy(), mem.covariance.to_numpy(), rtol=1e-10)


def test_combination_test_on_lazy(data, lazy):
    mem = ct.combination_test(data[0], "pain", 12, missing_baseline="exclude")
    out = ct.combination_test(lazy, "pain", 12, missing_baseline="exclude")
    assert out.verdict == mem.verdict and abs(out.p - mem.p) <= 1e-10
    np.testing.assert_allclose(out.contrasts["p"].to_numpy(float), mem.contrasts["p"].to_numpy(float), atol=1e-10)


def test_models_needing_rows_refuse_and_offer_routes(lazy):
    # ct.survival without covariates runs out of core (KM, log-rank, RMST: tests/test_scale_dispatch.py)
    for call in (lambda: ct.survival(lazy, covariates=["age"]), lambda: ct.count_model(lazy, "analgesic_days"),
                 lambda: ct.responders(lazy, "pain", 12, threshold=2, covariates=["age"]),
                 lambda: ct.mediation(lazy)):
        with pytest.raises(ModelError) as err:
            call()
        assert err.value.kind == "needs rows"
        assert "sample(n, seed=...)" in str(err.value) and "collect()" in str(err.value)
    a, b = lazy.sample(20, seed=5), lazy.sample(20, seed=5)
    assert a.n_subjects == 20 and a.subjects["subject"].tolist() == b.subjects["subject"].tolist()
    assert lazy.sample(20, seed=6).subjects["subject"].tolist() != a.subjects["subject"].tolist()
    assert any(n.startswith("SUBSAMPLE: 20 of") for n in a.notes)
    with pytest.raises(DataError):
        lazy.sample(20, seed=None)  # type: ignore[arg-type]


def test_duckdb_table_and_validation(tmp_path, data):
    frame = data[1]
    db = tmp_path / "trial.duckdb"
    con = duckdb.connect(str(db))
    con.register("f", frame)
    con.execute("CREATE TABLE visits AS SELECT * FROM f")
    bad = frame.copy()
    bad.loc[bad.index[5], "pain"] = 14.0          # outside 0-10
    bad.loc[bad.index[9], "arm"] = "yoga"        # not an arm
    con.register("b", bad)
    con.execute("CREATE TABLE bad AS SELECT * FROM b")
    con.close()
    lazy = ct.load(db, table="visits", backend="duckdb")
    assert lazy.n_subjects == data[0].n_subjects and lazy.source == "trial.duckdb::visits"
    with pytest.raises(DataError) as err:
        ct.load(db, table="bad")
    text = str(err.value)
    assert "outside the valid range" in text and "'yoga'" in text
    with pytest.raises(DataError, match="table="):
        ct.load(db, backend="duckdb")


def test_identifier_guard_runs_on_the_sample(tmp_path, data):
    frame = data[1].copy()
    frame["email"] = frame["subject"].str.lower() + "@example.org"
    frame.to_parquet(tmp_path / "x.parquet")
    with pytest.raises(IdentifierError) as err:
        ct.load(tmp_path / "x.parquet", backend="duckdb")
    assert "email" in str(err.value) and "@example.org" not in str(err.value)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_dask_equals_memory(data, client):
    dd = pytest.importorskip("dask.dataframe")
    trial, frame, _ = data
    lazy = ct.load(dd.from_pandas(frame, npartitions=3))
    assert lazy.backend == "dask" and lazy.arms == trial.arms and lazy.subject_columns == trial.subject_columns
    _same(ct.ancova(trial, "pain", 12, covariates=["age", "site"], missing_baseline="exclude"),
          ct.ancova(lazy, "pain", 12, covariates=["age", "site"], missing_baseline="exclude"))
    _same(ct.mmrm(trial, "pain", covariates=["age", "site"]), ct.mmrm(lazy, "pain", covariates=["age", "site"]),
          TABLES + ("type3",))


def test_docstring_examples(tmp_path, monkeypatch):
    import doctest

    import combotherapy.scale.lazy as module
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted >= 5


def test_mappings_as_in_memory(tmp_path, data):
    """A messy export: renamed columns, arms coded 1/2/3, visits as labels, a missing-value code."""
    frame = data[1]
    codes = {"physio": 1, "acupuncture": 2, "combined": 3}
    raw = pd.DataFrame({"pid": frame["subject"], "group": frame["arm"].map(codes).astype("int64"),
                        "week": np.where(frame["visit"] == 0, "baseline", "Week " + frame["visit"].astype(int).astype(str)),
                        "nrs": frame["pain"].fillna(-99.0), "age": frame["age"], "site": frame["site"]})
    raw.to_parquet(tmp_path / "export.parquet")
    options = dict(columns={"subject": "pid", "arm": "group", "visit": "week", "pain": "nrs"},
                   arms={1: "physio", 2: "acupuncture", 3: "combined"}, missing={"pain": [-99]})
    mem = ct.load(raw, **options)
    lazy = ct.load(tmp_path / "export.parquet", backend="duckdb", **options)
    assert lazy.arms == mem.arms and lazy.visits == mem.visits and lazy.columns == tuple(mem.data.columns)
    got = lazy.collect().data
    want = mem.data.sort_values(["subject", "visit"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got.drop(columns="arm"), want.drop(columns="arm"), check_dtype=False)
    assert got["arm"].astype(str).tolist() == want["arm"].astype(str).tolist()
    _same(ct.ancova(mem, "pain", 12, covariates=["age", "site"], missing_baseline="exclude"),
          ct.ancova(lazy, "pain", 12, covariates=["age", "site"], missing_baseline="exclude"))
