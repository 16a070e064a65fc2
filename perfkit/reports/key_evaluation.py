"""The key evaluation job (财政重点评价): report sections from the Jinja outline, tables and charts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from perfkit._lazy import lazy_module
from perfkit.reports.display import PresetView, figure, markdown, notes_text, outline, plain, record, rounded_parts
from perfkit.reports.registry import UNIT_FILTERS, Batch, Job, register
from perfkit.text import text, texts, value_label

if TYPE_CHECKING:
    from perfkit.evaluation import EvaluationResult
    from perfkit.rules import PresetLike
    from perfkit.store import Store

pd = lazy_module("pandas")   # the job is declared (and its --help answers) without pandas

JOB = register(Job(name="key-evaluation", notebook="key_evaluation.ipynb", subject=("project_id",),
                   warm=("perfkit.evaluation",),
                   aliases={"project_id": "--project"}, lookups={"project_id": ("projects", "project_id")},
                   summary="a project's key evaluation against the preset's indicator tree, in the official outline",
                   view="key_evaluation", order=20,
                   batch=Batch(sql=f"""SELECT DISTINCT f.project_id AS subject FROM project_facts f JOIN units u USING (unit_id)
                                       WHERE f.project_id IN (SELECT project_id FROM expert_scores)
                                         AND ($year::INTEGER IS NULL OR f.year = $year) AND {UNIT_FILTERS} {{where}}""",
                               filters=("year", "field", "unit_level"), parameter="project_id",
                               options={"preset": "preset"}, aliases="f: project facts, u: units")))


@dataclass
class KeyEvaluationView(PresetView):
    """A key evaluation ready to show, section by section, in the official outline."""

    result: EvaluationResult
    lang: str = "zh"



    def _context(self) -> dict:
        """What the outline's sections share (computed once: every section asks)."""
        if getattr(self, "_shared", None) is None:
            self._shared = self._build_context()
        return self._shared

    def _build_context(self) -> dict:
        r = self.result
        table = r.table[r.table["points"] > 0]
        share = (table["score"] / table["points"]).rename("share")
        weakest = table.assign(share=share)[share < 0.8].nsmallest(3, "share")
        experts = int(r.panel["n_experts"].max()) if len(r.panel) else 0
        advice = list(dict.fromkeys(r.findings["recommendation"].dropna())) if len(r.findings) else []
        return dict(
            budget_type=value_label("budget_type", r.project["budget_type"], self.lang),
            category=value_label("category", r.project["category"], self.lang),
            preset_name=self.label(self.preset.name), n_experts=experts,
            trimmed=experts >= self.preset.expert_panel.trim_min_experts,
            draft=r.is_draft, rating=self.rating_label(),
            missing=[dict(item=self.label(row.item), evidence=text(f"evaluation.evidence.{row.evidence}", self.lang),
                          supplier=text(f"evaluation.supplier.{row.supplier}", self.lang))
                     for row in r.missing.itertuples()] if r.is_draft else [],
            # rounded so that the printed dimensions add up to the printed total
            by_level1=list(zip(map(self.label, r.by_level1.index), rounded_parts(r.by_level1.to_numpy()))),
            findings=[dict(problem_type=row.problem_type if isinstance(row.problem_type, str) and row.problem_type
                           else text("key_evaluation.unclassified_problem", self.lang),
                           description=row.description, deduction=row.deduction)
                      for row in r.findings.itertuples()],
            flags=[(self.label(item), notes_text(notes, self.lang, self.preset)) for item, notes in r.flags],
            sensitivity=None,
            weakest=[dict(indicator=self.label(row.indicator), share=row.share) for row in weakest.itertuples()],
            advice=advice)

    def rating_label(self) -> str:
        """The rating in the report's language, or 待补充 for a draft."""
        rating = self.result.rating
        return text("common.draft", self.lang) if rating is None else self.label(rating)

    def section(self, name: str):
        """One section of the outline (title, basic, work, conclusion, analysis, problems, recommendations, other)."""
        context = self._context()
        if name == "conclusion" and not self.result.is_draft:  # only the conclusion reports the sensitivity
            context["sensitivity"] = {**self.result.sensitivity(),
                                      "perturbation": self.preset.sensitivity.perturbation}
        module = outline("key_evaluation", self.lang).make_module(context)
        return markdown(getattr(module, name)(self.result))

    def score_table(self) -> pd.DataFrame:
        """Items by level 1/2/3 with points, score and how each was scored, plus the total."""
        h = texts("key_evaluation.headers", self.lang)
        t = self.result.table.copy()
        for column in ("level1", "level2", "indicator"):
            t[column] = t[column].map(self.label)
        t["rule"] = t["rule"].map(lambda r: value_label("rule", r, self.lang))
        t["note"] = t["note"].map(lambda notes: notes_text(notes, self.lang, self.preset))
        t = t[["level1", "level2", "indicator", "rule", "points", "score", "note"]]
        total = pd.DataFrame([{"level1": h["total"], "level2": "", "indicator": "", "rule": "",
                               "points": t["points"].sum(), "score": self.result.total, "note": self.rating_label()}])
        # the printed items add up to the printed total (rounded as a whole, the last cent to the largest remainders)
        t["points"], t["score"] = rounded_parts(t["points"]), rounded_parts(t["score"])
        out = pd.concat([t, total], ignore_index=True).round({"points": 2, "score": 2})
        out["score"] = out["score"].astype(object).where(out["score"].notna(), text("common.draft", self.lang))
        return out.rename(columns=h)

    def _by_level2(self) -> pd.DataFrame:
        """Points and score per level-2 dimension; ``pending`` (score NaN) where an item lacks evidence."""
        grouped = self.result.table.groupby(["level1", "level2"], sort=False)
        t = grouped[["points", "score"]].sum()
        t["pending"] = grouped["score"].apply(lambda v: v.isna().any())
        t["score"] = t["score"].where(~t["pending"])
        return t

    def level_table(self) -> pd.DataFrame:
        """Points and score per level-1 and level-2 dimension."""
        h = texts("key_evaluation.headers", self.lang)
        t = self._by_level2()[["points", "score"]].round(2)
        t["lost"] = (t["points"] - t["score"]).round(2)
        t = t.astype(object).where(t.notna(), text("common.draft", self.lang))
        t.index = pd.MultiIndex.from_tuples([(self.label(a), self.label(b)) for a, b in t.index])
        return t.rename(columns=h).rename_axis([h["level1"], h["level2"]])

    def plot_points(self):
        """Points won and lost per level-2 dimension."""
        h = texts("key_evaluation.headers", self.lang)
        r = self.result
        t = self._by_level2()
        t = t[t["points"] > 0]
        labels = [plain(f"{self.label(a)} · {self.label(b)}") for a, b in t.index]
        fig, ax = figure(figsize=(8, 0.4 * len(t) + 1.2))
        scored = t["score"].where(~t["pending"], 0.0)
        ax.barh(labels, scored, color="#55a868", label=h["won"])
        ax.barh(labels, (t["points"] - scored).where(~t["pending"], 0.0), left=scored, color="#c44e52", label=h["lost"])
        if t["pending"].any():   # a level whose evidence is missing is neither won nor lost: it is pending
            ax.barh(labels, t["points"].where(t["pending"], 0.0), color="#bbbbbb", hatch="//",
                    label=text("common.draft", self.lang))
        ax.invert_yaxis()
        ax.set_xlabel(h["points"])
        ax.legend(loc="lower right")
        ax.set_title(plain(text("key_evaluation.chart_title_draft" if r.is_draft else "key_evaluation.chart_title",
                                self.lang, name=r.project["name"], total=r.total, rating=self.rating_label())))
        fig.tight_layout()
        return fig

    def record(self):
        """The result for the index: total and rating, or a draft."""
        r = self.result.record()
        return record(score=r["score"], rating=self.rating_label(), status=r["status"])

    def findings_table(self) -> pd.DataFrame:
        """The findings: problem, item, description, deduction, recommendation."""
        labels = texts("key_evaluation.findings", self.lang)
        f = self.result.findings[list(labels)].copy()
        f["item"] = f["item"].map(lambda v: self.label(v) if isinstance(v, str) else v)
        return f.rename(columns=labels).reset_index(drop=True)


def key_evaluation(store: Store, project_id: str, preset: PresetLike = "default",
                   lang: str = "zh") -> KeyEvaluationView:
    """Evaluate a stored project and wrap the result for the report."""
    from perfkit.evaluation import evaluate

    return KeyEvaluationView(evaluate(store, project_id, preset), lang=lang)


__all__ = ["JOB", "KeyEvaluationView", "key_evaluation"]
