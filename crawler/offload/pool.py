"""The worker processes of a crawl's process, and the jobs sent to them.

:class:`WorkerPool` runs a job (:class:`~crawler.offload.jobs.Jobs`) in a
worker process when one is ready and not already behind, else at once in
this process, so a crawl never waits for a worker to start and loses nothing
when one dies (its jobs in flight are run here instead).

Why its own processes and pipes, not :class:`concurrent.futures.ProcessPoolExecutor`:
that executor's queues and threads cost the reactor 174 µs of CPU per job,
a third of the job itself; a socket pair read from the event loop costs it
26 to 33 µs (measured on 5,000 jobs of a 12 KB article each).

Workers start once ``MIRROR_WORKERS_AFTER`` jobs have been asked for in the
process: a worker's start costs about what it saves on that many, so a
re-crawl with a few new articles starts none. The pool lives in the process
object (:mod:`crawler.process`) and is closed with it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import pickle
import socket
import subprocess
import sys
from contextlib import suppress
from typing import Any

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import is_asyncio_available

from crawler.offload.child import HEADER, frame
from crawler.offload.jobs import Jobs
from crawler.process import process_of
from crawler.source.catalog import Feed

logger = logging.getLogger(__name__)

BEHIND = 32  # jobs a worker may have in hand before the crawl does the next itself
STOP_TIMEOUT = 10  # seconds a worker has to finish its jobs once told to stop
READ_SIZE = 1 << 18  # bytes read from a worker at once: its answers come in bulk


class WorkerLost(Exception):
    """The worker process a job was sent to ended before answering it."""


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Worker:
    """One worker process: its socket, and the jobs it has not answered yet."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.sock, theirs = socket.socketpair()
        with theirs:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "crawler.offload.child", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a terminal's Ctrl-C is the crawl's to handle
            )
        self.loop = loop
        self.readied: asyncio.Future[None] = loop.create_future()
        self.lost = False
        self.answered_jobs = 0
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.sent: set[str] = set()  # keys of the feeds it has been sent
        self.buffer = bytearray()  # what came in, up to a whole message
        loop.add_reader(self.sock.fileno(), self.readable)

    def submit(
        self, jid: int, name: str, key: str, feed: Feed | None, args: Any
    ) -> asyncio.Future[Any]:
        """Send job ``jid``; the future of its answer."""
        future: asyncio.Future[Any] = self.loop.create_future()
        try:
            if key not in self.sent:
                self.sock.sendall(frame(("feed", key, feed)))
                self.sent.add(key)
            self.sock.sendall(frame(("job", jid, name, key, args)))
        except OSError:
            self.end()
            raise WorkerLost from None
        self.pending[jid] = future
        return future

    def readable(self) -> None:
        try:
            data = self.sock.recv(READ_SIZE)
        except OSError:
            data = b""
        if not data:
            if not self.lost:
                logger.warning(
                    "Worker process %d ended: its jobs run in the crawl's process", self.proc.pid
                )
            self.end()
            return
        buffer = self.buffer
        buffer += data
        done = 0
        while len(buffer) - done >= HEADER.size:
            (size,) = HEADER.unpack_from(buffer, done)
            if len(buffer) - done - HEADER.size < size:
                break
            start = done + HEADER.size
            done = start + size
            self.answered(pickle.loads(memoryview(buffer)[start:done]))
        del buffer[:done]

    def answered(self, message: Any) -> None:
        if message[0] == "ready":
            self.readied.set_result(None)
            return
        self.answered_jobs += 1
        future = self.pending.pop(message[1], None)
        if future is None or future.done():
            return
        if message[0] == "ok":
            future.set_result(message[2])
        else:
            future.set_exception(message[2])

    def end(self) -> None:
        """The worker is gone (or told to go): its jobs in flight are lost."""
        if self.lost:
            return
        self.lost = True
        with suppress(RuntimeError, ValueError, OSError):  # a closed loop
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        if not self.readied.done():
            self.readied.cancel()
        for future in self.pending.values():
            if not future.done():
                future.set_exception(WorkerLost())
        self.pending.clear()

    def stop(self) -> int | None:
        """Tell the worker to finish and wait for it; its exit status."""
        self.end()
        try:
            return self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class WorkerPool:
    """Up to ``size`` worker processes, started after ``start_after`` jobs."""

    def __init__(self, size: int, start_after: int = 0):
        self.size = max(0, size)
        self.start_after = start_after
        self.jobs = Jobs()  # this process's own, for the jobs no worker takes
        self.workers: list[Worker] = []
        self.asked = 0
        self.keys: dict[int, tuple[Feed, str]] = {}  # by id(feed), the feed kept alive
        self.ids = itertools.count()

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> WorkerPool:
        size = settings.getint("MIRROR_WORKERS")
        if size < 0:
            size = usable_cores() - 1
        return cls(size, settings.getint("MIRROR_WORKERS_AFTER"))

    async def call(self, name: str, feed: Feed, *args: Any) -> Any:
        """The job ``name`` run for ``feed``: in a free worker, else here and now."""
        self.asked += 1
        if self.asked > self.start_after and not self.workers and self.size:
            self.start()
        worker = self.free_worker()
        if worker is not None:
            try:
                return await worker.submit(next(self.ids), name, self.key(feed), feed, args)
            except WorkerLost:
                pass  # said once by the worker; done here instead
        return getattr(self.jobs, name)(feed, *args)

    def free_worker(self) -> Worker | None:
        """The ready worker with the fewest jobs in hand, if it is not behind."""
        best: Worker | None = None
        for worker in self.workers:
            free = worker.readied.done() and not worker.lost
            if free and (best is None or len(worker.pending) < len(best.pending)):
                best = worker
        return best if best is not None and len(best.pending) < BEHIND else None

    def start(self) -> None:
        if not is_asyncio_available():  # jobs are answered on the asyncio loop
            self.size = 0
            return
        loop = asyncio.get_running_loop()
        try:
            self.workers = [Worker(loop) for _ in range(self.size)]
        except OSError as e:
            logger.warning("Cannot start worker processes: %s; jobs run in the crawl's process", e)
            self.size = 0
            return
        logger.info(
            "Started %d worker process(es) for extraction, cleaning and writing: pid %s",
            len(self.workers),
            ", ".join(str(w.proc.pid) for w in self.workers),
        )

    def key(self, feed: Feed) -> str:
        known = self.keys.get(id(feed))
        if known is None:
            known = self.keys[id(feed)] = (feed, str(len(self.keys)))
        return known[1]

    def close(self) -> None:
        for worker in self.workers:
            status = worker.stop()
            if status:
                logger.debug("Worker process %d exited with status %s", worker.proc.pid, status)
        self.workers = []


def worker_pool(crawler: Crawler) -> WorkerPool:
    """The worker pool of ``crawler``'s process (``MIRROR_WORKERS``), kept
    until the process object closes."""
    return process_of(crawler).keep(
        "offload", "workers", lambda: WorkerPool.from_settings(crawler.settings)
    )
