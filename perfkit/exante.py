"""Ex-ante performance assessment (事前绩效评估) of new project requests.

Five dimensions (necessity, economy of inputs, reasonableness of targets,
feasibility, compliance of financing), 20 points each by default. Economy of
inputs is measured against the quota standards: standard cost = quantity ×
basic quota × adjustment coefficients, price-indexed to the budget year; the
suggested amount is min(requested, standard cost × (1 + tolerance)). Targets are
checked from data. The judged dimensions come from expert scores or checklist
answers. The preset's conclusion rules turn score and cut rate into 予以支持,
调整后支持 or 不予支持, with reasons.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from perfkit import queries
from perfkit.errors import DataError, Problem, reason
from perfkit.results import Result, make_record, makes_draft, missing_frame
from perfkit.rules import Preset, PresetLike, load_preset
from perfkit.store import Store
from perfkit.text import Message, Name, note

if TYPE_CHECKING:                               # statsmodels loads with the standards, when they are used
    from perfkit.quota.standards import StandardsTable

#: Index label of the total row of :func:`exante_summary` (rendered by the views).
TOTAL = "total"
#: The conclusion of a request whose evidence is incomplete (rendered as 待补充).
DRAFT = "draft"
DIMENSIONS = ("necessity", "economy", "targets", "feasibility", "financing")
JUDGED = ("necessity", "feasibility", "financing")  # scored by experts or checklists


@dataclass
class ExAnteResult(Result):
    """The assessment of one request: ``table`` holds each dimension's points and score."""

    request: dict
    by_dimension: pd.Series
    standard_cost: float | None
    suggested_amount: float
    cut_rate: float
    conclusion: str
    reasons: list[Message] = field(default_factory=list)
    needs_expert_judgement: bool = False
    preset: Preset = field(repr=False, default=None)
    kind = "事前绩效评估"

    @property
    def score(self) -> float:
        """The total of the five dimensions (NaN for a draft)."""
        return float("nan") if self.by_dimension.isna().any() else float(round(self.by_dimension.sum(), 10))

    @property
    def is_draft(self) -> bool:
        """True when a dimension lacks its evidence (the experts' review) and the preset makes that a draft:
        no score and no conclusion yet (待补充)."""
        return self.conclusion == DRAFT

    @property
    def approves(self) -> bool:
        """Whether the conclusion lets the request into the budget (the preset's ``approves``); a draft does not,
        yet."""
        return not self.is_draft and self.preset.exante.conclusion(self.conclusion).approves

    @property
    def approved_amount(self) -> float:
        """What enters the budget: the suggested amount when the conclusion approves, else nothing."""
        return self.suggested_amount if self.approves else 0.0

    @property
    def points(self) -> pd.Series:
        """Each dimension's points in the preset (indexed like :attr:`by_dimension`)."""
        dimensions = self.preset.exante.dimensions
        return pd.Series({dimensions[d].name: dimensions[d].points for d in DIMENSIONS}, name="points")

    @property
    def table(self) -> pd.DataFrame:
        """Each dimension's points and score (NaN while its evidence is missing)."""
        return pd.DataFrame({"points": self.points, "score": self.by_dimension}).rename_axis("dimension")

    def summary(self) -> pd.DataFrame:
        """One row (the request): amount requested, standard cost, suggested amount, cut rate, score,
        conclusion and the amount approved."""
        request_id = self.request.get("request_id")
        return pd.DataFrame([{"requested": float(self.request["amount"]), "standard_cost": self.standard_cost,
                              "suggested": self.suggested_amount, "cut_rate": self.cut_rate, "score": self.score,
                              "conclusion": self.conclusion, "approved": self.approved_amount}],
                            index=pd.Index([request_id], name="request_id"))

    @property
    def missing(self) -> pd.DataFrame:
        """The dimensions without their evidence: the experts' review, or for economy a standard (the bureau's)
        or the request's output quantity (the unit's)."""
        codes = {m.code for m in self.reasons}
        economy = self.preset.exante.dimensions["economy"].name
        rows = []
        for dimension, score in self.by_dimension.items():
            if not pd.isna(score):
                continue
            if dimension == economy:
                evidence = "standard" if "no_standard_pending" in codes else "quantity"
            else:
                evidence = "review"
            rows.append(dict(subject=self.request.get("request_id"), item=dimension, evidence=evidence))
        return missing_frame(rows)

    @property
    def adjustments(self) -> pd.DataFrame:
        """What a conditional support (调整后支持) asks to adjust: the dimensions that won less than the preset's
        ``adjust_below`` share of their points (points, score, share), weakest first; empty for other
        conclusions and for a draft."""
        if self.is_draft or not self.preset.exante.conclusion(self.conclusion).adjusts:
            return pd.DataFrame(columns=["points", "score", "share"]).rename_axis("dimension")
        table = self.table.assign(share=self.table["score"] / self.table["points"])
        return table[table["share"] < self.preset.exante.adjust_below].sort_values("share", kind="stable")

    def record(self) -> dict:
        """The index row: the request, its score and conclusion, or a draft."""
        return make_record(self.request.get("request_id"), self.score, self.conclusion, self.is_draft)


def _judged_fraction(answer, trim_min_experts: int) -> float:
    """A dimension's share of points from an answer: a 0-100 score, a list of expert scores (highest and
    lowest dropped from the preset's panel size up), or a checklist {question: bool} (share of yes)."""
    if isinstance(answer, Mapping):
        values = [bool(v) for v in answer.values()]
        return sum(values) / len(values) if values else 0.0
    if isinstance(answer, (list, tuple, np.ndarray, pd.Series)):
        scores = np.sort(np.asarray(answer, dtype=float))
        scores = scores[1:-1] if len(scores) >= trim_min_experts else scores
        return float(np.clip(scores.mean() / 100, 0, 1)) if len(scores) else 0.0
    return float(np.clip(float(answer) / 100, 0, 1))


def _target_problems(targets: list[Mapping], rules, quantity: float | None = None, output_unit: str | None = None,
                     standard_unit_cost: float | None = None,
                     amount: float | None = None) -> tuple[float, list[Message]]:
    """Share of the targets dimension lost, and why.

    Besides the library's checks, the request is compared with itself and with the standard: an output
    target counted in the request's output unit must be the requested ``quantity``, and a unit-cost target
    (元 per output unit) must lie near the ``standard_unit_cost`` (within the preset's ``target_checks``),
    and, standard or not, times the requested quantity near the requested ``amount``: a target of 1,975 元 a
    place for 20 places does not describe a request of 867.80 万元.
    """
    deductions, checks = rules.target_deductions, rules.target_checks
    lost, reasons = 0.0, []
    for t in targets:
        value, unit = t.get("target_value"), t.get("measure_unit")
        if value is None or pd.isna(value) or not unit or not output_unit:
            continue
        if (quantity and t.get("level1") in rules.output_levels and unit == output_unit
                and abs(value - quantity) > checks.quantity_tolerance * quantity):
            lost += deductions.quantity_mismatch
            reasons.append(note("quantity_mismatch", name=t.get("name"), value=float(value), quantity=float(quantity),
                                unit=unit))
        if (standard_unit_cost and unit == f"元/{output_unit}"
                and abs(value - standard_unit_cost) > checks.unit_cost_tolerance * standard_unit_cost):
            lost += deductions.unit_cost_mismatch
            reasons.append(note("unit_cost_mismatch", name=t.get("name"), value=float(value),
                                standard=float(standard_unit_cost), unit=unit))
    # without a standard, the request against itself (with one, the unit-cost check covers it): a unit-cost
    # target (元/X) times the quantity of X (the request's, else its output target counted in X)
    counted = {t.get("measure_unit"): t.get("target_value") for t in targets
               if t.get("level1") in rules.output_levels and t.get("target_value") is not None
               and not pd.isna(t.get("target_value")) and not str(t.get("measure_unit") or "").startswith("元")}
    if output_unit and quantity:
        counted[output_unit] = quantity
    for t in targets if amount and not standard_unit_cost else ():
        value, unit = t.get("target_value"), str(t.get("measure_unit") or "")
        per = unit[2:] if unit.startswith("元/") else None
        if value is None or pd.isna(value) or not per or not counted.get(per):
            continue
        implied = float(value) * float(counted[per])
        if abs(implied - amount) > checks.amount_tolerance * amount:
            lost += deductions.amount_mismatch
            reasons.append(note("amount_mismatch", name=t.get("name"), value=float(value), unit=unit,
                                quantity=float(counted[per]), output_unit=per, implied=implied / 1e4,
                                amount=float(amount) / 1e4))
    level1 = {t.get("level1") for t in targets}
    if not level1 & set(rules.output_levels):
        lost += deductions.no_output_target
        reasons.append(note("no_output_target"))
    if not level1 & set(rules.benefit_levels):
        lost += deductions.no_benefit_target
        reasons.append(note("no_benefit_target"))
    if targets:
        share = sum(t.get("value_type") == "quantitative" for t in targets) / len(targets)
        if share < rules.min_quantitative_share:
            lost += deductions.low_quantitative_share
            reasons.append(note("low_quantitative_share", share=share, minimum=rules.min_quantitative_share))
    for t in targets:
        history, value = t.get("history"), t.get("target_value")
        if history is not None and value is not None and not pd.isna(history) and not pd.isna(value):
            too_low = value < history if t.get("polarity") == "positive" else (
                value > history if t.get("polarity") == "reverse" else False)
            if too_low:
                lost += deductions.target_below_history
                reasons.append(note("target_below_history" if t.get("polarity") == "positive"
                                    else "target_above_history", name=t.get("name"), value=value, history=history))
        written, library = t.get("measure_unit"), t.get("library_unit")
        if written and library and written != library:
            lost += deductions.unit_mismatch
            reasons.append(note("unit_mismatch", name=t.get("name"), written=written, library=library))
    return min(lost, 1.0), reasons


def assess(request: Mapping, standards: StandardsTable | None, answers: Mapping | None = None,
           preset: PresetLike = "default") -> ExAnteResult:
    """Assess one project request.

    Parameters
    ----------
    request : mapping
        At least ``amount``, ``direction`` and ``quantity`` (None when no output is
        stated), the factor levels of the standard (e.g. ``region``, ``grade``), and
        optionally ``year`` (budget year, for price indexing), ``targets`` (a list of
        mappings with ``name``, ``level1``, ``value_type``, ``polarity``,
        ``target_value``, ``measure_unit``, ``library_unit`` and ``history``, the
        unit's own best past actual), ``name`` and ``request_id``.
    standards : StandardsTable or None
        Quota standards; a request whose direction has none is flagged for expert
        judgement, never silently passed.
    answers : mapping, optional
        Per dimension (necessity, feasibility, financing; economy and targets too, to
        override): a 0-100 score, a list of expert scores, or a checklist {question: bool}.

    Raises
    ------
    perfkit.DataError
        A request without a positive amount or a direction.
    """
    preset = load_preset(preset)
    rules = preset.exante
    trim = preset.expert_panel.trim_min_experts
    answers = dict(answers or {})
    amount = request.get("amount")
    if amount is None or pd.isna(amount) or amount <= 0:
        raise DataError(Problem("request", reason("amount_not_positive", amount=amount), column="amount"))
    if not request.get("direction"):
        raise DataError(Problem("request", reason("no_direction"), column="direction"))
    points = {d: rules.dimensions[d].points for d in DIMENSIONS}
    names = {d: rules.dimensions[d].name for d in DIMENSIONS}
    drafts = makes_draft(preset, "judgement")
    reasons, scores = [], {}

    # economy of inputs: the quota standard
    standard_cost, needs_judgement = None, False
    quantity = request.get("quantity")
    has_standard = standards is not None and request["direction"] in standards.directions
    if has_standard and quantity is not None and not pd.isna(quantity):
        factors = {f: request.get(f) for f in standards.cost_model(request["direction"]).coefficients}
        standard_cost = standards.cost_for(float(quantity), direction=request["direction"],
                                           year=request.get("year"), **factors)
        suggested = min(float(amount), standard_cost * (1 + rules.tolerance))
        cut_rate = 1 - suggested / float(amount)
        scores["economy"] = points["economy"] * max(0.0, 1 - cut_rate / rules.economy_zero_cut)
        if cut_rate > 0:
            reasons.append(note("cut_to_standard", requested=amount / 1e4, standard=standard_cost / 1e4,
                                tolerance=rules.tolerance, suggested=suggested / 1e4, cut=cut_rate))
        else:
            reasons.append(note("within_standard", requested=amount / 1e4, standard=standard_cost / 1e4,
                                tolerance=rules.tolerance, ceiling=standard_cost * (1 + rules.tolerance) / 1e4))
    else:
        suggested, cut_rate, needs_judgement = float(amount), 0.0, True
        why = "no_standard" if not has_standard else "no_quantity"
        if "economy" in answers:
            scores["economy"] = points["economy"] * _judged_fraction(answers["economy"], trim)
            reasons.append(note(f"{why}_judged"))
        elif drafts:
            scores["economy"] = np.nan
            reasons.append(note(f"{why}_pending"))
        else:
            scores["economy"] = 0.0
            reasons.append(note(f"{why}_needs_judgement"))

    # reasonableness of targets: checked from data
    if "targets" in answers:
        scores["targets"] = points["targets"] * _judged_fraction(answers["targets"], trim)
    else:
        standard_unit_cost = standard_cost / float(quantity) if standard_cost and quantity else None
        lost, problems = _target_problems(list(request.get("targets") or []), rules, quantity=quantity,
                                          output_unit=request.get("output_unit"),
                                          standard_unit_cost=standard_unit_cost, amount=float(amount))
        scores["targets"] = points["targets"] * max(0.0, 1 - lost)
        reasons += problems

    for dimension in JUDGED:
        if dimension in answers:
            scores[dimension] = points[dimension] * _judged_fraction(answers[dimension], trim)
        elif drafts:
            scores[dimension] = np.nan
            reasons.append(note("no_judgement_pending", dimension=Name(names[dimension])))
        else:
            scores[dimension] = 0.0
            reasons.append(note("no_judgement", dimension=Name(names[dimension])))

    by_dimension = pd.Series({names[d]: scores[d] for d in DIMENSIONS}, name="score")
    if by_dimension.isna().any():   # evidence missing: neither supported nor rejected until it is in
        conclusion = DRAFT
        reasons.insert(0, note("exante_pending", cut=cut_rate))
    else:
        total = float(round(by_dimension.sum(), 10))
        points_of = pd.Series({names[d]: points[d] for d in DIMENSIONS})
        weak = bool(((by_dimension / points_of) < rules.adjust_below).any())
        # support after adjustment needs something to adjust: a cut, or a dimension to improve
        conclusion = next(c.conclusion for c in rules.conclusions
                          if total >= c.min_score and cut_rate <= c.max_cut_rate + 1e-12
                          and (not c.adjusts or cut_rate > 0 or weak))
        reasons.insert(0, note("exante_overall", score=total, cut=cut_rate, conclusion=Name(conclusion)))
    return ExAnteResult(request=dict(request), by_dimension=by_dimension, standard_cost=standard_cost,
                        suggested_amount=suggested, cut_rate=cut_rate, conclusion=conclusion, reasons=reasons,
                        needs_expert_judgement=needs_judgement, preset=preset)


def assess_all(store: Store, standards: StandardsTable | None, year: int | None = None,
               preset: PresetLike = "default") -> pd.DataFrame:
    """Assess every stored request (of ``year``): one row per request with score, amounts and conclusion.

    ``reasons`` holds each request's notes (a tuple of :class:`perfkit.text.Message`), the overall line
    left out.
    """
    preset = load_preset(preset)
    rows = []
    for request_id, (request, answers) in queries.requests(store, queries.request_ids(store, year)).items():
        result = assess(request, standards, answers, preset)
        rows.append(dict(request_id=request_id, name=request["name"], unit_id=request["unit_id"],
                         unit_name=request["unit_name"], direction=request["direction"],
                         direction_name=request["direction_name"], requested=float(request["amount"]),
                         standard_cost=result.standard_cost, suggested=result.suggested_amount,
                         approved=result.approved_amount, cut_rate=result.cut_rate, score=result.score,
                         conclusion=result.conclusion, needs_expert_judgement=result.needs_expert_judgement,
                         reasons=tuple(result.reasons[1:])))
    return pd.DataFrame(rows)


def exante_summary(assessed: pd.DataFrame, by: str = "conclusion") -> pd.DataFrame:
    """Requested, approved and the cut rate, by ``by`` (conclusion, unit_name, direction_name).

    The cut rate counts decided requests only: a draft (待补充) is neither approved nor cut.
    """
    decided = assessed["conclusion"] != DRAFT
    grouped = assessed.groupby(by, sort=False).agg(requests=("request_id", "count"), requested=("requested", "sum"),
                                                   approved=("approved", "sum"))
    # the cut rate is over decided requests only: a pending request (待补充) is not cut, it waits
    decided_requested = assessed[decided].groupby(by, sort=False)["requested"].sum()
    decided_approved = assessed[decided].groupby(by, sort=False)["approved"].sum()
    grouped["cut_rate"] = 1 - decided_approved.reindex(grouped.index) / decided_requested.reindex(grouped.index)
    total = pd.DataFrame([{"requests": len(assessed), "requested": assessed["requested"].sum(),
                           "approved": assessed["approved"].sum(),
                           "cut_rate": 1 - assessed.loc[decided, "approved"].sum()
                           / assessed.loc[decided, "requested"].sum() if decided.any() else np.nan}], index=[TOTAL])
    return pd.concat([grouped, total]).astype({"requests": int})


def exante_portfolio(store: Store, year: int | None = None, preset: PresetLike = "default") -> pd.DataFrame:
    """Every request assessed (see :func:`assess_all`) with the store's saved quota standards."""
    from perfkit.quota.standards import stored_standards

    return assess_all(store, stored_standards(store), year, preset)
