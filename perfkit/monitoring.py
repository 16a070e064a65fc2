"""In-year "double monitoring" (绩效运行监控): budget execution and target completion, as of a date.

Execution is judged against what the city's own history says a project should
have spent by now (a Q4-heavy path), not against the calendar, so that a normal
December-heavy project is not flagged in June. A year-end forecast with a
prediction interval (OLS on past years' monthly paths) says how likely the
budget is to be spent; preset thresholds turn deviations into traffic lights
and actions (正常, 纠偏, 整改, 暂缓拨款, 终止), each with its reasons.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfkit import queries
from perfkit.results import Result, make_record, missing_frame
from perfkit.rules import PresetLike, load_preset
from perfkit.rules.model import Monitoring
from perfkit.store import Store
from perfkit.text import note

#: Actions in order of severity (labels: 正常, 纠偏, 整改, 暂缓拨款, 终止 in the catalogue's ``values.action``).
ACTIONS = ("normal", "correct", "rectify", "pause", "terminate")
#: Likelihood of completing the budget (确定能, 有可能, 完全不可能).
LIKELIHOODS = ("certain", "possible", "impossible")
COLUMNS = ["project_id", "unit_id", "unit_name", "name", "budget", "spent", "execution_rate", "time_progress",
           "expected_rate", "deviation", "forecast_rate", "forecast_low", "forecast_high", "likelihood",
           "target_completion", "stalled_months", "key_project", "light", "action", "reasons"]


def expected_rate_profile(history: pd.DataFrame) -> pd.Series:
    """The city's typical execution rate at each month end: the median over the closed years' paths.

    Parameters
    ----------
    history : DataFrame
        Monthly execution rates of closed years' projects (:func:`perfkit.queries.monthly_rates`).
    """
    return history.dropna(subset=[12]).median().rename("expected_rate")


def city_profile(store: Store, before_year: int | None = None) -> pd.Series:
    """:func:`expected_rate_profile` of the closed years in the store (before ``before_year`` when given).

    Raises
    ------
    ValueError
        When there is no closed year to learn from.
    """
    years = queries.closed_years(store, before_year)
    if not years:
        raise ValueError(f"no closed year{'' if before_year is None else f' before {before_year}'} "
                         f"to learn the spending profile from")
    return expected_rate_profile(queries.monthly_rates(store, years))


def _forecaster(history: pd.DataFrame, month: int):
    """OLS of the December rate on the rate at ``month``, its pace over the last three months and the trailing
    months without spending, fitted on closed years' paths."""
    import statsmodels.api as sm  # imported when a forecast is made: a report kernel that needs none stays light

    history = history.dropna(subset=[month, 12])
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


def _rules(rules: Monitoring | PresetLike) -> Monitoring:
    return rules if isinstance(rules, Monitoring) else load_preset(rules).monitoring


def traffic_light(deviation: float | None, rules: Monitoring | PresetLike = "default") -> str:
    """green if deviation ≥ the green threshold, yellow if ≥ the yellow one, else red; red without execution."""
    rules = _rules(rules)
    if deviation is None or np.isnan(deviation):
        return "red"
    if deviation >= rules.lights.green:
        return "green"
    return "yellow" if deviation >= rules.lights.yellow else "red"


def completion_likelihood(forecast_low: float, forecast_high: float,
                          rules: Monitoring | PresetLike = "default") -> str:
    """``certain`` (确定能) when even the interval's lower bound reaches the completion target,
    ``impossible`` (完全不可能) when even its upper bound falls short, else ``possible`` (有可能)."""
    target = _rules(rules).completion_target
    if forecast_low >= target:
        return "certain"
    return "impossible" if forecast_high < target else "possible"


def decide_action(light: str, stalled_months: int | None, forecast_high: float, target_completion: float,
                  rules: Monitoring | PresetLike = "default") -> str:
    """The action a light calls for (``stalled_months`` None: no execution records), one of :data:`ACTIONS`.

    green → normal (纠偏 ``correct`` when targets lag); yellow → correct; red → ``terminate`` when stalled
    and even the forecast's upper bound is below ``terminate_forecast``, ``pause`` (暂缓拨款) when it is
    below ``pause_forecast``, else ``rectify`` (整改).
    """
    rules = _rules(rules)
    if light == "green":
        lagging = not np.isnan(target_completion) and target_completion < rules.target_completion_min
        return "correct" if lagging else "normal"
    if light == "yellow":
        return "correct"
    if stalled_months is None:
        return "rectify"
    if stalled_months >= rules.stall_months and forecast_high < rules.terminate_forecast:
        return "terminate"
    return "pause" if forecast_high < rules.pause_forecast else "rectify"


@dataclass
class MonitoringEvidence:
    """What monitoring as of a date rests on (see :func:`monitoring_evidence`)."""

    as_of: pd.Timestamp
    month: int
    projects: pd.DataFrame
    rates: pd.DataFrame
    reported: set
    #: monthly rates of the closed years before ``as_of``'s year: the city's profile and the forecast's data
    history: pd.DataFrame
    count_targets: pd.DataFrame


def _monitoring_month(as_of: pd.Timestamp) -> int:
    month = as_of.month if as_of == as_of + pd.offsets.MonthEnd(0) else as_of.month - 1
    if month < 1:
        raise ValueError(f"{as_of.date()} is before the first month end of {as_of.year}: nothing to monitor yet")
    return month


def monitoring_evidence(store: Store, as_of, unit: str | None = None) -> MonitoringEvidence:
    """The store's frames for monitoring as of ``as_of`` (one unit and its second-level units, or the city)."""
    as_of = pd.Timestamp(as_of)
    year, month = as_of.year, _monitoring_month(as_of)
    projects = queries.monitored_projects(store, year, unit)
    rates = queries.monthly_rates(store, [year]).reindex(projects["project_id"])
    profile_years = queries.closed_years(store, year)
    if not profile_years:
        raise ValueError(f"no closed year before {year} to learn the spending profile from")
    history = queries.monthly_rates(store, profile_years)
    return MonitoringEvidence(as_of=as_of, month=month, projects=projects, rates=rates,
                              reported=queries.reported_projects(store, year, as_of), history=history,
                              count_targets=queries.count_targets_to_date(store, projects["project_id"].tolist(),
                                                                          as_of))


@dataclass
class MonitoringResult(Result):
    """The double monitoring of a city's (or one unit's) projects as of a date.

    ``table`` has one row per project (:data:`COLUMNS`, see :func:`assess_execution`); ``summary()`` the
    projects, units and money by action; ``headline`` the figures of the report's opening sentence.
    A project without execution records is judged (it is behind) and listed in ``missing``; the
    monitoring itself is never a draft.
    """

    table: pd.DataFrame
    as_of: pd.Timestamp
    unit: str | None = None
    kind = "绩效运行监控"

    def summary(self) -> pd.DataFrame:
        """Projects, units and money (yuan) by action code, in :data:`ACTIONS` order."""
        return _by_action(self.table)

    @property
    def headline(self) -> dict:
        """Projects, money (yuan) and lights, the units, projects and money to rectify (rectify or pause) and
        to terminate, and the projects without execution records."""
        monitored = self.table
        lights = monitored["light"].value_counts()
        rectify = monitored[monitored["action"].isin(["rectify", "pause"])]
        terminate = monitored[monitored["action"] == "terminate"]
        return {
            "projects": len(monitored), "budget": float(monitored["budget"].sum()),
            **{light: int(lights.get(light, 0)) for light in ("green", "yellow", "red")},
            "rectify_units": int(rectify["unit_id"].nunique()), "rectify_projects": len(rectify),
            "rectify_money": float(rectify["budget"].sum()), "terminate_projects": len(terminate),
            "terminate_money": float(terminate["budget"].sum()),
            "no_execution": int(monitored["execution_rate"].isna().sum()),
        }

    @property
    def is_draft(self) -> bool:
        return False

    @property
    def missing(self) -> pd.DataFrame:
        """The projects without execution records as of the date."""
        rows = self.table[self.table["execution_rate"].isna()]
        return missing_frame([dict(subject=p, item="execution_rate", evidence="execution")
                              for p in rows["project_id"]])

    def record(self) -> dict:
        """The index row: the date (and unit); no score or rating."""
        subject = f"{self.as_of.date()}" + (f"-{self.unit}" if self.unit else "")
        return make_record(subject, None, None, False)

    def to_excel(self, path, lang: str = "zh"):
        """Write every project with its light, forecast and action, and the totals by action (万元)."""
        from perfkit.workbooks import monitoring_workbook

        return monitoring_workbook(self, path, lang)


def time_progress(as_of, start, end, floor: float = 0.0):
    """Share of a period elapsed on ``as_of`` (days, both ends counted), between ``floor`` and 1: the one
    time progress of monitoring and the project overview.

    ``start`` and ``end`` are timestamps or Series of them; ``as_of`` a timestamp or an index of them (the
    month ends of a year). Returns a float, a Series or an ndarray accordingly.
    """
    elapsed, period = as_of - start, end - start
    days = lambda delta: delta.dt.days if isinstance(delta, pd.Series) else delta.days  # noqa: E731
    share = (days(elapsed) + 1) / (days(period) + 1)
    if isinstance(share, pd.Series):
        return share.clip(floor, 1)
    if np.ndim(share) == 0:
        # min/max, not np.clip: on one number np.clip costs 90 µs, a third of monitoring's loop
        return min(max(share, floor), 1.0)
    return np.clip(np.asarray(share, dtype=float), floor, 1)


def monitor(store: Store, as_of, preset: PresetLike = "default", unit: str | None = None) -> MonitoringResult:
    """Monitor every project of ``as_of``'s year (or one unit's, with its second-level units).

    Parameters
    ----------
    store : Store
    as_of : date-like
        The monitoring date; execution records of month ends up to it count.
    preset : str, path, mapping or Preset
        Thresholds of the ``monitoring`` section.
    unit : str, optional
        A unit_id: only its projects and those of its second-level units.

    Returns
    -------
    MonitoringResult
        Its ``table`` is :func:`assess_execution`'s.
    """
    evidence = monitoring_evidence(store, as_of, unit)
    return MonitoringResult(assess_execution(evidence, preset), evidence.as_of, unit)


def assess_execution(evidence: MonitoringEvidence, preset: PresetLike = "default") -> pd.DataFrame:
    """Double monitoring of the evidence's projects.

    Returns
    -------
    DataFrame
        One row per project (projects without execution records included, with the
        reason): project_id, budget, spent, execution_rate, time_progress,
        expected_rate, deviation, forecast_rate (with forecast_low/high, the
        prediction interval), likelihood (certain / possible / impossible),
        target_completion, light (green/yellow/red), action (one of :data:`ACTIONS`),
        reasons (a tuple of :class:`perfkit.text.Message`).
    """
    import statsmodels.api as sm

    rules = load_preset(preset).monitoring
    as_of, month, projects = evidence.as_of, evidence.month, evidence.projects
    rates = evidence.rates.copy()
    rates.loc[:, month + 1:] = np.nan  # months after the monitoring date do not count
    reported = evidence.reported
    profile = expected_rate_profile(evidence.history)
    forecaster = _forecaster(evidence.history, month)
    level = rules.prediction_level
    features = sm.add_constant(_features(rates, month), has_constant="add")
    prediction = forecaster.get_prediction(features).summary_frame(alpha=1 - level)
    completion = target_completion(evidence.count_targets, as_of, rules)

    # plain arrays for the loop: a pandas lookup per project costs more than the judgement itself
    paths = rates.loc[:, 1:month].to_numpy(dtype=float)
    row_of = {project_id: row for row, project_id in enumerate(rates.index)}
    expected_at = {int(m): float(rate) for m, rate in profile.items()}
    predicted = {column: prediction[column].to_numpy(dtype=float)
                 for column in ("mean", "obs_ci_lower", "obs_ci_upper")}
    rows = []
    for i, p in enumerate(projects.itertuples(index=False)):
        reasons = []
        has_execution = p.project_id in reported
        path = paths[row_of[p.project_id]]
        rate = float(path[~np.isnan(path)][-1]) if has_execution and (~np.isnan(path)).any() else 0.0
        start, end = pd.Timestamp(p.start_date), pd.Timestamp(p.end_date)
        progress = time_progress(as_of, start, end)
        # a project with its own period is compared with the city's path at the same share of its period
        effective_month = month if start.month == 1 else min(max(round(progress * 12), 1), 12)
        expected = expected_at[effective_month]
        deviation = rate - expected
        if has_execution:
            forecast = max(float(predicted["mean"][i]), rate)
            low = max(float(predicted["obs_ci_lower"][i]), rate)
            high = max(float(predicted["obs_ci_upper"][i]), rate)
        else:
            forecast = low = high = np.nan
            reasons.append(note("no_execution_to_judge"))
        stalled = _stalled_months(path) if has_execution else month
        if has_execution and stalled >= rules.stall_months:
            reasons.append(note("stalled", months=int(stalled)))
        if has_execution and month == 12 and (~np.isnan(path)).sum() >= 2:
            december = path[-1] - path[~np.isnan(path)][-2]
            if rate > 0 and december / rate > rules.year_end_spike:
                reasons.append(note("year_end_spike", share=december / rate))
        if has_execution and np.any(np.diff(path[~np.isnan(path)]) < -1e-9):
            reasons.append(note("spending_falls"))
        missing_months = int(np.isnan(path).sum()) if has_execution else 0
        if missing_months:
            reasons.append(note("missing_months", months=missing_months))
        key = bool(p.budget >= rules.key_project_budget and month >= rules.key_project_month
                   and rate <= rules.key_project_max_rate)
        if key:
            reasons.append(note("key_project", budget=p.budget / 1e4, rate=rate))
        light = traffic_light(deviation if has_execution else None, rules)
        if has_execution and light != "green":
            reasons.insert(0, note("behind_city", rate=rate, expected=expected, deviation=deviation))
        likelihood = completion_likelihood(low, high, rules) if has_execution else "possible"
        if likelihood == "impossible":
            reasons.append(note("cannot_complete", forecast=forecast, level=level, high=high))
        behind = completion.get(p.project_id, np.nan)
        if not np.isnan(behind) and behind < rules.target_completion_min:
            reasons.append(note("targets_behind", completion=behind))
        action = decide_action(light, stalled if has_execution else None, high, behind, rules)
        rows.append(dict(project_id=p.project_id, unit_id=p.unit_id, unit_name=p.unit_name, name=p.name,
                         budget=float(p.budget), spent=rate * float(p.budget) if has_execution else np.nan,
                         execution_rate=rate if has_execution else np.nan, time_progress=progress,
                         expected_rate=expected, deviation=deviation if has_execution else np.nan,
                         forecast_rate=forecast, forecast_low=low, forecast_high=high, likelihood=likelihood,
                         target_completion=behind, stalled_months=int(stalled), key_project=key, light=light,
                         action=action, reasons=tuple(reasons)))
    return pd.DataFrame(rows, columns=COLUMNS)


def target_completion(count_targets: pd.DataFrame, as_of, rules: Monitoring | PresetLike = "default") -> dict[str, float]:
    """Completion of each project's count targets to date against their pro-rated values.

    For quantitative, positive indicators counted in units (not %) (see
    :func:`perfkit.queries.count_targets_to_date`), the actual to date over target × time
    progress of the project's period (at least the preset's ``min_progress``), each capped
    at ``completion_cap``, averaged per project.
    """
    rules = _rules(rules)
    frame = count_targets
    if frame.empty:
        return {}
    from perfkit.evaluation.scoring import completion

    progress = time_progress(pd.Timestamp(as_of), pd.to_datetime(frame["start_date"]),
                             pd.to_datetime(frame["end_date"]), floor=rules.min_progress)
    ratio = pd.Series(completion("positive", frame["target_value"] * progress, frame["actual_value"]),
                      index=frame.index).clip(upper=rules.completion_cap)
    return ratio.groupby(frame["project_id"]).mean().to_dict()


def _by_action(monitored: pd.DataFrame) -> pd.DataFrame:
    """Portfolio summary in the source programme's terms: projects, units and money by action code."""
    grouped = monitored.groupby("action").agg(projects=("project_id", "count"), units=("unit_id", "nunique"),
                                              budget=("budget", "sum"))
    return grouped.reindex(list(ACTIONS)).fillna(0).astype({"projects": int, "units": int})
