"""The internals crawler.compat relies on, checked against the installed Scrapy
and Twisted: an upgrade that moves or changes one fails here, by name."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from scrapy import Request, Spider
from scrapy.commands import BaseRunSpiderCommand
from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.core.downloader import Downloader, Slot
from scrapy.core.engine import ExecutionEngine
from scrapy.core.scraper import Scraper
from scrapy.crawler import AsyncCrawlerRunner, Crawler
from scrapy.exceptions import ResponseDataLossError
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from twisted.internet import error as tx
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.client import ResponseFailed

from crawler import compat
from crawler.source.failures import error_kind

# No download handler: the engine is built, nothing is ever downloaded.
NO_HANDLERS = {scheme: None for scheme in ("http", "https", "data", "file", "s3", "ftp")}


def with_engine(test: Callable[[ExecutionEngine], Awaitable[None]], **settings: Any) -> None:
    """Run ``test`` with a real engine (not started), in a running asyncio loop."""

    async def run() -> None:
        crawler = get_crawler(Spider, {"DOWNLOAD_HANDLERS": NO_HANDLERS, **settings})
        crawler.spider = Spider.from_crawler(crawler, name="compat")
        engine = ExecutionEngine(crawler, lambda spider: None)
        try:
            await test(engine)
        finally:
            engine.downloader.close()

    asyncio.run(run())


# -- twisted.web.http._DataLoss ------------------------------------------------
def test_twisted_data_loss_is_what_a_body_cut_short_raises():
    decoder = http._IdentityTransferDecoder(10, lambda data: None, lambda rest: None)
    decoder.dataReceived(b"only 7!")
    with pytest.raises(compat.TwistedDataLoss):
        decoder.noMoreData()


def test_a_response_failed_on_data_loss_is_counted_as_dataloss():
    # As Twisted's HTTP client reports it, unwrapped by Scrapy.
    lost = ResponseFailed([Failure(compat.TwistedDataLoss()), Failure(tx.ConnectionDone())])
    assert error_kind(Failure(lost)) == "dataloss"
    wrapped = ResponseDataLossError()
    wrapped.__cause__ = lost
    assert error_kind(Failure(wrapped)) == "dataloss"


# -- BaseRunSpiderCommand._create_crawler -----------------------------------------
def test_scrapy_crawl_makes_its_crawler_in_create_crawler():
    assert list(inspect.signature(BaseRunSpiderCommand._create_crawler).parameters) == [
        "self",
        "spidercls",
    ]
    run = inspect.getsource(ScrapyCrawlCommand.run)
    assert "self.crawler_process.crawl(self._create_crawler(" in run, run


def test_crawl_command_tells_crawler_created_of_the_crawler_it_makes():
    seen: list[Crawler] = []

    class Recording(compat.CrawlCommand):
        def crawler_created(self, crawler: Crawler) -> None:
            seen.append(crawler)

    command = Recording()
    # A runner makes crawlers as the command's CrawlerProcess does, without a reactor.
    command.crawler_process = AsyncCrawlerRunner()  # type: ignore[assignment]
    crawler = command._create_crawler(Spider)
    assert seen == [crawler]
    assert crawler.spidercls is Spider


# -- engine.downloader.active, engine.scraper.slot --------------------------------
def test_engine_requests_are_the_downloaders_and_the_scrapers():
    async def test(engine: ExecutionEngine) -> None:
        assert isinstance(engine.downloader, Downloader)
        assert isinstance(engine.scraper, Scraper)
        assert list(compat.engine_requests(engine)) == []
        assert compat.downloader_idle(engine)

        downloading = Request("http://a.example/1")
        engine.downloader.active.add(downloading)
        assert list(compat.engine_requests(engine)) == [downloading]
        assert not compat.downloader_idle(engine)

        await engine.scraper.open_spider_async()
        slot = engine.scraper.slot
        assert slot is not None
        scraped, waiting = Request("http://a.example/2"), Request("http://a.example/3")
        for request in (scraped, waiting):
            slot.add_response_request(HtmlResponse(request.url, request=request), request)
        slot.next_response_request_deferred()  # the first is being scraped now
        assert list(compat.engine_requests(engine)) == [downloading, scraped, waiting]

    with_engine(test)


def test_a_full_downloader_is_not_idle():
    async def test(engine: ExecutionEngine) -> None:
        for n in range(2):
            engine.downloader.active.add(Request(f"http://a.example/{n}"))
        assert engine.downloader.needs_backout()
        assert not compat.downloader_idle(engine)

    with_engine(test, CONCURRENT_REQUESTS=2)


# -- engine.downloader.get_slot_key, engine.downloader.slots, Slot.jitter ---------
def test_download_slot_is_the_downloaders_slot_of_the_request():
    async def test(engine: ExecutionEngine) -> None:
        request = Request("http://a.example/1")
        key = compat.download_slot_key(engine, request)
        assert key == "a.example"
        assert compat.download_slot(engine, key) is None  # none before its first request
        engine.downloader._get_slot(request)  # as the downloader does when it queues one
        slot = compat.download_slot(engine, key)
        assert isinstance(slot, Slot)
        assert slot.delay == 2.0
        assert slot.jitter == 0.5
        # What the politeness gate does: a slot without jitter waits the delay exactly.
        slot.jitter = 0
        assert {slot.download_delay() for _ in range(20)} == {2.0}

    with_engine(test, DOWNLOAD_DELAY=2)


def test_a_download_slot_of_its_own_has_its_own_key():
    async def test(engine: ExecutionEngine) -> None:
        request = Request("http://a.example/1", meta={"download_slot": "mine"})
        assert compat.download_slot_key(engine, request) == "mine"

    with_engine(test)


def test_listened_tells_whether_a_signal_has_a_receiver() -> None:
    from crawler.signals import listened, post_written

    crawler = get_crawler(Spider)
    assert not listened(crawler.signals, post_written)
    heard: list[Any] = []

    def receiver(**kwargs: Any) -> None:
        heard.append(kwargs)

    crawler.signals.connect(receiver, signal=post_written)
    assert listened(crawler.signals, post_written)
    crawler.signals.disconnect(receiver, signal=post_written)
    assert not listened(crawler.signals, post_written)
