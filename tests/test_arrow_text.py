"""io.arrow_text: text columns numbered by their runs, and Categoricals that remember their Arrow text, give exactly
what the dictionary-merging path and a conversion of Python strings give."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from test_load_fast import CASES, _outcome, _same, _write

import combotherapy as ct
from combotherapy.io import arrow_text, readers
from combotherapy.io.cells import stripped_categories


def _chunked(values: list, size: int) -> pa.ChunkedArray:
    """Values in chunks of ``size``, each chunk dictionary-encoded on its own (as Arrow's readers make them)."""
    return pa.chunked_array([pa.array(values[i:i + size], type=pa.string()).dictionary_encode()
                             for i in range(0, len(values), size)])


def _factorized(values: list) -> tuple[np.ndarray, list]:
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    return codes, list(uniques)


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_runs_number_the_values_as_factorize_does(size):
    ids = [f"S{i:04d}" for i in range(40)]
    sorted_rows = [s for s in ids for _ in range(3)]
    unsorted = [f"S{i}" for i in range(1, 25)]  # S1, S2, ..., S10: not increasing as text, still never recurring
    unsorted_rows = [s for s in unsorted for _ in range(2)]
    for rows in (sorted_rows, unsorted_rows):
        codes, runs = arrow_text.codes_by_runs(_chunked(rows, size))
        expected_codes, expected = _factorized(rows)
        np.testing.assert_array_equal(codes, expected_codes)
        assert runs.to_pylist() == expected and codes.dtype == np.int32


def test_runs_decline_recurring_values_and_missing_ones():
    assert arrow_text.codes_by_runs(_chunked(["a", "a", "b", "a"], 2)) is None  # 'a' comes back
    assert arrow_text.codes_by_runs(_chunked(["a", "b", "b", "a"], 10)) is None
    assert arrow_text.codes_by_runs(_chunked(["a", None, "b"], 10)) is None
    # a dictionary that repeats a value (two indices, one text) is a new run by index: the repeat is then caught
    repeated = pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array([0, 1, 2], pa.int32()),
                                                                pa.array(["a", "a", "b"]))])
    assert arrow_text.codes_by_runs(repeated) is None


def test_coded_frame_takes_runs_or_merged_dictionaries_alike(monkeypatch):
    rows = [f"S{i:03d}" for i in range(50) for _ in range(4)]
    table = pa.table({"subject": _chunked(rows, 7), "arm": _chunked(["a", "b"] * 100, 9)})
    merged = arrow_text.coded_frame(table)
    monkeypatch.setattr(arrow_text, "_MANY", 0)  # every column tried by runs (the arm column recurs: merged)
    by_runs = arrow_text.coded_frame(table)
    pd.testing.assert_frame_equal(by_runs, merged)
    for col in ("subject", "arm"):
        assert by_runs[col].astype(object).tolist() == table.column(col).to_pylist()


def test_categoricals_remember_their_arrow_text_while_they_live():
    values = pa.array(["x", "y"])
    cat = arrow_text.categorical(np.array([0, 1, -1, 0], dtype=np.int32), values)
    assert arrow_text.arrow_of(cat.categories) is values
    assert cat.astype(object).tolist()[:2] == ["x", "y"] and pd.isna(cat[2])
    assert arrow_text.arrow_of(pd.Categorical(["x", "y"]).categories) is None
    key = id(cat.categories)
    del cat
    gc.collect()
    assert key not in arrow_text._KNOWN


def test_trimmed_categories_from_arrow_equal_the_conversion_of_python_strings():
    texts = [" a", "b ", "\tc\n", "", "NA", "Ü  ", "x y"]
    known = arrow_text.categorical(np.arange(len(texts), dtype=np.int32), pa.array(texts))
    plain = pd.Categorical.from_codes(np.arange(len(texts)), categories=pd.Index(texts, dtype=object))
    a, bounds_a = stripped_categories([pd.Series(known), pd.Series(plain)])
    b, bounds_b = stripped_categories([pd.Series(plain), pd.Series(plain)])
    pd.testing.assert_series_equal(a, b)
    np.testing.assert_array_equal(bounds_a, bounds_b)
    both, _ = stripped_categories([pd.Series(known), pd.Series(known)])
    pd.testing.assert_series_equal(both, b)


@pytest.mark.parametrize("case", list(CASES))
def test_loading_by_runs_gives_what_the_careful_path_gives(case, tmp_path, monkeypatch):
    """test_load_fast's messy exports, with every column tried by runs (ids padded, recurring, missing...)."""
    text, kwargs = CASES[case]
    path = _write(tmp_path, "trial.csv", text)
    monkeypatch.setattr(arrow_text, "_MANY", 0)
    fast = _outcome(path, **kwargs)
    monkeypatch.setattr(readers, "_read_text_coded", lambda *a, **k: None)
    monkeypatch.setattr(readers, "_read_parquet_coded", lambda *a, **k: None)
    _same(fast, _outcome(path, **kwargs))


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_parquet_text_by_runs_both_ways(order, tmp_path, monkeypatch):
    data = ct.simulate_trial(n_per_arm=40, seed=11).data
    data = data.assign(arm=data["arm"].astype(str), site=np.where(np.arange(len(data)) % 3, "north", " south"))
    if order == "shuffled":
        data = data.sample(frac=1.0, random_state=2).reset_index(drop=True)
    path = tmp_path / "t.parquet"
    data.to_parquet(path, index=False, row_group_size=37)  # many chunks, runs split across them
    monkeypatch.setattr(arrow_text, "_MANY", 0)
    fast = _outcome(path)
    monkeypatch.setattr(readers, "_read_parquet_coded", lambda *a, **k: None)
    _same(fast, _outcome(path))


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_a_file_past_the_block_size_both_ways(ext, tmp_path, monkeypatch):
    """More rows than one block of validate_arrays (the Arrow takes and blocked checks engage), ids by runs, columns
    converted in two threads, a few missing cells: the fast path's Trial equals the careful path's."""
    from combotherapy import validate_arrays
    from combotherapy.validate_arrays import _BLOCK

    data = ct.simulate_trial(n_per_arm=2600, seed=21).data
    data = data.assign(arm=data["arm"].astype(str))
    assert len(data) > _BLOCK
    data.loc[data.index[::97], "pain"] = np.nan
    path = tmp_path / f"big.{ext}"
    data.to_csv(path, index=False) if ext == "csv" else data.to_parquet(path, index=False, row_group_size=5000)
    monkeypatch.setattr(arrow_text, "_MANY", 1000)
    monkeypatch.setattr(validate_arrays, "_THREADED_ROWS", 0)  # columns converted two at a time, as on a registry
    fast = _outcome(path)
    assert isinstance(fast[0], pd.DataFrame) and len(fast[0]) == len(data)
    monkeypatch.setattr(readers, "_read_text_coded", lambda *a, **k: None)
    monkeypatch.setattr(readers, "_read_parquet_coded", lambda *a, **k: None)
    _same(fast, _outcome(path))
