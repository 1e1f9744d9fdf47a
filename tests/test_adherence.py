"""ct.adherence against R's glm(binomial) / glm(quasibinomial) (+ emmeans) and on bad input.

Reference: tests/reference/adherence.R -> adherence.json. Tolerances: iterative fits, so estimates, SEs and
intervals 1e-4 relative (in practice they agree to about 1e-9); p-values 1e-4 relative.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, REPO

import combotherapy as ct
from combotherapy.models.adherence import adherence

RTOL = 1e-4
REF = json.loads((REFERENCE / "adherence.json").read_text())
DATASETS = {"three_arm": "data/sample/three_arm.csv", "factorial": "data/sample/factorial.csv",
            "unbalanced": "tests/reference/data/safety_unbalanced.csv"}
CASES = {"binomial": dict(), "quasibinomial": dict(scale="pearson"),
         "binomial_baseline": dict(adjust_for_baseline="pain"),
         "quasibinomial_baseline": dict(adjust_for_baseline="pain", scale="pearson"),
         "binomial_ref_physio": dict(reference="physio")}
_SPECIAL = {"Inf": np.inf, "-Inf": -np.inf, "NA": np.nan}


def frame(records) -> pd.DataFrame:
    return pd.DataFrame(records).map(lambda v: _SPECIAL.get(v, v) if isinstance(v, str) else v)


def close(actual, expected, rtol=RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol)


@pytest.fixture(scope="module")
def trials():
    out = {}
    for name, rel in DATASETS.items():
        path = REPO / rel
        assert hashlib.md5(path.read_bytes()).hexdigest() == REF["datasets"][name]["md5"], (
            f"{path} changed since tests/reference/adherence.R was run: rerun it")
        out[name] = ct.load(path)
    return out


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("case", list(CASES))
def test_matches_r(trials, dataset, case):
    ref = REF["datasets"][dataset][case]
    res = adherence(trials[dataset], **CASES[case])
    exp = frame(ref["by_arm"]).set_index("arm")
    got = res.by_arm.set_index("arm")
    assert list(got.index) == list(exp.index)
    assert got["n"].tolist() == exp["n"].tolist()
    for col in ["estimate", "se", "ci_low", "ci_high", "logit_estimate", "logit_se", "df"]:
        close(got[col], exp[col])
    exp_c = frame(ref["contrasts"])
    got_c = res.contrasts
    assert got_c["contrast"].tolist() == exp_c["contrast"].tolist()
    for col in ["estimate", "log_estimate", "se", "df", "statistic", "p", "p_adj"]:
        close(got_c[col], exp_c[col])
    # default adjust="holm": Bonferroni intervals, as emmeans
    close(got_c["ci_low"], exp_c["ci_low_holm"])
    close(got_c["ci_high"], exp_c["ci_high_holm"])
    unadj = adherence(trials[dataset], adjust="none", **CASES[case]).contrasts
    close(unadj["ci_low"], exp_c["ci_low"])
    close(unadj["ci_high"], exp_c["ci_high"])
    close(unadj["p_adj"], exp_c["p"])
    coef = frame(ref["coefficients"])
    close(res.coefficients["estimate"], coef["estimate"])
    close(res.coefficients["se"], coef["se"])
    close(res.coefficients["p"], coef["p"])
    close(res.phi, ref["phi"])
    disp = res.dispersion.set_index("quantity")["estimate"]
    close(disp["deviance"], ref["deviance"])
    close(disp["pearson_chi2"], ref["pearson_chi2"])
    assert disp["df_resid"] == ref["df_resid"]
    assert len(res.fitted.excluded) == REF["datasets"][dataset]["excluded"]


def test_observed_proportion_equals_model_without_covariate(trials):
    res = adherence(trials["three_arm"])
    close(res.by_arm["observed"], res.by_arm["estimate"], rtol=1e-9)
    assert (res.by_arm["attended"] <= res.by_arm["planned"]).all()


def test_exclusions_are_listed(trials):
    res = adherence(trials["unbalanced"])
    ex = res.fitted.excluded
    assert set(ex.loc[ex["arm"] == "control", "reason"]) == {"no 'sessions_planned' recorded"}
    assert (ex["arm"] == "control").sum() == 16 and (ex["arm"] == "physio").sum() == 1
    assert "control" not in res.by_arm["arm"].tolist()
    assert any("not analysed" in n for n in res.notes)
    assert "Subjects excluded: 17" in res.summary()


def rebuild(trial, data):
    return ct.Trial(data.reset_index(drop=True), trial.instruments, source="test")


def add_subject(trial, subject, arm, attended, planned):
    """A copy of the trial with one more subject (all visits copied from the first subject of ``arm``)."""
    data = trial.data
    first = data.loc[data["arm"] == arm, "subject"].iloc[0]
    rows = data.loc[data["subject"] == first].copy()
    rows["subject"] = subject
    rows["sessions_attended"], rows["sessions_planned"] = attended, planned
    return rebuild(trial, pd.concat([data, rows], ignore_index=True))


def test_zero_planned_is_excluded_and_does_not_change_the_fit(trials):
    base = trials["unbalanced"]
    t = add_subject(base, "ZERO", "combined", 0.0, 0.0)
    res = adherence(t, scale="pearson")
    ref = REF["datasets"]["unbalanced"]["quasibinomial"]
    close(res.contrasts["estimate"], frame(ref["contrasts"])["estimate"])
    ex = res.fitted.excluded.set_index("subject")
    assert ex.loc["ZERO", "reason"] == "0 sessions planned ('sessions_planned')"


def test_attended_above_planned(trials):
    t = add_subject(trials["unbalanced"], "OVER", "physio", 11.0, 10.0)
    with pytest.raises(ct.DataError, match=r"sessions_attended.*larger than 'sessions_planned'.*OVER.*rows"):
        adherence(t)


def test_counts_not_whole_numbers(trials):
    t = add_subject(trials["unbalanced"], "HALF", "physio", 7.5, 10.0)
    with pytest.raises(ct.DataError, match=r"sessions_attended.*not a whole number.*HALF"):
        adherence(t)


def test_missing_columns(trials):
    t = trials["three_arm"]
    with pytest.raises(ct.DataError, match=r"\['visits_done'\] are not in this trial"):
        adherence(t, attended="visits_done")
    with pytest.raises(ct.DataError, match="scale"):
        adherence(t, scale="deviance")
    with pytest.raises(ct.DataError, match="reference arm 'control'"):
        adherence(t, reference="control")
    with pytest.raises(ct.DataError, match="once per subject"):
        adherence(t, adjust_for_baseline="recovery_time")
    with pytest.raises(ct.DataError, match="alpha"):
        adherence(t, alpha=0)


def test_no_sessions_at_all_in_an_arm_is_a_model_error(trials):
    data = trials["three_arm"].data.copy()
    data.loc[data["arm"] == "acupuncture", "sessions_attended"] = 0.0
    with pytest.raises(ct.ModelError, match=r"acupuncture.*none or all"):
        adherence(rebuild(trials["three_arm"], data))


def test_overdispersion_note_and_quasi_widens(trials):
    t = trials["three_arm"]
    binom = adherence(t, adjust="none")
    quasi = adherence(t, adjust="none", scale="pearson")
    assert binom.phi > 1.5 and any("scale='pearson'" in n for n in binom.notes)
    close(quasi.contrasts["estimate"], binom.contrasts["estimate"], rtol=1e-12)
    close(quasi.contrasts["se"], binom.contrasts["se"] * np.sqrt(binom.phi), rtol=1e-10)
    assert (quasi.contrasts["ci_high"] > binom.contrasts["ci_high"]).all()
    assert "quasi-binomial" in quasi.summary()


def test_missing_baseline_excluded(trials):
    base = trials["unbalanced"]
    data = base.data.copy()
    s = data.loc[data["arm"] == "combined", "subject"].iloc[3]
    data.loc[(data["subject"] == s) & (data["visit"] == 0), "pain"] = np.nan
    res = adherence(rebuild(base, data), adjust_for_baseline="pain")
    assert res.fitted.excluded.set_index("subject").loc[s, "reason"] == "no baseline 'pain'"
    assert res.fitted.n_per_arm["combined"] == 50


# --- covariates (issue 9 item 5): tests/reference/adherence_adjusted.R ------------------------------------------
REF_ADJ = json.loads((REPO / "tests/reference/adherence_adjusted.json").read_text())
ADJ_FILES = {"safety_unbalanced.csv": REPO / "tests/reference/data/safety_unbalanced.csv",
             "factorial.csv": REPO / "data/sample/factorial.csv"}


@pytest.mark.parametrize("case", list(REF_ADJ["cases"]))
def test_adjusted_adherence_matches_r(case):
    ref = REF_ADJ["cases"][case]
    path = ADJ_FILES[ref["file"]]
    assert hashlib.md5(path.read_bytes()).hexdigest() == ref["md5"], f"{path} changed: rerun adherence_adjusted.R"
    res = adherence(ct.load(path), covariates=ref["covariates"], adjust="none",
                    adjust_for_baseline="pain" if ref["baseline"] else None,
                    scale="pearson" if ref["family"] == "quasibinomial" else None)
    assert len(res.fitted.excluded) == ref["excluded"]
    exp = frame(ref["by_arm"]).set_index("arm")
    got = res.by_arm.set_index("arm")
    assert list(got.index) == list(exp.index) and got["n"].tolist() == exp["n"].tolist()
    for col in ["estimate", "se", "ci_low", "ci_high", "logit_estimate", "logit_se"]:
        close(got[col], exp[col])
    exp_c = frame(ref["contrasts"])
    assert res.contrasts["contrast"].tolist() == exp_c["contrast"].tolist()
    for col in ["estimate", "log_estimate", "se", "ci_low", "ci_high", "p"]:
        close(res.contrasts[col], exp_c[col])
    coef = res.coefficients.set_index("term")
    assert sorted(coef.index) == sorted(ref["coef_names"])  # numeric covariates precede factors in the package
    close(coef.loc[ref["coef_names"], "estimate"], ref["coef"])
    close(coef.loc[ref["coef_names"], "se"], ref["se"])
    close(res.phi, ref["phi"])
    assert all(f" + {c}" in res.fitted.formula for c in ref["covariates"])
