"""Rule presets: weights, points, score bands, thresholds and cut rules as data.

A preset is a YAML file in this folder (``default.yaml``) or anywhere on disk;
``extends: NAME`` starts from another preset and overrides any part of it.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from perfkit.errors import DataError, Problem


def _merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read(name_or_path: str | PathLike) -> tuple[dict, str]:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}, path.name
    builtin = resources.files("perfkit.rules").joinpath(f"{name_or_path}.yaml")
    if not builtin.is_file():
        known = sorted(p.name[:-5] for p in resources.files("perfkit.rules").iterdir()
                       if p.name.endswith(".yaml"))
        raise DataError(Problem(str(name_or_path), f"no such preset (built-in presets: {', '.join(known)}; "
                                                   f"or give the path of a .yaml file)"))
    return yaml.safe_load(builtin.read_text(encoding="utf-8")) or {}, f"{name_or_path}.yaml"


@lru_cache(maxsize=32)
def _load_cached(name_or_path: str) -> dict:
    raw, source = _read(name_or_path)
    if not isinstance(raw, dict):
        raise DataError(Problem(source, "a preset must be a mapping of sections"))
    parent = raw.pop("extends", None)
    preset = _merge(_load_cached(str(parent)), raw) if parent else raw
    preset["_source"] = source
    return preset


def load_preset(preset: str | PathLike | dict = "default") -> dict[str, Any]:
    """Load a preset by built-in name, file path, or pass a loaded preset through.

    Raises
    ------
    perfkit.DataError
        When the preset is unknown or malformed.
    """
    if isinstance(preset, dict):
        return preset
    return copy.deepcopy(_load_cached(str(preset)))


def evaluation_items(preset: str | PathLike | dict = "default") -> list[dict[str, Any]]:
    """The level-3 items of the evaluation tree, each with its level1, level2 and rule."""
    tree = load_preset(preset)["evaluation_tree"]
    return [dict(level1=l1, level2=l2, item=item, **spec)
            for l1, level2s in tree.items()
            for l2, items in level2s.items()
            for item, spec in items.items()]
