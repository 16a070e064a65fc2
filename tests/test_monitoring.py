"""In-year monitoring: hand-built histories, lights, actions, the Q4 case and missing data."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import perfkit
from perfkit.monitoring import (city_profile, completion_likelihood, decide_action, monitor,
                                MonitoringResult, traffic_light)
from perfkit.reports import run_report
from perfkit.rules import load_preset
from perfkit.text import render
from conftest import tiny_tables

RULES = load_preset().monitoring
# the city's path: cumulative execution rate at each month end, Q4-heavy
PROFILE = np.array([0.02, 0.05, 0.10, 0.15, 0.20, 0.30, 0.35, 0.40, 0.50, 0.60, 0.75, 0.95])
FACTORS = [0.8, 0.85, 0.9, 0.95, 1.0, 1.0, 1.05, 1.1, 1.15, 1.2]   # median 1.0


def _city() -> dict[str, pd.DataFrame]:
    """Ten history projects of 2024 on the profile (scaled), and five running projects of 2025."""
    frames = tiny_tables()
    projects, budgets, execution = [], [], []
    def add(project_id, year, rates, start="01-01"):
        projects.append(dict(project_id=project_id, program_id=project_id, unit_id="U2", name=f"项目{project_id}",
                             year=year, budget_type="general", direction="D1", category="regular", is_new=False,
                             start_date=pd.Timestamp(f"{year}-{start}"), end_date=pd.Timestamp(f"{year}-12-31")))
        budgets.append(dict(project_id=project_id, year=year, amount=10_000_000.0, adjusted_amount=None))
        for m, r in enumerate(rates, start=1):
            if not np.isnan(r):
                execution.append(dict(project_id=project_id, month=pd.Timestamp(year, m, 1) + pd.offsets.MonthEnd(0),
                                      spent_cumulative=round(r * 10_000_000, 2)))
    for k, f in enumerate(FACTORS):
        add(f"H{k}", 2024, PROFILE * f)
    nan6 = [np.nan] * 6
    add("A", 2025, [*PROFILE[:5], 0.28, *nan6])                      # Q4-heavy, on the city's path
    add("B", 2025, [*PROFILE[:5], 0.15, *nan6])                      # 15 points behind: yellow
    add("C", 2025, [0.01, 0.02, 0.02, 0.02, 0.02, 0.02, *nan6])      # stalled since March: red
    add("E", 2025, [np.nan, np.nan, np.nan, 0.05, 0.10, 0.14, *nan6], start="04-01")  # its own period
    add("D", 2025, [np.nan] * 12)                                    # no execution records at all
    frames["projects"] = pd.DataFrame(projects)
    frames["budgets"] = pd.DataFrame(budgets)
    frames["execution"] = pd.DataFrame(execution)
    frames["targets"] = frames["targets"].iloc[0:0]
    frames["actuals"] = frames["actuals"].iloc[0:0]
    return frames


@pytest.fixture(scope="module")
def city_store():
    store = perfkit.Store(":memory:")
    store.load_frames(_city())
    yield store
    store.close()


@pytest.fixture(scope="module")
def june(city_store):
    return monitor(city_store, "2025-06-30").table.set_index("project_id")


def test_expected_rate_is_the_citys_median_path(city_store):
    np.testing.assert_allclose(city_profile(city_store, 2025).to_numpy(), PROFILE, atol=1e-9)


def test_q4_heavy_project_is_not_flagged_in_june(june):
    a = june.loc["A"]
    assert a["time_progress"] == pytest.approx(181 / 365)       # half the year gone...
    assert a["execution_rate"] == pytest.approx(0.28)            # ...a quarter of the money spent...
    assert a["expected_rate"] == pytest.approx(0.30)             # ...which is what the city spends by June
    assert a["deviation"] == pytest.approx(-0.02)
    assert (a["light"], a["action"]) == ("green", "normal")


def test_yellow_and_red(june):
    b, c = june.loc["B"], june.loc["C"]
    assert b["deviation"] == pytest.approx(-0.15) and (b["light"], b["action"]) == ("yellow", "correct")
    assert c["deviation"] == pytest.approx(-0.28) and c["light"] == "red"
    assert c["stalled_months"] == 4 and "连续4个月无新增支出" in render(c["reasons"])
    assert c["action"] in ("rectify", "pause", "terminate") and c["forecast_high"] >= c["execution_rate"]


def test_own_period_is_compared_at_the_same_share_of_it(june):
    e = june.loc["E"]
    progress = (pd.Timestamp("2025-06-30") - pd.Timestamp("2025-04-01")).days + 1
    assert e["time_progress"] == pytest.approx(progress / 275)
    assert e["expected_rate"] == pytest.approx(PROFILE[round(progress / 275 * 12) - 1])   # month 4: 0.15
    assert e["light"] == "green"


def test_project_without_records_is_reported_not_dropped(june):
    d = june.loc["D"]
    assert np.isnan(d["execution_rate"]) and d["light"] == "red" and d["action"] == "rectify"
    assert "无预算执行记录" in render(d["reasons"])
    assert MonitoringResult(june.reset_index(), pd.Timestamp("2025-06-30")).headline["no_execution"] == 1


def test_forecast_interval_brackets_the_forecast(june):
    ok = june.dropna(subset=["forecast_rate"])
    assert (ok["forecast_low"] <= ok["forecast_rate"]).all() and (ok["forecast_rate"] <= ok["forecast_high"]).all()
    assert june.loc["A", "forecast_rate"] > june.loc["C", "forecast_rate"]


@pytest.mark.parametrize("deviation, light", [(0.05, "green"), (-0.10, "green"), (-0.1001, "yellow"),
                                               (-0.25, "yellow"), (-0.2501, "red"), (None, "red")])
def test_light_thresholds(deviation, light):
    assert traffic_light(deviation, RULES) == light


@pytest.mark.parametrize("light, stalled, high, behind, action", [
    ("green", 0, 0.95, float("nan"), "normal"),
    ("green", 0, 0.95, 0.5, "correct"),            # money on track, targets lagging
    ("yellow", 0, 0.9, float("nan"), "correct"),
    ("red", 0, 0.8, float("nan"), "rectify"),
    ("red", 0, 0.45, float("nan"), "pause"),
    ("red", 3, 0.25, float("nan"), "terminate"),
    ("red", 2, 0.25, float("nan"), "pause"),  # low forecast but not stalled long enough to terminate
    ("red", None, float("nan"), float("nan"), "rectify"),
])
def test_actions(light, stalled, high, behind, action):
    assert decide_action(light, stalled, high, behind, RULES) == action


@pytest.mark.parametrize("low, high, likelihood", [(0.92, 0.99, "certain"), (0.7, 0.95, "possible"),
                                                   (0.5, 0.89, "impossible")])
def test_completion_likelihood(low, high, likelihood):
    assert completion_likelihood(low, high, RULES) == likelihood


def test_monitor_before_the_first_month_end(city_store):
    with pytest.raises(ValueError, match="nothing to monitor yet"):
        monitor(city_store, "2025-01-15")


def test_demo_monitoring_and_summary(demo_store):
    result = monitor(demo_store, "2026-08-31")
    monitored = result.table
    projects = demo_store.query("SELECT count(*) AS n FROM projects WHERE year = 2026")["n"].iloc[0]
    assert len(monitored) == projects                                 # every project, none dropped
    assert set(monitored["light"]) == {"green", "yellow", "red"}
    summary = result.summary()
    assert summary["projects"].sum() == projects
    headline = result.headline
    assert headline["rectify_projects"] == summary.loc[["rectify", "pause"], "projects"].sum()
    assert monitored["key_project"].any()
    unit = monitored["unit_id"].iloc[0]
    assert set(monitor(demo_store, "2026-08-31", unit=unit).table["unit_id"]) <= set(monitored["unit_id"])


@pytest.mark.notebook
def test_monitoring_notebook(demo_store_path, tmp_path):
    report = run_report("monitoring", {"as_of": "2026-08-31", "unit": "all", "store": str(demo_store_path)},
                        output_dir=tmp_path)
    html = report.html.read_text(encoding="utf-8")
    assert "绩效运行监控报告" in html and "截至2026年8月31日" in html and "需关注项目清单" in html
    assert html.count("jp-RenderedImage jp-OutputArea-output") == 1


def test_the_headline_is_worded_once_with_whole_counts(demo_store):
    from perfkit.reports.monitoring import headline_text, monitoring_view
    result = monitor(demo_store, "2026-08-31")
    sentence = headline_text(result)
    assert f"监控项目 {len(result.table)} 个" in sentence and ".0 个" not in sentence
    assert monitoring_view(demo_store, "2026-08-31").headline().data == sentence.strip()
    # one money unit in the sentence (every amount of the demo is above 1 亿元), the date in words
    assert "万元" not in sentence and sentence.count("亿元") == 3 and sentence.startswith("截至2026年8月31日")
    small = replace(result, table=result.table.head(3))          # three projects: amounts below 1 亿元
    assert "亿元" not in headline_text(small) and headline_text(small).count("万元") == 3
