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


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the identifier guard's recall and false-positive rate on the labelled corpus (test_privacy_corpus)."""
    import sys

    module = sys.modules.get("test_privacy_corpus")
    results = getattr(module, "RESULTS", None)
    if not results:
        return
    terminalreporter.section("identifier guard on the labelled corpus")
    terminalreporter.write_line(
        f"recall {results['recall']:.1%} of {results['n_identifiers']} identifier columns; "
        f"false-positive rate {results['fpr']:.1%} of {results['n_legitimate']} legitimate columns")
    for group, rate in sorted(results["recall_by_group"].items()):
        terminalreporter.write_line(f"  recall {rate:6.1%}  {group}")
    for header, kind in results["missed"]:
        terminalreporter.write_line(f"  missed: {header!r} ({kind})")
    for header, kind in results["false_positives"]:
        terminalreporter.write_line(f"  false positive: {header!r} ({kind})")
