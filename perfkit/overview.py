"""The project overview job: a project's budget, execution curve and targets against actuals."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from perfkit.labels import column_label, term, value_label
from perfkit.monitoring import expected_rate_profile
from perfkit.store import Store


@dataclass
class ProjectOverview:
    """Everything the overview report shows of one project.

    Build it with :func:`project_overview`; its methods give display tables
    and charts in the chosen language.
    """

    project: pd.Series
    initial_budget: float
    budget: float
    execution: pd.DataFrame
    targets: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    lang: str = "zh"
    # the city's median execution rate and this project's time progress, by month
    profile_median: np.ndarray = field(default_factory=lambda: np.full(12, np.nan))
    time_progress: np.ndarray = field(default_factory=lambda: np.full(12, np.nan))

    @property
    def spent(self) -> float:
        """Spending to the last month reported (0 when nothing is reported)."""
        return float(self.execution["spent_cumulative"].iloc[-1]) if len(self.execution) else 0.0

    @property
    def execution_rate(self) -> float:
        """Spent / budget in force; NaN when the budget is 0."""
        return self.spent / self.budget if self.budget > 0 else float("nan")

    def title(self) -> str:
        return f"{self.project['name']}（{self.project['project_id']}）"

    def heading(self, key: str | None = None, level: int = 2):
        """A Markdown heading: the report title when ``key`` is None, else the term ``key`` in ``lang``."""
        from IPython.display import Markdown

        text = f"{term('project_overview', self.lang)}：{self.title()}" if key is None else term(key, self.lang)
        return Markdown(f"{'#' * level} {text}")

    def notes_markdown(self):
        """The data-quality notes as a Markdown list (a reassuring line when there are none)."""
        from IPython.display import Markdown

        if not self.notes:
            return Markdown("未发现数据质量问题。" if self.lang == "zh" else "No data quality issues found.")
        return Markdown("\n".join(f"- {note}" for note in self.notes))

    def summary(self) -> pd.DataFrame:
        """Two-column table of the project's facts and money, labelled in ``lang``."""
        lang, p = self.lang, self.project
        rows = [
            (column_label("projects", "project_id", lang), p["project_id"]),
            (column_label("projects", "name", lang), p["name"]),
            (column_label("units", "name", lang), p["unit_name"]),
            (column_label("projects", "year", lang), int(p["year"])),
            (column_label("projects", "budget_type", lang), value_label("budget_type", p["budget_type"], lang)),
            (column_label("projects", "category", lang), value_label("category", p["category"], lang)),
            (column_label("directions", "name", lang), f"{p['direction_name']}（{p['direction']}）"),
            (column_label("budgets", "amount", lang) + " (万元)", _wan(self.initial_budget)),
            (column_label("budgets", "adjusted_amount", lang) + " (万元)", _wan(self.budget)),
            (term("spent", lang) + " (万元)", _wan(self.spent)),
            (term("execution_rate", lang), _pct(self.execution_rate)),
        ]
        headers = ("项目", "内容") if lang == "zh" else ("Item", "Value")
        return pd.DataFrame(rows, columns=headers).set_index(headers[0])

    def targets_table(self) -> pd.DataFrame:
        """Targets against actuals with the completion of each indicator, labelled in ``lang``."""
        lang, t = self.lang, self.targets
        out = pd.DataFrame({
            column_label("indicators", "level1", lang): t["level1"],
            column_label("indicators", "level2", lang): t["level2"],
            column_label("indicators", "name", lang): t["name"],
            column_label("indicators", "measure_unit", lang): t["measure_unit"].fillna(""),
            column_label("indicators", "polarity", lang): t["polarity"].map(lambda v: value_label("polarity", v, lang)),
            term("target", lang): [_value(v, txt) for v, txt in zip(t["target_value"], t["target_text"])],
            term("actual", lang): [_value(v, value_label("grade", g, lang) if isinstance(g, str) else None)
                                   for v, g in zip(t["actual_value"], t["grade"])],
            term("completion", lang): t["completion"].map(_pct),
        })
        return out.reset_index(drop=True)

    def plot_execution(self):
        """Cumulative execution rate by month against time progress and the city's typical path."""
        import matplotlib.pyplot as plt
        from perfkit.plotting import use_cjk_font

        use_cjk_font()
        lang, e = self.lang, self.execution
        fig, ax = plt.subplots(figsize=(8, 4))
        months = np.arange(1, 13)
        ax.plot(months, self.profile_median * 100, color="#999999", linestyle="--", label=term("city_profile", lang))
        ax.plot(months, self.time_progress * 100, color="#4c72b0", linestyle=":", label=term("time_progress", lang))
        if len(e):
            ax.plot(e["month"].dt.month, e["execution_rate"] * 100, marker="o", color="#c44e52",
                    label=term("execution_rate", lang))
        ax.set_xticks(months)
        ax.set_xlabel(term("month", lang))
        ax.set_ylabel("%")
        ax.set_ylim(0, max(105, float(e["execution_rate"].max() * 100 + 5) if len(e) else 105))
        ax.set_title(f"{term('execution_curve', lang)}：{self.project['name']}")
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig

    def plot_targets(self):
        """Completion of each quantitative target (100% = target reached)."""
        import matplotlib.pyplot as plt
        from perfkit.plotting import use_cjk_font

        use_cjk_font()
        lang = self.lang
        t = self.targets.dropna(subset=["completion"])
        fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(t), 2) + 1))
        colors = ["#55a868" if c >= 1 else "#dd8452" if c >= 0.8 else "#c44e52" for c in t["completion"]]
        ax.barh(t["name"], t["completion"] * 100, color=colors)
        ax.axvline(100, color="#333333", linewidth=1)
        ax.invert_yaxis()
        ax.set_xlabel(f"{term('completion', lang)} (%)")
        ax.set_title(f"{term('targets_vs_actuals', lang)}：{self.project['name']}")
        fig.tight_layout()
        return fig



def project_overview(store: Store, project_id: str, lang: str = "zh") -> ProjectOverview:
    """Gather one project's overview from the store.

    Raises
    ------
    KeyError
        When ``project_id`` is not in the store.
    """
    project = store.query("""
        SELECT p.*, u.name AS unit_name, d.name AS direction_name
        FROM projects p JOIN units u USING (unit_id) JOIN directions d ON d.direction_id = p.direction
        WHERE p.project_id = ?""", [project_id])
    if project.empty:
        raise KeyError(f"project {project_id!r} is not in the store {store.path}")
    project = project.iloc[0]
    money = store.query("SELECT amount, adjusted_amount FROM budgets WHERE project_id = ?", [project_id])
    initial = float(money["amount"].iloc[0]) if len(money) else float("nan")
    adjusted = money["adjusted_amount"].iloc[0] if len(money) else float("nan")
    budget = initial if pd.isna(adjusted) else float(adjusted)
    execution = store.query("SELECT month, spent_cumulative FROM execution WHERE project_id = ? ORDER BY month",
                            [project_id])
    execution["month"] = pd.to_datetime(execution["month"])
    execution["execution_rate"] = execution["spent_cumulative"] / budget if budget > 0 else np.nan
    try:  # the city's path in the years before the project's, as monitoring judges it...
        profile = expected_rate_profile(store, before_year=int(project["year"])).to_numpy()
    except ValueError:  # ...or in every closed year when the project's year is the first
        profile = expected_rate_profile(store).to_numpy()
    month_ends = pd.date_range(f"{int(project['year'])}-01-01", periods=12, freq="ME")
    start, end = pd.Timestamp(project["start_date"]), pd.Timestamp(project["end_date"])
    period_days = (end - start).days + 1
    time_progress = np.clip(((month_ends - start).days + 1) / period_days, 0, 1)
    targets = store.query("""
        SELECT i.level1, i.level2, i.name, i.measure_unit, i.polarity, i.value_type,
               t.indicator_id, t.target_value, t.target_text, a.actual_value, a.grade
        FROM targets t JOIN indicators i USING (indicator_id)
        LEFT JOIN actuals a ON a.project_id = t.project_id AND a.indicator_id = t.indicator_id
        WHERE t.project_id = ? ORDER BY t.indicator_id""", [project_id])
    targets["completion"] = [completion(p, tv, av) for p, tv, av in
                             zip(targets["polarity"], targets["target_value"], targets["actual_value"])]
    view = ProjectOverview(project=project, initial_budget=initial, budget=budget, execution=execution,
                           targets=targets, lang=lang, profile_median=profile, time_progress=time_progress)
    view.notes = data_quality_notes(view, lang)
    return view


def completion(polarity: str, target: float, actual: float) -> float:
    """How far an actual reaches its target (1.0 = reached), by the indicator's polarity.

    positive: actual / target; reverse: target / actual; equal: 1 − |actual − target| / target.
    NaN when either value is missing or the ratio is undefined (target or actual 0).
    """
    if pd.isna(target) or pd.isna(actual):
        return float("nan")
    if polarity == "reverse":
        return target / actual if actual > 0 else (1.0 if target >= 0 else float("nan"))
    if target == 0:
        return float("nan")
    if polarity == "equal":
        return max(0.0, 1 - abs(actual - target) / abs(target))
    return actual / target


def data_quality_notes(view: ProjectOverview, lang: str = "zh") -> list[str]:
    """Plain-language notes on gaps and inconsistencies in the project's records."""
    zh = lang == "zh"
    notes = []
    e = view.execution
    if e.empty:
        notes.append("无预算执行记录。" if zh else "No budget execution records.")
    else:
        months = e["month"].dt.month.to_numpy()
        missing = sorted(set(range(1, months.max() + 1)) - set(months))
        if missing:
            notes.append(("缺少月份：" if zh else "Missing months: ") + ", ".join(map(str, missing)))
        falls = e.loc[e["spent_cumulative"].diff() < 0, "month"].dt.month.tolist()
        if falls:
            notes.append(("累计支出下降（冲销或数据错误）的月份：" if zh else "Cumulative spending falls in month(s): ")
                         + ", ".join(map(str, falls)))
        if view.budget > 0 and view.spent > view.budget * 1.0001:
            notes.append("累计支出超过预算。" if zh else "Spending exceeds the budget.")
    if view.targets.empty:
        notes.append("未设置绩效目标。" if zh else "No performance targets.")
    else:
        quantitative = view.targets["value_type"] == "quantitative"
        unreported = view.targets.loc[quantitative & view.targets["actual_value"].isna(), "name"].tolist()
        if unreported:
            notes.append(("未报告实际完成值的指标：" if zh else "Indicators without an actual: ") + "、".join(unreported))
    return notes


def _wan(amount: float) -> str:
    return "—" if pd.isna(amount) else f"{amount / 1e4:,.2f}"


def _pct(ratio: float) -> str:
    return "—" if pd.isna(ratio) else f"{ratio * 100:.1f}%"


def _value(number, text) -> str:
    if text is not None and not (isinstance(text, float) and np.isnan(text)) and text is not pd.NA:
        return str(text)
    return "—" if pd.isna(number) else f"{number:,.2f}".rstrip("0").rstrip(".")
