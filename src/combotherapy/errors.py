"""The package's exception family.

Every problem with the user's data is a :class:`DataError` (a ``ValueError``), so a caller
can catch one type. A model that cannot be fitted as asked raises :class:`ModelError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["ArgumentError", "DataError", "IdentifierError", "ModelError", "Problem", "ProblemCollector"]

#: how many row numbers a problem lists before it says "and N more"
MAX_ROWS_SHOWN = 5


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is and what was expected.

    ``rows`` are 0-based positions in the source as read (data rows, header excluded);
    messages show them 1-based as "row 2" = second data row, like a spreadsheet minus header.
    ``arguments`` names the arguments of the call whose values fix the problem (``("columns",)``, ``("arms",)``,
    ``("columns", "visits")``...), so a front end (the command line) can name its own options without reading
    the message.
    """

    column: str | None
    message: str
    rows: tuple[int, ...] = ()
    count: int | None = None
    arguments: tuple[str, ...] = ()

    def describe(self) -> str:
        where = f"column '{self.column}'" if self.column is not None else "dataset"
        n = self.count if self.count is not None else len(self.rows)
        text = f"{where}: {self.message}"
        if self.rows:
            shown = ", ".join(str(r + 1) for r in self.rows[:MAX_ROWS_SHOWN])
            more = f" and {n - MAX_ROWS_SHOWN} more" if n > MAX_ROWS_SHOWN else ""
            text += f" (rows {shown}{more}; {n} in all)"
        elif n:
            text += f" ({n} in all)"
        return text


class DataError(ValueError):
    """The input data cannot be used as given.

    The message lists every problem found in one pass; ``problems`` holds them as
    :class:`Problem` records for programs that want to act on them. ``kind``, ``column`` and ``arm`` say what
    is wrong and where; ``arguments`` names the arguments of the call whose values would fix it (its own and its
    problems', e.g. ``("columns",)``), for front ends that translate them into their own options.
    """

    def __init__(self, message: str | None = None, problems: Sequence[Problem] = (), *, kind: str | None = None,
                 column: str | None = None, arm: str | None = None, arguments: Sequence[str] = ()):
        self.problems: list[Problem] = list(problems)
        # fields code can branch on (never the message text, never a raw value from the data)
        self.kind, self.column, self.arm = kind, column, arm
        named = [*arguments, *(a for p in self.problems for a in p.arguments)]
        self.arguments: tuple[str, ...] = tuple(dict.fromkeys(named))
        if message is None:
            message = self._format(self.problems)
        elif self.problems:
            message = message + "\n" + self._format(self.problems)
        super().__init__(message)

    @staticmethod
    def _format(problems: Sequence[Problem]) -> str:
        if not problems:
            return "invalid data"
        head = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found in the data:"
        return "\n".join([head] + [f"  - {p.describe()}" for p in problems])


class IdentifierError(DataError):
    """The data carry direct identifiers (HIPAA Safe Harbor); values are never shown."""


class ArgumentError(DataError):
    """An argument of a call (alpha, adjust, reference arm, visit, threshold, covariance name...) is not usable.

    Raised only by :mod:`combotherapy.arguments`; ``argument`` names the argument, ``kind`` says what is wrong
    (``"unknown"``, ``"out of range"``, ``"unknown arm"``, ``"unknown visit"``), ``arm`` the canonical arm name.
    """

    def __init__(self, message: str, *, argument: str, kind: str, arm: str | None = None):
        super().__init__(message, kind=kind, arm=arm)
        self.argument = argument


class ModelError(RuntimeError):
    """A model could not be fitted as asked (singular design, no convergence, ...).

    The message says what to do instead; nothing is switched silently. ``kind`` (e.g. ``"singular"``,
    ``"not estimable"``, ``"degenerate"``), ``column`` and ``arm`` (canonical name) are fields code can branch on;
    ``arguments`` names the arguments of the call whose values would fix it (as :class:`DataError`'s).
    """

    def __init__(self, message: str = "", *, kind: str | None = None, column: str | None = None,
                 arm: str | None = None, arguments: Sequence[str] = ()):
        super().__init__(message)
        self.kind, self.column, self.arm = kind, column, arm
        self.arguments: tuple[str, ...] = tuple(dict.fromkeys(arguments))


@dataclass
class ProblemCollector:
    """Collects problems during a validation pass, then raises them all at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, column: str | None, message: str, rows: Iterable[int] = (), count: int | None = None, *,
            arguments: Sequence[str] = ()) -> None:
        import numpy as np  # (here: the exception family is imported before anything heavy)
        import pandas as pd

        given = np.asarray(rows if hasattr(rows, "__len__") else list(rows), dtype=np.int64).ravel()
        # each file row once: a wide file's row is several long rows (one per visit), and "rows 2, 2, 2" counted
        # every visit of it; a count that was the number of rows given counts file rows too
        unique = pd.unique(given) if len(given) else given
        if count is None or (count == len(given) and len(unique) < len(given)):
            count = len(unique)
        self.problems.append(Problem(column, message, tuple(int(r) for r in unique[:MAX_ROWS_SHOWN]), count,
                                     tuple(arguments)))

    def add_for_subjects(self, subjects, column: str | None, message: str, rows, *,
                         arguments: Sequence[str] = ()) -> None:
        """Record a problem at ``rows`` (positions in ``trial.data``) naming the ``subjects`` they belong to.

        Row positions in a loaded trial need not match the source file; subject codes do.
        """
        rows = [int(r) for r in rows]
        ids = list(dict.fromkeys(str(subjects[r]) for r in rows))
        shown = ", ".join(ids[:MAX_ROWS_SHOWN]) + (f" and {len(ids) - MAX_ROWS_SHOWN} more" if len(ids) > MAX_ROWS_SHOWN else "")
        self.add(column, f"{message} [subject{'s' if len(ids) > 1 else ''} {shown}]", rows, arguments=arguments)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self, error: type[DataError] = DataError, message: str | None = None) -> None:
        if self.problems:
            raise error(message, self.problems)
