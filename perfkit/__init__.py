"""perfkit: a Jupyter-based workbench for budget performance evaluation (预算绩效管理).

The main entry points::

    import perfkit
    store = perfkit.Store("data/perfkit.duckdb")   # the embedded DuckDB store
    store.load("data/demo")                        # validated, all or nothing
    units = perfkit.read_table("units.csv", "units")
    city = perfkit.datasets.make_demo(seed=0)      # the demo city
"""
__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)

from perfkit import datasets  # noqa: E402
from perfkit.errors import DataError, Problem, ReportError  # noqa: E402
from perfkit.io import read_table  # noqa: E402
from perfkit.store import Store  # noqa: E402

__all__ = ["DataError", "Problem", "ReportError", "Store", "datasets", "read_table", "__version__"]
