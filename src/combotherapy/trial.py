"""The canonical trial: one long frame and the instruments that describe its columns.

Nothing downstream of :func:`combotherapy.load` sees the raw file. ``Trial.data`` has one row
per subject and visit with columns ``subject`` (string), ``arm`` (ordered categorical),
``visit`` (float, weeks since randomisation, 0 = baseline), then outcomes and covariates.
Subject-level columns (covariates such as age, and subject-level outcomes such as
``recovery_time``) are constant within a subject and repeated on each of its rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import DataError
from .instruments import Instrument, instrument_for

__all__ = ["Trial"]

KEY_COLUMNS = ("subject", "arm", "visit")


class Trial:
    """A validated, de-identified trial in canonical long form.

    Build one with :func:`combotherapy.load`; the constructor assumes validated input.

    Attributes
    ----------
    data : DataFrame
        Canonical long frame, sorted by subject and visit.
    instruments : dict
        Instrument for every outcome column.
    source : str
        Where the data came from (a file name or ``"DataFrame"``).
    """

    def __init__(self, data: pd.DataFrame, instruments: Mapping[str, Instrument], *, source: str = "DataFrame",
                 notes: list[str] | None = None):
        self.data = data
        self.instruments = dict(instruments)
        self.source = source
        #: what the loader did that a reader should know (e.g. baseline column turned into visit-0 rows)
        self.notes = list(notes or [])

    # --- structure -----------------------------------------------------------------------
    @property
    def arms(self) -> list[str]:
        """Arms in display order (the categorical order of ``data['arm']``)."""
        return list(self.data["arm"].cat.categories)

    @property
    def visits(self) -> list[float]:
        """Sorted visit times in weeks, 0 = baseline."""
        return sorted(float(v) for v in self.data["visit"].unique())

    @property
    def outcomes(self) -> list[str]:
        """Outcome columns (registry or declared instruments), in column order."""
        return [c for c in self.data.columns if c in self.instruments]

    @property
    def visit_outcomes(self) -> list[str]:
        return [c for c in self.outcomes if self.instruments[c].level == "visit"]

    @property
    def covariates(self) -> list[str]:
        """Non-outcome columns other than subject, arm and visit."""
        return [c for c in self.data.columns if c not in KEY_COLUMNS and c not in self.instruments]

    @property
    def subject_columns(self) -> list[str]:
        """Columns constant within every subject (subject-level covariates and outcomes)."""
        cols = [c for c in self.data.columns if c not in KEY_COLUMNS]
        if not cols:
            return []
        g = self.data.groupby("subject", sort=False, observed=True)[cols]
        # a column is subject-level when it never takes two distinct values within a subject
        nun = g.nunique(dropna=True).max()
        inst = {c: self.instruments.get(c) for c in cols}
        return [c for c in cols if nun[c] <= 1 and (inst[c] is None or inst[c].level == "subject")]

    @property
    def subjects(self) -> pd.DataFrame:
        """One row per subject: subject, arm and subject-level columns (first non-missing value)."""
        cols = ["arm"] + self.subject_columns
        out = self.data.groupby("subject", sort=False, observed=True)[cols].first().reset_index()
        return out

    @property
    def n_subjects(self) -> int:
        return int(self.data["subject"].nunique())

    def instrument(self, outcome: str) -> Instrument:
        """The instrument of an outcome column; DataError when the trial has no such outcome."""
        if outcome not in self.data.columns:
            raise DataError(f"outcome '{outcome}' is not in this trial; its outcomes are {self.outcomes}")
        inst = self.instruments.get(outcome) or instrument_for(outcome)
        if inst is None:
            raise DataError(f"column '{outcome}' is not an outcome (no instrument declared for it); "
                            f"declare it with outcomes={{'{outcome}': ct.Instrument(...)}}")
        return inst

    def check_visit(self, visit: float) -> float:
        """``visit`` as a float if the trial has it, else a DataError listing the trial's visits."""
        try:
            v = float(visit)
        except (TypeError, ValueError):
            raise DataError(f"visit must be a number of weeks since randomisation, not {visit!r}; this trial's "
                            f"visits (weeks) are {[f'{x:g}' for x in self.visits]}") from None
        if not np.isin(v, self.data["visit"].to_numpy(dtype=float)):
            shown = f"{v:g}" if float(f"{v:g}") == v else repr(v)  # 12.0000001 must not print as 12
            raise DataError(f"visit {shown} is not in this trial; its visits (weeks) are "
                            f"{[f'{x:g}' for x in self.visits]}")
        return v

    # --- views ---------------------------------------------------------------------------
    def at(self, visit: float) -> pd.DataFrame:
        """Rows at one visit (a copy)."""
        v = self.check_visit(visit)
        return self.data.loc[self.data["visit"] == v].reset_index(drop=True)

    def baseline(self, outcome: str) -> pd.Series:
        """Baseline (visit 0) value of ``outcome`` per subject, indexed by subject; NaN when missing."""
        self.instrument(outcome)
        base = self.data.loc[self.data["visit"] == 0.0, ["subject", outcome]].set_index("subject")[outcome]
        subjects = pd.Index(self.data["subject"].unique(), name="subject")
        return base.reindex(subjects).rename(f"{outcome}_baseline")

    def wide(self, outcome: str) -> pd.DataFrame:
        """Subject × visit table of one outcome (columns are visit weeks), with the arm as first column."""
        self.instrument(outcome)
        tab = self.data.pivot(index="subject", columns="visit", values=outcome)
        tab.columns = [float(c) for c in tab.columns]
        arms = self.data.drop_duplicates("subject").set_index("subject")["arm"]
        tab.insert(0, "arm", arms.reindex(tab.index))
        return tab.reindex(pd.Index(self.data["subject"].unique(), name="subject"))

    def with_outcomes(self, **instruments: Instrument) -> Trial:
        """A copy that treats more columns as outcomes."""
        return Trial(self.data, {**self.instruments, **instruments}, source=self.source, notes=self.notes)

    # --- display -------------------------------------------------------------------------
    def __repr__(self) -> str:
        counts = self.data.drop_duplicates("subject")["arm"].value_counts().reindex(self.arms)
        arms = ", ".join(f"{a} {n}" for a, n in counts.items())
        visits = ", ".join(f"{v:g}" for v in self.visits)
        return (f"<Trial from {self.source}: {self.n_subjects} subjects ({arms}); visits (weeks) {visits}; "
                f"outcomes {', '.join(self.outcomes)}>")
