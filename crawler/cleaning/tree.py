"""Small lxml helpers the cleaner and its source rules share.

The cleaner works on plain :mod:`lxml.etree` elements, not ``lxml.html``'s:
these call back into Python to choose each element's class whenever lxml
hands one out, which was a sixth of the cleaner's time on bodies of twenty
elements. :func:`drop_tag` and :func:`text_content` are ``lxml.html``'s
methods of the same names, as functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import cast

from lxml import etree

Element = etree._Element
# A compiled XPath that selects elements, typed as such: lxml types the result
# of every XPath as any of the kinds an XPath can return.
Elements = Callable[..., list[Element]]

#: Whitespace a paragraph may hold and still count as empty (full-width
#: indentation and no-break spaces included).
EMPTY = " \t\r\n\f\u3000\xa0"

#: The parser of ``lxml.html.document_fromstring``, without ``lxml.html``'s element classes.
HTML_PARSER = etree.HTMLParser()

_XML_SPACE = re.compile("[ \t\r\n]+")


def text_content(el: Element) -> str:
    """The text of ``el`` and its descendants (XPath's string value: libxml2's
    node content, as ``lxml.html``'s ``text_content``), a fifth of the cost of
    evaluating ``string()``."""
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)


def elements(path: str) -> Elements:
    return cast(Elements, etree.XPath(path))


def has_class(*names: str) -> str:
    """An XPath test: the element has one of the classes ``names``."""
    return " or ".join(
        f"contains(concat(' ', normalize-space(@class), ' '), ' {n} ')" for n in names
    )


def classes(el: Element) -> list[str]:
    """The classes of ``el`` as :func:`has_class` reads them (split on XML whitespace)."""
    return _XML_SPACE.split(el.get("class") or "")


def tags(root: Element) -> Iterator[Element]:
    """The elements of ``root``'s tree in document order, ``root`` first, as
    ``//*`` selects them (no comments, no processing instructions)."""
    return root.iter(tag=etree.Element)


def drop_tree(el: Element) -> None:
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


def drop_tag(el: Element) -> None:
    """Remove the tag of ``el``, not its children or text (``lxml.html``'s ``drop_tag``)."""
    parent = el.getparent()
    assert parent is not None
    previous = el.getprevious()
    if el.text and isinstance(el.tag, str):
        if previous is None:
            parent.text = (parent.text or "") + el.text
        else:
            previous.tail = (previous.tail or "") + el.text
    if el.tail:
        if len(el):
            last = el[-1]
            last.tail = (last.tail or "") + el.tail
        elif previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    index = parent.index(el)
    parent[index : index + 1] = list(el)
