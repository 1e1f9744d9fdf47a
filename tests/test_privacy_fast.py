"""The identifier guard's quick verdicts (``privacy.fast``) give exactly the full scan's findings.

``ct.load`` hands the guard text as Categoricals (codes of distinct texts) and numbers as numpy columns; the quick
path decides such columns from their categories or their value range. Every finding — column, kind, found by, cells,
reason, rows — must be the one the full scan (``scan._QUICK = False``) gives, whatever order the categories are in,
whichever of them the cells use (unused categories that look like identifiers must not be reported), and near every
threshold of the number rules.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from combotherapy.privacy import scan

CORPUS = Path(__file__).with_name("privacy_corpus") / "corpus.json"
# categories no cell uses: harmless ones, and ones that would be findings if a cell held them
UNUSED = ["zzz", "12", "John Smith", "555-123-4567", "95 years", "2024-03-01", "123-45-6789", "Mary", "Paul",
          "Anna", "jsmith@example.org", "19840312", "0123456789", "S000000001"]


def _both(frame: pd.DataFrame, **kw) -> tuple[list, list]:
    """(full scan, quick path) findings of the same frame."""
    old = scan._QUICK
    try:
        scan._QUICK = False
        full = scan._scan(frame, **kw)
        scan._QUICK = True
        quick = scan._scan(frame, **kw)
    finally:
        scan._QUICK = old
    return full, quick


def _entries() -> list[dict]:
    return json.loads(CORPUS.read_text(encoding="utf-8"))


def _context(entry: dict) -> dict:
    context = entry["context"]
    return {"kind": context.get("kind", "trial"), "subject": entry["header"] if context.get("subject") else None}


def _variants(values: list) -> dict[str, pd.Series]:
    """The same cells as Categoricals of text: categories sorted, in order of first appearance (as Arrow builds
    them), with unused categories before and after, with object categories, and with the cells shuffled."""
    text = [None if v is None else str(v) for v in values]
    seen = list(dict.fromkeys(v for v in text if v is not None))
    extra = [v for v in UNUSED if v not in seen]
    rng = np.random.default_rng(len(text))
    out = {"sorted": pd.Series(text, dtype="str").astype("category"),
           "appearance": pd.Series(pd.Categorical(text, categories=pd.Index(seen, dtype="str"))),
           "unused": pd.Series(pd.Categorical(text, categories=pd.Index(extra[:7] + seen + extra[7:], dtype="str"))),
           "object": pd.Series(pd.Categorical(text, categories=pd.Index(seen[::-1], dtype=object))),
           "shuffled": pd.Series(pd.Categorical([text[i] for i in rng.permutation(len(text))],
                                                categories=pd.Index(seen, dtype="str")))}
    return out


def _corpus_alone(step: int, every_layout: bool) -> int:
    checked = 0
    for i, entry in enumerate(_entries()[::step]):
        variants = list(_variants(entry["values"]).items())
        for how, column in (variants if every_layout else [variants[i % len(variants)]]):
            frame = pd.DataFrame({entry["header"]: column})
            full, quick = _both(frame, **_context(entry))
            assert quick == full, (entry["header"], entry["kind"], how)
            checked += 1
    return checked


def test_corpus_as_categoricals_alone():
    """Every other labelled column of the corpus alone, as a Categorical of its text (the five layouts in turn)."""
    assert _corpus_alone(2, every_layout=False) >= 190


@pytest.mark.slow
def test_corpus_as_categoricals_alone_every_layout():
    """Every labelled column of the corpus alone, as Categoricals of its text in all five layouts."""
    assert _corpus_alone(1, every_layout=True) >= 5 * 390


def test_corpus_as_one_frame_of_categoricals():
    """All trial-context columns of the corpus side by side (the union of their categories judged at once), with
    load-like columns of numbers written as text."""
    entries = [e for e in _entries() if not e["context"]][::3]
    n = max(len(e["values"]) for e in entries)
    rng = np.random.default_rng(7)
    columns = {}
    for i, e in enumerate(entries):
        values = [None if v is None else str(v) for v in e["values"]] + [None] * (n - len(e["values"]))
        columns[f"{e['header']}"] = pd.Series(values, dtype="str").astype("category") if i % 2 else \
            _variants(values)["unused"]
    columns["pain"] = pd.Series(rng.integers(0, 11, n).astype(str), dtype="str").astype("category")
    columns["crp"] = pd.Series(np.round(rng.uniform(0, 9, n), 2).astype(str), dtype="str").astype("category")
    frame = pd.DataFrame(columns)
    full, quick = _both(frame)
    assert quick == full
    # only the load-like numbers, the union judged in one go: nothing beyond what the headers say
    plain = pd.DataFrame({"subject": pd.Series([f"S{i:09d}" for i in range(n)], dtype="str").astype("category"),
                          "pain": columns["pain"], "crp": columns["crp"], "arm": pd.Categorical(["a", "b"] * (n // 2)
                                                                                                + ["a"] * (n % 2))})
    full, quick = _both(plain, subject="subject")
    assert quick == full == []


def test_corpus_numbers_as_numpy_columns():
    """Corpus columns of numbers as float64 and (when complete) int64 columns."""
    checked = 0
    for entry in _entries():
        values = entry["values"]
        if entry["dtype"] not in ("int", "float"):
            continue
        x = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        forms = [x] + ([x.astype("int64")] if x.notna().all() else [])
        for column in forms:
            full, quick = _both(pd.DataFrame({entry["header"]: column}), **_context(entry))
            assert quick == full, (entry["header"], entry["kind"], column.dtype)
            checked += 1
    assert checked >= 20


NAMES = ["zip", "zip_code", "residence", "home", "age", "age_months", "ageyears", "yob", "birth_year", "dob",
         "visit_date", "RANDDT", "created_at", "event_time", "timestamp", "pain", "x", "subject", "kit_no",
         "study_code", "software_version", "phone", "year"]
EDGES = [0.0, 89.0, 90.0, 90.5, 91.0, 999.0, 1000.0, -1000.0, 1800.0, 1801.0, 1930.0, 1990.0, 9999.0, 10000.0,
         99999.0, 100000.0, 19000100.0, 19000101.0, 20240312.0, 20241399.0, 99999999.0, 1e8, 123456789.0,
         1e8 + 0.5, 9.46e8, 1.7e9, 5551234567.0, 1e15, 1.7e12, -5.0]


def _thresholds(name: str, layouts: int) -> None:
    for edge in EDGES:
        for column in (pd.Series([edge, 3.0, np.nan]), pd.Series([edge] * 3), pd.Series([edge, 4.0]))[:layouts]:
            full, quick = _both(pd.DataFrame({name: column}))
            assert quick == full, (name, edge)
            if float(edge).is_integer() and column.notna().all():
                full, quick = _both(pd.DataFrame({name: column.astype("int64")}))
                assert quick == full, (name, edge, "int64")
            text = column.map(lambda v: None if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v)))
            full, quick = _both(pd.DataFrame({name: pd.Series(text, dtype="str").astype("category")}))
            assert quick == full, (name, edge, "text")
    for odd in (pd.Series([np.inf, 1.0]), pd.Series([-np.inf, 1.0]), pd.Series([np.nan, np.nan]),
                pd.Series([True, False]), pd.Series([], dtype=float), pd.Series([1, 2], dtype="uint64")):
        full, quick = _both(pd.DataFrame({name: odd}))
        assert quick == full, (name, odd.dtype)


@pytest.mark.parametrize("name", ["zip", "residence", "age_months", "yob", "dob", "RANDDT", "created_at", "pain",
                                  "kit_no"])
def test_number_rules_at_their_thresholds(name):
    """Columns of numbers named for ZIP codes, ages, years of birth, dates and times, holding a value at or near
    each threshold of the rules (beside a small number and a missing cell; as int64; as text categories)."""
    _thresholds(name, layouts=1)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_number_rules_at_their_thresholds_every_layout(name):
    _thresholds(name, layouts=3)


def test_unused_categories_are_not_findings():
    """A Categorical whose unused categories look like identifiers: no finding, as the full scan says."""
    cats = pd.Index(["1", "2", "John Smith", "555-123-4567", "S000000001", "Mary", "Anna", "Paul"], dtype="str")
    frame = pd.DataFrame({"pain": pd.Categorical(["1", "2", "1", None], categories=cats),
                          "age": pd.Categorical(["95 years", "40", "40", None], categories=pd.Index(["95 years", "40", "41"],
                                                                                       dtype="str"))})
    full, quick = _both(frame)
    assert quick == full
    assert [f.column for f in quick] == ["age"]  # "95 years" is used; the unused names and phone are not reported


def test_subject_ids_judged_on_the_used_values():
    """Structured study ids are legitimate in the subject column; whether digit groups are study ids depends on the
    values in use, not on unused categories."""
    ids = [f"{site}-01-{i:04d}" for site in (101, 102) for i in range(40)]
    for used in (ids, ids[:1] + ids[-1:]):
        cats = pd.Index(ids + ["987-65-4321", "555-12-3456"], dtype="str")
        frame = pd.DataFrame({"subject": pd.Categorical(used, categories=cats)})
        full, quick = _both(frame, subject="subject")
        assert quick == full, len(used)


@pytest.mark.parametrize("width", [1, 3, 10])
def test_leading_digits_fixed_and_ragged(width):
    """``_leading_digits`` (first three digits of each value holding three) as a plain reading of each value, for ids
    of one format (read as a grid) and of mixed formats."""
    rng = np.random.default_rng(width)
    same = [f"S{n:0{width + 2}d}" for n in rng.integers(0, 10 ** (width + 2), 100)]
    mixed = same[:50] + ["12", "a1b2c3d4", "", "999-12", "x", "é123", "12é3", "101-01-0001"] * 3
    for values in (same, mixed):
        u = pd.Series(values, dtype="str")
        got = scan._leading_digits(u)
        digits = [re.sub(r"[^0-9]", "", v) for v in values]
        want = {i: int(d[:3]) for i, d in enumerate(digits) if len(d) >= 3}
        assert {int(i): int(v) for i, v in got.items()} == want


def test_the_quick_path_decides_load_like_columns():
    """Not vacuous: on a frame as ct.load hands it over, the quick path decides every column without the full scan."""
    from combotherapy.privacy.fast import quick_column, quiet_categoricals

    n = 300
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "subject": pd.Categorical([f"S{i // 3:09d}" for i in range(n)]),
        "arm": pd.Categorical(rng.choice(["physio", "combined"], n)),
        "pain": pd.Categorical(rng.integers(0, 11, n).astype(str)),
        "recovery_time": pd.Categorical(np.round(rng.uniform(1, 30, n), 1).astype(str)),
        "age": rng.integers(20, 80, n).astype(float), "crp": rng.uniform(0, 9, n)})
    assert quiet_categoricals(frame, "trial", {"subject"}) == [1, 2, 3]
    for pos in (0, 3, 4, 5):
        assert quick_column(pos, frame.columns[pos], frame.iloc[:, pos], "trial", {"subject"}) == [], pos
    full, quick = _both(frame, subject="subject")
    assert quick == full == []


def test_many_distinct_values_screened_in_one_pass():
    """Columns of more than 2,000 distinct values (ids) are screened by one pattern first; the share of given names
    is still taken over all of the column's values."""
    ids = [f"A{i:06d}" for i in range(3000)]
    given = ["Mary", "John", "Anna", "Peter", "Maria", "James"]
    study = [f"{100 + i % 7}-01-{i:04d}" for i in range(2500)]
    cases = {"label": ids + given[:3],                                   # three given names among ids: not a column
             "code_x": ids[:5] + [given[i % 6] + "" for i in range(10)],  # few values: not screened
             "tag": ids + [f"{given[i % 6]}{'' if i < 6 else ' ' + str(i)}" for i in range(3100)],
             "ref": study, "subject": study, "mixed": ids + ["call 555-123-4567", "2024-03-01", "x@y.org", "12"]}
    for name, values in cases.items():
        for column in (pd.Series(pd.Categorical(values)), _variants(values)["unused"]):
            full, quick = _both(pd.DataFrame({name: column}), subject="subject")
            assert quick == full, name
    given_only = [given[i % 6] for i in range(12)] + ids[:2990]
    names_share = given_only + [f"{g}" for g in ["Linda", "Robert", "Susan"] * 1100]
    for values in (given_only, names_share):
        for name in ("tag", "subject"):  # the subject column is judged on its used values, with the share exact
            full, quick = _both(pd.DataFrame({name: pd.Categorical(values)}), subject="subject")
            assert quick == full, name
    few = pd.DataFrame({"subject": pd.Categorical(ids + given[:3])})
    from combotherapy.privacy.fast import quick_column

    assert quick_column(0, "subject", few["subject"], "trial", {"subject"}) == []  # decided: 3 names in 3,003 values
    # the share of given names alone among more than 2,000 distinct values, just above and just below one half
    from combotherapy.privacy.names import lexicon

    alone = [pad.format(n.capitalize()) for n in sorted(lexicon()[0]) for pad in ("{}", " {}", "{} ", " {} ")]
    for n_ids, flagged in ((len(alone) - 200, True), (len(alone) + 200, False)):
        frame = pd.DataFrame({"subject": pd.Categorical([f"A{i:06d}" for i in range(n_ids)] + alone)})
        full, quick = _both(frame, subject="subject")
        assert quick == full and bool(full) == flagged, n_ids
