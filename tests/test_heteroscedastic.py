"""Heteroscedastic and scaling frontiers: the likelihood against numerical integration of the convolution,
the score against differences, the homoscedastic special case against the validated StochasticFrontier,
simulated parameters recovered, and the marginal effects against their closed forms."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from statsmodels.tools.numdiff import approx_fprime

from perfkit.quota import HeteroscedasticFrontier, StochasticFrontier


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 2000
    d = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n), "w": rng.normal(size=n)})
    sigma_u = np.exp(0.5 * (-1.0 + 0.8 * d["z"]))
    sigma_v = np.exp(0.5 * (-2.0 + 0.5 * d["w"]))
    d["het"] = 1 + 0.5 * d["x"] + rng.normal(size=n) * sigma_v + np.abs(rng.normal(size=n)) * sigma_u
    u_star = stats.truncnorm.rvs(-0.3 / 0.4, np.inf, loc=0.3, scale=0.4, size=n, random_state=1)
    d["scaled"] = 1 + 0.5 * d["x"] + rng.normal(size=n) * 0.15 + np.exp(0.5 * d["z"]) * u_star
    # homoscedastic samples with an interior maximum: one mean, and Battese and Coelli's z'δ
    d["trunc"] = 1 + 0.5 * d["x"] + rng.normal(size=n) * 0.2 + \
        stats.truncnorm.rvs(-0.5 / 0.3, np.inf, loc=0.5, scale=0.3, size=n, random_state=2)
    mean = 0.2 + 0.3 * d["z"]
    d["bc95"] = 1 + 0.5 * d["x"] + rng.normal(size=n) * 0.2 + \
        stats.truncnorm.rvs(-mean / 0.3, np.inf, loc=mean, scale=0.3, size=n, random_state=3)
    return d


MODELS = {   # name → (from_formula keywords, a point to evaluate at)
    "half-normal, u and v het": (dict(u_het="~ z", v_het="~ w"), [1, .5, -1, .8, -2, .5]),
    "truncated, one mu, u het": (dict(dist="truncated-normal", u_het="~ z"), [1, .5, .3, -1, .8, -2]),
    "truncated, BC95 mean, both het": (dict(u_het="~ z", v_het="~ w", inefficiency="~ z"),
                                       [1, .5, .1, .2, -1, .8, -2, .5]),
    "scaling, v het": (dict(scaling="~ z", v_het="~ w"), [1, .5, .4, .3, -1, -2, .5]),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_the_score_is_the_gradient_and_the_likelihood_is_the_convolution(data, name):
    keywords, point = MODELS[name]
    model = StochasticFrontier.from_formula("het ~ x", data, **keywords)
    assert isinstance(model, HeteroscedasticFrontier)
    point = np.asarray(point, dtype=float)
    assert model.score(point) == pytest.approx(approx_fprime(point, model.loglike, centered=True), abs=1e-5)
    # each record's density of e = v − u by integrating over u, independent of the closed form
    beta, mu, a, b = model.parts(point)
    e = model._e(beta)
    for i in (0, 7, 1999):
        su, sv = np.sqrt(a[i]), np.sqrt(b[i])
        lower = -mu[i] / su
        f_u = stats.truncnorm(lower, np.inf, loc=mu[i], scale=su)
        density, _ = integrate.quad(lambda u: stats.norm.pdf(e[i] + u, scale=sv) * f_u.pdf(u), 0, np.inf,
                                    epsabs=1e-13, epsrel=1e-11)
        assert model.loglikeobs(point)[i] == pytest.approx(np.log(density), abs=1e-7), i


def test_with_constant_variances_it_is_the_validated_homoscedastic_frontier(data):
    for column, keywords in (("het", dict()), ("trunc", dict(dist="truncated-normal")),
                             ("bc95", dict(inefficiency="~ z"))):
        het = StochasticFrontier.from_formula(f"{column} ~ x", data, u_het="~ 1", v_het="~ 1", **keywords).fit()
        plain = StochasticFrontier.from_formula(f"{column} ~ x", data, **keywords).fit()
        assert het.llf == pytest.approx(plain.llf, abs=1e-6), keywords
        assert het.params.iloc[:2].to_numpy() == pytest.approx(plain.params.iloc[:2].to_numpy(), abs=1e-4)
        assert np.exp(het.params["u_Intercept"]) == pytest.approx(plain.sigma_u ** 2, rel=1e-3)
        assert het.efficiency() == pytest.approx(plain.efficiency(), abs=1e-5)


def test_simulated_parameters_are_recovered_and_the_nested_model_is_reached(data):
    res = StochasticFrontier.from_formula("het ~ x", data, u_het="~ z", v_het="~ w").fit()
    truth = {"Intercept": 1, "x": .5, "u_Intercept": -1, "u_z": .8, "v_Intercept": -2, "v_w": .5}
    for name, value in truth.items():
        assert abs(res.params[name] - value) < 3.5 * res.bse[name], name
    assert res.llf > res.restricted_llf and res.mle_retvals["converged"]
    scaled = StochasticFrontier.from_formula("scaled ~ x", data, scaling="~ z").fit()
    truth = {"Intercept": 1, "x": .5, "scale_z": .5, "tau": .3, "u_Intercept": np.log(.16), "v_Intercept": np.log(.0225)}
    for name, value in truth.items():
        assert abs(scaled.params[name] - value) < 3.5 * scaled.bse[name], name
    assert scaled.llf >= scaled.restricted_llf


def test_marginal_effects_match_their_closed_forms(data):
    """Half-normal with log σu² = z'γ: E[u] = σu √(2/π), so ∂E[u]/∂z = ½γ_z E[u] and ∂V[u]/∂z = γ_z V[u]."""
    res = StochasticFrontier.from_formula("het ~ x", data, u_het="~ z", v_het="~ w").fit()
    effects = res.marginal_effects()
    moments = res.moments_of_u()
    assert list(effects.index) == ["z"]                          # w moves only the noise: no effect on u
    assert effects.at["z", "E_u"] == pytest.approx(np.mean(0.5 * res.params["u_z"] * moments["E_u"]), rel=1e-6)
    assert effects.at["z", "V_u"] == pytest.approx(np.mean(res.params["u_z"] * moments["V_u"]), rel=1e-6)
    scaled = StochasticFrontier.from_formula("scaled ~ x", data, scaling="~ z").fit()
    # the scaling model: E[u] = h·E[u*], so ∂E[u]/∂z = δ E[u] and ∂V[u]/∂z = 2δ V[u]
    moments = scaled.moments_of_u()
    effects = scaled.marginal_effects()
    assert effects.at["z", "E_u"] == pytest.approx(np.mean(scaled.params["scale_z"] * moments["E_u"]), rel=1e-6)
    assert effects.at["z", "V_u"] == pytest.approx(np.mean(2 * scaled.params["scale_z"] * moments["V_u"]), rel=1e-6)


def test_bad_specifications_are_refused(data):
    with pytest.raises(ValueError, match="scale both"):
        HeteroscedasticFrontier(data["het"], np.c_[np.ones(len(data)), data["x"]], scaling_design=data[["z"]],
                                u_design=np.c_[np.ones(len(data)), data["z"]])
    with pytest.raises(ValueError, match="must not hold a constant"):
        HeteroscedasticFrontier(data["het"], np.c_[np.ones(len(data)), data["x"]],
                                scaling_design=np.ones((len(data), 1)))
    with pytest.raises(ValueError, match="needs dist='truncated-normal'"):
        HeteroscedasticFrontier(data["het"], np.c_[np.ones(len(data)), data["x"]], mean_design=data[["z"]])


def test_large_data_screen_the_starts_and_reach_the_maximum_of_every_start(monkeypatch):
    """Above SCREEN_ROWS records the scaling model's starts (and its nested truncated normal's) run on a
    subsample first and the best is followed on all the data: the maximum every start on all the data
    reaches, never lower, and the nested model's log-likelihood reached."""
    import warnings

    from perfkit.quota import frontier
    rng = np.random.default_rng(5)
    n = 3 * frontier.SCREEN_ROWS // 2
    x, z, w = rng.uniform(0, 2, n), rng.normal(0, 1, n), rng.normal(0, 1, n)
    u = np.exp(0.5 * z) * stats.truncnorm.rvs(-0.5, np.inf, loc=0.1, scale=0.2, size=n, random_state=rng)
    y = 1 + 0.5 * x + rng.normal(0, 1, n) * np.exp(0.5 * (-4.6 + 0.5 * w)) + u
    X, V = np.c_[np.ones(n), x], np.c_[np.ones(n), w]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        screened = HeteroscedasticFrontier(y, X, scaling_design=z[:, None], v_design=V).fit()
        monkeypatch.setattr(frontier, "SCREEN_ROWS", 10 * n)
        everywhere = HeteroscedasticFrontier(y, X, scaling_design=z[:, None], v_design=V).fit()
    assert screened.llf >= everywhere.llf - 1e-6
    assert screened.llf >= screened.restricted_llf - 1e-6
    np.testing.assert_allclose(np.asarray(screened.params), np.asarray(everywhere.params), atol=1e-4)
