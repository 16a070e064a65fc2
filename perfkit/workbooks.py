"""The portfolio workbooks: results application, ex-ante assessments and monitoring, in zh or en, and a
report's tables as a workbook.

The results' ``to_excel``, the CLI commands and the demo write them through these functions, so a
workbook looks the same whichever way it was made. Amounts are shown in 万元 (the engines keep yuan).
"""
from __future__ import annotations

from os import PathLike
from pathlib import Path

import pandas as pd

from perfkit.evaluation import DRAFT, results_summary
from perfkit.evaluation.fields import printed_payment
from perfkit.excel import write_workbook
from perfkit.exante import DRAFT as EXANTE_DRAFT
from perfkit.exante import exante_summary
from perfkit.rules import PresetLike, load_preset
from perfkit.text import render, text, texts, value_label

MONEY = "#,##0.00"
PERCENT = "0.0%"


def _in_wan(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """Amounts in 万元, as the reports show them (the data keep yuan)."""
    frame = frame.copy()
    for column in columns:
        if column in frame:
            frame[column] = frame[column] / 1e4
    return frame


def _total_label(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    return frame.rename(index={"total": text("common.total", lang)})


def results_application_workbook(applied: pd.DataFrame, path: str | PathLike, lang: str = "zh",
                                 preset: PresetLike = "default") -> Path:
    """Write the results application (project detail, by rating, by unit) as a formatted workbook."""
    preset = load_preset(preset)
    names = texts("workbooks.results", lang)
    draft = text("common.draft", lang)

    def rating(r):
        return draft if r is None or (isinstance(r, float) and pd.isna(r)) else preset.label(r, lang)

    columns = ["project_id", "name", "unit_name", *(["framework"] if "framework" in applied else []), "total",
               "rating", "budget", "recommended_budget", "rule"]
    detail = _in_wan(applied[columns], ("budget", "recommended_budget"))
    if "framework" in detail:
        detail["framework"] = detail["framework"].map(lambda name: preset.label(name, lang))
    detail["rating"] = detail["rating"].map(rating)
    detail["rule"] = detail["rule"].map(lambda r: text("evaluation.draft_rule", lang) if r == DRAFT
                                        else preset.label(r, lang))
    money = ("budget", "recommended", "cut")
    by_rating = _in_wan(_total_label(results_summary(applied, "rating"), lang), money)
    by_rating.index = [r if r == text("common.total", lang) else rating(r) for r in by_rating.index]
    by_rating = by_rating.rename_axis("rating").reset_index()
    by_unit = _in_wan(_total_label(results_summary(applied, "unit_name"), lang), money)
    by_unit = by_unit.rename_axis("unit_name").reset_index()
    formats = {names[c]: MONEY for c in ("budget", "recommended_budget", "recommended", "cut")}
    formats[names["cut_rate"]] = PERCENT
    formats[names["total"]] = "0.00"
    sheets = texts("workbooks.results_sheets", lang)
    book = {sheets["projects"]: detail.rename(columns=names), sheets["by_rating"]: by_rating.rename(columns=names),
            sheets["by_unit"]: by_unit.rename(columns=names)}
    if "payment" in applied and applied["payment"].notna().any():
        # PPP: the year's availability payment as the score's band pays it (perfkit.evaluation.fields)
        paid = applied[applied["payment"].notna()]
        payments = paid[["project_id", "name", "total", "availability_payment", "payment_band",
                         "payment_coefficient", "payment", "withheld"]].copy()
        payments["payment_band"] = payments["payment_band"].map(lambda band: preset.label(band, lang))
        printed = [printed_payment(dict(amount=a, payment=p), 1e4)       # in 万元, as the report prints them
                   for a, p in zip(payments["availability_payment"], payments["payment"])]
        payments[["availability_payment", "payment", "withheld"]] = pd.DataFrame(printed, index=payments.index)
        formats.update({names[c]: MONEY for c in ("availability_payment", "payment", "withheld")})
        formats[names["payment_coefficient"]] = "0.00"
        book[sheets["payments"]] = payments.rename(columns=names)
    if "status" in applied and (applied["status"] == "draft").any():
        # the drafts apart: what each lacks; their budgets stay as they are until the evidence is in
        drafts = _in_wan(applied.loc[applied["status"] == "draft", ["project_id", "name", "unit_name", "budget"]],
                         ("budget",))
        if "missing" in applied:
            separator = "、" if lang == "zh" else ", "
            drafts["missing"] = applied.loc[drafts.index, "missing"].map(
                lambda items: separator.join(preset.label(i, lang) for i in items))
        book = {sheets["drafts"]: drafts.rename(columns=names), **book}
    return write_workbook(path, book, formats)


def exante_workbook(assessed: pd.DataFrame, path: str | PathLike, lang: str = "zh",
                    preset: PresetLike = "default") -> Path:
    """Write the ex-ante portfolio: every assessment, and totals by conclusion, unit and direction."""
    preset = load_preset(preset)
    names = texts("workbooks.exante", lang)
    shown = assessed.copy()
    conclusion = lambda c: text("common.draft", lang) if c == EXANTE_DRAFT else preset.label(c, lang)  # noqa: E731
    shown["conclusion"] = shown["conclusion"].map(conclusion)
    shown["reasons"] = shown["reasons"].map(lambda notes: render(notes, lang, preset))
    shown["needs_expert_judgement"] = shown["needs_expert_judgement"].map(
        lambda v: text("common.yes" if v else "common.no", lang))

    def summary(by: str) -> pd.DataFrame:
        frame = _in_wan(_total_label(exante_summary(assessed, by), lang), ("requested", "approved"))
        if by == "conclusion":
            frame.index = frame.index.map(conclusion)
        return frame.rename_axis(by).reset_index().rename(columns=names)

    money = {names[c]: MONEY for c in ("requested", "standard_cost", "suggested", "approved")}
    sheets = texts("workbooks.exante_sheets", lang)
    return write_workbook(path, {sheets["assessments"]: shown.rename(columns=names),
                                 sheets["by_conclusion"]: summary("conclusion"),
                                 sheets["by_unit"]: summary("unit_name"),
                                 sheets["by_direction"]: summary("direction_name")},
                          {**money, names["cut_rate"]: PERCENT, names["score"]: "0.00"})


def monitoring_workbook(result, path: str | PathLike, lang: str = "zh") -> Path:
    """Write a :class:`perfkit.monitoring.MonitoringResult`: every project with its light, forecast and action,
    and totals by action."""
    names = texts("workbooks.monitoring", lang)
    shown = _in_wan(result.table, ("budget", "spent"))
    for column, kind in (("light", "light"), ("action", "action"), ("likelihood", "likelihood")):
        shown[column] = shown[column].map(lambda v, kind=kind: value_label(kind, v, lang))
    shown["key_project"] = shown["key_project"].map(lambda v: text("common.yes" if v else "common.no", lang))
    shown["reasons"] = shown["reasons"].map(lambda notes: render(notes, lang))
    by_action = _in_wan(result.summary(), ("budget",))
    by_action.index = by_action.index.map(lambda a: value_label("action", a, lang))
    by_action = by_action.rename_axis("action").reset_index()
    formats = {names[c]: MONEY for c in ("budget", "spent")}
    formats.update({names[c]: PERCENT for c in ("execution_rate", "time_progress", "expected_rate", "deviation",
                                                 "forecast_rate", "forecast_low", "forecast_high",
                                                 "target_completion")})
    sheets = texts("workbooks.monitoring_sheets", lang)
    return write_workbook(path, {sheets["projects"]: shown.rename(columns=names),
                                 sheets["by_action"]: by_action.rename(columns=names)}, formats)


def _sheet_name(name: str, taken: set[str]) -> str:
    """A heading as an Excel sheet name: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    cleaned = "".join(" " if c in "[]:*?/\\" else c for c in name).strip()[:31]
    candidate, n = cleaned, 2
    while candidate in taken:
        candidate = f"{cleaned[:28]} {n}"
        n += 1
    taken.add(candidate)
    return candidate


def view_workbook(sheets: dict[str, pd.DataFrame], path: str | PathLike) -> Path:
    """Write a report's tables (a view's ``sheets()``: heading → frame) as a formatted workbook."""
    taken: set[str] = set()
    return write_workbook(path, {_sheet_name(name, taken): frame for name, frame in sheets.items()})


__all__ = ["exante_workbook", "monitoring_workbook", "results_application_workbook", "view_workbook"]
