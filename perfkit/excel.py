"""Formatted Excel workbooks that finance staff open directly (.xlsx, Chinese headers)."""
from __future__ import annotations

from os import PathLike
from pathlib import Path

import pandas as pd


def write_workbook(path: str | PathLike, sheets: dict[str, pd.DataFrame],
                   number_formats: dict[str, str] | None = None) -> Path:
    """Write ``sheets`` (name → frame) to ``path``: bold coloured headers, sized columns, a frozen header
    row and filters on every column.

    ``number_formats`` maps a column header to an Excel number format (e.g. ``"#,##0.00"``). Every text
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
                    if column in number_formats:
                        for cell in sheet[letter][1:]:
                            cell.number_format = number_formats[column]
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


def _is_cjk(value) -> bool:
    return isinstance(value, str) and any("\u4e00" <= ch <= "\u9fff" for ch in value)
