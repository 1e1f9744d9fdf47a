"""Inverse probability of treatment weights for two or more arms, and what they do to the sample.

Estimands (e_k(x) = generalised propensity score of arm k, A = arm received):

- ``"ATE"``: w = 1 / e_A(x); stabilised: w = P(A) / e_A(x) (marginal share of the arm received);
- ``"ATT"`` of a chosen ``target`` arm t: w = e_t(x) / e_A(x) (so w = 1 in the target arm);
- ``"overlap"`` (generalised overlap weights, Li & Li 2019): w = (1/e_A) / sum_k (1/e_k); for two arms this is
  1 - e_A, the weight of the population in clinical equipoise; bounded, so no extreme weights.

Extreme weights are reported, never changed silently: ``trim`` excludes subjects whose smallest score is below the
threshold (they get weight 0 and are listed in ``fitted.excluded``; the score is not re-estimated), ``truncate``
caps weights at a quantile of all weights (R's default type-7 quantile). Both count the subjects affected.
Kish's effective sample size per arm, (sum w)^2 / sum w^2, shows the information left.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, ModelError
from ..results import Fitted, Result
from .propensity import PropensityResult

__all__ = ["ESTIMANDS", "WeightsResult", "effective_sample_size", "iptw"]

ESTIMANDS = ("ATE", "ATT", "overlap")

#: a weight carrying more than this share of its arm's total is called extreme in the notes
EXTREME_SHARE = 0.10


class WeightsResult(Result):
    """Weights with their per-arm summary.

    Attributes
    ----------
    weights : ndarray
        One weight per subject (0 for trimmed subjects), in the order of ``ps.data``.
    table : DataFrame
        Per arm: ``n, n_used, sum_weights, ess, min, median, max, max_share, n_truncated, n_trimmed``.
    ps : PropensityResult
    estimand, target, stabilized : the settings.
    truncated, trimmed : boolean arrays of the subjects affected.
    """

    tables = ("table",)

    def __init__(self, title, fitted, *, table, weights, ps, estimand, target, stabilized, truncated, trimmed):
        super().__init__(title, fitted, table=table)
        self.weights = weights
        self.ps = ps
        self.estimand = estimand
        self.target = target
        self.stabilized = stabilized
        self.truncated = truncated
        self.trimmed = trimmed

    @property
    def adjustment(self) -> str:
        """The adjustment in words, for result records: estimand (and target arm), stabilisation, trimming and
        truncation with the numbers of subjects affected, and the propensity model."""
        parts = [f"inverse probability of treatment weighting, {self.estimand} weights"
                 + (f" of {self.target}" if self.target else "")]
        if self.stabilized:
            parts.append("stabilised")
        trim, truncate = self.fitted.extra.get("trim"), self.fitted.extra.get("truncate")
        if trim is not None:
            parts.append(f"trimmed at a score of {trim:g} ({int(np.sum(self.trimmed))} subject(s) excluded)")
        if truncate is not None:
            parts.append(f"truncated at the {truncate:g} quantile ({int(np.sum(self.truncated))} weight(s) capped)")
        parts.append("propensity score: " + self.ps.fitted.model.split(": ", 1)[-1])
        return "; ".join(parts)

    def log_weight_gradient(self) -> np.ndarray:
        """n x K matrix C with d log w_i = sum_k C_ik d log e_ik(beta) (for the stacked sandwich).

        Truncated weights are constant at the cap (zero gradient); trimmed subjects carry weight 0.
        """
        e = self.ps.probabilities
        onehot = self.ps.indicator()
        if self.estimand == "ATE":
            c = -onehot
        elif self.estimand == "ATT":
            t = np.zeros_like(onehot)
            t[:, self.ps.arms.index(self.target)] = 1.0
            c = t - onehot
        else:
            inv = 1.0 / e
            c = -onehot + inv / inv.sum(axis=1, keepdims=True)
        c[self.truncated | self.trimmed] = 0.0
        return c


def effective_sample_size(w: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2."""
    w = np.asarray(w, dtype=float)
    return float(w.sum() ** 2 / np.square(w).sum()) if np.any(w > 0) else 0.0


def iptw(ps: PropensityResult, estimand: str = "ATE", *, target: str | None = None, stabilize: bool = False,
         trim: float | None = None, truncate: float | None = None) -> WeightsResult:
    """Inverse probability of treatment weights from a fitted propensity score.

    Parameters
    ----------
    ps : PropensityResult
        From :func:`propensity_score`.
    estimand : {"ATE", "ATT", "overlap"}
    target : str, optional
        The arm whose population is the target of the ATT (required for ATT with three or more arms; with two
        arms the second arm, as ``treat = 1`` in R).
    stabilize : bool
        Multiply ATE weights by the marginal share of the arm received (does not change weighted means or
        contrasts; keeps the sum of weights near n). Only for the ATE.
    trim : float, optional
        Exclude subjects whose smallest score is below ``trim`` (e.g. 0.05); listed in ``fitted.excluded``.
    truncate : float, optional
        Cap weights at this quantile of all weights (e.g. 0.99).

    Returns
    -------
    WeightsResult

    References
    ----------
    Li F, Li F. Propensity score weighting for causal inference with multiple treatments. Ann Appl Stat
    2019;13:2389-415. Crump RK et al. Dealing with limited overlap. Biometrika 2009;96:187-99.
    Cole SR, Hernan MA. Constructing inverse probability weights. Am J Epidemiol 2008;168:656-64.

    Example
    -------
    >>> from combotherapy.observational import simulate_registry, propensity_score, iptw
    >>> ps = propensity_score(simulate_registry(300, seed=1), "age + pain0 + pain_duration + sex")
    >>> w = iptw(ps, "ATT", target="combined")
    >>> list(w.table.columns[:4])
    ['arm', 'n', 'n_used', 'sum_weights']
    """
    if not isinstance(ps, PropensityResult):
        raise DataError(f"expected a PropensityResult from propensity_score(), not {type(ps).__name__}")
    if estimand not in ESTIMANDS:
        raise DataError(f"estimand must be one of {list(ESTIMANDS)}, not {estimand!r}")
    arms = ps.arms
    if estimand == "ATT":
        if target is None and len(arms) == 2:
            target = arms[1]
        if target not in arms:
            raise DataError(f"the ATT needs target= one of the arms {arms}, not {target!r}")
    elif target is not None:
        raise DataError(f"target= applies to the ATT only; the {estimand} has no target arm")
    if stabilize and estimand != "ATE":
        raise DataError("stabilize=True applies to ATE weights only (ATT and overlap weights are already "
                        "bounded by their construction)")
    if trim is not None and not 0 < trim < 1 / len(arms):
        raise DataError(f"trim must lie in (0, 1/{len(arms)}): a subject is excluded when its smallest score is "
                        "below it")
    if truncate is not None and not 0.5 < truncate < 1:
        raise DataError("truncate must be a quantile in (0.5, 1), e.g. 0.99")
    w, trimmed, truncated, cap = raw_weights(ps.probabilities, ps.received, estimand,
                                             None if target is None else arms.index(target), stabilize, trim,
                                             truncate)
    a = ps.received
    table = _table(w, a, arms, truncated, trimmed)
    empty = table.loc[table["n_used"] == 0, "arm"].tolist()
    if empty:
        raise ModelError(f"after trimming at {trim:g} no subject is left in arm(s) {empty}: the arms do not "
                         "overlap; compare a narrower population or use overlap weights")
    notes = [_describe(estimand, target, stabilize)]
    if trimmed.any():
        notes.append(f"Trimming: {int(trimmed.sum())} subject(s) with a score below {trim:g} excluded "
                     "(listed under excluded); the propensity model was not re-fitted.")
    if truncated.any():
        notes.append(f"Truncation: {int(truncated.sum())} weight(s) above the {truncate:g} quantile "
                     f"capped at {cap:.4g}.")
    big = table.loc[table["max_share"] > EXTREME_SHARE, "arm"].tolist()
    if big:
        notes.append(f"Extreme weights: in arm(s) {big} one subject carries more than {EXTREME_SHARE:.0%} of the "
                     "arm's total weight; estimates lean on few subjects (see ess). Consider overlap weights, "
                     "trimming or truncation.")
    excluded = pd.DataFrame({"subject": np.flatnonzero(trimmed) + 1, "arm": np.asarray(arms)[a[trimmed]],
                             "reason": f"propensity score below {trim:g} (trimmed)" if trim else ""})
    if "subject" in ps.data.columns:
        excluded["subject"] = ps.data["subject"].to_numpy()[trimmed]
    fitted = Fitted(model=f"Inverse probability of treatment weights ({estimand})", formula=ps.fitted.formula,
                    n_per_arm=dict(zip(table["arm"], table["n_used"].astype(int))), excluded=excluded,
                    notes=notes, extra={"design": ps.design, "estimand": estimand, "target": target,
                                               "trim": trim, "truncate": truncate})
    out = WeightsResult(f"Weights ({estimand}{' of ' + target if target else ''})", fitted, table=table,
                        weights=w, ps=ps, estimand=estimand, target=target, stabilized=stabilize,
                        truncated=truncated, trimmed=trimmed)
    fitted.extra["adjustment"] = out.adjustment
    return out


def _table(w, a, arms, truncated, trimmed) -> pd.DataFrame:
    frame = pd.DataFrame({"arm": pd.Categorical(np.asarray(arms)[a], categories=arms), "w": w, "w2": w * w,
                          "used": w > 0, "truncated": truncated, "trimmed": trimmed})
    g = frame.groupby("arm", observed=False)
    out = pd.DataFrame({
        "n": g.size(), "n_used": g["used"].sum(), "sum_weights": g["w"].sum(),
        "ess": g["w"].sum() ** 2 / g["w2"].sum(),
        "min": frame[frame["used"]].groupby("arm", observed=False)["w"].min(),
        "median": frame[frame["used"]].groupby("arm", observed=False)["w"].median(),
        "max": g["w"].max(), "n_truncated": g["truncated"].sum(), "n_trimmed": g["trimmed"].sum()})
    out["max_share"] = out["max"] / out["sum_weights"]
    out = out.reset_index()
    out["arm"] = out["arm"].astype(str)
    return out[["arm", "n", "n_used", "sum_weights", "ess", "min", "median", "max", "max_share",
                "n_truncated", "n_trimmed"]]


def _describe(estimand, target, stabilize) -> str:
    if estimand == "ATE":
        return ("Estimand: average treatment effect in the whole population; weight 1/e_A(x)"
                + (" times the arm's marginal share (stabilised)." if stabilize else "."))
    if estimand == "ATT":
        return f"Estimand: effect in the population that received {target}; weight e_{target}(x)/e_A(x)."
    return ("Estimand: effect in the overlap population (clinical equipoise); weight (1/e_A)/sum_k(1/e_k) "
            "(generalised overlap weights).")


def raw_weights(e: np.ndarray, a: np.ndarray, estimand: str, target: int | None, stabilize: bool,
                trim: float | None, truncate: float | None):
    """Weights from scores ``e`` (n x K) and arm codes ``a``: (w, trimmed, truncated, cap)."""
    n, K = e.shape
    e_a = e[np.arange(n), a]
    if estimand == "ATE":
        w = 1.0 / e_a
        if stabilize:
            w = w * (np.bincount(a, minlength=K) / n)[a]
    elif estimand == "ATT":
        w = e[:, target] / e_a
    else:
        w = (1.0 / e_a) / (1.0 / e).sum(axis=1)
    trimmed = np.zeros(n, bool) if trim is None else e.min(axis=1) < trim
    w = np.where(trimmed, 0.0, w)
    truncated = np.zeros(n, bool)
    cap = np.inf
    if truncate is not None:
        cap = float(np.quantile(w[~trimmed], truncate))
        truncated = w > cap
        w = np.minimum(w, cap)
    return w, trimmed, truncated, cap
