"""Checks an article and puts its fields in shape; drops what cannot be a post."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.items import Article
from crawler.source.catalog import INFO_CODE, Feed
from crawler.source.dates import parse_date

if TYPE_CHECKING:
    from crawler.spiders.feed import FeedSpider

_SOURCE_PREFIX = re.compile(r"^\s*(?:来源|来自|稿源|source)\s*[：:]\s*", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_OUTLET = 64


class FilteredOut(DropItem):
    """An article of an outlet the feed does not take (``outlets``)."""


def one_line(text: str | None) -> str:
    """Trimmed, with inner runs of whitespace (and control characters) as one space."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


class ValidatePipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        feed = cast("FeedSpider", self.crawler.spider).feed  # an Article is a FeedSpider's
        try:
            reason = check_article(item, feed)
        except FilteredOut:
            self.crawler.stats.inc_value("mirror/filtered")
            raise
        if reason:
            self.crawler.stats.inc_value("mirror/dropped")
            self.crawler.stats.inc_value(f"mirror/dropped/{reason}")
            raise DropItem(reason, log_level="WARNING")
        return item


def check_article(item: Article, feed: Feed) -> str | None:
    """Puts ``item``'s fields in shape; the drop reason if it cannot be a post
    (FilteredOut: an outlet the feed does not take)."""
    if not INFO_CODE.fullmatch(item.info_code or ""):
        return "bad_infocode"
    item.title = one_line(item.title)
    if not item.title:
        return "missing_title"
    if not one_line(item.date):
        return "missing_date"
    try:
        item.published = parse_date(item.date or "", feed.timezone)
    except ValueError:
        return "bad_date"
    if not (item.body or "").strip():
        return "missing_body"
    outlet = one_line(_SOURCE_PREFIX.sub("", one_line(item.outlet)))[:MAX_OUTLET]
    if not feed.wants_outlet(outlet):
        raise FilteredOut(f"outlet {outlet!r} is not one of the feed's", log_level="DEBUG")
    if feed.auto_outlet and not outlet:
        return "missing_outlet"
    item.outlet = feed.outlet_for(outlet)
    item.category = feed.category_for(item.outlet)
    if not item.category:
        return "bad_outlet"
    return None
