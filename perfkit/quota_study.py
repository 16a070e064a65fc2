"""The quota standards job: one direction's cost data, every method compared, the standard chosen."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from perfkit import quota
from perfkit.quota.standards import METHOD_LABELS
from perfkit.store import Store

#: The methods compared, with the options that make each an "advanced and reasonable" standard.
COMPARED = {"mean": {}, "median": {}, "two_stage": {}, "percentile": {"q": 0.4}, "ols": {}, "rlm": {},
            "quantile": {"tau": 0.4}, "frontier": {}}
_TEXT = {
    "zh": {
        "title": "成本定额标准测算：{name}（{direction}）",
        "explain": (
            "**方法说明。** 定额标准回答“生产一个单位产出应当花多少钱”。我们先把各年度成本按价格指数折算到 {base} 年价格，"
            "剔除单位成本的异常值；再把区域、等级等合理差异估计为**调整系数**（参照水平为 1），使不同条件的单位放在同一尺度上比较。"
            "在此基础上比较多种测算方法：算术平均、中位数、二次平均法（先求平均数，再求不高于平均数的数值的平均，取两者之中值）、"
            "40% 分位数、成本函数回归，以及**随机成本前沿**。随机前沿把成本高于前沿的部分分解为随机误差和低效率，"
            "其前沿即“先进合理”的有效成本。交叉验证误差衡量标准对新数据的预测准确度；超标准比例是实际成本高于标准的记录占比，"
            "反映标准的先进程度；年度稳定性是逐年测算定额的变异系数。"),
        "screening": ["记录数", "剔除异常值", "参与测算", "年度范围", "基期年度"],
        "comparison": {"method": "方法", "basic_quota": "基本定额（元/单位）", "ci": "95%置信区间", "mape": "交叉验证误差",
                       "share_above": "超标准比例", "stability": "年度稳定性（变异系数）", "truth_error": "与真值误差"},
        "drivers": "单位成本与产出规模", "efficiency": "成本效率分布（Battese-Coelli）", "quantity": "产出量",
        "unit_cost": "单位成本（元，基期价格）", "count": "记录数", "mean": "均值",
    },
    "en": {
        "title": "Quota standard: {name} ({direction})",
        "explain": (
            "**How the standard is set.** A quota standard says what one unit of output should cost. Costs are "
            "first price-indexed to {base}, and outlying unit costs screened out. Legitimate variation (region, "
            "grade) becomes **adjustment coefficients** (1 at the reference level), so that units working in "
            "different conditions are compared on one scale. The methods compared are the mean, the median, the "
            "two-stage average (the mean of the values at or below the mean, averaged with the mean), the 40th "
            "percentile, cost-function regressions and the **stochastic cost frontier**, which splits the excess "
            "of cost over the frontier into noise and inefficiency: its frontier is the efficient cost. The "
            "cross-validated error says how well a standard predicts new records; the share above is how many "
            "records cost more than the standard; year stability is the variation of the quota set year by year."),
        "screening": ["records", "screened out", "used", "years", "base year"],
        "comparison": {"method": "Method", "basic_quota": "Basic quota (yuan/unit)", "ci": "95% CI", "mape": "CV error",
                       "share_above": "Share above", "stability": "Year stability (CV)",
                       "truth_error": "Error vs truth"},
        "drivers": "Unit cost and scale", "efficiency": "Cost efficiency (Battese-Coelli)", "quantity": "Quantity",
        "unit_cost": "Unit cost (yuan, base-year prices)", "count": "Records", "mean": "mean",
    },
}


@dataclass
class QuotaStudy:
    """One direction's quota study; build it with :func:`quota_study`."""

    direction: str
    name: str
    output_unit: str
    method: str
    base_year: int
    records: pd.DataFrame
    cost: pd.Series
    model: quota.CostModel
    standards: quota.StandardsTable
    truth: pd.DataFrame | None
    lang: str = "zh"

    @property
    def text(self) -> dict:
        return _TEXT[self.lang]

    def heading(self, level: int = 1):
        from IPython.display import Markdown

        return Markdown("#" * level + " " + self.text["title"].format(name=self.name, direction=self.direction))

    def explanation(self):
        from IPython.display import Markdown

        return Markdown(self.text["explain"].format(base=self.base_year))

    def screening_table(self) -> pd.DataFrame:
        years = f"{self.records['year'].min()}–{self.records['year'].max()}"
        values = [len(self.records), self.model.n_screened_out, self.model.n, years, self.base_year]
        return pd.DataFrame({"": values}, index=self.text["screening"])

    def comparison(self) -> pd.DataFrame:
        """Every method side by side: quota, cross-validated error, share above, year stability, truth error.

        Indexed by method code; the demo city's stores add the error against the true efficient unit cost.
        """
        rows = []
        for method, options in COMPARED.items():
            model = quota.fit_cost_model(self.records, method, cost=self.cost, **options)
            checked = quota.cross_validate(self.records, method, cost=self.cost, **options)
            row = {"method": METHOD_LABELS[method] if self.lang == "zh" else method, "key": method,
                   "basic_quota": model.basic_quota, "mape": checked["mape"],
                   "share_above": checked["share_above"],
                   "stability": quota.year_stability(self.records, method, cost=self.cost, **options)}
            if method in quota.models.STATISTIC_METHODS:
                # 95% bootstrap interval of the statistic on coefficient-normalised unit costs
                normalised = (self.cost / self.records["quantity"]
                              / model.coefficient_product(self.records[list(model.coefficients)], len(self.records)))
                row["ci_low"], row["ci_high"] = quota.bootstrap_interval(
                    normalised.to_numpy(), method, q=options.get("q"), screen="iqr", n_resamples=1000)
            if self.truth is not None:
                row["truth_error"] = quota.error_against_truth(model, self.records, self.truth)
            rows.append(row)
        return pd.DataFrame(rows).set_index("key")

    def comparison_table(self) -> pd.DataFrame:
        """:meth:`comparison` formatted for reading: money with separators, ratios in percent."""
        frame = self.comparison()
        frame["basic_quota"] = frame["basic_quota"].map("{:,.2f}".format)
        frame["ci"] = [("—" if pd.isna(low) else f"{low:,.0f} – {high:,.0f}")
                       for low, high in zip(frame.pop("ci_low"), frame.pop("ci_high"))]
        for column in ("mape", "share_above", "stability", "truth_error"):
            if column in frame:
                frame[column] = frame[column].map(lambda v: "—" if pd.isna(v) else f"{v:.1%}")
        order = [c for c in ("method", "basic_quota", "ci", "mape", "share_above", "stability", "truth_error")
                 if c in frame]
        return frame[order].rename(columns=self.text["comparison"]).set_index(self.text["comparison"]["method"])

    def plot_drivers(self):
        """Log unit cost against log quantity, one colour per region."""
        import matplotlib.pyplot as plt
        from perfkit.plotting import use_cjk_font

        use_cjk_font()
        fig, ax = plt.subplots(figsize=(8, 4.5))
        unit = self.cost / self.records["quantity"]
        for region, group in self.records.groupby("region"):
            ax.scatter(group["quantity"], unit.loc[group.index], s=12, alpha=0.6, label=region)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"{self.text['quantity']}（{self.output_unit}）")
        ax.set_ylabel(self.text["unit_cost"])
        ax.set_title(self.text["drivers"])
        ax.legend()
        fig.tight_layout()
        return fig

    def plot_efficiency(self):
        """Histogram of record efficiencies under the stochastic cost frontier."""
        import matplotlib.pyplot as plt
        from perfkit.plotting import use_cjk_font

        use_cjk_font()
        frontier = (self.model if self.model.method == "frontier"
                    else quota.fit_cost_model(self.records, "frontier", cost=self.cost))
        efficiency = frontier.detail.efficiency()
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.hist(efficiency, bins=30, color="#4c72b0")
        ax.axvline(efficiency.mean(), color="#c44e52", linestyle="--")
        ax.set_xlabel(self.text["efficiency"])
        ax.set_ylabel(self.text["count"])
        ax.set_title(f"{self.text['efficiency']}：{self.text['mean']} {efficiency.mean():.3f}")
        fig.tight_layout()
        return fig


def quota_study(store: Store, direction: str, method: str = "frontier", base_year: int | None = None,
                lang: str = "zh", **options) -> QuotaStudy:
    """Gather a direction's cost records from the store and fit its standard with ``method``."""
    records = store.query("SELECT * FROM cost_records WHERE direction = ? ORDER BY record_id", [direction])
    if records.empty:
        raise KeyError(f"no cost records for direction {direction!r} in {store.path}")
    info = store.query("SELECT name, output_unit FROM directions WHERE direction_id = ?", [direction]).iloc[0]
    price_index = store.table("price_index") if "price_index" in store.tables() else None
    base_year = int(base_year or records["year"].max())
    cost = quota.deflate(records, price_index, base_year)
    options = {**COMPARED.get(method, {}), **options}
    model = quota.fit_cost_model(records, method, cost=cost, **options)
    standards = quota.build_standards(records, direction, method=method, base_year=base_year,
                                      price_index=price_index, directions=store.table("directions"), **options)
    truth = None
    if "cost_truth" in store.tables():
        truth = store.query("SELECT * FROM cost_truth WHERE direction = ?", [direction])
        truth = truth if len(truth) else None
    return QuotaStudy(direction=direction, name=info["name"], output_unit=info["output_unit"], method=method,
                      base_year=base_year, records=records, cost=cost, model=model, standards=standards,
                      truth=truth, lang=lang)


def build_all_standards(store: Store, method: str = "frontier", base_year: int | None = None) -> quota.StandardsTable:
    """Standards of every direction with cost records in the store."""
    records = store.table("cost_records")
    price_index = store.table("price_index") if "price_index" in store.tables() else None
    return quota.build_standards(records, method=method, base_year=base_year, price_index=price_index,
                                 directions=store.table("directions"), **COMPARED.get(method, {}))


__all__ = ["COMPARED", "QuotaStudy", "build_all_standards", "quota_study"]
