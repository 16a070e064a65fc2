"""The ``perfkit`` command line."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perfkit.errors import DataError
from perfkit.quota.models import METHODS
from perfkit.report import JOBS


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None,
                        help="the DuckDB store (default: $PERFKIT_STORE or data/perfkit.duckdb)")


def _cmd_demo_data(args) -> int:
    from perfkit.datasets import write_demo

    paths = write_demo(args.dir, seed=args.seed)
    print(f"wrote {len(paths)} tables to {args.dir}")
    return 0


def _cmd_load(args) -> int:
    from perfkit.store import Store

    with Store(args.store) as store:
        counts = store.load(args.dir, encoding=args.encoding)
        print(f"loaded into {store.path}:")
        for table, n in counts.items():
            print(f"  {table:<14} {n:>8,} rows")
    return 0


def _cmd_tables(args) -> int:
    from perfkit.store import Store

    with Store(args.store, read_only=True) as store:
        for table in store.tables():
            n = store.query(f'SELECT count(*) AS n FROM "{table}"')["n"].iloc[0]
            print(f"{table:<20} {n:>8,}")
    return 0


def _cmd_report(args) -> int:
    from perfkit.report import run_report

    store = str(Path(args.store).resolve()) if args.store else None
    required = {"project-overview": ["project"], "key-evaluation": ["project"], "quota-standards": ["direction"],
                "self-evaluation": ["unit", "year"], "ex-ante": [] if args.request_file else ["request"],
                "monitoring": ["as_of"]}[args.job]
    request_file = str(Path(args.request_file).resolve()) if args.request_file else None
    missing = [f"--{name.replace('_', '-')}" for name in required if getattr(args, name) is None]
    if missing:
        raise SystemExit(f"perfkit report {args.job}: {' and '.join(missing)} required")
    # a preset file is named relative to where the user is; the notebook runs in notebooks/
    preset = str(Path(args.preset).resolve()) if args.preset.endswith((".yaml", ".yml")) else args.preset
    parameters = {
        "project-overview": {"project_id": args.project},
        "key-evaluation": {"project_id": args.project, "preset": preset},
        "self-evaluation": {"unit_id": args.unit, "year": args.year, "preset": preset},
        "quota-standards": {"direction": args.direction, "method": args.method, "base_year": args.base_year},
        "ex-ante": {"request_id": args.request, "request_file": request_file, "preset": preset},
        "monitoring": {"as_of": args.as_of, "unit": args.unit or "all", "preset": preset},
    }[args.job]
    report = run_report(args.job, {**parameters, "store": store}, output_dir=args.output_dir, lang=args.lang)
    print(report.html)
    return 0


def _cmd_demo(args) -> int:
    from perfkit.demo import run_demo

    reports = run_demo(data_dir=args.data_dir, store_path=args.store or "data/perfkit.duckdb",
                       output_dir=args.output_dir, seed=args.seed, lang=args.lang)
    print(f"\n{len(reports)} reports in {Path(args.output_dir).resolve()}:")
    for report in reports:
        print(f"  {report.html}")
    return 0


def _cmd_standards(args) -> int:
    from perfkit.quota_study import build_all_standards
    from perfkit.store import Store

    with Store(args.store) as store:
        table = build_all_standards(store, method=args.method, base_year=args.base_year)
        table.to_store(store)
    path = table.to_excel(args.output, lang=args.lang)
    print(table.quotas[["direction_name", "output_unit", "basic_quota", "n", "validation_mape"]].to_string())
    print(f"\nsaved in the store (quota_standards) and in {path}")
    return 0


def _cmd_results_application(args) -> int:
    from perfkit.evaluation import apply_results, results_summary
    from perfkit.evaluation_report import key_evaluations, results_application_workbook
    from perfkit.store import Store

    with Store(args.store, read_only=True) as store:
        evaluated = key_evaluations(store, args.year, args.preset)
    if evaluated.empty:
        print(f"no project of {args.year} has an expert panel: nothing to apply", file=sys.stderr)
        return 2
    applied = apply_results(evaluated, args.preset)
    path = results_application_workbook(applied, args.output or f"reports/results_application_{args.year}.xlsx",
                                        args.lang)
    print(results_summary(applied).to_string())
    print(f"\nwritten to {path}")
    return 0


def _cmd_exante(args) -> int:
    from perfkit.cycle_report import exante_portfolio
    from perfkit.exante import exante_summary
    from perfkit.excel import write_workbook
    from perfkit.store import Store

    with Store(args.store, read_only=True) as store:
        assessed = exante_portfolio(store, args.year, args.preset)
    if assessed.empty:
        print("no requests to assess", file=sys.stderr)
        return 2
    summary = exante_summary(assessed)
    money = {c: "#,##0.00" for c in ("requested", "standard_cost", "suggested", "approved")}
    path = write_workbook(args.output, {"assessments": assessed, "by conclusion": summary.reset_index(),
                                        "by unit": exante_summary(assessed, "unit_name").reset_index(),
                                        "by direction": exante_summary(assessed, "direction_name").reset_index()},
                          {**money, "cut_rate": "0.0%"})
    print(summary.to_string())
    print(f"\nwritten to {path}")
    return 0


def _cmd_monitor(args) -> int:
    from perfkit.excel import write_workbook
    from perfkit.monitoring import monitor, monitoring_summary
    from perfkit.store import Store

    with Store(args.store, read_only=True) as store:
        monitored = monitor(store, args.as_of, args.preset, unit=args.unit)
    summary = monitoring_summary(monitored)
    path = write_workbook(args.output or f"reports/monitoring_{args.as_of}.xlsx",
                          {"projects": monitored, "by action": summary.reset_index()},
                          {"budget": "#,##0.00", "spent": "#,##0.00", "execution_rate": "0.0%",
                           "expected_rate": "0.0%", "forecast_rate": "0.0%"})
    print(summary.to_string())
    print(summary.attrs["headline"])
    print(f"\nwritten to {path}")
    return 0


def _cmd_dictionary(args) -> int:
    from perfkit.dictionary import data_dictionary

    text = data_dictionary()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every perfkit command."""
    parser = argparse.ArgumentParser(prog="perfkit", description="perfkit: budget performance evaluation "
                                     "workbench (预算绩效管理). Every command has --help.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="generate the demo city, load it and write its reports (the main job)",
                       description="Generate the demo city, load it into the store and write its reports.")
    p.add_argument("--seed", type=int, default=0, help="seed of the demo city (default 0)")
    p.add_argument("--data-dir", default="data/demo", help="where the demo CSVs go (default data/demo)")
    p.add_argument("--output-dir", default="reports", help="where reports go (default reports)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    _add_store(p)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("demo-data", help="write the demo city as one CSV per table",
                       description="Write the deterministic demo city as <table>.csv files (UTF-8 with BOM).")
    p.add_argument("--dir", default="data/demo", help="output folder (default data/demo)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.set_defaults(func=_cmd_demo_data)

    p = sub.add_parser("load", help="validate a folder of table files and load it, all or nothing",
                       description="Validate every <table>.csv|.xlsx|.parquet in DIR, then load them into "
                                   "the store in one transaction: all or nothing.")
    p.add_argument("dir", help="folder of table files")
    p.add_argument("--encoding", default=None, help="CSV encoding (default: UTF-8, then GBK/GB18030)")
    _add_store(p)
    p.set_defaults(func=_cmd_load)

    p = sub.add_parser("tables", help="list the store's tables and row counts",
                       description="List the tables in the store with their row counts.")
    _add_store(p)
    p.set_defaults(func=_cmd_tables)

    p = sub.add_parser("report", help="run a report notebook through papermill into HTML",
                       description="Run a parameterised notebook through papermill and export it to HTML "
                                   "(code hidden) in the output folder.")
    p.add_argument("job", choices=list(JOBS), help="the report to produce")
    p.add_argument("--project", help="project_id (for project-overview and key-evaluation)")
    p.add_argument("--unit", help="unit_id (for self-evaluation; for monitoring, one unit instead of all)")
    p.add_argument("--request", help="request_id (for ex-ante)")
    p.add_argument("--request-file", help="a YAML request file instead of --request (for ex-ante)")
    p.add_argument("--as-of", help="monitoring date, YYYY-MM-DD (for monitoring)")
    p.add_argument("--year", type=int, help="fiscal year (for self-evaluation)")
    p.add_argument("--preset", default="default", help="rule preset: built-in name or .yaml path (default default)")
    p.add_argument("--direction", help="direction_id (for quota-standards)")
    p.add_argument("--method", default="frontier", choices=METHODS, help="quota method (default frontier)")
    p.add_argument("--base-year", type=int, default=None, help="price base year (default: latest)")
    p.add_argument("--output-dir", default="reports", help="where the report goes (default reports)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    _add_store(p)
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("standards", help="build the quota standards of every direction with cost records",
                       description="Build the quota standards of every direction with cost records, save them in "
                                   "the store (table quota_standards) and write a formatted Excel workbook.")
    p.add_argument("--method", default="frontier", choices=METHODS, help="quota method (default frontier)")
    p.add_argument("--base-year", type=int, default=None, help="price base year (default: latest)")
    p.add_argument("--output", default="reports/quota_standards.xlsx", help="the Excel workbook to write")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="workbook language (default zh)")
    _add_store(p)
    p.set_defaults(func=_cmd_standards)

    p = sub.add_parser("results-application",
                       help="key-evaluate a year's panel projects and turn their ratings into next year's budgets",
                       description="Evaluate every project of YEAR with an expert panel, apply the preset's results "
                                   "application (中 → budget cut 10%%, 差 → no budget) and write a workbook.")
    p.add_argument("--year", type=int, required=True, help="fiscal year evaluated")
    p.add_argument("--preset", default="default", help="rule preset (default default)")
    p.add_argument("--output", default=None, help="workbook path (default reports/results_application_YEAR.xlsx)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="workbook language (default zh)")
    _add_store(p)
    p.set_defaults(func=_cmd_results_application)

    p = sub.add_parser("ex-ante", help="assess every new project request and write the portfolio workbook",
                       description="Assess every request in the store against its quota standards (run "
                                   "`perfkit standards` first) and write the portfolio: requested, approved, cut rate.")
    p.add_argument("--year", type=int, default=None, help="budget year of the requests (default: all)")
    p.add_argument("--preset", default="default", help="rule preset (default default)")
    p.add_argument("--output", default="reports/ex_ante_assessments.xlsx", help="workbook path")
    _add_store(p)
    p.set_defaults(func=_cmd_exante)

    p = sub.add_parser("monitor", help="monitor every project as of a date and write the workbook",
                       description="Double monitoring as of a date: execution against the city's typical path, "
                                   "forecasts, lights and actions, for every project of that year.")
    p.add_argument("--as-of", required=True, help="monitoring date, YYYY-MM-DD")
    p.add_argument("--unit", default=None, help="one unit_id (default: the whole city)")
    p.add_argument("--preset", default="default", help="rule preset (default default)")
    p.add_argument("--output", default=None, help="workbook path (default reports/monitoring_DATE.xlsx)")
    _add_store(p)
    p.set_defaults(func=_cmd_monitor)

    p = sub.add_parser("data-dictionary", help="write the data dictionary (data/README.md)",
                       description="Generate the data dictionary from the schemas and the label catalogue.")
    p.add_argument("--output", default="data/README.md", help="output file, or - for stdout")
    p.set_defaults(func=_cmd_dictionary)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``perfkit`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataError as exc:
        print(f"perfkit: bad input, nothing was changed:\n{exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, KeyError) as exc:
        print(f"perfkit: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
