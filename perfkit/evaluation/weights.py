"""Weights: AHP pairwise comparison, entropy weighting, and how sensitive a rating is to them."""
from __future__ import annotations

import numpy as np
import pandas as pd

from perfkit.errors import DataError, Problem, reason
from perfkit.rules import load_preset

#: Saaty's random consistency index by matrix order (Saaty 1980).
RANDOM_INDEX = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49,
                11: 1.51, 12: 1.48, 13: 1.56, 14: 1.57, 15: 1.59}


def ahp_weights(matrix, force: bool = False, preset="default") -> tuple[np.ndarray, float]:
    """Weights from an AHP pairwise comparison matrix.

    Parameters
    ----------
    matrix : array_like, n × n
        Positive and reciprocal: ``a[i, j]`` says how much more important i is than j,
        and ``a[j, i] = 1 / a[i, j]``.
    force : bool, default False
        Return the weights even when the consistency ratio reaches the preset's
        ``weights.ahp_max_cr`` (0.10).

    Returns
    -------
    weights : ndarray
        The principal eigenvector, normalised to sum to 1.
    consistency_ratio : float
        CI / RI with CI = (λmax − n) / (n − 1) and Saaty's random index RI (0 for n ≤ 2).

    Raises
    ------
    perfkit.DataError
        A matrix that is not square, positive and reciprocal, or too inconsistent.
    """
    a = np.asarray(matrix, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise DataError(Problem("ahp", reason("ahp_not_square", shape=a.shape)))
    n = a.shape[0]
    if n > max(RANDOM_INDEX):
        raise DataError(Problem("ahp", reason("ahp_too_many", most=max(RANDOM_INDEX), n=n)))
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise DataError(Problem("ahp", reason("ahp_not_positive")))
    bad = np.argwhere(~np.isclose(a * a.T, 1.0, rtol=1e-3))
    if len(bad):
        i, j = bad[0]
        raise DataError(Problem("ahp", reason("ahp_not_reciprocal", i=i, j=j, product=a[i, j] * a[j, i]),
                                row=int(i) + 1))
    eigenvalues, eigenvectors = np.linalg.eig(a)
    k = int(np.argmax(eigenvalues.real))
    lambda_max = float(eigenvalues[k].real)
    weights = np.abs(eigenvectors[:, k].real)
    weights /= weights.sum()
    ci = (lambda_max - n) / (n - 1) if n > 2 else 0.0
    cr = ci / RANDOM_INDEX[n] if RANDOM_INDEX[n] > 0 else 0.0
    limit = load_preset(preset).weights.ahp_max_cr
    if cr >= limit and not force:
        raise DataError(Problem("ahp", reason("ahp_inconsistent", cr=cr, limit=limit)))
    return weights, float(max(cr, 0.0))


ENTROPY_METHODS = ("shares", "minmax")


def entropy_weights(data, benefit=None, method: str = "shares") -> np.ndarray:
    """Entropy weights of criteria (columns) from their values over alternatives (rows).

    ``method="shares"`` (the textbook entropy weight method, the default): each column's values, which must
    not be negative, become shares p_ij = x_ij / Σ_i x_ij; its Shannon entropy e_j = −Σ_i p_ij ln p_ij / ln m
    (0 ln 0 = 0) measures how evenly it is spread, and the weight is the normalised divergence
    (1 − e_j) / Σ_j (1 − e_j). A column that barely varies (±0.01%) gets almost no weight. ``benefit``
    plays no part: a direction does not change how much a criterion varies.

    ``method="minmax"``: a variant some applications use: each column min-max normalised (reversed where
    ``benefit`` is False) and shifted off zero by 1e-4 before the shares. It gives a column that varies by
    ±0.01% as much weight as one that varies by half (the scaling erases the size of the variation).
    """
    if method not in ENTROPY_METHODS:
        raise ValueError(f"method must be one of {ENTROPY_METHODS}, not {method!r}")
    x = np.asarray(data, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2:
        raise DataError(Problem("entropy", reason("entropy_too_few")))
    if not np.all(np.isfinite(x)):
        raise DataError(Problem("entropy", reason("not_finite")))
    if method == "shares":
        if (x < 0).any():
            raise DataError(Problem("entropy", reason("entropy_negative")))
        totals = x.sum(axis=0)
        p = np.divide(x, totals, out=np.full_like(x, 1 / x.shape[0]), where=totals > 0)
    else:
        benefit = np.ones(x.shape[1], dtype=bool) if benefit is None else np.asarray(benefit, dtype=bool)
        low, high = x.min(axis=0), x.max(axis=0)
        span = np.where(high > low, high - low, 1.0)
        z = np.where(benefit, (x - low) / span, (high - x) / span) + 1e-4
        p = z / z.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    entropy = -terms.sum(axis=0) / np.log(x.shape[0])
    divergence = np.clip(1 - entropy, 0.0, None)
    if divergence.sum() <= 0:
        return np.full(x.shape[1], 1 / x.shape[1])
    return divergence / divergence.sum()


def rating_sensitivity(table: pd.DataFrame, preset="default", perturbation: float | None = None,
                       draws: int | None = None, seed: int | None = None) -> dict:
    """How likely is the rating to change if the weights move?

    Each item's points are multiplied by an independent uniform factor in
    [1 − perturbation, 1 + perturbation], rescaled so that the points again sum to
    the same total, and the project rescored with the same share of each item won.

    Parameters
    ----------
    table : DataFrame
        An evaluation table with ``points`` and ``score`` per item.

    Returns
    -------
    dict
        ``p_change`` (share of draws whose rating differs), ``ratings`` (share of
        draws per rating), ``total_low`` / ``total_high`` (5% and 95% of the totals).
    """
    from perfkit.evaluation.scoring import rate

    preset = load_preset(preset)
    settings = preset.sensitivity
    perturbation = settings.perturbation if perturbation is None else perturbation
    draws = settings.draws if draws is None else draws
    rng = np.random.default_rng(settings.seed if seed is None else seed)
    points = table["points"].to_numpy(dtype=float)
    share = np.divide(table["score"].to_numpy(dtype=float), points, out=np.zeros_like(points), where=points > 0)
    factors = rng.uniform(1 - perturbation, 1 + perturbation, size=(draws, len(points)))
    moved = points * factors
    moved *= points.sum() / moved.sum(axis=1, keepdims=True)
    totals = np.clip((moved * share).sum(axis=1), 0, 100)
    base = rate(float(np.clip((points * share).sum(), 0, 100)), preset)
    ratings = pd.Series([rate(float(t), preset) for t in totals]).value_counts(normalize=True)
    return {"rating": base, "p_change": float((ratings.drop(base, errors="ignore")).sum()),
            "ratings": ratings.to_dict(), "total_low": float(np.quantile(totals, 0.05)),
            "total_high": float(np.quantile(totals, 0.95))}
