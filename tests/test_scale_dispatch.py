"""The public functions accept a LazyTrial: ct.table_one, ct.responders and ct.survival run the aggregate path of
combotherapy.scale and give the in-memory numbers; models that need rows refuse it and name the routes."""

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    trial = ct.simulate_trial(n_per_arm={"physio": 40, "acupuncture": 25, "combined": 33}, dropout=0.25, seed=11)
    path = tmp_path_factory.mktemp("lazy") / "visits.parquet"
    trial.data.to_parquet(path)
    return trial, ct.load(path, backend="duckdb")


def _numbers(frame: pd.DataFrame) -> np.ndarray:
    return frame.select_dtypes("number").to_numpy(dtype=float)


def test_table_one_on_a_lazy_trial_is_the_in_memory_table(trials):
    trial, lazy = trials
    assert ct.table_one(lazy).table.equals(ct.table_one(trial).table)


def test_responders_on_a_lazy_trial(trials):
    trial, lazy = trials
    a, b = ct.responders(lazy, "pain", 12, threshold=2), ct.responders(trial, "pain", 12, threshold=2)
    assert a.by_arm["n"].tolist() == b.by_arm["n"].tolist()
    np.testing.assert_allclose(_numbers(a.contrasts), _numbers(b.contrasts), rtol=1e-10, atol=1e-12)


def test_survival_on_a_lazy_trial_gives_km_logrank_rmst_and_says_cox_needs_rows(trials):
    trial, lazy = trials
    a, b = ct.survival(lazy), ct.survival(trial)
    np.testing.assert_allclose(_numbers(a.by_arm), _numbers(b.by_arm), rtol=1e-10, atol=1e-12)
    assert any("Cox" in n for n in a.notes)


def test_models_that_need_rows_refuse_a_lazy_trial_and_name_the_routes(trials):
    _, lazy = trials
    with pytest.raises(ct.ModelError, match=r"collect\(\).*sample\(n, seed"):
        ct.mediation(lazy)
