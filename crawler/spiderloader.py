"""Spiders from the feed catalog: each feed is a spider of the same name."""

from __future__ import annotations

import builtins
import sys

from scrapy import Spider
from scrapy.http import Request
from scrapy.settings import BaseSettings

from crawler.source.catalog import CatalogError, Feed, load_catalog
from crawler.spiders.feed import FeedSpider

FEEDS_SPIDER = "feeds"  # the name of the spider of several feeds (its log lines say it)


def spider_class(feed: Feed) -> type[FeedSpider]:
    """The spider of ``feed`` alone (``scrapy crawl FEED``)."""
    return type(
        f"{feed.name}_spider",
        (FeedSpider,),
        {
            "name": feed.name,
            "feed": feed,
            "feeds": (feed,),
            "allowed_domains": FeedSpider.allowed_hosts(feed),
            "__module__": FeedSpider.__module__,
        },
    )


def feeds_class(feeds: list[Feed]) -> type[FeedSpider]:
    """One spider crawling every one of ``feeds`` (``crawlall``); each request
    is checked against its own feed's hosts (crawler.middlewares.offsite)."""
    hosts = {host: None for feed in feeds for host in FeedSpider.allowed_hosts(feed)}
    return type(
        f"{FEEDS_SPIDER}_spider",
        (FeedSpider,),
        {
            "name": FEEDS_SPIDER,
            "feeds": tuple(feeds),
            "allowed_domains": list(hosts),
            "__module__": FeedSpider.__module__,
        },
    )


class CatalogSpiderLoader:
    def __init__(self, settings: BaseSettings):
        try:
            self.feeds = load_catalog(
                settings.get("NEWS_FEEDS_FILE") or None, settings.get("MIRROR_PINYIN")
            )
        except CatalogError as e:
            # A bad catalog stops any command at start, with the feed and key.
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        self._spiders: dict[str, type[FeedSpider]] = {}  # made when first asked for

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> CatalogSpiderLoader:
        return cls(settings)

    def load(self, spider_name: str) -> type[Spider]:
        spidercls = self._spiders.get(spider_name)
        if spidercls is None:
            feed = self.feeds.get(spider_name)
            if feed is None:
                raise KeyError(f"Spider not found: {spider_name}")
            spidercls = self._spiders[spider_name] = spider_class(feed)
        return spidercls

    def feeds_spider(self, names: builtins.list[str]) -> type[FeedSpider]:
        """The one spider of the feeds ``names`` (names of this catalog)."""
        return feeds_class([self.feeds[name] for name in names])

    def list(self) -> builtins.list[str]:
        return list(self.feeds)

    def find_by_request(self, request: Request) -> builtins.list[str]:  # list: the method
        return [name for name in self.feeds if self.load(name).handles_request(request)]
