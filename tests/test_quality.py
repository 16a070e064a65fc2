"""Judgements that follow from their figures: data-quality rules (待核实), ex-ante targets against the amount
requested, and a conditional support that says what to adjust — each class on constructed cases."""
from __future__ import annotations

import pandas as pd
import pytest

from perfkit.exante import assess
from perfkit.quality import project_quality
from perfkit.rules import load_preset
from perfkit.text import render
from test_exante import ALL_GOOD, GOOD_TARGETS, _request, standards  # noqa: F401  (the fixture)


def _targets(*rows):
    columns = ["name", "measure_unit", "polarity", "value_type", "target_value", "actual_value"]
    return pd.DataFrame(list(rows), columns=columns)


MET = ("服务人次", "人次", "positive", "quantitative", 1000.0, 980.0)


def test_targets_met_without_spending_are_to_verify():
    notes = project_quality(1_000_000, 19_000, 1.0, _targets(MET))
    assert [n.code for n in notes] == ["dq_targets_without_spending"]
    assert "未花钱而目标已完成" in render(notes) and "1.9%" in render(notes) and "待核实" in render(notes)


def test_execution_far_below_the_years_progress_is_to_verify():
    unmet = ("服务人次", "人次", "positive", "quantitative", 1000.0, 100.0)
    notes = project_quality(1_000_000, 190_000, 1.0, _targets(unmet))
    assert [n.code for n in notes] == ["dq_slow_execution"] and "19.0%" in render(notes)
    assert project_quality(1_000_000, 190_000, 0.30, _targets(unmet)) == ()     # in step with the year so far
    assert project_quality(1_000_000, 600_000, 1.0, _targets(unmet)) == ()      # above half the year's progress


def test_fractional_counts_of_whole_things_are_to_verify():
    fractional = ("服务机构", "家", "positive", "quantitative", 230.0, 225.49)
    notes = project_quality(1_000_000, 900_000, 1.0, _targets(fractional, MET))
    assert [n.code for n in notes] == ["dq_fractional"] and "服务机构 225.49 家" in render(notes)
    metres = ("道路", "公里", "positive", "quantitative", 10.0, 9.5)             # a length may be fractional
    assert project_quality(1_000_000, 900_000, 1.0, _targets(metres)) == ()


def test_the_rules_are_the_presets(tmp_path):
    (tmp_path / "bureau.yaml").write_text("extends: default\ndata_quality:\n  slow_share: 0.10\n", encoding="utf-8")
    preset = load_preset(tmp_path / "bureau.yaml")
    unmet = ("服务人次", "人次", "positive", "quantitative", 1000.0, 100.0)
    assert project_quality(1_000_000, 190_000, 1.0, _targets(unmet), preset) == ()


def test_a_key_evaluation_lists_its_figures_to_verify_with_its_problems(demo_store):
    from perfkit.evaluation import evaluate
    from perfkit.reports.key_evaluation import KeyEvaluationView
    slow = demo_store.query("""
        SELECT b.project_id FROM budgets b JOIN (SELECT project_id, max(spent_cumulative) AS spent
        FROM execution GROUP BY 1) e USING (project_id)
        WHERE b.project_id IN (SELECT project_id FROM expert_scores) AND e.spent < 0.5 * b.amount
        ORDER BY 1 LIMIT 1""")
    result = evaluate(demo_store, slow.iloc[0, 0])
    assert "dq_slow_execution" in [n.code for n in result.quality]
    problems = KeyEvaluationView(result).section("problems").data
    assert "**数据核实**：预算执行率" in problems and "远低于时间进度" in problems


def test_a_unit_cost_target_that_does_not_describe_the_amount_requested_loses_points(standards):
    no_standard = dict(direction="D9")          # the standard's own check cannot apply
    places = [dict(name="普惠性学位数量", level1="产出", value_type="quantitative", polarity="positive",
                   target_value=20, measure_unit="个", library_unit="个", history=None),
              dict(name="普惠性学位单位成本", level1="产出", value_type="quantitative", polarity="reverse",
                   target_value=1975, measure_unit="元/个", library_unit="元/个", history=None),
              GOOD_TARGETS[1]]
    result = assess(_request(targets=places, amount=8_678_000.0, quantity=None, **no_standard), standards,
                    {**ALL_GOOD, "economy": 80})
    text = render(result.reasons)
    assert "1,975.00元/个乘以产出数量20个为3.95万元" in text and "867.80万元" in text and "待核实" in text
    assert result.by_dimension["绩效目标合理性"] == pytest.approx(20 * (1 - 0.30))
    consistent = [dict(places[1], target_value=433_900), *places[0:1], GOOD_TARGETS[1]]
    fine = assess(_request(targets=consistent, amount=8_678_000.0, quantity=None, **no_standard), standards,
                  {**ALL_GOOD, "economy": 80})
    assert "amount_mismatch" not in [m.code for m in fine.reasons]


def test_support_after_adjustment_says_what_to_adjust(standards):
    from perfkit.reports.ex_ante import ExAnteView
    within = assess(_request(amount=100_000.0), standards, {"necessity": 100, "feasibility": 40, "financing": 50})
    assert within.cut_rate == 0.0 and within.conclusion == "调整后支持"
    assert list(within.adjustments.index) == ["实施方案可行性", "筹资合规性"]
    overall = ExAnteView(within).section("overall").data
    assert "无需核减" in overall and "“实施方案可行性”（得 8.00 分，满分 20.00 分）" in overall
    cut = assess(_request(), standards, ALL_GOOD)                 # score ≥ 80, cut above 10%: the cut is the adjustment
    assert cut.conclusion == "调整后支持" and list(cut.adjustments.index) == ["投入经济性"]
    assert "申报金额按标准核减 13.4%，须按评估建议调整“投入经济性”" in ExAnteView(cut).section("overall").data
    full = assess(_request(amount=100_000.0), standards, ALL_GOOD)
    assert full.conclusion == "予以支持" and full.adjustments.empty
