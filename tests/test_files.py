"""files: outputs are written whole or not at all, with ordinary permissions."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from combotherapy import export
from combotherapy.files import atomic_write, write_text, write_with


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
