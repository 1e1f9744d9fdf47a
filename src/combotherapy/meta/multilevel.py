"""Multilevel and multivariate meta-analysis: nested random effects and correlated sampling errors (metafor's
``rma.mv``).

Several effect sizes from one study (or schools within districts, outcomes within trials) are not independent:
``rma_mv`` fits ``y = X beta + u_1[g_1] + u_2[g_2] + ... + e`` with one variance component per level of a nested
grouping (``random=["district", "school"]`` is metafor's ``~ 1 | district/school``) and sampling errors
``e ~ N(0, V)`` with ``V`` diagonal (``vi=``) or a full / block-diagonal matrix (``V=``). The likelihood works on
the block-diagonal structure (:mod:`combotherapy.meta._mv`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..arguments import DEFAULTS, check_alpha, check_choice
from ..errors import DataError, ModelError, ProblemCollector
from ..results import Result
from . import _mv
from ._fitted import StudyFitted

__all__ = ["rma_mv", "RMAMVResult", "lrt"]


class RMAMVResult(Result):
    """A fitted multilevel / multivariate meta-analysis.

    Attributes
    ----------
    estimates : DataFrame
        One row per coefficient: ``term, estimate, se, df, statistic, p, p_adj, ci_low, ci_high`` (``df`` is inf
        for z tests) and, without moderators, the prediction interval ``pi_low, pi_high`` (``se^2`` plus every
        variance component). The same table is :attr:`coefficients`.
    variance_components : DataFrame
        ``component, sigma2, sigma, levels, fixed`` (one row per level of the grouping, outermost first; the
        component of an inner level is named like metafor's, ``"district/school"``).
    heterogeneity : DataFrame
        The test of residual heterogeneity (metafor's QE) with the names of :func:`~combotherapy.meta.rma`'s table:
        ``Q, Q_df, Q_p``; ``tau2`` the sum of the variance components and ``I2`` the share of the total variance
        they make up, ``100 sum(sigma2) / (sum(sigma2) + (k - p) / tr(P))`` with ``P`` at ``sigma2 = 0`` (Cheung
        2014; the multilevel I2 of the metafor documentation).
    moderators : DataFrame
        The omnibus test of the moderators ``test, statistic, df, df2, p`` (empty without moderators).
    fit : DataFrame
        ``method, logLik, deviance, AIC, BIC, AICc, parameters`` as metafor's ``fit.stats`` for the method used.
    studies : DataFrame
        One row per effect size: ``study, yi, vi, sei, ci_low, ci_high, weight`` (weight: ``diag(M^-1)`` in percent
        of its sum, metafor's ``weights()``), so :func:`combotherapy.plot.meta.forest` draws the model.
    """

    tables: tuple[str, ...] = ("estimates", "variance_components", "heterogeneity", "moderators", "fit", "studies")
    estimates: pd.DataFrame
    variance_components: pd.DataFrame
    heterogeneity: pd.DataFrame
    moderators: pd.DataFrame
    fit: pd.DataFrame
    studies: pd.DataFrame

    def __init__(self, title, fitted, *, y, V, X, terms, groups, names, free, method, test, level, b, vb, ddf,
                 sigma2, ll_ml, ll_reml, ll_qe, data_args, **tables):
        super().__init__(title, fitted, **tables)
        self.y, self.V, self.X, self.terms, self.groups, self.names = y, V, X, terms, groups, names
        self.free, self.method, self.test_kind, self.level = free, method, test, level
        self.b, self.vb, self.ddf, self.sigma2 = b, vb, ddf, sigma2
        self.ll_ml, self.ll_reml, self.ll_qe = ll_ml, ll_reml, ll_qe
        self._data_args = data_args
        self.measure = data_args["data"].attrs.get("measure", "GEN")
        self.coefficients = self.estimates
        if self.moderators.empty:   # no moderators: no omnibus test to show
            self.tables = tuple(t for t in type(self).tables if t != "moderators")

    @property
    def k(self) -> int:
        return len(self.y)

    @property
    def loglik(self) -> float:
        """The maximised (restricted) log-likelihood."""
        return self.ll_reml if self.method == "REML" else self.ll_ml

    @property
    def parameters(self) -> int:
        """Coefficients plus the estimated (not fixed) variance components."""
        return self.X.shape[1] + int(self.free.sum())

    def headline(self) -> list[str]:
        e = self.estimates.iloc[0]
        comps = ", ".join(f"sigma2[{n}] = {s:.4g}" for n, s in zip(self.names, self.sigma2, strict=True))
        return [f"{e['term']}: {e['estimate']:.3f} ({e['ci_low']:.3f} to {e['ci_high']:.3f}), p = {e['p']:.3g}; "
                f"{comps}"]

    def _df(self, row: np.ndarray) -> float:
        used = np.flatnonzero(row != 0)
        return float(np.min(self.ddf[used])) if len(used) else float(np.min(self.ddf))

    def contrast(self, C, labels, *, adjust: str = "none", side: str = "two-sided", alpha: float | None = None
                 ) -> pd.DataFrame:
        """Linear combinations ``C @ beta`` of the coefficients through the package's one contrast engine
        (:func:`combotherapy.inference.engine.test_linear`).

        Parameters
        ----------
        C : array (m, p)
            One row per combination, one column per coefficient (``estimates["term"]`` order).
        labels : sequence of str
        adjust, side
            As :func:`combotherapy.inference.engine.test_linear`.
        alpha : float, optional
            1 - confidence level (default: the fit's ``level``).

        Returns
        -------
        DataFrame
            ``contrast, estimate, se, df, statistic, p, p_adj, ci_low, ci_high``. With ``test="t"`` a combination
            has the smallest df of the coefficients it involves (metafor's rule for its omnibus test).

        Examples
        --------
        >>> import pandas as pd
        >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.8, 0.6, 0.9], "vi": [0.02] * 8,
        ...                   "study": [1, 1, 2, 2, 3, 3, 4, 4], "x": ["a", "b"] * 4})
        >>> res = rma_mv(d, random=["study"], mods=["x"])
        >>> res.contrast([[1, 1]], ["mean of b"])["contrast"].tolist()
        ['mean of b']
        """
        from ..inference.engine import test_linear

        C = np.atleast_2d(np.asarray(C, dtype=float))
        df = np.inf if self.test_kind == "z" else self._df
        alpha = 1 - self.level if alpha is None else alpha
        return test_linear(C, self.b, self.vb, df, list(labels), adjust=adjust, alpha=alpha, side=side)

    def test(self, L, labels=None, *, visit: float | None = None, adjust: str = DEFAULTS["adjust"],
             alpha: float = DEFAULTS["alpha"], side: str = DEFAULTS["side"], scale: str = "response"
             ) -> pd.DataFrame:
        """Test linear combinations given as rows on the coefficients (the shared interface's ``test``).

        ``visit`` and ``scale`` do not apply to a meta-analysis (there are no arms or visits) and must be left
        at their defaults; see :meth:`contrast`.
        """
        if visit is not None or scale != "response":
            raise ModelError("a meta-analysis has no visits or link scale: give L as rows on the coefficients",
                             kind="no grid")
        C = np.atleast_2d(np.asarray(L, dtype=float))
        labels = [labels] if isinstance(labels, str) else (list(labels) if labels is not None else
                                                           [f"L{i + 1}" for i in range(len(C))])
        return self.contrast(C, labels, adjust=adjust, side=side, alpha=alpha)

    def test_component(self, component: int | str) -> pd.DataFrame:
        """Likelihood-ratio test of one variance component: the model refitted with it fixed at 0.

        Parameters
        ----------
        component : int or str
            Position (0 = outermost) or name (``variance_components["component"]``).

        Returns
        -------
        DataFrame
            As :func:`lrt`.
        """
        j = self.names.index(component) if isinstance(component, str) else int(component)
        if not self.free[j]:
            raise ModelError(f"the component {self.names[j]!r} is already fixed", kind="fixed")
        args = dict(self._data_args)
        fixed = [np.nan if f else s for f, s in zip(self.free, self.sigma2, strict=True)]
        fixed[j] = 0.0
        args["sigma2"] = fixed
        return lrt(self, _fit(**args))


def _named(labels: np.ndarray | None, rows) -> str:
    """`` [studies A, B]`` for a message (publication labels, not patient identifiers); empty without labels."""
    if labels is None:
        return ""
    names = list(dict.fromkeys(map(str, labels[rows])))
    return f" [stud{'y' if len(names) == 1 else 'ies'} {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}]"


def _parse_random(random) -> list[str]:
    if isinstance(random, str):
        text = random.replace(" ", "")
        if "|" in text:
            text = text.split("|", 1)[1]
        return [c for c in text.split("/") if c]
    return list(random or [])


def _design(data: pd.DataFrame, mods, intercept: bool, labels) -> tuple[np.ndarray, list[str]]:
    n = len(data)
    if not mods:
        if not intercept:
            raise ModelError("a model without intercept needs moderators", kind="no coefficients")
        return np.ones((n, 1)), ["intercept"]
    cols, names = [], []
    first_factor = True
    for m in mods:
        col = data[m]
        if pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype):
            cols.append(col.to_numpy(dtype=float)[:, None])
            names.append(str(m))
            continue
        d = pd.get_dummies(col, prefix=str(m), prefix_sep="", dtype=float)
        if intercept or not first_factor:
            d = d.iloc[:, 1:]
        first_factor = False
        cols.append(d.to_numpy())
        names.extend(d.columns.astype(str))
    X = np.column_stack(cols)
    bad = ~np.isfinite(X).all(axis=1) | data[list(mods)].isna().any(axis=1).to_numpy()
    if bad.any():
        raise DataError(f"moderators missing for rows {', '.join(map(str, np.flatnonzero(bad)[:10] + 1))}"
                        f"{_named(labels, bad)}: give a value for every row or leave those rows out explicitly",
                        kind="missing moderator")
    if intercept:
        X, names = np.column_stack([np.ones(n), X]), ["intercept", *names]
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ModelError("the moderators are collinear (or constant): drop one of them", kind="singular")
    return X, names


def _sampling(data, yi, vi, V, labels) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes and the sampling (co)variances: ``(n,)`` variances or an ``(n, n)`` matrix."""
    n = len(data)
    p = ProblemCollector()
    for c in [yi] + ([vi] if V is None else []):
        if c not in data.columns:
            p.add(c, "is not a column of the data")
    p.raise_if_any(message="rma_mv(): columns not found.")
    y = pd.to_numeric(data[yi], errors="coerce").to_numpy(dtype=float)
    bad_y = np.flatnonzero(~np.isfinite(y))
    if len(bad_y):
        p.add(yi, f"is missing or not finite{_named(labels, bad_y)}", bad_y)
    if V is None:
        v = pd.to_numeric(data[vi], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
        if len(bad):
            p.add(vi, f"is not a positive sampling variance{_named(labels, bad)}", bad)
        p.raise_if_any(message="rma_mv(): every row needs a finite effect size and a positive sampling variance.")
        return y, v
    if isinstance(V, (list, tuple)):
        mats = [np.atleast_2d(np.asarray(b, dtype=float)) for b in V]
        sizes = [m.shape[0] for m in mats]
        if sum(sizes) != n or any(m.shape != (s, s) for m, s in zip(mats, sizes, strict=True)):
            raise DataError(f"V as a list of blocks must hold square blocks whose sizes add up to the {n} rows "
                            f"(they add up to {sum(sizes)})", kind="bad V")
        Vm = np.zeros((n, n))
        at = np.cumsum([0, *sizes])
        for a, m in zip(at[:-1], mats, strict=True):   # assembling the given blocks (once, not in the fit)
            Vm[a:a + m.shape[0], a:a + m.shape[0]] = m
    else:
        Vm = np.asarray(V.toarray() if hasattr(V, "toarray") else V, dtype=float)
    if Vm.shape != (n, n):
        raise DataError(f"V must be {n} x {n} (one row and column per effect size), not {Vm.shape}", kind="bad V")
    d = np.diag(Vm)
    bad = np.flatnonzero(~(np.isfinite(d) & (d > 0)) | ~np.isfinite(Vm).all(axis=1))
    if len(bad):
        p.add("V", f"the sampling variance (diagonal of V) is not positive and finite{_named(labels, bad)}", bad)
    asym = np.flatnonzero(np.any(np.abs(Vm - Vm.T) > 1e-10 * np.max(np.abs(d)), axis=1))
    if len(asym):
        p.add("V", f"V is not symmetric{_named(labels, asym)}", asym)
    p.raise_if_any(message="rma_mv(): every row needs a finite effect size and a valid sampling covariance.")
    return y, (Vm + Vm.T) / 2


def _check_pd(V: np.ndarray, classes: list[_mv.SizeClass], labels) -> None:
    """Every block of V positive definite; the failing blocks are named by their studies."""
    if np.ndim(V) != 2:
        return
    bad_rows: list[np.ndarray] = []
    for cl in classes:
        ev = np.linalg.eigvalsh(cl.V)
        bad = ev[:, 0] <= 1e-12 * np.maximum(1.0, ev[:, -1])
        if bad.any():
            bad_rows.append(cl.idx[bad].ravel())
    if bad_rows:
        rows = np.sort(np.concatenate(bad_rows))
        p = ProblemCollector()
        p.add("V", f"the sampling covariance of these rows is not positive definite{_named(labels, rows)}", rows)
        p.raise_if_any(message="rma_mv(): V must be positive definite (correlations within [-1, 1] and consistent).")


def _grouping(data, random, labels) -> tuple[np.ndarray, list[str], np.ndarray]:
    p = ProblemCollector()
    for c in random:
        if c not in data.columns:
            p.add(c, "is not a column of the data (random=)")
    p.raise_if_any(message="rma_mv(): grouping columns not found.")
    for c in random:
        miss = np.flatnonzero(data[c].isna().to_numpy())
        if len(miss):
            p.add(c, f"the grouping value is missing{_named(labels, miss)}", miss)
    p.raise_if_any(message="rma_mv(): every row needs a value in each grouping column of random=.")
    codes = np.array([data.groupby(random[:j + 1], sort=True, dropna=False).ngroup().to_numpy()
                      for j in range(len(random))], dtype=np.int64).reshape(len(random), len(data))
    names = ["/".join(random[:j + 1]) for j in range(len(random))]
    levels = codes.max(axis=1) + 1 if len(random) else np.zeros(0, dtype=np.int64)
    return codes, names, levels


def _containment_df(X: np.ndarray, groups: np.ndarray, levels: np.ndarray, k: int) -> np.ndarray:
    """metafor's ``dfs="contain"``: levels of the coarsest grouping within which the column is constant, minus p."""
    p = X.shape[1]
    out = np.full(p, float(k))
    for j in range(p):   # p coefficients x c levels: a handful of vectorised checks
        for g, lev in zip(groups, levels, strict=True):
            pairs = np.unique(np.column_stack([g, X[:, j]]), axis=0)
            if len(pairs) == lev:
                out[j] = min(out[j], float(lev))
    return np.maximum(out - p, 1.0)


def rma_mv(data: pd.DataFrame, *, yi: str = "yi", vi: str | None = "vi", V=None,
           random: Sequence[str] | str | None = None, mods: Sequence[str] | None = None, intercept: bool = True,
           sigma2: Sequence[float | None] | None = None, method: str = "REML", test: str = "z",
           dfs: str = "residual", level: float = 0.95, study: str | None = None) -> RMAMVResult:
    """Multilevel / multivariate meta-analysis with nested random effects (metafor ``rma.mv``).

    Parameters
    ----------
    data : DataFrame
        One row per effect size.
    yi, vi : str
        Columns with the effect sizes and their sampling variances (``vi`` is ignored when ``V`` is given).
    V : array (n, n) or list of arrays, optional
        The full sampling covariance matrix, or its diagonal blocks in row order (metafor's ``bldiag``).
    random : list of str or str
        Nested grouping columns, outermost first: ``["district", "school"]`` (or metafor's text
        ``"~ 1 | district/school"``) gives one variance component per level, the inner one for schools within
        districts.
    mods : sequence of str, optional
        Moderator columns (text columns become indicators, the first level as reference).
    intercept : bool
        False drops the intercept; the first text moderator then gets one indicator per level (metafor's
        ``~ outcome - 1``).
    sigma2 : sequence, optional
        Fixed values of the variance components (None or NaN: estimate), as metafor's ``sigma2=c(NA, 0)``.
    method : {"REML", "ML"}
    test : {"z", "t"}
        ``"t"``: t and F tests with ``dfs`` degrees of freedom.
    dfs : {"residual", "contain"}
        metafor's df rules: ``k - p``, or the number of levels of the coarsest grouping within which the
        coefficient's column is constant, minus p (at least 1).
    level : float
        Confidence level.
    study : str, optional
        Column naming the rows in messages (default: the innermost grouping column).

    Returns
    -------
    RMAMVResult

    Notes
    -----
    The marginal covariance is ``M = V + sum_j sigma2_j E_j`` with ``E_j[r, s] = 1`` when rows r and s share the
    level-j group; ``beta = (X'M^-1X)^-1 X'M^-1 y`` with covariance ``(X'M^-1X)^-1``. The variance components
    maximise the ML or REML log-likelihood (metafor's constants: REML includes ``+1/2 log|X'X|``), found by
    Fisher scoring projected onto ``sigma2 >= 0``. ``QE = y'(V^-1 - V^-1X(X'V^-1X)^-1X'V^-1)y`` on ``k - p`` df;
    ``QM`` is the Wald test of the coefficients other than the intercept (divided by m and referred to F with
    the smallest df of those coefficients for ``test="t"``). AIC, BIC and AICc count the coefficients and the
    estimated components; REML's BIC and AICc use ``k - p``; the ML deviance is ``-2 (ll - ll_saturated)`` with
    ``ll_saturated = -k/2 log(2 pi) - 1/2 log|V|``.

    References
    ----------
    Konstantopoulos S. Fixed effects and variance components estimation in three-level meta-analysis. Res Synth
    Methods 2011;2:61-76. Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
    2010;36(3):1-48.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.8, 0.6, 0.9], "vi": [0.02] * 8,
    ...                   "district": [1, 1, 1, 1, 2, 2, 2, 2], "school": [1, 1, 2, 2, 1, 1, 2, 2]})
    >>> res = rma_mv(d, random=["district", "school"])
    >>> res.variance_components["component"].tolist()
    ['district', 'district/school']
    """
    return _fit(data=data, yi=yi, vi=vi, V=V, random=random, mods=mods, intercept=intercept, sigma2=sigma2,
                method=method, test=test, dfs=dfs, level=level, study=study)


def _fit(*, data, yi, vi, V, random, mods, intercept, sigma2, method, test, dfs, level, study) -> RMAMVResult:
    method = check_choice(method, ("reml", "ml"), "method").upper()
    test = check_choice(test, ("z", "t"), "test")
    dfs = check_choice(dfs, ("residual", "contain"), "dfs")
    level = check_alpha(level, "level")
    if not isinstance(data, pd.DataFrame):
        raise DataError("give the effect-size table as a DataFrame (data=)", kind="not a table")
    data = data.reset_index(drop=True)
    random = _parse_random(random)
    label_col = study if study is not None else "study"
    if study is not None and study not in data.columns:
        raise DataError(f"study={study!r} is not a column of the data", kind="missing column", column=study)
    labels = (data[label_col].astype(str).to_numpy(dtype=object) if label_col in data.columns
              else None)
    y, Vs = _sampling(data, yi, vi, V, labels)
    groups, names, levels = _grouping(data, random, labels)
    c, k = len(random), len(y)
    fixed = np.full(c, np.nan)
    if sigma2 is not None:
        vals = [np.nan if s is None else float(s) for s in sigma2]
        if len(vals) != c or any(np.isfinite(v) and v < 0 for v in vals):
            raise ModelError(f"sigma2 needs one value per variance component ({c}: {', '.join(names)}), None to "
                             "estimate it or a fixed value >= 0", kind="bad sigma2")
        fixed = np.array(vals, dtype=float)
    free = ~np.isfinite(fixed)
    X, terms = _design(data, mods, intercept, labels)
    p = X.shape[1]
    problems = []
    for j in range(c):
        if free[j] and levels[j] < 2:
            problems.append(f"'{names[j]}' has a single group, so its variance cannot be estimated (fix it: "
                            f"sigma2 = 0, or drop the level)")
        if free[j] and j > 0 and free[j - 1] and levels[j] == levels[j - 1]:
            problems.append(f"every '{names[j - 1]}' group holds one '{random[j]}' group ({levels[j]} groups at "
                            f"both levels), so the two variance components cannot be told apart: drop one level")
    if int(free.sum()) + p >= k:
        problems.append(f"{k} effect sizes cannot estimate {p} coefficient(s) and {int(free.sum())} variance "
                        "component(s)")
    if problems:
        raise ModelError("rma_mv(): the model has more variance components than the data can separate: "
                         + "; ".join(problems), kind="not identifiable")
    label = _mv.blocks(Vs, groups)
    classes = _mv.size_classes(label, Vs, groups, X, y)
    _check_pd(Vs, classes, labels)
    logdet_xtx = float(np.linalg.slogdet(X.T @ X)[1])
    at0 = _mv.evaluate(classes, np.zeros(c), logdet_xtx, derivatives=False)   # sigma2 = 0: QE and the start
    vdiag = np.diag(Vs) if np.ndim(Vs) == 2 else Vs
    r0 = y - X @ at0.beta
    total = max(0.001 * max(c, 1), float(np.var(r0, ddof=1) - 1 / np.mean(1 / vdiag)))
    start = np.full(c, total / max(c, 1))
    s2, ev, iterations = _mv.maximise(classes, free, np.nan_to_num(fixed), start, method == "REML", logdet_xtx)
    b, vb = ev.beta, ev.vb
    se = np.sqrt(np.diag(vb))
    stat = b / se
    if test == "t":
        ddf = (np.full(p, float(k - p)) if dfs == "residual" else _containment_df(X, groups, levels, k))
        pv = 2 * stats.t.sf(np.abs(stat), ddf)
        crit = stats.t.ppf(0.5 + level / 2, ddf)
    else:
        ddf = np.full(p, np.inf)
        pv = 2 * stats.norm.sf(np.abs(stat))
        crit = np.full(p, stats.norm.ppf(0.5 + level / 2))
    est = pd.DataFrame({"term": terms, "estimate": b, "se": se, "df": ddf, "statistic": stat, "p": pv,
                        "p_adj": pv, "ci_low": b - crit * se, "ci_high": b + crit * se})
    if p == 1 and intercept:   # prediction interval of a new effect: all variance components added (metafor)
        half = crit[0] * np.sqrt(se[0] ** 2 + s2.sum())
        est["pi_low"], est["pi_high"] = b[0] - half, b[0] + half
    zc = stats.norm.ppf(0.5 + level / 2)
    rows = labels if labels is not None else np.array([f"row {i + 1}" for i in range(k)], dtype=object)
    studies = pd.DataFrame({"study": rows, "yi": y, "vi": vdiag, "sei": np.sqrt(vdiag),
                            "ci_low": y - zc * np.sqrt(vdiag), "ci_high": y + zc * np.sqrt(vdiag),
                            "weight": 100 * ev.minv_diag / ev.minv_diag.sum()})
    vc = pd.DataFrame({"component": names, "sigma2": s2, "sigma": np.sqrt(s2), "levels": levels.astype(int),
                       "fixed": ~free})
    qe_df = k - p
    s2_typical = qe_df / at0.trace_p if qe_df > 0 else np.nan   # the "typical" sampling variance
    het = pd.DataFrame({"Q": [at0.rss], "Q_df": [qe_df], "Q_p": [stats.chi2.sf(at0.rss, qe_df)],
                        "tau2": [s2.sum()], "I2": [100 * s2.sum() / (s2.sum() + s2_typical)]})
    btt = np.arange(1, p) if intercept else np.arange(p)
    m = len(btt)
    if m:
        bm = b[btt]
        qm = float(bm @ np.linalg.solve(vb[np.ix_(btt, btt)], bm))
        if test == "t":
            df2 = float(np.min(ddf[btt]))
            mods_tab = pd.DataFrame({"test": ["F"], "statistic": [qm / m], "df": [m], "df2": [df2],
                                     "p": [stats.f.sf(qm / m, m, df2)]})
        else:
            mods_tab = pd.DataFrame({"test": ["chi-square"], "statistic": [qm], "df": [m], "df2": [np.nan],
                                     "p": [stats.chi2.sf(qm, m)]})
    else:
        mods_tab = pd.DataFrame(columns=["test", "statistic", "df", "df2", "p"])
    ll_qe = -0.5 * k * np.log(2 * np.pi) - 0.5 * at0.logdet
    parms = p + int(free.sum())
    if method == "ML":
        ll, dev, n_ic = ev.ll_ml, -2 * (ev.ll_ml - ll_qe), k
    else:
        ll, dev, n_ic = ev.ll_reml, -2 * ev.ll_reml, k - p
    big = max(n_ic, parms + 2)
    fit = pd.DataFrame({"method": [method], "logLik": [ll], "deviance": [dev], "AIC": [-2 * ll + 2 * parms],
                        "BIC": [-2 * ll + parms * np.log(n_ic)],
                        "AICc": [-2 * ll + 2 * parms * big / (big - parms - 1)], "parameters": [parms]})
    structure = " + ".join(f"sigma2[{n}]" for n in names) or "no random effects"
    sampling = "V (full covariance)" if np.ndim(Vs) == 2 else "vi (independent sampling errors)"
    model = f"multilevel random-effects model ({structure}; {method})"
    notes = [f"sampling errors: {sampling}; {len(classes)} block size(s), {int(label.max()) + 1} independent "
             f"blocks; Fisher scoring converged in {iterations} iterations."]
    if (~free).any():
        notes.append("fixed: " + ", ".join(f"sigma2[{n}] = {v:g}" for n, v, f in
                                          zip(names, fixed, free, strict=True) if not f) + ".")
    df_method = ("normal (z)" if test == "z" else
                 f"t ({'k - p' if dfs == 'residual' else 'containment'} df, metafor's dfs='{dfs}')")
    fitted = StudyFitted(model=f"Meta-analysis: {model}", formula=" + ".join(terms), df_method=df_method,
                         alpha=1 - level, notes=notes, studies=int(levels[0]) if c else k, comparisons=k)
    data_args = dict(data=data, yi=yi, vi=vi, V=V, random=random, mods=mods, intercept=intercept, sigma2=sigma2,
                     method=method, test=test, dfs=dfs, level=level, study=study)
    return RMAMVResult(f"Multilevel meta-analysis ({structure}; {method})", fitted, y=y, V=Vs, X=X, terms=terms, groups=groups,
                       names=names, free=free, method=method, test=test, level=level, b=b, vb=vb, ddf=ddf,
                       sigma2=s2, ll_ml=ev.ll_ml, ll_reml=ev.ll_reml, ll_qe=ll_qe, data_args=data_args,
                       estimates=est, variance_components=vc, heterogeneity=het, moderators=mods_tab, fit=fit,
                       studies=studies)


def lrt(full: RMAMVResult, reduced: RMAMVResult) -> pd.DataFrame:
    """Likelihood-ratio test of two nested fits of the same effect sizes (metafor ``anova(full, reduced)``).

    Parameters
    ----------
    full, reduced : RMAMVResult
        The same data and method; with REML also the same moderators (restricted likelihoods of different
        fixed effects are not comparable). The model with more parameters is taken as the full one.

    Returns
    -------
    DataFrame
        Rows ``full`` and ``reduced``: ``model, parameters, logLik, AIC, BIC, AICc, Q`` (residual heterogeneity) and, on the reduced row,
        ``LRT, df, p`` (chi-square; a component tested at its boundary of 0 makes the p-value conservative).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.8, 0.6, 0.9], "vi": [0.02] * 8,
    ...                   "district": [1, 1, 1, 1, 2, 2, 3, 3], "school": [1, 1, 2, 2, 1, 1, 2, 2]})
    >>> full = rma_mv(d, random=["district", "school"])
    >>> lrt(full, rma_mv(d, random=["district", "school"], sigma2=[None, 0]))["model"].tolist()
    ['full', 'reduced']
    """
    if full.parameters < reduced.parameters:
        full, reduced = reduced, full
    if full.k != reduced.k or not np.array_equal(full.y, reduced.y) or full.method != reduced.method:
        raise ModelError("lrt(): the two fits must use the same effect sizes and the same method", kind="not nested")
    if full.method == "REML" and (full.X.shape != reduced.X.shape or not np.allclose(full.X, reduced.X)):
        raise ModelError("lrt(): REML fits with different moderators cannot be compared; refit both with "
                         "method='ML'", kind="not nested")
    df = full.parameters - reduced.parameters
    if df == 0:
        raise ModelError("lrt(): the two fits have the same number of parameters, so they are not nested",
                         kind="not nested")
    stat = max(0.0, 2 * (full.loglik - reduced.loglik))
    rows = []
    for name, r in (("full", full), ("reduced", reduced)):
        f = r.fit.iloc[0]
        rows.append({"model": name, "parameters": r.parameters, "logLik": r.loglik, "AIC": f["AIC"], "BIC": f["BIC"],
                     "AICc": f["AICc"], "Q": float(r.heterogeneity["Q"].iloc[0])})
    out = pd.DataFrame(rows)
    out["LRT"], out["df"], out["p"] = [np.nan, stat], [np.nan, df], [np.nan, stats.chi2.sf(stat, df)]
    return out
