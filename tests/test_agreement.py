"""Panel agreement: Shrout & Fleiss's intraclass correlations against the published example and pingouin,
leniency and the panel summary."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfkit.evaluation import icc, leniency, panel_summary

# Shrout and Fleiss (1979), Table 2: six targets rated by four judges
SHROUT_FLEISS = pd.DataFrame([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
                             index=list("123456"), columns=list("ABCD"), dtype=float)
# their Table 4 (to the two decimals they print)
PUBLISHED = {"ICC(1,1)": 0.17, "ICC(2,1)": 0.29, "ICC(3,1)": 0.71, "ICC(1,k)": 0.44, "ICC(2,k)": 0.62,
             "ICC(3,k)": 0.91}


def _long(wide: pd.DataFrame) -> pd.DataFrame:
    return wide.rename_axis("item").rename_axis("expert_id", axis=1).stack().rename("score").reset_index()


def test_the_published_example_is_reproduced():
    out = icc(SHROUT_FLEISS)
    for form, value in PUBLISHED.items():
        assert out.at[form, "icc"] == pytest.approx(value, abs=0.005), form
    # their Table 3: BMS 11.24, WMS 6.26, EMS 1.02: F = BMS/WMS and BMS/EMS
    assert out.at["ICC(1,1)", "F"] == pytest.approx(11.24 / 6.26, abs=0.01)
    assert out.at["ICC(3,1)", "F"] == pytest.approx(11.24 / 1.02, abs=0.05)
    assert (out["ci_low"] < out["icc"]).all() and (out["icc"] < out["ci_high"]).all()
    assert out.attrs["n"] == 6 and out.attrs["k"] == 4
    # long and wide input are the same
    pd.testing.assert_frame_equal(icc(_long(SHROUT_FLEISS)), out)


def _pingouin(wide: pd.DataFrame) -> pd.DataFrame:
    pingouin = pytest.importorskip("pingouin")
    found = pingouin.intraclass_corr(_long(wide), targets="item", raters="expert_id", ratings="score")
    # pingouin names the forms ICC1… (0.5) or ICC(1,1), ICC(A,1)… (0.7): always in Shrout and Fleiss's order
    found = found.rename(columns={"CI95%": "CI95"})
    return found.assign(form=list(icc(SHROUT_FLEISS).index)).set_index("form")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_form_equals_pingouin(seed, demo_frames):
    if seed == 0:
        wide = SHROUT_FLEISS
    else:   # a real demo panel of the demo city: items × experts
        scores = demo_frames["expert_scores"]
        project = sorted(scores["project_id"].unique())[seed * 7]
        wide = scores[scores["project_id"] == project].pivot(index="item", columns="expert_id", values="score")
    mine, theirs = icc(wide), _pingouin(wide)
    for form in mine.index:
        assert mine.at[form, "icc"] == pytest.approx(theirs.at[form, "ICC"], abs=1e-12)
        assert mine.at[form, "F"] == pytest.approx(theirs.at[form, "F"], rel=1e-12)
        assert mine.at[form, "p_value"] == pytest.approx(theirs.at[form, "pval"], rel=1e-9, abs=1e-300)
        assert (mine.at[form, "df1"], mine.at[form, "df2"]) == (theirs.at[form, "df1"], theirs.at[form, "df2"])
        # pingouin prints its intervals to two decimals
        low, high = theirs.at[form, "CI95"]
        assert mine.at[form, "ci_low"] == pytest.approx(low, abs=0.0051)
        assert mine.at[form, "ci_high"] == pytest.approx(high, abs=0.0051)


def test_the_anova_is_an_independent_twoway_fit():
    """The mean squares behind the ICCs equal statsmodels' two-way ANOVA of the same ratings."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    table = anova_lm(smf.ols("score ~ C(item) + C(expert_id)", data=_long(SHROUT_FLEISS)).fit())
    msr, msc, mse = table["mean_sq"].to_numpy()
    n, k = SHROUT_FLEISS.shape
    out = icc(SHROUT_FLEISS)
    assert out.at["ICC(3,1)", "icc"] == pytest.approx((msr - mse) / (msr + (k - 1) * mse), rel=1e-12)
    assert out.at["ICC(2,1)", "icc"] == pytest.approx((msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n),
                                                      rel=1e-12)


def test_too_small_or_constant_panels_give_nan_not_numbers():
    assert icc(SHROUT_FLEISS.iloc[:1])["icc"].isna().all()
    assert icc(SHROUT_FLEISS.iloc[:, :1])["icc"].isna().all()
    assert icc(pd.DataFrame(np.full((4, 3), 80.0)))["icc"].isna().all()


def test_leniency_is_the_mean_gap_to_the_others():
    scores = _long(pd.DataFrame({"E1": [80.0, 90.0], "E2": [70.0, 70.0], "E3": [60.0, 50.0]},
                                index=["立项依据充分性", "绩效目标合理性"]))
    out = leniency(scores, {"立项依据充分性": 3.0, "绩效目标合理性": 4.0})
    # E1: 80 − 65 = 15 and 90 − 60 = 30 → 22.5 % points; in points 15% × 3 = 0.45 and 30% × 4 = 1.2 → 0.825
    assert out.at["E1", "deviation"] == pytest.approx(22.5)
    assert out.at["E1", "points"] == pytest.approx(0.825)
    assert out.at["E3", "deviation"] == pytest.approx(-22.5)
    assert out["items"].tolist() == [2, 2, 2]


def test_the_summary_flags_an_outlier_but_drops_only_what_trimming_drops(demo_frames):
    scores = demo_frames["expert_scores"]
    project = scores.groupby("project_id")["expert_id"].nunique().loc[lambda s: s == 5].index[0]
    mine = scores[scores["project_id"] == project].copy()
    lenient = mine["expert_id"].iloc[0]
    mine.loc[mine["expert_id"] == lenient, "score"] = 100.0
    mine.loc[mine["expert_id"] != lenient, "score"] = mine.loc[mine["expert_id"] != lenient, "score"].clip(upper=70)
    summary = panel_summary(mine)
    assert summary.outliers == [lenient]
    assert summary.experts.at[lenient, "deviation"] > 30
    # five experts: the highest and lowest are dropped (the preset's trimming), nothing more
    item = summary.items.index[0]
    kept = np.sort(mine.loc[mine["item"] == item, "score"].to_numpy())[1:-1]
    assert summary.items.at[item, "score"] == pytest.approx(kept.mean())
    # the scores in points add up to what each expert gave
    assert summary.scores.loc[item, lenient] == pytest.approx(summary.items.at[item, "points"])
    assert set(summary.icc.index) == {"ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)"}
