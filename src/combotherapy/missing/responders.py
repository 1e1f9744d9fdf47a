"""Responders on imputed continuous values, pooled over the imputations (:func:`analyse` with
``analysis="responders"``).

Each imputed data set classifies every subject as a responder (improvement from baseline of at least the
threshold, in the instrument's good direction, as :func:`combotherapy.responders`); per data set the proportion of
responders per arm, the risk difference with its unpooled Wald standard error and the log odds ratio of the logistic
model ``responder ~ arm + baseline`` with its model-based standard error are computed, and the estimates are pooled with Rubin's rules (approximate Bayesian MI)
or von Hippel and Bartlett's rule (bootstrapped ML MI). Conditional mean imputation is refused: responder status is a nonlinear
(step) function of the imputed value, so classifying the conditional mean does not give the expected responder
status.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..arms import contrast_label, contrast_pairs
from ..errors import DataError
from ..inference import p_adjust
from ..models.responders import TIE_TOLERANCE
from ..results import Fitted, Result
from . import pool

__all__ = ["ImputedResponders", "pooled_responders"]

_CONDMEAN = ("responders on conditional-mean imputations are not valid: responder status is a step function of the "
             "imputed value, and the status of the conditional mean is not the expected status (a subject whose "
             "conditional mean lies just past the threshold responds with a probability near one half, not 1), so "
             "the proportions would be biased and the jackknife would not fix it. Impute with "
             "ct.missing.approximate_bayes (or bootstrap_mi), which draws the missing values, and analyse those")


class ImputedResponders(Result):
    """Responders on imputed values, pooled over the imputations.

    Attributes
    ----------
    by_arm : DataFrame
        ``visit, arm, n, estimate`` (the pooled proportion of responders), ``se, df, ci_low, ci_high`` [, ``fmi``].
    contrasts : DataFrame
        ``visit, first, second, contrast, measure`` (``risk_difference``, ``odds_ratio``), ``estimate, se, df,
        statistic, p, p_adj, ci_low, ci_high, log_estimate`` [, ``fmi``]; the odds ratio (adjusted for baseline,
        as :func:`combotherapy.responders`) has ``se`` on the log scale, estimate and interval on the ratio scale.
    per_imputation : DataFrame
        ``imputation, first, second, measure, estimate, se``: the estimates that were pooled (log scale for odds
        ratios).
    estimand : Estimand
        The imputation's estimand with the responder variable and summary.
    """

    tables = ("by_arm", "contrasts")

    def __init__(self, title: str, fitted: Fitted, *, estimand, per_imputation: pd.DataFrame, instrument,
                 **tables: pd.DataFrame):
        super().__init__(title, fitted, **tables)
        self.estimand, self.per_imputation = estimand, per_imputation
        self.instrument, self.better = instrument, instrument.better


def _classify(Y: np.ndarray, base: np.ndarray, sign: int, threshold: float, relative: bool) -> np.ndarray:
    """(R, n) responder indicators of values ``Y`` (R, n) against baselines ``base`` (n,) or (R, n)."""
    improvement = sign * (Y - base)
    cut = threshold * base if relative else np.full_like(base, float(threshold))
    reached = improvement >= cut - TIE_TOLERANCE * np.maximum(1.0, np.abs(cut))
    if relative:
        reached &= base != 0  # baseline 0: no relative improvement is possible (as ct.responders)
    return reached


def _logistic(y: np.ndarray, onehot: np.ndarray, base: np.ndarray, C: np.ndarray, tol: float = 1e-12,
              max_iter: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logistic regressions ``logit P(y) = b0 + b_arm + b_base baseline`` of R data sets at once (Newton-Raphson;
    the loop is over iterations). Returns the log odds ratios ``C beta`` (R, c), their SEs (from the inverse
    information) and whether each fit converged (R,)."""
    R, n, a = onehot.shape
    X = np.concatenate([np.ones((R, n, 1)), onehot[:, :, 1:].astype(float), base[:, :, None]], axis=2)
    beta = np.zeros((R, X.shape[2]))
    done = np.zeros(R, dtype=bool)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for _ in range(max_iter):  # Newton iterations, every data set at once
            p = 1.0 / (1.0 + np.exp(-np.einsum("rnq,rq->rn", X, beta)))
            H = np.einsum("rnq,rn,rnp->rqp", X, p * (1 - p), X)
            g = np.einsum("rnq,rn->rq", X, y - p)
            try:
                step = np.linalg.solve(H, g[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                break
            step = np.where(done[:, None], 0.0, step)
            beta += step
            done |= np.abs(step).max(axis=1) < tol * np.maximum(1.0, np.abs(beta).max(axis=1))
            if done.all():
                break
        p = 1.0 / (1.0 + np.exp(-np.einsum("rnq,rq->rn", X, beta)))
        V = np.linalg.pinv(np.einsum("rnq,rn,rnp->rqp", X, p * (1 - p), X))
    est = np.einsum("cq,rq->rc", C, beta)
    se = np.sqrt(np.einsum("cq,rqp,cp->rc", C, V, C))
    return est, se, done


def _estimates(resp: np.ndarray, arm: np.ndarray, base: np.ndarray, n_arms: int, pairs_idx: list[tuple[int, int]]
               ) -> dict[str, np.ndarray]:
    """Per data set (rows of ``resp``, arm codes ``arm``, baselines ``base``, each (R, n)): proportions, the risk
    differences and the baseline-adjusted log odds ratios with their SEs."""
    onehot = arm[:, :, None] == np.arange(n_arms)[None, None, :]          # (R, n, a)
    x = np.einsum("rn,rna->ra", resp.astype(float), onehot)
    n = onehot.sum(axis=1).astype(float)
    i1, i2 = (np.array(ix, dtype=int) for ix in zip(*pairs_idx))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        rd = p[:, i1] - p[:, i2]
        rd_se = np.sqrt(p[:, i1] * (1 - p[:, i1]) / n[:, i1] + p[:, i2] * (1 - p[:, i2]) / n[:, i2])
    # contrasts on (intercept, arm dummies 1..a-1, baseline): b_first - b_second
    C = np.zeros((len(pairs_idx), n_arms + 1))
    for r, (f, s) in enumerate(pairs_idx):  # a few pairs
        if f:
            C[r, f] += 1.0
        if s:
            C[r, s] -= 1.0
    lor, lor_se, ok = _logistic(resp.astype(float), onehot, base, C)
    # an arm with no or only responders has no finite odds (ct.responders: not estimable)
    degenerate = (x == 0) | (x == n)
    bad = degenerate[:, i1] | degenerate[:, i2] | ~ok[:, None]
    return {"p": p, "p_se": np.sqrt(p * (1 - p) / n), "n": n, "rd": rd, "rd_se": rd_se,
            "lor": np.where(bad, np.nan, lor), "lor_se": np.where(bad, np.nan, lor_se)}


def pooled_responders(result, *, threshold: float, relative: bool = False, visit: float | None = None,
                      reference: str | None = None, alpha: float = 0.05, adjust: str = "none") -> ImputedResponders:
    """See :func:`combotherapy.missing.analyse` (``analysis="responders"``)."""
    run = result.run
    if run.pooling in ("jackknife", "bootstrap"):
        raise DataError(_CONDMEAN)
    imp = run.imp
    d = imp.data
    inst = result.instrument
    if d.baseline_feature is None:
        raise DataError("responders improve from their baseline value, and this imputation model has no baseline "
                        "(baseline=False); impute with baseline=True")
    if isinstance(threshold, bool) or not np.isfinite(float(threshold)) or float(threshold) <= 0:
        raise DataError(f"threshold must be a positive number (an improvement in {inst.units or 'units'}, or a "
                        f"fraction of baseline with relative=True), not {threshold!r}")
    visits = np.asarray(d.visits, float)
    v = visits[-1] if visit is None else float(visit)
    hits = np.flatnonzero(np.isclose(visits, v))
    if not len(hits):
        raise DataError(f"week {v:g} is not an analysed visit (weeks {', '.join(f'{x:g}' for x in visits)})")
    j = int(hits[0])
    base = d.features[:, d.baseline_feature]
    if relative and (base < 0).any():
        raise DataError(f"relative thresholds need positive baselines, but {int((base < 0).sum())} subjects have a "
                        "negative baseline; use an absolute threshold (relative=False)")
    arms = list(d.arms)
    pairs = contrast_pairs(arms, reference)
    pairs_idx = [(arms.index(a), arms.index(b)) for a, b in pairs]
    Y = run.imputed[:, :, j]                                                  # (R, n)
    if run.rows is None:                                                      # Rubin: the trial's own subjects
        rows = np.broadcast_to(np.arange(imp.n), Y.shape)
    else:                                                                     # bootstrap samples, D sets each
        rows = np.repeat(run.rows, run.per_boot, axis=0)
    resp = _classify(Y, base[rows], inst.sign, float(threshold), relative)
    est = _estimates(resp, d.arm_codes[rows], base[rows], len(arms), pairs_idx)
    m = Y.shape[0]

    def pooled(e: np.ndarray, s: np.ndarray) -> dict[str, np.ndarray]:
        if run.pooling == "rubin":
            out = pool.rubin(e, s, np.inf)
        else:
            out = pool.von_hippel_bartlett(e, len(run.rows), run.per_boot)
        return pool.interval(out, alpha)

    pa = pooled(est["p"], est["p_se"])
    rd = pooled(est["rd"], est["rd_se"])
    lo = pooled(est["lor"], est["lor_se"])
    fmi = "fmi" in pa
    by_arm = pd.DataFrame({"visit": v, "arm": arms, "n": np.bincount(d.arm_codes, minlength=len(arms)),
                           "estimate": pa["estimate"], "se": pa["se"], "df": pa["df"], "ci_low": pa["ci_low"],
                           "ci_high": pa["ci_high"]})
    if fmi:
        by_arm["fmi"] = pa["fmi"]
    base_rows = pd.DataFrame({"visit": v, "first": [a for a, _ in pairs], "second": [b for _, b in pairs],
                              "contrast": [contrast_label(a, b) for a, b in pairs]})
    rows_rd = base_rows.assign(measure="risk_difference", estimate=rd["estimate"], se=rd["se"], df=rd["df"],
                               statistic=rd["statistic"], p=rd["p"], ci_low=rd["ci_low"], ci_high=rd["ci_high"],
                               log_estimate=np.nan)
    rows_or = base_rows.assign(measure="odds_ratio", estimate=np.exp(lo["estimate"]), se=lo["se"],
                               df=lo["df"], statistic=lo["statistic"], p=lo["p"], ci_low=np.exp(lo["ci_low"]),
                               ci_high=np.exp(lo["ci_high"]), log_estimate=lo["estimate"])
    if fmi:
        rows_rd["fmi"], rows_or["fmi"] = rd["fmi"], lo["fmi"]
    con = pd.concat([rows_rd, rows_or], ignore_index=True)
    con.insert(con.columns.get_loc("p") + 1, "p_adj", np.nan)
    for meas in ("risk_difference", "odds_ratio"):  # the adjustment within each measure
        sel = (con["measure"] == meas).to_numpy()
        con.loc[sel, "p_adj"] = p_adjust(con.loc[sel, "p"].to_numpy(float), adjust)
    per = pd.DataFrame({"imputation": np.repeat(np.arange(m), len(pairs) * 2),
                        "first": np.tile([a for a, _ in pairs] * 2, m), "second": np.tile([b for _, b in pairs] * 2, m),
                        "measure": np.tile(["risk_difference"] * len(pairs)
                                           + ["odds_ratio"] * len(pairs), m),
                        "estimate": np.concatenate([est["rd"], est["lor"]], axis=1).ravel(),
                        "se": np.concatenate([est["rd_se"], est["lor_se"]], axis=1).ravel()})
    size = f"{100 * threshold:g}% of the baseline value" if relative else f"{threshold:g} {inst.units}".rstrip()
    rule = "Rubin's rules (Barnard-Rubin df, complete-data df infinite)" if run.pooling == "rubin" else \
        "von Hippel and Bartlett's rule"
    notes = [f"responder: improvement from baseline of at least {size} at week {v:g} ({inst.better} is better), "
             f"classified in each of the {m} imputed data sets; every subject analysed",
             f"per data set: proportions, risk difference (unpooled Wald SE) and the log odds ratio of the logistic "
             f"model responder ~ arm + baseline {result.outcome} (as ct.responders); pooled "
             f"with {rule}; intervals estimate +/- t x SE (not Newcombe's, which has no standard error to pool)",
             "conditional mean imputation is not accepted: responder status is not linear in the imputed value"]
    if np.isnan(est["lor"]).any():
        notes.append("odds ratio not estimable for a pair with no or only responders in an arm (or separation) in "
                     "some imputed data set (shown as missing)")
    fitted = Fitted(model=f"Responders after {result.method} ({result.strategy})", outcome=result.outcome, visit=v,
                    df_method=rule, adjust=adjust, alpha=alpha, n_per_arm=result.fitted.n_per_arm,
                    excluded=result.excluded, notes=notes,
                    extra={"threshold": float(threshold), "relative": bool(relative), "imputations": m,
                           "pooling": run.pooling})
    estimand = replace(result.estimand, variable=f"responder at week {v:g} (improvement from baseline of at least "
                       f"{size}), from the imputed values", summary="difference in proportions of responders "
                       "between arms (and odds ratio adjusted for baseline)")
    return ImputedResponders(f"Responders on imputed {result.outcome} (week {v:g})", fitted, estimand=estimand,
                             per_imputation=per, instrument=inst, by_arm=by_arm, contrasts=con)
