"""Person names in values: a lexicon of common given names and surnames plus a shape heuristic.

The lexicon (``data/person_names.csv``: name, type ``first``/``last``, locale) holds about 750 given names
and 600 surnames common in English-, Spanish-, French-, German-, Italian-, Portuguese-, Dutch-, Nordic-,
Polish-, Russian-, Turkish-, Arabic-, Indian-, Chinese-, Japanese-, Korean-, Vietnamese- and West/East-African-
speaking countries, ASCII-folded and lower-case, compiled for this package. Given names that are also common
English words or month and place names (``May``, ``Will``, ``Grace``, ``Jan``, ``Virginia``) are left out, so
that ``"Will call"`` or ``"Jan 2024"`` is not a name.

Two rules, both on the distinct values of a text column, vectorised over their words:

- *a name value* (a short cell, 2 to 4 words): a capitalised given name beside another capitalised word that is
  not a common word (``"John Smith"``, ``"John Smith 0"``, ``"SMITH, JOHN"``), or an initial beside a
  surname (``"J. Smith"``);
- *a name in free text* (a longer cell): a capitalised given name anywhere (``"Mary's husband Bob called"``), or
  a title before a capitalised word (``"Dr Jones"``, ``"Mme Dubois"``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from .patterns import _SMALL, contains

__all__ = ["name_values", "names_in_text", "is_name_header", "lexicon"]

#: at most this many distinct values of one column go through the word-level rules (evenly spaced beyond)
MAX_VALUES = 20_000

# capitalised words that follow a given name in things that are not people ("Patrick test", "Alexander technique")
_NOT_SURNAMES = frozenset("""test tests technique method scale score index sign syndrome disease palsy procedure
maneuver manoeuvre questionnaire criteria classification approach protocol therapy hospital clinic centre center
street road avenue lane university college school institute foundation trust house group arm site study trial only
plus and or the of care ward unit program programme exercise exercises model type level grade stage phase week
weeks day days month months year years visit baseline follow up control combined physio acupuncture yes no none
other unknown missing male female left right both mild moderate severe pain wort surgery treatment voice repair
reconstruction release fracture operation graft""".split())
# a given name after these is a place or a saint ("Saint Louis", "San Diego", "Mount Pleasant")
_PLACE_BEFORE = frozenset({"st", "saint", "san", "santa", "sainte", "sao", "mount", "mt", "lake", "port", "fort",
                           "cape", "new"})
_TITLES = (r"(?:^|[^A-Za-z])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sr|Sra|Srta|Mme|Mlle|Herr|Frau|Sig|Sig\.ra|Dña|Dona)"
           r"\.? [A-Z][a-zà-ÿ'’-]+")
_WORD = r"([A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'’-]*\.?)"


@lru_cache(maxsize=1)
def lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames), lower-case ASCII."""
    with resources.files("combotherapy").joinpath("data/person_names.csv").open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return (frozenset(table.loc[table["type"] == "first", "name"]),
            frozenset(table.loc[table["type"] == "last", "name"]))


@lru_cache(maxsize=8)
def _index(words: frozenset[str]) -> pd.Index:
    return pd.Index(sorted(words), dtype=object)


def _member(words: pd.Series, vocabulary: frozenset[str]) -> pd.Series:
    """``words.isin(vocabulary)`` through a cached hash index (Series.isin rebuilds it from the set every call)."""
    found = _index(vocabulary).get_indexer(words.to_numpy(dtype=object, na_value=None)) >= 0
    return pd.Series(found, index=words.index)


def _fold(words: pd.Series) -> pd.Series:
    """Lower-case ASCII form of words, possessive and trailing dots removed ("Mary's" -> "mary")."""
    w = words.str.replace(r"(?:'s|’s|\.)$", "", regex=True).str.lower()
    if contains(w, r"[^\x00-\x7f]").any():
        w = w.map(lambda t: unicodedata.normalize("NFKD", t).encode("ascii", "ignore").decode(), na_action="ignore")
    return w


def _bounded(u: pd.Series) -> pd.Series:
    if len(u) <= MAX_VALUES:
        return u
    return u.iloc[np.linspace(0, len(u) - 1, MAX_VALUES).astype(int)]


def _words(u: pd.Series) -> pd.DataFrame:
    """One row per word of each value: ``value`` (position in ``u``), ``word``, ``folded``, ``cap``, ``upper``."""
    found = u.astype(object).str.extractall(_WORD)[0]
    if found.empty:
        return pd.DataFrame(columns=["value", "word", "folded", "cap", "upper"])
    words = pd.Series(found.to_numpy(dtype=object), dtype="str")
    return pd.DataFrame({"value": found.index.get_level_values(0).to_numpy(), "word": words.to_numpy(),
                         "folded": _fold(words).to_numpy(),
                         "cap": contains(words, r"^[A-ZÀ-Þ][a-zà-ÿ'’]").to_numpy(dtype=bool),
                         "upper": contains(words, r"^[A-ZÀ-Þ'’-]{2,}\.?$").to_numpy(dtype=bool)})


@lru_cache(maxsize=1)
def _gate() -> str:
    """One RE2 pattern that any value naming a person must match: a capitalised or upper-case given name, an
    initial before a capitalised word, a title, or letters outside ASCII (folded by the word rules)."""
    first, _ = lexicon()
    names = "|".join(sorted(first))
    caps = "|".join(sorted(n.capitalize() for n in first))
    return (r"(?:^|[^A-Za-z])(?:" + caps + r")(?:\Z|[^a-z])|(?:^|[^A-Za-z])(?i:" + names + r")(?:\Z|[^A-Za-z])"
            r"|(?:^|[^A-Za-z])[A-Z]\.? [A-Z][a-z]|[A-Z][a-z]+, [A-Z]|[À-ÿ]|" + _TITLES)


#: what every value the gate matches holds: two ASCII letters in a row (every given name has them, and so do the
#: initials, "Surname, G" and title alternatives), a Latin-1 letter, or one of the two characters RE2's (?i) folds
#: onto ASCII letters (the long s and the Kelvin sign; tests/test_privacy_gate.py checks all three claims)
GATE_TELL = "[A-Za-z]{2}|[\u00c0-\u00ff\u017f\u212a]"


def gate_mask(u: pd.Series, small: int = _SMALL) -> np.ndarray:
    """``contains(u, _gate(), small)`` as a bool array. Compiling the gate (hundreds of names) costs milliseconds
    per search, so on more than ``small`` values it runs only on those holding :data:`GATE_TELL` (none, for ids
    such as S000123), in RE2 as the whole search would."""
    if len(u) <= small:
        return contains(u, _gate(), small).to_numpy(dtype=bool)
    out = np.array(contains(u, GATE_TELL, 0).to_numpy(dtype=bool))  # a writable copy
    if out.any():
        out[out] = contains(u[out], _gate(), 0).to_numpy(dtype=bool)
    return out


def candidates(u: pd.Series) -> pd.Series:
    """The distinct values worth the word-level rules (most columns have none)."""
    return u[gate_mask(u)]


def name_values(u: pd.Series) -> pd.Series:
    """Boolean mask over ``u`` (distinct text values): the value is a person's name, alone or with a number."""
    first, last = lexicon()
    out = pd.Series(False, index=u.index)
    short = u[(u.str.len() <= 60) & contains(u, r"[A-Z][A-Za-z]")
              & ~contains(u, r"[@/\\:;!?=<>(){}\[\]]|[0-9]{3,}.*[A-Za-z]{2}.*[0-9]")]
    short = _bounded(short)
    if short.empty:
        return out
    pos = pd.Series(short.index, index=range(len(short)))
    w = _words(short.reset_index(drop=True))
    if w.empty:
        return out
    before = w.groupby("value")["folded"].shift(1)
    # a hyphenated given name ("Hans-Peter", "Jean-Pierre", "Mary-Jane") counts by its first part
    head = w["folded"].str.replace(r"-.*\Z", "", regex=True)
    w["first"] = (_member(w["folded"], first) | _member(head, first)) & (w["cap"] | w["upper"]) \
        & ~_member(before, _PLACE_BEFORE)
    w["last"] = _member(w["folded"], last) & (w["cap"] | w["upper"])
    w["initial"] = w["word"].str.fullmatch(r"[A-Z]\.?").fillna(False).astype(bool)
    w["stop"] = _member(w["folded"], _NOT_SURNAMES)
    w["other"] = (w["cap"] | w["upper"]) & ~w["stop"] & ~w["initial"]
    g = w.groupby("value")
    agg = pd.DataFrame({"n": g.size(), "first": g["first"].sum(), "last": g["last"].sum(),
                        "initial": g["initial"].sum(), "other": g["other"].sum(), "stop": g["stop"].any(),
                        "upper": g["upper"].all()})
    shaped = (agg["n"] >= 2) & (agg["n"] <= 4)
    given = (agg["first"] >= 1) & (agg["other"] >= 2) & ~agg["stop"]
    given_upper = (agg["first"] >= 1) & (agg["last"] >= 1)          # "SMITH, JOHN": both in the lexicon
    initial = (agg["initial"] >= 1) & (agg["last"] >= 1) & (agg["n"] <= 3)
    hit = shaped & (((given & ~agg["upper"]) | given_upper) | initial)
    out.loc[pos[hit[hit].index].to_numpy()] = True
    # a column of given names alone ("Mary", "John") is a column of names too: judged by the caller on the share
    return out


def given_name_only(u: pd.Series) -> pd.Series:
    """Boolean mask: the value is one capitalised given name and nothing else."""
    first, _ = lexicon()
    one = contains(u, r"^[ \t]*[A-ZÀ-Þ][a-zà-ÿ'’-]+[ \t]*\Z").fillna(False).astype(bool)
    out = pd.Series(False, index=u.index)
    if one.any():
        out[one] = _member(_fold(u[one].str.strip()), first).to_numpy(dtype=bool)
    return out


def names_in_text(u: pd.Series) -> pd.Series:
    """Boolean mask over ``u`` (distinct text values): free text naming a person."""
    first, _ = lexicon()
    out = pd.Series(False, index=u.index)
    titled = contains(u, _TITLES)
    out |= titled.fillna(False).astype(bool)
    cand = _bounded(u[contains(u, r"[A-Z][a-z]") & ~out])
    if cand.empty:
        return out
    pos = pd.Series(cand.index, index=range(len(cand)))
    w = _words(cand.reset_index(drop=True))
    if w.empty:
        return out
    # "Alexander technique", "Thomas test": a given name before a common word names a method, not a person
    after = w.groupby("value")["folded"].shift(-1)
    before = w.groupby("value")["folded"].shift(1)
    hit = w.loc[w["cap"] & _member(w["folded"], first) & ~_member(after, _NOT_SURNAMES)
                & ~_member(before, _PLACE_BEFORE), "value"].unique()
    out.loc[pos[hit].to_numpy()] = True
    return out


def is_name_header(name: str) -> bool:
    """A column header that is itself a person's name: a given name and a surname from the lexicon."""
    first, last = lexicon()
    words = [unicodedata.normalize("NFKD", t).encode("ascii", "ignore").decode().lower()
             for t in re.findall(r"[A-Za-zÀ-ÿ]+", str(name))]  # what Series.str.findall does to one value
    return any(t in first for t in words) and any(t in last for t in words if t not in first) and len(words) <= 4
