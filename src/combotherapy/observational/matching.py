"""Two-arm nearest-neighbour matching on the logit of the propensity score, with a caliper.

Greedy 1:1 matching as ``MatchIt::matchit(method = "nearest", distance = "glm", link = "linear.logit")``:
treated subjects are taken in decreasing order of their score ("largest first"); each gets the nearest control on
the logit scale among those still available (without replacement) or among all controls (with replacement),
provided the distance is within the caliper (``caliper`` SDs of the logit score over all subjects). Treated
subjects with no control inside the caliper stay unmatched and are reported. Weights as MatchIt's: 1 for matched
treated; for controls the number of times matched, rescaled so the control weights sum to the number of distinct
matched controls. The estimand is the ATT (effect in the treated arm).

Why only two arms: matching builds pairs of one treated and one control subject; with three arms there is no
single "treated" group, and matching every pair of arms separately gives three different populations, so the
contrasts would not be comparable (and could not feed the combination rule). Generalised propensity weighting
(:func:`iptw`, ATE or overlap weights) keeps one target population for all arms: it is the default for three arms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import logit

from ..arms import contrast_label
from ..errors import DataError, ModelError
from ..results import Fitted, Result
from .balance import balance
from .evalues import with_evalues
from .ipw import outcome_vector
from .propensity import PropensityResult

__all__ = ["MatchResult", "match"]


class MatchResult(Result):
    """Matched sample, its balance and (with an outcome) the ATT.

    Attributes
    ----------
    counts : DataFrame
        Per arm: ``n, matched, unmatched``.
    effect : DataFrame or None
        ``contrast, first, second, estimate, se, df, statistic, p, p_adj, ci_low, ci_high`` (ATT: treated - control).
    pairs : DataFrame
        ``subclass, treated_row, control_row, distance`` (1-based rows of the propensity frame).
    weights : ndarray
        Matching weights per subject (0 = not in the matched sample).
    subclass : ndarray
        Pair number per subject (0 = unmatched; with replacement a control may belong to several pairs and gets
        the first).
    balance_result : BalanceResult
        Balance before and after matching (SMD denominator: the treated arm's SD, as MatchIt).
    """

    tables = ("counts", "effect", "evalues", "balance")

    def __init__(self, title, fitted, *, counts, effect, pairs, weights, subclass, balance_result, ps, treated,
                 control, outcome, caliper_width):
        tabs = {"counts": counts, "balance": balance_result.balance}
        if effect is not None:
            tabs["effect"] = effect
        super().__init__(title, fitted, **tabs)
        self.effect = effect
        self.pairs = pairs
        self.weights = weights
        self.subclass = subclass
        self.balance_result = balance_result
        self.ps = ps
        self.design = ps.design
        self.treated = treated
        self.control = control
        self.outcome = outcome
        self.caliper_width = caliper_width

    @property
    def contrasts(self) -> pd.DataFrame | None:
        """The ATT table under the shared name (for E-values and forest plots)."""
        return self.effect

    def headline(self) -> list[str]:
        return self.balance_result.headline()


def match(ps: PropensityResult, *, treated: str | None = None, caliper: float | None = 0.2, replace: bool = False,
          outcome: str | None = None, alpha: float = 0.05, threshold: float = 0.1) -> MatchResult:
    """1:1 nearest-neighbour matching on the logit of a two-arm propensity score.

    Parameters
    ----------
    ps : PropensityResult
        A two-arm propensity score (for three or more arms use :func:`iptw`; see the module notes).
    treated : str, optional
        The arm whose subjects are matched (default: the second arm, as ``treat = 1``).
    caliper : float or None, default 0.2
        Maximum distance in SDs of the logit score (Austin 2011); None for no caliper.
    replace : bool
        Match with replacement (a control may serve several treated subjects).
    outcome : str, optional
        Outcome column: adds the ATT as the weighted difference in means with a robust SE (clustered on pairs
        without replacement, ``sandwich::vcovCL`` HC1; HC1 without clustering with replacement).
    alpha, threshold : float
        Interval level; balance threshold for the headline.

    Returns
    -------
    MatchResult

    References
    ----------
    Ho DE, Imai K, King G, Stuart EA. MatchIt: nonparametric preprocessing for parametric causal inference.
    J Stat Softw 2011;42(8). Austin PC. Optimal caliper widths for propensity-score matching. Pharm Stat
    2011;10:150-61.

    Example
    -------
    >>> from combotherapy.observational import match, propensity_score, simulate_registry
    >>> reg = simulate_registry(400, seed=5)
    >>> two = reg[reg["arm"] != "acupuncture"]
    >>> m = match(propensity_score(two, "age + sex + pain0"), caliper=0.2)
    >>> m.counts["arm"].tolist()
    ['physio', 'combined']
    """
    if not isinstance(ps, PropensityResult):
        raise DataError(f"expected a PropensityResult from propensity_score(), not {type(ps).__name__}")
    if len(ps.arms) != 2:
        raise DataError(f"matching compares two arms; this propensity score has {len(ps.arms)} ({ps.arms}). "
                        "With three or more arms use iptw() (one target population for every contrast), or fit "
                        "the propensity score on the two arms you want to compare")
    if caliper is not None and not caliper > 0:
        raise DataError("caliper must be positive (in SDs of the logit score) or None")
    treated = ps.arms[1] if treated is None else treated
    if treated not in ps.arms:
        raise DataError(f"treated must be one of {ps.arms}, not {treated!r}")
    control = next(a for a in ps.arms if a != treated)
    t_idx = ps.arms.index(treated)
    d = logit(ps.probabilities[:, t_idx])
    is_t = ps.received == t_idx
    width = np.inf if caliper is None else caliper * float(np.std(d, ddof=1))
    t_rows = np.flatnonzero(is_t)
    c_rows = np.flatnonzero(~is_t)
    order = t_rows[np.argsort(-d[t_rows], kind="stable")]
    partner = _greedy(d, order, c_rows, width, replace)
    matched = partner >= 0
    n = len(d)
    weights = np.zeros(n)
    subclass = np.zeros(n, dtype=int)
    t_m, c_m = order[matched], partner[matched]
    weights[t_m] = 1.0
    np.add.at(weights, c_m, 1.0)
    if not matched.any():
        raise ModelError("no treated subject has a control within the caliper: the arms do not overlap; widen "
                         "the caliper or compare a population where both treatments are used")
    cw = weights[c_rows]
    weights[c_rows] = cw * (cw > 0).sum() / cw.sum()
    pair_id = np.arange(1, matched.sum() + 1)
    subclass[t_m] = pair_id
    first_pair = pd.Series(pair_id).groupby(c_m).min()  # with replacement a control keeps its first pair
    subclass[first_pair.index.to_numpy()] = first_pair.to_numpy()
    pairs = pd.DataFrame({"subclass": pair_id, "treated_row": t_m + 1, "control_row": c_m + 1,
                          "distance": np.abs(d[t_m] - d[c_m])})
    counts = pd.DataFrame({"arm": [control, treated], "n": [len(c_rows), len(t_rows)],
                           "matched": [int((weights[c_rows] > 0).sum()), int(matched.sum())]})
    counts["unmatched"] = counts["n"] - counts["matched"]
    counts = counts.set_index("arm").loc[ps.arms].reset_index()
    bal = balance(ps, w=weights, method="matching", denominator=treated, threshold=threshold,
                  pairs=[(treated, control)])
    effect = None
    if outcome is not None:
        effect = _att(outcome_vector(ps.data, outcome), is_t, weights, subclass, replace, treated, control, alpha)
    notes = [f"Greedy 1:1 nearest-neighbour matching {'with' if replace else 'without'} replacement on the logit "
             f"of the score, largest score first; caliper {'none' if caliper is None else f'{caliper:g} SD = {width:.4g}'}.",
             "Estimand: ATT (effect in the matched treated subjects)."]
    n_un = int((~matched).sum())
    if n_un:
        notes.append(f"{n_un} {treated} subject(s) had no control within the caliper and are not in the matched "
                     "sample: the estimand is the effect in the matched treated subjects.")
    if ps.design == "observational":
        notes.append("Observational data: matching removes only measured confounding; see the E-values.")
    excluded = pd.DataFrame({"subject": np.flatnonzero(weights == 0) + 1,
                             "arm": np.asarray(ps.arms)[ps.received[weights == 0]],
                             "reason": "not matched"})
    if "subject" in ps.data.columns:
        excluded["subject"] = ps.data["subject"].to_numpy()[weights == 0]
    fitted = Fitted(model="Nearest-neighbour propensity score matching", formula=ps.fitted.formula,
                    outcome=outcome, df_method="z", alpha=alpha,
                    n_per_arm=dict(zip(counts["arm"], counts["matched"])), excluded=excluded, notes=notes,
                    extra={"design": ps.design, "replace": replace, "caliper": caliper,
                           "adjustment": f"nearest-neighbour propensity score matching ({treated} vs {control}, "
                                         f"{'with' if replace else 'without'} replacement"
                                         + (f", caliper {caliper:g} SD of the logit" if caliper else "") + ")"})
    out = MatchResult(f"Matched comparison: {treated} vs {control}", fitted, counts=counts, effect=effect,
                      pairs=pairs, weights=weights, subclass=subclass, balance_result=bal, ps=ps,
                      treated=treated, control=control, outcome=outcome, caliper_width=width)
    return with_evalues(out) if effect is not None else out


def _greedy(d: np.ndarray, order: np.ndarray, c_rows: np.ndarray, width: float, replace: bool) -> np.ndarray:
    """Control row matched to each treated row of ``order`` (-1 if none within the caliper).

    Subjects are ranked by score (stable: equal scores keep data order). For a treated subject the candidates
    are the nearest available control ranked below it and the nearest ranked above; the lower one wins a tie in
    distance. This fixes which of several controls with identical scores is taken, as MatchIt does.
    """
    rank = np.empty(len(d), dtype=int)
    rank[np.argsort(d, kind="stable")] = np.arange(len(d))
    c_sorted = c_rows[np.argsort(rank[c_rows])]          # controls in rank order
    c_rank = rank[c_sorted]
    if replace:
        # with replacement every treated subject picks independently: fully vectorised
        pos = np.searchsorted(c_rank, rank[order])
        left = np.where(pos > 0, c_sorted[np.maximum(pos - 1, 0)], -1)
        right = np.where(pos < len(c_sorted), c_sorted[np.minimum(pos, len(c_sorted) - 1)], -1)
        return _choose(d, order, left, right, width)
    available = np.ones(len(c_sorted), bool)
    partner = np.full(len(order), -1)
    # greedy matching without replacement is sequential by definition (each choice removes a control for the
    # next treated subject), so this loop over treated subjects cannot be vectorised; each step is.
    for i, t in enumerate(order):
        below = np.flatnonzero(available & (c_rank < rank[t]))
        above = np.flatnonzero(available & (c_rank > rank[t]))
        lo = below[-1] if below.size else -1
        hi = above[0] if above.size else -1
        pick = _choose(d, np.array([t]), np.array([c_sorted[lo] if lo >= 0 else -1]),
                       np.array([c_sorted[hi] if hi >= 0 else -1]), width)[0]
        if pick >= 0:
            partner[i] = pick
            available[lo if pick == (c_sorted[lo] if lo >= 0 else -2) else hi] = False
    return partner


def _choose(d, treated, left, right, width) -> np.ndarray:
    """Nearer of the left/right candidates (left on ties), or -1 when neither is within the caliper."""
    gl = np.where(left >= 0, d[treated] - d[np.maximum(left, 0)], np.inf)
    gr = np.where(right >= 0, d[np.maximum(right, 0)] - d[treated], np.inf)
    pick = np.where(gl <= gr, left, right)
    return np.where(np.minimum(gl, gr) <= width, pick, -1)


def _att(y, is_t, w, subclass, replace, treated, control, alpha) -> pd.DataFrame:
    """Weighted difference in means = WLS of y on treatment; robust SE as sandwich::vcovCL / vcovHC (HC1)."""
    keep = w > 0
    y, t, w, g = y[keep], is_t[keep].astype(float), w[keep], subclass[keep]
    X = np.column_stack([np.ones_like(t), t])
    XtW = X.T * w
    bread = np.linalg.inv(XtW @ X)
    beta = bread @ (XtW @ y)
    ef = X * (w * (y - X @ beta))[:, None]
    n, k = X.shape
    if replace:
        meat = ef.T @ ef
        adj = n / (n - k)
    else:
        u = pd.DataFrame(ef).groupby(g).sum().to_numpy()
        G = u.shape[0]
        meat = u.T @ u
        adj = G / (G - 1) * (n - 1) / (n - k)
    V = bread @ meat @ bread * adj
    est, se = beta[1], float(np.sqrt(V[1, 1]))
    z = est / se
    q = stats.norm.ppf(1 - alpha / 2)
    p = 2 * stats.norm.sf(abs(z))
    return pd.DataFrame({"contrast": [contrast_label(treated, control)], "first": [treated], "second": [control],
                         "estimate": [est], "se": [se], "df": [np.inf], "statistic": [z], "p": [p], "p_adj": [p],
                         "ci_low": [est - q * se], "ci_high": [est + q * se]})

