"""The department targets job (部门整体绩效目标表): a department's overall performance target table and its
projects' target tables for the budget draft, checked as an ex-ante assessment checks targets."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from perfkit._lazy import lazy_module
from perfkit.reports.display import PresetView, markdown, md_escape, notes_text, rounded_parts
from perfkit.reports.registry import Batch, Job, register
from perfkit.text import text, texts, value_label

if TYPE_CHECKING:
    from perfkit.department import TargetTables
    from perfkit.rules import PresetLike
    from perfkit.store import Store

pd = lazy_module("pandas")

JOB = register(Job(name="department-targets", notebook="department_targets.ipynb", subject=("unit_id", "year"),
                   warm=("perfkit.department", "perfkit.exante"), evaluated_by="unit_id",
                   aliases={"unit_id": "--unit"}, paths=("preset", "excel"),
                   lookups={"unit_id": ("units", "unit_id"), "year": ("projects", "year")},
                   summary="a department's overall performance target table and its projects' target tables "
                           "for the budget draft (部门整体绩效目标表)",
                   view="department_targets", order=45,
                   batch=Batch(sql="""SELECT u.unit_id AS subject FROM units u
                                      WHERE u.level = 1 AND ($field::VARCHAR IS NULL OR u.field = $field)
                                        AND u.unit_id IN (SELECT unit_id FROM department_indicators
                                                          WHERE $year::INTEGER IS NULL OR year = $year) {where}""",
                               filters=("year", "field"), parameter="unit_id",
                               options={"year": "year", "preset": "preset"}, required=("year",),
                               aliases="u: units")))


@dataclass
class DepartmentTargetsView(PresetView):
    """A department's target tables ready to show."""

    result: TargetTables
    lang: str = "zh"

    def _notes(self, table: str) -> str:
        found = self.result.problems
        mine = found[found["table"] == table]["note"].tolist()
        return notes_text(mine, self.lang, self.preset) if mine else text("department_targets.no_problem", self.lang)

    def section(self, name: str):
        """A heading or sentence of the tables: ``title``, ``department``, ``notes`` (the department's
        table), ``projects`` (the heading of the projects' tables)."""
        r, w = self.result, texts("department_targets.words", self.lang)
        unit = md_escape(r.department["name"])
        if name == "title":
            return markdown(f"# {text('department_targets.title', self.lang, unit=unit, year=r.year)}")
        if name == "department":
            funds = rounded_parts(r.funds["amount"].to_numpy(dtype=float) / 1e4)
            return markdown(f"## {w['department']}\n\n" + text(
                "department_targets.funds", self.lang, total=f"{funds.sum():,.2f}",
                tasks=int((r.tasks["kind"] == "key_task").sum()), indicators=len(r.overall),
                projects=int(r.projects["project_id"].nunique())))
        if name == "notes":
            return markdown(f"**{w['notes']}** {md_escape(self._notes('department'))}")
        if name == "projects":
            flagged = r.problems[r.problems["table"] != "department"]["table"].nunique()
            return markdown(f"## {w['projects']}\n\n" + text("department_targets.projects", self.lang,
                                                               n=int(r.projects["project_id"].nunique()),
                                                               flagged=int(flagged)))
        raise KeyError(name)

    def funds_table(self) -> pd.DataFrame:
        """The year's funds by source (万元), parts adding up to the total."""
        h = texts("department_targets.funds_headers", self.lang)
        f = self.result.funds
        amounts = rounded_parts(f["amount"].to_numpy(dtype=float) / 1e4)
        names = [texts("department_targets.words", self.lang)[s] if k == "basic"
                 else value_label("budget_type", s, self.lang) for k, s in zip(f["kind"], f["source"])]
        kinds = [texts("department_targets.words", self.lang)[k] for k in f["kind"]]
        out = pd.DataFrame({h["kind"]: kinds, h["source"]: names, h["amount"]: amounts})
        total = pd.DataFrame([{h["kind"]: h["total"], h["source"]: "", h["amount"]: round(float(amounts.sum()), 2)}])
        return pd.concat([out, total], ignore_index=True)

    def tasks_table(self) -> pd.DataFrame:
        """Its duties and the year's key tasks, with the initial budget of the projects carrying each (万元)."""
        h = texts("department_targets.task_headers", self.lang)
        t = self.result.tasks
        return pd.DataFrame({
            h["kind"]: t["kind"].map(lambda k: value_label("task_kind", k, self.lang)), h["name"]: t["name"],
            h["due_date"]: t["due_date"].map(lambda d: "" if pd.isna(d) else pd.Timestamp(d).strftime("%Y-%m-%d")),
            h["amount"]: [round(float(a) / 1e4, 2) if k == "key_task" else "" for k, a in zip(t["kind"], t["amount"])]})

    def overall_table(self) -> pd.DataFrame:
        """The overall performance indicators with their target values."""
        h = texts("department_targets.indicator_headers", self.lang)
        t = self.result.overall
        return pd.DataFrame({
            h["level1"]: t["level1"], h["level2"]: t["level2"], h["name"]: t["name"],
            h["polarity"]: t["polarity"].map(lambda p: value_label("polarity", p, self.lang)),
            h["target"]: [text("common.draft", self.lang) if pd.isna(v) else f"{v:,.10g}" for v in t["target_value"]],
            h["unit"]: t["measure_unit"].fillna("")})

    def project_tables(self) -> list[tuple[str, pd.DataFrame, object]]:
        """Each project's target table: its caption (name, unit, budget), the table and the checks' notes
        (Markdown)."""
        h = texts("department_targets.indicator_headers", self.lang)
        w = texts("department_targets.words", self.lang)
        out = []
        for project_id, t in self.result.projects.groupby("project_id", sort=True):
            first = t.iloc[0]
            amount = "—" if pd.isna(first["amount"]) else f"{first['amount'] / 1e4:,.2f}"
            caption = text("department_targets.project_caption", self.lang, name=first["project_name"],
                           project_id=project_id, unit=first["unit_name"], amount=amount,
                           budget=value_label("budget_type", first["budget_type"], self.lang))
            table = pd.DataFrame({
                h["level1"]: t["level1"], h["level2"]: t["level2"], h["name"]: t["name"],
                h["polarity"]: t["polarity"].map(lambda p: value_label("polarity", p, self.lang)),
                h["target"]: [t_text if pd.isna(v) and isinstance(t_text, str) else
                              text("common.draft", self.lang) if pd.isna(v) else f"{v:,.10g}"
                              for v, t_text in zip(t["target_value"], t["target_text"])],
                h["unit"]: t["measure_unit"].fillna("")})
            out.append((caption, table, markdown(f"{w['notes']}{md_escape(self._notes(project_id))}")))
        return out

    def sheets(self) -> dict[str, pd.DataFrame]:
        """The tables for the workbook: funds, tasks, overall indicators, every project target, the problems."""
        names = texts("department_targets.sheets", self.lang)
        h = texts("department_targets.indicator_headers", self.lang)
        p = self.result.projects
        projects = pd.DataFrame({h["project_id"]: p["project_id"], h["project_name"]: p["project_name"],
                                 h["unit_name"]: p["unit_name"], h["level1"]: p["level1"], h["level2"]: p["level2"],
                                 h["name"]: p["name"], h["target"]: p["target_value"], h["unit"]: p["measure_unit"]})
        problems = pd.DataFrame({h["table"]: self.result.problems["table"].map(
            lambda t: texts("department_targets.words", self.lang)["department"] if t == "department" else t),
            h["note"]: self.result.problems["note"].map(lambda m: notes_text([m], self.lang, self.preset))})
        return {names["funds"]: self.funds_table(), names["tasks"]: self.tasks_table(),
                names["overall"]: self.overall_table(), names["projects"]: projects, names["problems"]: problems}

    def to_excel(self, path) -> Path:
        """Write the tables as a workbook (text cells as text, never formulas)."""
        from perfkit.workbooks import view_workbook

        return view_workbook(self.sheets(), path)

    def record(self):
        from perfkit.reports.display import record

        r = self.result.record()
        return record(job=JOB.name, lang=self.lang, score=None, rating=str(len(self.result.problems)),
                      status=r["status"])


def department_targets(store: Store, unit_id: str, year: int, preset: PresetLike = "default",
                       lang: str = "zh") -> DepartmentTargetsView:
    """Gather a department's target tables of ``year`` and wrap them for the report."""
    from perfkit.department import target_tables

    return DepartmentTargetsView(target_tables(store, unit_id, year, preset), lang=lang)


__all__ = ["JOB", "DepartmentTargetsView", "department_targets"]
