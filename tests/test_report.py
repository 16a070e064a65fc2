"""The first notebook-to-report slice: papermill runs and nbconvert HTML exports, for real."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import perfkit

from perfkit.reports import ReportError, get_job, run_report
from perfkit.evaluation import completion
from perfkit.reports.project_overview import project_overview
from perfkit.text import render

ROOT = Path(__file__).resolve().parents[1]


def _first_project(store, year):
    return store.query(f"""SELECT p.project_id FROM projects p JOIN execution e USING (project_id)
                           WHERE p.year = {year} GROUP BY 1 ORDER BY 1 LIMIT 1""")["project_id"].iloc[0]


@pytest.mark.notebook
def test_project_overview_report_in_chinese(demo_store, demo_store_path, tmp_path):
    project_id = _first_project(demo_store, 2025)
    name = demo_store.query("SELECT name FROM projects WHERE project_id = ?", [project_id])["name"].iloc[0]
    report = run_report("project-overview", {"project_id": project_id, "store": str(demo_store_path)},
                        output_dir=tmp_path)
    html = report.html.read_text(encoding="utf-8")
    assert '<html lang="zh">' in html
    assert name in html and "预算执行进度" in html and "绩效目标完成情况" in html
    assert html.count("jp-RenderedImage jp-OutputArea-output") == 2   # the two charts
    assert "project_overview(" not in html                     # code is hidden
    assert "Traceback" not in html
    assert not list(tmp_path.glob(".perfkit-*"))               # no temporary left behind
    executed = nbformat.read(report.notebook, as_version=4)
    assert executed.metadata["papermill"]["parameters"]["project_id"] == project_id


@pytest.mark.notebook
def test_project_overview_in_english(demo_store, demo_store_path, tmp_path):
    project_id = _first_project(demo_store, 2026)
    report = run_report("project-overview", {"project_id": project_id, "store": str(demo_store_path)},
                        output_dir=tmp_path, lang="en")
    html = report.html.read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Budget execution" in html and "Targets against actuals" in html


@pytest.mark.notebook
def test_a_failing_run_writes_no_report(demo_store_path, tmp_path):
    # a notebook given by path has no preflight: its kernel runs and fails in a cell
    with pytest.raises(ReportError, match="KeyError.*P000000000"):
        run_report(get_job("project-overview").notebook_path, {"project_id": "P000000000",
                                                                "store": str(demo_store_path)},
                   output_dir=tmp_path, name="broken")
    assert not (tmp_path / "broken.html").exists()
    assert (tmp_path / "broken.failed.ipynb").exists()


def test_a_missing_subject_fails_before_a_kernel(demo_store_path, tmp_path):
    with pytest.raises(perfkit.DataError, match="P000000000 不在数据库中"):
        run_report("project-overview", {"project_id": "P000000000", "store": str(demo_store_path)},
                   output_dir=tmp_path, name="broken")
    assert not list(tmp_path.glob("broken*"))


@pytest.mark.notebook
def test_plain_papermill_runs_the_notebook(demo_store, demo_store_path, tmp_path):
    project_id = _first_project(demo_store, 2024)
    out = tmp_path / "out.ipynb"
    papermill = Path(sys.executable).parent / "papermill"
    subprocess.run([str(papermill), str(get_job("project-overview").notebook_path), str(out),
                    "-p", "project_id", project_id, "-p", "store", str(demo_store_path), "--no-progress-bar"],
                   check=True, capture_output=True, cwd=tmp_path)
    executed = nbformat.read(out, as_version=4)
    images = [o for c in executed.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 2


def test_chart_renders_chinese_with_the_bundled_font(demo_store):
    from PIL import Image
    import matplotlib
    matplotlib.use("Agg")
    view = project_overview(demo_store, _first_project(demo_store, 2025))
    with _no_missing_glyph_warning():
        fig = view.plot_execution()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    assert Image.open(buffer).size[0] > 100


@pytest.mark.notebook
def test_a_chart_cell_draws_its_chart_once_and_leaves_no_figure_behind():
    """pyplot's post-execute hook redrew every figure it knew before the inline backend drew it again as the
    cell's PNG; a report's chart is unknown to pyplot and drawn only for the PNG. Counted with matplotlib's
    draw events in a real kernel with the inline backend active (whose figure printer would draw a tight
    bounding box in two passes: the layout, then the picture; ReportFigure.png draws once)."""
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        "import matplotlib.pyplot as plt\n"
        "from perfkit.reports.display import figure\n"
        "fig, ax = figure(figsize=(4, 3))\n"
        "ax.bar(['甲', '乙'], [1, 2])\n"
        "draws = []\n"
        "fig.canvas.mpl_connect('draw_event', lambda event: draws.append(event))\n"
        "fig",
        "print(len(draws), plt.get_fignums())")])
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    chart, counted = notebook.cells[0].outputs, notebook.cells[1].outputs
    assert [o["output_type"] for o in chart] == ["execute_result"] and "image/png" in chart[0]["data"]
    assert counted[0]["text"].strip() == "1 []"       # drawn once, for its PNG; pyplot holds no figure


def test_a_saved_chart_keeps_its_longest_label_whole():
    """A report chart is saved to the box of what it draws: a label longer than the margin widens the picture
    instead of being cut at the figure's edge (the charts call no tight_layout)."""
    from PIL import Image
    from perfkit.reports.display import figure

    fig, ax = figure(figsize=(4, 3))
    ax.barh(["一个名称非常非常非常非常非常非常长的三级指标"], [1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    label = ax.get_yticklabels()[0].get_window_extent(fig.canvas.get_renderer())
    assert label.x0 < 0                                  # the label starts left of the figure's own edge
    assert Image.open(buffer).size[0] >= label.width + ax.bbox.width   # the saved picture holds it and the axes


def test_a_shown_chart_is_the_picture_a_tight_print_makes_drawn_once():
    """ReportFigure.png draws once and cuts the tight box out of the drawing: the picture IPython's
    print_figure makes in two passes, to the pixel in size and within a sub-pixel shift in content; a
    label reaching past the drawn margin is printed print_figure's way, whole."""
    import numpy as np
    from IPython.core.pylabtools import print_figure
    from PIL import Image

    from perfkit.reports.display import figure

    def chart(label: str):
        fig, ax = figure(figsize=(4, 3))
        ax.barh([label, "乙"], [1, 2])
        ax.set_title("得分")
        draws = []
        fig.canvas.mpl_connect("draw_event", draws.append)
        return fig, draws

    def picture(data: bytes):
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)

    fig, draws = chart("一个较长的三级指标名称")          # reaches past the figure's edge, not past the margin
    shown = fig._repr_mimebundle_()["image/png"]
    assert len(draws) == 1
    printed = print_figure(chart("一个较长的三级指标名称")[0], "png")
    ours, theirs = picture(shown), picture(printed)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).mean() < 8 and (ours < 128).sum() == pytest.approx((theirs < 128).sum(), rel=0.05)
    far = "一个名称" + "非常" * 30 + "长的指标"                # wider than the drawn margin: printed the usual way
    fig, draws = chart(far)
    assert fig.png() == print_figure(chart(far)[0], "png") and len(draws) == 3   # measured, laid out, drawn


class _no_missing_glyph_warning:
    """Fail when matplotlib reports a glyph missing from the font (Chinese shown as boxes)."""

    def __enter__(self):
        import warnings
        self._catch = warnings.catch_warnings(record=True)
        self.caught = self._catch.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        missing = [str(w.message) for w in self.caught if "missing from" in str(w.message)]
        assert not missing, missing


def test_the_font_is_the_freely_licensed_noto_sans_cjk():
    from perfkit.reports.display import CJK_FONT_NAME, cjk_font_path, use_cjk_font
    from matplotlib import font_manager
    assert cjk_font_path().name == "NotoSansCJKsc-Regular.otf"
    assert use_cjk_font() == CJK_FONT_NAME
    assert font_manager.FontProperties(family=CJK_FONT_NAME).get_name() == CJK_FONT_NAME
    assert Path(font_manager.findfont(CJK_FONT_NAME)).name == "NotoSansCJKsc-Regular.otf"


@pytest.mark.parametrize("polarity, target, actual, expected", [
    ("positive", 100, 80, 0.8), ("positive", 100, 120, 1.2), ("positive", 0, 5, float("nan")),
    ("reverse", 10, 20, 0.5), ("reverse", 10, 0, 1.0), ("equal", 100, 90, 0.9), ("equal", 100, 250, 0.0),
    ("positive", 100, float("nan"), float("nan")),
])
def test_completion_by_polarity(polarity, target, actual, expected):
    got = completion(polarity, target, actual)
    assert (got != got and expected != expected) or got == pytest.approx(expected)


def test_data_quality_notes_name_the_gaps(demo_store):
    odd = demo_store.query("""
        WITH d AS (SELECT project_id, spent_cumulative - lag(spent_cumulative) OVER
                   (PARTITION BY project_id ORDER BY month) AS diff FROM execution)
        SELECT min(project_id) AS p FROM d WHERE diff < 0""")["p"].iloc[0]
    notes = project_overview(demo_store, odd).notes
    assert any("累计支出下降" in render(n) for n in notes)


def test_notebooks_are_committed_clean_and_parameterised():
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), path.name
        tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, path.name
        assert "store" in "".join(tagged[0]["source"]) and "lang" in "".join(tagged[0]["source"])


def test_charts_use_the_shipped_font_file_even_when_the_system_has_the_same_family(tmp_path):
    """A system copy of Noto Sans CJK SC (Debian's fonts-noto-cjk) must not replace the shipped file."""
    import shutil
    from matplotlib import font_manager
    from perfkit.reports.display import CJK_FONT_NAME, cjk_font_path, use_cjk_font
    system_copy = tmp_path / "NotoSansCJK-Regular.otf"
    shutil.copy(cjk_font_path(), system_copy)
    font_manager.fontManager.addfont(str(system_copy))        # what a system font of the same name looks like
    use_cjk_font.cache_clear()
    assert use_cjk_font() == CJK_FONT_NAME
    assert Path(font_manager.findfont(CJK_FONT_NAME)) == cjk_font_path()


def test_the_pdf_embeds_the_shipped_font_under_a_name_no_system_font_has(tmp_path):
    import pypdf
    from perfkit.reports.pdf import PDF_FONT_FAMILY, render_here
    path = render_here('<html><body class="perfkit-report"><p>预算绩效评价 2025</p></body></html>',
                       tmp_path / "font.pdf")
    fonts = {font.get_object()["/BaseFont"] for page in pypdf.PdfReader(path).pages
             for font in page["/Resources"]["/Font"].values()}
    assert fonts and all(name.split("+")[-1] == PDF_FONT_FAMILY.replace(" ", "-") for name in fonts)


def test_a_report_styled_pdf_embeds_only_the_shipped_font_cut_to_its_characters(tmp_path):
    """The house style names the screen's family (a system Noto Sans CJK when one is installed): the PDF
    still embeds the shipped font, cut down to the report's characters, and renders in a few seconds.
    A list's markers, which the HTML does not hold, come from that font too (no system font embedded)."""
    import time

    import pypdf
    from perfkit.reports.pdf import PDF_FONT_FAMILY, render_here
    from perfkit.reports.registry import templates_dir
    css = (templates_dir() / "perfkit" / "static" / "perfkit.css").read_text(encoding="utf-8")
    html = (f'<html><head><style>{css}</style></head><body class="perfkit-report"><h1>重点绩效评价报告</h1>'
            f'<p><b>预算执行率</b> 38.6%，项目得分 89.34 分。</p><table><tr><th>一级指标</th><td>决策</td></tr>'
            f'</table><ul><li>问题一</li><li>问题二<ul><li>原因</li></ul></li></ul></body></html>')
    started = time.perf_counter()
    path = render_here(html, tmp_path / "styled.pdf")
    elapsed = time.perf_counter() - started
    fonts = {font.get_object()["/BaseFont"].split("+")[-1] for page in pypdf.PdfReader(path).pages
             for font in page["/Resources"]["/Font"].values()}
    family = PDF_FONT_FAMILY.replace(" ", "-")
    assert fonts and fonts <= {family, f"{family}-Bold"}, fonts
    assert path.stat().st_size < 300_000 and elapsed < 8, (path.stat().st_size, elapsed)
    assert "•" in "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
