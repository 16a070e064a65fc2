"""The evaluation engine: indicator-tree scoring, expert panels, weights, ratings, results application.

- :func:`score_indicator`, :func:`rate`: one indicator, one total, by the preset's rules.
- :func:`score_project` (evidence frames) or :func:`evaluate` (a stored project; :func:`evaluate_many` for
  several) → :class:`EvaluationResult`: a project's key evaluation (财政重点评价).
- :func:`score_unit` (evidence frames) or :func:`self_evaluate` (a stored unit) → :class:`SelfEvaluationResult`:
  a unit's self-evaluation (单位自评).
- :func:`aggregate_panel`, :func:`kendalls_w`: expert panels; :func:`icc` (Shrout & Fleiss's six intraclass
  correlations), :func:`leniency` and :func:`panel_summary`: how far a panel agrees.
- :func:`ahp_weights`, :func:`entropy_weights`, :func:`rating_sensitivity`: weights.
- :func:`apply_results`, :func:`results_summary`: next year's budget (结果应用).
"""
from perfkit.evaluation.engine import (DRAFT, STATES, TOTAL, EvaluationResult, SelfEvaluationResult, apply_results, evaluate,
                                       evaluate_many, key_evaluations,
                                       results_summary, score_indicators, score_project, score_unit, self_evaluate)
from perfkit.evaluation.agreement import ICC_FORMS, PanelSummary, icc, leniency, panel_summary
from perfkit.evaluation.panel import aggregate_panel, kendalls_w
from perfkit.evaluation.scoring import SCORING_RULES, completion, rate, score_indicator
from perfkit.evaluation.weights import RANDOM_INDEX, ahp_weights, entropy_weights, rating_sensitivity

__all__ = ["DRAFT", "ICC_FORMS", "PanelSummary", "STATES", "TOTAL", "EvaluationResult", "RANDOM_INDEX", "SCORING_RULES", "SelfEvaluationResult", "aggregate_panel",
           "ahp_weights", "apply_results", "completion", "entropy_weights", "evaluate", "evaluate_many", "icc", "key_evaluations", "kendalls_w", "leniency", "panel_summary", "rate",
           "rating_sensitivity", "results_summary", "score_indicator", "score_indicators", "score_project", "score_unit", "self_evaluate"]
