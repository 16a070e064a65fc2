"""Rule presets: weights, points, score bands, thresholds and cut rules as data.

A preset is a YAML file in this folder (``default.yaml``) or anywhere on disk;
``extends: NAME`` starts from another preset and overrides any part of it (a key set
to ``null`` removes the inherited one; a parent file is found relative to the child's folder).
Every preset is validated on load (:mod:`perfkit.rules.model`): a tree whose
points do not sum to 100, overlapping or gapped bands, an unknown rule name or
a misspelt key is a :class:`perfkit.DataError` naming the file and the key.
"""
from __future__ import annotations

import copy
import os
import threading
from collections.abc import Mapping
from importlib import resources
from os import PathLike
from pathlib import Path

import yaml
from pydantic import ValidationError

from perfkit.errors import DataError, Problem, reason
from perfkit.rules.model import Preset
from perfkit.text import load_yaml

__all__ = ["Preset", "PresetLike", "builtin_presets", "clear_cache", "load_preset", "validate_preset"]


def _merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:  # `key: null` in a preset that extends another removes the inherited key
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def builtin_presets() -> list[str]:
    """Names of the presets shipped with perfkit."""
    return sorted(p.name[:-5] for p in resources.files("perfkit.rules").iterdir() if p.name.endswith(".yaml"))


def _stamp(file) -> tuple | None:
    """What says a preset file changed: its size and modification time (None when it cannot be stat'ed)."""
    try:
        found = os.stat(file)
    except (OSError, TypeError):      # a resource inside a zip: it does not change while perfkit runs
        return None
    return found.st_size, found.st_mtime_ns


def _read(name_or_path: str, extended_by: str | None = None, read: list | None = None) -> tuple[dict, str]:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise DataError(Problem(str(path), reason("extended_preset_not_found", by=extended_by) if extended_by
                                    else reason("preset_not_found")))
        stamp = _stamp(path)
        text, source = path.read_text(encoding="utf-8"), path.name
    else:
        builtin = resources.files("perfkit.rules").joinpath(f"{name_or_path}.yaml")
        if not builtin.is_file():
            raise DataError(Problem(str(name_or_path), reason("no_such_preset", presets=", ".join(builtin_presets()))))
        path, stamp = builtin, _stamp(builtin)
        text, source = builtin.read_text(encoding="utf-8"), f"{name_or_path}.yaml"
    if read is not None:
        read.append((path, stamp))
    try:
        raw = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise DataError(Problem(source, reason("not_yaml", error=exc))) from exc
    if not isinstance(raw, dict):
        raise DataError(Problem(source, reason("preset_not_mapping")))
    return raw, source


def _resolve(name_or_path: str, seen: tuple[str, ...] = (), read: list | None = None) -> tuple[dict, str]:
    if name_or_path in seen:
        raise DataError(Problem(name_or_path, reason("extends_itself", chain=" → ".join(seen))))
    raw, source = _read(name_or_path, extended_by=seen[-1] if seen else None, read=read)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw, source
    parent = str(parent)
    if Path(parent).suffix in (".yaml", ".yml") and not Path(parent).is_absolute() and \
            Path(name_or_path).suffix in (".yaml", ".yml"):
        # a preset file names its parent file relative to its own folder, as a person writing it expects
        parent = str(Path(name_or_path).parent / parent)
    base, _ = _resolve(parent, (*seen, name_or_path), read)
    return _merge(base, raw), source


#: Presets loaded so far, by name or path: the preset and the files it was read from (with their stamps).
_LOADED: dict[str, tuple[Preset, tuple]] = {}
_LOADED_LOCK = threading.Lock()


def _load_cached(name_or_path: str) -> Preset:
    # a preset file edited since (or one it extends) is read anew: a warm kernel keeps its presets across
    # reports (validating the default preset cost 15 ms of every report) and still sees every change
    with _LOADED_LOCK:
        loaded = _LOADED.get(name_or_path)
    if loaded is not None and all(_stamp(path) == stamp for path, stamp in loaded[1]):
        return loaded[0]
    read: list = []
    raw, source = _resolve(name_or_path, read=read)
    preset = validate_preset(raw, source)
    with _LOADED_LOCK:
        if len(_LOADED) >= 32:
            _LOADED.clear()
        _LOADED[name_or_path] = (preset, tuple(read))
    return preset


def validate_preset(raw: Mapping, source: str = "<preset>") -> Preset:
    """Validate a preset mapping into a :class:`Preset`.

    Raises
    ------
    perfkit.DataError
        One problem per invalid key, named by its path (``evaluation_tree.决策...``).
    """
    try:
        preset = Preset.model_validate(dict(raw))
    except ValidationError as exc:
        problems = [Problem(source, error["msg"].removeprefix("Value error, "),
                            column=".".join(str(part) for part in error["loc"]) or None)
                    for error in exc.errors()]
        raise DataError(problems) from None
    preset._source = source
    return preset


PresetLike = str | PathLike | Mapping | Preset


def load_preset(preset: PresetLike = "default") -> Preset:
    """Load and validate a preset by built-in name, file path or mapping (a Preset passes through).

    A loaded preset is immutable and cached: load it once and pass the object around.

    Raises
    ------
    perfkit.DataError
        When the preset is unknown or malformed.
    """
    if isinstance(preset, Preset):
        return preset
    if isinstance(preset, Mapping):
        return validate_preset(preset)
    return _load_cached(str(preset))


def clear_cache() -> None:
    """Forget the presets loaded so far (a preset file edited since is read anew)."""
    with _LOADED_LOCK:
        _LOADED.clear()
