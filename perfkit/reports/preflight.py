"""Checks of a report's parameters before a kernel starts: well-formed dates, a store that exists and
can be read, and subjects (project, unit, request, direction, year) that are in it.

A malformed argument is a :class:`perfkit.errors.UsageError` (the CLI's exit code 2); data that is not
there is a :class:`perfkit.DataError` (exit 3). Both name the parameter and the value.
"""
from __future__ import annotations

import re
from pathlib import Path

from perfkit._lazy import lazy_module
from perfkit.errors import DataError, Problem, UsageError
from perfkit.reports.registry import Job
from perfkit.text import text

pd = lazy_module("pandas")   # the command line checks arguments before it needs pandas

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def iso_date(value, lang: str = "zh", name: str = "as_of") -> pd.Timestamp:
    """``value`` as a date when it is a real YYYY-MM-DD date; else a UsageError (31/08/2026 is refused,
    never read as March 8)."""
    if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
        raise UsageError(text("cli.bad_date", lang, name=name, value=value))
    try:
        return pd.Timestamp(value.strip())
    except ValueError:
        raise UsageError(text("cli.bad_date", lang, name=name, value=value)) from None


_YEARS = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?$")


def year_range(value, lang: str = "zh", name: str = "years") -> list[int]:
    """``value`` (2025, "2025" or "2023-2025") as the list of years; else a UsageError."""
    match = _YEARS.match(str(value))
    first, last = (int(match.group(1)), int(match.group(2) or match.group(1))) if match else (0, -1)
    if not match or last < first or not 1990 <= first <= 2100 or not 1990 <= last <= 2100:
        raise UsageError(text("cli.bad_years", lang, name=name, value=value))
    return list(range(first, last + 1))


def check_parameters(job: Job, parameters: dict, lang: str = "zh") -> None:
    """Refuse, before any kernel starts, what the report could not run with.

    Raises
    ------
    perfkit.errors.UsageError
        A malformed date.
    perfkit.DataError
        No store at the path, or a subject (or the year of a date) that is not in it.
    """
    from perfkit.store import Store, default_store_path

    dates = {name: iso_date(parameters[name], lang, name) for name in job.dates if parameters.get(name) is not None}
    years = {name: year_range(parameters[name], lang, name) for name in job.years
             if parameters.get(name) not in (None, "", "all")}
    lookups = {name: where for name, where in job.lookups.items()
               if parameters.get(name) not in (None, "", "all")}
    if not lookups and not job.dates and not years:
        return
    store = parameters.get("store") or str(default_store_path())
    if str(store) != ":memory:" and not Path(store).exists():
        raise DataError(Problem(str(store), text("cli.no_store", lang, path=store)))
    with Store(store, read_only=True) as opened:
        tables = set(opened.tables())
        for name, (table, column) in lookups.items():
            value = parameters[name]
            found = table in tables and len(opened.query(
                f'SELECT 1 FROM "{table}" WHERE "{column}" = ? LIMIT 1', [value]))
            if not found:
                raise DataError(Problem(Path(store).name, text("cli.not_found", lang,
                                                               label=text(f"cover.subjects.{name}", lang),
                                                               value=value), column=name))
        wanted = [(name, date.year) for name, date in dates.items()] + \
            [(name, year) for name, span in years.items() for year in span]
        for name, year in wanted:
            if "projects" not in tables or not len(opened.query("SELECT 1 FROM projects WHERE year = ? LIMIT 1",
                                                                [year])):
                raise DataError(Problem(Path(store).name, text("cli.no_year", lang, year=year), column=name))
