"""The canonical trial: one long frame and the instruments that describe its columns.

Nothing downstream of :func:`combotherapy.load` sees the raw file. ``Trial.data`` has one row
per subject and visit with columns ``subject`` (string), ``arm`` (ordered categorical),
``visit`` (float, weeks since randomisation, 0 = baseline), then outcomes and covariates.
Subject-level columns (covariates such as age, and subject-level outcomes such as
``recovery_time``) are constant within a subject and repeated on each of its rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

import pandas as pd

from .errors import DataError
from .instruments import Instrument, instrument_for

__all__ = ["Trial", "Decision"]

KEY_COLUMNS = ("subject", "arm", "visit")


#: pandas >= 3 copies on write: a shallow copy of the frame can be handed out, and a write into it never reaches
#: the Trial's own frame. Older pandas shares the arrays, so the frame handed out there is a deep copy.
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


@dataclass(frozen=True)
class Decision:
    """Something the loader decided that a reader of the results should know.

    ``kind`` is one of ``"covariate"`` (a column kept as a covariate), ``"suggestion"`` (a column that looks like a
    registered outcome or a required role), ``"post_baseline"`` (a covariate that changes after randomisation),
    ``"note"`` (everything else: empty rows ignored, sheets not read, missing-value codes, baseline columns).
    ``column`` is the column concerned (control characters removed) or None; ``message`` the sentence shown.
    """

    kind: str
    column: str | None
    message: str


class Trial:
    """A validated, de-identified trial in canonical long form; immutable.

    Build one with :func:`combotherapy.load`. ``Trial(data, instruments)`` also validates: it runs the loader's
    checks on a canonical frame (keys ``subject``, ``arm``, ``visit``; outcome ranges; one row per subject and
    visit), so a Trial always holds checked data. Code that generated the data itself may use the one fast
    constructor :meth:`_from_validated`, which checks nothing.

    Attributes
    ----------
    data : DataFrame
        Canonical long frame, sorted by subject and visit. Each access returns a new frame object that shares
        memory with the Trial's frame (pandas >= 3 copy-on-write: writing into it copies, so the Trial never
        changes; with older pandas it is a deep copy). Analyses pay one shallow copy per access.
    instruments : mapping
        Instrument for every outcome column (read-only).
    source : str
        Where the data came from (a file name or ``"DataFrame"``).
    notes : list of str
        What the loader did that a reader should know, as sentences: empty rows ignored, sheets not read,
        missing-value codes, columns kept as covariates, mapping suggestions, post-randomisation covariates.
    decisions : tuple of Decision
        The loader's decisions, structured: covariates kept, mapping suggestions, post-baseline covariates, notes.

    Notes
    -----
    Attributes cannot be set or deleted (``AttributeError``); derive a new trial with :meth:`with_outcomes`.
    Facts about subjects (subject-level columns, the subject table, visits) are computed once per Trial.

    Example
    -------
    >>> import combotherapy as ct, pandas as pd
    >>> t = ct.load(pd.DataFrame({"subject": ["a", "a"], "arm": ["physio"] * 2, "visit": [0, 12], "pain": [6, 3]}))
    >>> t.source = "x"
    Traceback (most recent call last):
    ...
    AttributeError: a Trial is immutable: cannot set 'source'
    """

    def __init__(self, data: pd.DataFrame, instruments: Mapping[str, Instrument], *, source: str = "DataFrame",
                 notes: Sequence[str] | None = None):
        from .io.load import load  # the validated path; load builds its result with _from_validated

        arm = data["arm"] if "arm" in data.columns else None
        labels = list(arm.cat.categories) if arm is not None and isinstance(arm.dtype, pd.CategoricalDtype) else \
            ([] if arm is None else [a for a in pd.unique(arm.dropna())])
        declared = {k: v for k, v in instruments.items() if k in data.columns}
        checked = load(data, arms={a: str(a) for a in labels} or None, outcomes=declared or None, layout="long")
        frame = checked._frame
        if labels and list(frame["arm"].cat.categories) != [str(a) for a in labels]:
            # the caller's display order of arms is kept (the loader would use the canonical order)
            present = [str(a) for a in labels if str(a) in set(frame["arm"].astype(str))]
            frame = frame.assign(arm=pd.Categorical(frame["arm"].astype(str), categories=present, ordered=True))
        self._setup(frame, {**checked.instruments}, source, list(notes or ()), checked.decisions)

    @classmethod
    def _from_validated(cls, data: pd.DataFrame, instruments: Mapping[str, Instrument], *,
                        source: str = "DataFrame", notes: Sequence[str] = (),
                        decisions: Sequence[Decision] = ()) -> Trial:
        """The one fast constructor: no checks. Only for data already validated (the loader's own result) or
        generated by this package in canonical form (the simulator); anything else goes through ``Trial(...)``
        or :func:`combotherapy.load`."""
        self = object.__new__(cls)
        self._setup(data, instruments, source, list(notes), list(decisions))
        return self

    def _setup(self, data, instruments, source, notes, decisions) -> None:
        frame = data.copy(deep=not _COPY_ON_WRITE)  # the caller's frame object is never the Trial's
        put = object.__setattr__
        put(self, "_frame", frame)
        put(self, "instruments", MappingProxyType(dict(instruments)))
        put(self, "source", str(source))
        note_decisions = [Decision("note", None, n) for n in notes if n not in {d.message for d in decisions}]
        put(self, "decisions", tuple(decisions) + tuple(note_decisions))
        put(self, "_notes", tuple(d.message for d in self.decisions))

    def __setattr__(self, name, value):
        raise AttributeError(f"a Trial is immutable: cannot set {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"a Trial is immutable: cannot delete {name!r}")

    @property
    def notes(self) -> list[str]:
        """The loader's notes as sentences (a new list each time)."""
        return list(self._notes)

    @property
    def data(self) -> pd.DataFrame:
        """The canonical long frame (a new frame object each time; writing into it never changes the Trial)."""
        return self._frame.copy(deep=not _COPY_ON_WRITE)

    def __reduce__(self):  # pickling and deepcopy rebuild through the fast path: the frame was validated
        return (_rebuild, (self._frame, dict(self.instruments), self.source, self.notes, self.decisions))

    # --- structure (computed once per Trial: the frame never changes) ---------------------
    @cached_property
    def _arms(self) -> tuple[str, ...]:
        return tuple(self._frame["arm"].cat.categories)

    @cached_property
    def _visits(self) -> tuple[float, ...]:
        return tuple(sorted(float(v) for v in pd.unique(self._frame["visit"].to_numpy(dtype=float))))

    @cached_property
    def _subject_columns(self) -> tuple[str, ...]:
        cols = [c for c in self._frame.columns if c not in KEY_COLUMNS
                and (c not in self.instruments or self.instruments[c].level == "subject")]
        if not cols:
            return ()
        # a column is subject-level when it never takes two distinct values within a subject
        nun = self._frame.groupby("subject", sort=False, observed=True)[cols].nunique(dropna=True).max()
        return tuple(c for c in cols if nun[c] <= 1)

    @cached_property
    def _subjects(self) -> pd.DataFrame:
        cols = ["arm", *self._subject_columns]
        return self._frame.groupby("subject", sort=False, observed=True)[cols].first().reset_index()

    @property
    def arms(self) -> list[str]:
        """Arms in display order (the categorical order of ``data['arm']``)."""
        return list(self._arms)

    @property
    def visits(self) -> list[float]:
        """Sorted visit times in weeks, 0 = baseline."""
        return list(self._visits)

    @property
    def outcomes(self) -> list[str]:
        """Outcome columns (registry or declared instruments), in column order."""
        return [c for c in self._frame.columns if c in self.instruments]

    @property
    def visit_outcomes(self) -> list[str]:
        return [c for c in self.outcomes if self.instruments[c].level == "visit"]

    @property
    def covariates(self) -> list[str]:
        """Non-outcome columns other than subject, arm and visit."""
        return [c for c in self._frame.columns if c not in KEY_COLUMNS and c not in self.instruments]

    @property
    def subject_columns(self) -> list[str]:
        """Columns constant within every subject (subject-level covariates and outcomes); computed once."""
        return list(self._subject_columns)

    @property
    def subjects(self) -> pd.DataFrame:
        """One row per subject: subject, arm and subject-level columns (first non-missing value)."""
        return self._subjects.copy(deep=not _COPY_ON_WRITE)

    @property
    def n_subjects(self) -> int:
        return len(self._subjects)

    def instrument(self, outcome: str) -> Instrument:
        """The instrument of an outcome column; DataError when the trial has no such outcome."""
        if outcome not in self._frame.columns:
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
        if v not in self._visits:
            shown = f"{v:g}" if float(f"{v:g}") == v else repr(v)  # 12.0000001 must not print as 12
            raise DataError(f"visit {shown} is not in this trial; its visits (weeks) are "
                            f"{[f'{x:g}' for x in self.visits]}")
        return v

    # --- views ---------------------------------------------------------------------------
    def at(self, visit: float) -> pd.DataFrame:
        """Rows at one visit (a copy)."""
        v = self.check_visit(visit)
        return self._frame.loc[self._frame["visit"] == v].reset_index(drop=True)

    def baseline(self, outcome: str) -> pd.Series:
        """Baseline (visit 0) value of ``outcome`` per subject, indexed by subject; NaN when missing."""
        self.instrument(outcome)
        base = self._frame.loc[self._frame["visit"] == 0.0, ["subject", outcome]].set_index("subject")[outcome]
        subjects = pd.Index(self._frame["subject"].unique(), name="subject")
        return base.reindex(subjects).rename(f"{outcome}_baseline")

    def wide(self, outcome: str) -> pd.DataFrame:
        """Subject × visit table of one outcome (columns are visit weeks), with the arm as first column."""
        self.instrument(outcome)
        tab = self._frame.pivot(index="subject", columns="visit", values=outcome)
        tab.columns = [float(c) for c in tab.columns]
        arms = self._frame.drop_duplicates("subject").set_index("subject")["arm"]
        tab.insert(0, "arm", arms.reindex(tab.index))
        return tab.reindex(pd.Index(self._frame["subject"].unique(), name="subject"))

    def with_outcomes(self, **instruments: Instrument) -> Trial:
        """A new trial that treats more columns as outcomes (validated again: their values must fit)."""
        notes = [d.message for d in self.decisions if d.kind == "note"]  # the others are decided again
        return Trial(self._frame, {**self.instruments, **instruments}, source=self.source, notes=notes)

    # --- display -------------------------------------------------------------------------
    def __repr__(self) -> str:
        counts = self._frame.drop_duplicates("subject")["arm"].value_counts().reindex(self.arms)
        arms = ", ".join(f"{a} {n}" for a, n in counts.items())
        visits = ", ".join(f"{v:g}" for v in self.visits)
        return (f"<Trial from {self.source}: {self.n_subjects} subjects ({arms}); visits (weeks) {visits}; "
                f"outcomes {', '.join(self.outcomes)}>")


def _rebuild(frame, instruments, source, notes, decisions) -> Trial:
    return Trial._from_validated(frame, instruments, source=source, notes=(), decisions=decisions)
