"""The stochastic frontier against the reference implementation's published estimates.

Reference: R package ``frontier`` 1.1-8 (a port of Coelli's FRONTIER 4.1), see
tests/data/validation/README.md. Estimates must agree to 1e-4 relative.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.tools.numdiff import approx_hess3

from perfkit.quota import BoundaryWarning, StochasticFrontier, WrongSkewWarning, fit_frontier

DATA = Path(__file__).parent / "data" / "validation"
EXPECTED = json.loads((DATA / "expected.json").read_text())
RICE_FORMULA = "np.log(cost) ~ np.log(PROD) + np.log(AREA) + np.log(LABORP) + np.log(NPKP)"


@pytest.fixture(scope="module")
def front41():
    data = pd.read_csv(DATA / "front41Data.csv")
    return StochasticFrontier.from_formula("np.log(output) ~ np.log(capital) + np.log(labour)", data,
                                           cost=False).fit()


@pytest.fixture(scope="module")
def rice():
    data = pd.read_csv(DATA / "riceProdPhil.csv")
    data["cost"] = data["LABOR"] * data["LABORP"] + data["NPK"] * data["NPKP"]
    return data


@pytest.fixture(scope="module")
def rice_cost(rice):
    return StochasticFrontier.from_formula(RICE_FORMULA, rice, cost=True).fit()


def test_production_frontier_matches_frontier_4_1(front41):
    mle = EXPECTED["front41_production_halfnormal"]["mle"]
    np.testing.assert_allclose(front41.beta, mle["beta"], rtol=1e-4)
    np.testing.assert_allclose(front41.sigma_squared, mle["sigma_squared"], rtol=1e-4)
    np.testing.assert_allclose(front41.gamma, mle["gamma"], rtol=1e-4)
    np.testing.assert_allclose(front41.llf, mle["loglik"], rtol=1e-4)
    np.testing.assert_allclose(front41.lr_test()["statistic"], mle["lr_test_one_sided_error"], rtol=1e-4)
    ols = EXPECTED["front41_production_halfnormal"]["ols"]
    np.testing.assert_allclose(front41.model.ols().params, ols["beta"], rtol=1e-4)
    np.testing.assert_allclose(front41.llf_ols, ols["loglik"], rtol=1e-4)


def test_production_efficiencies_match(front41):
    expected = EXPECTED["front41_production_halfnormal"]["efficiency_battese_coelli"]
    eff = front41.efficiency()
    np.testing.assert_allclose([eff.mean(), eff[0], eff[34]],
                               [expected["mean"], expected["firm_1"], expected["firm_35"]], rtol=1e-4)
    assert np.all((eff > 0) & (eff <= 1))


def test_cost_frontier_matches_frontier_4_1(rice_cost):
    expected = EXPECTED["riceProdPhil_cost_halfnormal"]
    mle = expected["mle"]
    np.testing.assert_allclose(rice_cost.beta, mle["beta"], rtol=1e-4)
    np.testing.assert_allclose(rice_cost.sigma_squared, mle["sigma_squared"], rtol=1e-4)
    np.testing.assert_allclose(rice_cost.gamma, mle["gamma"], rtol=1e-4)
    np.testing.assert_allclose(rice_cost.llf, mle["loglik"], rtol=1e-4)
    np.testing.assert_allclose(rice_cost.model.ols().params, expected["ols"]["beta"], rtol=1e-4)
    np.testing.assert_allclose(rice_cost.efficiency().mean(), expected["efficiency"]["mean_E_exp_minus_u"], rtol=1e-4)
    np.testing.assert_allclose(rice_cost.efficiency(minus_u=False).mean(), expected["efficiency"]["mean_E_exp_u"],
                               rtol=1e-4)


def test_standard_errors_come_from_the_exact_hessian(front41, rice_cost):
    """Our standard errors invert the exact Hessian (checked against finite differences of the
    log-likelihood to 1e-4). FRONTIER 4.1 inverts its quasi-Newton approximation of the Hessian,
    so the published standard errors differ from the exact ones by up to 0.3%."""
    for res, key in ((front41, "front41_production_halfnormal"), (rice_cost, "riceProdPhil_cost_halfnormal")):
        numeric = np.sqrt(np.diag(np.linalg.inv(-approx_hess3(np.asarray(res.params), res.model.loglike))))
        np.testing.assert_allclose(res.bse, numeric, rtol=1e-4)
        published = EXPECTED[key]["mle"]["beta_se"]
        np.testing.assert_allclose(res.bse[: len(published)], published, rtol=5e-3)


def test_results_carry_the_named_quantities(rice_cost):
    assert list(rice_cost.params.index[-2:]) == ["sigma2", "gamma"]
    assert rice_cost.sigma_u == pytest.approx(np.sqrt(rice_cost.gamma * rice_cost.sigma_squared))
    assert rice_cost.sigma_v == pytest.approx(np.sqrt((1 - rice_cost.gamma) * rice_cost.sigma_squared))
    assert rice_cost.lambda_ == pytest.approx(rice_cost.sigma_u / rice_cost.sigma_v)
    text = str(rice_cost.summary())
    assert "Stochastic cost frontier (half-normal)" in text and "sigma_u" in text and "LR test" in text
    jlms = rice_cost.efficiency(kind="jlms")
    assert np.all((jlms > 0) & (jlms <= 1)) and abs(jlms.mean() - rice_cost.efficiency().mean()) < 0.02
    lr = rice_cost.lr_test()
    assert lr["statistic"] == pytest.approx(2 * (rice_cost.llf - rice_cost.llf_ols))
    # mixed chi-square: half the chi2(1) tail
    assert lr["p_value"] == pytest.approx(0.5 * __import__("scipy").stats.chi2.sf(lr["statistic"], 1))


def test_truncated_normal_has_no_interior_maximum_on_the_rice_data(rice):
    """The published truncated-normal estimate (mu = -0.66) is not a maximum: the likelihood keeps
    rising as mu falls (towards the exponential limit). We warn, and beat the published likelihood."""
    published = EXPECTED["riceProdPhil_cost_truncnormal"]["mle"]
    model = StochasticFrontier.from_formula(RICE_FORMULA, rice, cost=True, dist="truncated-normal")
    at_published = model.loglike(np.r_[published["beta"], published["sigma_squared"], published["gamma"],
                                       published["mu"]])
    with pytest.warns(BoundaryWarning, match="no interior maximum") as said:
        res = model.fit()
    # the edge is said once, as the edge it is: not also as a ridge along μ
    assert not any("flat along mu" in str(w.message) for w in said)
    assert res.llf > at_published + 0.5
    exponential = StochasticFrontier.from_formula(RICE_FORMULA, rice, cost=True, dist="exponential").fit()
    assert abs(res.llf - exponential.llf) < 0.01


def test_truncated_normal_recovers_an_interior_mu():
    rng = np.random.default_rng(3)
    n = 4000
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    u = rng.normal(0.3, 0.3, 4 * n)
    u = u[u > 0][:n]
    y = X @ [1.0, 0.5] + rng.normal(0, 0.15, n) + u
    res = StochasticFrontier(y, X, cost=True, dist="truncated-normal").fit()
    np.testing.assert_allclose(res.beta, [1.0, 0.5], atol=0.06)
    assert res.mu == pytest.approx(0.3, abs=0.15) and res.sigma_u == pytest.approx(0.3, abs=0.08)


def test_exponential_recovers_simulated_parameters():
    rng = np.random.default_rng(1)
    n = 5000
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = X @ [2.0, 0.8] + rng.normal(0, 0.1, n) + rng.exponential(0.2, n)
    res = fit_frontier(y, X[:, 1], cost=True, dist="exponential")
    np.testing.assert_allclose(res.beta, [2.0, 0.8], atol=0.02)
    assert res.sigma_u == pytest.approx(0.2, abs=0.02) and res.sigma_v == pytest.approx(0.1, abs=0.02)


def test_wrong_skew_warns_and_falls_back_to_ols():
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(300), rng.normal(size=300)])
    y = X @ [1.0, 1.0] + rng.normal(0, 0.2, 300) - np.abs(rng.normal(0, 0.3, 300))  # production-like data
    with pytest.warns(WrongSkewWarning, match="wrong skew for a cost frontier"):
        res = StochasticFrontier(y, X, cost=True).fit()
    assert np.all(np.isfinite(res.beta))
    assert res.gamma < 1e-3


def test_bad_arguments():
    with pytest.raises(ValueError, match="dist must be one of"):
        StochasticFrontier(np.ones(5), np.ones((5, 1)), dist="gamma")
    with pytest.raises(ValueError, match="finite"):
        StochasticFrontier(np.array([1.0, np.nan, 2, 3, 4]), np.ones((5, 1)))


def test_truncated_normal_standard_errors_match_a_40_digit_hessian():
    """The truncated normal's Hessian (differences of the analytic score) against mpmath's at 40 digits."""
    mpmath = pytest.importorskip("mpmath")
    data = pd.read_csv(DATA / "front41Data.csv")
    res = StochasticFrontier.from_formula("np.log(output) ~ np.log(capital) + np.log(labour)", data, cost=False,
                                          dist="truncated-normal").fit()
    y = np.log(data["output"].to_numpy())
    X = np.column_stack([np.ones(len(data)), np.log(data[["capital", "labour"]].to_numpy())])
    mpmath.mp.dps = 40
    ys = [mpmath.mpf(float(v)) for v in y]
    xs = [[mpmath.mpf(float(v)) for v in row] for row in X]

    def loglike(*theta):          # production frontier: e = y − xβ = v − u
        b0, b1, b2, s, g, mu = theta
        su, sv, sigma = mpmath.sqrt(g * s), mpmath.sqrt((1 - g) * s), mpmath.sqrt(s)
        total = mpmath.mpf(0)
        for yi, (x0, x1, x2) in zip(ys, xs):
            e = yi - (b0 * x0 + b1 * x1 + b2 * x2)
            mu_star = (mu * sv**2 - e * su**2) / s
            s_star = su * sv / sigma
            total += (-mpmath.log(sigma) - mpmath.log(mpmath.sqrt(2 * mpmath.pi)) - ((e + mu) / sigma) ** 2 / 2
                      + mpmath.log(mpmath.ncdf(mu_star / s_star)) - mpmath.log(mpmath.ncdf(mu / su)))
        return total

    theta = [mpmath.mpf(float(v)) for v in np.asarray(res.params)]
    k = len(theta)
    hessian = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            order = [0] * k
            order[i] += 1
            order[j] += 1
            hessian[i, j] = hessian[j, i] = float(mpmath.diff(loglike, theta, tuple(order)))
    exact_se = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    np.testing.assert_allclose(np.asarray(res.bse), exact_se, rtol=1e-6)


def test_a_truncated_normal_fit_reaches_at_least_its_nested_half_normal():
    """Several starts (COLS, the fitted half-normal, a grid in μ): the best kept, never below the restriction."""
    import numpy as np

    from perfkit.quota.frontier import StochasticFrontier
    rng = np.random.default_rng(7)
    for seed_mu in (-0.5, 0.0, 0.6):
        n = 400
        x = rng.uniform(0, 2, n)
        X = np.column_stack([np.ones(n), x])
        u = np.abs(rng.normal(seed_mu, 0.4, n))
        y = 1 + 0.5 * x + rng.normal(0, 0.2, n) + u
        fit = StochasticFrontier(y, X, cost=True, dist="truncated-normal").fit()
        assert fit.llf >= fit.restricted_llf - 1e-6


def test_a_point_that_is_no_maximum_is_said():
    """A covariance that is not positive definite (a flat ridge) and μ running off to +∞ are warned, by name."""
    import types
    import warnings

    import numpy as np

    from perfkit.quota.frontier import BoundaryWarning, StochasticFrontier
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(50), rng.uniform(0, 1, 50)])
    model = StochasticFrontier(rng.normal(size=50), X, dist="truncated-normal")
    flat = types.SimpleNamespace(gamma=0.5, sigma_u=1.0, mu=150.0, bse=np.array([1, np.nan, 1, 1, 1.0]),
                                 normalized_cov_params=np.diag([1.0, -1e-3, 1.0, 1.0, 1.0]))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        model._check_maximum(flat)
    messages = [str(w.message) for w in said]
    assert any("flat along x1" in m and "not identified" in m for m in messages), messages
    assert any(issubclass(w.category, BoundaryWarning) and "mu → +∞" in str(w.message) for w in said)


def test_efficiency_intervals_and_the_mode_match_the_truncated_normal_of_u_given_e():
    """Horrace-Schmidt bounds: the quantiles of u | ε ~ N⁺(μ*, σ*²), checked with scipy's truncnorm (an
    independent implementation); the point estimate lies inside; the mode is exp(−max(μ*, 0))."""
    import numpy as np
    from scipy.stats import truncnorm

    from perfkit.quota.frontier import StochasticFrontier, conditional_moments
    rng = np.random.default_rng(3)
    n = 300
    x = rng.uniform(0, 2, n)
    X = np.column_stack([np.ones(n), x])
    y = 1 + 0.5 * x + rng.normal(0, 0.15, n) + np.abs(rng.normal(0, 0.3, n))
    for dist in ("half-normal", "truncated-normal", "exponential"):
        fit = StochasticFrontier(y, X, cost=True, dist=dist).fit()
        bounds = fit.efficiency_interval(0.90)
        mu_star, s_star = conditional_moments(fit._production_residuals(), fit.sigma_u, fit.sigma_v, fit.mu, dist)
        a = (0 - mu_star) / s_star
        expected_upper = np.exp(-truncnorm.ppf(0.05, a, np.inf, loc=mu_star, scale=s_star))
        expected_lower = np.exp(-truncnorm.ppf(0.95, a, np.inf, loc=mu_star, scale=s_star))
        np.testing.assert_allclose(bounds["upper"], expected_upper, rtol=1e-7)
        np.testing.assert_allclose(bounds["lower"], expected_lower, rtol=1e-7)
        assert ((bounds["lower"] <= bounds["efficiency"]) & (bounds["efficiency"] <= bounds["upper"])).all()
        np.testing.assert_allclose(fit.efficiency("mode"), np.exp(-np.maximum(mu_star, 0)))


def test_the_gamma_to_zero_warning_of_bc95_names_its_limit_model_not_ols():
    """With determinants of the mean, σu → 0 leaves u = max(z'δ, 0): the warning names that limit model and
    its log-likelihood, never 'the OLS regression' (issue 26, 3)."""
    import warnings

    rng = np.random.default_rng(5)
    n = 400
    data = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    data["y"] = 1.0 + 0.5 * data["x"] + rng.normal(scale=0.3, size=n)          # no inefficiency at all
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        res = StochasticFrontier.from_formula("y ~ x", data, inefficiency="~ z").fit()
    messages = [str(w.message) for w in said if issubclass(w.category, (BoundaryWarning, WrongSkewWarning))
                and "sigma_u = 0" in str(w.message)]
    assert res.gamma < 1e-3                  # at the edge: the limit model is named with its fit
    assert messages and all("u = max(z'delta, 0)" in m and "not the OLS regression" in m for m in messages)
    assert f"{res.llf:.4f}" in messages[0]
    assert not any("the frontier is the OLS regression" in str(w.message) for w in said)


def test_large_data_screen_their_starts_on_a_subsample_and_reach_the_same_maximum(monkeypatch):
    """Above SCREEN_ROWS records the truncated normal's and BC95's extra starts run on a subsample, the best
    followed on all the data from the subsample's curvature: the same maximum as every start on all the data
    (a flat μ ridge included: never lower), the nested restriction's log-likelihood reached and recorded."""
    import warnings

    import numpy as np
    from scipy import stats

    import perfkit.quota.frontier as frontier
    from perfkit.quota.frontier import SCREEN_ROWS, StochasticFrontier
    rng = np.random.default_rng(11)
    n = 3 * SCREEN_ROWS // 2
    x = rng.uniform(0, 2, n)
    X = np.column_stack([np.ones(n), x])
    z = np.column_stack([np.ones(n), rng.normal(0, 1, n)])
    cases = {"ridge": (1 + 0.5 * x + rng.normal(0, 0.2, n) + np.abs(rng.normal(0.3, 0.1, n)), None),
             "bc95": (1 + 0.5 * x + rng.normal(0, 0.1, n) + stats.truncnorm.rvs(
                 -(0.1 + 0.3 * z[:, 1]) / 0.2, np.inf, loc=0.1 + 0.3 * z[:, 1], scale=0.2, random_state=rng), z)}
    for name, (y, determinants) in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            screened = StochasticFrontier(y, X, dist="truncated-normal", exog_inefficiency=determinants).fit()
            monkeypatch.setattr(frontier, "SCREEN_ROWS", 10 * n)          # every start on all the data
            everywhere = StochasticFrontier(y, X, dist="truncated-normal", exog_inefficiency=determinants).fit()
            monkeypatch.setattr(frontier, "SCREEN_ROWS", SCREEN_ROWS)
        # never below (on a flat ridge the screened fit, followed from the subsample's curvature, may even end
        # higher than where BFGS from five starts on all the data stopped)
        assert screened.llf >= everywhere.llf - 1e-6, name
        assert screened.llf >= screened.restricted_llf - 1e-6
        assert screened.restricted_llf >= everywhere.restricted_llf - 1e-6, name
        if name == "bc95":                           # a well-identified maximum: the same point, the same errors
            assert screened.llf == pytest.approx(everywhere.llf, abs=1e-6)
            np.testing.assert_allclose(np.asarray(screened.params), np.asarray(everywhere.params), atol=1e-4)
            np.testing.assert_allclose(np.asarray(screened.bse), np.asarray(everywhere.bse), rtol=1e-3)


def test_the_large_sample_hessian_gives_the_extrapolated_standard_errors():
    """Above RICHARDSON_MAX_ROWS the Hessian is forward differences of the score (one score per parameter):
    its standard errors equal those of the centred, Richardson-extrapolated Hessian to 1e-5."""
    import numpy as np

    from perfkit.quota.frontier import RICHARDSON_MAX_ROWS, StochasticFrontier, score_hessian
    rng = np.random.default_rng(5)
    n = RICHARDSON_MAX_ROWS + 10_000
    X = np.column_stack([np.ones(n), rng.normal(3, 1, n), rng.normal(0, 0.3, n)])
    u = np.abs(rng.normal(0.2, 0.25, n))
    y = X @ [2.0, 0.9, 0.3] + rng.normal(0, 0.1, n) + u
    model = StochasticFrontier(y, X, cost=True, dist="truncated-normal")
    res = model.fit()
    params = np.asarray(res.params, dtype=float)
    forward = score_hessian(model.score, params, rows=n)
    extrapolated = score_hessian(model.score, params, rows=RICHARDSON_MAX_ROWS)
    se = [np.sqrt(np.diag(np.linalg.inv(-h))) for h in (forward, extrapolated)]
    np.testing.assert_allclose(se[0], se[1], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(res.bse), se[0], rtol=1e-12)
