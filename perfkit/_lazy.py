"""Modules imported when first used, so that a job module is declared (and ``perfkit report JOB --help``
answers) without importing pandas or an engine.

:func:`lazy_module` is the standard library's recipe (:class:`importlib.util.LazyLoader`, as the
scientific Python ``lazy_loader`` does): the module object exists at once and runs its code on the
first attribute asked of it. A module already imported is returned as it is, so in a report kernel,
which imports pandas before any job, nothing is deferred.
"""
from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, imported on first use (at once when it is already imported)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
