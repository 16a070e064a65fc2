"""The problem-case compilation (问题案例汇编): every finding classified into the preset's taxonomy,
counted by unit, field and year, its recurrence, and its link to budget arrangements.

A finding keeps the kind its recorded ``problem_type`` maps to (``cases.taxonomy`` of the preset).
A finding with no recorded type, or a type the taxonomy does not know, gets a *suggestion* from a
text classifier trained on the classified findings (character n-grams of the description and the
evaluation item, TF-IDF, logistic regression: Chinese needs no word segmentation this way); the
suggestion carries its probability and is marked as a suggestion, below
``cases.suggest_min_probability`` as uncertain.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from math import nan

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted
from statsmodels.stats.proportion import proportion_confint

from perfkit.errors import DataError, Problem, reason
from perfkit.results import Result, make_record, years_subject
from perfkit.rules import PresetLike, load_preset

log = logging.getLogger("perfkit")

__all__ = ["CaseClassifier", "CaseCompilation", "classify_findings", "compile_cases", "holdout_accuracy",
           "taxonomy"]


def taxonomy(preset: PresetLike = "default") -> pd.DataFrame:
    """The preset's kinds of problem: code, name, the recorded types each gathers, its budget link."""
    kinds = load_preset(preset).cases.taxonomy
    return pd.DataFrame([{"code": code, "name": kind.name, "recorded": list(kind.recorded),
                          "budget_link": kind.budget_link} for code, kind in kinds.items()]).set_index("code")


def _texts(findings: pd.DataFrame) -> pd.Series:
    return (findings["description"].fillna("").astype(str) + " " + findings["item"].fillna("").astype(str)).str.strip()


class CaseClassifier(ClassifierMixin, BaseEstimator):
    """Suggests a finding's kind from its text: character 1–3-grams, TF-IDF, logistic regression.

    Parameters
    ----------
    ngram_range : tuple, default (1, 3)
    C : float, default 10.0
        Inverse regularisation of the logistic regression.
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), C: float = 10.0):
        self.ngram_range = ngram_range
        self.C = C

    def fit(self, texts, codes) -> "CaseClassifier":
        texts, codes = list(texts), np.asarray(list(codes), dtype=object)
        if len(set(codes)) < 2:
            raise DataError(Problem("findings", reason("classifier_needs_kinds")))
        self.pipeline_ = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=self.ngram_range, sublinear_tf=True),
                                       LogisticRegression(C=self.C, max_iter=2000))
        self.pipeline_.fit(texts, codes)
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, texts) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict_proba(list(texts))

    def predict(self, texts) -> np.ndarray:
        return self.classes_[self.predict_proba(texts).argmax(axis=1)]


def _recorded_codes(findings: pd.DataFrame, preset) -> pd.Series:
    lookup = {recorded: code for code, kind in load_preset(preset).cases.taxonomy.items() for recorded in kind.recorded}
    return findings["problem_type"].map(lambda t: lookup.get(t) if isinstance(t, str) else None)


def classify_findings(findings: pd.DataFrame, preset: PresetLike = "default") -> pd.DataFrame:
    """``findings`` with ``case_code``, ``case_name``, ``case_source`` (recorded, suggested) and
    ``probability`` (1 for a recorded kind) and ``uncertain`` (a suggestion below the preset's threshold)."""
    rules = load_preset(preset).cases
    out = findings.copy()
    codes = _recorded_codes(out, preset)
    out["case_code"], out["case_source"], out["probability"] = codes, np.where(codes.notna(), "recorded", None), \
        np.where(codes.notna(), 1.0, np.nan)
    unknown = codes.isna()
    if unknown.any():
        known = ~unknown
        if known.sum() < 2 or codes[known].nunique() < 2:
            log.warning("%d findings have no kind, and too few are classified to suggest one", int(unknown.sum()))
        else:
            model = CaseClassifier().fit(_texts(out[known]), codes[known])
            probabilities = model.predict_proba(_texts(out[unknown]))
            out.loc[unknown, "case_code"] = model.classes_[probabilities.argmax(axis=1)]
            out.loc[unknown, "probability"] = probabilities.max(axis=1)
            out.loc[unknown, "case_source"] = "suggested"
    out["uncertain"] = out["case_source"].eq("suggested") & (out["probability"] < rules.suggest_min_probability)
    names = {code: kind.name for code, kind in rules.taxonomy.items()}
    out["case_name"] = out["case_code"].map(names)      # the preset's name; views show it via preset.label
    return out


def holdout_accuracy(findings: pd.DataFrame, preset: PresetLike = "default", test_size: float = 0.3,
                     seed: int = 0) -> dict[str, float]:
    """The classifier's accuracy on a held-out share of the classified findings, beside the majority class's.

    The split is by text: findings worded identically are all in the training half or all in the test half.

    Returns
    -------
    dict
        ``accuracy`` with its 95% Wilson interval (``low``, ``high``), ``majority`` (accuracy of always
        answering the commonest kind), ``train``, ``test`` (the numbers of findings in each half).
    """
    codes = _recorded_codes(findings, preset)
    known = findings[codes.notna()]
    codes = codes[codes.notna()]
    texts = _texts(known)
    # split by text: a sentence written twice is never in both halves (that would measure memory, not skill)
    split = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(split.split(texts, codes, groups=texts))
    train_x, test_x, train_y, test_y = texts.iloc[train], texts.iloc[test], codes.iloc[train], codes.iloc[test]
    model = CaseClassifier().fit(train_x, train_y)
    majority = train_y.value_counts().idxmax()
    right = int((model.predict(test_x) == test_y.to_numpy()).sum())
    # the accuracy of a few dozen held-out findings is uncertain: its Wilson interval says how much
    low, high = proportion_confint(right, len(test_x), alpha=0.05, method="wilson") if len(test_x) else (nan, nan)
    return {"accuracy": right / len(test_x) if len(test_x) else nan, "low": float(low), "high": float(high),
            "majority": float((test_y == majority).mean()), "train": len(train_x), "test": len(test_x)}


@dataclass
class CaseCompilation(Result):
    """The compiled cases of some years: classified findings (``table``) and their tallies.

    Attributes
    ----------
    findings : DataFrame
        Every finding with its project, unit, field, year, kind (recorded or suggested).
    by_kind, by_unit, by_field, by_year : DataFrame
        Counts (findings, projects, units), the amounts involved (万元 in views; yuan here) and deductions.
    recurrence : DataFrame
        Units in which a kind recurs: found in at least ``recurrence_years`` different years, or at least
        ``recurrence_findings`` times (unit_id, case_code, findings, years, in_years, unit_name, case_name).
    budget_links : DataFrame
        Per kind: the budget cut by results application of its projects, the budgets of projects
        terminated in monitoring, and the unspent funds of its projects (to be recovered).
    """

    findings: pd.DataFrame
    by_kind: pd.DataFrame
    by_unit: pd.DataFrame
    by_field: pd.DataFrame
    by_year: pd.DataFrame
    recurrence: pd.DataFrame
    budget_links: pd.DataFrame
    years: list[int]
    preset: object = None
    kind = "问题案例汇编"

    @property
    def table(self) -> pd.DataFrame:
        """Every finding with its project, unit, field, year and kind (recorded or suggested)."""
        return self.findings

    @property
    def is_draft(self) -> bool:
        """Never: a finding without a recorded kind gets a suggested one, shown as such."""
        return False

    def record(self) -> dict:
        """The index row: the years compiled; no score or rating."""
        return make_record(years_subject(self.years), None, None, False)

    @property
    def suggested(self) -> pd.DataFrame:
        """Findings whose kind is a suggestion, least certain first."""
        return self.findings[self.findings["case_source"].eq("suggested")].sort_values("probability")

    def summary(self) -> pd.DataFrame:
        """The kinds with their counts, amounts and budget links, commonest first."""
        return self.by_kind.join(self.budget_links, how="left").sort_values("findings", ascending=False)


def _tally(frame: pd.DataFrame, by) -> pd.DataFrame:
    return frame.groupby(by, dropna=False).agg(findings=("finding_id", "count"), projects=("project_id", "nunique"),
                                               units=("unit_id", "nunique"), amount=("amount", "sum"),
                                               deduction=("deduction", "sum"))


def compile_cases(store, years=None, preset: PresetLike = "default") -> CaseCompilation:
    """Compile the problem cases of ``years`` (default: every year with findings) from the store."""
    from perfkit import queries
    from perfkit.evaluation import apply_results, evaluate_many
    from perfkit.monitoring import monitor

    rules = load_preset(preset)
    findings = queries.findings_with_projects(store, years)
    if findings.empty:
        raise DataError(Problem("findings", reason("no_findings", years=years) if years else reason("no_findings_any")))
    years = sorted(int(y) for y in findings["year"].unique())
    classified = classify_findings(findings, preset)
    names = {code: kind.name for code, kind in rules.cases.taxonomy.items()}
    by_kind = _tally(classified, "case_code").reindex(list(names)).fillna(0)
    by_kind.insert(0, "name", [names[c] for c in by_kind.index])
    by_kind["suggested"] = classified[classified["case_source"].eq("suggested")].groupby("case_code").size() \
        .reindex(by_kind.index).fillna(0).astype(int)
    # a kind recurs in a unit found in several years, or found more than once within one year
    recurring = classified.groupby(["unit_id", "case_code"]).agg(
        findings=("finding_id", "size"), years=("year", "nunique"),
        in_years=("year", lambda y: "、".join(map(str, sorted(set(y)))))).reset_index()
    recurrence = recurring[(recurring["years"] >= rules.cases.recurrence_years)
                           | (recurring["findings"] >= rules.cases.recurrence_findings)].copy()
    recurrence["unit_name"] = recurrence["unit_id"].map(dict(zip(classified["unit_id"], classified["unit_name"])))
    recurrence["case_name"] = recurrence["case_code"].map(names)
    recurrence = recurrence.sort_values(["years", "findings", "unit_id"], ascending=[False, False, True],
                                        kind="stable").reset_index(drop=True)

    # the budget links, per kind: results application cuts, monitoring terminations, unspent funds
    projects = classified.drop_duplicates(["project_id", "case_code"])[["project_id", "case_code", "year", "budget",
                                                                         "spent"]]
    evaluated = classified.loc[classified["stage"].eq("key_evaluation"), "project_id"].unique()
    ratings = []
    for project_id, result in evaluate_many(store, evaluated, preset).items():
        ratings.append({"project_id": project_id, "rating": result.rating,
                        "budget": float(result.budget) if not np.isnan(result.budget) else 0.0})
    cuts = pd.Series(dtype=float)
    if ratings:
        applied = apply_results(pd.DataFrame(ratings), preset)
        cuts = (applied["budget"] - applied["recommended_budget"]).set_axis(applied["project_id"])
    as_of_month = rules.monitoring.key_project_month
    terminated: set[str] = set()
    for year in years:
        try:
            lights = monitor(store, pd.Timestamp(year, as_of_month, 1) + pd.offsets.MonthEnd(0), preset).table
        except ValueError as exc:       # the first year of data has no earlier spending path to judge by
            log.info("no monitoring for %s: %s", year, exc)
            continue
        terminated |= set(lights.loc[lights["action"].eq("terminate"), "project_id"])
    closed = set(queries.closed_years(store))       # unspent funds are known once a year has closed
    projects = projects.assign(cut=projects["project_id"].map(cuts).fillna(0.0),
                               terminated=projects["budget"].where(projects["project_id"].isin(terminated), 0.0),
                               unspent=(projects["budget"] - projects["spent"]).clip(lower=0)
                               .where(projects["year"].isin(closed)).fillna(0.0))
    budget_links = projects.groupby("case_code")[["cut", "terminated", "unspent"]].sum().reindex(list(names)).fillna(0)
    return CaseCompilation(findings=classified, by_kind=by_kind,
                           by_unit=_tally(classified, ["unit_id", "unit_name"]).sort_values("findings", ascending=False),
                           by_field=_tally(classified, "field").sort_values("findings", ascending=False),
                           by_year=_tally(classified, "year"), recurrence=recurrence,
                           budget_links=budget_links, years=years, preset=rules)
