"""The shape of a rule preset, validated with pydantic.

Every section is required in a complete preset (``default`` has them all); a
preset that ``extends`` another inherits what it does not restate.
"""
from __future__ import annotations

import ast
import functools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PrivateAttr, field_validator, model_validator

RULES = ("expert", "execution_rate", "deduction", "indicators", "formula")
GRADES = ("met", "partial", "unmet")
_TOL = 1e-9


class _Strict(BaseModel):
    # a misspelt key is an error, not silently ignored; a loaded preset is shared, so it cannot change
    model_config = ConfigDict(extra="forbid", frozen=True)


# what a formula may be made of: the facts (numbers), + - * / and parentheses; nothing else runs
_FORMULA_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd,
                  ast.Name, ast.Load, ast.Constant)


#: The kinds of facts a formula may read: a project's (``values.fact`` of the catalogue, the new fields'
#: frameworks) and a department's (``values.department_fact``, the department framework).
FACT_KINDS = ("fact", "department_fact")


@functools.lru_cache(maxsize=256)
def _parsed_facts(formula: str, kinds: tuple[str, ...] = FACT_KINDS) -> tuple[str, ...]:
    """:func:`formula_facts`, parsed once per formula (an evaluation reads each formula for every project)."""
    return tuple(_check_formula(formula, kinds))


def formula_facts(formula: str, kind: str | None = None) -> list[str]:
    """The facts a formula reads, in order of appearance; ``ValueError`` when it is not arithmetic on the
    known facts of ``kind`` (``fact``: a project's, ``values.fact`` of the catalogue; ``department_fact``: a
    department's; None: either) (``revenue_life / service_life``)."""
    return list(_parsed_facts(formula, FACT_KINDS if kind is None else (kind,)))


def _check_formula(formula: str, kinds: tuple[str, ...]) -> list[str]:
    from perfkit.text import codes

    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"formula {formula!r} is not arithmetic: {exc.msg}") from None
    names = []
    for node in ast.walk(tree):
        if not isinstance(node, _FORMULA_NODES) or (isinstance(node, ast.Constant)
                                                     and not isinstance(node.value, (int, float))):
            raise ValueError(f"formula {formula!r} may use only facts, numbers, + - * / and parentheses")
        if isinstance(node, ast.Name):
            names.append(node.id)
    known = [code for kind in kinds for code in codes(kind)]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"formula {formula!r} reads unknown facts {', '.join(unknown)} "
                         f"(facts: {', '.join(known)})")
    if not names:
        raise ValueError(f"formula {formula!r} reads no fact")
    return list(dict.fromkeys(names))


class Item(_Strict):
    points: PositiveFloat
    rule: Literal["expert", "execution_rate", "deduction", "indicators", "formula"]
    dimensions: list[str] | None = None
    # a formula item: arithmetic on the store's facts (perfkit.evaluation.fields), scored linearly from 0 points
    # at `zero` to full points at `full` (full < zero: lower is better), and shown as a percent or a multiple
    formula: str | None = None
    full: float | None = None
    zero: float | None = None
    show: Literal["percent", "times"] = "percent"
    # an expert item: what the expert judges (the framework's 指标解释, printed on the scoring sheet) and
    # how: in points (0 to the item's points) or by grade (a drop-down of the qualitative bands)
    criteria: str | None = None
    scale: Literal["points", "grade"] = "points"

    @model_validator(mode="after")
    def _dimensions_for_indicators(self):
        if self.rule == "indicators" and not self.dimensions:
            raise ValueError("rule 'indicators' needs the level-2 dimensions it scores")
        if self.scale == "grade" and self.rule != "expert":
            raise ValueError("scale 'grade' is for items the expert panel scores (rule 'expert')")
        if self.rule == "formula":
            if self.formula is None or self.full is None or self.zero is None:
                raise ValueError("rule 'formula' needs its formula, the value that wins full points (full) and "
                                 "the value that wins none (zero)")
            if self.full == self.zero:
                raise ValueError(f"full and zero must differ (both {self.full:g})")
            formula_facts(self.formula)
        elif self.formula is not None:
            raise ValueError(f"a formula is for rule 'formula', not '{self.rule}'")
        return self

    @property
    def facts(self) -> list[str]:
        """The facts the item's formula reads (none for other rules)."""
        return formula_facts(self.formula) if self.formula else []


class Band(_Strict):
    """A half-open band [min, max); the top band includes its max."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self):
        if not self.min < self.max:
            raise ValueError(f"band min {self.min} must be below max {self.max}")
        return self


def check_bands(bands: dict[str, Band], low: float, high: float, what: str) -> None:
    """Bands must tile [low, high] exactly: no gap, no overlap."""
    ordered = sorted(bands.items(), key=lambda kv: kv[1].min)
    if abs(ordered[0][1].min - low) > _TOL:
        raise ValueError(f"{what} start at {ordered[0][1].min}, not at {low} (a gap below '{ordered[0][0]}')")
    if abs(ordered[-1][1].max - high) > _TOL:
        raise ValueError(f"{what} end at {ordered[-1][1].max}, not at {high} (a gap above '{ordered[-1][0]}')")
    for (name_a, a), (name_b, b) in zip(ordered, ordered[1:]):
        if b.min < a.max - _TOL:
            raise ValueError(f"{what} '{name_a}' [{a.min}, {a.max}) and '{name_b}' [{b.min}, {b.max}) overlap")
        if b.min > a.max + _TOL:
            raise ValueError(f"{what} leave a gap between '{name_a}' (to {a.max}) and '{name_b}' (from {b.min})")


Tree = dict[str, dict[str, dict[str, Item]]]


def check_tree(tree: Tree, what: str = "the evaluation tree") -> Tree:
    """A tree's points sum to 100 and its item names are unique."""
    total = sum(item.points for level2 in tree.values() for items in level2.values() for item in items.values())
    if abs(total - 100) > 1e-6:
        by_level1 = ", ".join(f"{l1} {sum(i.points for items in l2.values() for i in items.values()):g}"
                              for l1, l2 in tree.items())
        raise ValueError(f"the points of {what} sum to {total:g}, not 100 ({by_level1})")
    names = [name for level2 in tree.values() for items in level2.values() for name in items]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"item names must be unique; repeated: {', '.join(duplicated)}")
    return tree


def tree_items(tree: Tree) -> list[dict]:
    """The level-3 items of a tree, each with its level1, level2 and rule spec."""
    return [dict(level1=l1, level2=l2, item=item, points=spec.points, rule=spec.rule,
                 dimensions=spec.dimensions, criteria=spec.criteria, scale=spec.scale, formula=spec.formula,
                 full=spec.full, zero=spec.zero, show=spec.show)
            for l1, level2s in tree.items()
            for l2, items in level2s.items()
            for item, spec in items.items()]


class PaymentBand(Band):
    """A band of the score [min, max) and the share of the base payment it pays."""

    coefficient: float = Field(ge=0, le=1)


class Payment(_Strict):
    """A performance-linked payment (PPP): the year's ``base`` fact times the coefficient of the score's band."""

    base: str = Field(description="the fact paid (availability_payment)")
    bands: dict[str, PaymentBand] = Field(min_length=1)

    @field_validator("base")
    @classmethod
    def _known_fact(cls, base):
        formula_facts(base, "fact")
        return base

    @field_validator("bands")
    @classmethod
    def _tile(cls, bands):
        check_bands(bands, 0.0, 100.0, "payment bands")
        ordered = sorted(bands.values(), key=lambda b: b.min)
        if any(b.coefficient < a.coefficient for a, b in zip(ordered, ordered[1:])):
            raise ValueError("a payment band's coefficient must not fall as the score rises")
        return bands

    def band(self, score: float) -> tuple[str, PaymentBand]:
        """The band of ``score`` (0-100; the top band includes its max)."""
        for name, band in sorted(self.bands.items(), key=lambda kv: -kv[1].min):
            if score >= band.min - 1e-9:
                return name, band
        raise ValueError(f"score {score} is below every payment band")


def check_facts(tree: Tree, kind: str, what: str) -> Tree:
    """Every formula of ``tree`` reads facts of ``kind`` only (a project's framework cannot read a
    department's facts, nor the other way round)."""
    for level2s in tree.values():
        for items in level2s.values():
            for name, item in items.items():
                if item.formula:
                    try:
                        formula_facts(item.formula, kind)
                    except ValueError as exc:
                        raise ValueError(f"{what}, item {name}: {exc}") from None
    return tree


class Framework(_Strict):
    """The indicator tree a project category is evaluated on (a new field: special bonds, guidance funds,
    purchased services, PPP), the rule it follows and, for PPP, its performance-linked payment."""

    name: str
    basis: str = Field(description="the national rule the framework follows")
    tree: Tree
    payment: Payment | None = None

    @field_validator("tree")
    @classmethod
    def _tree(cls, tree):
        return check_facts(check_tree(tree, "the framework's tree"), "fact", "the framework's tree")


class DepartmentFramework(_Strict):
    """The framework a department's overall performance is evaluated on (部门整体绩效评价): its tree scores
    items by formula on the department's facts (``values.department_fact``), by the review group (expert)
    or by deduction for its projects' findings."""

    name: str
    basis: str = Field(description="the national rule the framework follows")
    monitoring_checkpoint: str = Field("09-30", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
                                       description="the day (MM-DD) of the year whose monitoring lights count")
    tree: Tree

    @field_validator("tree")
    @classmethod
    def _tree(cls, tree):
        check_tree(tree, "the department framework's tree")
        rules = {item.rule for level2s in tree.values() for items in level2s.values() for item in items.values()}
        unknown = sorted(rules - {"expert", "formula", "deduction"})
        if unknown:
            raise ValueError(f"the department framework scores items by formula, expert or deduction only, "
                             f"not {', '.join(unknown)}")
        return check_facts(tree, "department_fact", "the department framework")

    def items(self) -> list[dict]:
        """The level-3 items of the tree, each with its level1, level2 and rule spec."""
        return tree_items(self.tree)

    def item(self, name: str) -> Item:
        """The spec of the item called ``name``."""
        for level2s in self.tree.values():
            for items in level2s.values():
                if name in items:
                    return items[name]
        raise KeyError(f"the department framework has no item {name!r}")


class Scoring(_Strict):
    qualitative_bands: dict[Literal["met", "partial", "unmet"], Band]
    equal_tolerance: float = Field(ge=0, description="relative half-width inside which an equal indicator scores full")
    equal_falloff: PositiveFloat = Field(description="relative deviation beyond the tolerance at which it scores 0")
    not_applicable: Literal["redistribute", "zero"]

    @field_validator("qualitative_bands")
    @classmethod
    def _bands(cls, bands):
        if set(bands) != set(GRADES):
            raise ValueError(f"qualitative_bands needs exactly {', '.join(GRADES)}")
        check_bands(bands, 0.0, 1.0, "qualitative bands")
        order = sorted(bands, key=lambda g: bands[g].min)
        if order != ["unmet", "partial", "met"]:
            raise ValueError("qualitative bands must rise from unmet to partial to met")
        return bands


class Panel(_Strict):
    trim_min_experts: int = Field(ge=3, description="drop the highest and lowest score from this many experts up")
    spread_threshold: PositiveFloat = Field(description="flag items whose expert scores span more % points")
    min_experts: int = Field(ge=1, description="fewest experts whose scores make an item's evidence")
    outlier_deviation: PositiveFloat = Field(
        description="flag an expert whose scores sit on average more % points of the items' points above or "
                    "below the other experts' (flagged in the report, never dropped)")
    disputed_items: int = Field(ge=1, description="the panel summary names at most this many disputed items")


class Evidence(_Strict):
    """What missing evidence does: ``draft`` (the evaluation is incomplete: no total, no rating, no
    budget consequence) or ``zero`` (the item scores 0, flagged), per scoring rule (``judgement``: an
    ex-ante dimension without the experts' review, or economy without a standard); and what the results
    application does with a draft (``unchanged``: the budget stays and the draft is listed apart;
    ``refuse``: an error naming the drafts)."""

    missing: dict[Literal["expert", "execution_rate", "indicators", "formula", "judgement"], Literal["draft", "zero"]]
    drafts: Literal["unchanged", "refuse"]


class SelfEvaluation(_Strict):
    """Blocks of the self-evaluation: each a level-1 dimension of the indicators, except
    ``execution_block``, which is scored from budget execution."""

    weights: dict[str, PositiveFloat]
    execution_block: str | None = Field(default=None, description="the block scored by the execution rate")

    @field_validator("weights")
    @classmethod
    def _sum_100(cls, weights):
        if abs(sum(weights.values()) - 100) > 1e-6:
            raise ValueError(f"self-evaluation weights sum to {sum(weights.values()):g}, not 100")
        return weights

    @model_validator(mode="after")
    def _execution_block_weighted(self):
        if self.execution_block is not None and self.execution_block not in self.weights:
            raise ValueError(f"execution_block '{self.execution_block}' has no weight "
                             f"(blocks: {', '.join(self.weights)})")
        return self


class Application(_Strict):
    factor: float = Field(ge=0, le=1, description="next year's budget as a share of this year's")
    rule: str


class Weights(_Strict):
    ahp_max_cr: float = Field(gt=0, lt=1)


class Quota(_Strict):
    """How a quota standard is chosen: 先进合理, met by at least ``target_reach`` of the records."""

    target_reach: float = Field(gt=0, lt=1, description="share of records at or below the standard aimed at")
    reach_tolerance: float = Field(ge=0, lt=1, description="reaches this close count as equally near")
    candidates: dict[Literal["mean", "median", "trimmed_mean", "percentile", "two_stage", "ols", "rlm", "quantile",
                             "frontier"], dict[str, float | str]] = Field(min_length=1)
    benchmark: Literal["frontier", "quantile", "ols"] = Field(description="the efficient benchmark shown beside it")
    panel_min_units: int = Field(default=10, ge=2, description="units with cost records in two years or more "
                                                                "that a panel frontier needs")
    panel_eta_alpha: float = Field(default=0.05, gt=0, lt=1, description="η is kept (Battese-Coelli 1992) when "
                                                                          "its LR test's p-value is below this; "
                                                                          "else the Pitt-Lee model")
    dea_rts: Literal["crs", "vrs", "drs", "irs"] = Field(
        default="vrs", description="returns to scale of the DEA beside the panel frontier (year by year)")
    ranking_level: float = Field(default=0.95, gt=0, lt=1,
                                 description="level of the efficiency intervals beside a ranking of units")


class ReportStyle(_Strict):
    """What a report's title page says by default, and which formats a report is written in."""

    evaluating_body: str
    document_number: str | None = Field(default=None, description="the bureau's numbering rule, a format with the "
                                        "fields {code}, {year} and {subject}; none: a 文号 is printed only when given")
    job_codes: dict[str, str]
    formats: list[Literal["html", "pdf", "docx"]] = Field(min_length=1)
    strong_item_share: float = Field(default=0.95, gt=0, le=1, description="an item that won at least this share "
                                     "of its points is named among the practices that worked (主要经验及做法)")
    weak_item_share: float = Field(default=0.80, gt=0, le=1, description="an item that won less than this share "
                                   "of its points is named among the weaknesses and their causes")
    items_listed: int = Field(default=3, ge=1, description="how many strong or weak items a report names")

    @field_validator("document_number")
    @classmethod
    def _known_fields(cls, pattern):
        if pattern is None:
            return pattern
        try:
            pattern.format(code="X", year=2025, subject="P1")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"document_number may use only {{code}}, {{year}} and {{subject}}: {exc}") from None
        return pattern


class Sensitivity(_Strict):
    perturbation: float = Field(gt=0, lt=1)
    draws: int = Field(ge=100)
    seed: int = 0


class Lights(_Strict):
    green: float = Field(le=0)
    yellow: float = Field(le=0)

    @model_validator(mode="after")
    def _ordered(self):
        if not self.yellow < self.green:
            raise ValueError(f"the yellow threshold ({self.yellow}) must lie below the green one ({self.green})")
        return self


class Monitoring(_Strict):
    lights: Lights
    key_project_budget: float = Field(ge=0)
    key_project_month: int = Field(ge=1, le=12)
    key_project_max_rate: float = Field(ge=0, le=1)
    stall_months: int = Field(ge=1, le=11)
    year_end_spike: float = Field(gt=0, le=1)
    pause_forecast: float = Field(ge=0, le=1.5)
    terminate_forecast: float = Field(ge=0, le=1.5)
    completion_target: float = Field(gt=0, le=1.5)
    prediction_level: float = Field(gt=0, lt=1)
    target_completion_min: float = Field(gt=0, le=1.5)
    min_progress: float = Field(gt=0, le=1, description="time progress floor when pro-rating targets")
    completion_cap: float = Field(ge=1, description="cap of one target's completion to date")

    @model_validator(mode="after")
    def _terminate_below_pause(self):
        if self.terminate_forecast > self.pause_forecast:
            raise ValueError("terminate_forecast must not exceed pause_forecast (termination is the stronger action)")
        return self


class Dimension(_Strict):
    points: PositiveFloat
    name: str


class Conclusion(_Strict):
    conclusion: str
    min_score: float = Field(ge=0, le=100)
    max_cut_rate: float = Field(ge=0, le=1)
    approves: bool = Field(description="the request enters the budget (at the suggested amount)")
    adjusts: bool = Field(default=False, description="support on condition of adjustments (调整后支持): holds only "
                          "when there is something to adjust, a cut or a dimension below adjust_below")


class TargetDeductions(_Strict):
    no_output_target: float = Field(ge=0, le=1)
    no_benefit_target: float = Field(ge=0, le=1)
    low_quantitative_share: float = Field(ge=0, le=1)
    target_below_history: float = Field(ge=0, le=1)
    unit_mismatch: float = Field(ge=0, le=1)
    quantity_mismatch: float = Field(ge=0, le=1, description="an output target that is not the requested quantity")
    unit_cost_mismatch: float = Field(ge=0, le=1, description="a unit-cost target far from the standard's")
    amount_mismatch: float = Field(default=0.30, ge=0, le=1, description="a unit-cost target that, times the "
                                   "requested quantity, is far from the requested amount")


class TargetChecks(_Strict):
    """How far a request's own targets may stray from its quantity and from the quota standard."""

    quantity_tolerance: float = Field(ge=0, lt=1, description="relative gap allowed between output target and quantity")
    unit_cost_tolerance: float = Field(ge=0, description="relative gap allowed between unit-cost target and standard")
    amount_tolerance: float = Field(default=0.50, ge=0, description="relative gap allowed between unit-cost target × "
                                    "quantity and the requested amount")


class ExAnte(_Strict):
    dimensions: dict[Literal["necessity", "economy", "targets", "feasibility", "financing"], Dimension]
    tolerance: float = Field(ge=0, lt=1)
    economy_zero_cut: float = Field(gt=0, le=1)
    target_deductions: TargetDeductions
    target_checks: TargetChecks
    min_quantitative_share: float = Field(ge=0, le=1)
    adjust_below: float = Field(default=0.80, gt=0, le=1, description="a dimension that won less than this share of "
                                "its points is one a 调整后支持 asks to adjust")
    output_levels: list[str] = Field(min_length=1, description="level-1 names that count as output targets")
    benefit_levels: list[str] = Field(min_length=1, description="level-1 names that count as benefit targets")
    conclusions: list[Conclusion]

    @field_validator("dimensions")
    @classmethod
    def _five_dimensions_100(cls, dimensions):
        missing = {"necessity", "economy", "targets", "feasibility", "financing"} - set(dimensions)
        if missing:
            raise ValueError(f"ex-ante dimensions missing: {', '.join(sorted(missing))}")
        total = sum(d.points for d in dimensions.values())
        if abs(total - 100) > 1e-6:
            raise ValueError(f"ex-ante dimension points sum to {total:g}, not 100")
        return dimensions

    @field_validator("conclusions")
    @classmethod
    def _last_catches_all(cls, conclusions):
        if not conclusions or conclusions[-1].min_score > 0 or conclusions[-1].max_cut_rate < 1:
            raise ValueError("the last conclusion must catch every case (min_score 0, max_cut_rate 1)")
        if conclusions[-1].approves:
            raise ValueError(f"the last conclusion ('{conclusions[-1].conclusion}') catches every case and "
                             f"must not approve")
        return conclusions

    def conclusion(self, name: str) -> Conclusion:
        """The conclusion rule called ``name``."""
        return next(c for c in self.conclusions if c.conclusion == name)


class ComparisonIndicator(_Strict):
    """One indicator of the one-scale comparison of units."""

    better: Literal["higher", "lower"] = Field(description="lower is better for costs and findings")
    weight: PositiveFloat = Field(description="its weight in the composite when weights are the preset's")


class Comparison(_Strict):
    """The one-scale comparison of units (:mod:`perfkit.comparison`)."""

    indicators: dict[Literal["execution_rate", "target_completion", "evaluation_score", "unit_cost_ratio",
                             "red_share", "findings_per_million", "satisfaction"], ComparisonIndicator]
    weighting: Literal["preset", "entropy", "critic", "ahp"] = Field(description="how the composite's weights are set")
    entropy_method: Literal["shares", "minmax"] = Field(default="shares", description="entropy weights: the "
                                                        "textbook shares of the raw values, or the min-max variant")
    ahp: dict[str, dict[str, PositiveFloat]] | None = Field(
        default=None, description="AHP pairwise judgments for weighting 'ahp': ahp[i][j] = how much more "
                                  "important indicator i is than j (the reciprocals are implied)")
    min_coverage: float = Field(ge=0, le=1, description="an indicator known for fewer units is left out, and said")
    min_indicators: int = Field(ge=1, description="a unit known on fewer indicators is not ranked (待补充)")
    peer_groups: int = Field(ge=1, description="k of the k-means peer groups")
    top_share: float = Field(gt=0, lt=1, description="the top share of a year's ranks (sensitivity's top_share)")
    profile_margin: float = Field(gt=0, le=1, description="a normalised indicator this far above (below) the "
                                                          "peer group's mean is a strength (risk) in a portrait")
    satisfaction_level: str = Field(description="the level-1 dimension whose % indicators measure satisfaction")


class CaseType(_Strict):
    """A kind of problem in the case compilation: a code, its name, and the recorded types it gathers."""

    name: str
    recorded: list[str] = Field(default_factory=list, description="problem_type values of findings of this kind")
    budget_link: Literal["deduction", "termination", "recovery", "none"] = Field(
        description="how the kind reaches the budget: results-application cuts, terminated projects, "
                    "recovered unspent funds, or none")


class Cases(_Strict):
    """The problem-case compilation (:mod:`perfkit.cases`)."""

    taxonomy: dict[str, CaseType] = Field(min_length=2)
    suggest_min_probability: float = Field(ge=0, le=1, description="a suggestion below this is shown as uncertain")
    recurrence_years: int = Field(ge=2, description="a kind found in a unit in this many years recurs")
    recurrence_findings: int = Field(default=2, ge=2, description="a kind found in a unit this many times recurs, "
                                     "within one year too")

    @field_validator("taxonomy")
    @classmethod
    def _each_recorded_type_once(cls, taxonomy):
        seen: dict[str, str] = {}
        for code, kind in taxonomy.items():
            for recorded in kind.recorded:
                if recorded in seen:
                    raise ValueError(f"problem type '{recorded}' is in both {seen[recorded]} and {code}")
                seen[recorded] = code
        return taxonomy


class DataQuality(_Strict):
    """Figures that cannot all be true (:mod:`perfkit.quality`): each makes a 待核实 note in the reports."""

    idle_execution: float = Field(default=0.05, ge=0, le=1, description="spent at most this share of the budget ...")
    idle_completion: float = Field(default=0.50, ge=0, le=1, description="... with targets reached at least this "
                                   "far on average: targets met without spending")
    slow_share: float = Field(default=0.50, ge=0, le=1, description="an execution rate below this share of the "
                              "time elapsed is far below the year's progress")
    whole_units: list[str] = Field(default_factory=lambda: ["个", "家", "人", "人次", "户", "所", "座", "台", "套",
                                                            "辆", "项", "次", "件", "处", "名", "张", "份", "场"],
                                   description="units that count whole things: a fractional value is an error")


class Preset(_Strict):
    """A validated rule preset; load one with :func:`perfkit.rules.load_preset`.

    ``labels`` gives the preset's own names (tree items, ratings, blocks, conclusions, the
    preset's name) in the report languages: ``labels: {en: {决策: Decision, ...}}``;
    :meth:`label` looks them up.
    """

    name: str
    description: str = ""
    labels: dict[Literal["zh", "en"], dict[str, str]] = Field(default_factory=dict)
    low_ratings: list[str] = Field(description="ratings whose projects a report lists as low performers")
    evaluation_tree: Tree
    frameworks: dict[str, Framework] = Field(default_factory=dict, description="per project category, the "
                                             "framework of a new field; other categories use evaluation_tree")
    department: DepartmentFramework
    rating_bands: dict[str, Band]
    scoring: Scoring
    expert_panel: Panel
    self_evaluation: SelfEvaluation
    results_application: dict[str, Application]
    weights: Weights
    sensitivity: Sensitivity
    evidence: Evidence
    quota: Quota
    report: ReportStyle
    monitoring: Monitoring
    exante: ExAnte
    comparison: Comparison
    cases: Cases
    data_quality: DataQuality = Field(default_factory=DataQuality)

    @field_validator("evaluation_tree")
    @classmethod
    def _tree_sums_to_100(cls, tree):
        return check_tree(tree)

    @field_validator("frameworks")
    @classmethod
    def _known_categories(cls, frameworks):
        from perfkit.text import codes

        unknown = sorted(set(frameworks) - (set(codes("category")) - {"regular"}))
        if unknown:
            raise ValueError(f"frameworks for unknown project categories {unknown} (categories: "
                             f"{', '.join(c for c in codes('category') if c != 'regular')}; regular projects "
                             f"use evaluation_tree)")
        return frameworks

    @field_validator("rating_bands")
    @classmethod
    def _rating_bands(cls, bands):
        check_bands(bands, 0.0, 100.0, "rating bands")
        return bands

    _source: str = PrivateAttr(default="<preset>")

    @property
    def source(self) -> str:
        """The file the preset was read from (``default.yaml``, a path, or ``<preset>``)."""
        return self._source

    def label(self, name: str, lang: str = "zh") -> str:
        """A preset name (``决策``, ``中``, ``予以支持``...) in ``lang``; the name itself without a label."""
        return self.labels.get(lang, {}).get(name, name)

    def framework(self, category: str | None = None) -> Framework | None:
        """The framework of a new field that projects of ``category`` are evaluated on; None: the regular
        evaluation tree."""
        return self.frameworks.get(category) if category else None

    def tree(self, category: str | None = None) -> Tree:
        """The indicator tree of a project of ``category`` (its field's framework, else the regular tree)."""
        framework = self.framework(category)
        return framework.tree if framework else self.evaluation_tree

    def items(self, category: str | None = None) -> list[dict]:
        """The level-3 items of the tree of a project of ``category`` (the regular evaluation tree by
        default), each with its level1, level2 and rule spec."""
        return tree_items(self.tree(category))

    @model_validator(mode="after")
    def _low_ratings_known(self):
        unknown = sorted(set(self.low_ratings) - set(self.rating_bands))
        if unknown:
            raise ValueError(f"low_ratings names unknown ratings {unknown} (ratings: {', '.join(self.rating_bands)})")
        return self

    @model_validator(mode="after")
    def _every_rating_applied(self):
        missing = sorted(set(self.rating_bands) - set(self.results_application))
        extra = sorted(set(self.results_application) - set(self.rating_bands))
        if missing or extra:
            raise ValueError(f"results_application must name every rating ({', '.join(self.rating_bands)}); "
                             f"missing {missing or 'none'}, unknown {extra or 'none'}")
        return self
