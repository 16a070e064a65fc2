"""perfkit: a Jupyter-based workbench for budget performance evaluation (预算绩效管理).

The main entry points::

    import perfkit
    store = perfkit.Store("data/perfkit.duckdb")   # the embedded DuckDB store
    store.load("data/demo")                        # validated, all or nothing
    units = perfkit.read_table("units.csv", "units")
    city = perfkit.datasets.make_demo(seed=0)      # the demo city
"""
from perfkit import datasets
from perfkit.errors import DataError, Problem
from perfkit.io import read_table
from perfkit.store import Store

__version__ = "0.1.0"
__all__ = ["DataError", "Problem", "Store", "datasets", "read_table", "__version__"]
