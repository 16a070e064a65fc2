"""The embedded store: one DuckDB database holding every table of the data model."""
from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from os import PathLike
from pathlib import Path

import duckdb
import pandas as pd

from perfkit.errors import DataError, Problem, reason
from perfkit.io import check_references, find_table_files, read_table, validate_frame
from perfkit.paths import DEFAULT_STORE, STORE_ENV, default_store_path  # noqa: F401 - perfkit.store's names too
from perfkit.schema import BOOLEAN, DATE, FLOAT, INTEGER, TABLES, spec

log = logging.getLogger(__name__)

_SQL_TYPES = {"string": "VARCHAR", INTEGER: "BIGINT", FLOAT: "DOUBLE", DATE: "DATE", BOOLEAN: "BOOLEAN"}


def _ddl(table: str) -> str:
    table_spec = spec(table)
    columns = ", ".join(f'"{c}" {_SQL_TYPES[table_spec.dtype(c)]}' for c in table_spec.columns)
    return f'CREATE OR REPLACE TABLE "{table}" ({columns})'


class Store:
    """A perfkit store in an embedded DuckDB database.

    Parameters
    ----------
    path : path-like or ":memory:", optional
        The database file (created when absent); ``":memory:"`` for a
        throw-away store; by default :func:`default_store_path`.
    read_only : bool, default False
        Open read-only, so that many notebooks may read one store at once.

    Examples
    --------
    >>> store = Store(":memory:")
    >>> store.load("data/demo")            # doctest: +SKIP
    >>> store.table("units").head()        # doctest: +SKIP
    """

    def __init__(self, path: str | PathLike | None = None, *, read_only: bool = False):
        self.path = str(path) if path is not None else str(default_store_path())
        if self.path != ":memory:":
            if read_only and not Path(self.path).exists():
                raise FileNotFoundError(f"no perfkit store at {self.path}: run `perfkit load DIR` "
                                        f"or `perfkit demo` first")
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.read_only = read_only
        self.con = duckdb.connect(self.path, read_only=read_only)

    # -- context manager -----------------------------------------------------
    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (a file store is then free for other writers)."""
        self.con.close()

    def __repr__(self) -> str:
        return f"Store({self.path!r}, tables={self.tables()})"

    # -- reading -------------------------------------------------------------
    def tables(self) -> list[str]:
        """Names of the tables in the store (data-model tables first)."""
        present = set(self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").df()["table_name"])
        return [t for t in TABLES if t in present] + sorted(present - set(TABLES))

    def table(self, name: str) -> pd.DataFrame:
        """Return a whole table; data-model tables come back in their schema types."""
        if name not in self.tables():
            raise KeyError(f"table {name!r} is not in the store {self.path} "
                           f"(it has: {', '.join(self.tables()) or 'nothing yet'})")
        frame = self.con.execute(f'SELECT * FROM "{name}"').df()
        if name in TABLES:
            table_spec = spec(name)
            frame = frame.astype({c: table_spec.dtype(c) for c in table_spec.columns})
        return frame

    def query(self, sql: str, params: list | dict | None = None) -> pd.DataFrame:
        """Run SQL against the store and return the result as a DataFrame."""
        return self.con.execute(sql, params).df() if params is not None else self.con.execute(sql).df()

    # -- writing -------------------------------------------------------------
    def load(self, directory: str | PathLike, *, encoding: str | None = None) -> dict[str, int]:
        """Validate every table file in ``directory``, then load them all or nothing.

        Each ``<table>.csv|.xlsx|.parquet`` replaces that table in the store;
        tables not in ``directory`` are kept and references to them checked.
        Loading the same files twice leaves the same store.

        Returns
        -------
        dict
            Rows loaded per table.

        Raises
        ------
        perfkit.DataError
            For every problem in every file; the store is then unchanged.
        """
        frames = read_folder(directory, encoding=encoding)
        return self._replace(frames)

    def load_frames(self, frames: dict[str, pd.DataFrame]) -> dict[str, int]:
        """Validate and load in-memory tables (e.g. :func:`perfkit.datasets.make_demo`), all or nothing."""
        validated, problems = {}, []
        for name, frame in frames.items():
            try:
                validated[name] = validate_frame(frame, spec(name), source=f"{name} (DataFrame)")
            except DataError as exc:
                problems += exc.problems
        if problems:
            raise DataError(problems)
        return self._replace(validated)

    def save(self, name: str, frame: pd.DataFrame) -> None:
        """Store a derived table (standards, scores...) under ``name``, replacing it.

        Data-model tables are refused: they enter only through validated loads.
        """
        if name in TABLES:
            raise ValueError(f"{name!r} is a data-model table; load it with Store.load")
        self.con.register("_perfkit_frame", frame)
        try:
            self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _perfkit_frame')
        finally:
            self.con.unregister("_perfkit_frame")

    def _replace(self, frames: dict[str, pd.DataFrame]) -> dict[str, int]:
        everything = {name: self.table(name) for name in self.tables()
                      if name in TABLES and name not in frames}
        everything.update(frames)
        problems = check_references(everything)
        if problems:
            raise DataError(problems)
        loaded = {}
        self.con.execute("BEGIN TRANSACTION")
        try:
            for name in TABLES:
                if name not in frames:
                    continue
                frame = frames[name][spec(name).columns]
                self.con.execute(_ddl(name))
                self.con.register("_perfkit_frame", frame)
                self.con.execute(f'INSERT INTO "{name}" SELECT * FROM _perfkit_frame')
                self.con.unregister("_perfkit_frame")
                loaded[name] = len(frame)
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        return loaded


def read_folder(directory: str | PathLike, *, encoding: str | None = None) -> dict[str, pd.DataFrame]:
    """Read and validate every table file in ``directory``, touching no store.

    Raises
    ------
    perfkit.DataError
        For every problem in every file.
    """
    files = find_table_files(directory)
    if not files:
        raise DataError(Problem(str(directory), reason("no_table_files", tables=", ".join(TABLES))))
    frames, problems = {}, []
    for name, path in files.items():
        try:
            frames[name] = read_table(path, name, encoding=encoding)
        except DataError as exc:
            problems += exc.problems
    if problems:
        raise DataError(problems)
    return frames


def check_schema(path: str | PathLike) -> None:
    """Refuse a store whose tables lack a column of perfkit's schema (a store written by hand or by an
    older perfkit), naming the table and the column.

    Raises
    ------
    perfkit.DataError
        One problem per missing column.
    """
    with duckdb.connect(str(path), read_only=True) as con:
        present = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema = 'main'").fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in present:
        columns.setdefault(table, set()).add(column)
    problems = [Problem(str(path), reason("store_missing_column", table=table, column=column), column=column)
                for table, found in columns.items() if table in TABLES
                for column in TABLES[table].columns if column not in found]
    if problems:
        raise DataError(problems)


@contextmanager
def load_lock(path: str | PathLike, wait: float | None = 0.0):
    """Hold the store's load lock (an exclusive ``fcntl`` lock on ``.<store>.lock`` beside it) for one load.

    Two loads at once would each build a new store from the old one and the second rename would silently
    drop the first load's tables: the second load waits for the first (``wait`` seconds; None: as long as it
    takes) or is refused. Readers take no lock: they never wait for a load.

    Raises
    ------
    perfkit.DataError
        Another load of the store holds the lock after ``wait`` seconds.
    """
    import fcntl

    path = Path(path)
    lock_path = path.with_name(f".{path.name}.lock")
    deadline = None if wait is None else time.monotonic() + max(wait, 0.0)
    with open(lock_path, "a+") as handle:
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise DataError(Problem(str(path), reason("store_busy", wait=wait or 0))) from None
                if not announced:
                    log.warning("another load of %s is running: waiting for it%s", path,
                                "" if wait is None else f" (up to {wait:g} s)")
                    announced = True
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale_builds(path: Path) -> None:
    """Remove what killed loads left (``.<store>.<pid>.loading`` and its WAL): under the load lock no other
    load is building, so every such file is stale."""
    for stale in path.parent.glob(f".{path.name}.*.loading*"):
        stale.unlink(missing_ok=True)


def load_store(path: str | PathLike, directory: str | PathLike, *, encoding: str | None = None,
               wait: float | None = 0.0) -> dict[str, int]:
    """Load a folder of table files into the store file at ``path`` without ever blocking its readers.

    The files are validated first, with no lock taken. The new store is then built beside the old one
    (the old one attached read-only for the tables the folder does not replace, and for the references),
    and moved into place with one atomic rename. A reader that has the old store open keeps a consistent
    snapshot of it; the next one opens the new store. A refused load leaves no file behind.

    Returns
    -------
    dict
        Rows loaded per table.

    ``wait``: seconds to wait for another load of the same store to finish (None: as long as it takes; 0:
    refuse at once), see :func:`load_lock`.

    Raises
    ------
    perfkit.DataError
        For every problem in the files or their references, or another load holding the store; the store is
        then unchanged.
    """
    path = Path(path)
    frames = read_folder(directory, encoding=encoding)           # no lock while the files are checked
    path.parent.mkdir(parents=True, exist_ok=True)
    with load_lock(path, wait):
        _remove_stale_builds(path)
        return _build(path, frames)


def update_store(path: str | PathLike, changes, *, wait: float | None = 0.0) -> dict[str, int]:
    """Replace whole tables of the store at ``path`` like :func:`load_store` does (validated, references
    checked, built beside and swapped in, never blocking readers), from frames rather than files.

    ``changes(store)`` is called under the load lock with the current store open read-only, and returns
    ``(frames, derived)``: the data-model tables to replace, and derived tables (a log, comments) saved in the
    same new store, so that they change together. Reading the current tables under the lock means that a
    load or another update between the read and the write cannot be lost.

    Raises
    ------
    perfkit.DataError
        For every problem in the frames or their references; the store is then unchanged.
    """
    path = Path(path)
    with load_lock(path, wait):
        _remove_stale_builds(path)
        with Store(path, read_only=True) as store:
            frames, derived = changes(store)
        validated, problems = {}, []
        for name, frame in frames.items():
            try:
                validated[name] = validate_frame(frame, spec(name), source=name)
            except DataError as exc:
                problems += exc.problems
        if problems:
            raise DataError(problems)
        return _build(path, validated, derived)


def require_tables(store: "Store", tables) -> None:
    """Refuse, naming them, the tables a task needs that the store does not hold.

    Raises
    ------
    perfkit.DataError
    """
    missing = [t for t in tables if t not in store.tables()]
    if missing:
        raise DataError(Problem(store.path, reason("table_needed", tables="、".join(missing))))


def _build(path: Path, frames: dict[str, pd.DataFrame], derived: dict[str, pd.DataFrame] | None = None) -> dict[str, int]:
    """Build the new store beside the old one and move it into place (under the load lock)."""
    building = path.with_name(f".{path.name}.{os.getpid()}.loading")
    try:
        con = duckdb.connect(str(building))
        try:
            if path.exists():
                con.execute(f"ATTACH '{_quoted(path)}' AS previous (READ_ONLY)")
                kept = con.execute("SELECT table_name FROM information_schema.tables "
                                   "WHERE table_catalog = 'previous' AND table_schema = 'main'").df()["table_name"]
                for table in kept:
                    if table not in frames:
                        con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM previous.main."{table}"')
                con.execute("DETACH previous")
            store = Store.__new__(Store)
            store.path, store.read_only, store.con = str(building), False, con
            loaded = store._replace(frames)
            for name, frame in (derived or {}).items():
                store.save(name, frame)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(building, path)                                  # readers of the old file keep it
    finally:
        building.unlink(missing_ok=True)
        Path(f"{building}.wal").unlink(missing_ok=True)
    return loaded


def _quoted(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")
