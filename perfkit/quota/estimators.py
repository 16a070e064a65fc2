"""scikit-learn estimators for cost functions and frontiers, for cross_val_score, pipelines and grid search.

Both fit ``y`` (typically log cost) on ``X`` (typically log drivers and factor
dummies) with an intercept added, and predict the fitted cost level:
:class:`CostFunctionRegressor` the mean (OLS), a robust centre (RLM) or a
quantile; :class:`FrontierRegressor` the efficient frontier.
"""
from __future__ import annotations

import warnings

import numpy as np
import statsmodels.api as sm
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from perfkit.quota.frontier import StochasticFrontier, conditional_efficiency


class CostFunctionRegressor(RegressorMixin, BaseEstimator):
    """Linear cost function fitted by OLS, robust M-estimation or quantile regression.

    Parameters
    ----------
    method : {"ols", "rlm", "quantile"}, default "ols"
    tau : float, default 0.5
        Quantile for ``method="quantile"``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    results_ : statsmodels results of the fit
    """

    def __init__(self, method: str = "ols", tau: float = 0.5):
        self.method = method
        self.tau = tau

    def fit(self, X, y):
        X, y = validate_data(self, X, y, y_numeric=True)
        if self.method not in ("ols", "rlm", "quantile"):
            raise ValueError(f"method must be 'ols', 'rlm' or 'quantile', not {self.method!r}")
        if len(X) < X.shape[1] + 2:
            raise ValueError(f"{self.method} needs more samples than features + 1; got n_samples = {len(X)}")
        design = np.column_stack([np.ones(len(X)), X])
        if self.method == "ols":
            self.results_ = sm.OLS(y, design).fit()
        elif self.method == "rlm":
            self.results_ = sm.RLM(y, design, M=sm.robust.norms.HuberT()).fit()
        else:
            if not 0 < self.tau < 1:
                raise ValueError(f"tau must be in (0, 1), not {self.tau}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.results_ = sm.QuantReg(y, design).fit(q=self.tau, max_iter=5000)
        params = np.asarray(self.results_.params)
        self.intercept_, self.coef_ = float(params[0]), params[1:]
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.intercept_ + X @ self.coef_


class FrontierRegressor(RegressorMixin, BaseEstimator):
    """Stochastic frontier as a scikit-learn regressor; ``predict`` gives the frontier x'β.

    Parameters
    ----------
    cost : bool, default True
        Cost frontier (True) or production frontier (False).
    dist : {"half-normal", "exponential", "truncated-normal"}

    Attributes
    ----------
    coef_, intercept_ : frontier coefficients
    sigma_u_, sigma_v_ : float
    results_ : StochasticFrontierResults
    """

    def __init__(self, cost: bool = True, dist: str = "half-normal"):
        self.cost = cost
        self.dist = dist

    def fit(self, X, y):
        X, y = validate_data(self, X, y, y_numeric=True)
        if len(X) < X.shape[1] + 3:
            raise ValueError(f"a frontier needs more samples than features + 2; got n_samples = {len(X)}")
        design = np.column_stack([np.ones(len(X)), X])
        with warnings.catch_warnings():
            # a resample without visible inefficiency is legitimate data, not an error
            warnings.simplefilter("ignore")
            self.results_ = StochasticFrontier(y, design, cost=self.cost, dist=self.dist).fit()
        beta = np.asarray(self.results_.beta)
        self.intercept_, self.coef_ = float(beta[0]), beta[1:]
        self.sigma_u_, self.sigma_v_ = self.results_.sigma_u, self.results_.sigma_v
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.intercept_ + X @ self.coef_

    def efficiency(self, X, y):
        """Battese-Coelli efficiency E[exp(−u)|ε] of (new) records under the fitted frontier."""
        check_is_fitted(self)
        X, y = validate_data(self, X, y, reset=False)
        residual = y - self.predict(X)
        return conditional_efficiency(-(1.0 if self.cost else -1.0) * residual, self.sigma_u_, self.sigma_v_,
                                      self.results_.mu, self.dist)
