"""Column mappings and layouts: whatever the export looked like, a long frame comes out.

Every row keeps its position in the source (0-based data row) in the column ``ROW``, so that problems
found later can name the rows of the file the user has in front of them. ``ROW`` starts with a NUL
character, which no accepted header may contain, so it cannot collide with a user's column.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import ProblemCollector
from ..validate_arrays import take_values
from .cells import clean_name
from .decisions import role_suggestions, shown_labels
from .readers import MISSING_TOKENS

__all__ = ["apply_columns", "detect_layout", "wide_to_long", "parse_visits", "add_baseline_rows", "ROW"]

ROW = "\x00row"
REQUIRED = ("subject", "arm")
_WIDE = re.compile(r"^(?P<outcome>.+?)_(?:w|week)(?P<week>\d+(?:\.\d+)?)$", re.IGNORECASE)
#: 'Week 12', 'W12', 'wk-4' and, with the unit after the number, '12 weeks', '4wk' (one group: the number)
_WEEK_LABEL = re.compile(r"^\s*(?:(?:w|wk|week)\s*[-_ ]?\s*(?=\d)|(?=[\d.]+\s*[-_ ]?\s*(?:w|wks?|weeks?)\s*$))"
                         r"(\d+(?:\.\d+)?)(?:\s*[-_ ]?\s*(?:w|wks?|weeks?))?\s*$", re.IGNORECASE)
#: 'Week -2', 'wk −4': a minus sign after a space is a negative week, not a separator
_NEGATIVE_WEEK = re.compile(r"^\s*(?:w|wk|week)\s+[-\u2212]\s*\d", re.IGNORECASE)
_BASELINE_LABEL = re.compile(r"^\s*(?:baseline|screening|bl|base)\s*$", re.IGNORECASE)
BASELINE_SUFFIX = "_baseline"


#: what exports call the canonical columns (CDISC, REDCap, R/Stata habits), for "did you mean" hints
SYNONYMS = {
    "subject": ("id", "pid", "patid", "patient", "patient_id", "usubjid", "subjid", "subject_id", "participant",
                "participant_id", "record_id", "case", "study_id"),
    "arm": ("group", "grp", "treatment", "trt", "trt01p", "trt01a", "armcd", "actarm", "actarmcd", "allocation",
            "randomisation", "randomization", "condition", "intervention"),
    "visit": ("week", "wk", "time", "timepoint", "avisit", "avisitn", "visitn", "visitnum", "visit_week",
              "weeks", "occasion", "follow_up"),
}


def close_matches(name: str, candidates) -> str:
    candidates = [str(c) for c in candidates]
    hits = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    if not hits:
        lowered = {c.lower(): c for c in candidates}
        hits = [lowered[name.lower()]] if name.lower() in lowered else []
    if not hits:
        hits = [c for c in candidates if c.strip().lower() in SYNONYMS.get(name, ())][:3]
    return f"; did you mean {', '.join(repr(h) for h in hits)}?" if hits else ""


def apply_columns(frame: pd.DataFrame, columns: Mapping[str, str] | None, problems: ProblemCollector) -> pd.DataFrame:
    """Rename source columns to canonical names (``columns`` maps canonical -> source)."""
    frame = frame.copy(deep=False)
    frame.columns = [str(c).lstrip("\ufeff").strip() for c in frame.columns]
    nul = [i + 1 for i, c in enumerate(frame.columns) if "\x00" in c]
    if nul:
        problems.add(None, f"the header of column(s) {nul[:10]} (1 = first) holds a NUL character: rename them")
    counts = pd.Series(frame.columns).value_counts(sort=False)
    for name, k in counts[counts > 1].items():
        problems.add(clean_name(name), f"the header names {k} columns '{clean_name(name)}': each column needs a "
                     "unique name; rename or drop the copies")
    if (counts > 1).any():
        frame = frame.loc[:, ~frame.columns.duplicated()]
    if not columns:
        return frame
    rename: dict[str, str] = {}
    roles: dict[str, list[str]] = {}
    # sources are trimmed as the headers are: {'pain': 'Pain '} copied from the file's header row names 'Pain'
    columns = {canonical: str(src).lstrip("\ufeff").strip() for canonical, src in columns.items()}
    for canonical, src in columns.items():
        roles.setdefault(src, []).append(str(canonical))
    for src, canon in roles.items():
        if len(canon) > 1:
            problems.add(clean_name(src), f"columns= maps one column to {len(canon)} names {canon}: a column has one "
                         "role; map each name to its own column", arguments=("columns",))
    for canonical, src in columns.items():
        src = str(src)
        if src not in frame.columns:
            problems.add(clean_name(src), f"mapped to '{clean_name(canonical)}' in columns= but there is no such "
                         "column" + close_matches(src, frame.columns), arguments=("columns",))
            continue
        if len(roles[src]) > 1:
            continue
        rename[src] = str(canonical)
    clash = [c for c in rename.values() if c in frame.columns and c not in rename]
    for c in clash:
        problems.add(c, f"columns= maps another column to '{c}', but the file already has a column '{c}'; "
                     f"map or rename one of them", arguments=("columns",))
    return frame.rename(columns=rename)


def wide_columns(columns, visits: Mapping | None = None) -> dict[str, tuple[str, float]]:
    """Wide outcome columns -> (outcome, week): ``pain_w12``, ``pain_week12``, ``pain_Week 12`` and, with
    ``visits=``, ``<outcome>_<label>`` for a mapped label (``PAIN_VIS1`` with ``visits={"VIS1": 4}``).

    The label is the text after the last separator ('_' or a space) that makes a known label, so
    ``analgesic_days_VIS1`` is outcome ``analgesic_days``; a bare number (``pain_12``) counts only when
    ``visits=`` maps it.
    """
    lookup = {_key(k): float(v) for k, v in (visits or {}).items()}
    out: dict[str, tuple[str, float]] = {}
    for c in map(str, columns):  # a loop over column names, not rows
        m = _WIDE.match(c)
        if m:
            out[c] = (m["outcome"], float(m["week"]))
            continue
        cuts = [i for i, ch in enumerate(c) if ch in "_ "][::-1]
        for i in cuts:
            outcome, label = c[:i].rstrip("_ "), c[i + 1:]
            if not outcome or not label:
                continue
            week = _WEEK_LABEL.match(label)
            if _key(label) in lookup:
                out[c] = (outcome, lookup[_key(label)])
                break
            if week:
                out[c] = (outcome, float(week.group(1)))
                break
    # 'pain_bl', 'pain_screening': the baseline labels a long file's visit column understands, as the week-0
    # column of an outcome that has other wide columns ('pain_w4'); otherwise such a column (age_bl) stays a
    # covariate. 'pain_baseline' is left to the loader's per-outcome baseline columns, as before.
    outcomes = {o for o, _ in out.values()}
    for c in map(str, columns):
        outcome, _, label = c.rpartition("_")
        if c not in out and outcome in outcomes and _BASELINE_LABEL.match(label) and label.lower() != "baseline":
            out[c] = (outcome, 0.0)
    return out


#: '<stem><separator><number>' names ('pain.0', 'painV1', 'pain_t2'): a wide layout in a spelling not understood
_WIDE_LIKE = re.compile(r"^(?P<stem>.*?[A-Za-z])[._ -]?(?:v|visit|t|time|m|month|fu)?[._ -]?(?P<n>\d+)$", re.IGNORECASE)


def wide_hint(columns) -> str:
    """'; columns such as ... look like ...' when several columns share a stem and differ by a number: how to map
    them to a wide layout that is understood (columns=). '' otherwise. Names only, never values."""
    stems: dict[str, list[str]] = {}
    for c in map(str, columns):
        m = _WIDE_LIKE.match(c)
        if m:
            stems.setdefault(m["stem"], []).append(c)
    groups = [cols for cols in stems.values() if len(cols) > 1]
    if not groups:
        return ""
    cols = max(groups, key=len)
    stem = _WIDE_LIKE.match(cols[0])["stem"].rstrip("._ -")  # type: ignore[index]
    return (f"; columns such as {[clean_name(c) for c in cols[:3]]} look like one outcome at several visits: map "
            f"each to <outcome>_w<week>, e.g. columns={{'{clean_name(stem)}_w<week>': '{clean_name(cols[0])}', ...}}")


def detect_layout(frame: pd.DataFrame, layout: str, problems: ProblemCollector, visits: Mapping | None = None) -> str:
    if layout not in ("auto", "long", "wide"):
        raise ValueError(f"layout must be 'auto', 'long' or 'wide', not {layout!r}")
    wide_cols = list(wide_columns(frame.columns, visits))
    if layout == "auto":
        if "visit" in frame.columns:
            return "long"
        if wide_cols:
            return "wide"
        problems.add("visit", "missing: cannot tell the layout. A long file needs a visit column "
                     "(map it with columns={'visit': '<your column>'}); a wide file needs outcome columns "
                     "named <outcome>_w<week>, such as pain_w0, pain_w12, or <outcome>_<label> with the labels "
                     "mapped to weeks by visits=, such as visits={'VIS1': 4}" + (wide_hint(frame.columns) or
                     role_suggestions("visit", frame, SYNONYMS["visit"])), arguments=("columns", "visits"))
        return "unknown"
    if layout == "wide" and not wide_cols:
        problems.add(None, "layout='wide' but no column is named <outcome>_w<week> (such as pain_w0, pain_w12); "
                     "map your columns to such names with columns=", arguments=("columns",))
    if layout == "long" and "visit" not in frame.columns:
        problems.add("visit", "missing: a long layout needs a visit column; map it with columns={'visit': ...}"
                     + role_suggestions("visit", frame, SYNONYMS["visit"]), arguments=("columns",))
    return layout


def wide_to_long(frame: pd.DataFrame, visits: Mapping | None = None,
                 problems: ProblemCollector | None = None) -> pd.DataFrame:
    """One row per subject -> one row per subject and visit (vectorised melt per outcome)."""
    wide = wide_columns([c for c in frame.columns if c != ROW], visits)
    by_key: dict[tuple[str, float], list[str]] = {}
    for c, key in wide.items():
        by_key.setdefault(key, []).append(c)
    for (outcome, week), cols in by_key.items():
        if len(cols) > 1:  # two columns for one outcome and week: a problem, and only the first is reshaped
            if problems is not None:
                problems.add(None, f"columns {cols} all hold '{outcome}' at week {week:g}: keep one, or map them "
                             "to different weeks with visits=", arguments=("visits",))
            wide = {c: k for c, k in wide.items() if c not in cols[1:]}
    keep = [c for c in frame.columns if c not in wide]
    pieces = []
    for outcome in dict.fromkeys(o for o, _ in wide.values()):
        cols = [c for c, (o, _) in wide.items() if o == outcome]
        part = frame[[ROW] + cols].melt(id_vars=ROW, var_name="visit", value_name=outcome)
        part["visit"] = part["visit"].map({c: wide[c][1] for c in cols}).astype(float)
        pieces.append(part.set_index([ROW, "visit"])[outcome])
    values = pd.concat(pieces, axis=1).reset_index()
    long = values.merge(frame[keep], on=ROW, how="left")
    return long.sort_values([ROW, "visit"], kind="stable").reset_index(drop=True)


def _is_missing(values: pd.Series) -> np.ndarray:
    text = values.astype("string").str.strip()
    return (values.isna() | text.isin(MISSING_TOKENS)).to_numpy(dtype=bool)


def _whole_weeks(u: np.ndarray) -> bool:
    """Are these floats whole numbers of weeks, 0 or more (not -0.0), below 10^15? Then each one's text ('12.0')
    reads back as itself, as numbers, never as a label, missing or negative: parsing returns the column as it is."""
    with np.errstate(invalid="ignore"):
        return bool(((u >= 0) & (u < 1e15) & (u == np.floor(u)) & ~np.signbit(u)).all())


def parse_visits(frame: pd.DataFrame, visits: Mapping | None, problems: ProblemCollector) -> pd.Series:
    """Visit column -> float weeks: numbers as they are, labels through ``visits=`` or 'Week 12'/'baseline'.

    Each distinct label is parsed once and the result mapped back to the rows through its codes.
    """
    raw = frame["visit"]
    # a float column (Parquet, a DataFrame): its distinct values without numbering every row; the rows' codes are
    # computed only if some distinct value needs rows named (a problem) or changes on the way
    plain = raw.dtype == np.dtype(np.float64)
    if plain:
        values = raw.to_numpy()
        nan = np.isnan(values)
        uniques = pd.unique(values[~nan] if nan.any() else values)  # pd.factorize's uniques, in the same order
        codes = None
        if not visits and not nan.any() and len(uniques) and _whole_weeks(uniques):
            return pd.Series(values, index=frame.index, dtype=float, copy=False)  # weeks as numbers already
    else:
        factorized, uniques = pd.factorize(raw)
        codes = np.asarray(factorized)
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    if not isinstance(raw.dtype, pd.CategoricalDtype) and raw.dtype != object and len(distinct):
        distinct = pd.Series(distinct.tolist(), dtype=raw.dtype)  # the column's own type, as a row would have
    n = len(distinct)

    def row_codes() -> np.ndarray:
        nonlocal codes
        if codes is None:
            codes = np.asarray(pd.factorize(raw)[0])
        return codes

    def rows(mask_u: np.ndarray, missing_too: bool = False) -> np.ndarray:
        if plain and not np.asarray(mask_u).any():  # no distinct value flagged: only missing rows can be
            return nan.copy() if missing_too else np.zeros(len(values), dtype=bool)
        flags = np.append(mask_u, missing_too)
        if not flags.any():  # nothing flagged: no pass over the rows' codes
            return np.zeros(len(raw), dtype=bool)
        return flags[row_codes()]

    missing_u = _is_missing(distinct) if n else np.zeros(0, dtype=bool)
    missing = rows(missing_u, True)
    if missing.any():
        problems.add("visit", "missing visit: every row needs a visit (weeks since randomisation, 0 = baseline)",
                     frame.loc[missing, ROW], int(missing.sum()))
    text = distinct.astype("string").str.strip()
    out = pd.Series(np.nan, index=distinct.index, dtype=float)
    if visits:
        lookup = {_key(k): float(v) for k, v in visits.items()}
        labels = {s: lookup.get(_key(s), np.nan) for s in pd.unique(text.dropna())}  # once per distinct label
        mapped = text.astype(object).map(labels).astype(float)
        out = mapped
    numeric = pd.to_numeric(text.where(~pd.Series(missing_u, index=distinct.index)), errors="coerce").astype(float)
    out = out.fillna(numeric)
    week = text.str.extract(_WEEK_LABEL, expand=False)
    negative_u = text.str.match(_NEGATIVE_WEEK).fillna(False).astype(bool).to_numpy()
    week = week.mask(negative_u)
    out = out.fillna(pd.to_numeric(week, errors="coerce").astype(float))
    negative = rows(negative_u)
    if negative.any():
        problems.add("visit", "labels such as 'Week -2' are negative visit times: expected weeks since "
                     "randomisation, 0 or more (map screening visits to 0 with visits= if they are the baseline)",
                     frame.loc[negative, ROW], int(negative.sum()), arguments=("visits",))
    out = out.mask(text.str.match(_BASELINE_LABEL).fillna(False).astype(bool) & out.isna(), 0.0)
    bad_u = out.isna().to_numpy() & ~missing_u & ~negative_u
    bad = rows(bad_u)
    if bad.any():
        labels = sorted(text[bad_u].unique().tolist())[:10]
        known = f"; visits= maps {sorted(map(str, visits))}" if visits else ""
        problems.add("visit", f"{shown_labels(labels, 'visit labels')} are not weeks: expected numbers (weeks since randomisation, "
                     f"0 = baseline) or labels mapped with visits={{label: week}}{known}",
                     frame.loc[bad, ROW], int(bad.sum()), arguments=("visits",))
    week_u = out.to_numpy(dtype=float)
    inf_u = np.isinf(week_u)
    inf = rows(inf_u)
    if inf.any():
        problems.add("visit", "infinite visit times: expected weeks since randomisation, a finite number",
                     frame.loc[inf, ROW], int(inf.sum()))
        week_u = np.where(inf_u, np.nan, week_u)
    neg = rows(week_u < 0)
    if neg.any():
        problems.add("visit", "negative visit times: expected weeks since randomisation, 0 or more",
                     frame.loc[neg, ROW], int(neg.sum()))
    if plain and len(week_u) == len(uniques) and np.array_equal(week_u.view(np.int64), uniques.view(np.int64)):
        return pd.Series(values, index=frame.index, dtype=float, copy=False)  # every value reads as itself
    return pd.Series(take_values(week_u, row_codes()), index=frame.index, dtype=float, copy=False)


def _key(label) -> str:
    """Visit and arm labels compare as text, with 1, 1.0 and '1' the same label."""
    s = str(label).strip()
    try:
        f = float(s)
        if f.is_integer():
            return str(int(f))
    except ValueError:
        pass
    return s


def add_baseline_rows(frame: pd.DataFrame, baseline_cols: dict[str, str], subject_cols: list[str],
                      problems: ProblemCollector) -> pd.DataFrame:
    """Turn per-outcome baseline columns (``pain_baseline``, ADaM's BASE) into visit-0 rows.

    A subject that already has a visit-0 row keeps it; its baseline cell fills a missing value
    there, and a different value is a problem (two baselines disagree).
    """
    if not baseline_cols:
        return frame
    first = frame.drop_duplicates("subject")
    base = first[["subject", ROW] + subject_cols].copy()
    base["visit"] = 0.0
    for outcome, col in baseline_cols.items():
        base[outcome] = first[col].to_numpy()
    has0 = frame.loc[frame["visit"] == 0.0, "subject"]
    new = base.loc[~base["subject"].isin(has0)]
    out = pd.concat([frame, new], ignore_index=True, sort=False)
    at0 = out["visit"] == 0.0
    for outcome, col in baseline_cols.items():
        per_subject = first.set_index("subject")[col]
        b = out.loc[at0, "subject"].map(per_subject)
        if outcome in out.columns:
            cur = out.loc[at0, outcome]
            clash = cur.notna() & b.notna() & (cur.astype("string") != b.astype("string"))
            if clash.any():
                problems.add(col, f"baseline column disagrees with the visit-0 value of '{outcome}'",
                             out.loc[clash[clash].index, ROW], int(clash.sum()))
            out.loc[at0, outcome] = cur.where(cur.notna() & (cur.astype("string") != ""), b)
        else:
            out.loc[at0, outcome] = b
    return out.drop(columns=list(baseline_cols.values()))
