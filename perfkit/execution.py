"""Budget execution: spending to date, execution rates and the city's spending profile."""
from __future__ import annotations

import pandas as pd

from perfkit.store import Store


def spending_profile(store: Store, years: list[int] | None = None) -> pd.DataFrame:
    """The city's typical cumulative spending share by month, learned from closed years.

    For every project of a closed year whose December record exists and is
    positive, the share of its year-end spending reached at each month end;
    the profile is the median (and quartiles) of those shares by month.

    Parameters
    ----------
    store : Store
    years : list of int, optional
        Years to learn from; by default every year that has December records.

    Returns
    -------
    pandas.DataFrame
        Indexed by month (1-12) with columns ``median``, ``q25``, ``q75``, ``n``.
    """
    year_filter = ""
    if years:
        year_filter = f"AND year(e.month) IN ({', '.join(str(int(y)) for y in years)})"
    return store.query(f"""
        WITH final AS (
            SELECT project_id, year(month) AS year, spent_cumulative AS final
            FROM execution WHERE month(month) = 12 AND spent_cumulative > 0
        )
        SELECT month(e.month) AS month,
               median(e.spent_cumulative / f.final) AS median,
               quantile_cont(e.spent_cumulative / f.final, 0.25) AS q25,
               quantile_cont(e.spent_cumulative / f.final, 0.75) AS q75,
               count(*) AS n
        FROM execution e JOIN final f
          ON e.project_id = f.project_id AND year(e.month) = f.year
        WHERE TRUE {year_filter}
        GROUP BY 1 ORDER BY 1
    """).set_index("month")


def project_budget(store: Store, project_id: str) -> float:
    """The project's budget in force: the adjusted amount when there is one, else the initial."""
    row = store.query("SELECT coalesce(adjusted_amount, amount) AS budget FROM budgets WHERE project_id = ?",
                      [project_id])
    return float(row["budget"].iloc[0]) if len(row) else float("nan")
