"""The new fields (issue 25): special-purpose bonds, guidance funds, purchased services and PPP projects,
each scored on its own framework from its ledgers, by hand-computed figures on a constructed city."""
from __future__ import annotations

import math

import pandas as pd
import pytest

import perfkit
from perfkit.errors import DataError
from perfkit.evaluation import evaluate, score_project
from perfkit.evaluation.fields import evaluate_formula, formula_share, linked_payment
from perfkit.queries import project_evidence
from perfkit.rules import load_preset, validate_preset
from perfkit.text import render
from tests.conftest import tiny_tables, write_tables

PRESET = load_preset("default")


def field_city() -> dict[str, pd.DataFrame]:
    """The tiny city with one project of each new field in 2025 and figures whose items are worked by hand."""
    frames = tiny_tables()
    ids = ["B1", "F1", "S1", "Q1"]
    categories = ["special_bond", "guidance_fund", "purchased_service", "ppp"]
    frames["projects"] = pd.concat([frames["projects"], pd.DataFrame({
        "project_id": ids, "program_id": ["G2", "G3", "G4", "G5"], "unit_id": ["U2"] * 4,
        "name": ["某区棚改专项债券项目", "某产业引导基金", "某政府购买服务项目", "某PPP项目"], "year": [2025] * 4,
        "budget_type": ["fund", "state_capital", "general", "general"], "direction": ["D1"] * 4,
        "category": categories, "is_new": [False] * 4, "start_date": [pd.Timestamp("2025-01-01")] * 4,
        "end_date": [pd.Timestamp("2025-12-31")] * 4})], ignore_index=True)
    frames["budgets"] = pd.concat([frames["budgets"], pd.DataFrame({
        "project_id": ids, "year": [2025] * 4, "amount": [1_000_000.0, 2_000_000.0, 1_000_000.0, 3_000_000.0],
        "adjusted_amount": [None] * 4})], ignore_index=True)
    frames["execution"] = pd.concat([frames["execution"], pd.DataFrame({
        "project_id": ids, "month": [pd.Timestamp("2025-12-31")] * 4,
        "spent_cumulative": [800_000.0, 2_000_000.0, 970_000.0, 2_900_000.0]})], ignore_index=True)
    frames["bond_projects"] = pd.DataFrame({"project_id": ["B1"], "bond_name": ["2024年某市专项债券（三期）"],
                                            "issued": [1_000_000.0], "term_years": [3], "rate": [0.03],
                                            "assets_formed": [720_000.0]})
    frames["bond_schedule"] = pd.DataFrame({
        "project_id": ["B1"] * 3, "year": [2024, 2025, 2026], "principal_due": [0.0, 0.0, 1_000_000.0],
        "interest_due": [30_000.0] * 3, "revenue_planned": [0.0, 500_000.0, 700_000.0],
        "revenue_actual": [0.0, 450_000.0, None], "paid": [30_000.0, 30_000.0, None]})
    frames["guidance_funds"] = pd.DataFrame({"project_id": ["F1"], "fund_name": ["某产业投资基金（有限合伙）"],
                                             "target_size": [6_000_000.0], "net_assets": [4_600_000.0],
                                             "policy_sectors": ["生物医药、新材料"]})
    frames["fund_contributions"] = pd.DataFrame({
        "project_id": ["F1"] * 3, "investor": ["市财政局", "社会出资人甲", "社会出资人乙"],
        "kind": ["government", "social", "social"], "subscribed": [2_000_000.0, 3_000_000.0, 1_000_000.0],
        "paid_in": [1_500_000.0, 3_000_000.0, 500_000.0]})
    frames["fund_investments"] = pd.DataFrame({
        "investment_id": ["I1", "I2", "I3", "I4"], "project_id": ["F1"] * 4,
        "enterprise": ["甲生物医药有限公司", "乙科技有限公司", "丙新材料有限公司", "丁医药有限公司"],
        "sector": ["生物医药", "信息技术", "新材料", "生物医药"], "in_city": [True, True, False, True],
        "in_policy_sector": [True, False, True, True], "amount": [1_000_000.0, 800_000.0, 700_000.0, 900_000.0],
        "invest_date": pd.to_datetime(["2025-03-01", "2024-06-01", "2025-09-01", "2026-02-01"])})
    frames["service_contracts"] = pd.DataFrame({
        "contract_id": ["C1", "C2"], "project_id": ["S1", "S1"], "contractor": ["甲社工中心", "乙社工中心"],
        "amount": [600_000.0, 400_000.0], "measure_unit": ["人次", "人次"], "units_contracted": [1000.0, 500.0],
        "units_delivered": [980.0, 500.0], "units_accepted": [950.0, 500.0], "standard_unit_cost": [500.0, 700.0],
        "paid": [570_000.0, 400_000.0]})
    frames["ppp_payments"] = pd.DataFrame({"project_id": ["Q1"], "contract_name": ["某PPP项目合同"],
                                           "availability_payment": [2_000_000.0], "operation_payment": [900_000.0]})
    frames["expert_scores"] = pd.DataFrame(columns=["project_id", "expert_id", "item", "score"])
    frames["findings"] = pd.DataFrame(columns=["finding_id", "project_id", "stage", "item", "problem_type",
                                               "description", "deduction", "amount", "recommendation"])
    return frames


@pytest.fixture(scope="module")
def field_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("fields") / "fields.duckdb"
    with perfkit.Store(path) as store:
        store.load_frames(field_city())
    with perfkit.Store(path, read_only=True) as store:
        yield store


def formula(result, item) -> dict:
    return result.formulas.set_index("item").loc[item].to_dict()


def test_each_field_has_its_framework_and_the_regular_tree_its_own(field_store):
    expected = {"B1": "专项债券项目资金绩效评价", "F1": "政府投资基金绩效评价", "S1": "政府购买服务绩效评价",
                "Q1": "PPP项目运营期绩效评价"}
    for project_id, name in expected.items():
        result = evaluate(field_store, project_id)
        assert result.framework_name == name
        assert list(result.table["indicator"]) == [i["item"] for i in PRESET.items(result.project["category"])]
    regular = evaluate(field_store, "P1")
    assert regular.framework is None and regular.framework_name == "default" and regular.formulas.empty
    assert list(regular.table["indicator"]) == [i["item"] for i in PRESET.items()]


def test_special_bond_items_by_hand(field_store):
    r = evaluate(field_store, "B1")
    facts = r.facts
    # revenue counted: achieved to the evaluated year (0 + 450,000), planned after (700,000)
    assert facts["revenue_life"] == 1_150_000 and facts["service_life"] == 1_090_000
    coverage = formula(r, "本息覆盖倍数")
    assert coverage["value"] == pytest.approx(1_150_000 / 1_090_000, abs=1e-15)
    assert coverage["share"] == pytest.approx((1_150_000 / 1_090_000 - 1.0) / 0.2, abs=1e-12)
    assert formula(r, "当年收益实现率")["value"] == pytest.approx(0.9)
    assert formula(r, "当年收益实现率")["share"] == pytest.approx(0.75)
    assert formula(r, "本息按期偿付率")["share"] == 1.0
    assert formula(r, "债券资金支出进度")["value"] == pytest.approx(0.8)            # 800,000 / 1,000,000
    assert formula(r, "债券资金支出进度")["share"] == pytest.approx(0.6)            # 0 at 50%, full at 100%
    assert formula(r, "资产形成率")["share"] == pytest.approx((0.9 - 0.5) / 0.4)    # 720,000 / 800,000 = 0.9
    table = r.table.set_index("indicator")
    # the item wins its share of its points (rescaled: the tiny city's indicators leave items inapplicable)
    assert table.at["本息覆盖倍数", "points"] == pytest.approx(10 * 100 / table.loc[table["points"] > 0].pipe(
        lambda t: sum(i["points"] for i in PRESET.items("special_bond") if i["item"] in t.index)))
    assert table.at["本息覆盖倍数", "score"] == pytest.approx(table.at["本息覆盖倍数", "points"] * coverage["share"])


def test_guidance_fund_items_by_hand(field_store):
    r = evaluate(field_store, "F1")
    f = r.facts
    assert (f["gov_subscribed"], f["gov_paid"], f["capital_paid"]) == (2_000_000, 1_500_000, 5_000_000)
    # the 2026 investment is after the evaluated year: not counted
    assert (f["invested"], f["invested_in_city"], f["invested_in_policy"]) == (2_500_000, 1_800_000, 1_700_000)
    cases = {"财政出资到位率": (0.75, 0.375), "杠杆放大倍数": (5 / 1.5, (5 / 1.5 - 1) / 3),
             "投资进度": (0.5, 0.4), "返投比例": (1.2, 0.7), "投向符合度": (0.68, 0.45), "保值增值率": (0.92, 0.6)}
    for item, (value, share) in cases.items():
        assert formula(r, item)["value"] == pytest.approx(value, abs=1e-12), item
        assert formula(r, item)["share"] == pytest.approx(share, abs=1e-12), item


def test_purchased_service_items_by_hand(field_store):
    r = evaluate(field_store, "S1")
    assert r.facts["standard_cost"] == 950 * 500 + 500 * 700
    cost = formula(r, "单位服务成本")
    assert cost["value"] == pytest.approx(970_000 / 825_000)
    assert cost["share"] == pytest.approx((970_000 / 825_000 - 1.3) / (1.0 - 1.3))   # lower is better
    assert formula(r, "履约验收合格率")["share"] == pytest.approx((1450 / 1500 - 0.7) / 0.3)


@pytest.mark.parametrize("score, coefficient, band", [
    (100.0, 1.00, "90分及以上"), (90.0, 1.00, "90分及以上"), (89.999, 0.95, "80至90分"), (80.0, 0.95, "80至90分"),
    (79.99, 0.85, "70至80分"), (70.0, 0.85, "70至80分"), (69.5, 0.70, "60至70分"), (60.0, 0.70, "60至70分"),
    (59.99, 0.50, "60分以下"), (0.0, 0.50, "60分以下")])
def test_ppp_payment_at_each_band_edge(score, coefficient, band):
    paid = linked_payment(PRESET.frameworks["ppp"].payment, score, {"availability_payment": 2_000_000.0})
    assert paid["band"] == band and paid["coefficient"] == coefficient
    assert paid["payment"] == 2_000_000.0 * coefficient
    assert paid["payment"] + paid["withheld"] == 2_000_000.0


def test_ppp_result_pays_by_its_score_and_a_draft_pays_nothing(field_store):
    evidence = project_evidence(field_store, "Q1")
    draft = score_project(evidence)
    assert draft.is_draft and draft.payment is None        # the management items wait for the panel
    items = [i["item"] for i in PRESET.items("ppp") if i["rule"] == "expert"]
    panel = pd.DataFrame([(e, item, 85.0) for e in ("E1", "E2", "E3") for item in items],
                         columns=["expert_id", "item", "score"])
    result = score_project(evidence.__class__(**{**evidence.__dict__, "expert_scores": panel}))
    assert not result.is_draft
    band, spec = PRESET.frameworks["ppp"].payment.band(result.total)
    assert result.payment["coefficient"] == spec.coefficient and result.payment["band"] == band
    assert result.payment["payment"] == pytest.approx(2_000_000.0 * spec.coefficient)
    # without the contract's availability payment: no payment, however complete the score
    bare = score_project(evidence.__class__(**{**evidence.__dict__, "expert_scores": panel,
                                               "facts": {**evidence.facts, "availability_payment": None}}))
    assert bare.total == result.total and bare.payment is None


def test_missing_ledger_makes_a_draft_for_the_items_that_need_it(tmp_path):
    frames = field_city()
    frames["bond_schedule"] = frames["bond_schedule"].iloc[0:0]
    frames["fund_contributions"] = frames["fund_contributions"].iloc[0:0]
    frames["guidance_funds"].loc[0, "net_assets"] = None           # not yet audited
    with perfkit.Store(tmp_path / "s.duckdb") as store:
        store.load_frames(frames)
        bond = evaluate(store, "B1")
        fund = evaluate(store, "F1")
    waiting = bond.missing[bond.missing["evidence"] == "bond_schedule"]
    assert set(waiting["item"]) == {"本息覆盖倍数", "当年收益实现率", "本息按期偿付率"}
    assert set(waiting["supplier"]) == {"unit"}
    assert bond.is_draft and math.isnan(bond.total) and bond.rating is None
    waiting_note = bond.table.set_index("indicator").at["本息覆盖倍数", "note"]
    assert render(waiting_note, "en").startswith("revenue over the bond's life (achieved and planned), principal")
    assert render(waiting_note, "zh").startswith("缺少全周期项目收益（已实现加预计）、全周期应还本息")
    scored = bond.table.set_index("indicator")
    assert scored.loc[["本息覆盖倍数", "当年收益实现率"], "score"].isna().all()
    assert scored.at["债券资金支出进度", "state"] == "scored"      # its own facts are there
    fund_waits = fund.missing.groupby("item")["evidence"].agg(set).to_dict()
    assert fund_waits["财政出资到位率"] == {"fund_contributions"}
    assert fund_waits["保值增值率"] == {"guidance_funds", "fund_contributions"}
    assert "投向符合度" not in fund_waits                        # the investments alone are there


def test_nothing_to_measure_is_not_applicable_never_zero(tmp_path):
    frames = field_city()
    frames["bond_schedule"].loc[1, ["revenue_planned", "revenue_actual"]] = 0.0   # no revenue planned this year
    with perfkit.Store(tmp_path / "s.duckdb") as store:
        store.load_frames(frames)
        r = evaluate(store, "B1")
    row = r.table.set_index("indicator").loc["当年收益实现率"]
    assert row["state"] == "not_applicable" and row["points"] == 0
    assert r.table["points"].sum() == pytest.approx(100)
    assert pd.isna(formula(r, "当年收益实现率")["value"])


def test_regular_tree_unchanged_to_the_bit(demo_store):
    """A preset without the new fields scores every regular project exactly as the default does."""
    import yaml
    from importlib import resources

    raw = yaml.safe_load(resources.files("perfkit.rules").joinpath("default.yaml").read_text(encoding="utf-8"))
    raw.pop("frameworks")
    without = validate_preset(raw)
    ids = demo_store.query("SELECT DISTINCT e.project_id FROM expert_scores e JOIN projects p USING (project_id) "
                           "WHERE p.category = 'regular' ORDER BY 1")["project_id"].tolist()
    assert len(ids) >= 30
    for project_id in ids:
        evidence = project_evidence(demo_store, project_id)
        a, b = score_project(evidence, PRESET), score_project(evidence, without)
        pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
        assert a.total == b.total or (math.isnan(a.total) and math.isnan(b.total))


def test_every_demo_field_project_on_a_panel_is_scored_on_its_framework(demo_store):
    from perfkit.evaluation import evaluate_many

    rows = demo_store.query("SELECT DISTINCT p.project_id, p.category FROM expert_scores e "
                            "JOIN projects p USING (project_id) WHERE p.category <> 'regular'")
    assert set(rows["category"]) == {"special_bond", "guidance_fund", "purchased_service", "ppp"}
    results = evaluate_many(demo_store, rows["project_id"])
    for project_id, category in rows.itertuples(index=False):
        r = results[project_id]
        assert r.framework is PRESET.frameworks[category]
        assert not r.is_draft, (project_id, r.missing)          # the demo's closed years have every ledger
        if category == "ppp":
            assert r.payment["payment"] == pytest.approx(r.facts["availability_payment"] * r.payment["coefficient"])
        # the panel scored its framework's expert items, no other
        assert set(r.expert_scores["item"]) == {i["item"] for i in PRESET.items(category) if i["rule"] == "expert"}


def test_planted_bond_shortfall_shows_in_the_revenue_items(demo_store):
    from perfkit.datasets import BOND_SHORTFALL
    from perfkit.evaluation import evaluate_many

    projects = demo_store.query("""SELECT p.project_id, p.program_id FROM projects p
                                   WHERE category = 'special_bond' AND year = 2025 ORDER BY 1""")
    programs = sorted(demo_store.query("SELECT DISTINCT program_id FROM projects")["program_id"])
    short = {pid for pid, prog in projects.itertuples(index=False) if programs.index(prog) % BOND_SHORTFALL == 0}
    results = evaluate_many(demo_store, projects["project_id"])
    achieved = {pid: formula(r, "当年收益实现率")["value"] for pid, r in results.items()}
    measured = {pid for pid, value in achieved.items() if value is not None and not math.isnan(value)}
    assert short & measured and measured - short
    assert all(0.5 <= achieved[p] <= 0.8 for p in short & measured)         # planted: 50-80% of the plan
    assert all(0.9 <= achieved[p] <= 1.1 for p in measured - short)
    # the shortfall counts in the coverage once revenue is achieved: below what the plan alone gives
    for p in short & measured:
        assert results[p].facts["revenue_life"] < sum(demo_store.query(
            "SELECT revenue_planned FROM bond_schedule WHERE project_id = ?", [p])["revenue_planned"])


def test_ledgers_refused_precisely(tmp_path):
    over = field_city()
    over["fund_contributions"].loc[2, "paid_in"] = 1_200_000.0          # above the 1,000,000 subscribed
    wrong = field_city()
    wrong["ppp_payments"].loc[0, "project_id"] = "S1"                    # a service is no PPP project
    for frames in (over, wrong):
        with perfkit.Store(tmp_path / "s.duckdb") as store:
            with pytest.raises(DataError) as err:
                store.load_frames(frames)
            assert store.tables() == []                                  # nothing half-loaded
            # the same through the files a user loads (the fast path of a clean CSV hands it to the careful one)
            with pytest.raises(DataError) as from_files:
                store.load(write_tables(tmp_path / ("over" if frames is over else "wrong"),
                                        {name: frame for name, frame in frames.items() if len(frame)}))
            assert store.tables() == []
        assert [(p.row, p.column) for p in from_files.value.problems] == \
            [(p.row, p.column) for p in err.value.problems]
        problems = {(p.file.split(" ")[0], p.row, p.column): p.problem for p in err.value.problems}
        if frames is over:
            assert problems[("fund_contributions", 4, "paid_in")].render("en") == \
                "1,200,000.00 exceeds the row's Subscribed (1,000,000.00)"
            assert str(problems[("fund_contributions", 4, "paid_in")]) == \
                "1,200,000.00 超过本行的认缴出资（1,000,000.00）"
        else:
            assert problems[("ppp_payments", 2, "project_id")].render("en") == \
                "project S1 is a Government-purchased service, not a PPP project: it has no place in this table"


@pytest.mark.parametrize("change, message", [
    ({"formula": "revenue_life / debts"}, "unknown facts debts"),
    ({"formula": "__import__('os').getcwd()"}, "may use only facts"),
    ({"formula": "revenue_life.real"}, "may use only facts"),
    ({"full": 1.0, "zero": 1.0}, "full and zero must differ"),
    ({"rule": "expert"}, "a formula is for rule 'formula'"),
])
def test_bad_formula_items_are_refused_on_load(change, message):
    raw = PRESET.model_dump(mode="json")
    item = raw["frameworks"]["special_bond"]["tree"]["效益"]["收益与融资平衡"]["本息覆盖倍数"]
    item.update(change)
    with pytest.raises(DataError) as err:
        validate_preset(raw, "bureau.yaml")
    assert message in str(err.value)
    assert "frameworks.special_bond.tree" in str(err.value)


def test_framework_rules_refused_on_load():
    raw = PRESET.model_dump(mode="json")
    raw["frameworks"]["regular"] = raw["frameworks"]["ppp"]
    with pytest.raises(DataError, match="unknown project categories"):
        validate_preset(raw)
    raw = PRESET.model_dump(mode="json")
    raw["frameworks"]["ppp"]["tree"]["管理"]["组织管理"]["组织管理规范性"]["points"] = 5
    with pytest.raises(DataError, match="sum to 101"):
        validate_preset(raw)
    raw = PRESET.model_dump(mode="json")
    raw["frameworks"]["ppp"]["payment"]["bands"]["80至90分"]["coefficient"] = 1.0
    raw["frameworks"]["ppp"]["payment"]["bands"]["90分及以上"]["coefficient"] = 0.9
    with pytest.raises(DataError, match="must not fall as the score rises"):
        validate_preset(raw)


def test_a_bureau_adds_or_changes_a_field_without_a_release(field_store):
    """A preset extending the default scores purchased services on a tree of its own; PPP bands change."""
    raw = PRESET.model_dump(mode="json")
    raw["frameworks"]["purchased_service"] = {
        "name": "某市购买服务评价", "basis": "本市办法", "tree": {"产出": {"履约": {
            "验收": {"points": 60, "rule": "formula", "formula": "units_accepted / units_contracted",
                   "full": 1.0, "zero": 0.5},
            "成本": {"points": 40, "rule": "formula", "formula": "(service_paid - standard_cost) / standard_cost",
                   "full": 0.0, "zero": 0.5}}}}}
    preset = validate_preset(raw)
    r = evaluate(field_store, "S1", preset)
    assert r.framework_name == "某市购买服务评价" and not r.is_draft
    expected = 60 * (1450 / 1500 - 0.5) / 0.5 + 40 * (0.5 - (970_000 - 825_000) / 825_000) / 0.5
    assert r.total == pytest.approx(expected, abs=1e-9)


def test_formula_arithmetic():
    assert evaluate_formula("revenue_life / service_life", {"revenue_life": 1.0, "service_life": None}) is None
    assert math.isnan(evaluate_formula("revenue_life / service_life", {"revenue_life": 0.0, "service_life": 0.0}))
    assert math.isnan(evaluate_formula("revenue_life / service_life", {"revenue_life": 1.0, "service_life": 0.0}))
    assert evaluate_formula("(revenue_life - service_life) / service_life",
                            {"revenue_life": 3.0, "service_life": 2.0}) == 0.5
    assert formula_share(1.1, 1.2, 1.0) == pytest.approx(0.5)
    assert formula_share(0.5, 1.2, 1.0) == 0.0 and formula_share(9.0, 1.2, 1.0) == 1.0
    assert formula_share(1.15, 1.0, 1.3) == pytest.approx(0.5)          # lower is better


def test_batch_selects_a_field(demo_store):
    from perfkit.queries import subjects
    from perfkit.reports.registry import get_job

    sql = get_job("key-evaluation").batch.query("f.category = 'ppp'")
    chosen = subjects(demo_store, sql, {"year": None, "field": None, "unit_level": None})
    expected = demo_store.query("SELECT DISTINCT e.project_id FROM expert_scores e JOIN projects p "
                                "USING (project_id) WHERE p.category = 'ppp' ORDER BY 1")["project_id"].tolist()
    assert sorted(chosen) == expected and len(expected) >= 3


def test_field_reports_say_what_the_engine_found(demo_store_path, tmp_path):
    """A PPP report states the engine's payment; a bond report prints its self-balance schedule, the totals
    adding up; both pass the report check (the runner's) and write their workbook."""
    from bs4 import BeautifulSoup
    from openpyxl import load_workbook

    from perfkit.reports import run_batch

    with perfkit.Store(demo_store_path, read_only=True) as store:
        ids = store.query("""SELECT p.category, min(p.project_id) AS project_id FROM expert_scores e
                             JOIN projects p USING (project_id) WHERE p.category IN ('ppp', 'special_bond')
                               AND p.year = 2024 GROUP BY 1""").set_index("category")["project_id"]
        ppp, bond = evaluate(store, ids["ppp"]), evaluate(store, ids["special_bond"])
    batch = [("key-evaluation", {"project_id": ids["ppp"], "store": str(demo_store_path),
                                 "excel": str(tmp_path / "ppp.xlsx")}),
             ("key-evaluation", {"project_id": ids["special_bond"], "store": str(demo_store_path)})]
    reports = run_batch(batch, output_dir=tmp_path, lang="zh", max_workers=2, formats="html")
    assert not any(isinstance(r, Exception) for r in reports), reports
    ppp_text = BeautifulSoup(reports[0].html.read_text(encoding="utf-8"), "html.parser").get_text(" ")
    paid = ppp.payment
    assert f"本年度可用性付费 {paid['amount'] / 1e4:,.2f} 万元" in ppp_text
    assert f"付费系数 {paid['coefficient']:.2f}，应付 {paid['payment'] / 1e4:,.2f} 万元" in ppp_text
    assert "PPP项目运营期绩效评价" in ppp_text and "财金〔2020〕13号" in ppp_text
    book = load_workbook(tmp_path / "ppp.xlsx")
    assert {"评分表", "台账1"} <= set(book.sheetnames)
    bond_html = BeautifulSoup(reports[1].html.read_text(encoding="utf-8"), "html.parser")
    schedule = next(t for t in bond_html.find_all("table") if "应还本息合计（元）" in t.get_text())
    rows = [[c.get_text(strip=True) for c in tr.find_all(["td", "th"])] for tr in schedule.find_all("tr")]
    header, body = rows[0], rows[1:]
    column = header.index("应还本息合计（元）")
    assert body[-1][0] == "合计"
    assert float(body[-1][column].replace(",", "")) == pytest.approx(bond.facts["service_life"], abs=0.005)
    assert len(body) - 1 == len(bond.ledgers["bond_schedule"])
    coverage = formula(bond, "本息覆盖倍数")["value"]
    assert f"“本息覆盖倍数”{coverage:.2f} 倍" in bond_html.get_text(" ")
