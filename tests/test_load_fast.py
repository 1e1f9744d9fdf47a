"""The loader's fast path (text read as codes of its distinct values, checks once per distinct value) gives what
the careful path gives: the same Trial, the same notes and decisions, the same errors and identifier refusals.

The careful path is the reader of text (every cell a Python string) that ``ct.load`` used before; it is forced
here by making the fast readers decline, as they do for any file they cannot read exactly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.io import readers

CORPUS = Path(__file__).with_name("privacy_corpus")


def _careful(monkeypatch):
    monkeypatch.setattr(readers, "_read_text_coded", lambda *a, **k: None)
    monkeypatch.setattr(readers, "_read_parquet_coded", lambda *a, **k: None)


def _outcome(path, **kwargs):
    """What ct.load makes of a file: the Trial's data, notes and decisions, or the error's type and message."""
    try:
        trial = ct.load(path, **kwargs)
    except (ct.DataError, ct.IdentifierError) as err:
        return type(err).__name__, str(err)
    return trial.data, trial.notes, trial.decisions, dict(trial.instruments)


def _same(fast, careful):
    if isinstance(careful[0], pd.DataFrame):
        assert isinstance(fast[0], pd.DataFrame), fast
        pd.testing.assert_frame_equal(fast[0], careful[0])
        assert fast[1:] == careful[1:]
    else:
        assert fast == careful


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _trial_csv(rows: int = 60) -> str:
    rng = np.random.default_rng(3)
    lines = ["pid,group,week,pain,age,sex,site,bmi"]
    for i in range(rows):
        for w in (0, 12):
            lines.append(f"{i:03d},{'AB'[i % 2]},{w},{rng.integers(0, 11)},{40 + i % 30},{'mf'[i % 2]},"
                         f"s{i % 3},{20 + i % 7}.5")
    return "\n".join(lines) + "\n"


MAP = {"columns": {"subject": "pid", "arm": "group", "visit": "week"}, "arms": {"A": "physio", "B": "control"}}

#: messy exports: each (file text, load arguments); every one is loaded both ways and must come out the same
CASES = {
    "clean": (_trial_csv(), MAP),
    "leading zeros and padding in ids": (_trial_csv().replace("\n001,", "\n 001 ,").replace("\n002,", "\n2,"), MAP),
    "missing tokens": (_trial_csv().replace(",40,m,", ",NA,m,").replace(",41,f,", ",.,f,").replace(",42,", ", ,"),
                       MAP),
    "blank rows": (_trial_csv().replace("\n003,", "\n\n003,").replace("\n005,", "\n,,,,,,,\n005,"), MAP),
    "week labels": (_trial_csv().replace(",A,0,", ",A,Week 0,").replace(",B,12,", ",B,W12,"), MAP),
    "negative week label": (_trial_csv().replace(",A,12,", ",A,Week -2,", 1), MAP),
    "visit codes": (_trial_csv().replace(",A,0,", ",A,VIS0,").replace(",A,12,", ",A,VIS1,"),
                    {**MAP, "visits": {"VIS0": 0, "VIS1": 12}}),
    "unknown visit label": (_trial_csv().replace(",A,12,", ",A,later,", 1), MAP),
    "decimal commas undeclared": (_trial_csv().replace(".5\n", ",5\n").replace(",bmi", ";bmi"), MAP),
    "text in an outcome": (_trial_csv().replace(",A,12,3,", ",A,12,three,"), MAP),
    "out of range": (_trial_csv().replace(",A,12,3,", ",A,12,13,"), MAP),
    "infinite covariate": (_trial_csv().replace(",20.5\n", ",inf\n", 2), MAP),
    "duplicate rows": (_trial_csv() + "000,A,0,5,40,m,s0,20.5\n", MAP),
    "two arms": (_trial_csv() + "000,B,26,5,40,m,s0,20.5\n", MAP),
    "unknown arm": (_trial_csv().replace(",B,0,", ",C,0,", 1), MAP),
    "missing subject": (_trial_csv().replace("\n004,", "\n,", 1), MAP),
    "mixed covariate": (_trial_csv().replace(",s1,", ",7,"), MAP),
    "all-missing covariate": (re.sub(r",\d+\.5\n", ",NA\n", _trial_csv()).replace(",bmi", ",note"), MAP),
    "missing codes": (_trial_csv().replace(",A,12,3,", ",A,12,-99,"), {**MAP, "missing": {"pain": [-99],
                                                                                      "*": ["."]}}),
    "missing code not a column": (_trial_csv(), {**MAP, "missing": {"pian": [-99]}}),
    "unmapped": (_trial_csv(), {}),
    "phone numbers": (re.sub(r",\d+\.5\n", ",call 555-123-4567\n", _trial_csv(), count=3), MAP),
    "zip codes": (re.sub(r",\d+\.5\n", ",02139\n", _trial_csv()).replace(",bmi", ",zip"), MAP),
    "allowed identifier": (re.sub(r",\d+\.5\n", ",02139\n", _trial_csv()).replace(",bmi", ",zip"),
                           {**MAP, "allow_identifiers": ["zip"]}),
    "record numbers as subject": (_trial_csv().replace("pid,", "mrn,"), {**MAP, "columns": {
        "subject": "mrn", "arm": "group", "visit": "week"}}),
    "wide": ("id,arm,pain_w0,pain_w12,age\n" + "".join(f"s{i},physio,{i % 10},{(i + 3) % 10},{30 + i}\n"
                                                       for i in range(30)), {"columns": {"subject": "id"}}),
    "baseline column": ("subject,arm,visit,pain,pain_baseline\n" + "".join(
        f"s{i},combined,{w},{(i + w) % 10},{i % 10}\n" for i in range(20) for w in (4, 12)), {}),
    "subject-level outcome varies": ("subject,arm,visit,pain,recovery_time\n" + "".join(
        f"s{i},combined,{w},{(i + w) % 10},{5 + (w if i == 3 else 0)}\n" for i in range(20) for w in (0, 12)), {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_csv_fast_path_gives_what_the_careful_path_gives(case, tmp_path, monkeypatch):
    text, kwargs = CASES[case]
    path = _write(tmp_path, "trial.csv", text)
    fast = _outcome(path, **kwargs)
    _careful(monkeypatch)
    _same(fast, _outcome(path, **kwargs))


def test_decimal_commas_declared_both_ways(tmp_path, monkeypatch):
    text = _trial_csv().replace(",", ";").replace(".5\n", ",5\n")
    path = _write(tmp_path, "eu.csv", text)
    kwargs = {**MAP, "sep": ";", "decimal": ","}
    fast = _outcome(path, **kwargs)
    assert isinstance(fast[0], pd.DataFrame) and fast[0]["bmi"].iloc[0] == 20.5
    _careful(monkeypatch)
    _same(fast, _outcome(path, **kwargs))


def test_the_fast_reader_declines_what_it_cannot_read_exactly(tmp_path):
    # ragged rows, a whitespace-only line, repeated or empty headers, another encoding: the careful reader reads them
    for text in ("a,b\n1,2\n3\n", "a,b\n1,2\n  \n", "a,a\n1,2\n", "a,,b\n1,2,3\n"):
        assert readers._read_text_coded(_write(tmp_path, "x.csv", text), ",", None) is None
    assert readers._read_text_coded(_write(tmp_path, "y.csv", "a,b\n1,2\n"), ",", "latin-1") is None
    coded = readers._read_text_coded(_write(tmp_path, "z.csv", "\ufeffa,b\n" + "\"x\ny\", 2\n\n" * 20), ",", None)
    careful = readers._read_text(tmp_path / "z.csv", ",", None)
    assert list(coded.columns) == list(careful.columns) == ["a", "b"]
    for c in coded.columns:
        assert coded[c].astype(object).tolist() == careful[c].tolist()


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_simulated_trial_both_ways(ext, tmp_path, monkeypatch):
    data = ct.simulate_trial(n_per_arm=15, seed=5).data
    data = data.assign(arm=data["arm"].astype(str))
    path = tmp_path / f"sim.{ext}"
    data.to_csv(path, index=False) if ext == "csv" else data.to_parquet(path, index=False)
    fast = _outcome(path)
    _careful(monkeypatch)
    _same(fast, _outcome(path))


def test_typed_csv_and_parquet_give_the_same_trial(tmp_path):
    data = ct.simulate_trial(n_per_arm=30, seed=9).data
    data = data.assign(arm=data["arm"].astype(str))
    data.to_csv(tmp_path / "t.csv", index=False)
    data.to_parquet(tmp_path / "t.parquet", index=False)
    a, b = ct.load(tmp_path / "t.csv"), ct.load(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.notes == b.notes
    # and the simulator's own trial (loaded from a DataFrame) is what the files give back
    pd.testing.assert_frame_equal(a.data[["subject", "visit", "pain"]], data[["subject", "visit", "pain"]]
                                  .astype({"visit": float}).reset_index(drop=True))


def test_parquet_text_columns_both_ways(tmp_path, monkeypatch):
    frame = pd.DataFrame({"subject": [f"s{i:02d}" for i in range(30) for _ in (0, 1)],
                          "arm": ["physio", "control"] * 30, "visit": ["0", "Week 12"] * 30,
                          "pain": ["3", "NA"] * 30, "site": [None, " a "] * 30, "age": [40.0, 40.0] * 30})
    frame["arm"] = np.repeat(["physio", "control"], 30)
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, index=False)
    fast = _outcome(path)
    _careful(monkeypatch)
    _same(fast, _outcome(path))


def _corpus_frames():
    for entry in json.loads((CORPUS / "corpus.json").read_text(encoding="utf-8")):
        if entry["dtype"] != "str":
            continue
        values = pd.Series(entry["values"], dtype=object)
        values = pd.concat([values] * (1 + 65 // max(len(values), 1)), ignore_index=True)  # past the small path
        yield entry, values


def _pandas_codes(values: pd.Series) -> pd.Categorical:
    return pd.Categorical(values)


def _arrow_codes(values: pd.Series) -> pd.Categorical:
    """As the readers hold text: codes into categories that remember their Arrow text."""
    import pyarrow as pa

    from combotherapy.io import arrow_text

    codes, uniques = pd.factorize(values)
    return arrow_text.categorical(codes.astype(np.int32), pa.array(list(uniques), type=pa.string()))


@pytest.mark.parametrize("as_codes", [_pandas_codes, _arrow_codes])
@pytest.mark.parametrize("stride", [pytest.param(1, marks=pytest.mark.slow), 9])
def test_guard_sees_text_held_as_codes_as_it_sees_text(stride, as_codes):
    """Text columns of the identifier corpus (every one in the slow run, every 9th by default): the findings on a
    Categorical of the text (what the fast reader gives, with or without its remembered Arrow text) equal the
    findings on the text itself (what the careful reader gives)."""
    from combotherapy.privacy.detect import _scan

    n = 0
    for i, (entry, values) in enumerate(_corpus_frames()):
        if i % stride:
            continue
        subject = entry["header"] if entry["context"].get("subject") else None
        kind = entry["context"].get("kind", "trial")
        text = pd.DataFrame({entry["header"]: values})
        coded = pd.DataFrame({entry["header"]: as_codes(values)})
        assert _scan(coded, kind, subject) == _scan(text, kind, subject), entry["header"]
        n += 1
    assert n > 100 // stride


def test_the_loader_names_the_mapped_subject_column_to_the_guard():
    ids = ["101-01-0001", "101-01-0002", "102-01-0001", "102-01-0002"]
    raw = pd.DataFrame({"ref_x": np.repeat(ids, 2), "arm": ["physio"] * 4 + ["combined"] * 4,
                        "visit": [0, 12] * 4, "pain": [5, 3, 4, 2, 6, 5, 4, 4]})
    trial = ct.load(raw, columns={"subject": "ref_x"})  # study ids in the mapped subject column: legitimate
    assert trial.n_subjects == 4
    with pytest.raises(ct.IdentifierError, match="ref_y"):  # the same ids in any other column look like SSNs
        ct.load(raw.assign(ref_y=raw["ref_x"]), columns={"subject": "ref_x"})
    with pytest.raises(ct.IdentifierError, match="'mrn'"):  # and a record number stays one when mapped
        ct.load(raw.rename(columns={"ref_x": "mrn"}), columns={"subject": "mrn"})


def test_mapping_problems_are_reported_from_the_text(tmp_path, monkeypatch):
    text = _trial_csv()
    path = _write(tmp_path, "trial.csv", text)
    for kwargs in ({"columns": {"subject": "pid", "arm": "pid", "visit": "week"}},
                   {"columns": {"subject": "nope", "arm": "group", "visit": "week"}},
                   {"columns": {"sex": "pid", "arm": "group", "visit": "week"}}):
        fast = _outcome(path, **kwargs)
        with monkeypatch.context() as m:
            _careful(m)
            _same(fast, _outcome(path, **kwargs))
