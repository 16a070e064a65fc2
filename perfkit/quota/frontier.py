"""Stochastic frontier analysis as a statsmodels model (Aigner, Lovell and Schmidt 1977).

    y = x'β + v + s·u,   v ~ N(0, σv²),   u ≥ 0,   s = +1 for a cost frontier, −1 for production

with u half-normal, exponential or truncated normal. Parameters follow FRONTIER
4.1 and the R package ``frontier`` so that results compare directly:
``σ² = σu² + σv²`` (``sigma2``), ``γ = σu²/σ²`` (``gamma``) and, for the
truncated normal, ``μ`` (``mu``), the mean of u before truncation. For the
exponential, σu is the scale (mean) of u.

The likelihood is maximised in two stages: BFGS in an unbounded
reparameterisation (log σ², logit γ) from method-of-moments (COLS) start
values, then Newton steps in the reported parameterisation, whose Hessian gives
the standard errors.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import optimize, stats
from scipy.special import expit, log_ndtr, logit
from statsmodels.base.model import GenericLikelihoodModel, GenericLikelihoodModelResults, LikelihoodResultsWrapper
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.numdiff import approx_fprime, approx_hess3

DISTRIBUTIONS = ("half-normal", "exponential", "truncated-normal")
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


class WrongSkewWarning(UserWarning):
    """OLS residuals are skewed the wrong way for the frontier: no inefficiency is visible."""


class BoundaryWarning(UserWarning):
    """The likelihood rises towards the edge of the parameter space: no interior maximum.

    For the truncated normal this is μ → −∞ with γ → 1, where the distribution of
    u tends to the exponential: fit ``dist="exponential"`` instead.
    """


def _mills(z: np.ndarray) -> np.ndarray:
    """φ(z)/Φ(z), stable for large negative z."""
    return np.exp(-0.5 * z * z - _LOG_SQRT_2PI - log_ndtr(z))


class StochasticFrontier(GenericLikelihoodModel):
    """Stochastic cost or production frontier.

    Parameters
    ----------
    endog : array_like
        The dependent variable (log cost or log output for a Cobb-Douglas frontier).
    exog : array_like
        Regressors, including a constant (see ``statsmodels.api.add_constant``).
    cost : bool, default True
        True for a cost frontier (inefficiency raises cost), False for production.
    dist : {"half-normal", "exponential", "truncated-normal"}
        Distribution of the inefficiency term u.

    Examples
    --------
    >>> res = StochasticFrontier.from_formula("np.log(cost) ~ np.log(q)", data).fit()   # doctest: +SKIP
    >>> res.summary(); res.efficiency().mean()                                          # doctest: +SKIP
    """

    def __init__(self, endog, exog, cost: bool = True, dist: str = "half-normal", **kwargs):
        if dist not in DISTRIBUTIONS:
            raise ValueError(f"dist must be one of {DISTRIBUTIONS}, not {dist!r}")
        extra = ["sigma2", "gamma"] + (["mu"] if dist == "truncated-normal" else [])
        super().__init__(endog, exog, cost=cost, dist=dist, extra_params_names=extra, **kwargs)
        if not (np.all(np.isfinite(self.endog)) and np.all(np.isfinite(self.exog))):
            raise ValueError("endog and exog must be finite (take logs of positive values only)")
        if np.ptp(self.endog) == 0:
            raise ValueError(f"the dependent variable is constant ({self.endog[0]:g} in all {len(self.endog)} rows): "
                             f"no frontier can be fitted")
        self.sign = 1.0 if cost else -1.0
        self.k_beta = self.exog.shape[1]
        # the statsmodels base class counts only exog columns as the model's degrees of freedom
        self.df_resid = float(self.exog.shape[0] - self.nparams)

    @classmethod
    def from_formula(cls, formula, data, subset=None, drop_cols=None, *args, cost: bool = True,
                     dist: str = "half-normal", **kwargs):
        """Create a frontier from a formula, e.g. ``"np.log(cost) ~ np.log(quantity) + C(region)"``.

        Rows where the formula gives a missing or invalid value (NaN inputs, the log of a value ≤ 0) are
        refused, never silently dropped: the error says how many and which.

        Raises
        ------
        ValueError
            Naming the count and the first rows (by the data's index) that the formula cannot use.
        """
        import warnings

        from patsy import dmatrices

        frame = data if subset is None else data.loc[subset]
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            endog, _ = dmatrices(formula, frame, NA_action="drop", return_type="dataframe")
            usable = np.isfinite(endog.to_numpy()).all(axis=1)
        bad = frame.index.difference(endog.index[usable])
        if len(bad):
            shown = ", ".join(map(str, bad[:10])) + (" …" if len(bad) > 10 else "")
            raise ValueError(f"{len(bad)} of {len(frame)} row(s) give a missing or invalid value in "
                             f"{formula!r} (NaN, or the log of a value ≤ 0): rows {shown}")
        return super().from_formula(formula, data, subset, drop_cols, *args, cost=cost, dist=dist,
                                    missing="raise", **kwargs)

    # -- likelihood ----------------------------------------------------------
    def _split(self, params):
        params = np.asarray(params, dtype=float)
        beta = params[: self.k_beta]
        sigma2, gamma = params[self.k_beta], params[self.k_beta + 1]
        mu = params[self.k_beta + 2] if self.dist == "truncated-normal" else 0.0
        return beta, sigma2, gamma, mu

    def _e(self, beta):
        """Residuals in production form (e = v − u) whatever the frontier's direction."""
        return -self.sign * (self.endog - self.exog @ beta)

    def loglikeobs(self, params):
        """Log-likelihood of each observation."""
        beta, sigma2, gamma, mu = self._split(params)
        if not (sigma2 > 0 and 0 < gamma < 1):
            return np.full(self.endog.shape[0], -np.inf)
        e = self._e(beta)
        su, sv = np.sqrt(gamma * sigma2), np.sqrt((1 - gamma) * sigma2)
        sigma = np.sqrt(sigma2)
        if self.dist == "half-normal":
            lam = su / sv
            return np.log(2) - np.log(sigma) - _LOG_SQRT_2PI - 0.5 * (e / sigma) ** 2 + log_ndtr(-e * lam / sigma)
        if self.dist == "exponential":
            return -np.log(su) + sv**2 / (2 * su**2) + e / su + log_ndtr(-e / sv - sv / su)
        mu_star = (mu * sv**2 - e * su**2) / sigma2
        s_star = su * sv / sigma
        return (-np.log(sigma) - _LOG_SQRT_2PI - 0.5 * ((e + mu) / sigma) ** 2
                + log_ndtr(mu_star / s_star) - log_ndtr(mu / su))

    def loglike(self, params):
        return float(np.sum(self.loglikeobs(params)))

    def score(self, params):
        """Gradient of the log-likelihood: analytic for the half-normal, centred differences otherwise."""
        if self.dist != "half-normal":
            return approx_fprime(np.asarray(params, float), self.loglike, centered=True).ravel()
        beta, sigma2, gamma, _ = self._split(params)
        e = self._e(beta)
        lam = np.sqrt(gamma / (1 - gamma))
        sigma = np.sqrt(sigma2)
        z = -e * lam / sigma
        r = _mills(z)
        d_e = -e / sigma2 - r * lam / sigma
        d_beta = self.sign * (self.exog.T @ d_e)
        d_sigma2 = np.sum(-0.5 / sigma2 + 0.5 * e**2 / sigma2**2 - 0.5 * r * z / sigma2)
        d_gamma = np.sum(r * z) / (2 * gamma * (1 - gamma))
        return np.concatenate([d_beta, [d_sigma2, d_gamma]])

    def hessian(self, params):
        """Hessian: differences of the analytic score (half-normal) or of the log-likelihood."""
        params = np.asarray(params, dtype=float)
        if self.dist == "half-normal":
            h = approx_fprime(params, self.score, centered=True)
            return 0.5 * (h + h.T)
        return approx_hess3(params, self.loglike)

    # -- start values --------------------------------------------------------
    def ols(self):
        """The OLS fit of the same regression (the frontier without inefficiency)."""
        return OLS(self.endog, self.exog).fit()

    def start_values(self) -> np.ndarray:
        """Method-of-moments start values from corrected OLS (COLS), warning on wrong skew."""
        ols = self.ols()
        e = -self.sign * ols.resid          # production form: should be skewed to the left
        m2, m3 = np.mean(e**2), np.mean(e**3)
        if m3 >= 0:
            warnings.warn("OLS residuals have the wrong skew for a "
                          f"{'cost' if self.sign > 0 else 'production'} frontier (third moment "
                          f"{-self.sign * m3:+.3g}): the data show no inefficiency and σu tends to 0",
                          WrongSkewWarning, stacklevel=3)
            su = 0.1 * np.sqrt(m2)
        elif self.dist == "exponential":
            su = (-m3 / 2) ** (1 / 3)
        else:
            su = (-m3 / (np.sqrt(2 / np.pi) * (4 / np.pi - 1))) ** (1 / 3)
        mean_u = su if self.dist == "exponential" else su * np.sqrt(2 / np.pi)
        var_u = su**2 if self.dist == "exponential" else (1 - 2 / np.pi) * su**2
        sv2 = max(m2 - var_u, 0.05 * m2)
        beta = np.asarray(ols.params, dtype=float).copy()
        const = _constant_column(self.exog)
        if const is not None:
            beta[const] += self.sign * mean_u   # shift the intercept onto the frontier
        sigma2 = su**2 + sv2
        start = [*beta, sigma2, su**2 / sigma2]
        if self.dist == "truncated-normal":
            start.append(0.0)
        return np.asarray(start)

    # -- estimation ----------------------------------------------------------
    def _to_free(self, params):
        beta, sigma2, gamma, mu = self._split(params)
        free = [*beta, np.log(sigma2), logit(gamma)]
        return np.asarray(free + ([mu] if self.dist == "truncated-normal" else []))

    def _from_free(self, free):
        free = np.asarray(free, dtype=float)
        k = self.k_beta
        out = [*free[:k], np.exp(free[k]), expit(free[k + 1])]
        return np.asarray(out + ([free[k + 2]] if self.dist == "truncated-normal" else []))

    def fit(self, start_params=None, method="newton", maxiter=100, disp=False, **kwargs):
        """Maximum-likelihood fit.

        Parameters
        ----------
        start_params : array_like, optional
            Start values in the reported parameterisation; by default COLS
            (:meth:`start_values`), and for the truncated normal the
            half-normal estimates.
        method, maxiter, disp
            Passed to ``GenericLikelihoodModel.fit`` for the final stage.

        Returns
        -------
        StochasticFrontierResults
        """
        if start_params is None:
            if self.dist == "truncated-normal":
                half = StochasticFrontier(self.endog, self.exog, cost=self.sign > 0, dist="half-normal")
                start_params = np.append(half.fit().params, 0.0)
            else:
                start_params = self.start_values()
        start_params = np.asarray(start_params, dtype=float)
        free_start = self._to_free(start_params)
        # Stage 1: quasi-Newton in unbounded parameters, to get near the optimum safely.
        scale = max(abs(self.loglike(start_params)), 1.0)

        def objective(free):
            value = -self.loglike(self._from_free(free)) / scale
            return value if np.isfinite(value) else 1e10

        def gradient(free):
            params = self._from_free(free)
            grad = self.score(params)
            k = self.k_beta
            grad[k] *= params[k]                          # d sigma2 / d log sigma2
            grad[k + 1] *= params[k + 1] * (1 - params[k + 1])   # d gamma / d logit gamma
            return -grad / scale

        stage1 = optimize.minimize(objective, free_start, jac=gradient, method="BFGS",
                                   options={"gtol": 1e-8, "maxiter": 2000})
        start = self._from_free(stage1.x)
        if not np.all(np.isfinite(start)):   # a degenerate fit (e.g. y explained exactly): keep COLS
            start = start_params
        # Stage 2: Newton in the reported parameters, whose Hessian gives the standard errors.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fitted = super().fit(start_params=start, method=method, maxiter=maxiter, disp=disp, **kwargs)
            if not np.all(np.isfinite(fitted.params)):
                # Newton left the parameter space (γ at its bound 0 or 1): report the stage-1 optimum
                fitted = super().fit(start_params=start, method="nm", maxiter=0, disp=disp, **kwargs)
        results = StochasticFrontierResults(self, fitted)
        results.stage1 = stage1
        if results.gamma < 1e-6:
            warnings.warn(f"gamma = {results.gamma:.3g}: no inefficiency is visible and the frontier is the OLS "
                          f"regression", BoundaryWarning, stacklevel=2)
        elif results.gamma > 0.999 or (self.dist == "truncated-normal" and results.mu < -20 * results.sigma_u):
            warnings.warn(f"the {self.dist} likelihood has no interior maximum here (gamma = {results.gamma:.6f}, "
                          f"mu = {results.mu:.4g}); the estimates sit at the edge of the parameter space"
                          + ("; the exponential model is the limit of this one"
                             if self.dist == "truncated-normal" else ""), BoundaryWarning, stacklevel=2)
        # the wrapper labels params, bse, ... with the parameter names (a Series for pandas input)
        return LikelihoodResultsWrapper(results)


def conditional_moments(e, sigma_u: float, sigma_v: float, mu: float, dist: str):
    """μ*ᵢ and σ* of the distribution of u given the production-form residual e (Jondrow et al. 1982)."""
    e = np.asarray(e, dtype=float)
    if dist == "exponential":
        return -e - sigma_v**2 / sigma_u, sigma_v
    s2 = sigma_u**2 + sigma_v**2
    return (mu * sigma_v**2 - e * sigma_u**2) / s2, sigma_u * sigma_v / np.sqrt(s2)


def conditional_efficiency(e, sigma_u: float, sigma_v: float, mu: float, dist: str, kind: str = "bc",
                           minus_u: bool = True) -> np.ndarray:
    """Efficiency from production-form residuals e = v − u; see :meth:`StochasticFrontierResults.efficiency`."""
    mu_star, s_star = conditional_moments(e, sigma_u, sigma_v, mu, dist)
    if kind == "jlms":
        u = mu_star + s_star * _mills(mu_star / s_star)
        return np.exp(-u) if minus_u else np.exp(u)
    if kind != "bc":
        raise ValueError(f"kind must be 'bc' or 'jlms', not {kind!r}")
    z = mu_star / s_star
    if minus_u:
        return np.exp(-mu_star + 0.5 * s_star**2 + log_ndtr(z - s_star) - log_ndtr(z))
    return np.exp(mu_star + 0.5 * s_star**2 + log_ndtr(z + s_star) - log_ndtr(z))


def _constant_column(exog) -> int | None:
    constant = np.flatnonzero(np.all(exog == exog[0], axis=0) & (exog[0] != 0))
    return int(constant[0]) if len(constant) else None


class StochasticFrontierResults(GenericLikelihoodModelResults):
    """Results of a :class:`StochasticFrontier` fit: σu, σv, λ, efficiencies and the LR test."""

    def __init__(self, model, mlefit):
        super().__init__(model, mlefit)
        self.stage1 = None

    # -- parameters ----------------------------------------------------------
    @property
    def sigma_squared(self) -> float:
        return float(np.asarray(self.params)[self.model.k_beta])

    @property
    def gamma(self) -> float:
        return float(np.asarray(self.params)[self.model.k_beta + 1])

    @property
    def mu(self) -> float:
        return float(np.asarray(self.params)[self.model.k_beta + 2]) if self.model.dist == "truncated-normal" else 0.0

    @property
    def sigma_u(self) -> float:
        return float(np.sqrt(self.gamma * self.sigma_squared))

    @property
    def sigma_v(self) -> float:
        return float(np.sqrt((1 - self.gamma) * self.sigma_squared))

    @property
    def lambda_(self) -> float:
        """σu / σv."""
        return self.sigma_u / self.sigma_v

    @property
    def beta(self):
        return self.params[: self.model.k_beta]

    def frontier(self, exog=None) -> np.ndarray:
        """The frontier x'β (the efficient log cost or log output) for ``exog`` (default: the data)."""
        exog = self.model.exog if exog is None else np.asarray(exog, dtype=float)
        return exog @ np.asarray(self.beta, dtype=float)

    # -- efficiency ----------------------------------------------------------
    def _production_residuals(self) -> np.ndarray:
        return self.model._e(np.asarray(self.beta, dtype=float))

    def inefficiency(self) -> np.ndarray:
        """JLMS point estimate E[u | ε] of each record."""
        mu_star, s_star = conditional_moments(self._production_residuals(), self.sigma_u, self.sigma_v,
                                              self.mu, self.model.dist)
        return mu_star + s_star * _mills(mu_star / s_star)

    def efficiency(self, kind: str = "bc", minus_u: bool = True) -> np.ndarray:
        """Efficiency of each record.

        Parameters
        ----------
        kind : {"bc", "jlms"}
            ``"bc"``: Battese and Coelli (1988), E[exp(−u) | ε], in (0, 1];
            ``"jlms"``: exp(−E[u | ε]) from Jondrow, Lovell, Materov and Schmidt (1982).
        minus_u : bool, default True
            False gives E[exp(u) | ε] (``"bc"``) or exp(E[u | ε]) (``"jlms"``), ≥ 1:
            the factor by which a record's cost exceeds the frontier, as R's
            ``frontier`` gives with ``minusU = FALSE``.
        """
        return conditional_efficiency(self._production_residuals(), self.sigma_u, self.sigma_v, self.mu,
                                      self.model.dist, kind=kind, minus_u=minus_u)

    # -- tests ---------------------------------------------------------------
    @property
    def llf_ols(self) -> float:
        return float(self.model.ols().llf)

    def lr_test(self) -> dict:
        """Likelihood-ratio test of H0: no inefficiency (σu = 0) against OLS.

        The statistic follows a mixed χ² under H0 (γ lies on the boundary);
        the p-value uses ½χ²(0) + ½χ²(1) for one restriction (Kodde and Palm
        1986), ½χ²(1) + ½χ²(2) for the truncated normal's two.
        """
        statistic = max(0.0, 2 * (self.llf - self.llf_ols))
        df = 2 if self.model.dist == "truncated-normal" else 1
        p_value = 0.5 * stats.chi2.sf(statistic, df) + (0.5 * stats.chi2.sf(statistic, df - 1) if df > 1
                                                        else 0.5 * (statistic <= 0))
        return {"statistic": statistic, "df": df, "p_value": float(p_value)}

    def summary(self, title=None, alpha=0.05):
        """statsmodels summary plus σu, σv, λ, the LR test and mean efficiency."""
        kind = "Cost" if self.model.sign > 0 else "Production"
        smry = super().summary(title=title or f"Stochastic {kind.lower()} frontier ({self.model.dist})")
        lr = self.lr_test()
        eff = self.efficiency()
        smry.add_extra_txt([
            f"sigma_u = {self.sigma_u:.6g}, sigma_v = {self.sigma_v:.6g}, lambda = {self.lambda_:.6g}",
            f"LR test of no inefficiency: {lr['statistic']:.4f} (mixed chi2, df {lr['df']}), p = {lr['p_value']:.4g}",
            f"Mean efficiency (Battese-Coelli E[exp(-u)|e]): {eff.mean():.5f}",
        ])
        return smry


def fit_frontier(y, X, cost: bool = True, dist: str = "half-normal") -> StochasticFrontierResults:
    """Fit a frontier to arrays (a constant is added when ``X`` has none)."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if _constant_column(X) is None:
        X = np.column_stack([np.ones(len(X)), X])
    return StochasticFrontier(np.asarray(y, dtype=float), X, cost=cost, dist=dist).fit()


__all__ = ["BoundaryWarning", "DISTRIBUTIONS", "conditional_efficiency", "conditional_moments", "StochasticFrontier", "StochasticFrontierResults", "WrongSkewWarning",
           "fit_frontier"]
