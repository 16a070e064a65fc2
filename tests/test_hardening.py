"""Bad input refused precisely (file, the file's own line, column, problem) with the store unchanged,
and a command line that ends every failure in one line and an exit code."""
from __future__ import annotations

import hashlib
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import perfkit
from perfkit import DataError
from perfkit.cli import main
from conftest import tiny_tables, write_tables


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def loaded(tmp_path, tiny_dir):
    store = tmp_path / "s.duckdb"
    assert main(["load", str(tiny_dir), "--store", str(store)]) == 0
    return store


def _load_refused(store, directory, *expected):
    """Loading ``directory`` fails with problems matching ``expected`` and leaves ``store`` byte for byte."""
    before = _sha(store)
    with perfkit.Store(store) as opened, pytest.raises(DataError) as refused:
        opened.load(directory)
    assert _sha(store) == before
    shown = [str(p) for p in refused.value.problems]
    for pattern in expected:
        assert any(re.search(pattern, line) for line in shown), (pattern, shown[:5])
    return refused.value.problems


def _csv(tmp_path, name, text, encoding="utf-8"):
    directory = tmp_path / "bad"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.csv").write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return directory


BUDGETS = "project_id,year,amount,adjusted_amount\n"


@pytest.mark.parametrize("amount, accepted", [("1,5", None), ("1,2,3,4", None), ("1,234.5", 1234.5),
                                              ("inf", None), ("Infinity", None), ("1e400", None), ("-1", None),
                                              ("1500", 1500.0)])
def test_amounts_commas_and_infinity(tmp_path, loaded, amount, accepted):
    directory = _csv(tmp_path, "budgets", BUDGETS + f'P1,2025,"{amount}",\n')
    if accepted is None:
        problems = _load_refused(loaded, directory, r"budgets\.csv, row 2, column 'amount'")
        assert len(problems) == 1
    else:
        with perfkit.Store(loaded) as store:
            store.load(directory)
            assert store.table("budgets")["amount"].iloc[0] == accepted


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False, min_value=0, max_value=1e12),
                 st.integers(min_value=0, max_value=10**12)))
def test_a_number_written_plainly_or_with_thousands_separators_reads_back(value):
    from perfkit.io import _coerce
    spelled = pd.Series([repr(float(value)), f"{value:,}" if isinstance(value, int) else f"{value:,.6f}"])
    numbers, bad = _coerce(spelled, "float64", None)
    assert not bad and numbers.tolist() == pytest.approx([float(value)] * 2, rel=1e-9, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="0123456789-/.", min_size=1, max_size=12))
def test_dates_are_iso_or_refused_never_misread(text):
    from perfkit.reports.preflight import iso_date
    from perfkit.errors import UsageError
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            stamp = iso_date(text)
        except UsageError:
            return  # 2026-13-45: refused
        assert stamp.strftime("%Y-%m-%d") == text
    else:
        with pytest.raises(UsageError):
            iso_date(text)


def test_blank_lines_keep_the_files_line_numbers(tmp_path, loaded):
    text = BUDGETS + "\n\nP1,2025,1000,\n\n" + "P1,2026,oops,\n"   # the bad value is on line 6
    directory = _csv(tmp_path, "budgets", text)
    _load_refused(loaded, directory, r"budgets\.csv, row 6, column 'amount'")


def test_a_stray_field_is_one_problem_on_its_line(tmp_path, loaded):
    directory = _csv(tmp_path, "budgets", BUDGETS + "P1,2025,1000,,extra\n")
    problems = _load_refused(loaded, directory, r"budgets\.csv, row 2: has 5 fields where the header has 4")
    assert len(problems) == 1


def test_a_file_cut_inside_a_character_is_reported_on_its_line(tmp_path, loaded):
    body = "unit_id,name,level,parent_id,field\n" + "".join(f"U{i},单位{i},1,,education\n" for i in range(3, 40))
    data = body.encode("utf-8") + "U99,市教".encode("utf-8")[:-1]    # the last character cut in half
    directory = _csv(tmp_path, "units", data)
    _load_refused(loaded, directory, r"units\.csv, row 39: cannot be decoded")


def test_a_header_only_file_says_so(tmp_path, loaded):
    for table, header in (("projects", ",".join(tiny_tables()["projects"].columns)),
                          ("actuals", ",".join(tiny_tables()["actuals"].columns))):
        directory = _csv(tmp_path / table, table, header + "\n")
        problems = _load_refused(loaded, directory, rf"{table}\.csv: has a header but no rows")
        assert len(problems) == 1


def test_nul_bytes_huge_names_and_reversed_periods(tmp_path, loaded):
    frames = tiny_tables()
    frames["units"].loc[1, "name"] = "市第一\x00中学"
    frames["units"].loc[0, "name"] = "很" * 1_000_000
    frames["projects"].loc[0, "end_date"] = pd.Timestamp("2024-12-31")
    directory = write_tables(tmp_path / "bad", {k: frames[k] for k in ("units", "projects")})
    _load_refused(loaded, directory, r"units\.csv, row 3, column 'name': control character",
                  r"units\.csv, row 2, column 'name': text of 1,000,000 characters",
                  r"projects\.csv, row 2, column 'end_date': end_date 2024-12-31 is before start_date 2025-01-01")


def test_timezone_aware_parquet_dates_keep_their_day(tmp_path, loaded):
    execution = tiny_tables()["execution"].copy()
    execution["month"] = execution["month"].dt.tz_localize("Asia/Shanghai")
    directory = tmp_path / "tz"
    directory.mkdir()
    execution.to_parquet(directory / "execution.parquet")
    with perfkit.Store(loaded) as store:
        store.load(directory)
        months = store.table("execution")["month"].dt.strftime("%Y-%m-%d").tolist()
    assert months == ["2025-01-31", "2025-02-28"]


# -- the command line -------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, code, message", [
    (["report", "monitoring", "--as-of", "2026-13-45"], 2, "2026-13-45 无效"),
    (["report", "monitoring", "--as-of", "31/08/2026"], 2, "31/08/2026 无效"),
    (["report", "monitoring", "--as-of", "2030-08-31"], 3, "没有 2030 年的项目"),
    (["report", "key-evaluation", "--project", "P_NOPE"], 3, "P_NOPE 不在数据库中"),
    (["report", "key-evaluation", "--project", "P_NOPE", "--lang", "en"], 3, "P_NOPE is not in the store"),
    (["report", "key-evaluation", "--project", "P1", "--format", "xls"], 2, "unknown report format"),
])
def test_report_errors_are_one_line_with_an_exit_code_and_no_kernel(demo_store_path, tmp_path, capsys, argv, code,
                                                                     message):
    assert main([*argv, "--store", str(demo_store_path), "--output-dir", str(tmp_path)]) == code
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())                      # no kernel ran, nothing was written


def test_commands_refuse_a_bad_date_as_usage(demo_store_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["monitor", "--as-of", "2026-13-45", "--store", str(demo_store_path)])
    assert done.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err


def test_no_store_and_debug(tmp_path, capsys):
    assert main(["report", "key-evaluation", "--project", "P1", "--store", str(tmp_path / "none.duckdb")]) == 3
    assert "perfkit load" in capsys.readouterr().err
    assert main(["report", "key-evaluation", "--project", "P1", "--store", str(tmp_path / "none.duckdb"),
                 "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err
    assert not (tmp_path / "none.duckdb").exists()


def test_results_application_help_shows_percent(capsys):
    with pytest.raises(SystemExit):
        main(["results-application", "--help"])
    out = capsys.readouterr().out
    assert "10%" in out and "10%%" not in out


def test_a_reader_never_blocks_a_load_and_keeps_its_snapshot(tmp_path, loaded):
    """A notebook holding the store open (another process) while `perfkit load` replaces a table."""
    import subprocess
    import sys
    import textwrap
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, perfkit
        with perfkit.Store({str(loaded)!r}, read_only=True) as store:
            print(store.query("SELECT count(*) AS n FROM budgets")["n"].iloc[0], flush=True)
            sys.stdin.readline()          # hold the store open until the load is done
            print(store.query("SELECT count(*) AS n FROM budgets")["n"].iloc[0], flush=True)
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "1"
        frames = tiny_tables()
        frames["budgets"] = pd.concat([frames["budgets"], frames["budgets"].assign(year=2026)], ignore_index=True)
        directory = write_tables(tmp_path / "more", {"budgets": frames["budgets"]})
        assert main(["load", str(directory), "--store", str(loaded)]) == 0      # not blocked by the reader
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"                         # its snapshot is consistent
    finally:
        reader.communicate(timeout=30)
    with perfkit.Store(loaded, read_only=True) as store:                        # the next reader sees the load
        assert store.query("SELECT count(*) AS n FROM budgets")["n"].iloc[0] == 2
        assert store.query("SELECT count(*) AS n FROM units")["n"].iloc[0] == 2   # the other tables kept


def test_a_refused_load_creates_no_store(tmp_path, capsys):
    frames = tiny_tables()
    frames["budgets"].loc[0, "amount"] = -1.0
    directory = write_tables(tmp_path / "bad", frames)
    store = tmp_path / "new.duckdb"
    assert main(["load", str(directory), "--store", str(store)]) == 3
    assert not store.exists() and not list(tmp_path.glob(".new.duckdb*"))


def test_a_second_load_waits_for_the_first_or_is_refused_never_lost(tmp_path, loaded, capsys):
    import threading

    from perfkit.store import load_lock
    frames = tiny_tables()
    more = write_tables(tmp_path / "more", {"budgets": pd.concat(
        [frames["budgets"], frames["budgets"].assign(year=2026)], ignore_index=True)})
    before = _sha(loaded)
    with load_lock(loaded):                                       # another load is writing
        assert main(["load", str(more), "--store", str(loaded)]) == 3
        assert main(["load", str(more), "--store", str(loaded), "--wait", "0.5"]) == 3
    assert _sha(loaded) == before
    assert "另一个导入正在写入该数据库" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:                          # a bad wait is a usage error
        main(["load", str(more), "--store", str(loaded), "--wait", "-1"])
    assert usage.value.code == 2

    released = threading.Event()

    def hold():
        with load_lock(loaded):
            released.wait(1.0)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert main(["load", str(more), "--store", str(loaded), "--wait", "30"]) == 0   # it waited its turn
    finally:
        released.set()
        holder.join()
    with perfkit.Store(loaded, read_only=True) as store:
        assert store.query("SELECT count(*) AS n FROM budgets")["n"].iloc[0] == 2


def test_two_loads_at_once_both_land(tmp_path, loaded):
    """Two `perfkit load` processes of different tables at the same moment: both changes are in the store."""
    import subprocess
    import sys
    frames = tiny_tables()
    budgets = write_tables(tmp_path / "budgets", {"budgets": pd.concat(
        [frames["budgets"], frames["budgets"].assign(year=2026)], ignore_index=True)})
    units = frames["units"].assign(name=frames["units"]["name"] + "（更名）")
    renamed = write_tables(tmp_path / "units", {"units": units})
    code = "import sys; from perfkit.cli import main; sys.exit(main(sys.argv[1:]))"
    runs = [subprocess.Popen([sys.executable, "-c", code, "load", str(folder), "--store", str(loaded),
                              "--wait", "120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for folder in (budgets, renamed)]
    assert [run.wait(timeout=180) for run in runs] == [0, 0]
    with perfkit.Store(loaded, read_only=True) as store:
        assert store.query("SELECT count(*) AS n FROM budgets")["n"].iloc[0] == 2
        assert store.query("SELECT count(*) AS n FROM units WHERE name LIKE '%（更名）'")["n"].iloc[0] == len(units)


def test_a_killed_loads_leftovers_are_removed_by_the_next_load(tmp_path, loaded, tiny_dir):
    stale = [loaded.with_name(f".{loaded.name}.99999.loading"), loaded.with_name(f".{loaded.name}.99999.loading.wal")]
    for path in stale:
        path.write_bytes(b"half a store")
    assert main(["load", str(tiny_dir), "--store", str(loaded)]) == 0
    assert not any(path.exists() for path in stale)


@pytest.mark.parametrize("where, why", [
    ("1=0) ORDER BY 1; COPY (SELECT * FROM units) TO '{out}'; SELECT 'x' AS subject WHERE (1=0", "closes more"),
    ("1=1; COPY (SELECT * FROM units) TO '{out}'", "second statement"),
    ("1=1 -- and the rest", "comment"),
    ("read_csv('{out}') IS NULL", "read_csv"),
    ("EXISTS (SELECT 1 FROM read_parquet('{out}'))", "table function"),
    ("length(getenv('HOME')) > 0", "getenv"),
    ("f.year = 2025 OR (1=1", "unclosed"),
])
def test_where_is_one_condition_or_refused_before_anything_runs(demo_store_path, tmp_path, capsys, where, why):
    out = tmp_path / "stolen.csv"
    assert main(["batch", "key-evaluation", "--store", str(demo_store_path), "--where", where.format(out=out),
                 "--output-dir", str(tmp_path / "r")]) == 2
    assert why in capsys.readouterr().err and not out.exists()
    assert not (tmp_path / "r").exists()


def test_a_where_condition_selects_and_touches_no_file(demo_store_path, tmp_path):
    from perfkit.reports.batch import batch_subjects
    with perfkit.Store(demo_store_path, read_only=True) as store:
        everything = batch_subjects(store, "key-evaluation")
        education = batch_subjects(store, "key-evaluation", where="u.field = 'education'")
        nested = batch_subjects(store, "key-evaluation",
                                where="u.unit_id IN (SELECT unit_id FROM units WHERE field = 'education')")
        assert 0 < len(education) < len(everything) and nested == education
        # the connection that runs it has no external access, whatever slips past the check
        with pytest.raises(Exception, match="(?i)external|permission|disabled"):
            batch_subjects(store, "key-evaluation", where=f"(SELECT count(*) FROM '{tmp_path}/x.csv') > 0")


@pytest.mark.parametrize("argv, code, said", [
    (["report", "key-evaluation"], 2, "--project required"),
    (["batch", "key-evaluation", "--year", "2025", "--jobs", "0"], 2, "--jobs"),
    (["batch", "key-evaluation", "--year", "2025", "--jobs", "-1"], 2, "--jobs"),
    (["batch", "key-evaluation", "--year", "2025", "--timeout", "-5"], 2, "--timeout"),
    (["batch", "key-evaluation", "--year", "2025", "--format", "exe"], 2, "exe"),
    (["batch", "key-evaluation", "--year", "1800"], 3, "year=1800"),
    (["batch", "key-evaluation", "--ids", "{tmp}/none.txt"], 3, "none.txt"),
    (["batch", "key-evaluation", "--ids", "{tmp}/gbk.txt"], 3, "gbk.txt"),
])
def test_exit_codes_and_checks_before_any_work(demo_store_path, tmp_path, capsys, argv, code, said):
    (tmp_path / "gbk.txt").write_bytes("P202500775\n项目\n".encode("gbk"))
    argv = [a.format(tmp=tmp_path) for a in argv] + ["--store", str(demo_store_path),
                                                     "--output-dir", str(tmp_path / "out")]
    try:
        got = main(argv)
    except SystemExit as exc:             # argparse's own refusals
        got = exc.code
    assert got == code and said in capsys.readouterr().err
    assert not (tmp_path / "out").exists()                         # nothing started, nothing written


def test_a_store_that_is_not_perfkits_is_refused_naming_it_and_never_created(tmp_path, capsys, demo_store_path):
    import shutil

    import duckdb
    assert main(["standards", "--store", str(tmp_path / "nope" / "x.duckdb")]) == 3
    assert not (tmp_path / "nope").exists()                       # no folder, no empty store
    (tmp_path / "text.duckdb").write_text("not a database", encoding="utf-8")
    assert main(["tables", "--store", str(tmp_path / "text.duckdb")]) == 3
    old = tmp_path / "old.duckdb"
    shutil.copyfile(demo_store_path, old)
    with duckdb.connect(str(old)) as con:
        con.execute("ALTER TABLE projects DROP COLUMN category")
    assert main(["report", "key-evaluation", "--project", "P202500775", "--store", str(old),
                 "--output-dir", str(tmp_path / "r")]) == 3
    said = capsys.readouterr().err
    assert "projects" in said and "category" in said and not (tmp_path / "r").exists()
    # a batch starts its kernels while it checks the store's tables: refused, it leaves none running
    from perfkit.reports import warm
    assert main(["batch", "key-evaluation", "--all", "--store", str(old), "--output-dir", str(tmp_path / "b"),
                 "--format", "html"]) == 3
    said = capsys.readouterr().err
    assert "projects" in said and "category" in said and not warm._spare and not warm._all


# -- the loader never stores a guess ---------------------------------------------------------------------
def test_a_partial_date_is_refused_but_a_month_means_its_last_day(tmp_path, loaded):
    frames = tiny_tables()
    projects = frames["projects"].astype({"start_date": object})
    projects.loc[0, "start_date"] = "2025-01"
    _load_refused(loaded, write_tables(tmp_path / "p", {"projects": projects}), r"projects\.csv.*第 2 行.*start_date|2025-01")
    execution = frames["execution"].astype({"month": object})
    execution.loc[0, "month"] = "2025-01"                     # a month column: documented as the month's last day
    assert main(["load", str(write_tables(tmp_path / "e", {"execution": execution})), "--store", str(loaded)]) == 0
    with perfkit.Store(loaded, read_only=True) as store:
        assert str(store.query("SELECT min(month) AS m FROM execution")["m"].iloc[0])[:10] == "2025-01-31"


def _workbook(path, rows, sheet="budgets", extra_sheets=(), edit=None):
    from openpyxl import Workbook
    book = Workbook()
    sheet_ = book.active
    sheet_.title = sheet
    for row in rows:
        sheet_.append(row)
    for name in extra_sheets:
        book.create_sheet(name)
    if edit:
        edit(sheet_)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path.parent


BUDGET_ROWS = [["project_id", "year", "amount", "adjusted_amount"], ["P1", 2025, 1_000_000, None]]


def test_excel_merged_cells_formulas_without_values_and_unclear_sheets_are_refused(tmp_path, loaded):
    merged = _workbook(tmp_path / "m" / "budgets.xlsx", BUDGET_ROWS + [["P1", 2026, 5, None]],
                       edit=lambda s: s.merge_cells("A2:A3"))
    _load_refused(loaded, merged, r"budgets\.xlsx.*A2:A3 are merged cells")
    formula = _workbook(tmp_path / "f" / "budgets.xlsx", BUDGET_ROWS, edit=lambda s: s.__setitem__("C2", "=1000*1000"))
    _load_refused(loaded, formula, r"budgets\.xlsx.*C2 is a formula without a saved value")
    unclear = _workbook(tmp_path / "s" / "budgets.xlsx", BUDGET_ROWS, sheet="Sheet1", extra_sheets=["说明"])
    _load_refused(loaded, unclear, r"Sheet1、说明.*budgets")
    named = _workbook(tmp_path / "n" / "budgets.xlsx", BUDGET_ROWS, sheet="说明", extra_sheets=["budgets"])
    _load_refused(loaded, named, r"“budgets” has no data")               # the table's sheet is read: it is empty here
    one = _workbook(tmp_path / "o" / "budgets.xlsx", BUDGET_ROWS, sheet="Sheet1")
    assert main(["load", str(one), "--store", str(loaded)]) == 0     # a single sheet is the table's


def test_mojibake_mixed_encodings_and_twice_named_columns_are_refused(tmp_path, loaded):
    units = "unit_id,name,level,parent_id,field\nU1,市教育局,1,,education\nU2,市第一中学,2,U1,education\n"
    mixed = _csv(tmp_path, "units", units.split("\n", 2)[0].encode() + b"\n" + "U1,市教育局,1,,education\n".encode()
                 + "U2,市第一中学,2,U1,education\n".encode("gbk"))
    _load_refused(loaded, mixed, r"units\.csv.*from line 3 .*encoding")
    pua = _csv(tmp_path / "pua", "units", units.replace("市第一中学", "市第一\ue000中学").encode("gb18030"))
    _load_refused(loaded, pua, r"units\.csv.*line 3 has characters no text has")
    twice = _csv(tmp_path / "twice", "units", "unit_id,name,单位名称,level,parent_id,field\n"
                                             "U1,市教育局,市教育局,1,,education\n")
    _load_refused(loaded, twice, r"name、单位名称|单位名称、name")
    gbk = _csv(tmp_path / "gbk", "units", units.encode("gbk"))
    assert main(["load", str(gbk), "--store", str(loaded)]) == 0    # a GBK file is normal
