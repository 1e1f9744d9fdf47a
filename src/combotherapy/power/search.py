"""Sample size: the smallest n reaching a target power, at one allocation or searched over allocation ratios.

:func:`sample_size` brackets n by doubling from ``n_min`` and then bisects, on simulated power with common random
numbers (the same simulations at every n). With ``allocations=`` it repeats the search for each allocation (e.g.
the combined arm's share of the patients) and keeps the one with the smallest total number of patients.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, ModelError
from .design import Design, _allocation, make_design

__all__ = ["sample_size", "SampleSizeResult", "share_allocations"]


@dataclass
class SampleSizeResult:
    """Result of :func:`sample_size`: ``n`` (per allocation unit), ``sizes`` (per arm), ``power``, ``mc_se`` at
    ``n``, and ``table`` (every n tried, in the order tried). With an allocation search, ``allocation`` (the
    ratios chosen, aligned with the design's arms) and ``allocations`` (one row per allocation tried: its smallest
    n, total patients, power and MC SE, or ``reached = False`` with the largest n tried)."""

    n: int
    sizes: dict[str, int]
    power: float
    mc_se: float
    target: float
    table: pd.DataFrame
    allocation: tuple[float, ...] | None = None
    allocations: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n_total(self) -> int:
        """Patients in all arms at ``n``."""
        return int(sum(self.sizes.values()))

    def summary(self) -> str:
        text = (f"Smallest n reaching power {self.target:g}: n = {self.n} per allocation unit ({self.sizes}); "
                f"simulated power {self.power:.3f} (MC SE {self.mc_se:.3f}).")
        if self.allocation is not None and len(self.allocations):
            tried = self.allocations[self.allocations["reached"]]
            text += (f"\nAllocation searched over {len(self.allocations)} ratios: the smallest total, "
                     f"{self.n_total} patients, is at {':'.join(f'{r:g}' for r in self.allocation)}. Powers are estimates (MC SE about "
                     f"{self.mc_se:.3f} each), so totals of allocations within a few patients of each other are not "
                     f"distinguishable; totals reached: {', '.join(str(int(t)) for t in tried['n_total'])}.")
        return text


def share_allocations(arms: Sequence[str], arm: str, shares: Sequence[float]) -> list[tuple[float, ...]]:
    """Allocations giving ``arm`` each share of the patients (the other arms equal): with K arms the ratios are
    ``K s`` for ``arm`` and ``K (1 - s) / (K - 1)`` for the others, so a share of 1/K is equal allocation and n
    stays about the patients per arm.

    Example
    -------
    >>> share_allocations(["physio", "acupuncture", "combined"], "combined", [1 / 3, 0.5])
    [(1.0, 1.0, 1.0), (0.75, 0.75, 1.5)]
    """
    if arm not in arms:
        raise DataError(f"the allocation search names the arm '{arm}', which is not in the design's arms "
                        f"{list(arms)}", kind="unknown arm", arm=arm)
    k = len(arms)
    bad = [s for s in shares if not (isinstance(s, int | float) and 0 < float(s) < 1)]
    if bad or not shares:
        raise DataError(f"shares must be proportions strictly between 0 and 1; got {list(shares)}", kind="bad share")
    return [tuple(k * float(s) if a == arm else k * (1 - float(s)) / (k - 1) for a in arms) for s in shares]


def _search(design: Design, target: float, pick: Any, n_min: int, n_max: int, n_sims: int, seed: int,
            run_opts: dict[str, Any]) -> tuple[SampleSizeResult | None, pd.DataFrame, int, float, float]:
    """The bracketing search at the design's allocation: (result or None when unreachable, rows tried, largest n
    tried, its power and MC SE)."""
    from . import power as simulate_power

    seen: dict[int, pd.DataFrame] = {}
    # the smallest n giving every arm 2 subjects
    floor = max([n_min, *(math.ceil(1.5 / r) for r in design.allocation if r > 0)])

    def at(n: int) -> tuple[float, float]:
        if n not in seen:
            res = simulate_power(replace(design, n=(n,)), n_sims=n_sims, seed=seed, null=False, **run_opts)
            seen[n] = pick(res).iloc[[0]]
        row = seen[n].iloc[0]
        return float(row["power"]), float(row["mc_se"])

    lo, hi = None, min(floor, n_max)
    while at(hi)[0] < target:
        if hi >= n_max:
            p, se = at(hi)
            return None, pd.concat(seen.values(), ignore_index=True), hi, p, se
        lo, hi = hi, min(hi * 2, n_max)
    if lo is None:
        lo = floor - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if at(mid)[0] >= target:
            hi = mid
        else:
            lo = mid
    p, se = at(hi)
    table = pd.concat(seen.values(), ignore_index=True)
    return SampleSizeResult(hi, design.sizes(hi), p, se, target, table), table, hi, p, se


def sample_size(design: Design | None = None, *, target: float = 0.8, kind: str = "combination",
                outcome: str | None = None, test: str | None = None, n_min: int = 10, n_max: int = 2000,
                n_sims: int = 1000, seed: int = 2026, allocations: Any = None, **options: Any) -> SampleSizeResult:
    """Smallest n (per allocation unit) whose simulated power reaches ``target``, by a bracketing search; with
    ``allocations``, also the allocation ratio needing the fewest patients in total.

    Parameters
    ----------
    design : Design, optional
        The design (its ``n`` is ignored), or its arguments in ``options``.
    target : float
        Target power.
    kind, outcome, test : str
        Which row of the power table (default: the combination verdict of the first outcome; for the claims
        analysis e.g. ``kind="claims_family"``, ``test="all claims supported"``).
    n_min, n_max : int
        Search range.
    n_sims, seed
        Simulations per n tried, and the seed (the same simulations at every n: common random numbers).
    allocations : sequence or mapping, optional
        Allocation ratios to search over: a list of allocations (``["1:1:1", "1:1:1.5", "1:1:2"]``, tuples or
        mappings arm -> ratio), or ``{arm: shares}`` (e.g. ``{"combined": [1/3, 0.4, 0.5]}``: the combined arm's
        share of the patients, the other arms equal; see :func:`share_allocations`). The search over n is run
        at each and the allocation with the smallest total number of patients is returned.
    **options
        ``workers``, ``client``, ``progress``, ``batch`` for :func:`power`, or design arguments.

    Returns
    -------
    SampleSizeResult
        With ``allocation`` and ``allocations`` (one row per allocation tried) when searching allocations.

    Raises
    ------
    ModelError
        ``kind="unreachable"``: the target is not reached at ``n_max`` (at any allocation searched); the message
        gives the largest n tried and the power there.

    Notes
    -----
    The search doubles n from ``n_min`` until the simulated power reaches the target (bracket), then bisects
    the bracket down to one subject. Powers are estimates with Monte Carlo SE about ``sqrt(0.8 * 0.2 / n_sims)``
    near the target: with 1,000 simulations, n is the smallest reaching the target within about 0.013 power;
    common random numbers across n (and across allocations) keep the simulated curves close to monotone and the
    comparison of allocations fair. Allocations whose totals differ by a few patients are within Monte Carlo
    error of each other: raise ``n_sims`` to tell them apart.

    Example
    -------
    >>> import combotherapy as ct
    >>> ss = ct.sample_size(target=0.5, n_sims=40, n_min=20, n_max=320, seed=3)
    >>> ss.n >= 20
    True
    >>> ss = ct.sample_size(target=0.5, n_sims=40, n_min=20, n_max=320, seed=3,
    ...                     allocations={"combined": [1 / 3, 0.4]})
    >>> len(ss.allocations)
    2
    """
    run_opts: dict[str, Any] = {k: options.pop(k) for k in ("workers", "client", "progress", "batch") if k in options}
    if design is None:
        design = make_design(**options)
    elif options:
        raise DataError(f"give a Design or its arguments, not both ({sorted(options)})", kind="conflict")
    if not 0 < target < 1:
        raise DataError(f"target power must be between 0 and 1, not {target}")

    def pick(res: Any) -> pd.DataFrame:
        t = res.select(kind)
        if outcome is not None:
            t = t[t["outcome"] == outcome]
        if test is not None:
            t = t[t["test"] == test]
        if t.empty:
            raise DataError(f"no power rows of kind '{kind}' (outcome {outcome}, test {test}) for this design",
                            kind="unknown test")
        return t

    if allocations is None:
        found, _, hi, p, se = _search(design, target, pick, n_min, n_max, n_sims, seed, run_opts)
        if found is None:
            raise ModelError(f"target power {target:g} is not reached: the largest n tried is {hi} per allocation "
                             f"unit ({design.sizes(hi)}), with simulated power {p:.3f} (MC SE {se:.3f}). Raise "
                             "n_max, or revisit the effects and the design.", kind="unreachable")
        return found
    ratios = _allocation_list(allocations, design.arms)
    rows, best = [], None
    for alloc in ratios:  # a handful of allocations, each a full search
        d = replace(design, allocation=alloc)
        found, _, hi, p, se = _search(d, target, pick, n_min, n_max, n_sims, seed, run_opts)
        rows.append({"allocation": ":".join(f"{r:g}" for r in alloc), "reached": found is not None, "n": hi,
                     "n_total": int(sum(d.sizes(hi).values())), "power": p, "mc_se": se})
        if found is not None and (best is None or found.n_total < best.n_total):
            best = replace(found, allocation=alloc)
    table = pd.DataFrame(rows)
    if best is None:
        largest = table.loc[table["n_total"].idxmax()]
        raise ModelError(f"target power {target:g} is not reached at any of the {len(ratios)} allocations "
                         f"searched: the largest n tried is {int(largest['n'])} per allocation unit (allocation "
                         f"{largest['allocation']}, {int(largest['n_total'])} patients), with simulated power "
                         f"{float(largest['power']):.3f} (MC SE {float(largest['mc_se']):.3f}). Raise n_max, or "
                         "revisit the effects and the design.", kind="unreachable")
    best.allocations = table
    return best


def _allocation_list(allocations: Any, arms: Sequence[str]) -> list[tuple[float, ...]]:
    if isinstance(allocations, Mapping):
        if len(allocations) != 1:
            raise DataError("allocations as a mapping names one arm and its shares, e.g. {'combined': [0.33, 0.5]}",
                            kind="bad share")
        (arm, shares), = allocations.items()
        return share_allocations(arms, arm, list(np.atleast_1d(shares).tolist()))
    if isinstance(allocations, str) or not isinstance(allocations, Sequence) or not allocations:
        raise DataError("allocations must be a list of allocations (e.g. ['1:1:1', '1:1:2']) or {arm: shares}",
                        kind="bad allocation")
    out = [_allocation(a, arms) for a in allocations]
    bad = [a for a in out if not all(a)]
    if bad:
        raise DataError(f"the allocation {':'.join(f'{r:g}' for r in bad[0])} gives an arm a ratio of 0 (an arm of "
                        "size zero); remove the arm from the design instead", kind="empty arm")
    return out
