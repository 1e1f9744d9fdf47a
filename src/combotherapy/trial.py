"""The canonical trial: one long frame and the instruments that describe its columns.

Nothing downstream of :func:`combotherapy.load` sees the raw file. ``Trial.data`` has one row
per subject and visit with columns ``subject`` (string), ``arm`` (ordered categorical),
``visit`` (float, weeks since randomisation, 0 = baseline), then outcomes and covariates.
Subject-level columns (covariates such as age, and subject-level outcomes such as
``recovery_time``) are constant within a subject and repeated on each of its rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from types import MappingProxyType

import numpy as np
import pandas as pd

from ._subject_facts import Fact, SubjectGroups, learn, subject_facts, subject_groups, subject_table
from .errors import DataError, ProblemCollector
from .instruments import Instrument, instrument_for

__all__ = ["Trial", "Decision", "DESIGNS"]

KEY_COLUMNS = ("subject", "arm", "visit")
#: how treatment was assigned: "randomised" (the default) or "observational" (routine care: registries, clinic
#: records, claims); on observational data results name the design and warn when arms are compared unadjusted
DESIGNS = ("randomised", "observational")


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

    Build one with :func:`combotherapy.load`, which runs every check (formats, mappings, ranges, the identifier
    guard). ``Trial(data, instruments)`` takes a frame that is already canonical and checks the invariants every
    analysis relies on (keys ``subject``, ``arm`` (categorical), ``visit`` (finite weeks, 0 or more) present and
    never missing; instruments are :class:`Instrument`), raising :class:`DataError` otherwise; it does not re-run
    the loader's checks (ranges, duplicates, the identifier guard), which the models repeat where they matter, so
    that subsets of a loaded trial and crafted test trials can be built directly.
    Code that generated the data itself may use the one fast constructor :meth:`_from_validated`, which checks
    nothing.

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
    design : {"randomised", "observational"}
        How treatment was assigned (``ct.load(..., design=...)`` or :meth:`with_design`); results of models fitted
        to an observational trial name the design and warn that the arms are compared without adjustment for
        confounding (see :mod:`combotherapy.observational` for the adjusted analyses).

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

    #: how treatment was assigned, one of :data:`DESIGNS` (set once, in ``_setup``)
    design: str

    def __init__(self, data: pd.DataFrame, instruments: Mapping[str, Instrument], *, source: str = "DataFrame",
                 notes: Sequence[str] | None = None, design: str = "randomised"):
        _check_canonical(data, instruments)
        self._setup(data, instruments, source, list(notes or ()), (), design)

    @classmethod
    def _from_validated(cls, data: pd.DataFrame, instruments: Mapping[str, Instrument], *,
                        source: str = "DataFrame", notes: Sequence[str] = (),
                        decisions: Sequence[Decision] = (), design: str = "randomised") -> Trial:
        """The one fast constructor: no checks. Only for data already validated (the loader's own result) or
        generated by this package in canonical form (the simulator); anything else goes through ``Trial(...)``
        or :func:`combotherapy.load`."""
        self = object.__new__(cls)
        self._setup(data, instruments, source, list(notes), list(decisions), design)
        return self

    def _setup(self, data, instruments, source, notes, decisions, design="randomised") -> None:
        frame = data.copy(deep=not _COPY_ON_WRITE)  # the caller's frame object is never the Trial's
        put = object.__setattr__
        put(self, "design", check_design(design))
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
        return (_rebuild, (self._frame, dict(self.instruments), self.source, self.notes, self.decisions, self.design))

    # --- structure (computed once per Trial: the frame never changes) ---------------------
    @cached_property
    def _arms(self) -> tuple[str, ...]:
        return tuple(self._frame["arm"].cat.categories)

    @cached_property
    def _visits(self) -> tuple[float, ...]:
        return tuple(sorted(float(v) for v in pd.unique(self._frame["visit"].to_numpy(dtype=float))))

    @cached_property
    def _groups(self) -> SubjectGroups:
        return subject_groups(self._frame["subject"])

    @cached_property
    def _known(self) -> dict[str, Fact]:
        # per column: constant within every subject?, and its first value per subject (filled as columns are asked)
        return {}

    def _candidates(self) -> list[str]:
        """Columns that may be subject-level: not keys, not visit-level outcomes."""
        return [c for c in self._frame.columns if c not in KEY_COLUMNS
                and (c not in self.instruments or self.instruments[c].level == "subject")]

    @cached_property
    def _facts(self) -> tuple[tuple[str, ...], pd.DataFrame]:
        # a column is subject-level when it never takes two distinct values within a subject; the subject table
        # has each subject's first non-missing values (pandas' grouped nunique(dropna=True) <= 1 and first(), by
        # array operations on the rows grouped once, see _subject_facts)
        if self._frame.empty:
            return (), self._frame.groupby("subject", sort=False, observed=True)[["arm"]].first().reset_index()
        return subject_facts(self._frame, self._groups, self._candidates(), self._known)

    @cached_property
    def _subject_columns(self) -> tuple[str, ...]:
        return self._facts[0]

    @cached_property
    def _subjects(self) -> pd.DataFrame:
        return self._facts[1]

    def _subject_level(self, columns: Sequence[str]) -> list[str]:
        """The columns among ``columns`` that are in :attr:`subject_columns`, learning only these columns' facts
        (a model needs them for a handful of columns, not for every column of the trial)."""
        if "_facts" in self.__dict__:
            have = set(self._subject_columns)
            return [c for c in columns if c in have]
        allowed = set(self._candidates())
        asked = [c for c in columns if c in allowed]
        if self._frame.empty or not asked:
            return []
        learn(self._frame, self._groups, asked, self._known)
        return [c for c in asked if self._known[c][0]]

    def _subject_values(self, columns: Sequence[str]) -> pd.DataFrame | None:
        """``subject, arm`` and ``columns`` one row per subject, as ``subjects[["subject", "arm", *columns]]``,
        when every column is subject-level (None otherwise); only these columns' facts are learnt."""
        columns = list(columns)
        if len(self._subject_level(columns)) < len(columns) or len(set(columns)) < len(columns):
            return None
        if "_facts" in self.__dict__:
            return self.subjects[["subject", "arm", *columns]]
        return subject_table(self._frame, self._groups, columns, self._known)

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
        return instrument_among(outcome, self._frame.columns, self.instruments, self.outcomes)

    def check_visit(self, visit: float) -> float:
        """``visit`` as a float if the trial has it, else a DataError listing the trial's visits."""
        return visit_among(visit, self._visits)

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
        """A new trial that treats more columns as outcomes; their values must be numbers in the declared range."""
        problems = ProblemCollector()
        for name, inst in instruments.items():
            if name not in self._frame.columns:
                problems.add(name, "declared as an outcome but the trial has no such column")
                continue
            values = pd.to_numeric(self._frame[name], errors="coerce")
            text = values.isna() & self._frame[name].notna()
            low = (values <= inst.low) if inst.low_open else (values < inst.low) if inst.low is not None else False
            bad = text | low | ((values > inst.high) if inst.high is not None else False)
            if bad.any():
                problems.add(name, f"values that are not numbers in {inst.range_text()}", np.flatnonzero(bad.to_numpy()))
        problems.raise_if_any(message="cannot declare these outcomes:")
        frame = self._frame.assign(**{n: pd.to_numeric(self._frame[n]) for n in instruments})
        named = {n: (i if i.name else replace(i, name=n)) for n, i in instruments.items()}
        keep = [d for d in self.decisions if not (d.column in instruments and d.kind in ("suggestion", "post_baseline"))]
        return Trial._from_validated(frame, {**self.instruments, **named}, source=self.source, decisions=keep,
                                     design=self.design)

    def with_design(self, design: str) -> Trial:
        """The same trial declared ``"observational"`` (treatment not randomised) or ``"randomised"``.

        Example
        -------
        >>> import combotherapy as ct
        >>> ct.simulate_trial(n_per_arm=5, seed=1).with_design("observational").design
        'observational'
        """
        return Trial._from_validated(self._frame, self.instruments, source=self.source, decisions=self.decisions,
                                     design=design)

    # --- display -------------------------------------------------------------------------
    def __repr__(self) -> str:
        counts = self._frame.drop_duplicates("subject")["arm"].value_counts().reindex(self.arms)
        arms = ", ".join(f"{a} {n}" for a, n in counts.items())
        visits = ", ".join(f"{v:g}" for v in self.visits)
        design = "" if self.design == "randomised" else f"; {self.design} (not randomised)"
        return (f"<Trial from {self.source}: {self.n_subjects} subjects ({arms}); visits (weeks) {visits}; "
                f"outcomes {', '.join(self.outcomes)}{design}>")


def _check_canonical(data: pd.DataFrame, instruments: Mapping[str, Instrument]) -> None:
    """The invariants of a canonical frame that every analysis relies on; DataError listing what is wrong."""
    problems = ProblemCollector()
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"Trial(data, ...) needs a pandas DataFrame, not {type(data).__name__}; load files with ct.load")
    missing = [c for c in KEY_COLUMNS if c not in data.columns]
    for c in missing:
        problems.add(c, "required column missing from the canonical frame (build trials from files with ct.load)")
    if not missing:
        if not isinstance(data["arm"].dtype, pd.CategoricalDtype):
            problems.add("arm", "must be a categorical column (its categories are the arms in display order)")
        for c in KEY_COLUMNS:
            gone = data[c].isna().to_numpy()
            if gone.any():
                problems.add(c, "missing values", np.flatnonzero(gone))
        visit = pd.to_numeric(data["visit"], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(visit) | (visit < 0)
        if bad.any():
            problems.add("visit", "expected finite weeks since randomisation, 0 or more", np.flatnonzero(bad))
    # duplicate rows and non-numeric outcome cells are left to the models' own checks, which name the subjects
    for name, inst in instruments.items():
        if not isinstance(inst, Instrument):
            problems.add(name, f"the instrument must be a ct.Instrument, not {type(inst).__name__}")
    problems.raise_if_any(message="not a canonical trial frame:")


def check_design(design: str) -> str:
    """``design`` as one of :data:`DESIGNS` ("randomized" is read as "randomised"); ArgumentError otherwise."""
    from .arguments import check_choice
    value = {"randomized": "randomised"}.get(str(design).lower(), design)
    return check_choice(value, DESIGNS, "design", " (how treatment was assigned)")


def _rebuild(frame, instruments, source, notes, decisions, design="randomised") -> Trial:
    return Trial._from_validated(frame, instruments, source=source, notes=(), decisions=decisions, design=design)


def instrument_among(outcome: str, columns, instruments: Mapping[str, Instrument], outcomes: list[str]) -> Instrument:
    """The instrument of an outcome column of a trial (in memory or lazy); DataError when it has no such outcome."""
    if outcome not in columns:
        raise DataError(f"outcome '{outcome}' is not in this trial; its outcomes are {outcomes}")
    inst = instruments.get(outcome) or instrument_for(outcome)
    if inst is None:
        raise DataError(f"column '{outcome}' is not an outcome (no instrument declared for it); "
                        f"declare it with outcomes={{'{outcome}': ct.Instrument(...)}}", kind="not an outcome", column=outcome,
                        arguments=("outcomes",))
    return inst


def visit_among(visit: float, visits: Sequence[float]) -> float:
    """``visit`` as a float if it is one of ``visits``, else a DataError listing them."""
    shown_all = [f"{x:g}" for x in visits]
    try:
        v = float(visit)
    except (TypeError, ValueError):
        raise DataError(f"visit must be a number of weeks since randomisation, not {visit!r}; this trial's "
                        f"visits (weeks) are {shown_all}") from None
    if v not in visits:
        shown = f"{v:g}" if float(f"{v:g}") == v else repr(v)  # 12.0000001 must not print as 12
        raise DataError(f"visit {shown} is not in this trial; its visits (weeks) are {shown_all}")
    return v
