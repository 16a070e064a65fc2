"""Display labels in Chinese (zh, the default) and English (en) from one catalogue."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("zh", "en")


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Any]:
    """Return the parsed catalogue (``perfkit/catalogue.yaml``)."""
    text = resources.files("perfkit").joinpath("catalogue.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {lang!r}")
    return lang


def column_label(table: str, column: str, lang: str = "zh") -> str:
    """Label of ``table.column`` in ``lang``; the column name itself when unknown."""
    entry = catalogue()["tables"].get(table, {}).get("columns", {}).get(column)
    return entry[_check_lang(lang)] if entry else column


def value_label(kind: str, code: Any, lang: str = "zh") -> str:
    """Label of an enumerated code (``value_label("budget_type", "fund")`` → 政府性基金预算)."""
    entry = catalogue()["values"].get(kind, {}).get(code)
    return entry[_check_lang(lang)] if entry else str(code)


def term(key: str, lang: str = "zh") -> str:
    """Label of a report term (``term("execution_rate")`` → 预算执行率)."""
    return catalogue()["terms"][key][_check_lang(lang)]


def codes(kind: str) -> list[str]:
    """The valid codes of an enumeration, in catalogue order."""
    return list(catalogue()["values"][kind])


@lru_cache(maxsize=None)
def code_lookup(kind: str) -> dict[str, str]:
    """Map every code and every zh/en label of an enumeration to its code.

    Finance offices export the Chinese label (政府性基金预算) where perfkit stores
    the code (``fund``); input accepts either.
    """
    lookup: dict[str, str] = {}
    for code, labels in catalogue()["values"][kind].items():
        lookup[code] = code
        for lang in LANGUAGES:
            lookup[labels[lang]] = code
            lookup[labels[lang].lower()] = code
    return lookup

