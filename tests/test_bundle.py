"""The People's Congress bundle (issue 23, 4): one PDF of a batch's reports, checked with pypdf."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from pypdf import PdfReader

from perfkit.cli import main

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def department_batch(demo_store_path, tmp_path_factory):
    """A batch of two department evaluations (U001 final, U023 a draft: its review not yet in) and one unknown
    department, which fails in the manifest."""
    out = tmp_path_factory.mktemp("bundle")
    ids = out / "ids.txt"
    ids.write_text("U001\nU023\nU999\n", encoding="utf-8")
    code = main(["batch", "department-evaluation", "--ids", str(ids), "--year", "2025", "--store", str(demo_store_path),
                 "--output-dir", str(out / "reports"), "--format", "html,pdf", "--jobs", "2"])
    assert code == 4                                    # one report failed: the others were written
    return out


def test_the_bundle_binds_every_report_with_contents_bookmarks_and_page_numbers(department_batch):
    reports = department_batch / "reports"
    assert main(["bundle", str(reports), "--output", str(department_batch / "bundle.pdf"), "--title", "测试汇编"]) == 0
    bundle = PdfReader(department_batch / "bundle.pdf")
    parts = [PdfReader(reports / f"department_evaluation_{u}_2025.pdf") for u in ("U001", "U023")]
    front = len(bundle.pages) - sum(len(p.pages) for p in parts)
    assert front >= 2                                   # the cover and the contents
    # a bookmark per report at its first page, the report's own headings nested under it
    top = [(item.title, bundle.get_destination_page_number(item)) for item in bundle.outline
           if not isinstance(item, list)]
    starts = [front, front + len(parts[0].pages)]
    assert [page for _, page in top[1:]] == starts
    titles = {e["subject"]: e["title"] for e in json.loads((reports / "index.json").read_text(encoding="utf-8"))}
    assert top[1][0] == next(t for s, t in titles.items() if "U001" in s)
    assert top[2][0].startswith(next(t for s, t in titles.items() if "U023" in s)) and "草稿" in top[2][0]
    # each report's pages are its own, in order
    for part, start in zip(parts, starts):
        assert bundle.pages[start].extract_text().split("汇编第")[0].strip()[:40] == \
            part.pages[0].extract_text().strip()[:40]
    # the contents give each report's first page (1-based, as printed) and the failure is listed
    contents = bundle.pages[1].extract_text()
    for start in starts:
        assert re.search(rf"(^|\s){start + 1}\s*$", contents, re.M), contents
    assert "U999" in "".join(bundle.pages[i].extract_text() for i in range(front))
    # continuous page numbers: every page after the cover carries its number in the bundle
    for number, page in enumerate(bundle.pages[1:], start=2):
        assert f"汇编第 {number} 页" in page.extract_text(), number
    assert "汇编第" not in bundle.pages[0].extract_text()


def test_the_summary_workbook_lists_scores_figures_drafts_and_failures(department_batch, demo_store_path):
    import perfkit
    from perfkit.department import evaluate

    reports = department_batch / "reports"
    main(["bundle", str(reports), "--output", str(department_batch / "b2.pdf")])
    sheets = pd.read_excel(department_batch / "b2.xlsx", sheet_name=None)
    final, drafts, failed = sheets["正式报告"], sheets["草稿（待补充）"], sheets["未能收录"]
    assert len(final) == 1 and len(drafts) == 1 and len(failed) == 1
    assert "U999" in failed.iloc[0, 0]
    with perfkit.Store(demo_store_path, read_only=True) as store:
        result = evaluate(store, "U001", 2025)
    assert final.at[0, "得分"] == pytest.approx(round(result.total, 2))
    assert final.at[0, "调整后预算（万元）"] == pytest.approx(round(result.facts["budget_total"] / 1e4, 2))
    front = len(PdfReader(department_batch / "b2.pdf").pages) - sum(
        len(PdfReader(reports / f"department_evaluation_{u}_2025.pdf").pages) for u in ("U001", "U023"))
    assert final.at[0, "起始页码"] == front + 1
    assert pd.isna(drafts.at[0, "得分"])


def test_a_folder_without_reports_is_one_clear_line(tmp_path, capsys):
    assert main(["bundle", str(tmp_path), "--output", str(tmp_path / "b.pdf")]) == 3
    err = capsys.readouterr().err
    assert "index.json" in err and "Traceback" not in err and not (tmp_path / "b.pdf").exists()
