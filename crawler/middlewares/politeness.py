"""Per-host politeness that holds for the whole process, and for a whole fleet.

Scrapy bounds ``CONCURRENT_REQUESTS_PER_DOMAIN`` and ``DOWNLOAD_DELAY`` per
crawler, so the crawlers of one process (a fleet worker's, a crawler per
feed) add up, and under its default asyncio reactor Scrapy 2.19 overshoots
the bound even within one crawler (``crawlall``'s one crawler of every feed:
two feeds on one host share the host's gate as they share its slot).
:class:`PolitenessMiddleware` sits last before the download handler and makes
each request wait for a permit of its host (the downloader's slot key):

- in this process, a :class:`HostGate` per host shared by every crawler:
  at most ``CONCURRENT_REQUESTS_PER_DOMAIN`` requests at once, started at
  least ``DOWNLOAD_DELAY`` apart (AutoThrottle's current delay where it is
  on and larger; ``DOWNLOAD_SLOTS`` may set both per host);
- with ``POLITENESS_LEASES`` (a class path; the fleet add-on sets
  :class:`crawler.fleet.politeness.FleetHostLeases`), also a lease from that
  backend, so that the same bounds hold for every worker of the fleet together.

The gates live in the process object (:class:`crawler.process.MirrorProcess`),
not in this module.

The permit is given back when the response (or the failure) comes back, or
when the request leaves the downloader, whichever is first.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, Protocol

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.asyncio import is_asyncio_available
from scrapy.utils.misc import build_from_crawler, load_object

from crawler.compat import download_slot, download_slot_key
from crawler.process import process_of


class HostGate:
    """At most ``limit`` requests to one host at once, started ``delay`` s apart."""

    def __init__(self) -> None:
        self.active = 0
        self.next_start = 0.0
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self, limit: int, delay: float) -> bool:
        """Wait for a permit; whether it had to wait."""
        waited = False
        while True:
            if self.active < max(1, limit):
                now = time.monotonic()
                if now >= self.next_start:
                    self.active += 1
                    self.next_start = now + delay
                    return waited
                waited = True
                await asyncio.sleep(self.next_start - now)
                continue
            waited = True
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.waiters.append(future)
            try:
                await future
            finally:
                if future in self.waiters:
                    self.waiters.remove(future)

    def release(self) -> None:
        self.active -= 1
        while self.waiters:
            future = self.waiters.popleft()
            if not future.done():
                future.set_result(None)
                break


class HostLeases(Protocol):
    """A politeness backend beyond this process (``POLITENESS_LEASES``)."""

    async def acquire(self, host: str, limit: int, delay: float) -> tuple[str, bool]:
        """A lease on ``host``; whether it had to wait for it."""

    def release(self, lease: str) -> None:
        """Give the lease back."""


class HostGates:
    """The gates of every host, shared by the crawlers of one process."""

    def __init__(self) -> None:
        self.gates: dict[str, HostGate] = {}
        self.waiting = 0  # requests of this process waiting for a permit, all hosts

    def gate(self, key: str) -> HostGate:
        gate = self.gates.get(key)
        if gate is None:
            gate = self.gates[key] = HostGate()
        return gate

    @classmethod
    def of(cls, crawler: Crawler) -> HostGates:
        """The gates of the crawler's process."""
        return process_of(crawler).keep("host-gates", "", cls)


def waiting(crawler: Crawler) -> int:
    """How many requests of the crawler's process wait for a permit (a fleet
    worker takes no more from the shared queue while enough do)."""
    return HostGates.of(crawler).waiting


class PolitenessMiddleware:
    def __init__(self, crawler: Crawler, fleet: HostLeases | None = None):
        settings = crawler.settings
        self.crawler = crawler
        self.limit = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        self.delay = settings.getfloat("DOWNLOAD_DELAY")
        self.per_host = settings.getdict("DOWNLOAD_SLOTS")
        self.autothrottle = settings.getbool("AUTOTHROTTLE_ENABLED")
        self.start_delay = max(self.delay, settings.getfloat("AUTOTHROTTLE_START_DELAY"))
        self.fleet = fleet
        self.gates = HostGates.of(crawler)
        self.held: dict[Request, tuple[HostGate, str | None]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PolitenessMiddleware:
        settings = crawler.settings
        if not settings.getbool("POLITENESS_ENABLED"):
            raise NotConfigured
        if not is_asyncio_available():
            raise NotConfigured("per-host politeness needs Scrapy's asyncio reactor")
        backend = settings.get("POLITENESS_LEASES")
        fleet = build_from_crawler(load_object(backend), crawler) if backend else None
        mw = cls(crawler, fleet)
        crawler.signals.connect(mw.request_left_downloader, signal=signals.request_left_downloader)
        return mw

    def bounds(self, key: str) -> tuple[int, float]:
        """The host's concurrency limit and the delay between request starts."""
        own = self.per_host.get(key) or {}
        limit = int(own.get("concurrency", self.limit))
        delay = float(own.get("delay", self.delay))
        engine = self.crawler.engine
        slot = download_slot(engine, key) if engine is not None else None
        if slot is not None:
            # Requests leave in the order and at the times the gate grants
            # them: the download slot's random jitter on top would hold one
            # past its turn, to reach the host just before another worker's.
            slot.jitter = 0
        if self.autothrottle:
            # A host's first request has no slot yet: AutoThrottle's start delay.
            delay = max(delay, slot.delay if slot is not None else self.start_delay)
        return limit, delay

    async def process_request(self, request: Request) -> None:
        engine = self.crawler.engine
        assert engine is not None
        key = download_slot_key(engine, request)
        limit, delay = self.bounds(key)
        gate = self.gates.gate(key)
        self.gates.waiting += 1
        try:
            waited = await gate.acquire(limit, delay)
            lease = None
            if self.fleet is not None:
                try:
                    lease, fleet_waited = await self.fleet.acquire(key, limit, delay)
                except BaseException:
                    gate.release()
                    raise
                waited = waited or fleet_waited
        finally:
            self.gates.waiting -= 1
        self.held[request] = (gate, lease)
        if waited and self.crawler.stats is not None:
            self.crawler.stats.inc_value("politeness/waited")

    def release(self, request: Request) -> None:
        held = self.held.pop(request, None)
        if held is None:
            return
        gate, lease = held
        gate.release()
        if lease is not None and self.fleet is not None:
            self.fleet.release(lease)

    def process_response(self, request: Request, response: Response) -> Response:
        self.release(request)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self.release(request)

    def request_left_downloader(self, request: Request, spider: Spider, **kwargs: Any) -> None:
        self.release(request)
