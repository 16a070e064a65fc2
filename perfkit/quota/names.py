"""The names of the quota methods, apart from the models (the command line needs them, not statsmodels)."""

STATISTIC_METHODS = ("mean", "median", "trimmed_mean", "percentile", "two_stage")
REGRESSION_METHODS = ("ols", "rlm", "quantile")
METHODS = STATISTIC_METHODS + REGRESSION_METHODS + ("frontier",)
