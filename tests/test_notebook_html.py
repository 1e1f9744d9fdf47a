"""Executed notebooks as HTML pages (``combotherapy reproduce`` writes one per notebook): same bytes every run,
the prose and the figures are on the page, nothing of the machine or the run leaks into it."""

from __future__ import annotations

import base64
import json
import re

import pytest
from conftest import REPO

from combotherapy import notebook_html as nh
from combotherapy import reproduce as rep

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def _tiny(tmp_path):
    """A two-figure notebook with prose, a parameters cell, a table and printed text."""
    v4 = nbformat.v4
    nb = v4.new_notebook()
    nb.cells = [
        v4.new_markdown_cell("# A tiny notebook\n\nIt asks **one** question; read the `estimate` column.\n\n"
                             "- first point\n  continued\n- second <script>alert(1)</script>"),
        v4.new_code_cell('data_path = "x.csv"\nout_dir = "out"', metadata={"tags": ["parameters"]}),
        v4.new_code_cell("%matplotlib inline\nfrom matplotlib.figure import Figure\n"
                         "fig = Figure(figsize=(2, 1.5)); fig.add_subplot().plot([0, 1], [1, 0]); fig"),
        v4.new_code_cell("import pandas as pd\nprint(out_dir)\npd.DataFrame({'estimate': [1.5, -0.25]})"),
    ]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def _page(tmp_path, out_name):
    path = _tiny(tmp_path)
    out = tmp_path / out_name
    nb = rep.run_notebook(path, {"data_path": str(tmp_path / "x.csv"), "out_dir": str(out / "tiny")}, timeout=120)
    target = rep.write_html(nb, out / "tiny" / "tiny.html", root=tmp_path, out=out)
    return target.read_bytes()


def test_a_notebook_rendered_twice_gives_the_same_bytes_with_prose_and_figure(tmp_path):
    # two runs, two different output folders: the page must not name either
    first, second = _page(tmp_path, "results"), _page(tmp_path, "elsewhere")
    assert first == second
    page = first.decode("utf-8")
    assert "<h1>A tiny notebook</h1>" in page
    assert "It asks <strong>one</strong> question; read the <code>estimate</code> column." in page
    assert "<li>first point continued</li>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page  # markdown's raw HTML is shown, never run
    # the figure is an inline PNG whose bytes decode to a PNG with no "Software" stamp
    pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(pngs) == 1
    png = base64.b64decode(pngs[0])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and b"Software" not in png
    assert "&lt;Figure size" not in page  # the figure is drawn, not described
    # the DataFrame's HTML table, the printed output folder shown relative, no machine path anywhere
    assert "<table" in page and "-0.25" in page
    assert "../results/tiny" in page and str(tmp_path) not in page
    # reproduce's hidden set-up cell and execution counts are not on the page
    assert "InlineBackend" not in page and "execution_count" not in page


def test_markdown_subset_is_escaped_and_links_are_filtered():
    html = nh.markdown_to_html("See [the docs](https://example.org) and [bad](javascript:alert(1)).\n\n"
                               "| a | b |\n|---|---|\n| 1 | `x<y` |\n\n1. one\n2. two\n\n```\n<b>raw</b>\n```")
    assert '<a href="https://example.org">the docs</a>' in html
    assert "javascript" not in html.split("<a ")[-1].split(">")[0] and 'href="javascript' not in html
    assert "<table>" in html and "<td><code>x&lt;y</code></td>" in html
    assert "<ol>\n<li>one</li>\n<li>two</li>\n</ol>" in html
    assert "<pre><code>&lt;b&gt;raw&lt;/b&gt;</code></pre>" in html


def test_every_notebook_turns_on_inline_figures():
    """Figures are Figure objects made without pyplot: Jupyter draws them only once the inline backend is on."""
    for name in rep.NOTEBOOKS:
        nb = json.loads((REPO / "notebooks" / name).read_text(encoding="utf-8"))
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        assert "%matplotlib inline" in code, name


def test_the_kernel_is_shut_down_when_its_notebook_is_done(tmp_path):
    """nbclient stops only kernels it started; reproduce passes its own manager, so it must stop the kernel itself
    (before, ten idle kernels held their notebooks' data until reproduce exited, then warned 'Parent appears to
    have exited')."""
    import os
    import time

    if os.name == "nt":
        pytest.skip("os.kill(pid, 0) terminates the process on Windows")
    v4 = nbformat.v4
    path = tmp_path / "pid.ipynb"
    nbformat.write(v4.new_notebook(cells=[v4.new_code_cell("import os\nprint(os.getpid())")]), path)
    nb = rep.run_notebook(path, {}, timeout=120)
    pid = int(nb.cells[-1].outputs[0]["text"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the kernel (pid {pid}) is still running after run_notebook returned")


def test_every_figure_is_the_value_of_its_cell():
    """Jupyter draws only a cell's last value: a figure made earlier in a cell is saved but never shown."""
    for name in rep.NOTEBOOKS:
        nb = json.loads((REPO / "notebooks" / name).read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            lines = [line for line in "".join(cell["source"]).splitlines() if line.strip()]
            if cell["cell_type"] == "code" and any(line.startswith("figure(") for line in lines):
                assert lines[-1].startswith("figure("), (name, lines[-1])


def test_hidden_cells_metadata_and_counts_stay_off_the_page():
    nb = {"cells": [
        {"cell_type": "code", "source": "secret_setup()", "metadata": {"tags": ["hide-in-html"]}, "outputs": []},
        {"cell_type": "code", "source": "x", "execution_count": 7, "metadata": {"collapsed": True},
         "outputs": [{"output_type": "execute_result", "execution_count": 7, "metadata": {"isolated": True},
                      "data": {"text/plain": "\x1b[31mred\x1b[0m"}}]}]}
    page = nh.render(nb, title="t")
    assert "secret_setup" not in page and "collapsed" not in page and "isolated" not in page
    assert "[7]" not in page and "<pre>red</pre>" in page  # no execution count; ANSI colours stripped


def test_library_figures_display_inline_without_the_magic(tmp_path):
    """A user's own notebook shows ct.plot figures as images with no `%matplotlib inline` (library figures are made
    without pyplot, so nothing registered a display for them: the cell showed `<Figure size ...>`)."""
    v4 = nbformat.v4
    path = tmp_path / "own.ipynb"
    nbformat.write(v4.new_notebook(cells=[v4.new_code_cell(
        "import combotherapy as ct\ntrial = ct.simulate_trial(n_per_arm=15, seed=3)\n"
        "ct.plot.waterfall(trial, 'pain', 12)")]), path)
    nb = rep.run_notebook(path, {}, timeout=120)
    outputs = nb.cells[-1].outputs
    assert any("image/png" in o.get("data", {}) for o in outputs), outputs


def test_printed_text_is_one_block_however_the_kernel_cut_it():
    # a kernel sends printed text in as many stream messages as its timing makes: the page must not depend on it
    def page(chunks):
        outputs = [{"output_type": "stream", "name": "stdout", "text": c} for c in chunks]
        outputs.append({"output_type": "stream", "name": "stderr", "text": "warning\n"})
        outputs.append({"output_type": "stream", "name": "stdout", "text": "after\n"})
        return nh.render({"cells": [{"cell_type": "code", "source": "print()", "metadata": {}, "outputs": outputs}]})

    whole = page(["one\ntwo\n"])
    assert page(["one\n", "two\n"]) == whole == page(["on", "e\ntw", "o\n"])
    # streams of different names, or separated by another output, stay apart and in order
    assert whole.count('<pre class="stdout">') == 2 and whole.count('<pre class="stderr">') == 1
    assert whole.index("one\ntwo") < whole.index("warning") < whole.index("after")
