"""Shared test fixtures. Paths are relative to the repository, never machine-specific."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # tests never open windows; the library itself never picks a backend

REPO = Path(__file__).resolve().parents[1]
# the public datasets live in shared/ beside the checkout (also in CI, which copies shared/ beside the clone)
SHARED = Path(os.environ.get("COMBOTHERAPY_SHARED", REPO.parent / "shared"))
DATASETS = SHARED / "datasets"
REFERENCE = REPO / "tests" / "reference"
SAMPLE = REPO / "data" / "sample"


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"public datasets not found at {DATASETS} (set COMBOTHERAPY_SHARED)")
    return DATASETS
