"""Saying that data are observational, and the warning an unadjusted comparison of non-randomised arms carries.

A :class:`~combotherapy.Trial` carries its design (``ct.load(..., design="observational")`` or
``trial.with_design("observational")``); a DataFrame has none, so :func:`mark_observational` wraps it (or a Trial) in
an :class:`ObservationalData` record that every function of :mod:`combotherapy.observational` accepts. Results
record ``design`` in ``fitted.extra["design"]`` (``Result.design``), the adjustment used in
``fitted.extra["adjustment"]``, and both show in their summaries. :func:`unadjusted` compares arms as if randomised and, on
observational data, says so loudly (a headline and a :class:`ConfoundingWarning`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from ..results import ConfoundingWarning, Fitted, Result
from ..trial import Trial
from ._data import check_design, subject_frame
from ._inference import arm_means_inference, attach
from ._tables import contrast_table, means_table

__all__ = ["ConfoundingWarning", "ObservationalData", "UnadjustedResult", "design_of", "mark_observational",
           "unadjusted"]


@dataclass(frozen=True)
class ObservationalData:
    """A Trial or subject-level DataFrame declared observational (treatment not randomised).

    Attributes
    ----------
    data : Trial or DataFrame
    source : str
        Where the data come from ("registry", "clinic records", "claims", ...), for the methods text.
    """

    data: Trial | pd.DataFrame
    source: str = "routine care"
    design: str = "observational"


def mark_observational(data: Trial | pd.DataFrame, *, source: str = "routine care") -> ObservationalData:
    """Declare that treatment was not randomised.

    Parameters
    ----------
    data : Trial or DataFrame
    source : str
        A few words on the data source, repeated in result notes.

    Returns
    -------
    ObservationalData
        Accepted wherever this package's observational functions take data.

    Example
    -------
    >>> from combotherapy.observational import mark_observational, simulate_registry
    >>> mark_observational(simulate_registry(50, seed=1)).design
    'observational'
    """
    if isinstance(data, ObservationalData):
        return data
    if not isinstance(data, Trial | pd.DataFrame):
        raise DataError(f"expected a ct.Trial or a DataFrame, not {type(data).__name__}")
    return ObservationalData(data, source=source)


def design_of(obj: object, default: str = "randomised") -> str:
    """The design recorded on data or a result ("observational" or "randomised")."""
    design = getattr(obj, "design", None)
    if design is None:
        fitted = getattr(obj, "fitted", None)
        design = getattr(fitted, "extra", {}).get("design") if fitted is not None else None
    return design or default


def unwrap(data, design: str) -> tuple[Trial | pd.DataFrame, str]:
    if isinstance(data, ObservationalData):
        return data.data, "observational"
    if isinstance(data, Trial) and data.design == "observational":  # the Trial's own declaration wins
        return data, "observational"
    return data, check_design(design)


class UnadjustedResult(Result):
    """Raw per-arm means and differences, with the design stated."""

    tables = ("by_arm", "contrasts")

    def __init__(self, title, fitted, *, by_arm, contrasts, design):
        super().__init__(title, fitted, by_arm=by_arm, contrasts=contrasts)
        self.design = design

    def headline(self) -> list[str]:
        if self.design == "observational":
            return ["WARNING: unadjusted comparison of non-randomised arms; differences mix treatment effects "
                    "with confounding by indication. Use propensity weighting, matching or AIPW."]
        return []


def unadjusted(data: Trial | pd.DataFrame | ObservationalData, outcome: str, *, treatment: str = "arm",
               visit: float | None = None, design: str = "observational", alpha: float = 0.05,
               adjust: str = "none") -> UnadjustedResult:
    """Compare arms as if randomised (raw means; unequal-variance z tests), with a warning on observational data.

    Parameters
    ----------
    data : Trial, DataFrame or ObservationalData
    outcome : str
    treatment : str
    visit : float, optional
        With a Trial: the visit analysed.
    design : {"observational", "randomised"}
        Overridden by an :class:`ObservationalData` wrapper.
    alpha, adjust
        Interval level and p-value adjustment ("none", "holm", "bonferroni").

    Returns
    -------
    UnadjustedResult

    Warns
    -----
    ConfoundingWarning
        When the design is observational.

    Example
    -------
    >>> import warnings
    >>> from combotherapy.observational import simulate_registry, unadjusted
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     r = unadjusted(simulate_registry(200, seed=1), "pain")
    >>> r.headline()[0].startswith("WARNING")
    True
    """
    data, design = unwrap(data, design)
    frame, arms = subject_frame(data, treatment=treatment, columns=[], outcome=outcome, visit=visit)
    y = frame[outcome].to_numpy(float)
    codes = frame[treatment].cat.codes.to_numpy()
    K = len(arms)
    n = np.bincount(codes, minlength=K)
    mean = np.bincount(codes, weights=y, minlength=K) / n
    var = np.bincount(codes, weights=(y - mean[codes]) ** 2, minlength=K) / (n - 1)
    vcov = np.diag(var / n)
    notes = []
    if design == "observational":
        msg = ("unadjusted comparison of non-randomised arms: the differences mix treatment effects with "
               "confounding by indication")
        warnings.warn(msg, ConfoundingWarning, stacklevel=2)
        notes.append("WARNING: " + msg + ". Use propensity_score + iptw/weighted_means, match or aipw.")
    fitted = Fitted(model="Unadjusted comparison of means (unequal variances, normal reference)",
                    formula=f"{outcome} ~ {treatment}", outcome=outcome, df_method="z", adjust=adjust, alpha=alpha,
                    n_per_arm=dict(zip(arms, n.tolist())), notes=notes, extra={"design": design})
    out = UnadjustedResult(f"Unadjusted comparison of {outcome} ({design} data)", fitted,
                           by_arm=means_table(arms, mean, vcov, alpha),
                           contrasts=contrast_table(arms, mean, vcov, alpha=alpha, adjust=adjust), design=design)
    attach(out, arm_means_inference(arms, mean, vcov), outcome)
    return out
