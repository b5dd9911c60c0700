"""Checks an article and puts its fields in shape; drops what cannot be a post."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from crawler.items import Article, ArticleDropped, Outcome
from crawler.perfeed import feed_named
from crawler.source.catalog import INFO_CODE, Feed
from crawler.source.dates import parse_date
from crawler.source.fields import one_line, outlet_name, takes_outlet


class ValidatePipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        feed = feed_named(self.crawler, item.feed)
        assert feed is not None  # an Article is of a feed the spider crawls
        check_article(item, feed)  # counted by the spider, with the claim settled
        return item


def check_article(item: Article, feed: Feed) -> None:
    """Puts ``item``'s fields in shape; :class:`ArticleDropped` if it cannot be
    a post (outcome FILTERED: an outlet the feed does not take). The crawl's
    pipeline and ``scrapy rebuild`` alike."""
    reason = _check(item, feed)
    if reason:
        raise ArticleDropped(reason)


def _check(item: Article, feed: Feed) -> str | None:
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
    outlet = outlet_name(item.outlet)
    if not takes_outlet(feed, outlet):
        raise ArticleDropped(
            "filtered",
            f"outlet {outlet!r} is not one of the feed's",
            Outcome.FILTERED,
            log_level="DEBUG",
        )
    if feed.auto_outlet and not outlet:
        return "missing_outlet"
    item.outlet = feed.outlet_for(outlet)
    item.category = feed.category_for(item.outlet)
    if not item.category:
        return "bad_outlet"
    return None
