"""The infoCode dedup (SPEC §4) of a fleet, in Redis.

- *mirrored*: a set of infoCodes, seeded once from the mirror folder's file
  names (``…:epoch`` records that it was), so a fleet attached to an existing
  mirror knows it; a worker that shares the folder also consults its index.
- *claims*: an article is claimed by one worker while that worker is alive,
  and by its feed's run while its request waits in the queue; a dead worker's
  claims lapse with its heartbeat, so what it held is done again, once.
- *commit*: a worker that writes to the mirror folder itself
  (``MIRROR_WRITE = "direct"``) checks and writes under the folder's own lock
  and index (:class:`~crawler.mirror.dedup.FileDedupStore`), as on one host, then
  records the post in Redis; one that hands its posts over (``"redis"``)
  checks, records the post and queues it for ``scrapy writer`` in one atomic
  step in Redis (the writer then writes it under the folder's lock and index).
- *listing walks*: a feed's walk marker lives in Redis with its run
  (:mod:`crawler.fleet.worker`); the run's end clears it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from crawler.fleet.connection import (
    REDIS_ERRORS,
    FleetUnavailable,
    Keys,
    client_from_settings,
    safe_url,
    unreachable,
)
from crawler.fleet.worker import Worker, fleet_worker
from crawler.mirror.dedup import DedupStore, FileDedupStore

logger = logging.getLogger(__name__)

SEED_BATCH = 5000
RECORD_BATCH = 50  # posts written before Redis is told (else at the next heartbeat)


class RedisDedupStore(DedupStore):
    def __init__(
        self,
        worker: Worker,
        local: FileDedupStore | None,
        retry_dropped_hours: float = 24,
        handoff: bool = False,
    ):
        self.worker = worker
        self.keys = worker.keys
        self.local = local
        self.retry_dropped = retry_dropped_hours * 3600
        self.handoff = handoff
        self.written: list[str] = []  # posts written in the folder, not yet recorded in Redis
        worker.on_beat.append(self.flush)
        if local is not None:
            self.seed(local)
        self.check_epoch()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisDedupStore:
        settings = crawler.settings
        worker = fleet_worker(crawler)
        worker.ping()
        handoff = settings.get("MIRROR_WRITE") == "redis"
        local = None
        if not handoff:
            local = FileDedupStore(
                settings.get("MIRROR_DIR"), settings.getfloat("MIRROR_RETRY_DROPPED_HOURS")
            )
        return cls(worker, local, settings.getfloat("MIRROR_RETRY_DROPPED_HOURS"), handoff)

    # -- the mirror's posts in Redis ------------------------------------------
    def seed(self, local: FileDedupStore) -> None:
        """Record the folder's posts in Redis, unless Redis knows the mirror already."""
        seed_posts(self.worker, local, "worker")

    def check_epoch(self) -> None:
        epoch = self.worker.call("epoch", lambda: self.worker.client.get(self.keys.epoch))
        if epoch is None:
            self.worker.fail(
                f"Redis at {self.worker.where} does not know the mirror's posts yet "
                "(MIRROR_WRITE=redis): start `scrapy writer` on the host that holds the "
                "mirror first"
            )
            raise FleetUnavailable(self.worker.failure)
        self.worker.epoch = epoch

    # -- DedupStore ---------------------------------------------------------
    def refresh(self) -> None:
        if self.local is not None:
            self.local.refresh()

    def is_known(self, info_code: str) -> bool:
        if self.local is not None and self.local.is_known(info_code):
            return True
        w = self.worker

        def ask() -> bool:
            pipe = w.client.pipeline()
            pipe.sismember(self.keys.mirrored, info_code)
            pipe.hget(self.keys.dropped, info_code)
            mirrored, dropped = pipe.execute()
            return bool(mirrored) or (
                dropped is not None and time.time() < float(dropped) + self.retry_dropped
            )

        return w.call("is_known", ask)

    def claim(self, info_code: str) -> bool:
        if self.local is not None and self.local.is_known(info_code):
            return False
        w = self.worker
        got = w.call("claim", lambda: w.scripts["CLAIM"](
            keys=[self.keys.mirrored, self.keys.dropped, self.keys.claims],
            args=[self.keys.prefix, info_code, w.id, f"{time.time():.3f}", self.retry_dropped],
        ))  # fmt: skip
        return got == 2

    def release(self, info_code: str) -> None:
        # Said once; the claim lapses with this worker, the next run redoes it.
        with contextlib.suppress(FleetUnavailable):
            self.worker.call(
                "release", lambda: self.worker.client.hdel(self.keys.claims, info_code)
            )

    def forget_drop(self, info_code: str, feed: str = "") -> None:
        if self.local is not None:
            self.local.forget_drop(info_code, feed)
        w = self.worker

        def record() -> None:
            pipe = w.client.pipeline()
            if self.retry_dropped > 0:
                pipe.hset(self.keys.dropped, info_code, f"{time.time():.3f}")
            pipe.hdel(self.keys.claims, info_code)
            pipe.execute()

        with contextlib.suppress(FleetUnavailable):  # said once; only tried again sooner
            w.call("drop", record)

    def commit(self, info_code: str, write: Callable[[], Path]) -> Path | None:
        """Write the post unless the folder has it, then record it in Redis.

        Whoever writes into the folder (a worker here, ``scrapy writer``) does
        so under its lock and index, which decide; Redis learns of the post
        right after, and a worker killed in between leaves a post Redis learns
        of from the folder (``claim`` consults it) rather than a post lost.
        """
        if self.local is None:
            raise RuntimeError("MIRROR_WRITE=redis: posts are handed over, not written here")
        path = self.local.commit(info_code, write)
        self.written.append(info_code)
        if len(self.written) >= RECORD_BATCH:
            self.flush()
        return path

    def flush(self) -> None:
        """Tell Redis of the posts written in the folder since the last time.

        Until then their claims stay this worker's, and the folder's index,
        which every worker on it consults, knows them: nothing is fetched twice.
        """
        if not self.written:
            return
        codes, self.written = self.written, []
        w = self.worker
        w.call("record", lambda: w.scripts["RECORD"](
            keys=[self.keys.mirrored, self.keys.claims], args=codes
        ))  # fmt: skip

    def hand_off(self, info_code: str, payload: str) -> bool:
        """Record the post as mirrored and queue it for the writer, at once;
        False when it was mirrored already."""
        return self.record(info_code, payload)

    def record(self, info_code: str, payload: str) -> bool:
        w = self.worker
        return w.call("commit", lambda: w.scripts["COMMIT"](
            keys=[self.keys.mirrored, self.keys.claims, self.keys.posts],
            args=[info_code, payload],
        )) == 1  # fmt: skip

    def begin_walk(self, feed: str) -> bool:
        """The run's flag: joining it (:class:`~crawler.fleet.coordinator.FleetCoordinator`)
        set the walk marker; whether the last walk was cut short."""
        return self.worker.run_resume(feed)

    def end_walk(self, feed: str) -> None:
        """Nothing: the end of the fleet's run clears the marker."""

    def first_walk(self, feed: str) -> bool:
        walked = self.keys.feed(feed, "walked")
        try:
            return not self.worker.call("walked", lambda: self.worker.client.exists(walked))
        except FleetUnavailable:
            return False  # said once; only a log line's wording is at stake

    def close(self) -> None:
        if self.flush in self.worker.on_beat:
            self.worker.on_beat.remove(self.flush)
        # Unflushed, the folder's index has them: Redis learns of them from it next time.
        with contextlib.suppress(FleetUnavailable):
            self.flush()
        if self.local is not None:
            self.local.close()


def seed_posts(worker: Worker, local: FileDedupStore, by: str) -> int:
    """Record ``local``'s posts in Redis once (until Redis forgets); how many were new."""
    keys = worker.keys
    if worker.call("seed", lambda: worker.client.exists(keys.epoch)):
        return 0
    codes = sorted(local.known_codes())
    added = 0
    for start in range(0, len(codes), SEED_BATCH):
        batch = codes[start : start + SEED_BATCH]
        added += worker.call("seed", functools.partial(worker.client.sadd, keys.mirrored, *batch))
    stamp = f"{time.time():.3f} {by} {worker.id} {local.root}"
    if worker.call("seed", lambda: worker.client.set(keys.epoch, stamp, nx=True)):
        logger.info(
            "Recorded the %d posts of mirror %s in Redis at %s",
            len(codes),
            local.root,
            worker.where,
        )
    return added


def folder_behind(settings: BaseSettings) -> str | None:
    """For a worker writing into ``MIRROR_DIR`` itself: the folder must hold
    every post Redis records as mirrored, or the fleet would skip posts the
    folder never gets. The one-line refusal when it does not; with
    ``FLEET_RESEED`` Redis forgets what the folder lacks (said in one line) and
    None is returned, as when nothing is amiss."""
    if settings.get("MIRROR_WRITE") != "direct":
        return None  # posts go to the writer's folder, which seeds Redis itself
    client = client_from_settings(settings)
    keys = Keys(settings.get("FLEET_KEY_PREFIX"))
    try:
        if not client.exists(keys.epoch):
            return None  # Redis learns the mirror from this folder
        local = FileDedupStore(settings.get("MIRROR_DIR"), 0)
        try:
            have = local.known_codes()
        finally:
            local.close()
        lacking = [
            code
            for code in (c.decode() for c in client.sscan_iter(keys.mirrored, count=SEED_BATCH))
            if code not in have
        ]
        if not lacking:
            return None
        recorded = client.scard(keys.mirrored)
        where, folder = safe_url(settings.get("REDIS_URL")), settings.get("MIRROR_DIR")
        if not settings.getbool("FLEET_RESEED"):
            return (
                f"mirror folder {folder} lacks {len(lacking)} of the {recorded} posts Redis at "
                f"{where} records as mirrored (the folder holds {len(have)}): a fresh folder, "
                "another host or a restored backup? Not crawling into it; point MIRROR_DIR "
                "at the fleet's mirror, or set FLEET_RESEED=True to mirror them again here"
            )
        for start in range(0, len(lacking), SEED_BATCH):
            client.srem(keys.mirrored, *lacking[start : start + SEED_BATCH])
    except REDIS_ERRORS:
        return None  # lost meanwhile: the crawl finds out and says so
    finally:
        client.close()
    print(
        f"FLEET_RESEED: mirror folder {folder} lacked {len(lacking)} of the {recorded} posts "
        f"Redis at {where} recorded; Redis forgot them, they are mirrored again",
        file=sys.stderr,
    )
    return None


REDIS_UNAVAILABLE = "redis_unavailable"  # the close reason of a fleet that lost Redis
FOLDER_BEHIND = "mirror_folder_behind"  # MIRROR_DIR lacks posts Redis records (FLEET_RESEED)


def run_check(settings: BaseSettings) -> tuple[str, str] | None:
    """What stops a fleet's run at its start (``MIRROR_RUN_CHECK``): Redis out
    of reach, or a mirror folder lacking posts Redis records as mirrored; the
    line to print and the feeds' close reason, or None."""
    lost = unreachable(settings)
    if lost:
        return lost, REDIS_UNAVAILABLE
    behind = folder_behind(settings)
    if behind:
        return behind, FOLDER_BEHIND
    return None
