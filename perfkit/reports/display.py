"""Display helpers shared by the report jobs: Markdown, outlines, number formats, charts in Chinese.

Charts use the freely licensed Noto Sans CJK SC font. The font file ships with
the ``mplfonts`` package (a project dependency) under the SIL Open Font License;
perfkit registers that one file with matplotlib and never falls back to a
proprietary font.
"""
from __future__ import annotations

import hashlib
import html
import importlib.util
import re
from functools import lru_cache
from pathlib import Path

from perfkit._lazy import lazy_module
from perfkit.reports.registry import templates_dir
from perfkit.text import check_lang, render, text

# imported on first use: a job module (and the command line's help) declares its job without pandas
np = lazy_module("numpy")
pd = lazy_module("pandas")

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
CJK_FONT_NAME = "Noto Sans CJK SC"
MISSING = "—"
#: A table with this many columns is wide: printed on landscape pages.
WIDE_COLUMNS = 9


class PresetView:
    """Mixin of the views of an engine result (``self.result``, ``self.lang``): the result's preset, and
    the preset's own names (items, ratings, conclusions) in the report's language."""

    @property
    def preset(self):
        return self.result.preset

    def label(self, name: str) -> str:
        """A preset name in the report's language (the preset's ``labels``)."""
        return self.preset.label(name, self.lang)


#: What Markdown would read as markup in text from data: emphasis, code, links and images, headings, tables,
#: strikethrough, math ($…$ in nbconvert), and the starts of autolinks (http://, www., e-mail addresses).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#!|~$@])")


def md_escape(value) -> str:
    """Text from data as Markdown that reads as the same text: HTML-escaped, every character Markdown would
    take as markup backslash-escaped, autolinks broken (``http:\\/\\/``, ``www\\.``), and line breaks made spaces
    (a data value never starts a heading or a list). Rendered, it shows exactly the value."""
    flat = " ".join(str(value).split())
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))
    return re.sub(r"(?i)www\.", lambda m: m.group(0)[:-1] + "\\.", escaped.replace("://", ":\\/\\/"))


def prose(key: str, lang: str = "zh", **params) -> str:
    """The catalogue's sentence ``key`` for a Markdown cell, its text parameters :func:`md_escape`-d."""
    return text(key, lang, **{k: md_escape(v) if isinstance(v, str) else v for k, v in params.items()})


def markdown(source: str):
    """``source`` as an IPython Markdown display object (the caller escapes what comes from data)."""
    from IPython.display import Markdown

    return Markdown(str(source).strip())


def heading(key: str, lang: str = "zh", level: int = 2, **params):
    """A Markdown heading whose text is the catalogue's ``key``."""
    return markdown(f"{'#' * level} {text(key, lang, **params)}")


@lru_cache(maxsize=16)
def outline(name: str, lang: str):
    """The report outline ``templates/outlines/<name>.<lang>.md.j2`` as a module of section macros."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    # autoescape: a value from data is text, never markup, in the Markdown the outline becomes
    # and finalize: a value is Markdown-escaped too (a finding's "[x](javascript:…)" is text, not a link)
    env = Environment(loader=FileSystemLoader(str(templates_dir() / "outlines")), undefined=StrictUndefined,
                      autoescape=True, keep_trailing_newline=True, finalize=_outline_value)
    env.filters["wan"] = wan
    env.filters["pct"] = pct
    return env.get_template(f"{name}.{check_lang(lang)}.md.j2")


def _outline_value(value):
    """An outline's ``{{ value }}``: text Markdown-escaped (then HTML-escaped by autoescape, except what
    :func:`md_escape` escaped already), a macro's output (Markup) as it is."""
    from markupsafe import Markup

    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return Markup(md_escape(value))


def wan(amount: float, digits: int = 2) -> str:
    """An amount in yuan as 万元 with thousands separators ("—" when missing)."""
    return MISSING if amount is None or pd.isna(amount) else f"{amount / 1e4:,.{digits}f}"


def rounded_parts(values, decimals: int = 2, total: float | None = None) -> np.ndarray:
    """Parts rounded to ``decimals`` so that they add up to their rounded total (the largest remainders get the
    last unit): printed parts that add up to the printed total. ``total``: the printed total they must add up to
    when it is printed elsewhere (within a unit or two of their own sum). Missing values stay missing (and then
    the parts are rounded one by one)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0 or np.isnan(v).any():
        return np.round(v, decimals)
    scale = 10 ** decimals
    scaled = v * scale
    floor = np.floor(scaled)
    target = round(float(scaled.sum()) if total is None else float(total) * scale)
    short = int(target - floor.sum())
    order = np.argsort(-(scaled - floor), kind="stable")
    # the largest remainders get a unit (the smallest give one when the printed total is below the floors)
    picked = (order if short >= 0 else order[::-1])[np.arange(abs(short)) % v.size]
    np.add.at(floor, picked, 1 if short >= 0 else -1)
    return floor / scale


def long_date(date, lang: str = "zh") -> str:
    """A date as prose writes it: 2026年8月31日 (no leading zeros), 31 August 2026 in English."""
    date = pd.Timestamp(date)
    return f"{date.year}年{date.month}月{date.day}日" if lang == "zh" else f"{date.day} {date:%B %Y}"


def capped_parts(values, caps, decimals: int = 2) -> np.ndarray:
    """:func:`rounded_parts` of scores that never print above their printed points (``caps``): a unit that
    rounding gives an item at its cap goes to the next largest remainder instead, so the parts still add up to
    their rounded total and a full score prints as its points, never a cent more."""
    v = np.asarray(values, dtype=float)
    parts = rounded_parts(v, decimals)
    caps = np.asarray(caps, dtype=float)
    unit = 10.0 ** -decimals
    if np.isnan(parts).any():
        return np.minimum(parts, caps)
    for i in np.flatnonzero(parts > caps + unit / 2):
        excess = round((parts[i] - caps[i]) / unit)
        parts[i] = caps[i]
        remainders = v * 10 ** decimals - np.floor(v * 10 ** decimals)
        for j in np.argsort(-remainders, kind="stable"):
            if excess == 0:
                break
            if j != i and parts[j] + unit <= caps[j] + unit / 2 and parts[j] < v[j] + unit:
                parts[j] = round(parts[j] + unit, decimals)
                excess -= 1
    return np.round(parts, decimals)


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

    path = str(cjk_font_path())
    manager = font_manager.fontManager
    # a warm kernel calls this again after each reset: adding the font twice would grow matplotlib's font
    # list and clear its font lookup cache every report
    if not any(entry.fname == path for entry in manager.ttflist):
        manager.addfont(path)
    # the shipped file, whatever the system has: a system copy of the same family (Debian's fonts-noto-cjk
    # installs NotoSansCJK-Regular.ttc under the same name) would otherwise win matplotlib's lookup, and a
    # report would depend on the machine that drew it
    others = [e for e in manager.ttflist if e.name == CJK_FONT_NAME and e.fname != path]
    if others:
        manager.ttflist = [e for e in manager.ttflist if e not in others]
        manager._findfont_cached.cache_clear()   # noqa: SLF001 - matplotlib's own cache of lookups
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [CJK_FONT_NAME, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK font lacks U+2212
    return CJK_FONT_NAME


def figure(**kwargs):
    """A new chart's figure and axes (``pyplot.subplots``' arguments), with the CJK font in use.

    The figure is a :class:`perfkit.reports.charts.ReportFigure`: pyplot does not know it, and a notebook
    cell that ends with it shows it, drawn once (not redrawn by pyplot's and the inline backend's hooks).
    """
    from perfkit.reports.charts import report_figure

    use_cjk_font()
    return report_figure(**kwargs)


_NUMBER_TEXT = re.compile(r"^\s*[-+−]?[\d,]*\.?\d+\s*%?\s*$")


def _column_class(series: pd.Series) -> str:
    """``num`` for a column of numbers (or of formatted numbers, percentages and —), else ``text``
    (``text short`` for short labels, which are kept on one line)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return "num"
    values = [str(v) for v in series.dropna() if str(v) != MISSING]
    if values and all(_NUMBER_TEXT.match(v) for v in values):
        return "num"
    # short labels (levels, ratings, codes) stay on one line; long text (reasons, findings) gets room
    if all(len(v) <= 8 for v in values):
        return "text short"
    return "text long" if max(len(v) for v in values) > 40 else "text"


class Table:
    """A report table: HTML from its Styler for reports and JupyterLab, plain text for a console.

    The same frame gives byte-identical HTML in any kernel (the Styler's uuid comes from the content).
    """

    def __init__(self, styler, frame: pd.DataFrame):
        self.styler, self.frame = styler, frame

    def _repr_html_(self) -> str:
        return self.styler.to_html()

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


#: Headers of columns that hold years (printed without thousands separators).
YEAR_COLUMN = re.compile(r"年度|年份|基期|year", re.IGNORECASE)


def show(frame: pd.DataFrame | None, digits: int = 2, caption: str | None = None) -> Table | None:
    """A table as a report shows it: no row numbers, numbers right-aligned with thousands separators
    and ``digits`` decimals, text left-aligned, ``—`` for a missing value, every value HTML-escaped.

    A frame indexed by labels (a summary) shows its index as its first columns. A ``caption`` (a
    section title) travels with the table: a wide table prints on landscape pages, and its title with it.
    """
    if frame is None:           # a table the subject does not have (a project without a panel): nothing shown
        return None
    if frame.index.name is None and frame.index.nlevels == 1 and pd.api.types.is_integer_dtype(frame.index):
        frame = frame.reset_index(drop=True)     # row numbers left by a filter or a sort: never a column
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        unnamed = [name is None for name in frame.index.names]
        frame = frame.reset_index()
        if all(unnamed) and len(unnamed) == 1 and "" not in frame.columns:
            frame = frame.rename(columns={"index": ""})   # a label column without a name: a blank header
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    classes = {c: _column_class(frame[c]) for c in frame.columns}
    formats = {}
    for column in frame.columns:
        series = frame[column]
        mixed = series.dtype == object   # a column of labels and values (a two-column summary): years stay plain
        numbers = series[series.map(lambda v: isinstance(v, (int, float, np.integer, np.floating))
                                    and not isinstance(v, bool))].astype(float).dropna()
        whole = len(numbers) and (numbers == numbers.round()).all()
        # counts and large whole amounts without decimals; every other number with ``digits``
        pattern = "{:,.0f}" if whole and (pd.api.types.is_integer_dtype(series) or numbers.abs().max() >= 1000) \
            else f"{{:,.{digits}f}}"
        if whole and YEAR_COLUMN.search(column) and numbers.between(1900, 2100).all():
            pattern = "{:.0f}"                    # a year is a name, not an amount: 2025, never 2,025
        formats[column] = lambda v, pattern=pattern, mixed=mixed: (
            MISSING if v is None or (isinstance(v, float) and np.isnan(v)) else
            str(v) if mixed and isinstance(v, (int, np.integer)) else
            pattern.format(v) if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            else str(v))
    from pandas.io.formats.style import Styler

    # no per-cell ids: they bloat the HTML and slow the PDF's style cascade by a third
    uuid = hashlib.sha1(frame.to_csv().encode("utf-8")).hexdigest()[:8]
    styler = Styler(frame, cell_ids=False, uuid=uuid).hide(axis="index").format(formats, na_rep=MISSING,
                                                                                  escape="html")
    styler = styler.format_index(escape="html", axis=1)
    # in the table's own style, so that JupyterLab (which right-aligns every cell) shows it as the report does
    styler = styler.set_table_styles([{"selector": "td.text", "props": "text-align: left;"},
                                      {"selector": "td.num", "props": "text-align: right;"}])
    if len(frame.columns) >= WIDE_COLUMNS:
        styler = styler.set_table_attributes('class="wide"')
    if caption:
        styler = styler.set_caption(html.escape(caption, quote=False))
    styler = styler.set_td_classes(pd.DataFrame({c: [classes[c]] * len(frame) for c in frame.columns},
                                                index=frame.index))
    return Table(styler, frame)


def plain(label) -> str:
    """Text for a chart, drawn as written: a ``$`` from data is not the start of a formula."""
    return str(label).replace("$", r"\$")


def thousands(axis) -> None:
    """Plain numbers with thousands separators on a chart axis (never 1e6 or 10^6)."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}" if abs(value) >= 10 or value == 0
                                           else f"{value:,.2f}".rstrip("0").rstrip(".")))
    axis.set_minor_formatter(FuncFormatter(lambda value, _: ""))


def markdown_text(key: str, lang: str = "zh", level: int = 0, **params):
    """The catalogue's sentence ``key`` as Markdown, its text parameters escaped (they come from data)."""
    return markdown(("#" * level + " " if level else "") + prose(key, lang, **params))


def result_text(job: str | None, record: dict, lang: str) -> str:
    """A report's result worded (``得分 89.34 分，等级“良”``), never bare numbers: for the index and for the
    record cell in JupyterLab."""
    if record.get("status") == "draft":
        return text("index.results.draft", lang)
    try:
        return text(f"index.results.{job}", lang, score=record.get("score"), rating=record.get("rating"))
    except (KeyError, TypeError, ValueError):    # a job without wording, or a result without its score
        return " ".join(str(v) for v in (record.get("score"), record.get("rating")) if v not in (None, "")) or "—"


class ResultRecord:
    """The report's result for the index (score, rating, status): JSON for the runner, which reads it from
    the executed notebook, and one worded line for a reader in JupyterLab (the report leaves the cell out)."""

    def __init__(self, values: dict, job: str | None = None, lang: str = "zh"):
        self.values = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in values.items()}
        self.job, self.lang = job, lang

    def _repr_mimebundle_(self, include=None, exclude=None):
        line = f"{text('index.result_label', self.lang)}{result_text(self.job, self.values, self.lang)}"
        return {"application/json": self.values, "text/plain": line,
                "text/html": f"<p>{html.escape(line, quote=False)}</p>"}


def record(*, job: str | None = None, lang: str = "zh", **values) -> ResultRecord:
    """The report's result for the index (score, rating, status), shown in a tagged cell: the runner reads its
    JSON, a reader in JupyterLab its worded line."""
    return ResultRecord(values, job, lang)


