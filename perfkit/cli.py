"""The ``perfkit`` command line.

``perfkit report JOB`` takes its options from the job notebook's ``parameters``
cell (read by papermill), so a parameter added to a notebook is an option at once.
"""
from __future__ import annotations

import argparse
import ast
import logging
import sys
from pathlib import Path

from perfkit.errors import DataError, ReportError
from perfkit.quota.models import METHODS
from perfkit.text import text, value_label

log = logging.getLogger("perfkit")


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
    from perfkit.queries import row_counts
    from perfkit.store import Store

    with Store(args.store, read_only=True) as store:
        for table, n in row_counts(store).items():
            print(f"{table:<20} {n:>8,}")
    return 0


def _cmd_report(args) -> int:
    from perfkit.reports import get_job
    from perfkit.reports.runner import run_report

    job = get_job(args.job)
    parameters = {name: getattr(args, name) for name in args.notebook_parameters}
    missing = [" or ".join(_option(job, name) for name in group) for group in job.required_groups
               if all(parameters.get(name) is None for name in group)]
    if missing:
        raise SystemExit(f"perfkit report {job.name}: {' and '.join(missing)} required")
    for name in job.paths:
        # a path is named relative to where the user is; the kernel may start elsewhere
        value = parameters.get(name)
        if isinstance(value, str) and (name != "preset" or value.endswith((".yaml", ".yml"))):
            parameters[name] = str(Path(value).resolve())
    store = str(Path(args.store).resolve()) if args.store else None
    report = run_report(job.name, {**parameters, "store": store}, output_dir=args.output_dir, lang=args.lang,
                        formats=args.formats, evaluating_body=args.evaluating_body,
                        document_number=args.document_number)
    for path in report.outputs.values():
        print(path)
    return 0


def _cmd_demo(args) -> int:
    from perfkit.reports.demo import run_demo

    reports = run_demo(data_dir=args.data_dir, store_path=args.store or "data/perfkit.duckdb",
                       output_dir=args.output_dir, seed=args.seed, lang=args.lang)
    print(f"\n{len(reports)} reports in {Path(args.output_dir).resolve()} (index.html lists them):")
    for report in reports:
        print(f"  {report.html}")
    return 0


def _cmd_standards(args) -> int:
    from perfkit.reports.quota_standards import build_all_standards
    from perfkit.store import Store

    with Store(args.store) as store:
        table = build_all_standards(store, method=args.method, base_year=args.base_year, preset=args.preset)
        table.to_store(store)
    path = table.to_excel(args.output, lang=args.lang)
    print(table.quota_table(args.lang)[[text(f"standards.columns.{c}", args.lang) for c in
                                       ("direction_name", "method", "basic_quota", "reach", "benchmark_quota",
                                        "validation_mape")]].to_string())
    print(f"\nsaved in the store (quota_standards) and in {path}")
    return 0


def _cmd_results_application(args) -> int:
    from perfkit.evaluation import apply_results, results_summary
    from perfkit.reports.key_evaluation import key_evaluations
    from perfkit.reports.workbooks import results_application_workbook
    from perfkit.store import Store

    with Store(args.store, read_only=True) as store:
        evaluated = key_evaluations(store, args.year, args.preset)
    if evaluated.empty:
        print(f"no project of {args.year} has an expert panel: nothing to apply", file=sys.stderr)
        return 2
    applied = apply_results(evaluated, args.preset)
    path = results_application_workbook(applied, args.output or f"reports/results_application_{args.year}.xlsx",
                                        args.lang, args.preset)
    print(results_summary(applied).rename(index={"total": text("common.total", args.lang)}).to_string())
    print(f"\nwritten to {path}")
    return 0


def _cmd_exante(args) -> int:
    from perfkit.exante import exante_summary
    from perfkit.reports.ex_ante import exante_portfolio
    from perfkit.reports.workbooks import exante_workbook
    from perfkit.store import Store

    with Store(args.store, read_only=True) as store:
        assessed = exante_portfolio(store, args.year, args.preset)
    if assessed.empty:
        print("no requests to assess", file=sys.stderr)
        return 2
    path = exante_workbook(assessed, args.output, args.lang, args.preset)
    print(exante_summary(assessed).rename(index={"total": text("common.total", args.lang)}).to_string())
    print(f"\nwritten to {path}")
    return 0


def _cmd_monitor(args) -> int:
    from perfkit.monitoring import monitor, monitoring_summary
    from perfkit.reports.workbooks import monitoring_workbook
    from perfkit.store import Store

    with Store(args.store, read_only=True) as store:
        monitored = monitor(store, args.as_of, args.preset, unit=args.unit)
    summary = monitoring_summary(monitored)
    path = monitoring_workbook(monitored, args.output or f"reports/monitoring_{args.as_of}.xlsx", args.lang)
    print(summary.rename(index=lambda a: value_label("action", a, args.lang)).to_string())
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


def _jobs():
    from perfkit.reports import jobs

    return jobs()


def _option(job, name: str) -> str:
    """The command-line option of a notebook parameter (the job's alias where it has one)."""
    return job.aliases.get(name, "--" + name.replace("_", "-"))


def _literal(source: str):
    """A parameter's default as papermill reads it (source text) turned into its value."""
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return source


def _parameter_type(spec: dict, default):
    """int, float or str for a notebook parameter, from its annotation or else its default."""
    annotation = str(spec.get("inferred_type_name") or "")
    for name, kind in (("bool", None), ("int", int), ("float", float)):
        if name in annotation:
            return kind
    if isinstance(default, bool):
        return None
    return type(default) if isinstance(default, (int, float)) else str


def _add_job_parser(jobs_parsers, job) -> None:
    """``perfkit report JOB``: one option per notebook parameter (store and lang are common options)."""
    from perfkit.reports.registry import COMMON_PARAMETERS

    p = jobs_parsers.add_parser(job.name, help=job.summary, description=f"{job.summary} ({job.notebook}).")
    required = {name for group in job.required_groups for name in group}
    names = []
    for name, spec in job.parameters().items():
        if name in COMMON_PARAMETERS:
            continue
        default = None if name in required else _literal(spec["default"])
        kind = _parameter_type(spec, _literal(spec["default"]))
        option = _option(job, name)
        flags = [option] if option == "--" + name.replace("_", "-") else [option, "--" + name.replace("_", "-")]
        shown = "" if default is None else f" (default {default})"
        needed = " (required)" if any(group == (name,) for group in job.required_groups) else ""
        if kind is None:  # a boolean parameter: --name / --no-name
            p.add_argument(*flags, dest=name, default=default, action=argparse.BooleanOptionalAction,
                           help=f"{spec.get('help', '')}{shown}")
        else:
            p.add_argument(*flags, dest=name, default=default, type=kind, metavar=name.upper(),
                           help=f"{spec.get('help', '')}{shown}{needed}".replace("%", "%%"))
        names.append(name)
    p.add_argument("--format", dest="formats", default=None, metavar="FORMATS",
                   help="html, pdf and/or docx, comma-separated (default: the preset's report.formats, html,pdf)")
    p.add_argument("--evaluating-body", default=None, help="the title page's evaluating body (default: the preset's)")
    p.add_argument("--document-number", default=None, help="the title page's document number (default: the preset's)")
    p.add_argument("--output-dir", default="reports", help="where the report goes (default reports)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    _add_store(p)
    p.set_defaults(func=_cmd_report, notebook_parameters=names)


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
                       description="Run a job's parameterised notebook through papermill and export it to HTML "
                                   "(code hidden) in the output folder. Each job's options are its notebook's "
                                   "parameters: `perfkit report JOB --help`.")
    jobs_parsers = p.add_subparsers(dest="job", required=True, metavar="JOB")
    for job in _jobs().values():
        _add_job_parser(jobs_parsers, job)

    p = sub.add_parser("standards", help="build the quota standards of every direction with cost records",
                       description="Build the quota standards of every direction with cost records, save them in "
                                   "the store (table quota_standards) and write a formatted Excel workbook.")
    p.add_argument("--method", default="auto", choices=("auto", *METHODS),
                   help="quota method (default auto: the preset's advanced-and-reasonable choice per direction)")
    p.add_argument("--preset", default="default", help="rule preset (default default)")
    p.add_argument("--base-year", type=int, default=None, help="price base year (default: latest)")
    p.add_argument("--output", default="reports/quota_standards.xlsx", help="the Excel workbook to write")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="workbook language (default zh)")
    _add_store(p)
    p.set_defaults(func=_cmd_standards)

    p = sub.add_parser("results-application",
                       help="key-evaluate a year's panel projects and turn their ratings into next year's budgets",
                       description="Evaluate every project of YEAR with an expert panel, apply the preset's results "
                                   "application (中 → budget cut 10%, 差 → no budget) and write a workbook.")
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
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="workbook language (default zh)")
    _add_store(p)
    p.set_defaults(func=_cmd_exante)

    p = sub.add_parser("monitor", help="monitor every project as of a date and write the workbook",
                       description="Double monitoring as of a date: execution against the city's typical path, "
                                   "forecasts, lights and actions, for every project of that year.")
    p.add_argument("--as-of", required=True, help="monitoring date, YYYY-MM-DD")
    p.add_argument("--unit", default=None, help="one unit_id (default: the whole city)")
    p.add_argument("--preset", default="default", help="rule preset (default default)")
    p.add_argument("--output", default=None, help="workbook path (default reports/monitoring_DATE.xlsx)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="workbook language (default zh)")
    _add_store(p)
    p.set_defaults(func=_cmd_monitor)

    p = sub.add_parser("data-dictionary", help="write the data dictionary (data/README.md)",
                       description="Generate the data dictionary from the schemas and the label catalogue.")
    p.add_argument("--output", default="data/README.md", help="output file, or - for stdout")
    p.set_defaults(func=_cmd_dictionary)
    return parser


def _log_to_console() -> None:
    """Show the library's progress (the ``perfkit`` logger) on the console, once."""
    if not any(getattr(h, "_perfkit_console", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._perfkit_console = True
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``perfkit`` command."""
    args = build_parser().parse_args(argv)
    _log_to_console()
    try:
        return args.func(args)
    except DataError as exc:
        print(f"perfkit: bad input, nothing was changed:\n{exc}", file=sys.stderr)
        return 2
    except ReportError as exc:
        print(f"perfkit: {exc}", file=sys.stderr)
        return 4
    except (FileNotFoundError, KeyError) as exc:
        print(f"perfkit: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
