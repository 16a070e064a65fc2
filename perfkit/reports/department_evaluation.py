"""The department evaluation job (部门整体绩效评价): a department's overall performance, in the outline of a
department performance self-evaluation report, with its units, spending, targets, items and projects."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from perfkit._lazy import lazy_module
from perfkit.reports.display import (PresetView, capped_parts, figure, markdown, notes_text, outline, plain, record,
                                     rounded_parts)
from perfkit.reports.registry import Batch, Job, register
from perfkit.text import text, texts, value_label

if TYPE_CHECKING:
    from perfkit.department import DepartmentResult
    from perfkit.rules import PresetLike
    from perfkit.store import Store

pd = lazy_module("pandas")
np = lazy_module("numpy")   # the job is declared (and its --help answers) without pandas

JOB = register(Job(name="department-evaluation", notebook="department_evaluation.ipynb", subject=("unit_id", "year"),
                   warm=("perfkit.department", "perfkit.evaluation", "perfkit.monitoring"), evaluated_by="unit_id",
                   aliases={"unit_id": "--unit"}, paths=("preset", "excel"),
                   lookups={"unit_id": ("units", "unit_id"), "year": ("projects", "year")},
                   summary="a department's overall performance evaluation (部门整体绩效), with its units and projects",
                   view="department_evaluation", order=35,
                   batch=Batch(sql="""SELECT u.unit_id AS subject FROM units u
                                      WHERE u.level = 1 AND ($field::VARCHAR IS NULL OR u.field = $field)
                                        AND u.unit_id IN (SELECT unit_id FROM unit_accounts
                                                          WHERE $year::INTEGER IS NULL OR year = $year) {where}""",
                               filters=("year", "field"), parameter="unit_id",
                               options={"year": "year", "preset": "preset"}, required=("year",),
                               aliases="u: units")))


@dataclass
class DepartmentEvaluationView(PresetView):
    """A department's evaluation ready to show, section by section."""

    result: DepartmentResult
    lang: str = "zh"

    # -- what the outline's sections read --------------------------------------------------------------
    def _printed(self) -> pd.DataFrame:
        """The items as the score table prints them: points and score rounded so that they add up to the
        printed totals; every number the prose quotes of an item is read from here."""
        if getattr(self, "_printed_items", None) is None:
            t = self.result.table.copy()
            t["points"] = rounded_parts(t["points"])
            t["score"] = capped_parts(t["score"], t["points"])
            t["lost"] = t["points"] - t["score"]
            self._printed_items = t.set_index("indicator", drop=False)
        return self._printed_items

    def _levels(self) -> list[tuple[str, float, float | None]]:
        """Each level-1 dimension with its printed points and score (None while an item waits): sums of the
        printed items, so that they add up to the printed total."""
        t = self._printed()
        out = []
        for level1, rows in t.groupby("level1", sort=False):
            score = None if rows["score"].isna().any() else round(float(rows["score"].sum()), 2)
            out.append((self.label(level1), round(float(rows["points"].sum()), 2), score))
        return out

    def _money(self) -> dict:
        """The department's money as the spending table prints it (万元, parts adding up to the totals)."""
        if getattr(self, "_money_rows", None) is None:
            self._money_rows = self._spending_rows()
        return self._money_rows

    def _spending_rows(self) -> dict:
        f, u = self.result.facts, self.result.evidence.units
        in_force = lambda k: (u[f"{k}_adjusted"].fillna(u[f"{k}_budget"])).sum()   # noqa: E731
        spent = lambda k: None if u[f"{k}_spent"].isna().any() else float(u[f"{k}_spent"].sum())   # noqa: E731
        rows = {
            "personnel": (float(u["personnel_budget"].sum()), float(in_force("personnel")), spent("personnel")),
            "public": (float(u["public_budget"].sum()), float(in_force("public")), spent("public")),
            "projects": (f["project_budget"], f["project_in_force"], f["project_spent"]),
        }
        printed = {}
        for position, column in enumerate(("initial", "in_force", "spent")):
            values = [row[position] for row in rows.values()]
            known = [v is not None and not pd.isna(v) for v in values]
            parts = rounded_parts(np.array([v / 1e4 for v, k in zip(values, known) if k], dtype=float))
            it = iter(parts)
            printed[column] = [float(next(it)) if k else None for k in known]
            printed[f"{column}_total"] = round(float(parts.sum()), 2) if all(known) else None
        return dict(rows=list(rows), **printed)

    def _context(self) -> dict:
        if getattr(self, "_shared", None) is None:
            self._shared = self._build_context()
        return self._shared

    def _build_context(self) -> dict:
        r, preset = self.result, self.preset
        e, f = r.evidence, r.facts
        items = self._printed()
        money = self._money()
        key = e.tasks[e.tasks["kind"] == "key_task"]
        duties = e.tasks[e.tasks["kind"] == "duty"]["name"].tolist()
        indicators = e.indicators
        unmet = indicators[indicators["met"].eq(False)]
        pending = indicators[indicators["met"].isna()]
        projects = e.projects
        rated = projects[projects["self_rating"].notna()]
        counts = rated["self_rating"].value_counts()
        keyed = projects[projects["key_evaluated"].astype(bool)]
        lights = (e.monitoring["light"].value_counts() if e.monitoring is not None and len(e.monitoring)
                  else pd.Series(dtype=int))
        weak = items[(items["score"].notna()) & (items["points"] > 0)]
        weak = weak[weak["lost"] > 0.005].sort_values("lost", ascending=False, kind="stable")
        findings = r.findings
        applied = r.applied
        cut = applied[applied["status"] == "rated"] if len(applied) else applied
        return dict(
            unit=e.department, year=r.year, draft=r.is_draft, rating=self.rating_label(),
            total=round(float(items["score"].sum()), 2) if not r.is_draft else None,
            framework=dict(name=self.label(preset.department.name), basis=self.label(preset.department.basis),
                           levels=[name for name, _, _ in self._levels()], n_items=len(r.table)),
            levels=self._levels(), duties=duties,
            second_level=e.units[e.units["level"] == 2]["name"].tolist(),
            staff=dict(authorised=f["staff_authorised"], actual=f["staff_actual"]),
            money=money, execution_rate=(f["spent_total"] / f["budget_total"]
                                         if f["spent_total"] is not None and f["budget_total"] else None),
            projects=len(projects), own_projects=int((projects["unit_id"] == e.department["unit_id"]).sum()),
            tasks=[dict(name=row.name, done=row.done, late=bool(row.done) and row.done_date > row.due_date)
                   for row in key.itertuples()] if len(key) else [],
            tasks_done=None if key["done"].isna().any() else int(key["done"].astype(bool).sum()),
            indicators=len(indicators), indicators_met=int(indicators["met"].eq(True).sum()),
            unmet=[dict(name=row.name, target=row.target_value, actual=row.actual_value, unit=row.measure_unit or "")
                   for row in unmet.itertuples()],
            pending=[row.name for row in pending.itertuples()],
            ratings=[(self.label(rating), int(counts.get(rating, 0))) for rating in preset.rating_bands],
            self_drafts=int(projects["self_rating"].isna().sum()),
            key_evaluated=[dict(name=row.name, score=None if pd.isna(row.key_score) else round(float(row.key_score), 2),
                                rating=self.label(row.key_rating) if isinstance(row.key_rating, str)
                                else text("common.draft", self.lang)) for row in keyed.itertuples()],
            lights={light: int(lights.get(light, 0)) for light in ("green", "yellow", "red")},
            checkpoint=f"{r.year}-{preset.department.monitoring_checkpoint}",
            missing=[dict(item=self.label(row.item), evidence=text(f"evaluation.evidence.{row.evidence}", self.lang),
                          supplier=text(f"evaluation.supplier.{row.supplier}", self.lang))
                     for row in r.missing.itertuples()] if r.is_draft else [],
            weak=[dict(item=self.label(row.indicator), level1=self.label(row.level1), points=float(row.points),
                       score=float(row.score), lost=round(float(row.points) - float(row.score), 2),
                       note=notes_text(r.table.set_index("indicator").at[row.indicator, "note"], self.lang, preset))
                  for row in weak.head(preset.report.items_listed).itertuples()],
            findings=[dict(problem=row.problem_type if isinstance(row.problem_type, str) and row.problem_type
                           else text("key_evaluation.unclassified_problem", self.lang),
                           description=row.description, project=row.project_id,
                           recommendation=row.recommendation if isinstance(row.recommendation, str) else "")
                      for row in findings.itertuples()],
            cut=[dict(name=row.name, rating=self.label(row.rating), rule=row.rule,
                      budget=float(row.budget), recommended=float(row.recommended_budget))
                 for row in cut.itertuples() if row.recommended_budget < row.budget],
        )

    def rating_label(self) -> str:
        rating = self.result.rating
        return text("common.draft", self.lang) if rating is None else self.label(rating)

    def section(self, name: str):
        """One section of the outline (title, overview, spending, targets, conclusion, projects, problems,
        measures)."""
        module = outline("department_evaluation", self.lang).make_module(self._context())
        return markdown(getattr(module, name)())

    # -- tables -----------------------------------------------------------------------------------------
    def units_table(self) -> pd.DataFrame:
        """The department's units: level, posts and staff, basic and project budget in force (万元)."""
        h = texts("department_evaluation.units", self.lang)
        e = self.result.evidence
        u = e.units.copy()
        projects = e.projects.groupby("unit_id")["budget"].sum()
        basic = (u["personnel_adjusted"].fillna(u["personnel_budget"]) + u["public_adjusted"].fillna(u["public_budget"]))
        t = pd.DataFrame({
            "name": u["name"], "level": u["level"].map(lambda v: h[f"level{int(v)}"]),
            "staff_authorised": u["staff_authorised"].astype("Int64"), "staff_actual": u["staff_actual"].astype("Int64"),
            "basic": basic / 1e4, "projects": u["unit_id"].map(projects).fillna(0.0) / 1e4})
        total = {"name": h["total"], "level": ""}
        for column in ("basic", "projects"):
            parts = rounded_parts(t[column].to_numpy(dtype=float))
            t[column] = parts
            total[column] = round(float(parts.sum()), 2)
        for column in ("staff_authorised", "staff_actual"):
            total[column] = t[column].sum() if t[column].notna().all() else None
        return pd.concat([t, pd.DataFrame([total])], ignore_index=True).rename(columns=h)

    def spending_table(self) -> pd.DataFrame:
        """Basic expenditure (personnel, public funds) and project expenditure: initial budget, budget in
        force, spending (万元) and the execution rate, with the totals the parts add up to."""
        h = texts("department_evaluation.spending", self.lang)
        m = self._money()
        rows = []
        for i, kind in enumerate(m["rows"]):
            rows.append({"kind": h[kind], "initial": m["initial"][i], "in_force": m["in_force"][i],
                         "spent": m["spent"][i]})
        rows.append({"kind": h["total"], "initial": m["initial_total"], "in_force": m["in_force_total"],
                     "spent": m["spent_total"]})
        t = pd.DataFrame(rows)
        t["rate"] = [None if s is None or pd.isna(s) or not b else f"{s / b:.1%}" for s, b in
                     zip(t["spent"], t["in_force"])]
        for column in ("initial", "in_force", "spent"):
            t[column] = t[column].astype(object).where(t[column].notna(), text("common.draft", self.lang))
        t["rate"] = t["rate"].where(t["rate"].notna(), text("common.draft", self.lang))
        return t.rename(columns=h)

    def targets_table(self) -> pd.DataFrame:
        """The department's overall targets with their actuals and whether each is met (待补充: no actual)."""
        h = texts("department_evaluation.targets", self.lang)
        w = texts("department_evaluation.words", self.lang)
        t = self.result.evidence.indicators.copy()
        t["polarity"] = t["polarity"].map(lambda p: value_label("polarity", p, self.lang))
        t["met"] = t["met"].map(lambda m: text("common.draft", self.lang) if m is None or pd.isna(m)
                                else w["met"] if m else w["unmet"])
        for column in ("target_value", "actual_value"):
            t[column] = t[column].map(lambda v: "—" if pd.isna(v) else f"{v:,.10g}")
        t["actual_value"] = t["actual_value"].replace("—", text("common.draft", self.lang))
        return t[["level1", "level2", "name", "measure_unit", "polarity", "target_value", "actual_value", "met"]
                 ].fillna("").rename(columns=h)

    def tasks_table(self) -> pd.DataFrame:
        """The year's key tasks: due date, done, done on, on time."""
        h = texts("department_evaluation.tasks", self.lang)
        w = texts("department_evaluation.words", self.lang)
        key = self.result.evidence.tasks
        key = key[key["kind"] == "key_task"]
        day = lambda d: "" if d is None or pd.isna(d) else pd.Timestamp(d).strftime("%Y-%m-%d")   # noqa: E731
        return pd.DataFrame({
            h["name"]: key["name"], h["due_date"]: key["due_date"].map(day),
            h["done"]: key["done"].map(lambda d: text("common.draft", self.lang) if pd.isna(d)
                                       else w["mark_yes"] if d else w["mark_no"]),
            h["done_date"]: key["done_date"].map(day),
            h["on_time"]: [text("common.draft", self.lang) if pd.isna(d) else "" if not d
                           else w["mark_yes"] if pd.Timestamp(a) <= pd.Timestamp(b) else w["mark_no"]
                           for d, a, b in zip(key["done"], key["done_date"], key["due_date"])]})

    def _formula_words(self, formula: str) -> str:
        import re

        words = re.sub(r"[A-Za-z_][A-Za-z0-9_]*", lambda m: value_label("department_fact", m.group(0), self.lang),
                       formula)
        return words.replace("/", "÷").replace("*", "×")

    def score_table(self) -> pd.DataFrame:
        """Every item: level 1/2/3, how it is scored (the formula in words), the value and the figures it
        read, points, score and points lost, with the total; 待补充 where an item waits for evidence."""
        h = texts("department_evaluation.scores", self.lang)
        draft = text("common.draft", self.lang)
        r, t = self.result, self._printed()

        def figure_of(fact, value):
            if value is None:
                return f"{value_label('department_fact', fact, self.lang)} {draft}"
            money = FACT_MONEY.get(fact, False)
            shown = (f"{value / 1e4:,.2f}" + ("万元" if self.lang == "zh" else " (10k yuan)") if money
                     else f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}")
            return f"{value_label('department_fact', fact, self.lang)} {shown}"

        rows = []
        for row, source in zip(t.itertuples(index=False), r.table.itertuples(index=False)):
            how = (self._formula_words(r.preset.department.item(row.indicator).formula) if row.rule == "formula"
                   else value_label("rule", row.rule, self.lang))
            value = ("" if row.rule != "formula" else draft if row.state == "missing"
                     else texts("department_evaluation.words", self.lang)["not_applicable"]
                     if row.state == "not_applicable" else f"{source.value:.1%}")
            inputs = ("；" if self.lang == "zh" else "; ").join(figure_of(k, v) for k, v in source.inputs.items())
            rows.append({"level1": self.label(row.level1), "level2": self.label(row.level2),
                         "indicator": self.label(row.indicator), "how": how, "value": value, "inputs": inputs,
                         "points": round(float(row.points), 2),
                         "score": draft if pd.isna(row.score) else round(float(row.score), 2),
                         "lost": draft if pd.isna(row.score) else round(float(row.points) - float(row.score), 2),
                         "note": notes_text(source.note, self.lang, r.preset)})
        total_score = None if r.is_draft else round(float(t["score"].sum()), 2)
        rows.append({"level1": h["total"], "level2": "", "indicator": "", "how": "", "value": "", "inputs": "",
                     "points": round(float(t["points"].sum()), 2),
                     "score": draft if total_score is None else total_score,
                     "lost": draft if total_score is None else round(float(t["points"].sum()) - total_score, 2),
                     "note": self.rating_label()})
        return pd.DataFrame(rows).rename(columns=h)

    def projects_table(self) -> pd.DataFrame:
        """Its projects: unit, budget and spending (万元), execution, self-evaluation and key-evaluation
        scores and ratings (待补充 for a draft)."""
        h = texts("department_evaluation.projects", self.lang)
        draft = text("common.draft", self.lang)
        p = self.result.evidence.projects
        score = lambda v: draft if v is None or pd.isna(v) else round(float(v), 2)   # noqa: E731
        rating = lambda v: draft if not isinstance(v, str) else self.label(v)      # noqa: E731
        return pd.DataFrame({
            h["project_id"]: p["project_id"], h["name"]: p["name"], h["unit_name"]: p["unit_name"],
            h["budget"]: (p["budget"] / 1e4).round(2),
            h["spent"]: p["spent"].map(lambda v: draft if pd.isna(v) else round(float(v) / 1e4, 2)),
            h["rate"]: [draft if pd.isna(s) or not b else f"{s / b:.1%}" for s, b in zip(p["spent"], p["budget"])],
            h["self_score"]: p["self_score"].map(score), h["self_rating"]: p["self_rating"].map(rating),
            h["key_score"]: [score(v) if k else "" for v, k in zip(p["key_score"], p["key_evaluated"])],
            h["key_rating"]: [rating(v) if k else "" for v, k in zip(p["key_rating"], p["key_evaluated"])]})

    def sheets(self) -> dict[str, pd.DataFrame]:
        """The report's tables for a workbook."""
        names = texts("department_evaluation.sheets", self.lang)
        return {names["scores"]: self.score_table(), names["spending"]: self.spending_table(),
                names["units"]: self.units_table(), names["targets"]: self.targets_table(),
                names["tasks"]: self.tasks_table(), names["projects"]: self.projects_table()}

    def to_excel(self, path) -> Path:
        """Write the report's tables as a workbook (text cells as text, never formulas)."""
        from perfkit.workbooks import view_workbook

        return view_workbook(self.sheets(), path)

    # -- charts -----------------------------------------------------------------------------------------
    def plot_execution(self):
        """The department's cumulative spending month by month against its budget in force and time."""
        h = texts("department_evaluation.charts", self.lang)
        r = self.result
        monthly, budget = r.evidence.execution, r.facts["budget_total"]
        fig, ax = figure(figsize=(8, 3.5))
        if budget:
            ax.plot(monthly["month"], monthly["total"] / budget * 100, marker="o", label=plain(h["execution"]))
            ax.plot(monthly["month"], monthly["basic"] / budget * 100, linestyle=":", label=plain(h["basic"]))
        ax.plot(range(1, 13), [m / 12 * 100 for m in range(1, 13)], color="#999999", linestyle="--",
                label=plain(h["time"]))
        ax.set_xticks(range(1, 13))
        ax.set_xlabel(plain(h["month"]))
        ax.set_ylabel("%")
        ax.legend(loc="upper left")
        return fig

    def plot_levels(self):
        """Points won by level-1 dimension against its points (a dimension waiting for evidence shows none)."""
        h = texts("department_evaluation.charts", self.lang)
        levels = self._levels()
        fig, ax = figure(figsize=(8, 3))
        names = [plain(name) for name, _, _ in levels]
        ax.barh(names, [points for _, points, _ in levels], color="#dddddd", label=plain(h["points"]))
        ax.barh(names, [score or 0.0 for _, _, score in levels], color="#4c72b0", label=plain(h["score"]))
        for i, (_, points, score) in enumerate(levels):
            ax.text(points, i, f" {score:.2f}/{points:g}" if score is not None
                    else f" {plain(text('common.draft', self.lang))}", va="center")
        ax.invert_yaxis()
        ax.legend(loc="lower right")
        return fig

    def plot_units(self):
        """Its units compared: each unit's execution rate of its projects (the units with projects)."""
        h = texts("department_evaluation.charts", self.lang)
        p = self.result.evidence.projects
        recorded = p[p["spent"].notna()]
        by_unit = recorded.groupby("unit_name")[["spent", "budget"]].sum()
        by_unit = by_unit[by_unit["budget"] > 0]
        rate = (by_unit["spent"] / by_unit["budget"] * 100).sort_values()
        fig, ax = figure(figsize=(8, max(2.5, 0.35 * len(rate) + 1)))
        ax.barh([plain(n) for n in rate.index], rate.to_numpy(), color="#55a868")
        ax.set_xlabel(plain(h["unit_rate"]))
        return fig

    def record(self):
        """The result for the index, with the figures a bundle's summary workbook lists (万元, %)."""
        r, f = self.result.record(), self.result.facts
        rate = self.result.summary().iloc[0]["execution_rate"]
        figures = {"budget_total": None if f["budget_total"] is None else round(f["budget_total"] / 1e4, 2),
                   "spent_total": None if f["spent_total"] is None else round(f["spent_total"] / 1e4, 2),
                   "execution_rate": None if rate is None or pd.isna(rate) else round(float(rate) * 100, 1),
                   "units": len(self.result.evidence.units), "projects": len(self.result.evidence.projects)}
        return record(job=JOB.name, lang=self.lang, score=r["score"],
                      rating=None if r["rating"] is None else self.label(r["rating"]), status=r["status"],
                      figures=figures)


#: Department facts that are amounts of money (shown in 万元); the others are counts or scores.
FACT_MONEY = {f: True for f in ("basic_budget", "basic_in_force", "basic_spent", "public_budget", "public_spent",
                                "project_budget", "project_in_force", "project_spent", "budget_initial",
                                "budget_total", "spent_total", "spent_q2", "spent_q3", "carryover_start",
                                "carryover_end", "three_public_budget", "three_public_spent",
                                "three_public_budget_prior", "procurement_budget", "procurement_spent",
                                "assets_total", "assets_in_use", "key_task_budget")}


def department_evaluation(store: Store, unit_id: str, year: int, preset: PresetLike = "default",
                          lang: str = "zh") -> DepartmentEvaluationView:
    """Evaluate a department's overall performance of ``year`` and wrap the result for the report."""
    from perfkit.department import evaluate

    return DepartmentEvaluationView(evaluate(store, unit_id, year, preset), lang=lang)


__all__ = ["JOB", "DepartmentEvaluationView", "department_evaluation"]
