"""Ex-ante assessment against hand-computed standards, targets checks and conclusions."""
from __future__ import annotations

import pandas as pd
import numpy as np
import pytest

from perfkit import DataError
from perfkit.exante import exante_portfolio
from perfkit.exante import assess, exante_summary
from perfkit.queries import request as request_from_store
from perfkit.text import render
from perfkit.quota.standards import COLUMNS, StandardsTable
from perfkit.reports import run_report


@pytest.fixture
def standards():
    head = dict(direction="D1", direction_name="道路养护", output_unit="公里", method="two_stage", base_year=2025,
                basic_quota=1000.0, scale_elasticity=1.0, reference_quantity=50.0, translog_q2=0.0, n=100,
                validation_mape=0.1, share_above=0.5)
    rows = [{**head, "factor": None, "level": None, "coefficient": None},
            {**head, "factor": "region", "level": "A", "coefficient": 1.0},
            {**head, "factor": "region", "level": "B", "coefficient": 0.9}]
    return StandardsTable(pd.DataFrame(rows, columns=COLUMNS), price_index={2025: 100.0, 2026: 110.0})


GOOD_TARGETS = [
    dict(name="道路养护里程", level1="产出", value_type="quantitative", polarity="positive", target_value=100,
         measure_unit="公里", library_unit="公里", history=90),
    dict(name="群众满意度", level1="效益", value_type="quantitative", polarity="positive", target_value=90,
         measure_unit="%", library_unit="%", history=None),
]
ALL_GOOD = {"necessity": 100, "feasibility": 100, "financing": 100}


def _request(**changes):
    return {"request_id": "R1", "name": "道路养护", "amount": 120_000.0, "direction": "D1", "quantity": 100.0,
            "region": "B", "year": 2026, "targets": GOOD_TARGETS, **changes}


def test_cut_rate_by_hand(standards):
    result = assess(_request(), standards, ALL_GOOD)
    # standard cost = 100 × 1000 × 0.9 × 110/100 = 99,000; suggested = min(120,000, 99,000 × 1.05) = 103,950
    assert result.standard_cost == pytest.approx(99_000.0)
    assert result.suggested_amount == pytest.approx(103_950.0)
    assert result.cut_rate == pytest.approx(1 - 103_950 / 120_000)
    # economy: 20 × (1 − 0.13375 / 0.5) = 14.65; the other four dimensions full
    assert result.by_dimension["投入经济性"] == pytest.approx(20 * (1 - (1 - 103_950 / 120_000) / 0.5))
    assert result.score == pytest.approx(80 + result.by_dimension["投入经济性"])
    assert result.conclusion == "调整后支持"                        # score ≥ 80 but cut above 10%
    assert result.approved_amount == pytest.approx(103_950.0)


def test_support_within_the_standard(standards):
    result = assess(_request(amount=100_000.0), standards, ALL_GOOD)
    assert result.cut_rate == 0.0 and result.suggested_amount == 100_000.0
    assert result.score == pytest.approx(100.0) and result.conclusion == "予以支持"


def test_reject(standards):
    result = assess(_request(), standards, {"necessity": 20, "feasibility": 30, "financing": 40})
    assert result.score < 60 and result.conclusion == "不予支持" and result.approved_amount == 0.0


def test_no_standard_is_flagged_never_passed(standards):
    result = assess(_request(direction="D9"), standards, ALL_GOOD)
    assert result.needs_expert_judgement and result.standard_cost is None
    # no standard and no expert judgement of economy: pending (待补充), neither supported nor rejected
    assert np.isnan(result.by_dimension["投入经济性"]) and result.cut_rate == 0.0
    assert result.is_draft and not result.approves and result.approved_amount == 0.0 and np.isnan(result.score)
    assert any("无适用定额标准" in str(r) and "待评审专家判断" in str(r) for r in result.reasons)
    judged = assess(_request(direction="D9"), standards, {**ALL_GOOD, "economy": 70})
    assert judged.by_dimension["投入经济性"] == pytest.approx(14.0)
    no_quantity = assess(_request(quantity=None), standards, ALL_GOOD)
    assert no_quantity.needs_expert_judgement and any("未申报产出数量" in str(r) for r in no_quantity.reasons)


def test_target_checks(standards):
    weak = [dict(GOOD_TARGETS[0], target_value=80, measure_unit="米"),       # below history and wrong unit
            dict(name="服务水平", level1="产出", value_type="qualitative", polarity="positive",
                 target_value=None, measure_unit=None, library_unit=None, history=None),
            dict(name="响应时长", level1="产出", value_type="qualitative", polarity="positive",
                 target_value=None, measure_unit=None, library_unit=None, history=None)]
    result = assess(_request(targets=weak), standards, ALL_GOOD)
    # no benefit 0.30 + quantitative share 1/3 < 50% 0.20 + below history 0.10 + unit 0.10 = 0.70 lost
    assert result.by_dimension["绩效目标合理性"] == pytest.approx(20 * 0.30)
    text = render(result.reasons)
    assert "未设置效益指标" in text and "定量指标占比33%" in text and "目标偏低" in text and "计量单位“米”" in text
    reverse = [dict(GOOD_TARGETS[0], polarity="reverse", target_value=120, history=100), GOOD_TARGETS[1]]
    assert "高于（反向指标）" in render(assess(_request(targets=reverse), standards, ALL_GOOD).reasons)


def test_answer_formats(standards):
    checklist = {"necessity": {"符合规划": True, "需求真实": True, "无重复": False, "有依据": True},
                 "feasibility": [60, 70, 80, 90, 100], "financing": 50}
    result = assess(_request(amount=100_000.0), standards, checklist)
    assert result.by_dimension["立项必要性"] == pytest.approx(15.0)       # 3 of 4 checks
    assert result.by_dimension["实施方案可行性"] == pytest.approx(16.0)   # 70, 80, 90 kept: 80%
    assert result.by_dimension["筹资合规性"] == pytest.approx(10.0)
    missing = assess(_request(amount=100_000.0), standards, {})
    assert np.isnan(missing.by_dimension["立项必要性"]) and missing.conclusion == "draft"
    assert any("缺少“立项必要性”的评审意见，待评审专家补充" in str(r) for r in missing.reasons)


def test_bad_requests(standards):
    with pytest.raises(DataError, match="amount must be positive"):
        assess(_request(amount=0), standards, ALL_GOOD)
    with pytest.raises(DataError, match="unknown region level\\(s\\) Z"):
        assess(_request(region="Z"), standards, ALL_GOOD)


@pytest.mark.notebook
def test_demo_portfolio(writable_store, tmp_path):
    import perfkit
    from perfkit.cli import main
    demo_store_path = writable_store                 # `perfkit standards` writes the standards into it again
    assert main(["standards", "--store", str(demo_store_path), "--output", str(tmp_path / "s.xlsx")]) == 0
    with perfkit.Store(demo_store_path, read_only=True) as store:
        assessed = exante_portfolio(store)
        request, answers = request_from_store(store, assessed["request_id"].iloc[0])
    assert len(assessed) == 40 and set(answers) == {"necessity", "feasibility", "financing"}
    assert assessed["needs_expert_judgement"].sum() == 12                 # the requests without a standard
    summary = exante_summary(assessed)
    assert summary.loc["total", "requests"] == 40
    decided = assessed[assessed["conclusion"] != "draft"]          # pending requests are not cut: they wait
    assert summary.loc["total", "cut_rate"] == pytest.approx(1 - decided["approved"].sum() / decided["requested"].sum())
    assert summary.loc["total", "requested"] == assessed["requested"].sum()
    assert set(assessed["conclusion"]) <= {"予以支持", "调整后支持", "不予支持", "draft"}
    report = run_report("ex-ante", {"request_id": assessed["request_id"].iloc[0], "store": str(demo_store_path)},
                        output_dir=tmp_path)
    html = report.html.read_text(encoding="utf-8")
    for heading in ("一、评估对象基本情况", "二、评估工作开展情况", "三、综合评估", "四、评估建议", "五、其他需要说明的问题"):
        assert heading in html
    assert main(["ex-ante", "--store", str(demo_store_path), "--output", str(tmp_path / "e.xlsx")]) == 0
    assert main(["monitor", "--store", str(demo_store_path), "--as-of", "2026-08-31",
                 "--output", str(tmp_path / "m.xlsx")]) == 0


@pytest.mark.notebook
def test_request_file_through_the_notebook(demo_store_path, tmp_path):
    import perfkit
    store_path = demo_store_path                     # it has its quota standards (conftest)
    with perfkit.Store(store_path, read_only=True) as store:
        road = store.query("SELECT direction_id FROM directions WHERE name = '道路养护'")["direction_id"].iloc[0]
    path = tmp_path / "道路申报.yaml"
    path.write_text(f"""
name: 道路养护增量项目
amount: 90000000
direction: {road}
quantity: 120
region: 中心城区
grade: 主干道
year: 2027
targets:
  - {{name: 道路养护里程数量, level1: 产出, value_type: quantitative, polarity: positive, target_value: 120,
     measure_unit: 公里, library_unit: 公里}}
answers: {{necessity: [80, 85, 90], feasibility: 75, financing: {{资金来源合规: true}}}}
""", encoding="utf-8")
    report = run_report("ex-ante", {"request_id": None, "request_file": str(path), "store": str(store_path)},
                        output_dir=tmp_path, name="from_file")
    html = report.html.read_text(encoding="utf-8")
    assert "道路养护增量项目事前绩效评估报告" in html and "按定额标准测算的标准成本" in html
    assert "未设置效益指标" in html


def test_bad_request_file(tmp_path):
    from perfkit.reports.ex_ante import read_request_file
    path = tmp_path / "bad.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.yaml: a request file must be a mapping"):
        read_request_file(path)
