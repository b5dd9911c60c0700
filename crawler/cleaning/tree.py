"""Small lxml helpers the cleaner and its source rules share."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import lxml.html
from lxml import etree

# A compiled XPath that selects elements, typed as such: lxml types the result
# of every XPath as any of the kinds an XPath can return.
Elements = Callable[..., list[lxml.html.HtmlElement]]

#: Whitespace a paragraph may hold and still count as empty (full-width
#: indentation and no-break spaces included).
EMPTY = " \t\r\n\f\u3000\xa0"


def elements(path: str) -> Elements:
    return cast(Elements, etree.XPath(path))


def has_class(*names: str) -> str:
    """An XPath test: the element has one of the classes ``names``."""
    return " or ".join(
        f"contains(concat(' ', normalize-space(@class), ' '), ' {n} ')" for n in names
    )


def drop_tree(el: etree._Element) -> None:
    """Remove ``el`` and its content, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)
