"""Retries wait, longer each time: exponential back-off for Scrapy's RetryMiddleware.

Scrapy retries a failed download (``RETRY_TIMES``, ``RETRY_HTTP_CODES``) at
once. This middleware holds each retry back before it is downloaded:
``RETRY_BACKOFF_BASE * 2**(n-1)`` seconds before the n-th retry, ±25 %
jitter, at most ``RETRY_BACKOFF_MAX`` seconds, and at least what a 429 or
503 answer asked for in ``Retry-After`` (up to the same cap). A waiting
retry takes one of the ``CONCURRENT_REQUESTS`` slots but none of its host's,
so the host sees no request from it meanwhile. ``RETRY_BACKOFF_BASE = 0``
turns it off.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.asyncio import sleep

logger = logging.getLogger(__name__)

JITTER = 0.25


def retry_after(value: bytes | None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or HTTP date)."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class RetryBackoffMiddleware:
    def __init__(self, crawler: Crawler, base: float, cap: float):
        self.crawler = crawler
        self.base = base
        self.cap = cap

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryBackoffMiddleware:
        settings = crawler.settings
        base = settings.getfloat("RETRY_BACKOFF_BASE")
        if not settings.getbool("RETRY_ENABLED") or base <= 0:
            raise NotConfigured
        return cls(crawler, base, settings.getfloat("RETRY_BACKOFF_MAX"))

    def delay(self, retries: int, asked: float | None = None) -> float:
        """Seconds to wait before the ``retries``-th retry."""
        wait = self.base * 2 ** (retries - 1) * random.uniform(1 - JITTER, 1 + JITTER)
        return min(self.cap, max(wait, asked or 0.0))

    async def process_request(self, request: Request) -> None:
        retries = request.meta.get("retry_times", 0)
        if not retries:
            return
        wait = self.delay(retries, request.meta.get("retry_after"))
        # Seconds, not a count: Scrapy's stats add any number, its annotation says int.
        self.crawler.stats.inc_value("retry/backoff_seconds", wait)  # type: ignore[arg-type]
        logger.debug("Retry %d of <%s> in %.1f s", retries, request.url, wait)
        await sleep(wait)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in (429, 503):
            asked = retry_after(response.headers.get(b"Retry-After"))
            if asked is not None:
                request.meta["retry_after"] = asked  # the retry is a copy: it keeps it
        return response
