"""The main job on the demo city: generate it, load it, and write its reports."""
from __future__ import annotations

from os import PathLike
from pathlib import Path

from perfkit.datasets import CURRENT_YEAR, write_demo
from perfkit.quota_study import build_all_standards
from perfkit.report import Report, run_report
from perfkit.store import Store


def showcase_projects(store: Store) -> list[str]:
    """Projects that show the overview well: the largest closed-year project, the closed-year
    project furthest behind in spending, and the largest project of the running year."""
    closed = CURRENT_YEAR - 1
    picks = store.query(f"""
        WITH rates AS (
            SELECT p.project_id, p.year, coalesce(b.adjusted_amount, b.amount) AS budget,
                   max(e.spent_cumulative) / coalesce(b.adjusted_amount, b.amount) AS rate
            FROM projects p JOIN budgets b USING (project_id) JOIN execution e USING (project_id)
            GROUP BY p.project_id, p.year, b.adjusted_amount, b.amount
        )
        (SELECT project_id FROM rates WHERE year = {closed} ORDER BY budget DESC, project_id LIMIT 1)
        UNION ALL
        (SELECT project_id FROM rates WHERE year = {closed} AND budget > 1e6 ORDER BY rate, project_id LIMIT 1)
        UNION ALL
        (SELECT project_id FROM rates WHERE year = {CURRENT_YEAR} ORDER BY budget DESC, project_id LIMIT 1)
    """)
    return list(dict.fromkeys(picks["project_id"]))


def run_demo(*, data_dir: str | PathLike = "data/demo", store_path: str | PathLike = "data/perfkit.duckdb",
             output_dir: str | PathLike = "reports", seed: int = 0, lang: str = "zh",
             echo=print) -> list[Report]:
    """Write the demo city, load it into the store and produce its reports.

    Returns the reports written; ``echo`` receives one progress line per step.
    """
    echo(f"demo city (seed {seed}) → {data_dir}")
    write_demo(data_dir, seed=seed)
    with Store(store_path) as store:
        counts = store.load(data_dir)
        echo(f"loaded into {store_path}: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        projects = showcase_projects(store)
        standards = build_all_standards(store)
        standards.to_store(store)
    workbook = standards.to_excel(Path(output_dir) / "quota_standards.xlsx", lang=lang)
    echo(f"quota standards of {len(standards.directions)} directions → {workbook} (and the store)")
    reports = []
    store_abs = str(Path(store_path).resolve())
    for project_id in projects:
        report = run_report("project-overview", {"project_id": project_id, "store": store_abs},
                            output_dir=output_dir, lang=lang)
        echo(f"project overview {project_id} → {report.html}")
        reports.append(report)
    for direction in standards.directions:
        report = run_report("quota-standards", {"direction": direction, "store": store_abs},
                            output_dir=output_dir, lang=lang)
        echo(f"quota standards {direction} → {report.html}")
        reports.append(report)
    return reports
