"""Word reports fit to edit: the HTML report prepared for pandoc, and pandoc's DOCX finished with python-docx.

The page (A4, margins, the page number in the footer) and the fonts (an East Asian font in every style,
bordered tables) come from ``templates/perfkit/reference.docx``, which a bureau restyles in Word;
:func:`build_reference_docx` writes perfkit's. What depends on each report is done here:

* :func:`word_html` gives pandoc what it reads well: the title page as paragraphs (title, subject,
  evaluating body, 文号 when given or a blank for the bureau, date, data snapshot, the draft mark), each
  chart a figure with its numbered caption (its alt text, 图 N：…), no heading anchors (nbconvert's ¶);
* :func:`finish_docx` starts the content on a new page after the title page, gives every table a header row
  repeated on each page, rows that do not split, and column widths by their content (计分说明 wide, 分值
  narrow), and prints 草稿（待补充） in the page header of a draft.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

from perfkit.text import text

#: A4 in twentieths of a point, and the margins of a Chinese official report (2.54 cm, 3.17 cm at the sides).
A4 = (11906, 16838)
MARGINS = dict(top=1440, bottom=1440, left=1800, right=1800)
#: East Asian fonts of the styles: 宋体 for text, 黑体 for headings and the title (on every Chinese Windows).
BODY_FONT, HEADING_FONT = "宋体", "黑体"
#: The font size of table cells (the reference document's Compact style, 五号).
TABLE_FONT_PT = 10.5
#: The narrowest and widest share of a column, in ems of its longest cell.
_MIN_CHARS, _MAX_CHARS = 3, 20


def word_html(html: str, lang: str = "zh") -> str:
    """The HTML report prepared for pandoc: a title page of paragraphs, figures with captions, no anchors."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    # nbconvert's heading anchors (¶) and the PDF's running head (the DOCX has a page header instead)
    for leftover in soup.select("a.anchor-link, .perfkit-draft-running"):
        leftover.decompose()
    cover = soup.find(class_="perfkit-cover")
    if cover is not None:
        page = soup.new_tag("div")
        # pandoc takes the title from <title> (the reference document's Title style); under it, in Subtitle
        # style, the subject and a draft's mark (a heading here would be read as the document's title)
        for part in cover.find_all(class_=["perfkit-draft-mark", "perfkit-cover-subject"]):
            styled = soup.new_tag("div", attrs={"data-custom-style": "Subtitle"})
            paragraph = soup.new_tag("p")
            paragraph.string = part.get_text(" ", strip=True)
            styled.append(paragraph)
            page.append(styled)
        for row in cover.select("table tr"):
            cells = row.find_all(["th", "td"])
            if len(cells) == 2:
                styled = soup.new_tag("div", attrs={"data-custom-style": "Author"})   # centred, as on the PDF
                paragraph = soup.new_tag("p")
                # a blank field is a line the bureau fills in by hand
                value = cells[1].get_text(" ", strip=True) or "＿" * 12
                paragraph.string = f"{cells[0].get_text(' ', strip=True)}：{value}" if lang == "zh" else \
                    f"{cells[0].get_text(' ', strip=True)}: {value}"
                styled.append(paragraph)
                page.append(styled)
        # pandoc reads only <main> when there is one: the title page goes at its start
        main = soup.find("main")
        cover.decompose()
        if main is not None:
            main.insert(0, page)
        else:
            (soup.body or soup).insert(0, page)
    # numbers right-aligned as in the PDF: a column whose body cells are all numbers (the table's "num" class)
    for table in soup.find_all("table"):
        rows = [row.find_all(["td", "th"]) for row in table.find_all("tr")]
        body = [row for row in rows[1:] if row]
        for column in range(len(rows[0]) if rows else 0):
            cells = [row[column] for row in body if column < len(row)]
            if cells and all("num" in (cell.get("class") or []) for cell in cells):
                for cell in [rows[0][column], *cells]:
                    cell["style"] = "text-align: right"
    for image in soup.find_all("img"):
        if image.find_parent("figure") is not None:
            continue
        figure = soup.new_tag("figure")
        image.wrap(figure)
        caption = soup.new_tag("figcaption")
        caption.string = image.get("alt", "")
        figure.append(caption)
    return str(soup)


def finish_docx(path: str | os.PathLike, *, draft: bool = False, lang: str = "zh") -> Path:
    """Finish pandoc's DOCX in place: content from page 2, tables fit to read and edit, a draft's header."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document(str(path))
    section = document.sections[0]
    # the page of the reference document (pandoc keeps only part of it)
    reference = docx.Document(str(reference_docx())).sections[0]
    for attribute in ("page_width", "page_height", "top_margin", "bottom_margin", "left_margin", "right_margin"):
        setattr(section, attribute, getattr(reference, attribute))
    _copy_footer(reference, section)
    headings = [p for p in document.paragraphs if p.style.name == "Heading 1"]
    if headings:
        headings[0].paragraph_format.page_break_before = True
    if draft:
        header = section.header.paragraphs[0] if section.header.paragraphs else section.header.add_paragraph()
        header.text = text("cover.draft", lang)
        header.alignment = 1
    width = int(section.page_width - section.left_margin - section.right_margin)     # EMU
    for table in document.tables:
        table.autofit = False
        properties = table._tbl.tblPr
        layout = OxmlElement("w:tblLayout")
        layout.set(qn("w:type"), "fixed")
        properties.append(layout)
        table_width = properties.find(qn("w:tblW"))
        table_width.set(qn("w:type"), "dxa")
        table_width.set(qn("w:w"), str(width // 635))                                   # twips
        # a column needs its longest cell's width (its header may wrap to two lines)
        needs = [min(max(max((_display_width(cell.text) for cell in column.cells[1:]), default=0),
                         _display_width(column.cells[0].text) / 2, _MIN_CHARS), _MAX_CHARS)
                 for column in table.columns]
        shares = _fit(needs, width / 12700 / TABLE_FONT_PT)          # the text width in ems of the table font
        total = sum(shares) or 1
        grid = table._tbl.tblGrid.findall(qn("w:gridCol"))
        for position, (column, share) in enumerate(zip(table.columns, shares)):
            column_width = int(width * share / total)
            if position < len(grid):
                grid[position].set(qn("w:w"), str(column_width // 635))
            for cell in column.cells:
                cell.width = column_width
        for row in table.rows:
            row_properties = row._tr.get_or_add_trPr()
            if row_properties.find(qn("w:cantSplit")) is None:
                row_properties.append(OxmlElement("w:cantSplit"))
        first = table.rows[0]._tr.get_or_add_trPr()
        if first.find(qn("w:tblHeader")) is None:
            first.append(OxmlElement("w:tblHeader"))
    document.save(str(path))
    return Path(path)


def _display_width(value: str) -> float:
    """A cell's longest line in ems as a reader sees it (a Chinese character 1, a Latin one about 0.65), plus
    the cell's margins."""
    lines = value.splitlines() or [""]
    return 1.2 + max(sum(1.0 if ord(ch) > 0x2E80 else 0.65 for ch in line) for line in lines)


def _fit(needs: list[float], available: float) -> list[float]:
    """Column widths: each what it needs when they fit; otherwise the widest are narrowed to a common cap
    (text wraps there, numbers and short labels keep their line)."""
    if sum(needs) <= available:
        return needs
    low, high = 0.0, max(needs)
    for _ in range(50):
        cap = (low + high) / 2
        low, high = (cap, high) if sum(min(n, cap) for n in needs) < available else (low, cap)
    return [min(n, low) for n in needs]


def _copy_footer(reference, section) -> None:
    """Give the document the reference's footer (its page number field)."""
    target = section.footer._element
    for child in list(target):
        target.remove(child)
    for child in reference.footer._element:
        target.append(copy.deepcopy(child))
    section.footer.is_linked_to_previous = False


def reference_docx() -> Path:
    """The Word reference document whose page and styles a DOCX report takes."""
    from perfkit.reports.export import templates_dir

    return templates_dir() / "perfkit" / "reference.docx"


def build_reference_docx(source: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Write perfkit's reference document from pandoc's (``source``): A4 with the official margins, a page
    number centred in the footer, 宋体 text and 黑体 headings in black, bordered tables."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor, Twips

    document = docx.Document(str(source))
    section = document.sections[0]
    section.page_width, section.page_height = Twips(A4[0]), Twips(A4[1])
    for side, value in MARGINS.items():
        setattr(section, f"{side}_margin", Twips(value))
    footer = section.footer.paragraphs[0] if section.footer.paragraphs else section.footer.add_paragraph()
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    number = OxmlElement("w:t")
    number.text = "1"
    run.append(number)
    field.append(run)
    footer._p.append(field)
    for style in document.styles:
        if style.type != 1 and style.name != "Table":     # paragraph and character styles, the table style
            continue
        heading = style.name.startswith(("Heading", "Title"))
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        fonts.set(qn("w:eastAsia"), HEADING_FONT if heading else BODY_FONT)
        if heading:
            style.font.color.rgb = RGBColor(0, 0, 0)
    document.styles["Normal"].font.size = Pt(12)                        # 小四
    document.styles["Compact"].font.size = Pt(TABLE_FONT_PT)            # 五号: table cells
    document.styles["Title"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.styles["Title"].paragraph_format.space_before = Pt(120)     # the title a third down the page
    document.styles["Title"].paragraph_format.space_after = Pt(36)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        line = OxmlElement(f"w:{edge}")
        for key, value in (("val", "single"), ("sz", "4"), ("space", "0"), ("color", "000000")):
            line.set(qn(f"w:{key}"), value)
        borders.append(line)
    table_style = document.styles["Table"].element
    table_properties = table_style.find(qn("w:tblPr"))
    if table_properties is None:
        table_properties = OxmlElement("w:tblPr")
        table_style.append(table_properties)
    for old in table_properties.findall(qn("w:tblBorders")):
        table_properties.remove(old)
    table_properties.append(borders)
    document.save(str(path))
    return Path(path)


__all__ = ["build_reference_docx", "finish_docx", "reference_docx", "word_html"]
