"""Standards tables: the quota standard of each expenditure direction, ready for use."""
from __future__ import annotations

import json
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from perfkit.errors import DataError, Problem, reason
from perfkit.excel import write_workbook
from perfkit.quota.models import DEFAULT_FACTORS, CostModel, _index_map, deflate, fit_cost_model
from perfkit.quota.validation import cross_validate
from perfkit.results import Result, make_record
from perfkit.rules import PresetLike, load_preset
from perfkit.text import text, texts, value_label

#: Columns of a standards table, one row per direction × factor level (factor and level
#: empty on the direction's own row).
COLUMNS = ["direction", "direction_name", "output_unit", "method", "base_year", "basic_quota",
           "scale_elasticity", "reference_quantity", "translog_q2", "n", "validation_mape",
           "share_above", "reach", "unit_reach", "benchmark_method", "benchmark_quota", "selection",
           "factor", "level", "coefficient"]
#: Why a direction's method was used (``selection``): given by the caller, or picked by ``method="auto"``
#: as the reach closest to the preset's target, or (no candidate reaching it) the highest reach.
SELECTIONS = ("given", "closest_reach", "highest_reach")

class StandardsTable(Result):
    """Quota standards of one or more directions (a DataFrame inside, ``.frame``, also ``.table``).

    Build it with :func:`build_standards`; ask it the standard cost of a
    request with :meth:`cost_for`; keep it with :meth:`to_excel` and
    :meth:`to_store`. ``summary()`` is :attr:`quotas`, one row per direction.
    """

    kind = "支出定额标准"

    def __init__(self, frame: pd.DataFrame, price_index: dict[int, float] | None = None,
                 candidates: dict[str, list[dict]] | None = None):
        frame = frame.copy()
        for column in ("reach", "unit_reach", "benchmark_quota"):   # a table saved before these existed
            if column not in frame:
                frame[column] = np.nan
        for column, default in (("benchmark_method", None), ("selection", "given")):
            if column not in frame:
                frame[column] = default
        missing = [c for c in COLUMNS if c not in frame]
        if missing:
            raise ValueError(f"a standards table needs the columns {missing}")
        self.frame = frame[COLUMNS].reset_index(drop=True)
        self.price_index = price_index or {}
        #: Per direction, the candidates :func:`build_standards` weighed (``model``, ``method``, ``mape``,
        #: ``share_above``, ``reach``, ``unit_reach``); empty for a table read back from a store or a file.
        self.candidates = candidates or {}

    def __repr__(self) -> str:
        return f"StandardsTable({len(self.directions)} direction(s))\n{self.quotas.to_string()}"

    @property
    def table(self) -> pd.DataFrame:
        """One row per direction and per factor level (:data:`COLUMNS`)."""
        return self.frame

    def summary(self) -> pd.DataFrame:
        """One row per direction: basic quota, method, n, validation (:attr:`quotas`)."""
        return self.quotas

    def record(self) -> dict:
        """The index row: the directions standardised; no score or rating."""
        return make_record(",".join(self.directions), None, None, False)

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
                raise DataError(Problem("request", reason("name_a_direction", directions=", ".join(self.directions)),
                                        column="direction"))
            return self.directions[0]
        if direction not in self.directions:
            raise DataError(Problem("request", reason("no_standard", direction=direction,
                                                      directions=", ".join(self.directions)), column="direction"))
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
            raise DataError(Problem("request", reason("quantity_not_positive", quantity=quantity), column="quantity"))
        direction = self._direction(direction)
        model = self.cost_model(direction)
        value = float(model.cost([quantity], {k: [v] for k, v in factors.items()})[0])
        if year is not None:
            base = int(self.quotas.loc[direction, "base_year"])
            if int(year) not in self.price_index or base not in self.price_index:
                raise DataError(Problem("price_index", reason("no_price_index", year=year, base=base), column="year"))
            value *= self.price_index[int(year)] / self.price_index[base]
        return value

    # -- export --------------------------------------------------------------
    def _quotas_shown(self, lang: str) -> pd.DataFrame:
        """The quotas as a flat frame, method names in ``lang``, without the translog term."""
        quotas = self.quotas.reset_index().drop(columns=["translog_q2"])
        for column in ("method", "benchmark_method"):
            quotas[column] = quotas[column].map(lambda m: value_label("method", m, lang) if isinstance(m, str) else m)
        quotas["selection"] = quotas["selection"].map(lambda v: value_label("selection", v, lang))
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
        for column in ("basic_quota", "benchmark_quota"):
            quotas[column] = quotas[column].map(lambda v: "—" if pd.isna(v) else f"{v:,.2f}")
        quotas["reference_quantity"] = quotas["reference_quantity"].map(lambda v: "—" if pd.isna(v) else f"{v:,.1f}")
        quotas["scale_elasticity"] = quotas["scale_elasticity"].map(lambda v: "—" if pd.isna(v) else f"{v:.3f}")
        for column in ("validation_mape", "share_above", "reach", "unit_reach"):
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
        formats = {"basic_quota": "#,##0.00", "benchmark_quota": "#,##0.00", "coefficient": "0.000",
                   "validation_mape": "0.0%", "share_above": "0.0%", "reach": "0.0%", "unit_reach": "0.0%",
                   "scale_elasticity": "0.000", "reference_quantity": "#,##0.0"}
        return write_workbook(path, {text("standards.sheet_standards", lang): quotas.rename(columns=labels),
                                     text("standards.sheet_coefficients", lang): coefficients.rename(columns=labels)},
                              {labels[c]: f for c, f in formats.items()})

    def to_store(self, store, name: str = "quota_standards") -> None:
        """Save the table in the store (replacing a table of that name).

        The price index the standards were deflated with goes with them, as JSON pairs of year and index
        (read back as numbers, never evaluated as code).
        """
        pairs = [[int(year), float(value)] for year, value in sorted(self.price_index.items())]
        store.save(name, self.frame.assign(_price_index=json.dumps(pairs)))

    @classmethod
    def from_store(cls, store, name: str = "quota_standards") -> "StandardsTable":
        """Read a table saved with :meth:`to_store`.

        Raises
        ------
        DataError
            When its price index is not what :meth:`to_store` writes (a table saved by an earlier perfkit
            kept it as Python text: run ``perfkit standards`` again).
        """
        frame = store.table(name)
        index = {}
        if "_price_index" in frame and len(frame):
            try:
                index = {int(year): float(value) for year, value in json.loads(frame["_price_index"].iloc[0])}
            except (ValueError, TypeError) as exc:
                raise DataError(Problem(name, reason("price_index_unreadable"))) from exc
        return cls(frame.drop(columns=["_price_index"], errors="ignore"), price_index=index)


def reach(model: CostModel, records: pd.DataFrame, cost: pd.Series) -> tuple[float, float]:
    """How reachable a standard is: the share of records whose cost is at or below their standard cost
    (quantity × basic quota × coefficients), and the share of units whose total cost is at or below the
    total standard cost of their records (NaN without ``unit_id``)."""
    valid = (records["quantity"] > 0) & (cost > 0)
    records, cost = records[valid], cost[valid].astype(float)
    levels = records[list(model.coefficients)] if model.coefficients else None
    standard = pd.Series(model.cost(records["quantity"].to_numpy(), levels), index=records.index)
    share = float((cost <= standard * (1 + 1e-12)).mean()) if len(records) else float("nan")
    if "unit_id" not in records:
        return share, float("nan")
    by_unit = pd.DataFrame({"cost": cost, "standard": standard}).groupby(records["unit_id"]).sum()
    return share, float((by_unit["cost"] <= by_unit["standard"] * (1 + 1e-12)).mean())


def _candidate(records, cost, method, factors, options, validate) -> dict:
    model = fit_cost_model(records, method, factors=factors, cost=cost, **options)
    if not np.isfinite(model.basic_quota) or model.basic_quota <= 0:
        raise DataError(Problem("cost_records", reason("no_usable_quota", method=method, quota=model.basic_quota),
                                column="cost"))
    checked = (cross_validate(records, method, cost=cost, factors=factors, **options)
               if validate else {"mape": np.nan, "share_above": np.nan})
    share, unit_share = reach(model, records, cost)
    return dict(model=model, method=method, mape=checked["mape"], share_above=checked["share_above"],
                reach=share, unit_reach=unit_share)


def pick_standard(candidates: list[dict], target_reach: float, tolerance: float) -> tuple[dict, str]:
    """The candidate a 先进合理 standard should use, and why (:data:`SELECTIONS`).

    Among the candidates met by at least ``target_reach`` of the records, those whose reach is within
    ``tolerance`` of the closest to the target; of these the lowest cross-validated error (MAPE). When no
    candidate reaches the target, the one with the highest reach.
    """
    pool = reach_pool(candidates, target_reach, tolerance)
    if not pool:
        return max(candidates, key=lambda c: c["reach"]), "highest_reach"
    return min(pool, key=lambda c: (np.nan_to_num(c["mape"], nan=np.inf), c["reach"])), "closest_reach"


def reach_pool(candidates: list[dict], target_reach: float, tolerance: float) -> list[dict]:
    """The candidates :func:`pick_standard` chooses among by their error: met by at least ``target_reach`` of
    the records and within ``tolerance`` of the one closest to it (empty when none reaches the target)."""
    eligible = [c for c in candidates if c["reach"] >= target_reach - 1e-12]
    if not eligible:
        return []
    closest = min(c["reach"] - target_reach for c in eligible)
    return [c for c in eligible if c["reach"] - target_reach <= closest + tolerance]


def build_standards(cost_records: pd.DataFrame, direction: str | list[str] | None = None,
                    method: str = "auto", base_year: int | None = None, *,
                    price_index: pd.DataFrame | dict | None = None, directions: pd.DataFrame | None = None,
                    factors=DEFAULT_FACTORS, validate: bool = True, preset: PresetLike = "default",
                    **options) -> StandardsTable:
    """Build the quota standards of one or more expenditure directions.

    Parameters
    ----------
    cost_records : DataFrame
        The ``cost_records`` table (or a subset of it).
    direction : str or list of str, optional
        Direction id(s); by default every direction in ``cost_records``.
    method : str, default "auto"
        See :data:`perfkit.quota.models.METHODS`; ``"auto"`` picks per direction among the preset's
        ``quota.candidates`` (see :func:`pick_standard`): the standard met by closest to (at least)
        ``quota.target_reach`` of the records, with the best cross-validated error.
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
    preset : str, path, mapping or Preset
        Its ``quota`` section: target reach, candidates, benchmark.
    **options
        Passed to :func:`perfkit.quota.models.fit_cost_model` (``tau``, ``q``,
        ``screen``, ``scale``, ``form``, ``reference``, ``dist``).

    Returns
    -------
    StandardsTable
        Besides the quota and coefficients, each direction's ``reach`` (share of records at or below
        the standard) and ``unit_reach`` (share of units), the efficient ``benchmark_quota`` beside it,
        and ``selection``, why its method was used; ``candidates`` keeps the fitted and cross-validated
        candidates of each direction.

    Raises
    ------
    perfkit.DataError
        No records for a direction, or a method that gives no usable (finite, positive) quota.
    """
    if direction is None:
        wanted = sorted(cost_records["direction"].unique())
    else:
        wanted = [direction] if isinstance(direction, str) else list(direction)
    unknown = sorted(set(wanted) - set(cost_records["direction"]))
    if unknown:
        raise DataError(Problem("cost_records", reason("no_cost_records", directions=", ".join(unknown)),
                                column="direction"))
    base_year = int(base_year if base_year is not None else cost_records["year"].max())
    index = _index_map(price_index) if price_index is not None else {}
    names = directions.set_index("direction_id") if directions is not None else None
    rules = load_preset(preset).quota
    rows, weighed = [], {}
    for d in wanted:
        records = cost_records[cost_records["direction"] == d]
        cost = deflate(records, price_index, base_year)
        if method == "auto":
            candidates = [_candidate(records, cost, m, factors, {**candidate_options, **options}, validate)
                          for m, candidate_options in rules.candidates.items()]
            chosen, selection = pick_standard(candidates, rules.target_reach, rules.reach_tolerance)
        else:
            chosen, selection = _candidate(records, cost, method, factors, options, validate), "given"
            candidates = [chosen]
        weighed[d] = candidates
        model = chosen["model"]
        benchmark = next((c for c in candidates if c["method"] == rules.benchmark), None)
        if benchmark is None:
            benchmark = _candidate(records, cost, rules.benchmark, factors,
                                   {**rules.candidates.get(rules.benchmark, {}), **options}, validate=False)
        head = dict(direction=d,
                    direction_name=names.loc[d, "name"] if names is not None and d in names.index else d,
                    output_unit=names.loc[d, "output_unit"] if names is not None and d in names.index else None,
                    method=chosen["method"], base_year=base_year, basic_quota=model.basic_quota,
                    scale_elasticity=model.elasticity, reference_quantity=model.q_ref,
                    translog_q2=model.translog_q2, n=model.n,
                    validation_mape=chosen["mape"], share_above=chosen["share_above"],
                    reach=chosen["reach"], unit_reach=chosen["unit_reach"], benchmark_method=rules.benchmark,
                    benchmark_quota=benchmark["model"].basic_quota, selection=selection)
        rows.append({**head, "factor": None, "level": None, "coefficient": np.nan})
        for factor, table in model.coefficients.items():
            for level, coefficient in table.items():
                rows.append({**head, "factor": factor, "level": level, "coefficient": coefficient})
    return StandardsTable(pd.DataFrame(rows, columns=COLUMNS), price_index=index, candidates=weighed)


def build_all_standards(store, method: str = "auto", base_year: int | None = None,
                        preset: PresetLike = "default") -> StandardsTable:
    """Standards of every direction with cost records in the store (see :func:`build_standards`), deflated
    by the store's price index when it has one."""
    from perfkit import queries

    return build_standards(store.table("cost_records"), method=method, base_year=base_year,
                           price_index=queries.optional_table(store, "price_index"),
                           directions=store.table("directions"), preset=preset)


def stored_standards(store) -> StandardsTable | None:
    """The quota standards saved in the store (``perfkit standards``), or None when there are none."""
    return StandardsTable.from_store(store) if "quota_standards" in store.tables() else None
