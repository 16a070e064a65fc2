"""Report jobs: one module per parameterised notebook, the runner, and shared display helpers.

========================  ==============================  ==========================================
job                       module                          notebook
========================  ==============================  ==========================================
project-overview          :mod:`.project_overview`        ``notebooks/project_overview.ipynb``
key-evaluation            :mod:`.key_evaluation`          ``notebooks/key_evaluation.ipynb``
self-evaluation           :mod:`.self_evaluation`         ``notebooks/self_evaluation.ipynb``
department-evaluation     :mod:`.department_evaluation`   ``notebooks/department_evaluation.ipynb``
ex-ante                   :mod:`.ex_ante`                 ``notebooks/ex_ante.ipynb``
department-targets        :mod:`.department_targets`      ``notebooks/department_targets.ipynb``
monitoring                :mod:`.monitoring`              ``notebooks/monitoring.ipynb``
quota-standards           :mod:`.quota_standards`         ``notebooks/quota_standards.ipynb``
portrait                  :mod:`.portrait`                ``notebooks/portrait.ipynb``
comparison                :mod:`.comparison`              ``notebooks/comparison.ipynb``
problem-cases             :mod:`.problem_cases`           ``notebooks/problem_cases.ipynb``
========================  ==============================  ==========================================

A job is one module and one notebook of the same name; the module declares the job once
(:class:`~perfkit.reports.registry.Job`), and the command line, batches and these docs read the registry.

:mod:`.registry` declares the jobs, :mod:`.runner` runs them (papermill + nbconvert),
:mod:`.display` and :mod:`.workbooks` hold what the jobs share, :mod:`.demo` is the
main job on the demo city. Importing this package stays light: the runner (and with
it papermill and nbconvert) loads on first use of :func:`run_report` or :func:`run_batch`.
"""
from __future__ import annotations

from perfkit.errors import ReportError
from perfkit.reports.registry import Job, get_job, jobs, notebooks_dir, templates_dir

__all__ = ["Job", "Report", "ReportError", "get_job", "jobs", "notebooks_dir", "run_batch", "run_report",
           "templates_dir"]


def __getattr__(name: str):
    if name in ("run_report", "run_batch", "Report"):
        from perfkit.reports import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'perfkit.reports' has no attribute {name!r}")
