"""The documentation site builds with warnings as errors (what a reader of the API reference and methods pages sees)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("sphinx", reason="the docs build needs the test extra (sphinx, myst-nb)")


def test_docs_build_without_warnings(tmp_path):
    # Build from a copy so generated pages and copied notebooks never land in the working tree.
    src = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", src, ignore=shutil.ignore_patterns("_build", "generated", "notebooks"))
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path / "CHANGELOG.md")   # docs/changelog.md includes ../CHANGELOG.md
    env = {**os.environ, "COMBOTHERAPY_ROOT": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(src),
                          str(tmp_path / "html")], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    html = tmp_path / "html"
    api = (html / "api.html").read_text(encoding="utf-8")
    for name in ("ancova", "mmrm", "load", "combination_test"):
        assert f"combotherapy.{name}" in api
    assert (html / "generated" / "combotherapy.ancova.html").exists()
    assert "Kenward" in (html / "methods" / "mmrm.html").read_text(encoding="utf-8")
    tutorials = sorted(p.name for p in (html / "tutorials" / "notebooks").glob("*.html"))
    assert len(tutorials) == len(list((ROOT / "notebooks").glob("*.ipynb"))) > 0
