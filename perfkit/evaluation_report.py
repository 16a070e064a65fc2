"""The key evaluation and self-evaluation jobs: report sections from Jinja outlines, tables and charts."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from perfkit.evaluation import EvaluationResult, SelfEvaluationResult, evaluate, self_evaluate
from perfkit.labels import value_label
from perfkit.report import templates_dir
from perfkit.store import Store

_HEADERS = {
    "zh": {"level1": "一级指标", "level2": "二级指标", "indicator": "三级指标", "rule": "计分规则", "points": "分值",
           "score": "得分", "lost": "失分", "note": "计分说明", "won": "得分", "total": "合计"},
    "en": {"level1": "Level 1", "level2": "Level 2", "indicator": "Item", "rule": "Rule", "points": "Points",
           "score": "Score", "lost": "Lost", "note": "How scored", "won": "Won", "total": "Total"},
}
_RULES = {"zh": {"expert": "专家评分", "execution_rate": "执行率计分", "deduction": "问题扣分", "indicators": "指标计分"},
          "en": {"expert": "Expert panel", "execution_rate": "Execution rate", "deduction": "Deductions",
                 "indicators": "Indicators"}}
_SELF_HEADERS = {
    "zh": {"project_id": "项目编码", "name": "项目名称", "unit_name": "实施单位", "budget": "预算（万元）",
           "execution_rate": "执行率", "total": "自评得分", "rating": "等级", "notes": "说明"},
    "en": {"project_id": "Project", "name": "Name", "unit_name": "Unit", "budget": "Budget (10k yuan)",
           "execution_rate": "Execution", "total": "Score", "rating": "Rating", "notes": "Notes"},
}


@lru_cache(maxsize=8)
def outline(name: str, lang: str):
    """The report outline ``templates/outlines/<name>.<lang>.md.j2`` as a module of section macros."""
    env = Environment(loader=FileSystemLoader(str(templates_dir() / "outlines")), undefined=StrictUndefined,
                      autoescape=False, keep_trailing_newline=True)
    return env.get_template(f"{name}.{lang}.md.j2")


def markdown(text: str):
    from IPython.display import Markdown

    return Markdown(str(text).strip())


@dataclass
class KeyEvaluationView:
    """A key evaluation ready to show, section by section, in the official outline."""

    result: EvaluationResult
    lang: str = "zh"
    preset_name: str = "default"

    def _context(self) -> dict:
        r = self.result
        table = r.table[r.table["points"] > 0]
        share = (table["score"] / table["points"]).rename("share")
        weakest = table.assign(share=share)[share < 0.8].nsmallest(3, "share")
        experts = int(r.panel["n_experts"].max()) if len(r.panel) else 0
        advice = list(dict.fromkeys(r.findings["recommendation"].dropna())) if len(r.findings) else []
        return dict(
            budget_type=value_label("budget_type", r.project["budget_type"], self.lang),
            category=value_label("category", r.project["category"], self.lang),
            preset_name=self.preset_name, n_experts=experts,
            trimmed=experts >= r.preset["expert_panel"]["trim_min_experts"],
            sensitivity=None, weakest=list(weakest.itertuples()), advice=advice)

    def section(self, name: str):
        """One section of the outline (title, basic, work, conclusion, analysis, problems, recommendations, other)."""
        context = self._context()
        if name == "conclusion":  # only the conclusion reports the (Monte Carlo) rating sensitivity
            context["sensitivity"] = {**self.result.sensitivity(),
                                      "perturbation": self.result.preset["sensitivity"]["perturbation"]}
        module = outline("key_evaluation", self.lang).make_module(context)
        return markdown(getattr(module, name)(self.result))

    def score_table(self) -> pd.DataFrame:
        """Items by level 1/2/3 with points, score and how each was scored, plus the total."""
        h = _HEADERS[self.lang]
        t = self.result.table.copy()
        t["rule"] = t["rule"].map(_RULES[self.lang])
        t = t[["level1", "level2", "indicator", "rule", "points", "score", "note"]]
        total = pd.DataFrame([{"level1": h["total"], "level2": "", "indicator": "", "rule": "",
                               "points": t["points"].sum(), "score": t["score"].sum(), "note": self.result.rating}])
        out = pd.concat([t, total], ignore_index=True).round({"points": 2, "score": 2})
        return out.rename(columns=h)

    def level_table(self) -> pd.DataFrame:
        """Points and score per level-1 and level-2 dimension."""
        h = _HEADERS[self.lang]
        t = self.result.by_level2.round(2)
        t["lost"] = (t["points"] - t["score"]).round(2)
        return t.rename(columns=h).rename_axis([h["level1"], h["level2"]])

    def plot_points(self):
        """Points won and lost per level-2 dimension."""
        import matplotlib.pyplot as plt
        from perfkit.plotting import use_cjk_font

        use_cjk_font()
        h = _HEADERS[self.lang]
        t = self.result.by_level2
        t = t[t["points"] > 0]
        labels = [f"{a}·{b}" for a, b in t.index]
        fig, ax = plt.subplots(figsize=(8, 0.4 * len(t) + 1.2))
        ax.barh(labels, t["score"], color="#55a868", label=h["won"])
        ax.barh(labels, t["points"] - t["score"], left=t["score"], color="#c44e52", label=h["lost"])
        ax.invert_yaxis()
        ax.set_xlabel(h["points"])
        ax.legend(loc="lower right")
        ax.set_title(f"{self.result.project['name']}：{self.result.total:.2f} {h['score']}（{self.result.rating}）"
                     if self.lang == "zh" else f"{self.result.project['name']}: {self.result.total:.2f} ({self.result.rating})")
        fig.tight_layout()
        return fig

    def findings_table(self) -> pd.DataFrame:
        f = self.result.findings
        labels = {"zh": {"problem_type": "问题类型", "item": "相关指标", "description": "问题描述", "deduction": "扣分",
                         "recommendation": "整改建议"},
                  "en": {"problem_type": "Problem", "item": "Item", "description": "Description",
                         "deduction": "Deduction", "recommendation": "Recommendation"}}[self.lang]
        return f[list(labels)].rename(columns=labels).reset_index(drop=True)


def key_evaluation(store: Store, project_id: str, preset="default", lang: str = "zh") -> KeyEvaluationView:
    """Evaluate a project and wrap the result for the report."""
    return KeyEvaluationView(evaluate(project_id, store, preset), lang=lang, preset_name=str(preset))


@dataclass
class SelfEvaluationView:
    """A unit's self-evaluation ready to show."""

    result: SelfEvaluationResult
    lang: str = "zh"

    def section(self, name: str):
        """One section of the outline (title, summary, projects, issues)."""
        r = self.result
        module = outline("self_evaluation", self.lang).make_module(dict(
            weights=r.preset["self_evaluation"]["weights"], ratings=list(r.preset["rating_bands"]),
            flagged=list(r.projects[r.projects["notes"] != ""].itertuples()),
            low=list(r.projects[r.projects["rating"].isin(["中", "差"])].nsmallest(5, "total").itertuples())))
        macro = getattr(module, name)
        view = dict(unit=r.unit, year=r.year)
        return markdown(macro(view, r.summary) if name in ("summary", "issues") else macro(view))

    def project_table(self) -> pd.DataFrame:
        p = self.result.projects.copy()
        p["budget"] = (p["budget"] / 1e4).round(2)
        p["execution_rate"] = p["execution_rate"].map(lambda v: "—" if pd.isna(v) else f"{v:.1%}")
        blocks = [c for c in p if c.startswith("score_")]
        p[blocks + ["total"]] = p[blocks + ["total"]].round(2)
        columns = ["project_id", "name", "unit_name", "budget", "execution_rate", *blocks, "total", "rating", "notes"]
        headers = {**_SELF_HEADERS[self.lang], **{b: b.removeprefix("score_") for b in blocks}}
        return p[columns].rename(columns=headers)

    def rating_table(self) -> pd.DataFrame:
        t = self.result.by_rating.copy()
        t["budget"] = (t["budget"] / 1e4).round(2)
        names = {"zh": {"projects": "项目数", "budget": "预算（万元）"}, "en": {"projects": "Projects",
                                                                       "budget": "Budget (10k yuan)"}}[self.lang]
        return t.rename(columns=names).rename_axis(_SELF_HEADERS[self.lang]["rating"])

    def plot_scores(self):
        """Distribution of the unit's project scores, with the rating bands."""
        import matplotlib.pyplot as plt
        from perfkit.plotting import use_cjk_font

        use_cjk_font()
        r = self.result
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.hist(r.projects["total"], bins=20, range=(min(50, r.projects["total"].min()), 100), color="#4c72b0")
        for name, band in r.preset["rating_bands"].items():
            if band["min"] > 0:
                ax.axvline(band["min"], color="#999999", linestyle="--")
                ax.text(band["min"] + 0.5, ax.get_ylim()[1] * 0.9, name)
        ax.set_xlabel(_SELF_HEADERS[self.lang]["total"])
        fig.tight_layout()
        return fig


def unit_self_evaluation(store: Store, unit_id: str, year: int, preset="default",
                         lang: str = "zh") -> SelfEvaluationView:
    """Self-evaluate a unit's projects of ``year`` and wrap the result for the report."""
    return SelfEvaluationView(self_evaluate(unit_id, store, year, preset), lang=lang)


def key_evaluations(store: Store, year: int, preset="default") -> pd.DataFrame:
    """Key evaluations of every project of ``year`` with an expert panel: total, rating and budget."""
    ids = store.query("""SELECT DISTINCT e.project_id FROM expert_scores e JOIN projects p USING (project_id)
                         WHERE p.year = ? ORDER BY 1""", [int(year)])["project_id"]
    rows = []
    for project_id in ids:
        result = evaluate(project_id, store, preset)
        rows.append(dict(project_id=project_id, name=result.project["name"], unit_id=result.project["unit_id"],
                         unit_name=result.project["unit_name"], program_id=result.project["program_id"],
                         total=round(result.total, 2), rating=result.rating, budget=result.budget))
    return pd.DataFrame(rows, columns=["project_id", "name", "unit_id", "unit_name", "program_id", "total",
                                       "rating", "budget"])


def results_application_workbook(applied: pd.DataFrame, path, lang: str = "zh"):
    """Write the results application (project detail, by rating, by unit) as a formatted workbook."""
    from perfkit.evaluation import results_summary
    from perfkit.excel import write_workbook

    zh = lang == "zh"
    names = {"project_id": "项目编码", "name": "项目名称", "unit_name": "预算单位", "total": "评价得分",
             "rating": "评价等级", "budget": "本年预算（元）", "recommended_budget": "下年建议预算（元）",
             "rule": "应用规则", "projects": "项目数", "recommended": "建议预算（元）", "cut": "压减金额（元）",
             "cut_rate": "压减比例"} if zh else {}
    detail = applied[["project_id", "name", "unit_name", "total", "rating", "budget", "recommended_budget", "rule"]]
    by_rating = results_summary(applied, "rating").rename_axis("rating").reset_index()
    by_unit = results_summary(applied, "unit_name").rename_axis("unit_name").reset_index()
    money = "#,##0.00"
    formats = {names.get(c, c): money for c in ("budget", "recommended_budget", "recommended", "cut")}
    formats[names.get("cut_rate", "cut_rate")] = "0.0%"
    sheets = {("项目明细" if zh else "Projects"): detail.rename(columns=names),
              ("按等级汇总" if zh else "By rating"): by_rating.rename(columns=names),
              ("按单位汇总" if zh else "By unit"): by_unit.rename(columns=names)}
    return write_workbook(path, sheets, formats)
