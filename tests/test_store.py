"""The DuckDB store: validated, all-or-nothing, idempotent loads."""
from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest

import perfkit
from perfkit import DataError
from perfkit.schema import TABLES
from conftest import tiny_tables, write_tables


def _snapshot(store):
    return {t: store.table(t) for t in store.tables()}


def test_load_and_read_back_in_schema_types(tiny_dir, tmp_path):
    with perfkit.Store(tmp_path / "s.duckdb") as store:
        counts = store.load(tiny_dir)
        assert counts["units"] == 2 and counts["execution"] == 2
        projects = store.table("projects")
        assert projects["start_date"].dtype == "datetime64[ns]"
        assert projects["year"].dtype == "Int64"
        pdt.assert_frame_equal(store.table("units"), perfkit.read_table(tiny_dir / "units.csv", "units"),
                               check_dtype=False)
        assert store.query("SELECT sum(spent_cumulative) AS s FROM execution")["s"].iloc[0] == 170_000.0


def test_a_bad_file_leaves_the_store_unchanged(tiny_dir, tmp_path):
    path = tmp_path / "s.duckdb"
    with perfkit.Store(path) as store:
        store.load(tiny_dir)
        before = _snapshot(store)
    frames = tiny_tables()
    frames["units"].loc[0, "name"] = "改名后的市教育局"           # a valid change in one file...
    frames["execution"].loc[1, "spent_cumulative"] = -1.0      # ...and a bad value in another
    bad = write_tables(tmp_path / "bad", frames)
    with perfkit.Store(path) as store:
        with pytest.raises(DataError, match="execution.csv, row 3"):
            store.load(bad)
        after = _snapshot(store)
    assert before.keys() == after.keys()
    for table in before:
        pdt.assert_frame_equal(before[table], after[table])


def test_a_bad_reference_leaves_the_store_unchanged(tiny_dir, tmp_path):
    with perfkit.Store(tmp_path / "s.duckdb") as store:
        store.load(tiny_dir)
        frames = tiny_tables()
        frames["budgets"].loc[0, "project_id"] = "P404"
        bad = write_tables(tmp_path / "bad", {"budgets": frames["budgets"]})
        with pytest.raises(DataError, match="unknown project_id 'P404'"):
            store.load(bad)
        assert store.table("budgets")["project_id"].tolist() == ["P1"]


def test_loading_twice_leaves_the_same_store(tiny_dir, tmp_path):
    with perfkit.Store(tmp_path / "s.duckdb") as store:
        store.load(tiny_dir)
        first = _snapshot(store)
        store.load(tiny_dir)
        second = _snapshot(store)
    for table in first:
        pdt.assert_frame_equal(first[table], second[table])


def test_a_partial_folder_is_checked_against_the_store(tiny_dir, tmp_path):
    with perfkit.Store(":memory:") as store:
        store.load(tiny_dir)
        frames = tiny_tables()
        frames["budgets"].loc[0, "amount"] = 2_000_000.0
        store.load(write_tables(tmp_path / "budgets_only", {"budgets": frames["budgets"]}))
        assert store.table("budgets")["amount"].tolist() == [2_000_000.0]
        assert len(store.table("units")) == 2


def test_reference_to_a_table_that_is_nowhere(tmp_path):
    frames = tiny_tables()
    directory = write_tables(tmp_path / "only_projects", {"projects": frames["projects"]})
    with pytest.raises(DataError, match="refers to table 'units', which is neither given nor in the store"):
        perfkit.Store(":memory:").load(directory)


def test_empty_folder_and_missing_folder(tmp_path):
    with pytest.raises(DataError, match="holds no table file"):
        perfkit.Store(":memory:").load(tmp_path)
    with pytest.raises(DataError, match="is not a directory"):
        perfkit.Store(":memory:").load(tmp_path / "nope")


def test_the_same_table_twice_is_refused(tiny_dir):
    tiny_tables()["units"].to_parquet(tiny_dir / "units.parquet")
    with pytest.raises(DataError, match="table 'units' is given twice"):
        perfkit.Store(":memory:").load(tiny_dir)


def test_derived_tables_are_saved_but_model_tables_are_not_overwritten():
    with perfkit.Store(":memory:") as store:
        store.save("standards", pd.DataFrame({"direction": ["D1"], "quota": [3200.0]}))
        assert store.table("standards")["quota"].tolist() == [3200.0]
        with pytest.raises(ValueError, match="data-model table"):
            store.save("units", pd.DataFrame())


def test_read_only_store_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="no perfkit store"):
        perfkit.Store(tmp_path / "absent.duckdb", read_only=True)


def test_demo_city_loads_whole(demo_store):
    counts = {t: len(demo_store.table(t)) for t in TABLES}
    assert all(n > 0 for n in counts.values()), counts
