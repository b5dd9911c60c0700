"""Decodes pages the way Chinese news sites serve them (SPEC §2.2).

Scrapy trusts a declared charset and otherwise guesses among ASCII, UTF-8 and
cp1252, which turns undeclared GBK into mojibake. This middleware applies the
feed's ``encoding`` when it sets one; otherwise, when nothing is declared (or
the declared charset cannot decode the page while UTF-8 or GB18030 can), it
decodes as UTF-8 if the bytes are valid UTF-8, else as GB18030 (a superset of
GBK and GB2312). A page whose non-ASCII bytes are all valid UTF-8 is read as
UTF-8 whatever it declares (a page claiming GBK but written in UTF-8 would
otherwise decode "successfully" into mojibake).
"""

from __future__ import annotations

import codecs
import logging

from scrapy.crawler import Crawler
from scrapy.http import Request, Response, TextResponse
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

from crawler.perfeed import FEED, feed_named

logger = logging.getLogger(__name__)

FALLBACKS = ("utf-8", "gb18030")


def decodes(body: bytes, encoding: str) -> bool:
    try:
        codecs.decode(body, encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def declared_encoding(response: TextResponse) -> str | None:
    bom, _ = read_bom(response.body)
    if bom:
        return bom
    content_type = response.headers.get(b"Content-Type") or b""
    declared = http_content_type_encoding(content_type.decode("latin-1"))
    if declared is None and not content_type.startswith(b"application/json"):
        declared = html_body_declared_encoding(response.body)
    return declared


def is_utf8_text(body: bytes) -> bool:
    """Whether ``body`` has non-ASCII bytes and all of it is valid UTF-8."""
    return not body.isascii() and decodes(body, "utf-8")


class EncodingMiddleware:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EncodingMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        feed = feed_named(self.crawler, request.meta.get(FEED))  # the request's feed
        return decoded(response, feed.encoding if feed is not None else "")


def decoded(response: Response, encoding: str = "") -> Response:
    """``response`` read with the feed's ``encoding`` if it sets one, else as
    the module's docstring says (also for a response replayed from the capture)."""
    if not isinstance(response, TextResponse):
        return response
    if encoding:
        return response.replace(encoding=encoding)
    declared = declared_encoding(response)
    if declared and declared != "utf-8" and is_utf8_text(response.body):
        # Multi-byte text that is valid UTF-8 is UTF-8, whatever a page
        # claims: GBK text that happens to be valid UTF-8 does not occur.
        logger.debug("Page declares %s but is UTF-8 <%s>", declared, response.url)
        return response.replace(encoding="utf-8")
    if declared and decodes(response.body, declared):
        return response
    for fallback in FALLBACKS:
        if decodes(response.body, fallback):
            if declared:
                logger.debug("Page declares %s but is %s <%s>", declared, fallback, response.url)
            return response.replace(encoding=fallback)
    return response
