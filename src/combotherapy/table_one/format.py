"""Table 1, formatting: numbers as display text, the methods notes, and the :class:`TableOne` result.

The statistics live in :mod:`combotherapy.table_one.stats`; this module only turns them into text and
exports them through the shared :class:`~combotherapy.results.Result` base.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import export
from ..results import Fitted, Result

__all__ = ["TableOne"]

#: marker for a count replaced because a smaller count elsewhere could otherwise be recovered
COMPLEMENT_MARK = "*"


# --------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------
def _fmt(x: float, decimals: int) -> str:
    """A number with fixed decimals; empty when missing, never "-0.0"."""
    if x is None or np.isnan(x):
        return ""
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else text


def _auto_decimals(spread: float) -> int:
    """Decimals that show the spread (SD or IQR) to about two significant digits, 1 to 3."""
    if not np.isfinite(spread) or spread <= 0:
        return 1
    return int(np.clip(1 - math.floor(math.log10(spread)), 1, 3))


def _level_text(v: object) -> str:
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v)




# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------
class TableOne(Result):
    """Baseline table by arm, returned by :func:`table_one`.

    A :class:`~combotherapy.results.Result` whose exports show the display table and its notes
    (the tidy frames stay available as attributes).

    Attributes
    ----------
    table : DataFrame
        The display table (every cell a string): ``Characteristic``, ``Level``, one column per
        arm (``"physio (n=102)"``), ``Overall (n=...)``, SMD column(s), and with a reference arm
        one ``"<arm> - <reference> (95% CI)"`` column per other arm.
    numbers : DataFrame
        Tidy long frame of the raw numbers: ``variable, level, arm, statistic, value,
        suppression``. ``arm`` is an arm, ``"overall"``, or a contrast ``"first - second"``.
        These are the unsuppressed numbers: keep them private when you publish ``table``.
    smd : DataFrame
        ``variable, contrast, smd`` for every pair of arms.
    differences : DataFrame
        ``variable, level, contrast, estimate, se, df, ci_low, ci_high, method`` (empty
        without a reference arm). Proportions are on the 0-1 scale here; for them ``se`` is the
        unpooled Wald standard error (for meta-analysis; Newcombe's interval does not use it)
        and ``df`` is empty.
    variables : DataFrame
        What was summarised and how: ``variable, label, kind, display, source, skewness``.
    n : Series
        Subjects per arm (all randomised subjects in the trial).
    notes : list of str
        Methods, in words, printed under the table.
    """

    tables = ("table", "numbers", "smd", "differences", "variables")
    table: pd.DataFrame
    title_text = "Table 1. Baseline characteristics by arm"

    def __init__(self, *, table, numbers, smd, differences, variables, n, notes, reference, alpha,
                 suppress_below):
        fitted = Fitted(model="Descriptive summary of the baseline (no model fitted)", alpha=alpha,
                        n_per_arm={str(a): int(v) for a, v in n.items()}, notes=list(notes),
                        extra={"reference": reference, "suppress_below": suppress_below})
        super().__init__(self.title_text, fitted, table=table, numbers=numbers, smd=smd, differences=differences,
                         variables=variables)
        self.n: pd.Series = n
        self.reference: str | None = reference
        self.alpha = alpha
        self.suppress_below = suppress_below

    # --- text -----------------------------------------------------------------------------
    def summary(self, digits: int = 3) -> str:
        """The table as plain text, with its methods notes (``digits`` is unused: cells are text)."""
        arms = ", ".join(f"{a} {n}" for a, n in self.n.items())
        body = self.table.to_string(index=False)
        notes = "\n".join(f"  {i + 1}. {t}" for i, t in enumerate(self.notes))
        return f"{self.title}\nSubjects: {arms} (total {int(self.n.sum())})\n\n{body}\n\nNotes:\n{notes}\n"

    def _caption(self) -> str:
        return self.title + ". " + " ".join(self.notes)

    # --- exports (the display table only; cells are already formatted text) ----------------
    def to_markdown(self, digits: int = 3) -> str:
        notes = "\n".join(f"{i + 1}. {t}" for i, t in enumerate(self.notes))
        return f"**{self.title}**\n\n" + export.to_markdown(self.table) + "\n" + notes + "\n"

    def to_html(self, digits: int = 3) -> str:
        return export.to_html(self.table, caption=self._caption())

    def to_latex(self, digits: int = 3) -> str:
        return export.to_latex(self.table, caption=self._caption())

    def to_frame(self) -> pd.DataFrame:
        """The display table: what ``to_csv`` and ``save(".csv")`` write (the tidy frames are attributes).

        Read a written table back with ``pd.read_csv(path, dtype=str, keep_default_na=False)``.
        """
        return self.table.copy()



def _notes(variables, ref, arms, reference, alpha, k, skew_threshold, builder) -> list[str]:
    conf = f"{100 * (1 - alpha):g}%"
    out = ["Continuous variables: mean (SD), or median [Q1, Q3] (R type 7 quartiles) "
           + (f"when the pooled sample skewness exceeds {skew_threshold:g} in absolute value or the variable "
              "was named as non-normal." if skew_threshold is not None else "when named as non-normal."),
           "Categorical variables: n (%) of the subjects with a recorded value; missing: n (% of the arm)."]
    if any(v.source == "baseline" for v in variables):
        out.append("Outcomes are their visit-0 (baseline) values; a subject without one counts as missing.")
    if len(arms) == 2:
        out.append("SMD: absolute standardised mean difference (categorical: Yang & Dalton 2012).")
    elif len(arms) > 2:
        out.append(f"SMD: absolute standardised mean difference of each arm against {ref}, and the largest over "
                   "all pairs of arms (categorical: Yang & Dalton 2012).")
    if reference is not None:
        out.append(f"Differences from {reference} with {conf} confidence intervals: means with Welch's t interval; "
                   "proportions in percentage points with Newcombe's hybrid score interval. Descriptive, "
                   "unadjusted, no significance tests (CONSORT 2010).")
    if k is not None:
        out.append(f"Counts of 1 to {k - 1} are shown as <{k} and their percentages omitted; "
                   f"{COMPLEMENT_MARK} marks a count or statistic withheld so that a <{k} count cannot be "
                   "worked out by subtraction or from percentages.")
    return out


