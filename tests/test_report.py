"""The self-contained HTML report: ``combotherapy report`` and :mod:`combotherapy.report`.

The report shows the library's numbers (checked here against direct library calls, formatted as the exports
format them), works offline (no external resource of any kind), is byte-for-byte reproducible, shows a sentence
for each section the data do not allow, and is never written partially.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from conftest import SAMPLE
from matplotlib.figure import Figure

import combotherapy as ct
import combotherapy.report as report_module
from combotherapy.cli import main
from combotherapy.export import format_value
from combotherapy.report import _svg, build_report, write_report

THREE_ARM = SAMPLE / "three_arm.csv"
FACTORIAL = SAMPLE / "factorial.csv"
VICKERS_MAPPING = {
    "columns": {"subject": "id", "arm": "group", "headache_w0": "pk1", "headache_w13": "pk2", "headache_w52": "pk5"},
    "arms": {"1": "acupuncture", "0": "control"},
    "outcomes": {"headache": {"low": 0, "better": "lower", "units": "points", "label": "Headache score"}},
}
SECTIONS = ("data", "table1", "consort", "primary", "mmrm", "responders", "claims", "methods")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def assert_self_contained(text: str) -> None:
    """Nothing a browser would fetch: no URL at all, no script/link/img/iframe/object, no CSS import or url()
    other than references to ids inside the page."""
    assert "http://" not in text and "https://" not in text and "//cdn" not in text
    for tag in ("<script", "<link", "<img", "<iframe", "<object", "<embed", "@import", "@font-face"):
        assert tag not in text.lower(), tag
    assert not re.search(r"\b(?:src|href)\s*=\s*[\"'](?!#)", text), "only in-page links are allowed"
    assert not re.search(r"url\((?!#)", text), "only in-page url(#id) references are allowed"


def ids_and_references(text: str) -> tuple[list[str], set[str]]:
    ids = re.findall(r'\bid="([^"]+)"', text)
    refs = set(re.findall(r'href="#([^"]+)"', text)) | set(re.findall(r"url\(#([^)]+)\)", text))
    return ids, refs


def section(text: str, key: str) -> str:
    m = re.search(rf'<section id="{key}">(.*?)</section>', text, re.S)
    assert m, f"section {key} missing"
    return m.group(1)


def number(v) -> str:
    return html.escape(format_value(float(v)))


# --- the bundled sample trial -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_reports(tmp_path_factory):
    """The report of the three-arm sample, made twice by the command line."""
    folder = tmp_path_factory.mktemp("report")
    paths = [folder / "one" / "report.html", folder / "two.html"]
    for p in paths:
        assert main(["report", str(THREE_ARM), "--out", str(p), "--outcome", "pain", "--visit", "12"]) == 0
    return paths


@pytest.fixture(scope="module")
def sample_html(sample_reports):
    return sample_reports[0].read_text(encoding="utf-8")


def test_report_is_deterministic(sample_reports):
    a, b = (p.read_bytes() for p in sample_reports)
    assert a == b


def test_report_is_self_contained(sample_html):
    assert_self_contained(sample_html)
    assert sample_html.startswith("<!DOCTYPE html>") and sample_html.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in sample_html


def test_figures_are_inline_svg_with_unique_ids(sample_html):
    assert sample_html.count("<svg") >= 5      # CONSORT, forest, trajectory, responder curve, waterfall
    for key in ("fig-consort", "fig-forest", "fig-trajectory", "fig-responders", "fig-waterfall"):
        assert f'<figure id="{key}">' in sample_html
    assert "<?xml" not in sample_html and "<!DOCTYPE svg" not in sample_html and "<metadata>" not in sample_html
    ids, refs = ids_and_references(sample_html)
    assert len(ids) == len(set(ids)), "duplicate element ids across figures"
    assert refs <= set(ids), f"dangling references {sorted(refs - set(ids))[:5]}"


def test_every_section_is_computed_on_the_sample(sample_html):
    for key in SECTIONS:
        assert f'<section id="{key}">' in sample_html
        assert f'href="#{key}"' in sample_html              # listed in the contents
    for key in SECTIONS:
        assert 'class="skipped"' not in section(sample_html, key), key
    assert "Verdicts: " in section(sample_html, "claims") and '<figure id="fig-claims">' in sample_html


def test_header_names_data_and_version_but_no_date(sample_html, sample_reports):
    assert "<h1>combotherapy report: three_arm.csv</h1>" in sample_html
    assert f"combotherapy {ct.__version__}" in sample_html
    import hashlib
    assert hashlib.sha256(THREE_ARM.read_bytes()).hexdigest() in sample_html
    assert not re.search(r"\b(19|20)\d\d-\d\d-\d\d\b", sample_html), "a date in the report"
    assert str(sample_reports[0].parent) not in sample_html and str(SAMPLE) not in sample_html


def test_report_shows_the_library_numbers(sample_html):
    trial = ct.load(THREE_ARM)
    primary = section(sample_html, "primary")
    anc = ct.ancova(trial, "pain", 12)
    for _, row in anc.contrasts.iterrows():
        assert f"<td>{html.escape(row['contrast'])}</td><td>{number(row['estimate'])}</td>" in primary
    comb = ct.combination_test(trial, "pain", 12)
    assert html.escape(comb.verdict) in primary
    assert "Synergy (2 x 2 factorial) not analysed" in primary

    table1 = section(sample_html, "table1")
    t1 = ct.table_one(trial)
    for cell in t1.table.iloc[:, 2]:
        assert f"<td>{html.escape(cell)}</td>" in table1

    consort = section(sample_html, "consort")
    counts = ct.plot.consort_counts(trial, "pain", 12).arms
    for arm, row in counts.iterrows():
        assert f"<tr><td>{arm}</td><td>{row['randomised']}</td><td>{row['analysed']}</td><td>{row['lost']}</td>" in consort

    mmrm = section(sample_html, "mmrm")
    fit = ct.mmrm(trial, "pain")
    for v in fit.contrasts["estimate"]:
        assert f"<td>{number(v)}</td>" in mmrm

    responders = section(sample_html, "responders")
    for threshold in (0.3, 0.5):
        res = ct.responders(trial, "pain", 12, threshold=threshold, relative=True)
        for v in res.by_arm["proportion"]:
            assert f"<td>{number(v)}</td>" in responders


def test_methods_note(sample_html):
    methods = section(sample_html, "methods")
    for phrase in ("ANCOVA", "intersection-union", "unstructured", "Satterthwaite", "IMMPACT", "Holm",
                   "no date"):
        assert phrase in methods


# --- other data -------------------------------------------------------------------------------------------------
def test_factorial_sample_has_synergy(capsys, tmp_path):
    out = tmp_path / "factorial.html"
    code, stdout, _ = run(capsys, "report", FACTORIAL, "--out", out)
    assert code == 0 and f"written: {out}" in stdout
    text = out.read_text(encoding="utf-8")
    assert_self_contained(text)
    syn = ct.synergy(ct.load(FACTORIAL), "pain", 12)
    primary = section(text, "primary")
    assert "Synergy (2 x 2 factorial)" in primary and html.escape(syn.explanation) in primary
    assert "control" in section(text, "table1")


def test_public_trial_with_mapping(capsys, tmp_path, datasets):
    mapping = tmp_path / "vickers.json"
    mapping.write_text(json.dumps(VICKERS_MAPPING))
    data = datasets / "vickers_acupuncture_headache" / "acupuncture.csv"
    out = tmp_path / "vickers.html"
    code, _, err = run(capsys, "report", data, "--mapping", mapping, "--out", out, "--outcome", "headache",
                       "--visit", "52", *[a for c in ("age", "sex", "migraine", "chronicity") for a in ("--covariate", c)])
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert_self_contained(text)
    primary = section(text, "primary")
    # the published primary result: acupuncture - control -4.64 (95% CI -7.08 to -2.20)
    trial = ct.load(data, columns=VICKERS_MAPPING["columns"], arms=VICKERS_MAPPING["arms"],
                    outcomes={"headache": ct.Instrument(low=0, better="lower", units="points",
                                                        label="Headache score")})
    row = ct.ancova(trial, "headache", 52, covariates=["age", "sex", "migraine", "chronicity"]).contrasts.iloc[0]
    assert f"<td>{number(row['estimate'])}</td>" in primary and number(row["estimate"]) == "-4.64"
    assert "Combination rule not tested" in primary
    assert 'class="skipped"' not in section(text, "mmrm")          # weeks 13 and 52
    assert 'class="skipped"' not in section(text, "responders")    # 0 is the best headache score
    assert "adjusted for age, sex, migraine, chronicity" in text


def test_missing_outcome_gives_sentences_not_a_failure(capsys, tmp_path, datasets):
    mapping = tmp_path / "vickers.json"
    mapping.write_text(json.dumps(VICKERS_MAPPING))
    out = tmp_path / "pain.html"
    code, _, err = run(capsys, "report", datasets / "vickers_acupuncture_headache" / "acupuncture.csv",
                       "--mapping", mapping, "--out", out)          # default outcome pain is not in this trial
    assert code == 0
    text = out.read_text(encoding="utf-8")
    for key in ("primary", "mmrm", "responders"):
        assert "Not computed for these data: outcome &#x27;pain&#x27; is not in this trial" in section(text, key)
        assert 'class="skipped"' in section(text, key)
    assert 'class="skipped"' not in section(text, "table1") and "<svg" in section(text, "consort")
    assert err.count("note: ") == 4 and "outcome 'pain' is not in this trial" in err
    # none of the package's claims has data in this trial: the table says why per claim, and no empty figure
    claims = section(text, "claims")
    assert "<svg" not in claims and "claims could be tested on these data" in claims
    assert "note: Claims figure: none of the" in err


@pytest.fixture(scope="module")
def two_arm_one_visit():
    return ct.simulate_trial(arms=("control", "physio"), n_per_arm=15, visits=(0, 12), seed=3)


def test_sections_the_design_does_not_allow(two_arm_one_visit):
    rep = build_report(two_arm_one_visit, outcome="rom", visit=12)
    skipped = dict(rep.skipped)
    assert "at least 2" in skipped["Repeated measures: rom over all visits"]
    assert "higher is better" in skipped["Responders: rom at week 12"]
    primary = section(rep.html, "primary")
    assert "Combination rule not tested" in primary and "no combined, acupuncture arm" in primary
    assert 'class="skipped"' not in primary          # the ANCOVA itself is computed
    assert_self_contained(rep.html)


def test_mmrm_without_baseline_rows():
    trial = ct.simulate_trial(arms=("physio", "combined"), n_per_arm=12, visits=(0, 4, 12), seed=8)
    no_baseline = ct.load(trial.data.loc[trial.data["visit"] > 0, ["subject", "arm", "visit", "pain"]])
    rep = build_report(no_baseline, outcome="pain", visit=12)
    mmrm = section(rep.html, "mmrm")
    assert "no baseline (week 0) value of pain" in mmrm and 'class="skipped"' not in mmrm
    # one sentence pointing to the analysis that is there, not a list of every subject without a baseline
    reason = dict(rep.skipped)["Primary analysis: pain at week 12"]
    assert reason.startswith("the trial has no baseline (week 0) value of pain")
    assert "repeated-measures section" in reason and "missing_baseline=" not in reason


def test_responder_curve_has_the_denominator_and_thresholds_of_the_tables(monkeypatch):
    calls = []
    original = ct.plot.responder_curve

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(ct.plot, "responder_curve", spy)
    trial = ct.simulate_trial(n_per_arm=20, seed=5)
    rep = build_report(trial, outcome="pain", visit=12)
    assert calls == [{"thresholds": report_module.RESPONDER_THRESHOLDS, "relative": True, "missing": "nonresponder"}]
    text = section(rep.html, "responders")
    assert "fig-responders" in text and "as non-responders (as in the tables)" in text
    # the curve passes through the tables' proportions at each threshold
    curve = ct.plot.responder_curve_data(trial, "pain", 12, thresholds=report_module.RESPONDER_THRESHOLDS,
                                         relative=True, missing="nonresponder").at_thresholds
    for thr in report_module.RESPONDER_THRESHOLDS:
        fit = ct.responders(trial, "pain", 12, threshold=thr, relative=True)
        at = curve.loc[curve["threshold"] == thr].set_index("arm")["proportion"].astype(float)
        assert at.to_dict() == pytest.approx(fit.by_arm.set_index("arm")["proportion"].astype(float).to_dict())


def test_wide_tables_wrap_to_the_page_with_journal_headers(sample_html):
    """Issue 11: the claims table scrolled (and was cut in print) after `measure`; headers were raw names and p
    printed as 2.29e-30. Now cells wrap, headers are human, p-values as journals print them, CIs as 'a to b'.
    (The real-browser geometry check is tests/test_report_browser.py.)"""
    css = sample_html[sample_html.index("<style>"):sample_html.index("</style>")]
    rule = css[css.index("table.combotherapy {"):]
    assert "overflow-x: auto" not in rule[:rule.index("}")] and "overflow-wrap: anywhere" in css
    assert "@media print" in css and "table-header-group" in css
    claims = section(sample_html, "claims")
    assert '<td class="long">Combined therapy relieves pain better than either therapy alone</td>' in claims
    for header in ("<th scope=\"col\">Verdict</th>", "<th scope=\"col\">95% CI</th>",
                   "<th scope=\"col\">p (Holm)</th>", "<th scope=\"col\">MID</th>"):
        assert header in claims
    table = claims[claims.index("<table"):claims.index("</table>")]
    assert "ci_low" not in table and "p_adj" not in table and not re.search(r"\de-\d", table)
    assert " to " in claims and "&lt; 0.001" in sample_html


def test_journal_formats():
    import pandas as pd

    from combotherapy.report_tables import format_ci, format_p, journal_frame

    assert [format_p(p) for p in (2.29e-30, 0.00099, 0.001, 0.0451, 0.123, 1.0, float("nan"))] == \
        ["< 0.001", "< 0.001", "0.001", "0.045", "0.12", "1", ""]
    assert format_ci(0.5, float("inf")) == "0.5 to ∞" and format_ci(float("nan"), 1) == ""
    t = pd.DataFrame({"estimate": [1.0], "se": [0.1], "df": [float("inf")], "statistic": [10.0], "p": [0.01],
                      "p_adj": [0.02], "ci_low": [0.8], "ci_high": [1.2]})
    j = journal_frame(t, adjust="bonferroni", alpha=0.1)
    assert j.columns.tolist() == ["Estimate", "SE", "p", "p (Bonferroni)", "90% CI"]  # z test: no df column
    assert journal_frame(t.assign(p_adj=t["p"]), adjust="holm").columns.tolist()[-2:] == ["p", "95% CI"]


def test_a_failing_section_does_not_cost_the_report(monkeypatch, two_arm_one_visit):
    def boom(trial):
        raise RuntimeError("boom")

    monkeypatch.setattr(report_module, "_table_one", boom)
    rep = build_report(two_arm_one_visit, outcome="pain", visit=12)
    assert "internal error (RuntimeError: boom)" in section(rep.html, "table1")
    assert 'class="skipped"' not in section(rep.html, "primary")
    assert ("Table 1: baseline characteristics", "internal error (RuntimeError: boom); this is a bug in "
            "combotherapy, please report it") in rep.skipped


# --- nothing partial --------------------------------------------------------------------------------------------
def test_bad_data_writes_nothing(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(THREE_ARM.read_text(encoding="utf-8").replace(",physio,", ",physiotherapy,", 3))
    out = tmp_path / "report.html"
    code, _, err = run(capsys, "report", bad, "--out", out)
    assert code == 1 and "physiotherapy" in err
    assert not out.exists()
    out.write_text("previous report")
    code, _, _ = run(capsys, "report", tmp_path / "missing.csv", "--out", out)
    assert code == 1 and out.read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "report.html"]   # no temporary files left


def test_failure_while_rendering_writes_nothing(capsys, monkeypatch, tmp_path, two_arm_one_visit):
    out = tmp_path / "report.html"
    out.write_text("previous report")

    def broken():
        raise RuntimeError("versions unavailable")

    monkeypatch.setattr(report_module, "_versions", broken)
    with pytest.raises(RuntimeError):
        write_report(two_arm_one_visit, out, outcome="pain", visit=12)
    assert out.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_build_report_needs_a_trial():
    with pytest.raises(ct.DataError, match="expected a ct.Trial"):
        build_report("three_arm.csv")


# --- inline SVG -------------------------------------------------------------------------------------------------
def test_inline_svg_is_prefixed_and_stripped():
    figs = []
    for k in range(2):
        fig = Figure(figsize=(2, 2))
        ax = fig.add_subplot()
        ax.plot([0, 1], [k, 1])
        ax.set_title(f"figure {k}")
        figs.append(_svg(fig, f"f{k}"))
    for k, svg in enumerate(figs):
        assert svg.startswith("<svg ") and 'role="img"' in svg and f'aria-labelledby="f{k}-caption"' in svg
        assert "xmlns" not in svg and "<metadata>" not in svg
        ids, refs = ids_and_references(svg)
        assert ids and all(i.startswith(f"f{k}-") for i in ids)
        assert refs and refs <= set(ids)
    assert not set(ids_and_references(figs[0])[0]) & set(ids_and_references(figs[1])[0])
    assert _svg(Figure(figsize=(1, 1)), "x") == _svg(Figure(figsize=(1, 1)), "x")   # deterministic


# --- secondary analyses, provenance and degenerate data ---------------------------------------------------------
def test_secondary_sections_show_the_library_numbers(sample_html):
    trial = ct.load(THREE_ARM)
    surv = section(sample_html, "survival")
    for v in ct.survival(trial, "recovery_time", "recovered").contrasts["estimate"]:   # hazard ratios
        assert f"<td>{number(v)}</td>" in surv
    assert '<figure id="fig-km">' in surv and "Kaplan-Meier" in surv
    counts = section(sample_html, "counts")
    for v in ct.count_model(trial, "analgesic_days", 12).contrasts["estimate"]:        # rate ratios
        assert f"<td>{number(v)}</td>" in counts
    safety = section(sample_html, "safety")
    for v in ct.adverse_events(trial).contrasts["estimate"].dropna():
        assert f"<td>{number(v)}</td>" in safety
    sub = section(sample_html, "subgroups")
    res = ct.subgroups(trial, "pain", 12, by=["pain_duration", "age", "sex", "site"])
    for v in res.contrasts["estimate"]:
        assert f"<td>{number(v)}</td>" in sub
    assert '<figure id="fig-subgroups">' in sub
    for key in ("survival", "counts", "safety", "subgroups"):
        assert 'class="skipped"' not in section(sample_html, key) and f'href="#{key}"' in sample_html


def test_provenance_is_inside_the_report(sample_html):
    header = re.search(r"<header>(.*?)</header>", sample_html, re.S).group(1)
    assert "Command: combotherapy report three_arm.csv --outcome pain --visit 12<" in header  # no folder, no --out
    assert "Random seed: 0" in header and f"combotherapy {ct.__version__}" in header
    assert "Data file SHA-256: " in header


def test_a_model_error_shows_its_message_in_place_of_the_section():
    # every subject recovers at week 10: the survival model raises a ModelError (it was a raw LinAlgError that
    # cost the report its whole claims section); its message stands in the section, the rest goes on
    trial = ct.simulate_trial(n_per_arm=15, seed=5)
    tied = ct.load(trial.data.assign(recovery_time=10.0, recovered=1))
    rep = build_report(tied, outcome="pain", visit=12)
    surv = section(rep.html, "survival")
    assert "Not computed for these data: in &#x27;recovery_time&#x27;, every subject has the event" in surv
    assert "internal error" not in rep.html
    claims = section(rep.html, "claims")
    assert 'class="skipped">Not computed' not in claims and "same time" in claims   # the claim row says why
    for key in ("primary", "counts", "safety"):
        assert 'class="skipped"' not in section(rep.html, key), key


def test_sections_only_for_the_columns_the_trial_has():
    trial = ct.simulate_trial(arms=("physio", "combined"), n_per_arm=12, visits=(0, 4, 12), seed=8)
    slim = ct.load(trial.data[["subject", "arm", "visit", "pain"]])
    rep = build_report(slim, outcome="pain", visit=12)
    for key in ("survival", "counts", "safety", "subgroups"):
        assert f'<section id="{key}">' not in rep.html
    assert "Command: combotherapy.report.build_report(...) (called from Python)" in rep.html


def test_methods_note_names_the_design_and_the_verdict_rule():
    """The methods note said 'Table 1 describes the randomised subjects' for observational data, and described
    verdicts by a rule the claims no longer use (issue 11, item 4: one verdict rule everywhere)."""
    from combotherapy.report_sections import methods_html

    rand, obs = methods_html("pain", 12, []), methods_html("pain", 12, [], "observational")
    assert "randomised subjects" in rand and "randomised subjects" not in obs
    assert "nobody was randomised" in obs and "confounders" in obs
    for note in (rand, obs):
        assert "claimed direction" in note and "minimal important difference" in note
        assert "excludes the minimal" not in note
