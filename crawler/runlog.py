"""Run history: one JSON line per run in ``<MIRROR_DIR>/.mirror/runs.jsonl``.

A line is appended by one ``write(2)`` on a file opened ``O_APPEND``, so the
lines of runs that end at the same moment never interleave. A line cut short
(the disk filled up, the machine lost power) is skipped by the readers. One
line::

    {"id": "…", "command": "crawlall", "pid": 4242, "host": "news1",
     "start": "2026-11-25T10:05:00+08:00", "end": "2026-11-25T10:05:07+08:00",
     "status": 0, "rotated": 3,
     "feeds": {"kunmingribao": {"new": 3, "known": 10, "filtered": 0, "pages": 1,
                                "dropped": {"bad_date": 1}, "errors": {"http_500": 1},
                                "failed": "", "reason": "finished"}, …}}
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.dedup import STATE_DIR
from crawler.extensions.summary import FeedResult

logger = logging.getLogger(__name__)

RUNS_FILE = "runs.jsonl"
RUN_ID_ENV = "NEWS_MIRROR_RUN_ID"  # set by the scheduler for the crawl it starts


def timestamp(when: datetime | None = None) -> str:
    return (when or datetime.now()).astimezone().isoformat(timespec="seconds")


def feed_record(result: FeedResult) -> dict[str, Any]:
    return {
        "new": result.new,
        "known": result.known,
        "filtered": result.filtered,
        "pages": result.pages,
        "dropped": dict(sorted(result.dropped.items())),
        "errors": dict(sorted(result.errors.items())),
        "failed": result.failed,
        "reason": result.reason,
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

    def append(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            written = os.write(fd, data)
        finally:
            os.close(fd)
        if written != len(data):  # a full disk: the reader skips the stub
            raise OSError(f"run history {self.path}: wrote {written} of {len(data)} bytes")

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


def _load(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("feeds"), dict):
        return None
    return record


def record_run(
    mirror_dir: str | Path,
    command: str,
    start: datetime,
    results: list[FeedResult],
    status: int,
    rotated: int | None = None,
) -> dict[str, Any]:
    """Append this process's run to the mirror's history; the record.

    A run started by ``scrapy schedule`` takes the id the scheduler gave it.
    """
    record = run_record(
        os.environ.get(RUN_ID_ENV) or uuid.uuid4().hex,
        command, start, datetime.now(), results, status, rotated,
    )  # fmt: skip
    log = RunLog(mirror_dir)
    try:
        log.append(record)
    except OSError as e:
        logger.error("Cannot record the run in %s: %s", log.path, e)
    return record
