"""Every module of the package can be imported first, before anything else of the package.

A user's ``from combotherapy.validate import validate_long`` in a fresh interpreter is such an import; a cycle
between modules shows only when the cycle's inner module is imported first (``import combotherapy`` alone imports
lazily and misses it).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: modules that were inside an import cycle (validate imports io's submodules, io's __init__ imports the loader,
#: and the loader uses validate) and their neighbours
CYCLE_PRONE = ["combotherapy.validate", "combotherapy.validate_arrays", "combotherapy.io.load",
               "combotherapy.io.arrow_text", "combotherapy.io.readers", "combotherapy.trial"]

_EACH_FIRST = """
import importlib, json, pkgutil, sys
names = json.loads(sys.argv[1])
if not names:
    import combotherapy
    names = sorted(m.name for m in pkgutil.walk_packages(combotherapy.__path__, "combotherapy.")
                   if not m.name.endswith("__main__"))
failed = []
for name in names:
    for key in [k for k in sys.modules if k == "combotherapy" or k.startswith("combotherapy.")]:
        del sys.modules[key]   # the package's modules afresh; numpy, pandas... stay imported (not under test)
    try:
        importlib.import_module(name)
    except Exception as err:
        failed.append(f"{name}: {err!r}")
print(json.dumps({"tried": len(names), "failed": failed}))
"""


def _import_each_first(names: list[str]) -> dict:
    """Import each module first (the package's modules removed from ``sys.modules`` before each), in one fresh
    interpreter; all of the package's modules when ``names`` is empty."""
    done = subprocess.run([sys.executable, "-c", _EACH_FIRST, json.dumps(names)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cycle_prone_modules_import_first():
    out = _import_each_first(CYCLE_PRONE)
    assert out == {"tried": len(CYCLE_PRONE), "failed": []}


@pytest.mark.slow
def test_every_module_imports_first():
    out = _import_each_first([])
    assert out["tried"] > 100
    assert out["failed"] == []
