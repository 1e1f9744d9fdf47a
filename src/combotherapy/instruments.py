"""The instrument registry: what each outcome measures, its valid range and its good direction.

The registry is data (``data/instruments.csv`` in the package), read once; code never
special-cases an instrument by name. Users declare other outcomes with :class:`Instrument`.
"""

from __future__ import annotations

import csv
import math
import numbers
from dataclasses import dataclass, replace
from importlib import resources
from typing import Literal

import numpy as np

from .errors import DataError

__all__ = ["Instrument", "REGISTRY", "instrument_for", "AE_PREFIX", "COVARIATE_RANGES", "with_units"]

#: columns named ``ae_<type>`` hold per-subject counts of adverse events of that type
AE_PREFIX = "ae_"

Kind = Literal["continuous", "positive", "count", "time", "event", "proportion"]


@dataclass(frozen=True)
class Instrument:
    """An outcome measure.

    Parameters
    ----------
    low, high : float or None
        Valid range (inclusive unless ``low_open``); ``None`` means unbounded.
    better : {"lower", "higher"}
        Which direction is benefit.
    units : str
        Units shown in tables and axis labels.
    kind : str
        ``continuous``, ``positive`` (strictly positive, analysed on the log scale),
        ``count``, ``time``, ``event`` (0/1 flag) or ``proportion``.
    level : {"visit", "subject"}
        Measured at every visit, or once per subject.
    integer : bool
        Values must be whole numbers.
    """

    low: float | None = None
    high: float | None = None
    better: Literal["lower", "higher"] = "lower"
    units: str = ""
    label: str = ""
    kind: Kind = "continuous"
    level: Literal["visit", "subject"] = "visit"
    integer: bool = False
    low_open: bool = False
    description: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        for side in ("low", "high"):  # a bound read from a JSON mapping file may be text: refuse it here
            v = getattr(self, side)
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
                raise ValueError(f"{side} must be a number or None, not {type(v).__name__} {str(v)[:20]!r}")
            if v is not None and math.isnan(v):
                raise ValueError(f"{side} must be a number or None, not NaN")
        for flag in ("integer", "low_open"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise ValueError(f"{flag} must be true or false, not {getattr(self, flag)!r}")
        if self.better not in ("lower", "higher"):
            raise ValueError(f"better must be 'lower' or 'higher', not {self.better!r}")
        if self.level not in ("visit", "subject"):
            raise ValueError(f"level must be 'visit' or 'subject', not {self.level!r}")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")

    @property
    def sign(self) -> int:
        """+1 when higher values are better, -1 when lower values are better."""
        return 1 if self.better == "higher" else -1

    def range_text(self) -> str:
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"{'(' if self.low_open else '['}{lo}, {hi}]"

    def axis_label(self) -> str:
        return with_units(self.label or self.name, self.units)


def with_units(text: str, units: str | None) -> str:
    """``text`` with its units in parentheses, merged into a trailing parenthesis rather than doubled.

    >>> with_units("Pain intensity (NRS)", "points"), with_units("Endurance", "s"), with_units("EQ-5D", "")
    ('Pain intensity (NRS, points)', 'Endurance (s)', 'EQ-5D')
    """
    if not units:
        return text
    if text.endswith(")") and "(" in text:
        return f"{text[:-1]}, {units})"
    return f"{text} ({units})"


def _num(text: str) -> float | None:
    return None if text.strip() == "" else float(text)


def _read_registry() -> dict[str, Instrument]:
    rows = resources.files("combotherapy").joinpath("data/instruments.csv").read_text(encoding="utf-8")
    out: dict[str, Instrument] = {}
    for r in csv.DictReader(rows.splitlines()):
        out[r["name"]] = Instrument(
            low=_num(r["low"]), high=_num(r["high"]), better=r["better"], units=r["units"], label=r["label"],
            kind=r["kind"], level=r["level"], integer=r["integer"] == "true", low_open=r["low_open"] == "true",
            description=r["description"], name=r["name"],
        )
    return out


#: the known instruments, by canonical column name
REGISTRY: dict[str, Instrument] = _read_registry()


def _read_covariates() -> dict[str, tuple[float | None, float | None, str]]:
    rows = resources.files("combotherapy").joinpath("data/covariates.csv").read_text(encoding="utf-8")
    return {r["name"]: (_num(r["low"]), _num(r["high"]), r["meaning"]) for r in csv.DictReader(rows.splitlines())}


#: covariates of the canonical data with a known meaning, and the values they can possibly take
#: (name -> (low, high, meaning)); a value outside is an error in the data, never a patient
COVARIATE_RANGES: dict[str, tuple[float | None, float | None, str]] = _read_covariates()


def instrument_for(name: str, declared: dict[str, Instrument] | None = None) -> Instrument | None:
    """The instrument for a canonical column name: user-declared first, then the registry.

    ``ae_<type>`` columns are adverse-event counts.
    """
    if declared and name in declared:
        inst = declared[name]
        return inst if inst.name else replace(inst, name=name)
    if name in REGISTRY:
        return REGISTRY[name]
    if name.startswith(AE_PREFIX) and len(name) > len(AE_PREFIX):
        base = REGISTRY["adverse_events"]
        return replace(base, name=name, label=f"Adverse events: {name[len(AE_PREFIX):].replace('_', ' ')}")
    return None


def check_declared(outcomes: dict[str, Instrument] | None) -> dict[str, Instrument]:
    """Validate user-declared instruments and give each its name."""
    if not outcomes:
        return {}
    out = {}
    for name, inst in outcomes.items():
        if not isinstance(inst, Instrument):
            raise DataError(f"outcomes['{name}'] must be a ct.Instrument, not {type(inst).__name__}")
        for v in (inst.low, inst.high):
            if v is not None and not math.isfinite(v):
                raise DataError(f"outcomes['{name}']: range limits must be finite numbers or None")
        out[name] = replace(inst, name=name)
    return out
