"""The graph-theoretical (weighted least squares) machinery of contrast-based network meta-analysis.

Shared by :mod:`network` (treatment effects) and :mod:`component` (component effects). Multi-arm studies are
handled as netmeta does (Rücker 2012): the pairwise variances of a study are turned into a resistance matrix
whose Laplacian gives adjusted (inflated) variances for each comparison, so the study's comparisons together carry
the information of its arms and no more.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import csgraph, csr_matrix

from ..errors import DataError, ProblemCollector

#: netmeta's tolerance for the consistency of a multi-arm study's contrasts (TE_ab + TE_bc = TE_ac)
TOL_MULTIARM = 0.001


def prepare(data: pd.DataFrame, TE: str, seTE: str, treat1: str, treat2: str, study: str) -> pd.DataFrame:
    """Validated contrast rows: ``study, treat1, treat2, TE, seTE, narms`` plus positions; problems raise DataError.

    Rows without an estimate or a standard error are dropped with a note (``attrs["notes"]``), as netmeta
    drops them; everything else that is wrong raises naming the studies.
    """
    p = ProblemCollector()
    for c in (TE, seTE, treat1, treat2, study):
        if c not in data.columns:
            p.add(c, "is not a column of the data")
    p.raise_if_any(message="network meta-analysis: columns not found.")
    d = pd.DataFrame({"study": data[study].astype(str).to_numpy(),
                      "treat1": data[treat1].astype(str).str.strip().to_numpy(),
                      "treat2": data[treat2].astype(str).str.strip().to_numpy(),
                      "TE": pd.to_numeric(data[TE], errors="coerce").to_numpy(dtype=float),
                      "seTE": pd.to_numeric(data[seTE], errors="coerce").to_numpy(dtype=float)})
    for c in ("n1", "n2", "var1", "var2"):   # arm sizes size the graph's nodes; arm variances serve ML/REML tau^2
        if c in data.columns:
            d[c] = pd.to_numeric(data[c], errors="coerce").to_numpy(dtype=float)
    notes = list(data.attrs.get("notes", []))
    miss = ~np.isfinite(d["TE"].to_numpy()) | ~(d["seTE"].to_numpy() > 0)
    if miss.any():
        studies = ", ".join(dict.fromkeys(d.loc[miss, "study"]))
        notes.append(f"{int(miss.sum())} comparison(s) without an estimate or a positive standard error were left "
                     f"out, as netmeta does ({studies}).")
        d = d[~miss].reset_index(drop=True)
    labels = d["study"].to_numpy(dtype=object)
    same = (d["treat1"] == d["treat2"]).to_numpy()
    if same.any():
        p.add(treat1, f"compares a treatment with itself [studies {', '.join(dict.fromkeys(labels[same][:5]))}]",
              np.flatnonzero(same))
    pair = pd.DataFrame({"s": d["study"], "a": np.minimum(d["treat1"], d["treat2"]),
                         "b": np.maximum(d["treat1"], d["treat2"])})
    dup = pair.duplicated(keep=False).to_numpy()
    if dup.any():
        p.add(None, "the same comparison appears twice within a study (merge or relabel the rows) "
              f"[studies {', '.join(dict.fromkeys(labels[dup][:5]))}]", np.flatnonzero(dup))
    arms = pd.concat([d[["study", "treat1"]].set_axis(["study", "t"], axis=1),
                      d[["study", "treat2"]].set_axis(["study", "t"], axis=1)]).drop_duplicates()
    narms = arms.groupby("study", sort=False).size()
    ncomp = d.groupby("study", sort=False).size()
    need = narms * (narms - 1) // 2
    incomplete = ncomp.index[ncomp.to_numpy() != need.loc[ncomp.index].to_numpy()]
    if len(incomplete):
        p.add(None, "a multi-arm study must give every pairwise comparison of its arms (k arms: k(k-1)/2 rows) "
              f"[studies {', '.join(incomplete[:5])}]", count=len(incomplete))
    p.raise_if_any(message="network meta-analysis: the comparisons cannot be used as given.")
    d["narms"] = d["study"].map(narms).to_numpy()
    d.attrs["notes"] = notes
    return d


def check_multiarm(d: pd.DataFrame, on_problem: str = "error") -> None:
    """Within a multi-arm study the contrasts must be consistent: TE(a,b) = theta_a - theta_b for some theta."""
    bad = []
    for s, g in d[d["narms"] > 2].groupby("study", sort=False):   # a few multi-arm studies
        trts = sorted(set(g["treat1"]) | set(g["treat2"]))
        B = _incidence(g["treat1"], g["treat2"], trts)
        theta = np.linalg.lstsq(B, g["TE"].to_numpy(), rcond=None)[0]
        if np.max(np.abs(B @ theta - g["TE"].to_numpy())) > TOL_MULTIARM:
            bad.append(s)
    if bad and on_problem == "note":
        d.attrs["notes"].append(f"inconsistent arm data in multi-arm stud{'y' if len(bad) == 1 else 'ies'} "
                                f"{', '.join(bad)}: analysed as given (as netmeta's discomb does); the "
                                "inconsistency inflates Q.")
    elif bad:
        raise DataError(f"inconsistent arm data: the comparisons of multi-arm stud{'y' if len(bad) == 1 else 'ies'} "
                        f"{', '.join(bad)} do not add up (TE(a,b) + TE(b,c) must equal TE(a,c)); recompute them "
                        "from the arm-level data (meta.pairwise) or correct the rows.")


def _incidence(t1, t2, trts) -> np.ndarray:
    pos = {t: i for i, t in enumerate(trts)}
    m = len(t1)
    B = np.zeros((m, len(trts)))
    B[np.arange(m), [pos[t] for t in t1]] = 1.0
    B[np.arange(m), [pos[t] for t in t2]] = -1.0
    return B


def incidence(d: pd.DataFrame, trts: list[str]) -> np.ndarray:
    """Edge-vertex incidence matrix B (m x n): +1 at treat1, -1 at treat2."""
    return _incidence(d["treat1"], d["treat2"], trts)


def subnetworks(d: pd.DataFrame, trts: list[str]) -> list[list[str]]:
    """Connected parts of the treatment graph (each a list of treatments)."""
    B = incidence(d, trts)
    rows, cols = np.nonzero(B.T @ B)
    n, lab = csgraph.connected_components(csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(trts),) * 2))
    return [[t for t, c in zip(trts, lab) if c == k] for k in range(n)]


def adjusted_variances(d: pd.DataFrame, tau2: float = 0.0) -> np.ndarray:
    """Per-comparison variances after netmeta's multi-arm adjustment (two-arm studies: seTE^2 + tau2)."""
    v = d["seTE"].to_numpy() ** 2 + tau2
    out = v.copy()
    for _, g in d[d["narms"] > 2].groupby("study", sort=False):   # one small matrix per multi-arm study
        trts = sorted(set(g["treat1"]) | set(g["treat2"]))
        k = len(trts)
        B = _incidence(g["treat1"], g["treat2"], trts)
        vi = v[g.index.to_numpy()]
        R = np.zeros((k, k))
        i1 = np.argmax(B == 1, axis=1)
        i2 = np.argmax(B == -1, axis=1)
        R[i1, i2] = R[i2, i1] = vi
        C = np.eye(k) - 1.0 / k
        L = np.linalg.pinv(-0.5 * C @ R @ C)
        W = -L
        # netmeta sets tiny negative weights (rounding) to zero: that comparison then carries no weight
        lower = W[np.tril_indices(k, -1)]
        W[(W < 0) & (np.abs(W) / np.abs(lower).sum() < 0.001)] = 0.0
        with np.errstate(divide="ignore"):
            out[g.index.to_numpy()] = 1.0 / W[i1, i2]
    return out


def wls(B: np.ndarray, y: np.ndarray, v: np.ndarray) -> dict:
    """Weighted least squares on the network: effects, their covariance (pseudoinverse), hat matrix, Q."""
    w = np.where(np.isfinite(v), 1.0 / v, 0.0)
    L = B.T @ (B * w[:, None])
    Lp = np.linalg.pinv(L)
    theta = Lp @ (B.T @ (w * y))
    fitted = B @ theta
    H = B @ Lp @ B.T * w[None, :]
    return {"theta": theta, "cov": Lp, "fitted": fitted, "H": H, "w": w, "Q": float(np.sum(w * (y - fitted) ** 2))}


def same_study(d: pd.DataFrame) -> np.ndarray:
    s = d["study"].to_numpy()
    return (s[:, None] == s[None, :]).astype(float)


def tau2_dl(B: np.ndarray, fit: dict, d: pd.DataFrame, df: int) -> float:
    """Generalised DerSimonian-Laird tau^2 for networks (Jackson et al. 2012; netmeta):
    ``max(0, (Q - df) / tr((I - H) U W))`` with U = (B B' * same-study) / 2."""
    if df <= 0:
        return float("nan")
    U = (B @ B.T) * same_study(d) / 2
    denom = np.trace((np.eye(len(B)) - fit["H"]) @ U @ np.diag(fit["w"]))
    return max(0.0, (fit["Q"] - df) / denom)


def df_total(d: pd.DataFrame, n_params: int) -> int:
    """Independent comparisons (sum over studies of arms - 1) minus the parameters estimated."""
    per_study = d.drop_duplicates("study")["narms"].to_numpy()
    return int(np.sum(per_study - 1) - n_params)


def i2_interval(Q: float, df: float, level: float = 0.95) -> tuple[float, float, float]:
    """I^2 (percent) with the test-based interval of Higgins and Thompson (2002), as meta/netmeta report it."""
    if not (df >= 1) or not np.isfinite(Q):
        return (np.nan, np.nan, np.nan)
    k = df + 1
    H = np.sqrt(Q / df)
    if Q > k:
        se = 0.5 * (np.log(Q) - np.log(df)) / (np.sqrt(2 * Q) - np.sqrt(2 * k - 3))
    elif k > 2:
        se = np.sqrt(1 / (2 * (k - 2)) * (1 - 1 / (3 * (k - 2) ** 2)))
    else:
        se = np.nan
    from scipy.stats import norm
    z = norm.ppf(0.5 + level / 2)
    logh = np.log(max(H, 1.0))
    lo, hi = max(np.exp(logh - z * se), 1.0), max(np.exp(logh + z * se), 1.0)

    def i2(h):
        return 100 * (h ** 2 - 1) / h ** 2
    return i2(np.exp(logh)), i2(lo), i2(hi)
