"""Standardised effect sizes for the contrasts of an ANCOVA result."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special, stats

from ..analysis_set import change
from ..arguments import check_alpha
from ..errors import ModelError
from ..results import Fitted, Result, records_design

if TYPE_CHECKING:  # only for the annotation: ancova imports nothing from here, but keep import time low
    from numpy.typing import ArrayLike

    from .ancova import AncovaResult

__all__ = ["effect_sizes", "EffectSizes", "hedges_g"]


def hedges_g(m1: ArrayLike, s1: ArrayLike, n1: ArrayLike, m2: ArrayLike, s2: ArrayLike, n2: ArrayLike,
             alpha: float = 0.05) -> pd.DataFrame:
    """Hedges' g with its large-sample (Hedges-Olkin) variance and normal-approximation interval.

    Parameters
    ----------
    m1, s1, n1, m2, s2, n2 : array_like
        Mean, SD and size of the first and second group (vectorised over arrays).
    alpha : float
        1 - confidence level.

    Returns
    -------
    DataFrame
        ``estimate, se, ci_low, ci_high, sd`` (``sd`` = the pooled SD).

    Notes
    -----
    ``g = J(m) (m1 - m2) / s_p`` with ``s_p^2 = ((n1 - 1) s1^2 + (n2 - 1) s2^2) / m``, ``m = n1 + n2 - 2``,
    ``J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``; ``var(g) = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2))``.
    Same numbers as ``metafor::escalc(measure = "SMD")``.

    Example
    -------
    >>> round(float(hedges_g(5.0, 2.0, 50, 4.0, 2.0, 50)["estimate"].iloc[0]), 4)
    0.4962
    """
    m1, s1, n1, m2, s2, n2 = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (m1, s1, n1, m2, s2, n2))
    df = n1 + n2 - 2
    sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
    # exact small-sample correction J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)); about 1 - 3/(4m - 1)
    J = np.exp(special.gammaln(df / 2) - 0.5 * np.log(df / 2) - special.gammaln((df - 1) / 2))
    g = J * (m1 - m2) / sp
    var = 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))
    z = stats.norm.isf(alpha / 2)
    se = np.sqrt(var)
    return pd.DataFrame({"estimate": g, "se": se, "ci_low": g - z * se, "ci_high": g + z * se, "sd": sp})


class EffectSizes(Result):
    """Result of :func:`effect_sizes`.

    Attributes
    ----------
    effect_sizes : DataFrame
        One row per contrast and ``measure``: ``contrast, measure, estimate, se, ci_low, ci_high, sd, n_first,
        n_second``; ``measure`` is ``hedges_g_change`` or ``adjusted_difference_sd_baseline``.
    """

    tables = ("effect_sizes",)


@records_design
def effect_sizes(result: AncovaResult, *, alpha: float | None = None) -> EffectSizes:
    """Standardised effect sizes for each contrast of an ANCOVA result.

    Parameters
    ----------
    result : AncovaResult
        From :func:`combotherapy.ancova` on the identity scale.
    alpha : float, optional
        1 - confidence level; default the result's alpha.

    Returns
    -------
    EffectSizes
        ``.effect_sizes`` with two measures per contrast (see Notes).

    Notes
    -----
    For the contrast ``first - second``, using the subjects in the ANCOVA's analysis set:

    ``hedges_g_change``
        Hedges' g of the change from baseline, ``g = J * (mean_change_first - mean_change_second) / s_p`` with
        ``s_p`` the pooled SD of the change in the two arms and ``J`` the exact small-sample correction
        ``Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``, ``m = n1 + n2 - 2``. Variance by the Hedges-Olkin large-sample
        formula ``1/n1 + 1/n2 + g^2 / (2 (n1 + n2))`` and a normal-approximation interval (as
        ``metafor::escalc(measure = "SMD")``), not the noncentral-t interval.
    ``adjusted_difference_sd_baseline``
        The ANCOVA's adjusted difference divided by the pooled within-arm SD of the baseline values of the two
        arms; ``se`` and the interval are the contrast's (unadjusted t interval) divided by that SD, which is
        treated as known.

    A positive value means the first arm has the higher value (or larger change) on the instrument's own scale;
    whether that is better is in the ANCOVA result (``better``).

    References
    ----------
    Hedges LV, Olkin I. Statistical Methods for Meta-Analysis. Academic Press, 1985 (ch. 5).
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)
    >>> es = ct.effect_sizes(ct.ancova(trial, "pain", 12))
    >>> es.effect_sizes[["contrast", "measure"]].head(2).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'contrast': 'combined - physio', 'measure': 'hedges_g_change'},
     {'contrast': 'combined - physio', 'measure': 'adjusted_difference_sd_baseline'}]
    """
    data = getattr(result, "data", None)
    if (getattr(result, "inference", None) is None or not isinstance(data, pd.DataFrame)
            or not {"value", "baseline"} <= set(data.columns)):
        raise ModelError(f"effect_sizes needs a fitted one-visit model with a baseline (e.g. ct.ancova), not "
                         f"{type(result).__name__}", kind="wrong result")
    if result.inference.link != "identity":
        raise ModelError("effect_sizes standardises mean differences; a log-scale ANCOVA already reports a "
                         "scale-free effect (the ratio of geometric means). Refit with scale='identity'.")
    a = result.fitted.alpha if alpha is None else check_alpha(alpha)
    d = data.assign(change=change(data["value"], data["baseline"]))
    arm = d["arm"]  # grouped by its categories (no text copy of every subject's arm), indexed by arm name
    arm = arm.cat.remove_unused_categories() if isinstance(arm.dtype, pd.CategoricalDtype) else arm.astype(str)
    stats_by_arm = d.groupby(arm, observed=True)[["change", "baseline"]].agg(["mean", "var", "count"])
    stats_by_arm.index = stats_by_arm.index.astype(str)
    labels = result.contrasts["contrast"].tolist()
    first = result.contrasts["first"].astype(str).tolist()    # identity from the columns, never from the labels
    second = result.contrasts["second"].astype(str).tolist()
    s1, s2 = stats_by_arm.loc[first], stats_by_arm.loc[second]
    n1, n2 = s1[("change", "count")].to_numpy(float), s2[("change", "count")].to_numpy(float)
    g = hedges_g(s1[("change", "mean")], np.sqrt(s1[("change", "var")]), n1,
                 s2[("change", "mean")], np.sqrt(s2[("change", "var")]), n2, alpha=a)
    sd_base = np.sqrt(((n1 - 1) * s1[("baseline", "var")].to_numpy() + (n2 - 1) * s2[("baseline", "var")].to_numpy())
                      / (n1 + n2 - 2))
    pairs = list(zip(first, second))
    con = result.compare(pairs=pairs, adjust="none", alpha=a)
    adj = pd.DataFrame({"estimate": con["estimate"] / sd_base, "se": con["se"] / sd_base,
                        "ci_low": con["ci_low"] / sd_base, "ci_high": con["ci_high"] / sd_base, "sd": sd_base})
    common = {"first": first, "second": second, "contrast": labels, "n_first": n1.astype(int),
              "n_second": n2.astype(int)}
    out = pd.concat([g.assign(measure="hedges_g_change", **common), adj.assign(measure="adjusted_difference_sd_baseline",
                                                                              **common)], ignore_index=True)
    out["_order"] = np.tile(np.arange(len(labels)), 2)
    out = out.sort_values(["_order", "measure"], kind="stable", ascending=[True, False]).drop(columns="_order")
    out = out[["first", "second", "contrast", "measure", "estimate", "se", "ci_low", "ci_high", "sd", "n_first", "n_second"]]
    f = result.fitted
    notes = ["hedges_g_change: Hedges' g of the change from baseline (pooled SD of the two arms, exact small-sample "
             "correction), Hedges-Olkin large-sample variance, normal-approximation interval (as metafor's escalc "
             "SMD).",
             "adjusted_difference_sd_baseline: the ANCOVA adjusted difference divided by the pooled baseline SD of "
             "the two arms; the interval is the unadjusted contrast interval divided by that SD (treated as known).",
             f"A positive value means the first arm is higher on the instrument's scale ({result.better} is better)."]
    record = Fitted(model=f"Standardised effect sizes from: {f.model}", formula=f.formula, outcome=f.outcome,
                    visit=f.visit, adjust="none", alpha=a, n_per_arm=f.n_per_arm, excluded=f.excluded, notes=notes)
    label = result.instrument.label or result.outcome
    return EffectSizes(f"Effect sizes: {label} at week {f.visit:g}", record, effect_sizes=out.reset_index(drop=True))
