"""Notebooks and `combotherapy reproduce`: every notebook runs from a fresh kernel, results match the manifest."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from conftest import REPO

from combotherapy import cli
from combotherapy import reproduce as rep


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
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


def test_lock_file_pins_the_versions_that_made_the_results():
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", (REPO / rep.LOCK).read_text(), flags=re.M))
    assert pins["numpy"] == "2.4.6" and pins["matplotlib"] == "3.11.2" and pins["pandas"] == "3.1.1"


def _fake_repository(folder):
    """A folder that looks like a repository (notebooks/ and data/sample/) but is not the package's own."""
    (folder / "notebooks").mkdir(parents=True)
    (folder / "data" / "sample").mkdir(parents=True)
    for name in rep.NOTEBOOKS:
        (folder / "notebooks" / name).write_text("{}")
    return folder


def test_repository_is_found_from_the_package_never_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(_fake_repository(tmp_path / "foreign"))
    assert rep.repo_root() == REPO  # the checkout this package runs from, not the foreign folder


def test_installed_without_a_repository_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(_fake_repository(tmp_path / "foreign"))
    fake = tmp_path / "site-packages" / "combotherapy" / "reproduce.py"
    monkeypatch.setattr(rep, "__file__", str(fake))
    with pytest.raises(rep.NotebookError, match="--notebooks FOLDER"):
        rep.repo_root()


def test_missing_dataset_is_named_before_anything_runs(tmp_path, monkeypatch):
    root = _fake_repository(tmp_path / "repo")  # a named folder: its data/sample is empty
    monkeypatch.setattr(rep, "run_notebook", lambda *a, **k: pytest.fail("a notebook ran"))
    with pytest.raises(rep.NotebookError, match="three_arm.csv is missing"):
        rep.reproduce(tmp_path / "out", quiet=True, root=root)
    assert not (tmp_path / "out").exists()  # nothing started


@pytest.fixture
def fake_run(monkeypatch):
    """run_notebook replaced by one that writes a small output, so folder rules are tested in a second."""
    ran = []

    def run(path, parameters, timeout=900):
        ran.append(path.name)
        out = rep.Path(parameters["out_dir"])
        out.mkdir(parents=True, exist_ok=True)
        (out / "table.md").write_text(path.name)

    monkeypatch.setattr(rep, "run_notebook", run)
    return ran


def test_named_repository_folder_runs_its_own_notebooks(tmp_path, fake_run):
    root = _fake_repository(tmp_path / "repo")
    for rel in {t for t in rep.NOTEBOOKS.values() if "{" not in t}:
        (root / rel).write_text("subject,arm\n")
    manifest = rep.reproduce(tmp_path / "out", quiet=True, root=root)
    assert fake_run == list(rep.NOTEBOOKS) and manifest.is_file()
    # a second run regenerates its own results folder: not an overwrite that needs --force
    rep.reproduce(tmp_path / "out", quiet=True, root=root)


def test_reproduce_refuses_a_foreign_folder_unless_forced(tmp_path, fake_run, capsys):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.docx").write_text("precious")
    with pytest.raises(rep.OutputError, match="--force"):
        rep.reproduce(out, quiet=True, root=REPO)
    assert fake_run == []
    assert cli.main(["reproduce", "--out", str(out), "--quiet"]) == 1
    assert "--force" in capsys.readouterr().err and fake_run == []
    assert cli.main(["reproduce", "--out", str(out), "--quiet", "--force"]) == 0
    assert (out / "chapter1.docx").read_text() == "precious" and (out / rep.MANIFEST).is_file()


def test_reproduce_never_writes_into_the_notebooks_folder(tmp_path, fake_run):
    with pytest.raises(rep.OutputError, match="input"):
        rep.reproduce(REPO / "notebooks", quiet=True, root=REPO, force=True)
    assert fake_run == []


def test_default_output_is_the_repositorys_results_wherever_the_command_starts(tmp_path, monkeypatch):
    root = _fake_repository(tmp_path / "repo")
    for rel in {t for t in rep.NOTEBOOKS.values() if "{" not in t}:
        (root / rel).write_text("subject,arm\n")
    written = []
    monkeypatch.setattr(rep, "run_notebook", lambda path, parameters, timeout=900: written.append(
        parameters["out_dir"]))
    monkeypatch.chdir(tmp_path)
    manifest = rep.reproduce(quiet=True, root=root)
    assert manifest == root / "results" / rep.MANIFEST and not (tmp_path / "results").exists()
    assert all(rep.Path(w).parent == root / "results" for w in written)


def test_notebook_runs_over_local_sockets_without_kernel_warnings(tmp_path, capfd):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("out_dir = 'nowhere'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import pathlib\npathlib.Path(out_dir).mkdir()\n"
                                  "(pathlib.Path(out_dir) / 'x.md').write_text('ok')"),
    ])
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    rep.run_notebook(path, {"out_dir": str(tmp_path / "out")}, timeout=120)
    assert (tmp_path / "out" / "x.md").read_text() == "ok"
    assert "without encryption" not in capfd.readouterr().err


def test_failing_notebook_names_its_cell(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0")])
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(rep.NotebookError, match="bad.ipynb failed in cell 2: ZeroDivisionError"):
        rep.run_notebook(path, {}, timeout=120)
