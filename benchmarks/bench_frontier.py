"""Benchmark: the half-normal stochastic cost frontier against statsmodels OLS on the same data.

Run with ``make benchmark`` (or ``.venv/bin/python benchmarks/bench_frontier.py``).
Prints, for 10^5 and 10^6 synthetic records, the time to fit perfkit's
StochasticFrontier and statsmodels OLS, and how well the frontier recovers the
true parameters; then the time to build the quota standards of every demo direction.
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
    args = parser.parse_args()
    print(f"{'records':>10} {'OLS (s)':>9} {'frontier (s)':>13} {'ratio':>7} {'max |Δβ|':>9} "
          f"{'σu':>7} {'σv':>7} {'iterations':>11}")
    for n in args.sizes:
        y, X, beta = synthetic(n)
        _, t_ols = timed(lambda: sm.OLS(y, X).fit(), repeat=3)
        res, t_sf = timed(lambda: StochasticFrontier(y, X, cost=True).fit())
        iterations = f"{res.stage1.nit}+{res.mle_retvals.get('iterations', '?')}"
        print(f"{n:>10,} {t_ols:>9.2f} {t_sf:>13.2f} {t_sf / t_ols:>7.1f} "
              f"{np.max(np.abs(np.asarray(res.beta) - beta)):>9.4f} {res.sigma_u:>7.4f} {res.sigma_v:>7.4f} "
              f"{iterations:>11}")
    city = datasets.make_demo(seed=0, n_indicators=293 * 6)
    for method in ("two_stage", "frontier"):
        table, t_build = timed(lambda: build_standards(city["cost_records"], method=method,
                                                       price_index=city["price_index"],
                                                       directions=city["directions"]))
        print(f"standards of all {len(table.directions)} demo directions ({method}, with 5-fold validation): "
              f"{t_build:.2f} s")


if __name__ == "__main__":
    main()
