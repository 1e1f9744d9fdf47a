"""The likelihood of the multilevel / multivariate meta-analysis model on its block-diagonal structure.

``y = X beta + sum_j Z_j u_j + e`` with ``e ~ N(0, V)`` (V known) and ``u_j ~ N(0, sigma2_j I)``, so the marginal
covariance is ``M = V + sum_j sigma2_j E_j`` with ``E_j = Z_j Z_j'`` (1 where two rows share a level-j group).
Rows that share no group and no sampling covariance are independent, so ``M`` is block diagonal over the connected
components of that relation. Blocks of equal size are stacked into ``(blocks, m, m)`` arrays and factorised in one
batched call per size: no loop over studies, and no ``n x n`` matrix.

Every quantity the fit needs is a sum over blocks: ``X'M^-1X``, ``X'M^-1y``, ``log|M|``, the (RE)ML score
``-1/2 tr(P E_j) + 1/2 y'P E_j P y`` and the expected information ``1/2 tr(P E_j P E_k)`` with
``P = M^-1 - M^-1 X (X'M^-1X)^-1 X'M^-1`` (the cross terms through ``X`` reduce to ``p x p`` block sums).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from ..errors import ModelError

_LOG2PI = float(np.log(2 * np.pi))


@dataclass
class SizeClass:
    """All blocks of one size ``m``: their row indices and their constant pieces."""

    idx: np.ndarray        # (nb, m) row numbers in the data's order
    V: np.ndarray          # (nb, m, m) sampling covariance
    E: np.ndarray          # (c, nb, m, m) same-group indicators, one per variance component
    X: np.ndarray          # (nb, m, p)
    y: np.ndarray          # (nb, m)


def blocks(V: np.ndarray | sparse.spmatrix, groups: np.ndarray) -> np.ndarray:
    """Block label of each row: connected components of "shares the outermost group or a sampling covariance".

    ``groups`` is ``(c, n)`` integer codes per variance component (outermost first); ``V`` is ``(n,)`` variances or
    an ``(n, n)`` covariance matrix.
    """
    n = groups.shape[1] if groups.size else (V.shape[0])
    rows, cols = [np.arange(n)], [np.arange(n)]
    if groups.size:
        # bipartite edges row -> (n + outer group): rows sharing an outer group join one component
        outer = groups[0]
        rows.append(np.arange(n))
        cols.append(n + outer)
        size = n + int(outer.max()) + 1
    else:
        size = n
    if np.ndim(V) == 2:
        r, s = sparse.coo_matrix(V).nonzero()
        rows.append(r)
        cols.append(s)
    a = sparse.coo_matrix((np.ones(sum(len(x) for x in rows)), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(size, size))
    _, label = csgraph.connected_components(a, directed=False)
    return np.unique(label[:n], return_inverse=True)[1]


def size_classes(label: np.ndarray, V: np.ndarray, groups: np.ndarray, X: np.ndarray, y: np.ndarray
                 ) -> list[SizeClass]:
    """Stack the blocks by size (rows keep their data order inside each block)."""
    order = np.argsort(label, kind="stable")
    counts = np.bincount(label)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = []
    for m in np.unique(counts):   # one batched array per block size (a handful), never one per study
        which = np.flatnonzero(counts == m)
        idx = order[starts[which][:, None] + np.arange(m)[None, :]]
        if np.ndim(V) == 2:
            Vb = np.asarray(V[idx[:, :, None], idx[:, None, :]], dtype=float)
        else:
            Vb = np.zeros((len(which), m, m))
            Vb[:, np.arange(m), np.arange(m)] = V[idx]
        g = groups[:, idx]                                           # (c, nb, m)
        E = (g[:, :, :, None] == g[:, :, None, :]).astype(float)     # (c, nb, m, m)
        out.append(SizeClass(idx, Vb, E, X[idx], y[idx]))
    return out


@dataclass
class Evaluation:
    """The likelihood pieces at one value of the variance components."""

    ll_ml: float
    ll_reml: float
    rss: float
    logdet: float
    minv_diag: np.ndarray      # diag(M^-1) in the data's row order (metafor's "diagonal" weights)
    trace_p: float             # tr(P), P = M^-1 - M^-1 X (X'M^-1X)^-1 X'M^-1
    beta: np.ndarray
    vb: np.ndarray
    score_ml: np.ndarray
    score_reml: np.ndarray
    info_ml: np.ndarray
    info_reml: np.ndarray


def evaluate(classes: list[SizeClass], sigma2: np.ndarray, logdet_xtx: float, derivatives: bool = True
             ) -> Evaluation:
    """Log-likelihoods (ML and REML, metafor's constants), GLS estimates and, optionally, scores and information."""
    c = len(sigma2)
    p = classes[0].X.shape[2]
    k = sum(cl.idx.size for cl in classes)
    parts = []
    xtwx, xtwy, logdet = np.zeros((p, p)), np.zeros(p), 0.0
    minv_diag, ata = np.empty(k), np.zeros((p, p))
    for cl in classes:
        M = cl.V + np.einsum("j,jbrs->brs", sigma2, cl.E) if c else cl.V.copy()
        try:
            L = np.linalg.cholesky(M)
        except np.linalg.LinAlgError as exc:
            raise ModelError("the marginal covariance is not positive definite at these variance components",
                             kind="not positive definite") from exc
        logdet += 2 * float(np.log(np.diagonal(L, axis1=1, axis2=2)).sum())
        Minv = np.linalg.inv(M)
        Minv = (Minv + np.swapaxes(Minv, 1, 2)) / 2
        minv_diag[cl.idx] = np.diagonal(Minv, axis1=1, axis2=2)
        A = Minv @ cl.X                                              # (nb, m, p)
        xtwx += np.einsum("brp,brq->pq", cl.X, A)
        xtwy += np.einsum("brp,br->p", A, cl.y)
        ata += np.einsum("brp,brq->pq", A, A)
        parts.append((Minv, A))
    try:
        C = np.linalg.inv(xtwx)
    except np.linalg.LinAlgError as exc:
        raise ModelError("the moderators are collinear: X'M^-1X is singular", kind="singular") from exc
    C = (C + C.T) / 2
    beta = C @ xtwy
    rss = 0.0
    pys = []
    for cl, (Minv, _A) in zip(classes, parts, strict=True):
        r = cl.y - cl.X @ beta
        py = np.einsum("brs,bs->br", Minv, r)
        rss += float(np.sum(r * py))
        pys.append(py)
    sign, ld_xtwx = np.linalg.slogdet(xtwx)
    ll_ml = -0.5 * k * _LOG2PI - 0.5 * logdet - 0.5 * rss
    ll_reml = -0.5 * (k - p) * _LOG2PI + 0.5 * logdet_xtx - 0.5 * logdet - 0.5 * ld_xtwx - 0.5 * rss
    out = Evaluation(ll_ml, ll_reml, rss, logdet, minv_diag, float(minv_diag.sum() - np.sum(C * ata)), beta, C, np.zeros(c), np.zeros(c), np.zeros((c, c)), np.zeros((c, c)))
    if not derivatives or c == 0:
        return out
    tr_me = np.zeros(c)            # tr(M^-1 E_j)
    quad = np.zeros(c)             # y'P E_j P y
    B = np.zeros((c, p, p))        # A' E_j A
    mm = np.zeros((c, c))          # tr(M^-1 E_j M^-1 E_k)
    cross = np.zeros((c, c, p, p))  # A' E_j M^-1 E_k A
    for cl, (Minv, A), py in zip(classes, parts, pys, strict=True):
        tr_me += np.einsum("brs,jbrs->j", Minv, cl.E)
        quad += np.einsum("br,jbrs,bs->j", py, cl.E, py)
        EA = cl.E @ A                                                # (c, nb, m, p)
        B += np.einsum("brp,jbrq->jpq", A, EA)
        ME = Minv[None] @ cl.E                                       # (c, nb, m, m): M^-1 E_j
        mm += np.einsum("jbrs,kbsr->jk", ME, ME)
        cross += np.einsum("jbrp,brs,kbsq->jkpq", EA, Minv, EA)
    tr_pe = tr_me - np.einsum("pq,jqp->j", C, B)
    out.score_ml = -0.5 * tr_me + 0.5 * quad
    out.score_reml = -0.5 * tr_pe + 0.5 * quad
    out.info_ml = 0.5 * mm
    CB = np.einsum("pq,jqr->jpr", C, B)                              # C B_j
    t2 = np.einsum("pq,jkqp->jk", C, cross)                          # tr(C A'E_j M^-1 E_k A)
    t3 = np.einsum("jpq,kqp->jk", CB, CB)                            # tr(C B_j C B_k)
    info = mm - t2 - t2.T + t3
    out.info_reml = 0.5 * (info + info.T) / 2
    return out


def maximise(classes: list[SizeClass], free: np.ndarray, fixed_values: np.ndarray, start: np.ndarray, reml: bool,
             logdet_xtx: float, *, tol: float = 1e-12, maxiter: int = 500) -> tuple[np.ndarray, Evaluation, int]:
    """(RE)ML estimates of the variance components by Fisher scoring, projected onto ``sigma2 >= 0``.

    ``free`` marks the components to estimate (the others stay at ``fixed_values``). A step that lowers the
    likelihood is halved; a component at 0 whose score points below 0 stays at 0 (the boundary estimate).
    Returns the estimates, the evaluation there and the number of iterations.
    """
    s = np.where(free, start, fixed_values).astype(float)
    ev = evaluate(classes, s, logdet_xtx)

    def ll(e: Evaluation) -> float:
        return e.ll_reml if reml else e.ll_ml

    for it in range(1, maxiter + 1):
        score = ev.score_reml if reml else ev.score_ml
        info = ev.info_reml if reml else ev.info_ml
        active = free & ~((s <= 0) & (score <= 0))
        if not active.any():
            return s, ev, it
        ia = np.flatnonzero(active)
        try:
            step_a = np.linalg.solve(info[np.ix_(ia, ia)], score[ia])
        except np.linalg.LinAlgError as exc:
            raise ModelError("the variance components are not identifiable (singular information matrix): "
                             "drop a level of the random grouping", kind="not identifiable") from exc
        step = np.zeros_like(s)
        step[ia] = step_a
        t = 1.0
        for _ in range(60):
            cand = np.where(free, np.maximum(s + t * step, 0.0), s)
            new = evaluate(classes, cand, logdet_xtx)
            if ll(new) >= ll(ev) - 1e-12 * max(1.0, abs(ll(ev))):
                break
            t /= 2
        else:
            raise ModelError("the variance components did not converge (no step increases the likelihood)",
                             kind="not converged")
        change = np.max(np.abs(cand - s) / np.maximum(1.0, np.abs(cand)))
        s, ev = cand, new
        if change < tol:
            return s, ev, it
    raise ModelError(f"the variance components did not converge in {maxiter} Fisher-scoring iterations",
                     kind="not converged")
