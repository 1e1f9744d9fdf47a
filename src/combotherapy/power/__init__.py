"""Planning the next trial: simulation-based power and sample size for the combination claims.

:func:`power` simulates trials from a :class:`~combotherapy.power.design.Design` (the simulator's model), analyses
each (ANCOVA on arrays, or any catalog model through the inference interface) and returns power with Monte Carlo
standard errors per contrast, per claim and for the combination verdict, plus the type I error under the global
null. :func:`sample_size` finds the smallest n reaching a target power. Modules: ``design`` (the design and the
draw), ``analyse`` (one trial's analysis, the decisions, the table), ``runner`` (seeds, Dask, resumable batches).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..results import Fitted, Result
from .analyse import power_table
from .design import POWER_COVARIATES, POWER_OUTCOMES, Design, effects_from_pilot, make_design
from .runner import run
from .search import SampleSizeResult, sample_size  # noqa: E402  (search imports power from here)

__all__ = ["power", "sample_size", "PowerResult", "SampleSizeResult", "Design", "make_design", "effects_from_pilot",
           "POWER_OUTCOMES", "POWER_COVARIATES", "run_design_file", "read_design_file"]


class PowerResult(Result):
    """Result of :func:`power`, in the shared result vocabulary (:class:`combotherapy.results.Result`).

    Attributes
    ----------
    table : DataFrame
        The tidy power table: ``truth`` (``"design"`` or ``"null"``: the type I error), ``n`` (per allocation
        unit), ``n_total``, ``kind`` (``contrast``: two-sided at alpha; ``contrast_holm``: Holm within the
        outcome's contrasts, as ``ct.ancova``; ``one_sided``: the combination rule's components; ``combination``:
        the intersection-union verdict; ``claim``: the verdict after Holm over the outcomes (claims); ``family``:
        any / every claim; with ``analysis="claims"``: ``claim_verdict`` (``outcome`` is the claim id; ``test``
        ``supported``, ``supported, at least the MID`` or ``inconclusive``) and ``claims_family`` (all claims,
        all combination claims, any claim supported)), ``outcome``, ``test``, ``power`` (rejection rate),
        ``mc_se`` (its Monte Carlo SE), ``ci_low``, ``ci_high`` (power +/- 1.96 MC SE), ``sims``.
    by_arm : DataFrame
        ``n, arm, ratio, size``: the subjects per arm at each n of the grid.
    contrasts : DataFrame
        The two-sided arm contrasts' power: ``truth, n, n_total, outcome, first, second, contrast, estimate``
        (the power), ``mc_se, ci_low, ci_high`` (its Monte Carlo interval), ``mean_effect`` (the mean simulated
        estimate: difference, log hazard ratio or log rate ratio), ``sims`` (empty for the claims analysis).
    sims : DataFrame
        One row per simulation: each contrast's estimate, t and df (claims: each claim's status, p and effect).
    design : Design
        The design simulated (not the randomised/observational flag of model results: a planned trial is
        randomised).
    seed : int
    """

    tables = ("table", "by_arm", "contrasts")
    # the Design (an instance attribute, shadowing Result's randomised/observational property)
    design: Design = None  # type: ignore[assignment]
    table: pd.DataFrame
    by_arm: pd.DataFrame
    contrasts: pd.DataFrame
    sims: pd.DataFrame
    seed: int

    def __init__(self, table: pd.DataFrame, sims: pd.DataFrame, design: Design, seed: int):
        what = ("the claims report (every claim's model, multiplicity " + design.multiplicity + ", verdict rule)"
                if design.analysis == "claims" else f"{design.model} contrasts and the combination rule")
        n_sims = int(table["sims"].max()) if len(table) else 0
        fitted = Fitted(model=f"simulation: {what}", alpha=design.alpha,
                        adjust=design.multiplicity if design.analysis == "claims" else "holm",
                        n_per_arm=design.sizes(design.n[0]),
                        notes=["power is the proportion of simulated trials in which the test succeeds; mc_se = "
                               "sqrt(p (1 - p) / sims); rows with truth 'null' are the type I error under the "
                               "global null.",
                               f"n_per_arm shows the first n of the grid ({design.n[0]}); by_arm lists every n.",
                               *(["Under the null, a non-inferiority claim (safety) is true: its 'supported' rate "
                                  "there is power, not a type I error."] if design.analysis == "claims" else [])],
                        extra={"seed": int(seed), "sims": n_sims, "design": "randomised"})
        super().__init__("Simulated power", fitted, table=table, by_arm=_by_arm(design),
                         contrasts=_contrasts(table, sims, design))
        self.sims, self.design, self.seed = sims, design, int(seed)

    def headline(self) -> list[str]:
        return [f"Simulated power ({self.fitted.extra['sims']} simulations per point, seed {self.seed}, "
                f"model {self.design.model if self.design.analysis != 'claims' else 'claims report'})"]

    def select(self, kind: str = "combination", truth: str = "design") -> pd.DataFrame:
        """Rows of one kind under one truth."""
        t = self.table
        return t[(t["kind"] == kind) & (t["truth"] == truth)].reset_index(drop=True)


def _by_arm(design: Design) -> pd.DataFrame:
    rows = [{"n": int(n), "arm": a, "ratio": r, "size": s} for n in design.n
            for (a, r), s in zip(zip(design.arms, design.allocation), design.sizes(n).values())]
    return pd.DataFrame(rows, columns=["n", "arm", "ratio", "size"])


def _contrasts(table: pd.DataFrame, sims: pd.DataFrame, design: Design) -> pd.DataFrame:
    cols = ["truth", "n", "n_total", "outcome", "first", "second", "contrast", "estimate", "mc_se", "ci_low",
            "ci_high", "mean_effect", "sims"]
    t = table[table["kind"] == "contrast"] if len(table) else table
    if design.analysis == "claims" or t.empty:
        return pd.DataFrame(columns=cols)
    from .analyse import pairs

    pair_of = {f"{a} - {b}": (a, b) for a, b in pairs(design)}  # the labels power_table wrote from these pairs
    first, second = zip(*(pair_of[label] for label in t["test"]))
    means = sims.groupby(["truth", "n"])[[c for c in sims.columns if c.endswith(":est")]].mean()
    mean = [float(means.loc[(tr, n), f"{o}:{a}-{b}:est"])
            for tr, n, o, a, b in zip(t["truth"], t["n"], t["outcome"], first, second)]
    out = t.assign(first=list(first), second=list(second), contrast=t["test"], estimate=t["power"], mean_effect=mean)
    return out[cols].reset_index(drop=True)


def power(design: Design | None = None, *, n_sims: int = 1000, seed: int = 2026, null: bool = True,
          batch: int = 100, workers: int | None = None, client: Any = None, folder: str | Path | None = None,
          progress: bool | None = None, **design_args: Any) -> PowerResult:
    """Simulation-based power of a planned trial: per contrast, per claim and for the combination verdict.

    Parameters
    ----------
    design : Design, optional
        A design from :func:`make_design`; or give its arguments here (``arms``, ``n`` (int or grid),
        ``allocation`` (e.g. ``"1:1:2"``), ``visits``, ``visit``, ``outcomes``, ``effects`` (mapping
        outcome -> arm -> week-12 change, or an ``Effects``), ``dropout``, ``covariates``, ``model``,
        ``alpha``, ``one_sided_alpha``; ``survival`` and ``count`` outcomes; ``analysis="claims"`` with
        ``claims`` and ``multiplicity`` for the full claims report: see :class:`~combotherapy.power.design.Design`).
    n_sims : int
        Simulated trials per design point.
    seed : int
        Root of the ``numpy.random.SeedSequence`` every simulation's seed is spawned from.
    null : bool
        Also simulate the global null (every arm the same) for the type I error (``truth == "null"`` rows).
    batch : int
        Simulations per task (the unit of parallel work and of the results folder).
    workers : int, optional
        Run on a Dask LocalCluster with this many workers (threads; ``None``: serial).
    client : dask.distributed.Client or str, optional
        An existing Dask client or a scheduler address.
    folder : path, optional
        Results folder: each finished batch is written to it whole; a rerun with the same folder, design and
        seed reads the batches back and simulates only the rest (resume after an interruption).
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).

    Returns
    -------
    PowerResult
        ``.table`` (tidy: n, power, mc_se per contrast / claim / verdict and under the null), ``.sims``.

    Notes
    -----
    With ``analysis="claims"`` each trial is drawn by :func:`combotherapy.simulate_trial`'s generator and every
    claim is decided as :func:`combotherapy.claims_report` decides it (its model, pairs, subgroup, the multiplicity
    across the testable claims, the verdict rule with the MID; :mod:`combotherapy.power.claims_path`), at level
    ``alpha``; the table's ``claim_verdict`` rows give each claim's power (``supported``, ``supported, at least
    the MID``, ``inconclusive``) and ``claims_family`` rows all / all combination / any claims supported.
    Otherwise each trial is drawn from the simulator's model (:func:`combotherapy.simulate_trial`) and analysed by ANCOVA
    of the value at ``visit`` on arm, baseline and covariates (complete cases). The combination rule is the
    intersection-union test: both one-sided contrasts ``combined - physio`` and ``combined - acupuncture`` in the
    good direction at ``one_sided_alpha``; the claims family is Holm over the outcomes' IUT p-values. Power is
    the rejection rate over ``R`` simulations and its Monte Carlo SE is ``sqrt(p (1 - p) / R)``. Simulation
    ``i`` uses the ``i``-th spawned seed at every n and under the null (common random numbers), so the table
    does not depend on the number of workers or on the order batches finish.

    References
    ----------
    Morris TP, White IR, Crowther MJ. Using simulation studies to evaluate statistical methods. Stat Med
    2019;38:2074-2102. Laska EM, Meisner MJ. Testing whether an identified treatment is best. Biometrics
    1989;45:1139-51. Holm S. Scand J Stat 1979;6:65-70.

    Example
    -------
    >>> import combotherapy as ct
    >>> res = ct.power(n=[40, 80], n_sims=50, seed=1, null=False)
    >>> res.select("combination")[["n", "power", "mc_se"]].shape
    (2, 3)
    >>> from combotherapy.claims import default_claims
    >>> claims = ct.power(analysis="claims", claims=default_claims().iloc[:2], n=[30], n_sims=5, seed=1, null=False)
    >>> sorted(set(claims.select("claim_verdict")["outcome"]))
    ['1', '2']
    """
    if design is None:
        design = make_design(**design_args)
    elif design_args:
        raise DataError(f"give a Design or its arguments, not both ({sorted(design_args)})", kind="conflict")
    if isinstance(n_sims, bool) or not isinstance(n_sims, int | np.integer) or n_sims < 1:
        raise DataError(f"n_sims must be a positive whole number, not {n_sims!r}")
    truths = ("design", "null") if null else ("design",)
    sims = run(design, n_sims=int(n_sims), seed=int(seed), truths=truths, batch=int(batch), workers=workers,
               client=client, folder=folder, progress=progress)
    return PowerResult(power_table(design, sims), sims, design, int(seed))


def _read_claims(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype={"id": str, "subgroup": str}, keep_default_na=False,
                           na_values={"visit": [""], "mid": [""]})
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read the claims table {path.name}: {e}", kind="unreadable") from None


def run_design_file(design_path: str | Path, out: str | Path, *, n_sims: int = 1000, seed: int = 2026,
                    workers: int | None = None, folder: str | Path | None = None,
                    progress: bool | None = None) -> PowerResult:
    """The ``combotherapy power`` command: read a design JSON (the arguments of :func:`make_design`), run
    :func:`power` and write the tidy table as CSV to ``out``."""
    res = power(read_design_file(design_path), n_sims=n_sims, seed=seed, workers=workers, folder=folder,
                progress=progress)
    res.to_csv(out, table="table")
    return res


def read_design_file(design_path: str | Path) -> Design:
    """The design of a JSON file holding the arguments of :func:`make_design` (the ``power`` and ``sample-size``
    commands)."""
    try:
        spec = json.loads(Path(design_path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"cannot read the design file {design_path}: {e}") from None
    if not isinstance(spec, Mapping):
        raise DataError(f"the design file {design_path} must hold a JSON object of design arguments")
    allowed = ("arms", "n", "allocation", "visits", "visit", "outcomes", "effects", "dropout", "covariates",
               "model", "alpha", "one_sided_alpha", "analysis", "claims", "multiplicity", "survival", "count")
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise DataError(f"the design file has unknown entries {unknown}; known are {list(allowed)}")
    spec = dict(spec)
    if isinstance(spec.get("claims"), str):  # a claims CSV (as default_claims' table), relative to the design file
        spec["claims"] = _read_claims(Path(design_path).parent / spec["claims"])
    elif isinstance(spec.get("claims"), list):
        spec["claims"] = pd.DataFrame(spec["claims"])
    return make_design(**spec)

