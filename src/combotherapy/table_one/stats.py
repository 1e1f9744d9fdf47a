"""Table 1, statistics: the baseline of a trial by arm (:func:`table_one`).

:func:`table_one` summarises, for every randomised subject, the visit-0 (baseline) value of
each visit-level outcome and each subject-level covariate, arm by arm: mean (SD) or
median [Q1, Q3] for continuous variables, n (%) for categories, missing counts,
standardised mean differences, and optionally each arm's difference from a reference arm
with its confidence interval. Small counts can be suppressed for publication, with
complementary suppression (:mod:`combotherapy.privacy.disclosure`) so that they cannot be
recovered by subtraction. Display text and exports: :mod:`combotherapy.table_one.format`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..arms import contrast_label, contrast_pairs
from ..errors import DataError, ProblemCollector
from ..models.proportions import newcombe_diff_ci
from ..privacy.disclosure import complementary_suppression as _suppress
from ..trial import Trial
from .format import COMPLEMENT_MARK, TableOne, _auto_decimals, _fmt, _level_text, _notes
from .select import _baseline_frame, _check_options, _label, _names, _select

__all__ = ["table_one"]

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



def _level_counts(level: np.ndarray, arm: np.ndarray, levels: list, arms: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Subjects per level (rows) and arm (columns) from integer codes (-1: missing level), and the missing
    count per arm: one ``bincount`` (a crosstab without its grouping machinery). Subjects outside the arms
    (code -1) are not counted."""
    k, m = len(levels), len(arms)
    seen = arm >= 0
    level, arm = level[seen], arm[seen]
    ok = level >= 0
    cells = np.bincount(level[ok] * m + arm[ok], minlength=k * m).reshape(k, m)
    missing = np.bincount(arm[~ok], minlength=m)
    return pd.DataFrame(cells, index=levels, columns=arms), missing


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
    if type(trial).__name__ == "LazyTrial":   # out-of-core: Table 1 by aggregate queries (combotherapy.scale)
        lazy: Any = trial
        from ..scale.table_one import table_one as table_one_of_engine
        return table_one_of_engine(lazy.engine_data, lazy.arms, lazy.instruments, covariates,
                                   continuous=continuous, categorical=categorical, nonnormal=nonnormal,
                                   reference=reference, alpha=alpha, suppress_below=suppress_below,
                                   skew_threshold=skew_threshold, labels=labels, digits=digits)
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
    return assemble(builder, names, kinds, source, lambda name: _label(trial, name, labels),
                    lambda name: float(frame[name].astype(float).skew()), nonn_set, skew_threshold, ref=ref,
                    arms=arms, reference=reference, alpha=alpha, suppress_below=suppress_below, n_arm=n_arm,
                    notes_default=notes_default)


def assemble(builder, names: Sequence[str], kinds: Mapping[str, str], source: Mapping[str, str], label_of,
             skew_of, nonnormal: set, skew_threshold: float | None, *, ref: str, arms: list[str],
             reference: str | None, alpha: float, suppress_below: int | None, n_arm: pd.Series,
             notes_default: list[str]) -> TableOne:
    """The variables' rows (a continuous variable as median when named in ``nonnormal`` or skewed beyond
    ``skew_threshold``, else mean), the notes and the :class:`TableOne`; ``builder`` computes the numbers (from
    the baseline frame, or from aggregates out of core), ``label_of``/``skew_of`` give a variable's label and
    skewness."""
    variables = []
    for name in names:
        label = label_of(name)
        if kinds[name] == "continuous":
            skew = skew_of(name)
            median = name in nonnormal or (skew_threshold is not None and np.isfinite(skew)
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
        self._groups: pd.Categorical | None = None

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
        if self._groups is None:  # built once, shared by every variable's grouped statistics
            # arms outside self.arms become missing, as before, without pandas 4's deprecated implicit drop
            arm = self.frame["arm"]
            if isinstance(arm.dtype, pd.CategoricalDtype):
                self._groups = pd.Categorical(arm.cat.set_categories(self.arms))
            else:
                self._groups = pd.Categorical(arm.where(arm.isin(self.arms)), categories=self.arms)
        return self._groups

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
            pair = max(finite, key=lambda p: finite[p])
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
    def _continuous_stats(self, var: _Var) -> pd.DataFrame:
        """``n, missing, mean, sd, median, q1, q3, min, max`` (float) per arm and ``overall`` (index: groups).

        The one place that reads the rows of a continuous variable; the out-of-core path
        (:mod:`combotherapy.scale.table_one`) overrides it with the same numbers from aggregate queries.
        """
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
        return st

    def continuous(self, var: _Var) -> None:
        st = self._continuous_stats(var)
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
    def _categorical_counts(self, var: _Var) -> tuple[list, pd.DataFrame, np.ndarray]:
        """The levels in display order, the level x arm count table and the missing count per arm and overall.

        The one place that reads the rows of a categorical variable; the out-of-core path
        (:mod:`combotherapy.scale.table_one`) overrides it with the same counts from aggregate queries.
        """
        s = self.frame[var.name]
        if isinstance(s.dtype, pd.CategoricalDtype):
            levels = list(s.cat.categories)
        else:
            uniq = pd.unique(s.dropna())
            try:
                levels = sorted(uniq)
            except TypeError:  # mixed types: order as text
                levels = sorted(uniq, key=str)
        tab, missing = _level_counts(pd.Categorical(s, categories=levels).codes, self._group_index().codes,
                                     levels, self.arms)
        return levels, tab, np.array([*missing, missing.sum()], dtype=float)

    def categorical(self, var: _Var) -> None:
        levels, tab, missing = self._categorical_counts(var)
        texts = [_level_text(v) for v in levels]
        counts = np.column_stack([tab.to_numpy(dtype=float), tab.to_numpy(dtype=float).sum(axis=1)]) \
            if levels else np.zeros((0, len(self.groups)))
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

