"""A papermill engine with warm kernels: each worker thread keeps one kernel, perfkit already imported.

``papermill --engine perfkit-warm in.ipynb out.ipynb`` (the ``papermill.engine`` entry point) and
``run_report(..., engine="perfkit-warm")`` use it. Starting a kernel and importing pandas, DuckDB and
perfkit take most of a report's time; a warm kernel pays that once per worker. Between notebooks the
kernel is reset so that each report equals what a fresh kernel makes: ``%reset -f`` empties the
namespace, matplotlib's figures are closed and its settings restored to what they were after start-up,
the warnings filters restored, and the CJK font set up again. (Loaded presets stay: they are immutable,
and one whose file changed is read anew, :func:`perfkit.rules.load_preset`.) A kernel
that died or hung is discarded (the report fails with the reason) and the next report starts a new one;
kernels are also recycled every ``recycle`` reports to bound memory. The executed notebook is
saved when it ends, not before and after every cell as papermill's own engine does.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

from jupyter_client import KernelManager

# nothing of nbclient, papermill or nbformat at import time: they import jsonschema, 1 s of start-up, and the
# batch command imports this module to start its kernels (prestart) before it imports them
log = logging.getLogger("perfkit")
#: This engine's name under papermill's ``papermill.engine`` entry point.
ENGINE = "perfkit-warm"

#: What a new kernel imports once (and the state it records, which each reset restores); the job module
#: of the notebook it runs is imported with it (:func:`kernel`), another job's when that job first comes.
PRELOAD = """
import warnings as _perfkit_warnings, matplotlib as _perfkit_matplotlib
import perfkit, perfkit.store, perfkit.io, perfkit.datasets, perfkit.reports.display, perfkit.reports.registry
import IPython.display, pandas.io.formats.style     # every report shows tables through them
_perfkit_state = (dict(_perfkit_matplotlib.rcParams), list(_perfkit_warnings.filters))
import builtins as _perfkit_builtins
_perfkit_builtins._perfkit_state = _perfkit_state
import gc as _perfkit_gc
_perfkit_gc.collect(); _perfkit_gc.freeze()   # the preloaded modules: never scanned again by %reset's collection
"""
#: Run before every notebook: a namespace and module state as a fresh kernel has them.
RESET = """
%reset -f
import builtins as _b, warnings as _w, matplotlib as _m, sys as _s
if "matplotlib.pyplot" in _s.modules:   # a notebook drew with pyplot (the reports' charts do not use it)
    _s.modules["matplotlib.pyplot"].close("all")
_m.rcParams.update({k: v for k, v in _b._perfkit_state[0].items() if k not in ("backend", "interactive")})
_w.filters[:] = _b._perfkit_state[1]
import perfkit.reports.display as _d
_d.use_cjk_font.cache_clear()
del _b, _w, _m, _s, _d
"""
RECYCLE = 50
#: The kernel keeps its own notes (TCP transport, the interrupt at shutdown) to itself: a report's
#: errors reach the caller through the notebook, not the kernel's log.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL",
                    # no input history: a report's cells need none, and its SQLite writes cost CPU each report
                    "--HistoryManager.enabled=False"]
_local = threading.local()
_all: list[KernelManager] = []
_lock = threading.Lock()


_control: dict[KernelManager, object] = {}     # each kernel's own client for the preload and the resets
_spare: list[tuple[str, Future]] = []          # kernels being started ahead by prestart(), by kernel name


def _run(km: KernelManager, code: str, timeout: float = 120, what: str = "set-up") -> None:
    client = _control.get(km)
    if client is None:           # connected once per kernel
        client = km.blocking_client()
        # the shell channel alone: a client subscribed to the kernel's broadcasts (iopub) would receive every
        # output of every report the kernel runs, and have to read them (20 ms of this process for each
        # reset) or buffer them
        client.start_channels(iopub=False, stdin=False, hb=False, control=False)
        _await_reply(km, client, client.kernel_info(), timeout=120, what=what)     # the kernel is up
        _control[km] = client
    _await_reply(km, client, client.execute(code, silent=True, store_history=False, allow_stdin=False),
                 timeout=timeout, what=what)


def _await_reply(km: KernelManager, client, msg_id: str, timeout: float, what: str) -> dict:
    """The kernel's reply to ``msg_id``; RuntimeError when the request failed or the kernel died, TimeoutError
    when no reply came within ``timeout`` seconds."""
    from queue import Empty

    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"warm kernel {what}: no answer within {timeout:.0f} s")
        try:
            reply = client.get_shell_msg(timeout=min(1.0, remaining))
        except Empty:                    # still working, or dead: a dead kernel fails the request at once
            if not km.is_alive():
                raise RuntimeError(f"warm kernel {what} failed: the kernel died") from None
            continue
        if reply["parent_header"].get("msg_id") != msg_id:
            continue                     # the late reply to a request that timed out before
        if reply["content"].get("status", "ok") != "ok":
            raise RuntimeError(f"warm kernel {what} failed: {reply['content'].get('ename')}: "
                               f"{reply['content'].get('evalue')}")
        return reply


def _start(kernel_name: str) -> KernelManager:
    # nbclient polls its client's channels inside asyncio: a blocking client (KernelManager's default)
    # would block its event loop in a wait for output that never comes when the kernel dies, so the
    # kernel's death would go unnoticed. The async client lets nbclient's liveness check run.
    km = KernelManager(kernel_name=kernel_name, client_class="jupyter_client.asynchronous.AsyncKernelClient")
    km.start_kernel(extra_arguments=list(KERNEL_ARGUMENTS))
    _run(km, PRELOAD)
    with _lock:
        _all.append(km)
    return km


def discard(km: KernelManager | None) -> None:
    """Shut a kernel down (it died, hung or served its turn)."""
    if km is None:
        return
    client = _control.pop(km, None)
    if client is not None:
        client.stop_channels()
    try:
        km.shutdown_kernel(now=True)
    except Exception:  # noqa: BLE001 - a dead kernel may not answer; it is gone either way
        pass
    with _lock:
        if km in _all:
            _all.remove(km)


def _job_imports(module: str) -> tuple[str, ...]:
    """A job module and the modules its job declares it imports on first use (:attr:`Job.warm`)."""
    from perfkit.reports.registry import get_job, job_name

    try:
        declared = get_job(job_name(module.rpartition(".")[2])).warm
    except KeyError:         # a module that declares no job
        declared = ()
    return (module, *declared)


def _import(km: KernelManager, modules, imported: set[str]) -> None:
    missing = [m for m in modules if m not in imported]
    if missing:          # imported modules stay through resets: only the first time costs
        # vars() runs a module that a job module made lazy (perfkit._lazy): `import` alone would not. The
        # modules are then frozen out of the garbage collector's view, as the preload is: %reset collects
        # twice per report, and a collection that walked WeasyPrint's or statsmodels' objects cost 0.25 s
        _run(km, "import importlib as _perfkit_importlib, gc as _perfkit_gc\n"
                 f"for _perfkit_module in {missing!r}: vars(_perfkit_importlib.import_module(_perfkit_module))\n"
                 "_perfkit_gc.collect(); _perfkit_gc.freeze()\n"
                 "del _perfkit_importlib, _perfkit_module, _perfkit_gc")
        imported.update(missing)


def prestart(jobs_: Iterable[str] = (), n: int | None = None, kernel_name: str = "python3", *,
             pdf: bool = False) -> None:
    """Have ``n`` warm kernels start now, in the background, for the next reports' workers to take.

    A caller with other work to do before its reports (the demo writes and loads its city first) lets the
    kernels start and import what ``jobs_`` (job names) need meanwhile, on the cores that work leaves
    idle, instead of after it. Kernels already starting count towards ``n``: they import these jobs'
    modules too, once up. So a caller may start kernels before it knows (or has imported) its jobs, and
    name them later. Kernels not taken are shut down with the others (:func:`shutdown_all`).

    Parameters
    ----------
    jobs_ : iterable of str
        Report jobs (``"portrait"``) whose modules and :attr:`Job.warm` imports each kernel loads.
    n : int, optional
        Kernels to have; default the number of cores (the workers a batch runs by default).
    pdf : bool
        Import WeasyPrint too: the reports will have PDFs, which each kernel renders (:func:`render_pdf`).
    """
    from perfkit.reports.registry import get_job

    modules = [name for job in jobs_ for name in _job_imports(get_job(job).module)]
    modules += list(PDF_MODULES) if pdf else []
    modules = list(dict.fromkeys(modules))

    def start() -> tuple[KernelManager, set[str]]:
        km, imported = _start(kernel_name), set()
        _import(km, modules, imported)
        return km, imported

    def then_import(starting: Future) -> tuple[KernelManager, set[str]]:
        km, imported = starting.result()
        _import(km, modules, imported)
        return km, imported

    n = n or os.cpu_count() or 1
    starter = ThreadPoolExecutor(max_workers=n, thread_name_prefix="perfkit-prestart")
    with _lock:
        starting = [i for i, (name, _) in enumerate(_spare) if name == kernel_name][:n]
        for i in starting:
            _spare[i] = (kernel_name, starter.submit(then_import, _spare[i][1]))
        _spare.extend((kernel_name, starter.submit(start)) for _ in range(n - len(starting)))
    starter.shutdown(wait=False)


def _take_spare(kernel_name: str) -> tuple[KernelManager, set[str]] | None:
    """A prestarted kernel (waiting for it to be ready), or None when there is none."""
    with _lock:
        index = next((i for i, (name, _) in enumerate(_spare) if name == kernel_name), None)
        if index is None:
            return None
        _, future = _spare.pop(index)
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a kernel that failed to start: the worker starts its own
        log.warning("a prestarted kernel failed to start (%s); starting another", exc)
        return None


def kernel(kernel_name: str = "python3", recycle: int = RECYCLE, module: str | None = None) -> KernelManager:
    """This thread's warm kernel, reset for the next notebook (taken from :func:`prestart`, started or
    recycled as needed).

    ``module`` (a job module such as ``perfkit.reports.key_evaluation``) is imported before the notebook
    runs, with the modules its job declares (:attr:`Job.warm`): at start-up for a new kernel, so that
    only the first report of a job in a kernel pays for them.
    """
    km, used = getattr(_local, "km", None), getattr(_local, "used", 0)
    if km is not None and (not km.is_alive() or used >= recycle or getattr(_local, "name", None) != kernel_name):
        discard(km)
        km = None
    if km is None:
        spare = _take_spare(kernel_name)
        if spare is not None and not spare[0].is_alive():    # it died while it waited to be taken
            discard(spare[0])
            spare = None
        km, _local.modules = spare if spare is not None else (_start(kernel_name), set())
        used = 0
    else:
        _run(km, RESET)
    if module:
        _import(km, _job_imports(module), _local.modules)
    _local.km, _local.used, _local.name = km, used + 1, kernel_name
    return km


#: What a kernel imports to render PDFs.
PDF_MODULES = ("perfkit.reports.pdf", "weasyprint")
#: Seconds a kernel may take to render one PDF.
PDF_TIMEOUT = 600


def render_pdf(html_path: str | os.PathLike, pdf_path: str | os.PathLike) -> bool:
    """Render the report at ``html_path`` as a PDF in this thread's warm kernel, which has just run it.

    WeasyPrint is pure Python: two reports' PDFs rendered in threads of the batch's process would take turns
    on its interpreter lock while a core idles. Each kernel renders its own report's PDF instead, in
    parallel with the others. The kernel is reset before its next notebook as always.

    Returns
    -------
    bool
        False when this thread has no live warm kernel (the caller renders the PDF itself).

    Raises
    ------
    RuntimeError
        The rendering failed in the kernel (with its error).
    """
    km = getattr(_local, "km", None)
    if km is None or not km.is_alive():
        return False
    _import(km, PDF_MODULES, _local.modules)
    # a limit far beyond any report's rendering (a long one takes seconds), that still ends the wait for a
    # kernel that died while it rendered
    _run(km, "from perfkit.reports.pdf import render_here as _perfkit_render\n"
             f"_perfkit_render(open({str(html_path)!r}, encoding='utf-8').read(), {str(pdf_path)!r})\n"
             "del _perfkit_render", timeout=PDF_TIMEOUT, what="PDF rendering")
    return True


@atexit.register
def shutdown_all() -> None:
    """Shut every warm kernel down, prestarted ones not taken included (at exit, or when a batch is done)."""
    with _lock:
        spare = [future for _, future in _spare]
        _spare.clear()
    for future in spare:
        try:
            future.result()          # a kernel still starting is waited for, then shut down with the rest
        except Exception:  # noqa: BLE001 - it never started: nothing to shut down
            pass
    for km in list(_all):
        discard(km)
    _local.__dict__.clear()


async def _until_connected(client, timeout: float) -> None:
    """Wait until the kernel answers ``kernel_info`` and this new client's iopub hears its status.

    jupyter_client's ``wait_for_ready`` does the same and then listens 0.2 s more for iopub to fall
    silent; a warm kernel between notebooks is idle, so hearing the reply's status is enough.
    """
    from queue import Empty

    from jupyter_core.utils import ensure_async
    from nbclient.exceptions import DeadKernelError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg_id = client.kernel_info()
        try:
            while True:
                msg = await client.iopub_channel.get_msg(timeout=0.1)
                if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" \
                        and msg["content"].get("execution_state") == "idle":
                    return
        except Empty:       # the subscription was not connected yet, or the kernel is gone
            if not await ensure_async(client.is_alive()):    # a coroutine on the async client: awaited
                raise DeadKernelError("Kernel died") from None
    raise TimeoutError(f"the warm kernel did not answer within {timeout:.0f} s")


@lru_cache(maxsize=1)
def _engine():
    """The engine class, built on papermill's nbclient engine when papermill is importable.

    papermill loads its ``papermill.engine`` entry points while it is itself being imported, so this
    module imports nothing of papermill at import time: :class:`WarmEngine` delegates to this class.
    """
    from jupyter_core.utils import ensure_async, run_sync
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import run_hook
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine
    from papermill.utils import merge_kwargs, remove_args

    class Client(PapermillNotebookClient):
        """papermill's client, connecting to a warm kernel without jupyter_client's 0.2 s iopub wait."""

        async def async_start_new_kernel_client(self):
            self.kc = self.km.client()
            await ensure_async(self.kc.start_channels())
            await _until_connected(self.kc, self.startup_timeout)
            self.kc.allow_stdin = False
            await run_hook(self.on_notebook_start, notebook=self.nb)
            return self.kc

        start_new_kernel_client = run_sync(async_start_new_kernel_client)

    class Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            from perfkit.reports.registry import get_job, job_name

            notebook = Path(str(kwargs.get("input_path") or ""))
            try:
                module = get_job(job_name(notebook.stem)).module
            except KeyError:     # a notebook of no job: a warm kernel with perfkit, nothing more
                module = None
            km = kernel(kernel_name or "python3", module=module)
            kwargs = remove_args(["input_path", "extra_arguments"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(safe_kwargs, timeout=execution_timeout or kwargs.get("timeout"),
                                        startup_timeout=start_timeout, kernel_name=kernel_name,
                                        log=logging.getLogger("papermill"), log_output=log_output,
                                        stdout_file=stdout_file, stderr_file=stderr_file)
            client = Client(nb_man, km=km, **final_kwargs)
            try:
                return client.execute()
            except (DeadKernelError, CellTimeoutError, TimeoutError):
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


__all__ = ["WarmEngine", "discard", "kernel", "prestart", "render_pdf", "shutdown_all"]
