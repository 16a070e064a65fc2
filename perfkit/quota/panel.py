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

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import log_ndtr

from perfkit.quota import frontier
from perfkit.quota.frontier import (_LOG_SQRT_2PI, StochasticFrontier, StochasticFrontierResults, _mills, best_fit,
                                    log_cdf, reaches, screened_starts)

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
        if entity.ndim != 1 or len(entity) != len(np.asarray(endog)) or len(time) != len(entity):
            raise ValueError("entity and time need one value per row of the data")
        missing = np.flatnonzero(pd.isna(entity))
        if len(missing):      # a missing id is no unit (never one more unit, never a sorting error)
            raise ValueError(f"{len(missing)} row(s) have no entity (unit id): rows "
                             f"{', '.join(map(str, missing[:10]))}{' …' if len(missing) > 10 else ''}")
        if not np.all(np.isfinite(time)):
            raise ValueError("the time of every row must be a number (a year)")
        # ids of mixed kinds (text and numbers) compare as text: 7 and "7" are one unit, as a reader sees them
        if entity.dtype == object and pd.api.types.infer_dtype(entity, skipna=False).startswith("mixed"):
            entity = entity.astype(str).astype(object)
        # hashing, not sorting, numbers the units (a sort of a million text ids took 0.5 s)
        self.group_index, self.groups = pd.factorize(entity, sort=True)
        self.groups = np.asarray(self.groups, dtype=entity.dtype)
        repeated = np.flatnonzero(pd.DataFrame({"unit": self.group_index, "time": time}).duplicated().to_numpy())
        if len(repeated):
            first = repeated.min()
            raise ValueError(f"unit {entity[first]!r} has more than one row for period {time[first]:g}")
        self.t_minus_T = time - time.max()          # t − T, T the panel's last period (as FRONTIER 4.1)
        self.n_units = len(self.groups)
        self.periods = np.bincount(self.group_index).astype(float)
        if model == "bc92" and np.unique(time).size < 2:
            # η is how inefficiency changes over time: with one period it is not identified, never a silent 0
            raise ValueError("a Battese-Coelli (1992) panel needs two periods or more: with one, η (the change of "
                             "inefficiency over time) is not identified; fit model='pl81' or a cross-section")
        super().__init__(endog, exog, cost=cost, dist=dist, **kwargs)

    def fit(self, start_params=None, method="newton", maxiter=100, disp=False, **kwargs):
        """Maximum-likelihood fit (see :meth:`StochasticFrontier.fit`).

        A Battese-Coelli (1992) fit also starts from its fitted Pitt-Lee restriction (η = 0) and keeps the
        better point; it must reach at least that restriction's log-likelihood, or it says that it could not.
        The restriction is kept for :meth:`PanelFrontierResults.lr_test_eta`.
        """
        if start_params is not None or self.panel_model != "bc92":
            return super().fit(start_params, method=method, maxiter=maxiter, disp=disp, **kwargs)
        restricted = self.pitt_lee_model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")       # the restriction's own edges are not this model's
            pitt_lee = restricted.fit()
        from_pitt_lee = np.r_[np.asarray(pitt_lee.params, dtype=float), 0.0]
        pairs = [(None, None), (from_pitt_lee, None)]
        sub = self._screening_panel() if self.dist == "half-normal" else None
        if sub is not None:
            # as a cross-section's: both starts screened on a subsample (of whole units), the better optimum
            # (and any other as good at a point of its own) followed on all the data from its curvature there
            pairs = screened_starts([self._default_start(), from_pitt_lee], sub._screening_fit, self.loglike)
        best = best_fit([lambda start=start, curvature=curvature: super(PanelFrontier, self).fit(
            start, method=method, maxiter=maxiter, disp=disp,
            **({"hess_inv0": curvature} if curvature is not None else {}), **kwargs)
            for start, curvature in pairs])
        if best is None:                          # every start failed: the plain fit says why
            return super().fit(None, method=method, maxiter=maxiter, disp=disp, **kwargs)
        getattr(best, "_results", best)._pitt_lee = pitt_lee
        return reaches(best, pitt_lee.llf, "its Pitt-Lee restriction (eta = 0)")

    def _screening_panel(self) -> "PanelFrontier | None":
        """The same model on a subsample of whole units (:func:`screen_units`) to screen starts on, or None where
        the panel is too small to screen, the subsample holds too few units, or the model cannot be had on it
        (one period only): every start then runs on all the data."""
        if len(self.endog) <= frontier.SCREEN_ROWS:
            return None
        rows = screen_units(self.group_index, self.n_units)
        if len(np.unique(self.group_index[rows])) < MIN_SCREEN_UNITS:
            return None
        try:
            return type(self)(self.endog[rows], self.exog[rows], self.groups[self.group_index[rows]],
                              self.t_minus_T[rows], cost=self.sign > 0, model=self.panel_model, dist=self.dist)
        except ValueError:
            return None

    def pitt_lee_model(self) -> "PanelFrontier":
        """The Pitt-Lee (1981) restriction (η = 0) of this model, on the same data and names."""
        data = self.data      # the original endog and exog keep the formula's names
        return PanelFrontier(data.orig_endog, data.orig_exog, self.groups[self.group_index], self.t_minus_T,
                             cost=self.sign > 0, model="pitt-lee", dist=self.dist)

    def nested_half_normal(self):
        """The same panel model with a half-normal u (the truncated normal at μ = 0)."""
        return type(self)(self.endog, self.exog, entity=self.groups[self.group_index], time=self.t_minus_T,
                          cost=self.sign > 0, model=self.panel_model, dist="half-normal")

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

    def _unit_sums(self, beta, eta):
        """The residuals e and η_it of each row, and per unit A = e'e, B = η'e and C = η'η."""
        g = self.group_index
        e = self._e(beta)
        A = np.bincount(g, e * e, self.n_units)
        if self.panel_model == "pitt-lee":            # η_it = 1, so η'e = Σe and η'η = Tᵢ
            return e, 1.0, A, np.bincount(g, e, self.n_units), self.periods
        h = np.exp(-eta * self.t_minus_T)
        return e, h, A, np.bincount(g, h * e, self.n_units), np.bincount(g, h * h, self.n_units)

    def _posterior(self, params):
        """Per unit: μ*ᵢ, σ*ᵢ, and the pieces of the likelihood (e'e, η'η)."""
        beta, sigma2, gamma, mu, eta = self._split(params)
        _, h, sum_ee, sum_he, sum_hh = self._unit_sums(beta, eta)
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

    def _loglike_and_score(self, params):
        """The panel log-likelihood and its analytic gradient, in one pass over the data.

        With A = e'e, B = η'e, C = η'η per unit, D = σv² + σu²C, N = μσv² − σu²B, W = Dσv²σu² and
        z = μ*/σ* = N/√W, each unit's ℓ = −((T−1)/2) log σv² − ½ log D − A/(2σv²) − μ²/(2σu²) + z²/2
        + log Φ(z) − log Φ(μ/σu) + const; dℓ/dz = z + Λ(z) (Λ = φ/Φ), and the derivatives of z and of
        the rest with respect to A, B, C, σv², σu² and μ give those of β (through e), σ², γ (σu² = γσ²,
        σv² = (1−γ)σ²), μ and η (through η_it = exp(−η(t − T))).
        """
        params = np.asarray(params, dtype=float)
        beta, sigma2, gamma, mu, eta = self._split(params)
        if not (sigma2 > 0 and 0 < gamma < 1):
            return -np.inf, np.zeros_like(params)
        g, t = self.group_index, self.t_minus_T
        e, h, A, B, C = self._unit_sums(beta, eta)
        su2, sv2 = gamma * sigma2, (1 - gamma) * sigma2
        D = sv2 + su2 * C
        root_w = np.sqrt(D * sv2 * su2)
        z = (mu * sv2 - su2 * B) / root_w
        log_cdf_z = log_cdf(z)
        lam_z = np.exp(-0.5 * z * z - _LOG_SQRT_2PI - log_cdf_z)
        b = mu / np.sqrt(su2)
        log_cdf_b = log_cdf(b)
        T = self.periods
        value = np.sum(-T * _LOG_SQRT_2PI - 0.5 * (T - 1) * np.log(sv2) - 0.5 * np.log(D)
                       - 0.5 * (A / sv2 + mu**2 / su2 - z * z) + log_cdf_z) - self.n_units * log_cdf_b
        dz = z + lam_z                                                   # dℓ/dz of each unit
        d_A = -0.5 / sv2
        d_B = -dz * su2 / root_w
        d_C = su2 * (-0.5 / D - 0.5 * dz * z / D)
        d_sv2 = np.sum(-(T - 1) / (2 * sv2) - 0.5 / D + A / (2 * sv2**2)
                       + dz * (mu / root_w - 0.5 * z * (1 / D + 1 / sv2)))
        lam_b = np.exp(-0.5 * b * b - _LOG_SQRT_2PI - log_cdf_b)
        d_su2 = (np.sum(-C / (2 * D) + mu**2 / (2 * su2**2) + dz * (-B / root_w - 0.5 * z * (C / D + 1 / su2)))
                 + self.n_units * lam_b * b / (2 * su2))
        d_e = 2 * d_A * e + d_B[g] * h                                   # per row
        grad = [*(self.sign * (self.exog.T @ d_e)),
                d_su2 * gamma + d_sv2 * (1 - gamma),                     # σ²
                (d_su2 - d_sv2) * sigma2]                                # γ
        if self.dist == "truncated-normal":
            grad.append(np.sum(-mu / su2 + dz * sv2 / root_w) - self.n_units * lam_b / np.sqrt(su2))
        if self.panel_model == "bc92":
            dB_deta = np.bincount(g, -t * (h * e), self.n_units)
            dC_deta = np.bincount(g, -2 * t * h * h, self.n_units)
            grad.append(np.sum(d_B * dB_deta + d_C * dC_deta))
        return float(value), np.asarray(grad, dtype=float)

    def _default_start(self) -> np.ndarray:
        """Method-of-moments start values of the pooled data (COLS, as the cross-section's), μ = 0, η = 0."""
        start = self.start_values()
        return np.concatenate([start, np.zeros(len(self.exog_names) - len(start))])

    @property
    def results_class(self):
        return PanelFrontierResults


#: A BC92 panel screens its starts only on a subsample of at least this many units (a few long histories
#: are no sample of a panel's units).
MIN_SCREEN_UNITS = 50


def screen_units(group_index: np.ndarray, n_units: int) -> np.ndarray:
    """The rows of randomly drawn whole units, about SCREEN_ROWS of them (a panel's likelihood factors by unit:
    a subsample of rows would cut units' histories short)."""
    share = min(1.0, frontier.SCREEN_ROWS / len(group_index))
    chosen = np.random.default_rng(0).random(n_units) < share
    return np.flatnonzero(chosen[group_index])


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
        ``kind="jlms"``: exp(−η_it·E[u_i | e_i]); ``kind="mode"``: exp(−η_it·max(μ*_i, 0)).
        """
        m, s, h = self._u_given_e()
        z = m / s
        if kind == "mode":                  # exp(−η_it · the mode of u_i | e_i)
            mode = h * np.maximum(m, 0.0)
            return np.exp(-mode) if minus_u else np.exp(mode)
        if kind == "jlms":
            u = h * (m + s * _mills(z))
            return np.exp(-u) if minus_u else np.exp(u)
        if kind != "bc":
            raise ValueError(f"kind must be 'bc' or 'jlms', not {kind!r}")
        sign = -1.0 if minus_u else 1.0
        return np.exp(sign * h * m + 0.5 * h**2 * s**2 + log_ndtr(z + sign * h * s) - log_ndtr(z))

    def _u_given_e(self):
        """μ*_i, σ*_i of u_i | e_i for each row's unit, and η_it, the factor on u_i in that row."""
        mu_star, s_star, _, _, h, _ = self.model._posterior(np.asarray(self.params))
        return mu_star[self.model.group_index], s_star[self.model.group_index], h

    def inefficiency(self) -> np.ndarray:
        """E[η_it·u_i | e_i] of each row."""
        mu_star, s_star, _, _, h, _ = self.model._posterior(np.asarray(self.params))
        m, s = mu_star[self.model.group_index], s_star[self.model.group_index]
        return h * (m + s * _mills(m / s))

    def pitt_lee(self) -> "PanelFrontierResults":
        """The Pitt–Lee (1981) restriction of this Battese–Coelli (1992) fit (η = 0), fitted once."""
        if self.model.panel_model != "bc92":
            raise ValueError("the Pitt-Lee restriction is of a bc92 fit")
        if getattr(self, "_pitt_lee", None) is None:      # a fit from given start values has not fitted it
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._pitt_lee = self.model.pitt_lee_model().fit()
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
