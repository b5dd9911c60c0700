"""Cleans the article body (SPEC §3.2) with the feed's own boilerplate rules
(``drop``) and its source's markup rules (``cleaning``, :mod:`crawler.cleaning.rules`).

A body larger than ``MIRROR_MAX_BODY_BYTES`` once cleaned is dropped as
``too_large``: nothing a source sends may make one post multiply the site's
build time or the size of its Atom feeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from scrapy.crawler import Crawler

from crawler.cleaning.cleaner import BodyCleaner, clean_digest
from crawler.cleaning.rules import load_rules
from crawler.items import Article, ArticleDropped

if TYPE_CHECKING:
    from crawler.spiders.feed import FeedSpider


class CleanPipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.cleaner: BodyCleaner | None = None
        self.max_bytes = crawler.settings.getint("MIRROR_MAX_BODY_BYTES")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        feed = cast("FeedSpider", self.crawler.spider).feed  # an Article is a FeedSpider's
        if self.cleaner is None:
            self.cleaner = BodyCleaner(feed.drop, load_rules(feed.cleaning))
        item.body = self.cleaner.clean(item.body or "", item.url)
        if feed.rolling:
            item.digest = clean_digest(item.digest or "")
        if not item.body:
            self.drop("empty_body")
        if self.max_bytes > 0:
            size = len(item.body.encode("utf-8"))
            if size > self.max_bytes:
                self.drop(
                    "too_large",
                    f"{size} bytes once cleaned, over MIRROR_MAX_BODY_BYTES {self.max_bytes}",
                )
        return item

    def drop(self, reason: str, detail: str = "") -> None:
        raise ArticleDropped(reason, detail)  # counted by the spider, with the claim settled
