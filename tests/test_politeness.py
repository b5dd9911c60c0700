"""Per-host politeness within one process: the middleware on its own, then a crawl.

Every crawler of a ``crawlall`` has its own ``CONCURRENT_REQUESTS_PER_DOMAIN``,
and Scrapy 2.19 under its asyncio reactor lets more requests than that reach a
host at once even within one crawler; the politeness middleware holds the
bound for the whole process. The component tests drive two crawlers' middlewares
through Scrapy's downloader-middleware interface (``process_request``, then
``process_response`` or the ``request_left_downloader`` signal) and count, at
the permit, how many requests a host has at once; the crawl counts at the
source (the replica).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from scrapy import Request, Spider, signals
from scrapy.core.engine import ExecutionEngine
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler.middlewares.politeness import PolitenessMiddleware
from crawler.process import MirrorProcess
from tests.conftest import Mirror, ReplicaServer, replica_feeds

# No download handler: the engines are built, nothing is ever downloaded.
NO_HANDLERS = {scheme: None for scheme in ("http", "https", "data", "file", "s3", "ftp")}
HOST = "http://news.example"


def with_crawlers(
    test: Callable[[list[Crawler]], Awaitable[None]], count: int = 2, **settings: Any
) -> None:
    """Run ``test`` with ``count`` crawlers of one process, each with a real engine
    (not started), in a running asyncio loop: as a ``crawlall`` has them, sharing
    one process object (``MIRROR_PROCESS``)."""

    async def run() -> None:
        process = MirrorProcess()
        crawlers = []
        for n in range(count):
            crawler = get_crawler(
                Spider,
                {
                    "DOWNLOAD_HANDLERS": NO_HANDLERS,
                    "AUTOTHROTTLE_ENABLED": False,
                    "POLITENESS_ENABLED": True,  # the project's default (crawler/settings.py)
                    "MIRROR_PROCESS": process,
                    **settings,
                },
            )
            crawler.spider = Spider.from_crawler(crawler, name=f"feed{n}")
            crawler.engine = ExecutionEngine(crawler, lambda spider: None)
            crawlers.append(crawler)
        try:
            await test(crawlers)
        finally:
            for crawler in crawlers:
                assert crawler.engine is not None
                crawler.engine.downloader.close()
            process.close()

    asyncio.run(run())


class Host:
    """What one host sees: how many requests it has at once, and when each started."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self.starts: list[float] = []

    async def fetch(self, mw: PolitenessMiddleware, request: Request, answer: bool = True) -> None:
        await mw.process_request(request)
        self.active += 1
        self.peak = max(self.peak, self.active)
        self.starts.append(time.monotonic())
        for _ in range(5):  # the download: other requests get their turn meanwhile
            await asyncio.sleep(0)
        self.active -= 1
        if answer:
            mw.process_response(request, Response(request.url, request=request))


def middlewares(crawlers: list[Crawler]) -> list[PolitenessMiddleware]:
    return [build_from_crawler(PolitenessMiddleware, crawler) for crawler in crawlers]


def test_two_crawlers_of_one_process_keep_one_per_host_limit_together():
    host = Host()

    async def test(crawlers: list[Crawler]) -> None:
        mws = middlewares(crawlers)
        fetches = [host.fetch(mws[n % 2], Request(f"{HOST}/a/{n}")) for n in range(24)]
        await asyncio.gather(*fetches)
        other = Host()  # another host is not held up by this one's limit
        await asyncio.gather(
            *(other.fetch(mws[0], Request(f"http://other.example/{n}")) for n in range(3))
        )
        assert other.peak == 3

    with_crawlers(test, CONCURRENT_REQUESTS_PER_DOMAIN=3)
    assert len(host.starts) == 24
    assert host.peak == 3, "at most 3 at once for both crawlers together, and 3 used"


def test_requests_to_a_host_start_download_delay_apart_across_crawlers():
    host = Host()

    async def test(crawlers: list[Crawler]) -> None:
        mws = middlewares(crawlers)
        await asyncio.gather(*(host.fetch(mws[n % 2], Request(f"{HOST}/{n}")) for n in range(6)))

    with_crawlers(test, CONCURRENT_REQUESTS_PER_DOMAIN=4, DOWNLOAD_DELAY=0.05)
    gaps = [b - a for a, b in zip(host.starts, host.starts[1:], strict=False)]
    assert len(gaps) == 5 and min(gaps) >= 0.05 - 0.002, gaps


def test_a_request_that_leaves_the_downloader_without_an_answer_gives_its_permit_back():
    host = Host()

    async def test(crawlers: list[Crawler]) -> None:
        [mw] = middlewares(crawlers)
        [crawler] = crawlers
        first, second = Request(f"{HOST}/1"), Request(f"{HOST}/2")
        await host.fetch(mw, first, answer=False)  # cancelled, or failed in the handler
        waiting = asyncio.ensure_future(host.fetch(mw, second))
        for _ in range(10):
            await asyncio.sleep(0)
        assert not waiting.done(), "the host's one permit is still held"
        crawler.signals.send_catch_log(
            signals.request_left_downloader, request=first, spider=crawler.spider
        )
        await asyncio.wait_for(waiting, 10)  # given the permit: it goes on

    with_crawlers(test, count=1, CONCURRENT_REQUESTS_PER_DOMAIN=1)
    assert len(host.starts) == 2


def test_the_middleware_can_be_switched_off():
    async def test(crawlers: list[Crawler]) -> None:
        with pytest.raises(NotConfigured):
            middlewares(crawlers)

    with_crawlers(test, count=1, POLITENESS_ENABLED=False)


# --- a crawl, counted at the source -----------------------------------------


@pytest.fixture(scope="module")
def replica_50ms() -> Iterator[ReplicaServer]:
    server = ReplicaServer("--latency-ms", "50")
    yield server
    server.stop()


@pytest.mark.slow
def test_seven_feeds_in_one_process_keep_the_per_host_limit(replica_50ms, tmp_path):
    mirror = Mirror(tmp_path, replica_feeds(replica_50ms))
    replica_50ms.reset()
    result = mirror.scrapy("crawlall", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=3")
    assert result.returncode == 0, result.output[-3000:]
    assert len(mirror.posts()) > 200
    assert replica_50ms.stats()["max_in_flight"] <= 3
