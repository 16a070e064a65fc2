"""Every display text in Chinese (zh, the default) and English (en), from one catalogue.

``perfkit/catalogue.yaml`` holds table and column labels (``tables``), the labels
of enumerated codes (``values``), report terms (``terms``) and every sentence a
report, workbook or note shows (``text``, keyed by dotted paths such as
``notes.no_expert_scores``). Engines never write display text: they return codes
and values, and notes as :class:`Message` objects that the view layer renders in
the report's language with :func:`render`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar

import yaml

LANGUAGES = ("zh", "en")
#: How rendered notes are joined, per language.
SEPARATORS = {"zh": "；", "en": "; "}


def load_yaml(source: str) -> Any:
    """Parse YAML as :func:`yaml.safe_load` does, with libyaml's loader when PyYAML was built with it.

    The pure-Python loader takes 0.15 s over the catalogue, which every process that prints a label reads
    (each report kernel, each command); libyaml's takes 0.02 s and builds the same objects.
    """
    return yaml.load(source, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Any]:
    """Return the parsed catalogue (``perfkit/catalogue.yaml``)."""
    return load_yaml(resources.files("perfkit").joinpath("catalogue.yaml").read_text(encoding="utf-8"))


def check_lang(lang: str) -> str:
    """Return ``lang`` when perfkit speaks it; raise ValueError otherwise."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {lang!r}")
    return lang


def column_label(table: str, column: str, lang: str = "zh") -> str:
    """Label of ``table.column`` in ``lang``; the column name itself when unknown."""
    entry = catalogue()["tables"].get(table, {}).get("columns", {}).get(column)
    return entry[check_lang(lang)] if entry else column


def value_label(kind: str, code: Any, lang: str = "zh") -> str:
    """Label of an enumerated code (``value_label("budget_type", "fund")`` → 政府性基金预算)."""
    entry = catalogue()["values"].get(kind, {}).get(code)
    return entry[check_lang(lang)] if entry else str(code)


def term(key: str, lang: str = "zh") -> str:
    """Label of a report term (``term("execution_rate")`` → 预算执行率)."""
    return catalogue()["terms"][key][check_lang(lang)]


def text(key: str, lang: str = "zh", **params: Any) -> str:
    """The sentence ``key`` (a dotted path under ``text:``) in ``lang``, formatted with ``params``.

    Raises
    ------
    KeyError
        When the catalogue has no such text: a missing translation is a bug, not a blank.
    """
    entry: Any = catalogue()["text"]
    for part in key.split("."):
        if not isinstance(entry, Mapping) or part not in entry:
            raise KeyError(f"no text {key!r} in the catalogue")
        entry = entry[part]
    template = entry[check_lang(lang)]
    return template.format(**params) if params else template


def texts(key: str, lang: str = "zh") -> dict[str, str]:
    """Every text under the section ``key`` in ``lang`` (e.g. the column headers of one table)."""
    entry: Any = catalogue()["text"]
    for part in key.split("."):
        entry = entry[part]
    return {name: value[check_lang(lang)] for name, value in entry.items()}


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


class Name(str):
    """A name from the rule preset inside a message (a block, an item, a rating): rendered
    through the preset's ``labels``, so an English report shows ``Output`` for 产出."""

    __slots__ = ()


@dataclass(frozen=True)
class Coded:
    """A catalogue code inside a message (a project category; ``column:<table>``: a column of a table):
    rendered as its label under ``values.<kind>`` (or the table's column label) in the message's language."""

    kind: str
    code: str

    def label(self, lang: str = "zh") -> str:
        if self.kind.startswith("column:"):
            return column_label(self.kind.removeprefix("column:"), self.code, lang)
        return value_label(self.kind, self.code, lang)

    def __str__(self) -> str:
        return self.label("zh")


@dataclass(frozen=True)
class Message:
    """A note an engine returns: a catalogue key under ``notes`` and the values it shows.

    ``str(message)`` is the Chinese text; :meth:`render` gives any language.
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    #: The catalogue section of the codes (``text.notes``).
    section: ClassVar[str] = "notes"

    def render(self, lang: str = "zh", preset=None) -> str:
        values = {}
        for key, value in self.params.items():
            if isinstance(value, Message):          # a reason inside a note speaks the note's language
                value = value.render(lang, preset)
            elif isinstance(value, Name) and preset is not None:
                value = preset.label(str(value), lang)
            elif isinstance(value, Coded):
                value = value.label(lang)
            elif isinstance(value, (list, tuple)):
                value = ("、" if lang == "zh" else ", ").join(
                    preset.label(str(v), lang) if isinstance(v, Name) and preset is not None
                    else v.label(lang) if isinstance(v, Coded) else str(v) for v in value)
            values[key] = value
        return text(f"{self.section}.{self.code}", lang, **values)

    def __str__(self) -> str:
        return self.render("zh")

    def __repr__(self) -> str:
        return f"Message({self.code!r}: {self.render('zh')})"


def note(code: str, **params: Any) -> Message:
    """Shorthand for ``Message(code, params)``."""
    return Message(code, params)


def render(messages: Message | Iterable[Message] | None, lang: str = "zh", preset=None,
           separator: str | None = None) -> str:
    """Render one message or several, joined by the language's separator ("" for none)."""
    if messages is None:
        return ""
    if isinstance(messages, Message):
        return messages.render(lang, preset)
    parts = [m.render(lang, preset) for m in messages]
    return (SEPARATORS[check_lang(lang)] if separator is None else separator).join(parts)
