"""The result of an imputation analysis, and what it keeps to re-analyse under a delta adjustment.

Every imputation method ends the same way: imputed data sets (or conditional means of resampled fits) are analysed
by ANCOVA at each visit (:mod:`.analyse`) and pooled (:mod:`.pool`). :class:`Run` keeps the pieces that do not
depend on a delta (the fitted parameters, the random draws, the bootstrap rows), so a tipping-point grid re-runs only
the cheap analysis step, with the same random numbers at every delta.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..inference import p_adjust
from ..results import Fitted, Result
from ..trial import Trial
from . import pool
from .analyse import Plan, fit_ancova
from .estimand import STRATEGIES, Estimand, describe
from .impute import impute
from .model import ImputationData

__all__ = ["Run", "ImputationResult", "delta_matrix", "estimand_of"]

RESULT_COLUMNS = ["estimate", "se", "df", "statistic", "p", "p_adj", "ci_low", "ci_high"]


def delta_matrix(imp: ImputationData, delta: float | dict | None) -> np.ndarray:
    """(n, k) shift added to imputed values: ``delta`` (a number for every arm, or ``{arm: number}``) on the values
    that are missing at or after the subject's intercurrent event (as rbmi's ``delta_template``)."""
    out = np.zeros_like(imp.Y)
    if delta is None:
        return out
    arms = imp.data.arms
    if isinstance(delta, dict):
        from ..errors import DataError
        bad = [a for a in delta if a not in arms]
        if bad:
            raise DataError(f"delta given for arm(s) {bad} that are not in the trial ({arms})")
        per_arm = np.array([float(delta.get(a, 0.0)) for a in arms])
    else:
        per_arm = np.full(len(arms), float(delta))
    post = np.arange(imp.k)[None, :] >= imp.ice[:, None]
    target = np.isnan(imp.Y) & post
    return np.where(target, per_arm[imp.data.arm_codes][:, None], 0.0)


@dataclass
class Run:
    """Delta-independent pieces of one imputation analysis."""

    imp: ImputationData
    plan: Plan
    pooling: str                               # "jackknife", "bootstrap", "rubin", "bmlmi"
    full: tuple | None = None                  # (beta, Sigma) of the full-data fit (conditional mean)
    reps: list = field(default_factory=list)   # jackknife: (i, beta, Sigma); bootstrap: (w, beta, Sigma)
    imputed: np.ndarray | None = None          # (M, n, k) imputed data (rubin) or (B*D, n, k) (bmlmi)
    rows: np.ndarray | None = None             # (B, n) bootstrap rows (bmlmi)
    per_boot: int = 1
    alpha: float = 0.05

    def pooled(self, delta: float | dict | None = None) -> dict[str, np.ndarray]:
        """Pooled ``estimate, se, df, statistic, p, ci_low, ci_high`` (and ``fmi`` for Rubin), each (r, k)."""
        dm = delta_matrix(self.imp, delta)
        X, L = self.imp.data.features, self.plan.L
        if self.pooling in ("jackknife", "bootstrap"):
            beta, Sigma = self.full
            est0 = fit_ancova(X, (impute(self.imp, beta, Sigma) + dm)[None], L)[0][0]
            reps = []
            for key, b, S in self.reps:  # loop over resamples (each a refit of the imputation model)
                w = np.ones(self.imp.n) if self.pooling == "jackknife" else key
                if self.pooling == "jackknife":
                    w[key] = 0.0
                reps.append(fit_ancova(X, (impute(self.imp, b, S) + dm)[None], L, w)[0][0])
            reps = np.stack(reps)
            out = pool.jackknife(est0, reps) if self.pooling == "jackknife" else \
                pool.bootstrap(est0, reps, self.alpha)
        elif self.pooling == "rubin":
            est, se, df = fit_ancova(X, self.imputed + dm[None], L)
            out = pool.rubin(est, se, df[0])
        else:
            B, D = len(self.rows), self.per_boot
            ests = []
            for b in range(B):  # loop over bootstrap samples: each has its own design (rows drawn)
                r = self.rows[b]
                ests.append(fit_ancova(X[r], self.imputed[b * D:(b + 1) * D] + dm[r][None], L)[0])
            out = pool.von_hippel_bartlett(np.concatenate(ests), B, D)
        return pool.interval(out, self.alpha)

    def tables(self, delta=None, adjust: str = "none") -> tuple[pd.DataFrame, pd.DataFrame]:
        """(contrasts, by_arm) tables."""
        pooled = self.pooled(delta)
        visits = self.imp.data.visits
        tab = self.plan.table
        r, k = pooled["estimate"].shape
        long = pd.DataFrame({"visit": np.tile(visits, r), "row": np.repeat(np.arange(r), k)})
        for c in ("estimate", "se", "df", "statistic", "p", "ci_low", "ci_high", "fmi"):
            if c in pooled:
                long[c] = np.asarray(pooled[c], float).ravel()
        long = long.join(tab, on="row").drop(columns="row")
        con = long[long["kind"] == "contrast"].drop(columns=["kind", "arm"])
        con.insert(len(con.columns), "p_adj", p_adjust(con["p"].to_numpy(), adjust, con["visit"].to_numpy()))
        extra = ["fmi"] if "fmi" in con.columns else []
        con = con[["visit", "first", "second", "contrast"] + RESULT_COLUMNS + extra]
        ls = long[long["kind"] == "lsmean"]
        ls = ls[["visit", "arm", "estimate", "se", "df", "ci_low", "ci_high"] + extra]
        return (con.sort_values(["visit"], kind="stable").reset_index(drop=True),
                ls.sort_values(["visit"], kind="stable").reset_index(drop=True))


def estimand_of(imp: ImputationData, trial: Trial, outcome: str, events_given: bool) -> Estimand:
    """The estimand the analysis targets, from its events, strategies and analysis."""
    k = imp.k
    has = imp.ice < k
    kinds = pd.DataFrame({"event": (imp.events["event"].to_numpy() if "event" in imp.events.columns and
                                    len(imp.events) == has.sum() else "intercurrent event"),
                          "strategy": [STRATEGIES[c] for c in imp.strategy[has]]}) if has.any() else None
    if kinds is not None:
        ev = kinds.groupby(["event", "strategy"], sort=False).size().reset_index(name="subjects")
        ev["description"] = ev["strategy"].map(describe)
        refs = ", ".join(f"{a} -> {r}" for a, r in imp.references.items() if a != r)
        if refs and ev["strategy"].isin(["J2R", "CR", "CIR"]).any():
            ev["description"] = ev["description"] + f" (imputation references: {refs})"
    else:
        ev = pd.DataFrame(columns=["event", "strategy", "subjects", "description"])
    inst = trial.instrument(outcome)
    arms = imp.data.arms
    notes = [] if events_given else ["intercurrent events derived from monotone dropout (none were given)"]
    return Estimand(
        population=f"all {imp.n} randomised subjects with a baseline value ({', '.join(arms)})",
        treatment=f"{' vs '.join(arms)}, as randomised",
        variable=f"{outcome} at each visit (weeks {', '.join(f'{v:g}' for v in imp.data.visits)}); {inst.better} "
                 "is better",
        summary="difference in means between arms, adjusted for baseline (ANCOVA at each visit)",
        events=ev, notes=notes)


class ImputationResult(Result):
    """An analysis after imputation.

    Attributes
    ----------
    contrasts : DataFrame
        ``visit, first, second, contrast, estimate, se, df, statistic, p, p_adj, ci_low, ci_high`` (and ``fmi``,
        the fraction of missing information, for Rubin's rules).
    by_arm : DataFrame
        ``visit, arm, estimate, se, df, ci_low, ci_high``: the arm means (ANCOVA EMMs, covariates at their mean).
    estimand : Estimand
        What is estimated; printed in the summary and every export (by the Result base).
    method, strategy : str
    """

    tables = ("contrasts", "by_arm")

    def __init__(self, title: str, fitted: Fitted, *, run: Run, estimand: Estimand, method: str, strategy: str,
                 trial: Trial, **tables: pd.DataFrame):
        super().__init__(title, fitted, **tables)
        self.run, self.estimand, self.method, self.strategy = run, estimand, method, strategy
        self._trial = trial
        inst = trial.instrument(fitted.outcome)
        self.instrument, self.outcome, self.better = inst, fitted.outcome, inst.better

    def contrast_at(self, visit: float | None = None) -> pd.DataFrame:
        """Contrasts at one visit (default: the last)."""
        v = self.run.imp.data.visits[-1] if visit is None else float(visit)
        return self.contrasts[np.isclose(self.contrasts["visit"], v)].reset_index(drop=True)

    def imputed_trial(self, i: int = 0) -> Trial:
        """The trial with the outcome's missing values replaced by imputed data set ``i`` (conditional mean
        methods: the conditional means), so that any analysis of the package can be run on it."""
        imp = self.run.imp
        if self.run.imputed is not None and self.run.rows is None:
            Y = self.run.imputed[i]
        elif self.run.full is not None:
            Y = impute(imp, *self.run.full)
        else:
            from ..errors import DataError
            raise DataError("bootstrapped ML imputations impute bootstrap samples, not the trial's subjects; use "
                            "approximate_bayes or conditional_mean for an imputed trial")
        d = self._trial.data
        vis = np.asarray(imp.data.visits)
        long = pd.DataFrame({"subject": np.repeat(imp.data.subjects.astype(str).to_numpy(), imp.k),
                             "visit": np.tile(vis, imp.n), "_y": Y.ravel()})
        key = d[["subject", "visit"]].astype({"subject": str, "visit": float})
        merged = key.merge(long, on=["subject", "visit"], how="left")
        new = d.copy()
        fill = merged["_y"].to_numpy()
        new[self.outcome] = np.where(np.isnan(fill), new[self.outcome].to_numpy(float), fill)
        missing_rows = long.merge(key, on=["subject", "visit"], how="left", indicator=True)
        extra = missing_rows[missing_rows["_merge"] == "left_only"]
        if len(extra):  # subjects without a row at some visit get one, carrying their subject-level columns
            first = d.drop_duplicates("subject").set_index(d.drop_duplicates("subject")["subject"].astype(str))
            add = first.loc[extra["subject"].to_numpy()].reset_index(drop=True)
            add["visit"] = extra["visit"].to_numpy()
            add[self.outcome] = extra["_y"].to_numpy()
            new = pd.concat([new, add], ignore_index=True)
            new["arm"] = pd.Categorical(new["arm"], categories=d["arm"].cat.categories, ordered=True)
            new = new.sort_values(["subject", "visit"], kind="stable").reset_index(drop=True)
        return Trial(new, self._trial.instruments, source=self._trial.source, notes=self._trial.notes,
                     design=self._trial.design)


def finish(run: Run, trial: Trial, outcome: str, *, method: str, strategy: str, events_given: bool,
           adjust: str, extra: dict) -> ImputationResult:
    """Tables, fitted record and estimand of a finished run."""
    imp = run.imp
    con, ls = run.tables(None, adjust)
    counts = np.bincount(imp.data.arm_codes, minlength=len(imp.data.arms))
    missing = int(np.isnan(imp.Y).sum())
    notes = list(imp.notes)
    notes.append(f"imputation model: MMRM of {outcome} ~ arm * visit" + (" + baseline * visit"
                 if imp.data.baseline_feature is not None else "") + f", {imp.structure.label} covariance, one "
                 "covariance for all arms; values after a non-MAR event are left out of its fit")
    notes.append(f"{missing} missing values imputed; every subject analysed (ANCOVA at each visit on "
                 f"{', '.join(n for n in imp.data.feature_names[len(imp.data.arms):])})")
    inst = trial.instrument(outcome)
    notes.append(f"positive contrasts mean the first arm scores higher on {outcome}; {inst.better} is better")
    fitted = Fitted(model=f"ANCOVA at each visit after {method}", outcome=outcome,
                    formula=f"{outcome}[visit] ~ arm + " + " + ".join(imp.data.feature_names[len(imp.data.arms):]),
                    covariance=imp.structure.label, df_method=extra.get("df_method"), adjust=adjust,
                    alpha=run.alpha, n_per_arm={a: int(c) for a, c in zip(imp.data.arms, counts)},
                    excluded=imp.data.excluded, notes=notes,
                    extra={"method": method, "strategy": strategy, "references": imp.references,
                           "missing_values": missing, **extra})
    return ImputationResult(f"{method} ({strategy}) of {outcome}", fitted, run=run,
                            estimand=estimand_of(imp, trial, outcome, events_given), method=method,
                            strategy=strategy, trial=trial, contrasts=con, by_arm=ls)
