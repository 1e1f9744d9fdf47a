"""Model matrices from formula terms, and the one reference-grid rule, for every model that compares arms.

The formula library is **patsy** (already installed with statsmodels, so no new dependency): its design
information remembers each term's coding and each stateful transform's state (factor levels, spline knots,
centring), so the reference grid is built by evaluating the *same* terms on grid rows — interactions and splines
come from the grid values, never from averaged columns, which is what emmeans does.

Covariate terms use the usual formula syntax: ``"age"``, ``"C(site)"``, ``"age*sex"``, ``"age:sex"``,
``"ns(age, df=3)"`` (a natural cubic spline with knots at quantiles; spans the same functions as R's
``splines::ns(age, df = 3)`` with an intercept, so fitted values and LS means equal R's, while its coefficients
are in another basis), ``"np.log(crp)"``.

:data:`GRID_RULE` is the one rule, stated in every result (emmeans' defaults): a numeric variable with two
distinct values among the analysed subjects is treated as a factor with those two values weighted equally
(``cov.keep = "2"``); any other numeric variable is set to its mean over the analysed subjects; the levels of a
factor are weighted equally; each grid row is put through the model's terms and the rows of one arm (and visit)
are averaged with equal weights.

Example
-------
>>> import numpy as np, pandas as pd
>>> f = pd.DataFrame({"arm": ["a", "b"] * 4, "baseline": np.arange(8.0), "sex": [0, 1, 1, 0, 0, 0, 1, 1]})
>>> spec = model_matrix(f, ["a", "b"], ["baseline"], ["sex"])
>>> spec.names
['(Intercept)', 'armb', 'baseline', 'sex']
>>> reference_grid(spec, f).L.round(2).tolist()
[[1.0, 0.0, 3.5, 0.5], [1.0, 1.0, 3.5, 0.5]]
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy
from patsy.mgcv_cubic_splines import CR

from ..errors import DataError, ModelError

__all__ = ["GRID_RULE", "ModelSpec", "ReferenceGrid", "covariate_terms", "formula_names", "formula_variables",
           "is_factor", "model_matrix", "reference_grid", "ns"]

GRID_RULE = ("Reference grid (emmeans' default): a numeric variable with two distinct values is treated as a factor "
             "with equal weights, other numeric variables are at their mean over the analysed subjects, factor "
             "levels are weighted equally, and interaction and spline terms are built from those grid values.")


def is_factor(s: pd.Series) -> bool:
    """Text, categorical and boolean columns are factors; numbers are numeric (as R's ``lm`` treats them)."""
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


class _NaturalSpline(CR):
    """``ns(x, df)``: a natural cubic spline with ``df - 1`` inner knots at quantiles of ``x`` (all values, ties
    included, as R's ``splines::ns``) and boundary knots at the range, centred so it can sit beside an intercept:
    the same function space as R's ``ns(x, df)`` + intercept. patsy's ``cr`` takes its quantiles of the *distinct*
    values, so the knots are computed here and passed to it."""

    def memorize_chunk(self, x, df=3, lower_bound=None, upper_bound=None):
        self._chunks = [*getattr(self, "_chunks", []), np.atleast_1d(np.asarray(x, dtype=float))]
        self._ns_args = (int(df), lower_bound, upper_bound)

    def memorize_finish(self):
        x = np.concatenate(self._chunks)
        df, lower, upper = self._ns_args
        del self._chunks
        inner = np.quantile(x, np.linspace(0, 1, df + 1)[1:-1])   # R's quantile type 7 = numpy's default
        super().memorize_chunk(x, knots=inner, lower_bound=lower, upper_bound=upper, constraints="center")
        super().memorize_finish()

    def transform(self, x, df=3, lower_bound=None, upper_bound=None):
        return super().transform(x, knots=None, lower_bound=lower_bound, upper_bound=upper_bound,
                                 constraints="center")


ns = patsy.stateful_transform(_NaturalSpline)

#: names the formula terms may call besides patsy's own (C, cr, cc, bs, center, standardize, I, Q)
_ENV = {"ns": ns, "np": np, "log": np.log, "exp": np.exp, "sqrt": np.sqrt}


def formula_names(rhs: str) -> list[str]:
    """The variable names a formula right-hand side uses (not the functions it calls), in order of first use;
    a ``patsy.PatsyError`` when it is not valid formula syntax."""
    out: list[str] = []
    for t in patsy.ModelDesc.from_formula("~ " + str(rhs)).rhs_termlist:
        for factor in t.factors:
            tree = ast.parse(factor.code, mode="eval")
            called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
            called |= {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Name) and id(node) not in called and node.id not in out:
                    out.append(node.id)
    return out


def formula_variables(terms: Sequence[str], columns: Sequence[str]) -> list[str]:
    """The data columns that formula ``terms`` use, in order of first use.

    Raises
    ------
    DataError
        A term that is not valid formula syntax, or that names something that is not a column.
    """
    out: list[str] = []
    unknown: list[str] = []
    cols = set(columns)
    for term in terms:
        try:
            names = formula_names(term)
        except patsy.PatsyError as err:
            raise DataError(f"covariate term {term!r} is not valid formula syntax ({err.message}); write terms "
                            "such as 'age', 'C(site)', 'age*sex' or 'ns(age, df=3)'", kind="formula") from None
        for name in names:
            target = out if name in cols else unknown
            if name not in target:
                target.append(name)
    if unknown:
        raise DataError(f"covariate(s) {unknown} are not columns of this trial (its columns are {sorted(cols)})",
                        kind="unknown column", column=unknown[0])
    return out


@dataclass(frozen=True)
class ModelSpec:
    """A model matrix built by the formula library, with what the grid needs to rebuild it.

    ``names`` are R-style column names (``(Intercept)``, ``armphysio``, ``baseline``, ``sitesite2``,
    ``age:sexM``); ``terms`` gives each column's term; ``variables`` the data columns behind the terms
    (``arm`` first); ``formula`` the right-hand side as fitted.
    """

    X: np.ndarray
    names: list[str]
    terms: list[str]
    variables: list[str]
    formula: str
    arms: list[str]
    design_info: patsy.DesignInfo


_LEVEL = re.compile(r"^(?:C\()?([A-Za-z_][\w.]*)(?:,[^\]]*)?\)?\[T\.(.*)\]$")


def _r_name(name: str) -> str:
    """patsy's ``site[T.site2]`` / ``C(site)[T.site2]`` -> R's ``sitesite2``, part by part for interactions."""
    if name == "Intercept":
        return "(Intercept)"
    return ":".join(_LEVEL.sub(r"\1\2", part) for part in name.split(":"))


def model_matrix(frame: pd.DataFrame, arms: Sequence[str], fixed: Sequence[str] = (),
                 covariates: Sequence[str] = (), arm_col: str = "arm") -> ModelSpec:
    """``1 + arm + fixed + covariates`` with R's treatment coding (first arm = reference).

    Parameters
    ----------
    frame : DataFrame
        The analysis frame (one row per analysed subject or observation).
    arms : sequence of str
        Arm levels in display order; the first is the reference of the coding.
    fixed : sequence of str
        Plain numeric columns always in the model (e.g. ``baseline``).
    covariates : sequence of str
        Formula terms (see the module docstring).

    Raises
    ------
    ModelError
        A factor with a single level among the analysed rows (it cannot be estimated).
    """
    arms = [str(a) for a in arms]
    variables = [arm_col, *fixed, *(formula_variables(covariates, frame.columns) if covariates else ())]
    rhs = " + ".join([arm_col, *fixed, *covariates])
    env = patsy.EvalEnvironment([_ENV])
    # 1 + arm + numeric columns: from the arm's codes and the columns themselves (no coded copy of the frame)
    plain = None if covariates else _plain_design(frame, rhs, env, arm_col, arms, fixed)
    if plain is not None:
        Xv, info = plain
    else:
        data = _coded(frame, variables, arm_col, arms)
        for c in variables[1:]:
            if is_factor(data[c]) and data[c].nunique() < 2:
                raise ModelError(f"covariate '{c}' has a single level among the analysed subjects, so it cannot be "
                                 "estimated (the design would be singular); drop it from covariates",
                                 kind="singular", column=c)
        try:
            X = patsy.dmatrix(rhs, data, eval_env=env, NA_action="raise", return_type="dataframe")
        except patsy.PatsyError as err:
            raise DataError(f"the covariate terms could not be built: {err.message}", kind="formula") from None
        info = X.design_info
        Xv = X.to_numpy(float)
    names = [_r_name(n) for n in info.column_names]
    terms = [""] * len(names)
    for term, sl in info.term_slices.items():
        for j in range(sl.start, sl.stop):
            terms[j] = "(Intercept)" if term.name() == "Intercept" else term.name()
    return ModelSpec(X=Xv, names=names, terms=terms, variables=variables, formula=rhs, arms=arms,
                     design_info=info)


#: patsy's design information of a plain ``arm + fixed`` design depends only on the formula, the arms and the
#: column names (numeric columns, a categorical arm with these categories), so it is built once per key
_PLAIN_INFO: dict[tuple, patsy.DesignInfo] = {}


def _plain_design(frame: pd.DataFrame, rhs: str, env, arm_col: str, arms: Sequence[str], fixed: Sequence[str]
                  ) -> tuple[np.ndarray, patsy.DesignInfo] | None:
    """``1 + arm + fixed numeric columns`` without patsy over every row: the design information from patsy on the
    first row, the matrix (intercept, treatment dummies, the columns as floats) in numpy. None (patsy then builds
    it all, and reports what is wrong) unless every value is present, the fixed columns are plain numbers, and
    patsy's columns are exactly the expected ones."""
    n = len(frame)
    if not n or len(set(fixed)) != len(fixed) or arm_col in fixed:
        return None
    codes = _arm_codes(frame[arm_col], arms)
    if codes is None:
        codes = np.asarray(_arm_categorical(frame[arm_col], arms).codes)
    if (codes < 0).any():
        return None
    cols = []
    for c in fixed:
        values = frame[c]
        dt = values.dtype
        if not isinstance(dt, np.dtype) or dt.kind not in "fiu":
            return None
        x = values.to_numpy(float)
        if np.isnan(x).any():
            return None
        cols.append(x)
    key = (rhs, arm_col, tuple(arms), tuple(fixed))
    info = _PLAIN_INFO.get(key)
    if info is None:
        try:
            info = patsy.dmatrix(rhs, _coded(frame.iloc[:1], [arm_col, *fixed], arm_col, arms), eval_env=env,
                                 NA_action="raise").design_info
        except patsy.PatsyError:
            return None
        if len(_PLAIN_INFO) < 256:
            _PLAIN_INFO[key] = info
    k = len(arms)
    if info.column_names != ["Intercept", *[f"{arm_col}[T.{a}]" for a in list(arms)[1:]], *fixed]:
        return None
    X = np.empty((n, k + len(cols)))
    X[:, 0] = 1.0
    X[:, 1:k] = codes[:, None] == np.arange(1, k)
    for j, x in enumerate(cols):
        X[:, k + j] = x
    return X, info


def _arm_codes(values: pd.Series, arms: Sequence[str]) -> np.ndarray | None:
    """The codes of :func:`_arm_categorical` (position among ``arms``, -1 for any other value) of a categorical
    column with text categories, through its few categories; None for another column."""
    if isinstance(values.dtype, pd.CategoricalDtype) and len(values.cat.categories) \
            and values.cat.categories.inferred_type == "string":
        where = {a: i for i, a in enumerate(arms)}   # exact matches, as Index.get_indexer (arms are distinct)
        pos = np.array([where.get(c, -1) for c in values.cat.categories.to_numpy(object)], dtype=np.intp)
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, pos[codes], -1)
    return None


def _arm_categorical(values: pd.Series, arms: Sequence[str]) -> pd.Categorical:
    """``pd.Categorical(values.astype(str), categories=arms)``; a categorical column with text categories is recoded
    through its few categories (their position among ``arms``) instead of converting every row to text."""
    arms = list(arms)
    codes = _arm_codes(values, arms)
    if codes is not None:
        return pd.Categorical.from_codes(codes, categories=arms)
    return pd.Categorical(values.astype(str), categories=arms)


def _coded(frame: pd.DataFrame, variables: Sequence[str], arm_col: str, arms: Sequence[str],
           code_arm: bool = True) -> pd.DataFrame:
    data = frame[list(dict.fromkeys(variables))].copy()
    if code_arm:
        data[arm_col] = _arm_categorical(data[arm_col], arms)
    for c in variables[1:]:
        if is_factor(data[c]) and not isinstance(data[c].dtype, pd.CategoricalDtype):
            # R's factor(): levels sorted, only those present
            values = data[c].astype(str)
            data[c] = pd.Categorical(values, categories=sorted(values.unique()))
    return data


@dataclass(frozen=True)
class ReferenceGrid:
    """The cells whose estimated marginal means a model reports.

    Attributes
    ----------
    frame : DataFrame
        One row per cell: column ``arm`` (canonical arm name), optionally ``visit`` (weeks) and other by-columns.
    L : ndarray (len(frame), p)
        Row ``i`` gives cell ``i``'s EMM on the link scale as ``L[i] @ beta``.
    rule : str
        How covariates were set (:data:`GRID_RULE`).
    """

    frame: pd.DataFrame
    L: np.ndarray
    rule: str = GRID_RULE

    def __post_init__(self):
        if len(self.frame) != self.L.shape[0] or "arm" not in self.frame.columns:
            raise ValueError("a reference grid needs an 'arm' column and one row of L per cell")

    @property
    def by(self) -> list[str]:
        """The grid's columns other than ``arm`` (e.g. ``["visit"]``)."""
        return [c for c in self.frame.columns if c != "arm"]


def _levels(data: pd.Series, weights: np.ndarray | None = None) -> tuple[list, np.ndarray | None]:
    """Grid values of one variable and their weights (None: a single value). ``weights`` weight the mean of a
    numeric variable (observations per subject in a repeated-measures model, as emmeans on the long data)."""
    if isinstance(data.dtype, pd.CategoricalDtype):
        return list(data.cat.categories), None
    x = data.to_numpy(float)
    low, high = (x.min(), x.max()) if len(x) else (0.0, 0.0)
    # np.unique (a sort) only when there may be exactly two distinct values: a continuous column skips it
    if np.isnan(low) or (low < high and np.all((x == low) | (x == high))):
        distinct = np.unique(x)
        if len(distinct) == 2:
            return list(distinct), None
    return [float(np.average(x, weights=weights))], None


def covariate_terms(frame: pd.DataFrame, terms: Sequence[str], weights: np.ndarray | None = None,
                    proportional: bool = False) -> tuple[np.ndarray, list[str], list[str], np.ndarray]:
    """Columns of covariate ``terms`` alone (no intercept, no arm) and their reference-grid value.

    For models that build the rest of their design themselves (the MMRM): returns ``X`` (n x q), R-style column
    names, each column's term, and the grid row (q,) by :data:`GRID_RULE` (covariates enter additively, so the
    row is the same for every arm and visit). ``proportional=True`` weights the grid's combinations by their
    frequency among the rows (``weights``: observations per subject), as emmeans' ``weights="proportional"``.
    """
    variables = formula_variables(terms, frame.columns)
    data = frame[variables].copy()
    for c in variables:
        if is_factor(data[c]) and not isinstance(data[c].dtype, pd.CategoricalDtype):
            values = data[c].astype(str)
            data[c] = pd.Categorical(values, categories=sorted(values.unique()))
        if is_factor(data[c]) and data[c].nunique() < 2:
            raise ModelError(f"covariate '{c}' has a single level among the analysed subjects, so it cannot be "
                             "estimated; drop it from covariates", kind="singular", column=c)
    env = patsy.EvalEnvironment([_ENV])
    X = patsy.dmatrix("1 + " + " + ".join(terms), data, eval_env=env, NA_action="raise", return_type="dataframe")
    info = X.design_info
    names = [_r_name(n) for n in info.column_names]
    col_terms = [""] * len(names)
    for term, sl in info.term_slices.items():
        for j in range(sl.start, sl.stop):
            col_terms[j] = term.name()
    grid_values = [_levels(data[v], weights)[0] for v in variables]
    if proportional:
        # each combination weighted by how often it occurs: the rows themselves, with the variables the grid
        # holds at one value (numeric, not two-valued) set to that value, averaged with the row weights
        combos = data.reset_index(drop=True)
        for v, values in zip(variables, grid_values):
            if len(values) == 1 and not isinstance(data[v].dtype, pd.CategoricalDtype):
                combos[v] = values[0]
        (Xg,) = patsy.build_design_matrices([info], combos, return_type="matrix")
        ref = np.average(np.asarray(Xg, dtype=float), axis=0, weights=weights)
        return X.to_numpy(float)[:, 1:], names[1:], col_terms[1:], ref[1:]
    combos = pd.MultiIndex.from_product(grid_values, names=variables).to_frame(index=False)
    for v in variables:
        if isinstance(data[v].dtype, pd.CategoricalDtype):
            combos[v] = pd.Categorical(combos[v], categories=data[v].cat.categories)
    (Xg,) = patsy.build_design_matrices([info], combos, return_type="matrix")
    ref = np.asarray(Xg, dtype=float).mean(axis=0)        # equal weights over the grid's combinations
    return X.to_numpy(float)[:, 1:], names[1:], col_terms[1:], ref[1:]


def _plain_numeric(values: pd.Series) -> bool:
    dt = values.dtype
    return isinstance(dt, np.dtype) and dt.kind in "fiu"


def _plain_grid(arms: list[str], values: list[list], arm_col: str) -> ReferenceGrid:
    """The grid of ``1 + arm + numeric columns`` (each entering as itself) without patsy: the rows patsy builds
    for every combination of the columns' grid values (intercept 1, the arm's treatment dummies, the values), in
    the same order, averaged within each arm by the same matrix product."""
    k = len(arms)
    combos = list(itertools.product(*values))
    Xg = np.zeros((k * len(combos), k + len(values)))
    Xg[:, 0] = 1.0
    for i in range(1, k):
        Xg[i * len(combos):(i + 1) * len(combos), i] = 1.0
    if values:
        Xg[:, k:] = np.tile(np.asarray(combos, dtype=float), (k, 1))
    codes = np.repeat(np.arange(k), len(combos))
    counts = np.bincount(codes, minlength=k).astype(float)
    L = (np.eye(k)[codes].T @ Xg) / counts[:, None]
    return ReferenceGrid(pd.DataFrame({arm_col: arms}), L)


def reference_grid(spec: ModelSpec, frame: pd.DataFrame, arm_col: str = "arm") -> ReferenceGrid:
    """The arm reference grid of ``spec`` over the analysed ``frame`` by :data:`GRID_RULE`.

    Every combination of the variables' grid values is put through the model's terms (so an interaction or a
    spline is evaluated at grid values), then the rows of each arm are averaged with equal weights.
    """
    others = [v for v in dict.fromkeys(spec.variables) if v != arm_col]
    if spec.design_info.column_names == ["Intercept", *[f"{arm_col}[T.{a}]" for a in spec.arms[1:]], *others] \
            and all(_plain_numeric(frame[v]) for v in others):
        return _plain_grid(spec.arms, [_levels(frame[v])[0] for v in others], arm_col)
    data = _coded(frame, spec.variables, arm_col, spec.arms, code_arm=False)   # the grid's arms are spec.arms
    values = [_levels(data[v])[0] for v in others]
    combos = pd.MultiIndex.from_product([spec.arms, *values], names=[arm_col, *others]).to_frame(index=False)
    for v in others:
        if isinstance(data[v].dtype, pd.CategoricalDtype):
            combos[v] = pd.Categorical(combos[v], categories=data[v].cat.categories)
    combos[arm_col] = pd.Categorical(combos[arm_col], categories=spec.arms)
    (Xg,) = patsy.build_design_matrices([spec.design_info], combos, return_type="matrix")
    Xg = np.asarray(Xg, dtype=float)
    codes = combos[arm_col].cat.codes.to_numpy()
    counts = np.bincount(codes, minlength=len(spec.arms)).astype(float)
    L = (np.eye(len(spec.arms))[codes].T @ Xg) / counts[:, None]   # equal-weight average within each arm
    return ReferenceGrid(pd.DataFrame({arm_col: spec.arms}), L)
