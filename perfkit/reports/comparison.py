"""The comparison job (同领域单位比较): the units of a field compared on one scale over a range of years."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from perfkit._lazy import lazy_module
from perfkit.reports.display import MISSING, figure, heading, markdown, markdown_text, prose, record
from perfkit.reports.portrait import parse_years, years_text
from perfkit.reports.registry import UNIT_FILTERS, Batch, Job, register
from perfkit.rules import PresetLike, load_preset
from perfkit.text import text, texts, value_label

if TYPE_CHECKING:
    from perfkit.comparison import ComparisonResults
    from perfkit.store import Store

pd = lazy_module("pandas")   # the job is declared (and its --help answers) without pandas
queries = lazy_module("perfkit.queries")

JOB = register(Job(name="comparison", notebook="comparison.ipynb", subject=("field", "years"),
                   required=(("field",),), years=("years",), lookups={"field": ("units", "field")},
                   paths=("preset", "excel"), warm=("perfkit.queries", "perfkit.comparison", "perfkit.evaluation", "statsmodels.api", "sklearn.cluster"),
                   summary="the units of a field compared on one scale (TOPSIS), with ranks, their firmness, peers",
                   view="comparison_view", order=80,
                   batch=Batch(sql=f"SELECT DISTINCT u.field AS subject FROM units u WHERE {UNIT_FILTERS} {{where}}",
                               filters=("field", "unit_level"), parameter="field",
                               options={"year": "years", "preset": "preset"}, aliases="u: units")))


@dataclass
class ComparisonView:
    """A field's comparison ready to show."""

    result: ComparisonResults
    field: str
    years: list[int]
    names: dict[str, str]
    lang: str = "zh"
    limit: int = 30

    def _indicator(self, code: str) -> str:
        return value_label("comparison_indicator", code, self.lang)

    def _field(self) -> str:
        return value_label("field", self.field, self.lang)

    def title(self):
        return markdown_text("comparison.title", self.lang, level=1, field=self._field(),
                             years=years_text(self.years))

    def heading(self, key: str):
        return heading(f"comparison.headings.{key}", self.lang)

    def headline(self):
        r = self.result
        ranked = int(r.scores["rank"].notna().sum())
        return markdown(prose("comparison.headline", self.lang, field=self._field(), years=years_text(self.years),
                             units=r.scores.index.get_level_values("unit_id").nunique(),
                             n=len(r.weights), reference=r.model.reference_year_,
                             weighting=value_label("weighting", r.model.weighting_, self.lang)
                             + (text(f"comparison.entropy_method.{r.model.entropy_method_}", self.lang)
                                if getattr(r.model, "entropy_method_", None) else ""), ranked=ranked,
                             unranked=len(r.scores) - ranked, min=r.rules.min_indicators))

    def dropped_note(self):
        dropped = self.result.model.dropped_
        if not dropped:
            return None
        return markdown(prose("comparison.dropped", self.lang, share=self.result.rules.min_coverage,
                             names="、".join(self._indicator(c) for c in dropped)))

    def weights_table(self) -> pd.DataFrame:
        r = self.result
        columns = texts("comparison.columns", self.lang)
        reference = r.values.xs(r.model.reference_year_, level="year")
        return pd.DataFrame({
            columns["indicator"]: [self._indicator(c) for c in r.weights.index],
            columns["better"]: [text(f"comparison.better.{r.rules.indicators[c].better}", self.lang)
                                for c in r.weights.index],
            columns["weight"]: [f"{w:.3f}" for w in r.weights],
            columns["coverage"]: [f"{reference[c].notna().mean():.0%}" for c in r.weights.index]})

    def ranking_table(self, year: int | None = None) -> pd.DataFrame:
        """The ranked units of ``year`` (default: the latest), best first, the first ``limit``."""
        r = self.result
        year = year or max(self.years)
        columns = texts("comparison.columns", self.lang)
        frame = r.scores.xs(year, level="year").dropna(subset=["rank"]).sort_values("rank").head(self.limit)
        return pd.DataFrame({
            columns["rank"]: frame["rank"].astype(int).to_numpy(),
            columns["unit_id"]: frame.index, columns["unit_name"]: [self.names.get(u, u) for u in frame.index],
            columns["score"]: frame["topsis"].map(lambda v: f"{v:.3f}").to_numpy(),
            columns["weighted_sum"]: frame["weighted_sum"].map(lambda v: f"{v:.3f}").to_numpy(),
            columns["peer_group"]: frame["peer_group"].astype(str).to_numpy(),
            columns["missing"]: [("、".join(self._indicator(c) for c in m.split(", ") if c) or MISSING)
                                 for m in frame["missing"]]})

    def ranking_note(self, year: int | None = None):
        year = year or max(self.years)
        total = int(self.result.scores.xs(year, level="year")["rank"].notna().sum())
        return markdown(prose("comparison.top_n", self.lang, year=year, shown=min(total, self.limit), total=total))

    def sensitivity_table(self, draws: int | None = None) -> pd.DataFrame:
        """The latest year's top units: their rank, its 90% range under perturbed weights, their top share."""
        r = self.result
        year = max(self.years)
        spread = r.sensitivity(draws=draws).xs(year, level="year").dropna(subset=["rank"]).sort_values("rank") \
            .head(self.limit)
        columns = texts("comparison.columns", self.lang)
        top = text("comparison.columns.top_share", self.lang, share=r.rules.top_share)
        return pd.DataFrame({columns["rank"]: spread["rank"].astype(int).to_numpy(),
                             columns["unit_name"]: [self.names.get(u, u) for u in spread.index],
                             columns["rank_range"]: [f"{a:.0f}–{b:.0f}" for a, b in
                                                     zip(spread["rank_p05"], spread["rank_p95"])],
                             top: spread["top_share"].map(lambda v: f"{v:.0%}").to_numpy()})

    def sensitivity_note(self, draws: int | None = None):
        preset = load_preset(self.result.model.preset)
        return markdown(prose("comparison.sensitivity_note", self.lang, p=preset.sensitivity.perturbation,
                             draws=draws or preset.sensitivity.draws))

    def change_table(self) -> pd.DataFrame:
        """Each year's mean score and the units that moved most (on the fixed scale)."""
        scores = self.result.scores["topsis"].unstack("year")
        scores.index = [self.names.get(u, u) for u in scores.index]
        change = scores.diff(axis=1).iloc[:, -1] if scores.shape[1] > 1 else pd.Series(dtype=float)
        columns = texts("comparison.columns", self.lang)
        frame = scores.round(3).astype(object).where(scores.notna(), MISSING)
        frame.columns = [str(c) for c in frame.columns]
        if len(change):
            frame[columns["change"]] = change.map(lambda v: MISSING if pd.isna(v) else f"{v:+.3f}")
            frame = frame.loc[change.abs().sort_values(ascending=False, na_position="last").index[:self.limit]]
        return frame.rename_axis(columns["unit_name"]).reset_index()

    def groups_table(self) -> pd.DataFrame:
        """Each peer group of the latest year: units and their mean normalised indicators."""
        r, year = self.result, max(self.years)
        groups = r.scores.xs(year, level="year")["peer_group"]
        normalised = r.normalised.xs(year, level="year")
        frame = normalised.groupby(groups).mean().round(3)
        frame.columns = [self._indicator(c) for c in frame.columns]
        columns = texts("comparison.columns", self.lang)
        frame.insert(0, columns["units"], groups.value_counts().reindex(frame.index).astype(int))
        return frame.rename_axis(columns["peer_group"]).reset_index().astype({columns["peer_group"]: str})

    def plot_scores(self):
        """Distribution of the composite score by year."""
        scores = self.result.scores["topsis"].dropna()
        fig, ax = figure(figsize=(7, 3.8))
        years = sorted(scores.index.get_level_values("year").unique())
        ax.boxplot([scores.xs(y, level="year").to_numpy() for y in years], tick_labels=[str(y) for y in years])
        ax.set_ylabel(text("comparison.columns.score", self.lang))
        ax.grid(alpha=0.3)
        return fig

    def record(self):
        ranked = int(self.result.scores["rank"].notna().sum())
        return record(job=JOB.name, lang=self.lang, score=None, rating=f"{ranked}", status=self.result.record()["status"])

    def to_excel(self, path) -> Path:
        """Write the report's tables as a workbook (UTF-8 text cells, 万元 amounts, filters)."""
        from perfkit.workbooks import view_workbook

        return view_workbook(self.sheets(), path)

    def sheets(self) -> dict[str, pd.DataFrame]:
        """Every unit-year's scores, ranks and indicators, and the weights, for a workbook."""
        r = self.result
        columns = texts("comparison.columns", self.lang)
        full = r.scores.join(r.values).reset_index()
        full.insert(1, columns["unit_name"], full["unit_id"].map(lambda u: self.names.get(u, u)))
        full = full.rename(columns={**{c: self._indicator(c) for c in r.values.columns},
                                    "unit_id": columns["unit_id"], "year": columns["year"],
                                    "topsis": columns["score"], "weighted_sum": columns["weighted_sum"],
                                    "rank": columns["rank"], "peer_group": columns["peer_group"],
                                    "missing": columns["missing"], "units": columns["units"]})
        return {text("comparison.headings.ranking", self.lang): full,
                text("comparison.headings.weights", self.lang): self.weights_table()}


def comparison_view(store: Store, field: str, years="", preset: PresetLike = "default", weighting: str = "",
                    lang: str = "zh") -> ComparisonView:
    """Compare the units of ``field`` over ``years`` ("2023-2025"; empty: every closed year)."""
    from perfkit.comparison import compare, indicators_from_store

    years = parse_years(years) or queries.closed_years(store)
    values = indicators_from_store(store, years, field=field, preset=preset)
    result = compare(values, preset, weighting=weighting or None)
    names = dict(store.query("SELECT unit_id, name FROM units WHERE field = ?", [field]).itertuples(index=False))
    return ComparisonView(result, field, years, names, lang=lang)


__all__ = ["JOB", "ComparisonView", "comparison_view"]
