"""Reading tables from CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), Excel and Parquet.

Every problem is reported as a :class:`perfkit.DataError` naming the file, the
row a person sees in a spreadsheet, the column and what is wrong.
"""
from __future__ import annotations

import io
import logging
import re
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from perfkit.errors import DataError, Problem, Reason, reason
from perfkit.text import LANGUAGES, Coded, catalogue, code_lookup, codes
from perfkit.schema import BOOLEAN, DATE, FLOAT, INTEGER, STRING, TABLES, TableSpec, spec

log = logging.getLogger(__name__)

CSV_SUFFIXES = (".csv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUFFIXES = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES
# Tried in order when the caller names no encoding: UTF-8 (with or without a
# BOM) is what perfkit writes; GB18030 is the superset of GBK that Chinese
# finance systems and Excel on a Chinese Windows export.
ENCODINGS = ("utf-8-sig", "gb18030")

#: The longest text a cell may hold: a name, a description or a finding fits; a runaway cell does not.
MAX_TEXT = 2000
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_GROUPED = r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"   # 1,234,567.89: the only comma perfkit accepts

_TRUE = {"true", "1", "yes", "y", "t", "是", "真"}
_FALSE = {"false", "0", "no", "n", "f", "否", "假"}

#: Column attribute of a frame returned by read_table: the spreadsheet row of each record.
ROW_ATTR = "perfkit_rows"
SOURCE_ATTR = "perfkit_source"
#: Attribute of a frame read from a workbook: (its sheet, {header: column letter}), to name each problem's cell.
SHEET_ATTR = "perfkit_sheet"


def read_table(path: str | PathLike, table: str, *, encoding: str | None = None,
               sheet: str | int | None = None) -> pd.DataFrame:
    """Read and validate one table of the data model from a file.

    Parameters
    ----------
    path : path-like
        A ``.csv``/``.txt`` (UTF-8, UTF-8 with BOM or GBK/GB18030), ``.xlsx`` or
        ``.parquet`` file.
    table : str
        Name of the table in the data model (``units``, ``projects``, ...).
    encoding : str, optional
        Encoding of a CSV file; by default UTF-8 is tried, then GB18030.
    sheet : str or int, optional
        Excel sheet; by default the sheet named like the table, else the first.

    Returns
    -------
    pandas.DataFrame
        The table's columns in schema order with their schema types. Column
        headers may be the English names or the zh/en display labels.

    Raises
    ------
    perfkit.DataError
        For every problem: unreadable file, missing column, wrong type,
        unparsable date, negative amount, value not allowed, duplicate key.
    """
    table_spec = spec(table)
    path = Path(path)
    if path.suffix.lower() in CSV_SUFFIXES and (encoding or "utf-8").lower().replace("_", "-") in _UTF8:
        frame = _read_clean_csv(path, table_spec)
        if frame is not None:
            return frame
    # the careful path: every cell as text, coerced column by column, every problem located
    raw, rows = _read_raw(path, encoding=encoding, sheet=sheet, table=table)
    if raw.empty:
        raise DataError(Problem(path.name, reason("empty_table")))
    try:
        return validate_frame(raw, table_spec, source=path.name, rows=rows)
    except DataError as exc:
        if SHEET_ATTR not in raw.attrs:
            raise
        sheet, letters = raw.attrs[SHEET_ATTR]       # a workbook's problem names its sheet and cell
        raise DataError([replace(p, sheet=sheet, cell=f"{letters[p.column]}{p.row}"
                                 if p.column in letters and p.row is not None else None)
                         for p in exc.problems]) from None


def read_cells(path: str | PathLike, *, table: str, encoding: str | None = None) -> pd.DataFrame:
    """A CSV's or a workbook's cells as text, unvalidated (the sheet chosen as for ``table``): for a file that
    lists ids rather than holding a table of the data model."""
    raw, _ = _read_raw(Path(path), encoding=encoding, sheet=None, table=table)
    return raw


def validate_frame(raw: pd.DataFrame, table_spec: TableSpec, *, source: str,
                   first_row: int = 2, rows=None) -> pd.DataFrame:
    """Coerce and validate a raw frame of ``table_spec``; see :func:`read_table`.

    ``rows`` are the row numbers a person sees for the records (the file's own line numbers, blank
    lines counted); by default they count from ``first_row`` (2 in a spreadsheet whose row 1 is the
    header).
    """
    renamed = _header_map(table_spec, raw.columns)
    named: dict[str, list[str]] = {}
    for header, column in renamed.items():
        named.setdefault(column, []).append(str(header).strip())
    twice = {column: shown for column, shown in named.items() if len(shown) > 1}
    if twice:   # 金额 and amount both: which one holds the data is a guess perfkit does not make
        raise DataError([Problem(source, reason("same_column_twice", headers="、".join(shown)), column=column)
                         for column, shown in twice.items()])
    headers = {column: str(header).strip() for header, column in renamed.items()}   # column → as the file has it
    raw = raw.rename(columns=renamed)
    missing = [c for c in table_spec.columns if c not in raw.columns]
    if missing:
        raise DataError([Problem(source, reason("missing_column", column=c, expected=", ".join(table_spec.columns)),
                                 column=c) for c in missing])
    rows = pd.Series(np.arange(first_row, first_row + len(raw)) if rows is None else np.asarray(rows),
                     index=raw.index)
    problems: list[Problem] = []
    frame = pd.DataFrame(index=raw.index)
    for column in table_spec.columns:
        try:
            values, bad = _coerce(raw[column], table_spec.dtype(column), table_spec.enums.get(column))
        except Exception as exc:  # noqa: BLE001 - a column pandas cannot convert: say which, never dump it
            raise DataError(Problem(source, reason("unreadable_column", dtype=table_spec.dtype(column),
                                                   error=f"{type(exc).__name__}: {str(exc)[:200]}"),
                                    column=headers.get(column, column))) from None
        frame[column] = values
        for idx, why in bad.items():
            problems.append(Problem(source, why, row=int(rows[idx]), column=column))
    problems = _check_rows(frame, table_spec, rows, source, problems)
    if problems:
        # a column is named as the file names it (its Chinese label, when the file has Chinese headers)
        problems = [replace(p, column=headers.get(p.column, p.column)) for p in problems]
        raise DataError(sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    return _located(frame.reset_index(drop=True), rows.to_numpy(), source)


def _check_rows(frame, table_spec, rows, source, problems=()) -> list[Problem]:
    """``problems`` (of the cells) plus those of the typed rows: periods, the schema's checks, the key."""
    problems = list(problems)
    problems += _check_periods(frame, rows, source, skip=problems)
    problems += _check_limits(frame, table_spec, rows, source, skip=problems)
    problems += _check_schema(frame, table_spec, rows, source, skip=problems)
    problems += _check_key(frame, table_spec, rows, source)
    return problems


def _located(frame: pd.DataFrame, rows: np.ndarray, source: str) -> pd.DataFrame:
    frame.attrs[ROW_ATTR] = rows
    frame.attrs[SOURCE_ATTR] = source
    return frame


def find_table_files(directory: str | PathLike) -> dict[str, Path]:
    """Map each table name to its file in ``directory`` (``<table>.csv|.xlsx|.parquet``).

    Raises
    ------
    perfkit.DataError
        When a table has files in more than one format, or ``directory`` does not exist.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(Problem(str(directory), reason("not_a_directory")))
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() in SUFFIXES and path.stem in TABLES:
            if path.stem in found:
                raise DataError(Problem(path.name, reason("table_twice", table=path.stem,
                                                          first=found[path.stem].name, second=path.name)))
            found[path.stem] = path
    return {name: found[name] for name in TABLES if name in found}


def check_references(frames: dict[str, pd.DataFrame]) -> list[Problem]:
    """Problems where a table refers to a unit, project, indicator... that does not exist.

    ``frames`` maps table names to validated frames; a reference to a table
    absent from ``frames`` is itself a problem.
    """
    problems: list[Problem] = []
    for name, frame in frames.items():
        table_spec = TABLES[name]
        source = frame.attrs.get(SOURCE_ATTR, name)
        rows = frame.attrs.get(ROW_ATTR, np.arange(2, 2 + len(frame)))
        for fk in table_spec.foreign_keys:
            present = frame[list(fk.columns)].notna().all(axis=1).to_numpy()
            if not present.any():
                continue
            if fk.ref_table not in frames:
                problems.append(Problem(source, reason("unknown_table", table=fk.ref_table), column=fk.columns[0]))
                continue
            ref = frames[fk.ref_table][list(fk.ref_columns)]
            if len(fk.columns) == 1:        # one column: a hash lookup on the typed values (Arrow's is_in)
                unknown = present & ~frame[fk.columns[0]].isin(ref[fk.ref_columns[0]]).to_numpy(dtype=bool)
            else:
                known = pd.MultiIndex.from_frame(ref.astype(object))
                mine = pd.MultiIndex.from_frame(frame[list(fk.columns)].astype(object))
                unknown = present & ~mine.isin(known)
            for pos in np.flatnonzero(unknown):
                value = frame[fk.columns[0]].iloc[pos]
                problems.append(Problem(source, reason("unknown_reference", column=fk.ref_columns[0], value=value,
                                                       table=fk.ref_table),
                                        row=int(rows[pos]), column=fk.columns[0]))
    if "units" in frames:
        problems += _check_unit_levels(frames["units"])
    if not problems and {"panel_assignments", "experts", "projects", "units"} <= set(frames):
        problems += _check_panels(frames)
    if not problems and "projects" in frames:
        problems += _check_field_ledgers(frames)
    return problems


#: The project category whose records each of the new fields' ledgers holds.
LEDGER_CATEGORY = {"bond_projects": "special_bond", "bond_schedule": "special_bond",
                   "guidance_funds": "guidance_fund", "fund_contributions": "guidance_fund",
                   "fund_investments": "guidance_fund", "service_contracts": "purchased_service",
                   "ppp_payments": "ppp"}


def _check_field_ledgers(frames: dict[str, pd.DataFrame]) -> list[Problem]:
    """A new field's ledger holds records of that field's projects only (a bond schedule of a PPP project
    would be scored by no framework, or by the wrong one)."""
    category = dict(zip(frames["projects"]["project_id"], frames["projects"]["category"]))
    problems = []
    for table, wanted in LEDGER_CATEGORY.items():
        if table not in frames:
            continue
        frame = frames[table]
        source = frame.attrs.get(SOURCE_ATTR, table)
        rows = frame.attrs.get(ROW_ATTR, np.arange(2, 2 + len(frame)))
        for pos, project in enumerate(frame["project_id"]):
            found = category.get(project)
            if found is not None and found != wanted:
                problems.append(Problem(source, reason("ledger_wrong_category", project=project,
                                                       category=Coded("category", found),
                                                       wanted=Coded("category", wanted)),
                                        row=int(rows[pos]), column="project_id"))
    return problems


def panel_conflicts(assignments: pd.DataFrame, experts: pd.DataFrame, projects: pd.DataFrame,
                    units: pd.DataFrame) -> list[str | None]:
    """Why each assigned expert may not score the project, row by row of ``assignments``: ``declared`` (the
    assignment says so), ``unit`` (the expert works for the project's unit), ``department`` (for its
    first-level unit), or None."""
    parent_of = {u: p for u, p in zip(units["unit_id"], units["parent_id"]) if isinstance(p, str)}
    unit_of_project = dict(zip(projects["project_id"], projects["unit_id"]))
    employer = {e: u for e, u in zip(experts["expert_id"], experts["unit_id"]) if isinstance(u, str)}
    reasons = []
    for project, expert, declared in zip(assignments["project_id"], assignments["expert_id"],
                                         assignments["conflict"]):
        unit = unit_of_project.get(project)
        works_for = employer.get(expert)
        reasons.append("declared" if bool(declared) else "unit" if works_for is not None and works_for == unit
                       else "department" if works_for is not None and works_for == parent_of.get(unit) else None)
    return reasons


def _check_panels(frames: dict[str, pd.DataFrame]) -> list[Problem]:
    """An expert may not sit on the panel of a project of the unit they work for or of its department unless
    the conflict is declared (and a declared conflict recuses them); a project with a panel is scored by
    its panel's experts only, none of them in conflict."""
    assignments, scores = frames["panel_assignments"], frames.get("expert_scores")
    employer = dict(zip(frames["experts"]["expert_id"], frames["experts"]["unit_id"]))
    problems, conflicted, panel_of = [], set(), {}
    source = assignments.attrs.get(SOURCE_ATTR, "panel_assignments")
    rows = assignments.attrs.get(ROW_ATTR, np.arange(2, 2 + len(assignments)))
    reasons = panel_conflicts(assignments, frames["experts"], frames["projects"], frames["units"])
    for pos, (project, expert, why) in enumerate(zip(assignments["project_id"], assignments["expert_id"], reasons)):
        panel_of.setdefault(project, set()).add(expert)
        if why == "declared":
            conflicted.add((project, expert))
        elif why is not None:
            problems.append(Problem(source, reason("undeclared_conflict", expert=expert, unit=employer[expert],
                                                   project=project), row=int(rows[pos]), column="conflict"))
    if scores is not None:
        source = scores.attrs.get(SOURCE_ATTR, "expert_scores")
        rows = scores.attrs.get(ROW_ATTR, np.arange(2, 2 + len(scores)))
        seen = set()
        for pos, (project, expert) in enumerate(zip(scores["project_id"], scores["expert_id"])):
            if project not in panel_of or (project, expert) in seen:
                continue
            seen.add((project, expert))         # one problem per expert and project, not per item
            if (project, expert) in conflicted:
                problems.append(Problem(source, reason("scored_in_conflict", expert=expert, project=project),
                                        row=int(rows[pos]), column="expert_id"))
            elif expert not in panel_of[project]:
                problems.append(Problem(source, reason("scored_off_panel", expert=expert, project=project),
                                        row=int(rows[pos]), column="expert_id"))
    return problems


# --- reading ---------------------------------------------------------------

_UTF8 = ("utf-8", "utf-8-sig", "utf8")
_ARROW_TYPES = {INTEGER: pyarrow.int64(), FLOAT: pyarrow.float64(), DATE: pyarrow.date32(),
                BOOLEAN: pyarrow.string(), STRING: pyarrow.string()}
_PANDAS_TYPES = {pyarrow.string(): pd.StringDtype("pyarrow"), pyarrow.int64(): pd.Int64Dtype(),
                 pyarrow.bool_(): pd.BooleanDtype()}


def _read_clean_csv(path: Path, table_spec: TableSpec) -> pd.DataFrame | None:
    """The fast path for a clean UTF-8 CSV: Arrow's parser types the columns, Arrow's kernels check them.

    It accepts only what the careful path would read to the same frame (ISO dates, plain numbers,
    codes, trimmed text, no blank line, no control character) and that passes every check of the
    table's pandera schema. At the first thing it does not accept, valid or not, it returns ``None``;
    the careful path then reads the file and names every problem with its line.
    """
    import csv

    try:
        with path.open("rb") as handle:
            headers = next(csv.reader([handle.readline().decode("utf-8-sig")]), [])
    except (OSError, UnicodeDecodeError):
        return None
    names = _header_map(table_spec, headers)
    raw_name = {names[h]: h for h in headers}
    if len(raw_name) != len(headers) or any(c not in raw_name for c in table_spec.columns):
        return None                     # duplicate or missing columns: the careful path says which
    dtypes = {column: table_spec.dtype(column) for column in table_spec.columns}
    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),   # a blank line shifts rows: careful path
            convert_options=pacsv.ConvertOptions(
                column_types={raw_name[c]: _ARROW_TYPES[t] for c, t in dtypes.items()},
                include_columns=[raw_name[c] for c in table_spec.columns],
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True))
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError):
        return None     # a cell Arrow cannot type, a ragged record, bytes that are not UTF-8
    if table.num_rows == 0:
        return None
    columns = {column: table.column(raw_name[column]) for column in table_spec.columns}
    pool = _check_pool()                # Arrow's kernels and DuckDB release the GIL: checks run side by side
    rows_clean = pool.submit(_clean_rows, pyarrow.table(columns), table_spec)
    clean = all(pool.map(lambda column: _clean_column(columns[column], dtypes[column], column, table_spec),
                         table_spec.columns))
    if not (clean and rows_clean.result()):
        return None
    for column, dtype in dtypes.items():
        if dtype == BOOLEAN:
            columns[column] = pc.if_else(pc.is_null(columns[column]), pyarrow.scalar(None, pyarrow.bool_()),
                                         pc.is_in(columns[column], value_set=pyarrow.array(sorted(_TRUE))))
        elif dtype == DATE:
            columns[column] = columns[column].cast(pyarrow.timestamp("ns"))
    frame = pyarrow.table(columns).to_pandas(types_mapper=_PANDAS_TYPES.get)
    return _located(frame, np.arange(2, 2 + len(frame)), path.name)


def _clean_column(values: pyarrow.ChunkedArray, dtype: str, column: str, table_spec: TableSpec) -> bool:
    """Whether a typed column reads the same on the careful path and passes its pandera checks.

    The checks are the schema's own (``nullable`` and each ``Check`` by its name and statistics),
    evaluated with Arrow kernels; a check this does not know sends the file down the careful path,
    where pandera runs it. Uniqueness is checked with the rows (:func:`_clean_rows`).
    """
    present = pc.drop_null(values) if values.null_count else values   # pandera's checks skip nulls too
    if dtype in (STRING, BOOLEAN):
        if _has_control(values):
            return False                # the careful path names the cell
        if (pc.max(pc.binary_length(values)).as_py() or 0) > MAX_TEXT and \
                pc.any(pc.greater(pc.utf8_length(values), MAX_TEXT)).as_py():
            return False
        if pc.any(pc.not_equal(pc.utf8_trim_whitespace(values), values)).as_py():
            return False                # the careful path strips: let it
        allowed = (_TRUE | _FALSE) if dtype == BOOLEAN else \
            set(codes(table_spec.enums[column])) if column in table_spec.enums else None
        if allowed is not None and not _all(pc.is_in(present, value_set=pyarrow.array(sorted(allowed)))):
            return False                # a label such as 一般公共预算: the careful path maps it to its code
    elif dtype == FLOAT and not _all(pc.is_finite(present)):
        return False
    schema_column = table_spec.schema.columns[column]
    if not schema_column.nullable and values.null_count:
        return False
    for check in schema_column.checks:
        test = _ARROW_CHECKS.get(check.name)
        if test is None or not _all(test(present, **check.statistics)):
            return False
    return True


def _has_control(values: pyarrow.ChunkedArray) -> bool:
    """Whether the text holds a control character other than tab, line feed and carriage return.

    Scans each chunk's character buffer with numpy (one comparison per byte) rather than a regular
    expression per value; a byte of UTF-8 below 0x20 or equal to 0x7f is always that character.
    """
    for chunk in values.chunks:
        data = chunk.buffers()[2]
        if data is None:
            continue
        octets = np.frombuffer(data, dtype=np.uint8)
        low = octets[octets < 0x20]
        if (low.size and not np.isin(low, (0x09, 0x0a, 0x0d)).all()) or (octets == 0x7f).any():
            return True
    return False


def _all(mask) -> bool:
    """True when every non-null element of a boolean array is true."""
    return bool(pc.all(mask, skip_nulls=True).as_py() in (True, None))


def _between(values, min_value, max_value, include_min=True, include_max=True):
    low = (pc.greater_equal if include_min else pc.greater)(values, min_value)
    return pc.and_(low, (pc.less_equal if include_max else pc.less)(values, max_value))


def _str_length(values, min_value=None, max_value=None, exact_value=None):
    length = pc.utf8_length(values)
    if exact_value is not None:
        return pc.equal(length, exact_value)
    return _between(length, min_value if min_value is not None else 0,
                    max_value if max_value is not None else np.iinfo(np.int64).max)


#: pandera's built-in checks by name, as Arrow kernels over a column (``statistics`` as keywords).
_ARROW_CHECKS = {
    "greater_than_or_equal_to": lambda values, min_value: pc.greater_equal(values, min_value),
    "greater_than": lambda values, min_value: pc.greater(values, min_value),
    "in_range": _between,
    "isin": lambda values, allowed_values: pc.is_in(values, value_set=pyarrow.array(list(allowed_values))),
    "str_length": _str_length,
}


@lru_cache(maxsize=1)
def _check_pool() -> ThreadPoolExecutor:
    """Threads for the fast path's checks, started once (starting them costs more than a small file)."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="perfkit-load")


@lru_cache(maxsize=1)
def _scratch_database():
    """An in-memory DuckDB database for the loader's own queries (never the store)."""
    import duckdb

    return duckdb.connect()


def _clean_rows(table: pyarrow.Table, table_spec: TableSpec) -> bool:
    """No period ends before it starts, no value exceeds its row's limit, no unique column repeats a value, and
    no key is given twice.

    Distinct counts run in DuckDB, which hashes on every core (Arrow's ``count_distinct`` is about
    three times slower on two).
    """
    if "start_date" in table.column_names and "end_date" in table.column_names and \
            pc.any(pc.less(table.column("end_date"), table.column("start_date"))).as_py():
        return False
    for column, limit in table_spec.limits:      # a value above its row's limit: the careful path names it
        if pc.any(pc.greater(table.column(column), pc.multiply(table.column(limit), 1 + 1e-12))).as_py():
            return False
    unique = [c for c, column in table_spec.schema.columns.items() if column.unique]
    tests = [f'count(DISTINCT "{c}") = count("{c}")' for c in unique]
    if len(table_spec.key) > 1:
        key = ", ".join(f'"{c}"' for c in table_spec.key)
        tests.append(f"(SELECT count(*) FROM (SELECT DISTINCT {key} FROM rows_)) = count(*)")
    if not tests:
        return True
    with _scratch_database().cursor() as con:       # a cursor: a fresh connection costs 20 ms
        con.register("rows_", table)
        return all(con.execute(f"SELECT {', '.join(tests)} FROM rows_").fetchone())


def _read_raw(path: Path, *, encoding, sheet, table) -> tuple[pd.DataFrame, int]:
    if not path.exists():
        raise DataError(Problem(str(path), reason("file_not_found")))
    suffix = path.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            return _read_csv(path, _decode(path, encoding))
        if suffix in EXCEL_SUFFIXES:
            return _read_excel(path, sheet, table)
        if suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path)
            return frame, np.arange(1, 1 + len(frame))
    except DataError:
        raise
    except Exception as exc:  # a parser's own message, attached to the file it concerns
        raise DataError(Problem(path.name, reason("unreadable_file", kind=suffix[1:], error=exc))) from exc
    raise DataError(Problem(path.name, reason("unsupported_file", suffix=suffix, suffixes=", ".join(SUFFIXES))))


def _read_excel(path: Path, sheet, table: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A sheet's cells as the workbook shows them, with each record's row number; refused, naming the cell:
    merged cells (Excel keeps the value in the first cell only), formulas without a saved value (a
    workbook written by a program and never opened in Excel), and a workbook whose sheet is not clear."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    formulas = load_workbook(path, data_only=False)       # (not read-only: merged cells need the full sheet)
    names = formulas.sheetnames
    if sheet is None:
        titles = [table] + [catalogue()["tables"][table][lang][:31] for lang in LANGUAGES]
        named = [name for name in names if name in titles]
        if named:           # the table's name, or its label (an import template's sheet: 项目, Projects)
            sheet = named[0]
        elif len(names) == 1:
            sheet = names[0]
        else:
            raise DataError(Problem(path.name, reason("which_sheet", table=table, sheets="、".join(names))))
    elif isinstance(sheet, int):
        sheet = names[sheet]
    shown = formulas[sheet]
    values = load_workbook(path, data_only=True)[sheet]
    problems = [Problem(path.name, reason("merged_cells", cells=str(merged), sheet=sheet), row=merged.min_row)
                for merged in shown.merged_cells.ranges]
    for row in shown.iter_rows():
        for cell in row:
            if cell.data_type == "f" and values[cell.coordinate].value is None:
                problems.append(Problem(path.name, reason("formula_without_value", cell=cell.coordinate, sheet=sheet),
                                        row=cell.row))
    if problems:
        raise DataError(problems)
    grid = list(values.iter_rows(values_only=True))
    if not grid or all(v is None for v in grid[0]):
        raise DataError(Problem(path.name, reason("empty_sheet", sheet=sheet, sheets="、".join(names))))
    header = [("" if v is None else str(v)) for v in grid[0]]
    width = max((i + 1 for i, h in enumerate(header) if h.strip()), default=0)
    letters = {h.strip(): get_column_letter(i + 1) for i, h in enumerate(header[:width]) if h.strip()}
    body = [(number, list(record[:width]) + [None] * (width - len(record)))
            for number, record in enumerate(grid[1:], start=2)
            if any(v is not None and str(v).strip() != "" for v in record[:width])]
    frame = pd.DataFrame([record for _, record in body], columns=header[:width], dtype=object)
    frame.attrs[SHEET_ATTR] = (sheet, letters)
    return frame, np.array([number for number, _ in body], dtype=int)


def _read_csv(path: Path, text: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The CSV's cells as text, with each record's line number in the file (blank lines counted).

    ``index_col=False``: a stray extra field never turns the first column into an index; a record with
    more fields than the header is a problem naming its line.
    """
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True,
                            index_col=False, skip_blank_lines=False)
    header_fields = len(frame.columns)
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught) or \
            frame.columns.astype(str).str.startswith("Unnamed:").any():
        import csv
        for line, record in enumerate(csv.reader(io.StringIO(text)), start=1):
            if record and len(record) > header_fields:
                raise DataError(Problem(path.name, reason("extra_fields", fields=len(record), header=header_fields),
                                        row=line))
    # a record's row is its line in the file: line 1 is the header, blank lines count
    lines = np.arange(2, 2 + len(frame))
    blank = frame.apply(lambda column: column.str.strip().eq("")).all(axis=1).to_numpy() if len(frame) else \
        np.zeros(0, dtype=bool)
    return frame[~blank].reset_index(drop=True), lines[~blank]


def _decode(path: Path, encoding: str | None) -> str:
    data = path.read_bytes()
    tried = (encoding,) if encoding else ENCODINGS
    errors: list[UnicodeDecodeError] = []
    for candidate in tried:
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError as exc:
            errors.append(exc)
            continue
        if errors and not encoding:
            # UTF-8 failed part-way: if the lines before were UTF-8 text (not ASCII), the file mixes two
            # encodings, and the first line that is not UTF-8 is where it breaks
            first = errors[0]
            if any(byte >= 0x80 for byte in data[: first.start]):
                line = data[: first.start].count(b"\n") + 1
                raise DataError(Problem(path.name, reason("mixed_encodings", line=line), row=line))
        implausible = re.search("[\ufffd\ue000-\uf8ff]", text)   # replacement or private-use: mojibake
        if implausible:
            line = text[: implausible.start()].count("\n") + 1
            raise DataError(Problem(path.name, reason("implausible_text", encoding=candidate, line=line),
                                    row=line))
        if candidate != ENCODINGS[0]:
            log.info("%s: read as %s", path.name, candidate.upper())
        return text
    # the encoding that read furthest is the file's: its error is where the file is broken
    error = max(errors, key=lambda e: e.start)
    line = data[: error.start].count(b"\n") + 1
    raise DataError(Problem(path.name, reason("undecodable", encodings=" or ".join(tried), line=line,
                                             byte=f"{data[error.start]:02x}"), row=line))


def _header_map(table_spec: TableSpec, headers) -> dict:
    """Accept the English column names and the catalogue's zh/en labels as headers."""
    labels = catalogue()["tables"].get(table_spec.name, {}).get("columns", {})
    lookup = {}
    for column in table_spec.columns:
        lookup[column.lower()] = column
        for lang in LANGUAGES:
            if column in labels:
                lookup[labels[column][lang].strip().lower()] = column
    return {h: lookup.get(str(h).strip().lower(), str(h).strip()) for h in headers}


# --- coercion --------------------------------------------------------------

def _as_text(series: pd.Series) -> pd.Series:
    """The cells as stripped text (pd.NA where missing), vectorised; Excel's 1001.0 reads "1001"."""
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) != "string":
        whole = series.map(lambda v: isinstance(v, float) and v.is_integer())   # Excel's mixed cells only
        if whole.any():
            series = series.where(~whole, series[whole].map(lambda v: str(int(v))))
    return series.astype("string").str.strip()


def _coerce(series: pd.Series, dtype: str, enum: str | None) -> tuple[pd.Series, dict]:
    """Return the column in ``dtype`` and {index: problem} for values that cannot be."""
    typed = pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)
    text = None if typed else _as_text(series)          # computed once: blankness and values both use it
    blank = series.isna() if typed else text.fillna("").eq("")
    if dtype in (INTEGER, FLOAT):
        if typed and not pd.api.types.is_bool_dtype(series):
            numbers = series.astype(float)
        else:
            text = (text if text is not None else _as_text(series)).where(~blank)
            if text.str.contains(",", regex=False).fillna(False).any():
                grouped = text.str.fullmatch(_GROUPED).fillna(False)   # 1,234.5 only: "1,5" is not 15
                text = text.where(~grouped, text.str.replace(",", "", regex=False))
            try:        # the common case, every cell a number: one vectorised cast
                numbers = text.astype("float64")
            except (ValueError, TypeError):
                numbers = pd.to_numeric(text, errors="coerce").astype(float)
        numbers = numbers.where(np.isfinite(numbers))              # inf, Infinity, 1e400: not amounts
        bad = ~blank & numbers.isna()
        if dtype == INTEGER:
            fractional = numbers.notna() & (numbers != np.round(numbers))
            bad |= fractional | (numbers.abs() > 2**53)       # beyond 2**53 a float is no longer exact
            numbers = numbers.where(~bad).round().astype(INTEGER)
            what = "not_a_whole_number"
        else:
            numbers = numbers.astype(FLOAT)
            what = "not_a_number"
        return numbers, {i: reason(what, value=series[i]) for i in series.index[bad]}
    if dtype == DATE:
        dates = _to_dates(series.astype(object).where(~blank, None), month=series.name == "month")
        bad = ~blank & dates.isna()
        return dates, {i: reason("not_a_date", value=series[i]) for i in series.index[bad]}
    if dtype == BOOLEAN:
        def as_bool(v):
            if isinstance(v, (bool, np.bool_)):
                return bool(v)
            key = str(v).strip().lower()
            if isinstance(v, float) and v in (0.0, 1.0):
                return bool(v)
            return True if key in _TRUE else False if key in _FALSE else None
        flags = series.astype(object).where(~blank, None).map(lambda v: None if v is None else as_bool(v))
        bad = ~blank & flags.isna()
        return flags.astype(BOOLEAN), {i: reason("not_a_boolean", value=series[i]) for i in series.index[bad]}
    # text: numbers read from Excel (1001.0) become their plain spelling ("1001")
    values = (text if text is not None else _as_text(series)).where(~blank)
    problems = {}
    control = values.str.contains(_CONTROL, regex=True).fillna(False)
    for i in series.index[control]:
        problems[i] = reason("control_character")
    long = values.str.len().fillna(0) > MAX_TEXT
    for i in series.index[long & ~control]:
        problems[i] = reason("text_too_long", length=int(values[i].__len__()), limit=MAX_TEXT)
    if enum:
        lookup = code_lookup(enum)
        present = values.dropna()
        mapped = present.map(lambda v: lookup.get(v, lookup.get(v.lower(), v)))
        values = values.copy()
        values[mapped.index] = mapped
    return values.astype("string"), problems


def _to_dates(series: pd.Series, month: bool = False) -> pd.Series:
    """Parse dates vectorised, format by format: ISO first, then the spellings offices use.

    A partial date (2023-12) is no date: perfkit does not guess the day. Only a ``month`` column (whose
    documented meaning is the month's last day) reads 2023-12 as 2023-12-31."""
    values = series.astype(object)
    stamps = pd.Series(pd.NaT, index=series.index, dtype=DATE)
    native = values.map(lambda v: hasattr(v, "year"))  # Excel cells and Parquet already hold dates
    if native.any():
        # a time-zone-aware date keeps its own calendar day (its wall clock), not the UTC one
        naive = values[native].map(lambda v: v.replace(tzinfo=None) if getattr(v, "tzinfo", None) else v)
        stamps[native] = pd.to_datetime(naive).dt.normalize()
    text = values[~native & values.notna()].astype(str).str.strip().str.replace(r"[/.]", "-", regex=True)
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", *(("%Y-%m",) if month else ())):
        if text.empty:
            break
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        if fmt == "%Y-%m":
            parsed = parsed + pd.offsets.MonthEnd(0)
        ok = parsed.notna()
        stamps[ok[ok].index] = parsed[ok]
        text = text[~ok]
    return stamps


# --- checks ----------------------------------------------------------------

def _describe_check(check: str, value) -> Reason:
    if check.startswith("greater_than_or_equal_to"):
        return reason("negative_amount", value=value)
    if check.startswith("greater_than"):
        return reason("not_positive", value=value)
    if check.startswith("in_range"):
        return reason("out_of_range", value=value, range=check[len("in_range"):])
    if check.startswith("isin"):
        return reason("not_allowed", value=value, allowed=check[len("isin("):-1])
    if check == "field_uniqueness":
        return reason("duplicate_id", value=value)
    if check == "not_nullable":
        return reason("missing_value")
    if check.startswith("str_length"):
        return reason("empty_value")
    return reason("check_failed", check=check, value=value)


def _check_periods(frame, rows, source, skip) -> list[Problem]:
    """A period must not end before it starts (``end_date`` ≥ ``start_date``)."""
    if "start_date" not in frame or "end_date" not in frame:
        return []
    already = {(p.row, p.column) for p in skip}
    reversed_ = (frame["end_date"] < frame["start_date"]).fillna(False)
    return [Problem(source, reason("end_before_start", end=f"{frame['end_date'][i]:%Y-%m-%d}",
                                   start=f"{frame['start_date'][i]:%Y-%m-%d}"), row=int(rows[i]), column="end_date")
            for i in frame.index[reversed_] if (int(rows[i]), "end_date") not in already]


def _check_limits(frame, table_spec, rows, source, skip) -> list[Problem]:
    """A value may not exceed its row's limit (:attr:`perfkit.schema.TableSpec.limits`: units accepted at most
    those delivered, a contribution paid in at most the one subscribed)."""
    already = {(p.row, p.column) for p in skip}
    problems = []
    for column, limit in table_spec.limits:
        above = (frame[column] > frame[limit] * (1 + 1e-12)).fillna(False)
        problems += [Problem(source, reason("above_limit", value=frame[column][i],
                                            limit_column=Coded(f"column:{table_spec.name}", limit),
                                            limit=frame[limit][i]), row=int(rows[i]), column=column)
                     for i in frame.index[above] if (int(rows[i]), column) not in already]
    return problems


def _check_schema(frame, table_spec, rows, source, skip) -> list[Problem]:
    try:
        table_spec.schema.validate(frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    already = {(p.row, p.column) for p in skip}
    problems = []
    for case in cases.itertuples(index=False):
        if case.index is None or pd.isna(case.index):
            if str(case.check).startswith("dtype") or "TypeError" in str(case.failure_case):
                continue  # a consequence of a value already reported as the wrong type
            problems.append(Problem(source, _describe_check(str(case.check), case.failure_case),
                                    column=case.column))
            continue
        row = int(rows[case.index])
        if (row, case.column) in already:
            continue
        problems.append(Problem(source, _describe_check(str(case.check), case.failure_case),
                                row=row, column=case.column))
    return problems


def _check_key(frame, table_spec, rows, source) -> list[Problem]:
    if len(table_spec.key) < 2:
        return []  # a one-column key is checked by the schema's uniqueness
    keyed = frame[list(table_spec.key)].astype(object).where(frame[list(table_spec.key)].notna(), "")
    dup = keyed.duplicated(keep="first")
    problems = []
    first = {}
    for idx, values in zip(keyed.index, map(tuple, keyed.to_numpy())):
        if values not in first:
            first[values] = idx
        elif dup[idx]:
            shown = ", ".join(f"{c}={v}" for c, v in zip(table_spec.key, values))
            problems.append(Problem(source, reason("duplicate_key", values=shown, first=int(rows[first[values]])),
                                    row=int(rows[idx]), column=table_spec.key[0]))
    return problems


def _check_unit_levels(units: pd.DataFrame) -> list[Problem]:
    source = units.attrs.get(SOURCE_ATTR, "units")
    rows = units.attrs.get(ROW_ATTR, np.arange(2, 2 + len(units)))
    level_of = dict(zip(units["unit_id"], units["level"]))
    problems = []
    for pos, (level, parent) in enumerate(zip(units["level"], units["parent_id"])):
        if level == 2 and pd.isna(parent):
            problems.append(Problem(source, reason("level2_needs_parent"), int(rows[pos]), "parent_id"))
        elif level == 1 and not pd.isna(parent):
            problems.append(Problem(source, reason("level1_has_parent"), int(rows[pos]), "parent_id"))
        elif level == 2 and level_of.get(parent) == 2:
            problems.append(Problem(source, reason("parent_is_level2", parent=parent), int(rows[pos]), "parent_id"))
    return problems
