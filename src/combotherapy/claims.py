"""The claims report: each popular claim about combined therapy, tested on the right outcome and model.

The claims are data (``data/claims.csv``, :func:`default_claims`), read by code: one row per claim with the
outcome that tests it, the model, the visit, the test and the minimal important difference (MID), and an optional
``with`` column naming a model's second column (the event flag of a survival claim, default ``recovered``; the
planned sessions of an adherence claim, default ``sessions_planned``; the mediator of a mediation claim, default
``pain``). Users extend the table with their own rows. Each claim is decided by the regulators' combination rule:

* ``combination`` — the combination must beat **each** monotherapy (intersection–union test of Laska and
  Meisner 1989): the claim's p-value is the larger of the two one-sided p-values of combined − physio and
  combined − acupuncture, in the instrument's good direction;
* ``physio_vs_control`` — physiotherapy beats usual care (optionally within a subgroup, e.g. chronic pain);
* the mediation claim ("because pain falls first", model ``mediation``) uses the same rule on the average
  causal mediated effect of early pain change on adherence (:func:`combotherapy.mediation`, 1000 simulations,
  seed 0; one-sided Monte Carlo p = (draws <= 0, plus 1) / (draws, plus 1));
* ``safety`` — acupuncture-containing arms have no more patients with adverse events than physiotherapy
  alone, by more than the margin (one-sided non-inferiority on the risk difference).

Then the p-values of all testable claims are adjusted (Holm by default, or fixed-sequence in table order,
pain first) and each claim gets a verdict:

* ``supported``: the adjusted p-value is below alpha with the estimate in the claimed direction — the one rule
  of :func:`combotherapy.verdict.decide`, which ``combination_test`` uses too; a supported claim whose estimate
  is smaller than its MID reads ``supported, below the minimal important difference of 1 point``;
* ``not supported``: otherwise; the reason says whether the data rule out a benefit as large as the MID, and
  when the multiplicity adjustment turned a significant test into a not-supported claim;
* ``inconclusive``: the model could not be fitted or a contrast could not be estimated (the reason says why);
* ``not testable: ...``: the outcome (or its visit), arm or subgroup variable is not in the data.

References
----------
Laska EM, Meisner MJ. Testing whether an identified treatment is best. Biometrics 1989;45:1139-51.
Dworkin RH et al. Interpreting the clinical importance of treatment outcomes in chronic pain clinical trials:
IMMPACT recommendations. J Pain 2008;9:105-21.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib import resources
from io import StringIO

import numpy as np
import pandas as pd

from .analysis_set import subject_index
from .arguments import DEFAULTS, check_alpha, check_choice
from .claims_models import (  # noqa: F401  (MEDIATION_SIMS: the report's name for it)
    AT_VISIT,
    MEDIATION_SIMS,
    MODELS,
    NEEDS,
    Contrast,
    from_result,
    with_column,
)
from .claims_models import pick as _pick  # noqa: F401  (the tests' name for it)
from .errors import ArgumentError, DataError, ModelError
from .inference import p_adjust
from .results import Fitted, Result
from .trial import Trial
from .verdict import BELOW_MID, NOT_SUPPORTED, SUPPORTED, decide, mid_phrase, multiplicity_note, p_text

__all__ = ["claims_report", "default_claims", "ClaimsReport", "VERDICTS"]

#: the verdicts (a supported claim below its MID reads "supported, below the minimal important difference of ...")
VERDICTS = (SUPPORTED, BELOW_MID, NOT_SUPPORTED, "inconclusive")
COMBINATION_PAIRS = (("combined", "physio"), ("combined", "acupuncture"))
CLAIM_COLUMNS = ("id", "claim", "outcome", "model", "visit", "test", "mid", "subgroup")


def default_claims() -> pd.DataFrame:
    """The claims table shipped with the package (a copy: extend it and pass it to :func:`claims_report`)."""
    text = resources.files("combotherapy").joinpath("data/claims.csv").read_text(encoding="utf-8")
    return pd.read_csv(StringIO(text), dtype={"id": str, "subgroup": str}, keep_default_na=False,
                       na_values={"visit": [""], "mid": [""]})


# --- one claim ------------------------------------------------------------------------------------------------

def _not_testable(claim: pd.Series, why: str) -> dict:
    return {**_base_row(claim), "verdict": f"not testable: {why}", "reason": f"Not testable: {why}."}


def _base_row(claim: pd.Series) -> dict:
    return {"id": claim["id"], "claim": claim["claim"], "outcome": claim["outcome"], "model": claim["model"],
            "visit": claim["visit"], "mid": float(pd.to_numeric(claim["mid"], errors="coerce"))}


def subset_trial(trial: Trial, subgroup: str) -> Trial | str:
    """Apply a subgroup filter such as ``pain_duration>=12`` (column, operator, number)."""
    import re

    m = re.match(r"^\s*(\w+)\s*(>=|<=|>|<|==)\s*([-\d.]+)\s*$", subgroup)
    if not m:
        raise DataError(f"cannot read the subgroup filter {subgroup!r}; write it as column>=number")
    col, op, val = m.group(1), m.group(2), float(m.group(3))
    if col not in trial.data.columns:
        return f"no {col} data"
    x = pd.to_numeric(trial.data[col], errors="coerce")
    if (x.isna() & trial.data[col].notna()).any():
        raise DataError(f"the subgroup filter {subgroup!r} compares '{col}' with a number, but '{col}' holds text; "
                        "give a numeric column or drop the filter")
    keep = {">=": x >= val, "<=": x <= val, ">": x > val, "<": x < val, "==": x == val}[op]
    return Trial(trial.data.loc[keep.to_numpy()].reset_index(drop=True), trial.instruments, source=trial.source,
                 design=trial.design)


def _size(fitted: Fitted) -> dict:
    return {"n": fitted.n, "n_excluded": len(fitted.excluded),
            "_excluded": fitted.excluded[["subject", "arm"]].astype(str)}


def _excluded(rows: list[dict]) -> pd.DataFrame:
    """Subjects left out of at least one claim's analysis, with the claims they are missing from."""
    shown = [r for r in rows if isinstance(r.get("_excluded"), pd.DataFrame)]
    if not shown:
        return pd.DataFrame(columns=["subject", "arm", "reason", "claims"])
    out = _claims_per_subject([r["_excluded"] for r in shown], [str(r["id"]) for r in shown])
    out.insert(2, "reason", "left out of some claims' analyses (missing values, or no sessions planned): see "
                          "n_excluded per claim and the claims column")
    return out


def _claims_per_subject(parts: list[pd.DataFrame], labels: list[str]) -> pd.DataFrame:
    """``subject, arm, claims``: each subject (and arm) of the parts, in order of first appearance, with the
    labels of the parts it is in joined by ", " in part order (as a grouped ``", ".join``, without a Python call
    per subject: one string per distinct membership pattern)."""
    long = pd.concat(parts, ignore_index=True)
    part = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    subj, _ = pd.factorize(long["subject"])
    arm, arm_u = pd.factorize(long["arm"])
    group, _ = pd.factorize(subj.astype(np.int64) * max(len(arm_u), 1) + arm)  # codes in order of appearance
    n_groups = int(group.max()) + 1 if len(group) else 0
    _, first = np.unique(group, return_index=True)
    member = np.bincount(group * len(parts) + part, minlength=n_groups * len(parts)).reshape(n_groups, len(parts))
    patterns, which = np.unique(member, axis=0, return_inverse=True)
    texts = np.array([", ".join(lab for lab, k in zip(labels, row) for _ in range(k)) for row in patterns],
                     dtype=object)
    out = long[["subject", "arm"]].iloc[first].reset_index(drop=True)
    out["claims"] = pd.Series(texts[np.asarray(which).reshape(-1)], dtype="str") if n_groups else \
        pd.Series([], dtype="str")
    return out


def _evaluate(trial: Trial, claim: pd.Series, alpha: float, fitted: Result | None = None) -> dict:
    outcome, model, test = claim["outcome"], claim["model"], claim["test"]
    if fitted is None and model not in MODELS:
        raise DataError(f"claim {claim['id']}: unknown model {model!r}; known: {sorted(MODELS)}")
    if outcome not in trial.data.columns or trial.data[outcome].isna().all():
        return _not_testable(claim, f"no {outcome} data")
    for col in (*NEEDS.get(model, ()), *([with_column(claim)] if with_column(claim) else [])):
        if col not in trial.data.columns:
            return _not_testable(claim, f"no {col} data")
    if model in AT_VISIT:
        col = {None: outcome, "with": with_column(claim)}[AT_VISIT[model]]
        at = trial.data.loc[trial.data["visit"] == float(claim["visit"]), col]
        if not at.notna().any():
            return _not_testable(claim, f"no {col} data at week {float(claim['visit']):g}")
    if test == "combination":
        pairs = COMBINATION_PAIRS
    elif test == "physio_vs_control":
        pairs = (("physio", "control"),)
    elif test == "safety":
        pairs = tuple((a, "physio") for a in ("acupuncture", "combined") if a in trial.arms)
    else:
        raise DataError(f"claim {claim['id']}: unknown test {test!r}; use combination, physio_vs_control or safety")
    absent = sorted({a for pair in pairs for a in pair} - set(trial.arms))
    if absent or not pairs:
        return _not_testable(claim, f"no {' or '.join(absent) or 'acupuncture'} arm")
    if claim.get("subgroup"):
        sub = subset_trial(trial, claim["subgroup"])
        if isinstance(sub, str):
            return _not_testable(claim, sub)
        empty = sorted({a for pair in pairs for a in pair} - {str(a) for a in sub.data["arm"].unique()})
        if empty:
            return _not_testable(claim, f"no {' or '.join(empty)} subjects with {claim['subgroup']}")
        trial = sub
    try:
        if fitted is not None:
            contrasts, units, measure, res = from_result(fitted, trial, claim, pairs, alpha)
        else:
            contrasts, units, measure, res = MODELS[model](trial, claim, pairs, alpha)
    except ModelError as err:  # the model cannot be fitted to these data: the claim cannot be decided
        return {**_base_row(claim), "verdict": "inconclusive",
                "reason": f"Inconclusive: the {model} model could not be fitted ({err})."}
    mid = float(claim["mid"])
    if test == "safety":
        mid_scale = -mid  # the data rule safety out when even the lower limit of the excess exceeds the margin
    else:
        mid_scale = abs(math.log(mid)) if "ratio" in measure else mid
    if any(not math.isfinite(c.p_one) for c in contrasts.values()):
        bad = [c.label for c in contrasts.values() if not math.isfinite(c.p_one)]
        size = _size(res.fitted) if res is not None else {}
        return {**_base_row(claim), **size, "measure": measure, "units": units, "verdict": "inconclusive",
                "reason": f"Inconclusive: {', '.join(bad)} could not be estimated (no variation or no events)."}
    deciding = max(contrasts.values(), key=lambda c: c.p_one)  # the intersection-union test: the weaker one
    # the claim (better than EACH comparator) is ruled out as soon as one comparison rules out the MID
    ruled = min(contrasts.values(), key=lambda c: c.effect_high)
    # the MID on the figure's standardised scale: the factor the report used for this claim's effects
    factors = [c.std_effect / c.effect for c in contrasts.values() if math.isfinite(c.effect) and c.effect != 0]
    std_mid = mid_scale * factors[0] if factors else math.nan
    return {**_base_row(claim), **_shown(deciding, res), "measure": measure, "units": units, "p": deciding.p_one,
            "std_mid": std_mid,
            "_mid": mid_scale, "_effect": min(c.effect for c in contrasts.values()), "_test": test, "_pairs": len(pairs),
            "mid": mid, "_ruled_out": _shown(ruled, res) if ruled.effect_high < mid_scale else None}


def _shown(c: Contrast, res) -> dict:
    """The columns of the report row that describe one contrast."""
    return {**_size(c.fitted or res.fitted), "contrast": c.label, "estimate": c.estimate, "ci_low": c.ci_low,
            "ci_high": c.ci_high, "std_effect": c.std_effect, "std_ci_low": c.std_low, "std_ci_high": c.std_high}


def _verdict(row: dict, alpha: float, method: str, n_tests: int) -> tuple[str, str]:
    """The verdict by the one rule (:func:`combotherapy.verdict.decide`) and the reason that explains it."""
    level = f"{100 * (1 - alpha):g}% CI"
    what = (f"{row['contrast']}: {row['measure']} {row['estimate']:.3g} {row['units']}".rstrip()
            + f" ({level} {row['ci_low']:.3g} to {row['ci_high']:.3g})")
    safety = row["_test"] == "safety"
    ratio = "ratio" in row["measure"]
    stopped = row.get("_stopped_at") is not None
    p_adj = math.inf if stopped else row["p_adj"]
    # non-inferiority (safety): the claimed direction is "no worse than the margin", effect above -margin
    effect = row["_effect"] - row["_mid"] if safety else row["_effect"]
    verdict = decide(p_adj, alpha, effect=effect, mid=None if safety else row["mid"],
                     mid_effect=None if safety else row["_mid"], mid_units=row["units"], ratio=ratio)
    mid = f"the minimal important difference is {mid_phrase(row['mid'], row['units'], ratio=ratio)}"
    note = multiplicity_note(row["p"], p_adj, alpha, method, n_tests)
    if stopped:
        note = (f"Not tested: the fixed sequence stopped at claim {row['_stopped_at']}, which was not shown "
                f"(own p {p_text(row['p'])}).")
    if verdict != NOT_SUPPORTED:
        if safety:
            why = f"No more patients with adverse events than physiotherapy, within the margin of {row['mid']:g}"
        else:
            both = "each monotherapy" if row["_test"] == "combination" else "the comparator"
            why = f"Better than {both}"
        return verdict, f"{why}; the weaker comparison is {what}, adjusted p {p_text(row['p_adj'])}; {mid}."
    if row["_ruled_out"] is not None:
        row.update(row["_ruled_out"])  # show the comparison that rules the claimed benefit out
        what = (f"{row['contrast']}: {row['measure']} {row['estimate']:.3g} {row['units']}".rstrip()
                + f" ({level} {row['ci_low']:.3g} to {row['ci_high']:.3g})")
        why = ("More patients with adverse events than with physiotherapy alone, by more than the margin of "
               f"{row['mid']:g}" if safety else
               "Not shown, and the data rule out a benefit as large as the minimal important difference")
    else:
        why = "Not shown" + (", nor an excess beyond the margin" if safety else "; an important benefit is not "
                             "ruled out either")
    text = f"{why} (adjusted p {p_text(row['p_adj'])}): {what}; {mid}."
    return verdict, (f"{note} {text}" if note else text)


class ClaimsReport(Result):
    """One row per claim: outcome, model, deciding contrast, estimate and CI, p, adjusted p, verdict, reason."""

    tables = ("table",)

    def headline(self) -> list[str]:
        counts = self.table["verdict"].value_counts()
        return ["Verdicts: " + ", ".join(f"{v} {n}" for v, n in counts.items())]


def claims_report(trial: Trial, claims: pd.DataFrame | None = None, *, alpha: float = DEFAULTS["alpha"],
                  multiplicity: str = "holm", results: Mapping[str, Result] | None = None) -> ClaimsReport:
    """Test every claim in ``claims`` (default: the package's table) and give each a verdict.

    Parameters
    ----------
    trial : Trial
    claims : DataFrame, optional
        Columns ``id, claim, outcome, model, visit, test, mid, subgroup`` and optionally ``with`` (see
        :func:`default_claims` and the module docstring).
        Models: ``ancova``, ``ancova_log``, ``count``, ``survival``, ``adherence``, ``safety``, ``mediation``
        (``visit`` is then the week of the early pain measurement: the change in pain from baseline to it
        mediates the effect on sessions attended; the claim is its average causal mediated effect, ACME > 0,
        with ``mid`` in proportion of sessions). ``visit`` is the analysed week of visit-level models; a claim
        whose outcome has no value at that week is not testable.
    alpha : float
        Family-wise error rate across the claims.
    multiplicity : {"holm", "fixed-sequence", "none"}
        Holm across the testable claims, or fixed-sequence in table order (the first claim — pain — tested
        first; adjusted p = running maximum), or none.
    results : mapping of claim id -> fitted result, optional
        Already fitted results to decide those claims with instead of fitting the claim's ``model`` by name: any
        result with an ``inference`` (``ct.ancova``, ``ct.mmrm``, or a model of your own) for the claim's outcome;
        its contrasts of the claim's pairs are recomputed at ``alpha``, unadjusted.

    Returns
    -------
    ClaimsReport
        ``.table``: ``id, claim, outcome, model, visit, contrast, measure, estimate, ci_low, ci_high, units,
        mid, p, p_adj, verdict, reason, n, n_excluded, std_effect, std_ci_low, std_ci_high, std_mid``
        (``mid``: the claim's minimal important difference, beside its verdict; ``std_mid``: the MID on the
        standardised scale of ``std_effect``, for the figure; for safety minus the margin). ``n`` is the number of
        subjects the claim's model analysed and ``n_excluded`` how many it left out (missing values; see the
        model's own result for who and why). ``estimate`` and its CI belong to the deciding (weaker)
        contrast, on the instrument's scale (ratio measures on the ratio scale); ``std_effect`` is the
        benefit-signed standardised effect (mean differences over the pooled baseline SD; log ratios times
        sqrt(3)/pi, Chinn 2000; risk differences over the SD of the pooled proportion) with its interval, for
        the claims figure.

    Notes
    -----
    The one-sided p-value of each comparison is computed in the instrument's good direction from the model's
    Wald (t or z) statistic; for adherence from the quasi-binomial fit when the binomial one is overdispersed
    (Pearson chi-square / df > 1); for safety from the Farrington–Manning score test of non-inferiority of the
    risk difference (:func:`combotherapy.models.safety.noninferiority_rd`), which stays valid with no events.
    Intervals are unadjusted (1 - alpha) two-sided intervals (for safety Newcombe's, which decide "not
    supported"). A model that cannot be fitted to the data (e.g. no variation) makes its claim
    ``inconclusive`` with the reason; data errors of all claims are collected into one ``DataError``.

    References
    ----------
    Laska EM, Meisner MJ. Testing whether an identified treatment is best. Biometrics 1989;45:1139-51.
    Holm S. A simple sequentially rejective multiple test procedure. Scand J Stat 1979;6:65-70.
    Maurer W, Hothorn LA, Lehmacher W. Multiple comparisons in drug clinical trials and preclinical assays:
    a-priori ordered hypotheses. In: Vollmar J (ed). Biometrie in der chemisch-pharmazeutischen Industrie 6,
    Fischer, 1995 (fixed sequence). Farrington CP, Manning G. Stat Med 1990;9:1447-54 (non-inferiority).
    Imai K, Keele L, Tingley D. Psychol Methods 2010;15:309-34 (mediation).

    Example
    -------
    >>> import combotherapy as ct
    >>> report = ct.claims_report(ct.simulate_trial(seed=1))
    >>> report.table[["id", "verdict"]].shape[1]
    2
    """
    multiplicity = check_choice(multiplicity, ("holm", "fixed-sequence", "none"), "multiplicity")
    alpha = check_alpha(alpha)
    results = dict(results or {})
    bad = [k for k, r in results.items() if not isinstance(r, Result) or r.inference is None]
    if bad:
        raise ArgumentError(f"results for claim(s) {bad} are not fitted results with an inference interface",
                            argument="results", kind="no inference")
    table = default_claims() if claims is None else claims.copy()
    absent = [c for c in CLAIM_COLUMNS if c not in table.columns]
    if absent:
        raise DataError(f"the claims table lacks the columns {absent}; see ct.claims.default_claims()")
    table["subgroup"] = table["subgroup"].fillna("").astype(str)
    rows, problems, messages = [], [], []
    for _, claim in table.iterrows():  # one model per claim (a dozen)
        try:
            rows.append(_evaluate(trial, claim, alpha, results.get(str(claim["id"]))))
        except DataError as err:  # keep going: the user gets every data problem of every claim at once
            for pr in err.problems or ():
                if pr not in problems:
                    problems.append(pr)
            if not err.problems and str(err) not in messages:
                messages.append(str(err))
    if problems or messages:
        head = "the claims cannot be tested until the data problems below are fixed"
        raise DataError("\n".join([head, *messages]) if messages else head, problems)
    testable = [r for r in rows if "p" in r]
    if testable:
        p = np.array([r["p"] for r in testable])
        if multiplicity == "holm":
            padj = p_adjust(p, "holm")
        elif multiplicity == "fixed-sequence":
            padj = np.maximum.accumulate(p)
            # the first claim not rejected stops the sequence: later claims are not tested, whatever their p
            stop = np.flatnonzero(p >= alpha)
            if stop.size:
                for r in testable[stop[0] + 1:]:
                    r["_stopped_at"] = testable[stop[0]]["id"]
        else:
            padj = p
        for r, q in zip(testable, padj):
            r["p_adj"] = float(q)
            r["verdict"], r["reason"] = _verdict(r, alpha, multiplicity, len(testable))
    cols = ["id", "claim", "outcome", "model", "visit", "contrast", "measure", "estimate", "ci_low", "ci_high",
            "units", "mid", "p", "p_adj", "verdict", "reason", "n", "n_excluded", "std_effect", "std_ci_low",
            "std_ci_high", "std_mid"]
    frame = pd.DataFrame(rows).reindex(columns=cols)
    # counts stay whole numbers beside the empty cells of untestable claims; text columns are text
    frame[["n", "n_excluded"]] = frame[["n", "n_excluded"]].astype("Int64")
    text = ["id", "claim", "outcome", "model", "contrast", "measure", "units", "verdict", "reason"]
    frame[text] = frame[text].astype("str")
    fitted = Fitted(model="claims report: intersection-union tests of combined vs each monotherapy",
                    adjust=multiplicity, alpha=alpha, excluded=_excluded(rows),
                    n_per_arm=subject_index(trial).arm.value_counts().reindex(trial.arms).astype(int).to_dict(),
                    notes=["p is one-sided, in the instrument's good direction; for the combination rule it is the "
                           "larger of the two p-values (combined vs physio, combined vs acupuncture).",
                           "Verdicts (one rule, combotherapy.verdict.decide): supported when the adjusted p < alpha "
                           "with the estimate in the claimed direction, otherwise not supported; a supported claim "
                           "whose estimate is below its minimal important difference says so; inconclusive only "
                           "when the model could not be fitted.",
                           "Each claim's model drops subjects without the values it needs: see the columns n and "
                           "n_excluded, and the model's own result for who and why."])
    report = ClaimsReport("Claims report", fitted, table=frame)
    if getattr(trial, "design", "randomised") == "observational":  # E-values, warnings (combotherapy.observational)
        from .observational.evalues import observational_claims
        report = observational_claims(report, alpha, results)
    return report
