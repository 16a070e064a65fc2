"""Unit-cost statistics for quota standards: screening, the two-stage average and friends."""
from __future__ import annotations

import numpy as np
from scipy import stats

METHODS = ("mean", "median", "trimmed_mean", "percentile", "two_stage")
SCREENS = (None, "iqr", "robust_z")


def screen_mask(values, screen: str | None = "iqr", k: float | None = None) -> np.ndarray:
    """True for the values kept after outlier screening.

    Parameters
    ----------
    values : array_like
        One sample, or several along the last axis (each row screened on its own, as the bootstrap
        needs).
    screen : {None, "iqr", "robust_z"}
        ``"iqr"`` keeps values within [Q1 − k·IQR, Q3 + k·IQR] (k = 1.5 by
        default); ``"robust_z"`` keeps |x − median| / (1.4826·MAD) ≤ k
        (k = 3.5 by default, Iglewicz and Hoaglin). ``None`` keeps all finite values.
    """
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    if screen is None:
        return finite
    # NaN for the non-finite values, which the nan-functions leave out exactly as values[finite] would (they
    # are slower: they run row by row, so a sample with every value finite takes the plain functions)
    everything = finite.all()
    clean = values if everything else np.where(finite, values, np.nan)
    if screen == "iqr":
        q1, q3 = (np.percentile if everything else np.nanpercentile)(clean, [25, 75], axis=-1, keepdims=True)
        k = 1.5 if k is None else k
        return finite & (values >= q1 - k * (q3 - q1)) & (values <= q3 + k * (q3 - q1))
    if screen == "robust_z":
        mad = stats.median_abs_deviation(clean, axis=-1, scale="normal",
                                         nan_policy="propagate" if everything else "omit")[..., None]
        k = 3.5 if k is None else k
        with np.errstate(divide="ignore", invalid="ignore"):
            median = (np.median if everything else np.nanmedian)(clean, axis=-1, keepdims=True)
            within = np.abs(values - median) / mad <= k
        return finite & (within | (mad == 0))
    raise ValueError(f"screen must be one of {SCREENS}, not {screen!r}")


def two_stage_average(values) -> float:
    """二次平均法: x̄, then the mean x̄ₐ of the values ≤ x̄; the standard is (x̄ + x̄ₐ)/2.

    For costs the "better" values are the lower ones, so the standard is set
    "advanced and reasonable" (先进合理): below the average, reachable by most.
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("the two-stage average needs finite values")
    mean = values.mean()
    # a value equal to the mean is "at or below" it, whatever the last bit of the float sum says
    at_or_below = (values <= mean) | np.isclose(values, mean, rtol=1e-12, atol=0.0)
    return float((mean + values[at_or_below].mean()) / 2)


def unit_cost_standard(values, method: str = "two_stage", q: float | None = None,
                       screen: str | None = None, trim: float = 0.1) -> float:
    """A quota standard from unit costs.

    Parameters
    ----------
    values : array_like
        Unit costs (cost per unit of output), ideally price-indexed to one year.
    method : {"mean", "median", "trimmed_mean", "percentile", "two_stage"}
    q : float, optional
        For ``"percentile"``: the quantile in (0, 1), e.g. 0.4 for an
        "advanced" standard below the median.
    screen : {None, "iqr", "robust_z"}
        Outlier screening applied first (see :func:`screen_mask`).
    trim : float, default 0.1
        For ``"trimmed_mean"``: the share cut from each end.

    Returns
    -------
    float
    """
    values = np.asarray(values, dtype=float)
    return _standard_of(values[screen_mask(values, screen)], method, q, trim)


def _standard_of(kept: np.ndarray, method: str, q: float | None, trim: float) -> float:
    """The statistic of :func:`unit_cost_standard` on values already screened."""
    if kept.size == 0:
        raise ValueError("no values left to compute a standard from")
    if method == "mean":
        return float(kept.mean())
    if method == "median":
        return float(np.median(kept))
    if method == "trimmed_mean":
        return float(stats.trim_mean(kept, trim))
    if method == "percentile":
        if q is None or not 0 < q < 1:
            raise ValueError("method='percentile' needs q in (0, 1), e.g. q=0.4")
        return float(np.quantile(kept, q))
    if method == "two_stage":
        return two_stage_average(kept)
    raise ValueError(f"method must be one of {METHODS}, not {method!r}")


def bootstrap_interval(values, method: str = "two_stage", q: float | None = None, screen: str | None = None,
                       level: float = 0.95, n_resamples: int = 2000, seed: int = 0,
                       trim: float = 0.1) -> tuple[float, float]:
    """Bootstrap confidence interval of :func:`unit_cost_standard` (scipy's BCa bootstrap).

    Screening is repeated inside each resample, as it would be on new data.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]

    def statistic(samples, axis=-1):
        # scipy hands over every resample at once: the screening runs on all of them in one call, and
        # only the statistic of each screened resample is left to a loop
        samples = np.moveaxis(np.asarray(samples, dtype=float), axis, -1)
        kept = screen_mask(samples, screen)
        rows = samples.reshape(-1, samples.shape[-1])
        standards = [_standard_of(row[mask], method, q, trim)
                     for row, mask in zip(rows, kept.reshape(rows.shape))]
        return np.reshape(standards, samples.shape[:-1])

    result = stats.bootstrap((values,), statistic, vectorized=True, n_resamples=n_resamples,
                             confidence_level=level, method="BCa", random_state=np.random.default_rng(seed))
    low, high = result.confidence_interval
    if not (np.isfinite(low) and np.isfinite(high)):  # BCa degenerates on ties; fall back to percentiles
        result = stats.bootstrap((values,), statistic, vectorized=True, n_resamples=n_resamples,
                                 confidence_level=level, method="percentile",
                                 random_state=np.random.default_rng(seed))
        low, high = result.confidence_interval
    return float(low), float(high)
