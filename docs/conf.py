"""Sphinx configuration of the combotherapy documentation.

Built by ``python3 -m sphinx -W --keep-going -b html docs docs/_build/html`` (warnings are errors; the test suite's
``tests/test_docs.py`` runs the same build). The API reference is generated from the numpydoc docstrings of the names
in ``combotherapy.__all__``; the notebooks are shown as tutorials without being executed (``combotherapy reproduce``
executes them).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The repository (its src/ and notebooks/); the test suite builds from a copy of docs/ and points here.
ROOT = Path(os.environ.get("COMBOTHERAPY_ROOT", Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(ROOT / "src"))

import combotherapy  # noqa: E402

project = "combotherapy"
author = "The combotherapy developers"
copyright = "2026, The combotherapy developers"
release = combotherapy.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",      # numpydoc-style sections (Parameters, Returns, Notes, References, Examples)
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_nb",                  # Markdown pages and the notebooks (not executed here)
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
root_doc = "index"

autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

nb_execution_mode = "off"       # notebooks are executed by `combotherapy reproduce`, not by the docs build
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

suppress_warnings = [
    "myst.header",              # notebooks start at a level-1 heading then number their sections freely
    "autosummary.import_cycle",
]
nitpicky = False

html_theme = "alabaster"
html_title = f"combotherapy {release}"
html_static_path: list[str] = []

# The tutorials are the repository's notebooks: copied in (not linked) so Sphinx sees them inside its source folder.
_tutorials = Path(__file__).parent / "tutorials" / "notebooks"
_tutorials.mkdir(parents=True, exist_ok=True)
for _nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
    _target = _tutorials / _nb.name
    if not _target.exists() or _target.read_bytes() != _nb.read_bytes():
        _target.write_bytes(_nb.read_bytes())
