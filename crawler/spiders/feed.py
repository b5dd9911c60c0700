"""The spider of a feed: listing pages → share links → articles.

One class serves every feed; :mod:`crawler.spiderloader` makes a subclass per
catalog entry, named after it, with the checked :class:`~crawler.catalog.Feed`
as its ``feed`` attribute.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotSupported
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.catalog import ARTICLE_FIELDS, Feed
from crawler.dedup import DedupStore, close_store, open_store
from crawler.items import Article
from crawler.listings import Entry, ListingError, listing_for

logger = logging.getLogger(__name__)

LISTING_PRIORITY = 10  # the next listing page before the articles already found


class FeedSpider(scrapy.Spider):
    feed: Feed
    store: DedupStore

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> FeedSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.store = open_store(crawler.settings)
        spider.listing = listing_for(spider.feed)
        spider.resume = False
        crawler.signals.connect(spider.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(spider.item_failed, signal=signals.item_error)
        crawler.signals.connect(spider.spider_closed, signal=signals.spider_closed)
        return spider

    @classmethod
    def allowed_hosts(cls, feed: Feed) -> list[str]:
        urls = [*feed.start_urls, feed.list_api, feed.api]
        return sorted({urlsplit(u).hostname or "" for u in urls if u} - {""})

    # -- listings -----------------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        self.resume = self.store.begin_walk(self.name)
        if self.resume:
            logger.info(
                "Feed %s: the last listing walk was cut short; paging on to page %d",
                self.name, self.feed.max_pages,
            )
        for url in self.listing.first_urls():
            yield self.listing_request(url, 1)

    def listing_request(self, url: str, page: int) -> Request:
        return Request(
            url,
            callback=self.parse_listing,
            errback=self.listing_failed,
            cb_kwargs={"page": page},
            priority=LISTING_PRIORITY,
            dont_filter=True,
        )

    def parse_listing(self, response: Response, page: int) -> Iterator[Request]:
        stats = self.crawler.stats
        stats.inc_value("mirror/pages")
        try:
            found = self.listing.parse(response, page)
        except (ListingError, NotSupported) as e:
            stats.inc_value("mirror/errors/listing")
            logger.error(
                "Listing page of feed %s cannot be read: %s <%s>", self.name, e, response.url
            )
            return
        for rejected in found.rejected:
            self.count_drop(rejected.reason)
            logger.warning(
                "Dropped an entry of feed %s: %s (%s) on listing <%s>",
                self.name, rejected.reason, rejected.what, response.url,
            )
        if page == 1 and not found.entries:
            stats.inc_value("mirror/empty_listing")
            logger.warning(
                "Feed %s: no article found on listing <%s> (share_link %r%s)",
                self.name, response.url, self.feed.share_link.pattern,
                f", list_records {self.feed.list_records!r}" if self.feed.list_api else "",
            )
        self.store.refresh()
        new = 0
        for entry in found.entries:
            outlet = entry.fields.get("outlet")
            if outlet is not None and not self.feed.wants_outlet(outlet):
                stats.inc_value("mirror/filtered")
                continue
            if not self.store.claim(entry.info_code):
                stats.inc_value("mirror/known")
                continue
            new += 1
            yield self.article_request(entry)
        logger.debug(
            "Feed %s page %d: %d articles, %d new <%s>",
            self.name, page, len(found.entries), new, response.url,
        )
        if found.next_url and page < self.feed.max_pages and (new or self.resume):
            yield self.listing_request(found.next_url, page + 1)

    def listing_failed(self, failure: Failure) -> None:
        self.crawler.stats.inc_value("mirror/errors/listing")
        logger.error(
            "Listing page of feed %s failed: %s <%s>",
            self.name, describe(failure), failure.request.url,
        )

    # -- articles -----------------------------------------------------------
    def article_request(self, entry: Entry) -> Request:
        code = entry.info_code
        if self.feed.api:
            url = self.feed.api.format(infoCode=code)
        else:
            url = entry.url or self.feed.share_url.format(infoCode=code)
        share_url = (
            self.feed.share_url.format(infoCode=code) if self.feed.share_url
            else entry.url or url
        )
        return Request(
            url,
            callback=self.parse_article,
            errback=self.article_failed,
            cb_kwargs={"entry": entry, "share_url": share_url},
            meta={"info_code": code},
            dont_filter=True,
        )

    def parse_article(
        self, response: Response, entry: Entry, share_url: str
    ) -> Iterator[Article]:
        try:
            found = self.api_fields(response) if self.feed.api else self.page_fields(response)
        except ValueError as e:
            self.drop(entry.info_code, response.url, str(e))
            return
        fields = {name: found.get(name) or entry.fields.get(name) for name in ARTICLE_FIELDS}
        yield Article(
            feed=self.name,
            info_code=entry.info_code,
            url=response.url,
            share_url=share_url,
            **fields,
        )

    def page_fields(self, response: Response) -> dict[str, str | None]:
        if not isinstance(response, TextResponse):
            raise ValueError("not_html")
        found: dict[str, str | None] = {}
        for name, css in self.feed.article.items():
            if name == "body":
                nodes = response.css(css)
                found[name] = "".join(nodes[0].xpath("node()").getall()) if nodes else None
            elif "::" in css:
                found[name] = " ".join(response.css(css).getall()) or None
            else:
                nodes = response.css(css)
                found[name] = nodes[0].xpath("string()").get() if nodes else None
        return found

    def api_fields(self, response: Response) -> dict[str, str | None]:
        try:
            data = json.loads(response.body)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("bad_json") from None
        if not isinstance(data, Mapping):
            raise ValueError("bad_json")
        found: dict[str, str | None] = {}
        for name, key in self.feed.api_fields.items():
            value = data.get(key)
            found[name] = None if value is None else str(value)
        return found

    def article_failed(self, failure: Failure) -> None:
        request = failure.request
        code = request.meta["info_code"]
        status = failure.value.response.status if failure.check(HttpError) else None
        if status is not None and 400 <= status < 500 and status != 429:
            # Gone or refused: not asked for again before the retry window.
            self.store.forget_drop(code)
        else:
            self.store.release(code)
        kind = f"http_{status}" if status else type(failure.value).__name__
        self.crawler.stats.inc_value(f"mirror/errors/{kind}")
        logger.error(
            "Article %s of feed %s failed: %s <%s>",
            code, self.name, describe(failure), request.url,
        )

    # -- outcomes -----------------------------------------------------------
    def count_drop(self, reason: str) -> None:
        self.crawler.stats.inc_value("mirror/dropped")
        self.crawler.stats.inc_value(f"mirror/dropped/{reason}")

    def drop(self, code: str, url: str, reason: str) -> None:
        self.count_drop(reason)
        self.store.forget_drop(code)
        logger.warning("Dropped article %s of feed %s: %s <%s>", code, self.name, reason, url)

    def item_dropped(self, item: Any, exception: BaseException, **kwargs: Any) -> None:
        if isinstance(item, Article):
            self.store.forget_drop(item.info_code)

    def item_failed(self, item: Any, **kwargs: Any) -> None:
        if isinstance(item, Article):
            self.store.release(item.info_code)

    def spider_closed(self, reason: str) -> None:
        if reason == "finished":
            self.store.end_walk(self.name)
        close_store(self.store)


def describe(failure: Failure) -> str:
    if failure.check(HttpError):
        return f"HTTP {failure.value.response.status}"
    return f"{type(failure.value).__name__}: {failure.getErrorMessage()}"
