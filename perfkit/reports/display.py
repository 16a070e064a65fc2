"""Display helpers shared by the report jobs: Markdown, outlines, number formats, charts in Chinese.

Charts use the freely licensed Noto Sans CJK SC font. The font file ships with
the ``mplfonts`` package (a project dependency) under the SIL Open Font License;
perfkit registers that one file with matplotlib and never falls back to a
proprietary font.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import pandas as pd

from perfkit.reports.registry import templates_dir
from perfkit.text import check_lang, render, text

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
CJK_FONT_NAME = "Noto Sans CJK SC"
MISSING = "—"


class PresetView:
    """Mixin of the views of an engine result (``self.result``, ``self.lang``): the result's preset, and
    the preset's own names (items, ratings, conclusions) in the report's language."""

    @property
    def preset(self):
        return self.result.preset

    def label(self, name: str) -> str:
        """A preset name in the report's language (the preset's ``labels``)."""
        return self.preset.label(name, self.lang)


def markdown(source: str):
    """``source`` as an IPython Markdown display object."""
    from IPython.display import Markdown

    return Markdown(str(source).strip())


def heading(key: str, lang: str = "zh", level: int = 2, **params):
    """A Markdown heading whose text is the catalogue's ``key``."""
    return markdown(f"{'#' * level} {text(key, lang, **params)}")


@lru_cache(maxsize=16)
def outline(name: str, lang: str):
    """The report outline ``templates/outlines/<name>.<lang>.md.j2`` as a module of section macros."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(templates_dir() / "outlines")), undefined=StrictUndefined,
                      autoescape=False, keep_trailing_newline=True)
    env.filters["wan"] = wan
    env.filters["pct"] = pct
    return env.get_template(f"{name}.{check_lang(lang)}.md.j2")


def wan(amount: float, digits: int = 2) -> str:
    """An amount in yuan as 万元 with thousands separators ("—" when missing)."""
    return MISSING if amount is None or pd.isna(amount) else f"{amount / 1e4:,.{digits}f}"


def pct(ratio: float, digits: int = 1) -> str:
    """A ratio as a percentage ("—" when missing)."""
    return MISSING if ratio is None or pd.isna(ratio) else f"{ratio * 100:.{digits}f}%"


def notes_text(notes, lang: str, preset=None) -> str:
    """Engine notes (:class:`perfkit.text.Message` tuples) as one line in ``lang``."""
    return render(tuple(notes) if notes is not None else (), lang, preset)


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
    import matplotlib
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(cjk_font_path()))
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [CJK_FONT_NAME, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK font lacks U+2212
    return CJK_FONT_NAME


def figure(**kwargs):
    """A new matplotlib figure and axes, with the CJK font in use."""
    import matplotlib.pyplot as plt

    use_cjk_font()
    return plt.subplots(**kwargs)
