"""The Scrapy and Twisted internals the crawler relies on, in one place.

No public API offers these. Each is named here once, saying what it is for,
and ``tests/test_compat.py`` checks each against the installed versions, so
that an upgrade which moves or changes one fails there, by name, instead of
somewhere inside a crawl. The rest of the crawler uses public APIs only.

- :data:`TwistedDataLoss`: ``twisted.web.http._DataLoss``, what Twisted's HTTP
  client raises for a body cut short of its Content-Length (Scrapy itself
  looks for it to raise :class:`~scrapy.exceptions.ResponseDataLossError`).
- :class:`CrawlCommand`: Scrapy's ``crawl`` command, telling a subclass of the
  crawler it makes before the crawl starts (``_create_crawler``).
- :func:`engine_requests`, :func:`downloader_idle`: what the engine's
  downloader and scraper hold (``engine.downloader.active``,
  ``engine.scraper.slot``), for a fleet worker to know which requests it is
  done with and whether it may hand its engine one more.
- :func:`download_slot_key`, :func:`download_slot`: the downloader's slot of
  a request (``engine.downloader.get_slot_key``, ``engine.downloader.slots``),
  whose ``delay`` and ``jitter`` the politeness gate reads and sets.

scrapy-redis's queue codec (``_encode_request``) is not among them: the
fleet's queue encodes requests with :meth:`~scrapy.Request.to_dict` and
:func:`~scrapy.utils.request.request_from_dict`, as that codec does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from twisted.web.http import _DataLoss

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.core.downloader import Slot
    from scrapy.core.engine import ExecutionEngine
    from scrapy.crawler import Crawler

__all__ = [
    "CrawlCommand",
    "TwistedDataLoss",
    "download_slot",
    "download_slot_key",
    "downloader_idle",
    "engine_requests",
]

TwistedDataLoss = _DataLoss


class CrawlCommand(ScrapyCrawlCommand):
    """Scrapy's ``crawl`` command; :meth:`crawler_created` hears of its crawler
    before the crawl starts. Scrapy's ``run`` makes the crawler in
    ``_create_crawler`` and starts it at once: that is the only moment."""

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        crawler = super()._create_crawler(spidercls)
        self.crawler_created(crawler)
        return crawler

    def crawler_created(self, crawler: Crawler) -> None:
        """Called with the crawler ``run`` is about to start."""


def engine_requests(engine: ExecutionEngine) -> Iterator[Request]:
    """The requests the engine holds: downloading, or their answer being scraped."""
    yield from engine.downloader.active
    slot = engine.scraper.slot
    if slot is not None:
        yield from slot.active
        for _, request, _ in slot.queue:
            yield request


def downloader_idle(engine: ExecutionEngine) -> bool:
    """Whether the downloader has nothing in flight and room for more."""
    return not engine.downloader.active and not engine.downloader.needs_backout()


def download_slot_key(engine: ExecutionEngine, request: Request) -> str:
    """The key of the download slot (the host, or a ``download_slot``) of ``request``."""
    return engine.downloader.get_slot_key(request)


def download_slot(engine: ExecutionEngine, key: str) -> Slot | None:
    """The downloader's slot ``key``; None before its first request is enqueued."""
    return engine.downloader.slots.get(key)
