"""The person-name gate's tell (names.GATE_TELL): every value the gate matches holds it, so running the gate only on
values that hold the tell finds exactly what running it on every value finds (gate_mask, the screen of privacy.fast).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from combotherapy.privacy import fast, names
from combotherapy.privacy.patterns import VALUE_PATTERNS, contains

CORPUS = Path(__file__).with_name("privacy_corpus") / "corpus.json"


def test_every_given_name_and_title_holds_two_ascii_letters_in_a_row():
    first, _ = names.lexicon()
    assert first and all(re.search("[A-Za-z]{2}", n) for n in first)
    titles = next(g for g in re.findall(r"\(\?:([^()]*)\)", names._TITLES) if "Mr" in g).split("|")
    assert "Dr" in titles and all(re.search(r"[A-Za-z]{2}|[\u00c0-\u00ff]", t.replace("\\.", ".")) for t in titles)


def test_re2_folds_only_the_long_s_and_the_kelvin_sign_onto_ascii_letters():
    chars = [chr(c) for c in range(0x80, 0x10000) if not 0xD800 <= c <= 0xDFFF]
    arr = pa.array(chars)
    folded = set()
    for letter in "abcdefghijklmnopqrstuvwxyz":
        hits = pc.match_substring_regex(arr, f"(?i:{letter})").to_numpy(zero_copy_only=False)
        folded |= {chars[i] for i in np.flatnonzero(hits)}
    assert folded == {"\u017f", "\u212a"}


def _values() -> pd.Series:
    texts = []
    for entry in json.loads(CORPUS.read_text(encoding="utf-8")):
        texts += [str(v) for v in entry["values"] if v is not None]
    # and the edges of the tell: one letter, folded letters, Latin-1 letters, initials, titles
    texts += ["S000123", "\u017fKy", "\u212aai", "Zoë", "é", "A. Smith", "Smith, J", "Dr. Who", "DÑA Lopez", "x1y2",
              "ab", "a", "MRN 12", "anna", "ANNA", "Anna-Lena", "O'Brien", "Ms Li"]
    return pd.Series(texts, dtype="str").drop_duplicates().reset_index(drop=True)


@pytest.mark.parametrize("size", [10, 64, 65, 5000])
def test_gate_mask_is_the_gate(size):
    u = _values()
    rng = np.random.default_rng(size)
    u = u.iloc[rng.permutation(len(u))[:size]].reset_index(drop=True) if size < len(u) else u
    np.testing.assert_array_equal(names.gate_mask(u), contains(u, names._gate()).to_numpy(dtype=bool))
    np.testing.assert_array_equal(names.gate_mask(u, small=0), contains(u, names._gate(), 0).to_numpy(dtype=bool))
    pd.testing.assert_series_equal(names.candidates(u), u[contains(u, names._gate()).to_numpy(dtype=bool)])


def test_the_screen_split_in_two_is_the_screen():
    u = _values()
    kinds = tuple(VALUE_PATTERNS)
    whole = contains(u, fast._screen(kinds, True), 0).to_numpy(dtype=bool)
    keep = np.array(contains(u, fast._screen(kinds, False), 0), dtype=bool)
    keep[~keep] = names.gate_mask(u[~keep], small=0)
    np.testing.assert_array_equal(keep, whole)


@pytest.mark.parametrize("small", [64, 0])
def test_the_union_of_prefilters_is_each_prefilter_in_either_engine(small):
    """_value_masks keeps the values the union passes, then runs each kind's prefilter on those: the same values each
    kind's prefilter passes on all of them, through Python's patterns (a few values) or RE2 (small=0)."""
    from combotherapy.privacy.patterns import PREFILTER
    from combotherapy.privacy.scan import _any_prefilter

    u = _values()
    kinds = tuple(VALUE_PATTERNS)
    for start in range(0, len(u), 60):
        part = u.iloc[start:start + 60]
        union = contains(part, _any_prefilter(kinds), small).to_numpy(dtype=bool)
        each = np.zeros(len(part), dtype=bool)
        for k in kinds:
            each |= contains(part, PREFILTER[k], small).to_numpy(dtype=bool)
        np.testing.assert_array_equal(union, each)
