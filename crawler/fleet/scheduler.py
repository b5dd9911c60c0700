"""scrapy-redis's scheduler, queue and dupefilter, fitted to a fleet that must lose nothing.

- :class:`ReliableQueue`: scrapy-redis's priority queue, but a request taken
  from it is *held* by the worker (in Redis) until the engine is done with it,
  so that a worker killed mid-crawl loses nothing: the others queue again what
  it held (:mod:`crawler.fleet.scripts`). Article requests carry their
  infoCode, so that their claim (SPEC §4) moves along with them. Requests are
  stored as ``SCHEDULER_SERIALIZER`` writes them (:mod:`crawler.fleet.serializer`,
  JSON); an entry that does not decode is logged and skipped, never run.
- :class:`RunDupeFilter`: scrapy-redis's dupefilter, scoped to a feed's run:
  the run's end clears it, so listing pages are read again on the next run
  while every worker of a run asks for each of them once.
- :class:`FleetScheduler`: scrapy-redis's scheduler on the worker's own Redis
  client, with the deprecated ``spider`` arguments of its stats calls dropped
  (Scrapy 2.19 warns about them), and a local hand-over for the requests the
  coordinator fetches ahead to wake an idle engine.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from importlib import import_module
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.utils.misc import load_object
from scrapy.utils.request import request_from_dict
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.fleet.connection import FleetUnavailable
from crawler.fleet.worker import Worker, fleet_worker
from crawler.middlewares.politeness import waiting

logger = logging.getLogger(__name__)


class ReliableQueue(PriorityQueue):
    worker: Worker
    feed: str
    prefetch: int = 1

    def attach(self, worker: Worker, feed: str, prefetch: int = 1) -> None:
        self.worker, self.feed, self.prefetch = worker, feed, max(1, prefetch)
        self.pending: list[Any] = []  # score, member, infoCode of requests to queue

    def encode(self, request: Request) -> bytes:
        """The queue entry of ``request``: its infoCode, a newline, and the
        request's dict as ``SCHEDULER_SERIALIZER`` writes it."""
        code = request.meta.get("info_code") or ""
        data = self.serializer.dumps(request.to_dict(spider=self.spider))
        return code.encode("ascii") + b"\n" + data

    def decode(self, member: bytes) -> Request:
        """The request of a queue entry (:meth:`encode`)."""
        data = self.serializer.loads(member.split(b"\n", 1)[-1])
        return request_from_dict(data, spider=self.spider)

    def push(self, request: Request) -> None:
        """Queue a request: at the next :meth:`flush`, which the scheduler calls
        before the engine asks for more and before anything is given back, so a
        request that made these is still held when they are not queued yet."""
        code = request.meta.get("info_code") or ""
        self.pending += [-request.priority, self.encode(request), code]

    def flush(self) -> None:
        if not self.pending:
            return
        w, items = self.worker, self.pending
        self.pending = []
        w.call("push", lambda: w.scripts["PUSH"](
            keys=[self.key, w.keys.claims], args=[self.feed, *items]
        ))  # fmt: skip

    def pop(self, timeout: int = 0) -> list[tuple[str, Request]]:
        """Up to ``prefetch`` requests, each now held by this worker."""
        self.flush()
        w = self.worker
        found = w.call("pop", lambda: w.scripts["POP"](
            keys=[self.key, w.keys.held(w.id), w.keys.claims, w.keys.seq],
            args=[self.feed, w.id, self.prefetch],
        ))  # fmt: skip
        taken, junk = [], []
        for i in range(0, len(found), 2):
            field, member = found[i].decode(), found[i + 1]
            try:
                taken.append((field, self.decode(member)))
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                junk.append(field)
                what = what_it_is(member)
                logger.warning(
                    "Skipped an entry of feed %s's queue in Redis: %s, not a request "
                    "the fleet queued (%s): %s",
                    self.feed, what, "never unpickled" if what.startswith("pickled") else e,
                    shown(member),
                )  # fmt: skip
        w.ack(junk)
        return taken


def what_it_is(member: bytes) -> str:
    """What an undecodable queue entry looks like: pickle (never unpickled), or else."""
    payload = member.split(b"\n", 1)[-1]
    if payload[:1] == b"\x80" and payload[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return f"pickled data, protocol {payload[1]}"
    if payload[:1] in (b"{", b"["):
        return "JSON of another shape"
    return "neither JSON nor a request"


def shown(member: bytes, width: int = 80) -> str:
    return repr(member[:width]) + ("…" if len(member) > width else "")


class RunDupeFilter(RFPDupeFilter):
    """Request fingerprints of a feed's current run, shared by the fleet."""

    worker: Worker

    @classmethod
    def from_spider(cls, spider: Spider) -> RunDupeFilter:
        worker = fleet_worker(spider.crawler)
        key = worker.keys.dupefilter_template % {"spider": spider.name}
        df = cls(worker.client, key=key, debug=spider.settings.getbool("DUPEFILTER_DEBUG"))
        df.worker = worker
        return df

    def request_seen(self, request: Request) -> bool:
        return bool(self.worker.call("dupefilter", lambda: super(RunDupeFilter, self)
                                     .request_seen(request)))  # fmt: skip

    def close(self, reason: str = "") -> None:
        """Keep the fingerprints: the run's end clears them, not one worker's."""


class FleetScheduler(Scheduler):
    crawler: Crawler
    worker: Worker
    queue: ReliableQueue
    held: dict[str, Request]  # by its field in Redis: what this worker holds
    local: deque[Request]  # taken from the queue, not yet handed to the engine
    ahead: set[int]  # taken for an idle engine, coming back through engine.crawl
    max_waiting: int  # requests waiting for a host's permit, beyond which none is taken
    df: Any  # scrapy-redis's dupefilter (RunDupeFilter), untyped

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetScheduler:
        settings = crawler.settings
        worker = fleet_worker(crawler)
        worker.ping()
        serializer = settings.get("SCHEDULER_SERIALIZER")
        scheduler = cls(
            server=worker.client,
            # A module path, as scrapy-redis takes it, or an object with loads/dumps.
            serializer=import_module(serializer) if isinstance(serializer, str) else serializer,
            persist=True,  # the queue is the fleet's, never one worker's to flush
            queue_key=worker.keys.queue_template,
            queue_cls=settings.get("SCHEDULER_QUEUE_CLASS"),
            dupefilter_key=worker.keys.dupefilter_template,
            dupefilter_cls=settings.get("DUPEFILTER_CLASS"),
        )
        scheduler.stats = crawler.stats
        scheduler.crawler = crawler
        scheduler.worker = worker
        scheduler.max_waiting = max(1, settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))
        scheduler.held = {}
        scheduler.local = deque()
        scheduler.ahead = set()
        return scheduler

    def open(self, spider: Spider) -> None:
        """scrapy-redis's ``open``, without its ``spider.log()`` (deprecated in Scrapy 2.19)."""
        self.spider = spider
        self.queue = load_object(self.queue_cls)(
            server=self.server,
            spider=spider,
            key=self.queue_key % {"spider": spider.name},
            serializer=self.serializer,
        )
        self.queue.attach(self.worker, spider.name, spider.settings.getint("FLEET_PREFETCH"))
        if not self.df:
            self.df = load_object(self.dupefilter_cls).from_spider(spider)
        waiting = len(self.queue)
        if waiting:
            logger.info(
                "Feed %s: %d requests are waiting in the fleet's queue", spider.name, waiting
            )

    def close(self, reason: str) -> None:
        """Queue what is still to be queued; the fleet's queue outlives this worker."""
        with contextlib.suppress(FleetUnavailable):
            self.queue.flush()

    # -- the queue ----------------------------------------------------------
    def __len__(self) -> int:
        try:
            self.queue.flush()
            return len(self.local) + self.worker.queued(self.spider.name)
        except FleetUnavailable:
            return len(self.local)

    def has_pending_requests(self) -> bool:
        return len(self) > 0

    def enqueue_request(self, request: Request) -> bool:
        if id(request) in self.ahead:
            self.ahead.discard(id(request))
            self.local.append(request)
            return True
        try:
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            self.queue.push(request)
        except FleetUnavailable:
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        try:
            self.queue.flush()
        except FleetUnavailable:
            return None
        if not self.local:
            if waiting(self.crawler) >= self.max_waiting:
                return None  # enough wait for a host here: leave the rest to the fleet
            self._pop()
        if not self.local:
            return None
        request = self.local.popleft()
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def _pop(self) -> int:
        """Take requests from the fleet's queue into the local hand; how many."""
        try:
            found = self.queue.pop()
        except FleetUnavailable:
            return 0
        for field, request in found:
            self.held[field] = request
            self.local.append(request)
        return len(found)

    def fetch_ahead(self) -> Request | None:
        """Take a request for an idle engine, to be handed over by ``engine.crawl``."""
        if not self.local and not self._pop():
            return None
        request = self.local.popleft()
        self.ahead.add(id(request))
        return request

    # -- what this worker holds ---------------------------------------------
    def release_done(self, busy: set[int] | None) -> None:
        """Give back (in Redis) the held requests the engine is done with.

        ``busy``: ids of the requests still in the engine; None when it is idle.
        """
        local = {id(r) for r in self.local}
        done = [
            field
            for field, request in self.held.items()
            if id(request) not in local and (busy is None or id(request) not in busy)
        ]
        if not done:
            return
        self.queue.flush()  # what they made is queued before they are given back
        for field in done:
            del self.held[field]
        self.worker.ack(done)
