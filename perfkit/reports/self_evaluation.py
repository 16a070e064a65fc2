"""The unit self-evaluation job (单位自评): every project of a unit scored, in the official outline."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from perfkit._lazy import lazy_module
from perfkit.reports.display import PresetView, figure, markdown, notes_text, outline, pct, plain, record
from perfkit.reports.registry import UNIT_FILTERS, Batch, Job, register
from perfkit.results import DRAFT
from perfkit.text import text, texts

if TYPE_CHECKING:
    from perfkit.evaluation import SelfEvaluationResult
    from perfkit.rules import PresetLike
    from perfkit.store import Store

pd = lazy_module("pandas")   # the job is declared (and its --help answers) without pandas

JOB = register(Job(name="self-evaluation", notebook="self_evaluation.ipynb", subject=("unit_id", "year"),
                   warm=("perfkit.evaluation",), evaluated_by="unit_id",
                   aliases={"unit_id": "--unit"},
                   lookups={"unit_id": ("units", "unit_id"), "year": ("projects", "year")},
                   summary="a unit's self-evaluation of every project of a year, with its second-level units",
                   view="unit_self_evaluation", order=30,
                   batch=Batch(sql=f"""SELECT u.unit_id AS subject FROM units u
                                       WHERE u.unit_id IN (SELECT coalesce(parent_id, unit_id) FROM project_facts f
                                                           WHERE $year::INTEGER IS NULL OR f.year = $year)
                                         AND {UNIT_FILTERS} {{where}}""",
                               filters=("year", "field", "unit_level"), parameter="unit_id",
                               options={"year": "year", "preset": "preset"}, required=("year",), aliases="u: units")))


@dataclass
class SelfEvaluationView(PresetView):
    """A unit's self-evaluation ready to show."""

    result: SelfEvaluationResult
    lang: str = "zh"



    def rating_label(self, rating) -> str:
        """A rating in the report's language; 待补充 for a draft (no rating)."""
        return text("common.draft", self.lang) if rating is None or rating == DRAFT else self.label(rating)

    def section(self, name: str):
        """One section of the outline (title, summary, projects, issues)."""
        r, preset = self.result, self.preset
        projects = r.projects.assign(
            notes_text=r.projects["notes"].map(lambda notes: notes_text(notes, self.lang, preset)),
            quality_text=r.projects["quality"].map(lambda notes: notes_text(notes, self.lang, preset)),
            rating_label=r.projects["rating"].map(self.rating_label))
        module = outline("self_evaluation", self.lang).make_module(dict(
            weights=[(self.label(block), w) for block, w in preset.self_evaluation.weights.items()],
            ratings=[(rating, self.label(rating)) for rating in preset.rating_bands],
            flagged=list(projects[projects["notes"].map(len) > 0].itertuples()),
            doubtful=list(projects[projects["quality"].map(len) > 0].itertuples()),
            low=list(projects[projects["rating"].isin(preset.low_ratings)].nsmallest(5, "total").itertuples())))
        macro = getattr(module, name)
        view = dict(unit=r.unit, year=r.year)
        figures = r.summary().to_dict("records")[0]
        return markdown(macro(view, figures) if name in ("summary", "issues") else macro(view))

    def project_table(self) -> pd.DataFrame:
        """Every project: budget, execution, score per block, total, rating and notes."""
        p = self.result.projects.copy()
        p["budget"] = (p["budget"] / 1e4).round(2)
        p["execution_rate"] = p["execution_rate"].map(pct)
        blocks = [c for c in p if c.startswith("score_")]
        p[blocks + ["total"]] = p[blocks + ["total"]].round(2)
        p["rating"] = p["rating"].map(self.rating_label)
        p[blocks + ["total"]] = p[blocks + ["total"]].astype(object).where(p[blocks + ["total"]].notna(),
                                                                          text("common.draft", self.lang))
        p["notes"] = [notes_text((*notes, *quality), self.lang, self.preset)
                      for notes, quality in zip(p["notes"], p["quality"])]
        columns = ["project_id", "name", "unit_name", "budget", "execution_rate", *blocks, "total", "rating", "notes"]
        headers = {**texts("self_evaluation.headers", self.lang),
                   **{b: self.label(b.removeprefix("score_")) for b in blocks}}
        return p[columns].rename(columns=headers)

    def rating_table(self) -> pd.DataFrame:
        """Projects and budget per rating."""
        t = self.result.by_rating.copy()
        t["budget"] = (t["budget"] / 1e4).round(2)
        t.index = t.index.map(self.rating_label)
        return (t.rename(columns=texts("self_evaluation.by_rating", self.lang))
                .rename_axis(texts("self_evaluation.headers", self.lang)["rating"]))

    def record(self):
        """The result for the index: the unit's mean score, none while a project is a draft."""
        r = self.result.record()
        return record(job=JOB.name, lang=self.lang, score=r["score"], rating=None, status=r["status"])

    def plot_scores(self):
        """Distribution of the unit's project scores, with the rating bands."""
        r = self.result
        fig, ax = figure(figsize=(8, 3.5))
        totals = r.projects["total"].dropna()      # drafts have no score to show
        ax.hist(totals, bins=20, range=(min(50, totals.min()) if len(totals) else 50, 100), color="#4c72b0")
        for name, band in self.preset.rating_bands.items():
            if band.min > 0:
                ax.axvline(band.min, color="#999999", linestyle="--")
                ax.text(band.min + 0.5, ax.get_ylim()[1] * 0.9, plain(self.label(name)))
        ax.set_xlabel(texts("self_evaluation.headers", self.lang)["total"])
        return fig


def unit_self_evaluation(store: Store, unit_id: str, year: int, preset: PresetLike = "default",
                         lang: str = "zh") -> SelfEvaluationView:
    """Self-evaluate a unit's projects of ``year`` and wrap the result for the report."""
    from perfkit.evaluation import self_evaluate

    return SelfEvaluationView(self_evaluate(store, unit_id, year, preset), lang=lang)


__all__ = ["JOB", "SelfEvaluationView", "unit_self_evaluation"]
