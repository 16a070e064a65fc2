"""One submission of many reports (the People's Congress bundle): the PDFs a batch or the demo wrote, merged.

``perfkit bundle DIR --output F.pdf`` reads the index of ``DIR`` (``index.json``, in its order) and the
batch's manifest (``manifest.json``: the reports that failed) and writes one PDF: a cover, a table of
contents with each report's first page, every report with a PDF bookmark, and a page number running through
the whole bundle (beside each report's own); and beside it a summary workbook of every report (score,
rating, the figures its record gives: budget, execution), the drafts and the failures on their own sheets.
Reports that failed or are drafts are listed on the cover and in the workbook, never silently left out:
a draft is bound in as the draft it is (marked on each of its pages), a failed report is named with its
error. pypdf merges and bookmarks; WeasyPrint renders the cover, the contents and the page numbers.
"""
from __future__ import annotations

import html
import json
import logging
import tempfile
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from perfkit.errors import DataError, Problem, reason
from perfkit.reports.pdf import PDF_FONT_FAMILY, render_here
from perfkit.text import text, texts

log = logging.getLogger(__name__)


@dataclass
class Bundle:
    """What :func:`bundle` wrote: the PDF, the workbook, the reports bound in (with their first page), the
    drafts among them and the reports that failed (not bound, listed)."""

    pdf: Path
    workbook: Path
    reports: list[dict]
    drafts: list[dict]
    failed: list[dict]
    pages: int
    front_pages: int = 0
    outline: list[tuple[str, int]] = field(default_factory=list)


def _entries(directory: Path, job: str | None = None) -> tuple[list[dict], list[dict]]:
    """The reports of ``directory``'s index (of ``job`` only, when given), in the index's order, and the
    manifest's failures."""
    index = directory / "index.json"
    if not index.exists():
        raise DataError(Problem(str(index), reason("bundle_no_index")))
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(Problem(str(index), reason("bundle_bad_index", error=str(exc)))) from None
    reports = []
    for entry in entries:
        if job and entry.get("job") != job:
            continue
        pdf = (entry.get("outputs") or {}).get("pdf")
        if pdf and Path(pdf).exists():
            reports.append(entry)
        elif pdf or entry.get("outputs"):
            log.warning("%s has no PDF in %s: listed as not bound", entry.get("name"), directory)
            reports.append({**entry, "missing_pdf": True})
    failed = []
    manifest = directory / "manifest.json"
    if manifest.exists():
        try:
            failed = [row for row in json.loads(manifest.read_text(encoding="utf-8"))
                      if row.get("status") == "failed" and (not job or row.get("job") == job)]
        except ValueError:
            failed = []
    return reports, failed


def _front_html(title: str, body: str, reports: list[dict], failed: list[dict], numbers: list[int],
                generated: str, lang: str) -> str:
    """The cover and the table of contents as HTML (every value from the reports escaped)."""
    w = texts("bundle.words", lang)
    e = lambda value: html.escape(str(value), quote=False)     # noqa: E731
    drafts = [r for r in reports if r.get("status") == "draft"]
    bound = [r for r in reports if not r.get("missing_pdf")]
    rows = "".join(
        f"<tr><td class='n'>{i}</td><td>{e(r.get('title', r.get('name')))}"
        f"{'<span class=draft>（' + e(w['draft']) + '）</span>' if r.get('status') == 'draft' else ''}</td>"
        f"<td>{e(r.get('result', ''))}</td><td class='p'>{number}</td></tr>"
        for i, (r, number) in enumerate(zip(bound, numbers), start=1))
    unbound = [*[(r.get("title", r.get("name")), w["no_pdf"]) for r in reports if r.get("missing_pdf")],
               *[(f"{f.get('job', '')} {f.get('subject', '')}", f.get("error", "")) for f in failed]]
    listed = ("".join(f"<li>{e(name)}：{e(why)}</li>" for name, why in unbound))
    return f"""<!DOCTYPE html><html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<style>
@page {{ size: A4; margin: 22mm 20mm; }}
body {{ font-size: 10.5pt; }}
.cover {{ page-break-after: always; text-align: center; padding-top: 60mm; }}
.cover h1 {{ font-size: 24pt; margin-bottom: 18mm; }}
.cover p {{ font-size: 13pt; margin: 4mm 0; }}
.cover .counts {{ margin-top: 30mm; font-size: 11pt; }}
h2 {{ font-size: 15pt; text-align: center; }}
table {{ width: 100%; border-collapse: collapse; }}
td {{ padding: 1.6mm 1mm; border-bottom: 0.3pt solid #bbb; vertical-align: top; }}
td.n {{ width: 8mm; }} td.p {{ width: 14mm; text-align: right; }}
.draft {{ color: #b00; }}
ul.unbound li {{ margin: 1mm 0; }}
</style></head><body class="perfkit-report">
<section class="cover"><h1>{e(title)}</h1><p>{e(body)}</p><p>{e(generated)}</p>
<p class="counts">{e(text("bundle.counts", lang, reports=len(bound), drafts=len(drafts)))}
{e(text("bundle.counts_failed", lang, failed=len(unbound))) if unbound else ""}</p>
</section>
<section><h2>{e(w['contents'])}</h2><table>{rows}</table>
{f"<h2>{e(w['unbound'])}</h2><ul class='unbound'>{listed}</ul>" if unbound else ""}
</section></body></html>"""


def _numbers_html(sizes: list[tuple[float, float]], lang: str) -> str:
    """Blank pages of the given sizes (points), each numbered in its bottom-right corner through the bundle."""
    label = text("bundle.page_number", lang)      # "第 {n} 页" with CSS counters
    styles, pages = [], []
    for k, (width, height) in enumerate(sorted(set(sizes))):
        styles.append(f"@page s{k} {{ size: {width:.2f}pt {height:.2f}pt; margin: 0 12mm 6mm 0; "
                      f"@bottom-right {{ content: {label}; font-family: '{PDF_FONT_FAMILY}'; font-size: 8pt; "
                      f"color: #444; }} }}")
    named = {size: f"s{k}" for k, size in enumerate(sorted(set(sizes)))}
    for size in sizes:
        pages.append(f'<div style="page: {named[size]}; break-after: page">&#8203;</div>')
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{' '.join(styles)}</style></head>"
            f"<body class='perfkit-report'>{''.join(pages)}</body></html>")


def bundle(directory: str | PathLike, output: str | PathLike, *, title: str | None = None, lang: str = "zh",
           body: str | None = None, job: str | None = None) -> Bundle:
    """Merge the PDFs of a report folder into one submission (see the module's docstring).

    Parameters
    ----------
    directory : path
        A folder a batch or the demo wrote (its ``index.json``; ``manifest.json`` when a batch wrote it).
    output : path
        The bundle's PDF; its summary workbook is written beside it (``<output>.xlsx``).
    title : str, optional
        The cover's title (default: the catalogue's, 绩效评价报告汇编).
    body : str, optional
        The submitting body on the cover (default: the preset's evaluating body).
    job : str, optional
        Bind the reports of this job only (``department-evaluation``: the demo's folder holds every job's).

    Raises
    ------
    perfkit.DataError
        When the folder has no index or no report has a PDF.
    """
    from pypdf import PdfReader, PdfWriter

    from perfkit.rules import load_preset

    directory, output = Path(directory), Path(output)
    reports, failed = _entries(directory, job)
    bound = [r for r in reports if not r.get("missing_pdf")]
    if not bound:
        raise DataError(Problem(str(directory), reason("bundle_no_pdf")))
    title = title or text("bundle.title", lang)
    body = body or load_preset("default").label(load_preset("default").report.evaluating_body, lang)
    generated = text("bundle.generated", lang, date=__import__("datetime").date.today().isoformat())
    readers = [PdfReader(r["outputs"]["pdf"]) for r in bound]
    lengths = [len(reader.pages) for reader in readers]
    with tempfile.TemporaryDirectory(prefix="perfkit-bundle-") as folder:
        # the front matter twice: first to count its pages, then with the reports' first pages
        front = Path(folder) / "front.pdf"
        render_here(_front_html(title, body, reports, failed, [0] * len(bound), generated, lang), front)
        front_pages = len(PdfReader(front).pages)
        starts, page = [], front_pages + 1
        for length in lengths:
            starts.append(page)
            page += length
        render_here(_front_html(title, body, reports, failed, starts, generated, lang), front)
        if len(PdfReader(front).pages) != front_pages:     # the numbers changed the contents' length
            raise RuntimeError("the table of contents changed length when numbered")
        writer = PdfWriter()
        writer.append(str(front), import_outline=False)
        outline = [(texts("bundle.words", lang)["contents"], 1)]
        writer.add_outline_item(title=outline[0][0], page_number=1 if front_pages > 1 else 0)
        for entry, reader, start in zip(bound, readers, starts):
            name = entry.get("title") or entry.get("name")
            if entry.get("status") == "draft":
                name = f"{name}（{texts('bundle.words', lang)['draft']}）"
            # a bookmark at the report's first page, the report's own (its headings) nested under it
            writer.append(reader, outline_item=name)
            outline.append((name, start))
        sizes = [(round(float(p.mediabox.width), 2), round(float(p.mediabox.height), 2)) for p in writer.pages]
        numbers = Path(folder) / "numbers.pdf"
        render_here(_numbers_html(sizes, lang), numbers)
        stamps = PdfReader(numbers)
        if len(stamps.pages) != len(writer.pages):
            raise RuntimeError(f"{len(stamps.pages)} page numbers for {len(writer.pages)} pages")
        for page_number, (page, stamp) in enumerate(zip(writer.pages, stamps.pages), start=1):
            if page_number > 1:                       # the cover carries no number
                page.merge_page(stamp)
        writer.add_metadata({"/Title": title, "/Producer": "perfkit"})
        partial = output.with_name(f".{output.name}.partial")
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as handle:
            writer.write(handle)
        partial.replace(output)                       # never half a bundle
        total = len(writer.pages)
    drafts = [r for r in reports if r.get("status") == "draft"]
    workbook = _summary_workbook(reports, failed, dict(zip((r["name"] for r in bound), starts)),
                                 output.with_suffix(".xlsx"), lang)
    log.debug("bundle of %d reports (%d drafts), %d pages → %s; %d not bound (listed)", len(bound), len(drafts),
             total, output, len(reports) - len(bound) + len(failed))
    return Bundle(pdf=output, workbook=workbook, reports=bound, drafts=drafts,
                  failed=[*[r for r in reports if r.get("missing_pdf")], *failed], pages=total,
                  front_pages=front_pages, outline=outline)


def _summary_workbook(reports: list[dict], failed: list[dict], starts: dict[str, int], path: Path,
                      lang: str) -> Path:
    """Every report bound (title, subject, score, rating, the figures its record gives, its first page), the
    drafts and the reports not bound each on their own sheet."""
    import pandas as pd

    from perfkit.workbooks import view_workbook

    h = texts("bundle.columns", lang)
    figures = texts("bundle.figures", lang)

    def row(r: dict) -> dict:
        out = {h["title"]: r.get("title", r.get("name")), h["job"]: r.get("job_label", r.get("job")),
               h["subject"]: r.get("subject"), h["score"]: None if r.get("score") is None else float(r["score"]),
               h["rating"]: r.get("rating"), h["status"]: r.get("status_label", r.get("status"))}
        for key, value in (r.get("figures") or {}).items():
            if key in figures:
                out[figures[key]] = value
        out[h["page"]] = starts.get(r.get("name"))
        return out

    final = [row(r) for r in reports if r.get("status") != "draft" and not r.get("missing_pdf")]
    drafts = [row(r) for r in reports if r.get("status") == "draft" and not r.get("missing_pdf")]
    unbound = [{h["title"]: r.get("title", r.get("name")), h["reason"]: texts("bundle.words", lang)["no_pdf"]}
               for r in reports if r.get("missing_pdf")]
    unbound += [{h["title"]: f"{f.get('job', '')} {f.get('subject', '')}", h["reason"]: f.get("error", "")}
                for f in failed]
    names = texts("bundle.sheets", lang)
    sheets = {names["final"]: pd.DataFrame(final, columns=list(row({}).keys()) if not final else None),
              names["drafts"]: pd.DataFrame(drafts, columns=list(row({}).keys()) if not drafts else None),
              names["failed"]: pd.DataFrame(unbound, columns=[h["title"], h["reason"]])}
    return view_workbook(sheets, path)


__all__ = ["Bundle", "bundle"]
