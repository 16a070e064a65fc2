"""The department level (issue 23): data, the framework as a preset, the engine checked by hand and by SQL."""
from __future__ import annotations

import math

import pandas as pd
import pytest

import perfkit
from perfkit.department import evaluate
from perfkit.errors import DataError
from perfkit.evaluation import rate, self_evaluate
from perfkit.monitoring import monitor
from perfkit.rules import load_preset

from conftest import tiny_tables, write_tables

T = pd.Timestamp


def _accounts(unit, year, **values):
    row = dict(unit_id=unit, year=year, personnel_budget=0.0, personnel_adjusted=None, personnel_spent=0.0,
               public_budget=0.0, public_adjusted=None, public_spent=0.0, carryover_start=0.0, carryover_end=0.0,
               reception_budget=0.0, reception_spent=0.0, vehicles_budget=0.0, vehicles_spent=0.0,
               overseas_budget=0.0, overseas_spent=0.0, procurement_budget=0.0, procurement_spent=0.0,
               staff_authorised=0, staff_actual=0, assets_total=0.0, assets_in_use=0.0)
    row.update(values)
    return row


def constructed_department(satisfaction_actual: float | None = 92.0) -> dict[str, pd.DataFrame]:
    """The tiny city's department U1 (with its school U2 and the school's project P1) with every figure a
    department evaluation reads, chosen so that each item is computed by hand below."""
    frames = tiny_tables()
    # last year's project P0 closes 2024: the monitoring's spending profile is learnt from it
    frames["projects"] = pd.concat([frames["projects"], frames["projects"].assign(
        project_id="P0", year=2024, start_date=T("2024-01-01"), end_date=T("2024-12-31"))], ignore_index=True)
    frames["budgets"] = pd.concat([frames["budgets"], pd.DataFrame({"project_id": ["P0"], "year": [2024],
                                                                   "amount": [1_200_000.0], "adjusted_amount": [None]})])
    frames["execution"] = pd.DataFrame({
        "project_id": ["P0"] * 12 + ["P1"] * 5,
        "month": [*pd.date_range("2024-01-01", periods=12, freq="ME"),
                  T("2025-01-31"), T("2025-02-28"), T("2025-06-30"), T("2025-09-30"), T("2025-12-31")],
        "spent_cumulative": [100_000.0 * m for m in range(1, 13)] + [50_000.0, 120_000.0, 400_000.0, 600_000.0,
                                                                     900_000.0]})
    frames["experts"] = pd.DataFrame({"expert_id": ["E1", "E2", "E3"], "name": ["甲", "乙", "丙"],
                                      "organisation": ["某大学"] * 3, "unit_id": [None] * 3,
                                      "field": ["education"] * 3, "title": [None] * 3, "contact": [None] * 3})
    frames["findings"] = pd.DataFrame({"finding_id": ["F1"], "project_id": ["P1"], "stage": ["audit"],
                                       "item": ["资金使用合规性"], "problem_type": ["资金使用不规范"],
                                       "description": ["列支无关费用"], "deduction": [1.0], "amount": [5_000.0],
                                       "recommendation": ["规范资金使用"]})
    frames["unit_accounts"] = pd.DataFrame([
        _accounts("U1", 2025, personnel_budget=2_000_000.0, personnel_spent=1_950_000.0, public_budget=500_000.0,
                  public_adjusted=600_000.0, public_spent=640_000.0, carryover_start=100_000.0,
                  carryover_end=80_000.0, reception_budget=10_000.0, reception_spent=12_000.0,
                  vehicles_budget=20_000.0, vehicles_spent=15_000.0, procurement_budget=300_000.0,
                  procurement_spent=240_000.0, staff_authorised=50, staff_actual=52, assets_total=1_000_000.0,
                  assets_in_use=900_000.0),
        _accounts("U2", 2025, personnel_budget=1_000_000.0, personnel_spent=1_000_000.0, public_budget=200_000.0,
                  public_spent=180_000.0, carryover_start=50_000.0, carryover_end=70_000.0,
                  reception_budget=5_000.0, reception_spent=3_000.0, procurement_budget=100_000.0,
                  procurement_spent=100_000.0, staff_authorised=30, staff_actual=28, assets_total=500_000.0,
                  assets_in_use=500_000.0),
        _accounts("U1", 2024, reception_budget=8_000.0, vehicles_budget=20_000.0, overseas_budget=2_000.0),
        _accounts("U2", 2024, reception_budget=5_000.0),
    ]).astype({"staff_authorised": "Int64", "staff_actual": "Int64"})
    frames["basic_execution"] = pd.DataFrame({
        "unit_id": ["U1"] * 3 + ["U2"] * 3,
        "month": [T("2025-06-30"), T("2025-09-30"), T("2025-12-31")] * 2,
        "spent_cumulative": [1_200_000.0, 1_800_000.0, 2_490_000.0, 600_000.0, 900_000.0, 1_180_000.0]})
    frames["department_tasks"] = pd.DataFrame({
        "task_id": ["D1", "K1", "K2", "K3"], "unit_id": ["U1"] * 4, "year": [2025] * 4,
        "kind": ["duty", "key_task", "key_task", "key_task"],
        "name": ["负责全市教育事业", "新建学校", "教师培训", "智慧校园"],
        "due_date": [None, T("2025-06-30"), T("2025-09-30"), T("2025-12-31")],
        "done": [None, True, True, False],
        "done_date": [None, T("2025-06-15"), T("2025-10-20"), None]}).astype({"done": "boolean"})
    frames["task_projects"] = pd.DataFrame({"task_id": ["K1"], "project_id": ["P1"]})
    frames["department_indicators"] = pd.DataFrame({
        "unit_id": ["U1"] * 6, "year": [2025] * 6, "indicator_no": [1, 2, 3, 4, 5, 6],
        "level1": ["产出", "产出", "产出", "效益", "效益", "满意度"],
        "level2": ["数量", "数量", "质量", "社会效益", "生态效益", "服务对象满意度"],
        "name": ["新增学位", "培训教师", "验收合格率", "投诉率", "能耗下降率", "家长满意度"],
        "measure_unit": ["个", "人次", "%", "%", "%", "%"],
        "polarity": ["positive", "positive", "positive", "reverse", "equal", "positive"],
        "target_value": [100.0, 500.0, 95.0, 5.0, 2.0, 90.0],
        "actual_value": [120.0, 450.0, 96.0, 3.0, 2.0, satisfaction_actual]}).astype({"indicator_no": "Int64"})
    frames["department_scores"] = pd.DataFrame(
        [("U1", 2025, e, item, s) for e, s in (("E1", 80.0), ("E2", 90.0), ("E3", 100.0))
         for item in ("绩效目标合理性", "绩效指标明确性", "管理制度健全性", "预决算信息公开性", "资产管理安全性")],
        columns=["unit_id", "year", "expert_id", "item", "score"])
    return frames


@pytest.fixture
def constructed(tmp_path):
    with perfkit.Store(tmp_path / "d.duckdb") as store:
        store.load(write_tables(tmp_path / "d", constructed_department()))
    with perfkit.Store(tmp_path / "d.duckdb", read_only=True) as store:
        yield store


def test_each_item_of_a_constructed_department_computed_by_hand(constructed):
    r = evaluate(constructed, "U1", 2025)
    project = self_evaluate(constructed, "U1", 2025).projects.set_index("project_id").at["P1", "total"]
    light = monitor(constructed, "2025-09-30", unit="U1").table.set_index("project_id").at["P1", "light"]
    linear = lambda value, full, zero: min(max((value - zero) / (full - zero), 0.0), 1.0)   # noqa: E731
    # raw points won out of the framework's points (3 items of 3 experts: their mean, 90%)
    won = {
        "绩效目标合理性": 3 * 0.9, "绩效指标明确性": 2 * 0.9, "管理制度健全性": 2 * 0.9, "预决算信息公开性": 1 * 0.9,
        "资产管理安全性": 2 * 0.9,
        "在职人员控制率": 3 * linear(80 / 80, 1.0, 1.05),                           # 52 + 28 in post, 50 + 30 posts
        "“三公”经费变动率": 3 * linear((35_000 - 35_000) / 35_000, 0.0, 0.1),       # 10k+20k+5k against 8k+20k+2k+5k
        "重点支出安排率": 4 * linear(1_000_000 / 1_000_000, 0.5, 0.1),               # P1 carries key task K1
        "预算完成率": 4 * linear(4_670_000 / 4_800_000, 1.0, 0.6),    # basic 3.77m + P1 0.9m of 3.8m + 1.0m
        "预算调整率": 2 * linear((4_800_000 - 4_700_000) / 4_700_000, 0.05, 0.2),   # public funds +100k
        "支付进度率": 3 * linear(3_300_000 / (4_800_000 * 0.75), 1.0, 0.6),         # 2.7m basic + 0.6m P1 by Sept.
        "结转结余率": 3 * linear(150_000 / 4_800_000, 0.05, 0.2),
        "结转结余变动率": 2 * linear((150_000 - 150_000) / 150_000, 0.0, 0.3),
        "公用经费控制率": 3 * linear(820_000 / 800_000, 1.0, 1.1),     # lower is better: 2.5% above the adjusted budget
        "“三公”经费控制率": 3 * linear(30_000 / 35_000, 1.0, 1.1),
        "政府采购执行率": 2 * linear(340_000 / 400_000, 1.0, 0.6),
        "资金使用合规性": 3 - 1.0,                                                 # the audit finding's deduction
        "绩效监控": 2 * linear(0.0 if light == "red" else 1.0, 0.9, 0.5),
        "固定资产利用率": 3 * linear(1_400_000 / 1_500_000, 0.95, 0.7),
        "实际完成率": 10 * 0.5,           # 120 ≥ 100 met, 450 < 500 not: half the quantity indicators
        "完成及时率": 5 * 0.5,            # K1 on time, K2 late (of the two done)
        "质量达标率": 5 * 1.0,
        "重点工作办结率": 10 * 2 / 3,      # K3 not done
        "社会效益": 4 * 1.0,              # reverse: 3 ≤ 5 met
        "生态效益": 3 * 1.0,              # equal: 2 = 2 met
        "社会公众或服务对象满意度": 4 * 1.0,
        "项目绩效水平": 6 * linear(project / 100, 0.9, 0.6),
    }
    scale = 100 / 97      # 经济效益 (3 points) has no indicator: not applicable, its points spread over the rest
    table = r.table.set_index("indicator")
    assert table.at["经济效益", "state"] == "not_applicable" and table.at["经济效益", "points"] == 0
    for item, points in won.items():
        assert table.at[item, "score"] == pytest.approx(points * scale, abs=1e-9), item
        assert table.at[item, "lost"] == pytest.approx(table.at[item, "points"] - points * scale, abs=1e-9), item
    assert r.total == pytest.approx(sum(won.values()) * scale, abs=1e-9)
    assert not r.is_draft and r.rating == rate(r.total, load_preset("default"))
    # each formula item shows the figures it read
    assert table.at["预算完成率", "inputs"] == {"spent_total": 4_670_000.0, "budget_total": 4_800_000.0}
    assert table.at["预算完成率", "value"] == pytest.approx(4_670_000 / 4_800_000)
    assert r.summary().at["U1", "execution_rate"] == pytest.approx(4_670_000 / 4_800_000)
    assert 0 < table.at["公用经费控制率", "score"] < table.at["公用经费控制率", "points"]   # partly lost


def test_a_missing_actual_makes_its_item_wait_never_zero(tmp_path):
    with perfkit.Store(tmp_path / "d.duckdb") as store:
        store.load(write_tables(tmp_path / "d", constructed_department(satisfaction_actual=None)))
        r = evaluate(store, "U1", 2025)
    item = r.table.set_index("indicator").loc["社会公众或服务对象满意度"]
    assert item["state"] == "missing" and math.isnan(item["score"])
    assert r.is_draft and r.rating is None and math.isnan(r.total) and r.record()["status"] == "draft"
    assert r.missing.to_dict("records") == [{"subject": "U1-2025", "item": "社会公众或服务对象满意度",
                                             "evidence": "department_indicators", "supplier": "department"}]


def test_the_roll_up_equals_direct_sql(demo_store):
    for unit in ("U001", "U005", "U044"):
        r = evaluate(demo_store, unit, 2025)
        f = r.facts
        units = "(SELECT unit_id FROM units WHERE unit_id = $u OR parent_id = $u)"
        sql = lambda q: demo_store.query(q, {"u": unit}).iloc[0, 0]    # noqa: E731
        assert f["project_in_force"] == pytest.approx(sql(f"""
            SELECT sum(coalesce(b.adjusted_amount, b.amount)) FROM projects p JOIN budgets b USING (project_id)
            WHERE p.year = 2025 AND b.year = 2025 AND p.unit_id IN {units}"""))
        spent = sql(f"""SELECT sum(s) FROM (SELECT arg_max(spent_cumulative, month) s FROM execution e
                        JOIN projects p USING (project_id) WHERE p.year = 2025 AND year(e.month) = 2025
                        AND p.unit_id IN {units} GROUP BY e.project_id)""")
        recorded = sql(f"""SELECT count(DISTINCT e.project_id) = (SELECT count(*) FROM projects
                           WHERE year = 2025 AND unit_id IN {units}) FROM execution e JOIN projects p USING (project_id)
                           WHERE p.year = 2025 AND p.unit_id IN {units}""")
        assert (f["project_spent"] == pytest.approx(spent)) if recorded else f["project_spent"] is None
        assert f["basic_spent"] == pytest.approx(sql(f"""SELECT sum(personnel_spent + public_spent) FROM unit_accounts
                                                        WHERE year = 2025 AND unit_id IN {units}"""))
        assert f["staff_actual"] == sql(f"SELECT sum(staff_actual) FROM unit_accounts WHERE year = 2025 AND unit_id IN {units}")
        assert f["tasks_done"] == sql("SELECT count(*) FROM department_tasks WHERE unit_id = $u AND year = 2025 "
                                      "AND kind = 'key_task' AND done")
        assert f["key_task_budget"] == pytest.approx(sql("""
            SELECT coalesce(sum(coalesce(b.adjusted_amount, b.amount)), 0) FROM budgets b WHERE b.year = 2025
            AND b.project_id IN (SELECT l.project_id FROM task_projects l JOIN department_tasks t USING (task_id)
                                 WHERE t.unit_id = $u AND t.year = 2025)"""))
        # the projects' score: budget-weighted, key evaluation first, then the self-evaluation
        p = r.evidence.projects
        scored = p[p["score"].notna()]
        assert f["project_score"] == pytest.approx((scored["score"] * scored["budget"]).sum() / scored["budget"].sum())
        own = self_evaluate(demo_store, unit, 2025).projects.set_index("project_id")["total"]
        plain = p[~p["key_evaluated"].astype(bool)].set_index("project_id")["score"]
        pd.testing.assert_series_equal(plain, own.loc[plain.index], check_names=False)


def test_the_planted_departments_show(demo_store):
    """The demo city plants an overstaffed department (every 13th), receptions above budget (every 17th), a
    key task not done (every 9th), an unreported actual (every 11th) and a department without its review
    (every 23rd): each shows in its items."""
    items = lambda unit: evaluate(demo_store, unit, 2025).table.set_index("indicator")   # noqa: E731
    assert items("U013").at["在职人员控制率", "value"] > 1.0
    assert items("U017").at["“三公”经费控制率", "value"] > 1.0
    assert items("U009").at["重点工作办结率", "value"] < 1.0
    assert items("U011").at["社会效益", "state"] == "missing"
    waiting = evaluate(demo_store, "U023", 2025)
    assert waiting.is_draft and set(waiting.missing["evidence"]) >= {"department_scores"}
    plain = evaluate(demo_store, "U001", 2025)
    assert not plain.is_draft and plain.rating is not None


def test_the_framework_is_a_preset_checked_on_load(tmp_path):
    import yaml

    from perfkit.text import load_yaml

    from importlib import resources

    base = load_yaml(resources.files("perfkit.rules").joinpath("default.yaml").read_text(encoding="utf-8"))

    def refused(change, message):
        data = yaml.safe_load(yaml.safe_dump(base, allow_unicode=True))
        change(data["department"]["tree"])
        path = tmp_path / "p.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        with pytest.raises(Exception, match=message):
            load_preset(str(path))

    # a department formula reads a department's facts, not a project's
    refused(lambda t: t["投入"]["预算配置"]["在职人员控制率"].update(formula="revenue_life / service_life"),
            "unknown facts revenue_life")
    # a department framework has no 'indicators' rule
    refused(lambda t: t["投入"]["预算配置"]["在职人员控制率"].update(rule="indicators", formula=None,
                                                                     dimensions=["数量"]), "formula, expert or deduction")
    # its points sum to 100
    refused(lambda t: t["投入"]["预算配置"]["在职人员控制率"].update(points=13), "sum to 110")


def test_bad_department_data_is_refused_with_file_row_and_column(tmp_path):
    frames = constructed_department()
    frames["unit_accounts"].loc[1, "assets_in_use"] = 600_000.0      # above the school's 500,000 of assets
    frames["department_tasks"].loc[2, "kind"] = "chore"
    with perfkit.Store(tmp_path / "d.duckdb") as store:
        with pytest.raises(DataError) as caught:
            store.load(write_tables(tmp_path / "d", frames))
        assert "unit_accounts" not in store.tables()       # nothing half-loaded
    problems = {(p.file.split("/")[-1], p.row, p.column) for p in caught.value.problems}
    assert ("unit_accounts.csv", 3, "assets_in_use") in problems
    assert ("department_tasks.csv", 4, "kind") in problems


def test_the_target_tables_are_the_stores(demo_store):
    from perfkit.department import target_tables

    t = target_tables(demo_store, "U001", 2026)
    units = "(SELECT unit_id FROM units WHERE unit_id = 'U001' OR parent_id = 'U001')"
    basic = demo_store.query(f"SELECT sum(personnel_budget + public_budget) FROM unit_accounts "
                             f"WHERE year = 2026 AND unit_id IN {units}").iloc[0, 0]
    projects = demo_store.query(f"""SELECT p.project_id, b.amount, p.budget_type FROM projects p JOIN budgets b
                                    USING (project_id) WHERE p.year = 2026 AND b.year = 2026 AND p.unit_id IN {units}""")
    assert t.funds["amount"].sum() == pytest.approx(basic + projects["amount"].sum())
    assert set(t.funds.loc[t.funds["kind"] == "project", "source"]) == set(projects["budget_type"])
    overall = demo_store.query("SELECT name, target_value FROM department_indicators WHERE unit_id = 'U001' "
                               "AND year = 2026 ORDER BY indicator_no")
    assert t.overall["name"].tolist() == overall["name"].tolist()
    assert t.overall["target_value"].tolist() == overall["target_value"].tolist()
    targets = demo_store.query("SELECT count(*) FROM targets WHERE project_id IN (SELECT unnest($ids::VARCHAR[]))",
                               {"ids": projects["project_id"].tolist()}).iloc[0, 0]
    assert len(t.projects) == targets and set(t.projects["project_id"]) <= set(projects["project_id"])
    # the checks speak of the department or of one of its projects
    assert set(t.problems["table"]) <= {"department", *projects["project_id"]}
    assert not t.is_draft and t.record()["status"] == "final"


def test_the_target_checks_name_what_is_wrong(tmp_path):
    from perfkit.department import target_tables

    frames = constructed_department()
    frames["department_indicators"].loc[0, "target_value"] = None          # 新增学位: not quantified
    frames["department_indicators"].loc[1, "measure_unit"] = None          # 培训教师: no unit
    with perfkit.Store(tmp_path / "d.duckdb") as store:
        store.load(write_tables(tmp_path / "d", frames))
        t = target_tables(store, "U1", 2025)
    found = {(row.table, row.note.code) for row in t.problems.itertuples()}
    assert ("department", "target_not_quantified") in found and ("department", "target_without_unit") in found
    assert ("P1", "no_benefit_target") in found          # P1's targets: output and satisfaction only
    assert t.funds["amount"].sum() == pytest.approx(2_000_000 + 500_000 + 1_000_000 + 200_000 + 1_000_000)
