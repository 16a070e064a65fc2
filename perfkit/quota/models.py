"""Cost models behind a quota standard: one fitted form for every method.

Every method ends in the same shape, so that standards, validation and the
ex-ante assessment treat them alike::

    standard cost = basic quota × quantity × (quantity / q_ref)^(elasticity − 1) × Π coefficient(level)

in base-year prices. ``basic_quota`` is the cost of one unit of output at the
reference level of every factor and at the reference quantity ``q_ref``.

Methods
-------
mean, median, trimmed_mean, percentile, two_stage
    A statistic of unit costs, after dividing each by the adjustment
    coefficients of its factor levels (from a log-linear regression with unit
    elasticity), so that legitimate variation does not pass for inefficiency.
ols, rlm, quantile
    Log-linear (Cobb-Douglas) or translog cost function fitted by OLS (mean
    cost, with Duan's smearing factor), robust M-estimation (Huber) or quantile
    regression at ``tau``.
frontier
    Stochastic cost frontier (:class:`~perfkit.quota.frontier.StochasticFrontier`):
    the efficient cost, noise and inefficiency separated.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from perfkit.errors import DataError, Problem, reason
from perfkit.quota.frontier import StochasticFrontier
from perfkit.quota.unit_cost import screen_mask, unit_cost_standard

from perfkit.quota.names import METHODS, REGRESSION_METHODS, STATISTIC_METHODS  # noqa: E402,F401
FORMS = ("loglinear", "translog")
#: The factors that get adjustment coefficients unless a caller names others.
DEFAULT_FACTORS = ("region", "grade")


@dataclass
class CostModel:
    """A fitted cost model in the common quota form (see the module docstring)."""

    method: str
    basic_quota: float
    elasticity: float
    q_ref: float
    coefficients: dict[str, dict[str, float]]
    reference: dict[str, str]
    n: int
    n_screened_out: int = 0
    n_invalid: int = 0        # records refused before screening: quantity or cost missing or ≤ 0
    form: str = "loglinear"
    translog_q2: float = 0.0  # coefficient of ½(ln q − ln q_ref)² in the translog form
    detail: Any = None        # the statsmodels results behind the model, when there is one
    options: dict = field(default_factory=dict)

    def unit_cost(self, quantity, levels: pd.DataFrame | dict | None = None) -> np.ndarray:
        """Standard cost per unit of output for each quantity and its factor levels."""
        quantity = np.asarray(quantity, dtype=float)
        log_ratio = np.log(quantity / self.q_ref)
        log_unit = (np.log(self.basic_quota) + (self.elasticity - 1) * log_ratio
                    + 0.5 * self.translog_q2 * log_ratio**2)
        return np.exp(log_unit) * self.coefficient_product(levels, len(quantity))

    def cost(self, quantity, levels=None) -> np.ndarray:
        """Standard cost (base-year prices) for each quantity and its factor levels."""
        quantity = np.asarray(quantity, dtype=float)
        return quantity * self.unit_cost(quantity, levels)

    def coefficient_product(self, levels, n: int) -> np.ndarray:
        """Π of the adjustment coefficients of each row's factor levels."""
        if not self.coefficients:
            return np.ones(n)
        if levels is None:
            raise DataError(Problem("request", reason("factor_levels_needed", factors=", ".join(self.coefficients))))
        if isinstance(levels, dict):
            levels = pd.DataFrame(levels, index=range(n))
        codes = {}
        for factor, table in self.coefficients.items():
            if factor not in levels:
                raise DataError(Problem("request", reason("missing_factor", factor=factor, levels=", ".join(table)),
                                        column=factor))
            codes[factor] = np.unique(_as_text(levels[factor]), return_inverse=True)
            unknown = [str(level) for level in codes[factor][0] if level not in table]
            if unknown:
                raise DataError(Problem("request", reason("unknown_levels", factor=factor, levels=", ".join(unknown),
                                                          known=", ".join(table)), column=factor))
        return _coefficient_product(self.coefficients, codes, n)


def deflate(records: pd.DataFrame, price_index: pd.DataFrame | dict | None, base_year: int | None) -> pd.Series:
    """Costs in ``base_year`` prices: cost × index(base) / index(year)."""
    if price_index is None or base_year is None:
        return records["cost"].astype(float)
    index = _index_map(price_index)
    missing = sorted((set(records["year"].astype(int)) | {int(base_year)}) - set(index))
    if missing:
        raise DataError(Problem("price_index", reason("no_price_index_years", years=", ".join(map(str, missing))),
                                column="year"))
    return records["cost"].astype(float) * index[int(base_year)] / records["year"].astype(int).map(index)


def _index_map(price_index) -> dict[int, float]:
    if isinstance(price_index, dict):
        return {int(k): float(v) for k, v in price_index.items()}
    return {int(y): float(v) for y, v in zip(price_index["year"], price_index["index"])}


def _as_text(column) -> np.ndarray:
    """A factor column as an array of Python strings (as ``astype(str)`` spells its values)."""
    column = column if isinstance(column, pd.Series) else pd.Series(column)
    if isinstance(column.dtype, pd.StringDtype) and not column.hasnans:
        return column.to_numpy(dtype=object)          # already text: no cast, which costs more than the fit
    return column.astype(str).to_numpy(dtype=object)


def _factor_codes(levels: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each factor's sorted distinct levels and every row's position among them."""
    return {factor: np.unique(values, return_inverse=True) for factor, values in levels.items()}


def _coefficient_product(coefficients: dict[str, dict[str, float]], codes, n: int) -> np.ndarray:
    """Π of each row's coefficients, the rows given as positions among each factor's distinct levels."""
    product = np.ones(n)
    for factor, (distinct, position) in codes.items():
        product *= np.array([coefficients[factor][str(level)] for level in distinct], dtype=float)[position.ravel()]
    return product


def _design(codes, reference: dict[str, str]) -> tuple[np.ndarray, list[str]]:
    """Dummies of each factor, the reference level dropped, in a stable column order (sorted levels)."""
    columns, names = [], []
    for factor, (distinct, position) in codes.items():
        for index, level in enumerate(distinct):
            if level != reference[factor]:
                columns.append((position == index).astype(float))
                names.append(f"{factor}={level}")
    n = len(next(iter(codes.values()))[1]) if codes else 0
    return (np.column_stack(columns) if columns else np.empty((n, 0))), names


def _references(codes, reference) -> dict[str, str]:
    chosen = {}
    for factor, (distinct, position) in codes.items():
        if reference and factor in reference:
            if str(reference[factor]) not in distinct:
                raise DataError(Problem("cost_records", reason("reference_level_absent", level=reference[factor],
                                                               factor=factor), column=factor))
            chosen[factor] = str(reference[factor])
        else:  # the most common level, ties broken by name (the levels are sorted; argmax takes the first)
            chosen[factor] = str(distinct[np.argmax(np.bincount(position, minlength=len(distinct)))])
    return chosen


def _coefficients(params: dict[str, float], codes, reference) -> dict[str, dict[str, float]]:
    return {factor: {str(level): 1.0 if level == reference[factor] else float(np.exp(params[f"{factor}={level}"]))
                     for level in distinct}
            for factor, (distinct, _) in codes.items()}


def fit_cost_model(records: pd.DataFrame, method: str = "frontier", *, factors=DEFAULT_FACTORS,
                   cost: pd.Series | None = None, scale: str = "constant", form: str = "loglinear",
                   tau: float = 0.5, q: float | None = None, screen: str | None = "iqr",
                   reference: dict[str, str] | None = None, dist: str = "half-normal") -> CostModel:
    """Fit one cost model to cost records of one expenditure direction.

    Parameters
    ----------
    records : DataFrame
        Columns ``quantity``, ``cost`` (or give ``cost``) and the factor columns.
    method : str
        One of :data:`METHODS`.
    factors : sequence of str
        Categorical factors that become adjustment coefficients.
    cost : Series, optional
        Costs to use instead of ``records["cost"]`` (e.g. price-indexed ones).
    scale : {"constant", "estimated"}
        ``"constant"`` fixes the scale elasticity at 1 (a fixed cost per unit,
        as quota standards usually are); ``"estimated"`` fits it.
    form : {"loglinear", "translog"}
        Functional form in ln quantity (translog adds ½ ln² q; needs
        ``scale="estimated"``).
    tau : float
        Quantile for ``method="quantile"`` (e.g. 0.4 for an "advanced" standard).
    q : float
        Quantile for ``method="percentile"``.
    screen : {None, "iqr", "robust_z"}
        Outlier screening of log unit costs before fitting.
    reference : dict, optional
        Reference level of each factor (coefficient 1); default the most common.
    dist : str
        Inefficiency distribution for ``method="frontier"``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, not {form!r}")
    if form == "translog" and scale != "estimated":
        raise ValueError("form='translog' needs scale='estimated'")
    factors = [f for f in factors if f in records]
    # numpy from here on: the cost model is fitted hundreds of times per report (cross-validation, year
    # stability), on a few hundred records, where pandas' per-call overhead would be most of the time
    quantity = records["quantity"].to_numpy(dtype=float, na_value=np.nan)
    spent = (records["cost"] if cost is None else cost)
    if isinstance(spent, pd.Series) and not spent.index.equals(records.index):
        spent = spent.reindex(records.index)            # matched by label, as a column assignment would
    spent = np.asarray(spent.to_numpy(dtype=float, na_value=np.nan) if isinstance(spent, pd.Series) else spent,
                       dtype=float)
    with np.errstate(invalid="ignore"):
        valid = (quantity > 0) & (spent > 0)   # False for NaN too
    n_invalid = int((~valid).sum())
    quantity, spent = quantity[valid], spent[valid]
    log_unit = np.log(spent / quantity)
    kept = screen_mask(log_unit, screen)
    n_out = int((~kept).sum())
    quantity, spent, log_unit = quantity[kept], spent[kept], log_unit[kept]
    rows = np.flatnonzero(valid)[kept]
    if len(rows) < 5:
        raise DataError(Problem("cost_records", reason("too_few_records", n=len(rows))))
    codes = _factor_codes({f: _as_text(records[f])[rows] for f in factors})
    reference = _references(codes, reference)
    dummies, dummy_names = _design(codes, reference)
    q_ref = float(np.exp(np.log(quantity).mean()))  # the geometric mean quantity
    log_q = np.log(quantity / q_ref)
    common = dict(method=method, q_ref=q_ref, reference=reference, n=len(rows), n_screened_out=n_out,
                  n_invalid=n_invalid, form=form,
                  options=dict(scale=scale, tau=tau, q=q, screen=screen, dist=dist, factors=list(factors)))
    ones = np.ones((len(rows), 1))

    if method in STATISTIC_METHODS:
        if dummy_names:
            fitted = sm.OLS(log_unit, np.hstack([ones, dummies])).fit().params
            params = dict(zip(["const", *dummy_names], fitted))
        else:
            params = {"const": 0.0}
        coefficients = _coefficients(params, codes, reference)
        product = _coefficient_product(coefficients, codes, len(rows))
        model = CostModel(basic_quota=1.0, elasticity=1.0, coefficients=coefficients, **common)
        model.basic_quota = unit_cost_standard(spent / quantity / product, method=method, q=q, screen=None)
        return model

    # regressions and the frontier: ln C = a + b·ln(q/q_ref) [+ ½c·ln²] + Σγ, or ln(C/q) = a + Σγ
    names, columns = ["const"], [ones]
    if scale == "estimated":
        names.append("log_q")
        columns.append(log_q[:, None])
        if form == "translog":
            names.append("log_q2")
            columns.append(0.5 * log_q[:, None] ** 2)
        y = np.log(spent) - np.log(q_ref)   # so that exp(const) is a unit cost at q_ref
    else:
        y = log_unit
    X = pd.DataFrame(np.hstack([*columns, dummies]), columns=names + dummy_names)
    if method == "ols":
        detail = sm.OLS(y, X).fit()
        level = float(np.log(np.mean(np.exp(detail.resid))))  # Duan's smearing: the mean, not the median
    elif method == "rlm":
        detail = sm.RLM(y, X, M=sm.robust.norms.HuberT()).fit()
        level = 0.0
    elif method == "quantile":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # QuantReg's iteration notes on small samples
            detail = sm.QuantReg(y, X).fit(q=tau, max_iter=5000)
        level = 0.0
    else:
        detail = StochasticFrontier(y, X, cost=True, dist=dist).fit()
        level = 0.0
    params = dict(zip(X.columns, np.asarray(detail.params)[: X.shape[1]]))
    return CostModel(basic_quota=float(np.exp(params["const"] + level)),
                     elasticity=float(params["log_q"]) if scale == "estimated" else 1.0,
                     translog_q2=float(params["log_q2"]) if form == "translog" else 0.0,
                     coefficients=_coefficients(params, codes, reference), detail=detail, **common)
