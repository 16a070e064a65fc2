"""Units on one scale (统一评价指标): the same indicators for every unit and year, normalised against a
fixed reference year, combined by TOPSIS and by a weighted sum, with the ranks' sensitivity to the
weights and peer groups.

The indicators (``comparison.indicators`` of the preset) are measured per unit and year from the
store by :func:`perfkit.queries.unit_year_indicators` and :func:`indicators_from_store`:

========================  ======  =====================================================================
indicator                 better  measured as
========================  ======  =====================================================================
``execution_rate``        higher  year-end spending / budget in force, over the unit's projects
``target_completion``     higher  mean completion of its quantitative targets (actual/target, ≤ 1)
``evaluation_score``      higher  mean key-evaluation score of its projects (missing where none)
``unit_cost_ratio``       lower   its unit cost / the median of the same direction, grade and year
``red_share``             lower   share of its projects red in year-end monitoring
``findings_per_million``  lower   findings per 100万元 (one million yuan) of budget
``satisfaction``          higher  mean of its satisfaction indicators (%)
========================  ======  =====================================================================

Normalisation is min-max against the reference year (the latest year unless given), reversed where
lower is better, and clipped to [0, 1]: a later year's value beyond the reference range counts as
its best or worst, and a unit's score moves only when the unit moves. An indicator with one value in
the reference year (a zero range) scores 1 where a value is at least as good as it, else 0. A missing
value stays missing: the unit is scored on the indicators it has (weights renormalised), and its
``missing`` column says which it lacks; it is never ranked as if it had scored zero.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from perfkit.errors import DataError, Problem, reason
from perfkit.evaluation.weights import entropy_weights
from perfkit.results import Result, make_record, missing_frame, years_subject
from perfkit.rules import PresetLike, load_preset

log = logging.getLogger("perfkit")

__all__ = ["UnitComparison", "ComparisonResults", "compare", "critic_weights", "indicators_from_store", "normalise", "topsis",
           "year_end_lights"]


def normalise(values: pd.DataFrame, better: Mapping[str, str], reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Min-max normalise each column to [0, 1] (1 is best), against ``reference`` (default: ``values``).

    Parameters
    ----------
    values : DataFrame
        One column per indicator; missing values stay missing.
    better : mapping
        ``"higher"`` or ``"lower"`` for each column.
    reference : DataFrame, optional
        The rows whose minimum and maximum fix the scale (e.g. the reference year's).

    Returns
    -------
    DataFrame
        Like ``values``, clipped to [0, 1]. A column with a zero range in ``reference`` scores 1 where
        the value is at least as good as the reference's one value, else 0.
    """
    reference = values if reference is None else reference
    out = pd.DataFrame(index=values.index, columns=values.columns, dtype=float)
    for column in values.columns:
        if better[column] not in ("higher", "lower"):
            raise ValueError(f"better[{column!r}] must be 'higher' or 'lower', not {better[column]!r}")
        x = values[column].astype(float)
        low, high = reference[column].min(), reference[column].max()
        higher = better[column] == "higher"
        if pd.isna(low):                       # nothing known in the reference: no scale
            out[column] = np.nan
        elif high == low:
            good = x >= low if higher else x <= low
            out[column] = np.where(x.isna(), np.nan, good.astype(float))
        else:
            scaled = (x - low) / (high - low) if higher else (high - x) / (high - low)
            out[column] = scaled.clip(0, 1)
    return out


def critic_weights(normalised: pd.DataFrame) -> np.ndarray:
    """CRITIC weights (Diakoulaki et al., 1995): contrast (standard deviation) × conflict (Σ 1 − r).

    ``normalised`` holds rows with every indicator (rows with a missing value are left out).
    """
    complete = normalised.dropna()
    if len(complete) < 3:
        raise DataError(Problem("critic", reason("critic_too_few", n=len(complete))))
    spread = complete.std(ddof=1).to_numpy()
    correlation = complete.corr().fillna(0).to_numpy()
    information = spread * (1 - correlation).sum(axis=0)
    if information.sum() <= 0:
        return np.full(len(spread), 1 / len(spread))
    return information / information.sum()


def topsis(matrix: pd.DataFrame, weights, better: Mapping[str, str] | None = None, *,
           normalisation: str = "vector", ideal=None, anti_ideal=None) -> pd.Series:
    """TOPSIS closeness (Hwang and Yoon, 1981) of each row: D⁻ / (D⁺ + D⁻), 1 at the ideal.

    Parameters
    ----------
    matrix : DataFrame
        Alternatives (rows) by criteria (columns); a missing value leaves that criterion out of the
        row's distances (the other weights renormalised for that row).
    weights : array-like
        One weight per column.
    better : mapping, optional
        ``"higher"``/``"lower"`` per column (default: all higher).
    normalisation : {"vector", "none"}
        ``"vector"``: divide each column by its Euclidean norm (the textbook method); ``"none"``: the
        values are already on one scale (e.g. :func:`normalise`).
    ideal, anti_ideal : array-like, optional
        Fixed ideal and anti-ideal points (default: each column's best and worst value).
    """
    better = better or {c: "higher" for c in matrix.columns}
    x = matrix.astype(float)
    if normalisation == "vector":
        x = x / np.sqrt((x ** 2).sum())
    elif normalisation != "none":
        raise ValueError("normalisation must be 'vector' or 'none'")
    higher = np.array([better[c] == "higher" for c in x.columns])
    best = np.where(higher, x.max(), x.min()) if ideal is None else np.asarray(ideal, dtype=float)
    worst = np.where(higher, x.min(), x.max()) if anti_ideal is None else np.asarray(anti_ideal, dtype=float)
    closeness = _closeness(x.fillna(0).to_numpy(), x.notna().to_numpy(), np.asarray(weights, dtype=float),
                           best, worst)
    return pd.Series(closeness, index=matrix.index, name="topsis")


def _closeness(values: np.ndarray, known: np.ndarray, weights: np.ndarray, best, worst) -> np.ndarray:
    """TOPSIS closeness of each row of ``values`` (missing cells 0 and not ``known``): the weights of a row's
    known cells renormalised, NaN for a row with nothing known.

    ``weights`` is one vector, or several stacked (shape ``(draws, 1, k)``): then one closeness per draw and row.
    """
    row_weights = np.where(known, weights, 0.0)
    totals = row_weights.sum(axis=-1, keepdims=True)
    row_weights = row_weights / np.where(totals > 0, totals, 1.0)
    plus = np.sqrt((row_weights ** 2 * (values - best) ** 2).sum(axis=-1))
    minus = np.sqrt((row_weights ** 2 * (values - worst) ** 2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        closeness = np.where(plus + minus > 0, minus / (plus + minus), 1.0)
    closeness[..., ~known.any(axis=1)] = np.nan
    return closeness


def _weighted_sum(normalised: pd.DataFrame, weights: np.ndarray) -> pd.Series:
    known = normalised.notna().to_numpy()
    row_weights = np.where(known, weights, 0.0)
    total = row_weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = (normalised.fillna(0).to_numpy() * row_weights).sum(axis=1) / total
    return pd.Series(np.where(total > 0, score, np.nan), index=normalised.index, name="weighted_sum")


class UnitComparison:
    """Compare units (and years) on one scale; a scikit-learn-style estimator.

    Parameters
    ----------
    preset : str or Preset, default "default"
        Its ``comparison`` section: the indicators, their direction and weights, the weighting, the
        coverage below which an indicator is left out, and the number of peer groups.
    weighting : {"preset", "entropy", "critic", "ahp"}, optional
        Overrides the preset's weighting. ``"ahp"`` takes the pairwise judgments of ``ahp`` (a square
        frame indexed by indicator) or of the preset's ``comparison.ahp`` (:func:`perfkit.evaluation.ahp_weights`,
        which refuses an inconsistent matrix).
    reference_year : int, optional
        The year whose range fixes the scale (default: the latest year of the data, so earlier years
        are measured on today's scale).
    random_state : int, default 0
        For the peer groups' k-means and the sensitivity draws.

    Attributes (after ``fit``)
    --------------------------
    indicators_ : list of str
        The indicators compared (those with enough coverage).
    dropped_ : dict
        Indicators left out, with their coverage.
    weights_ : Series
    normalised_ : DataFrame
    """

    def __init__(self, preset: PresetLike = "default", weighting: str | None = None,
                 reference_year: int | None = None, random_state: int = 0, ahp: pd.DataFrame | None = None):
        self.preset = preset
        self.weighting = weighting
        self.ahp = ahp
        self.reference_year = reference_year
        self.random_state = random_state

    def fit(self, values: pd.DataFrame) -> "UnitComparison":
        """Learn the scale and the weights from ``values`` (index: unit_id and year; one column per
        indicator); :func:`compare` turns the fitted estimator into scores and ranks.

        Returns
        -------
        self
        """
        rules = load_preset(self.preset).comparison
        weighting = self.weighting or rules.weighting
        if weighting not in ("preset", "entropy", "critic", "ahp"):
            raise ValueError(f"weighting must be preset, entropy, critic or ahp, not {weighting!r}")
        if list(values.index.names) != ["unit_id", "year"]:
            raise ValueError("values must be indexed by (unit_id, year)")
        if values.empty:
            raise DataError(Problem("comparison", reason("no_indicator_values")))
        unknown = [c for c in values.columns if c not in rules.indicators]
        if unknown:
            raise ValueError(f"indicators not in the preset's comparison: {', '.join(unknown)}")
        years = sorted(values.index.get_level_values("year").unique())
        reference_year = self.reference_year if self.reference_year is not None else years[-1]
        if reference_year not in years:
            raise DataError(Problem("comparison", reason("no_reference_year", year=reference_year,
                                                         years=", ".join(map(str, years)))))
        reference = values.xs(reference_year, level="year", drop_level=False)
        coverage = reference.notna().mean()
        self.dropped_ = {c: float(coverage[c]) for c in values.columns if coverage[c] < rules.min_coverage}
        self.indicators_ = [c for c in values.columns if c not in self.dropped_]
        if not self.indicators_:
            raise DataError(Problem("comparison", reason("no_covered_indicator")))
        better = {c: rules.indicators[c].better for c in self.indicators_}
        self.reference_year_ = reference_year
        self.normalised_ = normalise(values[self.indicators_], better, reference[self.indicators_])
        reference_normalised = self.normalised_.xs(reference_year, level="year", drop_level=False)
        if weighting == "preset":
            raw = np.array([rules.indicators[c].weight for c in self.indicators_])
            weights = raw / raw.sum()
        elif weighting == "entropy":
            # the textbook method weighs the spread of the raw values (the reference year's); the variant
            # the min-max-normalised ones, already oriented (higher is better)
            raw = reference[self.indicators_].dropna() if rules.entropy_method == "shares" \
                else reference_normalised.dropna()
            if len(raw) < 2:
                raise DataError(Problem("entropy", reason("entropy_needs_two")))
            weights = entropy_weights(raw.to_numpy(), method=rules.entropy_method)
        elif weighting == "critic":
            weights = critic_weights(reference_normalised)
        else:
            weights = self._ahp_weights(rules)
        self.weights_ = pd.Series(weights, index=self.indicators_, name="weight")
        self.weighting_ = weighting
        self.entropy_method_ = rules.entropy_method if weighting == "entropy" else None
        return self

    def _ahp_weights(self, rules) -> np.ndarray:
        from perfkit.evaluation import ahp_weights

        if self.ahp is not None:
            frame = self.ahp.loc[self.indicators_, self.indicators_]
            matrix = frame.to_numpy(dtype=float)
        elif rules.ahp is not None:
            matrix = _reciprocal_matrix(rules.ahp, self.indicators_)
        else:
            raise DataError(Problem("comparison.ahp", reason("ahp_needs_judgments")))
        weights, _ = ahp_weights(matrix, preset=self.preset)
        return weights


def _reciprocal_matrix(judgments: Mapping[str, Mapping[str, float]], names: list[str]) -> np.ndarray:
    """The full AHP matrix of ``names`` from judgments given one way (a[j][i] = 1 / a[i][j])."""
    matrix = np.ones((len(names), len(names)))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j:
                continue
            if b in judgments.get(a, {}):
                matrix[i, j] = judgments[a][b]
            elif a in judgments.get(b, {}):
                matrix[i, j] = 1 / judgments[b][a]
            else:
                raise DataError(Problem("comparison.ahp", reason("ahp_no_judgment", a=a, b=b)))
    return matrix


def compare(values: pd.DataFrame, preset: PresetLike = "default", weighting: str | None = None,
            reference_year: int | None = None, random_state: int = 0,
            ahp: pd.DataFrame | None = None) -> "ComparisonResults":
    """Compare the units of ``values`` (index: unit_id and year; one column per indicator) on one scale:
    fit a :class:`UnitComparison` (the parameters are its own) and score, rank and group the units.

    Returns
    -------
    ComparisonResults
    """
    model = UnitComparison(preset, weighting=weighting, reference_year=reference_year, random_state=random_state,
                           ahp=ahp).fit(values)
    return ComparisonResults(model, values[model.indicators_], load_preset(preset).comparison)


class ComparisonResults(Result):
    """The comparison's scores (``table``), ranks, peer groups and the ranks' sensitivity to the weights."""

    kind = "绩效比较"

    def __init__(self, model: UnitComparison, values: pd.DataFrame, rules):
        self.model = model
        self.values = values
        # a unit known on too few indicators is not ranked: its evidence is incomplete (待补充)
        self.ranked = model.normalised_.notna().sum(axis=1) >= min(rules.min_indicators, values.shape[1])
        self.normalised = model.normalised_.where(self.ranked, np.nan)
        self.weights = model.weights_
        self.rules = rules
        self.scores = self._score(self.weights.to_numpy())
        #: per unit and year, the indicators without a value
        self.missing_indicators = values.apply(lambda row: [c for c in values.columns if pd.isna(row[c])], axis=1)
        self.scores["missing"] = self.missing_indicators.map(lambda names: ", ".join(names))
        self.scores["peer_group"] = self._peer_groups()

    def _score(self, weights: np.ndarray) -> pd.DataFrame:
        n = len(self.normalised.columns)
        closeness = topsis(self.normalised, weights, normalisation="none", ideal=np.ones(n), anti_ideal=np.zeros(n))
        frame = pd.DataFrame({"topsis": closeness, "weighted_sum": _weighted_sum(self.normalised, weights)})
        frame["rank"] = frame.groupby(level="year")["topsis"].rank(ascending=False, method="min").astype("Int64")
        frame["units"] = frame.groupby(level="year")["topsis"].transform("count")
        return frame

    def _peer_groups(self) -> pd.Series:
        """k-means on the normalised indicators (a missing value imputed by the column median for this only)."""
        from sklearn.cluster import KMeans
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline

        k = min(self.rules.peer_groups, len(self.normalised))
        usable = self.normalised.dropna(how="all")
        if k < 2 or len(usable) < k:
            return pd.Series(1, index=self.normalised.index, dtype="Int64")
        model = make_pipeline(SimpleImputer(strategy="median"),
                              KMeans(n_clusters=k, n_init=10, random_state=self.model.random_state))
        labels = model.fit_predict(usable)
        # number the groups by their mean score, 1 the best, so a group's number means something
        means = pd.Series(self.scores.loc[usable.index, "topsis"].to_numpy()).groupby(labels).mean()
        order = {label: rank for rank, label in enumerate(means.sort_values(ascending=False).index, start=1)}
        return pd.Series([order[label] for label in labels], index=usable.index, dtype="Int64") \
            .reindex(self.normalised.index)

    def sensitivity(self, draws: int | None = None, perturbation: float | None = None,
                    seed: int | None = None) -> pd.DataFrame:
        """How much each rank depends on the weights: Monte Carlo draws of the weights.

        Each draw multiplies every weight by a factor uniform in [1 − p, 1 + p] (the preset's
        ``sensitivity.perturbation``) and renormalises; the composite and the ranks are recomputed.

        Returns
        -------
        DataFrame
            Per unit and year: the rank's 5th percentile, median and 95th percentile, and the share of
            draws in which the unit is in the top ``top_share`` of its year.
        """
        preset = load_preset(self.model.preset)
        draws = draws or preset.sensitivity.draws
        perturbation = perturbation if perturbation is not None else preset.sensitivity.perturbation
        rng = np.random.default_rng(preset.sensitivity.seed if seed is None else seed)
        base = self.weights.to_numpy()
        n = len(base)
        values = self.normalised.fillna(0).to_numpy()
        known = self.normalised.notna().to_numpy()
        years = self.normalised.index.get_level_values("year").to_numpy()
        # every draw's weights at once (the same stream as one draw after another), scored in blocks that
        # keep the (draws × units × indicators) products small
        w = base * rng.uniform(1 - perturbation, 1 + perturbation, (draws, n))
        w = w / w.sum(axis=1, keepdims=True)
        block = max(1, 2_000_000 // max(1, values.size))
        score = np.concatenate([_closeness(values, known, w[i:i + block, None, :], 1.0, 0.0)   # the fixed ideal
                                for i in range(0, draws, block)])
        ranks = np.empty_like(score)
        for year in np.unique(years):
            in_year = years == year
            ranks[:, in_year] = stats.rankdata(-score[:, in_year], method="min", axis=1, nan_policy="omit")
        units = self.scores["units"].to_numpy()
        unranked = ~self.ranked.to_numpy()
        top = np.where(unranked, np.nan, (ranks <= np.ceil(units * self.rules.top_share)).mean(axis=0))
        # a unit with nothing known has no rank in any draw (its column is all NaN); the others have one in
        # every draw, so the plain percentiles apply (the nan-functions would go column by column)
        scored = ~np.isnan(ranks).any(axis=0)
        spread = np.full((3, ranks.shape[1]), np.nan)
        spread[0, scored], spread[2, scored] = np.percentile(ranks[:, scored], [5, 95], axis=0)
        spread[1, scored] = np.median(ranks[:, scored], axis=0)
        return pd.DataFrame({"rank": self.scores["rank"].to_numpy(), "rank_p05": spread[0], "rank_median": spread[1],
                             "rank_p95": spread[2], "top_share": top}, index=self.normalised.index)

    def change(self) -> pd.DataFrame:
        """Year-on-year change of each unit's score on the fixed scale (this year minus the previous)."""
        wide = self.scores["topsis"].unstack("year")
        return wide.diff(axis=1).stack().rename("change").to_frame()

    def summary(self) -> pd.DataFrame:
        """Scores, ranks, peer groups and missing indicators, best first within each year."""
        return self.scores.sort_values(["rank"]).sort_index(level="year", sort_remaining=False, kind="stable")

    @property
    def table(self) -> pd.DataFrame:
        """Per unit and year: TOPSIS closeness, weighted sum, rank, units ranked, missing indicators, peer group."""
        return self.scores

    @property
    def is_draft(self) -> bool:
        """Never: a unit-year known on too few indicators is left unranked (待补充), the others are ranked."""
        return False

    @property
    def missing(self) -> pd.DataFrame:
        """Every indicator value a unit-year lacks (the unit supplies it)."""
        return missing_frame([dict(subject=f"{unit}-{year}", item=name, evidence="indicator_values")
                              for (unit, year), names in self.missing_indicators.items() for name in names])

    def record(self) -> dict:
        """The index row: the years compared; no score or rating."""
        return make_record(years_subject(self.scores.index.get_level_values("year")), None, None, False)


def year_end_lights(store, years, preset: PresetLike = "default") -> dict[int, pd.DataFrame]:
    """Year-end monitoring (:func:`perfkit.monitoring.monitor` as of 31 December) of each year that has
    an earlier closed year to learn the spending path from; a year without one is left out (logged)."""
    from perfkit.monitoring import monitor

    lights = {}
    for year in years:
        try:
            lights[int(year)] = monitor(store, f"{int(year)}-12-31", preset).table
        except ValueError as exc:       # the first year of data: no earlier year gives the spending profile
            log.info("no year-end monitoring for %s: %s", year, exc)
    return lights


def indicators_from_store(store, years, *, field: str | None = None, preset: PresetLike = "default",
                          units: list[str] | None = None,
                          lights: Mapping[int, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The comparison's indicators of every unit (of ``field``) for ``years``, from the store.

    Key-evaluation scores come from :func:`perfkit.evaluation.evaluate` (drafts are not scores and
    stay missing); red shares from year-end monitoring (:func:`year_end_lights`, or ``lights`` when
    the caller has them).
    """
    from perfkit import queries
    from perfkit.evaluation import completion, evaluate_many

    years = [int(y) for y in years]
    rules = load_preset(preset).comparison
    values = queries.unit_year_indicators(store, years, field=field, units=units)
    targets = queries.unit_year_targets(store, years, field=field, units=units)
    by_unit_year = [targets["unit_id"], targets["year"].astype(int)]
    # over-achieving a target counts as reaching it: one target cannot make up for another
    reached = pd.Series(completion(targets["polarity"], targets["target_value"], targets["actual_value"]),
                        index=targets.index).clip(upper=1)
    values.insert(1, "target_completion", reached.groupby(by_unit_year).mean().reindex(values.index))
    satisfied = targets["level1"].eq(rules.satisfaction_level) & targets["measure_unit"].eq("%")
    values["satisfaction"] = targets["actual_value"].where(satisfied).groupby(by_unit_year).mean() \
        .reindex(values.index)
    scores = []
    panel = queries.panel_projects_of(store, years, field=field, units=units)
    results = evaluate_many(store, panel["project_id"], preset)
    for project_id, unit_id, year in panel.itertuples(index=False):
        result = results[project_id]
        if not result.is_draft:
            scores.append((unit_id, int(year), result.total))
    if scores:
        evaluation = pd.DataFrame(scores, columns=["unit_id", "year", "score"]) \
            .groupby(["unit_id", "year"])["score"].mean()
        values["evaluation_score"] = evaluation.reindex(values.index)
    else:
        values["evaluation_score"] = np.nan
    lights = year_end_lights(store, years, preset) if lights is None else lights
    red = [frame.assign(red=frame["light"].eq("red")).groupby("unit_id")["red"].mean().rename(year)
           for year, frame in lights.items() if len(frame)]
    if red:
        red_share = pd.concat(red, axis=1).stack()
        red_share.index.names = ["unit_id", "year"]
        values["red_share"] = red_share.reindex(values.index)
    else:
        values["red_share"] = np.nan
    order = list(rules.indicators)
    return values[[c for c in order if c in values.columns]]
