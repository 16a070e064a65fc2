"""The report check refuses what an official would not sign, each class on a constructed page."""
from __future__ import annotations

import numpy as np
import pytest

from perfkit.errors import ReportError
from perfkit.reports.check import assert_report, check_report
from perfkit.reports.display import rounded_parts
from perfkit.reports.export import ReportMeta


def page(content: str, *, draft: bool = False, number: str = "") -> str:
    """A report's HTML as the exporter writes it: title page, content, provenance."""
    mark = '<div class="perfkit-draft-mark">草稿（待补充）</div>' if draft else ""
    return (f'<html><body><section class="perfkit-cover">{mark}<h1>报告</h1><table class="perfkit-cover-facts">'
            f'<tr><th>评价机构</th><td>市财政局</td></tr><tr><th>文号</th><td>{number}</td></tr></table></section>'
            f"<main>{content}</main><footer>perfkit</footer></body></html>")


TABLE = ("<table><tr><th>项目</th><th>分值</th><th>得分</th></tr>"
         "<tr><td>决策</td><td>20.00</td><td>18.34</td></tr><tr><td>过程</td><td>80.00</td><td>69.29</td></tr>"
         "<tr><td>合计</td><td>100.00</td><td>{total}</td></tr></table>")


def test_a_clean_page_passes():
    assert check_report(page("<p>项目得分 87.63 分。</p>" + TABLE.format(total="87.63"))) == []


@pytest.mark.parametrize("prose", ["<p>nan：绩效目标与项目内容脱节</p>", "<p>负责人：None</p>",
                                   "<td>NaT</td>", "<p>单位 &lt;NA&gt;</p>"])
def test_values_left_from_the_data_are_refused(prose):
    assert any("left from the data" in p for p in check_report(page(prose)))


def test_markdown_left_as_text_is_refused():
    problems = check_report(page("<p>判断。**该项目无适用定额标准。**评估结论：待补充。</p>"))
    assert any("Markdown" in p for p in problems)


def test_row_numbers_as_an_unlabelled_first_column_are_refused():
    table = ("<table><tr><th></th><th>单位</th><th>问题数</th></tr>"
             + "".join(f"<tr><th>{i}</th><td>U{i}</td><td>{i + 1}</td></tr>" for i in range(4)) + "</table>")
    assert any("row numbers" in p for p in check_report(page(table)))


def test_parts_that_do_not_add_up_to_their_total_are_refused_unless_rounding_is_said():
    wrong = TABLE.format(total="87.62")
    assert any("do not add up" in p and "87.63" in p for p in check_report(page(wrong)))
    assert check_report(page(wrong + "<p>因四舍五入，分项之和与合计略有差异。</p>")) == []


def test_a_draft_must_say_so_and_a_final_report_must_not():
    assert any("draft without" in p for p in check_report(page("<p>得分 待补充</p>"), draft=True))
    assert check_report(page("<p>得分 待补充</p>", draft=True), draft=True) == []
    assert any("final report marked" in p for p in check_report(page("<p>x</p>", draft=True)))


def test_a_document_number_nobody_issued_is_refused():
    invented = page("<p>x</p>", number="财绩评〔2026〕P202500775号")
    assert any("nobody issued" in p for p in check_report(invented))
    assert check_report(invented, document_number="财绩评〔2026〕P202500775号") == []
    with pytest.raises(ReportError, match="fails the report check"):
        assert_report(invented, "key_evaluation_P1")


def test_the_title_page_leaves_the_document_number_blank_and_marks_a_draft():
    meta = ReportMeta(job="key-evaluation", title="重点绩效评价报告", lang="zh", draft=True)
    resources = meta.resources()
    assert ("文号", "") in resources["cover"] and resources["draft"] == "草稿（待补充）"
    assert ReportMeta(job="key-evaluation", title="Key evaluation", lang="en").resources()["draft"] == ""


@pytest.mark.parametrize("values", [[2.604, 2.556, 3.364, 3.506, 78.0], [1 / 3] * 3, [33.335, 33.335, 33.33],
                                    np.random.default_rng(0).uniform(0, 10, 20).tolist()])
def test_rounded_parts_add_up_to_the_rounded_total(values):
    parts = rounded_parts(values)
    assert round(sum(parts), 2) == round(sum(values), 2)
    assert np.all(np.abs(parts - np.asarray(values)) < 0.01 + 1e-12)       # each part moves less than a cent


@pytest.mark.notebook
def test_a_draft_report_is_marked_on_its_cover_and_every_page_and_has_no_document_number(demo_store_path, tmp_path):
    import pypdf

    from perfkit.reports import run_report
    report = run_report("key-evaluation", {"project_id": "P202500480", "store": str(demo_store_path)},
                        output_dir=tmp_path, formats="html,pdf,docx")
    assert report.record["status"] == "draft" and report.record["score"] is None
    import docx
    word = docx.Document(str(report.outputs["docx"]))
    assert word.sections[0].header.paragraphs[0].text == "草稿（待补充）"               # on every page
    assert "草稿（待补充）" in [p.text for p in word.paragraphs[:3]]                    # and on the title page
    html = report.outputs["html"].read_text(encoding="utf-8")
    assert 'class="perfkit-draft-mark">草稿（待补充）' in html and check_report(html, draft=True) == []
    pages = ["".join(page.extract_text().split()) for page in pypdf.PdfReader(report.outputs["pdf"]).pages]
    assert all("草稿（待补充）" in page for page in pages), [p[:40] for p in pages]
    assert '<th>文号</th><td class="perfkit-blank"></td>' in html               # no 文号 by rule, none given
    given = run_report("key-evaluation", {"project_id": "P202500775", "store": str(demo_store_path)},
                       output_dir=tmp_path, document_number="财绩评〔2026〕12号")
    assert "财绩评〔2026〕12号" in given.outputs["html"].read_text(encoding="utf-8")


@pytest.mark.notebook
def test_a_self_evaluation_is_evaluated_by_its_unit(demo_store_path, demo_store, tmp_path):
    from perfkit.reports import run_report
    unit = demo_store.query("SELECT unit_id, name FROM units WHERE unit_id = 'U023'").iloc[0]
    report = run_report("self-evaluation", {"unit_id": "U023", "year": 2025, "store": str(demo_store_path)},
                        output_dir=tmp_path)
    html = report.outputs["html"].read_text(encoding="utf-8")
    assert f'<div class="perfkit-cover-body">{unit["name"]}</div>' in html and "市财政局" not in html


def test_a_batch_of_unknown_or_ineligible_ids_fails_them_in_the_manifest(demo_store_path, tmp_path, capsys):
    import csv

    from perfkit.cli import main
    ids = tmp_path / "ids.txt"
    ids.write_text("P_NOPE\nP202500001\n", encoding="utf-8")     # unknown; a project without an expert panel
    assert main(["batch", "key-evaluation", "--ids", str(ids), "--store", str(demo_store_path),
                 "--output-dir", str(tmp_path / "out")]) == 3         # not one subject: nothing to run
    assert "P_NOPE" in capsys.readouterr().err and not (tmp_path / "out").exists()
    ids.write_text("P_NOPE\nP202500001\nP202500775\n", encoding="utf-8")   # ... beside a subject
    assert main(["batch", "key-evaluation", "--ids", str(ids), "--store", str(demo_store_path),
                 "--output-dir", str(tmp_path / "out"), "--format", "html"]) == 4
    out = capsys.readouterr().out
    assert "3 reports: 1 done, 0 skipped, 2 failed" in out and "P_NOPE" in out
    with open(tmp_path / "out" / "manifest.csv", encoding="utf-8-sig") as handle:
        rows = {row["subject"]: row for row in csv.DictReader(handle)}
    assert rows["P_NOPE"]["status"] == rows["P202500001"]["status"] == "failed"


def test_a_closed_pipe_ends_a_command_quietly(demo_store_path):
    """`perfkit tables | head`: the reader goes away before perfkit writes; perfkit ends quietly."""
    import subprocess
    import sys
    process = subprocess.Popen([sys.executable, "-m", "perfkit.cli", "tables", "--store", str(demo_store_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()                                     # the reader is gone before the first line
    error = process.stderr.read().decode()
    assert process.wait() == 0 and "BrokenPipeError" not in error and "Traceback" not in error, error


def test_a_year_column_prints_as_a_year():
    import pandas as pd

    from perfkit.reports.display import show
    html = show(pd.DataFrame({"基期年度": [2025, 2024], "样本数": [1458, 12000]})).styler.to_html()
    assert ">2025<" in html and "2,025" not in html and "12,000" in html


def test_a_year_printed_as_an_amount_is_refused():
    table = "<table><tr><th>方法</th><th>基期年度</th></tr><tr><td>中位数法</td><td>2,025</td></tr></table>"
    assert any("as amounts" in p for p in check_report(page(table)))


def test_every_command_that_writes_names_its_formats(capsys):
    from perfkit.cli import main
    with pytest.raises(SystemExit):
        main(["--help"])
    listing = " ".join(capsys.readouterr().out.split())
    for command, formats in (("demo", "HTML, PDF"), ("report", "DOCX"), ("batch", "manifest"),
                             ("standards", ".xlsx"), ("ex-ante", ".xlsx"), ("monitor", ".xlsx"),
                             ("demo-data", "CSV")):
        described = listing.split(f" {command} ", 1)[1][:140]
        assert formats in described, (command, described)


@pytest.mark.parametrize("job, record, worded", [
    ("key-evaluation", {"score": 89.3412, "rating": "良", "status": "final"}, "得分 89.34 分，等级“良”"),
    ("key-evaluation", {"score": None, "rating": "待补充", "status": "draft"}, "待补充（证据不全，无得分）"),
    ("quota-standards", {"score": 4393.82, "rating": "中位数法", "status": "final"}, "基本定额 4,393.82 元（中位数法）"),
    ("problem-cases", {"score": None, "rating": "265", "status": "final"}, "问题 265 个"),
    ("project-overview", {"score": None, "rating": None, "status": "final"}, "—"),
])
def test_the_index_words_each_result(job, record, worded):
    from perfkit.reports.display import result_text
    assert result_text(job, record, "zh") == worded


def test_a_chart_without_a_description_in_the_reports_language_is_refused():
    image = '<h2>三、执行偏离分布</h2><img src="data:image/png;base64,AAAA" alt="No description has been provided for this image">'
    assert any("chart without a description" in p for p in check_report(page(image)))
    from perfkit.reports import page as pages
    from perfkit.reports.export import _chart_descriptions
    tree = pages.parse(page(image))
    assert _chart_descriptions(tree, "zh")
    described = pages.serialise(tree)
    assert 'alt="图 1：三、执行偏离分布"' in described and check_report(described) == []


@pytest.mark.notebook
def test_a_report_that_fails_its_check_is_not_published(demo_store_path, tmp_path, monkeypatch):
    import re

    import perfkit.reports.check as check
    from perfkit.reports import run_report
    monkeypatch.setattr(check, "LEFTOVER", re.compile("基本情况"))      # a word every key evaluation has
    with pytest.raises(ReportError, match="fails the report check.*executed notebook kept"):
        run_report("key-evaluation", {"project_id": "P202500775", "store": str(demo_store_path)},
                   output_dir=tmp_path, formats="html,pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key_evaluation_P202500775.failed.ipynb"]


SCORES = ("<table><tr><th>三级指标</th><th>分值</th><th>得分</th></tr>"
          "<tr><td>制度执行有效性</td><td>4.70</td><td>2.94</td></tr>"
          "<tr><td>管理制度健全性</td><td>3.53</td><td>3.47</td></tr></table>")


def test_a_stated_deduction_or_score_that_is_not_the_tables_is_refused():
    right = "<p>资金审批手续不全（“制度执行有效性”扣 1.76 分）；制度缺失（“管理制度健全性”由专家评分，得 3.47 分（满分 3.53 分），本问题不另扣分）。</p>"
    assert check_report(page(right + SCORES)) == []
    raw = "<p>资金审批手续不全（“制度执行有效性”扣 1.5 分）。</p>"
    assert any("deducts 1.5" in p and "1.76" in p for p in check_report(page(raw + SCORES)))
    other = "<p>制度缺失（“管理制度健全性”扣 1 分）。</p>"                    # an expert item's loss is not 1
    assert any("deducts 1" in p for p in check_report(page(other + SCORES)))
    score = "<p>“管理制度健全性”得 3.53 分（满分 3.53 分）。</p>"
    assert any("3.53 of 3.53" in p for p in check_report(page(score + SCORES)))


def test_findings_are_charged_what_the_table_took_off(demo_store):
    """Each finding's charge: its deduction on a deduction item (shared out when they exceed the points,
    rescaled with the item), nothing on an item scored by experts or indicators; the notes say the same."""
    from nbconvert.filters import markdown2html

    from perfkit.evaluation import evaluate
    from perfkit.reports.key_evaluation import KeyEvaluationView
    for project in ("P202500775", "P202500044", "P202500480"):
        result = evaluate(demo_store, project)
        table = result.table.set_index("indicator")
        f = result.findings
        for item, charged in f[f["scored_by"] == "deduction"].groupby("item")["charged"].sum().items():
            assert charged == pytest.approx(table.at[item, "points"] - table.at[item, "score"], abs=1e-9)
        assert (f.loc[f["scored_by"] != "deduction", "charged"] == 0).all()
        for lang in ("zh", "en"):
            view = KeyEvaluationView(result, lang=lang)
            html = "".join(markdown2html(view.section(name).data) for name in ("conclusion", "problems"))
            scores = view.score_table().to_html(index=False)
            assert check_report(page(html + scores)) == [], project
    rescaled = evaluate(demo_store, "P202500480")
    row = rescaled.findings[rescaled.findings["item"] == "制度执行有效性"].iloc[0]
    assert row["deduction"] == 1.5 and row["charged"] == pytest.approx(1.5 * 4.70588 / 4, rel=1e-4)


def test_dates_in_prose_are_written_in_words():
    from perfkit.reports.display import long_date
    assert long_date("2026-08-31") == "2026年8月31日" and long_date("2026-08-31", "en") == "31 August 2026"


def test_a_pages_text_is_what_a_reader_sees_and_a_moved_block_leaves_the_text_around_it():
    """The page tree the export changes and the check reads (lxml): text without styles, scripts, head or
    comments, joined as a reader reads it; a block taken out keeps the text that followed it in place."""
    from perfkit.reports import page as pages

    tree = pages.parse("<!DOCTYPE html><html><head><title>题</title><style>p{color:red}</style></head><body><main>"
                       "前<p>甲 <b>乙</b></p>中<!-- 注 --><script>x = 1</script><p>丙&amp;丁&lt;</p>尾</main></body></html>")
    assert pages.text(tree) == "前 甲 乙 中 丙&丁< 尾"
    main = pages.first(tree, "main")
    moved = pages.detach(main.find("p"))
    assert moved.tail is None and pages.text(main) == "前中 丙&丁< 尾"
    written = pages.serialise(tree)
    assert written.startswith("<!DOCTYPE html>") and "前中<!-- 注 -->" in written and "丙&amp;丁&lt;" in written
    assert [e.tag for e in pages.with_class(pages.parse('<div class="a b"><p class="b"></p><p class="bb"></p></div>'),
                                            "b")] == ["div", "p"]
