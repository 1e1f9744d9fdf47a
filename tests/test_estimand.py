"""The estimand of the primary analysis (``combotherapy.estimand``): derived from monotone dropout when no
intercurrent events are given, attached to ``primary()`` and ``Result.with_estimand``, printed in the summary,
Markdown, HTML and JSON; and the report's Estimand and Sensitivity sections."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.analysis import primary
from combotherapy.estimand import for_analysis


@pytest.fixture(scope="module")
def trial():
    return ct.simulate_trial(n_per_arm=25, seed=4, dropout=0.3)


def test_ancova_estimand_counts_the_dropouts_the_ancova_leaves_out(trial):
    res = primary(trial, "pain", 12)
    e = res.estimand
    assert e is res.model_result.estimand
    wide = trial.wide("pain")
    missing_12 = int(wide[12.0].isna().sum())
    later = wide[[c for c in wide.columns[1:] if c > 12]].notna().any(axis=1)
    dropped = int((wide[12.0].isna() & ~later).sum())
    ev = e.events.set_index("event")
    assert ev.loc["dropout (derived from monotone missing data)", "subjects"] == dropped
    assert ev["subjects"].sum() == missing_12 == len(res.model_result.excluded)
    assert set(ev["strategy"]) == {"hypothetical (complete cases)"}
    assert "derived from monotone dropout" in e.notes[0]
    assert f"{sum(res.fitted.n_per_arm.values())} analysed" in e.population


def test_mmrm_estimand_is_mar_and_printed_everywhere(trial):
    res = primary(trial, "pain", 12, model="mmrm")
    e = res.estimand
    assert e.events["strategy"].tolist() == ["hypothetical (MAR)"]
    # every subject whose values stop before the last visit: the monotone dropouts
    wide = trial.wide("pain")[[4.0, 8.0, 12.0, 26.0]].to_numpy()
    assert e.events["subjects"].iloc[0] == int(np.isnan(wide[:, -1]).sum())
    assert "Estimand (ICH E9(R1))" in res.summary() and "hypothetical (MAR)" in res.summary()
    assert "**Estimand (ICH E9(R1))**" in res.to_markdown()
    assert html.escape("hypothetical (MAR)") in res.to_html()
    data = json.loads(json.dumps(res.to_json(), allow_nan=False))
    assert data["estimand"]["intercurrent_events"][0]["strategy"] == "hypothetical (MAR)"
    assert data["parts"][0]["estimand"]["summary"].startswith("difference in LS means")


def test_given_events_are_counted_by_kind_and_strategy(trial):
    wide = trial.wide("pain")
    subjects = wide.index[:6].astype(str)
    events = pd.DataFrame({"subject": subjects, "visit": [4.0, 4.0, 8.0, 8.0, 26.0, 26.0],
                           "event": ["rescue medication"] * 4 + ["stopped treatment"] * 2})
    e = for_analysis(trial, "pain", "ancova", visit=12, events=events)
    assert e.events["subjects"].sum() == 4          # the week-26 events do not affect week 12
    seen = wide.loc[wide.index[:4], 12.0].notna()
    tp = e.events[e.events["strategy"] == "treatment policy"]["subjects"].sum()
    assert tp == int(seen.sum())
    assert e.notes == ["intercurrent events as given (6 subjects)"]
    with pytest.raises(ct.DataError, match="after the last visit"):
        for_analysis(trial, "pain", "ancova", visit=12, events=events.assign(visit=40.0))


def test_with_estimand_on_results_and_its_limits(trial):
    res = ct.ancova(trial, "pain", 12)
    assert res.estimand is None and "Estimand" not in res.summary()
    attached = res.with_estimand(trial)
    assert attached.contrasts is res.contrasts and res.estimand is None   # a copy, no refit
    assert attached.estimand.lines() == primary(trial, "pain", 12).estimand.lines()
    with pytest.raises(ct.ModelError, match="primary models"):
        ct.responders(trial, "pain", 12, threshold=2).with_estimand(trial)


def test_imputation_result_prints_its_estimand_once(trial):
    res = ct.missing.approximate_bayes(trial, "pain", m=3, seed=1)
    assert res.summary().count("Estimand (ICH E9(R1))") == 1
    assert "estimand" in res.to_json()


@pytest.fixture(scope="module")
def report_trial():
    return ct.simulate_trial(n_per_arm=40, seed=4)


@pytest.mark.slow
def test_report_sections_show_the_estimand_and_the_panel(report_trial, monkeypatch):
    from combotherapy.report import _figure
    from combotherapy.report_sections import (
        SENSITIVITY_IMPUTATIONS,
        SENSITIVITY_SEED,
        estimand_html,
        reference_arms,
        sensitivity_html,
    )
    from combotherapy.report_tables import format_p

    trial = report_trial
    est = estimand_html(trial, "pain", 12)
    assert "hypothetical (complete cases)" in est and "hypothetical (MAR)" in est
    made, original = [], ct.missing.sensitivity_panel

    def spy(*args, **kwargs):
        made.append((args, kwargs, original(*args, **kwargs)))
        return made[-1][2]

    monkeypatch.setattr(ct.missing, "sensitivity_panel", spy)
    sens = sensitivity_html(trial, "pain", 12, (), lambda what, render: render(), _figure)
    (args, kwargs, panel), = made
    assert kwargs["m"] == SENSITIVITY_IMPUTATIONS and kwargs["seed"] == SENSITIVITY_SEED
    assert kwargs["reference_arms"] == reference_arms(trial) and kwargs["visit"] == 12
    for r in panel.panel.itertuples():
        assert (f"<td>{html.escape(r.analysis)}</td><td>{html.escape(r.contrast)}</td>"
                f"<td>{html.escape(ct.export.format_value(r.estimate))}</td>") in sens
        assert f"<td>{html.escape(format_p(r.p))}</td>" in sens
    for r in panel.verdict.itertuples():
        assert html.escape(r.combination) in sens
    assert '<figure id="fig-sensitivity">' in sens
    assert reference_arms(trial) == {"physio": "physio", "acupuncture": "acupuncture", "combined": "physio"}
    assert reference_arms(ct.simulate_trial(arms=("control", "combined"), n_per_arm=5, seed=1)) is None
    with pytest.raises(ct.DataError, match="imputation reference"):
        reference_arms(ct.simulate_trial(arms=("physio", "acupuncture"), n_per_arm=5, seed=1))


@pytest.mark.slow
def test_report_has_the_sections(report_trial):
    from combotherapy.report import build_report
    from combotherapy.report_sections import SENSITIVITY_SEED

    rep = build_report(report_trial, outcome="pain", visit=12)
    assert not rep.skipped
    for key in ("estimand", "sensitivity"):
        assert f'<section id="{key}">' in rep.html and f'href="#{key}"' in rep.html
    assert f"{SENSITIVITY_SEED} (the sensitivity panel" in rep.html
    primary_section = re.search(r'<section id="primary">(.*?)</section>', rep.html, re.S).group(1)
    assert "Estimand section above" in primary_section and "Estimand (ICH E9(R1))" not in primary_section
