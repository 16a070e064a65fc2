"""Problems in the user's language: every refusal comes from the catalogue, in Chinese by default and in
English with --lang en, naming the column as the file names it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import perfkit
from perfkit.cli import main
from perfkit.errors import DataError, Problem, reason
from perfkit.evaluation import score_indicator
from perfkit.text import catalogue, note, render
from tests.conftest import tiny_tables, write_tables

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for p in (ROOT / "perfkit").rglob("*.py")]


def test_every_reason_the_code_gives_is_in_the_catalogue_in_both_languages():
    entries = catalogue()["text"]["problems"]
    used = {code for path in SOURCES for code in re.findall(r"""reason\(\s*["'](\w+)["']""",
                                                             path.read_text(encoding="utf-8"))}
    assert len(used) > 60
    assert used <= set(entries), sorted(used - set(entries))
    for code, entry in entries.items():
        if code != "where":
            assert set(entry) == {"zh", "en"} and entry["zh"] and entry["en"], code
            assert re.search(r"[\u4e00-\u9fff]", entry["zh"]), code          # the Chinese is Chinese


def test_no_problem_is_worded_in_code():
    """A Problem's text is a catalogue reason (or text the catalogue already worded), never an f-string."""
    literal = re.compile(r"""Problem\([^()]*?,\s*f?["']""")
    for path in SOURCES:
        source = path.read_text(encoding="utf-8")
        assert not literal.search(source), (path.name, literal.search(source).group(0))


def test_a_problem_renders_in_either_language_and_str_speaks_the_default(monkeypatch):
    problem = Problem("cost_records.csv", reason("not_a_number", value="abc"), row=11, column="cost")
    assert problem.render("en") == ("cost_records.csv, row 11, column 'cost': wrong type: 'abc' is not a finite "
                                    "number (a comma only separates thousands: 1,500 or 1500)")
    assert problem.render("zh") == ("cost_records.csv，第 11 行，“cost”列：类型错误：'abc' 不是有效数字"
                                    "（逗号只用于千位分隔：1,500 或 1500）")
    monkeypatch.delenv("PERFKIT_LANG")
    assert str(problem) == problem.render("zh") and str(DataError(problem)) == problem.render("zh")
    monkeypatch.setenv("PERFKIT_LANG", "en")
    assert str(DataError([problem] * 21)).splitlines()[-1] == "... and 1 more problem(s)"


def test_load_names_the_column_as_the_file_does(tmp_path, capsys):
    """A file with Chinese headers is told about its Chinese column, in Chinese."""
    frames = tiny_tables()
    frames["budgets"].loc[0, "amount"] = -1.0
    labels = catalogue()["tables"]["budgets"]["columns"]
    frames["budgets"] = frames["budgets"].rename(columns={c: labels[c]["zh"] for c in frames["budgets"].columns})
    directory = write_tables(tmp_path / "bad", frames)
    store = tmp_path / "s.duckdb"
    assert main(["load", str(directory), "--store", str(store)]) == 3
    assert "budgets.csv，第 2 行，“年初预算”列：金额为负数 -1.0（须 ≥ 0）" in capsys.readouterr().err
    with perfkit.Store(store) as opened, pytest.raises(DataError) as refused:
        opened.load(directory)
    assert refused.value.problems[0].column == "年初预算"
    with perfkit.Store(store, read_only=True) as opened:
        assert "budgets" not in opened.tables()                              # nothing loaded


def test_a_reason_inside_a_note_speaks_the_notes_language():
    with pytest.raises(DataError) as refused:
        score_indicator("positive", points=5, target=-1, actual=3)
    message = note("cannot_score", reason=refused.value.problems[0].problem)
    assert render(message, "en") == "cannot be scored: a negative target (-1) cannot be scored"
    assert render(message, "zh") == "无法评分：负的目标值（-1）无法计分"
