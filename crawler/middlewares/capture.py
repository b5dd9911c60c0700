"""Raw capture during a crawl (SPEC §11; the files: :mod:`crawler.mirror.capture`).

Two halves, both off unless ``MIRROR_CAPTURE``:

- :class:`CaptureDownloaderMiddleware`, placed between Scrapy's
  ``HttpCompressionMiddleware`` (590) and ``RedirectMiddleware`` (600): a
  downloader middleware's ``process_response`` runs from the highest order
  down, so at 595 it sees the final response (redirects followed) with its
  body as received, before it is decompressed, and keeps it with its request
  in ``request.meta``. The spider passes a listing's exchange on to the
  article requests it yields from it (``LISTING``).
- :class:`CaptureSpiderMiddleware` holds each article's exchange (and its listing's)
  until its post is written (:data:`crawler.signals.post_written`): only then
  are the records appended to this crawler's WARC file and the post's
  provenance recorded. A revisit's exchange is held the same way until it
  changes its post (:data:`crawler.signals.post_revised`), then appended as
  the post's ``revision`` record: the response its title and body now come
  from. An article dropped, filtered, known or revisited unchanged meanwhile
  leaves nothing behind.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler.cleaning.cleaner import cleaner_version
from crawler.cleaning.rules import DEFAULT_RULES
from crawler.items import Article
from crawler.mirror.capture import (
    CaptureWriter,
    Exchange,
    ProvenanceLog,
    exchange_of,
    recover,
    stale_open_files,
)
from crawler.mirror.revisions import versions
from crawler.perfeed import feed_named, feed_stats
from crawler.signals import post_revised, post_written

logger = logging.getLogger(__name__)

EXCHANGE = "mirror_capture"  # request.meta: the exchange of its own response
LISTING = "mirror_capture_listing"  # article request.meta: its listing's exchange


class CaptureDownloaderMiddleware:
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CaptureDownloaderMiddleware:
        if not crawler.settings.getbool("MIRROR_CAPTURE"):
            raise NotConfigured
        return cls()

    def process_response(self, request: Request, response: Response) -> Response:
        request.meta[EXCHANGE] = exchange_of(request, response)
        return response


class CaptureSpiderMiddleware:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.root = Path(settings.get("MIRROR_DIR"))
        self.max_bytes = settings.getint("MIRROR_CAPTURE_MAX_BYTES")
        self.durable = settings.getbool("MIRROR_FSYNC")
        self.pending: dict[str, list[tuple[str, Exchange]]] = {}
        self.writer: CaptureWriter | None = None
        # by feed: its drop selectors and the version of the cleaning it gets
        self.cleaning: dict[str, tuple[tuple[str, ...], str]] = {}
        self.provenance = ProvenanceLog(self.root, self.durable)
        self.failed = False
        crawler.signals.connect(self.post_written, signal=post_written)
        crawler.signals.connect(self.post_revised, signal=post_revised)
        crawler.signals.connect(self.forget, signal=signals.item_scraped)
        crawler.signals.connect(self.forget, signal=signals.item_dropped)
        crawler.signals.connect(self.forget, signal=signals.item_error)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CaptureSpiderMiddleware:
        if not crawler.settings.getbool("MIRROR_CAPTURE"):
            raise NotConfigured
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        self.writer = CaptureWriter(self.root, spider.name, self.max_bytes, self.durable)
        for path in stale_open_files(self.root):
            try:
                kept = recover(path, self.durable)
            except OSError as e:
                logger.error("Cannot recover capture file %s left open by a crash: %s", path, e)
                continue
            logger.warning(
                "Capture file %s was left open by a crash: %d record pairs kept, "
                "the rest lost (scrapy verify --capture names the posts without capture)",
                path,
                kept,
            )

    def process_spider_output(
        self, response: Response, result: Iterable[Any], spider: Spider | None = None
    ) -> Iterator[Any]:
        for out in result:
            self.see(response, out)
            yield out

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Spider | None = None
    ) -> AsyncIterator[Any]:
        async for out in result:
            self.see(response, out)
            yield out

    def see(self, response: Response, out: Any) -> None:
        exchange = response.meta.get(EXCHANGE)
        if exchange is None:
            return
        if isinstance(out, Article):
            if out.revisit:  # its listing is the first fetch's, recorded with it
                self.pending[out.info_code] = [("revision", exchange)]
                return
            records = [("article", exchange)]
            listing = response.meta.get(LISTING)
            if listing is not None:
                records.append(("listing", listing))
            self.pending[out.info_code] = records

    def post_written(self, item: Article, path: Path) -> None:
        self.capture(item, path)

    def post_revised(self, item: Article, path: Path) -> None:
        self.capture(item, path)

    def cleaning_of(self, name: str) -> tuple[tuple[str, ...], str]:
        """The drop selectors of the feed ``name`` and the version of its cleaning."""
        known = self.cleaning.get(name)
        if known is None:
            feed = feed_named(self.crawler, name)
            drop = tuple(feed.drop) if feed is not None else ()
            cleaning = feed.cleaning if feed is not None else DEFAULT_RULES
            known = self.cleaning[name] = (drop, cleaner_version(drop, cleaning))
        return known

    def capture(self, item: Article, path: Path) -> None:
        records = self.pending.pop(item.info_code, None)
        if records is None or self.writer is None or self.failed:
            return
        drop, cleaner = self.cleaning_of(item.feed)
        try:
            # The line counts the post's revisions: one made later without its
            # capture (capture off, or a crash before its line) shows as one more.
            revisions = len(versions(self.root, item.info_code, path))
            refs = self.writer.write(records)
            self.provenance.append(
                item.info_code, item.feed, path.name, cleaner, drop, refs, revisions
            )
        except OSError as e:
            # The post is written; only its capture is not. Said once, counted.
            self.failed = True
            feed_stats(self.crawler, item.feed).inc("errors/capture")
            logger.error(
                "Cannot write the capture of post %s of feed %s: %s; capture is off for the "
                "rest of this crawl (scrapy verify --capture names the posts without capture)",
                item.info_code,
                item.feed,
                e,
            )
            return
        feed_stats(self.crawler, item.feed).inc("capture/records", len(refs))

    def forget(self, item: Any, **kwargs: Any) -> None:
        if isinstance(item, Article):
            self.pending.pop(item.info_code, None)

    def spider_closed(self, spider: Spider) -> None:
        self.pending.clear()
        try:
            if self.writer is not None:
                self.writer.close()
                if self.writer.closed_files:
                    self.crawler.stats.set_value("mirror/capture/files", self.writer.closed_files)
            self.provenance.close()
        except OSError as e:
            self.crawler.stats.inc_value("mirror/errors/capture")
            logger.error("Cannot close the capture file of %s: %s", spider.name, e)
