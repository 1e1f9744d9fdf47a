"""The loader tells what it decided: columns kept as covariates, columns that look like outcomes or like a
missing required role, covariates measured after randomisation.

Suggestions come from names *and* values: a column is proposed for a role only when its values fit it
(an arm column has few distinct labels; a visit column few numeric values, 0 or more; an event flag only 0
and 1; a time to recovery non-negative numbers, one per subject). Values are never shown: a column may hold
identifiers.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..instruments import COVARIATE_RANGES, REGISTRY, Instrument
from ..trial import KEY_COLUMNS, Decision
from .cells import clean_name, text_hints

__all__ = ["decide", "role_suggestions", "shown_labels"]

#: words in column names that point to a registered outcome (beyond the outcome's own name and label)
_OUTCOME_WORDS = {
    "recovery_time": {"recovery", "recover", "recovered", "weeks", "time", "tte", "days", "duration"},
    "recovered": {"recovered", "recovery", "event", "status", "censor", "censored", "cnsr", "flag"},
    "pain": {"nrs", "vas", "pain"}, "odi": {"oswestry", "odi"}, "rmdq": {"roland", "rmdq", "rmq"},
    "adverse_events": {"ae", "aes", "adverse", "events"}, "sessions_attended": {"attended", "sessions"},
    "sessions_planned": {"planned", "sessions"}, "phq9": {"phq", "phq9", "depression"},
}
#: words too common to point to one outcome by themselves (from the registry's labels)
_IGNORED_WORDS = {"time", "weeks", "days", "duration", "flag", "status", "events", "sessions", "with", "use", "to",
                  "index", "range", "motion", "protein", "c", "reactive", "rating", "scale", "numeric", "in", "s",
                  "5d", "eq", "28", "9", "observed", "physiotherapy"}
_KNOWN_COVARIATES = set(COVARIATE_RANGES) | {"sex", "site", "gender", "center", "centre"}


def _words(name: str) -> set[str]:
    name = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return {w for w in re.split(r"[^a-z0-9]+", name.lower()) if w}


def _fits(values: pd.Series, inst: Instrument, constant: bool) -> bool:
    """Do the values fit the instrument: numbers in range, whole when it counts, 0/1 for an event flag."""
    x = pd.to_numeric(values, errors="coerce")
    present = values.notna()
    if not present.any() or (x.isna() & present).any():
        return False
    x = x[present].to_numpy(dtype=float)
    if inst.low is not None and (x < inst.low).any() or inst.high is not None and (x > inst.high).any():
        return False
    if inst.integer and (x != np.round(x)).any():
        return False
    if inst.kind == "event" and not np.isin(x, (0.0, 1.0)).all():
        return False
    return constant if inst.level == "subject" else True


def _cues() -> dict[str, set[str]]:
    return {name: (_OUTCOME_WORDS.get(name, set()) | _words(name) | _words(inst.label)) - {"of", "the", "and", "last"}
            for name, inst in REGISTRY.items()}


_CUES = _cues()
_ALL_CUES = set().union(*_CUES.values())


def _outcome_suggestion(col: str, values: pd.Series, constant: bool, taken: set[str]) -> str | None:
    words = _words(col)
    if not words & _ALL_CUES:  # most columns: no word of any registered outcome, nothing to check
        return None
    best = None
    for name, inst in REGISTRY.items():
        if name in taken:
            continue
        cues = _CUES[name]
        strong = (words & cues) - _IGNORED_WORDS
        if not strong and inst.kind != "event":
            continue
        if inst.kind == "event" and not (words & cues):
            continue
        if _fits(values, inst, constant):
            score = len(words & cues) + difflib.SequenceMatcher(None, col.lower(), name).ratio()
            if best is None or score > best[0]:
                best = (score, name)
    return None if best is None else best[1]


def decide(data: pd.DataFrame, instruments: Mapping[str, Instrument], mapped: Iterable[str],
           subject_codes: np.ndarray | None = None, text_cells: Mapping | None = None) -> list[Decision]:
    """Decisions about the validated canonical frame ``data`` (sorted by subject and visit); ``subject_codes``,
    when the caller has them, number its subjects (equal codes, equal subjects). ``text_cells`` maps text columns to
    ``(codes, values)`` with the column equal to ``values[codes]``: they are compared through their codes (a Python
    object per cell costs tens of milliseconds per column at a million rows)."""
    mapped = set(mapped)
    covariates = [c for c in data.columns if c not in KEY_COLUMNS and c not in instruments]
    out: list[Decision] = []
    if not covariates:
        return out
    unexplained = [c for c in covariates if c not in mapped and c not in _KNOWN_COVARIATES]
    if unexplained:
        shown = ", ".join(f"'{clean_name(c)}'" for c in unexplained[:20])
        more = f" and {len(unexplained) - 20} more" if len(unexplained) > 20 else ""
        out.append(Decision("covariate", None, f"kept as covariates (neither mapped with columns= nor registered "
                                                f"outcomes): {shown}{more}"))
    # within-subject change, for every covariate at once: the frame is sorted by subject, so a change is a
    # row whose value differs from the row before it of the same subject (missing cells never count)
    block = data[covariates]
    subject = data["subject"]
    codes = subject_codes if subject_codes is not None else np.asarray(pd.factorize(subject)[0])
    same = codes[1:] == codes[:-1]
    changes = np.zeros(len(covariates), dtype=bool)
    if len(block) <= 5000:  # a few rows (a wide file): one comparison of every cell at once
        filled = block.notna().to_numpy()
        if len(block) > 1:
            cur, prev = block.iloc[1:].to_numpy(dtype=object), block.iloc[:-1].to_numpy(dtype=object)
            changes = (same[:, None] & filled[1:] & filled[:-1] & (cur != prev)).any(axis=0)
    else:
        # column by column: numbers compare as numbers, other cells as objects (a frame-wide object array of every
        # cell would cost a Python object per cell)
        filled = np.empty((len(block), len(covariates)), dtype=bool, order="F")
        for j in range(len(covariates)):
            col = block.iloc[:, j]
            if pd.api.types.is_float_dtype(col.dtype):
                values = col.to_numpy(dtype=float)
                filled[:, j] = ~np.isnan(values)
            elif text_cells and covariates[j] in text_cells:
                codes_j, distinct = text_cells[covariates[j]]
                # equal texts get equal ids (a text written twice among the distinct values too); a missing cell
                # is not filled, so its id never counts
                ids = np.asarray(pd.factorize(pd.Series(distinct, dtype=object))[0])
                values = ids[codes_j]
                filled[:, j] = (~pd.isna(distinct))[codes_j]
            else:
                values = col.to_numpy(dtype=object)
                filled[:, j] = col.notna().to_numpy()
            changes[j] = bool((same & filled[1:, j] & filled[:-1, j] & (values[1:] != values[:-1])).any())
    baseline = (data["visit"].to_numpy(dtype=float) == 0.0)
    only_later = filled.any(axis=0) & ~filled[baseline].any(axis=0) if baseline.any() else \
        np.zeros(len(covariates), dtype=bool)
    for j, c in enumerate(covariates):
        name = clean_name(c)
        if changes[j]:
            out.append(Decision("post_baseline", name, f"covariate '{name}' changes between visits of a subject: it "
                                "is measured after randomisation, so it is not a baseline characteristic"))
        elif only_later[j]:
            out.append(Decision("post_baseline", name, f"covariate '{name}' is recorded only after baseline (no value "
                                "at visit 0): it is not a baseline characteristic"))
    out += _numbers_kept_as_text(data, covariates, text_cells)
    taken = set(instruments)
    index = {c: j for j, c in enumerate(covariates)}
    for c in unexplained:
        target = _outcome_suggestion(str(c), data[c], not changes[index[c]], taken)
        if target:
            name = clean_name(c)
            out.append(Decision("suggestion", name, f"column '{name}' looks like the registered outcome '{target}' "
                                f"({REGISTRY[target].label}): if it is, map it with columns={{'{target}': '{name}'}}; "
                                "as loaded it is a covariate, measured after randomisation, and must not be shown as "
                                "a baseline characteristic"))
    return out


def _numbers_kept_as_text(data: pd.DataFrame, covariates: list, text_cells: Mapping | None) -> list[Decision]:
    """Text covariates whose values are mostly numbers: a few cells that are not ('-', '#N/A', 'see notes') turned
    the whole column into text, so a model would treat it as a factor with a level per value. Loading goes on
    (text covariates with a few numeric-looking levels are legitimate), but not without a word: the decision says
    how many cells, and how to declare them as missing. Each column is looked at over its distinct values."""
    out = []
    for c in covariates:
        col = data[c]
        if col.dtype != object:
            continue
        if text_cells and c in text_cells:
            codes, values = text_cells[c]
            distinct = pd.Series(values[:-1], dtype=object)  # the last value is the missing cells' (code -1)
        else:
            codes, uniques = pd.factorize(col)
            distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
        # distinct values first (few): most text covariates (sex, site) hold no number at all, and are done here
        filled = distinct.notna().to_numpy()
        number = pd.to_numeric(distinct.astype("string").str.strip(), errors="coerce").notna().to_numpy()
        if not (number & filled).any() or not (~number & filled).any():
            continue
        counts = np.bincount(codes[codes >= 0], minlength=len(distinct))  # cells per distinct value
        present = filled & (counts > 0)
        numeric, other = number & present, ~number & present
        if not other.any() or counts[numeric].sum() <= counts[other].sum():
            continue  # text, or as much text as numbers: a text covariate
        name = clean_name(c)
        texts = distinct[other].astype(str).str.strip().tolist()
        hint = text_hints(name, texts)
        out.append(Decision("suggestion", name, f"covariate '{name}' is kept as text (a factor with one level per "
                            f"value), not as numbers: {int(counts[other].sum())} of its "
                            f"{int(counts[present].sum())} filled cells are not numbers"
                            + (hint or "; correct them, or declare them as missing with missing=")))
    return out


# --- a missing required column: suggestions from names and values ---------------------------------------

def _visit_numbers(present: pd.Series) -> pd.Series:
    text = present.astype(str).str.strip()
    weeks = text.str.extract(r"(?i)^(?:w|wk|week|visit|v)\s*[-_ ]?\s*(\d+(?:\.\d+)?)$", expand=False)
    return pd.to_numeric(text, errors="coerce").fillna(pd.to_numeric(weeks, errors="coerce"))


def _role_fit(role: str, col: pd.Series, n_rows: int) -> tuple[bool, str | None]:
    """(values contradict the role, description when they positively fit it); never shows a value."""
    present = col.dropna()
    if present.empty:
        return True, None
    try:
        k = int(present.nunique())
    except TypeError:  # unhashable cells are reported elsewhere
        return True, None
    if role == "arm":
        num = pd.to_numeric(present, errors="coerce")
        fractional = bool(num.notna().all() and (num != np.round(num)).any())
        contradicts = k > 8 or fractional
        return contradicts, (f"{k} distinct labels" if not contradicts and 2 <= k < n_rows else None)
    if role == "visit":
        num = _visit_numbers(present)
        contradicts = num.notna().mean() < 0.9 or bool((num.dropna() < 0).any())
        return contradicts, (f"{k} distinct visit values" if not contradicts and 2 <= k <= 30 and k < n_rows else None)
    if role == "subject":
        fits = max(2, n_rows // 30) <= k < n_rows
        return False, (f"{k} distinct ids, each on about {n_rows / k:.1f} rows" if fits else None)
    return False, None


def role_suggestions(role: str, frame: pd.DataFrame, synonyms: Iterable[str]) -> str:
    """'; did you mean ...' for a missing required column: columns whose name is close and whose values do not
    contradict the role, else columns whose values fit it (described by their shape, never by a value)."""
    names = [str(c) for c in frame.columns if str(c) not in (*KEY_COLUMNS, "\x00row")]
    lowered = {c.lower(): c for c in names}
    by_name = difflib.get_close_matches(role, names, n=5, cutoff=0.6)
    by_name += [lowered[w] for w in difflib.get_close_matches(role, list(lowered), n=5, cutoff=0.6)]
    by_name += [c for c in names if c.strip().lower() in set(synonyms)]
    by_name += [c for c in names if role in _words(c)]
    by_name = list(dict.fromkeys(by_name))
    named = [c for c in by_name if not _role_fit(role, frame[c], len(frame))[0]][:3]
    if named:
        return "; did you mean " + ", ".join(f"'{clean_name(c)}'" for c in named) + "?"
    fitting = []
    for c in names:
        fit = _role_fit(role, frame[c], len(frame))[1]
        if fit:
            fitting.append(f"'{clean_name(c)}' ({fit})")
        if len(fitting) == 3:
            break
    return ("; did you mean " + ", ".join(fitting) + "?") if fitting else ""


# --- labels that may be identifiers are never echoed ----------------------------------------------------

_VOCAB = {"care", "usual", "group", "arm", "control", "therapy", "physio", "physiotherapy", "acupuncture", "combined",
          "treatment", "placebo", "sham", "standard", "exercise", "active", "drug", "waitlist", "wait", "list",
          "week", "visit", "baseline", "screening", "follow", "up", "day", "month", "end", "study", "both", "none"}


def _looks_identifying(label: str) -> bool:
    s = str(label)
    if "@" in s or re.search(r"\d{3,}", s) or len(s) > 40:
        return True
    words = re.findall(r"[A-Za-z]+", s)
    caps = [w for w in words if w[0].isupper() and len(w) > 1 and w.lower() not in _VOCAB]
    from ..privacy.labels import label_names_a_person  # a lexicon name, a date, a phone-like number
    return len(caps) >= 2 or label_names_a_person(s)  # 'John Smith': two capitalised words outside the vocabulary


def shown_labels(labels: list, what: str) -> str:
    """Labels for a message: listed when none looks like an identifier, else only counted."""
    labels = [clean_name(x) for x in labels]
    if any(_looks_identifying(x) for x in labels):
        return f"{len(labels)} unknown {what} (not shown: they look like identifiers)"
    return f"unknown {what} {labels}"
