"""Weighted outcome regressions (weighted ANCOVA, logistic, Poisson, negative binomial) with SEs that know the weights
were estimated.

The outcome is regressed on the arm (treatment coding, first arm as reference) and optional covariate terms, each
subject weighted by its propensity weight; covariates in the outcome model make the weighted analysis doubly
robust for the arm coefficients of a linear model and sharpen it. Estimating equations (canonical links)

    U_i(gamma) = w_i(beta) x_i (y_i - mu(x_i' gamma)),   mu = identity (gaussian), expit (binomial) or exp
    (poisson: counts, a robust-Poisson marginal structural model),

or, for the negative binomial (NB2, log link, variance mu + mu^2/theta; ``family="negbin"``), the weighted
score of the log-likelihood in (gamma, theta):

    U_i = w_i ( x_i theta (y_i - mu_i) / (theta + mu_i),
                digamma(y_i + theta) - digamma(theta) + log theta + 1 - log(theta + mu_i)
                - (theta + y_i) / (theta + mu_i) ),

solved by Newton's method with the analytic Hessian (the maximiser of MASS::glm.nb with prior weights). These
are stacked with the propensity model's score equations; the sandwich A^-1 B A^-T / n then carries the uncertainty
of the estimated score (``se="stacked"``). ``se="known"`` treats the weights as fixed (``survey::svyglm`` with
``ids = ~1``, including its n/(n-1) factor; for the negative binomial, which svyglm does not fit, the same
sandwich over (gamma, theta) with the same factor).

The result carries ``terms``, ``beta`` and ``vcov`` (link scale), which is what the shared inference interface
(``combotherapy.inference.Inference``) needs; arm contrasts are the arm coefficients (differences for a linear
model, odds ratios for a logistic one), conditional on the covariates when covariates are given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from ..arms import contrast_pairs
from ..errors import DataError, ModelError
from ..inference import GRID_RULE, Inference, ReferenceGrid
from ..results import Fitted, Result
from ._bootstrap import bootstrap_cov
from ._data import covariate_names, design_matrix, r_names
from ._inference import attach, regression_grid
from ._tables import check_weighted_call, pair_contrasts
from .evalues import with_evalues
from .ipw import outcome_vector
from .weights import WeightsResult

__all__ = ["WeightedRegressionResult", "weighted_regression"]

_SE_TEXT = {"stacked": "stacked estimating equations (propensity model estimated)",
            "known": "robust sandwich, weights treated as known (as survey::svyglm)",
            "bootstrap": "nonparametric bootstrap of subjects, {n_boot} replicates, propensity and outcome models "
                         "re-fitted"}


class WeightedRegressionResult(Result):
    """Weighted regression of an outcome on arm (+ covariates).

    Attributes
    ----------
    by_arm : DataFrame
        Estimated marginal means per arm from the shared inference interface (reference grid: the package's
        emmeans rule over the covariates; response scale).
    coefficients : DataFrame
        ``term, estimate, se, df, statistic, p, ci_low, ci_high`` (link scale).
    contrasts : DataFrame
        Every pair of arms from the arm coefficients (``log_estimate`` and odds ratios for a logistic model).
    terms, beta, vcov : the fit on the link scale (for the shared inference interface).
    link : "identity", "logit" or "log".
    theta, theta_se : float or None
        The negative binomial's dispersion parameter (variance mu + mu^2/theta) and its sandwich SE.
    """

    theta: float | None = None
    theta_se: float | None = None

    tables = ("by_arm", "coefficients", "contrasts", "evalues")

    def __init__(self, title, fitted, *, coefficients, contrasts, terms, beta, vcov, link, weights, outcome):
        super().__init__(title, fitted, coefficients=coefficients, contrasts=contrasts)
        self.terms, self.beta, self.vcov, self.link = terms, beta, vcov, link
        self.weights = weights
        self.outcome = outcome
        self.design = weights.ps.design


def _design(weights: WeightsResult, covariates: str | None) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Design matrix, column names and the reference grid's L (one row per arm)."""
    ps = weights.ps
    arms = ps.arms
    onehot = ps.indicator()
    cols = [np.ones(len(onehot)), *[onehot[:, k] for k in range(1, len(arms))]]
    names = ["(Intercept)", *[f"arm{a}" for a in arms[1:]]]
    L = regression_grid(arms)
    if covariates:
        rhs, needed = covariate_names(covariates)
        absent = [c for c in needed if c not in ps.data.columns]
        if absent:
            raise DataError(f"outcome-model covariate(s) {absent} not in the data")
        try:
            mm = design_matrix(rhs + " - 1", ps.data)
        except Exception as exc:
            raise DataError(f"the outcome-model formula '{rhs}' could not be built (missing values are not "
                            f"dropped): {exc}") from None
        cov_names = list(mm.column_names)
        Z = mm.X
        # the formula library keeps every level of the first factor when there is no intercept: drop the first level's
        # column (full rank beside the intercept), as R's treatment contrasts do
        keep = [j for j, nm in enumerate(cov_names) if not _first_level(nm, cov_names)]
        cols += [Z[:, j] for j in keep]
        names += r_names([cov_names[j] for j in keep])
        L = regression_grid(arms, ps.data, mm, needed, keep)
    X = np.column_stack(cols)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ModelError(f"the outcome model's design is rank deficient ({names}): remove collinear terms")
    return X, names, L


def _first_level(name: str, names: list[str]) -> bool:
    """True for the first level's indicator of a factor coded with all levels (``sex[F]`` beside ``sex[M]``)."""
    if "[" not in name or "[T." in name or ":" in name:
        return False
    stem = name.split("[", 1)[0]
    same = [n for n in names if n.startswith(stem + "[") and ":" not in n]
    return len(same) > 1 and same[0] == name


def _mean(eta, family):
    return expit(eta) if family == "binomial" else np.exp(eta) if family in ("poisson", "negbin") else eta


def _negbin_parts(X, y, params):
    """Per-subject score s_i of (gamma, theta) of the NB2 log-likelihood and its derivative ds_i/d(gamma, theta)
    (unweighted; n x q and n x q x q)."""
    from scipy.special import digamma, polygamma
    gamma, theta = params[:-1], params[-1]
    mu = np.exp(X @ gamma)
    tm = theta + mu
    s_g = X * (theta * (y - mu) / tm)[:, None]
    s_t = digamma(y + theta) - digamma(theta) + np.log(theta) + 1 - np.log(tm) - (theta + y) / tm
    d_gg = -(X.T[:, None, :] * X.T[None, :, :]).transpose(2, 0, 1) * (theta * mu * (theta + y) / tm**2)[:, None, None]
    d_gt = X * ((y - mu) * mu / tm**2)[:, None]
    d_tt = polygamma(1, y + theta) - polygamma(1, theta) + 1 / theta - 1 / tm - (mu - y) / tm**2
    n, p = X.shape
    D = np.empty((n, p + 1, p + 1))
    D[:, :p, :p], D[:, :p, p], D[:, p, :p], D[:, p, p] = d_gg, d_gt, d_gt, d_tt
    return np.column_stack([s_g, s_t]), D


def _fit_negbin(X, y, w):
    """Weighted NB2 maximum likelihood: Newton on (gamma, log theta) from the Poisson fit and a moment theta."""
    gamma = _fit(X, y, w, "poisson")
    mu = np.exp(X @ gamma)
    excess = np.sum(w * ((y - mu) ** 2 - mu)) / np.sum(w * mu**2)
    if not excess > 0:
        raise ModelError("no overdispersion relative to the Poisson (theta would be infinite): use "
                         "family='poisson'", kind="no overdispersion")
    params = np.append(gamma, 1 / excess)
    for _ in range(200):  # a few dozen Newton steps at most; each is vectorised over subjects
        s, D = _negbin_parts(X, y, params)
        score = (w[:, None] * s).sum(axis=0)
        H = np.einsum("i,ijk->jk", w, D)
        # Newton in (gamma, log theta): keeps theta positive
        J = np.eye(len(params))
        J[-1, -1] = params[-1]
        step = np.linalg.solve(J.T @ H @ J, -J.T @ score)
        # step halving on the weighted log-likelihood keeps the iteration ascending
        new = params.copy()
        for _half in range(30):
            new = np.append(params[:-1] + step[:-1], params[-1] * np.exp(step[-1]))
            if _negbin_loglik(X, y, w, new) >= _negbin_loglik(X, y, w, params) - 1e-10:
                break
            step = step / 2
        params = new
        if np.max(np.abs(step)) < 1e-12:
            return params
        if params[-1] > 1e8:
            raise ModelError("theta runs to infinity (no overdispersion): use family='poisson'",
                             kind="no overdispersion")
    raise ModelError("the weighted negative binomial model did not converge: simplify the outcome model")


def _negbin_loglik(X, y, w, params) -> float:
    from scipy.special import gammaln
    gamma, theta = params[:-1], params[-1]
    mu = np.exp(X @ gamma)
    ll = (gammaln(y + theta) - gammaln(theta) - gammaln(y + 1) + theta * np.log(theta) + y * np.log(mu)
          - (theta + y) * np.log(theta + mu))
    return float(np.sum(w * ll))


def _fit(X, y, w, family):
    if family == "gaussian":
        XtW = X.T * w
        return np.linalg.solve(XtW @ X, XtW @ y)
    g = np.zeros(X.shape[1])
    for _ in range(100):  # Newton on the weighted score; a handful of iterations, not a loop over subjects
        mu = _mean(X @ g, family)
        H = (X.T * (w * (mu * (1 - mu) if family == "binomial" else mu))) @ X
        step = np.linalg.solve(H, X.T @ (w * (y - mu)))
        g = g + step
        if np.max(np.abs(step)) < 1e-12:
            return g
    raise ModelError(f"the weighted {family} model did not converge (separation?): simplify the outcome model")


def weighted_regression(weights: WeightsResult, outcome: str, covariates: str | None = None, *,
                        family: str = "auto", se: str = "stacked", alpha: float = 0.05, adjust: str = "none",
                        n_boot: int = 500, seed: int | np.random.Generator | None = None
                        ) -> WeightedRegressionResult:
    """Propensity-weighted regression of an outcome on arm and covariates (weighted ANCOVA / logistic).

    Parameters
    ----------
    weights : WeightsResult
        From :func:`iptw` (named ``weights`` here and in every function of this module, never ``w`` or
        ``weighting``, so it cannot be confused with the reference grid's weights of the inference interface).
    outcome : str
    covariates : str, optional
        Formula terms of the outcome model (e.g. ``"pain0 + age"``); none gives the weighted arm means model.
    family : {"auto", "gaussian", "binomial", "poisson", "negbin"}
        "auto": binomial for a 0/1 outcome, else gaussian. "poisson" (log link) for counts: with sandwich SEs
        it is valid for any count distribution (negative binomial included) since only the mean model is used.
        "negbin": weighted negative binomial (NB2, log link) by maximum likelihood, theta estimated; rate ratios,
        sandwich SEs over (gamma, theta) (stacked with the propensity model by default).
    se : {"stacked", "known", "bootstrap"}
        Stacked estimating equations (default), weights treated as known, or a nonparametric bootstrap of
        subjects that re-fits the propensity model and the outcome model in every replicate.
    alpha : float
    adjust : {"none", "holm", "bonferroni"}
    n_boot : int
        Bootstrap replicates (``se="bootstrap"``).
    seed : int or Generator
        Required for the bootstrap.

    Returns
    -------
    WeightedRegressionResult

    References
    ----------
    Lunceford JK, Davidian M. Stat Med 2004;23:2937-60. Stefanski LA, Boos DD. The calculus of M-estimation.
    Am Stat 2002;56:29-38.

    Example
    -------
    >>> from combotherapy.observational import iptw, propensity_score, simulate_registry, weighted_regression
    >>> ps = propensity_score(simulate_registry(400, seed=2), "age + sex + pain0 + log(pain_duration)")
    >>> r = weighted_regression(iptw(ps), "pain", "pain0")
    >>> r.terms[:3]
    ['(Intercept)', 'armacupuncture', 'armcombined']
    """
    ps = check_weighted_call(weights, se, adjust)
    y = outcome_vector(ps.data, outcome)
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    if family == "auto":
        family = "binomial" if binary else "gaussian"
    if family not in ("gaussian", "binomial", "poisson", "negbin") or (family == "binomial" and not binary):
        raise DataError(f"family must be 'gaussian', 'binomial' (0/1 outcome), 'poisson' or 'negbin', not "
                        f"{family!r}")
    if family in ("poisson", "negbin") and (np.any(y < 0) or np.any(y != np.round(y))):
        raise DataError(f"column '{outcome}': family='{family}' needs non-negative whole numbers (counts)")
    X, names, L = _design(weights, covariates)
    w = weights.weights
    used = w > 0
    theta = theta_se = None
    if family == "negbin":
        params = _fit_negbin(X[used], y[used], w[used])
        gamma, theta = params[:-1], float(params[-1])
    else:
        params = gamma = _fit(X[used], y[used], w[used], family)
    if se == "bootstrap":
        vcov = _bootstrap(weights, X, y, family, n_boot, seed)
    else:
        full = _sandwich(weights, X, y, params, family, se)
        vcov = full[:len(gamma), :len(gamma)]
        if family == "negbin":
            theta_se = float(np.sqrt(full[-1, -1]))
    sd = np.sqrt(np.diag(vcov))
    q = stats.norm.ppf(1 - alpha / 2)
    z = gamma / sd
    coef = pd.DataFrame({"term": names, "estimate": gamma, "se": sd, "df": np.inf, "statistic": z,
                         "p": 2 * stats.norm.sf(np.abs(z)), "ci_low": gamma - q * sd, "ci_high": gamma + q * sd})
    contrasts = _arm_contrasts(ps.arms, gamma, vcov, alpha, adjust, family != "gaussian")
    link = {"gaussian": "identity", "binomial": "logit", "poisson": "log", "negbin": "log"}[family]
    notes = [*weights.notes,
             f"Standard errors: {_SE_TEXT[se].format(n_boot=n_boot)}; z reference.",
             "Arm contrasts are the arm coefficients" + (" (conditional on the covariates)" if covariates else "")
             + ("; odds ratios for a logistic model." if family == "binomial" else
                "; rate ratios for a Poisson model." if family == "poisson" else
                "; rate ratios for a negative binomial model." if family == "negbin" else ".")]
    if family == "negbin":
        notes.append(f"Negative binomial dispersion theta = {theta:.4g}" + (f" (SE {theta_se:.3g})" if theta_se
                                                                             else "") + "; variance mu + mu^2/theta.")
    kind = {"gaussian": "linear", "binomial": "logistic", "poisson": "Poisson (log-linear)",
            "negbin": "negative binomial (log-linear)"}[family]
    fitted = Fitted(model=f"Propensity-weighted {kind} regression "
                    f"({weights.estimand} weights)",
                    formula=f"{outcome} ~ arm" + (f" + {covariate_names(covariates)[0]}" if covariates else ""),
                    outcome=outcome, df_method="z", adjust=adjust, alpha=alpha,
                    n_per_arm=weights.fitted.n_per_arm, excluded=weights.fitted.excluded, notes=notes,
                    extra={"design": ps.design, "estimand": weights.estimand, "se": se, "link": link,
                           "adjustment": weights.adjustment, **({"theta": theta, "theta_se": theta_se}
                                                                if family == "negbin" else {})})
    out = WeightedRegressionResult(f"Weighted regression of {outcome}", fitted, coefficients=coef,
                                   contrasts=contrasts, terms=names, beta=gamma, vcov=vcov, link=link,
                                   weights=weights, outcome=outcome)
    out.theta, out.theta_se = theta, theta_se
    grid = ReferenceGrid(pd.DataFrame({"arm": ps.arms}), L, GRID_RULE)
    attach(out, Inference(tuple(names), gamma, vcov, np.inf, "z", grid, link=link), outcome)
    out.by_arm = out.inference.emmeans(alpha=alpha)
    return with_evalues(out)


def _sandwich(weights, X, y, gamma, family, se):
    ps = weights.ps
    w = weights.weights
    n = X.shape[0]
    if family == "negbin":  # gamma holds (gamma, theta): the score of the NB2 log-likelihood
        s, D = _negbin_parts(X, y, gamma)
        u = s * w[:, None]
        A_gg = -np.einsum("i,ijk->jk", w, D) / n
    else:
        mu = _mean(X @ gamma, family)
        dmu = mu * (1 - mu) if family == "binomial" else mu if family == "poisson" else np.ones(n)
        u = X * (w * (y - mu))[:, None]                                   # outcome equations, n x p
        A_gg = (X.T * (w * dmu)) @ X / n
    p = u.shape[1]
    if se == "known":
        Ainv = np.linalg.inv(A_gg)
        return Ainv @ (u.T @ u / n) @ Ainv.T / n * n / (n - 1)
    Xp, e = ps.X, ps.probabilities
    K = e.shape[1]
    onehot = ps.indicator()
    g = onehot[:, 1:] - e[:, 1:]
    psi_b = (Xp[:, :, None] * g[:, None, :]).transpose(0, 2, 1).reshape(n, -1)
    E = e[:, 1:]
    inner = np.einsum("ik,kl->ikl", E, np.eye(K - 1)) - np.einsum("ik,il->ikl", E, E)
    A_bb = np.einsum("ikl,ip,iq->kplq", inner, Xp, Xp).reshape((K - 1) * Xp.shape[1], -1) / n
    C = weights.log_weight_gradient()
    dlw = C[:, 1:] - e[:, 1:] * C.sum(axis=1, keepdims=True)
    dlogw = (Xp[:, :, None] * dlw[:, None, :]).transpose(0, 2, 1).reshape(n, -1)
    A_gb = -(u.T @ dlogw) / n
    qb = A_bb.shape[0]
    A = np.zeros((qb + p, qb + p))
    A[:qb, :qb], A[qb:, :qb], A[qb:, qb:] = A_bb, A_gb, A_gg
    psi = np.hstack([psi_b, u])
    Ainv = np.linalg.inv(A)
    V = Ainv @ (psi.T @ psi / n) @ Ainv.T / n
    return V[qb:, qb:]


def _arm_contrasts(arms, gamma, vcov, alpha, adjust, ratio) -> pd.DataFrame:
    pairs = contrast_pairs(arms)
    L = np.zeros((len(pairs), len(gamma)))
    for r, (a, b) in enumerate(pairs):  # one row per pair of arms
        ia, ib = arms.index(a), arms.index(b)
        if ia:
            L[r, ia] += 1.0
        if ib:
            L[r, ib] -= 1.0
    out = pair_contrasts(pairs, L, gamma, vcov, alpha=alpha, adjust=adjust)
    if ratio:
        out.insert(4, "log_estimate", out["estimate"].to_numpy())
        out["estimate"] = np.exp(out["log_estimate"])
        out["ci_low"], out["ci_high"] = np.exp(out["ci_low"]), np.exp(out["ci_high"])
    return out


def _bootstrap(weights, X, y, family, n_boot, seed) -> np.ndarray:
    def statistic(idx, c, w):
        keep = w > 0
        if family == "negbin":
            return _fit_negbin(X[idx][keep], y[idx][keep], w[keep])[:-1]
        return _fit(X[idx][keep], y[idx][keep], w[keep], family)

    return bootstrap_cov(weights, statistic, n_boot, seed, design=X)

