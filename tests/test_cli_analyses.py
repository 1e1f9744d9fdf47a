"""The analysis commands of the CLI (cli_analyses): one per public analysis, shared options, strict JSON, Office
output by suffix, provenance sidecars, and a --help that imports no statistics library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE

import combotherapy as ct
from combotherapy.cli import _PRIMARY_MODELS, _parser, main
from combotherapy.cli_analyses import ANALYSES

THREE_ARM = SAMPLE / "three_arm.csv"
FACTORIAL = SAMPLE / "factorial.csv"
SRC = Path(__file__).parents[1] / "src"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _no_constants(token):
    raise AssertionError(f"non-standard JSON token {token}")


def test_help_imports_no_heavy_module():
    """Issue 11: --help took 2 s because the whole package was imported. An import check, not a timing."""
    code = ("import sys\nfrom combotherapy.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pandas', 'scipy', 'statsmodels', 'matplotlib', 'numpy') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(SRC), "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
    assert "ancova" in done.stdout and "survival" in done.stdout


def test_lazy_package_still_offers_every_public_name():
    for name in ct.__all__:
        assert getattr(ct, name) is not None
    assert set(ct.__all__) <= set(dir(ct))
    with pytest.raises(AttributeError):
        ct.no_such_name  # noqa: B018


def test_every_analysis_of_the_api_has_a_command():
    commands = set(_parser()._subparsers._group_actions[0].choices)
    needed = {"ancova", "mmrm", "responders", "survival", "counts", "adherence", "safety", "subgroups", "mediation",
              "claims", "combination", "synergy", "table1", "report", "validate", "simulate", "reproduce"}
    assert needed <= commands
    for spec in ANALYSES.values():  # every row names a real public function
        module = __import__(f"combotherapy.{spec.module}", fromlist=[spec.function])
        assert callable(getattr(module, spec.function))


def test_primary_models_spelled_for_help_match_the_library():
    from combotherapy.analysis import MODELS

    assert tuple(_PRIMARY_MODELS) == tuple(MODELS)


def test_ancova_command_passes_the_shared_options(capsys):
    code, out, _ = run(capsys, "ancova", THREE_ARM, "--covariates", "age,site", "--adjust", "bonferroni",
                       "--reference", "physio", "--alpha", "0.1", "--format", "json")
    assert code == 0
    got = json.loads(out, parse_constant=_no_constants)
    lib = ct.ancova(ct.load(THREE_ARM), "pain", 12, covariates=["age", "site"], adjust="bonferroni",
                    reference="physio", alpha=0.1).contrasts
    rows = got["tables"]["contrasts"]
    assert [r["estimate"] for r in rows] == lib["estimate"].tolist()
    assert [r["ci_low"] for r in rows] == lib["ci_low"].tolist()
    assert {r["second"] for r in rows} == {"physio"}


def test_mmrm_command_takes_covariance_and_df(capsys):
    code, out, _ = run(capsys, "mmrm", THREE_ARM, "--covariance", "cs", "--df", "residual",
                       "--format", "json")
    assert code == 0, out
    fitted = json.loads(out)["fitted"]
    assert "compound" in fitted["covariance"].lower() or "cs" in fitted["covariance"].lower()


def test_one_sided_infinite_bound_is_the_string_inf(capsys):
    """--json wrote null for an infinite one-sided CI bound; now strict JSON with a documented "inf"/"-inf"."""
    code, out, _ = run(capsys, "combination", THREE_ARM, "--format", "json", "--mid", "1")
    assert code == 0
    got = json.loads(out, parse_constant=_no_constants)
    bounds = [r[k] for r in got["tables"]["contrasts"] for k in ("ci_low", "ci_high")]
    assert "inf" in bounds or "-inf" in bounds
    assert all(isinstance(b, float) or b in ("inf", "-inf") for b in bounds)


def test_bad_usage_and_bad_options_exit_cleanly(capsys):
    assert run(capsys, "ancova", THREE_ARM, "--alpha", "5")[0] == 2
    code, _, err = run(capsys, "ancova", THREE_ARM, "--adjust", "sideways")
    assert code == 1 and "sideways" in err
    code, _, err = run(capsys, "responders", THREE_ARM)  # --threshold is required
    assert code == 2 and "--threshold" in err


@pytest.mark.parametrize("suffix", [".docx", ".xlsx"])
def test_office_output_by_suffix_with_provenance(capsys, tmp_path, suffix):
    out = tmp_path / f"t1{suffix}"
    code, printed, err = run(capsys, "table1", THREE_ARM, "--out", out)
    assert code == 0, err
    assert out.exists() and f"written: {out}" in printed
    prov = json.loads(Path(str(out) + ".provenance.json").read_text())
    import hashlib

    assert prov["input_sha256"] == hashlib.sha256(THREE_ARM.read_bytes()).hexdigest()
    assert prov["package"] == f"combotherapy {ct.__version__}" and prov["command"] == "table1"
    if suffix == ".docx":
        import docx

        doc = docx.Document(str(out))
        cells = {c.text for t in doc.tables for row in t.rows for c in row.cells}
        expected = ct.table_one(ct.load(THREE_ARM)).table
        assert str(expected.iloc[0, 2]) in cells  # the same numbers as the Markdown table
    else:
        import openpyxl

        assert openpyxl.load_workbook(out).sheetnames


def test_analysis_to_csv_keeps_provenance_out_of_the_data(capsys, tmp_path):
    out = tmp_path / "surv.csv"
    code, _, err = run(capsys, "survival", THREE_ARM, "--out", out)
    assert code == 0, err
    text = out.read_text()
    assert not text.startswith("#")  # no comment lines in CSV data
    assert json.loads(Path(str(out) + ".provenance.json").read_text())["options"]["time"] == "recovery_time"
    # the --out guard: an existing file combotherapy did not write is not replaced without --force
    other = tmp_path / "mine.csv"
    other.write_text("keep\n")
    code, _, err = run(capsys, "survival", THREE_ARM, "--out", other)
    assert code == 1 and other.read_text() == "keep\n"


def test_claims_command_maps_adjust_to_multiplicity(capsys):
    code, out, _ = run(capsys, "claims", THREE_ARM, "--adjust", "none", "--format", "json")
    assert code == 0
    got = json.loads(out, parse_constant=_no_constants)
    assert got["fitted"]["adjust"] == "none"
    rows = got["tables"]["table"]
    assert all(r["p"] == r["p_adj"] for r in rows if r["p"] is not None)


def test_meta_measures_declared_for_the_parser_are_the_meta_modules():
    from combotherapy.cli_extra import META_MEASURES
    from combotherapy.meta import MEASURES

    assert tuple(sorted(MEASURES)) == META_MEASURES
