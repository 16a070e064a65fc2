"""What each report format costs: one key evaluation of the demo city, run once, exported to HTML, PDF and
Word several times; prints seconds per export beside the notebook run that every format shares.

    .venv/bin/python benchmarks/bench_formats.py [--store data/perfkit.duckdb] [--project P202500775]

Needs the demo store (``make demo``).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

from _timing import timed  # benchmarks/_timing.py, beside this script
from perfkit.reports import get_job
from perfkit.reports.export import export_docx, export_html, export_pdf, report_title
from perfkit.reports.runner import report_meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="data/perfkit.duckdb")
    parser.add_argument("--project", default="P202500775")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    store = str(Path(args.store).resolve())
    parameters = {"project_id": args.project, "store": store, "lang": "zh"}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        start = time.perf_counter()
        papermill.execute_notebook(str(get_job("key-evaluation").notebook_path), str(work / "run.ipynb"),
                                   parameters=parameters, progress_bar=False)
        run = time.perf_counter() - start
        executed = nbformat.read(work / "run.ipynb", as_version=4)
        meta = report_meta("key-evaluation", parameters, "zh", report_title(executed) or "report")
        html = export_html(executed, meta)
        export_pdf(html, work / "warm.pdf")      # first calls load fonts and pandoc; time the steady state
        export_docx(html, work / "warm.docx")
        rows = [("notebook run (papermill, fresh kernel)", run),
                ("HTML export (nbconvert)", timed(lambda: export_html(executed, meta), args.repeat)),
                ("PDF from the HTML (WeasyPrint, A4)", timed(lambda: export_pdf(html, work / "r.pdf"), args.repeat)),
                ("DOCX from the HTML (pandoc)", timed(lambda: export_docx(html, work / "r.docx"), args.repeat))]
        sizes = {"HTML": len(html.encode()), "PDF": (work / "r.pdf").stat().st_size,
                 "DOCX": (work / "r.docx").stat().st_size}
    print(f"key evaluation {args.project}, median of {args.repeat} exports")
    print(f"{'step':<42}{'seconds':>9}")
    for step, seconds in rows:
        print(f"{step:<42}{seconds:>9.2f}")
    print("sizes: " + ", ".join(f"{k} {v / 1024:,.0f} KiB" for k, v in sizes.items()))


if __name__ == "__main__":
    main()
