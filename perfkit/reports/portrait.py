"""The portrait job (单位绩效画像): one unit's figures over the years, its standing among its field, a profile."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from perfkit._lazy import lazy_module
from perfkit.reports.preflight import year_range
from perfkit.reports.display import MISSING, figure, heading, markdown, markdown_text, md_escape, pct, prose, record
from perfkit.reports.registry import UNIT_FILTERS, Batch, Job, register
from perfkit.text import Message, text, texts, value_label

if TYPE_CHECKING:
    from perfkit.portrait import Portrait
    from perfkit.rules import PresetLike
    from perfkit.store import Store

np = lazy_module("numpy")
pd = lazy_module("pandas")   # the job is declared (and its --help answers) without pandas

JOB = register(Job(name="portrait", notebook="portrait.ipynb", subject=("unit",), years=("years",),
                   lookups={"unit": ("units", "unit_id")},
                   paths=("preset", "excel"),
                   warm=("perfkit.portrait", "perfkit.cases", "perfkit.comparison", "perfkit.evaluation", "statsmodels.api",
                         "sklearn.cluster"),
                   summary="a unit's performance portrait: trends, ratings, lights, findings, rank among its peers",
                   view="portrait_view", order=70,
                   batch=Batch(sql=f"""SELECT u.unit_id AS subject FROM units u
                                       WHERE u.unit_id IN (SELECT unit_id FROM projects) AND {UNIT_FILTERS} {{where}}""",
                               filters=("field", "unit_level"), parameter="unit", options={"preset": "preset"},
                               aliases="u: units")))


def parse_years(years) -> list[int] | None:
    """``"2023-2025"`` or ``"2024"`` as years; ``""``, None or "all" as None (every closed year)."""
    if years in (None, "", "all"):
        return None
    return year_range(years)


def years_text(years: list[int]) -> str:
    return f"{years[0]}–{years[-1]}" if len(years) > 1 and years == list(range(years[0], years[-1] + 1)) \
        else "、".join(map(str, years))


@dataclass
class PortraitView:
    """A unit's portrait ready to show."""

    result: Portrait
    lang: str = "zh"

    @property
    def preset(self):
        return self.result.preset

    def _indicator(self, code: str) -> str:
        return value_label("comparison_indicator", code, self.lang)

    def title(self):
        return markdown_text("portrait.title", self.lang, level=1, name=self.result.unit["name"])

    def heading(self, key: str):
        return heading(f"portrait.headings.{key}", self.lang)

    def intro(self):
        unit = self.result.unit
        return markdown_text("portrait.intro", self.lang, name=unit["name"], unit_id=unit["unit_id"],
                             unit_level=int(unit["level"]), field=value_label("field", unit["field"], self.lang),
                             years=years_text(self.result.years))

    def _render(self, message: Message) -> str:
        values = dict(message.params)
        if "kind" in values:
            values["kind"] = self.preset.label(values["kind"], self.lang)
        if "indicator" in values:
            if message.code == "portrait_focus":
                values = {"advice": text(f"portrait.advice.{values['indicator']}", self.lang)}
            else:
                values["indicator"] = self._indicator(values["indicator"])
        return md_escape(Message(message.code, values).render(self.lang))

    def profile(self):
        """Standing, strengths, risks and the focus for next year's budget, from the figures."""
        notes = self.result.profile()
        parts = texts("portrait.parts", self.lang)
        lines = [" ".join(self._render(m) for m in notes["standing"]), ""]
        separator = "；" if self.lang == "zh" else "; "
        for part in ("strengths", "risks", "focus"):
            shown = separator.join(self._render(m) for m in notes[part]) or parts["none"]
            lines.append(f"- **{parts[part]}**{text('common.colon', self.lang)}{shown}")
        return markdown("\n".join(lines))

    def standing_table(self) -> pd.DataFrame:
        """By year: score, rank among the field's units, peer group, the rank's range under other weights."""
        r = self.result
        columns = texts("portrait.columns", self.lang)
        rows = []
        for year in r.years:
            if year not in r.scores.index:
                continue
            s = r.scores.loc[year]
            ranked = not pd.isna(s["rank"])
            spread = r.sensitivity.loc[year] if year in r.sensitivity.index else None
            rows.append({columns["year"]: str(year),
                         columns["score"]: f"{s['topsis']:.3f}" if ranked else text("common.draft", self.lang),
                         columns["rank"]: f"{int(s['rank'])} / {int(s['units'])}" if ranked else MISSING,
                         columns["peer_group"]: str(int(s["peer_group"])) if not pd.isna(s["peer_group"]) else MISSING,
                         columns["rank_range"]: f"{spread['rank_p05']:.0f}–{spread['rank_p95']:.0f}"
                         if ranked and spread is not None else MISSING,
                         columns["missing"]: "、".join(self._indicator(c) for c in s["missing"].split(", ") if c)
                         or MISSING})
        return pd.DataFrame(rows)

    def radar_table(self) -> pd.DataFrame:
        """The unit's normalised indicators beside its peer group's mean, in its latest ranked year."""
        r, year = self.result, self.result.latest
        columns = texts("portrait.columns", self.lang)
        if year is None:
            return pd.DataFrame()
        frame = pd.DataFrame({columns["value"]: r.normalised.loc[year], columns["peers"]: r.peers.loc[year]})
        frame.index = [self._indicator(c) for c in frame.index]
        return frame.round(3).rename_axis(columns["indicator"]).reset_index()

    def plot_radar(self):
        """A radar chart of the normalised indicators (1 is best) against the peer group's mean."""
        r, year = self.result, self.result.latest
        if year is None:
            return None
        mine, peers = r.normalised.loc[year], r.peers.loc[year]
        known = mine.notna() & peers.notna()
        labels = [self._indicator(c) for c in mine.index[known]]
        angles = np.linspace(0, 2 * np.pi, len(labels), endpoint=False)
        fig, ax = figure(figsize=(5.5, 5.5), subplot_kw={"polar": True})
        for values, name, colour in ((mine[known], text("portrait.unit_series", self.lang), "#4c72b0"),
                                     (peers[known], text("portrait.peer_series", self.lang), "#dd8452")):
            closed = np.append(values.to_numpy(), values.to_numpy()[0])
            ax.plot(np.append(angles, angles[0]), closed, color=colour, label=name)
            ax.fill(np.append(angles, angles[0]), closed, color=colour, alpha=0.15)
        ax.set_xticks(angles)
        ax.set_xticklabels(labels)
        ax.set_ylim(0, 1)
        ax.legend(loc="upper right", bbox_to_anchor=(1.25, 1.1))
        ax.set_title(str(year))
        return fig

    def trend_table(self) -> pd.DataFrame:
        """The measured indicators by year (rates as percentages)."""
        frame = self.result.indicators.copy()
        for column in ("execution_rate", "target_completion", "red_share"):
            if column in frame:
                frame[column] = frame[column].map(pct)
        for column in ("unit_cost_ratio", "findings_per_million", "evaluation_score", "satisfaction"):
            if column in frame:
                frame[column] = frame[column].map(lambda v: MISSING if pd.isna(v) else f"{v:,.2f}")
        frame.columns = [self._indicator(c) for c in frame.columns]
        return frame.rename_axis(text("portrait.columns.year", self.lang)).reset_index() \
            .astype({text("portrait.columns.year", self.lang): str})

    def trend_scope(self):
        """What the trend's figures cover (the unit's own projects), beside the self-evaluations' scope."""
        return markdown(prose("portrait.trend_scope", self.lang))

    def plot_trend(self):
        """Execution rate and target completion over the years."""
        frame = self.result.indicators[["execution_rate", "target_completion"]].dropna(how="all")
        if frame.empty:
            return None
        fig, ax = figure(figsize=(7, 3.8))
        for column, colour in (("execution_rate", "#4c72b0"), ("target_completion", "#55a868")):
            ax.plot(frame.index.astype(str), frame[column] * 100, marker="o", color=colour,
                    label=self._indicator(column))
        ax.set_xlabel(text("portrait.axis_year", self.lang))
        ax.set_ylabel(text("portrait.axis_share", self.lang))
        ax.set_ylim(0, 105)
        ax.grid(alpha=0.3)
        ax.legend()
        return fig

    def key_table(self) -> pd.DataFrame:
        columns = texts("portrait.columns", self.lang)
        k = self.result.key_evaluations
        if k.empty:
            return k
        return pd.DataFrame({columns["year"]: k["year"].astype(str), columns["project_id"]: k["project_id"],
                             columns["name"]: k["name"],
                             columns["total"]: k["total"].map(lambda v: text("common.draft", self.lang)
                                                               if pd.isna(v) else f"{v:.2f}"),
                             columns["rating"]: k["rating"].map(lambda v: text("common.draft", self.lang)
                                                                 if v is None else self.preset.label(v, self.lang))})

    def no_key_evaluations(self):
        return markdown(prose("portrait.no_key_evaluations", self.lang))

    def self_table(self) -> pd.DataFrame:
        columns = texts("portrait.columns", self.lang)
        s = self.result.self_evaluations
        if s.empty:
            return s
        bands = list(self.preset.rating_bands)
        ratings = s.apply(lambda row: " ".join(f"{self.preset.label(b, self.lang)} {int(row.get(f'rating_{b}', 0))}"
                                               for b in bands), axis=1)
        return pd.DataFrame({columns["year"]: s.index.astype(str), columns["projects"]: s["projects"].astype(int),
                             columns["mean_score"]: s["mean_score"].map(lambda v: MISSING if pd.isna(v) else f"{v:.2f}"),
                             columns["ratings"]: ratings, columns["drafts"]: s["drafts"].astype(int)}).reset_index(drop=True)

    def lights_table(self) -> pd.DataFrame:
        lights = self.result.lights
        if lights.empty:
            return lights
        columns = texts("portrait.columns", self.lang)
        return lights.rename(columns=columns).rename_axis(columns["year"]).reset_index() \
            .astype({columns["year"]: str})

    def no_lights(self):
        return markdown(prose("portrait.no_lights", self.lang))

    def findings_table(self) -> pd.DataFrame:
        f = self.result.findings
        if f.empty:
            return f
        columns = texts("portrait.columns", self.lang)
        return pd.DataFrame({columns["year"]: f["year"].astype(str),
                             columns["kind"]: f["case_name"].map(lambda n: self.preset.label(n, self.lang)),
                             columns["source"]: f["case_source"].map(lambda v: value_label("case_source", v, self.lang)),
                             columns["description"]: f["description"],
                             columns["recommendation"]: f["recommendation"].fillna(MISSING)})

    def no_findings(self):
        return markdown(prose("portrait.no_findings", self.lang))

    def record(self):
        """For the index: the latest composite score and rank."""
        r, year = self.result.record(), self.result.latest
        if year is None:
            return record(job=JOB.name, lang=self.lang, score=None, rating=None, status=r["status"])
        s = self.result.scores.loc[year]
        return record(job=JOB.name, lang=self.lang, score=r["score"] * 100, rating=f"{int(s['rank'])}/{int(s['units'])} ({year})",
                      status=r["status"])

    def to_excel(self, path) -> Path:
        """Write the report's tables as a workbook (UTF-8 text cells, 万元 amounts, filters)."""
        from perfkit.workbooks import view_workbook

        return view_workbook(self.sheets(), path)

    def sheets(self) -> dict[str, pd.DataFrame]:
        """The portrait's tables for a workbook."""
        return {name: frame for name, frame in (
            (text("portrait.headings.standing", self.lang), self.standing_table()),
            (text("portrait.headings.trend", self.lang), self.trend_table()),
            (text("portrait.headings.ratings", self.lang), self.key_table()),
            (text("portrait.headings.lights", self.lang), self.lights_table()),
            (text("portrait.headings.findings", self.lang), self.findings_table())) if not frame.empty}


def portrait_view(store: Store, unit: str, years="", preset: PresetLike = "default", lang: str = "zh") -> PortraitView:
    """Build a unit's portrait (``years`` "2023-2025"; empty: every closed year) and its view."""
    from perfkit.portrait import portrait

    return PortraitView(portrait(store, unit, parse_years(years), preset), lang=lang)


__all__ = ["JOB", "PortraitView", "parse_years", "portrait_view", "years_text"]
