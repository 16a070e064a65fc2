"""Expert panels: aggregated scores, spread flags and Kendall's W of agreement."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import chdtrc  # the χ² survival function, without importing all of scipy.stats

from perfkit.rules import load_preset


def aggregate_panel(scores: pd.DataFrame, preset="default", trim_min_experts: int | None = None,
                    spread_threshold: float | None = None) -> pd.DataFrame:
    """Aggregate expert scores per item.

    Parameters
    ----------
    scores : DataFrame
        Columns ``item``, ``expert_id``, ``score`` (percent of the item's points).
    trim_min_experts, spread_threshold : optional
        Override the preset's ``expert_panel`` values.

    Returns
    -------
    DataFrame
        Indexed by item: ``n_experts``, ``mean``, ``score`` (the aggregate: the mean
        after dropping the highest and lowest when there are ``trim_min_experts`` or
        more, else the mean), ``min``, ``max``, ``spread`` and ``flagged`` (spread above
        the threshold).
    """
    panel = load_preset(preset).expert_panel
    trim_min = panel.trim_min_experts if trim_min_experts is None else trim_min_experts
    threshold = panel.spread_threshold if spread_threshold is None else spread_threshold

    rows = {}
    for item, values in scores.groupby("item", sort=False)["score"]:
        v = np.sort(values.to_numpy(dtype=float))
        kept = v[1:-1] if len(v) >= trim_min else v
        rows[item] = {"n_experts": len(v), "mean": v.mean(), "score": kept.mean(), "min": v[0], "max": v[-1],
                      "spread": v[-1] - v[0]}
    out = pd.DataFrame.from_dict(rows, orient="index",
                                 columns=["n_experts", "mean", "score", "min", "max", "spread"]).rename_axis("item")
    out["n_experts"] = out["n_experts"].astype(int)
    out["flagged"] = out["spread"] > threshold
    return out


def kendalls_w(scores: pd.DataFrame) -> dict[str, float]:
    """Kendall's coefficient of concordance W of a panel (items ranked by each expert).

    Ties get mid-ranks and the standard tie correction. Returns ``w`` in [0, 1],
    the χ² statistic m(n − 1)W, its degrees of freedom n − 1 and p-value,
    ``m`` experts and ``n`` items (experts who did not score every item are left out).
    """
    # groupby and unstack: what pivot_table does, at half its overhead (every key evaluation computes this)
    matrix = scores.groupby(["item", "expert_id"])["score"].mean().unstack("expert_id").dropna(axis=1)
    n, m = matrix.shape
    if n < 2 or m < 2:
        return {"w": float("nan"), "chi2": float("nan"), "df": max(n - 1, 0), "p_value": float("nan"), "m": m, "n": n}
    ranks = matrix.rank(axis=0).to_numpy()            # each expert ranks the items
    rank_sums = ranks.sum(axis=1)
    s = float(((rank_sums - rank_sums.mean()) ** 2).sum())
    ties = 0.0
    for column in matrix.columns:
        _, counts = np.unique(matrix[column].to_numpy(), return_counts=True)
        ties += float((counts**3 - counts).sum())
    denominator = m**2 * (n**3 - n) - m * ties
    w = 12 * s / denominator if denominator > 0 else float("nan")
    chi2 = m * (n - 1) * w
    return {"w": w, "chi2": chi2, "df": n - 1, "p_value": float(chdtrc(n - 1, chi2)), "m": m, "n": n}
