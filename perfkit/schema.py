"""The data model: one pandera schema per table, with its keys and references.

The schemas say what a valid table is (columns, types, ranges, allowed codes);
``perfkit.io`` turns raw files into frames of these types and reports every
problem with its file, row and column; ``perfkit.store`` derives the DuckDB
tables from the same schemas.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandera.pandas as pa

from perfkit.text import codes

STRING = "string"
INTEGER = "Int64"        # nullable integer
FLOAT = "float64"
DATE = "datetime64[ns]"
BOOLEAN = "boolean"


def _id(unique: bool = False) -> pa.Column:
    return pa.Column(STRING, nullable=False, unique=unique, checks=pa.Check.str_length(min_value=1))


def _text(nullable: bool = False) -> pa.Column:
    return pa.Column(STRING, nullable=nullable)


def _code(kind: str, nullable: bool = False) -> pa.Column:
    return pa.Column(STRING, nullable=nullable, checks=pa.Check.isin(codes(kind)))


def _amount(nullable: bool = False, strictly_positive: bool = False) -> pa.Column:
    check = pa.Check.gt(0) if strictly_positive else pa.Check.ge(0)
    return pa.Column(FLOAT, nullable=nullable, checks=check)


def _year() -> pa.Column:
    return pa.Column(INTEGER, nullable=False, checks=pa.Check.in_range(1990, 2100))


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` of this table refer to ``ref_columns`` of ``ref_table``."""

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    """A table of the data model."""

    name: str
    schema: pa.DataFrameSchema
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    enums: dict[str, str] = field(default_factory=dict)  # column -> catalogue value kind
    #: (column, limit): a value of ``column`` may not exceed the row's ``limit`` (accepted ≤ delivered...)
    limits: tuple[tuple[str, str], ...] = ()

    @property
    def columns(self) -> list[str]:
        return list(self.schema.columns)

    def dtype(self, column: str) -> str:
        """The column's type as one of STRING, INTEGER, FLOAT, DATE, BOOLEAN."""
        declared = str(self.schema.columns[column].dtype)
        return STRING if declared.startswith("string") else declared


def _fk(column: str, table: str, ref: str | None = None) -> ForeignKey:
    return ForeignKey((column,), table, (ref or column,))


def _spec(name, columns, key, fks=(), enums=None, limits=()) -> TableSpec:
    schema = pa.DataFrameSchema(columns, name=name, strict=False, ordered=False)
    return TableSpec(name, schema, tuple(key), tuple(fks), dict(enums or {}), tuple(limits))


_TABLES = [
    _spec("units", {
        "unit_id": _id(unique=True),
        "name": _text(),
        "level": pa.Column(INTEGER, checks=pa.Check.isin([1, 2])),
        "parent_id": _text(nullable=True),
        "field": _code("field"),
    }, key=["unit_id"], fks=[_fk("parent_id", "units", "unit_id")], enums={"field": "field"}),
    _spec("directions", {
        "direction_id": _id(unique=True),
        "category": _text(),
        "subcategory": _text(),
        "name": _text(),
        "output_unit": _text(nullable=True),
    }, key=["direction_id"]),
    _spec("indicators", {
        "indicator_id": _id(unique=True),
        "direction": _id(),
        "level1": _text(),
        "level2": _text(),
        "name": _text(),
        "measure_unit": _text(nullable=True),
        "polarity": _code("polarity"),
        "value_type": _code("value_type"),
    }, key=["indicator_id"], fks=[_fk("direction", "directions", "direction_id")],
        enums={"polarity": "polarity", "value_type": "value_type"}),
    _spec("projects", {
        "project_id": _id(unique=True),
        "program_id": _id(),
        "unit_id": _id(),
        "name": _text(),
        "year": _year(),
        "budget_type": _code("budget_type"),
        "direction": _id(),
        "category": _code("category"),
        "is_new": pa.Column(BOOLEAN),
        "start_date": pa.Column(DATE),
        "end_date": pa.Column(DATE),
    }, key=["project_id"],
        fks=[_fk("unit_id", "units"), _fk("direction", "directions", "direction_id")],
        enums={"budget_type": "budget_type", "category": "category"}),
    _spec("budgets", {
        "project_id": _id(),
        "year": _year(),
        "amount": _amount(),
        "adjusted_amount": _amount(nullable=True),
    }, key=["project_id", "year"], fks=[_fk("project_id", "projects")]),
    _spec("execution", {
        "project_id": _id(),
        "month": pa.Column(DATE),
        "spent_cumulative": _amount(),
    }, key=["project_id", "month"], fks=[_fk("project_id", "projects")]),
    _spec("targets", {
        "project_id": _id(),
        "indicator_id": _id(),
        "target_value": pa.Column(FLOAT, nullable=True),
        "target_text": _text(nullable=True),
    }, key=["project_id", "indicator_id"],
        fks=[_fk("project_id", "projects"), _fk("indicator_id", "indicators")]),
    _spec("actuals", {
        "project_id": _id(),
        "indicator_id": _id(),
        "actual_value": pa.Column(FLOAT, nullable=True),
        "grade": _code("grade", nullable=True),
        "as_of": pa.Column(DATE, nullable=True),
    }, key=["project_id", "indicator_id"],
        fks=[_fk("project_id", "projects"), _fk("indicator_id", "indicators")],
        enums={"grade": "grade"}),
    _spec("experts", {
        "expert_id": _id(unique=True),
        "name": _text(),
        "organisation": _text(),
        "unit_id": _text(nullable=True),        # the budget unit the expert works for, if any (conflicts)
        "field": _code("field"),
        "title": _text(nullable=True),
        "contact": _text(nullable=True),
    }, key=["expert_id"], fks=[_fk("unit_id", "units")], enums={"field": "field"}),
    _spec("panel_assignments", {
        "project_id": _id(),
        "expert_id": _id(),
        "role": _code("panel_role"),
        "conflict": pa.Column(BOOLEAN),
        "conflict_note": _text(nullable=True),
    }, key=["project_id", "expert_id"], fks=[_fk("project_id", "projects"), _fk("expert_id", "experts")],
        enums={"role": "panel_role"}),
    _spec("expert_scores", {
        "project_id": _id(),
        "expert_id": _id(),
        "item": _text(),
        "score": pa.Column(FLOAT, checks=pa.Check.in_range(0, 100)),
    }, key=["project_id", "expert_id", "item"], fks=[_fk("project_id", "projects")]),
    _spec("findings", {
        "finding_id": _id(unique=True),
        "project_id": _id(),
        "stage": _code("stage"),
        "item": _text(nullable=True),
        "problem_type": _text(nullable=True),      # empty: not yet classified (perfkit.cases suggests one)
        "description": _text(),
        "deduction": _amount(),
        "amount": _amount(nullable=True),
        "recommendation": _text(nullable=True),
    }, key=["finding_id"], fks=[_fk("project_id", "projects")], enums={"stage": "stage"}),
    _spec("cost_records", {
        "record_id": _id(unique=True),
        "direction": _id(),
        "unit_id": _id(),
        "year": _year(),
        "region": _text(),
        "grade": _text(),
        "quantity": _amount(strictly_positive=True),
        "cost": _amount(),
    }, key=["record_id"],
        fks=[_fk("direction", "directions", "direction_id"), _fk("unit_id", "units")]),
    _spec("cost_truth", {
        "direction": _id(),
        "parameter": _text(),
        "factor": _text(nullable=True),
        "level": _text(nullable=True),
        "value": pa.Column(FLOAT),
    }, key=["direction", "parameter", "factor", "level"],
        fks=[_fk("direction", "directions", "direction_id")]),
    _spec("requests", {
        "request_id": _id(unique=True),
        "unit_id": _id(),
        "name": _text(),
        "year": _year(),
        "direction": _id(),
        "amount": _amount(strictly_positive=True),
        "quantity": _amount(nullable=True, strictly_positive=True),
        "region": _text(nullable=True),
        "grade": _text(nullable=True),
        "financing_source": _text(),
    }, key=["request_id"], fks=[_fk("unit_id", "units"), _fk("direction", "directions", "direction_id")]),
    _spec("request_targets", {
        "request_id": _id(),
        "indicator_id": _id(),
        "target_value": pa.Column(FLOAT, nullable=True),
        "measure_unit": _text(nullable=True),
    }, key=["request_id", "indicator_id"],
        fks=[_fk("request_id", "requests"), _fk("indicator_id", "indicators")]),
    _spec("request_scores", {
        "request_id": _id(),
        "expert_id": _id(),
        "dimension": _code("exante_dimension"),
        "score": pa.Column(FLOAT, checks=pa.Check.in_range(0, 100)),
    }, key=["request_id", "expert_id", "dimension"], fks=[_fk("request_id", "requests")],
        enums={"dimension": "exante_dimension"}),
    _spec("price_index", {
        "year": _year(),
        "index": _amount(strictly_positive=True),
    }, key=["year"]),
    # -- the new fields' ledgers (special-purpose bonds, guidance funds, purchased services, PPP): what their
    # frameworks' formulas read (perfkit.evaluation.fields); one project-year's records, as of its year end
    _spec("bond_projects", {
        "project_id": _id(unique=True),
        "bond_name": _text(),
        "issued": _amount(strictly_positive=True),     # bond funds allotted to the project (元)
        "term_years": pa.Column(INTEGER, checks=pa.Check.in_range(1, 30)),
        "rate": pa.Column(FLOAT, checks=pa.Check.in_range(0, 0.2)),
        "assets_formed": _amount(nullable=True),       # fixed assets recorded from the bond funds (元)
    }, key=["project_id"], fks=[_fk("project_id", "projects")]),
    _spec("bond_schedule", {
        "project_id": _id(),
        "year": _year(),
        "principal_due": _amount(),
        "interest_due": _amount(),
        "revenue_planned": _amount(),                  # the self-balance plan's revenue of the year
        "revenue_actual": _amount(nullable=True),      # empty for the years still to come
        "paid": _amount(nullable=True),                # principal and interest paid (empty: not yet due)
    }, key=["project_id", "year"], fks=[_fk("project_id", "bond_projects")]),
    _spec("guidance_funds", {
        "project_id": _id(unique=True),
        "fund_name": _text(),
        "target_size": _amount(strictly_positive=True),   # subscribed size of the fund (元)
        "net_assets": _amount(nullable=True),             # the fund's net assets at the year end
        "policy_sectors": _text(),                        # what the fund is set up to invest in
    }, key=["project_id"], fks=[_fk("project_id", "projects")]),
    _spec("fund_contributions", {
        "project_id": _id(),
        "investor": _text(),
        "kind": _code("investor_kind"),
        "subscribed": _amount(strictly_positive=True),
        "paid_in": _amount(),
    }, key=["project_id", "investor"], fks=[_fk("project_id", "guidance_funds")],
        enums={"kind": "investor_kind"}, limits=[("paid_in", "subscribed")]),
    _spec("fund_investments", {
        "investment_id": _id(unique=True),
        "project_id": _id(),
        "enterprise": _text(),
        "sector": _text(),
        "in_city": pa.Column(BOOLEAN),
        "in_policy_sector": pa.Column(BOOLEAN),
        "amount": _amount(strictly_positive=True),
        "invest_date": pa.Column(DATE),
    }, key=["investment_id"], fks=[_fk("project_id", "guidance_funds")]),
    _spec("service_contracts", {
        "contract_id": _id(unique=True),
        "project_id": _id(),
        "contractor": _text(),
        "amount": _amount(strictly_positive=True),
        "measure_unit": _text(),
        "units_contracted": _amount(strictly_positive=True),
        "units_delivered": _amount(nullable=True),
        "units_accepted": _amount(nullable=True),
        "standard_unit_cost": _amount(nullable=True, strictly_positive=True),   # the service's cost standard (元)
        "paid": _amount(nullable=True),
    }, key=["contract_id"], fks=[_fk("project_id", "projects")],
        limits=[("units_accepted", "units_delivered"), ("paid", "amount")]),
    _spec("ppp_payments", {
        "project_id": _id(unique=True),
        "contract_name": _text(),
        "availability_payment": _amount(),             # the year's availability payment under the contract (元)
        "operation_payment": _amount(nullable=True),   # the year's operation and maintenance payment (元)
    }, key=["project_id"], fks=[_fk("project_id", "projects")]),
    # -- the department level (部门整体绩效): each unit's accounts and basic spending, each department's (a
    # first-level unit with its second-level units) duties and key tasks, overall targets and review scores
    _spec("unit_accounts", {
        "unit_id": _id(),
        "year": _year(),
        "personnel_budget": _amount(),                 # 基本支出·人员经费, initial budget (元)
        "personnel_adjusted": _amount(nullable=True),  # after adjustment; empty when not adjusted
        "personnel_spent": _amount(nullable=True),     # final accounts; empty for the running year
        "public_budget": _amount(),                    # 基本支出·公用经费
        "public_adjusted": _amount(nullable=True),
        "public_spent": _amount(nullable=True),
        "carryover_start": _amount(nullable=True),     # 结转结余 at the year's start
        "carryover_end": _amount(nullable=True),       # and at its end
        "reception_budget": _amount(),                 # “三公”经费: 公务接待费
        "reception_spent": _amount(nullable=True),
        "vehicles_budget": _amount(),                  # 公务用车购置及运行费
        "vehicles_spent": _amount(nullable=True),
        "overseas_budget": _amount(),                  # 因公出国（境）费
        "overseas_spent": _amount(nullable=True),
        "procurement_budget": _amount(),               # 政府采购预算
        "procurement_spent": _amount(nullable=True),
        "staff_authorised": pa.Column(INTEGER, checks=pa.Check.ge(0)),   # 编制数
        "staff_actual": pa.Column(INTEGER, nullable=True, checks=pa.Check.ge(0)),   # 在职人数
        "assets_total": _amount(nullable=True),        # 固定资产总额
        "assets_in_use": _amount(nullable=True),       # 在用固定资产
    }, key=["unit_id", "year"], fks=[_fk("unit_id", "units")], limits=[("assets_in_use", "assets_total")]),
    _spec("basic_execution", {
        "unit_id": _id(),
        "month": pa.Column(DATE),
        "spent_cumulative": _amount(),
    }, key=["unit_id", "month"], fks=[_fk("unit_id", "units")]),
    _spec("department_tasks", {
        "task_id": _id(unique=True),
        "unit_id": _id(),
        "year": _year(),
        "kind": _code("task_kind"),
        "name": _text(),
        "due_date": pa.Column(DATE, nullable=True),
        "done": pa.Column(BOOLEAN, nullable=True),     # empty: not reported (a duty, or a task of the running year)
        "done_date": pa.Column(DATE, nullable=True),
    }, key=["task_id"], fks=[_fk("unit_id", "units")], enums={"kind": "task_kind"}),
    _spec("task_projects", {
        "task_id": _id(),
        "project_id": _id(),
    }, key=["task_id", "project_id"], fks=[_fk("task_id", "department_tasks"), _fk("project_id", "projects")]),
    _spec("department_indicators", {
        "unit_id": _id(),
        "year": _year(),
        "indicator_no": pa.Column(INTEGER, checks=pa.Check.ge(1)),
        "level1": _text(),
        "level2": _text(),
        "name": _text(),
        "measure_unit": _text(nullable=True),
        "polarity": _code("polarity"),
        "target_value": pa.Column(FLOAT, nullable=True),
        "actual_value": pa.Column(FLOAT, nullable=True),
    }, key=["unit_id", "year", "indicator_no"], fks=[_fk("unit_id", "units")], enums={"polarity": "polarity"}),
    _spec("department_scores", {
        "unit_id": _id(),
        "year": _year(),
        "expert_id": _id(),
        "item": _text(),
        "score": pa.Column(FLOAT, checks=pa.Check.in_range(0, 100)),
    }, key=["unit_id", "year", "expert_id", "item"], fks=[_fk("unit_id", "units"), _fk("expert_id", "experts")]),
]

#: Every table of the data model, in load order (referenced tables first).
TABLES: dict[str, TableSpec] = {spec.name: spec for spec in _TABLES}


def spec(table: str) -> TableSpec:
    """Return the :class:`TableSpec` of ``table``; ``KeyError`` naming the known tables."""
    try:
        return TABLES[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; perfkit knows {', '.join(TABLES)}") from None
