"""The project overview job: a project's budget, execution curve and targets against actuals."""
from __future__ import annotations

from dataclasses import dataclass, field

from typing import TYPE_CHECKING

from perfkit._lazy import lazy_module
from perfkit.reports.display import figure, markdown, markdown_text, md_escape, pct, plain, prose, record, wan
from perfkit.reports.registry import UNIT_FILTERS, Batch, Job, register
from perfkit.text import Message, column_label, note, render, term, text, value_label

if TYPE_CHECKING:
    from perfkit.store import Store

np = lazy_module("numpy")
pd = lazy_module("pandas")   # the job is declared (and its --help answers) without pandas
queries = lazy_module("perfkit.queries")

JOB = register(Job(name="project-overview", notebook="project_overview.ipynb", subject=("project_id",),
                   warm=("perfkit.queries", "perfkit.monitoring", "perfkit.evaluation"),
                   paths=(), aliases={"project_id": "--project"}, lookups={"project_id": ("projects", "project_id")},
                   summary="one project's budget, execution curve and targets against actuals",
                   view="project_overview", order=10,
                   batch=Batch(sql=f"""SELECT f.project_id AS subject FROM project_facts f JOIN units u USING (unit_id)
                                       WHERE ($year::INTEGER IS NULL OR f.year = $year) AND {UNIT_FILTERS} {{where}}""",
                               filters=("year", "field", "unit_level"), parameter="project_id",
                               aliases="f: project facts, u: units")))


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
    notes: list[Message] = field(default_factory=list)
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
        if key is None:
            return markdown_text("project_overview.title", self.lang, level=level, name=self.project["name"],
                                 project_id=self.project["project_id"])
        return markdown(f"{'#' * level} {text(f'project_overview.sections.{key}', self.lang)}")

    def notes_markdown(self):
        """The data-quality notes as a Markdown list (a reassuring line when there are none)."""
        if not self.notes:
            return markdown(prose("notes.dq_none", self.lang))
        return markdown("\n".join(f"- {md_escape(render(n, self.lang))}" for n in self.notes))

    def record(self):
        """The result for the index: the execution rate to date."""
        return record(job=JOB.name, lang=self.lang, score=None if pd.isna(self.execution_rate) else self.execution_rate * 100, status="final")

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
            (column_label("directions", "name", lang),
             text("project_overview.direction", lang, name=p["direction_name"], code=p["direction"])),
            (column_label("budgets", "amount", lang) + text("units.wan_suffix", lang), wan(self.initial_budget)),
            (column_label("budgets", "adjusted_amount", lang) + text("units.wan_suffix", lang), wan(self.budget)),
            (term("spent", lang) + text("units.wan_suffix", lang), wan(self.spent)),
            (term("execution_rate", lang), pct(self.execution_rate)),
        ]
        headers = (text("project_overview.item", lang), text("project_overview.value", lang))
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
            term("completion", lang): t["completion"].map(pct),
        })
        return out.reset_index(drop=True)

    def plot_execution(self):
        """Cumulative execution rate by month against time progress and the city's typical path."""
        lang, e = self.lang, self.execution
        fig, ax = figure(figsize=(8, 4))
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
        ax.set_title(plain(f"{term('execution_curve', lang)}{text('common.colon', lang)}{self.project['name']}"))
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
        return fig

    def plot_targets(self):
        """Completion of each quantitative target (100% = target reached)."""
        lang = self.lang
        t = self.targets.dropna(subset=["completion"])
        fig, ax = figure(figsize=(8, 0.45 * max(len(t), 2) + 1))
        colors = ["#55a868" if c >= 1 else "#dd8452" if c >= 0.8 else "#c44e52" for c in t["completion"]]
        ax.barh([plain(n) for n in t["name"]], t["completion"] * 100, color=colors)
        ax.axvline(100, color="#333333", linewidth=1)
        ax.invert_yaxis()
        ax.set_xlabel(f"{term('completion', lang)} (%)")
        ax.set_title(plain(f"{term('targets_vs_actuals', lang)}{text('common.colon', lang)}{self.project['name']}"))
        return fig



def project_overview(store: Store, project_id: str, lang: str = "zh") -> ProjectOverview:
    """Gather one project's overview from the store.

    Raises
    ------
    KeyError
        When ``project_id`` is not in the store.
    """
    from perfkit.evaluation.scoring import completion
    from perfkit.monitoring import city_profile, time_progress

    project = queries.project(store, project_id)
    initial, budget = queries.budget_amounts(store, project_id)
    execution = queries.execution(store, project_id)
    execution["execution_rate"] = execution["spent_cumulative"] / budget if budget > 0 else np.nan
    try:  # the city's path in the years before the project's, as monitoring judges it...
        profile = city_profile(store, before_year=int(project["year"])).to_numpy()
    except ValueError:  # ...or in every closed year when the project's year is the first
        profile = city_profile(store).to_numpy()
    month_ends = pd.date_range(f"{int(project['year'])}-01-01", periods=12, freq="ME")
    start, end = pd.Timestamp(project["start_date"]), pd.Timestamp(project["end_date"])
    targets = queries.project_targets(store, project_id)
    targets["completion"] = completion(targets["polarity"], targets["target_value"], targets["actual_value"])
    view = ProjectOverview(project=project, initial_budget=initial, budget=budget, execution=execution,
                           targets=targets, lang=lang, profile_median=profile,
                           time_progress=time_progress(month_ends, start, end))
    view.notes = data_quality_notes(view)
    return view


def data_quality_notes(view: ProjectOverview) -> list[Message]:
    """Notes on gaps and inconsistencies in the project's records."""
    notes = []
    e = view.execution
    if e.empty:
        notes.append(note("dq_no_execution"))
    else:
        months = e["month"].dt.month.to_numpy()
        missing = sorted(set(range(1, months.max() + 1)) - set(months))
        if missing:
            notes.append(note("dq_missing_months", months=", ".join(map(str, missing))))
        falls = e.loc[e["spent_cumulative"].diff() < 0, "month"].dt.month.tolist()
        if falls:
            notes.append(note("dq_falls", months=", ".join(map(str, falls))))
        if view.budget > 0 and view.spent > view.budget * 1.0001:
            notes.append(note("dq_overspent"))
    # the preset's rules: targets met without spending, execution far below progress, fractional counts
    from perfkit.quality import project_quality

    if e.empty:
        notes += project_quality(view.budget, None, 0.0, view.targets)
    else:
        progress = view.time_progress[int(e["month"].dt.month.max()) - 1]
        notes += project_quality(view.budget, view.spent, 1.0 if np.isnan(progress) else float(progress),
                                 view.targets)
    if view.targets.empty:
        notes.append(note("dq_no_targets"))
    else:
        quantitative = view.targets["value_type"] == "quantitative"
        unreported = view.targets.loc[quantitative & view.targets["actual_value"].isna(), "name"].tolist()
        if unreported:
            notes.append(note("dq_unreported", names=unreported))
    return notes


def _value(number, label) -> str:
    if label is not None and not (isinstance(label, float) and np.isnan(label)) and label is not pd.NA:
        return str(label)
    return "—" if pd.isna(number) else f"{number:,.2f}".rstrip("0").rstrip(".")
