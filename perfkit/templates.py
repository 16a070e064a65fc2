"""Excel import templates: one workbook per table of the data model, for units and finance systems to fill.

Each template has the table's sheet (named by the table's label; headers in the chosen language, a frozen
header row, drop-downs for coded and yes/no columns, number formats, text format for codes so that 007
stays 007), a notes sheet saying what each column means (from the schema and the data dictionary) and a
codes sheet the drop-downs read. A filled template is read by :func:`perfkit.io.read_table` (and so by
``perfkit load``) exactly like a CSV of the table: the notes and codes sheets are ignored, blank trailing
rows skipped, Excel dates read as dates, and every problem names the workbook, the sheet and the cell.
"""
from __future__ import annotations

from os import PathLike
from pathlib import Path

import pandas as pd

from perfkit.excel import save_workbook
from perfkit.schema import BOOLEAN, DATE, FLOAT, INTEGER, TABLES, spec
from perfkit.text import catalogue, check_lang, texts

#: Rows of the data sheet that get the drop-downs (the column formats hold for the whole column).
FORMATTED_ROWS = 100_000
_FORMATS = {FLOAT: "#,##0.00##", INTEGER: "0", DATE: "yyyy-mm-dd", "string": "@"}
_TYPE_WORDS = {"string": "text", INTEGER: "integer", FLOAT: "number", DATE: "date", BOOLEAN: "yes_no"}


def sheet_title(table: str, lang: str = "zh") -> str:
    """The data sheet's name: the table's label in ``lang`` (``项目`` or ``Projects``)."""
    return catalogue()["tables"][table][check_lang(lang)][:31]


def write_template(table: str, path: str | PathLike, lang: str = "zh", frame: pd.DataFrame | None = None) -> Path:
    """Write the Excel import template of ``table`` to ``path``.

    Parameters
    ----------
    table : str
        A table of the data model.
    path : path-like
        The ``.xlsx`` to write (written beside and moved into place).
    lang : {"zh", "en"}
        Headers, notes and drop-down labels.
    frame : DataFrame, optional
        Rows to pre-fill (a table of the data model, e.g. the demo city's): what a unit would type.

    Returns
    -------
    Path
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    lang = check_lang(lang)
    table_spec = spec(table)
    meta = catalogue()["tables"][table]
    words = texts("templates.words", lang)
    book = Workbook()
    data = book.active
    data.title = sheet_title(table, lang)
    notes = book.create_sheet(words["notes"])
    lists = book.create_sheet(words["codes"])
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="4472C4")
    list_column = 0
    note_headers = [words[k] for k in ("header", "column", "meaning", "type", "unit", "required", "allowed")]
    for c, header in enumerate(note_headers, start=1):
        cell = notes.cell(row=1, column=c, value=header)
        cell.font, cell.fill = bold, fill
    notes.cell(row=1, column=len(note_headers) + 2, value=meta["doc"]).data_type = "s"
    for c, column in enumerate(table_spec.columns, start=1):
        info = meta["columns"][column]
        letter = get_column_letter(c)
        dtype = table_spec.dtype(column)
        header = data.cell(row=1, column=c, value=info[lang])
        header.font, header.fill = bold, fill
        header.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        data.column_dimensions[letter].width = max(12, min(40, 2 * len(info[lang]) + 4))
        allowed = ""
        choices = None
        if column in table_spec.enums:
            values = catalogue()["values"][table_spec.enums[column]]
            choices = [v[lang] for v in values.values()]
            allowed = "；".join(f"{v[lang]}（{code}）" for code, v in values.items())
        elif dtype == BOOLEAN:
            choices = [words["yes"], words["no"]]
            allowed = "、".join(choices)
        if choices:
            list_column += 1
            list_letter = get_column_letter(list_column)
            lists.cell(row=1, column=list_column, value=info[lang]).font = Font(bold=True)
            for r, choice in enumerate(choices, start=2):
                lists.cell(row=r, column=list_column, value=choice).data_type = "s"
            rule = DataValidation(type="list", allow_blank=True, showErrorMessage=True,
                                  formula1=f"'{lists.title}'!${list_letter}$2:${list_letter}${len(choices) + 1}",
                                  errorTitle=words["invalid"], error=words["choose"])
            data.add_data_validation(rule)
            rule.add(f"{letter}2:{letter}{FORMATTED_ROWS + 1}")
        required = not table_spec.schema.columns[column].nullable
        row = [info[lang], column, info["doc"], words[_TYPE_WORDS[dtype]], info.get("unit", ""),
               words["yes"] if required else words["no"], allowed]
        for k, value in enumerate(row, start=1):
            notes.cell(row=c + 1, column=k, value=value).data_type = "s"
        data.column_dimensions[letter].number_format = _FORMATS.get(dtype, "General")   # the cells typed in later
    if frame is not None:
        _fill(data, frame[table_spec.columns], table_spec, lang, words)
    data.freeze_panes = "A2"
    for letter, width in zip("ABCDEFG", (16, 18, 60, 10, 8, 8, 40)):
        notes.column_dimensions[letter].width = width
    notes.freeze_panes = "A2"
    book.active = 0
    return save_workbook(book, path)


def _fill(sheet, frame: pd.DataFrame, table_spec, lang: str, words: dict) -> None:
    """Rows typed as a person types them: labels for codes, 是/否, dates as dates, text as text."""
    labels = {column: {code: v[lang] for code, v in catalogue()["values"][kind].items()}
              for column, kind in table_spec.enums.items()}
    for r, record in enumerate(frame.itertuples(index=False), start=2):
        for c, (column, value) in enumerate(zip(frame.columns, record), start=1):
            if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
                continue
            dtype = table_spec.dtype(column)
            if column in labels:
                value = labels[column].get(value, value)
            elif dtype == BOOLEAN:
                value = words["yes"] if bool(value) else words["no"]
            elif dtype == DATE:
                value = pd.Timestamp(value).to_pydatetime()
            elif dtype == INTEGER:
                value = int(value)
            elif dtype == FLOAT:
                value = float(value)
            cell = sheet.cell(row=r, column=c, value=value)
            cell.number_format = _FORMATS.get(dtype, "General")
            if isinstance(value, str):
                cell.data_type = "s"          # text from data is text, never a formula


def write_templates(directory: str | PathLike, tables: list[str] | None = None, lang: str = "zh",
                    frames: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write ``<table>.xlsx`` templates for ``tables`` (all by default) into ``directory``; ``frames``
    pre-fills the tables it holds."""
    tables = list(TABLES) if tables is None else [spec(t).name for t in tables]
    frames = frames or {}
    return [write_template(t, Path(directory) / f"{t}.xlsx", lang, frames.get(t)) for t in tables]


__all__ = ["sheet_title", "write_template", "write_templates"]
