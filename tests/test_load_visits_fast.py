"""parse_visits on a float visit column (Parquet, a DataFrame) gives what it gives on the same weeks written as text."""

import numpy as np
import pandas as pd
import pytest

from combotherapy.errors import ProblemCollector
from combotherapy.io.layout import ROW, parse_visits


def _parse(values) -> tuple[np.ndarray, list]:
    frame = pd.DataFrame({ROW: range(len(values)), "visit": values})
    problems = ProblemCollector()
    out = parse_visits(frame, None, problems)
    return out.to_numpy(dtype=float), [(p.column, p.message, p.count) for p in problems.problems]


@pytest.mark.parametrize("weeks", [[0.0, 4.0, 12.0, 0.0, 26.0], [0.0, 1e14, 52.0], [2.5, 0.0, 4.0], [0.0, -0.0, 4.0],
                                   [0.0, np.nan, 4.0], [0.0, -2.0, 4.0], [0.0, np.inf, 8.0]])
def test_float_visits_as_their_text(weeks):
    floats = np.array(weeks, dtype=float)
    text = pd.Series(floats, dtype=float).astype(object).map(lambda x: "" if np.isnan(x) else repr(x))
    got, got_problems = _parse(floats)
    want, want_problems = _parse(text.astype(object))
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    assert [p[0] for p in got_problems] == [p[0] for p in want_problems]
    assert [p[2] for p in got_problems] == [p[2] for p in want_problems]
