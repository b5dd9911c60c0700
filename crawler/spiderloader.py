"""Spiders from the feed catalog: each feed is a spider of the same name."""

from __future__ import annotations

import builtins
import sys

from scrapy import Spider
from scrapy.http import Request
from scrapy.settings import BaseSettings

from crawler.source.catalog import CatalogError, Feed, load_catalog
from crawler.spiders.feed import FeedSpider


def spider_class(feed: Feed) -> type[FeedSpider]:
    return type(
        f"{feed.name}_spider",
        (FeedSpider,),
        {
            "name": feed.name,
            "feed": feed,
            "allowed_domains": FeedSpider.allowed_hosts(feed),
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
        self._spiders = {name: spider_class(feed) for name, feed in self.feeds.items()}

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> CatalogSpiderLoader:
        return cls(settings)

    def load(self, spider_name: str) -> type[Spider]:
        try:
            return self._spiders[spider_name]
        except KeyError:
            raise KeyError(f"Spider not found: {spider_name}") from None

    def list(self) -> list[str]:
        return list(self._spiders)

    def find_by_request(self, request: Request) -> builtins.list[str]:  # list: the method
        return [name for name, cls in self._spiders.items() if cls.handles_request(request)]
