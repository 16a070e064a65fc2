"""The layout's promises: a wheel that works outside the checkout, light report kernels, typed presets,
a CLI built from the notebooks, and one text catalogue for both languages."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import perfkit
from perfkit.exante import assess
from perfkit.reports import get_job, jobs
from perfkit.reports.ex_ante import ExAnteView
from perfkit.rules import load_preset

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


# -- layout ----------------------------------------------------------------------------------------
def test_one_module_per_job_named_after_its_notebook():
    registered = jobs()
    assert list(registered) == ["project-overview", "key-evaluation", "self-evaluation", "department-evaluation",
                                "ex-ante", "department-targets", "monitoring", "quota-standards", "portrait",
                                "comparison", "problem-cases"]
    for job in registered.values():
        module = job.notebook.removesuffix(".ipynb")
        assert (ROOT / "perfkit" / "reports" / f"{module}.py").exists(), module
        assert job.notebook_path.exists()
        source = job.notebook_path.read_text(encoding="utf-8")
        assert f"from perfkit.reports.{module} import" in source       # the notebook uses its own job module


def test_top_level_notebooks_and_templates_are_the_packaged_ones():
    assert (ROOT / "notebooks").resolve() == (ROOT / "perfkit" / "reports" / "notebooks").resolve()
    assert (ROOT / "templates").resolve() == (ROOT / "perfkit" / "reports" / "templates").resolve()


def test_report_kernels_do_not_import_papermill_or_nbconvert():
    code = ("import sys, perfkit.reports.key_evaluation, perfkit.reports.monitoring, perfkit.reports.ex_ante, "
            "perfkit.reports.self_evaluation, perfkit.reports.project_overview, perfkit.reports.quota_standards, "
            "perfkit.reports.portrait, perfkit.reports.comparison, perfkit.reports.problem_cases;"
            "print(sorted(m for m in ('papermill', 'nbconvert', 'nbformat', 'nbclient', 'jsonschema') "
            "if m in sys.modules))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"


def test_version_is_written_once():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject and not re.search(r'^version\s*=\s*"', pyproject, re.M)
    from importlib.metadata import version
    assert version("perfkit") == perfkit.__version__


# -- typed presets: the two bugs of a renamed preset ------------------------------------------------------
RENAMED = """
extends: default
name: renamed
labels: {en: {否决: Rejected, 经济性: Economy}}
exante:
  dimensions:
    economy: {points: 30, name: 经济性}
    financing: {points: 10, name: 筹资合规性}
  conclusions:
    - {conclusion: 予以支持, min_score: 80, max_cut_rate: 0.10, approves: true}
    - {conclusion: 调整后支持, min_score: 60, max_cut_rate: 1.0, approves: true}
    - {conclusion: 否决, min_score: 0, max_cut_rate: 1.0, approves: false}
"""


@pytest.fixture
def renamed_preset(tmp_path):
    path = tmp_path / "renamed.yaml"
    path.write_text(RENAMED, encoding="utf-8")
    return load_preset(path)


def _request(**changes):
    return {"request_id": "R1", "name": "道路养护", "amount": 1e6, "direction": "D1", "quantity": None,
            "targets": [], **changes}


def test_a_renamed_reject_conclusion_approves_nothing(renamed_preset):
    low = {"necessity": 10, "feasibility": 10, "financing": 10, "economy": 10}
    result = assess(_request(), None, low, renamed_preset)   # judged poorly: the lowest conclusion
    assert result.conclusion == "否决"
    assert not result.approves and result.approved_amount == 0.0
    assert result.suggested_amount == 1e6


def test_dimension_table_shows_the_presets_own_points(renamed_preset):
    result = assess(_request(), None, {"necessity": 80, "feasibility": 80, "financing": 100}, renamed_preset)
    table = ExAnteView(result).dimension_table()
    assert table.loc["经济性", "分值"] == 30 and table.loc["筹资合规性", "分值"] == 10
    assert not table.isna().any().any()
    english = ExAnteView(result, lang="en").dimension_table()
    assert english.loc["Economy", "Points"] == 30


def test_a_renamed_execution_block_is_scored_by_execution(tmp_path, demo_store):
    from perfkit import evaluation as ev
    path = tmp_path / "blocks.yaml"
    path.write_text("extends: default\nself_evaluation:\n  weights: {预算执行率: null, 执行: 10}\n"
                    "  execution_block: 执行\n", encoding="utf-8")
    unit = demo_store.query("SELECT unit_id FROM units WHERE level = 1 ORDER BY unit_id LIMIT 1")["unit_id"].iloc[0]
    renamed = ev.self_evaluate(demo_store, unit, 2025, path).projects
    default = ev.self_evaluate(demo_store, unit, 2025).projects
    pd.testing.assert_series_equal(renamed["score_执行"], default["score_预算执行率"], check_names=False)
    pd.testing.assert_series_equal(renamed["total"], default["total"])


def test_execution_block_must_have_a_weight(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("extends: default\nself_evaluation:\n  execution_block: 执行率\n", encoding="utf-8")
    with pytest.raises(perfkit.DataError, match="execution_block '执行率' has no weight"):
        load_preset(path)


def test_extends_is_relative_to_the_presets_folder(tmp_path, monkeypatch):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "base.yaml").write_text("extends: default\nname: base\n", encoding="utf-8")
    (tmp_path / "rules" / "mine.yaml").write_text("extends: base.yaml\nname: mine\n", encoding="utf-8")
    monkeypatch.chdir(ROOT)                                      # not the presets' folder
    assert load_preset(tmp_path / "rules" / "mine.yaml").name == "mine"
    (tmp_path / "rules" / "orphan.yaml").write_text("extends: gone.yaml\n", encoding="utf-8")
    with pytest.raises(perfkit.DataError, match="gone.yaml.*named by 'extends' in .*orphan.yaml"):
        load_preset(tmp_path / "rules" / "orphan.yaml")


def test_a_loaded_preset_cannot_be_changed():
    preset = load_preset()
    with pytest.raises(Exception):
        preset.monitoring.stall_months = 1
    assert load_preset() is preset                                # loaded once, shared


# -- the CLI is built from the notebooks ------------------------------------------------------------------
def test_report_options_come_from_the_notebook(tmp_path, monkeypatch, capsys):
    from perfkit.cli import main
    import shutil
    for other in get_job("quota-standards").notebook_path.parent.glob("*.ipynb"):
        shutil.copy(other, tmp_path)
    source = get_job("quota-standards").notebook_path
    notebook = json.loads(source.read_text(encoding="utf-8"))
    cell = next(c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    cell["source"] = "".join(cell["source"]) + '\nmin_records: int = 30  # fewest records a standard rests on\n'
    (tmp_path / source.name).write_text(json.dumps(notebook), encoding="utf-8")
    monkeypatch.setenv("PERFKIT_NOTEBOOKS", str(tmp_path))
    with pytest.raises(SystemExit):
        main(["report", "quota-standards", "--help"])
    shown = capsys.readouterr().out
    assert "--min-records MIN_RECORDS" in shown and "fewest records a standard rests on (default 30)" in shown
    assert "--direction DIRECTION" in shown and "--base-year BASE_YEAR" in shown


def test_report_requires_its_subject(capsys):
    from perfkit.cli import main
    assert main(["report", "ex-ante"]) == 2                          # a usage error: exit 2, one line
    assert "--request or --request-file required" in capsys.readouterr().err
    assert main(["report", "key-evaluation"]) == 2
    assert "--project required" in capsys.readouterr().err


# -- one text catalogue, two languages ----------------------------------------------------------------
class _VisibleText(HTMLParser):
    """The text a reader sees in an HTML report (no scripts, styles or markup); with ``wording_only``, also
    without the provenance footer, which lists the run's parameters and paths verbatim."""

    def __init__(self, wording_only: bool = False):
        super().__init__()
        self.parts, self._skip = [], 0
        self.skipped = ("script", "style", "title", "footer") if wording_only else ("script", "style", "title")

    def handle_starttag(self, tag, attrs):
        self._skip += tag in self.skipped

    def handle_endtag(self, tag):
        self._skip -= tag in self.skipped

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str, wording_only: bool = False) -> str:
    parser = _VisibleText(wording_only)
    parser.feed(html)
    return " ".join(parser.parts)


def data_values(store) -> list[str]:
    """Every text value in the store (names, descriptions, units of measure, codes): data, not wording."""
    values = set()
    for table in store.tables():
        frame = store.table(table)
        for column in frame.columns:
            if frame[column].dtype == object or str(frame[column].dtype).startswith("string"):
                values.update(str(v) for v in frame[column].dropna().unique())
    return sorted(values, key=len, reverse=True)


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
#: Words a Chinese report may show: the product, and statistical names Chinese practice writes in Latin.
LATIN_ALLOWED = {"perfkit", "OLS", "RLM", "PPP", "Battese", "Coelli", "Duan", "CDN", "Kendall", "ICC", "DEA", "Horrace",
                 "Schmidt", "Malmquist", "Spearman"}   # method and author names
SUBJECTS = {"project-overview": "project", "key-evaluation": "panel_project", "self-evaluation": "unit",
            "department-evaluation": "unit", "department-targets": "unit",
            "ex-ante": "request", "monitoring": "as_of", "quota-standards": "direction"}


@pytest.fixture(scope="module")
def language_reports(job_reports, demo_store_path):
    """The visible text of one report of each job in each language, and the store's text values."""
    with perfkit.Store(demo_store_path, read_only=True) as store:
        values = data_values(store)
    return {key: visible_text(report.html.read_text(encoding="utf-8"), wording_only=True)
            for key, report in job_reports.items()}, values


def _without_data(text: str, values: list[str]) -> str:
    for value in values:   # longest first, so a name goes whole before its parts
        text = text.replace(value, " ")
    return text


@pytest.mark.notebook
@pytest.mark.parametrize("job", list(SUBJECTS))
def test_english_report_has_no_chinese_outside_data(language_reports, job):
    reports, values = language_reports
    left = _without_data(reports[job, "en"], values)
    assert not CJK.findall(left), f"{job}: {sorted(set(CJK.findall(left)))} in …" + \
        "".join(left[max(m.start() - 40, 0):m.start() + 40] + " … " for m in list(CJK.finditer(left))[:3])


@pytest.mark.notebook
@pytest.mark.parametrize("job", list(SUBJECTS))
def test_chinese_report_has_no_english_outside_data_and_units(language_reports, job):
    reports, values = language_reports
    left = re.sub(r"\b[0-9a-f]{16}\b", " ", _without_data(reports[job, "zh"], values))   # the data snapshot's hash
    words = {w for w in re.findall(r"[A-Za-z]{2,}", left)} - LATIN_ALLOWED
    assert not words, f"{job}: {sorted(words)}"


# -- the wheel, outside the checkout ---------------------------------------------------------------------
@pytest.mark.notebook
def test_wheel_runs_a_report_outside_the_checkout(tmp_path, demo_store, demo_store_path):
    """Build the wheel, install it into a fresh venv away from the checkout, and run one report there."""
    wheels = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(wheels), str(ROOT)], check=True, capture_output=True)
    wheel = next(wheels.glob("perfkit-*.whl"))
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies come from the test environment (installing them again would download ~400 MB);
    # perfkit itself comes from the wheel only: the checkout's editable hook is not processed from a .pth path
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                    str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFKIT_") and k != "PYTHONPATH"}
    # ... and so do their data files (nbconvert's base templates), which pip would put in the venv's share/
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    where = subprocess.run([str(python), "-c", "import perfkit, perfkit.reports as r; print(perfkit.__file__); "
                            "print(r.notebooks_dir()); print(r.templates_dir())"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(path.startswith(site) for path in where), where
    project_id = demo_store.query("SELECT min(project_id) FROM projects WHERE year = 2025").iloc[0, 0]
    done = subprocess.run([str(venv / "bin" / "perfkit"), "report", "project-overview", "--project", project_id,
                           "--store", str(demo_store_path), "--output-dir", "out"],
                          cwd=elsewhere, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    html = (elsewhere / "out" / f"project_overview_{project_id}.html").read_text(encoding="utf-8")
    assert "预算执行进度" in html and "perfkit-provenance" in html


# -- one declaration per job ---------------------------------------------------------------------------
def test_every_job_is_declared_once_batchable_and_listed_in_help(demo_store):
    from perfkit.cli import build_parser
    from perfkit.reports.batch import batch_subjects
    from perfkit.reports.registry import job_names
    registered = jobs()
    assert sorted(registered) == job_names()                     # found without importing, the same jobs
    batch_help = build_parser(["batch", "--help"])._subparsers._group_actions[0].choices["batch"].format_help()
    for name, job in registered.items():
        assert job.batch.parameter in job.parameters(), name     # a subject fills a notebook parameter
        assert set(job.batch.options.values()) <= set(job.parameters()), name
        assert callable(job.gather()), name
        assert re.search(rf"\b{re.escape(name)}\b", " ".join(batch_help.split())), name
        assert name in perfkit.reports.__doc__ and f"`{name}`" in (ROOT / "README.md").read_text(encoding="utf-8")
        options = {"year": 2025} if "year" in job.batch.required else {}
        assert batch_subjects(demo_store, name, **options), name  # the demo city has subjects of every job


def test_no_code_outside_the_registry_branches_on_a_job_name():
    from perfkit.reports.registry import job_names
    names = "|".join(re.escape(n) for n in job_names())
    pattern = re.compile(rf"""(==|!=|\bin\b)\s*\(?\s*["']({names})["']|["']({names})["']\s*(==|!=)""")
    for path in [ROOT / "perfkit" / "cli.py", ROOT / "perfkit" / "queries.py",
                 *(ROOT / "perfkit" / "reports").glob("*.py")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not pattern.search(line), f"{path.name}:{number}: {line.strip()}"


def test_a_batch_refuses_a_filter_its_job_does_not_take_and_asks_for_what_it_needs(demo_store_path, capsys):
    from perfkit.cli import main
    assert main(["batch", "quota-standards", "--field", "education", "--store", str(demo_store_path)]) == 2
    assert "--field" in capsys.readouterr().err
    assert main(["batch", "monitoring", "--field", "education", "--store", str(demo_store_path)]) == 2
    assert "--as-of" in capsys.readouterr().err


def test_the_command_line_names_its_commands_without_importing_a_job():
    code = ("import sys; from perfkit.cli import build_parser; build_parser(['--help']); "
            "build_parser(['batch', '--help']); "
            "print(sorted(m for m in sys.modules if m.startswith('perfkit.reports.') and m.count('.') == 2 "
            "and m.split('.')[-1] not in ('registry',)) + [m for m in ('pandas', 'papermill') if m in sys.modules])")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"


_PRESTART_PROBE = """
import json, os, sys
import perfkit.reports.warm as warm
def prestart(jobs_=(), n=None, kernel_name="python3", *, pdf=False):
    heavy = sorted(m for m in ("pandas", "papermill", "nbconvert", "nbformat", "nbclient")
                   if m in sys.modules and type(sys.modules[m]).__name__ != "_LazyModule")   # imported, not only named
    print(json.dumps({"jobs": list(jobs_), "n": n, "pdf": pdf, "imported": heavy}), flush=True)
    os._exit(0)        # the probe stops the batch here: no kernel, no report
warm.prestart = prestart
from perfkit.cli import main
print(json.dumps({"exit": main(sys.argv[1:])}), flush=True)
"""


def test_a_batch_starts_its_kernels_once_its_arguments_are_checked_and_before_the_heavy_imports(
        demo_store_path, tmp_path):
    """The kernels' start-up (2 s) overlaps this process's imports of pandas, papermill and nbconvert: the batch
    command prestarts them as soon as its arguments are good, and never for a refused command."""
    def batch(*arguments):
        run = subprocess.run([sys.executable, "-c", _PRESTART_PROBE, "batch", "key-evaluation", "--store",
                              str(demo_store_path), "--output-dir", str(tmp_path), *arguments],
                             capture_output=True, text=True)
        return json.loads(run.stdout.strip().splitlines()[-1])

    ids = tmp_path / "ids.txt"
    ids.write_text("P1\nP2\nP3\n", encoding="utf-8")
    assert batch("--all", "--format", "html,pdf", "--jobs", "2") == {
        "jobs": ["key-evaluation"], "n": 2, "pdf": True, "imported": []}
    assert batch("--ids", str(ids), "--format", "html", "--jobs", "4")["n"] == 3   # no more kernels than reports
    assert batch("--all", "--format", "xls") == {"exit": 2}                         # refused: no kernel started
    # fresh kernels (one per report) are not prestarted: these ids select nothing, and the batch says so (exit 3)
    assert batch("--ids", str(ids), "--fresh-kernels", "--format", "html") == {"exit": 3}


# -- one result contract -------------------------------------------------------------------------------
def _engine_results(store) -> dict:
    """One result of every engine on the demo city."""
    from perfkit import cases, comparison, department, evaluation, monitoring, portrait
    from perfkit.quota import build_standards
    pick = lambda sql: store.query(sql).iloc[0, 0]  # noqa: E731
    standards = build_standards(store.table("cost_records"), direction=pick("SELECT min(direction) FROM cost_records"))
    values = comparison.indicators_from_store(store, [2024, 2025], field=pick("SELECT min(field) FROM units"))
    first_request = pick("SELECT min(request_id) FROM requests")
    from perfkit.reports.ex_ante import exante_assessment
    return {
        "key evaluation": evaluation.evaluate(store, pick("SELECT min(project_id) FROM expert_scores")),
        "key evaluation (draft)": evaluation.evaluate(store, pick(
            "SELECT min(project_id) FROM projects WHERE year = 2025 AND project_id NOT IN "
            "(SELECT project_id FROM expert_scores)")),
        "self-evaluation": evaluation.self_evaluate(store, pick("SELECT min(unit_id) FROM units WHERE level = 1"),
                                                    2025),
        "department": department.evaluate(store, pick("SELECT min(unit_id) FROM units WHERE level = 1"), 2025),
        "department (draft)": department.evaluate(store, "U023", 2025),
        "department targets": department.target_tables(store, pick("SELECT min(unit_id) FROM units WHERE level = 1"),
                                                       2026),
        "ex-ante": exante_assessment(store, first_request).result,
        "monitoring": monitoring.monitor(store, "2026-08-31"),
        "standards": standards,
        "comparison": comparison.compare(values),
        "portrait": portrait.portrait(store, pick("SELECT min(unit_id) FROM projects")),
        "cases": cases.compile_cases(store),
    }


def test_every_engine_result_keeps_one_contract(demo_store, tmp_path):
    from perfkit.results import MISSING_COLUMNS, RECORD_KEYS, STATES, Result
    results = _engine_results(demo_store)
    for name, result in results.items():
        assert isinstance(result, Result), name
        assert isinstance(result.table, pd.DataFrame) and len(result.table), name
        assert isinstance(result.summary(), pd.DataFrame) and len(result.summary()), name
        assert isinstance(result.is_draft, bool), name
        assert tuple(result.missing.columns) == MISSING_COLUMNS, name
        assert result.missing["supplier"].notna().all(), name          # every kind of evidence has a supplier
        record = result.record()
        assert tuple(record) == RECORD_KEYS and record["status"] == ("draft" if result.is_draft else "final"), name
        if result.is_draft:
            assert record["score"] is None and record["rating"] is None and len(result.missing), name
        page = result._repr_html_()
        assert "<table" in page and "object at 0x" not in page and "Message(" not in page, name
        if hasattr(result, "to_excel"):
            path = result.to_excel(tmp_path / f"{name}.xlsx", lang="en")
            assert pd.read_excel(path, sheet_name=None), name
    assert results["key evaluation (draft)"].is_draft and not results["key evaluation"].is_draft
    assert set(results["key evaluation"].table["state"]) <= set(STATES)


def test_a_results_html_escapes_its_data(demo_store):
    from perfkit.results import frame_html
    page = frame_html(pd.DataFrame({"name": ["<script>alert(1)</script>"]}))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_estimators_fit_returns_self_and_results_come_from_a_function(demo_store):
    from perfkit.comparison import ComparisonResults, UnitComparison, compare, indicators_from_store
    field = demo_store.query("SELECT min(field) FROM units").iloc[0, 0]
    values = indicators_from_store(demo_store, [2024, 2025], field=field)
    model = UnitComparison()
    assert model.fit(values) is model and list(model.weights_.index) == model.indicators_
    results = compare(values)
    assert isinstance(results, ComparisonResults)
    pd.testing.assert_series_equal(results.weights, model.weights_)


def test_what_missing_evidence_does_is_decided_in_one_place():
    """``evidence.missing`` of the preset is read by perfkit.results.makes_draft only."""
    for path in (ROOT / "perfkit").rglob("*.py"):
        if path.name == "results.py" or "rules" in path.parts:
            continue
        assert "evidence.missing" not in path.read_text(encoding="utf-8"), path


# -- a command line that answers at once ---------------------------------------------------------------
_HELP = """
import sys
from perfkit.cli import build_parser
from perfkit.reports.registry import job_names
for name in job_names():
    try:
        build_parser(["report", name, "--help"]).parse_args(["report", name, "--help"])
    except SystemExit:
        pass
loaded = [m for m in ("pandas", "numpy", "papermill", "duckdb", "pandera", "statsmodels", "sklearn")
          if m in sys.modules and type(sys.modules[m]).__name__ != "_LazyModule"]
print("LOADED", loaded)
"""


def test_report_help_imports_no_engine_pandas_or_papermill(tmp_path):
    env = {**os.environ, "PERFKIT_CACHE": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", _HELP], capture_output=True, text=True, check=True, env=env)
            for _ in range(2)]
    assert "'papermill'" in runs[0].stdout                                  # the first reads the notebooks...
    assert runs[1].stdout.strip().splitlines()[-1] == "LOADED []"          # ...then nothing heavy is imported
    assert len(list((tmp_path / "cache" / "parameters").glob("*.json"))) == len(jobs())


def test_cached_parameters_are_papermills_and_follow_the_notebook(tmp_path, monkeypatch):
    import papermill
    monkeypatch.setenv("PERFKIT_CACHE", str(tmp_path / "cache"))
    job = get_job("monitoring")
    read = job.parameters()
    import perfkit.reports.parameters  # noqa: F401  (registers its translator: papermill reads `str | None`)
    inspected = papermill.inspect_notebook(str(job.notebook_path))
    assert {k: {f: v[f] for f in ("default", "inferred_type_name", "help")} for k, v in read.items()} \
        == {k: {f: dict(v)[f] for f in ("default", "inferred_type_name", "help")} for k, v in inspected.items()}
    assert "store" in read and read["store"]["inferred_type_name"] == "str | None"
    assert all(v["help_en"] and not re.search(r"[\u4e00-\u9fff]", v["help_en"]) for v in read.values())
    assert job.parameters() == read                                          # from the cache
    edited = json.loads(job.notebook_path.read_text(encoding="utf-8"))
    cell = next(c for c in edited["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell["source"] = "".join(cell["source"]) + '\nextra_option = "x"  # an option added by a bureau\n'
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for notebook in job.notebook_path.parent.glob("*.ipynb"):
        (folder / notebook.name).write_text(notebook.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / job.notebook).write_text(json.dumps(edited), encoding="utf-8")
    monkeypatch.setenv("PERFKIT_NOTEBOOKS", str(folder))
    assert "extra_option" in job.parameters() and "extra_option" not in read


def test_a_warm_kernel_runs_the_modules_a_job_made_lazy(monkeypatch):
    """The warm engine loads its job's modules for real, though a job module defers them (perfkit._lazy)."""
    import perfkit.reports.warm as warm
    from perfkit._lazy import lazy_module
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    lazy_module("colorsys")
    assert type(sys.modules["colorsys"]).__name__ == "_LazyModule"
    sent = []
    monkeypatch.setattr(warm, "_run", lambda km, code, **kw: sent.append(code))
    warm._import(object(), ["colorsys"], set())
    exec(sent[0], {})                                                        # what the kernel runs
    assert type(sys.modules["colorsys"]).__name__ != "_LazyModule" and sys.modules["colorsys"].rgb_to_hsv


def test_notebooks_speak_the_reports_language():
    """A notebook reads in Chinese (its default language) in JupyterLab, its English words in the cells'
    metadata; parameters are annotated as Python writes them (str | None), never as strings."""
    import nbformat

    from perfkit.reports.parameters import localise
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for job in jobs().values():
        notebook = nbformat.read(str(job.notebook_path), as_version=4)
        intro, parameters = notebook.cells[0], notebook.cells[1]
        assert "remove-cell" in intro.metadata["tags"] and "parameters" in parameters.metadata["tags"]
        assert cjk.search(intro.source.splitlines()[0]) and "Optional" not in parameters.source
        assert all(cjk.search(line.split("#", 1)[1]) for line in parameters.source.splitlines()), job.name
        english = localise(notebook, "en")
        assert not cjk.search(english.cells[0].source.splitlines()[0])
        assert not any(cjk.search(line.split("#", 1)[1]) for line in english.cells[1].source.splitlines())
        assert [line.split("#")[0] for line in english.cells[1].source.splitlines()] \
            == [line.split("#")[0] for line in parameters.source.splitlines()]          # the same code
        assert localise(notebook, "zh").cells[0].source == intro.source


def test_a_table_shows_text_left_and_numbers_right_in_jupyterlab_too():
    import pandas as pd

    from perfkit.reports.display import record, show
    shown = show(pd.DataFrame({"名称": ["甲", "乙"], "金额": [1.5, 2.0]})).styler.to_html()
    assert "td.text {\n  text-align: left;" in shown and "td.num {\n  text-align: right;" in shown
    bundle = record(job="key-evaluation", lang="zh", score=89.3412, rating="良", status="final")._repr_mimebundle_()
    assert bundle["application/json"]["score"] == 89.3412                       # the runner reads this ...
    assert bundle["text/plain"] == "本报告结果（列入报告索引）：得分 89.34 分，等级“良”"   # ... a reader this
