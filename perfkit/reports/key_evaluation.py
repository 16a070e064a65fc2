"""The key evaluation job (财政重点评价): report sections from the Jinja outline, tables and charts."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from perfkit._lazy import lazy_module
from perfkit.reports.display import (PresetView, capped_parts, figure, markdown, notes_text, outline, plain, record,
                                     rounded_parts)
from perfkit.reports.registry import UNIT_FILTERS, Batch, Job, register
from perfkit.text import text, texts, value_label

if TYPE_CHECKING:
    from perfkit.evaluation import EvaluationResult
    from perfkit.rules import PresetLike
    from perfkit.store import Store

pd = lazy_module("pandas")
np = lazy_module("numpy")   # the job is declared (and its --help answers) without pandas

JOB = register(Job(name="key-evaluation", notebook="key_evaluation.ipynb", subject=("project_id",),
                   warm=("perfkit.evaluation",),
                   aliases={"project_id": "--project"}, lookups={"project_id": ("projects", "project_id")},
                   paths=("preset", "excel"),
                   summary="a project's key evaluation against the preset's indicator tree, in the official outline",
                   view="key_evaluation", order=20,
                   batch=Batch(sql=f"""SELECT DISTINCT f.project_id AS subject FROM project_facts f JOIN units u USING (unit_id)
                                       WHERE f.project_id IN (SELECT project_id FROM expert_scores)
                                         AND ($year::INTEGER IS NULL OR f.year = $year) AND {UNIT_FILTERS} {{where}}""",
                               filters=("year", "field", "unit_level"), parameter="project_id",
                               options={"preset": "preset"}, aliases="f: project facts, u: units")))


@dataclass
class KeyEvaluationView(PresetView):
    """A key evaluation ready to show, section by section, in the official outline."""

    result: EvaluationResult
    lang: str = "zh"



    def _context(self) -> dict:
        """What the outline's sections share (computed once: every section asks)."""
        if getattr(self, "_shared", None) is None:
            self._shared = self._build_context()
        return self._shared

    def _printed(self) -> pd.DataFrame:
        """The items as the score table prints them: points and score rounded so that they add up to the
        printed totals; every number the prose quotes of an item is read from here."""
        if getattr(self, "_printed_items", None) is None:
            t = self.result.table.copy()
            t["points"], t["score"] = rounded_parts(t["points"]), capped_parts(t["score"], rounded_parts(t["points"]))
            self._printed_items = t.set_index("indicator", drop=False)
        return self._printed_items

    def _findings(self) -> list[dict]:
        """Each finding with what the table took off for it: a deduction item's charges, rounded so that they
        add up to the item's printed loss; for an item scored otherwise, its printed score and points."""
        r, items = self.result, self._printed()
        charged = r.findings["charged"].to_numpy(dtype=float).copy()
        for item in r.findings.loc[r.findings["scored_by"] == "deduction", "item"].unique():
            mine = (r.findings["item"] == item).to_numpy()
            loss = items.at[item, "points"] - items.at[item, "score"]
            charged[mine] = rounded_parts(charged[mine], total=None if np.isnan(loss) else round(loss, 2))
        rows = []
        for row, charge in zip(r.findings.itertuples(), charged):
            item = row.item if isinstance(row.item, str) and row.item in items.index else None
            score = items.at[item, "score"] if item else float("nan")
            rows.append(dict(problem_type=row.problem_type if isinstance(row.problem_type, str) and row.problem_type
                             else text("key_evaluation.unclassified_problem", self.lang),
                             description=row.description, item=self.label(item) if item else None,
                             level1=items.at[item, "level1"] if item else None,
                             rule=row.scored_by if item else None, charged=float(charge),
                             points=float(items.at[item, "points"]) if item else None,
                             score=None if np.isnan(score) else float(score)))
        return rows

    def _shares(self) -> pd.DataFrame:
        """The scored items with points, their printed points and score and the share won."""
        t = self._printed()
        t = t[(t["points"] > 0) & t["score"].notna()]
        return t.assign(share=self.result.table.set_index("indicator").loc[t.index].eval("score / points"))

    def _build_context(self) -> dict:
        r, style = self.result, self.preset.report
        shares = self._shares()
        weak = shares[shares["share"] < style.weak_item_share].nsmallest(style.items_listed, "share")
        strong = shares[shares["share"] >= style.strong_item_share].sort_values(
            ["share", "points"], ascending=False, kind="stable").head(style.items_listed)
        experts = int(r.panel["n_experts"].max()) if len(r.panel) else 0
        advice = list(dict.fromkeys(r.findings["recommendation"].dropna())) if len(r.findings) else []
        findings = self._findings()

        def item(row) -> dict:
            return dict(indicator=self.label(row.indicator), level1=self.label(row.level1), rule=row.rule,
                        points=float(row.points), score=float(row.score), share=float(row.share))

        # the causes: per level-1 dimension, the items that lost points through findings or a low share
        causes: dict[str, list[str]] = {}
        for f in findings:
            if f["item"]:
                causes.setdefault(f["level1"], []).append(f["item"])
        for row in weak.itertuples():
            causes.setdefault(row.level1, []).append(self.label(row.indicator))
        return dict(
            framework=self._framework(),
            levels=[self.label(level1) for level1 in dict.fromkeys(r.table["level1"])],
            budget_type=value_label("budget_type", r.project["budget_type"], self.lang),
            category=value_label("category", r.project["category"], self.lang),
            preset_name=self.label(self.preset.name), n_experts=experts,
            trimmed=experts >= self.preset.expert_panel.trim_min_experts,
            draft=r.is_draft, rating=self.rating_label(),
            missing=[dict(item=self.label(row.item), evidence=text(f"evaluation.evidence.{row.evidence}", self.lang),
                          supplier=text(f"evaluation.supplier.{row.supplier}", self.lang))
                     for row in r.missing.itertuples()] if r.is_draft else [],
            # rounded so that the printed dimensions add up to the printed total
            by_level1=list(zip(map(self.label, r.by_level1.index), rounded_parts(r.by_level1.to_numpy()))),
            findings=findings,
            quality=[notes_text([n], self.lang, self.preset) for n in r.quality],
            strong=[item(row) for row in strong.itertuples()],
            causes=[dict(code=level1, label=self.label(level1), items=list(dict.fromkeys(names)))
                    for level1, names in causes.items()],
            strong_share=style.strong_item_share,
            flags=[(self.label(item), notes_text(notes, self.lang, self.preset)) for item, notes in r.flags],
            sensitivity=None,
            weakest=[item(row) for row in weak.itertuples()],
            advice=advice, panel=self._panel())

    def _framework(self) -> dict | None:
        """What the outline says of a new field's framework: its name and rule, its formula items with their
        values, the bond's totals, the PPP payment (None: a regular project on the preset's own tree)."""
        r = self.result
        if r.framework is None:
            return None
        items = self._printed()
        formulas = [dict(item=self.label(row.item), value=None if pd.isna(row.value) else float(row.value),
                         show=row.show, full=row.full, zero=row.zero,
                         pending=bool(row.evidence), undefined=pd.isna(row.value) and not row.evidence,
                         points=float(items.at[row.item, "points"]),
                         score=None if np.isnan(items.at[row.item, "score"]) else float(items.at[row.item, "score"]))
                    for row in r.formulas.itertuples()]
        payment = r.payment
        if payment is not None:    # in 万元, the payment and what is withheld adding up to the base as printed
            from perfkit.evaluation.fields import printed_payment

            base, paid, withheld = printed_payment(payment, 1e4)
            payment = {**payment, "amount": base, "payment": paid, "withheld": withheld,
                       "band": self.label(payment["band"])}
        return dict(name=self.label(r.framework.name), basis=self.label(r.framework.basis), category=r.project["category"],
                    formulas=formulas, facts=r.facts, linked=r.framework.payment is not None, payment=payment)

    def _panel(self) -> dict | None:
        """What the annex says of the panel: its size, agreement, outliers and disputed items (None: no panel)."""
        summary = self.result.panel_summary()
        if summary is None:
            return None

        def number(value):
            return None if value is None or np.isnan(value) else float(value)

        icc2k, rules = summary.icc.loc["ICC(2,k)"], self.preset.expert_panel
        final = dict(zip(self.result.table["indicator"], self.result.table["points"]))
        return dict(
            m=int(summary.scores.shape[1]), n=int(summary.scores.shape[0]),
            trimmed=bool((summary.items["n_experts"] >= rules.trim_min_experts).all()),
            w=number(summary.kendall.get("w")), p=number(summary.kendall.get("p_value")),
            # rounded as printed (+ 0.0: a bound of −0.004 prints 0.00, never −0.00)
            icc=number(round(icc2k["icc"], 2) + 0.0), low=number(round(icc2k["ci_low"], 2) + 0.0),
            high=number(round(icc2k["ci_high"], 2) + 0.0),
            threshold=rules.outlier_deviation, spread_threshold=rules.spread_threshold,
            outliers=[dict(expert=expert, deviation=float(row.deviation), points=float(row.points))
                      for expert, row in summary.experts[summary.experts["outlier"]].iterrows()],
            disputed=[dict(item=self.label(item), spread=float(summary.items.at[item, "spread"]))
                      for item in summary.items.index[summary.items["disputed"]]],
            # the experts score on the items' own points; the score table may have rescaled them
            rescaled=any(abs(final.get(item, p) - p) > 1e-9 for item, p in summary.items["points"].items()))

    def panel_table(self) -> pd.DataFrame | None:
        """专家评分汇总表: each expert's score of each item in the item's points, the trimmed mean, the spread
        and the flags, with each expert's mean gap to the others and the outlier flag (None: no panel)."""
        summary = self.result.panel_summary()
        if summary is None:
            return None
        h = texts("key_evaluation.panel", self.lang)
        items = summary.items
        gaps = summary.experts.reindex(summary.scores.columns)
        t = summary.scores.copy()
        # an expert the preset's rule flags is named so in the header (flagged, never dropped)
        t.columns = [f"{e}（{h['outlier_flag']}）" if self.lang == "zh" and flag else f"{e} ({h['outlier_flag']})"
                     if flag else str(e) for e, flag in zip(t.columns, gaps["outlier"])]
        t.index = [self.label(item) for item in t.index]
        t.loc[h["deviation"]] = gaps["points"].to_numpy()
        t.insert(0, h["points"], list(items["points"]) + [np.nan])
        t[h["score"]] = list(items["score"] / 100 * items["points"]) + [np.nan]
        t[h["spread"]] = list(items["spread"] / 100 * items["points"]) + [np.nan]
        t[h["flag"]] = list(np.where(items["disputed"], h["disputed"], np.where(items["flagged"], h["wide"], ""))) + [""]
        return t.rename_axis(h["item"])

    def agreement_table(self) -> pd.DataFrame | None:
        """The six intraclass correlations of the panel with their 95% intervals and F tests (None: no panel)."""
        summary = self.result.panel_summary()
        if summary is None:
            return None
        h = texts("key_evaluation.agreement", self.lang)
        forms = texts("key_evaluation.icc_forms", self.lang)
        t = summary.icc[["icc", "ci_low", "ci_high", "F", "p_value"]].copy()
        t[["icc", "ci_low", "ci_high"]] = t[["icc", "ci_low", "ci_high"]].round(2) + 0.0   # never "-0.00"
        t.insert(0, "meaning", [forms[f] for f in t.index])
        return t.rename(columns=h).rename_axis(h["form"])

    def _formula_words(self, formula: str) -> str:
        """A formula with each fact named in the report's language (``项目全周期收益 ÷ 全周期应还本息``)."""
        import re

        words = re.sub(r"[A-Za-z_][A-Za-z0-9_]*", lambda m: value_label("fact", m.group(0), self.lang), formula)
        return words.replace("/", "÷").replace("*", "×")

    def field_table(self) -> pd.DataFrame | None:
        """The items a new field's framework scores by formula: the formula in words, the figures it read
        (amounts in 万元), the value, the values of full and zero points, the points and the score
        (None: a regular project)."""
        r = self.result
        if r.framework is None or r.formulas.empty:
            return None
        h = texts("key_evaluation.formulas", self.lang)
        items = self._printed()

        def figure(fact, value):
            shown = "—" if value is None else (f"{value:,.0f}" if fact.startswith("units_") else f"{value / 1e4:,.2f}")
            unit = "" if fact.startswith("units_") or value is None else ("万元" if self.lang == "zh" else " (10k yuan)")
            return f"{value_label('fact', fact, self.lang)} {shown}{unit}"

        def shown(value, how):
            return "—" if value is None or pd.isna(value) else f"{value:.2f}" + ("倍" if self.lang == "zh" else "×") if how == "times" \
                else f"{value:.1%}"

        rows = []
        for row in r.formulas.itertuples():
            score = items.at[row.item, "score"]
            rows.append({h["item"]: self.label(row.item), h["formula"]: self._formula_words(row.formula),
                         h["inputs"]: "；".join(figure(f, v) for f, v in row.inputs.items()) if self.lang == "zh"
                         else "; ".join(figure(f, v) for f, v in row.inputs.items()),
                         h["value"]: h["pending"] if row.evidence else h["undefined"] if pd.isna(row.value)
                         else shown(row.value, row.show),
                         h["full"]: shown(row.full, row.show), h["zero"]: shown(row.zero, row.show),
                         h["points"]: round(float(items.at[row.item, "points"]), 2),
                         h["score"]: text("common.draft", self.lang) if np.isnan(score) else round(float(score), 2)})
        return pd.DataFrame(rows)

    def ledger_tables(self) -> list[pd.DataFrame]:
        """The field's own records as the report shows them: a bond's self-balance schedule, a fund's
        contributions and investments, a service's contracts, a PPP project's payment computation (amounts
        in yuan as the ledgers hold them, each total row the sum of its printed parts); empty for a regular project."""
        r = self.result
        if r.framework is None:
            return []
        category = r.project["category"]
        tables = []
        if category == "special_bond" and len(r.ledgers.get("bond_schedule", ())):
            tables.append(self._schedule_table(r.ledgers["bond_schedule"]))
        if category == "guidance_fund":
            if len(r.ledgers.get("fund_contributions", ())):
                tables.append(self._contributions_table(r.ledgers["fund_contributions"]))
            if len(r.ledgers.get("fund_investments", ())):
                tables.append(self._investments_table(r.ledgers["fund_investments"]))
        if category == "purchased_service" and len(r.ledgers.get("service_contracts", ())):
            tables.append(self._contracts_table(r.ledgers["service_contracts"]))
        if r.payment is not None:
            tables.append(self._payment_table())
        return tables

    def _with_total(self, frame: pd.DataFrame, label_column: str, columns: list[str]) -> pd.DataFrame:
        """``frame`` (amounts in yuan, as the ledgers hold them: no rounding to hide) with a 合计 row, each
        column's total the sum of its printed parts."""
        h = texts("key_evaluation.headers", self.lang)
        out = frame.copy()
        total_row = {c: "" for c in out.columns}
        total_row[label_column] = h["total"]
        for column in columns:
            known = out[column].notna()
            parts = rounded_parts(out.loc[known, column].astype(float).to_numpy())
            out[column] = out[column].astype(object)
            out.loc[known, column] = parts
            out.loc[~known, column] = None
            total_row[column] = round(float(parts.sum()), 2)
        return pd.concat([out, pd.DataFrame([total_row])], ignore_index=True)

    def _schedule_table(self, schedule: pd.DataFrame) -> pd.DataFrame:
        h = texts("key_evaluation.schedule", self.lang)
        year = int(self.result.project["year"])
        t = schedule.assign(service=schedule["principal_due"] + schedule["interest_due"],
                            revenue_counted=np.where(schedule["year"] <= year, schedule["revenue_actual"],
                                                     schedule["revenue_planned"]))
        t = t[["year", "principal_due", "interest_due", "service", "revenue_planned", "revenue_actual",
               "revenue_counted", "paid"]]
        t = self._with_total(t.assign(year=t["year"].astype(str)), "year",
                             ["principal_due", "interest_due", "service", "revenue_planned", "revenue_actual",
                              "revenue_counted", "paid"])
        return t.rename(columns=h)

    def _contributions_table(self, contributions: pd.DataFrame) -> pd.DataFrame:
        h = texts("key_evaluation.contributions", self.lang)
        t = contributions[["investor", "kind", "subscribed", "paid_in"]].copy()
        t["kind"] = t["kind"].map(lambda k: value_label("investor_kind", k, self.lang))
        t["rate"] = [f"{p / s:.1%}" for p, s in zip(t["paid_in"], t["subscribed"])]
        t = self._with_total(t, "investor", ["subscribed", "paid_in"])
        return t.rename(columns=h)

    def _investments_table(self, investments: pd.DataFrame) -> pd.DataFrame:
        h = texts("key_evaluation.investments", self.lang)
        w = texts("key_evaluation.words", self.lang)
        year = int(self.result.project["year"])
        mine = investments[pd.to_datetime(investments["invest_date"]).dt.year <= year]
        t = mine[["enterprise", "sector", "in_city", "in_policy_sector", "invest_date", "amount"]].copy()
        t["in_city"] = t["in_city"].map(lambda v: w["mark_yes"] if v else w["mark_no"])
        t["in_policy_sector"] = t["in_policy_sector"].map(lambda v: w["mark_yes"] if v else w["mark_no"])
        t["invest_date"] = pd.to_datetime(t["invest_date"]).dt.strftime("%Y-%m-%d")
        t = self._with_total(t, "enterprise", ["amount"])
        return t.rename(columns=h)

    def _contracts_table(self, contracts: pd.DataFrame) -> pd.DataFrame:
        h = texts("key_evaluation.contracts", self.lang)
        t = contracts[["contract_id", "contractor", "amount", "measure_unit", "units_contracted", "units_delivered",
                       "units_accepted", "standard_unit_cost", "paid"]].copy()
        for column in ("units_contracted", "units_delivered", "units_accepted"):
            t[column] = t[column].map(lambda v: "—" if pd.isna(v) else f"{v:,.0f}")
        t["standard_unit_cost"] = t["standard_unit_cost"].map(
            lambda v: text("common.draft", self.lang) if pd.isna(v) else f"{v:,.2f}")
        t = self._with_total(t, "contract_id", ["amount", "paid"])
        return t.rename(columns=h)

    def _payment_table(self) -> pd.DataFrame:
        h = texts("key_evaluation.payment", self.lang)
        from perfkit.evaluation.fields import printed_payment

        p = self.result.payment
        base, paid, withheld = printed_payment(p)      # in yuan, adding up as printed
        return pd.DataFrame([{h["base"]: base, h["score"]: round(self.result.total, 2),
                              h["band"]: self.label(p["band"]), h["coefficient"]: f"{p['coefficient']:.2f}",
                              h["payment"]: paid, h["withheld"]: withheld}])

    def sheets(self) -> dict[str, pd.DataFrame]:
        """The report's tables for a workbook: the score table, the dimensions, a new field's formula items and
        ledgers, the findings and the panel."""
        names = texts("key_evaluation.sheets", self.lang)
        out = {names["scores"]: self.score_table(), names["levels"]: self.level_table().reset_index(),
               names["formulas"]: self.field_table(), names["findings"]: self.findings_table()}
        for n, table in enumerate(self.ledger_tables(), start=1):
            out[f"{names['ledger']}{n}"] = table
        panel = self.panel_table()
        out[names["panel"]] = None if panel is None else panel.reset_index()
        return {name: frame for name, frame in out.items() if frame is not None and not frame.empty}

    def to_excel(self, path) -> Path:
        """Write the report's tables as a workbook (text cells as text, never formulas)."""
        from perfkit.workbooks import view_workbook

        return view_workbook(self.sheets(), path)

    def rating_label(self) -> str:
        """The rating in the report's language, or 待补充 for a draft."""
        rating = self.result.rating
        return text("common.draft", self.lang) if rating is None else self.label(rating)

    def section(self, name: str):
        """One section of the outline (title, basic, work, conclusion, analysis, problems, recommendations, other,
        annex)."""
        context = self._context()
        if name == "conclusion" and not self.result.is_draft:  # only the conclusion reports the sensitivity
            context["sensitivity"] = {**self.result.sensitivity(),
                                      "perturbation": self.preset.sensitivity.perturbation}
        module = outline("key_evaluation", self.lang).make_module(context)
        return markdown(getattr(module, name)(self.result))

    def score_table(self) -> pd.DataFrame:
        """Items by level 1/2/3 with points, score and how each was scored, plus the total."""
        h = texts("key_evaluation.headers", self.lang)
        t = self.result.table.copy()
        for column in ("level1", "level2", "indicator"):
            t[column] = t[column].map(self.label)
        t["rule"] = t["rule"].map(lambda r: value_label("rule", r, self.lang))
        t["note"] = t["note"].map(lambda notes: notes_text(notes, self.lang, self.preset))
        t = t[["level1", "level2", "indicator", "rule", "points", "score", "note"]]
        total = pd.DataFrame([{"level1": h["total"], "level2": "", "indicator": "", "rule": "",
                               "points": t["points"].sum(), "score": self.result.total, "note": self.rating_label()}])
        # the printed items add up to the printed total (rounded as a whole, the last cent to the largest remainders)
        printed = self._printed()
        t["points"], t["score"] = printed["points"].to_numpy(), printed["score"].to_numpy()
        out = pd.concat([t, total], ignore_index=True).round({"points": 2, "score": 2})
        out["score"] = out["score"].astype(object).where(out["score"].notna(), text("common.draft", self.lang))
        return out.rename(columns=h)

    def _by_level2(self) -> pd.DataFrame:
        """Points and score per level-2 dimension; ``pending`` (score NaN) where an item lacks evidence."""
        grouped = self.result.table.groupby(["level1", "level2"], sort=False)
        t = grouped[["points", "score"]].sum()
        t["pending"] = grouped["score"].apply(lambda v: v.isna().any())
        t["score"] = t["score"].where(~t["pending"])
        return t

    def level_table(self) -> pd.DataFrame:
        """Points and score per level-1 and level-2 dimension."""
        h = texts("key_evaluation.headers", self.lang)
        t = self._by_level2()[["points", "score"]].round(2)
        t["lost"] = (t["points"] - t["score"]).round(2)
        t = t.astype(object).where(t.notna(), text("common.draft", self.lang))
        t.index = pd.MultiIndex.from_tuples([(self.label(a), self.label(b)) for a, b in t.index])
        return t.rename(columns=h).rename_axis([h["level1"], h["level2"]])

    def plot_points(self):
        """Points won and lost per level-2 dimension."""
        h = texts("key_evaluation.headers", self.lang)
        r = self.result
        t = self._by_level2()
        t = t[t["points"] > 0]
        labels = [plain(f"{self.label(a)} · {self.label(b)}") for a, b in t.index]
        fig, ax = figure(figsize=(8, 0.4 * len(t) + 1.2))
        scored = t["score"].where(~t["pending"], 0.0)
        ax.barh(labels, scored, color="#55a868", label=h["won"])
        ax.barh(labels, (t["points"] - scored).where(~t["pending"], 0.0), left=scored, color="#c44e52", label=h["lost"])
        if t["pending"].any():   # a level whose evidence is missing is neither won nor lost: it is pending
            ax.barh(labels, t["points"].where(t["pending"], 0.0), color="#bbbbbb", hatch="//",
                    label=text("common.draft", self.lang))
        ax.invert_yaxis()
        ax.set_xlabel(h["points"])
        ax.legend(loc="lower right")
        ax.set_title(plain(text("key_evaluation.chart_title_draft" if r.is_draft else "key_evaluation.chart_title",
                                self.lang, name=r.project["name"], total=r.total, rating=self.rating_label())))
        return fig

    def record(self):
        """The result for the index: total and rating, or a draft."""
        r = self.result.record()
        return record(job=JOB.name, lang=self.lang, score=r["score"], rating=self.rating_label(), status=r["status"])

    def findings_table(self) -> pd.DataFrame:
        """The findings: problem, item, description, the points the table took off for it, recommendation
        (for an item scored by experts, indicators or spending: no separate deduction)."""
        labels = texts("key_evaluation.findings", self.lang)
        rows = self._findings()
        f = self.result.findings[list(labels)].copy()
        f["problem_type"] = [row["problem_type"] for row in rows]
        f["item"] = [row["item"] or "" for row in rows]
        f["deduction"] = [f"{row['charged']:.2f}" if row["rule"] == "deduction"
                          else text("key_evaluation.not_deducted", self.lang) for row in rows]
        f["recommendation"] = f["recommendation"].fillna("")
        return f.rename(columns=labels).reset_index(drop=True)


def key_evaluation(store: Store, project_id: str, preset: PresetLike = "default",
                   lang: str = "zh") -> KeyEvaluationView:
    """Evaluate a stored project and wrap the result for the report."""
    from perfkit.evaluation import evaluate

    return KeyEvaluationView(evaluate(store, project_id, preset), lang=lang)


__all__ = ["JOB", "KeyEvaluationView", "key_evaluation"]
