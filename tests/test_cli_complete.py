"""The commands that complete the CLI (issue 11, item 6): observational, sensitivity, impute, tipping-point, the
shared --design and --backend options, analyze's shared options, and hints chosen from exception fields (issue 9).

Every number a command prints is compared with the Python call it wraps, on the bundled sample data.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE

import combotherapy as ct
from combotherapy.cli import _cli_hint, _parser, main

REGISTRY = SAMPLE / "registry.csv"
THREE_ARM = SAMPLE / "three_arm.csv"
SRC = Path(__file__).parents[1] / "src"
CONFOUNDERS = "age + sex + pain0 + log(pain_duration)"
CLI_CONFOUNDERS = "age,sex,pain0,log(pain_duration)"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _strict(text: str) -> dict:
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def _column(rows: list[dict], name: str) -> np.ndarray:
    return np.array([{"inf": np.inf, "-inf": -np.inf}.get(r[name], r[name]) if r[name] is not None else np.nan
                     for r in rows], dtype=float)


@pytest.fixture(scope="module")
def registry() -> pd.DataFrame:
    return pd.read_csv(REGISTRY)


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("complete") / "small.csv"
    assert main(["simulate", "--out", str(path), "--n", "25", "--seed", "11"]) == 0
    return path


# --- the audit: every public analysis of the API has a command ----------------------------------------------

#: public analysis -> the command that runs it (the audit of issue 11, item 6)
API_COMMANDS = {
    "ancova": "ancova", "mmrm": "mmrm", "responders": "responders", "survival": "survival", "count_model": "counts",
    "adherence": "adherence", "adverse_events": "safety", "subgroups": "subgroups", "mediation": "mediation",
    "claims_report": "claims", "combination_test": "combination", "synergy": "synergy", "table_one": "table1",
    "simulate_trial": "simulate", "power": "power", "sample_size": "sample-size", "effect_sizes": "effect-sizes",
    "meta": "meta", "load": "validate", "deidentify": "deidentify",
    "observational.propensity_score": "observational", "observational.iptw": "observational",
    "observational.weighted_means": "observational", "observational.weighted_regression": "observational",
    "observational.weighted_cox": "observational", "observational.aipw": "observational",
    "observational.match": "observational", "observational.balance": "observational",
    "observational.unadjusted": "observational", "observational.evalues": "observational",
    "missing.sensitivity_panel": "sensitivity", "missing.approximate_bayes": "impute",
    "missing.conditional_mean": "impute", "missing.bootstrap_mi": "impute", "missing.tipping_point": "tipping-point",
}


def test_every_public_analysis_has_a_command():
    commands = set(_parser()._subparsers._group_actions[0].choices)
    for name, command in API_COMMANDS.items():
        package, _, function = name.rpartition(".")
        public = getattr(ct, package).__all__ if package else ct._LAZY  # a public name, not imported here
        assert function in public and command in commands, name


def test_literals_spelled_for_help_match_the_library():
    from combotherapy.cli_missing import IMPUTATION_METHODS, STRATEGIES
    from combotherapy.cli_observational import ESTIMANDS

    assert STRATEGIES == ct.missing.STRATEGIES
    assert all(callable(getattr(ct.missing, f)) for f in IMPUTATION_METHODS.values())
    from combotherapy.observational.weights import ESTIMANDS as LIBRARY

    assert {e.lower() for e in LIBRARY} <= set(ESTIMANDS)


def test_help_of_the_new_commands_imports_no_heavy_module():
    code = ("import sys\nfrom combotherapy.cli import main\n"
            "for c in ('observational', 'sensitivity', 'impute', 'tipping-point', 'analyze'):\n"
            "    try:\n        main([c, '--help'])\n    except SystemExit:\n        pass\n"
            "heavy = [m for m in ('pandas', 'scipy', 'statsmodels', 'matplotlib', 'numpy') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(SRC), "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout and "--estimand" in done.stdout and "--reference-arms" in done.stdout


# --- observational --------------------------------------------------------------------------------------------

def test_observational_iptw_equals_the_library(capsys, registry):
    code, out, err = run(capsys, "observational", REGISTRY, "--covariates", CLI_CONFOUNDERS, "--outcome", "pain",
                         "--format", "json")
    assert code == 0, err
    got = _strict(out)
    obs = ct.observational
    lib = obs.weighted_means(obs.iptw(obs.propensity_score(registry, CONFOUNDERS, outcome="pain"), "ATE"), "pain")
    rows = got["tables"]["contrasts"]
    assert [r["contrast"] for r in rows] == lib.contrasts["contrast"].tolist()
    for col in ("estimate", "se", "ci_low", "ci_high", "p"):
        np.testing.assert_allclose(_column(rows, col), lib.contrasts[col].to_numpy(float), rtol=1e-10, atol=0)
    assert got["fitted"]["extra"]["design"] == "observational"
    assert "evalues" in got["tables"]
    # the registry's truth (data/sample/registry.md): combined - physio = -1.2; the weighted estimate covers it
    first = rows[0]
    assert first["contrast"] == "combined - physio" and first["ci_low"] < -1.2 < first["ci_high"]


def test_observational_aipw_att_with_balance_and_love_plot(capsys, tmp_path, registry):
    out, bal, love = tmp_path / "aipw.json", tmp_path / "balance.csv", tmp_path / "love.png"
    code, printed, err = run(capsys, "observational", REGISTRY, "--covariates", CLI_CONFOUNDERS, "--outcome", "pain",
                             "--method", "aipw", "--estimand", "att", "--target", "combined", "--out", out,
                             "--balance", bal, "--love-plot", love)
    assert code == 0, err
    assert all(f"written: {p}" in printed for p in (out, bal, love))
    obs = ct.observational
    ps = obs.propensity_score(registry, CONFOUNDERS, outcome="pain")
    lib = obs.aipw(ps, "pain", estimand="ATT", target="combined")
    rows = _strict(out.read_text())["tables"]["contrasts"]
    np.testing.assert_allclose(_column(rows, "estimate"), lib.contrasts["estimate"].to_numpy(float), rtol=1e-10)
    table = pd.read_csv(bal)
    want = obs.balance(obs.iptw(ps, "ATT", target="combined")).balance
    got = table[table["table"] == "balance"]
    np.testing.assert_allclose(got["smd_after"].to_numpy(float), want["smd_after"].to_numpy(float), rtol=1e-10)
    assert love.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(Path(str(out) + ".provenance.json").read_text())["command"] == "observational"


def test_observational_atc_is_the_att_of_the_reference_arm(capsys, registry):
    _, out, _ = run(capsys, "observational", REGISTRY, "--covariates", CLI_CONFOUNDERS, "--outcome", "pain",
                    "--estimand", "atc", "--format", "json")
    obs = ct.observational
    ps = obs.propensity_score(registry, CONFOUNDERS, outcome="pain")
    lib = obs.weighted_means(obs.iptw(ps, "ATT", target="physio"), "pain")
    np.testing.assert_allclose(_column(_strict(out)["tables"]["contrasts"], "estimate"),
                               lib.contrasts["estimate"].to_numpy(float), rtol=1e-10)


def test_observational_matching_of_two_arms(capsys, registry):
    code, out, err = run(capsys, "observational", REGISTRY, "--covariates", "age,sex,pain0", "--outcome", "pain",
                         "--method", "match", "--estimand", "att", "--arms", "physio,combined", "--format", "json")
    assert code == 0, err
    two = registry[registry["arm"].isin(["physio", "combined"])].reset_index(drop=True)
    obs = ct.observational
    lib = obs.match(obs.propensity_score(two, "age + sex + pain0", outcome="pain"), treated="combined",
                    caliper=0.2, outcome="pain")
    got = _strict(out)["tables"]
    np.testing.assert_allclose(_column(got["effect"], "estimate"), lib.effect["estimate"].to_numpy(float),
                               rtol=1e-10)
    assert [r["matched"] for r in got["counts"]] == lib.counts["matched"].tolist()
    # matching estimates the effect in one arm's population, never the ATE: a clear exit 1
    code, _, err = run(capsys, "observational", REGISTRY, "--covariates", "age", "--method", "match",
                       "--arms", "physio,combined")
    assert code == 1 and "att or atc" in err


def test_observational_on_a_trial_file_uses_the_trial_loader(capsys):
    code, out, err = run(capsys, "observational", THREE_ARM, "--covariates", "age,sex", "--format", "json")
    assert code == 0, err
    obs = ct.observational
    lib = obs.iptw(obs.propensity_score(ct.load(THREE_ARM, design="observational"), "age + sex"), "ATE")
    rows = _strict(out)["tables"]["table"]
    np.testing.assert_allclose(_column(rows, "sum_weights"), lib.table["sum_weights"].to_numpy(float), rtol=1e-12)


def test_observational_outputs_are_all_or_nothing(capsys, tmp_path):
    out, love = tmp_path / "r.json", tmp_path / "love.gif"  # an unknown figure suffix: nothing is written
    code, _, err = run(capsys, "observational", REGISTRY, "--covariates", "age", "--outcome", "pain",
                       "--out", out, "--love-plot", love)
    assert code == 1 and "love.gif" in err and ".png" in err
    assert not out.exists() and not love.exists()
    existing = tmp_path / "mine.csv"
    existing.write_text("not ours\n")
    code, _, err = run(capsys, "observational", REGISTRY, "--covariates", "age", "--balance", existing)
    assert code == 1 and "--force" in err and existing.read_text() == "not ours\n"


# --- missing data ---------------------------------------------------------------------------------------------

def test_impute_reference_based_equals_the_library(capsys, small_csv):
    code, out, err = run(capsys, "impute", small_csv, "--strategy", "j2r", "--reference-arms", "combined=physio",
                         "--reference-arms", "acupuncture=physio", "--reference-arms", "physio=physio",
                         "--m", "5", "--seed", "3", "--format", "json")
    assert code == 0, err
    lib = ct.missing.approximate_bayes(ct.load(small_csv), "pain", m=5, strategy="J2R", seed=3,
                                       reference_arms={"combined": "physio", "acupuncture": "physio",
                                                       "physio": "physio"})
    rows = _strict(out)["tables"]["contrasts"]
    for col in ("estimate", "se", "df", "p"):
        np.testing.assert_array_equal(_column(rows, col), lib.contrasts[col].to_numpy(float))
    # a trial without a control arm must name the imputation reference: the hint names the option
    code, _, err = run(capsys, "impute", small_csv, "--strategy", "CR", "--m", "2")
    assert code == 1 and "--reference-arms ARM" in err


def test_tipping_point_equals_the_library(capsys, tmp_path, small_csv):
    fig = tmp_path / "tp.svg"
    code, out, err = run(capsys, "tipping-point", small_csv, "--m", "5", "--seed", "4", "--deltas", "0,1,2",
                         "--visit", "12", "--format", "json", "--figure", fig)
    assert code == 0, err
    mi = ct.missing.approximate_bayes(ct.load(small_csv), "pain", m=5, seed=4)
    lib = ct.missing.tipping_point(mi, [0, 1, 2], visit=12)
    doc = _strict(out[: out.rindex("}") + 1])
    np.testing.assert_array_equal(_column(doc["tables"]["grid"], "estimate"), lib.grid["estimate"].to_numpy(float))
    assert fig.read_text().lstrip().startswith("<?xml")


@pytest.mark.slow
def test_sensitivity_panel_equals_the_library(capsys, small_csv):
    code, out, err = run(capsys, "sensitivity", small_csv, "--reference-arms", "physio", "--m", "5",
                         "--format", "json")
    assert code == 0, err
    lib = ct.missing.sensitivity_panel(ct.load(small_csv), "pain", reference_arms="physio", m=5)
    doc = _strict(out)
    np.testing.assert_array_equal(_column(doc["tables"]["panel"], "estimate"), lib.panel["estimate"].to_numpy(float))
    assert [r["combination"] for r in doc["tables"]["verdict"]] == lib.verdict["combination"].tolist()


# --- shared options -------------------------------------------------------------------------------------------

def test_design_option_reaches_the_loader(capsys):
    code, out, err = run(capsys, "ancova", THREE_ARM, "--design", "observational", "--format", "json")
    assert code == 0, err
    assert _strict(out)["fitted"]["extra"]["design"] == "observational"
    assert "warning: " in err and "UNADJUSTED" in err and "cli_analyses.py" not in err  # one line, no source


def test_duckdb_backend_gives_the_in_memory_numbers(capsys):
    _, lazy, _ = run(capsys, "ancova", THREE_ARM, "--backend", "duckdb", "--format", "json")
    _, eager, _ = run(capsys, "ancova", THREE_ARM, "--format", "json")
    a, b = _strict(lazy)["tables"]["contrasts"], _strict(eager)["tables"]["contrasts"]
    np.testing.assert_allclose(_column(a, "estimate"), _column(b, "estimate"), rtol=1e-10)
    parser = _parser()  # --backend only where the analysis runs on a LazyTrial
    assert "backend" in vars(parser.parse_args(["ancova", "x.csv"]))
    assert "backend" not in vars(parser.parse_args(["counts", "x.csv"]))
    _, lazy, _ = run(capsys, "table1", THREE_ARM, "--backend", "duckdb")
    _, eager, _ = run(capsys, "table1", THREE_ARM)
    assert lazy == eager


def test_analyze_takes_the_shared_options(capsys):
    code, out, err = run(capsys, "analyze", THREE_ARM, "--covariates", "age", "--adjust", "bonferroni",
                         "--reference", "physio", "--format", "json")
    assert code == 0, err
    doc = _strict(out)
    lib = ct.ancova(ct.load(THREE_ARM), "pain", 12, covariates=["age"], adjust="bonferroni", reference="physio")
    np.testing.assert_array_equal(_column(doc["tables"]["contrasts"], "p_adj"), lib.contrasts["p_adj"].to_numpy())
    bounds = [r["ci_low"] for r in doc["tables"]["combination"]]
    assert set(bounds) == {"-inf"}  # strict JSON: the one-sided bound is the documented string
    code, _, err = run(capsys, "analyze", THREE_ARM, "--covariance", "cs")
    assert code == 1 and "mmrm" in err and "--covariance" in err


def test_hints_come_from_fields_not_message_text():
    err = ct.DataError("a message that names no argument", arguments=("arms",))
    assert "--arm LABEL=ARM" in _cli_hint(err)
    assert _cli_hint(ct.DataError("use columns= and arms= here")) == ""  # text alone gives no hint
    try:
        ct.load(pd.DataFrame({"pid": ["a"], "arm": ["physio"], "visit": [0], "pain": [5]}))
    except ct.DataError as e:
        assert e.arguments == ("columns",) and "--column CANONICAL=SOURCE" in _cli_hint(e)


def test_out_with_a_figure_suffix_draws_the_commands_figure(capsys, tmp_path):
    out = tmp_path / "km.svg"
    code, printed, err = run(capsys, "survival", THREE_ARM, "--out", out)
    assert code == 0 and f"written: {out}" in printed, err
    lib = ct.survival(ct.load(THREE_ARM), "recovery_time", "recovered")
    assert out.read_bytes() == ct.plot.figure_bytes(ct.plot.survival(lib), "svg")  # deterministic bytes
    assert json.loads(Path(str(out) + ".provenance.json").read_text())["command"] == "survival"
    code, _, err = run(capsys, "adherence", THREE_ARM, "--out", tmp_path / "a.png")
    assert code == 1 and "draws no figure" in err and not (tmp_path / "a.png").exists()


def test_effect_sizes_command_equals_the_library(capsys):
    code, out, err = run(capsys, "effect-sizes", THREE_ARM, "--covariates", "age", "--format", "json")
    assert code == 0, err
    lib = ct.effect_sizes(ct.ancova(ct.load(THREE_ARM), "pain", 12, covariates=["age"]))
    rows = _strict(out)["tables"]["effect_sizes"]
    np.testing.assert_array_equal(_column(rows, "estimate"), lib.effect_sizes["estimate"].to_numpy(float))


def test_sample_size_command_equals_the_library(capsys, tmp_path):
    design = tmp_path / "design.json"
    spec = {"outcomes": ["pain"], "effects": {"pain": {"physio": -1.0, "acupuncture": -1.0, "combined": -3.0}}}
    design.write_text(json.dumps(spec))
    out = tmp_path / "n.csv"
    code, printed, err = run(capsys, "sample-size", "--design", design, "--out", out, "--target", "0.6",
                             "--sims", "10", "--n-min", "8", "--n-max", "64", "--seed", "5")
    assert code == 0, err
    from combotherapy.power import make_design, sample_size

    lib = sample_size(make_design(**spec), target=0.6, n_sims=10, n_min=8, n_max=64, seed=5)
    assert f"n = {lib.n} per allocation unit" in printed
    np.testing.assert_array_equal(pd.read_csv(out)["power"].to_numpy(float), lib.table["power"].to_numpy(float))


def test_the_docs_page_names_every_command():
    page = (Path(__file__).parents[1] / "docs" / "cli.md").read_text()
    for command in _parser()._subparsers._group_actions[0].choices:
        assert f"`{command}" in page or f" `{command}`" in page, command


# --- deidentify -----------------------------------------------------------------------------------------------

KEY = "k8#Zq!v2LmP0xRt7Wb"


def _raw_export(tmp_path) -> Path:
    raw = pd.DataFrame({"mrn": ["A1001", "A1002", "A1003"], "name": ["Ann Smith", "Bob Jones", "Cy Lee"],
                        "arm": ["physio", "combined", "physio"], "pain": [5, 6, 7],
                        "rand_date": ["2024-01-02", "2024-01-05", "2024-02-01"],
                        "visit_date": ["2024-01-09", "2024-01-12", "2024-02-08"]})
    path = tmp_path / "raw.csv"
    raw.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_deidentify_writes_what_the_library_gives_and_never_a_value(capsys, tmp_path, monkeypatch, suffix):
    raw = _raw_export(tmp_path)
    before = raw.read_bytes()
    monkeypatch.setenv("COMBOTHERAPY_KEY", KEY)
    out = tmp_path / f"clean{suffix}"
    code, stdout, err = run(capsys, "deidentify", raw, "--out", out, "--subject", "mrn",
                            "--randomisation-date", "rand_date")
    assert code == 0, err
    expected = ct.deidentify(pd.read_csv(raw), key=KEY, subject="mrn", randomisation_date="rand_date")
    got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)
    assert raw.read_bytes() == before  # the input is never modified
    assert "name: dropped (name)" in stdout
    for value in ("Ann Smith", "A1001", "2024-01-02"):
        assert value not in stdout + err
    ct.privacy.check_identifiers(got)  # the copy passes the guard


def test_deidentify_needs_a_key_from_the_environment_or_a_file(capsys, tmp_path, monkeypatch):
    raw = _raw_export(tmp_path)
    monkeypatch.delenv("COMBOTHERAPY_KEY", raising=False)
    out = tmp_path / "clean.csv"
    code, _, err = run(capsys, "deidentify", raw, "--out", out, "--subject", "mrn", "--randomisation-date",
                       "rand_date")
    assert code == 1 and "COMBOTHERAPY_KEY" in err and not out.exists()
    key_file = tmp_path / "key.txt"
    key_file.write_text(KEY + "\n")
    code, _, err = run(capsys, "deidentify", raw, "--out", out, "--subject", "mrn", "--randomisation-date",
                       "rand_date", "--key-file", key_file)
    assert code == 0, err
    assert KEY not in out.read_text()
    code, _, err = run(capsys, "deidentify", raw, "--out", tmp_path / "clean.xlsx", "--key-file", key_file)
    assert code == 1 and ".csv or .parquet" in err
