"""A year's production of the demo city: one ``perfkit batch`` per job, HTML and PDF, timed, memory sampled.

    .venv/bin/python benchmarks/bench_production.py [--store data/perfkit.duckdb] [--year 2025] [--jobs 2]
        [--only department-evaluation,self-evaluation,key-evaluation] [--limit N]

For each job it runs ``perfkit batch JOB --all --year YEAR --format html,pdf`` (the departments'
evaluations, the units' self-evaluations, the year's key evaluations) into a fresh folder and prints the
reports made, the seconds, the seconds per report and the batch's memory (the resident memory of the
batch process and its kernels, sampled every second: the first and the last quarter's medians, so that
a leak shows as growth), then the total against the 10-minute budget. ``--limit`` runs the first N
subjects of each job only (``--ids``), for a quick look. Needs the demo store (``make demo``).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil   # installed with ipykernel

import perfkit
from perfkit.reports.batch import batch_subjects

JOBS = ("department-evaluation", "self-evaluation", "key-evaluation")


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and its children (the batch and its kernels), bytes."""
    total = 0
    try:
        family = [process, *process.children(recursive=True)]
    except psutil.Error:       # a kernel ended while its parent's children were listed: the next sample has it
        family = [process]
    for p in family:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(job: str, store: str, year: int, jobs: int, out: Path, limit: int | None) -> dict:
    command = [str(Path(sys.executable).parent / "perfkit"), "batch", job, "--year", str(year), "--store", store,
               "--format", "html,pdf", "--jobs", str(jobs), "--output-dir", str(out)]
    with perfkit.Store(store, read_only=True) as opened:
        subjects = batch_subjects(opened, job, year=year)
    if limit:
        ids = out.parent / f"{job}.ids"
        ids.write_text("\n".join(subjects[:limit]) + "\n", encoding="utf-8")
        command += ["--ids", str(ids)]
        subjects = subjects[:limit]
    else:
        command.append("--all")
    samples: list[int] = []
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watched = psutil.Process(process.pid)

    def sample():
        while process.poll() is None:
            samples.append(tree_rss(watched))
            time.sleep(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    seconds = time.perf_counter() - start
    sampler.join()
    quarter = max(1, len(samples) // 4)
    return dict(job=job, reports=len(subjects), seconds=seconds, code=process.returncode,
                first=statistics.median(samples[:quarter]) / 2**20 if samples else float("nan"),
                last=statistics.median(samples[-quarter:]) / 2**20 if samples else float("nan"),
                error=err.decode(errors="replace").strip().splitlines()[-1:] if process.returncode else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="data/perfkit.duckdb")
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default=",".join(JOBS))
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    store = str(Path(args.store).resolve())
    rows = []
    with tempfile.TemporaryDirectory(prefix="perfkit-production-") as folder:
        for job in args.only.split(","):
            row = run(job, store, args.year, args.jobs, Path(folder) / job, args.limit)
            rows.append(row)
            print(f"{job:24s} {row['reports']:5d} reports {row['seconds']:8.1f} s "
                  f"({row['seconds'] / max(row['reports'], 1):.2f} s/report)  memory {row['first']:,.0f} → "
                  f"{row['last']:,.0f} MiB  exit {row['code']} {' '.join(row['error'])}", flush=True)
    total = sum(r["seconds"] for r in rows)
    print(f"{'total':24s} {sum(r['reports'] for r in rows):5d} reports {total:8.1f} s "
          f"({'within' if total <= 600 else 'over'} the 10-minute budget)")


if __name__ == "__main__":
    main()
