"""Makes selector drift loud: a feed whose articles all lose the same field.

When a source changes its markup, a selector (or a JSON key) silently stops
matching and every article of the feed is dropped for the same missing field.
At the end of a crawl that mirrored nothing and dropped two or more articles,
most of them for one field, this logs a WARNING naming the feed and the
selector or key, and records it as the feed's ``mirror/<feed>/drift`` so that the per-feed
summary marks the feed as failing. (A listing that names no article is
flagged by the spider itself, as ``mirror/empty_listing``.)
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from crawler.extensions.summary import feed_counters
from crawler.perfeed import feed_stats
from crawler.source.catalog import Feed
from crawler.source.fields import blame

logger = logging.getLogger(__name__)

MIN_DROPPED = 2  # one bad article is the source's mistake, not drift


class SelectorDrift:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SelectorDrift:
        ext = cls(crawler)
        # Before the feed summary (a lower EXTENSIONS order): it reads mirror/drift.
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Spider) -> None:
        catalog: dict[str, Feed] | None = getattr(spider, "catalog", None)
        if not catalog:
            return
        for name, counters in feed_counters(self.crawler, list(catalog)).items():
            self.check(catalog[name], counters)

    def check(self, feed: Feed, stats: dict[str, Any]) -> None:
        """Flag ``feed`` as drifting if its counters (``mirror/…``) say so."""
        if stats.get("mirror/new", 0):
            return
        dropped = {
            key.rsplit("/", 1)[1]: count
            for key, count in stats.items()
            if key.startswith("mirror/dropped/")
        }
        blamed = {reason: n for reason, n in dropped.items() if blame(feed, reason)}
        if not blamed:
            return
        reason, n = max(blamed.items(), key=lambda kv: kv[1])
        if n < MIN_DROPPED or 2 * n <= sum(dropped.values()):
            return
        culprit = blame(feed, reason)
        feed_stats(self.crawler, feed.name).set(
            "drift", f"every article dropped as {reason}: {culprit}"
        )
        logger.warning(
            "Feed %s: no article mirrored, %d of %d dropped as %s: %s",
            feed.name,
            n,
            sum(dropped.values()),
            reason,
            culprit,
        )
