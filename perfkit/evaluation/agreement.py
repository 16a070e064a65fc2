"""How far a panel agrees: Shrout & Fleiss intraclass correlations, each expert's leniency, the items the
panel disputes, and the panel summary that the key evaluation's annex (专家评分汇总表) prints.

The intraclass correlations follow Shrout, P. E. and Fleiss, J. L. (1979), "Intraclass correlations: uses in
assessing rater reliability", *Psychological Bulletin* 86(2), 420-428, with the confidence intervals of
their Table 1 (ICC(2,·) by Satterthwaite's degrees of freedom), as McGraw and Wong (1996) and pingouin give
them. The items of a project are the targets and its experts the raters.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import fdtrc, fdtri   # F survival function and quantile, without all of scipy.stats

from perfkit.evaluation.panel import aggregate_panel, kendalls_w
from perfkit.rules import PresetLike, load_preset

#: The six forms, in Shrout and Fleiss's order, with what each one measures.
ICC_FORMS = {
    "ICC(1,1)": "one-way random effects, one rater: raters differ per target",
    "ICC(2,1)": "two-way random effects, one rater, absolute agreement",
    "ICC(3,1)": "two-way mixed effects, one rater, consistency",
    "ICC(1,k)": "one-way random effects, mean of k raters",
    "ICC(2,k)": "two-way random effects, mean of k raters, absolute agreement",
    "ICC(3,k)": "two-way mixed effects, mean of k raters, consistency",
}
ICC_COLUMNS = ["icc", "F", "df1", "df2", "p_value", "ci_low", "ci_high"]


def rating_matrix(ratings: pd.DataFrame, targets: str = "item", raters: str = "expert_id",
                  scores: str = "score") -> pd.DataFrame:
    """Targets × raters from long ratings; a rater who did not rate every target is left out (the
    ANOVA needs a complete design), as in :func:`perfkit.evaluation.kendalls_w`."""
    matrix = ratings.groupby([targets, raters], sort=False)[scores].mean().unstack(raters)
    return matrix.dropna(axis=1)


def icc(ratings: pd.DataFrame, *, targets: str = "item", raters: str = "expert_id", scores: str = "score",
        confidence: float = 0.95) -> pd.DataFrame:
    """The six intraclass correlations of Shrout and Fleiss (1979) with F tests and confidence intervals.

    Parameters
    ----------
    ratings : DataFrame
        Long ratings (one row per target and rater, columns ``targets``, ``raters``, ``scores``), or a wide
        matrix of targets (rows) × raters (columns) of numbers.
    confidence : float, default 0.95
        Level of the intervals.

    Returns
    -------
    DataFrame
        Indexed by form (``ICC(1,1)`` … ``ICC(3,k)``): ``icc``, the F statistic of H0: ICC = 0 with ``df1``,
        ``df2`` and ``p_value``, and ``ci_low``/``ci_high``. ``attrs`` hold ``n`` targets and ``k`` raters.
        Fewer than two targets or raters, or targets that do not vary (MSR = 0), give NaN rows: there is
        nothing to correlate.
    """
    wide = ratings if not {targets, raters, scores} <= set(ratings.columns) else rating_matrix(
        ratings, targets, raters, scores)
    x = wide.to_numpy(dtype=float)
    n, k = x.shape
    out = pd.DataFrame(np.nan, index=pd.Index(list(ICC_FORMS), name="form"), columns=ICC_COLUMNS)
    out.attrs.update(n=n, k=k, confidence=confidence)
    if n < 2 or k < 2 or np.isnan(x).any():
        return out
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_total = ((x - grand) ** 2).sum()
    ss_error = ss_total - ss_rows - ss_cols
    msr, msc = ss_rows / (n - 1), ss_cols / (k - 1)
    mse = ss_error / ((n - 1) * (k - 1))
    msw = (ss_cols + ss_error) / (n * (k - 1))
    if not msr > 0:
        return out
    alpha = 1 - confidence
    df_w, df_e = n * (k - 1), (n - 1) * (k - 1)

    def quantile(df1, df2):
        return fdtri(df1, df2, 1 - alpha / 2)

    # one-way: ICC(1,·)
    f1 = msr / msw if msw > 0 else np.inf
    f1_low, f1_high = f1 / quantile(n - 1, df_w), f1 * quantile(df_w, n - 1)
    # two-way: ICC(2,·) and ICC(3,·) share the F of targets over the residual
    f3 = msr / mse if mse > 0 else np.inf
    f3_low, f3_high = f3 / quantile(n - 1, df_e), f3 * quantile(df_e, n - 1)
    icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    a = k * icc2 / (n * (1 - icc2))
    b = 1 + k * icc2 * (n - 1) / (n * (1 - icc2))
    v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / df_e)
    f_star, f_star_rev = quantile(n - 1, v), quantile(v, n - 1)
    low2 = n * (msr - f_star * mse) / (f_star * (k * msc + (k * n - k - n) * mse) + n * msr)
    high2 = n * (f_star_rev * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f_star_rev * msr)

    def single(f):                      # an F bound as a one-rater ICC bound
        return (f - 1) / (f + k - 1)

    def average(f):                     # an F bound as a k-rater ICC bound
        return 1 - 1 / f

    p1, p3 = float(fdtrc(n - 1, df_w, f1)), float(fdtrc(n - 1, df_e, f3))
    out.loc["ICC(1,1)"] = [(msr - msw) / (msr + (k - 1) * msw), f1, n - 1, df_w, p1, single(f1_low), single(f1_high)]
    out.loc["ICC(2,1)"] = [icc2, f3, n - 1, df_e, p3, low2, high2]
    out.loc["ICC(3,1)"] = [(msr - mse) / (msr + (k - 1) * mse), f3, n - 1, df_e, p3, single(f3_low), single(f3_high)]
    out.loc["ICC(1,k)"] = [(msr - msw) / msr, f1, n - 1, df_w, p1, average(f1_low), average(f1_high)]
    out.loc["ICC(2,k)"] = [(msr - mse) / (msr + (msc - mse) / n), f3, n - 1, df_e, p3,
                           low2 * k / (1 + low2 * (k - 1)), high2 * k / (1 + high2 * (k - 1))]
    out.loc["ICC(3,k)"] = [(msr - mse) / msr, f3, n - 1, df_e, p3, average(f3_low), average(f3_high)]
    return out


def leniency(scores: pd.DataFrame, points: dict[str, float]) -> pd.DataFrame:
    """Each expert's mean deviation from the other experts of the panel, item by item.

    ``deviation`` is in percentage points of the items' points (the scale of ``expert_scores``),
    ``points`` in the items' own points (what the expert adds to or takes from a project's score on
    average per item); positive: more lenient than the others. Items scored by one expert only are left
    out (there are no others to compare with).
    """
    matrix = scores.groupby(["item", "expert_id"], sort=False)["score"].mean().unstack("expert_id")
    rows = {}
    counts = matrix.notna().sum(axis=1)
    sums = matrix.sum(axis=1)
    for expert in matrix.columns:
        mine = matrix[expert]
        scored = mine.notna() & (counts > 1)
        others = (sums[scored] - mine[scored]) / (counts[scored] - 1)
        gap = mine[scored] - others
        weight = pd.Series([points.get(item, np.nan) for item in gap.index], index=gap.index) / 100
        rows[expert] = {"items": int(scored.sum()), "deviation": float(gap.mean()) if scored.any() else np.nan,
                        "points": float((gap * weight).mean()) if scored.any() else np.nan}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["items", "deviation", "points"]).rename_axis(
        "expert_id")


@dataclass
class PanelSummary:
    """A project's expert panel: the items' aggregates, the agreement and the experts' leniency.

    Attributes
    ----------
    items : DataFrame
        :func:`perfkit.evaluation.aggregate_panel` per item plus ``points`` (the item's points), the standard
        deviation ``sd`` and ``disputed`` (among the preset's ``expert_panel.disputed_items`` largest spreads
        and flagged by the spread threshold).
    icc : DataFrame
        :func:`icc` of the panel (items × experts).
    kendall : dict
        :func:`perfkit.evaluation.kendalls_w`.
    experts : DataFrame
        :func:`leniency` with ``outlier``: the preset's rule (``expert_panel.outlier_deviation``) says the
        expert's scores stand apart. An outlier is flagged, never dropped: the aggregate drops only what the
        preset's trimming drops.
    scores : DataFrame
        Items × experts in the items' points (what each expert gave).
    """

    items: pd.DataFrame
    icc: pd.DataFrame
    kendall: dict
    experts: pd.DataFrame
    scores: pd.DataFrame
    preset: object = field(repr=False, default=None)

    @property
    def outliers(self) -> list[str]:
        """The experts the preset's rule flags."""
        return self.experts.index[self.experts["outlier"]].tolist()


def panel_summary(scores: pd.DataFrame, preset: PresetLike = "default", category: str | None = None) -> PanelSummary:
    """The :class:`PanelSummary` of one project's expert scores (columns item, expert_id, score in % of the
    item's points), by the preset's tree of a project of ``category`` (its new field's framework, else the
    regular tree) and its ``expert_panel`` rules."""
    preset = load_preset(preset)
    rules = preset.expert_panel
    tree = preset.items(category)
    points = {item["item"]: float(item["points"]) for item in tree}
    order = [item["item"] for item in tree if item["item"] in set(scores["item"])]
    order += [item for item in dict.fromkeys(scores["item"]) if item not in order]
    items = aggregate_panel(scores, preset).reindex(order)
    items.insert(0, "points", [points.get(item, np.nan) for item in items.index])
    items["sd"] = scores.groupby("item")["score"].std(ddof=1).reindex(items.index)
    widest = items["spread"].nlargest(rules.disputed_items).index
    items["disputed"] = items.index.isin(widest) & items["flagged"]
    experts = leniency(scores, points)
    experts["outlier"] = experts["deviation"].abs() > rules.outlier_deviation
    wide = scores.groupby(["item", "expert_id"])["score"].mean().unstack("expert_id").reindex(order)
    in_points = wide.mul(pd.Series([points.get(item, np.nan) for item in wide.index], index=wide.index) / 100, axis=0)
    return PanelSummary(items=items, icc=icc(scores), kendall=kendalls_w(scores) if len(scores) else {},
                        experts=experts, scores=in_points, preset=preset)


__all__ = ["ICC_FORMS", "PanelSummary", "icc", "leniency", "panel_summary", "rating_matrix"]
