"""The identifier guard as a classifier: recall and false-positive rate on a labelled corpus of columns.

``tests/privacy_corpus/corpus.json`` (written by ``make_corpus.py`` beside it) holds identifier columns —
kinds x formats x locales x column names — and legitimate look-alikes. The rates are printed in the test
summary (``pytest_terminal_summary`` in conftest.py) and asserted: every labelled identifier caught, fewer
than 2% of legitimate columns flagged.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

import combotherapy as ct

CORPUS = Path(__file__).with_name("privacy_corpus")
#: filled by the test, printed by conftest.pytest_terminal_summary
RESULTS: dict[str, object] = {}


def _entries() -> list[dict]:
    return json.loads((CORPUS / "corpus.json").read_text(encoding="utf-8"))


def _column(entry: dict) -> pd.DataFrame:
    dtype = {"str": "str", "int": "Int64", "float": "float64"}[entry["dtype"]]
    frame = pd.DataFrame({0: pd.Series(entry["values"], dtype=dtype)})
    frame.columns = [entry["header"]]
    return frame


def _flagged(entry: dict) -> pd.DataFrame:
    context = entry["context"]
    return ct.find_identifiers(_column(entry), kind=context.get("kind", "trial"),
                               subject=entry["header"] if context.get("subject") else None)


def test_corpus_is_what_the_script_writes():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # builds the entries; writes nothing unless run as a script
    assert module.text() == (CORPUS / "corpus.json").read_text(encoding="utf-8")


def test_corpus_size_and_balance():
    entries = _entries()
    labels = pd.Series([e["label"] for e in entries])
    assert len(entries) >= 300 and set(labels) == {"identifier", "legitimate"}
    assert (labels == "legitimate").sum() >= 100
    groups = {e["group"] for e in entries if e["label"] == "identifier"}
    assert {"names in values", "names in free text", "record numbers", "numeric dates", "text dates", "ages",
            "phones", "SSNs", "postcodes", "addresses", "headers", "column names"} <= groups


def test_recall_and_false_positive_rate():
    entries = _entries()
    flagged = [not _flagged(e).empty for e in entries]
    frame = pd.DataFrame({"label": [e["label"] for e in entries], "group": [e["group"] for e in entries],
                          "header": [e["header"] for e in entries], "kind": [e["kind"] for e in entries],
                          "flagged": flagged})
    ids, legit = frame[frame["label"] == "identifier"], frame[frame["label"] == "legitimate"]
    recall, fpr = ids["flagged"].mean(), legit["flagged"].mean()
    RESULTS.update(n_identifiers=len(ids), n_legitimate=len(legit), recall=recall, fpr=fpr,
                   missed=ids.loc[~ids["flagged"], ["header", "kind"]].values.tolist(),
                   false_positives=legit.loc[legit["flagged"], ["header", "kind"]].values.tolist(),
                   recall_by_group=ids.groupby("group")["flagged"].mean().to_dict())
    assert recall == 1.0, f"missed identifiers: {RESULTS['missed']}"
    assert fpr < 0.02, f"false positives: {RESULTS['false_positives']}"


@pytest.mark.parametrize("entry", [e for e in _entries() if e["label"] == "identifier"][::5],
                         ids=lambda e: e["kind"])
def test_no_value_of_a_flagged_column_is_echoed(entry):
    frame = _column(entry)
    with pytest.raises(ct.IdentifierError) as info:
        ct.check_identifiers(frame)
    text = str(info.value) + repr(info.value.findings) + repr(info.value.columns)
    if entry["group"] == "headers":  # a header holding an identifier is withheld too
        assert entry["header"].strip() not in text
    for value in entry["values"]:
        if value not in (None, "") and len(str(value)) > 3 and str(value) not in ("n/a", "none", "unknown"):
            assert str(value) not in text, value
