"""The ex-ante assessment and monitoring jobs: sections, tables and charts for their notebooks."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perfkit.evaluation_report import markdown, outline
from perfkit.exante import ExAnteResult, assess, assess_all, exante_summary, request_from_store
from perfkit.labels import value_label
from perfkit.monitoring import monitor, monitoring_summary
from perfkit.quota.standards import StandardsTable
from perfkit.store import Store

_LIGHT_COLOURS = {"green": "#55a868", "yellow": "#dd8452", "red": "#c44e52"}


def _standards(store: Store) -> StandardsTable | None:
    """The quota standards saved in the store (``perfkit standards``), or None when there are none."""
    return StandardsTable.from_store(store) if "quota_standards" in store.tables() else None


@dataclass
class ExAnteView:
    result: ExAnteResult
    lang: str = "zh"

    def section(self, name: str):
        """One section of the outline (title, basic, work, overall, advice, other)."""
        return markdown(getattr(outline("ex_ante", self.lang).make_module({}), name)(self.result))

    def dimension_table(self) -> pd.DataFrame:
        from perfkit.rules import load_preset

        points = {d["name"]: d["points"] for d in load_preset()["exante"]["dimensions"].values()}
        table = self.result.by_dimension.to_frame("score").assign(points=lambda t: t.index.map(points))
        headers = {"zh": {"score": "得分", "points": "分值"}, "en": {"score": "Score", "points": "Points"}}[self.lang]
        return table[["points", "score"]].round(2).rename(columns=headers).rename_axis(
            "评估维度" if self.lang == "zh" else "Dimension")

    def targets_table(self) -> pd.DataFrame:
        targets = pd.DataFrame(self.result.request.get("targets") or [])
        if targets.empty:
            return targets
        columns = {"name": "指标", "level1": "一级指标", "target_value": "目标值", "measure_unit": "计量单位",
                   "library_unit": "指标库计量单位", "history": "本单位以往实际"}
        if self.lang == "en":
            columns = {k: k for k in columns}
        return targets.reindex(columns=list(columns)).rename(columns=columns)  # a hand-written file may omit some


def read_request_file(path) -> tuple[dict, dict]:
    """A request written by hand as YAML (or JSON): its fields, ``targets`` and ``answers``.

    Example::

        request_id: R-2027-临时01
        name: 道路养护增量项目
        amount: 92000000
        direction: D131
        quantity: 120
        region: 中心城区
        grade: 主干道
        year: 2027
        targets:
          - {name: 道路养护里程数量, level1: 产出, value_type: quantitative, polarity: positive,
             target_value: 120, measure_unit: 公里, library_unit: 公里}
        answers: {necessity: [80, 85, 90], feasibility: 75, financing: {资金来源合规: true}}
    """
    import yaml

    from perfkit.errors import DataError, Problem

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(Problem(path.name, f"cannot be read as a request: {exc}")) from exc
    if not isinstance(raw, dict):
        raise DataError(Problem(path.name, "a request file must be a mapping of fields"))
    answers = raw.pop("answers", {}) or {}
    request = {"request_id": path.stem, "name": path.stem, "unit_name": "", "direction_name": raw.get("direction"),
               "output_unit": "", "financing_source": "", "quantity": None, "region": None, "grade": None,
               "year": None, "targets": [], **raw}
    return request, answers


def exante_assessment(store: Store, request_id: str | None = None, preset="default", lang: str = "zh",
                      request_file=None) -> ExAnteView:
    """Assess a stored request (or one written in ``request_file``) against the store's quota standards."""
    if request_file:
        request, answers = read_request_file(request_file)
    elif request_id:
        request, answers = request_from_store(store, request_id)
    else:
        raise ValueError("give a request_id or a request_file")
    return ExAnteView(assess(request, _standards(store), answers, preset), lang=lang)


def exante_portfolio(store: Store, year: int | None = None, preset="default") -> pd.DataFrame:
    """Every request assessed (see :func:`perfkit.exante.assess_all`) with the store's standards."""
    return assess_all(store, _standards(store), year, preset)


@dataclass
class MonitoringView:
    """The monitoring of a city (or one unit) as of a date."""

    frame: pd.DataFrame
    as_of: pd.Timestamp
    lang: str = "zh"

    @property
    def summary(self) -> pd.DataFrame:
        return monitoring_summary(self.frame)

    def headline(self):
        h = self.summary.attrs["headline"]
        lights = self.frame["light"].value_counts()
        if self.lang == "zh":
            text = (f"截至{self.as_of:%Y年%m月%d日}，监控项目 {len(self.frame)} 个（预算 {self.frame['budget'].sum() / 1e8:,.2f} 亿元），"
                    f"绿灯 {lights.get('green', 0)} 个、黄灯 {lights.get('yellow', 0)} 个、红灯 {lights.get('red', 0)} 个。"
                    f"需整改（含暂缓拨款）的单位 {h['rectify_units']} 个、项目 {h['rectify_projects']} 个，涉及资金 "
                    f"{h['rectify_money'] / 1e8:,.2f} 亿元；建议终止项目 {h['terminate_projects']} 个，涉及资金 "
                    f"{h['terminate_money'] / 1e4:,.2f} 万元；{h['no_execution']} 个项目无执行记录。")
        else:
            text = (f"As of {self.as_of:%Y-%m-%d}: {len(self.frame)} projects ({self.frame['budget'].sum() / 1e8:,.2f} × 100m yuan); "
                    f"green {lights.get('green', 0)}, yellow {lights.get('yellow', 0)}, red {lights.get('red', 0)}. "
                    f"To rectify (incl. paused payments): {h['rectify_units']} units, {h['rectify_projects']} projects, "
                    f"{h['rectify_money'] / 1e8:,.2f} × 100m yuan; to terminate: {h['terminate_projects']} projects, "
                    f"{h['terminate_money'] / 1e4:,.2f} × 10k yuan; {h['no_execution']} without execution records.")
        return markdown(text)

    def heading(self, key: str):
        titles = {"zh": {"title": "绩效运行监控报告", "summary": "一、总体情况", "actions": "二、处置建议汇总",
                         "chart": "三、执行偏离分布", "list": "四、需关注项目清单"},
                  "en": {"title": "In-year performance monitoring", "summary": "1. Overview",
                         "actions": "2. Actions", "chart": "3. Deviations", "list": "4. Projects needing attention"}}
        level = "#" if key == "title" else "##"
        return markdown(f"{level} {titles[self.lang][key]}")

    def action_table(self) -> pd.DataFrame:
        t = self.summary.copy()
        t["budget"] = (t["budget"] / 1e4).round(2)
        names = {"zh": {"projects": "项目数", "units": "单位数", "budget": "涉及资金（万元）"},
                 "en": {"projects": "Projects", "units": "Units", "budget": "Money (10k yuan)"}}[self.lang]
        return t.rename(columns=names).rename_axis("处置" if self.lang == "zh" else "Action")

    def attention_table(self, limit: int = 50) -> pd.DataFrame:
        f = self.frame[self.frame["action"] != "正常"].copy()
        f = f.sort_values(["light", "deviation"], key=lambda s: s.map({"red": 0, "yellow": 1, "green": 2})
                          if s.name == "light" else s).head(limit)
        for column in ("execution_rate", "expected_rate", "forecast_rate"):
            f[column] = f[column].map(lambda v: "—" if pd.isna(v) else f"{v:.1%}")
        f["budget"] = (f["budget"] / 1e4).round(2)
        f["light"] = f["light"].map(lambda v: value_label("light", v, self.lang))
        columns = {"project_id": "项目编码", "name": "项目名称", "unit_name": "单位", "budget": "预算（万元）",
                   "execution_rate": "执行率", "expected_rate": "全市同期", "forecast_rate": "预计年末",
                   "likelihood": "完成可能性", "light": "预警", "action": "处置", "reasons": "原因"}
        if self.lang == "en":
            columns = {k: k for k in columns}
        return f[list(columns)].rename(columns=columns).reset_index(drop=True)

    def plot_deviation(self):
        """Execution rate against time progress, one dot per project, coloured by its light (which judges it
        against the city's typical path, not the calendar)."""
        import matplotlib.pyplot as plt
        from perfkit.plotting import use_cjk_font

        use_cjk_font()
        f = self.frame.dropna(subset=["execution_rate"])
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for light in _LIGHT_COLOURS:  # green, yellow, red: the legend reads in order of urgency
            group = f[f["light"] == light]
            ax.scatter(group["time_progress"] * 100, group["execution_rate"] * 100, s=10, alpha=0.6,
                       color=_LIGHT_COLOURS[light], label=value_label("light", light, self.lang))
        ax.set_xlabel("时间进度 (%)" if self.lang == "zh" else "Time progress (%)")
        ax.set_ylabel("预算执行率 (%)" if self.lang == "zh" else "Execution rate (%)")
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig


def monitoring_view(store: Store, as_of, unit: str | None = None, preset="default", lang: str = "zh") -> MonitoringView:
    """Monitor the store's projects as of a date (``unit`` None or "all" for the whole city)."""
    unit = None if unit in (None, "", "all") else unit
    return MonitoringView(monitor(store, as_of, preset, unit=unit), pd.Timestamp(as_of), lang=lang)


__all__ = ["ExAnteView", "MonitoringView", "exante_assessment", "exante_portfolio", "exante_summary",
           "monitoring_view"]
