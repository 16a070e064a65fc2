"""Key evaluations, unit self-evaluations and results application, on the store's data."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from perfkit import queries
from perfkit.errors import DataError, Problem
from perfkit.evaluation.panel import aggregate_panel, kendalls_w
from perfkit.evaluation.scoring import rate, score_indicator
from perfkit.evaluation.weights import rating_sensitivity
from perfkit.queries import ProjectEvidence, UnitEvidence
from perfkit.rules import Preset, PresetLike, load_preset
from perfkit.store import Store
from perfkit.text import Message, Name, note

#: Index label of the total row of the summaries (rendered by the views in the report's language).
TOTAL = "total"
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
        points (after redistribution of inapplicable items), score, note (a tuple of
        :class:`perfkit.text.Message`), flagged.
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
    preset: Preset = field(repr=False, default=None)

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
    def flags(self) -> list[tuple[str, tuple[Message, ...]]]:
        """(item, notes) of the items scored with missing data or disagreement: never silently dropped."""
        return [(row.indicator, row.note) for row in self.table.itertuples() if row.flagged]

    def sensitivity(self, **kwargs) -> dict:
        """Probability that the rating changes when weights move (see :func:`rating_sensitivity`)."""
        return rating_sensitivity(self.table, preset=self.preset, **kwargs)


def score_indicators(indicators: pd.DataFrame, preset: PresetLike = "default") -> pd.DataFrame:
    """Add ``fraction`` (share of the indicator's points won, 0-1) and ``issue`` to each performance indicator.

    Quantitative indicators are scored by their polarity (positive, reverse, equal),
    qualitative ones by their grade. ``issue`` is "" for a scored indicator, else the
    code of why it scored 0: ``no_grade``, ``no_actual``, or ``cannot_score`` (with the
    reason in ``issue_detail``, e.g. a negative target).
    """
    preset = load_preset(preset)
    fractions, issues, details = [], [], []
    for row in indicators.itertuples(index=False):
        issue, detail = "", ""
        try:
            if row.value_type == "qualitative":
                grade = None if pd.isna(row.grade) else row.grade
                fractions.append(score_indicator("qualitative", points=1.0, grade=grade, preset=preset))
                issue = "no_grade" if grade is None else ""
            else:
                actual = None if pd.isna(row.actual_value) else float(row.actual_value)
                target = None if pd.isna(row.target_value) else float(row.target_value)
                fractions.append(score_indicator(row.polarity, points=1.0, target=target, actual=actual,
                                                 preset=preset))
                issue = "no_actual" if actual is None else ""
        except DataError as exc:
            fractions.append(0.0)
            issue, detail = "cannot_score", exc.problems[0].problem
        issues.append(issue)
        details.append(detail)
    return indicators.assign(fraction=fractions, issue=issues, issue_detail=details)


def _redistribute(table: pd.DataFrame, preset: Preset) -> pd.DataFrame:
    """Spread the points of inapplicable items over the applicable ones (or score them 0)."""
    applicable = ~table["not_applicable"]
    if preset.scoring.not_applicable == "redistribute" and applicable.any() and not applicable.all():
        scale = table["points"].sum() / table.loc[applicable, "points"].sum()
        share = np.divide(table["score"], table["points"], out=np.zeros(len(table)), where=table["points"] > 0)
        table.loc[applicable, "points"] = table.loc[applicable, "points"] * scale
        table.loc[~applicable, "points"] = 0.0
        table["score"] = share * table["points"]
        table.loc[~applicable, "note"] = table.loc[~applicable, "note"].map(
            lambda notes: (*notes, note("points_redistributed")))
    return table


def score_project(evidence: ProjectEvidence, preset: PresetLike = "default") -> EvaluationResult:
    """Key evaluation (财政重点评价) of one project's evidence against the preset's evaluation tree.

    Every level-3 item is scored from the evidence: ``expert`` items from the expert
    panel (highest and lowest dropped from the preset's panel size up),
    ``execution_rate`` from spending and budget, ``deduction`` items from the findings,
    ``indicators`` items from the project's performance targets and actuals of the
    item's dimensions. Notes are :class:`perfkit.text.Message` tuples.
    """
    preset = load_preset(preset)
    budget, spent = evidence.budget, evidence.spent
    experts, findings = evidence.expert_scores, evidence.findings
    panel = aggregate_panel(experts, preset)
    indicators = score_indicators(evidence.indicators, preset)
    trim_from = preset.expert_panel.trim_min_experts
    rows = []
    for item in preset.items():
        name, points, rule = item["item"], item["points"], item["rule"]
        score, notes, flagged, not_applicable = 0.0, [], False, False
        if rule == "expert":
            if name in panel.index:
                p = panel.loc[name]
                score = p["score"] / 100 * points
                notes.append(note("experts_trimmed" if p["n_experts"] >= trim_from else "experts",
                                  n=int(p["n_experts"])))
                if p["flagged"]:
                    notes.append(note("experts_disagree", spread=float(p["spread"])))
                    flagged = True
            else:
                notes.append(note("no_expert_scores"))
                flagged = True
        elif rule == "execution_rate":
            if spent is None:
                notes.append(note("no_execution_scored_zero"))
                flagged = True
            else:
                try:
                    score = score_indicator("execution_rate", points=points, target=budget, actual=spent,
                                            preset=preset)
                    notes.append(note("execution_rate", rate=spent / budget))
                except DataError as exc:
                    notes.append(note("cannot_score", reason=exc.problems[0].problem))
                    flagged = True
        elif rule == "deduction":
            mine = findings[findings["item"] == name]
            score = score_indicator("deduction", points=points, deductions=mine["deduction"].tolist(), preset=preset)
            notes += [note("deducted", problem=t, points=float(d)) for t, d in zip(mine["problem_type"],
                                                                                    mine["deduction"])]
            if mine.empty:
                notes.append(note("no_problem_found"))
        else:
            mine = indicators[indicators["level2"].isin(item["dimensions"])]
            if mine.empty:
                notes.append(note("no_indicators_not_applicable"))
                not_applicable = True
            else:
                score = float(mine["fraction"].mean()) * points
                notes.append(note("indicators_mean", n=len(mine), share=float(mine["fraction"].mean())))
                missing = mine.loc[mine["issue"] != "", "name"].tolist()
                if missing:
                    notes.append(note("indicator_data_missing", names=missing))
                    flagged = True
        rows.append(dict(level1=item["level1"], level2=item["level2"], indicator=name, rule=rule,
                         points=float(points), score=float(score), note=tuple(notes), flagged=flagged,
                         not_applicable=not_applicable))
    table = _redistribute(pd.DataFrame(rows), preset)
    return EvaluationResult(project=evidence.project, budget=budget, spent=spent,
                            table=table[TABLE_COLUMNS].reset_index(drop=True), indicators=indicators,
                            panel=panel, agreement=kendalls_w(experts) if len(experts) else {},
                            findings=findings, preset=preset)


def evaluate(store: Store, project_id: str, preset: PresetLike = "default") -> EvaluationResult:
    """Key evaluation of a stored project: :func:`score_project` of its :func:`perfkit.queries.project_evidence`.

    Raises
    ------
    KeyError
        When the project is not in the store.
    """
    return score_project(queries.project_evidence(store, project_id), preset)


@dataclass
class SelfEvaluationResult:
    """A unit's self-evaluation (单位自评): every project scored, and a unit summary."""

    unit: pd.Series
    year: int
    projects: pd.DataFrame
    preset: Preset = field(repr=False, default=None)

    @property
    def summary(self) -> dict:
        """Projects, money, mean and budget-weighted scores, count per rating, projects with data gaps."""
        p = self.projects
        weighted = float(np.average(p["total"], weights=p["budget"])) if p["budget"].sum() > 0 else float("nan")
        counts = p["rating"].value_counts()
        return {
            "projects": len(p), "budget": float(p["budget"].sum()), "spent": float(p["spent"].fillna(0).sum()),
            "mean_score": float(p["total"].mean()), "budget_weighted_score": weighted,
            **{f"rating_{r}": int(counts.get(r, 0)) for r in self.preset.rating_bands},
            "flagged_projects": int((p["notes"].map(len) > 0).sum()),
        }

    @property
    def by_rating(self) -> pd.DataFrame:
        order = list(self.preset.rating_bands)
        grouped = self.projects.groupby("rating")["budget"].agg(projects="count", budget="sum")
        return grouped.reindex(order).fillna(0).astype({"projects": int})


def score_unit(evidence: UnitEvidence, preset: PresetLike = "default") -> SelfEvaluationResult:
    """Self-evaluation of every project in a unit's evidence (see :func:`self_evaluate`)."""
    preset = load_preset(preset)
    projects, spent, year = evidence.projects, evidence.spent, evidence.year
    indicators = score_indicators(evidence.indicators, preset)
    weights = preset.self_evaluation.weights
    execution_block = preset.self_evaluation.execution_block
    redistribute = preset.scoring.not_applicable == "redistribute"
    rows = []
    for project in projects.itertuples(index=False):
        mine = indicators[indicators["project_id"] == project.project_id]
        shares, notes = {}, []
        for block in weights:
            if block == execution_block:
                s = spent.get(project.project_id)
                if s is None or pd.isna(project.budget) or project.budget <= 0:
                    shares[block] = 0.0
                    notes.append(note("no_execution"))
                else:
                    shares[block] = score_indicator("execution_rate", points=1.0, target=float(project.budget),
                                                    actual=float(s), preset=preset)
                continue
            block_rows = mine[mine["level1"] == block]
            shares[block] = float(block_rows["fraction"].mean()) if len(block_rows) else None
            if block_rows.empty:
                notes.append(note("no_block_indicators", block=Name(block)))
            elif (block_rows["issue"] != "").any():
                notes.append(note("block_data_missing", block=Name(block)))
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
                         rating=rate(min(max(total, 0.0), 100.0), preset), notes=tuple(notes)))
    return SelfEvaluationResult(unit=evidence.unit, year=int(year), projects=pd.DataFrame(rows), preset=preset)


def self_evaluate(store: Store, unit_id: str, year: int, preset: PresetLike = "default") -> SelfEvaluationResult:
    """Self-evaluation of every project of a unit (and of its second-level units) in ``year``.

    Each project is scored with the preset's self-evaluation weights (产出 50, 效益 30,
    满意度 10, 预算执行率 10 by default): a block's points times the mean share won
    by the project's indicators of that level-1 dimension, and the execution block's
    points times the execution rate; a block without indicators is redistributed (or
    scored 0) as the preset says.

    Raises
    ------
    KeyError
        When the unit is not in the store or has no projects in ``year``.
    """
    return score_unit(queries.unit_evidence(store, unit_id, year), preset)


def apply_results(ratings: pd.DataFrame, preset: PresetLike = "default") -> pd.DataFrame:
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
    table = load_preset(preset).results_application
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
    out["recommended_budget"] = out["budget"] * out["rating"].map(lambda r: table[r].factor)
    out["rule"] = out["rating"].map(lambda r: table[r].rule)
    return out


def results_summary(applied: pd.DataFrame, by: str | list[str] = "rating") -> pd.DataFrame:
    """Portfolio summary of :func:`apply_results`: projects, budget, recommended and cut, by ``by``."""
    grouped = applied.groupby(by, sort=False).agg(projects=("project_id", "count"), budget=("budget", "sum"),
                                                  recommended=("recommended_budget", "sum"))
    grouped["cut"] = grouped["budget"] - grouped["recommended"]
    grouped["cut_rate"] = np.where(grouped["budget"] > 0, grouped["cut"] / grouped["budget"], 0.0)
    total = pd.DataFrame([{"projects": grouped["projects"].sum(), "budget": grouped["budget"].sum(),
                           "recommended": grouped["recommended"].sum()}], index=[TOTAL])
    total["cut"] = total["budget"] - total["recommended"]
    total["cut_rate"] = total["cut"] / total["budget"] if total["budget"].iloc[0] > 0 else 0.0
    if isinstance(by, str):
        return pd.concat([grouped, total])
    return grouped
