"""Reading tables: encodings, formats and a clear DataError for every kind of bad input."""
from __future__ import annotations

import pandas as pd
import pytest

import perfkit
from perfkit import DataError, read_table
from conftest import tiny_tables, write_tables


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


UNITS_CSV = "unit_id,name,level,parent_id,field\nU1,市教育局,1,,education\nU2,市第一中学,2,U1,教育\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_finance_offices_export(tmp_path, encoding):
    units = read_table(_write(tmp_path, "units.csv", UNITS_CSV, encoding), "units")
    assert units["name"].tolist() == ["市教育局", "市第一中学"]
    assert units["field"].tolist() == ["education", "education"]  # the zh label 教育 became its code
    assert units["level"].tolist() == [1, 2]


def test_chinese_headers_are_accepted(tmp_path):
    text = "单位编码,单位名称,单位级次,上级单位编码,所属领域\nU1,市教育局,1,,教育\n"
    units = read_table(_write(tmp_path, "units.csv", text, "gbk"), "units")
    assert list(units.columns) == ["unit_id", "name", "level", "parent_id", "field"]


def test_undecodable_csv_names_file_and_line(tmp_path):
    path = tmp_path / "units.csv"
    path.write_bytes(UNITS_CSV.encode("utf-8") + b"U3,\xff\xfe\xfa,1,,general\n")
    with pytest.raises(DataError, match=r"units\.csv.*row 4.*cannot be decoded"):
        read_table(path, "units", encoding="utf-8")


def test_xlsx_and_parquet(tmp_path):
    frame = tiny_tables()["projects"]
    frame.to_excel(tmp_path / "projects.xlsx", sheet_name="projects", index=False)
    frame.to_parquet(tmp_path / "projects.parquet")
    from_xlsx = read_table(tmp_path / "projects.xlsx", "projects")
    from_parquet = read_table(tmp_path / "projects.parquet", "projects")
    for got in (from_xlsx, from_parquet):
        assert got["project_id"].tolist() == ["P1"]
        assert got["start_date"].iloc[0] == pd.Timestamp("2025-01-01")
        assert bool(got["is_new"].iloc[0]) is False
        assert got["year"].iloc[0] == 2025


def test_xlsx_error_names_the_spreadsheet_row(tmp_path):
    frame = tiny_tables()["budgets"]
    frame.loc[0, "amount"] = -5
    frame.to_excel(tmp_path / "budgets.xlsx", index=False)
    with pytest.raises(DataError) as err:
        read_table(tmp_path / "budgets.xlsx", "budgets")
    # a workbook's problem names its sheet and cell (the spreadsheet row is the cell's)
    assert str(err.value) == "budgets.xlsx, Sheet1!C2, column 'amount': negative amount -5.0 (must be ≥ 0)"


def test_missing_column(tmp_path):
    path = _write(tmp_path, "units.csv", "unit_id,name,level,field\nU1,市教育局,1,education\n")
    with pytest.raises(DataError) as err:
        read_table(path, "units")
    assert "units.csv, column 'parent_id': missing column 'parent_id'" in str(err.value)
    assert err.value.problems[0].column == "parent_id"


def test_wrong_type(tmp_path):
    path = _write(tmp_path, "units.csv", UNITS_CSV.replace("U2,市第一中学,2", "U2,市第一中学,二级"))
    with pytest.raises(DataError) as err:
        read_table(path, "units")
    assert str(err.value) == "units.csv, row 3, column 'level': wrong type: '二级' is not a whole number"


def test_unparsable_date(tmp_path):
    frames = tiny_tables()
    frames["execution"]["month"] = frames["execution"]["month"].dt.strftime("%Y-%m-%d")
    frames["execution"].loc[1, "month"] = "2025-02-30"
    write_tables(tmp_path, {"execution": frames["execution"]})
    with pytest.raises(DataError) as err:
        read_table(tmp_path / "execution.csv", "execution")
    assert str(err.value) == ("execution.csv, row 3, column 'month': unparsable date '2025-02-30' "
                              "(use YYYY-MM-DD)")


def test_negative_amount(tmp_path):
    frames = tiny_tables()
    frames["execution"].loc[0, "spent_cumulative"] = -100.0
    write_tables(tmp_path, {"execution": frames["execution"]})
    with pytest.raises(DataError) as err:
        read_table(tmp_path / "execution.csv", "execution")
    assert str(err.value) == ("execution.csv, row 2, column 'spent_cumulative': "
                              "negative amount -100.0 (must be ≥ 0)")


def test_duplicate_id(tmp_path):
    path = _write(tmp_path, "units.csv", UNITS_CSV + "U1,市财政局,1,,general\n")
    with pytest.raises(DataError) as err:
        read_table(path, "units")
    assert "units.csv, row 2, column 'unit_id': duplicate id 'U1'" in str(err.value)
    assert "units.csv, row 4, column 'unit_id': duplicate id 'U1'" in str(err.value)


def test_duplicate_composite_key(tmp_path):
    frames = tiny_tables()
    execution = pd.concat([frames["execution"], frames["execution"].iloc[[0]]], ignore_index=True)
    write_tables(tmp_path, {"execution": execution})
    with pytest.raises(DataError) as err:
        read_table(tmp_path / "execution.csv", "execution")
    assert str(err.value) == ("execution.csv, row 4, column 'project_id': duplicate key "
                              "(project_id=P1, month=2025-01-31 00:00:00), first in row 2")


def test_value_not_allowed(tmp_path):
    path = _write(tmp_path, "units.csv", UNITS_CSV.replace("U1,市教育局,1,,education", "U1,市教育局,1,,schools"))
    with pytest.raises(DataError, match=r"row 2, column 'field': value 'schools' is not allowed"):
        read_table(path, "units")


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    path = _write(tmp_path, "units.csv", "unit_id,name,level,parent_id,field\n,市教育局,x,,education\n"
                                         "U2,,1,,nowhere\n")
    with pytest.raises(DataError) as err:
        read_table(path, "units")
    where = {(p.row, p.column) for p in err.value.problems}
    assert {(2, "unit_id"), (2, "level"), (3, "name"), (3, "field")} <= where


@pytest.mark.parametrize("table, column, value, message", [
    ("projects", "unit_id", "U9", "projects.csv, row 2, column 'unit_id': unknown unit_id 'U9' (not in units)"),
    ("budgets", "project_id", "P9", "budgets.csv, row 2, column 'project_id': unknown project_id 'P9' "
                                    "(not in projects)"),
    ("targets", "indicator_id", "I9", "targets.csv, row 2, column 'indicator_id': unknown indicator_id 'I9' "
                                      "(not in indicators)"),
])
def test_reference_to_unknown_unit_project_or_indicator(tmp_path, table, column, value, message):
    frames = tiny_tables()
    frames[table].loc[0, column] = value
    write_tables(tmp_path, frames)
    with pytest.raises(DataError) as err:
        perfkit.Store(":memory:").load(tmp_path)
    assert message in str(err.value).splitlines()


def test_level_two_unit_needs_a_parent(tmp_path):
    frames = tiny_tables()
    frames["units"].loc[1, "parent_id"] = None
    write_tables(tmp_path, frames)
    with pytest.raises(DataError, match=r"units\.csv, row 3, column 'parent_id': a level-2 unit needs a parent_id"):
        perfkit.Store(":memory:").load(tmp_path)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def test_unknown_table_and_unsupported_file(tmp_path):
    with pytest.raises(KeyError, match="unknown table 'budget'"):
        read_table(tmp_path / "x.csv", "budget")
    path = _write(tmp_path, "units.json", "{}")
    with pytest.raises(DataError, match=r"unsupported file type '\.json'"):
        read_table(path, "units")
