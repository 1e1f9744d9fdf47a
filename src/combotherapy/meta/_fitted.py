"""The fitted record of a study-level analysis: studies, not subjects."""

from __future__ import annotations

from dataclasses import dataclass

from ..results import Fitted


@dataclass
class StudyFitted(Fitted):
    """:class:`~combotherapy.results.Fitted` for analyses of published studies: the record counts studies (and
    comparisons) instead of subjects, whose data a meta-analysis never sees."""

    studies: int | None = None
    comparisons: int | None = None

    def lines(self) -> list[str]:
        out = [line for line in super().lines() if not line.startswith(("Subjects excluded", "Subjects analysed"))]
        if self.studies is not None:
            extra = f", {self.comparisons} comparisons" if self.comparisons is not None else ""
            out.append(f"Studies analysed: {self.studies}{extra}")
        return out
