"""Key evaluations, unit self-evaluations and results application, on the store's data."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from perfkit import queries
from perfkit.errors import DataError, Problem, reason
from perfkit.evaluation.fields import FACT_EVIDENCE, evaluate_formula, formula_share, linked_payment
from perfkit.evaluation.panel import aggregate_panel, kendalls_w
from perfkit.evaluation.scoring import rate, score_indicator
from perfkit.evaluation.weights import rating_sensitivity
from perfkit.quality import project_quality
from perfkit.queries import ProjectEvidence, UnitEvidence
from perfkit.results import STATES, Result, make_record, makes_draft, missing_frame
from perfkit.rules import Preset, PresetLike, load_preset
from perfkit.rules.model import Framework, formula_facts
from perfkit.store import Store
from perfkit.text import Coded, Message, Name, note

#: Index label of the total row of the summaries (rendered by the views in the report's language).
TOTAL = "total"
#: The results application's rule for a draft evaluation (rendered as 证据不全，预算暂不调整（待补充）).
DRAFT = "draft"
TABLE_COLUMNS = ["level1", "level2", "indicator", "rule", "points", "score", "state", "note", "flagged"]
#: Columns of :attr:`EvaluationResult.formulas`: each formula item's formula, the facts it read (``inputs``),
#: its value (None: a fact missing or nothing to measure), the share of its points won and the ledgers a
#: draft's item waits for (``evidence``).
FORMULA_COLUMNS = ["item", "formula", "show", "full", "zero", "inputs", "value", "share", "evidence"]
# STATES (perfkit.results): an item is scored from data, not applicable (its points redistributed), or
# missing its evidence (a draft's item has no score; under the preset's ``missing: zero`` it scores 0)


@dataclass
class EvaluationResult(Result):
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
        The project's findings (problems, deductions, recommendations), with ``charged``: the points each
        finding took off its item in :attr:`table` (its deduction, shared out when the deductions exceed the
        item's points, rescaled with the item's points; 0 for a finding on an item not scored by deduction,
        whose score comes from experts, indicators or spending) and ``scored_by``: its item's rule.
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
    expert_scores: pd.DataFrame | None = field(repr=False, default=None)
    #: the framework of the project's new field (None: the regular evaluation tree)
    framework: Framework | None = field(repr=False, default=None)
    #: the formula items (:data:`FORMULA_COLUMNS`), empty for the regular tree
    formulas: pd.DataFrame = field(repr=False, default_factory=lambda: pd.DataFrame(columns=FORMULA_COLUMNS))
    #: the project's facts and its field's ledger records (:mod:`perfkit.evaluation.fields`)
    facts: dict = field(repr=False, default_factory=dict)
    ledgers: dict = field(repr=False, default_factory=dict)
    kind = "重点绩效评价"

    @property
    def framework_name(self) -> str:
        """The name of the indicator framework the project was scored on: its field's, or the preset's own
        (regular projects)."""
        return self.framework.name if self.framework else self.preset.name

    @property
    def payment(self) -> dict | None:
        """The performance-linked payment (PPP: the year's availability payment times the coefficient of the
        score's band; :func:`perfkit.evaluation.fields.linked_payment`). None when the framework links no
        payment, for a draft (no score yet, so no payment) and when the base payment is not recorded."""
        if self.framework is None or self.framework.payment is None or self.is_draft:
            return None
        return linked_payment(self.framework.payment, self.total, self.facts)

    def panel_summary(self):
        """The panel's agreement, each expert's leniency and the disputed items
        (:func:`perfkit.evaluation.panel_summary`); None without expert scores."""
        from perfkit.evaluation.agreement import panel_summary

        if self.expert_scores is None or self.expert_scores.empty:
            return None
        if getattr(self, "_panel_summary", None) is None:
            self._panel_summary = panel_summary(self.expert_scores, self.preset, self.project.get("category"))
        return self._panel_summary

    @property
    def is_draft(self) -> bool:
        """True when an item lacks its evidence and the preset makes that a draft (待补充): no total, no rating."""
        return bool(self.table["score"].isna().any())

    @property
    def total(self) -> float:
        """Points won out of 100 (NaN for a draft: missing evidence never counts as 0 unless the preset says so)."""
        return float("nan") if self.is_draft else float(round(self.table["score"].sum(), 10))

    @property
    def rating(self) -> str | None:
        """The rating by the preset's bands; None for a draft."""
        return None if self.is_draft else rate(min(max(self.total, 0.0), 100.0), self.preset)

    @property
    def missing(self) -> pd.DataFrame:
        """The items without their evidence (:data:`perfkit.results.MISSING_COLUMNS`: the supplier is ``panel``
        for expert scores, ``unit`` for execution records and indicator values), whether the preset makes
        them a draft or scores them 0."""
        rows = self.table[self.table["state"] == "missing"]
        waits = dict(zip(self.formulas["item"], self.formulas["evidence"]))
        return missing_frame([dict(subject=self.project["project_id"], item=row.indicator, evidence=evidence)
                              for row in rows.itertuples()
                              for evidence in (waits[row.indicator] if row.rule == "formula"
                                               else (_MISSING_EVIDENCE[row.rule],))])

    def summary(self) -> pd.DataFrame:
        """Points and score per level-1 dimension, and the total (``total``; no score for a draft)."""
        frame = self.table.groupby("level1", sort=False)[["points", "score"]].sum(min_count=1)
        frame.loc[TOTAL] = [float(self.table["points"].sum()), self.total]
        return frame

    def record(self) -> dict:
        """The index row: the project, its total and rating, or a draft."""
        return make_record(self.project["project_id"], self.total, self.rating, self.is_draft)

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

    @property
    def quality(self) -> tuple[Message, ...]:
        """The 待核实 notes of the project's figures by the preset's data-quality rules
        (:func:`perfkit.quality.project_quality`, at year-end): the report lists them with the problems."""
        return project_quality(self.budget, self.spent, 1.0, self.indicators, self.preset)

    def sensitivity(self, **kwargs) -> dict | None:
        """Probability that the rating changes when weights move (see :func:`rating_sensitivity`);
        None for a draft, which has no rating to move."""
        return None if self.is_draft else rating_sensitivity(self.table, preset=self.preset, **kwargs)


_MISSING_EVIDENCE = {"expert": "expert_scores", "execution_rate": "execution", "indicators": "actuals"}


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


def _charge(findings: pd.DataFrame, table: pd.DataFrame, items: list[dict]) -> pd.DataFrame:
    """The findings with what each took off the table (``charged``) and how its item is scored (``scored_by``).

    A deduction item loses the sum of its findings' deductions, at most its points: when they exceed the
    points each finding is charged its share; redistribution then scales the item's points, and the charges
    with them, so that a deduction item's charges add up to its points minus its score in the table.
    """
    original = {item["item"]: float(item["points"]) for item in items}
    final = dict(zip(table["indicator"], table["points"]))
    rule = dict(zip(table["indicator"], table["rule"]))
    charged = np.zeros(len(findings))
    deductions = findings["deduction"].to_numpy(dtype=float)
    items = findings["item"].to_numpy(dtype=object)
    for item in set(items[[rule.get(i) == "deduction" for i in items]]):
        mine = items == item
        raw = deductions[mine]
        capped = raw * min(1.0, original[item] / raw.sum()) if raw.sum() > 0 else raw
        charged[mine] = capped * (final[item] / original[item] if original[item] else 0.0)
        # the item's note names what each finding took off the table as printed
        position = table.index[table["indicator"] == item][0]
        table.at[position, "note"] = tuple(
            note("deducted", problem=f.problem_type if isinstance(f.problem_type, str) and f.problem_type
                 else f.description, points=float(c))
            for f, c in zip(findings[mine].itertuples(index=False), charged[mine])) + table.at[position, "note"]
    return findings.assign(charged=charged, scored_by=[rule.get(i) for i in items])


def score_expert_item(name: str, points: float, panel_of: dict, preset: Preset) -> tuple:
    """An item the expert panel scores: its panel's trimmed mean share of the points; missing (待补充) when
    no expert scored it or fewer than the preset's minimum did. Returns (score, notes, flagged, state)."""
    notes, flagged, state, score = [], False, "scored", 0.0
    if name in panel_of and panel_of[name]["n_experts"] >= preset.expert_panel.min_experts:
        p = panel_of[name]
        score = p["score"] / 100 * points
        notes.append(note("experts_trimmed" if p["n_experts"] >= preset.expert_panel.trim_min_experts else "experts",
                          n=int(p["n_experts"])))
        if p["flagged"]:
            notes.append(note("experts_disagree", spread=float(p["spread"])))
            flagged = True
    elif name in panel_of:
        notes.append(note("panel_too_small", n=int(panel_of[name]["n_experts"]),
                          minimum=preset.expert_panel.min_experts))
        flagged, state = True, "missing"
    else:
        notes.append(note("no_expert_scores"))
        flagged, state = True, "missing"
    return score, notes, flagged, state


def score_formula_item(item: dict, facts: dict, evidence: dict[str, str], kind: str = "fact") -> tuple:
    """An item scored by its formula on ``facts`` of ``kind`` (``fact``: a project's, ``department_fact``: a
    department's; ``evidence``: the table each fact rests on): 0 at the
    item's ``zero``, full points at ``full``; missing when a fact it reads is; not applicable when it is
    undefined (nothing to measure). Returns (score, notes, flagged, state, formula row of
    :data:`FORMULA_COLUMNS`)."""
    notes, flagged, state, score = [], False, "scored", 0.0
    used = formula_facts(item["formula"])
    value = evaluate_formula(item["formula"], facts)
    absent = [f for f in used if facts.get(f) is None]
    share = None
    if absent:
        notes.append(note("facts_missing", facts=tuple(Coded(kind, f) for f in absent)))
        flagged, state = True, "missing"
    elif np.isnan(value):
        notes.append(note("formula_undefined"))
        state = "not_applicable"
    else:
        share = formula_share(value, item["full"], item["zero"])
        score = share * item["points"]
        notes.append(note(f"formula_{item['show']}", value=value, full=item["full"], zero=item["zero"]))
    formula = dict(item=item["item"], formula=item["formula"], show=item["show"], full=item["full"],
                   zero=item["zero"], inputs={f: facts.get(f) for f in used},
                   value=None if value is None or np.isnan(value) else value, share=share,
                   evidence=tuple(dict.fromkeys(evidence[f] for f in absent)))
    return score, notes, flagged, state, formula


def score_deduction_item(name: str, points: float, findings: list, preset: Preset) -> tuple:
    """An item scored by deduction: its points less its findings' deductions (each finding's note is added
    by :func:`_charge`). Returns (score, notes, flagged, state)."""
    score = score_indicator("deduction", points=points, deductions=[f.deduction for f in findings], preset=preset)
    return score, ([] if findings else [note("no_problem_found")]), False, "scored"


def settle_missing(rule: str, score: float, state: str, notes: list, preset: Preset) -> tuple[float, list]:
    """What missing evidence does to an item's score: NaN (a draft: no evidence, no points) or, under the
    preset's ``missing: zero``, 0 with a note (an indicators item keeps the share its reported indicators won)."""
    if state != "missing":
        return score, notes
    if makes_draft(preset, rule):
        return float("nan"), notes
    return (0.0 if rule != "indicators" else score), [*notes, note("missing_scored_zero")]


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
    # plain structures for the loop over items: a pandas filter or lookup per item costs more than its
    # scoring (a mean below is of the same values in the same order as pandas', so the same to the bit)
    panel_of = panel.to_dict("index")
    findings_of: dict[str, list] = {}
    for finding in findings[["item", "problem_type", "description", "deduction"]].itertuples(index=False):
        findings_of.setdefault(finding.item, []).append(finding)
    level2 = indicators["level2"].to_numpy(dtype=object)
    fraction = indicators["fraction"].to_numpy(dtype=float)
    issue = indicators["issue"].to_numpy(dtype=object)
    indicator_name = indicators["name"].to_numpy(dtype=object)
    category = evidence.project.get("category")
    framework = preset.framework(category)
    items = preset.items(category)
    facts = evidence.facts
    rows, formulas = [], []
    for item in items:
        name, points, rule = item["item"], item["points"], item["rule"]
        score, notes, flagged, state = 0.0, [], False, "scored"
        if rule == "expert":
            score, notes, flagged, state = score_expert_item(name, points, panel_of, preset)
        elif rule == "execution_rate":
            if spent is None:
                notes.append(note("no_execution_scored_zero"))
                flagged, state = True, "missing"
            else:
                try:
                    score = score_indicator("execution_rate", points=points, target=budget, actual=spent,
                                            preset=preset)
                    notes.append(note("execution_rate", rate=spent / budget))
                except DataError as exc:
                    notes.append(note("cannot_score", reason=exc.problems[0].problem))
                    flagged, state = True, "missing"
        elif rule == "formula":
            score, notes, flagged, state, formula = score_formula_item(item, facts, FACT_EVIDENCE)
            formulas.append(formula)
        elif rule == "deduction":
            score, notes, flagged, state = score_deduction_item(name, points, findings_of.get(name, []), preset)
        else:
            mine = np.isin(level2, list(item["dimensions"]))
            if not mine.any():
                notes.append(note("no_indicators_not_applicable"))
                state = "not_applicable"
            else:
                share = float(fraction[mine].mean())
                score = share * points
                notes.append(note("indicators_mean", n=int(mine.sum()), share=share))
                missing = indicator_name[mine & (issue != "")].tolist()
                if missing:
                    notes.append(note("indicator_data_missing", names=missing))
                    flagged, state = True, "missing"
        score, notes = settle_missing(rule, score, state, notes, preset)
        rows.append(dict(level1=item["level1"], level2=item["level2"], indicator=name, rule=rule,
                         points=float(points), score=float(score), state=state, note=tuple(notes),
                         flagged=flagged, not_applicable=state == "not_applicable"))
    table = _redistribute(pd.DataFrame(rows), preset).reset_index(drop=True)
    findings = _charge(findings, table, items)
    return EvaluationResult(project=evidence.project, budget=budget, spent=spent,
                            table=table[TABLE_COLUMNS], indicators=indicators,
                            panel=panel, agreement=kendalls_w(experts) if len(experts) else {},
                            findings=findings, preset=preset, expert_scores=experts, framework=framework,
                            formulas=pd.DataFrame(formulas, columns=FORMULA_COLUMNS), facts=dict(evidence.facts),
                            ledgers=dict(evidence.ledgers))


def evaluate(store: Store, project_id: str, preset: PresetLike = "default") -> EvaluationResult:
    """Key evaluation of a stored project: :func:`score_project` of its :func:`perfkit.queries.project_evidence`.

    Raises
    ------
    KeyError
        When the project is not in the store.
    """
    return score_project(queries.project_evidence(store, project_id), preset)


def evaluate_many(store: Store, project_ids, preset: PresetLike = "default") -> dict[str, EvaluationResult]:
    """:func:`evaluate` of each of ``project_ids``, by project id in the order given, their evidence read
    in one query per table (:func:`perfkit.queries.projects_evidence`).

    Raises
    ------
    KeyError
        When a project is not in the store.
    """
    ids = list(dict.fromkeys(project_ids))
    evidence = queries.projects_evidence(store, ids)
    missing = [pid for pid in ids if pid not in evidence]
    if missing:
        raise KeyError(f"project(s) {', '.join(map(repr, missing))} not in the store {store.path}")
    preset = load_preset(preset)
    return {pid: score_project(evidence[pid], preset) for pid in ids}


def key_evaluations(store: Store, year: int, preset: PresetLike = "default") -> pd.DataFrame:
    """Key evaluations of every project of ``year`` with an expert panel: total, rating and budget, the
    framework each was scored on (``category``, ``framework``) and, for a PPP project, its performance-linked
    payment (``availability_payment``, ``payment_band``, ``payment_coefficient``, ``payment``, ``withheld``;
    empty for other projects, for a draft and where the contract's payment is not recorded).

    A draft (evidence incomplete) has a NaN total, no rating and the items whose evidence is ``missing``.
    """
    preset = load_preset(preset)
    rows = []
    for project_id, result in evaluate_many(store, queries.panel_projects(store, year), preset).items():
        paid = result.payment or {}
        rows.append(dict(project_id=project_id, name=result.project["name"], unit_id=result.project["unit_id"],
                         unit_name=result.project["unit_name"], program_id=result.project["program_id"],
                         total=round(result.total, 2), rating=result.rating, budget=result.budget,
                         missing=tuple(result.missing["item"]), category=result.project["category"],
                         framework=result.framework_name, availability_payment=paid.get("amount", np.nan),
                         payment_band=paid.get("band"), payment_coefficient=paid.get("coefficient", np.nan),
                         payment=paid.get("payment", np.nan), withheld=paid.get("withheld", np.nan)))
    return pd.DataFrame(rows, columns=["project_id", "name", "unit_id", "unit_name", "program_id", "total",
                                       "rating", "budget", "missing", *KEY_EVALUATION_FIELD_COLUMNS])


#: The columns :func:`key_evaluations` adds for the new fields.
KEY_EVALUATION_FIELD_COLUMNS = ("category", "framework", "availability_payment", "payment_band",
                                "payment_coefficient", "payment", "withheld")


@dataclass
class SelfEvaluationResult(Result):
    """A unit's self-evaluation (单位自评): every project scored (``table``, also ``projects``), and a unit
    summary."""

    unit: pd.Series
    year: int
    projects: pd.DataFrame
    preset: Preset = field(repr=False, default=None)
    kind = "单位自评"

    @property
    def table(self) -> pd.DataFrame:
        """One row per project: budget, spent, execution rate, block scores, total, rating, state, notes (data
        gaps) and quality (the 待核实 notes of :func:`perfkit.quality.project_quality`)."""
        return self.projects

    def summary(self) -> pd.DataFrame:
        """One row (the unit): projects, money, the execution rate (of the projects with execution records;
        ``no_execution`` counts the others), mean and budget-weighted scores (of the rated projects), count
        per rating, drafts (evidence incomplete: no score) and projects with data gaps."""
        p = self.projects
        rated = p[p["rating"].notna()]
        weighted = (float(np.average(rated["total"], weights=rated["budget"])) if rated["budget"].sum() > 0
                    else float("nan"))
        counts = p["rating"].value_counts()
        recorded = p[p["spent"].notna()]      # the rate of the projects with execution records (none is not 0%)
        figures = {
            "projects": len(p), "budget": float(p["budget"].sum()), "spent": float(p["spent"].fillna(0).sum()),
            "execution_rate": float(recorded["spent"].sum() / recorded["budget"].sum())
            if recorded["budget"].sum() > 0 else float("nan"),
            "no_execution": int(p["spent"].isna().sum()),
            "mean_score": float(rated["total"].mean()), "budget_weighted_score": weighted,
            **{f"rating_{r}": int(counts.get(r, 0)) for r in self.preset.rating_bands},
            "drafts": int(p["rating"].isna().sum()),
            "flagged_projects": int((p["notes"].map(len) > 0).sum()),
        }
        return pd.DataFrame([figures], index=pd.Index([self.unit["unit_id"]], name="unit_id"))

    @property
    def is_draft(self) -> bool:
        """True when some project is a draft (its score waits for evidence): the unit's figures count the
        rated projects only."""
        return bool(self.projects["rating"].isna().any())

    @property
    def missing(self) -> pd.DataFrame:
        """The draft projects' missing evidence: execution records or indicator values, per block."""
        rows = []
        for project in self.projects[self.projects["rating"].isna()].itertuples():
            for message in project.notes:
                if message.code == "no_execution":
                    rows.append(dict(subject=project.project_id, item="execution_rate", evidence="execution"))
                elif message.code == "block_data_missing":
                    rows.append(dict(subject=project.project_id, item=str(message.params["block"]),
                                     evidence="actuals"))
        return missing_frame(rows)

    def record(self) -> dict:
        """The index row: the unit-year and its mean score (of the rated projects); a draft while any
        project waits for evidence."""
        figures = self.summary().iloc[0]
        return make_record(f"{self.unit['unit_id']}-{self.year}", figures["mean_score"], None, self.is_draft)

    @property
    def by_rating(self) -> pd.DataFrame:
        """Projects and budget per rating, and the drafts (index ``draft``) when there are any."""
        order = list(self.preset.rating_bands)
        grouped = self.projects.groupby("rating")["budget"].agg(projects="count", budget="sum")
        out = grouped.reindex(order).fillna(0).astype({"projects": int})
        drafts = self.projects[self.projects["rating"].isna()]
        if len(drafts):
            out.loc[DRAFT] = [len(drafts), float(drafts["budget"].sum())]
        return out.astype({"projects": int})


def score_unit(evidence: UnitEvidence, preset: PresetLike = "default") -> SelfEvaluationResult:
    """Self-evaluation of every project in a unit's evidence (see :func:`self_evaluate`)."""
    preset = load_preset(preset)
    projects, spent, year = evidence.projects, evidence.spent, evidence.year
    indicators = score_indicators(evidence.indicators, preset)
    weights = preset.self_evaluation.weights
    execution_block = preset.self_evaluation.execution_block
    redistribute = preset.scoring.not_applicable == "redistribute"
    # plain arrays and each project's row positions: a pandas filter per project and block costs more than
    # the scoring (the means are of the same values in the same order, so they are the same to the bit)
    rows_of = indicators.groupby("project_id", sort=False).indices if len(indicators) else {}
    level1 = indicators["level1"].to_numpy(dtype=object)
    fraction = indicators["fraction"].to_numpy(dtype=float)
    has_issue = (indicators["issue"] != "").to_numpy(dtype=bool)
    no_rows = np.array([], dtype=int)
    rows = []
    for project in projects.itertuples(index=False):
        mine = rows_of.get(project.project_id, no_rows)
        shares, notes = {}, []
        for block in weights:
            if block == execution_block:
                s = spent.get(project.project_id)
                if s is None or pd.isna(project.budget) or project.budget <= 0:
                    # missing evidence: a draft's block has no share, or 0 where the preset says so
                    shares[block] = np.nan if makes_draft(preset, "execution_rate") else 0.0
                    notes.append(note("no_execution"))
                else:
                    shares[block] = score_indicator("execution_rate", points=1.0, target=float(project.budget),
                                                    actual=float(s), preset=preset)
                continue
            block_rows = mine[level1[mine] == block]
            shares[block] = float(fraction[block_rows].mean()) if len(block_rows) else None
            if not len(block_rows):
                notes.append(note("no_block_indicators", block=Name(block)))
            elif has_issue[block_rows].any():
                notes.append(note("block_data_missing", block=Name(block)))
                if makes_draft(preset, "indicators"):
                    shares[block] = np.nan
        applicable = {b: w for b, w in weights.items() if shares[b] is not None}
        scale = (sum(weights.values()) / sum(applicable.values())) if redistribute and applicable else 1.0
        scores = {b: (0.0 if shares[b] is None else shares[b]) * w * (scale if b in applicable else 0.0)
                  for b, w in weights.items()}
        total = float(round(sum(scores.values()), 10))  # rounded as EvaluationResult.total, before banding
        draft = bool(np.isnan(total))
        rows.append(dict(project_id=project.project_id, name=project.name, unit_id=project.unit_id,
                         unit_name=project.unit_name, category=project.category, budget=float(project.budget),
                         spent=spent.get(project.project_id, np.nan),
                         execution_rate=(spent.get(project.project_id, np.nan) / project.budget
                                         if project.budget else np.nan),
                         **{f"score_{b}": v for b, v in scores.items()}, total=total,
                         rating=None if draft else rate(min(max(total, 0.0), 100.0), preset),
                         state="draft" if draft else "scored", notes=tuple(notes),
                         quality=project_quality(float(project.budget), spent.get(project.project_id), 1.0,
                                                 indicators.iloc[mine], preset)))
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
        Columns ``project_id``, ``rating``, ``budget``. A missing rating (None) is a draft
        evaluation, whose evidence is incomplete.

    Returns
    -------
    DataFrame
        ``ratings`` with ``recommended_budget`` (budget × the rating's factor: 中 → 90%,
        差 → 0 by default), ``rule`` (the reason, from the preset) and ``status`` (``rated`` or
        ``draft``). A draft's budget is never cut: it stays unchanged (rule ``draft``), or, when the
        preset's ``evidence.drafts`` is ``refuse``, the drafts are an error.

    Raises
    ------
    perfkit.DataError
        A missing column, an unknown rating, a negative or missing budget (row named), or drafts
        that the preset refuses.
    """
    preset = load_preset(preset)
    table = preset.results_application
    missing = [c for c in ("project_id", "rating", "budget") if c not in ratings]
    if missing:
        raise DataError([Problem("ratings", reason("column_missing", column=c), column=c) for c in missing])
    problems = []
    drafts = ratings["rating"].isna()
    for i, (rating, budget, draft) in enumerate(zip(ratings["rating"], ratings["budget"], drafts), start=1):
        if draft:
            if preset.evidence.drafts == "refuse":
                problems.append(Problem("ratings", reason("draft_has_no_rating",
                                                          project=ratings["project_id"].iloc[i - 1]),
                                        row=i, column="rating"))
        elif rating not in table:
            problems.append(Problem("ratings", reason("unknown_rating", rating=rating, ratings=", ".join(table)),
                                    row=i, column="rating"))
        if pd.isna(budget) or budget < 0:
            problems.append(Problem("ratings", reason("negative_budget", budget=budget), row=i, column="budget"))
    if problems:
        raise DataError(problems)
    out = ratings.copy()
    out["recommended_budget"] = np.where(drafts, out["budget"],
                                         out["budget"] * out["rating"].map(lambda r: table[r].factor if r in table
                                                                           else np.nan))
    out["rule"] = [DRAFT if draft else table[r].rule for r, draft in zip(out["rating"], drafts)]
    out["status"] = np.where(drafts, "draft", "rated")
    return out


def results_summary(applied: pd.DataFrame, by: str | list[str] = "rating") -> pd.DataFrame:
    """Portfolio summary of :func:`apply_results`: projects, budget, recommended and cut, by ``by``."""
    grouped = applied.groupby(by, sort=False, dropna=False).agg(projects=("project_id", "count"),
                                                                budget=("budget", "sum"),
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
