"""Excel import templates: written per table, filled as a unit fills them, loaded exactly as the CSVs are."""
from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

import perfkit
from perfkit.cli import main
from perfkit.errors import DataError
from perfkit.schema import TABLES
from perfkit.templates import sheet_title, write_template, write_templates
from tests.conftest import write_tables


def _city(demo_frames) -> dict[str, pd.DataFrame]:
    """A consistent slice of the demo city: every table, a few hundred rows of each at most."""
    f = demo_frames
    projects = f["projects"][f["projects"]["project_id"].isin(
        sorted(f["panel_assignments"]["project_id"].unique())[:8]) | f["projects"].index.isin(range(40))
        | f["projects"]["project_id"].isin(f["projects"].groupby("category")["project_id"].first())]
    ids = set(projects["project_id"])
    directions = set(f["cost_records"]["direction"].unique()[:1]) | set(f["requests"]["direction"])
    out = {name: frame for name, frame in f.items() if name in ("units", "directions", "indicators", "experts",
                                                                  "requests", "request_targets", "request_scores",
                                                                  "price_index")}
    out["projects"] = projects
    for name in ("budgets", "execution", "targets", "actuals", "expert_scores", "findings", "panel_assignments",
                 "bond_projects", "bond_schedule", "guidance_funds", "fund_contributions", "fund_investments",
                 "service_contracts", "ppp_payments"):
        out[name] = f[name][f[name]["project_id"].isin(ids)]
    # the department level of three departments (their units' accounts, tasks, targets and review)
    departments = set(f["units"].loc[f["units"]["level"] == 1, "unit_id"][:3])
    members = set(f["units"].loc[f["units"]["unit_id"].isin(departments) | f["units"]["parent_id"].isin(departments),
                                 "unit_id"])
    for name in ("unit_accounts", "basic_execution"):
        out[name] = f[name][f[name]["unit_id"].isin(members)]
    for name in ("department_tasks", "department_indicators", "department_scores"):
        out[name] = f[name][f[name]["unit_id"].isin(departments)]
    out["task_projects"] = f["task_projects"][f["task_projects"]["task_id"].isin(out["department_tasks"]["task_id"])
                                              & f["task_projects"]["project_id"].isin(ids)]
    out["cost_records"] = f["cost_records"][f["cost_records"]["direction"].isin(directions)]
    out["cost_truth"] = f["cost_truth"][f["cost_truth"]["direction"].isin(directions)]
    return {name: out[name].reset_index(drop=True) for name in TABLES}


def test_a_template_has_labelled_headers_notes_drop_downs_and_formats(tmp_path):
    path = write_template("projects", tmp_path / "projects.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["项目", "填表说明", "代码表"]
    data = book["项目"]
    headers = [c.value for c in data[1]]
    assert headers[:3] == ["项目编码", "项目系列编码", "预算单位编码"] and data.freeze_panes == "A2"
    rules = {str(dv.sqref).split(":")[0]: dv for dv in data.data_validations.dataValidation}
    category = rules[chr(ord("A") + TABLES["projects"].columns.index("category")) + "2"]
    assert category.type == "list" and "代码表" in category.formula1
    lists = {column[0].value: [c.value for c in column[1:] if c.value] for column in book["代码表"].iter_cols()}
    assert lists["项目类别"][0] == "一般项目" and lists["是否新增项目"] == ["是", "否"]
    assert data.column_dimensions["A"].number_format == "@"           # a code typed as 007 stays 007
    assert data.column_dimensions["J"].number_format == "yyyy-mm-dd"
    notes = book["填表说明"]
    assert [c.value for c in notes[1]][:7] == ["列名", "字段", "含义", "类型", "单位", "必填", "允许取值"]
    assert notes["B2"].value == "project_id" and notes["F2"].value == "是"
    english = load_workbook(write_template("projects", tmp_path / "en.xlsx", lang="en"))
    assert english.sheetnames == ["Projects", "Notes", "Codes"] and english["Projects"]["A1"].value == "Project ID"


def test_filled_templates_load_exactly_as_the_csvs(demo_frames, tmp_path):
    city = _city(demo_frames)
    write_templates(tmp_path / "xlsx", frames=city)
    book = load_workbook(tmp_path / "xlsx" / "budgets.xlsx")        # what users add: a sheet, blank rows
    book.create_sheet("我的备注")["A1"] = "二〇二五年报送"
    sheet = book["预算安排"]
    for row in range(sheet.max_row + 1, sheet.max_row + 4):
        sheet.cell(row=row, column=1, value="  ")
    book.save(tmp_path / "xlsx" / "budgets.xlsx")
    write_tables(tmp_path / "csv", city)
    with perfkit.Store(tmp_path / "from_xlsx.duckdb") as a, perfkit.Store(tmp_path / "from_csv.duckdb") as b:
        assert a.load(tmp_path / "xlsx") == b.load(tmp_path / "csv")
        for name in TABLES:
            pd.testing.assert_frame_equal(a.table(name), b.table(name), obj=name)


def test_a_bad_cell_of_a_template_is_named_by_workbook_sheet_and_cell(demo_frames, tmp_path):
    city = _city(demo_frames)
    write_templates(tmp_path, tables=["budgets"], frames=city)
    write_tables(tmp_path, {k: v for k, v in city.items() if k != "budgets"})
    book = load_workbook(tmp_path / "budgets.xlsx")
    book["预算安排"]["C4"] = "一百万"                                    # text in the amount column
    book.save(tmp_path / "budgets.xlsx")
    with pytest.raises(DataError) as caught:
        perfkit.Store(tmp_path / "s.duckdb").load(tmp_path)
    assert caught.value.problems[0].render("zh").startswith("budgets.xlsx，预算安排!C4，“年初预算”列：")
    assert not (tmp_path / "s.duckdb").exists() or "budgets" not in perfkit.Store(tmp_path / "s.duckdb").tables()


def test_the_templates_command(tmp_path, capsys):
    assert main(["templates", str(tmp_path / "t"), "--tables", "experts", "panel_assignments"]) == 0
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["experts.xlsx", "panel_assignments.xlsx"]
    assert "已生成 2 份导入模板" in capsys.readouterr().out
    assert main(["templates", str(tmp_path / "t"), "--tables", "budget"]) == 2
    assert "budget" in capsys.readouterr().err
    assert sheet_title("panel_assignments") == "评审专家组"
