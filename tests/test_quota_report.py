"""The quota standards notebook and command, run for real on the demo city."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nbformat
from openpyxl import load_workbook

from perfkit.cli import main
from perfkit.reports.quota_standards import quota_study
from perfkit.reports import run_report


def _road(store):
    return store.query("SELECT direction_id FROM directions WHERE name = '道路养护'")["direction_id"].iloc[0]


@pytest.mark.notebook
def test_quota_notebook_runs_through_papermill(demo_store, demo_store_path, tmp_path):
    direction = _road(demo_store)
    excel = tmp_path / "road.xlsx"
    report = run_report("quota-standards", {"direction": direction, "store": str(demo_store_path),
                                            "excel": str(excel)}, output_dir=tmp_path)
    html = report.html.read_text(encoding="utf-8")
    assert "成本定额标准测算：道路养护" in html and "随机成本前沿" in html and "二次平均法" in html
    assert "调整系数" in html and "方法说明" in html
    assert html.count("jp-RenderedImage jp-OutputArea-output") == 3      # drivers, efficiency, over the years
    assert "四、成本效率的年度变化（面板前沿）" in html and "Battese-Coelli（1992）" in html
    assert load_workbook(excel).sheetnames == ["定额标准", "调整系数"]
    assert nbformat.read(report.notebook, as_version=4).metadata["papermill"]["parameters"]["direction"] == direction


def test_method_comparison_on_the_demo_truth(demo_store):
    study = quota_study(demo_store, _road(demo_store), method="frontier")
    table = study.comparison()
    assert list(table.index) == ["mean", "median", "two_stage", "percentile", "ols", "rlm", "quantile", "frontier"]
    assert table["truth_error"].idxmin() == "frontier"
    assert table.loc["frontier", "truth_error"] < table.loc["mean", "truth_error"] / 5
    assert table["mape"].between(0, 0.5).all()
    assert (table.loc["two_stage", "basic_quota"] < table.loc["mean", "basic_quota"])
    assert study.model.detail.efficiency().mean() < 1
    for method in ("mean", "median", "two_stage", "percentile"):   # bootstrap intervals of the statistics
        assert table.loc[method, "ci_low"] <= table.loc[method, "basic_quota"] <= table.loc[method, "ci_high"]
    assert list(study.comparison_table().columns[:2]) == ["基本定额（元/单位）", "95%置信区间"]


def test_the_comparison_reuses_the_standards_candidates_and_equals_fitting_them_again(demo_store):
    from dataclasses import replace

    import pandas as pd

    study = quota_study(demo_store, _road(demo_store))
    assert set(study.candidates) == set(study.preset.quota.candidates)     # fitted once, by build_standards
    assert study.model is study.candidates[study.method]["model"]
    pd.testing.assert_frame_equal(study.comparison(), replace(study, candidates={}).comparison(), check_exact=True)
    # options of the caller's own: the candidates were fitted with them, the comparison is not
    assert quota_study(demo_store, _road(demo_store), screen="iqr").candidates == {}


def test_standards_command_writes_store_and_excel(demo_dir, tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    assert main(["load", str(demo_dir), "--store", str(store)]) == 0
    workbook = tmp_path / "standards.xlsx"
    assert main(["standards", "--store", str(store), "--output", str(workbook), "--method", "two_stage"]) == 0
    assert "道路养护" in capsys.readouterr().out
    sheet = load_workbook(workbook)["定额标准"]
    assert sheet.max_row == 6 and sheet.cell(row=2, column=4).value == "二次平均法"
    import perfkit
    with perfkit.Store(store, read_only=True) as s:
        assert "quota_standards" in s.tables()


def test_a_panel_frontier_of_unit_years_shows_efficiency_over_time(demo_store):
    study = quota_study(demo_store, _road(demo_store))
    res = study.panel()
    assert res is not None and res.model.n_units >= 10          # unit × region × grade groups seen over years
    assert res.model.panel_model in ("bc92", "pitt-lee")
    totals = study.unit_years()
    assert len(res.efficiency()) == len(totals) and (res.efficiency() <= 1).all()
    # region and grade enter as cost factors: the coefficient of a cheaper grade is below zero
    assert any(name.startswith("C(grade)") for name in res.params.index)
    table = study.panel_table()
    assert list(table.iloc[:, 0]) == [str(y) for y in sorted(totals["year"].unique())]
    assert "η" in study.panel_note().data


def test_a_ranking_of_units_is_never_shown_without_its_interval(demo_store):
    """Issue 26, 7: each group's efficiency in its latest year beside its Horrace-Schmidt 95% interval,
    best first, and the note says how many cannot be told apart from the best."""
    study = quota_study(demo_store, _road(demo_store))
    res = study.panel()
    table = study.ranking_table()
    bounds = res.efficiency_interval(0.95)
    totals = pd.concat([study.unit_years().reset_index(drop=True), bounds], axis=1)
    latest = totals.loc[totals.groupby("entity")["year"].idxmax()].set_index("entity")
    assert len(table) == res.model.n_units
    shown = table.set_index(table.columns[1])
    for entity in shown.index[:5]:
        assert float(shown.at[entity, "成本效率"]) == pytest.approx(latest.at[entity, "efficiency"], abs=5e-4)
        assert float(shown.at[entity, "区间下限"]) <= float(shown.at[entity, "成本效率"]) <= float(shown.at[entity, "区间上限"])
    efficiencies = table["成本效率"].astype(float)
    assert efficiencies.is_monotonic_decreasing
    best = table.iloc[0, 1]
    overlap = int(((latest["upper"] >= latest.at[best, "lower"]) & (latest.index != best)).sum())
    assert f"与效率最高者区间重叠的有 {overlap} 个" in study.ranking_note().data


def test_every_demo_direction_has_a_panel_section_that_can_be_shown(demo_store):
    """With η not significant the section uses Pitt–Lee; with no persistent inefficiency it says so, with no table."""
    for direction in demo_store.query("SELECT DISTINCT direction FROM cost_records ORDER BY 1")["direction"]:
        study = quota_study(demo_store, direction)
        note = study.panel_note().data
        table = study.panel_table()
        assert ("γ 趋于 0" in note) == (table is None), direction
        if table is not None:
            fig = study.plot_panel()
            shown = [label.get_text() for label in fig.axes[0].get_xticklabels()]
            # every year of the panel, in order (an unbalanced panel once put a missing year last)
            assert shown == [str(y) for y in sorted(study.unit_years()["year"].unique())], direction
        assert (study.ranking_table() is None) == (table is None), direction


def test_the_conclusion_gives_the_reason_in_the_tables_figures(demo_store):
    """The reason for the method names the candidates and the figures of the comparison table; the
    OLS row equal to the mean's is explained as the identity it is; the two efficiency models are named."""
    from perfkit.text import text
    study = quota_study(demo_store, "D036")
    q = study.standards.quotas.loc["D036"]
    table = study.comparison_table()
    method = table.index[table.index.str.contains("中位数")][0]
    conclusion = study.conclusion().data
    assert f"采用{method}" in conclusion and "候选方法（" in conclusion
    row = table.loc[method]
    assert f"记录达标率 {row['记录达标率']}，交叉验证误差 {row['交叉验证误差']}" in conclusion
    assert q["method"] == "median" and "验证误差最小" not in conclusion.split("。")[1]   # one candidate: no contest
    frame = study.comparison()
    assert frame.at["ols", "basic_quota"] == pytest.approx(frame.at["mean", "basic_quota"], rel=1e-12)
    assert f"{frame.at['ols', 'basic_quota']:,.2f}" in study.identities().data
    assert "截面随机前沿" in text("quota_standards.efficiency_title", "zh", mean=0.8)


def test_dea_beside_the_frontier_and_the_malmquist_table(demo_store):
    """Issue 26, 8: the report compares DEA and SFA rankings of the same groups and shows productivity change."""
    from perfkit.quota import dea, malmquist, rank_agreement
    study = quota_study(demo_store, _road(demo_store))
    totals = study.unit_years().reset_index(drop=True)
    found = study.dea_years()
    year = totals["year"].max()
    mine = totals["year"] == year
    direct = dea(totals.loc[mine, ["cost"]], totals.loc[mine, ["quantity"]], rts="vrs").efficiency.to_numpy()
    assert found[mine].to_numpy() == pytest.approx(direct)
    ranked = study._ranking()
    rho = rank_agreement(ranked["efficiency"], ranked["dea"])["rho"]
    assert f"ρ = {rho:.2f}" in study.ranking_note().data and "DEA" in study.ranking_note().data
    table = study.malmquist_table()
    m = malmquist(totals[["cost"]], totals[["quantity"]], totals["entity"], totals["year"])
    last = m[m["period"] == year]
    assert table.iloc[-1, 0] == f"{year - 1}–{year}" and int(table.iloc[-1, 1]) == len(last)
    assert float(table.iloc[-1, 2]) == pytest.approx(float(np.exp(np.log(last["m"]).mean())), abs=5e-4)
    assert "Malmquist" in study.malmquist_note().data
