"""The evaluation engine against hand-computed values: rules, edge cases, presets, panels, weights."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from perfkit import DataError
from perfkit import evaluation as ev
from perfkit.rules import load_preset


# --- one indicator ---------------------------------------------------------

@pytest.mark.parametrize("rule, kwargs, expected", [
    ("positive", dict(target=100, actual=120), 10.0),
    ("positive", dict(target=100, actual=100), 10.0),
    ("positive", dict(target=100, actual=80), 8.0),
    ("positive", dict(target=0, actual=5), 10.0),            # any non-negative actual meets a zero target
    ("positive", dict(target=100, actual=-20), 0.0),         # never below 0
    ("reverse", dict(target=10, actual=8), 10.0),
    ("reverse", dict(target=10, actual=15), 5.0),            # (1 - 5/10) × 10
    ("reverse", dict(target=10, actual=20), 0.0),            # 2 × target
    ("reverse", dict(target=10, actual=25), 0.0),
    ("reverse", dict(target=0, actual=0), 10.0),
    ("reverse", dict(target=0, actual=1), 0.0),
    ("equal", dict(target=100, actual=104), 10.0),           # within ±5%
    ("equal", dict(target=100, actual=80), 7.0),             # deviation 0.20: 1 − (0.20 − 0.05)/0.50 = 0.7
    ("equal", dict(target=100, actual=130, tolerance=0.1), 6.0),  # 1 − (0.30 − 0.10)/0.50 = 0.6
    ("equal", dict(target=100, actual=200), 0.0),
    ("execution_rate", dict(target=1_000_000, actual=850_000), 8.5),
    ("execution_rate", dict(target=1_000_000, actual=1_200_000), 10.0),  # capped at P
    ("qualitative", dict(grade="met"), 9.0),                 # midpoint of 80-100%
    ("qualitative", dict(grade="partial"), 7.0),
    ("qualitative", dict(grade="unmet"), 3.0),
    ("qualitative", dict(grade="partial", fraction=0.65), 6.5),
    ("deduction", dict(deductions=[1.5, 2]), 6.5),
    ("deduction", dict(deductions=[8, 5]), 0.0),             # never below 0
    ("deduction", dict(), 10.0),
])
def test_score_indicator_by_hand(rule, kwargs, expected):
    assert ev.score_indicator(rule, points=10, **kwargs) == pytest.approx(expected)


@pytest.mark.parametrize("rule", ["positive", "reverse", "equal", "execution_rate"])
@pytest.mark.parametrize("missing", [None, float("nan")])
def test_missing_actual_scores_zero(rule, missing):
    assert ev.score_indicator(rule, points=10, target=100, actual=missing) == 0.0


def test_missing_grade_scores_zero():
    assert ev.score_indicator("qualitative", points=10, grade=None) == 0.0


@pytest.mark.parametrize("rule, kwargs, message", [
    ("qualitative", dict(grade="met", fraction=0.5), "fraction 0.5 is outside the 'met' band \\[0.8, 1.0\\]"),
    ("qualitative", dict(grade="excellent"), "unknown grade 'excellent'"),
    ("positive", dict(target=-5, actual=1), "negative target"),
    ("positive", dict(target=float("nan"), actual=1), "the target is missing"),
    ("execution_rate", dict(target=0, actual=10), "the budget is 0"),
    ("execution_rate", dict(target=100, actual=-1), "negative spending"),
    ("deduction", dict(deductions=[-1]), "deductions must be ≥ 0"),
    ("median", dict(target=1, actual=1), "unknown rule 'median'"),
])
def test_bad_indicator_inputs_are_data_errors(rule, kwargs, message):
    with pytest.raises(DataError, match=message):
        ev.score_indicator(rule, points=10, **kwargs)


def test_negative_or_nan_points():
    for points in (-1, float("nan")):
        with pytest.raises(DataError, match="points must be a number ≥ 0"):
            ev.score_indicator("positive", points=points, target=1, actual=1)


@pytest.mark.parametrize("total, rating", [(100, "优"), (90, "优"), (89.999, "良"), (80, "良"), (79.99, "中"),
                                           (60, "中"), (59.99, "差"), (0, "差")])
def test_rating_bands(total, rating):
    assert ev.rate(total) == rating


@pytest.mark.parametrize("total", [-0.1, 100.1, float("nan")])
def test_rating_outside_range(total):
    with pytest.raises(DataError, match="must be in \\[0, 100\\]"):
        ev.rate(total)


# --- presets ---------------------------------------------------------------

def _write_preset(tmp_path, text: str):
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_user_preset_extends_default(tmp_path):
    path = _write_preset(tmp_path, """
extends: default
name: strict
rating_bands:
  优: {min: 95, max: 100}
  良: {min: 85, max: 95}
  中: {min: 60, max: 85}
  差: {min: 0, max: 60}
""")
    preset = load_preset(path)
    assert preset.name == "strict" and preset.self_evaluation.weights["产出"] == 50
    assert ev.rate(92, preset=path) == "良" and ev.rate(92) == "优"


def test_a_loaded_preset_is_kept_until_a_file_of_its_chain_changes(tmp_path):
    """Presets stay loaded (a warm kernel keeps them across reports), yet an edit of the file, or of the file
    it extends, is seen at the next load without clearing anything."""
    import os

    parent = tmp_path / "parent.yaml"
    parent.write_text("extends: default\nname: first\n", encoding="utf-8")
    child = _write_preset(tmp_path, "extends: parent.yaml\nreport:\n  evaluating_body: 甲\n")
    loaded = load_preset(child)
    assert load_preset(child) is loaded and loaded.name == "first"
    parent.write_text("extends: default\nname: second\n", encoding="utf-8")
    os.utime(parent, ns=(1, 1))                 # a different stamp even within the clock's resolution
    again = load_preset(child)
    assert again is not loaded and again.name == "second" and again.report.evaluating_body == "甲"
    assert load_preset(child) is again

@pytest.mark.parametrize("override, message", [
    ("evaluation_tree:\n  决策:\n    项目立项:\n      立项依据充分性: {points: 13, rule: expert}\n",
     "sum to 110, not 100"),
    ("rating_bands:\n  良: {min: 75, max: 90}\n", "'中' \\[60.0, 80.0\\) and '良' \\[75.0, 90.0\\) overlap"),
    ("rating_bands:\n  中: {min: 65, max: 80}\n", "gap between '差' \\(to 60.0\\) and '中' \\(from 65.0\\)"),
    ("evaluation_tree:\n  决策:\n    项目立项:\n      立项依据充分性: {points: 3, rule: vote}\n",
     "Input should be 'expert', 'execution_rate', 'deduction', 'indicators' or 'formula'"),
    ("self_evaluation:\n  weights: {产出: 60}\n", "self-evaluation weights sum to 110"),
    ("scoring:\n  qualitative_bands:\n    partial: {min: 0.5, max: 0.8}\n", "overlap"),
    ("results_application:\n  优秀: {factor: 1.0, rule: x}\n", "unknown \\['优秀'\\]"),
    ("weights:\n  ahp_max_cr: 0.1\n  ahp_cr: 0.2\n", "Extra inputs are not permitted"),
])
def test_malformed_presets_give_clear_errors(tmp_path, override, message):
    path = _write_preset(tmp_path, "extends: default\n" + override)
    with pytest.raises(DataError, match=message) as err:
        load_preset(path)
    assert err.value.problems[0].file == "mine.yaml"


def test_error_names_the_key(tmp_path):
    path = _write_preset(tmp_path, "extends: default\nevaluation_tree:\n  决策:\n    项目立项:\n"
                                   "      立项依据充分性: {points: -3, rule: expert}\n")
    with pytest.raises(DataError) as err:
        load_preset(path)
    assert "evaluation_tree.决策.项目立项.立项依据充分性.points" in str(err.value)


def test_unknown_preset_and_bad_yaml(tmp_path):
    with pytest.raises(DataError, match="no such preset \\(built-in presets: default"):
        load_preset("nonexistent")
    with pytest.raises(DataError, match="is not valid YAML"):
        load_preset(_write_preset(tmp_path, "name: [unclosed\n"))


def test_default_preset_is_the_mof_framework():
    preset = load_preset("default")
    tree = preset.evaluation_tree
    totals = {l1: sum(i.points for items in l2.values() for i in items.values()) for l1, l2 in tree.items()}
    assert totals == {"决策": 20, "过程": 20, "产出": 30, "效益": 30}
    assert totals["产出"] + totals["效益"] >= 60
    assert preset.self_evaluation.weights == {"产出": 50, "效益": 30, "满意度": 10, "预算执行率": 10}


# --- expert panels ----------------------------------------------------------

def test_panel_drops_highest_and_lowest_from_five():
    scores = pd.DataFrame({"item": ["A"] * 5 + ["B"] * 3, "expert_id": list("abcde") + list("abc"),
                           "score": [60, 70, 80, 90, 100, 50, 80, 95]})
    panel = ev.aggregate_panel(scores)
    assert panel.loc["A", "score"] == 80.0 and panel.loc["A", "mean"] == 80.0
    assert panel.loc["B", "score"] == pytest.approx(75.0)              # three experts: plain mean
    assert panel.loc["A", "spread"] == 40 and bool(panel.loc["A", "flagged"])   # 40 > 25
    assert panel.loc["B", "spread"] == 45 and bool(panel.loc["B", "flagged"])
    trimmed = ev.aggregate_panel(scores[scores["item"] == "A"].replace({"score": {100: 200}}), trim_min_experts=5)
    assert trimmed.loc["A", "score"] == 80.0                            # an outlier does not move it


def test_kendalls_w_by_hand():
    ranks = {"E1": [1, 2, 3, 4], "E2": [2, 1, 3, 4], "E3": [1, 3, 2, 4]}
    scores = pd.DataFrame([(item, expert, r) for expert, rs in ranks.items() for item, r in zip("ABCD", rs)],
                          columns=["item", "expert_id", "score"])
    # rank sums 4, 6, 8, 12; S = 35; W = 12·35 / (3²·(4³ − 4)) = 0.7778
    result = ev.kendalls_w(scores)
    assert result["w"] == pytest.approx(420 / 540)
    assert result["chi2"] == pytest.approx(3 * 3 * 420 / 540) and result["df"] == 3
    same = scores.assign(score=scores["item"].map({"A": 1, "B": 2, "C": 3, "D": 4}))
    assert ev.kendalls_w(same)["w"] == pytest.approx(1.0)


# --- weights ----------------------------------------------------------------

def test_ahp_textbook_matrix():
    # Saaty's 3-criterion example: λmax = 3.0385, CI = 0.0193, CR = 0.033
    weights, cr = ev.ahp_weights([[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]])
    np.testing.assert_allclose(weights, [0.6370, 0.2583, 0.1047], atol=5e-4)
    assert cr == pytest.approx(0.0332, abs=5e-4)


def test_ahp_consistent_matrix_has_zero_cr():
    w = np.array([0.5, 0.3, 0.2])
    weights, cr = ev.ahp_weights(w[:, None] / w[None, :])
    np.testing.assert_allclose(weights, w)
    assert cr == pytest.approx(0.0, abs=1e-9)


def test_ahp_refuses_inconsistent_and_malformed_matrices():
    inconsistent = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]
    with pytest.raises(DataError, match="consistency ratio .* ≥ 0.1"):
        ev.ahp_weights(inconsistent)
    weights, cr = ev.ahp_weights(inconsistent, force=True)
    assert cr > 0.1 and weights.sum() == pytest.approx(1.0)
    with pytest.raises(DataError, match="not reciprocal"):
        ev.ahp_weights([[1, 2], [2, 1]])
    with pytest.raises(DataError, match="square"):
        ev.ahp_weights([[1, 2, 3]])
    with pytest.raises(DataError, match="positive"):
        ev.ahp_weights([[1, -2], [-0.5, 1]])


def test_entropy_weights_by_hand():
    # a constant criterion carries no information: weight 0; the other takes it all
    np.testing.assert_allclose(ev.entropy_weights([[1, 5], [2, 5], [3, 5]]), [1.0, 0.0], atol=1e-12)
    w = ev.entropy_weights([[1, 10], [2, 11], [3, 50]])
    assert w.sum() == pytest.approx(1.0) and w[1] > w[0]   # the more uneven criterion weighs more
    np.testing.assert_allclose(ev.entropy_weights([[1, 3], [2, 2], [3, 1]], benefit=[True, False],
                                                  method="minmax"), [0.5, 0.5])


def test_entropy_weights_are_the_textbook_method_by_default():
    """Shannon entropy of each column's shares p_ij = x_ij / Σ_i x_ij, checked against scipy's entropy (an
    independent implementation); a column that varies by ±0.01% gets almost no weight, where the min-max
    variant gives it as much as a column that varies by half."""
    from scipy.stats import entropy
    data = np.array([[100.0, 10.0, 0.50], [100.01, 11.0, 0.90], [99.99, 50.0, 0.70], [100.0, 20.0, 0.30]])
    e = np.array([entropy(column) / np.log(len(data)) for column in data.T])   # scipy normalises to shares
    expected = (1 - e) / (1 - e).sum()
    np.testing.assert_allclose(ev.entropy_weights(data), expected, rtol=1e-12)
    assert ev.entropy_weights(data)[0] < 1e-6                                 # ±0.01%: next to nothing
    assert ev.entropy_weights(data, method="minmax")[0] > 0.2                 # the variant: a large weight
    with pytest.raises(DataError):
        ev.entropy_weights([[1.0, -1.0], [2.0, 3.0]])                          # shares need values ≥ 0


@pytest.mark.parametrize("matrix, published, digits", [
    # Xu, X. (2004), A note on the subjective and objective integrated approach to determine attribute weights,
    # European Journal of Operational Research 156(2), 530-532: four alternatives, four attributes
    ([[30, 30, 38, 29], [19, 54, 86, 29], [19, 15, 85, 28.9], [68, 70, 60, 29]], [0.4630, 0.3992, 0.1378, 0.0000], 4),
    # Elsayed, Dawood and Karthikeyan (2017), Evaluating alternatives through the application of TOPSIS method with
    # entropy weight, International Journal of Engineering Trends and Technology 46(2), 60-66: 12 × 5
    ([[7, 312, 1891, 6613, 163], [72, 88, 728, 941804, 1078], [10, 252, 2594, 3466, 117471],
      [10, 145, 980, 2371, 86329], [65, 54, 350, 501, 29897], [29, 48, 380, 912, 34051], [7, 476, 3300, 78470, 2212],
      [70, 87, 650, 733, 819000], [4, 86, 591, 3015, 103], [12, 79, 579, 3240, 96098], [21, 45, 261, 1253, 453],
      [1, 72, 530, 4333, 0.104800]], [0.104991, 0.069124, 0.071373, 0.449937, 0.304575], 6),
])
def test_entropy_weights_reproduce_published_worked_examples(matrix, published, digits):
    assert np.round(ev.entropy_weights(np.asarray(matrix, dtype=float)), digits).tolist() == published


def test_rating_sensitivity():
    table = pd.DataFrame({"points": [50.0, 50.0], "score": [50.0, 30.5]})      # 80.5: on the 良/中 edge
    edge = ev.rating_sensitivity(table, draws=2000, seed=1)
    assert edge["rating"] == "良" and 0.2 < edge["p_change"] < 0.8 and "中" in edge["ratings"]
    safe = ev.rating_sensitivity(pd.DataFrame({"points": [50.0, 50.0], "score": [48.0, 47.0]}))
    assert safe["p_change"] == 0.0 and safe["ratings"] == {"优": 1.0}


# --- results application ------------------------------------------------------

def test_apply_results_by_hand():
    ratings = pd.DataFrame({"project_id": ["A", "B", "C", "D"], "rating": ["优", "良", "中", "差"],
                            "budget": [100.0, 200.0, 300.0, 400.0]})
    applied = ev.apply_results(ratings)
    assert applied["recommended_budget"].tolist() == [100.0, 200.0, 270.0, 0.0]
    assert applied.loc[2, "rule"] == "评价为中，压减预算10%" and applied.loc[3, "rule"] == "评价为差，不予安排预算"
    summary = ev.results_summary(applied)
    assert summary.loc["total", "cut"] == 430.0 and summary.loc["total", "cut_rate"] == pytest.approx(0.43)
    assert summary.loc["中", "cut"] == 30.0


def test_apply_results_bad_input():
    with pytest.raises(DataError) as err:
        ev.apply_results(pd.DataFrame({"project_id": ["A", "B"], "rating": ["优", "A+"], "budget": [1.0, -1.0]}))
    text = str(err.value)
    assert "row 2, column 'rating': unknown rating 'A+'" in text and "row 2, column 'budget'" in text
    with pytest.raises(DataError, match="missing column 'budget'"):
        ev.apply_results(pd.DataFrame({"project_id": ["A"], "rating": ["优"]}))
