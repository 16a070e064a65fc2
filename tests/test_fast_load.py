"""The loader's fast path (Arrow) must read every file it accepts exactly as the careful path does.

A clean UTF-8 CSV is parsed and checked by Arrow; anything unusual (a label for a code, a blank line,
a grouped number, a control character, a failed check) sends the file down the careful path, which
names each problem with its line. These tests hold the two paths to the same frames.
"""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfkit import DataError
from perfkit.datasets import make_demo, write_csv
from perfkit.io import ROW_ATTR, SOURCE_ATTR, _read_clean_csv, _read_raw, read_table, validate_frame
from perfkit.schema import TABLES


def _careful(path, table):
    raw, rows = _read_raw(path, encoding=None, sheet=None, table=table)
    return validate_frame(raw, TABLES[table], source=path.name, rows=rows)


def _same(fast: pd.DataFrame, careful: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(fast, careful)
    assert (fast.attrs[ROW_ATTR] == careful.attrs[ROW_ATTR]).all()
    assert fast.attrs[SOURCE_ATTR] == careful.attrs[SOURCE_ATTR]


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo_csv")
    paths = {}
    for name, frame in make_demo(seed=0).items():
        if name in TABLES:
            paths[name] = folder / f"{name}.csv"
            write_csv(frame, paths[name])
    return paths


@pytest.mark.parametrize("table", list(TABLES))
def test_every_demo_table_takes_the_fast_path_and_reads_as_the_careful_path(demo_files, table):
    fast = _read_clean_csv(demo_files[table], TABLES[table])
    assert fast is not None, f"{table}.csv is clean but left the fast path"
    _same(fast, _careful(demo_files[table], table))


HEADER = "project_id,program_id,unit_id,name,year,budget_type,direction,category,is_new,start_date,end_date\n"
ROW = "P1,G1,U1,{name},2025,{budget_type},D001,{category},{is_new},{start},2025-12-31\n"


@pytest.mark.parametrize("change, fast", [
    ({"budget_type": "一般公共预算"}, False),     # a label: the careful path maps it to its code
    ({"is_new": "是"}, True),
    ({"is_new": "TRUE"}, False),                # a yes in capitals
    ({"name": " 带空格的名称 "}, False),          # text the careful path strips
    ({"name": "名称\t有制表符"}, True),
    ({"start": "2025/01/01"}, False),
    ({"start": "20250101"}, False),
])
def test_each_spelling_is_read_once_and_the_same_way(tmp_path, change, fast):
    values = {"name": "项目", "budget_type": "general", "category": "regular", "is_new": "true",
              "start": "2025-01-01", **change}
    path = tmp_path / "projects.csv"
    path.write_text(HEADER + ROW.format(**values), encoding="utf-8")
    assert (_read_clean_csv(path, TABLES["projects"]) is not None) == fast
    _same(read_table(path, "projects"), _careful(path, "projects"))


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**20, max_value=10**20).map(str),
    st.text(alphabet="0123456789.,eE+-_ infINFnaNAx", min_size=0, max_size=10),
)


@settings(max_examples=150, deadline=None)
@given(amounts=st.lists(NUMBERS, min_size=1, max_size=4), years=st.lists(NUMBERS, min_size=1, max_size=4))
def test_the_two_paths_agree_on_any_spelling_of_a_number(tmp_path_factory, amounts, years):
    """Whatever the cells hold, the fast path gives the careful path's frame or leaves it the file."""
    rows = [f'P{i},"{year}","{amount}",\n' for i, (amount, year) in enumerate(zip(amounts, years))]
    path = tmp_path_factory.mktemp("fuzz") / "budgets.csv"
    path.write_text("project_id,year,amount,adjusted_amount\n" + "".join(rows), encoding="utf-8")
    fast = _read_clean_csv(path, TABLES["budgets"])
    try:
        careful = _careful(path, "budgets")
    except DataError:
        assert fast is None, "the fast path accepted a file the careful path refuses"
        return
    if fast is not None:
        _same(fast, careful)
