"""The expert panel's Excel round trip: sheets out, filled as an expert fills them (openpyxl), collected back;
every kind of bad return refused precisely with nothing changed; conflicts of interest at load."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

import perfkit
from perfkit.cli import main
from perfkit.datasets import fill_demo_sheets
from perfkit.errors import DataError
from perfkit.evaluation import evaluate
from perfkit.sheets import BLOCK, collect_sheets, panel_items, read_sheet, write_sheets

PROJECT = "P202300014"        # a demo panel of five, one member recused (planted)


@pytest.fixture
def store_copy(demo_store_path, tmp_path) -> Path:
    path = tmp_path / "perfkit.duckdb"
    shutil.copy(demo_store_path, path)
    return path


def _sheets(store_path: Path, folder: Path, project: str = PROJECT, **kwargs) -> list[Path]:
    with perfkit.Store(store_path, read_only=True) as store:
        return write_sheets(store, project, folder, **kwargs)


def _scores(store_path: Path, project: str = PROJECT) -> pd.DataFrame:
    with perfkit.Store(store_path, read_only=True) as store:
        return store.query("SELECT * FROM expert_scores WHERE project_id = ? ORDER BY expert_id, item", [project])


def _edit(path: Path, **cells) -> None:
    """Change cells of the scores sheet as an expert does in Excel (openpyxl ignores the protection)."""
    book = load_workbook(path)
    sheet = book[book.sheetnames[1]]
    for cell, value in cells.items():
        sheet[cell] = value
    book.save(path)


def test_sheets_go_to_the_panel_without_the_recused_member(store_copy, tmp_path):
    paths = _sheets(store_copy, tmp_path / "out")
    assert [p.name.split("_")[1] for p in paths] == ["E006", "E019", "E024", "E027", "E032"]   # E041 recused
    book = load_workbook(paths[0])
    assert book.sheetnames == ["封面", "评分表", BLOCK]
    assert book[BLOCK].sheet_state == "veryHidden" and book[BLOCK].protection.sheet
    assert book.security.lockStructure                       # no sheet renamed, deleted or unhidden
    scores = book["评分表"]
    assert scores.protection.sheet
    items = panel_items(category="purchased_service")      # the project's field: its framework's expert items
    assert items != panel_items() and [scores[f"C{2 + n}"].value for n in range(len(items))] == [i["item"] for i in items]
    assert not scores["F2"].protection.locked and scores["C2"].protection.locked   # only the answers are editable
    # Excel's own validation: a decimal from 0 to the item's points in each score cell, a yes/no declaration
    rules = {str(dv.sqref): dv for dv in scores.data_validations.dataValidation}
    assert rules["F2"].type == "decimal" and (rules["F2"].formula1, rules["F2"].formula2) == ("0", "3")
    assert rules["F7"].formula2 == "4"                         # 资金到位率: 4 points
    declaration = 2 + len(items) + 1
    assert rules[f"F{declaration}"].type == "list" and "是" in rules[f"F{declaration}"].formula1
    cover = [c for row in book["封面"].iter_rows(values_only=True) for c in row if c]
    assert any("P202300014" in str(c) for c in cover) and "绩效目标及完成情况" in cover


def test_a_conflicted_or_unknown_expert_gets_no_sheet(store_copy, tmp_path):
    with pytest.raises(DataError, match="declared a conflict of interest"):
        _sheets(store_copy, tmp_path / "out", experts=["E041"])
    with pytest.raises(DataError, match="not on the panel"):
        _sheets(store_copy, tmp_path / "out", experts=["E001"])
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_the_round_trip_gives_back_the_same_scores_and_the_same_evaluation(store_copy, tmp_path):
    before, scores_before = _total(store_copy), _scores(store_copy)
    folder = tmp_path / "returned"
    _sheets(store_copy, folder, lang="en")
    assert len(fill_demo_sheets(folder, store_copy)) == 5
    _edit(next(folder.glob("*E006*")), G2="依据充分，论证完整")
    outcome = collect_sheets(folder, store_copy)
    assert outcome.loaded == {PROJECT: ["E006", "E019", "E024", "E027", "E032"]} and not outcome.problems
    after = _scores(store_copy)
    pd.testing.assert_frame_equal(after, scores_before, check_exact=False, rtol=1e-12)
    assert _total(store_copy) == pytest.approx(before, abs=1e-9)
    with perfkit.Store(store_copy, read_only=True) as store:
        log = store.table("expert_scores_log")
        comments = store.table("expert_comments")
    assert len(log) == len(scores_before) and set(log["project_id"]) == {PROJECT}    # the old ones are kept
    assert comments.to_dict("records") == [{"project_id": PROJECT, "expert_id": "E006", "item": "立项依据充分性",
                                            "comment": "依据充分，论证完整"}]


def _total(store_path: Path) -> float:
    with perfkit.Store(store_path, read_only=True) as store:
        return evaluate(store, PROJECT).total


def test_a_recollect_replaces_the_project_scores_and_logs_the_old(store_copy, tmp_path):
    folder = tmp_path / "returned"
    paths = _sheets(store_copy, folder)
    fill_demo_sheets(folder, store_copy)
    _edit(paths[0], F2=0.5)
    collect_sheets(folder, store_copy)
    row = _scores(store_copy).query("expert_id == 'E006' and item == '立项依据充分性'")
    assert row["score"].iloc[0] == pytest.approx(0.5 / 3 * 100)
    collect_sheets(folder, store_copy)                           # the same again: the same scores, logged twice
    with perfkit.Store(store_copy, read_only=True) as store:
        assert len(store.table("expert_scores_log")) == 2 * len(_scores(store_copy))


BAD_RETURNS = [
    # (the sheet spoilt, what the expert did, the cell and the words of the refusal)
    (1, dict(F3=5.5), "评分表!F3", "exceeds the item's 3 points"),              # above the points
    (1, dict(F4="良好"), "评分表!F4", "is not a number"),                       # text in a score cell
    (2, dict(F5=None), "评分表!F5", "no score for"),                            # a score left blank
    (2, dict(F2=-1), "评分表!F2", "is negative"),
    (3, dict(F10=None), "评分表!F10", "declaration of no conflict"),            # not ticked
    (4, dict(F10="否"), "评分表!F10", "not 'Yes'"),                              # declaration says no
]


def test_every_bad_cell_is_refused_naming_file_sheet_and_cell_and_nothing_changes(store_copy, tmp_path):
    folder = tmp_path / "returned"
    paths = _sheets(store_copy, folder)
    fill_demo_sheets(folder, store_copy)
    for sheet, cells, _, _ in BAD_RETURNS:
        _edit(paths[sheet], **cells)
    _edit(paths[0], F2=0.1)                                   # a valid change in another sheet of the project
    before = _scores(store_copy)
    outcome = collect_sheets(folder, store_copy)
    assert outcome.loaded == {} and PROJECT in outcome.refused
    shown = [p.render("en") for p in outcome.problems]
    for sheet, _, where, words in BAD_RETURNS:
        assert any(s.startswith(f"{paths[sheet].name}, {where}") and words in s for s in shown), (where, shown)
    assert not any(s.startswith(paths[0].name) for s in shown)
    pd.testing.assert_frame_equal(_scores(store_copy), before)     # all or nothing per project


def test_structural_damage_is_refused(store_copy, tmp_path):
    folder = tmp_path / "returned"
    paths = _sheets(store_copy, folder)
    fill_demo_sheets(folder, store_copy)
    book = load_workbook(paths[0])                           # a deleted row shifts the items
    book["评分表"].delete_rows(3)
    book.save(paths[0])
    book = load_workbook(paths[1])                           # a renamed sheet
    book["评分表"].title = "打分"
    book.save(paths[1])
    shutil.copy(paths[2], folder / "second copy.xlsx")       # a sheet filled twice
    paths[3].write_bytes(b"PK\x03\x04 not really a workbook")  # a damaged file
    shutil.copy(paths[4], folder / "saved as old excel.xls")   # another format
    (folder / "scores.csv").write_text("item,score\n立项依据充分性,3\n", encoding="utf-8")
    before = _scores(store_copy)
    outcome = collect_sheets(folder, store_copy)
    shown = "\n".join(p.render("en") for p in outcome.problems)
    assert f"{paths[0].name}, 评分表!C3: this row should hold item '立项程序规范性'" in shown
    assert f"{paths[1].name}: sheet '评分表' is missing (renamed or deleted?" in shown
    assert "second copy.xlsx: a second sheet of expert E024" in shown
    assert f"{paths[3].name}: cannot be read as a workbook" in shown
    assert "saved as old excel.xls: not a scoring sheet" in shown and "scores.csv: not a scoring sheet" in shown
    assert outcome.loaded == {}
    pd.testing.assert_frame_equal(_scores(store_copy), before)


def test_a_forged_or_conflicted_expert_and_a_changed_preset_are_refused(store_copy, tmp_path):
    folder = tmp_path / "returned"
    paths = _sheets(store_copy, folder)
    fill_demo_sheets(folder, store_copy)
    book = load_workbook(paths[0])                           # the recused member's name on a sheet
    book[BLOCK]["B3"] = "E041"
    book.save(paths[0])
    outcome = collect_sheets(folder, store_copy)
    assert any("E041 declared a conflict of interest" in p.render("en") for p in outcome.problems)
    # a preset whose expert items differ: the sheets were issued under another one
    changed = perfkit.rules.load_preset("default").model_dump()
    changed["expert_panel"]["spread_threshold"] = 30
    outcome = collect_sheets(folder, store_copy, preset=changed)
    assert any("issued under preset 'default', which differs" in p.render("en") for p in outcome.problems)


def test_all_or_nothing_is_per_project(store_copy, tmp_path):
    folder = tmp_path / "returned"
    with perfkit.Store(store_copy, read_only=True) as store:
        other = store.query("""SELECT min(project_id) FROM panel_assignments WHERE project_id <> ?
                               AND NOT conflict""", [PROJECT]).iloc[0, 0]
    good = _sheets(store_copy, folder, project=other)
    bad = _sheets(store_copy, folder)
    fill_demo_sheets(folder, store_copy)
    _edit(good[0], F2=0.0)
    _edit(bad[0], F2=99)
    before = _scores(store_copy)
    outcome = collect_sheets(folder, store_copy)
    assert list(outcome.loaded) == [other] and list(outcome.refused) == [PROJECT]
    pd.testing.assert_frame_equal(_scores(store_copy), before)                           # the bad one unchanged
    assert _scores(store_copy, other).query("item == '立项依据充分性'")["score"].min() == 0.0   # the good one in


def test_the_command_line_round_trip(store_copy, tmp_path, capsys):
    folder = tmp_path / "returned"
    assert main(["panel", "sheets", "--project", PROJECT, "--output-dir", str(folder), "--store", str(store_copy)]) == 0
    shown = capsys.readouterr().out
    assert "已为项目 P202300014 生成 5 份专家评分表" in shown and "专家 E041 回避（已申报利益冲突）" in shown
    fill_demo_sheets(folder, store_copy)
    _edit(next(folder.glob("*E019*")), F3=5.5)
    assert main(["panel", "collect", str(folder), "--store", str(store_copy)]) == 3
    said = capsys.readouterr().err
    assert "评分表!F3：“立项程序规范性”的得分 5.5 超过该指标的分值 3 分" in said and "Traceback" not in said
    fill_demo_sheets(folder, store_copy)
    assert main(["panel", "collect", str(folder), "--store", str(store_copy), "--lang", "en"]) == 0
    assert "loaded the scores of 5 expert(s)" in capsys.readouterr().out
    ids = tmp_path / "ids.txt"
    ids.write_text("expert_id\nE019\n", encoding="utf-8")
    assert main(["panel", "sheets", "--project", PROJECT, "--experts", str(ids), "--output-dir",
                 str(tmp_path / "one"), "--store", str(store_copy)]) == 0
    assert [p.name.split("_")[1] for p in (tmp_path / "one").iterdir()] == ["E019"]
    assert main(["panel", "sheets", "--project", "P999", "--output-dir", str(tmp_path / "x"),
                 "--store", str(store_copy)]) == 3
    assert "P999" in capsys.readouterr().err


def test_conflicts_of_interest_are_refused_at_load(demo_frames):
    frames = {k: v.copy() for k, v in demo_frames.items()}
    assignments = frames["panel_assignments"]
    recused = assignments.index[assignments["conflict"]][0]
    assignments.loc[recused, "conflict"] = False                       # the department's staff, undeclared
    with pytest.raises(DataError) as caught:
        perfkit.Store(":memory:").load_frames(frames)
    assert f"works for {frames['experts'].set_index('expert_id').at[assignments.at[recused, 'expert_id'], 'unit_id']}" \
        in str(caught.value)
    frames = {k: v.copy() for k, v in demo_frames.items()}
    row = frames["panel_assignments"].loc[frames["panel_assignments"]["conflict"]].iloc[0]
    extra = frames["expert_scores"].query("project_id == @row.project_id").head(1).assign(expert_id=row.expert_id)
    frames["expert_scores"] = pd.concat([frames["expert_scores"], extra], ignore_index=True)
    with pytest.raises(DataError, match=f"expert {row.expert_id} declared a conflict"):
        perfkit.Store(":memory:").load_frames(frames)


def test_read_sheet_reads_grade_items_from_their_drop_down(store_copy, tmp_path):
    preset = perfkit.rules.load_preset("default").model_dump()
    preset["frameworks"]["purchased_service"]["tree"]["决策"]["项目立项"]["立项依据充分性"]["scale"] = "grade"
    path = _sheets(store_copy, tmp_path / "out", preset=preset)[0]
    scores = load_workbook(path)["评分表"]
    rules = {str(dv.sqref): dv for dv in scores.data_validations.dataValidation}
    assert any("F2" in ref and dv.type == "list" and "达成" in dv.formula1 for ref, dv in rules.items())
    fill_demo_sheets(path.parent, store_copy)
    _edit(path, F2="部分达成并具有一定效果")
    found = read_sheet(path, preset, {PROJECT: "purchased_service"})
    assert not found.problems
    assert found.scores.set_index("item").at["立项依据充分性", "score"] == pytest.approx(70.0)   # the band's middle
    _edit(path, F2="很好")
    assert "not one of the drop-down's grades" in read_sheet(path, preset, {PROJECT: "purchased_service"}) \
        .problems[0].render("en")
    # read without the project's category, the sheet's items are not the regular tree's: refused, not misread
    assert "items" in read_sheet(path, preset).problems[0].render("en")


def test_the_example_notebook_walks_the_round_trip_with_plain_papermill(store_copy, tmp_path):
    import json

    import papermill

    source = Path(__file__).parent.parent / "notebooks" / "panel_round_trip.ipynb"
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(source), str(out), parameters={"store": str(store_copy),
                                                                   "work_dir": str(tmp_path / "work")},
                               cwd=str(tmp_path), progress_bar=False)
    shown = json.dumps(json.loads(out.read_text(encoding="utf-8")), ensure_ascii=False)
    assert "'loaded': {'P202300014': ['E006', 'E019', 'E024', 'E027', 'E032']}" in shown
    assert "ICC(2,k)" in shown and "去掉最高最低后平均" in shown
    assert len(list((tmp_path / "work" / "sheets").glob("*.xlsx"))) == 5
    pd.testing.assert_frame_equal(_scores(store_copy), _scores(tmp_path / "work" / "perfkit.duckdb"))


def test_a_collect_reads_the_current_scores_under_the_load_lock(store_copy):
    """update_store hands its changes the store as it is under the load lock: a load between the check of the
    sheets and the write cannot be lost (a second load at that moment is refused or waits)."""
    from perfkit.store import load_lock, update_store

    seen = []

    def changes(store):
        with pytest.raises(DataError, match="load"):
            with load_lock(store_copy, wait=0):
                pass
        seen.append(len(store.table("expert_scores")))
        return {}, {"expert_comments": pd.DataFrame({"project_id": ["P1"], "expert_id": ["E1"], "item": ["x"],
                                                     "comment": ["ok"]})}

    with perfkit.Store(store_copy, read_only=True) as store:
        rows = len(store.table("expert_scores"))
    update_store(store_copy, changes)
    assert seen == [rows]
    with perfkit.Store(store_copy, read_only=True) as store:
        assert store.table("expert_comments")["comment"].tolist() == ["ok"]
