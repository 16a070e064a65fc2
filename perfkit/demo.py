"""The main job on the demo city: generate it, load it, and write its reports."""
from __future__ import annotations

from os import PathLike
from pathlib import Path

import pandas as pd

from perfkit.cycle_report import exante_portfolio
from perfkit.datasets import AS_OF_MONTH, CURRENT_YEAR, write_demo
from perfkit.evaluation import apply_results, results_summary
from perfkit.evaluation_report import key_evaluations, results_application_workbook
from perfkit.excel import write_workbook
from perfkit.exante import exante_summary
from perfkit.monitoring import monitor, monitoring_summary
from perfkit.quota_study import build_all_standards
from perfkit.report import Report, ReportError, run_batch
from perfkit.store import Store

CLOSED_YEAR = CURRENT_YEAR - 1
AS_OF = (pd.Timestamp(CURRENT_YEAR, AS_OF_MONTH, 1) + pd.offsets.MonthEnd(0)).strftime("%Y-%m-%d")


def showcase_projects(store: Store) -> list[str]:
    """Projects that show the overview well: the largest closed-year project, the closed-year
    project furthest behind in spending, and the largest project of the running year."""
    picks = store.query(f"""
        WITH rates AS (
            SELECT p.project_id, p.year, coalesce(b.adjusted_amount, b.amount) AS budget,
                   max(e.spent_cumulative) / coalesce(b.adjusted_amount, b.amount) AS rate
            FROM projects p JOIN budgets b USING (project_id) JOIN execution e USING (project_id)
            GROUP BY p.project_id, p.year, b.adjusted_amount, b.amount
        )
        (SELECT project_id FROM rates WHERE year = {CLOSED_YEAR} ORDER BY budget DESC, project_id LIMIT 1)
        UNION ALL
        (SELECT project_id FROM rates WHERE year = {CLOSED_YEAR} AND budget > 1e6 ORDER BY rate, project_id LIMIT 1)
        UNION ALL
        (SELECT project_id FROM rates WHERE year = {CURRENT_YEAR} ORDER BY budget DESC, project_id LIMIT 1)
    """)
    return list(dict.fromkeys(picks["project_id"]))


def evaluation_projects(store: Store, n: int = 10) -> list[str]:
    """The ``n`` largest projects with an expert panel, latest closed year first."""
    return store.query(f"""
        SELECT p.project_id FROM projects p JOIN budgets b USING (project_id)
        WHERE p.project_id IN (SELECT project_id FROM expert_scores)
        ORDER BY p.year DESC, b.amount DESC, p.project_id LIMIT {int(n)}""")["project_id"].tolist()


def self_evaluation_units(store: Store, n: int = 3) -> list[str]:
    """The ``n`` first-level units with the most projects (their own and their subordinates') in the closed year."""
    return store.query(f"""
        SELECT coalesce(u.parent_id, u.unit_id) AS unit_id FROM projects p JOIN units u USING (unit_id)
        WHERE p.year = {CLOSED_YEAR} GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT {int(n)}""")["unit_id"].tolist()


def run_demo(*, data_dir: str | PathLike = "data/demo", store_path: str | PathLike = "data/perfkit.duckdb",
             output_dir: str | PathLike = "reports", seed: int = 0, lang: str = "zh",
             echo=print) -> list[Report]:
    """Write the demo city, load it into the store and produce its reports and workbooks.

    Returns the reports written; ``echo`` receives one progress line per step.
    Raises ReportError naming every report that failed (the others are still written).
    """
    output_dir = Path(output_dir)
    echo(f"demo city (seed {seed}) → {data_dir}")
    write_demo(data_dir, seed=seed)
    with Store(store_path) as store:
        counts = store.load(data_dir)
        echo(f"loaded into {store_path}: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        standards = build_all_standards(store)
        standards.to_store(store)
        evaluated = key_evaluations(store, CLOSED_YEAR)
        assessed = exante_portfolio(store)
        monitored = monitor(store, AS_OF)
        # one ex-ante report for each conclusion reached, the largest request first
        showcase_requests = (assessed.sort_values("requested", ascending=False)
                             .drop_duplicates("conclusion")["request_id"].tolist())
        jobs = ([("project-overview", {"project_id": p}) for p in showcase_projects(store)]
                + [("key-evaluation", {"project_id": p}) for p in evaluation_projects(store)]
                + [("self-evaluation", {"unit_id": u, "year": CLOSED_YEAR}) for u in self_evaluation_units(store)]
                + [("quota-standards", {"direction": d}) for d in standards.directions]
                + [("ex-ante", {"request_id": r}) for r in showcase_requests]
                + [("monitoring", {"as_of": AS_OF, "unit": "all"})])
    echo(f"quota standards of {len(standards.directions)} directions → "
         f"{standards.to_excel(output_dir / 'quota_standards.xlsx', lang=lang)} (and the store)")
    applied = apply_results(evaluated)
    summary = results_summary(applied)
    workbook = results_application_workbook(applied, output_dir / f"results_application_{CLOSED_YEAR}.xlsx", lang)
    echo(f"results application of {len(applied)} key evaluations ({CLOSED_YEAR}): next-year budget cut "
         f"{summary.loc['合计', 'cut'] / 1e4:,.2f} 万元 ({summary.loc['合计', 'cut_rate']:.1%}) → {workbook}")
    exante = exante_summary(assessed)
    workbook = write_workbook(output_dir / "ex_ante_assessments.xlsx",
                              {"评估结果": assessed, "按结论汇总": exante.reset_index(),
                               "按单位汇总": exante_summary(assessed, "unit_name").reset_index(),
                               "按支出方向汇总": exante_summary(assessed, "direction_name").reset_index()},
                              {"requested": "#,##0.00", "approved": "#,##0.00", "cut_rate": "0.0%"})
    echo(f"ex-ante assessments of {len(assessed)} requests: {exante.loc['合计', 'requested'] / 1e4:,.2f} 万元 "
         f"requested, {exante.loc['合计', 'approved'] / 1e4:,.2f} 万元 supported, overall cut "
         f"{exante.loc['合计', 'cut_rate']:.1%} → {workbook}")
    headline = monitoring_summary(monitored).attrs["headline"]
    workbook = write_workbook(output_dir / f"monitoring_{AS_OF}.xlsx", {"监控结果": monitored},
                              {"budget": "#,##0.00", "execution_rate": "0.0%"})
    echo(f"monitoring as of {AS_OF}: {headline['rectify_projects']} projects of {headline['rectify_units']} units "
         f"to rectify ({headline['rectify_money'] / 1e8:,.2f} 亿元), {headline['terminate_projects']} to terminate "
         f"({headline['terminate_money'] / 1e4:,.2f} 万元) → {workbook}")
    store_abs = str(Path(store_path).resolve())
    jobs = [(job, {**parameters, "store": store_abs}) for job, parameters in jobs]

    def done(job, parameters, outcome):
        what = " ".join(str(v) for k, v in parameters.items() if k != "store")
        echo(f"{job} {what} → {outcome.html if isinstance(outcome, Report) else f'FAILED: {outcome}'}")

    outcomes = run_batch(jobs, output_dir=output_dir, lang=lang, on_done=done)
    failed = [o for o in outcomes if isinstance(o, ReportError)]
    if failed:
        raise ReportError(f"{len(failed)} of {len(outcomes)} reports failed:\n" + "\n".join(map(str, failed)))
    return outcomes
