"""The claims figure: standardised intervals mapped by hand, verdict markers, untestable claims."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_plot_common import check_image

import combotherapy as ct


def claims_table() -> pd.DataFrame:
    # 1: pain, lower better, SD 2 -> std = -estimate / 2 ; 3: ratio of geometric means, f = -sqrt(3)/pi
    f3 = -np.sqrt(3) / np.pi
    return pd.DataFrame({
        "id": ["1", "2", "3", "4", "5"],
        "claim": ["Combined relieves pain better than either alone", "More range of motion",
                  "Less inflammation", "Faster recovery", "Helps after years of pain"],
        "outcome": ["pain", "rom", "crp", "recovery_time", "pain"],
        "contrast": ["combined - physio", "combined - acupuncture", "combined - physio", "combined - physio", None],
        "measure": ["mean difference", "mean difference", "ratio of geometric means", "hazard ratio (recovery)",
                    None],
        "estimate": [-1.0, 4.0, 0.8, 1.1, np.nan],
        "ci_low": [-1.6, -1.0, 0.6, 0.9, np.nan],
        "ci_high": [-0.4, 9.0, 1.05, 1.35, np.nan],
        "verdict": ["supported", "supported, below the minimal important difference of 5 degrees", "not supported",
                    "inconclusive", "not testable: no control arm"],
        "std_effect": [0.5, 0.4, f3 * np.log(0.8), np.sqrt(3) / np.pi * np.log(1.1), np.nan],
        # MIDs on the same scale: 1 point / SD 2; 5 degrees * 0.1; |log 0.8| * sqrt(3)/pi; |log 1.25| ...
        "std_mid": [0.5, 0.5, -f3 * abs(np.log(0.8)), np.sqrt(3) / np.pi * np.log(1.25), np.nan],
    })


def test_standardised_intervals_use_the_reports_own_factor():
    d = ct.plot.claims_data(claims_table())
    assert d.loc[0, ["std_low", "std_high"]].tolist() == pytest.approx([0.2, 0.8])     # -(-0.4)/2, -(-1.6)/2
    assert d.loc[1, ["std_low", "std_high"]].tolist() == pytest.approx([-0.1, 0.9])    # 4 -> 0.4: factor 0.1
    f3 = -np.sqrt(3) / np.pi
    assert d.loc[2, ["std_low", "std_high"]].tolist() == pytest.approx(sorted([f3 * np.log(0.6),
                                                                                f3 * np.log(1.05)]))
    assert d["testable"].tolist() == [True, True, True, True, False]
    # explicit standardised limits win over the mapping
    given = claims_table().assign(std_ci_low=[0.1] * 5, std_ci_high=[0.9] * 5)
    assert ct.plot.claims_data(given).loc[0, ["std_low", "std_high"]].tolist() == [0.1, 0.9]


def test_no_interval_when_the_factor_is_undefined():
    t = claims_table()
    t.loc[0, ["estimate", "std_effect"]] = 0.0
    d = ct.plot.claims_data(t)
    assert np.isnan(d.loc[0, "std_low"]) and np.isnan(d.loc[0, "std_high"])
    fig = ct.plot.claims(t)
    assert len(fig.axes[0].collections) == 3  # intervals of claims 2-4 only


def test_verdicts_by_marker_and_text():
    fig = ct.plot.claims(claims_table())
    ax, twin = fig.axes
    markers = [(line.get_marker(), line.get_markerfacecolor()) for line in ax.get_lines()
               if line.get_linestyle() == "None"]
    verdicts = [m for m in markers if m[0] != "|"]
    assert verdicts == [("o", "#000000"), ("o", "#999999"), ("X", "#000000"), ("o", "white")]
    texts = [t.get_text() for t in twin.get_yticklabels()]
    assert texts[1] == "supported, below the MID of 5 degrees" and texts[0] == "supported"
    assert texts[2:] == claims_table()["verdict"].tolist()[2:]


def test_each_claims_mid_is_drawn_at_its_standardised_value():
    """Issue 11: verdicts depend on the MIDs, so the figure draws them (red ticks) beside the effects."""
    t = claims_table()
    fig = ct.plot.claims(t)
    ax = fig.axes[0]
    mids = [line for line in ax.get_lines() if line.get_marker() == "|"]
    assert [float(m.get_xdata()[0]) for m in mids] == pytest.approx(t["std_mid"].dropna().tolist())
    assert "minimal important difference" in [h.get_label() for h in ax.get_legend().legend_handles]
    assert ct.plot.claims_data(t.drop(columns="std_mid"))["std_mid"].isna().all()  # older tables still plot
    assert ax.get_yticklabels()[-1].get_text() == "5. pain"


def test_real_report_renders():
    pytest.importorskip("combotherapy.claims")
    from combotherapy.claims import claims_report

    report = claims_report(ct.simulate_trial(n_per_arm=40, seed=3))
    fig = ct.plot.claims(report, labels="claim")
    assert len(fig.axes[0].get_yticklabels()) == len(report.table)
    table = report.table.set_index("id")
    # pain: MID 1 point over the pooled baseline SD, the factor of std_effect / benefit-signed estimate
    assert table.loc["1", "std_mid"] == pytest.approx(table.loc["1", "std_effect"] / -table.loc["1", "estimate"])


def test_bad_inputs():
    with pytest.raises(ct.DataError, match="lacks the columns"):
        ct.plot.claims(claims_table().drop(columns="std_effect"))
    with pytest.raises(ct.DataError, match="labels must be"):
        ct.plot.claims(claims_table(), labels="long")
    with pytest.raises(ct.DataError, match="claims report"):
        ct.plot.claims(42)


def test_claims_image(tmp_path):
    check_image(ct.plot.claims(claims_table()), "claims", tmp_path)


def test_no_testable_claim_is_a_data_error_not_an_empty_panel():
    # e.g. a public trial without any of the claims' outcomes: every row 'not testable'
    table = claims_table().assign(std_effect=np.nan, verdict="not testable: no pain data")
    with pytest.raises(ct.DataError, match="none of the .* claims could be tested .*not testable: no pain data"):
        ct.plot.claims(table)
