"""Each feed's crawler as a member of the fleet's shared run of that feed.

:class:`FleetCoordinator` is a spider middleware (it sees the start
requests) that also listens to the crawler's signals:

- before the spider's start requests it joins the feed's run (or starts
  it); every worker then queues the listing's first pages, and the run's
  dupefilter lets each through once (listing requests are filtered within a
  run, unlike a single-host crawl where they are ``dont_filter``);
- every ``FLEET_POLL_INTERVAL`` it gives back what the engine is done with,
  wakes an idle engine when the fleet's queue has work, and closes the spider
  (reason ``finished``) once the run is over for the whole fleet: queue empty,
  no worker holding a request of the feed;
- when Redis is lost, it closes the spider with reason ``redis_unavailable``,
  which the feed summary reports as a failure (non-zero exit).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware
from scrapy.utils.asyncio import AsyncioLoopingCall, create_looping_call
from scrapy.utils.defer import deferred_from_coro

from crawler.compat import downloader_idle, engine_requests
from crawler.fleet.connection import FleetUnavailable
from crawler.fleet.scheduler import FleetScheduler
from crawler.fleet.worker import Worker, fleet_worker
from crawler.perfeed import feed_stats

logger = logging.getLogger(__name__)

REDIS_UNAVAILABLE = "redis_unavailable"


class FleetCoordinator(BaseSpiderMiddleware):
    def __init__(self, crawler: Crawler, worker: Worker):
        super().__init__(crawler)
        self.worker = worker
        self.feed = crawler.spidercls.name
        self.tick = str(crawler.settings.get("FLEET_TICK") or "")
        self.interval = crawler.settings.getfloat("FLEET_POLL_INTERVAL")
        self.run_id: str | None = None  # None: not joined yet; "": nothing to do
        self.loop: AsyncioLoopingCall | Any = None
        self.closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetCoordinator:
        if not crawler.settings.get("REDIS_URL"):
            raise NotConfigured
        mw = cls(crawler, fleet_worker(crawler))
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    @property
    def scheduler(self) -> FleetScheduler | None:
        engine = self.crawler.engine
        scheduler = engine.scheduler if engine is not None else None
        return scheduler if isinstance(scheduler, FleetScheduler) else None

    # -- start --------------------------------------------------------------
    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        self.run_id, _ = self.worker.join(self.feed, self.tick)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("fleet/run", self.run_id or "none: just crawled")
        if not self.run_id:
            logger.info(
                "Feed %s: the fleet has just crawled it (%s); nothing to do",
                self.feed,
                f"tick {self.tick}" if self.tick else "within FLEET_RUN_GRACE",
            )
            return
        logger.info(
            "Feed %s: worker %s joined run %s of the fleet at %s",
            self.feed,
            self.worker.id,
            self.run_id,
            self.worker.where,
        )
        try:
            async for o in start:
                if (o := self._get_processed(o, None)) is not None:
                    yield o
        finally:
            try:
                scheduler = self.scheduler
                if scheduler is not None:
                    scheduler.queue.flush()  # queued before this worker stops counting as busy
                self.worker.start_done(self.feed)
            except FleetUnavailable:
                pass

    def get_processed_request(self, request: Request, response: Response | None) -> Request:
        spider = self.crawler.spider
        if request.dont_filter and request.callback == getattr(spider, "parse_listing", None):
            # Asked for by every worker of the run: the run's dupefilter lets one through.
            return request.replace(dont_filter=False)
        return request

    # -- a callback that met a lost Redis -----------------------------------
    def process_spider_exception(
        self, response: Response, exception: Exception
    ) -> list[Any] | None:
        """Redis lost while a callback claimed an article: said once already
        (the worker's one line), the spider is closing; no traceback per page."""
        if not isinstance(exception, FleetUnavailable):
            return None
        assert self.crawler.stats is not None
        feed_stats(self.crawler, self.feed).inc(f"errors/{REDIS_UNAVAILABLE}")
        logger.debug("Dropped the rest of <%s>: %s", response.url, exception)
        return []

    # -- signals ------------------------------------------------------------
    def spider_opened(self, spider: Spider) -> None:
        self.worker.on_failure.append(self.lost)
        self.worker.open_feed(self.feed)
        if self.interval > 0:
            self.loop = create_looping_call(self.poll)
            self.loop.start(self.interval, now=False)

    def engine_busy(self) -> set[int]:
        engine = self.crawler.engine
        assert engine is not None
        return {id(r) for r in engine_requests(engine)}

    def poll(self) -> None:
        scheduler, engine = self.scheduler, self.crawler.engine
        if scheduler is None or engine is None or self.closing or self.run_id is None:
            return
        try:
            scheduler.release_done(self.engine_busy())
            if engine.spider_is_idle():
                if self.run_over():
                    self.close("finished")
                return
            if downloader_idle(engine):
                # Idle meanwhile: hand it a request, which wakes it up.
                request = scheduler.fetch_ahead()
                if request is not None:
                    engine.crawl(request)
        except FleetUnavailable:
            pass

    def run_over(self) -> bool:
        scheduler = self.scheduler
        if scheduler is not None:
            scheduler.release_done(None)  # the engine is idle: all it held is done
        return not self.run_id or self.worker.finished(self.feed, self.run_id)

    def spider_idle(self, spider: Spider) -> None:
        if self.closing or self.worker.failure is not None:
            return
        try:
            if self.run_id is not None and self.run_over():
                return
        except FleetUnavailable:
            return
        raise DontCloseSpider

    def close(self, reason: str) -> None:
        if self.closing or self.crawler.engine is None:
            return
        self.closing = True
        if reason == "finished":
            logger.info("Feed %s: the fleet's run %s is over", self.feed, self.run_id)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))

    def lost(self, message: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("fleet/error", message)
        self.close(REDIS_UNAVAILABLE)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.lost in self.worker.on_failure:
            self.worker.on_failure.remove(self.lost)
        scheduler = self.scheduler
        try:
            if scheduler is not None and reason == "finished":
                scheduler.release_done(None)
        except FleetUnavailable:
            pass
        # Anything still held (a shutdown, a lost Redis) is queued again by
        # the others, or by this worker as it leaves.
        self.worker.close_feed(self.feed)
