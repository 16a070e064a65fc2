"""The formats a report is written in, and how a ``--format`` value is read.

Kept apart from the exporters (nbconvert, WeasyPrint, pandoc) so that the command line checks its
``--format`` before it imports them or starts a kernel.
"""
from __future__ import annotations

FORMATS = ("html", "pdf", "docx")


def parse_formats(formats: str | list[str] | tuple[str, ...] | None, preset=None) -> tuple[str, ...]:
    """``"html,pdf"`` (or a list) as a tuple of known formats; the preset's ``report.formats`` when None.

    Raises
    ------
    ValueError
        For an unknown format.
    """
    if formats is None:
        from perfkit.rules import load_preset

        formats = load_preset(preset or "default").report.formats
    if isinstance(formats, str):
        formats = [f.strip().lower() for f in formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ValueError(f"unknown report format(s) {', '.join(unknown) or '(none)'}: choose from {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(formats))


__all__ = ["FORMATS", "parse_formats"]
