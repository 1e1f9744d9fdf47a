"""The ``combotherapy`` command line, run in-process through ``main([...])`` (and once as a real process).

Numbers printed by ``analyze --json`` are checked against the library call they wrap (exactly: JSON keeps every
digit of a float) and, for the Vickers trial, against R's lm + emmeans (tests/reference/ancova.json).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, SAMPLE

import combotherapy as ct
from combotherapy.cli import main

THREE_ARM = SAMPLE / "three_arm.csv"
FACTORIAL = SAMPLE / "factorial.csv"
COMMANDS = ("reproduce", "validate", "table1", "analyze", "simulate", "report")
VICKERS_MAPPING = {
    "columns": {"subject": "id", "arm": "group", "headache_w0": "pk1", "headache_w13": "pk2", "headache_w52": "pk5"},
    "arms": {"1": "acupuncture", "0": "control"},
    "outcomes": {"headache": {"low": 0, "better": "lower", "units": "points", "label": "Headache score"}},
}


def run(capsys, *argv):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    """A small simulated three-arm trial (fast to load and fit), written by the simulate command itself."""
    path = tmp_path_factory.mktemp("cli") / "small.csv"
    assert main(["simulate", "--out", str(path), "--n", "25", "--seed", "11"]) == 0
    return path


@pytest.fixture(scope="module")
def small_frame(small_csv):
    return pd.read_csv(small_csv, dtype=str, keep_default_na=False)


def write_variant(frame: pd.DataFrame, path, **changes):
    """Write a copy of ``frame`` with some cells or columns changed (callables get the frame)."""
    out = frame.copy()
    for col, value in changes.items():
        out[col] = value(out) if callable(value) else value
    out.to_csv(path, index=False)
    return path


# --- help and usage ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert f"usage: combotherapy {command}" in out
    assert "--help" in out and "exit status" in out


def test_help_describes_the_options(capsys):
    _, out, _ = run(capsys, "analyze", "--help")
    for option in ("--outcome", "--visit", "--model", "--json", "--covariate", "--mapping", "--column", "--arm"):
        assert option in out
    _, out, _ = run(capsys, "simulate", "--help")
    for option in ("--out", "--n", "--seed", "--arms", "--visits", "--dropout"):
        assert option in out


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"combotherapy {ct.__version__}"


@pytest.mark.parametrize("argv", [
    [],                                                   # no command
    ["frobnicate"],                                       # unknown command
    ["analyze"],                                          # DATA missing
    ["analyze", "x.csv", "--model", "glm"],               # not a choice
    ["analyze", "x.csv", "--visit", "twelve"],            # not a number
    ["analyze", "x.csv", "--column", "subject"],          # not KEY=VALUE
    ["validate", "x.csv", "--visit-label", "VIS1=four"],  # weeks not a number
    ["simulate"],                                         # --out required
    ["simulate", "--out", "x.csv", "--dropout", "1.5"],   # not a proportion
    ["simulate", "--out", "x.csv", "--visits", "0,a"],    # not weeks
    ["report", "x.csv"],                                  # --out required
])
def test_usage_errors_exit_2(capsys, argv, tmp_path):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert "usage: combotherapy" in err
    assert not (tmp_path / "x.csv").exists()


def test_python_dash_m_help_in_a_real_process():
    proc = subprocess.run([sys.executable, "-m", "combotherapy", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0
    for command in COMMANDS:
        assert command in proc.stdout
    assert "Traceback" not in proc.stderr


# --- validate ---------------------------------------------------------------------------------------------------
def test_validate_sample_data(capsys):
    code, out, err = run(capsys, "validate", THREE_ARM)
    assert code == 0 and err == ""
    assert "passed every check and the identifier guard" in out
    assert "Subjects: 360 (physio 120, acupuncture 120, combined 120)" in out
    assert "Visits (weeks): 0, 4, 8, 12, 26" in out
    assert "pain: Pain intensity (NRS), points; range [0, 10]; lower is better" in out
    # counts per visit agree with the data
    data = pd.read_csv(THREE_ARM)
    n12 = data.loc[data["visit"] == 12, ["pain", "odi", "rom"]].notna().any(axis=1).sum()
    assert f"week 12 {n12}" in out


def test_validate_factorial_sample(capsys):
    code, out, _ = run(capsys, "validate", FACTORIAL)
    assert code == 0
    assert "control" in out and "combined" in out


def test_validate_public_dataset_with_mapping_file(capsys, tmp_path, datasets):
    mapping = tmp_path / "vickers.json"
    mapping.write_text(json.dumps(VICKERS_MAPPING))
    code, out, _ = run(capsys, "validate", datasets / "vickers_acupuncture_headache" / "acupuncture.csv",
                       "--mapping", mapping)
    assert code == 0
    assert "Subjects: 401 (control 196, acupuncture 205)" in out
    assert "Visits (weeks): 0, 13, 52" in out
    assert "headache: Headache score, points; range [0, inf]; lower is better" in out
    assert "week 52 301" in out


def test_validate_public_dataset_with_command_line_mapping(capsys, datasets):
    code, out, _ = run(capsys, "validate", datasets / "vickers_acupuncture_headache" / "acupuncture.csv",
                       "--column", "subject=id", "--column", "arm=group", "--column", "headache_w0=pk1",
                       "--column", "headache_w52=pk5", "--arm", "1=acupuncture", "--arm", "0=control")
    assert code == 0
    # without a declared instrument the headache columns are not outcomes: validate says so and how to fix it
    assert "Outcomes: none recognised" in out and '"outcomes"' in out


FEV_MAPPING = {
    "columns": {"subject": "USUBJID", "arm": "ARMCD", "visit": "AVISIT", "fev1": "FEV1"},
    "arms": {"PBO": "control", "TRT": "acupuncture"},
    "visits": {"VIS1": 4, "VIS2": 8, "VIS3": 12, "VIS4": 16},
    "outcomes": {"fev1": {"low": 0, "better": "higher", "units": "L", "label": "FEV1"}},
}


@pytest.fixture
def fev(tmp_path, datasets):
    """R mmrm's fev_data: long layout, visit labels VIS1..VIS4, arms PBO/TRT, no baseline rows."""
    mapping = tmp_path / "fev.json"
    mapping.write_text(json.dumps(FEV_MAPPING))
    return datasets / "mmrm_fev_data" / "fev_data.csv", mapping


def test_validate_long_public_dataset_with_visit_labels(capsys, fev):
    code, out, _ = run(capsys, "validate", fev[0], "--mapping", fev[1])
    assert code == 0
    assert "Subjects: 200 (control 105, acupuncture 95)" in out
    assert "Visits (weeks): 4, 8, 12, 16" in out
    assert "Other columns (covariates): RACE, SEX" in out


def test_analyze_mmrm_public_dataset_against_sas(capsys, fev):
    """MMRM of FEV1 on arm * visit + race + sex, unstructured, REML, Satterthwaite: SAS PROC MIXED output
    transcribed in tests/reference/mmrm_sas_fev.json. Tolerances as tests/test_mmrm_sas.py: SAS prints 4 decimals
    and stops at its own convergence criterion (estimates 3e-4, standard errors 2e-4)."""
    ref_file = REFERENCE / "mmrm_sas_fev.json"
    assert ref_file.exists(), "the SAS reference for fev_data (tests/reference/mmrm_sas_fev.json) is missing"
    ref = json.loads(ref_file.read_text())
    code, out, _ = run(capsys, "analyze", fev[0], "--mapping", fev[1], "--outcome", "fev1", "--visit", "16",
                       "--model", "mmrm", "--no-baseline", "--covariate", "RACE", "--covariate", "SEX", "--json")
    assert code == 0
    doc = json.loads(out)
    lsm = pd.DataFrame(doc["tables"]["by_arm"])
    np.testing.assert_allclose(lsm["estimate"], ref["lsmeans"]["estimate"], atol=3e-4)
    np.testing.assert_allclose(lsm["se"], ref["lsmeans"]["se"], atol=2e-4)
    con = pd.DataFrame(doc["tables"]["contrasts"])
    np.testing.assert_allclose(con["visit"], [4, 8, 12, 16])
    np.testing.assert_allclose(con["estimate"], ref["diffs"]["estimate"], atol=3e-4)
    np.testing.assert_allclose(con["se"], ref["diffs"]["se"], atol=2e-4)
    assert "verdict" not in doc


def test_analyze_no_baseline_needs_mmrm(capsys, fev):
    code, _, err = run(capsys, "analyze", fev[0], "--mapping", fev[1], "--outcome", "fev1", "--visit", "16",
                       "--no-baseline")
    assert code == 1 and "model='mmrm'" in err


def test_validate_unknown_arm_labels(capsys, tmp_path, small_frame):
    path = write_variant(small_frame, tmp_path / "arms.csv",
                         arm=lambda f: f["arm"].replace({"physio": "physiotherapy"}))
    code, out, err = run(capsys, "validate", path)
    assert code == 1 and out == ""
    assert err.startswith("combotherapy validate: ")
    assert "'arm'" in err and "physiotherapy" in err
    assert "--arm LABEL=ARM" in err  # says how to map labels on the command line


def test_validate_identifier_column_names_the_column_never_the_values(capsys, tmp_path, small_frame):
    emails = "patient" + small_frame["subject"].str.lower() + "@example.org"
    path = write_variant(small_frame, tmp_path / "ids.csv", contact=emails)
    code, out, err = run(capsys, "validate", path)
    assert code == 1
    assert "'contact'" in err and "email address" in err
    assert "@example.org" not in err + out and "patient" not in err + out
    # allowed after checking: loads, and validate says which column was kept
    code, out, _ = run(capsys, "validate", path, "--allow-identifier", "contact")
    assert code == 0 and "--allow-identifier" in out and "contact" in out


def test_validate_non_numeric_outcome_lists_every_problem(capsys, tmp_path, small_frame):
    pain = small_frame["pain"].copy()
    pain.iloc[[3, 7]] = ["severe", "n.a."]
    rom = small_frame["rom"].copy()
    rom.iloc[5] = "wide"
    path = write_variant(small_frame, tmp_path / "text.csv", pain=pain, rom=rom)
    code, _, err = run(capsys, "validate", path)
    assert code == 1
    assert "'pain'" in err and "'rom'" in err       # both problems in one pass
    assert "rows 4, 8" in err or ("4" in err and "8" in err)


@pytest.mark.parametrize("content, expected", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"colums": {}}', "unknown key(s) ['colums']"),
    ('{"columns": ["subject"]}', "'columns'"),
    ('{"outcomes": {"headache": {"better": "down"}}}', "outcome 'headache'"),
    ('{"outcomes": {"headache": {"lowest": 0}}}', "Instrument fields"),
])
def test_validate_bad_mapping_file(capsys, tmp_path, content, expected):
    mapping = tmp_path / "map.json"
    mapping.write_text(content)
    code, _, err = run(capsys, "validate", THREE_ARM, "--mapping", mapping)
    assert code == 1
    assert expected in err and "map.json" in err


@pytest.mark.parametrize("name, expected", [("nowhere.csv", "file not found"), ("table.xyz", "unknown file type")])
def test_validate_missing_or_unreadable_file(capsys, tmp_path, name, expected):
    path = tmp_path / name
    if name.endswith(".xyz"):
        path.write_text("a,b\n1,2\n")
    code, out, err = run(capsys, "validate", path)
    assert code == 1 and out == ""
    assert expected in err


# --- table1 -----------------------------------------------------------------------------------------------------
def test_table1_prints_and_writes(capsys, tmp_path):
    out_file = tmp_path / "t1.md"
    code, out, _ = run(capsys, "table1", THREE_ARM, "--out", out_file)
    assert code == 0
    expected = ct.table_one(ct.load(THREE_ARM))
    assert "Table 1" in out
    assert expected.table.iloc[0, 2] in out          # a cell of the table, as the library formats it
    assert out_file.read_text(encoding="utf-8") == expected.to_markdown()


def test_table1_bad_suffix_is_a_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "table1", THREE_ARM, "--out", tmp_path / "t1.pdf")
    assert code == 1 and ".pdf" in err
    assert not (tmp_path / "t1.pdf").exists()


# --- analyze ----------------------------------------------------------------------------------------------------
def test_analyze_sample_table(capsys):
    code, out, _ = run(capsys, "analyze", THREE_ARM, "--outcome", "pain", "--visit", "12")
    assert code == 0
    assert "ANCOVA: Pain intensity (NRS) at week 12" in out
    assert "Combination rule" in out and "intersection-union p" in out
    assert "Synergy (2 x 2 factorial) not analysed" in out and "no control arm" in out
    res = ct.ancova(ct.load(THREE_ARM), "pain", 12)
    from combotherapy.export import format_value
    for value in res.contrasts["estimate"]:
        assert format_value(float(value)) in out


def test_analyze_json_matches_the_library(capsys):
    code, out, _ = run(capsys, "analyze", THREE_ARM, "--json", "--covariate", "age", "--covariate", "site")
    assert code == 0
    doc = json.loads(out)
    trial = ct.load(THREE_ARM)
    res = ct.ancova(trial, "pain", 12, covariates=["age", "site"])
    comb = ct.combination_test(trial, "pain", 12, covariates=["age", "site"])
    got = pd.DataFrame(doc["tables"]["contrasts"])
    assert list(got["contrast"]) == list(res.contrasts["contrast"])
    for col in ("estimate", "se", "df", "p", "p_adj", "ci_low", "ci_high"):
        np.testing.assert_array_equal(got[col].to_numpy(float), res.contrasts[col].to_numpy(float))
    assert doc["verdict"] == comb.verdict
    assert doc["fitted"]["formula"] == res.fitted.formula and "age" in doc["fitted"]["formula"]
    assert doc["fitted"]["n_per_arm"] == res.fitted.n_per_arm
    # one-sided intervals of the combination rule are infinite on one side: the documented string "-inf" in JSON
    # (issue 11: null read as a missing bound), never NaN/Infinity tokens
    combo = pd.DataFrame(doc["tables"]["combination"])
    assert (combo["ci_low"] == "-inf").all() and np.isfinite(combo["ci_high"].astype(float)).all()
    assert [p["type"] for p in doc["parts"]] == ["AncovaResult", "CombinationResult"]
    assert "NaN" not in out and "Infinity" not in out


def test_analyze_factorial_json_has_synergy(capsys):
    code, out, _ = run(capsys, "analyze", FACTORIAL, "--json")
    assert code == 0
    doc = json.loads(out)
    syn = ct.synergy(ct.load(FACTORIAL), "pain", 12)
    effects = pd.DataFrame(doc["tables"]["synergy"]).set_index("effect")
    np.testing.assert_array_equal(effects["estimate"].to_numpy(float), syn.effects["estimate"].to_numpy(float))
    assert doc["skipped"] == []
    assert [p["type"] for p in doc["parts"]] == ["AncovaResult", "CombinationResult", "SynergyResult"]


def test_analyze_mmrm_json(capsys, small_csv):
    code, out, _ = run(capsys, "analyze", small_csv, "--model", "mmrm", "--json")
    assert code == 0
    doc = json.loads(out)
    res = ct.mmrm(ct.load(small_csv), "pain")
    got = pd.DataFrame(doc["tables"]["contrasts"])
    np.testing.assert_allclose(got["estimate"].to_numpy(float), res.contrasts["estimate"].to_numpy(float),
                               rtol=0, atol=0)
    assert sorted(set(got["visit"])) == [4.0, 8.0, 12.0, 26.0]
    assert doc["parts"][1]["fitted"]["model"].startswith(res.fitted.model.split(";")[0])


def test_analyze_public_dataset_against_r(capsys, tmp_path, datasets):
    """Vickers et al. BMJ 2004: ANCOVA at 12 months adjusted as published; R: lm + emmeans (ancova.R)."""
    mapping = tmp_path / "vickers.json"
    mapping.write_text(json.dumps(VICKERS_MAPPING))
    code, out, _ = run(capsys, "analyze", datasets / "vickers_acupuncture_headache" / "acupuncture.csv",
                       "--mapping", mapping, "--outcome", "headache", "--visit", "52", "--json",
                       *[a for c in ("age", "sex", "migraine", "chronicity") for a in ("--covariate", c)])
    assert code == 0
    doc = json.loads(out)
    ref = json.loads((REFERENCE / "ancova.json").read_text())["vickers"]["contrast"][0]
    row = doc["tables"]["contrasts"][0]
    assert row["contrast"] == ref["contrast"]
    np.testing.assert_allclose([row[k] for k in ("estimate", "se", "ci_low", "ci_high", "p")],
                               [ref[k] for k in ("estimate", "se", "ci_low", "ci_high", "p")], rtol=1e-8)
    assert doc["fitted"]["n_per_arm"] == {"control": 140, "acupuncture": 161}
    assert "verdict" not in doc and any("Combination rule not tested" in s for s in doc["skipped"])


@pytest.mark.parametrize("argv, expected", [
    (["--outcome", "painn"], "outcome 'painn' is not in this trial"),
    (["--visit", "13"], "visit 13 is not in this trial"),
    (["--visit", "0"], "visit 0 is the baseline"),
    (["--outcome", "recovery_time"], "measured once per subject"),
    (["--covariate", "height"], "height"),
    (["--model", "mmrm", "--visit", "13"], "visit 13"),
])
def test_analyze_bad_requests(capsys, small_csv, argv, expected):
    code, out, err = run(capsys, "analyze", small_csv, *argv)
    assert code == 1 and out == ""
    assert expected in err


def test_analyze_model_error_is_exit_1(capsys, tmp_path, small_frame):
    """An arm with a single subject at the visit cannot be estimated with an error: ModelError, exit 1."""
    frame = small_frame.copy()
    physio = frame.loc[frame["arm"] == "physio", "subject"].unique()
    drop = frame["subject"].isin(physio[1:]) & (frame["visit"] == "12")
    frame.loc[drop, "pain"] = ""
    path = tmp_path / "thin.csv"
    frame.to_csv(path, index=False)
    code, out, err = run(capsys, "analyze", path)
    assert code == 1
    assert "physio" in err and "fewer than 2" in err


# --- simulate ---------------------------------------------------------------------------------------------------
def test_simulate_writes_a_loadable_deterministic_trial(capsys, tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    code, out, _ = run(capsys, "simulate", "--out", a, "--n", "12", "--seed", "5", "--arms",
                       "control,physio,acupuncture,combined", "--visits", "0,6,12", "--dropout", "0.2")
    assert code == 0 and "48 subjects" in out
    run(capsys, "simulate", "--out", b, "--n", "12", "--seed", "5", "--arms", "control,physio,acupuncture,combined",
        "--visits", "0,6,12", "--dropout", "0.2")
    run(capsys, "simulate", "--out", c, "--n", "12", "--seed", "6", "--arms", "control,physio,acupuncture,combined",
        "--visits", "0,6,12", "--dropout", "0.2")
    assert a.read_bytes() == b.read_bytes() and a.read_bytes() != c.read_bytes()
    trial = ct.load(a)
    assert trial.arms == ["control", "physio", "acupuncture", "combined"] and trial.visits == [0.0, 6.0, 12.0]
    frame = ct.simulate.simulate_frame(arms=("control", "physio", "acupuncture", "combined"), n_per_arm=12,
                                       visits=(0, 6, 12), dropout=0.2, seed=5)
    back = pd.read_csv(a)
    assert list(back.columns) == list(frame.columns) and len(back) == len(frame)
    np.testing.assert_allclose(back["pain"].to_numpy(float), frame["pain"].to_numpy(float))


@pytest.mark.parametrize("argv, expected", [
    (["--arms", "physio,yoga"], "yoga"),
    (["--n", "1"], "at least 2"),
    (["--visits", "4,12"], "start at 0"),
])
def test_simulate_bad_arguments(capsys, tmp_path, argv, expected):
    out_file = tmp_path / "sim.csv"
    code, _, err = run(capsys, "simulate", "--out", out_file, *argv)
    assert code == 1 and expected in err
    assert not out_file.exists()


# --- errors that are not the user's data ------------------------------------------------------------------------
def test_internal_error_is_reported_without_traceback(capsys, monkeypatch):
    import combotherapy.report as report_module

    def broken(trial):
        raise KeyError("oops")

    monkeypatch.setattr(report_module, "describe_trial", broken)
    monkeypatch.delenv("COMBOTHERAPY_TRACEBACK", raising=False)
    code, _, err = run(capsys, "validate", THREE_ARM)
    assert code == 3
    assert "internal error (KeyError" in err and "bug" in err


def test_unwritable_output_is_exit_1(capsys, tmp_path):
    folder = tmp_path / "taken"
    folder.mkdir()
    code, _, err = run(capsys, "simulate", "--out", folder, "--n", "3")
    assert code == 1 and "taken" in err


def test_messages_naming_python_arguments_say_the_option_to_use(capsys, tmp_path, small_frame, fev):
    # the loader's messages speak Python (columns={...}); a command-line user is told the option
    path = write_variant(small_frame.rename(columns={"subject": "pid"}), tmp_path / "pid.csv")
    code, _, err = run(capsys, "validate", path)
    assert code == 1 and "columns={'subject'" in err
    assert "On the command line: columns= is --column CANONICAL=SOURCE" in err
    path = write_variant(small_frame, tmp_path / "arms.csv",
                         arm=lambda f: f["arm"].replace({"physio": "physiotherapy"}))
    _, _, err = run(capsys, "validate", path)
    assert "arms= is --arm LABEL=ARM" in err
    code, _, err = run(capsys, "analyze", fev[0], "--mapping", fev[1], "--outcome", "fev1", "--visit", "16",
                       "--no-baseline")
    assert code == 1 and "is --model mmrm --no-baseline" in err
    # an outcome that is already a change from baseline (no week-0 rows): ANCOVA cannot, the MMRM can
    no_base = write_variant(small_frame.loc[small_frame["visit"] != "0"], tmp_path / "nobase.csv")
    code, _, err = run(capsys, "analyze", no_base)
    assert code == 1 and "ct.mmrm is --model mmrm (with --no-baseline" in err
    code, _, _ = run(capsys, "analyze", no_base, "--model", "mmrm", "--no-baseline")
    assert code == 0
    # nothing to translate: no hint
    _, _, err = run(capsys, "analyze", THREE_ARM, "--visit", "5")
    assert "On the command line" not in err


def test_output_path_that_is_a_folder_is_named(capsys, tmp_path):
    folder = tmp_path / "taken"
    folder.mkdir()
    code, _, err = run(capsys, "report", THREE_ARM, "--out", folder)
    assert code == 1
    # the target, not the temporary file the write went through
    assert f"cannot write {folder}: it is a folder" in err and ".tmp" not in err
