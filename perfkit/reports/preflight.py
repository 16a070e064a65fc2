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
    stores: dict = {}
    try:
        _check(job, parameters, lang, stores)
    finally:
        _close(stores)


def check_many(tasks: list[tuple[Job | None, dict]], lang: str = "zh") -> list[Exception | None]:
    """:func:`check_parameters` for each (job, parameters), each store opened once for all of them: what each
    task's check refused (a UsageError, a DataError, a store that cannot be opened), or None (also for a
    task without a job: a notebook given by path has no registry entry to check against).

    A batch checks all its reports this way before the first one runs: opening a store starts a DuckDB
    instance (12 ms), which every report of a batch otherwise paid once more in the batch's process.
    """
    stores: dict = {}
    refusals: list[Exception | None] = []
    try:
        for job, parameters in tasks:
            try:
                if job is not None:
                    _check(job, parameters, lang, stores)
                refusals.append(None)
            except Exception as exc:  # noqa: BLE001 - as in run_report: whatever refuses a report fails that report
                refusals.append(exc)
    finally:
        _close(stores)
    return refusals


def _check(job: Job, parameters: dict, lang: str, stores: dict) -> None:
    """:func:`check_parameters` in the stores already opened (read-only, by path), opening the one it needs."""
    from perfkit.store import Store, default_store_path

    dates = {name: iso_date(parameters[name], lang, name) for name in job.dates if parameters.get(name) is not None}
    years = {name: year_range(parameters[name], lang, name) for name in job.years
             if parameters.get(name) not in (None, "", "all")}
    lookups = {name: where for name, where in job.lookups.items()
               if parameters.get(name) not in (None, "", "all")}
    if not lookups and not job.dates and not years:
        return
    store = str(parameters.get("store") or default_store_path())
    if store != ":memory:" and not Path(store).exists():
        raise DataError(Problem(store, text("cli.no_store", lang, path=store)))
    if store not in stores:
        stores[store] = Store(store, read_only=True)
    opened = stores[store]
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


def _close(stores: dict) -> None:
    for opened in stores.values():
        opened.close()
