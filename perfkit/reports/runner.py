"""Running a parameterised notebook into a report: papermill, then nbconvert to HTML.

A report is written whole or not at all: the notebook runs and exports in a
temporary folder beside the target, and only a successful export is moved
into place. A failing run leaves ``<name>.failed.ipynb`` for diagnosis.

This is the only module that imports papermill, nbconvert and nbformat; report
kernels never import it.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import nbformat
import papermill
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

import perfkit
from perfkit.errors import ReportError
from perfkit.reports.registry import jobs, templates_dir

LANGUAGE_CODES = {"zh": "zh", "en": "en"}  # nbconvert takes ISO 639-1 codes only
#: Cells tagged so are shown in JupyterLab and left out of reports (the notebook's own heading and intro).
REMOVE_TAGS = {"remove-cell"}


@dataclass(frozen=True)
class Report:
    """Paths of one finished report."""

    html: Path
    notebook: Path


class DropStderr(Preprocessor):
    """Remove stderr streams (library warnings) from outputs: readers need the results."""

    def preprocess_cell(self, cell, resources, index):
        if cell.get("cell_type") == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        return cell, resources


def notebook_for(job: str | PathLike) -> Path:
    """The notebook of a job name (``project-overview``) or a notebook path."""
    known = jobs()
    path = known[str(job)].notebook_path if str(job) in known else Path(job)
    if not path.exists():
        raise ReportError(f"no notebook for {job!r} at {path} (jobs: {', '.join(known)})")
    return path


def safe_name(text: str) -> str:
    """A file name made from ``text``: keeps CJK, letters, digits, '-', '_' and '.'."""
    return re.sub(r"[^\w.\-]+", "_", text, flags=re.UNICODE).strip("_") or "report"


def export_html(notebook: nbformat.NotebookNode, *, lang: str = "zh", title: str = "perfkit") -> str:
    """Export an executed notebook to HTML with code hidden, in perfkit's template."""
    exporter = HTMLExporter(template_name="perfkit", extra_template_basedirs=[str(templates_dir())],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            language_code=LANGUAGE_CODES.get(lang, lang))
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags=REMOVE_TAGS, enabled=True), enabled=True)
    exporter.register_preprocessor(DropStderr(), enabled=True)
    resources = {"metadata": {"name": title},
                 "perfkit_version": perfkit.__version__,
                 "perfkit_generated": dt.datetime.now().strftime("%Y-%m-%d %H:%M")}
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    return body


def run_report(job: str | PathLike, parameters: dict[str, Any], *, output_dir: str | PathLike = "reports",
               name: str | None = None, lang: str = "zh", kernel_name: str = "python3",
               title: str | None = None) -> Report:
    """Run a job's notebook with ``parameters`` and export it to ``output_dir/name.html``.

    Parameters
    ----------
    job : str or path-like
        A job name from :func:`perfkit.reports.jobs` or the path of a parameterised notebook.
    parameters : dict
        Values for the notebook's ``parameters`` cell (``lang`` is added).
    output_dir : path-like, default "reports"
    name : str, optional
        File name without suffix; by default the job name and parameter values.
    lang : {"zh", "en"}
    title : str, optional
        The HTML page title; by default ``name``.

    Returns
    -------
    Report
        Paths of the HTML report and the executed notebook.

    Raises
    ------
    ReportError
        When a cell fails; no HTML is written.
    """
    source = notebook_for(job).resolve()
    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    parameters = {**parameters, "lang": lang}
    if name is None:
        name = "_".join([Path(source).stem, *(str(v) for k, v in parameters.items()
                                               if k not in ("store", "lang") and v is not None)])
        if lang != "zh":  # a report in another language never overwrites the Chinese one
            name += f"_{lang}"
    name = safe_name(name)
    work = Path(tempfile.mkdtemp(prefix=".perfkit-", dir=output_dir))
    try:
        executed_path = work / f"{name}.ipynb"
        try:
            # no cwd=: papermill would chdir the whole process, which breaks concurrent runs (run_batch);
            # the kernel starts in the caller's directory, where a relative store path is meant
            papermill.execute_notebook(str(source), str(executed_path), parameters=parameters,
                                       kernel_name=kernel_name, progress_bar=False, log_output=False)
        except papermill.PapermillExecutionError as exc:
            failed = output_dir / f"{name}.failed.ipynb"
            if executed_path.exists():
                shutil.copyfile(executed_path, failed)
            raise ReportError(f"{source.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
                              f"(executed notebook kept at {failed})") from exc
        executed = nbformat.read(executed_path, as_version=4)
        html = export_html(executed, lang=lang, title=title or name)
        (work / f"{name}.html").write_text(html, encoding="utf-8")
        report = Report(html=output_dir / f"{name}.html", notebook=output_dir / f"{name}.ipynb")
        os.replace(executed_path, report.notebook)
        os.replace(work / f"{name}.html", report.html)
        (output_dir / f"{name}.failed.ipynb").unlink(missing_ok=True)
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_batch(jobs: list[tuple[str, dict[str, Any]]], *, output_dir: str | PathLike = "reports", lang: str = "zh",
              max_workers: int | None = None, on_done=None) -> list[Report | ReportError]:
    """Run many reports, ``max_workers`` kernels at a time (default: the number of cores).

    Parameters
    ----------
    jobs : list of (job, parameters)
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
            outcome = run_report(job, parameters, output_dir=output_dir, lang=lang)
        except ReportError as exc:
            outcome = exc
        if on_done is not None:
            on_done(job, parameters, outcome)
        return outcome

    # each report is a separate kernel process, so threads suffice to keep every core busy
    with ThreadPoolExecutor(max_workers=max_workers or os.cpu_count() or 1) as pool:
        return list(pool.map(one, jobs))
