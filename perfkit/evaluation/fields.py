"""The new fields' facts and formulas: special-purpose bonds, guidance funds, purchased services and PPP.

A field's framework (``frameworks`` of the preset) scores some items by a *formula*: arithmetic on the
*facts* of a project-year, the numbers its ledgers hold (``bond_schedule``, ``fund_contributions``,
``service_contracts``, ``ppp_payments``...). This module says what each fact is (:data:`FACT_EVIDENCE`: the
ledger it rests on), reads them from the store for many projects at once (:func:`project_facts`) and
evaluates a formula (:func:`evaluate_formula`) and a performance-linked payment (:func:`linked_payment`).

Evidence before judgement: a fact is missing (None) when its ledger holds no record for the project, or a
record it needs has the value empty (net assets not yet audited, a past year's revenue not reported); an
item that reads a missing fact waits for its evidence (待补充), it is never scored 0.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from perfkit.rules.model import Payment, formula_facts
from perfkit.store import Store

#: The ledger each fact rests on (the evidence a draft asks its supplier for).
FACT_EVIDENCE = {
    "budget": "data", "spent": "execution",
    "bond_issued": "bond_projects", "assets_formed": "bond_projects",
    "revenue_life": "bond_schedule", "service_life": "bond_schedule", "revenue_year": "bond_schedule",
    "revenue_planned_year": "bond_schedule", "service_due_year": "bond_schedule",
    "service_paid_year": "bond_schedule",
    "fund_size": "guidance_funds", "net_assets": "guidance_funds",
    "gov_subscribed": "fund_contributions", "gov_paid": "fund_contributions", "capital_paid": "fund_contributions",
    "invested": "fund_investments", "invested_in_city": "fund_investments", "invested_in_policy": "fund_investments",
    "units_contracted": "service_contracts", "units_delivered": "service_contracts",
    "units_accepted": "service_contracts", "service_paid": "service_contracts", "standard_cost": "service_contracts",
    "availability_payment": "ppp_payments", "operation_payment": "ppp_payments",
}
#: The ledgers of each field, in the order a report shows them.
LEDGERS = {
    "special_bond": ("bond_projects", "bond_schedule"),
    "guidance_fund": ("guidance_funds", "fund_contributions", "fund_investments"),
    "purchased_service": ("service_contracts",),
    "ppp": ("ppp_payments",),
}

# each ledger's facts per project-year; a sum over records is NULL when one of them lacks the value it adds
# (count(x) < count(*)), never the sum of the others
_FACT_SQL = {
    "bond_projects": """
        SELECT project_id, issued AS bond_issued, assets_formed FROM bond_projects
        WHERE project_id IN (SELECT unnest($ids::VARCHAR[]))""",
    "bond_schedule": """
        SELECT s.project_id,
               CASE WHEN count(*) FILTER (WHERE s.year <= p.year AND s.revenue_actual IS NULL) > 0 THEN NULL
                    ELSE sum(CASE WHEN s.year <= p.year THEN s.revenue_actual ELSE s.revenue_planned END)
               END AS revenue_life,
               sum(s.principal_due + s.interest_due) AS service_life,
               max(s.revenue_actual) FILTER (WHERE s.year = p.year) AS revenue_year,
               max(s.revenue_planned) FILTER (WHERE s.year = p.year) AS revenue_planned_year,
               max(s.principal_due + s.interest_due) FILTER (WHERE s.year = p.year) AS service_due_year,
               max(s.paid) FILTER (WHERE s.year = p.year) AS service_paid_year
        FROM bond_schedule s JOIN projects p USING (project_id)
        WHERE s.project_id IN (SELECT unnest($ids::VARCHAR[])) GROUP BY 1""",
    "guidance_funds": """
        SELECT project_id, target_size AS fund_size, net_assets FROM guidance_funds
        WHERE project_id IN (SELECT unnest($ids::VARCHAR[]))""",
    "fund_contributions": """
        SELECT project_id,
               coalesce(sum(subscribed) FILTER (WHERE kind = 'government'), 0) AS gov_subscribed,
               coalesce(sum(paid_in) FILTER (WHERE kind = 'government'), 0) AS gov_paid,
               sum(paid_in) AS capital_paid
        FROM fund_contributions WHERE project_id IN (SELECT unnest($ids::VARCHAR[])) GROUP BY 1""",
    # a fund on the register with no investment yet has invested 0 (its register is the evidence)
    "fund_investments": """
        SELECT g.project_id,
               coalesce(sum(i.amount), 0) AS invested,
               coalesce(sum(i.amount) FILTER (WHERE i.in_city), 0) AS invested_in_city,
               coalesce(sum(i.amount) FILTER (WHERE i.in_policy_sector), 0) AS invested_in_policy
        FROM guidance_funds g JOIN projects p USING (project_id)
        LEFT JOIN fund_investments i ON i.project_id = g.project_id AND year(i.invest_date) <= p.year
        WHERE g.project_id IN (SELECT unnest($ids::VARCHAR[])) GROUP BY 1""",
    "service_contracts": """
        SELECT project_id, sum(units_contracted) AS units_contracted,
               CASE WHEN count(units_delivered) = count(*) THEN sum(units_delivered) END AS units_delivered,
               CASE WHEN count(units_accepted) = count(*) THEN sum(units_accepted) END AS units_accepted,
               CASE WHEN count(paid) = count(*) THEN sum(paid) END AS service_paid,
               CASE WHEN count(units_accepted * standard_unit_cost) = count(*)
                    THEN sum(units_accepted * standard_unit_cost) END AS standard_cost
        FROM service_contracts WHERE project_id IN (SELECT unnest($ids::VARCHAR[])) GROUP BY 1""",
    "ppp_payments": """
        SELECT project_id, availability_payment, operation_payment FROM ppp_payments
        WHERE project_id IN (SELECT unnest($ids::VARCHAR[]))""",
}
_LEDGER_ORDER = {
    "bond_projects": "project_id", "bond_schedule": "project_id, year", "guidance_funds": "project_id",
    "fund_contributions": "project_id, kind, investor", "fund_investments": "project_id, invest_date, investment_id",
    "service_contracts": "project_id, contract_id", "ppp_payments": "project_id",
}


def project_facts(store: Store, project_ids: list[str], budget: dict, spent: dict,
                  categories: dict[str, str]) -> dict[str, dict]:
    """Every fact of each project (None where its ledger lacks it), by project id.

    ``budget`` and ``spent`` are the projects' budget in force and spending (the key evaluation's own);
    ``categories`` the projects' categories: the ledgers are read for the new fields' projects only (the
    loader keeps other projects out of them), so a batch of regular projects runs no query here. A ledger
    the store does not hold at all (a store loaded before perfkit knew it) gives no facts.
    """
    ids = list(project_ids)
    fields = [pid for pid in ids if categories.get(pid) in LEDGERS]
    present = set(store.tables()) if fields else set()
    frames = []
    for table, sql in _FACT_SQL.items():
        needs = {table, "projects"} | ({"guidance_funds"} if table == "fund_investments" else set())
        if needs <= present:
            frames.append(store.query(sql, {"ids": fields}).set_index("project_id"))
    facts = pd.concat(frames, axis=1) if frames else pd.DataFrame(index=pd.Index([], name="project_id"))
    facts = facts.reindex(index=ids, columns=[f for f in FACT_EVIDENCE if f not in ("budget", "spent")])
    out = {}
    for project_id, row in zip(ids, facts.to_dict("records")):
        values = {f: None if v is None or pd.isna(v) else float(v) for f, v in row.items()}
        b, s = budget.get(project_id), spent.get(project_id)
        values["budget"] = None if b is None or pd.isna(b) else float(b)
        values["spent"] = None if s is None or pd.isna(s) else float(s)
        out[project_id] = values
    return out


def project_ledgers(store: Store, project_ids: list[str], categories: dict[str, str]) -> dict[str, dict]:
    """The ledger records of each project of a new field (``categories``: project id → category), by
    project id and ledger; a project of no field has none."""
    wanted = {table for pid in project_ids for table in LEDGERS.get(categories.get(pid), ())}
    wanted &= set(store.tables()) if wanted else set()
    rows = {table: store.query(f'SELECT * FROM "{table}" WHERE project_id IN (SELECT unnest($ids::VARCHAR[])) '
                               f"ORDER BY {_LEDGER_ORDER[table]}", {"ids": list(project_ids)})
            for table in sorted(wanted)}
    out: dict[str, dict] = {}
    for pid in project_ids:
        mine = {}
        for table in LEDGERS.get(categories.get(pid), ()):
            if table in rows:
                frame = rows[table]
                mine[table] = frame[frame["project_id"] == pid].drop(columns="project_id").reset_index(drop=True)
        out[pid] = mine
    return out


def evaluate_formula(formula: str, facts: dict[str, float | None]) -> float | None:
    """The formula's value on ``facts``: None when a fact it reads is missing; NaN when it is undefined
    (a zero denominator: nothing to measure).

    The formula was checked on loading the preset (:func:`perfkit.rules.model.formula_facts`): facts,
    numbers, + - * / and parentheses only; pandas evaluates it with numpy's arithmetic.
    """
    names = formula_facts(formula)
    if any(facts.get(name) is None for name in names):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(pd.eval(formula, local_dict={n: np.float64(facts[n]) for n in names}, engine="python"))
    return value if math.isfinite(value) else float("nan")


def formula_share(value: float, full: float, zero: float) -> float:
    """The share of an item's points a formula's value wins: 0 at ``zero``, 1 at ``full``, linear between
    (``full`` below ``zero``: lower is better)."""
    return float(min(max((value - zero) / (full - zero), 0.0), 1.0))


def linked_payment(payment: Payment, score: float, facts: dict[str, float | None]) -> dict | None:
    """The performance-linked payment of a score: the base fact times the coefficient of the score's band.

    Returns None when the base is missing (the payment waits for the contract's figures); else ``base``
    (the fact's name), ``amount`` (the base), ``band``, ``coefficient``, ``payment`` and ``withheld``.
    """
    base = facts.get(payment.base)
    if base is None:
        return None
    band, spec = payment.band(min(max(score, 0.0), 100.0))
    paid = base * spec.coefficient
    return dict(base=payment.base, amount=base, band=band, coefficient=spec.coefficient, payment=paid,
                withheld=base - paid, score=score)


def printed_payment(paid: dict, unit: float = 1.0) -> tuple[float, float, float]:
    """A linked payment's base, payment and what is withheld as printed in ``unit`` (1: yuan; 1e4: 万元), to
    two decimals, what is withheld being the printed base less the printed payment: the three add up as
    printed, in the report and in the workbook alike."""
    base, payment = round(paid["amount"] / unit, 2), round(paid["payment"] / unit, 2)
    return base, payment, round(base - payment, 2)
