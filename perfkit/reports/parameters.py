"""A report notebook's parameters and its words in the report's language.

The notebooks are written in Chinese (the default language): the introduction (a cell tagged
``remove-cell``) and the parameters' comments. Their English wording travels in the same cells'
metadata (``perfkit.en``); :func:`localise` swaps it in for a report in English, so that an English
report's executed notebook reads in English in JupyterLab too.

The parameters are annotated as Python writes them today (``store: str | None = None``): papermill's
Python translator reads only ``Optional[str]``-style annotations, so :class:`ParameterTranslator` (its
extension point, registered for Python kernels) reads PEP 604 unions too. Plain papermill runs the
notebooks all the same (injecting parameters needs no reading of them).
"""
from __future__ import annotations

import re
from copy import deepcopy
from pathlib import Path
from typing import Any

from papermill.translators import PythonTranslator, papermill_translators

#: Where a cell keeps its English words.
TRANSLATION_KEY = "perfkit"


class ParameterTranslator(PythonTranslator):
    """papermill's Python translator, reading ``str | None`` annotations as well as ``Optional[str]``."""

    PARAMETER_PATTERN = re.compile(PythonTranslator.PARAMETER_PATTERN.pattern.replace(
        r"(?P<annotation>\w[\w_\[\],\s]*)", r"(?P<annotation>\w[\w_\[\],\s|]*)"))


papermill_translators.register("python", ParameterTranslator)


def localise(notebook, lang: str):
    """A copy of ``notebook`` whose introduction and parameter comments are in ``lang`` (the cells' own
    source is Chinese; another language comes from their ``perfkit.<lang>`` metadata when they have it)."""
    notebook = deepcopy(notebook)
    notebook.cells = [localise_cell(cell, lang) for cell in notebook.cells]
    return notebook


def read_parameters(notebook_path: str | Path) -> dict[str, dict[str, Any]]:
    """The notebook's parameters: name → {default, inferred_type_name, help (zh), help_en}."""
    import nbformat

    notebook = nbformat.read(str(notebook_path), as_version=4)
    cell = next((c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        return {}
    english = {p.name: p.help for p in ParameterTranslator.inspect(localise_cell(cell, "en"))}
    return {p.name: {"default": p.default, "inferred_type_name": p.inferred_type_name, "help": p.help,
                     "help_en": english.get(p.name, "")}
            for p in ParameterTranslator.inspect(cell)}


def localise_cell(cell, lang: str):
    """One cell in ``lang`` (itself when it has no words for it)."""
    words = cell.get("metadata", {}).get(TRANSLATION_KEY, {}).get(lang)
    if words is None:
        return cell
    cell = deepcopy(cell)
    cell.source = words
    return cell


__all__ = ["ParameterTranslator", "localise", "read_parameters"]
