"""Cleans the article body (SPEC §3.2) with the feed's own boilerplate rules
(``drop``) and its source's markup rules (``cleaning``, :mod:`crawler.cleaning.rules`).

A body larger than ``MIRROR_MAX_BODY_BYTES`` once cleaned is dropped as
``too_large``: nothing a source sends may make one post multiply the site's
build time or the size of its Atom feeds.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from crawler.cleaning.cleaner import BodyCleaner, clean_digest
from crawler.cleaning.rules import load_rules
from crawler.items import Article, ArticleDropped
from crawler.perfeed import feed_named
from crawler.source.catalog import Feed


class CleanPipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.cleaners: dict[str, BodyCleaner] = {}  # by feed: its drop selectors and rules
        self.max_bytes = crawler.settings.getint("MIRROR_MAX_BODY_BYTES")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        feed = feed_named(self.crawler, item.feed)
        assert feed is not None  # an Article is of a feed the spider crawls
        cleaner = self.cleaners.get(feed.name)
        if cleaner is None:
            cleaner = self.cleaners[feed.name] = feed_cleaner(feed)
        clean_article(item, feed, cleaner, self.max_bytes)  # counted by the spider
        return item


def feed_cleaner(feed: Feed) -> BodyCleaner:
    """The cleaner of ``feed``'s bodies: its ``drop`` selectors and its
    source's rules (``cleaning``); a crawl's and ``scrapy rebuild``'s."""
    return BodyCleaner(feed.drop, load_rules(feed.cleaning))


def clean_article(
    item: Article,
    feed: Feed,
    cleaner: BodyCleaner,
    max_bytes: int,
    fired: set[str] | None = None,
) -> None:
    """Cleans ``item``'s body (and digest); :class:`ArticleDropped` if nothing
    (or too much) is left. ``fired`` collects the cleaning rules that removed
    something (:meth:`BodyCleaner.clean`)."""
    item.body = cleaner.clean(item.body or "", item.url, fired)
    if feed.rolling:
        item.digest = clean_digest(item.digest or "")
    if not item.body:
        raise ArticleDropped("empty_body")
    if max_bytes > 0:
        size = len(item.body.encode("utf-8"))
        if size > max_bytes:
            raise ArticleDropped(
                "too_large", f"{size} bytes once cleaned, over MIRROR_MAX_BODY_BYTES {max_bytes}"
            )
