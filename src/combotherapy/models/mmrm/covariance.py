"""Within-subject covariance structures of the MMRM and their derivatives.

Each structure ``Sigma`` (``k x k``, ``k`` post-baseline visits) has two parametrisations:

natural parameters ``phi``
    the parameters SAS PROC MIXED reports: the covariances themselves for ``unstructured`` (UN), ``cs`` (CS:
    common covariance and residual variance) and ``toeplitz`` (TOEP: one covariance per lag), so that Sigma is
    linear in them; ``(rho, sigma2)`` for ``ar1`` (AR(1)); visit variances and correlations for the heterogeneous
    forms ``cs_het`` (CSH), ``ar1_het`` (ARH(1)) and ``toeplitz_het`` (TOEPH). First and second derivatives of
    Sigma are taken with respect to ``phi``: the Kenward-Roger adjustment has a second-order term that depends on
    the parametrisation, and SAS computes it in these parameters (for linear structures it is zero).
unconstrained parameters ``theta``
    what the optimiser moves: log variances, log-diagonal Cholesky factor (UN, as R's mmrm), ``tanh`` of
    correlations, partial autocorrelations for Toeplitz forms (Durbin-Levinson), so every ``theta`` in R^m gives
    a positive-definite Sigma. ``phi(theta)`` is written with operations that accept complex numbers, so the
    Jacobian ``d phi / d theta`` is exact by complex-step differentiation.

AR(1) and Toeplitz structures use the visit's position (1, 2, ..., k), as SAS does for ``REPEATED visit``:
the visits are treated as equally spaced.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STRUCTURES", "SIMPLER", "Structure", "make_structure", "suggest_simpler"]

STRUCTURES = ("unstructured", "cs", "ar1", "toeplitz", "cs_het", "ar1_het", "toeplitz_het")


def _lags(k: int) -> np.ndarray:
    i = np.arange(k)
    return np.abs(i[:, None] - i[None, :])


def _pacf_to_acf(pacf):
    """Durbin-Levinson: partial autocorrelations in (-1, 1) -> autocorrelations of a PD Toeplitz matrix.

    Works on complex input (for complex-step derivatives); a loop over lags, never over subjects.
    """
    n = len(pacf)
    acf = [None] * n
    phi_prev: list = []
    for k in range(n):
        p = pacf[k]
        if k == 0:
            acf[0] = p
            phi_prev = [p]
            continue
        s_num = sum(phi_prev[j] * acf[k - 1 - j] for j in range(k))
        s_den = sum(phi_prev[j] * acf[j] for j in range(k))
        acf[k] = s_num + p * (1 - s_den)
        phi_prev = [phi_prev[j] - p * phi_prev[k - 1 - j] for j in range(k)] + [p]
    return np.array(acf) if n else np.zeros(0)


def _acf_to_pacf(acf: np.ndarray, limit: float = 0.9) -> np.ndarray:
    """Inverse Durbin-Levinson for starting values; partial autocorrelations are clipped to +-limit."""
    n = len(acf)
    pacf = np.zeros(n)
    implied = np.zeros(n)
    phi_prev: list[float] = []
    for k in range(n):
        if k == 0:
            p = float(np.clip(acf[0], -limit, limit))
            pacf[0], implied[0], phi_prev = p, p, [p]
            continue
        num = acf[k] - sum(phi_prev[j] * implied[k - 1 - j] for j in range(k))
        den = 1 - sum(phi_prev[j] * implied[j] for j in range(k))
        p = float(np.clip(num / den, -limit, limit)) if den > 1e-8 else 0.0
        implied[k] = sum(phi_prev[j] * implied[k - 1 - j] for j in range(k)) + p * den
        phi_prev = [phi_prev[j] - p * phi_prev[k - 1 - j] for j in range(k)] + [p]
        pacf[k] = p
    return pacf


def _corr_of(S: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(S))
    return S / np.outer(d, d)


def _lag_means(R: np.ndarray) -> np.ndarray:
    """Mean correlation at each lag 1..k-1."""
    D = _lags(len(R))
    return np.array([R[D == d].mean() for d in range(1, len(R))])


# --- correlation families (used by the heterogeneous forms and by AR(1)) ---------------------------------
class _CorrCS:
    """Equal correlation rho in (-1/(k-1), 1)."""

    def __init__(self, k: int):
        self.k, self.m = k, 1
        self.lo = -1.0 / (k - 1)

    def from_theta(self, t):
        return self.lo + (1 - self.lo) * (1 + np.tanh(t[:1])) / 2

    def to_theta(self, R: np.ndarray) -> np.ndarray:
        off = R[~np.eye(self.k, dtype=bool)].mean()
        rho = float(np.clip(off, self.lo + 0.05 * (1 - self.lo), 0.95))
        return np.array([np.arctanh(2 * (rho - self.lo) / (1 - self.lo) - 1)])

    def R(self, c):
        eye = np.eye(self.k)
        return eye + c[0] * (1 - eye)

    def dR(self, c) -> np.ndarray:
        return (1 - np.eye(self.k))[None]

    def d2R(self, c) -> np.ndarray | None:
        return None

    def names(self) -> list[str]:
        return ["rho"]


class _CorrAR1:
    """rho^|i-j| with rho in (-1, 1)."""

    def __init__(self, k: int):
        self.k, self.m = k, 1
        self.D = _lags(k)

    def from_theta(self, t):
        return np.tanh(t[:1])

    def to_theta(self, R: np.ndarray) -> np.ndarray:
        lag1 = _lag_means(R)[0] if self.k > 1 else 0.0
        return np.array([np.arctanh(np.clip(lag1, -0.9, 0.9))])

    def R(self, c):
        return c[0] ** self.D

    def dR(self, c) -> np.ndarray:
        D = self.D
        return (D * c[0] ** np.maximum(D - 1, 0))[None]

    def d2R(self, c) -> np.ndarray:
        D = self.D
        return (D * (D - 1) * c[0] ** np.maximum(D - 2, 0))[None, None]

    def names(self) -> list[str]:
        return ["rho"]


class _CorrToep:
    """rho_|i-j| (rho_0 = 1), parametrised through partial autocorrelations."""

    def __init__(self, k: int):
        self.k, self.m = k, k - 1
        self.D = _lags(k)

    def from_theta(self, t):
        return _pacf_to_acf(np.tanh(t[: self.m]))

    def to_theta(self, R: np.ndarray) -> np.ndarray:
        return np.arctanh(_acf_to_pacf(_lag_means(R)))

    def R(self, c):
        full = np.concatenate([np.ones(1, dtype=np.asarray(c).dtype), c])
        return full[self.D]

    def dR(self, c) -> np.ndarray:
        return np.stack([(self.D == d).astype(float) for d in range(1, self.k)])

    def d2R(self, c) -> np.ndarray | None:
        return None

    def names(self) -> list[str]:
        return [f"rho(lag {d})" for d in range(1, self.k)]


_FAMILIES = {"cs": _CorrCS, "ar1": _CorrAR1, "toeplitz": _CorrToep}


# --- structures -----------------------------------------------------------------------------------------
class Structure:
    """A covariance structure for ``k`` visits. Subclasses define the maps below."""

    name = ""
    label = ""
    #: Sigma is linear in phi (second derivatives vanish)
    linear = True

    def __init__(self, k: int):
        self.k = k

    # theta -> phi (complex-safe), phi -> Sigma and derivatives
    def phi(self, theta: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def sigma(self, phi: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def d1(self, phi: np.ndarray) -> np.ndarray:
        """dSigma/dphi_i, shape (m, k, k)."""
        raise NotImplementedError

    def d2(self, phi: np.ndarray) -> np.ndarray | None:
        """d2Sigma/dphi_i dphi_j, shape (m, m, k, k); None when Sigma is linear in phi."""
        return None

    def start(self, S0: np.ndarray) -> np.ndarray:
        """theta from a positive-definite moment estimate of Sigma."""
        raise NotImplementedError

    def names(self, visits: list[str]) -> list[str]:
        raise NotImplementedError

    @property
    def n_par(self) -> int:
        return len(self.names([str(i) for i in range(self.k)]))

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """d phi / d theta (m x m) by complex-step differentiation: exact to rounding, no step-size choice."""
        m = len(theta)
        h = 1e-30
        J = np.empty((m, m))
        for j in range(m):  # loop over parameters
            t = theta.astype(complex)
            t[j] += 1j * h
            J[:, j] = self.phi(t).imag / h
        return J


class Unstructured(Structure):
    name, label = "unstructured", "unstructured (UN)"

    def __init__(self, k: int):
        super().__init__(k)
        self.rows, self.cols = np.tril_indices(k)  # row-major: (1,1), (2,1), (2,2), ... as SAS's UN(i,j)
        self._d1 = np.zeros((len(self.rows), k, k))
        idx = np.arange(len(self.rows))
        self._d1[idx, self.rows, self.cols] = 1.0
        self._d1[idx, self.cols, self.rows] = 1.0

    def phi(self, theta):
        L = np.zeros((self.k, self.k), dtype=np.asarray(theta).dtype)
        diag = self.rows == self.cols
        vals = np.where(diag, np.exp(theta), theta)
        L[self.rows, self.cols] = vals
        return (L @ L.T)[self.rows, self.cols]

    def sigma(self, phi):
        S = np.zeros((self.k, self.k))
        S[self.rows, self.cols] = phi
        S[self.cols, self.rows] = phi
        return S

    def d1(self, phi):
        return self._d1

    def jacobian(self, theta):
        """Analytic d phi / d theta: dSigma = dL L' + L dL' for each Cholesky entry."""
        theta = np.asarray(theta, float)
        m = len(theta)
        diag = self.rows == self.cols
        L = np.zeros((self.k, self.k))
        L[self.rows, self.cols] = np.where(diag, np.exp(theta), theta)
        c = np.where(diag, np.exp(theta), 1.0)
        U = np.zeros((m, self.k, self.k))
        U[np.arange(m), self.rows, :] = c[:, None] * L[:, self.cols].T
        dS = U + np.swapaxes(U, 1, 2)
        return dS[:, self.rows, self.cols].T

    def start(self, S0):
        L = np.linalg.cholesky(S0)
        vals = L[self.rows, self.cols]
        return np.where(self.rows == self.cols, np.log(np.abs(vals)), vals)

    def names(self, visits):
        return [f"cov({visits[i]}, {visits[j]})" if i != j else f"var({visits[i]})"
                for i, j in zip(self.rows, self.cols)]


class CompoundSymmetry(Structure):
    """Sigma = sigma_b J + sigma_e I; phi = (sigma_b, sigma_e) (SAS CS: 'CS' and 'Residual')."""

    name, label = "cs", "compound symmetry (CS)"

    def __init__(self, k: int):
        super().__init__(k)
        self.corr = _CorrCS(k)

    def phi(self, theta):
        tau = np.exp(theta[0])
        rho = self.corr.from_theta(theta[1:])[0]
        return np.array([tau * rho, tau * (1 - rho)])

    def sigma(self, phi):
        return phi[0] * np.ones((self.k, self.k)) + phi[1] * np.eye(self.k)

    def d1(self, phi):
        return np.stack([np.ones((self.k, self.k)), np.eye(self.k)])

    def start(self, S0):
        return np.concatenate([[np.log(np.mean(np.diag(S0)))], self.corr.to_theta(_corr_of(S0))])

    def names(self, visits):
        return ["covariance", "residual variance"]


class AR1(Structure):
    """Sigma = sigma2 rho^|i-j|; phi = (rho, sigma2) (SAS AR(1): 'AR(1)' and 'Residual')."""

    name, label, linear = "ar1", "first-order autoregressive (AR(1))", False

    def __init__(self, k: int):
        super().__init__(k)
        self.corr = _CorrAR1(k)

    def phi(self, theta):
        return np.array([np.tanh(theta[0]), np.exp(theta[1])])

    def sigma(self, phi):
        return phi[1] * self.corr.R(phi[:1])

    def d1(self, phi):
        return np.stack([phi[1] * self.corr.dR(phi[:1])[0], self.corr.R(phi[:1])])

    def d2(self, phi):
        out = np.zeros((2, 2, self.k, self.k))
        out[0, 0] = phi[1] * self.corr.d2R(phi[:1])[0, 0]
        out[0, 1] = out[1, 0] = self.corr.dR(phi[:1])[0]
        return out

    def start(self, S0):
        return np.concatenate([self.corr.to_theta(_corr_of(S0)), [np.log(np.mean(np.diag(S0)))]])

    def names(self, visits):
        return ["rho", "variance"]


class Toeplitz(Structure):
    """Sigma_ij = sigma_|i-j|; phi = (sigma_0, ..., sigma_{k-1}) (SAS TOEP)."""

    name, label = "toeplitz", "Toeplitz (TOEP)"

    def __init__(self, k: int):
        super().__init__(k)
        self.corr = _CorrToep(k)
        self.D = _lags(k)

    def phi(self, theta):
        s0 = np.exp(theta[0])
        acf = self.corr.from_theta(theta[1:])
        return np.concatenate([np.array([s0]), s0 * acf])

    def sigma(self, phi):
        return np.asarray(phi)[self.D]

    def d1(self, phi):
        return np.stack([(self.D == d).astype(float) for d in range(self.k)])

    def start(self, S0):
        return np.concatenate([[np.log(np.mean(np.diag(S0)))], self.corr.to_theta(_corr_of(S0))])

    def names(self, visits):
        return ["variance"] + [f"covariance(lag {d})" for d in range(1, self.k)]


class Heterogeneous(Structure):
    """Sigma_ij = sqrt(v_i v_j) R_ij(c); phi = (v_1..v_k, c) (SAS CSH, ARH(1), TOEPH)."""

    linear = False

    def __init__(self, k: int, family: str):
        super().__init__(k)
        self.corr = _FAMILIES[family](k)
        self.name = f"{family}_het"
        self.label = {"cs": "heterogeneous compound symmetry (CSH)", "ar1": "heterogeneous AR(1) (ARH(1))",
                      "toeplitz": "heterogeneous Toeplitz (TOEPH)"}[family]
        eye = np.eye(k)
        # e[l, i, j] = (delta_il + delta_jl) / 2: the exponent of v_l in sqrt(v_i v_j)
        self._e = (eye[:, :, None] + eye[:, None, :]) / 2

    def phi(self, theta):
        v = np.exp(theta[: self.k])
        return np.concatenate([v, self.corr.from_theta(theta[self.k:])])

    def _parts(self, phi):
        v, c = phi[: self.k], phi[self.k:]
        f = np.sqrt(np.outer(v, v))
        return v, c, f, self.corr.R(c)

    def sigma(self, phi):
        _, _, f, R = self._parts(phi)
        return f * R

    def d1(self, phi):
        v, c, f, R = self._parts(phi)
        dv = (R * f)[None] * self._e / v[:, None, None]
        dc = f[None] * self.corr.dR(c)
        return np.concatenate([dv, dc])

    def d2(self, phi):
        v, c, f, R = self._parts(phi)
        k, mc = self.k, self.corr.m
        out = np.zeros((k + mc, k + mc, k, k))
        e = self._e
        vv = v[:, None] * v[None, :]
        ee = e[:, None] * e[None, :] - np.eye(k)[:, :, None, None] * e[:, None]
        out[:k, :k] = (R * f)[None, None] * ee / vv[:, :, None, None]
        dR = self.corr.dR(c)
        cross = (f[None, None] * e[:, None] / v[:, None, None, None]) * dR[None]
        out[:k, k:] = cross
        out[k:, :k] = np.swapaxes(cross, 0, 1)
        d2R = self.corr.d2R(c)
        if d2R is not None:
            out[k:, k:] = f[None, None] * d2R
        return out

    def start(self, S0):
        return np.concatenate([np.log(np.diag(S0)), self.corr.to_theta(_corr_of(S0))])

    def names(self, visits):
        return [f"var({v})" for v in visits] + self.corr.names()


#: structures to suggest when a fit fails: nested in the failed one (or, for AR(1), as few parameters), simplest last
SIMPLER = {"unstructured": ("toeplitz_het", "toeplitz", "ar1", "cs"),
           "toeplitz_het": ("toeplitz", "ar1_het", "cs_het"), "toeplitz": ("ar1", "cs"),
           "ar1_het": ("ar1",), "cs_het": ("cs",), "ar1": ("cs",), "cs": ()}


def suggest_simpler(name: str) -> str:
    """The end of a ModelError message: which simpler covariance to try instead of ``name``."""
    options = SIMPLER.get(name, ())
    if not options:
        return ("compound symmetry is the simplest structure offered: check the outcome for values that are constant "
                "or repeated across visits, and the subjects for very few observations")
    quoted = [f"'{o}'" for o in options]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"choose a simpler covariance, e.g. covariance={listed}"


def make_structure(name: str, k: int) -> Structure:
    """The structure called ``name`` for ``k`` visits (one visit: a single variance, whatever the name)."""
    if k == 1:
        return Unstructured(1)
    if name == "unstructured":
        return Unstructured(k)
    if name == "cs":
        return CompoundSymmetry(k)
    if name == "ar1":
        return AR1(k)
    if name == "toeplitz":
        return Toeplitz(k)
    if name in ("cs_het", "ar1_het", "toeplitz_het"):
        return Heterogeneous(k, name[: -len("_het")])
    raise ValueError(f"unknown covariance {name!r}; choose one of {', '.join(STRUCTURES)}")
