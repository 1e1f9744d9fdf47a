"""Responders on imputed continuous values, pooled over the imputations (:func:`analyse` with
``analysis="responders"``).

Each imputed data set classifies every subject as a responder (improvement from baseline of at least the
threshold, in the instrument's good direction, as :func:`combotherapy.responders`); per data set the proportion of
responders per arm, the risk difference with its unpooled Wald standard error and the unadjusted log odds ratio
with Woolf's standard error are computed, and the estimates are pooled with Rubin's rules (approximate Bayesian MI)
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
        ``visit, first, second, contrast, measure`` (``risk_difference``, ``unadjusted_odds_ratio``), ``estimate,
        se, df, statistic, p, p_adj, ci_low, ci_high, log_estimate`` [, ``fmi``]; the odds ratio's ``se`` is on the
        log scale, its estimate and interval on the ratio scale. It is the 2 x 2 table's odds ratio, not the
        baseline-adjusted logistic one of :func:`combotherapy.responders`.
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


def _estimates(resp: np.ndarray, arm: np.ndarray, n_arms: int, pairs_idx: list[tuple[int, int]]
               ) -> dict[str, np.ndarray]:
    """Per data set (rows of ``resp``, arm codes ``arm`` (R, n)): proportions and the contrasts' estimates/SEs."""
    R = resp.shape[0]
    onehot = arm[:, :, None] == np.arange(n_arms)[None, None, :]          # (R, n, a)
    x = np.einsum("rn,rna->ra", resp.astype(float), onehot)
    n = onehot.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        i1, i2 = (np.array(ix, dtype=int) for ix in zip(*pairs_idx))
        rd = p[:, i1] - p[:, i2]
        rd_se = np.sqrt(p[:, i1] * (1 - p[:, i1]) / n[:, i1] + p[:, i2] * (1 - p[:, i2]) / n[:, i2])
        x1, n1, x2, n2 = x[:, i1], n[:, i1], x[:, i2], n[:, i2]
        lor = np.log(x1 * (n2 - x2) / (x2 * (n1 - x1)))
        lor_se = np.sqrt(1 / x1 + 1 / (n1 - x1) + 1 / x2 + 1 / (n2 - x2))
    zero = (x1 == 0) | (x1 == n1) | (x2 == 0) | (x2 == n2)
    lor = np.where(zero, np.nan, lor)
    lor_se = np.where(zero, np.nan, lor_se)
    return {"p": p, "p_se": np.sqrt(p * (1 - p) / n), "n": n, "rd": rd, "rd_se": rd_se, "lor": lor,
            "lor_se": lor_se, "R": np.array(R)}


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
    est = _estimates(resp, d.arm_codes[rows], len(arms), pairs_idx)
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
    rows_or = base_rows.assign(measure="unadjusted_odds_ratio", estimate=np.exp(lo["estimate"]), se=lo["se"],
                               df=lo["df"], statistic=lo["statistic"], p=lo["p"], ci_low=np.exp(lo["ci_low"]),
                               ci_high=np.exp(lo["ci_high"]), log_estimate=lo["estimate"])
    if fmi:
        rows_rd["fmi"], rows_or["fmi"] = rd["fmi"], lo["fmi"]
    con = pd.concat([rows_rd, rows_or], ignore_index=True)
    con.insert(con.columns.get_loc("p") + 1, "p_adj", np.nan)
    for meas in ("risk_difference", "unadjusted_odds_ratio"):  # the adjustment within each measure
        sel = (con["measure"] == meas).to_numpy()
        con.loc[sel, "p_adj"] = p_adjust(con.loc[sel, "p"].to_numpy(float), adjust)
    per = pd.DataFrame({"imputation": np.repeat(np.arange(m), len(pairs) * 2),
                        "first": np.tile([a for a, _ in pairs] * 2, m), "second": np.tile([b for _, b in pairs] * 2, m),
                        "measure": np.tile(["risk_difference"] * len(pairs)
                                           + ["unadjusted_odds_ratio"] * len(pairs), m),
                        "estimate": np.concatenate([est["rd"], est["lor"]], axis=1).ravel(),
                        "se": np.concatenate([est["rd_se"], est["lor_se"]], axis=1).ravel()})
    size = f"{100 * threshold:g}% of the baseline value" if relative else f"{threshold:g} {inst.units}".rstrip()
    rule = "Rubin's rules (Barnard-Rubin df, complete-data df infinite)" if run.pooling == "rubin" else \
        "von Hippel and Bartlett's rule"
    notes = [f"responder: improvement from baseline of at least {size} at week {v:g} ({inst.better} is better), "
             f"classified in each of the {m} imputed data sets; every subject analysed",
             f"per data set: proportions, risk difference (unpooled Wald SE) and the 2 x 2 table's (unadjusted) log "
             f"odds ratio (Woolf SE; ct.responders' odds ratio is adjusted for baseline); pooled "
             f"with {rule}; intervals estimate +/- t x SE (not Newcombe's, which has no standard error to pool)",
             "conditional mean imputation is not accepted: responder status is not linear in the imputed value"]
    if np.isnan(est["lor"]).any():
        notes.append("odds ratio not estimable for a pair with no or only responders in an arm of some imputed "
                     "data set (shown as missing)")
    fitted = Fitted(model=f"Responders after {result.method} ({result.strategy})", outcome=result.outcome, visit=v,
                    df_method=rule, adjust=adjust, alpha=alpha, n_per_arm=result.fitted.n_per_arm,
                    excluded=result.excluded, notes=notes,
                    extra={"threshold": float(threshold), "relative": bool(relative), "imputations": m,
                           "pooling": run.pooling})
    estimand = replace(result.estimand, variable=f"responder at week {v:g} (improvement from baseline of at least "
                       f"{size}), from the imputed values", summary="difference in proportions of responders "
                       "between arms (and unadjusted odds ratio)")
    return ImputedResponders(f"Responders on imputed {result.outcome} (week {v:g})", fitted, estimand=estimand,
                             per_imputation=per, instrument=inst, by_arm=by_arm, contrasts=con)
