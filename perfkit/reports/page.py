"""A report's HTML page as a tree: parsed once (lxml), changed in place, read by the report check, written back.

Every report's page is parsed once after nbconvert writes it: the export's passes (chart descriptions,
headings kept with their tables, focusable cells) change the tree, the report check reads it, and it is
serialised as the report. lxml (libxml2's HTML parser, in C) does this in 2 ms a page, where
BeautifulSoup's pure-Python tree took 35 ms a page, with the report check 50 ms of each report in a batch.
"""
from __future__ import annotations

import lxml.etree
import lxml.html

#: What a reader does not see as text: the page's styles, scripts and head.
_HIDDEN = ("script", "style", "head")
_VISIBLE_TEXT = lxml.etree.XPath(
    f"descendant::text()[not({' or '.join(f'ancestor::{tag}' for tag in _HIDDEN)})]")
#: huge_tree: a page with many charts has long data: URIs, beyond libxml2's default text limit
_PARSER = lxml.html.HTMLParser(huge_tree=True)


def parse(html: str) -> lxml.html.HtmlElement:
    """The page's root element (``<html>``)."""
    return lxml.html.document_fromstring(html, parser=_PARSER)


def serialise(tree: lxml.html.HtmlElement) -> str:
    """The page as HTML again, with its doctype."""
    return lxml.etree.tostring(tree.getroottree(), method="html", encoding="unicode")


def text(element) -> str:
    """What a reader sees of ``element``: its text runs, each stripped, joined by spaces (styles, scripts and
    the head left out; BeautifulSoup's ``get_text(" ", strip=True)``)."""
    return " ".join(run.strip() for run in _VISIBLE_TEXT(element) if run.strip())


def has_class(element, name: str) -> bool:
    """Whether ``name`` is one of the element's classes."""
    return name in (element.get("class") or "").split()


def with_class(element, *names: str) -> list:
    """``element`` and its descendants that have one of the classes ``names``, in document order."""
    condition = " or ".join(f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')" for name in names)
    return element.xpath(f"descendant-or-self::*[{condition}]")


def first_with_class(element, name: str):
    """The first of ``element`` and its descendants with the class ``name`` (document order), or None."""
    found = with_class(element, name)
    return found[0] if found else None


def first(element, *tags: str):
    """The first descendant of ``element`` with one of the ``tags`` (document order), or None."""
    return next(element.iterdescendants(*tags), None)


def content(tree):
    """What a report says: the page's ``<main>``, or the whole page when it has none."""
    main = first(tree, "main")
    return tree if main is None else main


def detach(element):
    """Take ``element`` out of the tree, leaving the text that followed it where it was; return it."""
    parent = element.getparent()
    if element.tail:
        previous = element.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + element.tail
        else:
            previous.tail = (previous.tail or "") + element.tail
        element.tail = None
    parent.remove(element)
    return element


__all__ = ["content", "detach", "first", "first_with_class", "has_class", "parse", "serialise", "text",
           "with_class"]
