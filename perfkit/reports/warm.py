"""A papermill engine with warm kernels: each worker thread keeps one kernel, perfkit already imported.

``papermill --engine perfkit-warm in.ipynb out.ipynb`` (the ``papermill.engine`` entry point) and
``run_report(..., engine="perfkit-warm")`` use it. Starting a kernel and importing pandas, DuckDB and
perfkit take most of a report's time; a warm kernel pays that once per worker. Between notebooks the
kernel is reset so that each report equals what a fresh kernel makes: ``%reset -f`` empties the
namespace, matplotlib's figures are closed and its settings restored to what they were after start-up,
the warnings filters restored, and perfkit's caches (presets, the CJK font set-up) cleared. A kernel
that died or hung is discarded (the report fails with the reason) and the next report starts a new one;
kernels are also recycled every ``recycle`` reports to bound memory.
"""
from __future__ import annotations

import atexit
import logging
import threading

from functools import lru_cache

from jupyter_client import KernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError

log = logging.getLogger("perfkit")

#: What a new kernel imports once (and the state it records, which each reset restores).
PRELOAD = """
import warnings as _perfkit_warnings, matplotlib as _perfkit_matplotlib
import matplotlib.pyplot as _perfkit_plt
import perfkit, perfkit.reports.display, perfkit.reports.key_evaluation, perfkit.reports.self_evaluation
import perfkit.reports.project_overview, perfkit.reports.ex_ante, perfkit.reports.monitoring
import perfkit.reports.quota_standards
_perfkit_state = (dict(_perfkit_matplotlib.rcParams), list(_perfkit_warnings.filters))
import builtins as _perfkit_builtins
_perfkit_builtins._perfkit_state = _perfkit_state
"""
#: Run before every notebook: a namespace and module state as a fresh kernel has them.
RESET = """
%reset -f
import builtins as _b, warnings as _w, matplotlib as _m, matplotlib.pyplot as _p
_p.close("all")
_m.rcParams.update({k: v for k, v in _b._perfkit_state[0].items() if k not in ("backend", "interactive")})
_w.filters[:] = _b._perfkit_state[1]
import perfkit.rules as _r, perfkit.reports.display as _d
_r.clear_cache(); _d.use_cjk_font.cache_clear()
del _b, _w, _m, _p, _r, _d
%reset -f
"""
RECYCLE = 50
_local = threading.local()
_all: list[KernelManager] = []
_lock = threading.Lock()


def _run(km: KernelManager, code: str, timeout: float = 120) -> None:
    client = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=timeout)
        reply = client.execute_interactive(code, timeout=timeout, output_hook=lambda msg: None)
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"warm kernel set-up failed: {reply['content'].get('ename')}: "
                               f"{reply['content'].get('evalue')}")
    finally:
        client.stop_channels()


def _start(kernel_name: str) -> KernelManager:
    from perfkit.reports.runner import KERNEL_ARGUMENTS

    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel(extra_arguments=list(KERNEL_ARGUMENTS))
    _run(km, PRELOAD)
    with _lock:
        _all.append(km)
    return km


def discard(km: KernelManager | None) -> None:
    """Shut a kernel down (it died, hung or served its turn)."""
    if km is None:
        return
    try:
        km.shutdown_kernel(now=True)
    except Exception:  # noqa: BLE001 - a dead kernel may not answer; it is gone either way
        pass
    with _lock:
        if km in _all:
            _all.remove(km)


def kernel(kernel_name: str = "python3", recycle: int = RECYCLE) -> KernelManager:
    """This thread's warm kernel, reset for the next notebook (started or recycled as needed)."""
    km, used = getattr(_local, "km", None), getattr(_local, "used", 0)
    if km is not None and (not km.is_alive() or used >= recycle or getattr(_local, "name", None) != kernel_name):
        discard(km)
        km = None
    if km is None:
        km, used = _start(kernel_name), 0
    else:
        _run(km, RESET)
    _local.km, _local.used, _local.name = km, used + 1, kernel_name
    return km


@atexit.register
def shutdown_all() -> None:
    """Shut every warm kernel down (at exit, or when a batch is done)."""
    for km in list(_all):
        discard(km)
    _local.__dict__.clear()


@lru_cache(maxsize=1)
def _engine():
    """The engine class, built on papermill's nbclient engine when papermill is importable.

    papermill loads its ``papermill.engine`` entry points while it is itself being imported, so this
    module imports nothing of papermill at import time: :class:`WarmEngine` delegates to this class.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine
    from papermill.utils import merge_kwargs, remove_args

    class Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            km = kernel(kernel_name or "python3")
            kwargs = remove_args(["input_path", "extra_arguments"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(safe_kwargs, timeout=execution_timeout or kwargs.get("timeout"),
                                        startup_timeout=start_timeout, kernel_name=kernel_name,
                                        log=logging.getLogger("papermill"), log_output=log_output,
                                        stdout_file=stdout_file, stderr_file=stderr_file)
            client = PapermillNotebookClient(nb_man, km=km, **final_kwargs)
            try:
                return client.execute()
            except (DeadKernelError, CellTimeoutError):
                discard(km)                # never reuse a kernel that died or is stuck in a cell
                _local.km = None
                raise
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    return Engine


class WarmEngine:
    """papermill's nbclient engine on this thread's warm kernel instead of a new one
    (registered as the ``perfkit-warm`` engine)."""

    @classmethod
    def execute_notebook(cls, *args, **kwargs):
        return _engine().execute_notebook(*args, **kwargs)

    @classmethod
    def nb_kernel_name(cls, nb, name=None):
        return _engine().nb_kernel_name(nb, name)

    @classmethod
    def nb_language(cls, nb, language=None):
        return _engine().nb_language(nb, language)


__all__ = ["WarmEngine", "discard", "kernel", "shutdown_all"]
