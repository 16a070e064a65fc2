"""A unit's performance portrait (绩效画像): its figures over the years, its place among its peers, and a
short profile written from those figures.

:func:`portrait` gathers, for one unit and a range of years: execution and target completion, unit
costs against the direction's median, key-evaluation and self-evaluation results, year-end
monitoring lights, findings (classified as in the case compilation) with their recommendations, and
its rank and peer group in the one-scale comparison of its field (:mod:`perfkit.comparison`). The
profile's sentences come from the text catalogue (``portrait.*``), chosen by rules of the preset
(``comparison.profile_margin``, ``comparison.top_share``), never written per unit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from perfkit import queries
from perfkit.errors import DataError, Problem, reason
from perfkit.results import Result, make_record, missing_frame
from perfkit.rules import PresetLike, load_preset
from perfkit.text import Message

__all__ = ["Portrait", "portrait"]


@dataclass
class Portrait(Result):
    """One unit's portrait; build it with :func:`portrait`. ``table`` is its indicators and scores by year.

    Attributes
    ----------
    unit : Series
        The unit (``unit_id``, ``name``, ``level``, ``field``...).
    years : list of int
    indicators : DataFrame
        Its comparison indicators by year, as measured.
    scores : DataFrame
        By year: TOPSIS score, rank among the field's units, number ranked, peer group, missing indicators.
    normalised, peers : DataFrame
        Its normalised indicators by year, and its peer group's mean in the same year.
    sensitivity : DataFrame
        Its rank's spread under Monte Carlo weights, by year.
    key_evaluations : DataFrame
        Its key-evaluated projects: project, name, year, score and rating (None for a draft).
    self_evaluations : DataFrame
        By year: projects, mean score, ratings and drafts of its self-evaluation.
    lights : DataFrame
        By year: its projects green, yellow and red at year-end monitoring.
    findings : DataFrame
        Its findings with their kind (recorded or suggested) and recommendation.
    """

    unit: pd.Series
    years: list[int]
    indicators: pd.DataFrame
    scores: pd.DataFrame
    normalised: pd.DataFrame
    peers: pd.DataFrame
    sensitivity: pd.DataFrame
    key_evaluations: pd.DataFrame
    self_evaluations: pd.DataFrame
    lights: pd.DataFrame
    findings: pd.DataFrame
    weights: pd.Series
    preset: object = field(repr=False, default=None)
    kind = "单位绩效画像"

    @property
    def table(self) -> pd.DataFrame:
        """By year: the comparison indicators as measured, the score, rank, units ranked and peer group."""
        return self.indicators.join(self.scores, how="outer")

    def summary(self) -> pd.DataFrame:
        """By year: the TOPSIS score, the rank among the field's units, the units ranked and the peer group."""
        return self.scores[["topsis", "rank", "units", "peer_group"]]

    @property
    def is_draft(self) -> bool:
        """True when the unit is ranked in no year (too few of its indicators are known)."""
        return self.latest is None

    @property
    def missing(self) -> pd.DataFrame:
        """The indicator values the unit lacks, by year."""
        unit_id = self.unit["unit_id"]
        return missing_frame([dict(subject=f"{unit_id}-{year}", item=name, evidence="indicator_values")
                              for year, row in self.indicators.iterrows() for name, value in row.items()
                              if pd.isna(value)])

    def record(self) -> dict:
        """The index row: the unit and its latest TOPSIS score (0-1); a draft when it is never ranked."""
        year = self.latest
        score = None if year is None else float(self.scores.loc[year, "topsis"])
        return make_record(self.unit["unit_id"], score, None, self.is_draft)

    @property
    def latest(self) -> int | None:
        """The latest year in which the unit is ranked (None when it never is)."""
        ranked = self.scores["rank"].dropna()
        return int(ranked.index.max()) if len(ranked) else None

    def gaps(self, year: int | None = None) -> pd.Series:
        """Normalised indicator minus its peer group's mean in ``year`` (default: the latest ranked year)."""
        year = self.latest if year is None else year
        if year is None or year not in self.normalised.index:
            return pd.Series(dtype=float)
        return (self.normalised.loc[year] - self.peers.loc[year]).dropna()

    def profile(self) -> dict[str, list[Message]]:
        """The written profile as notes: ``strengths``, ``risks`` and ``focus`` (see the module doc)."""
        rules = load_preset(self.preset).comparison
        notes: dict[str, list[Message]] = {"standing": [], "strengths": [], "risks": [], "focus": []}
        year = self.latest
        if year is None:
            notes["standing"].append(Message("portrait_unranked", {}))
            return notes
        row = self.scores.loc[year]
        notes["standing"].append(Message("portrait_standing", {
            "year": year, "rank": int(row["rank"]), "units": int(row["units"]), "group": int(row["peer_group"])
            if not pd.isna(row["peer_group"]) else "—", "score": float(row["topsis"])}))
        gaps = self.gaps(year)
        for indicator, gap in gaps.sort_values(ascending=False).items():
            if gap >= rules.profile_margin:
                notes["strengths"].append(Message("portrait_strength", {"indicator": indicator, "gap": gap}))
        for indicator, gap in gaps.sort_values().items():
            if gap <= -rules.profile_margin:
                notes["risks"].append(Message("portrait_risk", {"indicator": indicator, "gap": -gap}))
        if year in self.lights.index and self.lights.loc[year].get("red", 0) > 0:
            notes["risks"].append(Message("portrait_red", {"year": year, "red": int(self.lights.loc[year]["red"])}))
        recurring = self.findings.groupby("case_name")["year"].nunique()
        for name, years in recurring[recurring >= load_preset(self.preset).cases.recurrence_years].items():
            notes["risks"].append(Message("portrait_recurring", {"kind": name, "years": int(years)}))
        weakest = gaps[gaps < 0].sort_values()
        if len(weakest):
            notes["focus"].append(Message("portrait_focus", {"indicator": weakest.index[0]}))
        else:
            notes["focus"].append(Message("portrait_focus_keep", {}))
        return notes


def portrait(store, unit_id: str, years=None, preset: PresetLike = "default") -> Portrait:
    """Build the portrait of ``unit_id`` over ``years`` (default: every closed year of the store).

    Raises
    ------
    perfkit.DataError
        When the unit is not in the store or no year has data.
    """
    from perfkit.cases import classify_findings
    from perfkit.comparison import compare, indicators_from_store, year_end_lights
    from perfkit.evaluation import evaluate_many, self_evaluate

    preset = load_preset(preset)
    unit = queries.unit(store, unit_id)
    years = sorted(int(y) for y in (years or queries.closed_years(store)))
    if not years:
        raise DataError(Problem("store", reason("no_closed_year")))
    lights = year_end_lights(store, years, preset)
    values = indicators_from_store(store, years, field=unit["field"], preset=preset, lights=lights)
    results = compare(values, preset)
    mine = lambda frame: frame.xs(unit_id, level="unit_id") if unit_id in frame.index.get_level_values("unit_id") \
        else frame.iloc[0:0].droplevel("unit_id")                                                   # noqa: E731
    scores, normalised = mine(results.scores), mine(results.normalised)
    peers = pd.DataFrame({year: results.normalised.xs(year, level="year")[
        results.scores.xs(year, level="year")["peer_group"] == scores.loc[year, "peer_group"]].mean()
        for year in scores.index if not pd.isna(scores.loc[year, "peer_group"])}).T
    key = []
    own = queries.panel_projects_of(store, years, units=[unit_id])
    evaluated = evaluate_many(store, own["project_id"], preset)
    for project_id, _, year in own.itertuples(index=False):
        result = evaluated[project_id]
        key.append({"project_id": project_id, "name": result.project["name"], "year": int(year),
                    "total": result.total, "rating": result.rating})
    self_rows = []
    for year in years:
        try:
            summary = self_evaluate(store, unit_id, year, preset).summary().to_dict("records")[0]
        except DataError:                       # no projects that year: nothing to self-evaluate
            continue
        self_rows.append({"year": year, **summary})
    light_counts = pd.DataFrame({year: frame.loc[frame["unit_id"].eq(unit_id), "light"].value_counts()
                                 for year, frame in lights.items()}).T.reindex(columns=["green", "yellow", "red"]) \
        .fillna(0).astype(int)
    findings = classify_findings(queries.findings_with_projects(store), preset)
    findings = findings[findings["unit_id"].eq(unit_id) & findings["year"].isin(years)]
    return Portrait(unit=unit, years=years, indicators=mine(values), scores=scores, normalised=normalised,
                    peers=peers.reindex(columns=normalised.columns), sensitivity=mine(results.sensitivity()),
                    key_evaluations=pd.DataFrame(key, columns=["project_id", "name", "year", "total", "rating"]),
                    self_evaluations=pd.DataFrame(self_rows).set_index("year") if self_rows else pd.DataFrame(),
                    lights=light_counts, findings=findings.reset_index(drop=True), weights=results.weights,
                    preset=preset)
