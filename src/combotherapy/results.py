"""The shared base of every analysis result: tidy tables, a record of what was fitted, text and exports.

A model returns a subclass of :class:`Result`. The subclass sets ``title``, a :class:`Fitted` record and its
tables as DataFrame attributes, and lists the attribute names in ``tables`` (display order). Everything else —
``summary()``, the notebook display, Markdown/HTML/LaTeX/CSV export — comes from here, so every result looks and
exports the same way.

Example
-------
>>> import pandas as pd
>>> class Toy(Result):
...     tables = ("lsmeans",)
>>> r = Toy("Toy analysis", Fitted(model="OLS", formula="y ~ arm"), lsmeans=pd.DataFrame({"arm": ["a"], "estimate": [1.0]}))
>>> print(r.to_markdown().splitlines()[0])
## Toy analysis
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import export
from .files import write_text

__all__ = ["Fitted", "Result"]


@dataclass
class Fitted:
    """What was fitted, for the reader of the result (and for a methods section).

    Attributes
    ----------
    model : str
        The model family, e.g. ``"ANCOVA (ordinary least squares)"``.
    formula : str
        The model written out, e.g. ``"pain[week 12] ~ arm + pain[baseline] + age"``.
    outcome : str, optional
    visit : float, optional
        Visit analysed (weeks), when one visit is analysed.
    covariance : str, optional
        Residual covariance structure (MMRM) or ``"homoscedastic"``.
    df_method : str, optional
        How degrees of freedom were obtained (``"residual"``, ``"Satterthwaite"``, ...).
    adjust : str, optional
        Multiplicity adjustment of p-values (and, in ``ci_adjust``, of intervals when different).
    alpha : float
    n_per_arm : dict
        Subjects analysed per arm.
    excluded : DataFrame
        One row per excluded subject: ``subject, arm, reason``.
    notes : list of str
        Sentences the reader should see (choices made, conventions, caveats).
    extra : dict
        Model-specific details (e.g. residual SD, convergence).
    """

    model: str
    formula: str = ""
    outcome: str | None = None
    visit: float | None = None
    covariance: str | None = None
    df_method: str | None = None
    adjust: str | None = None
    ci_adjust: str | None = None
    alpha: float = 0.05
    n_per_arm: dict[str, int] = field(default_factory=dict)
    excluded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["subject", "arm", "reason"]))
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(sum(self.n_per_arm.values()))

    def lines(self) -> list[str]:
        """The record as text lines for :meth:`Result.summary`."""
        out = [f"Model: {self.model}"]
        if self.formula:
            out.append(f"Formula: {self.formula}")
        for label, value in (("Outcome", self.outcome), ("Covariance", self.covariance),
                             ("Degrees of freedom", self.df_method)):
            if value:
                out.append(f"{label}: {value}")
        if self.visit is not None:
            out.append(f"Visit: week {self.visit:g}")
        if self.adjust:
            ci = f"; intervals: {self.ci_adjust}" if self.ci_adjust and self.ci_adjust != self.adjust else ""
            out.append(f"Multiplicity adjustment: {self.adjust}{ci}; alpha = {self.alpha:g}")
        if self.n_per_arm:
            arms = ", ".join(f"{a} {n}" for a, n in self.n_per_arm.items())
            out.append(f"Subjects analysed: {self.n} ({arms})")
        n_ex = len(self.excluded)
        if n_ex:
            reasons = self.excluded.groupby("reason", sort=False).size()
            why = "; ".join(f"{n} {r}" for r, n in reasons.items())
            out.append(f"Subjects excluded: {n_ex} ({why})")
        else:
            out.append("Subjects excluded: none")
        return out


class Result:
    """Base of all analysis results.

    Parameters
    ----------
    title : str
        One line naming the analysis.
    fitted : Fitted
        What was fitted.
    **tables : DataFrame
        The result tables; each becomes an attribute. Subclasses list the names in ``tables`` to fix the order
        and may add other attributes (``verdict``, ``statistic``, ...) in their own ``__init__``.
    """

    #: names of the DataFrame attributes, in display order (subclasses override)
    tables: tuple[str, ...] = ()

    def __init__(self, title: str, fitted: Fitted, **tables: pd.DataFrame):
        self.title = title
        self.fitted = fitted
        for name, frame in tables.items():
            setattr(self, name, frame)
        if not type(self).tables:
            self.tables = tuple(tables)

    # --- content -----------------------------------------------------------------------------
    def frames(self) -> dict[str, pd.DataFrame]:
        """The result tables by name, in display order."""
        return {name: getattr(self, name) for name in self.tables if isinstance(getattr(self, name, None),
                                                                                  pd.DataFrame)}

    def headline(self) -> list[str]:
        """Lines shown between the fitted record and the tables (e.g. a verdict). Subclasses override."""
        return []

    @property
    def notes(self) -> list[str]:
        return self.fitted.notes

    # --- text ----------------------------------------------------------------------------------
    def summary(self, digits: int = 3) -> str:
        """Plain-text report: title, what was fitted, headline, tables, notes."""
        parts = [self.title, "=" * len(self.title), *self.fitted.lines()]
        if self.headline():
            parts += ["", *self.headline()]
        for name, frame in self.frames().items():
            text = _plain(frame, digits)
            parts += ["", name, "-" * len(name), text]
        if self.notes:
            parts += ["", "Notes"] + [f"  - {n}" for n in self.notes]
        return "\n".join(parts) + "\n"

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.title}>"

    def _repr_html_(self) -> str:
        return self.to_html()

    # --- exports -------------------------------------------------------------------------------
    def to_markdown(self, digits: int = 3) -> str:
        out = [f"## {self.title}", ""] + [f"- {line}" for line in self.fitted.lines()]
        if self.headline():
            out += [""] + [f"**{line}**" for line in self.headline()]
        for name, frame in self.frames().items():
            out += ["", f"### {name}", "", export.to_markdown(frame, digits=digits).rstrip("\n")]
        if self.notes:
            out += ["", "Notes:", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"

    def to_html(self, digits: int = 3) -> str:
        out = [f'<div class="combotherapy-result"><h3>{html.escape(self.title)}</h3>',
               "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in self.fitted.lines()) + "</ul>"]
        out += [f"<p><strong>{html.escape(line)}</strong></p>" for line in self.headline()]
        for name, frame in self.frames().items():
            out.append(export.to_html(frame, digits=digits, caption=name))
        if self.notes:
            out.append("<p>Notes:</p><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes) + "</ul>")
        out.append("</div>")
        return "\n".join(out) + "\n"

    def to_latex(self, digits: int = 3) -> str:
        return "".join(export.to_latex(frame, digits=digits, caption=f"{self.title}: {name}")
                       for name, frame in self.frames().items())

    def to_frame(self) -> pd.DataFrame:
        """All tables stacked, with a leading ``table`` column naming each row's table."""
        frames = [f.assign(table=name) for name, f in self.frames().items()]
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return out[["table"] + [c for c in out.columns if c != "table"]] if frames else out

    def to_csv(self, path: str | os.PathLike, table: str | None = None) -> Path:
        """Write one table (``table=``) or all tables stacked (see :meth:`to_frame`) as CSV, atomically."""
        frame = self.to_frame() if table is None else self.frames()[table]
        return write_text(path, export.to_csv(frame))

    def save(self, path: str | os.PathLike, digits: int = 3) -> Path:
        """Write the result; the format follows the suffix: .md, .html, .tex or .csv (full precision)."""
        path = Path(path)
        writers = {".md": self.to_markdown, ".html": self.to_html, ".htm": self.to_html, ".tex": self.to_latex}
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return self.to_csv(path)
        if suffix not in writers:
            raise ValueError(f"unknown format {suffix!r}: use .md, .html, .tex or .csv")
        return write_text(path, writers[suffix](digits=digits))


def _plain(frame: pd.DataFrame, digits: int) -> str:
    """A table as aligned plain text with the export module's number formatting."""
    cells = frame.map(lambda v: export.format_value(v, digits)) if len(frame) else frame.astype(str)
    return cells.to_string(index=False)
