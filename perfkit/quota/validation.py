"""How good is a quota standard? Cross-validation, year stability, and error against a known truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, LeaveOneGroupOut

from perfkit.quota.models import DEFAULT_FACTORS, _as_text, fit_cost_model


def _levels(records, model):
    return records[[f for f in model.coefficients]] if model.coefficients else None


def _lean(records: pd.DataFrame, factors) -> pd.DataFrame:
    """Only what a fold's fit reads, the factors as plain text: every fold slices it again."""
    columns = {"quantity": records["quantity"].to_numpy(dtype=float, na_value=np.nan)}
    columns.update({f: _as_text(records[f]) for f in factors if f in records})
    if "year" in records:
        columns["year"] = records["year"].to_numpy()
    return pd.DataFrame(columns, index=records.index)


def cross_validate(records: pd.DataFrame, method: str, *, cost: pd.Series | None = None, scheme: str = "kfold",
                   k: int = 5, seed: int = 0, **options) -> dict[str, float]:
    """Out-of-sample quality of a method's standard on one direction's records.

    Parameters
    ----------
    scheme : {"kfold", "year"}
        ``"kfold"``: shuffled k-fold; ``"year"``: leave one year out (each
        year's records judged by a standard set from the other years).

    Returns
    -------
    dict
        ``mape``: mean |standard − actual| / actual of held-out records;
        ``share_above``: share of held-out records whose actual cost exceeds
        the standard (how demanding the standard is); ``n_folds``.
    """
    cost = (records["cost"] if cost is None else cost).astype(float)
    records = _lean(records, options.get("factors", DEFAULT_FACTORS))
    if scheme == "kfold":
        splits = KFold(n_splits=k, shuffle=True, random_state=seed).split(records)
    elif scheme == "year":
        splits = LeaveOneGroupOut().split(records, groups=records["year"])
    else:
        raise ValueError(f"scheme must be 'kfold' or 'year', not {scheme!r}")
    errors, above, folds = [], [], 0
    for train, test in splits:
        model = fit_cost_model(records.iloc[train], method, cost=cost.iloc[train], **options)
        held = records.iloc[test]
        standard = model.cost(held["quantity"].to_numpy(), _levels(held, model))
        actual = cost.iloc[test].to_numpy()
        errors.append(np.abs(standard - actual) / actual)
        above.append(actual > standard)
        folds += 1
    return {"mape": float(np.mean(np.concatenate(errors))), "share_above": float(np.mean(np.concatenate(above))),
            "n_folds": folds}


def year_stability(records: pd.DataFrame, method: str, *, cost: pd.Series | None = None, **options) -> float:
    """Coefficient of variation of the basic quota set from each year alone (lower is steadier)."""
    cost = (records["cost"] if cost is None else cost).astype(float)
    quotas = []
    for _, group in records.groupby("year"):
        if len(group) >= 10:
            quotas.append(fit_cost_model(group, method, cost=cost.loc[group.index], **options).basic_quota)
    return float(np.std(quotas, ddof=1) / np.mean(quotas)) if len(quotas) > 1 else float("nan")


def true_unit_cost(records: pd.DataFrame, cost_truth: pd.DataFrame) -> pd.Series:
    """The demo city's true efficient unit cost of each record's class (base-year prices)."""
    out = pd.Series(np.nan, index=records.index)
    for direction, group in records.groupby("direction"):
        truth = cost_truth[cost_truth["direction"] == direction]
        unit = truth.loc[truth["parameter"] == "unit_cost", "value"].item()
        coef = truth[truth["parameter"] == "coefficient"]
        value = pd.Series(unit, index=group.index)
        for factor, table in coef.groupby("factor"):
            value *= group[factor].map(dict(zip(table["level"], table["value"])))
        out.loc[group.index] = value
    return out


def error_against_truth(model, records: pd.DataFrame, cost_truth: pd.DataFrame) -> float:
    """Mean absolute relative error of the standard unit cost against the true efficient unit cost."""
    standard = model.unit_cost(records["quantity"].to_numpy(), _levels(records, model))
    truth = true_unit_cost(records, cost_truth).to_numpy()
    return float(np.mean(np.abs(standard - truth) / truth))
