"""REML/ML fitting of the MMRM from per-missingness-pattern sufficient statistics.

The data enter only through :class:`PatternStats`: for each missingness pattern ``n`` (the set of visits a subject
has), the number of subjects and the sums ``S_n = sum s_i s_i'``, ``Sy_n = sum s_i y_i'``, ``Syy_n = sum y_i y_i'``
over its subjects, where ``s_i`` are the subject's ``q`` subject-level features (1, arm dummies, baseline,
covariates) and ``y_i`` the outcome at the ``k`` visits (0 where missing). The design row of subject ``i`` at visit
``a`` is ``x_ia = M_a s_i`` (``M_a`` selects the columns active at visit ``a``), so every quantity below is a sum over
patterns of small ``k x k`` and ``q x q`` products: a likelihood, gradient or Hessian evaluation costs the same for
100 or 1,000,000 subjects.

With ``V_n = Sigma[obs, obs]``, ``W_n = V_n^{-1}`` (embedded in ``k x k`` with zeros), ``H = X'V^{-1}X``,
``C = H^{-1}`` and residual cross-products ``R_n = sum r_i r_i'``, the objective is minus twice the log-likelihood

    REML: f = sum_n n_n log|V_n| + log|H| + sum_n tr(W_n R_n) + (N - p) log(2 pi)
    ML:   f = sum_n n_n log|V_n|          + sum_n tr(W_n R_n) + N log(2 pi)

(``beta`` profiled out by GLS; the REML criterion is the one SAS PROC MIXED, R's mmrm and ``nlme::gls`` report —
nlme 3.1-162 gives the same value to 1e-11, with no extra ``log|X'X|`` term; through ``log|H|`` it depends on the
coding of the fixed effects, here treatment coding with raw covariates).
Its derivative with respect to Sigma is ``df = tr(E dSigma)`` with
``E = sum_n [n_n W_n - W_n (Q_n + R_n) W_n]`` (``Q_n = sum x_i C x_i'``, REML only). The Hessian with respect to
the natural covariance parameters is analytic (see :func:`hessian`).

References
----------
Jennrich RI, Schluchter MD. Unbalanced repeated-measures models with structured covariance matrices.
Biometrics 1986;42:805-20.
Wolfinger R, Tobias R, Sall J. Computing Gaussian likelihoods and their derivatives for general linear mixed
models. SIAM J Sci Comput 1994;15:1294-310.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from ...errors import ModelError
from .covariance import Structure, suggest_simpler

__all__ = ["PatternStats", "State", "evaluate", "hessian", "fit_covariance", "Fit"]

LOG2PI = float(np.log(2 * np.pi))


@dataclass
class PatternStats:
    """Sufficient statistics of the data, one entry per missingness pattern."""

    mask: np.ndarray   # (P, k) bool: visits observed in the pattern
    n: np.ndarray      # (P,) subjects in the pattern
    S: np.ndarray      # (P, q, q)
    Sy: np.ndarray     # (P, q, k)
    Syy: np.ndarray    # (P, k, k)
    M: np.ndarray      # (k, p, q): design row at visit a is M[a] @ s
    n_obs: int

    @property
    def p(self) -> int:
        return self.M.shape[1]

    @property
    def k(self) -> int:
        return self.M.shape[0]


@dataclass
class State:
    """Everything computed at one value of Sigma."""

    Sigma: np.ndarray
    f: float
    beta: np.ndarray
    C: np.ndarray
    W: np.ndarray       # (P, k, k)
    R: np.ndarray       # (P, k, k) residual cross-products
    Q: np.ndarray | None
    E: np.ndarray       # (k, k) df/dSigma
    gamma: np.ndarray   # (k, q): fitted value at visit a is s' gamma[a]
    extra: dict = field(default_factory=dict)


_PATHS: dict = {}


def _einsum(spec: str, *ops):
    """einsum with the contraction order computed once per (spec, shapes): the path search costs more than the
    contraction for these small arrays."""
    if len(ops) < 3:
        return np.einsum(spec, *ops)
    key = (spec, tuple(o.shape for o in ops))
    path = _PATHS.get(key)
    if path is None:
        path = _PATHS[key] = np.einsum_path(spec, *ops, optimize="optimal")[0]
    return np.einsum(spec, *ops, optimize=path)


def xwx(st: PatternStats, A: np.ndarray) -> np.ndarray:
    """sum_n X_n' A_n X_n for per-pattern k x k matrices A (P, k, k) (or (..., P, k, k))."""
    lead, (P, k) = A.shape[:-3], A.shape[-3:-1]
    q = st.S.shape[1]
    # sum over patterns as one matrix product (BLAS), not an einsum loop: (L, k^2, P) @ (P, q^2)
    T = np.swapaxes(A.reshape(-1, P, k * k), 1, 2) @ st.S.reshape(P, q * q)
    return _einsum("apq,...abqr,bsr->...ps", st.M, T.reshape(lead + (k, k, q, q)), st.M)


def evaluate(st: PatternStats, Sigma: np.ndarray, reml: bool) -> State | None:
    """Objective and gradient pieces at Sigma; None when Sigma is not positive definite."""
    k = st.k
    mm = st.mask[:, :, None] & st.mask[:, None, :]
    Sp = np.where(mm, Sigma, np.eye(k))
    try:
        Lc = np.linalg.cholesky(Sp)
    except np.linalg.LinAlgError:
        return None
    logdet = 2 * np.log(np.diagonal(Lc, axis1=1, axis2=2)).sum(axis=1)
    W = np.linalg.inv(Sp) * mm
    H = xwx(st, W)
    u = _einsum("apq,nab,nqb->p", st.M, W, st.Sy)
    try:
        LH = np.linalg.cholesky(H)
    except np.linalg.LinAlgError as err:
        raise ModelError("the fixed-effects design is rank deficient (a covariate is constant or collinear with "
                         "others, or an arm-by-visit cell is empty); drop the redundant covariate") from err
    C = np.linalg.inv(H)
    C = (C + C.T) / 2
    beta = C @ u
    gamma = _einsum("apq,p->aq", st.M, beta)
    G1 = _einsum("aq,nqb->nab", gamma, st.Sy)
    R = st.Syy - G1 - np.swapaxes(G1, 1, 2) + _einsum("aq,nqr,br->nab", gamma, st.S, gamma)
    WRW = W @ R @ W
    f = float(st.n @ logdet + np.sum(W * R))
    E = _einsum("n,nab->ab", st.n, W) - WRW.sum(axis=0)
    Q = None
    if reml:
        f += 2 * float(np.log(np.diag(LH)).sum()) + (st.n_obs - st.p) * LOG2PI
        N = _einsum("apq,ps,bsr->abqr", st.M, C, st.M)
        Q = _einsum("abqr,nqr->nab", N, st.S)
        E = E - (W @ Q @ W).sum(axis=0)
    else:
        f += st.n_obs * LOG2PI
    return State(Sigma=Sigma, f=f, beta=beta, C=C, W=W, R=R, Q=Q, E=(E + E.T) / 2, gamma=gamma,
                 extra={"WRW": WRW})


def grad_phi(state: State, D: np.ndarray) -> np.ndarray:
    """df/dphi from E and dSigma/dphi (m, k, k)."""
    return _einsum("ab,iab->i", state.E, D)


def p_matrices(st: PatternStats, state: State, D: np.ndarray) -> np.ndarray:
    """P_i = X'V^{-1} (dSigma/dphi_i) V^{-1} X for every parameter, shape (m, p, p)."""
    WDW = _einsum("nab,ibc,ncd->inad", state.W, D, state.W)
    return xwx(st, WDW)


def _pair_traces(D: np.ndarray, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``T_ij = sum_n tr(B_n D_i A_n D_j)`` for per-pattern ``A_n, B_n`` (P, k, k) and derivatives ``D`` (m, k, k).

    The patterns are summed first into one ``k^2 x k^2`` matrix ``K = sum_n vec(A_n) vec(B_n)'`` (a matrix product,
    ``P k^4``), then contracted with the derivatives (``m k^4``): the direct per-pattern contraction costs
    ``P m^2 k^2``, which dominated the fit for many visits with intermittent missing values (many patterns and,
    for an unstructured covariance, ``m = k(k+1)/2`` parameters).
    """
    m, k = D.shape[0], D.shape[1]
    K = (A.reshape(len(A), k * k).T @ B.reshape(len(B), k * k)).reshape(k, k, k, k)   # K[c, d, e, b]
    DA = np.tensordot(D, K, axes=([1, 2], [3, 0]))        # (m, d, e): sum_bc D_i[b,c] K[c,d,e,b]
    return DA.reshape(m, k * k) @ D.reshape(m, k * k).T    # sum_de DA_i[d,e] D_j[d,e]


def hessian(st: PatternStats, state: State, D: np.ndarray, D2: np.ndarray | None, reml: bool,
            expected: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Analytic Hessian of f in the natural parameters, and the P matrices.

    With ``e = V^{-1} r``, ``h_i = X'V^{-1} V_i e`` and ``P = V^{-1} - V^{-1} X C X' V^{-1}``:

        d2f/dphi_i dphi_j = tr(E V_ij) - tr(P V_i P V_j) + 2 e' V_i V^{-1} V_j e - 2 h_i' C h_j     (REML)

    and for ML the same with ``sum_n n_n tr(W V_i W V_j)`` in place of ``tr(P V_i P V_j)`` (``beta`` profiled out).
    ``expected=True`` returns instead twice the expected information, ``tr(P V_i P V_j)``.
    """
    W, n = state.W, st.n
    Pn, k, m, q = W.shape[0], W.shape[1], D.shape[0], st.S.shape[1]
    # W_n D_i W_n for every pattern n and parameter i by matrix products (BLAS) in the layout [n, a, i, b], so that
    # no reshape copies: (P k, k) @ (k, m k), then a batched product with W_n
    WD = (W.reshape(Pn * k, k) @ np.moveaxis(D, 0, 1).reshape(k, m * k)).reshape(Pn, k * m, k)
    WDW = (WD @ W).reshape(Pn, k, m, k)
    # P_i = sum_n X_n' W_n D_i W_n X_n: patterns summed in one product with the feature cross-products S_n
    T = WDW.reshape(Pn, k * m * k).T @ st.S.reshape(Pn, q * q)
    P = _einsum("apq,aibqr,bsr->ips", st.M, T.reshape(k, m, k, q, q), st.M)     # (m, p, p)
    # sum_n n_n tr(W D_i W D_j)
    t1 = _pair_traces(D, W * n[:, None, None], W)
    if reml:
        # tr(C Q_ij) = sum_n tr(W D_i W D_j W Q_n)
        t_cq = _pair_traces(D, W, W @ state.Q @ W)
        CP = _einsum("pq,iqr->ipr", state.C, P)
        t_cpcp = _einsum("ipq,jqp->ij", CP, CP)
        trPVPV = t1 - 2 * t_cq + t_cpcp
    else:
        trPVPV = t1
    trPVPV = (trPVPV + trPVPV.T) / 2
    if expected:
        return trPVPV, P
    # 2 e' V_i V^-1 V_j e = 2 sum_n tr(W D_i W D_j W R)
    t2 = 2 * _pair_traces(D, W, state.extra["WRW"])
    # h_i = sum_n X'W D_i W r: needs sum_s s r_sb = Sy - S gamma'
    Sr = st.Sy - _einsum("nqr,br->nqb", st.S, state.gamma)
    h = _einsum("naib,apq,nqb->ip", WDW, st.M, Sr)
    t3 = 2 * h @ state.C @ h.T
    Hs = -trPVPV + t2 - t3
    if D2 is not None:
        Hs = Hs + _einsum("ab,ijab->ij", state.E, D2)
    return (Hs + Hs.T) / 2, P


def moment_start(st: PatternStats) -> np.ndarray:
    """Moment estimate of Sigma: OLS residual cross-products over the subjects seen at both visits, made PD.

    Raises ModelError when a pair of visits is never observed together (an unstructured covariance cannot be
    estimated) or a visit's residual variance is zero.
    """
    s = evaluate(st, np.eye(st.k), reml=False)
    mm = (st.mask[:, :, None] & st.mask[:, None, :]) * st.n[:, None, None]
    count = mm.sum(axis=0)
    R = np.where(mm > 0, s.R, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        S0 = R / count
    S0 = np.where(count > 0, S0, 0.0)
    d = np.diag(S0).copy()
    if not np.all(d > 0):
        raise ModelError("the outcome does not vary around the fitted means at some visit (zero residual variance); "
                         "check the outcome values")
    w, U = np.linalg.eigh(S0)
    w = np.maximum(w, 1e-3 * w.max())
    S0 = (U * w) @ U.T
    return (S0 + S0.T) / 2


@dataclass
class Fit:
    """The fitted covariance and what the optimiser did."""

    theta: np.ndarray
    phi: np.ndarray
    state: State
    hess_phi: np.ndarray      # Hessian of f (= -2 loglik) in phi
    P: np.ndarray             # (m, p, p)
    iterations: int
    newton_steps: int
    decrement: float          # Newton decrement g' H^-1 g at the end (objective units)
    grad_norm: float          # max |df/dtheta| / N at the end
    evaluations: int


def _newton_direction(g: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, bool]:
    """Newton step with the Hessian's eigenvalues replaced by their absolute values (always a descent direction)."""
    w, U = np.linalg.eigh(H)
    floor = 1e-10 * max(float(np.abs(w).max()), 1e-300)
    return -U @ ((U.T @ g) / np.maximum(np.abs(w), floor)), bool(w.min() > 0)


def fit_covariance(st: PatternStats, structure: Structure, theta0: np.ndarray, reml: bool, *,
                   tol: float = 1e-12, max_newton: int = 100) -> Fit:
    """Minimise f over theta by Newton's method with the analytic Hessian, from the moment start.

    The Hessian in theta is ``J' H_phi J`` (``J = dphi/dtheta``); the omitted term is proportional to the gradient,
    so the iteration is quadratically convergent at the optimum. Steps are damped by backtracking, and the
    Hessian's eigenvalues are taken in absolute value away from the optimum. If Newton's method stalls, L-BFGS-B
    on f/N is run and Newton resumes. Convergence is judged by the Newton decrement ``g' H^-1 g`` (invariant to
    the parametrisation and to the number of subjects; about twice the distance of f from its minimum), never by
    an optimiser's success flag.
    """
    count = {"n": 0}

    def ev(theta):
        count["n"] += 1
        phi = structure.phi(theta)
        return phi, evaluate(st, structure.sigma(phi), reml)

    def newton(theta, budget):
        phi, s = ev(theta)
        if s is None:
            raise ModelError("the starting covariance is not positive definite; check the outcome for constant or "
                             "duplicated values, or choose a simpler covariance (e.g. covariance='cs')")
        dec, steps = np.inf, 0
        for steps in range(1, budget + 1):  # loop over Newton iterations
            D = structure.d1(phi)
            J = structure.jacobian(theta)
            g = J.T @ grad_phi(s, D)
            Hp, _ = hessian(st, s, D, structure.d2(phi), reml)
            step, pd = _newton_direction(g, J.T @ Hp @ J)
            dec = float(-g @ step)
            if pd and dec < tol:
                return theta, steps, dec, True
            t, slope = 1.0, float(g @ step)
            while t > 1e-12:
                phi_new, s_new = ev(theta + t * step)
                if s_new is not None and s_new.f <= s.f + 1e-4 * t * slope + 1e-13 * abs(s.f):
                    break
                t /= 2
            else:
                return theta, steps, dec, False
            theta, phi, s = theta + t * step, phi_new, s_new
        return theta, steps, dec, False

    theta, steps, dec, ok = newton(np.asarray(theta0, float), max_newton)
    iterations = 0
    if not ok:
        scale = 1.0 / st.n_obs

        def fg(th):
            phi, s = ev(th)
            if s is None or not np.isfinite(s.f):
                return np.inf, np.zeros_like(th)
            return s.f * scale, (structure.jacobian(th).T @ grad_phi(s, structure.d1(phi))) * scale

        res = optimize.minimize(fg, theta, jac=True, method="L-BFGS-B",
                                options={"maxiter": 2000, "gtol": 1e-10, "ftol": 1e-15})
        iterations = int(res.nit)
        theta, more, dec, ok = newton(res.x, 30)
        steps += more
    phi, s = ev(theta)
    D = structure.d1(phi)
    Hp, P = hessian(st, s, D, structure.d2(phi), reml)
    J = structure.jacobian(theta)
    g = J.T @ grad_phi(s, D)
    Ht = J.T @ Hp @ J
    if np.linalg.eigvalsh(Ht).min() <= 0:
        raise ModelError(f"the {structure.label} covariance did not converge to a maximum of the likelihood (the "
                         "Hessian is not positive definite: some covariance parameters are not identified by these "
                         f"data); {suggest_simpler(structure.name)}")
    dec = float(g @ np.linalg.solve(Ht, g))
    if not (ok and dec < max(tol, 1e-8)):
        raise ModelError(f"the {structure.label} covariance did not converge (Newton decrement {dec:.2g} after "
                         f"{steps} Newton steps and {iterations} quasi-Newton iterations); "
                         f"{suggest_simpler(structure.name)}")
    return Fit(theta=theta, phi=phi, state=s, hess_phi=Hp, P=P, iterations=iterations, newton_steps=steps,
               decrement=dec, grad_norm=float(np.abs(g).max() / st.n_obs), evaluations=count["n"])
