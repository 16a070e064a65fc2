"""Formatted Excel workbooks that finance staff open directly (.xlsx, Chinese headers)."""
from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import pandas as pd


def write_workbook(path: str | PathLike, sheets: dict[str, pd.DataFrame],
                   number_formats: dict[str, str] | None = None) -> Path:
    """Write ``sheets`` (name → frame) to ``path``: bold coloured headers, sized columns, a frozen header
    row and filters on every column.

    ``number_formats`` maps a column header to an Excel number format (e.g. ``"#,##0.00"``); every other
    numeric column gets one too (decimals with a thousands separator, at most four places: never a 16-digit
    float), and a column of numbers a view printed as text ("99.4%", "1,234.56", "2025") is written as
    numbers with the format they were printed in (text such as 待补充 among them stays text). Every text
    cell is stored as text: a value from data that starts with ``=`` (or another formula leader) is
    never a live formula.
    The workbook is written beside the target and moved into place, so a failure
    never leaves a half-written file.
    """
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    number_formats = number_formats or {}
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                frame, formats = _numbers(frame, number_formats)
                frame.to_excel(writer, sheet_name=name, index=False)
                sheet = writer.sheets[name]
                for cell in sheet[1]:
                    cell.font = Font(bold=True, color="FFFFFF")
                    cell.fill = PatternFill("solid", fgColor="4472C4")
                    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
                for i, column in enumerate(frame.columns, start=1):
                    letter = get_column_letter(i)
                    width = max([len(str(column)) * 2] + [len(str(v)) * 2 if _is_cjk(v) else len(str(v))
                                                          for v in frame[column].head(200)]) + 2
                    sheet.column_dimensions[letter].width = min(max(width, 10), 50)
                    if column in formats:
                        for cell in sheet[letter][1:]:
                            cell.number_format = formats[column]
                sheet.freeze_panes = "A2"
                if sheet.max_row >= 1 and sheet.max_column >= 1:
                    sheet.auto_filter.ref = sheet.dimensions
                for row in sheet.iter_rows(min_row=1):
                    for cell in row:
                        if cell.data_type == "f":   # openpyxl reads "=..." as a formula: perfkit writes none
                            cell.data_type = "s"
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_workbook(book, path: str | PathLike) -> Path:
    """Save an openpyxl workbook beside ``path`` and move it into place: never half a file at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        book.save(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


#: A number as a view prints it: 1,234.56, -3, 99.4% (no leading zero: 007 is a code, not a number).
_PRINTED_NUMBER = re.compile(r"^-?(0|[1-9]\d{0,2}(,\d{3})+|[1-9]\d*)(\.\d+)?%?$")
#: Decimals with a thousands separator: two places always, up to four when the value has them.
DECIMALS = "#,##0.00##"


def _numbers(frame: pd.DataFrame, given: dict[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame with printed numbers as numbers, and a number format for every numeric column."""
    frame = frame.copy()
    formats = dict(given)
    for column in frame.columns:
        values = frame[column]
        if column in formats:
            continue
        if pd.api.types.is_bool_dtype(values):
            continue
        whole_format = "0" if _is_year(column) else "#,##0"      # a year is a name: 2025, never 2,025
        if pd.api.types.is_integer_dtype(values):
            formats[column] = whole_format
        elif pd.api.types.is_float_dtype(values):
            present = values.dropna()
            formats[column] = whole_format if len(present) and (present % 1 == 0).all() else DECIMALS
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            printed = values.map(lambda v: isinstance(v, str) and bool(_PRINTED_NUMBER.match(v.strip())))
            if not printed.any():
                continue
            texts = values[printed].str.strip()
            percent = texts.str.endswith("%")
            if percent.any() and not percent.all():
                continue                          # percentages beside plain numbers: leave as printed
            numbers = texts.str.rstrip("%").str.replace(",", "", regex=False).astype(float)
            if percent.all():
                numbers = numbers / 100
                places = texts.str.rstrip("%").str.partition(".")[2].str.len().max()
                formats[column] = "0" + ("." + "0" * int(places) if places else "") + "%"
            elif (numbers % 1 == 0).all() and not texts.str.contains(r"\.", regex=True).any():
                formats[column] = whole_format
                numbers = numbers.astype(int)
            else:
                places = int(texts.str.partition(".")[2].str.len().max())
                formats[column] = "#,##0." + "0" * max(places, 1)
            frame[column] = values.astype(object).where(~printed, numbers.reindex(values.index))
    return frame, formats


def _is_year(column) -> bool:
    from perfkit.reports.display import YEAR_COLUMN   # 年度, 年份, Year…

    return isinstance(column, str) and bool(YEAR_COLUMN.search(column))


def _is_cjk(value) -> bool:
    return isinstance(value, str) and any("\u4e00" <= ch <= "\u9fff" for ch in value)
