"""The :class:`Inference` record every fitted model hands to the shared interface, and what it computes.

A model fits its parameters and returns ``Inference(terms, beta, vcov, df, df_method, grid, link)``; estimated
marginal means, arm contrasts, tests of any linear combination and the coefficient table are then computed here —
at the alpha, adjustment and side asked for *at that call*, never frozen into the fit.

Example
-------
>>> import numpy as np, pandas as pd
>>> from combotherapy.inference import Inference, ReferenceGrid
>>> grid = ReferenceGrid(pd.DataFrame({"arm": ["physio", "combined"]}), np.array([[1.0, 0.0], [1.0, 1.0]]))
>>> inf = Inference(("(Intercept)", "armcombined"), np.array([5.0, -1.0]), np.diag([0.04, 0.08]), 50.0,
...                 "residual", grid)
>>> inf.compare(alpha=0.01)[["first", "second", "estimate"]].to_dict("records")
[{'first': 'combined', 'second': 'physio', 'estimate': -1.0}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..arguments import DEFAULTS, check_alpha, check_choice, check_visit_value
from ..errors import ArgumentError
from . import engine
from .engine import DfRule
from .grid import ReferenceGrid

__all__ = ["Inference", "LINKS", "SCALES"]

LINKS = ("identity", "log", "logit")
SCALES = ("response", "link")
_DF_METHODS = ("residual", "Satterthwaite", "Kenward-Roger", "z", "fixed")


@dataclass(frozen=True)
class Inference:
    """What a fitted model offers for further inference.

    Attributes
    ----------
    terms : tuple of str
        Coefficient names (R style), one per element of ``beta``.
    beta : ndarray (p,)
    vcov : ndarray (p, p)
        Covariance of ``beta`` (for Kenward-Roger the adjusted one).
    df : float or callable
        Degrees of freedom: a number, ``numpy.inf`` for z tests, or ``l -> df`` for one linear combination.
    df_method : str
        ``"residual"``, ``"Satterthwaite"``, ``"Kenward-Roger"``, ``"z"`` or ``"fixed"``.
    grid : ReferenceGrid
        Cells (``arm``, optionally ``visit``) and their rows ``L``; ``grid.rule`` states the covariate rule.
    link : {"identity", "log", "logit"}
        Scale of the linear predictor; on the response scale EMMs are back-transformed and contrasts become
        ratios (rate/mean ratios for log, odds ratios for logit).
    """

    terms: tuple[str, ...]
    beta: np.ndarray
    vcov: np.ndarray
    df: DfRule
    df_method: str
    grid: ReferenceGrid
    link: str = "identity"

    def __post_init__(self):
        p = len(self.beta)
        if len(self.terms) != p or np.shape(self.vcov) != (p, p) or self.grid.L.shape[1] != p:
            raise ValueError(f"Inference: {len(self.terms)} terms, beta {np.shape(self.beta)}, vcov "
                             f"{np.shape(self.vcov)} and grid L {self.grid.L.shape} do not match")
        if self.link not in LINKS:
            raise ValueError(f"link must be one of {LINKS}, not {self.link!r}")
        if self.df_method not in _DF_METHODS:
            raise ValueError(f"df_method must be one of {_DF_METHODS}, not {self.df_method!r}")

    # --- tables ------------------------------------------------------------------------------
    def coefficients(self, alpha: float = DEFAULTS["alpha"]) -> pd.DataFrame:
        """``term, estimate, se, df, statistic, p, ci_low, ci_high`` (two-sided, link scale, unadjusted)."""
        eye = np.eye(len(self.beta))
        # built with a ``term`` column and without p_adj (no rename or drop afterwards)
        return engine.test_linear(eye, self.beta, self.vcov, self.df, list(self.terms), adjust="none",
                                  alpha=alpha, allow_zero_se=True, _label="term", _p_adj=False)

    def emmeans(self, by: Sequence[str] | None = None, *, alpha: float = DEFAULTS["alpha"],
                scale: str = "response", visit: float | None = None,
                _tail: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Estimated marginal means of the grid's cells with unadjusted (1 - alpha) intervals.

        Columns: the grid's columns (``by`` first), ``estimate, se, df, ci_low, ci_high``; on the response scale of
        a log/logit link ``estimate, ci_low, ci_high`` are back-transformed and ``<link>_estimate, se`` stay on the
        link scale.
        """
        scale = check_choice(scale, SCALES, "scale")
        frame, L = self._cells(visit)
        # (``_tail``: a caller's columns, one value per cell, at the end of the table)
        out = engine.lsmeans(frame, L, self.beta, self.vcov, self.df, alpha=alpha, _tail=_tail)
        lead = list(by or [c for c in frame.columns if c != "arm"]) + ["arm"]
        order = lead + [c for c in out.columns if c not in lead]
        if order != list(out.columns):   # (a grid of arms alone is in this order already)
            out = out[order]
        if scale == "response" and self.link != "identity":
            inverse = np.exp if self.link == "log" else special.expit
            out.insert(out.columns.get_loc("estimate") + 1, f"{self.link}_estimate", out["estimate"])
            for c in ("estimate", "ci_low", "ci_high"):
                out[c] = inverse(out[c].to_numpy(float))
        return out

    def compare(self, pairs: Sequence[tuple[str, str]] | None = None, *, reference: str | None = None,
                by: Sequence[str] | None = None, visit: float | None = None, adjust: str = DEFAULTS["adjust"],
                alpha: float = DEFAULTS["alpha"], side: str = DEFAULTS["side"],
                scale: str = "response", _tail=None) -> pd.DataFrame:
        """Contrasts of arms: all pairs, each arm against ``reference``, or ``pairs`` [(first, second), ...].

        Families (for ``adjust``) are formed within each level of ``by`` (default: every grid column but
        ``arm``, i.e. within each visit). ``visit`` restricts the grid to one visit first.
        """
        frame, L = self._cells(visit)
        by = list(by) if by is not None else [c for c in frame.columns if c != "arm"]
        table = engine.compare(frame, L, self.beta, self.vcov, self.df, reference=reference, pairs=pairs,
                               adjust=adjust, alpha=alpha, side=side, by=by, _tail=_tail)
        return self._ratio(table, scale)

    def test(self, L: np.ndarray | Mapping[str, float] | Sequence[Mapping[str, float]],
             labels: str | Sequence[str] | None = None, *, visit: float | None = None,
             adjust: str = DEFAULTS["adjust"], alpha: float = DEFAULTS["alpha"], side: str = DEFAULTS["side"],
             scale: str = "response") -> pd.DataFrame:
        """Test linear combinations: rows of a matrix on ``beta``, or ``{arm: weight}`` mappings on the grid.

        A mapping weights the arms' EMMs at ``visit`` (needed when the grid has visits); arms not named weigh 0.
        Returns ``contrast, estimate, se, df, statistic, p, p_adj, ci_low, ci_high`` (``contrast`` = the labels).
        """
        if isinstance(L, Mapping) or (isinstance(L, Sequence) and L and isinstance(L[0], Mapping)):
            maps = [L] if isinstance(L, Mapping) else list(L)
            frame, cells = self._cells(visit, need_single=True)
            arms = [str(a) for a in frame["arm"]]
            unknown = sorted({str(a) for m in maps for a in m if str(a) not in arms})
            if unknown:
                raise ArgumentError(f"arm(s) {unknown} are not in the model; its arms are {arms}", argument="L",
                                    kind="unknown arm", arm=unknown[0])
            W = np.array([[float(m.get(a, 0.0)) for a in arms] for m in maps])
            C = W @ cells
            default = [" ".join(f"{w:+g} {a}" for a, w in m.items()) for m in maps]
        else:
            C = np.atleast_2d(np.asarray(L, dtype=float))
            if C.shape[1] != len(self.beta):
                raise ArgumentError(f"L has {C.shape[1]} columns; this model has {len(self.beta)} coefficients "
                                    f"({', '.join(self.terms)})", argument="L", kind="shape")
            default = [f"L{i + 1}" for i in range(C.shape[0])]
        labels = default if labels is None else ([labels] if isinstance(labels, str) else list(labels))
        table = engine.test_linear(C, self.beta, self.vcov, self.df, labels, adjust=adjust, alpha=alpha, side=side)
        return self._ratio(table, scale)

    # --- helpers -----------------------------------------------------------------------------
    def _cells(self, visit: float | None, need_single: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
        frame, L = self.grid.frame, self.grid.L
        index = frame.index
        if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):
            frame = frame.reset_index(drop=True)   # (a grid on 0, 1, ... already: the same frame, not a copy)
        if "visit" in frame.columns:
            if visit is not None:
                v = check_visit_value(visit, sorted(frame["visit"].unique()))
                keep = np.isclose(frame["visit"].to_numpy(float), v)
                frame, L = frame.loc[keep].reset_index(drop=True), L[keep]
            elif need_single and frame["visit"].nunique() > 1:
                raise ArgumentError("this model has several visits; pass visit=<weeks> to weight the arms at one "
                                    "of them", argument="visit", kind="missing")
        # a grid without visits (one visit analysed): the caller checks the fitted record's visit
        return frame, L

    def _ratio(self, table: pd.DataFrame, scale: str) -> pd.DataFrame:
        scale = check_choice(scale, SCALES, "scale")
        if scale == "link" or self.link == "identity":
            return table
        attrs = table.attrs
        out = table.copy()
        out.insert(out.columns.get_loc("estimate") + 1, "log_estimate", out["estimate"])
        for c in ("estimate", "ci_low", "ci_high"):
            out[c] = np.exp(out[c].to_numpy(float))
        out.attrs = attrs
        return out

    def level(self, alpha: float) -> float:
        """Confidence level for ``alpha`` (checked)."""
        return 1 - check_alpha(alpha)
