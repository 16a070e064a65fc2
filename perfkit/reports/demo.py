"""The main job on the demo city: generate it, load it, and write its reports and workbooks."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from os import PathLike
from pathlib import Path

import pandas as pd

from perfkit import queries
from perfkit.datasets import AS_OF_MONTH, CURRENT_YEAR, write_demo
from perfkit.errors import ReportError
from perfkit.evaluation import TOTAL, apply_results, key_evaluations, results_summary
from perfkit.exante import DRAFT as EXANTE_DRAFT
from perfkit.exante import exante_summary
from perfkit.monitoring import monitor
from perfkit.exante import exante_portfolio
from perfkit.quota.standards import build_all_standards
from perfkit.workbooks import exante_workbook, results_application_workbook
from perfkit.store import Store

log = logging.getLogger("perfkit")

CLOSED_YEAR = CURRENT_YEAR - 1
AS_OF = (pd.Timestamp(CURRENT_YEAR, AS_OF_MONTH, 1) + pd.offsets.MonthEnd(0)).strftime("%Y-%m-%d")


def _workbooks(store_path: str, output_dir: Path, lang: str, standards, assessed: pd.DataFrame) -> None:
    """The demo's workbooks: quota standards, results application, ex-ante assessments, monitoring."""
    log.info("quota standards of %d directions → %s (and the store)", len(standards.directions),
             standards.to_excel(output_dir / "quota_standards.xlsx", lang=lang))
    with Store(store_path, read_only=True) as store:
        evaluated = key_evaluations(store, CLOSED_YEAR)
        monitored = monitor(store, AS_OF)
    applied = apply_results(evaluated)
    summary = results_summary(applied)
    workbook = results_application_workbook(applied, output_dir / f"results_application_{CLOSED_YEAR}.xlsx", lang)
    log.info("results application of %d key evaluations (%d): next-year budget cut %s 万元 (%.1f%%); %d drafts "
             "(evidence incomplete) left unchanged and listed apart → %s", len(applied), CLOSED_YEAR,
             f"{summary.loc[TOTAL, 'cut'] / 1e4:,.2f}", summary.loc[TOTAL, "cut_rate"] * 100,
             int((applied["status"] == "draft").sum()), workbook)
    exante = exante_summary(assessed)
    workbook = exante_workbook(assessed, output_dir / "ex_ante_assessments.xlsx", lang)
    log.info("ex-ante assessments of %d requests: %s 万元 requested, %s 万元 supported, cut %.1f%% of the decided; "
             "%d pending the experts' review (待补充) → %s", len(assessed), f"{exante.loc[TOTAL, 'requested'] / 1e4:,.2f}",
             f"{exante.loc[TOTAL, 'approved'] / 1e4:,.2f}", exante.loc[TOTAL, "cut_rate"] * 100,
             int((assessed["conclusion"] == EXANTE_DRAFT).sum()), workbook)
    headline = monitored.headline
    workbook = monitored.to_excel(output_dir / f"monitoring_{AS_OF}.xlsx", lang)
    log.info("monitoring as of %s: %d projects of %d units to rectify (%s 万元), %d to terminate (%s 万元) → %s",
             AS_OF, headline["rectify_projects"], headline["rectify_units"], f"{headline['rectify_money'] / 1e4:,.2f}",
             headline["terminate_projects"], f"{headline['terminate_money'] / 1e4:,.2f}", workbook)


def run_demo(*, data_dir: str | PathLike = "data/demo", store_path: str | PathLike = "data/perfkit.duckdb",
             output_dir: str | PathLike = "reports", seed: int = 0, lang: str = "zh") -> list:
    """Write the demo city, load it into the store and produce its reports and workbooks.

    Progress goes to the ``perfkit`` logger, one line per step.

    Returns
    -------
    list of perfkit.reports.batch.Outcome
        The reports written (their outputs by format), as the manifest lists them.

    Raises
    ------
    perfkit.ReportError
        Naming every report that failed (the others are still written).
    """
    from perfkit.reports.batch import run_many
    from perfkit.reports.registry import jobs as all_jobs
    from perfkit.reports.warm import prestart

    # the kernels start (and import what the jobs and their PDFs need: the demo runs every job) while the
    # city is written, loaded and its standards set, which keep one core busy and leave the other idle
    prestart(all_jobs(), pdf=True)
    output_dir = Path(output_dir)
    log.info("demo city (seed %s) → %s", seed, data_dir)
    write_demo(data_dir, seed=seed)
    with Store(store_path) as store:
        counts = store.load(data_dir)
        log.info("loaded into %s: %s", store_path, ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        standards = build_all_standards(store)
        standards.to_store(store)
        assessed = exante_portfolio(store)
        # one ex-ante report for each conclusion reached, the largest request first
        showcase_requests = (assessed.sort_values("requested", ascending=False)
                             .drop_duplicates("conclusion")["request_id"].tolist())
        # portraits of the three busiest units, the first one's field compared on one scale over the closed
        # years, and the problem cases of the last closed year, each with its workbook
        portrayed = queries.busiest_units(store, CLOSED_YEAR, 3)
        field = queries.unit(store, portrayed[0])["field"]
        closed = queries.closed_years(store)
        years = f"{closed[0]}-{closed[-1]}"
        workbook = lambda name: str((output_dir / f"{name}.xlsx").resolve())       # noqa: E731
        # the longest reports first (a field's portraits and comparison, the quota studies), the one-project
        # reports last: the kernels then finish together instead of one waiting on a long last report
        jobs = ([("portrait", {"unit": unit, "years": years, "excel": workbook(f"portrait_{unit}")})
                 for unit in portrayed]
                + [("comparison", {"field": field, "years": years,
                                   "excel": workbook(f"comparison_{field}_{years}")}),
                   ("problem-cases", {"year": str(CLOSED_YEAR), "excel": workbook(f"problem_cases_{CLOSED_YEAR}")})]
                + [("quota-standards", {"direction": d}) for d in standards.directions]
                + [("monitoring", {"as_of": AS_OF, "unit": "all"})]
                + [("project-overview", {"project_id": p})
                   for p in queries.showcase_projects(store, CLOSED_YEAR, CURRENT_YEAR)]
                + [("key-evaluation", {"project_id": p}) for p in queries.largest_panel_projects(store, 10)]
                + [("self-evaluation", {"unit_id": u, "year": CLOSED_YEAR})
                   for u in queries.busiest_units(store, CLOSED_YEAR, 3)]
                + [("department-evaluation", {"unit_id": u, "year": CLOSED_YEAR}) for u in portrayed]
                + [("ex-ante", {"request_id": r}) for r in showcase_requests])
    store_abs = str(Path(store_path).resolve())
    tasks = [(job, {**parameters, "store": store_abs}) for job, parameters in jobs]

    def done(outcome):
        if outcome.status == "done":
            log.info("%s %s → %s (%.1f s)", outcome.job, outcome.subject,
                     ", ".join(Path(p).name for p in outcome.outputs.values()), outcome.seconds)
        else:
            log.error("%s %s FAILED: %s", outcome.job, outcome.subject, outcome.error)

    # the workbooks are written while the reports run: the store is final and only read from here on
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="perfkit-workbooks") as side:
        workbooks = side.submit(_workbooks, store_abs, output_dir, lang, standards, assessed)
        outcomes = run_many(tasks, output_dir=output_dir, lang=lang, formats=None, progress=False, on_done=done)
        workbooks.result()
    log.info("index of every report → %s; manifest → %s", Path(output_dir).resolve() / "index.html",
             Path(output_dir).resolve() / "manifest.csv")
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        raise ReportError(f"{len(failed)} of {len(outcomes)} reports failed:\n"
                          + "\n".join(f"{o.job} {o.subject}: {o.error}" for o in failed))
    # the department reports bound into one submission, as for the People's Congress
    from perfkit.reports.bundle import bundle
    from perfkit.text import text

    made = bundle(output_dir, output_dir / f"department_bundle_{CLOSED_YEAR}.pdf", job="department-evaluation",
                  title=text("bundle.department_title", lang, year=CLOSED_YEAR), lang=lang)
    log.info("bundle of %d department reports (%d drafts), %d pages → %s; summary workbook → %s",
             len(made.reports), len(made.drafts), made.pages, made.pdf, made.workbook)
    return outcomes
