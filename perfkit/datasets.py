"""The demo city: a deterministic synthetic city at the source programme's scale.

``make_demo(seed)`` builds every table of the data model for a city of 125
first-level and 491 second-level budget units: an indicator library on the
21/65/293 taxonomy, four fiscal years of projects in all four budgets
(2023-2025 closed, 2026 running to the end of August), monthly execution,
targets and actuals, expert panels, findings, and cost records drawn from a
known cost function whose parameters are kept apart in ``cost_truth``.

The cost function (per record *i* of direction *d* in year *t*)::

    cost_i = quantity_i × unit_cost_d × coef_region × coef_grade
             × index_t / index_base × exp(v_i + u_i)
    v_i ~ N(0, sigma_v²),  u_i ~ |N(0, sigma_u²)|  (inefficiency, ≥ 0)

so the true efficient unit cost of a record's class is
``unit_cost_d × coef_region × coef_grade`` in base-year prices.
"""
from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from perfkit.rules import load_preset
from perfkit.text import codes

CLOSED_YEARS = (2023, 2024, 2025)
CURRENT_YEAR = 2026
AS_OF_MONTH = 8  # the running year's data reach the end of August
COST_YEARS = (2021, 2022, 2023, 2024, 2025)
PRICE_INDEX = {2021: 100.0, 2022: 102.0, 2023: 104.3, 2024: 105.9, 2025: 107.5, 2026: 109.2,
               2027: 110.9}  # 2027: the budget year of the requests, a forecast
N_REQUESTS = 40
FINANCING_SOURCES = ("一般公共预算", "政府性基金", "专项债券", "单位自筹")
COST_BASE_YEAR = 2025
DISTRICTS = ("福田", "罗湖", "南山", "盐田", "宝安", "龙岗", "龙华", "坪山", "光明", "大鹏")
REGIONS = {"福田": "中心城区", "罗湖": "中心城区", "南山": "中心城区", "盐田": "近郊区", "宝安": "近郊区",
           "龙岗": "近郊区", "龙华": "近郊区", "坪山": "远郊区", "光明": "远郊区", "大鹏": "远郊区"}

# category -> [(subcategory, output object, output unit, field)]: 21 categories, 65 subcategories
TAXONOMY: dict[str, list[tuple[str, str, str, str]]] = {
    "一般公共服务": [("政务服务", "政务服务事项", "件", "general"), ("统计调查", "统计调查项目", "项", "general"),
                 ("财政管理", "财政业务系统", "个", "general")],
    "公共安全": [("治安防控", "视频监控点位", "个", "public_security"), ("法律援助", "法律援助案件", "件", "public_security"),
             ("消防救援", "消防站点", "个", "public_security")],
    "教育": [("学前教育", "普惠性学位", "个", "education"), ("义务教育", "在校学生", "人", "education"),
           ("高中教育", "高中在校学生", "人", "education"), ("职业教育", "职业培训", "人次", "education")],
    "科学技术": [("基础研究", "基础研究项目", "项", "science"), ("技术研发", "关键技术攻关项目", "项", "science"),
             ("科技成果转化", "成果转化项目", "项", "science")],
    "文化旅游体育与传媒": [("公共文化服务", "公共文化活动", "场", "culture"), ("文物保护", "文物保护单位", "处", "culture"),
                  ("全民健身", "健身设施", "个", "culture")],
    "社会保障和就业": [("就业补助", "就业技能培训", "人次", "social_security"), ("养老服务", "养老床位", "张", "social_security"),
                ("社会救助", "救助对象", "人", "social_security")],
    "卫生健康": [("公立医院", "门急诊服务", "万人次", "health"), ("基层医疗卫生", "家庭医生签约服务", "人", "health"),
             ("公共卫生", "疫苗接种", "万剂次", "health"), ("中医药", "中医药服务", "人次", "health")],
    "节能环保": [("污染防治", "污水处理量", "万吨", "environment"), ("大气治理", "空气质量监测站点", "个", "environment"),
             ("固体废物处理", "生活垃圾处理量", "万吨", "environment")],
    "城乡社区": [("市政道路", "道路养护里程", "公里", "urban"), ("园林绿化", "绿化养护面积", "万平方米", "urban"),
             ("环境卫生", "清扫保洁面积", "万平方米", "urban")],
    "农林水": [("农业发展", "高标准农田", "亩", "agriculture"), ("林业", "造林绿化面积", "亩", "agriculture"),
            ("水利", "河道整治长度", "公里", "agriculture")],
    "交通运输": [("公路水路运输", "公路养护里程", "公里", "transport"), ("公共交通", "公交线路", "条", "transport"),
             ("轨道交通", "轨道交通线路", "公里", "transport")],
    "资源勘探工业信息": [("工业发展", "扶持企业", "家", "science"), ("信息化建设", "信息系统", "个", "science"),
                 ("中小企业发展", "服务中小企业", "家", "economy")],
    "商业服务业": [("商贸流通", "商贸市场主体", "家", "economy"), ("会展服务", "展会", "场", "economy"),
              ("外贸发展", "外贸企业", "家", "economy")],
    "金融": [("金融发展", "金融机构", "家", "economy"), ("普惠金融", "贷款贴息企业", "家", "economy"),
           ("金融风险防控", "风险排查", "次", "economy")],
    "援助其他地区": [("对口帮扶", "帮扶项目", "个", "economy"), ("产业协作", "产业协作项目", "个", "economy"),
               ("劳务协作", "转移就业", "人", "social_security")],
    "自然资源海洋气象": [("自然资源管理", "不动产登记业务", "件", "general"), ("海洋管理", "海域监测点", "个", "environment"),
                 ("气象服务", "自动气象站", "个", "general")],
    "住房保障": [("保障性住房", "保障性住房", "套", "urban"), ("棚户区改造", "棚改户数", "户", "urban"),
             ("住房租赁补贴", "租赁补贴户数", "户", "urban")],
    "粮油物资储备": [("粮油储备", "储备粮", "吨", "agriculture"), ("物资储备", "应急储备物资", "批", "public_security"),
               ("储备设施", "储备仓容", "万吨", "agriculture")],
    "灾害防治及应急管理": [("应急管理", "应急演练", "次", "public_security"), ("防灾减灾", "应急避难场所", "个", "public_security"),
                  ("地质灾害防治", "地质灾害隐患点", "处", "public_security")],
    "国有资本经营": [("国企改革", "改革企业", "家", "economy"), ("国有资本注资", "注资项目", "个", "economy"),
               ("引导基金", "参股子基金", "支", "economy")],
    "其他支出": [("机关运行保障", "保障人员", "人", "general"), ("专项债券付息", "专项债券项目", "个", "general"),
             ("其他专项工作", "专项工作", "项", "general")],
}
DIRECTION_SUFFIXES = ("建设", "运行维护", "专项补助", "购买服务", "能力提升")
N_DIRECTIONS = 293

# The five directions with cost records: subcategory -> (direction name, output unit,
# unit cost in yuan of COST_BASE_YEAR, grade coefficients, sigma_u, sigma_v, median quantity)
COST_DIRECTIONS = {
    "市政道路": ("道路养护", "公里", 450_000.0, {"主干道": 1.30, "次干道": 1.00, "支路": 0.80}, 0.25, 0.10, 80.0),
    "污染防治": ("污水处理", "万吨", 9_500.0, {"一级A标准": 1.15, "一级B标准": 1.00}, 0.20, 0.08, 2_000.0),
    "义务教育": ("生均公用经费", "人", 3_200.0, {"小学": 1.00, "初中": 1.25}, 0.15, 0.08, 1_500.0),
    "园林绿化": ("绿化养护", "万平方米", 85_000.0, {"一级养护": 1.20, "二级养护": 1.00, "三级养护": 0.85}, 0.30, 0.12, 150.0),
    "环境卫生": ("清扫保洁", "万平方米", 42_000.0, {"一级": 1.25, "二级": 1.00, "三级": 0.80}, 0.22, 0.10, 300.0),
}
REGION_COEFFICIENTS = {"中心城区": 1.00, "近郊区": 0.93, "远郊区": 0.86}

# Indicator templates: (level1, level2, name, unit of measure, polarity, value type, target kind).
# "{obj}" is the subcategory's output object, "{u}" its output unit. The first six
# cover the dimensions every project needs, so a small library is still complete.
INDICATOR_TEMPLATES = [
    ("产出", "数量", "{obj}数量", "{u}", "positive", "quantitative", "count"),
    ("产出", "质量", "{obj}验收合格率", "%", "positive", "quantitative", "pct100"),
    ("产出", "时效", "{obj}按时完成率", "%", "positive", "quantitative", "pct100"),
    ("产出", "成本", "{obj}单位成本", "元/{u}", "reverse", "quantitative", "unit_cost"),
    ("效益", "社会效益", "{obj}服务水平", "", "positive", "qualitative", "text"),
    ("满意度", "服务对象满意度", "服务对象满意度", "%", "positive", "quantitative", "pct90"),
    ("产出", "数量", "{obj}计划完成率", "%", "positive", "quantitative", "pct100"),
    ("效益", "经济效益", "带动社会投资", "万元", "positive", "quantitative", "money"),
    ("产出", "质量", "{obj}达标率", "%", "positive", "quantitative", "pct95"),
    ("效益", "可持续影响", "{obj}长效管理机制", "", "positive", "qualitative", "text"),
    ("效益", "生态效益", "{obj}生态环境改善", "", "positive", "qualitative", "text"),
    ("产出", "时效", "资金支付及时率", "%", "positive", "quantitative", "pct100"),
    ("效益", "社会效益", "受益群众人数", "人", "positive", "quantitative", "people"),
    ("产出", "成本", "{obj}成本控制率", "%", "reverse", "quantitative", "pct100"),
    ("产出", "数量", "新增{obj}", "{u}", "positive", "quantitative", "count"),
    ("产出", "质量", "{obj}投诉率", "%", "reverse", "quantitative", "pct2"),
    ("效益", "社会效益", "公众知晓率", "%", "positive", "quantitative", "pct90"),
    ("效益", "经济效益", "{obj}直接经济效益", "万元", "positive", "quantitative", "money"),
    ("满意度", "服务对象满意度", "{obj}使用者满意度", "%", "positive", "quantitative", "pct90"),
    ("产出", "数量", "{obj}覆盖率", "%", "positive", "quantitative", "pct95"),
    ("产出", "质量", "{obj}问题整改率", "%", "positive", "quantitative", "pct100"),
    ("产出", "时效", "{obj}平均办理时长", "天", "reverse", "quantitative", "days"),
    ("效益", "生态效益", "节能减排量", "吨标准煤", "positive", "quantitative", "count"),
    ("效益", "可持续影响", "设施持续运行年限", "年", "positive", "quantitative", "years"),
    ("产出", "数量", "{obj}服务点位数", "个", "positive", "quantitative", "count"),
    ("产出", "质量", "{obj}差错率", "%", "reverse", "quantitative", "pct1"),
    ("效益", "社会效益", "{obj}社会影响", "", "positive", "qualitative", "text"),
    ("效益", "经济效益", "节约财政资金", "万元", "positive", "quantitative", "money"),
    ("产出", "成本", "预算成本节约率", "%", "positive", "quantitative", "pct3"),
    ("产出", "数量", "{obj}目标人群覆盖率", "%", "equal", "quantitative", "pct100"),
]
FULL_LIBRARY = 7_750

# First-level units by field: the departments, then directly affiliated institutions.
LEVEL1_UNITS: dict[str, list[str]] = {
    "general": ["市人民政府办公厅", "市发展和改革委员会", "市财政局", "市统计局", "市审计局", "市政务服务和数据管理局",
                "市机关事务管理局", "市档案馆", "市地方志办公室", "市信访局", "市规划和自然资源局", "市气象局",
                "市财政评审中心", "市政府采购中心", "市国库支付中心", "市不动产登记中心", "市信息中心", "市政府研究室"],
    "education": ["市教育局", "市教育科学研究院", "市招生考试办公室", "市学生资助管理中心", "市教育装备中心", "市电化教育馆",
                  "市第一高级中学", "市实验学校", "市外国语学校", "市第二高级中学", "市第三高级中学", "市职业技术学院",
                  "市技师学院", "市开放大学"],
    "health": ["市卫生健康委员会", "市人民医院", "市第二人民医院", "市中医院", "市儿童医院", "市妇幼保健院",
               "市疾病预防控制中心", "市急救中心", "市血液中心", "市慢性病防治中心", "市康宁医院", "市眼科医院",
               "市医疗保障局", "市卫生健康能力建设和继续教育中心"],
    "transport": ["市交通运输局", "市公路局", "市港务管理局", "市轨道交通建设指挥部", "市交通综合行政执法支队",
                  "市公共交通管理中心", "市交通运输工程质量监督站", "市道路运输事务中心", "市智慧交通中心", "市交通规划设计研究中心"],
    "environment": ["市生态环境局", "市水务局", "市环境监测中心站", "市环境科学研究院", "市节能监察中心",
                    "市排水管理处", "市水资源管理中心", "市海洋综合执法支队", "市固体废物管理中心"],
    "urban": ["市城市管理和综合执法局", "市住房和建设局", "市园林绿化管理中心", "市环境卫生管理处", "市市政设施管理中心",
              "市公园管理中心", "市住房保障署", "市建设工程质量安全监督总站", "市城市照明管理中心", "市燃气安全管理中心",
              "市棚户区改造事务中心", "市物业管理服务中心"],
    "social_security": ["市人力资源和社会保障局", "市民政局", "市社会保险基金管理局", "市退役军人事务局", "市残疾人联合会",
                        "市就业服务中心", "市养老服务指导中心", "市社会福利中心", "市救助管理站"],
    "public_security": ["市公安局", "市司法局", "市应急管理局", "市消防救援支队", "市法律援助中心", "市公证处",
                        "市应急物资储备中心", "市地质灾害防治中心", "市交通警察支队"],
    "culture": ["市文化广电旅游体育局", "市图书馆", "市博物馆", "市美术馆", "市文化馆", "市体育中心", "市群众艺术馆",
                "市文物考古鉴定所", "市广播电视监测中心"],
    "science": ["市科技创新局", "市工业和信息化局", "市科技信息研究所", "市中小企业服务局", "市知识产权保护中心",
                "市产业技术研究院", "市工业设计中心"],
    "agriculture": ["市农业农村局", "市林业局", "市粮食和物资储备局", "市农业科技促进中心", "市动物疫病预防控制中心",
                    "市河道管理中心"],
    "economy": ["市商务局", "市地方金融监督管理局", "市国有资产监督管理委员会", "市投资推广署", "市会展中心管理处",
                "市对口帮扶办公室", "市引导基金管理中心", "市市场监督管理局"],
}
LEVEL2_SUFFIXES = ("信息中心", "机关服务中心", "执法支队", "技术服务中心", "事务中心", "研究所", "监测站", "管理处",
                   "培训中心", "发展中心", "宣传中心", "档案室")
CATEGORY_WEIGHTS = {"regular": 0.80, "purchased_service": 0.10, "special_bond": 0.05,
                    "ppp": 0.03, "guidance_fund": 0.02}
# Monthly spending weights of a normal project: Q4-heavy, December the largest.
MONTHLY_PROFILE = np.array([2, 3, 5, 6, 7, 7, 8, 8, 9, 10, 12, 23], dtype=float)
PROBLEMS = [  # (problem type, evaluation item, deduction, description, recommendation)
    ("绩效目标设置不够明确", "绩效指标明确性", 1.0, "部分绩效指标未细化量化，难以考核", "细化量化绩效指标，做到可衡量、可考核"),
    ("预算编制不够精准", "预算编制科学性", 1.0, "预算编制依据不充分，年中调整幅度较大", "依据支出标准和历史成本科学编制预算"),
    ("预算执行进度滞后", "预算执行率", 0.0, "预算执行进度明显慢于时间进度", "加快项目实施和资金支付进度"),
    ("资金使用不规范", "资金使用合规性", 2.0, "存在超范围列支费用的情况", "严格按规定用途使用资金，清理不合规支出"),
    ("内部管理制度不健全", "管理制度健全性", 1.0, "项目管理和资金管理制度缺失", "建立健全项目和资金管理制度"),
    ("制度执行不到位", "制度执行有效性", 1.5, "采购、验收等环节未严格执行制度", "严格执行政府采购和验收制度"),
    ("项目验收不及时", "完成及时性", 1.0, "项目完工后未及时组织验收", "按合同约定及时组织验收"),
    ("满意度调查缺失", "服务对象满意度", 1.0, "未开展服务对象满意度调查", "规范开展第三方满意度调查"),
    ("成本控制不力", "成本节约率", 1.0, "单位产出成本高于同类项目平均水平", "开展成本分析，压减不合理支出"),
]


def make_demo(seed: int = 0, *, n_indicators: int = FULL_LIBRARY) -> dict[str, pd.DataFrame]:
    """Generate the demo city.

    Parameters
    ----------
    seed : int, default 0
        The same seed always gives the same city.
    n_indicators : int, default 7,750
        Size of the indicator library (at least 6 per direction, at most 30).

    Returns
    -------
    dict of str to pandas.DataFrame
        One frame per table of the data model, keyed by table name.
    """
    rng = np.random.default_rng(seed)
    directions = make_directions()
    indicators = make_indicator_library(directions, n_indicators)
    units = _units(rng)
    projects = _projects(rng, units, directions)
    budgets = _budgets(rng, projects)
    execution = _execution(rng, projects, budgets)
    targets, actuals = _targets_and_actuals(rng, projects, budgets, indicators, directions)
    expert_scores, evaluated = _expert_scores(rng, projects, budgets)
    expert_scores = _field_expert_scores(seed, projects, expert_scores)
    experts, panel_assignments = _experts_and_panels(seed, units, projects, expert_scores)
    findings = _vary_findings(_findings(rng, projects, evaluated, budgets, execution), seed)
    cost_records, cost_truth = _cost_records(rng, units, directions)
    price_index = pd.DataFrame({"year": list(PRICE_INDEX), "index": list(PRICE_INDEX.values())})
    requests, request_targets, request_scores = _requests(rng, units, directions, indicators, cost_records,
                                                          cost_truth, targets, actuals, projects)
    ledgers = _field_ledgers(seed, projects, budgets, execution, directions, evaluated)
    department = _department_data(seed, units, projects, budgets, execution, experts)
    return {
        "units": units, "directions": directions, "indicators": indicators, "projects": projects,
        "budgets": budgets, "execution": execution, "targets": targets, "actuals": actuals,
        "experts": experts, "panel_assignments": panel_assignments,
        "expert_scores": expert_scores, "findings": findings, "cost_records": cost_records,
        "cost_truth": cost_truth, "requests": requests, "request_targets": request_targets,
        "request_scores": request_scores, "price_index": price_index, **ledgers, **department,
    }


def write_demo(directory: str | PathLike, seed: int = 0, **kwargs) -> dict[str, Path]:
    """Write the demo city as one ``<table>.csv`` per table (UTF-8 with BOM, for Excel).

    Returns the path of each file, keyed by table name.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in make_demo(seed, **kwargs).items():
        paths[name] = directory / f"{name}.csv"
        write_csv(frame, paths[name])
    return paths


def write_csv(frame: pd.DataFrame, path: str | PathLike) -> None:
    """Write ``frame`` as CSV that Excel opens correctly (UTF-8 with BOM, ISO dates)."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(out[column]):
            out[column] = out[column].map({True: "true", False: "false"})
    tmp = Path(path).with_suffix(".csv.tmp")
    out.to_csv(tmp, index=False, encoding="utf-8-sig")
    tmp.replace(path)


# --- taxonomy and indicator library ----------------------------------------

def make_directions() -> pd.DataFrame:
    """The 21 categories, 65 subcategories and 293 expenditure directions."""
    subcategories = [(cat, *sub) for cat, subs in TAXONOMY.items() for sub in subs]
    extra = N_DIRECTIONS - 4 * len(subcategories)  # this many subcategories get a fifth direction
    rows = []
    for i, (category, sub, obj, unit, _field) in enumerate(subcategories):
        n = 5 if i < extra else 4
        names = [sub + suffix for suffix in DIRECTION_SUFFIXES[:n]]
        output_units = [unit] * n
        if sub in COST_DIRECTIONS:  # a direction with cost records replaces the generic first one
            names[0], output_units[0] = COST_DIRECTIONS[sub][0], COST_DIRECTIONS[sub][1]
        for name, output_unit in zip(names, output_units):
            rows.append((f"D{len(rows) + 1:03d}", category, sub, name, output_unit))
    return pd.DataFrame(rows, columns=["direction_id", "category", "subcategory", "name", "output_unit"])


def make_indicator_library(directions: pd.DataFrame, n_indicators: int = FULL_LIBRARY) -> pd.DataFrame:
    """An indicator library of ``n_indicators`` spread evenly over the directions."""
    n_dir = len(directions)
    lo, hi = 6 * n_dir, len(INDICATOR_TEMPLATES) * n_dir
    if not lo <= n_indicators <= hi:
        raise ValueError(f"n_indicators must be between {lo} and {hi} for {n_dir} directions")
    objects = {sub: (obj, unit) for subs in TAXONOMY.values() for sub, obj, unit, _ in subs}
    per_direction = np.full(n_dir, n_indicators // n_dir)
    per_direction[: n_indicators % n_dir] += 1
    rows = []
    for (direction_id, sub, output_unit), k in zip(
            directions[["direction_id", "subcategory", "output_unit"]].itertuples(index=False), per_direction):
        obj = objects[sub][0]
        for level1, level2, name, measure, polarity, value_type, _kind in INDICATOR_TEMPLATES[:k]:
            rows.append((f"I{len(rows) + 1:05d}", direction_id, level1, level2,
                         name.format(obj=obj), measure.format(u=output_unit) or None, polarity, value_type))
    return pd.DataFrame(rows, columns=["indicator_id", "direction", "level1", "level2", "name",
                                       "measure_unit", "polarity", "value_type"])


# --- units and projects ----------------------------------------------------

def _units(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for field, names in LEVEL1_UNITS.items():
        for name in names:
            rows.append((f"U{len(rows) + 1:03d}", name, 1, None, field))
    level1 = pd.DataFrame(rows, columns=["unit_id", "name", "level", "parent_id", "field"])
    # Schools and hospitals make education and health the largest families of level-2 units.
    weight = level1["field"].map({"education": 2.5, "health": 2.0}).fillna(1.0).to_numpy()
    counts = np.ones(len(level1), dtype=int) + rng.multinomial(491 - len(level1), weight / weight.sum())
    numbered = {"education": ["市第{n}中学", "市第{n}小学", "市{d}实验学校"],
                "health": ["市第{n}人民医院", "市{d}妇幼保健院", "市{d}社区健康服务中心"]}
    serial = {"education": 3, "health": 2}
    rows = []
    for (parent_id, parent_name, field), count in zip(
            level1[["unit_id", "name", "field"]].itertuples(index=False), counts):
        for j in range(count):
            if field in numbered and j % 2 == 0:
                serial[field] += 1
                pattern = numbered[field][serial[field] % len(numbered[field])]
                name = pattern.format(n=_chinese_number(serial[field]), d=DISTRICTS[serial[field] % len(DISTRICTS)])
                if pattern.count("{d}"):
                    name += f"{serial[field] // len(DISTRICTS) + 1}部" if serial[field] >= len(DISTRICTS) * 3 else ""
            else:
                name = parent_name + LEVEL2_SUFFIXES[j % len(LEVEL2_SUFFIXES)]
                if j >= len(LEVEL2_SUFFIXES):
                    name += f"（{DISTRICTS[j % len(DISTRICTS)]}分部）"
            rows.append((f"U{len(level1) + len(rows) + 1:03d}", name, 2, parent_id, field))
    level2 = pd.DataFrame(rows, columns=level1.columns)
    units = pd.concat([level1, level2], ignore_index=True)
    dup = units["name"].duplicated(keep=False)
    units.loc[dup, "name"] = units.loc[dup, "name"] + "（" + units.loc[dup, "unit_id"] + "）"
    return units


def _chinese_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")


def _projects(rng: np.random.Generator, units: pd.DataFrame, directions: pd.DataFrame) -> pd.DataFrame:
    field_of_sub = {sub: f for subs in TAXONOMY.values() for sub, _o, _u, f in subs}
    directions = directions.assign(field=directions["subcategory"].map(field_of_sub))
    # rows as plain mappings: a pandas row lookup per program costs more than the program's draws
    by_field = {f: d.to_dict("records") for f, d in directions.groupby("field")}
    years = (*CLOSED_YEARS, CURRENT_YEAR)
    categories, cat_p = list(CATEGORY_WEIGHTS), np.array(list(CATEGORY_WEIGHTS.values()))
    rows = []
    for unit_id, level, field in units[["unit_id", "level", "field"]].itertuples(index=False):
        n_programs = rng.poisson(3.2 if level == 1 else 2.4) + 1
        pool = by_field[field]
        for _ in range(n_programs):
            start = int(rng.integers(years[0] - 2, years[-1] + 1))
            length = int(rng.choice([1, 2, 3, 4, 5], p=[0.25, 0.2, 0.2, 0.15, 0.2]))
            active = [y for y in years if start <= y < start + length]
            if not active:
                continue
            direction = pool[int(rng.integers(len(pool)))]
            category = categories[int(rng.choice(len(categories), p=cat_p))]
            program_id = f"G{len(rows) + 1:05d}"
            district = DISTRICTS[int(rng.integers(len(DISTRICTS)))]
            name = {
                "regular": f"{direction['name']}项目",
                "purchased_service": f"{direction['name'].removesuffix('购买服务')}政府购买服务项目",
                "special_bond": f"{district}区{direction['name']}专项债券项目",
                "ppp": f"{district}区{direction['name']}PPP项目",
                "guidance_fund": f"{direction['subcategory']}产业引导基金",
            }[category]
            budget_type = {"special_bond": "fund", "guidance_fund": "state_capital"}.get(category, "general")
            if category == "regular" and field == "social_security" and rng.random() < 0.3:
                budget_type = "social_insurance"
            elif category == "regular" and rng.random() < 0.06:
                budget_type = "fund"
            late_start = rng.random() < 0.1
            for year in active:
                start_date = pd.Timestamp(year, int(rng.integers(3, 7)) if late_start and year == start else 1, 1)
                rows.append(dict(program_id=program_id, unit_id=unit_id, name=name, year=year,
                                 budget_type=budget_type, direction=direction["direction_id"], category=category,
                                 is_new=year == start, start_date=start_date, end_date=pd.Timestamp(year, 12, 31)))
    projects = pd.DataFrame(rows).sort_values(["year", "program_id"], kind="stable").reset_index(drop=True)
    projects.insert(0, "project_id", [f"P{y}{i:05d}" for y, i in zip(
        projects["year"], projects.groupby("year").cumcount() + 1)])
    return projects


def _budgets(rng: np.random.Generator, projects: pd.DataFrame) -> pd.DataFrame:
    scale = projects["category"].map({"special_bond": 12.0, "guidance_fund": 25.0, "ppp": 8.0}).fillna(1.0)
    # one size per program, a little drift from year to year
    program_size = {p: rng.lognormal(np.log(2.5e6), 1.0) for p in projects["program_id"].unique()}
    base = projects["program_id"].map(program_size) * scale
    amount = np.round(base * rng.lognormal(0, 0.1, len(projects)), -3)
    adjusted = np.where(rng.random(len(projects)) < 0.15,
                        np.round(amount * rng.uniform(0.75, 1.25, len(projects)), -3), np.nan)
    return pd.DataFrame({"project_id": projects["project_id"], "year": projects["year"],
                         "amount": amount, "adjusted_amount": adjusted})


def _execution(rng: np.random.Generator, projects: pd.DataFrame, budgets: pd.DataFrame) -> pd.DataFrame:
    budget = budgets["adjusted_amount"].fillna(budgets["amount"]).to_numpy()
    month_ends = {y: pd.date_range(f"{y}-01-01", periods=12, freq="ME").to_numpy() for y in projects["year"].unique()}
    ids, months, amounts = [], [], []
    for i, (project_id, year, start) in enumerate(projects[["project_id", "year", "start_date"]].itertuples(index=False)):
        kind = ("normal", "late", "stalled", "none")[int(rng.choice(4, p=[0.845, 0.12, 0.03, 0.005]))]
        if kind == "none":
            continue  # a project with no execution records at all
        weights = MONTHLY_PROFILE.copy()
        weights[: start.month - 1] = 0
        if kind == "late":
            weights[:9] *= 0.35
        shares = rng.dirichlet(weights * 20 + 1e-9)
        final_rate = {"normal": rng.beta(30, 2), "late": rng.beta(6, 4), "stalled": rng.beta(2, 6)}[kind]
        cumulative = np.cumsum(shares) * final_rate
        if kind == "stalled":
            stop = int(rng.integers(3, 8))
            cumulative[stop:] = cumulative[stop - 1]
        last_month = 12 if year < CURRENT_YEAR else AS_OF_MONTH
        spent = np.round(cumulative[:last_month] * budget[i], 2)
        keep = np.ones(last_month, dtype=bool)
        roll = rng.random()
        if roll < 0.015:  # missing monthly reports
            keep[rng.choice(last_month - 1, size=int(rng.integers(1, 3)), replace=False)] = False
        elif roll < 0.022 and last_month > 3:  # a reversal: cumulative spending falls one month
            m = int(rng.integers(2, last_month))
            spent[m] = round(spent[m - 1] * 0.9, 2)
        ids += [project_id] * int(keep.sum())
        months.append(month_ends[year][:last_month][keep])
        amounts.append(spent[keep])
    return pd.DataFrame({"project_id": ids, "month": np.concatenate(months),
                         "spent_cumulative": np.concatenate(amounts)})


#: Indicator kinds that count whole things (their actuals are whole numbers) ...
WHOLE_KINDS = ("count", "people")
#: ... but for one actual in this many, left fractional: a planted data error the reports must flag (待核实).
PLANTED_FRACTION_EVERY = 211


def _target_value(kind: str, rng: np.random.Generator, budget: float) -> float:
    size = (budget / 1e6) ** 0.8
    return {
        "count": lambda: float(max(1, round(rng.lognormal(np.log(40 * size), 0.5)))),
        "people": lambda: float(round(rng.lognormal(np.log(2_000 * size), 0.6), -1)),
        "money": lambda: float(round(rng.lognormal(np.log(50 * size), 0.6), 1)),
        "unit_cost": lambda: float(round(rng.lognormal(np.log(5_000), 0.8), 0)),
        "days": lambda: float(rng.integers(5, 30)),
        "years": lambda: float(rng.integers(3, 15)),
        "pct100": lambda: 100.0, "pct95": lambda: 95.0, "pct90": lambda: 90.0,
        "pct3": lambda: 3.0, "pct2": lambda: 2.0, "pct1": lambda: 1.0,
    }[kind]()


def _targets_and_actuals(rng, projects, budgets, indicators, directions):
    # each indicator's template kind follows from its position within its direction
    position = indicators.groupby("direction").cumcount().to_numpy()
    library = indicators.assign(kind=[INDICATOR_TEMPLATES[p][6] for p in position])
    by_direction: dict[str, list[tuple]] = {}     # in library order (one pass: a frame per direction costs more)
    for direction, *indicator in library[["direction", "indicator_id", "polarity", "value_type", "kind"]] \
            .itertuples(index=False, name=None):
        by_direction.setdefault(direction, []).append(tuple(indicator))
    budget_of = dict(zip(budgets["project_id"], budgets["amount"]))
    targets, actuals = [], []
    as_of_of = {year: pd.Timestamp(year, 12, 31) if year < CURRENT_YEAR
                else pd.Timestamp(year, AS_OF_MONTH, 1) + pd.offsets.MonthEnd(0) for year in projects["year"].unique()}
    for project_id, direction, year in projects[["project_id", "direction", "year"]].itertuples(index=False):
        pool = by_direction[direction]
        n_more = min(int(rng.integers(0, 4)), len(pool) - 6)
        extra = rng.choice(np.arange(6, len(pool)), size=n_more, replace=False) if n_more > 0 else []
        chosen = pool[:6] + [pool[k] for k in sorted(extra)]  # the six core dimensions, then extras
        quality = rng.beta(8, 2)  # the project's latent performance
        closed = year < CURRENT_YEAR
        as_of = as_of_of[year]
        progress = 1.0 if closed else AS_OF_MONTH / 12
        for indicator_id, polarity, value_type, kind in chosen:
            if value_type == "qualitative":
                targets.append((project_id, indicator_id, np.nan, ("有效提升", "明显改善", "逐步建立")[int(rng.integers(3))]))
                grade = "met" if rng.random() < quality else ("partial" if rng.random() < 0.7 else "unmet")
                actuals.append((project_id, indicator_id, np.nan, grade if closed else None, as_of))
                continue
            target = _target_value(kind, rng, budget_of[project_id])
            ratio = rng.normal(0.85 + 0.2 * quality, 0.06)
            if polarity == "reverse":
                actual = target * rng.lognormal(np.log(1.1 - 0.25 * quality), 0.15)
            elif kind.startswith("pct") and polarity == "positive":
                actual = min(100.0, target * ratio)
            elif polarity == "equal":
                actual = min(100.0, target * rng.normal(0.99, 0.02))
            else:
                actual = target * ratio * (progress if kind in ("count", "people", "money") else 1.0)
            if rng.random() < 0.02:
                actual = np.nan  # not reported
            elif kind in WHOLE_KINDS and len(actuals) % PLANTED_FRACTION_EVERY:
                actual = float(round(actual))   # counts of whole things are whole (but for a few planted errors)
            targets.append((project_id, indicator_id, target, None))
            actuals.append((project_id, indicator_id, round(float(actual), 2), None, as_of))
    targets = pd.DataFrame(targets, columns=["project_id", "indicator_id", "target_value", "target_text"])
    actuals = pd.DataFrame(actuals, columns=["project_id", "indicator_id", "actual_value", "grade", "as_of"])
    return targets, actuals


def _expert_scores(rng, projects, budgets):
    closed = projects[projects["year"].isin(CLOSED_YEARS)].merge(budgets[["project_id", "amount"]], on="project_id")
    big = closed[closed["amount"] >= 5e6]
    evaluated = big.sample(n=min(60, len(big)), random_state=int(rng.integers(2**31)))
    items = [i["item"] for i in load_preset("default").items() if i["rule"] == "expert"]
    rows = []
    for project_id in sorted(evaluated["project_id"]):
        n_experts = int(rng.choice([3, 5, 5, 7]))
        level = rng.uniform(65, 95)
        # each panel draws its experts from a pool of 40; an item's merit is shared by the panel
        experts = rng.choice(40, size=n_experts, replace=False) + 1
        merit = {item: rng.normal(0, 5) for item in items}
        for expert in experts:
            leniency = rng.normal(0, 4)
            for item in items:
                score = float(np.clip(rng.normal(level + merit[item] + leniency, 5), 0, 100))
                rows.append((project_id, f"E{expert:03d}", item, round(score, 1)))
    frame = pd.DataFrame(rows, columns=["project_id", "expert_id", "item", "score"])
    return frame, sorted(evaluated["project_id"])


N_EXPERTS = 40
#: Experts who work for a budget unit; the demo city seats them only on panels of other departments.
UNIT_EXPERTS = 6
#: Planted truth: this many panels have a member who declared a conflict (their department's project) and
#: is recused: no scoring sheet, no score.
RECUSED = 5
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = ("建国", "海燕", "志强", "丽华", "文博", "晓东", "静怡", "国平", "思远", "明辉", "雪梅", "卫东", "嘉怡",
         "子涵", "永军", "春燕", "立新", "红霞", "伟", "敏", "磊", "婷", "军", "洁")
ORGANISATIONS = ("市财政科学研究所", "某大学公共管理学院", "某大学经济学院", "市审计事务所", "某会计师事务所",
                 "某工程造价咨询公司", "某律师事务所", "市社会科学院", "某资产评估公司", "市发展研究中心")
TITLES = ("教授", "副教授", "研究员", "高级会计师", "注册会计师", "高级工程师", "高级经济师", "律师")


def _experts_and_panels(seed, units, projects, expert_scores):
    """The expert pool the demo panels draw from, and each panel's members (with planted recusals).

    A separate random stream (the same seed): the experts do not change any other table of the city.
    """
    rng = np.random.default_rng([seed, 24])
    ids = [f"E{n:03d}" for n in range(1, N_EXPERTS + 1)]
    unit_of = dict(zip(projects["project_id"], projects["unit_id"]))
    parent_of = dict(zip(units["unit_id"], units["parent_id"]))
    department = {u: (p if isinstance(p, str) else u) for u, p in parent_of.items()}
    level1 = units.loc[units["level"] == 1, "unit_id"].tolist()
    # the departments each expert's panels evaluate: a unit expert works for none of them
    judged = expert_scores.assign(department=expert_scores["project_id"].map(unit_of).map(department)) \
        .groupby("expert_id")["department"].agg(set).to_dict()
    rows = []
    for n, expert_id in enumerate(ids):
        name = SURNAMES[int(rng.integers(len(SURNAMES)))] + GIVEN[int(rng.integers(len(GIVEN)))]
        unit_id = None
        organisation = ORGANISATIONS[int(rng.integers(len(ORGANISATIONS)))]
        if n % (N_EXPERTS // UNIT_EXPERTS) == 0 and len([r for r in rows if r[3]]) < UNIT_EXPERTS:
            free = [u for u in level1 if u not in judged.get(expert_id, set())]
            unit_id = free[int(rng.integers(len(free)))]
            organisation = units.set_index("unit_id").at[unit_id, "name"]
        rows.append((expert_id, name, organisation, unit_id, str(rng.choice(codes("field"))),
                     TITLES[int(rng.integers(len(TITLES)))], f"{expert_id.lower()}@experts.example.cn"))
    panels = expert_scores[["project_id", "expert_id"]].drop_duplicates().sort_values(["project_id", "expert_id"])
    leader = ~panels["project_id"].duplicated()
    assignments = panels.assign(role=np.where(leader, "leader", "member"), conflict=False, conflict_note=None)
    # planted: a staff member of the evaluated project's department was named to its panel and recused
    recused = []
    names = units.set_index("unit_id")["name"]
    for k, project_id in enumerate(sorted(panels["project_id"].unique())[::7][:RECUSED]):
        expert_id = f"E{N_EXPERTS + k + 1:03d}"
        home = department[unit_of[project_id]]
        rows.append((expert_id, SURNAMES[k] + GIVEN[-k - 1], names[home], home, "general", TITLES[3],
                     f"{expert_id.lower()}@experts.example.cn"))
        recused.append((project_id, expert_id, "member", True, "就职于项目主管部门，申请回避"))
    experts = pd.DataFrame(rows, columns=["expert_id", "name", "organisation", "unit_id", "field", "title", "contact"])
    assignments = pd.concat([assignments, pd.DataFrame(recused, columns=assignments.columns)], ignore_index=True) \
        .sort_values(["project_id", "expert_id"], ignore_index=True)
    return experts, assignments


def _field_expert_scores(seed, projects, expert_scores):
    """The panels of new-field projects score their framework's expert items (perfkit's default preset):
    the regular items their framework does not have are dropped, its own items scored near the expert's
    level on the project. A separate random stream: regular projects' scores are what they were."""
    rng = np.random.default_rng([seed, 26])
    preset = load_preset("default")
    category = dict(zip(projects["project_id"], projects["category"]))
    keep, added = [], []
    for (project_id, expert_id), scores in expert_scores.groupby(["project_id", "expert_id"], sort=True):
        framework = preset.framework(category[project_id])
        if framework is None:
            keep.append(scores)
            continue
        wanted = [i["item"] for i in preset.items(category[project_id]) if i["rule"] == "expert"]
        keep.append(scores[scores["item"].isin(wanted)])
        level = float(scores["score"].mean())
        for item in wanted:
            if item not in set(scores["item"]):
                added.append((project_id, expert_id, item, round(float(np.clip(rng.normal(level, 6), 0, 100)), 1)))
    frame = pd.concat([*keep, pd.DataFrame(added, columns=expert_scores.columns)], ignore_index=True)
    order = {p: k for k, p in enumerate(expert_scores["project_id"].unique())}
    return frame.sort_values(["project_id", "expert_id"], key=lambda c: c.map(order) if c.name == "project_id" else c,
                             kind="stable", ignore_index=True)


#: Planted truth of the new fields' ledgers: every BOND_SHORTFALL-th bond programme earns 50-80% of its planned
#: revenue (its coverage falls below 1); every SERVICE_NO_STANDARD-th service project not on a panel has a
#: contract without a cost standard (its unit-cost item waits for one); the running year has no year-end
#: figures (assets formed, net assets, the year's revenue and debt service paid).
BOND_SHORTFALL = 7
SERVICE_NO_STANDARD = 9
FUND_SECTORS = ("新一代信息技术", "高端装备制造", "生物医药", "新能源", "新材料", "数字创意", "现代农业", "商贸物流")
ENTERPRISE_WORDS = ("鹏程", "海纳", "前海", "南岭", "新桥", "科创", "华联", "深蓝", "启明", "远航", "凯越", "德信")


def _field_ledgers(seed, projects, budgets, execution, directions, evaluated) -> dict[str, pd.DataFrame]:
    """The new fields' ledgers of the demo city (bond funds and schedules, fund registers, contributions and
    investments, service contracts, PPP payments), from its own random stream: the rest of the city is
    what it was."""
    rng = np.random.default_rng([seed, 25])
    budget_of = dict(zip(budgets["project_id"], budgets["adjusted_amount"].fillna(budgets["amount"])))
    year_end = execution.sort_values("month").groupby("project_id")["spent_cumulative"].last()
    output_unit = dict(zip(directions["direction_id"], directions["output_unit"]))
    first_year = projects.groupby("program_id")["year"].min().to_dict()
    programs = {p: k for k, p in enumerate(sorted(projects["program_id"].unique()))}
    bonds, schedule, funds, contributions, investments, contracts, ppp = [], [], [], [], [], [], []
    on_panel = set(evaluated)
    for project in projects.itertuples(index=False):
        budget, year, closed = float(budget_of[project.project_id]), int(project.year), project.year < CURRENT_YEAR
        spent = year_end.get(project.project_id)
        spent = None if spent is None or pd.isna(spent) else float(spent)
        program = programs[project.program_id]
        if project.category == "special_bond":
            start, term = first_year[project.program_id], int(rng.choice([10, 15, 20]))
            rate = round(float(rng.uniform(0.025, 0.035)), 4)
            assets = round(spent * float(rng.uniform(0.75, 1.0)), 2) if closed and spent is not None else None
            bonds.append((project.project_id, f"{start}年某市政府专项债券（{program % 30 + 1}期）", budget, term, rate,
                          assets))
            coverage = float(rng.uniform(1.15, 1.6))
            achieved = float(rng.uniform(0.5, 0.8)) if program % BOND_SHORTFALL == 0 else float(rng.uniform(0.9, 1.1))
            service = budget * rate * term + budget
            earning_years = term - 1                     # the first year builds; revenue from the second
            for t in range(start, start + term):
                principal = budget if t == start + term - 1 else 0.0
                planned = 0.0 if t == start else coverage * service / earning_years
                passed = t < year or (t == year and closed)
                schedule.append((project.project_id, t, round(principal, 2), round(budget * rate, 2), round(planned, 2),
                                 round(planned * achieved, 2) if passed else None,
                                 round(principal + budget * rate, 2) if passed else None))
        elif project.category == "guidance_fund":
            gov = round(budget * float(rng.uniform(1.5, 3.0)), -4)
            share = float(rng.uniform(0.2, 0.4))
            size = round(gov / share, -4)
            gov_paid = round(gov * float(rng.uniform(0.6, 1.0)), -4)
            socials = int(rng.integers(2, 5))
            split = rng.dirichlet(np.ones(socials)) * (size - gov)
            paid = gov_paid
            contributions.append((project.project_id, "市财政局（市政府投资引导基金）", "government", gov, gov_paid))
            for k, amount in enumerate(split):
                amount = round(float(amount), -4)
                paid_in = round(amount * float(rng.uniform(0.5, 1.0)), -4)
                paid += paid_in
                contributions.append((project.project_id, f"社会出资人{_chinese_number(k + 1)}（有限合伙人）", "social",
                                      amount, paid_in))
            invested = paid * float(rng.uniform(0.3, 0.9))
            n = int(rng.integers(3, 10))
            for k, amount in enumerate(rng.dirichlet(np.ones(n)) * invested):
                sector = FUND_SECTORS[int(rng.integers(len(FUND_SECTORS)))]
                word = ENTERPRISE_WORDS[int(rng.integers(len(ENTERPRISE_WORDS)))]
                day = pd.Timestamp(int(rng.integers(first_year[project.program_id], year + 1)),
                                   int(rng.integers(1, 13 if closed else AS_OF_MONTH + 1)), 1)
                investments.append((f"I{project.project_id[1:]}{k + 1:02d}", project.project_id,
                                    f"{word}{sector}有限公司", sector, bool(rng.random() < 0.65),
                                    bool(rng.random() < 0.85), round(float(amount), -2), day))
            funds.append((project.project_id, project.name.replace("产业引导基金", "产业投资基金（有限合伙）"), size,
                          round(paid * float(rng.uniform(0.85, 1.15)), -2) if closed else None,
                          "、".join(sorted(set(rng.choice(FUND_SECTORS, size=3, replace=False))))))
        elif project.category == "purchased_service":
            n = int(rng.integers(1, 4))
            plant = program % SERVICE_NO_STANDARD == 0 and project.project_id not in on_panel
            for k, amount in enumerate(rng.dirichlet(np.ones(n) * 3) * budget * float(rng.uniform(0.8, 1.0))):
                standard = float(rng.choice([45, 80, 120, 260, 500, 1200]))
                price = standard * float(rng.uniform(0.9, 1.15))
                contracted = max(1.0, round(float(amount) / price))
                delivered = round(contracted * (float(rng.uniform(0.85, 1.03)) if closed else AS_OF_MONTH / 12), 0)
                accepted = round(delivered * float(rng.uniform(0.9, 1.0)), 0) if closed else None
                paid = round(min(float(amount), (accepted if accepted is not None else delivered * 0.5) * price), 2)
                contracts.append((f"HT{project.project_id[1:]}-{k + 1}", project.project_id,
                                  f"{ENTERPRISE_WORDS[int(rng.integers(len(ENTERPRISE_WORDS)))]}社会服务中心",
                                  round(float(amount), 2), output_unit.get(project.direction) or "项", contracted,
                                  delivered, accepted, None if plant and k == 0 else standard, paid))
        elif project.category == "ppp":
            availability = round(budget * float(rng.uniform(0.6, 0.8)), 2)
            ppp.append((project.project_id, f"{project.name.removesuffix('项目')}合同", availability,
                        round(budget - availability, 2)))
    return {
        "bond_projects": pd.DataFrame(bonds, columns=["project_id", "bond_name", "issued", "term_years", "rate",
                                                      "assets_formed"]),
        "bond_schedule": pd.DataFrame(schedule, columns=["project_id", "year", "principal_due", "interest_due",
                                                         "revenue_planned", "revenue_actual", "paid"]),
        "guidance_funds": pd.DataFrame(funds, columns=["project_id", "fund_name", "target_size", "net_assets",
                                                       "policy_sectors"]),
        "fund_contributions": pd.DataFrame(contributions, columns=["project_id", "investor", "kind", "subscribed",
                                                                   "paid_in"]),
        "fund_investments": pd.DataFrame(investments, columns=["investment_id", "project_id", "enterprise", "sector",
                                                               "in_city", "in_policy_sector", "amount",
                                                               "invest_date"]),
        "service_contracts": pd.DataFrame(contracts, columns=["contract_id", "project_id", "contractor", "amount",
                                                              "measure_unit", "units_contracted", "units_delivered",
                                                              "units_accepted", "standard_unit_cost", "paid"]),
        "ppp_payments": pd.DataFrame(ppp, columns=["project_id", "contract_name", "availability_payment",
                                                   "operation_payment"]),
    }



# --- the department level: accounts, duties and key tasks, overall targets, the bureau's review -------

#: Every this-many-th department is planted with: staff above its authorised posts; receptions and vehicles
#: above their budget (the “三公”经费 overspent); a key task not done (and one done late); an effect indicator's actual not reported (a draft item);
#: no review scores yet (a draft).
DEPARTMENT_OVERSTAFFED = 13
DEPARTMENT_OVERSPENT = 17
DEPARTMENT_TASK_UNDONE = 9
DEPARTMENT_NO_ACTUAL = 11
DEPARTMENT_NO_REVIEW = 23
#: The level-1 items of a department's overall targets (output and effect indicators), by level-2 dimension:
#: (name, unit of measure, polarity, target). ``{n}`` is the number of key tasks.
DEPARTMENT_INDICATORS = {
    ("产出", "数量"): [("年度重点工作任务完成数", "项", "positive", "{n}"), ("履职项目按计划实施数", "个", "positive", None)],
    ("产出", "质量"): [("项目验收合格率", "%", "positive", 100.0), ("内部控制评价达标率", "%", "positive", 95.0)],
    ("产出", "时效"): [("重点工作按期完成率", "%", "positive", 95.0)],
    ("产出", "成本"): [("“三公”经费控制率", "%", "reverse", 100.0)],
    ("效益", "经济效益"): [("带动社会投资", "亿元", "positive", None)],
    ("效益", "社会效益"): [("服务群众人次", "万人次", "positive", None), ("政策知晓率", "%", "positive", 85.0)],
    ("效益", "生态效益"): [("单位公共建筑能耗下降率", "%", "positive", 2.0)],
    ("满意度", "服务对象满意度"): [("服务对象满意度", "%", "positive", 90.0)],
}
#: The fields whose departments state an economic benefit (the others do not: not applicable).
ECONOMIC_FIELDS = ("economy", "transport", "agriculture", "science", "urban")
DEPARTMENT_DUTIES = ("贯彻执行国家和省、市有关{f}工作的方针政策和法律法规，拟订本市{f}发展规划并组织实施",
                     "负责{f}领域重大项目的统筹协调和监督管理", "负责本部门预算编制、执行和绩效管理",
                     "指导所属单位开展业务工作，监督检查政策落实情况", "完成市委、市政府交办的其他任务")
DEPARTMENT_TASKS = ("推进{f}领域“十五五”规划重点任务落地", "实施{f}民生实事项目", "深化{f}领域“放管服”改革",
                    "推进{f}数字化转型和信息系统整合", "开展{f}领域安全隐患排查整治", "加强{f}人才队伍建设",
                    "推进全面预算绩效管理提质增效", "完成审计和巡察反馈问题整改", "建立健全内部控制制度体系",
                    "推进{f}公共服务均等化")
#: The expert items of the department framework, scored by the bureau's review group (percent of points).
REVIEW_EXPERTS = 3


def _department_data(seed, units, projects, budgets, execution, experts) -> dict[str, pd.DataFrame]:
    """The department level of the demo city, from its own random stream (the rest of the city is what it
    was): every unit's accounts (basic expenditure, carry-over, “三公”经费, procurement, staff, assets) and
    its monthly basic spending; every department's duties and key tasks (with the projects that carry them),
    its overall performance targets and their actuals, and the bureau's review scores of its expert items."""
    from perfkit.text import value_label

    rng = np.random.default_rng([seed, 23])
    years = (*CLOSED_YEARS, CURRENT_YEAR)
    in_force = budgets["adjusted_amount"].fillna(budgets["amount"])
    project_budget = (projects[["project_id", "unit_id", "year"]].assign(budget=in_force.to_numpy())
                      .groupby(["unit_id", "year"])["budget"].sum().to_dict())
    department_of = units["parent_id"].fillna(units["unit_id"])
    # the departments numbered from 1: the planted cases fall on every n-th (U001, the first, is plain)
    number = {u: k for k, u in enumerate(units.loc[units["level"] == 1, "unit_id"], start=1)}
    accounts, payments = [], []
    month_ends = {y: list(pd.date_range(f"{y}-01-01", periods=12, freq="ME")) for y in years}
    for unit_id, level, department in zip(units["unit_id"], units["level"], department_of):
        k = number[department]
        posts = int(rng.integers(40, 200) if level == 1 else rng.integers(15, 160))
        carry = float(round(posts * rng.uniform(5e3, 3e4), -2))
        for year in years:
            closed = year < CURRENT_YEAR
            personnel = float(round(posts * rng.uniform(1.9e5, 2.5e5), -3))
            public = float(round(posts * rng.uniform(2.8e4, 4.2e4), -3))
            personnel_adj = float(round(personnel * rng.uniform(0.95, 1.05), -3)) if rng.random() < 0.1 else None
            public_adj = float(round(public * rng.uniform(0.9, 1.1), -3)) if rng.random() < 0.1 else None
            staff = posts - int(rng.integers(0, max(2, posts // 20)))
            if k % DEPARTMENT_OVERSTAFFED == 0 and level == 1:
                staff = posts + int(np.ceil(posts * rng.uniform(0.03, 0.08)))
            reception = float(round(posts * rng.uniform(400, 1200), -2))
            vehicles = float(round(posts * rng.uniform(1500, 4000), -2)) if rng.random() < 0.7 else 0.0
            overseas = float(round(rng.uniform(5e4, 3e5), -3)) if level == 1 and rng.random() < 0.4 else 0.0
            over = k % DEPARTMENT_OVERSPENT == 0
            procurement = float(round(project_budget.get((unit_id, year), 0.0) * rng.uniform(0.1, 0.3)
                                         + public * 0.3, -3))
            assets = float(round(posts * rng.uniform(1.5e5, 6e5), -3))
            personnel_spent = round((personnel_adj or personnel) * rng.uniform(0.96, 1.0), 2)
            public_spent = round((public_adj or public) * rng.uniform(0.88, 1.0), 2)
            end = float(round((personnel + public) * rng.uniform(0.01, 0.12), -2))
            accounts.append(dict(
                unit_id=unit_id, year=year, personnel_budget=personnel, personnel_adjusted=personnel_adj,
                personnel_spent=personnel_spent if closed else None, public_budget=public,
                public_adjusted=public_adj, public_spent=public_spent if closed else None,
                carryover_start=carry, carryover_end=end if closed else None,
                reception_budget=reception,
                reception_spent=round(reception * (rng.uniform(1.1, 1.3) if over else rng.uniform(0.5, 0.98)), 2)
                if closed else None,
                vehicles_budget=vehicles,
                vehicles_spent=round(vehicles * (rng.uniform(1.1, 1.3) if over else rng.uniform(0.7, 1.0)), 2)
                if closed else None,
                overseas_budget=overseas, overseas_spent=round(overseas * rng.uniform(0.0, 1.0), 2) if closed else None,
                procurement_budget=procurement,
                procurement_spent=round(procurement * rng.uniform(0.7, 1.0), 2) if closed else None,
                staff_authorised=posts, staff_actual=staff, assets_total=assets,
                assets_in_use=round(assets * rng.uniform(0.8, 0.99), 2) if closed else None))
            carry = end
            # basic spending by month: salaries evenly, December's settlement, public funds with the year
            last = 12 if closed else AS_OF_MONTH
            shares = np.full(12, 1.0) + np.r_[np.zeros(11), 1.5]
            cumulative = np.cumsum(shares / shares.sum())
            total = personnel_spent + public_spent
            payments += [(unit_id, month, round(total * share, 2) if m < 11 else total)
                         for m, (month, share) in enumerate(zip(month_ends[year][:last], cumulative[:last]))]
    accounts = pd.DataFrame(accounts).astype({"staff_authorised": "Int64", "staff_actual": "Int64"})
    basic = pd.DataFrame(payments, columns=["unit_id", "month", "spent_cumulative"])

    # duties, key tasks and the projects carrying them; overall targets and actuals; review scores
    tasks, links, indicators, scores = [], [], [], []
    department_units = units.groupby(department_of)["unit_id"].apply(list).to_dict()
    projects_of = projects.groupby(["year", "unit_id"])["project_id"].apply(list).to_dict()
    reviewers = experts[["expert_id", "unit_id"]].to_numpy()
    review_items = ("绩效目标合理性", "绩效指标明确性", "管理制度健全性", "预决算信息公开性", "资产管理安全性")
    for department, field in units.loc[units["level"] == 1, ["unit_id", "field"]].itertuples(index=False):
        k, f = number[department], value_label("field", field)
        for year in years:
            closed = year < CURRENT_YEAR
            for j, duty in enumerate(DEPARTMENT_DUTIES):
                tasks.append(dict(task_id=f"T{department}{year}D{j + 1}", unit_id=department, year=year,
                                  kind="duty", name=duty.format(f=f), due_date=None, done=None, done_date=None))
            n = int(rng.integers(4, 8))
            picked = rng.choice(len(DEPARTMENT_TASKS), size=n, replace=False)
            mine = [p for u in department_units[department] for p in projects_of.get((year, u), [])]
            done_count = 0
            for j, t in enumerate(sorted(picked)):
                task_id = f"T{department}{year}K{j + 1}"
                due = pd.Timestamp(year, int(rng.integers(6, 13)), 1) + pd.offsets.MonthEnd(0)
                done = bool(not (k % DEPARTMENT_TASK_UNDONE == 0 and j == 0)) if closed else None
                late = closed and done and k % DEPARTMENT_TASK_UNDONE == 0 and j == 1
                done_date = (due + pd.Timedelta(days=int(rng.integers(10, 60))) if late
                             else due - pd.Timedelta(days=int(rng.integers(0, 60)))) if done else None
                done_count += bool(done)
                tasks.append(dict(task_id=task_id, unit_id=department, year=year, kind="key_task",
                                  name=DEPARTMENT_TASKS[t].format(f=f), due_date=due, done=done,
                                  done_date=done_date))
                if mine:
                    for project_id in rng.choice(np.array(sorted(mine)), size=min(len(mine), 1 + j % 2),
                                                 replace=False):
                        links.append((task_id, project_id))
            number_projects = len(mine)
            serial = 0
            for (level1, level2), rows in DEPARTMENT_INDICATORS.items():
                if level2 == "经济效益" and field not in ECONOMIC_FIELDS:
                    continue
                for name, measure, polarity, target in rows:
                    serial += 1
                    if target == "{n}":
                        target, actual = float(n), float(done_count)
                    elif target is None:
                        target = float(number_projects) if measure == "个" else float(round(rng.uniform(5, 80), 1))
                        actual = target if measure == "个" else float(round(target * rng.uniform(0.92, 1.2), 1))
                    else:
                        actual = {"reverse": float(round(rng.uniform(80, 102), 1)),
                                  "positive": float(round(min(100.0, target * rng.uniform(0.97, 1.12)), 1))
                                  }[polarity]
                    if not closed or (k % DEPARTMENT_NO_ACTUAL == 0 and year == CLOSED_YEARS[-1]
                                      and level2 == "社会效益"):
                        actual = None
                    indicators.append(dict(unit_id=department, year=year, indicator_no=serial, level1=level1,
                                           level2=level2, name=name, measure_unit=measure, polarity=polarity,
                                           target_value=target, actual_value=actual))
            if closed and not (k % DEPARTMENT_NO_REVIEW == 0 and year == CLOSED_YEARS[-1]):
                eligible = [e for e, u in reviewers if u not in department_units[department]]
                for expert_id in rng.choice(eligible, size=REVIEW_EXPERTS, replace=False):
                    for item in review_items:
                        scores.append((department, year, expert_id, item,
                                       float(round(rng.uniform(70, 100), 0))))
    return {
        "unit_accounts": accounts, "basic_execution": basic,
        "department_tasks": pd.DataFrame(tasks).astype({"done": "boolean"}),
        "task_projects": pd.DataFrame(links, columns=["task_id", "project_id"]).drop_duplicates(),
        "department_indicators": pd.DataFrame(indicators).astype({"indicator_no": "Int64"}),
        "department_scores": pd.DataFrame(scores, columns=["unit_id", "year", "expert_id", "item", "score"]),
    }


def _findings(rng, projects, evaluated, budgets, execution):
    budget_of = dict(zip(budgets["project_id"], budgets["amount"]))
    year_end = execution[execution["month"].dt.month == 12]
    rate = year_end.set_index("project_id")["spent_cumulative"] / pd.Series(budget_of)
    lagging = rate[rate < 0.6].index
    rows = []
    def add(project_id, stage, problem):
        kind, item, deduction, description, recommendation = problem
        amount = round(budget_of[project_id] * rng.uniform(0.02, 0.3), -2) if kind in ("资金使用不规范", "预算执行进度滞后") else None
        rows.append((f"F{len(rows) + 1:05d}", project_id, stage, item, kind, description,
                     deduction, amount, recommendation))
    for project_id in evaluated:
        for k in rng.choice(len(PROBLEMS), size=int(rng.integers(1, 4)), replace=False):
            add(project_id, "key_evaluation", PROBLEMS[k])
    for project_id in sorted(set(lagging) - set(evaluated)):
        if rng.random() < 0.5:
            add(project_id, "monitoring", PROBLEMS[2])
    others = projects.loc[projects["year"].isin(CLOSED_YEARS), "project_id"]
    for project_id in others.sample(frac=0.04, random_state=int(rng.integers(2**31))):
        add(project_id, rng.choice(["self_evaluation", "audit"]), PROBLEMS[int(rng.integers(len(PROBLEMS)))])
    return pd.DataFrame(rows, columns=["finding_id", "project_id", "stage", "item", "problem_type",
                                       "description", "deduction", "amount", "recommendation"])


#: Other ways an evaluator writes each problem down ({n}, {pct} and {months} are filled per finding).
FINDING_WORDINGS = {
    "绩效目标设置不够明确": ["{n}项绩效指标表述笼统，无法量化考核", "绩效目标与项目内容脱节，指标值设定偏低",
                   "产出指标缺少数量和时效要求，目标难以衡量"],
    "预算编制不够精准": ["年中预算调整幅度达{pct}%，编制依据不足", "预算测算未参照支出标准，{n}个子项金额偏差较大",
                 "预算编制粗放，未细化到具体支出内容"],
    "预算执行进度滞后": ["截至年底预算执行率仅{pct}%，资金支付缓慢", "前{months}个月基本未支出，执行进度远低于时间进度",
                 "项目推进迟缓，资金支付集中在年末"],
    "资金使用不规范": ["{n}笔支出超出预算范围列支", "存在无依据发放补贴的情况，涉及{n}笔", "以拨代支，资金使用不合规"],
    "内部管理制度不健全": ["未制定项目资金管理办法", "缺少项目全过程管理制度，职责分工不明确",
                  "内部控制制度不完善，{n}个环节无制度依据"],
    "制度执行不到位": ["{n}项采购未履行政府采购程序", "合同签订和验收未按制度执行", "资金审批手续不全，{n}笔支出缺少审批"],
    "项目验收不及时": ["项目完工{months}个月后仍未验收", "验收资料不全，未按期完成验收", "工程交付延迟，验收滞后{months}个月"],
    "满意度调查缺失": ["未开展服务对象满意度调查", "满意度数据来源不明，调查样本仅{n}份", "满意度指标无佐证材料"],
    "成本控制不力": ["单位产出成本高出同类项目{pct}%", "成本核算不清，{n}项费用明显偏高", "未开展成本效益分析，支出标准偏高"],
}
#: Share of findings the demo leaves without a recorded problem type (a case compilation classifies them).
UNCATEGORISED_SHARE = 0.15


def _vary_findings(findings: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Give the findings the varied wording of real reports, and leave some without a problem type.

    Uses its own random stream, so the rest of the demo city is what it was.
    """
    rng = np.random.default_rng([seed, 13])
    findings = findings.copy()
    descriptions = []
    for kind, original in zip(findings["problem_type"], findings["description"]):
        wordings = [original, *FINDING_WORDINGS.get(kind, [])]
        text = wordings[int(rng.integers(len(wordings)))]
        descriptions.append(text.format(n=int(rng.integers(2, 9)), pct=int(rng.integers(15, 60)),
                                        months=int(rng.integers(3, 10))))
    findings["description"] = descriptions
    hidden = rng.random(len(findings)) < UNCATEGORISED_SHARE
    findings["problem_type"] = findings["problem_type"].astype(object).where(~hidden, None)
    return findings


# --- cost records ----------------------------------------------------------

def _cost_records(rng, units, directions):
    records, truth = [], []
    field_units = {"市政道路": "urban", "污染防治": "environment", "义务教育": "education",
                   "园林绿化": "urban", "环境卫生": "urban"}
    for sub, (name, output_unit, unit_cost, grades, sigma_u, sigma_v, median_q) in COST_DIRECTIONS.items():
        direction_id = directions.loc[(directions["subcategory"] == sub) & (directions["name"] == name),
                                      "direction_id"].iloc[0]
        truth += [(direction_id, "unit_cost", None, None, unit_cost),
                  (direction_id, "base_year", None, None, float(COST_BASE_YEAR)),
                  (direction_id, "sigma_u", None, None, sigma_u),
                  (direction_id, "sigma_v", None, None, sigma_v),
                  (direction_id, "scale_elasticity", None, None, 1.0)]
        truth += [(direction_id, "coefficient", "region", r, c) for r, c in REGION_COEFFICIENTS.items()]
        truth += [(direction_id, "coefficient", "grade", g, c) for g, c in grades.items()]
        pool = units[units["field"] == field_units[sub]]["unit_id"].to_numpy()
        # each spending site: a unit with a fixed region, grade and size, seen every year
        n_sites = 90
        sites = pd.DataFrame({
            "unit_id": rng.choice(pool, n_sites),
            "region": rng.choice(list(REGION_COEFFICIENTS), n_sites, p=[0.4, 0.35, 0.25]),
            "grade": rng.choice(list(grades), n_sites),
            "size": rng.lognormal(np.log(median_q), 0.6, n_sites),
        })
        for year in COST_YEARS:
            present = rng.random(n_sites) < 0.9
            s = sites[present]
            quantity = np.round(s["size"].to_numpy() * rng.lognormal(0, 0.05, len(s)), 1)
            v = rng.normal(0, sigma_v, len(s))
            u = np.abs(rng.normal(0, sigma_u, len(s)))
            coef = s["region"].map(REGION_COEFFICIENTS).to_numpy() * s["grade"].map(grades).to_numpy()
            cost = quantity * unit_cost * coef * PRICE_INDEX[year] / PRICE_INDEX[COST_BASE_YEAR] * np.exp(v + u)
            for unit_id, region, grade, q, c in zip(s["unit_id"], s["region"], s["grade"], quantity, cost):
                records.append((direction_id, unit_id, year, region, grade, float(q), round(float(c), 2)))
    cost_records = pd.DataFrame(records, columns=["direction", "unit_id", "year", "region", "grade", "quantity", "cost"])
    cost_records.insert(0, "record_id", [f"C{i + 1:05d}" for i in range(len(cost_records))])
    cost_truth = pd.DataFrame(truth, columns=["direction", "parameter", "factor", "level", "value"])
    return cost_records, cost_truth


# --- new project requests (ex-ante assessment) -----------------------------

def _requests(rng, units, directions, indicators, cost_records, cost_truth, targets, actuals, projects):
    """New requests for the next budget year: most in directions with quota standards, some padded
    beyond the standard cost, some with weak targets; expert scores for the judged dimensions."""
    year = CURRENT_YEAR + 1
    cost_directions = sorted(cost_records["direction"].unique())
    other = directions.loc[~directions["direction_id"].isin(cost_directions), "direction_id"].to_numpy()
    library = indicators.assign(position=indicators.groupby("direction").cumcount())
    requests, request_targets, request_scores = [], [], []
    for k in range(N_REQUESTS):
        request_id = f"R{year}{k + 1:03d}"
        with_standard = k < 28
        if with_standard:
            direction = cost_directions[k % len(cost_directions)]
            sample = cost_records[cost_records["direction"] == direction].iloc[int(rng.integers(100))]
            unit_id, region, grade = sample["unit_id"], sample["region"], sample["grade"]
            truth = cost_truth[cost_truth["direction"] == direction]
            coef = truth[truth["parameter"] == "coefficient"].set_index("level")["value"]
            efficient = truth.loc[truth["parameter"] == "unit_cost", "value"].item() * coef[region] * coef[grade]
            quantity = round(float(sample["quantity"]) * rng.uniform(0.8, 1.3), 1)
            padding = rng.choice([1.0, 1.1, 1.3, 1.6, 2.0], p=[0.3, 0.25, 0.2, 0.15, 0.1])
            amount = round(quantity * efficient * PRICE_INDEX[year] / PRICE_INDEX[COST_BASE_YEAR]
                           * rng.lognormal(np.log(1.15), 0.05) * padding, -3)
        else:
            direction = other[int(rng.integers(len(other)))]
            unit_id = units["unit_id"].iloc[int(rng.integers(len(units)))]
            quantity, region, grade = None, None, None
            amount = round(rng.lognormal(np.log(3e6), 0.8), -3)
        name = directions.set_index("direction_id").loc[direction, "name"]
        requests.append((request_id, unit_id, f"{year}年{name}新增项目", year, direction, float(amount), quantity,
                         region, grade, FINANCING_SOURCES[int(rng.choice(4, p=[0.7, 0.1, 0.1, 0.1]))]))
        pool = library[library["direction"] == direction]
        picks = pool[pool["position"] < 6]
        if rng.random() < 0.15:  # a weak request: no benefit targets
            picks = picks[picks["level1"] != "效益"]
        for row in picks.itertuples(index=False):
            value = None
            if row.value_type == "quantitative":
                value = {"%": 95.0}.get(row.measure_unit, float(max(1, round(rng.lognormal(np.log(50), 0.5)))))
                if row.polarity == "reverse" and row.measure_unit != "%":
                    value = float(round(rng.lognormal(np.log(5000), 0.5)))
            unit = row.measure_unit
            if unit and unit != "%" and rng.random() < 0.08:
                unit = "项"  # a unit of measure that differs from the library's
            request_targets.append((request_id, row.indicator_id, value, unit))
        for dimension in ("necessity", "feasibility", "financing"):
            merit = rng.normal(78, 10)
            for expert in rng.choice(40, size=3, replace=False) + 1:
                request_scores.append((request_id, f"E{expert:03d}", dimension,
                                       float(np.clip(round(rng.normal(merit, 5), 1), 0, 100))))
    requests = pd.DataFrame(requests, columns=["request_id", "unit_id", "name", "year", "direction", "amount",
                                               "quantity", "region", "grade", "financing_source"])
    request_targets = pd.DataFrame(request_targets, columns=["request_id", "indicator_id", "target_value",
                                                             "measure_unit"])
    request_scores = pd.DataFrame(request_scores, columns=["request_id", "expert_id", "dimension", "score"])
    return requests, request_targets, request_scores


def fill_demo_sheets(directory: str | PathLike, store_path: str | PathLike) -> list[Path]:
    """Fill the scoring sheets in ``directory`` as the demo city's experts would: each score cell with the
    points the store's ``expert_scores`` give that expert for that item, the declaration ticked; then saved.
    Collecting them back (:func:`perfkit.sheets.collect_sheets`) gives the same scores: the round trip of
    the example notebook and the tests.

    Returns the workbooks filled (those of an expert with no score in the store are left as they are).
    """
    from openpyxl import load_workbook

    from perfkit.sheets import BLOCK
    from perfkit.store import Store
    from perfkit.text import texts

    with Store(store_path, read_only=True) as store:
        scores = store.table("expert_scores")
    given = {(p, e, i): s for p, e, i, s in scores[["project_id", "expert_id", "item", "score"]].itertuples(index=False)}
    filled = []
    for path in sorted(Path(directory).glob("*.xlsx")):
        book = load_workbook(path)
        block = {k: v for k, v in book[BLOCK].iter_rows(min_row=1, max_row=9, max_col=2, values_only=True)}
        rows = [r for r in book[BLOCK].iter_rows(min_row=11, max_col=3, values_only=True) if r[0] is not None]
        project, expert = block["project_id"], block["expert_id"]
        if not any((project, expert, item) in given for item, _, _ in rows):
            continue
        sheet = book[block["scores_sheet"]]
        for item, row, points in rows:
            if (project, expert, item) in given:
                sheet[f"F{row}"] = round(given[project, expert, item] / 100 * points, 6)
        sheet[f"F{block['declaration_row']}"] = texts("sheets.words", block["lang"])["yes"]
        book.save(path)
        filled.append(path)
    return filled
