"""Key evaluations, unit self-evaluations and results application, on the store's data."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from perfkit.errors import DataError, Problem
from perfkit.evaluation.panel import aggregate_panel, kendalls_w
from perfkit.evaluation.scoring import rate, score_indicator
from perfkit.evaluation.weights import rating_sensitivity
from perfkit.rules import evaluation_items, load_preset
from perfkit.store import Store

TABLE_COLUMNS = ["level1", "level2", "indicator", "rule", "points", "score", "note", "flagged"]


@dataclass
class EvaluationResult:
    """A project's key evaluation.

    Attributes
    ----------
    total : float
        Points won out of 100.
    rating : str
        优 良 中 差 (by the preset's bands).
    table : DataFrame
        One row per item of the evaluation tree: level1, level2, indicator, rule,
        points (after redistribution of inapplicable items), score, note, flagged.
    by_level1 : Series
        Points won per level-1 dimension.
    indicators : DataFrame
        The project's performance indicators with the fraction each won.
    panel : DataFrame
        Expert panel aggregates per item; ``agreement`` holds Kendall's W.
    findings : DataFrame
        The project's findings (problems, deductions, recommendations).
    """

    project: pd.Series
    budget: float
    spent: float | None
    table: pd.DataFrame
    indicators: pd.DataFrame
    panel: pd.DataFrame
    agreement: dict
    findings: pd.DataFrame
    preset: dict = field(repr=False, default_factory=dict)

    @property
    def total(self) -> float:
        return float(round(self.table["score"].sum(), 10))

    @property
    def rating(self) -> str:
        return rate(min(max(self.total, 0.0), 100.0), self.preset)

    @property
    def by_level1(self) -> pd.Series:
        return self.table.groupby("level1", sort=False)["score"].sum()

    @property
    def by_level2(self) -> pd.DataFrame:
        return self.table.groupby(["level1", "level2"], sort=False)[["points", "score"]].sum()

    @property
    def flags(self) -> list[str]:
        """Notes of items scored with missing data: never silently dropped."""
        return [f"{row.indicator}：{row.note}" for row in self.table.itertuples() if row.flagged]

    def sensitivity(self, **kwargs) -> dict:
        """Probability that the rating changes when weights move (see :func:`rating_sensitivity`)."""
        return rating_sensitivity(self.table, preset=self.preset, **kwargs)


def _project(store: Store, project_id: str) -> pd.Series:
    row = store.query("""
        SELECT p.*, u.name AS unit_name, d.name AS direction_name, coalesce(b.adjusted_amount, b.amount) AS budget
        FROM projects p JOIN units u USING (unit_id) JOIN directions d ON d.direction_id = p.direction
        LEFT JOIN budgets b ON b.project_id = p.project_id AND b.year = p.year
        WHERE p.project_id = ?""", [project_id])
    if row.empty:
        raise KeyError(f"project {project_id!r} is not in the store {store.path}")
    return row.iloc[0]


def _spent(store: Store, project_ids: list[str]) -> pd.Series:
    """Spending to the last month reported in each project's year."""
    frame = store.query("""
        SELECT e.project_id, arg_max(e.spent_cumulative, e.month) AS spent
        FROM execution e JOIN projects p USING (project_id)
        WHERE year(e.month) = p.year AND e.project_id IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY 1""", [project_ids])
    return frame.set_index("project_id")["spent"]


def _indicators(store: Store, project_ids: list[str]) -> pd.DataFrame:
    return store.query("""
        SELECT t.project_id, i.indicator_id, i.level1, i.level2, i.name, i.measure_unit, i.polarity, i.value_type,
               t.target_value, t.target_text, a.actual_value, a.grade
        FROM targets t JOIN indicators i USING (indicator_id)
        LEFT JOIN actuals a ON a.project_id = t.project_id AND a.indicator_id = t.indicator_id
        WHERE t.project_id IN (SELECT unnest(?::VARCHAR[]))
        ORDER BY t.project_id, i.indicator_id""", [project_ids])


def score_indicators(indicators: pd.DataFrame, preset="default") -> pd.DataFrame:
    """Add ``fraction`` (share of the indicator's points won, 0-1) and ``note`` to each performance indicator.

    Quantitative indicators are scored by their polarity (positive, reverse, equal),
    qualitative ones by their grade. Missing actuals or grades score 0 with a note;
    an indicator that cannot be scored (e.g. a negative target) scores 0 with the reason.
    """
    fractions, notes = [], []
    for row in indicators.itertuples(index=False):
        try:
            if row.value_type == "qualitative":
                grade = None if pd.isna(row.grade) else row.grade
                fractions.append(score_indicator("qualitative", points=1.0, grade=grade, preset=preset))
                notes.append("未填报定性评级" if grade is None else "")
            else:
                actual = None if pd.isna(row.actual_value) else float(row.actual_value)
                target = None if pd.isna(row.target_value) else float(row.target_value)
                fractions.append(score_indicator(row.polarity, points=1.0, target=target, actual=actual,
                                                 preset=preset))
                notes.append("未填报实际完成值" if actual is None else "")
        except DataError as exc:
            fractions.append(0.0)
            notes.append(f"无法评分：{exc.problems[0].problem}")
    return indicators.assign(fraction=fractions, note=notes)


def _redistribute(table: pd.DataFrame, preset: dict) -> pd.DataFrame:
    """Spread the points of inapplicable items over the applicable ones (or score them 0)."""
    applicable = ~table["not_applicable"]
    if preset["scoring"]["not_applicable"] == "redistribute" and applicable.any() and not applicable.all():
        scale = table["points"].sum() / table.loc[applicable, "points"].sum()
        share = np.divide(table["score"], table["points"], out=np.zeros(len(table)), where=table["points"] > 0)
        table.loc[applicable, "points"] = table.loc[applicable, "points"] * scale
        table.loc[~applicable, "points"] = 0.0
        table["score"] = share * table["points"]
        table.loc[~applicable, "note"] = table.loc[~applicable, "note"] + "（分值按比例分配至其他指标）"
    return table


def evaluate(project_id: str, store: Store, preset="default") -> EvaluationResult:
    """Key evaluation (财政重点评价) of one project against the preset's evaluation tree.

    Every level-3 item is scored from the store: ``expert`` items from the expert
    panel (highest and lowest dropped from five experts up), ``execution_rate`` from
    spending and budget, ``deduction`` items from the findings, ``indicators`` items
    from the project's performance targets and actuals of the item's dimensions.

    Raises
    ------
    KeyError
        When the project is not in the store.
    """
    preset = load_preset(preset)
    project = _project(store, project_id)
    budget = float(project["budget"]) if not pd.isna(project["budget"]) else float("nan")
    spent_series = _spent(store, [project_id])
    spent = float(spent_series.iloc[0]) if len(spent_series) else None
    experts = store.query("SELECT expert_id, item, score FROM expert_scores WHERE project_id = ?", [project_id])
    panel = aggregate_panel(experts, preset)
    findings = store.query("SELECT * FROM findings WHERE project_id = ? ORDER BY finding_id", [project_id])
    indicators = score_indicators(_indicators(store, [project_id]), preset)
    rows = []
    for item in evaluation_items(preset):
        name, points, rule = item["item"], item["points"], item["rule"]
        score, note, flagged, not_applicable = 0.0, "", False, False
        if rule == "expert":
            if name in panel.index:
                p = panel.loc[name]
                score = p["score"] / 100 * points
                note = f"{p['n_experts']}位专家" + ("，去掉最高最低分" if p["n_experts"] >= preset["expert_panel"]["trim_min_experts"] else "")
                if p["flagged"]:
                    note += f"；专家评分分歧较大（极差{p['spread']:.0f}）"
                    flagged = True
            else:
                note, flagged = "无专家评分，计0分", True
        elif rule == "execution_rate":
            if spent is None:
                note, flagged = "无预算执行记录，计0分", True
            else:
                try:
                    score = score_indicator("execution_rate", points=points, target=budget, actual=spent,
                                            preset=preset)
                    note = f"执行率{spent / budget:.1%}"
                except DataError as exc:
                    note, flagged = f"无法评分：{exc.problems[0].problem}", True
        elif rule == "deduction":
            mine = findings[findings["item"] == name]
            score = score_indicator("deduction", points=points, deductions=mine["deduction"].tolist(), preset=preset)
            note = "；".join(f"{t}扣{d:g}分" for t, d in zip(mine["problem_type"], mine["deduction"])) or "未发现问题"
        else:
            mine = indicators[indicators["level2"].isin(item["dimensions"])]
            if mine.empty:
                note, not_applicable = "无相关绩效指标，不适用", True
            else:
                score = float(mine["fraction"].mean()) * points
                note = f"{len(mine)}项指标平均得分率{mine['fraction'].mean():.1%}"
                missing = mine.loc[mine["note"] != "", "name"].tolist()
                if missing:
                    note += "；" + "、".join(missing) + "数据缺失或无法评分"
                    flagged = True
        rows.append(dict(level1=item["level1"], level2=item["level2"], indicator=name, rule=rule,
                         points=float(points), score=float(score), note=note, flagged=flagged,
                         not_applicable=not_applicable))
    table = _redistribute(pd.DataFrame(rows), preset)
    return EvaluationResult(project=project, budget=budget, spent=spent,
                            table=table[TABLE_COLUMNS].reset_index(drop=True), indicators=indicators,
                            panel=panel, agreement=kendalls_w(experts) if len(experts) else {},
                            findings=findings, preset=preset)


@dataclass
class SelfEvaluationResult:
    """A unit's self-evaluation (单位自评): every project scored, and a unit summary."""

    unit: pd.Series
    year: int
    projects: pd.DataFrame
    preset: dict = field(repr=False, default_factory=dict)

    @property
    def summary(self) -> dict:
        """Projects, money, mean and budget-weighted scores, count per rating, projects with data gaps."""
        p = self.projects
        weighted = float(np.average(p["total"], weights=p["budget"])) if p["budget"].sum() > 0 else float("nan")
        counts = p["rating"].value_counts()
        return {
            "projects": len(p), "budget": float(p["budget"].sum()), "spent": float(p["spent"].fillna(0).sum()),
            "mean_score": float(p["total"].mean()), "budget_weighted_score": weighted,
            **{f"rating_{r}": int(counts.get(r, 0)) for r in self.preset["rating_bands"]},
            "flagged_projects": int((p["notes"] != "").sum()),
        }

    @property
    def by_rating(self) -> pd.DataFrame:
        order = list(self.preset["rating_bands"])
        grouped = self.projects.groupby("rating")["budget"].agg(projects="count", budget="sum")
        return grouped.reindex(order).fillna(0).astype({"projects": int})


def self_evaluate(unit_id: str, store: Store, year: int, preset="default") -> SelfEvaluationResult:
    """Self-evaluation of every project of a unit (and of its second-level units) in ``year``.

    Each project is scored with the preset's self-evaluation weights (产出 50, 效益 30,
    满意度 10, 预算执行率 10 by default): a block's points times the mean share won
    by the project's indicators of that level-1 dimension; a block without
    indicators is redistributed (or scored 0) as the preset says.
    """
    preset = load_preset(preset)
    unit = store.query("SELECT * FROM units WHERE unit_id = ?", [unit_id])
    if unit.empty:
        raise KeyError(f"unit {unit_id!r} is not in the store {store.path}")
    projects = store.query("""
        SELECT p.project_id, p.name, p.unit_id, u.name AS unit_name, p.category,
               coalesce(b.adjusted_amount, b.amount) AS budget
        FROM projects p JOIN units u USING (unit_id)
        LEFT JOIN budgets b ON b.project_id = p.project_id AND b.year = p.year
        WHERE p.year = ? AND (p.unit_id = ? OR u.parent_id = ?)
        ORDER BY p.project_id""", [int(year), unit_id, unit_id])
    if projects.empty:
        raise KeyError(f"unit {unit_id!r} has no projects in {year}")
    ids = projects["project_id"].tolist()
    spent = _spent(store, ids)
    indicators = score_indicators(_indicators(store, ids), preset)
    weights = preset["self_evaluation"]["weights"]
    redistribute = preset["scoring"]["not_applicable"] == "redistribute"
    rows = []
    for project in projects.itertuples(index=False):
        mine = indicators[indicators["project_id"] == project.project_id]
        shares, notes = {}, []
        for block in weights:
            if block == "预算执行率":
                s = spent.get(project.project_id)
                if s is None or pd.isna(project.budget) or project.budget <= 0:
                    shares[block] = 0.0
                    notes.append("无预算执行记录")
                else:
                    shares[block] = score_indicator("execution_rate", points=1.0, target=float(project.budget),
                                                    actual=float(s), preset=preset)
                continue
            block_rows = mine[mine["level1"] == block]
            shares[block] = float(block_rows["fraction"].mean()) if len(block_rows) else None
            if block_rows.empty:
                notes.append(f"无{block}指标")
            elif (block_rows["note"] != "").any():
                notes.append(f"{block}指标数据缺失")
        applicable = {b: w for b, w in weights.items() if shares[b] is not None}
        scale = (sum(weights.values()) / sum(applicable.values())) if redistribute and applicable else 1.0
        scores = {b: (shares[b] or 0.0) * w * (scale if b in applicable else 0.0) for b, w in weights.items()}
        total = float(sum(scores.values()))
        rows.append(dict(project_id=project.project_id, name=project.name, unit_id=project.unit_id,
                         unit_name=project.unit_name, category=project.category, budget=float(project.budget),
                         spent=spent.get(project.project_id, np.nan),
                         execution_rate=(spent.get(project.project_id, np.nan) / project.budget
                                         if project.budget else np.nan),
                         **{f"score_{b}": v for b, v in scores.items()}, total=total,
                         rating=rate(min(max(total, 0.0), 100.0), preset), notes="；".join(notes)))
    return SelfEvaluationResult(unit=unit.iloc[0], year=int(year), projects=pd.DataFrame(rows), preset=preset)


def apply_results(ratings: pd.DataFrame, preset="default") -> pd.DataFrame:
    """Next year's budget from this year's ratings (结果应用).

    Parameters
    ----------
    ratings : DataFrame
        Columns ``project_id``, ``rating``, ``budget``.

    Returns
    -------
    DataFrame
        ``ratings`` with ``recommended_budget`` (budget × the rating's factor: 中 → 90%,
        差 → 0 by default) and ``rule`` (the reason, from the preset).

    Raises
    ------
    perfkit.DataError
        A missing column, an unknown rating, or a negative or missing budget (row named).
    """
    preset = load_preset(preset)
    table = preset["results_application"]
    missing = [c for c in ("project_id", "rating", "budget") if c not in ratings]
    if missing:
        raise DataError([Problem("ratings", f"missing column '{c}'", column=c) for c in missing])
    problems = []
    for i, (rating, budget) in enumerate(zip(ratings["rating"], ratings["budget"]), start=1):
        if rating not in table:
            problems.append(Problem("ratings", f"unknown rating {rating!r} (ratings: {', '.join(table)})",
                                    row=i, column="rating"))
        if pd.isna(budget) or budget < 0:
            problems.append(Problem("ratings", f"budget must be ≥ 0, not {budget}", row=i, column="budget"))
    if problems:
        raise DataError(problems)
    out = ratings.copy()
    out["recommended_budget"] = out["budget"] * out["rating"].map(lambda r: table[r]["factor"])
    out["rule"] = out["rating"].map(lambda r: table[r]["rule"])
    return out


def results_summary(applied: pd.DataFrame, by: str | list[str] = "rating") -> pd.DataFrame:
    """Portfolio summary of :func:`apply_results`: projects, budget, recommended and cut, by ``by``."""
    grouped = applied.groupby(by, sort=False).agg(projects=("project_id", "count"), budget=("budget", "sum"),
                                                  recommended=("recommended_budget", "sum"))
    grouped["cut"] = grouped["budget"] - grouped["recommended"]
    grouped["cut_rate"] = np.where(grouped["budget"] > 0, grouped["cut"] / grouped["budget"], 0.0)
    total = pd.DataFrame([{"projects": grouped["projects"].sum(), "budget": grouped["budget"].sum(),
                           "recommended": grouped["recommended"].sum()}], index=["合计"])
    total["cut"] = total["budget"] - total["recommended"]
    total["cut_rate"] = total["cut"] / total["budget"] if total["budget"].iloc[0] > 0 else 0.0
    if isinstance(by, str):
        return pd.concat([grouped, total])
    return grouped
