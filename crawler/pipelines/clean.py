"""Cleans the article body (SPEC §3.2) with the feed's own boilerplate rules
(``drop``) and its source's markup rules (``cleaning``, :mod:`crawler.cleaning.rules`):
:func:`crawler.cleaning.articles.clean_article`, in a worker process when one
is free (:mod:`crawler.offload`).

A body larger than ``MIRROR_MAX_BODY_BYTES`` once cleaned is dropped as
``too_large``: nothing a source sends may make one post multiply the site's
build time or the size of its Atom feeds.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from crawler.items import Article
from crawler.offload.pool import worker_pool
from crawler.perfeed import feed_named


class CleanPipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.workers = worker_pool(crawler)
        self.max_bytes = crawler.settings.getint("MIRROR_MAX_BODY_BYTES")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanPipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        feed = feed_named(self.crawler, item.feed)
        assert feed is not None  # an Article is of a feed the spider crawls
        # Drops are counted by the spider.
        item.body, item.digest = await self.workers.call("cleaned", feed, item, self.max_bytes)
        return item
