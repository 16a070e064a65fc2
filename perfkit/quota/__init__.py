"""Cost-based budget quota standards (成本定额标准).

- :func:`unit_cost_standard`: mean, median, trimmed mean, percentile and the
  two-stage average (二次平均法) of unit costs, with outlier screening and
  :func:`bootstrap_interval`.
- :func:`fit_cost_model`: the same statistics after adjustment coefficients,
  log-linear and translog cost functions (OLS, RLM, quantile regression) and
  stochastic cost frontiers, all in one quota form.
- :class:`StochasticFrontier`: a statsmodels ``GenericLikelihoodModel`` (with ``inefficiency=``, the
  Battese and Coelli 1995 determinants of inefficiency); :class:`PanelFrontier`: Battese and Coelli
  (1992) and Pitt and Lee (1981) panel frontiers.
- :func:`build_standards` → :class:`StandardsTable` with ``cost_for``; :func:`build_all_standards` from a
  store, :func:`stored_standards` as saved in one.
- :func:`dea` (with slacks and peers), :func:`malmquist` and :func:`rank_agreement`: data envelopment
  analysis beside the frontier, by linear programming (scipy's HiGHS).
- :mod:`perfkit.quota.estimators`: scikit-learn estimators.
"""
# Submodules are imported when a name is first used (PEP 562): the command line and the report registry
# import this package without paying for statsmodels until a frontier or a cost model is asked for.
import importlib

_WHERE = {
    "GAMMA_AT_ZERO": "frontier", "BoundaryWarning": "frontier", "StochasticFrontier": "frontier",
    "StochasticFrontierResults": "frontier", "WrongSkewWarning": "frontier", "fit_frontier": "frontier",
    "PanelFrontier": "panel", "PanelFrontierResults": "panel",
    "METHODS": "models", "CostModel": "models", "deflate": "models", "fit_cost_model": "models",
    "StandardsTable": "standards", "build_standards": "standards", "build_all_standards": "standards",
    "stored_standards": "standards",
    "bootstrap_interval": "unit_cost", "screen_mask": "unit_cost", "two_stage_average": "unit_cost",
    "unit_cost_standard": "unit_cost",
    "cross_validate": "validation", "error_against_truth": "validation", "true_unit_cost": "validation",
    "year_stability": "validation",
    "HeteroscedasticFrontier": "heteroscedastic", "HeteroscedasticFrontierResults": "heteroscedastic",
    "DEAResult": "envelopment", "dea": "envelopment", "malmquist": "envelopment", "rank_agreement": "envelopment",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"perfkit.quota.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    if name in ("models", "frontier", "panel", "standards", "unit_cost", "validation", "estimators", "envelopment",
                "heteroscedastic"):
        return importlib.import_module(f"perfkit.quota.{name}")
    raise AttributeError(f"module 'perfkit.quota' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_WHERE])
