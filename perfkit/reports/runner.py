"""Running a parameterised notebook into a report: papermill, then the exports (HTML, PDF, Word).

A report is written whole or not at all: the notebook runs and exports in a
temporary folder beside the target, and only a successful export is moved
into place. A failing run leaves ``<name>.failed.ipynb`` for diagnosis.

This module and :mod:`perfkit.reports.export` are the only ones that import papermill,
nbconvert and nbformat; report kernels never import them.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import nbformat
import papermill

from perfkit.errors import ReportError
from perfkit.reports.check import assert_report
from perfkit.reports.display import result_text
from perfkit.reports.export import (ReportMeta, data_snapshot, export_docx, export_pdf,
                                    record_in_index, render_html, report_record, report_title)
from perfkit.reports.formats import parse_formats
from perfkit.reports.parameters import localise
from perfkit.reports.preflight import check_parameters
from perfkit.reports.registry import find_job, job_names
from perfkit.reports.warm import ENGINE as WARM
from perfkit.reports.warm import KERNEL_ARGUMENTS
from perfkit.reports.warm import render_pdf as warm_render_pdf
from perfkit.rules import load_preset
from perfkit.text import text



@dataclass(frozen=True)
class Report:
    """One finished report: its files by format, the executed notebook, and what it concluded."""

    job: str
    name: str
    notebook: Path
    outputs: dict[str, Path]
    title: str = ""
    record: dict = field(default_factory=dict)

    @property
    def html(self) -> Path | None:
        return self.outputs.get("html")

    @property
    def pdf(self) -> Path | None:
        return self.outputs.get("pdf")

    @property
    def docx(self) -> Path | None:
        return self.outputs.get("docx")


def notebook_for(job: str | PathLike) -> Path:
    """The notebook of a job name (``project-overview``) or a notebook path."""
    spec = find_job(str(job))
    path = spec.notebook_path if spec is not None else Path(job)
    if not path.exists():
        raise ReportError(f"no notebook for {job!r} at {path} (jobs: {', '.join(job_names())})")
    return path


def safe_name(value: str) -> str:
    """A file name made from ``text``: keeps CJK, letters, digits, '-', '_' and '.'."""
    return re.sub(r"[^\w.\-]+", "_", value, flags=re.UNICODE).strip("_") or "report"


def report_meta(job_name: str, parameters: dict, lang: str, title: str, evaluating_body: str | None = None,
                document_number: str | None = None, draft: bool = False) -> ReportMeta:
    """The title page and provenance of a report: the preset's ``report`` section unless given.

    A 文号 is printed only when given or when the preset has the bureau's numbering rule (never by rule on a
    draft); otherwise the title page leaves it blank for the bureau to fill. A self-evaluating job's
    evaluating body is its unit.
    """
    preset = load_preset(parameters.get("preset") or "default")
    style = preset.report
    spec = find_job(job_name)
    subject_names = spec.subject if spec is not None else ()
    given = [p for p in subject_names if parameters.get(p) not in (None, "", "all")]
    separator, colon = ("；", "：") if lang == "zh" else ("; ", ": ")
    subject = separator.join(f"{text(f'cover.subjects.{p}', lang)}{colon}{parameters[p]}" for p in given)
    year = parameters.get("year") or str(parameters.get("as_of") or "")[:4] or dt.date.today().year
    if document_number is None and style.document_number and not draft:
        code = preset.label(style.job_codes.get(job_name, job_name), lang)
        document_number = preset.label(style.document_number, lang).format(
            code=code, year=year, subject="-".join(str(parameters[p]) for p in given) or "—")
    if evaluating_body is None and spec is not None and spec.evaluated_by and parameters.get(spec.evaluated_by):
        evaluating_body = _unit_name(parameters.get("store"), parameters[spec.evaluated_by])
    # a report names files (the store, a preset, a workbook) by their name: never this machine's folders
    files = {"store", "preset", *(spec.paths if spec is not None else ())}
    shown = {k: Path(v).name if k in files and isinstance(v, str) and v else v for k, v in parameters.items()}
    return ReportMeta(job=job_name, title=title, subject=subject, lang=lang,
                      evaluating_body=evaluating_body or preset.label(style.evaluating_body, lang),
                      document_number=document_number or "", draft=draft, parameters=shown,
                      preset=f"{preset.label(preset.name, lang)} ({Path(preset.source).name})",
                      snapshot=data_snapshot(parameters.get("store")))


def _unit_name(store: str | None, unit_id: str) -> str:
    """A unit's name from the store (its id when the store cannot say)."""
    from perfkit.store import Store

    try:
        with Store(store, read_only=True) as opened:
            found = opened.query("SELECT name FROM units WHERE unit_id = ?", [unit_id])
    except Exception:  # noqa: BLE001 - the title page falls back on the id, the report itself reads the store
        return str(unit_id)
    return str(found["name"].iloc[0]) if len(found) else str(unit_id)


def run_report(job: str | PathLike, parameters: dict[str, Any], *, output_dir: str | PathLike = "reports",
               name: str | None = None, lang: str = "zh", formats: str | list[str] | None = "html",
               evaluating_body: str | None = None, document_number: str | None = None,
               kernel_name: str = "python3", index: bool = True, timeout: float | None = None,
               engine: str | None = None, checked: bool = False) -> Report:
    """Run a job's notebook with ``parameters`` and export it to ``output_dir/name.{html,pdf,docx}``.

    Parameters
    ----------
    job : str or path-like
        A job name from :func:`perfkit.reports.jobs` or the path of a parameterised notebook.
    parameters : dict
        Values for the notebook's ``parameters`` cell (``lang`` is added).
    output_dir : path-like, default "reports"
    name : str, optional
        File name without suffix; by default the job name and parameter values (and ``_en`` for English).
    lang : {"zh", "en"}
    formats : str or list, default "html"
        ``"html,pdf,docx"`` or a subset; None takes the preset's ``report.formats``.
    evaluating_body, document_number : str, optional
        For the title page; by default from the preset's ``report`` section.
    index : bool, default True
        Record the report in ``output_dir/index.json`` and ``index.html``.
    timeout : float, optional
        Seconds a cell may run before the report fails (default: no limit).
    engine : str, optional
        A papermill engine: ``"perfkit-warm"`` runs on this thread's warm kernel
        (:mod:`perfkit.reports.warm`); by default a fresh kernel per report.
    checked : bool, default False
        The parameters were checked against the store already (:func:`perfkit.reports.preflight.check_many`,
        as a batch checks all its reports before the first runs): not checked again here.

    Returns
    -------
    Report
        The files written, the executed notebook, the title and the report's record (score, rating).

    Raises
    ------
    ReportError
        When a cell fails or an export fails; nothing of this report is written then.
    """
    source = notebook_for(job).resolve()
    spec = find_job(str(job))
    job_name = str(job) if spec is not None else Path(source).stem
    parameters = {**parameters, "lang": lang}
    if not parameters.get("store"):
        # the store is resolved here, not in the kernel, so that the report names the store and the snapshot
        # it read (and a batch's inputs hash covers it)
        from perfkit.store import default_store_path
        parameters["store"] = str(default_store_path().resolve())
    try:
        wanted = parse_formats(formats, parameters.get("preset"))
    except ValueError as exc:
        raise ReportError(str(exc)) from exc
    if spec is not None and not checked:   # a missing subject or a bad date fails before a kernel starts
        check_parameters(spec, parameters, lang)
    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    if name is None:      # the job and its subject; never a file path (the store, a preset, a workbook)
        files = ("store", "lang", "preset", *(spec.paths if spec is not None else ()))
        name = "_".join([Path(source).stem, *(str(v) for k, v in parameters.items()
                                               if k not in files and v not in (None, ""))])
        if lang != "zh":  # a report in another language never overwrites the Chinese one
            name += f"_{lang}"
    name = safe_name(name)
    # the process id in the name lets a later batch remove the folder of a killed run
    work = Path(tempfile.mkdtemp(prefix=f".perfkit-{os.getpid()}-", dir=output_dir))
    try:
        executed_path = work / f"{name}.ipynb"
        run_from = source
        if lang != "zh":    # the notebook's introduction and parameter comments in the report's language
            run_from = work / f"{name}.source.ipynb"
            nbformat.write(localise(nbformat.read(str(source), as_version=4), lang), str(run_from))
        try:
            # no cwd=: papermill would chdir the whole process, which breaks concurrent runs (run_batch);
            # the kernel starts in the caller's directory, where a relative store path is meant
            executed = papermill.execute_notebook(str(run_from), str(executed_path), parameters=parameters,
                                                  kernel_name=kernel_name, progress_bar=False, log_output=False,
                                                  extra_arguments=KERNEL_ARGUMENTS, execution_timeout=timeout,
                                                  engine_name=engine,
                                                  # saved once, when it ends: papermill's default saves the whole
                                                  # notebook before and after every cell, for a person watching it
                                                  request_save_on_cell_execute=False)
        except papermill.PapermillExecutionError as exc:
            failed = output_dir / f"{name}.failed.ipynb"
            if executed_path.exists():
                shutil.copyfile(executed_path, failed)
            raise ReportError(f"{source.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
                              f"(executed notebook kept at {failed})") from exc
        except Exception as exc:  # a cell that timed out, a kernel that died: the report fails with the reason
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ReportError(f"{source.name}: {type(exc).__name__}: {reason}") from exc
        title = report_title(executed) or name
        record = report_record(executed)
        meta = report_meta(job_name, parameters, lang, title, evaluating_body, document_number,
                           draft=record.get("status") == "draft")
        html, page = render_html(executed, meta)
        # what the official who signs it would refuse: a report that fails is a failed report, never published
        try:
            assert_report(page, name, draft=meta.draft, document_number=meta.document_number)
        except ReportError as exc:
            failed = output_dir / f"{name}.failed.ipynb"
            shutil.copyfile(executed_path, failed)
            raise ReportError(f"{exc} (executed notebook kept at {failed})") from None
        staged = {"html": work / f"{name}.html"}
        staged["html"].write_text(html, encoding="utf-8")
        try:
            if "pdf" in wanted:
                staged["pdf"] = work / f"{name}.pdf"
                if not (engine == WARM and warm_render_pdf(staged["html"], staged["pdf"])):
                    export_pdf(html, staged["pdf"])
            if "docx" in wanted:
                staged["docx"] = export_docx(html, work / f"{name}.docx", draft=meta.draft, lang=lang)
        except Exception as exc:  # an exporter's own failure: report it, write nothing of this report
            raise ReportError(f"{name}: export failed: {type(exc).__name__}: {exc}") from exc
        outputs = {fmt: output_dir / staged[fmt].name for fmt in wanted}
        os.replace(executed_path, output_dir / f"{name}.ipynb")
        for fmt, target in outputs.items():
            os.replace(staged[fmt], target)
        (output_dir / f"{name}.failed.ipynb").unlink(missing_ok=True)
        report = Report(job=job_name, name=name, notebook=output_dir / f"{name}.ipynb", outputs=outputs,
                        title=title, record=record)
        if index:
            index_report(output_dir, report, meta)
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def index_report(output_dir: Path, report: Report, meta: ReportMeta) -> None:
    """Add ``report`` to the index of ``output_dir`` (``index.html``, ``index.json``), with what ``meta`` says."""
    record = report.record
    score = record.get("score")
    status = record.get("status", "final")
    record_in_index(output_dir, {
        "name": report.name, "job": report.job,
        "job_label": text(f"jobs.{report.job}", meta.lang) if report.job in job_names() else report.job,
        "title": report.title, "subject": meta.subject, "lang": meta.lang,
        "score": None if score is None else f"{score:.2f}", "rating": record.get("rating"),
        "result": result_text(report.job, record, meta.lang),
        "status": status, "status_label": text(f"index.status.{status}", meta.lang),
        "outputs": {fmt: str(path) for fmt, path in report.outputs.items()}, "generated": meta.generated,
        # the figures a job's record gives beside its score (a department's budget and execution), for a bundle
        **({"figures": record["figures"]} if isinstance(record.get("figures"), dict) else {})})


def run_batch(batch: list[tuple[str, dict[str, Any]]], *, output_dir: str | PathLike = "reports", lang: str = "zh",
              max_workers: int | None = None, on_done=None, **options) -> list[Report | ReportError]:
    """Run many reports, ``max_workers`` kernels at a time (default: the number of cores).

    Parameters
    ----------
    batch : list of (job, parameters)
    on_done : callable, optional
        Called with (job, parameters, Report or ReportError) as each report finishes.

    Returns
    -------
    list
        One Report or ReportError per job, in the order given: one failing report
        does not stop the batch.
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(job_and_parameters):
        job, parameters = job_and_parameters
        try:
            outcome = run_report(job, parameters, output_dir=output_dir, lang=lang, **options)
        except ReportError as exc:
            outcome = exc
        if on_done is not None:
            on_done(job, parameters, outcome)
        return outcome

    # each report is a separate kernel process, so threads suffice to keep every core busy
    with ThreadPoolExecutor(max_workers=max_workers or os.cpu_count() or 1) as pool:
        return list(pool.map(one, batch))
