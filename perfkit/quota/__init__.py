"""Cost-based budget quota standards (成本定额标准).

- :func:`unit_cost_standard`: mean, median, trimmed mean, percentile and the
  two-stage average (二次平均法) of unit costs, with outlier screening and
  :func:`bootstrap_interval`.
- :func:`fit_cost_model`: the same statistics after adjustment coefficients,
  log-linear and translog cost functions (OLS, RLM, quantile regression) and
  stochastic cost frontiers, all in one quota form.
- :class:`StochasticFrontier`: a statsmodels ``GenericLikelihoodModel``.
- :func:`build_standards` → :class:`StandardsTable` with ``cost_for``.
- :mod:`perfkit.quota.estimators`: scikit-learn estimators.
"""
from perfkit.quota.frontier import (BoundaryWarning, StochasticFrontier, StochasticFrontierResults,
                                    WrongSkewWarning, fit_frontier)
from perfkit.quota import models
from perfkit.quota.models import METHODS, CostModel, deflate, fit_cost_model
from perfkit.quota.standards import StandardsTable, build_standards
from perfkit.quota.unit_cost import bootstrap_interval, screen_mask, two_stage_average, unit_cost_standard
from perfkit.quota.validation import cross_validate, error_against_truth, true_unit_cost, year_stability

__all__ = ["BoundaryWarning", "CostModel", "METHODS", "StandardsTable", "StochasticFrontier",
           "StochasticFrontierResults", "WrongSkewWarning", "bootstrap_interval", "build_standards",
           "cross_validate", "deflate", "error_against_truth", "fit_cost_model", "fit_frontier",
           "screen_mask", "true_unit_cost", "two_stage_average", "unit_cost_standard", "year_stability"]
