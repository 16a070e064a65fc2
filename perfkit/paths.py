"""Where the store is when a command or notebook names none (apart from :mod:`perfkit.store`, which imports
pandas, DuckDB and pandera: the command line finds the store before it imports them)."""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STORE = Path("data") / "perfkit.duckdb"
STORE_ENV = "PERFKIT_STORE"


def default_store_path() -> Path:
    """Where the store is when the caller names none.

    ``$PERFKIT_STORE`` if set; else ``data/perfkit.duckdb`` in the current
    directory or the nearest parent that has one (so a notebook run from
    ``notebooks/`` finds the project's store); else ``./data/perfkit.duckdb``.
    """
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV])
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / DEFAULT_STORE).exists():
            return folder / DEFAULT_STORE
    return here / DEFAULT_STORE


__all__ = ["DEFAULT_STORE", "STORE_ENV", "default_store_path"]
