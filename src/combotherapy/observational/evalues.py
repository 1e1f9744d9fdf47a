"""E-values: how strong unmeasured confounding would have to be to explain an estimate away.

The E-value (VanderWeele & Ding 2017) is the minimum strength of association, on the risk-ratio scale, that an
unmeasured confounder would need with both the treatment and the outcome (conditional on the measured covariates)
to move the point estimate (or the confidence limit nearest the null) to the null:

    E = RR + sqrt(RR (RR - 1))   for RR >= 1 (for RR < 1 apply it to 1/RR);

for a confidence interval, E is computed for the limit closest to 1, and is 1 when the interval contains 1.
Other measures are first converted to an approximate risk ratio:

- odds ratio: RR ~ OR when the outcome is rare (< 15% in every arm, ``rare=True``), else RR ~ sqrt(OR);
- hazard ratio: RR ~ HR when rare, else RR ~ (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR));
- standardised mean difference d (with its SE): RR ~ exp(0.91 d), limits exp(0.91 d -/+ 1.78 se).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = ["MEASURES", "RARE_OUTCOME", "EVALUE_NOTE", "evalue", "evalue_table", "evalues"]

MEASURES = ("RR", "OR", "HR", "SMD")
#: outcome proportion below which an OR or HR is taken to approximate a RR
RARE_OUTCOME = 0.15


def _e(rr: np.ndarray) -> np.ndarray:
    rr = np.where(rr < 1, 1 / rr, rr)
    return rr + np.sqrt(rr * (rr - 1))


def _to_rr(x, measure, rare):
    x = np.asarray(x, dtype=float)
    if measure == "RR" or (measure in ("OR", "HR") and rare):
        return x
    if measure == "OR":
        return np.sqrt(x)
    if measure == "HR":
        return (1 - 0.5 ** np.sqrt(x)) / (1 - 0.5 ** np.sqrt(1 / x))
    raise AssertionError(measure)


def evalue(estimate, ci_low=None, ci_high=None, *, measure: str = "RR", rare: bool | None = None, se=None
           ) -> pd.DataFrame:
    """E-values of estimates (vectorised).

    Parameters
    ----------
    estimate : float or array
        Ratio (RR, OR, HR) on the ratio scale, or a standardised mean difference (``measure="SMD"``).
    ci_low, ci_high : float or array, optional
        Confidence limits (ratio measures). For an SMD give ``se`` instead.
    measure : {"RR", "OR", "HR", "SMD"}
    rare : bool, optional
        Required for OR and HR: is the outcome rare (< 15%) in every arm?
    se : float or array, optional
        Standard error of the SMD.

    Returns
    -------
    DataFrame
        ``rr, rr_low, rr_high`` (approximate risk ratios), ``evalue`` (point estimate), ``evalue_ci`` (limit
        nearest the null; 1 when the interval includes the null; NaN when no interval was given).

    References
    ----------
    VanderWeele TJ, Ding P. Sensitivity analysis in observational research: introducing the E-value. Ann Intern
    Med 2017;167:268-74.

    Example
    -------
    >>> round(float(evalue(3.9, 1.8, 8.7)["evalue"].iloc[0]), 2)
    7.26
    """
    if measure not in MEASURES:
        raise DataError(f"measure must be one of {list(MEASURES)}, not {measure!r}")
    if measure in ("OR", "HR") and rare is None:
        raise DataError(f"an {measure} needs rare=True or False: is the outcome below {RARE_OUTCOME:.0%} in every "
                        "arm? (a common outcome uses the square-root conversion)")
    est = np.atleast_1d(np.asarray(estimate, dtype=float))
    if measure == "SMD":
        if se is None:
            raise DataError("an SMD needs its standard error (se=) for the interval's E-value")
        s = np.atleast_1d(np.asarray(se, dtype=float))
        rr, lo, hi = np.exp(0.91 * est), np.exp(0.91 * est - 1.78 * s), np.exp(0.91 * est + 1.78 * s)
    else:
        if np.any(est <= 0):
            raise DataError(f"a {measure} must be positive")
        rr = _to_rr(est, measure, rare)
        lo = _to_rr(ci_low, measure, rare) if ci_low is not None else np.full_like(rr, np.nan)
        hi = _to_rr(ci_high, measure, rare) if ci_high is not None else np.full_like(rr, np.nan)
        lo, hi = np.broadcast_to(lo, rr.shape).astype(float), np.broadcast_to(hi, rr.shape).astype(float)
    e_point = _e(rr)
    # the limit nearest the null: the lower one above 1, the upper one below 1
    near = np.where(rr >= 1, lo, hi)
    crosses = np.where(rr >= 1, lo <= 1, hi >= 1)
    e_ci = np.where(np.isnan(near), np.nan, np.where(crosses, 1.0, _e(np.where(np.isnan(near), 1.0, near))))
    return pd.DataFrame({"rr": rr, "rr_low": lo, "rr_high": hi, "evalue": e_point, "evalue_ci": e_ci})


def evalues(result, *, rare: bool | None = None) -> pd.DataFrame:
    """E-values for every contrast of a weighted, doubly robust or matched analysis, beside the estimates.

    A 0/1 outcome uses the risk ratios (``result.ratios``), or the odds ratios of a weighted logistic regression
    (rare outcome, RR ~ OR, when every arm's proportion is below 15%, else RR ~ sqrt(OR)); a continuous outcome
    converts each difference to an SMD by dividing by the pooled within-arm SD of the outcome
    (``d = estimate / sd``, ``se_d = se / sd``).

    Parameters
    ----------
    result : AIPWResult, WeightedMeansResult or MatchResult
    rare : bool, optional
        For odds ratios: override the rare-outcome rule (default: decided from the data, < 15% in every arm).

    Returns
    -------
    DataFrame
        The contrast table with ``measure, rr, evalue, evalue_ci`` added.

    Example
    -------
    >>> from combotherapy.observational import simulate_registry, propensity_score, aipw, evalues
    >>> ps = propensity_score(simulate_registry(500, seed=4), "age + sex + pain0 + log(pain_duration)")
    >>> "evalue" in evalues(aipw(ps, "pain")).columns
    True
    """
    ratios = getattr(result, "ratios", None)
    contrasts = getattr(result, "contrasts", None)
    if getattr(result, "event", None) is not None and isinstance(contrasts, pd.DataFrame):
        # hazard ratios of a weighted Cox model: rare when the event happened to < 15% in every arm
        if rare is None:
            rare = _rare(result, result.event)
        table = contrasts.copy()
        ev = evalue(table["estimate"].to_numpy(), table["ci_low"].to_numpy(), table["ci_high"].to_numpy(),
                    measure="HR", rare=rare)
        table["measure"] = f"HR ({'rare event: RR ~ HR' if rare else 'common event: RR from the HR conversion'})"
    elif getattr(result, "link", None) == "logit" and isinstance(contrasts, pd.DataFrame):
        # odds ratios of a weighted logistic model: the rare-outcome rule decides the conversion
        if rare is None:
            rare = _rare(result)
        table = contrasts.copy()
        ev = evalue(table["estimate"].to_numpy(), table["ci_low"].to_numpy(), table["ci_high"].to_numpy(),
                    measure="OR", rare=rare)
        table["measure"] = f"OR ({'rare outcome: RR ~ OR' if rare else 'common outcome: RR ~ sqrt(OR)'})"
    elif getattr(result, "link", None) == "log" and isinstance(contrasts, pd.DataFrame):
        # rate ratios of a weighted Poisson or negative binomial model: taken as risk ratios
        table = contrasts.copy()
        ev = evalue(table["estimate"].to_numpy(), table["ci_low"].to_numpy(), table["ci_high"].to_numpy(),
                    measure="RR")
        table["measure"] = "RR (rate ratio)"
    elif isinstance(ratios, pd.DataFrame):
        table = ratios.copy()
        ev = evalue(table["estimate"].to_numpy(), table["ci_low"].to_numpy(), table["ci_high"].to_numpy(),
                    measure="RR")
        table["measure"] = "RR"
    else:
        sd = _outcome_sd(result)
        if not isinstance(contrasts, pd.DataFrame) or sd is None:
            raise DataError(f"{type(result).__name__} has no contrasts with an outcome SD or risk ratios; use "
                            "evalue() with the numbers directly")
        table = contrasts.copy()
        table["smd"] = table["estimate"] / sd
        ev = evalue(table["smd"].to_numpy(), measure="SMD", se=table["se"].to_numpy() / sd)
        table["measure"] = f"SMD (difference / outcome SD {sd:.4g})"
    table["rr"] = ev["rr"].to_numpy()
    table["evalue"] = ev["evalue"].to_numpy()
    table["evalue_ci"] = ev["evalue_ci"].to_numpy()
    return table


def _outcome_sd(result) -> float | None:
    sd = getattr(result, "sd_outcome", None)
    if sd is not None:
        return float(sd)
    ps = getattr(getattr(result, "weights", None), "ps", None) or getattr(result, "ps", None)
    outcome = getattr(result, "outcome", None)
    if ps is None or outcome is None:
        return None
    y = ps.data[outcome].to_numpy(float)
    codes = ps.received
    K = len(ps.arms)
    ss = sum(np.square(y[codes == k] - y[codes == k].mean()).sum() for k in range(K))
    return float(np.sqrt(ss / (len(y) - K)))


def _rare(result, column: str | None = None) -> bool:
    """Is the 0/1 outcome below RARE_OUTCOME in every arm (the VanderWeele-Ding rule for odds ratios)?"""
    ps = getattr(getattr(result, "weights", None), "ps", None) or getattr(result, "ps", None)
    y = ps.data[column or result.outcome].to_numpy(float)
    props = np.bincount(ps.received, weights=y, minlength=len(ps.arms)) / np.bincount(ps.received,
                                                                                     minlength=len(ps.arms))
    return bool(np.all(props < RARE_OUTCOME))


def evalue_table(result) -> pd.DataFrame:
    """The E-value columns shown beside a result's contrasts (``contrast, first, second, estimate, measure, rr,
    evalue, evalue_ci``)."""
    t = evalues(result)
    return t[["contrast", "first", "second", "estimate", "measure", "rr", "evalue", "evalue_ci"]].reset_index(
        drop=True)


EVALUE_NOTE = ("E-values (VanderWeele & Ding 2017): the risk-ratio association an unmeasured confounder would need "
               "with both treatment and outcome to explain the estimate (evalue) or its confidence limit (evalue_ci) "
               "away.")


def with_evalues(out):
    """On observational data, put the E-values beside the contrasts (a table ``evalues``) and say so."""
    if out.design == "observational":
        out.evalues = evalue_table(out)
        out.fitted.notes.append(EVALUE_NOTE)
    return out


#: the prefix of each claim's reason on observational data (unadjusted, or decided by an adjusted result)
CLAIM_CAVEAT = ("Observational data, arms not randomised and compared WITHOUT adjustment for confounding "
                "(E-value {e}; for the interval {e_ci}): ")
CLAIM_ADJUSTED = ("Observational data, arms not randomised; adjusted by {adjustment} (E-value {e}; for the interval "
                  "{e_ci}): ")


def claims_evalues(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """E-values of each claim's deciding contrast (columns ``evalue, evalue_ci, evalue_measure``).

    Rate ratios are taken as risk ratios; hazard and odds ratios use the common-outcome conversions (the
    conservative choice when the outcome's frequency is not checked); every other measure (mean differences,
    ratios of geometric means, risk differences, mediated effects) goes through the claims report's standardised
    effect ``std_effect`` with its SE from the (1 - alpha) interval: RR ~ exp(0.91 d).
    """
    from scipy import stats

    n = len(table)
    out = pd.DataFrame({"evalue": np.full(n, np.nan), "evalue_ci": np.full(n, np.nan),
                        "evalue_measure": [""] * n}, index=table.index)
    measure = table["measure"].astype(str)
    est = pd.to_numeric(table["estimate"], errors="coerce")
    lo, hi = pd.to_numeric(table["ci_low"], errors="coerce"), pd.to_numeric(table["ci_high"], errors="coerce")
    z = stats.norm.ppf(1 - alpha / 2)
    for i, m in zip(table.index, measure):  # one row per claim (a dozen)
        if not np.isfinite(est[i]):
            continue
        if m.startswith(("rate ratio", "hazard ratio", "odds ratio")) and est[i] > 0:
            kind = "RR" if m.startswith("rate ratio") else m.split()[0][0].upper() + "R"
            ev = evalue(est[i], lo[i], hi[i], measure=kind, rare=None if kind == "RR" else False)
            label = {"RR": "RR (rate ratio)", "HR": "HR (common event)", "OR": "OR (common outcome)"}[kind]
        else:
            d = float(pd.to_numeric(table.loc[i, "std_effect"], errors="coerce"))
            se = (float(table.loc[i, "std_ci_high"]) - float(table.loc[i, "std_ci_low"])) / (2 * z)
            if not (np.isfinite(d) and np.isfinite(se)):
                continue
            ev = evalue(d, measure="SMD", se=se)
            label = "SMD (standardised effect)"
        out.loc[i, ["evalue", "evalue_ci"]] = [float(ev["evalue"].iloc[0]), float(ev["evalue_ci"].iloc[0])]
        out.loc[i, "evalue_measure"] = label
    return out


def observational_claims(report, alpha: float = 0.05, results=None):
    """A claims report on observational data: the design recorded, each claim's E-values beside its contrast, and
    each testable claim's reason opened with the warning that the arms were compared without adjustment (or, for a
    claim decided by a fitted result given in ``results`` that records an adjustment, e.g. a weighted regression,
    with that adjustment named)."""
    from ..results import UNADJUSTED_WARNING, record_design

    table = report.table
    ev = claims_evalues(table, alpha)
    for k, res in (results or {}).items():  # a result with its own E-values (observational fits): use its row
        own = getattr(res, "evalues", None)
        rows = table.index[table["id"].astype(str) == str(k)]
        if not isinstance(own, pd.DataFrame) or not len(rows):
            continue
        hit = own[own["contrast"].astype(str) == str(table.loc[rows[0], "contrast"])]
        if len(hit):
            ev.loc[rows[0], ["evalue", "evalue_ci"]] = hit[["evalue", "evalue_ci"]].to_numpy(float)[0]
            ev.loc[rows[0], "evalue_measure"] = f"from the result: {hit['measure'].iloc[0]}"
    at = list(table.columns).index("ci_high") + 1
    for k, col in enumerate(("evalue", "evalue_ci", "evalue_measure")):
        table.insert(at + k, col, ev[col].to_numpy())
    tested = pd.to_numeric(table["p"], errors="coerce").notna()
    fmt = lambda v: f"{v:.2f}" if np.isfinite(v) else "not computable"  # noqa: E731
    adjusted = {str(k): r.fitted.extra.get("adjustment") for k, r in (results or {}).items()
                if r.fitted.extra.get("adjustment")}
    table.loc[tested, "reason"] = [
        (CLAIM_ADJUSTED.format(adjustment=adjusted[str(i)], e=fmt(e), e_ci=fmt(c)) if str(i) in adjusted else
         CLAIM_CAVEAT.format(e=fmt(e), e_ci=fmt(c))) + r
        for i, e, c, r in zip(table.loc[tested, "id"], ev.loc[tested, "evalue"], ev.loc[tested, "evalue_ci"],
                              table.loc[tested, "reason"])]
    unadjusted = tested & ~table["id"].astype(str).isin(adjusted)
    record_design(report, "observational", warn=False,
                  adjustment=None if unadjusted.any() else "claim by claim, as each reason says")
    if unadjusted.any() and adjusted:
        report.fitted.notes[report.fitted.notes.index(UNADJUSTED_WARNING)] = (
            UNADJUSTED_WARNING + f" Claims {sorted(adjusted)} were decided by the adjusted results given.")
    report.fitted.notes.append(EVALUE_NOTE + " Here: for each claim's deciding contrast (evalue_measure says how "
                               "the estimate was put on the risk-ratio scale).")
    return report


def trial_evalues(result, trial) -> pd.DataFrame | None:
    """E-values beside the contrasts of a trial model fitted to observational data (None when none apply).

    Ratio contrasts (``log_estimate``) are converted by the model's link: rate ratios (log link) are taken as risk
    ratios, hazard ratios (a Cox model) and odds ratios (logit link, or a ``measure`` naming an odds ratio) use the
    common-outcome conversions; mean differences of a visit-level outcome become SMDs over the pooled within-arm
    SD of its baseline (as the claims report standardises), ``d = estimate / sd``, ``se_d = se / sd``. Risk
    differences and other measures get no E-value here (the claims report gives one for each claim).
    """
    contrasts = getattr(result, "contrasts", None)
    if not isinstance(contrasts, pd.DataFrame) or not {"estimate", "ci_low", "ci_high", "se"} <= set(contrasts):
        return None
    link = getattr(getattr(result, "inference", None), "link", None)
    n = len(contrasts)
    e_point, e_ci, label = np.full(n, np.nan), np.full(n, np.nan), [""] * n
    est = contrasts["estimate"].to_numpy(float)
    lo, hi = contrasts["ci_low"].to_numpy(float), contrasts["ci_high"].to_numpy(float)
    measures = contrasts["measure"].astype(str).str.replace("_", " ").tolist() if "measure" in contrasts else [""] * n
    if "log_estimate" in contrasts:
        cox = "cox" in result.fitted.model.lower()
        for i, m in enumerate(measures):  # a handful of contrasts
            kind = ("OR" if "odds ratio" in m else "RR" if "risk ratio" in m else None) if m else \
                ("HR" if cox else "OR" if link == "logit" else "RR" if link == "log" else None)
            if kind is None or not (est[i] > 0 and np.isfinite(est[i])):
                continue
            ev = evalue(est[i], lo[i], hi[i], measure=kind, rare=None if kind == "RR" else False)
            e_point[i], e_ci[i] = ev["evalue"].iloc[0], ev["evalue_ci"].iloc[0]
            label[i] = {"RR": "RR", "HR": "HR (common event)", "OR": "OR (common outcome)"}[kind]
    elif not any(measures) and result.fitted.outcome in getattr(trial, "visit_outcomes", ()):
        sd = _pooled_baseline_sd(trial, result.fitted.outcome)
        if not np.isfinite(sd) or sd <= 0:
            return None
        ev = evalue(est / sd, measure="SMD", se=contrasts["se"].to_numpy(float) / sd)
        e_point, e_ci = ev["evalue"].to_numpy(), ev["evalue_ci"].to_numpy()
        label = [f"SMD (difference / baseline SD {sd:.4g})"] * n
    if np.all(np.isnan(e_point)):
        return None
    keep = [c for c in ("visit", "contrast", "first", "second", "estimate") if c in contrasts]
    out = contrasts[keep].reset_index(drop=True).assign(evalue_measure=label, evalue=e_point, evalue_ci=e_ci)
    # mixed-measure tables (responders): only the rows with an E-value
    return out[out["evalue"].notna()].reset_index(drop=True)


def _pooled_baseline_sd(trial, outcome: str) -> float:
    """Pooled within-arm SD of the visit-0 values of ``outcome`` (NaN without two values in some arm)."""
    frame = trial.data
    base = frame.loc[frame["visit"].to_numpy(float) == 0.0, ["arm", outcome]].dropna()
    if base.empty:
        return float("nan")
    g = base.groupby("arm", observed=True)[outcome]
    n, var = g.size(), g.var(ddof=1)
    ok = n > 1
    return float(np.sqrt(((n[ok] - 1) * var[ok]).sum() / (n[ok] - 1).sum())) if ok.any() else float("nan")
