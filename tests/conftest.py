"""Shared test fixtures. Paths are relative to the repository, never machine-specific."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # tests never open windows; the library itself never picks a backend

REPO = Path(__file__).resolve().parents[1]
# the public datasets ship inside the repository (src/combotherapy/datasets/<folder>/, each with SOURCE.md)
DATASETS = REPO / "src" / "combotherapy" / "datasets"
REFERENCE = REPO / "tests" / "reference"
SAMPLE = REPO / "data" / "sample"


@pytest.fixture(scope="session")
def datasets() -> Path:
    # a reference check that cannot find its data fails: a green run must mean every check ran
    if not (DATASETS / "vickers_acupuncture_headache" / "acupuncture.csv").is_file():
        pytest.fail(f"the public datasets are missing from {DATASETS} (they are part of the repository)")
    return DATASETS
