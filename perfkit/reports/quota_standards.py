"""The quota standards job: one direction's cost data, every method compared, the standard chosen."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from perfkit import quota
from perfkit._lazy import lazy_module
from perfkit.reports.display import MISSING, figure, markdown, markdown_text, pct, plain, record, thousands
from perfkit.reports.registry import Batch, Job, register
from perfkit.rules import Preset, PresetLike, load_preset
from perfkit.text import text, texts, value_label

if TYPE_CHECKING:
    from perfkit.store import Store

pd = lazy_module("pandas")   # the job is declared (and its --help answers) without pandas
queries = lazy_module("perfkit.queries")

JOB = register(Job(name="quota-standards", notebook="quota_standards.ipynb", subject=("direction",),
                   paths=("excel",), lookups={"direction": ("cost_records", "direction")},
                   warm=("perfkit.queries", "statsmodels.api", "perfkit.quota.standards", "perfkit.quota.validation"),
                   summary="a direction's quota standard: every method compared, the standard and its coefficients",
                   view="quota_study", order=60,
                   batch=Batch(sql="""SELECT DISTINCT c.direction AS subject FROM cost_records c
                                      WHERE ($year::INTEGER IS NULL OR c.year = $year) {where}""",
                               filters=("year",), parameter="direction", aliases="c: cost records")))

#: Methods always shown in the comparison beside the preset's candidates (which carry their options).
ALSO_COMPARED = ("mean", "median", "rlm")
#: The comparison's row order: statistics of unit costs first, then the regressions and the frontier.
COMPARISON_ORDER = ("mean", "median", "trimmed_mean", "two_stage", "percentile", "ols", "rlm", "quantile", "frontier")


def compared_methods(preset: PresetLike = "default") -> dict[str, dict]:
    """The methods of the comparison table with their options: the preset's candidates and the plain
    statistics, in :data:`COMPARISON_ORDER`."""
    candidates = load_preset(preset).quota.candidates
    wanted = set(candidates) | set(ALSO_COMPARED)
    return {m: dict(candidates.get(m, {})) for m in COMPARISON_ORDER if m in wanted}


@dataclass
class QuotaStudy:
    """One direction's quota study; build it with :func:`quota_study`."""

    direction: str
    name: str
    output_unit: str
    method: str
    base_year: int
    records: pd.DataFrame
    cost: pd.Series
    model: quota.CostModel
    standards: quota.StandardsTable
    truth: pd.DataFrame | None
    lang: str = "zh"
    preset: Preset | None = None
    #: The standard's candidates as :func:`perfkit.quota.build_standards` fitted and cross-validated them,
    #: by method, when they were fitted with the options :meth:`comparison` uses (the preset's).
    candidates: dict[str, dict] = field(default_factory=dict)

    def _text(self, key: str, **params) -> str:
        return text(f"quota_standards.{key}", self.lang, **params)

    def heading(self, level: int = 1):
        return markdown_text("quota_standards.title", self.lang, level=level, name=self.name,
                             direction=self.direction)

    def section(self, key: str):
        """A numbered section heading (data, methods, result)."""
        return markdown("## " + self._text(f"sections.{key}"))

    def explanation(self):
        return markdown(self._text("explain", base=self.base_year))

    def screening_table(self) -> pd.DataFrame:
        """Records, screened out, used, years and base year."""
        years = f"{self.records['year'].min()}–{self.records['year'].max()}"
        values = [len(self.records), self.model.n_invalid, self.model.n_screened_out, self.model.n, years,
                  self.base_year]
        return pd.DataFrame({text("project_overview.item", self.lang): list(texts("quota_standards.screening",
                                                                                 self.lang).values()),
                             text("project_overview.value", self.lang): [str(v) for v in values]})

    def conclusion(self):
        """The written conclusion: the standard, the method and why, how reachable it is, the benchmark."""
        q = self.standards.quotas.loc[self.direction]
        preset = self.preset or load_preset()
        return markdown_text(
            "quota_standards.conclusion", self.lang, name=self.name, quota=q["basic_quota"], unit=self.output_unit,
            method=value_label("method", q["method"], self.lang), why=self.why(),
            reach=q["reach"], unit_reach=q["unit_reach"], target=preset.quota.target_reach,
            mape=q["validation_mape"], benchmark=q["benchmark_quota"],
            benchmark_method=value_label("method", q["benchmark_method"], self.lang))

    def why(self) -> str:
        """Why the standard's method was used, in the figures of the candidates the engine weighed (the same
        as the comparison table's): the pool of :func:`perfkit.quota.standards.reach_pool` and its errors."""
        from perfkit.quota.standards import reach_pool

        q = self.standards.quotas.loc[self.direction]
        rules = (self.preset or load_preset()).quota
        method = value_label("method", q["method"], self.lang)
        separator = "、" if self.lang == "zh" else "; "
        candidates = separator.join(value_label("method", m, self.lang) for m in rules.candidates)
        if q["selection"] == "highest_reach":
            return self._text("why.highest_reach", target=rules.target_reach, method=method, reach=q["reach"],
                              candidates=candidates)
        if q["selection"] != "closest_reach":
            return value_label("selection", q["selection"], self.lang)
        weighed = self.standards.candidates.get(self.direction, list(self.candidates.values()))
        pool = reach_pool(weighed, rules.target_reach, rules.reach_tolerance)
        listed = separator.join(self._text("why.candidate", method=value_label("method", c["method"], self.lang),
                                           reach=c["reach"], mape=c["mape"]) for c in pool)
        key = "why.closest_one" if len(pool) == 1 else "why.closest_many"
        return self._text(key, target=rules.target_reach, tolerance=rules.reach_tolerance, pool=listed,
                          method=method, candidates=candidates)

    def identities(self):
        """What the comparison table shows equal by construction, said so that nobody reads it as chance:
        the cost-function regression (OLS with unit scale elasticity and Duan's smearing) is the arithmetic
        mean of the coefficient-adjusted unit costs, to the cent."""
        frame = self.comparison()
        if {"mean", "ols"} <= set(frame.index):
            options = compared_methods(self.preset or "default")["ols"]
            if options.get("scale", "constant") == "constant":
                return markdown(self._text("ols_is_mean", quota=frame.at["ols", "basic_quota"]))
        return None

    def record(self):
        """The result for the index: the basic quota and its method."""
        q = self.standards.quotas.loc[self.direction]
        return record(job=JOB.name, lang=self.lang, score=float(q["basic_quota"]), rating=value_label("method", q["method"], self.lang),
                      status="final")

    def comparison(self) -> pd.DataFrame:
        """Every method side by side: quota, cross-validated error, share above, year stability, truth error.

        Indexed by method code; the demo city's stores add the error against the true efficient unit cost.
        (Computed once: the conclusion and the notes read the same figures as the table.)
        """
        if getattr(self, "_comparison", None) is None:
            self._comparison = self._compare()
        return self._comparison.copy()

    def _compare(self) -> pd.DataFrame:
        rows = []
        for method, options in compared_methods(self.preset or "default").items():
            weighed = self.candidates.get(method)     # the same fit and folds: not done twice
            model = weighed["model"] if weighed else quota.fit_cost_model(self.records, method, cost=self.cost,
                                                                          **options)
            checked = weighed if weighed else quota.cross_validate(self.records, method, cost=self.cost, **options)
            row = {"method": value_label("method", method, self.lang), "key": method,
                   "basic_quota": model.basic_quota, "mape": checked["mape"],
                   "reach": weighed["reach"] if weighed else quota.standards.reach(model, self.records, self.cost)[0],
                   "share_above": checked["share_above"],
                   "stability": quota.year_stability(self.records, method, cost=self.cost, **options)}
            if method in quota.models.STATISTIC_METHODS:
                # 95% bootstrap interval of the statistic on coefficient-normalised unit costs
                normalised = (self.cost / self.records["quantity"]
                              / model.coefficient_product(self.records[list(model.coefficients)], len(self.records)))
                row["ci_low"], row["ci_high"] = quota.bootstrap_interval(
                    normalised.to_numpy(), method, q=options.get("q"), screen="iqr", n_resamples=1000)
            if self.truth is not None:
                row["truth_error"] = quota.error_against_truth(model, self.records, self.truth)
            rows.append(row)
        return pd.DataFrame(rows).set_index("key")

    def comparison_table(self) -> pd.DataFrame:
        """:meth:`comparison` formatted for reading: money with separators, ratios in percent."""
        frame = self.comparison()
        frame["basic_quota"] = frame["basic_quota"].map("{:,.2f}".format)
        frame["ci"] = [(MISSING if pd.isna(low) else f"{low:,.0f} – {high:,.0f}")
                       for low, high in zip(frame.pop("ci_low"), frame.pop("ci_high"))]
        for column in ("mape", "reach", "share_above", "stability", "truth_error"):
            if column in frame:
                frame[column] = frame[column].map(pct)
        order = [c for c in ("method", "basic_quota", "ci", "mape", "reach", "share_above", "stability",
                             "truth_error")
                 if c in frame]
        headers = texts("quota_standards.comparison", self.lang)
        return frame[order].rename(columns=headers).set_index(headers["method"])

    def plot_drivers(self):
        """Log unit cost against log quantity, one colour per region."""
        fig, ax = figure(figsize=(8, 4.5))
        unit = self.cost / self.records["quantity"]
        for region, group in self.records.groupby("region"):
            ax.scatter(group["quantity"], unit.loc[group.index], s=12, alpha=0.6, label=plain(region))
        ax.set_xscale("log")
        ax.set_yscale("log")
        thousands(ax.xaxis)
        thousands(ax.yaxis)
        ax.set_xlabel(self._text("quantity", unit=self.output_unit))
        ax.set_ylabel(self._text("unit_cost"))
        ax.set_title(self._text("drivers"))
        ax.legend()
        return fig

    def plot_efficiency(self):
        """Histogram of record efficiencies under the stochastic cost frontier."""
        frontier = (self.model if self.model.method == "frontier"
                    else quota.fit_cost_model(self.records, "frontier", cost=self.cost))
        efficiency = frontier.detail.efficiency()
        fig, ax = figure(figsize=(8, 3.5))
        ax.hist(efficiency, bins=30, color="#4c72b0")
        ax.axvline(efficiency.mean(), color="#c44e52", linestyle="--")
        ax.set_xlabel(self._text("efficiency"))
        ax.set_ylabel(self._text("count"))
        ax.set_title(self._text("efficiency_title", mean=efficiency.mean()))
        return fig


    # -- efficiency over the years: a panel frontier of unit-year totals ----------------------------------
    def panel(self):
        """The Battese–Coelli (1992) cost frontier of unit-year totals (deflated cost ~ quantity), or None
        when fewer than the preset's ``quota.panel_min_units`` units have records in two years or more."""
        if not hasattr(self, "_panel"):
            totals = self.unit_years()
            years_per_unit = totals.groupby("entity")["year"].nunique()
            self._panel = None
            if (years_per_unit >= 2).sum() >= self.preset.quota.panel_min_units:
                import warnings

                factors = "".join(f" + C({f})" for f in ("region", "grade") if totals[f].nunique() > 1)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")      # a boundary fit is said in the note instead
                    fit = quota.PanelFrontier.from_formula(
                        "np.log(cost) ~ np.log(quantity)" + factors, totals, entity="entity", time="year",
                        cost=True, model="bc92", dist="half-normal").fit()
                    # η only where the data show it: otherwise the time-invariant Pitt–Lee model
                    self._panel_lr = {**fit.lr_test_eta(), "eta": fit.eta}
                    if self._panel_lr["p_value"] >= self.preset.quota.panel_eta_alpha:
                        fit = fit.pitt_lee()        # the test's own restricted fit
                    self._panel = fit
        return self._panel

    def unit_years(self) -> pd.DataFrame:
        """Deflated cost and quantity summed by unit, region, grade (the panel's entity) and year."""
        frame = self.records.assign(cost=self.cost.to_numpy(), region=self.records["region"].fillna("—"),
                                    grade=self.records["grade"].fillna("—"))
        totals = frame.groupby(["unit_id", "region", "grade", "year"], as_index=False)[["cost", "quantity"]].sum()
        return totals.assign(entity=totals["unit_id"] + "/" + totals["region"] + "/" + totals["grade"])

    def panel_heading(self):
        return markdown("## " + self._text("panel.heading"))

    def panel_note(self):
        res = self.panel()
        if res is None:
            years_per_unit = self.unit_years().groupby("unit_id")["year"].nunique()
            return markdown(self._text("panel.too_few", units=int((years_per_unit >= 2).sum()),
                                       min=self.preset.quota.panel_min_units))
        if res.gamma < quota.GAMMA_AT_ZERO:
            return markdown(self._text("panel.none_persistent", units=res.model.n_units, rows=int(res.nobs)))
        lr = self._panel_lr
        verdict = self._text("panel.significant" if res.model.panel_model == "bc92" else "panel.not_significant")
        return markdown(self._text("panel.note", units=res.model.n_units, rows=int(res.nobs), eta=lr["eta"],
                                   p=lr["p_value"], verdict=verdict))

    def panel_table(self) -> pd.DataFrame | None:
        """Cost efficiency (frontier / actual) by year: mean, lowest and highest (None without a panel fit
        that finds persistent inefficiency)."""
        res = self.panel()
        if res is None or res.gamma < quota.GAMMA_AT_ZERO:
            return None
        totals = self.unit_years().assign(efficiency=res.efficiency())
        by_year = totals.groupby("year")["efficiency"].agg(["count", "mean", "min", "max"])
        columns = texts("quota_standards.panel.columns", self.lang)
        return pd.DataFrame({columns["year"]: by_year.index.astype(str), columns["units"]: by_year["count"].to_numpy(),
                             columns["mean"]: by_year["mean"].map(lambda v: f"{v:.3f}").to_numpy(),
                             columns["lowest"]: by_year["min"].map(lambda v: f"{v:.3f}").to_numpy(),
                             columns["highest"]: by_year["max"].map(lambda v: f"{v:.3f}").to_numpy()})

    def dea_years(self) -> pd.Series:
        """Each unit-year's DEA efficiency (input: deflated cost; output: quantity; the preset's returns to
        scale), against the frontier of its own year, in the order of :meth:`unit_years`."""
        totals = self.unit_years().reset_index(drop=True)
        found = pd.Series(float("nan"), index=totals.index)
        for _, year in totals.groupby("year"):
            found[year.index] = quota.dea(year[["cost"]], year[["quantity"]], rts=self.preset.quota.dea_rts,
                                          orientation="input", slacks=False).efficiency.to_numpy()
        return found

    def _ranking(self) -> pd.DataFrame | None:
        """Each group's efficiency in its last year with its Horrace–Schmidt interval and its DEA efficiency,
        best first."""
        if not hasattr(self, "_ranked"):
            self._ranked = self._rank()
        return self._ranked

    def _rank(self) -> pd.DataFrame | None:
        res = self.panel()
        if res is None or res.gamma < quota.GAMMA_AT_ZERO:
            return None
        totals = pd.concat([self.unit_years().reset_index(drop=True),
                            res.efficiency_interval(self.preset.quota.ranking_level).reset_index(drop=True)], axis=1)
        totals["dea"] = self.dea_years().to_numpy()
        last = totals.loc[totals.groupby("entity")["year"].idxmax()]
        return last.sort_values(["efficiency", "entity"], ascending=[False, True], ignore_index=True)

    def ranking_note(self):
        """How far the ranking separates the units, and how far DEA ranks them alike (None without a panel fit
        finding persistent inefficiency)."""
        ranked = self._ranking()
        if ranked is None:
            return None
        overlap = int((ranked["upper"].iloc[1:] >= ranked["lower"].iloc[0]).sum())
        agreement = quota.rank_agreement(ranked["efficiency"], ranked["dea"])
        return markdown(self._text("panel.ranking", n=len(ranked), level=self.preset.quota.ranking_level,
                                   overlap=overlap)
                        + self._text("panel.dea", rts=self._text(f"panel.rts_{self.preset.quota.dea_rts}"),
                                     rho=agreement["rho"], p=_p_text(agreement["p_value"]), n=agreement["n"]))

    def malmquist_note(self):
        """What the Malmquist table shows (None when there is no table)."""
        return None if self.malmquist_table() is None else markdown(self._text("panel.malmquist"))

    def malmquist_table(self) -> pd.DataFrame | None:
        """Productivity change of the groups seen in consecutive years: the geometric means of the Malmquist
        index and its efficiency and technical changes (Färe et al. 1994, constant returns, input-oriented);
        None with fewer than two years."""
        if not hasattr(self, "_malmquist"):
            self._malmquist = self._malmquist_table()
        return self._malmquist

    def _malmquist_table(self) -> pd.DataFrame | None:
        totals = self.unit_years()
        if totals["year"].nunique() < 2:
            return None
        found = quota.malmquist(totals[["cost"]], totals[["quantity"]], totals["entity"], totals["year"],
                                rts="crs").dropna(subset=["m"])
        if found.empty:
            return None
        from scipy.stats import gmean

        columns = texts("quota_standards.panel.malmquist_columns", self.lang)
        by_year = found.groupby("period").agg(n=("m", "size"), **{c: (c, gmean) for c in ("m", "ec", "tc")})
        years = sorted(totals["year"].unique())
        before = dict(zip(years[1:], years))
        return pd.DataFrame({columns["period"]: [f"{before[b]}–{b}" for b in by_year.index],
                             columns["units"]: by_year["n"].to_numpy(),
                             **{columns[c]: by_year[c].map(lambda v: f"{v:.3f}").to_numpy() for c in ("m", "ec", "tc")}})

    def ranking_table(self) -> pd.DataFrame | None:
        """A ranking of units is never shown without its uncertainty: each unit-region-grade group's cost
        efficiency in its last year with its 95% Horrace–Schmidt (1996) interval, best first."""
        ranked = self._ranking()
        if ranked is None:
            return None
        columns = texts("quota_standards.panel.ranking_columns", self.lang)
        return pd.DataFrame({columns["rank"]: range(1, len(ranked) + 1), columns["entity"]: ranked["entity"],
                             columns["year"]: ranked["year"].astype(str),
                             **{columns[c]: ranked[c].map(lambda v: f"{v:.3f}") for c in ("efficiency", "lower",
                                                                                        "upper", "dea")}})

    def plot_panel(self):
        """Each unit's cost efficiency over the years (grey), and the mean (blue)."""
        res = self.panel()
        if res is None or res.gamma < quota.GAMMA_AT_ZERO:
            return None
        totals = self.unit_years().assign(efficiency=res.efficiency())
        fig, ax = figure(figsize=(8, 3.5))
        # years on a numeric axis: as text they were categories in the order first met, and a panel whose
        # first unit lacks a year put that year last (2021, 2022, 2023, 2025, 2024)
        for _, unit in totals.sort_values("year").groupby("entity"):
            ax.plot(unit["year"].astype(int), unit["efficiency"], color="#bbbbbb", linewidth=0.7)
        mean = totals.groupby("year")["efficiency"].mean().sort_index()
        ax.plot(mean.index.astype(int), mean.to_numpy(), color="#4c72b0", linewidth=2.5, marker="o",
                label=self._text("panel.mean_series"))
        years = [int(year) for year in mean.index]
        ax.set_xticks(years, [str(year) for year in years])
        ax.set_ylabel(self._text("panel.axis"))
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend()
        return fig


def quota_study(store: Store, direction: str, method: str = "auto", base_year: int | None = None,
                lang: str = "zh", preset: PresetLike = "default", **options) -> QuotaStudy:
    """Gather a direction's cost records from the store and set its standard with ``method``
    (``"auto"``: the preset's choice, see :func:`perfkit.quota.build_standards`)."""
    preset = load_preset(preset)
    records = queries.cost_records(store, direction)
    if records.empty:
        raise KeyError(f"no cost records for direction {direction!r} in {store.path}")
    info = queries.direction(store, direction)
    price_index = queries.optional_table(store, "price_index")
    base_year = int(base_year or records["year"].max())
    cost = quota.deflate(records, price_index, base_year)
    standards = quota.build_standards(records, direction, method=method, base_year=base_year,
                                      price_index=price_index, directions=store.table("directions"),
                                      preset=preset, **options)
    chosen = standards.quotas.loc[direction, "method"]
    # the candidates were fitted with the preset's options, as the study's comparison fits them, unless the
    # caller gave a method or options of its own
    weighed = ({c["method"]: c for c in standards.candidates.get(direction, [])}
               if method == "auto" and not options else {})
    model = weighed[chosen]["model"] if chosen in weighed else quota.fit_cost_model(
        records, chosen, cost=cost, **{**preset.quota.candidates.get(chosen, {}), **options})
    truth = queries.optional_table(store, "cost_truth", where_direction=direction)
    return QuotaStudy(direction=direction, name=info["name"], output_unit=info["output_unit"], method=chosen,
                      base_year=base_year, records=records, cost=cost, model=model, standards=standards,
                      truth=truth, lang=lang, preset=preset, candidates=weighed)


__all__ = ["JOB", "QuotaStudy", "compared_methods", "quota_study"]


def _p_text(p: float) -> str:
    """A p-value as a report prints it: "= 0.014", or "< 0.001" (never "= 0.000")."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"
