"""The demo city: deterministic, at the source programme's scale, and true to its documented cost function."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt

import perfkit
from perfkit.datasets import (CLOSED_YEARS, COST_BASE_YEAR, CURRENT_YEAR, PRICE_INDEX, make_directions,
                              make_indicator_library)


def test_same_seed_same_city_other_seed_other_city(demo_frames):
    again = perfkit.datasets.make_demo(seed=0)
    for name, frame in demo_frames.items():
        pdt.assert_frame_equal(frame, again[name], obj=name)
    other = perfkit.datasets.make_demo(seed=1, n_indicators=2000)
    assert not other["budgets"]["amount"].equals(demo_frames["budgets"]["amount"])


def test_write_demo_round_trips_through_csv_with_bom(tmp_path, demo_frames):
    paths = perfkit.datasets.write_demo(tmp_path, seed=0)
    assert set(paths) == set(demo_frames)
    assert paths["units"].read_bytes().startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 with BOM correctly
    units = perfkit.read_table(paths["units"], "units")
    assert units["name"].tolist() == demo_frames["units"]["name"].tolist()


def test_scale_of_the_source_programme(demo_frames):
    units = demo_frames["units"]
    assert (units["level"] == 1).sum() == 125 and (units["level"] == 2).sum() == 491
    assert units["field"].nunique() >= 10
    directions = demo_frames["directions"]
    assert (directions["category"].nunique(), directions["subcategory"].nunique(), len(directions)) == (21, 65, 293)
    assert len(demo_frames["indicators"]) == 7_750
    assert demo_frames["indicators"]["name"].str.contains("满意度").any()


def test_indicator_library_scales(demo_frames):
    small = make_indicator_library(make_directions(), 293 * 6)
    assert len(small) == 1758 and small.groupby("direction").size().eq(6).all()
    assert set(small["level1"]) == {"产出", "效益", "满意度"}


def test_projects_cover_budgets_categories_and_years(demo_frames):
    projects = demo_frames["projects"]
    assert set(projects["budget_type"]) == {"general", "fund", "state_capital", "social_insurance"}
    assert set(projects["category"]) == {"regular", "special_bond", "guidance_fund", "purchased_service", "ppp"}
    assert set(projects["year"]) == {*CLOSED_YEARS, CURRENT_YEAR}
    assert projects.groupby("program_id")["year"].nunique().max() > 1  # continuing projects
    assert projects["is_new"].any() and not projects["is_new"].all()


def test_execution_is_q4_heavy_with_late_missing_and_inconsistent_records(demo_frames):
    e = demo_frames["execution"].copy()
    closed = e[e["month"].dt.year < CURRENT_YEAR].sort_values(["project_id", "month"])
    closed["increment"] = closed.groupby("project_id")["spent_cumulative"].diff().fillna(closed["spent_cumulative"])
    by_month = closed.groupby(closed["month"].dt.month)["increment"].sum()
    assert by_month.idxmax() == 12 and by_month.loc[10:12].sum() > 0.4 * by_month.sum()
    current = e[e["month"].dt.year == CURRENT_YEAR]
    assert current["month"].max() == pd.Timestamp(CURRENT_YEAR, 8, 31)
    months = closed.groupby("project_id").size()
    assert (months < 12).any()                                                       # missing months
    assert (closed.groupby("project_id")["spent_cumulative"].diff() < 0).any()       # reversals
    projects = demo_frames["projects"]["project_id"]
    assert not projects.isin(e["project_id"]).all()                                  # no records at all
    budgets = demo_frames["budgets"].set_index("project_id")
    rate = closed.groupby("project_id")["spent_cumulative"].last() / budgets["adjusted_amount"].fillna(
        budgets["amount"]).reindex(months.index)
    assert (rate < 0.6).sum() > 20                                                   # late projects


def test_cost_records_follow_the_documented_cost_function(demo_frames):
    records, truth = demo_frames["cost_records"], demo_frames["cost_truth"]
    assert records["direction"].nunique() >= 5
    for direction, group in records.groupby("direction"):
        t = truth[truth["direction"] == direction]
        unit_cost = t.loc[t["parameter"] == "unit_cost", "value"].item()
        coef = t[t["parameter"] == "coefficient"].set_index(["factor", "level"])["value"]
        sigma_u = t.loc[t["parameter"] == "sigma_u", "value"].item()
        deflated = (group["cost"] / group["quantity"] * PRICE_INDEX[COST_BASE_YEAR]
                    / group["year"].map(PRICE_INDEX)
                    / group["region"].map(coef["region"]) / group["grade"].map(coef["grade"]))
        # E[ln cost/efficient cost] = E[u] = sigma_u * sqrt(2/pi) for half-normal u (v has mean 0)
        excess = np.log(deflated / unit_cost).mean()
        assert abs(excess - sigma_u * np.sqrt(2 / np.pi)) < 0.04, direction
