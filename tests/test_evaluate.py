"""Key evaluations and self-evaluations on the demo city, checked item by item."""
from __future__ import annotations

import numpy as np
import pytest

from perfkit import evaluation as ev
from perfkit.rules import load_preset
from perfkit.text import render
from perfkit.cli import main
from perfkit.reports import run_report


def _panel_project(store):
    return store.query("SELECT min(project_id) AS p FROM expert_scores")["p"].iloc[0]


def test_key_evaluation_adds_up(demo_store):
    result = ev.evaluate(demo_store, _panel_project(demo_store))
    table = result.table
    assert list(table.columns[:8]) == ["level1", "level2", "indicator", "rule", "points", "score", "state", "note"]
    assert not result.is_draft and set(table["state"]) <= {"scored", "not_applicable"}
    # the project's field's tree (the demo's first panel project is a purchased service), 100 points
    assert list(table["indicator"]) == [i["item"] for i in load_preset().items(result.project["category"])]
    assert table["points"].sum() == pytest.approx(100.0)
    assert result.total == pytest.approx(table["score"].sum())
    assert result.by_level1.sum() == pytest.approx(result.total)
    assert result.rating == ev.rate(result.total)
    assert (table["score"] <= table["points"] + 1e-9).all() and (table["score"] >= 0).all()
    assert 0 <= result.agreement["w"] <= 1


def test_key_evaluation_items_by_hand(demo_store):
    project_id = _panel_project(demo_store)
    result = ev.evaluate(demo_store, project_id)
    table = result.table.set_index("indicator")
    scale = table["points"].sum() / table.loc[table["points"] > 0, "points"].sum()  # 1 unless redistributed
    execution = table.loc["预算执行率"]
    assert execution["score"] == pytest.approx(min(result.spent / result.budget, 1) * execution["points"])
    scores = demo_store.query("SELECT expert_id, score FROM expert_scores WHERE project_id = ? AND item = '立项依据充分性'",
                              [project_id])["score"].sort_values().to_numpy()
    kept = scores[1:-1] if len(scores) >= 5 else scores
    assert table.loc["立项依据充分性", "score"] == pytest.approx(kept.mean() / 100 * table.loc["立项依据充分性", "points"])
    deductions = demo_store.query("SELECT sum(deduction) AS d FROM findings WHERE project_id = ? AND item = '资金使用合规性'",
                                  [project_id])["d"].fillna(0).iloc[0]
    compliance = table.loc["资金使用合规性"]
    assert compliance["score"] == pytest.approx(max(0.0, compliance["points"] - deductions * scale))
    assert scale >= 1.0


def test_inapplicable_items_are_redistributed(demo_store):
    result = ev.evaluate(demo_store, _panel_project(demo_store))
    inapplicable = result.table[result.table["note"].map(lambda notes: "不适用" in render(notes))]
    assert len(inapplicable) > 0 and (inapplicable["points"] == 0).all()
    assert result.table["points"].sum() == pytest.approx(100.0)


def test_missing_data_is_flagged_not_dropped(demo_store):
    no_panel = demo_store.query("""SELECT min(p.project_id) AS p FROM projects p JOIN execution e USING (project_id)
                                   WHERE p.project_id NOT IN (SELECT project_id FROM expert_scores)
                                   AND p.year = 2025""")["p"].iloc[0]
    result = ev.evaluate(demo_store, no_panel)
    experts = result.table[result.table["rule"] == "expert"]
    assert experts["score"].isna().all() and experts["flagged"].all() and (experts["state"] == "missing").all()
    assert result.is_draft and np.isnan(result.total) and result.rating is None
    assert any("无专家评分" in render(notes) for _, notes in result.flags)
    missing_actual = demo_store.query("""SELECT min(a.project_id) AS p FROM actuals a JOIN indicators i USING (indicator_id)
                                        JOIN projects p USING (project_id)
                                        WHERE a.actual_value IS NULL AND i.value_type = 'quantitative' AND p.year = 2025""")["p"].iloc[0]
    result = ev.evaluate(demo_store, missing_actual)
    assert result.table["flagged"].any()
    assert (result.indicators["issue"] == "no_actual").any()


def test_unknown_project(demo_store):
    with pytest.raises(KeyError, match="P000"):
        ev.evaluate(demo_store, "P000")


def test_evaluating_many_projects_at_once_equals_one_by_one(demo_store):
    import pandas as pd

    from perfkit import queries

    panel = queries.panel_projects(demo_store, 2025)
    others = demo_store.query("SELECT project_id FROM projects WHERE year = 2025 ORDER BY project_id LIMIT 8")
    wanted = [*panel[:12], *others["project_id"], panel[0]]       # drafts, projects without a panel, a repeat
    many = ev.evaluate_many(demo_store, wanted)
    assert list(many) == list(dict.fromkeys(wanted))
    for project_id, result in many.items():
        one = ev.evaluate(demo_store, project_id)
        pd.testing.assert_frame_equal(result.table, one.table, check_exact=True)
        pd.testing.assert_frame_equal(result.panel, one.panel, check_exact=True)
        pd.testing.assert_series_equal(result.project, one.project, check_exact=True)
        assert (result.is_draft, result.rating, repr(result.agreement)) == (one.is_draft, one.rating, repr(one.agreement))
        assert np.array_equal([result.total, result.budget], [one.total, one.budget], equal_nan=True)
    with pytest.raises(KeyError, match="P-NOPE"):
        ev.evaluate_many(demo_store, [panel[0], "P-NOPE"])


def test_self_evaluation_by_hand(demo_store):
    unit = demo_store.query("""SELECT unit_id FROM projects WHERE year = 2025 GROUP BY 1
                               ORDER BY count(*) DESC, 1 LIMIT 1""")["unit_id"].iloc[0]
    result = ev.self_evaluate(demo_store, unit, 2025)
    p = result.projects
    assert len(p) == result.summary().iloc[0]["projects"] > 0
    blocks = ["score_产出", "score_效益", "score_满意度", "score_预算执行率"]
    rated = p[p["state"] == "scored"]
    assert np.allclose(rated[blocks].sum(axis=1), rated["total"])
    assert p.loc[p["state"] == "draft", "total"].isna().all() and p.loc[p["state"] == "draft", "rating"].isna().all()
    row = rated.iloc[0]
    indicators = ev.score_indicators(demo_store.query(f"""
        SELECT t.project_id, i.*, t.target_value, t.target_text, a.actual_value, a.grade
        FROM targets t JOIN indicators i USING (indicator_id)
        LEFT JOIN actuals a ON a.project_id = t.project_id AND a.indicator_id = t.indicator_id
        WHERE t.project_id = '{row.project_id}'"""))
    output_share = indicators.loc[indicators["level1"] == "产出", "fraction"].mean()
    assert row["score_产出"] == pytest.approx(50 * output_share)
    assert row["score_预算执行率"] == pytest.approx(10 * min(row["execution_rate"], 1))
    assert sum(result.summary().iloc[0][f"rating_{r}"] for r in "优良中差") + result.summary().iloc[0]["drafts"] == len(p)
    assert result.by_rating["projects"].sum() == len(p)


@pytest.mark.notebook
def test_key_evaluation_notebook(demo_store, demo_store_path, tmp_path):
    project_id = _panel_project(demo_store)
    report = run_report("key-evaluation", {"project_id": project_id, "store": str(demo_store_path)},
                        output_dir=tmp_path)
    html = report.html.read_text(encoding="utf-8")
    for heading in ("一、基本情况", "二、绩效评价工作开展情况", "三、综合评价情况及评价结论", "四、绩效评价指标分析",
                    "五、主要经验及做法、存在的问题及原因分析", "六、有关建议", "七、其他需要说明的问题"):
        assert heading in html
    result = ev.evaluate(demo_store, project_id)
    assert f"{result.total:.2f} 分" in html and f"“{result.rating}”" in html
    assert "肯德尔和谐系数" in html and html.count("jp-RenderedImage jp-OutputArea-output") == 1


@pytest.mark.notebook
def test_key_evaluation_notebook_in_english(demo_store, demo_store_path, tmp_path):
    report = run_report("key-evaluation", {"project_id": _panel_project(demo_store), "store": str(demo_store_path)},
                        output_dir=tmp_path, lang="en")
    html = report.html.read_text(encoding="utf-8")
    assert "1. Overview" in html and "7. Other matters" in html


@pytest.mark.notebook
def test_self_evaluation_notebook(demo_store, demo_store_path, tmp_path):
    unit = demo_store.query("SELECT unit_id FROM units WHERE level = 1 ORDER BY unit_id LIMIT 1")["unit_id"].iloc[0]
    report = run_report("self-evaluation", {"unit_id": unit, "year": 2025, "store": str(demo_store_path)},
                        output_dir=tmp_path)
    html = report.html.read_text(encoding="utf-8")
    assert "一、总体情况" in html and "二、项目自评结果" in html and "三、存在的问题及改进措施" in html
    assert "自评得分" in html


def test_results_application_command(demo_store_path, tmp_path, capsys):
    from openpyxl import load_workbook
    workbook = tmp_path / "applied.xlsx"
    assert main(["results-application", "--year", "2025", "--store", str(demo_store_path),
                 "--output", str(workbook)]) == 0
    assert "合计" in capsys.readouterr().out
    book = load_workbook(workbook)
    # drafts listed apart; the PPP projects' performance-linked payments beside the budgets
    assert book.sheetnames == ["待补充", "项目明细", "按等级汇总", "按单位汇总", "PPP绩效付费"]
    headers = [c.value for c in book["项目明细"][1]]
    assert "下年建议预算（万元）" in headers and "应用规则" in headers
