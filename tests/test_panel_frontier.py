"""Panel frontiers (Battese–Coelli 1992, Pitt–Lee 1981) and the determinants of inefficiency
(Battese–Coelli 1995) against FRONTIER 4.1 on the rice farms of the Philippines, and against an
independent likelihood written here in plain numpy/scipy."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from perfkit.quota import BoundaryWarning, StochasticFrontier, WrongSkewWarning
from perfkit.quota.panel import PanelFrontier

DATA = Path(__file__).parent / "data" / "validation"
EXPECTED = json.loads((DATA / "panel_expected.json").read_text())
FORMULA = "np.log(PROD) ~ np.log(AREA) + np.log(LABOR) + np.log(NPK)"


@pytest.fixture(scope="module")
def rice():
    return pd.read_csv(DATA / "riceProdPhil.csv")


def _fit(rice, model, dist):
    return PanelFrontier.from_formula(FORMULA, rice, entity="FMERCODE", time="YEARDUM", cost=False,
                                      model=model, dist=dist).fit()


@pytest.mark.parametrize("model, dist", [("pitt-lee", "half-normal"), ("pitt-lee", "truncated-normal"),
                                         ("bc92", "half-normal"), ("bc92", "truncated-normal")])
def test_panel_frontiers_match_frontier_4_1(rice, model, dist):
    expected = EXPECTED[f"{model} {dist}"]
    res = _fit(rice, model, dist)
    np.testing.assert_allclose(res.params.to_numpy(), expected["params"], atol=1e-4, rtol=0)
    assert res.llf == pytest.approx(expected["loglik"], abs=5e-3)
    assert res.efficiency().mean() == pytest.approx(expected["mean_efficiency"], abs=1e-5)
    if "se" in expected:    # FRONTIER's are from its DFP approximation of the Hessian: a few per cent off
        np.testing.assert_allclose(res.bse.to_numpy(), expected["se"], rtol=0.05)
    if "lr_one_sided" in expected:
        assert res.lr_test()["statistic"] == pytest.approx(expected["lr_one_sided"], abs=5e-3)


def test_bc92_efficiency_by_year_and_the_results_interface(rice):
    res = _fit(rice, "bc92", "half-normal")
    by_year = pd.Series(res.efficiency()).groupby(rice["YEARDUM"].to_numpy()).mean()
    np.testing.assert_allclose(by_year, EXPECTED["bc92 half-normal"]["efficiency_by_year"], atol=1e-5)
    assert len(res.efficiency(kind="bc")) == len(rice)                                  # one per row of the data
    assert list(res.params.index) == ["Intercept", "np.log(AREA)", "np.log(LABOR)", "np.log(NPK)", "sigma2",
                                      "gamma", "eta"]
    assert res.eta == pytest.approx(0.05891, abs=1e-4) and res.sigma_u > 0 and res.sigma_v > 0
    lr = res.lr_test_eta()
    assert lr["statistic"] == pytest.approx(2 * (res.llf - lr["llf_pitt_lee"]))
    assert lr["llf_pitt_lee"] == pytest.approx(EXPECTED["pitt-lee half-normal"]["loglik"], abs=5e-3)
    assert "eta" in str(res.summary()) and "Pitt-Lee" in str(res.summary())
    assert (res.efficiency(minus_u=False) >= 1).all() and (res.efficiency(kind="jlms") <= 1).all()


def _independent_loglike(theta, y, X, unit, t, dist, eta_free):
    """The Battese–Coelli (1992) likelihood unit by unit, written from the paper with a plain loop."""
    k = X.shape[1]
    beta, sigma2, gamma = theta[:k], theta[k], theta[k + 1]
    rest = list(theta[k + 2:])
    mu = rest.pop(0) if dist == "truncated-normal" else 0.0
    eta = rest.pop(0) if eta_free else 0.0
    if not (sigma2 > 0 and 0 < gamma < 1):
        return -np.inf
    su2, sv2 = gamma * sigma2, (1 - gamma) * sigma2
    total = 0.0
    for i in np.unique(unit):
        rows = unit == i
        e = y[rows] - X[rows] @ beta                       # production: e = v − η u
        h = np.exp(-eta * (t[rows] - t.max()))
        T = rows.sum()
        d = sv2 + su2 * h @ h
        mu_star = (mu * sv2 - su2 * h @ e) / d
        s2_star = sv2 * su2 / d
        total += (-T / 2 * np.log(2 * np.pi) - (T - 1) / 2 * np.log(sv2) - 0.5 * np.log(d)
                  - 0.5 * (e @ e / sv2 + mu**2 / su2 - mu_star**2 / s2_star)
                  + stats.norm.logcdf(mu_star / np.sqrt(s2_star)) - stats.norm.logcdf(mu / np.sqrt(su2)))
    return total


@pytest.mark.parametrize("dist", ["half-normal", "truncated-normal"])
def test_the_likelihood_and_its_maximum_match_an_independent_implementation(rice, dist):
    res = _fit(rice, "bc92", dist)
    y = np.log(rice["PROD"].to_numpy())
    X = np.column_stack([np.ones(len(rice)), np.log(rice[["AREA", "LABOR", "NPK"]].to_numpy())])
    unit, t = rice["FMERCODE"].to_numpy(), rice["YEARDUM"].to_numpy(float)
    theta = res.params.to_numpy()
    assert _independent_loglike(theta, y, X, unit, t, dist, True) == pytest.approx(res.llf, abs=1e-9)
    # scipy's Nelder–Mead on the independent likelihood, from a point away from ours, finds the same maximum
    start = theta * 1.05
    found = optimize.minimize(lambda p: -_independent_loglike(p, y, X, unit, t, dist, True), start,
                              method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 40000,
                                                             "maxfev": 40000})
    assert -found.fun == pytest.approx(res.llf, abs=1e-6)
    np.testing.assert_allclose(found.x, theta, atol=5e-4)


def test_determinants_of_inefficiency_match_frontier_4_1(rice):
    expected = EXPECTED["bc95 EDYRS BANRAT"]
    res = StochasticFrontier.from_formula(FORMULA, rice, cost=False, inefficiency="~ EDYRS + BANRAT - 1").fit()
    np.testing.assert_allclose(res.params.to_numpy(), expected["params"], atol=2e-4, rtol=0)
    assert res.llf == pytest.approx(expected["loglik"], abs=5e-3)
    assert res.lr_test()["statistic"] == pytest.approx(expected["lr_one_sided"], abs=5e-3)
    assert res.lr_test()["df"] == 3
    np.testing.assert_allclose(res.bse.to_numpy(), expected["se"], rtol=0.05)
    assert list(res.delta.index) == ["delta_EDYRS", "delta_BANRAT"]
    effects = res.marginal_effects()
    # more schooling and more rice land lower inefficiency: same signs as δ, damped by the truncation
    assert (np.sign(effects) == np.sign(res.delta)).all() and (effects.abs() < res.delta.abs()).all()


def test_determinants_with_a_constant_and_categories_on_a_cost_frontier():
    rng = np.random.default_rng(7)
    n = 3000
    frame = pd.DataFrame({"q": rng.lognormal(3, 0.5, n), "size": rng.normal(0, 1, n),
                          "region": rng.choice(["a", "b", "c"], n)})
    mean_u = 0.1 + 0.15 * frame["size"] + frame["region"].map({"a": 0.0, "b": 0.2, "c": -0.05})
    u = stats.truncnorm.rvs(-mean_u / 0.2, np.inf, loc=mean_u, scale=0.2, random_state=rng)
    frame["cost"] = np.exp(1.0 + 0.8 * np.log(frame["q"]) + rng.normal(0, 0.1, n) + u)
    res = StochasticFrontier.from_formula("np.log(cost) ~ np.log(q)", frame, cost=True,
                                          inefficiency="~ size + C(region)").fit()
    assert list(res.delta.index) == ["delta_Intercept", "delta_C(region)[T.b]", "delta_C(region)[T.c]",
                                     "delta_size"]
    np.testing.assert_allclose(res.delta.to_numpy(), [0.1, 0.2, -0.05, 0.15], atol=0.06)
    assert res.marginal_effects().index.tolist() == ["delta_C(region)[T.b]", "delta_C(region)[T.c]", "delta_size"]


def test_wrong_skew_message_says_what_the_likelihood_found():
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(300), rng.normal(size=300)])
    y = X @ [1.0, 1.0] + rng.normal(0, 0.2, 300) - np.abs(rng.normal(0, 0.3, 300))   # production-like data
    with pytest.warns(WrongSkewWarning) as caught:
        res = StochasticFrontier(y, X, cost=True, dist="exponential").fit()
    message = next(str(w.message) for w in caught if w.category is WrongSkewWarning)
    assert "wrong skew" in message
    if res.gamma < 1e-4:
        assert "maximum is at sigma_u = 0" in message
    else:
        assert "interior maximum" in message and "tends to 0" not in message


def test_a_tiny_gamma_gets_a_boundary_warning_and_the_inner_fit_stays_quiet():
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(400), rng.normal(size=400)])
    y = X @ [1.0, 0.5] + rng.normal(0, 0.2, 400) + np.abs(rng.normal(0, 0.01, 400))   # barely any u
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = StochasticFrontier(y, X, cost=True, dist="truncated-normal").fit()
    kinds = [w.category for w in caught]
    assert not any(issubclass(k, RuntimeWarning) for k in kinds), [str(w.message) for w in caught]
    assert len([k for k in kinds if k in (WrongSkewWarning, BoundaryWarning)]) <= 2     # not repeated by the inner fit
    if res.gamma < 1e-4:
        assert BoundaryWarning in kinds or WrongSkewWarning in kinds


def test_panel_arguments_are_checked(rice):
    with pytest.raises(ValueError, match="more than one row"):
        PanelFrontier.from_formula(FORMULA, pd.concat([rice, rice.iloc[:1]]), entity="FMERCODE", time="YEARDUM")
    with pytest.raises(ValueError, match="model must be"):
        PanelFrontier.from_formula(FORMULA, rice, entity="FMERCODE", time="YEARDUM", model="bc95")
    with pytest.raises(ValueError, match="no column"):
        PanelFrontier.from_formula(FORMULA, rice, entity="farm", time="YEARDUM")


def test_bc92_recovers_simulated_parameters():
    """A cost panel of 400 units over 6 years with u_it = exp(−η(t − T))·u_i, u_i half-normal."""
    rng = np.random.default_rng(11)
    units, years = 400, np.arange(2020, 2026)
    unit = np.repeat(np.arange(units), len(years))
    year = np.tile(years, units)
    u_i = np.abs(rng.normal(0, 0.3, units))
    eta = 0.1
    u = np.exp(-eta * (year - years.max())) * u_i[unit]
    log_q = rng.normal(3, 1, len(unit))
    frame = pd.DataFrame({"unit_id": unit, "year": year, "q": np.exp(log_q),
                          "cost": np.exp(1.0 + 0.9 * log_q + rng.normal(0, 0.1, len(unit)) + u)})
    res = PanelFrontier.from_formula("np.log(cost) ~ np.log(q)", frame, entity="unit_id", time="year",
                                     cost=True, model="bc92").fit()
    np.testing.assert_allclose(res.params[["Intercept", "np.log(q)"]], [1.0, 0.9], atol=0.04)
    assert res.eta == pytest.approx(eta, abs=0.03)
    assert res.sigma_u == pytest.approx(0.3, abs=0.05) and res.sigma_v == pytest.approx(0.1, abs=0.01)
    assert res.lr_test_eta()["p_value"] < 0.01
    # cost efficiency E[exp(−η_it u_i)] tracks the truth
    assert np.corrcoef(res.efficiency(), np.exp(-u))[0, 1] > 0.9


@pytest.mark.parametrize("model", ["bc92", "pitt-lee"])
@pytest.mark.parametrize("dist", ["half-normal", "truncated-normal"])
@pytest.mark.parametrize("cost", [True, False])
def test_panel_score_is_the_gradient_of_the_likelihood(model, dist, cost):
    """The analytic gradient against centred differences of the likelihood, on an unbalanced panel at
    parameters away from the optimum (where every term of the gradient counts)."""
    from statsmodels.tools.numdiff import approx_fprime
    rng = np.random.default_rng(3)
    unit, year = np.repeat(np.arange(25), 6), np.tile(np.arange(2019, 2025), 25)
    keep = rng.random(len(unit)) > 0.2
    unit, year = unit[keep], year[keep]
    X = np.column_stack([np.ones(len(unit)), rng.normal(size=len(unit))])
    y = X @ [1.0, 0.5] + rng.normal(0, 0.1, len(unit)) + np.abs(rng.normal(0, 0.3, 25))[unit]
    model_ = PanelFrontier(y, X, unit, year, cost=cost, model=model, dist=dist)
    for _ in range(3):
        params = np.r_[rng.normal(size=2), 0.1 + rng.random(), 0.1 + 0.8 * rng.random(),
                       rng.normal(0, 0.5, int(dist == "truncated-normal")),
                       rng.normal(0, 0.1, int(model == "bc92"))]
        value, score = model_.loglike_and_score(params)
        assert value == pytest.approx(model_.loglike(params), rel=1e-12)
        numeric = approx_fprime(params, model_.loglike, centered=True)
        np.testing.assert_allclose(score, numeric, rtol=1e-6, atol=1e-6)


def test_panel_input_is_refused_clearly_never_guessed():
    """A missing unit id, a log(0) in a regressor and a single-period BC92 panel: each refused with its reason."""
    import numpy as np
    import pandas as pd

    from perfkit.quota.panel import PanelFrontier
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"unit_id": np.repeat([f"U{i}" for i in range(20)], 4), "year": np.tile([1, 2, 3, 4], 20),
                         "x": rng.uniform(1, 10, 80)})
    data["y"] = 1 + 0.5 * np.log(data["x"]) + rng.normal(0, 0.1, 80) + np.abs(rng.normal(0, 0.2, 80))
    broken = data.astype({"unit_id": object})
    broken.loc[5, "unit_id"] = np.nan
    with pytest.raises(ValueError, match="1 row\\(s\\) have no entity .*rows 5"):
        PanelFrontier.from_formula("y ~ np.log(x)", broken)
    numeric = data.assign(unit_id=np.repeat(np.arange(20.0), 4))
    numeric.loc[7, "unit_id"] = np.nan                                  # never one more unit
    with pytest.raises(ValueError, match="no entity"):
        PanelFrontier.from_formula("y ~ np.log(x)", numeric)
    zero = data.copy()
    zero.loc[9, "x"] = 0.0                                              # log(0) in a regressor: the row is named
    with pytest.raises(ValueError, match="rows 9"):
        PanelFrontier.from_formula("y ~ np.log(x)", zero)
    with pytest.raises(ValueError, match="two periods or more"):
        PanelFrontier.from_formula("y ~ np.log(x)", data[data["year"] == 1], model="bc92")


def test_panel_efficiency_intervals_hold_the_point_estimate():
    import numpy as np
    import pandas as pd

    from perfkit.quota.panel import PanelFrontier
    rng = np.random.default_rng(5)
    units, years = 30, 5
    u = np.repeat(np.abs(rng.normal(0, 0.3, units)), years)
    data = pd.DataFrame({"unit_id": np.repeat([f"U{i}" for i in range(units)], years),
                         "year": np.tile(np.arange(2021, 2021 + years), units), "x": rng.uniform(1, 10, units * years)})
    data["y"] = 1 + 0.6 * np.log(data["x"]) + rng.normal(0, 0.1, len(data)) + u
    fit = PanelFrontier.from_formula("y ~ np.log(x)", data, model="bc92").fit()
    bounds = fit.efficiency_interval(0.95)
    assert len(bounds) == len(data)
    assert ((bounds["lower"] <= bounds["efficiency"] + 1e-12) & (bounds["efficiency"] <= bounds["upper"] + 1e-12)).all()
    assert (fit.efficiency("mode") <= 1).all()


@pytest.mark.parametrize("dist", ["half-normal", "truncated-normal"])
def test_bc92_starts_from_its_fitted_pitt_lee_and_keeps_the_better_point(rice, dist):
    """Issue 26: a nested model starts from its fitted restriction; the fit kept is the best of the starts and
    reaches at least the restriction's log-likelihood (which lr_test_eta then reuses, never refits)."""
    model = PanelFrontier.from_formula(FORMULA, rice, entity="FMERCODE", time="YEARDUM", cost=False,
                                       model="bc92", dist=dist)
    res = model.fit()
    pitt_lee = model.pitt_lee_model().fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = model.fit(start_params=model._default_start()).llf
        nested = model.fit(start_params=np.r_[pitt_lee.params.to_numpy(), 0.0]).llf
    assert res.llf == pytest.approx(max(own, nested), abs=1e-9)
    assert res.llf >= pitt_lee.llf - 1e-9 and res.restricted_llf == pytest.approx(pitt_lee.llf, abs=1e-6)
    assert res.pitt_lee() is res._pitt_lee and res.lr_test_eta()["llf_pitt_lee"] == pytest.approx(pitt_lee.llf)


def test_bc95_starts_from_its_one_mean_restriction(rice):
    """BC95 with a constant in z nests the truncated normal with one μ: it starts there too and reaches it."""
    model = StochasticFrontier.from_formula(FORMULA, rice, cost=False, inefficiency="~ EDYRS + BANRAT")
    res = model.fit()
    restricted = model.nested_constant_mean()
    assert restricted.dist == "truncated-normal"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one_mean = restricted.fit()
    assert res.llf >= one_mean.llf - 1e-9 and res.restricted_llf == pytest.approx(one_mean.llf, abs=1e-9)
    no_constant = StochasticFrontier.from_formula(FORMULA, rice, cost=False, inefficiency="~ EDYRS + BANRAT - 1")
    assert no_constant.nested_constant_mean().dist == "half-normal"


def test_a_large_bc92_panel_screens_its_starts_on_whole_units_and_reaches_the_same_maximum(monkeypatch):
    """Above SCREEN_ROWS records a BC92 fit screens its two starts (COLS, the fitted Pitt–Lee) on a subsample of
    whole units and follows the better on all the data: the same maximum, point and standard errors as both
    starts run on all the data, and at least the Pitt–Lee log-likelihood."""
    import perfkit.quota.frontier as frontier
    from perfkit.quota.panel import screen_units

    rng = np.random.default_rng(21)
    units, periods = 3 * frontier.SCREEN_ROWS // 10, 5
    unit, year = np.repeat(np.arange(units), periods), np.tile(np.arange(2021, 2021 + periods), units)
    n = len(unit)
    X = np.column_stack([np.ones(n), rng.normal(3, 1, n)])
    u = np.abs(rng.normal(0, 0.25, units))[unit] * np.exp(-0.05 * (year - year.max()))
    y = X @ [2.0, 0.9] + rng.normal(0, 0.1, n) + u
    rows = screen_units(pd.factorize(unit)[0], units)
    assert np.all(np.bincount(unit[rows])[np.unique(unit[rows])] == periods)      # whole units only
    assert 0.5 * frontier.SCREEN_ROWS < len(rows) < 1.5 * frontier.SCREEN_ROWS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        screened = PanelFrontier(y, X, unit, year, model="bc92").fit()
        monkeypatch.setattr(frontier, "SCREEN_ROWS", 10 * n)              # both starts on all the data
        everywhere = PanelFrontier(y, X, unit, year, model="bc92").fit()
    assert screened.llf == pytest.approx(everywhere.llf, abs=1e-6)
    assert screened.llf >= screened.restricted_llf - 1e-6
    np.testing.assert_allclose(np.asarray(screened.params), np.asarray(everywhere.params), atol=1e-5)
    np.testing.assert_allclose(np.asarray(screened.bse), np.asarray(everywhere.bse), rtol=1e-3)
