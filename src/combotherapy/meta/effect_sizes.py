"""Effect sizes from study-level data: one row per two-group study (``escalc``) or one row per arm (``pairwise``).

The measures follow metafor's ``escalc`` (two-group rows) and netmeta's ``pairwise`` (arm rows, every pair of arms
of a multi-arm study). Ratio measures are on the log scale. Continuity corrections are applied only where a cell is
zero and are always stated in the returned frame (column ``corrected``) and in ``frame.attrs["notes"]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from ..errors import ProblemCollector

__all__ = ["escalc", "pairwise", "MEASURES"]

#: measures understood by :func:`escalc` and :func:`pairwise`
MEASURES = {
    "MD": "mean difference",
    "SMD": "standardised mean difference (Hedges' g)",
    "OR": "log odds ratio",
    "RR": "log risk ratio",
    "RD": "risk difference",
    "IRR": "log incidence rate ratio",
    "GEN": "reported contrast (estimate and standard error or confidence interval)",
}
RATIO = ("OR", "RR", "IRR")

_NEEDS = {
    "MD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "SMD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "OR": ("ai", "n1i", "ci", "n2i"),
    "RR": ("ai", "n1i", "ci", "n2i"),
    "RD": ("ai", "n1i", "ci", "n2i"),
    "IRR": ("x1i", "t1i", "x2i", "t2i"),
}


def _column(data: pd.DataFrame | None, spec, name: str, problems: ProblemCollector, n: int | None) -> np.ndarray:
    """A numeric column given by name (in ``data``) or as values; non-numbers become a listed problem."""
    values = data[spec] if (data is not None and isinstance(spec, str)) else pd.Series(np.asarray(spec).ravel())
    num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(num))
    label = spec if isinstance(spec, str) else name
    if len(bad):
        problems.add(label, "is missing or not a number", bad)
    if n is not None and len(num) != n:
        problems.add(label, f"has {len(num)} values, expected {n}")
    return num


def _hedges_j(m: np.ndarray) -> np.ndarray:
    """Exact small-sample correction J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)) (Hedges 1981)."""
    return np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))


def escalc(measure: str, data: pd.DataFrame | None = None, *, study=None, ai=None, bi=None, ci=None, di=None,
           n1i=None, n2i=None, m1i=None, m2i=None, sd1i=None, sd2i=None, x1i=None, x2i=None, t1i=None,
           t2i=None, yi=None, vi=None, sei=None, ci_low=None, ci_high=None, add: float = 0.5,
           to: str = "only0", level: float = 0.95) -> pd.DataFrame:
    """Effect size and sampling variance of each two-group study (metafor's ``escalc``).

    Parameters
    ----------
    measure : {"MD", "SMD", "OR", "RR", "RD", "IRR", "GEN"}
        See :data:`MEASURES`. Ratio measures are returned on the log scale.
    data : DataFrame, optional
        Study-level rows; the other arguments then name its columns (or give the values directly).
    study : str or array-like, optional
        Study labels (publication metadata, shown in messages); default ``"study 1"``, ...
    ai, bi, ci, di : column
        2x2 counts: events and non-events in group 1 (``ai``, ``bi``) and group 2 (``ci``, ``di``); ``bi``/``di``
        may be replaced by the group sizes ``n1i``/``n2i``.
    n1i, n2i, m1i, m2i, sd1i, sd2i : column
        Group sizes, means and standard deviations (``MD``, ``SMD``).
    x1i, x2i, t1i, t2i : column
        Event counts and person-time (``IRR``).
    yi, vi, sei, ci_low, ci_high : column
        A reported contrast (``GEN``): estimate with its variance, standard error or confidence interval.
    add : float
        Continuity correction added to every cell of a study with a zero cell (``to="only0"``, metafor's default),
        to every study (``"all"``), to studies with a zero cell only if some study has one (``"if0all"``) or never
        (``"none"``). Not used by ``RD`` when no cell is zero.
    to : {"only0", "all", "if0all", "none"}
    level : float
        Confidence level of a reported interval (``GEN`` with ``ci_low``/``ci_high``).

    Returns
    -------
    DataFrame
        ``study, yi, vi, sei, corrected`` in input order; ``attrs["measure"]`` and ``attrs["notes"]`` say what
        was computed and which studies were corrected.

    Notes
    -----
    With group 1 and group 2: MD ``yi = m1 - m2``, ``vi = sd1^2/n1 + sd2^2/n2``. SMD (Hedges' g)
    ``yi = J(n1+n2-2) (m1 - m2) / s_p`` with the exact J and the pooled SD ``s_p``, ``vi = 1/n1 + 1/n2 +
    yi^2 / (2 (n1+n2))`` (metafor ``vtype="LS"``). OR ``log(ad/bc)``, ``vi = 1/a + 1/b + 1/c + 1/d``.
    RR ``log((a/n1)/(c/n2))``, ``vi = 1/a - 1/n1 + 1/c - 1/n2``. RD ``a/n1 - c/n2`` with binomial variances.
    IRR ``log((x1/t1)/(x2/t2))``, ``vi = 1/x1 + 1/x2``.

    References
    ----------
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).
    Hedges LV. Distribution theory for Glass's estimator of effect size. J Educ Stat 1981;6:107-128.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"tpos": [4, 6], "tneg": [119, 300], "cpos": [11, 29], "cneg": [128, 274]})
    >>> es = escalc("RR", d, ai="tpos", bi="tneg", ci="cpos", di="cneg")
    >>> round(float(es["yi"].iloc[0]), 4)
    -0.8893
    """
    measure = str(measure).upper()
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    if to not in ("only0", "all", "if0all", "none"):
        raise ValueError("to must be 'only0', 'all', 'if0all' or 'none'")
    p = ProblemCollector()
    args = dict(ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, m1i=m1i, m2i=m2i, sd1i=sd1i, sd2i=sd2i, x1i=x1i,
                x2i=x2i, t1i=t1i, t2i=t2i, yi=yi, vi=vi, sei=sei, ci_low=ci_low, ci_high=ci_high)
    n = len(data) if data is not None else None
    # complete 2x2 tables given as events + non-events into events + group size
    if measure in ("OR", "RR", "RD"):
        for ev, non, tot in (("ai", "bi", "n1i"), ("ci", "di", "n2i")):
            if args[tot] is None and args[non] is not None:
                args[tot] = _column(data, args[ev], ev, p, n) + _column(data, args[non], non, p, n)
    needs = _NEEDS.get(measure, ("yi",))
    missing = [a for a in needs if args[a] is None]
    if missing:
        raise ValueError(f"measure {measure} needs {', '.join(missing)}")
    col = {a: (np.asarray(args[a], dtype=float) if isinstance(args[a], np.ndarray)
               else _column(data, args[a], a, p, n)) for a in needs}
    k = len(next(iter(col.values())))
    labels = _labels(data, study, k)
    names = {a: (args[a] if isinstance(args[a], str) else a) for a in needs}
    corrected = np.zeros(k, dtype=bool)
    if measure in ("MD", "SMD"):
        for s in ("sd1i", "sd2i"):
            _flag(p, names[s], col[s] < 0, "is a negative standard deviation; expected >= 0", labels)
        for s in ("n1i", "n2i"):
            _flag(p, names[s], col[s] < (2 if measure == "SMD" else 1), "is a group size below the minimum", labels)
    elif measure in ("OR", "RR", "RD"):
        for ev, tot in (("ai", "n1i"), ("ci", "n2i")):
            _flag(p, names[ev], col[ev] < 0, "is a negative event count", labels)
            _flag(p, names[ev], col[ev] > col[tot], "has more events than patients (events > n)", labels)
            _flag(p, names[tot], col[tot] <= 0, "is a group size <= 0", labels)
    elif measure == "IRR":
        for ev, t in (("x1i", "t1i"), ("x2i", "t2i")):
            _flag(p, names[ev], col[ev] < 0, "is a negative event count", labels)
            _flag(p, names[t], col[t] <= 0, "is a person-time <= 0", labels)
    p.raise_if_any(message=f"escalc({measure!r}): the study data cannot be used as given.")
    notes: list[str] = []
    if measure in ("OR", "RR", "RD"):
        a, c, n1, n2 = col["ai"], col["ci"], col["n1i"], col["n2i"]
        b, d = n1 - a, n2 - c
        zero = (np.minimum.reduce([a, b, c, d]) == 0)
        corrected = _which(zero, to, add)
        if measure == "RD" and to == "only0":
            corrected[:] = False      # metafor: the risk difference needs no correction for a zero cell
        inc = np.where(corrected, add, 0.0)
        a, b, c, d = a + inc, b + inc, c + inc, d + inc
        n1, n2 = a + b, c + d
        if measure == "OR":
            y, v = np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            y, v = np.log((a / n1) / (c / n2)), 1 / a - 1 / n1 + 1 / c - 1 / n2
        else:
            p1, p2 = a / n1, c / n2
            y, v = p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    elif measure == "IRR":
        x1, x2 = col["x1i"], col["x2i"]
        corrected = _which((x1 == 0) | (x2 == 0), to, add)
        inc = np.where(corrected, add, 0.0)
        x1, x2 = x1 + inc, x2 + inc
        y, v = np.log((x1 / col["t1i"]) / (x2 / col["t2i"])), 1 / x1 + 1 / x2
    elif measure == "MD":
        y = col["m1i"] - col["m2i"]
        v = col["sd1i"] ** 2 / col["n1i"] + col["sd2i"] ** 2 / col["n2i"]
    elif measure == "SMD":
        n1, n2 = col["n1i"], col["n2i"]
        sp = np.sqrt(((n1 - 1) * col["sd1i"] ** 2 + (n2 - 1) * col["sd2i"] ** 2) / (n1 + n2 - 2))
        y = _hedges_j(n1 + n2 - 2) * (col["m1i"] - col["m2i"]) / sp
        v = 1 / n1 + 1 / n2 + y ** 2 / (2 * (n1 + n2))
    else:
        y, v = _reported(data, args, p, n, level, labels)
    if corrected.any():
        shown = ", ".join(labels[corrected][:10])
        notes.append(f"continuity correction {add:g} added to every cell of {int(corrected.sum())} "
                     f"stud{'y' if corrected.sum() == 1 else 'ies'} with a zero cell ({shown}).")
    out = pd.DataFrame({"study": labels, "yi": y, "vi": v, "sei": np.sqrt(v), "corrected": corrected})
    out.attrs.update(measure=measure, notes=notes)
    return out


def _reported(data, args, p, n, level, labels):
    y = _column(data, args["yi"], "yi", p, n)
    if args["vi"] is not None:
        v = _column(data, args["vi"], "vi", p, n)
    elif args["sei"] is not None:
        v = _column(data, args["sei"], "sei", p, n) ** 2
    elif args["ci_low"] is not None and args["ci_high"] is not None:
        lo, hi = _column(data, args["ci_low"], "ci_low", p, n), _column(data, args["ci_high"], "ci_high", p, n)
        _flag(p, "ci_low", lo > hi, "is above the upper limit", labels)
        v = ((hi - lo) / (2 * stats.norm.ppf(0.5 + level / 2))) ** 2
    else:
        raise ValueError("measure GEN needs yi with vi, sei or ci_low and ci_high")
    _flag(p, "vi", ~(v > 0), "is a variance or standard error that is not positive", labels)
    p.raise_if_any(message="escalc('GEN'): the reported contrasts cannot be used as given.")
    return y, v


def _which(zero: np.ndarray, to: str, add: float) -> np.ndarray:
    if add == 0 or to == "none":
        return np.zeros_like(zero)
    if to == "all":
        return np.ones_like(zero)
    if to == "if0all":
        return np.full_like(zero, zero.any())
    return zero.copy()


def _labels(data, study, k: int) -> np.ndarray:
    if study is None:
        return np.array([f"study {i + 1}" for i in range(k)], dtype=object)
    values = data[study] if (data is not None and isinstance(study, str)) else pd.Series(np.asarray(study))
    return values.astype(str).to_numpy(dtype=object)


def _flag(p: ProblemCollector, column: str, mask: np.ndarray, message: str, labels: np.ndarray) -> None:
    rows = np.flatnonzero(mask)
    if len(rows):
        names = ", ".join(dict.fromkeys(labels[rows][:5]))
        p.add(column, f"{message} [studies {names}]", rows)


def pairwise(data: pd.DataFrame, *, study: str, treatment: str, measure: str, event: str | None = None,
             n: str | None = None, mean: str | None = None, sd: str | None = None, time: str | None = None,
             incr: float = 0.5, allincr: bool = False) -> pd.DataFrame:
    """All pairwise contrasts of every study from arm-level rows (netmeta's ``pairwise``).

    Parameters
    ----------
    data : DataFrame
        One row per study arm.
    study, treatment : str
        Columns with the study label and the treatment of the arm (combinations as ``"A + B"``).
    measure : {"MD", "SMD", "OR", "RR", "RD", "IRR"}
        ``SMD`` is Cohen's d here (see Notes), as in meta/netmeta.
    event, n, mean, sd, time : str, optional
        Columns with events and arm size (``OR``, ``RR``, ``RD``), means, SDs and size (``MD``, ``SMD``), or
        events and person-time (``IRR``).
    incr : float
        Continuity correction for binary and count data. As netmeta does, it is added to every arm of a study in
        which some arm has a zero cell (so the contrasts of a multi-arm study stay consistent).
    allincr : bool
        Add ``incr`` to every study when any study has a zero cell.

    Returns
    -------
    DataFrame
        One row per pair of arms: ``study, treat1, treat2, TE, seTE, n1, n2`` and the arm variances ``var1, var2``
        (the contrasts of a multi-arm study share an arm: their covariance is the shared arm's variance; network
        models use all of them). Comparisons that cannot be estimated (e.g. every patient in both arms had the
        event) are dropped with a note in ``attrs["notes"]``, as netmeta does.

    Notes
    -----
    ``TE`` is treat1 minus treat2 (log scale for ratio measures), arms paired in the order they appear. The formulas
    are meta's ``pairwise``: for ``SMD`` Cohen's d on the SD pooled over all arms of the study, variance
    ``1/n1 + 1/n2 + d^2/(2 N_study)`` (Crippa and Orsini 2016; Hedges' g is not consistent in multi-arm
    studies); the risk ratio adds the increment to events and arm sizes once; the risk difference uses the
    increment only in its variance. (``escalc`` follows metafor: Hedges' g with metafor's variance.)

    References
    ----------
    Rücker G, Krahn U, König J, Efthimiou O, Schwarzer G. netmeta: Network meta-analysis using frequentist methods.

    Examples
    --------
    >>> import pandas as pd
    >>> arms = pd.DataFrame({"s": ["a", "a", "a"], "t": ["A", "B", "C"], "e": [5, 8, 10], "n": [50, 50, 50]})
    >>> pairwise(arms, study="s", treatment="t", event="e", n="n", measure="OR")[["treat1", "treat2"]].shape
    (3, 2)
    """
    measure = str(measure).upper()
    need = {"MD": (mean, sd, n), "SMD": (mean, sd, n), "OR": (event, n), "RR": (event, n), "RD": (event, n),
            "IRR": (event, time)}
    if measure not in need:
        raise ValueError(f"measure must be one of {', '.join(need)}, not {measure!r}")
    if any(c is None for c in need[measure]):
        cols = "mean, sd, n" if measure in ("MD", "SMD") else ("event, time" if measure == "IRR" else "event, n")
        raise ValueError(f"measure {measure} needs the columns {cols}")
    p = ProblemCollector()
    for c in (study, treatment, *need[measure]):
        if c not in data.columns:
            p.add(c, "is not a column of the data")
    p.raise_if_any(message="pairwise(): columns not found.")
    arms = pd.DataFrame({"study": data[study].astype(str).to_numpy(), "treat": data[treatment].astype(str).str.strip().to_numpy()})
    for c in need[measure]:
        arms[c] = _column(data, c, c, p, None)
    arms["row"] = np.arange(len(arms))
    labels = arms["study"].to_numpy(dtype=object)
    size = arms.groupby("study", sort=False)["treat"].transform("size").to_numpy()
    _flag(p, study, size < 2, "is a study with a single arm (a contrast needs two arms)", labels)
    dup = arms.duplicated(["study", "treat"], keep=False).to_numpy()
    _flag(p, treatment, dup, "repeats a treatment within a study (inconsistent arm data: merge the arms)", labels)
    if measure in ("MD", "SMD"):
        _flag(p, sd, arms[sd].to_numpy() < 0, "is a negative standard deviation", labels)
        _flag(p, n, arms[n].to_numpy() < 1, "is an arm size below 1", labels)
    if measure in ("OR", "RR", "RD"):
        _flag(p, event, arms[event].to_numpy() < 0, "is a negative event count", labels)
        _flag(p, event, arms[event].to_numpy() > arms[n].to_numpy(), "has more events than patients (events > n)", labels)
        _flag(p, n, arms[n].to_numpy() <= 0, "is an arm size <= 0", labels)
    if measure == "IRR":
        _flag(p, event, arms[event].to_numpy() < 0, "is a negative event count", labels)
        _flag(p, time, arms[time].to_numpy() <= 0, "is a person-time <= 0", labels)
    p.raise_if_any(message="pairwise(): the arm data cannot be used as given.")
    notes: list[str] = []
    if measure in ("OR", "RR", "RD", "IRR"):
        e = arms[event].to_numpy()
        zero = (e == 0) | ((e == arms[n].to_numpy()) if measure != "IRR" else False)
        study_zero = pd.Series(zero).groupby(arms["study"].to_numpy(), sort=False).transform("any").to_numpy()
        if allincr and zero.any():
            study_zero[:] = True
        arms["incr"] = np.where(study_zero, incr, 0.0)
        if study_zero.any():
            shown = ", ".join(dict.fromkeys(labels[study_zero]))
            notes.append(f"continuity correction {incr:g} added to every arm of the studies with a zero cell ({shown}).")
    if measure == "SMD":
        by = arms.groupby("study", sort=False)
        ss = (arms[n] - 1) * arms[sd] ** 2
        arms["sd_study"] = np.sqrt(ss.groupby(arms["study"]).transform("sum") / by[n].transform(lambda x: (x - 1).sum()))
        arms["n_study"] = by[n].transform("sum")
    # every pair (i < j) of arms within a study, vectorised by a self-merge on the study label
    pairs = arms.merge(arms, on="study", suffixes=("1", "2"))
    pairs = pairs[pairs["row1"] < pairs["row2"]].sort_values(["row1", "row2"]).reset_index(drop=True)
    te, v1, v2 = _arm_contrast(pairs, measure, event, n, mean, sd, time)
    out = pd.DataFrame({"study": pairs["study"], "treat1": pairs["treat1"], "treat2": pairs["treat2"], "TE": te,
                        "seTE": np.sqrt(v1 + v2), "var1": v1, "var2": v2})
    if n is not None:
        out["n1"], out["n2"] = pairs[f"{n}1"].to_numpy(), pairs[f"{n}2"].to_numpy()
    if measure in ("OR", "RR", "IRR"):
        e1, e2 = pairs[f"{event}1"].to_numpy(), pairs[f"{event}2"].to_numpy()
        out["event1"], out["event2"] = e1, e2
        if measure == "IRR":
            bad = (e1 == 0) & (e2 == 0)
        else:
            n1, n2 = pairs[f"{n}1"].to_numpy(), pairs[f"{n}2"].to_numpy()
            bad = ((e1 == 0) & (e2 == 0)) | ((e1 == n1) & (e2 == n2))
        if bad.any():
            shown = ", ".join(dict.fromkeys(out.loc[bad, "study"]))
            notes.append(f"{int(bad.sum())} comparison(s) dropped: the {MEASURES[measure]} cannot be estimated when "
                         f"both arms have no events or both have only events ({shown}).")
            out = out[~bad].reset_index(drop=True)
    out.attrs.update(measure=measure, notes=notes)
    return out


def _arm_contrast(pairs: pd.DataFrame, measure: str, event, n, mean, sd, time):
    """Contrast treat1 - treat2 and each arm's variance contribution."""
    if measure in ("MD", "SMD"):
        m1, m2 = pairs[f"{mean}1"].to_numpy(), pairs[f"{mean}2"].to_numpy()
        s1, s2 = pairs[f"{sd}1"].to_numpy(), pairs[f"{sd}2"].to_numpy()
        n1, n2 = pairs[f"{n}1"].to_numpy(), pairs[f"{n}2"].to_numpy()
        if measure == "MD":
            return m1 - m2, s1 ** 2 / n1, s2 ** 2 / n2
        # meta's pairwise (Crippa and Orsini 2016, eqs 4-5): Cohen's d on the SD pooled over all arms of the study,
        # variance 1/n1 + 1/n2 + d^2 / (2 N_study): consistent across the contrasts of a multi-arm study
        d = (m1 - m2) / pairs["sd_study1"].to_numpy()
        term = d ** 2 / (2 * pairs["n_study1"].to_numpy())
        return d, 1 / n1 + term / 2, 1 / n2 + term / 2
    i1, i2 = pairs["incr1"].to_numpy(), pairs["incr2"].to_numpy()
    e1, e2 = pairs[f"{event}1"].to_numpy() + i1, pairs[f"{event}2"].to_numpy() + i2
    if measure == "IRR":
        t1, t2 = pairs[f"{time}1"].to_numpy(), pairs[f"{time}2"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log((e1 / t1) / (e2 / t2)), 1 / e1, 1 / e2
    n1, n2 = pairs[f"{n}1"].to_numpy(), pairs[f"{n}2"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            m1, m2 = n1 + 2 * i1, n2 + 2 * i2
            return (np.log(e1 / (m1 - e1)) - np.log(e2 / (m2 - e2)), 1 / e1 + 1 / (m1 - e1), 1 / e2 + 1 / (m2 - e2))
        if measure == "RR":
            # meta's default (RR.Cochrane = FALSE): the increment is added to the events and once to the arm size
            m1, m2 = n1 + i1, n2 + i2
            return np.log(e1 / m1) - np.log(e2 / m2), 1 / e1 - 1 / m1, 1 / e2 - 1 / m2
        # risk difference: no increment in the estimate, only in its variance (meta)
        r1, r2 = pairs[f"{event}1"].to_numpy(), pairs[f"{event}2"].to_numpy()
        return (r1 / n1 - r2 / n2, e1 * (n1 - r1 + i1) / (n1 + 2 * i1) ** 3,
                e2 * (n2 - r2 + i2) / (n2 + 2 * i2) ** 3)

