"""Text columns read by Arrow, as pandas Categoricals that keep their Arrow form.

The fast readers hand the loader each text column as codes into its distinct values. Those values arrive as an Arrow
string array; pandas needs them as Python strings (the categories), but the steps after (trimming, the identifier
guard, the subject ids) work in Arrow again. Converting a million subject ids between the two forms costs about a
tenth of a second each time, so the Arrow array is remembered beside the categories it was made from
(:func:`arrow_of`), for as long as those categories exist, and used instead of a new conversion.

A column whose values are written one run after another (subject ids in a file sorted by subject: ``S1, S1, S1, S2,
S2, ...``) is numbered by its runs (:func:`codes_by_runs`): the runs' values are proven distinct by comparing each
with the next, without hashing a million strings to merge the dictionaries of the file's chunks.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

__all__ = ["arrow_of", "categorical", "coded_frame", "codes_by_runs"]

#: id(categories Index) -> (a weak reference to it, its values as an Arrow string array)
_KNOWN: dict[int, tuple[weakref.ref, object]] = {}

#: a column whose chunks' dictionaries hold more values than this is tried by runs before its dictionaries are merged
_MANY = 1 << 16


def arrow_of(categories: pd.Index):
    """The Arrow string array these categories were made from (same values, same order), or None."""
    entry = _KNOWN.get(id(categories))
    return entry[1] if entry is not None and entry[0]() is categories else None


def _remember(categories: pd.Index, values) -> None:
    key = id(categories)

    def forget(_: object) -> None:  # the categories are gone: so is their entry (and a later object's id is free)
        _KNOWN.pop(key, None)

    _KNOWN[key] = (weakref.ref(categories, forget), values)


def categorical(codes: np.ndarray, dictionary) -> pd.Categorical:
    """``codes`` (-1 = missing) into ``dictionary`` (an Arrow array of distinct strings) as a Categorical of Python
    strings; the Arrow array is remembered for :func:`arrow_of`."""
    categories = pd.Index(dictionary.to_numpy(zero_copy_only=False), dtype=object)
    try:
        # the values are distinct by construction (an Arrow dictionary, or runs proven distinct): pandas' check of
        # that, a hash of every value, is skipped
        dtype = pd.CategoricalDtype._from_fastpath(categories, False)
    except AttributeError:  # a pandas without the fast path: the public constructor checks them
        dtype = pd.CategoricalDtype(categories)
    cat = pd.Categorical.from_codes(codes, dtype=dtype, validate=False)
    _remember(cat.categories, dictionary)
    return cat


def codes_by_runs(col) -> tuple[np.ndarray, object] | None:
    """A dictionary-encoded Arrow column (chunked) numbered by its runs of equal values: codes (int32) in order of
    first appearance and the runs' values (an Arrow string array), when no value comes back after another one
    (each run's value differs from every other run's). None when the column has missing values or a value recurs.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = [c for c in col.chunks if len(c)]
    if not chunks or col.null_count:
        return None
    flags, starts = [], []
    previous = None
    for chunk in chunks:  # a loop over the file's chunks (tens to hundreds), each handled as arrays
        index = chunk.indices.to_numpy(zero_copy_only=False)
        new = np.empty(len(index), dtype=bool)
        np.not_equal(index[1:], index[:-1], out=new[1:])  # within a chunk, one index is one value
        if int(new[1:].sum()) + 1 > len(chunk.dictionary):
            return None  # more runs than values in this chunk: some value comes back (ages, sites, arms)
        first = chunk.dictionary[int(index[0])].as_py()
        new[0] = first != previous  # across chunks, the values themselves are compared
        previous = chunk.dictionary[int(index[-1])].as_py()
        flags.append(new)
        starts.append(chunk.dictionary.take(pa.array(index[new])))
    if 3 * sum(len(s) for s in starts) > 2 * len(col):
        return None  # runs of one row, mostly (a value per row, not per subject): merging the dictionaries is as cheap
    runs = pa.concat_arrays([s.cast(pa.string()) for s in starts]) if len(starts) > 1 else starts[0].cast(pa.string())
    n = len(runs)
    if runs.null_count:
        return None
    if n > 1 and not pc.all(pc.less(runs.slice(0, n - 1), runs.slice(1))).as_py():
        # not in increasing order (ids such as S1, S2, ..., S10): distinct if no value is counted twice
        if pc.count_distinct(runs).as_py() != n:
            return None
    codes = np.cumsum(np.concatenate(flags), dtype=np.int32)
    codes -= 1
    return codes, runs


def _dictionary_codes(col) -> tuple[np.ndarray, object]:
    """Codes (-1 = missing) and values of a dictionary-encoded column, its chunks' dictionaries merged."""
    import pyarrow as pa

    if col.num_chunks == 0:
        col = pa.chunked_array([pa.array([], type=col.type)])
    col = col.unify_dictionaries()
    dictionary = col.chunk(0).dictionary
    # the indices of every chunk in one array (one concatenation in C++); a null (none, as read) is code -1
    indices = pa.chunked_array([c.indices for c in col.chunks], type=col.type.index_type)
    if indices.null_count:
        indices = indices.fill_null(-1)
    return np.asarray(indices.to_numpy(), dtype=np.int32), dictionary


def coded_frame(table) -> pd.DataFrame:
    """An Arrow table whose columns are dictionary-encoded text -> a frame of pandas Categoricals (no copy of the
    text per cell: each column is its codes and its distinct values)."""
    from ..validate_arrays import column_map

    def convert(j: int) -> pd.Categorical:
        col = table.column(j)
        runs = codes_by_runs(col) if sum(len(c.dictionary) for c in col.chunks) > _MANY else None
        codes, dictionary = runs if runs is not None else _dictionary_codes(col)
        return categorical(codes, dictionary)

    columns = dict(enumerate(column_map(convert, list(range(table.num_columns)), table.num_rows)))
    frame = pd.DataFrame(columns, copy=False)
    frame.columns = table.column_names
    return frame
