"""The problem-case job (问题案例汇编): findings classified, counted and linked to budget arrangements."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from perfkit._lazy import lazy_module
from perfkit.reports.display import MISSING, figure, heading, markdown, markdown_text, prose, record
from perfkit.reports.portrait import parse_years, years_text
from perfkit.reports.registry import Batch, Job, register
from perfkit.text import text, texts, value_label

if TYPE_CHECKING:        # scikit-learn loads with perfkit.cases, when a compilation is made
    from perfkit.cases import CaseCompilation
    from perfkit.rules import PresetLike
    from perfkit.store import Store

pd = lazy_module("pandas")   # the job is declared (and its --help answers) without pandas

JOB = register(Job(name="problem-cases", notebook="problem_cases.ipynb", subject=("year",), years=("year",),
                   required=(), paths=("preset", "excel"), warm=("perfkit.cases", "perfkit.evaluation", "perfkit.monitoring", "statsmodels.api"),
                   summary="the problem-case compilation: kinds, recurrence, budget links, cases",
                   view="cases_view", order=90,
                   # one compilation per year with findings
                   batch=Batch(sql="""SELECT DISTINCT CAST(f.year AS VARCHAR) AS subject
                                      FROM findings fi JOIN project_facts f USING (project_id)
                                      WHERE ($year::INTEGER IS NULL OR f.year = $year) {where}""",
                               filters=("year",), parameter="year", options={"preset": "preset"},
                               aliases="fi: findings, f: project facts")))

#: Amount columns shown in 万元.
_WAN = ("amount", "cut", "terminated", "unspent")


@dataclass
class CasesView:
    """A case compilation ready to show."""

    result: CaseCompilation
    accuracy: dict
    lang: str = "zh"
    limit: int = 30

    def _columns(self) -> dict[str, str]:
        return texts("cases.columns", self.lang)

    def _kind(self, name) -> str:
        return self.result.preset.label(name, self.lang) if isinstance(name, str) else MISSING

    def _frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        if "name" in frame:
            frame["name"] = frame["name"].map(self._kind)
        for column in _WAN:
            if column in frame:
                frame[column] = (frame[column] / 1e4).round(2)
        for column in ("findings", "projects", "units", "suggested", "years"):
            if column in frame:
                frame[column] = frame[column].astype(int)
        return frame.rename(columns=self._columns())

    def title(self):
        return markdown_text("cases.title", self.lang, level=1, years=years_text(self.result.years))

    def heading(self, key: str):
        return heading(f"cases.headings.{key}", self.lang)

    def headline(self):
        f, links = self.result.findings, self.result.budget_links.sum()
        return markdown(prose("cases.headline", self.lang, years=years_text(self.result.years), findings=len(f),
                             projects=f["project_id"].nunique(), units=f["unit_id"].nunique(),
                             amount=f["amount"].sum() / 1e4, recorded=int(f["case_source"].eq("recorded").sum()),
                             suggested=int(f["case_source"].eq("suggested").sum()),
                             accuracy=self.accuracy["accuracy"], majority=self.accuracy["majority"],
                             test=self.accuracy["test"], low=self.accuracy["low"], high=self.accuracy["high"],
                             cut=links["cut"] / 1e4, terminated=links["terminated"] / 1e4,
                             unspent=links["unspent"] / 1e4))

    def kinds_table(self) -> pd.DataFrame:
        frame = self.result.summary().reset_index()
        frame = frame[["case_code", "name", "findings", "suggested", "projects", "units", "amount", "deduction",
                       "cut", "terminated", "unspent"]].rename(columns={"case_code": "code"})
        return self._frame(frame)

    def plot_kinds(self):
        summary = self.result.summary()
        summary = summary[summary["findings"] > 0].sort_values("findings")
        fig, ax = figure(figsize=(7, 3.8))
        ax.barh(summary["name"], summary["findings"], color="#4c72b0")
        ax.set_xlabel(self._columns()["findings"])
        ax.grid(axis="x", alpha=0.3)
        return fig

    def fields_table(self) -> pd.DataFrame:
        frame = self.result.by_field.reset_index()
        frame["field"] = frame["field"].map(lambda f: value_label("field", f, self.lang))
        return self._frame(frame)

    @property
    def recurs(self) -> bool:
        """Whether any kind of problem recurs in a unit."""
        return not self.result.recurrence.empty

    def recurrence_table(self) -> pd.DataFrame:
        """The kinds that recur, per unit: how often and in which years."""
        r = self.result.recurrence
        return self._frame(r[["unit_id", "unit_name", "case_name", "findings", "years", "in_years"]]
                           .rename(columns={"case_name": "name"}))

    def recurrence_text(self):
        """What §四 finds, in the table's own figures; for one year, that recurrence across years needs more."""
        r, rules, years = self.result.recurrence, self.result.preset.cases, self.result.years
        shown = years_text(years)
        if r.empty:
            words = prose("cases.no_recurrence", self.lang, years=shown)
        else:
            words = prose("cases.recurrence_intro", self.lang, years=shown, units=r["unit_id"].nunique(),
                         rows=len(r), findings=rules.recurrence_findings, years_rule=rules.recurrence_years)
        if len(years) == 1:
            words += prose("cases.single_year", self.lang, years=years[0],
                          earlier=years[0] - rules.recurrence_years + 1)
        return markdown(words)

    def suggested_table(self) -> pd.DataFrame:
        s = self.result.suggested.head(self.limit)
        if s.empty:
            return s
        frame = self._frame(pd.DataFrame({"finding_id": s["finding_id"], "unit_name": s["unit_name"],
                                          "year": s["year"].astype(str), "description": s["description"],
                                          "name": s["case_name"],
                                          "probability": s["probability"].map(lambda v: f"{v:.0%}")}))
        kind = self._columns()["name"]          # the kind, labelled by _frame, marked where uncertain
        frame[kind] = frame[kind] + s["uncertain"].map({True: text("cases.uncertain", self.lang), False: ""})
        return frame

    def cases_table(self) -> pd.DataFrame:
        """One typical case of each kind: the finding with the largest amount (else the largest deduction)."""
        f = self.result.findings.assign(_amount=self.result.findings["amount"].fillna(0))
        picked = f.sort_values(["_amount", "deduction"], ascending=False).groupby("case_code").head(1)
        picked = picked.sort_values("case_code")
        frame = pd.DataFrame({"name": picked["case_name"], "unit_name": picked["unit_name"],
                              "project_name": picked["project_name"], "year": picked["year"].astype(str),
                              "description": picked["description"],
                              "amount": picked["amount"], "recommendation": picked["recommendation"].fillna(MISSING)})
        return self._frame(frame)

    def record(self):
        return record(job=JOB.name, lang=self.lang, score=None, rating=str(len(self.result.findings)), status=self.result.record()["status"])

    def to_excel(self, path) -> Path:
        """Write the report's tables as a workbook (UTF-8 text cells, 万元 amounts, filters)."""
        from perfkit.workbooks import view_workbook

        return view_workbook(self.sheets(), path)

    def sheets(self) -> dict[str, pd.DataFrame]:
        """The compilation as a catalogue: every finding with its kind, and the tallies."""
        f = self.result.findings
        catalogue = pd.DataFrame({
            "finding_id": f["finding_id"], "year": f["year"], "field": f["field"].map(
                lambda v: value_label("field", v, self.lang)), "unit_id": f["unit_id"], "unit_name": f["unit_name"],
            "project_name": f["project_name"], "stage": f["stage"].map(lambda v: value_label("stage", v, self.lang)),
            "code": f["case_code"], "name": f["case_name"],
            "probability": f["probability"].round(3), "description": f["description"], "amount": f["amount"],
            "recommendation": f["recommendation"]})
        return {text("cases.headings.cases", self.lang): self._frame(catalogue),
                text("cases.headings.kinds", self.lang): self.kinds_table(),
                text("cases.headings.fields", self.lang): self.fields_table(),
                text("cases.headings.recurrence", self.lang): self.recurrence_table()}


def cases_view(store: Store, year="", preset: PresetLike = "default", lang: str = "zh") -> CasesView:
    """Compile the problem cases of ``year`` ("2025", "2023-2025"; empty: every year with findings)."""
    from perfkit.cases import compile_cases, holdout_accuracy

    result = compile_cases(store, parse_years(year), preset)
    return CasesView(result, holdout_accuracy(result.findings, preset), lang=lang)


__all__ = ["JOB", "CasesView", "cases_view"]
