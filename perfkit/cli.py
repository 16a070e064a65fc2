"""The ``perfkit`` command line.

``perfkit report JOB`` takes its options from the job notebook's ``parameters``
cell (read by papermill), so a parameter added to a notebook is an option at once.
"""
from __future__ import annotations

import argparse
import ast
import logging
import os
import re
import sys
from pathlib import Path

from perfkit.errors import DataError, Problem, ReportError, UsageError, reason
from perfkit.quota.names import METHODS
from perfkit.text import text, texts, value_label

log = logging.getLogger("perfkit")


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None,
                        help="the DuckDB store (default: $PERFKIT_STORE or data/perfkit.duckdb)")


def _iso_date(value: str) -> str:
    """An argparse type: a real YYYY-MM-DD date (31/08/2026 is refused, never read as 8 March)."""
    from perfkit.reports.preflight import iso_date

    try:
        return iso_date(value, "zh", "--as-of").strftime("%Y-%m-%d")
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", type=_seconds, default=0.0, metavar="SECONDS",
                        help="when another load of the store is running, wait this long for it (default 0: refuse "
                             "at once, exit 3); never two loads at once")


def _add_lang(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--lang", choices=["zh", "en"], default="zh", help=help_text)


def _add_debug(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of a failure")


def _cmd_demo_data(args) -> int:
    from perfkit.datasets import write_demo

    paths = write_demo(args.dir, seed=args.seed)
    print(f"wrote {len(paths)} tables to {args.dir}")
    return 0


def _seconds(value: str) -> float:
    """A number of seconds, not negative (argparse: a bad one is exit 2)."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if seconds < 0 or seconds != seconds:
        raise argparse.ArgumentTypeError(f"seconds must be 0 or more, not {value}")
    return seconds


def _positive_int(value: str) -> int:
    """A count of at least 1 (argparse: anything else is exit 2)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return number


def _positive_seconds(value: str) -> float:
    """A number of seconds above 0 (argparse: anything else is exit 2)."""
    seconds = _seconds(value)
    if seconds == 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return seconds


def _existing_store(path, schema: bool = True) -> str:
    """The store a command reads: it must exist and be a DuckDB database (exit 3 naming it), and nothing is
    created when it does not (no folder, no empty store). ``schema=False`` leaves the check of its tables'
    columns (which imports pandas and pandera) to the caller (:func:`_check_schema`)."""
    from perfkit.paths import default_store_path

    path = Path(path or default_store_path())
    if not path.is_file():
        raise DataError(Problem(str(path), reason("no_store")))
    with open(path, "rb") as handle:
        head = handle.read(16)
    if b"DUCK" not in head:
        raise DataError(Problem(str(path), reason("not_a_store")))
    if schema:
        _check_schema(path)
    return str(path)


def _check_schema(path) -> None:
    from perfkit.store import check_schema

    check_schema(path)        # a table without a column of the schema: named here, not a KeyError in a kernel


def _check_formats(formats, preset) -> tuple[str, ...]:
    """The report formats asked for (the preset's by default); unknown ones refused as a usage error, before
    any report runs."""
    from perfkit.reports.formats import parse_formats

    try:
        return parse_formats(formats, preset)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _read_ids(path: str) -> list[str]:
    """The subject ids of an --ids file (UTF-8, one or more per line), or a clear refusal naming the file."""
    try:
        return Path(path).read_text(encoding="utf-8-sig").split()
    except FileNotFoundError:
        raise DataError(Problem(path, reason("ids_missing"))) from None
    except UnicodeDecodeError as exc:
        line = Path(path).read_bytes()[:exc.start].count(b"\n") + 1
        raise DataError(Problem(path, reason("ids_not_utf8"), row=line)) from None
    except OSError as exc:
        raise DataError(Problem(path, reason("ids_unreadable", error=exc.strerror or str(exc)))) from None


def _cmd_load(args) -> int:
    from perfkit.store import default_store_path, load_store

    path = args.store or default_store_path()
    # validates first; readers are never blocked; a second load at once waits --wait seconds or is refused
    counts = load_store(path, args.dir, encoding=args.encoding, wait=args.wait)
    print(f"loaded into {path}:")
    for table, n in counts.items():
        print(f"  {table:<14} {n:>8,} rows")
    return 0


def _cmd_tables(args) -> int:
    from perfkit.queries import row_counts
    from perfkit.store import Store

    with Store(_existing_store(args.store), read_only=True) as store:
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
        raise UsageError(f"perfkit report {job.name}: {' and '.join(missing)} required")
    for name in job.paths:
        # a path is named relative to where the user is; the kernel may start elsewhere
        value = parameters.get(name)
        if isinstance(value, str) and (name != "preset" or value.endswith((".yaml", ".yml"))):
            parameters[name] = str(Path(value).resolve())
    store = str(Path(_existing_store(args.store)).resolve())
    _check_formats(args.formats, parameters.get("preset"))
    report = run_report(job.name, {**parameters, "store": store}, output_dir=args.output_dir, lang=args.lang,
                        formats=args.formats, evaluating_body=args.evaluating_body,
                        document_number=args.document_number)
    for path in report.outputs.values():
        print(path)
    return 0


def _cmd_batch(args) -> int:
    from perfkit.reports import get_job
    from perfkit.reports.registry import BATCH_FILTERS
    from perfkit.reports.warm import ENGINE as WARM
    from perfkit.reports.warm import prestart, shutdown_all

    job = get_job(args.job)
    if args.scheduler and not re.fullmatch(r"(tcp|tls|inproc|ucx)://[^\s/]+", args.scheduler):
        raise UsageError(f"--scheduler {args.scheduler}: give the Dask scheduler's address, e.g. tcp://host:8786")
    given = {name: getattr(args, name) for name in (*BATCH_FILTERS, "as_of")}
    for name in job.batch.required:
        if given.get(name) is None:
            raise UsageError(f"perfkit batch {job.name}: --{name.replace('_', '-')} required")
    takes = (*job.batch.filters, *job.batch.options)
    for name, value in given.items():
        if value is not None and name not in takes:
            accepted = ", ".join(f"--{n.replace('_', '-')}" for n in takes if n != "preset") or "--all, --ids, --where"
            raise UsageError(f"perfkit batch {job.name}: --{name.replace('_', '-')} does not apply to this job "
                             f"(it takes {accepted})")
    if not (args.all or args.ids or args.where or any(given.get(name) is not None for name in job.batch.filters)):
        chosen = ", ".join(["--all", "--ids FILE", *(f"--{n.replace('_', '-')}" for n in job.batch.filters), "--where"])
        raise UsageError(f"perfkit batch {job.name}: choose the subjects ({chosen})")
    formats = _check_formats(args.formats, args.preset)
    ids = _read_ids(args.ids) if args.ids else None
    store = _existing_store(args.store, schema=False)
    warm = not (args.fresh_kernels or args.scheduler)
    if warm:
        # the arguments are good: the kernels start now, and import the job's modules, while this process
        # imports pandas, papermill and nbconvert, checks the store's tables and selects the subjects (their
        # start-up was 2 s before the first report began)
        workers = args.jobs or os.cpu_count() or 1
        prestart([job.name], n=min(workers, len(ids)) if ids else workers, pdf="pdf" in formats)
    try:
        _check_schema(store)
        from perfkit.reports.batch import batch

        outcomes = batch(args.job, args.store, ids=ids, year=args.year, field=args.field,
                         unit_level=args.unit_level, where=args.where, as_of=args.as_of, preset=args.preset,
                         output_dir=args.output_dir, lang=args.lang, formats=args.formats, jobs=args.jobs,
                         resume=args.resume, timeout=args.timeout, engine=None if args.fresh_kernels else WARM,
                         scheduler=args.scheduler)
    finally:
        if warm:
            shutdown_all()      # kernels that a refused store or an empty selection left untaken
    counts = {status: sum(o.status == status for o in outcomes) for status in ("done", "skipped", "failed")}
    print(f"{len(outcomes)} reports: {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed "
          f"(manifest: {Path(args.output_dir).resolve() / 'manifest.csv'})")
    for outcome in outcomes:
        if outcome.status == "failed":
            print(f"  failed: {outcome.subject}: {outcome.error.splitlines()[0][:200]}")
    return EXIT_REPORT if counts["failed"] else 0


def _cmd_demo(args) -> int:
    from perfkit.reports.warm import prestart

    # the report kernels start first, and import pandas, perfkit and WeasyPrint while this process imports
    # the same and writes the city; run_demo names its jobs to them once it has imported them
    prestart(pdf=True)
    from perfkit.reports.demo import run_demo

    reports = run_demo(data_dir=args.data_dir, store_path=args.store or "data/perfkit.duckdb",
                       output_dir=args.output_dir, seed=args.seed, lang=args.lang)
    print(f"\n{len(reports)} reports in {Path(args.output_dir).resolve()} (index.html lists them):")
    for report in reports:
        print(f"  {report.outputs.get('html')}")
    return 0


def _cmd_standards(args) -> int:
    from perfkit.quota.standards import build_all_standards
    from perfkit.store import Store

    with Store(_existing_store(args.store)) as store:
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
    from perfkit.evaluation import key_evaluations
    from perfkit.workbooks import results_application_workbook
    from perfkit.store import Store

    with Store(_existing_store(args.store), read_only=True) as store:
        evaluated = key_evaluations(store, args.year, args.preset)
    if evaluated.empty:
        print(f"perfkit: no project of {args.year} has an expert panel: nothing to apply", file=sys.stderr)
        return EXIT_DATA
    applied = apply_results(evaluated, args.preset)
    path = results_application_workbook(applied, args.output or f"reports/results_application_{args.year}.xlsx",
                                        args.lang, args.preset)
    _print_summary(results_summary(applied), "workbooks.results", args.lang, money=("budget", "recommended", "cut"),
                   percent=("cut_rate",))
    print(f"\nwritten to {path}")
    return 0


def _cmd_exante(args) -> int:
    from perfkit.exante import exante_summary
    from perfkit.exante import exante_portfolio
    from perfkit.workbooks import exante_workbook
    from perfkit.store import Store

    with Store(_existing_store(args.store), read_only=True) as store:
        assessed = exante_portfolio(store, args.year, args.preset)
    if assessed.empty:
        print("perfkit: no requests to assess", file=sys.stderr)
        return EXIT_DATA
    path = exante_workbook(assessed, args.output, args.lang, args.preset)
    _print_summary(exante_summary(assessed), "workbooks.exante", args.lang, money=("requested", "approved"),
                   percent=("cut_rate",))
    print(f"\nwritten to {path}")
    return 0


def _cmd_monitor(args) -> int:
    from perfkit.monitoring import monitor
    from perfkit.reports.monitoring import headline_text
    from perfkit.store import Store

    with Store(_existing_store(args.store), read_only=True) as store:
        monitored = monitor(store, args.as_of, args.preset, unit=args.unit)
    path = monitored.to_excel(args.output or f"reports/monitoring_{args.as_of}.xlsx", args.lang)
    print(headline_text(monitored, args.lang))
    _print_summary(monitored.summary().rename(index=lambda a: value_label("action", a, args.lang)), "workbooks.monitoring",
                   args.lang, money=("budget",))
    print(f"\nwritten to {path}")
    return 0


def _print_summary(frame, headers: str, lang: str, money=(), percent=()) -> None:
    """A summary on the console as a reader wants it: 万元 with separators, percentages, labelled headers."""
    import pandas as pd

    shown = frame.rename(index={"total": text("common.total", lang), "draft": text("common.draft", lang)}).copy()
    shown.index = [text("common.draft", lang) if pd.isna(label) else label for label in shown.index]
    for column in money:
        shown[column] = shown[column].map(lambda v: "—" if pd.isna(v) else f"{v / 1e4:,.2f}")
    for column in percent:
        shown[column] = shown[column].map(lambda v: "—" if pd.isna(v) else f"{v:.1%}")
    names = {k: v.replace("（元）", "（万元）").replace("(yuan)", "(10k yuan)") for k, v in texts(headers, lang).items()}
    print(shown.rename(columns=names).to_string())


def _read_expert_ids(path: str) -> list[str]:
    """--experts FILE: expert ids one per line (a text file; an expert_id/专家编码 header line is skipped), or
    the expert_id column of a .csv/.xlsx table."""
    import pandas as pd

    from perfkit.io import EXCEL_SUFFIXES, read_cells
    from perfkit.text import catalogue

    if Path(path).suffix.lower() not in EXCEL_SUFFIXES + (".csv",):
        return [line for line in _read_ids(path) if line.lower() not in {"expert_id", "专家编码"}]
    frame = read_cells(path, table="experts")
    label = catalogue()["tables"]["experts"]["columns"]["expert_id"]
    names = {"expert_id", label["zh"].lower(), label["en"].lower()}
    column = next((c for c in frame.columns if str(c).strip().lower() in names), None)
    if column is None:
        raise DataError(Problem(path, reason("column_missing", column="expert_id")))
    return [str(v).strip() for v in frame[column] if not pd.isna(v) and str(v).strip()]


def _cmd_panel_sheets(args) -> int:
    from perfkit.sheets import conflicts, write_sheets
    from perfkit.store import Store

    experts = _read_expert_ids(args.experts) if args.experts else None
    with Store(_existing_store(args.store), read_only=True) as store:
        written = write_sheets(store, args.project, args.output_dir, experts=experts, preset=args.preset,
                               lang=args.lang)
        recused = conflicts(store, args.project) if experts is None else {}
    print(text("cli.sheets_written", args.lang, n=len(written), project=args.project, folder=args.output_dir))
    for path in written:
        print(f"  {path.name}")
    for expert, why in recused.items():
        print(text("cli.sheets_recused", args.lang, expert=expert, why=text(f"cli.conflict_{why}", args.lang)))
    return 0


def _cmd_panel_collect(args) -> int:
    from perfkit.sheets import collect_sheets

    outcome = collect_sheets(args.dir, _existing_store(args.store), preset=args.preset, wait=args.wait)
    for project, experts in outcome.loaded.items():
        print(text("cli.sheets_loaded", args.lang, project=project, n=len(experts), experts="、".join(experts)))
        if outcome.missing.get(project):
            print(text("cli.sheets_missing", args.lang, project=project, experts="、".join(outcome.missing[project])))
    if outcome.problems:
        refused = sorted(outcome.refused)
        if refused:
            print(text("cli.sheets_refused", args.lang, projects="、".join(refused)), file=sys.stderr)
        raise DataError(outcome.problems)
    return 0


def _cmd_templates(args) -> int:
    from perfkit.schema import TABLES
    from perfkit.templates import write_templates

    unknown = [t for t in args.tables or [] if t not in TABLES]
    if unknown:
        raise UsageError(text("cli.unknown_tables", args.lang, tables=", ".join(unknown), known=", ".join(TABLES)))
    written = write_templates(args.dir, args.tables or None, lang=args.lang)
    print(text("cli.templates_written", args.lang, n=len(written), folder=args.dir))
    return 0


def _cmd_bundle(args) -> int:
    if not Path(args.dir).is_dir():
        raise UsageError(text("cli.no_folder", args.lang, folder=args.dir))
    from perfkit.reports.bundle import bundle

    made = bundle(args.dir, args.output, title=args.title, lang=args.lang, job=args.job)
    failed = text("cli.bundle_failed", args.lang, n=len(made.failed)) if made.failed else ""
    print(text("cli.bundle_written", args.lang, reports=len(made.reports), drafts=len(made.drafts),
               pages=made.pages, pdf=made.pdf, workbook=made.workbook, failed=failed))
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


class _WholeWords(argparse.HelpFormatter):
    """Help text wrapped between words only: a job's name (self-evaluation) is never split at its hyphen."""

    def _split_lines(self, text, width):
        import textwrap

        return textwrap.wrap(self._whitespace_matcher.sub(" ", text).strip(), width, break_on_hyphens=False)


def _jobs_to_build(argv: list[str]) -> list:
    """The jobs whose ``perfkit report JOB`` parsers this command line needs: none unless the command is
    ``report``; only the named job when it names one (its module alone is imported and its notebook alone
    inspected), every job for ``perfkit report --help``."""
    from perfkit.reports.registry import get_job, job_names, jobs

    words = [w for w in argv if not w.startswith("-")]
    if not words or words[0] != "report":
        return []
    if len(words) > 1 and words[1] in job_names():
        return [get_job(words[1])]
    return list(jobs().values())


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
        described = " / ".join(words for words in (spec.get("help"), spec.get("help_en")) if words)
        needed = " (required)" if any(group == (name,) for group in job.required_groups) else ""
        if kind is None:  # a boolean parameter: --name / --no-name
            p.add_argument(*flags, dest=name, default=default, action=argparse.BooleanOptionalAction,
                           help=f"{described}{shown}")
        else:
            p.add_argument(*flags, dest=name, default=default, type=kind, metavar=name.upper(),
                           help=f"{described}{shown}{needed}".replace("%", "%%"))
        names.append(name)
    p.add_argument("--format", dest="formats", default=None, metavar="FORMATS",
                   help="html, pdf and/or docx, comma-separated (default: the preset's report.formats, html,pdf)")
    p.add_argument("--evaluating-body", default=None, help="the title page's evaluating body (default: the preset's)")
    p.add_argument("--document-number", default=None, help="the title page's document number (default: the preset's)")
    p.add_argument("--output-dir", default="reports", help="where the report goes (default reports)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    _add_store(p)
    _add_debug(p)
    p.set_defaults(func=_cmd_report, notebook_parameters=names)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser of every perfkit command.

    Parameters
    ----------
    argv : list of str, optional
        The command line to be parsed: only the report jobs it needs get their parsers (each job's options
        come from its notebook, which is read only when that job is asked for). None builds every job's.
    """
    from perfkit.reports.registry import job_names

    parser = argparse.ArgumentParser(prog="perfkit", description="perfkit: budget performance evaluation "
                                     "workbench (预算绩效管理). Every command has --help.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="generate the demo city, load it and write its reports (HTML, PDF) and workbooks (.xlsx)",
                       description="Generate the demo city, load it into the store and write its reports.")
    p.add_argument("--seed", type=int, default=0, help="seed of the demo city (default 0)")
    p.add_argument("--data-dir", default="data/demo", help="where the demo CSVs go (default data/demo)")
    p.add_argument("--output-dir", default="reports", help="where reports go (default reports)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    _add_store(p)
    _add_debug(p)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("demo-data", help="write the demo city as one CSV per table",
                       description="Write the deterministic demo city as <table>.csv files (UTF-8 with BOM).")
    p.add_argument("--dir", default="data/demo", help="output folder (default data/demo)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    _add_debug(p)
    p.set_defaults(func=_cmd_demo_data)

    p = sub.add_parser("load", help="validate a folder of table files and load it, all or nothing",
                       description="Validate every <table>.csv|.xlsx|.parquet in DIR, then load them into "
                                   "the store in one transaction: all or nothing.")
    p.add_argument("dir", help="folder of table files")
    p.add_argument("--encoding", default=None, help="CSV encoding (default: UTF-8, then GBK/GB18030)")
    _add_wait(p)
    _add_lang(p, "language of the problems found (default zh)")
    _add_store(p)
    _add_debug(p)
    p.set_defaults(func=_cmd_load)

    p = sub.add_parser("tables", help="list the store's tables and row counts",
                       description="List the tables in the store with their row counts.")
    _add_lang(p, "language of messages (default zh)")
    _add_store(p)
    _add_debug(p)
    p.set_defaults(func=_cmd_tables)

    p = sub.add_parser("report", help="run a report notebook through papermill into HTML, PDF and/or DOCX",
                       description="Run a job's parameterised notebook through papermill and export it to HTML "
                                   "(code hidden) in the output folder. Each job's options are its notebook's "
                                   "parameters: `perfkit report JOB --help`.")
    jobs_parsers = p.add_subparsers(dest="job", required=True, metavar="JOB")
    for job in _jobs_to_build(["report"] if argv is None else argv):
        _add_job_parser(jobs_parsers, job)

    p = sub.add_parser("batch", help="run one report job for many subjects (HTML, PDF and/or DOCX, and manifest.csv/.json)",
                       formatter_class=_WholeWords,
                       description="Run a report job for every subject selected from the store, several at a "
                                   "time: each failure is recorded and the others go on; manifest.csv/.json "
                                   "beside the reports; --resume skips what is done and unchanged.")
    names = job_names()
    p.add_argument("job", choices=names, metavar="JOB", help="the report job: " + ", ".join(names))
    p.add_argument("--all", action="store_true", help="every subject of the job")
    p.add_argument("--ids", help="a file of subject ids (project, unit, request or direction), one per line")
    p.add_argument("--year", type=int, help="fiscal year (the subjects' year; required for self-evaluation; "
                                            "the years compared for comparison)")
    p.add_argument("--as-of", type=_iso_date, help="monitoring date, YYYY-MM-DD (required for monitoring, "
                                                   "one report per unit)")
    p.add_argument("--field", help="the units' field code (education, health, ...)")
    p.add_argument("--unit-level", type=int, choices=(1, 2), help="first- or second-level units only")
    p.add_argument("--where", help="an SQL condition on the subject's row (the tables' aliases: f project facts, "
                                   "u units, r requests, c cost records, fi findings)")
    p.add_argument("--preset", default=None, help="rule preset (default default)")
    p.add_argument("--format", dest="formats", default=None, help="html, pdf and/or docx (default: the preset's)")
    p.add_argument("--jobs", type=_positive_int, default=None, help="reports at a time (default: the number of cores)")
    p.add_argument("--resume", action="store_true", help="skip reports that are done and whose inputs are unchanged")
    p.add_argument("--timeout", type=_positive_seconds, default=None,
                   help="seconds a notebook cell may run (default: no limit)")
    p.add_argument("--fresh-kernels", action="store_true",
                   help="a new kernel for every report (default: one warm kernel per worker, reset between reports)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run the reports on a Dask cluster (its workers keep warm kernels; files come back here)")
    p.add_argument("--output-dir", default="reports", help="where the reports go (default reports)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    _add_store(p)
    _add_debug(p)
    p.set_defaults(func=_cmd_batch)

    p = sub.add_parser("standards", help="build the quota standards of every direction with cost records (store and .xlsx workbook)",
                       description="Build the quota standards of every direction with cost records, save them in "
                                   "the store (table quota_standards) and write a formatted Excel workbook.")
    p.add_argument("--method", default="auto", choices=("auto", *METHODS),
                   help="quota method (default auto: the preset's advanced-and-reasonable choice per direction)")
    p.add_argument("--preset", default="default", help="rule preset (default default)")
    p.add_argument("--base-year", type=int, default=None, help="price base year (default: latest)")
    p.add_argument("--output", default="reports/quota_standards.xlsx", help="the Excel workbook to write")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="workbook language (default zh)")
    _add_store(p)
    _add_debug(p)
    p.set_defaults(func=_cmd_standards)

    p = sub.add_parser("results-application",
                       help="key-evaluate a year's panel projects and turn their ratings into next year's budgets (.xlsx)",
                       description="Evaluate every project of YEAR with an expert panel, apply the preset's results "
                                   "application (中 → budget cut 10%, 差 → no budget) and write a workbook.")
    p.add_argument("--year", type=int, required=True, help="fiscal year evaluated")
    p.add_argument("--preset", default="default", help="rule preset (default default)")
    p.add_argument("--output", default=None, help="workbook path (default reports/results_application_YEAR.xlsx)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="workbook language (default zh)")
    _add_store(p)
    _add_debug(p)
    p.set_defaults(func=_cmd_results_application)

    p = sub.add_parser("ex-ante", help="assess every new project request and write the portfolio workbook (.xlsx)",
                       description="Assess every request in the store against its quota standards (run "
                                   "`perfkit standards` first) and write the portfolio: requested, approved, cut rate.")
    p.add_argument("--year", type=int, default=None, help="budget year of the requests (default: all)")
    p.add_argument("--preset", default="default", help="rule preset (default default)")
    p.add_argument("--output", default="reports/ex_ante_assessments.xlsx", help="workbook path")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="workbook language (default zh)")
    _add_store(p)
    _add_debug(p)
    p.set_defaults(func=_cmd_exante)

    p = sub.add_parser("monitor", help="monitor every project as of a date and write the workbook (.xlsx)",
                       description="Double monitoring as of a date: execution against the city's typical path, "
                                   "forecasts, lights and actions, for every project of that year.")
    p.add_argument("--as-of", required=True, type=_iso_date, help="monitoring date, YYYY-MM-DD")
    p.add_argument("--unit", default=None, help="one unit_id (default: the whole city)")
    p.add_argument("--preset", default="default", help="rule preset (default default)")
    p.add_argument("--output", default=None, help="workbook path (default reports/monitoring_DATE.xlsx)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="workbook language (default zh)")
    _add_store(p)
    _add_debug(p)
    p.set_defaults(func=_cmd_monitor)

    p = sub.add_parser("panel", help="the expert panel's scoring sheets: write them out, collect them back",
                       description="Scoring sheets out to each expert of a project's panel, and the returned "
                                   "sheets checked and loaded into expert_scores.")
    panel = p.add_subparsers(dest="panel_command", required=True, metavar="STEP")
    q = panel.add_parser("sheets", help="write one scoring workbook per expert of the project's panel",
                         description="Write one .xlsx scoring sheet per expert on the project's panel "
                                     "(panel_assignments), without those in conflict of interest.")
    q.add_argument("--project", required=True, help="the project to score (project_id)")
    q.add_argument("--experts", default=None, metavar="FILE",
                   help="only these experts of the panel: a file of expert ids, one per line, or a .csv/.xlsx "
                        "with an expert_id column")
    q.add_argument("--output-dir", required=True, help="where the workbooks go")
    q.add_argument("--preset", default="default", help="rule preset whose expert items are scored (default: default)")
    _add_lang(q, "language of the sheets (default zh)")
    _add_store(q)
    _add_debug(q)
    q.set_defaults(func=_cmd_panel_sheets)
    q = panel.add_parser("collect", help="check the returned scoring sheets and load them, all or nothing per project",
                         description="Read every returned workbook in DIR, check each cell, and load the scores "
                                     "of each project whose sheets are all valid into expert_scores (replacing "
                                     "that project's scores; the replaced ones go to expert_scores_log).")
    q.add_argument("dir", help="folder of returned scoring sheets (.xlsx)")
    q.add_argument("--preset", default="default", help="rule preset the sheets were issued under (default: default)")
    _add_wait(q)
    _add_lang(q, "language of the problems found (default zh)")
    _add_store(q)
    _add_debug(q)
    q.set_defaults(func=_cmd_panel_collect)

    p = sub.add_parser("templates", help="write an Excel import template per table (headers, notes, drop-downs)",
                       description="Write <table>.xlsx import templates into DIR: headers in the chosen language, "
                                   "a notes sheet on each column, drop-downs for coded columns. A filled "
                                   "template loads with perfkit load DIR.")
    p.add_argument("dir", help="where the templates go")
    p.add_argument("--tables", nargs="+", default=None, metavar="TABLE", help="only these tables (default: all)")
    _add_lang(p, "language of headers and notes (default zh)")
    _add_debug(p)
    p.set_defaults(func=_cmd_templates)

    p = sub.add_parser("bundle", help="merge the PDF reports of a folder into one submission (cover, contents, "
                                      "bookmarks, page numbers) with a summary workbook",
                       description="Merge the PDFs a batch or the demo wrote in DIR, in the order of its index, into "
                                   "one PDF: a cover, a table of contents with page numbers, a bookmark per report "
                                   "and page numbers through the whole; a summary workbook (.xlsx) beside it. "
                                   "Drafts and failed reports are listed, never left out silently.")
    p.add_argument("dir", help="the report folder (its index.json and manifest.json)")
    p.add_argument("--output", required=True, help="the bundle's PDF (its workbook goes beside it, .xlsx)")
    p.add_argument("--title", default=None, help="the cover's title (default: 绩效评价报告汇编)")
    p.add_argument("--job", default=None, help="bind only the reports of this job (e.g. department-evaluation)")
    _add_lang(p, "language of the cover, contents and workbook (default zh)")
    _add_debug(p)
    p.set_defaults(func=_cmd_bundle)

    p = sub.add_parser("data-dictionary", help="write the data dictionary (data/README.md)",
                       description="Generate the data dictionary from the schemas and the label catalogue.")
    p.add_argument("--output", default="data/README.md", help="output file, or - for stdout")
    _add_debug(p)
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


#: Exit codes: 2 a malformed command line, 3 bad or missing data, 4 a report that failed; 1 anything else.
EXIT_USAGE, EXIT_DATA, EXIT_REPORT, EXIT_OTHER = 2, 3, 4, 1


def explain(exc: BaseException, lang: str = "zh", store: str | None = None) -> tuple[int, str]:
    """The exit code and the message (in ``lang``) of an exception that ends a command."""
    import duckdb

    if isinstance(exc, UsageError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, DataError):
        problems = exc.problems
        if len(problems) == 1 and problems[0].row is None:
            # one problem of a whole file or store: one line (a message that names its file already is as it is)
            said = problems[0].text(lang)
            return EXIT_DATA, said if problems[0].file in said else problems[0].render(lang)
        return EXIT_DATA, f"{text('cli.bad_input', lang)}\n{exc.render(lang)}"
    if isinstance(exc, ReportError):
        return EXIT_REPORT, str(exc)
    if isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower():
        return EXIT_DATA, text("cli.store_locked", lang, path=store or "")
    if isinstance(exc, (FileNotFoundError, KeyError)):
        return EXIT_DATA, str(exc.args[0] if exc.args else exc)
    if isinstance(exc, ValueError):
        return EXIT_DATA, str(exc)
    return EXIT_OTHER, text("cli.unexpected", lang, error=f"{type(exc).__name__}: {exc}")


def _skip_iri_grammar() -> None:
    """Keep this command's process from compiling an IRI grammar it never uses.

    nbformat validates notebooks with jsonschema, whose format checker imports ``rfc3987_syntax`` when it is
    installed (jupyterlab's dependencies install it); that package builds some 35 Earley parsers at import,
    1.5 s of every report command's start-up (python-jsonschema/jsonschema#1428). Notebook schemas have no
    ``iri`` format, so jsonschema without it (its documented behaviour when the package is absent) validates
    them the same. Only the ``perfkit`` command does this, in its own process, and only before anything
    has imported the package.
    """
    sys.modules.setdefault("rfc3987_syntax", None)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``perfkit`` command: one clear line on failure (the traceback with ``--debug``)."""
    _skip_iri_grammar()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    _log_to_console()
    lang = getattr(args, "lang", "zh") or "zh"
    try:
        code = args.func(args)
        sys.stdout.flush()     # a reader that stopped reading shows here, where it is handled, not at exit
        return code
    except KeyboardInterrupt:
        print(f"perfkit: {text('cli.interrupted', lang)}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader stopped reading (`perfkit tables | head`): end quietly, as Python's documentation advises
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line and an exit code
        if getattr(args, "debug", False):
            import traceback
            traceback.print_exc()
        code, message = explain(exc, lang, getattr(args, "store", None))
        print(f"perfkit: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
