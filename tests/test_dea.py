"""DEA and the Malmquist index: published examples, the dual (multiplier) programme as an independent
computation, and the exact productivity ratio of one input and one output."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from perfkit.quota import dea, malmquist, rank_agreement

# Coelli, Rao, O'Donnell and Battese (2005), An Introduction to Efficiency and Productivity Analysis, the DEAP
# examples: five firms, one output and two inputs (CRS, input orientation) ...
TWO_INPUTS = pd.DataFrame([(1, 2, 5), (2, 2, 4), (3, 6, 6), (1, 3, 2), (2, 6, 2)], columns=["y", "x1", "x2"],
                          index=list("ABCDE"))
CRS_PUBLISHED = [0.5, 1.0, 0.833, 0.714, 1.0]
# ... and one output, one input (CRS, VRS and the scale efficiency CRS/VRS)
ONE_INPUT = pd.DataFrame([(1, 2), (2, 4), (3, 3), (4, 5), (5, 6)], columns=["y", "x"], index=list("ABCDE"))
VRS_PUBLISHED = [1.0, 0.625, 1.0, 0.9, 1.0]
CRS_ONE_INPUT = [0.5, 0.5, 1.0, 0.8, 0.833]


def test_the_published_examples_are_reproduced():
    two = dea(TWO_INPUTS[["x1", "x2"]], TWO_INPUTS[["y"]])
    assert two.efficiency.round(3).tolist() == CRS_PUBLISHED
    assert two.slacks_input.at["A", "x2"] == pytest.approx(0.5)           # firm A: θx2 − 0.5 still to save
    assert two.peers()["C"] == ["B", "E"] and two.peers()["B"] == ["B"]
    crs = dea(ONE_INPUT[["x"]], ONE_INPUT[["y"]], rts="crs").efficiency
    vrs = dea(ONE_INPUT[["x"]], ONE_INPUT[["y"]], rts="vrs").efficiency
    assert crs.round(3).tolist() == CRS_ONE_INPUT and vrs.round(3).tolist() == VRS_PUBLISHED
    assert (crs / vrs).round(3).tolist() == [0.5, 0.8, 1.0, 0.889, 0.833]    # scale efficiency


def _multiplier(x, y, o, rts):
    """The dual of the envelopment programme, written independently: max u'y_o − u0 s.t. v'x_o = 1,
    u'y_j − v'x_j − u0 ≤ 0, u, v ≥ 0 (u0 free under VRS, 0 under CRS)."""
    n, m = x.shape
    s = y.shape[1]
    free = 1 if rts == "vrs" else 0
    cost = np.r_[-y[o], np.zeros(m), [1.0] * free]
    a_ub = np.column_stack([y, -x, -np.ones((n, free))])
    a_eq = np.r_[np.zeros(s), x[o], [0.0] * free][None, :]
    bounds = [(0, None)] * (s + m) + [(None, None)] * free
    found = linprog(cost, A_ub=a_ub, b_ub=np.zeros(n), A_eq=a_eq, b_eq=[1.0], bounds=bounds, method="highs")
    return -found.fun


@pytest.mark.parametrize("rts", ["crs", "vrs"])
def test_envelopment_equals_the_multiplier_programme_on_random_units(rts):
    rng = np.random.default_rng(3)
    x = rng.uniform(1, 10, size=(30, 3))
    y = (x ** 0.4).prod(axis=1, keepdims=True) * rng.uniform(0.5, 1, size=(30, 1))
    y = np.column_stack([y, rng.uniform(1, 5, size=30)])
    mine = dea(x, y, rts=rts).efficiency.to_numpy()
    assert mine == pytest.approx([_multiplier(x, y, o, rts) for o in range(30)], abs=1e-7)
    assert (mine <= 1 + 1e-9).all() and (mine > 0).all()


def test_output_orientation_is_the_inverse_of_the_attainable_expansion():
    out = dea(ONE_INPUT[["x"]], ONE_INPUT[["y"]], rts="crs", orientation="output").efficiency
    assert out.round(3).tolist() == CRS_ONE_INPUT       # under CRS input and output efficiency coincide
    vrs = dea(ONE_INPUT[["x"]], ONE_INPUT[["y"]], rts="vrs", orientation="output")
    assert vrs.efficiency["B"] == pytest.approx(2 / 3.6667, abs=1e-3)       # B (x 4) could make 3.667


def test_the_malmquist_index_of_one_input_and_one_output_is_the_productivity_ratio():
    rng = np.random.default_rng(8)
    units = [f"U{i}" for i in range(12)]
    frame = pd.DataFrame([(u, t, rng.uniform(1, 5), rng.uniform(1, 5)) for t in (2024, 2025) for u in units],
                         columns=["unit", "year", "x", "y"])
    found = malmquist(frame[["x"]], frame[["y"]], frame["unit"], frame["year"])
    ratio = frame.assign(p=frame["y"] / frame["x"]).pivot(index="unit", columns="year", values="p")
    expected = (ratio[2025] / ratio[2024]).loc[found["unit"]].to_numpy()
    assert found["m"].to_numpy() == pytest.approx(expected, rel=1e-9)
    assert found["m"].to_numpy() == pytest.approx((found["ec"] * found["tc"]).to_numpy())
    assert set(found["period"]) == {2025}


def test_rank_agreement_and_bad_input():
    assert rank_agreement([0.9, 0.8, 0.7, 0.6], [0.95, 0.85, 0.75, 0.5])["rho"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="finite and ≥ 0"):
        dea([[1.0], [-2.0]], [[1.0], [1.0]])
    with pytest.raises(ValueError, match="rts must be one of"):
        dea([[1.0]], [[1.0]], rts="variable")


def test_a_unit_outside_a_variable_returns_technology_has_no_score_and_the_others_are_kept():
    """Against another period's units under VRS a unit may lie outside the technology (its programme has no
    solution): its score is NaN, never a number, and every other unit still gets its own."""
    rng = np.random.default_rng(4)
    x, y = rng.uniform(1, 5, size=(12, 1)), rng.uniform(1, 5, size=(12, 1))
    reference_x, reference_y = x[:6], y[:6] * 0.5          # a smaller technology
    found = dea(x, y, rts="vrs", reference_inputs=reference_x, reference_outputs=reference_y, slacks=False)
    outside = y[:, 0] > reference_y.max()                   # more output than any mix of the reference units
    assert found.efficiency[outside].isna().all() and outside.any()
    inside = dea(x[~outside], y[~outside], rts="vrs", reference_inputs=reference_x, reference_outputs=reference_y,
                 slacks=False).efficiency
    assert found.efficiency[~outside].to_numpy() == pytest.approx(inside.to_numpy())
