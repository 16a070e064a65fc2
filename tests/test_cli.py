"""The perfkit command line: --help everywhere, clear errors, the load command."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from perfkit.cli import build_parser, main
from perfkit.dictionary import data_dictionary
from conftest import tiny_tables, write_tables

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["demo", "demo-data", "load", "tables", "report", "batch", "standards", "results-application", "ex-ante",
            "monitor", "panel", "templates", "bundle", "data-dictionary"]


def test_every_command_has_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    top = capsys.readouterr().out
    for command in COMMANDS:
        assert command in top
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        assert done.value.code == 0
        assert "usage: perfkit " + command in capsys.readouterr().out


def test_installed_entry_point():
    result = subprocess.run([str(Path(sys.executable).parent / "perfkit"), "--help"],
                            capture_output=True, text=True, check=True)
    assert "perfkit" in result.stdout


def test_load_reports_bad_input_and_exits_3(tmp_path, capsys):
    frames = tiny_tables()
    frames["budgets"].loc[0, "amount"] = -1.0
    directory = write_tables(tmp_path / "bad", frames)
    store = tmp_path / "s.duckdb"
    assert main(["load", str(directory), "--store", str(store)]) == 3
    err = capsys.readouterr().err
    assert "未作任何修改" in err and "budgets.csv，第 2 行，“amount”列：金额为负数 -1.0（须 ≥ 0）" in err
    assert main(["load", str(directory), "--store", str(store), "--lang", "en"]) == 3
    err = capsys.readouterr().err
    assert "budgets.csv, row 2, column 'amount': negative amount -1.0 (must be ≥ 0)" in err


def test_load_then_tables(tiny_dir, tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    assert main(["load", str(tiny_dir), "--store", str(store)]) == 0
    assert main(["tables", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "units" in out and "execution" in out


def test_demo_data_writes_every_table(tmp_path):
    assert main(["demo-data", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "units.csv").exists() and (tmp_path / "cost_truth.csv").exists()


def test_data_dictionary_is_up_to_date():
    assert (ROOT / "data" / "README.md").read_text(encoding="utf-8") == data_dictionary(), \
        "data/README.md is stale: run `perfkit data-dictionary`"


def test_parser_knows_every_command():
    choices = build_parser()._subparsers._group_actions[0].choices
    assert sorted(choices) == sorted(COMMANDS)
