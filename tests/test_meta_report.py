"""The `combotherapy meta` command and meta_report(): study-level file in, tables and figures out."""

from pathlib import Path

import pandas as pd

from combotherapy.cli import main
from combotherapy.plot.meta_report import meta_report

DS = Path(__file__).parents[1] / "src/combotherapy/datasets"


def test_cli_meta_wide_arm_file(tmp_path, capsys):
    rc = main(["meta", str(DS / "netmeta_smokingcessation/smokingcessation.csv"), "--out", str(tmp_path),
               "--larger-is-better", "--reference", "A"])
    assert rc == 0
    for name in ("contrasts.csv", "network_meta_analysis.md", "league_table.csv", "netsplit.csv",
                 "network_graph.png", "league_table.svg", "ranking.png"):
        assert (tmp_path / name).exists(), name
    assert "written:" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "contrasts.csv")) == 28


def test_cli_meta_contrast_file_with_components(tmp_path):
    # Baker 2009 as contrasts (made from its arms), combinations "Fluticasone+Salmeterol", "Budesonide+Formoterol"
    from combotherapy import meta
    arms = pd.read_csv(DS / "netmeta_Baker2009/baker2009.csv")
    pw = meta.pairwise(arms, study="id", treatment="treatment", event="exac", n="total", measure="OR")
    src = tmp_path / "baker_contrasts.csv"
    pw.rename(columns={"study": "trial", "TE": "logOR"}).to_csv(src, index=False)
    rc = main(["meta", str(src), "--out", str(tmp_path), "--column", "study=trial", "--column", "TE=logOR",
               "--reference", "Placebo", "--inactive", "Placebo", "--synergy", "Fluticasone", "Salmeterol"])
    assert rc == 0
    text = (tmp_path / "synergy.md").read_text()
    assert "Verdict:" in text
    assert (tmp_path / "component_nma.csv").exists()


def test_meta_report_two_treatments_is_pairwise(tmp_path):
    arms = pd.DataFrame({"study": ["a", "a", "b", "b", "c", "c", "d", "d"], "treatment": ["X", "Y"] * 4,
                         "event": [5, 9, 12, 20, 3, 8, 30, 41], "n": [50, 50, 80, 82, 40, 41, 200, 198]})
    written = meta_report(arms, tmp_path, formats=("svg",))
    names = {p.name for p in written}
    assert {"meta_analysis.md", "egger_test.md", "trim_and_fill.md", "leave_one_out.csv", "forest.svg",
            "funnel.svg"} <= names


def test_cli_meta_bad_file_exits_1_with_message(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"study": ["a", "a", "b"], "treatment": ["X", "Y", "X"], "event": [5, 60, 3],
                  "n": [50, 50, 40]}).to_csv(bad, index=False)
    rc = main(["meta", str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "events > n" in err and "single arm" in err


def test_evidence_notebook_is_stored_clean_and_ends_with_the_verdict():
    import json
    nb = json.loads((Path(__file__).parents[1] / "notebooks/07_evidence_across_trials.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert "parameters" in code[0]["metadata"]["tags"]
    assert "syn.verdict" in "".join(code[-1]["source"])


def test_readme_example_runs():
    import re
    text = (Path(__file__).parents[1] / "README.md").read_text()
    section = text[text.index("## Evidence across trials"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env: dict = {}
    exec(compile(code, "README.md", "exec"), env)
    assert set(env["cnma"].components["component"]) == {"acupuncture", "physio"}
