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

import numpy as np
import pandas as pd

from perfkit.errors import DataError, Problem
from perfkit.quota.standards import StandardsTable
from perfkit.rules import load_preset
from perfkit.store import Store

DIMENSIONS = ("necessity", "economy", "targets", "feasibility", "financing")
JUDGED = ("necessity", "feasibility", "financing")  # scored by experts or checklists


@dataclass
class ExAnteResult:
    """The assessment of one request."""

    request: dict
    by_dimension: pd.Series
    standard_cost: float | None
    suggested_amount: float
    cut_rate: float
    conclusion: str
    reasons: list[str] = field(default_factory=list)
    needs_expert_judgement: bool = False

    @property
    def score(self) -> float:
        return float(self.by_dimension.sum())

    @property
    def approved_amount(self) -> float:
        """What enters the budget: the suggested amount when supported, nothing when rejected."""
        return 0.0 if self.conclusion == "不予支持" else self.suggested_amount


def _judged_fraction(answer) -> float:
    """A dimension's share of points from an answer: a 0-100 score, a list of expert scores (highest and
    lowest dropped from five up), or a checklist {question: bool} (share of yes)."""
    if isinstance(answer, Mapping):
        values = [bool(v) for v in answer.values()]
        return sum(values) / len(values) if values else 0.0
    if isinstance(answer, (list, tuple, np.ndarray, pd.Series)):
        scores = np.sort(np.asarray(answer, dtype=float))
        scores = scores[1:-1] if len(scores) >= 5 else scores
        return float(np.clip(scores.mean() / 100, 0, 1)) if len(scores) else 0.0
    return float(np.clip(float(answer) / 100, 0, 1))


def _target_problems(targets: list[Mapping], rules: dict) -> tuple[float, list[str]]:
    """Share of the targets dimension lost, and why."""
    deductions = rules["target_deductions"]
    lost, reasons = 0.0, []
    level1 = {t.get("level1") for t in targets}
    if "产出" not in level1:
        lost += deductions["no_output_target"]
        reasons.append("未设置产出指标")
    if "效益" not in level1:
        lost += deductions["no_benefit_target"]
        reasons.append("未设置效益指标")
    if targets:
        share = sum(t.get("value_type") == "quantitative" for t in targets) / len(targets)
        if share < rules["min_quantitative_share"]:
            lost += deductions["low_quantitative_share"]
            reasons.append(f"定量指标占比{share:.0%}，低于{rules['min_quantitative_share']:.0%}")
    for t in targets:
        history, value = t.get("history"), t.get("target_value")
        if history is not None and value is not None and not pd.isna(history) and not pd.isna(value):
            too_low = value < history if t.get("polarity") == "positive" else (
                value > history if t.get("polarity") == "reverse" else False)
            if too_low:
                lost += deductions["target_below_history"]
                compared = "低于" if t.get("polarity") == "positive" else "高于（反向指标）"
                reasons.append(f"“{t.get('name')}”目标值{value:g}{compared}本单位以往实际{history:g}，目标偏低")
        written, library = t.get("measure_unit"), t.get("library_unit")
        if written and library and written != library:
            lost += deductions["unit_mismatch"]
            reasons.append(f"“{t.get('name')}”计量单位“{written}”与指标库“{library}”不一致")
    return min(lost, 1.0), reasons


def assess(request: Mapping, standards: StandardsTable | None, answers: Mapping | None = None,
           preset="default") -> ExAnteResult:
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
    rules = load_preset(preset)["exante"]
    answers = dict(answers or {})
    amount = request.get("amount")
    if amount is None or pd.isna(amount) or amount <= 0:
        raise DataError(Problem("request", f"amount must be positive, not {amount}", column="amount"))
    if not request.get("direction"):
        raise DataError(Problem("request", "the expenditure direction is missing", column="direction"))
    points = {d: rules["dimensions"][d]["points"] for d in DIMENSIONS}
    names = {d: rules["dimensions"][d]["name"] for d in DIMENSIONS}
    reasons, scores = [], {}

    # economy of inputs: the quota standard
    standard_cost, needs_judgement = None, False
    quantity = request.get("quantity")
    has_standard = standards is not None and request["direction"] in standards.directions
    if has_standard and quantity is not None and not pd.isna(quantity):
        factors = {f: request.get(f) for f in standards.cost_model(request["direction"]).coefficients}
        standard_cost = standards.cost_for(float(quantity), direction=request["direction"],
                                           year=request.get("year"), **factors)
        suggested = min(float(amount), standard_cost * (1 + rules["tolerance"]))
        cut_rate = 1 - suggested / float(amount)
        scores["economy"] = points["economy"] * max(0.0, 1 - cut_rate / rules["economy_zero_cut"])
        if cut_rate > 0:
            reasons.append(f"申报{amount / 1e4:,.2f}万元，按定额标准测算{standard_cost / 1e4:,.2f}万元"
                           f"（含{rules['tolerance']:.0%}浮动），建议核减{cut_rate:.1%}")
        else:
            reasons.append(f"申报金额在定额标准{standard_cost / 1e4:,.2f}万元（含浮动）以内")
    else:
        suggested, cut_rate, needs_judgement = float(amount), 0.0, True
        why = "该支出方向无适用定额标准" if not has_standard else "未申报产出数量，无法套用定额标准"
        if "economy" in answers:
            scores["economy"] = points["economy"] * _judged_fraction(answers["economy"])
            reasons.append(f"{why}，投入经济性按专家判断计分")
        else:
            scores["economy"] = 0.0
            reasons.append(f"{why}，投入经济性需专家判断（暂计0分）")

    # reasonableness of targets: checked from data
    if "targets" in answers:
        scores["targets"] = points["targets"] * _judged_fraction(answers["targets"])
    else:
        lost, problems = _target_problems(list(request.get("targets") or []), rules)
        scores["targets"] = points["targets"] * (1 - lost)
        reasons += problems

    for dimension in JUDGED:
        if dimension in answers:
            scores[dimension] = points[dimension] * _judged_fraction(answers[dimension])
        else:
            scores[dimension] = 0.0
            reasons.append(f"缺少“{names[dimension]}”的评审意见，计0分")

    by_dimension = pd.Series({names[d]: scores[d] for d in DIMENSIONS}, name="score")
    total = float(by_dimension.sum())
    conclusion = next(c["conclusion"] for c in rules["conclusions"]
                      if total >= c["min_score"] and cut_rate <= c["max_cut_rate"] + 1e-12)
    reasons.insert(0, f"综合得分{total:.1f}分，核减率{cut_rate:.1%}，结论：{conclusion}")
    return ExAnteResult(request=dict(request), by_dimension=by_dimension, standard_cost=standard_cost,
                        suggested_amount=suggested, cut_rate=cut_rate, conclusion=conclusion, reasons=reasons,
                        needs_expert_judgement=needs_judgement)


def request_from_store(store: Store, request_id: str) -> tuple[dict, dict]:
    """The request mapping and the expert answers of a stored request (see :func:`assess`)."""
    row = store.query("""SELECT r.*, u.name AS unit_name, d.name AS direction_name, d.output_unit
                         FROM requests r JOIN units u USING (unit_id) JOIN directions d ON d.direction_id = r.direction
                         WHERE r.request_id = ?""", [request_id])
    if row.empty:
        raise KeyError(f"request {request_id!r} is not in the store {store.path}")
    request = {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in row.iloc[0].to_dict().items()}
    targets = store.query("""
        SELECT i.name, i.level1, i.level2, i.value_type, i.polarity, i.measure_unit AS library_unit,
               t.target_value, t.measure_unit,
               (SELECT CASE WHEN i.polarity = 'reverse' THEN min(a.actual_value) ELSE max(a.actual_value) END
                FROM actuals a JOIN projects p USING (project_id)
                WHERE a.indicator_id = t.indicator_id AND p.unit_id = r.unit_id AND p.year < r.year) AS history
        FROM request_targets t JOIN requests r USING (request_id) JOIN indicators i USING (indicator_id)
        WHERE t.request_id = ? ORDER BY t.indicator_id""", [request_id])
    request["targets"] = [{k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in t.items()}
                          for t in targets.to_dict("records")]
    scores = store.query("SELECT dimension, score FROM request_scores WHERE request_id = ?", [request_id])
    answers = {d: g["score"].tolist() for d, g in scores.groupby("dimension")}
    return request, answers


def assess_all(store: Store, standards: StandardsTable | None, year: int | None = None,
               preset="default") -> pd.DataFrame:
    """Assess every stored request (of ``year``): one row per request with score, amounts and conclusion."""
    ids = store.query("SELECT request_id FROM requests" + (f" WHERE year = {int(year)}" if year else "")
                      + " ORDER BY request_id")["request_id"]
    rows = []
    for request_id in ids:
        request, answers = request_from_store(store, request_id)
        result = assess(request, standards, answers, preset)
        rows.append(dict(request_id=request_id, name=request["name"], unit_id=request["unit_id"],
                         unit_name=request["unit_name"], direction=request["direction"],
                         direction_name=request["direction_name"], requested=float(request["amount"]),
                         standard_cost=result.standard_cost, suggested=result.suggested_amount,
                         approved=result.approved_amount, cut_rate=result.cut_rate, score=result.score,
                         conclusion=result.conclusion, needs_expert_judgement=result.needs_expert_judgement,
                         reasons="；".join(result.reasons[1:])))
    return pd.DataFrame(rows)


def exante_summary(assessed: pd.DataFrame, by: str = "conclusion") -> pd.DataFrame:
    """Requested, approved and the overall cut rate, by ``by`` (conclusion, unit_name, direction_name)."""
    grouped = assessed.groupby(by, sort=False).agg(requests=("request_id", "count"), requested=("requested", "sum"),
                                                   approved=("approved", "sum"))
    total = pd.DataFrame([grouped.sum()], index=["合计"])
    out = pd.concat([grouped, total]).astype({"requests": int})
    out["cut_rate"] = 1 - out["approved"] / out["requested"]
    return out
