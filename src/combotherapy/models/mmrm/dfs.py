"""Degrees of freedom and adjusted covariance of the fixed effects: Satterthwaite, Kenward-Roger, residual.

Notation: ``C = (X'V^{-1}X)^{-1}`` the model-based covariance of beta; ``P_i = X'V^{-1} V_i V^{-1} X`` with
``V_i = dV/dphi_i`` in the natural covariance parameters; ``A`` the asymptotic covariance of ``phi_hat``, twice the
inverse Hessian of ``-2 log L`` (observed information, as SAS PROC MIXED and R's mmrm use).

Satterthwaite (exact gradient): for a contrast ``l``, ``dvar/dphi_i = l'C P_i C l`` (since ``dC/dphi_i = C P_i C``)
and ``df = 2 (l'Cl)^2 / (g'Ag)``. For ``q``-row contrasts the F test follows Fai & Cornelius (1996) as SAS and
lmerTest: the ``q`` eigen-contrasts of ``LCL'`` get their own df ``nu_m`` and ``E = sum nu_m / (nu_m - 2)``,
``ddf = 2E / (E - q)``.

Kenward-Roger (1997): ``C_A = C + 2 C [sum_ij A_ij (Q_ij - P_i C P_j - R_ij / 4)] C`` with
``Q_ij = X'V^{-1}V_iV^{-1}V_jV^{-1}X`` and ``R_ij = X'V^{-1}V_ijV^{-1}X`` (zero for structures linear in ``phi``,
such as the unstructured covariance; SAS's parametrisation, so for UN this is R mmrm's "Kenward-Roger-Linear"),
and the df and scale ``lambda`` of the F approximation from KR's equations, with ``Theta = L'(LCL')^{-1}L`` built
on the unadjusted ``C`` as in KR (1997), pbkrtest and mmrm (for one contrast ``lambda = 1`` and ``df = 2 / A1``,
which is the Satterthwaite df).

References
----------
Satterthwaite FE. An approximate distribution of estimates of variance components. Biometrics Bull 1946;2:110-4.
Fai AH, Cornelius PL. Approximate F-tests of multiple degree of freedom hypotheses in generalized least squares
analyses of unbalanced split-plot experiments. J Stat Comput Simul 1996;54:363-78.
Kenward MG, Roger JH. Small sample inference for fixed effects from restricted maximum likelihood.
Biometrics 1997;53:983-97.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .reml import PatternStats, State, _einsum, xwx

__all__ = ["Satterthwaite", "KenwardRoger", "f_test"]



@dataclass
class Satterthwaite:
    """df(l) = 2 (l'Cl)^2 / (g'Ag), g_i = l'C P_i C l."""

    C: np.ndarray
    P: np.ndarray
    A: np.ndarray

    @property
    def vcov(self) -> np.ndarray:
        return self.C

    def grad(self, L: np.ndarray) -> np.ndarray:
        CL = self.C @ np.atleast_2d(L).T                      # (p, r)
        return _einsum("pr,ipq,qr->ri", CL, self.P, CL)       # (r, m)

    def df(self, contrast: np.ndarray) -> float:
        vec = np.asarray(contrast, float)
        var = float(vec @ self.C @ vec)
        g = self.grad(vec)[0]
        den = float(g @ self.A @ g)
        return float(2 * var**2 / den) if den > 0 else np.inf

    def f_test(self, L: np.ndarray, beta: np.ndarray) -> tuple[float, float, float]:
        """(F, numerator df, denominator df) for H0: L beta = 0."""
        L = np.atleast_2d(L)
        q = L.shape[0]
        w, U = np.linalg.eigh(L @ self.C @ L.T)
        keep = w > 1e-12 * w.max()
        Lm = U[:, keep].T @ L                                  # eigen-contrasts, uncorrelated
        q = int(keep.sum())
        est = Lm @ beta
        F = float(np.sum(est**2 / w[keep]) / q)
        nu = np.array([self.df(row) for row in Lm])
        return F, float(q), _combine(nu, q)


def _combine(nu: np.ndarray, q: int) -> float:
    """Fai-Cornelius: denominator df of an F from the df of its q uncorrelated one-df components."""
    if q == 1:
        return float(nu[0])
    big = nu > 2
    E = float(np.sum(nu[big] / (nu[big] - 2)))
    return 2 * E / (E - q) if E > q else float(np.min(nu))


class KenwardRoger:
    """Kenward-Roger adjusted covariance and df."""

    def __init__(self, st: PatternStats, state: State, D: np.ndarray, D2: np.ndarray | None, P: np.ndarray,
                 A: np.ndarray):
        C, W = state.C, state.W
        # sum_ij A_ij Q_ij = sum_n X'W (sum_ij A_ij D_i W D_j) W X
        U = _einsum("ij,iab->jab", A, D)                      # sum_i A_ij D_i
        Y = _einsum("jab,nbc,jcd->nad", U, W, D)              # per pattern
        Qsum = xwx(st, W @ Y @ W)
        PCP = _einsum("ij,ipq,qr,jrs->ps", A, P, C, P)
        inner = Qsum - PCP
        if D2 is not None:
            Rsum = xwx(st, W @ _einsum("ij,ijab->ab", A, D2)[None] @ W)
            inner = inner - Rsum / 4
        inner = (inner + inner.T) / 2
        self.C, self.P, self.A = C, P, A
        CA = C + 2 * C @ inner @ C
        self.vcov = (CA + CA.T) / 2

    def _a12(self, L: np.ndarray) -> tuple[float, float, int]:
        L = np.atleast_2d(L)
        ell = L.shape[0]
        # Theta uses the unadjusted covariance, as Kenward & Roger (1997), pbkrtest, SAS and R's mmrm
        Theta = L.T @ np.linalg.solve(L @ self.C @ L.T, L)
        M = _einsum("pq,qr,irs,st->ipt", Theta, self.C, self.P, self.C)   # Theta C P_i C
        tr = np.trace(M, axis1=1, axis2=2)
        A1 = float(tr @ self.A @ tr)
        A2 = float(_einsum("ij,ipq,jqp->", self.A, M, M))
        return A1, A2, ell

    def df(self, contrast: np.ndarray) -> float:
        A1, _, _ = self._a12(contrast)
        return 2.0 / A1 if A1 > 0 else np.inf

    def f_test(self, L: np.ndarray, beta: np.ndarray) -> tuple[float, float, float]:
        L = np.atleast_2d(L)
        A1, A2, ell = self._a12(L)
        est = L @ beta
        W = float(est @ np.linalg.solve(L @ self.vcov @ L.T, est))
        if ell == 1:
            return W, 1.0, 2.0 / A1
        B = (A1 + 6 * A2) / (2 * ell)
        g = ((ell + 1) * A1 - (ell + 4) * A2) / ((ell + 2) * A2)
        den = 3 * ell + 2 * (1 - g)
        c1, c2, c3 = g / den, (ell - g) / den, (ell + 2 - g) / den
        Estar = 1 / (1 - A2 / ell)
        Vstar = (2 / ell) * (1 + c1 * B) / ((1 - c2 * B) ** 2 * (1 - c3 * B))
        rho = Vstar / (2 * Estar**2)
        m = 4 + (ell + 2) / (ell * rho - 1)
        lam = m / (Estar * (m - 2))
        return lam * W / ell, float(ell), float(m)


class Residual:
    """df = N - p for every contrast (SAS DDFM=RESIDUAL)."""

    def __init__(self, C: np.ndarray, dof: float):
        self.vcov, self.dof = C, float(dof)

    def df(self, contrast: np.ndarray) -> float:
        return self.dof

    def f_test(self, L: np.ndarray, beta: np.ndarray) -> tuple[float, float, float]:
        L = np.atleast_2d(L)
        est = L @ beta
        q = L.shape[0]
        return float(est @ np.linalg.solve(L @ self.vcov @ L.T, est) / q), float(q), self.dof


def f_test(rule, L: np.ndarray, beta: np.ndarray) -> tuple[float, float, float]:
    return rule.f_test(L, beta)
