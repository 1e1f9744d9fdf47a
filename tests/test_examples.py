"""The runnable Examples in the docstrings of the data and arm-comparison modules run and print what they say."""

import doctest
import importlib

import pytest

MODULES = ["errors", "instruments", "arms", "trial", "validate", "privacy.detect", "privacy.deidentify",
           "privacy.disclosure", "datasets", "simulate.effects", "simulate.generator", "simulate.truth",
           "simulate.publish", "table_one.stats", "inference.engine",
           "results", "export", "files", "io.load", "io.layout", "io.readers", "models.ancova",
           "models.combination", "models.effect_sizes", "models.responders", "models.proportions", "models._design"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    module = importlib.import_module(f"combotherapy.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) of combotherapy.{name} failed (see output)"
