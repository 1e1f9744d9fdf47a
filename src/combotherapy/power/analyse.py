"""Analysis of one simulated trial, and the power table from many.

One trial gives, for each outcome and each pair of arms, the contrast estimate, its t statistic and df
(:func:`analyse`): by ANCOVA on arrays (the fast path: the same least squares as :func:`combotherapy.ancova`,
whose arm contrasts are differences of arm coefficients) or through the shared inference interface for any
model of :data:`combotherapy.models.catalog.FITS`. Every decision (two-sided tests, Holm within an outcome,
the one-sided components of the combination rule, the intersection-union verdict, Holm over the claims) is
computed afterwards from those numbers (:func:`power_table`), vectorised over the simulations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..arms import contrast_pairs
from ..errors import ModelError
from ..instruments import REGISTRY, Instrument, instrument_for
from ..simulate.effects import SITES
from . import claims_path
from .design import Design, draw

MONOTHERAPIES = ("physio", "acupuncture")


def pairs(design: Design) -> list[tuple[str, str]]:
    """The arm pairs of every outcome's contrast family (all pairs, as :func:`combotherapy.ancova`)."""
    return contrast_pairs(list(design.arms))


def columns(design: Design) -> list[str]:
    """Per-simulation columns: ``<outcome>:<first>-<second>:<est|t|df>`` (the claims analysis:
    :func:`combotherapy.power.claims_path.columns`)."""
    if design.analysis == "claims":
        return claims_path.columns(design.claims)
    return [f"{o}:{a}-{b}:{s}" for o in design.all_outcomes() for a, b in pairs(design) for s in ("est", "t", "df")]


def sign(outcome: str) -> int:
    """The direction of benefit: the instrument's, and for ``recovery_time`` the hazard of recovery's (+1)."""
    return REGISTRY["recovered"].sign if outcome == "recovery_time" else _instrument(outcome).sign


def _covariate_columns(design: Design, d: dict[str, Any], rows: np.ndarray) -> list[np.ndarray]:
    cols: list[np.ndarray] = []
    for c in design.covariates:
        if c == "age":
            cols.append(d["age"][rows])
        elif c == "pain_duration":
            cols.append(d["duration"][rows])
        elif c == "sex":
            cols.append(1.0 - d["female"][rows])  # R's factor: female is the reference level
        else:
            site = d["site"][rows]
            cols += [(site == j).astype(float) for j in range(1, len(SITES))]
    return cols


def ancova_arrays(design: Design, d: dict[str, Any], outcome: str) -> np.ndarray:
    """ANCOVA ``value ~ arm + baseline + covariates`` on complete cases at the visit; returns (pairs x 3):
    estimate, t, df of each pair's contrast."""
    vi = design.visits.index(design.visit)
    y_all = d["values"][outcome]
    rows = np.flatnonzero(~np.isnan(y_all[:, vi]) & ~np.isnan(y_all[:, 0]))
    arm = d["arm"][rows]
    k = len(design.arms)
    counts = np.bincount(arm, minlength=k)
    if np.any(counts < 2):
        small = design.arms[int(np.argmin(counts))]
        raise ModelError(f"arm '{small}' has fewer than 2 analysed subjects for {outcome}", kind="small arm", arm=small)
    dummies = (arm[:, None] == np.arange(1, k)[None, :]).astype(float)
    X = np.column_stack([np.ones(rows.size), dummies, y_all[rows, 0], *_covariate_columns(design, d, rows)])
    y = y_all[rows, vi]
    q, r = np.linalg.qr(X)
    beta = np.linalg.solve(r, q.T @ y)
    df = rows.size - X.shape[1]
    resid = y - X @ beta
    s2 = float(resid @ resid) / df
    rinv = np.linalg.solve(r, np.eye(r.shape[0]))
    vcov = s2 * (rinv @ rinv.T)
    # arm coefficients (reference arm 0): contrast a - b = b_a - b_b
    idx = {a: i for i, a in enumerate(design.arms)}
    out = np.empty((len(pairs(design)), 3))
    for j, (a, b) in enumerate(pairs(design)):
        w = np.zeros(X.shape[1])
        if idx[a]:
            w[idx[a]] += 1.0
        if idx[b]:
            w[idx[b]] -= 1.0
        est = float(w @ beta)
        out[j] = est, est / np.sqrt(float(w @ vcov @ w)), df
    return out


def to_trial(design: Design, d: dict[str, Any]):
    """A :class:`~combotherapy.trial.Trial` built directly from a draw (already valid: no loader, no CSV)."""
    from ..trial import Trial

    arm = d["arm"]
    m, nv = arm.size, len(design.visits)
    subject = np.char.add("S", np.char.zfill(np.arange(1, m + 1).astype(str), len(str(m))))
    frame = pd.DataFrame({
        "subject": np.repeat(subject, nv),
        "arm": pd.Categorical(np.repeat(np.asarray(design.arms)[arm], nv), categories=list(design.arms),
                              ordered=True),
        "visit": np.tile(np.asarray(design.visits, dtype=float), m),
        "age": np.repeat(d["age"], nv), "sex": np.repeat(np.where(d["female"] > 0, "female", "male"), nv),
        "pain_duration": np.repeat(d["duration"], nv), "site": np.repeat(np.asarray(SITES)[d["site"]], nv),
        **{o: x.ravel() for o, x in d["values"].items() if o in design.outcomes}})
    instruments = {o: _instrument(o) for o in design.outcomes}
    return Trial(frame, instruments, source="power simulation")


def _instrument(outcome: str) -> Instrument:
    inst = instrument_for(outcome)
    assert inst is not None  # the design accepts registry outcomes only
    return inst


def interface_arrays(design: Design, d: dict[str, Any], outcome: str) -> np.ndarray:
    """Any model of the catalog, through the inference interface: contrasts of every pair, unadjusted."""
    from ..models.catalog import fit_model

    options: dict[str, Any] = {"covariates": list(design.covariates)} if design.covariates else {}
    res = fit_model(design.model, to_trial(design, d), outcome, design.visit, **options)
    inf = res.inference
    if inf is None:
        raise ModelError(f"model '{design.model}' gave a result without an inference interface", kind="no inference")
    visit = design.visit if "visit" in inf.grid.frame.columns else None
    table = res.compare(pairs=pairs(design), adjust="none", visit=visit)
    return table[["estimate", "statistic", "df"]].to_numpy(float)


def _arm_contrasts(design: Design, beta: np.ndarray, vcov: np.ndarray, df: float) -> np.ndarray:
    """(pairs x 3) estimate, statistic, df from arm coefficients with arm 0 the reference."""
    idx = {a: i for i, a in enumerate(design.arms)}
    out = np.empty((len(pairs(design)), 3))
    for j, (a, b) in enumerate(pairs(design)):
        w = np.zeros(len(design.arms))
        w[idx[a]] += 1.0
        w[idx[b]] -= 1.0
        est = float(w @ beta)
        out[j] = est, est / np.sqrt(float(w @ vcov @ w)), df
    return out


def survival_arrays(design: Design, d: dict[str, Any]) -> np.ndarray:
    """Cox regression of (time, event) on arm (the package's :func:`~combotherapy.models.survival_estimators.cox_fit`,
    Efron ties, as :func:`combotherapy.survival`): log hazard ratios, Wald z, df = inf."""
    from ..models.survival_estimators import cox_fit

    time, event = d["survival"]
    k = len(design.arms)
    X = (d["arm"][:, None] == np.arange(1, k)[None, :]).astype(float)
    fit = cox_fit(time, event, X, "efron")
    if not fit["converged"]:
        raise ModelError("the Cox model did not converge (an arm without events?): lengthen follow-up or raise n",
                         kind="not converged")
    vcov = np.zeros((k, k))
    vcov[1:, 1:] = fit["vcov"]
    out = _arm_contrasts(design, np.r_[0.0, fit["params"]], vcov, np.inf)
    if design.survival is not None and design.survival.get("test") == "logrank":
        out[:, 1] = logrank_z(design, d["arm"], time, event)
    return out


def logrank_z(design: Design, arm: np.ndarray, time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """The log-rank statistic of each pair ``(a, b)`` on the subjects of the two arms, signed like the log hazard
    ratio of ``a`` to ``b`` (``(O - E)`` of ``a`` over its SD: the package's log-rank arithmetic,
    :func:`~combotherapy.models.survival_estimators._logrank_parts`, as ``survdiff``)."""
    from ..models.survival_estimators import _logrank_parts

    idx = {a: i for i, a in enumerate(design.arms)}
    z = np.empty(len(pairs(design)))
    for j, (a, b) in enumerate(pairs(design)):  # a handful of pairs
        rows = np.flatnonzero((arm == idx[a]) | (arm == idx[b]))
        code = (arm[rows] == idx[a]).astype(np.intp)  # group 1: arm a
        o, v = _logrank_parts(code, time[rows], np.ones(rows.size), event[rows], 2)
        z[j] = float(o[0]) / np.sqrt(float(v[0, 0]))
    return z


def count_arrays(design: Design, d: dict[str, Any]) -> np.ndarray:
    """Negative binomial regression of the count on arm (the package's IRLS and theta steps, as
    :func:`combotherapy.count_model`; Poisson when theta runs to infinity): log rate ratios, Wald z, df = inf."""
    from ..models.counts import _fit_negbin, _irls

    y = d["count"]
    ok = ~np.isnan(y)
    arm, y = d["arm"][ok], y[ok]
    k = len(design.arms)
    if np.any(np.bincount(arm, weights=y, minlength=k) == 0):
        raise ModelError("an arm has only zero counts: its rate ratio is not estimable", kind="zero counts")
    X = np.column_stack([np.ones(y.size), (arm[:, None] == np.arange(1, k)[None, :]).astype(float)])
    offset = np.zeros(y.size)
    fit = _irls(y, X, offset)
    if design.count is not None and design.count["dispersion"] is not None:
        try:
            fit = _fit_negbin(y, X, offset, fit)
        except ModelError as err:
            if err.kind != "no overdispersion":
                raise
    vcov = np.zeros((k, k))
    vcov[1:, 1:] = np.asarray(fit["vcov"])[1:, 1:]
    return _arm_contrasts(design, np.r_[0.0, np.asarray(fit["params"])[1:]], vcov, np.inf)


def analyse(design: Design, d: dict[str, Any]) -> np.ndarray:
    """One simulated trial -> one row of :func:`columns`."""
    fn = ancova_arrays if design.model == "ancova" else interface_arrays
    parts = [fn(design, d, o).ravel() for o in design.outcomes]
    if design.survival is not None:
        parts.append(survival_arrays(design, d).ravel())
    if design.count is not None:
        parts.append(count_arrays(design, d).ravel())
    return np.concatenate(parts)


def simulate(design: Design, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw one trial of size ``n`` and analyse it: one row of :func:`columns`. The claims analysis draws with the
    simulator's own generator (every claim's outcome) and decides each claim by the claims report's rule."""
    if design.analysis == "claims":
        from ..simulate.generator import _draw

        dr = _draw(list(design.arms), design.sizes(n), np.asarray(design.visits, dtype=float), design.effects,
                   design.dropout, rng)
        return claims_path.evaluate(dr, design.claims, design.arms, design.visits, design.alpha)
    return analyse(design, draw(design, n, rng))


# --------------------------------------------------------------------------------------------------
# Decisions and the power table
# --------------------------------------------------------------------------------------------------
def holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values of each row of ``p`` (simulations x tests), vectorised."""
    m = p.shape[1]
    order = np.argsort(p, axis=1, kind="stable")
    ps = np.take_along_axis(p, order, axis=1) * (m - np.arange(m))[None, :]
    ps = np.minimum(np.maximum.accumulate(ps, axis=1), 1.0)
    out = np.empty_like(ps)
    np.put_along_axis(out, order, ps, axis=1)
    return out


def decisions(design: Design, sims: pd.DataFrame) -> dict[tuple[str, str, str], Any]:
    """Rejections (bool per simulation) keyed by (kind, outcome, test)."""
    out: dict[tuple[str, str, str], Any] = {}
    prs = pairs(design)
    has_combination = all(a in design.arms for a in ("combined", *MONOTHERAPIES))
    iut = []
    for o in design.all_outcomes():
        good = sign(o)
        t = np.column_stack([sims[f"{o}:{a}-{b}:t"] for a, b in prs])
        df = np.column_stack([sims[f"{o}:{a}-{b}:df"] for a, b in prs])
        p2 = 2 * stats.t.sf(np.abs(t), df)
        padj = holm(p2) if len(prs) > 1 else p2
        for j, (a, b) in enumerate(prs):
            out[("contrast", o, f"{a} - {b}")] = p2[:, j] <= design.alpha
            out[("contrast_holm", o, f"{a} - {b}")] = padj[:, j] <= design.alpha
        if has_combination:
            p1 = []
            for mono in MONOTHERAPIES:
                j = prs.index(("combined", mono))
                p1.append(stats.t.sf(good * t[:, j], df[:, j]))  # one-sided, in the good direction
                out[("one_sided", o, f"combined - {mono}")] = p1[-1] <= design.one_sided_alpha
            p_iut = np.maximum(*p1)
            iut.append(p_iut)
            out[("combination", o, "combined beats both")] = p_iut <= design.one_sided_alpha
    if iut:
        p = np.column_stack(iut)
        padj = holm(p)
        for j, o in enumerate(design.all_outcomes()):
            out[("claim", o, "combined beats both (Holm over claims)")] = padj[:, j] <= design.one_sided_alpha
        out[("family", "all", "any claim")] = (padj <= design.one_sided_alpha).any(axis=1)
        out[("family", "all", "every claim")] = (padj <= design.one_sided_alpha).all(axis=1)
    return out


def power_table(design: Design, sims: pd.DataFrame) -> pd.DataFrame:
    """Tidy table ``truth, n, n_total, kind, outcome, test, power, mc_se, ci_low, ci_high, sims``."""
    rows = []
    for (truth, n), g in sims.groupby(["truth", "n"], sort=True):
        total = sum(design.sizes(int(n)).values())
        found = (claims_path.decisions(g, design.claims, design.alpha, design.multiplicity)
                 if design.analysis == "claims" else decisions(design, g))
        for (kind, outcome, test), rej in found.items():
            r = len(rej)
            p = float(np.mean(rej))
            se = float(np.sqrt(p * (1 - p) / r))
            rows.append({"truth": truth, "n": int(n), "n_total": total, "kind": kind, "outcome": outcome,
                         "test": test, "power": p, "mc_se": se, "ci_low": max(p - 1.96 * se, 0.0),
                         "ci_high": min(p + 1.96 * se, 1.0), "sims": r})
    return pd.DataFrame(rows)
