"""Meta-regression: the random-effects model with study-level moderators, and its omnibus test.

The coefficients come from :func:`~combotherapy.meta.rma` with ``mods=``; this module adds the test of all
moderators together (QM: Wald chi-square, or F with the Hartung-Knapp adjustment) and the share of the
between-study variance the moderators account for (R2), as metafor reports them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ModelError
from .pairwise_ma import RMAResult, rma

__all__ = ["metareg", "MetaRegResult"]


class MetaRegResult(RMAResult):
    """A meta-regression: :class:`RMAResult` plus ``moderators`` (QM test) and ``R2``."""

    tables = ("estimates", "moderators", "heterogeneity", "studies")

    def headline(self) -> list[str]:
        m = self.moderators.iloc[0]
        return [f"Test of moderators ({m['test']}, df {m['df']}): {m['statistic']:.3f}, p = {m['p']:.4g}; "
                f"R2 = {m['R2']:.1f}%"]

    def coefficients(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Estimate vector, covariance and df (inf for z tests): what the shared contrast engine needs."""
        return self.b, self.vb, float(self.estimates["df"].iloc[0])

    def contrast(self, C, labels, *, adjust: str = "none", side: str = "two-sided") -> pd.DataFrame:
        """Linear combinations ``C @ beta`` of the coefficients through the package's one contrast engine
        (:func:`combotherapy.inference.engine.test_linear`), so they read like every other result's contrasts.

        Parameters
        ----------
        C : array (m, p)
            One row per combination, one column per coefficient (``estimates["term"]`` order).
        labels : sequence of str
        adjust, side
            As :func:`combotherapy.inference.engine.test_linear`.

        Examples
        --------
        >>> import pandas as pd
        >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.3, -1.4, -0.2, -0.5], "vi": [0.33, 0.19, 0.41, 0.02, 0.05, 0.1],
        ...                   "alloc": ["a", "b", "c", "a", "b", "c"]})
        >>> res = metareg(d, ["alloc"], method="DL")
        >>> res.contrast([[0, 1, -1]], ["b - c"])["contrast"].tolist()
        ['b - c']
        """
        from ..inference.engine import test_linear

        beta, vcov, df = self.coefficients()
        return test_linear(np.atleast_2d(np.asarray(C, dtype=float)), beta, vcov, df, list(labels), adjust=adjust,
                           alpha=1 - self.level, side=side)


def metareg(data: pd.DataFrame, mods: Sequence[str], *, yi="yi", vi="vi", sei=None, study="study",
            method: str = "REML", test: str = "z", level: float = 0.95) -> MetaRegResult:
    """Meta-regression of the effect sizes on study-level moderators.

    Parameters
    ----------
    data : DataFrame
        One row per study with the effect sizes and the moderators.
    mods : sequence of str
        Moderator columns (text columns become indicators, first level as reference).
    yi, vi, sei, study, method, test, level
        As in :func:`~combotherapy.meta.rma`.

    Returns
    -------
    MetaRegResult
        ``estimates`` (one row per coefficient), ``moderators`` (``test, statistic, df, df2, p, R2``),
        ``heterogeneity`` (residual) and ``studies``.

    Notes
    -----
    QM is ``b_m' V_m^-1 b_m`` over the moderator coefficients, chi-square with m df (``test="z"``) or divided by m
    and referred to F(m, k - p) (``test="knha"``). ``R2 = max(0, (tau2_0 - tau2) / tau2_0)`` in percent, with
    ``tau2_0`` from the model without moderators (same method).

    References
    ----------
    Raudenbush SW. Analyzing effect sizes: random-effects models. In: The Handbook of Research Synthesis and
    Meta-Analysis, 2nd ed. 2009.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.3, -1.4, -0.2, -0.5], "vi": [0.33, 0.19, 0.41, 0.02, 0.05, 0.1],
    ...                   "lat": [44, 55, 42, 52, 13, 20]})
    >>> res = metareg(d, ["lat"], method="DL")
    >>> res.estimates["term"].tolist()
    ['intercept', 'lat']
    """
    if not mods:
        raise ModelError("metareg() needs at least one moderator; use rma() for the model without")
    full = rma(data, yi=yi, vi=vi, sei=sei, study=study, mods=mods, method=method, test=test, level=level)
    null = rma(data, yi=yi, vi=vi, sei=sei, study=study, method=method, test=test, level=level)
    b, vb = full.b[1:], full.vb[1:, 1:]
    m = len(b)
    qm = float(b @ np.linalg.solve(vb, b))
    k, p = full.X.shape
    if test == "knha":
        stat, df2, pv, name = qm / m, float(k - p), stats.f.sf(qm / m, m, k - p), "F"
    else:
        stat, df2, pv, name = qm, np.nan, stats.chi2.sf(qm, m), "chi-square"
    r2 = 100 * max(0.0, (null.tau2 - full.tau2) / null.tau2) if null.tau2 > 0 else np.nan
    mods_tab = pd.DataFrame({"test": [name], "statistic": [stat], "df": [m], "df2": [df2], "p": [pv], "R2": [r2]})
    out = MetaRegResult(full.title.replace("Meta-analysis", "Meta-regression"), full.fitted, y=full.y, v=full.v,
                        X=full.X, terms=full.terms, labels=full.labels, method=full.method, test=full.test,
                        level=full.level, b=full.b, vb=full.vb, tau2=full.tau2, measure=full.measure,
                        estimates=full.estimates, moderators=mods_tab, heterogeneity=full.heterogeneity,
                        studies=full.studies)
    return out
