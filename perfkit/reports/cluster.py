"""Batches on a Dask cluster: each worker keeps warm kernels, the caller writes what comes back.

``perfkit batch JOB --scheduler tcp://HOST:8786`` and ``run_many(..., scheduler=client_or_address)``
send each report to the cluster as one task. A worker runs it on its thread's warm kernel
(:mod:`perfkit.reports.warm`; the :class:`WarmKernels` worker plugin preloads perfkit and shuts the
kernels down with the worker) into its own scratch folder, and returns the files as bytes; the caller
writes them into the output folder whole (a temporary folder, then a rename) and records them in
the index, so the workers need no shared output folder. The store path must be readable on the
workers under the same name (a shared folder, or a copy at the same path).

Start a cluster on other machines with::

    dask scheduler                                  # on one machine: tcp://HOST:8786
    dask worker tcp://HOST:8786 --nthreads 1 --nworkers 2   # on each machine with perfkit installed
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distributed import Client, as_completed, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

PLUGIN_NAME = "perfkit-warm-kernels"


class WarmKernels(WorkerPlugin):
    """A Dask worker plugin: perfkit imported at start, every warm kernel shut down with the worker.

    Registered by :func:`connect`; the kernels themselves start on a worker thread's first report
    and stay for the next ones (recycled every ``warm.RECYCLE`` reports).
    """

    idempotent = True     # registering it again from another batch changes nothing

    def setup(self, worker) -> None:
        import perfkit.reports.warm  # noqa: F401 - the reports' heavy imports, once per worker process

    def teardown(self, worker) -> None:
        from perfkit.reports.warm import shutdown_all
        shutdown_all()


def connect(scheduler):
    """A ``distributed.Client`` for ``scheduler`` (an address or a client), with :class:`WarmKernels`."""
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    client.register_plugin(WarmKernels(), name=PLUGIN_NAME)
    return client


def render_on_worker(job: str, parameters: dict[str, Any], lang: str, formats, timeout) -> dict[str, Any]:
    """Run one report on this worker's warm kernel and return its files as bytes (a Dask task)."""
    import time

    from perfkit.reports.runner import run_report
    from perfkit.reports.warm import ENGINE

    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="perfkit-report-", dir=get_worker().local_directory))
    try:
        report = run_report(job, parameters, output_dir=folder, lang=lang, formats=formats, timeout=timeout,
                            index=False, engine=ENGINE)
        return {"job": report.job, "name": report.name, "title": report.title, "record": report.record,
                "seconds": time.perf_counter() - started,
                "notebook": (report.notebook.name, report.notebook.read_bytes()),
                "outputs": {fmt: (path.name, path.read_bytes()) for fmt, path in report.outputs.items()}}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def deliver(result: dict[str, Any], parameters: dict[str, Any], output_dir: Path, lang: str):
    """Write a report that came back from a worker into ``output_dir`` whole, and index it."""
    from perfkit.reports.runner import Report, index_report, report_meta

    work = Path(tempfile.mkdtemp(prefix=f".perfkit-{os.getpid()}-", dir=output_dir))
    try:
        files = {"notebook": result["notebook"], **result["outputs"]}
        for name, data in files.values():
            (work / name).write_bytes(data)
        for name, _ in files.values():
            os.replace(work / name, output_dir / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = Report(job=result["job"], name=result["name"], notebook=output_dir / result["notebook"][0],
                    outputs={fmt: output_dir / name for fmt, (name, _) in result["outputs"].items()},
                    title=result["title"], record=result["record"])
    index_report(output_dir, report, report_meta(report.job, {**parameters, "lang": lang}, lang, report.title))
    return report


def run_on_cluster(scheduler, outcomes: list, *, output_dir: Path, lang: str, formats,
                   timeout: float | None) -> Iterator:
    """Run the ``outcomes``' reports on the cluster; yield each outcome as its report ends."""
    import time

    client = connect(scheduler)
    try:
        started = time.perf_counter()
        futures = {client.submit(render_on_worker, o.job, o.parameters, lang, formats, timeout, pure=False): o
                   for o in outcomes}
        for future in as_completed(futures):
            outcome = futures[future]
            outcome.seconds = time.perf_counter() - started     # until it failed; a done one says its own
            try:
                result = future.result()
                report = deliver(result, outcome.parameters, output_dir, lang)
                outcome.status, outcome.outputs, outcome.seconds = "done", dict(report.outputs), result["seconds"]
            except Exception as exc:  # noqa: BLE001 - one report's failure never stops the batch
                outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
            yield outcome
    finally:
        if client is not scheduler:
            client.close()
