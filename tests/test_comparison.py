"""One scale for units, performance portraits and the problem-case compilation (perfkit.comparison,
perfkit.portrait, perfkit.cases), with hand-computed cases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfkit.cases import classify_findings, compile_cases, holdout_accuracy, taxonomy
from perfkit.comparison import compare, critic_weights, indicators_from_store, normalise, topsis
from perfkit.errors import DataError
from perfkit.evaluation import entropy_weights


def test_normalise_follows_the_direction_and_keeps_missing_values():
    values = pd.DataFrame({"execution_rate": [0.5, 1.0, 0.75, np.nan], "unit_cost_ratio": [0.8, 1.2, 1.0, 1.1]})
    out = normalise(values, {"execution_rate": "higher", "unit_cost_ratio": "lower"})
    assert out["execution_rate"].tolist()[:3] == [0.0, 1.0, 0.5] and np.isnan(out["execution_rate"].iloc[3])
    assert out["unit_cost_ratio"].tolist() == pytest.approx([1.0, 0.0, 0.5, 0.25])   # (1.2 − x) / 0.4


def test_normalise_on_a_zero_range_and_against_a_reference():
    reference = pd.DataFrame({"satisfaction": [90.0, 90.0], "red_share": [0.1, 0.3]})
    later = pd.DataFrame({"satisfaction": [95.0, 85.0, 90.0], "red_share": [0.0, 0.2, 0.5]})
    out = normalise(later, {"satisfaction": "higher", "red_share": "lower"}, reference)
    assert out["satisfaction"].tolist() == [1.0, 0.0, 1.0]     # one value in the reference: at least as good → 1
    assert out["red_share"].tolist() == pytest.approx([1.0, 0.5, 0.0])   # beyond the reference range: clipped


def test_topsis_reproduces_the_textbook_example():
    # the mobile-phone example of TOPSIS tutorials: price (lower is better), storage, camera, looks; equal weights
    phones = pd.DataFrame({"price": [250, 200, 300, 275, 225], "storage": [16, 16, 32, 32, 16],
                           "camera": [12, 8, 16, 8, 16], "looks": [5, 3, 4, 4, 2]}, index=list("ABCDE"))
    better = {"price": "lower", "storage": "higher", "camera": "higher", "looks": "higher"}
    closeness = topsis(phones, [0.25] * 4, better)
    # the published closeness values, to the 1e-5 their intermediate rounding allows
    assert closeness.tolist() == pytest.approx([0.534277, 0.308368, 0.691629, 0.534737, 0.401046], abs=1e-5)
    assert closeness.rank(ascending=False).astype(int).tolist() == [3, 5, 1, 2, 4]


def test_entropy_and_critic_weights():
    data = np.array([[1.0, 5.0, 3.0], [2.0, 5.0, 1.0], [3.0, 5.0, 2.0], [4.0, 5.0, 3.0]])
    weights = entropy_weights(data)
    assert weights.sum() == pytest.approx(1.0) and weights[1] == pytest.approx(0.0, abs=1e-9)   # a constant tells nothing
    frame = pd.DataFrame({"a": [0.0, 0.5, 1.0, 0.2], "b": [0.0, 0.5, 1.0, 0.2], "c": [1.0, 0.0, 0.3, 0.9]})
    critic = critic_weights(frame)
    assert critic.sum() == pytest.approx(1.0)
    assert critic[2] > critic[0] == pytest.approx(critic[1])    # c conflicts with a and b; a and b repeat each other


def _values(rows):
    frame = pd.DataFrame(rows, columns=["unit_id", "year", "execution_rate", "target_completion", "unit_cost_ratio",
                                        "findings_per_million"])
    return frame.set_index(["unit_id", "year"])


def test_a_missing_indicator_is_reported_and_too_few_indicators_are_not_ranked():
    values = _values([("A", 2025, 0.9, 0.95, 1.0, 0.1), ("B", 2025, 0.7, np.nan, 1.1, 0.2),
                      ("C", 2025, 0.5, 0.80, 1.2, 0.3), ("D", 2025, np.nan, np.nan, 0.9, np.nan)])
    result = compare(values)
    scores = result.scores.xs(2025, level="year")
    assert scores.loc["B", "missing"] == "target_completion" and not pd.isna(scores.loc["B", "rank"])
    assert pd.isna(scores.loc["D", "rank"]) and pd.isna(scores.loc["D", "topsis"])    # one indicator: not ranked
    assert scores["rank"].dropna().astype(int).tolist() == [1, 2, 3] and scores.loc["A", "rank"] == 1
    assert scores.loc["D", "missing"] == "execution_rate, target_completion, findings_per_million"


def test_the_scale_is_fixed_so_a_score_moves_only_when_the_unit_moves():
    values = _values([("A", 2024, 0.9, 0.9, 1.0, 0.1), ("B", 2024, 0.6, 0.8, 1.2, 0.3), ("C", 2024, 0.7, 0.7, 1.1, 0.2),
                      ("A", 2025, 0.9, 0.9, 1.0, 0.1), ("B", 2025, 0.8, 0.9, 0.9, 0.1), ("C", 2025, 0.5, 0.6, 1.3, 0.4)])
    result = compare(values, reference_year=2024)
    change = result.change()["change"]
    assert change.loc[("A", 2025)] == pytest.approx(0.0)         # A did not move; B and C did, around it
    assert change.loc[("B", 2025)] > 0 > change.loc[("C", 2025)]


def test_rank_sensitivity_to_the_weights():
    rows = [("TOP", 2025, 1.0, 1.0, 0.8, 0.0)]
    rows += [(f"U{i}", 2025, 0.5 + i / 100, 0.7 + i / 100, 1.0 + i / 100, 0.1) for i in range(8)]
    rows += [("X", 2025, 0.95, 0.70, 1.00, 0.10), ("Y", 2025, 0.70, 0.95, 1.00, 0.10)]   # a tie broken by weights
    sensitivity = compare(_values(rows)).sensitivity(draws=400, perturbation=0.5, seed=1)
    top = sensitivity.loc[("TOP", 2025)]
    assert top["rank_p05"] == top["rank_p95"] == 1 and top["top_share"] == 1.0     # best on everything: always first
    x, y = sensitivity.loc[("X", 2025)], sensitivity.loc[("Y", 2025)]
    assert x["rank_p95"] > x["rank_p05"] and y["rank_p95"] > y["rank_p05"]          # their order depends on the weights


def test_the_store_comparison_has_every_indicator_peers_and_weights(demo_store):
    values = indicators_from_store(demo_store, [2024, 2025], field="agriculture")
    assert list(values.columns) == ["execution_rate", "target_completion", "evaluation_score", "unit_cost_ratio",
                                    "red_share", "findings_per_million", "satisfaction"]
    assert values["execution_rate"].between(0, 1.5).all() and values["red_share"].dropna().between(0, 1).all()
    for weighting in ("preset", "entropy", "critic"):
        result = compare(values, weighting=weighting)
        assert result.weights.sum() == pytest.approx(1.0)
        assert result.scores["peer_group"].dropna().between(1, 4).all()
        assert "evaluation_score" in result.model.dropped_ or "evaluation_score" in result.weights.index


def test_findings_are_classified_and_the_classifier_beats_the_majority_class(demo_store):
    from perfkit import queries
    findings = queries.findings_with_projects(demo_store)
    assert findings["problem_type"].isna().mean() == pytest.approx(0.15, abs=0.05)   # most, not all, classified
    classified = classify_findings(findings)
    assert classified["case_code"].notna().all()
    suggested = classified[classified["problem_type"].isna()]
    assert (suggested["case_source"] == "suggested").all() and suggested["probability"].between(0, 1).all()
    assert set(classified["case_code"]) <= set(taxonomy().index)
    # held out by text: the description alone (the evaluation item would name the kind outright)
    score = holdout_accuracy(findings.assign(item=""), seed=0)
    assert score["accuracy"] > score["majority"] and score["test"] >= 30
    print(f"held-out accuracy {score['accuracy']:.1%} against the majority class's {score['majority']:.1%}")


def test_the_case_compilation_counts_recurrence_and_budget_links(demo_store):
    cases = compile_cases(demo_store, [2024, 2025])
    assert cases.by_kind["findings"].sum() == len(cases.findings)
    assert set(cases.findings["year"]) <= {2024, 2025}
    summary = cases.summary()
    assert summary.loc["EXE", "terminated"] >= 0 and summary["unspent"].ge(0).all()
    rules = cases.preset.cases
    assert ((cases.recurrence["years"] >= rules.recurrence_years)
            | (cases.recurrence["findings"] >= rules.recurrence_findings)).all()
    # within one year: a unit with a kind found twice recurs, and §四 says so in the table's figures
    one = compile_cases(demo_store, [2025])
    counts = one.findings.groupby(["unit_id", "case_code"]).size()
    assert len(one.recurrence) == int((counts >= 2).sum()) > 0
    from perfkit.reports.problem_cases import CasesView
    view = CasesView(one, accuracy=holdout_accuracy(one.findings))
    said = view.recurrence_text().data
    assert f"{one.recurrence['unit_id'].nunique()} 个单位" in said and "只含 2025 一个年度" in said
    assert view.recurs and len(view.recurrence_table()) == len(one.recurrence)
    # the classifier's accuracy as measured for this compilation, with its sample and interval
    measured = view.accuracy
    assert 0 <= measured["low"] <= measured["accuracy"] <= measured["high"] <= 1
    assert f"留出 {measured['test']} 个问题检验准确率 {measured['accuracy']:.0%}" in view.headline().data


def test_a_portrait_rests_on_the_units_own_figures(demo_store):
    from perfkit.portrait import portrait
    unit = demo_store.query("SELECT min(unit_id) FROM projects WHERE project_id IN (SELECT project_id FROM expert_scores)"
                            " AND year = 2025").iloc[0, 0]
    shown = portrait(demo_store, unit, [2024, 2025])
    assert shown.unit["unit_id"] == unit and list(shown.indicators.index) == [2024, 2025]
    assert len(shown.key_evaluations) >= 1 and set(shown.findings["unit_id"]) <= {unit}
    notes = shown.profile()
    assert notes["standing"] and notes["focus"]
    with pytest.raises(DataError, match="unknown unit_id"):
        portrait(demo_store, "U_NOPE", [2025])


def test_ahp_weights_from_pairwise_judgments():
    values = _values([("A", 2025, 0.9, 0.95, 1.0, 0.1), ("B", 2025, 0.7, 0.9, 1.1, 0.2), ("C", 2025, 0.5, 0.8, 1.2, 0.3)])
    names = list(values.columns)
    # consistent judgments from weights 4:2:1:1: a[i][j] = w_i / w_j, so AHP gives those weights back
    w = pd.Series([4.0, 2.0, 1.0, 1.0], index=names)
    matrix = pd.DataFrame([[w[i] / w[j] for j in names] for i in names], index=names, columns=names)
    result = compare(values, weighting="ahp", ahp=matrix)
    assert result.weights.tolist() == pytest.approx([0.5, 0.25, 0.125, 0.125])
    inconsistent = matrix.copy()
    inconsistent.iloc[0, 3], inconsistent.iloc[3, 0] = 1 / 9, 9.0      # contradicts the others
    with pytest.raises(DataError, match="consistency ratio"):
        compare(values, weighting="ahp", ahp=inconsistent)
    with pytest.raises(DataError, match="pairwise judgments"):
        compare(values, weighting="ahp")
