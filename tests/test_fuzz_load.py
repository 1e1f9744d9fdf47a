"""Fuzzing ct.load: whatever the frame or file, a validated Trial or a DataError/IdentifierError, nothing else,
and the input never changed.

Strategies cover dtypes (lists, structs, durations, bytes, categoricals, datetimes, mixed objects, complex,
infinities), column names (canonical, reserved-looking, control characters, empty, unicode), sizes and text
encodings, for DataFrames and for each file format (csv, parquet, xlsx, dta, xpt), plus damaged files.

CI runs a bounded number of examples (``COMBOTHERAPY_FUZZ_EXAMPLES``, default 30 per test, plus the issue's reproductions as fixed examples: a few hundred loads,
well under a minute). A longer run::

    COMBOTHERAPY_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz_load.py -p no:cacheprovider
"""

from __future__ import annotations

import datetime
import hashlib
import os
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import combotherapy as ct

EXAMPLES = int(os.environ.get("COMBOTHERAPY_FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="COMBOTHERAPY_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])

CANONICAL = ["subject", "arm", "visit", "pain", "odi", "rmdq", "crp", "age", "sex", "recovered", "recovery_time",
             "pain_w0", "pain_w12", "pain_baseline", "ae_nausea"]
names = st.one_of(
    st.sampled_from(CANONICAL),
    st.sampled_from(["_row", "_order", "index", "Unnamed: 0", "", " ", "PAIN", "group", "week", "id", "pain.1",
                     "x\x1b[31m", "naïve", "größe", "名前", "a,b", 'q"uote']),
    st.text(min_size=1, max_size=8),
)
scalars = st.one_of(
    st.none(), st.just(np.nan), st.booleans(), st.integers(-3, 30), st.integers(-2**63, 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 10),
    st.sampled_from(["physio", "acupuncture", "combined", "control", "0", "12", "Week 4", "Week -2", "baseline",
                     "NA", ".", "", "67,5", "s1", "s2", "John Smith", "a@b.org"]),
    st.text(max_size=6),
)
exotic = st.one_of(
    st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.sampled_from("ab"), st.integers(0, 3), max_size=2),
    st.binary(max_size=4), st.timedeltas(max_value=datetime.timedelta(days=400),
                                         min_value=datetime.timedelta(days=-400)),
    st.datetimes(min_value=datetime.datetime(1990, 1, 1), max_value=datetime.datetime(2030, 1, 1)),
    st.complex_numbers(max_magnitude=10, allow_nan=False), st.tuples(st.integers(0, 2)),
)


@st.composite
def columns(draw, n: int, allow_exotic: bool = True) -> pd.Series:
    kind = draw(st.sampled_from(["ints", "floats", "text", "mixed", "category", "id", "exotic"]
                                if allow_exotic else ["ints", "floats", "text", "mixed", "category", "id"]))
    if kind == "ints":
        return pd.Series(draw(st.lists(st.integers(-5, 40), min_size=n, max_size=n)), dtype="int64")
    if kind == "floats":
        return pd.Series(draw(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=n,
                                       max_size=n)), dtype=float)
    if kind == "text":
        return pd.Series(draw(st.lists(st.text(max_size=6), min_size=n, max_size=n)), dtype=object)
    if kind == "category":
        return pd.Series(draw(st.lists(st.sampled_from(["physio", "control", "a", "b"]), min_size=n, max_size=n)),
                         dtype="category")
    if kind == "id":  # a plausible subject column: repeated ids
        k = draw(st.integers(1, max(1, n)))
        return pd.Series([f"s{i % k}" for i in range(n)], dtype=object)
    if kind == "exotic":
        return pd.Series(draw(st.lists(exotic, min_size=n, max_size=n)), dtype=object)
    return pd.Series(draw(st.lists(scalars, min_size=n, max_size=n)), dtype=object)


@st.composite
def frames(draw, allow_exotic: bool = True, max_rows: int = 8) -> pd.DataFrame:
    n = draw(st.integers(0, max_rows))
    cols = draw(st.lists(names, min_size=0, max_size=7, unique=True))
    # often a frame that gets far: the required roles present with plausible values
    if draw(st.booleans()):
        k = max(1, n // 2)
        base = {"subject": [f"s{i % k}" for i in range(n)], "arm": [("physio", "control")[i % k % 2] for i in range(n)],
                "visit": [float(i // k) * 12 for i in range(n)]}
        out = pd.DataFrame(base)
        for c in cols:
            if c not in out.columns:
                out[c] = draw(columns(n, allow_exotic)).to_numpy()
        return out
    return pd.DataFrame({c: draw(columns(n, allow_exotic)).to_numpy() for c in cols}, index=range(n))


def _digest_frame(frame: pd.DataFrame) -> bytes:
    return pickle.dumps((list(frame.columns), [frame[c].tolist() for c in frame.columns], list(frame.dtypes)))


def check_outcome(source, **kwargs) -> None:
    """The property: a validated Trial, or a DataError (IdentifierError included); nothing else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            trial = ct.load(source, **kwargs)
        except ct.DataError as e:
            assert str(e)  # a sentence, never empty
            assert "\x1b" not in str(e)
            return
    data = trial.data
    assert trial.n_subjects > 0 and len(data) > 0
    assert list(data.columns[:3]) == ["subject", "arm", "visit"]
    assert data["subject"].notna().all() and data["arm"].notna().all()
    assert np.isfinite(data["visit"].to_numpy(dtype=float)).all() and (data["visit"] >= 0).all()
    assert not data.duplicated(["subject", "visit"]).any()
    for outcome in trial.outcomes:
        values = data[outcome].to_numpy(dtype=float)
        inst = trial.instruments[outcome]
        ok = np.isnan(values) | np.isfinite(values)
        assert ok.all()
        if inst.low is not None:
            assert (np.isnan(values) | (values >= inst.low)).all()
        if inst.high is not None:
            assert (np.isnan(values) | (values <= inst.high)).all()
    trial.subjects, trial.visits, repr(trial)  # noqa: B018 - the derived views work on whatever loaded


def _known(**columns) -> pd.DataFrame:
    base = {"subject": ["a", "a", "b", "b"], "arm": ["physio", "physio", "control", "control"],
            "visit": [0.0, 12.0, 0.0, 12.0], "pain": [5.0, 3.0, 6.0, 4.0]}
    return pd.DataFrame({**base, **columns})


@FUZZ
@given(frame=frames())
# the reproductions of issue 10, always run: nested, duration and byte cells, reserved-looking names
@example(frame=_known(subject=pd.Series([["a"], ["a"], ["b"], ["b"]], dtype=object)))
@example(frame=_known(arm=pd.Series([{"x": 1}] * 4, dtype=object)))
@example(frame=_known(subject=pd.to_timedelta([1, 1, 2, 2], unit="D")))
@example(frame=_known(site=pd.Series([b"\xff", b"ok", b"ok", b"ok"], dtype=object)))
@example(frame=_known(_row=[1, 2, 3, 4], _order=[4, 3, 2, 1]))
@example(frame=_known(visit=["Week -2", "Week 12", "W0", "W12"]))
@example(frame=_known(age=[-5, -5, 40, 40]))
def test_fuzz_frames(frame):
    before = _digest_frame(frame)
    check_outcome(frame)
    assert _digest_frame(frame) == before  # the caller's frame is never modified


def _write(frame: pd.DataFrame, path, fmt: str, encoding: str) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False, encoding=encoding)
    elif fmt == "parquet":
        frame.to_parquet(path)
    elif fmt == "xlsx":
        frame.to_excel(path, index=False)
    elif fmt == "dta":
        frame.to_stata(path, write_index=False, version=118)
    else:
        pyreadstat = pytest.importorskip("pyreadstat")
        pyreadstat.write_xport(frame, str(path), file_format_version=5)


@FUZZ
@given(frame=frames(allow_exotic=False, max_rows=6), fmt=st.sampled_from(["csv", "parquet", "xlsx", "dta", "xpt"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]), declare=st.booleans(),
       data=st.data())
def test_fuzz_files(tmp_path_factory, frame, fmt, encoding, declare, data):
    path = tmp_path_factory.mktemp("fuzz") / f"trial.{fmt}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _write(frame, path, fmt, encoding)
    except Exception:  # noqa: BLE001 - a frame the format cannot hold is not a loader case
        assume(False)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    kwargs = {"encoding": encoding} if declare and fmt == "csv" else {}
    check_outcome(path, **kwargs)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


@FUZZ
@given(fmt=st.sampled_from(["csv", "parquet", "xlsx", "dta", "xpt", "sav"]), cut=st.floats(0.05, 0.98),
       noise=st.binary(max_size=40), data=st.data())
def test_fuzz_damaged_files(tmp_path_factory, fmt, cut, noise, data):
    """Valid files cut short or with bytes overwritten: a DataError or a valid Trial, never a raw exception."""
    pyreadstat = pytest.importorskip("pyreadstat")
    n = 10
    frame = pd.DataFrame({"subject": np.repeat([f"s{i}" for i in range(n)], 2), "arm": ["physio", "physio",
                          "control", "control"] * (n // 2), "visit": np.tile([0.0, 12.0], n),
                          "pain": np.tile([0.0, 4.5], n)})
    path = tmp_path_factory.mktemp("dmg") / f"trial.{fmt}"
    if fmt == "sav":
        pyreadstat.write_sav(frame, str(path))
    else:
        _write(frame, path, fmt, "utf-8")
    raw = path.read_bytes()
    at = int(len(raw) * cut)
    damaged = raw[:at] if data.draw(st.booleans()) else raw[:at] + noise + raw[at + len(noise):]
    path.write_bytes(damaged)
    check_outcome(path)
    assert path.read_bytes() == damaged


@FUZZ
@given(text=st.text(max_size=200), encoding=st.sampled_from(["utf-8", "latin-1", "utf-16", "cp1252"]),
       sep=st.sampled_from([None, ";", ","]), decimal=st.sampled_from([None, ","]))
def test_fuzz_text_bytes(tmp_path_factory, text, encoding, sep, decimal):
    path = tmp_path_factory.mktemp("txt") / "trial.csv"
    try:
        body = ("subject,arm,visit,pain\n" + text).encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    path.write_bytes(body)
    check_outcome(path, sep=sep, decimal=decimal)
    assert path.read_bytes() == body
