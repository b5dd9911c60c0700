"""This process as a worker of the fleet.

One :class:`Worker` per process and Redis (every crawler of a ``crawlall``
shares it, like the dedup store): it has an id, beats a heartbeat into Redis
while it has feeds open, joins each feed's shared *run* (one crawl of the
feed by the whole fleet), tells when a run is over, and queues again what a
dead worker held.

A run of a feed starts when the first worker opens the feed and no run is
going on; the others join it. It is over when the feed's queue is empty and
no worker holds a request of it (nor is still queueing its start requests).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any

import redis
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import AsyncioLoopingCall, create_looping_call

from crawler.fleet import scripts
from crawler.fleet.connection import (
    REDIS_ERRORS,
    FleetUnavailable,
    Keys,
    client_from_settings,
    safe_url,
)
from crawler.process import process_of

logger = logging.getLogger(__name__)


class Worker:
    def __init__(self, settings: BaseSettings, role: str = "worker"):
        self.url = settings.get("REDIS_URL")
        self.where = safe_url(self.url)
        self.keys = Keys(settings.get("FLEET_KEY_PREFIX"))
        self.client = client_from_settings(settings)
        self.role = role
        self.registry = self.keys.workers if role == "worker" else self.keys.writers
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.interval = settings.getfloat("FLEET_HEARTBEAT_INTERVAL")
        self.timeout = settings.getfloat("FLEET_WORKER_TIMEOUT")
        if self.timeout < 2 * self.interval:
            self.timeout = 2 * self.interval
        self.grace = settings.getfloat("FLEET_RUN_GRACE")
        self.started = time.time()
        self.feeds: dict[str, int] = {}  # open feeds -> crawlers working them
        self.failure: str | None = None
        self.on_failure: list[Callable[[str], None]] = []
        self.on_beat: list[Callable[[], None]] = []
        self.loop: AsyncioLoopingCall | Any = None
        self.epoch: bytes | None = None
        self.scripts = {
            name: self.client.register_script(getattr(scripts, name))
            for name in ("CLAIM", "COMMIT", "RECORD", "PUSH", "POP", "RECOVER", "JOIN",
                         "FINISH", "ACQUIRE", "RENEW")
        }  # fmt: skip

    # -- errors -------------------------------------------------------------
    def call(self, what: str, func: Callable[[], Any]) -> Any:
        """Run ``func`` against Redis; a lost Redis becomes :class:`FleetUnavailable`."""
        if self.failure is not None:
            raise FleetUnavailable(self.failure)
        try:
            return func()
        except REDIS_ERRORS as e:
            lost = isinstance(e, (redis.ConnectionError, redis.TimeoutError, OSError))
            how = "is unreachable" if lost else "answered with an error"
            self.fail(f"Redis at {self.where} {how} ({what}: {e})")
            raise FleetUnavailable(self.failure) from e

    def fail(self, message: str) -> None:
        """Report the fleet lost, once, and tell the crawlers (they close)."""
        if self.failure is not None:
            return
        self.failure = message
        logger.error("%s; stopping this worker, its posts so far are safe", message)
        for callback in list(self.on_failure):
            callback(message)

    def ping(self) -> None:
        self.call("ping", self.client.ping)

    # -- life ---------------------------------------------------------------
    def open_feed(self, feed: str) -> None:
        first = not self.feeds
        self.feeds[feed] = self.feeds.get(feed, 0) + 1
        self.beat()
        if first and self.interval > 0:
            self.loop = create_looping_call(self._tick)
            self.loop.start(self.interval, now=False)

    def close_feed(self, feed: str) -> None:
        left = self.feeds.get(feed, 0) - 1
        if left > 0:
            self.feeds[feed] = left
        else:
            self.feeds.pop(feed, None)
        if not self.feeds:
            if self.loop is not None and self.loop.running:
                self.loop.stop()
            self.loop = None
            self.leave()

    def _tick(self) -> None:
        with contextlib.suppress(FleetUnavailable):
            self.beat()

    def info(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": round(self.started, 3),
            "beat": round(time.time(), 3),
            "feeds": sorted(self.feeds),
        }

    def beat(self) -> None:
        """Say this worker is alive (for ``FLEET_WORKER_TIMEOUT`` seconds)."""

        def send() -> list[Any]:
            pipe = self.client.pipeline()
            pipe.set(self.keys.alive(self.id), "1", px=int(self.timeout * 1000))
            pipe.hset(self.registry, self.id, json.dumps(self.info()))
            pipe.get(self.keys.epoch)
            return pipe.execute()

        epoch = self.call("heartbeat", send)[2]
        if self.epoch is not None and epoch != self.epoch:
            self.fail(
                f"Redis at {self.where} lost the fleet's state (restarted without "
                "persistence, or flushed)"
            )
            return
        for callback in list(self.on_beat):
            callback()

    def leave(self) -> None:
        """Stop being a worker: whatever it still held is queued again by others."""
        if self.failure is not None:
            return
        try:
            self.client.delete(self.keys.alive(self.id))
            if self.role != "worker":
                self.client.hdel(self.registry, self.id)
                return
            self._recover()  # what it held itself, and what dead workers held
        except REDIS_ERRORS as e:
            logger.warning("Could not sign worker %s off at %s: %s", self.id, self.where, e)

    # -- runs ---------------------------------------------------------------
    def join(self, feed: str, tick: str = "") -> tuple[str, bool]:
        """Join (or start) the feed's run: its id ('' if this tick's is over) and
        whether the last listing walk was cut short."""
        k = self.keys
        run_id, resume = self.call("join", lambda: self.scripts["JOIN"](
            keys=[k.feed(feed, "run"), k.feed(feed, "walk"), k.feed(feed, "walked"),
                  k.feed(feed, "tick"), k.held(self.id), k.feed(feed, "dupefilter"),
                  k.feed(feed, "ended"), k.feed(feed, "members")],
            args=[self.id, feed, tick, f"{time.time():.3f}", f"{self.id}@{time.time():.3f}",
                  k.prefix],
        ))  # fmt: skip
        return (run_id or b"").decode(), resume == b"1"

    def run_resume(self, feed: str) -> bool:
        return (
            self.call("run", lambda: self.client.hget(self.keys.feed(feed, "run"), "resume"))
            == b"1"
        )

    def start_done(self, feed: str) -> None:
        self.call("start", lambda: self.client.hdel(self.keys.held(self.id), f"{feed}|start"))

    def recover(self) -> int:
        """Queue again what dead workers held; how many requests."""
        return self.call("recover", self._recover)

    def _recover(self) -> int:
        requeued, *dead = self.scripts["RECOVER"](keys=[self.keys.workers], args=[self.keys.prefix])
        others = sorted(w.decode() for w in dead if w.decode() != self.id)
        if others:
            logger.warning(
                "Queued again %d requests held by workers that stopped beating: %s",
                requeued,
                ", ".join(others),
            )
        return int(requeued)

    def finished(self, feed: str, run_id: str) -> bool:
        """Whether the feed's run ``run_id`` is over for the whole fleet (ends it if so)."""
        self.recover()
        k = self.keys
        return self.call("finish", lambda: self.scripts["FINISH"](
            keys=[k.feed(feed, "requests"), k.feed(feed, "run"), k.feed(feed, "walk"),
                  k.feed(feed, "walked"), k.feed(feed, "dupefilter"), k.workers,
                  k.feed(feed, "ended")],
            args=[k.prefix, feed, run_id, int(self.grace * 1000)],
        )) == 1  # fmt: skip

    def queued(self, feed: str) -> int:
        return int(self.call("queue", lambda: self.client.zcard(self.keys.feed(feed, "requests"))))

    def ack(self, fields: list[str]) -> None:
        if fields:
            self.call("ack", lambda: self.client.hdel(self.keys.held(self.id), *fields))


def fleet_worker(crawler: Crawler) -> Worker:
    """The worker of this process (:class:`crawler.process.MirrorProcess`) for
    the crawler's Redis and key prefix.

    Once it has lost Redis it stays lost (every call fails at once, the loss
    reported once): the process's crawls stop, and the next run starts afresh.
    """
    settings = crawler.settings
    key = f"{settings.get('REDIS_URL')}|{settings.get('FLEET_KEY_PREFIX')}"
    return process_of(crawler).keep("fleet-worker", key, lambda: Worker(settings))


__all__ = ["FleetUnavailable", "Worker", "fleet_worker"]
