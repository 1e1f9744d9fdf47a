"""Study-level files: reading (no identifier guard, no row dropped), layouts, wide -> arm rows."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import combotherapy as ct
from combotherapy import meta

DS = Path(__file__).parents[1] / "src/combotherapy/datasets"


def test_read_studies_keeps_author_columns_and_every_row(tmp_path):
    src = DS / "netmeta_Baker2009/baker2009.csv"
    before = src.read_bytes()
    d = meta.read_studies(src)
    assert len(d) == 94 and "study" in d.columns   # author-year labels: publication metadata, not identifiers
    assert d.attrs["layout"] == "arms"
    assert src.read_bytes() == before               # input never modified
    c = meta.read_studies(DS / "netmeta_Senn2013/senn2013.csv", columns={"study": "studlab"})
    assert c.attrs["layout"] == "contrasts" and "study" in c.columns


def test_read_studies_errors():
    with pytest.raises(ct.DataError, match="'nope': is not a column"):
        meta.read_studies(pd.DataFrame({"a": [1]}), columns={"study": "nope"})
    with pytest.raises(ct.DataError, match="no rows"):
        meta.read_studies(pd.DataFrame({"a": []}))


def test_arms_from_wide_smoking_cessation():
    w = meta.read_studies(DS / "netmeta_smokingcessation/smokingcessation.csv")
    assert w.attrs["layout"] == "wide"
    arms = meta.arms_from_wide(w)
    assert len(arms) == 2 * 22 + 3 * 2 == 50
    assert arms.groupby("study").size().value_counts().to_dict() == {2: 22, 3: 2}
    assert arms["study"].iloc[:3].tolist() == ["1", "1", "1"]
    with pytest.raises(ct.DataError, match="treat1"):
        meta.arms_from_wide(pd.DataFrame({"x1": [1]}))


def test_reported_contrasts_from_confidence_intervals():
    d = pd.DataFrame({"study": ["a", "b"], "hr": [0.8, 1.1], "lo": [0.6, 0.9], "hi": [1.0, 1.4]})
    es = meta.escalc("GEN", d, yi=np.log(d["hr"]).to_numpy(), ci_low=np.log(d["lo"]).to_numpy(),
                     ci_high=np.log(d["hi"]).to_numpy(), study="study")
    np.testing.assert_allclose(es["sei"], (np.log(d["hi"]) - np.log(d["lo"])) / (2 * 1.959963984540054))
    with pytest.raises(ct.DataError, match="above the upper limit"):
        meta.escalc("GEN", d, yi=[0.1, 0.2], ci_low=[0.3, 0.1], ci_high=[0.2, 0.3], study="study")


def test_docstring_examples_run():
    import doctest

    from combotherapy.meta import io
    assert doctest.testmod(io, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE).failed == 0
