"""Cleans the article body (SPEC §3.2) with the feed's own boilerplate rules.

A body larger than ``MIRROR_MAX_BODY_BYTES`` once cleaned is dropped as
``too_large``: nothing a source sends may make one post multiply the site's
build time or the size of its Atom feeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.cleaning.cleaner import BodyCleaner, clean_digest
from crawler.items import Article
from crawler.source.catalog import Feed

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
            self.cleaner = BodyCleaner(feed.drop)
        dropped = clean_article(item, feed, self.cleaner, self.max_bytes)
        if dropped:
            reason, detail = dropped
            self.crawler.stats.inc_value("mirror/dropped")
            self.crawler.stats.inc_value(f"mirror/dropped/{reason}")
            raise DropItem(f"{reason}: {detail}" if detail else reason, log_level="WARNING")
        return item


def clean_article(
    item: Article,
    feed: Feed,
    cleaner: BodyCleaner,
    max_bytes: int,
    fired: set[str] | None = None,
) -> tuple[str, str] | None:
    """Cleans ``item``'s body (and digest); the drop reason and its detail if
    nothing (or too much) is left. ``fired`` collects the cleaning rules that
    removed something (:meth:`BodyCleaner.clean`)."""
    item.body = cleaner.clean(item.body or "", item.url, fired)
    if feed.rolling:
        item.digest = clean_digest(item.digest or "")
    if not item.body:
        return "empty_body", ""
    if max_bytes > 0:
        size = len(item.body.encode("utf-8"))
        if size > max_bytes:
            return "too_large", f"{size} bytes once cleaned, over MIRROR_MAX_BODY_BYTES {max_bytes}"
    return None
