"""validate_arrays: each cheap verdict equals the plain numpy expression it stands for (on columns longer than one
block, with missing values, infinities and subjects in every order)."""

import numpy as np
import pytest

from combotherapy.validate_arrays import _BLOCK, BySubject, any_fraction, bounds, outside


def _column(rng, n, *, whole=True, nan=0.1, inf=False):
    v = rng.normal(20, 8, n)
    if whole:
        v = np.round(v)
    v[rng.random(n) < nan] = np.nan
    if inf:
        v[rng.integers(n)] = np.inf
    return v


@pytest.mark.parametrize("n", [0, 1, 7, _BLOCK, 3 * _BLOCK + 5])
def test_any_fraction_is_the_plain_expression(n):
    rng = np.random.default_rng(n)
    for whole in (True, False):
        for inf in (False, True):
            v = _column(rng, max(n, 1), whole=whole, inf=inf)[:n]
            with np.errstate(invalid="ignore"):
                expected = bool((np.abs(v - np.rint(v)) > 0).any())
            assert any_fraction(v) is expected
    # one fractional value in the last block only, and a strided view
    v = np.zeros(3 * _BLOCK + 5)
    v[-1] = 0.5
    assert any_fraction(v) and not any_fraction(v[:-1]) and any_fraction(np.repeat(v, 2)[::2])


def test_bounds_and_outside_decide_the_range_check_as_the_row_masks_do():
    rng = np.random.default_rng(4)
    for trial in range(200):
        v = _column(rng, int(rng.integers(0, 50)), whole=bool(trial % 2), nan=float(rng.random()))
        low, high = float(rng.normal(20, 15)), float(rng.normal(30, 15))
        for low_open in (False, True):
            for lo_arg, hi_arg in ((low, high), (None, high), (low, None), (None, None)):
                mask = np.zeros(len(v), dtype=bool)
                if lo_arg is not None:
                    mask |= (v <= lo_arg) if low_open else (v < lo_arg)
                if hi_arg is not None:
                    mask |= v > hi_arg
                assert outside(*bounds(v), lo_arg, hi_arg, low_open) is bool(mask.any())
    lo, hi = bounds(np.array([np.nan, -np.inf, 3.0]))
    assert lo == -np.inf and hi == 3.0
    assert all(np.isnan(bounds(np.array([np.nan, np.nan])))) and all(np.isnan(bounds(np.empty(0))))


def _varying_plain(s_codes, values):
    """The definition: subjects with more than one distinct non-missing value."""
    out = []
    for s in np.unique(s_codes[s_codes >= 0]):
        vals = values[(s_codes == s) & ~np.isnan(values)]
        if len(np.unique(vals)) > 1:
            out.append(s)
    return np.array(out, dtype=np.int64)


@pytest.mark.parametrize("layout", ["grouped", "shuffled", "missing", "renumbered"])
def test_by_subject_varying_is_the_definition(layout):
    rng = np.random.default_rng(len(layout))
    k = 300
    codes = np.repeat(np.arange(k), rng.integers(1, 6, k))
    if layout == "shuffled":
        codes = rng.permutation(codes)
    elif layout == "missing":
        codes = codes.copy()
        codes[rng.random(len(codes)) < 0.1] = -1
    elif layout == "renumbered":
        codes = (k - 1) - codes  # grouped, but numbered backwards
    by = BySubject(codes)
    for nan in (0.0, 0.3):
        constant = rng.integers(0, 4, k).astype(float)[np.maximum(codes, 0)]
        constant[rng.random(len(codes)) < nan] = np.nan
        changed = constant.copy()
        flip = rng.random(len(codes)) < 0.02
        changed[flip] += 1
        for values in (constant, changed):
            np.testing.assert_array_equal(by.varying(values), _varying_plain(codes, values))
        arm = rng.integers(0, 3, k)[np.maximum(codes, 0)]
        arm[rng.random(len(codes)) < 0.01] = 2
        if nan:
            arm[rng.random(len(codes)) < nan] = -1
        np.testing.assert_array_equal(by.varying_codes(arm),
                                      _varying_plain(codes, np.where(arm >= 0, arm, np.nan).astype(float)))
    assert BySubject(np.empty(0, dtype=np.intp)).varying(np.empty(0)).size == 0
    assert BySubject(np.array([-1, -1])).varying(np.array([1.0, 2.0])).size == 0


@pytest.mark.parametrize("dtype,k", [(np.int8, 126), (np.int8, 127), (np.int16, 1000), (np.int32, 100),
                                     (np.int64, 100)])
@pytest.mark.parametrize("n", [10, 3 * _BLOCK])
def test_take_values_is_append_and_index(dtype, k, n):
    from combotherapy.validate_arrays import take_values

    rng = np.random.default_rng(k)
    codes = rng.integers(-1, k, n).astype(dtype)
    codes[0] = k - 1
    values = rng.normal(size=k)
    np.testing.assert_array_equal(take_values(values, codes), np.append(values, np.nan)[codes])
    mapping = rng.integers(-1, 50, k).astype(dtype)  # new codes, -1 for a dropped category
    taken = take_values(mapping, codes, missing=-1)
    np.testing.assert_array_equal(taken, np.append(mapping, -1)[codes])
    assert taken.dtype == mapping.dtype


def test_increasing_within_means_no_subject_has_a_visit_twice():
    rng = np.random.default_rng(8)
    for trial in range(300):
        k = int(rng.integers(1, 8))
        sizes = rng.integers(1, 5, k)
        codes = np.repeat(np.arange(k), sizes)
        visits = np.concatenate([np.sort(rng.choice([0.0, 4.0, 8.0, 12.0, np.nan], s)) for s in sizes])
        if trial % 3 == 0:
            codes = rng.permutation(codes)  # not grouped: the check declines
        by = BySubject(codes)
        known = [(c, v) for c, v in zip(codes.tolist(), visits.tolist()) if not np.isnan(v)]
        if by.increasing_within(visits):
            assert len(set(known)) == len(known), (codes, visits)  # never "no duplicates" when there are some
        rising = all(visits[i + 1] > visits[i] for i in range(len(visits) - 1) if codes[i + 1] == codes[i])
        if by.rows is None and rising and not np.isnan(visits).any():
            assert by.increasing_within(visits)  # the common case is recognised


def test_column_map_keeps_order_and_raises_as_the_loop(monkeypatch):
    from combotherapy import validate_arrays

    monkeypatch.setattr(validate_arrays, "_THREADED_ROWS", 0)
    items = list(range(50))
    assert validate_arrays.column_map(lambda x: x * x, items, rows=10) == [x * x for x in items]

    def fail(x):
        if x == 7:
            raise ValueError("seven")
        return x

    with pytest.raises(ValueError, match="seven"):
        validate_arrays.column_map(fail, items, rows=10)


@pytest.mark.parametrize("n", [0, 5, _BLOCK, 4 * _BLOCK + 3])
def test_summary_is_bounds_and_any_fraction(n):
    from combotherapy.validate_arrays import summary

    rng = np.random.default_rng(n + 1)
    for whole in (True, False):
        for inf in (False, True):
            for nan in (0.0, 0.5, 1.0):
                v = _column(rng, max(n, 1), whole=whole, inf=inf, nan=nan)[:n]
                for integer in (True, False):
                    got = summary(v, integer)
                    lo, hi = bounds(v)
                    assert got[2] is (integer and any_fraction(v))
                    np.testing.assert_array_equal(got[:2], (lo, hi))
    v = np.zeros(4 * _BLOCK + 3)
    v[-1], v[5] = 0.5, np.nan
    assert summary(v, True)[2] and not summary(v[:-1], True)[2] and summary(v, True)[:2] == (0.0, 0.5)
