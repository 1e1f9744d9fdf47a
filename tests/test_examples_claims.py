"""The runnable Examples in the docstrings of the secondary-outcome, safety, subgroup and claims modules run and
print what they say (issue 5; the other modules' examples are run by tests/test_examples.py)."""

import doctest
import importlib

import pytest

MODULES = ["models.counts", "models.survival", "models.safety", "models.adherence", "models.mediation",
           "models.subgroups", "claims"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(f"combotherapy.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"combotherapy.{name} has no runnable example"
    assert result.failed == 0, f"{result.failed} docstring example(s) of combotherapy.{name} failed (see output)"
