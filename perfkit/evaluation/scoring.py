"""Scoring one indicator worth P points, and rating a total, exactly as the preset's rules say.

The rules (``rule`` argument of :func:`score_indicator`):

positive
    actual ≥ target → P, else actual / target × P (never below 0). Target 0: any actual ≥ 0 scores P.
reverse
    actual ≤ target → P; target < actual < 2×target → (1 − (actual − target)/target) × P;
    actual ≥ 2×target → 0. Target 0: actual ≤ 0 scores P, anything above scores 0.
equal
    |actual − target| / |target| ≤ tolerance → P; then a linear fall to 0 at tolerance + falloff
    (the preset's ``equal_tolerance`` and ``equal_falloff``). Target 0: the deviation is |actual|.
execution_rate
    ``actual`` is the amount spent, ``target`` the budget: spent / budget × P, capped at P.
qualitative
    ``grade`` met / partial / unmet, each a band of P (80–100%, 60–80%, 0–60% by default);
    ``fraction`` places the score inside the band (its midpoint when omitted).
deduction
    P minus the deductions of each finding, never below 0.

A missing actual (None or NaN) or grade scores 0: callers flag it (see
:func:`perfkit.evaluation.evaluate`), never drop it. Negative targets, budgets,
deductions and points, and NaN targets, are errors.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from perfkit.errors import DataError, Problem, Reason, reason
from perfkit.rules import load_preset

SCORING_RULES = ("positive", "reverse", "equal", "execution_rate", "qualitative", "deduction")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _bad(problem: Reason, column: str | None = None) -> DataError:
    return DataError(Problem("indicator", problem, column=column))


def score_indicator(rule: str, *, points: float, target: float | None = None, actual: float | None = None,
                    grade: str | None = None, fraction: float | None = None, deductions: Iterable[float] = (),
                    tolerance: float | None = None, preset="default") -> float:
    """Points won by one indicator worth ``points`` under ``rule`` (see the module docstring).

    Parameters
    ----------
    rule : {"positive", "reverse", "equal", "execution_rate", "qualitative", "deduction"}
    points : float
        P, the indicator's points (≥ 0).
    target, actual : float, optional
        Target and actual value (budget and spending for ``execution_rate``).
    grade : {"met", "partial", "unmet"}, optional
        For ``qualitative``.
    fraction : float, optional
        For ``qualitative``: the share of P inside the grade's band.
    deductions : iterable of float
        For ``deduction``.
    tolerance : float, optional
        For ``equal``: relative tolerance; the preset's ``equal_tolerance`` when omitted.
    preset : str, path, mapping or Preset
        Rule preset for the bands, tolerance and fall-off.

    Raises
    ------
    perfkit.DataError
        Unknown rule or grade, a fraction outside its grade's band, negative or NaN inputs
        where the rule cannot use them.
    """
    if rule not in SCORING_RULES:
        raise _bad(reason("unknown_rule", rule=rule, rules=", ".join(SCORING_RULES)), "rule")
    if _missing(points) or points < 0:
        raise _bad(reason("bad_points", points=points), "points")
    scoring = load_preset(preset).scoring
    if rule == "deduction":
        deductions = [float(d) for d in deductions]
        if any(math.isnan(d) or d < 0 for d in deductions):
            raise _bad(reason("bad_deductions", deductions=deductions), "deduction")
        return max(0.0, points - sum(deductions))
    if rule == "qualitative":
        if _missing(grade):
            return 0.0
        bands = scoring.qualitative_bands
        if grade not in bands:
            raise _bad(reason("unknown_grade", grade=grade, grades=", ".join(bands)), "grade")
        low, high = bands[grade].min, bands[grade].max
        if fraction is None:
            fraction = (low + high) / 2
        elif _missing(fraction) or not low <= fraction <= high:
            raise _bad(reason("fraction_outside_band", fraction=fraction, grade=grade, low=low, high=high), "fraction")
        return fraction * points
    if _missing(target):
        raise _bad(reason("target_missing"), "target")
    if target < 0:
        raise _bad(reason("negative_budget_scored" if rule == "execution_rate" else "negative_target", value=target),
                   "target")
    if _missing(actual):
        return 0.0
    if rule == "execution_rate":
        if actual < 0:
            raise _bad(reason("negative_spending", value=actual), "actual")
        if target == 0:
            raise _bad(reason("zero_budget"), "target")
        return min(actual / target, 1.0) * points
    if rule == "positive":
        if target == 0 or actual >= target:
            return points if actual >= 0 else 0.0
        return max(0.0, actual / target) * points
    if rule == "reverse":
        if actual <= target:
            return points
        if target == 0 or actual >= 2 * target:
            return 0.0
        return (1 - (actual - target) / target) * points
    # equal
    tolerance = scoring.equal_tolerance if tolerance is None else tolerance
    if _missing(tolerance) or tolerance < 0:
        raise _bad(reason("bad_tolerance", tolerance=tolerance), "tolerance")
    deviation = abs(actual - target) / target if target != 0 else abs(actual)
    if deviation <= tolerance:
        return points
    falloff = scoring.equal_falloff
    return max(0.0, 1 - (deviation - tolerance) / falloff) * points


def _floats(values) -> np.ndarray:
    """Numbers as a float array, a missing value (None, NaN, pd.NA) as NaN."""
    return pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(values, dtype=object))), errors="coerce") \
        .astype(float).to_numpy()


def completion(polarity, target, actual):
    """How far actuals reach their targets (1.0 = reached), by the indicator's polarity: the one measure of
    target completion of the overview, the comparison and monitoring.

    positive: actual / target; reverse: target / actual (an actual ≤ 0 reaches any target ≥ 0); equal:
    1 − |actual − target| / |target|, at least 0. NaN where either value is missing or the ratio is
    undefined (a target of 0). Not capped: a caller that counts over-achievement as 1 clips.

    Parameters
    ----------
    polarity : str or array-like of str
    target, actual : float or array-like of float

    Returns
    -------
    float, or an ndarray for array-like input
    """
    scalar = np.ndim(target) == 0 and np.ndim(actual) == 0 and np.ndim(polarity) == 0
    t, a = _floats(target), _floats(actual)
    p = np.broadcast_to(np.asarray(polarity, dtype=object), np.broadcast_shapes(t.shape, a.shape))
    t, a = np.broadcast_arrays(t, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        reverse = np.where(a > 0, t / a, np.where(t >= 0, 1.0, np.nan))
        equal = np.maximum(0.0, 1 - np.abs(a - t) / np.abs(t))
        out = np.where(p == "reverse", reverse,
                       np.where(t == 0, np.nan, np.where(p == "equal", equal, a / t)))
    out = np.where(np.isnan(t) | np.isnan(a), np.nan, out)
    return float(out[0]) if scalar else out


def rate(total: float, preset="default") -> str:
    """The rating (优 良 中 差 by default) of a total score in [0, 100].

    Raises
    ------
    perfkit.DataError
        When ``total`` is NaN or outside [0, 100].
    """
    if _missing(total) or not 0 <= total <= 100:
        raise DataError(Problem("score", reason("total_out_of_range", total=total), column="total"))
    bands = load_preset(preset).rating_bands
    for name, band in sorted(bands.items(), key=lambda kv: -kv[1].min):
        if band.min <= total < band.max or (total == band.max == 100):
            return name
    raise AssertionError("validated bands tile [0, 100]")  # unreachable for a validated preset
