"""Quota standards: unit-cost statistics, cost models, standards tables, estimators and the demo truth."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

import perfkit
from perfkit import DataError, quota
from perfkit.quota.estimators import CostFunctionRegressor, FrontierRegressor

VALUES = np.array([80.0, 90, 100, 110, 120, 400])


def test_two_stage_average_by_hand():
    # x̄ = 150; values ≤ 150: 80..120, mean 100; standard = (150 + 100) / 2
    assert quota.two_stage_average(VALUES) == 125.0
    assert quota.unit_cost_standard(VALUES, "two_stage") == 125.0


def test_statistics_and_screening_by_hand():
    assert quota.unit_cost_standard(VALUES, "mean") == 150.0
    assert quota.unit_cost_standard(VALUES, "median") == 105.0
    assert quota.unit_cost_standard(VALUES, "percentile", q=0.4) == pytest.approx(100.0)
    assert quota.unit_cost_standard(VALUES, "trimmed_mean", trim=1 / 6) == pytest.approx(105.0)
    # IQR screen: Q1 = 92.5, Q3 = 117.5 → fences 55 and 155 drop 400
    assert quota.screen_mask(VALUES, "iqr").tolist() == [True] * 5 + [False]
    assert quota.unit_cost_standard(VALUES, "mean", screen="iqr") == 100.0
    assert quota.unit_cost_standard(VALUES, "two_stage", screen="robust_z") == pytest.approx((100 + 90) / 2)
    with pytest.raises(ValueError, match="q in \\(0, 1\\)"):
        quota.unit_cost_standard(VALUES, "percentile", q=40)
    with pytest.raises(ValueError, match="method must be one of"):
        quota.unit_cost_standard(VALUES, "mode")


def test_bootstrap_interval_brackets_the_standard():
    rng = np.random.default_rng(0)
    values = rng.lognormal(np.log(100), 0.2, 200)
    low, high = quota.bootstrap_interval(values, "two_stage", n_resamples=500)
    assert low < quota.unit_cost_standard(values, "two_stage") < high
    assert high - low < 15


@pytest.mark.parametrize("screen", [None, "iqr", "robust_z"])
def test_screening_of_many_samples_is_each_sample_screened_alone(screen):
    rng = np.random.default_rng(1)
    samples = rng.lognormal(np.log(100), 0.4, (50, 40))
    samples[3, :5] = [np.nan, np.inf, 1e6, -1.0, 0.0]     # non-finite values and outliers in one row
    samples[7] = 100.0                                       # MAD = 0: the robust z keeps every value
    rows = quota.screen_mask(samples, screen)
    assert rows.tolist() == [quota.screen_mask(sample, screen).tolist() for sample in samples]
    assert rows[7].all()


@pytest.mark.parametrize("method, q", [("two_stage", None), ("median", None), ("percentile", 0.4),
                                       ("trimmed_mean", None)])
def test_bootstrap_interval_is_scipys_on_the_one_sample_statistic(method, q):
    # the vectorised statistic must give scipy's interval for the plain one-sample statistic, to the bit
    from scipy import stats
    values = np.random.default_rng(2).lognormal(np.log(100), 0.3, 120)
    values[:3] = [900.0, 1000.0, 15.0]
    got = quota.bootstrap_interval(values, method, q=q, screen="iqr", n_resamples=300, seed=4)
    reference = stats.bootstrap((values,), lambda sample: quota.unit_cost_standard(sample, method, q=q, screen="iqr"),
                                vectorized=False, n_resamples=300, method="BCa",
                                random_state=np.random.default_rng(4)).confidence_interval
    assert got == (reference.low, reference.high)


@pytest.fixture(scope="module")
def city():
    frames = perfkit.datasets.make_demo(seed=0, n_indicators=293 * 6)
    return frames


def test_deflation_to_base_year():
    records = pd.DataFrame({"year": [2024, 2025], "cost": [100.0, 100.0]})
    got = quota.deflate(records, {2024: 100.0, 2025: 110.0}, 2025)
    assert got.tolist() == pytest.approx([110.0, 100.0])
    with pytest.raises(DataError, match="no price index for year\\(s\\) 2024"):
        quota.deflate(records, {2025: 110.0}, 2025)


def test_coefficients_recover_the_truth(city):
    records, truth = city["cost_records"], city["cost_truth"]
    direction = records["direction"].iloc[0]
    group = records[records["direction"] == direction]
    model = quota.fit_cost_model(group, "frontier", cost=quota.deflate(group, city["price_index"], 2025),
                                 reference={"region": "中心城区"})
    true = truth[(truth["direction"] == direction) & (truth["factor"] == "region")]
    for level, value in zip(true["level"], true["value"]):
        assert model.coefficients["region"][level] == pytest.approx(value, rel=0.05)


def test_frontier_standard_is_closer_to_the_truth_than_the_mean(city):
    records, truth = city["cost_records"], city["cost_truth"]
    errors = {}
    for method in ("mean", "two_stage", "frontier"):
        per_direction = []
        for direction, group in records.groupby("direction"):
            cost = quota.deflate(group, city["price_index"], 2025)
            model = quota.fit_cost_model(group, method, cost=cost)
            per_direction.append(quota.error_against_truth(model, group, truth))
        errors[method] = np.mean(per_direction)
    assert errors["frontier"] < errors["two_stage"] < errors["mean"]
    assert errors["frontier"] < 0.05


@pytest.mark.parametrize("method, options", [("ols", {}), ("rlm", {}), ("quantile", {"tau": 0.4}),
                                             ("ols", {"scale": "estimated"}),
                                             ("ols", {"scale": "estimated", "form": "translog"}),
                                             ("median", {}), ("percentile", {"q": 0.4})])
def test_every_method_gives_a_usable_model(city, method, options):
    group = city["cost_records"][city["cost_records"]["direction"] == city["cost_records"]["direction"].iloc[0]]
    model = quota.fit_cost_model(group, method, **options)
    cost = model.cost(group["quantity"].to_numpy(), group[["region", "grade"]])
    assert np.all(np.isfinite(cost)) and np.all(cost > 0)
    ratio = np.median(group["cost"].to_numpy() / cost)
    assert 0.7 < ratio < 1.6
    if options.get("scale") == "estimated":
        assert model.elasticity == pytest.approx(1.0, abs=0.1)  # the demo's true scale elasticity is 1


def test_quantile_standard_is_more_demanding_than_the_mean(city):
    group = city["cost_records"][city["cost_records"]["direction"] == city["cost_records"]["direction"].iloc[0]]
    assert (quota.fit_cost_model(group, "quantile", tau=0.3).basic_quota
            < quota.fit_cost_model(group, "ols").basic_quota)


def test_costs_given_apart_are_matched_to_their_records_by_label(city):
    group = city["cost_records"][city["cost_records"]["direction"] == city["cost_records"]["direction"].iloc[0]]
    deflated = group["cost"] * 1.1
    shuffled = deflated.sample(frac=1.0, random_state=0)          # the same costs, in another order
    for method in ("two_stage", "ols"):
        expected = quota.fit_cost_model(group, method, cost=deflated)
        got = quota.fit_cost_model(group, method, cost=shuffled)
        assert got.basic_quota == expected.basic_quota and got.coefficients == expected.coefficients


@pytest.fixture(scope="module")
def standards(city):
    return quota.build_standards(city["cost_records"], method="frontier", price_index=city["price_index"],
                                 directions=city["directions"])


def test_standards_table(standards, city):
    quotas = standards.quotas
    assert len(quotas) == city["cost_records"]["direction"].nunique()
    assert set(quotas["output_unit"]) >= {"公里", "万吨", "人"}
    assert (quotas["base_year"] == 2025).all() and (quotas["method"] == "frontier").all()
    assert quotas["validation_mape"].between(0, 0.5).all() and quotas["share_above"].between(0.5, 1).all()
    coefficients = standards.coefficients
    assert coefficients.groupby(["direction", "factor"])["coefficient"].apply(lambda c: (c == 1.0).sum()).eq(1).all()


def test_cost_for_a_request_by_hand(standards):
    road = standards.quotas.index[standards.quotas["direction_name"] == "道路养护"][0]
    model = standards.cost_model(road)
    expected = (12 * model.basic_quota * model.coefficients["region"]["近郊区"]
                * model.coefficients["grade"]["主干道"])
    assert standards.cost_for(12, direction=road, region="近郊区", grade="主干道") == pytest.approx(expected)
    index = standards.price_index
    assert standards.cost_for(12, direction=road, year=2026, region="近郊区", grade="主干道") == pytest.approx(
        expected * index[2026] / index[2025])


@pytest.mark.parametrize("call, message", [
    (dict(quantity=10, direction="D999"), "no standard for direction 'D999'"),
    (dict(quantity=10, region="近郊区"), "missing factor 'grade'"),
    (dict(quantity=10, region="火星", grade="主干道"), "unknown region level\\(s\\) 火星"),
    (dict(quantity=-1, region="近郊区", grade="主干道"), "quantity must be positive"),
    (dict(quantity=10, year=2031, region="近郊区", grade="主干道"), "no price index for 2031"),
])
def test_cost_for_bad_requests(standards, call, message):
    road = standards.quotas.index[standards.quotas["direction_name"] == "道路养护"][0]
    call.setdefault("direction", road)
    with pytest.raises(DataError, match=message):
        standards.cost_for(**call)


def test_excel_export_opens_with_chinese_headers(standards, tmp_path):
    path = standards.to_excel(tmp_path / "standards.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["定额标准", "调整系数"]
    sheet = book["定额标准"]
    headers = [c.value for c in sheet[1]]
    assert "基本定额（元/单位）" in headers and "测算方法" in headers
    assert sheet.cell(row=2, column=headers.index("测算方法") + 1).value == "随机成本前沿"
    assert sheet.max_row == len(standards.quotas) + 1


def test_store_round_trip(standards):
    with perfkit.Store(":memory:") as store:
        standards.to_store(store)
        again = quota.StandardsTable.from_store(store)
    pd.testing.assert_frame_equal(again.frame, standards.frame, check_dtype=False)
    assert again.price_index == standards.price_index


def test_build_standards_refuses_unknown_direction(city):
    with pytest.raises(DataError, match="no cost records for direction\\(s\\) D999"):
        quota.build_standards(city["cost_records"], "D999")


def test_cross_validation_schemes(city):
    group = city["cost_records"][city["cost_records"]["direction"] == city["cost_records"]["direction"].iloc[0]]
    cost = quota.deflate(group, city["price_index"], 2025)
    by_year = quota.cross_validate(group, "two_stage", cost=cost, scheme="year")
    assert by_year["n_folds"] == group["year"].nunique() and 0 < by_year["mape"] < 0.5
    by_hand = [quota.fit_cost_model(g, "two_stage", cost=cost.loc[g.index]).basic_quota
               for _, g in group.groupby("year")]
    assert quota.year_stability(group, "two_stage", cost=cost) == pytest.approx(
        np.std(by_hand, ddof=1) / np.mean(by_hand))


_CHECKS = parametrize_with_checks([CostFunctionRegressor(), CostFunctionRegressor(method="rlm"),
                                   CostFunctionRegressor(method="quantile", tau=0.4), FrontierRegressor()])
# The array-API check does not apply: the estimators compute with statsmodels on NumPy arrays.
_APPLICABLE = [p for p in _CHECKS.args[1] if "array_api" not in str(p)]


def _check_id(pair):
    estimator, check = pair
    return f"{estimator!r}-{getattr(check, 'func', check).__name__}"


@pytest.mark.parametrize(_CHECKS.args[0], _APPLICABLE, ids=[_check_id(p) for p in _APPLICABLE])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_estimators_in_a_pipeline_with_cross_validation(city):
    group = city["cost_records"][city["cost_records"]["direction"] == city["cost_records"]["direction"].iloc[0]]
    X, y = group[["quantity"]].to_numpy(), np.log(group["cost"].to_numpy())
    pipe = make_pipeline(FunctionTransformer(np.log), FrontierRegressor())
    scores = cross_val_score(pipe, X, y, cv=5, scoring="neg_mean_absolute_error")
    assert np.all(np.isfinite(scores))
    frontier = pipe.fit(X, y)[-1]
    assert frontier.coef_[0] == pytest.approx(1.0, abs=0.1)
    assert np.all(frontier.efficiency(np.log(X), y) <= 1)


def test_the_saved_price_index_is_data_never_code(standards):
    with perfkit.Store(":memory:") as store:
        standards.to_store(store)
        saved = store.query("SELECT DISTINCT _price_index FROM quota_standards")["_price_index"].iloc[0]
        assert json.loads(saved) == [[year, value] for year, value in sorted(standards.price_index.items())]
        store.con.execute("UPDATE quota_standards SET _price_index = '__import__(\"os\").getcwd()'")
        with pytest.raises(DataError, match="perfkit standards"):
            quota.StandardsTable.from_store(store)
