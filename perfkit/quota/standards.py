"""Standards tables: the quota standard of each expenditure direction, ready for use."""
from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from perfkit.errors import DataError, Problem
from perfkit.excel import write_workbook
from perfkit.quota.models import CostModel, _index_map, deflate, fit_cost_model
from perfkit.quota.validation import cross_validate
from perfkit.text import text, texts, value_label

#: Columns of a standards table, one row per direction × factor level (factor and level
#: empty on the direction's own row).
COLUMNS = ["direction", "direction_name", "output_unit", "method", "base_year", "basic_quota",
           "scale_elasticity", "reference_quantity", "translog_q2", "n", "validation_mape",
           "share_above", "factor", "level", "coefficient"]

class StandardsTable:
    """Quota standards of one or more directions (a DataFrame inside, ``.frame``).

    Build it with :func:`build_standards`; ask it the standard cost of a
    request with :meth:`cost_for`; keep it with :meth:`to_excel` and
    :meth:`to_store`.
    """

    def __init__(self, frame: pd.DataFrame, price_index: dict[int, float] | None = None):
        missing = [c for c in COLUMNS if c not in frame]
        if missing:
            raise ValueError(f"a standards table needs the columns {missing}")
        self.frame = frame[COLUMNS].reset_index(drop=True)
        self.price_index = price_index or {}

    def __repr__(self) -> str:
        return f"StandardsTable({len(self.directions)} direction(s))\n{self.quotas.to_string()}"

    def _repr_html_(self) -> str:
        return self.quotas.to_html()

    @property
    def directions(self) -> list[str]:
        return list(dict.fromkeys(self.frame["direction"]))

    @property
    def quotas(self) -> pd.DataFrame:
        """One row per direction: basic quota, method, n, validation."""
        rows = self.frame[self.frame["factor"].isna()]
        return rows.drop(columns=["factor", "level", "coefficient"]).set_index("direction")

    @property
    def coefficients(self) -> pd.DataFrame:
        """One row per direction, factor and level: the adjustment coefficient."""
        rows = self.frame[self.frame["factor"].notna()]
        return rows[["direction", "factor", "level", "coefficient"]].reset_index(drop=True)

    def cost_model(self, direction: str | None = None) -> CostModel:
        """The direction's standard in the common cost-model form."""
        direction = self._direction(direction)
        quota = self.quotas.loc[direction]
        coef = self.coefficients[self.coefficients["direction"] == direction]
        table = {f: dict(zip(g["level"], g["coefficient"].astype(float))) for f, g in coef.groupby("factor", sort=False)}
        reference = {f: next(level for level, c in t.items() if c == 1.0) for f, t in table.items()}
        return CostModel(method=quota["method"], basic_quota=float(quota["basic_quota"]),
                         elasticity=float(quota["scale_elasticity"]), q_ref=float(quota["reference_quantity"]),
                         translog_q2=float(quota["translog_q2"]), coefficients=table, reference=reference,
                         n=int(quota["n"]))

    def _direction(self, direction):
        if direction is None:
            if len(self.directions) != 1:
                raise DataError(Problem("request", f"name a direction ({', '.join(self.directions)})",
                                        column="direction"))
            return self.directions[0]
        if direction not in self.directions:
            raise DataError(Problem("request", f"no standard for direction '{direction}' "
                                               f"(standards exist for {', '.join(self.directions)})",
                                    column="direction"))
        return direction

    def cost_for(self, quantity: float, direction: str | None = None, year: int | None = None,
                 **factors: str) -> float:
        """Standard cost of a request: quantity × basic quota × adjustment coefficients.

        Parameters
        ----------
        quantity : float
            Output quantity requested, in the direction's output unit.
        direction : str, optional
            Needed when the table holds several directions.
        year : int, optional
            Budget year: the cost is price-indexed from the base year to it.
        **factors
            The request's factor levels, e.g. ``region="近郊区", grade="主干道"``.

        Raises
        ------
        perfkit.DataError
            Unknown direction, a missing or unknown factor level, a year without price index.
        """
        if not np.isfinite(quantity) or quantity <= 0:
            raise DataError(Problem("request", f"quantity must be positive, not {quantity}", column="quantity"))
        direction = self._direction(direction)
        model = self.cost_model(direction)
        value = float(model.cost([quantity], {k: [v] for k, v in factors.items()})[0])
        if year is not None:
            base = int(self.quotas.loc[direction, "base_year"])
            if int(year) not in self.price_index or base not in self.price_index:
                raise DataError(Problem("price_index", f"no price index for {year} or base year {base}",
                                        column="year"))
            value *= self.price_index[int(year)] / self.price_index[base]
        return value

    # -- export --------------------------------------------------------------
    def _quotas_shown(self, lang: str) -> pd.DataFrame:
        """The quotas as a flat frame, method names in ``lang``, without the translog term."""
        quotas = self.quotas.reset_index().drop(columns=["translog_q2"])
        quotas["method"] = quotas["method"].map(lambda m: value_label("method", m, lang))
        return quotas

    def _coefficients_named(self) -> pd.DataFrame:
        """The coefficients with each direction's name."""
        named = self.coefficients.merge(self.quotas[["direction_name"]].reset_index(), on="direction")
        return named[["direction", "direction_name", "factor", "level", "coefficient"]]

    def _coefficients_shown(self, lang: str) -> pd.DataFrame:
        named = self._coefficients_named()
        named["factor"] = named["factor"].map(lambda f: value_label("factor", f, lang))
        return named

    def quota_table(self, lang: str = "zh") -> pd.DataFrame:
        """One row per direction with display headers: the basic quotas and their validation."""
        quotas = self._quotas_shown(lang)
        quotas["basic_quota"] = quotas["basic_quota"].map("{:,.2f}".format)
        for column in ("validation_mape", "share_above"):
            quotas[column] = quotas[column].map(lambda v: "—" if pd.isna(v) else f"{v:.1%}")
        labels = texts("standards.columns", lang)
        return quotas.rename(columns=labels).set_index(labels["direction"])

    def coefficient_table(self, lang: str = "zh") -> pd.DataFrame:
        """The adjustment coefficients with display headers."""
        return self._coefficients_shown(lang).round({"coefficient": 3}).rename(columns=texts("standards.columns",
                                                                                           lang))

    def to_excel(self, path: str | PathLike, lang: str = "zh") -> Path:
        """A formatted workbook: the standards and their adjustment coefficients."""
        labels = texts("standards.columns", lang)
        quotas, coefficients = self._quotas_shown(lang), self._coefficients_shown(lang)
        formats = {"basic_quota": "#,##0.00", "coefficient": "0.000", "validation_mape": "0.0%",
                   "share_above": "0.0%", "scale_elasticity": "0.000", "reference_quantity": "#,##0.0"}
        return write_workbook(path, {text("standards.sheet_standards", lang): quotas.rename(columns=labels),
                                     text("standards.sheet_coefficients", lang): coefficients.rename(columns=labels)},
                              {labels[c]: f for c, f in formats.items()})

    def to_store(self, store, name: str = "quota_standards") -> None:
        """Save the table in the store (replacing a table of that name)."""
        store.save(name, self.frame.assign(_price_index=str(self.price_index)))

    @classmethod
    def from_store(cls, store, name: str = "quota_standards") -> "StandardsTable":
        """Read a table saved with :meth:`to_store`."""
        frame = store.table(name)
        index = {}
        if "_price_index" in frame and len(frame):
            import ast
            index = ast.literal_eval(frame["_price_index"].iloc[0])
        return cls(frame.drop(columns=["_price_index"], errors="ignore"), price_index=index)


def build_standards(cost_records: pd.DataFrame, direction: str | list[str] | None = None,
                    method: str = "frontier", base_year: int | None = None, *,
                    price_index: pd.DataFrame | dict | None = None, directions: pd.DataFrame | None = None,
                    factors=("region", "grade"), validate: bool = True, **options) -> StandardsTable:
    """Build the quota standards of one or more expenditure directions.

    Parameters
    ----------
    cost_records : DataFrame
        The ``cost_records`` table (or a subset of it).
    direction : str or list of str, optional
        Direction id(s); by default every direction in ``cost_records``.
    method : str
        See :data:`perfkit.quota.models.METHODS`.
    base_year : int, optional
        Year whose prices the standard is in; by default the latest year of
        the records. Needs ``price_index`` to deflate other years.
    price_index : DataFrame or dict, optional
        ``price_index`` table (year, index) or {year: index}.
    directions : DataFrame, optional
        The ``directions`` table, for names and output units.
    factors : sequence of str
        Factors that get adjustment coefficients.
    validate : bool, default True
        Add 5-fold cross-validated MAPE and share above the standard.
    **options
        Passed to :func:`perfkit.quota.models.fit_cost_model` (``tau``, ``q``,
        ``screen``, ``scale``, ``form``, ``reference``, ``dist``).
    """
    if direction is None:
        wanted = sorted(cost_records["direction"].unique())
    else:
        wanted = [direction] if isinstance(direction, str) else list(direction)
    unknown = sorted(set(wanted) - set(cost_records["direction"]))
    if unknown:
        raise DataError(Problem("cost_records", f"no cost records for direction(s) {', '.join(unknown)}",
                                column="direction"))
    base_year = int(base_year if base_year is not None else cost_records["year"].max())
    index = _index_map(price_index) if price_index is not None else {}
    names = directions.set_index("direction_id") if directions is not None else None
    rows = []
    for d in wanted:
        records = cost_records[cost_records["direction"] == d]
        cost = deflate(records, price_index, base_year)
        model = fit_cost_model(records, method, factors=factors, cost=cost, **options)
        checked = (cross_validate(records, method, cost=cost, factors=factors, **options)
                   if validate else {"mape": np.nan, "share_above": np.nan})
        head = dict(direction=d,
                    direction_name=names.loc[d, "name"] if names is not None and d in names.index else d,
                    output_unit=names.loc[d, "output_unit"] if names is not None and d in names.index else None,
                    method=method, base_year=base_year, basic_quota=model.basic_quota,
                    scale_elasticity=model.elasticity, reference_quantity=model.q_ref,
                    translog_q2=model.translog_q2, n=model.n,
                    validation_mape=checked["mape"], share_above=checked["share_above"])
        rows.append({**head, "factor": None, "level": None, "coefficient": np.nan})
        for factor, table in model.coefficients.items():
            for level, coefficient in table.items():
                rows.append({**head, "factor": factor, "level": level, "coefficient": coefficient})
    return StandardsTable(pd.DataFrame(rows, columns=COLUMNS), price_index=index)
