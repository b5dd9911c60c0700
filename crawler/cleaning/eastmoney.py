"""The source's own markup rules (eastmoney's article pages), apart from the
generic sanitizer in :mod:`crawler.cleaning.cleaner`, which applies them at
fixed points of its pre-pass (:data:`RULES`, the catalog's default ``cleaning``):

- the K-line chart block between ``<!-- EM_StockImg_Start -->`` and
  ``<!-- EM_StockImg_End -->`` goes whole (:func:`remove_chart_blocks`);
- live quote placeholders and the chart link go with their content, the ad
  images (with their link) and the app's top links go, and the quote widgets
  keep only their text (:func:`drop_widgets`);
- the outlet credit line keeps its class, :data:`OUTLET_CLASS` (``em_media``);
- paragraphs that only advertise the source's app or a brokerage account go
  (:func:`is_promotion`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import cast

from lxml import etree

from crawler.cleaning.rules import SourceRules
from crawler.cleaning.tree import EMPTY, Element, classes, drop_tag, drop_tree, tags

logger = logging.getLogger(__name__)

#: The class of the outlet credit line: the one class a cleaned body keeps.
OUTLET_CLASS = "em_media"

# The rules below are tests on each element's id and classes, run over the
# tree in Python: an XPath per rule cost more than the rest of the cleaning.
# Quote widgets: keep their text, lose the markup (span or link alike).
_WIDGET_IDS = ("stock_", "bk_", "Info.")
_WIDGET_CLASSES = frozenset({"keytip", "infokey", "em_stock_key_common"})
_WIDGET_CLASS_TEXT = re.compile("|".join(sorted(_WIDGET_CLASSES)))  # in the attribute's text
# Live quote placeholders and the K-line chart link: gone with their content.
_QUOTE_IDS = ("quote_", "bkquote_")
_QUOTE_CLASS = "EmImageRemark"
_AD_IMAGE_CLASS = "em_handle_adv_close"  # on an <img>
_PROMO_LINK_CLASS = "toplink"  # on an <a>

# Paragraphs that only advertise the source's app or a brokerage account: short,
# naming the source with an account or its app, and a call to action (a
# trailing ">>" or the whole paragraph a link), so news about the source stays.
_SOURCE_NAME = "东方财富"  # in every promotion: both of _PROMO_TEXT's branches name it
_PROMO_TEXT = re.compile(r"东方财富.{0,30}(?:开户|APP|App|app|客户端)|(?:开户|下载).{0,10}东方财富")
_PROMO_CALL = (">", "》", "→", "…")
_PROMO_MAX_CHARS = 80
_LINK_TEXT = cast(Callable[[etree._Element], str], etree.XPath("string(.//a)"))

_CHART_START = "EM_StockImg_Start"
_CHART_END = "EM_StockImg_End"


def remove_chart_blocks(root: Element) -> None:
    """``<!-- EM_StockImg_Start -->…<!-- EM_StockImg_End -->`` goes whole."""
    for start in list(root.iter(etree.Comment)):
        if (start.text or "").strip() != _CHART_START or start.getparent() is None:
            continue
        block = []
        end = None
        for sibling in start.itersiblings():
            if isinstance(sibling, etree._Comment) and (sibling.text or "").strip() == _CHART_END:
                end = sibling
                break
            block.append(sibling)
        if end is None:
            continue  # no matching end among its siblings: only the comments go
        start.tail = None
        for node in block:
            node.tail = None
            drop_tree(node)
        drop_tree(start)


def drop_widgets(root: Element) -> None:
    """Quote placeholders, ad images and app links go; quote widgets become text."""
    quotes: list[Element] = []
    widgets: list[Element] = []
    for el in tags(root):  # one walk for both tests: each reads the id and class once
        ident = el.get("id")
        cls = el.get("class")  # split only when it may hold one of them
        if ident is None and cls is None:
            continue  # most elements: nothing to test
        ident, cls = ident or "", cls or ""
        if ident.startswith(_QUOTE_IDS) or (_QUOTE_CLASS in cls and _QUOTE_CLASS in classes(el)):
            quotes.append(el)
        elif ident.startswith(_WIDGET_IDS) or (
            _WIDGET_CLASS_TEXT.search(cls) and not _WIDGET_CLASSES.isdisjoint(classes(el))
        ):
            widgets.append(el)
    for el in quotes:
        drop_tree(el)
    for img in [el for el in root.iter("img") if _AD_IMAGE_CLASS in classes(el)]:
        link = next(img.iterancestors("a"), None)
        drop_tree(img if link is None else link)
    for link in [el for el in root.iter("a") if _PROMO_LINK_CLASS in classes(el)]:
        drop_tree(link)
    for el in widgets:
        # (one gone with a placeholder, ad or link above is out of the tree:
        # unwrapping it, or what it holds, changes nothing left)
        if el.getparent() is not None:
            drop_tag(el)


def is_promotion(p: etree._Element, text: str) -> bool:
    """The paragraph ``p`` (its text stripped: ``text``) only advertises the
    source's app or a brokerage account."""
    if (
        len(text) <= _PROMO_MAX_CHARS
        and _PROMO_TEXT.search(text)
        and (text.endswith(_PROMO_CALL) or _LINK_TEXT(p).strip(EMPTY) == text)
    ):
        logger.debug("dropping promotion paragraph %r", text)
        return True
    return False


#: The eastmoney rules, as a feed's ``cleaning: crawler.cleaning.eastmoney`` names them.
RULES = SourceRules(
    kept_class=OUTLET_CLASS,
    before=remove_chart_blocks,
    widgets=drop_widgets,
    is_promotion=is_promotion,
    promotion_word=_SOURCE_NAME,
)
