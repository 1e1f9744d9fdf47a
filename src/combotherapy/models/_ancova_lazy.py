"""ANCOVA of a :class:`~combotherapy.scale.LazyTrial` from sufficient statistics.

The engine (DuckDB or Dask) builds the per-subject analysis set, counts exclusions, and returns the summaries the
reference grid needs (means, two-valued numeric variables, factor levels) and the cross-products ``Z'Z`` of
``Z = [X, y]`` with numeric columns and ``y`` centred at their means (Kahan-summed in DuckDB). Least squares from
``Z'Z`` (scaled Cholesky), then the centring is undone exactly; from the :class:`Inference` on, the in-memory and
the lazy fit share :func:`combotherapy.models.ancova.report`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..arguments import check_reference
from ..errors import DataError, ModelError
from ..inference import Inference, model_matrix, reference_grid
from ..inference.grid import _r_name, formula_variables
from ._design import check_not_exact
from .ancova import AncovaResult, report

__all__ = ["ancova_lazy", "ols_from_crossproducts", "RowsNotInMemory"]

_FACTOR_TERM = re.compile(r"^C\(\s*([A-Za-z_]\w*)\s*\)$")
#: a column is dependent when its residual sum of squares on the columns before it (centred, scaled to unit
#: diagonal) is below this fraction: the normal-equations counterpart of the QR rule of ``_design.ols``
RANK_TOL = 1e-11


class RowsNotInMemory:
    """Stands where a row-level table would be (the analysis set, residuals) in a result fitted on a lazy trial:
    any use raises :class:`ModelError` saying why and how to get the rows."""

    def __init__(self, what: str):
        object.__setattr__(self, "_what", what)

    def _refuse(self, *args, **kwargs):
        raise ModelError(f"{self._what} of a fit on a lazy trial is not in memory (the rows stay in the engine); "
                         "fit on trial.collect() (all rows) or trial.sample(n, seed=...) (a seeded subsample) to get "
                         "it", kind="needs rows")

    def __getattr__(self, name):
        self._refuse()

    def __len__(self):
        self._refuse()

    def __iter__(self):
        self._refuse()

    def __getitem__(self, key):
        self._refuse()

    def __repr__(self) -> str:
        return f"<not in memory: {self._what} of a lazy fit; use trial.collect() or trial.sample(n, seed=...)>"


def _list(ids: Sequence[str], n: int) -> str:
    return ", ".join(ids[:10]) + (f" and {n - 10} more" if n > 10 else "")


def ols_from_crossproducts(ZZ: np.ndarray, n: float, spread: float, terms: Sequence[str], centers: np.ndarray,
                           ybar: float, what: str = "") -> tuple[np.ndarray, np.ndarray, int, float]:
    """OLS from ``Z'Z`` of ``Z = [X_c, y - ybar]`` (``X_c``: column j minus ``centers[j]``, the intercept column
    uncentred): ``beta``, its covariance, residual df and sigma for the uncentred ``X``; the rank, df and exact-fit
    checks of :func:`combotherapy.models._design.ols` with the same messages."""
    p = ZZ.shape[0] - 1
    G, h, yy = ZZ[:p, :p], ZZ[:p, p], float(ZZ[p, p])
    d = np.sqrt(np.clip(np.diag(G), 0, None))
    safe = np.where(d > 0, d, 1.0)
    R = G / np.outer(safe, safe)
    kept: list[int] = []
    dep: list[int] = []
    for j in range(p):   # loop over design columns (the rank check)
        res = R[j, j] if d[j] > 0 else 0.0
        if kept and res > 0:
            b = R[kept, j]
            res = res - b @ np.linalg.solve(R[np.ix_(kept, kept)], b)
        (dep if res <= RANK_TOL else kept).append(j)
    if dep:
        bad = list(dict.fromkeys(terms[j] for j in dep))
        raise ModelError(
            f"the design matrix{what} is singular: {', '.join(repr(b) for b in bad)} "
            f"{'is' if len(bad) == 1 else 'are'} a linear combination of the intercept, the arm and the terms before "
            "it (for example a covariate that is constant, constant within arms, or a copy of another covariate). "
            "Remove that covariate (or merge sparse levels) and fit again.")
    df = int(n) - p
    if df < 1:
        raise ModelError(f"the model{what} has {p} parameters but only {int(n)} subjects: no residual degrees of "
                         "freedom. Use fewer covariates or a visit with more data.")
    L = np.linalg.cholesky(R)
    hs = h / safe
    bs = np.linalg.solve(L.T, np.linalg.solve(L, hs))
    rss = max(yy - float(bs @ hs), 0.0)
    sigma2 = rss / df
    check_not_exact(sigma2, spread, what)
    Linv = np.linalg.solve(L, np.eye(p))
    Vc = sigma2 * (Linv.T @ Linv) / np.outer(safe, safe)
    bc = bs / safe
    A = np.eye(p)
    A[0, 1:] = -centers[1:]
    beta = A @ bc
    beta[0] += ybar
    return beta, A @ Vc @ A.T, df, float(np.sqrt(sigma2))


def _terms(lazy, outcome: str, covariates) -> tuple[list[str], list[tuple[str, str, bool]]]:
    """Covariate terms as given, and (term, column, factor?) for each; only plain columns and ``C(column)``."""
    if isinstance(covariates, str):
        covariates = [covariates]
    terms = list(dict.fromkeys(covariates or ()))
    variables = formula_variables(terms, list(lazy.columns))
    reserved = [c for c in variables if c in ("subject", "arm", "visit", outcome)]
    if reserved:
        raise DataError(f"{reserved} cannot be covariates: subject, arm and visit are part of the design and the "
                        f"baseline of '{outcome}' is always included", kind="reserved column", column=reserved[0])
    out = []
    for t in terms:
        m = _FACTOR_TERM.match(str(t).strip())
        if m:
            out.append((t, m.group(1), True))
        elif str(t).strip() in lazy.columns:
            out.append((t, str(t).strip(), False))
        else:
            raise ModelError(f"covariate term {t!r} needs rows on a lazy trial: out-of-core ANCOVA takes column names "
                             "and C(column) (numeric columns linear, text columns as factors). Nothing was "
                             "subsampled; for interactions and splines fit on trial.collect() or on "
                             "trial.sample(n, seed=...)", kind="needs rows")
    return terms, out


def ancova_lazy(lazy, outcome: str, visit: float, *, covariates: Sequence[str], adjust: str, reference: str | None,
                alpha: float, scale: str, missing_baseline: str) -> AncovaResult:
    from ..arguments import check_choice
    from ..scale.stats import Feature, subject_table
    missing = check_choice(missing_baseline, ("error", "exclude"), "missing")
    log = scale == "log"
    inst = lazy.instrument(outcome)
    if inst.level != "visit":
        raise DataError(f"outcome '{outcome}' is measured once per subject; this analysis needs an outcome measured "
                        "at baseline and at follow-up visits", kind="subject-level outcome", column=outcome)
    v = lazy.check_visit(visit)
    if v == 0.0:
        raise DataError(f"visit 0 is the baseline of '{outcome}'; choose a follow-up visit from "
                        f"{[f'{x:g}' for x in lazy.visits if x != 0]}", kind="baseline visit", column=outcome)
    terms, parsed = _terms(lazy, outcome, covariates)
    cols = list(dict.fromkeys(c for _, c, _ in parsed))
    cname = {c: f"c{j}" for j, c in enumerate(cols)}
    st = subject_table(lazy, outcome, [v], cols, [["y1"], ["y0"], *[[cname[c]] for c in cols]])
    if st.all_null("y0"):
        raise DataError(
            f"no subject has a baseline (week 0) value of '{outcome}', and the analysis adjusts for it. If "
            f"the file has a baseline column, map it with columns={{'{outcome}_baseline': '<column>'}} (it "
            "becomes the week-0 rows); if the outcome is already a change from baseline, analyse it with "
            "ct.mmrm, which needs no baseline row.", kind="no baseline", column=outcome)
    empty = [c for c in cols if st.all_null(cname[c])]
    if empty:
        raise DataError(f"covariate(s) {empty} have no value for any subject (at baseline for a covariate that "
                        "varies between visits); drop them from covariates", kind="empty column", column=empty[0])
    where = f" at week {v:g}"
    if st.all_null("y1"):
        raise DataError(f"column '{outcome}': every value{where} is missing; nothing to analyse",
                        kind="no outcome", column=outcome)
    reason_text = [f"no {outcome} value{where}", f"no baseline {outcome} value",
                   *[f"covariate '{c}' missing" for c in cols]]
    if missing == "error":
        for code, col in enumerate(["baseline", *cols], start=2):
            k = st.count_reason([code])
            if k:
                label = f"baseline '{outcome}' (week 0)" if col == "baseline" else f"covariate '{col}'"
                raise DataError(f"{k} subject(s) with a week-{v:g} value of '{outcome}' have no {label}: "
                                f"{_list(st.ids_reason([code]), k)}. Complete the data, or pass "
                                "missing_baseline='exclude' to analyse without them (they are then listed as "
                                "excluded).", kind="missing covariate", column=col if col != "baseline" else outcome)
    if log:
        k, ids = st.nonpositive(["y1", "y0"])
        if k:
            raise DataError(f"column '{outcome}': scale='log' needs positive values, but {k} subject(s) "
                            f"have a value <= 0 at baseline or{where}: {_list(ids, k)}. "
                            "Check the values, or analyse on the original scale (scale='identity').",
                            kind="not positive", column=outcome)
    counts = st.reason_counts()
    excluded = pd.DataFrame({"subject": pd.Series([pd.NA] * len(counts), dtype=object),
                             "arm": counts["arm"].astype(str).to_numpy(),
                             "reason": [reason_text[int(r) - 1] for r in counts["reason"]],
                             "n": counts["n"].astype(int).to_numpy()})
    arms = list(lazy.arms)
    got = st.arm_counts()
    n_per_arm = {a: int(got.get(a, 0)) for a in arms}
    small = {a: k for a, k in n_per_arm.items() if k < 2}
    if small:
        listed = ", ".join(f"{a} ({k} subject{'s' if k != 1 else ''})" for a, k in small.items())
        raise ModelError(f"arm(s) {listed} have fewer than 2 subjects with '{outcome}'{where} (and "
                         f"baseline/covariates); an arm needs at least 2 to estimate its mean with an "
                         "error. Choose another visit or drop that arm from the data.", kind="small arm",
                         arm=str(next(iter(small))), column=outcome)
    reference = check_reference(reference, arms)

    # the reference grid and the design columns, from summaries
    numeric = [("baseline", "y0", log)] + [(c, cname[c], False) for _, c, f in parsed if not f and st.numeric(cname[c])]
    factors = [c for _, c, f in parsed if f or not st.numeric(cname[c])]
    summ = st.summaries(["y1", *[n for _, n, _ in numeric]], [log, *[lg for _, _, lg in numeric]])
    levels = {c: sorted(st.levels(cname[c]), key=lambda x: (str(x) if not st.numeric(cname[c]) else x))
              for c in factors}
    rows = max([2, len(arms), *[len(v) for v in levels.values()]])
    skel = pd.DataFrame({"arm": [arms[i % len(arms)] for i in range(rows)]})
    for name, col, _ in numeric:
        mean, lo, hi, two = summ[col]
        skel[name] = [(lo if i % 2 == 0 else hi) for i in range(rows)] if two else mean
    for c in factors:
        lv = levels[c]
        skel[c] = pd.Series([lv[i % len(lv)] for i in range(rows)]) if lv else pd.Series([None] * rows)
        if not st.numeric(cname[c]):
            skel[c] = skel[c].astype(str)
    spec = model_matrix(skel, arms, ["baseline"], terms)
    grid = reference_grid(spec, skel)
    features = [Feature("one")] + [Feature("arm", value=a) for a in arms[1:]]
    names = ["(Intercept)"] + [f"arm{a}" for a in arms[1:]]
    centers = [0.0] * len(features)
    nums = {name: col for name, col, _ in numeric}
    for _, col, lg in numeric[:1]:
        features.append(Feature("num", col, center=summ[col][0], log=lg))
        names.append("baseline")
        centers.append(summ[col][0])
    for t, c, f in parsed:
        if c in nums and not f:
            features.append(Feature("num", cname[c], center=summ[cname[c]][0]))
            names.append(c)
            centers.append(summ[cname[c]][0])
        else:
            for lev in levels[c][1:]:
                features.append(Feature("level", cname[c], value=lev))
                names.append(_r_name(f"{t}[T.{lev}]"))
                centers.append(0.0)
    by_name = dict(zip(names, zip(features, centers)))
    if len(by_name) == len(names) and sorted(names) == sorted(spec.names):   # patsy puts factor terms first
        features = [by_name[nm][0] for nm in spec.names]
        centers = [by_name[nm][1] for nm in spec.names]
    else:
        raise ModelError(f"covariate terms {terms} could not be computed out-of-core (design columns {spec.names}); "
                         "fit on trial.collect() or trial.sample(n, seed=...)", kind="needs rows")
    ybar = summ["y1"][0]
    ZZ, n, ymin, ymax = st.crossproducts(features, Feature("num", "y1", center=ybar, log=log))
    beta, vcov, df, sigma = ols_from_crossproducts(ZZ, n, ymax - ymin, spec.terms, np.asarray(centers), ybar,
                                                   what=f" for '{inst.name}'")
    inf = Inference(tuple(spec.names), beta, vcov, float(df), "residual", grid, link="log" if log else "identity")
    notes = [f"covariate '{c}' varies between visits; its baseline (week 0) value was used."
             for c in cols if c not in lazy.subject_columns]
    notes.append(f"Fitted out-of-core ({lazy.backend}) from sufficient statistics (cross-products of the design); "
                 "the analysis set and residuals stay in the engine (result.data is not in memory), and excluded "
                 "subjects are counted by arm and reason (fitted.excluded: arm, reason, n), not listed.")
    return report(inf, outcome=outcome, instrument=inst, visit=v, n_per_arm=n_per_arm, excluded=excluded,
                  notes=notes, covariates=list(terms), df_resid=df, sigma=sigma, scale=scale, adjust=adjust,
                  reference=reference, alpha=alpha, data=RowsNotInMemory("the analysis set (result.data)"))
