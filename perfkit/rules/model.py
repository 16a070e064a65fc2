"""The shape of a rule preset, validated with pydantic.

Every section is required in a complete preset (``default`` has them all); a
preset that ``extends`` another inherits what it does not restate.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, field_validator, model_validator

RULES = ("expert", "execution_rate", "deduction", "indicators")
GRADES = ("met", "partial", "unmet")
_TOL = 1e-9


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not silently ignored


class Item(_Strict):
    points: PositiveFloat
    rule: Literal["expert", "execution_rate", "deduction", "indicators"]
    dimensions: list[str] | None = None

    @model_validator(mode="after")
    def _dimensions_for_indicators(self):
        if self.rule == "indicators" and not self.dimensions:
            raise ValueError("rule 'indicators' needs the level-2 dimensions it scores")
        return self


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


class SelfEvaluation(_Strict):
    weights: dict[Literal["产出", "效益", "满意度", "预算执行率"], PositiveFloat]

    @field_validator("weights")
    @classmethod
    def _sum_100(cls, weights):
        if abs(sum(weights.values()) - 100) > 1e-6:
            raise ValueError(f"self-evaluation weights sum to {sum(weights.values()):g}, not 100")
        return weights


class Application(_Strict):
    factor: float = Field(ge=0, le=1, description="next year's budget as a share of this year's")
    rule: str


class Weights(_Strict):
    ahp_max_cr: float = Field(gt=0, lt=1)


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


class TargetDeductions(_Strict):
    no_output_target: float = Field(ge=0, le=1)
    no_benefit_target: float = Field(ge=0, le=1)
    low_quantitative_share: float = Field(ge=0, le=1)
    target_below_history: float = Field(ge=0, le=1)
    unit_mismatch: float = Field(ge=0, le=1)


class ExAnte(_Strict):
    dimensions: dict[Literal["necessity", "economy", "targets", "feasibility", "financing"], Dimension]
    tolerance: float = Field(ge=0, lt=1)
    economy_zero_cut: float = Field(gt=0, le=1)
    target_deductions: TargetDeductions
    min_quantitative_share: float = Field(ge=0, le=1)
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
        return conclusions


class Preset(_Strict):
    name: str
    description: str = ""
    evaluation_tree: dict[str, dict[str, dict[str, Item]]]
    rating_bands: dict[str, Band]
    scoring: Scoring
    expert_panel: Panel
    self_evaluation: SelfEvaluation
    results_application: dict[str, Application]
    weights: Weights
    sensitivity: Sensitivity
    monitoring: Monitoring
    exante: ExAnte

    @field_validator("evaluation_tree")
    @classmethod
    def _tree_sums_to_100(cls, tree):
        total = sum(item.points for level2 in tree.values() for items in level2.values() for item in items.values())
        if abs(total - 100) > 1e-6:
            by_level1 = ", ".join(f"{l1} {sum(i.points for items in l2.values() for i in items.values()):g}"
                                  for l1, l2 in tree.items())
            raise ValueError(f"the points of the evaluation tree sum to {total:g}, not 100 ({by_level1})")
        names = [name for level2 in tree.values() for items in level2.values() for name in items]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"item names must be unique; repeated: {', '.join(duplicated)}")
        return tree

    @field_validator("rating_bands")
    @classmethod
    def _rating_bands(cls, bands):
        check_bands(bands, 0.0, 100.0, "rating bands")
        return bands

    @model_validator(mode="after")
    def _every_rating_applied(self):
        missing = sorted(set(self.rating_bands) - set(self.results_application))
        extra = sorted(set(self.results_application) - set(self.rating_bands))
        if missing or extra:
            raise ValueError(f"results_application must name every rating ({', '.join(self.rating_bands)}); "
                             f"missing {missing or 'none'}, unknown {extra or 'none'}")
        return self
