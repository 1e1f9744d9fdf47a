"""ct.datasets: every public dataset is listed, found, loaded with one call; the wheel ships only permissive data."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest
from conftest import DATASETS, REPO

import combotherapy as ct
from combotherapy import datasets

TABLE = datasets.list()


def test_list_describes_every_dataset():
    assert list(TABLE.columns[:4]) == ["name", "description", "licence", "in_wheel"]
    assert TABLE["name"].is_unique and TABLE["available"].all()  # in the repository every file is here
    assert set(TABLE["folder"]) == {p.name for p in DATASETS.iterdir() if p.is_dir() and not p.name.startswith("_")}
    for row in TABLE.itertuples():
        assert (DATASETS / row.folder / "SOURCE.md").is_file(), row.folder
        assert row.in_wheel == (row.licence == "Apache-2.0"), row.name
    # GPL and non-commercial data stay out of the wheel
    assert not TABLE.loc[TABLE["licence"].str.contains("GPL|NC"), "in_wheel"].any()


def test_licences_match_the_source_files():
    for row in TABLE.itertuples():
        source = datasets.source(row.name)
        if row.in_wheel:
            assert "Apache License" in source, row.name
        elif "GPL" in row.licence:
            assert "GPL (>= 2)" in source, row.name
        else:
            assert "NonCommercial" in source, row.name


@pytest.mark.parametrize("name, subjects, arms, outcome", [
    ("vickers_headache", 401, ["acupuncture", "control"], "headache"),
    ("fev_data", 200, ["control", "treatment"], "fev1"),
    ("bcva_data", 1000, ["control", "treatment"], "bcva_change"),
    ("neck_pain", 90, ["control", "laser"], "vas"),
    ("antidepressant", 172, ["control", "treatment"], "hamd17_change"),
])
def test_trials_load_as_mapped_trials(name, subjects, arms, outcome):
    trial = datasets.load(name)
    assert isinstance(trial, ct.Trial) and trial.n_subjects == subjects
    assert sorted(map(str, trial.data["arm"].unique())) == arms
    assert outcome in trial.data.columns


def test_trial_shortcuts_match_load():
    assert datasets.antidepressant().data.equals(datasets.load("antidepressant").data)
    assert sorted(datasets.antidepressant().data["visit"].unique()) == [1.0, 2.0, 4.0, 6.0]  # weeks


def test_study_level_sets_load_as_published_frames():
    for row in TABLE[TABLE["kind"] == "studies"].itertuples():
        frame = datasets.load(row.name)
        raw = pd.read_csv(DATASETS / row.folder / row.file)
        assert isinstance(frame, pd.DataFrame) and frame.shape == raw.shape, row.name
    assert datasets.load("bcg")["trial"].tolist() == list(range(1, 14))


def test_path_points_into_the_package():
    assert datasets.path("vickers_headache") == DATASETS / "vickers_acupuncture_headache" / "acupuncture.csv"
    with pytest.raises(ct.DataError, match="unknown dataset 'nope'.*fev_data"):
        datasets.path("nope")


def test_absent_dataset_says_where_it_is(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "HERE", tmp_path)  # as in a wheel install, where GPL data are absent
    with pytest.raises(ct.DataError, match=r"GPL.*src/combotherapy/datasets/netmeta_Senn2013/senn2013\.csv"):
        datasets.load("senn2013")
    assert not datasets.list()["available"].any()


def test_wheel_package_data_ships_only_permissive_folders():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    shipped = {p.split("/")[0] for p in config["package-data"]["combotherapy.datasets"] if "/" in p}
    excluded = config["exclude-package-data"]["combotherapy.datasets"]
    assert shipped == set(TABLE.loc[TABLE["in_wheel"], "folder"])
    for folder in TABLE.loc[~TABLE["in_wheel"], "folder"]:
        assert any(pd.Series([folder]).str.match(p.split("/")[0].replace("*", ".*")).iloc[0] for p in excluded), folder

