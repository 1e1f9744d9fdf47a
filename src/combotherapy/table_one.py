"""Table 1: the baseline characteristics of a trial, by arm.

:func:`table_one` summarises, for every randomised subject, the visit-0 (baseline) value of
each visit-level outcome and each subject-level covariate, arm by arm: mean (SD) or
median [Q1, Q3] for continuous variables, n (%) for categories, missing counts,
standardised mean differences, and optionally each arm's difference from a reference arm
with its confidence interval. Small counts can be suppressed for publication, with
complementary suppression so that they cannot be recovered by subtraction.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from . import export
from .arms import contrast_label, contrast_pairs
from .errors import DataError, ProblemCollector
from .files import write_text
from .models.proportions import newcombe_diff_ci
from .results import Fitted, Result
from .trial import KEY_COLUMNS, Trial

__all__ = ["table_one", "TableOne"]

#: display labels of the canonical covariates (instruments carry their own label and units)
COVARIATE_LABELS = {"age": "Age (years)", "sex": "Sex", "pain_duration": "Pain duration (months)", "site": "Site"}

#: marker for a count replaced because a smaller count elsewhere could otherwise be recovered
COMPLEMENT_MARK = "*"

_CONT_STATS = ("n", "missing", "mean", "sd", "median", "q1", "q3", "min", "max")


@dataclass(frozen=True)
class _Var:
    name: str
    label: str
    kind: str  # "continuous" or "categorical"
    display: str  # "mean", "median" or "n (%)"
    source: str  # "baseline" (visit-0 row) or "subject" (subject-level column)
    skewness: float = float("nan")


# --------------------------------------------------------------------------------------------
# small statistical helpers (vectorised over pairs or levels)
# --------------------------------------------------------------------------------------------
def _welch(m1, s1, n1, m2, s2, n2, alpha: float):
    """Mean difference with its Welch (unequal variances) t interval; NaN when a group has n < 2."""
    with np.errstate(invalid="ignore", divide="ignore"):
        v1, v2 = s1**2 / n1, s2**2 / n2
        se = math.sqrt(v1 + v2)
        df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    if not (n1 >= 2 and n2 >= 2 and se > 0):
        return m1 - m2, float("nan"), float("nan"), float("nan"), float("nan")
    half = stats.t.isf(alpha / 2, df) * se
    return m1 - m2, se, df, m1 - m2 - half, m1 - m2 + half


def _smd_continuous(m1: float, s1: float, m2: float, s2: float) -> float:
    """|m1 - m2| / sqrt((s1^2 + s2^2) / 2); 0 when both groups are the same constant (as tableone)."""
    diff, pooled = m1 - m2, (s1**2 + s2**2) / 2
    if diff == 0 and pooled == 0:
        return 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(abs(diff) / np.sqrt(pooled))


def _smd_categorical(c1: np.ndarray, c2: np.ndarray) -> float:
    """Yang & Dalton (2012) SMD of a k-level variable from two count vectors (as R tableone).

    ``sqrt((p1 - p2)' S^+ (p1 - p2))`` on the proportions of levels 2..k (the first level is
    redundant), with ``S`` the mean of the two multinomial covariance matrices and ``S^+`` its
    Moore-Penrose inverse (tolerance sqrt(machine eps), as MASS::ginv).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = c1 / c1.sum(), c2 / c2.sum()
    if len(p1) > 1:
        p1, p2 = p1[1:], p2[1:]
    if np.isnan(p1).any() or np.isnan(p2).any():
        return float("nan")

    def cov(p: np.ndarray) -> np.ndarray:
        s = -np.outer(p, p)
        np.fill_diagonal(s, p * (1 - p))
        return s

    d = p1 - p2
    s = (cov(p1) + cov(p2)) / 2
    if np.all(s == 0):  # a constant in both groups: 0 if the same constant, else undefined
        return 0.0 if np.all(d == 0) else float("nan")
    return float(np.sqrt(max(d @ np.linalg.pinv(s, rtol=np.sqrt(np.finfo(float).eps)) @ d, 0.0)))


# --------------------------------------------------------------------------------------------
# complementary suppression
# --------------------------------------------------------------------------------------------
def _suppress(grid: np.ndarray, k: int, columns_constrained: bool) -> np.ndarray:
    """Suppression codes for a count grid (rows = levels [+ missing], columns = arms + overall).

    Returns 0 = shown, 1 = primary (1 <= count < k), 2 = complementary. Every row satisfies
    ``sum(arm cells) = overall cell`` and, when ``columns_constrained``, every column sums to
    the published arm size. Complementary cells are added until no such equation has exactly
    one suppressed cell (then nothing can be recovered by one subtraction): the smallest
    positive shown cell of the equation is chosen, a zero only when no positive one is left.
    """
    code = np.where((grid >= 1) & (grid < k), 1, 0)
    lines = [("row", i) for i in range(grid.shape[0])]
    if columns_constrained:
        lines += [("col", j) for j in range(grid.shape[1])]
    changed = True
    while changed:  # terminates: each pass suppresses at least one more cell or stops
        changed = False
        for axis, i in lines:
            codes = code[i, :] if axis == "row" else code[:, i]
            values = grid[i, :] if axis == "row" else grid[:, i]
            if np.count_nonzero(codes) != 1:
                continue
            shown = np.flatnonzero(codes == 0)
            if shown.size == 0:
                continue
            positive = shown[values[shown] > 0]
            pool = positive if positive.size else shown
            pick = pool[np.argmin(values[pool])]
            if axis == "row":
                code[i, pick] = 2
            else:
                code[pick, i] = 2
            changed = True
    return code


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

    def __repr__(self) -> str:
        return self.summary()

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

    def to_csv(self, path: str | os.PathLike | None = None, table: str | None = None) -> str | Path:
        """The display table (or the named table) as CSV text, or written atomically to ``path``.

        Read the display table back with ``pd.read_csv(path, dtype=str, keep_default_na=False)``.
        """
        frame = self.table if table is None else self.frames()[table]
        text = export.to_csv(frame)
        return text if path is None else write_text(path, text)

    def save(self, path: str | os.PathLike, digits: int = 3) -> Path:
        """Write the table; the suffix decides the format (.md, .html, .tex, .csv). Atomic."""
        path = Path(path)
        writers = {".md": self.to_markdown, ".html": self.to_html, ".htm": self.to_html, ".tex": self.to_latex,
                   ".csv": self.to_csv}
        suffix = path.suffix.lower()
        if suffix not in writers:
            raise DataError(f"cannot save a table as {suffix or 'a file without suffix'!r}: "
                            f"use one of {', '.join(sorted(writers))}")
        return write_text(path, writers[suffix]())


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def _names(arg: str | Iterable[str] | None, what: str) -> list[str]:
    if arg is None:
        return []
    if isinstance(arg, str):
        return [arg]
    try:
        out = list(arg)
    except TypeError:
        raise DataError(f"{what} must be a column name or a list of column names, "
                        f"not {type(arg).__name__}") from None
    bad = [x for x in out if not isinstance(x, str)]
    if bad:
        raise DataError(f"{what} must hold column names (strings); got {bad[:5]}")
    return list(dict.fromkeys(out))


def _check_options(trial, alpha, suppress_below, skew_threshold, reference, digits) -> None:
    if not isinstance(trial, Trial):
        raise DataError(f"table_one needs a ct.Trial (from ct.load or ct.simulate_trial), not "
                        f"{type(trial).__name__}")
    problems = []
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        problems.append(f"alpha must be a number between 0 and 1 (0.05 gives 95% intervals), not {alpha!r}")
    if suppress_below is not None and not (isinstance(suppress_below, int | np.integer) and
                                           not isinstance(suppress_below, bool) and suppress_below >= 2):
        problems.append(f"suppress_below must be None or a whole number >= 2 (e.g. 11), not {suppress_below!r}")
    if skew_threshold is not None and not (isinstance(skew_threshold, int | float) and skew_threshold > 0):
        problems.append(f"skew_threshold must be None or a positive number, not {skew_threshold!r}")
    if digits is not None and not (isinstance(digits, int) and 0 <= digits <= 6):
        problems.append(f"digits must be None (automatic) or a whole number 0-6, not {digits!r}")
    if reference is not None and reference not in trial.arms:
        problems.append(f"reference arm {reference!r} is not an arm of this trial; its arms are {trial.arms}")
    if problems:
        raise DataError("table_one: " + "; ".join(problems))


def _unknown(name: str, available: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(available), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    return f"not a column of this trial; {hint}columns available: {list(available)}"


def _select(trial: Trial, covariates, continuous, categorical, nonnormal) -> tuple[list[str], list[str]]:
    """The variables to describe, in order, and notes about defaults."""
    notes: list[str] = []
    available = [c for c in trial.data.columns if c not in KEY_COLUMNS]
    has_baseline = bool((trial.data["visit"] == 0).any())
    subject_level = set(trial.subject_columns)
    if covariates is None:
        # subject-level outcomes (recovery, adverse events, sessions) happen after randomisation
        chosen = list(trial.covariates)
        if has_baseline:
            chosen += list(trial.visit_outcomes)
        elif trial.visit_outcomes:
            notes.append("The trial has no visit-0 rows, so no baseline outcomes are shown.")
    else:
        chosen = _names(covariates, "covariates")
    found = ProblemCollector()
    for name in chosen:
        if name in KEY_COLUMNS:
            found.add(name, f"'{name}' is a key column (subject, arm, visit), not a baseline characteristic")
        elif name not in available:
            found.add(name, _unknown(name, available))
        elif name not in subject_level and not has_baseline:
            found.add(name, "varies by visit, and the trial has no visit-0 (baseline) rows to take it from")
    cont, cat, nonn = (_names(x, w) for x, w in ((continuous, "continuous"), (categorical, "categorical"),
                                                 (nonnormal, "nonnormal")))
    for what, names in (("continuous", cont), ("categorical", cat), ("nonnormal", nonn)):
        for name in names:
            if name not in chosen:
                found.add(name, f"named in {what}= but not among the variables described "
                                f"{chosen}" + ("" if name in available else "; " + _unknown(name, available)))
    for name in sorted(set(cat) & (set(cont) | set(nonn))):
        found.add(name, "named as categorical and as continuous/nonnormal; name it in one only")
    found.raise_if_any(message="table_one cannot describe these variables:")
    if not chosen:
        raise DataError("table_one: there is nothing to describe: the trial has no covariates and no baseline "
                        "outcomes; name variables with covariates=[...]")
    return chosen, notes


def _baseline_frame(trial: Trial, names: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """One row per randomised subject: subject, arm and each variable (visit-0 value if visit-level)."""
    subj = trial.subjects
    subject_level = set(trial.subject_columns)
    frame = subj[["subject", "arm"]].copy()
    source = {n: "subject" if n in subject_level else "baseline" for n in names}
    per_subject = [n for n in names if source[n] == "subject"]
    at_zero = [n for n in names if source[n] == "baseline"]
    for n in per_subject:  # keep the dtype: declared categories (and their order) matter
        frame[n] = subj[n]
    if at_zero:
        base = trial.data.loc[trial.data["visit"] == 0.0, ["subject", *at_zero]].drop_duplicates("subject")
        base = base.set_index("subject").reindex(frame["subject"])
        for n in at_zero:
            frame[n] = base[n].set_axis(frame.index)
    return frame, source


def _label(trial: Trial, name: str, labels: Mapping[str, str]) -> str:
    if name in labels:
        return labels[name]
    inst = trial.instruments.get(name)
    if inst is not None:
        text = inst.label or name
        # "EQ-5D index (index)" says nothing more than "EQ-5D index"
        return text if not inst.units or inst.units.lower() in text.lower() else f"{text} ({inst.units})"
    return COVARIATE_LABELS.get(name, name)


# --------------------------------------------------------------------------------------------
# the function
# --------------------------------------------------------------------------------------------
def table_one(trial: Trial, covariates: str | Sequence[str] | None = None, *,
              continuous: Sequence[str] | None = None, categorical: Sequence[str] | None = None,
              nonnormal: Sequence[str] | None = None, reference: str | None = None, alpha: float = 0.05,
              suppress_below: int | None = None, skew_threshold: float | None = 1.0,
              labels: Mapping[str, str] | None = None, digits: int | None = None) -> TableOne:
    """Describe the baseline by arm: the "Table 1" of a trial report.

    Parameters
    ----------
    trial : Trial
        The trial; every randomised subject (every subject in ``trial.subjects``) is counted.
    covariates : str or list of str, optional
        Variables to describe, in order. Default: every covariate column, then the baseline
        (visit-0) value of every visit-level outcome. Subject-level outcomes (recovery,
        adverse events, sessions) happen after randomisation and are left out unless named.
    continuous, categorical : list of str, optional
        Override the type read from the column: numbers are continuous and text, categorical
        and boolean columns are categorical unless named here (e.g. a 1-5 coded numeric column
        named in ``categorical``). A numeric column holding only 0 and 1 is a code and is
        categorical unless named in ``continuous``.
    nonnormal : list of str, optional
        Continuous variables to show as median [Q1, Q3] whatever their skewness.
    reference : str, optional
        An arm. Adds each other arm's difference from it with a ``1 - alpha`` confidence
        interval, and is the arm the SMDs are taken against for three or more arms (default:
        the first arm in display order).
    alpha : float
        1 - confidence level of the intervals (0.05 gives 95%).
    suppress_below : int, optional
        Replace every count from 1 to ``suppress_below - 1`` (and its percentage) by
        ``"<suppress_below"``, with complementary suppression (Notes). Default: off.
    skew_threshold : float or None
        A continuous variable whose pooled sample skewness exceeds this in absolute value is
        shown as median [Q1, Q3]; ``None`` uses ``nonnormal`` only.
    labels : mapping, optional
        Display labels by column name (default: instrument label and units, or a built-in
        label for age, sex, pain duration and site).
    digits : int, optional
        Decimals of means, SDs, medians and quartiles; default chooses per variable so the
        SD (or IQR) shows about two significant digits (1 to 3 decimals).

    Returns
    -------
    TableOne
        ``.table`` (display), ``.numbers`` (tidy raw numbers), ``.smd``, ``.differences``,
        ``.summary()`` and exports ``.to_markdown()``, ``.to_html()``, ``.to_latex()``,
        ``.to_csv(path)``, ``.save(path)``.

    Raises
    ------
    DataError
        Unknown variables (with close matches), contradictory type overrides, a reference
        that is not an arm, or invalid options; all problems of one call together.

    Notes
    -----
    *Continuous variables*: mean (SD) with SD on n - 1, or median [Q1, Q3] with quartiles by
    linear interpolation between order statistics (R's default ``quantile`` type 7, numpy's
    ``"linear"``). Skewness is the adjusted Fisher-Pearson coefficient
    ``G1 = g1 sqrt(n(n-1)) / (n-2)``, ``g1 = m3 / m2^(3/2)``, of all arms pooled.

    *Categorical variables*: n (%) with percentages of the subjects whose value is recorded
    (as R tableone); the missing row gives n (% of the arm).

    *Standardised mean differences* (absolute values). Continuous:
    ``|m1 - m2| / sqrt((s1^2 + s2^2) / 2)``. Categorical with levels 1..k (Yang & Dalton 2012):
    ``sqrt((p1 - p2)' S^+ (p1 - p2))`` with ``p`` the proportions of levels 2..k,
    ``S = (S1 + S2) / 2``, ``S_i = diag(p_i) - p_i p_i'`` and ``S^+`` the Moore-Penrose inverse;
    for two levels this is ``|p1 - p2| / sqrt((p1 q1 + p2 q2) / 2)``. Equal constants give 0.
    Two arms: one SMD column. Three or more: each arm against the reference arm, and the
    largest SMD over all pairs of arms (R tableone prints the average instead).

    *Differences from the reference arm* (``arm - reference``): continuous, the difference in
    means with a Welch t interval, ``d +- t(df) sqrt(s1^2/n1 + s2^2/n2)``, Welch-Satterthwaite df;
    categorical, the difference in proportions of each level (shown in percentage points)
    with Newcombe's hybrid score interval (method 10: Wilson limits ``l_i, u_i`` combined as
    ``d - sqrt((p1-l1)^2 + (u2-p2)^2)``, ``d + sqrt((u1-p1)^2 + (p2-l2)^2)``). Intervals are
    descriptive and unadjusted; no p-values are given, because in a randomised trial
    baseline differences are due to chance by design (CONSORT 2010, item 15).

    *Suppression* (``suppress_below = k``): counts 1 to k-1 become ``"<k"`` (zeros stay, as in
    the CMS cell-size policy). The counts of a variable satisfy linear equations: each row's
    arm cells add up to its overall cell, and each column (levels plus missing) adds up to
    the published arm size. While any equation has exactly one suppressed cell, its smallest
    shown positive cell is also suppressed (``"*"``, complementary suppression). Percentages
    whose denominator would reveal a suppressed missing count are dropped, and for categorical
    variables the SMDs and differences involving an arm with a suppressed cell are shown as
    ``"*"`` (proportions to one decimal pin down the counts behind them). Means, SDs, quartiles
    and Welch intervals stay: rounded, they do not determine how many values lie behind them.
    Arm sizes are published and never suppressed. This stops recovery by subtraction, not
    every interval inference (no linear-programming audit).

    References
    ----------
    Yang D, Dalton JE (2012). A unified approach to measuring the effect size between two
    groups using SAS. SAS Global Forum, paper 335-2012.
    Newcombe RG (1998). Interval estimation for the difference between independent
    proportions: comparison of eleven methods. Stat Med 17:873-890.
    Welch BL (1947). The generalization of Student's problem when several different
    population variances are involved. Biometrika 34:28-35.
    Hyndman RJ, Fan Y (1996). Sample quantiles in statistical packages. Am Stat 50:361-365.
    Moher D et al. (2010). CONSORT 2010 explanation and elaboration. BMJ 340:c869.

    Example
    -------
    >>> import combotherapy as ct
    >>> trial = ct.simulate_trial(n_per_arm=60, seed=1)     # or ct.load("data/sample/three_arm.csv")
    >>> t1 = ct.table_one(trial, ["age", "sex", "pain"], reference="physio", suppress_below=11)
    >>> list(t1.table.columns[:6])
    ['Characteristic', 'Level', 'physio (n=60)', 'acupuncture (n=60)', 'combined (n=60)', 'Overall (n=180)']
    >>> t1.to_markdown().startswith("**Table 1.")
    True
    >>> t1.save("table1.md")     # doctest: +SKIP
    """
    _check_options(trial, alpha, suppress_below, skew_threshold, reference, digits)
    names, notes_default = _select(trial, covariates, continuous, categorical, nonnormal)
    labels = dict(labels or {})
    stray = [k for k in labels if k not in names]
    if stray:
        raise DataError(f"table_one: labels given for {stray}, which are not among the variables described {names}; "
                        "check the spelling or add them to covariates")
    frame, source = _baseline_frame(trial, names)

    cont_set, cat_set, nonn_set = (set(_names(x, w)) for x, w in ((continuous, "continuous"),
                                                                   (categorical, "categorical"),
                                                                   (nonnormal, "nonnormal")))
    found = ProblemCollector()
    numeric_forced = cont_set | nonn_set
    kinds = {}
    binary: list[str] = []
    for name in names:
        s = frame[name]
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if name in cat_set:
            kinds[name] = "categorical"
        elif name in numeric_forced and not numeric:
            found.add(name, f"named as continuous/nonnormal but holds {s.dtype} values; name it in "
                            "categorical= or convert it to numbers")
        elif numeric and name not in numeric_forced and set(s.dropna().unique()) == {0, 1}:
            # a 0/1 code (sex = 1/0, migraine yes/no): "1.0 [1.0, 1.0]" says nothing, n (%) says it all
            kinds[name] = "categorical"
            binary.append(name)
        else:
            kinds[name] = "continuous" if numeric else "categorical"
    found.raise_if_any(message="table_one cannot describe these variables:")
    if binary:
        notes_default = list(notes_default) + [
            f"{', '.join(binary)}: numeric 0/1 code{'s' if len(binary) > 1 else ''}, shown as n (%) of each value; "
            f"name {'them' if len(binary) > 1 else 'it'} in continuous= to show "
            f"{'them as numbers' if len(binary) > 1 else 'it as a number'}."]

    counts = frame["arm"].value_counts()
    arms = [a for a in trial.arms if counts.get(a, 0) > 0]
    if reference is not None and reference not in arms:
        raise DataError(f"reference arm {reference!r} has no subjects in this trial; arms with subjects: {arms}")
    ref = reference if reference is not None else arms[0]
    n_arm = pd.Series([int(counts[a]) for a in arms], index=arms, name="n")
    builder = _Builder(frame, arms, n_arm, ref, reference, alpha, suppress_below, digits)

    variables = []
    for name in names:
        label = _label(trial, name, labels)
        if kinds[name] == "continuous":
            skew = float(frame[name].astype(float).skew())
            median = name in nonn_set or (skew_threshold is not None and np.isfinite(skew)
                                          and abs(skew) > skew_threshold)
            var = _Var(name, label, "continuous", "median" if median else "mean", source[name], skew)
            builder.continuous(var)
        else:
            var = _Var(name, label, "categorical", "n (%)", source[name])
            builder.categorical(var)
        variables.append(var)

    var_frame = pd.DataFrame([v.__dict__ for v in variables],
                             columns=["name", "label", "kind", "display", "source", "skewness"])
    var_frame = var_frame.rename(columns={"name": "variable"})
    notes = _notes(variables, ref, arms, reference, alpha, suppress_below, skew_threshold, builder) + notes_default
    return TableOne(table=builder.display(), numbers=builder.tidy(), smd=builder.smd_frame(),
                    differences=builder.diff_frame(), variables=var_frame, n=n_arm, notes=notes,
                    reference=reference, alpha=alpha, suppress_below=suppress_below)


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


# --------------------------------------------------------------------------------------------
# assembling the numbers and the display
# --------------------------------------------------------------------------------------------
class _Builder:
    """Accumulates tidy numbers and display rows variable by variable."""

    def __init__(self, frame, arms, n_arm, ref, reference, alpha, k, digits):
        self.frame, self.arms, self.n_arm, self.ref = frame, arms, n_arm, ref
        self.reference, self.alpha, self.k, self.digits = reference, alpha, k, digits
        self.groups = list(arms) + ["overall"]
        self.sizes = np.array([*n_arm.to_numpy(), n_arm.sum()], dtype=float)
        self.all_pairs = contrast_pairs(arms)
        self.ref_pairs = contrast_pairs(arms, ref) if len(arms) > 1 else []
        self.diff_pairs = contrast_pairs(arms, reference) if reference is not None else []
        self.conf = f"{100 * (1 - alpha):g}% CI"
        self.tidy_rows: list[tuple] = []
        self.smd_rows: list[tuple] = []
        self.diff_rows: list[tuple] = []
        self.rows: list[dict] = []

    # column names of the display table
    @property
    def arm_cols(self) -> list[str]:
        return [f"{a} (n={n})" for a, n in self.n_arm.items()] + [f"Overall (n={int(self.n_arm.sum())})"]

    @property
    def smd_cols(self) -> list[str]:
        if len(self.arms) < 2:
            return []
        if len(self.arms) == 2:
            return ["SMD"]
        return [f"SMD {a} vs {r}" for a, r in self.ref_pairs] + ["SMD (max)"]

    @property
    def diff_cols(self) -> list[str]:
        return [f"{contrast_label(a, r)} ({self.conf})" for a, r in self.diff_pairs]

    def _num(self, var, level, arm, statistic, value, suppression=None):
        self.tidy_rows.append((var, level, arm, statistic, float(value), suppression))

    def _group_index(self):
        return pd.Categorical(self.frame["arm"], categories=self.arms)

    # --- SMD ------------------------------------------------------------------------------
    def _smd_cells(self, name: str, smd_of, hidden_arms: set) -> dict[str, str]:
        values = {}
        for a, b in self.all_pairs:
            v = smd_of(a, b)
            values[(a, b)] = v
            label = contrast_label(a, b)
            hide = bool({a, b} & hidden_arms)
            self.smd_rows.append((name, label, v))
            self._num(name, None, label, "smd", v, "hidden" if hide else None)
        finite = {p: v for p, v in values.items() if np.isfinite(v)}
        if len(self.arms) > 2 and finite:
            pair = max(finite, key=finite.get)
            self._num(name, None, contrast_label(*pair), "smd_max", finite[pair], "hidden" if hidden_arms else None)
        cells = {}
        lookup = {frozenset(p): v for p, v in values.items()}
        if len(self.arms) == 2:
            cells["SMD"] = COMPLEMENT_MARK if hidden_arms else _fmt(values[self.all_pairs[0]], 3)
        elif len(self.arms) > 2:
            for (a, r), col in zip(self.ref_pairs, self.smd_cols):
                cells[col] = COMPLEMENT_MARK if {a, r} & hidden_arms else _fmt(lookup[frozenset((a, r))], 3)
            cells["SMD (max)"] = (COMPLEMENT_MARK if hidden_arms else
                                  _fmt(max(finite.values()) if finite else float("nan"), 3))
        return cells

    # --- continuous -----------------------------------------------------------------------
    def continuous(self, var: _Var) -> None:
        x = self.frame[var.name].astype(float)
        g = x.groupby(self._group_index(), observed=False)
        per_arm = pd.DataFrame({"n": g.count(), "missing": g.size() - g.count(), "mean": g.mean(), "sd": g.std(),
                                "median": g.median(), "q1": g.quantile(0.25), "q3": g.quantile(0.75),
                                "min": g.min(), "max": g.max()})
        overall = pd.Series({"n": x.count(), "missing": x.isna().sum(), "mean": x.mean(), "sd": x.std(),
                             "median": x.median(), "q1": x.quantile(0.25), "q3": x.quantile(0.75),
                             "min": x.min(), "max": x.max()}, name="overall")
        st = pd.concat([per_arm, overall.to_frame().T]).astype(float)
        st.index = self.groups
        spread = st.loc["overall", "sd"] if var.display == "mean" else st.loc["overall", "q3"] - st.loc["overall", "q1"]
        dec = self.digits if self.digits is not None else _auto_decimals(spread)

        missing = st["missing"].to_numpy()
        code = (_suppress(missing[None, :], self.k, columns_constrained=False)[0] if self.k
                else np.zeros(len(self.groups), dtype=int))
        sup = {g_: ("primary", "complementary")[c - 1] if c else None for g_, c in zip(self.groups, code)}
        for grp in self.groups:
            for s in _CONT_STATS:
                self._num(var.name, None, grp, s, st.loc[grp, s], sup[grp] if s in ("missing", "n") else None)
        self._num(var.name, None, "overall", "skewness", var.skewness)

        if var.display == "mean":
            cells = [f"{_fmt(m, dec)} ({_fmt(s, dec)})" if np.isfinite(m) else "" for m, s in zip(st["mean"], st["sd"])]
            suffix = "mean (SD)"
        else:
            cells = [f"{_fmt(m, dec)} [{_fmt(a, dec)}, {_fmt(b, dec)}]" if np.isfinite(m) else ""
                     for m, a, b in zip(st["median"], st["q1"], st["q3"])]
            suffix = "median [Q1, Q3]"
        row = {"Characteristic": f"{var.label}, {suffix}", "Level": ""}
        row.update(dict(zip(self.arm_cols, cells)))
        row.update(self._smd_cells(var.name, lambda a, b: _smd_continuous(st.loc[a, "mean"], st.loc[a, "sd"],
                                                                         st.loc[b, "mean"], st.loc[b, "sd"]),
                                   set()))
        for (a, r), col in zip(self.diff_pairs, self.diff_cols):
            d, se, df, lo, hi = _welch(st.loc[a, "mean"], st.loc[a, "sd"], st.loc[a, "n"],
                                       st.loc[r, "mean"], st.loc[r, "sd"], st.loc[r, "n"], self.alpha)
            label = contrast_label(a, r)
            # shown even when a missing count is suppressed: means, SDs and the interval are rounded and
            # do not pin down the number of values behind them (unlike a percentage)
            self.diff_rows.append((var.name, None, label, d, se, df, lo, hi, "Welch t"))
            for s, v in zip(("difference", "se", "df", "ci_low", "ci_high"), (d, se, df, lo, hi)):
                self._num(var.name, None, label, s, v)
            row[col] = f"{_fmt(d, dec)} ({_fmt(lo, dec)}, {_fmt(hi, dec)})" if np.isfinite(lo) else _fmt(d, dec)
        self.rows.append(row)
        if missing.sum() > 0:
            self.rows.append(self._missing_row(missing, code))

    def _missing_row(self, missing: np.ndarray, code: np.ndarray) -> dict:
        row = {"Characteristic": "", "Level": "missing"}
        for col, m, c, n in zip(self.arm_cols, missing, code, self.sizes):
            row[col] = self._count_cell(m, 100 * m / n, c, show_pct=True)
        return row

    def _count_cell(self, count: float, pct: float, code: int, show_pct: bool) -> str:
        if code == 1:
            return f"<{self.k}"
        if code == 2:
            return COMPLEMENT_MARK
        return f"{int(count)} ({_fmt(pct, 1)})" if show_pct and np.isfinite(pct) else f"{int(count)}"

    # --- categorical ----------------------------------------------------------------------
    def categorical(self, var: _Var) -> None:
        s = self.frame[var.name]
        if isinstance(s.dtype, pd.CategoricalDtype):
            levels = list(s.cat.categories)
        else:
            uniq = pd.unique(s.dropna())
            try:
                levels = sorted(uniq)
            except TypeError:  # mixed types: order as text
                levels = sorted(uniq, key=str)
        texts = [_level_text(v) for v in levels]
        codes = pd.Categorical(s, categories=levels)
        tab = pd.crosstab(codes, self._group_index(), dropna=False).reindex(index=levels, columns=self.arms,
                                                                             fill_value=0)
        counts = np.column_stack([tab.to_numpy(dtype=float), tab.to_numpy(dtype=float).sum(axis=1)]) \
            if levels else np.zeros((0, len(self.groups)))
        missing = self.frame[var.name].isna().groupby(self._group_index(), observed=False).sum()
        missing = np.array([*missing.reindex(self.arms).to_numpy(dtype=float), missing.sum()])
        nonmiss = counts.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = 100 * counts / nonmiss

        show_missing = missing.sum() > 0
        grid = np.vstack([counts, missing[None, :]]) if show_missing else counts
        code = _suppress(grid, self.k, columns_constrained=True) if self.k else np.zeros(grid.shape, dtype=int)
        lvl_code = code[: len(levels)]
        miss_code = code[-1] if show_missing else np.zeros(len(self.groups), dtype=int)
        # a percentage of the non-missing reveals that denominator, hence the missing count
        show_pct = miss_code == 0
        hidden = {a for j, a in enumerate(self.arms) if code[:, j].any()}
        tag = {0: None, 1: "primary", 2: "complementary"}

        for j, grp in enumerate(self.groups):
            self._num(var.name, None, grp, "n", nonmiss[j], None if show_pct[j] else "hidden")
            self._num(var.name, None, grp, "missing", missing[j], tag[int(miss_code[j])])
            for i, t in enumerate(texts):
                self._num(var.name, t, grp, "count", counts[i, j], tag[int(lvl_code[i, j])])
                self._num(var.name, t, grp, "percent", pct[i, j],
                          tag[int(lvl_code[i, j])] or (None if show_pct[j] else "hidden"))

        head = {"Characteristic": f"{var.label}, n (%)", "Level": ""}
        head.update(dict.fromkeys(self.arm_cols, ""))
        head.update(self._smd_cells(var.name, lambda a, b: _smd_categorical(tab[a].to_numpy(float),
                                                                            tab[b].to_numpy(float)), hidden))
        head.update(dict.fromkeys(self.diff_cols, ""))
        self.rows.append(head)

        diffs = {}
        for a, r in self.diff_pairs:
            x1, x2 = tab[a].to_numpy(float), tab[r].to_numpy(float)
            # one call per pair, vectorised over the levels; an arm with no recorded value gives NaN
            diffs[(a, r)] = newcombe_diff_ci(x1, x1.sum(), x2, x2.sum(), self.alpha)
            label = contrast_label(a, r)
            hide = "hidden" if {a, r} & hidden else None
            d, lo, hi, se = (np.atleast_1d(v) for v in diffs[(a, r)])
            for i, t in enumerate(texts):
                self.diff_rows.append((var.name, t, label, d[i], se[i], np.nan, lo[i], hi[i], "Newcombe hybrid score"))
                for st_, v in zip(("difference", "se", "ci_low", "ci_high"), (d[i], se[i], lo[i], hi[i])):
                    self._num(var.name, t, label, st_, v, hide)
        for i, t in enumerate(texts):
            row = {"Characteristic": "", "Level": t}
            for j, col in enumerate(self.arm_cols):
                row[col] = self._count_cell(counts[i, j], pct[i, j], lvl_code[i, j], show_pct[j])
            for (a, r), col in zip(self.diff_pairs, self.diff_cols):
                d, lo, hi = (np.atleast_1d(v)[i] * 100 for v in diffs[(a, r)][:3])
                row[col] = COMPLEMENT_MARK if {a, r} & hidden else (
                    f"{_fmt(d, 1)} ({_fmt(lo, 1)}, {_fmt(hi, 1)})" if np.isfinite(d) else "")
            self.rows.append(row)
        if show_missing:
            self.rows.append(self._missing_row(missing, miss_code))

    # --- outputs --------------------------------------------------------------------------
    def display(self) -> pd.DataFrame:
        cols = ["Characteristic", "Level", *self.arm_cols, *self.smd_cols, *self.diff_cols]
        table = pd.DataFrame(self.rows, columns=cols).fillna("")
        return table.astype(str)

    def tidy(self) -> pd.DataFrame:
        out = pd.DataFrame(self.tidy_rows, columns=["variable", "level", "arm", "statistic", "value", "suppression"])
        return out.astype({"variable": "str", "arm": "str", "statistic": "str", "value": float})

    def smd_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.smd_rows, columns=["variable", "contrast", "smd"])

    def diff_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.diff_rows, columns=["variable", "level", "contrast", "estimate", "se", "df",
                                                     "ci_low", "ci_high", "method"])
