"""The registry of report jobs, and where their notebooks and templates are.

A job is one module of :mod:`perfkit.reports` and one notebook of the same name
(``key_evaluation.py`` and ``key_evaluation.ipynb``: the job ``key-evaluation``). The module
declares everything about the job once, with :func:`register`: the notebook, which of its
parameters name the report's subject, what the command line checks before a kernel starts,
how a batch selects its subjects (:class:`Batch`), the function that gathers the report's
view from the store and the modules a warm kernel preloads. The parameters
themselves (names, defaults, help) are read from the notebook's ``parameters`` cell by
papermill, so they are written once. The command line, :mod:`perfkit.reports.batch` and
the documentation read this registry; no other code names a job.

Jobs are found without importing them (:func:`job_names`): a command that needs one job
imports that job's module only.

This module imports nothing heavy: a report kernel imports it to find the outlines.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

NOTEBOOKS_ENV = "PERFKIT_NOTEBOOKS"
TEMPLATES_ENV = "PERFKIT_TEMPLATES"
#: Parameters every job notebook has, which the runner and the CLI set themselves.
COMMON_PARAMETERS = ("store", "lang")
#: The filters a batch may offer, as the command line names them (``--unit-level``), each an SQL parameter.
BATCH_FILTERS = ("year", "field", "unit_level")
#: The SQL condition of the two unit filters, on a query whose units are aliased ``u``.
UNIT_FILTERS = "($field::VARCHAR IS NULL OR u.field = $field) AND ($unit_level::INTEGER IS NULL OR u.level = $unit_level)"


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
class Batch:
    """How ``perfkit batch JOB`` selects a job's subjects from the store and parameterises each report.

    Attributes
    ----------
    sql : str
        A query returning one column ``subject``, one row per report. It may use the SQL parameters
        ``$year``, ``$field`` and ``$unit_level`` (NULL when the user did not give the filter) and ends
        with ``{where}``, where the power user's ``--where`` condition goes (``AND (...)`` or nothing);
        the rows are ordered by subject.
    filters : tuple of str
        The filters of :data:`BATCH_FILTERS` this query honours; the command line refuses the others.
    parameter : str
        The notebook parameter each subject fills (``project_id``).
    options : mapping
        Batch options passed on to every report: option → notebook parameter (``{"year": "year"}``;
        a self-evaluation's year is both a filter and a parameter of each report).
    required : tuple of str
        Batch options the job cannot run without (``("as_of",)`` for monitoring).
    aliases : str
        What ``--where`` may name: the query's table aliases, for the help text.
    """

    sql: str
    filters: tuple[str, ...] = ()
    parameter: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    aliases: str = ""

    def query(self, where: str | None = None) -> str:
        """The subjects' SQL with the ``--where`` condition in place."""
        return self.sql.format(where=f"AND ({where})" if where else "") + " ORDER BY 1"


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
    batch : Batch
        How a batch of the job selects its subjects and parameterises each report.
    view : str
        The job module's function that gathers a report from the store (``key_evaluation(store,
        project_id, preset=..., lang=...)``): the notebook's first cell calls it.
    order : int
        Where the job stands in listings: the order of the performance cycle.
    evaluated_by : str
        The subject parameter naming the unit that evaluates itself (a self-evaluation's ``unit_id``): its
        name is the title page's evaluating body instead of the preset's (the finance bureau).
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
    batch: Batch | None = None
    view: str = ""
    order: int = 100
    evaluated_by: str = ""

    def __post_init__(self):
        if self.name != job_name(Path(self.notebook).stem):
            raise ValueError(f"job {self.name!r}: a job is named after its notebook ({self.notebook})")
        if self.batch is None:
            raise ValueError(f"job {self.name!r} declares no batch: every job can run in bulk")
        unknown = set(self.batch.filters) - set(BATCH_FILTERS)
        if unknown:
            raise ValueError(f"job {self.name!r}: unknown batch filters {sorted(unknown)}")

    @property
    def module(self) -> str:
        """The job module, named after the notebook (``perfkit.reports.key_evaluation``)."""
        return f"perfkit.reports.{Path(self.notebook).stem}"

    def gather(self) -> Any:
        """The function that gathers a report of this job from the store (:attr:`view`)."""
        return getattr(importlib.import_module(self.module), self.view)

    def batch_parameters(self, subject: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """The notebook parameters of one report of a batch: its subject and the batch's options."""
        given = {self.batch.options[name]: value for name, value in options.items()
                 if name in self.batch.options and value is not None}
        return {self.batch.parameter: subject, **{k: str(v) if k in self.years else v for k, v in given.items()}}

    @property
    def required_groups(self) -> tuple[tuple[str, ...], ...]:
        return self.required if self.required is not None else tuple((name,) for name in self.subject)

    @property
    def notebook_path(self) -> Path:
        return notebooks_dir() / self.notebook

    def parameters(self) -> dict[str, dict[str, Any]]:
        """The notebook's parameters as papermill reads them: name → {default, inferred_type_name, help (zh),
        help_en} (:func:`perfkit.reports.parameters.read_parameters`).

        papermill's reading is kept in the user's cache under the hash of the notebook's bytes (an edited
        notebook is read again), so that ``perfkit report JOB --help`` answers without importing papermill.
        """
        data = self.notebook_path.read_bytes()
        cached = _parameters_cache() / f"{hashlib.sha256(data).hexdigest()}.json"
        try:
            return json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        from perfkit.reports.parameters import read_parameters   # papermill: only the CLI and the runner ask

        parameters = read_parameters(self.notebook_path)
        try:   # written beside and moved into place: a reader never sees half a file
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_name(f".{cached.name}.{os.getpid()}")
            partial.write_text(json.dumps(parameters, ensure_ascii=False), encoding="utf-8")
            partial.replace(cached)
        except OSError:      # a read-only home: read the notebook each time
            pass
        return parameters


def _parameters_cache() -> Path:
    """Where notebooks' parameters are cached: ``$PERFKIT_CACHE`` or the user's cache folder."""
    root = os.environ.get("PERFKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "perfkit")
    return Path(root) / "parameters"


JOBS: dict[str, Job] = {}


def job_name(module: str) -> str:
    """The job of a module: ``key_evaluation`` → ``key-evaluation``."""
    return module.replace("_", "-")


def register(job: Job) -> Job:
    """Add ``job`` to the registry (a job module calls this once, at import)."""
    JOBS[job.name] = job
    return job


def job_names() -> list[str]:
    """The names of every job, found without importing them: each module of :mod:`perfkit.reports`
    that has a notebook of its name in the packaged notebooks."""
    packaged = Path(str(resources.files("perfkit.reports").joinpath("notebooks")))
    here = Path(__file__).parent
    return sorted(job_name(m.name) for m in pkgutil.iter_modules([str(here)])
                  if not m.ispkg and (packaged / f"{m.name}.ipynb").exists())


def jobs() -> dict[str, Job]:
    """Every registered job, by name, in the order of the performance cycle (importing their modules)."""
    for name in job_names():
        importlib.import_module(f"perfkit.reports.{name.replace('-', '_')}")
    return dict(sorted(JOBS.items(), key=lambda kv: (kv[1].order, kv[0])))


def find_job(name: str) -> Job | None:
    """The job called ``name`` (importing its module only), or None when no job has that name."""
    try:
        return get_job(name)
    except KeyError:
        return None


def get_job(name: str) -> Job:
    """The job called ``name``, importing its module only.

    Raises
    ------
    KeyError
        When no job has that name (the message lists them).
    """
    if name not in JOBS and name in job_names():
        importlib.import_module(f"perfkit.reports.{name.replace('-', '_')}")
    if name not in JOBS:
        raise KeyError(f"no report job {name!r} (jobs: {', '.join(job_names())})")
    return JOBS[name]
