"""Run history: one JSON line per run in ``<MIRROR_DIR>/.mirror/runs.jsonl``.

A line is appended by one ``write(2)`` on a file opened ``O_APPEND``, so the
lines of runs that end at the same moment never interleave. A line cut short
(the disk filled up, the machine lost power) is skipped by the readers. One
line::

    {"id": "…", "command": "crawlall", "pid": 4242, "host": "news1",
     "start": "2026-11-25T10:05:00+08:00", "end": "2026-11-25T10:05:07+08:00",
     "status": 0, "rotated": 3,
     "feeds": {"kunmingribao": {"new": 3, "known": 10, "held": 1, "filtered": 0, "pages": 1,
                                "dropped": {"bad_date": 1}, "errors": {"http_500": 1},
                                "failed": "", "reason": "finished"}, …}}

Runs that ended more than ``MIRROR_HISTORY_DAYS`` ago are folded, about once
a day, into one summary line at the head of the file, so a mirror crawled
every few minutes for years keeps a history of bounded size and ``scrapy
status`` keeps its totals::

    {"id": "summary", "command": "summary", "runs": 8412,
     "start": "2026-09-01T08:00:00+08:00", "end": "2026-10-26T10:05:07+08:00",
     "feeds": {"kunmingribao": {"runs": 8412, "new": 11800, "last_run": "…",
                                "last_new": "…", "last": {…its last outcome}}, …}}

Appending and folding take ``.mirror/runs.lock``, so no line is lost to a
fold running beside an append.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scrapy.settings import BaseSettings

from crawler.extensions.summary import FeedResult
from crawler.mirror.archive import sync_dir
from crawler.mirror.paths import RUNS_FILE, RUNS_LOCK_FILE, STATE_DIR

logger = logging.getLogger(__name__)

SUMMARY = "summary"  # the command of the line that stands for folded runs
RUN_ID_ENV = "NEWS_MIRROR_RUN_ID"  # set by the scheduler for the crawl it starts


def timestamp(when: datetime | None = None) -> str:
    return (when or datetime.now()).astimezone().isoformat(timespec="seconds")


def feed_record(result: FeedResult) -> dict[str, Any]:
    revisits = (
        {"revisits": result.revisits, "revisions": result.revisions} if result.revisits else {}
    )
    return {
        "new": result.new,
        "known": result.known,
        "held": result.held,
        "filtered": result.filtered,
        "pages": result.pages,
        "dropped": dict(sorted(result.dropped.items())),
        "errors": dict(sorted(result.errors.items())),
        "failed": result.failed,
        "reason": result.reason,
        **revisits,
    }


def run_record(
    run_id: str,
    command: str,
    start: datetime,
    end: datetime,
    results: list[FeedResult],
    status: int,
    rotated: int | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": run_id,
        "command": command,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "start": timestamp(start),
        "end": timestamp(end),
        "status": status,
        "feeds": {r.feed: feed_record(r) for r in results},
    }
    if rotated is not None:
        record["rotated"] = rotated
    return record


class RunLog:
    """The run history of one mirror folder."""

    def __init__(self, mirror_dir: str | Path):
        self.path = Path(mirror_dir) / STATE_DIR / RUNS_FILE

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / RUNS_LOCK_FILE, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def append(self, record: dict[str, Any]) -> None:
        data = (_dump(record) + "\n").encode()
        with self.locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                written = os.write(fd, data)
            finally:
                os.close(fd)
        if written != len(data):  # a full disk: the reader skips the stub
            raise OSError(f"run history {self.path}: wrote {written} of {len(data)} bytes")

    def fold(self, keep_days: float, now: datetime | None = None) -> int:
        """Fold the runs that ended over ``keep_days`` ago into the summary line.

        Done only once the oldest run is a day past due, so the file is
        rewritten about once a day. Returns how many runs were folded.
        """
        if keep_days <= 0:
            return 0
        cutoff = (now or datetime.now()).astimezone() - timedelta(days=keep_days)
        oldest = self._oldest_run_end()
        if oldest is None or oldest >= cutoff - timedelta(days=1):
            return 0
        with self.locked():
            summary: dict[str, Any] | None = None
            kept: list[str] = []
            folded = 0
            for record in self.records():
                if record.get("command") == SUMMARY:
                    summary = record
                    continue
                if not kept:
                    try:
                        due = parse_time(record["end"]) < cutoff
                    except (KeyError, TypeError, ValueError):
                        due = False  # a line of another shape stays as it is
                    if due:
                        summary = _fold(summary, record)
                        folded += 1
                        continue
                kept.append(_dump(record))
            if not folded:
                return 0
            assert summary is not None
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(line + "\n" for line in [_dump(summary), *kept])
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            sync_dir(self.path.parent)
        logger.info("Run history %s: folded %d runs into its summary line", self.path, folded)
        return folded

    def _oldest_run_end(self) -> datetime | None:
        try:
            with open(self.path, "rb") as f:
                for line in (f.readline(), f.readline()):
                    record = _load(line)
                    if record is not None and record.get("command") != SUMMARY:
                        return parse_time(record["end"])
        except (FileNotFoundError, KeyError, TypeError, ValueError):
            pass
        return None

    def records(self) -> Iterator[dict[str, Any]]:
        """Every run, oldest first; damaged lines are skipped."""
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return
        with f:
            for number, line in enumerate(f, 1):
                record = _load(line)
                if record is None:
                    if line.strip():
                        logger.warning(
                            "Run history %s: line %d is damaged, skipped", self.path, number
                        )
                    continue
                yield record

    def find(self, run_id: str, tail_bytes: int = 1 << 20) -> dict[str, Any] | None:
        """The record of run ``run_id``, looked for among the last lines."""
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - tail_bytes))
                lines = f.read().splitlines()
        except FileNotFoundError:
            return None
        for line in reversed(lines):
            record = _load(line)
            if record is not None and record.get("id") == run_id:
                return record
        return None


def parse_time(text: str) -> datetime:
    """A time of the history, aware (a naive one is taken as local time)."""
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.astimezone()


def _fold(summary: dict[str, Any] | None, run: dict[str, Any]) -> dict[str, Any]:
    """The summary line with one more run folded in."""
    end = run["end"]
    summary = summary or {
        "id": SUMMARY, "command": SUMMARY, "runs": 0,
        "start": run.get("start", end), "end": end, "feeds": {},
    }  # fmt: skip
    summary["runs"] += 1
    summary["end"] = end
    for name, outcome in run["feeds"].items():
        feed = summary["feeds"].setdefault(name, {"runs": 0, "new": 0})
        feed["runs"] += 1
        feed["last_run"] = end
        feed["last"] = outcome
        new = outcome.get("new") if isinstance(outcome, dict) else 0
        if isinstance(new, int) and new > 0:
            feed["new"] += new
            feed["last_new"] = end
        for key in ("revisits", "revisions"):
            count = outcome.get(key) if isinstance(outcome, dict) else 0
            if isinstance(count, int) and count > 0:
                feed[key] = feed.get(key, 0) + count
    return summary


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _load(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("feeds"), dict):
        return None
    return record


def record_run(
    settings: BaseSettings,
    command: str,
    start: datetime,
    results: list[FeedResult],
    status: int,
    rotated: int | None = None,
) -> dict[str, Any]:
    """Append this process's run to the mirror's history, fold old runs; the record.

    A run started by ``scrapy schedule`` takes the id the scheduler gave it.
    """
    record = run_record(
        os.environ.get(RUN_ID_ENV) or uuid.uuid4().hex,
        command, start, datetime.now(), results, status, rotated,
    )  # fmt: skip
    log = RunLog(settings.get("MIRROR_DIR"))
    try:
        log.append(record)
    except OSError as e:
        logger.error("Cannot record the run in %s: %s", log.path, e)
        return record
    try:
        log.fold(settings.getfloat("MIRROR_HISTORY_DAYS"))
    except (OSError, KeyError, TypeError, ValueError, AttributeError) as e:
        # A summary line edited into another shape: the history stays as it is.
        logger.warning("Cannot fold old runs of the run history %s: %r", log.path, e)
    return record
