"""The monitoring job (绩效运行监控): the city's (or one unit's) double monitoring as of a date."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from perfkit._lazy import lazy_module
from perfkit.reports.display import figure, heading, long_date, markdown, notes_text, pct, prose, record
from perfkit.reports.registry import UNIT_FILTERS, Batch, Job, register
from perfkit.text import text, texts, value_label

if TYPE_CHECKING:
    from perfkit.monitoring import MonitoringResult
    from perfkit.rules import PresetLike
    from perfkit.store import Store

pd = lazy_module("pandas")   # the job is declared (and its --help answers) without pandas

JOB = register(Job(name="monitoring", notebook="monitoring.ipynb", subject=("as_of", "unit"),
                   required=(("as_of",),), dates=("as_of",), lookups={"unit": ("units", "unit_id")},
                   warm=("perfkit.monitoring", "statsmodels.api"),
                   summary="in-year double monitoring as of a date: lights, forecasts and actions",
                   view="monitoring_view", order=50,
                   # one report per unit: the city's report is `perfkit report monitoring --as-of DATE`
                   batch=Batch(sql=f"SELECT u.unit_id AS subject FROM units u WHERE {UNIT_FILTERS} {{where}}",
                               filters=("field", "unit_level"), parameter="unit",
                               options={"as_of": "as_of", "preset": "preset"}, required=("as_of",),
                               aliases="u: units")))

LIGHT_COLOURS = {"green": "#55a868", "yellow": "#dd8452", "red": "#c44e52"}
LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2}


def headline_text(result: MonitoringResult, lang: str = "zh") -> str:
    """The opening sentence of a monitoring (the report's and the command line's): projects, lights, and the
    money to rectify and to terminate, from the result's :attr:`~MonitoringResult.headline`, every amount in
    one unit (亿元 when none is below 1 亿元, else 万元: a sentence never mixes them)."""
    h = result.headline
    money = ("budget", "rectify_money", "terminate_money")
    unit = "yi" if all(h[k] >= 1e8 or h[k] == 0 for k in money) else "wan"
    scale = 1e8 if unit == "yi" else 1e4
    return text("monitoring.headline", lang, date=long_date(result.as_of, lang),
                unit=text(f"monitoring.money_unit.{unit}", lang),
                **{k: v / scale if k in money else v for k, v in h.items()})


@dataclass
class MonitoringView:
    """The monitoring of a city (or one unit) as of a date."""

    result: MonitoringResult
    lang: str = "zh"

    @property
    def frame(self) -> pd.DataFrame:
        return self.result.table

    @property
    def as_of(self) -> pd.Timestamp:
        return self.result.as_of

    @property
    def summary(self) -> pd.DataFrame:
        return self.result.summary()

    def headline(self):
        """The opening paragraph: projects, lights, and the money to rectify and terminate."""
        return markdown(headline_text(self.result, self.lang))

    def heading(self, key: str):
        """A section heading (title, summary, actions, chart, list)."""
        return heading(f"monitoring.headings.{key}", self.lang, level=1 if key == "title" else 2)

    def heading_text(self, key: str) -> str:
        """A section heading's text (e.g. the caption of the long list, which prints with it)."""
        return text(f"monitoring.headings.{key}", self.lang)

    def action_table(self) -> pd.DataFrame:
        """Projects, units and money by action."""
        t = self.summary.copy()
        t["budget"] = (t["budget"] / 1e4).round(2)
        t.index = t.index.map(lambda a: value_label("action", a, self.lang))
        names = texts("monitoring.actions", self.lang)
        return t.rename(columns=names).rename_axis(names["action"])

    def attention_table(self, limit: int = 50) -> pd.DataFrame:
        """Projects that need an action, red first, the furthest behind first (the first ``limit``)."""
        f = self.frame[self.frame["action"] != "normal"].copy()
        f = f.sort_values(["light", "deviation"], key=lambda s: s.map(LIGHT_ORDER) if s.name == "light" else s)
        f = f.head(limit)
        for column in ("execution_rate", "expected_rate", "forecast_rate"):
            f[column] = f[column].map(pct)
        f["budget"] = (f["budget"] / 1e4).round(2)
        f["light"] = f["light"].map(lambda v: value_label("light", v, self.lang))
        f["action"] = f["action"].map(lambda v: value_label("action", v, self.lang))
        f["likelihood"] = f["likelihood"].map(lambda v: value_label("likelihood", v, self.lang))
        f["reasons"] = f["reasons"].map(lambda notes: notes_text(notes, self.lang))
        columns = texts("monitoring.columns", self.lang)
        return f[list(columns)].rename(columns=columns).reset_index(drop=True)

    def attention_note(self, limit: int = 50):
        """Says how much of the list the report shows, and where the complete list is."""
        total = int((self.frame["action"] != "normal").sum())
        key = "monitoring.list_complete" if total <= limit else "monitoring.list_first"
        return markdown(prose(key, self.lang, shown=min(total, limit), total=total))

    def record(self):
        """The result for the index: the lights."""
        counts = self.result.headline      # the lights counted once, as the opening sentence counts them
        shown = " / ".join(f"{value_label('light', light, self.lang)} {counts[light]}"
                           for light in ("red", "yellow", "green"))
        return record(job=JOB.name, lang=self.lang, score=None, rating=shown, status=self.result.record()["status"])

    def plot_deviation(self):
        """Execution rate against time progress, one dot per project, coloured by its light (which judges it
        against the city's typical path, not the calendar)."""
        f = self.frame.dropna(subset=["execution_rate"])
        fig, ax = figure(figsize=(8, 4.5))
        for light in LIGHT_COLOURS:  # green, yellow, red: the legend reads in order of urgency
            group = f[f["light"] == light]
            ax.scatter(group["time_progress"] * 100, group["execution_rate"] * 100, s=10, alpha=0.6,
                       color=LIGHT_COLOURS[light], label=value_label("light", light, self.lang))
        ax.set_xlabel(text("monitoring.axis_time", self.lang))
        ax.set_ylabel(text("monitoring.axis_rate", self.lang))
        ax.legend()
        ax.grid(alpha=0.3)
        return fig


def monitoring_view(store: Store, as_of, unit: str | None = None, preset: PresetLike = "default",
                    lang: str = "zh") -> MonitoringView:
    """Monitor the store's projects as of a date (``unit`` None or "all" for the whole city)."""
    unit = None if unit in (None, "", "all") else unit
    from perfkit.monitoring import monitor

    return MonitoringView(monitor(store, as_of, preset, unit=unit), lang=lang)


__all__ = ["JOB", "MonitoringView", "headline_text", "monitoring_view"]
