"""Reports in bulk: parallel runs, one failure never stops the others, a manifest, resume, timeouts."""
from __future__ import annotations

import json
import re

import nbformat
import pandas as pd
import pytest

import perfkit
from perfkit.cli import main
from perfkit.reports import ReportError, run_report
from perfkit.reports.batch import remove_stale_work, run_many


def _panel_projects(store_path, n):
    with perfkit.Store(store_path, read_only=True) as store:
        return store.query("SELECT DISTINCT project_id FROM expert_scores ORDER BY 1 LIMIT ?", [n])["project_id"].tolist()


@pytest.mark.notebook
def test_batch_isolates_failures_writes_a_manifest_and_resumes(demo_store_path, tmp_path, capsys):
    projects = _panel_projects(demo_store_path, 3)
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(projects + ["P_NOT_THERE"]), encoding="utf-8")
    out = tmp_path / "out"
    (out / ".perfkit-999999999-killed").mkdir(parents=True)                 # left by a killed run
    code = main(["batch", "key-evaluation", "--ids", str(ids), "--jobs", "2", "--format", "html",
                 "--store", str(demo_store_path), "--output-dir", str(out)])
    assert code == 4                              # P_NOT_THERE is no panel project: asked for, so a failed report
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [(e["subject"], e["status"]) for e in manifest] == [(p, "done") for p in projects] + [
        ("P_NOT_THERE", "failed")]
    assert all(e["seconds"] > 0 and e["inputs"] for e in manifest if e["status"] == "done")
    assert pd.read_csv(out / "manifest.csv", encoding="utf-8-sig")["status"].tolist() == ["done"] * 3 + ["failed"]
    assert not list(out.glob(".perfkit-*"))       # the killed run's folder is gone, no new one is left
    # a failing report among good ones: recorded, and the others are written
    tasks = [("key-evaluation", {"project_id": p, "store": str(demo_store_path)}) for p in projects[:1]]
    tasks.append(("key-evaluation", {"project_id": "P_NOT_THERE", "store": str(demo_store_path)}))
    outcomes = run_many(tasks, output_dir=tmp_path / "mixed", formats="html", jobs=2, progress=False)
    assert [o.status for o in outcomes] == ["done", "failed"] and "P_NOT_THERE" in outcomes[1].error
    # resume: unchanged and present → skipped; a report whose output went missing → redone
    (out / f"key_evaluation_{projects[0]}.html").unlink()
    again = main(["batch", "key-evaluation", "--ids", str(ids), "--resume", "--format", "html",
                  "--store", str(demo_store_path), "--output-dir", str(out)])
    assert again == 4 and "1 done, 2 skipped, 1 failed" in capsys.readouterr().out
    # a second resume trusts what the first skipped: unchanged outputs and inputs are done, whatever it was called
    third = main(["batch", "key-evaluation", "--ids", str(ids), "--resume", "--format", "html",
                  "--store", str(demo_store_path), "--output-dir", str(out)])
    assert third == 4 and "0 done, 3 skipped, 1 failed" in capsys.readouterr().out
    # inputs changed (another language) → redone, not skipped
    outcomes = run_many([("key-evaluation", {"project_id": projects[1], "store": str(demo_store_path)})],
                        output_dir=out, formats="html", resume=True, lang="en", progress=False)
    assert outcomes[0].status == "done"


def test_a_batch_checks_all_its_reports_parameters_with_one_opening_of_the_store(demo_store_path, monkeypatch):
    """run_many checks every report before the first runs (check_many): each store opened once, not once per
    report (a DuckDB instance, 12 ms of each report in the batch's process); what it refuses is what the
    report's own check refuses, word for word."""
    from perfkit.errors import DataError
    from perfkit.reports.preflight import check_many, check_parameters
    from perfkit.reports.registry import get_job

    projects = _panel_projects(demo_store_path, 3)
    job = get_job("key-evaluation")
    tasks = [(job, {"project_id": p, "store": str(demo_store_path)}) for p in projects]
    tasks.insert(1, (job, {"project_id": "P_NOT_THERE", "store": str(demo_store_path)}))
    opened = []
    real_init = perfkit.store.Store.__init__

    def counted(self, *args, **kwargs):
        opened.append(args)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(perfkit.store.Store, "__init__", counted)
    refusals = check_many(tasks)
    assert len(opened) == 1
    assert [r is None for r in refusals] == [True, False, True, True]
    with pytest.raises(DataError) as alone:
        check_parameters(job, tasks[1][1])
    assert type(refusals[1]) is DataError and str(refusals[1]) == str(alone.value) and "P_NOT_THERE" in str(alone.value)


@pytest.mark.notebook
def test_a_hung_cell_fails_its_report_with_the_reason(tmp_path):
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                  "display_name": "Python 3"},
                                                   "language_info": {"name": "python"}})
    notebook.cells = [nbformat.v4.new_code_cell("import time\ntime.sleep(60)")]
    path = tmp_path / "hang.ipynb"
    nbformat.write(notebook, path)
    with pytest.raises(ReportError, match="Timeout|timed out"):
        run_report(path, {}, output_dir=tmp_path / "out", timeout=3, index=False)
    assert not list((tmp_path / "out").glob(".perfkit-*"))


def test_stale_work_of_a_live_process_is_kept(tmp_path):
    import os
    (tmp_path / f".perfkit-{os.getpid()}-running").mkdir()
    (tmp_path / ".perfkit-999999999-dead").mkdir()
    assert remove_stale_work(tmp_path) == 1
    assert (tmp_path / f".perfkit-{os.getpid()}-running").exists()


def test_batch_needs_its_subjects_chosen(demo_store_path, capsys):
    assert main(["batch", "key-evaluation", "--store", str(demo_store_path)]) == 2
    assert "choose the subjects" in capsys.readouterr().err
    assert main(["batch", "self-evaluation", "--all", "--store", str(demo_store_path)]) == 2


def _outputs(path):
    """A notebook's outputs as data (execution counts and the kernel's own metadata left out)."""
    notebook = nbformat.read(path, as_version=4)
    return [(o.get("output_type"), o.get("name"), o.get("text"), json.dumps(o.get("data", {}), sort_keys=True))
            for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


@pytest.mark.notebook
def test_a_warm_kernel_after_three_reports_equals_a_fresh_one(demo_store_path, tmp_path):
    projects = _panel_projects(demo_store_path, 4)
    target, others = projects[0], projects[1:]
    fresh = run_report("key-evaluation", {"project_id": target, "store": str(demo_store_path)},
                       output_dir=tmp_path / "fresh", formats="html", index=False)
    tasks = [("key-evaluation", {"project_id": p, "store": str(demo_store_path)}) for p in [*others, target]]
    outcomes = run_many(tasks, output_dir=tmp_path / "warm", formats="html", jobs=1, progress=False,
                        engine="perfkit-warm")
    assert [o.status for o in outcomes] == ["done"] * 4
    warm = tmp_path / "warm" / fresh.notebook.name
    assert _outputs(warm) == _outputs(fresh.notebook)          # tables, text and the chart's PNG, byte for byte


@pytest.mark.notebook
def test_papermill_runs_a_notebook_on_the_warm_engine(demo_store_path, tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    from perfkit.reports import get_job
    project = _panel_projects(demo_store_path, 1)[0]
    done = subprocess.run([str(Path(sys.executable).parent / "papermill"), "--engine", "perfkit-warm",
                           str(get_job("key-evaluation").notebook_path), str(tmp_path / "out.ipynb"),
                           "-p", "project_id", project, "-p", "store", str(demo_store_path), "--no-progress-bar"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
    assert any("image/png" in o[3] for o in _outputs(tmp_path / "out.ipynb"))


def _notebook_with_parameters(path, body):
    """A small parameterised notebook: ``n`` and ``die`` in its parameters cell, then ``body``."""
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                  "display_name": "Python 3"},
                                                   "language_info": {"name": "python"}})
    parameters = nbformat.v4.new_code_cell("n = 0\ndie = False")
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell(body)]
    nbformat.write(notebook, path)
    return path


@pytest.mark.notebook
def test_a_kernel_killed_mid_batch_fails_its_report_only(tmp_path):
    notebook = _notebook_with_parameters(tmp_path / "maybe_die.ipynb",
                                         "import os\nif die:\n    os._exit(1)\nprint('report', n)")
    tasks = [(str(notebook), {"n": i, "die": i == 2}) for i in range(5)]
    out = tmp_path / "out"
    outcomes = run_many(tasks, output_dir=out, formats="html", jobs=2, progress=False, timeout=60)
    assert [o.status for o in outcomes] == ["done", "done", "failed", "done", "done"]
    assert "DeadKernelError" in outcomes[2].error
    for i in (0, 1, 3, 4):
        assert f"report {i}" in (out / f"maybe_die_{i}_False.html").read_text(encoding="utf-8")
    assert not (out / "maybe_die_2_True.html").exists()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {e["subject"]: e["status"] for e in manifest}["2-True"] == "failed"
    assert not list(out.glob(".perfkit-*"))


@pytest.mark.notebook
def test_two_workers_make_a_dozen_reports_each_about_its_own_subject(demo_store_path, tmp_path):
    """Parallel runs share no kernel, port, folder or namespace (papermill issues #239, #329, #478)."""
    projects = _panel_projects(demo_store_path, 12)
    tasks = [("key-evaluation", {"project_id": p, "store": str(demo_store_path)}) for p in projects]
    outcomes = run_many(tasks, output_dir=tmp_path, formats="html", jobs=2, progress=False, timeout=300)
    assert [o.status for o in outcomes] == ["done"] * 12, [o.error for o in outcomes if o.error]
    for project in projects:
        html = (tmp_path / f"key_evaluation_{project}.html").read_text(encoding="utf-8")
        assert project in html
        assert not [p for p in projects if p != project and p in html]
    index = json.loads((tmp_path / "index.json").read_text(encoding="utf-8"))
    assert sorted(r["name"] for r in index) == sorted(f"key_evaluation_{p}" for p in projects)


@pytest.mark.notebook
def test_a_dask_cluster_makes_the_reports_and_sends_them_back(demo_store_path, tmp_path):
    distributed = pytest.importorskip("distributed")
    projects = _panel_projects(demo_store_path, 3)
    tasks = [("key-evaluation", {"project_id": p, "store": str(demo_store_path)}) for p in projects]
    tasks.append(("key-evaluation", {"project_id": "P_NOT_THERE", "store": str(demo_store_path)}))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  local_directory=str(tmp_path / "workers")) as cluster, \
            distributed.Client(cluster) as client:
        outcomes = run_many(tasks, output_dir=tmp_path / "out", formats="html", progress=False,
                            scheduler=client, timeout=300)
        assert len(client.run(lambda dask_worker: sorted(dask_worker.plugins))) == 2
    assert [o.status for o in outcomes] == ["done"] * 3 + ["failed"]
    assert "P_NOT_THERE" in outcomes[3].error
    for project in projects:
        assert project in (tmp_path / "out" / f"key_evaluation_{project}.html").read_text(encoding="utf-8")
    index = json.loads((tmp_path / "out" / "index.json").read_text(encoding="utf-8"))
    assert sorted(r["name"] for r in index) == sorted(f"key_evaluation_{p}" for p in projects)
    assert not list((tmp_path / "out").glob(".perfkit-*"))


@pytest.mark.notebook
def test_a_warm_batch_renders_each_pdf_in_its_kernel_as_the_batch_process_would(demo_store_path, tmp_path,
                                                                                 monkeypatch):
    from pypdf import PdfReader

    from perfkit.reports import runner
    projects = _panel_projects(demo_store_path, 2)
    here = run_report("key-evaluation", {"project_id": projects[0], "store": str(demo_store_path)},
                      output_dir=tmp_path / "here", formats="html,pdf", index=False)

    def not_here(*args, **kwargs):
        raise AssertionError("a warm batch's PDF was rendered in the batch's own process")

    monkeypatch.setattr(runner, "export_pdf", not_here)
    tasks = [("key-evaluation", {"project_id": p, "store": str(demo_store_path)}) for p in projects]
    outcomes = run_many(tasks, output_dir=tmp_path / "warm", formats="html,pdf", jobs=2, progress=False)
    assert [o.status for o in outcomes] == ["done", "done"], [o.error for o in outcomes]
    kernel_pdf = PdfReader(outcomes[0].outputs["pdf"])
    process_pdf = PdfReader(here.outputs["pdf"])
    assert len(kernel_pdf.pages) == len(process_pdf.pages)
    # the provenance footer's generation time (to the minute) is the one thing that may differ: the two
    # renders can fall on either side of a minute
    stamp = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
    texts = [[stamp.sub("<generated>", p.extract_text()) for p in pdf.pages] for pdf in (kernel_pdf, process_pdf)]
    assert texts[0] == texts[1]
    assert not list((tmp_path / "warm").glob(".perfkit-*"))


@pytest.mark.notebook
def test_prestarted_kernels_are_taken_by_the_batch_and_never_left_running(demo_store_path, tmp_path, monkeypatch):
    from perfkit.reports import warm
    started = []
    real_start = warm._start
    monkeypatch.setattr(warm, "_start", lambda name: started.append(name) or real_start(name))
    imported = []
    real_import = warm._import
    monkeypatch.setattr(warm, "_import", lambda km, modules, done: imported.extend(modules) or
                        real_import(km, modules, done))
    warm.prestart(n=1)                             # before the jobs are known, as `perfkit demo` does
    warm.prestart(["key-evaluation"], n=1)         # the kernel already starting imports them: no second one
    assert len(warm._spare) == 1
    warm._spare[0][1].result(timeout=120)
    assert "perfkit.reports.key_evaluation" in imported   # imported in the prestarted kernel, before the batch
    project = _panel_projects(demo_store_path, 1)[0]
    outcomes = run_many([("key-evaluation", {"project_id": project, "store": str(demo_store_path)})],
                        output_dir=tmp_path, formats="html", jobs=1, progress=False)
    assert outcomes[0].status == "done", outcomes[0].error
    assert started == ["python3"]                 # the batch's worker took the prestarted kernel
    assert not warm._spare and not warm._all       # and it was shut down with the batch
    warm.prestart(n=1)                             # one nobody takes: shut down all the same
    warm.shutdown_all()
    assert not warm._spare and not warm._all


@pytest.mark.notebook
def test_a_kernel_dead_before_its_notebook_fails_at_once_not_after_the_start_timeout():
    import asyncio
    import time

    from jupyter_client import KernelManager
    from nbclient.exceptions import DeadKernelError

    from perfkit.reports import warm

    km = KernelManager(kernel_name="python3", client_class="jupyter_client.asynchronous.AsyncKernelClient")
    km.start_kernel(extra_arguments=list(warm.KERNEL_ARGUMENTS))
    client = km.client()
    client.start_channels()
    km.shutdown_kernel(now=True)
    started = time.monotonic()
    try:
        with pytest.raises(DeadKernelError):
            asyncio.run(warm._until_connected(client, 30))
    finally:
        client.stop_channels()
    assert time.monotonic() - started < 10


def test_a_warm_kernels_set_up_reports_its_error_and_its_kernels_death_at_once():
    """The set-up client (resets, imports, PDFs) listens to the shell only, never to the kernel's broadcasts of
    the reports' outputs; a failed set-up names the error, and a kernel dying in one fails it in a second or
    two, not after the set-up's time limit."""
    import time

    from jupyter_client import KernelManager

    from perfkit.reports import warm

    km = KernelManager(kernel_name="python3")
    km.start_kernel(extra_arguments=list(warm.KERNEL_ARGUMENTS))
    try:
        warm._run(km, "x = 1")
        client = warm._control[km]
        # (reading the iopub_channel property would connect one: jupyter_client's own attribute says it has none)
        assert client._iopub_channel is None and client.shell_channel.is_alive()   # noqa: SLF001
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            warm._run(km, "1 / 0", what="reset")
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="died"):
            warm._run(km, "import os; os._exit(1)", timeout=600)
        assert time.monotonic() - started < 10
    finally:
        warm.discard(km)


@pytest.mark.notebook
def test_a_warm_kernel_loads_no_pyplot_but_closes_the_figures_a_notebook_left():
    """The reports' charts do not use pyplot (0.2 s of every kernel's start-up, and two hooks on every cell);
    a notebook of a user's that drew with it leaves no figure to the next one."""
    from perfkit.reports import warm

    try:
        km = warm.kernel()
        warm._run(km, "import sys; assert 'matplotlib.pyplot' not in sys.modules")
        warm._run(km, "import matplotlib.pyplot as plt; plt.figure(); assert plt.get_fignums() == [1]")
        assert warm.kernel() is km                                    # the same kernel, reset
        warm._run(km, "import matplotlib.pyplot as plt; assert plt.get_fignums() == []")
    finally:
        warm.shutdown_all()


def test_the_manifest_is_whole_formula_safe_and_written_as_reports_finish(tmp_path, capsys, demo_store_path):
    from perfkit.reports.batch import Outcome, write_manifest
    hostile = [Outcome(job="key-evaluation", subject=subject, parameters={}, status="failed", error=error)
               for subject, error in (('=HYPERLINK("http://evil.example","x")', "=1+1"), ("-2+3", "@SUM(A1)"),
                                      ("P1", "plain"))]
    write_manifest(tmp_path, hostile)
    rows = pd.read_csv(tmp_path / "manifest.csv", encoding="utf-8-sig", dtype=str)
    assert rows["subject"].tolist() == ["'-2+3", "'=HYPERLINK(\"http://evil.example\",\"x\")", "P1"]
    assert rows["error"].tolist() == ["'@SUM(A1)", "'=1+1", "plain"]
    assert json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))[1]["subject"].startswith("=")
    assert not list(tmp_path.glob(".manifest*.tmp"))                # written whole and moved into place
    # an output folder that cannot take a file: one line before any report
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["batch", "key-evaluation", "--year", "2025", "--store", str(demo_store_path),
                 "--output-dir", str(blocker / "out")]) == 2
    assert "cannot write reports to" in capsys.readouterr().err
