"""Rule presets: weights, points, score bands, thresholds and cut rules as data.

A preset is a YAML file in this folder (``default.yaml``) or anywhere on disk;
``extends: NAME`` starts from another preset and overrides any part of it.
Every preset is validated on load (:mod:`perfkit.rules.model`): a tree whose
points do not sum to 100, overlapping or gapped bands, an unknown rule name or
a misspelt key is a :class:`perfkit.DataError` naming the file and the key.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from perfkit.errors import DataError, Problem
from perfkit.rules.model import Preset


def _merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def builtin_presets() -> list[str]:
    """Names of the presets shipped with perfkit."""
    return sorted(p.name[:-5] for p in resources.files("perfkit.rules").iterdir() if p.name.endswith(".yaml"))


def _read(name_or_path: str) -> tuple[dict, str]:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise DataError(Problem(str(path), "preset file not found"))
        text, source = path.read_text(encoding="utf-8"), path.name
    else:
        builtin = resources.files("perfkit.rules").joinpath(f"{name_or_path}.yaml")
        if not builtin.is_file():
            raise DataError(Problem(str(name_or_path), f"no such preset (built-in presets: "
                                                       f"{', '.join(builtin_presets())}; or give a .yaml path)"))
        text, source = builtin.read_text(encoding="utf-8"), f"{name_or_path}.yaml"
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise DataError(Problem(source, f"is not valid YAML: {exc}")) from exc
    if not isinstance(raw, dict):
        raise DataError(Problem(source, "a preset must be a mapping of sections"))
    return raw, source


def _resolve(name_or_path: str, seen: tuple[str, ...] = ()) -> tuple[dict, str]:
    if name_or_path in seen:
        raise DataError(Problem(name_or_path, f"extends itself through {' → '.join(seen)}"))
    raw, source = _read(name_or_path)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw, source
    base, _ = _resolve(str(parent), (*seen, name_or_path))
    return _merge(base, raw), source


@lru_cache(maxsize=32)
def _load_cached(name_or_path: str) -> dict:
    raw, source = _resolve(name_or_path)
    return validate_preset(raw, source)


def validate_preset(raw: dict, source: str = "<preset>") -> dict[str, Any]:
    """Validate a preset mapping; return it normalised (a plain dict).

    Raises
    ------
    perfkit.DataError
        One problem per invalid key, named by its path (``evaluation_tree.决策...``).
    """
    try:
        preset = Preset.model_validate(raw)
    except ValidationError as exc:
        problems = [Problem(source, error["msg"].removeprefix("Value error, "),
                            column=".".join(str(part) for part in error["loc"]) or None)
                    for error in exc.errors()]
        raise DataError(problems) from None
    out = preset.model_dump()
    out["_source"] = source
    return out


def load_preset(preset: str | PathLike | dict = "default") -> dict[str, Any]:
    """Load and validate a preset by built-in name or file path (a loaded preset passes through).

    Raises
    ------
    perfkit.DataError
        When the preset is unknown or malformed.
    """
    if isinstance(preset, dict):
        return preset if "_source" in preset else validate_preset(preset)
    return copy.deepcopy(_load_cached(str(preset)))


def evaluation_items(preset: str | PathLike | dict = "default") -> list[dict[str, Any]]:
    """The level-3 items of the evaluation tree, each with its level1, level2 and rule."""
    tree = load_preset(preset)["evaluation_tree"]
    return [dict(level1=l1, level2=l2, item=item, **spec)
            for l1, level2s in tree.items()
            for l2, items in level2s.items()
            for item, spec in items.items()]
