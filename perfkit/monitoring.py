"""In-year "double monitoring" (绩效运行监控): budget execution and target completion, as of a date.

Execution is judged against what the city's own history says a project should
have spent by now (a Q4-heavy path), not against the calendar, so that a normal
December-heavy project is not flagged in June. A year-end forecast with a
prediction interval (OLS on past years' monthly paths) says how likely the
budget is to be spent; preset thresholds turn deviations into traffic lights
and actions (正常, 纠偏, 整改, 暂缓拨款, 终止), each with its reasons.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from perfkit.rules import load_preset
from perfkit.store import Store

ACTIONS = ("正常", "纠偏", "整改", "暂缓拨款", "终止")
COLUMNS = ["project_id", "unit_id", "unit_name", "name", "budget", "spent", "execution_rate", "time_progress",
           "expected_rate", "deviation", "forecast_rate", "forecast_low", "forecast_high", "likelihood",
           "target_completion", "stalled_months", "key_project", "light", "action", "reasons"]


def _monthly_rates(store: Store, years: list[int] | None = None, year: int | None = None) -> pd.DataFrame:
    """Execution rate (cumulative spending / budget in force) of each project at each month end, months 1-12
    carried forward over missing reports; one row per project, one column per month."""
    where = f"year(e.month) = {int(year)}" if year is not None else (
        f"year(e.month) IN ({', '.join(map(str, map(int, years)))})" if years else "TRUE")
    frame = store.query(f"""
        SELECT e.project_id, month(e.month) AS m, e.spent_cumulative / coalesce(b.adjusted_amount, b.amount) AS rate
        FROM execution e JOIN projects p USING (project_id)
        JOIN budgets b ON b.project_id = p.project_id AND b.year = p.year
        WHERE year(e.month) = p.year AND coalesce(b.adjusted_amount, b.amount) > 0 AND {where}""")
    wide = frame.pivot_table(index="project_id", columns="m", values="rate", aggfunc="last")
    return wide.reindex(columns=range(1, 13)).ffill(axis=1)


def expected_rate_profile(store: Store, before_year: int | None = None) -> pd.Series:
    """The city's typical execution rate at each month end: the median over the closed years (those with
    December records) before ``before_year``, or over all of them when ``before_year`` is None."""
    limit = "" if before_year is None else f"AND year(month) < {int(before_year)}"
    years = store.query(f"""SELECT DISTINCT year(month) AS y FROM execution
                            WHERE month(month) = 12 {limit}""")["y"].tolist()
    if not years:
        raise ValueError(f"no closed year{'' if before_year is None else f' before {before_year}'} "
                         f"to learn the spending profile from")
    history = _monthly_rates(store, years=years).dropna(subset=[12])
    return history.median().rename("expected_rate")


def _forecaster(store: Store, before_year: int, month: int):
    """OLS of the December rate on the rate at ``month``, its pace over the last three months and the trailing
    months without spending, fitted on the closed years before ``before_year``."""
    years = store.query(f"""SELECT DISTINCT year(month) AS y FROM execution
                            WHERE month(month) = 12 AND year(month) < {int(before_year)}""")["y"].tolist()
    history = _monthly_rates(store, years=years).dropna(subset=[month, 12])
    X = _features(history, month)
    return sm.OLS(history[12].to_numpy(), sm.add_constant(X, has_constant="add")).fit()


def _features(rates: pd.DataFrame, month: int) -> np.ndarray:
    """Rate now, its pace over the last three months, and trailing months without spending."""
    now = rates[month].fillna(0).to_numpy()
    before = rates[month - 3].fillna(0).to_numpy() if month > 3 else np.zeros(len(rates))
    stalled = [_stalled_months(row) for row in rates.loc[:, 1:month].to_numpy(dtype=float)]
    return np.column_stack([now, now - before, stalled])


def _stalled_months(path: np.ndarray) -> int:
    """Trailing months without new spending (a path of cumulative rates, NaN for months not reported)."""
    path = path[~np.isnan(path)]
    count = 0
    for later, earlier in zip(path[::-1], path[::-1][1:]):
        if later - earlier > 1e-9:
            break
        count += 1
    return count if len(path) > 1 or (len(path) == 1 and path[0] == 0) else 0


def traffic_light(deviation: float | None, rules: dict) -> str:
    """green if deviation ≥ the green threshold, yellow if ≥ the yellow one, else red; red without execution."""
    if deviation is None or np.isnan(deviation):
        return "red"
    if deviation >= rules["lights"]["green"]:
        return "green"
    return "yellow" if deviation >= rules["lights"]["yellow"] else "red"


def completion_likelihood(forecast_low: float, forecast_high: float, rules: dict) -> str:
    """确定能 when even the interval's lower bound reaches the completion target, 完全不可能 when even its
    upper bound falls short, else 有可能."""
    target = rules["completion_target"]
    if forecast_low >= target:
        return "确定能"
    return "完全不可能" if forecast_high < target else "有可能"


def decide_action(light: str, stalled_months: int | None, forecast_high: float, target_completion: float,
                  rules: dict) -> str:
    """The action a light calls for (``stalled_months`` None: no execution records).

    green → 正常 (纠偏 when targets lag); yellow → 纠偏; red → 终止 when stalled and even the forecast's
    upper bound is below ``terminate_forecast``, 暂缓拨款 when it is below ``pause_forecast``, else 整改.
    """
    if light == "green":
        lagging = not np.isnan(target_completion) and target_completion < rules["target_completion_min"]
        return "纠偏" if lagging else "正常"
    if light == "yellow":
        return "纠偏"
    if stalled_months is None:
        return "整改"
    if stalled_months >= rules["stall_months"] and forecast_high < rules["terminate_forecast"]:
        return "终止"
    return "暂缓拨款" if forecast_high < rules["pause_forecast"] else "整改"


def monitor(store: Store, as_of, preset="default", unit: str | None = None) -> pd.DataFrame:
    """Monitor every project of ``as_of``'s year (or one unit's, with its second-level units).

    Parameters
    ----------
    store : Store
    as_of : date-like
        The monitoring date; execution records of month ends up to it count.
    preset : str, path or dict
        Thresholds of the ``monitoring`` section.
    unit : str, optional
        A unit_id: only its projects and those of its second-level units.

    Returns
    -------
    DataFrame
        One row per project (projects without execution records included, with the
        reason): project_id, budget, spent, execution_rate, time_progress,
        expected_rate, deviation, forecast_rate (with forecast_low/high, the
        prediction interval), likelihood (确定能 / 有可能 / 完全不可能),
        target_completion, light (green/yellow/red), action, reasons.
    """
    rules = load_preset(preset)["monitoring"]
    as_of = pd.Timestamp(as_of)
    year = as_of.year
    month = as_of.month if as_of == as_of + pd.offsets.MonthEnd(0) else as_of.month - 1
    if month < 1:
        raise ValueError(f"{as_of.date()} is before the first month end of {year}: nothing to monitor yet")
    unit_filter = "" if unit is None else "AND (p.unit_id = $unit OR u.parent_id = $unit)"
    projects = store.query(f"""
        SELECT p.project_id, p.unit_id, u.name AS unit_name, p.name, p.start_date, p.end_date,
               coalesce(b.adjusted_amount, b.amount) AS budget
        FROM projects p JOIN units u USING (unit_id) LEFT JOIN budgets b ON b.project_id = p.project_id AND b.year = p.year
        WHERE p.year = $year {unit_filter} ORDER BY p.project_id""",
        {"year": year, **({"unit": unit} if unit else {})})
    rates = _monthly_rates(store, year=year).reindex(projects["project_id"])
    rates.loc[:, month + 1:] = np.nan  # months after the monitoring date do not count
    reported = set(store.query(f"""SELECT DISTINCT project_id FROM execution
                                   WHERE year(month) = {year} AND month <= ?""", [as_of])["project_id"])
    profile = expected_rate_profile(store, year)
    forecaster = _forecaster(store, year, month)
    level = rules["prediction_level"]
    features = sm.add_constant(_features(rates, month), has_constant="add")
    prediction = forecaster.get_prediction(features).summary_frame(alpha=1 - level)
    completion = target_completion(store, projects["project_id"].tolist(), as_of)

    rows = []
    for i, p in enumerate(projects.itertuples(index=False)):
        reasons = []
        has_execution = p.project_id in reported
        path = rates.loc[p.project_id, 1:month].to_numpy(dtype=float)
        rate = float(path[~np.isnan(path)][-1]) if has_execution and (~np.isnan(path)).any() else 0.0
        start, end = pd.Timestamp(p.start_date), pd.Timestamp(p.end_date)
        progress = float(np.clip(((as_of - start).days + 1) / ((end - start).days + 1), 0, 1))
        # a project with its own period is compared with the city's path at the same share of its period
        effective_month = month if start.month == 1 else int(np.clip(round(progress * 12), 1, 12))
        expected = float(profile.loc[effective_month])
        deviation = rate - expected
        if has_execution:
            forecast = max(float(prediction["mean"].iloc[i]), rate)
            low = max(float(prediction["obs_ci_lower"].iloc[i]), rate)
            high = max(float(prediction["obs_ci_upper"].iloc[i]), rate)
        else:
            forecast = low = high = np.nan
            reasons.append("无预算执行记录，无法判断执行进度")
        stalled = _stalled_months(path) if has_execution else month
        if has_execution and stalled >= rules["stall_months"]:
            reasons.append(f"连续{stalled}个月无新增支出")
        if has_execution and month == 12 and (~np.isnan(path)).sum() >= 2:
            december = path[-1] - path[~np.isnan(path)][-2]
            if rate > 0 and december / rate > rules["year_end_spike"]:
                reasons.append(f"12月支出占全年{december / rate:.0%}，年底突击花钱")
        if has_execution and np.any(np.diff(path[~np.isnan(path)]) < -1e-9):
            reasons.append("累计支出出现下降，需核实数据")
        missing_months = int(np.isnan(path).sum()) if has_execution else 0
        if missing_months:
            reasons.append(f"缺少{missing_months}个月的执行数据")
        key = bool(p.budget >= rules["key_project_budget"] and month >= rules["key_project_month"]
                   and rate <= rules["key_project_max_rate"])
        if key:
            reasons.append(f"预算{p.budget / 1e4:,.0f}万元，执行率{rate:.0%}，列入重点监控")
        light = traffic_light(deviation if has_execution else None, rules)
        if has_execution and light != "green":
            reasons.insert(0, f"执行率{rate:.1%}，低于全市同期{expected:.1%}（偏离{deviation:+.1%}）")
        likelihood = completion_likelihood(low, high, rules) if has_execution else "有可能"
        if likelihood == "完全不可能":
            reasons.append(f"预计年末执行率{forecast:.0%}（{level:.0%}区间上限{high:.0%}），难以完成预算")
        behind = completion.get(p.project_id, np.nan)
        if not np.isnan(behind) and behind < rules["target_completion_min"]:
            reasons.append(f"绩效目标完成进度为序时进度的{behind:.0%}")
        action = decide_action(light, stalled if has_execution else None, high, behind, rules)
        rows.append(dict(project_id=p.project_id, unit_id=p.unit_id, unit_name=p.unit_name, name=p.name,
                         budget=float(p.budget), spent=rate * float(p.budget) if has_execution else np.nan,
                         execution_rate=rate if has_execution else np.nan, time_progress=progress,
                         expected_rate=expected, deviation=deviation if has_execution else np.nan,
                         forecast_rate=forecast, forecast_low=low, forecast_high=high, likelihood=likelihood,
                         target_completion=behind, stalled_months=int(stalled), key_project=key, light=light,
                         action=action, reasons="；".join(reasons)))
    return pd.DataFrame(rows, columns=COLUMNS)


def target_completion(store: Store, project_ids: list[str], as_of) -> dict[str, float]:
    """Completion of each project's count targets to date against their pro-rated values.

    For quantitative, positive indicators counted in units (not %), the actual to
    date over target × time progress of the project's period, capped at 1.5, averaged.
    """
    frame = store.query("""
        SELECT t.project_id, t.target_value, a.actual_value, p.start_date, p.end_date
        FROM targets t JOIN indicators i USING (indicator_id) JOIN projects p ON p.project_id = t.project_id
        JOIN actuals a ON a.project_id = t.project_id AND a.indicator_id = t.indicator_id
        WHERE i.value_type = 'quantitative' AND i.polarity = 'positive' AND coalesce(i.measure_unit, '') <> '%'
          AND a.as_of <= ? AND t.target_value > 0 AND a.actual_value IS NOT NULL
          AND t.project_id IN (SELECT unnest(?::VARCHAR[]))""", [pd.Timestamp(as_of), project_ids])
    if frame.empty:
        return {}
    as_of = pd.Timestamp(as_of)
    start, end = pd.to_datetime(frame["start_date"]), pd.to_datetime(frame["end_date"])
    progress = (((as_of - start).dt.days + 1) / ((end - start).dt.days + 1)).clip(0.05, 1)
    ratio = (frame["actual_value"] / (frame["target_value"] * progress)).clip(upper=1.5)
    return ratio.groupby(frame["project_id"]).mean().to_dict()


def monitoring_summary(monitored: pd.DataFrame) -> pd.DataFrame:
    """Portfolio summary in the source programme's terms: projects, units and money by action."""
    grouped = monitored.groupby("action").agg(projects=("project_id", "count"), units=("unit_id", "nunique"),
                                              budget=("budget", "sum"))
    grouped = grouped.reindex(list(ACTIONS)).fillna(0).astype({"projects": int, "units": int})
    rectify = monitored[monitored["action"].isin(["整改", "暂缓拨款"])]
    terminate = monitored[monitored["action"] == "终止"]
    grouped.attrs["headline"] = {
        "rectify_units": int(rectify["unit_id"].nunique()), "rectify_projects": len(rectify),
        "rectify_money": float(rectify["budget"].sum()), "terminate_projects": len(terminate),
        "terminate_money": float(terminate["budget"].sum()),
        "no_execution": int(monitored["execution_rate"].isna().sum()),
    }
    return grouped
