"""Every SQL query of perfkit, in one place; the engines take the frames these return.

Queries that repeat are DuckDB views, created as temporary views on the store's
connection (so they work on a read-only store too):

``budget_in_force``
    one row per project and year: ``amount``, ``adjusted_amount`` and ``budget``, the
    budget in force (the adjusted amount where there is one, else the initial amount).
``project_facts``
    every project with its ``unit_name``, ``parent_id``, ``direction_name``,
    ``output_unit`` and its ``budget`` in force in the project's year.

Every query takes its values as parameters, never by string formatting.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from perfkit.store import Store

_VIEWS = {
    "budget_in_force": """
        SELECT project_id, year, amount, adjusted_amount, coalesce(adjusted_amount, amount) AS budget
        FROM budgets""",
    "project_facts": """
        SELECT p.*, u.name AS unit_name, u.parent_id, d.name AS direction_name, d.output_unit, b.budget
        FROM projects p JOIN units u USING (unit_id) JOIN directions d ON d.direction_id = p.direction
        LEFT JOIN budget_in_force b ON b.project_id = p.project_id AND b.year = p.year""",
}


def _query(store: Store, sql: str, params: list | dict | None = None) -> pd.DataFrame:
    if not getattr(store, "_perfkit_views", False):
        for name, body in _VIEWS.items():
            store.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {body}")
        store._perfkit_views = True
    return store.query(sql, params)


def _none_for_missing(record: dict) -> dict:
    return {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in record.items()}


def row_counts(store: Store) -> dict[str, int]:
    """Rows of each table in the store, data-model tables first."""
    return {table: int(store.con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # names from the catalog
            for table in store.tables()}


# -- projects ----------------------------------------------------------------------------------
def project(store: Store, project_id: str) -> pd.Series:
    """One project with its unit, direction and budget in force.

    Raises
    ------
    KeyError
        When the project is not in the store.
    """
    row = _query(store, "SELECT * FROM project_facts WHERE project_id = ?", [project_id])
    if row.empty:
        raise KeyError(f"project {project_id!r} is not in the store {store.path}")
    return row.iloc[0]


def budget_amounts(store: Store, project_id: str) -> tuple[float, float]:
    """The initial budget and the budget in force of a project (NaN when it has no budget)."""
    money = _query(store, "SELECT amount, budget FROM budget_in_force WHERE project_id = ?", [project_id])
    if money.empty:
        return float("nan"), float("nan")
    return float(money["amount"].iloc[0]), float(money["budget"].iloc[0])


def spent(store: Store, project_ids: list[str]) -> pd.Series:
    """Spending to the last month reported in each project's year, by project_id."""
    frame = _query(store, """
        SELECT e.project_id, arg_max(e.spent_cumulative, e.month) AS spent
        FROM execution e JOIN projects p USING (project_id)
        WHERE year(e.month) = p.year AND e.project_id IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY 1""", [list(project_ids)])
    return frame.set_index("project_id")["spent"]


def execution(store: Store, project_id: str) -> pd.DataFrame:
    """A project's monthly cumulative spending, ``month`` as datetimes, in order."""
    frame = _query(store, "SELECT month, spent_cumulative FROM execution WHERE project_id = ? ORDER BY month",
                   [project_id])
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def indicators(store: Store, project_ids: list[str]) -> pd.DataFrame:
    """The performance indicators of projects: library fields, target and actual values."""
    return _query(store, """
        SELECT t.project_id, i.indicator_id, i.level1, i.level2, i.name, i.measure_unit, i.polarity,
               i.value_type, t.target_value, t.target_text, a.actual_value, a.grade
        FROM targets t JOIN indicators i USING (indicator_id)
        LEFT JOIN actuals a ON a.project_id = t.project_id AND a.indicator_id = t.indicator_id
        WHERE t.project_id IN (SELECT unnest(?::VARCHAR[]))
        ORDER BY t.project_id, i.indicator_id""", [list(project_ids)])


@dataclass
class ProjectEvidence:
    """What a key evaluation rests on: the project, its money, expert scores, findings, indicators."""

    project: pd.Series
    budget: float
    spent: float | None
    expert_scores: pd.DataFrame
    findings: pd.DataFrame
    indicators: pd.DataFrame
    #: the new fields' facts of the project (:mod:`perfkit.evaluation.fields`; None where missing)
    facts: dict = field(default_factory=dict)
    #: the records of its field's ledgers (bond schedule, contributions, contracts...), by table
    ledgers: dict = field(default_factory=dict)


def project_evidence(store: Store, project_id: str) -> ProjectEvidence:
    """Everything the store holds on one project for its key evaluation.

    Raises
    ------
    KeyError
        When the project is not in the store.
    """
    found = projects_evidence(store, [project_id])
    if project_id not in found:
        raise KeyError(f"project {project_id!r} is not in the store {store.path}")
    return found[project_id]


def projects_evidence(store: Store, project_ids: list[str]) -> dict[str, ProjectEvidence]:
    """:func:`project_evidence` of each of ``project_ids`` that is in the store, in the order given.

    One query per table, not per project: each query scans and joins whole tables, which costs the same
    for one project as for a field's. The values are those :func:`project_evidence` reads; a text column
    that is empty for one project (all missing) takes the type the others give it.
    """
    ids = list(dict.fromkeys(project_ids))
    facts = _query(store, "SELECT * FROM project_facts WHERE project_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
    spending = spent(store, ids)
    # rowid: the order the rows were loaded in, as a query of one project returns them
    experts = _query(store, "SELECT project_id, expert_id, item, score FROM expert_scores "
                            "WHERE project_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY rowid", [ids])
    findings = _query(store, "SELECT * FROM findings WHERE project_id IN (SELECT unnest(?::VARCHAR[])) "
                             "ORDER BY project_id, finding_id", [ids])
    targets = indicators(store, ids)

    def split(frame: pd.DataFrame, keep_id: bool = True) -> dict[str, pd.DataFrame]:
        """Each project's rows of ``frame``, indexed from 0 as a query of one project returns them."""
        rows = frame.groupby("project_id", sort=False).indices
        frame = frame if keep_id else frame.drop(columns="project_id")
        empty = frame.iloc[0:0].reset_index(drop=True)
        return {pid: frame.iloc[rows[pid]].reset_index(drop=True) if pid in rows else empty for pid in ids}

    experts_of, findings_of, targets_of = split(experts, keep_id=False), split(findings), split(targets)
    from perfkit.evaluation.fields import project_facts, project_ledgers   # (the evaluation imports this module)

    known, categories = facts["project_id"].tolist(), dict(zip(facts["project_id"], facts["category"]))
    field_facts = project_facts(store, known, dict(zip(facts["project_id"], facts["budget"])), spending.to_dict(),
                                categories)
    ledgers = project_ledgers(store, known, categories)
    found = {}
    for position, project_id in enumerate(facts["project_id"]):
        row = facts.iloc[[position]].reset_index(drop=True).iloc[0]   # as a one-row query returns it
        found[project_id] = ProjectEvidence(
            project=row, budget=float(row["budget"]) if not pd.isna(row["budget"]) else float("nan"),
            spent=float(spending.loc[project_id]) if project_id in spending.index else None,
            expert_scores=experts_of[project_id], findings=findings_of[project_id], indicators=targets_of[project_id],
            facts=field_facts[project_id], ledgers=ledgers[project_id])
    return {pid: found[pid] for pid in ids if pid in found}


def panel_projects(store: Store, year: int) -> list[str]:
    """Projects of ``year`` with an expert panel (the subjects of key evaluations)."""
    return _query(store, """SELECT DISTINCT e.project_id FROM expert_scores e JOIN projects p USING (project_id)
                            WHERE p.year = ? ORDER BY 1""", [int(year)])["project_id"].tolist()


# -- units --------------------------------------------------------------------------------------
@dataclass
class UnitEvidence:
    """What a unit's self-evaluation rests on: the unit, its projects, their spending and indicators."""

    unit: pd.Series
    year: int
    projects: pd.DataFrame
    spent: pd.Series
    indicators: pd.DataFrame


def unit_evidence(store: Store, unit_id: str, year: int) -> UnitEvidence:
    """A unit's projects of ``year`` (its own and its second-level units') with spending and indicators.

    Raises
    ------
    KeyError
        When the unit is not in the store or has no projects that year.
    """
    unit = _query(store, "SELECT * FROM units WHERE unit_id = ?", [unit_id])
    if unit.empty:
        raise KeyError(f"unit {unit_id!r} is not in the store {store.path}")
    projects = _query(store, """
        SELECT project_id, name, unit_id, unit_name, category, budget FROM project_facts
        WHERE year = ? AND (unit_id = ? OR parent_id = ?) ORDER BY project_id""", [int(year), unit_id, unit_id])
    if projects.empty:
        raise KeyError(f"unit {unit_id!r} has no projects in {year}")
    ids = projects["project_id"].tolist()
    return UnitEvidence(unit=unit.iloc[0], year=int(year), projects=projects, spent=spent(store, ids),
                        indicators=indicators(store, ids))


# -- execution paths (monitoring, overview) ---------------------------------------------------------
def monthly_rates(store: Store, years: list[int]) -> pd.DataFrame:
    """Execution rate (cumulative spending / budget in force) of each project of ``years`` at each month
    end, months 1-12 carried forward over missing reports; one row per project, one column per month."""
    frame = _query(store, """
        SELECT e.project_id, month(e.month) AS m, e.spent_cumulative / b.budget AS rate
        FROM execution e JOIN projects p USING (project_id)
        JOIN budget_in_force b ON b.project_id = p.project_id AND b.year = p.year
        WHERE year(e.month) = p.year AND b.budget > 0 AND year(e.month) IN (SELECT unnest(?::INTEGER[]))""",
                   [[int(y) for y in years]])
    wide = frame.pivot_table(index="project_id", columns="m", values="rate", aggfunc="last")
    return wide.reindex(columns=range(1, 13)).ffill(axis=1)


def closed_years(store: Store, before_year: int | None = None) -> list[int]:
    """Years with December execution records (closed years), before ``before_year`` when given."""
    return sorted(_query(store, """SELECT DISTINCT year(month) AS y FROM execution
                                   WHERE month(month) = 12 AND (? IS NULL OR year(month) < ?)""",
                         [before_year, before_year])["y"].astype(int).tolist())


def monitored_projects(store: Store, year: int, unit: str | None = None) -> pd.DataFrame:
    """Projects of ``year`` (of one unit and its second-level units when ``unit`` is given)."""
    return _query(store, """
        SELECT project_id, unit_id, unit_name, name, start_date, end_date, budget FROM project_facts
        WHERE year = $year AND ($unit IS NULL OR unit_id = $unit OR parent_id = $unit) ORDER BY project_id""",
                  {"year": int(year), "unit": unit})


def reported_projects(store: Store, year: int, as_of) -> set[str]:
    """Projects with execution records in ``year`` up to ``as_of``."""
    return set(_query(store, """SELECT DISTINCT project_id FROM execution WHERE year(month) = ? AND month <= ?""",
                      [int(year), pd.Timestamp(as_of)])["project_id"])


def count_targets_to_date(store: Store, project_ids: list[str], as_of) -> pd.DataFrame:
    """Quantitative, positive count targets (not %) with an actual reported by ``as_of``, with the period."""
    return _query(store, """
        SELECT t.project_id, t.target_value, a.actual_value, p.start_date, p.end_date
        FROM targets t JOIN indicators i USING (indicator_id) JOIN projects p ON p.project_id = t.project_id
        JOIN actuals a ON a.project_id = t.project_id AND a.indicator_id = t.indicator_id
        WHERE i.value_type = 'quantitative' AND i.polarity = 'positive' AND coalesce(i.measure_unit, '') <> '%'
          AND a.as_of <= ? AND t.target_value > 0 AND a.actual_value IS NOT NULL
          AND t.project_id IN (SELECT unnest(?::VARCHAR[]))""", [pd.Timestamp(as_of), list(project_ids)])


def project_targets(store: Store, project_id: str) -> pd.DataFrame:
    """A project's targets with library fields and actuals (the overview's table)."""
    return _query(store, """
        SELECT i.level1, i.level2, i.name, i.measure_unit, i.polarity, i.value_type,
               t.indicator_id, t.target_value, t.target_text, a.actual_value, a.grade
        FROM targets t JOIN indicators i USING (indicator_id)
        LEFT JOIN actuals a ON a.project_id = t.project_id AND a.indicator_id = t.indicator_id
        WHERE t.project_id = ? ORDER BY t.indicator_id""", [project_id])


# -- requests (ex-ante) ------------------------------------------------------------------------------
def request_ids(store: Store, year: int | None = None) -> list[str]:
    """Every stored request (of budget year ``year``)."""
    return _query(store, "SELECT request_id FROM requests WHERE ? IS NULL OR year = ? ORDER BY request_id",
                  [year, year])["request_id"].tolist()


def request(store: Store, request_id: str) -> tuple[dict, dict]:
    """The request mapping (see :func:`perfkit.exante.assess`) and the expert answers of a stored request."""
    found = requests(store, [request_id])
    if request_id not in found:
        raise KeyError(f"request {request_id!r} is not in the store {store.path}")
    return found[request_id]


def requests(store: Store, request_ids: list[str]) -> dict[str, tuple[dict, dict]]:
    """:func:`request` of each of ``request_ids`` in the store (one query per table, not per request:
    the targets' history subquery costs 10 ms a call), by request id in the order given."""
    ids = list(dict.fromkeys(request_ids))
    rows = _query(store, """SELECT r.*, u.name AS unit_name, d.name AS direction_name, d.output_unit
                            FROM requests r JOIN units u USING (unit_id)
                            JOIN directions d ON d.direction_id = r.direction
                            WHERE r.request_id IN (SELECT unnest(?::VARCHAR[]))""", [ids])
    targets = _query(store, """
        SELECT t.request_id, i.name, i.level1, i.level2, i.value_type, i.polarity, i.measure_unit AS library_unit,
               t.target_value, t.measure_unit,
               (SELECT CASE WHEN i.polarity = 'reverse' THEN min(a.actual_value) ELSE max(a.actual_value) END
                FROM actuals a JOIN projects p USING (project_id)
                WHERE a.indicator_id = t.indicator_id AND p.unit_id = r.unit_id AND p.year < r.year) AS history
        FROM request_targets t JOIN requests r USING (request_id) JOIN indicators i USING (indicator_id)
        WHERE t.request_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY t.request_id, t.indicator_id""", [ids])
    scores = _query(store, "SELECT request_id, dimension, score FROM request_scores "
                           "WHERE request_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY rowid", [ids])
    # grouped in plain Python: a pandas group per request costs more than the queries
    targets_of: dict[str, list[dict]] = {}
    for target in targets.to_dict("records"):
        targets_of.setdefault(target.pop("request_id"), []).append(_none_for_missing(target))
    scores_of: dict[str, dict[str, list]] = {}
    for rid, dimension, score in scores.itertuples(index=False, name=None):
        scores_of.setdefault(rid, {}).setdefault(dimension, []).append(score)
    by_id = {row["request_id"]: _none_for_missing(row) for row in rows.to_dict("records")}
    return {rid: ({**by_id[rid], "targets": targets_of.get(rid, [])},
                  dict(sorted(scores_of.get(rid, {}).items())))       # dimensions in order, as groupby gives them
            for rid in ids if rid in by_id}


# -- cost records (quota standards) ------------------------------------------------------------------
def cost_records(store: Store, direction: str | None = None) -> pd.DataFrame:
    """Cost records (of one direction), in record order."""
    return _query(store, "SELECT * FROM cost_records WHERE ? IS NULL OR direction = ? ORDER BY record_id",
                  [direction, direction])


def direction(store: Store, direction_id: str) -> pd.Series:
    """One expenditure direction (name, output unit...)."""
    row = _query(store, "SELECT * FROM directions WHERE direction_id = ?", [direction_id])
    if row.empty:
        raise KeyError(f"direction {direction_id!r} is not in the store {store.path}")
    return row.iloc[0]


def optional_table(store: Store, name: str, where_direction: str | None = None) -> pd.DataFrame | None:
    """A table the store may lack (``price_index``, ``cost_truth``...): None when absent or empty."""
    if name not in store.tables():
        return None
    if where_direction is None:
        frame = store.table(name)
    else:
        frame = _query(store, f'SELECT * FROM "{name}" WHERE direction = ?', [where_direction])
    return frame if len(frame) else None


# -- the demo's showcase subjects ------------------------------------------------------------------
def showcase_projects(store: Store, closed_year: int, current_year: int) -> list[str]:
    """Projects that show the overview well: the largest closed-year project, the closed-year project
    furthest behind in spending, and the largest project of the running year."""
    picks = _query(store, """
        WITH rates AS (
            SELECT f.project_id, f.year, f.budget, max(e.spent_cumulative) / f.budget AS rate
            FROM project_facts f JOIN execution e USING (project_id)
            GROUP BY f.project_id, f.year, f.budget
        )
        (SELECT project_id FROM rates WHERE year = $closed ORDER BY budget DESC, project_id LIMIT 1)
        UNION ALL
        (SELECT project_id FROM rates WHERE year = $closed AND budget > 1e6 ORDER BY rate, project_id LIMIT 1)
        UNION ALL
        (SELECT project_id FROM rates WHERE year = $current ORDER BY budget DESC, project_id LIMIT 1)""",
                   {"closed": int(closed_year), "current": int(current_year)})
    return list(dict.fromkeys(picks["project_id"]))


def largest_panel_projects(store: Store, n: int = 10) -> list[str]:
    """The ``n`` largest projects with an expert panel, latest year first."""
    return _query(store, """
        SELECT f.project_id FROM project_facts f JOIN budget_in_force b ON b.project_id = f.project_id
        WHERE f.project_id IN (SELECT project_id FROM expert_scores)
        ORDER BY f.year DESC, b.amount DESC, f.project_id LIMIT ?""", [int(n)])["project_id"].tolist()


def busiest_units(store: Store, year: int, n: int = 3) -> list[str]:
    """The ``n`` first-level units with the most projects (their own and their subordinates') in ``year``."""
    return _query(store, """
        SELECT coalesce(parent_id, unit_id) AS unit_id FROM project_facts
        WHERE year = ? GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?""", [int(year), int(n)])["unit_id"].tolist()


# -- the subjects of a batch -------------------------------------------------------------------------
def subjects(store: Store, sql: str, parameters: dict) -> list[str]:
    """The subjects a batch query selects (a job's :class:`perfkit.reports.registry.Batch`), in order.

    ``parameters`` are the query's SQL parameters; those the query does not use are left out.
    """
    used = {k: v for k, v in parameters.items() if f"${k}" in sql}
    return _query(store, sql, used)["subject"].astype(str).tolist()


# -- one scale for units (perfkit.comparison, perfkit.portrait) ----------------------------------------
_UNITS_OF = """(($field::VARCHAR IS NULL OR u.field = $field)
                AND ($units::VARCHAR[] IS NULL OR u.unit_id IN (SELECT unnest($units::VARCHAR[]))))"""


def unit_year_targets(store: Store, years: list[int], *, field: str | None = None,
                      units: list[str] | None = None) -> pd.DataFrame:
    """The quantitative, positive or reverse targets (target > 0) with their actuals of the units' projects
    of ``years``: unit_id, year, level1, measure_unit, polarity, target_value, actual_value (the comparison's
    target completion and satisfaction)."""
    params = {"years": [int(y) for y in years], "field": field, "units": None if units is None else list(units)}
    return _query(store, f"""
        WITH mine AS (
            SELECT f.project_id, f.unit_id, f.year FROM project_facts f JOIN units u USING (unit_id)
            WHERE f.year IN (SELECT unnest($years::INTEGER[])) AND {_UNITS_OF})
        SELECT m.unit_id, m.year, i.level1, i.measure_unit, i.polarity, t.target_value, a.actual_value
        FROM mine m JOIN targets t USING (project_id) JOIN indicators i USING (indicator_id)
        JOIN actuals a ON a.project_id = t.project_id AND a.indicator_id = t.indicator_id
        WHERE i.value_type = 'quantitative' AND i.polarity IN ('positive', 'reverse')
          AND t.target_value > 0 AND a.actual_value IS NOT NULL
        ORDER BY m.unit_id, m.year, t.project_id, t.indicator_id""", params)


def unit_year_indicators(store: Store, years: list[int], *, field: str | None = None,
                         units: list[str] | None = None) -> pd.DataFrame:
    """Per unit and year: execution rate, unit cost ratio and findings per 100万元, the comparison's indicators
    that SQL measures (see :mod:`perfkit.comparison`); target completion and satisfaction are measured from
    :func:`unit_year_targets`."""
    params = {"years": [int(y) for y in years], "field": field, "units": None if units is None else list(units)}
    frame = _query(store, f"""
        WITH mine AS (
            SELECT f.project_id, f.unit_id, f.year, f.budget FROM project_facts f JOIN units u USING (unit_id)
            WHERE f.year IN (SELECT unnest($years::INTEGER[])) AND {_UNITS_OF}),
        spent AS (
            SELECT e.project_id, max(e.spent_cumulative) AS spent FROM execution e JOIN mine m USING (project_id)
            WHERE year(e.month) = m.year GROUP BY 1),
        money AS (
            SELECT m.unit_id, m.year, sum(s.spent) / nullif(sum(m.budget) FILTER (WHERE s.spent IS NOT NULL), 0)
                   AS execution_rate, sum(m.budget) AS budget
            FROM mine m LEFT JOIN spent s USING (project_id) WHERE m.budget > 0 GROUP BY 1, 2),
        found AS (
            SELECT m.unit_id, m.year, count(*) AS findings FROM findings fi JOIN mine m USING (project_id)
            GROUP BY 1, 2),
        costs AS (
            SELECT c.unit_id, c.year, c.cost / c.quantity
                   / median(c.cost / c.quantity) OVER (PARTITION BY c.direction, c.grade, c.year) AS ratio
            FROM cost_records c WHERE c.year IN (SELECT unnest($years::INTEGER[]))),
        unit_costs AS (
            SELECT c.unit_id, c.year, avg(c.ratio) AS unit_cost_ratio FROM costs c JOIN units u USING (unit_id)
            WHERE {_UNITS_OF} GROUP BY 1, 2),
        keys AS (SELECT unit_id, year FROM money UNION SELECT unit_id, year FROM unit_costs)
        SELECT k.unit_id, k.year, money.execution_rate, unit_costs.unit_cost_ratio,
               CASE WHEN money.budget > 0 THEN coalesce(found.findings, 0) / (money.budget / 1e6) END
                   AS findings_per_million
        FROM keys k LEFT JOIN money USING (unit_id, year)
        LEFT JOIN found USING (unit_id, year) LEFT JOIN unit_costs USING (unit_id, year)
        ORDER BY k.unit_id, k.year""", params)
    frame["year"] = frame["year"].astype(int)
    return frame.set_index(["unit_id", "year"]).astype(float)


def panel_projects_of(store: Store, years: list[int], *, field: str | None = None,
                      units: list[str] | None = None) -> pd.DataFrame:
    """Projects with expert scores (key evaluations) of the units (of ``field``) in ``years``."""
    return _query(store, f"""
        SELECT DISTINCT p.project_id, p.unit_id, p.year FROM projects p JOIN units u USING (unit_id)
        WHERE p.project_id IN (SELECT project_id FROM expert_scores)
          AND p.year IN (SELECT unnest($years::INTEGER[])) AND {_UNITS_OF}
        ORDER BY 1""",
                  {"years": [int(y) for y in years], "field": field, "units": None if units is None else list(units)})


def findings_with_projects(store: Store, years: list[int] | None = None) -> pd.DataFrame:
    """Every finding (of projects of ``years``) with its project's unit, field, year, budget and year-end spending."""
    return _query(store, """
        WITH spent AS (SELECT e.project_id, max(e.spent_cumulative) AS spent FROM execution e
                       JOIN projects p USING (project_id) WHERE year(e.month) = p.year GROUP BY 1)
        SELECT fi.*, f.name AS project_name, f.unit_id, f.unit_name, u.field, f.year, f.budget, s.spent
        FROM findings fi JOIN project_facts f USING (project_id) JOIN units u ON u.unit_id = f.unit_id
        LEFT JOIN spent s ON s.project_id = fi.project_id
        WHERE $years::INTEGER[] IS NULL OR f.year IN (SELECT unnest($years::INTEGER[]))
        ORDER BY fi.finding_id""", {"years": None if years is None else [int(y) for y in years]})


def unit(store: Store, unit_id: str) -> pd.Series:
    """One unit (``unit_id``, ``name``, ``level``, ``parent_id``, ``field``).

    Raises
    ------
    perfkit.DataError
        When the unit is not in the store.
    """
    from perfkit.errors import DataError, Problem, reason

    frame = _query(store, "SELECT * FROM units WHERE unit_id = ?", [unit_id])
    if frame.empty:
        raise DataError(Problem("units", reason("unknown_unit", unit_id=unit_id), column="unit_id"))
    return frame.iloc[0]
