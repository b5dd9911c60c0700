"""Cleans the article body (SPEC §3.2) with the feed's own boilerplate rules."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.cleaning import BodyCleaner, clean_digest
from crawler.items import Article


class CleanPipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.cleaner: BodyCleaner | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        if self.cleaner is None:
            self.cleaner = BodyCleaner(self.crawler.spider.feed.drop)
        item.body = self.cleaner.clean(item.body or "", item.url)
        if self.crawler.spider.feed.rolling:
            item.digest = clean_digest(item.digest or "")
        if not item.body:
            self.crawler.stats.inc_value("mirror/dropped")
            self.crawler.stats.inc_value("mirror/dropped/empty_body")
            raise DropItem("empty_body", log_level="WARNING")
        return item
