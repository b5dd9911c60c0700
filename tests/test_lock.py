"""The run lock on its own (crawler.mirror.lock): one run at a time, its holder named.

The commands' side (a second crawlall exits 75, a scheduler keeps every other
run out, a killed crawl's lock is taken over) is in tests/test_schedule.py.
"""

from __future__ import annotations

import logging
import os
import socket

import pytest

from crawler.mirror.lock import EX_LOCKED, Holder, MirrorLocked, RunLock


def test_a_second_run_finds_the_lock_held_and_is_told_by_whom(tmp_path):
    first = RunLock(tmp_path).acquire("scrapy crawlall")
    try:
        with pytest.raises(MirrorLocked) as locked:
            RunLock(tmp_path).acquire("scrapy rotate")
        message = str(locked.value)
        assert (
            f"locked by pid {os.getpid()} on {socket.gethostname()} (scrapy crawlall) " in message
        )
        assert f"lock file {first.path}" in message and f"(status {EX_LOCKED})" in message
        holder = RunLock(tmp_path).holder()
        assert holder is not None and (holder.pid, holder.command) == (
            os.getpid(),
            "scrapy crawlall",
        )
    finally:
        first.release()
    assert RunLock(tmp_path).holder() is None, "free once released"
    with RunLock(tmp_path) as again:
        assert again.took_over is None, "a clean release leaves nothing to take over"


def test_a_lock_whose_holder_died_is_taken_over_naming_it(tmp_path, caplog):
    lock = RunLock(tmp_path)
    lock.path.parent.mkdir(parents=True)
    dead = Holder(999_999, "otherhost", "scrapy crawlall", "2026-01-01T00:00:00+08:00")
    lock.path.write_text(dead.dumps(), "utf-8")  # what a killed holder leaves: no flock
    assert lock.holder() is None
    with caplog.at_level(logging.WARNING, logger="crawler.mirror.lock"), lock:
        assert lock.took_over == dead
        holder = RunLock(tmp_path).holder()
        assert holder is not None and holder.pid == os.getpid()
    assert f"Taking over the run lock {lock.path} left by {dead.describe()}" in caplog.text
