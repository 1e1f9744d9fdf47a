"""Reading study-level files: one row per study arm, per contrast, or per study with numbered arm columns.

Study-level files hold published aggregate results. Author and study-label columns are publication metadata, not
patient identifiers: the identifier guard (:func:`combotherapy.privacy.check_identifiers`) runs with
``kind="study"``, which does not search those columns for names, dates or ages but still refuses e-mail
addresses, phone numbers, record numbers and the like (a patient-level file passed here by mistake).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, ProblemCollector
from ..io.readers import read_source
from ..privacy import check_identifiers

__all__ = ["read_studies", "arms_from_wide", "study_layout"]


def read_studies(source: str | os.PathLike | pd.DataFrame, *, columns: Mapping[str, str] | None = None,
                 encoding: str | None = None, sheet: str | int | None = None,
                 allow_identifiers: Sequence[str] = ()) -> pd.DataFrame:
    """Read a study-level file (csv, tsv, parquet, excel, stata, sas) without modifying it.

    Parameters
    ----------
    source : path or DataFrame
    columns : mapping, optional
        ``{"name used by the analysis": "column in the file"}``, e.g. ``{"study": "author", "event": "resp"}``.
    encoding, sheet
        As :func:`combotherapy.load`.
    allow_identifiers : sequence of str
        Columns (as named in the file) that the identifier guard is told to let through, after checking them.

    Returns
    -------
    DataFrame
        The rows as read (no row is dropped), columns renamed; text cells stripped of surrounding spaces;
        ``attrs["layout"]`` is ``"arms"``, ``"contrasts"`` or ``"wide"`` (see :func:`study_layout`).

    Raises
    ------
    IdentifierError
        A column holds direct identifiers beyond publication metadata (``kind="study"`` of the guard); no value
        is shown.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"author": ["Ng", "Ng"], "arm": ["A", "B"], "events": [3, 5], "total": [20, 21]})
    >>> read_studies(d, columns={"study": "author"}).attrs["layout"]
    'arms'
    """
    frame, name = read_source(source, encoding=encoding, sheet=sheet)
    # before any rename, so that the guard's messages name the file's own columns; author/study labels pass
    check_identifiers(frame, kind="study", allow=allow_identifiers)
    p = ProblemCollector()
    if columns:
        for target, col in columns.items():
            if col not in frame.columns:
                p.add(col, f"is not a column of {name} (wanted as {target!r})")
        p.raise_if_any(message=f"read_studies(): columns not found in {name}.")
        frame = frame.rename(columns={v: k for k, v in columns.items()})
    if frame.empty:
        raise DataError(f"{name} has no rows")
    text = frame.select_dtypes(include=["object", "string"]).columns
    frame[text] = frame[text].apply(lambda s: s.str.strip())
    frame.attrs["layout"] = study_layout(frame)
    return frame


def study_layout(frame: pd.DataFrame) -> str:
    """``"contrasts"`` (treat1/treat2 with TE/seTE), ``"wide"`` (treat1, treat2, ... with numbered arm columns
    but no TE) or ``"arms"`` (one row per arm)."""
    cols = set(frame.columns)
    if {"treat1", "treat2"} <= cols and ({"TE", "seTE"} <= cols or {"yi", "sei"} <= cols):
        return "contrasts"
    if {"treat1", "treat2"} <= cols:
        return "wide"
    return "arms"


def arms_from_wide(frame: pd.DataFrame, study: str | None = None) -> pd.DataFrame:
    """One row per arm from a one-row-per-study file with numbered arm columns (``treat1, event1, n1, treat2,
    ...``), as netmeta's ``smokingcessation``. Absent arms (empty treatment) are left out; the study label is
    ``study`` or the row number.

    Examples
    --------
    >>> import pandas as pd
    >>> w = pd.DataFrame({"treat1": ["A"], "event1": [3], "n1": [20], "treat2": ["B"], "event2": [5], "n2": [21],
    ...                   "treat3": [""], "event3": [None], "n3": [None]})
    >>> arms_from_wide(w)[["study", "arm", "treat"]].values.tolist()
    [['1', 1, 'A'], ['1', 2, 'B']]
    """
    stubs = sorted({m.group(1) for c in frame.columns if (m := re.fullmatch(r"(.+?)(\d+)", str(c)))})
    if "treat" not in stubs:
        raise DataError("a wide study file needs numbered treatment columns treat1, treat2, ...")
    w = frame.copy()
    w["study"] = (w[study].astype(str) if study else pd.Series(np.arange(1, len(w) + 1), index=w.index).astype(str))
    keep = ["study"] + [c for c in w.columns if re.fullmatch(rf"({'|'.join(map(re.escape, stubs))})\d+", str(c))]
    long = pd.wide_to_long(w[keep], stubs, i="study", j="arm").reset_index()
    t = long["treat"]
    present = t.notna() & (t.astype(str).str.strip() != "")
    order = pd.Series(np.arange(len(frame)), index=w["study"].to_numpy())
    long = long[present].assign(_o=lambda f: f["study"].map(order)).sort_values(["_o", "arm"]).drop(columns="_o")
    return long.reset_index(drop=True)
