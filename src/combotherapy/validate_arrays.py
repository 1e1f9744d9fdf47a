"""Array checks behind :mod:`combotherapy.validate`, written for columns of millions of rows.

Each check first answers "is anything wrong?" as cheaply as numpy allows (a reduction, or a pass in cache-sized
blocks into reused buffers); only a column that fails it gets the row-by-row mask that names the rows. The answers
are exactly those of the plain expressions each function documents. Why blocks: a plain expression such as
``np.abs(v - np.rint(v)) > 0`` on a 5-million-row column makes three fresh 40-MB temporaries, and faulting their
pages in costs several times the arithmetic (50 ms against 8 ms per column here).
"""

from __future__ import annotations

import numpy as np

__all__ = ["BySubject", "any_fraction", "bounds", "column_map", "outside", "summary", "take_values"]

#: rows per block: a block of float64 and its buffers stay within a core's cache
_BLOCK = 1 << 15


def bounds(v: np.ndarray) -> tuple[float, float]:
    """The smallest and largest value, missing values (NaN) ignored: ``(nanmin, nanmax)``, NaN when none is present.

    Infinite values count: ``-inf``/``inf`` come back when the column holds them."""
    if not len(v):
        return float("nan"), float("nan")
    return float(np.fmin.reduce(v)), float(np.fmax.reduce(v))


def outside(lo: float, hi: float, low: float | None, high: float | None, low_open: bool = False) -> bool:
    """Could some value be outside ``[low, high]`` (``(low, high]`` when ``low_open``), given the column's
    :func:`bounds`? False means no present value is; True means some is."""
    if np.isnan(lo):  # nothing present
        return False
    if low is not None and (lo <= low if low_open else lo < low):
        return True
    return high is not None and hi > high


def any_fraction(v: np.ndarray) -> bool:
    """``bool((np.abs(v - np.rint(v)) > 0).any())``: does some present, finite value have a fractional part?
    (False for NaN, and for inf, whose difference from its rounding is NaN.)"""
    n = len(v)
    with np.errstate(invalid="ignore"):
        if n <= _BLOCK:
            return bool((np.abs(v - np.rint(v)) > 0).any())
        buf, flag = np.empty(_BLOCK, dtype=float), np.empty(_BLOCK, dtype=bool)
        for start in range(0, n, _BLOCK):  # blocks of rows, not a loop over rows
            if _block_fraction(v[start:start + _BLOCK], buf, flag):
                return True
    return False


def _block_fraction(x: np.ndarray, buf: np.ndarray, flag: np.ndarray) -> bool:
    """``(np.abs(x - np.rint(x)) > 0).any()`` for one block, in the reused buffers (the caller ignores invalid)."""
    r, m = buf[:len(x)], flag[:len(x)]
    np.rint(x, out=r)
    np.subtract(x, r, out=r)
    np.abs(r, out=r)
    np.greater(r, 0, out=m)
    return bool(m.any())


#: rows from which per-column array work runs in two threads (:func:`column_map`)
_THREADED_ROWS = 1 << 18


def column_map(fn, items: list, rows: int) -> list:
    """``[fn(x) for x in items]``, in two threads when the columns are long (``rows``) and the machine has two cores:
    each call is array work in Arrow or numpy, which release the GIL, so two columns convert at once. The results
    are the same and in the same order; an error in a call is raised here as in the loop."""
    import os

    if rows < _THREADED_ROWS or len(items) < 2 or (os.cpu_count() or 1) < 2:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2, thread_name_prefix="combotherapy-columns") as pool:
        return list(pool.map(fn, items))


def take_values(values: np.ndarray, codes: np.ndarray, missing=np.nan) -> np.ndarray:
    """``np.append(values, missing)[codes]``: each row's value from its code into the distinct values (-1 = missing;
    floats by default, or integers such as new codes with ``missing=-1``).

    Arrow's take does it: it reads the small integer codes as they are (numpy first converts them to a new array of
    64-bit indices) and writes into memory its pool has already touched, about 2.5 times faster on a 5-million-row
    column. The array returned is read-only, as pandas' own ``to_numpy`` views are."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = np.asarray(values, dtype=float) if isinstance(missing, float) else np.asarray(values)
    codes = np.asarray(codes)
    table = np.concatenate([np.array([missing], dtype=values.dtype), values])  # code + 1: missing (-1) comes first
    if len(codes) < _BLOCK or codes.dtype.kind != "i" or codes.dtype.itemsize > 4:
        return table[codes + 1]
    if len(table) > np.iinfo(codes.dtype).max:
        codes = codes.astype(np.int32)
    shifted = codes + codes.dtype.type(1)  # pandas' codes are int8 below 127 categories: the shift stays in range
    return pc.take(pa.array(table), pa.array(shifted)).to_numpy(zero_copy_only=False)


def summary(v: np.ndarray, integer: bool) -> tuple[float, float, bool]:
    """``(*bounds(v), integer and any_fraction(v))`` in one pass over the column, block by block (three passes over a
    column of millions of rows read its memory three times)."""
    n = len(v)
    if n <= _BLOCK:
        return (*bounds(v), bool(integer) and any_fraction(v))
    lo = hi = np.nan
    fraction = False
    buf = np.empty(_BLOCK, dtype=float)
    flag = np.empty(_BLOCK, dtype=bool)
    with np.errstate(invalid="ignore"):
        for start in range(0, n, _BLOCK):  # blocks of rows, not a loop over rows
            x = v[start:start + _BLOCK]
            lo = np.fmin(lo, np.fmin.reduce(x))  # fmin and fmax ignore NaN: the reduction of the whole column
            hi = np.fmax(hi, np.fmax.reduce(x))
            if integer and not fraction:
                fraction = _block_fraction(x, buf, flag)
    return float(lo), float(hi), fraction


class BySubject:
    """Rows grouped by subject code once (missing subjects left out), for per-subject checks.

    ``s_codes``: each row's subject code, -1 = missing. A file written subject by subject, with codes numbered in
    order of first appearance (the common case, and what the readers produce), is recognised: its rows are the
    groups as they stand, and no index arrays are built.
    """

    def __init__(self, s_codes: np.ndarray):
        codes = np.asarray(s_codes)
        n = len(codes)
        self._codes = codes
        self._same: np.ndarray | None = None
        step = np.diff(codes) if n and int(codes[0]) == 0 else None
        if step is not None and bool(((step >= 0) & (step <= 1)).all()):
            # codes 0, 0, 1, 1, 1, 2, ...: every row present and in its subject's group, groups numbered in order
            self.rows = None
            self.all_rows = True
            self.starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
            self.subjects = np.arange(len(self.starts), dtype=codes.dtype)
            self.group = codes
            return
        rows = np.flatnonzero(codes >= 0)
        present = codes[rows]
        if len(present) > 1 and (present[1:] < present[:-1]).any():  # not already grouped: a stable sort groups them
            order = np.argsort(present, kind="stable")
            rows, present = rows[order], present[order]
        self.rows = rows
        self.all_rows = len(rows) == n and bool((np.diff(rows) == 1).all()) if len(rows) else False
        self.starts = np.flatnonzero(np.r_[True, present[1:] != present[:-1]]) if len(present) else \
            np.empty(0, np.int64)
        self.subjects = present[self.starts] if len(present) else np.empty(0, dtype=codes.dtype)
        # the group (position in ``subjects``) of each grouped row
        self.group = np.repeat(np.arange(len(self.starts)), np.diff(np.append(self.starts, len(present))))

    def _same_group(self) -> np.ndarray:
        """``group[1:] == group[:-1]``, for rows in their grouped order (computed once)."""
        if self._same is None:
            self._same = self.group[1:] == self.group[:-1]
        return self._same

    def varying(self, values: np.ndarray) -> np.ndarray:
        """Subjects (codes) with more than one distinct non-missing value: the largest differs from the smallest,
        that is, some non-missing value differs from the subject's non-missing value before it."""
        if self.rows is not None and not len(self.rows):
            return np.empty(0, dtype=np.int64)
        v = np.asarray(values, dtype=float)
        if not self.all_rows:
            v = v[self.rows]
        if len(v) > 1 and not np.isnan(v).any():
            changed = v[1:] != v[:-1]
            changed &= self._same_group()
            if not changed.any():
                return np.empty(0, dtype=np.int64)  # the common case: every subject's values agree
            return self._flagged(self.group[1:][changed])
        present = ~np.isnan(v)
        group = self.group
        if not present.all():
            v, group = v[present], group[present]
        changed = (group[1:] == group[:-1]) & (v[1:] != v[:-1])
        return self._flagged(group[1:][changed])

    def increasing_within(self, values: np.ndarray) -> bool:
        """On a file written subject by subject (the grouped layout above): do the values increase strictly within
        every subject (visits in time order)? Then no subject has two rows with one value. False when they do not,
        when a value is missing, or for another layout (the caller then counts the pairs)."""
        v = np.asarray(values, dtype=float)
        if self.rows is not None or len(v) != len(self._codes):
            return False
        if len(v) < 2:
            return True
        with np.errstate(invalid="ignore"):
            rising = v[1:] > v[:-1]  # False for NaN
        rising |= ~self._same_group()
        return bool(rising.all()) and not np.isnan(v[0])

    def varying_codes(self, codes: np.ndarray) -> np.ndarray:
        """:meth:`varying` of integer codes, -1 = missing (``varying(np.where(codes >= 0, codes, np.nan))``)."""
        c = np.asarray(codes)
        if self.all_rows and len(c) > 1 and int(c.min()) >= 0:
            changed = c[1:] != c[:-1]
            changed &= self._same_group()
            return self._flagged(self.group[1:][changed]) if changed.any() else np.empty(0, dtype=np.int64)
        return self.varying(np.where(c >= 0, c, np.nan))

    def _flagged(self, groups: np.ndarray) -> np.ndarray:
        flag = np.zeros(len(self.subjects), dtype=bool)
        flag[groups] = True
        return np.asarray(self.subjects[flag], dtype=np.int64)
