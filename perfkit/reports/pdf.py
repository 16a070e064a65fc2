"""PDF rendering: WeasyPrint on A4 with the project's CJK font.

It imports no nbconvert or nbformat: a warm report kernel imports it to render its own report's PDF
(:func:`perfkit.reports.warm.render_pdf`).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from perfkit.reports.registry import templates_dir


#: The family name the PDF gives the shipped CJK font: a name no system font has, so that fontconfig finds
#: the shipped file and never a system copy of Noto Sans CJK (whose metrics and version may differ).
PDF_FONT_FAMILY = "perfkit Noto Sans CJK SC"


def _font_face() -> str:
    from perfkit.reports.display import cjk_font_path

    url = cjk_font_path().resolve().as_uri()
    return (f'@font-face {{ font-family: "{PDF_FONT_FAMILY}"; src: url("{url}"); }}\n'
            f'body.perfkit-report {{ font-family: "{PDF_FONT_FAMILY}", sans-serif; }}\n'
            f'@page {{ @bottom-center {{ font-family: "{PDF_FONT_FAMILY}", sans-serif; }} }}')


def render_here(html: str, path: str | os.PathLike) -> Path:
    """Render ``html`` as an A4 PDF at ``path`` in this process."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    logging.getLogger("weasyprint").setLevel(logging.ERROR)   # its notes on unsupported CSS are not for readers
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    fonts = FontConfiguration()    # @font-face needs one configuration shared by the stylesheet and the render
    HTML(string=html, base_url=str(templates_dir())).write_pdf(
        str(path), stylesheets=[CSS(string=_font_face(), font_config=fonts)], font_config=fonts,
        presentational_hints=True)
    return Path(path)
