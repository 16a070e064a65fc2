"""The ex-ante assessment job (事前绩效评估): a request against the quota standards, in the official outline."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from perfkit._lazy import lazy_module
from perfkit.reports.display import MISSING, PresetView, markdown, notes_text, outline, record
from perfkit.reports.registry import UNIT_FILTERS, Batch, Job, register
from perfkit.results import DRAFT
from perfkit.text import text, texts

if TYPE_CHECKING:
    from perfkit.exante import ExAnteResult
    from perfkit.rules import PresetLike
    from perfkit.store import Store

pd = lazy_module("pandas")   # the job is declared (and its --help answers) without pandas
queries = lazy_module("perfkit.queries")


JOB = register(Job(name="ex-ante", notebook="ex_ante.ipynb", subject=("request_id",),
                   required=(("request_id", "request_file"),), paths=("preset", "request_file"),
                   aliases={"request_id": "--request"}, lookups={"request_id": ("requests", "request_id")},
                   warm=("perfkit.queries", "perfkit.exante", "perfkit.quota.standards"),
                   summary="a new project request assessed against the quota standards (from the store or a YAML file)",
                   view="exante_assessment", order=40,
                   batch=Batch(sql=f"""SELECT r.request_id AS subject FROM requests r JOIN units u USING (unit_id)
                                       WHERE ($year::INTEGER IS NULL OR r.year = $year) AND {UNIT_FILTERS} {{where}}""",
                               filters=("year", "field", "unit_level"), parameter="request_id",
                               options={"preset": "preset"}, aliases="r: requests, u: units")))


@dataclass
class ExAnteView(PresetView):
    """An ex-ante assessment ready to show, section by section."""

    result: ExAnteResult
    lang: str = "zh"


    def conclusion_label(self, conclusion: str) -> str:
        """A conclusion in the report's language; 待补充 for a draft."""
        return text("common.draft", self.lang) if conclusion == DRAFT else self.label(conclusion)

    def section(self, name: str):
        """One section of the outline (title, basic, work, overall, advice, other)."""
        r = self.result
        adjusts = not r.is_draft and r.preset.exante.conclusion(r.conclusion).adjusts
        context = dict(conclusion=self.conclusion_label(r.conclusion), adjusts=adjusts,
                       adjustments=[dict(dimension=self.label(d), score=row.score, points=row.points)
                                    for d, row in r.adjustments.iterrows()],
                       reasons=[notes_text([reason], self.lang, r.preset) for reason in r.reasons[1:]])
        return markdown(getattr(outline("ex_ante", self.lang).make_module(context), name)(r))

    def record(self):
        """The result for the index: score and conclusion, or pending."""
        r = self.result.record()
        return record(job=JOB.name, lang=self.lang, score=r["score"], rating=self.conclusion_label(self.result.conclusion), status=r["status"])

    def dimension_table(self) -> pd.DataFrame:
        """Each dimension's points in the preset and the request's score."""
        table = pd.DataFrame({"points": self.result.points, "score": self.result.by_dimension})
        table.index = table.index.map(self.label)
        headers = texts("ex_ante.dimensions", self.lang)
        table = table[["points", "score"]].round(2)
        table["score"] = table["score"].astype(object).where(table["score"].notna(), text("common.draft", self.lang))
        return table.rename(columns=headers).rename_axis(headers["dimension"])

    def targets_table(self) -> pd.DataFrame:
        """The request's performance targets with the library's unit and the unit's own history."""
        targets = pd.DataFrame(self.result.request.get("targets") or [])
        if targets.empty:
            return targets
        columns = texts("ex_ante.targets", self.lang)
        targets = targets.reindex(columns=list(columns))  # a hand-written file may omit some
        targets["level1"] = targets["level1"].map(lambda v: self.label(v) if isinstance(v, str) else v)
        for column in ("target_value", "history"):
            targets[column] = targets[column].map(lambda v: MISSING if v is None or pd.isna(v) else f"{v:,.2f}"
                                                  .rstrip("0").rstrip("."))
        return targets.astype(object).where(targets.notna(), MISSING).rename(columns=columns)


def read_request_file(path) -> tuple[dict, dict]:
    """A request written by hand as YAML (or JSON): its fields, ``targets`` and ``answers``.

    Example::

        request_id: R-2027-临时01
        name: 道路养护增量项目
        amount: 92000000
        direction: D131
        quantity: 120
        region: 中心城区
        grade: 主干道
        year: 2027
        targets:
          - {name: 道路养护里程数量, level1: 产出, value_type: quantitative, polarity: positive,
             target_value: 120, measure_unit: 公里, library_unit: 公里}
        answers: {necessity: [80, 85, 90], feasibility: 75, financing: {资金来源合规: true}}
    """
    import yaml

    from perfkit.errors import DataError, Problem, reason
    from perfkit.text import load_yaml

    path = Path(path)
    try:
        raw = load_yaml(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(Problem(path.name, reason("request_unreadable", error=exc))) from exc
    if not isinstance(raw, dict):
        raise DataError(Problem(path.name, reason("request_not_mapping")))
    answers = raw.pop("answers", {}) or {}
    request = {"request_id": path.stem, "name": path.stem, "unit_name": "", "direction_name": raw.get("direction"),
               "output_unit": "", "financing_source": "", "quantity": None, "region": None, "grade": None,
               "year": None, "targets": [], **raw}
    return request, answers


def exante_assessment(store: Store, request_id: str | None = None, preset: PresetLike = "default",
                      lang: str = "zh", request_file=None) -> ExAnteView:
    """Assess a stored request (or one written in ``request_file``) against the store's quota standards."""
    from perfkit.exante import assess
    from perfkit.quota.standards import stored_standards   # statsmodels, on first use

    if request_file:
        request, answers = read_request_file(request_file)
    elif request_id:
        request, answers = queries.request(store, request_id)
    else:
        raise ValueError("give a request_id or a request_file")
    return ExAnteView(assess(request, stored_standards(store), answers, preset), lang=lang)


__all__ = ["JOB", "ExAnteView", "exante_assessment", "read_request_file"]

