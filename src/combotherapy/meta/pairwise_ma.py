"""Pairwise meta-analysis: common- and random-effects models (metafor's ``rma.uni``) and their diagnostics.

``rma`` pools one effect-size table (from :func:`~combotherapy.meta.escalc` or reported contrasts);
``leave1out``, ``influence``, ``regtest`` (Egger) and ``trimfill`` take its result. Meta-regression on
moderators is the same model with ``mods=`` (see :mod:`combotherapy.meta.metareg`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, ModelError, ProblemCollector
from ..results import Result
from . import _wls
from ._fitted import StudyFitted as Fitted

__all__ = ["rma", "RMAResult", "leave1out", "influence", "regtest", "trimfill", "RegTestResult"]

_COLUMNS = ["estimate", "se", "df", "statistic", "p", "p_adj", "ci_low", "ci_high"]


class RMAResult(Result):
    """A fitted (meta-regression) random- or common-effects model.

    Attributes
    ----------
    estimates : DataFrame
        One row per coefficient (``term``; ``"intercept"`` is the pooled effect without moderators) with
        ``estimate, se, df, statistic, p, p_adj, ci_low, ci_high`` and, for the pooled effect, the prediction
        interval ``pi_low, pi_high``.
    heterogeneity : DataFrame
        ``tau2, tau, I2, H2, Q, Q_df, Q_p`` (one row).
    studies : DataFrame
        ``study, yi, vi, sei, ci_low, ci_high, weight`` (weight in percent of the total).
    """

    tables = ("estimates", "heterogeneity", "studies")

    def __init__(self, title, fitted, *, y, v, X, terms, labels, method, test, level, b, vb, tau2, measure,
                 **tables):
        super().__init__(title, fitted, **tables)
        self.y, self.v, self.X, self.terms, self.labels = y, v, X, terms, labels
        self.method, self.test, self.level, self.b, self.vb, self.tau2 = method, test, level, b, vb, tau2
        self.measure = measure

    @property
    def k(self) -> int:
        return len(self.y)

    def headline(self) -> list[str]:
        e = self.estimates.iloc[0]
        h = self.heterogeneity.iloc[0]
        pi = ""
        if "pi_low" in self.estimates and np.isfinite(e.get("pi_low", np.nan)):
            pi = f"; prediction interval {e['pi_low']:.3f} to {e['pi_high']:.3f}"
        return [f"{self.terms[0]}: {e['estimate']:.3f} ({e['ci_low']:.3f} to {e['ci_high']:.3f}), p = {e['p']:.3g}"
                f"{pi}; tau2 = {h['tau2']:.4g}, I2 = {h['I2']:.1f}%"]


def _check(y, v, labels) -> None:
    p = ProblemCollector()
    bad_y = np.flatnonzero(~np.isfinite(y))
    bad_v = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
    for col, rows, what in (("yi", bad_y, "is missing or not finite"), ("vi", bad_v, "is not a positive variance")):
        if len(rows):
            p.add(col, f"{what} [studies {', '.join(map(str, labels[rows][:5]))}]", rows)
    p.raise_if_any(message="rma(): every study needs a finite effect size and a positive sampling variance.")


def rma(data: pd.DataFrame | None = None, *, yi="yi", vi="vi", sei=None, study="study", mods: Sequence[str] | None = None,
        method: str = "REML", test: str = "z", level: float = 0.95, measure: str | None = None,
        moderators: pd.DataFrame | None = None) -> RMAResult:
    """Common- or random-effects meta-analysis, optionally with moderators (metafor ``rma.uni``).

    Parameters
    ----------
    data : DataFrame
        One row per study, e.g. the output of :func:`~combotherapy.meta.escalc`.
    yi, vi, sei, study : str
        Columns with the effect sizes, their sampling variances (or standard errors ``sei``) and study labels.
    mods : sequence of str, optional
        Study-level moderators (columns of ``data``; text columns become indicator columns with the first level
        as reference): a meta-regression.
    method : {"REML", "ML", "DL", "PM", "EB", "SJ", "HE", "FE"}
        Estimator of the between-study variance tau^2 (``"FE"``: common-effect model).
    test : {"z", "knha"}
        ``"knha"``: Hartung-Knapp-Sidik-Jonkman adjustment (t distribution with k - p df, variance scaled by
        the weighted residual mean square).
    level : float
        Confidence level.
    measure : str, optional
        Name of the effect measure (taken from ``data.attrs`` when ``escalc`` made the table).

    Returns
    -------
    RMAResult

    Notes
    -----
    ``y_i = x_i' beta + u_i + e_i`` with ``e_i ~ N(0, v_i)`` (``v_i`` known) and ``u_i ~ N(0, tau^2)``;
    ``beta = (X'WX)^-1 X'Wy``, ``W = diag(1/(v_i + tau^2))``. Q uses the common-effect weights;
    ``I2 = tau^2/(tau^2 + s^2)``, ``H2 = (tau^2 + s^2)/s^2`` with ``s^2 = (k-p)/tr(P_FE)`` (metafor's
    definitions; for the common-effect model I2 and H2 come from Q). The prediction interval is
    ``b +- crit sqrt(se^2 + tau^2)`` with the same critical value as the confidence interval.

    References
    ----------
    Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in the random-effects model.
    J Educ Behav Stat 2005;30:261-293. Knapp G, Hartung J. Stat Med 2003;22:2693-2710.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.3, -1.4, -0.2], "vi": [0.33, 0.19, 0.41, 0.02, 0.05]})
    >>> res = rma(d, method="DL")
    >>> round(float(res.estimates["estimate"].iloc[0]), 3)
    -1.048
    """
    method = method.upper()
    if method not in _wls.TAU2_METHODS:
        raise ValueError(f"method must be one of {', '.join(_wls.TAU2_METHODS)}, not {method!r}")
    if test not in ("z", "knha"):
        raise ValueError("test must be 'z' or 'knha'")
    if data is None:
        raise ValueError("give the study table as data=")
    p = ProblemCollector()
    cols = [yi, vi if sei is None else sei] + list(mods or [])
    for c in cols:
        if c not in data.columns:
            p.add(c, "is not a column of the data")
    p.raise_if_any(message="rma(): columns not found.")
    labels = (data[study].astype(str).to_numpy(dtype=object) if study in data.columns
              else np.array([f"study {i + 1}" for i in range(len(data))], dtype=object))
    y = pd.to_numeric(data[yi], errors="coerce").to_numpy(dtype=float)
    v = (pd.to_numeric(data[vi], errors="coerce").to_numpy(dtype=float) if sei is None
         else pd.to_numeric(data[sei], errors="coerce").to_numpy(dtype=float) ** 2)
    _check(y, v, labels)
    X, terms = _design(data, mods, labels)
    measure = measure or data.attrs.get("measure", "GEN")
    return _fit(y, v, X, terms, labels, method, test, level, measure, list(data.attrs.get("notes", [])))


def _design(data: pd.DataFrame, mods, labels) -> tuple[np.ndarray, list[str]]:
    if not mods:
        return np.ones((len(data), 1)), ["intercept"]
    frame = pd.get_dummies(data[list(mods)], drop_first=True, dtype=float)
    bad = frame.isna().any(axis=1).to_numpy()
    if bad.any():
        raise DataError(f"moderators missing for studies {', '.join(map(str, labels[bad][:10]))}: give a value for "
                        "every study or leave those studies out explicitly")
    X = np.column_stack([np.ones(len(data)), frame.to_numpy(dtype=float)])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ModelError("the moderators are collinear (or constant): drop one of them")
    return X, ["intercept", *frame.columns]


def _fit(y, v, X, terms, labels, method, test, level, measure, notes, name="Meta-analysis") -> RMAResult:
    k, p = X.shape
    if k <= p:
        raise ModelError(f"{k} studies cannot estimate {p} coefficient(s): add studies or drop moderators")
    t2 = _wls.tau2(y, v, X, method) if k > p else 0.0
    b, vb, P = _wls.fit(y, v, X, t2)
    _, _, P0 = _wls.fit(y, v, X, 0.0)
    Q = float(y @ P0 @ y)
    df_q = k - p
    s2w = 1.0
    if test == "knha":
        s2w = float(y @ P @ y) / (k - p)
        vb = vb * s2w
        crit, dist_df = stats.t.ppf(0.5 + level / 2, k - p), float(k - p)
    else:
        crit, dist_df = stats.norm.ppf(0.5 + level / 2), np.inf
    se = np.sqrt(np.diag(vb))
    stat = b / se
    pv = 2 * (stats.t.sf(np.abs(stat), dist_df) if np.isfinite(dist_df) else stats.norm.sf(np.abs(stat)))
    est = pd.DataFrame({"term": terms, "estimate": b, "se": se, "df": dist_df, "statistic": stat, "p": pv,
                        "p_adj": pv, "ci_low": b - crit * se, "ci_high": b + crit * se})
    if p == 1:
        half = crit * np.sqrt(se[0] ** 2 + t2)
        est["pi_low"], est["pi_high"] = b[0] - half, b[0] + half
    if method == "FE":
        i2 = max(0.0, 100 * (Q - df_q) / Q) if Q > 0 else 0.0
        h2 = Q / df_q if df_q > 0 else np.nan
    else:
        s2 = df_q / np.trace(P0)
        i2, h2 = 100 * t2 / (t2 + s2), (t2 + s2) / s2
    het = pd.DataFrame({"tau2": [t2], "tau": [np.sqrt(t2)], "I2": [i2], "H2": [h2], "Q": [Q], "Q_df": [df_q],
                        "Q_p": [stats.chi2.sf(Q, df_q) if df_q > 0 else np.nan]})
    w = 1 / (v + t2)
    zc = stats.norm.ppf(0.5 + level / 2)
    studies = pd.DataFrame({"study": labels, "yi": y, "vi": v, "sei": np.sqrt(v), "ci_low": y - zc * np.sqrt(v),
                            "ci_high": y + zc * np.sqrt(v), "weight": 100 * w / w.sum()})
    model = "common-effect model" if method == "FE" else f"random-effects model (tau2: {method})"
    fitted = Fitted(model=f"{name}: {model}", formula=" + ".join(terms) if p > 1 else "",
                    df_method="Hartung-Knapp-Sidik-Jonkman (t, k - p df)" if test == "knha" else "normal (z)",
                    alpha=1 - level, notes=notes + [f"measure: {measure}."], studies=k)
    out = RMAResult(f"{name} ({measure}, {model})", fitted, y=y, v=v, X=X, terms=terms, labels=labels,
                    method=method, test=test, level=level, b=b, vb=vb, tau2=t2, measure=measure,
                    estimates=est, heterogeneity=het, studies=studies)
    out.s2w = s2w   # Hartung-Knapp scale factor (1 for the z test)
    return out


def _refit(res: RMAResult, keep: np.ndarray, X: np.ndarray | None = None) -> RMAResult:
    X = res.X[keep] if X is None else X
    return _fit(res.y[keep], res.v[keep], X, res.terms if X.shape[1] == res.X.shape[1] else
                ["intercept", "sei"], res.labels[keep], res.method, res.test, res.level, res.measure, [])


def leave1out(res: RMAResult) -> pd.DataFrame:
    """The pooled effect with each study left out in turn (metafor ``leave1out``).

    Returns
    -------
    DataFrame
        ``study`` (the one left out), ``estimate, se, statistic, p, ci_low, ci_high, Q, Q_p, tau2, I2, H2``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.3, -1.4, -0.2], "vi": [0.33, 0.19, 0.41, 0.02, 0.05]})
    >>> len(leave1out(rma(d, method="DL")))
    5
    """
    if res.X.shape[1] != 1:
        raise ModelError("leave1out() needs a model without moderators")
    rows = []
    # one refit per study left out (k refits of a k-row model; not a loop over patients)
    for i in range(res.k):
        r = _refit(res, np.arange(res.k) != i)
        e, h = r.estimates.iloc[0], r.heterogeneity.iloc[0]
        rows.append([res.labels[i], e["estimate"], e["se"], e["statistic"], e["p"], e["ci_low"], e["ci_high"],
                     h["Q"], h["Q_p"], h["tau2"], h["I2"], h["H2"]])
    return pd.DataFrame(rows, columns=["study", "estimate", "se", "statistic", "p", "ci_low", "ci_high", "Q", "Q_p",
                                       "tau2", "I2", "H2"])


def influence(res: RMAResult) -> pd.DataFrame:
    """Case-deletion diagnostics (Viechtbauer and Cheung 2010; metafor ``influence.rma.uni``).

    Returns
    -------
    DataFrame
        ``study, rstudent, dffits, cook_d, cov_r, tau2_del, Q_del, hat, weight`` and one ``dfbetas_<term>`` per coefficient.

    Notes
    -----
    With the fit without study i (``b_(i)``, ``V_(i)``, ``tau2_(i)``): externally standardised residual
    ``(y_i - x_i b_(i)) / sqrt(v_i + tau2_(i) + x_i V_(i) x_i')``; Cook's distance
    ``(b - b_(i))' V^-1 (b - b_(i))``; covariance ratio ``det V_(i) / det V``; DFBETAS
    ``(b - b_(i)) / sqrt(diag (X'W_(i)X)^-1)`` with all k studies weighted at ``tau2_(i)`` (as metafor);
    DFFITS ``x_i (b - b_(i)) / sqrt(h_i (tau2_(i) + v_i))``; hat values ``diag(X (X'WX)^-1 X'W)``.

    References
    ----------
    Viechtbauer W, Cheung MWL. Outlier and influence diagnostics for meta-analysis. Res Synth Methods 2010;1:112-125.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.3, -1.4, -0.2], "vi": [0.33, 0.19, 0.41, 0.02, 0.05]})
    >>> list(influence(rma(d, method="DL")).columns)[:3]
    ['study', 'rstudent', 'dffits']
    """
    X, b, vb = res.X, res.b, res.vb
    w = 1 / (res.v + res.tau2)
    hat = np.einsum("ij,jk,ik->i", X, vb if res.test == "z" else np.linalg.inv(X.T @ (X * w[:, None])), X) * w
    vinv = np.linalg.inv(vb)
    out = {"study": res.labels, "rstudent": [], "dffits": [], "cook_d": [], "cov_r": [], "tau2_del": [],
           "Q_del": []}
    dfb = []
    for i in range(res.k):   # one refit per deleted study
        r = _refit(res, np.arange(res.k) != i)
        d = b - r.b
        x = X[i]
        pred_full, pred_del = x @ b, x @ r.b
        out["rstudent"].append((res.y[i] - pred_del) / np.sqrt(res.v[i] * r.s2w + x @ r.vb @ x + r.tau2 * r.s2w))
        out["dffits"].append((pred_full - pred_del) / np.sqrt(r.s2w * hat[i] * (r.tau2 + res.v[i])))
        out["cook_d"].append(float(d @ vinv @ d))
        out["cov_r"].append(float(np.linalg.det(r.vb) / np.linalg.det(vb)))
        out["tau2_del"].append(r.tau2)
        out["Q_del"].append(float(r.heterogeneity["Q"].iloc[0]))
        # metafor scales DFBETAS by the covariance of the full design at the deleted fit's tau^2
        w_del = 1 / (res.v + r.tau2)
        vb_del = np.linalg.inv(X.T @ (X * w_del[:, None]))
        dfb.append(d / np.sqrt(r.s2w * np.diag(vb_del)))
    frame = pd.DataFrame(out)
    frame["hat"], frame["weight"] = hat, 100 * w / w.sum()
    for j, t in enumerate(res.terms):
        frame[f"dfbetas_{t}"] = np.array(dfb)[:, j]
    return frame


class RegTestResult(Result):
    """Egger's regression test for funnel-plot asymmetry."""

    tables = ("test",)

    def headline(self) -> list[str]:
        t = self.test.iloc[0]
        return [f"Funnel asymmetry: {t['statistic']:.3f} (p = {t['p']:.4g}); limit estimate {t['limit']:.3f}"]


def regtest(res: RMAResult, model: str = "rma") -> RegTestResult:
    """Egger's regression test: the effect regressed on its standard error (metafor ``regtest``).

    Parameters
    ----------
    res : RMAResult
        A model without moderators.
    model : {"rma", "lm"}
        ``"rma"``: the meta-regression ``y ~ sei`` with the model's own tau^2 method and test (metafor's
        default); ``"lm"``: the classic Egger test, weighted least squares with weights ``1/v`` and a t test.

    Returns
    -------
    RegTestResult
        ``test``: ``statistic, df, p`` for the slope and ``limit`` (the intercept: the effect as se -> 0) with its
        confidence interval.

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C. Bias in meta-analysis detected by a simple, graphical test.
    BMJ 1997;315:629-634.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.3, -1.4, -0.2, -0.5], "vi": [0.33, 0.19, 0.41, 0.02, 0.05, 0.1]})
    >>> float(regtest(rma(d, method="DL")).test["p"].iloc[0]) > 0
    True
    """
    if res.X.shape[1] != 1:
        raise ModelError("regtest() needs a model without moderators")
    X = np.column_stack([np.ones(res.k), np.sqrt(res.v)])
    if model == "rma":
        r = _refit(res, np.ones(res.k, dtype=bool), X)
        e = r.estimates
        df = e["df"].iloc[1]
        stat, pv = e["statistic"].iloc[1], e["p"].iloc[1]
        limit, lo, hi = e["estimate"].iloc[0], e["ci_low"].iloc[0], e["ci_high"].iloc[0]
    elif model == "lm":
        w = 1 / res.v
        b, vb, P = _wls.fit(res.y, res.v, X, 0.0)
        df = res.k - 2
        s2 = float(res.y @ P @ res.y) / df
        se = np.sqrt(np.diag(vb) * s2)
        stat = b[1] / se[1]
        pv = 2 * stats.t.sf(abs(stat), df)
        crit = stats.t.ppf(0.5 + res.level / 2, df)
        limit, lo, hi = b[0], b[0] - crit * se[0], b[0] + crit * se[0]
        del w
    else:
        raise ValueError("model must be 'rma' or 'lm'")
    test = pd.DataFrame({"model": [model], "predictor": ["sei"], "statistic": [stat], "df": [df], "p": [pv],
                         "limit": [limit], "ci_low": [lo], "ci_high": [hi]})
    return RegTestResult("Regression test for funnel plot asymmetry (Egger)",
                         Fitted(model=f"{'meta-regression' if model == 'rma' else 'weighted regression'} y ~ sei", studies=res.k),
                         test=test)


def trimfill(res: RMAResult, side: str | None = None, estimator: str = "L0", maxiter: int = 100) -> RMAResult:
    """Duval and Tweedie's trim-and-fill (metafor ``trimfill``, estimators L0 and R0).

    Parameters
    ----------
    res : RMAResult
        A model without moderators.
    side : {"left", "right"}, optional
        Side where studies are presumed missing; by default the side opposite to the sign of the slope of the
        regression of the effects on their standard errors (as metafor).
    estimator : {"L0", "R0"}

    Returns
    -------
    RMAResult
        The model refitted with the filled studies (labelled ``"filled 1"``, ...); ``k0`` and ``side`` are
        attributes and ``studies["filled"]`` marks the imputed rows.

    References
    ----------
    Duval S, Tweedie R. Trim and fill. Biometrics 2000;56:455-463.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.3, -1.4, -0.2, -0.5], "vi": [0.33, 0.19, 0.41, 0.02, 0.05, 0.1]})
    >>> trimfill(rma(d, method="FE")).k0 >= 0
    True
    """
    if res.X.shape[1] != 1:
        raise ModelError("trimfill() needs a model without moderators")
    if estimator not in ("L0", "R0"):
        raise ValueError("estimator must be 'L0' or 'R0'")
    if side is None:
        X = np.column_stack([np.ones(res.k), np.sqrt(res.v)])
        slope = _refit(res, np.ones(res.k, dtype=bool), X).b[1]
        side = "right" if slope < 0 else "left"
    sign = -1.0 if side == "right" else 1.0
    y = sign * res.y
    order = np.argsort(y, kind="stable")
    y, v = y[order], res.v[order]
    k = res.k
    k0, prev, it = 0, -1, 0
    ones = np.ones((k, 1))
    while k0 != prev:
        prev, it = k0, it + 1
        if it > maxiter:
            raise ModelError("trim-and-fill did not converge")
        beta = float(_wls.fit(y[:k - k0], v[:k - k0], ones[:k - k0],
                              _wls.tau2(y[:k - k0], v[:k - k0], ones[:k - k0], res.method))[0][0])
        c = y - beta
        ranks = stats.rankdata(np.abs(c), method="ordinal")
        signed = np.sign(c) * ranks
        if estimator == "L0":
            est = (4 * signed[signed > 0].sum() - k * (k + 1)) / (2 * k - 1)
        else:
            est = (k - np.max(-signed[signed < 0])) - 1
        k0 = int(max(0, np.round(est)))   # numpy rounds halves to even, as R's round()
    if k0 > 0:
        filled_y = sign * (2 * beta - y[k - k0:])
        y_new = np.concatenate([res.y, filled_y])
        v_new = np.concatenate([res.v, v[k - k0:]])
        labels = np.concatenate([res.labels, np.array([f"filled {i + 1}" for i in range(k0)], dtype=object)])
        out = _fit(y_new, v_new, np.ones((k + k0, 1)), res.terms, labels, res.method, res.test, res.level,
                   res.measure, [f"trim-and-fill ({estimator}): {k0} stud{'y' if k0 == 1 else 'ies'} imputed on "
                                 f"the {side} side."], name="Trim-and-fill meta-analysis")
    else:
        out = _fit(res.y, res.v, res.X, res.terms, res.labels, res.method, res.test, res.level, res.measure,
                   ["trim-and-fill: no study imputed."], name="Trim-and-fill meta-analysis")
    out.studies["filled"] = np.arange(len(out.studies)) >= k
    out.k0, out.side = k0, side
    return out
