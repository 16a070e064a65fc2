"""Batch production: the same N key evaluations made three ways, in one run, with seconds per report.

    .venv/bin/python benchmarks/bench_batch.py [--store data/perfkit.duckdb] [-n 40] [--jobs 2]

(a) a shell loop of the ``papermill`` CLI and ``jupyter nbconvert --to html`` (what a user does
    without perfkit); (b) ``run_batch`` as it was: a fresh kernel per report, ``--jobs`` at a time;
(c) ``perfkit batch key-evaluation`` on ``--jobs`` warm kernels, run before (a) and after (b) and counted as
the mean of the two (the machine's speed drifts over the loop's minutes). All make HTML only. The executed
notebooks of the three are compared cell by cell (execution counts and timings left out): the
content must be identical. Needs the demo store (``make demo``).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

import perfkit
from perfkit.reports import get_job
from perfkit.reports.runner import run_batch


def outputs(path: Path) -> list:
    """A notebook's outputs as data, without execution counts or the kernel's timing metadata."""
    notebook = nbformat.read(path, as_version=4)
    return [(o.get("output_type"), o.get("name"), o.get("text"), json.dumps(o.get("data", {}), sort_keys=True))
            for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def shell_loop(projects: list[str], store: str, out: Path) -> Path:
    """(a): one process per step, as a shell script would run them."""
    bin_dir = Path(sys.executable).parent
    notebook = get_job("key-evaluation").notebook_path
    script = out / "loop.sh"
    lines = ["set -e"]
    for project in projects:
        executed = out / f"key_evaluation_{project}.ipynb"
        lines.append(f"'{bin_dir / 'papermill'}' '{notebook}' '{executed}' -p project_id {project} "
                     f"-p store '{store}' -p lang zh --no-progress-bar --log-level ERROR")
        lines.append(f"'{bin_dir / 'jupyter'}' nbconvert --to html --log-level ERROR '{executed}'")
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    subprocess.run(["bash", str(script)], check=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="data/perfkit.duckdb")
    parser.add_argument("-n", type=int, default=40, help="key evaluations (default 40)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    store = str(Path(args.store).resolve())
    with perfkit.Store(store, read_only=True) as opened:
        projects = opened.query("SELECT DISTINCT project_id FROM expert_scores ORDER BY 1 LIMIT ?",
                                [args.n])["project_id"].tolist()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    ids = work / "ids.txt"
    ids.write_text("\n".join(projects), encoding="utf-8")
    seconds = {}

    def perfkit_batch(out: Path) -> None:
        run = subprocess.run([str(Path(sys.executable).parent / "perfkit"), "batch", "key-evaluation", "--all",
                              "--store", store, "--ids", str(ids), "--format", "html", "--jobs", str(args.jobs),
                              "--output-dir", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
        if run.returncode:
            raise SystemExit(f"perfkit batch failed:\n{run.stderr[-2000:]}")

    warm = f"(c) perfkit batch, warm kernels, {args.jobs} workers"
    try:
        # (c) runs before (a) and again after (b), and counts as the mean of the two: this machine's speed
        # drifts over the minutes the loop takes (the same (c) took 16-22 s within an hour)
        for label, folder, make in (
            (f"{warm}, before (a)", "c", perfkit_batch),
            ("(a) papermill + nbconvert CLI loop", "a", lambda out: shell_loop(projects, store, out)),
            (f"(b) run_batch, fresh kernels, {args.jobs} workers", "b",
             lambda out: run_batch([("key-evaluation", {"project_id": p, "store": store}) for p in projects],
                                   output_dir=out, max_workers=args.jobs, formats="html", index=False)),
            (f"{warm}, after (b)", "c2", perfkit_batch),
        ):
            out = work / folder
            out.mkdir()
            start = time.perf_counter()
            make(out)
            seconds[label] = time.perf_counter() - start
            print(f"{label:<54}{seconds[label]:>8.1f} s {seconds[label] / len(projects):>7.2f} s/report", flush=True)
        different = [p for p in projects
                     if not outputs(work / "a" / f"key_evaluation_{p}.ipynb")
                     == outputs(work / "b" / f"key_evaluation_{p}.ipynb")
                     == outputs(work / "c" / f"key_evaluation_{p}.ipynb")
                     == outputs(work / "c2" / f"key_evaluation_{p}.ipynb")]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    c_before, a, b, c_after = seconds.values()
    c = (c_before + c_after) / 2
    print(f"{len(projects)} key evaluations; (c) = {c:.1f} s (mean); (a)/(c) = {a / c:.1f}×, (b)/(c) = {b / c:.1f}×; "
          f"content identical in {len(projects) - len(different)} of {len(projects)}"
          + (f" (different: {', '.join(different)})" if different else ""))

if __name__ == "__main__":
    main()
