"""From a Trial to the MMRM's subject-level arrays, its fixed-effects design and pattern sufficient statistics.

Every fixed-effect column is a subject-level feature (1, an arm dummy, the baseline value, a covariate or one of its
factor dummies) times, optionally, the indicator of one visit. So the design row of subject ``i`` at visit ``a`` is
``x_ia = M_a s_i`` and the data are summarised, in one vectorised pass, by per-pattern cross-products of
``(s_i, y_i)`` (:func:`pattern_stats`). No array of size subjects x visits x parameters is ever formed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...errors import DataError, ProblemCollector
from ...inference.grid import covariate_terms, formula_variables
from .reml import PatternStats, xwx

__all__ = ["Columns", "MMRMData", "build", "design_columns", "design_maps", "pattern_stats", "dependent_columns"]


@dataclass
class Columns:
    """The fixed-effects design: column ``j`` is feature ``feat[j]`` at visit ``visit[j]`` (-1: every visit)."""

    feat: np.ndarray
    visit: np.ndarray
    names: list[str]
    terms: list[str]


def design_maps(k: int, q: int, cols: Columns) -> np.ndarray:
    """M (k, p, q) with x_ia = M[a] @ s_i."""
    p = len(cols.feat)
    M = np.zeros((k, p, q))
    for a in range(k):  # loop over visits
        active = (cols.visit == -1) | (cols.visit == a)
        M[a, np.flatnonzero(active), cols.feat[active]] = 1.0
    return M


def pattern_stats(features: np.ndarray, Y: np.ndarray, M: np.ndarray) -> PatternStats:
    """Per-missingness-pattern sums of cross-products of (features, outcome): one pass, a loop over patterns only."""
    n, k = Y.shape
    mask = ~np.isnan(Y)
    if k <= 62:
        code = mask.astype(np.int64) @ (np.int64(1) << np.arange(k, dtype=np.int64))
        uniq, inv = np.unique(code, return_inverse=True)
    else:
        uniq, inv = np.unique(mask, axis=0, return_inverse=True)
    inv = inv.ravel()
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(len(uniq) + 1))
    q = features.shape[1]
    Z = np.concatenate([features, np.where(mask, Y, 0.0)], axis=1)
    P = len(uniq)
    ZZ = np.empty((P, q + k, q + k))
    pmask = np.empty((P, k), dtype=bool)
    for j in range(P):  # loop over missingness patterns
        idx = order[bounds[j]:bounds[j + 1]]
        Zj = Z[idx]
        ZZ[j] = Zj.T @ Zj
        pmask[j] = mask[idx[0]]
    counts = np.diff(bounds).astype(float)
    return PatternStats(mask=pmask, n=counts, S=ZZ[:, :q, :q], Sy=ZZ[:, :q, q:], Syy=ZZ[:, q:, q:], M=M,
                        n_obs=int(mask.sum()))


@dataclass
class MMRMData:
    """The analysable data of one outcome, one row per subject."""

    outcome: str
    subjects: pd.Index            # (n,) subject ids
    arm_codes: np.ndarray         # (n,) index into arms
    arms: list[str]
    visits: list[float]
    Y: np.ndarray                 # (n, k), NaN where missing
    features: np.ndarray          # (n, q)
    feature_names: list[str]
    cols: Columns
    baseline_feature: int | None
    arm_features: list[int]       # feature index of the dummy of arms 2..A
    numeric: dict[str, int]       # numeric covariate -> feature index
    factors: dict[str, tuple[list[str], list[int]]]   # factor -> (levels, feature index of levels 2..L)
    excluded: pd.DataFrame
    # formula terms ("age*sex", "ns(age, df=3)"): feature index -> its reference-grid value (GRID_RULE)
    formula_ref: dict[int, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # the same with the grid's combinations weighted by their frequency among the observations (weights="proportional")
    formula_ref_proportional: dict[int, float] = field(default_factory=dict)

    @property
    def n_obs_per_subject(self) -> np.ndarray:
        return (~np.isnan(self.Y)).sum(axis=1)

    def visit_label(self, a: int) -> str:
        return f"{self.visits[a]:g}"

    @property
    def n_subjects(self) -> int:
        return len(self.subjects)

    @property
    def arm_counts(self) -> np.ndarray:
        return np.bincount(self.arm_codes, minlength=len(self.arms))

    def obs_mean(self, f: int) -> float:
        """Mean of feature ``f`` over the analysed observations (subjects weighted by their observed visits)."""
        w = self.n_obs_per_subject.astype(float)
        w = w / w.sum()
        return float(w @ self.features[:, f])

    def two_valued_mid(self, f: int) -> float | None:
        """The midpoint of a numeric feature that takes exactly two values among the analysed subjects, else None."""
        distinct = np.unique(self.features[:, f])
        return float(distinct.mean()) if len(distinct) == 2 else None


def _factor_levels(values: pd.Series) -> list:
    present = values.dropna()
    if isinstance(values.dtype, pd.CategoricalDtype):
        used = set(present.unique())
        return [c for c in values.cat.categories if c in used]
    return sorted(present.unique().tolist())


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype) \
        and not isinstance(s.dtype, pd.CategoricalDtype)


def _subject_codes(subject: pd.Series) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """Integer code of each row's subject, the subjects in order of first appearance, and each one's first row.

    A Trial keeps each subject's rows together, so the codes are run numbers: one vectorised comparison of
    neighbouring rows, then hashing only each run's first row to confirm that no subject returns later (a third
    of the cost of hashing every row); otherwise a full factorisation.
    """
    vals = subject.array
    if len(vals) > 1:
        try:
            change = np.empty(len(vals), dtype=bool)
            change[0] = True
            change[1:] = np.asarray(vals[1:] != vals[:-1], dtype=bool)
            starts = np.flatnonzero(change)
            _, uniq = pd.factorize(subject.iloc[starts], sort=False)
            if len(uniq) == len(starts):
                return np.cumsum(change) - 1, pd.Index(uniq), starts
        except (TypeError, ValueError):  # e.g. missing subject ids: let the full factorisation handle them
            pass
    codes, uniq = pd.factorize(subject, sort=False)
    first = np.empty(len(uniq), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)   # the last write for each code is its first row
    return codes, pd.Index(uniq), first


def dependent_columns(st: PatternStats, tol: float = 1e-9) -> list[int]:
    """Design columns that are linear combinations of the columns before them (empty when X has full rank).

    From ``X'X`` (the pattern statistics with identity weights) scaled to unit diagonal: one eigenvalue check, and
    only when it fails a sweep over the columns (not the rows) for the residual of each on the ones kept before it.
    """
    k = st.k
    G = xwx(st, st.mask[:, :, None] * np.eye(k)[None])
    d = np.sqrt(np.clip(np.diag(G), 0, None))
    if np.all(d > 0):
        R = G / np.outer(d, d)
        w = np.linalg.eigvalsh(R)
        if w.min() > tol * w.max():
            return []
    else:
        R = G / np.outer(np.where(d > 0, d, 1), np.where(d > 0, d, 1))
    kept: list[int] = []
    dependent: list[int] = []
    for j in range(len(d)):  # loop over design columns
        res = R[j, j]
        if kept and res > 0:
            b = R[kept, j]
            res = res - b @ np.linalg.solve(R[np.ix_(kept, kept)], b)
        (dependent if res <= tol else kept).append(j)
    return dependent


def _subject_covariates(cov: pd.DataFrame, scodes: np.ndarray, n_all: int, at0: np.ndarray
                        ) -> tuple[pd.DataFrame, list[str]]:
    """One value per subject (rows 0..n_all-1 in subject-code order) of each covariate, and the covariates that
    vary within subjects: those take their week-0 value (NaN when the subject has no week-0 row), the others the
    subject's one non-missing value."""
    g = cov.groupby(scodes, sort=True)
    frame = g.first()
    varying = [c for c, m in (g.nunique(dropna=True).max() > 1).items() if m]
    for c in varying:
        frame[c] = pd.Series(cov[c].array[at0], index=scodes[at0]).reindex(frame.index)  # keeps the dtype
    return frame.reindex(pd.RangeIndex(n_all)), varying


def _nothing_to_analyse(outcome: str, reason: np.ndarray, reason_text: list[str], no_baseline: bool) -> str:
    """Why no subject is left: the trial has no baseline rows at all, or the count of each exclusion reason."""
    if no_baseline:
        return (f"no subject has a baseline (week 0) value of '{outcome}', and the model adjusts for it. If the file "
                f"has a baseline column, map it with columns={{'{outcome}_baseline': '<column>'}} (it becomes the "
                "week-0 rows); if the outcome is already a change from baseline, use baseline=False")
    counts = np.bincount(reason, minlength=len(reason_text) + 1)[1:]
    parts = [f"{c} {reason_text[i]}" for i, c in sorted(enumerate(counts), key=lambda t: -t[1]) if c]
    return (f"'{outcome}': every subject was excluded: {', '.join(parts)}; nothing to analyse (drop the covariate "
            "that is missing, or check the column mapping)")


def check_cells(cells: np.ndarray, arms: Sequence[str], visits: Sequence[float], outcome: str) -> None:
    """Observations per arm (rows) and visit (columns): a DataError naming the empty cells, where the arm-by-visit
    effect cannot be estimated (in memory and out of core)."""
    empty = np.argwhere(cells == 0)
    if len(empty):
        where = ", ".join(f"arm '{arms[i]}' at visit {visits[j]:g}" for i, j in empty[:10])
        raise DataError(f"column '{outcome}': no observation for {where}; the arm-by-visit effect cannot be "
                        "estimated there. Remove that visit from the analysis (filter the trial's data) or pool it "
                        "with a neighbouring visit")


def check_covariate_columns(covariates: Sequence[str], columns: Sequence[str], outcome: str) -> None:
    """Every covariate a column of the trial and not part of the model (subject, arm, visit, the outcome); one
    DataError listing every problem (in memory and out of core)."""
    problems = ProblemCollector()
    for c in covariates:
        if c not in columns:
            problems.add(c, f"covariate '{c}' is not a column of the trial; its columns are {list(columns)}")
        elif c in ("subject", "arm", "visit", outcome):
            problems.add(c, "is part of the model already; do not list it as a covariate")
    problems.raise_if_any()


def build(trial, outcome: str, covariates: Sequence[str] = (), baseline: bool = True) -> MMRMData:
    """Subject-level arrays and design for ``outcome ~ arm * visit [+ baseline * visit] + covariates``.

    Raises DataError for duplicated visits, unknown columns, fewer than two arms, or an arm with no observation at
    some visit.
    """
    if trial.instrument(outcome).level != "visit":
        raise DataError(f"outcome '{outcome}' is measured once per subject; the MMRM needs a visit-level outcome "
                        "measured at follow-up visits (for example one of "
                        f"{[o for o in trial.visit_outcomes if o != outcome][:5]})")
    df = trial.data
    if isinstance(covariates, str):  # covariates="age" means one covariate, not 'a', 'g', 'e'
        covariates = [covariates]
    covariates = list(dict.fromkeys(covariates))
    # plain column names keep the hand-built coding below; any other term goes through the formula library
    terms = [c for c in covariates if c not in df.columns and not str(c).isidentifier()]
    plain = [c for c in covariates if c not in terms]
    if terms:
        covariates = list(dict.fromkeys(plain + [v for v in formula_variables(terms, list(df.columns))
                                                 if v not in plain]))
    check_covariate_columns(covariates, list(df.columns), outcome)

    scodes, subj_ids, first_row = _subject_codes(df["subject"])
    n_all = len(subj_ids)
    visit = df["visit"].to_numpy(dtype=float)
    y = df[outcome].to_numpy(dtype=float)
    vcodes, vuniq = pd.factorize(visit)
    # rows of a loaded Trial are sorted by subject and visit: if every row either starts the next new subject (codes
    # are in order of first appearance) or has a later visit than the row before, there are no duplicates;
    # otherwise count (subject, visit) pairs
    step = np.diff(scodes)
    if not np.all((step == 1) | ((step == 0) & (visit[1:] > visit[:-1]))):
        key = scodes.astype(np.int64) * len(vuniq) + vcodes
        dup = np.bincount(key)[key] > 1          # O(rows), no sort: key < subjects x distinct visits
        if dup.any():
            problems = ProblemCollector()
            problems.add("visit", "the same subject has this visit more than once; each subject must have at most "
                         "one row per visit (aggregate or remove the repeated rows)", np.flatnonzero(dup))
            problems.raise_if_any()

    # the outcome as subjects x distinct visits in one scatter (no duplicates now): everything below is per subject
    post_cols = np.flatnonzero(vuniq > 0)
    post_cols = post_cols[np.argsort(vuniq[post_cols])]
    Yall = np.full((n_all, len(vuniq)), np.nan)
    Yall.ravel()[scodes * len(vuniq) + vcodes] = y
    Ypost = Yall[:, post_cols]
    observed = ~np.isnan(Ypost)
    has_post = observed.any(axis=1)
    arm_all = df["arm"].cat.codes.to_numpy()[first_row]
    # exclusion reason per subject as a code (0 = analysed): the first reason that applies
    reason_text = [f"no post-baseline value of {outcome}"]
    reason = np.where(has_post, 0, 1).astype(np.int16)
    base = None
    if baseline:
        zero = np.flatnonzero(vuniq == 0)
        base = Yall[:, zero[0]] if len(zero) else np.full(n_all, np.nan)
        reason_text.append(f"missing baseline {outcome}")
        reason[(reason == 0) & np.isnan(base)] = len(reason_text)
    cov_frame = None
    notes: list[str] = []
    if covariates:
        cov_frame, varying = _subject_covariates(df[covariates], scodes, n_all, visit == 0)
        for c in covariates:
            reason_text.append(f"missing {c}" + (" at baseline (week 0)" if c in varying else ""))
            reason[(reason == 0) & cov_frame[c].isna().to_numpy()] = len(reason_text)
        notes += [f"covariate '{c}' varies between visits within subjects; its baseline (week 0) value was used (the "
                  "MMRM adjusts for subject-level covariates)" for c in varying]
    keep = reason == 0
    all_arms = np.array(list(df["arm"].cat.categories) + [None], dtype=object)
    excluded = pd.DataFrame({"subject": subj_ids[~keep],
                             "arm": all_arms[arm_all[~keep]],
                             "reason": np.array([""] + reason_text, dtype=object)[reason[~keep]]})
    all_arms = list(df["arm"].cat.categories)

    n = int(keep.sum())
    # visits analysed: post-baseline visits with a value in some analysed subject, sorted
    present_visits = observed[keep].any(axis=0) if n else np.zeros(len(post_cols), dtype=bool)
    visits = np.asarray(vuniq[post_cols][present_visits], dtype=float)
    k = len(visits)
    if n == 0 or k == 0:
        no_baseline = baseline and not np.isfinite(base).any()
        raise DataError(_nothing_to_analyse(outcome, reason, reason_text, no_baseline),
                        kind="no baseline" if no_baseline else "no data", column=outcome,
                        arguments=("columns", "baseline") if no_baseline else ())
    Y = Ypost[keep][:, present_visits] if not present_visits.all() else Ypost[keep]
    arm_kept = arm_all[keep]
    present = np.flatnonzero(np.bincount(arm_kept[arm_kept >= 0], minlength=len(all_arms))).tolist()
    arms = [all_arms[i] for i in present]
    randomised = np.flatnonzero(np.bincount(arm_all[arm_all >= 0], minlength=len(all_arms)))
    for i in sorted(set(randomised.tolist()) - set(present)):  # loop over arms left without analysed subjects
        counts = np.bincount(reason[arm_all == i], minlength=len(reason_text) + 1)[1:]
        why = ", ".join(f"{c} {reason_text[j]}" for j, c in enumerate(counts) if c)
        notes.append(f"arm '{all_arms[i]}' has no analysed subject ({why}) and is not in the tables")
    if len(arms) < 2:
        raise DataError(f"column 'arm': the MMRM compares arms, but only {arms} has subjects with post-baseline "
                        f"values of '{outcome}'")
    remap = np.full(len(all_arms), -1)
    remap[present] = np.arange(len(present))
    arm_codes = remap[arm_kept]
    A = len(arms)
    observed = ~np.isnan(Y)
    cells = np.column_stack([np.bincount(arm_codes, weights=observed[:, a], minlength=A)  # loop over visits
                             for a in range(k)])
    check_cells(cells, arms, visits, outcome)

    # subject-level features: 1, arm dummies, baseline, covariates
    feats = [np.ones(n)]
    names = ["(Intercept)"]
    arm_feat = []
    for j in range(1, A):
        arm_feat.append(len(feats))
        feats.append((arm_codes == j).astype(float))
        names.append(f"arm[{arms[j]}]")
    base_feat = None
    if baseline:
        base_feat = len(feats)
        feats.append(base[keep])
        names.append(f"{outcome}_baseline")
    numeric: dict[str, int] = {}
    factors: dict[str, tuple[list[str], list[int]]] = {}
    formula_ref: dict[int, float] = {}
    formula_ref_proportional: dict[int, float] = {}
    in_terms = set(formula_variables(terms, list(df.columns))) if terms else set()
    for c in covariates:
        if c in in_terms and c not in plain:   # used only inside formula terms: built below
            continue
        col = cov_frame[c].iloc[np.flatnonzero(keep)]
        if _is_numeric(col):
            values = col.to_numpy(dtype=float)
            if np.ptp(values) == 0:   # as a one-level factor: nothing to adjust for, and collinear with the intercept
                notes.append(f"covariate '{c}' takes a single value among the analysed subjects and was left out")
                continue
            numeric[c] = len(feats)
            feats.append(values)
            names.append(c)
            continue
        levels = _factor_levels(col)
        if len(levels) < 2:
            notes.append(f"covariate '{c}' takes a single value among the analysed subjects and was left out")
            continue
        codes = pd.Categorical(col, categories=levels).codes
        idx = []
        for li, lev in enumerate(levels[1:], start=1):
            idx.append(len(feats))
            feats.append((codes == li).astype(float))
            names.append(f"{c}[{lev}]")
        factors[c] = ([str(v) for v in levels], idx)
    term_cols: list[tuple[str, str, int]] = []
    if terms:
        sub = cov_frame.iloc[np.flatnonzero(keep)].reset_index(drop=True)
        weights = (~np.isnan(Y)).sum(axis=1).astype(float)
        X, col_names, col_terms, ref = covariate_terms(sub, terms, weights)
        ref_prop = covariate_terms(sub, terms, weights, proportional=True)[3]
        for j in range(X.shape[1]):
            formula_ref[len(feats)] = float(ref[j])
            formula_ref_proportional[len(feats)] = float(ref_prop[j])
            term_cols.append((col_names[j], col_terms[j], len(feats)))
            feats.append(X[:, j])
            names.append(col_names[j])
    features = np.column_stack(feats)

    cols = design_columns(arms, [float(v) for v in visits], arm_feat, base_feat, numeric, factors, term_cols)
    return MMRMData(outcome=outcome, subjects=subj_ids[keep], arm_codes=arm_codes, arms=arms,
                    visits=[float(v) for v in visits], Y=Y, features=features, feature_names=names, cols=cols,
                    baseline_feature=base_feat, arm_features=arm_feat, numeric=numeric, factors=factors,
                    excluded=excluded, notes=notes, formula_ref=formula_ref,
                    formula_ref_proportional=formula_ref_proportional)


def design_columns(arms: Sequence[str], visits: Sequence[float], arm_feat: Sequence[int], base_feat: int | None,
                   numeric: dict[str, int], factors: dict[str, tuple[list[str], list[int]]],
                   term_cols: Sequence[tuple[str, str, int]] = ()) -> Columns:
    """The fixed-effects columns of ``arm * visit [+ baseline * visit] + covariates`` over the subject-level
    features (shared by the in-memory and the lazy builds)."""
    k = len(visits)
    feat, vis, cnames, terms = [], [], [], []

    def add(f, v, name, term):
        feat.append(f)
        vis.append(v)
        cnames.append(name)
        terms.append(term)

    vlab = [f"visit[{v:g}]" for v in visits]
    add(0, -1, "(Intercept)", "(Intercept)")
    for j, f in enumerate(arm_feat, start=1):
        add(f, -1, f"arm[{arms[j]}]", "arm")
    for a in range(1, k):
        add(0, a, vlab[a], "visit")
    if base_feat is not None:
        add(base_feat, -1, "baseline", "baseline")
    for c, f in numeric.items():
        add(f, -1, c, c)
    for c, (levels, idx) in factors.items():
        for lev, f in zip(levels[1:], idx):
            add(f, -1, f"{c}[{lev}]", c)
    for name, term, f in term_cols:
        add(f, -1, name, term)
    for j, f in enumerate(arm_feat, start=1):
        for a in range(1, k):
            add(f, a, f"arm[{arms[j]}]:{vlab[a]}", "arm:visit")
    if base_feat is not None:
        for a in range(1, k):
            add(base_feat, a, f"baseline:{vlab[a]}", "baseline:visit")
    return Columns(np.array(feat), np.array(vis), cnames, terms)
