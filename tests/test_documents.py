"""Reports fit to file: A4 PDF with the CJK font embedded, Word with real headings and tables, self-contained
HTML, escaped data, formula-safe workbooks, complete lists and an index of everything produced."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

import perfkit
from conftest import pick_subjects
from test_architecture import visible_text

JOBS = ["project-overview", "key-evaluation", "self-evaluation", "department-evaluation", "ex-ante", "monitoring",
        "quota-standards"]
PAYLOADS = {"script": "<script>alert(1)</script>", "img": '<img src=x onerror="alert(2)">',
            "formula": '=HYPERLINK("http://evil.example","点击")', "tex": "$x^2$ 项目"}


@pytest.mark.notebook
@pytest.mark.parametrize("job", JOBS)
def test_pdf_is_a4_with_the_chinese_title_and_the_cjk_font_embedded(job_reports, job):
    from pypdf import PdfReader
    report = job_reports[job, "zh"]
    pdf = PdfReader(report.pdf)
    for page in pdf.pages[:2]:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842)            # A4 in points
    first_pages = "".join(page.extract_text() for page in pdf.pages[:2])
    assert report.title.replace(" ", "")[:12] in first_pages.replace(" ", "").replace("\n", "")
    fonts = set()
    for page in pdf.pages:
        for font in (page.get("/Resources") or {}).get("/Font", {}).values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor") or font.get("/DescendantFonts", [{}])[0].get_object().get(
                "/FontDescriptor")
            if descriptor is not None and any(k in descriptor.get_object() for k in ("/FontFile", "/FontFile2",
                                                                                   "/FontFile3")):
                fonts.add(str(font.get("/BaseFont")))
    assert any("NotoSansCJK" in name.replace("-", "") for name in fonts), fonts
    assert len(pdf.pages) >= 2 and "/ " in pdf.pages[1].extract_text()   # page numbers "n / N"


@pytest.mark.notebook
@pytest.mark.parametrize("job", JOBS)
def test_docx_has_real_headings_and_a_table(job_reports, job):
    with zipfile.ZipFile(job_reports[job, "zh"].docx) as docx:
        document = docx.read("word/document.xml").decode("utf-8")
    paragraphs = re.findall(r"<w:p>.*?</w:p>|<w:p .*?</w:p>", document, re.S)
    headings = ["".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", p)) for p in paragraphs
                if 'w:val="Heading1"' in p]
    assert any(h.startswith("一、") for h in headings), headings[:5]
    assert "<w:tbl>" in document
    if job in ("project-overview", "key-evaluation", "department-evaluation", "monitoring", "quota-standards"):
        assert "<pic:pic" in document or "<w:drawing>" in document          # the charts are embedded


@pytest.mark.notebook
@pytest.mark.parametrize("job", JOBS)
def test_docx_is_fit_to_edit(job_reports, job):
    """The Word file an official edits: the PDF's title page, A4, page numbers, bordered tables whose header
    row repeats and whose columns fit their content, an East Asian font, numbered captions, no ¶ anchors."""
    import docx
    from docx.oxml.ns import qn
    report = job_reports[job, "zh"]
    document = docx.Document(str(report.docx))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert 'w:instr="PAGE"' in section.footer._element.xml or "PAGE" in section.footer._element.xml
    paragraphs = [p.text for p in document.paragraphs]
    assert "¶" not in "".join(paragraphs)
    title_page = paragraphs[:paragraphs.index(next(p.text for p in document.paragraphs
                                                   if p.style.name == "Heading 1"))]
    assert report.title.replace(" ", "")[:10] in "".join(title_page).replace(" ", "")
    assert any(line.startswith("文号：") for line in title_page)                      # blank, for the bureau
    assert any(line.startswith("报告日期：") and "年" in line for line in title_page)
    assert any(line.startswith("数据快照：") for line in title_page)
    first_heading = next(p for p in document.paragraphs if p.style.name == "Heading 1")
    assert first_heading.paragraph_format.page_break_before                        # the content on page 2
    fonts = document.styles["Normal"].element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia"))
    assert document.styles["Table"].element.find(f"{qn('w:tblPr')}/{qn('w:tblBorders')}") is not None
    for table in document.tables:
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
        widths = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
        assert sum(widths) <= 16 * 567 and min(widths) > 0                        # within the text width
    captions = [p.text for p in document.paragraphs if p.style.name == "Image Caption"]
    pictures = document.inline_shapes
    assert len(captions) == len(pictures)
    assert all(re.match(r"图 \d+：", c) for c in captions), captions
    for number, shape in enumerate(pictures, start=1):
        assert shape._inline.docPr.get("descr", "").startswith(f"图 {number}：")     # alt text


@pytest.mark.notebook
@pytest.mark.parametrize("job", JOBS)
def test_the_executed_notebook_reads_in_the_reports_language(job_reports, job):
    """An English report's notebook opens in JupyterLab in English: its introduction and parameter comments;
    its record cell shows a worded line beside the JSON the runner reads."""
    import nbformat
    for lang in ("zh", "en"):
        notebook = nbformat.read(str(job_reports[job, lang].notebook), as_version=4)
        intro = next(c for c in notebook.cells if "remove-cell" in c.metadata.get("tags", []))
        assert bool(re.search(r"[\u4e00-\u9fff]", intro.source.splitlines()[0])) == (lang == "zh")
        recorded = next(c for c in notebook.cells if "perfkit-record" in c.metadata.get("tags", []))
        bundle = recorded.outputs[-1]["data"]
        assert "application/json" in bundle and ("本报告结果" if lang == "zh" else "This report's result") \
            in bundle["text/plain"]


@pytest.mark.notebook
@pytest.mark.parametrize("job", JOBS)
def test_html_is_self_contained_complete_and_free_of_nan(job_reports, job):
    for lang in ("zh", "en"):
        report = job_reports[job, lang]
        html = report.html.read_text(encoding="utf-8")
        assert "<script" not in html and not re.search(r"""(src|href)=["']?https?://""", html)
        assert f"<title>{report.title}" in html or "<title>" in html and report.title
        text = visible_text(html)
        assert not re.search(r"\bNaN\b|\bNone\b|\bnan\b", text), re.findall(r".{30}(?:NaN|None|nan).{30}", text)
        assert "perfkit " + perfkit.__version__ in text                     # the provenance footer
        assert ("文号" if lang == "zh" else "Document number") in text           # the title page
    assert job_reports[job, "en"].html.name.endswith("_en.html")               # never overwrites the Chinese


@pytest.mark.notebook
def test_long_lists_say_where_the_rest_is(job_reports):
    text = visible_text(job_reports["monitoring", "zh"].html.read_text(encoding="utf-8"))
    assert re.search(r"以上为需关注项目的前 50 项（共 \d+ 项）", text) or "以上为全部" in text


@pytest.mark.notebook
def test_index_lists_every_report_with_links(job_reports):
    index = job_reports["key-evaluation", "zh"].html.parent / "index.html"
    html = index.read_text(encoding="utf-8")
    for job in JOBS:
        report = job_reports[job, "zh"]
        for path in report.outputs.values():
            assert f'href="{path.name}"' in html
        assert report.title in html
    key = job_reports["key-evaluation", "zh"].record
    assert key["status"] in ("final", "draft") and ("rating" in key)


class _Watcher:
    """A web server on 127.0.0.1 that counts the requests a report's renderers make (it must see none)."""

    def __init__(self):
        import http.server
        import threading
        seen = self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):            # noqa: N802 (the standard library's name)
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def watcher():
    watching = _Watcher()
    yield watching
    watching.server.shutdown()


def markdown_payload(url: str) -> str:
    """Text from data that Markdown would make a link, a remote image, a heading and autolinks."""
    return (f"[x](javascript:alert(1)) ![t]({url}/track.png) # 标题 见 {url}/bare 和 www.example.com "
            f"*强调* `代码` $x$ a@b.cn")


@pytest.fixture(scope="module")
def hostile_store(demo_frames, tmp_path_factory, watcher):
    """The demo city with hostile text where names and findings are."""
    frames = {name: frame.copy() for name, frame in demo_frames.items()}
    store_path = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    with perfkit.Store(":memory:") as scratch:
        scratch.load_frames(frames)
        subjects = pick_subjects(scratch)
    projects = frames["projects"]
    for project_id in (subjects["project-overview"]["project_id"], subjects["key-evaluation"]["project_id"]):
        projects.loc[projects["project_id"] == project_id, "name"] = PAYLOADS["script"] + PAYLOADS["tex"]
    units = frames["units"]
    units.loc[units["unit_id"] == subjects["self-evaluation"]["unit_id"], "name"] = PAYLOADS["img"]
    children = units["parent_id"] == subjects["self-evaluation"]["unit_id"]
    units.loc[children, "name"] = PAYLOADS["formula"]
    findings = frames["findings"]
    findings["description"] = PAYLOADS["img"] + markdown_payload(watcher.url)
    findings["recommendation"] = PAYLOADS["script"] + markdown_payload(watcher.url)
    for table, column in (("projects", "name"), ("units", "name"), ("requests", "name")):
        frame = frames[table]
        picked = frame.index[frame.index % 7 == 1]       # more names, beside the ones chosen above
        frame.loc[picked, column] = frame.loc[picked, column] + markdown_payload(watcher.url)
    requests = frames["requests"]
    requests.loc[requests["request_id"] == subjects["ex-ante"]["request_id"], "name"] = PAYLOADS["script"]
    directions = frames["directions"]
    directions.loc[directions["direction_id"] == subjects["quota-standards"]["direction"], "name"] = \
        PAYLOADS["script"] + PAYLOADS["tex"]
    indicators = frames["indicators"]
    indicators["name"] = indicators["name"].where(indicators.index % 3 != 0, PAYLOADS["formula"])
    with perfkit.Store(store_path) as store:
        store.load_frames(frames)
    return store_path, subjects


@pytest.mark.notebook
def test_hostile_text_is_escaped_in_every_report_and_never_a_formula(hostile_store, tmp_path, watcher):
    import docx

    from perfkit.cli import main
    from perfkit.reports import run_batch
    store_path, subjects = hostile_store
    assert main(["standards", "--store", str(store_path), "--output", str(tmp_path / "standards.xlsx")]) == 0
    batch = [(job, {**parameters, "store": str(store_path)}) for job, parameters in subjects.items()]
    # HTML (the PDF is printed from it: test_the_pdf_renderer_fetches_nothing_from_outside_the_report checks
    # the printing) and Word, the two documents a payload could reach in their own way
    outcomes = run_batch(batch, output_dir=tmp_path / "reports", max_workers=2, formats="html,docx")
    shown = 0
    for (job, _), outcome in zip(batch, outcomes):
        assert not isinstance(outcome, Exception), outcome       # a $…$ in a name does not crash a chart
        html = outcome.html.read_text(encoding="utf-8")
        assert "<script>alert" not in html and "<img src=x" not in html, job
        # data is text in every format: no link, no remote image, no heading, no autolink made of it
        assert not re.search(r'href="(javascript:|http://127|www\.)', html), job
        assert not re.search(r'<img[^>]+src="http', html) and "<h1>标题" not in html and "<em>强调" not in html, job
        shown += "[x](javascript:alert(1))" in visible_text(html)
        word = docx.Document(str(outcome.outputs["docx"]))
        assert not word.part.rels or all("127.0.0.1" not in rel.target_ref for rel in word.part.rels.values()
                                         if rel.is_external), job
    assert shown >= 3                                              # the payload is there, as the text it is
    assert watcher.requests == []                                  # and nothing was fetched while rendering
    overview = outcomes[0].html.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in overview
    # workbooks: a name from data that starts with = is stored as text
    assert main(["monitor", "--store", str(store_path), "--as-of", "2026-08-31",
                 "--output", str(tmp_path / "m.xlsx")]) == 0
    assert main(["ex-ante", "--store", str(store_path), "--output", str(tmp_path / "e.xlsx")]) == 0
    assert main(["results-application", "--year", "2025", "--store", str(store_path),
                 "--output", str(tmp_path / "r.xlsx")]) == 0
    leaders = 0
    for name in ("m.xlsx", "e.xlsx", "r.xlsx", "standards.xlsx"):
        for sheet in load_workbook(tmp_path / name).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (name, sheet.title, cell.coordinate, cell.value)
                    leaders += isinstance(cell.value, str) and cell.value.startswith("=")
    assert leaders > 0                                             # the payload is there, as text


def test_an_unknown_format_is_refused_before_a_kernel_starts(demo_store_path, tmp_path, capsys):
    from perfkit.cli import main
    assert main(["report", "project-overview", "--project", "P202500001", "--format", "pdf,xls",
                 "--store", str(demo_store_path), "--output-dir", str(tmp_path)]) == 2   # a usage error
    assert "unknown report format(s) xls" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_workbooks_have_filters_and_text_cells(tmp_path):
    import pandas as pd
    from perfkit.excel import write_workbook
    path = write_workbook(tmp_path / "w.xlsx", {"表": pd.DataFrame({"名称": ["=1+1", "+2", "@x", "普通"],
                                                                 "金额": [1.5, 2.0, 3.0, 4.0]})},
                          {"金额": "#,##0.00"})
    sheet = load_workbook(path)["表"]
    assert sheet.auto_filter.ref == "A1:B5" and sheet.freeze_panes == "A2"
    assert [c.data_type for c in sheet["A"][1:]] == ["s", "s", "s", "s"] and sheet["A2"].value == "=1+1"
    assert sheet["B2"].number_format == "#,##0.00"



def test_every_numeric_column_of_a_workbook_is_a_formatted_number(tmp_path):
    """No 16-digit floats and no numbers stored as text: a printed 99.4% is the number 0.994 shown as 99.4%."""
    import pandas as pd
    from perfkit.excel import write_workbook
    frame = pd.DataFrame({"年度": ["2024", "2025", "2025"], "执行率": ["99.4%", "12.0%", "待补充"],
                          "金额": ["1,234.56", "7.00", "—"], "得分": [87.123456789012345, 90.5, None],
                          "项目数": [1, 2, 3], "单位编码": ["007", "012", "U1"], "权重": [0.1234567, 0.5, 0.25]})
    sheet = load_workbook(write_workbook(tmp_path / "n.xlsx", {"表": frame}))["表"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [2024, 2025, 2025] and sheet["A2"].number_format == "0"
    assert rows[0][1] == pytest.approx(0.994) and sheet["B2"].number_format == "0.0%" and rows[2][1] == "待补充"
    assert rows[0][2] == pytest.approx(1234.56) and sheet["C2"].number_format == "#,##0.00" and rows[2][2] == "—"
    assert sheet["D2"].number_format == "#,##0.00##" and sheet["G2"].number_format == "#,##0.00##"
    assert sheet["E2"].number_format == "#,##0" and [r[5] for r in rows] == ["007", "012", "U1"]


@pytest.mark.notebook
@pytest.mark.parametrize("job", JOBS)
def test_provenance_names_the_store_and_its_snapshot_never_a_folder_of_this_machine(job_reports, job):
    from perfkit.reports.export import data_snapshot
    store = job_reports.store                       # the store these reports read (a worker's copy of the city)
    for lang in ("zh", "en"):
        html = job_reports[job, lang].html.read_text(encoding="utf-8")
        assert str(store.parent) not in html and str(Path(__file__).resolve().parents[1]) not in html
        assert f"{store.name} · {data_snapshot(store)}" in visible_text(html)


@pytest.mark.notebook
def test_a_report_without_a_store_reads_and_names_the_default_one(demo_store_path, tmp_path, monkeypatch):
    import duckdb
    from perfkit.reports import run_report
    from perfkit.reports.export import data_snapshot
    monkeypatch.setenv("PERFKIT_STORE", str(demo_store_path))
    with duckdb.connect(str(demo_store_path), read_only=True) as con:
        project = con.execute("SELECT min(project_id) FROM projects").fetchall()[0][0]
    report = run_report("project-overview", {"project_id": project}, output_dir=tmp_path, formats="html")
    shown = visible_text(report.outputs["html"].read_text(encoding="utf-8"))
    assert f"{demo_store_path.name} · {data_snapshot(demo_store_path)}" in shown


def test_the_pdf_renderer_fetches_nothing_from_outside_the_report(watcher, tmp_path):
    """Even an image or stylesheet URL that reached the HTML is not fetched: only data: URLs and perfkit's files."""
    from pypdf import PdfReader

    from perfkit.reports.pdf import render_here
    html = (f'<html><head><link rel="stylesheet" href="{watcher.url}/s.css"></head><body><p>报告 正文</p>'
            f'<img src="{watcher.url}/track.png"><img src="file:///etc/hostname"></body></html>')
    render_here(html, tmp_path / "r.pdf")
    assert watcher.requests == [] and "报告" in PdfReader(tmp_path / "r.pdf").pages[0].extract_text()
