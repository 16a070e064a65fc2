"""The contract every engine's result keeps, and the one vocabulary of evidence.

A key evaluation, a self-evaluation, an ex-ante assessment, a monitoring, the quota standards, a
comparison, a portrait and a case compilation each return a :class:`Result`:

``table``
    the result's rows (a DataFrame: items, projects, units...), in codes and yuan;
``summary()``
    the figures a reader wants first (a DataFrame);
``is_draft`` and ``missing``
    whether evidence is missing and the preset makes that a draft (待补充: no score, no rating,
    no budget consequence), and what is missing: one row per missing piece with :data:`MISSING_COLUMNS`
    (whose it is, which item, what evidence, who supplies it);
``record()``
    the row of the reports' index: subject, score, rating (a code), status (``draft`` or ``final``);
``_repr_html_``
    what JupyterLab shows: the summary, the table and what is missing, every value from data escaped;
``to_excel(path, lang=)``
    where the result has a workbook (standards, monitoring).

What missing evidence does is decided in one place, :func:`makes_draft`, from the preset's ``evidence``
section.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from perfkit._lazy import lazy_module

if TYPE_CHECKING:
    from perfkit.rules import Preset

pd = lazy_module("pandas")   # the vocabulary is read by job modules, which are declared without pandas

#: Evidence states of an item: scored from data, not applicable (its points redistributed), or missing.
STATES = ("scored", "not_applicable", "missing")
#: Status of a result in the reports' index.
DRAFT, FINAL = "draft", "final"
#: Columns of every result's ``missing``: the subject whose evidence is missing (a project, a request, a
#: unit-year), the item that lacks it, the kind of evidence, and who supplies it.
MISSING_COLUMNS = ("subject", "item", "evidence", "supplier")
#: Kinds of evidence and who supplies each (the catalogue words both under ``evaluation.evidence`` and
#: ``evaluation.supplier``).
SUPPLIERS = {"expert_scores": "panel", "review": "panel", "execution": "unit", "actuals": "unit",
             "indicator_values": "unit", "quantity": "unit", "standard": "bureau", "data": "unit",
             # the new fields' ledgers: the implementing unit keeps them
             "bond_projects": "unit", "bond_schedule": "unit", "guidance_funds": "unit",
             "fund_contributions": "unit", "fund_investments": "unit", "service_contracts": "unit",
             "ppp_payments": "unit",
             # the department level: the department keeps its accounts, tasks and targets; the bureau's
             # review group scores its expert items
             "unit_accounts": "department", "basic_execution": "department", "department_tasks": "department",
             "task_projects": "department", "department_indicators": "department", "department_scores": "panel"}
#: Keys of :meth:`Result.record`.
RECORD_KEYS = ("subject", "score", "rating", "status")


def makes_draft(preset: "Preset", rule: str) -> bool:
    """Whether missing evidence of ``rule`` makes the result a draft (the preset's ``evidence.missing``:
    ``draft``, the default, or ``zero``, where the item scores 0 and is flagged)."""
    return preset.evidence.missing.get(rule, DRAFT) == DRAFT


def missing_frame(rows: list[dict] | None = None) -> pd.DataFrame:
    """A ``missing`` table: rows of subject, item and evidence; the supplier follows from the evidence."""
    frame = pd.DataFrame(rows or [], columns=["subject", "item", "evidence"])
    frame["supplier"] = frame["evidence"].map(SUPPLIERS)
    return frame[list(MISSING_COLUMNS)].reset_index(drop=True)


def make_record(subject: str, score: float | None, rating: str | None, draft: bool) -> dict:
    """The index row: NaN scores become None, a draft has no rating."""
    if score is not None and pd.isna(score):
        score = None
    return {"subject": str(subject), "score": None if draft or score is None else float(score),
            "rating": None if draft else rating, "status": DRAFT if draft else FINAL}


def years_subject(years) -> str:
    """A range of years as a result's subject: ``2025`` or ``2023-2025``."""
    years = sorted({int(y) for y in years})
    return "" if not years else str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


def _plain(value: Any) -> Any:
    """A cell as a reader sees it: notes rendered in Chinese, sequences joined."""
    from perfkit.text import Message, render

    if isinstance(value, Message):
        return render(value)
    if isinstance(value, (tuple, list)):
        return render(value) if all(isinstance(v, Message) for v in value) and value else "、".join(map(str, value))
    return value


def frame_html(frame: pd.DataFrame, rows: int = 20) -> str:
    """A frame as escaped HTML (data never becomes markup), its first ``rows`` rows."""
    shown = frame.head(rows)
    shown = shown.apply(lambda column: column.map(_plain)) if len(shown.columns) else shown
    more = (f"<p>… {len(frame) - rows:,} more rows</p>" if len(frame) > rows else "")
    return shown.to_html(escape=True, float_format=lambda v: f"{v:,.4g}", na_rep="—") + more


class Result:
    """The contract of an engine's result (see the module's docstring); subclasses give ``table``,
    ``summary()``, ``is_draft``, ``missing`` and ``record()``."""

    #: What the result is, shown above its table in JupyterLab.
    kind: str = "result"
    # ``table`` is a field of most results (a dataclass field cannot override a property), so the base
    # declares it only as an annotation
    table: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        raise NotImplementedError(f"{type(self).__name__} gives no summary()")

    @property
    def is_draft(self) -> bool:
        """True when evidence is missing and the preset makes that a draft."""
        return not self.missing.empty

    @property
    def missing(self) -> pd.DataFrame:
        """What evidence is missing (:data:`MISSING_COLUMNS`); none by default."""
        return missing_frame()

    def record(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} gives no record()")

    def _repr_html_(self) -> str:
        record = self.record()
        status = "草稿（待补充）" if self.is_draft else "定稿"
        parts = [f"<h4>{html.escape(self.kind)} · {html.escape(str(record['subject']))} · {status}</h4>",
                 frame_html(self.summary())]
        if self.is_draft:
            parts += ["<h5>待补充</h5>", frame_html(self.missing)]
        parts += [f"<h5>{len(self.table):,} rows</h5>", frame_html(self.table)]
        return "\n".join(parts)


__all__ = ["DRAFT", "FINAL", "MISSING_COLUMNS", "RECORD_KEYS", "Result", "STATES", "SUPPLIERS", "frame_html",
           "make_record", "makes_draft", "missing_frame", "years_subject"]
