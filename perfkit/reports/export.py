"""From an executed notebook to the documents a bureau files: HTML, PDF (A4) and Word, and the index.

- HTML: nbconvert's HTMLExporter with perfkit's template (``templates/perfkit``): a title page, the
  house style, a provenance footer; self-contained (no script, font or stylesheet is fetched).
- PDF: WeasyPrint renders that HTML on A4 with page numbers, headings kept with what follows and
  table headers repeated; the CJK font is the Noto Sans CJK SC file the project installs (mplfonts),
  embedded as a subset.
- DOCX: pandoc (shipped in the ``pypandoc-binary`` wheel) turns the same HTML into real Word headings,
  tables and pictures, styled by ``templates/perfkit/reference.docx``, which a bureau restyles in Word.

This module imports nbconvert, WeasyPrint and pandoc; report kernels never import it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import html as html_lib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

import perfkit
from perfkit.reports import page
from perfkit.reports.display import long_date
from perfkit.reports.registry import templates_dir
from perfkit.text import text

LANGUAGE_CODES = {"zh": "zh", "en": "en"}  # nbconvert takes ISO 639-1 codes only
#: Cells shown in JupyterLab and left out of reports: the notebook's own heading and intro, the
#: title cell (the title goes on the title page) and the machine-readable record of the result.
REMOVE_TAGS = {"remove-cell", "perfkit-title", "perfkit-record"}
TITLE_TAG, RECORD_TAG = "perfkit-title", "perfkit-record"


class DropStderr(Preprocessor):
    """Remove stderr streams (library warnings) from outputs: readers need the results."""

    def preprocess_cell(self, cell, resources, index):
        if cell.get("cell_type") == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        return cell, resources


class KeepHeadingWithNext(Preprocessor):
    """Move the output of a heading cell (tag ``perfkit-heading``) into the next cell that shows something,
    so that a section heading and what it heads are one block (tag ``perfkit-keep``), and never split
    across a page break with the heading alone at the foot of a page."""

    def preprocess(self, nb, resources):
        held = []
        for cell in nb.cells:
            if cell.get("cell_type") != "code":
                continue
            tags = cell.get("metadata", {}).get("tags", [])
            if "perfkit-heading" in tags:
                held += cell.outputs
                cell.outputs = []
            elif held and cell.outputs:
                cell.outputs = held + cell.outputs
                cell.metadata["tags"] = [*tags, "perfkit-keep"]
                held = []
        if held:        # a heading with nothing after it: it stays where it was
            last = next(c for c in reversed(nb.cells) if "perfkit-heading" in c.get("metadata", {}).get("tags", []))
            last.outputs = held
        return nb, resources


def _tagged_output(notebook, tag: str, mime: str):
    for cell in notebook.cells:
        if tag in cell.get("metadata", {}).get("tags", []):
            for output in cell.get("outputs", []):
                if mime in output.get("data", {}):
                    return output["data"][mime]
    return None


def report_title(notebook) -> str | None:
    """The title the notebook's title cell shows (its Markdown heading, without the #)."""
    source = _tagged_output(notebook, TITLE_TAG, "text/markdown")
    if source is None:
        return None
    return "".join(source).strip().lstrip("#").strip() or None


def report_record(notebook) -> dict:
    """What the report concluded (score, rating, status), as the notebook's record cell displayed it."""
    record = _tagged_output(notebook, RECORD_TAG, "application/json")
    return dict(record) if isinstance(record, Mapping) else {}


_SNAPSHOTS: dict[tuple, str] = {}
_SNAPSHOT_LOCK = threading.Lock()


def data_snapshot(store: str | os.PathLike | None) -> str:
    """A short SHA-256 of the store file the report read (the same store gives the same snapshot)."""
    if not store or str(store) == ":memory:" or not Path(store).exists():
        return "—"
    path = Path(store).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _SNAPSHOT_LOCK:
        if key not in _SNAPSHOTS:
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            _SNAPSHOTS[key] = digest.hexdigest()[:16]
        return _SNAPSHOTS[key]


@dataclass
class ReportMeta:
    """What the title page and the provenance footer say about one report."""

    job: str
    title: str
    subject: str = ""
    lang: str = "zh"
    evaluating_body: str = ""
    document_number: str = ""
    draft: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)
    preset: str = "default"
    snapshot: str = "—"
    generated: str = field(default_factory=lambda: dt.datetime.now().strftime("%Y-%m-%d %H:%M"))

    def resources(self) -> dict:
        lang = self.lang
        cover = [(text("cover.evaluating_body", lang), self.evaluating_body),
                 (text("cover.document_number", lang), self.document_number),
                 (text("cover.date", lang), long_date(self.generated[:10], lang)),
                 (text("cover.snapshot", lang), self.snapshot)]
        shown = ", ".join(f"{k}={v}" for k, v in self.parameters.items() if k not in ("store",) and v is not None)
        provenance = [(text("cover.version", lang), f"perfkit {perfkit.__version__}"),
                      (text("cover.preset", lang), self.preset),
                      (text("cover.parameters", lang), shown),
                      (text("cover.store", lang), f"{self.parameters.get('store') or '—'} · {self.snapshot}"),
                      (text("cover.generated", lang), self.generated)]
        return {"title": self.title, "subject": self.subject, "body": self.evaluating_body,
                # the 文号 row stays, blank, for the bureau to fill in when it issues one
                "cover": [(label, value) for label, value in cover
                          if value or label == text("cover.document_number", lang)],
                "draft": text("cover.draft", lang) if self.draft else "",
                "provenance_title": text("cover.provenance", lang), "provenance": provenance,
                "version": perfkit.__version__}


@lru_cache(maxsize=1)
def _stylesheet() -> str:
    return (templates_dir() / "perfkit" / "static" / "perfkit.css").read_text(encoding="utf-8")


class ReportExporter(HTMLExporter):
    """nbconvert's HTML exporter without its own BeautifulSoup pass over the page.

    nbconvert parses its output once more to give images without a description nbconvert's English alt
    text and to make cells focusable; perfkit parses the page anyway (the charts' descriptions in the
    report's language, headings kept with their tables, the report check), so :func:`render_html` does
    nbconvert's part in that one parse (:func:`_focusable`). Two parses of a 100 kB page cost 0.1 s of
    every report in a batch.
    """

    def from_notebook_node(self, nb, resources=None, **kw):
        # HTMLExporter.from_notebook_node (nbconvert 7) up to its BeautifulSoup pass
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                                 resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)


_exporters = threading.local()


def _html_exporter(language_code: str) -> HTMLExporter:
    """This thread's exporter for a language: reused, so its Jinja templates are compiled once
    (compiling them took 0.2 s of every report in a batch)."""
    cache = _exporters.__dict__.setdefault("by_language", {})
    key = (language_code, str(templates_dir()))
    if key not in cache:
        # optimistic_validation: the notebook is validated once, after the preprocessors, not after each of
        # the fifteen, disabled ones included (nbconvert's default: 20 ms of every report in a batch)
        exporter = ReportExporter(template_name="perfkit", extra_template_basedirs=[str(templates_dir())],
                                  exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                                  language_code=language_code, optimistic_validation=True)
        exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags=REMOVE_TAGS, enabled=True),
                                       enabled=True)
        exporter.register_preprocessor(DropStderr(), enabled=True)
        exporter.register_preprocessor(KeepHeadingWithNext(), enabled=True)
        cache[key] = exporter
    return cache[key]


def export_html(notebook: nbformat.NotebookNode, meta: ReportMeta) -> str:
    """The executed notebook as a self-contained HTML report (code hidden) in perfkit's house style."""
    return render_html(notebook, meta)[0]


def render_html(notebook: nbformat.NotebookNode, meta: ReportMeta) -> tuple[str, Any]:
    """The report's HTML (as :func:`export_html`) and its parsed page (:mod:`perfkit.reports.page`), for the
    report check to read without parsing the page again (:func:`perfkit.reports.check.check_report` takes
    either)."""
    exporter = _html_exporter(LANGUAGE_CODES.get(meta.lang, meta.lang))
    resources = {"metadata": {"name": meta.title}, "perfkit": meta.resources(), "perfkit_css": _stylesheet()}
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    tree = page.parse(body)              # the one parse of the page: every pass below reads it
    _chart_descriptions(tree, meta.lang)
    _keep_headings_with_next(tree)       # (after: an alt text names its section's heading)
    _focusable(tree)
    return page.serialise(tree), tree


def _focusable(tree) -> None:
    """What nbconvert's HTML exporter does to every page, done in perfkit's parse (:class:`ReportExporter`):
    a cell's input and output can take the keyboard's focus."""
    notebook = page.first_with_class(tree, "jp-Notebook")
    if notebook is None:
        return
    for block in page.with_class(notebook, "jp-Cell-inputWrapper", "jp-OutputArea-output"):
        if block.tag == "div":
            block.set("tabindex", "0")


#: The class of a heading kept together with the table or chart it introduces (never stranded at a page foot).
KEEP_TOGETHER = "perfkit-keep-together"
_BLOCKS = ("h1", "h2", "h3", "h4", "p", "ul", "ol", "pre", "table", "img")
_IS_BLOCK = " or ".join(f"self::{tag}" for tag in _BLOCKS)
#: The first block after a heading's start: inside it, else after it (document order)
_NEXT_BLOCK = (f"descendant::*[{_IS_BLOCK}][1]", f"following::*[{_IS_BLOCK}][1]")
_PREVIOUS_HEADING = "preceding::*[self::h1 or self::h2 or self::h3 or self::h4][1]"


def _next_block(heading):
    for path in _NEXT_BLOCK:
        found = heading.xpath(path)
        if found:
            return found[0]
    return None


def _keep_headings_with_next(tree) -> bool:
    """Keep each heading on the page of the table or chart it introduces: heading and table (or chart) in one
    block that does not break inside. (They are different cells' outputs, and WeasyPrint does not carry a
    heading's ``break-after: avoid`` past its cell.) A wide table's block prints on its landscape page.
    Changes ``tree`` in place; True when it moved a heading."""
    moved = False
    for heading in list(page.content(tree).iterdescendants("h2", "h3", "h4")):
        following = _next_block(heading)
        if following is None or following.tag not in ("table", "img") or \
                next(following.iterancestors("table"), None) is not None:
            continue
        # the chart's output block, or the table itself (with the styler's <style> before it)
        if following.tag == "img":
            target = next((a for a in following.iterancestors() if page.has_class(a, "jp-OutputArea-output")), None)
        else:
            target = following
        if target is None or heading in target.iterancestors():
            continue
        classes = [KEEP_TOGETHER] + (["perfkit-wide"] if page.has_class(following, "wide") else [])
        block = tree.makeelement("div", {"class": " ".join(classes)})
        target.addprevious(block)
        block.append(page.detach(heading))
        block.append(page.detach(target))
        moved = True
    return moved


#: What nbconvert writes on an image without a description (in English, whatever the report's language).
NBCONVERT_ALT = "No description has been provided for this image"


def _chart_descriptions(tree, lang: str) -> bool:
    """Give every chart a description in the report's language: 图 N：<the section it illustrates>.
    Changes ``tree`` in place; True when a chart had none."""
    images = [img for img in tree.iter("img") if img.get("alt") in (None, "", NBCONVERT_ALT)]
    for number, img in enumerate(images, start=1):
        heading = img.xpath(_PREVIOUS_HEADING)
        section = page.text(heading[0]).rstrip("¶").strip() if heading else ""
        img.set("alt", text("figures.alt", lang, number=number, section=section or text("figures.untitled", lang)))
    return bool(images)


def export_pdf(html: str, path: str | os.PathLike) -> Path:
    """Render the HTML report as an A4 PDF (WeasyPrint), with the project's CJK font embedded.

    (A warm-kernel batch renders in the kernel instead: :func:`perfkit.reports.warm.render_pdf`.)
    """
    from perfkit.reports.pdf import render_here

    return render_here(html, path)


def export_docx(html: str, path: str | os.PathLike, *, draft: bool = False, lang: str = "zh") -> Path:
    """Convert the HTML report to Word (pandoc) fit to edit (:mod:`perfkit.reports.word`): the title page,
    A4 with page numbers, real headings, bordered tables with a repeating header row, numbered figures."""
    import pypandoc

    from perfkit.reports.word import finish_docx, reference_docx, word_html

    # the title page's title is the document title and 一、… are Heading 1; pandoc's zh labels are zh-Hans
    language = "zh-Hans" if lang == "zh" else "en"
    # --sandbox: pandoc reads only the files named here and fetches nothing (a URL from data stays text)
    arguments = ["--shift-heading-level-by=-1", f"--metadata=lang:{language}", "--quiet", "--sandbox",
                 f"--reference-doc={reference_docx()}"]
    pypandoc.convert_text(word_html(html, lang), "docx", format="html", outputfile=str(path), extra_args=arguments)
    return finish_docx(path, draft=draft, lang=lang)


# -- the index of everything produced --------------------------------------------------------------------
_INDEX_LOCK = threading.Lock()


def record_in_index(output_dir: str | os.PathLike, entry: dict) -> Path:
    """Add (or replace, by name) one report's entry in ``output_dir/index.json`` and rewrite ``index.html``."""
    output_dir = Path(output_dir)
    with _INDEX_LOCK:
        path = output_dir / "index.json"
        entries = {}
        if path.exists():
            try:
                entries = {e["name"]: e for e in json.loads(path.read_text(encoding="utf-8"))}
            except (ValueError, KeyError, TypeError):
                entries = {}
        entries[entry["name"]] = entry
        ordered = sorted(entries.values(), key=lambda e: (e.get("job", ""), e.get("name", "")))
        write_atomically(path, json.dumps(ordered, ensure_ascii=False, indent=1))
        write_atomically(output_dir / "index.html", index_html(ordered))
    return output_dir / "index.html"


def write_atomically(path: Path, content: str, encoding: str = "utf-8") -> None:
    """Write ``content`` beside ``path`` and move it into place: a kill or a full disk never leaves half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        temporary.write_text(content, encoding=encoding)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def index_html(entries: list[dict], lang: str = "zh") -> str:
    """The index page: every report with its job, subject, score or rating, status and a link per format."""
    esc = html_lib.escape
    head = [text(f"index.columns.{c}", lang) for c in ("job", "title", "subject", "result", "status", "files",
                                                      "generated")]
    rows = []
    for e in entries:
        links = " ".join(f'<a href="{esc(Path(p).name)}">{esc(fmt.upper())}</a>'
                         for fmt, p in sorted(e.get("outputs", {}).items()))
        result = e.get("result") or " ".join(str(v) for v in (e.get("score"), e.get("rating"))
                                             if v not in (None, ""))
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in (
            esc(e.get("job_label", e.get("job", ""))), esc(e.get("title", "")), esc(e.get("subject", "")),
            esc(result or "—"), esc(e.get("status_label", e.get("status", ""))), links,
            esc(e.get("generated", "")))) + "</tr>")
    title = text("index.title", lang)
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{_stylesheet()}</style></head><body class=\"perfkit-report\"><h1>{esc(title)}</h1>"
            f"<table><thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in head)}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></body></html>\n")
