"""perfkit: a Jupyter-based workbench for budget performance evaluation (预算绩效管理).

The main entry points::

    import perfkit
    store = perfkit.Store("data/perfkit.duckdb")   # the embedded DuckDB store
    store.load("data/demo")                        # validated, all or nothing
    units = perfkit.read_table("units.csv", "units")
    city = perfkit.datasets.make_demo(seed=0)      # the demo city
"""
__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)

# Names are imported when first used (PEP 562), as in perfkit.quota: `perfkit demo` starts its report kernels
# before it pays for pandas, DuckDB and pandera, and `perfkit --help` answers at once.
import importlib
import importlib.util

_WHERE = {"DataError": "errors", "Problem": "errors", "ReportError": "errors", "read_table": "io", "Store": "store"}
__all__ = ["DataError", "Problem", "ReportError", "Store", "datasets", "read_table", "__version__"]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"perfkit.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    if name.isidentifier() and not name.startswith("_") and importlib.util.find_spec(f"perfkit.{name}") is not None:
        return importlib.import_module(f"perfkit.{name}")       # perfkit.datasets, perfkit.queries...
    raise AttributeError(f"module 'perfkit' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
