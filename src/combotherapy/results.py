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
>>> r = Toy("Toy analysis", Fitted(model="OLS", formula="y ~ arm"), by_arm=pd.DataFrame({"arm": ["a"], "estimate": [1.0]}))
>>> print(r.to_markdown().splitlines()[0])
## Toy analysis
"""

from __future__ import annotations

import functools
import html
import math
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from . import export
from .arguments import DEFAULTS
from .errors import DataError, ModelError
from .estimand import Estimand
from .files import write_text
from .inference.core import Inference

__all__ = ["ConfoundingWarning", "Fitted", "Result", "UNADJUSTED_WARNING", "record_design", "records_design",
           "to_json"]


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
        out += design_lines(self.extra)
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
        counted = "n" in self.excluded.columns   # a lazy (out-of-core) fit counts exclusions by arm and reason
        n_ex = int(self.excluded["n"].sum()) if counted else len(self.excluded)
        if n_ex:
            reasons = (self.excluded.groupby("reason", sort=False)["n"].sum() if counted
                       else self.excluded.groupby("reason", sort=False).size())
            why = "; ".join(f"{n} {r}" for r, n in reasons.items())
            out.append(f"Subjects excluded: {n_ex} ({why})")
        else:
            out.append("Subjects excluded: none")
        return out


class Result:
    """Base of all analysis results, and the one inference interface.

    The vocabulary (the same names for the same things in every result; see CONTRIBUTING.md):

    ``by_arm``
        the per-arm table (EMMs, rates, proportions, medians...: one row per arm, or per visit and arm);
    ``contrasts``
        the arm comparisons, with ``first``, ``second`` (canonical arm names; ``visit`` where it applies) beside
        the display label ``contrast``;
    ``coefficients``
        the model's coefficient table (``term, estimate, se, df, statistic, p, ci_low, ci_high``);
    ``instrument``, ``better``
        the outcome's :class:`~combotherapy.Instrument` and its good direction (``"lower"``/``"higher"``), or None;
    ``fitted``, ``excluded``
        what was fitted (:class:`Fitted`), and who was excluded and why (``subject, arm, reason``);
    ``inference``
        the model's :class:`~combotherapy.inference.Inference` (None for results that are not a model fit);
        from it come :meth:`emmeans`, :meth:`compare`, :meth:`test` and :attr:`coefficients`, with alpha,
        adjustment and side chosen at each call.

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
    #: the model's inference record (set by models that compare arms through a fitted model)
    inference: Inference | None = None
    instrument = None
    better: str | None = None
    #: what is estimated (ICH E9(R1)): set on primary analyses (see :meth:`with_estimand`), printed in every export
    #: when it is an :class:`~combotherapy.estimand.Estimand` (the propensity weights keep their "ATE"/"ATT" here)
    estimand: Any = None
    #: the primary model whose estimand :meth:`with_estimand` derives (``"ancova"``, ``"mmrm"``; None: not derived)
    estimand_model: str | None = None

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

    @property
    def design(self) -> str:
        """How treatment was assigned in the data analysed: ``"randomised"`` (default) or ``"observational"``
        (recorded in ``fitted.extra["design"]``; see :func:`record_design`)."""
        extra = getattr(self.__dict__.get("fitted"), "extra", None) or {}
        return str(extra.get("design") or self.__dict__.get("_design") or "randomised")

    @design.setter
    def design(self, value: str) -> None:
        self.__dict__["_design"] = value

    @property
    def excluded(self) -> pd.DataFrame:
        """Who was excluded and why: ``subject, arm, reason``."""
        return self.fitted.excluded

    # --- the inference interface ------------------------------------------------------------
    def _inference(self) -> Inference:
        if self.inference is None:
            raise ModelError(f"{type(self).__name__} is not a model fit with estimates and a covariance, so it has "
                             "no emmeans/compare/test; use its tables", kind="no inference")
        return self.inference

    @property
    def coefficients(self) -> pd.DataFrame | None:
        """The coefficient table: the model's own, or built from :attr:`inference` (None without either)."""
        own = self.__dict__.get("_coefficients")
        if own is not None:
            return own
        return None if self.inference is None else self.inference.coefficients()

    @coefficients.setter
    def coefficients(self, frame: pd.DataFrame | None) -> None:
        self.__dict__["_coefficients"] = frame

    def emmeans(self, by: list[str] | None = None, *, alpha: float = DEFAULTS["alpha"], scale: str = "response",
                visit: float | None = None) -> pd.DataFrame:
        """Estimated marginal means of the reference grid's cells (arm, and visit where it applies).

        Parameters
        ----------
        by : list of str, optional
            Grid columns shown first (default: every grid column but ``arm``).
        alpha : float
            1 - confidence level of the (unadjusted) intervals.
        scale : {"response", "link"}
            Back-transform log/logit EMMs (``estimate, ci_low, ci_high``; ``<link>_estimate, se`` stay on the link
            scale), or report the linear predictor.
        visit : float, optional
            Only this visit.

        Returns
        -------
        DataFrame
            Grid columns, ``estimate, se, df, ci_low, ci_high``.
        """
        return self._inference().emmeans(by, alpha=alpha, scale=scale, visit=visit)

    def compare(self, pairs: list[tuple[str, str]] | None = None, *, reference: str | None = None,
                by: list[str] | None = None, visit: float | None = None, adjust: str = DEFAULTS["adjust"],
                alpha: float = DEFAULTS["alpha"], side: str = DEFAULTS["side"], scale: str = "response"
                ) -> pd.DataFrame:
        """Compare arms: all pairs, each arm against ``reference``, or the given ``pairs`` of (first, second).

        Parameters
        ----------
        pairs : list of (str, str), optional
        reference : str, optional
            Each arm against this one (``adjust="dunnett"`` is then available).
        by : list of str, optional
            Families for the adjustment (default: within each visit).
        visit : float, optional
            Only this visit.
        adjust : {"holm", "none", "bonferroni", "sidak", "tukey", "dunnett", "mvt"}
        alpha : float
        side : {"two-sided", "greater", "less"}
        scale : {"response", "link"}
            Ratios (log/logit links) or differences on the link scale.

        Returns
        -------
        DataFrame
            ``[visit], first, second, contrast, estimate, se, df, statistic, p, p_adj, ci_low, ci_high``
            (``log_estimate`` after ``estimate`` for ratios); ``attrs`` records ``adjust, ci_adjust, side, alpha,
            notes``.
        """
        return self._inference().compare(pairs, reference=reference, by=by, visit=visit, adjust=adjust, alpha=alpha,
                                         side=side, scale=scale)

    def test(self, L, labels=None, *, visit: float | None = None, adjust: str = DEFAULTS["adjust"],
             alpha: float = DEFAULTS["alpha"], side: str = DEFAULTS["side"], scale: str = "response"
             ) -> pd.DataFrame:
        """Test linear combinations: a matrix on the coefficients, or ``{arm: weight}`` mappings on the grid.

        Parameters
        ----------
        L : array (m, p), mapping or list of mappings
            Rows on ``inference.beta`` (coefficient order ``inference.terms``), or arm weights at ``visit``,
            e.g. the factorial interaction ``{"combined": 1, "physio": -1, "acupuncture": -1, "control": 1}``.
        labels : str or list of str, optional
            The ``contrast`` column.
        visit, adjust, alpha, side, scale
            As :meth:`compare`.

        Returns
        -------
        DataFrame
            ``contrast, estimate, se, df, statistic, p, p_adj, ci_low, ci_high``.
        """
        return self._inference().test(L, labels, visit=visit, adjust=adjust, alpha=alpha, side=side, scale=scale)

    # --- text ----------------------------------------------------------------------------------
    def summary(self, digits: int = 3) -> str:
        """Plain-text report: title, what was fitted, headline, tables, notes."""
        parts = [self.title, "=" * len(self.title), *self.fitted.lines()]
        if self.headline():
            parts += ["", *self.headline()]
        if isinstance(self.estimand, Estimand):
            parts += ["", *self.estimand.lines()]
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

    def parts(self) -> list[Result]:
        """Results bundled in this one (e.g. the primary analysis), in display order; none by default."""
        return []

    def with_estimand(self, trial: Any, *, visit: float | None = None, events: pd.DataFrame | None = None
                      ) -> Result:
        """A copy of this result that carries its estimand (ICH E9(R1)), printed by ``summary()`` and every export.

        For the primary models only (``ct.ancova``: complete cases at the visit; ``ct.mmrm``: MAR); the
        estimand is derived from the trial's dropout unless ``events`` are given (see
        :func:`combotherapy.estimand.for_analysis`). Nothing is refitted; the tables are the same objects.

        Parameters
        ----------
        trial : Trial
            The trial the result was fitted to.
        visit : float, optional
            MMRM: the visit at which the claims are judged (ANCOVA: its own visit).
        events : DataFrame, optional
            The trial's intercurrent events: ``subject, visit[, event]``.

        Returns
        -------
        Result
            A shallow copy with :attr:`estimand` set.

        Example
        -------
        >>> import combotherapy as ct
        >>> trial = ct.simulate_trial(n_per_arm=20, seed=1)
        >>> res = ct.ancova(trial, "pain", 12).with_estimand(trial)
        >>> "Estimand (ICH E9(R1))" in res.summary()
        True
        """
        import copy

        from .estimand import for_analysis

        if self.estimand_model is None:
            raise ModelError(f"an estimand is derived for the primary models (ct.ancova, ct.mmrm), not for "
                             f"{type(self).__name__}; describe it yourself with combotherapy.estimand.Estimand "
                             "and set it as .estimand", kind="no estimand")
        f = self.fitted
        model: str = self.estimand_model
        v = f.visit if model == "ancova" else visit
        covariates = (f.extra.get("covariates") or []) if isinstance(f.extra.get("covariates"), list | tuple) else []
        out = copy.copy(self)
        out.estimand = for_analysis(trial, str(f.outcome), model, visit=v, n_per_arm=f.n_per_arm,
                                    events=events, covariates=covariates,
                                    baseline=f.extra.get("baseline_mean", 0.0) is not None)
        return out

    # --- exports -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-able dict (see :func:`to_json`)."""
        return to_json(self)

    def to_markdown(self, digits: int = 3) -> str:
        out = [f"## {self.title}", ""] + [f"- {line}" for line in self.fitted.lines()]
        if self.headline():
            out += [""] + [f"**{line}**" for line in self.headline()]
        if isinstance(self.estimand, Estimand):
            out += ["", *_estimand_markdown(self.estimand)]
        for name, frame in self.frames().items():
            out += ["", f"### {name}", "", export.to_markdown(frame, digits=digits).rstrip("\n")]
        if self.notes:
            out += ["", "Notes:", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"

    def to_html(self, digits: int = 3) -> str:
        out = [f'<div class="combotherapy-result"><h3>{html.escape(self.title)}</h3>',
               "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in self.fitted.lines()) + "</ul>"]
        out += [f"<p><strong>{html.escape(line)}</strong></p>" for line in self.headline()]
        if isinstance(self.estimand, Estimand):
            out.append(estimand_html(self.estimand))
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


# --- the design of the data (randomised or observational) ------------------------------------------------------------

class ConfoundingWarning(UserWarning):
    """Non-randomised arms compared without adjustment for confounding."""


#: the note a result fitted to observational data carries when nothing adjusted for confounding
UNADJUSTED_WARNING = ("WARNING: observational data (treatment not randomised) and an UNADJUSTED comparison of the "
                      "arms: this model compares them as if randomised (adjusting only for the covariates in its "
                      "formula), so its differences can reflect confounding by indication. Use propensity weighting, "
                      "matching or a doubly robust estimate (combotherapy.observational) and report E-values.")


def design_lines(extra: Mapping[str, Any]) -> list[str]:
    """The lines :meth:`Fitted.lines` shows about the design and the adjustment for confounding."""
    adjustment = extra.get("adjustment")
    if extra.get("design") == "observational":
        how = f"adjustment for confounding: {adjustment}" if adjustment else \
            "NO adjustment for confounding (arms compared as if randomised)"
        return [f"Design: observational (treatment not randomised); {how}"]
    return [f"Adjustment for confounding: {adjustment}"] if adjustment else []


def record_design(result: Result, design: str, *, adjustment: str | None = None, warn: bool = True,
                  trial: Any = None) -> Result:
    """Record on ``result`` (and the results bundled in it) the design of the data it was fitted to.

    On observational data a result without an ``adjustment`` (every trial model: ANCOVA, MMRM, counts,
    responders, survival, the combination rule...) gets :data:`UNADJUSTED_WARNING` in its notes and, with
    ``warn``, a :class:`ConfoundingWarning`; with the ``trial`` it was fitted to, an ``evalues`` table is put
    beside its contrasts (:func:`combotherapy.observational.evalues.trial_evalues`). Randomised results are left
    as they are.
    """
    if design != "observational":
        return result
    unadjusted = False
    for res in [result, *result.parts()]:
        extra = res.fitted.extra
        extra["design"] = design
        if adjustment is not None:
            extra.setdefault("adjustment", adjustment)
        if not extra.get("adjustment"):
            unadjusted = True
            if UNADJUSTED_WARNING not in res.fitted.notes:
                res.fitted.notes.append(UNADJUSTED_WARNING)
            if trial is not None and "evalues" not in res.frames():
                from .observational.evalues import EVALUE_NOTE, trial_evalues  # only for observational data
                table = trial_evalues(res, trial)
                if table is not None:
                    res.evalues = table  # type: ignore[attr-defined]
                    res.tables = (*res.tables, "evalues")
                    res.fitted.notes.append(EVALUE_NOTE)
    if unadjusted and warn:
        warnings.warn(f"{result.title}: {UNADJUSTED_WARNING[9:]}", ConfoundingWarning, stacklevel=3)
    return result


_F = TypeVar("_F", bound=Callable[..., Any])


def records_design(fit: _F) -> _F:
    """Decorate a model's fitting function: its result records the design of the Trial (or result) it was given
    first (``trial.design``), through :func:`record_design`."""

    @functools.wraps(fit)
    def fit_recording_design(*args: Any, **kwargs: Any) -> Any:
        result = fit(*args, **kwargs)
        data = args[0] if args else kwargs.get("trial", kwargs.get("result"))
        design = getattr(data, "design", None)
        if design == "observational" and isinstance(result, Result):
            record_design(result, design, trial=data if hasattr(data, "visit_outcomes") else None)
        return result

    return cast(_F, fit_recording_design)


def _plain(frame: pd.DataFrame, digits: int) -> str:
    """A table as aligned plain text with the export module's number formatting."""
    cells = frame.map(lambda v: export.format_value(v, digits)) if len(frame) else frame.astype(str)
    return cells.to_string(index=False)


# --- JSON (every result: Result.to_json) -------------------------------------------------------------------------------------------------------

def _json_value(value: Any) -> Any:
    """A value as a JSON-able Python object: NaN and missing values become None, an infinity the string "inf" or
    "-inf" (as the CLI's JSON: strict JSON has no infinity, and null would read as "missing")."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return None if math.isnan(f) else f
    if isinstance(value, str):
        return value
    if isinstance(value, pd.DataFrame):
        return _records(value)
    if isinstance(value, pd.Series):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_value(v) for v in value]
    if isinstance(value, Fitted):
        return _fitted(value)
    if isinstance(value, Result):
        return to_json(value)
    # anything else (a fitted model object, an Instrument, ...) is described, not serialised
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [str(c) for c in frame.columns]
    return [dict(zip(columns, (_json_value(v) for v in row))) for row in frame.itertuples(index=False, name=None)]


def _fitted(f: Fitted) -> dict[str, Any]:
    return {"model": f.model, "formula": f.formula or None, "outcome": f.outcome, "visit": _json_value(f.visit),
            "covariance": f.covariance, "df_method": f.df_method, "adjust": f.adjust, "ci_adjust": f.ci_adjust,
            "alpha": _json_value(f.alpha), "n": f.n, "n_per_arm": _json_value(f.n_per_arm), "excluded": _records(f.excluded),
            "notes": list(f.notes), "extra": _json_value(f.extra)}


def to_json(result: Result) -> dict[str, Any]:
    """Any result as a JSON-able dict: title, what was fitted, headline, every table, and the verdict if any.

    Parameters
    ----------
    result : Result
        Any result of the library (``ct.ancova``, ``ct.mmrm``, ``ct.combination_test``, :func:`primary`, ...).

    Returns
    -------
    dict
        ``{"type", "title", "fitted", "headline", "tables": {name: [row, ...]}}`` plus ``"verdict"`` when the
        result has one and, for :class:`PrimaryResult`, ``"parts"`` (each bundled result in the same form) and
        ``"skipped"``. Numbers are Python floats/ints; NaN and missing values are ``None`` (JSON ``null``), an
        infinity (the open end of a one-sided interval) is the string ``"inf"`` or ``"-inf"``, so
        ``json.dumps(..., allow_nan=False)`` succeeds and no bound reads as missing.

    Example
    -------
    >>> import json, combotherapy as ct
    >>> res = ct.ancova(ct.simulate_trial(n_per_arm=20, seed=1), "pain", 12)
    >>> sorted(json.loads(json.dumps(res.to_json(), allow_nan=False))["tables"])
    ['by_arm', 'coefficients', 'contrasts']
    """
    if not isinstance(result, Result):
        raise DataError(f"to_json needs a combotherapy result, not {type(result).__name__}")
    out: dict[str, Any] = {"type": type(result).__name__, "title": result.title, "fitted": _fitted(result.fitted),
                           "headline": list(result.headline()),
                           "tables": {name: _records(frame) for name, frame in result.frames().items()}}
    if isinstance(result.estimand, Estimand):
        out["estimand"] = estimand_json(result.estimand)
    verdict = getattr(result, "verdict", None)
    if verdict is not None:
        out["verdict"] = _json_value(verdict)
    parts = result.parts()
    if parts:
        out["parts"] = [to_json(r) for r in parts]
        out["skipped"] = list(getattr(result, "skipped", []))
    return out


# --- the estimand in the exports -------------------------------------------------------------------------------------

def estimand_json(e: Estimand) -> dict[str, Any]:
    """An estimand as a JSON-able dict: ``population, treatment, variable, intercurrent_events, summary, notes``."""
    return {"population": e.population, "treatment": e.treatment, "variable": e.variable,
            "intercurrent_events": _records(e.events), "summary": e.summary, "notes": list(e.notes)}


def _estimand_markdown(e: Estimand) -> list[str]:
    lines = e.lines()
    return [f"**{lines[0]}**", ""] + [f"- {line.strip()}" if not line.startswith("    ") else f"  - {line.strip()}"
                                      for line in lines[1:]]


def estimand_html(e: Estimand) -> str:
    """An estimand as an HTML list (the first line as its heading)."""
    lines = e.lines()
    items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in lines[1:])
    return f'<div class="estimand"><p><strong>{html.escape(lines[0])}</strong></p><ul>{items}</ul></div>'
