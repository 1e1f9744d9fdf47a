"""Small-cell disclosure control: which counts of a published table to withhold.

A count from 1 to ``k - 1`` is suppressed (primary suppression); then, because the cells of a
table satisfy linear equations (each row's arm cells add up to the overall cell, each column to
the published arm size), more cells are withheld until no equation has exactly one suppressed
cell (complementary suppression), so that no suppressed count can be recovered by one
subtraction. Table 1 (:mod:`combotherapy.table_one`) uses it for ``suppress_below=k``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["complementary_suppression", "SHOWN", "PRIMARY", "COMPLEMENTARY"]

#: codes returned by :func:`complementary_suppression`
SHOWN, PRIMARY, COMPLEMENTARY = 0, 1, 2


def complementary_suppression(grid: np.ndarray, k: int, columns_constrained: bool) -> np.ndarray:
    """Suppression codes for a count grid (rows = levels [+ missing], columns = arms + overall).

    Parameters
    ----------
    grid : ndarray of shape (r, c)
        Counts. The last column is the overall count of each row (the sum of the others).
    k : int
        Counts from 1 to ``k - 1`` are suppressed (zeros stay, as in the CMS cell-size policy).
    columns_constrained : bool
        Whether every column's sum is published too (the arm sizes), adding one equation per column.

    Returns
    -------
    ndarray of int, shape (r, c)
        0 = shown, 1 = primary (``1 <= count < k``), 2 = complementary.

    Notes
    -----
    Every row satisfies ``sum(arm cells) = overall cell`` and, when ``columns_constrained``,
    every column sums to the published arm size. While an equation has exactly one suppressed
    cell, its smallest positive shown cell is suppressed too (a zero only when no positive one
    is left). This stops recovery by subtraction, not every interval inference (no
    linear-programming audit).

    References
    ----------
    Hundepool A et al. (2012). Statistical Disclosure Control. Wiley, chapter 4 (table protection).

    Example
    -------
    >>> import numpy as np
    >>> complementary_suppression(np.array([[5, 30, 40, 75]]), 11, columns_constrained=False).tolist()
    [[1, 2, 0, 0]]
    """
    grid = np.asarray(grid, dtype=float)
    code = np.where((grid >= 1) & (grid < k), PRIMARY, SHOWN)
    lines = [("row", i) for i in range(grid.shape[0])]
    if columns_constrained:
        lines += [("col", j) for j in range(grid.shape[1])]
    changed = True
    # loops over the table's equations (a handful of levels and arms), not over subjects
    while changed:  # terminates: each pass suppresses at least one more cell or stops
        changed = False
        for axis, i in lines:
            codes = code[i, :] if axis == "row" else code[:, i]
            values = grid[i, :] if axis == "row" else grid[:, i]
            if np.count_nonzero(codes) != 1:
                continue
            shown = np.flatnonzero(codes == SHOWN)
            if shown.size == 0:
                continue
            positive = shown[values[shown] > 0]
            pool = positive if positive.size else shown
            pick = pool[np.argmin(values[pool])]
            if axis == "row":
                code[i, pick] = COMPLEMENTARY
            else:
                code[pick, i] = COMPLEMENTARY
            changed = True
    return code
