"""Design matrices and emmeans-style reference grids for linear models with an arm factor.

Coding follows R's defaults so that coefficients and LS means can be compared with ``lm`` + ``emmeans``:
treatment (dummy) coding with the first level as reference; the arm's levels in display order, a text
covariate's levels sorted (R's ``factor()``), only levels present in the analysed rows.

The reference grid has one row per arm, built as emmeans's defaults build it. Numeric covariates are set to
their mean over the analysed rows, except numeric covariates with only two distinct values (0/1 codes such as
sex = 1/0), which emmeans (``cov.keep = "2"``) averages over the two values with equal weights. A factor
covariate contributes each of its dummy columns at ``1 / n_levels``, i.e. the LS mean averages over the
factor's levels with equal weights, not in proportion to their frequencies. Contrasts between arms do not
depend on these choices in a model without arm-by-covariate interactions; LS means do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ModelError

__all__ = ["Design", "build_design", "ols", "OlsFit", "is_factor"]


def is_factor(s: pd.Series) -> bool:
    """Text, categorical and boolean columns are factors; numbers are numeric (as R's ``lm`` treats them)."""
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


@dataclass
class Design:
    X: np.ndarray
    names: list[str]          # column names, R style: (Intercept), armphysio, baseline, sitesite2, ...
    terms: list[str]          # the term each column belongs to
    arms: list[str]           # arm levels, first = reference
    grid: pd.DataFrame        # one row per arm
    L: np.ndarray             # LS-mean rows of the grid
    factors: dict[str, list[str]]


def build_design(frame: pd.DataFrame, arms: Sequence[str], numeric: Sequence[str], factors: Sequence[str],
                 arm_col: str = "arm") -> Design:
    """Model matrix ``1 + arm + numeric + factors`` and the arm reference grid."""
    n = len(frame)
    arms = list(arms)
    arm_values = frame[arm_col].astype(str).to_numpy()
    cols = [np.ones(n)]
    names, terms = ["(Intercept)"], ["(Intercept)"]
    grid_row = [1.0]
    arm_dummies = (arm_values[:, None] == np.array(arms[1:])[None, :]).astype(float)
    cols += list(arm_dummies.T)
    names += [f"{arm_col}{a}" for a in arms[1:]]
    terms += [arm_col] * (len(arms) - 1)
    arm_block = len(cols) - len(arms) + 1
    grid_row += [0.0] * (len(arms) - 1)
    for c in numeric:
        x = frame[c].to_numpy(dtype=float)
        cols.append(x)
        names.append(c)
        terms.append(c)
        # emmeans's default cov.keep = "2": a numeric covariate with only two distinct values (a 0/1 code) is
        # averaged over those two values with equal weights, like a factor, instead of being set to its mean
        distinct = np.unique(x)
        grid_row.append(float(distinct.mean() if len(distinct) <= 2 else x.mean()))
    levels: dict[str, list[str]] = {}
    for c in factors:
        values = frame[c].astype(str).to_numpy()
        lv = sorted(pd.unique(values))
        if len(lv) < 2:
            raise ModelError(f"covariate '{c}' has a single level ({lv[0]!r}) among the analysed subjects, so it "
                             "cannot be estimated (the design would be singular); drop it from covariates")
        levels[c] = lv
        for level in lv[1:]:
            cols.append((values == level).astype(float))
            names.append(f"{c}{level}")
            terms.append(c)
            grid_row.append(1.0 / len(lv))
    X = np.column_stack(cols)
    L = np.tile(np.array(grid_row), (len(arms), 1))
    L[1:, arm_block:arm_block + len(arms) - 1] = np.eye(len(arms) - 1)
    return Design(X=X, names=names, terms=terms, arms=arms, grid=pd.DataFrame({arm_col: arms}), L=L,
                  factors=levels)


@dataclass
class OlsFit:
    beta: np.ndarray
    vcov: np.ndarray
    df_resid: int
    sigma: float
    residuals: np.ndarray


def check_not_exact(sigma2: float, spread: float, what: str = "") -> None:
    """A ModelError for an exact fit (identical values, or an outcome copied from a covariate): the residual
    variance (``sigma2``) is rounding noise against the outcome's range (``spread``), and tests on it would report
    p-values such as 1e-7 that mean nothing."""
    if spread == 0 or np.sqrt(sigma2) <= 1e-10 * spread:
        raise ModelError(f"the outcome{what} is fitted exactly: its residual variance is zero relative to its scale "
                         "(all values identical, or the outcome a copy of the baseline or a covariate). There is no "
                         "variation left to test differences between arms against; check the data.",
                         kind="degenerate")


def ols(X: np.ndarray, y: np.ndarray, terms: Sequence[str], what: str = "") -> OlsFit:
    """Ordinary least squares with a rank check that names the collinear term.

    Raises
    ------
    ModelError
        When the design is singular (a covariate constant within arms, or a linear combination of others), or
        when no residual degrees of freedom are left.
    """
    n, p = X.shape
    # R factor of an unpivoted QR: a near-zero diagonal entry means the column lies in the span of the earlier ones
    R = np.linalg.qr(X, mode="r")   # (the R of the reduced QR, without forming Q)
    # column norms of X from R (an orthogonal transform keeps them): only the singularity threshold uses them
    scale = np.sqrt(np.einsum("ij,ij->j", R, R))
    dep = np.abs(np.diag(R)) <= 1e-9 * np.where(scale > 0, scale, 1.0)
    if np.any(dep):
        bad = list(dict.fromkeys(terms[j] for j in np.flatnonzero(dep)))
        raise ModelError(
            f"the design matrix{what} is singular: {', '.join(repr(b) for b in bad)} "
            f"{'is' if len(bad) == 1 else 'are'} a linear combination of the intercept, the arm and the terms before "
            "it (for example a covariate that is constant, constant within arms, or a copy of another covariate). "
            "Remove that covariate (or merge sparse levels) and fit again.")
    df = n - p
    if df < 1:
        raise ModelError(f"the model{what} has {p} parameters but only {n} subjects: no residual degrees of freedom. "
                         "Use fewer covariates or a visit with more data.")
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    sigma2 = float(resid @ resid) / df
    spread = float(np.ptp(y))
    check_not_exact(sigma2, spread, what)
    Rinv = np.linalg.solve(R, np.eye(p))
    vcov = sigma2 * (Rinv @ Rinv.T)  # (X'X)^-1 = R^-1 R^-T
    return OlsFit(beta=beta, vcov=vcov, df_resid=df, sigma=float(np.sqrt(sigma2)), residuals=resid)
