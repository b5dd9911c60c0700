"""Writes the posts that workers hand over through Redis into the mirror folder.

Runs on the host that holds the mirror (``scrapy writer``). It records the
mirror's posts in Redis when Redis does not know them (at start, and again
after Redis lost its state), then moves each handed-over post from
``…:posts`` to its own ``…:posts:writing:{writer}`` list (``BLMOVE``), writes
it with :func:`crawler.mirror.archive.write_atomic` under the folder's dedup lock
and index (:class:`~crawler.mirror.dedup.FileDedupStore`), and only then takes it
off that list. A writer killed mid-post leaves the post on its list; once
its heartbeat has expired, the next writer to start, or any writer still
running (it looks on each heartbeat), puts it back on ``…:posts``: nothing is
lost, torn or written twice.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
from pathlib import Path

from scrapy.settings import BaseSettings

from crawler.fleet.connection import FleetUnavailable
from crawler.fleet.store import seed_posts
from crawler.fleet.worker import Worker
from crawler.mirror.archive import add_category_page, info_code_of, write_atomic
from crawler.mirror.dedup import FileDedupStore

logger = logging.getLogger(__name__)


class PostWriter:
    def __init__(self, worker: Worker, local: FileDedupStore, durable: bool = True):
        self.worker = worker
        self.keys = worker.keys
        self.local = local
        self.root = local.root
        self.mine = f"{self.keys.writing}:{worker.id}"
        self.durable = durable
        self.written = 0
        self.known = 0
        self.rejected = 0

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> PostWriter:
        worker = Worker(settings, role="writer")
        local = FileDedupStore(
            settings.get("MIRROR_DIR"), settings.getfloat("MIRROR_RETRY_DROPPED_HOURS")
        )
        return cls(worker, local, settings.getbool("MIRROR_FSYNC"))

    def start(self) -> None:
        self.worker.ping()
        self.worker.beat()
        seed_posts(self.worker, self.local, "writer")
        self.take_back_orphans()

    def take_back_orphans(self) -> int:
        """Put back on the queue what writers that stopped beating were writing."""
        client, moved = self.worker.client, 0
        for key in self.worker.call("scan", lambda: list(
            client.scan_iter(match=f"{self.keys.writing}:*", count=100)
        )):  # fmt: skip
            writer_id = key.decode()[len(self.keys.writing) + 1 :]
            if writer_id == self.worker.id or client.exists(self.keys.alive(writer_id)):
                continue  # its own list, or a writer still beating
            while self.worker.call(
                "orphans", functools.partial(client.lmove, key, self.keys.posts, "RIGHT", "LEFT")
            ):
                moved += 1
            client.hdel(self.keys.writers, writer_id)
        if moved:
            logger.warning("Queued again %d posts a stopped writer had not finished", moved)
        return moved

    def waiting(self) -> int:
        return int(self.worker.call("queue", lambda: self.worker.client.llen(self.keys.posts)))

    def write_next(self, timeout: float) -> bool:
        """Write one handed-over post (waiting up to ``timeout`` s); False if none came."""
        client = self.worker.client
        if timeout > 0:
            # Redis takes a fractional timeout; redis-py's annotation says int.
            raw = self.worker.call("take", lambda: client.blmove(
                self.keys.posts, self.mine, timeout, "LEFT", "RIGHT"  # type: ignore[arg-type]
            ))  # fmt: skip
        else:
            raw = self.worker.call("take", lambda: client.lmove(
                self.keys.posts, self.mine, "LEFT", "RIGHT"
            ))  # fmt: skip
        if raw is None:
            return False
        self.write(raw)
        self.worker.call("done", lambda: client.lrem(self.mine, 1, raw))
        return True

    def write(self, raw: bytes) -> None:
        try:
            data = json.loads(raw)
            rel = Path(data["file"])
            text, category = data["text"], data["category"]
            code = info_code_of(rel.name)
            if rel.parent.name != "_posts" or len(rel.parts) != 2 or not code:
                raise ValueError(f"not a post file: {rel}")
            if not category or any(c in category for c in "/\\\0") or category.startswith("."):
                raise ValueError(f"bad category {category!r}")
        except (ValueError, KeyError, TypeError) as e:
            self.rejected += 1
            logger.error("Dropped a handed-over post that is not one: %s", e)
            return
        path = self.root / rel
        written = self.local.commit(code, lambda: write_atomic(path, text, self.durable))
        if written is None:
            self.known += 1
            logger.debug("Post %s is in the mirror already", code)
            return
        self.written += 1
        add_category_page(self.root, category, data.get("category_page") or "")
        logger.debug("Wrote handed-over post %s of feed %s", code, data.get("feed"))

    def run(self, stop: threading.Event, once: bool = False, poll: float = 1.0) -> None:
        """Write posts until ``stop`` is set (``once``: until none is waiting)."""
        last_beat = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if now - last_beat >= self.worker.interval:
                self.worker.beat()
                if not self.worker.call("epoch", lambda: self.worker.client.exists(
                    self.keys.epoch
                )):  # fmt: skip
                    logger.warning(
                        "Redis at %s forgot the mirror's posts: recording them again",
                        self.worker.where,
                    )
                    seed_posts(self.worker, self.local, "writer")
                self.take_back_orphans()  # a writer killed since we started
                last_beat = now
            if not self.write_next(0 if once else poll) and once:
                break

    def close(self) -> None:
        with contextlib.suppress(FleetUnavailable):
            self.worker.leave()
        self.local.close()


__all__ = ["FleetUnavailable", "PostWriter"]
