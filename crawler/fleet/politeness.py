"""Per-host leases in Redis: a host's politeness bounds for the whole fleet.

A lease is a member of ``…:host:{host}:leases`` scored by its expiry; a host
has at most ``limit`` unexpired leases, and leases start at least ``delay``
apart (``…:host:{host}:next``). The worker renews its leases with each
heartbeat, so a killed worker's leases lapse within ``FLEET_WORKER_TIMEOUT``.
A request that finds no free lease polls again, backing off up to 20 ms,
unless a request of the same worker hands its lease over first (when
there is no delay to keep between requests; twice in a row at most, so that
the other workers get their turn).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections import deque

from scrapy.crawler import Crawler

from crawler.fleet.connection import REDIS_ERRORS, FleetLost, FleetUnavailable
from crawler.fleet.worker import Worker, fleet_worker
from crawler.process import process_of

MAX_BACKOFF = 0.02
HANDOVERS = 2  # times in a row a worker passes a lease on to its own next request


class FleetHostLeases:
    def __init__(self, worker: Worker):
        self.worker = worker
        self.keys = worker.keys
        self.ttl_ms = int(worker.timeout * 1000)
        self.held: dict[str, tuple[str, float]] = {}  # lease -> host, delay
        self.handed: dict[str, int] = {}  # lease -> times handed over in a row
        self.waiting: dict[str, deque[asyncio.Future[str]]] = {}  # host -> waiters here
        self.counter = itertools.count()
        worker.on_beat.append(self.renew)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetHostLeases:
        """The leases of this process's worker (one per worker, whatever the crawlers)."""
        worker = fleet_worker(crawler)
        key = f"{worker.url}|{worker.keys.prefix}"
        return process_of(crawler).keep("fleet-host-leases", key, lambda: cls(worker))

    async def acquire(self, host: str, limit: int, delay: float) -> tuple[str, bool]:
        """A lease on ``host``; whether it had to wait for it.

        With Redis lost the request is ignored (IgnoreRequest): the worker
        has said so once and its crawls are closing; nothing is downloaded.
        """
        w = self.worker
        backoff, waited = 0.002, False
        while True:
            lease = f"{w.id}#{next(self.counter)}"
            try:
                # w.call runs the lambda at once, within this iteration.
                wait = w.call("politeness", lambda: w.scripts["ACQUIRE"](
                    keys=[self.keys.leases(host), self.keys.next_start(host)],
                    args=[max(1, limit), int(delay * 1000), self.ttl_ms, lease],  # noqa: B023
                ))  # fmt: skip
            except FleetUnavailable as e:
                raise FleetLost(str(e)) from None
            if wait == 0:
                self.held[lease] = (host, delay)
                return lease, waited
            waited = True
            if wait > 0:
                await asyncio.sleep(wait / 1000 + random.uniform(0, 0.002))
                continue
            # Every permit is taken: wait for one of ours to be handed over,
            # or poll again.
            handed = await self._handed_over(host, backoff * random.uniform(0.5, 1.0))
            if handed is not None:
                self.held[handed] = (host, delay)
                return handed, waited
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _handed_over(self, host: str, timeout: float) -> str | None:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        queue = self.waiting.setdefault(host, deque())
        queue.append(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            return future.result() if future.done() else None
        except BaseException:
            if future.done() and not future.cancelled():  # handed over as we were stopped
                self.held[future.result()] = (host, 0.0)
                self.release(future.result())
            raise
        finally:
            if future in queue:
                queue.remove(future)

    def release(self, lease: str) -> None:
        held = self.held.pop(lease, None)
        if held is None:
            return
        host, delay = held
        handed = self.handed.pop(lease, 0)
        if not delay and handed < HANDOVERS:
            # A request of ours waits for this host: it takes the lease over
            # (a few times in a row, then the lease goes back to the fleet).
            queue = self.waiting.get(host)
            while queue:
                future = queue.popleft()
                if not future.done():
                    self.handed[lease] = handed + 1
                    future.set_result(lease)
                    return
        with contextlib.suppress(*REDIS_ERRORS):  # it expires on its own
            self.worker.client.zrem(self.keys.leases(host), lease)

    def renew(self) -> None:
        if not self.held:
            return
        items = list(self.held.items())
        self.worker.call("politeness", lambda: self.worker.scripts["RENEW"](
            keys=[self.keys.leases(host) for _, (host, _) in items],
            args=[self.ttl_ms, *[lease for lease, _ in items]],
        ))  # fmt: skip
