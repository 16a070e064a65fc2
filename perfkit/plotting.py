"""Charts that render Chinese: the freely licensed Noto Sans CJK SC font.

The font file ships with the ``mplfonts`` package (a project dependency) under
the SIL Open Font License; perfkit registers that one file with matplotlib and
never falls back to a proprietary font.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import matplotlib

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
CJK_FONT_NAME = "Noto Sans CJK SC"


def cjk_font_path() -> Path:
    """Path of the Noto Sans CJK SC font that the project's install provides."""
    found = importlib.util.find_spec("mplfonts")
    if found is None or not found.submodule_search_locations:
        raise RuntimeError("the mplfonts package (which ships Noto Sans CJK SC) is not installed; "
                           "reinstall perfkit with `make install`")
    path = Path(list(found.submodule_search_locations)[0]) / "fonts" / CJK_FONT_FILE
    if not path.exists():
        raise RuntimeError(f"{CJK_FONT_FILE} is missing from the mplfonts package at {path.parent}")
    return path


@lru_cache(maxsize=1)
def use_cjk_font() -> str:
    """Register Noto Sans CJK SC with matplotlib and make it the default; return its name."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(cjk_font_path()))
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [CJK_FONT_NAME, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK font lacks U+2212
    return CJK_FONT_NAME
