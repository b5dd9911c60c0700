"""``scrapy schedule``: a ``crawlall`` every interval, in one long-lived process.

Each run is a child process (``scrapy crawlall``), not a crawl in this
process: Scrapy's reactor cannot be restarted, and a fresh process a run
gives back all its memory and starts from the catalog as it is now. The
scheduler holds the mirror's run lock for its whole life and hands it to
each child, so runs never overlap and nothing else crawls the mirror
meanwhile; if a run outlasts the interval the next one starts when it ends.

SIGINT or SIGTERM is passed on to the running child, which stops the way
Scrapy stops (the requests in flight are finished, their posts written
whole, nothing more is asked for); then the scheduler exits. A second
signal is passed on too and makes the child stop at once; even then a post
is either complete or not written (posts are renamed into place).

Feeds that keep failing back off (:class:`crawler.mirror.backoff.FeedBackoff`).
"""

from __future__ import annotations

import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType

from crawler.mirror.backoff import FeedBackoff
from crawler.mirror.lock import INHERIT_ENV, RunLock
from crawler.mirror.runlog import RUN_ID_ENV, RunLog
from crawler.text import plural

logger = logging.getLogger(__name__)

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``1.5s``, ``5m``, ``1h30m``; ValueError otherwise."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if not text or _PART.sub("", text):
        raise ValueError(f"{text!r} is not a duration such as 90, 30s, 5m, 1h or 1h30m")
    return sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(text))


class Scheduler:
    """Runs ``crawl_command + --feeds …`` every ``every`` seconds until stopped."""

    def __init__(
        self,
        crawl_command: list[str],
        mirror_dir: str,
        every: float,
        jitter: float = 0,
        max_runs: int | None = None,
        feeds: Callable[[], list[str]] | None = None,
        explicit_feeds: bool = False,
        backoff_max: float = 3600,
        lock: RunLock | None = None,
        fleet: bool = False,
    ):
        self.crawl_command = crawl_command
        self.every = every
        self.jitter = jitter
        self.max_runs = max_runs
        self.feeds = feeds  # the feeds to crawl, asked again before each run
        self.explicit_feeds = explicit_feeds  # --feeds given: always pass it on
        self.lock = lock
        self.fleet = fleet  # ticks on the wall clock, shared (crawler.fleet.ticks)
        self.runlog = RunLog(mirror_dir)
        self.backoff = FeedBackoff(mirror_dir, int(backoff_max // every) if every else 0)
        self.stopping = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None
        self.runs = 0

    # -- signals ------------------------------------------------------------
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()
        child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self._loop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self.stopping.is_set():
            logger.info("Scheduler stopped by a signal after %s", plural(self.runs, "run"))
        return 0

    def _loop(self) -> None:
        logger.info(
            "Scheduler started: a run every %s%s%s",
            _human(self.every),
            f" (up to {_human(self.jitter)} later at random)" if self.jitter else "",
            f", {plural(self.max_runs, 'run')}" if self.max_runs else "",
        )
        slot = time.monotonic()
        if self.fleet:
            from crawler.fleet.ticks import delay_to_next_tick  # only a fleet needs it

            slot += delay_to_next_tick(self.every)
        while self.max_runs is None or self.runs < self.max_runs:
            delay = slot - time.monotonic() + (random.uniform(0, self.jitter) if self.jitter else 0)
            if delay > 0:
                logger.info(
                    "Next run at %s",
                    (datetime.now() + timedelta(seconds=delay)).strftime("%H:%M:%S"),
                )
            if self.stopping.wait(max(0.0, delay)):
                return
            self.runs += 1
            self._run_once()
            if self.stopping.is_set():
                return
            # The next slot; a run that outlasted the interval is followed at once.
            slot = max(slot + self.every, time.monotonic())

    # -- one run ------------------------------------------------------------
    def _run_once(self) -> None:
        n = self.runs
        wanted = self.feeds() if self.feeds else None
        names, skipped = self.backoff.plan(wanted or [])
        for name, entry in skipped.items():
            logger.info(
                "Run %d: feed %s sits this run out (failed %s in a row: %s; %d more to sit out)",
                n,
                name,
                plural(entry["failures"], "run"),
                entry.get("error", ""),
                entry["skip"],
            )
        if wanted is not None and not names:
            logger.warning("Run %d: every feed is backing off; nothing to crawl", n)
            return
        command = list(self.crawl_command)
        if self.fleet:
            from crawler.fleet.ticks import tick_of

            command += ["-s", f"FLEET_TICK={tick_of(self.every)}"]
        if wanted is not None and (skipped or self.explicit_feeds):
            command += ["--feeds", ",".join(names)]
        run_id = uuid.uuid4().hex
        env = dict(os.environ, **{RUN_ID_ENV: run_id})
        pass_fds: tuple[int, ...] = ()
        if self.lock is not None and self.lock.fd is not None:
            env[INHERIT_ENV] = str(self.lock.fd)
            pass_fds = (self.lock.fd,)
        if self.stopping.is_set():
            return
        logger.info("Run %d started: %s", n, " ".join(["scrapy", *command[3:]]))
        # A header before the run's own summary lines, on the same stdout.
        print(f"run {n} at {datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z}", flush=True)
        started = time.monotonic()
        # Its own session: a Ctrl-C at the terminal reaches the scheduler only,
        # which passes it on once.
        self.child = subprocess.Popen(command, env=env, pass_fds=pass_fds, start_new_session=True)
        if self.stopping.is_set():  # a signal came while the child was starting
            self.child.send_signal(signal.SIGTERM)
        try:
            status = self.child.wait()
        finally:
            self.child = None
        record = self.runlog.find(run_id)
        new = sum(f.get("new", 0) for f in record["feeds"].values()) if record else 0
        failed = [name for name, f in (record or {}).get("feeds", {}).items() if f.get("failed")]
        logger.info(
            "Run %d finished in %.1f s: status %d, %s%s",
            n,
            time.monotonic() - started,
            status,
            plural(new, "new post"),
            f", failed: {', '.join(failed)}" if failed else "",
        )
        if record is None:
            logger.warning("Run %d left no record in %s (status %d)", n, self.runlog.path, status)
            return
        self.backoff.record(record["feeds"])


def _human(seconds: float) -> str:
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{seconds / _UNITS[unit]:g}{unit}"
    return f"{seconds:g}s"


def child_command(args: list[str]) -> list[str]:
    """``scrapy <args>`` run with this Python."""
    return [sys.executable, "-m", "scrapy", *args]
