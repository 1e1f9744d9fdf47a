"""Notebooks and `combotherapy reproduce`: every notebook runs from a fresh kernel, results match the manifest."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import REPO

from combotherapy import cli
from combotherapy import reproduce as rep


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory, datasets):
    """Execute every notebook once (nbclient, fresh kernel) on the bundled data; shared by the tests below."""
    out = tmp_path_factory.mktemp("results")
    rep.reproduce(out, quiet=True, root=REPO)
    return out


def test_notebooks_are_stored_without_outputs():
    for name in rep.NOTEBOOKS:
        nb = json.loads((REPO / "notebooks" / name).read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), name
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in code), name


def test_every_notebook_writes_its_outputs(regenerated):
    for name in rep.NOTEBOOKS:
        folder = regenerated / name.removesuffix(".ipynb")
        files = [f.name for f in folder.iterdir()]
        assert any(f.endswith(".md") for f in files) and any(f.endswith(".png") for f in files), (name, files)


def test_results_match_the_committed_manifest(regenerated, capsys):
    assert rep.compare(regenerated, root=REPO) == 0, capsys.readouterr().out


def test_drift_is_reported_with_lock_differences(regenerated, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(regenerated, copy)
    victim = next(p for p in sorted(copy.rglob("*.md")))
    victim.write_text(victim.read_text() + "\nchanged\n")
    (copy / rep.MANIFEST).unlink()
    rep._write_manifest(copy)
    assert rep.compare(copy, root=REPO) == 1
    out = capsys.readouterr().out
    assert f"changed: {victim.relative_to(copy).as_posix()}" in out
    assert "requirements-lock.txt" in out


def test_cli_reproduce_check(regenerated, monkeypatch, capsys):
    # the check regenerates into a temporary folder: reuse the notebooks already executed above
    monkeypatch.setattr(rep, "reproduce", lambda out, quiet=False, root=None: shutil.copytree(
        regenerated, out, dirs_exist_ok=True))
    assert cli.main(["reproduce", "--check", "--quiet"]) == 0
    assert "reproduced: all" in capsys.readouterr().out


def test_lock_file_is_installable_text():
    lines = [ln for ln in (REPO / rep.LOCK).read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines and all("==" in ln for ln in lines)
    assert any(ln.startswith("matplotlib==") for ln in lines) and any(ln.startswith("numpy==") for ln in lines)


def test_missing_public_dataset_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("COMBOTHERAPY_SHARED", str(tmp_path / "nowhere"))
    with pytest.raises(rep.NotebookError, match="COMBOTHERAPY_SHARED"):
        rep.reproduce(tmp_path / "out", quiet=True, root=REPO)
    assert not (tmp_path / "out").exists()  # nothing started
