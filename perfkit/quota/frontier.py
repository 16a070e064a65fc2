"""Stochastic frontier analysis as a statsmodels model (Aigner, Lovell and Schmidt 1977).

    y = x'β + v + s·u,   v ~ N(0, σv²),   u ≥ 0,   s = +1 for a cost frontier, −1 for production

with u half-normal, exponential or truncated normal (analytic gradients for all three). Parameters follow FRONTIER
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

from dataclasses import dataclass

import functools
import warnings

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import expit, log_ndtr, logit, ndtr
from statsmodels.base.model import GenericLikelihoodModel, GenericLikelihoodModelResults, LikelihoodResultsWrapper
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning
from threadpoolctl import ThreadpoolController

DISTRIBUTIONS = ("half-normal", "exponential", "truncated-normal")
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
#: Up to this many records the Hessian is centred differences Richardson-extrapolated; above, forward
#: differences (see :func:`score_hessian`).
RICHARDSON_MAX_ROWS = 50_000
#: The relative step of those forward differences: measured at 10^6 records against the extrapolated
#: Hessian, the standard errors agree to 4e-6 (the truncated normal) and better (the half-normal, BC92, the
#: heteroscedastic model); a smaller step loses more to rounding than it gains (3.6e-5 at √ε).
FORWARD_STEP = 1e-7
#: γ below this is σu = 0 within the optimiser's reach: the likelihood's maximum is on the boundary.
GAMMA_AT_ZERO = 1e-4
#: Above this many records the extra starts of a multi-start fit (the truncated normal, BC95) run on a
#: random subsample of this size: each start's optimum there is ranked by the log-likelihood of all the
#: data, and only the best (and any other optimum within SCREEN_LLF of it) is followed to the maximum on all
#: the data.
SCREEN_ROWS = 10_000
SCREEN_LLF = 1.0


@functools.cache
def _blas_threads() -> ThreadpoolController:
    """The BLAS libraries loaded in this process, found once: a quota report fits hundreds of small
    frontiers, and looking the libraries up again costs more than a fit of a few hundred records."""
    return ThreadpoolController()


class WrongSkewWarning(UserWarning):
    """OLS residuals are skewed the wrong way for the frontier: no inefficiency is visible."""


class BoundaryWarning(UserWarning):
    """The likelihood rises towards the edge of the parameter space: no interior maximum.

    For the truncated normal this is μ → −∞ with γ → 1, where the distribution of
    u tends to the exponential: fit ``dist="exponential"`` instead.
    """


#: log Φ(z) is taken as log(ndtr(z)) from this z up: as precise there as scipy's log_ndtr (an absolute error
#: of 1e-16) and several times cheaper; below it, where Φ(z) loses its relative precision, log_ndtr.
LOG_CDF_TAIL = -5.0


def log_cdf(z):
    """log Φ(z), elementwise: log(ndtr(z)), with scipy's log_ndtr in the far left tail (z < LOG_CDF_TAIL)."""
    z = np.asarray(z, dtype=float)
    if z.ndim == 0:
        return float(log_ndtr(z))
    with np.errstate(divide="ignore"):
        out = np.log(ndtr(z))
    tail = z < LOG_CDF_TAIL
    if tail.any():
        out[tail] = log_ndtr(z[tail])
    return out


def _mills(z: np.ndarray) -> np.ndarray:
    """φ(z)/Φ(z), stable for large negative z."""
    return np.exp(-0.5 * z * z - _LOG_SQRT_2PI - log_cdf(z))


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

    def __init__(self, endog, exog, cost: bool = True, dist: str = "half-normal", exog_inefficiency=None,
                 inefficiency_names=None, **kwargs):
        if dist not in DISTRIBUTIONS:
            raise ValueError(f"dist must be one of {DISTRIBUTIONS}, not {dist!r}")
        # Battese and Coelli (1995): u ~ N⁺(zδ, σu²), the truncated normal with a mean for each record
        self.exog_inefficiency = None if exog_inefficiency is None else np.asarray(exog_inefficiency, dtype=float)
        if self.exog_inefficiency is not None:
            if dist != "truncated-normal":
                raise ValueError("determinants of inefficiency (Battese and Coelli 1995) need "
                                 "dist='truncated-normal': u ~ N+(z'delta, sigma_u^2)")
            if self.exog_inefficiency.ndim == 1:
                self.exog_inefficiency = self.exog_inefficiency[:, None]
            if not np.all(np.isfinite(self.exog_inefficiency)):
                raise ValueError("the determinants of inefficiency must be finite")
        self.k_delta = 0 if self.exog_inefficiency is None else self.exog_inefficiency.shape[1]
        names = list(inefficiency_names) if inefficiency_names is not None else \
            [f"z{i}" for i in range(self.k_delta)]
        extra = ([f"delta_{n}" for n in names] + self._variance_names(dist))
        super().__init__(endog, exog, cost=cost, dist=dist, extra_params_names=extra, **kwargs)
        if not (np.all(np.isfinite(self.endog)) and np.all(np.isfinite(self.exog))):
            raise ValueError("endog and exog must be finite (take logs of positive values only)")
        if np.ptp(self.endog) == 0:
            raise ValueError(f"the dependent variable is constant ({self.endog[0]:g} in all {len(self.endog)} rows): "
                             f"no frontier can be fitted")
        self.sign = 1.0 if cost else -1.0
        self.k_beta = self.exog.shape[1]
        self.i_sigma2 = self.k_beta + self.k_delta            # where σ², γ (and μ, η) sit in params
        self.i_gamma = self.i_sigma2 + 1
        # the statsmodels base class counts only exog columns as the model's degrees of freedom
        self.df_resid = float(self.exog.shape[0] - self.nparams)

    @property
    def results_class(self):
        return StochasticFrontierResults

    #: :meth:`loglike_and_score` is analytic (then BFGS's optimum needs no Newton polish)
    analytic_score = True

    def _variance_names(self, dist: str) -> list[str]:
        """Names of the parameters after β (and δ): σ², γ, and μ for a truncated normal without z."""
        return ["sigma2", "gamma"] + (["mu"] if dist == "truncated-normal" and self.exog_inefficiency is None else [])

    @classmethod
    def from_formula(cls, formula, data, subset=None, drop_cols=None, *args, cost: bool = True,
                     dist: str = "half-normal", inefficiency: str | None = None, u_het: str | None = None,
                     v_het: str | None = None, scaling: str | None = None, **kwargs):
        """Create a frontier from a formula, e.g. ``"np.log(cost) ~ np.log(quantity) + C(region)"``.

        ``inefficiency`` (e.g. ``"~ size + C(region)"``) gives the determinants of inefficiency of the
        Battese and Coelli (1995) model, u ~ N⁺(z'δ, σu²), which is then fitted (``dist`` becomes the
        truncated normal); patsy adds the constant unless the formula says ``- 1``.

        ``u_het="~ z"`` and ``v_het="~ w"`` make log σu² = z'γ_u and log σv² = w'γ_v (with ``inefficiency``,
        beside Battese and Coelli's mean), and ``scaling="~ z"`` gives the scaling model of Wang and Schmidt
        (2002), u = exp(z'δ)·u*, u* ~ N⁺(τ, σu²): these return a
        :class:`perfkit.quota.heteroscedastic.HeteroscedasticFrontier`.

        Rows where the formula gives a missing or invalid value (NaN inputs, the log of a value ≤ 0) are
        refused, never silently dropped: the error says how many and which.

        Raises
        ------
        ValueError
            Naming the count and the first rows (by the data's index) that the formula cannot use.
        """
        from patsy import dmatrix

        if u_het is not None or v_het is not None or scaling is not None:
            from perfkit.quota.heteroscedastic import HeteroscedasticFrontier

            return HeteroscedasticFrontier.from_formula(formula, data, subset, drop_cols, *args, cost=cost,
                                                        dist=dist, u_het=u_het, v_het=v_het, mean=inefficiency,
                                                        scaling=scaling, **kwargs)
        frame = data if subset is None else data.loc[subset]
        cls._refuse_unusable_rows(formula, frame)
        if inefficiency is not None:
            z = dmatrix(inefficiency, frame, NA_action="raise", return_type="dataframe")
            if not np.all(np.isfinite(z.to_numpy())):
                raise ValueError(f"the determinants {inefficiency!r} give a missing or infinite value")
            kwargs.update(exog_inefficiency=z.to_numpy(), inefficiency_names=list(z.columns))
            dist = "truncated-normal"
        return super().from_formula(formula, data, subset, drop_cols, *args, cost=cost, dist=dist,
                                    missing="raise", **kwargs)

    @staticmethod
    def _refuse_unusable_rows(formula, frame) -> None:
        """Refuse (never drop) the rows where the formula gives NaN or the log of a value ≤ 0."""
        import warnings

        from patsy import dmatrices

        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            endog, exog = dmatrices(formula, frame, NA_action="drop", return_type="dataframe")
            # the dependent variable's rows and the regressors' (a log(0) in a regressor too)
            usable = np.isfinite(endog.to_numpy()).all(axis=1) & np.isfinite(exog.to_numpy()).all(axis=1)
        bad = frame.index.difference(endog.index[usable])
        if len(bad):
            shown = ", ".join(map(str, bad[:10])) + (" …" if len(bad) > 10 else "")
            raise ValueError(f"{len(bad)} of {len(frame)} row(s) give a missing or invalid value in "
                             f"{formula!r} (NaN, or the log of a value ≤ 0): rows {shown}")

    # -- likelihood ----------------------------------------------------------
    def _split(self, params):
        """β, σ², γ and μ (a number, or z'δ for each record in the Battese and Coelli 1995 model)."""
        params = np.asarray(params, dtype=float)
        beta = params[: self.k_beta]
        sigma2, gamma = params[self.i_sigma2], params[self.i_gamma]
        if self.exog_inefficiency is not None:
            mu = self.exog_inefficiency @ params[self.k_beta:self.i_sigma2]
        else:
            mu = params[self.i_gamma + 1] if self.dist == "truncated-normal" else 0.0
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
        memo = self._memo_of(params)
        return memo[1] if memo is not None else float(np.sum(self.loglikeobs(params)))

    def score(self, params):
        """Analytic gradient of the log-likelihood (every distribution, with or without determinants)."""
        return self.loglike_and_score(params)[1]

    def loglike_and_score(self, params):
        """The log-likelihood and its analytic gradient in one pass over the data (what the optimiser asks
        for). The last point's are kept: statsmodels' final stage asks again for the value, the gradient
        and the log-likelihood at the optimum that the quasi-Newton stage has just evaluated."""
        params = np.asarray(params, dtype=float)
        memo = self._memo_of(params)
        if memo is None:
            memo = self._memo = (params.tobytes(), *self._loglike_and_score(params))
        return memo[1], memo[2].copy()      # a copy: the optimiser rescales the gradient in place

    def _memo_of(self, params):
        memo = getattr(self, "_memo", None)
        return memo if memo is not None and memo[0] == np.asarray(params, dtype=float).tobytes() else None

    def _loglike_and_score(self, params):
        """The log-likelihood and its gradient, computed.

        All analytic. Half-normal and truncated normal: with s = σ², g = γ, μ* = μ(1−g) − e·g,
        σ* = √(g(1−g)s), a = μ*/σ*, b = μ/√(gs) and Λ = φ/Φ, each record contributes
        ℓ = −½ log s − (e+μ)²/(2s) + log Φ(a) − log Φ(b) + const (the half-normal is μ = 0), whence
        the derivatives below; the exponential in :meth:`_exponential_loglike_and_score`.
        """
        params = np.asarray(params, dtype=float)
        beta, s, g, mu = self._split(params)
        if not (s > 0 and 0 < g < 1):
            return -np.inf, np.zeros_like(params)
        e = self._e(beta)
        if self.dist == "exponential":
            return self._exponential_loglike_and_score(e, s, g)
        d = np.sqrt(g * (1 - g) * s)
        a = (mu * (1 - g) - e * g) / d
        log_cdf_a = log_cdf(a)
        la = np.exp(-0.5 * a * a - _LOG_SQRT_2PI - log_cdf_a)          # Λ(a) from the same log Φ(a)
        resid = (e + mu) / s
        value = -0.5 * len(e) * np.log(s) - len(e) * _LOG_SQRT_2PI - 0.5 * np.sum((e + mu) * resid) + \
            np.sum(log_cdf_a)
        d_e = -resid - la * g / d
        d_s = np.sum(-0.5 / s + 0.5 * resid**2 - la * a / (2 * s))
        d_g = np.sum(la * ((-mu - e) / d - a * (1 - 2 * g) / (2 * g * (1 - g))))
        d_beta = self.sign * (self.exog.T @ d_e)
        if self.dist == "half-normal":
            value += len(e) * np.log(2)                                  # − log Φ(0)
            return float(value), np.concatenate([d_beta, [d_s, d_g]])
        b = mu / np.sqrt(g * s)
        log_cdf_b = log_cdf(b)
        lb = np.exp(-0.5 * b * b - _LOG_SQRT_2PI - log_cdf_b)
        value -= np.sum(log_cdf_b) if np.ndim(b) else len(e) * log_cdf_b
        d_s += np.sum(lb * b / (2 * s)) if np.ndim(b) else len(e) * lb * b / (2 * s)
        d_g += np.sum(lb * b / (2 * g)) if np.ndim(b) else len(e) * lb * b / (2 * g)
        d_mu = -resid + la * (1 - g) / d - lb / np.sqrt(g * s)
        if self.exog_inefficiency is not None:
            return float(value), np.concatenate([d_beta, self.exog_inefficiency.T @ d_mu, [d_s, d_g]])
        return float(value), np.concatenate([d_beta, [d_s, d_g, np.sum(d_mu)]])

    def _exponential_loglike_and_score(self, e, s, g):
        """ℓ = −log σu + σv²/(2σu²) + e/σu + log Φ(c), c = −e/σv − σv/σu, σu = √(gs), σv = √((1−g)s)."""
        su, sv = np.sqrt(g * s), np.sqrt((1 - g) * s)
        c = -e / sv - sv / su
        log_cdf_c = log_cdf(c)
        lam = np.exp(-0.5 * c * c - _LOG_SQRT_2PI - log_cdf_c)
        value = np.sum(-np.log(su) + sv**2 / (2 * su**2) + e / su + log_cdf_c)
        d_e = 1 / su - lam / sv
        d_su = -1 / su - sv**2 / su**3 - e / su**2 + lam * sv / su**2
        d_sv = sv / su**2 + lam * (e / sv**2 - 1 / su)
        d_s = np.sum(d_su * su / (2 * s) + d_sv * sv / (2 * s))
        d_g = np.sum(d_su * su / (2 * g) - d_sv * sv / (2 * (1 - g)))
        return float(value), np.concatenate([self.sign * (self.exog.T @ d_e), [d_s, d_g]])

    def hessian(self, params):
        """Hessian: differences of the analytic score (:func:`score_hessian`)."""
        return score_hessian(self.score, np.asarray(params, dtype=float), len(self.endog))

    # -- start values --------------------------------------------------------
    def ols(self):
        """The OLS fit of the same regression (the frontier without inefficiency; statsmodels' results),
        fitted once."""
        if getattr(self, "_ols", None) is None:
            self._ols = OLS(self.endog, self.exog).fit()
        return self._ols

    def least_squares(self) -> tuple[np.ndarray, np.ndarray, float]:
        """The OLS coefficients, residuals and log-likelihood, computed once by LAPACK's least squares:
        what the start values, the skew check and the LR test need of OLS, at a tenth of the cost of
        statsmodels' results (:meth:`ols`: 0.3 s on a million records, for a covariance nothing here reads)."""
        if getattr(self, "_least_squares", None) is None:
            coefficients = np.linalg.lstsq(self.exog, self.endog, rcond=None)[0]
            resid = self.endog - self.exog @ coefficients
            n = len(resid)
            llf = -0.5 * n * (np.log(2 * np.pi) + np.log(resid @ resid / n) + 1)
            self._least_squares = (coefficients, resid, float(llf))
        return self._least_squares

    def start_values(self) -> np.ndarray:
        """Method-of-moments start values (β, σ², γ) from corrected OLS (COLS), as for a half-normal u."""
        coefficients, resid, _ = self.least_squares()
        e = -self.sign * resid              # production form: should be skewed to the left
        squared = e * e                     # (products: a float power is a slow pow() per record)
        m2, m3 = np.mean(squared), np.mean(squared * e)
        if m3 >= 0:            # wrong skew: start near σu = 0; fit() says what the likelihood then found
            su = 0.1 * np.sqrt(m2)
        elif self.dist == "exponential":
            su = (-m3 / 2) ** (1 / 3)
        else:
            su = (-m3 / (np.sqrt(2 / np.pi) * (4 / np.pi - 1))) ** (1 / 3)
        mean_u = su if self.dist == "exponential" else su * np.sqrt(2 / np.pi)
        var_u = su**2 if self.dist == "exponential" else (1 - 2 / np.pi) * su**2
        sv2 = max(m2 - var_u, 0.05 * m2)
        beta = np.asarray(coefficients, dtype=float).copy()
        const = _constant_column(self.exog)
        if const is not None:
            beta[const] -= self.sign * mean_u   # onto the frontier: below the data for cost, above for output
        sigma2 = su**2 + sv2
        return np.asarray([*beta, sigma2, su**2 / sigma2])

    # -- estimation ----------------------------------------------------------
    def _to_free(self, params):
        """Unbounded parameters for the quasi-Newton stage: log σ², logit γ, the others as they are."""
        free = np.array(params, dtype=float)
        free[self.i_sigma2], free[self.i_gamma] = np.log(free[self.i_sigma2]), logit(free[self.i_gamma])
        return free

    def _from_free(self, free):
        params = np.array(free, dtype=float)
        params[self.i_sigma2], params[self.i_gamma] = np.exp(params[self.i_sigma2]), expit(params[self.i_gamma])
        return params

    def _default_start(self) -> np.ndarray:
        """Start values: method-of-moments (COLS) for every distribution, with μ = 0 (δ = 0) for the
        truncated normal, where the half-normal's moments are the truncated normal's at μ = 0."""
        start = self.start_values()
        k = self.k_beta
        beta, variances = start[:k], start[k:k + 2]
        return np.concatenate([beta, np.zeros(self.k_delta), variances,
                               np.zeros(len(self.exog_names) - k - self.k_delta - 2)])

    def fit(self, start_params=None, method="newton", maxiter=100, disp=False, **kwargs):
        """Maximum-likelihood fit.

        Parameters
        ----------
        start_params : array_like, optional
            Start values in the reported parameterisation; by default COLS
            (:meth:`start_values`), with μ = 0 (δ = 0) for the truncated normal.
        method, maxiter, disp
            Passed to ``GenericLikelihoodModel.fit`` for the final stage.

        Returns
        -------
        StochasticFrontierResults
        """
        given = start_params is not None
        if start_params is None:
            start_params = self._default_start()
        start_params = np.asarray(start_params, dtype=float)
        free_start = self._to_free(start_params)
        with _blas_threads().limit(limits=1, user_api="blas"):
            # one BLAS thread: the products here are matrix-vector, and a second thread only waits for a
            # core that another process may hold
            if given or self.dist != "truncated-normal":
                results = self._fit(start_params, free_start, method, maxiter, disp, **kwargs)
            elif self.exog_inefficiency is not None:
                results = self._fit_bc95(start_params, method, maxiter, disp, **kwargs)
            else:
                results = self._fit_truncated(start_params, method, maxiter, disp, **kwargs)
        self._check_maximum(results)
        return results

    # the truncated normal's likelihood can be flat along μ (a ridge): one start may stop short of the maximum
    def nested_half_normal(self):
        """The same model with a half-normal u (the truncated normal at μ = 0): its nested restriction."""
        return type(self)(self.endog, self.exog, cost=self.sign > 0, dist="half-normal")

    # -- a subsample to screen the starts of a large multi-start fit on ------------------------------------
    def _screens(self) -> bool:
        """Whether the extra starts run on a subsample first (a cross-section above SCREEN_ROWS records)."""
        return type(self) is StochasticFrontier and len(self.endog) > SCREEN_ROWS

    def _on_rows(self, rows: np.ndarray) -> "StochasticFrontier":
        """The same model on ``rows`` of the data."""
        return type(self)(self.endog[rows], self.exog[rows], cost=self.sign > 0, dist=self.dist,
                          exog_inefficiency=None if self.exog_inefficiency is None else self.exog_inefficiency[rows])

    def _maximum(self):
        """This model's maximum, as a nested restriction of another needs it (a start, and the log-likelihood
        to reach), its own warnings unsaid: the whole fit, or on large data the fit with all its starts on the
        subsample followed from there on all the data, for its maximum only (no standard errors)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")       # the restriction's own edges are not the model's that nests it
            if not self._screens():
                return self.fit()
            screened = self._on_rows(screen_rows(len(self.endog))).fit()
            start = np.asarray(screened.params, dtype=float)
            curvature = self._free_inverse_hessian(screened)
            stage1, at_edge = self._maximise(self._to_free(start), curvature)
            if (stage1.success or stage1.settled or np.max(np.abs(stage1.jac)) < 1e-7) and not at_edge:
                return RestrictedMaximum(self._from_free(stage1.x), -float(stage1.fun) * len(self.endog),
                                         self.i_sigma2)
            return self._fit(start, self._to_free(start), "newton", 100, False, hess_inv0=curvature)

    def _fit_truncated(self, start_params, method, maxiter, disp, **kwargs):
        """The truncated normal from several starts (COLS at μ = 0, the fitted half-normal, and a grid in μ of
        its σu), the best kept; it must reach at least the nested half-normal's log-likelihood, or it says
        that it could not."""
        restricted = self.nested_half_normal()._maximum()
        base = np.array(start_params, dtype=float)
        fitted = np.asarray(restricted.params, dtype=float)
        base_from_fit = base.copy()
        # β, σ², γ of the half-normal, μ = 0, then what follows μ (a panel's η) from the half-normal too
        base_from_fit[:self.i_gamma + 1] = fitted[:self.i_gamma + 1]
        base_from_fit[self.i_gamma + 2:] = fitted[self.i_gamma + 1:]
        base_from_fit[self.i_gamma + 1] = 0.0
        sigma_u = float(restricted.sigma_u)
        starts = [base, base_from_fit]
        for multiple in (-1.0, 1.0, 2.0):
            shifted = base_from_fit.copy()
            shifted[self.i_gamma + 1] = multiple * sigma_u
            starts.append(shifted)
        return self._best_of(starts, restricted, "its nested half-normal", method, maxiter, disp, **kwargs)

    def _constant_determinant(self) -> int | None:
        """The column of z that is a constant (the Battese-Coelli 1995 model's intercept of the mean), if any."""
        z = self.exog_inefficiency
        for j in range(z.shape[1]):
            if np.ptp(z[:, j]) == 0 and z[0, j] != 0:
                return j
        return None

    def nested_constant_mean(self) -> "StochasticFrontier":
        """The Battese-Coelli (1995) model's nested restriction: one mean μ for every record (δ = (μ, 0, …),
        the truncated normal) when z has a constant, else no mean (δ = 0, the half-normal)."""
        dist = "truncated-normal" if self._constant_determinant() is not None else "half-normal"
        return type(self)(self.endog, self.exog, cost=self.sign > 0, dist=dist)

    def _fit_bc95(self, start_params, method, maxiter, disp, **kwargs):
        """Battese-Coelli (1995) from COLS with δ = 0 and from its fitted restriction (one μ, or none), the
        best kept; it must reach at least the restriction's log-likelihood, or it says that it could not."""
        restricted = self.nested_constant_mean()._maximum()
        fitted = np.asarray(restricted.params, dtype=float)
        from_fit = np.array(start_params, dtype=float)
        from_fit[:self.k_beta] = fitted[:self.k_beta]
        from_fit[self.k_beta:self.i_sigma2] = 0.0
        constant = self._constant_determinant()
        if constant is not None:                  # μ of the restriction as the mean's intercept
            from_fit[self.k_beta + constant] = fitted[self.k_beta + 2] / self.exog_inefficiency[0, constant]
        from_fit[self.i_sigma2] = fitted[self.k_beta]
        from_fit[self.i_gamma] = np.clip(fitted[self.k_beta + 1], 1e-4, 1 - 1e-4)   # a start inside (0, 1)
        return self._best_of([np.array(start_params, dtype=float), from_fit], restricted, "its restriction to one "
                             "mean for every record", method, maxiter, disp, **kwargs)

    def _best_of(self, starts, restricted, what: str, method, maxiter, disp, **kwargs):
        """The best fit from ``starts`` (only its warnings said); it must reach ``restricted``'s log-likelihood.

        On large data the starts are screened on a subsample first (:func:`screened_starts`) and those kept
        are followed on all the data from the subsample's curvature there.
        """
        if self._screens():
            sub = self._on_rows(screen_rows(len(self.endog)))
            pairs = screened_starts(starts, sub._screening_fit, self.loglike)
        else:
            pairs = [(start, None) for start in starts]
        best = best_fit([lambda start=start, curvature=curvature: self._fit(
            start, self._to_free(start), method, maxiter, disp, hess_inv0=curvature, **kwargs)
            for start, curvature in pairs])
        if best is None:
            return self._fit(starts[0], self._to_free(starts[0]), method, maxiter, disp, **kwargs)
        return reaches(best, restricted.llf, what)

    def _check_maximum(self, results) -> None:
        """Say when the point reported is not a proper maximum: a covariance (the inverse of minus the
        Hessian) that is not positive definite or not finite, i.e. a flat ridge along which a parameter is not
        identified, and μ running off to +∞ (u then tends to a normal variable: the intercept and μ are not
        separately known)."""
        mu = getattr(results, "mu", 0.0)
        # at γ's edges the boundary warnings say what happened; at a truncated normal's μ → ±∞ they do too (and
        # name the limit model), and the likelihood is flat along μ there by nature: only another parameter's
        # flatness is news
        at_mu_edge = self.dist == "truncated-normal" and np.ndim(mu) == 0 and \
            abs(mu) > EDGE_SIGMAS * float(results.sigma_u)
        if 1e-6 < float(results.gamma) < 0.999:
            warn_if_flat(results, list(self.exog_names), stacklevel=4, explained="mu" if at_mu_edge else None)
        if at_mu_edge and mu > 0:
            warnings.warn(f"mu = {mu:.4g} is {mu / float(results.sigma_u):.0f} times sigma_u: the likelihood keeps "
                          f"rising as mu → +∞, where u tends to a normal variable and only the intercept minus "
                          f"mu is known (the limit model is the frontier with normal errors, i.e. OLS); there is "
                          f"no interior maximum", BoundaryWarning, stacklevel=3)

    def _screening_fit(self, start) -> "ScreeningFit":
        """A start followed to its optimum by the quasi-Newton stage alone, as screening needs it: the point,
        and BFGS's own estimate of the inverse Hessian there (of the mean negative log-likelihood, in the free
        parameters: the curvature the fit on all the data starts from), None when it is not positive definite.
        No standard errors, no Hessian by differences: the starts discarded never needed them, and the one
        followed gets its own on all the data."""
        stage1, _ = self._maximise(self._to_free(np.asarray(start, dtype=float)))
        return screening_fit(self._from_free(stage1.x), getattr(stage1, "hess_inv", None))

    def _free_inverse_hessian(self, results) -> np.ndarray | None:
        """The inverse Hessian of the mean negative log-likelihood in the free parameters (log σ², logit γ) at
        ``results``' optimum (:func:`subsample_curvature` with the derivatives of the free parameters)."""
        params = np.asarray(results.params, dtype=float)
        scale = np.ones(len(params))          # d free / d param
        scale[self.i_sigma2] = 1 / params[self.i_sigma2]
        scale[self.i_gamma] = 1 / (params[self.i_gamma] * (1 - params[self.i_gamma]))
        return subsample_curvature(results, scale)

    def _maximise(self, free_start, hess_inv0=None):
        """Stage 1 of a fit: quasi-Newton (BFGS) in the free parameters, the value and gradient from one pass,
        from the curvature ``hess_inv0`` when given (a subsample's fit at its optimum). Returns scipy's result
        (with ``settled``: stopped where an iteration no longer gains anything the mean log-likelihood
        resolves, the gradient below 1e-6) and whether a truncated normal's μ ran off to its edge."""
        scale = float(len(self.endog))      # the mean log-likelihood: the same scale at any sample size
        evaluated: dict[bytes, tuple[float, float]] = {}    # point → (value, largest gradient component)

        def objective(free):
            params = self._from_free(free)
            value, grad = self.loglike_and_score(params)
            if not np.isfinite(value):
                return 1e10, np.zeros_like(free)
            grad[self.i_sigma2] *= params[self.i_sigma2]                              # dσ² / d log σ²
            grad[self.i_gamma] *= params[self.i_gamma] * (1 - params[self.i_gamma])    # dγ / d logit γ
            evaluated[free.tobytes()] = (-value / scale, float(np.max(np.abs(grad))) / scale)
            return -value / scale, -grad / scale

        previous, at_edge, settled = [np.inf], [False], [False]

        def at_precision(intermediate_result):
            # a truncated normal whose μ runs past ±20 σu has no interior maximum (the exponential limit below,
            # the normal one above; _warn_about and _check_maximum say which): the likelihood rises ever more
            # slowly along that edge, and following it further is thousands of evaluations for nothing
            if self.dist == "truncated-normal" and self.exog_inefficiency is None:
                point = self._from_free(intermediate_result.x)
                mu, sigma_u = point[self.i_gamma + 1], np.sqrt(point[self.i_gamma] * point[self.i_sigma2])
                if abs(mu) > STOP_SIGMAS * sigma_u:
                    at_edge[0] = True
                    raise StopIteration
            # gtol = 1e-8 on the mean log-likelihood lies at the edge of what its rounding resolves: once an
            # iteration gains nothing measurable near the optimum, the line search only spends evaluations
            # failing to find a decrease. Stop there; a gradient still above 1e-7 (a steep direction such
            # as η's) is finished by stage 2's Newton step on the exact Hessian
            value, largest = evaluated.get(intermediate_result.x.tobytes(), (np.inf, np.inf))
            gained = previous[0] - value
            previous[0] = value
            if largest < 1e-6 and gained <= 16 * np.finfo(float).eps * max(1.0, abs(value)):
                settled[0] = True
                raise StopIteration
            evaluated.clear()

        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):   # trial steps outside the space
            stage1 = optimize.minimize(objective, free_start, jac=True, method="BFGS", callback=at_precision,
                                       options={"gtol": 1e-8, "maxiter": 2000, "hess_inv0": hess_inv0})
        stage1.settled = settled[0]        # stopped at the precision the mean log-likelihood resolves
        return stage1, at_edge[0]

    def _fit(self, start_params, free_start, method, maxiter, disp, hess_inv0=None, **kwargs):
        # Stage 1: quasi-Newton in unbounded parameters (from a subsample fit's curvature, ``hess_inv0``)
        stage1, at_edge = self._maximise(free_start, hess_inv0)
        start = self._from_free(stage1.x)
        if not np.all(np.isfinite(start)):   # a degenerate fit (e.g. y explained exactly): keep COLS
            start = start_params
        # Stage 2: statsmodels' Newton in the reported parameters, whose Hessian gives the standard errors.
        # Where BFGS converged with an analytic gradient, the optimum is already found: Newton takes no step
        # and computes the Hessian once; otherwise it iterates.
        # BFGS may stop on "precision loss" with the gradient already at rounding level: that is converged too
        polished = self.analytic_score and (stage1.success or np.max(np.abs(stage1.jac)) < 1e-7 or at_edge)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            # at a boundary (γ → 0 or 1) statsmodels cannot invert the Hessian or meet its tolerance; the
            # warnings below say what happened instead
            for category in (RuntimeWarning, HessianInversionWarning, ConvergenceWarning):
                warnings.simplefilter("ignore", category)
            try:
                fitted = super().fit(start_params=start, method=method, maxiter=0 if polished else maxiter,
                                     disp=disp, **kwargs)
            except np.linalg.LinAlgError:     # a singular Hessian (degenerate data): no standard errors
                fitted = None
            if fitted is None or not np.all(np.isfinite(fitted.params)):
                # Newton left the parameter space (γ at its bound 0 or 1): report the stage-1 optimum
                fitted = super().fit(start_params=start, method="nm", maxiter=0, disp=disp, **kwargs)
        if polished:
            # by BFGS (stage 1), Newton had nothing to do; at an edge there is no maximum to converge to
            fitted.mle_retvals["converged"] = not at_edge
        results = self.results_class(self, fitted)
        results.stage1 = stage1
        self._warn_about(results)
        # the wrapper labels params, bse, ... with the parameter names (a Series for pandas input)
        return LikelihoodResultsWrapper(results)

    def _warn_about(self, results) -> None:
        """Say what happened at the edges: wrong skew (and what the likelihood then found), γ at 0 or 1."""
        kind = "cost" if self.sign > 0 else "production"
        e = -self.sign * self.least_squares()[1]
        m3 = float(np.mean(e * e * e))
        at_zero = results.gamma < GAMMA_AT_ZERO
        if np.ndim(results.mu) > 0:
            # with determinants of the mean (Battese-Coelli 1995) the limit of sigma_u → 0 is u = max(z'δ, 0), a
            # deterministic inefficiency: its frontier is not the OLS regression, and the β are that model's
            limit = (f"the limit model u = max(z'delta, 0) (no random inefficiency; log-likelihood "
                     f"{results.llf:.4f}), whose frontier is not the OLS regression")
        else:
            limit = f"the OLS regression (no inefficiency; log-likelihood {results.llf:.4f})"
        if m3 >= 0:
            found = (f"the {self.dist} likelihood's maximum is at sigma_u = 0 (gamma = {results.gamma:.3g}): "
                     f"the fit is {limit}" if at_zero else
                     f"the {self.dist} likelihood still has an interior maximum, sigma_u = {results.sigma_u:.4g} "
                     f"(gamma = {results.gamma:.4g}): read that inefficiency with care")
            warnings.warn(f"OLS residuals have the wrong skew for a {kind} frontier (third moment "
                          f"{-self.sign * m3:+.3g}); {found}", WrongSkewWarning, stacklevel=3)
        elif at_zero:
            warnings.warn(f"gamma = {results.gamma:.3g}: the {self.dist} likelihood's maximum is at sigma_u = 0; "
                          f"the fit is {limit}", BoundaryWarning, stacklevel=3)
        mu = results.mu
        if results.gamma > 0.999 or (self.dist == "truncated-normal" and np.ndim(mu) == 0
                                     and mu < -EDGE_SIGMAS * results.sigma_u):
            warnings.warn(f"the {self.dist} likelihood has no interior maximum here (gamma = {results.gamma:.6f}"
                          + (f", mu = {mu:.4g}" if np.ndim(mu) == 0 else "") + "); the estimates sit at the edge "
                          "of the parameter space" + ("; the exponential model is the limit of this one"
                                                      if self.dist == "truncated-normal" and np.ndim(mu) == 0
                                                      else ""), BoundaryWarning, stacklevel=3)


@dataclass(frozen=True)
class ScreeningFit:
    """A start's optimum on the screening subsample (:meth:`StochasticFrontier._screening_fit`)."""

    params: np.ndarray
    curvature: np.ndarray | None


def screening_fit(params: np.ndarray, hess_inv) -> ScreeningFit:
    """A screened start's optimum and BFGS's inverse Hessian there, kept as its curvature when it is a usable
    one (finite, positive definite), else None (the fit on all the data then starts from the identity)."""
    curvature = np.asarray(hess_inv if hess_inv is not None else np.empty((0, 0)), dtype=float)
    curvature = 0.5 * (curvature + curvature.T) if curvature.ndim == 2 else curvature
    usable = curvature.shape == (len(params),) * 2 and np.all(np.isfinite(curvature)) and \
        np.all(np.linalg.eigvalsh(curvature) > 0)
    return ScreeningFit(np.asarray(params, dtype=float), curvature if usable else None)


@dataclass(frozen=True)
class RestrictedMaximum:
    """The maximum of a nested restriction found on large data without its standard errors: what a
    multi-start fit needs of it (a start, and the log-likelihood it must reach)."""

    params: np.ndarray
    llf: float
    i_sigma2: int

    @property
    def sigma_u(self) -> float:
        return float(np.sqrt(self.params[self.i_sigma2] * self.params[self.i_sigma2 + 1]))


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


def score_hessian(score, params: np.ndarray, rows: int) -> np.ndarray:
    """The Hessian from differences of an analytic ``score``, symmetrised, as exact as its cost allows.

    Up to ``RICHARDSON_MAX_ROWS`` records: centred differences, Richardson-extrapolated (the h² term
    cancels; accurate to about 1e-9, so the standard errors to 1e-6 even where the parameters are poorly
    identified, as in small samples), four scores per parameter. Above, where a score is a pass over
    hundreds of thousands of records and the centred form cost a fifth of the fit: forward differences
    from the score at the optimum, one score per parameter (``FORWARD_STEP``; standard errors to about
    1e-5 or better, beyond any digit a summary prints).
    """
    if rows > RICHARDSON_MAX_ROWS:
        steps = FORWARD_STEP * np.maximum(np.abs(params), 1e-2)
        at = score(params)
        h = np.asarray([(score(params + step * unit) - at) / step
                        for step, unit in zip(steps, np.eye(len(params)))])
        return 0.5 * (h + h.T)
    steps = 1e-4 * np.maximum(np.abs(params), 1e-2)

    def centred(scale):
        rows_ = []
        for i, step in enumerate(steps * scale):
            up, down = params.copy(), params.copy()
            up[i] += step
            down[i] -= step
            rows_.append((score(up) - score(down)) / (2 * step))
        return np.asarray(rows_)

    h = (4 * centred(0.5) - centred(1.0)) / 3
    return 0.5 * (h + h.T)


def warn_if_flat(results, names: list[str], stacklevel: int = 3, explained: str | None = None) -> None:
    """Say when a fit's point is no proper maximum: a covariance (the inverse of minus the Hessian) that is not
    positive definite or not finite, or standard errors that cannot be computed, i.e. a flat ridge along which
    the parameter named is not identified. A ridge along ``explained`` (a parameter at an edge that a boundary
    warning has named) is not said twice."""
    cov = np.asarray(results.normalized_cov_params, dtype=float)
    try:
        values, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
        proper = np.all(np.isfinite(values)) and values.min() > 0
    except (np.linalg.LinAlgError, ValueError):
        values, vectors, proper = None, None, False
    if proper and np.all(np.isfinite(np.asarray(results.bse, dtype=float))):
        return
    # the direction of a non-positive variance, else of the largest one
    direction = (0 if values.min() <= 0 else -1) if vectors is not None and np.all(np.isfinite(values)) else None
    flat = names[int(np.argmax(np.abs(vectors[:, direction])))] if direction is not None else "a parameter"
    if flat == explained:
        return
    warnings.warn(f"the log-likelihood is flat along {flat} at the reported point (minus its Hessian is not "
                  f"positive definite): {flat} is not identified and the standard errors cannot be trusted; the "
                  f"fit may have stopped on a ridge", ConvergenceWarning, stacklevel=stacklevel)


#: |μ| beyond this many σu: a truncated normal at its edge (no interior maximum), which a fit says
EDGE_SIGMAS = 20.0
#: ... and where its quasi-Newton stage stops following the edge (by then within about 0.01 of the limit model's
#: log-likelihood on real data; further on, each iteration gains less than the last)
STOP_SIGMAS = 40.0


def screen_rows(n: int) -> np.ndarray:
    """SCREEN_ROWS of ``n`` records drawn without replacement: the same for a model and its restrictions."""
    return np.sort(np.random.default_rng(0).choice(n, SCREEN_ROWS, replace=False))


def subsample_curvature(results, scale: np.ndarray | None = None) -> np.ndarray | None:
    """The inverse Hessian of the mean negative log-likelihood at ``results``' optimum, from its covariance
    (``scale``: d free / d parameter, where the search runs in other parameters): the curvature a fit of the
    same model on more records of the same data starts its quasi-Newton search with. None where the
    covariance is not usable (an edge, a flat ridge)."""
    params = np.asarray(results.params, dtype=float)
    try:
        cov = np.asarray(results.cov_params(), dtype=float)
    except (ValueError, np.linalg.LinAlgError):
        return None
    if cov.shape != (len(params), len(params)) or not np.all(np.isfinite(cov)):
        return None
    if scale is not None:
        cov = scale[:, None] * cov * scale[None, :]
    inverse = len(results.model.endog) * 0.5 * (cov + cov.T)
    if not np.all(np.isfinite(inverse)) or np.any(np.linalg.eigvalsh(inverse) <= 0):
        return None
    return inverse


def screened_starts(starts, fit_on_subsample, loglike) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """The starts worth following on all the data, each with its curvature: every start fitted on the subsample
    (``fit_on_subsample``, returning a :class:`ScreeningFit`), the optima ranked by ``loglike`` of all the data,
    the best kept with any other within SCREEN_LLF of it at a point of its own (starts that met at one optimum
    are followed once); each optimum with its fit's curvature. Every start, without curvature, when none could
    be fitted there."""
    ends = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # a discarded start's edges are not the fit's
        for start in starts:
            try:
                found = fit_on_subsample(start)
            except (np.linalg.LinAlgError, ValueError):
                continue
            point = np.asarray(found.params, dtype=float)
            value = loglike(point)
            if np.isfinite(value):
                ends.append((value, point, found.curvature))
    if not ends:
        return [(start, None) for start in starts]
    top, kept = max(end[0] for end in ends), []
    for value, point, bend in sorted(ends, key=lambda end: -end[0]):
        if value >= top - SCREEN_LLF and not any(np.allclose(point, other, rtol=1e-3, atol=1e-4) for other, _ in kept):
            kept.append((point, bend))
    return kept


def best_fit(attempts):
    """Run each attempt (a callable returning a fit) and keep the one of highest log-likelihood; only its
    warnings are said (those of the discarded points are not about the fit returned). None if all failed."""
    best, said = None, []
    for attempt in attempts:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                candidate = attempt()
            except (np.linalg.LinAlgError, ValueError):
                continue
        if np.isfinite(candidate.llf) and (best is None or candidate.llf > best.llf + 1e-9):
            best, said = candidate, caught
    for warning in said:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return best


def reaches(best, restricted_llf: float, what: str):
    """Record the nested restriction's log-likelihood on ``best`` (``restricted_llf``) and say when the fit
    is below it: a model can always do at least as well as its restriction, so the maximum was not found."""
    best.restricted_llf = float(restricted_llf)
    if best.llf < restricted_llf - 1e-6:
        warnings.warn(f"the fit (llf {best.llf:.6f}) is below {what} ({restricted_llf:.6f}) from every start "
                      f"tried: the maximum was not found; use the restricted model", ConvergenceWarning, stacklevel=4)
    return best


class StochasticFrontierResults(GenericLikelihoodModelResults):
    """Results of a :class:`StochasticFrontier` fit: σu, σv, λ, efficiencies and the LR test."""

    def __init__(self, model, mlefit):
        super().__init__(model, mlefit)
        self.stage1 = None

    # -- parameters ----------------------------------------------------------
    @property
    def sigma_squared(self) -> float:
        return float(np.asarray(self.params)[self.model.i_sigma2])

    @property
    def gamma(self) -> float:
        return float(np.asarray(self.params)[self.model.i_gamma])

    @property
    def mu(self):
        """μ, the mean of u before truncation (0 for the half-normal); z'δ for each record in the
        Battese and Coelli (1995) model."""
        mu = self.model._split(np.asarray(self.params))[3]
        return mu if np.ndim(mu) else float(mu)

    @property
    def delta(self):
        """δ of the Battese and Coelli (1995) model, named after the determinants (the constant included)."""
        import pandas as pd

        names = self.model.exog_names[self.model.k_beta:self.model.i_sigma2]
        return pd.Series(np.asarray(self.params)[self.model.k_beta:self.model.i_sigma2], index=names, name="delta")

    def marginal_effects(self):
        """Mean marginal effect of each determinant z on E[u] (Battese and Coelli 1995 model).

        E[u] = μ + σu·Λ(μ/σu) with Λ = φ/Φ, so ∂E[u]/∂z_k = δ_k·[1 − Λ(a)(a + Λ(a))] at a = μᵢ/σu,
        averaged over the records. For a log-cost frontier, E[u] is the share by which cost exceeds
        the frontier.
        """
        import pandas as pd

        if self.model.exog_inefficiency is None:
            raise ValueError("marginal effects need determinants of inefficiency (inefficiency='~ ...')")
        a = np.asarray(self.mu) / self.sigma_u
        lam = _mills(a)
        scale = 1 - lam * (a + lam)
        delta = self.delta
        effects = pd.Series([float(np.mean(d * scale)) for d in delta], index=delta.index, name="dE[u]/dz")
        z = self.model.exog_inefficiency
        constant = np.all(z == z[0], axis=0)         # the constant's "effect" is no effect of a determinant
        return effects[~constant]

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
        kind : {"bc", "jlms", "mode"}
            ``"bc"``: Battese and Coelli (1988), E[exp(−u) | ε], in (0, 1];
            ``"jlms"``: exp(−E[u | ε]) from Jondrow, Lovell, Materov and Schmidt (1982);
            ``"mode"``: exp(−M[u | ε]), the mode of u given ε, max(μ*, 0).
        minus_u : bool, default True
            False gives E[exp(u) | ε] (``"bc"``) or exp(E[u | ε]) (``"jlms"``), ≥ 1:
            the factor by which a record's cost exceeds the frontier, as R's
            ``frontier`` gives with ``minusU = FALSE``.
        """
        if kind == "mode":
            mu_star, _, h = self._u_given_e()
            mode = h * np.maximum(mu_star, 0.0)      # the mode of u | ε ~ N⁺(μ*, σ*²)
            return np.exp(-mode) if minus_u else np.exp(mode)
        return conditional_efficiency(self._production_residuals(), self.sigma_u, self.sigma_v, self.mu,
                                      self.model.dist, kind=kind, minus_u=minus_u)

    def efficiency_interval(self, level: float = 0.95) -> pd.DataFrame:
        """Each record's efficiency interval (Horrace and Schmidt 1996): the ``level`` bounds of exp(−u) given
        ε, from the quantiles of u | ε ~ N⁺(μ*, σ*²), beside the point estimate E[exp(−u) | ε].

        A ranking of units by efficiency is only as firm as these intervals: overlapping ones do not
        separate the units.

        Returns
        -------
        DataFrame
            ``lower``, ``efficiency`` (Battese-Coelli) and ``upper``, one row per record.
        """
        from scipy.special import ndtri_exp

        if not 0 < level < 1:
            raise ValueError(f"level must lie between 0 and 1, not {level}")
        alpha = 1 - level
        mu_star, s_star, h = self._u_given_e()
        tail = log_ndtr(mu_star / s_star)                 # log P(u > 0) under N(μ*, σ*²)
        # quantile q of the truncated normal: μ* − σ* Φ⁻¹((1 − q) P(u > 0)), in logs for far tails
        u_low = mu_star - s_star * ndtri_exp(np.log1p(-alpha / 2) + tail)
        u_high = mu_star - s_star * ndtri_exp(np.log(alpha / 2) + tail)
        return pd.DataFrame({"lower": np.exp(-h * u_high), "efficiency": self.efficiency("bc"),
                             "upper": np.exp(-h * np.maximum(u_low, 0.0))})

    def _u_given_e(self):
        """μ*, σ* of u | ε ~ N⁺(μ*, σ*²) for each record, and the factor h on u in that record (1 here)."""
        mu_star, s_star = conditional_moments(self._production_residuals(), self.sigma_u, self.sigma_v, self.mu,
                                              self.model.dist)
        return mu_star, s_star, 1.0

    # -- tests ---------------------------------------------------------------
    @property
    def llf_ols(self) -> float:
        return self.model.least_squares()[2]

    def lr_test(self) -> dict:
        """Likelihood-ratio test of H0: no inefficiency (σu = 0) against OLS.

        The statistic follows a mixed χ² under H0 (γ lies on the boundary);
        the p-value uses ½χ²(0) + ½χ²(1) for one restriction (Kodde and Palm
        1986), ½χ²(1) + ½χ²(2) for the truncated normal's two.
        """
        statistic = max(0.0, 2 * (self.llf - self.llf_ols))
        df = len(self.model.exog_names) - self.model.k_beta - 1     # γ, and μ (or δ, or η) with it
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


__all__ = ["BoundaryWarning", "DISTRIBUTIONS", "GAMMA_AT_ZERO", "conditional_efficiency", "conditional_moments", "StochasticFrontier", "StochasticFrontierResults", "WrongSkewWarning",
           "fit_frontier"]
