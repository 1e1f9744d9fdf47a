"""src/ type-checks with mypy at the strictness stated in pyproject.toml ([tool.mypy]) and CONTRIBUTING.md."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("mypy", reason="mypy is in the test extra")


def test_package_ships_its_type_information():
    assert (ROOT / "src" / "combotherapy" / "py.typed").exists()


def test_mypy_passes_on_src():
    run = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "src/combotherapy"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
