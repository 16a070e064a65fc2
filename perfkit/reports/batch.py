"""Reports in bulk: subjects selected from the store, run in parallel, each failure isolated and recorded,
a manifest beside the reports, and ``resume`` that skips what is done and redoes what changed.

``perfkit batch JOB`` and :func:`batch` select the subjects; :func:`run_many` runs any list of
(job, parameters). Every report's outcome goes into ``manifest.csv`` (UTF-8 with BOM, for Excel) and
``manifest.json``: subject, status (done, failed, skipped), seconds, outputs, error, and the hash of
its inputs (notebook, parameters, preset, data snapshot, formats, language, perfkit version) that
``resume`` compares.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import perfkit
from perfkit import queries
from perfkit.reports.export import data_snapshot, write_atomically
from perfkit.reports.preflight import check_many
from perfkit.reports.registry import find_job, get_job
from perfkit.reports.warm import ENGINE as WARM
from perfkit.rules import load_preset

log = logging.getLogger("perfkit")
MANIFEST = "manifest"


@dataclass
class Outcome:
    """One report of a batch: what it was about, how it ended, and what it wrote."""

    job: str
    subject: str
    parameters: dict
    status: str = "pending"          # done, failed, skipped
    seconds: float = 0.0
    outputs: dict = field(default_factory=dict)
    error: str = ""
    inputs: str = ""


def inputs_hash(job: str, parameters: dict, lang: str, formats) -> str:
    """A hash of everything a report depends on: notebook, parameters, preset, data, formats, language."""
    digest = hashlib.sha256()
    digest.update(_notebook(job).read_bytes())
    shown = {k: v for k, v in parameters.items() if k != "store"}
    digest.update(json.dumps(shown, sort_keys=True, default=str).encode())
    preset = load_preset(parameters.get("preset") or "default")
    digest.update(preset.model_dump_json().encode())
    digest.update(data_snapshot(parameters.get("store")).encode())
    digest.update(f"{lang}|{formats}|{perfkit.__version__}".encode())
    return digest.hexdigest()[:20]


def _notebook(job: str) -> Path:
    """A job's notebook, or ``job`` itself when it is the path of a notebook."""
    try:
        return get_job(job).notebook_path
    except KeyError:
        return Path(job)


def _subject(job: str, parameters: dict) -> str:
    try:
        names = get_job(job).subject
    except KeyError:   # a notebook given by path: its parameters name it
        names = [k for k in parameters if k not in ("store", "lang", "preset")]
    return "-".join(str(parameters[n]) for n in names if parameters.get(n) not in (None, ""))


def remove_stale_work(output_dir: Path) -> int:
    """Remove the temporary folders of runs that were killed (their process is gone); return how many."""
    removed = 0
    for folder in output_dir.glob(".perfkit-*"):
        match = re.match(r"\.perfkit-(\d+)-", folder.name)
        pid = int(match.group(1)) if match else None
        alive = False
        if pid is not None:
            try:
                os.kill(pid, 0)
                alive = True
            except (ProcessLookupError, PermissionError):
                alive = False
        if not alive:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _previous(output_dir: Path) -> dict[tuple[str, str], dict]:
    path = output_dir / f"{MANIFEST}.json"
    if not path.exists():
        return {}
    try:
        return {(e["job"], e["subject"]): e for e in json.loads(path.read_text(encoding="utf-8"))}
    except (ValueError, KeyError, TypeError):
        return {}


#: What a spreadsheet would take as the start of a formula in a CSV cell (OWASP's list).
_FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r")


def _as_text(value):
    """A CSV cell that Excel reads as text: a value from data that starts like a formula gets a leading '."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_LEADERS) else value


def write_manifest(output_dir: Path, outcomes: list[Outcome]) -> Path:
    """``manifest.json`` and ``manifest.csv`` (UTF-8 with BOM, formula-safe) beside the reports, merged with
    earlier runs; each written whole and moved into place (the batch rewrites it as each report ends, so it
    is written with the standard library's json and csv: a data frame for it cost 10 ms a report)."""
    merged = _previous(output_dir)
    for outcome in outcomes:
        merged[outcome.job, outcome.subject] = {**vars(outcome),
                                               "outputs": {k: str(v) for k, v in outcome.outputs.items()}}
    entries = sorted(merged.values(), key=lambda e: (e["job"], e["subject"]))
    content = json.dumps(entries, ensure_ascii=False, indent=1, default=str)
    write_atomically(output_dir / f"{MANIFEST}.json", content)
    table = io.StringIO()
    rows = csv.writer(table, lineterminator="\n")
    rows.writerow(["job", "subject", "status", "seconds", "outputs", "error"])
    rows.writerows([e["job"], _as_text(e["subject"]), e["status"], round(float(e["seconds"]), 2),
                    " ".join(Path(p).name for p in e["outputs"].values()), _as_text(e["error"])] for e in entries)
    write_atomically(output_dir / f"{MANIFEST}.csv", table.getvalue(), encoding="utf-8-sig")
    return output_dir / f"{MANIFEST}.json"


def check_writable(output_dir: Path) -> None:
    """Refuse an output folder that cannot take a file (read-only, full, not a folder) before any report runs."""
    from perfkit.errors import UsageError

    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"perfkit" * 512)
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write reports to {output_dir}: {exc.strerror or exc}") from None


def run_many(tasks: Iterable[tuple[str, dict[str, Any]]], *, output_dir: str | os.PathLike = "reports",
             lang: str = "zh", formats=None, jobs: int | None = None, resume: bool = False,
             timeout: float | None = None, progress: bool = True, engine: str | None = WARM,
             scheduler=None, on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run reports ``jobs`` at a time; every failure is caught and recorded, and the others go on.

    Parameters
    ----------
    tasks : iterable of (job, parameters)
    formats : str or list, optional
        As :func:`perfkit.reports.run_report` (None: the preset's).
    jobs : int, optional
        Reports at a time (each its own kernel); default the number of cores.
    resume : bool
        Skip a report whose outputs exist and whose inputs hash as in the manifest; redo the others.
    timeout : float, optional
        Seconds one cell may run; a hung report fails with the reason, the batch goes on.
    engine : str or None, default "perfkit-warm"
        The papermill engine: ``"perfkit-warm"`` keeps one warm kernel per worker, reset between
        reports (:mod:`perfkit.reports.warm`); a kernel that dies or hangs fails its report and is
        replaced. ``None`` starts a fresh kernel for every report.
    scheduler : str or distributed.Client, optional
        Run the reports on a Dask cluster (``tcp://HOST:8786`` or a client) instead of this machine's
        threads; workers keep warm kernels and send the files back (:mod:`perfkit.reports.cluster`).

    Returns
    -------
    list of Outcome
        In the order of ``tasks``; the manifest beside the reports holds the same.
    """
    from perfkit.reports.runner import run_report

    output_dir = Path(output_dir)
    check_writable(output_dir)              # one clear line before any report, not one failure per report
    removed = remove_stale_work(output_dir)
    if removed:
        log.info("removed %d temporary folder(s) of killed runs", removed)
    previous = _previous(output_dir) if resume else {}
    outcomes = []
    for job, parameters in tasks:
        parameters = {**parameters, "lang": lang}
        outcome = Outcome(job=job, subject=_subject(job, parameters), parameters=parameters)
        try:
            outcome.inputs = inputs_hash(job, parameters, lang, formats)
        except Exception as exc:  # noqa: BLE001 - e.g. a preset that does not load: this report fails
            outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
        before = previous.get((job, outcome.subject))
        # done is what has its outputs and the same inputs, whatever the last run called it (done, skipped)
        if resume and before and outcome.inputs and before.get("inputs") == outcome.inputs \
                and before.get("outputs") and all(Path(p).exists() for p in before["outputs"].values()):
            outcome.status, outcome.outputs = "skipped", dict(before["outputs"])
        outcomes.append(outcome)

    pending = [o for o in outcomes if o.status == "pending"]
    # every report's parameters checked before the first runs, each store opened once (not once per report);
    # a report they refuse fails as it would have in run_report. (A cluster's workers check their own.)
    refusals = {}
    if scheduler is None:
        checked = check_many([(find_job(str(o.job)), o.parameters) for o in pending], lang)
        refusals = {id(o): refused for o, refused in zip(pending, checked) if refused is not None}

    def one(outcome: Outcome) -> Outcome:
        start = time.perf_counter()
        try:
            if id(outcome) in refusals:
                raise refusals[id(outcome)]
            report = run_report(outcome.job, outcome.parameters, output_dir=output_dir, lang=lang,
                                formats=formats, timeout=timeout, engine=engine, checked=True)
            outcome.status, outcome.outputs = "done", dict(report.outputs)
        except Exception as exc:  # noqa: BLE001 - one report's failure, whatever it is, never stops the batch
            outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
        outcome.seconds = time.perf_counter() - start
        return outcome

    bar = None
    if progress and pending:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(pending), unit="report", desc="perfkit", leave=True)
    try:
        for outcome in _finished(pending, one, jobs, scheduler, output_dir, lang, formats, timeout):
            write_manifest(output_dir, [o for o in outcomes if o.status != "pending"])   # a kill keeps these
            if bar is not None:
                bar.update(1)
                bar.set_postfix(failed=sum(o.status == "failed" for o in pending))
            if on_done is not None:
                on_done(outcome)
    finally:
        if bar is not None:
            bar.close()
        if engine == WARM and scheduler is None:
            from perfkit.reports.warm import shutdown_all
            shutdown_all()                     # the batch is done: its kernels go
        write_manifest(output_dir, outcomes)
    return outcomes


def _finished(pending, one, jobs, scheduler, output_dir, lang, formats, timeout):
    """Each pending outcome as its report ends: on this machine's threads, or on a Dask cluster."""
    if scheduler is not None:
        from perfkit.reports.cluster import run_on_cluster
        yield from run_on_cluster(scheduler, pending, output_dir=output_dir, lang=lang, formats=formats,
                                  timeout=timeout)
        return
    # each report runs in its own kernel process: threads keep every core busy and share nothing
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        for future in as_completed([pool.submit(one, o) for o in pending]):
            yield future.result()


#: Functions a --where condition may not call: they read files, the environment or run other SQL.
_FORBIDDEN_FUNCTIONS = re.compile(r"^(read_\w*|\w*_scan|glob|sniff_csv|query|query_table|getenv|"
                                  r"current_setting|duckdb_\w*|pragma_\w*)$", re.IGNORECASE)


def checked_where(where: str | None) -> str | None:
    """``where`` when it is one SQL condition on a subject's row, else a :class:`UsageError` saying why.

    Refused: anything that would end the condition early or add to the query (unbalanced parentheses,
    ``;``, comments), more than one statement or anything but an expression (DuckDB's own parser reads
    it), and functions that read files or run other SQL (``read_csv``, ``glob``, ``query``...). The query
    then runs on a read-only connection without external access (:func:`batch_subjects`).
    """
    import duckdb

    from perfkit.errors import UsageError

    if where is None or not where.strip():
        return None
    condition = where.strip()

    def refuse(why: str):
        raise UsageError(f"--where must be one SQL condition on the subject's row ({why}): {condition[:120]}")

    depth, quote, position = 0, None, 0
    while position < len(condition):
        ch = condition[position]
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif condition.startswith(("--", "/*"), position):
            refuse("a comment")
        elif ch == ";":
            refuse("a second statement")
        elif ch in "()":
            depth += 1 if ch == "(" else -1
            if depth < 0:
                refuse("a ) that closes more than it opened")
        position += 1
    if quote or depth:
        refuse("an unclosed quote or parenthesis")
    with duckdb.connect() as scratch:
        tree = json.loads(scratch.execute("SELECT json_serialize_sql(?)",
                                          [f"SELECT 1 WHERE ({condition})"]).fetchone()[0])
    if tree.get("error"):
        refuse(str(tree.get("error_message", "not SQL")).splitlines()[0])
    if len(tree["statements"]) != 1:
        refuse("more than one statement")

    def walk(node):
        if isinstance(node, dict):
            if node.get("class") == "FUNCTION" and _FORBIDDEN_FUNCTIONS.match(str(node.get("function_name", ""))):
                refuse(f"the function {node['function_name']} reads files or runs other SQL")
            if node.get("type") == "TABLE_FUNCTION":
                refuse("a table function")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree["statements"])
    return condition


def batch_subjects(store, job: str, *, year: int | None = None, field: str | None = None,
                   unit_level: int | None = None, where: str | None = None) -> list[str]:
    """The subjects of a batch of ``job``, in order: what its :class:`~perfkit.reports.registry.Batch` selects.

    ``year``, ``field`` (the units' 领域 code) and ``unit_level`` narrow them where the job offers that
    filter; ``where`` is an SQL condition on the subject's row (the job's ``batch.aliases``), for power users:
    checked to be one condition (:func:`checked_where`) and run on a read-only connection to the store
    without external access (no file read or written, whatever the condition says).
    """
    from perfkit.store import Store

    spec = get_job(job).batch
    condition = checked_where(where)   # (a usage error before the store is read)
    parameters = {"year": year, "field": field, "unit_level": unit_level}
    if condition is None:
        return queries.subjects(store, spec.query(None), parameters)
    # a connection of its own: the store attached read-only, then external access switched off for good
    guarded = Store(":memory:")
    try:
        path = str(Path(store.path).resolve()).replace("'", "''")
        guarded.con.execute(f"ATTACH '{path}' AS subjects_store (READ_ONLY)")
        guarded.con.execute("USE subjects_store")
        guarded.con.execute("SET enable_external_access = false")
        return queries.subjects(guarded, spec.query(condition), parameters)
    finally:
        guarded.close()


def batch(job: str, store: str | os.PathLike | None = None, *, ids: Iterable[str] | None = None,
          year: int | None = None, field: str | None = None, unit_level: int | None = None,
          where: str | None = None, as_of: str | None = None, preset: str | None = None,
          **options) -> list[Outcome]:
    """Every report of ``job`` for the subjects selected from the store (see :func:`run_many` for ``options``).

    The job's registry entry says which subjects it has (:func:`batch_subjects`: projects with an expert
    panel for key evaluations, units for self-evaluations and portraits, fields for comparisons, years
    with findings for problem cases...) and which of ``year``, ``as_of`` and ``preset`` each report takes.
    ``ids`` keeps the listed subjects.
    """
    from perfkit.store import Store, default_store_path

    store = str(Path(store or default_store_path()).resolve())
    with Store(store, read_only=True) as opened:
        subjects = batch_subjects(opened, job, year=year, field=field, unit_level=unit_level, where=where)
    refused = []
    if not subjects and ids is None:   # a selection of nothing is bad data, said before any report would run
        from perfkit.errors import DataError, Problem, reason

        filters = ", ".join(f"{k}={v}" for k, v in dict(year=year, field=field, unit_level=unit_level,
                                                         where=where).items() if v is not None) or "all"
        raise DataError(Problem(store, reason("no_subjects", job=job, filters=filters)))
    if ids is not None:
        wanted = list(dict.fromkeys(str(i).strip() for i in ids if str(i).strip()))
        eligible = set(subjects)
        subjects = [s for s in subjects if s in set(wanted)]
        # an id the job cannot report on is a failed report, recorded as such: never a silent "0 reports"
        refused = [Outcome(job=job, subject=i, parameters={}, status="failed",
                           error=f"{i} is not a subject of {job} in the store (an unknown id, or one the job "
                                 f"does not report on with these filters)")
                   for i in wanted if i not in eligible]
        if not subjects:                # not one of them: nothing to run, bad data (exit 3), said at once
            from perfkit.errors import DataError, Problem, reason

            raise DataError(Problem(store, reason("no_subjects", job=job,
                                                  filters="--ids " + ", ".join(wanted[:10]) or "—")))
    given = {"year": year, "as_of": as_of, "preset": preset}
    tasks = [(job, {**get_job(job).batch_parameters(subject, given), "store": store}) for subject in subjects]
    outcomes = run_many(tasks, **options)
    if refused:
        output_dir = Path(options.get("output_dir", "reports"))
        output_dir.mkdir(parents=True, exist_ok=True)
        write_manifest(output_dir, refused)
    return outcomes + refused


__all__ = ["Outcome", "batch", "batch_subjects", "inputs_hash", "remove_stale_work", "run_many", "write_manifest"]
