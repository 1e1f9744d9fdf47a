"""The claims report as a power analysis: every claim of :func:`combotherapy.claims_report` on each simulated trial.

A simulated trial is drawn by the simulator's own generator (:func:`combotherapy.simulate_trial`'s draw, so every
claim's outcome exists: visit-level outcomes, sessions, recovery, adverse events) and enters already valid: no
loader, no CSV. Each claim is then decided by the claims report's rule — the model named in the claims table, the
claim's pairs (the intersection-union test of ``combination`` claims: the larger one-sided p of combined vs each
monotherapy), its subgroup, the multiplicity rule across the testable claims (Holm, fixed sequence or none) and
the verdict rule of :func:`combotherapy.verdict.decide` with the MID — but only the numbers a verdict needs are
computed (no report text, no tables, no figures):

* ``ancova`` / ``ancova_log``: least squares of the value (its log) at the claim's visit on arm and baseline (its
  log), complete cases, t tests on the residual df — as :func:`combotherapy.ancova` with
  ``missing_baseline="exclude"``;
* ``count``: the package's negative binomial fit (:func:`combotherapy.models.counts.fit_negbin`'s IRLS and theta
  steps) on arm and baseline count, Poisson when theta runs to infinity — as :func:`combotherapy.count_model`;
* ``survival``: the package's Cox fit (:func:`combotherapy.models.survival_estimators.cox_fit`, Efron ties) on
  arm — as :func:`combotherapy.survival`;
* ``adherence``: the binomial GLM on arm in closed form (logits of the pooled proportions; quasi-binomial SEs and
  t tests on the residual df when Pearson's phi > 1) — as :func:`combotherapy.adherence`;
* ``safety``: risk differences of patients with an adverse event and the Farrington–Manning non-inferiority test
  (:func:`combotherapy.models.safety.noninferiority_rd`) — as :func:`combotherapy.adverse_events`;
* ``mediation`` and any model without an array form: the claims report's own evaluator on a
  :class:`~combotherapy.trial.Trial` built directly from the draw (exact, and as slow as the report).

``tests/test_power_claims.py`` checks that these verdicts equal ``ct.claims_report``'s on the same simulated trials.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from .. import claims as _claims
from .. import claims_models as _models
from ..errors import DataError, ModelError
from ..instruments import REGISTRY
from ..verdict import BELOW_MID, NOT_SUPPORTED, SUPPORTED

#: the claims table's rows as plain records
Claims = tuple[Mapping[str, Any], ...]
#: status codes of a claim in one simulated trial
TESTED, INCONCLUSIVE, NOT_TESTABLE = 0.0, 1.0, 2.0
#: models decided on arrays (the others go through the claims report's evaluator on a Trial)
ARRAY_MODELS = ("ancova", "ancova_log", "count", "survival", "adherence", "safety")
_RATIO = ("ancova_log", "count", "survival", "adherence")
_SIMULATED = ("pain", "odi", "rmdq", "rom", "crp", "analgesic_days", "phq9", "eq5d", "endurance",
              "sessions_attended", "sessions_planned", "recovery_time", "recovered", "adverse_events")


def claims_table(claims: Any) -> Claims:
    """The claims (default: the package's table) as plain records, checked as :func:`claims_report` checks them."""
    table = _claims.default_claims() if claims is None else pd.DataFrame(claims).copy()
    absent = [c for c in _claims.CLAIM_COLUMNS if c not in table.columns]
    if absent:
        raise DataError(f"the claims table lacks the columns {absent}; see ct.claims.default_claims()",
                        kind="missing column")
    table["subgroup"] = table["subgroup"].fillna("").astype(str)
    out = []
    for rec in table.to_dict("records"):
        if rec["model"] not in _models.MODELS:
            raise DataError(f"claim {rec['id']}: unknown model {rec['model']!r}; known: {sorted(_models.MODELS)}",
                            kind="unknown model")
        if rec["test"] not in ("combination", "physio_vs_control", "safety"):
            raise DataError(f"claim {rec['id']}: unknown test {rec['test']!r}; use combination, physio_vs_control "
                            "or safety", kind="unknown test")
        clean: dict[str, Any] = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
        clean["id"] = str(clean["id"])
        clean["mid"] = float(clean["mid"])
        clean["visit"] = None if clean.get("visit") is None else float(clean["visit"])
        out.append(clean)
    return tuple(out)


def columns(claims: Claims) -> list[str]:
    """Per-simulation columns: ``claim:<id>:<status|p|effect>`` (``effect`` benefit-signed, on the MID's scale)."""
    return [f"claim:{c['id']}:{s}" for c in claims for s in ("status", "p", "effect")]


def pairs_of(claim: Mapping[str, Any], arms: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The claim's arm pairs, as the claims report chooses them."""
    if claim["test"] == "combination":
        return _claims.COMBINATION_PAIRS
    if claim["test"] == "physio_vs_control":
        return (("physio", "control"),)
    return tuple((a, "physio") for a in ("acupuncture", "combined") if a in arms)


def _with(claim: Mapping[str, Any]) -> str | None:
    """The claim's second column (its ``with`` cell, else the model's default): the claims report's own rule."""
    return _models.with_column(pd.Series(claim))


def structural(claim: Mapping[str, Any], arms: tuple[str, ...], visits: tuple[float, ...]) -> str | None:
    """Why a claim is not testable in every trial of the design (None when it is testable): the report's checks
    of columns, visit and arms, which do not depend on the draw."""
    needed = [claim["outcome"], *_models.NEEDS.get(claim["model"], ()), *([_with(claim)] if _with(claim) else [])]
    for col in needed:
        if col not in _SIMULATED:
            return f"no {col} data"
    if claim["model"] in _models.AT_VISIT:
        col = {None: claim["outcome"], "with": _with(claim)}[_models.AT_VISIT[claim["model"]]]
        if claim["visit"] is None or float(claim["visit"]) not in visits:
            return f"no {col} data at week {float(claim['visit'] or 0):g}"
    prs = pairs_of(claim, arms)
    absent = sorted({a for p in prs for a in p} - set(arms))
    if absent or not prs:
        return f"no {' or '.join(absent) or 'acupuncture'} arm"
    return None


def mid_scale(claim: Mapping[str, Any]) -> float:
    """The MID on the scale of the stored effect (``abs(log(mid))`` for ratio measures; the margin for safety)."""
    if claim["test"] == "safety":
        return -claim["mid"]
    return abs(math.log(claim["mid"])) if claim["model"] in _RATIO else claim["mid"]


# --- the simulated trial as arrays ------------------------------------------------------------------------------

class Arrays:
    """One simulated trial's columns as (subjects x visits) or per-subject arrays, arms as codes into ``arms``."""

    def __init__(self, frame: pd.DataFrame, arms: tuple[str, ...], visits: tuple[float, ...]):
        self.frame, self.arms, self.visits = frame, arms, visits
        self.nv = len(visits)
        names = np.asarray(frame["arm"].to_numpy()[:: self.nv]).astype(str)
        self.arm = np.asarray(pd.Categorical(names, categories=list(arms)).codes, dtype=np.intp)
        self.keep = np.ones(self.arm.size, dtype=bool)

    def wide(self, col: str) -> np.ndarray:
        return self.frame[col].to_numpy(float).reshape(-1, self.nv)[self.keep]

    def subject(self, col: str) -> np.ndarray:
        return self.frame[col].to_numpy(float)[:: self.nv][self.keep]

    def codes(self) -> np.ndarray:
        return self.arm[self.keep]

    def subset(self, subgroup: str) -> Arrays:
        """The subgroup filter of a claim (``column>=number``), as the claims report reads it."""
        m = re.match(r"^\s*(\w+)\s*(>=|<=|>|<|==)\s*([-\d.]+)\s*$", subgroup)
        if not m:
            raise DataError(f"cannot read the subgroup filter {subgroup!r}; write it as column>=number")
        col, op, val = m.group(1), m.group(2), float(m.group(3))
        x = self.frame[col].to_numpy(float)[:: self.nv]
        keep = {">=": x >= val, "<=": x <= val, ">": x > val, "<": x < val, "==": x == val}[op]
        out = Arrays.__new__(Arrays)
        out.__dict__.update(self.__dict__)
        out.keep = self.keep & keep
        return out


def _dummies(code: np.ndarray, k: int) -> np.ndarray:
    return (code[:, None] == np.arange(1, k)[None, :]).astype(float)


def _pair_stats(beta_arm: np.ndarray, vcov_arm: np.ndarray, idx: dict[str, int], prs, df: float, sign: int
                ) -> list[tuple[float, float]]:
    """(one-sided p for benefit, benefit-signed effect) of each pair from the arm coefficients (reference 0)."""
    out = []
    for a, b in prs:
        if a not in idx or b not in idx:
            raise ModelError(f"the model has no comparison {a} - {b} (an arm without usable data)",
                             kind="no comparison")
        w = np.zeros(beta_arm.size)
        w[idx[a]] += 1.0
        w[idx[b]] -= 1.0
        est, se = float(w @ beta_arm), math.sqrt(max(float(w @ vcov_arm @ w), 0.0))
        eff = sign * est
        if not (math.isfinite(se) and se > 0 and math.isfinite(eff)):
            out.append((math.nan, eff))
            continue
        # scipy.stats.t.sf / norm.sf without their argument handling (the same numbers)
        p = float(special.stdtr(df, -eff / se) if math.isfinite(df) else special.ndtr(-eff / se))
        out.append((p, eff))
    return out


def _arms_used(code: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The arms with subjects (in design order) and each subject's code among them."""
    present = np.flatnonzero(np.bincount(code, minlength=k) > 0)
    recode = np.full(k, -1)
    recode[present] = np.arange(present.size)
    return present, recode[code]


def _linear(x: Arrays, claim: Mapping[str, Any], prs, log: bool):
    vi = x.visits.index(float(claim["visit"]))
    y_all = x.wide(claim["outcome"])
    y, base, code = y_all[:, vi], y_all[:, 0], x.codes()
    ok = ~np.isnan(y) & ~np.isnan(base)
    if log:
        ok &= (y > 0) & (base > 0)
    y, base, code = y[ok], base[ok], code[ok]
    if log:
        y, base = np.log(y), np.log(base)
    present, c = _arms_used(code, len(x.arms))
    X = np.column_stack([np.ones(y.size), _dummies(c, present.size), base])
    df = y.size - X.shape[1]
    if df < 1 or np.linalg.matrix_rank(X) < X.shape[1]:
        raise ModelError("the ANCOVA cannot be fitted (too few subjects or a rank-deficient design)")
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ (X.T @ y)
    resid = y - X @ beta
    vcov = float(resid @ resid) / df * xtx_inv
    k = present.size
    arm_beta = np.r_[0.0, beta[1:k]]
    arm_vcov = np.zeros((k, k))
    arm_vcov[1:, 1:] = vcov[1:k, 1:k]
    idx = {x.arms[a]: i for i, a in enumerate(present)}
    return _pair_stats(arm_beta, arm_vcov, idx, prs, float(df), REGISTRY[claim["outcome"]].sign)


def _count(x: Arrays, claim: Mapping[str, Any], prs):
    from ..models.counts import _fit_negbin, _irls

    vi = x.visits.index(float(claim["visit"]))
    y_all = x.wide(claim["outcome"])
    y, base, code = y_all[:, vi], y_all[:, 0], x.codes()
    ok = ~np.isnan(y) & ~np.isnan(base)
    y, base, code = y[ok], base[ok], code[ok]
    present, c = _arms_used(code, len(x.arms))
    if np.any(np.bincount(c, weights=y, minlength=present.size) == 0):
        raise ModelError("an arm has only zero counts: its rate ratio is not estimable")
    X = np.column_stack([np.ones(y.size), _dummies(c, present.size), base])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ModelError("the count model's design is rank deficient")
    offset = np.zeros(y.size)
    pois = _irls(y, X, offset)
    try:
        fit = _fit_negbin(y, X, offset, pois)
    except ModelError as err:
        if err.kind != "no overdispersion":
            raise
        fit = pois  # the claims report's fallback: the Poisson fit
    k = present.size
    beta, vcov = np.asarray(fit["params"]), np.asarray(fit["vcov"])
    arm_vcov = np.zeros((k, k))
    arm_vcov[1:, 1:] = vcov[1:k, 1:k]
    idx = {x.arms[a]: i for i, a in enumerate(present)}
    return _pair_stats(np.r_[0.0, beta[1:k]], arm_vcov, idx, prs, math.inf, REGISTRY[claim["outcome"]].sign)


def _survival(x: Arrays, claim: Mapping[str, Any], prs):
    from ..models.survival_estimators import cox_fit

    event = _with(claim) or "recovered"
    time, flag, code = x.subject(claim["outcome"]), x.subject(event), x.codes()
    ok = ~np.isnan(time) & ~np.isnan(flag)
    time, flag, code = time[ok], flag[ok], code[ok]
    present, c = _arms_used(code, len(x.arms))
    fit = cox_fit(time, flag, _dummies(c, present.size), "efron")
    if not fit["converged"]:
        raise ModelError("the Cox model did not converge (an arm without events?)")
    k = present.size
    vcov = np.zeros((k, k))
    vcov[1:, 1:] = fit["vcov"]
    idx = {x.arms[a]: i for i, a in enumerate(present)}
    return _pair_stats(np.r_[0.0, fit["params"]], vcov, idx, prs, math.inf, REGISTRY[event].sign)


def _adherence(x: Arrays, claim: Mapping[str, Any], prs):
    planned_col = _with(claim) or "sessions_planned"
    att, planned, code = x.subject(claim["outcome"]), x.subject(planned_col), x.codes()
    ok = ~np.isnan(att) & ~np.isnan(planned) & (planned > 0)
    att, planned, code = att[ok], planned[ok], code[ok]
    present, c = _arms_used(code, len(x.arms))
    k = present.size
    ys = np.bincount(c, weights=att, minlength=k)
    ms = np.bincount(c, weights=planned, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = ys / ms
        logit = np.log(p / (1 - p))
        var = 1.0 / ys + 1.0 / (ms - ys)
        mu = planned * p[c]
        phi = float(np.sum((att - mu) ** 2 / (mu * (1 - p[c])))) / (att.size - k)
    df = math.inf
    if phi > 1:  # the claims report refits quasi-binomially when the binomial fit is overdispersed
        var, df = var * phi, float(att.size - k)
    arm_beta = logit - logit[0]
    arm_vcov = np.diag(var) + var[0]  # Var(l_a - l_0) = v_a + v_0, Cov = v_0
    arm_vcov[0, :] = arm_vcov[:, 0] = 0.0
    idx = {x.arms[a]: i for i, a in enumerate(present)}
    if not np.all(np.isfinite(logit)):
        raise ModelError("an arm attended none or all of its sessions: its odds are not estimable")
    return _pair_stats(arm_beta, arm_vcov, idx, prs, df, 1)


def _safety(x: Arrays, claim: Mapping[str, Any], prs):
    from ..models.safety import noninferiority_rd

    ae, code = x.subject(claim["outcome"]), x.codes()
    k = len(x.arms)
    n = np.bincount(code, minlength=k).astype(float)
    pts = np.bincount(code, weights=(ae > 0).astype(float), minlength=k)
    idx = {a: i for i, a in enumerate(x.arms)}
    first = np.array([idx[a] for a, _ in prs])
    second = np.array([idx[b] for _, b in prs])
    fm = noninferiority_rd(pts[first], n[first], pts[second], n[second], float(claim["mid"]))
    rd = pts[first] / n[first] - pts[second] / n[second]
    return list(zip(fm["p"].to_numpy(float).tolist(), (-rd).tolist()))


_ARRAY = {"ancova": lambda x, c, p: _linear(x, c, p, False), "ancova_log": lambda x, c, p: _linear(x, c, p, True),
          "count": _count, "survival": _survival, "adherence": _adherence, "safety": _safety}


def evaluate(draw: dict[str, Any], claims: Claims, arms: tuple[str, ...],
             visits: tuple[float, ...], alpha: float) -> np.ndarray:
    """One simulated trial (the simulator's draw): ``(status, p, effect)`` of every claim, flattened in
    :func:`columns` order. A Trial is built from the draw only for claims without an array form (mediation)."""
    x = Arrays(draw["frame"], arms, visits)
    trial = None
    out = np.full((len(claims), 3), np.nan)
    for i, claim in enumerate(claims):  # a dozen claims
        why = structural(claim, arms, visits)
        if why is not None:
            out[i, 0] = NOT_TESTABLE
            continue
        prs = pairs_of(claim, arms)
        xs = x
        if claim.get("subgroup"):
            xs = x.subset(claim["subgroup"])
            have = set(np.asarray(arms)[np.unique(xs.codes())].tolist())
            if {a for p in prs for a in p} - have:
                out[i, 0] = NOT_TESTABLE
                continue
        try:
            if claim["model"] in _ARRAY:
                res = _ARRAY[claim["model"]](xs, claim, prs)
            else:
                if trial is None:
                    trial = to_trial(draw)
                t = trial if not claim.get("subgroup") else _claims.subset_trial(trial, claim["subgroup"])
                cons, *_ = _models.MODELS[claim["model"]](t, pd.Series(claim), prs, alpha)
                res = [(c.p_one, c.effect) for c in cons.values()]
        except (ModelError, np.linalg.LinAlgError):
            out[i, 0] = INCONCLUSIVE
            continue
        p = np.array([r[0] for r in res])
        if not np.all(np.isfinite(p)):
            out[i, 0] = INCONCLUSIVE
            continue
        eff = min(r[1] for r in res)
        if claim["test"] == "safety":
            eff = eff - mid_scale(claim)
        out[i] = TESTED, float(p.max()), eff
    return out.ravel()


def to_trial(draw: dict[str, Any]):
    """The Trial :func:`combotherapy.simulate_trial` makes of a draw (already valid: built directly)."""
    from ..simulate.generator import _instruments, _trial_data
    from ..trial import Trial

    return Trial._from_validated(_trial_data(draw), _instruments(draw["frame"]), decisions=(),
                                 source="power simulation")


# --- verdicts and power, vectorised over simulations ------------------------------------------------------------

def adjust(p: np.ndarray, method: str, alpha: float) -> np.ndarray:
    """Adjusted p-values of each row (simulation) over its testable claims (NaN: not in the family), as the
    claims report: Holm, fixed sequence in table order (a running maximum; a claim after the first p >= alpha is
    not tested: infinite), or none."""
    tested = np.isfinite(p)
    if method == "none":
        return p.copy()
    if method == "fixed-sequence":
        q = np.where(tested, p, -np.inf)
        run = np.maximum.accumulate(q, axis=1)
        failed = np.maximum.accumulate(tested & (p >= alpha), axis=1)
        stopped = np.concatenate([np.zeros((p.shape[0], 1), bool), failed[:, :-1]], axis=1)
        return np.where(tested, np.where(stopped, np.inf, run), np.nan)
    m = tested.sum(axis=1, keepdims=True)
    q = np.where(tested, p, np.inf)
    order = np.argsort(q, axis=1, kind="stable")
    ps = np.take_along_axis(q, order, axis=1)
    rank = np.arange(p.shape[1])[None, :]
    with np.errstate(invalid="ignore"):  # inf * 0 beyond a row's family: those cells stay inf
        ps = np.where(np.isfinite(ps), ps * (m - rank), np.inf)
    ps = np.minimum(np.maximum.accumulate(ps, axis=1), 1.0)
    out = np.empty_like(ps)
    np.put_along_axis(out, order, ps, axis=1)
    return np.where(tested, out, np.nan)


def verdict_codes(sims: pd.DataFrame, claims: Claims, alpha: float, method: str
                  ) -> np.ndarray:
    """Verdict of every claim in every simulation: 0 supported, 1 supported below the MID, 2 not supported,
    3 inconclusive, 4 not testable (the rule of :func:`combotherapy.verdict.decide`)."""
    status = np.column_stack([sims[f"claim:{c['id']}:status"].to_numpy(float) for c in claims])
    p = np.column_stack([sims[f"claim:{c['id']}:p"].to_numpy(float) for c in claims])
    eff = np.column_stack([sims[f"claim:{c['id']}:effect"].to_numpy(float) for c in claims])
    p = np.where(status == TESTED, p, np.nan)
    padj = adjust(p, method, alpha)
    significant = np.isfinite(padj) & (padj < alpha) & np.isfinite(eff) & (eff > 0)
    mids = np.array([math.nan if c["test"] == "safety" else mid_scale(c) for c in claims])
    below = significant & np.isfinite(mids)[None, :] & (eff < mids[None, :])
    code = np.where(significant, np.where(below, 1, 0), 2)
    code = np.where(status == INCONCLUSIVE, 3, code)
    return np.where(status == NOT_TESTABLE, 4, code)


def verdict_text(code: int, claim: Mapping[str, Any], units: str = "") -> str:
    """The claims report's verdict for a code (the MID phrase as :func:`combotherapy.verdict.decide` prints it)."""
    from ..verdict import mid_phrase

    if code == 0:
        return SUPPORTED
    if code == 1:
        ratio = claim["model"] in _RATIO
        return f"{BELOW_MID} of {mid_phrase(claim['mid'], units, ratio=ratio)}"
    return {2: NOT_SUPPORTED, 3: "inconclusive", 4: "not testable"}[code]


def decisions(sims: pd.DataFrame, claims: Claims, alpha: float, method: str
              ) -> dict[tuple[str, str, str], Any]:
    """Rejections keyed by (kind, claim id or family, test), for the power table."""
    code = verdict_codes(sims, claims, alpha, method)
    out: dict[tuple[str, str, str], Any] = {}
    testable = ~np.all(code == 4, axis=0)
    for j, c in enumerate(claims):
        if not testable[j]:
            continue
        out[("claim_verdict", c["id"], "supported")] = code[:, j] <= 1
        out[("claim_verdict", c["id"], "supported, at least the MID")] = code[:, j] == 0
        out[("claim_verdict", c["id"], "inconclusive")] = code[:, j] == 3
    sup = code[:, testable] <= 1
    comb = np.array([c["test"] == "combination" for c in claims])[testable]
    out[("claims_family", "all", "all claims supported")] = sup.all(axis=1)
    out[("claims_family", "all", "any claim supported")] = sup.any(axis=1)
    if comb.any():
        out[("claims_family", "combination", "all combination claims supported")] = sup[:, comb].all(axis=1)
    return out
