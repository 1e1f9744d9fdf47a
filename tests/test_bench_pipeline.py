"""The pipeline benchmark (benchmarks/bench_pipeline.py) kept runnable: its data generation and its step functions
on a tiny generated trial (no timing asserted), and its peers checked to fit the same rows and model as the package."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bp():
    spec = importlib.util.spec_from_file_location("bench_pipeline", ROOT / "benchmarks" / "bench_pipeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(bp, tmp_path_factory):
    """90 subjects generated in 2 chunks of 45 (spawned seeds), written as parts, one Parquet file and one CSV."""
    data = tmp_path_factory.mktemp("bench-data")
    old = bp.DATA, bp.CHUNK
    bp.DATA, bp.CHUNK = data, 45
    try:
        folder = bp.dataset(90, 5, verbose=False)
    finally:
        bp.DATA, bp.CHUNK = old
    return folder


def test_generated_data(bp, generated):
    parts = sorted((generated / "parts").glob("part-*.parquet"))
    assert len(parts) == 2
    frame = pd.read_parquet(generated / "data.parquet")
    csv = pd.read_csv(generated / "data.csv", engine="pyarrow")
    assert len(frame) == len(csv) == 90 * 5
    assert frame["subject"].nunique() == 90                          # renumbered across chunks
    assert frame.groupby("subject").size().eq(5).all()
    assert sorted(frame["visit"].unique()) == list(bp.VISITS)
    per_arm = frame.drop_duplicates("subject")["arm"].value_counts().to_dict()
    assert per_arm == {"physio": 30, "acupuncture": 30, "combined": 30}
    chunks = [pd.read_parquet(p)["pain"].to_numpy() for p in parts]   # spawned seeds: chunks differ
    assert not np.allclose(chunks[0], chunks[1], equal_nan=True)
    np.testing.assert_array_equal(csv["pain"].to_numpy(float), frame["pain"].to_numpy(float))
    assert json.loads((generated / "done.json").read_text())["rows"] == 450


def test_load_step_and_analysis_steps(bp, generated, tmp_path):
    pkl = tmp_path / "trial.pkl"
    out = bp.run_step("load_parquet", 90, generated, pkl)
    assert out["rows"] == 450 and out["frame_bytes"] > 0 and out["ct_seconds"] > 0 and out["peer_seconds"] > 0
    trial = bp._load_trial(pkl)
    assert len(trial.subjects) == 90
    assert bp.ct_step("mmrm", trial) is not None
    # the in-process peers fit the same rows and model: combined - physio agrees with the package
    ancova = bp.peer_ancova(trial.data)
    assert bp._combined_vs_physio(bp.ct_step("ancova", trial)) == pytest.approx(float(ancova.params[2]), rel=1e-9)
    nb = bp.peer_count_model(trial.data)
    assert bp._combined_vs_physio(bp.ct_step("count_model", trial)) == pytest.approx(float(nb.params[2]), abs=1e-4)
    med = ct.mediation(trial, n_sims=100, seed=0)
    assert sum(med.fitted.n_per_arm.values()) == len(bp._mediation_rows(trial.data))
    # tableone is asked for ct.table_one's variables, with the same ones shown as median [Q1, Q3]
    v = bp.ct_step("table_one", trial).variables
    assert list(v["variable"]) == bp.TABLE_ONE_VARIABLES
    assert set(bp._nonnormal(trial)) == set(v.loc[v["display"] == "median", "variable"])


def test_judge_and_table(bp):
    results = [
        {"step": "load_csv", "size": 10, "ct_seconds": 2.0, "peer_seconds": 1.0, "ct_peak": 30, "peer_peak": 5,
         "frame_bytes": 20},
        {"step": "load_csv", "size": 100, "ct_seconds": 30.0, "peer_seconds": 10.0, "ct_peak": 50, "peer_peak": 5,
         "frame_bytes": 20},
        {"step": "claims_report", "size": 100, "ct_seconds": 200.0, "ct_peak": 1},
        {"step": "mmrm", "size": 100, "error": "boom"},
    ]
    growth = bp.judge(results)
    assert results[0]["ratio"] == 2.0 and results[0]["pass"] is True
    assert results[1]["pass"] is False and results[1]["memory_ratio"] == 2.5 and results[1]["memory_pass"]
    assert results[2]["peer_seconds"] == 30.0 and results[2]["ratio"] == pytest.approx(200 / 30)
    assert growth == [{"step": "load_csv", "from": 10, "to": 100, "growth": 15.0, "target": 12.0, "pass": False}]
    text = bp.table(results, growth)
    assert "FAIL" in text and "error: boom" in text and "10 -> 100" in text


def test_duckdb_section_reports_cleanly(bp, generated, monkeypatch):
    monkeypatch.setattr(bp, "generate", lambda n, seed, **kw: generated)
    monkeypatch.setattr(bp, "DATA", generated)
    d = bp.duckdb_section(90, 5, subset=90)
    assert d["subjects"] == 90
    text = bp.duckdb_text(d)
    assert "DuckDB path" in text
    assert d.get("available") in (True, False) and "error" not in d, text


def test_chunk_ids_are_global_and_the_rows_are_simulate_trials(bp):
    ss = np.random.SeedSequence(4).spawn(2)[1]
    frame = bp._simulate_chunk(31, 1000, ss)
    trial = ct.simulate_trial(arms=bp.ARMS, n_per_arm={"physio": 11, "acupuncture": 10, "combined": 10},
                              visits=bp.VISITS, seed=None, rng=np.random.default_rng(ss)).data
    # the k-th subject of the chunk is S<offset + k>, 9 digits, formatted independently here
    k = pd.factorize(trial["subject"])[0]
    assert frame["subject"].tolist() == [f"S{1000 + i + 1:09d}" for i in k]
    assert frame["arm"].tolist() == trial["arm"].astype(str).tolist()
    pd.testing.assert_frame_equal(frame.drop(columns=["subject", "arm"]), trial.drop(columns=["subject", "arm"]))


def test_generate_only_parts_and_the_cache(bp, tmp_path, monkeypatch):
    monkeypatch.setattr(bp, "DATA", tmp_path)
    monkeypatch.setattr(bp, "CHUNK", 20)
    bp.main(["--generate-here", "50", "--parts-only", "--seed", "3"])     # what generate()'s subprocess runs
    folder = tmp_path / "n50_seed3"
    assert len(list((folder / "parts").glob("part-*.parquet"))) == 3
    assert not (folder / "data.csv").exists()
    assert json.loads((folder / "done-parts.json").read_text())["rows"] == 250
    # a cached generation is returned as it is: no subprocess
    monkeypatch.setattr(bp.subprocess, "run", lambda *a, **k: pytest.fail("regenerated a cached dataset"))
    assert bp.generate(50, 3, csv=False) == folder
