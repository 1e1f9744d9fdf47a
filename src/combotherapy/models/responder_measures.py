"""The effect measures of a responder analysis, per pair of arms: risk difference (Newcombe interval, score
test), risk ratio (Katz), the adjusted odds ratio (logistic regression on arm, baseline and covariates), the
number needed to treat (Altman) and the standardised (g-computation) risk difference and ratio.

Shared by :func:`combotherapy.models.responders.responders` and the out-of-core path
(:mod:`combotherapy.scale.responders`), which passes the logistic fit it computed from aggregates.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from ..arms import contrast_label
from ..errors import ModelError
from ..inference import Inference, p_adjust
from ._covariates import Covariates, arm_design
from .proportions import newcombe_diff_ci, nnt_altman, risk_ratio_katz, score_test_diff, z_value
from .standardisation import bootstrap_risks, counterfactual_designs, standardised_contrasts, standardised_risks

__all__ = ["ADJUSTED", "CONTRAST_COLUMNS", "INTERVALS", "MEASURES", "SEPARATION_EPS", "check_separation", "contrast_table", "logistic_fit",
           "pair_log_odds", "standardised_rows"]

#: the effect measures in ``.contrasts``, in the order they are listed for each pair
MEASURES = ("risk_difference", "risk_ratio", "odds_ratio", "nnt")
#: the standardised (g-computation) measures added with covariates or ``standardise=True``
ADJUSTED = ("adjusted_risk_difference", "adjusted_risk_ratio")
INTERVALS = ("delta", "bootstrap")
#: fitted probabilities closer than this to 0 or 1 mean the logistic MLE does not exist
SEPARATION_EPS = 1e-8

CONTRAST_COLUMNS = ["contrast", "first", "second", "measure", "estimate", "se", "df", "statistic", "p", "p_adj",
                    "ci_low", "ci_high", "log_estimate", "note"]
CONTRAST_COLUMNS = ["contrast", "first", "second", "measure", "estimate", "se", "df", "statistic", "p", "p_adj",
                    "ci_low", "ci_high", "log_estimate", "note"]


def check_separation(converged: bool, mu: np.ndarray, outcome: str, covariates: bool = False) -> None:
    """A ModelError when the logistic fit did not converge or a fitted probability is 0 or 1 (separation: the
    maximum-likelihood estimate does not exist)."""
    if not converged or np.any(mu < SEPARATION_EPS) or np.any(mu > 1 - SEPARATION_EPS):
        raise ModelError(f"responder status at this visit is perfectly predicted by arm and baseline '{outcome}'"
                         f"{' and the covariates' if covariates else ''} (separation), so the adjusted odds ratio "
                         "does not exist; report the risk difference and risk ratio, or use a penalised (Firth) "
                         "logistic model")


def pair_log_odds(rows: pd.DataFrame, pairs: list[tuple[str, str]], fit_arms: list[str], beta: np.ndarray,
                  vcov: np.ndarray) -> None:
    """Fill ``rows`` (one per pair) with the log odds ratios of the pairs whose arms were fitted: the difference
    of the arms' coefficients (column j of the design for arm j > 0; the reference arm is 0), Wald z test."""
    pos = {a: j for j, a in enumerate(fit_arms)}
    ok = [i for i, (a, b) in enumerate(pairs) if a in pos and b in pos]
    C = np.zeros((len(ok), len(beta)))
    for r, i in enumerate(ok):   # a handful of pairs
        a, b = pairs[i]
        if pos[a]:
            C[r, pos[a]] += 1.0
        if pos[b]:
            C[r, pos[b]] -= 1.0
    est = C @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", C, vcov, C))
    rows.loc[ok, "log_estimate"] = est
    rows.loc[ok, "se"] = se
    rows.loc[ok, "statistic"] = est / se
    rows.loc[ok, "p"] = 2 * stats.norm.sf(np.abs(est / se))


def logistic_fit(frame: pd.DataFrame, arms: list[str], pairs: list[tuple[str, str]],
              outcome: str, cov: Covariates) -> tuple[pd.DataFrame, dict]:
    """Adjusted log odds ratios for each pair: logit P(resp) = b0 + b_arm + b_base * baseline + covariates.

    ``info["model"]`` holds what standardisation needs (the fit, its design and arms) when the model was fitted.
    """
    counts = frame.groupby("arm", observed=True)["responder"].agg(["sum", "count"])
    degenerate = [a for a in arms if counts.loc[a, "sum"] in (0, counts.loc[a, "count"])]
    fit_arms = [a for a in arms if a not in degenerate]
    rows = pd.DataFrame({"log_estimate": np.nan, "se": np.nan, "statistic": np.nan, "p": np.nan,
                         "note": ""}, index=range(len(pairs)))
    info = {"formula": f"responder ~ arm + baseline {outcome}" + "".join(f" + {c}" for c in cov.names),
            "family": "binomial (logit link)",
            "arms": fit_arms, "not_estimable": degenerate, "n": 0}
    for i, (a, b) in enumerate(pairs):
        bad = [x for x in (a, b) if x in degenerate]
        if bad:
            which = "; ".join(f"'{x}' has {'no' if counts.loc[x, 'sum'] == 0 else 'only'} responders" for x in bad)
            rows.loc[i, "note"] = (f"not estimable: {which} (the logistic MLE does not exist; "
                                   f"see risk_difference and risk_ratio)")
    if len(fit_arms) < 2:
        return rows, info

    sub = frame.loc[frame["arm"].isin(fit_arms)].reset_index(drop=True)
    sub = sub.assign(arm=sub["arm"].astype(str))
    design = arm_design(sub, fit_arms, cov, ["baseline"])
    X = design.X
    y = sub["responder"].to_numpy(dtype=float)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        what = (f"the baseline '{outcome}' is the same for every subject analysed" if not cov.names else
                f"the baseline '{outcome}' or a covariate is constant, or a copy of another term, among the "
                "subjects analysed")
        raise ModelError(f"{what}, so the logistic model {info['formula']} cannot separate its effect from the "
                         "intercept; the risk difference and risk ratio need no model, but the adjusted odds "
                         "ratio is not defined")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation is checked below from the fitted values
        try:
            fit = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-13, maxiter=200)
        except (PerfectSeparationError, np.linalg.LinAlgError, ValueError) as e:
            raise ModelError(f"the logistic model responder ~ arm + baseline could not be fitted ({e}); "
                             f"use the risk difference and risk ratio, which need no model") from None
        mu = fit.fittedvalues  # lazy: computed here so its exp() overflow under separation stays silenced
    check_separation(fit.converged, mu, outcome, bool(cov.names))
    beta, vcov = np.asarray(fit.params), np.asarray(fit.cov_params())
    pair_log_odds(rows, pairs, fit_arms, beta, vcov)
    k = len(fit_arms)  # the baseline's column follows the intercept and the arm dummies
    info.update(n=int(len(sub)), baseline_coef=float(beta[k]), baseline_se=float(np.sqrt(vcov[k, k])),
                terms=list(design.names), coef=beta.tolist(),
                model={"design": design, "beta": beta, "vcov": vcov, "frame": sub, "y": y},
                inference=Inference(tuple(design.names), beta, vcov, np.inf, "z", design.grid, link="logit"))
    return rows, info


def standardised_rows(base: pd.DataFrame, info: dict, pairs: list[tuple[str, str]], ci_alpha: float,
                       interval: str, n_boot: int, rng: np.random.Generator | None
                       ) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str]]:
    """Covariate-adjusted (standardised) risk differences and ratios per pair, and the standardised risk per arm."""
    empty = base.assign(estimate=np.nan, se=np.nan, statistic=np.nan, p=np.nan, ci_low=np.nan, ci_high=np.nan,
                        log_estimate=np.nan, note="not estimable: the logistic model has no estimate for this arm "
                                                  "(no or only responders)")
    rd_rows, rr_rows = empty.assign(measure=ADJUSTED[0]), empty.assign(measure=ADJUSTED[1])
    model = info.get("model")
    if model is None:
        return pd.concat([rd_rows, rr_rows], ignore_index=True), None, []
    fit_arms, design = info["arms"], model["design"]
    k = len(fit_arms)
    cols = slice(1, k)
    Xa = counterfactual_designs(design.X, k, cols)
    P, J = standardised_risks(Xa, model["beta"])
    ok = [i for i, (a, b) in enumerate(pairs) if a in fit_arms and b in fit_arms]
    first = np.array([fit_arms.index(pairs[i][0]) for i in ok], dtype=int)
    second = np.array([fit_arms.index(pairs[i][1]) for i in ok], dtype=int)
    z = stats.norm.isf(ci_alpha / 2)
    notes = []
    arm_se = np.sqrt(np.einsum("kp,pq,kq->k", J, model["vcov"], J))
    risks = pd.DataFrame({"arm": fit_arms, "estimate": P, "se": arm_se, "ci_low": P - z * arm_se,
                          "ci_high": P + z * arm_se})
    if interval == "delta":
        res = standardised_contrasts(P, J, model["vcov"], first, second, ci_alpha)
        rd, lrr = res["difference"], res["log_ratio"]
    else:
        assert rng is not None  # responders() requires rng= for interval="bootstrap"
        arm_index = np.array([fit_arms.index(a) for a in model["frame"]["arm"]], dtype=int)
        boot, failed = bootstrap_risks(design.X, model["y"], arm_index, k, cols, model["beta"], n_boot, rng)
        if failed:
            notes.append(f"Adjusted risks, bootstrap: {failed} of {n_boot} samples had no logistic estimate "
                         "(separation or non-convergence) and were left out.")
        if len(boot) < 2:
            raise ModelError("the bootstrap of the adjusted risks failed in almost every sample (separation); use "
                             "interval='delta'")
        q = [100 * ci_alpha / 2, 100 * (1 - ci_alpha / 2)]
        frames = []
        for est, draws in ((P[first] - P[second], boot[:, first] - boot[:, second]),
                           (np.log(P[first] / P[second]), np.log(boot[:, first] / boot[:, second]))):
            se = draws.std(axis=0, ddof=1)
            lo, hi = np.percentile(draws, q, axis=0)
            frames.append(pd.DataFrame({"estimate": est, "se": se, "statistic": est / se,
                                        "p": 2 * stats.norm.sf(np.abs(est / se)), "ci_low": lo, "ci_high": hi}))
        rd, lrr = frames
        risks["se"] = boot.std(axis=0, ddof=1)
        risks["ci_low"], risks["ci_high"] = np.percentile(boot, q, axis=0)
    for col in ("estimate", "se", "statistic", "p", "ci_low", "ci_high"):
        rd_rows.loc[ok, col] = rd[col].to_numpy()
        rr_rows.loc[ok, col] = (np.exp(lrr[col]) if col in ("estimate", "ci_low", "ci_high") else lrr[col]).to_numpy()
    rr_rows.loc[ok, "log_estimate"] = lrr["estimate"].to_numpy()
    rd_rows.loc[ok, "note"] = rr_rows.loc[ok, "note"] = ""
    return pd.concat([rd_rows, rr_rows], ignore_index=True), risks, notes


def contrast_table(arm_tab: pd.DataFrame, frame: pd.DataFrame, pairs: list[tuple[str, str]], alpha: float,
                    adjust: str, outcome: str, cov: Covariates, standardise: bool, interval: str, n_boot: int,
                    rng: np.random.Generator | None, logistic=None
                    ) -> tuple[pd.DataFrame, dict, list[str], pd.DataFrame | None]:
    # ``logistic``: the odds-ratio fit (default :func:`logistic_fit` on ``frame``); the out-of-core path
    # (combotherapy.scale.responders) passes the same fit from aggregate queries
    m = len(pairs)
    # Bonferroni-adjusted intervals: each pair at alpha / m; Holm has no matching intervals
    ci_alpha = alpha / m if adjust == "bonferroni" else alpha
    z = z_value(ci_alpha)
    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    t = arm_tab.set_index("arm")
    x1, n1 = t.loc[first, "responders"].to_numpy(float), t.loc[first, "n"].to_numpy(float)
    x2, n2 = t.loc[second, "responders"].to_numpy(float), t.loc[second, "n"].to_numpy(float)
    labels = [contrast_label(a, b) for a, b in pairs]
    base = pd.DataFrame({"contrast": labels, "first": first, "second": second})
    notes: list[str] = []

    rd = newcombe_diff_ci(x1, n1, x2, n2, ci_alpha)
    zs, ps = score_test_diff(x1, n1, x2, n2)
    rd_rows = base.assign(measure="risk_difference", estimate=rd.estimate, se=rd.se, statistic=zs, p=ps,
                          ci_low=rd.ci_low, ci_high=rd.ci_high, log_estimate=np.nan, note="")

    rr = risk_ratio_katz(x1, n1, x2, n2, ci_alpha)
    rr_note = np.where(rr.corrected, "0.5 added to each cell (a zero count)", "")
    rr_note = np.where(np.isnan(rr.log_estimate), "not estimable: no responders in either arm", rr_note)
    rr_rows = base.assign(measure="risk_ratio", estimate=rr.estimate, se=rr.se, statistic=rr.statistic, p=rr.p,
                          ci_low=rr.ci_low, ci_high=rr.ci_high, log_estimate=rr.log_estimate, note=rr_note)
    if np.any(rr.corrected):
        notes.append("Risk ratio: 0.5 was added to every cell of the 2x2 table for "
                     + ", ".join(np.array(labels)[np.asarray(rr.corrected, bool)]) + " (a zero count).")

    lg, info = (logistic or logistic_fit)(frame, list(t.index), pairs, outcome, cov)
    or_rows = base.assign(measure="odds_ratio", estimate=np.exp(lg["log_estimate"]), se=lg["se"],
                          statistic=lg["statistic"], p=lg["p"], ci_low=np.exp(lg["log_estimate"] - z * lg["se"]),
                          ci_high=np.exp(lg["log_estimate"] + z * lg["se"]), log_estimate=lg["log_estimate"],
                          note=lg["note"])
    if info["not_estimable"]:
        notes.append("Odds ratio: not estimable for " + ", ".join(f"'{a}'" for a in info["not_estimable"])
                     + " (no or only responders); the logistic model was fitted to the other arms.")

    nnt = nnt_altman(rd.estimate, rd.ci_low, rd.ci_high)
    nnt_rows = base.assign(measure="nnt", estimate=nnt.estimate, se=np.nan, statistic=np.nan, p=np.nan,
                           ci_low=nnt.ci_low, ci_high=nnt.ci_high, log_estimate=np.nan, note=nnt.note)

    parts = [rd_rows, rr_rows, or_rows, nnt_rows]
    risks = None
    if standardise:
        std_rows, risks, std_notes = standardised_rows(base, info, pairs, ci_alpha, interval, n_boot, rng)
        parts.append(std_rows)
        notes += std_notes
    out = pd.concat(parts, ignore_index=True)
    out["df"] = np.inf  # normal-theory (z) inference throughout
    out["p_adj"] = np.nan
    for meas in MEASURES + ADJUSTED:
        sel = (out["measure"] == meas).to_numpy()
        out.loc[sel, "p_adj"] = p_adjust(out.loc[sel, "p"].to_numpy(float), adjust)
    # long form ordered by pair, then measure
    out["_pair"] = out["contrast"].map({c: i for i, c in enumerate(labels)})
    out["_meas"] = out["measure"].map({mm: i for i, mm in enumerate(MEASURES + ADJUSTED)})
    out = out.sort_values(["_pair", "_meas"], kind="stable").drop(columns=["_pair", "_meas"])
    out["note"] = out["note"].astype("str")
    info.pop("model", None)  # arrays for standardisation only; the record keeps plain values
    return out[CONTRAST_COLUMNS].reset_index(drop=True), info, notes, risks
