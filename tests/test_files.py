"""files: outputs are written whole or not at all, with ordinary permissions, never over an input file, and
over a file the package did not write only when forced."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from combotherapy import cli, export
from combotherapy.files import (
    OUTPUTS_RECORD,
    OutputError,
    atomic_write,
    check_output,
    check_output_folder,
    command_output,
    write_text,
    write_with,
    written_by_package,
)


def test_write_is_atomic_on_error(tmp_path):
    target = tmp_path / "out.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary file left behind


def test_writer_failure_leaves_nothing(tmp_path):
    def failing(path):
        open(path, "w").write("partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_with(tmp_path / "fig.png", failing)
    assert list(tmp_path.iterdir()) == []


def test_permissions_follow_umask(tmp_path):
    path = write_text(tmp_path / "a" / "b.md", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_table_exports(tmp_path):
    df = pd.DataFrame({"arm": ["physio", "combined"], "estimate": [1.23456, -0.5], "p": [0.0001234, 0.5]})
    md = export.to_markdown(df)
    assert md.splitlines()[0] == "| arm | estimate | p |" and "| combined | -0.5 | 0.5 |" in md
    assert "<td>physio</td>" in export.to_html(df)
    assert r"\begin{tabular}{lll}" in export.to_latex(df)
    export.export_table(df, tmp_path / "t.csv")
    assert pd.read_csv(tmp_path / "t.csv")["estimate"].tolist() == [1.23456, -0.5]
    with pytest.raises(ValueError, match="unknown table format"):
        export.export_table(df, tmp_path / "t.xls")


# --- the output guard (files.command_output), alone and through every command's --out ------------------------------


def test_input_file_is_never_an_output_even_forced(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("subject,arm\n")
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    hard = tmp_path / "hard.csv"
    os.link(data, hard)
    for target in (data, link, hard, tmp_path / "." / "data.csv"):
        with pytest.raises(OutputError, match="input"):
            check_output(target, inputs=[data], force=True)
    assert data.read_text() == "subject,arm\n"


def test_foreign_file_needs_force_and_own_file_does_not(tmp_path):
    mine, theirs = tmp_path / "mine.md", tmp_path / "theirs.md"
    theirs.write_text("a user's notes")
    with pytest.raises(OutputError, match="--force"):
        check_output(theirs)
    assert check_output(theirs, force=True) == theirs
    with command_output(mine) as out:
        write_text(out, "v1")
    assert written_by_package(mine) and (tmp_path / OUTPUTS_RECORD).is_file()
    with command_output(mine) as out:  # the package's own output: replaced without asking
        write_text(out, "v2")
    mine.write_text("edited by hand")  # once edited, it is the user's file
    with pytest.raises(OutputError, match="--force"):
        check_output(mine)


def test_files_of_a_reproduce_manifest_count_as_the_packages(tmp_path):
    (tmp_path / "01").mkdir()
    fig = tmp_path / "01" / "table.md"
    fig.write_text("x")
    import hashlib

    digest = hashlib.sha256(b"x").hexdigest()
    (tmp_path / "MANIFEST.sha256").write_text(f"{digest}  01/table.md\n")
    assert written_by_package(fig) and check_output(fig) == fig


def test_folder_is_not_an_output_file(tmp_path):
    with pytest.raises(OutputError, match="folder"):
        check_output(tmp_path, force=True)


def test_output_folder_rules(tmp_path):
    assert check_output_folder(tmp_path / "new") == tmp_path / "new"  # absent
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "thesis.docx").write_text("x")
    with pytest.raises(OutputError, match="--force"):
        check_output_folder(tmp_path / "foreign")
    assert check_output_folder(tmp_path / "foreign", force=True)
    (tmp_path / "foreign" / "MANIFEST.sha256").write_text("")
    assert check_output_folder(tmp_path / "foreign")  # an earlier run's results folder
    (tmp_path / "repo" / "notebooks").mkdir(parents=True)
    with pytest.raises(OutputError, match="input"):
        check_output_folder(tmp_path / "repo", inputs=[tmp_path / "repo" / "notebooks"], force=True)


@pytest.fixture(scope="module")
def small_trial(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "base.csv"
    assert cli.main(["simulate", "--out", str(path), "--n", "10", "--seed", "3"]) == 0
    return path


@pytest.mark.parametrize("command", [["report"], ["table1"]])
def test_cli_refuses_to_write_over_its_input(command, small_trial, capsys):
    before = small_trial.read_bytes()
    extra = ["--outcome", "pain"] if command == ["report"] else []
    for force in ([], ["--force"]):
        assert cli.main([*command, str(small_trial), "--out", str(small_trial), *extra, *force]) == 1
        assert "input" in capsys.readouterr().err
    assert small_trial.read_bytes() == before


def test_cli_mapping_file_is_an_input_too(small_trial, tmp_path, capsys):
    mapping = tmp_path / "m.json"
    mapping.write_text("{}")
    assert cli.main(["table1", str(small_trial), "--mapping", str(mapping), "--out", str(mapping)]) == 1
    assert mapping.read_text() == "{}" and "input" in capsys.readouterr().err


def test_cli_asks_for_force_before_replacing_a_foreign_file(small_trial, tmp_path, capsys):
    target = tmp_path / "t1.md"
    target.write_text("someone's table")
    assert cli.main(["table1", str(small_trial), "--out", str(target)]) == 1
    assert "--force" in capsys.readouterr().err and target.read_text() == "someone's table"
    assert cli.main(["table1", str(small_trial), "--out", str(target), "--force"]) == 0
    assert target.read_text().startswith("**Table 1")
    assert cli.main(["table1", str(small_trial), "--out", str(target)]) == 0  # now its own: no --force needed


def test_cli_simulate_replaces_its_own_file_but_not_a_foreign_one(tmp_path, capsys):
    out = tmp_path / "sim.csv"
    assert cli.main(["simulate", "--out", str(out), "--n", "3", "--seed", "1"]) == 0
    assert cli.main(["simulate", "--out", str(out), "--n", "3", "--seed", "2"]) == 0
    other = tmp_path / "other.csv"
    other.write_text("precious")
    assert cli.main(["simulate", "--out", str(other), "--n", "3"]) == 1
    assert other.read_text() == "precious" and "--force" in capsys.readouterr().err
