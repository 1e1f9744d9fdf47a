"""The imputation model: the package's MMRM (``outcome ~ arm * visit + baseline * visit + covariates``) fitted to
the values each subject's strategy lets it use, with per-subject weights (bootstrap) and warm starts.

The MMRM's numerical core (``models/mmrm``: per-pattern sufficient statistics, REML criterion, Newton) is reused.
What this module adds: (1) subjects with no post-baseline value are kept (they are imputed from their baseline and
covariates; the MMRM itself cannot use them); (2) values after an intercurrent event with a non-MAR strategy are left
out of the fit, as rbmi does; (3) the pattern statistics are recomputed for any subject weights (a bootstrap sample
is a vector of multiplicities) or downdated by one subject (jackknife) without touching the other subjects, and each
refit starts from the full-data estimate, so it needs two or three Newton steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError, ModelError
from ..models.mmrm.api import _check_identifiable
from ..models.mmrm.covariance import STRUCTURES, make_structure
from ..models.mmrm.design import MMRMData, build, design_maps
from ..models.mmrm.reml import PatternStats, evaluate, fit_covariance, grad_phi, hessian, moment_start
from ..trial import Trial
from .estimand import STRATEGIES, event_arrays, events_from_dropout

__all__ = ["ImputationData", "prepare", "resolve_references", "Fit1", "fit_model", "refit"]


@dataclass
class ImputationData:
    """Everything the imputation and the analysis need, one row per subject."""

    data: MMRMData
    Y: np.ndarray              # (n, k) observed values (NaN: missing)
    Yfit: np.ndarray           # (n, k) values the imputation model is fitted to
    ice: np.ndarray            # (n,) first visit index affected by the event (k: no event)
    strategy: np.ndarray       # (n,) code into STRATEGIES
    ref_arm: np.ndarray        # (n,) arm code of the subject's imputation reference
    ref_features: np.ndarray   # (n, q) subject features with the arm switched to the reference
    M: np.ndarray              # (k, p, q) design maps
    structure: object
    covariance: str
    events: pd.DataFrame       # subject, visit, strategy (as used)
    references: dict[str, str]
    forced: np.ndarray         # (n,) bool: subject had no post-baseline value (kept, fully imputed)
    notes: list[str] = field(default_factory=list)
    # pattern bookkeeping of Yfit for fast weighted / leave-one-out statistics
    pattern: np.ndarray = None
    pmask: np.ndarray = None
    Z: np.ndarray = None
    _rows: list = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.Y.shape[0]

    @property
    def k(self) -> int:
        return self.Y.shape[1]

    def stats(self, w: np.ndarray | None = None) -> PatternStats:
        """Pattern sufficient statistics of the fit data with subject weights ``w`` (default 1)."""
        P, q, k = len(self.pmask), self.data.features.shape[1], self.k
        Zw = self.Z if w is None else self.Z * w[:, None]
        ZZ = np.zeros((P, q + k, q + k))
        for j in range(P):  # loop over missingness patterns
            idx = self._rows[j]
            ZZ[j] = self.Z[idx].T @ Zw[idx]
        n = np.bincount(self.pattern, weights=w, minlength=P).astype(float)
        nobs = (~np.isnan(self.Yfit)).sum(axis=1)
        n_obs = float(nobs.sum() if w is None else w @ nobs)
        return PatternStats(mask=self.pmask, n=n, S=ZZ[:, :q, :q], Sy=ZZ[:, :q, q:], Syy=ZZ[:, q:, q:], M=self.M,
                            n_obs=int(round(n_obs)))

    def without(self, st: PatternStats, i: int) -> PatternStats:
        """Statistics ``st`` (unit weights) with subject ``i`` removed: a rank-one downdate of its pattern."""
        q = self.data.features.shape[1]
        z = self.Z[i]
        j = self.pattern[i]
        zz = np.outer(z, z)
        S, Sy, Syy, n = st.S.copy(), st.Sy.copy(), st.Syy.copy(), st.n.copy()
        S[j] -= zz[:q, :q]
        Sy[j] -= zz[:q, q:]
        Syy[j] -= zz[q:, q:]
        n[j] -= 1
        return PatternStats(mask=st.mask, n=n, S=S, Sy=Sy, Syy=Syy, M=st.M,
                            n_obs=st.n_obs - int((~np.isnan(self.Yfit[i])).sum()))


def _keep_all_subjects(trial: Trial, outcome: str) -> tuple[Trial, list[str]]:
    """A copy of the trial in which subjects with a baseline but no post-baseline value of the outcome carry a
    placeholder value at the first follow-up visit, so that the MMRM's design builder keeps them (their value is
    set back to missing at once). Returns the trial and those subjects."""
    d = trial.data
    post = d["visit"].to_numpy(float) > 0
    has_post = d.loc[post & d[outcome].notna().to_numpy(), "subject"].unique()
    lacking = d.loc[~d["subject"].isin(has_post), "subject"].unique()
    if not len(lacking):
        return trial, []
    first_visit = float(d.loc[post, "visit"].min())
    rows = d[d["subject"].isin(lacking)]
    at = rows[rows["visit"].to_numpy(float) == first_visit]
    add = rows.drop_duplicates("subject")
    add = add[~add["subject"].isin(at["subject"])].copy()
    add["visit"] = first_visit
    new = pd.concat([d, add], ignore_index=True) if len(add) else d.copy()
    hit = new["subject"].isin(lacking).to_numpy() & (new["visit"].to_numpy(float) == first_visit)
    new.loc[hit, outcome] = 0.0
    new = new.sort_values(["subject", "visit"], kind="stable").reset_index(drop=True)
    return (Trial(new, trial.instruments, source=trial.source, notes=trial.notes, design=trial.design),
            [str(s) for s in lacking])


def resolve_references(arms: Sequence[str], reference_arms: str | Mapping[str, str] | None,
                       needed: bool) -> dict[str, str]:
    """Imputation reference of each arm. A string maps every arm to that arm; a mapping may leave out arms, which
    then reference the default (``control`` when the trial has it, else the arm itself is an error if needed)."""
    arms = list(arms)
    if isinstance(reference_arms, str):
        reference_arms = {a: reference_arms for a in arms}
    given = dict(reference_arms or {})
    bad = {a: r for a, r in given.items() if a not in arms or r not in arms}
    if bad:
        raise DataError(f"reference_arms={bad}: every arm and reference must be an arm of the analysed trial "
                        f"({arms})", kind="unknown arm", arguments=("reference_arms",))
    default = "control" if "control" in arms else None
    out = {}
    for a in arms:
        if a in given:
            out[a] = given[a]
        elif default is not None:
            out[a] = default
        elif needed:
            raise DataError(f"reference-based imputation needs the imputation reference of each arm, and this trial "
                            f"has no 'control' arm to default to; name it, e.g. reference_arms="
                            f"{{'combined': '{arms[0]}', ...}} or reference_arms='{arms[0]}' for every arm (arms: "
                            f"{arms}). This is the arm whose means imputed values follow, not the contrast reference",
                            kind="no reference arm", arguments=("reference_arms",))
        else:
            out[a] = a
    return out


def prepare(trial: Trial, outcome: str, *, covariates: Sequence[str] = (), baseline: bool = True,
            covariance: str = "unstructured", events: pd.DataFrame | None = None, strategy: str | None = None,
            reference_arms: str | Mapping[str, str] | None = None) -> ImputationData:
    """Build the imputation data: design, events per subject, reference arms, fit values, pattern bookkeeping."""
    if covariance not in STRUCTURES:
        raise ModelError(f"covariance={covariance!r} is not available; choose one of {', '.join(STRUCTURES)}")
    if outcome not in trial.data.columns:
        raise DataError(f"outcome '{outcome}' is not a column of the trial; its columns are {list(trial.data.columns)}")
    tr, lacking = _keep_all_subjects(trial, outcome)
    data = build(tr, outcome, covariates, baseline)
    Y = data.Y.copy()
    forced = np.asarray(data.subjects.astype(str).isin(lacking))
    Y[forced] = np.nan
    k = len(data.visits)
    notes = list(data.notes)
    if forced.any():
        notes.append(f"{int(forced.sum())} subjects with no post-baseline value of {outcome} are kept and imputed "
                     "from their baseline and covariates")
    if events is None:
        from .estimand import normalise_strategy
        s = normalise_strategy(strategy or "MAR")
        ev = events_from_dropout(data.subjects, Y, data.visits, s)
        notes.append(f"no intercurrent events were given: each subject whose values stop before the last visit has "
                     f"an event (dropout) at its first missing visit, handled as {s}; intermittent missing values "
                     "are MAR")
        ice, strat = event_arrays(ev, data.subjects, data.visits, s)
    else:
        ev = events.copy()
        ice, strat = event_arrays(ev, data.subjects, data.visits, strategy)
        if strategy is not None:
            ev["strategy"] = strategy
    used = sorted({STRATEGIES[c] for c in np.unique(strat[ice < k])})
    refs = resolve_references(data.arms, reference_arms, needed=bool(set(used) & {"J2R", "CR", "CIR"}))
    if "LMCF" in used and np.any((strat == STRATEGIES.index("LMCF")) & (ice == 0)):
        raise DataError("LMCF carries the last mean before the event forward, but some subjects have their event "
                        "at the first visit (no mean before it); use J2R or CR for them")
    ref_arm = np.array([data.arms.index(refs[a]) for a in data.arms])[data.arm_codes]
    F = data.features
    Fr = F.copy()
    af = data.arm_features
    if af:
        Fr[:, af] = 0.0
        nz = ref_arm > 0
        Fr[np.flatnonzero(nz), np.asarray(af)[ref_arm[nz] - 1]] = 1.0
    post = np.arange(k)[None, :] >= ice[:, None]
    Yfit = np.where(post & (strat[:, None] != 0), np.nan, Y)
    structure = make_structure(covariance, k)
    M = design_maps(k, F.shape[1], data.cols)
    imp = ImputationData(data=data, Y=Y, Yfit=Yfit, ice=ice, strategy=strat, ref_arm=ref_arm, ref_features=Fr, M=M,
                         structure=structure, covariance=covariance, events=ev, references=refs, forced=forced,
                         notes=notes)
    mask = ~np.isnan(Yfit)
    code = mask.astype(np.int64) @ (np.int64(1) << np.arange(k, dtype=np.int64))
    uniq, inv = np.unique(code, return_inverse=True)
    imp.pattern = inv.ravel()
    imp.pmask = ((uniq[:, None] >> np.arange(k)) & 1).astype(bool)
    imp.Z = np.concatenate([F, np.where(mask, Yfit, 0.0)], axis=1)
    order = np.argsort(imp.pattern, kind="stable")
    bounds = np.searchsorted(imp.pattern[order], np.arange(len(uniq) + 1))
    imp._rows = [order[bounds[j]:bounds[j + 1]] for j in range(len(uniq))]
    return imp


@dataclass
class Fit1:
    """One fit of the imputation model."""

    beta: np.ndarray
    Sigma: np.ndarray
    theta: np.ndarray
    newton_steps: int


def fit_model(imp: ImputationData, st: PatternStats | None = None, theta0: np.ndarray | None = None,
              reml: bool = True, check: bool = False) -> Fit1:
    """Fit the imputation MMRM to statistics ``st`` (default: all subjects), from ``theta0`` when given.

    Raises ModelError (saying it is the imputation model) when it cannot be fitted or does not converge.
    """
    st = imp.stats() if st is None else st
    try:
        if check:
            _check_identifiable(imp.data, st, imp.covariance, imp.structure.n_par)
        if theta0 is None:
            theta0 = imp.structure.start(moment_start(st))
        f = fit_covariance(st, imp.structure, theta0, reml)
    except (ModelError, DataError) as err:
        raise ModelError(f"the imputation model (MMRM of {imp.data.outcome}, {imp.structure.label} covariance) "
                         f"could not be fitted: {err}") from err
    return Fit1(beta=f.state.beta, Sigma=f.state.Sigma, theta=f.theta, newton_steps=f.newton_steps)


def refit(imp: ImputationData, st: PatternStats, start: Fit1, reml: bool = True, tol: float = 1e-6) -> Fit1:
    """Refit after a small change of the data (one subject left out, a bootstrap sample) by undamped Newton steps
    from ``start``: quadratic convergence, so once the Newton decrement is below ``tol`` one more step leaves an
    error of order ``tol`` squared. Falls back to the full damped fit when a step does not decrease the criterion
    or leaves the positive definite cone, and to a fit from the moment start when that damped fit fails (a trial
    step of its line search can reach a covariance at which the fixed-effects information is numerically singular:
    1 of 200 bootstrap samples of antidepressant_data, found by the rbmi bootstrap check)."""
    s_ = imp.structure
    theta = start.theta
    state = evaluate(st, s_.sigma(s_.phi(theta)), reml)
    for steps in range(1, 9):  # loop over Newton steps (two or three from a warm start)
        if state is None:
            break
        phi = s_.phi(theta)
        D = s_.d1(phi)
        J = s_.jacobian(theta)
        g = J.T @ grad_phi(state, D)
        Hp, _ = hessian(st, state, D, s_.d2(phi), reml)
        H = J.T @ Hp @ J
        try:
            step = -np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        dec = float(-g @ step)
        if not dec >= 0:  # Hessian not positive definite here: not close enough for plain Newton
            break
        new = evaluate(st, s_.sigma(s_.phi(theta + step)), reml)
        if new is None or new.f > state.f + 1e-10 * abs(state.f):
            break
        theta, state = theta + step, new
        if dec < tol:
            return Fit1(beta=state.beta, Sigma=state.Sigma, theta=theta, newton_steps=steps)
    try:
        return fit_model(imp, st, theta0=start.theta, reml=reml)
    except ModelError:
        return fit_model(imp, st, reml=reml)
