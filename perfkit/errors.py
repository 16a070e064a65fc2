"""Errors that perfkit raises for problems in the user's input, in the user's language.

A :class:`Problem` says where (file, row, column) and what: a :class:`Reason`, a code of the catalogue's
``text.problems`` with its values, rendered in Chinese or English (:meth:`Problem.render`); text that
arrives already worded (a preset validator's message) passes through as it is. ``str()`` of a problem
or a :class:`DataError` uses the default language, ``$PERFKIT_LANG`` or Chinese.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from perfkit.text import Message, check_lang, text


class Reason(Message):
    """What is wrong: a code under the catalogue's ``text.problems`` and the values it shows."""

    section = "problems"


def reason(code: str, **params) -> Reason:
    """Shorthand for ``Reason(code, params)``."""
    return Reason(code, params)


def default_lang() -> str:
    """The language of ``str()`` of a problem: ``$PERFKIT_LANG`` (zh or en), Chinese by default."""
    return check_lang(os.environ.get("PERFKIT_LANG") or "zh")


@dataclass(frozen=True)
class Problem:
    """One problem found in one place of an input file.

    ``row`` is the row a person sees when opening the file: for CSV and Excel
    the spreadsheet row (the header is row 1, the first record row 2), for
    Parquet the 1-based record number. ``None`` where the problem concerns the
    whole file or a whole column. ``column`` is named as the file names it.
    """

    file: str
    problem: Reason | str
    row: int | None = None
    column: str | None = None
    sheet: str | None = None     # a workbook's sheet, with ``cell`` (C12) where the problem is one cell
    cell: str | None = None

    def text(self, lang: str | None = None) -> str:
        """What is wrong, in ``lang`` (the default language when None)."""
        lang = lang or default_lang()
        return self.problem.render(lang) if isinstance(self.problem, Message) else str(self.problem)

    def render(self, lang: str | None = None) -> str:
        """``file, row 11, column 'cost': what is wrong`` in ``lang`` (the default language when None)."""
        lang = lang or default_lang()
        where = [self.file]
        if self.sheet is not None:
            where.append(f"{self.sheet}!{self.cell}" if self.cell else self.sheet)
        if self.row is not None and self.cell is None:
            where.append(text("problems.where.row", lang, row=self.row))
        if self.column is not None:
            where.append(text("problems.where.column", lang, column=self.column))
        return text("problems.where.line", lang, where=text("problems.where.separator", lang).join(where),
                    problem=self.text(lang))

    def __str__(self) -> str:
        return self.render()


class DataError(ValueError):
    """Bad input: names the file, row, column and problem of each finding.

    Attributes
    ----------
    problems : list of Problem
        Every problem found (the message shows the first ``MAX_SHOWN``).
    """

    MAX_SHOWN = 20

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(file="<input>", problem=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.render())

    def render(self, lang: str | None = None) -> str:
        """Every problem (the first ``MAX_SHOWN``), one per line, in ``lang`` (default: the default language)."""
        lines = [p.render(lang) for p in self.problems[: self.MAX_SHOWN]]
        hidden = len(self.problems) - len(lines)
        if hidden > 0:
            lines.append(text("problems.where.more", lang or default_lang(), n=hidden))
        return "\n".join(lines) if len(lines) > 1 else lines[0]


class ReportError(RuntimeError):
    """A report notebook failed to run or export; the message names the cell and the error."""


class UsageError(ValueError):
    """A command-line argument (or report parameter) that is malformed: a date that is not YYYY-MM-DD."""
