"""Evidence before judgement: drafts instead of silent zeros, target checks an auditor can follow,
reachable quota standards, and numerics that hold at the last decimal."""
from __future__ import annotations

import dataclasses
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import perfkit
from perfkit import evaluation as ev
from perfkit import queries, quota
from perfkit.exante import assess
from perfkit.queries import UnitEvidence
from perfkit.quota.standards import pick_standard
from perfkit.reports.ex_ante import exante_assessment
from perfkit.evaluation import key_evaluations
from perfkit.reports.key_evaluation import key_evaluation
from perfkit.rules import load_preset
from perfkit.text import render

NO_PANEL = "P202500001"        # a demo project without an expert panel
NO_QUALITY_ACTUAL = "P202500480"   # 质量达标率 has no actual value


@pytest.fixture
def zero_preset(tmp_path):
    path = tmp_path / "zero.yaml"
    path.write_text("extends: default\nevidence:\n  missing: {expert: zero, execution_rate: zero, indicators: zero}\n",
                    encoding="utf-8")
    return load_preset(path)


# -- evidence states -------------------------------------------------------------------------------------
def test_a_project_without_a_panel_is_a_draft_not_a_low_score(demo_store):
    result = ev.evaluate(demo_store, NO_PANEL)
    assert result.is_draft and result.rating is None and np.isnan(result.total)
    missing = result.missing
    assert len(missing) == 8 and set(missing["supplier"]) == {"panel"} and set(missing["evidence"]) == {"expert_scores"}
    assert result.sensitivity() is None
    view = key_evaluation(demo_store, NO_PANEL)
    conclusion = view.section("conclusion").data
    assert "待补充" in conclusion and "评价组织方（专家组）" in conclusion and "评价等级为" not in conclusion
    assert view.score_table().iloc[-1]["得分"] == "待补充"


def test_a_missing_actual_makes_a_draft_and_blames_no_one(demo_store):
    result = ev.evaluate(demo_store, NO_QUALITY_ACTUAL)
    assert result.is_draft and result.rating is None
    assert result.missing.to_dict("records") == [
        {"subject": NO_QUALITY_ACTUAL, "item": "质量达标率", "evidence": "actuals", "supplier": "unit"}]
    view = key_evaluation(demo_store, NO_QUALITY_ACTUAL)
    advice = view.section("recommendations").data
    assert "质量达标率" not in advice and "得分率仅 0%" not in advice
    assert "质量达标率：缺少绩效指标实际完成值，由项目实施单位补充" in view.section("conclusion").data


def test_missing_zero_keeps_the_old_behaviour(demo_store, zero_preset):
    assert ev.evaluate(demo_store, NO_PANEL, zero_preset).total == pytest.approx(69.7577419036)
    old = ev.evaluate(demo_store, NO_QUALITY_ACTUAL, zero_preset)
    assert not old.is_draft and old.total == pytest.approx(76.7815632697) and old.rating == "中"
    quality = old.table.set_index("indicator").loc["质量达标率"]
    assert quality["state"] == "missing" and quality["score"] == 0 and "按规则缺少证据计0分" in render(quality["note"])


def test_a_panel_below_the_minimum_size_is_missing_evidence(demo_store):
    evidence = queries.project_evidence(demo_store, demo_store.query(
        "SELECT min(project_id) FROM expert_scores").iloc[0, 0])
    two = evidence.expert_scores[evidence.expert_scores["expert_id"].isin(
        sorted(evidence.expert_scores["expert_id"].unique())[:2])]
    result = ev.score_project(dataclasses.replace(evidence, expert_scores=two))
    experts = result.table[result.table["rule"] == "expert"]
    assert (experts["state"] == "missing").all() and result.is_draft
    assert "仅2位专家评分，少于规定的3位" in render(experts["note"].iloc[0])


def test_results_application_never_cuts_a_draft(demo_store, tmp_path):
    evaluated = key_evaluations(demo_store, 2025)
    draft = evaluated.set_index("project_id").loc[NO_QUALITY_ACTUAL]
    assert pd.isna(draft["rating"]) and draft["missing"] == ("质量达标率",)
    applied = ev.apply_results(evaluated).set_index("project_id")
    row = applied.loc[NO_QUALITY_ACTUAL]
    assert row["recommended_budget"] == row["budget"] == 32_275_000 and row["status"] == "draft"
    assert row["rule"] == ev.DRAFT
    summary = ev.results_summary(applied.reset_index())
    assert summary.loc[ev.TOTAL, "projects"] == len(evaluated)          # drafts are counted, not dropped
    refuse = tmp_path / "refuse.yaml"
    refuse.write_text("extends: default\nevidence:\n  drafts: refuse\n", encoding="utf-8")
    with pytest.raises(perfkit.DataError, match=f"{NO_QUALITY_ACTUAL} is a draft"):
        ev.apply_results(evaluated, refuse)


def test_results_workbook_lists_drafts_apart(demo_store, tmp_path):
    from openpyxl import load_workbook
    from perfkit.workbooks import results_application_workbook
    applied = ev.apply_results(key_evaluations(demo_store, 2025))
    book = load_workbook(results_application_workbook(applied, tmp_path / "r.xlsx"))
    drafts = [[c.value for c in row] for row in book["待补充"].iter_rows()]
    assert drafts[0][-1] == "缺少的证据" and any(r[0] == NO_QUALITY_ACTUAL and r[-1] == "质量达标率" for r in drafts)
    detail = [[c.value for c in row] for row in book["项目明细"].iter_rows()]
    ratings = [row[detail[0].index("评价等级")] for row in detail[1:]]
    assert "待补充" in ratings and None not in ratings
    frameworks = {row[detail[0].index("评价指标体系")] for row in detail[1:]}
    assert {"PPP项目运营期绩效评价", "财政部项目支出绩效评价管理办法（财预〔2020〕10号）"} <= frameworks


def test_self_evaluation_drafts_and_a_total_of_exactly_90():
    shares = {"产出": 0.83, "效益": 0.97, "满意度": 0.96}
    indicators = pd.DataFrame([
        dict(project_id="P1", indicator_id=f"I{i}", level1=block, level2="数量", name=block, measure_unit="%",
             polarity="positive", value_type="quantitative", target_value=100.0, target_text=None,
             actual_value=share * 100, grade=None) for i, (block, share) in enumerate(shares.items())])
    projects = pd.DataFrame([dict(project_id="P1", name="测试项目", unit_id="U1", unit_name="单位", category="regular",
                                  budget=1_000_000.0)])
    evidence = UnitEvidence(unit=pd.Series({"unit_id": "U1", "name": "单位"}), year=2025, projects=projects,
                            spent=pd.Series({"P1": 980_000.0}), indicators=indicators)
    row = ev.score_unit(evidence).projects.iloc[0]
    assert row["total"] == 90.0 and row["rating"] == "优"          # 41.5 + 29.1 + 9.6 + 9.8, not 89.999…
    gap = indicators.assign(actual_value=[83.0, np.nan, 96.0])
    drafted = ev.score_unit(dataclasses.replace(evidence, indicators=gap)).projects.iloc[0]
    assert drafted["state"] == "draft" and np.isnan(drafted["total"]) and drafted["rating"] is None


# -- ex-ante: the request against itself and against the standard ------------------------------------------
def test_exante_targets_checked_against_quantity_and_standard(writable_store, tmp_path):
    from perfkit.cli import main
    assert main(["standards", "--store", str(writable_store), "--output", str(tmp_path / "s.xlsx")]) == 0
    with perfkit.Store(writable_store, read_only=True) as store:
        view = exante_assessment(store, "R2027018")
    r = view.result
    assert r.request["quantity"] == 342.6
    assert r.by_dimension["绩效目标合理性"] == pytest.approx(20 * (1 - 0.2 - 0.2))
    reasons = render(r.reasons)
    assert "“道路养护里程数量”目标值56公里与申报产出数量342.6公里不一致" in reasons
    unit_cost = r.standard_cost / 342.6
    assert f"目标值4,177.00元/公里与定额标准测算的单位成本{unit_cost:,.2f}元/公里相差过大" in reasons
    # one source for every figure: the suggested amount in the text is the one in the result
    advice = view.section("advice").data
    ceiling = r.standard_cost * 1.05
    if r.cut_rate > 0:
        assert r.suggested_amount == pytest.approx(ceiling) and f"含5%浮动为{ceiling / 1e4:,.2f}万元" in advice
    else:
        assert f"含5%浮动（{ceiling / 1e4:,.2f}万元）以内" in advice and r.request["amount"] <= ceiling
    assert f"标准成本{r.standard_cost / 1e4:,.2f}万元" in advice


def test_exante_quantity_target_within_tolerance_passes():
    targets = [{"name": "道路养护里程数量", "level1": "产出", "value_type": "quantitative", "polarity": "positive",
                "target_value": 120.0, "measure_unit": "公里", "library_unit": "公里"},
               {"name": "社会效益", "level1": "效益", "value_type": "quantitative", "polarity": "positive",
                "target_value": 90.0, "measure_unit": "%", "library_unit": "%"}]
    request = {"amount": 1e6, "direction": "D1", "quantity": 118.0, "output_unit": "公里", "targets": targets}
    result = assess(request, None, {})
    assert result.by_dimension["绩效目标合理性"] == 20
    result = assess({**request, "quantity": 200.0}, None, {})
    assert result.by_dimension["绩效目标合理性"] == pytest.approx(16)


def test_exante_without_review_is_pending_unless_the_preset_scores_zero(tmp_path):
    request = {"amount": 1e6, "direction": "D1", "quantity": None, "targets": []}
    pending = assess(request, None, {"necessity": 80})
    assert pending.is_draft and not pending.approves and pending.approved_amount == 0.0
    assert render(pending.reasons[0]) == "评估依据不全，暂不形成结论（待补充）"
    zero = tmp_path / "zero.yaml"
    zero.write_text("extends: default\nevidence:\n  missing: {judgement: zero}\n", encoding="utf-8")
    old = assess(request, None, {"necessity": 80}, zero)
    assert not old.is_draft and old.by_dimension["筹资合规性"] == 0 and old.conclusion == "不予支持"


# -- quota standards that most can reach ---------------------------------------------------------------
def test_auto_standards_are_reachable_and_the_frontier_is_the_benchmark(demo_store):
    from perfkit.quota import build_all_standards
    table = build_all_standards(demo_store)
    quotas = table.quotas
    target = load_preset().quota.target_reach
    assert (quotas["reach"] >= target).all() and quotas["reach"].between(0, 1).all()
    assert (quotas["selection"] == "closest_reach").all() and (quotas["benchmark_method"] == "frontier").all()
    assert (quotas["benchmark_quota"] < quotas["basic_quota"]).all()     # the efficient cost lies below
    frontier = build_all_standards(demo_store, method="frontier").quotas
    assert (frontier["reach"] < 0.2).all()                           # most records exceed a frontier quota
    assert "记录达标率" in table.quota_table().columns


def test_pick_standard_by_hand():
    candidates = [dict(method="a", reach=0.45, mape=0.05), dict(method="b", reach=0.52, mape=0.20),
                  dict(method="c", reach=0.55, mape=0.10), dict(method="d", reach=0.70, mape=0.01)]
    assert pick_standard(candidates, 0.5, 0.05)[0]["method"] == "c"   # 0.52 and 0.55 are equally near: lower error
    assert pick_standard(candidates, 0.5, 0.0)[0]["method"] == "b"
    assert pick_standard(candidates[:1], 0.5, 0.05) == (candidates[0], "highest_reach")


# -- numerics ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("values, expected", [([0.7, 0.8, 0.9], 0.775), ([3.3, 3.3, 3.3], 3.3),
                                              ([1, 2, 3, 4], 2.0), ([0.1, 0.2, 0.3, 0.4, 0.5], 0.25),
                                              ([5.0], 5.0)])
def test_two_stage_average_ties_by_hand(values, expected):
    assert quota.unit_cost_standard(values, method="two_stage") == pytest.approx(expected, rel=1e-12)


def test_from_formula_refuses_rows_it_cannot_use():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"cost": np.exp(rng.normal(size=40)), "q": np.exp(rng.normal(size=40))})
    data.loc[[3, 9], "cost"] = [-1.0, 0.0]
    data.loc[12, "q"] = np.nan
    with pytest.raises(ValueError, match=re.escape("3 of 40 row(s)") + ".*rows 3, 9, 12"):
        quota.StochasticFrontier.from_formula("np.log(cost) ~ np.log(q)", data)


def test_a_constant_cost_is_refused():
    X = np.column_stack([np.ones(30), np.linspace(0, 1, 30)])
    with pytest.raises(ValueError, match="dependent variable is constant"):
        quota.StochasticFrontier(np.full(30, 2.0), X)


def test_invalid_records_are_counted(demo_store):
    records = queries.cost_records(demo_store, "D131").copy()
    records.loc[records.index[:3], "cost"] = [0.0, -5.0, np.nan]
    records.loc[records.index[3], "quantity"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = quota.fit_cost_model(records, "median")
    assert model.n_invalid == 4 and model.n + model.n_screened_out + model.n_invalid == len(records)
