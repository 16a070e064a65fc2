"""The report check: what the official who signs a report would refuse, found before it is published.

:func:`check_report` reads a report's HTML as a reader does (its visible text and its tables) and lists
what is wrong: values left over from the data (``nan``, ``None``, ``NaT``, ``<NA>``), Markdown left as
text (``**``), a deduction or an item's score stated in the text that is not the score table's, row numbers
printed as an unlabelled first column, years printed as amounts (2,025), charts without a description, printed parts that do not add up to
their printed total (unless the report says the difference is rounding, 因四舍五入), a draft without
its mark, and a 文号 the bureau did not issue. The runner checks every report (:func:`assert_report`);
a report that fails is a failed report, never published.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from perfkit.errors import ReportError
from perfkit.reports import page
from perfkit.reports.display import YEAR_COLUMN
from perfkit.reports.export import NBCONVERT_ALT

#: A value from the data that should have been worded (a missing value, an empty object).
# (the English word at a sentence's start is no leftover: "None stands out")
LEFTOVER = re.compile(r"(?<![\w.])(nan|NaN|NaT|<NA>)(?![\w(])|(?<![\w.])None(?![\w(])(?!\s+[a-z])")
#: Markdown that reached the reader as text: the outlines' bold markers (a single * may be the data's own)
MARKUP = re.compile(r"\*\*")
#: A total row's label.
TOTAL_LABELS = ("合计", "总计", "总分", "Total", "total")
#: Words that say a printed total differs from its parts by rounding.
ROUNDING_NOTES = ("四舍五入", "rounding")
_NUMBER = re.compile(r"^-?[\d,]*\.?\d+$")


def _number(cell: str) -> Decimal | None:
    """A printed plain number (``1,234.56``), None for anything else (text, percentages, dashes)."""
    cell = cell.strip()
    if not _NUMBER.match(cell):
        return None
    try:
        return Decimal(cell.replace(",", ""))
    except InvalidOperation:
        return None


def _rows(table) -> list[list[str]]:
    return [[page.text(cell) for cell in row.iterdescendants("th", "td")] for row in table.iterdescendants("tr")]


def _unlabelled_index(rows: list[list[str]]) -> bool:
    """Whole numbers under an empty first header: a frame's row numbers printed by mistake (a column of
    labels may have no header; a column of bare numbers without one says nothing to a reader)."""
    if len(rows) < 2 or not rows[0] or rows[0][0] != "":
        return False
    firsts = [row[0] for row in rows[1:] if row]
    return bool(firsts) and all(cell.isdigit() for cell in firsts)


def _sums(rows: list[list[str]]) -> list[str]:
    """Columns whose printed parts do not add up to the printed total row (parts: the rows above it)."""
    problems = []
    for position, row in enumerate(rows):
        if not row or row[0] not in TOTAL_LABELS or position < 2:
            continue
        header, parts = rows[0], [r for r in rows[1:position] if len(r) == len(row)]
        for column in range(1, len(row)):
            total = _number(row[column])
            values = [_number(r[column]) for r in parts]
            if total is None or not values or any(v is None for v in values):
                continue
            if sum(values) != total:
                name = header[column] if column < len(header) else str(column)
                problems.append(f"“{name}”: {' + '.join(map(str, values))} = {sum(values)}, printed {total}")
    return problems


#: A deduction stated in prose (“item”扣 1.50 分 / “item”: 1.50 points deducted) and an item's stated score.
STATED_DEDUCTION = re.compile(r"“([^”]+)”(?:扣 ?|: )([\d.]+) ?(?:分|points deducted)")
STATED_SCORE = re.compile(r"“([^”]+)”[^“”]{0,40}?(?:得 ?([\d.]+) ?分（满分 ?([\d.]+) ?分）|: ([\d.]+) of ([\d.]+) points)")


def _item_scores(tables: list[list[list[str]]]) -> dict[str, tuple[Decimal, Decimal]]:
    """Points and score of each item printed in a table with an item, a points and a score column."""
    from perfkit.text import texts

    printed = {}
    for lang in ("zh", "en"):
        h = texts("key_evaluation.headers", lang)
        for rows in tables:
            header = rows[0] if rows else []
            if not {h["indicator"], h["points"], h["score"]} <= set(header):
                continue
            at = {name: header.index(h[name]) for name in ("indicator", "points", "score")}
            for row in rows[1:]:
                if len(row) == len(header):
                    points, score = _number(row[at["points"]]), _number(row[at["score"]])
                    if points is not None and score is not None:
                        printed[row[at["indicator"]]] = (points, score)
    return printed


def _stated(words: str, tables: list[list[list[str]]]) -> list[str]:
    """Deductions and item scores the prose states that are not the score table's."""
    items = _item_scores(tables)
    if not items:
        return []
    problems, deducted = [], {}
    for match in STATED_DEDUCTION.finditer(words):
        if match.group(1) in items:
            deducted[match.group(1)] = deducted.get(match.group(1), Decimal(0)) + Decimal(match.group(2))
    for item, stated in deducted.items():
        points, score = items[item]
        if stated != points - score:
            problems.append(f"the text deducts {stated} from “{item}”, the table {points - score}")
    for match in STATED_SCORE.finditer(words):
        item = match.group(1)
        score, points = (match.group(2), match.group(3)) if match.group(2) else (match.group(4), match.group(5))
        if item in items and (Decimal(score), Decimal(points)) != (items[item][1], items[item][0]):
            problems.append(f"the text gives “{item}” {score} of {points} points, the table "
                            f"{items[item][1]} of {items[item][0]}")
    return problems


def check_report(html, *, draft: bool = False, document_number: str = "") -> list[str]:
    """What is wrong with a report an official is to sign (an empty list: nothing).

    Parameters
    ----------
    html : str or lxml.html.HtmlElement
        The report as exported (title page, content, provenance), or its page as
        :func:`perfkit.reports.export.render_html` parsed it (:func:`perfkit.reports.page.parse`; only read).
    draft : bool
        Whether the report's result is a draft: its cover must say so.
    document_number : str
        The 文号 the report was given (or the bureau's rule made): the title page may print no other.
    """
    tree = page.parse(html) if isinstance(html, str) else html
    problems = []
    content = page.content(tree)
    words = page.text(content)
    for match in LEFTOVER.finditer(words):
        problems.append(f"a value left from the data: …{words[max(0, match.start() - 30):match.end() + 30]}…")
    for match in MARKUP.finditer(words):
        problems.append(f"Markdown shown as text: …{words[max(0, match.start() - 30):match.end() + 30]}…")
    for image in content.iter("img"):
        if image.get("alt") in (None, "", NBCONVERT_ALT):
            problems.append("a chart without a description in the report's language")
    rounding_said = any(note in words for note in ROUNDING_NOTES)
    tables = [_rows(table) for table in content.iter("table")]
    problems += _stated(words, tables)
    for number, rows in enumerate(tables, start=1):
        if _unlabelled_index(rows):
            problems.append(f"table {number} prints row numbers as an unlabelled first column")
        header = rows[0] if rows else []
        for column, name in enumerate(header):
            if YEAR_COLUMN.search(name) and any(re.fullmatch(r"[12],\d{3}", r[column]) for r in rows[1:]
                                                if column < len(r)):
                problems.append(f"table {number}: the years of “{name}” are printed as amounts (2,025)")
        if not rounding_said:
            problems += [f"table {number}: parts do not add up to the total: {p}" for p in _sums(rows)]
    cover = page.first_with_class(tree, "perfkit-cover")
    if cover is not None:
        mark = page.first_with_class(cover, "perfkit-draft-mark")
        if draft and mark is None:
            problems.append("a draft without its 草稿（待补充） mark on the title page")
        if not draft and mark is not None:
            problems.append("a final report marked as a draft")
        facts = [_rows(t) for t in cover.iter("table")]
        printed = {row[0]: row[1] for table in facts for row in table if len(row) == 2}
        number = printed.get("文号", printed.get("Document number", ""))
        if number and number != document_number:
            problems.append(f"a 文号 nobody issued: {number}")
    return problems


def assert_report(html, name: str, **kwargs) -> None:
    """Refuse a report that fails :func:`check_report` (a :class:`ReportError` listing what is wrong)."""
    problems = check_report(html, **kwargs)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise ReportError(f"{name} fails the report check: {shown}")


__all__ = ["assert_report", "check_report"]
