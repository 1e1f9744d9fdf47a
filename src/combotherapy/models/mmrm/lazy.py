"""The MMRM's data for a :class:`~combotherapy.scale.LazyTrial`: the per-missingness-pattern sufficient statistics
computed by the engine (a GROUP BY pattern in DuckDB, per-partition sums in Dask), and a summary stand-in for the
in-memory :class:`~combotherapy.models.mmrm.design.MMRMData`; from the statistics on, the fit is the in-memory one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...errors import DataError, ModelError
from .design import MMRMData, check_cells, check_covariate_columns, design_columns, design_maps
from .reml import PatternStats

__all__ = ["build_lazy", "LazyMMRMData"]


@dataclass
class LazyMMRMData(MMRMData):
    """:class:`MMRMData` without rows: ``subjects`` is a range, ``Y``/``features``/``arm_codes`` are empty; the
    summaries the fit needs (means over observations, two-valued covariates, arm counts) are precomputed."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    means: dict[int, float] = field(default_factory=dict)
    mids: dict[int, float] = field(default_factory=dict)

    @property
    def n_subjects(self) -> int:
        return int(self.counts.sum())

    @property
    def arm_counts(self) -> np.ndarray:
        return self.counts

    def obs_mean(self, f: int) -> float:
        return self.means[f]

    def two_valued_mid(self, f: int) -> float | None:
        return self.mids.get(f)


def build_lazy(lazy, outcome: str, covariates: Sequence[str] = (), baseline: bool = True
               ) -> tuple[LazyMMRMData, PatternStats]:
    """Validate as :func:`~combotherapy.models.mmrm.design.build` does and compute the pattern statistics in the
    engine."""
    from ...scale.stats import Feature, subject_table
    if lazy.instrument(outcome).level != "visit":
        raise DataError(f"outcome '{outcome}' is measured once per subject; the MMRM needs a visit-level outcome "
                        "measured at follow-up visits (for example one of "
                        f"{[o for o in lazy.visit_outcomes if o != outcome][:5]})")
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(dict.fromkeys(covariates))
    terms = [c for c in covariates if c not in lazy.columns and not str(c).isidentifier()]
    if terms:
        raise ModelError(f"covariate terms {terms} need rows on a lazy trial: the out-of-core MMRM takes column names "
                         "(numeric columns linear, others as factors). Nothing was subsampled; fit such terms on "
                         "trial.collect() or trial.sample(n, seed=...)", kind="needs rows")
    check_covariate_columns(covariates, list(lazy.columns), outcome)

    post = [v for v in lazy.visits if v > 0]
    ys = [f"y{j + 1}" for j in range(len(post))]
    cname = {c: f"c{j}" for j, c in enumerate(covariates)}
    varying = [c for c in covariates if c not in lazy.subject_columns]
    reasons = [ys] + ([["y0"]] if baseline else []) + [[cname[c]] for c in covariates]
    reason_text = [f"no post-baseline value of {outcome}"] + ([f"missing baseline {outcome}"] if baseline else [])
    reason_text += [f"missing {c}" + (" at baseline (week 0)" if c in varying else "") for c in covariates]
    st = subject_table(lazy, outcome, post, covariates, reasons)
    counts = st.reason_counts()
    excluded = pd.DataFrame({"subject": pd.Series([pd.NA] * len(counts), dtype=object),
                             "arm": counts["arm"].astype(str).to_numpy(),
                             "reason": [reason_text[int(r) - 1] for r in counts["reason"]],
                             "n": counts["n"].astype(int).to_numpy()})
    notes = [f"covariate '{c}' varies between visits within subjects; its baseline (week 0) value was used (the "
             "MMRM adjusts for subject-level covariates)" for c in varying]
    got = st.arm_counts()
    arms = [a for a in lazy.arms if got.get(a, 0) > 0]
    n = sum(got.values())
    if n == 0 or not post:
        if baseline and st.all_null("y0"):
            msg = (f"no subject has a baseline (week 0) value of '{outcome}', and the model adjusts for it. If the "
                   f"file has a baseline column, map it with columns={{'{outcome}_baseline': '<column>'}} (it becomes "
                   "the week-0 rows); if the outcome is already a change from baseline, use baseline=False")
        else:
            by = excluded.groupby("reason", sort=False)["n"].sum().sort_values(ascending=False)
            parts = [f"{k} {r}" for r, k in by.items()]
            msg = (f"'{outcome}': every subject was excluded: {', '.join(parts)}; nothing to analyse (drop the "
                   "covariate that is missing, or check the column mapping)")
        raise DataError(msg)
    for a in lazy.arms:
        if a not in arms:
            why = ", ".join(f"{int(r.n)} {r.reason}" for r in excluded[excluded["arm"] == a].itertuples())
            notes.append(f"arm '{a}' has no analysed subject ({why}) and is not in the tables")
    if len(arms) < 2:
        raise DataError(f"column 'arm': the MMRM compares arms, but only {arms} has subjects with post-baseline "
                        f"values of '{outcome}'")

    # subject-level features: 1, arm dummies, baseline, covariates (uncentred, as the in-memory build)
    features = [Feature("one")] + [Feature("arm", value=a) for a in arms[1:]]
    names = ["(Intercept)"] + [f"arm[{a}]" for a in arms[1:]]
    arm_feat = list(range(1, len(arms)))
    base_feat = None
    if baseline:
        base_feat = len(features)
        features.append(Feature("num", "y0"))
        names.append(f"{outcome}_baseline")
    numeric: dict[str, int] = {}
    factors: dict[str, tuple[list[str], list[int]]] = {}
    num_cols = [c for c in covariates if st.numeric(cname[c])]
    summ = st.summaries([cname[c] for c in num_cols], [False] * len(num_cols)) if num_cols else {}
    for c in covariates:
        if c in num_cols:
            _, lo, hi, _ = summ[cname[c]]
            if lo == hi:
                notes.append(f"covariate '{c}' takes a single value among the analysed subjects and was left out")
                continue
            numeric[c] = len(features)
            features.append(Feature("num", cname[c]))
            names.append(c)
            continue
        levels = sorted(st.levels(cname[c]))
        if len(levels) < 2:
            notes.append(f"covariate '{c}' takes a single value among the analysed subjects and was left out")
            continue
        idx = []
        for lev in levels[1:]:
            idx.append(len(features))
            features.append(Feature("level", cname[c], value=lev))
            names.append(f"{c}[{lev}]")
        factors[c] = ([str(v) for v in levels], idx)

    mask, cnt, ZZ = st.pattern_crossproducts(features, ys)
    present = mask.any(axis=0)
    visits = [v for v, p in zip(post, present) if p]
    keep = np.flatnonzero(present)
    q = len(features)
    sel = np.r_[np.arange(q), q + keep]
    ZZ = ZZ[:, sel][:, :, sel]
    mask = mask[:, keep]
    k = len(visits)
    if k == 0:
        raise DataError(f"'{outcome}': no analysed subject has a post-baseline value; nothing to analyse")
    # observations per arm and visit, from the pattern counts of the arm dummies
    per_arm = np.stack([cnt - ZZ[:, 0, arm_feat].sum(axis=1), *[ZZ[:, 0, f] for f in arm_feat]], axis=1)  # (P, A)
    cells = per_arm.T @ mask.astype(float)
    check_cells(cells, arms, visits, outcome)
    cols = design_columns(arms, visits, arm_feat, base_feat, numeric, factors)
    M = design_maps(k, q, cols)
    n_obs_p = mask.sum(axis=1).astype(float)
    stats = PatternStats(mask=mask, n=cnt, S=ZZ[:, :q, :q], Sy=ZZ[:, :q, q:], Syy=ZZ[:, q:, q:], M=M,
                         n_obs=int(round(float(n_obs_p @ cnt))))
    total = float(n_obs_p @ cnt)
    means = {f: float(n_obs_p @ ZZ[:, 0, f]) / total for f in range(q)}   # sum over subjects of n_obs_i * s_if
    mids = {f: (summ[cname[c]][1] + summ[cname[c]][2]) / 2 for c, f in numeric.items() if summ[cname[c]][3]}
    notes.append(f"fitted out-of-core ({lazy.backend}) from per-missingness-pattern sufficient statistics "
                 f"({len(cnt)} patterns); excluded subjects are counted by arm and reason (fitted.excluded: arm, "
                 "reason, n), not listed")
    arm_n = np.array([got.get(a, 0) for a in arms])
    data = LazyMMRMData(outcome=outcome, subjects=pd.RangeIndex(n), arm_codes=np.zeros(0, dtype=np.int64),
                        arms=arms, visits=[float(v) for v in visits], Y=np.zeros((0, k)), features=np.zeros((0, q)),
                        feature_names=names, cols=cols, baseline_feature=base_feat, arm_features=arm_feat,
                        numeric=numeric, factors=factors, excluded=excluded, notes=notes, counts=arm_n, means=means,
                        mids=mids)
    return data, stats
