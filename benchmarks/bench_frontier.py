"""Benchmark: perfkit's stochastic cost frontiers against a bare scipy fit of the same likelihood.

Run with ``make benchmark`` (or ``.venv/bin/python benchmarks/bench_frontier.py``).
For 10^5 and 10^6 synthetic records it times, in one run: statsmodels OLS; a *bare* scipy fit of the
half-normal (or truncated-normal) likelihood (BFGS with the value and analytic gradient from one
function, ``jac=True``, plus one Hessian by centred differences of that gradient for the standard
errors); and perfkit's ``StochasticFrontier(...).fit()`` followed by ``summary()``. It prints the ratio
and the largest difference between the two fits' parameters and standard errors; then the time to
build the quota standards of every demo direction.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import statsmodels.api as sm

from perfkit import datasets
from perfkit.quota import StochasticFrontier, build_standards


def synthetic(n: int, seed: int = 0):
    """ln C = 2 + 0.9 ln q + 0.3 ln w + 0.1·d + v + u, σv = 0.1, σu = 0.25 (half-normal)."""
    rng = np.random.default_rng(seed)
    log_q, log_w = rng.normal(3, 1, n), rng.normal(0, 0.3, n)
    dummy = (rng.random(n) < 0.4).astype(float)
    X = np.column_stack([np.ones(n), log_q, log_w, dummy])
    beta = np.array([2.0, 0.9, 0.3, 0.1])
    y = X @ beta + rng.normal(0, 0.1, n) + np.abs(rng.normal(0, 0.25, n))
    return y, X, beta


def bare_fit(y, X, dist):
    """The obvious alternative: the same likelihood in plain numpy, scipy's BFGS, one Hessian."""
    from scipy import optimize
    from scipy.special import expit, log_ndtr

    k = X.shape[1]
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    resid = y - X @ ols
    m2 = np.mean(resid**2)

    def unpack(theta):
        beta, s, g = theta[:k], theta[k], theta[k + 1]
        mu = theta[k + 2] if dist == "truncated-normal" else 0.0
        return beta, s, g, mu

    def value_and_grad(theta):        # cost frontier: production-form e = −(y − Xβ)
        beta, s, g, mu = unpack(theta)
        if not (s > 0 and 0 < g < 1):
            return np.inf, np.zeros_like(theta)
        e = -(y - X @ beta)
        d = np.sqrt(g * (1 - g) * s)
        a = (mu * (1 - g) - e * g) / d
        lca = log_ndtr(a)
        la = np.exp(-0.5 * a * a - 0.5 * np.log(2 * np.pi) - lca)
        r = (e + mu) / s
        ll = -0.5 * len(e) * np.log(s) - 0.5 * np.sum((e + mu) * r) + np.sum(lca)
        d_e = -r - la * g / d
        grad = [*(X.T @ d_e), np.sum(-0.5 / s + 0.5 * r**2 - la * a / (2 * s)),
                np.sum(la * ((-mu - e) / d - a * (1 - 2 * g) / (2 * g * (1 - g))))]
        if dist == "truncated-normal":
            b = mu / np.sqrt(g * s)
            lcb = log_ndtr(b)
            lb = np.exp(-0.5 * b * b - 0.5 * np.log(2 * np.pi) - lcb)
            ll -= len(e) * lcb
            grad[k] += len(e) * lb * b / (2 * s)
            grad[k + 1] += len(e) * lb * b / (2 * g)
            grad.append(np.sum(-r + la * (1 - g) / d) - len(e) * lb / np.sqrt(g * s))
        return -ll, -np.asarray(grad)

    def free_objective(z):               # log σ², logit γ: the same unbounded search as perfkit's
        theta = np.r_[z[:k], np.exp(z[k]), expit(z[k + 1]), z[k + 2:]]
        f, g = value_and_grad(theta)
        g = g.copy()
        g[k] *= theta[k]
        g[k + 1] *= theta[k + 1] * (1 - theta[k + 1])
        return f / len(y), g / len(y)

    start = np.r_[ols + np.sqrt(2 / np.pi) * np.sqrt(m2) * 0.5, np.log(m2), 0.0,
                  [0.0] if dist == "truncated-normal" else []]
    found = optimize.minimize(free_objective, start, jac=True, method="BFGS", options={"gtol": 1e-8})
    z = found.x
    theta = np.r_[z[:k], np.exp(z[k]), expit(z[k + 1]), z[k + 2:]]
    step = 1e-6 * np.maximum(np.abs(theta), 1e-2)
    hessian = np.empty((len(theta), len(theta)))
    for i in range(len(theta)):
        up, down = theta.copy(), theta.copy()
        up[i] += step[i]
        down[i] -= step[i]
        hessian[i] = -(value_and_grad(up)[1] - value_and_grad(down)[1]) / (2 * step[i])
    hessian = 0.5 * (hessian + hessian.T)
    return theta, np.sqrt(np.diag(np.linalg.inv(-hessian)))


def timed(fn, repeat: int = 1):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dists", nargs="+", default=["half-normal", "truncated-normal"])
    args = parser.parse_args()
    print(f"{'records':>10} {'distribution':>17} {'OLS':>6} {'bare scipy':>11} {'perfkit+summary':>16} {'ratio':>6} "
          f"{'max |Δθ|':>9} {'max |Δse|/se':>13} {'max |Δβ| true':>14}")
    for n in args.sizes:
        y, X, beta = synthetic(n)
        _, t_ols = timed(lambda: sm.OLS(y, X).fit(), repeat=3)
        for dist in args.dists:
            (theta, se), t_bare = timed(lambda: bare_fit(y, X, dist))

            def perfkit_fit():
                res = StochasticFrontier(y, X, cost=True, dist=dist).fit()
                res.summary()
                return res

            res, t_sf = timed(perfkit_fit)
            params, bse = np.asarray(res.params), np.asarray(res.bse)
            print(f"{n:>10,} {dist:>17} {t_ols:>6.2f} {t_bare:>11.2f} {t_sf:>16.2f} {t_sf / t_bare:>6.2f} "
                  f"{np.max(np.abs(params - theta)):>9.1e} {np.max(np.abs(bse - se) / se):>13.1e} "
                  f"{np.max(np.abs(params[:len(beta)] - beta)):>14.4f}", flush=True)
    city = datasets.make_demo(seed=0, n_indicators=293 * 6)
    for method in ("two_stage", "frontier"):
        table, t_build = timed(lambda: build_standards(city["cost_records"], method=method,
                                                       price_index=city["price_index"],
                                                       directions=city["directions"]))
        print(f"standards of all {len(table.directions)} demo directions ({method}, with 5-fold validation): "
              f"{t_build:.2f} s")


if __name__ == "__main__":
    main()
