"""Errors that perfkit raises for problems in the user's input."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in one place of an input file.

    ``row`` is the row a person sees when opening the file: for CSV and Excel
    the spreadsheet row (the header is row 1, the first record row 2), for
    Parquet the 1-based record number. ``None`` where the problem concerns the
    whole file or a whole column.
    """

    file: str
    problem: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.problem}"


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
        lines = [str(p) for p in self.problems[: self.MAX_SHOWN]]
        hidden = len(self.problems) - len(lines)
        if hidden > 0:
            lines.append(f"... and {hidden} more problem(s)")
        super().__init__("\n".join(lines) if len(lines) > 1 else lines[0])


class ReportError(RuntimeError):
    """A report notebook failed to run or export; the message names the cell and the error."""


class UsageError(ValueError):
    """A command-line argument (or report parameter) that is malformed: a date that is not YYYY-MM-DD."""
