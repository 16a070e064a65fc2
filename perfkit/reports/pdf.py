"""PDF rendering: WeasyPrint on A4 with the project's CJK font.

It imports no nbconvert or nbformat: a warm report kernel imports it to render its own report's PDF
(:func:`perfkit.reports.warm.render_pdf`).
"""
from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

from perfkit.reports.registry import templates_dir


#: The family name the PDF gives the shipped CJK font: a name no system font has, so that fontconfig finds
#: the shipped file and never a system copy of Noto Sans CJK (whose metrics and version may differ).
PDF_FONT_FAMILY = "perfkit Noto Sans CJK SC"
#: Characters a page shows that its HTML does not hold: printable ASCII (page numbers, counters) and the
#: list markers of the user-agent stylesheet (disc, circle, square). Without them in the cut font, a
#: marker falls back to a system font, which is then embedded too.
GENERATED_CHARACTERS = frozenset(range(0x20, 0x7F)) | {0x2022, 0x25E6, 0x25AA}


def _font_face(font: Path) -> str:
    url = font.resolve().as_uri()
    # a user stylesheet: !important, or the report's own CSS (which names the system family for screens) wins
    return (f'@font-face {{ font-family: "{PDF_FONT_FAMILY}"; src: url("{url}"); }}\n'
            f'body.perfkit-report, body.perfkit-report * {{ font-family: "{PDF_FONT_FAMILY}", sans-serif '
            f'!important; }}\n'
            f'@page {{ @bottom-center {{ font-family: "{PDF_FONT_FAMILY}", sans-serif !important; }}\n'
            f'        @top-center {{ font-family: "{PDF_FONT_FAMILY}", sans-serif !important; }} }}')


def _font_for(html: str, folder: Path) -> Path:
    """The shipped CJK font cut down to the characters ``html`` holds (and those a page generates),
    written in ``folder``.

    WeasyPrint embeds a subset of every font it uses; without HarfBuzz's subsetter as a system library it
    subsets with fontTools keeping every glyph slot, some 5 s per face of the 65,000-glyph font. On a font
    of the report's own few hundred characters its pass is short. HarfBuzz's subsetter (the uharfbuzz
    wheel) makes that font in about 15 ms, where fontTools took 0.9–1.2 s.
    """
    import uharfbuzz

    wanted = uharfbuzz.SubsetInput()
    wanted.unicode_set.update({ord(ch) for ch in html} | GENERATED_CHARACTERS)
    path = folder / "perfkit-cjk.otf"
    path.write_bytes(uharfbuzz.subset(_cjk_face(), wanted).blob.data)
    return path


@lru_cache(maxsize=1)
def _cjk_face():
    """The shipped font as a HarfBuzz face: mapped from its file once per process."""
    import uharfbuzz

    from perfkit.reports.display import cjk_font_path

    return uharfbuzz.Face(uharfbuzz.Blob.from_file_path(str(cjk_font_path())))


def local_fetcher(*folders: str | os.PathLike):
    """A WeasyPrint URL fetcher that fetches nothing from the network or from outside ``folders``: the report's
    charts are data: URLs and its stylesheet and font are perfkit's, so any other URL (one that came with the
    data) is refused, and WeasyPrint leaves that resource out."""
    from urllib.parse import unquote, urlparse

    from weasyprint import urls

    roots = [Path(folder).resolve() for folder in folders]

    def allowed(url: str) -> bool:
        parsed = urlparse(url)
        if parsed.scheme == "data":
            return True
        target = Path(unquote(parsed.path)).resolve() if parsed.scheme == "file" else None
        return target is not None and any(target == root or root in target.parents for root in roots)

    def refuse(url: str):
        raise ValueError(f"perfkit renders no resource from outside the report: {url[:80]}")

    if hasattr(urls, "URLFetcher"):          # WeasyPrint 70: a fetcher is a URLFetcher with a fetch method
        class LocalFetcher(urls.URLFetcher):
            def fetch(self, url, headers=None):
                return super().fetch(url, headers) if allowed(url) else refuse(url)

        return LocalFetcher()

    def fetch(url: str, *args, **kwargs):    # earlier WeasyPrint: a function
        return urls.default_url_fetcher(url, *args, **kwargs) if allowed(url) else refuse(url)

    return fetch


def render_here(html: str, path: str | os.PathLike) -> Path:
    """Render ``html`` as an A4 PDF at ``path`` in this process."""
    import tempfile

    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    logging.getLogger("weasyprint").setLevel(logging.ERROR)   # its notes on unsupported CSS are not for readers
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="perfkit-pdf-") as folder:
        fonts = FontConfiguration()    # @font-face needs one configuration shared by the stylesheet and the render
        stylesheet = CSS(string=_font_face(_font_for(html, Path(folder))), font_config=fonts)
        HTML(string=html, base_url=str(templates_dir()),
             url_fetcher=local_fetcher(templates_dir(), Path(folder))).write_pdf(
            str(path), stylesheets=[stylesheet], font_config=fonts, presentational_hints=True)
    return Path(path)
