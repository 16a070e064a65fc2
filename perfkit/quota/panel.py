"""Panel stochastic frontiers: cost records of the same unit over several years.

    y_it = x_it'β + v_it + s·η_it·u_i,   η_it = exp(−η (t − T)),   u_i ~ N⁺(μ, σu²)

(s = +1 for a cost frontier, −1 for production; T is the panel's last period). ``model="bc92"`` is
Battese and Coelli (1992): inefficiency that changes over time at the rate η (η > 0: falling over
the years); ``model="pitt-lee"`` is Pitt and Lee (1981): η = 0, the same u_i in every year. With
``dist="half-normal"`` μ = 0; ``"truncated-normal"`` estimates μ. Parameters follow FRONTIER 4.1
and R's ``frontier``: β, σ² = σu² + σv², γ = σu²/σ², μ, η; the tests reproduce FRONTIER 4.1 on the
rice farms of the Philippines (Coelli et al. 2005).

The log-likelihood of unit i, with production-form residuals e_it = v_it − η_it·u_i, is

    −(Tᵢ/2)·log 2π − ((Tᵢ−1)/2)·log σv² − ½·log(σv² + σu²·η'η) − ½·(e'e/σv² + μ²/σu² − μ*²/σ*²)
    + log Φ(μ*/σ*) − log Φ(μ/σu),
    μ* = (μσv² − σu²·η'e) / (σv² + σu²·η'η),   σ*² = σv²σu² / (σv² + σu²·η'η).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import log_ndtr

from perfkit.quota.frontier import _LOG_SQRT_2PI, StochasticFrontier, StochasticFrontierResults, _mills

MODELS = ("bc92", "pitt-lee")


class PanelFrontier(StochasticFrontier):
    """Battese–Coelli (1992) or Pitt–Lee (1981) panel frontier, a statsmodels likelihood model.

    Parameters
    ----------
    endog, exog : array_like
        As :class:`perfkit.quota.StochasticFrontier` (exog with a constant).
    entity, time : array_like
        The unit and the period (a year) of each row.
    cost : bool, default True
    model : {"bc92", "pitt-lee"}
    dist : {"half-normal", "truncated-normal"}

    Notes
    -----
    ``loglikeobs`` returns one value per *unit* (the panel's likelihood factors by unit, not by row).
    """

    def __init__(self, endog, exog, entity, time, cost: bool = True, model: str = "bc92",
                 dist: str = "half-normal", **kwargs):
        if model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, not {model!r}")
        if dist not in ("half-normal", "truncated-normal"):
            raise ValueError(f"a panel frontier's dist is 'half-normal' or 'truncated-normal', not {dist!r}")
        self.panel_model = model
        entity, time = np.asarray(entity), np.asarray(time, dtype=float)
        if len(entity) != len(np.asarray(endog)) or len(time) != len(entity):
            raise ValueError("entity and time need one value per row of the data")
        if not np.all(np.isfinite(time)):
            raise ValueError("the time of every row must be a number (a year)")
        self.groups, self.group_index = np.unique(entity, return_inverse=True)
        pairs = pd.DataFrame({"unit": self.group_index, "t": time})
        if pairs.duplicated().any():
            first = pairs[pairs.duplicated()].index[0]
            raise ValueError(f"unit {entity[first]!r} has more than one row for period {time[first]:g}")
        self.t_minus_T = time - time.max()          # t − T, T the panel's last period (as FRONTIER 4.1)
        self.n_units = len(self.groups)
        self.periods = np.bincount(self.group_index).astype(float)
        super().__init__(endog, exog, cost=cost, dist=dist, **kwargs)

    def _variance_names(self, dist: str) -> list[str]:
        return ["sigma2", "gamma"] + (["mu"] if dist == "truncated-normal" else []) + \
            (["eta"] if self.panel_model == "bc92" else [])

    @classmethod
    def from_formula(cls, formula, data, entity: str = "unit_id", time: str = "year", subset=None,
                     drop_cols=None, *args, cost: bool = True, model: str = "bc92", dist: str = "half-normal",
                     **kwargs):
        """A panel frontier from a formula; ``entity`` and ``time`` name the data's unit and period columns."""
        frame = data if subset is None else data.loc[subset]
        for column in (entity, time):
            if column not in frame:
                raise ValueError(f"the data have no column {column!r}")
        cls._refuse_unusable_rows(formula, frame)
        return super(StochasticFrontier, cls).from_formula(
            formula, data, subset, drop_cols, *args, entity=frame[entity].to_numpy(), time=frame[time].to_numpy(),
            cost=cost, model=model, dist=dist, missing="raise", **kwargs)

    # -- likelihood ----------------------------------------------------------
    def _split(self, params):
        params = np.asarray(params, dtype=float)
        beta = params[: self.k_beta]
        sigma2, gamma = params[self.i_sigma2], params[self.i_gamma]
        rest = list(params[self.i_gamma + 1:])
        mu = rest.pop(0) if self.dist == "truncated-normal" else 0.0
        eta = rest.pop(0) if self.panel_model == "bc92" else 0.0
        return beta, sigma2, gamma, mu, eta

    def _posterior(self, params):
        """Per unit: μ*ᵢ, σ*ᵢ, and the pieces of the likelihood (e'e, η'η)."""
        beta, sigma2, gamma, mu, eta = self._split(params)
        e = self._e(beta)
        h = np.exp(-eta * self.t_minus_T)
        sum_ee = np.bincount(self.group_index, e * e, self.n_units)
        sum_he = np.bincount(self.group_index, h * e, self.n_units)
        sum_hh = np.bincount(self.group_index, h * h, self.n_units)
        su2, sv2 = gamma * sigma2, (1 - gamma) * sigma2
        denominator = sv2 + su2 * sum_hh
        mu_star = (mu * sv2 - su2 * sum_he) / denominator
        s_star = np.sqrt(sv2 * su2 / denominator)
        return mu_star, s_star, sum_ee, denominator, h, (su2, sv2, mu)

    def loglikeobs(self, params):
        """Log-likelihood of each unit (see the module's formula)."""
        _, sigma2, gamma, _, _ = self._split(params)
        if not (sigma2 > 0 and 0 < gamma < 1):
            return np.full(self.n_units, -np.inf)
        mu_star, s_star, sum_ee, denominator, _, (su2, sv2, mu) = self._posterior(params)
        T = self.periods
        return (-T * _LOG_SQRT_2PI - 0.5 * (T - 1) * np.log(sv2) - 0.5 * np.log(denominator)
                - 0.5 * (sum_ee / sv2 + mu**2 / su2 - (mu_star / s_star) ** 2)
                + log_ndtr(mu_star / s_star) - log_ndtr(mu / np.sqrt(su2)))

    analytic_score = False

    def loglike_and_score(self, params):
        """The panel log-likelihood and its gradient (by centred differences)."""
        return self.loglike(params), self.score(params)

    def score(self, params):
        """Gradient of the log-likelihood by centred differences."""
        from statsmodels.tools.numdiff import approx_fprime
        return approx_fprime(np.asarray(params, float), self.loglike, centered=True).ravel()

    def hessian(self, params):
        from statsmodels.tools.numdiff import approx_hess3
        return approx_hess3(np.asarray(params, float), self.loglike)

    def _default_start(self) -> np.ndarray:
        """The pooled half-normal frontier's estimates, with μ = 0 and η = 0."""
        import warnings

        pooled = StochasticFrontier(self.endog, self.exog, cost=self.sign > 0, dist="half-normal")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = list(np.asarray(pooled.fit().params, dtype=float))
        return np.asarray(start + [0.0] * (len(self.exog_names) - len(start)))

    @property
    def results_class(self):
        return PanelFrontierResults


class PanelFrontierResults(StochasticFrontierResults):
    """Results of a :class:`PanelFrontier`: η, σu, σv, efficiency of each unit and year, LR tests."""

    @property
    def mu(self) -> float:
        return float(self.model._split(np.asarray(self.params))[3])

    @property
    def eta(self) -> float:
        """η, the rate at which inefficiency changes (0 for Pitt–Lee; > 0: it falls over the years)."""
        return float(self.model._split(np.asarray(self.params))[4])

    def efficiency(self, kind: str = "bc", minus_u: bool = True) -> np.ndarray:
        """Efficiency of each row (unit and year), in the data's order.

        ``kind="bc"``: Battese and Coelli (1992), E[exp(−η_it·u_i) | e_i]; ``minus_u=False`` gives
        E[exp(η_it·u_i) | e_i] ≥ 1, the factor by which cost exceeds the frontier.
        ``kind="jlms"``: exp(−η_it·E[u_i | e_i]).
        """
        mu_star, s_star, _, _, h, _ = self.model._posterior(np.asarray(self.params))
        m, s = mu_star[self.model.group_index], s_star[self.model.group_index]
        z = m / s
        if kind == "jlms":
            u = h * (m + s * _mills(z))
            return np.exp(-u) if minus_u else np.exp(u)
        if kind != "bc":
            raise ValueError(f"kind must be 'bc' or 'jlms', not {kind!r}")
        sign = -1.0 if minus_u else 1.0
        return np.exp(sign * h * m + 0.5 * h**2 * s**2 + log_ndtr(z + sign * h * s) - log_ndtr(z))

    def inefficiency(self) -> np.ndarray:
        """E[η_it·u_i | e_i] of each row."""
        mu_star, s_star, _, _, h, _ = self.model._posterior(np.asarray(self.params))
        m, s = mu_star[self.model.group_index], s_star[self.model.group_index]
        return h * (m + s * _mills(m / s))

    def pitt_lee(self) -> "PanelFrontierResults":
        """The Pitt–Lee (1981) restriction of this Battese–Coelli (1992) fit (η = 0), fitted once."""
        if self.model.panel_model != "bc92":
            raise ValueError("the Pitt-Lee restriction is of a bc92 fit")
        if getattr(self, "_pitt_lee", None) is None:
            import warnings

            data = self.model.data      # the original endog and exog keep the formula's names
            restricted = PanelFrontier(data.orig_endog, data.orig_exog, self.model.groups[self.model.group_index],
                                       self.model.t_minus_T, cost=self.model.sign > 0, model="pitt-lee",
                                       dist=self.model.dist)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._pitt_lee = restricted.fit()
        return self._pitt_lee

    def lr_test_eta(self) -> dict:
        """Likelihood-ratio test of H0: η = 0 (Pitt–Lee) against this Battese–Coelli (1992) fit (χ², 1 df)."""
        if self.model.panel_model != "bc92":
            raise ValueError("the LR test of eta = 0 compares a bc92 fit with its Pitt-Lee restriction")
        llf_restricted = self.pitt_lee().llf
        statistic = max(0.0, 2 * (self.llf - llf_restricted))
        return {"statistic": statistic, "df": 1, "p_value": float(stats.chi2.sf(statistic, 1)),
                "llf_pitt_lee": float(llf_restricted)}

    def summary(self, title=None, alpha=0.05):
        kind = "cost" if self.model.sign > 0 else "production"
        name = "Battese-Coelli (1992)" if self.model.panel_model == "bc92" else "Pitt-Lee (1981)"
        smry = super(StochasticFrontierResults, self).summary(
            title=title or f"Panel stochastic {kind} frontier, {name}, {self.model.dist}")
        eff = self.efficiency()
        lines = [f"units = {self.model.n_units}, periods = {int(self.model.periods.max())}, rows = {self.nobs:g}",
                 f"sigma_u = {self.sigma_u:.6g}, sigma_v = {self.sigma_v:.6g}, lambda = {self.lambda_:.6g}",
                 f"Mean efficiency (Battese-Coelli): {eff.mean():.5f}"]
        if self.model.panel_model == "bc92":
            lr = self.lr_test_eta()
            lines.append(f"eta = {self.eta:.6g}; LR test of eta = 0 (Pitt-Lee): {lr['statistic']:.4f}, "
                         f"p = {lr['p_value']:.4g}")
        smry.add_extra_txt(lines)
        return smry


__all__ = ["MODELS", "PanelFrontier", "PanelFrontierResults"]
