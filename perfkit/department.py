"""Department overall performance (部门整体绩效): a department's evidence, its framework's items, its result.

A department is a first-level budget unit with its second-level units. Its evaluation scores the preset's
``department`` framework (the MoF common indicator framework for department overall expenditure by default:
投入, 过程, 产出, 效果) on the department's *facts*: numbers the store holds on the department-year, each
resting on one table (:data:`FACT_EVIDENCE`):

- its units' accounts (basic expenditure, carry-over, “三公”经费, procurement, staff, fixed assets) and
  monthly basic spending, beside its projects' budgets and execution, which roll up into the budget
  execution items;
- its key tasks (done, on time) and overall performance targets (met or not), the output and effect items;
- its projects' scores (the key evaluation where the bureau evaluated the project, the self-evaluation
  otherwise), its projects' monitoring lights and their findings.

Evidence before judgement: a fact is missing (None) when a record it needs is absent or has the value empty
(a unit's final accounts not reported, an indicator's actual not reported); the items that read it wait
for their evidence (待补充), never scored 0. A formula with nothing to measure (a department that states no
ecological indicator) is not applicable, its points redistributed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from perfkit import queries
from perfkit.evaluation.engine import (FORMULA_COLUMNS, _charge, _redistribute, score_deduction_item,
                                       score_expert_item, score_formula_item, settle_missing)
from perfkit.evaluation.panel import aggregate_panel
from perfkit.evaluation.scoring import rate
from perfkit.results import Result, make_record, missing_frame
from perfkit.rules import Preset, PresetLike, load_preset
from perfkit.store import Store, require_tables
from perfkit.text import note

#: The tables a department evaluation reads beyond the projects'.
TABLES = ("unit_accounts", "basic_execution", "department_tasks", "task_projects", "department_indicators",
          "department_scores")
#: The table each fact rests on (what a draft asks its supplier for).
FACT_EVIDENCE = {
    "staff_authorised": "unit_accounts", "staff_actual": "unit_accounts",
    "basic_budget": "unit_accounts", "basic_in_force": "unit_accounts", "basic_spent": "unit_accounts",
    "public_budget": "unit_accounts", "public_spent": "unit_accounts",
    "project_budget": "data", "project_in_force": "data", "project_spent": "execution",
    "budget_initial": "unit_accounts", "budget_total": "unit_accounts", "spent_total": "execution",
    "spent_q2": "execution", "spent_q3": "execution",
    "carryover_start": "unit_accounts", "carryover_end": "unit_accounts",
    "three_public_budget": "unit_accounts", "three_public_spent": "unit_accounts",
    "three_public_budget_prior": "unit_accounts",
    "procurement_budget": "unit_accounts", "procurement_spent": "unit_accounts",
    "assets_total": "unit_accounts", "assets_in_use": "unit_accounts",
    "key_task_budget": "task_projects",
    "tasks": "department_tasks", "tasks_done": "department_tasks", "tasks_on_time": "department_tasks",
    "outputs": "department_indicators", "outputs_met": "department_indicators",
    "quality_indicators": "department_indicators", "quality_met": "department_indicators",
    "economic_indicators": "department_indicators", "economic_met": "department_indicators",
    "social_indicators": "department_indicators", "social_met": "department_indicators",
    "ecological_indicators": "department_indicators", "ecological_met": "department_indicators",
    "satisfaction_indicators": "department_indicators", "satisfaction_met": "department_indicators",
    "project_score": "data", "projects_monitored": "execution", "projects_on_track": "execution",
}
#: The level-2 dimension of the department's overall targets behind each pair of indicator facts.
INDICATOR_FACTS = {"outputs": "数量", "quality": "质量", "economic": "经济效益", "social": "社会效益",
                   "ecological": "生态效益", "satisfaction": "服务对象满意度"}
#: Columns of :attr:`DepartmentResult.table`: the key evaluation's, with the formula's value and inputs and
#: the points lost.
TABLE_COLUMNS = ["level1", "level2", "indicator", "rule", "points", "score", "lost", "value", "inputs", "state",
                 "note", "flagged"]

# each unit's accounts of the year and the year before; a sum over units is NULL when one of them lacks the
# value it adds (count(x) < count(*)), never the sum of the others
_ACCOUNTS_SQL = """
    SELECT u.unit_id, u.name, u.level, a.year, a.* EXCLUDE (unit_id, year)
    FROM units u LEFT JOIN unit_accounts a ON a.unit_id = u.unit_id AND a.year IN ($year, $year - 1)
    WHERE u.unit_id = $unit OR u.parent_id = $unit
    ORDER BY u.level, u.unit_id, a.year"""


def _total(frame: pd.DataFrame, column: str) -> float | None:
    """The sum of ``column`` over rows, None when a row lacks it (or there are none)."""
    values = frame[column]
    return None if values.empty or values.isna().any() else float(values.sum())


def _met(polarity: str, target: float | None, actual: float | None) -> bool | None:
    """Whether an overall target is met: at least the target (positive), at most (reverse), equal (equal);
    None when the actual (or the target) is not given."""
    if target is None or actual is None or pd.isna(target) or pd.isna(actual):
        return None
    if polarity == "reverse":
        return bool(actual <= target + 1e-9)
    if polarity == "equal":
        return bool(abs(actual - target) <= 1e-9 * max(1.0, abs(target)))
    return bool(actual >= target - 1e-9)


@dataclass
class DepartmentEvidence:
    """What a department's evaluation rests on (see :func:`department_evidence`)."""

    department: pd.Series
    year: int
    units: pd.DataFrame          # its units' accounts of the year (one row per unit)
    accounts_prior: pd.DataFrame  # and of the year before
    projects: pd.DataFrame       # its projects of the year with budget, spending and scores
    tasks: pd.DataFrame          # duties and key tasks with their projects' budget
    indicators: pd.DataFrame     # overall targets with ``met``
    review: pd.DataFrame         # the review group's scores of the expert items (percent)
    findings: pd.DataFrame       # findings on its projects of the year
    monitoring: pd.DataFrame | None   # its projects' lights at the preset's checkpoint (None: no history)
    execution: pd.DataFrame      # month by month: projects' and basic spending, budget in force
    facts: dict = field(default_factory=dict)


def _facts(e: DepartmentEvidence) -> dict[str, float | None]:
    """Every fact of a department-year from its evidence (None where missing)."""
    units, prior, projects = e.units, e.accounts_prior, e.projects
    facts: dict[str, float | None] = {}
    have = units["year"].notna().all() and len(units) > 0      # every unit has its accounts of the year
    for column in ("staff_authorised", "staff_actual", "public_spent", "carryover_start",
                   "carryover_end", "procurement_budget", "procurement_spent", "assets_total", "assets_in_use"):
        facts[column] = _total(units, column) if have else None
    in_force = lambda kind: units[f"{kind}_adjusted"].fillna(units[f"{kind}_budget"])   # noqa: E731
    # the public funds the budget arranged: after an approved adjustment, the adjusted amount
    facts["public_budget"] = _total(units.assign(b=in_force("public")), "b") if have else None
    facts["basic_budget"] = _total(units.assign(b=units["personnel_budget"] + units["public_budget"]), "b") \
        if have else None
    facts["basic_in_force"] = _total(units.assign(b=in_force("personnel") + in_force("public")), "b") \
        if have else None
    facts["basic_spent"] = _total(units.assign(b=units["personnel_spent"] + units["public_spent"]), "b") \
        if have else None
    three = ("reception", "vehicles", "overseas")
    facts["three_public_budget"] = _total(units.assign(t=sum(units[f"{k}_budget"] for k in three)), "t") \
        if have else None
    facts["three_public_spent"] = _total(units.assign(t=sum(units[f"{k}_spent"] for k in three)), "t") \
        if have else None
    facts["three_public_budget_prior"] = (
        _total(prior.assign(t=sum(prior[f"{k}_budget"] for k in three)), "t")
        if len(prior) == len(units) and len(prior) else None)
    facts["project_budget"] = _total(projects, "amount")
    facts["project_in_force"] = _total(projects, "budget")
    facts["project_spent"] = _total(projects, "spent")
    add = lambda a, b: None if facts[a] is None or facts[b] is None else facts[a] + facts[b]   # noqa: E731
    facts["budget_initial"] = add("basic_budget", "project_budget")
    facts["budget_total"] = add("basic_in_force", "project_in_force")
    facts["spent_total"] = add("basic_spent", "project_spent")
    for fact, month in (("spent_q2", 6), ("spent_q3", 9)):
        row = e.execution[e.execution["month"] == month]
        facts[fact] = (None if row.empty or row["total"].isna().any() else float(row["total"].iloc[0]))
    key = e.tasks[e.tasks["kind"] == "key_task"]
    linked = projects[projects["project_id"].isin({p for ps in key["projects"] for p in ps})]
    facts["key_task_budget"] = float(linked["budget"].sum()) if len(key) else None
    facts["tasks"] = float(len(key))
    done = key["done"]
    facts["tasks_done"] = None if done.isna().any() else float(done.fillna(False).astype(bool).sum())
    on_time = key["done"].fillna(False).astype(bool) & (key["done_date"] <= key["due_date"])
    facts["tasks_on_time"] = None if done.isna().any() else float(on_time.sum())
    ind = e.indicators
    for prefix, level2 in INDICATOR_FACTS.items():
        mine = ind[ind["level2"] == level2]
        count = "outputs" if prefix == "outputs" else f"{prefix}_indicators"
        facts[count] = float(len(mine))
        facts[f"{prefix}_met"] = None if mine["met"].isna().any() else float(mine["met"].astype(bool).sum())
    scored = projects[projects["score"].notna()]
    facts["project_score"] = (float(np.average(scored["score"], weights=scored["budget"]))
                              if len(scored) and scored["budget"].sum() > 0 else None)
    monitored = e.monitoring is not None
    facts["projects_monitored"] = float(len(e.monitoring)) if monitored else None
    facts["projects_on_track"] = float((e.monitoring["light"] != "red").sum()) if monitored else None
    return facts


def _department_row(store: Store, unit_id: str) -> pd.Series:
    """The unit ``unit_id``, which must be a department (a first-level unit); ``KeyError`` naming the problem."""
    unit = queries._query(store, "SELECT * FROM units WHERE unit_id = ?", [unit_id])
    if unit.empty:
        raise KeyError(f"unit {unit_id!r} is not in the store {store.path}")
    if int(unit["level"].iloc[0]) != 1:
        raise KeyError(f"unit {unit_id!r} is a second-level unit: a department is a first-level unit "
                       f"(its department is {unit['parent_id'].iloc[0]})")
    return unit.iloc[0]


def department_evidence(store: Store, unit_id: str, year: int, preset: PresetLike = "default") -> DepartmentEvidence:
    """Everything the store holds on a department-year for its evaluation.

    Raises
    ------
    KeyError
        When the unit is not in the store or is not a first-level unit (a department).
    perfkit.DataError
        When the store lacks a table of the department level (a store loaded before perfkit knew it).
    """
    from perfkit.evaluation import evaluate_many, self_evaluate
    from perfkit.monitoring import monitor

    preset = load_preset(preset)
    require_tables(store, TABLES)
    present = set(store.tables())     # a city without expert panels or findings has none to read
    year = int(year)
    unit = _department_row(store, unit_id)
    accounts = queries._query(store, _ACCOUNTS_SQL, {"unit": unit_id, "year": year})
    units = (accounts[accounts["year"].isna() | (accounts["year"] == year)]
             .drop_duplicates("unit_id").reset_index(drop=True))
    prior = accounts[accounts["year"] == year - 1].reset_index(drop=True)
    projects = queries._query(store, """
        SELECT f.project_id, f.name, f.unit_id, f.unit_name, f.category, b.amount, f.budget
        FROM project_facts f LEFT JOIN budget_in_force b ON b.project_id = f.project_id AND b.year = f.year
        WHERE f.year = $year AND (f.unit_id = $unit OR f.parent_id = $unit) ORDER BY f.project_id""",
                              {"unit": unit_id, "year": year})
    ids = projects["project_id"].tolist()
    spending = queries.spent(store, ids)
    projects["spent"] = projects["project_id"].map(spending)
    # each project's score: the bureau's key evaluation where it made one, else the unit's self-evaluation
    if ids:
        own = self_evaluate(store, unit_id, year, preset).projects.set_index("project_id")
        panel = (queries._query(store, "SELECT DISTINCT project_id FROM expert_scores "
                                       "WHERE project_id IN (SELECT unnest(?::VARCHAR[]))", [ids])["project_id"]
                 if "expert_scores" in present else [])
        key = evaluate_many(store, sorted(panel), preset) if len(panel) else {}
        projects["self_score"] = projects["project_id"].map(own["total"])
        projects["self_rating"] = projects["project_id"].map(own["rating"])
        projects["key_score"] = projects["project_id"].map(
            {p: (None if r.is_draft else r.total) for p, r in key.items()})
        projects["key_rating"] = projects["project_id"].map({p: r.rating for p, r in key.items()})
        projects["key_evaluated"] = projects["project_id"].isin(key)
        projects["score"] = projects["key_score"].where(projects["key_evaluated"], projects["self_score"])
    else:
        for column in ("self_score", "self_rating", "key_score", "key_rating", "key_evaluated", "score"):
            projects[column] = pd.Series(dtype=object)
    tasks = queries._query(store, """
        SELECT t.*, coalesce(list(l.project_id ORDER BY l.project_id) FILTER (WHERE l.project_id IS NOT NULL),
                             []) AS projects
        FROM department_tasks t LEFT JOIN task_projects l USING (task_id)
        WHERE t.unit_id = $unit AND t.year = $year GROUP BY ALL ORDER BY t.kind, t.task_id""",
                           {"unit": unit_id, "year": year})
    tasks["projects"] = tasks["projects"].map(list)
    indicators = queries._query(store, """
        SELECT * EXCLUDE (unit_id, year) FROM department_indicators WHERE unit_id = $unit AND year = $year
        ORDER BY indicator_no""", {"unit": unit_id, "year": year})
    indicators["met"] = [_met(p, t, a) for p, t, a in
                         zip(indicators["polarity"], indicators["target_value"], indicators["actual_value"])]
    review = queries._query(store, "SELECT expert_id, item, score FROM department_scores "
                                   "WHERE unit_id = $unit AND year = $year ORDER BY rowid",
                            {"unit": unit_id, "year": year})
    findings = (queries._query(store, """
        SELECT * FROM findings WHERE project_id IN (SELECT unnest($ids::VARCHAR[])) ORDER BY project_id, finding_id""",
                               {"ids": ids}) if "findings" in present
                else pd.DataFrame(columns=["finding_id", "project_id", "item", "problem_type", "description",
                                           "deduction", "recommendation"]))
    checkpoint = pd.Timestamp(f"{year}-{preset.department.monitoring_checkpoint}")
    try:
        monitoring = (monitor(store, checkpoint, preset, unit=unit_id).table if ids
                      else pd.DataFrame(columns=["project_id", "light", "action"]))
    except ValueError:       # no closed year to monitor against: the monitoring item waits for one
        monitoring = None
    evidence = DepartmentEvidence(department=unit, year=year, units=units, accounts_prior=prior,
                                  projects=projects, tasks=tasks, indicators=indicators, review=review,
                                  findings=findings, monitoring=monitoring,
                                  execution=_monthly(store, unit_id, year, ids, units))
    evidence.facts = _facts(evidence)
    return evidence


def _monthly(store: Store, unit_id: str, year: int, ids: list[str], units: pd.DataFrame) -> pd.DataFrame:
    """Month by month (1-12) the department's cumulative spending: its projects' (each carried forward over
    a missing report; NaN while a project has none yet), its basic spending, their total, and the budget in
    force; months not yet reported are NaN."""
    projects = queries._query(store, """
        SELECT e.project_id, month(e.month) AS m, e.spent_cumulative AS spent
        FROM execution e JOIN projects p USING (project_id)
        WHERE year(e.month) = p.year AND e.project_id IN (SELECT unnest($ids::VARCHAR[]))""", {"ids": ids})
    basic = queries._query(store, """
        SELECT unit_id, month(month) AS m, spent_cumulative AS spent FROM basic_execution
        WHERE year(month) = $year AND unit_id IN (SELECT unit_id FROM units WHERE unit_id = $unit OR parent_id = $unit)""",
                           {"year": year, "unit": unit_id})
    months = pd.Index(range(1, 13), name="month")
    last = max([int(projects["m"].max()) if len(projects) else 0, int(basic["m"].max()) if len(basic) else 0])

    def cumulative(frame: pd.DataFrame, key: str, keys: list[str]) -> pd.Series:
        wide = frame.pivot_table(index=key, columns="m", values="spent", aggfunc="last").reindex(
            index=keys, columns=months).ffill(axis=1)
        total = wide.sum(axis=0, min_count=1).where(wide.notna().all(axis=0))
        return total.where(months <= last)

    out = pd.DataFrame({"projects": cumulative(projects, "project_id", ids) if ids else 0.0,
                        "basic": cumulative(basic, "unit_id", units["unit_id"].tolist())}, index=months)
    out["total"] = out["projects"] + out["basic"]
    return out.reset_index()


@dataclass
class DepartmentResult(Result):
    """A department's overall performance evaluation (部门整体绩效评价).

    Attributes
    ----------
    table : DataFrame
        One row per item of the department framework (:data:`TABLE_COLUMNS`): level1, level2, indicator,
        rule, points (after redistribution), score (NaN: waiting for evidence), lost, value (a formula's),
        inputs (the facts it read), state, note, flagged.
    formulas : DataFrame
        Each formula item's formula, inputs, value and share (:data:`perfkit.evaluation.engine.FORMULA_COLUMNS`).
    evidence : DepartmentEvidence
        The department's accounts, projects, tasks, targets, review, findings, monitoring and execution.
    """

    evidence: DepartmentEvidence
    table: pd.DataFrame
    formulas: pd.DataFrame
    panel: pd.DataFrame
    findings: pd.DataFrame
    preset: Preset = field(repr=False, default=None)
    kind = "部门整体绩效评价"

    @property
    def department(self) -> pd.Series:
        return self.evidence.department

    @property
    def year(self) -> int:
        return self.evidence.year

    @property
    def facts(self) -> dict:
        return self.evidence.facts

    @property
    def total(self) -> float:
        """Points won out of 100 (NaN for a draft)."""
        return float(round(self.table["score"].sum(min_count=len(self.table)), 10))

    @property
    def rating(self) -> str | None:
        """The rating of the total by the preset's bands; None for a draft."""
        return None if self.is_draft else rate(min(max(self.total, 0.0), 100.0), self.preset)

    @property
    def by_level1(self) -> pd.DataFrame:
        """Points and points won per level-1 dimension, in the framework's order (won NaN while one of its
        items waits for evidence)."""
        grouped = self.table.groupby("level1", sort=False)
        return pd.DataFrame({"points": grouped["points"].sum(),
                             "score": grouped["score"].sum(min_count=1).where(~grouped["score"].apply(
                                 lambda s: s.isna().any()))})

    @property
    def missing(self) -> pd.DataFrame:
        """The items waiting for evidence: what each lacks and who supplies it."""
        subject = f"{self.department['unit_id']}-{self.year}"
        rows = []
        for row in self.table[self.table["state"] == "missing"].itertuples():
            if row.rule == "formula":
                absent = [f for f, v in row.inputs.items() if v is None]
                rows += [dict(subject=subject, item=row.indicator, evidence=FACT_EVIDENCE[f]) for f in
                         dict.fromkeys(absent)]
            else:
                rows.append(dict(subject=subject, item=row.indicator, evidence="department_scores"))
        return missing_frame(rows).drop_duplicates(ignore_index=True)

    @property
    def applied(self) -> pd.DataFrame:
        """Next year's budget of its key-evaluated projects by their ratings (结果应用,
        :func:`perfkit.evaluation.apply_results`: a draft's budget unchanged)."""
        from perfkit.evaluation import apply_results

        p = self.evidence.projects
        keyed = p[p["key_evaluated"].astype(bool)]
        ratings = pd.DataFrame({"project_id": keyed["project_id"], "name": keyed["name"],
                                "rating": keyed["key_rating"].where(keyed["key_score"].notna(), None),
                                "budget": keyed["budget"]}).reset_index(drop=True)
        if ratings.empty:
            return ratings.assign(recommended_budget=pd.Series(dtype=float), rule=pd.Series(dtype=object),
                                  status=pd.Series(dtype=object))
        return apply_results(ratings, self.preset)

    @property
    def is_draft(self) -> bool:
        return bool(self.table["score"].isna().any())

    def summary(self) -> pd.DataFrame:
        """One row (the department-year): units, projects, budget and spending (basic, projects, total), the
        execution rate, the score and rating (none for a draft) and the items waiting for evidence."""
        f, p = self.facts, self.evidence.projects
        figures = {
            "units": len(self.evidence.units), "projects": len(p),
            "basic_budget": f["basic_in_force"], "project_budget": f["project_in_force"],
            "budget_total": f["budget_total"], "spent_total": f["spent_total"],
            "execution_rate": (f["spent_total"] / f["budget_total"]
                               if f["spent_total"] is not None and f["budget_total"] else None),
            "score": None if self.is_draft else self.total, "rating": self.rating,
            "items_missing": int((self.table["state"] == "missing").sum()),
        }
        return pd.DataFrame([figures], index=pd.Index([self.department["unit_id"]], name="unit_id"))

    def record(self) -> dict:
        return make_record(f"{self.department['unit_id']}-{self.year}", self.total, self.rating, self.is_draft)


def score_department(evidence: DepartmentEvidence, preset: PresetLike = "default") -> DepartmentResult:
    """Score a department's evidence on the preset's department framework (see :func:`evaluate`)."""
    preset = load_preset(preset)
    items = preset.department.items()
    panel = aggregate_panel(evidence.review, preset)
    panel_of = panel.to_dict("index")
    findings_of: dict[str, list] = {}
    for finding in evidence.findings[["item", "problem_type", "description", "deduction"]].itertuples(index=False):
        findings_of.setdefault(finding.item, []).append(finding)
    rows, formulas = [], []
    for item in items:
        name, points, rule = item["item"], float(item["points"]), item["rule"]
        value, inputs = None, {}
        if rule == "expert":
            score, notes, flagged, state = score_expert_item(name, points, panel_of, preset)
        elif rule == "formula":
            score, notes, flagged, state, formula = score_formula_item(item, evidence.facts, FACT_EVIDENCE,
                                                                        "department_fact")
            formulas.append(formula)
            value, inputs = formula["value"], formula["inputs"]
        else:
            score, notes, flagged, state = score_deduction_item(name, points, findings_of.get(name, []), preset)
        score, notes = settle_missing(rule, score, state, notes, preset)
        rows.append(dict(level1=item["level1"], level2=item["level2"], indicator=name, rule=rule, points=points,
                         score=float(score), value=value, inputs=inputs, state=state, note=tuple(notes),
                         flagged=flagged, not_applicable=state == "not_applicable"))
    table = _redistribute(pd.DataFrame(rows), preset).reset_index(drop=True)
    findings = _charge(evidence.findings, table, items)
    table["lost"] = table["points"] - table["score"]
    return DepartmentResult(evidence=evidence, table=table[TABLE_COLUMNS], panel=panel, findings=findings,
                            formulas=pd.DataFrame(formulas, columns=FORMULA_COLUMNS), preset=preset)


def evaluate(store: Store, unit_id: str, year: int, preset: PresetLike = "default") -> DepartmentResult:
    """Evaluate a department's overall performance (部门整体绩效评价) in ``year``.

    The department is a first-level unit with its second-level units; its items are the preset's
    ``department`` framework (投入, 过程, 产出, 效果: the MoF common indicator framework by default), each
    scored by a formula on the department's facts (its accounts, execution, key tasks, overall targets and
    its projects' scores and lights), by the review group's scores or by deduction for its projects'
    findings. An item whose evidence is missing waits for it: the result is then a draft (待补充).

    Raises
    ------
    KeyError
        When the unit is not in the store or is a second-level unit.
    perfkit.DataError
        When the store lacks a table of the department level.
    """
    preset = load_preset(preset)
    return score_department(department_evidence(store, unit_id, year, preset), preset)


def departments(store: Store, year: int) -> list[str]:
    """The departments (first-level units) with projects or accounts in ``year``, in order."""
    return queries._query(store, """
        SELECT u.unit_id FROM units u WHERE u.level = 1 AND (
            EXISTS (SELECT 1 FROM project_facts f WHERE f.year = $year AND (f.unit_id = u.unit_id OR f.parent_id = u.unit_id))
            OR EXISTS (SELECT 1 FROM unit_accounts a WHERE a.year = $year AND a.unit_id = u.unit_id))
        ORDER BY 1""", {"year": int(year)})["unit_id"].tolist()


# -- the overall performance target tables of the budget draft (部门整体绩效目标表, 项目绩效目标表) ----------
#: Columns of :attr:`TargetTables.projects` (one row per project target).
TARGET_COLUMNS = ["project_id", "project_name", "unit_name", "budget_type", "amount", "level1", "level2", "name",
                  "measure_unit", "polarity", "value_type", "target_value", "target_text"]


@dataclass
class TargetTables(Result):
    """A department's overall performance target table and its projects' target tables for a budget year.

    Attributes
    ----------
    department : Series
        The department (a first-level unit).
    tasks : DataFrame
        Its duties and the year's key tasks, with the initial budget of the projects carrying each.
    funds : DataFrame
        The year's funds by source (basic expenditure: personnel, public funds; projects by budget), 元.
    overall : DataFrame
        Its overall performance indicators with their target values.
    projects : DataFrame
        Every target of its projects (its own and its second-level units') (:data:`TARGET_COLUMNS`).
    problems : DataFrame
        What the checks found (``table``: ``department`` or a project id; ``note``: a message), the checks of
        an ex-ante assessment: quantified, with units, output and benefit targets, consistent with the amount.
    """

    department: pd.Series
    year: int
    tasks: pd.DataFrame
    funds: pd.DataFrame
    overall: pd.DataFrame
    projects: pd.DataFrame
    problems: pd.DataFrame
    preset: Preset = field(repr=False, default=None)
    kind = "部门整体绩效目标表"

    @property
    def table(self) -> pd.DataFrame:
        """The overall indicators (the department's table)."""
        return self.overall

    def summary(self) -> pd.DataFrame:
        """One row: the funds, the overall indicators, the projects and their targets, the problems found."""
        figures = {"funds": float(self.funds["amount"].sum()), "overall_indicators": len(self.overall),
                   "key_tasks": int((self.tasks["kind"] == "key_task").sum()),
                   "projects": int(self.projects["project_id"].nunique()), "project_targets": len(self.projects),
                   "problems": len(self.problems)}
        return pd.DataFrame([figures], index=pd.Index([self.department["unit_id"]], name="unit_id"))

    @property
    def is_draft(self) -> bool:
        """A target table is a plan: it judges nothing, so it is never a draft (its problems are notes)."""
        return False

    def record(self) -> dict:
        return make_record(f"{self.department['unit_id']}-{self.year}", None, None, False)


def _unquantified(targets: list[dict]) -> list:
    """Notes for targets that are not quantified or have no unit of measure (quantitative indicators)."""
    out = []
    for t in targets:
        if t.get("value_type", "quantitative") != "quantitative":
            continue
        value = t.get("target_value")
        if value is None or pd.isna(value):
            out.append(note("target_not_quantified", name=t["name"]))
        elif not isinstance(t.get("measure_unit"), str) or not t["measure_unit"].strip():
            out.append(note("target_without_unit", name=t["name"]))
    return out


def target_tables(store: Store, unit_id: str, year: int, preset: PresetLike = "default") -> TargetTables:
    """The overall performance target table of a department for the budget of ``year`` and its projects'
    target tables, each checked as an ex-ante assessment checks targets (:func:`perfkit.exante._target_problems`:
    output and benefit targets, the share of quantitative ones, the target below last year's, a unit-cost
    target against the project's amount) and for values and units.

    Raises
    ------
    KeyError
        When the unit is not in the store or is a second-level unit.
    perfkit.DataError
        When the store lacks a table of the department level.
    """
    from perfkit.exante import _target_problems

    preset = load_preset(preset)
    require_tables(store, TABLES)
    year = int(year)
    unit = _department_row(store, unit_id)
    members = {"unit": unit_id, "year": year}
    accounts = queries._query(store, """
        SELECT coalesce(sum(personnel_budget), 0) AS personnel, coalesce(sum(public_budget), 0) AS public
        FROM unit_accounts WHERE year = $year AND unit_id IN (SELECT unit_id FROM units WHERE unit_id = $unit
                                                              OR parent_id = $unit)""", members).iloc[0]
    projects = queries._query(store, """
        SELECT f.project_id, f.name AS project_name, f.unit_name, f.budget_type, f.direction, f.output_unit,
               f.program_id, b.amount
        FROM project_facts f LEFT JOIN budgets b ON b.project_id = f.project_id AND b.year = f.year
        WHERE f.year = $year AND (f.unit_id = $unit OR f.parent_id = $unit) ORDER BY f.project_id""", members)
    funds = pd.DataFrame(
        [("basic", "personnel", float(accounts["personnel"])), ("basic", "public", float(accounts["public"]))]
        + [("project", budget_type, float(amount)) for budget_type, amount in
           projects.groupby("budget_type", sort=True)["amount"].sum().items()],
        columns=["kind", "source", "amount"])
    tasks = queries._query(store, """
        SELECT t.task_id, t.kind, t.name, t.due_date, coalesce(sum(b.amount), 0) AS amount
        FROM department_tasks t LEFT JOIN task_projects l USING (task_id)
        LEFT JOIN budgets b ON b.project_id = l.project_id AND b.year = t.year
        WHERE t.unit_id = $unit AND t.year = $year GROUP BY ALL ORDER BY t.kind, t.task_id""", members)
    overall = queries._query(store, """
        SELECT indicator_no, level1, level2, name, measure_unit, polarity, target_value FROM department_indicators
        WHERE unit_id = $unit AND year = $year ORDER BY indicator_no""", members)
    targets = queries._query(store, """
        SELECT t.project_id, i.level1, i.level2, i.name, i.measure_unit, i.polarity, i.value_type, t.target_value,
               t.target_text, i.indicator_id,
               (SELECT max(a.actual_value) FROM actuals a JOIN projects q ON q.project_id = a.project_id
                WHERE a.indicator_id = t.indicator_id AND q.program_id = p.program_id AND q.year = p.year - 1)
               AS history
        FROM targets t JOIN indicators i USING (indicator_id) JOIN projects p ON p.project_id = t.project_id
        WHERE t.project_id IN (SELECT unnest($ids::VARCHAR[])) ORDER BY t.project_id, i.indicator_id""",
                               {"ids": projects["project_id"].tolist()})
    rows = []
    overall_targets = [dict(r, value_type="quantitative") for r in overall.to_dict("records")]
    _, found = _target_problems(overall_targets, preset.exante)
    for message in [*found, *_unquantified(overall_targets)]:
        rows.append(dict(table="department", note=message))
    by_project = {pid: frame.to_dict("records") for pid, frame in targets.groupby("project_id", sort=False)}
    for project in projects.itertuples(index=False):
        mine = by_project.get(project.project_id, [])
        if not mine:
            rows.append(dict(table=project.project_id, note=note("no_targets_set")))
            continue
        amount = None if pd.isna(project.amount) else float(project.amount)
        _, found = _target_problems(mine, preset.exante, output_unit=project.output_unit, amount=amount)
        rows += [dict(table=project.project_id, note=m) for m in [*found, *_unquantified(mine)]]
    merged = targets.merge(projects[["project_id", "project_name", "unit_name", "budget_type", "amount"]],
                           on="project_id", how="left")
    return TargetTables(department=unit, year=year, tasks=tasks, funds=funds, overall=overall,
                        projects=merged.reindex(columns=TARGET_COLUMNS),
                        problems=pd.DataFrame(rows, columns=["table", "note"]), preset=preset)



__all__ = ["DepartmentEvidence", "DepartmentResult", "FACT_EVIDENCE", "TABLES", "TargetTables", "department_evidence",
           "departments", "evaluate", "score_department", "target_tables"]
