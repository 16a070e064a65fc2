"""Heteroscedastic and scaling stochastic frontiers: σu and σv that vary with the data, and the scaling model.

One likelihood covers them all: each record's e = v − u (production form) with v ~ N(0, σv,i²) and
u ~ N⁺(μ_i, σu,i²) has

    ℓ_i = −½ log σ_i² − ½ ((e_i + μ_i)/σ_i)² + log Φ(μ*_i/σ*_i) − log Φ(μ_i/σu,i) − ½ log 2π,
    σ_i² = σu,i² + σv,i²,  μ*_i = (μ_i σv,i² − e_i σu,i²)/σ_i²,  σ*_i = σu,i σv,i / σ_i,

and the models differ in how μ_i, σu,i and σv,i follow the data:

- ``u_het="~ z"``: log σu,i² = z_i′γ_u; ``v_het="~ w"``: log σv,i² = w_i′γ_v (a constant alone: homoscedastic);
- ``mean="~ m"`` (truncated normal): μ_i = m_i′δ, Battese and Coelli's (1995) mean; ``dist="half-normal"``: μ_i = 0;
- ``scaling="~ z"`` (Wang and Schmidt 2002): u_i = h_i·u*, h_i = exp(z_i′δ) (z without a constant), u* ~ N⁺(τ, σu²),
  i.e. μ_i = τ h_i and σu,i = σu h_i: the determinants scale the whole distribution of u.

:class:`HeteroscedasticFrontier` is a statsmodels ``GenericLikelihoodModel`` with an analytic score; its fit
starts from the fitted homoscedastic model it nests (and from COLS), keeps the best, and must reach the nested
model's log-likelihood or say so, as every frontier of :mod:`perfkit.quota.frontier` does.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import log_ndtr
from statsmodels.base.model import GenericLikelihoodModel, GenericLikelihoodModelResults, LikelihoodResultsWrapper
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from perfkit.quota import frontier
from perfkit.quota.frontier import (_LOG_SQRT_2PI, StochasticFrontier, _mills, best_fit, log_cdf, reaches,
                                    score_hessian, screen_rows, screened_starts, screening_fit, warn_if_flat)

_LOG_2 = float(np.log(2.0))


class HeteroscedasticFrontier(GenericLikelihoodModel):
    """A stochastic frontier whose σu, σv (and μ) follow the data, or the scaling model.

    Parameters
    ----------
    endog, exog : array-like
        The frontier (log cost or log output, and its regressors).
    cost : bool, default True
    dist : {"half-normal", "truncated-normal"}
    u_design, v_design : array-like, optional
        Designs of log σu² and log σv² (a column of ones when omitted: homoscedastic).
    mean_design : array-like, optional
        Design of μ (Battese-Coelli 1995) for the truncated normal; without it the truncated normal has one μ.
    scaling_design : array-like, optional
        The scaling model's z (no constant): then ``dist`` is the truncated normal of u* and ``u_design`` and
        ``mean_design`` are not used.
    names : dict, optional
        Column names of each design (``u``, ``v``, ``mean``, ``scaling``).
    """

    def __init__(self, endog, exog, cost: bool = True, dist: str = "half-normal", u_design=None, v_design=None,
                 mean_design=None, scaling_design=None, names: dict | None = None, **kwargs):
        if dist not in ("half-normal", "truncated-normal"):
            raise ValueError(f"dist must be 'half-normal' or 'truncated-normal', not {dist!r}")
        n = len(np.asarray(endog))
        names = dict(names or {})

        def design(values, key, constant):
            if values is None:
                return (np.ones((n, 1)), ["Intercept"]) if constant else (None, [])
            values = np.asarray(values, dtype=float)
            values = values[:, None] if values.ndim == 1 else values
            if len(values) != n or not np.all(np.isfinite(values)):
                raise ValueError(f"the {key} design needs one finite row per record")
            return values, list(names.get(key) or [f"{key}{i}" for i in range(values.shape[1])])

        self.scaling = scaling_design is not None
        if self.scaling:
            if mean_design is not None or u_design is not None:
                raise ValueError("the scaling model's z scale both μ and σu: give scaling= alone, not with mean= or u_het=")
            dist = "truncated-normal"
        self.Z, z_names = design(scaling_design, "scaling", False)
        if self.scaling and np.any(np.ptp(self.Z, axis=0) == 0):
            raise ValueError("the scaling model's z must not hold a constant (τ and σu are the scale's level)")
        self.U, u_names = design(None if self.scaling else u_design, "u", True)
        self.V, v_names = design(v_design, "v", True)
        self.M, m_names = design(mean_design, "mean", False)
        if self.M is not None and dist != "truncated-normal":
            raise ValueError("a mean of u (mean=) needs dist='truncated-normal'")
        self.dist, self.sign = dist, (1.0 if cost else -1.0)
        self.k_beta = np.asarray(exog).shape[1]
        blocks = []      # (name, size) in parameter order after β
        if self.scaling:
            blocks += [("scaling", self.Z.shape[1]), ("tau", 1), ("u", 1)]
        else:
            if self.M is not None:
                blocks.append(("mean", self.M.shape[1]))
            elif dist == "truncated-normal":
                blocks.append(("mu", 1))
            blocks.append(("u", self.U.shape[1]))
        blocks.append(("v", self.V.shape[1]))
        self.blocks, position = {}, self.k_beta
        for name, size in blocks:
            self.blocks[name] = slice(position, position + size)
            position += size
        extra = []
        for name, _ in blocks:
            extra += {"scaling": [f"scale_{c}" for c in z_names], "tau": ["tau"], "mu": ["mu"],
                      "mean": [f"delta_{c}" for c in m_names],
                      "u": ["u_Intercept"] if self.scaling else [f"u_{c}" for c in u_names],
                      "v": [f"v_{c}" for c in v_names]}[name]
        super().__init__(endog, exog, extra_params_names=extra, **kwargs)
        self.df_resid = float(self.exog.shape[0] - self.nparams)

    # -- the record's μ, σu², σv² ------------------------------------------------
    def parts(self, params, designs: dict | None = None):
        """β, and each record's μ, σu² and σv² at ``params`` (``designs`` replaces the model's ``U``, ``M`` or
        ``Z``: the marginal effects move one variable)."""
        params = np.asarray(params, dtype=float)
        designs = designs or {}
        U, M, Z = (designs.get(k, getattr(self, k)) for k in ("U", "M", "Z"))
        beta = params[:self.k_beta]
        log_sv2 = self.V @ params[self.blocks["v"]]
        if self.scaling:
            log_h = Z @ params[self.blocks["scaling"]]
            h = np.exp(log_h)
            mu = params[self.blocks["tau"]][0] * h
            log_su2 = params[self.blocks["u"]][0] + 2 * log_h
        else:
            log_su2 = U @ params[self.blocks["u"]]
            if "mean" in self.blocks:
                mu = M @ params[self.blocks["mean"]]
            elif "mu" in self.blocks:
                mu = np.full(len(log_su2), params[self.blocks["mu"]][0])
            else:
                mu = np.zeros(len(log_su2))
        return beta, mu, np.exp(log_su2), np.exp(log_sv2)

    def _e(self, beta):
        return -self.sign * (self.endog - self.exog @ beta)

    # -- likelihood ------------------------------------------------------------
    def loglikeobs(self, params):
        beta, mu, a, b = self.parts(params)
        e = self._e(beta)
        s = a + b
        arg = (mu * b - e * a) / np.sqrt(a * b * s)
        value = -0.5 * np.log(s) - 0.5 * (e + mu) ** 2 / s - _LOG_SQRT_2PI + log_ndtr(arg)
        return value + (_LOG_2 if self.dist == "half-normal" and not self.scaling and "mu" not in self.blocks
                        and "mean" not in self.blocks else -log_ndtr(mu / np.sqrt(a)))

    def loglike(self, params):
        return float(np.sum(self.loglikeobs(params)))

    def score(self, params):
        return self._loglike_and_score(params)[1]

    def _loglike_and_score(self, params):
        """The log-likelihood and its analytic gradient: the record's derivatives in e, μ, log σu² (A) and
        log σv² (B), then the chain rule to each parameter block."""
        params = np.asarray(params, dtype=float)
        beta, mu, a, b = self.parts(params)
        e = self._e(beta)
        s = a + b
        d = np.sqrt(a * b * s)
        arg = (mu * b - e * a) / d
        log_cdf_arg = log_cdf(arg)
        la = np.exp(-0.5 * arg * arg - _LOG_SQRT_2PI - log_cdf_arg)       # Λ from the same log Φ
        r = (e + mu) / s
        value = np.sum(-0.5 * np.log(s) - 0.5 * (e + mu) * r - _LOG_SQRT_2PI + log_cdf_arg)
        half = self.dist == "half-normal" and not self.scaling and "mu" not in self.blocks and "mean" not in self.blocks
        d_e = -r - la * a / d
        d_mu = -r + la * b / d
        # derivatives in A = σu² and B = σv², then × A, × B for log A, log B
        d_a = -0.5 / s + 0.5 * r * r + la * (-e / d - arg * (s + a) / (2 * a * s))
        d_b = -0.5 / s + 0.5 * r * r + la * (mu / d - arg * (s + b) / (2 * b * s))
        if half:
            value += len(e) * _LOG_2
        else:
            c = mu / np.sqrt(a)
            log_cdf_c = log_cdf(c)
            lc = np.exp(-0.5 * c * c - _LOG_SQRT_2PI - log_cdf_c)
            value -= np.sum(log_cdf_c)
            d_mu = d_mu - lc / np.sqrt(a)
            d_a = d_a + lc * c / (2 * a)
        d_log_a, d_log_b = d_a * a, d_b * b
        grad = np.zeros_like(params)
        grad[:self.k_beta] = self.sign * (self.exog.T @ d_e)
        grad[self.blocks["v"]] = self.V.T @ d_log_b
        if self.scaling:
            # μ = τh, log A = log σu*² + 2 log h, log h = z'δ
            grad[self.blocks["scaling"]] = self.Z.T @ (d_mu * mu + 2 * d_log_a)
            grad[self.blocks["tau"]] = np.sum(d_mu * np.exp(self.Z @ params[self.blocks["scaling"]]))
            grad[self.blocks["u"]] = np.sum(d_log_a)
        else:
            grad[self.blocks["u"]] = self.U.T @ d_log_a
            if "mean" in self.blocks:
                grad[self.blocks["mean"]] = self.M.T @ d_mu
            elif "mu" in self.blocks:
                grad[self.blocks["mu"]] = np.sum(d_mu)
        return float(value), grad

    def hessian(self, params):
        """Differences of the analytic score (:func:`perfkit.quota.frontier.score_hessian`)."""
        return score_hessian(self.score, np.asarray(params, dtype=float), len(self.endog))

    # -- fitting ---------------------------------------------------------------
    def nested_homoscedastic(self) -> StochasticFrontier:
        """The homoscedastic frontier this model nests (constant σu, σv; one μ for the scaling model)."""
        if self.M is not None:
            return StochasticFrontier(self.endog, self.exog, cost=self.sign > 0, dist="truncated-normal",
                                      exog_inefficiency=self.M)
        dist = "truncated-normal" if self.scaling or "mu" in self.blocks else "half-normal"
        return StochasticFrontier(self.endog, self.exog, cost=self.sign > 0, dist=dist)

    def _from_homoscedastic(self, fitted: np.ndarray, restricted: StochasticFrontier,
                            mean_zero: bool = False) -> np.ndarray:
        """This model's parameters at the nested fit: β, μ or δ as fitted (0 with ``mean_zero``: ``fitted`` is
        then a half-normal's, padded), the variances' constants at the fitted log σu² and log σv², every other
        coefficient 0."""
        start = np.zeros(len(self.exog_names))
        start[:self.k_beta] = fitted[:self.k_beta]
        at = self.k_beta if mean_zero else restricted.i_sigma2          # where σ² and γ sit in ``fitted``
        sigma2, gamma = fitted[at], np.clip(fitted[at + 1], 1e-4, 1 - 1e-4)
        log_su2, log_sv2 = np.log(gamma * sigma2), np.log((1 - gamma) * sigma2)
        start[self.blocks["v"]] = self._constant_only(self.V, log_sv2)
        if self.scaling:
            start[self.blocks["tau"]] = 0.0 if mean_zero else fitted[restricted.i_gamma + 1]
            start[self.blocks["u"]] = log_su2
        else:
            start[self.blocks["u"]] = self._constant_only(self.U, log_su2)
            if mean_zero:
                pass                               # μ = 0, δ = 0
            elif "mean" in self.blocks:
                start[self.blocks["mean"]] = fitted[self.k_beta:restricted.i_sigma2]
            elif "mu" in self.blocks:
                start[self.blocks["mu"]] = fitted[restricted.i_gamma + 1]
        return start

    @staticmethod
    def _constant_only(design, level):
        """Coefficients that give ``level`` on every record: the constant column's, the others 0 (or, without
        a constant, the least-squares fit of the level)."""
        constant = np.flatnonzero((np.ptp(design, axis=0) == 0) & (design[0] != 0))
        coefficients = np.zeros(design.shape[1])
        if len(constant):
            coefficients[constant[0]] = level / design[0, constant[0]]
        else:
            coefficients = np.linalg.lstsq(design, np.full(len(design), level), rcond=None)[0]
        return coefficients

    def fit(self, start_params=None, maxiter=2000, disp=False, **kwargs):
        """Maximum likelihood from the fitted nested homoscedastic model (and ``start_params`` when given),
        the best point kept; it must reach the nested model's log-likelihood, or it says that it could not.

        Returns
        -------
        HeteroscedasticFrontierResults
        """
        restricted_model = self.nested_homoscedastic()
        # (on large data the restriction is fitted on the subsample first, for its maximum only)
        restricted = restricted_model._maximum()
        starts = [self._from_homoscedastic(np.asarray(restricted.params, dtype=float), restricted_model)]
        if not getattr(restricted, "mle_retvals", {}).get("converged", True):
            starts = []             # the nested fit stopped at its edge (μ → ±∞): no start for this model
        if restricted_model.dist == "truncated-normal":
            # the truncated normal's likelihood can run off to μ → −∞ (the exponential limit) or lie flat in μ:
            # start also from the half-normal (μ = 0) and from μ = ±σu of it, as the homoscedastic fit does
            half_model = StochasticFrontier(self.endog, self.exog, cost=self.sign > 0, dist="half-normal")
            half = np.asarray(half_model._maximum().params, dtype=float)
            at_zero = self._from_homoscedastic(np.r_[half, 0.0], restricted_model, mean_zero=True)
            sigma_u = float(np.sqrt(half[half_model.i_gamma] * half[half_model.i_sigma2]))
            starts.append(at_zero)
            level = self.blocks["tau"] if self.scaling else self.blocks.get("mu", self.blocks.get("mean"))
            for multiple in (-1.0, 1.0):
                shifted = at_zero.copy()
                shifted[level.start] = multiple * sigma_u
                starts.append(shifted)
            if self.scaling:       # the scale's direction is not known: start it both ways from μ = 0 too
                for sign in (-1.0, 1.0):
                    shifted = at_zero.copy()
                    shifted[self.blocks["scaling"]] = sign * 0.1
                    starts.append(shifted)
        if start_params is not None:
            starts.insert(0, np.asarray(start_params, dtype=float))
        if len(self.endog) > frontier.SCREEN_ROWS and len(starts) > 1:
            sub = self._on_rows(screen_rows(len(self.endog)))
            pairs = screened_starts(starts, lambda start: sub._screening_fit(start, maxiter), self.loglike)
        else:
            pairs = [(start, None) for start in starts]
        best = best_fit([lambda start=start, curvature=curvature: self._fit_from(start, maxiter, disp, curvature,
                                                                                 **kwargs)
                         for start, curvature in pairs])
        if best is None:
            raise ValueError("the heteroscedastic frontier could not be fitted from any start")
        return reaches(best, restricted.llf, "the homoscedastic model it nests")

    def _on_rows(self, rows: np.ndarray) -> "HeteroscedasticFrontier":
        """The same model on ``rows`` of the data."""
        return type(self)(self.endog[rows], self.exog[rows], cost=self.sign > 0, dist=self.dist,
                          u_design=None if self.scaling else self.U[rows], v_design=self.V[rows],
                          mean_design=None if self.M is None else self.M[rows],
                          scaling_design=self.Z[rows] if self.scaling else None)

    def _bfgs(self, start, maxiter, hess_inv0=None):
        """BFGS on the mean negative log-likelihood (every parameter is unbounded here) from ``start``."""
        scale = float(len(self.endog))

        def objective(params):
            value, grad = self._loglike_and_score(params)
            if not np.isfinite(value):
                return 1e10, np.zeros_like(params)
            return -value / scale, -grad / scale

        return minimize(objective, start, jac=True, method="BFGS",
                        options={"gtol": 1e-8, "maxiter": maxiter, "hess_inv0": hess_inv0})

    def _screening_fit(self, start, maxiter):
        """A start's optimum on the screening subsample, by BFGS alone, with BFGS's inverse Hessian there as
        the curvature to follow it from on all the data (see :meth:`StochasticFrontier._screening_fit`)."""
        found = self._bfgs(np.asarray(start, dtype=float), maxiter)
        return screening_fit(found.x, getattr(found, "hess_inv", None))

    def _fit_from(self, start, maxiter, disp, hess_inv0=None, **kwargs):
        found = self._bfgs(start, maxiter, hess_inv0)
        with warnings.catch_warnings():
            # no iteration here (maxiter=0): the results object at BFGS's optimum, with its Hessian
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted = super().fit(start_params=found.x, method="nm", maxiter=0, disp=disp, **kwargs)
        converged = bool(found.success or np.max(np.abs(found.jac)) < 1e-6)
        fitted.mle_retvals["converged"] = converged
        if not converged:
            warnings.warn(f"the optimiser stopped before the gradient vanished ({found.message})", ConvergenceWarning,
                          stacklevel=4)
        results = HeteroscedasticFrontierResults(self, fitted)
        warn_if_flat(results, list(self.exog_names), stacklevel=4)
        return LikelihoodResultsWrapper(results)

    @classmethod
    def from_formula(cls, formula, data, subset=None, drop_cols=None, *args, cost: bool = True,
                     dist: str = "half-normal", u_het: str | None = None, v_het: str | None = None,
                     mean: str | None = None, scaling: str | None = None, **kwargs):
        """A frontier from a formula and one-sided formulas for the parts that vary (``"~ size + C(region)"``;
        patsy adds the constant of ``u_het``, ``v_het`` and ``mean``; the scaling model's ``scaling`` has
        none)."""
        from patsy import dmatrix

        frame = data if subset is None else data.loc[subset]
        StochasticFrontier._refuse_unusable_rows(formula, frame)
        designs, names = {}, {}
        for key, spec in (("u", u_het), ("v", v_het), ("mean", mean), ("scaling", scaling)):
            if spec is None:
                continue
            if key == "scaling" and not spec.replace(" ", "").endswith("-1"):
                spec = f"{spec} - 1"
            matrix = dmatrix(spec, frame, NA_action="raise", return_type="dataframe")
            designs[f"{key}_design"] = matrix.to_numpy()
            names[key] = list(matrix.columns)
        if mean is not None:
            dist = "truncated-normal"
        return super().from_formula(formula, data, subset, drop_cols, *args, cost=cost, dist=dist, names=names,
                                    missing="raise", **designs, **kwargs)


class HeteroscedasticFrontierResults(GenericLikelihoodModelResults):
    """A fitted :class:`HeteroscedasticFrontier`: efficiencies, their parts and the marginal effects."""

    def __init__(self, model, mlefit):
        super().__init__(model, mlefit)

    def moments_of_u(self) -> pd.DataFrame:
        """Each record's μ, σu, σv and the mean and variance of u (``E_u``, ``V_u``)."""
        _, mu, a, b = self.model.parts(self.params)
        return pd.DataFrame({"mu": mu, "sigma_u": np.sqrt(a), "sigma_v": np.sqrt(b), **_u_moments(mu, np.sqrt(a))})

    def inefficiency(self) -> np.ndarray:
        """E[u | ε] of each record (Jondrow et al. 1982)."""
        mu_star, s_star = self._u_given_e()
        return mu_star + s_star * _mills(mu_star / s_star)

    def efficiency(self) -> np.ndarray:
        """E[exp(−u) | ε] of each record (Battese and Coelli 1988)."""
        mu_star, s_star = self._u_given_e()
        return np.exp(-mu_star + 0.5 * s_star**2 + log_ndtr(mu_star / s_star - s_star) - log_ndtr(mu_star / s_star))

    def _u_given_e(self):
        beta, mu, a, b = self.model.parts(self.params)
        e = self.model._e(beta)
        s = a + b
        return (mu * b - e * a) / s, np.sqrt(a * b / s)

    def marginal_effects(self, step: float = 1e-5) -> pd.DataFrame:
        """The mean over records of ∂E[u]/∂z and ∂V[u]/∂z for every variable of the u, mean and scaling
        designs (a variable in several designs moves in all of them), by centred differences of the exact
        moments; the constant and the columns of a category (their effect is a contrast, not a slope) are left
        out."""
        model = self.model
        effects = {}
        designs = {"u": ("U", model.U), "mean": ("M", model.M), "scaling": ("Z", model.Z)}
        names = {key: [n.split("_", 1)[1] for n in np.asarray(model.exog_names)[model.blocks[key]]]
                 for key in designs if key in model.blocks and designs[key][1] is not None}
        if model.scaling:
            names.pop("u", None)          # the scaling model's σu* is a level, not a design
        variables = dict.fromkeys(n for columns in names.values() for n in columns
                                  if n != "Intercept" and not n.startswith("C("))
        for variable in variables:
            places = [(key, columns.index(variable)) for key, columns in names.items() if variable in columns]
            first, j0 = places[0]
            values = designs[first][1][:, j0]
            width = step * np.maximum(1.0, np.abs(values))     # the same variable: the same values in each design
            moved = []
            for sign in (1.0, -1.0):
                shifted = {}
                for key, j in places:
                    attribute, design = designs[key]
                    copy = np.array(design, dtype=float)
                    copy[:, j] = values + sign * width
                    shifted[attribute] = copy
                _, mu, a, _ = model.parts(self.params, shifted)
                moved.append(_u_moments(mu, np.sqrt(a)))
            effects[variable] = {k: float(np.mean((moved[0][k] - moved[1][k]) / (2 * width))) for k in ("E_u", "V_u")}
        return pd.DataFrame.from_dict(effects, orient="index", columns=["E_u", "V_u"]).rename_axis("variable")

    def summary(self, title=None, alpha=0.05):
        return super().summary(title=title or f"Heteroscedastic stochastic {'cost' if self.model.sign > 0 else 'production'} "
                                              f"frontier ({'scaling model' if self.model.scaling else self.model.dist})",
                               alpha=alpha)


def _u_moments(mu, sigma_u) -> dict:
    """E[u] and V[u] of u ~ N⁺(μ, σu²): μ + σu Λ(a) and σu²(1 − Λ(a)(Λ(a) + a)), a = μ/σu."""
    ratio = mu / sigma_u
    lam = _mills(ratio)
    return {"E_u": mu + sigma_u * lam, "V_u": sigma_u**2 * (1 - lam * (lam + ratio))}


__all__ = ["HeteroscedasticFrontier", "HeteroscedasticFrontierResults"]
