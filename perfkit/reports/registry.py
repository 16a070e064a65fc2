"""The registry of report jobs, and where their notebooks and templates are.

Each job module (``perfkit.reports.key_evaluation``...) declares its job with
:func:`register`: the notebook it runs and which of the notebook's parameters name
the report's subject. The parameters themselves (names, defaults, help) are read
from the notebook's ``parameters`` cell by papermill, so they are written once.

This module imports nothing heavy: a report kernel imports it to find the outlines.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

NOTEBOOKS_ENV = "PERFKIT_NOTEBOOKS"
TEMPLATES_ENV = "PERFKIT_TEMPLATES"
#: Modules that declare report jobs, in the order the CLI lists them.
JOB_MODULES = ("project_overview", "key_evaluation", "self_evaluation", "ex_ante", "monitoring", "quota_standards",
               "portrait", "comparison", "problem_cases")
#: Parameters every job notebook has, which the runner and the CLI set themselves.
COMMON_PARAMETERS = ("store", "lang")


def notebooks_dir() -> Path:
    """Where the job notebooks are: ``$PERFKIT_NOTEBOOKS``, else the ones installed with perfkit."""
    if os.environ.get(NOTEBOOKS_ENV):
        return Path(os.environ[NOTEBOOKS_ENV])
    return Path(str(resources.files("perfkit.reports").joinpath("notebooks")))


def templates_dir() -> Path:
    """Where the report templates are: ``$PERFKIT_TEMPLATES``, else the ones installed with perfkit.

    It holds the nbconvert template (``perfkit/``) and the report outlines (``outlines/``).
    """
    if os.environ.get(TEMPLATES_ENV):
        return Path(os.environ[TEMPLATES_ENV])
    return Path(str(resources.files("perfkit.reports").joinpath("templates")))


@dataclass(frozen=True)
class Job:
    """A report job: a parameterised notebook and what its parameters mean.

    Attributes
    ----------
    name : str
        The job's command name (``key-evaluation``).
    notebook : str
        File name of its notebook in :func:`notebooks_dir`.
    subject : tuple of str
        Parameters that name what the report is about (``project_id``); they name the file.
    required : tuple of tuple of str, optional
        Groups of parameters of which a command line must give at least one each
        (``(("request_id", "request_file"),)``: a request from the store or from a file);
        by default every subject parameter.
    paths : tuple of str
        Parameters that are file paths, made absolute before the kernel starts.
    aliases : mapping
        Short command-line options (``{"project_id": "--project"}``).
    summary : str
        One line for ``perfkit report --help``.
    lookups : mapping
        Parameters that must name a row of the store: ``{"project_id": ("projects", "project_id")}``,
        checked before a kernel starts (:mod:`perfkit.reports.preflight`).
    dates : tuple of str
        Parameters that are dates, YYYY-MM-DD, whose year must have projects in the store.
    years : tuple of str
        Parameters that are a year or a range of years (``2025``, ``2023-2025``; empty: every closed
        year), each of which must have projects in the store.
    warm : tuple of str
        Modules the job's reports import on first use (statsmodels, scikit-learn...), which a warm kernel
        imports with the job module before its first report of the job (:mod:`perfkit.reports.warm`).
    """

    name: str
    notebook: str
    subject: tuple[str, ...]
    required: tuple[tuple[str, ...], ...] | None = None
    paths: tuple[str, ...] = ("preset",)
    aliases: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""
    lookups: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    dates: tuple[str, ...] = ()
    years: tuple[str, ...] = ()
    warm: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        """The job module, named after the notebook (``perfkit.reports.key_evaluation``)."""
        return f"perfkit.reports.{Path(self.notebook).stem}"

    @property
    def required_groups(self) -> tuple[tuple[str, ...], ...]:
        return self.required if self.required is not None else tuple((name,) for name in self.subject)

    @property
    def notebook_path(self) -> Path:
        return notebooks_dir() / self.notebook

    def parameters(self) -> dict[str, dict[str, Any]]:
        """The notebook's parameters as papermill reads them: name → {default, inferred_type_name, help}."""
        import papermill  # only the CLI and the runner ask; a report kernel never does

        return dict(papermill.inspect_notebook(str(self.notebook_path)))


JOBS: dict[str, Job] = {}


def register(job: Job) -> Job:
    """Add ``job`` to the registry (a job module calls this once, at import)."""
    JOBS[job.name] = job
    return job


def jobs() -> dict[str, Job]:
    """Every registered job, by name (importing the job modules that declare them)."""
    for module in JOB_MODULES:
        importlib.import_module(f"perfkit.reports.{module}")
    order = {module: i for i, module in enumerate(JOB_MODULES)}  # a job's module is named after its notebook
    return dict(sorted(JOBS.items(), key=lambda kv: order.get(Path(kv[1].notebook).stem, len(order))))


def get_job(name: str) -> Job:
    """The job called ``name``.

    Raises
    ------
    KeyError
        When no job has that name (the message lists them).
    """
    known = jobs()
    if name not in known:
        raise KeyError(f"no report job {name!r} (jobs: {', '.join(known)})")
    return known[name]
