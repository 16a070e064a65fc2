"""The expert panel's Excel round trip: scoring sheets out to each assigned expert, returned sheets in.

:func:`write_sheets` writes one workbook per expert of a project's panel (``panel_assignments``): a cover
with the project's evidence, the items the panel scores with Excel's own validation on each score cell,
the declaration of no conflict, and a very hidden, protected block recording the project, the expert, the
preset's fingerprint and the items, so that :func:`read_sheets` can match a returned workbook and check
every cell of it. :func:`collect_sheets` loads the checked scores into the store's ``expert_scores``, all
or nothing per project, keeping the scores it replaces in ``expert_scores_log``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from perfkit.errors import DataError, Problem, reason
from perfkit.excel import save_workbook
from perfkit.rules import PresetLike, load_preset
from perfkit.text import check_lang, text, value_label

log = logging.getLogger(__name__)

#: The returned-sheet format this perfkit reads (the hidden block says which one wrote a sheet).
SHEET_FORMAT = "perfkit-scoring-sheet/1"
#: The hidden block's sheet.
BLOCK = "_perfkit"
#: Where the scores table starts (row 1: headers) and its columns.
FIRST_ROW = 2
COLUMNS = ("level1", "level2", "item", "points", "rule", "score", "comment")
SCORE_COLUMN, COMMENT_COLUMN, ITEM_COLUMN = "F", "G", "C"
#: A score typed as text that still says one number unambiguously (pasted from a chat or a PDF).
_PLAIN_NUMBER = re.compile(r"^\s*\d+(\.\d+)?\s*$")
_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def preset_fingerprint(preset: PresetLike = "default") -> str:
    """A short hash of the whole validated preset: a sheet returned under another preset is refused."""
    dumped = json.dumps(load_preset(preset).model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(dumped.encode("utf-8")).hexdigest()[:16]


def panel_items(preset: PresetLike = "default", category: str | None = None) -> list[dict]:
    """The level-3 items the expert panel scores (rule ``expert``) in the tree of a project of ``category``
    (its new field's framework, else the regular tree), in the tree's order."""
    return [item for item in load_preset(preset).items(category) if item["rule"] == "expert"]


def grade_scale(preset: PresetLike = "default", lang: str = "zh") -> dict[str, float]:
    """A grade item's drop-down: each grade's label → the share of the item's points it gives (the band's
    midpoint, from the preset's ``scoring.qualitative_bands``), best first."""
    bands = load_preset(preset).scoring.qualitative_bands
    ordered = sorted(bands.items(), key=lambda kv: -kv[1].min)
    return {value_label("grade", grade, lang): (band.min + band.max) / 2 for grade, band in ordered}


def _rule_words(item: dict, preset, lang: str) -> str:
    words = text("sheets.rule_grade" if item["scale"] == "grade" else "sheets.rule_points", lang,
                 points=float(item["points"]))
    if item["scale"] == "grade":
        bands = preset.scoring.qualitative_bands
        words += "；".join(text("sheets.grade_band", lang, grade=value_label("grade", g, lang),
                                low=b.min, high=b.max) for g, b in sorted(bands.items(), key=lambda kv: -kv[1].min))
    criteria = preset.label(item["criteria"], lang) if item.get("criteria") else ""
    return f"{criteria}\n{words}" if criteria else words


# -- who scores what ---------------------------------------------------------------------------------------


def conflicts(store, project_id: str) -> dict[str, str]:
    """The experts in conflict for a project and why: ``declared`` (the assignment says so), ``unit`` (the
    expert works for the evaluated unit) or ``department`` (for its first-level unit)."""
    from perfkit.io import panel_conflicts

    assignments = store.query("SELECT * FROM panel_assignments WHERE project_id = ?", [project_id])
    projects = store.query("SELECT project_id, unit_id FROM projects WHERE project_id = ?", [project_id])
    reasons = panel_conflicts(assignments, store.table("experts"), projects,
                              store.query("SELECT unit_id, parent_id FROM units"))
    return {expert: why for expert, why in zip(assignments["expert_id"], reasons) if why is not None}


def panel(store, project_id: str, experts: list[str] | None = None) -> pd.DataFrame:
    """The experts who score ``project_id``: its ``panel_assignments`` without those in conflict (or the
    ``experts`` named, each of whom must be on that panel and free of conflict).

    Raises
    ------
    perfkit.DataError
        An unknown project, a project without a panel, a named expert off the panel or in conflict.
    """
    from perfkit.store import require_tables

    require_tables(store, ("experts", "panel_assignments"))
    if store.query("SELECT 1 FROM projects WHERE project_id = ?", [project_id]).empty:
        raise DataError(Problem(store.path, reason("unknown_project", project=project_id)))
    assigned = store.query("""SELECT e.* FROM panel_assignments a JOIN experts e USING (expert_id)
                              WHERE a.project_id = ? ORDER BY a.expert_id""", [project_id])
    if assigned.empty:
        raise DataError(Problem(store.path, reason("no_panel", project=project_id)))
    conflicted = conflicts(store, project_id)
    if experts is not None:
        problems = []
        for expert in dict.fromkeys(experts):
            if expert not in set(assigned["expert_id"]):
                problems.append(Problem(store.path, reason("not_on_panel", expert=expert, project=project_id)))
            elif expert in conflicted:
                problems.append(Problem(store.path, reason(f"conflict_{conflicted[expert]}", expert=expert,
                                                           project=project_id)))
        if problems:
            raise DataError(problems)
        return assigned[assigned["expert_id"].isin(experts)].reset_index(drop=True)
    for expert, why in conflicted.items():
        log.debug("%s: no scoring sheet for %s (conflict of interest: %s)", project_id, expert, why)
    return assigned[~assigned["expert_id"].isin(conflicted)].reset_index(drop=True)


# -- sheets out --------------------------------------------------------------------------------------------


def sheet_filename(project_id: str, expert_id: str, name: str) -> str:
    """``P202300014_E012_张三.xlsx``: the project, the expert and a name a person recognises."""
    return f"{project_id}_{expert_id}_{_UNSAFE_FILENAME.sub('_', str(name)).strip() or expert_id}.xlsx"


def write_sheets(store, project_id: str, output_dir: str | PathLike, *, experts: list[str] | None = None,
                 preset: PresetLike = "default", lang: str = "zh") -> list[Path]:
    """Write one scoring workbook per expert of the project's panel into ``output_dir``.

    Parameters
    ----------
    store : perfkit.Store
    project_id : str
    output_dir : path-like
    experts : list of str, optional
        Only these experts of the panel (a lost sheet re-issued); by default every expert on the panel
        who has no conflict of interest.
    preset : preset, default "default"
        The tree whose ``expert`` items the panel scores; a sheet records its fingerprint.
    lang : {"zh", "en"}

    Returns
    -------
    list of Path
        The workbooks written (each written beside its target and moved into place).
    """
    from perfkit.queries import project_evidence

    lang = check_lang(lang)
    preset = load_preset(preset)
    members = panel(store, project_id, experts)
    evidence = project_evidence(store, project_id)
    items = panel_items(preset, evidence.project["category"])
    if not items:
        raise DataError(Problem(preset.source, reason("no_panel_items")))
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for expert in members.itertuples(index=False):
        path = output_dir / sheet_filename(project_id, expert.expert_id, expert.name)
        _write_sheet(path, evidence, expert, items, preset, lang)
        written.append(path)
    return written


def _write_sheet(path: Path, evidence, expert, items: list[dict], preset, lang: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.workbook.protection import WorkbookProtection
    from openpyxl.worksheet.datavalidation import DataValidation

    words = _words(lang)
    book = Workbook()
    cover = book.active
    cover.title = words["cover"]
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    thin = Side(style="thin", color="999999")
    boxed = Border(left=thin, right=thin, top=thin, bottom=thin)
    header_fill = PatternFill("solid", fgColor="D9E1F2")
    input_fill = PatternFill("solid", fgColor="FFF2CC")

    def put(sheet, row, column, value, **style):
        cell = sheet.cell(row=row, column=column, value=value)
        if isinstance(value, str):
            cell.data_type = "s"          # text from data is text, never a formula
        for name, setting in style.items():
            setattr(cell, name, setting)
        return cell

    project = evidence.project
    put(cover, 1, 1, words["title"], font=Font(bold=True, size=14))
    spent = evidence.spent
    facts = [(words["project"], f"{project['name']}（{project['project_id']}）" if lang == "zh"
              else f"{project['name']} ({project['project_id']})"),
             (words["unit"], project.get("unit_name", project["unit_id"])),
             (words["year"], str(int(project["year"]))),
             (words["budget"], _wan(evidence.budget)),
             (words["spent"], _wan(spent) if spent is not None else text("common.draft", lang)),
             (words["rate"], f"{spent / evidence.budget:.1%}" if spent is not None and evidence.budget > 0
              else text("common.draft", lang)),
             (words["expert"], f"{expert.name}（{expert.expert_id}）" if lang == "zh"
              else f"{expert.name} ({expert.expert_id})"),
             (words["how"], words["instructions"])]
    row = 3
    for label, value in facts:
        put(cover, row, 1, label, font=bold, alignment=wrap)
        put(cover, row, 2, value, alignment=wrap)
        _fit_height(cover, row, value, 60)
        row += 1
    targets = []
    for indicator in evidence.indicators.itertuples(index=False):
        target = _value(indicator.target_value)
        if target is None and isinstance(indicator.target_text, str):
            target = indicator.target_text
        targets.append([indicator.name, indicator.level2, target,
                        _value(indicator.actual_value) if indicator.value_type != "qualitative"
                        else (value_label("grade", indicator.grade, lang) if isinstance(indicator.grade, str) else None),
                        indicator.measure_unit if isinstance(indicator.measure_unit, str) else ""])
    findings = [[f.problem_type if isinstance(f.problem_type, str) else "", f.description]
                for f in evidence.findings.itertuples(index=False)]
    for title, headers, records in ((words["targets"], words["target_headers"], targets),
                                    (words["findings"], words["finding_headers"], findings)):
        row += 1
        put(cover, row, 1, title, font=Font(bold=True, size=12))
        row += 1
        for column, header in enumerate(headers, start=1):
            put(cover, row, column, header, font=bold, fill=header_fill, border=boxed)
        for record in records:
            row += 1
            for column, value in enumerate(record, start=1):
                put(cover, row, column, text("common.draft", lang) if value is None else value, border=boxed,
                    alignment=wrap)
            _fit_height(cover, row, record[1], 60)      # column B is the wide one (a finding's description)
        if not records:
            row += 1
            put(cover, row, 1, words["none"])
        row += 1
    for letter, width in zip("ABCDE", (22, 60, 14, 14, 12)):
        cover.column_dimensions[letter].width = width
    cover.protection.sheet = True
    _printable(cover, landscape=False)

    scores = book.create_sheet(words["scores"])
    for column, header in enumerate(words["headers"], start=1):
        put(scores, 1, column, header, font=bold, fill=header_fill, border=boxed,
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True))
    grades = grade_scale(preset, lang)
    grade_list = DataValidation(type="list", formula1='"' + ",".join(grades) + '"', allow_blank=True,
                                showErrorMessage=True, errorTitle=words["invalid"], error=words["grade_error"])
    scores.add_data_validation(grade_list)
    for offset, item in enumerate(items):
        r = FIRST_ROW + offset
        values = [preset.label(item["level1"], lang), preset.label(item["level2"], lang),
                  preset.label(item["item"], lang), float(item["points"]), _rule_words(item, preset, lang)]
        for column, value in enumerate(values, start=1):
            put(scores, r, column, value, border=boxed, alignment=wrap)
        _fit_height(scores, r, values[4], 60)
        scores.cell(row=r, column=4).number_format = "0.##"
        score = put(scores, r, 6, None, border=boxed, fill=input_fill, protection=Protection(locked=False))
        put(scores, r, 7, None, border=boxed, fill=input_fill, alignment=wrap, protection=Protection(locked=False))
        if item["scale"] == "grade":
            grade_list.add(score)
        else:
            rule = DataValidation(type="decimal", operator="between", formula1="0", formula2=f"{item['points']:g}",
                                  allow_blank=True, showErrorMessage=True, errorTitle=words["invalid"],
                                  error=text("sheets.points_error", lang, points=float(item["points"])))
            scores.add_data_validation(rule)
            rule.add(score)
            score.number_format = "0.0#"
    declaration_row = FIRST_ROW + len(items) + 1
    put(scores, declaration_row, 1, words["declaration"], font=bold, alignment=wrap)
    scores.merge_cells(start_row=declaration_row, start_column=1, end_row=declaration_row, end_column=5)
    scores.row_dimensions[declaration_row].height = 36
    answer = put(scores, declaration_row, 6, None, border=boxed, fill=input_fill, protection=Protection(locked=False))
    yes_no = DataValidation(type="list", formula1=f'"{words["yes"]},{words["no"]}"', allow_blank=True,
                            showErrorMessage=True, errorTitle=words["invalid"], error=words["yes_no_error"])
    scores.add_data_validation(yes_no)
    yes_no.add(answer)
    for letter, width in zip("ABCDEFG", (10, 12, 18, 8, 60, 10, 36)):
        scores.column_dimensions[letter].width = width
    scores.freeze_panes = "A2"
    scores.protection.sheet = True
    scores.protection.formatRows = False        # an expert may widen a row to read a long rule
    scores.protection.formatColumns = False
    _printable(scores, landscape=True)
    book.active = book.index(scores)

    block = book.create_sheet(BLOCK)
    entries = [("format", SHEET_FORMAT), ("project_id", project["project_id"]), ("expert_id", expert.expert_id),
               ("preset", preset.name), ("preset_hash", preset_fingerprint(preset)), ("lang", lang),
               ("scores_sheet", words["scores"]), ("declaration_row", declaration_row),
               ("issued", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))]
    for r, (key, value) in enumerate(entries, start=1):
        put(block, r, 1, key)
        put(block, r, 2, value)
    first = len(entries) + 2
    put(block, first - 1, 1, "items")
    for offset, item in enumerate(items):
        put(block, first + offset, 1, item["item"])
        put(block, first + offset, 2, FIRST_ROW + offset)
        put(block, first + offset, 3, float(item["points"]))
        put(block, first + offset, 4, item["scale"])
    block.sheet_state = "veryHidden"
    block.protection.sheet = True
    book.security = WorkbookProtection(lockStructure=True)   # no sheet renamed, deleted or unhidden
    save_workbook(book, path)


def _fit_height(sheet, row: int, value, width: float) -> None:
    """Make a row tall enough for a wrapped text in a column ``width`` characters wide (a CJK character is
    two): neither Excel nor LibreOffice grows a row that a program wrote."""
    shown = str(value)
    lines = sum(max(1, -(-sum(2 if ord(ch) > 0x2E7F else 1 for ch in part) // int(width)))
                for part in shown.split("\n"))
    if lines > 1:
        sheet.row_dimensions[row].height = 15 * lines + 2


def _printable(sheet, landscape: bool) -> None:
    """Print on A4, one page wide (an expert who prints the sheet gets whole rows)."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.print_title_rows = "1:1" if landscape else None


def _wan(amount: float) -> str:
    return f"{amount / 1e4:,.2f}"


def _value(value):
    return None if value is None or pd.isna(value) else float(value)


def _words(lang: str) -> dict:
    from perfkit.text import texts

    return texts("sheets.words", lang)


# -- sheets in ---------------------------------------------------------------------------------------------


@dataclass
class ReturnedSheet:
    """One returned workbook, read and checked: its scores (percent of the item's points, as
    ``expert_scores`` holds them), the comments, and every problem found."""

    path: Path
    project_id: str | None = None
    expert_id: str | None = None
    scores: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["project_id", "expert_id",
                                                                                "item", "score"]))
    comments: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["project_id", "expert_id",
                                                                                  "item", "comment"]))
    problems: list[Problem] = field(default_factory=list)


def read_sheet(path: str | PathLike, preset: PresetLike = "default",
               categories: dict[str, str] | None = None) -> ReturnedSheet:
    """Read one returned scoring workbook and check it against the preset; the store is not consulted
    (:func:`read_sheets` checks the project, the expert and the panel). ``categories`` (project id →
    category) gives the tree of a new field's project; without it, or for a project it does not name,
    the sheet's items are checked against the regular tree."""
    path = Path(path)
    found = ReturnedSheet(path)
    problems = found.problems
    if path.suffix.lower() != ".xlsx":
        problems.append(Problem(path.name, reason("not_a_scoring_sheet", suffix=path.suffix or "?")))
        return found
    from openpyxl import load_workbook

    try:
        values, formulas = load_workbook(path, data_only=True), load_workbook(path, data_only=False)
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file: say which, and why
        problems.append(Problem(path.name, reason("unreadable_scoring_sheet", error=f"{type(exc).__name__}: {exc}")))
        return found
    if BLOCK not in values.sheetnames:
        problems.append(Problem(path.name, reason("no_sheet_block")))
        return found
    block = {str(k): v for k, v, *_ in values[BLOCK].iter_rows(min_row=1, max_row=9, max_col=2, values_only=True)
             if k is not None}
    if block.get("format") != SHEET_FORMAT:
        problems.append(Problem(path.name, reason("sheet_format", found=block.get("format"), expected=SHEET_FORMAT)))
        return found
    found.project_id, found.expert_id = str(block["project_id"]), str(block["expert_id"])
    preset = load_preset(preset)
    if block.get("preset_hash") != preset_fingerprint(preset):
        problems.append(Problem(path.name, reason("sheet_preset", issued=block.get("preset"), current=preset.name)))
    issued_items = [(str(item), int(row), float(points), str(scale)) for item, row, points, scale, *_ in
                    values[BLOCK].iter_rows(min_row=11, max_col=4, values_only=True) if item is not None]
    category = (categories or {}).get(found.project_id)
    expected = [(i["item"], FIRST_ROW + n, float(i["points"]), i["scale"])
                for n, i in enumerate(panel_items(preset, category))]
    if issued_items != expected:
        problems.append(Problem(path.name, reason("sheet_items", preset=preset.name)))
    name = str(block.get("scores_sheet"))
    if name not in values.sheetnames:
        problems.append(Problem(path.name, reason("scores_sheet_missing", sheet=name,
                                                  sheets="、".join(s for s in values.sheetnames if s != BLOCK))))
        return found
    if problems:
        return found
    lang = str(block.get("lang", "zh"))
    sheet, shown = values[name], formulas[name]
    grades = {**grade_scale(preset, "zh"), **grade_scale(preset, "en")}
    rows = []
    for item, row, points, scale in issued_items:
        where = dict(sheet=name)
        label = sheet[f"{ITEM_COLUMN}{row}"].value
        if label != preset.label(item, lang):     # a deleted, inserted or moved row shifts the items
            problems.append(Problem(path.name, reason("item_moved", expected=preset.label(item, lang), found=label),
                                    cell=f"{ITEM_COLUMN}{row}", **where))
            continue
        cell = f"{SCORE_COLUMN}{row}"
        value = sheet[cell].value
        if shown[cell].data_type == "f" and value is None:
            problems.append(Problem(path.name, reason("score_formula"), cell=cell, **where))
            continue
        score = _read_score(value, points, scale, grades)
        if isinstance(score, str):
            problems.append(Problem(path.name, reason(score, value=value, points=points, item=label), cell=cell,
                                    **where))
            continue
        rows.append((found.project_id, found.expert_id, item, round(score / points * 100, 10)))
        comment = sheet[f"{COMMENT_COLUMN}{row}"].value
        if comment is not None and str(comment).strip():
            found.comments.loc[len(found.comments)] = [found.project_id, found.expert_id, item, str(comment).strip()]
    declaration = f"{SCORE_COLUMN}{block.get('declaration_row')}"
    answer = sheet[declaration].value
    if answer is None or not str(answer).strip():
        problems.append(Problem(path.name, reason("no_declaration"), sheet=name, cell=declaration))
    elif str(answer).strip() not in (_words("zh")["yes"], _words("en")["yes"]):
        problems.append(Problem(path.name, reason("declaration_not_yes", value=answer), sheet=name, cell=declaration))
    if not problems:
        found.scores = pd.DataFrame(rows, columns=["project_id", "expert_id", "item", "score"])
    return found


def _read_score(value, points: float, scale: str, grades: dict[str, float]) -> float | str:
    """The points a score cell gives, or the code of what is wrong with it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "score_missing"
    if scale == "grade":
        return grades[value.strip()] * points if isinstance(value, str) and value.strip() in grades else "grade_unknown"
    if isinstance(value, bool):
        return "score_not_number"
    if isinstance(value, str):
        if not _PLAIN_NUMBER.match(value):
            return "score_not_number"
        value = float(value)
    if not isinstance(value, (int, float)) or not np.isfinite(value):
        return "score_not_number"
    if value < 0:
        return "score_negative"
    if value > points + 1e-9:
        return "score_above_points"
    return float(value)


@dataclass
class Collected:
    """What :func:`collect_sheets` did: per project, the experts loaded, or the problems that kept it out."""

    loaded: dict[str, list[str]] = field(default_factory=dict)
    refused: dict[str, list[Problem]] = field(default_factory=dict)
    unmatched: list[Problem] = field(default_factory=list)     # files that belong to no project
    missing: dict[str, list[str]] = field(default_factory=dict)  # assigned experts with no sheet returned

    @property
    def problems(self) -> list[Problem]:
        return self.unmatched + [p for problems in self.refused.values() for p in problems]


def read_sheets(directory: str | PathLike, store, preset: PresetLike = "default") -> tuple[dict, Collected]:
    """Read and check every returned workbook in ``directory`` against the store's panels.

    Returns the valid sheets per project (only projects every sheet of which is valid) and a
    :class:`Collected` with what is refused and why.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(Problem(str(directory), reason("not_a_directory")))
    outcome = Collected()
    files = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
    if not files:
        raise DataError(Problem(str(directory), reason("no_scoring_sheets")))
    by_project: dict[str, list[ReturnedSheet]] = {}
    categories = dict(store.query("SELECT project_id, category FROM projects").itertuples(index=False))
    for path in files:
        sheet = read_sheet(path, preset, categories)
        if sheet.project_id is None:
            outcome.unmatched += sheet.problems
        else:
            by_project.setdefault(sheet.project_id, []).append(sheet)
    from perfkit.store import require_tables

    require_tables(store, ("experts", "panel_assignments"))
    valid = {}
    for project_id, sheets in by_project.items():
        problems = [p for sheet in sheets for p in sheet.problems]
        known = not store.query("SELECT 1 FROM projects WHERE project_id = ?", [project_id]).empty
        assigned = set(store.query("SELECT expert_id FROM panel_assignments WHERE project_id = ?",
                                   [project_id])["expert_id"])
        conflicted = conflicts(store, project_id) if known else {}
        seen: dict[str, str] = {}
        for sheet in sheets:
            if not known:
                problems.append(Problem(sheet.path.name, reason("unknown_project", project=project_id)))
            elif sheet.expert_id not in assigned:
                problems.append(Problem(sheet.path.name, reason("not_on_panel", expert=sheet.expert_id,
                                                                project=project_id)))
            elif sheet.expert_id in conflicted:
                problems.append(Problem(sheet.path.name, reason(f"conflict_{conflicted[sheet.expert_id]}",
                                                                expert=sheet.expert_id, project=project_id)))
            if sheet.expert_id in seen:
                problems.append(Problem(sheet.path.name, reason("sheet_twice", expert=sheet.expert_id,
                                                                other=seen[sheet.expert_id], project=project_id)))
            seen.setdefault(sheet.expert_id, sheet.path.name)
        if problems:
            outcome.refused[project_id] = problems
        else:
            valid[project_id] = sheets
            outcome.missing[project_id] = sorted(assigned - set(seen) - set(conflicted))
    return valid, outcome


def collect_sheets(directory: str | PathLike, store_path: str | PathLike, *, preset: PresetLike = "default",
                   wait: float | None = 0.0) -> Collected:
    """Check every returned workbook in ``directory`` and load the valid projects' scores into the store.

    A project is loaded only when every sheet of it is valid; its scores then replace the project's
    ``expert_scores`` (the replaced rows go to ``expert_scores_log`` with the time and the folder), and the
    experts' comments go to ``expert_comments``. The store is rebuilt and swapped like a load
    (:func:`perfkit.store.update_store`): its readers never see half a collect.

    Returns
    -------
    Collected
        The projects loaded (with their experts), those refused with every problem, and the assigned
        experts who returned no sheet.
    """
    from perfkit.store import Store, update_store

    with Store(store_path, read_only=True) as store:
        valid, outcome = read_sheets(directory, store, preset)
    if not valid:
        return outcome
    projects = list(valid)
    new_scores = pd.concat([s.scores for sheets in valid.values() for s in sheets], ignore_index=True)
    new_comments = pd.concat([s.comments for sheets in valid.values() for s in sheets], ignore_index=True)
    folder = str(Path(directory).resolve())

    def changes(store):
        # read under the load lock: a load or a collect since the sheets were checked is never lost
        current, tables = store.table("expert_scores"), store.tables()
        replaced = current[current["project_id"].isin(projects)].assign(
            replaced_at=pd.Timestamp.now(tz="UTC").tz_localize(None), source=folder)
        kept = current[~current["project_id"].isin(projects)]
        scores = pd.concat([kept, new_scores.astype(kept.dtypes.to_dict())], ignore_index=True)
        history = pd.concat([store.table("expert_scores_log"), replaced], ignore_index=True) \
            if "expert_scores_log" in tables else replaced
        comments = new_comments
        if "expert_comments" in tables:
            before = store.table("expert_comments")
            comments = pd.concat([before[~before["project_id"].isin(projects)], new_comments], ignore_index=True)
        return {"expert_scores": scores}, {"expert_scores_log": history, "expert_comments": comments.astype(str)}

    update_store(store_path, changes, wait=wait)
    outcome.loaded = {project: sorted(s.expert_id for s in sheets) for project, sheets in valid.items()}
    return outcome


__all__ = ["Collected", "ReturnedSheet", "collect_sheets", "conflicts", "grade_scale", "panel", "panel_items",
           "preset_fingerprint", "read_sheet", "read_sheets", "sheet_filename", "write_sheets"]
