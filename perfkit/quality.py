"""Data-quality rules: figures that cannot all be true, found before a report judges on them.

The rules are the preset's (``data_quality``); each raises a 待核实 note (a :class:`perfkit.text.Message`)
that the reports show beside their judgement, never silence:

* targets met without spending: the quantitative targets reached while (almost) nothing was spent;
* execution far below the year's progress: spending below a share of the time elapsed;
* fractional counts of whole things: 225.49 家 (a target or actual in a unit of whole things that is not whole).

A request's targets inconsistent with its own amount are the ex-ante assessment's rule
(``exante.target_checks.amount_tolerance``), scored there.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from perfkit.rules import PresetLike, load_preset
from perfkit.text import Message, note


def project_quality(budget: float, spent: float | None, progress: float, targets: pd.DataFrame,
                    preset: PresetLike = "default") -> tuple[Message, ...]:
    """The 待核实 notes of one project's figures.

    Parameters
    ----------
    budget, spent : float
        The budget in force and the spending to date (None: no execution records, a note of its own).
    progress : float
        The share of the project's period elapsed at the date of the figures (1.0 at year-end).
    targets : DataFrame
        Its performance targets: name, measure_unit, polarity, value_type, target_value, actual_value.
    preset : str, path, mapping or Preset
        Its ``data_quality`` rules.
    """
    from perfkit.evaluation.scoring import completion    # (the evaluation engine imports this module)

    rules = load_preset(preset).data_quality
    notes: list[Message] = []
    rate = spent / budget if spent is not None and budget and budget > 0 else None
    quantitative = targets[(targets["value_type"] == "quantitative") & targets["actual_value"].notna()
                           & targets["target_value"].notna()] if len(targets) else targets
    reached = float(np.nanmean(np.clip(completion(quantitative["polarity"], quantitative["target_value"],
                                                  quantitative["actual_value"]), 0, 1))) \
        if len(quantitative) else float("nan")
    if rate is not None and rate <= rules.idle_execution and reached >= rules.idle_completion:
        notes.append(note("dq_targets_without_spending", rate=rate, completion=reached))
    elif rate is not None and progress > 0 and rate < rules.slow_share * progress:
        notes.append(note("dq_slow_execution", rate=rate, progress=progress))
    if len(targets):
        whole = targets[targets["measure_unit"].isin(rules.whole_units)]
        fractional = []
        for row in whole.itertuples():
            for value in (row.target_value, row.actual_value):
                if value is not None and not pd.isna(value) and float(value) != round(float(value)):
                    fractional.append(f"{row.name} {float(value):,.2f} {row.measure_unit}")
        if fractional:
            notes.append(note("dq_fractional", names=fractional))
    return tuple(notes)


__all__ = ["project_quality"]
